/* test_cuda_model.c — the whole model on the GPU (model/cuda/model.h)
 * against the CPU model (model/forward.h), which is the reference, on the
 * fixture models tests/fixtures/models/tiny-{llama,qwen2,qwen3} (tied
 * embeddings; q/k/v bias; q/k norm), in both precisions:
 *
 *  1. training forward over a right-padded batch (lengths 13, 0, 7, 10, some
 *     targets missing): logits, log-probs, entropies; then the backward of
 *     sum w logprob + u entropy: the gradient of every tensor. Once more at
 *     temperature 0.7. The GPU forward run twice gives the same bits; two
 *     backwards give twice one; the backward without the entropy term.
 *  2. decode over the paged cache, teacher-forced: three sequences in
 *     scattered ids, prefill chunked across sequence boundaries (max_rows 7,
 *     blocks of 4 tokens), then steps as the sequences finish at different
 *     times: each row of logits against the GPU forward's at that position.
 *  3. generation: one prompt prefilled once and forked to G = 4 samples
 *     (sharing its blocks; the partial last block is copied on write),
 *     sampled on the GPU (temperature 0.8, with and without top-k/top-p),
 *     samples leaving at different lengths and a new prompt joining midway;
 *     then the GPU forward on the finished sequences: its log-probs of the
 *     sampled tokens against the sampler's. All blocks come back at the end.
 *
 * Tolerances. F32 mode: the CPU's fp32 in other summation orders (cuBLASLt,
 * warp reductions) and CUDA's expf: logits |d| <= 1e-4 max|row| + 1e-5,
 * log-probs 2e-4 + 2e-5 |x|, entropies 1e-4 + 1e-4 |x|, gradients per
 * tensor |d| <= 1e-4 max|tensor| + 1e-3 |x| and relative L2 error <= 1e-4.
 * For scale: multiplying every weight by 1 + 1e-6 N(0,1) (a few ulps) moves
 * the CPU's logits by 2e-6 of the row's max, log-probs by 8e-5, entropies
 * by 1.3e-5 and gradients by 8e-6 relative L2 in the worst tensor, on these
 * fixtures: the fp32 tolerances leave about ten times that.
 * BF16 mode: the reference is the CPU on the same bf16-rounded weights, so
 * what remains is the rounding of every stored activation to bf16 (2^-9
 * relative each). Rounding the weights alone moves the CPU's logits by up
 * to 0.0036 max|row|, log-probs by 0.2 (of values up to 67: tiny-llama's
 * logits reach 50), entropies by 0.024 and gradients by 0.012 relative L2
 * in the worst tensor (measured on the CPU on these fixtures; the test
 * prints this measure, "weights rounded on the CPU", on every bf16 run,
 * next to the GPU's differences); the bf16
 * tolerances are about ten times that: logits 0.03 max|row| + 0.03,
 * log-probs and entropies 0.1 + 0.03 |x|, gradients relative L2 per tensor
 * <= 0.1. They are provisional until the first GPU run (docs/cuda.md).
 * Decode against the GPU forward: the same kernels except the attention's
 * key addressing and the products' M, so F32 as above and BF16 the same
 * tolerances as against the CPU; rows that agree bit for bit are counted.
 *
 * Exits 77 (ctest: skipped) when there is no CUDA device.
 * Status: compiled, not yet run on a GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/cuda/device.h"
#include "model/cuda/model.h"
#include "model/cuda/runtime.h"
#include "model/forward.h"
#include "model/sampler.h"
#include "testing.h"
#ifndef RLVR_GPU_NO_CHECKPOINT
#include "model/checkpoint.h"
#endif

static rlvr_cuda_context ctx;

typedef struct {
  double logit_row, logit_abs; /* |d| <= logit_row * max|row| + logit_abs */
  double lp_abs, lp_rel, ent_abs, ent_rel;
  double g_scale, g_rel, g_l2; /* per tensor: |d| <= g_scale max|t| + g_rel |x|; rel L2 <= g_l2 */
} tolerances;

static const tolerances TOL_F32 = {1e-4, 1e-5, 2e-4, 2e-5, 1e-4, 1e-4, 1e-4, 1e-3, 1e-4};
static const tolerances TOL_BF16 = {0.03, 0.03, 0.1, 0.03, 0.1, 0.03, 1.0, 1.0, 0.1};

static const char *dt_name(rlvr_dtype dt) { return dt == RLVR_DTYPE_BF16 ? "bf16" : "f32"; }

