/* kernels.h — the CPU operations of the policy model, forward and backward.
 *
 * Everything works on rows: a row is one token's vector, rows are contiguous
 * ((N, C) row-major), and N is whatever the caller has (all tokens of a
 * training batch, or one new token per sequence in decode). The forward
 * kernels compute each output row with a sequence of float operations that
 * depends only on that row's inputs and on the sizes of the model, never on
 * N, on the row's place in the batch, on its memory alignment or on the
 * number of threads. That is what makes the decode's log-probabilities equal
 * the training forward's bit for bit (docs/model.md, "Exactness"):
 *   - rlvr_linear_forward: each output is one fused-multiply-add chain over
 *     k = 0 .. K-1 in order, starting from 0, then + bias (see kernels.c);
 *   - row reductions (RMSNorm, softmax sums, dot products) use 16 partial
 *     sums (element i goes to partial i % 16) combined by one fixed tree;
 *   - exp is our own polynomial (rlvr_expf), identical vectorised or not;
 *   - the file is compiled with -ffp-contract=off, so the compiler fuses no
 *     multiply-add that the source does not write as one.
 * The backward kernels have no such constraint (nothing has to match them
 * bit for bit) but are deterministic too: fixed partitions, no atomics.
 *
 * Shapes use model.h's letters; every function is OpenMP-parallel inside and
 * must be called from outside a parallel region. None allocates memory. */
#ifndef RLVR_KERNELS_H
#define RLVR_KERNELS_H

#include <stddef.h>

/* ---- linear layers: PyTorch's y = x W^T + b with W (out, in) ---- */

/* Floats of scratch rlvr_linear_forward needs for M rows of K inputs. */
size_t rlvr_linear_scratch(int M, int K);

/* Y (M, N) = X (M, K) · W^T + bias; W (N, K); bias (N) or NULL.
 * scratch: rlvr_linear_scratch(M, K) floats (X is transposed into it). */
void rlvr_linear_forward(float *Y, const float *X, const float *W, const float *bias, int M, int N,
                         int K, float *scratch);

/* The same in two steps, for products that share their input (q, k, v;
 * gate, up): pack X once, then multiply by each weight. */
void rlvr_linear_pack(float *scratch, const float *X, int M, int K);
void rlvr_linear_forward_packed(float *Y, const float *packed, const float *W, const float *bias,
                                int M, int N, int K);

/* dX (M, K) = dY (M, N) · W (N, K), or += when accumulate. */
void rlvr_linear_backward_x(float *dX, const float *dY, const float *W, int M, int N, int K,
                            int accumulate);

/* dW (N, K) += dY^T · X with dY (M, N), X (M, K); db (N) += sum over rows of
 * dY when db is not NULL. */
void rlvr_linear_backward_w(float *dW, float *db, const float *dY, const float *X, int M, int N,
                            int K);

/* ---- elementwise and per-row operations ---- */

/* e^x to about 1 ulp for x in [-87, 88]; clamped outside (e^-87 ~ 1.6e-38
 * stands in for 0, never NaN). Same bits whether or not the compiler
 * vectorises the loop it sits in. */
float rlvr_expf(float x);

/* Sum of n floats in the fixed 16-partial order (exported for tests). */
float rlvr_sum_fixed(const float *x, int n);

/* RMSNorm as Hugging Face computes it in float32, per row of N rows of C:
 *   rstd = 1 / sqrt(mean(x^2) + eps),  y = (x * rstd) * w.
 * rstd (N) may be NULL. y may not alias x. */
void rlvr_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int C,
                          float eps);

/* Backward of rmsnorm_forward: dx (N, C) += d/dx, dw (C) += d/dw, from dy,
 * the input x and its rstd. */
void rlvr_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const float *rstd, int N, int C);

/* The RoPE table: cos and sin (max_pos, D/2) of pos * inv_freq[d] with
 * inv_freq[d] = 1 / theta^(2d/D), in float32 as transformers computes it. */
