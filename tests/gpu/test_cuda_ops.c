/* test_cuda_ops.c — every CUDA kernel of model/cuda/ops.h against the CPU
 * reference (model/kernels.h, optim.h, sampler.h), on random inputs with
 * shapes that are not multiples of the kernels' block sizes (32-lane warps,
 * 8-row blocks, 256/512/1024-thread blocks, 128-row chunks, 8-bit radix).
 *
 * bf16 runs: the inputs are rounded to bf16 on the host first, so the CPU
 * reference computes in float32 on exactly the values the GPU reads; the
 * GPU then differs only by its float32 summation order and the final
 * rounding of a bf16 output (half an ulp: 2^-8 relative = 3.9e-3). Each
 * tolerance below says which of these it covers.
 *
 * Exits 77 (ctest: skipped) when there is no CUDA device.
 * Status: compiled, not yet run on a GPU. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/cuda/device.h"
#include "model/cuda/ops.h"
#include "model/cuda/runtime.h"
#include "model/forward.h"
#include "model/kernels.h"
#include "model/logprob.h"
#include "model/optim.h"
#include "model/sampler.h"
#include "testing.h"

#define CK(call)                                                                                   \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    if (e_ != cudaSuccess) {                                                                       \
      fprintf(stderr, "CUDA error %s in %s at %s:%d\n", cudaGetErrorString(e_), #call, __FILE__, __LINE__); \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* bf16 output rounding (half an ulp, 2^-8 relative) plus a little. */
#define BF16_RTOL 5e-3

static rlvr_cuda_context ctx;

/* Copies and fills go through ctx.stream (non-blocking: it does not wait for
 * the legacy default stream that plain cudaMemcpy/cudaMemset use, and a
 * pageable cudaMemcpy may return before the device has the data), then wait. */
static void h2d(void *dst, const void *src, size_t bytes) {
  CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream));
  CK(cudaStreamSynchronize(ctx.stream));
}

static void d2h(void *dst, const void *src, size_t bytes) {
  CK(cudaStreamSynchronize(ctx.stream));
  CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream));
  CK(cudaStreamSynchronize(ctx.stream));
}

static void dzero(void *dst, size_t bytes) {
  CK(cudaMemsetAsync(dst, 0, bytes, ctx.stream));
  CK(cudaStreamSynchronize(ctx.stream));
}

static void *dmalloc(size_t bytes) {
  void *p = NULL;
  CK(cudaMalloc(&p, bytes ? bytes : 1));
  return p;
}

static float *hmalloc(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static void fill(float *x, size_t n, rlvr_rng *r, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = scale * rlvr_rng_normal(r);
}

/* Rounds in place when dt is bf16, so the CPU sees what the GPU reads. */
static void quantize(float *x, size_t n, rlvr_dtype dt) {
  if (dt == RLVR_DTYPE_BF16)
    for (size_t i = 0; i < n; i++) x[i] = rlvr_bf16_round(x[i]);
}

/* A device copy of host floats in dtype dt (after quantize). */
static void *to_dev(const float *x, size_t n, rlvr_dtype dt) {
  void *d = dmalloc(n * rlvr_dtype_size(dt));
  rlvr_cuda_upload(d, dt, x, n, ctx.stream);
  return d;
}

static void *to_dev_int(const int *x, size_t n) {
  void *d = dmalloc(n * sizeof(int));
  h2d(d, x, n * sizeof(int));
  return d;
}

static void from_dev(float *x, const void *d, size_t n, rlvr_dtype dt) {
  CK(cudaStreamSynchronize(ctx.stream));
  rlvr_cuda_download(x, d, dt, n, ctx.stream);
}

static const char *dtname(rlvr_dtype dt) { return dt == RLVR_DTYPE_BF16 ? "bf16" : "f32"; }

/* ------------------------------------------------------------------------ */

static void test_params_roundtrip(void) {
  rlvr_model_config c = {0};
  c.arch = RLVR_ARCH_QWEN2;
  c.vocab_size = 97, c.hidden_size = 40, c.intermediate_size = 72, c.num_layers = 2;
  c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 10, c.max_position = 64;
  c.rope_theta = 10000, c.rms_eps = 1e-6, c.attn_bias = 1;
  rlvr_model m;
  rlvr_model_init_random(&m, &c, 7);
  rlvr_rng r;
  rlvr_rng_seed(&r, 3);
  fill(m.params_memory, m.num_params, &r, 1.0f); /* every value distinct, biases too */
  rlvr_cuda_params dp;
  rlvr_cuda_params_build(&dp, &m, 1);
  rlvr_cuda_params_upload(&dp, m.params_memory, ctx.stream);
  float *back = hmalloc(m.num_params), *b16 = hmalloc(m.num_params), *want16 = hmalloc(m.num_params);
  rlvr_cuda_params_download(&dp, back, ctx.stream);
  CHECK_CLOSE("params f32 upload/download (exact)", back, m.params_memory, m.num_params, 0, 0);
  rlvr_cuda_download(b16, dp.bf16, RLVR_DTYPE_BF16, m.num_params, ctx.stream);
  for (size_t i = 0; i < m.num_params; i++) want16[i] = rlvr_bf16_round(m.params_memory[i]);
  /* The device's __float2bfloat16_rn and the host's rounding are both
   * round-to-nearest-even: exactly equal. */
  CHECK_CLOSE("params bf16 copy == host rounding (exact)", b16, want16, m.num_params, 0, 0);
  /* Named pointers land where the host's do. */
  CHECK(dp.p.wk - dp.f32 == m.params.wk - m.params_memory);
  CHECK(dp.p.final_norm - dp.f32 == m.params.final_norm - m.params_memory);
  CHECK(rlvr_cuda_params_bf16_at(&dp, dp.p.w_up) - dp.bf16 == m.params.w_up - m.params_memory);
  rlvr_cuda_params_free(&dp);
  rlvr_cuda_params_free(&dp); /* twice: free accepts a freed object */
  rlvr_model_free(&m);
  free(back), free(b16), free(want16);
}

static void test_linear(int M, int N, int K, int with_bias, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(M * 7919 + N * 31 + K) + (uint64_t)dt);
  const size_t nx = (size_t)M * K, nw = (size_t)N * K, ny = (size_t)M * N;
  float *X = hmalloc(nx), *W = hmalloc(nw), *b = hmalloc(N), *Y = hmalloc(ny), *Yr = hmalloc(ny);
  fill(X, nx, &r, 1), fill(W, nw, &r, 1.0f / sqrtf((float)K)), fill(b, N, &r, 1);
  quantize(X, nx, dt), quantize(W, nw, dt), quantize(b, N, dt);
  float *scratch = hmalloc(rlvr_linear_scratch(M, K));
  rlvr_linear_forward(Yr, X, W, with_bias ? b : NULL, M, N, K, scratch);
  void *dX = to_dev(X, nx, dt), *dW = to_dev(W, nw, dt), *db = to_dev(b, N, dt), *dYd = dmalloc(ny * rlvr_dtype_size(dt));
  rlvr_cuda_linear_forward(&ctx, dYd, dX, dW, with_bias ? db : NULL, M, N, K, dt);
  from_dev(Y, dYd, ny, dt);
  char what[128];
  snprintf(what, sizeof what, "linear forward %s M=%d N=%d K=%d bias=%d", dtname(dt), M, N, K, with_bias);
  /* f32: both sides accumulate K products of O(1/sqrt K) in float32 in
   * different orders: a few sqrt(K) ulp of O(1). bf16: plus the output's
   * rounding. */
  if (dt == RLVR_DTYPE_F32) CHECK_CLOSE(what, Y, Yr, ny, 4e-6 * sqrt((double)K), 1e-5);
  else CHECK_CLOSE(what, Y, Yr, ny, 4e-6 * sqrt((double)K), BF16_RTOL);

  /* dX = dY W (+= onto 0.5), dW += dY^T X (onto -1), db += colsum dY (onto 0.25) */
  float *dy = hmalloc(ny), *dx = hmalloc(nx), *dxr = hmalloc(nx), *dw = hmalloc(nw), *dwr = hmalloc(nw);
  float *dbh = hmalloc(N), *dbr = hmalloc(N);
  fill(dy, ny, &r, 1), quantize(dy, ny, dt);
  for (size_t i = 0; i < nx; i++) dxr[i] = 0.5f;
  for (size_t i = 0; i < nw; i++) dwr[i] = -1.0f;
  for (int i = 0; i < N; i++) dbr[i] = 0.25f;
  void *ddY = to_dev(dy, ny, dt), *ddX = to_dev(dxr, nx, dt);
  float *ddW = to_dev(dwr, nw, RLVR_DTYPE_F32), *ddb = to_dev(dbr, N, RLVR_DTYPE_F32);
  float *cs = dmalloc(rlvr_cuda_colsum_scratch(M, N) * sizeof(float));
  rlvr_linear_backward_x(dxr, dy, W, M, N, K, 1);
  rlvr_linear_backward_w(dwr, dbr, dy, X, M, N, K);
  rlvr_cuda_linear_backward_x(&ctx, ddX, ddY, dW, M, N, K, 1, dt);
  rlvr_cuda_linear_backward_w(&ctx, ddW, ddb, cs, ddY, dX, M, N, K, dt);
  from_dev(dx, ddX, nx, dt), from_dev(dw, ddW, nw, RLVR_DTYPE_F32), from_dev(dbh, ddb, N, RLVR_DTYPE_F32);
  snprintf(what, sizeof what, "linear dX %s M=%d N=%d K=%d", dtname(dt), M, N, K);
  /* N products of O(1/sqrt K) ~ sqrt(N/K) terms; bf16 rounds the output */
  CHECK_CLOSE(what, dx, dxr, nx, 4e-6 * sqrt((double)N), dt == RLVR_DTYPE_F32 ? 1e-5 : BF16_RTOL);
  snprintf(what, sizeof what, "linear dW %s M=%d N=%d K=%d (f32 out)", dtname(dt), M, N, K);
  /* M products of O(1) terms, float32 output for both dtypes */
  CHECK_CLOSE(what, dw, dwr, nw, 4e-6 * sqrt((double)M) * 4, 1e-5);
  snprintf(what, sizeof what, "linear db %s M=%d N=%d", dtname(dt), M, N);
  CHECK_CLOSE(what, dbh, dbr, N, 4e-6 * sqrt((double)M) * 4, 1e-5);
  cudaFree(dX), cudaFree(dW), cudaFree(db), cudaFree(dYd), cudaFree(ddY), cudaFree(ddX), cudaFree(ddW), cudaFree(ddb);
  cudaFree(cs);
  free(X), free(W), free(b), free(Y), free(Yr), free(scratch), free(dy), free(dx), free(dxr), free(dw), free(dwr);
  free(dbh), free(dbr);
}

