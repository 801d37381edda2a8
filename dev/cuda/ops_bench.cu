/* ops_bench.cu — times the library's CUDA ops (model/cuda/ops.h) at the
 * shapes of Qwen2.5-0.5B and Qwen2.5-1.5B (random data, bf16 activations,
 * a 4,096-token micro-batch), L2 cleared before each launch, and prints a
 * markdown table with each op's rate and its fraction of the device's peak
 * (memory bandwidth for the memory-bound ops, dense bf16 for products).
 * Attention and sampling are their kernel1 versions (attention untiled).
 * dev/cuda/torch_ops.py times the same rows in PyTorch; check.sh joins the
 * two tables by (model, op, shape).
 * These are op timings, not model throughput: the GPU forward, decode
 * engine and training step that would give tokens/s and MFU do not exist yet.
 * Usage: lab_ops_bench [--small] (--small: tiny shapes, a smoke run).
 * Status: compiled, not yet run on a GPU. */
#include <string>

#include "dev/cuda/lab.h"
#include "model/cuda/ops.h"
#include "model/cuda/runtime.h"

struct shape {
  const char *name;
  int C, F, H, KVH, D, V, L;
};

static rlvr_cuda_context ctx;

static void *dzeros(size_t bytes) {
  void *p = NULL;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  CUDA_CHECK(cudaMemset(p, 0, bytes));
  CUDA_CHECK(cudaDeviceSynchronize()); /* ctx.stream does not wait for the legacy stream */
  return p;
}

/* Device buffer of n random values (dtype dt), filled on the device from a
 * host pattern of 1<<20 values repeated (fast for billions of elements). */
static void *drand(size_t n, rlvr_dtype dt, float scale, uint64_t seed) {
  const size_t pat = 1 << 20;
  rlvr_rng r;
  rlvr_rng_seed(&r, seed);
  float *h = (float *)malloc(pat * 4);
  for (size_t i = 0; i < pat; i++) h[i] = scale * rlvr_rng_normal(&r);
  void *d = dzeros(n * rlvr_dtype_size(dt));
  void *chunk = lab_upload(h, pat < n ? pat : n, dt);
  for (size_t o = 0; o < n; o += pat) {
    const size_t m = n - o < pat ? n - o : pat;
    CUDA_CHECK(cudaMemcpy((char *)d + o * rlvr_dtype_size(dt), chunk, m * rlvr_dtype_size(dt), cudaMemcpyDeviceToDevice));
  }
  CUDA_CHECK(cudaDeviceSynchronize());
  cudaFree(chunk);
  free(h);
  return d;
}

static void row(const char *model, const char *op, const char *shape, double ms, double bytes, double flops) {
  if (flops > 0) {
    const double tf = flops / (ms * 1e-3) / 1e12;
    printf("| %s | %s | %s | %.1f | %.1f TFLOP/s | %s%.0f%% |\n", model, op, shape, ms * 1e3, tf,
           LAB.peak_bf16 ? "" : "?", LAB.peak_bf16 ? 100.0 * tf * 1e12 / LAB.peak_bf16 : 0.0);
  } else {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    printf("| %s | %s | %s | %.1f | %.0f GB/s | %.0f%% |\n", model, op, shape, ms * 1e3, gbs,
           100.0 * gbs * 1e9 / LAB.peak_bw);
  }
  fflush(stdout);
}

