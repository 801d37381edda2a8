/* ops.h — the CUDA kernels of the policy model, callable from C.
 *
 * Each function launches its kernel(s) on stream s (asynchronously, no host
 * synchronisation, no allocation) and checks cudaGetLastError. Pointers are
 * device pointers unless a comment says otherwise. The math of each op is
 * the CPU reference's (model/kernels.h, model/optim.h, model/sampler.h,
 * model/logprob.h; docs/model.md) and tests/gpu/test_cuda_ops.c compares
 * each with it.
 *
 * Types: tensors marked `dt` are float32 or bfloat16 as the dt argument says
 * (model/cuda/dtype.h); everything else is float32 (statistics, weight
 * gradients, master weights, moments) or int. Arithmetic is float32
 * throughout (double where a comment says so); bf16 is rounded once on store.
 *
 * Determinism: no kernel uses floating-point atomics; reductions have a fixed
 * shape, so the same inputs give the same bits on every run on a given GPU
 * and block size. (They do not give the CPU's bits: other summation orders.)
 *
 * Shape letters as model.h: N rows (tokens), C channels, V vocabulary,
 * H / KVH heads, D head dimension, F MLP width.
 *
 * Status: compiled, not yet run on a GPU (docs/cuda.md). */
#ifndef RLVR_CUDA_OPS_H
#define RLVR_CUDA_OPS_H

#include <cuda_runtime_api.h>
#include <stddef.h>

#include "model/cuda/dtype.h"
#include "model/cuda/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "model/optim.h"   /* rlvr_adamw_config */
#include "model/sampler.h" /* rlvr_sampling */

/* ---- matrix products (cuBLASLt, fp32 accumulation) ---- */

/* Y (M, N) = X (M, K) · W^T + bias, W (N, K), bias (N) or NULL; X, W, bias,
 * Y all dt. On ctx->stream with ctx's workspace. */
void rlvr_cuda_linear_forward(rlvr_cuda_context *ctx, void *Y, const void *X, const void *W,
                              const void *bias, int M, int N, int K, rlvr_dtype dt);

/* Y (M, N) float32 = X (M, K) · W^T, X and W dt, no bias: the lm_head's
 * logits, kept in float32 whatever the activations' dtype. */
void rlvr_cuda_linear_forward_f32out(rlvr_cuda_context *ctx, float *Y, const void *X, const void *W, int M, int N,
                                     int K, rlvr_dtype dt);

/* dX (M, K) = dY (M, N) · W (N, K), or += when accumulate; all dt. */
void rlvr_cuda_linear_backward_x(rlvr_cuda_context *ctx, void *dX, const void *dY, const void *W,
                                 int M, int N, int K, int accumulate, rlvr_dtype dt);

/* dW (N, K) float32 += dY^T (N, M) · X (M, K), dY and X dt; db (N) float32
 * += column sums of dY when not NULL (scratch: rlvr_cuda_colsum_scratch(M, N)
 * floats, or NULL when db is NULL). */
void rlvr_cuda_linear_backward_w(rlvr_cuda_context *ctx, float *dW, float *db, float *scratch,
                                 const void *dY, const void *X, int M, int N, int K, rlvr_dtype dt);
size_t rlvr_cuda_colsum_scratch(int M, int N);

/* ---- RMSNorm (per row of C: rstd = 1/sqrt(mean(x^2) + eps), y = (x rstd) w) ---- */

/* y, x, w dt (N, C), (N, C), (C); rstd (N) float32 or NULL. y may not alias x. */
void rlvr_cuda_rmsnorm_forward(void *y, float *rstd, const void *x, const void *w, int N, int C,
                               float eps, rlvr_dtype dt, cudaStream_t s);

/* dx (N, C) dt += d/dx; dw (C) float32 += sum over rows of dy xhat.
 * scratch: rlvr_cuda_rmsnorm_backward_scratch(N, C) floats. */
void rlvr_cuda_rmsnorm_backward(void *dx, float *dw, float *scratch, const void *dy, const void *x,
                                const void *w, const float *rstd, int N, int C, rlvr_dtype dt,
                                cudaStream_t s);
size_t rlvr_cuda_rmsnorm_backward_scratch(int N, int C);

/* ---- RoPE, Hugging Face's rotate_half pairing (d with d + D/2) ---- */

/* Rotates, in place, n_heads heads of D in each of N rows (row stride ld
 * elements) of x (dt) by positions pos (N, int). cos_t, sin_t: (max_pos, D/2)
 * float32 as rlvr_rope_table makes them (upload its output). The backward
 * rotates by the transposed rotation (the gradient of the forward). */
void rlvr_cuda_rope_forward(void *x, int N, int ld, int n_heads, int D, const int *pos,
                            const float *cos_t, const float *sin_t, rlvr_dtype dt, cudaStream_t s);
void rlvr_cuda_rope_backward(void *dx, int N, int ld, int n_heads, int D, const int *pos,
                             const float *cos_t, const float *sin_t, rlvr_dtype dt, cudaStream_t s);

/* ---- SwiGLU: act = silu(gate) * up, silu(g) = g / (1 + e^-g) ---- */