static void test_rmsnorm(int N, int C, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(N * 131 + C) + (uint64_t)dt);
  const size_t n = (size_t)N * C;
  const float eps = 1e-6f;
  float *x = hmalloc(n), *w = hmalloc(C), *y = hmalloc(n), *yr = hmalloc(n), *rs = hmalloc(N), *rsr = hmalloc(N);
  fill(x, n, &r, 2), fill(w, C, &r, 1);
  quantize(x, n, dt), quantize(w, C, dt);
  rlvr_rmsnorm_forward(yr, rsr, x, w, N, C, eps);
  void *dx = to_dev(x, n, dt), *dw = to_dev(w, C, dt), *dy = dmalloc(n * rlvr_dtype_size(dt));
  float *drs = dmalloc(N * sizeof(float));
  rlvr_cuda_rmsnorm_forward(dy, drs, dx, dw, N, C, eps, dt, ctx.stream);
  from_dev(y, dy, n, dt), from_dev(rs, drs, N, RLVR_DTYPE_F32);
  char what[128];
  snprintf(what, sizeof what, "rmsnorm forward y %s N=%d C=%d", dtname(dt), N, C);
  /* f32: sum of C squares in another order, ~1e-6 relative on rstd */
  CHECK_CLOSE(what, y, yr, n, 1e-6, dt == RLVR_DTYPE_F32 ? 1e-5 : BF16_RTOL);
  snprintf(what, sizeof what, "rmsnorm forward rstd %s N=%d C=%d", dtname(dt), N, C);
  CHECK_CLOSE(what, rs, rsr, N, 0, 1e-5);

  /* backward onto dx0 (quantized) and dw0 = 0.5 */
  float *g = hmalloc(n), *dxh = hmalloc(n), *dxr = hmalloc(n), *dwh = hmalloc(C), *dwr = hmalloc(C);
  fill(g, n, &r, 1), quantize(g, n, dt);
  fill(dxr, n, &r, 1), quantize(dxr, n, dt);
  for (int c = 0; c < C; c++) dwr[c] = 0.5f;
  void *dg = to_dev(g, n, dt), *ddx = to_dev(dxr, n, dt);
  float *ddw = to_dev(dwr, C, RLVR_DTYPE_F32);
  /* both sides use the CPU's rstd, so only the backward is compared */
  h2d(drs, rsr, N * sizeof(float));
  float *scratch = dmalloc(rlvr_cuda_rmsnorm_backward_scratch(N, C) * sizeof(float));
  rlvr_rmsnorm_backward(dxr, dwr, g, x, w, rsr, N, C);
  rlvr_cuda_rmsnorm_backward(ddx, ddw, scratch, dg, dx, dw, drs, N, C, dt, ctx.stream);
  from_dev(dxh, ddx, n, dt), from_dev(dwh, ddw, C, RLVR_DTYPE_F32);
  snprintf(what, sizeof what, "rmsnorm backward dx %s N=%d C=%d", dtname(dt), N, C);
  CHECK_CLOSE(what, dxh, dxr, n, 1e-5, dt == RLVR_DTYPE_F32 ? 1e-4 : BF16_RTOL);
  snprintf(what, sizeof what, "rmsnorm backward dw %s N=%d C=%d (f32 out)", dtname(dt), N, C);
  /* N terms of O(1) summed in other orders */
  CHECK_CLOSE(what, dwh, dwr, C, 1e-6 * sqrt((double)N) * 4, 1e-5);
  cudaFree(dx), cudaFree(dw), cudaFree(dy), cudaFree(drs), cudaFree(dg), cudaFree(ddx), cudaFree(ddw), cudaFree(scratch);
  free(x), free(w), free(y), free(yr), free(rs), free(rsr), free(g), free(dxh), free(dxr), free(dwh), free(dwr);
}

