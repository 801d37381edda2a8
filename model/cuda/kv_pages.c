/* kv_pages.c — paged KV cache bookkeeping (block pool, reference counts,
 * block tables, copy-on-write); see kv_pages.h. Plain C, no CUDA. */
#include "model/cuda/kv_pages.h"

#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

static int blocks_for(const rlvr_kv_pages *kp, int len) { return (len + kp->block_size - 1) / kp->block_size; }

void rlvr_kv_pages_build(rlvr_kv_pages *kp, int block_size, int num_blocks, int max_seqs, int max_len) {
  RLVR_CHECK(block_size > 0 && num_blocks > 0 && max_seqs > 0 && max_len > 0,
             "kv pages: block_size %d num_blocks %d max_seqs %d max_len %d", block_size, num_blocks, max_seqs,
             max_len);
  memset(kp, 0, sizeof *kp);
  kp->block_size = block_size;
  kp->num_blocks = num_blocks;
  kp->max_seqs = max_seqs;
  kp->max_len = max_len;
  kp->max_blocks = (max_len + block_size - 1) / block_size;
  kp->ref = xcalloc((size_t)num_blocks, sizeof(int));
  kp->free_ids = xcalloc((size_t)num_blocks, sizeof(int));
  /* popped from the top: blocks are handed out 0, 1, 2, ... at first */
  for (int i = 0; i < num_blocks; i++) kp->free_ids[i] = num_blocks - 1 - i;
  kp->num_free = num_blocks;
  kp->table = xmalloc((size_t)max_seqs * (size_t)kp->max_blocks * sizeof(int));
  for (size_t i = 0; i < (size_t)max_seqs * (size_t)kp->max_blocks; i++) kp->table[i] = -1;
  kp->len = xmalloc((size_t)max_seqs * sizeof(int));
  for (int s = 0; s < max_seqs; s++) kp->len[s] = -1;
}

void rlvr_kv_pages_free(rlvr_kv_pages *kp) {
  if (!kp) return;
  free(kp->ref);
  free(kp->free_ids);
  free(kp->table);
  free(kp->len);
  memset(kp, 0, sizeof *kp);
}

static int active(const rlvr_kv_pages *kp, int seq) { return seq >= 0 && seq < kp->max_seqs && kp->len[seq] >= 0; }

/* Drops one reference to block b, returning it to the pool at 0. */
static void unref(rlvr_kv_pages *kp, int b) {
  RLVR_CHECK(b >= 0 && b < kp->num_blocks && kp->ref[b] > 0, "kv pages: unref of block %d", b);
  if (--kp->ref[b] == 0) kp->free_ids[kp->num_free++] = b;
}

static int take(rlvr_kv_pages *kp) {
  RLVR_CHECK(kp->num_free > 0, "kv pages: pool empty");
  const int b = kp->free_ids[--kp->num_free];
  RLVR_CHECK(kp->ref[b] == 0, "kv pages: free block %d in use", b);
  kp->ref[b] = 1;
  return b;
}

int rlvr_kv_pages_open(rlvr_kv_pages *kp, int seq) {
  if (seq < 0 || seq >= kp->max_seqs) return rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d outside 0..%d", seq, kp->max_seqs - 1);
  if (kp->len[seq] >= 0) return rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d is already open", seq);
  kp->len[seq] = 0;
  return RLVR_OK;
}