void rlvr_rope_table(float *cos_t, float *sin_t, int max_pos, int D, double theta);

/* Rotates n_heads heads of D in each of N rows (row stride ld floats) by
 * their positions pos (N), Hugging Face's rotate_half convention (dimension d
 * pairs with d + D/2). inverse = 1 rotates back (the backward). In place. */
void rlvr_rope_apply(float *x, int N, int ld, int n_heads, int D, const int *pos,
                     const float *cos_t, const float *sin_t, int inverse);

/* act (N, F) = silu(gate) * up, silu(g) = g / (1 + e^-g). */
void rlvr_swiglu_forward(float *act, const float *gate, const float *up, size_t n);

/* dgate, dup (overwritten) from dact, gate, up. */
void rlvr_swiglu_backward(float *dgate, float *dup, const float *dact, const float *gate,
                          const float *up, size_t n);

/* The log-sum-exp and the entropy of softmax(z) for one row of V logits:
 *   m = max z, S = sum e^(z-m), lse = m + log S,
 *   entropy = -sum p log p = log S - sum e^(z-m) (z-m) / S.
 * scratch: V floats. Either output may be NULL. */
void rlvr_logsoftmax_row(const float *z, int V, float *lse, float *entropy, float *scratch);

/* d(w * logprob[target] + u * entropy)/dz for one row, written over z:
 *   dlogprob/dz_j = [j == target] - p_j,
 *   dentropy/dz_j = -p_j (log p_j + entropy),  p_j = e^(z_j - lse).
 * target < 0 means no log-prob term. */
void rlvr_logsoftmax_row_backward(float *z, int V, float lse, float entropy, int target, float w,
                                  float u);

/* ---- attention ---- */

/* Where the keys and values of a query row live. A store has ld columns,
 * one per (sequence, position) it can hold; a sequence occupies consecutive
 * columns from its first one. Keys are stored transposed, so that a query's
 * scores against many keys are one matrix product: */
typedef struct {
  const float *kt; /* (KVH*D, ld): key of column c, kv head g, dim d at kt[(g*D + d)*ld + c] */
  const float *k;  /* or, when kt is NULL, (ld, KVH*D) key rows, transposed 32 at a time as
                      attention reads them (the same products, the same bits) */
  const float *v;  /* (ld, KVH*D): value rows */
  size_t ld;
  int kv_dim; /* KVH * D */
} rlvr_kv_view;

/* Floats of scratch one thread needs in rlvr_attention_forward/backward for
 * positions up to max_pos and head dimension D. */
size_t rlvr_attention_scratch(int max_pos, int D);

/* Causal attention for N query rows: row i (H*D floats of q, already
 * RoPE-rotated) at position pos[i] of a sequence whose first column in the
 * stores is seq_col[i] attends to positions 0..pos[i]; query head h reads kv
 * head h / (H / KVH). out (N, H*D); lse (N, H) gets each head's log-sum-exp
 * of its scaled scores (NULL to skip). scale = 1/sqrt(D).
 * scratch: omp_get_max_threads() * rlvr_attention_scratch(max_pos, D) floats. */
void rlvr_attention_forward(float *out, float *lse, const float *q, const rlvr_kv_view *kv, int N,
                            const int *pos, const size_t *seq_col, int H, int KVH, int D,
                            int max_pos, float *scratch);

/* The backward of rlvr_attention_forward for B packed sequences: sequence b
 * has len[b] rows from row off[b] of q, k, out, dout (rows), lse (N, H),
 * and columns off[b].. of the transposed stores kt, vt (KVH*D, ld), with
 * positions 0..len[b]-1. dq (N, H*D), dk and dv (N, KVH*D) are overwritten.
 * scratch as for the forward, with max_pos = max_len. */
void rlvr_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                             const float *k, const float *kt, const float *vt, size_t ld,
                             const float *out, const float *lse, int B, const int *off,
                             const int *len, int H, int KVH, int D, int max_len, float *scratch);

#endif
