/* cuda_common.h — device plumbing shared by every CUDA file in model/cuda/.
 *
 * CUDA_CHECK aborts with the call, file, line and CUDA's message: a CUDA
 * error is a bug or a broken machine, never an input error. Every launcher
 * calls CUDA_CHECK(cudaGetLastError()) after its kernel. */
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

#endif