static void test_rope(int N, int n_heads, int D, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(N * 17 + D) + (uint64_t)dt);
  const int ld = n_heads * D + 6; /* rows wider than the heads: the stride is honoured */
  const int max_pos = 300, half = D / 2;
  const size_t n = (size_t)N * ld;
  float *x = hmalloc(n), *xr = hmalloc(n), *got = hmalloc(n);
  float *cs = hmalloc((size_t)max_pos * half), *sn = hmalloc((size_t)max_pos * half);
  int *pos = malloc(sizeof(int) * N);
  fill(x, n, &r, 1), quantize(x, n, dt);
  for (int i = 0; i < N; i++) pos[i] = (int)rlvr_rng_below(&r, max_pos);
  rlvr_rope_table(cs, sn, max_pos, D, 1e6);
  memcpy(xr, x, n * sizeof(float));
  void *dx = to_dev(x, n, dt);
  float *dcs = to_dev(cs, (size_t)max_pos * half, RLVR_DTYPE_F32), *dsn = to_dev(sn, (size_t)max_pos * half, RLVR_DTYPE_F32);
  int *dpos = to_dev_int(pos, N);
  char what[128];
  for (int inverse = 0; inverse <= 1; inverse++) {
    rlvr_rope_apply(xr, N, ld, n_heads, D, pos, cs, sn, inverse);
    if (!inverse) rlvr_cuda_rope_forward(dx, N, ld, n_heads, D, dpos, dcs, dsn, dt, ctx.stream);
    else rlvr_cuda_rope_backward(dx, N, ld, n_heads, D, dpos, dcs, dsn, dt, ctx.stream);
    from_dev(got, dx, n, dt);
    if (dt == RLVR_DTYPE_BF16) quantize(xr, n, dt); /* the device stores each step in bf16 */
    snprintf(what, sizeof what, "rope %s %s N=%d heads=%d D=%d", inverse ? "backward" : "forward", dtname(dt), N,
             n_heads, D);
    /* f32: the same float operations, explicitly rounded, on the same
     * table: the CPU's bits. bf16: one rounding of the same float result
     * (the reference was rounded the same way). */
    CHECK_CLOSE(what, got, xr, n, 0, 0);
  }
  cudaFree(dx), cudaFree(dcs), cudaFree(dsn), cudaFree(dpos);
  free(x), free(xr), free(got), free(cs), free(sn), free(pos);
}

static void test_swiglu_residual(size_t n, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, n + (uint64_t)dt);
  float *g = hmalloc(n), *u = hmalloc(n), *da = hmalloc(n), *act = hmalloc(n), *actr = hmalloc(n);
  float *dg = hmalloc(n), *dgr = hmalloc(n), *du = hmalloc(n), *dur = hmalloc(n);
  fill(g, n, &r, 3), fill(u, n, &r, 1), fill(da, n, &r, 1);
  quantize(g, n, dt), quantize(u, n, dt), quantize(da, n, dt);
  void *dgate = to_dev(g, n, dt), *dup = to_dev(u, n, dt), *ddact = to_dev(da, n, dt);
  void *dact = dmalloc(n * rlvr_dtype_size(dt)), *ddg = dmalloc(n * rlvr_dtype_size(dt)), *ddu = dmalloc(n * rlvr_dtype_size(dt));
  rlvr_swiglu_forward(actr, g, u, n);
  rlvr_swiglu_backward(dgr, dur, da, g, u, n);
  rlvr_cuda_swiglu_forward(dact, dgate, dup, n, dt, ctx.stream);
  rlvr_cuda_swiglu_backward(ddg, ddu, ddact, dgate, dup, n, dt, ctx.stream);
  from_dev(act, dact, n, dt), from_dev(dg, ddg, n, dt), from_dev(du, ddu, n, dt);
  char what[128];
  /* f32: CUDA's expf against the CPU's polynomial, each within ~2 ulp */
  const double rt = dt == RLVR_DTYPE_F32 ? 2e-6 : BF16_RTOL;
  snprintf(what, sizeof what, "swiglu forward %s n=%zu", dtname(dt), n);
  CHECK_CLOSE(what, act, actr, n, 1e-7, rt);
  snprintf(what, sizeof what, "swiglu backward dgate %s n=%zu", dtname(dt), n);
  /* 1 + g (1 - s) cancels near g = -1.28: an ulp of s there is ~2e-7 |dact up| absolute */
  CHECK_CLOSE(what, dg, dgr, n, 1e-5, rt);
  snprintf(what, sizeof what, "swiglu backward dup %s n=%zu", dtname(dt), n);
  CHECK_CLOSE(what, du, dur, n, 1e-7, rt);

  /* residual: out = a + b in place over a; one float addition, then (bf16)
   * one rounding of it: exactly the host's result rounded the same way */
  for (size_t i = 0; i < n; i++) actr[i] = g[i] + u[i];
  quantize(actr, n, dt);
  rlvr_cuda_residual_forward(dgate, dgate, dup, n, dt, ctx.stream);
  from_dev(act, dgate, n, dt);
  snprintf(what, sizeof what, "residual %s n=%zu (exact)", dtname(dt), n);
  CHECK_CLOSE(what, act, actr, n, 0, 0);
  cudaFree(dgate), cudaFree(dup), cudaFree(ddact), cudaFree(dact), cudaFree(ddg), cudaFree(ddu);
  free(g), free(u), free(da), free(act), free(actr), free(dg), free(dgr), free(du), free(dur);
}

static void test_logsoftmax(int N, int V, float temperature, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(N * 7 + V) + (uint64_t)dt + (uint64_t)(temperature * 100));
  const size_t n = (size_t)N * V;
  float *z = hmalloc(n), *s = hmalloc(V), *scratch = hmalloc(V);
  int *tgt = malloc(sizeof(int) * N);
  float *w = hmalloc(N), *u = hmalloc(N);
  fill(z, n, &r, 4), quantize(z, n, dt);
  for (int i = 0; i < N; i++) {
    tgt[i] = i % 5 == 4 ? -1 : (int)rlvr_rng_below(&r, V);
    w[i] = rlvr_rng_normal(&r), u[i] = 0.3f * rlvr_rng_normal(&r);
  }
  /* A very unlikely token in row 0. Not -inf: the CPU's clamped exp gives
   * such a token e^-87 and then an infinite entropy term (e^-87 * -inf); the
   * GPU kernels treat -inf as probability 0. */
  z[3] = -1e4f;
  /* CPU: forward.c's per-row sequence, backward.c's */
  float *lse_r = hmalloc(N), *ent_r = hmalloc(N), *lp_r = hmalloc(N), *dz_r = hmalloc(n);
  for (int i = 0; i < N; i++) {
    memcpy(s, z + (size_t)i * V, sizeof(float) * V);
    rlvr_logits_temperature(s, V, temperature);
    rlvr_logsoftmax_row(s, V, &lse_r[i], &ent_r[i], scratch);
    lp_r[i] = tgt[i] >= 0 ? s[tgt[i]] - lse_r[i] : 0.0f;
    rlvr_logsoftmax_row_backward(s, V, lse_r[i], ent_r[i], tgt[i], tgt[i] >= 0 ? w[i] : 0.0f, u[i]);
    rlvr_logits_temperature(s, V, temperature);
    memcpy(dz_r + (size_t)i * V, s, sizeof(float) * V);
  }
  void *dz = to_dev(z, n, dt);
  int *dt_ = to_dev_int(tgt, N);
  float *dw = to_dev(w, N, RLVR_DTYPE_F32), *du = to_dev(u, N, RLVR_DTYPE_F32);
  float *dlse = dmalloc(N * 4), *dent = dmalloc(N * 4), *dlp = dmalloc(N * 4);
  rlvr_cuda_logsoftmax_forward(dlse, dent, dlp, dz, dt_, N, V, temperature, dt, ctx.stream);
  float *lse = hmalloc(N), *ent = hmalloc(N), *lp = hmalloc(N), *lse2 = hmalloc(N), *g = hmalloc(n);
  from_dev(lse, dlse, N, RLVR_DTYPE_F32), from_dev(ent, dent, N, RLVR_DTYPE_F32), from_dev(lp, dlp, N, RLVR_DTYPE_F32);
  char what[128];
  /* All float32 on the same (bf16-exact) logits: the online merges and
   * another summation order cost a few ulp of values up to ~20. */
  snprintf(what, sizeof what, "logsoftmax lse %s N=%d V=%d T=%g", dtname(dt), N, V, temperature);
  CHECK_CLOSE(what, lse, lse_r, N, 2e-5, 1e-5);
  snprintf(what, sizeof what, "logsoftmax entropy %s N=%d V=%d T=%g", dtname(dt), N, V, temperature);
  CHECK_CLOSE(what, ent, ent_r, N, 2e-5, 1e-5);
  snprintf(what, sizeof what, "logsoftmax logprob %s N=%d V=%d T=%g", dtname(dt), N, V, temperature);
  CHECK_CLOSE(what, lp, lp_r, N, 2e-5, 1e-5);
  /* deterministic: a second run gives the same bits */
  rlvr_cuda_logsoftmax_forward(dlse, NULL, NULL, dz, NULL, N, V, temperature, dt, ctx.stream);
  from_dev(lse2, dlse, N, RLVR_DTYPE_F32);
  CHECK_MSG(memcmp(lse, lse2, N * sizeof(float)) == 0, "logsoftmax: two runs differ");
  /* backward with the CPU's lse/entropy (so only the backward is compared), in place */
  h2d(dlse, lse_r, N * 4);
  h2d(dent, ent_r, N * 4);
  rlvr_cuda_logsoftmax_backward(dz, dz, dlse, dent, dt_, dw, du, N, V, temperature, dt, ctx.stream);
  from_dev(g, dz, n, dt);
  snprintf(what, sizeof what, "logsoftmax backward %s N=%d V=%d T=%g", dtname(dt), N, V, temperature);
  /* p = e^(s - lse) by CUDA's expf vs the CPU's polynomial: ~1e-6 relative
   * of terms |w| p, |u| p |lp + H| <= ~10 */
  CHECK_CLOSE(what, g, dz_r, n, 1e-6, dt == RLVR_DTYPE_F32 ? 1e-4 : BF16_RTOL);
  cudaFree(dz), cudaFree(dt_), cudaFree(dw), cudaFree(du), cudaFree(dlse), cudaFree(dent), cudaFree(dlp);
  free(z), free(s), free(scratch), free(tgt), free(w), free(u), free(lse_r), free(ent_r), free(lp_r), free(dz_r);
  free(lse), free(ent), free(lp), free(lse2), free(g);
}

