/* bench_cuda_model.c — the whole model on the GPU (model/cuda/model.h) at
 * Qwen2.5-0.5B's shapes with random weights, in bf16: decode throughput
 * (prefill, then generation with on-device sampling) at batches 64 and 256
 * with 512 prompt and up to 512 completion tokens, and one training step
 * (forward + backward) on a 4,096-token micro-batch, with peak device
 * memory. Not a test: tests/gpu/check.sh runs it and puts its rows in the
 * table. Every phase stops early once it has used its time cap (the rows
 * say how far it got), so the whole run stays within about a minute.
 *
 *   bench_cuda_model [--small]     (--small: a tiny model, a smoke run)
 *
 * Timings are host wall clock around calls that wait for their results.
 * The kernels are the reference-grade first versions (warp-per-row
 * attention without tiling, no CUDA graphs, one cuBLASLt heuristic query
 * per product): these numbers are a baseline to improve on, not the
 * issue's targets. Exits 77 without a device.
 * Status: compiled, not yet run on a GPU. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/error.h"
#include "model/cuda/device.h"
#include "model/cuda/model.h"
#include "model/sampler.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t device_used(void) {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return 0;
  return total_b - free_b;
}

/* Uniform weights of the init's scale (normal(0, 0.02) has the same
 * variance as uniform(+-0.0346)), unit norms, zero biases: cheap to make
 * for half a billion parameters. Speed does not depend on the values. */
static void fill_model(rlvr_model *m, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < m->num_params; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    m->params_memory[i] = (float)(((double)(x >> 11) / 9007199254740992.0) * 2.0 - 1.0) * 0.0346f;
  }
  for (int k = 0; k < m->num_tensors; k++) {
    const rlvr_tensor_info *t = &m->tensors[k];
    const int norm = strstr(t->name, "norm") != NULL, bias = strstr(t->name, ".bias") != NULL;
    if (norm || bias)
      for (size_t i = 0; i < t->numel; i++) m->params_memory[t->offset + i] = norm ? 1.0f : 0.0f;
  }
}

static void row(const char *phase, const char *shape, double value, const char *unit, const char *note) {
  printf("| %s | %s | %.4g | %s | %s |\n", phase, shape, value, unit, note);
}

/* Prefill batch prompts of P tokens, then generate up to S tokens each
 * (sampling on the device at temperature 1), within cap seconds per phase. */
static void bench_decode(rlvr_cuda_model *dm, int batch, int P, int S, double cap) {
  const rlvr_model_config *c = &dm->cfg;
  const int bs = 16, per_seq = (P + S + bs - 1) / bs;
  rlvr_cuda_decode dd;
  rlvr_cuda_decode_build(&dd, dm, batch, P + S, batch * per_seq, bs, 4096);
  int *seqs = malloc(sizeof(int) * batch), *prompt = malloc(sizeof(int) * (size_t)batch * P);
  int *lens = malloc(sizeof(int) * batch), *tok = malloc(sizeof(int) * batch);
  double *u = malloc(sizeof(double) * batch);
  rlvr_sampling *ps = malloc(sizeof(rlvr_sampling) * batch);
  uint64_t x = 12345;
  for (int b = 0; b < batch; b++) {
    seqs[b] = b, lens[b] = P;
    ps[b].temperature = 1.0f, ps[b].top_k = 0, ps[b].top_p = 1.0f;
    for (int t = 0; t < P; t++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      prompt[(size_t)b * P + t] = (int)(x % (uint64_t)c->vocab_size);
    }
  }
  char shape[96];
  snprintf(shape, sizeof shape, "batch %d, prompt %d", batch, P);
  double t0 = now();
  RLVR_CHECK(rlvr_cuda_decode_prefill(&dd, seqs, prompt, lens, batch, P, NULL) == RLVR_OK, "%s", rlvr_error_message());
  const double t_prefill = now() - t0;
  row("decode prefill", shape, (double)batch * P / t_prefill, "tokens/s", "");
  int steps = 0;
  double t_gen = 0;
  t0 = now();
  while (steps < S && t_gen < cap) {
    for (int b = 0; b < batch; b++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      u[b] = (double)(x >> 11) / 9007199254740992.0;
    }
    rlvr_cuda_decode_sample_rows(&dd, NULL, batch, ps, u, tok, NULL);
    if (steps + 1 < S)
      RLVR_CHECK(rlvr_cuda_decode_step(&dd, seqs, tok, batch, NULL) == RLVR_OK, "%s", rlvr_error_message());
    steps++;
    t_gen = now() - t0;
  }
  snprintf(shape, sizeof shape, "batch %d, %d+%d tokens", batch, P, steps);
  char note[96];
  snprintf(note, sizeof note, "%.2f ms per step%s", 1e3 * t_gen / steps, steps < S ? " (stopped at the time cap)" : "");
  row("decode generate", shape, (double)batch * steps / t_gen, "tokens/s", note);
  row("decode peak memory", shape, (double)device_used() / (1 << 30), "GiB", "device total in use");
  rlvr_cuda_decode_free(&dd);
  free(seqs), free(prompt), free(lens), free(tok), free(u), free(ps);
}

