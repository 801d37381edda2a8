/* test_kv_pages.c — the paged KV cache's bookkeeping (model/cuda/kv_pages.h)
 * on the CPU, in the normal suite: no GPU needed.
 *
 * A simulated pool stands in for the device cache: one int per (block, row).
 * Every append writes distinct values at the slots the table gives, after
 * performing the copy-on-write it reports, exactly as the GPU engine does;
 * a plain per-sequence array of the values written is the reference. After
 * every operation of a long random run (open, append 1..40 tokens, fork,
 * truncate, release, with a pool small enough to run out) each open
 * sequence must read back its own values through the table, and the
 * invariants (reference counts, free stack) must hold. Plus hand-made cases:
 * the copy a shared partial block needs, none for a shared full block, the
 * errors and that a failed call changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/cuda/kv_pages.h"
#include "testing.h"

enum { BS = 4, NB = 40, NS = 9, MAXLEN = 50 }; /* max_blocks = 13 */

typedef struct {
  int pool[NB * BS];
  int want[NS][MAXLEN];
  int next_value;
  int copies; /* copy-on-writes performed */
  int need_wrong; /* appends that took other than rlvr_kv_pages_need blocks */
} sim;

/* Appends n tokens to seq as the device engine would: the copy first, then
 * the rows. Returns the append's code. */
static int sim_append(rlvr_kv_pages *kp, sim *s, int seq, int n) {
  rlvr_kv_copy cp;
  const int len = rlvr_kv_pages_len(kp, seq), free_before = kp->num_free, need = rlvr_kv_pages_need(kp, seq, n);
  const int rc = rlvr_kv_pages_append(kp, seq, n, &cp);
  if (rc != RLVR_OK) return rc;
  /* need is what the pool lost, counting a copy's release of the shared block (still used elsewhere) */
  if (kp->num_free != free_before - need) s->need_wrong++;
  s->copies += cp.blocks;
  if (cp.blocks) memcpy(&s->pool[cp.dst * BS], &s->pool[cp.src * BS], sizeof(int) * (size_t)cp.rows);
  for (int i = 0; i < n; i++) {
    const int v = s->next_value++;
    s->pool[rlvr_kv_pages_slot(kp, seq, len + i)] = v;
    s->want[seq][len + i] = v;
  }
  return rc;
}

/* A batch append as the GPU engine makes one (open_new: a prefill), then
 * the copies in order, then the rows. Returns the call's code. */
static int sim_append_batch(rlvr_kv_pages *kp, sim *s, const int *seqs, const int *counts, int n, int open_new) {
  int before[NS];
  for (int i = 0; i < n; i++) before[i] = seqs[i] >= 0 && seqs[i] < NS ? rlvr_kv_pages_len(kp, seqs[i]) : -1;
  rlvr_kv_copy cps[NS];
  int nc = -1;
  const int rc = rlvr_kv_pages_append_batch(kp, seqs, counts, n, open_new, cps, &nc);
  if (rc != RLVR_OK) return rc;
  for (int k = 0; k < nc; k++) {
    memcpy(&s->pool[cps[k].dst * BS], &s->pool[cps[k].src * BS], sizeof(int) * (size_t)cps[k].rows);
    s->copies++;
  }
  for (int i = 0; i < n; i++) {
    const int len = open_new ? 0 : before[i];
    for (int t = 0; t < counts[i]; t++) {
      const int v = s->next_value++;
      s->pool[rlvr_kv_pages_slot(kp, seqs[i], len + t)] = v;
      s->want[seqs[i]][len + t] = v;
    }
  }
  return rc;
}

/* Everything a failed call must leave as it was. */
typedef struct {
  int ref[NB], free_ids[NB], num_free, table[NS * 13], len[NS];
} snapshot;

static void snap(const rlvr_kv_pages *kp, snapshot *sn) {
  memset(sn, 0, sizeof *sn);
  memcpy(sn->ref, kp->ref, sizeof(int) * (size_t)kp->num_blocks);
  memcpy(sn->free_ids, kp->free_ids, sizeof(int) * (size_t)kp->num_free);
  sn->num_free = kp->num_free;
  memcpy(sn->table, kp->table, sizeof(int) * (size_t)kp->max_seqs * (size_t)kp->max_blocks);
  memcpy(sn->len, kp->len, sizeof(int) * (size_t)kp->max_seqs);
}

