/* bench_cuda_model.c — the whole model on the GPU (model/cuda/model.h) at
 * Qwen2.5-0.5B's and Qwen2.5-1.5B's shapes with random weights, in bf16:
 *
 *  - decode: prefill, then generation with sampling on the device
 *    (temperature 1), at batches 64 and 256 with 512 prompt and up to 512
 *    generated tokens; tokens/s and the fraction of the memory-bandwidth
 *    roofline reached;
 *  - training: one step on a 4,096-token micro-batch (8 x 512): forward,
 *    backward, gradient norm with clipping at 1.0, AdamW on the fp32 master
 *    weights (with the bf16 copy refreshed in the same pass); tokens/s and
 *    model FLOPs utilisation, for forward+backward alone and the whole step;
 *  - weight sync: the bf16 weights through a CUDA IPC slot (pack into the
 *    slot, then a reader's unpack into another bf16 copy), in one process;
 *  - memory: device memory in use per phase; bytes per parameter and per
 *    token measured from the arenas the code allocates; from them, which
 *    Qwen2.5 sizes and batches fit in 80 GiB (an estimate, said so).
 *
 * Not a test: tests/gpu/check.sh runs it and puts its rows in the table,
 * next to dev/cuda/torch_model.py's (the same phases in PyTorch). Every
 * phase stops early once it has used its time cap (the rows say how far it
 * got); --budget S scales the caps so that the run ends within S seconds.
 *
 *   bench_cuda_model [--small] [--model 0.5b|1.5b|all] [--budget S]
 *     --small: a tiny model, a smoke run (also in the CPU emulation of CUDA:
 *     ctest bench_cuda_model_sim, label sim).
 *
 * Definitions (printed with the rows):
 *  - decode tokens/s: generated tokens over the generation's wall time
 *    (prefill excluded); each step samples one token per sequence on the
 *    device, brings the tokens to the host (as a rollout must, to see stops)
 *    and runs the model on them;
 *  - decode roofline: bytes a step must read from HBM, the bf16 weights
 *    (2 bytes x parameters; the tied embedding counted once, as the lm_head
 *    reads it) plus the KV cache of every sequence's context, summed over
 *    the steps run, over the peak bandwidth from the device attributes
 *    (2 x memory clock x bus width), divided by the measured time. The
 *    logits (B x V fp32, written and read by the sampler) are not counted;
 *  - training FLOPs per token: 6 N (N: parameters that take part in
 *    products: all but an untied embedding table; norms and biases are
 *    included, < 0.1%) plus attention 6 L H D T (QK^T and PV, forward and
 *    backward, causal: half of the 12 L H D T of PaLM's appendix B);
 *    MFU = FLOPs / time / peak, with the dense bf16 peak of the data sheet:
 *    989 TFLOP/s for H100 SXM and H200 (756 PCIe, 835 NVL);
 *  - memory: device total in use (cudaMemGetInfo) at the phase's end, which
 *    is its peak (arenas are allocated once, up front), including the CUDA
 *    context and the cuBLASLt workspace.
 *
 * Timings are host wall clock around calls that wait for their results.
 * Exits 77 without a device. Status: compiled, not yet run on a GPU. */
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
#include "model/cuda/ops.h"
#include "model/cuda/wsync.h"
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

static const double GIB = 1073741824.0;

/* ---- shapes ---- */

typedef struct {
  const char *name;
  int V, C, F, L, H, KVH, D, tied;
} shape;

/* Qwen2.5's config.json values (all: q/k/v bias, rope_theta 1e6); the
 * first two are run, all of them enter the memory estimate. */
static const shape SHAPES[] = {
    {"Qwen2.5-0.5B", 151936, 896, 4864, 24, 14, 2, 64, 1},    {"Qwen2.5-1.5B", 151936, 1536, 8960, 28, 12, 2, 128, 1},
    {"Qwen2.5-3B", 151936, 2048, 11008, 36, 16, 2, 128, 1},   {"Qwen2.5-7B", 152064, 3584, 18944, 28, 28, 4, 128, 0},
    {"Qwen2.5-14B", 152064, 5120, 13824, 48, 40, 8, 128, 0},  {"Qwen2.5-32B", 152064, 5120, 27648, 64, 40, 8, 128, 0},
};
enum { NSHAPES = sizeof SHAPES / sizeof SHAPES[0] };
static const shape TINY = {"tiny", 1000, 128, 256, 2, 4, 2, 32, 1};

