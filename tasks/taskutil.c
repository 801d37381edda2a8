/* taskutil.c — see taskutil.h. */
#include "tasks/taskutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/check.h"

static uint64_t str_hash(const char *s) {
  uint64_t h = rlvr_task_hash_bytes(0, s, strlen(s));
  return h ? h : 1;
}

/* The slot holding s, or the empty slot where it would go. cap > 0. */
static size_t find_slot(const rlvr_strset *set, const char *s, uint64_t h) {
  size_t mask = set->cap - 1, i = (size_t)h & mask;
  while (set->hashes[i] && !(set->hashes[i] == h && strcmp(set->keys[i], s) == 0)) i = (i + 1) & mask;
  return i;
}

static void grow(rlvr_strset *set) {
  size_t cap = set->cap ? set->cap * 2 : 64;
  rlvr_strset bigger = {xcalloc(cap, sizeof(uint64_t)), xcalloc(cap, sizeof(char *)), cap, 0};
  for (size_t i = 0; i < set->cap; i++)
    if (set->hashes[i]) {
      size_t j = find_slot(&bigger, set->keys[i], set->hashes[i]);
      bigger.hashes[j] = set->hashes[i];
      bigger.keys[j] = set->keys[i];
      bigger.n++;
    }
  free(set->hashes);
  free(set->keys);
  *set = bigger;
}

int rlvr_strset_add(rlvr_strset *set, const char *s) {
  if ((set->n + 1) * 2 > set->cap) grow(set);
  uint64_t h = str_hash(s);
  size_t i = find_slot(set, s, h);
  if (set->hashes[i]) return 0;
  set->hashes[i] = h;
  set->keys[i] = xstrdup(s);
  set->n++;
  return 1;
}

int rlvr_strset_has(const rlvr_strset *set, const char *s) {
  if (!set->cap) return 0;
  return set->hashes[find_slot(set, s, str_hash(s))] != 0;
}

void rlvr_strset_free(rlvr_strset *set) {
  if (!set) return;
  for (size_t i = 0; i < set->cap; i++) free(set->keys ? set->keys[i] : NULL);
  free(set->hashes);
  free(set->keys);
  memset(set, 0, sizeof *set);
}