static int sim_matches(const rlvr_kv_pages *kp, const sim *s) {
  for (int q = 0; q < NS; q++) {
    const int len = rlvr_kv_pages_len(kp, q);
    for (int p = 0; p < len; p++)
      if (s->pool[rlvr_kv_pages_slot(kp, q, p)] != s->want[q][p]) return 0;
  }
  return 1;
}

static void test_cases(void) {
  rlvr_kv_pages kp;
  rlvr_kv_pages_build(&kp, BS, 6, 4, 12);
  CHECK(kp.max_blocks == 3);
  CHECK(rlvr_kv_pages_open(&kp, 4) == RLVR_ERR_ARG);
  CHECK(rlvr_kv_pages_open(&kp, 0) == RLVR_OK);
  CHECK(rlvr_kv_pages_open(&kp, 0) == RLVR_ERR_ARG);
  rlvr_kv_copy cp;
  CHECK(rlvr_kv_pages_append(&kp, 1, 1, &cp) == RLVR_ERR_ARG); /* not open */
  CHECK(rlvr_kv_pages_append(&kp, 0, 13, &cp) == RLVR_ERR_RANGE);
  CHECK(rlvr_kv_pages_len(&kp, 0) == 0 && kp.num_free == 6);
  CHECK(rlvr_kv_pages_append(&kp, 0, 6, &cp) == RLVR_OK && cp.blocks == 0);
  CHECK(kp.num_free == 4 && kp.table[0] == 0 && kp.table[1] == 1 && kp.table[2] == -1);
  CHECK(rlvr_kv_pages_slot(&kp, 0, 5) == 1 * BS + 1);
  /* a shared partial block: the first writer gets a copy of its 2 rows */
  CHECK(rlvr_kv_pages_fork(&kp, 0, 2) == RLVR_OK && kp.ref[0] == 2 && kp.ref[1] == 2);
  CHECK(rlvr_kv_pages_fork(&kp, 0, 2) == RLVR_ERR_ARG);
  CHECK(rlvr_kv_pages_fork(&kp, 3, 1) == RLVR_ERR_ARG);
  CHECK(rlvr_kv_pages_need(&kp, 2, 1) == 1 && rlvr_kv_pages_need(&kp, 2, 3) == 2 && rlvr_kv_pages_need(&kp, 3, 5) == 2);
  CHECK(rlvr_kv_pages_append(&kp, 2, 1, &cp) == RLVR_OK);
  CHECK(cp.blocks == 1 && cp.src == 1 && cp.dst == 2 && cp.rows == 2);
  CHECK(kp.ref[1] == 1 && kp.ref[2] == 1 && kp.table[2 * 3 + 1] == 2);
  /* the last holder of the block writes in place */
  CHECK(rlvr_kv_pages_append(&kp, 0, 1, &cp) == RLVR_OK && cp.blocks == 0 && kp.table[1] == 1);
  /* a shared full block needs no copy: the new token starts a new block */
  CHECK(rlvr_kv_pages_truncate(&kp, 0, 4) == RLVR_OK && kp.ref[1] == 0);
  CHECK(rlvr_kv_pages_fork(&kp, 0, 1) == RLVR_OK);
  CHECK(rlvr_kv_pages_append(&kp, 1, 1, &cp) == RLVR_OK && cp.blocks == 0 && kp.ref[0] == 3);
  CHECK(rlvr_kv_pages_consistent(&kp));
  /* out of blocks: nothing changes */
  const int free_before = kp.num_free, len_before = rlvr_kv_pages_len(&kp, 0);
  CHECK(free_before == 3);
  CHECK(rlvr_kv_pages_append(&kp, 0, 8, &cp) == RLVR_OK); /* takes 2 of the 3 left */
  CHECK(kp.num_free == 1);
  CHECK(rlvr_kv_pages_open(&kp, 3) == RLVR_OK);
  CHECK(rlvr_kv_pages_append(&kp, 3, 9, &cp) == RLVR_ERR_NOMEM && cp.blocks == 0);
  CHECK(rlvr_kv_pages_len(&kp, 3) == 0 && kp.num_free == 1 && kp.table[3 * 3] == -1);
  CHECK(rlvr_kv_pages_consistent(&kp));
  CHECK(rlvr_kv_pages_truncate(&kp, 0, len_before + 9) == RLVR_ERR_RANGE);
  CHECK(rlvr_kv_pages_truncate(&kp, 0, len_before) == RLVR_OK && kp.num_free == free_before);
  for (int q = 0; q < 4; q++) CHECK(rlvr_kv_pages_release(&kp, q) == RLVR_OK);
  CHECK(rlvr_kv_pages_release(&kp, 3) == RLVR_ERR_ARG);
  CHECK(kp.num_free == 6 && rlvr_kv_pages_len(&kp, 0) == -1);
  CHECK(rlvr_kv_pages_consistent(&kp));
  rlvr_kv_pages_free(&kp);
  rlvr_kv_pages_free(&kp); /* twice: a freed one is accepted */
  rlvr_kv_pages_free(NULL);
}

