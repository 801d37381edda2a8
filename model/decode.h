/* decode.h — incremental decoding with a KV cache, for a batch of sequences.
 *
 * The cache has max_batch slots of max_seq positions each. A sequence lives
 * in a slot: rlvr_decode_prefill runs its prompt (restarting the slot), then
 * each rlvr_decode_step appends one token to each of any set of slots, so
 * sequences of different prompt lengths advance together and may finish at
 * different times (simply leave a finished slot out of the next steps, or
 * prefill a new prompt into it).
 *
 *   rlvr_decode_state ds;
 *   rlvr_decode_build(&ds, &model.cfg, B, max_len, 512);
 *   rlvr_decode_prefill(&ds, &model, slots, prompts, lens, B, Tp, logits);  // (B, V)
 *   while (...) {
 *     ... sample next[i] from logits row i (model/sampler.h) ...
 *     rlvr_decode_step(&ds, &model, active_slots, next, n_active, logits); // (n, V)
 *   }
 *   rlvr_decode_free(&ds);
 *
 * Exactness: the logits of a token here are bit for bit the logits the
 * full-sequence forward (forward.h) computes at the same position of the same
 * sequence, whatever the batch, slot, chunking or thread count; so
 * rlvr_decode_logprob of a sampled token equals the learner's recomputed
 * log-probability exactly (docs/model.md, "Exactness"). Use
 * rlvr_decode_logprob (or rlvr_logsoftmax_row of kernels.h), not another
 * log-softmax, to keep that property.
 *
 * Memory: 2 * L * max_batch * max_seq * KVH*D floats of cache, plus scratch
 * for max_rows rows (prefill runs in chunks of max_rows tokens). One
 * allocation at build; no call allocates. One call at a time per state. */
#ifndef RLVR_DECODE_H
#define RLVR_DECODE_H

#include <stddef.h>

#include "model/model.h"

typedef struct {
  rlvr_model_config cfg;
  int max_batch, max_seq, max_rows;
  int threads;

  float *memory;            /* one allocation for everything below */
  float *k_cache, *v_cache; /* (L, max_batch, max_seq, KVH*D), post-norm, post-RoPE keys */
  float *rope_cos, *rope_sin;
  /* scratch for max_rows rows */
  float *x, *y, *ln1, *ln1_rstd, *q_pre, *k_pre, *q_rstd, *k_rstd, *q, *k_new, *v_new, *att,
      *att_lse, *res_mid, *ln2, *ln2_rstd, *gate, *up, *act, *lnf, *lnf_rstd, *pack, *att_scratch;
  int *slot_len;  /* (max_batch) tokens in each slot's cache */
  int *pos;       /* (max_rows) */
  size_t *kv_col; /* (max_rows) first column (slot * max_seq) of each row's slot */
  int *row_tok;   /* (max_rows) tokens of a prefill chunk */
} rlvr_decode_state;

/* Allocates the cache and scratch: max_batch slots of max_seq positions
 * (max_seq <= cfg->max_position), calls of up to max_rows new tokens. */
void rlvr_decode_build(rlvr_decode_state *ds, const rlvr_model_config *cfg, int max_batch,
                       int max_seq, int max_rows);

/* Accepts NULL and a zeroed or freed state. */
void rlvr_decode_free(rlvr_decode_state *ds);

/* Tokens stored in slot (its next position). */
int rlvr_decode_slot_len(const rlvr_decode_state *ds, int slot);

/* Restarts slots[b] with the prompt tokens[b, 0..lens[b]) (row-major (B, T))
 * for b < B, and writes logits (B, V): the next-token logits after each
 * prompt. Returns RLVR_OK, or RLVR_ERR_RANGE (an empty or too long prompt, a
 * token outside the vocabulary, naming b and t) or RLVR_ERR_ARG (a slot out
 * of range or given twice); on error no slot changes. */
int rlvr_decode_prefill(rlvr_decode_state *ds, const rlvr_model *m, const int *slots,
                        const int *tokens, const int *lens, int B, int T, float *logits);

/* Appends tokens[i] to slots[i] for i < n (n <= max_rows) and writes logits
 * (n, V). Errors as prefill (a full slot is RLVR_ERR_RANGE, an empty one
 * RLVR_ERR_ARG); on error no slot changes. */
int rlvr_decode_step(rlvr_decode_state *ds, const rlvr_model *m, const int *slots,
                     const int *tokens, int n, float *logits);

/* Makes slot dst hold the first len tokens of slot src (1 <= len <=
 * rlvr_decode_slot_len(src), src != dst): a prompt prefilled once serves a
 * group of samples. Sizes are the caller's: a bad one is a bug. */
void rlvr_decode_copy_slot(rlvr_decode_state *ds, int src, int dst, int len);

/* Forgets all but the first len tokens of slot (1 <= len <= its length). */
void rlvr_decode_truncate(rlvr_decode_state *ds, int slot, int len);

/* log p(token) under logits (V): z[token] - logsumexp(z), computed exactly as
 * the forward computes its log-probs. scratch: V floats. */
float rlvr_decode_logprob(const float *logits, int V, int token, float *scratch);

#endif
