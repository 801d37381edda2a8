/* test_cudasim.cu — the CPU emulation of CUDA (sim/, docs/cuda_sim.md)
 * against what CUDA specifies, so that a GPU test passing on it means the
 * kernels are right rather than the emulation lenient:
 *   - barriers and static shared memory (block reductions, sizes that are
 *     not multiples of the block), dynamic shared memory and its limit;
 *   - warp shuffles (xor, down, up, indexed; widths 32, 16, 8) and votes
 *     against the CUDA programming guide's definitions, written out here;
 *   - launch configurations CUDA refuses, copy directions and ranges,
 *     new device memory filled with 0xFF;
 *   - the bugs a GPU faults or hangs on, each in a child process that must
 *     die with a message naming it: a host pointer given to a kernel, a
 *     write past the end of an allocation, a use after free, a barrier in
 *     divergent code, a shuffle that reads a lane that has returned;
 *   - CUDA graphs (capture, replay, what a capture refuses);
 *   - cuBLASLt and cublasGemmEx products, every transpose, fp32 and bf16,
 *     with the bias epilogue, against a double-precision loop here, and
 *     the shapes they refuse;
 *   - NCCL: a broadcast between two processes (this program run again).
 * Expected values come from the definitions, never from the emulation. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

static int g_checks = 0, g_failed = 0;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    g_checks++;                                                                                    \
    if (!(cond)) {                                                                                 \
      g_failed++;                                                                                  \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                       \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
    }                                                                                              \
  } while (0)

#define CK(call)                                                                                   \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    if (e_ != cudaSuccess) {                                                                       \
      printf("FAIL %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_));        \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* ---- kernels ---- */

__global__ void block_sum_kernel(long long *out, const int *x, int n) {
  __shared__ long long part[1024];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  part[threadIdx.x] = i < n ? x[i] : 0;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

/* out[kind][t] for every thread t of one block */
__global__ void shuffle_kernel(int *out, int n, int arg, int width) {
  const int t = threadIdx.x;
  const int v = 1000 + 7 * t;
  out[0 * n + t] = __shfl_xor_sync(0xffffffffu, v, arg, width);
  out[1 * n + t] = __shfl_down_sync(0xffffffffu, v, (unsigned)arg, width);
  out[2 * n + t] = __shfl_up_sync(0xffffffffu, v, (unsigned)arg, width);
  out[3 * n + t] = __shfl_sync(0xffffffffu, v, arg, width);
  const double d = __shfl_xor_sync(0xffffffffu, 0.5 + t, 1);
  out[4 * n + t] = (int)(d * 2.0);
  out[5 * n + t] = (int)__ballot_sync(0xffffffffu, t % 3 == 0);
  out[6 * n + t] = __any_sync(0xffffffffu, t == 5) + 2 * __all_sync(0xffffffffu, t < 1000);
}

__global__ void reverse_kernel(float *y, const float *x, int n) {
  extern __shared__ float buf[];
  const int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  buf[t] = i < n ? x[i] : -1.0f;
  __syncthreads();
  const int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - t);
  if (j < n) y[j] = buf[t];
}

__global__ void fill_kernel(float *x, int n, float v) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = v;
}

__global__ void add_kernel(float *x, int n, float v) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] += v;
}

__global__ void divergent_barrier_kernel(float *x) {
  if (threadIdx.x < 16) {
    __syncthreads();
    x[threadIdx.x] = 1.0f;
  } else {
    x[threadIdx.x] = 2.0f;
    __syncthreads();
    x[threadIdx.x] += 1.0f;
  }
}

__global__ void shuffle_vs_barrier_kernel(float *x) {
  float v = (float)threadIdx.x;
  if (threadIdx.x % 32 < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  else __syncthreads();
  x[threadIdx.x] = v;
}

__global__ void early_return_shuffle_kernel(float *x) {
  if (threadIdx.x % 32 >= 16) return;
  x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 16);
}

