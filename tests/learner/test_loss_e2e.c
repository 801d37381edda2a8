/* test_loss_e2e.c — the policy losses end to end on the model: the gradient
 * the learner computes (learner/loss.h's dL/dlogp fed to rlvr_backward as
 * the per-token weight) against a central finite difference of the loss
 * value L(theta) = loss(forward(theta)) along a random direction of all the
 * parameters of the tiny Qwen2 fixture, at sampling temperature 0.8.
 *
 * logp_old is the current log-prob shifted per token by chosen amounts so
 * that ratios sit well inside the clip range (exp(+-0.05)) or well outside
 * it (exp(0.4), exp(-0.5)): the finite difference (eps 1e-3) never crosses
 * a clip boundary, and both the clipped (zero gradient) and unclipped
 * branches are exercised. Advantages have both signs; a frozen
 * "reference" is the log-prob shifted by other amounts so the k3 KL term
 * has a gradient. Variants: dapo with KL, grpo, dr_grpo with GSPO's
 * sequence ratio. learner/loss has its own finite-difference tests on the
 * loss alone; this one checks the chain through the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "learner/loss.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "testing.h"

enum { B = 4, TP = 6, TC = 7, T = TP + TC };
static const float TEMP = 0.8f;

typedef struct {
  rlvr_model *m;
  rlvr_forward_state *fs;
  int tok[B * T], tgt[B * T], lens[B], nc[B];
  float shift_old[B * TC], shift_ref[B * TC], adv[B];
  uint8_t mask[B * TC];
  float base[B * TC]; /* the completion log-probs at the starting parameters */
} problem;

/* The completion log-probs (B, TC) at the model's current parameters. */
static void completion_logprobs(problem *p, float *lp) {
  float lp_full[B * T];
  CHECK(rlvr_forward(p->fs, p->m, p->tok, p->lens, B, T, p->tgt, lp_full, NULL, NULL) == RLVR_OK);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < TC; j++) lp[b * TC + j] = j < p->nc[b] ? lp_full[b * T + TP - 1 + j] : 0.0f;
}

/* The loss at the model's current parameters; dlogp (B, TC) if not NULL. */
static double loss_at(problem *p, const rlvr_loss_config *cfg, float *dlogp, float *w_full) {
  float lp[B * TC], old[B * TC], ref[B * TC];
  completion_logprobs(p, lp);
  /* old and ref are constants: the starting log-probs, shifted */
  for (int i = 0; i < B * TC; i++) {
    old[i] = p->base[i] - p->shift_old[i];
    ref[i] = p->base[i] - p->shift_ref[i];
  }
  rlvr_loss_totals tot = {0};
  rlvr_loss_count(cfg, B, TC, p->mask, NULL, &tot);
  rlvr_loss_batch lb = {.B = B, .T = TC, .logp = lp, .logp_old = old, .logp_ref = ref, .adv = p->adv, .mask = p->mask};
  double L = 0;
  CHECK(rlvr_loss_compute(cfg, &tot, &lb, &L, dlogp, NULL) == RLVR_OK);
  if (dlogp && w_full) {
    memset(w_full, 0, sizeof(float) * B * T);
    for (int b = 0; b < B; b++)
      for (int j = 0; j < p->nc[b]; j++) w_full[b * T + TP - 1 + j] = dlogp[b * TC + j];
  }
  return L;
}

