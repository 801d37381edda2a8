/* test_loss.c — learner/loss.c checked four ways:
 *   (a) tiny cases worked out by hand (in the comments below);
 *   (b) finite differences of the loss in double precision against dL/dlogp;
 *   (c) tests/fixtures/loss/losses.json: the same losses written with torch
 *       autograd by tests/ref/make_loss_fixtures.py (TRL / DAPO / Dr. GRPO /
 *       GSPO definitions), through both the double and the float entry points;
 *   (d) micro-batch equivalence: any split of the rows, with the batch totals,
 *       sums to the full-batch loss and gives the same gradient;
 * plus input errors and reading the config. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "learner/loss.h"
#include "loss/close_f64.h"
#include "loss/fixture_json.h"
#include "testing.h"

static rlvr_loss_config base_config(rlvr_loss_aggregation agg, rlvr_loss_ratio_level ratio) {
  rlvr_loss_config c = {.aggregation = agg, .ratio = ratio, .eps_low = 0.2, .eps_high = 0.2, .beta = 0.0,
                        .max_tokens = 4, .mask_truncated = 0, .tis_cap = 0.0};
  return c;
}

/* Runs the f64 loss on the whole batch b (its own totals). */
static double run_f64(const rlvr_loss_config *cfg, const rlvr_loss_batch_f64 *b, double *grad, rlvr_loss_stats *st) {
  rlvr_loss_totals tot = {0};
  rlvr_loss_count(cfg, b->B, b->T, b->mask, b->truncated, &tot);
  double loss = NAN;
  int rc = rlvr_loss_compute_f64(cfg, &tot, b, &loss, grad, st);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  return loss;
}

/* (a) Token ratio. B = 2, T = 2, logp_old = 0, eps 0.2 (clip range [0.8, 1.2]).
 *   row 0: A = +1, both tokens count, rho = (1.5, 0.5)
 *   row 1: A = -1, only token 0 counts, rho = 0.5 (token 1 is padding)
 * Per-token surrogate f = min(rho A, clip(rho) A), loss l = -f:
 *   (0,0) rho 1.5, A>0: min(1.5, 1.2) = 1.2, clipped (high): l = -1.2, dl/dlogp = 0
 *   (0,1) rho 0.5, A>0: min(0.5, 0.8) = 0.5, unclipped:    l = -0.5, dl/dlogp = -A rho = -0.5
 *   (1,0) rho 0.5, A<0: min(-0.5, -0.8) = -0.8, clipped (low): l = 0.8, dl/dlogp = 0
 * grpo:    L = ((-1.2 - 0.5)/2 + 0.8/1) / 2 = (-0.85 + 0.8) / 2 = -0.025;
 *          w_0 = 1/(2*2): dL/dlogp(0,1) = -0.5/4 = -0.125
 * dapo:    L = (-1.2 - 0.5 + 0.8) / 3 = -0.3;   dL/dlogp(0,1) = -0.5/3
 * dr_grpo: L_c = 4: L = -0.9 / (2*4) = -0.1125; dL/dlogp(0,1) = -0.5/8 = -0.0625
 * Stats: 3 tokens, clip low 1 (token (1,0)), clip high 1 (token (0,0)),
 * mean ratio (1.5 + 0.5 + 0.5)/3, min 0.5, max 1.5. */