void rlvr_cuda_swiglu_forward(void *act, const void *gate, const void *up, size_t n, rlvr_dtype dt,
                              cudaStream_t s);
/* dgate, dup overwritten (dt); may not alias the inputs. */
void rlvr_cuda_swiglu_backward(void *dgate, void *dup, const void *dact, const void *gate,
                               const void *up, size_t n, rlvr_dtype dt, cudaStream_t s);

/* ---- residual: out = a + b (n elements, dt; out may be a or b) ---- */

void rlvr_cuda_residual_forward(void *out, const void *a, const void *b, size_t n, rlvr_dtype dt,
                                cudaStream_t s);

/* ---- log-softmax over the vocabulary ---- */

/* Per row r of logits (N, V) dt, at sampling temperature T (row s = z / T
 * element by element, as rlvr_logits_temperature; T <= 0 or T == 1: s = z):
 *   lse[r] = log sum_j e^(s_j), entropy[r] = -sum_j p_j log p_j,
 *   logprob[r] = s[targets[r]] - lse[r] (0 where targets[r] < 0).
 * One pass over the row with an online (max, sum, weighted sum) — no
 * probabilities stored. Each output may be NULL; targets may be NULL
 * (then logprob must be NULL). */
void rlvr_cuda_logsoftmax_forward(float *lse, float *entropy, float *logprob, const void *logits,
                                  const int *targets, int N, int V, float temperature, rlvr_dtype dt,
                                  cudaStream_t s);

/* The gradient of sum_r w[r] logprob[r] + u[r] entropy[r] with respect to
 * the raw logits (before the 1/T), into dlogits (N, V) dt, which may be
 * logits itself (each element is read before it is written):
 *   dz_j = (w ([j == target] - p_j) - u p_j (log p_j + entropy)) / T,
 *   p_j = e^(s_j - lse), with the lse and entropy of the forward.
 * w (N) float32 (ignored where targets[r] < 0); u (N) or NULL for 0. */
void rlvr_cuda_logsoftmax_backward(void *dlogits, const void *logits, const float *lse,
                                   const float *entropy, const int *targets, const float *w,
                                   const float *u, int N, int V, float temperature, rlvr_dtype dt,
                                   cudaStream_t s);

/* ---- attention for training: causal, GQA, packed sequences ---- */

/* B sequences packed one after another (no padding rows): sequence b has
 * rows off[b] .. off[b]+len[b]-1 at positions 0 .. len[b]-1; row_seq (N)
 * gives each row's sequence (all int, device). q (N, H*D) rotated, k, v
 * (N, KVH*D); query head h reads kv head h / (H/KVH).
 * out (N, H*D) dt; lse (N, H) float32 (log-sum-exp of each head's scaled
 * scores, for the backward). D <= 256. scale 1/sqrt(D).
 * Flash-style tiles (attention_fwd_kernel2, attention.cuh). */
void rlvr_cuda_attention_forward(void *out, float *lse, const void *q, const void *k, const void *v,
                                 const int *row_seq, const int *off, int N, int H, int KVH, int D,
                                 rlvr_dtype dt, cudaStream_t s);

/* dq (N, H*D), dk, dv (N, KVH*D) dt, overwritten, from dout and the
 * forward's q, k, v, out, lse. delta: (N, H) float32 scratch (receives
 * dout . out per row and head). FlashAttention-2's order without atomics:
 * delta and dq per query tile, then dk, dv per key tile. */
void rlvr_cuda_attention_backward(void *dq, void *dk, void *dv, float *delta, const void *dout,
                                  const void *q, const void *k, const void *v, const void *out,
                                  const float *lse, const int *row_seq, const int *off,
                                  const int *len, int N, int H, int KVH, int D, rlvr_dtype dt,
                                  cudaStream_t s);

/* The same two contracts on the reference-grade kernels (kernel1: a warp
 * per row and head, no tiling), kept for tests and the lab to compare. */
void rlvr_cuda_attention_forward_kernel1(void *out, float *lse, const void *q, const void *k,
                                         const void *v, const int *row_seq, const int *off, int N,
                                         int H, int KVH, int D, rlvr_dtype dt, cudaStream_t s);
void rlvr_cuda_attention_backward_kernel1(void *dq, void *dk, void *dv, float *delta,
                                          const void *dout, const void *q, const void *k,
                                          const void *v, const void *out, const float *lse,
                                          const int *row_seq, const int *off, const int *len, int N,
                                          int H, int KVH, int D, rlvr_dtype dt, cudaStream_t s);

/* ---- attention for decoding, over a paged KV cache ---- */