static rlvr_model_config config_of(const shape *s) {
  rlvr_model_config c;
  memset(&c, 0, sizeof c);
  c.arch = RLVR_ARCH_QWEN2, c.attn_bias = 1, c.tie_embeddings = s->tied, c.rope_theta = 1e6, c.rms_eps = 1e-6;
  c.bos_token_id = -1, c.num_eos = 1, c.eos_token_ids[0] = 0;
  c.vocab_size = s->V, c.hidden_size = s->C, c.intermediate_size = s->F, c.num_layers = s->L, c.num_heads = s->H;
  c.num_kv_heads = s->KVH, c.head_dim = s->D, c.max_position = s == &TINY ? 2048 : 32768;
  snprintf(c.torch_dtype, sizeof c.torch_dtype, "bfloat16");
  return c;
}

/* Parameters that take part in products (an untied embedding table is only
 * gathered from). */
static double matmul_params(const rlvr_model_config *c) {
  const double n = (double)rlvr_model_num_params(c);
  return c->tie_embeddings ? n : n - (double)c->vocab_size * c->hidden_size;
}

/* Training FLOPs per token of sequences of T tokens (the header's formula). */
static double train_flops_per_token(const rlvr_model_config *c, int T) {
  return 6.0 * matmul_params(c) + 6.0 * c->num_layers * (double)c->num_heads * c->head_dim * (double)T;
}

/* KV cache bytes per token of context in bf16: K and V, every layer. */
static double kv_bytes_per_token(const rlvr_model_config *c) {
  return 2.0 * c->num_layers * (double)c->num_kv_heads * c->head_dim * 2.0;
}

/* Training activations per token in bf16, as rlvr_cuda_forward_build plans
 * them (model/cuda/model.cu; no qk norm; 256-byte padding left out; the
 * norm's and the bias gradient's partial sums over 128 and 256 rows). The
 * logits chunk (min(2^26 / V, tokens) rows of V floats and their bf16
 * gradient) is fixed except for micro-batches under 2^26 / V tokens
 * (small_batch). Printed next to the measured value for the shapes that
 * are run, then used for the others. */
static double act_bytes_per_token(const rlvr_model_config *c, int small_batch) {
  const double L = c->num_layers, C = c->hidden_size, F = c->intermediate_size, H = c->num_heads;
  const double HD = H * c->head_dim, KD = (double)c->num_kv_heads * c->head_dim;
  double W = C > HD ? C : HD;
  W = W > F ? W : F;
  W = W > 2 * KD ? W : 2 * KD;
  const double bf = 2.0 * ((L + 1) * C + L * (C + HD + 2 * KD + HD + C + C + 2 * F) + C + 4 * W + C);
  const double f32 = 4.0 * (L * (1 + H + 1) + 1 + 3 + H + 2); /* rstd, lse; lnf rstd, lse, ent, logprob; delta; w, u */
  const double partial = 4.0 * (C / 128 + (HD > KD ? HD : KD) / 256);
  return bf + f32 + partial + 4.0 * 4 /* tok, target, pos, row_seq */ + (small_batch ? 6.0 * c->vocab_size : 0);
}

/* ---- the run ---- */

static double g_deadline; /* absolute; phases shrink their caps to fit */

/* A phase's time cap: its nominal cap, cut to its share (nominal over the
 * nominal caps of this and the later phases) of the time left, minus what
 * the phases' uncapped parts are expected to take. */
static double phase_cap(double nominal, double later_nominal, double reserve) {
  const double left = g_deadline - now() - reserve;
  const double share = left * nominal / (nominal + later_nominal);
  return share < nominal ? share : nominal;
}

static char g_model[32]; /* the model column */