static void test_hand_token(void) {
  double logp[4] = {log(1.5), log(0.5), log(0.5), 123.0 /* padding: never read */};
  double old[4] = {0, 0, 0, NAN /* padding */};
  double adv[2] = {1, -1};
  uint8_t mask[4] = {1, 1, 1, 0};
  rlvr_loss_batch_f64 b = {.B = 2, .T = 2, .logp = logp, .logp_old = old, .adv = adv, .mask = mask};
  struct {
    rlvr_loss_aggregation agg;
    double loss, g01;
  } want[3] = {{RLVR_LOSS_AGG_GRPO, -0.025, -0.125},
               {RLVR_LOSS_AGG_DAPO, -0.3, -0.5 / 3},
               {RLVR_LOSS_AGG_DR_GRPO, -0.1125, -0.0625}};
  for (int k = 0; k < 3; k++) {
    rlvr_loss_config cfg = base_config(want[k].agg, RLVR_LOSS_RATIO_TOKEN);
    double g[4];
    rlvr_loss_stats st;
    rlvr_loss_stats_init(&st);
    double L = run_f64(&cfg, &b, g, &st);
    char what[64];
    snprintf(what, sizeof what, "hand token %s loss", rlvr_loss_aggregation_name(want[k].agg));
    CHECK_NEAR(what, L, want[k].loss, 1e-15);
    double gw[4] = {0, want[k].g01, 0, 0};
    snprintf(what, sizeof what, "hand token %s grad", rlvr_loss_aggregation_name(want[k].agg));
    CHECK_CLOSE_F64(what, g, gw, 4, 1e-15, 0);
    CHECK(st.tokens == 3 && st.units == 3 && st.clip_low == 1 && st.clip_high == 1);
    CHECK_NEAR("hand ratio mean", rlvr_loss_stats_ratio_mean(&st), 2.5 / 3, 1e-15);
    CHECK(st.ratio_min == 0.5 && fabs(st.ratio_max - 1.5) < 1e-15);
    CHECK(rlvr_loss_stats_clip_low_fraction(&st) == 1.0 / 3 && rlvr_loss_stats_clip_high_fraction(&st) == 1.0 / 3);
  }
}

/* (a) KL and TIS on one token. T = 1, B = 1, dapo (weight 1).
 *   logp = log 0.5, old = log 0.5 (rho = 1), A = 2, so f = 2 and df/dlogp = A rho = 2.
 *   ref = log 1.0: d = ref - logp = ln 2, kl = e^d - d - 1 = 2 - ln 2 - 1 = 1 - ln 2,
 *   dkl/dlogp = 1 - e^d = -1.
 *   beta 0.1: L = -2 + 0.1 (1 - ln 2) = -1.9693147181; dL/dlogp = -2 - 0.1 = -2.1.
 *   TIS with sampler = log(0.5/3): old - sampler = ln 3, c = min(3, cap 2) = 2:
 *   L = -2*2 + 0.1 (1 - ln 2) = -3.9693147181; dL/dlogp = -4 - 0.1 = -4.1.
 *   TIS cap 5: c = 3: L = -6 + 0.1 (1 - ln 2); dL/dlogp = -6.1. */
static void test_hand_kl_tis(void) {
  double logp = log(0.5), old = log(0.5), ref = 0.0, smp = log(0.5 / 3), adv = 2;
  uint8_t mask = 1;
  rlvr_loss_batch_f64 b = {.B = 1, .T = 1, .logp = &logp, .logp_old = &old, .logp_ref = &ref, .adv = &adv,
                           .mask = &mask};
  rlvr_loss_config cfg = base_config(RLVR_LOSS_AGG_DAPO, RLVR_LOSS_RATIO_TOKEN);
  cfg.beta = 0.1;
  double g;
  rlvr_loss_stats st;
  rlvr_loss_stats_init(&st);
  double L = run_f64(&cfg, &b, &g, &st);
  CHECK_NEAR("hand kl loss", L, -2 + 0.1 * (1 - log(2.0)), 1e-15);
  CHECK_NEAR("hand kl grad", g, -2.1, 1e-15);
  CHECK_NEAR("hand kl mean", rlvr_loss_stats_kl_mean(&st), 1 - log(2.0), 1e-15);
  b.logp_sampler = &smp;
  cfg.tis_cap = 2.0;
  rlvr_loss_stats_init(&st);
  L = run_f64(&cfg, &b, &g, &st);
  CHECK_NEAR("hand tis capped loss", L, -4 + 0.1 * (1 - log(2.0)), 1e-14);
  CHECK_NEAR("hand tis capped grad", g, -4.1, 1e-14);
  CHECK(st.tis_tokens == 1 && st.tis_capped == 1 && rlvr_loss_stats_tis_mean(&st) == 2.0);
  cfg.tis_cap = 5.0;
  L = run_f64(&cfg, &b, &g, NULL);
  CHECK_NEAR("hand tis loss", L, -6 + 0.1 * (1 - log(2.0)), 1e-14);
  CHECK_NEAR("hand tis grad", g, -6.1, 1e-14);
  /* beta = 0 with no reference at all: the NULL pointer is fine. */
  b.logp_ref = NULL;
  b.logp_sampler = NULL;
  cfg.tis_cap = 0;
  cfg.beta = 0;
  L = run_f64(&cfg, &b, &g, NULL);
  CHECK_NEAR("hand no-ref loss", L, -2, 1e-15);
  CHECK_NEAR("hand no-ref grad", g, -2, 1e-15);
}