/* Row i (of N) of q (N, H*D) dt is at position row_pos[i] of sequence
 * row_seq[i] and attends to that sequence's positions 0 .. row_pos[i]
 * (causal, GQA as above), whose keys and values are pool rows of kc, vc
 * (pool rows, KVH*D) dt: position p at row table[seq * max_blocks + p /
 * block_size] * block_size + p % block_size. out (N, H*D) dt. Every
 * row_pos[i] + 1 <= max_ctx <= max_len (max_len: the longest sequence the
 * cache holds, which sizes the scratch; max_ctx: a bound for this call,
 * which sizes the grid).
 * Flash-decoding: a row of ctx = row_pos + 1 keys is cut into splits of at
 * most 256 keys (at most 32 splits; attention.cuh's paged_split_len, a
 * function of ctx alone), one thread block per split and group of heads
 * sharing a kv head, partial softmax records merged by a second kernel in
 * split order. scratch: rlvr_cuda_paged_attention_scratch(scratch_rows, H,
 * D, max_len) floats, used scratch_rows rows at a time (more rows: more
 * launches); may be NULL when max_ctx <= 256. A row of at most 256 keys
 * gives the bits of rlvr_cuda_attention_forward's row for the same q, k, v
 * (the same key tiles and arithmetic); longer ones agree within rounding. */
size_t rlvr_cuda_paged_attention_scratch(int scratch_rows, int H, int D, int max_len);
void rlvr_cuda_paged_attention(void *out, float *scratch, int scratch_rows, const void *q,
                               const void *kc, const void *vc, const int *row_seq,
                               const int *row_pos, const int *table, int max_blocks,
                               int block_size, int N, int H, int KVH, int D, int max_len,
                               int max_ctx, rlvr_dtype dt, cudaStream_t s);
/* The same on paged_attention_kernel1 (a warp per row and head, keys one at
 * a time; no scratch), for tests and the lab. */
void rlvr_cuda_paged_attention_kernel1(void *out, const void *q, const void *kc, const void *vc,
                                       const int *row_seq, const int *row_pos, const int *table,
                                       int max_blocks, int block_size, int N, int H, int KVH, int D,
                                       rlvr_dtype dt, cudaStream_t s);

/* ---- optimizer ---- */

enum { RLVR_CUDA_NORM_BLOCKS = 512 };

/* Global L2 norm of grads (n float32), in double, two-stage (fixed
 * RLVR_CUDA_NORM_BLOCKS block sums, then one block adds them in a fixed
 * tree): *norm (device double) = sqrt(sum g^2); *scale (device float, or
 * NULL) = clip_grad_norm_'s factor: (float)(max_norm / (norm + 1e-6)) when
 * max_norm > 0 and that is < 1, else 1. partials: RLVR_CUDA_NORM_BLOCKS
 * doubles of scratch. Nothing comes back to the host: the step can read
 * scale on the device (rlvr_cuda_adamw_step, rlvr_cuda_scale). */
void rlvr_cuda_grad_norm(double *norm, float *scale, double *partials, const float *grads, size_t n,
                         double max_norm, cudaStream_t s);

/* x (n) *= *scale (a device float). */
void rlvr_cuda_scale(float *x, size_t n, const float *scale, cudaStream_t s);

/* One AdamW step as rlvr_adamw_step (model/optim.h, torch.optim.AdamW) on
 * the layout of tensors (the model's host table: which ranges are 1-D and
 * so undecayed unless cfg->decay_1d): params (master, float32), m, v updated
 * in place; g = grads * (*grad_scale) when grad_scale (device float) is not
 * NULL (the clip factor of rlvr_cuda_grad_norm), else grads. t is the step
 * number after this step (1 for the first). params_bf16, when not NULL,
 * receives the new params rounded to bf16 in the same pass. The elementwise
 * arithmetic is the CPU's operation for operation (no fused multiply-add). */
void rlvr_cuda_adamw_step(float *params, rlvr_bf16 *params_bf16, const float *grads, float *m,
                          float *v, const float *grad_scale, const rlvr_tensor_info *tensors,
                          int num_tensors, const rlvr_adamw_config *cfg, long t, cudaStream_t s);

/* ---- sampling ---- */

/* One token per row of logits (B, V) dt, one thread block per row, with the
 * row's settings params[b] (device copies of rlvr_sampling: temperature,
 * top_k, top_p; validated by the caller with rlvr_sampling_validate) and one
 * uniform u[b] in [0, 1) (device double; draw it on the host with
 * rlvr_rng_double, as the CPU sampler draws exactly one per non-greedy token).
 * tokens (B) int; logprobs (B) float32 or NULL: log softmax(z / T)[token]
 * (T = 1 when greedy), before truncation, as rlvr_sampler_sample reports.
 *
 * Order as the CPU sampler: scale by 1/T, keep the top k, keep the smallest
 * prefix of the sorted rest whose mass reaches top_p (measured after top-k),
 * then invert the CDF of the kept tokens in sorted order at u * kept mass.
 * Sorted means by scaled logit descending, ties by lower token id (the CPU
 * sorts by float probability: the same order except for tokens whose
 * probabilities round to equal floats). Greedy (T == 0): the lowest id of
 * the largest logit. Probabilities enter the truncation and the draw as
 * 2^-40 fixed-point masses (integers, so their sums are exact and
 * order-free); a token with probability below about 2^-41 relative to the
 * most likely one has mass 0 and is never drawn. Logits must be finite or
 * -inf. */
void rlvr_cuda_sample(int *tokens, float *logprobs, const void *logits, int B, int V,
                      const rlvr_sampling *params, const double *u, rlvr_dtype dt, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
