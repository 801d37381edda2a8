/* rmsnorm.cu — RMSNorm launchers; kernels in rmsnorm.cuh, variants and
 * timings in dev/cuda/rmsnorm.cu. Status: compiled, not yet run on a GPU. */
#include "model/cuda/ops.h"
#include "model/cuda/rmsnorm.cuh"

enum { RMSNORM_BLOCK = 256 }; /* 8 rows (warps) per block */

extern "C" void rlvr_cuda_rmsnorm_forward(void *y, float *rstd, const void *x, const void *w, int N, int C,
                                          float eps, rlvr_dtype dt, cudaStream_t s) {
  if (N <= 0) return;
  const int rows_per_block = RMSNORM_BLOCK / 32;
  RLVR_DISPATCH_DTYPE(dt, T,
                      rmsnorm_fwd_kernel2<T><<<CEIL_DIV(N, rows_per_block), RMSNORM_BLOCK, 0, s>>>(
                          (T *)y, rstd, (const T *)x, (const T *)w, N, C, eps));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" size_t rlvr_cuda_rmsnorm_backward_scratch(int N, int C) {
  return (size_t)CEIL_DIV(N, RMSNORM_DW_ROWS) * (size_t)C;
}

extern "C" void rlvr_cuda_rmsnorm_backward(void *dx, float *dw, float *scratch, const void *dy, const void *x,
                                           const void *w, const float *rstd, int N, int C, rlvr_dtype dt,
                                           cudaStream_t s) {
  if (N <= 0) return;
  const int rows_per_block = RMSNORM_BLOCK / 32, nchunk = CEIL_DIV(N, RMSNORM_DW_ROWS);
  const dim3 grid(CEIL_DIV(C, RMSNORM_BLOCK), nchunk);
  RLVR_DISPATCH_DTYPE(dt, T, {
    rmsnorm_bwd_kernel2<T><<<CEIL_DIV(N, rows_per_block), RMSNORM_BLOCK, 0, s>>>(
        (T *)dx, (const T *)dy, (const T *)x, (const T *)w, rstd, N, C);
    CUDA_CHECK(cudaGetLastError());
    rmsnorm_dw_bwd_kernel1<T><<<grid, RMSNORM_BLOCK, 0, s>>>(scratch, (const T *)dy, (const T *)x, rstd, N, C);
    CUDA_CHECK(cudaGetLastError());
  });
  rmsnorm_dw_finish_kernel1<<<CEIL_DIV(C, RMSNORM_BLOCK), RMSNORM_BLOCK, 0, s>>>(dw, scratch, nchunk, C);
  CUDA_CHECK(cudaGetLastError());
}
