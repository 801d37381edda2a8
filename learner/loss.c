/* loss.c — see loss.h; the derivation of each gradient is in docs/losses.md.
 *
 * One implementation serves float and double inputs: the arrays are read
 * through `vin`, which holds exactly one of a float or a double pointer, and
 * every sum and product is in double. Rows are independent once the batch
 * totals are known, so each row is done in two passes over its tokens (one for
 * the row's sums, one to write the gradient) with no scratch memory. */
#include "learner/loss.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

static const char *aggregation_names[] = {"grpo", "dapo", "dr_grpo"};
static const char *ratio_names[] = {"token", "sequence"};

int rlvr_loss_parse_aggregation(const char *name, rlvr_loss_aggregation *out) {
  for (int i = 0; i < 3; i++)
    if (strcmp(name, aggregation_names[i]) == 0) {
      *out = (rlvr_loss_aggregation)i;
      return RLVR_OK;
    }
  return rlvr_error(RLVR_ERR_CONFIG, "loss.aggregation: '%s' is not one of grpo, dapo, dr_grpo", name);
}

int rlvr_loss_parse_ratio(const char *name, rlvr_loss_ratio_level *out) {
  for (int i = 0; i < 2; i++)
    if (strcmp(name, ratio_names[i]) == 0) {
      *out = (rlvr_loss_ratio_level)i;
      return RLVR_OK;
    }
  return rlvr_error(RLVR_ERR_CONFIG, "loss.ratio: '%s' is not one of token, sequence", name);
}

const char *rlvr_loss_aggregation_name(rlvr_loss_aggregation a) {
  RLVR_CHECK((int)a >= 0 && (int)a < 3);
  return aggregation_names[a];
}

const char *rlvr_loss_ratio_name(rlvr_loss_ratio_level r) {
  RLVR_CHECK((int)r >= 0 && (int)r < 2);
  return ratio_names[r];
}

int rlvr_loss_config_from(const rlvr_config *c, rlvr_loss_config *out) {
  rlvr_loss_config l;
  int rc = rlvr_loss_parse_aggregation(c->loss_aggregation, &l.aggregation);
  if (!rc) rc = rlvr_loss_parse_ratio(c->loss_ratio, &l.ratio);
  if (rc) return rc;
  l.eps_low = c->loss_eps_low;
  l.eps_high = c->loss_eps_high;
  l.beta = c->loss_beta;
  l.max_tokens = c->loss_max_tokens ? c->loss_max_tokens : c->sample_max_tokens;
  l.mask_truncated = c->loss_mask_truncated;
  l.tis_cap = c->loss_tis_cap;
  if (!(l.eps_low >= 0.0 && l.eps_low < 1.0))
    return rlvr_error(RLVR_ERR_CONFIG, "loss.eps_low must lie in [0, 1), got %g", l.eps_low);
  if (!(l.eps_high >= 0.0) || !isfinite(l.eps_high))
    return rlvr_error(RLVR_ERR_CONFIG, "loss.eps_high must be a finite number >= 0, got %g", l.eps_high);
  if (!(l.beta >= 0.0) || !isfinite(l.beta))
    return rlvr_error(RLVR_ERR_CONFIG, "loss.beta must be a finite number >= 0, got %g", l.beta);
  if (!(l.tis_cap >= 0.0) || !isfinite(l.tis_cap))
    return rlvr_error(RLVR_ERR_CONFIG, "loss.tis_cap must be a finite number >= 0 (0 = off), got %g", l.tis_cap);
  if (l.max_tokens <= 0)
    return rlvr_error(RLVR_ERR_CONFIG, "loss.max_tokens must be > 0 (or 0 with sample.max_tokens > 0), got %lld",
                      (long long)l.max_tokens);
  *out = l;
  return RLVR_OK;
}

void rlvr_loss_count(const rlvr_loss_config *cfg, int B, int T, const uint8_t *mask,
                     const uint8_t *truncated, rlvr_loss_totals *totals) {
  RLVR_CHECK(B >= 0 && T >= 0 && (B == 0 || T == 0 || mask));
  for (int i = 0; i < B; i++) {
    totals->rows++;
    if (cfg->mask_truncated && truncated && truncated[i]) continue;
    int64_t n = 0;
    for (int t = 0; t < T; t++) n += mask[(size_t)i * T + t] != 0;
    totals->tokens += n;
    totals->sequences += n > 0;
  }
}

void rlvr_loss_stats_init(rlvr_loss_stats *s) {
  memset(s, 0, sizeof *s);
  s->ratio_min = INFINITY;
  s->ratio_max = -INFINITY;
}

static double frac(double num, int64_t den) { return den > 0 ? num / (double)den : 0.0; }
double rlvr_loss_stats_clip_low_fraction(const rlvr_loss_stats *s) { return frac((double)s->clip_low, s->units); }
double rlvr_loss_stats_clip_high_fraction(const rlvr_loss_stats *s) { return frac((double)s->clip_high, s->units); }
double rlvr_loss_stats_ratio_mean(const rlvr_loss_stats *s) { return frac(s->ratio_sum, s->units); }
double rlvr_loss_stats_kl_mean(const rlvr_loss_stats *s) { return frac(s->kl_sum, s->kl_tokens); }
double rlvr_loss_stats_tis_mean(const rlvr_loss_stats *s) { return frac(s->tis_sum, s->tis_tokens); }

