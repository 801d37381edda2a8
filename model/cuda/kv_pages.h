/* kv_pages.h — the bookkeeping of a paged KV cache, in plain C (no CUDA):
 * a pool of fixed-size blocks with reference counts and a block table per
 * sequence. The GPU decode engine (model/cuda/model.h) keeps one of these
 * on the host and uploads the table before each step; the cache memory
 * itself is on the device. Built and unit-tested with or without CUDA
 * (tests/gpu/test_kv_pages.c, in the normal CPU suite).
 *
 * A sequence s (0 <= s < max_seqs) is inactive until opened. Its token at
 * position p lives in block table[s * max_blocks + p / block_size], row
 * p % block_size of that block. Blocks are shared by reference count: fork
 * makes a sequence that shares every block of another (a group's prompt
 * prefilled once serves its G samples). Writing into a shared block is
 * copy-on-write: append first moves the sequence onto a private copy of its
 * last, partially filled block and reports the copy the device must do
 * (rlvr_kv_copy). Only the last block of a sequence is ever written, so
 * only it can need a copy.
 *
 *   rlvr_kv_pages kp;  rlvr_kv_pages_build(&kp, 16, 4096, 64, 1024);
 *   rlvr_kv_pages_open(&kp, 0);
 *   rlvr_kv_pages_append(&kp, 0, prompt_len, &copy);   // then write the rows
 *   for (g = 1; g < G; g++) rlvr_kv_pages_fork(&kp, 0, g);
 *   rlvr_kv_pages_append(&kp, g, 1, &copy);            // copy.blocks > 0: do it first
 *   rlvr_kv_pages_release(&kp, g);                     // a finished sample leaves
 *
 * Errors: running out of blocks is RLVR_ERR_NOMEM, a sequence past max_len
 * RLVR_ERR_RANGE, a bad sequence id or state RLVR_ERR_ARG; a failed call
 * changes nothing. */
#ifndef RLVR_CUDA_KV_PAGES_H
#define RLVR_CUDA_KV_PAGES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int block_size; /* tokens per block */
  int num_blocks; /* blocks in the pool */
  int max_seqs;   /* sequence ids 0 .. max_seqs-1 */
  int max_blocks; /* per sequence: ceil(max_len / block_size) */
  int max_len;    /* tokens per sequence */
  int *ref;       /* (num_blocks) sequences using each block; 0 = free */
  int *free_ids;  /* (num_blocks) stack of free block ids, num_free on it */
  int num_free;
  int *table; /* (max_seqs, max_blocks) block ids; -1 past a sequence's blocks */
  int *len;   /* (max_seqs) tokens of each sequence; -1 = inactive */
} rlvr_kv_pages;

/* One copy-on-write the device must perform before writing the new rows:
 * rows 0 .. rows-1 of block src to block dst (every layer, keys and
 * values). blocks = 0 when nothing is to be copied. */
typedef struct {
  int blocks; /* 0 or 1 */
  int src, dst, rows;
} rlvr_kv_copy;

/* Sizes are the caller's (positive; a bad one is a bug). All sequences
 * start inactive, all blocks free. */
void rlvr_kv_pages_build(rlvr_kv_pages *kp, int block_size, int num_blocks, int max_seqs, int max_len);
/* Accepts NULL and a zeroed or freed kp. */
void rlvr_kv_pages_free(rlvr_kv_pages *kp);

/* Makes seq active with no tokens. RLVR_ERR_ARG if out of range or active. */
int rlvr_kv_pages_open(rlvr_kv_pages *kp, int seq);

/* Makes room for n >= 1 more tokens of an active seq (positions len ..
 * len+n-1), allocating blocks and, when the partially filled last block is
 * shared, moving seq onto a private copy of it (*copy says which; do the
 * copy before writing the rows). Errors as above; on error nothing changes. */
int rlvr_kv_pages_append(rlvr_kv_pages *kp, int seq, int n, rlvr_kv_copy *copy);

/* A batch of appends, all or nothing (the GPU engine's prefill and step):
 * counts[i] >= 1 tokens for each of the n sequences seqs[i]. With open_new
 * the sequences must be closed and are opened first (a prefill); without,
 * they must be open and hold at least one token (a decode step). Each
 * sequence at most once. copies (room for n) receives the copy-on-writes
 * to perform, in order, before the new rows are written; *ncopies their
 * number. Errors: RLVR_ERR_ARG (an id out of range or repeated, a sequence
 * in the wrong state), RLVR_ERR_RANGE (past max_len), RLVR_ERR_NOMEM (the
 * sum of rlvr_kv_pages_need exceeds the free blocks: conservative when
 * two of the batch share a partial block, as only the first to write it
 * copies); on error nothing changes. */
int rlvr_kv_pages_append_batch(rlvr_kv_pages *kp, const int *seqs, const int *counts, int n, int open_new,
                               rlvr_kv_copy *copies, int *ncopies);

/* Free blocks rlvr_kv_pages_append(kp, seq, n) would take from the pool
 * (new blocks plus a copy-on-write), for an open seq; for one not open, the
 * blocks n tokens need. To check a batch of appends before making any. */
int rlvr_kv_pages_need(const rlvr_kv_pages *kp, int seq, int n);

/* Makes the inactive dst an active sequence sharing all of src's blocks
 * and its length. RLVR_ERR_ARG on a bad id, src inactive or dst active. */
int rlvr_kv_pages_fork(rlvr_kv_pages *kp, int src, int dst);

/* Keeps the first len tokens of an active seq (0 <= len <= its length),
 * releasing the blocks past them. RLVR_ERR_ARG / RLVR_ERR_RANGE. */
int rlvr_kv_pages_truncate(rlvr_kv_pages *kp, int seq, int len);

/* Releases all of seq's blocks and makes it inactive (an inactive or
 * out-of-range seq is RLVR_ERR_ARG). */
int rlvr_kv_pages_release(rlvr_kv_pages *kp, int seq);

/* Tokens of seq, -1 when inactive or out of range. */
int rlvr_kv_pages_len(const rlvr_kv_pages *kp, int seq);

/* Where position pos of seq is stored: block * block_size + row, the row of
 * the pool as the device addresses it (pos < the sequence's length; a bad
 * one is a bug). */
long rlvr_kv_pages_slot(const rlvr_kv_pages *kp, int seq, int pos);

/* Checks the invariants (reference counts equal the table's uses, the free
 * stack holds exactly the unused blocks, tables hold exactly
 * ceil(len / block_size) blocks): 1 if they hold. For tests. */
int rlvr_kv_pages_consistent(const rlvr_kv_pages *kp);

#ifdef __cplusplus
}
#endif

#endif