static void row(const char *phase, const char *shape_s, double value, const char *unit, const char *note) {
  printf("| %s | %s | %s | %.4g | %s | %s |\n", g_model, phase, shape_s, value, unit, note);
}

/* Uniform weights of the init's scale (normal(0, 0.02) has the same
 * variance as uniform(+-0.0346)) in a repeating block of a prime length,
 * unit norms, zero biases: cheap to make for billions of parameters. Speed
 * does not depend on the values. */
static void fill_model(rlvr_model *m, uint64_t seed) {
  enum { BLOCK = 1000003 };
  float *blk = xmalloc(sizeof(float) * BLOCK);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < BLOCK; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    blk[i] = (float)(((double)(x >> 11) / 9007199254740992.0) * 2.0 - 1.0) * 0.0346f;
  }
  for (size_t i = 0; i < m->num_params; i += BLOCK) {
    const size_t n = m->num_params - i < BLOCK ? m->num_params - i : BLOCK;
    memcpy(m->params_memory + i, blk, n * sizeof(float));
  }
  free(blk);
  for (int k = 0; k < m->num_tensors; k++) {
    const rlvr_tensor_info *t = &m->tensors[k];
    const int norm = strstr(t->name, "norm") != NULL, bias = strstr(t->name, ".bias") != NULL;
    if (norm || bias)
      for (size_t i = 0; i < t->numel; i++) m->params_memory[t->offset + i] = norm ? 1.0f : 0.0f;
  }
}

typedef struct {
  double peak_bw, peak_flops; /* bytes/s, FLOP/s (0: unknown) */
  size_t context_bytes;       /* in use before any model: CUDA context, cuBLASLt workspace, other processes */
  size_t total_bytes;
} device_info;

/* Measured per model, for the memory estimate. */
typedef struct {
  double param_bytes;   /* fp32 master + bf16 copy + fp32 grads + AdamW m, v: per parameter */
  double decode_param_bytes; /* fp32 master + bf16 copy: per parameter */
  double act_per_token, act_fixed; /* training activations */
  double seq_bytes, decode_fixed;  /* decode state per sequence of seq_tokens tokens, and fixed */
  int seq_tokens;
  int have_act, have_seq;
} mem_measure;

/* Prefill batch prompts of P tokens, then generate up to S tokens each
 * (sampling on the device at temperature 1), within cap seconds of
 * generation. Returns the decode arena's size (bytes). */
