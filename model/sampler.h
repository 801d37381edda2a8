/* sampler.h — choosing the next token from a row of logits.
 *
 * Temperature, top-k and top-p (nucleus), driven by an rlvr_rng so that a
 * given seed gives the same tokens on every run. The log-probability reported
 * with each token is log softmax(logits / T) at that token — the policy's own
 * probability at the sampling temperature, before top-k/top-p truncation —
 * because that is what the learner recomputes (it cannot see truncation).
 * For T = 0 (greedy) it is log softmax(logits). */
#ifndef RLVR_SAMPLER_H
#define RLVR_SAMPLER_H

#include "core/rng.h"

typedef struct {
  float temperature; /* 0 = greedy */
  int top_k;         /* 0 = no limit */
  float top_p;       /* 1 = no limit; in (0, 1] */
} rlvr_sampling;

/* Scratch for one vocabulary size; allocated once, reused every step. */
typedef struct {
  int vocab_size; /* V */
  float *probs;   /* (V) */
  int *order;     /* (V) candidate indices */
} rlvr_sampler;

void rlvr_sampler_init(rlvr_sampler *s, int vocab_size);
void rlvr_sampler_free(rlvr_sampler *s);

/* Checks settings from outside: temperature >= 0 and finite, top_k >= 0,
 * 0 < top_p <= 1. Returns RLVR_OK or RLVR_ERR_CONFIG naming the setting. */
int rlvr_sampling_validate(const rlvr_sampling *p);

/* Samples one token from logits (V). Writes log softmax(logits/T)[token] to
 * *logprob if not NULL. Draws exactly one number from rng unless greedy. */
int rlvr_sampler_sample(rlvr_sampler *s, const float *logits, const rlvr_sampling *p, rlvr_rng *rng,
                        float *logprob);

#endif
