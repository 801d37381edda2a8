/* sample.cu (lab) — the sampling kernel (model/cuda/sample.cuh: kernel1,
 * radix selection, one block per row) at every block size: the tokens must
 * be identical at all of them (masses are integers, so the selection cannot
 * depend on the reduction shape) and agree with the CPU sampler
 * (rlvr_sampler_sample with the same uniforms) except near a boundary
 * (tests/gpu/test_cuda_ops.c checks that precisely; here more than 5% of rows
 * differing fails). Then timed at decode batches of 64 and 256 rows of
 * Qwen2.5's vocabulary. Usage: lab_sample [B V].
 * Status: compiled, not yet run on a GPU. */
#include "dev/cuda/lab.h"
#include "model/cuda/sample.cuh"

extern "C" {
#include "model/sampler.h"
}

template <typename T>
static void launch(int block, int *tok, float *lp, const T *z, int B, int V, const rlvr_sampling *ps, const double *u) {
  sample_kernel1<T><<<B, block, 0, LAB.stream>>>(tok, lp, z, B, V, ps, u);
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
static void run(rlvr_dtype dt, int B, int V) {
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  const rlvr_sampling settings[] = {{1.0f, 0, 1.0f}, {0.7f, 0, 1.0f}, {0.0f, 0, 1.0f}, {1.0f, 50, 1.0f},
                                    {0.6f, 20, 0.8f}, {1.0f, 0, 0.9f}, {0.8f, 300, 0.95f}};
  const int ns = 7;
  rlvr_rng r;
  rlvr_rng_seed(&r, 4);
  const size_t n = (size_t)B * V;
  float *z = (float *)malloc(n * 4);
  lab_fill(z, n, &r, 3, dt);
  rlvr_sampling *ps = (rlvr_sampling *)malloc(sizeof *ps * B);
  double *u = (double *)malloc(sizeof(double) * B);
  int *cpu = (int *)malloc(sizeof(int) * B), *got = (int *)malloc(sizeof(int) * B), *first = (int *)malloc(sizeof(int) * B);
  rlvr_sampler sp;
  rlvr_sampler_init(&sp, V);
  for (int b = 0; b < B; b++) {
    ps[b] = settings[b % ns];
    rlvr_rng rb;
    rlvr_rng_seed(&rb, 500 + (uint64_t)b);
    u[b] = rlvr_rng_double(&rb);
    rlvr_rng_seed(&rb, 500 + (uint64_t)b);
    cpu[b] = rlvr_sampler_sample(&sp, z + (size_t)b * V, &ps[b], &rb, NULL);
  }
  rlvr_sampler_free(&sp);
  T *dz = (T *)lab_upload(z, n, dt);
  rlvr_sampling *dps;
  double *du;
  int *dtok;
  float *dlp;
  CUDA_CHECK(cudaMalloc(&dps, sizeof *ps * B));
  CUDA_CHECK(cudaMalloc(&du, sizeof(double) * B));
  CUDA_CHECK(cudaMalloc(&dtok, sizeof(int) * B));
  CUDA_CHECK(cudaMalloc(&dlp, sizeof(float) * B));
  lab_h2d(dps, ps, sizeof *ps * B), lab_h2d(du, u, sizeof(double) * B);
  const int blocks[] = {64, 128, 256, 512, 1024};
  for (int bi = 0; bi < 5; bi++) {
    launch<T>(blocks[bi], dtok, dlp, dz, B, V, dps, du);
    CUDA_CHECK(cudaStreamSynchronize(LAB.stream));
    CUDA_CHECK(cudaMemcpy(got, dtok, sizeof(int) * B, cudaMemcpyDeviceToHost));
    if (bi == 0) memcpy(first, got, sizeof(int) * B);
    int differ_cpu = 0, differ_block = 0;
    for (int b = 0; b < B; b++) differ_cpu += got[b] != cpu[b], differ_block += got[b] != first[b];
    const int bad = differ_block > 0 || differ_cpu * 20 > B;
    printf("%s sample_kernel1 %s block %d B=%d V=%d: %d rows differ from block 64, %d from the CPU sampler\n",
           bad ? "FAIL" : "ok  ", tn, blocks[bi], B, V, differ_block, differ_cpu);
    if (bad) LAB.failures++;
  }
  const int Bs[] = {64, 256};
  printf("| kernel | %s block | rows | settings | us | GB/s (one read of the logits) |\n|---|---|---|---|---|---|\n", tn);
  for (int bb = 0; bb < 2; bb++) {
    if (Bs[bb] > B) continue;
    for (int mode = 0; mode < 2; mode++) {
      for (int b = 0; b < Bs[bb]; b++) ps[b] = mode ? rlvr_sampling{0.7f, 50, 0.9f} : rlvr_sampling{1.0f, 0, 1.0f};
      lab_h2d(dps, ps, sizeof *ps * Bs[bb]);
      for (int bi = 0; bi < 5; bi++) {
        const double ms = lab_time_ms([&] { launch<T>(blocks[bi], dtok, dlp, dz, Bs[bb], V, dps, du); }, 5);
        printf("| sample_kernel1 | %d | %d | %s | %.1f | %.0f |\n", blocks[bi], Bs[bb], mode ? "T0.7 k50 p0.9" : "T1",
               ms * 1e3, (double)Bs[bb] * V * sizeof(T) / (ms * 1e-3) / 1e9);
      }
    }
  }
  cudaFree(dz), cudaFree(dps), cudaFree(du), cudaFree(dtok), cudaFree(dlp);
  free(z), free(ps), free(u), free(cpu), free(got), free(first);
}

int main(int argc, char **argv) {
  if (!lab_init()) return 77;
  const int B = argc > 2 ? atoi(argv[1]) : 256, V = argc > 2 ? atoi(argv[2]) : 151936;
  run<float>(RLVR_DTYPE_F32, B, V);
  run<bf16>(RLVR_DTYPE_BF16, B, V);
  return lab_done();
}