static size_t bench_decode(rlvr_cuda_model *dm, const device_info *di, int batch, int P, int S, double cap) {
  const rlvr_model_config *c = &dm->cfg;
  const int bs = 16, per_seq = (P + S + bs - 1) / bs;
  rlvr_cuda_decode dd;
  rlvr_cuda_decode_build(&dd, dm, batch, P + S, batch * per_seq, bs, 4096);
  int *seqs = xmalloc(sizeof(int) * batch), *prompt = xmalloc(sizeof(int) * (size_t)batch * P);
  int *lens = xmalloc(sizeof(int) * batch), *tok = xmalloc(sizeof(int) * batch);
  double *u = xmalloc(sizeof(double) * batch);
  rlvr_sampling *ps = xmalloc(sizeof(rlvr_sampling) * batch);
  uint64_t x = 12345;
  for (int b = 0; b < batch; b++) {
    seqs[b] = b, lens[b] = P;
    ps[b].temperature = 1.0f, ps[b].top_k = 0, ps[b].top_p = 1.0f;
    for (int t = 0; t < P; t++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      prompt[(size_t)b * P + t] = (int)(x % (uint64_t)c->vocab_size);
    }
  }
  char shape_s[96], note[256];
  snprintf(shape_s, sizeof shape_s, "batch %d, %d+%d", batch, P, S);
  double t0 = now();
  RLVR_CHECK(rlvr_cuda_decode_prefill(&dd, seqs, prompt, lens, batch, P, NULL) == RLVR_OK, "%s", rlvr_error_message());
  const double t_prefill = now() - t0;
  snprintf(note, sizeof note, "%.3f s for %d prompt tokens (the first call: includes cuBLASLt's algorithm choices)",
           t_prefill, batch * P);
  row("decode prefill", shape_s, (double)batch * P / t_prefill, "tokens/s", note);
  int steps = 0, fwd = 0; /* tokens sampled per sequence; decode steps run */
  double t_gen = 0, kv_tokens = 0;
  t0 = now();
  while (steps < S && (steps == 0 || t_gen < cap)) {
    for (int b = 0; b < batch; b++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      u[b] = (double)(x >> 11) / 9007199254740992.0;
    }
    rlvr_cuda_decode_sample_rows(&dd, NULL, batch, ps, u, tok, NULL);
    if (steps + 1 < S) {
      RLVR_CHECK(rlvr_cuda_decode_step(&dd, seqs, tok, batch, NULL) == RLVR_OK, "%s", rlvr_error_message());
      kv_tokens += (double)batch * (P + fwd + 1); /* the step attends over P + fwd + 1 positions */
      fwd++;
    }
    steps++;
    t_gen = now() - t0;
  }
  const double tps = (double)batch * steps / t_gen;
  const double wbytes = 2.0 * (double)matmul_params(c) * fwd, kvbytes = kv_bytes_per_token(c) * kv_tokens;
  const double roof_s = di->peak_bw > 0 ? (wbytes + kvbytes) / di->peak_bw : 0;
  snprintf(note, sizeof note, "%d of %d steps%s, %.2f ms per step", steps, S,
           steps < S ? " (stopped at the time cap: shorter contexts than the full run)" : "", 1e3 * t_gen / steps);
  row("decode generate", shape_s, tps, "tokens/s", note);
  if (roof_s > 0) {
    snprintf(note, sizeof note,
             "%.2f GB weights + %.2f GB KV cache per step on average at %.0f GB/s: roofline %.0f tokens/s",
             wbytes / fwd / 1e9, kvbytes / fwd / 1e9, di->peak_bw / 1e9, tps * t_gen / roof_s);
    row("decode roofline fraction", shape_s, 100.0 * roof_s / t_gen, "%", note);
  }
  snprintf(note, sizeof note, "device total in use; decode state %.2f GiB (KV cache %.2f GiB)", dd.arena.size / GIB,
           2.0 * c->num_layers * (double)dd.pool_rows * c->num_kv_heads * c->head_dim * 2 / GIB);
  row("decode memory", shape_s, (double)device_used() / GIB, "GiB", note);
  const size_t arena = dd.arena.size;
  rlvr_cuda_decode_free(&dd);
  free(seqs), free(prompt), free(lens), free(tok), free(u), free(ps);
  return arena;
}