/* A read-only array of either precision: exactly one pointer set, or none. */
typedef struct {
  const float *f;
  const double *d;
} vin;

static inline double at(vin v, size_t i) { return v.d ? v.d[i] : (double)v.f[i]; }
static inline int present(vin v) { return v.f != NULL || v.d != NULL; }

typedef struct {
  int B, T;
  vin logp, old, ref, smp, adv;
  const uint8_t *mask, *truncated;
} view;

typedef struct {
  float *f;
  double *d;
} vout;

static inline void put(vout o, size_t i, double x) {
  if (o.d) o.d[i] = x;
  else if (o.f) o.f[i] = (float)x;
}

static int row_counts(const rlvr_loss_config *cfg, const view *v, int i) {
  return !(cfg->mask_truncated && v->truncated && v->truncated[i]);
}

/* The clipped surrogate f(r) = min(r A, clip(r) A) and its derivative with
 * respect to r: A where the unclipped branch is the minimum (ties included,
 * where both branches have the same derivative), 0 where the clipped branch
 * binds. Written *df = A or 0. */
static double surrogate(double r, double A, double lo, double hi, double *df) {
  double rc = r < lo ? lo : (r > hi ? hi : r);
  double un = r * A, cl = rc * A;
  if (un <= cl) {
    *df = A;
    return un;
  }
  *df = 0.0;
  return cl;
}

/* Checks every value the loss will read; the message names the array and
 * the position. */
static int validate(const rlvr_loss_config *cfg, const view *v) {
  const int T = v->T;
  for (int i = 0; i < v->B; i++) {
    if (!row_counts(cfg, v, i)) continue;
    int any = 0;
    for (int t = 0; t < T; t++) {
      size_t k = (size_t)i * T + t;
      if (!v->mask[k]) continue;
      any = 1;
      struct {
        const char *name;
        vin a;
        int used;
      } arrays[] = {{"logp", v->logp, 1},
                    {"logp_old", v->old, 1},
                    {"logp_ref", v->ref, present(v->ref)},
                    {"logp_sampler", v->smp, cfg->tis_cap > 0}};
      for (int a = 0; a < 4; a++)
        if (arrays[a].used && !isfinite(at(arrays[a].a, k)))
          return rlvr_error(RLVR_ERR_RANGE, "loss: %s[%d, %d] is %g on a counted token", arrays[a].name, i, t,
                            at(arrays[a].a, k));
    }
    if (any && !isfinite(at(v->adv, (size_t)i)))
      return rlvr_error(RLVR_ERR_RANGE, "loss: advantage of row %d is %g", i, at(v->adv, (size_t)i));
  }
  return RLVR_OK;
}

