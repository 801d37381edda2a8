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

#include "model/cuda/cuda_common.h"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

#define ATT_DPL 8 /* dimensions per lane: D <= 32 * 8 */
enum { ATT_BLOCK = 128 };

template <typename T>
static __device__ __forceinline__ void load_lanes(float *r, const T *x, int D, int lane) {
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    r[e] = d < D ? ldf(x, d) : 0.0f;
  }
}

template <typename T>
static __device__ __forceinline__ float dot_lanes(const float *r, const T *x, int D, int lane) {
  float s = 0.0f;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) s += r[e] * ldf(x, d);
  }
  return warp_sum(s);
}

template <typename T>
__global__ void __launch_bounds__(ATT_BLOCK) attention_fwd_kernel1(T *out, float *lse, const T *q, const T *k,
                                                                   const T *v, const int *row_seq, const int *off,
                                                                   int N, int H, int KVH, int D, float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return;
  const int i = w / H, h = w % H, g = h / (H / KVH);
  const int r0 = off[row_seq[i]], p = i - r0;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  float qr[ATT_DPL], acc[ATT_DPL];
  load_lanes(qr, q + i * HD + (size_t)h * D, D, lane);
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int j = 0; j <= p; j++) {
    const size_t kv = (size_t)(r0 + j) * KD + (size_t)g * D;
    const float s = dot_lanes(qr, k + kv, D, lane) * scale;
    const float mn = fmaxf(m, s);
    const float corr = expf(m - mn), pj = expf(s - mn); /* corr = 0 at the first key */
    l = l * corr + pj;
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] = acc[e] * corr + pj * ldf(v + kv, d);
    }
    m = mn;
  }
  T *o = out + i * HD + (size_t)h * D;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(o, d, acc[e] / l);
  }
  if (lane == 0) lse[(size_t)i * H + h] = m + logf(l);
}

template <typename T>
__global__ void __launch_bounds__(ATT_BLOCK) attention_dq_bwd_kernel1(T *dq, float *delta, const T *dout, const T *q,
                                                                      const T *k, const T *v, const T *out,
                                                                      const float *lse, const int *row_seq,
                                                                      const int *off, int N, int H, int KVH, int D,
                                                                      float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return;
  const int i = w / H, h = w % H, g = h / (H / KVH);
  const int r0 = off[row_seq[i]], p = i - r0;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D, qo = i * HD + (size_t)h * D;
  float qr[ATT_DPL], dor[ATT_DPL], acc[ATT_DPL];
  load_lanes(qr, q + qo, D, lane);
  load_lanes(dor, dout + qo, D, lane);
  const float dl = dot_lanes(dor, out + qo, D, lane);
  const float li = lse[(size_t)i * H + h];
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  for (int j = 0; j <= p; j++) {
    const size_t kv = (size_t)(r0 + j) * KD + (size_t)g * D;
    const float P = expf(dot_lanes(qr, k + kv, D, lane) * scale - li);
    const float dS = P * (dot_lanes(dor, v + kv, D, lane) - dl) * scale;
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] += dS * ldf(k + kv, d);
    }
  }
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(dq + qo, d, acc[e]);
  }
  if (lane == 0) delta[(size_t)i * H + h] = dl;
}

template <typename T>
__global__ void __launch_bounds__(ATT_BLOCK) attention_dkv_bwd_kernel1(T *dk, T *dv, const T *dout, const T *q,
                                                                       const T *k, const T *v, const float *lse,
                                                                       const float *delta, const int *row_seq,
                                                                       const int *off, const int *len, int N, int H,
                                                                       int KVH, int D, float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * KVH) return;
  const int j = w / KVH, g = w % KVH, G = H / KVH;
  const int b = row_seq[j], r0 = off[b], r1 = r0 + len[b];
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D, kvo = (size_t)j * KD + (size_t)g * D;
  float kr[ATT_DPL], vr[ATT_DPL], dka[ATT_DPL], dva[ATT_DPL];
  load_lanes(kr, k + kvo, D, lane);
  load_lanes(vr, v + kvo, D, lane);
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) dka[e] = dva[e] = 0.0f;
  for (int h = g * G; h < (g + 1) * G; h++) {
    for (int i = j; i < r1; i++) {
      const size_t qo = (size_t)i * HD + (size_t)h * D;
      const float P = expf(dot_lanes(kr, q + qo, D, lane) * scale - lse[(size_t)i * H + h]);
      const float dS = P * (dot_lanes(vr, dout + qo, D, lane) - delta[(size_t)i * H + h]) * scale;
#pragma unroll
      for (int e = 0; e < ATT_DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) {
          dva[e] += P * ldf(dout + qo, d);
          dka[e] += dS * ldf(q + qo, d);
        }
      }
    }
  }
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) {
      stf(dk + kvo, d, dka[e]);
      stf(dv + kvo, d, dva[e]);
    }
  }
}

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
