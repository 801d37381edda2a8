/* attention.cu — causal attention with GQA over packed sequences, forward
 * and backward, for training; see ops.h. Status: compiled, not yet run on a
 * GPU.
 *
 * The straightforward version: one warp per (query row, head) in the
 * forward, lanes holding dimensions d = lane, lane + 32, ... (D <= 256), the
 * keys walked one at a time with an online softmax (running max m, sum l,
 * output accumulator rescaled when m grows), so no score matrix is stored;
 * each score is a warp reduction. O(T^2 D) work per sequence and head with
 * no tiling through shared memory: correct first, a flash-style tiled
 * version belongs in the kernel lab (dev/cuda/) and replaces this one under
 * its own number when it wins.
 *
 * The backward recomputes probabilities from the forward's lse (as the CPU):
 *   P_ij = e^(s_ij - lse_i), s_ij = (q_i . k_j) / sqrt(D), j <= i,
 *   dP_ij = do_i . v_j,  delta_i = do_i . o_i,
 *   dS_ij = P_ij (dP_ij - delta_i) / sqrt(D),
 *   dq_i = sum_j dS_ij k_j,  dk_j = sum_i dS_ij q_i,  dv_j = sum_i P_ij do_i.
 * Kernel dq (warp per query row and head) also writes delta; kernel dkv (warp
 * per key row and kv head) loops over the heads of its group and the later
 * query rows of its sequence, so every output has exactly one writer: no
 * atomics, deterministic. */
#include <math.h>

#include "model/cuda/attention.cuh"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

enum { ATT_BLOCK = 128 };

static float att_scale(int D) { return (float)(1.0 / sqrt((double)D)); } /* as kernels.c */

extern "C" void rlvr_cuda_attention_forward(void *out, float *lse, const void *q, const void *k, const void *v,
                                            const int *row_seq, const int *off, int N, int H, int KVH, int D,
                                            rlvr_dtype dt, cudaStream_t s) {
  if (N <= 0) return;
  RLVR_CHECK(D <= 32 * ATT_DPL && H % KVH == 0, "attention D %d H %d KVH %d", D, H, KVH);
  const int warps = ATT_BLOCK / 32, grid = CEIL_DIV(N * H, warps);
  RLVR_DISPATCH_DTYPE(dt, T,
                      attention_fwd_kernel1<T><<<grid, ATT_BLOCK, 0, s>>>((T *)out, lse, (const T *)q, (const T *)k,
                                                                          (const T *)v, row_seq, off, N, H, KVH, D,
                                                                          att_scale(D)));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_attention_backward(void *dq, void *dk, void *dv, float *delta, const void *dout,
                                             const void *q, const void *k, const void *v, const void *out,
                                             const float *lse, const int *row_seq, const int *off, const int *len,
                                             int N, int H, int KVH, int D, rlvr_dtype dt, cudaStream_t s) {
  if (N <= 0) return;
  RLVR_CHECK(D <= 32 * ATT_DPL && H % KVH == 0, "attention D %d H %d KVH %d", D, H, KVH);
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