/* Batches: a shared partial block is copied once (by the first member to
 * write it); a failing member refuses the whole batch. */
static void test_batches(void) {
  rlvr_kv_pages kp;
  rlvr_kv_pages_build(&kp, BS, 5, 4, 12);
  rlvr_kv_copy cps[4];
  int nc = -1;
  const int one[1] = {0}, six[1] = {6};
  CHECK(rlvr_kv_pages_append_batch(&kp, one, six, 1, 0, cps, &nc) == RLVR_ERR_ARG); /* not open */
  CHECK(rlvr_kv_pages_append_batch(&kp, one, six, 1, 1, cps, &nc) == RLVR_OK && nc == 0);
  CHECK(rlvr_kv_pages_len(&kp, 0) == 6 && kp.num_free == 3);
  CHECK(rlvr_kv_pages_fork(&kp, 0, 2) == RLVR_OK);
  const int pair[2] = {2, 0}, ones[2] = {1, 1};
  CHECK(rlvr_kv_pages_append_batch(&kp, pair, ones, 2, 1, cps, &nc) == RLVR_ERR_ARG); /* open, not new */
  const int twice[2] = {0, 0};
  CHECK(rlvr_kv_pages_append_batch(&kp, twice, ones, 2, 0, cps, &nc) == RLVR_ERR_ARG);
  CHECK(rlvr_kv_pages_append_batch(&kp, pair, ones, 2, 0, cps, &nc) == RLVR_OK);
  CHECK(nc == 1 && cps[0].src == 1 && cps[0].rows == 2 && kp.table[2 * 3 + 1] == cps[0].dst && kp.table[1] == 1);
  CHECK(kp.num_free == 2);
  /* 0 fits, 2 would pass max_len: neither is appended */
  const int big[2] = {1, 6};
  CHECK(rlvr_kv_pages_append_batch(&kp, pair, big, 2, 0, cps, &nc) == RLVR_ERR_RANGE && nc == 0);
  CHECK(rlvr_kv_pages_len(&kp, 0) == 7 && rlvr_kv_pages_len(&kp, 2) == 7 && kp.num_free == 2);
  const int three[1] = {3}, four[1] = {4};
  CHECK(rlvr_kv_pages_append_batch(&kp, three, four, 1, 1, cps, &nc) == RLVR_OK && kp.num_free == 1);
  /* 2 blocks wanted (one each), 1 free */
  const int more[2] = {2, 5};
  CHECK(rlvr_kv_pages_append_batch(&kp, pair, more, 2, 0, cps, &nc) == RLVR_ERR_NOMEM);
  CHECK(rlvr_kv_pages_len(&kp, 0) == 7 && rlvr_kv_pages_len(&kp, 2) == 7 && kp.num_free == 1);
  CHECK(rlvr_kv_pages_consistent(&kp));
  rlvr_kv_pages_free(&kp);
}

