/* logsoftmax.cuh — log-softmax over the vocabulary with per-token log-prob
 * and entropy, and its backward; included by model/cuda/logsoftmax.cu and
 * dev/cuda/logsoftmax.cu.
 *
 * Forward, one block per row, ONE pass over the V logits with an online
 * state per thread (no probabilities stored, the row is read once):
 *   m = max of the values seen, S = sum e^(s - m), A = sum e^(s - m) (s - m)
 * Two states merge by rescaling to the larger max M:
 *   S = S1 e^(m1-M) + S2 e^(m2-M)
 *   A = e^(m1-M) (A1 + (m1-M) S1) + e^(m2-M) (A2 + (m2-M) S2)
 * (since e^(s-M)(s-M) = e^(m-M) e^(s-m) ((s-m) + (m-M))). At the end
 *   lse = m + log S,  entropy = -sum p log p = log S - A / S  (A <= 0).
 * A state with S == 0 is empty (no finite value seen yet; -inf logits are
 * masked tokens and contribute nothing). Works for any block size that is a
 * multiple of 32, up to 1024. */
#ifndef RLVR_CUDA_LOGSOFTMAX_CUH
#define RLVR_CUDA_LOGSOFTMAX_CUH

#include "model/cuda/cuda_common.h"

struct lsm_state {
  float m, S, A;
};

static __device__ __forceinline__ lsm_state lsm_merge(lsm_state x, lsm_state y) {
  if (y.S == 0.0f) return x;
  if (x.S == 0.0f) return y;
  const float M = fmaxf(x.m, y.m);
  const float ax = expf(x.m - M), ay = expf(y.m - M);
  lsm_state r;
  r.m = M;
  r.S = x.S * ax + y.S * ay;
  r.A = ax * (x.A + (x.m - M) * x.S) + ay * (y.A + (y.m - M) * y.S);
  return r;
}

/* Adds one value s to the state. */
static __device__ __forceinline__ void lsm_add(lsm_state &st, float s) {
  if (s == -INFINITY) return;
  if (st.S == 0.0f) {
    st.m = s, st.S = 1.0f, st.A = 0.0f;
  } else if (s <= st.m) {
    const float e = expf(s - st.m);
    st.S += e;
    st.A += e * (s - st.m);
  } else {
    const float a = expf(st.m - s);
    st.A = a * (st.A + (st.m - s) * st.S);
    st.S = st.S * a + 1.0f;
    st.m = s;
  }
}

static __device__ __forceinline__ lsm_state lsm_warp_merge(lsm_state st) {
  for (int o = 16; o > 0; o >>= 1) {
    lsm_state other;
    other.m = __shfl_xor_sync(0xffffffffu, st.m, o);
    other.S = __shfl_xor_sync(0xffffffffu, st.S, o);
    other.A = __shfl_xor_sync(0xffffffffu, st.A, o);
    st = lsm_merge(st, other);
  }
  return st;
}

/* z / T as rlvr_logits_temperature computes it (one IEEE division), or z
 * when scale is 0 (T <= 0 or T == 1). */
static __device__ __forceinline__ float lsm_scaled(float z, int scale, float T) {
  return scale ? __fdiv_rn(z, T) : z;
}

/* One block per row (grid-stride over rows). */
template <typename T>
__global__ void logsoftmax_fwd_kernel2(float *lse, float *entropy, float *logprob, const T *logits,
                                       const int *targets, int N, int V, float temperature) {
  __shared__ lsm_state warp_states[32];
  const int scale = temperature > 0.0f && temperature != 1.0f;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;
  for (int row = blockIdx.x; row < N; row += gridDim.x) {
    const T *z = logits + (size_t)row * V;
    lsm_state st = {-INFINITY, 0.0f, 0.0f};
    for (int j = threadIdx.x; j < V; j += blockDim.x) lsm_add(st, lsm_scaled(ldf(z, j), scale, temperature));
    st = lsm_warp_merge(st);
    __syncthreads(); /* the previous row's readers of warp_states are done */
    if (lane == 0) warp_states[warp] = st;
    __syncthreads();
    if (warp == 0) {
      lsm_state r = lane < nwarp ? warp_states[lane] : lsm_state{-INFINITY, 0.0f, 0.0f};
      r = lsm_warp_merge(r);
      if (lane == 0) {
        const float logS = logf(r.S), l = r.m + logS;
        if (lse) lse[row] = l;
        if (entropy) entropy[row] = logS - r.A / r.S;
        if (logprob) {
          const int t = targets[row];
          logprob[row] = t >= 0 ? lsm_scaled(ldf(z, t), scale, temperature) - l : 0.0f;
        }
      }
    }
  }
}

/* dz_j = (w ([j == t] - p_j) - u p_j (lp_j + H)) / T with lp_j = s_j - lse,
 * p_j = e^lp_j: the CPU's rlvr_logsoftmax_row_backward at s = z / T, then
 * divided by T. Element per thread, grid-stride over N*V; dz may be z. */
template <typename T>
__global__ void logsoftmax_bwd_kernel1(T *dz, const T *z, const float *lse, const float *entropy, const int *targets,
                                       const float *w, const float *u, int N, int V, float temperature) {
  const int scale = temperature > 0.0f && temperature != 1.0f;
  const size_t total = (size_t)N * V;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const int row = (int)(i / V), j = (int)(i % V);
    const int t = targets[row];
    const float wi = t >= 0 ? w[row] : 0.0f, ui = u ? u[row] : 0.0f;
    const float lp = lsm_scaled(ldf(z, i), scale, temperature) - lse[row];
    const float p = expf(lp);
    float g = -wi * p - ui * p * (lp + entropy[row]);
    if (j == t) g += wi;
    stf(dz, i, lsm_scaled(g, scale, temperature));
  }
}

#endif
