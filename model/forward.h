/* forward.h — the policy model's full-sequence forward and backward on CPU.
 *
 * A batch is B sequences of at most T tokens, row-major tokens (B, T), right
 * padded: sequence b has lens[b] tokens at positions 0..lens[b]-1 and the
 * rest of its row is ignored (any value). Attention is causal, so with right
 * padding a real position never sees a padded one; the forward therefore
 * computes only the real tokens, packed one sequence after another
 * (N = sum lens rows), and reports per-token values in (B, T) arrays with 0
 * at padding.
 *
 * Use:
 *   rlvr_forward_state fs;
 *   rlvr_forward_build(&fs, &model.cfg, max_B, max_T);      // all memory, once
 *   rlvr_forward(&fs, &model, tokens, lens, B, T, targets, logprobs, entropy, NULL);
 *   rlvr_backward(&fs, &model, w, u, grads);               // grads += d loss
 *   ...
 *   rlvr_forward_free(&fs);
 * with loss = sum_{b,t} w[b,t] logprobs[b,t] + u[b,t] entropy[b,t].
 * Gradients are a num_params float buffer in the parameter layout (point an
 * rlvr_params at it with rlvr_params_point); rlvr_backward adds to it, so
 * zero it (rlvr_grads_zero) once per optimizer step and accumulate
 * micro-batches.
 *
 * Exactness: the per-token log-probabilities and entropies (and logits) of a
 * token do not depend on the other sequences of the batch, on B, T or on the
 * thread count, and equal bit for bit what model/decode.h computes for the
 * same token: docs/model.md, "Exactness". At a temperature other than 1
 * (rlvr_forward_set_temperature) they equal rlvr_decode_logprob of decode's
 * logits after rlvr_logits_temperature.
 *
 * A state is single-threaded (one call at a time); the calls parallelise
 * inside with OpenMP. No call allocates memory. */
#ifndef RLVR_FORWARD_H
#define RLVR_FORWARD_H

#include <stddef.h>

#include "model/model.h"

/* Everything the backward reads, for N <= max_tokens packed rows. Per-layer
 * tensors are (L, N, ...) with layer l at l * max_tokens * (row size). */
typedef struct {
  float *res;      /* (L+1, N, C) residual stream entering layer l; res[L] leaves the last */
  float *ln1;      /* (L, N, C) input_layernorm output */
  float *ln1_rstd; /* (L, N) */
  float *q_pre;    /* (L, N, H*D) q_proj output, before q_norm (qk_norm only) */
  float *k_pre;    /* (L, N, KVH*D) k_proj output, before k_norm (qk_norm only) */
  float *q_rstd;   /* (L, N, H) q_norm's 1/rms per head (qk_norm only) */
  float *k_rstd;   /* (L, N, KVH) */
  float *q;        /* (L, N, H*D) queries as attention reads them (normed, rotated) */
  float *k;        /* (L, N, KVH*D) keys, likewise */
  float *v;        /* (L, N, KVH*D) values */
  float *kt;       /* (L, KVH*D, N) the keys transposed: attention's key store */
  float *vt;       /* (L, KVH*D, N) the values transposed, for the backward */
  float *att;      /* (L, N, H*D) attention output, o_proj's input */
  float *att_lse;  /* (L, N, H) log-sum-exp of each head's scores */
  float *res_mid;  /* (L, N, C) residual after attention */
  float *ln2;      /* (L, N, C) post_attention_layernorm output */
  float *ln2_rstd; /* (L, N) */
  float *gate;     /* (L, N, F) gate_proj output */
  float *up;       /* (L, N, F) up_proj output */
  float *lnf;      /* (N, C) final norm output */
  float *lnf_rstd; /* (N) */
  float *lse;      /* (N) log-sum-exp of each row of logits */
  float *ent;      /* (N) entropy of each row */
} rlvr_activations;

typedef struct {
  rlvr_model_config cfg;
  int max_batch, max_seq; /* capacity: B <= max_batch, T <= max_seq */
  int max_tokens;         /* max_batch * max_seq */
  int chunk;              /* rows of logits computed at once (logits_buf) */
  int threads;            /* omp_get_max_threads() at build: per-thread scratch */
  size_t total_floats;    /* size of act_memory */

  float *act_memory; /* one allocation for everything below */
  rlvr_activations act;
  float *rope_cos, *rope_sin; /* (max_seq, D/2) */

  /* scratch, reused by every layer */
  float *buf_a;      /* (N, max(C, H*D, F)) */
  float *buf_b;      /* (N, max(C, H*D, F)) */
  float *buf_c;      /* (N, max(C, H*D, F)) */
  float *buf_d;      /* (N, max(C, H*D, F)) */
  float *dres;       /* (N, C) gradient of the residual stream */
  float *logits_buf; /* (chunk, V) */
  float *pack;       /* rlvr_linear_scratch for the largest product */
  float *att_scratch;
  float *row_scratch; /* (threads, V) for the softmax */

  /* the last forward's batch, kept for the backward */
  int B, T, N;
  int *off;      /* (max_batch) first packed row of sequence b */
  int *len;      /* (max_batch) */
  int *pos;      /* (max_tokens) position of each packed row */
  int *row_b;    /* (max_tokens) sequence of each packed row */
  size_t *kv_col; /* (max_tokens) off[b] for each row: its sequence's first column in the stores */
  int *target;   /* (max_tokens) target token of each row, -1 for none */
  int *tok;      /* (max_tokens) input token of each row */
  int have_targets;
  /* Sampling temperature the log-probs and entropies are taken at: each row of
   * logits z becomes rlvr_logits_temperature(z, V, temperature) before the
   * log-softmax, and the backward differentiates through that division.
   * 1 after build; set with rlvr_forward_set_temperature. */
  float temperature;
} rlvr_forward_state;

