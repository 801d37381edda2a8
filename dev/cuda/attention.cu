/* attention.cu (lab) — the training attention kernels (model/cuda/
 * attention.cuh: kernel1, one warp per row and head, untiled) against the CPU
 * reference at every block size, then timed at a micro-batch of 8 sequences
 * of 512 in Qwen2.5-0.5B's heads. A tiled (flash-style) variant belongs here
 * as kernel2 when written. Block sizes stop at 512: the dk/dv kernel uses
 * ~70 registers per thread, too many for 1024 threads.
 * Usage: lab_attention. Status: compiled, not yet run on a GPU. */
#include <omp.h>

#include "dev/cuda/lab.h"
#include "model/cuda/attention.cuh"

extern "C" {
#include "model/kernels.h"
}

struct att_case {
  int B, H, KVH, D;
  int lens[8];
};

template <typename T>
static void launch_fwd(int block, T *out, float *lse, const T *q, const T *k, const T *v, const int *rs, const int *off,
                       int N, int H, int KVH, int D) {
  const float scale = (float)(1.0 / sqrt((double)D));
  attention_fwd_kernel1<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(out, lse, q, k, v, rs, off, N, H, KVH,
                                                                                  D, scale);
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
static void launch_bwd(int block, T *dq, T *dk, T *dv, float *delta, const T *dout, const T *q, const T *k, const T *v,
                       const T *out, const float *lse, const int *rs, const int *off, const int *len, int N, int H,
                       int KVH, int D) {
  const float scale = (float)(1.0 / sqrt((double)D));
  attention_dq_bwd_kernel1<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(dq, delta, dout, q, k, v, out, lse,
                                                                                     rs, off, N, H, KVH, D, scale);
  CUDA_CHECK(cudaGetLastError());
  attention_dkv_bwd_kernel1<T><<<CEIL_DIV(N * KVH, block / 32), block, 0, LAB.stream>>>(
      dk, dv, dout, q, k, v, lse, delta, rs, off, len, N, H, KVH, D, scale);
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
static void run(rlvr_dtype dt, const att_case &c, int check, int reps) {
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  int N = 0, max_len = 0, off[8], rs_n = 0;
  for (int b = 0; b < c.B; b++) off[b] = N, N += c.lens[b], max_len = c.lens[b] > max_len ? c.lens[b] : max_len;
  const int HD = c.H * c.D, KD = c.KVH * c.D;
  int *rs = (int *)malloc(N * sizeof(int)), *pos = (int *)malloc(N * sizeof(int));
  size_t *col = (size_t *)malloc(N * sizeof(size_t));
  for (int b = 0; b < c.B; b++)
    for (int t = 0; t < c.lens[b]; t++) rs[rs_n] = b, pos[rs_n] = t, col[rs_n++] = (size_t)off[b];
  rlvr_rng r;
  rlvr_rng_seed(&r, 3);
  float *q = (float *)malloc((size_t)N * HD * 4), *k = (float *)malloc((size_t)N * KD * 4), *v = (float *)malloc((size_t)N * KD * 4);
  float *dout = (float *)malloc((size_t)N * HD * 4);
  lab_fill(q, (size_t)N * HD, &r, 1, dt), lab_fill(k, (size_t)N * KD, &r, 1, dt), lab_fill(v, (size_t)N * KD, &r, 1, dt);
  lab_fill(dout, (size_t)N * HD, &r, 1, dt);
  T *dq_ = (T *)lab_upload(q, (size_t)N * HD, dt), *dk_ = (T *)lab_upload(k, (size_t)N * KD, dt);
  T *dv_ = (T *)lab_upload(v, (size_t)N * KD, dt), *ddo = (T *)lab_upload(dout, (size_t)N * HD, dt);
  int *drs, *doff, *dlen;
  CUDA_CHECK(cudaMalloc(&drs, N * 4));
  CUDA_CHECK(cudaMalloc(&doff, c.B * 4));
  CUDA_CHECK(cudaMalloc(&dlen, c.B * 4));
  lab_h2d(drs, rs, N * 4), lab_h2d(doff, off, c.B * 4), lab_h2d(dlen, c.lens, c.B * 4);
  T *dout_, *gq, *gk, *gv;
  float *dlse, *ddelta;
  CUDA_CHECK(cudaMalloc(&dout_, (size_t)N * HD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gq, (size_t)N * HD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gk, (size_t)N * KD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gv, (size_t)N * KD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&dlse, (size_t)N * c.H * 4));
  CUDA_CHECK(cudaMalloc(&ddelta, (size_t)N * c.H * 4));
  const int blocks[] = {32, 64, 128, 256, 512};
  if (check) {
    float *out_r = (float *)malloc((size_t)N * HD * 4), *lse_r = (float *)malloc((size_t)N * c.H * 4);
    float *scr = (float *)malloc((size_t)omp_get_max_threads() * rlvr_attention_scratch(max_len, c.D) * 4);
    const rlvr_kv_view kv = {NULL, k, v, (size_t)N, KD};
    rlvr_attention_forward(out_r, lse_r, q, &kv, N, pos, col, c.H, c.KVH, c.D, max_len, scr);
    float *kt = (float *)malloc((size_t)N * KD * 4), *vt = (float *)malloc((size_t)N * KD * 4);
    for (int i = 0; i < N; i++)
      for (int j = 0; j < KD; j++) kt[(size_t)j * N + i] = k[(size_t)i * KD + j], vt[(size_t)j * N + i] = v[(size_t)i * KD + j];
    float *out_q = (float *)malloc((size_t)N * HD * 4);
    for (size_t i = 0; i < (size_t)N * HD; i++) out_q[i] = dt == RLVR_DTYPE_BF16 ? rlvr_bf16_round(out_r[i]) : out_r[i];
    float *gq_r = (float *)malloc((size_t)N * HD * 4), *gk_r = (float *)malloc((size_t)N * KD * 4), *gv_r = (float *)malloc((size_t)N * KD * 4);
    rlvr_attention_backward(gq_r, gk_r, gv_r, dout, q, k, kt, vt, (size_t)N, out_q, lse_r, c.B, off, c.lens, c.H, c.KVH,
                            c.D, max_len, scr);
    float *got = (float *)malloc((size_t)N * HD * 4), *got2 = (float *)malloc((size_t)N * c.H * 4);
    T *dout_q = (T *)lab_upload(out_q, (size_t)N * HD, dt);
    const double rt = dt == RLVR_DTYPE_F32 ? 1e-4 : 5e-3, at = 2e-6 * sqrt((double)max_len * (c.H / c.KVH)) * 4;
    for (int bi = 0; bi < 5; bi++) {
      char what[160];
      launch_fwd<T>(blocks[bi], dout_, dlse, dq_, dk_, dv_, drs, doff, N, c.H, c.KVH, c.D);
      lab_download(got, dout_, (size_t)N * HD, dt), lab_download(got2, dlse, (size_t)N * c.H, RLVR_DTYPE_F32);
      snprintf(what, sizeof what, "attention_fwd_kernel1 %s block %d N=%d H=%d/%d D=%d out", tn, blocks[bi], N, c.H, c.KVH, c.D);
      lab_check(what, got, out_r, (size_t)N * HD, 1e-5, rt);
      snprintf(what, sizeof what, "attention_fwd_kernel1 %s block %d lse", tn, blocks[bi]);
      lab_check(what, got2, lse_r, (size_t)N * c.H, 1e-5, 1e-5);
      lab_h2d(dlse, lse_r, (size_t)N * c.H * 4);
      launch_bwd<T>(blocks[bi], gq, gk, gv, ddelta, ddo, dq_, dk_, dv_, dout_q, dlse, drs, doff, dlen, N, c.H, c.KVH, c.D);
      lab_download(got, gq, (size_t)N * HD, dt);
      snprintf(what, sizeof what, "attention_dq_bwd_kernel1 %s block %d dq", tn, blocks[bi]);
      lab_check(what, got, gq_r, (size_t)N * HD, at, rt);
      lab_download(got, gk, (size_t)N * KD, dt);
      snprintf(what, sizeof what, "attention_dkv_bwd_kernel1 %s block %d dk", tn, blocks[bi]);
      lab_check(what, got, gk_r, (size_t)N * KD, at, rt);
      lab_download(got, gv, (size_t)N * KD, dt);
      snprintf(what, sizeof what, "attention_dkv_bwd_kernel1 %s block %d dv", tn, blocks[bi]);
      lab_check(what, got, gv_r, (size_t)N * KD, at, rt);
    }
    cudaFree(dout_q);
    free(out_r), free(lse_r), free(scr), free(kt), free(vt), free(out_q), free(gq_r), free(gk_r), free(gv_r), free(got), free(got2);
  }
  if (reps > 0) {
    double pairs = 0;
    for (int b = 0; b < c.B; b++) pairs += (double)c.lens[b] * (c.lens[b] + 1) / 2;
    const double fl = pairs * c.H * 4.0 * c.D; /* QK and PV */
    printf("| kernel | %s block | N | us | TFLOP/s |\n|---|---|---|---|---|\n", tn);
    for (int bi = 0; bi < 5; bi++) {
      double ms = lab_time_ms([&] { launch_fwd<T>(blocks[bi], dout_, dlse, dq_, dk_, dv_, drs, doff, N, c.H, c.KVH, c.D); }, reps);
      printf("| attention_fwd_kernel1 | %d | %d | %.1f | %.2f |\n", blocks[bi], N, ms * 1e3, fl / (ms * 1e-3) / 1e12);
      ms = lab_time_ms([&] {
        launch_bwd<T>(blocks[bi], gq, gk, gv, ddelta, ddo, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen, N, c.H, c.KVH, c.D);
      }, reps);
      printf("| attention bwd kernel1 (dq + dkv) | %d | %d | %.1f | %.2f |\n", blocks[bi], N, ms * 1e3,
             2.5 * fl / (ms * 1e-3) / 1e12);
    }
  }
  cudaFree(dq_), cudaFree(dk_), cudaFree(dv_), cudaFree(ddo), cudaFree(drs), cudaFree(doff), cudaFree(dlen);
  cudaFree(dout_), cudaFree(gq), cudaFree(gk), cudaFree(gv), cudaFree(dlse), cudaFree(ddelta);
  free(rs), free(pos), free(col), free(q), free(k), free(v), free(dout);
}

int main(void) {
  if (!lab_init()) return 77;
  const att_case small = {3, 14, 2, 64, {100, 37, 255}};
  run<float>(RLVR_DTYPE_F32, small, 1, 0);
  run<bf16>(RLVR_DTYPE_BF16, small, 1, 0);
  const att_case train = {8, 14, 2, 64, {512, 512, 512, 512, 512, 512, 512, 512}};
  run<bf16>(RLVR_DTYPE_BF16, train, 0, 2);
  return lab_done();
}