/* The fixture model, or (built without checkpoint reading: the standalone
 * GPU project on a machine without cJSON) a random model of its shapes. */
static void load_model(const char *name, rlvr_model *m) {
#ifndef RLVR_GPU_NO_CHECKPOINT
  char path[256];
  snprintf(path, sizeof path, "tests/fixtures/models/%s", name);
  if (rlvr_model_load(path, m) != RLVR_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, rlvr_error_message());
    exit(1);
  }
#else
  rlvr_model_config c;
  memset(&c, 0, sizeof c);
  c.vocab_size = 320, c.hidden_size = 64, c.intermediate_size = 96, c.num_layers = 2, c.num_heads = 4;
  c.num_kv_heads = 2, c.max_position = 128, c.bos_token_id = -1, c.num_eos = 1, c.eos_token_ids[0] = 2;
  if (!strcmp(name, "tiny-llama"))
    c.arch = RLVR_ARCH_LLAMA, c.head_dim = 16, c.rope_theta = 1e4, c.rms_eps = 1e-5, c.tie_embeddings = 1;
  else if (!strcmp(name, "tiny-qwen2"))
    c.arch = RLVR_ARCH_QWEN2, c.head_dim = 16, c.rope_theta = 1e6, c.rms_eps = 1e-6, c.attn_bias = 1;
  else
    c.arch = RLVR_ARCH_QWEN3, c.head_dim = 32, c.rope_theta = 1e6, c.rms_eps = 1e-6, c.qk_norm = 1;
  snprintf(c.torch_dtype, sizeof c.torch_dtype, "float32");
  rlvr_model_init_random(m, &c, 7);
  for (size_t i = 0; i < m->num_params; i++) m->params_memory[i] *= 8.0f; /* less uniform outputs */
  printf("note: %s is a random model of the fixture's shapes (built without checkpoint reading)\n", name);
#endif
}

/* A copy of m with every weight rounded to bf16 (what the GPU computes with in bf16). */
static void rounded_copy(const rlvr_model *m, rlvr_model *r) {
  rlvr_model_alloc(r, &m->cfg);
  for (size_t i = 0; i < m->num_params; i++) r->params_memory[i] = rlvr_bf16_round(m->params_memory[i]);
}

/* Logits (rows of V): |d| <= row_tol * max|want row| + abs_tol. */
static void check_logits(const char *what, const float *got, const float *want, size_t rows, int V, double row_tol,
                         double abs_tol) {
  double worst = 0, worst_rel = 0;
  size_t bad = 0, same_rows = 0;
  for (size_t r = 0; r < rows; r++) {
    double mx = 0;
    for (int j = 0; j < V; j++) mx = fmax(mx, fabs(want[r * V + j]));
    int same = 1;
    for (int j = 0; j < V; j++) {
      const double d = fabs((double)got[r * V + j] - want[r * V + j]);
      if (!(d <= row_tol * mx + abs_tol)) bad++;
      if (d > worst || d != d) worst = d;
      if (mx > 0 && d / mx > worst_rel) worst_rel = d / mx;
      if (got[r * V + j] != want[r * V + j]) same = 0;
    }
    same_rows += (size_t)same;
  }
  test_checks++;
  if (bad) {
    test_failures++;
    fprintf(stderr, "FAIL %s: %zu of %zu differ; max |diff| %.3g (%.3g of the row's max; tol %g max|row| + %g)\n", what,
            bad, rows * (size_t)V, worst, worst_rel, row_tol, abs_tol);
  } else {
    printf("ok   %s: max |diff| %.3g (%.3g of the row's max) over %zu rows, %zu rows bit-identical\n", what, worst,
           worst_rel, rows, same_rows);
  }
}

/* Every tensor's gradient: elementwise with a tensor-scaled atol, and its
 * relative L2 error. Prints the worst tensor. */
