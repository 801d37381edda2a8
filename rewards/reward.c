/* reward.c — see reward.h. */
#include "rewards/reward.h"

#include <math.h>

#include "core/error.h"

int rlvr_reward_status_is_infra(int status) {
  return status != RLVR_REWARD_STATUS_OK && status != RLVR_REWARD_STATUS_WRONG_FORMAT;
}

const char *rlvr_reward_component_name(int component) {
  switch (component) {
  case RLVR_REWARD_ACCURACY: return "accuracy";
  case RLVR_REWARD_FORMAT: return "format";
  case RLVR_REWARD_LENGTH: return "length";
  }
  RLVR_CHECK(0, "no reward component %d", component);
  return "";
}

int rlvr_reward_config_from(const rlvr_config *c, rlvr_reward_config *out) {
  rlvr_reward_config r;
  r.weight[RLVR_REWARD_ACCURACY] = c->reward_accuracy_weight;
  r.weight[RLVR_REWARD_FORMAT] = c->reward_format_weight;
  r.weight[RLVR_REWARD_LENGTH] = c->reward_length_weight;
  static const char *keys[RLVR_REWARD_NCOMPONENTS] = {
      "reward.accuracy_weight", "reward.format_weight", "reward.length_weight"};
  for (int k = 0; k < RLVR_REWARD_NCOMPONENTS; k++)
    if (!isfinite(r.weight[k]))
      return rlvr_error(RLVR_ERR_CONFIG, "%s must be a finite number", keys[k]);
  r.overlong_max = c->reward_overlong_max ? c->reward_overlong_max : c->sample_max_tokens;
  r.overlong_cache = c->reward_overlong_cache;
  if (r.overlong_max <= 0)
    return rlvr_error(RLVR_ERR_CONFIG, "reward.overlong_max must be > 0 (or 0 with sample.max_tokens > 0), got %lld",
                      (long long)r.overlong_max);
  if (r.overlong_cache < 0 || r.overlong_cache > r.overlong_max)
    return rlvr_error(RLVR_ERR_CONFIG, "reward.overlong_cache must lie in [0, %lld] (the overlong maximum), got %lld",
                      (long long)r.overlong_max, (long long)r.overlong_cache);
  *out = r;
  return RLVR_OK;
}

double rlvr_reward_overlong(int64_t length, int64_t overlong_max, int64_t overlong_cache) {
  RLVR_CHECK(overlong_cache >= 0 && overlong_cache <= overlong_max);
  int64_t safe = overlong_max - overlong_cache; /* longest length without punishment */
  if (length <= safe) return 0.0;
  if (length <= overlong_max) /* here overlong_cache > 0, since safe < length <= max */
    return (double)(safe - length) / (double)overlong_cache;
  return -1.0;
}

static int in_unit(double x) { return x >= 0.0 && x <= 1.0; } /* false for NaN */

int rlvr_reward_compose(const rlvr_reward_config *cfg, const rlvr_reward_input *in, int n,
                        rlvr_reward *out) {
  RLVR_CHECK(n >= 0 && (n == 0 || (in && out)));
  /* Validate everything first, so that a bad sample leaves out[] untouched. */
  for (int i = 0; i < n; i++) {
    if (in[i].status < 0)
      return rlvr_error(RLVR_ERR_RANGE, "reward: sample %d: status %d is not a verifier status", i, in[i].status);
    if (rlvr_reward_status_is_infra(in[i].status)) continue;
    if (!in_unit(in[i].score))
      return rlvr_error(RLVR_ERR_RANGE, "reward: sample %d: verifier score %g is outside [0, 1]", i, in[i].score);
    if (!in_unit(in[i].format))
      return rlvr_error(RLVR_ERR_RANGE, "reward: sample %d: format score %g is outside [0, 1]", i, in[i].format);
    if (in[i].length < 0)
      return rlvr_error(RLVR_ERR_RANGE, "reward: sample %d: negative length %lld", i, (long long)in[i].length);
  }
  for (int i = 0; i < n; i++) {
    rlvr_reward r = {0};
    if (rlvr_reward_status_is_infra(in[i].status)) {
      r.excluded = 1;
    } else {
      r.component[RLVR_REWARD_ACCURACY] = in[i].status == RLVR_REWARD_STATUS_WRONG_FORMAT ? 0.0 : in[i].score;
      r.component[RLVR_REWARD_FORMAT] = in[i].format;
      r.component[RLVR_REWARD_LENGTH] = rlvr_reward_overlong(in[i].length, cfg->overlong_max, cfg->overlong_cache);
      for (int k = 0; k < RLVR_REWARD_NCOMPONENTS; k++) r.reward += cfg->weight[k] * r.component[k];
    }
    out[i] = r;
  }
  return RLVR_OK;
}