/* One training step per repetition (the first a warm-up) on B x T tokens. */
static void bench_train(rlvr_cuda_model *dm, const rlvr_model *m, const device_info *di, int B, int T, double cap,
                        mem_measure *mm) {
  const rlvr_model_config *c = &dm->cfg;
  const size_t n = (size_t)B * T, np = dm->params.num_params;
  /* activations per token: the arena at a smaller batch first */
  rlvr_cuda_forward_state fs;
  if (B > 1) {
    rlvr_cuda_forward_build(&fs, dm, 1, T);
    const double small = (double)fs.arena.size;
    rlvr_cuda_forward_free(&fs);
    rlvr_cuda_forward_build(&fs, dm, B, T);
    mm->act_per_token = ((double)fs.arena.size - small) / (double)(n - (size_t)T);
    mm->act_fixed = (double)fs.arena.size - mm->act_per_token * (double)n;
    mm->have_act = 1;
  } else {
    rlvr_cuda_forward_build(&fs, dm, B, T);
  }
  /* AdamW moments and the norm's scratch */
  rlvr_cuda_arena opt;
  const size_t sizes[5] = {np * sizeof(float), np * sizeof(float), sizeof(float), sizeof(double),
                           RLVR_CUDA_NORM_BLOCKS * sizeof(double)};
  rlvr_cuda_arena_build(&opt, "adamw", rlvr_cuda_arena_need(sizes, 5));
  float *am = rlvr_cuda_arena_alloc(&opt, sizes[0]), *av = rlvr_cuda_arena_alloc(&opt, sizes[1]);
  float *scale = rlvr_cuda_arena_alloc(&opt, sizes[2]);
  double *norm = rlvr_cuda_arena_alloc(&opt, sizes[3]), *partials = rlvr_cuda_arena_alloc(&opt, sizes[4]);
  RLVR_CHECK(cudaMemsetAsync(am, 0, np * sizeof(float), dm->ctx->stream) == cudaSuccess);
  RLVR_CHECK(cudaMemsetAsync(av, 0, np * sizeof(float), dm->ctx->stream) == cudaSuccess);
  mm->param_bytes = (double)(dm->params.arena.size + dm->arena.size + opt.size) / (double)np;
  const rlvr_adamw_config acfg = {.lr = 1e-6f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};

  int *tok = xmalloc(sizeof(int) * n), *tg = xmalloc(sizeof(int) * n), *lens = xmalloc(sizeof(int) * B);
  float *w = xmalloc(sizeof(float) * n), *lp = xmalloc(sizeof(float) * n);
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
  double t_fwd = 0, t_fb = 0, t_all = 0, first = 0;
  int reps = 0;
  const double start = now();
  for (int r = 0; r < 4 && (r == 0 || now() - start < cap); r++) { /* the first is a warm-up */
    const double t0 = now();
    rlvr_cuda_model_grads_zero(dm);
    RLVR_CHECK(rlvr_cuda_forward(&fs, tok, lens, B, T, tg, lp, NULL, NULL) == RLVR_OK, "%s", rlvr_error_message());
    const double t1 = now();
    rlvr_cuda_backward(&fs, w, NULL);
    rlvr_cuda_context_sync(dm->ctx); /* the backward returns before the GPU is done */
    const double t2 = now();
    rlvr_cuda_grad_norm(norm, scale, partials, dm->grads, np, 1.0, dm->ctx->stream);
    rlvr_cuda_adamw_step(dm->params.f32, dm->params.bf16, dm->grads, am, av, scale, m->tensors, m->num_tensors, &acfg,
                         r + 1, dm->ctx->stream);
    rlvr_cuda_context_sync(dm->ctx);
    const double t3 = now();
    if (r == 0) first = t3 - t0;
    else t_fwd += t1 - t0, t_fb += t2 - t0, t_all += t3 - t0, reps++;
  }
  char shape_s[96], note[256];
  snprintf(shape_s, sizeof shape_s, "%d x %d tokens", B, T);
  if (reps == 0) {
    snprintf(note, sizeof note, "no timed repetition within the time cap (warm-up step %.2f s)", first);
    row("train step (fwd+bwd+clip+AdamW)", shape_s, 0, "tokens/s", note);
  } else {
    t_fwd /= reps, t_fb /= reps, t_all /= reps;
    const double flops = train_flops_per_token(c, T) * (double)n;
    snprintf(note, sizeof note, "mean of %d after a warm-up; forward %.1f ms, forward+backward %.1f ms", reps,
             1e3 * t_fwd, 1e3 * t_fb);
    row("train fwd+bwd", shape_s, (double)n / t_fb, "tokens/s", note);
    snprintf(note, sizeof note, "%.1f ms: fwd+bwd, grad norm + clip 1.0, AdamW (fp32 master, bf16 copy refreshed)",
             1e3 * t_all);
    row("train step (fwd+bwd+clip+AdamW)", shape_s, (double)n / t_all, "tokens/s", note);
    if (di->peak_flops > 0) {
      snprintf(note, sizeof note, "%.1f TFLOP/s; %.3g FLOP/token = 6 x %.4g params + 6 L H D T (causal attention)",
               flops / t_fb / 1e12, flops / (double)n, matmul_params(c));
      row("train fwd+bwd MFU", shape_s, 100.0 * flops / t_fb / di->peak_flops, "%", note);
      snprintf(note, sizeof note, "%.1f TFLOP/s over the whole step, of %.0f TFLOP/s dense bf16", flops / t_all / 1e12,
               di->peak_flops / 1e12);
      row("train step MFU", shape_s, 100.0 * flops / t_all / di->peak_flops, "%", note);
    }
  }
  snprintf(note, sizeof note,
           "device total in use; weights+grads+AdamW %.1f B/param, activations %.2f GiB (%.0f KiB/token)",
           mm->param_bytes, fs.arena.size / GIB, mm->have_act ? mm->act_per_token / 1024 : 0.0);
  row("train memory", shape_s, (double)device_used() / GIB, "GiB", note);
  rlvr_cuda_forward_free(&fs);
  rlvr_cuda_arena_free(&opt);
  free(tok), free(tg), free(lens), free(w), free(lp);
}