static void check_grads(const char *what, const rlvr_model *m, const float *got, const float *want,
                        const tolerances *t) {
  double worst_l2 = 0, worst_d = 0;
  const char *worst_name = "";
  int bad_tensors = 0;
  for (int k = 0; k < m->num_tensors; k++) {
    const rlvr_tensor_info *ti = &m->tensors[k];
    const float *g = got + ti->offset, *w = want + ti->offset;
    double mx = 0, num = 0, den = 0, md = 0;
    for (size_t i = 0; i < ti->numel; i++) mx = fmax(mx, fabs(w[i]));
    size_t bad = 0;
    for (size_t i = 0; i < ti->numel; i++) {
      const double d = fabs((double)g[i] - w[i]);
      if (!(d <= t->g_scale * mx + t->g_rel * fabs(w[i]))) bad++;
      num += d * d, den += (double)w[i] * w[i], md = fmax(md, d);
      if (d != d) md = d;
    }
    const double l2 = den > 0 ? sqrt(num / den) : sqrt(num);
    if (bad || !(l2 <= t->g_l2)) {
      bad_tensors++;
      fprintf(stderr, "FAIL %s: %s: %zu of %zu elements differ, max |diff| %.3g (max |grad| %.3g), rel L2 %.3g (tol %g)\n",
              what, ti->name, bad, ti->numel, md, mx, l2, t->g_l2);
    }
    if (l2 > worst_l2 || l2 != l2) worst_l2 = l2, worst_name = ti->name, worst_d = md;
  }
  test_checks++;
  if (bad_tensors)
    test_failures++;
  else
    printf("ok   %s: %d tensors, worst rel L2 %.3g (%s, max |diff| %.3g)\n", what, m->num_tensors, worst_l2, worst_name,
           worst_d);
}

enum { TB = 4, TT = 13 };

