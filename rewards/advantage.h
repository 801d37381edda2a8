/* advantage.h — group-relative advantages: one scalar per completion, from the
 * rewards of the G completions sampled for the same prompt.
 *
 * For a group with included rewards r_1..r_n (n <= G: infrastructure
 * failures are excluded and get advantage 0), mean m = (1/n) sum_j r_j:
 *
 *   grpo     A_i = (r_i - m) / (s + eps),  s = sqrt(sum_j (r_j - m)^2 / (n - 1))
 *            DeepSeekMath (Shao et al. 2024) sec. 4.1.2; s is the unbiased
 *            sample standard deviation, as torch.std and TRL's GRPOTrainer
 *            compute it, and eps = 1e-4 by default, TRL's value.
 *   dr_grpo  A_i = r_i - m                    Dr. GRPO (Liu et al. 2025)
 *   rloo     A_i = r_i - (sum_{j!=i} r_j) / (n - 1)
 *            REINFORCE leave-one-out (Kool et al. 2019; Ahmadian et al. 2024)
 *
 * A group has zero spread when n < 2 or all its included rewards are equal
 * (max == min exactly); it carries no learning signal, its advantages are set
 * to exactly 0 (rather than whatever rounding leaves of r - m), and it is
 * flagged so that dynamic sampling (DAPO, Yu et al. 2025) can drop it.
 * Layout: rewards, excluded and advantages are (ngroups, G), group-major. */
#ifndef RLVR_ADVANTAGE_H
#define RLVR_ADVANTAGE_H

#include <stdint.h>

#include "core/config.h"

typedef enum {
  RLVR_ADVANTAGE_GRPO = 0,
  RLVR_ADVANTAGE_DR_GRPO = 1,
  RLVR_ADVANTAGE_RLOO = 2,
} rlvr_advantage_estimator;

typedef struct {
  rlvr_advantage_estimator estimator;
  double eps;           /* grpo only: added to the std; >= 0 */
  int dynamic_sampling; /* 1 = the caller drops zero-spread groups and asks for more work */
} rlvr_advantage_config;

/* "grpo", "dr_grpo", "rloo" -> estimator; RLVR_ERR_CONFIG otherwise. */
int rlvr_advantage_parse_estimator(const char *name, rlvr_advantage_estimator *out);
const char *rlvr_advantage_estimator_name(rlvr_advantage_estimator e);

/* Reads advantage.* from c; RLVR_ERR_CONFIG naming the key on a bad value,
 * *out unchanged then. */
int rlvr_advantage_config_from(const rlvr_config *c, rlvr_advantage_config *out);

/* The dynamic-sampling predicate: 1 when the group's included rewards
 * (excluded may be NULL: none excluded) are at least two and not all equal. */
int rlvr_advantage_group_has_spread(const double *rewards, const uint8_t *excluded, int G);

/* Running statistics over the groups seen; a step's metrics. */
typedef struct {
  int64_t groups;             /* groups seen */
  int64_t zero_spread_groups; /* of which with zero spread */
  int64_t samples;            /* completions seen */
  int64_t excluded;           /* of which excluded */
  double adv_sum, adv_sumsq;  /* over included completions */
  double adv_min, adv_max;    /* over included completions; +inf/-inf when none */
} rlvr_advantage_stats;

void rlvr_advantage_stats_init(rlvr_advantage_stats *s);
/* zero_spread_groups / groups (0 when no groups). */
double rlvr_advantage_stats_zero_spread_fraction(const rlvr_advantage_stats *s);
/* Mean and population std of the included advantages (0 when none). */
double rlvr_advantage_stats_mean(const rlvr_advantage_stats *s);
double rlvr_advantage_stats_std(const rlvr_advantage_stats *s);

/* Computes adv (ngroups, G) from rewards (ngroups, G). excluded (ngroups, G)
 * may be NULL; zero_spread (ngroups) may be NULL, else gets 1 for each group
 * without spread; stats may be NULL, else is accumulated into. Rewards come
 * from rlvr_reward_compose, so a non-finite included reward is a bug (check). */
void rlvr_advantage_compute(const rlvr_advantage_config *cfg, const double *rewards,
                            const uint8_t *excluded, int G, int ngroups, double *adv,
                            uint8_t *zero_spread, rlvr_advantage_stats *stats);

#endif