/* (a) GSPO sequence ratio, grpo aggregation, eps 0.2, B = 2, T = 2, A = +1 both.
 *   row 0: log-ratios (ln 1.5, ln 0.5): s = exp((ln 1.5 + ln 0.5)/2) = sqrt(0.75)
 *          = 0.8660254038, inside [0.8, 1.2]: f = s, ds/dlogp_t = s/2 per token
 *   row 1: log-ratios (ln 1.44, ln 1.44): s = 1.44 > 1.2 with A > 0: clipped, f = 1.2, no gradient
 * Sequence value l_i = -f(s_i) on each token; grpo averages tokens (giving
 * -f(s_i)) then rows: L = -(0.8660254038 + 1.2)/2 = -1.0330127019.
 * dL/dlogp(0,t) = -(1/2) * s / 2 = -0.2165063509 for both tokens; row 1: 0.
 * Stats are per sequence: 2 units, clip high 1, ratio mean (0.866 + 1.44)/2.
 * A truncated third row with mask_truncated on changes nothing (N_seq stays 2). */
static void test_hand_gspo(void) {
  double logp[6] = {log(1.5), log(0.5), log(1.44), log(1.44), -1, -2};
  double old[6] = {0, 0, 0, 0, 0, 0};
  double adv[3] = {1, 1, 5};
  uint8_t mask[6] = {1, 1, 1, 1, 1, 1};
  uint8_t trunc[3] = {0, 0, 1};
  rlvr_loss_batch_f64 b = {.B = 3, .T = 2, .logp = logp, .logp_old = old, .adv = adv, .mask = mask,
                           .truncated = trunc};
  rlvr_loss_config cfg = base_config(RLVR_LOSS_AGG_GRPO, RLVR_LOSS_RATIO_SEQUENCE);
  cfg.mask_truncated = 1;
  double g[6];
  rlvr_loss_stats st;
  rlvr_loss_stats_init(&st);
  double L = run_f64(&cfg, &b, g, &st);
  double s = sqrt(0.75);
  CHECK_NEAR("hand gspo loss", L, -(s + 1.2) / 2, 1e-15);
  double gw[6] = {-s / 4, -s / 4, 0, 0, 0, 0};
  CHECK_CLOSE_F64("hand gspo grad", g, gw, 6, 1e-15, 0);
  CHECK(st.units == 2 && st.tokens == 4 && st.clip_high == 1 && st.clip_low == 0);
  CHECK_NEAR("hand gspo ratio mean", rlvr_loss_stats_ratio_mean(&st), (s + 1.44) / 2, 1e-15);
}

/* ------------------------------------------------------------- fixtures */

typedef struct {
  const char *name;
  rlvr_loss_config cfg;
  int B, T;
  double *logp, *old, *ref, *smp, *adv;
  uint8_t *mask, *trunc;
  double loss, *grad;
  double clip_low, clip_high, ratio_mean, ratio_min, ratio_max, kl_mean;
} fixture_case;