/* The learner's bf16 weights into a CUDA IPC slot and out into a reader's
 * copy, as tests/gpu/test_wsync does between two processes (there also the
 * pipe's round trip); here one process, both copies timed. */
static void bench_wsync(rlvr_cuda_model *dm, const rlvr_model *m) {
  rlvr_wsync_layout l;
  RLVR_CHECK(rlvr_wsync_layout_build(&l, m->tensors, m->num_tensors, 2, 64u << 20) == RLVR_OK, "%s",
             rlvr_error_message());
  rlvr_wsync_ipc x;
  rlvr_wsync_ipc_build(&x, dm->ctx, &l, 2);
  void *dst = NULL;
  RLVR_CHECK(cudaMalloc(&dst, l.src_bytes) == cudaSuccess, "cudaMalloc of %zu bytes", l.src_bytes);
  rlvr_wsync_ipc_write(&x, 0, dm->params.bf16); /* warm */
  RLVR_CHECK(rlvr_wsync_ipc_read(&x, 0, dst) == RLVR_OK, "%s", rlvr_error_message());
  double tw = 0, tr = 0;
  const int reps = 3;
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    rlvr_wsync_ipc_write(&x, (r + 1) % 2, dm->params.bf16);
    const double t1 = now();
    RLVR_CHECK(rlvr_wsync_ipc_read(&x, (r + 1) % 2, dst) == RLVR_OK, "%s", rlvr_error_message());
    tw += t1 - t0, tr += now() - t1;
  }
  tw /= reps, tr /= reps;
  char shape_s[96], note[256];
  snprintf(shape_s, sizeof shape_s, "%.0f MB bf16, %d buckets", l.bytes / 1e6, l.nbuckets);
  snprintf(note, sizeof note,
           "mean of %d: learner write %.2f ms + reader read %.2f ms (one process; target < 100 ms for 0.5B)", reps,
           1e3 * tw, 1e3 * tr);
  row("weight sync (CUDA IPC slot)", shape_s, 1e3 * (tw + tr), "ms", note);
  cudaFree(dst);
  rlvr_wsync_ipc_free(&x);
  rlvr_wsync_layout_free(&l);
}

