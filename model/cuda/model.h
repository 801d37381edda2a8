/* model.h (model/cuda/) — the whole policy model on the GPU, built from the
 * ops of ops.h: the device copy of an rlvr_model, the training forward and
 * backward over a right-padded batch, and decoding over a paged KV cache
 * with sampling on the device. Callable from C.
 *
 * Precision (rlvr_dtype dt, chosen at build):
 *   BF16: weights (a bf16 copy of the fp32 master weights) and activations
 *         in bf16, fp32 accumulation; logits, per-row statistics (rstd, lse,
 *         entropy, log-probs) and every weight gradient in fp32.
 *   F32:  everything fp32 (the reference mode: compares with the CPU model
 *         at fp32 tolerances).
 * The fp32 master weights are always there (params.f32), laid out exactly as
 * the host model (model.h), so checkpoints, gradients and the optimizer
 * (rlvr_cuda_adamw_step) agree on offsets by construction.
 *
 *   rlvr_cuda_context ctx;        rlvr_cuda_context_build(&ctx, 0);
 *   rlvr_cuda_model dm;           rlvr_cuda_model_build(&dm, &ctx, &model, RLVR_DTYPE_BF16, 1);
 *   rlvr_cuda_forward_state fs;   rlvr_cuda_forward_build(&fs, &dm, B, T);
 *   rlvr_cuda_forward(&fs, tokens, lens, B, T, targets, logprobs, entropy, NULL);
 *   rlvr_cuda_model_grads_zero(&dm);
 *   rlvr_cuda_backward(&fs, w, u);            // dm.grads += d loss (device)
 *   ... rlvr_cuda_grad_norm, rlvr_cuda_adamw_step(dm.params.f32, dm.params.bf16, dm.grads, ...)
 *
 *   rlvr_cuda_decode dd;  rlvr_cuda_decode_build(&dd, &dm, max_seqs, max_len, num_blocks, 16, 512);
 *   rlvr_cuda_decode_prefill(&dd, seqs, prompts, lens, B, T, NULL);
 *   rlvr_cuda_decode_fork(&dd, seqs[0], other);     // shares the prompt's blocks
 *   rlvr_cuda_decode_sample(&dd, params, u, next, logprob);   // rows of the last call
 *   rlvr_cuda_decode_step(&dd, active, next, n, NULL);        // sequences join and leave freely
 *   rlvr_cuda_decode_release(&dd, finished);
 *
 * Host arrays (tokens, lens, targets, outputs) are host memory; the calls
 * copy them to and from the device and wait for their results, so outputs
 * are ready on return. Sizes beyond the build capacities are bugs
 * (RLVR_CHECK); token ids, lengths and sequence states come from outside and
 * give RLVR_ERR_* with nothing changed. CUDA failures abort (CUDA_CHECK).
 *
 * Status: compiled, not yet run on a GPU (docs/cuda.md). */
#ifndef RLVR_CUDA_MODEL_H
#define RLVR_CUDA_MODEL_H

#include <stddef.h>

#include "model/cuda/dtype.h"
#include "model/cuda/kv_pages.h"
#include "model/cuda/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "model/model.h"
#include "model/sampler.h"

/* ---- the model on the device ---- */

typedef struct {
  rlvr_cuda_context *ctx; /* not owned; every call runs on ctx->stream */
  rlvr_model_config cfg;
  rlvr_dtype dt;           /* compute dtype of weights and activations */
  rlvr_cuda_params params; /* fp32 master weights, and their bf16 copy when dt is BF16 */
  float *grads;            /* (num_params) fp32 gradients in the parameter layout, or NULL */
  rlvr_params g;           /* named pointers into grads (when built with_grads) */
  float *rope_cos, *rope_sin; /* (max_position, D/2) fp32, rlvr_rope_table's */
  rlvr_cuda_arena arena;      /* grads and the RoPE table */
} rlvr_cuda_model;

/* Device copy of m (its tensor table must outlive dm), uploaded from
 * m->params_memory; with_grads reserves a gradient buffer (zeroed). */
void rlvr_cuda_model_build(rlvr_cuda_model *dm, rlvr_cuda_context *ctx, const rlvr_model *m, rlvr_dtype dt,
                           int with_grads);
/* Accepts NULL and a zeroed or half-built dm. */
void rlvr_cuda_model_free(rlvr_cuda_model *dm);
/* host (num_params floats) -> master weights, and the bf16 copy from them. */
void rlvr_cuda_model_upload(rlvr_cuda_model *dm, const float *host);
void rlvr_cuda_model_grads_zero(rlvr_cuda_model *dm);
/* grads -> host (num_params floats); waits. */
void rlvr_cuda_model_download_grads(const rlvr_cuda_model *dm, float *host);

/* ---- training forward and backward ---- */

/* Activations kept for the backward for up to max_batch x max_seq tokens
 * (packed: only real tokens take rows), in dt; one device arena. */
