/* attention.cu — causal attention with GQA over packed sequences, forward
 * and backward, for training, and decode attention over the paged KV
 * cache; see ops.h. The kernels are in attention.cuh. Status: compiled, not
 * yet run on a GPU (kernel2 checked on the CPU emulation, docs/cuda.md).
 *
 * Forward (per query row i and head h, keys j of i's sequence with j <= i):
 *   s_ij = (q_i . k_j) / sqrt(D), lse_i = log sum_j e^(s_ij),
 *   o_i = sum_j e^(s_ij - lse_i) v_j,
 * by an online softmax (running max m, sum l, output rescaled when m
 * grows), so no score matrix is stored.
 *
 * The backward recomputes probabilities from the forward's lse (as the CPU):
 *   P_ij = e^(s_ij - lse_i), dP_ij = do_i . v_j,  delta_i = do_i . o_i,
 *   dS_ij = P_ij (dP_ij - delta_i) / sqrt(D),
 *   dq_i = sum_j dS_ij k_j,  dk_j = sum_i dS_ij q_i,  dv_j = sum_i P_ij do_i.
 *
 * The launchers use kernel2 (flash-style: query and key tiles in shared
 * memory, attention.cuh): forward attention_fwd_kernel2; backward
 * attention_dq_bwd_kernel2 (delta first, then dq per query tile) followed
 * by attention_dkv_bwd_kernel2 (dk, dv per key tile over the query tiles
 * that see it). Every output has one writer: no atomics, deterministic.
 * The *_kernel1 launchers keep the reference-grade kernels (one warp per
 * row and head) for the tests and the lab to compare with.
 *
 * Decode: paged_attention_kernel2 splits a long context into pieces
 * (flash-decoding: one block per split, partial softmax records in the
 * caller's scratch) and paged_attention_combine_kernel2 merges them. */
#include <math.h>

#include "model/cuda/attention.cuh"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

/* Launch shapes (untuned until a GPU has run the lab): kernel1 warps per
 * block; kernel2 threads per block and query slots (keys for dk/dv) per warp. */
enum {
  ATT_BLOCK = 128,
  ATT_FWD_BLOCK = 128,
  ATT_FWD_R = 4,
  ATT_DQ_BLOCK = 128,
  ATT_DQ_R = 4,
  ATT_DKV_BLOCK = 128,
  ATT_DKV_RK = 4,
  PAGED_BLOCK = 128,
  PAGED_R = 2,
  PAGED_COMBINE_BLOCK = 128
};

static float att_scale(int D) { return (float)(1.0 / sqrt((double)D)); } /* as kernels.c */

static void att_check(int N, int H, int KVH, int D) {
  RLVR_CHECK(N >= 0 && D >= 1 && D <= 32 * ATT_DPL && KVH >= 1 && H % KVH == 0, "attention N %d D %d H %d KVH %d",
             N, D, H, KVH);
  RLVR_CHECK((long long)N * H * D < (1LL << 40), "attention: %d rows of %d x %d", N, H, D);
}