/* Training attention: the launchers (kernel2, flash-style tiles of 16
 * query slots and 32 keys, attention.cuh) and, when with_k1, the kernel1
 * launchers against the CPU, forward and backward. Shapes off every tile:
 * sequence lengths 1, 7, 65, 130 (tiles straddle sequences), D 40, 64, 80,
 * 128, 256 (not all multiples of 32 lanes; 256 needs the shared memory
 * opt-in), G = H/KVH 1, 2, 3, 7 (a tile's slots straddle rows). kernel1
 * (a warp reduction per score: slow in the CPU emulation) on a few shapes;
 * the lab checks it at every block size. */
static void test_attention(int B, const int *lens, int H, int KVH, int D, int with_k1, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(B * 1000 + H * 10 + D) + (uint64_t)dt);
  int *off = malloc(sizeof(int) * B), N = 0, max_len = 0;
  for (int b = 0; b < B; b++) {
    off[b] = N;
    N += lens[b];
    if (lens[b] > max_len) max_len = lens[b];
  }
  const int HD = H * D, KD = KVH * D;
  int *pos = malloc(sizeof(int) * N), *row_seq = malloc(sizeof(int) * N);
  size_t *col = malloc(sizeof(size_t) * N);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < lens[b]; t++) pos[off[b] + t] = t, row_seq[off[b] + t] = b, col[off[b] + t] = (size_t)off[b];
  float *q = hmalloc((size_t)N * HD), *k = hmalloc((size_t)N * KD), *v = hmalloc((size_t)N * KD);
  float *dout = hmalloc((size_t)N * HD);
  fill(q, (size_t)N * HD, &r, 1), fill(k, (size_t)N * KD, &r, 1), fill(v, (size_t)N * KD, &r, 1);
  fill(dout, (size_t)N * HD, &r, 1);
  quantize(q, (size_t)N * HD, dt), quantize(k, (size_t)N * KD, dt), quantize(v, (size_t)N * KD, dt);
  quantize(dout, (size_t)N * HD, dt);
  /* CPU: key rows as the store (kt NULL), ld = N columns */
  float *out_r = hmalloc((size_t)N * HD), *lse_r = hmalloc((size_t)N * H);
  float *scr = hmalloc((size_t)omp_get_max_threads() * rlvr_attention_scratch(max_len, D));
  const rlvr_kv_view kv = {NULL, k, v, (size_t)N, KD};
  rlvr_attention_forward(out_r, lse_r, q, &kv, N, pos, col, H, KVH, D, max_len, scr);
  float *kt = hmalloc((size_t)N * KD), *vt = hmalloc((size_t)N * KD);
  for (int i = 0; i < N; i++)
    for (int c = 0; c < KD; c++) kt[(size_t)c * N + i] = k[(size_t)i * KD + c], vt[(size_t)c * N + i] = v[(size_t)i * KD + c];
  /* backward reference from the CPU's out (rounded as a bf16 forward would
   * store it) and lse: the GPU backward gets the same two, so only the
   * backward is compared */
  float *out_q = hmalloc((size_t)N * HD);
  memcpy(out_q, out_r, (size_t)N * HD * sizeof(float));
  quantize(out_q, (size_t)N * HD, dt);
  float *dq_r = hmalloc((size_t)N * HD), *dk_r = hmalloc((size_t)N * KD), *dv_r = hmalloc((size_t)N * KD);
  rlvr_attention_backward(dq_r, dk_r, dv_r, dout, q, k, kt, vt, (size_t)N, out_q, lse_r, B, off, lens, H, KVH, D,
                          max_len, scr);

  void *dq_ = to_dev(q, (size_t)N * HD, dt), *dk_ = to_dev(k, (size_t)N * KD, dt), *dv_ = to_dev(v, (size_t)N * KD, dt);
  void *ddout = to_dev(dout, (size_t)N * HD, dt), *dout_ = dmalloc((size_t)N * HD * rlvr_dtype_size(dt));
  float *dlse = dmalloc((size_t)N * H * 4), *ddelta = dmalloc((size_t)N * H * 4);
  int *drs = to_dev_int(row_seq, N), *doff = to_dev_int(off, B), *dlen = to_dev_int(lens, B);
  void *dgq = dmalloc((size_t)N * HD * rlvr_dtype_size(dt)), *dgk = dmalloc((size_t)N * KD * rlvr_dtype_size(dt));
  void *dgv = dmalloc((size_t)N * KD * rlvr_dtype_size(dt));
  float *out = hmalloc((size_t)N * HD), *lse = hmalloc((size_t)N * H);
  float *gq = hmalloc((size_t)N * HD), *gk = hmalloc((size_t)N * KD), *gv = hmalloc((size_t)N * KD);
  float *out2 = hmalloc((size_t)N * HD), *gq2 = hmalloc((size_t)N * HD), *gk2 = hmalloc((size_t)N * KD);
  char what[200];
  for (int kn = 2; kn >= (with_k1 ? 1 : 2); kn--) {
    if (kn == 2)
      rlvr_cuda_attention_forward(dout_, dlse, dq_, dk_, dv_, drs, doff, N, H, KVH, D, dt, ctx.stream);
    else
      rlvr_cuda_attention_forward_kernel1(dout_, dlse, dq_, dk_, dv_, drs, doff, N, H, KVH, D, dt, ctx.stream);
    from_dev(out, dout_, (size_t)N * HD, dt), from_dev(lse, dlse, (size_t)N * H, RLVR_DTYPE_F32);
    snprintf(what, sizeof what, "attention kernel%d forward out %s B=%d N=%d H=%d KVH=%d D=%d", kn, dtname(dt), B, N,
             H, KVH, D);
    /* averages of O(1) values with float32 weights summed in other orders */
    CHECK_CLOSE(what, out, out_r, (size_t)N * HD, 1e-5, dt == RLVR_DTYPE_F32 ? 1e-4 : BF16_RTOL);
    snprintf(what, sizeof what, "attention kernel%d forward lse %s", kn, dtname(dt));
    CHECK_CLOSE(what, lse, lse_r, (size_t)N * H, 1e-5, 1e-5);

    rlvr_cuda_upload(dout_, dt, out_q, (size_t)N * HD, ctx.stream);
    h2d(dlse, lse_r, (size_t)N * H * 4);
    if (kn == 2)
      rlvr_cuda_attention_backward(dgq, dgk, dgv, ddelta, ddout, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen, N, H,
                                   KVH, D, dt, ctx.stream);
    else
      rlvr_cuda_attention_backward_kernel1(dgq, dgk, dgv, ddelta, ddout, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen,
                                           N, H, KVH, D, dt, ctx.stream);
    from_dev(gq, dgq, (size_t)N * HD, dt), from_dev(gk, dgk, (size_t)N * KD, dt), from_dev(gv, dgv, (size_t)N * KD, dt);
    /* sums over up to max_len keys (and G heads for dk, dv) of O(1) terms */
    const double at = 2e-6 * sqrt((double)max_len * (H / KVH)) * 4, rt = dt == RLVR_DTYPE_F32 ? 1e-4 : BF16_RTOL;
    snprintf(what, sizeof what, "attention kernel%d backward dq %s", kn, dtname(dt));
    CHECK_CLOSE(what, gq, dq_r, (size_t)N * HD, at, rt);
    snprintf(what, sizeof what, "attention kernel%d backward dk %s", kn, dtname(dt));
    CHECK_CLOSE(what, gk, dk_r, (size_t)N * KD, at, rt);
    snprintf(what, sizeof what, "attention kernel%d backward dv %s", kn, dtname(dt));
    CHECK_CLOSE(what, gv, dv_r, (size_t)N * KD, at, rt);
    if (kn == 2) { /* deterministic: a second run gives the same bits */
      rlvr_cuda_attention_forward(dout_, dlse, dq_, dk_, dv_, drs, doff, N, H, KVH, D, dt, ctx.stream);
      from_dev(out2, dout_, (size_t)N * HD, dt);
      rlvr_cuda_upload(dout_, dt, out_q, (size_t)N * HD, ctx.stream);
      h2d(dlse, lse_r, (size_t)N * H * 4);
      rlvr_cuda_attention_backward(dgq, dgk, dgv, ddelta, ddout, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen, N, H,
                                   KVH, D, dt, ctx.stream);
      from_dev(gq2, dgq, (size_t)N * HD, dt), from_dev(gk2, dgk, (size_t)N * KD, dt);
      CHECK_MSG(memcmp(out, out2, (size_t)N * HD * sizeof(float)) == 0 &&
                    memcmp(gq, gq2, (size_t)N * HD * sizeof(float)) == 0 &&
                    memcmp(gk, gk2, (size_t)N * KD * sizeof(float)) == 0,
                "attention kernel2: two runs differ");
    }
  }
  cudaFree(dq_), cudaFree(dk_), cudaFree(dv_), cudaFree(ddout), cudaFree(dout_), cudaFree(dlse), cudaFree(ddelta);
  cudaFree(drs), cudaFree(doff), cudaFree(dlen), cudaFree(dgq), cudaFree(dgk), cudaFree(dgv);
  free(off), free(pos), free(row_seq), free(col), free(q), free(k), free(v), free(dout), free(out_r), free(lse_r);
  free(scr), free(kt), free(vt), free(out_q), free(dq_r), free(dk_r), free(dv_r), free(out), free(lse), free(gq);
  free(gk), free(gv), free(out2), free(gq2), free(gk2);
}