static void case_load(const cJSON *c, fixture_case *f) {
  memset(f, 0, sizeof *f);
  f->name = fixture_string(c, "name");
  f->B = (int)fixture_number(c, "B");
  f->T = (int)fixture_number(c, "T");
  size_t n = (size_t)f->B * f->T;
  CHECK(rlvr_loss_parse_aggregation(fixture_string(c, "aggregation"), &f->cfg.aggregation) == RLVR_OK);
  CHECK(rlvr_loss_parse_ratio(fixture_string(c, "ratio"), &f->cfg.ratio) == RLVR_OK);
  f->cfg.eps_low = fixture_number(c, "eps_low");
  f->cfg.eps_high = fixture_number(c, "eps_high");
  f->cfg.beta = fixture_number(c, "beta");
  f->cfg.max_tokens = (int64_t)fixture_number(c, "max_tokens");
  if (f->cfg.max_tokens == 0) f->cfg.max_tokens = 1; /* unused outside dr_grpo */
  f->cfg.mask_truncated = (int)fixture_number(c, "mask_truncated");
  f->cfg.tis_cap = fixture_number(c, "tis_cap");
  f->logp = fixture_doubles(c, "logp", n, NULL);
  f->old = fixture_doubles(c, "logp_old", n, NULL);
  f->ref = fixture_doubles(c, "logp_ref", n, NULL);
  f->smp = fixture_doubles(c, "logp_sampler", n, NULL);
  f->adv = fixture_doubles(c, "adv", (size_t)f->B, NULL);
  f->mask = fixture_bytes(c, "mask", n);
  f->trunc = fixture_bytes(c, "truncated", (size_t)f->B);
  f->loss = fixture_number(c, "loss");
  f->grad = fixture_doubles(c, "grad", n, NULL);
  const cJSON *s = fixture_get(c, "stats");
  f->clip_low = fixture_number(s, "clip_low");
  f->clip_high = fixture_number(s, "clip_high");
  f->ratio_mean = fixture_number(s, "ratio_mean");
  f->ratio_min = fixture_number(s, "ratio_min");
  f->ratio_max = fixture_number(s, "ratio_max");
  f->kl_mean = fixture_number(s, "kl_mean");
}

static void case_free(fixture_case *f) {
  free(f->logp), free(f->old), free(f->ref), free(f->smp), free(f->adv);
  free(f->mask), free(f->trunc), free(f->grad);
}

/* Rows [r0, r1) of the case as a micro-batch. */
static rlvr_loss_batch_f64 case_rows(const fixture_case *f, int r0, int r1) {
  size_t o = (size_t)r0 * f->T;
  rlvr_loss_batch_f64 b = {.B = r1 - r0, .T = f->T, .logp = f->logp + o, .logp_old = f->old + o,
                           .logp_ref = f->ref ? f->ref + o : NULL, .logp_sampler = f->smp ? f->smp + o : NULL,
                           .adv = f->adv + r0, .mask = f->mask + o, .truncated = f->trunc + r0};
  return b;
}

/* (c) against torch, double and float entry points. */
static void check_fixture(const fixture_case *f) {
  size_t n = (size_t)f->B * f->T;
  rlvr_loss_batch_f64 b = case_rows(f, 0, f->B);
  double *g = malloc(n * sizeof *g);
  rlvr_loss_stats st;
  rlvr_loss_stats_init(&st);
  double L = run_f64(&f->cfg, &b, g, &st);
  char what[128];
  /* Both sides in double from the same float32-exact inputs; only the order
   * of operations differs (exp, sums): 1e-12 absolute, 1e-10 relative. */
  snprintf(what, sizeof what, "%s: loss vs torch (f64)", f->name);
  CHECK_CLOSE_F64(what, &L, &f->loss, 1, 1e-12, 1e-10);
  snprintf(what, sizeof what, "%s: dL/dlogp vs torch (f64)", f->name);
  CHECK_CLOSE_F64(what, g, f->grad, n, 1e-12, 1e-10);
  double got_stats[6] = {rlvr_loss_stats_clip_low_fraction(&st), rlvr_loss_stats_clip_high_fraction(&st),
                         rlvr_loss_stats_ratio_mean(&st), st.ratio_min, st.ratio_max,
                         rlvr_loss_stats_kl_mean(&st)};
  double want_stats[6] = {f->clip_low, f->clip_high, f->ratio_mean, f->ratio_min, f->ratio_max, f->kl_mean};
  snprintf(what, sizeof what, "%s: stats (clip low/high, ratio mean/min/max, kl) vs torch", f->name);
  CHECK_CLOSE_F64(what, got_stats, want_stats, 6, 1e-12, 1e-10);

  /* The float API: same inputs (exact in float), same double arithmetic, the
   * gradient rounded to float at the end: relative 2^-24 plus slack. */
  float *lp = fixture_floats_of(f->logp, n), *old = fixture_floats_of(f->old, n);
  float *ref = fixture_floats_of(f->ref, n), *smp = fixture_floats_of(f->smp, n);
  float *adv = fixture_floats_of(f->adv, (size_t)f->B), *gf = malloc(n * sizeof *gf);
  float *gw = fixture_floats_of(f->grad, n);
  rlvr_loss_batch bf = {.B = f->B, .T = f->T, .logp = lp, .logp_old = old, .logp_ref = ref, .logp_sampler = smp,
                        .adv = adv, .mask = f->mask, .truncated = f->trunc};
  rlvr_loss_totals tot = {0};
  rlvr_loss_count(&f->cfg, f->B, f->T, f->mask, f->trunc, &tot);
  double Lf = NAN;
  CHECK(rlvr_loss_compute(&f->cfg, &tot, &bf, &Lf, gf, NULL) == RLVR_OK);
  snprintf(what, sizeof what, "%s: loss vs torch (float API)", f->name);
  CHECK_CLOSE_F64(what, &Lf, &f->loss, 1, 1e-12, 1e-10);
  snprintf(what, sizeof what, "%s: dL/dlogp vs torch (float API)", f->name);
  CHECK_CLOSE(what, gf, gw, n, 1e-12, 1.2e-7);
  free(lp), free(old), free(ref), free(smp), free(adv), free(gf), free(gw), free(g);
}

