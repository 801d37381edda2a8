/* rmsnorm.cuh — RMSNorm kernels, included by model/cuda/rmsnorm.cu (the
 * library's launchers) and by dev/cuda/rmsnorm.cu (the kernel lab, which
 * runs them at several block sizes next to its other variants).
 *
 * Per row of C, in float32 as Hugging Face computes it:
 *   rstd = 1 / sqrt(mean(x^2) + eps),  y = (x * rstd) * w
 *   dx  += rstd (dy w - xhat mean(dy w xhat)),  xhat = x rstd
 *   dw  += sum over rows of dy xhat
 * Every kernel here works for any block size that is a multiple of 32. */
#ifndef RLVR_CUDA_RMSNORM_CUH
#define RLVR_CUDA_RMSNORM_CUH

#include "model/cuda/cuda_common.h"

/* Rows of the dw partial sums: a chunk of rows per partial, so that the
 * grid has enough blocks whatever C is; chunks are added in order. */
#define RMSNORM_DW_ROWS 128

/* One warp per row: lanes stride over C (coalesced), warp_sum for mean(x^2);
 * the row is read twice (the second time from L1/L2). */
template <typename T>
__global__ void rmsnorm_fwd_kernel2(T *y, float *rstd, const T *x, const T *w, int N, int C, float eps) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (row >= N) return; /* whole warps leave together */
  const T *xr = x + (size_t)row * C;
  T *yr = y + (size_t)row * C;
  float ss = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float v = ldf(xr, c);
    ss += v * v;
  }
  ss = warp_sum(ss);
  const float r = 1.0f / sqrtf(ss / (float)C + eps);
  for (int c = lane; c < C; c += 32) stf(yr, c, (ldf(xr, c) * r) * ldf(w, c));
  if (rstd && lane == 0) rstd[row] = r;
}

/* dx, one warp per row. */
template <typename T>
__global__ void rmsnorm_bwd_kernel2(T *dx, const T *dy, const T *x, const T *w, const float *rstd, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (row >= N) return;
  const T *xr = x + (size_t)row * C, *dyr = dy + (size_t)row * C;
  T *dxr = dx + (size_t)row * C;
  const float r = rstd[row];
  float acc = 0.0f;
  for (int c = lane; c < C; c += 32) acc += ldf(dyr, c) * ldf(w, c) * (ldf(xr, c) * r);
  const float mean = warp_sum(acc) / (float)C;
  for (int c = lane; c < C; c += 32) {
    const float g = r * (ldf(dyr, c) * ldf(w, c) - (ldf(xr, c) * r) * mean);
    stf(dxr, c, ldf(dxr, c) + g);
  }
}

/* dw partials: block (x: channels, y: chunk of RMSNORM_DW_ROWS rows); each
 * thread one channel, rows in order. partial (nchunk, C). */
template <typename T>
__global__ void rmsnorm_dw_bwd_kernel1(float *partial, const T *dy, const T *x, const float *rstd, int N, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
  if (c >= C) return;
  const int n0 = chunk * RMSNORM_DW_ROWS, n1 = min(N, n0 + RMSNORM_DW_ROWS);
  float s = 0.0f;
  for (int n = n0; n < n1; n++) s += ldf(dy, (size_t)n * C + c) * (ldf(x, (size_t)n * C + c) * rstd[n]);
  partial[(size_t)chunk * C + c] = s;
}

/* dw[c] += the chunks' partials, in chunk order. */
__global__ void rmsnorm_dw_finish_kernel1(float *dw, const float *partial, int nchunk, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.0f;
  for (int k = 0; k < nchunk; k++) s += partial[(size_t)k * C + c];
  dw[c] += s;
}

#endif