typedef struct {
  rlvr_cuda_model *dm; /* not owned */
  int max_batch, max_seq, max_tokens, chunk; /* chunk: logits rows made at once */
  float temperature;
  rlvr_cuda_arena arena;
  /* device, (L, max_tokens, ...) per layer as forward.h's rlvr_activations */
  void *res, *ln1, *q_pre, *k_pre, *q, *k, *v, *att, *res_mid, *ln2, *gate, *up, *lnf;
  float *ln1_rstd, *q_rstd, *k_rstd, *att_lse, *ln2_rstd, *lnf_rstd, *lse, *ent, *logprob;
  void *buf_a, *buf_b, *buf_c, *buf_d, *dres; /* backward scratch, dt */
  float *logits;  /* (chunk, V) fp32 */
  void *dlogits;  /* (chunk, V) dt copy of the logits' gradient (BF16 only, else NULL) */
  float *rms_scratch, *colsum_scratch, *delta, *w, *u;
  int *tok, *target, *pos, *row_seq, *off, *len; /* device */
  /* the last forward's batch (host) */
  int B, T, N, have_targets;
  int *h_tok, *h_target, *h_pos, *h_row_seq, *h_off, *h_len;
  float *h_w, *h_u, *h_stat; /* (max_tokens) staging */
} rlvr_cuda_forward_state;

/* Sizes are the caller's (max_seq <= cfg.max_position). */
void rlvr_cuda_forward_build(rlvr_cuda_forward_state *fs, rlvr_cuda_model *dm, int max_batch, int max_seq);
/* Accepts NULL and a zeroed or half-built fs. */
void rlvr_cuda_forward_free(rlvr_cuda_forward_state *fs);
/* As rlvr_forward_set_temperature (temperature <= 0 means 1). */
void rlvr_cuda_forward_set_temperature(rlvr_cuda_forward_state *fs, float temperature);

/* rlvr_forward's contract (model/forward.h) on the GPU: tokens (B, T) right
 * padded to lens (B); targets (B, T) or NULL (< 0: none); outputs (host, each
 * optional): logprobs and entropy (B, T), 0 at padding and where there is no
 * target; logits (B, T, V) fp32, 0 at padding. RLVR_ERR_RANGE (a token,
 * target or length out of range, naming b and t) with nothing written. */
int rlvr_cuda_forward(rlvr_cuda_forward_state *fs, const int *tokens, const int *lens, int B, int T,
                      const int *targets, float *logprobs, float *entropy, float *logits);

/* rlvr_backward's contract: dm->grads += the gradient of
 * sum w[b,t] logprob[b,t] + u[b,t] entropy[b,t] (w (B, T) host, u (B, T) or
 * NULL) for the last forward, which must have had targets. Asynchronous:
 * the gradients are ready once the stream gets there (download waits). */
void rlvr_cuda_backward(rlvr_cuda_forward_state *fs, const float *w, const float *u);

/* ---- decoding over a paged KV cache ---- */

typedef struct {
  rlvr_cuda_model *dm; /* not owned */
  rlvr_kv_pages pages; /* host bookkeeping: block pool and tables */
  int max_rows;        /* tokens run through the layers at once (prefill is chunked) */
  int n_out;           /* rows of logits the last prefill/step produced */
  rlvr_cuda_arena arena;
  void *k_cache, *v_cache; /* (L, pool_stride, KVH*D) dt: each layer's num_blocks * block_size rows, then one
                              scratch block that the padding rows of a graphed step write to */
  size_t pool_rows;        /* num_blocks * block_size */
  size_t pool_stride;      /* pool_rows + block_size: rows per layer in k_cache, v_cache */
  /* per chunk of max_rows rows, device */
  void *x, *y, *ln1, *q_pre, *k_pre, *q, *k, *v, *att, *res_mid, *ln2, *gate, *up, *act;
  float *ln1_rstd, *q_rstd, *k_rstd, *ln2_rstd;
  int *row_seq, *row_pos, *row_tok, *row_slot, *gather_src, *gather_dst; /* (max_rows) */
  int *table;          /* (max_seqs + 1, max_blocks) the block tables, uploaded before each call; row max_seqs
                          (the padding rows' sequence) points at the scratch block */
  void *xlast, *lnf;   /* (max_seqs, C) dt: the last row of each output sequence */
  float *lnf_rstd;     /* (max_seqs) */
  float *logits;       /* (max_seqs, V) fp32: the last call's next-token logits */
  float *s_logits;     /* (max_seqs, V) fp32: rows gathered for the sampler */
  int *s_tokens;       /* (max_seqs) sampled tokens */
  float *s_logprobs;   /* (max_seqs) */
  rlvr_sampling *s_params; /* (max_seqs) */
  double *s_u;             /* (max_seqs) */
  float *att_part;         /* paged attention's split records (rlvr_cuda_paged_attention_scratch) */
  int att_part_rows;       /* rows they hold: min(max_rows, max_seqs) */
  /* host staging for the gathers of one chunk */
  int *h_gsrc, *h_gdst;
  /* CUDA graphs for decode steps (rlvr_cuda_decode_set_graphs): one
   * instantiated graph per (rows bucket, context bucket), made on first use */
  int use_graphs;
  void *graphs;  /* model.cu's decode_graph records */
  int ngraphs;
  long long graph_captures, graph_launches; /* counters, for tests and benchmarks */
  int *h_rows;   /* (4, max_rows) staging of a graphed step's row metadata */
} rlvr_cuda_decode;

