/* rmsnorm.cu (lab) — RMSNorm forward variants against the CPU reference at
 * every block size, then timed at a training micro-batch of Qwen2.5 shapes.
 *   kernel1: one thread per row (naive: uncoalesced, little parallelism)
 *   kernel2: one warp per row (model/cuda/rmsnorm.cuh: the library's)
 *   kernel3: one block per row with a block reduction
 * Usage: lab_rmsnorm [N C]. Status: compiled, not yet run on a GPU. */
#include "dev/cuda/lab.h"
#include "model/cuda/rmsnorm.cuh"

extern "C" {
#include "model/kernels.h"
}

template <typename T>
__global__ void rmsnorm_fwd_kernel1(T *y, float *rstd, const T *x, const T *w, int N, int C, float eps) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= N) return;
  const T *xr = x + (size_t)row * C;
  float ss = 0.0f;
  for (int c = 0; c < C; c++) ss += ldf(xr, c) * ldf(xr, c);
  const float r = 1.0f / sqrtf(ss / (float)C + eps);
  for (int c = 0; c < C; c++) stf(y + (size_t)row * C, c, (ldf(xr, c) * r) * ldf(w, c));
  if (rstd) rstd[row] = r;
}

template <typename T>
__global__ void rmsnorm_fwd_kernel3(T *y, float *rstd, const T *x, const T *w, int N, int C, float eps) {
  __shared__ float sh[32];
  const int row = blockIdx.x;
  const T *xr = x + (size_t)row * C;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss += ldf(xr, c) * ldf(xr, c);
  ss = block_sum(ss, sh);
  const float r = 1.0f / sqrtf(ss / (float)C + eps);
  for (int c = threadIdx.x; c < C; c += blockDim.x) stf(y + (size_t)row * C, c, (ldf(xr, c) * r) * ldf(w, c));
  if (rstd && threadIdx.x == 0) rstd[row] = r;
}

template <typename T>
static void launch(int variant, int block, T *y, float *rstd, const T *x, const T *w, int N, int C, float eps) {
  switch (variant) {
  case 1: rmsnorm_fwd_kernel1<T><<<CEIL_DIV(N, block), block, 0, LAB.stream>>>(y, rstd, x, w, N, C, eps); break;
  case 2: rmsnorm_fwd_kernel2<T><<<CEIL_DIV(N, block / 32), block, 0, LAB.stream>>>(y, rstd, x, w, N, C, eps); break;
  case 3: rmsnorm_fwd_kernel3<T><<<N, block, 0, LAB.stream>>>(y, rstd, x, w, N, C, eps); break;
  }
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
static void run(rlvr_dtype dt, int N, int C) {
  const size_t n = (size_t)N * C;
  const float eps = 1e-6f;
  rlvr_rng r;
  rlvr_rng_seed(&r, 1);
  float *x = (float *)malloc(n * 4), *w = (float *)malloc(C * 4), *yr = (float *)malloc(n * 4), *y = (float *)malloc(n * 4);
  float *rsr = (float *)malloc(N * 4), *rs = (float *)malloc(N * 4);
  lab_fill(x, n, &r, 2, dt), lab_fill(w, C, &r, 1, dt);
  rlvr_rmsnorm_forward(yr, rsr, x, w, N, C, eps);
  T *dx = (T *)lab_upload(x, n, dt), *dw = (T *)lab_upload(w, C, dt), *dy;
  float *drs;
  CUDA_CHECK(cudaMalloc(&dy, n * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&drs, N * 4));
  const int blocks[] = {32, 64, 128, 256, 512, 1024};
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  for (int v = 1; v <= 3; v++)
    for (int bi = 0; bi < 6; bi++) {
      CUDA_CHECK(cudaMemsetAsync(dy, 0, n * sizeof(T), LAB.stream));
      launch<T>(v, blocks[bi], dy, drs, dx, dw, N, C, eps);
      lab_download(y, dy, n, dt);
      lab_download(rs, drs, N, RLVR_DTYPE_F32);
      char what[128];
      snprintf(what, sizeof what, "rmsnorm_fwd_kernel%d %s block %d N=%d C=%d y", v, tn, blocks[bi], N, C);
      lab_check(what, y, yr, n, 1e-6, dt == RLVR_DTYPE_F32 ? 1e-5 : 5e-3);
      snprintf(what, sizeof what, "rmsnorm_fwd_kernel%d %s block %d rstd", v, tn, blocks[bi]);
      lab_check(what, rs, rsr, N, 0, 1e-5);
    }
  const double bytes = 2.0 * n * sizeof(T) + (double)C * sizeof(T) + N * 4.0;
  printf("| variant | %s block | us | GB/s | of peak |\n|---|---|---|---|---|\n", tn);
  for (int v = 1; v <= 3; v++)
    for (int bi = 0; bi < 6; bi++) {
      const double ms = lab_time_ms([&] { launch<T>(v, blocks[bi], dy, drs, dx, dw, N, C, eps); }, 20);
      printf("| rmsnorm_fwd_kernel%d | %d | %.1f | %.0f | %.0f%% |\n", v, blocks[bi], ms * 1e3, bytes / ms / 1e6,
             100.0 * bytes / (ms * 1e-3) / LAB.peak_bw);
    }
  cudaFree(dx), cudaFree(dw), cudaFree(dy), cudaFree(drs);
  free(x), free(w), free(yr), free(y), free(rsr), free(rs);
}

int main(int argc, char **argv) {
  if (!lab_init()) return 77;
  const int N = argc > 2 ? atoi(argv[1]) : 4099, C = argc > 2 ? atoi(argv[2]) : 896; /* off the block sizes */
  run<float>(RLVR_DTYPE_F32, N, C);
  run<bf16>(RLVR_DTYPE_BF16, N, C);
  return lab_done();
}