/* 1. training forward and backward against the CPU. */
static void test_train(const rlvr_model *m, const char *name, rlvr_dtype dt, float temperature) {
  const tolerances *tol = dt == RLVR_DTYPE_BF16 ? &TOL_BF16 : &TOL_F32;
  const int V = m->cfg.vocab_size, lens[TB] = {13, 0, 7, 10};
  int tokens[TB * TT], targets[TB * TT];
  float w[TB * TT], u[TB * TT];
  rlvr_rng r;
  rlvr_rng_seed(&r, 11);
  for (int i = 0; i < TB * TT; i++) {
    tokens[i] = (int)rlvr_rng_below(&r, (uint64_t)V);
    w[i] = rlvr_rng_normal(&r);
    u[i] = 0.1f * rlvr_rng_normal(&r);
  }
  for (int b = 0; b < TB; b++)
    for (int t = 0; t < TT; t++) targets[b * TT + t] = t + 1 < lens[b] ? tokens[b * TT + t + 1] : -1;
  targets[0 * TT + 3] = -1, targets[2 * TT + 0] = -1; /* positions with no target */
  const size_t nz = (size_t)TB * TT * V;
  float *z_cpu = malloc(nz * sizeof(float)), *z_gpu = malloc(nz * sizeof(float));
  float lp_cpu[TB * TT], lp_gpu[TB * TT], lp_gpu2[TB * TT], ent_cpu[TB * TT], ent_gpu[TB * TT];
  float *g_cpu = calloc(m->num_params, sizeof(float)), *g_gpu = malloc(m->num_params * sizeof(float));

  rlvr_model rm;
  const rlvr_model *ref = m;
  if (dt == RLVR_DTYPE_BF16) rounded_copy(m, &rm), ref = &rm;
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m->cfg, TB, TT);
  rlvr_forward_set_temperature(&fs, temperature);
  if (ref != m) { /* context for the bf16 tolerances: what rounding the weights alone does on the CPU */
    float *z32 = malloc(nz * sizeof(float)), *g32 = calloc(m->num_params, sizeof(float));
    float lp32[TB * TT];
    CHECK(rlvr_forward(&fs, m, tokens, lens, TB, TT, targets, lp32, NULL, z32) == RLVR_OK);
    rlvr_backward(&fs, m, w, u, g32);
    CHECK(rlvr_forward(&fs, ref, tokens, lens, TB, TT, targets, lp_cpu, NULL, z_cpu) == RLVR_OK);
    double dz = 0, dlp = 0, worst = 0;
    for (size_t i = 0; i < nz; i++) dz = fmax(dz, fabs((double)z32[i] - z_cpu[i]));
    for (int i = 0; i < TB * TT; i++) dlp = fmax(dlp, fabs((double)lp32[i] - lp_cpu[i]));
    rlvr_grads_zero(m, g_cpu);
    rlvr_backward(&fs, ref, w, u, g_cpu);
    for (int k = 0; k < m->num_tensors; k++) {
      const rlvr_tensor_info *ti = &m->tensors[k];
      double num = 0, den = 0;
      for (size_t i = 0; i < ti->numel; i++) {
        const double d = (double)g32[ti->offset + i] - g_cpu[ti->offset + i];
        num += d * d, den += (double)g_cpu[ti->offset + i] * g_cpu[ti->offset + i];
      }
      if (den > 0) worst = fmax(worst, sqrt(num / den));
    }
    printf("     %s weights rounded to bf16 on the CPU move logits by %.3g, log-probs by %.3g, gradients by %.3g "
           "relative L2 (worst tensor)\n", name, dz, dlp, worst);
    rlvr_grads_zero(m, g_cpu);
    free(z32), free(g32);
  }
  CHECK(rlvr_forward(&fs, ref, tokens, lens, TB, TT, targets, lp_cpu, ent_cpu, z_cpu) == RLVR_OK);
  rlvr_backward(&fs, ref, w, u, g_cpu);

  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, m, dt, 1);
  rlvr_cuda_forward_state gs;
  rlvr_cuda_forward_build(&gs, &dm, TB, TT);
  rlvr_cuda_forward_set_temperature(&gs, temperature);
  CHECK(rlvr_cuda_forward(&gs, tokens, lens, TB, TT, targets, lp_gpu, ent_gpu, z_gpu) == RLVR_OK);
  rlvr_cuda_backward(&gs, w, u);
  rlvr_cuda_model_download_grads(&dm, g_gpu);

  char what[160];
  snprintf(what, sizeof what, "%s %s T=%g forward logits", name, dt_name(dt), (double)temperature);
  check_logits(what, z_gpu, z_cpu, (size_t)TB * TT, V, tol->logit_row, tol->logit_abs);
  snprintf(what, sizeof what, "%s %s T=%g forward log-probs", name, dt_name(dt), (double)temperature);
  CHECK_CLOSE(what, lp_gpu, lp_cpu, TB * TT, tol->lp_abs, tol->lp_rel);
  snprintf(what, sizeof what, "%s %s T=%g forward entropies", name, dt_name(dt), (double)temperature);
  CHECK_CLOSE(what, ent_gpu, ent_cpu, TB * TT, tol->ent_abs, tol->ent_rel);
  snprintf(what, sizeof what, "%s %s T=%g gradients", name, dt_name(dt), (double)temperature);
  check_grads(what, m, g_gpu, g_cpu, tol);
  /* padding and missing targets are exactly 0, as on the CPU */
  int zeros_ok = 1;
  for (int b = 0; b < TB; b++)
    for (int t = 0; t < TT; t++) {
      const int i = b * TT + t;
      if (targets[i] < 0 && lp_gpu[i] != 0.0f) zeros_ok = 0;
      if (t >= lens[b] && ent_gpu[i] != 0.0f) zeros_ok = 0;
    }
  CHECK_MSG(zeros_ok, "%s: log-probs without a target or entropies at padding are not 0", name);

  /* the same bits on a second run, and gradients that accumulate */
  CHECK(rlvr_cuda_forward(&gs, tokens, lens, TB, TT, targets, lp_gpu2, NULL, NULL) == RLVR_OK);
  CHECK_MSG(memcmp(lp_gpu, lp_gpu2, sizeof lp_gpu) == 0, "%s %s: a second forward gave other log-probs", name,
            dt_name(dt));
  rlvr_cuda_backward(&gs, w, u);
  float *g_twice = malloc(m->num_params * sizeof(float));
  rlvr_cuda_model_download_grads(&dm, g_twice);
  for (size_t i = 0; i < m->num_params; i++) g_twice[i] *= 0.5f;
  snprintf(what, sizeof what, "%s %s T=%g gradients accumulate (half of two backwards)", name, dt_name(dt),
           (double)temperature);
  check_grads(what, m, g_twice, g_gpu, &TOL_F32);
  free(g_twice);

  /* no entropy term (u NULL), as a learner without an entropy bonus calls it */
  rlvr_grads_zero(m, g_cpu);
  rlvr_backward(&fs, ref, w, NULL, g_cpu);
  rlvr_cuda_model_grads_zero(&dm);
  rlvr_cuda_backward(&gs, w, NULL);
  rlvr_cuda_model_download_grads(&dm, g_gpu);
  snprintf(what, sizeof what, "%s %s T=%g gradients without the entropy term", name, dt_name(dt), (double)temperature);
  check_grads(what, m, g_gpu, g_cpu, tol);

  /* bad input: an error, nothing written */
  tokens[2 * TT + 1] = V;
  lp_gpu2[0] = 123.0f;
  CHECK(rlvr_cuda_forward(&gs, tokens, lens, TB, TT, targets, lp_gpu2, NULL, NULL) == RLVR_ERR_RANGE);
  CHECK(lp_gpu2[0] == 123.0f);

  rlvr_cuda_forward_free(&gs);
  rlvr_cuda_model_free(&dm);
  rlvr_forward_free(&fs);
  if (ref == &rm) rlvr_model_free(&rm);
  free(z_cpu), free(z_gpu), free(g_cpu), free(g_gpu);
}