static void bench_train(rlvr_cuda_model *dm, int B, int T, double peak, double cap) {
  const rlvr_model_config *c = &dm->cfg;
  const size_t n = (size_t)B * T;
  rlvr_cuda_forward_state fs;
  rlvr_cuda_forward_build(&fs, dm, B, T);
  int *tok = malloc(sizeof(int) * n), *tg = malloc(sizeof(int) * n), *lens = malloc(sizeof(int) * B);
  float *w = malloc(sizeof(float) * n), *lp = malloc(sizeof(float) * n);
  uint64_t x = 777;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    tok[i] = (int)(x % (uint64_t)c->vocab_size);
    w[i] = 1.0f / (float)n;
  }
  for (int b = 0; b < B; b++) {
    lens[b] = T;
    for (int t = 0; t < T; t++) tg[(size_t)b * T + t] = t + 1 < T ? tok[(size_t)b * T + t + 1] : -1;
  }
  double t_fwd = 0, t_all = 0;
  int reps = 0;
  const double start = now();
  for (int r = 0; r < 4 && now() - start < cap; r++) { /* the first is a warm-up */
    double t0 = now();
    RLVR_CHECK(rlvr_cuda_forward(&fs, tok, lens, B, T, tg, lp, NULL, NULL) == RLVR_OK, "%s", rlvr_error_message());
    const double t1 = now();
    rlvr_cuda_backward(&fs, w, NULL);
    rlvr_cuda_context_sync(dm->ctx); /* the backward returns before the GPU is done */
    const double t2 = now();
    if (r > 0) t_fwd += t1 - t0, t_all += t2 - t0, reps++;
  }
  char shape[96];
  snprintf(shape, sizeof shape, "%d x %d tokens", B, T);
  if (reps == 0) {
    row("train forward+backward", shape, 0, "tokens/s", "no timed repetition within the time cap");
  } else {
    t_fwd /= reps, t_all /= reps;
    /* 6 N per token for the products (N without the embedding lookup's
     * table unless tied), plus attention 12 L T C per token (causal: half) */
    const double attn = 6.0 * c->num_layers * (double)T * c->num_heads * c->head_dim;
    const double flops = (6.0 * (double)dm->params.num_params + attn) * (double)n;
    char note[128];
    snprintf(note, sizeof note, "forward %.1f ms, forward+backward %.1f ms, %.1f TFLOP/s", 1e3 * t_fwd, 1e3 * t_all,
             flops / t_all / 1e12);
    row("train forward+backward", shape, (double)n / t_all, "tokens/s", note);
    if (peak > 0) row("train MFU (bf16)", shape, 100.0 * flops / t_all / peak, "%", "of the data-sheet dense bf16 peak");
  }
  row("train peak memory", shape, (double)device_used() / (1 << 30), "GiB", "device total in use");
  rlvr_cuda_forward_free(&fs);
  free(tok), free(tg), free(lens), free(w), free(lp);
}

int main(int argc, char **argv) {
  const int small = argc > 1 && !strcmp(argv[1], "--small");
  if (rlvr_cuda_device_count() == 0) {
    printf("no CUDA device: bench skipped\n");
    return 77;
  }
  struct cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return 1;
  double peak = 0;
  if (strstr(prop.name, "H100") && strstr(prop.name, "PCIe")) peak = 756e12;
  else if (strstr(prop.name, "H100") || strstr(prop.name, "H200")) peak = 989e12;
  char desc[256];
  rlvr_cuda_describe(0, desc, sizeof desc);
  printf("device: %s; bf16 peak assumed %.0f TFLOP/s\n", desc, peak / 1e12);

  rlvr_model_config c;
  memset(&c, 0, sizeof c);
  c.arch = RLVR_ARCH_QWEN2, c.attn_bias = 1, c.tie_embeddings = 1, c.rope_theta = 1e6, c.rms_eps = 1e-6;
  c.bos_token_id = -1, c.num_eos = 1, c.eos_token_ids[0] = 0;
  snprintf(c.torch_dtype, sizeof c.torch_dtype, "bfloat16");
  if (small)
    c.vocab_size = 1000, c.hidden_size = 128, c.intermediate_size = 256, c.num_layers = 2, c.num_heads = 4,
    c.num_kv_heads = 2, c.head_dim = 32, c.max_position = 2048;
  else /* Qwen2.5-0.5B */
    c.vocab_size = 151936, c.hidden_size = 896, c.intermediate_size = 4864, c.num_layers = 24, c.num_heads = 14,
    c.num_kv_heads = 2, c.head_dim = 64, c.max_position = 32768;
  rlvr_model m;
  rlvr_model_alloc(&m, &c);
  fill_model(&m, 1);
  rlvr_cuda_context ctx;
  rlvr_cuda_context_build(&ctx, 0);
  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, &m, RLVR_DTYPE_BF16, 1);
  printf("model: %s shapes, %.1fM parameters, bf16 weights and activations, random values\n",
         small ? "tiny" : "Qwen2.5-0.5B", (double)m.num_params / 1e6);
  printf("\n| phase | shape | value | unit | note |\n|---|---|---|---|---|\n");
  const int P = small ? 32 : 512, S = small ? 32 : 512;
  bench_decode(&dm, small ? 4 : 64, P, S, 12.0);
  bench_decode(&dm, small ? 8 : 256, P, S, 12.0);
  bench_train(&dm, small ? 2 : 8, small ? 64 : 512, peak, 15.0);
  rlvr_cuda_model_free(&dm);
  rlvr_cuda_context_free(&ctx);
  rlvr_model_free(&m);
  return 0;
}
