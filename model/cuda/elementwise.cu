/* elementwise.cu — RoPE, SwiGLU and the residual add; see ops.h.
 * Status: compiled, not yet run on a GPU.
 *
 * One thread per output element (RoPE: per rotated pair), grid-stride so
 * that any n fits the grid. RoPE uses explicitly rounded multiplies and
 * adds (__fmul_rn / __fadd_rn: no fused multiply-add) so that in float32 it
 * performs the CPU's exact operations (kernels.c is built with
 * -ffp-contract=off) on the same table, and gives the CPU's bits. */
#include "model/cuda/cuda_common.h"
#include "model/cuda/ops.h"

static unsigned grid_for(size_t n, int block) {
  size_t b = CEIL_DIV(n, (size_t)block);
  if (b > 65536) b = 65536;
  return (unsigned)(b ? b : 1);
}

/* ---- RoPE ---- */

/* (a, b) = (x[d], x[d + D/2]) of head h of row n becomes
 * forward:  (a cos - b sin, b cos + a sin)
 * backward: (a cos + b sin, b cos - a sin)   (the transposed rotation) */
template <typename T, bool INVERSE>
static __device__ __forceinline__ void rope_pair(T *x, size_t idx, int ld, int n_heads, int D, const int *pos,
                                                 const float *cos_t, const float *sin_t) {
  const int half = D / 2;
  const size_t per_row = (size_t)n_heads * half;
  const size_t n = idx / per_row;
  const int rem = (int)(idx % per_row), h = rem / half, d = rem % half;
  T *x1 = x + n * (size_t)ld + (size_t)h * D + d, *x2 = x1 + half;
  const size_t t = (size_t)pos[n] * half + d;
  const float c = cos_t[t], s = sin_t[t];
  const float a = ldf(x1, 0), b = ldf(x2, 0);
  if (!INVERSE) {
    stf(x1, 0, __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s)));
    stf(x2, 0, __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s)));
  } else {
    stf(x1, 0, __fadd_rn(__fmul_rn(a, c), __fmul_rn(b, s)));
    stf(x2, 0, __fsub_rn(__fmul_rn(b, c), __fmul_rn(a, s)));
  }
}

template <typename T>
__global__ void rope_fwd_kernel1(T *x, size_t total, int ld, int n_heads, int D, const int *pos, const float *cos_t,
                                 const float *sin_t) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
    rope_pair<T, false>(x, i, ld, n_heads, D, pos, cos_t, sin_t);
}

template <typename T>
__global__ void rope_bwd_kernel1(T *x, size_t total, int ld, int n_heads, int D, const int *pos, const float *cos_t,
                                 const float *sin_t) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
    rope_pair<T, true>(x, i, ld, n_heads, D, pos, cos_t, sin_t);
}

extern "C" void rlvr_cuda_rope_forward(void *x, int N, int ld, int n_heads, int D, const int *pos,
                                       const float *cos_t, const float *sin_t, rlvr_dtype dt, cudaStream_t s) {
  const size_t total = (size_t)N * n_heads * (D / 2);
  if (total == 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      rope_fwd_kernel1<T><<<grid_for(total, 256), 256, 0, s>>>((T *)x, total, ld, n_heads, D, pos,
                                                                                cos_t, sin_t));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_rope_backward(void *dx, int N, int ld, int n_heads, int D, const int *pos,
                                        const float *cos_t, const float *sin_t, rlvr_dtype dt, cudaStream_t s) {
  const size_t total = (size_t)N * n_heads * (D / 2);
  if (total == 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      rope_bwd_kernel1<T><<<grid_for(total, 256), 256, 0, s>>>((T *)dx, total, ld, n_heads, D, pos,
                                                                                cos_t, sin_t));
  CUDA_CHECK(cudaGetLastError());
}

/* ---- SwiGLU ---- */

template <typename T>
__global__ void swiglu_fwd_kernel1(T *act, const T *gate, const T *up, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float g = ldf(gate, i);
    stf(act, i, (g / (1.0f + expf(-g))) * ldf(up, i));
  }
}

/* s = sigmoid(g): dgate = dact up s (1 + g (1 - s)), dup = dact g s. */
template <typename T>
__global__ void swiglu_bwd_kernel1(T *dgate, T *dup, const T *dact, const T *gate, const T *up, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float g = ldf(gate, i), da = ldf(dact, i);
    const float sg = 1.0f / (1.0f + expf(-g));
    stf(dgate, i, da * ldf(up, i) * (sg * (1.0f + g * (1.0f - sg))));
    stf(dup, i, da * (g * sg));
  }
}

extern "C" void rlvr_cuda_swiglu_forward(void *act, const void *gate, const void *up, size_t n, rlvr_dtype dt,
                                         cudaStream_t s) {
  if (n == 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      swiglu_fwd_kernel1<T><<<grid_for(n, 256), 256, 0, s>>>((T *)act, (const T *)gate,
                                                                              (const T *)up, n));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_swiglu_backward(void *dgate, void *dup, const void *dact, const void *gate, const void *up,
                                          size_t n, rlvr_dtype dt, cudaStream_t s) {
  if (n == 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      swiglu_bwd_kernel1<T><<<grid_for(n, 256), 256, 0, s>>>(
                          (T *)dgate, (T *)dup, (const T *)dact, (const T *)gate, (const T *)up, n));
  CUDA_CHECK(cudaGetLastError());
}

/* ---- residual ---- */

template <typename T>
__global__ void residual_fwd_kernel1(T *out, const T *a, const T *b, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    stf(out, i, ldf(a, i) + ldf(b, i));
}

extern "C" void rlvr_cuda_residual_forward(void *out, const void *a, const void *b, size_t n, rlvr_dtype dt,
                                           cudaStream_t s) {
  if (n == 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      residual_fwd_kernel1<T><<<grid_for(n, 256), 256, 0, s>>>((T *)out, (const T *)a,
                                                                                (const T *)b, n));
  CUDA_CHECK(cudaGetLastError());
}