/* 2. decode, teacher-forced, against the GPU forward. */
enum { DS = 3, DT = 12 };

static void test_decode_forced(const rlvr_model *m, const char *name, rlvr_dtype dt) {
  const tolerances *tol = dt == RLVR_DTYPE_BF16 ? &TOL_BF16 : &TOL_F32;
  const int V = m->cfg.vocab_size, plen[DS] = {5, 9, 2}, total[DS] = {11, 12, 10}, ids[DS] = {3, 0, 4};
  int tokens[DS * DT];
  rlvr_rng r;
  rlvr_rng_seed(&r, 23);
  for (int i = 0; i < DS * DT; i++) tokens[i] = (int)rlvr_rng_below(&r, (uint64_t)V);
  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, m, dt, 0);
  rlvr_cuda_forward_state gs;
  rlvr_cuda_forward_build(&gs, &dm, DS, DT);
  float *z_fwd = malloc(sizeof(float) * DS * DT * V);
  CHECK(rlvr_cuda_forward(&gs, tokens, total, DS, DT, NULL, NULL, NULL, z_fwd) == RLVR_OK);

  rlvr_cuda_decode dd;
  rlvr_cuda_decode_build(&dd, &dm, 6, DT, 64, 4, 7);
  /* decoded rows and the forward's rows at the same positions */
  float *got = malloc(sizeof(float) * DS * DT * V), *want = malloc(sizeof(float) * DS * DT * V);
  float *rows = malloc(sizeof(float) * DS * V);
  size_t ng = 0;
  CHECK(rlvr_cuda_decode_prefill(&dd, ids, tokens, plen, DS, DT, rows) == RLVR_OK);
  for (int b = 0; b < DS; b++, ng++) {
    memcpy(got + ng * V, rows + (size_t)b * V, sizeof(float) * V);
    memcpy(want + ng * V, z_fwd + ((size_t)b * DT + plen[b] - 1) * V, sizeof(float) * V);
  }
  int len[DS];
  for (int b = 0; b < DS; b++) len[b] = plen[b];
  for (;;) {
    int seqs[DS], toks[DS], which[DS], n = 0;
    for (int b = 0; b < DS; b++)
      if (len[b] < total[b]) seqs[n] = ids[b], toks[n] = tokens[b * DT + len[b]], which[n++] = b;
    if (!n) break;
    CHECK(rlvr_cuda_decode_step(&dd, seqs, toks, n, rows) == RLVR_OK);
    for (int i = 0; i < n; i++, ng++) {
      const int b = which[i];
      memcpy(got + ng * V, rows + (size_t)i * V, sizeof(float) * V);
      memcpy(want + ng * V, z_fwd + ((size_t)b * DT + len[b]) * V, sizeof(float) * V);
      len[b]++;
    }
  }
  for (int b = 0; b < DS; b++) CHECK(rlvr_cuda_decode_len(&dd, ids[b]) == total[b]);
  char what[160];
  snprintf(what, sizeof what, "%s %s decode logits vs GPU forward (teacher-forced)", name, dt_name(dt));
  check_logits(what, got, want, ng, V, tol->logit_row, tol->logit_abs);
  /* errors leave everything as it was */
  const int bad_seq[1] = {1}, bad_tok[1] = {V}, ok_seq[1] = {0};
  CHECK(rlvr_cuda_decode_step(&dd, bad_seq, ok_seq, 1, NULL) == RLVR_ERR_ARG); /* not open */
  CHECK(rlvr_cuda_decode_step(&dd, ok_seq, bad_tok, 1, NULL) == RLVR_ERR_RANGE);
  CHECK(rlvr_cuda_decode_step(&dd, ok_seq, ok_seq, 1, NULL) == RLVR_ERR_RANGE); /* sequence 0 is full (12) */
  CHECK(rlvr_cuda_decode_prefill(&dd, ok_seq, tokens, plen, 1, DT, NULL) == RLVR_ERR_ARG); /* open */
  CHECK(rlvr_cuda_decode_len(&dd, 0) == total[1]);
  CHECK(rlvr_kv_pages_consistent(&dd.pages));
  rlvr_cuda_decode_free(&dd);
  rlvr_cuda_forward_free(&gs);
  rlvr_cuda_model_free(&dm);
  free(z_fwd), free(got), free(want), free(rows);
}

