/* loss.h — the policy-gradient losses of GRPO and its successors, as a value
 * and its gradient with respect to the policy's per-token log-probabilities.
 *
 * The learner chains this with the model: forward gives logp (B, T); this
 * file gives L and dL/dlogp (B, T); model backward takes dL/dlogp as the
 * per-token loss weight. L is the quantity to MINIMISE (= -objective).
 *
 * Shapes. B rows (completions), T columns (completion positions, padded);
 * logp[b*T + t] is log pi_theta(o_{b,t} | q, o_{b,<t}). mask[b*T + t] != 0 marks
 * a completion token that counts; everything else (padding, excluded samples:
 * give them an all-zero mask row) is never read as a number.
 *
 * Per-token terms, for a counted token of row i with advantage A_i:
 *   token ratio      rho_it = exp(logp_it - logp_old_it)            (PPO, GRPO)
 *   sequence ratio   s_i = exp((1/n_i) sum_t (logp_it - logp_old_it)) (GSPO),
 *                    n_i = counted tokens of row i; every token of the row uses s_i
 *   surrogate        f(r) = min(r A_i, clip(r, 1 - eps_low, 1 + eps_high) A_i)
 *                    (eps_high > eps_low is DAPO's clip-higher)
 *   TIS weight       c_it = min(exp(logp_old_it - logp_sampler_it), tis_cap), a
 *                    constant (no gradient); c_it = 1 when tis_cap == 0
 *   k3 KL            kl_it = exp(ref_it - logp_it) - (ref_it - logp_it) - 1
 *   token loss       l_it = -c_it f(r_it) + beta kl_it      (TRL GRPOTrainer order)
 *
 * Aggregation, L = sum_{i,t counted} w_it l_it, with the weights over the WHOLE
 * optimizer batch (all micro-batches):
 *   grpo     w_it = 1 / (N_seq n_i)      N_seq = rows with >= 1 counted token
 *   dapo     w_it = 1 / N_tok            N_tok = counted tokens in the batch
 *   dr_grpo  w_it = 1 / (N_rows L_c)     N_rows = all rows, L_c = max_tokens
 *
 * Micro-batches. Split the batch by rows (a row never straddles two
 * micro-batches); count the whole batch first with rlvr_loss_count over every
 * micro-batch, then call rlvr_loss_compute on each micro-batch with those
 * totals. The micro-batch losses then sum to the full-batch loss and their
 * gradients are exactly the full-batch gradient rows, so accumulating them
 * (plain sums, no division by the number of micro-batches) gives the same
 * parameter gradient as one big batch.
 *
 * docs/losses.md derives every formula and the gradient, with sources. */
#ifndef RLVR_LOSS_H
#define RLVR_LOSS_H

#include <stdint.h>

#include "core/config.h"

typedef enum {
  RLVR_LOSS_AGG_GRPO = 0,
  RLVR_LOSS_AGG_DAPO = 1,
  RLVR_LOSS_AGG_DR_GRPO = 2,
} rlvr_loss_aggregation;

typedef enum {
  RLVR_LOSS_RATIO_TOKEN = 0,
  RLVR_LOSS_RATIO_SEQUENCE = 1, /* GSPO */
} rlvr_loss_ratio_level;

typedef struct {
  rlvr_loss_aggregation aggregation;
  rlvr_loss_ratio_level ratio;
  double eps_low;     /* [0, 1) */
  double eps_high;    /* >= 0 */
  double beta;        /* >= 0; 0 = no KL term, logp_ref may be NULL */
  int64_t max_tokens; /* L_c of dr_grpo; > 0 */
  int mask_truncated; /* 1 = rows with truncated[i] set do not count */
  double tis_cap;     /* > 0 enables truncated importance sampling; 0 = off */
} rlvr_loss_config;

/* Parses the names of loss.aggregation and loss.ratio; RLVR_ERR_CONFIG otherwise. */
int rlvr_loss_parse_aggregation(const char *name, rlvr_loss_aggregation *out);
int rlvr_loss_parse_ratio(const char *name, rlvr_loss_ratio_level *out);
const char *rlvr_loss_aggregation_name(rlvr_loss_aggregation a);
const char *rlvr_loss_ratio_name(rlvr_loss_ratio_level r);