static void test_random(void) {
  rlvr_kv_pages kp;
  rlvr_kv_pages_build(&kp, BS, NB, NS, MAXLEN);
  static sim s;
  memset(&s, 0, sizeof s);
  rlvr_rng r;
  rlvr_rng_seed(&r, 42);
  int ok_all = 1, counts[8] = {0}, nomem = 0, batch_errors[4] = {0};
  for (int step = 0; step < 20000; step++) {
    const int op = (int)rlvr_rng_below(&r, 8), q = (int)rlvr_rng_below(&r, NS);
    const int len = rlvr_kv_pages_len(&kp, q);
    int rc = RLVR_OK;
    if (op == 0) {
      rc = rlvr_kv_pages_open(&kp, q);
      if ((rc == RLVR_OK) != (len < 0)) ok_all = 0;
    } else if (op <= 2) {
      const int n = 1 + (int)rlvr_rng_below(&r, op == 1 ? 3 : 40);
      rc = sim_append(&kp, &s, q, n);
      if (rc == RLVR_ERR_NOMEM) nomem++;
      if (rc != RLVR_OK && rlvr_kv_pages_len(&kp, q) != len) ok_all = 0;
      if (rc == RLVR_OK && rlvr_kv_pages_len(&kp, q) != len + n) ok_all = 0;
    } else if (op == 3) {
      const int d = (int)rlvr_rng_below(&r, NS);
      rc = rlvr_kv_pages_fork(&kp, q, d);
      if (rc == RLVR_OK) memcpy(s.want[d], s.want[q], sizeof(int) * (size_t)len);
    } else if (op == 4 && len > 0) {
      rc = rlvr_kv_pages_truncate(&kp, q, (int)rlvr_rng_below(&r, (uint64_t)len + 1));
    } else if (op == 5 && rlvr_rng_below(&r, 3) == 0) {
      rc = rlvr_kv_pages_release(&kp, q);
      if ((rc == RLVR_OK) != (len >= 0)) ok_all = 0;
    }
    else if (op >= 6) { /* a batch: 6 a decode step (1 token each), 7 a prefill; ids may repeat or be in the wrong state */
      int seqs[4], cnt[4];
      const int n = 1 + (int)rlvr_rng_below(&r, 4);
      for (int i = 0; i < n; i++) {
        seqs[i] = (int)rlvr_rng_below(&r, NS + 1) - (rlvr_rng_below(&r, 20) == 0); /* now and then -1 or NS */
        cnt[i] = op == 6 ? 1 : 1 + (int)rlvr_rng_below(&r, 12);
      }
      snapshot a, b;
      snap(&kp, &a);
      rc = sim_append_batch(&kp, &s, seqs, cnt, n, op == 7);
      if (rc != RLVR_OK) {
        snap(&kp, &b);
        if (memcmp(&a, &b, sizeof a)) {
          ok_all = 0;
          fprintf(stderr, "random run: a failed batch changed the pages at step %d\n", step);
        }
        batch_errors[rc == RLVR_ERR_ARG ? 0 : rc == RLVR_ERR_RANGE ? 1 : rc == RLVR_ERR_NOMEM ? 2 : 3]++;
      }
    }
    if (rc == RLVR_OK) counts[op]++;
    if (!rlvr_kv_pages_consistent(&kp) || !sim_matches(&kp, &s)) {
      ok_all = 0;
      fprintf(stderr, "random run: inconsistent after step %d (op %d on sequence %d)\n", step, op, q);
      break;
    }
  }
  CHECK(ok_all);
  CHECK_MSG(s.need_wrong == 0, "%d appends took other than rlvr_kv_pages_need blocks", s.need_wrong);
  printf("random run: %d opens, %d+%d appends (%d with a copy, %d out of blocks), %d forks, %d truncates, %d releases\n",
         counts[0], counts[1], counts[2], s.copies, nomem, counts[3], counts[4], counts[5]);
  printf("random run: %d decode-step batches, %d prefill batches; refused: %d bad ids or states, %d too long, %d out "
         "of blocks\n", counts[6], counts[7], batch_errors[0], batch_errors[1], batch_errors[2]);
  CHECK(batch_errors[3] == 0);
  /* the run exercised sharing, running out, and every batch outcome */
  CHECK(counts[3] > 100 && s.copies > 100 && nomem > 10);
  CHECK(counts[6] > 100 && counts[7] > 50 && batch_errors[0] > 50 && batch_errors[1] > 5 && batch_errors[2] > 5);
  rlvr_kv_pages_free(&kp);
}

int main(void) {
  test_cases();
  test_batches();
  test_random();
  return test_done();
}