__global__ void early_return_barrier_kernel(int *x) {
  __shared__ int s[64];
  if (threadIdx.x >= 48) return; /* returned threads count as arrived (Volta and later) */
  s[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  x[threadIdx.x] = s[47 - threadIdx.x];
}

/* ---- helpers ---- */

/* Runs f in a child process; true when the child dies (abort, a fault)
 * with one of the '|'-separated needles in its stderr (NULL: any). */
template <typename F>
static bool dies_with(F f, const char *needle) {
  int p[2];
  if (pipe(p)) return false;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 2);
    f();
    cudaDeviceSynchronize();
    _exit(0); /* it did not die */
  }
  close(p[1]);
  std::string err;
  char buf[512];
  ssize_t k;
  while ((k = read(p[0], buf, sizeof buf)) > 0) err.append(buf, (size_t)k);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  /* a signal, or (under AddressSanitizer, which reports faults itself) a
   * failing exit */
  const bool died = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
  bool said = !needle;
  for (const char *p = needle; p && *p;) { /* alternatives separated by '|' */
    const char *bar = strchr(p, '|');
    const std::string alt(p, bar ? (size_t)(bar - p) : strlen(p));
    said = said || err.find(alt) != std::string::npos;
    p = bar ? bar + 1 : nullptr;
  }
  if (needle && (!died || !said)) printf("     child: %s, stderr: %s\n", died ? "died" : "exited", err.c_str());
  return died && said;
}

static void *dmalloc(size_t bytes) {
  void *p = nullptr;
  CK(cudaMalloc(&p, bytes));
  return p;
}

/* ---- tests ---- */