/* Allocates fs for batches of at most max_batch sequences of at most max_seq
 * tokens (max_seq <= cfg->max_position). Sizes are the caller's: a bad one
 * is a bug (RLVR_CHECK). Free with rlvr_forward_free. */
void rlvr_forward_build(rlvr_forward_state *fs, const rlvr_model_config *cfg, int max_batch,
                        int max_seq);

/* Accepts NULL and a zeroed or freed state. */
void rlvr_forward_free(rlvr_forward_state *fs);

/* Runs the model on tokens (B, T) with lengths lens (B), 0 <= lens[b] <= T.
 * targets (B, T) or NULL: the token whose log-probability is wanted at each
 * position (usually tokens[b][t+1]), < 0 for none. Outputs, each optional:
 *   logprobs (B, T): log p(targets[b,t] | tokens[b, 0..t]); 0 where no target
 *   entropy  (B, T): entropy of that next-token distribution; 0 at padding
 *   logits   (B, T, V): the logits; padding rows are set to 0
 * Returns RLVR_OK, or RLVR_ERR_RANGE (a token or target outside the
 * vocabulary, or a length outside 0..T, naming b and t) with nothing written.
 * B > max_batch or T > max_seq is a bug. */
int rlvr_forward(rlvr_forward_state *fs, const rlvr_model *m, const int *tokens, const int *lens,
                 int B, int T, const int *targets, float *logprobs, float *entropy, float *logits);

/* The input check of rlvr_forward and of its GPU twin (rlvr_cuda_forward):
 * every lens[b] in 0..T, every token of the first lens[b] positions in
 * 0..V-1, every target below V (negative = none). Returns RLVR_OK, or
 * RLVR_ERR_RANGE naming the sequence and position. */
int rlvr_forward_check_batch(const int *tokens, const int *lens, int B, int T, const int *targets, int V);

/* Adds to grads (num_params floats, the parameter layout) the gradient of
 *   loss = sum_{b,t} w[b,t] logprob[b,t] + u[b,t] entropy[b,t]
 * for the batch of the last rlvr_forward, which must have had targets (w is
 * ignored where there is no target). w (B, T) required, u (B, T) or NULL.
 * With tied embeddings the embedding gradient gets both contributions. */
void rlvr_backward(rlvr_forward_state *fs, const rlvr_model *m, const float *w, const float *u,
                   float *grads);

/* Log-probabilities at a sampling temperature. A sampler that draws from
 * softmax(z / T) reports log softmax(z / T)[token]; so that the learner's
 * recomputed value equals it bit for bit, both sides divide each logit by T
 * with this function and then take the log-softmax with
 * rlvr_decode_logprob / rlvr_logsoftmax_row (the rollout on decode's logits,
 * the forward on its own). T <= 0 (greedy) and T == 1 leave z as it is.
 * The division is z[j] / T in float, element by element. */
void rlvr_logits_temperature(float *z, int V, float temperature);

/* Makes the following rlvr_forward calls (and their rlvr_backward) compute
 * log-probs and entropies of softmax(logits / temperature); temperature <= 0
 * means 1 (greedy samples are scored at temperature 1). The optional logits
 * output stays the raw logits. */
void rlvr_forward_set_temperature(rlvr_forward_state *fs, float temperature);

/* Sets the num_params floats of grads to 0. */
void rlvr_grads_zero(const rlvr_model *m, float *grads);

/* ---- shared with decode.c: one transformer layer over packed rows ---- */

/* Where one layer's forward reads and writes, for N rows. Pointers with no
 * use in the model (q_pre without qk_norm) may be NULL; for decode they point
 * at scratch reused by every layer. */
typedef struct {
  const float *x; /* (N, C) residual in */
  float *out;     /* (N, C) residual out */
  float *ln1, *ln1_rstd, *q_pre, *k_pre, *q_rstd, *k_rstd, *q, *att, *att_lse, *res_mid, *ln2,
      *ln2_rstd, *gate, *up;
  float *k_new, *v_new; /* (N, KVH*D) this layer's keys (normed, rotated) and values of the N
                           rows; stored into the stores below */
  float *kv_kt;         /* the layer's transposed key store (KVH*D, kv_ld), or NULL and: */
  float *kv_k;          /* its key store as rows (kv_ld, KVH*D) (decode's cache) */
  float *kv_v;          /* its value store (kv_ld, KVH*D); may be v_new itself */
  float *kv_vt;         /* a transposed value store (KVH*D, kv_ld) to fill too, or NULL */
  size_t kv_ld;         /* columns of the stores */
  const size_t *kv_col; /* (N) column of row i's sequence's position 0; row i goes to
                           column kv_col[i] + pos[i] */
  const int *pos;       /* (N) positions */
  float *act;           /* (N, F) scratch */
  float *pack;          /* rlvr_linear_scratch(N, max(C, H*D, F)) */
  float *att_scratch;   /* omp_get_max_threads() * rlvr_attention_scratch(max_pos, D) floats */
  const float *rope_cos, *rope_sin;
  int max_pos;
} rlvr_layer_io;

/* Layer l of m on N rows: RMSNorm, q/k/v (+bias, +q/k norm, RoPE), causal
 * attention over stored keys 0..pos (this call's keys are stored first),
 * o_proj, residual, RMSNorm, SwiGLU MLP, residual. */
void rlvr_layer_forward(const rlvr_model *m, int l, int N, const rlvr_layer_io *io);

/* The final norm and lm_head for n rows: logits (n, V) from the last
 * residual x (n, C); lnf (n, C) and lnf_rstd (n) receive the norm. */
void rlvr_head_forward(const rlvr_model *m, int n, const float *x, float *lnf, float *lnf_rstd,
                       float *logits, float *pack);

#endif