/* A cache of num_blocks blocks of block_size tokens for sequence ids
 * 0 .. max_seqs-1 of up to max_len tokens (max_len <= cfg.max_position),
 * running up to max_rows tokens at once. */
void rlvr_cuda_decode_build(rlvr_cuda_decode *dd, rlvr_cuda_model *dm, int max_seqs, int max_len, int num_blocks,
                            int block_size, int max_rows);
/* Accepts NULL and a zeroed or half-built dd. */
void rlvr_cuda_decode_free(rlvr_cuda_decode *dd);

/* CUDA graphs for rlvr_cuda_decode_step (on after build). A step of n rows
 * runs as the graph for n rounded up to a power of two (at most
 * min(max_seqs, max_rows); larger steps run without a graph) and for the
 * longest context rounded up to a power of two (at least 16, at most
 * max_len): the layers, the final norm and the head, captured once per
 * bucket and replayed, so a step costs one graph launch instead of a few
 * hundred kernel launches. Padding rows read and write only the scratch
 * block and their logits rows are not the caller's. The row metadata and
 * block tables are copied before the launch; weights may change between
 * steps (the graphs hold pointers, not values). Prefill never uses graphs.
 * Every row's arithmetic is the same kernels in the same order as without
 * graphs; only the products' M (the padded row count) may differ, so the
 * logits agree within the products' rounding (bit for bit in the CPU
 * emulation). */
void rlvr_cuda_decode_set_graphs(rlvr_cuda_decode *dd, int on);

/* Opens the inactive sequences seqs[b] with the prompts tokens[b, 0..lens[b])
 * (row-major (B, T), B <= max_seqs, lens[b] >= 1) and computes the
 * next-token logits after each prompt: row b of the device logits, and of
 * logits (B, V) host when not NULL. RLVR_ERR_ARG (a sequence out of range,
 * open, or given twice), RLVR_ERR_RANGE (a length or token out of range),
 * RLVR_ERR_NOMEM (not enough free blocks); on error nothing changes. */
int rlvr_cuda_decode_prefill(rlvr_cuda_decode *dd, const int *seqs, const int *tokens, const int *lens, int B,
                             int T, float *logits);

/* Appends tokens[i] to the open, non-empty sequences seqs[i] (i < n <=
 * max_seqs, each once) and computes their next-token logits (rows i; host
 * copy when logits is not NULL). Errors as prefill (a full sequence is
 * RLVR_ERR_RANGE); on error nothing changes. */
int rlvr_cuda_decode_step(rlvr_cuda_decode *dd, const int *seqs, const int *tokens, int n, float *logits);

/* Opens the inactive dst as a copy of src sharing its blocks (no copy of the
 * cache: a prompt prefilled once serves a group). Errors of
 * rlvr_kv_pages_fork. Note: the device logits rows are not forked; sample
 * the src row once per member instead (rlvr_cuda_decode_sample_rows). */
int rlvr_cuda_decode_fork(rlvr_cuda_decode *dd, int src, int dst);
/* Closes seq, returning its unshared blocks to the pool. */
int rlvr_cuda_decode_release(rlvr_cuda_decode *dd, int seq);
/* Keeps the first len tokens of the open seq (0 <= len <= its length),
 * returning the blocks past them (rlvr_kv_pages_truncate: nothing moves on
 * the device; the next step writes position len, copying a shared partial
 * block first). Errors of rlvr_kv_pages_truncate, nothing changed. */
int rlvr_cuda_decode_truncate(rlvr_cuda_decode *dd, int seq, int len);
/* Tokens in seq, -1 when not open. */
int rlvr_cuda_decode_len(const rlvr_cuda_decode *dd, int seq);

/* Samples one token on the device from each of the n rows rows[i] of the
 * last call's logits (rows NULL: rows 0 .. n-1; a row may be given more
 * than once, e.g. a shared prompt's row for each of its G samples), with
 * settings params[i] (host, validated by the caller) and uniforms u[i] in
 * [0, 1) (host, one per non-greedy draw as the CPU sampler takes them):
 * rlvr_cuda_sample's contract. tokens (n) and logprobs (n, or NULL) are
 * host outputs; the log-prob is log softmax(z / T)[token] before
 * truncation. n <= max_seqs. */
void rlvr_cuda_decode_sample_rows(rlvr_cuda_decode *dd, const int *rows, int n, const rlvr_sampling *params,
                                  const double *u, int *tokens, float *logprobs);

#ifdef __cplusplus
}
#endif

#endif