/* One model: decode at both batches, training, weight sync; fills mm. */
static void bench_model(const shape *s, const device_info *di, int small, mem_measure *mm) {
  const double t_start = now();
  const rlvr_model_config c = config_of(s);
  snprintf(g_model, sizeof g_model, "%s", s->name);
  rlvr_model m;
  rlvr_model_alloc(&m, &c);
  fill_model(&m, 1);
  rlvr_cuda_context ctx;
  rlvr_cuda_context_build(&ctx, 0);
  const int P = small ? 32 : 512, S = small ? 32 : 512, b1 = small ? 4 : 64, b2 = small ? 8 : 256;
  const int TB = small ? 2 : 8, TT = small ? 64 : 512;
  /* nominal caps of the capped parts, and what the uncapped parts of the
   * later phases are expected to take (prefills, the rebuild, warm-ups) */
  const double cap1 = small ? 30 : 6, cap2 = small ? 30 : 10, cap3 = small ? 30 : 5;
  const double big = (double)m.num_params / 1e9;
  char note[256];

  /* decode: no gradients (a rollout GPU's model: fp32 master + bf16 copy) */
  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, &m, RLVR_DTYPE_BF16, 0);
  mm->decode_param_bytes = (double)dm.params.arena.size / (double)dm.params.num_params;
  snprintf(note, sizeof note, "%.1fM parameters, random weights, built and uploaded in %.1f s",
           (double)m.num_params / 1e6, now() - t_start);
  row("setup", "bf16 weights and activations", (double)m.num_params / 1e6, "M params", note);
  const size_t a1 = bench_decode(&dm, di, b1, P, S, phase_cap(cap1, cap2 + cap3, 2 + 4 * big));
  const size_t a2 = bench_decode(&dm, di, b2, P, S, phase_cap(cap2, cap3, 1 + 3 * big));
  mm->seq_bytes = ((double)a2 - (double)a1) / (b2 - b1);
  mm->decode_fixed = (double)a2 - mm->seq_bytes * b2;
  mm->seq_tokens = (P + S + 15) / 16 * 16; /* bench_decode's blocks of 16 */
  mm->have_seq = 1;
  bench_wsync(&dm, &m);
  rlvr_cuda_model_free(&dm);

  /* training: with gradients and AdamW moments */
  rlvr_cuda_model_build(&dm, &ctx, &m, RLVR_DTYPE_BF16, 1);
  bench_train(&dm, &m, di, TB, TT, phase_cap(cap3, 0, 1 + big), mm);
  rlvr_cuda_model_free(&dm);
  rlvr_cuda_context_free(&ctx);
  rlvr_model_free(&m);
  if (mm->have_act) {
    const int small_batch = (1 << 26) / c.vocab_size >= TB * TT;
    snprintf(note, sizeof note, "formula %.2f KiB/token, measured %.2f KiB/token (from the arenas at 1 and %d rows)",
             act_bytes_per_token(&c, small_batch) / 1024, mm->act_per_token / 1024, TB);
    row("memory check: activations per token", "bf16", mm->act_per_token / 1024, "KiB", note);
  }
}

/* Which Qwen2.5 sizes fit in 80 GiB: bytes per parameter as measured (the
 * same for every size: the layout is per parameter), activations and KV
 * cache per token by the formulas checked against the measured models, the
 * fixed parts and the decode state per sequence besides its KV cache as
 * measured on the largest model run. */