/* (b) Central differences of L in double, h = 1e-6, on every counted token.
 * The loss is piecewise smooth: a token (or, for GSPO, a row) whose ratio lies
 * within 1e-4 of a clip boundary would straddle the kink, so it is skipped and
 * counted (the fixtures keep ratios away from the boundaries; none is expected). */
static void check_finite_differences(const fixture_case *f) {
  size_t n = (size_t)f->B * f->T;
  double *lp = malloc(n * sizeof *lp), *g = malloc(n * sizeof *g), *gd = malloc(n * sizeof *gd);
  double *ga = malloc(n * sizeof *ga);
  memcpy(lp, f->logp, n * sizeof *lp);
  rlvr_loss_batch_f64 b = case_rows(f, 0, f->B);
  b.logp = lp;
  run_f64(&f->cfg, &b, g, NULL);
  const double h = 1e-6, lo = 1 - f->cfg.eps_low, hi = 1 + f->cfg.eps_high;
  int skipped = 0, checked = 0;
  for (int i = 0; i < f->B; i++) {
    int row_on = !(f->cfg.mask_truncated && f->trunc[i]);
    int nrow = 0;
    double sum_lr = 0;
    for (int t = 0; t < f->T; t++)
      if (f->mask[(size_t)i * f->T + t]) nrow++, sum_lr += f->logp[(size_t)i * f->T + t] - f->old[(size_t)i * f->T + t];
    double s = nrow ? exp(sum_lr / nrow) : 1;
    for (int t = 0; t < f->T; t++) {
      size_t k = (size_t)i * f->T + t;
      ga[k] = g[k];
      if (!f->mask[k] || !row_on) {
        gd[k] = 0; /* not a counted token: its gradient must be exactly 0 */
        continue;
      }
      double r = f->cfg.ratio == RLVR_LOSS_RATIO_SEQUENCE ? s : exp(f->logp[k] - f->old[k]);
      double tol = f->cfg.ratio == RLVR_LOSS_RATIO_SEQUENCE ? 1e-6 : 1e-4;
      if (fabs(r - lo) < tol || fabs(r - hi) < tol) {
        gd[k] = g[k];
        skipped++;
        continue;
      }
      lp[k] = f->logp[k] + h;
      double Lp = run_f64(&f->cfg, &b, NULL, NULL);
      lp[k] = f->logp[k] - h;
      double Lm = run_f64(&f->cfg, &b, NULL, NULL);
      lp[k] = f->logp[k];
      gd[k] = (Lp - Lm) / (2 * h);
      checked++;
    }
  }
  char what[128];
  /* Central differences: truncation error O(h^2 |L'''|) ~ 1e-12 and rounding
   * ~ eps |L| / h ~ 1e-10 for these O(1) losses: 1e-8 absolute is a wide margin
   * that still fails on any wrong factor. */
  snprintf(what, sizeof what, "%s: dL/dlogp vs finite differences (%d tokens, %d skipped)", f->name, checked,
           skipped);
  CHECK_CLOSE_F64(what, ga, gd, n, 1e-8, 1e-6);
  CHECK_MSG(skipped == 0, "%s: %d tokens at a clip boundary", f->name, skipped);
  free(lp), free(g), free(gd), free(ga);
}

