/* taskutil.h — small pieces shared by the files of tasks/: hashing for
 * seeds and fingerprints, and a set of strings for split disjointness. */
#ifndef RLVR_TASKUTIL_H
#define RLVR_TASKUTIL_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64's finaliser: a bijective mix of one word. */
static inline uint64_t rlvr_task_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* Folds v into the running hash h (order matters). */
static inline uint64_t rlvr_task_combine(uint64_t h, uint64_t v) { return rlvr_task_mix(h ^ rlvr_task_mix(v)); }

/* FNV-1a over n bytes, folded into h. */
static inline uint64_t rlvr_task_hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t x = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) x = (x ^ b[i]) * 0x100000001b3ULL;
  return rlvr_task_combine(h, x ^ n);
}

/* A set of strings (copies), open addressing on a 64-bit hash. */
typedef struct {
  uint64_t *hashes; /* 0 = empty slot (a hash of 0 is stored as 1) */
  char **keys;
  size_t cap, n;
} rlvr_strset;

/* 1 if s was added, 0 if it was already there. */
int rlvr_strset_add(rlvr_strset *set, const char *s);
int rlvr_strset_has(const rlvr_strset *set, const char *s);
void rlvr_strset_free(rlvr_strset *set); /* accepts a zeroed set */

#endif