extern "C" void rlvr_cuda_attention_forward(void *out, float *lse, const void *q, const void *k, const void *v,
                                            const int *row_seq, const int *off, int N, int H, int KVH, int D,
                                            rlvr_dtype dt, cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  const int G = H / KVH, nw = ATT_FWD_BLOCK / 32;
  const dim3 grid((unsigned)CEIL_DIV((long long)N * G, (long long)nw * ATT_FWD_R), (unsigned)KVH);
  const size_t smem = att_fwd2_smem(nw, ATT_FWD_R, D);
  RLVR_DISPATCH_DTYPE(dt, T, ATT_DISPATCH_DPL(D, DPL, {
                        auto *kern = attention_fwd_kernel2<T, ATT_FWD_R, DPL>;
                        RLVR_CHECK(att_smem_fits(kern, smem), "attention forward: %zu bytes of shared memory", smem);
                        kern<<<grid, ATT_FWD_BLOCK, smem, s>>>((T *)out, lse, (const T *)q, (const T *)k,
                                                               (const T *)v, row_seq, off, N, H, KVH, D, att_scale(D));
                      }));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_attention_backward(void *dq, void *dk, void *dv, float *delta, const void *dout,
                                             const void *q, const void *k, const void *v, const void *out,
                                             const float *lse, const int *row_seq, const int *off, const int *len,
                                             int N, int H, int KVH, int D, rlvr_dtype dt, cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  const int G = H / KVH, nwq = ATT_DQ_BLOCK / 32, nwk = ATT_DKV_BLOCK / 32;
  const dim3 gq((unsigned)CEIL_DIV((long long)N * G, (long long)nwq * ATT_DQ_R), (unsigned)KVH);
  const dim3 gk((unsigned)CEIL_DIV(N, nwk * ATT_DKV_RK), (unsigned)KVH);
  const size_t sq = att_dq2_smem(nwq, ATT_DQ_R, D), sk = att_dkv2_smem(nwk, ATT_DKV_RK, D);
  RLVR_DISPATCH_DTYPE(dt, T, ATT_DISPATCH_DPL(D, DPL, {
                        auto *kq = attention_dq_bwd_kernel2<T, ATT_DQ_R, DPL>;
                        auto *kk = attention_dkv_bwd_kernel2<T, ATT_DKV_RK, DPL>;
                        RLVR_CHECK(att_smem_fits(kq, sq) && att_smem_fits(kk, sk),
                                   "attention backward: %zu / %zu bytes of shared memory", sq, sk);
                        kq<<<gq, ATT_DQ_BLOCK, sq, s>>>((T *)dq, delta, (const T *)dout, (const T *)q, (const T *)k,
                                                        (const T *)v, (const T *)out, lse, row_seq, off, N, H, KVH,
                                                        D, att_scale(D));
                        CUDA_CHECK(cudaGetLastError());
                        kk<<<gk, ATT_DKV_BLOCK, sk, s>>>((T *)dk, (T *)dv, (const T *)dout, (const T *)q,
                                                         (const T *)k, (const T *)v, lse, delta, row_seq, off, len, N,
                                                         H, KVH, D, att_scale(D));
                      }));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_attention_forward_kernel1(void *out, float *lse, const void *q, const void *k,
                                                    const void *v, const int *row_seq, const int *off, int N, int H,
                                                    int KVH, int D, rlvr_dtype dt, cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  const int warps = ATT_BLOCK / 32, grid = CEIL_DIV(N * H, warps);
  RLVR_DISPATCH_DTYPE(dt, T,
                      attention_fwd_kernel1<T><<<grid, ATT_BLOCK, 0, s>>>((T *)out, lse, (const T *)q, (const T *)k,
                                                                          (const T *)v, row_seq, off, N, H, KVH, D,
                                                                          att_scale(D)));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_attention_backward_kernel1(void *dq, void *dk, void *dv, float *delta, const void *dout,
                                                     const void *q, const void *k, const void *v, const void *out,
                                                     const float *lse, const int *row_seq, const int *off,
                                                     const int *len, int N, int H, int KVH, int D, rlvr_dtype dt,
                                                     cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  const int warps = ATT_BLOCK / 32;
  RLVR_DISPATCH_DTYPE(dt, T, {
    attention_dq_bwd_kernel1<T><<<CEIL_DIV(N * H, warps), ATT_BLOCK, 0, s>>>(
        (T *)dq, delta, (const T *)dout, (const T *)q, (const T *)k, (const T *)v, (const T *)out, lse, row_seq, off,
        N, H, KVH, D, att_scale(D));
    CUDA_CHECK(cudaGetLastError());
    attention_dkv_bwd_kernel1<T><<<CEIL_DIV(N * KVH, warps), ATT_BLOCK, 0, s>>>(
        (T *)dk, (T *)dv, (const T *)dout, (const T *)q, (const T *)k, (const T *)v, lse, delta, row_seq, off, len,
        N, H, KVH, D, att_scale(D));
    CUDA_CHECK(cudaGetLastError());
  });
}

/* ---- decode over the paged cache ---- */

extern "C" size_t rlvr_cuda_paged_attention_scratch(int rows, int H, int D, int max_len) {
  return (size_t)rows * H * paged_max_splits(max_len) * (size_t)(D + 2);
}

extern "C" void rlvr_cuda_paged_attention(void *out, float *scratch, int scratch_rows, const void *q, const void *kc,
                                          const void *vc, const int *row_seq, const int *row_pos, const int *table,
                                          int max_blocks, int block_size, int N, int H, int KVH, int D, int max_len,
                                          int max_ctx, rlvr_dtype dt, cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  RLVR_CHECK(max_ctx >= 1 && max_ctx <= max_len && block_size >= 1 && max_blocks >= 1,
             "paged attention: max_ctx %d max_len %d block_size %d max_blocks %d", max_ctx, max_len, block_size,
             max_blocks);
  const int part_splits = paged_max_splits(max_len), zs = paged_max_splits(max_ctx);
  RLVR_CHECK(zs == 1 || (scratch && scratch_rows >= 1), "paged attention: %d splits need scratch", zs);
  const int G = H / KVH, nw = PAGED_BLOCK / 32, nch = CEIL_DIV(G, nw * PAGED_R);
  const size_t HD = (size_t)H * D, es = rlvr_dtype_size(dt);
  const size_t smem = att_fwd2_smem(nw, PAGED_R, D);
  const int batch = zs == 1 ? N : scratch_rows; /* rows per launch: the scratch holds scratch_rows */
  for (int r0 = 0; r0 < N; r0 += batch) {
    const int n = N - r0 < batch ? N - r0 : batch;
    char *o = (char *)out + (size_t)r0 * HD * es;
    const char *qq = (const char *)q + (size_t)r0 * HD * es;
    const dim3 grid((unsigned)n, (unsigned)(KVH * nch), (unsigned)zs);
    RLVR_DISPATCH_DTYPE(dt, T, ATT_DISPATCH_DPL(D, DPL, {
                          auto *kern = paged_attention_kernel2<T, PAGED_R, DPL>;
                          RLVR_CHECK(att_smem_fits(kern, smem), "paged attention: %zu bytes of shared memory", smem);
                          kern<<<grid, PAGED_BLOCK, smem, s>>>((T *)o, scratch, (const T *)qq, (const T *)kc,
                                                               (const T *)vc, row_seq + r0, row_pos + r0, table,
                                                               max_blocks, block_size, H, KVH, D, part_splits,
                                                               att_scale(D));
                        }));
    CUDA_CHECK(cudaGetLastError());
    if (zs > 1) {
      const int warps = PAGED_COMBINE_BLOCK / 32;
      RLVR_DISPATCH_DTYPE(dt, T,
                          paged_attention_combine_kernel2<T><<<CEIL_DIV(n * H, warps), PAGED_COMBINE_BLOCK, 0, s>>>(
                              (T *)o, scratch, row_pos + r0, n, H, D, part_splits));
      CUDA_CHECK(cudaGetLastError());
    }
  }
}

extern "C" void rlvr_cuda_paged_attention_kernel1(void *out, const void *q, const void *kc, const void *vc,
                                                  const int *row_seq, const int *row_pos, const int *table,
                                                  int max_blocks, int block_size, int N, int H, int KVH, int D,
                                                  rlvr_dtype dt, cudaStream_t s) {
  att_check(N, H, KVH, D);
  if (N <= 0) return;
  const int warps = ATT_BLOCK / 32;
  RLVR_DISPATCH_DTYPE(dt, T,
                      paged_attention_kernel1<T><<<CEIL_DIV(N * H, warps), ATT_BLOCK, 0, s>>>(
                          (T *)out, (const T *)q, (const T *)kc, (const T *)vc, row_seq, row_pos, table, max_blocks,
                          block_size, N, H, KVH, D, att_scale(D)));
  CUDA_CHECK(cudaGetLastError());
}