/* (d) Micro-batches: rows split into consecutive pieces; totals from all of
 * them first, then each piece computed with those totals. The sum of the
 * losses equals the one-batch loss (up to summation order) and the gradient
 * rows are bit-identical. */
static void check_micro_batches(const fixture_case *f) {
  size_t n = (size_t)f->B * f->T;
  double *g_full = malloc(n * sizeof *g_full), *g_mb = malloc(n * sizeof *g_mb);
  rlvr_loss_batch_f64 full = case_rows(f, 0, f->B);
  double L_full = run_f64(&f->cfg, &full, g_full, NULL);
  rlvr_loss_stats st_full;
  rlvr_loss_stats_init(&st_full);
  run_f64(&f->cfg, &full, NULL, &st_full);
  const int splits[3][4] = {{1, 2, 3, 0}, {2, 4, 0, 0}, {0}}; /* cut points; {0} = one row per micro-batch */
  for (int s = 0; s < 3; s++) {
    int cuts[16], nc = 0;
    cuts[nc++] = 0;
    if (s < 2) {
      for (int k = 0; k < 4 && splits[s][k]; k++)
        if (splits[s][k] < f->B) cuts[nc++] = splits[s][k];
    } else {
      for (int r = 1; r < f->B; r++) cuts[nc++] = r;
    }
    cuts[nc] = f->B;
    rlvr_loss_totals tot = {0};
    for (int m = 0; m < nc; m++) {
      rlvr_loss_batch_f64 mb = case_rows(f, cuts[m], cuts[m + 1]);
      rlvr_loss_count(&f->cfg, mb.B, mb.T, mb.mask, mb.truncated, &tot);
    }
    double L = 0;
    rlvr_loss_stats st;
    rlvr_loss_stats_init(&st);
    for (int m = 0; m < nc; m++) {
      rlvr_loss_batch_f64 mb = case_rows(f, cuts[m], cuts[m + 1]);
      double Lm = NAN;
      CHECK(rlvr_loss_compute_f64(&f->cfg, &tot, &mb, &Lm, g_mb + (size_t)cuts[m] * f->T, &st) == RLVR_OK);
      L += Lm;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: %d micro-batches: summed loss vs one batch", f->name, nc);
    CHECK_CLOSE_F64(what, &L, &L_full, 1, 1e-15, 1e-14);
    snprintf(what, sizeof what, "%s: %d micro-batches: gradient vs one batch", f->name, nc);
    CHECK_CLOSE_F64(what, g_mb, g_full, n, 0, 0);
    CHECK(st.tokens == st_full.tokens && st.units == st_full.units && st.clip_low == st_full.clip_low &&
          st.clip_high == st_full.clip_high && st.kl_tokens == st_full.kl_tokens);
  }
  free(g_full), free(g_mb);
}

static void test_fixtures(void) {
  cJSON *j = fixture_load("tests/fixtures/loss/losses.json");
  const cJSON *cases = fixture_get(j, "cases"), *c;
  int ncases = 0;
  cJSON_ArrayForEach(c, cases) {
    fixture_case f;
    case_load(c, &f);
    check_fixture(&f);
    check_finite_differences(&f);
    check_micro_batches(&f);
    case_free(&f);
    ncases++;
  }
  CHECK(ncases >= 10);
  cJSON_Delete(j);
}

/* Input errors: a non-finite value on a counted token is an error naming
 * it, and no output changes; on padding it is never read. */
static void test_errors(void) {
  double logp[4] = {-1, -2, -3, NAN}, old[4] = {-1, -2, -3, NAN}, adv[2] = {1, -1};
  uint8_t mask[4] = {1, 1, 1, 0};
  rlvr_loss_batch_f64 b = {.B = 2, .T = 2, .logp = logp, .logp_old = old, .adv = adv, .mask = mask};
  rlvr_loss_config cfg = base_config(RLVR_LOSS_AGG_DAPO, RLVR_LOSS_RATIO_TOKEN);
  rlvr_loss_totals tot = {0};
  rlvr_loss_count(&cfg, 2, 2, mask, NULL, &tot);
  CHECK(tot.tokens == 3 && tot.sequences == 2 && tot.rows == 2);
  double L = 7, g[4] = {9, 9, 9, 9};
  CHECK(rlvr_loss_compute_f64(&cfg, &tot, &b, &L, g, NULL) == RLVR_OK); /* NaN padding is fine */
  logp[2] = INFINITY;
  L = 7;
  for (int k = 0; k < 4; k++) g[k] = 9;
  rlvr_loss_stats st;
  rlvr_loss_stats_init(&st);
  CHECK(rlvr_loss_compute_f64(&cfg, &tot, &b, &L, g, &st) == RLVR_ERR_RANGE);
  CHECK_MSG(strstr(rlvr_error_message(), "logp[1, 0]") != NULL, "%s", rlvr_error_message());
  CHECK(L == 7 && g[0] == 9 && g[3] == 9 && st.tokens == 0);
  logp[2] = -3;
  adv[1] = NAN;
  CHECK(rlvr_loss_compute_f64(&cfg, &tot, &b, &L, g, &st) == RLVR_ERR_RANGE);
  CHECK_MSG(strstr(rlvr_error_message(), "advantage of row 1") != NULL, "%s", rlvr_error_message());
  /* A NaN advantage on a row with no counted token is never read. */
  mask[2] = 0;
  tot = (rlvr_loss_totals){0};
  rlvr_loss_count(&cfg, 2, 2, mask, NULL, &tot);
  CHECK(tot.sequences == 1);
  CHECK(rlvr_loss_compute_f64(&cfg, &tot, &b, &L, g, NULL) == RLVR_OK);
  /* Nothing counted at all: loss 0, gradient 0. */
  mask[0] = mask[1] = 0;
  tot = (rlvr_loss_totals){0};
  rlvr_loss_count(&cfg, 2, 2, mask, NULL, &tot);
  CHECK(rlvr_loss_compute_f64(&cfg, &tot, &b, &L, g, NULL) == RLVR_OK);
  CHECK(L == 0 && g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0);
}

static void test_config(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_loss_config l;
  CHECK(rlvr_loss_config_from(&c, &l) == RLVR_OK);
  CHECK(l.aggregation == RLVR_LOSS_AGG_DAPO && l.ratio == RLVR_LOSS_RATIO_TOKEN && l.eps_low == 0.2 &&
        l.eps_high == 0.2 && l.beta == 0 && l.max_tokens == c.sample_max_tokens && !l.mask_truncated &&
        l.tis_cap == 0);
  const char *good[] = {"loss.aggregation=dr_grpo", "loss.ratio=sequence", "loss.eps_high=0.28",
                        "loss.max_tokens=512", "loss.tis_cap=2"};
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) CHECK(rlvr_config_set(&c, good[k]) == RLVR_OK);
  CHECK(rlvr_loss_config_from(&c, &l) == RLVR_OK);
  CHECK(l.aggregation == RLVR_LOSS_AGG_DR_GRPO && l.ratio == RLVR_LOSS_RATIO_SEQUENCE && l.eps_high == 0.28 &&
        l.max_tokens == 512 && l.tis_cap == 2);
  struct {
    const char *set, *key;
  } bad[] = {{"loss.aggregation=bnpo", "loss.aggregation"}, {"loss.ratio=tokens", "loss.ratio"},
             {"loss.eps_low=1", "loss.eps_low"},           {"loss.eps_high=-0.1", "loss.eps_high"},
             {"loss.beta=-1", "loss.beta"},                {"loss.tis_cap=-2", "loss.tis_cap"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    rlvr_config d;
    rlvr_config_init(&d);
    CHECK(rlvr_config_set(&d, bad[k].set) == RLVR_OK);
    rlvr_loss_config keep = l;
    CHECK_MSG(rlvr_loss_config_from(&d, &l) == RLVR_ERR_CONFIG, "%s accepted", bad[k].set);
    CHECK_MSG(strstr(rlvr_error_message(), bad[k].key) != NULL, "%s: %s", bad[k].set, rlvr_error_message());
    CHECK(memcmp(&keep, &l, sizeof l) == 0);
    rlvr_config_free(&d);
  }
  rlvr_config_free(&c);
}

int main(void) {
  test_hand_token();
  test_hand_kl_tis();
  test_hand_gspo();
  test_fixtures();
  test_errors();
  test_config();
  return test_done();
}