/* Decode attention over a paged cache: B sequences of lens[b] tokens stored
 * in blocks of bs rows of a pool in random order, query rows at positions
 * 0, 1, the middle, the last and two random ones of every sequence, all in
 * one call; rlvr_cuda_paged_attention (kernel2: splits of <= 256 keys and
 * the combine; a length above 8192 reaches the 32-split cap) and
 * rlvr_cuda_paged_attention_kernel1 against the CPU attention over the
 * unpaged rows. kernel2 runs twice, with its scratch for 3 rows (several
 * launches) and for all rows (one): a row's bits must not depend on the
 * other rows of its launch. The query of row (b, p) is row off[b] + p of a
 * q for every token; the training forward (rlvr_cuda_attention_forward)
 * runs over the sequences of at most 300 tokens (packed on their own: the
 * CPU emulation is slow), and their decode rows with at most 256 keys (one
 * split) must equal its rows exactly (the same tiles: attention.cuh),
 * longer ones within the tolerance. kernel1 (slow in the emulation) when
 * with_k1. */
static void test_paged_attention(int B, const int *lens, int H, int KVH, int D, int bs, int with_k1, rlvr_dtype dt) {
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(B * 7919 + H * 31 + D * 3 + bs) + (uint64_t)dt);
  const int HD = H * D, KD = KVH * D;
  int *off = malloc(sizeof(int) * B), total = 0, max_len = 0, nblocks = 0;
  for (int b = 0; b < B; b++) {
    off[b] = total, total += lens[b];
    if (lens[b] > max_len) max_len = lens[b];
    nblocks += (lens[b] + bs - 1) / bs;
  }
  const int max_blocks = (max_len + bs - 1) / bs, pool_blocks = nblocks + 3; /* a few never used */
  /* queries: 6 per sequence (repeats allowed) */
  const int N = 6 * B;
  int *row_seq = malloc(sizeof(int) * N), *row_pos = malloc(sizeof(int) * N);
  size_t *col = malloc(sizeof(size_t) * N);
  int max_ctx = 1;
  for (int b = 0; b < B; b++) {
    const int L = lens[b], ps[6] = {0, L > 1 ? 1 : 0, L / 2, L - 1, (int)rlvr_rng_below(&r, (uint64_t)L),
                                    (int)rlvr_rng_below(&r, (uint64_t)L)};
    for (int t = 0; t < 6; t++) {
      row_seq[6 * b + t] = b, row_pos[6 * b + t] = ps[t], col[6 * b + t] = (size_t)off[b];
      if (ps[t] + 1 > max_ctx) max_ctx = ps[t] + 1;
    }
  }
  float *k = hmalloc((size_t)total * KD), *v = hmalloc((size_t)total * KD), *qt = hmalloc((size_t)total * HD);
  float *q = hmalloc((size_t)N * HD);
  fill(k, (size_t)total * KD, &r, 1), fill(v, (size_t)total * KD, &r, 1), fill(qt, (size_t)total * HD, &r, 1);
  quantize(k, (size_t)total * KD, dt), quantize(v, (size_t)total * KD, dt), quantize(qt, (size_t)total * HD, dt);
  for (int i = 0; i < N; i++)
    memcpy(q + (size_t)i * HD, qt + (size_t)(off[row_seq[i]] + row_pos[i]) * HD, HD * sizeof(float));
  float *out_r = hmalloc((size_t)N * HD);
  float *scr = hmalloc((size_t)omp_get_max_threads() * rlvr_attention_scratch(max_len, D));
  const rlvr_kv_view kv = {NULL, k, v, (size_t)total, KD};
  rlvr_attention_forward(out_r, NULL, q, &kv, N, row_pos, col, H, KVH, D, max_len, scr);
  /* the pool: blocks handed out in a random permutation */
  int *perm = malloc(sizeof(int) * pool_blocks), *table = malloc(sizeof(int) * B * max_blocks);
  for (int i = 0; i < pool_blocks; i++) perm[i] = i;
  for (int i = pool_blocks - 1; i > 0; i--) {
    const int j = (int)rlvr_rng_below(&r, (uint64_t)i + 1), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
  const size_t pool_rows = (size_t)pool_blocks * bs;
  float *kc = hmalloc(pool_rows * KD), *vc = hmalloc(pool_rows * KD);
  for (size_t i = 0; i < pool_rows * KD; i++) kc[i] = vc[i] = NAN; /* unused rows must never be read */
  int used = 0;
  for (int b = 0; b < B; b++)
    for (int blk = 0; blk < max_blocks; blk++) {
      const int live = blk * bs < lens[b];
      table[b * max_blocks + blk] = live ? perm[used++] : -1;
    }
  for (int b = 0; b < B; b++)
    for (int p = 0; p < lens[b]; p++) {
      const size_t row = (size_t)table[b * max_blocks + p / bs] * bs + (size_t)(p % bs);
      memcpy(kc + row * KD, k + (size_t)(off[b] + p) * KD, KD * sizeof(float));
      memcpy(vc + row * KD, v + (size_t)(off[b] + p) * KD, KD * sizeof(float));
    }
  void *dq_ = to_dev(q, (size_t)N * HD, dt), *dkc = to_dev(kc, pool_rows * KD, dt), *dvc = to_dev(vc, pool_rows * KD, dt);
  void *dout_ = dmalloc((size_t)N * HD * rlvr_dtype_size(dt));
  int *drs = to_dev_int(row_seq, N), *dpos = to_dev_int(row_pos, N), *dtab = to_dev_int(table, (size_t)B * max_blocks);
  float *out = hmalloc((size_t)N * HD), *out2 = hmalloc((size_t)N * HD);
  float *dscr = dmalloc(rlvr_cuda_paged_attention_scratch(N, H, D, max_len) * sizeof(float));
  char what[200];
  const double rt = dt == RLVR_DTYPE_F32 ? 1e-4 : BF16_RTOL;
  rlvr_cuda_paged_attention(dout_, dscr, 3, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D, max_len,
                            max_ctx, dt, ctx.stream);
  from_dev(out, dout_, (size_t)N * HD, dt);
  snprintf(what, sizeof what, "paged attention kernel2 %s B=%d rows=%d H=%d KVH=%d D=%d bs=%d max ctx %d", dtname(dt),
           B, N, H, KVH, D, bs, max_ctx);
  /* as the training forward: averages of O(1) values, float32 weights in
   * other orders (and e^(m_s - M) rescalings of the split records) */
  CHECK_CLOSE(what, out, out_r, (size_t)N * HD, 1e-5, rt);
  rlvr_cuda_paged_attention(dout_, dscr, N, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D, max_len,
                            max_len, dt, ctx.stream);
  from_dev(out2, dout_, (size_t)N * HD, dt);
  CHECK_MSG(memcmp(out, out2, (size_t)N * HD * sizeof(float)) == 0,
            "paged attention kernel2: a row's bits depend on its launch's other rows");
  if (with_k1) {
    rlvr_cuda_paged_attention_kernel1(dout_, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D, dt,
                                      ctx.stream);
    from_dev(out, dout_, (size_t)N * HD, dt);
    snprintf(what, sizeof what, "paged attention kernel1 %s", dtname(dt));
    CHECK_CLOSE(what, out, out_r, (size_t)N * HD, 1e-5, rt);
  }
  { /* decode (kernel2) against the training forward on the same q, k, v */
    int *toff = malloc(sizeof(int) * B), *trs = malloc(sizeof(int) * total), *tb = malloc(sizeof(int) * B), nt = 0;
    int TB = 0; /* the short sequences, packed: tb[b] their index there, -1 for the others */
    for (int b = 0; b < B; b++) {
      tb[b] = -1;
      if (lens[b] > 300) continue;
      tb[b] = TB, toff[TB++] = nt;
      for (int p = 0; p < lens[b]; p++) trs[nt++] = tb[b];
    }
    float *tq = hmalloc((size_t)nt * HD), *tk = hmalloc((size_t)nt * KD), *tv = hmalloc((size_t)nt * KD);
    for (int b = 0; b < B; b++)
      if (tb[b] >= 0) {
        const size_t at = (size_t)toff[tb[b]], from = (size_t)off[b], n = (size_t)lens[b];
        memcpy(tq + at * HD, qt + from * HD, n * HD * sizeof(float));
        memcpy(tk + at * KD, k + from * KD, n * KD * sizeof(float));
        memcpy(tv + at * KD, v + from * KD, n * KD * sizeof(float));
      }
    void *dqt = to_dev(tq, (size_t)nt * HD, dt), *dk = to_dev(tk, (size_t)nt * KD, dt);
    void *dv = to_dev(tv, (size_t)nt * KD, dt), *dto = dmalloc((size_t)nt * HD * rlvr_dtype_size(dt));
    int *dtrs = to_dev_int(trs, nt), *doff = to_dev_int(toff, TB);
    float *dlse = dmalloc((size_t)nt * H * sizeof(float)), *tout = hmalloc((size_t)nt * HD);
    rlvr_cuda_attention_forward(dto, dlse, dqt, dk, dv, dtrs, doff, nt, H, KVH, D, dt, ctx.stream);
    from_dev(tout, dto, (size_t)nt * HD, dt);
    float *want = hmalloc((size_t)N * HD);
    for (int i = 0; i < N; i++)
      if (tb[row_seq[i]] >= 0)
        memcpy(want + (size_t)i * HD, tout + (size_t)(toff[tb[row_seq[i]]] + row_pos[i]) * HD, HD * sizeof(float));
    for (int pass = 0; pass < 2; pass++) { /* rows of one split: exactly; others: the tolerance */
      float *g = hmalloc((size_t)N * HD), *w = hmalloc((size_t)N * HD);
      int n = 0;
      for (int i = 0; i < N; i++)
        if (tb[row_seq[i]] >= 0 && (row_pos[i] + 1 <= 256) == (pass == 0)) {
          memcpy(g + (size_t)n * HD, out2 + (size_t)i * HD, HD * sizeof(float));
          memcpy(w + (size_t)n * HD, want + (size_t)i * HD, HD * sizeof(float));
          n++;
        }
      snprintf(what, sizeof what, "paged attention kernel2 %s vs training forward, %d rows of %s", dtname(dt), n,
               pass == 0 ? "<= 256 keys (exact)" : "> 256 keys");
      if (n) CHECK_CLOSE(what, g, w, (size_t)n * HD, pass == 0 ? 0 : 1e-5, pass == 0 ? 0 : rt);
      free(g), free(w);
    }
    cudaFree(dqt), cudaFree(dk), cudaFree(dv), cudaFree(dto), cudaFree(dtrs), cudaFree(doff), cudaFree(dlse);
    free(toff), free(trs), free(tb), free(tq), free(tk), free(tv), free(tout), free(want);
  }
  cudaFree(dq_), cudaFree(dkc), cudaFree(dvc), cudaFree(dout_), cudaFree(drs), cudaFree(dpos), cudaFree(dtab);
  cudaFree(dscr);
  free(off), free(row_seq), free(row_pos), free(col), free(k), free(v), free(qt), free(q), free(out_r), free(scr);
  free(perm);
  free(table), free(kc), free(vc), free(out), free(out2);
}