static void test_barriers() {
  const int n = 100003;
  std::vector<int> x(n);
  for (int i = 0; i < n; i++) x[i] = (i * 37) % 1001 - 500;
  for (int block : {32, 256, 1024}) {
    const int blocks = (n + block - 1) / block;
    int *dx = (int *)dmalloc(n * sizeof(int));
    long long *dout = (long long *)dmalloc(blocks * sizeof(long long));
    CK(cudaMemcpy(dx, x.data(), n * sizeof(int), cudaMemcpyHostToDevice));
    block_sum_kernel<<<blocks, block>>>(dout, dx, n);
    CK(cudaGetLastError());
    std::vector<long long> out(blocks);
    CK(cudaMemcpy(out.data(), dout, blocks * sizeof(long long), cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int b = 0; b < blocks; b++) {
      long long want = 0;
      for (int i = b * block; i < n && i < (b + 1) * block; i++) want += x[i];
      bad += out[b] != want;
    }
    CHECK(bad == 0, "block %d: %d of %d block sums wrong", block, bad, blocks);
    CK(cudaFree(dx));
    CK(cudaFree(dout));
  }
  int *dx = (int *)dmalloc(64 * sizeof(int));
  early_return_barrier_kernel<<<1, 64>>>(dx);
  CK(cudaGetLastError());
  int h[64];
  CK(cudaMemcpy(h, dx, sizeof h, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int t = 0; t < 48; t++) bad += h[t] != 47 - t;
  for (int t = 48; t < 64; t++) bad += h[t] != -1; /* never written: still the 0xFF fill */
  CHECK(bad == 0, "barrier after some threads returned: %d wrong", bad);
  CK(cudaFree(dx));
  printf("ok   barriers and static shared memory (block sums at 32/256/1024 threads, early returns)\n");
}

static void test_shuffles() {
  const int n = 96; /* three warps */
  int *dout = (int *)dmalloc(7 * n * sizeof(int));
  for (int width : {32, 16, 8})
    for (int arg : {1, 3, 5}) {
      shuffle_kernel<<<1, n>>>(dout, n, arg, width);
      CK(cudaGetLastError());
      std::vector<int> out(7 * n);
      CK(cudaMemcpy(out.data(), dout, out.size() * sizeof(int), cudaMemcpyDeviceToHost));
      int bad = 0;
      for (int t = 0; t < n; t++) {
        const int lane = t % 32, warp0 = t - lane;
        auto val = [&](int l) { return 1000 + 7 * (warp0 + l); };
        /* the programming guide: lanes are split into groups of width;
         * xor: lane ^ mask (own value if that leaves the group), down:
         * lane + delta unless it leaves the group, up: lane - delta unless
         * below the group, idx: srcLane % width within the group */
        const int seg = lane / width * width, in_seg = lane % width;
        const int x = lane ^ arg, xo = (x / width == lane / width) ? val(x) : val(lane);
        const int dn = in_seg + arg < width ? val(lane + arg) : val(lane);
        const int up = in_seg >= arg ? val(lane - arg) : val(lane);
        const int ix = val(seg + arg % width);
        const int want[5] = {xo, dn, up, ix, 2 * (t ^ 1) + 1};
        for (int c = 0; c < 5; c++)
          if (out[c * n + t] != want[c]) {
            if (bad < 5) printf("     width %d arg %d thread %d kind %d: %d, expected %d\n", width, arg, t, c, out[c * n + t], want[c]);
            bad++;
          }
        unsigned ballot = 0;
        for (int l = 0; l < 32; l++)
          if ((warp0 + l) % 3 == 0) ballot |= 1u << l;
        if ((unsigned)out[5 * n + t] != ballot || out[6 * n + t] != (warp0 == 0 ? 1 : 0) + 2) {
          if (bad < 5) printf("     thread %d: ballot %x (expected %x), any+2all %d\n", t, (unsigned)out[5 * n + t], ballot, out[6 * n + t]);
          bad++;
        }
      }
      CHECK(bad == 0, "width %d arg %d: %d wrong", width, arg, bad);
    }
  CK(cudaFree(dout));
  printf("ok   warp shuffles (xor, down, up, idx at widths 32/16/8, double) and votes (ballot, any, all)\n");
}

static void test_dynamic_smem_and_config() {
  const int n = 1000;
  std::vector<float> x(n);
  for (int i = 0; i < n; i++) x[i] = (float)i;
  float *dx = (float *)dmalloc(n * 4), *dy = (float *)dmalloc(n * 4);
  CK(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  reverse_kernel<<<(n + 127) / 128, 128, 128 * sizeof(float)>>>(dy, dx, n);
  CK(cudaGetLastError());
  std::vector<float> y(n);
  CK(cudaMemcpy(y.data(), dy, n * 4, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int b = 0; b * 128 < n; b++)
    for (int t = 0; t < 128; t++) {
      const int j = b * 128 + (127 - t), i = b * 128 + t;
      if (j < n) bad += y[j] != (i < n ? x[i] : -1.0f);
    }
  CHECK(bad == 0, "dynamic shared memory: %d wrong", bad);
  /* more than 48 KiB without the attribute: refused, nothing runs */
  CK(cudaMemset(dy, 0, n * 4));
  reverse_kernel<<<1, 128, 64 << 10>>>(dy, dx, n);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue, "64 KiB of dynamic shared memory without the attribute");
  CK(cudaFuncSetAttribute(reverse_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10));
  reverse_kernel<<<1, 128, 64 << 10>>>(dy, dx, n);
  CHECK(cudaGetLastError() == cudaSuccess, "64 KiB with the attribute");
  cudaFuncAttributes fa;
  CK(cudaFuncGetAttributes(&fa, reverse_kernel));
  CHECK(fa.maxThreadsPerBlock == 1024 && fa.maxDynamicSharedSizeBytes == (64 << 10), "function attributes: %d, %d",
        fa.maxThreadsPerBlock, fa.maxDynamicSharedSizeBytes);
  /* refused configurations: nothing runs, the error is reported once */
  CK(cudaMemset(dy, 0, n * 4));
  fill_kernel<<<1, 2048>>>(dy, n, 5.0f);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block");
  CHECK(cudaGetLastError() == cudaSuccess, "the error is cleared once read");
  fill_kernel<<<0, 128>>>(dy, n, 5.0f);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "an empty grid");
  fill_kernel<<<dim3(1, 70000), 32>>>(dy, n, 5.0f);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid.y over 65535");
  CK(cudaMemcpy(y.data(), dy, n * 4, cudaMemcpyDeviceToHost));
  bad = 0;
  for (int i = 0; i < n; i++) bad += y[i] != 0.0f;
  CHECK(bad == 0, "a refused launch ran (%d written)", bad);
  /* copies: kinds and ranges */
  CHECK(cudaMemcpy(y.data(), dx, n * 4, cudaMemcpyHostToDevice) != cudaSuccess, "host destination, kind H2D");
  CHECK(cudaMemcpy(dy, x.data(), n * 4, cudaMemcpyDeviceToHost) != cudaSuccess, "host source, kind D2H");
  CHECK(cudaMemcpy(dy, x.data(), (n + 1) * 4, cudaMemcpyHostToDevice) != cudaSuccess, "a copy past the end");
  CHECK(cudaMemcpy(dy + 1, dx, n * 4, cudaMemcpyDeviceToDevice) != cudaSuccess, "an offset copy past the end");
  cudaGetLastError();
  /* new memory reads as 0xFF bytes */
  unsigned char *fresh = (unsigned char *)dmalloc(100);
  unsigned char hb[100];
  CK(cudaMemcpy(hb, fresh, 100, cudaMemcpyDeviceToHost));
  bad = 0;
  for (int i = 0; i < 100; i++) bad += hb[i] != 0xFF;
  CHECK(bad == 0, "fresh device memory is not 0xFF-filled (%d bytes)", bad);
  CK(cudaFree(fresh));
  CK(cudaFree(dx));
  CK(cudaFree(dy));
  printf("ok   dynamic shared memory and its limit, refused launches, copy kinds and ranges, 0xFF fill\n");
}

static void test_faults() {
  float *d = (float *)dmalloc(256 * sizeof(float));
  static float host[256];
  CHECK(dies_with([&] { fill_kernel<<<1, 256>>>(host, 256, 1.0f); }, "not device memory"),
        "a host pointer given to a kernel");
  CHECK(dies_with([&] { fill_kernel<<<4, 256>>>(d, 256 + 1024 + 64, 1.0f); }, "invalid access to device memory|SEGV"),
        "a write a page past the end");
  float *gone = (float *)dmalloc(4096);
  CK(cudaFree(gone));
  CHECK(dies_with([&] { fill_kernel<<<1, 32>>>(gone, 32, 1.0f); }, "not device memory"), "a freed pointer");
  CHECK(dies_with([&] { divergent_barrier_kernel<<<1, 64>>>(d); }, "divergent"), "__syncthreads in divergent code");
  CHECK(dies_with([&] { shuffle_vs_barrier_kernel<<<1, 64>>>(d); }, "deadlock"), "a shuffle and a barrier waiting on each other");
  CHECK(dies_with([&] { early_return_shuffle_kernel<<<1, 32>>>(d); }, "did not take part"),
        "a shuffle reading a returned lane");
  CHECK(!dies_with([&] { fill_kernel<<<1, 256>>>(d, 256, 1.0f); }, nullptr), "a correct launch does not die");
  CK(cudaFree(d));
  printf("ok   faults: host pointer, write past the end, use after free, divergent barrier, deadlock, shuffle of a "
         "returned lane\n");
}

static void test_graphs() {
  const int n = 300;
  float *d = (float *)dmalloc(n * 4);
  float *pinned = nullptr;
  CK(cudaMallocHost(&pinned, n * 4));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  fill_kernel<<<2, 256, 0, s>>>(d, n, 1.0f);
  add_kernel<<<2, 256, 0, s>>>(d, n, 2.5f);
  CK(cudaMemcpyAsync(pinned, d, n * 4, cudaMemcpyDeviceToHost, s));
  cudaGraph_t g;
  CK(cudaStreamEndCapture(s, &g));
  CHECK(pinned[0] != 3.5f, "captured work ran during the capture");
  cudaGraphExec_t ge;
  CK(cudaGraphInstantiate(&ge, g, 0));
  for (int rep = 0; rep < 2; rep++) {
    memset(pinned, 0, n * 4);
    CK(cudaGraphLaunch(ge, s));
    CK(cudaStreamSynchronize(s));
    int bad = 0;
    for (int i = 0; i < n; i++) bad += pinned[i] != 3.5f;
    CHECK(bad == 0, "replay %d: %d wrong", rep, bad);
  }
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  /* what a capture refuses */
  static float pageable[300];
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemcpyAsync(pageable, d, n * 4, cudaMemcpyDeviceToHost, s) == cudaErrorStreamCaptureUnsupported,
        "a pageable copy in a capture");
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated, "the capture is invalidated");
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaStreamSynchronize(s) == cudaErrorStreamCaptureUnsupported, "a synchronize in a capture");
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated, "invalidated by the synchronize");
  cudaGetLastError();
  CK(cudaStreamDestroy(s));
  CK(cudaFreeHost(pinned));
  CK(cudaFree(d));
  printf("ok   CUDA graphs: capture, two replays, refused pageable copy and synchronize\n");
}