/* 2b. CUDA graphs for decode steps: two decoders on one model, graphs on
 * and off, fed the same prompts and tokens with the step's row count
 * changing across the buckets (1, 2, 4, and max_seqs = 5), weights
 * replaced halfway. Every row's kernels are the same; only the products'
 * M differs (padded rows), so on a GPU the logits agree within the fp32
 * products' rounding, and in the CPU emulation (whose products do not
 * depend on M) bit for bit. */
static void test_decode_graphs(const rlvr_model *m, const char *name, rlvr_dtype dt) {
  enum { NS = 5, PL = 6, STEPS = 24 };
  const int V = m->cfg.vocab_size;
  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, m, dt, 0);
  rlvr_cuda_decode dg, dn;
  rlvr_cuda_decode_build(&dg, &dm, NS, PL + STEPS + 1, 64, 4, 8);
  rlvr_cuda_decode_build(&dn, &dm, NS, PL + STEPS + 1, 64, 4, 8);
  rlvr_cuda_decode_set_graphs(&dn, 0);
  rlvr_rng r;
  rlvr_rng_seed(&r, 99);
  int ids[NS], lens[NS], prompts[NS * PL];
  for (int b = 0; b < NS; b++) ids[b] = b, lens[b] = 2 + b;
  for (int i = 0; i < NS * PL; i++) prompts[i] = (int)rlvr_rng_below(&r, (uint64_t)V);
  float *a = malloc(sizeof(float) * NS * V), *b2 = malloc(sizeof(float) * NS * V);
  CHECK(rlvr_cuda_decode_prefill(&dg, ids, prompts, lens, NS, PL, a) == RLVR_OK);
  CHECK(rlvr_cuda_decode_prefill(&dn, ids, prompts, lens, NS, PL, b2) == RLVR_OK);
  double worst = 0, worst_row = 0;
  long long same = 0, total = 0;
  const int counts[8] = {1, 2, 5, 3, 4, 1, 5, 2};
  float *w2 = NULL;
  for (int st = 0; st < STEPS; st++) {
    if (st == STEPS / 2) { /* new weights: the graphs hold pointers, not values */
      w2 = malloc(sizeof(float) * m->num_params);
      for (size_t i = 0; i < m->num_params; i++) w2[i] = m->params_memory[i] * (1.0f + 0.01f * (float)(i % 7));
      rlvr_cuda_model_upload(&dm, w2);
    }
    const int n = counts[st % 8];
    int seqs[NS], toks[NS];
    for (int i = 0; i < n; i++) seqs[i] = (st + i) % NS, toks[i] = (int)rlvr_rng_below(&r, (uint64_t)V);
    CHECK(rlvr_cuda_decode_step(&dg, seqs, toks, n, a) == RLVR_OK);
    CHECK(rlvr_cuda_decode_step(&dn, seqs, toks, n, b2) == RLVR_OK);
    for (int i = 0; i < n; i++) {
      float mx = 0;
      for (int v = 0; v < V; v++) mx = fabsf(b2[(size_t)i * V + v]) > mx ? fabsf(b2[(size_t)i * V + v]) : mx;
      for (int v = 0; v < V; v++) {
        const double d = fabs((double)a[(size_t)i * V + v] - (double)b2[(size_t)i * V + v]);
        if (d > worst) worst = d;
        if (mx > 0 && d / mx > worst_row) worst_row = d / mx;
        same += a[(size_t)i * V + v] == b2[(size_t)i * V + v];
        total++;
      }
    }
  }
#ifdef CUDASIM
  const double tol = 0.0;
#else
  const double tol = dt == RLVR_DTYPE_BF16 ? TOL_BF16.logit_row : TOL_F32.logit_row;
#endif
  char what[320];
  snprintf(what, sizeof what, "%s %s decode steps as CUDA graphs vs without: max |diff| %.3g (%.3g of a row's max), "
           "%lld of %lld logits equal; %lld graphs captured, %lld launched",
           name, dt_name(dt), worst, worst_row, same, total, dg.graph_captures, dg.graph_launches);
  CHECK_MSG(worst_row <= tol, "%s (tol %.3g)", what, tol);
  if (worst_row <= tol) printf("ok   %s\n", what);
  CHECK_MSG(dg.graph_launches == STEPS && dn.graph_launches == 0, "%s", what);
  CHECK_MSG(dg.graph_captures >= 3 && dg.graph_captures < STEPS, "%s: graphs are replayed, not made per step", what);
  rlvr_cuda_model_upload(&dm, m->params_memory);
  rlvr_cuda_decode_free(&dg);
  rlvr_cuda_decode_free(&dn);
  rlvr_cuda_model_free(&dm);
  free(a), free(b2), free(w2);
}

