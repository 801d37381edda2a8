/* attention.cuh — attention kernels, included by model/cuda/attention.cu
 * (launchers; the math is in its opening comment) and dev/cuda/attention.cu
 * (the lab: every block size against the CPU). Any block size that is a
 * multiple of 32 works: one warp per (row, head). */
#ifndef RLVR_CUDA_ATTENTION_CUH
#define RLVR_CUDA_ATTENTION_CUH

#include "model/cuda/cuda_common.h"

#define ATT_DPL 8 /* dimensions per lane: D <= 32 * 8 */

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
__global__ void attention_fwd_kernel1(T *out, float *lse, const T *q, const T *k,
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
__global__ void attention_dq_bwd_kernel1(T *dq, float *delta, const T *dout, const T *q,
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
__global__ void attention_dkv_bwd_kernel1(T *dk, T *dv, const T *dout, const T *q,
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

#endif
