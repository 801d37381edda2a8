/* schedule.c — see schedule.h. */
#include "learner/schedule.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

int rlvr_lr_schedule_from(const rlvr_config *c, int64_t total_steps, rlvr_lr_schedule *out) {
  rlvr_lr_schedule s;
  if (strcmp(c->optim_schedule, "constant") == 0) s.kind = RLVR_LR_CONSTANT;
  else if (strcmp(c->optim_schedule, "cosine") == 0) s.kind = RLVR_LR_COSINE;
  else return rlvr_error(RLVR_ERR_CONFIG, "optim.schedule: '%s' is not one of constant, cosine", c->optim_schedule);
  s.lr = c->optim_lr;
  s.warmup = c->optim_warmup_steps;
  s.min_lr_ratio = c->optim_min_lr_ratio;
  s.total = total_steps;
  if (!(s.lr > 0) || !isfinite(s.lr)) return rlvr_error(RLVR_ERR_CONFIG, "optim.lr must be a finite number > 0, got %g", s.lr);
  if (s.warmup < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "optim.warmup_steps must be >= 0, got %lld", (long long)s.warmup);
  if (!(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "optim.min_lr_ratio must lie in [0, 1], got %g", s.min_lr_ratio);
  if (s.total < 1) return rlvr_error(RLVR_ERR_CONFIG, "the run must have at least one step, got %lld", (long long)s.total);
  *out = s;
  return RLVR_OK;
}

double rlvr_lr_at(const rlvr_lr_schedule *s, int64_t step) {
  RLVR_CHECK(step >= 0);
  if (step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
  if (s->kind == RLVR_LR_CONSTANT) return s->lr;
  int64_t span = s->total - s->warmup;
  double p = (double)(step - s->warmup) / (double)(span > 1 ? span : 1);
  if (p > 1) p = 1;
  double m = s->min_lr_ratio * s->lr;
  return m + (s->lr - m) * 0.5 * (1.0 + cos(M_PI * p));
}
