/* cuda_common.h — device plumbing shared by every CUDA file in model/cuda/.
 *
 * CUDA_CHECK aborts with the call, file, line and CUDA's message: a CUDA
 * error is a bug or a broken machine, never an input error. Every launcher
 * calls CUDA_CHECK(cudaGetLastError()) after its kernel.
 *
 * In .cu files (under __CUDACC__) this header also gives the device helpers
 * every kernel uses:
 *   - ldf / stf: load a float from, and store a float to, a float or bf16
 *     tensor; all arithmetic is float32 (fp32 accumulation), bf16 is a
 *     storage format only, rounded to nearest even on store;
 *   - warp and block reductions over float and double with a fixed shape
 *     (butterfly within a warp, then warp results in order), so that a
 *     kernel's result depends only on its inputs and its block size, never
 *     on timing: no floating-point atomics anywhere in model/cuda/. */
#ifndef RLVR_CUDA_COMMON_H
#define RLVR_CUDA_COMMON_H

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CUDA_CHECK(call)                                                                           \
  do {                                                                                             \
    cudaError_t err_ = (call);                                                                     \
    if (err_ != cudaSuccess) {                                                                     \
      fprintf(stderr, "rlvr: CUDA error: %s\n  in %s\n  at %s:%d\n", cudaGetErrorString(err_),     \
              #call, __FILE__, __LINE__);                                                          \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

#ifdef __CUDACC__
#include <cuda_bf16.h>

/* cuBLAS(Lt) calls: a failure is a bug (bad sizes) or a broken machine. */
#define CUBLAS_CHECK(call)                                                                         \
  do {                                                                                             \
    int st_ = (int)(call);                                                                         \
    if (st_ != 0) {                                                                                \
      fprintf(stderr, "rlvr: cuBLAS error %d\n  in %s\n  at %s:%d\n", st_, #call, __FILE__,        \
              __LINE__);                                                                           \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

typedef __nv_bfloat16 bf16;

static __device__ __forceinline__ float ldf(const float *p, size_t i) { return p[i]; }
static __device__ __forceinline__ float ldf(const bf16 *p, size_t i) { return __bfloat162float(p[i]); }
static __device__ __forceinline__ void stf(float *p, size_t i, float v) { p[i] = v; }
static __device__ __forceinline__ void stf(bf16 *p, size_t i, float v) { p[i] = __float2bfloat16_rn(v); }

static __device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
static __device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
static __device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024), returned
 * to every thread. shared: 32 slots. Call it from every thread; it
 * synchronises, so it may be called again with the same shared slots. */
template <typename T>
static __device__ __forceinline__ T block_sum(T v, T *shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads(); /* the previous use of shared is finished */
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T r = lane < nwarp ? shared[lane] : (T)0;
  return warp_sum(r);
}

static __device__ __forceinline__ float block_max(float v, float *shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float r = lane < nwarp ? shared[lane] : -INFINITY;
  return warp_max(r);
}

/* Launch dispatch on the activation dtype: F(float) or F(bf16). */
#define RLVR_DISPATCH_DTYPE(dt, T, ...)                                                            \
  do {                                                                                             \
    if ((dt) == RLVR_DTYPE_F32) {                                                                  \
      typedef float T;                                                                             \
      __VA_ARGS__;                                                                                 \
    } else if ((dt) == RLVR_DTYPE_BF16) {                                                          \
      typedef bf16 T;                                                                              \
      __VA_ARGS__;                                                                                 \
    } else {                                                                                       \
      fprintf(stderr, "rlvr: unknown dtype %d at %s:%d\n", (int)(dt), __FILE__, __LINE__);         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#endif /* __CUDACC__ */

#endif
