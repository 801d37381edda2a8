/* test_learn_gpu_step.c — learner/learn_gpu.h (the GPU learner's backend)
 * against the CPU learner's calls, on hand-made GRPO batches, without the
 * rest of the learner: so it builds in the standalone GPU project too
 * (tests/gpu/CMakeLists.txt), where test_learner_gpu.c (the whole learner)
 * cannot. The step composed here is learner.c's: per micro-batch the
 * forward at the sampling temperature, the completion log-probs gathered,
 * learner/loss.c's loss and dL/dlogp with the batch totals, scattered into
 * the backward's per-token weights; then clip and AdamW; 2 updates per batch
 * (the first keeps logp_old), 3 batches. CPU: rlvr_forward, rlvr_backward,
 * rlvr_clip_grad_norm, rlvr_adamw_step; GPU: rlvr_learn_gpu_*.
 *
 * The batch: 2 groups x 4 samples, prompts of 3..9 tokens, completions of
 * 1..12 tokens (random ids, some tokens masked, one row all masked),
 * advantages of both signs, micro-batches of 3 rows (the last partial), at
 * temperature 0.8, dapo aggregation, eps 0.2 / 0.28, clipping at 0.5 (so it
 * acts), weight decay 0.01, lr 1e-4 (larger steps clip every token of the
 * second update: a zero gradient compares nothing).
 *
 * Compared each update: loss, grad norm; after each batch: log-probs of the
 * first pass; at the end every parameter and both moments. Tolerances as
 * test_learner_gpu.c's (provisional, never run on a GPU):
 *   fp32: loss 1e-4 (1 + |loss|), grad norm 1e-4 relative, log-probs
 *         2e-4 + 2e-5 |x| (test_cuda_model's), parameters relative 1e-2 of
 *         the change and max |d| <= 2 lr x AdamW steps;
 *   bf16: loss 0.05 (1 + |loss|), grad norm 0.1 relative, log-probs
 *         0.1 + 0.03 |x|, parameters relative 0.3, same max bound.
 * Exits 77 without a GPU. RLVR_GPU_TEST_SELFCHECK=1 runs the GPU side on the
 * CPU too (no GPU needed): every difference must then be 0, which checks
 * this harness itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "learner/learn_gpu.h"
#include "learner/loss.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/optim.h"
#include "testing.h"
#ifndef RLVR_GPU_NO_CHECKPOINT
#include "model/checkpoint.h"
#endif

enum { G = 4, NG = 2, R = NG * G, MB = 3, TC = 12, BATCHES = 3, UPDATES = 2 };
static const float TEMP = 0.8f;
static const double LR = 1e-4, MAX_NORM = 0.5;

typedef struct {
  int np[R], nc[R], seq;
  int prompt[R][16], comp[R][TC];
  uint8_t mask[R * TC], trunc[R];
  float adv[R], lp_samp[R * TC];
} batch;

static void make_batch(batch *b, rlvr_rng *rng, int V, int bi) {
  memset(b, 0, sizeof *b);
  b->seq = 0;
  for (int r = 0; r < R; r++) {
    b->np[r] = 3 + (int)(rlvr_rng_u64(rng) % 7);
    b->nc[r] = 1 + (int)(rlvr_rng_u64(rng) % TC);
    if (r == 2) b->nc[r] = TC; /* one full-length row */
    for (int j = 0; j < b->np[r]; j++) b->prompt[r][j] = (int)(rlvr_rng_u64(rng) % (uint64_t)V);
    for (int j = 0; j < b->nc[r]; j++) {
      b->comp[r][j] = (int)(rlvr_rng_u64(rng) % (uint64_t)V);
      b->mask[r * TC + j] = r != 5 && (j % 5 != 3); /* row 5 counts nothing; some inserted tokens */
      b->lp_samp[r * TC + j] = -2.0f;
    }
    b->trunc[r] = b->nc[r] == TC;
    b->adv[r] = (float)((r % G) - 1.5) * (bi % 2 ? -0.7f : 0.9f);
    if (b->np[r] + b->nc[r] > b->seq) b->seq = b->np[r] + b->nc[r];
  }
}

/* Rows r0..r0+B-1 as the forward's (B, T) input: prompt then completion,
 * targets the next token, right padded. */