static void test_optimizer(void) {
  rlvr_model_config c = {0};
  c.arch = RLVR_ARCH_QWEN3;
  c.vocab_size = 1001, c.hidden_size = 72, c.intermediate_size = 200, c.num_layers = 3;
  c.num_heads = 6, c.num_kv_heads = 2, c.head_dim = 16, c.max_position = 64;
  c.rope_theta = 10000, c.rms_eps = 1e-6, c.qk_norm = 1, c.tie_embeddings = 1;
  rlvr_model m;
  rlvr_model_init_random(&m, &c, 11);
  const size_t n = m.num_params;
  rlvr_rng r;
  rlvr_rng_seed(&r, 5);
  float *grads = hmalloc(n), *g2 = hmalloc(n);
  fill(grads, n, &r, 0.05f);
  rlvr_cuda_params dp;
  rlvr_cuda_params_build(&dp, &m, 1);
  rlvr_cuda_params_upload(&dp, m.params_memory, ctx.stream);
  float *dg = to_dev(grads, n, RLVR_DTYPE_F32), *dm = dmalloc(n * 4), *dv = dmalloc(n * 4);
  dzero(dm, n * 4);
  dzero(dv, n * 4);
  double *dnorm = dmalloc(sizeof(double)), *partials = dmalloc(RLVR_CUDA_NORM_BLOCKS * sizeof(double));
  float *dscale = dmalloc(sizeof(float));
  rlvr_adamw opt;
  rlvr_adamw_build(&opt, &m);
  rlvr_adamw_config cfg = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f, .decay_1d = 0};
  const double max_norm = 1.0; /* below the norm of these gradients: clipping happens */
  for (int step = 1; step <= 3; step++) {
    if (step == 3) cfg.lr = 3e-4f, cfg.decay_1d = 1; /* a schedule and the other grouping */
    memcpy(g2, grads, n * sizeof(float));
    const double norm_r = rlvr_clip_grad_norm(g2, n, max_norm);
    rlvr_adamw_step(&opt, &cfg, m.params_memory, g2);
    rlvr_cuda_grad_norm(dnorm, dscale, partials, dg, n, max_norm, ctx.stream);
    rlvr_cuda_adamw_step(dp.f32, dp.bf16, dg, dm, dv, dscale, m.tensors, m.num_tensors, &cfg, step, ctx.stream);
    double norm = 0;
    float scale = 0;
    CK(cudaStreamSynchronize(ctx.stream));
    d2h(&norm, dnorm, sizeof norm);
    d2h(&scale, dscale, sizeof scale);
    /* both sum float squares in double, in other orders: ~1e-13 relative
     * typically, n eps = 4e-11 at worst */
    CHECK_MSG(fabs(norm - norm_r) <= 1e-10 * norm_r, "grad norm %.17g, CPU %.17g", norm, norm_r);
    const float scale_r = (float)(max_norm / (norm_r + 1e-6));
    CHECK_MSG(fabsf(scale - scale_r) <= 1e-7f * scale_r, "clip scale %.9g, CPU %.9g", scale, scale_r);
    printf("ok   grad norm step %d: %.12g (CPU %.12g), clip scale %.9g\n", step, norm, norm_r, scale);
  }
  float *p = hmalloc(n), *mm = hmalloc(n), *vv = hmalloc(n), *pb = hmalloc(n), *pbr = hmalloc(n);
  rlvr_cuda_params_download(&dp, p, ctx.stream);
  from_dev(mm, dm, n, RLVR_DTYPE_F32), from_dev(vv, dv, n, RLVR_DTYPE_F32);
  rlvr_cuda_download(pb, dp.bf16, RLVR_DTYPE_BF16, n, ctx.stream);
  size_t same = 0;
  for (size_t i = 0; i < n; i++) same += memcmp(&p[i], &m.params_memory[i], sizeof(float)) == 0;
  printf("     AdamW: %zu of %zu parameters bit-identical to the CPU\n", same, n);
  /* The same explicitly rounded float operations on the same scalars: the
   * CPU's bits expected; the tolerance allows an ulp should a scale factor
   * (the clip coefficient) round differently. */
  CHECK_CLOSE("adamw params (3 steps, clipped)", p, m.params_memory, n, 1e-7, 1e-6);
  CHECK_CLOSE("adamw m", mm, opt.m, n, 1e-9, 1e-6);
  CHECK_CLOSE("adamw v", vv, opt.v, n, 1e-12, 1e-6);
  for (size_t i = 0; i < n; i++) pbr[i] = rlvr_bf16_round(p[i]);
  CHECK_CLOSE("adamw bf16 copy == rounding of its f32 params (exact)", pb, pbr, n, 0, 0);

  /* rlvr_cuda_scale applies the factor as clip_grad_norm_ does */
  memcpy(g2, grads, n * sizeof(float));
  rlvr_clip_grad_norm(g2, n, max_norm);
  rlvr_cuda_grad_norm(dnorm, dscale, partials, dg, n, max_norm, ctx.stream);
  rlvr_cuda_scale(dg, n, dscale, ctx.stream);
  from_dev(p, dg, n, RLVR_DTYPE_F32);
  CHECK_CLOSE("clip (scale by the device factor)", p, g2, n, 0, 1e-6);
  rlvr_adamw_free(&opt);
  rlvr_cuda_params_free(&dp);
  rlvr_model_free(&m);
  cudaFree(dg), cudaFree(dm), cudaFree(dv), cudaFree(dnorm), cudaFree(partials), cudaFree(dscale);
  free(grads), free(g2), free(p), free(mm), free(vv), free(pb), free(pbr);
}