static int compute(const rlvr_loss_config *cfg, const rlvr_loss_totals *totals, const view *v, double *loss_out,
                   vout dlogp, rlvr_loss_stats *stats) {
  const int B = v->B, T = v->T;
  RLVR_CHECK(B >= 0 && T >= 0 && totals && loss_out);
  RLVR_CHECK(B == 0 || T == 0 || (v->mask && present(v->logp) && present(v->old) && present(v->adv)));
  RLVR_CHECK(cfg->beta == 0.0 || present(v->ref), "loss.beta > 0 needs reference log-probs");
  RLVR_CHECK(cfg->tis_cap == 0.0 || present(v->smp), "loss.tis_cap > 0 needs the sampler's log-probs");
  RLVR_CHECK(cfg->aggregation != RLVR_LOSS_AGG_DR_GRPO || cfg->max_tokens > 0);
  rlvr_loss_totals own = {0};
  rlvr_loss_count(cfg, B, T, v->mask, v->truncated, &own);
  RLVR_CHECK(own.tokens <= totals->tokens && own.sequences <= totals->sequences && own.rows <= totals->rows,
             "the totals must count the whole batch, this micro-batch included (rlvr_loss_count)");
  int rc = validate(cfg, v);
  if (rc) return rc;

  const double lo = 1.0 - cfg->eps_low, hi = 1.0 + cfg->eps_high;
  const int seq = cfg->ratio == RLVR_LOSS_RATIO_SEQUENCE;
  double loss = 0.0;
  for (size_t k = 0; k < (size_t)B * (size_t)T; k++) put(dlogp, k, 0.0);

  for (int i = 0; i < B; i++) {
    if (!row_counts(cfg, v, i)) continue;
    const size_t row = (size_t)i * T;
    /* Pass 1: n_i, the sum of log-ratios (GSPO) and of the TIS weights. */
    int64_t n = 0;
    double sum_lr = 0.0, sum_c = 0.0;
    for (int t = 0; t < T; t++) {
      size_t k = row + t;
      if (!v->mask[k]) continue;
      n++;
      sum_lr += at(v->logp, k) - at(v->old, k);
      double c = 1.0;
      if (cfg->tis_cap > 0) {
        c = exp(at(v->old, k) - at(v->smp, k));
        if (c >= cfg->tis_cap) {
          c = cfg->tis_cap;
          if (stats) stats->tis_capped++;
        }
        if (stats) stats->tis_tokens++, stats->tis_sum += c;
      }
      sum_c += c;
    }
    if (n == 0) continue;
    /* The row's aggregation weight w_i (the same for all its tokens). */
    double w;
    switch (cfg->aggregation) {
    case RLVR_LOSS_AGG_GRPO: w = 1.0 / ((double)totals->sequences * (double)n); break;
    case RLVR_LOSS_AGG_DAPO: w = 1.0 / (double)totals->tokens; break;
    case RLVR_LOSS_AGG_DR_GRPO: w = 1.0 / ((double)totals->rows * (double)cfg->max_tokens); break;
    default: RLVR_CHECK(0, "aggregation %d", (int)cfg->aggregation); return RLVR_ERR_ARG;
    }
    const double A = at(v->adv, (size_t)i);
    if (stats) stats->tokens += n;

    /* GSPO: one ratio s_i per row. The row's policy term is -f(s_i) on each
     * token, weighted w_i c_it: L_i = -w_i f(s_i) sum_t c_it. Since
     * ds_i/dlogp_it = s_i / n_i, every counted token of the row gets
     * dL/dlogp_it = -w_i (sum_t c_it) f'(s_i) s_i / n_i. */
    double seq_grad = 0.0;
    if (seq) {
      double s = exp(sum_lr / (double)n), df;
      double f = surrogate(s, A, lo, hi, &df);
      loss += -w * f * sum_c;
      seq_grad = -w * sum_c * df * s / (double)n;
      if (stats) {
        stats->units++;
        stats->ratio_sum += s;
        if (s < stats->ratio_min) stats->ratio_min = s;
        if (s > stats->ratio_max) stats->ratio_max = s;
        stats->clip_low += s < lo && A < 0;
        stats->clip_high += s > hi && A > 0;
      }
    }
    /* Pass 2: per-token terms and the gradient. */
    for (int t = 0; t < T; t++) {
      size_t k = row + t;
      if (!v->mask[k]) continue;
      const double lp = at(v->logp, k);
      double g = seq_grad;
      if (!seq) {
        /* Token ratio rho = exp(lp - old); d rho / d lp = rho, so
         * dL/dlp = -w c f'(rho) rho. */
        double c = cfg->tis_cap > 0 ? fmin(exp(at(v->old, k) - at(v->smp, k)), cfg->tis_cap) : 1.0;
        double r = exp(lp - at(v->old, k)), df;
        double f = surrogate(r, A, lo, hi, &df);
        loss += -w * c * f;
        g = -w * c * df * r;
        if (stats) {
          stats->units++;
          stats->ratio_sum += r;
          if (r < stats->ratio_min) stats->ratio_min = r;
          if (r > stats->ratio_max) stats->ratio_max = r;
          stats->clip_low += r < lo && A < 0;
          stats->clip_high += r > hi && A > 0;
        }
      }
      if (present(v->ref)) {
        /* k3: kl = e^d - d - 1 with d = ref - lp; dkl/dlp = 1 - e^d. */
        double d = at(v->ref, k) - lp, e = exp(d);
        double kl = e - d - 1.0;
        if (stats) stats->kl_tokens++, stats->kl_sum += kl;
        if (cfg->beta > 0) {
          loss += w * cfg->beta * kl;
          g += w * cfg->beta * (1.0 - e);
        }
      }
      put(dlogp, k, g);
    }
  }
  *loss_out = loss;
  return RLVR_OK;
}

int rlvr_loss_compute(const rlvr_loss_config *cfg, const rlvr_loss_totals *totals,
                      const rlvr_loss_batch *b, double *loss, float *dlogp, rlvr_loss_stats *stats) {
  view v = {.B = b->B, .T = b->T, .logp = {.f = b->logp}, .old = {.f = b->logp_old}, .ref = {.f = b->logp_ref},
            .smp = {.f = b->logp_sampler}, .adv = {.f = b->adv}, .mask = b->mask, .truncated = b->truncated};
  return compute(cfg, totals, &v, loss, (vout){.f = dlogp}, stats);
}

int rlvr_loss_compute_f64(const rlvr_loss_config *cfg, const rlvr_loss_totals *totals,
                          const rlvr_loss_batch_f64 *b, double *loss, double *dlogp, rlvr_loss_stats *stats) {
  view v = {.B = b->B, .T = b->T, .logp = {.d = b->logp}, .old = {.d = b->logp_old}, .ref = {.d = b->logp_ref},
            .smp = {.d = b->logp_sampler}, .adv = {.d = b->adv}, .mask = b->mask, .truncated = b->truncated};
  return compute(cfg, totals, &v, loss, (vout){.d = dlogp}, stats);
}