static void bench_model(const shape &s, int Ntok, int seqs, int reps) {
  const rlvr_dtype dt = RLVR_DTYPE_BF16;
  const size_t es = 2;
  const int C = s.C, F = s.F, QKV = (s.H + 2 * s.KVH) * s.D, HD = s.H * s.D, KD = s.KVH * s.D, V = s.V;
  char sh[96];
  /* products */
  void *x = drand((size_t)Ntok * (F > C ? F : C), dt, 1, 1);
  void *w = drand((size_t)V * C > (size_t)F * C ? (size_t)V * C : (size_t)F * C, dt, 0.02f, 2);
  void *y = dzeros((size_t)Ntok * (size_t)(V > F ? V : F) * es);
  float *dW = (float *)dzeros((size_t)(V > F ? V : F) * C * 4);
  struct { const char *op; int N, K; } prods[] = {{"qkv", QKV, C}, {"o_proj", C, HD}, {"gate/up", F, C}, {"down", C, F}, {"lm_head", V, C}};
  for (auto &p : prods) {
    const double fl = 2.0 * Ntok * p.N * p.K;
    snprintf(sh, sizeof sh, "%dx%dx%d", Ntok, p.N, p.K);
    double ms = lab_time_ms([&] { rlvr_cuda_linear_forward(&ctx, y, x, w, NULL, Ntok, p.N, p.K, dt); }, reps);
    row(s.name, (std::string("linear fwd ") + p.op).c_str(), sh, ms, 0, fl);
    ms = lab_time_ms([&] { rlvr_cuda_linear_backward_x(&ctx, x, y, w, Ntok, p.N, p.K, 0, dt); }, reps);
    row(s.name, (std::string("linear dX ") + p.op).c_str(), sh, ms, 0, fl);
    ms = lab_time_ms([&] { rlvr_cuda_linear_backward_w(&ctx, dW, NULL, NULL, y, x, Ntok, p.N, p.K, dt); }, reps);
    row(s.name, (std::string("linear dW ") + p.op + " (f32 out)").c_str(), sh, ms, 0, fl);
  }
  /* rmsnorm */
  float *rstd = (float *)dzeros((size_t)Ntok * 4), *dw = (float *)dzeros((size_t)C * 4);
  float *scr = (float *)dzeros(rlvr_cuda_rmsnorm_backward_scratch(Ntok, C) * 4);
  snprintf(sh, sizeof sh, "%dx%d", Ntok, C);
  double ms = lab_time_ms([&] { rlvr_cuda_rmsnorm_forward(y, rstd, x, w, Ntok, C, 1e-6f, dt, ctx.stream); }, reps);
  row(s.name, "rmsnorm fwd", sh, ms, 2.0 * Ntok * C * es, 0);
  ms = lab_time_ms([&] { rlvr_cuda_rmsnorm_backward(y, dw, scr, x, x, w, rstd, Ntok, C, dt, ctx.stream); }, reps);
  row(s.name, "rmsnorm bwd", sh, ms, 5.0 * Ntok * C * es, 0);
  /* swiglu, residual */
  const size_t nf = (size_t)Ntok * F;
  void *g = drand(nf, dt, 1, 3), *u = drand(nf, dt, 1, 4), *a = dzeros(nf * es), *b = dzeros(nf * es);
  snprintf(sh, sizeof sh, "%dx%d", Ntok, F);
  ms = lab_time_ms([&] { rlvr_cuda_swiglu_forward(a, g, u, nf, dt, ctx.stream); }, reps);
  row(s.name, "swiglu fwd", sh, ms, 3.0 * nf * es, 0);
  ms = lab_time_ms([&] { rlvr_cuda_swiglu_backward(a, b, g, g, u, nf, dt, ctx.stream); }, reps);
  row(s.name, "swiglu bwd", sh, ms, 5.0 * nf * es, 0);
  snprintf(sh, sizeof sh, "%dx%d", Ntok, C);
  ms = lab_time_ms([&] { rlvr_cuda_residual_forward(a, a, g, (size_t)Ntok * C, dt, ctx.stream); }, reps);
  row(s.name, "residual", sh, ms, 3.0 * Ntok * C * es, 0);
  /* rope on q */
  int *pos = (int *)malloc(Ntok * sizeof(int));
  const int T = Ntok / seqs;
  for (int i = 0; i < Ntok; i++) pos[i] = i % T;
  int *dpos = (int *)dzeros(Ntok * sizeof(int));
  lab_h2d(dpos, pos, Ntok * sizeof(int));
  float *tab = (float *)drand((size_t)T * s.D / 2, RLVR_DTYPE_F32, 1, 5);
  snprintf(sh, sizeof sh, "%dx%dx%d", Ntok, s.H, s.D);
  ms = lab_time_ms([&] { rlvr_cuda_rope_forward(g, Ntok, HD, s.H, s.D, dpos, tab, tab, dt, ctx.stream); }, reps);
  row(s.name, "rope fwd (q)", sh, ms, 2.0 * Ntok * HD * es, 0);
  /* attention: seqs sequences of T */
  int *rs = (int *)malloc(Ntok * sizeof(int)), *off = (int *)malloc(seqs * sizeof(int)), *len = (int *)malloc(seqs * sizeof(int));
  for (int i = 0; i < Ntok; i++) rs[i] = i / T;
  for (int q = 0; q < seqs; q++) off[q] = q * T, len[q] = T;
  int *drs = (int *)dzeros(Ntok * 4), *doff = (int *)dzeros(seqs * 4), *dlen = (int *)dzeros(seqs * 4);
  lab_h2d(drs, rs, Ntok * 4);
  lab_h2d(doff, off, seqs * 4);
  lab_h2d(dlen, len, seqs * 4);
  void *q = drand((size_t)Ntok * HD, dt, 1, 6), *k = drand((size_t)Ntok * KD, dt, 1, 7), *v = drand((size_t)Ntok * KD, dt, 1, 8);
  void *o = dzeros((size_t)Ntok * HD * es), *dq = dzeros((size_t)Ntok * HD * es), *dk = dzeros((size_t)Ntok * KD * es);
  void *dv = dzeros((size_t)Ntok * KD * es);
  float *lse = (float *)dzeros((size_t)Ntok * s.H * 4), *delta = (float *)dzeros((size_t)Ntok * s.H * 4);
  /* causal: T(T+1)/2 score pairs per sequence and head, 4 D flops each (QK, PV) */
  const double att_fl = (double)seqs * s.H * (double)T * (T + 1) / 2 * 4.0 * s.D;
  snprintf(sh, sizeof sh, "%dx%d, H %d/%d, D %d", seqs, T, s.H, s.KVH, s.D);
  ms = lab_time_ms([&] { rlvr_cuda_attention_forward(o, lse, q, k, v, drs, doff, Ntok, s.H, s.KVH, s.D, dt, ctx.stream); }, 2);
  row(s.name, "attention fwd", sh, ms, 0, att_fl);
  ms = lab_time_ms([&] {
    rlvr_cuda_attention_backward(dq, dk, dv, delta, o, q, k, v, o, lse, drs, doff, dlen, Ntok, s.H, s.KVH, s.D, dt, ctx.stream);
  }, 1);
  row(s.name, "attention bwd", sh, ms, 0, att_fl * 2.5);
  /* log-softmax over the vocabulary */
  int *tg = (int *)dzeros((size_t)Ntok * 4);
  float *ent = (float *)dzeros((size_t)Ntok * 4), *lp = (float *)dzeros((size_t)Ntok * 4), *wt = (float *)dzeros((size_t)Ntok * 4);
  snprintf(sh, sizeof sh, "%dx%d", Ntok, V);
  ms = lab_time_ms([&] { rlvr_cuda_logsoftmax_forward(lse, ent, lp, y, tg, Ntok, V, 1.0f, dt, ctx.stream); }, reps);
  row(s.name, "logsoftmax fwd (lse, entropy, logprob)", sh, ms, (double)Ntok * V * es, 0);
  ms = lab_time_ms([&] { rlvr_cuda_logsoftmax_backward(y, y, lse, ent, tg, wt, wt, Ntok, V, 1.0f, dt, ctx.stream); }, reps);
  row(s.name, "logsoftmax bwd (in place)", sh, ms, 2.0 * Ntok * V * es, 0);
  /* sampling */
  for (int Bs = 64; Bs <= 256; Bs *= 4) {
    rlvr_sampling *ps = (rlvr_sampling *)malloc(sizeof *ps * Bs);
    double *uu = (double *)malloc(sizeof(double) * Bs);
    rlvr_sampling *dps = (rlvr_sampling *)dzeros(sizeof *ps * Bs);
    double *du = (double *)dzeros(sizeof(double) * Bs);
    int *dtok = (int *)dzeros(sizeof(int) * Bs);
    for (int mode = 0; mode < 2; mode++) {
      for (int i = 0; i < Bs; i++) {
        ps[i] = mode ? rlvr_sampling{0.7f, 50, 0.9f} : rlvr_sampling{1.0f, 0, 1.0f};
        uu[i] = (i + 0.5) / Bs;
      }
      lab_h2d(dps, ps, sizeof *ps * Bs);
      lab_h2d(du, uu, sizeof(double) * Bs);
      snprintf(sh, sizeof sh, "%dx%d %s", Bs, V, mode ? "T0.7 k50 p0.9" : "T1");
      ms = lab_time_ms([&] { rlvr_cuda_sample(dtok, lp, y, Bs, V, dps, du, dt, ctx.stream); }, reps);
      row(s.name, "sample", sh, ms, (double)Bs * V * es, 0);
    }
    cudaFree(dps), cudaFree(du), cudaFree(dtok);
    free(ps), free(uu);
  }
  cudaFree(x), cudaFree(w), cudaFree(y), cudaFree(dW), cudaFree(rstd), cudaFree(dw), cudaFree(scr), cudaFree(g);
  cudaFree(u), cudaFree(a), cudaFree(b), cudaFree(dpos), cudaFree(tab), cudaFree(drs), cudaFree(doff), cudaFree(dlen);
  cudaFree(q), cudaFree(k), cudaFree(v), cudaFree(o), cudaFree(dq), cudaFree(dk), cudaFree(dv), cudaFree(lse);
  cudaFree(delta), cudaFree(tg), cudaFree(ent), cudaFree(lp), cudaFree(wt);
  free(pos), free(rs), free(off), free(len);
}