/* ---- sampling ---- */

typedef struct {
  double p;
  float s;
  int id;
} cand;

static int cand_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

/* An independent reference in double: sorted candidates, top-k, top-p, the
 * draw. Returns the token and, in *margin, how close (relative to the kept
 * mass) u * kept or the top-p threshold came to a boundary: a token choice
 * within ~1e-6 of a boundary may legitimately differ between float
 * implementations. */
static int ref_sample(const float *z, int V, const rlvr_sampling *p, double u, double *margin, cand *c) {
  const float T = p->temperature > 0 ? p->temperature : 1.0f;
  double mx = -INFINITY, S = 0;
  for (int i = 0; i < V; i++) {
    c[i].s = z[i] / T, c[i].id = i;
    if (c[i].s > mx) mx = c[i].s;
  }
  for (int i = 0; i < V; i++) S += (c[i].p = exp((double)c[i].s - mx));
  for (int i = 0; i < V; i++) c[i].p /= S;
  *margin = INFINITY;
  if (p->temperature == 0) {
    int best = 0;
    for (int i = 1; i < V; i++)
      if (z[i] > z[best]) best = i;
    return best;
  }
  int n = V;
  const int sorted = p->top_k > 0 || p->top_p < 1.0f;
  if (sorted) qsort(c, V, sizeof *c, cand_cmp);
  if (p->top_k > 0 && p->top_k < n) n = p->top_k;
  double kept = 0;
  for (int i = 0; i < n; i++) kept += c[i].p;
  if (p->top_p < 1.0f) {
    double cum = 0;
    int m = 0;
    while (m < n) {
      cum += c[m++].p;
      const double d = fabs(cum / kept - p->top_p);
      if (d < *margin) *margin = d;
      if (cum / kept >= p->top_p) break;
    }
    n = m, kept = cum;
  }
  const double target = u * kept;
  double cum = 0;
  int tok = c[n - 1].id;
  for (int i = 0; i < n; i++) {
    cum += c[i].p;
    const double d = fabs(cum - target) / kept;
    if (d < *margin) *margin = d;
    if (target < cum) {
      tok = c[i].id;
      break;
    }
  }
  return tok;
}