static float bf16_round(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

static void test_blas() {
  cublasLtHandle_t lt;
  cublasLtCreate(&lt);
  cublasHandle_t blas;
  cublasCreate(&blas);
  const int m = 37, n = 19, k = 53;
  int cases = 0;
  for (int bf = 0; bf < 2; bf++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int use_bias = 0; use_bias < 2; use_bias++) {
          const cudaDataType_t ab = bf ? CUDA_R_16BF : CUDA_R_32F;
          const size_t es = bf ? 2 : 4;
          const int arows = ta ? k : m, acols = ta ? m : k, lda = arows + 3;
          const int brows = tb ? n : k, bcols = tb ? k : n, ldb = brows + 1;
          const int ldd = m + 2;
          std::vector<float> A((size_t)lda * acols), B((size_t)ldb * bcols), bias(m), D0((size_t)ldd * n);
          for (size_t i = 0; i < A.size(); i++) A[i] = bf16_round((float)sin(0.37 * i + bf));
          for (size_t i = 0; i < B.size(); i++) B[i] = bf16_round((float)cos(0.11 * i + ta));
          for (int i = 0; i < m; i++) bias[i] = 0.25f * i;
          for (size_t i = 0; i < D0.size(); i++) D0[i] = 0.5f;
          auto up = [&](const std::vector<float> &h, cudaDataType_t t) {
            void *dp = dmalloc(h.size() * (t == CUDA_R_16BF ? 2 : 4));
            if (t == CUDA_R_16BF) {
              std::vector<__nv_bfloat16> b(h.size());
              for (size_t i = 0; i < h.size(); i++) b[i] = __float2bfloat16_rn(h[i]);
              CK(cudaMemcpy(dp, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
            } else {
              CK(cudaMemcpy(dp, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
            }
            return dp;
          };
          void *dA = up(A, ab), *dB = up(B, ab), *dD = up(D0, CUDA_R_32F), *dbias = up(bias, CUDA_R_32F);
          (void)es;
          cublasLtMatmulDesc_t op;
          cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
          cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
          cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa);
          cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb);
          if (use_bias) {
            cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
            cudaDataType_t bt = CUDA_R_32F;
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi);
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias, sizeof dbias);
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
          }
          cublasLtMatrixLayout_t la, lb, ld;
          cublasLtMatrixLayoutCreate(&la, ab, arows, acols, lda);
          cublasLtMatrixLayoutCreate(&lb, ab, brows, bcols, ldb);
          cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, ldd);
          const float alpha = 1.5f, beta = use_bias ? 0.0f : 2.0f;
          cublasLtMatmulHeuristicResult_t heur;
          int found = 0;
          cublasLtMatmulPreference_t pref;
          cublasLtMatmulPreferenceCreate(&pref);
          CHECK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 1, &heur, &found) == CUBLAS_STATUS_SUCCESS &&
                    found == 1,
                "heuristic");
          CHECK(cublasLtMatmul(lt, op, &alpha, dA, la, dB, lb, &beta, dD, ld, dD, ld, &heur.algo, nullptr, 0, 0) ==
                    CUBLAS_STATUS_SUCCESS,
                "matmul");
          std::vector<float> D((size_t)ldd * n);
          CK(cudaMemcpy(D.data(), dD, D.size() * 4, cudaMemcpyDeviceToHost));
          double worst = 0;
          for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
              double acc = 0;
              for (int q = 0; q < k; q++) {
                const double a = ta ? A[q + (size_t)i * lda] : A[i + (size_t)q * lda];
                const double b = tb ? B[j + (size_t)q * ldb] : B[q + (size_t)j * ldb];
                acc += a * b;
              }
              double want = alpha * acc + beta * 0.5 + (use_bias ? bias[i] : 0.0);
              const double diff = fabs(D[i + (size_t)j * ldd] - want) / (1.0 + fabs(want));
              if (diff > worst) worst = diff;
            }
          int pad_bad = 0; /* the rows between m and ldd are not D's */
          for (int j = 0; j < n; j++)
            for (int i = m; i < ldd; i++) pad_bad += D[i + (size_t)j * ldd] != 0.5f;
          CHECK(worst < 1e-5 && pad_bad == 0, "%s ta=%d tb=%d bias=%d: worst relative diff %.3g, padding touched %d",
                bf ? "bf16" : "f32", ta, tb, use_bias, worst, pad_bad);
          /* cublasGemmEx: the same product without the bias, D = alpha AB + beta D */
          if (!use_bias) {
            CK(cudaMemcpy(dD, D0.data(), D0.size() * 4, cudaMemcpyHostToDevice));
            CHECK(cublasGemmEx(blas, opa, opb, m, n, k, &alpha, dA, ab, lda, dB, ab, ldb, &beta, dD, CUDA_R_32F, ldd,
                               CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS,
                  "gemmex");
            std::vector<float> E((size_t)ldd * n);
            CK(cudaMemcpy(E.data(), dD, E.size() * 4, cudaMemcpyDeviceToHost));
            int same = 1;
            for (int j = 0; j < n; j++)
              for (int i = 0; i < m; i++) same &= E[i + (size_t)j * ldd] == D[i + (size_t)j * ldd];
            CHECK(same, "GemmEx and Lt differ");
          }
          /* shapes cuBLASLt refuses */
          cublasLtMatrixLayout_t bad_l;
          cublasLtMatrixLayoutCreate(&bad_l, ab, arows, acols + 1, lda);
          CHECK(cublasLtMatmulAlgoGetHeuristic(lt, op, bad_l, lb, ld, ld, pref, 1, &heur, &found) != CUBLAS_STATUS_SUCCESS,
                "a k that does not match");
          cublasLtMatrixLayoutDestroy(bad_l);
          cublasLtMatrixLayoutCreate(&bad_l, CUDA_R_32F, m, n, m - 1);
          CHECK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, bad_l, bad_l, pref, 1, &heur, &found) != CUBLAS_STATUS_SUCCESS,
                "a leading dimension below the rows");
          cublasLtMatrixLayoutDestroy(bad_l);
          cublasLtMatmulPreferenceDestroy(pref);
          cublasLtMatrixLayoutDestroy(la);
          cublasLtMatrixLayoutDestroy(lb);
          cublasLtMatrixLayoutDestroy(ld);
          cublasLtMatmulDescDestroy(op);
          CK(cudaFree(dA));
          CK(cudaFree(dB));
          CK(cudaFree(dD));
          CK(cudaFree(dbias));
          cases++;
        }
  cublasLtDestroy(lt);
  cublasDestroy(blas);
  printf("ok   cuBLASLt and GemmEx: %d products (f32, bf16 in; transposes; bias; padded leading dimensions) "
         "within 1e-5 of a double loop; mismatched shapes refused\n",
         cases);
}