static void layout(const batch *b, int r0, int B, int T, int *tok, int *tgt, int *lens) {
  for (int i = 0; i < B * T; i++) tok[i] = 0, tgt[i] = -1;
  for (int i = 0; i < B; i++) {
    const int r = r0 + i, np = b->np[r], nc = b->nc[r];
    lens[i] = np + nc - 1; /* the last completion token is only a target */
    for (int j = 0; j < np; j++) tok[i * T + j] = b->prompt[r][j];
    for (int j = 0; j + 1 < nc; j++) tok[i * T + np + j] = b->comp[r][j];
    for (int j = 0; j < nc; j++) tgt[i * T + np - 1 + j] = b->comp[r][j];
  }
}

typedef struct {
  rlvr_model m;
  rlvr_adamw opt;
  rlvr_forward_state fs;
  float *grads;
  rlvr_learn_gpu *gpu; /* NULL: the CPU */
} side;

/* One batch: UPDATES optimizer steps; loss and norm of each; first-pass log-probs out. */
static void train_batch(side *s, const batch *b, const rlvr_loss_config *lc, float *lp_first, double *loss,
                        double *norm, long *step) {
  const int T = b->seq;
  int tok[MB * 32], tgt[MB * 32], lens[MB];
  float lp_full[MB * 32], w_full[MB * 32], lp_c[MB * TC], dlp[MB * TC];
  static float lp_old[R * TC];
  rlvr_loss_totals tot;
  memset(&tot, 0, sizeof tot);
  rlvr_loss_count(lc, R, TC, b->mask, b->trunc, &tot);
  for (int u = 0; u < UPDATES; u++) {
    if (s->gpu)
      rlvr_learn_gpu_grads_zero(s->gpu);
    else
      rlvr_grads_zero(&s->m, s->grads);
    double lsum = 0;
    for (int r0 = 0; r0 < R; r0 += MB) {
      const int B = R - r0 < MB ? R - r0 : MB;
      layout(b, r0, B, T, tok, tgt, lens);
      int rc = s->gpu ? rlvr_learn_gpu_forward(s->gpu, tok, lens, B, T, tgt, lp_full, NULL)
                      : rlvr_forward(&s->fs, &s->m, tok, lens, B, T, tgt, lp_full, NULL, NULL);
      RLVR_CHECK(rc == RLVR_OK, "%s", rlvr_error_message());
      memset(lp_c, 0, sizeof lp_c);
      for (int i = 0; i < B; i++)
        for (int j = 0; j < b->nc[r0 + i]; j++) lp_c[i * TC + j] = lp_full[i * T + b->np[r0 + i] - 1 + j];
      if (u == 0) {
        memcpy(lp_old + r0 * TC, lp_c, sizeof(float) * B * TC);
        memcpy(lp_first + r0 * TC, lp_c, sizeof(float) * B * TC);
      }
      rlvr_loss_batch lb = {.B = B, .T = TC, .logp = lp_c, .logp_old = lp_old + r0 * TC, .logp_ref = NULL,
                            .logp_sampler = b->lp_samp + r0 * TC, .adv = b->adv + r0, .mask = b->mask + r0 * TC,
                            .truncated = b->trunc + r0};
      double l = 0;
      RLVR_CHECK(rlvr_loss_compute(lc, &tot, &lb, &l, dlp, NULL) == RLVR_OK);
      lsum += l;
      memset(w_full, 0, sizeof(float) * B * T);
      for (int i = 0; i < B; i++)
        for (int j = 0; j < b->nc[r0 + i]; j++) w_full[i * T + b->np[r0 + i] - 1 + j] = dlp[i * TC + j];
      if (s->gpu)
        rlvr_learn_gpu_backward(s->gpu, w_full);
      else
        rlvr_backward(&s->fs, &s->m, w_full, NULL, s->grads);
    }
    const double gn = s->gpu ? rlvr_learn_gpu_clip_grad_norm(s->gpu, MAX_NORM)
                             : rlvr_clip_grad_norm(s->grads, s->m.num_params, MAX_NORM);
    rlvr_adamw_config ac = {.lr = (float)LR, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    if (s->gpu)
      rlvr_learn_gpu_adamw_step(s->gpu, &s->opt, &ac);
    else
      rlvr_adamw_step(&s->opt, &ac, s->m.params_memory, s->grads);
    loss[u] = lsum, norm[u] = gn;
  }
  *step = s->opt.step;
}

static void load_model(rlvr_model *m) {
#ifndef RLVR_GPU_NO_CHECKPOINT
  if (rlvr_model_load("tests/fixtures/models/tiny-qwen2", m) != RLVR_OK) {
    fprintf(stderr, "cannot load tiny-qwen2: %s\n", rlvr_error_message());
    exit(1);
  }
#else
  rlvr_model_config c;
  memset(&c, 0, sizeof c);
  c.vocab_size = 320, c.hidden_size = 64, c.intermediate_size = 96, c.num_layers = 2, c.num_heads = 4;
  c.num_kv_heads = 2, c.max_position = 128, c.bos_token_id = -1, c.num_eos = 1, c.eos_token_ids[0] = 2;
  c.arch = RLVR_ARCH_QWEN2, c.head_dim = 16, c.rope_theta = 1e6, c.rms_eps = 1e-6, c.attn_bias = 1;
  snprintf(c.torch_dtype, sizeof c.torch_dtype, "float32");
  rlvr_model_init_random(m, &c, 7);
  for (size_t i = 0; i < m->num_params; i++) m->params_memory[i] *= 8.0f;
  printf("note: a random model of tiny-qwen2's shapes (built without checkpoint reading)\n");
#endif
}

static int cmp_rel(const char *what, double cpu, double gpu, double atol, double rtol) {
  const double d = fabs(gpu - cpu), tol = atol + rtol * fabs(cpu);
  const int ok = d <= tol;
  printf("%s %-28s cpu %.9g gpu %.9g |d| %.3g (tol %.3g)\n", ok ? "ok  " : "FAIL", what, cpu, gpu, d, tol);
  return ok;
}

static int selfcheck; /* RLVR_GPU_TEST_SELFCHECK: both sides on the CPU */

static void run(const char *dtype, double loss_tol, double gn_rtol, double lp_abs, double lp_rel, double rel_tol) {
  printf("-- learn_gpu %s vs CPU: %d batches x %d updates\n", dtype, BATCHES, UPDATES);
  side c, g;
  memset(&c, 0, sizeof c), memset(&g, 0, sizeof g);
  load_model(&c.m);
  load_model(&g.m);
  const size_t np = c.m.num_params;
  float *p0 = malloc(np * sizeof(float));
  memcpy(p0, c.m.params_memory, np * sizeof(float));
  rlvr_adamw_build(&c.opt, &c.m);
  rlvr_adamw_build(&g.opt, &g.m);
  c.grads = xmalloc_aligned(np * sizeof(float));
  rlvr_forward_build(&c.fs, &c.m.cfg, MB, 32);
  rlvr_forward_set_temperature(&c.fs, TEMP);
  if (selfcheck) {
    g.grads = xmalloc_aligned(np * sizeof(float));
    rlvr_forward_build(&g.fs, &g.m.cfg, MB, 32);
    rlvr_forward_set_temperature(&g.fs, TEMP);
    loss_tol = gn_rtol = lp_abs = lp_rel = rel_tol = 0;
  } else {
    RLVR_CHECK(rlvr_learn_gpu_build(&g.gpu, dtype, &g.m, &g.opt, MB, TEMP) == RLVR_OK, "%s", rlvr_error_message());
  }
  rlvr_loss_config lc = {.aggregation = RLVR_LOSS_AGG_DAPO, .ratio = RLVR_LOSS_RATIO_TOKEN, .eps_low = 0.2,
                         .eps_high = 0.28, .beta = 0, .max_tokens = TC, .mask_truncated = 0, .tis_cap = 0};
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 11);
  batch b;
  float lpc[R * TC], lpg[R * TC];
  double worst_lp = 0;
  for (int bi = 0; bi < BATCHES; bi++) {
    make_batch(&b, &rng, c.m.cfg.vocab_size, bi);
    double lc_[UPDATES], lg[UPDATES], nc_[UPDATES], ng[UPDATES];
    long sc, sg;
    memset(lpc, 0, sizeof lpc), memset(lpg, 0, sizeof lpg);
    train_batch(&c, &b, &lc, lpc, lc_, nc_, &sc);
    train_batch(&g, &b, &lc, lpg, lg, ng, &sg);
    CHECK(sc == sg);
    for (int u = 0; u < UPDATES; u++) {
      char what[64];
      snprintf(what, sizeof what, "batch %d update %d loss", bi + 1, u + 1);
      CHECK(cmp_rel(what, lc_[u], lg[u], loss_tol, loss_tol));
      snprintf(what, sizeof what, "batch %d update %d grad norm", bi + 1, u + 1);
      CHECK(cmp_rel(what, nc_[u], ng[u], 0, gn_rtol));
    }
    int bad = 0;
    for (int r = 0; r < R; r++)
      for (int j = 0; j < b.nc[r]; j++) {
        const double d = fabs((double)lpg[r * TC + j] - lpc[r * TC + j]);
        if (!(d <= worst_lp)) worst_lp = d;
        if (!(d <= lp_abs + lp_rel * fabs(lpc[r * TC + j]))) bad++;
      }
    CHECK(bad == 0);
  }
  printf("%s first-pass log-probs: largest |gpu - cpu| %.3g\n", worst_lp <= lp_abs ? "ok  " : "note", worst_lp);

  if (g.gpu) rlvr_learn_gpu_download(g.gpu, &g.m, &g.opt);
  double d2 = 0, u2 = 0, dmax = 0, mrel = 0, m2 = 0, vd2 = 0, v2 = 0;
  for (size_t i = 0; i < np; i++) {
    const double d = fabs((double)g.m.params_memory[i] - c.m.params_memory[i]);
    if (!(d <= dmax)) dmax = d;
    d2 += d * d;
    u2 += ((double)c.m.params_memory[i] - p0[i]) * ((double)c.m.params_memory[i] - p0[i]);
    mrel += ((double)g.opt.m[i] - c.opt.m[i]) * ((double)g.opt.m[i] - c.opt.m[i]);
    m2 += (double)c.opt.m[i] * c.opt.m[i];
    vd2 += ((double)g.opt.v[i] - c.opt.v[i]) * ((double)g.opt.v[i] - c.opt.v[i]);
    v2 += (double)c.opt.v[i] * c.opt.v[i];
  }
  const double rel = sqrt(d2) / (sqrt(u2) + 1e-30), amax = selfcheck ? 0 : 2 * LR * BATCHES * UPDATES;
  printf("%s parameters: largest |gpu - cpu| %.3g (tol %.3g)\n", dmax <= amax ? "ok  " : "FAIL", dmax, amax);
  printf("%s parameters: ||gpu - cpu|| / ||cpu - start|| %.3g (tol %.3g)\n", rel <= rel_tol ? "ok  " : "FAIL", rel,
         rel_tol);
  printf("     moments: relative L2 m %.3g, v %.3g\n", sqrt(mrel / (m2 + 1e-300)), sqrt(vd2 / (v2 + 1e-300)));
  CHECK(dmax <= amax && rel <= rel_tol && u2 > 0);
  CHECK(sqrt(mrel / (m2 + 1e-300)) <= rel_tol && sqrt(vd2 / (v2 + 1e-300)) <= rel_tol);

  rlvr_learn_gpu_free(g.gpu);
  rlvr_forward_free(&c.fs);
  if (selfcheck) rlvr_forward_free(&g.fs);
  free(c.grads), free(g.grads);
  rlvr_adamw_free(&c.opt), rlvr_adamw_free(&g.opt);
  rlvr_model_free(&c.m), rlvr_model_free(&g.m);
  free(p0);
}

int main(void) {
  char why[256];
  selfcheck = getenv("RLVR_GPU_TEST_SELFCHECK") != NULL;
  if (selfcheck) printf("self-check: the GPU side runs on the CPU; every difference must be 0\n");
  if (!selfcheck && !rlvr_learn_gpu_available(why, sizeof why)) {
    printf("skipped: %s\n", why);
    return 77;
  }
  run("fp32", 1e-4, 1e-4, 2e-4, 2e-5, 1e-2);
  run("bf16", 0.05, 0.1, 0.1, 0.03, 0.3);
  return test_done();
}
