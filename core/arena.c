/* arena.c — see arena.h. */
#include "core/arena.h"

#include <stdlib.h>

#include "core/check.h"

void rlvr_arena_init(rlvr_arena *a, size_t bytes) {
  a->base = xmalloc_aligned(bytes);
  a->size = bytes;
  a->used = 0;
  a->peak = 0;
}

void rlvr_arena_free(rlvr_arena *a) {
  if (!a) return;
  free(a->base);
  a->base = NULL;
  a->size = a->used = 0;
}

void *rlvr_arena_alloc(rlvr_arena *a, size_t bytes) {
  size_t start = (a->used + 63) & ~(size_t)63;
  RLVR_CHECK(start + bytes <= a->size, "arena of %zu bytes cannot hand out %zu more (used %zu)",
             a->size, bytes, a->used);
  a->used = start + bytes;
  if (a->used > a->peak) a->peak = a->used;
  return a->base + start;
}

void rlvr_arena_reset(rlvr_arena *a) { a->used = 0; }