/* NCCL: rank 0 here, rank 1 this program run again with the id in hex. */
static int nccl_rank1(const char *hex) {
  ncclUniqueId id;
  for (int i = 0; i < (int)sizeof id; i++) sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&id.internal[i]);
  ncclComm_t c;
  if (ncclCommInitRank(&c, 2, id, 1) != ncclSuccess) return 2;
  const int n = 1 << 18;
  unsigned char *d = (unsigned char *)dmalloc(n);
  if (ncclBroadcast(d, d, n, ncclUint8, 0, c, 0) != ncclSuccess) return 3;
  ncclResult_t st;
  ncclCommGetAsyncError(c, &st);
  if (st != ncclSuccess) return 4;
  std::vector<unsigned char> h(n);
  CK(cudaMemcpy(h.data(), d, n, cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; i++)
    if (h[i] != (unsigned char)(i * 131 + 7)) return 5;
  ncclCommDestroy(c);
  return 0;
}

static void test_nccl() {
  ncclUniqueId id;
  CHECK(ncclGetUniqueId(&id) == ncclSuccess, "unique id");
  char hex[2 * sizeof id + 1];
  for (int i = 0; i < (int)sizeof id; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)id.internal[i]);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char *args[] = {(char *)"test_cudasim", (char *)"--nccl-rank1", hex, nullptr};
    execv("/proc/self/exe", args);
    _exit(127);
  }
  ncclComm_t c;
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  ncclResult_t r = ncclCommInitRankConfig(&c, 2, id, 0, &cfg);
  for (int i = 0; i < 1000 && r == ncclInProgress; i++) {
    usleep(10000);
    ncclCommGetAsyncError(c, &r);
  }
  CHECK(r == ncclSuccess, "rank 0 joins (%s)", ncclGetErrorString(r));
  const int n = 1 << 18;
  std::vector<unsigned char> h(n);
  for (int i = 0; i < n; i++) h[i] = (unsigned char)(i * 131 + 7);
  unsigned char *d = (unsigned char *)dmalloc(n);
  CK(cudaMemcpy(d, h.data(), n, cudaMemcpyHostToDevice));
  CHECK(ncclGroupStart() == ncclSuccess && ncclBroadcast(d, d, n, ncclUint8, 0, c, 0) == ncclSuccess &&
            ncclGroupEnd() == ncclSuccess,
        "broadcast");
  ncclCommGetAsyncError(c, &r);
  CHECK(r == ncclSuccess, "after the broadcast: %s", ncclGetErrorString(r));
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "rank 1 (another process) exit status %d", WEXITSTATUS(st));
  ncclCommDestroy(c);
  CK(cudaFree(d));
  printf("ok   NCCL: 256 KiB broadcast from rank 0 to rank 1 in another process\n");
}

int main(int argc, char **argv) {
  if (argc > 2 && !strcmp(argv[1], "--nccl-rank1")) return nccl_rank1(argv[2]);
  int n = 0;
  CK(cudaGetDeviceCount(&n));
  test_barriers();
  test_shuffles();
  test_dynamic_smem_and_config();
  test_faults();
  test_graphs();
  test_blas();
  test_nccl();
  if (g_failed) {
    printf("%d of %d checks FAILED\n", g_failed, g_checks);
    return 1;
  }
  printf("all %d checks passed\n", g_checks);
  return 0;
}