/* 3. generation with a shared prompt, sampling on the GPU, joins and leaves. */
enum { GG = 4, GMAX = 24, GSEQ = GG + 1 };

static void test_generate(const rlvr_model *m, const char *name, rlvr_dtype dt) {
  const tolerances *tol = dt == RLVR_DTYPE_BF16 ? &TOL_BF16 : &TOL_F32;
  const int V = m->cfg.vocab_size, P = 6, P2 = 3;
  const float temp = 0.8f;
  rlvr_rng r;
  rlvr_rng_seed(&r, 31);
  /* sequences 0..3: the group on one prompt; 4: a prompt joining later */
  int seq_tok[GSEQ][GMAX], seq_len[GSEQ], stop_at[GSEQ] = {9, 14, 7, 20, 12};
  float seq_lp[GSEQ][GMAX];
  memset(seq_lp, 0, sizeof seq_lp);
  for (int i = 0; i < P; i++) seq_tok[0][i] = (int)rlvr_rng_below(&r, (uint64_t)V);
  for (int g = 1; g < GG; g++) memcpy(seq_tok[g], seq_tok[0], sizeof(int) * P);
  for (int i = 0; i < P2; i++) seq_tok[4][i] = (int)rlvr_rng_below(&r, (uint64_t)V);
  for (int g = 0; g < GG; g++) seq_len[g] = P;
  seq_len[4] = P2;
  rlvr_sampling params[GSEQ];
  for (int g = 0; g < GSEQ; g++) {
    params[g].temperature = temp;
    params[g].top_k = g % 2 ? 20 : 0;
    params[g].top_p = g % 2 ? 0.9f : 1.0f;
  }

  rlvr_cuda_model dm;
  rlvr_cuda_model_build(&dm, &ctx, m, dt, 0);
  rlvr_cuda_decode dd;
  rlvr_cuda_decode_build(&dd, &dm, 8, GMAX, 40, 4, 16);
  const int free0 = dd.pages.num_free;
  const int zero = 0;
  CHECK(rlvr_cuda_decode_prefill(&dd, &zero, seq_tok[0], &P, 1, P, NULL) == RLVR_OK);
  for (int g = 1; g < GG; g++) CHECK(rlvr_cuda_decode_fork(&dd, 0, g) == RLVR_OK);
  CHECK(dd.pages.num_free == free0 - 2); /* 6 tokens in blocks of 4, shared by all four */
  /* the first token of each sample: the prompt's one row, sampled four times */
  {
    const int rows[GG] = {0, 0, 0, 0};
    double u[GG];
    int tok[GG];
    float lp[GG];
    for (int g = 0; g < GG; g++) u[g] = rlvr_rng_double(&r);
    rlvr_cuda_decode_sample_rows(&dd, rows, GG, params, u, tok, lp);
    for (int g = 0; g < GG; g++) seq_tok[g][seq_len[g]] = tok[g], seq_lp[g][seq_len[g]] = lp[g], seq_len[g]++;
  }
  int active[GSEQ] = {1, 1, 1, 1, 0}, joined = 0, steps = 0, in_range = 1;
  for (;;) {
    /* the newest token of every active sequence goes in; sample the next */
    int seqs[GSEQ], toks[GSEQ], n = 0;
    rlvr_sampling ps[GSEQ];
    double u[GSEQ];
    for (int q = 0; q < GSEQ; q++)
      if (active[q]) {
        if (seq_len[q] >= stop_at[q]) { /* finished: leaves the batch */
          CHECK(rlvr_cuda_decode_release(&dd, q) == RLVR_OK);
          active[q] = 0;
          continue;
        }
        seqs[n] = q, toks[n] = seq_tok[q][seq_len[q] - 1], ps[n] = params[q], u[n] = rlvr_rng_double(&r), n++;
      }
    if (n == 0 && joined) break;
    if (n) {
      CHECK(rlvr_cuda_decode_step(&dd, seqs, toks, n, NULL) == RLVR_OK);
      int tok[GSEQ];
      float lp[GSEQ];
      rlvr_cuda_decode_sample_rows(&dd, NULL, n, ps, u, tok, lp);
      for (int i = 0; i < n; i++) {
        const int q = seqs[i];
        if (tok[i] < 0 || tok[i] >= V) in_range = 0, tok[i] = 0;
        seq_tok[q][seq_len[q]] = tok[i], seq_lp[q][seq_len[q]] = lp[i], seq_len[q]++;
      }
      steps++;
    }
    if (!joined && (!active[2] || n == 0)) { /* a new prompt joins once a sample has left */
      const int four = 4;
      CHECK(rlvr_cuda_decode_prefill(&dd, &four, seq_tok[4], &P2, 1, P2, NULL) == RLVR_OK);
      double u1 = rlvr_rng_double(&r);
      int tok;
      float lp;
      rlvr_cuda_decode_sample_rows(&dd, NULL, 1, &params[4], &u1, &tok, &lp);
      if (tok < 0 || tok >= V) in_range = 0, tok = 0;
      seq_tok[4][seq_len[4]] = tok, seq_lp[4][seq_len[4]] = lp, seq_len[4]++;
      active[4] = 1, joined = 1;
    }
  }
  CHECK_MSG(in_range, "%s: a sampled token outside the vocabulary", name);
  CHECK(rlvr_kv_pages_consistent(&dd.pages));
  CHECK_MSG(dd.pages.num_free == free0, "%s: %d of %d blocks free after every sequence left", name, dd.pages.num_free,
            free0);

  /* the GPU forward on the finished sequences at the sampling temperature */
  rlvr_cuda_forward_state gs;
  rlvr_cuda_forward_build(&gs, &dm, GSEQ, GMAX);
  rlvr_cuda_forward_set_temperature(&gs, temp);
  int toks[GSEQ * GMAX], targets[GSEQ * GMAX];
  float lp_fwd[GSEQ * GMAX], got[GSEQ * GMAX], want[GSEQ * GMAX];
  for (int q = 0; q < GSEQ; q++)
    for (int t = 0; t < GMAX; t++) {
      toks[q * GMAX + t] = t < seq_len[q] ? seq_tok[q][t] : 0;
      targets[q * GMAX + t] = t + 1 < seq_len[q] ? seq_tok[q][t + 1] : -1;
    }
  CHECK(rlvr_cuda_forward(&gs, toks, seq_len, GSEQ, GMAX, targets, lp_fwd, NULL, NULL) == RLVR_OK);
  size_t n = 0;
  for (int q = 0; q < GSEQ; q++)
    for (int t = (q < GG ? P : P2); t < seq_len[q]; t++) { /* sampled token t, predicted at t-1 */
      got[n] = seq_lp[q][t];
      want[n++] = lp_fwd[q * GMAX + t - 1];
    }
  char what[160];
  snprintf(what, sizeof what, "%s %s sampled log-probs vs GPU forward (%zu tokens, %d steps, shared prompt)", name,
           dt_name(dt), n, steps);
  CHECK_CLOSE(what, got, want, n, tol->lp_abs, tol->lp_rel);
  size_t same = 0;
  for (size_t i = 0; i < n; i++) same += got[i] == want[i];
  printf("     %s %s: %zu of %zu sampled log-probs equal the forward's bit for bit (issue 5's target: all)\n", name,
         dt_name(dt), same, n);
  rlvr_cuda_forward_free(&gs);
  rlvr_cuda_decode_free(&dd);
  rlvr_cuda_model_free(&dm);
}

int main(void) {
  if (rlvr_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  char desc[256];
  rlvr_cuda_describe(0, desc, sizeof desc);
  printf("device: %s\n", desc);
  rlvr_cuda_context_build(&ctx, 0);
  const char *names[3] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};
  for (int k = 0; k < 3; k++) {
    rlvr_model m;
    load_model(names[k], &m);
    for (int d = 0; d < 2; d++) {
      const rlvr_dtype dt = d ? RLVR_DTYPE_BF16 : RLVR_DTYPE_F32;
      test_train(&m, names[k], dt, 1.0f);
      if (k == 2) test_train(&m, names[k], dt, 0.7f);
      test_decode_forced(&m, names[k], dt);
      test_decode_graphs(&m, names[k], dt);
      test_generate(&m, names[k], dt);
    }
    rlvr_model_free(&m);
  }
  rlvr_cuda_context_free(&ctx);
  return test_done();
}
