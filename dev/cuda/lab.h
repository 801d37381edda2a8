/* lab.h — the kernel lab's harness (dev/cuda/, after llm.c's dev/cuda):
 * device setup, random inputs, a comparison that prints its largest
 * difference, a timer that clears L2 before every timed launch, and the
 * device's peak bandwidth and bf16 throughput for roofline fractions.
 *
 * Each lab program (dev/cuda/<op>.cu) holds an op's numbered variants (the
 * library's, included from model/cuda/<op>.cuh, and the alternatives), checks
 * every variant against the CPU reference at several block sizes, then
 * times them. A program exits 1 if a check failed and 77 without a GPU.
 * Status: compiled, not yet run on a GPU. */
#ifndef RLVR_DEV_CUDA_LAB_H
#define RLVR_DEV_CUDA_LAB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/cuda/cuda_common.h"
#include "model/cuda/dtype.h"

extern "C" {
#include "core/rng.h"
}

struct lab {
  cudaStream_t stream;
  cudaEvent_t start, stop;
  char *flush;          /* device buffer of flush_bytes, written before each timed launch */
  size_t flush_bytes;   /* twice the L2 size */
  double peak_bw;       /* bytes/s */
  double peak_bf16;     /* dense bf16 tensor FLOP/s (an assumption by device name, printed) */
  char name[256];
  int failures;
};

static lab LAB;

static inline int lab_init(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();
    printf("no CUDA device: lab skipped\n");
    return 0;
  }
  CUDA_CHECK(cudaSetDevice(0));
  cudaDeviceProp p;
  CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  snprintf(LAB.name, sizeof LAB.name, "%s", p.name);
  int mem_khz = 0, bus_bits = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0));
  CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0));
  LAB.peak_bw = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0); /* double data rate */
  /* Dense bf16 tensor-core peaks from NVIDIA's data sheets. */
  if (strstr(p.name, "H100") && strstr(p.name, "PCIe")) LAB.peak_bf16 = 756e12;
  else if (strstr(p.name, "H100") && strstr(p.name, "NVL")) LAB.peak_bf16 = 835e12;
  else if (strstr(p.name, "H100") || strstr(p.name, "H200") || strstr(p.name, "GH200")) LAB.peak_bf16 = 989e12;
  else if (strstr(p.name, "A100")) LAB.peak_bf16 = 312e12;
  else LAB.peak_bf16 = 0; /* unknown: fractions not printed */
  LAB.flush_bytes = 2 * (size_t)p.l2CacheSize;
  if (LAB.flush_bytes < (64u << 20)) LAB.flush_bytes = 64u << 20;
  CUDA_CHECK(cudaMalloc(&LAB.flush, LAB.flush_bytes));
  CUDA_CHECK(cudaStreamCreateWithFlags(&LAB.stream, cudaStreamNonBlocking));
  CUDA_CHECK(cudaEventCreate(&LAB.start));
  CUDA_CHECK(cudaEventCreate(&LAB.stop));
  printf("device: %s, %d SMs, L2 %d MiB, peak memory bandwidth %.0f GB/s, bf16 peak %s%.0f TFLOP/s\n", p.name,
         p.multiProcessorCount, p.l2CacheSize >> 20, LAB.peak_bw / 1e9, LAB.peak_bf16 ? "" : "unknown ",
         LAB.peak_bf16 / 1e12);
  return 1;
}

static inline int lab_done(void) {
  if (LAB.failures) {
    printf("%d lab checks FAILED\n", LAB.failures);
    return 1;
  }
  printf("all lab checks passed\n");
  return 0;
}

/* Mean milliseconds of launch() over reps timed launches (after one
 * untimed warm-up), L2 cleared before each. */
template <typename F>
static inline double lab_time_ms(F launch, int reps) {
  launch();
  CUDA_CHECK(cudaStreamSynchronize(LAB.stream));
  double total = 0;
  for (int r = 0; r < reps; r++) {
    CUDA_CHECK(cudaMemsetAsync(LAB.flush, r & 0xff, LAB.flush_bytes, LAB.stream));
    CUDA_CHECK(cudaEventRecord(LAB.start, LAB.stream));
    launch();
    CUDA_CHECK(cudaEventRecord(LAB.stop, LAB.stream));
    CUDA_CHECK(cudaEventSynchronize(LAB.stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, LAB.start, LAB.stop));
    total += ms;
  }
  return total / reps;
}

/* Passes where |got - want| <= atol + rtol |want| everywhere; prints the
 * largest difference either way. */
static inline int lab_check(const char *what, const float *got, const float *want, size_t n, double atol, double rtol) {
  double maxd = 0;
  size_t bad = 0, worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= atol + rtol * fabs((double)want[i]))) bad++;
    if (d > maxd || d != d) maxd = d, worst = i;
  }
  printf("%s %s: max |diff| %.3g at [%zu] over %zu\n", bad ? "FAIL" : "ok  ", what, maxd, worst, n);
  if (bad) LAB.failures++;
  return bad == 0;
}

static inline void lab_fill(float *x, size_t n, rlvr_rng *r, float scale, rlvr_dtype dt) {
  for (size_t i = 0; i < n; i++) {
    x[i] = scale * rlvr_rng_normal(r);
    if (dt == RLVR_DTYPE_BF16) x[i] = rlvr_bf16_round(x[i]);
  }
}

/* host floats -> a new device tensor of dtype dt */
static inline void *lab_upload(const float *x, size_t n, rlvr_dtype dt) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, n * rlvr_dtype_size(dt)));
  if (dt == RLVR_DTYPE_F32) {
    CUDA_CHECK(cudaMemcpy(d, x, n * 4, cudaMemcpyHostToDevice));
  } else {
    rlvr_bf16 *t = (rlvr_bf16 *)malloc(n * 2);
    for (size_t i = 0; i < n; i++) t[i] = rlvr_bf16_from_float(x[i]);
    CUDA_CHECK(cudaMemcpy(d, t, n * 2, cudaMemcpyHostToDevice));
    free(t);
  }
  /* a pageable cudaMemcpy may return before the device has the data, and
   * the lab's streams do not wait for the legacy default stream */
  CUDA_CHECK(cudaDeviceSynchronize());
  return d;
}

/* host -> device bytes, complete on return (see lab_upload) */
static inline void lab_h2d(void *dst, const void *src, size_t bytes) {
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());
}

static inline void lab_download(float *x, const void *d, size_t n, rlvr_dtype dt) {
  CUDA_CHECK(cudaStreamSynchronize(LAB.stream));
  if (dt == RLVR_DTYPE_F32) {
    CUDA_CHECK(cudaMemcpy(x, d, n * 4, cudaMemcpyDeviceToHost));
  } else {
    rlvr_bf16 *t = (rlvr_bf16 *)malloc(n * 2);
    CUDA_CHECK(cudaMemcpy(t, d, n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++) x[i] = rlvr_bf16_to_float(t[i]);
    free(t);
  }
}

#endif