static void test_sample(int B, int V, rlvr_dtype dt) {
  const rlvr_sampling settings[] = {
      {1.0f, 0, 1.0f},  {0.7f, 0, 1.0f},  {0.0f, 0, 1.0f},  {1.0f, 50, 1.0f}, {0.6f, 20, 0.8f},
      {1.0f, 0, 0.9f},  {1.3f, 0, 0.5f},  {0.9f, 1, 1.0f},  {1.0f, V + 5, 1.0f}, {0.8f, 300, 0.95f},
      {1.0f, 0, 0.01f},
  };
  const int ns = (int)(sizeof settings / sizeof settings[0]);
  rlvr_rng r;
  rlvr_rng_seed(&r, (uint64_t)(B * 100 + V) + (uint64_t)dt);
  const size_t n = (size_t)B * V;
  float *z = hmalloc(n);
  fill(z, n, &r, 3), quantize(z, n, dt);
  for (int b = 0; b < B; b += 4) z[(size_t)b * V + 1] = -INFINITY; /* masked tokens */
  rlvr_sampling *ps = malloc(sizeof *ps * B);
  double *u = malloc(sizeof(double) * B);
  uint64_t *seeds = malloc(sizeof(uint64_t) * B);
  for (int b = 0; b < B; b++) {
    ps[b] = settings[b % ns];
    seeds[b] = 1000 + (uint64_t)b;
    rlvr_rng rb;
    rlvr_rng_seed(&rb, seeds[b]);
    u[b] = rlvr_rng_double(&rb); /* the one draw the CPU sampler makes */
  }
  void *dz = to_dev(z, n, dt);
  rlvr_sampling *dps = dmalloc(sizeof *ps * B);
  double *du = dmalloc(sizeof(double) * B);
  int *dtok = dmalloc(sizeof(int) * B);
  float *dlp = dmalloc(sizeof(float) * B);
  h2d(dps, ps, sizeof *ps * B);
  h2d(du, u, sizeof(double) * B);
  rlvr_cuda_sample(dtok, dlp, dz, B, V, dps, du, dt, ctx.stream);
  int *tok = malloc(sizeof(int) * B), *tok2 = malloc(sizeof(int) * B);
  float *lp = hmalloc(B);
  CK(cudaStreamSynchronize(ctx.stream));
  d2h(tok, dtok, sizeof(int) * B);
  d2h(lp, dlp, sizeof(float) * B);
  rlvr_cuda_sample(dtok, NULL, dz, B, V, dps, du, dt, ctx.stream);
  CK(cudaStreamSynchronize(ctx.stream));
  d2h(tok2, dtok, sizeof(int) * B);
  CHECK_MSG(memcmp(tok, tok2, sizeof(int) * B) == 0, "sampling: two runs differ");

  rlvr_sampler sp;
  rlvr_sampler_init(&sp, V);
  cand *c = malloc(sizeof *c * V);
  float *scratch = hmalloc(2 * (size_t)V);
  int mismatches = 0, ambiguous = 0;
  double max_lp = 0;
  for (int b = 0; b < B; b++) {
    const float *zr = z + (size_t)b * V;
    rlvr_rng rb;
    rlvr_rng_seed(&rb, seeds[b]);
    float lp_cpu;
    const int t_cpu = rlvr_sampler_sample(&sp, zr, &ps[b], &rb, &lp_cpu);
    double margin;
    const int t_ref = ref_sample(zr, V, &ps[b], u[b], &margin, c);
    const int ok_range = tok[b] >= 0 && tok[b] < V;
    CHECK_MSG(ok_range, "row %d: token %d outside 0..%d", b, tok[b], V - 1);
    if (!ok_range) continue;
    if (margin < 1e-6) {
      ambiguous++;
    } else if (tok[b] != t_cpu || tok[b] != t_ref) {
      mismatches++;
      fprintf(stderr, "row %d (T %g k %d p %g u %.6f): GPU %d, CPU %d, reference %d (margin %.2g)\n", b,
              ps[b].temperature, ps[b].top_k, ps[b].top_p, u[b], tok[b], t_cpu, t_ref, margin);
    }
    /* the reported log-prob, for the GPU's own token, at the temperature */
    const float want = rlvr_logprob_at_temperature(zr, V, tok[b], ps[b].temperature, scratch);
    const double d = fabs((double)lp[b] - want);
    if (d > max_lp) max_lp = d;
    if (ps[b].top_k > 0 && ps[b].top_k < V && ps[b].temperature > 0) {
      /* the token is among the k largest logits */
      int larger = 0;
      for (int i = 0; i < V; i++) larger += zr[i] > zr[tok[b]];
      CHECK_MSG(larger < ps[b].top_k, "row %d: token %d has %d larger logits, top_k %d", b, tok[b], larger, ps[b].top_k);
    }
  }
  printf("%s  sample %s B=%d V=%d: %d mismatches, %d within 1e-6 of a boundary (not compared); log-prob max |diff| %.3g\n",
         mismatches ? "FAIL" : "ok  ", dtname(dt), B, V, mismatches, ambiguous, max_lp);
  CHECK(mismatches == 0);
  /* float32 softmax normalisers in other orders */
  CHECK_MSG(max_lp <= 2e-5, "sample log-probs differ by %.3g", max_lp);
  rlvr_sampler_free(&sp);
  cudaFree(dz), cudaFree(dps), cudaFree(du), cudaFree(dtok), cudaFree(dlp);
  free(z), free(ps), free(u), free(seeds), free(tok), free(tok2), free(lp), free(c), free(scratch);
}

int main(void) {
  if (rlvr_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  char desc[256];
  rlvr_cuda_describe(0, desc, sizeof desc);
  printf("device 0: %s\n", desc);
  rlvr_cuda_context_build(&ctx, 0);

  test_params_roundtrip();
  const rlvr_dtype dts[2] = {RLVR_DTYPE_F32, RLVR_DTYPE_BF16};
  for (int di = 0; di < 2; di++) {
    const rlvr_dtype dt = dts[di];
    test_linear(37, 91, 77, 1, dt);
    test_linear(130, 200, 301, 0, dt);
    test_linear(1, 33, 64, 1, dt);
    test_rmsnorm(37, 901, dt);
    test_rmsnorm(300, 64, dt); /* several dw chunks of 128 rows */
    test_rmsnorm(5, 4099, dt);
    test_rope(29, 3, 64, dt);
    test_rope(7, 5, 18, dt);
    test_swiglu_residual(100003, dt);
    test_logsoftmax(9, 50257, 1.0f, dt);
    test_logsoftmax(13, 1000, 0.7f, dt); /* V below the block size */
    test_logsoftmax(3, 151936, 1.3f, dt);
    const int lens1[] = {37, 1, 70, 12};
    test_attention(4, lens1, 6, 2, 64, 1, dt);
    const int lens2[] = {33, 50};
    test_attention(2, lens2, 4, 4, 40, 1, dt); /* no GQA, D not a multiple of 32 */
    const int lens3[] = {1, 7, 65, 130}, lens4[] = {130, 1, 65, 7}, lens5[] = {7, 130, 1, 65};
    test_attention(4, lens3, 3, 3, 64, 0, dt);  /* G 1 */
    test_attention(4, lens4, 4, 2, 80, 1, dt);  /* G 2, D 80: lanes 16..31 idle in the last pass */
    test_attention(4, lens5, 14, 2, 128, 0, dt); /* G 7 (Qwen2.5-0.5B's), a 16-slot tile holds 2 2/7 rows */
    test_attention(4, lens3, 7, 1, 80, 0, dt);   /* G 7, one kv head */
    const int lens6[] = {65, 7};
    test_attention(2, lens6, 2, 1, 256, 1, dt); /* D 256: above 48 KiB of shared memory */
    const int plens1[] = {1, 7, 65, 130, 300, 700}, plens2[] = {257, 9000, 3};
    test_paged_attention(6, plens1, 14, 2, 64, 16, 0, dt);
    test_paged_attention(6, plens1, 4, 4, 80, 7, 1, dt);   /* G 1, blocks of 7 */
    test_paged_attention(3, plens2, 14, 1, 128, 32, 0, dt); /* G 14: two head chunks; 9000: 32-split cap */
    test_paged_attention(3, plens2, 2, 1, 256, 16, 1, dt);
    test_sample(67, 3001, dt);
    test_sample(11, 151936, dt);
  }
  test_optimizer();

  rlvr_cuda_context_free(&ctx);
  return test_done();
}
