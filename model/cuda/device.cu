/* device.cu — device discovery and a launch smoke test; see device.h. */
#include "model/cuda/cuda_common.h"
#include "model/cuda/device.h"

extern "C" int rlvr_cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* clear the sticky "no driver" error */
    return 0;
  }
  return n;
}

extern "C" void rlvr_cuda_describe(int device, char *buf, size_t len) {
  cudaDeviceProp p;
  CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  snprintf(buf, len, "%s, CC %d.%d, %.1f GiB", p.name, p.major, p.minor,
           (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
}

__global__ void scale_kernel1(float *x, size_t n, float alpha) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= alpha;
}

extern "C" void rlvr_cuda_scale_roundtrip(const float *in, float *out, size_t n, float alpha) {
  float *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, n * sizeof(float)));
  CUDA_CHECK(cudaMemcpy(d, in, n * sizeof(float), cudaMemcpyHostToDevice));
  const int block = 256;
  scale_kernel1<<<(unsigned)CEIL_DIV(n, (size_t)block), block>>>(d, n, alpha);
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaMemcpy(out, d, n * sizeof(float), cudaMemcpyDeviceToHost));
  CUDA_CHECK(cudaFree(d));
}