static void check_variant(problem *p, const char *name, const rlvr_loss_config *cfg, rlvr_rng *rng) {
  const size_t n = p->m->num_params;
  float dlogp[B * TC], w_full[B * T];
  float *g = calloc(n, sizeof(float)), *d = malloc(n * sizeof(float)), *p0 = malloc(n * sizeof(float));
  loss_at(p, cfg, dlogp, w_full);
  rlvr_backward(p->fs, p->m, w_full, NULL, g);
  double gd = 0;
  for (size_t i = 0; i < n; i++) {
    d[i] = rlvr_rng_normal(rng);
    gd += (double)g[i] * d[i];
  }
  memcpy(p0, p->m->params_memory, n * sizeof(float));
  const float eps = 1e-3f;
  for (size_t i = 0; i < n; i++) p->m->params_memory[i] = p0[i] + eps * d[i];
  double lp = loss_at(p, cfg, NULL, NULL);
  for (size_t i = 0; i < n; i++) p->m->params_memory[i] = p0[i] - eps * d[i];
  double lm = loss_at(p, cfg, NULL, NULL);
  memcpy(p->m->params_memory, p0, n * sizeof(float));
  double fd = (lp - lm) / (2.0 * eps), rel = fabs(gd - fd) / fabs(gd);
  printf("%-28s directional derivative: backward %.6g, finite difference %.6g, rel diff %.3g\n", name, gd, fd, rel);
  /* float forward: each loss value carries ~1e-7 relative rounding, which
   * the 2e-3 step turns into ~1e-4 of the derivative; the second-order
   * error of the central difference is ~eps^2. */
  CHECK(rel < 1e-2 && fabs(gd) > 1e-3);
  free(g), free(d), free(p0);
}

int main(void) {
  rlvr_model m;
  if (rlvr_model_load("tests/fixtures/models/tiny-qwen2", &m) != RLVR_OK) {
    fprintf(stderr, "%s\n", rlvr_error_message());
    return 1;
  }
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m.cfg, B, T);
  rlvr_forward_set_temperature(&fs, TEMP);
  problem p;
  memset(&p, 0, sizeof p);
  p.m = &m;
  p.fs = &fs;
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 11);
  const int ncs[B] = {7, 5, 7, 3};
  const float adv[B] = {1.1f, -0.7f, 0.4f, -1.3f};
  static const float shifts[4] = {0.05f, -0.05f, 0.4f, -0.5f};
  for (int b = 0; b < B; b++) {
    p.nc[b] = ncs[b];
    p.adv[b] = adv[b];
    p.lens[b] = TP + ncs[b] - 1;
    for (int t = 0; t < T; t++) p.tok[b * T + t] = (int)rlvr_rng_below(&rng, (uint64_t)m.cfg.vocab_size);
    for (int t = 0; t < T; t++) p.tgt[b * T + t] = (t >= TP - 1 && t < p.lens[b]) ? p.tok[b * T + t + 1] : -1;
    for (int j = 0; j < TC; j++) {
      p.mask[b * TC + j] = j < ncs[b] && !(b == 2 && j == 3); /* one masked-out token inside a row */
      p.shift_old[b * TC + j] = shifts[(b + j) % 4];
      p.shift_ref[b * TC + j] = 0.3f * (float)((b * 3 + j) % 5 - 2);
    }
  }
  completion_logprobs(&p, p.base);
  rlvr_loss_config dapo = {.aggregation = RLVR_LOSS_AGG_DAPO, .ratio = RLVR_LOSS_RATIO_TOKEN, .eps_low = 0.2,
                           .eps_high = 0.28, .beta = 0.04, .max_tokens = TC};
  check_variant(&p, "dapo, token ratio, beta 0.04", &dapo, &rng);
  rlvr_loss_config grpo = dapo;
  grpo.aggregation = RLVR_LOSS_AGG_GRPO;
  grpo.beta = 0;
  grpo.eps_high = 0.2;
  check_variant(&p, "grpo, token ratio", &grpo, &rng);
  /* GSPO: row means of the shifts are 0.05 (inside), 0.0875, -0.0125
   * and 0.017: all inside a 0.2 clip range except when widened below. */
  rlvr_loss_config gspo = {.aggregation = RLVR_LOSS_AGG_DR_GRPO, .ratio = RLVR_LOSS_RATIO_SEQUENCE, .eps_low = 0.2,
                           .eps_high = 0.2, .beta = 0.0, .max_tokens = TC};
  check_variant(&p, "dr_grpo, GSPO sequence ratio", &gspo, &rng);
  rlvr_forward_free(&fs);
  rlvr_model_free(&m);
  return test_done();
}