static void fit_estimate(const mem_measure *mm, const rlvr_model_config *run, const device_info *di) {
  const double budget = 80.0 * GIB - (double)di->context_bytes;
  /* logits rows, split records, tables */
  const double seq_other = mm->seq_bytes - kv_bytes_per_token(run) * mm->seq_tokens;
  printf("\nfit in 80 GiB (an estimate from the measurements above, not a run): %.1f B/param for training (fp32 "
         "master, bf16 copy, fp32 grads, AdamW m and v) and %.1f B/param for decoding (fp32 master + bf16 copy), as "
         "allocated above; training activations %.0f MiB fixed (the logits chunk) + the formula's bytes per token "
         "(checked against the measured above); decoding: KV cache 2 L KVH D x 2 bytes per token, %.0f MiB fixed "
         "(prefill chunk) and %.2f MiB per sequence besides its KV cache (logits rows, attention split records), "
         "both measured on %s; %.2f GiB of CUDA context and workspace (measured) subtracted\n\n",
         mm->param_bytes, mm->decode_param_bytes, mm->act_fixed / 1048576.0, mm->decode_fixed / 1048576.0,
         seq_other / 1048576.0, g_model, di->context_bytes / GIB);
  printf("| model | params | train: largest micro-batch (tokens) | decode: largest batch at 512+512 | "
         "decode, were the fp32 master dropped (2 B/param) |\n|---|---|---|---|---|\n");
  for (int i = 0; i < NSHAPES; i++) {
    const rlvr_model_config c = config_of(&SHAPES[i]);
    const double np = (double)rlvr_model_num_params(&c);
    const double train_left = budget - np * mm->param_bytes - mm->act_fixed;
    const double per_seq = kv_bytes_per_token(&c) * 1024 + seq_other;
    const double dec_left = budget - np * mm->decode_param_bytes - mm->decode_fixed;
    const double dec_left16 = budget - np * 2.0 - mm->decode_fixed;
    printf("| %s | %.2fB | %.0f | %.0f | %.0f |\n", SHAPES[i].name, np / 1e9,
           train_left > 0 ? floor(train_left / act_bytes_per_token(&c, 0)) : 0.0,
           dec_left > 0 ? floor(dec_left / per_seq) : 0.0, dec_left16 > 0 ? floor(dec_left16 / per_seq) : 0.0);
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* rows reach check.sh's file even if the run is cut */
  int small = 0, which = 3; /* bit 0: 0.5B, bit 1: 1.5B */
  double budget = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--small")) small = 1;
    else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
      const char *v = argv[++i];
      which = !strcmp(v, "0.5b") ? 1 : !strcmp(v, "1.5b") ? 2 : !strcmp(v, "all") ? 3 : 0;
      if (!which) {
        fprintf(stderr, "bench_cuda_model: --model 0.5b, 1.5b or all, not %s\n", v);
        return 2;
      }
    } else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
      budget = atof(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_cuda_model [--small] [--model 0.5b|1.5b|all] [--budget SECONDS]\n");
      return 2;
    }
  }
  g_deadline = now() + (budget > 0 ? budget : 1e9);
  if (rlvr_cuda_device_count() == 0) {
    printf("no CUDA device: bench skipped\n");
    return 77;
  }
  struct cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return 1;
  device_info di = {0};
  if (strstr(prop.name, "H100") && strstr(prop.name, "PCIe")) di.peak_flops = 756e12;
  else if (strstr(prop.name, "H100") && strstr(prop.name, "NVL")) di.peak_flops = 835e12;
  else if (strstr(prop.name, "H100") || strstr(prop.name, "H200")) di.peak_flops = 989e12;
  int mem_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) == cudaSuccess)
    di.peak_bw = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0);
  char desc[256];
  rlvr_cuda_describe(0, desc, sizeof desc);
  printf("device: %s; dense bf16 peak %.0f TFLOP/s (data sheet, by name; 0: unknown), HBM peak %.0f GB/s "
         "(2 x memory clock x bus width)\n",
         desc, di.peak_flops / 1e12, di.peak_bw / 1e9);
  {
    rlvr_cuda_context ctx;
    rlvr_cuda_context_build(&ctx, 0);
    size_t free_b = 0;
    if (cudaMemGetInfo(&free_b, &di.total_bytes) != cudaSuccess) free_b = di.total_bytes = 0;
    di.context_bytes = di.total_bytes - free_b;
    rlvr_cuda_context_free(&ctx);
  }
  printf("model: %s, bf16 weights and activations (fp32 master weights, gradients, AdamW moments), random values; "
         "decode samples at temperature 1 on the device\n",
         small ? "tiny" : "Qwen2.5-0.5B and 1.5B shapes");
  printf("\n| model | phase | shape | value | unit | note |\n|---|---|---|---|---|---|\n");
  mem_measure mm[2];
  memset(mm, 0, sizeof mm);
  int measured = -1;
  const shape *run = NULL;
  if (small) {
    bench_model(&TINY, &di, 1, &mm[0]);
    measured = 0, run = &TINY; /* the estimate's code runs too, on the tiny model's measurements */
  } else {
    for (int k = 0; k < 2; k++) {
      if (!(which & (1 << k))) continue;
      if (budget > 0 && g_deadline - now() < 10) {
        snprintf(g_model, sizeof g_model, "%s", SHAPES[k].name);
        row("not run", "", 0, "", "the time budget is spent");
        continue;
      }
      bench_model(&SHAPES[k], &di, 0, &mm[k]);
      measured = k, run = &SHAPES[k];
    }
  }
  if (measured >= 0 && mm[measured].have_act && mm[measured].have_seq) {
    const rlvr_model_config c = config_of(run);
    snprintf(g_model, sizeof g_model, "%s", run->name);
    fit_estimate(&mm[measured], &c, &di);
  }
  return 0;
}