int rlvr_kv_pages_append(rlvr_kv_pages *kp, int seq, int n, rlvr_kv_copy *copy) {
  memset(copy, 0, sizeof *copy);
  if (!active(kp, seq)) return rlvr_error(RLVR_ERR_ARG, "kv pages: append to sequence %d, which is not open", seq);
  RLVR_CHECK(n >= 1, "kv pages: append of %d tokens", n);
  const int len = kp->len[seq];
  if (n > kp->max_len - len)
    return rlvr_error(RLVR_ERR_RANGE, "kv pages: sequence %d would hold %d tokens, more than %d", seq, len + n,
                      kp->max_len);
  int *row = kp->table + (size_t)seq * kp->max_blocks;
  const int have = blocks_for(kp, len), want = blocks_for(kp, len + n);
  /* the partially filled last block, if shared, is replaced by a copy */
  const int cow = len % kp->block_size != 0 && kp->ref[row[have - 1]] > 1;
  const int need = rlvr_kv_pages_need(kp, seq, n);
  if (need > kp->num_free)
    return rlvr_error(RLVR_ERR_NOMEM, "kv pages: %d blocks needed for sequence %d, %d free of %d", need, seq,
                      kp->num_free, kp->num_blocks);
  if (cow) {
    const int src = row[have - 1], dst = take(kp);
    unref(kp, src);
    row[have - 1] = dst;
    copy->blocks = 1, copy->src = src, copy->dst = dst, copy->rows = len % kp->block_size;
  }
  for (int i = have; i < want; i++) row[i] = take(kp);
  kp->len[seq] = len + n;
  return RLVR_OK;
}

int rlvr_kv_pages_need(const rlvr_kv_pages *kp, int seq, int n) {
  if (!active(kp, seq)) return blocks_for(kp, n);
  const int len = kp->len[seq], have = blocks_for(kp, len);
  const int cow = len % kp->block_size != 0 && kp->ref[kp->table[(size_t)seq * kp->max_blocks + have - 1]] > 1;
  return blocks_for(kp, len + n) - have + cow;
}

int rlvr_kv_pages_append_batch(rlvr_kv_pages *kp, const int *seqs, const int *counts, int n, int open_new,
                               rlvr_kv_copy *copies, int *ncopies) {
  *ncopies = 0;
  RLVR_CHECK(n >= 0, "kv pages: batch of %d", n);
  char *seen = xcalloc((size_t)kp->max_seqs, 1);
  int rc = RLVR_OK;
  long need = 0;
  for (int i = 0; i < n && rc == RLVR_OK; i++) {
    const int q = seqs[i];
    RLVR_CHECK(counts[i] >= 1, "kv pages: batch entry %d appends %d tokens", i, counts[i]);
    if (q < 0 || q >= kp->max_seqs)
      rc = rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d (entry %d) outside 0..%d", q, i, kp->max_seqs - 1);
    else if (seen[q])
      rc = rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d given twice", q);
    else if (open_new && kp->len[q] >= 0)
      rc = rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d is already open", q);
    else if (!open_new && kp->len[q] < 1)
      rc = rlvr_error(RLVR_ERR_ARG, "kv pages: sequence %d is not open or holds no token", q);
    else if (counts[i] > kp->max_len - (open_new ? 0 : kp->len[q]))
      rc = rlvr_error(RLVR_ERR_RANGE, "kv pages: sequence %d would hold %d tokens, more than %d", q,
                      (open_new ? 0 : kp->len[q]) + counts[i], kp->max_len);
    else {
      seen[q] = 1;
      need += rlvr_kv_pages_need(kp, q, counts[i]);
    }
  }
  free(seen);
  if (rc == RLVR_OK && need > kp->num_free)
    rc = rlvr_error(RLVR_ERR_NOMEM, "kv pages: %ld blocks needed for a batch of %d, %d free of %d", need, n,
                    kp->num_free, kp->num_blocks);
  if (rc != RLVR_OK) return rc;
  for (int i = 0; i < n; i++) {
    rlvr_kv_copy cp;
    if (open_new) RLVR_CHECK(rlvr_kv_pages_open(kp, seqs[i]) == RLVR_OK, "kv pages: checked open failed");
    RLVR_CHECK(rlvr_kv_pages_append(kp, seqs[i], counts[i], &cp) == RLVR_OK, "kv pages: checked append failed: %s",
               rlvr_error_message());
    if (cp.blocks) copies[(*ncopies)++] = cp;
  }
  return RLVR_OK;
}