/* Reads loss.* from c (loss.max_tokens = 0 means sample.max_tokens).
 * RLVR_ERR_CONFIG naming the key on a bad value; *out unchanged then. */
int rlvr_loss_config_from(const rlvr_config *c, rlvr_loss_config *out);

/* One micro-batch, in the model's precision. The loss reads logp_ref only when
 * beta > 0 or for the KL statistic when it is given; logp_sampler only when
 * tis_cap > 0; truncated only when mask_truncated (NULL = none truncated). */
typedef struct {
  int B, T;
  const float *logp;         /* (B, T) current policy: the input with a gradient */
  const float *logp_old;     /* (B, T) policy that the advantages belong to (recomputed) */
  const float *logp_ref;     /* (B, T) frozen reference, or NULL */
  const float *logp_sampler; /* (B, T) the rollout's own log-probs, or NULL */
  const float *adv;          /* (B) advantage of each row */
  const uint8_t *mask;       /* (B, T) != 0: a counted completion token */
  const uint8_t *truncated;  /* (B) or NULL: 1 = finish reason "length" */
} rlvr_loss_batch;

/* The same in double precision (tests, finite differences). */
typedef struct {
  int B, T;
  const double *logp, *logp_old, *logp_ref, *logp_sampler, *adv;
  const uint8_t *mask, *truncated;
} rlvr_loss_batch_f64;

/* Normalisers of the whole optimizer batch; zero it, then rlvr_loss_count
 * each micro-batch into it. */
typedef struct {
  int64_t tokens;    /* N_tok: counted tokens */
  int64_t sequences; /* N_seq: rows with at least one counted token */
  int64_t rows;      /* N_rows: all rows, counted or not */
} rlvr_loss_totals;

void rlvr_loss_count(const rlvr_loss_config *cfg, int B, int T, const uint8_t *mask,
                     const uint8_t *truncated, rlvr_loss_totals *totals);

/* Statistics, accumulated over micro-batches; zero with rlvr_loss_stats_init.
 * "Units" are counted tokens (token ratio) or counted rows (sequence ratio),
 * as TRL reports them. */
typedef struct {
  int64_t tokens;          /* counted tokens */
  int64_t units;           /* ratio units */
  int64_t clip_low;        /* units with ratio < 1 - eps_low and A < 0 (clip binds) */
  int64_t clip_high;       /* units with ratio > 1 + eps_high and A > 0 (clip binds) */
  double ratio_sum;        /* sum of the ratio over units */
  double ratio_min, ratio_max;
  int64_t kl_tokens;       /* tokens with a reference log-prob */
  double kl_sum;           /* sum of kl_it over them */
  int64_t tis_tokens;      /* tokens with a TIS weight */
  double tis_sum;          /* sum of c_it */
  int64_t tis_capped;      /* tokens where c_it hit the cap */
} rlvr_loss_stats;

void rlvr_loss_stats_init(rlvr_loss_stats *s);
double rlvr_loss_stats_clip_low_fraction(const rlvr_loss_stats *s);
double rlvr_loss_stats_clip_high_fraction(const rlvr_loss_stats *s);
double rlvr_loss_stats_ratio_mean(const rlvr_loss_stats *s);
double rlvr_loss_stats_kl_mean(const rlvr_loss_stats *s);
double rlvr_loss_stats_tis_mean(const rlvr_loss_stats *s);

/* Computes this micro-batch's share of the loss into *loss (the shares sum to
 * the batch loss) and, if dlogp (B, T) is not NULL, dL/dlogp, 0 where a token
 * does not count. stats may be NULL. Arithmetic is in double.
 * A non-finite log-prob on a counted token or a non-finite advantage of a
 * counted row returns RLVR_ERR_RANGE naming it; outputs unchanged then. Totals
 * smaller than this micro-batch's own counts are a bug (check). */
int rlvr_loss_compute(const rlvr_loss_config *cfg, const rlvr_loss_totals *totals,
                      const rlvr_loss_batch *b, double *loss, float *dlogp, rlvr_loss_stats *stats);
int rlvr_loss_compute_f64(const rlvr_loss_config *cfg, const rlvr_loss_totals *totals,
                          const rlvr_loss_batch_f64 *b, double *loss, double *dlogp,
                          rlvr_loss_stats *stats);

#endif