/* AdamW and the gradient norm over all parameters of the model. */
static void bench_optimizer(const shape &s, int reps) {
  const size_t n = (size_t)s.V * s.C + (size_t)s.L * ((size_t)2 * s.C + (size_t)(s.H + 2 * s.KVH) * s.D * (s.C + 1) +
                                                      (size_t)s.C * s.H * s.D + (size_t)3 * s.F * s.C) + s.C;
  rlvr_tensor_info t[1];
  memset(t, 0, sizeof t);
  t[0].ndim = 2, t[0].numel = n, t[0].offset = 0;
  float *p = (float *)drand(n, RLVR_DTYPE_F32, 0.02f, 9), *g = (float *)drand(n, RLVR_DTYPE_F32, 1e-3f, 10);
  float *m = (float *)dzeros(n * 4), *v = (float *)dzeros(n * 4), *scale = (float *)dzeros(4);
  rlvr_bf16 *pb = (rlvr_bf16 *)dzeros(n * 2);
  double *norm = (double *)dzeros(8), *part = (double *)dzeros(RLVR_CUDA_NORM_BLOCKS * 8);
  rlvr_adamw_config cfg = {1e-5f, 0.9f, 0.95f, 1e-8f, 0.1f, 0};
  char sh[64];
  snprintf(sh, sizeof sh, "%.0fM params", n / 1e6);
  double ms = lab_time_ms([&] { rlvr_cuda_grad_norm(norm, scale, part, g, n, 1.0, ctx.stream); }, reps);
  row(s.name, "grad norm", sh, ms, 4.0 * n, 0);
  long step = 0;
  ms = lab_time_ms([&] { rlvr_cuda_adamw_step(p, pb, g, m, v, scale, t, 1, &cfg, ++step, ctx.stream); }, reps);
  row(s.name, "adamw (+ bf16 copy)", sh, ms, 30.0 * n, 0); /* read p g m v, write p m v, bf16 */
  cudaFree(p), cudaFree(g), cudaFree(m), cudaFree(v), cudaFree(scale), cudaFree(pb), cudaFree(norm), cudaFree(part);
}

int main(int argc, char **argv) {
  if (!lab_init()) return 77;
  const int small = argc > 1 && strcmp(argv[1], "--small") == 0;
  rlvr_cuda_context_build(&ctx, 0);
  CUDA_CHECK(cudaStreamDestroy(LAB.stream));
  LAB.stream = ctx.stream;
  printf("\n| model | op | shape | us | rate | of peak |\n|---|---|---|---|---|---|\n");
  if (small) {
    const shape tiny = {"tiny", 64, 176, 4, 2, 16, 1000, 2};
    bench_model(tiny, 64, 2, 2);
    bench_optimizer(tiny, 2);
  } else {
    const shape q05 = {"Qwen2.5-0.5B", 896, 4864, 14, 2, 64, 151936, 24};
    const shape q15 = {"Qwen2.5-1.5B", 1536, 8960, 12, 2, 128, 151936, 28};
    bench_model(q05, 4096, 8, 5);
    bench_optimizer(q05, 5);
    bench_model(q15, 4096, 8, 5);
    bench_optimizer(q15, 5);
  }
  rlvr_cuda_context_free(&ctx);
  LAB.stream = NULL;
  return lab_done();
}
