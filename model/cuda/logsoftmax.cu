/* logsoftmax.cu — launchers for logsoftmax.cuh; variants and timings in
 * dev/cuda/logsoftmax.cu. Status: compiled, not yet run on a GPU. */
#include "model/cuda/logsoftmax.cuh"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

enum { LSM_BLOCK = 512, LSM_MAX_GRID = 65535 };

extern "C" void rlvr_cuda_logsoftmax_forward(float *lse, float *entropy, float *logprob, const void *logits,
                                             const int *targets, int N, int V, float temperature, rlvr_dtype dt,
                                             cudaStream_t s) {
  if (N <= 0) return;
  RLVR_CHECK(logprob == NULL || targets != NULL, "log-probs need targets");
  const int grid = N < LSM_MAX_GRID ? N : LSM_MAX_GRID;
  RLVR_DISPATCH_DTYPE(dt, T,
                      logsoftmax_fwd_kernel2<T><<<grid, LSM_BLOCK, 0, s>>>(lse, entropy, logprob, (const T *)logits,
                                                                           targets, N, V, temperature));
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_logsoftmax_backward(void *dlogits, const void *logits, const float *lse,
                                              const float *entropy, const int *targets, const float *w,
                                              const float *u, int N, int V, float temperature, rlvr_dtype dt,
                                              cudaStream_t s) {
  const size_t total = (size_t)N * V;
  if (total == 0) return;
  size_t blocks = CEIL_DIV(total, (size_t)256);
  if (blocks > 65536) blocks = 65536;
  RLVR_DISPATCH_DTYPE(dt, T,
                      logsoftmax_bwd_kernel1<T><<<(unsigned)blocks, 256, 0, s>>>(
                          (T *)dlogits, (const T *)logits, lse, entropy, targets, w, u, N, V, temperature));
  CUDA_CHECK(cudaGetLastError());
}
