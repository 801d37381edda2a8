/* advantage.c — see advantage.h. Sums run in double, in index order. */
#include "rewards/advantage.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

static const char *estimator_names[] = {"grpo", "dr_grpo", "rloo"};

int rlvr_advantage_parse_estimator(const char *name, rlvr_advantage_estimator *out) {
  for (int i = 0; i < 3; i++)
    if (strcmp(name, estimator_names[i]) == 0) {
      *out = (rlvr_advantage_estimator)i;
      return RLVR_OK;
    }
  return rlvr_error(RLVR_ERR_CONFIG, "advantage.estimator: '%s' is not one of grpo, dr_grpo, rloo", name);
}

const char *rlvr_advantage_estimator_name(rlvr_advantage_estimator e) {
  RLVR_CHECK((int)e >= 0 && (int)e < 3);
  return estimator_names[e];
}

int rlvr_advantage_config_from(const rlvr_config *c, rlvr_advantage_config *out) {
  rlvr_advantage_config a;
  int rc = rlvr_advantage_parse_estimator(c->advantage_estimator, &a.estimator);
  if (rc) return rc;
  a.eps = c->advantage_eps;
  if (!(a.eps >= 0.0) || !isfinite(a.eps))
    return rlvr_error(RLVR_ERR_CONFIG, "advantage.eps must be a finite number >= 0, got %g", a.eps);
  a.dynamic_sampling = c->advantage_dynamic_sampling;
  *out = a;
  return RLVR_OK;
}

static int included(const uint8_t *excluded, int i) { return !excluded || !excluded[i]; }

int rlvr_advantage_group_has_spread(const double *rewards, const uint8_t *excluded, int G) {
  int n = 0;
  double lo = 0, hi = 0;
  for (int i = 0; i < G; i++) {
    if (!included(excluded, i)) continue;
    if (n == 0 || rewards[i] < lo) lo = rewards[i];
    if (n == 0 || rewards[i] > hi) hi = rewards[i];
    n++;
  }
  return n >= 2 && hi > lo;
}

void rlvr_advantage_stats_init(rlvr_advantage_stats *s) {
  memset(s, 0, sizeof *s);
  s->adv_min = INFINITY;
  s->adv_max = -INFINITY;
}

double rlvr_advantage_stats_zero_spread_fraction(const rlvr_advantage_stats *s) {
  return s->groups ? (double)s->zero_spread_groups / (double)s->groups : 0.0;
}

double rlvr_advantage_stats_mean(const rlvr_advantage_stats *s) {
  int64_t n = s->samples - s->excluded;
  return n > 0 ? s->adv_sum / (double)n : 0.0;
}

double rlvr_advantage_stats_std(const rlvr_advantage_stats *s) {
  int64_t n = s->samples - s->excluded;
  if (n <= 0) return 0.0;
  double m = s->adv_sum / (double)n, v = s->adv_sumsq / (double)n - m * m;
  return v > 0 ? sqrt(v) : 0.0;
}

/* One group of G: r, ex and a point at its first element. Returns 1 when the
 * group has zero spread. */
static int group_advantages(const rlvr_advantage_config *cfg, const double *r, const uint8_t *ex, int G,
                            double *a) {
  int n = 0;
  double sum = 0;
  for (int i = 0; i < G; i++)
    if (included(ex, i)) {
      RLVR_CHECK(isfinite(r[i]), "reward %d of a group is %g", i, r[i]);
      sum += r[i];
      n++;
    }
  if (!rlvr_advantage_group_has_spread(r, ex, G)) {
    for (int i = 0; i < G; i++) a[i] = 0.0;
    return 1;
  }
  double mean = sum / n;
  double scale = 1.0;
  if (cfg->estimator == RLVR_ADVANTAGE_GRPO) {
    double ss = 0;
    for (int i = 0; i < G; i++)
      if (included(ex, i)) ss += (r[i] - mean) * (r[i] - mean);
    scale = 1.0 / (sqrt(ss / (n - 1)) + cfg->eps); /* unbiased std, as torch.std */
  }
  for (int i = 0; i < G; i++) {
    if (!included(ex, i)) {
      a[i] = 0.0;
    } else if (cfg->estimator == RLVR_ADVANTAGE_RLOO) {
      a[i] = r[i] - (sum - r[i]) / (n - 1); /* minus the mean of the other n - 1 */
    } else {
      a[i] = (r[i] - mean) * scale;
    }
  }
  return 0;
}

void rlvr_advantage_compute(const rlvr_advantage_config *cfg, const double *rewards,
                            const uint8_t *excluded, int G, int ngroups, double *adv,
                            uint8_t *zero_spread, rlvr_advantage_stats *stats) {
  RLVR_CHECK(G >= 1 && ngroups >= 0);
  for (int g = 0; g < ngroups; g++) {
    size_t off = (size_t)g * (size_t)G;
    const uint8_t *ex = excluded ? excluded + off : NULL;
    int zero = group_advantages(cfg, rewards + off, ex, G, adv + off);
    if (zero_spread) zero_spread[g] = (uint8_t)zero;
    if (!stats) continue;
    stats->groups++;
    stats->zero_spread_groups += zero;
    for (int i = 0; i < G; i++) {
      stats->samples++;
      if (!included(ex, i)) {
        stats->excluded++;
        continue;
      }
      double a = adv[off + i];
      stats->adv_sum += a;
      stats->adv_sumsq += a * a;
      if (a < stats->adv_min) stats->adv_min = a;
      if (a > stats->adv_max) stats->adv_max = a;
    }
  }
}
