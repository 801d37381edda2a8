/* arena.h — a bump allocator for per-step scratch.
 *
 * Reserve once at start-up; rlvr_arena_alloc never calls malloc, so the step
 * loop allocates nothing. rlvr_arena_reset frees everything at once. Running
 * out is a bug in the sizing (RLVR_CHECK), not an input error. */
#ifndef RLVR_ARENA_H
#define RLVR_ARENA_H

#include <stddef.h>

typedef struct {
  unsigned char *base;
  size_t size; /* bytes reserved */
  size_t used; /* bytes handed out, including alignment padding */
  size_t peak; /* the most ever used, to size the next reservation */
} rlvr_arena;

void rlvr_arena_init(rlvr_arena *a, size_t bytes);
void rlvr_arena_free(rlvr_arena *a); /* accepts a zeroed or freed arena */
/* 64-byte aligned; aborts if the arena is too small. */
void *rlvr_arena_alloc(rlvr_arena *a, size_t bytes);
void rlvr_arena_reset(rlvr_arena *a);

#endif