int rlvr_kv_pages_fork(rlvr_kv_pages *kp, int src, int dst) {
  if (!active(kp, src)) return rlvr_error(RLVR_ERR_ARG, "kv pages: fork of sequence %d, which is not open", src);
  if (dst < 0 || dst >= kp->max_seqs || kp->len[dst] >= 0)
    return rlvr_error(RLVR_ERR_ARG, "kv pages: fork into sequence %d, which is out of range or open", dst);
  const int nb = blocks_for(kp, kp->len[src]);
  const int *from = kp->table + (size_t)src * kp->max_blocks;
  int *to = kp->table + (size_t)dst * kp->max_blocks;
  for (int i = 0; i < nb; i++) {
    to[i] = from[i];
    kp->ref[from[i]]++;
  }
  kp->len[dst] = kp->len[src];
  return RLVR_OK;
}

int rlvr_kv_pages_truncate(rlvr_kv_pages *kp, int seq, int len) {
  if (!active(kp, seq)) return rlvr_error(RLVR_ERR_ARG, "kv pages: truncate of sequence %d, which is not open", seq);
  if (len < 0 || len > kp->len[seq])
    return rlvr_error(RLVR_ERR_RANGE, "kv pages: truncate sequence %d to %d tokens (it has %d)", seq, len, kp->len[seq]);
  int *row = kp->table + (size_t)seq * kp->max_blocks;
  const int have = blocks_for(kp, kp->len[seq]), keep = blocks_for(kp, len);
  for (int i = keep; i < have; i++) {
    unref(kp, row[i]);
    row[i] = -1;
  }
  kp->len[seq] = len;
  return RLVR_OK;
}

int rlvr_kv_pages_release(rlvr_kv_pages *kp, int seq) {
  if (!active(kp, seq)) return rlvr_error(RLVR_ERR_ARG, "kv pages: release of sequence %d, which is not open", seq);
  const int rc = rlvr_kv_pages_truncate(kp, seq, 0);
  RLVR_CHECK(rc == RLVR_OK, "kv pages: truncate to 0 failed");
  kp->len[seq] = -1;
  return RLVR_OK;
}

int rlvr_kv_pages_len(const rlvr_kv_pages *kp, int seq) { return seq >= 0 && seq < kp->max_seqs ? kp->len[seq] : -1; }

long rlvr_kv_pages_slot(const rlvr_kv_pages *kp, int seq, int pos) {
  RLVR_CHECK(active(kp, seq) && pos >= 0 && pos < kp->len[seq], "kv pages: slot of sequence %d position %d", seq, pos);
  const int b = kp->table[(size_t)seq * kp->max_blocks + pos / kp->block_size];
  return (long)b * kp->block_size + pos % kp->block_size;
}

int rlvr_kv_pages_consistent(const rlvr_kv_pages *kp) {
  int *count = xcalloc((size_t)kp->num_blocks, sizeof(int));
  int ok = 1;
  for (int s = 0; s < kp->max_seqs && ok; s++) {
    const int *row = kp->table + (size_t)s * kp->max_blocks;
    const int nb = kp->len[s] >= 0 ? blocks_for(kp, kp->len[s]) : 0;
    if (kp->len[s] > kp->max_len) ok = 0;
    for (int i = 0; i < kp->max_blocks && ok; i++) {
      if (i < nb) {
        if (row[i] < 0 || row[i] >= kp->num_blocks) ok = 0;
        else count[row[i]]++;
      } else if (row[i] != -1) {
        ok = 0;
      }
    }
  }
  int unused = 0;
  for (int b = 0; b < kp->num_blocks && ok; b++) {
    if (count[b] != kp->ref[b]) ok = 0;
    unused += count[b] == 0;
  }
  if (ok && unused != kp->num_free) ok = 0;
  /* the free stack: each unused block exactly once (count reused as "seen") */
  for (int b = 0; b < kp->num_blocks; b++) count[b] = 0;
  for (int i = 0; i < kp->num_free && ok; i++) {
    const int b = kp->free_ids[i];
    if (b < 0 || b >= kp->num_blocks || kp->ref[b] != 0 || count[b]) ok = 0;
    else count[b] = 1;
  }
  free(count);
  return ok;
}
