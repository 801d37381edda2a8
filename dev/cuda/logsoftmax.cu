/* logsoftmax.cu (lab) — log-softmax forward variants (lse, entropy,
 * log-prob of a target per row) against the CPU reference at every block
 * size, then timed on Qwen2.5's vocabulary.
 *   kernel1: one block per row, three passes (max; sum e^(s-m); sum e^(s-m)(s-m))
 *   kernel2: one block per row, one online pass (model/cuda/logsoftmax.cuh)
 * Usage: lab_logsoftmax [N V]. Status: compiled, not yet run on a GPU. */
#include "dev/cuda/lab.h"
#include "model/cuda/logsoftmax.cuh"

extern "C" {
#include "model/forward.h"
#include "model/kernels.h"
}

template <typename T>
__global__ void logsoftmax_fwd_kernel1(float *lse, float *entropy, float *logprob, const T *logits, const int *targets,
                                       int N, int V, float temperature) {
  __shared__ float shf[32];
  const int scale = temperature > 0.0f && temperature != 1.0f;
  for (int row = blockIdx.x; row < N; row += gridDim.x) {
    const T *z = logits + (size_t)row * V;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, lsm_scaled(ldf(z, j), scale, temperature));
    m = block_max(m, shf);
    float S = 0.0f, A = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) S += expf(lsm_scaled(ldf(z, j), scale, temperature) - m);
    S = block_sum(S, shf);
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
      const float d = lsm_scaled(ldf(z, j), scale, temperature) - m;
      A += expf(d) * d;
    }
    A = block_sum(A, shf);
    if (threadIdx.x == 0) {
      const float logS = logf(S), l = m + logS;
      lse[row] = l;
      entropy[row] = logS - A / S;
      const int t = targets[row];
      logprob[row] = t >= 0 ? lsm_scaled(ldf(z, t), scale, temperature) - l : 0.0f;
    }
  }
}

template <typename T>
static void launch(int variant, int block, float *lse, float *ent, float *lp, const T *z, const int *tg, int N, int V,
                   float temp) {
  if (variant == 1) logsoftmax_fwd_kernel1<T><<<N, block, 0, LAB.stream>>>(lse, ent, lp, z, tg, N, V, temp);
  else logsoftmax_fwd_kernel2<T><<<N, block, 0, LAB.stream>>>(lse, ent, lp, z, tg, N, V, temp);
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
static void run(rlvr_dtype dt, int N, int V, float temp) {
  const size_t n = (size_t)N * V;
  rlvr_rng r;
  rlvr_rng_seed(&r, 2);
  float *z = (float *)malloc(n * 4), *s = (float *)malloc(V * 4), *scr = (float *)malloc(V * 4);
  float *lse_r = (float *)malloc(N * 4), *ent_r = (float *)malloc(N * 4), *lp_r = (float *)malloc(N * 4);
  float *lse = (float *)malloc(N * 4), *ent = (float *)malloc(N * 4), *lp = (float *)malloc(N * 4);
  int *tg = (int *)malloc(N * sizeof(int));
  lab_fill(z, n, &r, 4, dt);
  for (int i = 0; i < N; i++) {
    tg[i] = (int)rlvr_rng_below(&r, V);
    memcpy(s, z + (size_t)i * V, V * 4);
    rlvr_logits_temperature(s, V, temp);
    rlvr_logsoftmax_row(s, V, &lse_r[i], &ent_r[i], scr);
    lp_r[i] = s[tg[i]] - lse_r[i];
  }
  T *dz = (T *)lab_upload(z, n, dt);
  float *dlse, *dent, *dlp;
  int *dtg;
  CUDA_CHECK(cudaMalloc(&dlse, N * 4));
  CUDA_CHECK(cudaMalloc(&dent, N * 4));
  CUDA_CHECK(cudaMalloc(&dlp, N * 4));
  CUDA_CHECK(cudaMalloc(&dtg, N * sizeof(int)));
  lab_h2d(dtg, tg, N * sizeof(int));
  const int blocks[] = {32, 64, 128, 256, 512, 1024};
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  for (int v = 1; v <= 2; v++)
    for (int bi = 0; bi < 6; bi++) {
      launch<T>(v, blocks[bi], dlse, dent, dlp, dz, dtg, N, V, temp);
      lab_download(lse, dlse, N, RLVR_DTYPE_F32), lab_download(ent, dent, N, RLVR_DTYPE_F32);
      lab_download(lp, dlp, N, RLVR_DTYPE_F32);
      char what[128];
      snprintf(what, sizeof what, "logsoftmax_fwd_kernel%d %s block %d N=%d V=%d T=%g lse", v, tn, blocks[bi], N, V, temp);
      lab_check(what, lse, lse_r, N, 2e-5, 1e-5);
      snprintf(what, sizeof what, "logsoftmax_fwd_kernel%d %s block %d entropy", v, tn, blocks[bi]);
      lab_check(what, ent, ent_r, N, 2e-5, 1e-5);
      snprintf(what, sizeof what, "logsoftmax_fwd_kernel%d %s block %d logprob", v, tn, blocks[bi]);
      lab_check(what, lp, lp_r, N, 2e-5, 1e-5);
    }
  const double bytes = (double)n * sizeof(T);
  printf("| variant | %s block | us | GB/s | of peak |\n|---|---|---|---|---|\n", tn);
  for (int v = 1; v <= 2; v++)
    for (int bi = 0; bi < 6; bi++) {
      const double ms = lab_time_ms([&] { launch<T>(v, blocks[bi], dlse, dent, dlp, dz, dtg, N, V, temp); }, 10);
      printf("| logsoftmax_fwd_kernel%d | %d | %.1f | %.0f | %.0f%% |\n", v, blocks[bi], ms * 1e3, bytes / ms / 1e6,
             100.0 * bytes / (ms * 1e-3) / LAB.peak_bw);
    }
  cudaFree(dz), cudaFree(dlse), cudaFree(dent), cudaFree(dlp), cudaFree(dtg);
  free(z), free(s), free(scr), free(lse_r), free(ent_r), free(lp_r), free(lse), free(ent), free(lp), free(tg);
}

int main(int argc, char **argv) {
  if (!lab_init()) return 77;
  const int N = argc > 2 ? atoi(argv[1]) : 67, V = argc > 2 ? atoi(argv[2]) : 151936;
  run<float>(RLVR_DTYPE_F32, N, V, 0.7f);
  run<bf16>(RLVR_DTYPE_BF16, N, V, 1.0f);
  return lab_done();
}
