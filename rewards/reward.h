/* reward.h — one scalar reward per completion, as a weighted sum of named
 * components, each kept for logging.
 *
 *   reward = w_acc * accuracy + w_fmt * format + w_len * length
 *
 *   accuracy  the verifier's score in [0, 1] (0 when the verifier reports that
 *             the completion has no readable answer: wrong format);
 *   format    a format score in [0, 1] that the caller computes (for example 1
 *             when the completion follows the <think>...</think><answer> template);
 *   length    DAPO's soft overlong punishment (Yu et al. 2025), in [-1, 0]:
 *                 0                                 |y| <= L_max - L_cache
 *                 ((L_max - L_cache) - |y|) / L_cache   L_max - L_cache < |y| <= L_max
 *                 -1                                 |y| > L_max
 *             with |y| the completion's length in tokens.
 *
 * A completion whose verifier did not run to the end (timeout, crash of the
 * sandbox, host error: any status but OK and WRONG_FORMAT) is an
 * infrastructure failure: it gets no reward (all components 0) and is marked
 * excluded, so that advantages ignore it and the loss masks it out.
 * docs/losses.md has the formulas with their sources. */
#ifndef RLVR_REWARD_H
#define RLVR_REWARD_H

#include <stdint.h>

#include "core/config.h"

/* What the verifier said about one completion. The numbering agrees with
 * verifiers/host.h's rlvr_verify_status (OK 0, WRONG_FORMAT 1, then timeout,
 * sandbox-error, verifier-error, input-error), so its value can be passed as
 * is: every value past WRONG_FORMAT is an infrastructure failure, and new
 * failure kinds need no change here. */
typedef enum {
  RLVR_REWARD_STATUS_OK = 0,           /* verified; the score stands */
  RLVR_REWARD_STATUS_WRONG_FORMAT = 1, /* verified; no answer could be read (accuracy 0) */
  RLVR_REWARD_STATUS_TIMEOUT = 2,      /* the verifier ran out of time: excluded */
  RLVR_REWARD_STATUS_CRASH = 3,        /* the sandbox or script crashed: excluded */
  RLVR_REWARD_STATUS_ERROR = 4,        /* any other host failure: excluded */
} rlvr_reward_status;

/* 1 when status means the sample must be left out of advantages and loss. */
int rlvr_reward_status_is_infra(int status);

typedef enum {
  RLVR_REWARD_ACCURACY = 0,
  RLVR_REWARD_FORMAT = 1,
  RLVR_REWARD_LENGTH = 2,
  RLVR_REWARD_NCOMPONENTS = 3,
} rlvr_reward_component;

/* "accuracy", "format", "length": the names metrics.jsonl logs them under. */
const char *rlvr_reward_component_name(int component);

typedef struct {
  double weight[RLVR_REWARD_NCOMPONENTS]; /* indexed by rlvr_reward_component */
  int64_t overlong_max;                   /* L_max, tokens; > 0 */
  int64_t overlong_cache;                 /* L_cache, tokens; 0 <= L_cache <= L_max */
} rlvr_reward_config;

/* Reads reward.* from c (reward.overlong_max = 0 means sample.max_tokens).
 * Returns RLVR_ERR_CONFIG naming the key when a value is out of range; *out
 * unchanged then. */
int rlvr_reward_config_from(const rlvr_config *c, rlvr_reward_config *out);

typedef struct {
  int status;     /* rlvr_reward_status (or a host code > WRONG_FORMAT) */
  double score;   /* verifier score, [0, 1]; ignored for infra failures */
  double format;  /* format score, [0, 1]; ignored for infra failures */
  int64_t length; /* completion length in tokens, >= 0 */
} rlvr_reward_input;

typedef struct {
  double reward;                                /* weighted sum; 0 when excluded */
  double component[RLVR_REWARD_NCOMPONENTS];    /* unweighted values */
  int excluded;                                 /* 1 = infrastructure failure */
} rlvr_reward;

/* The soft overlong punishment of one length (the `length` component). */
double rlvr_reward_overlong(int64_t length, int64_t overlong_max, int64_t overlong_cache);

/* Composes n rewards. Scores come from scripts, so a score or format outside
 * [0, 1] (or NaN), a negative length or a negative status is an input error:
 * RLVR_ERR_RANGE naming the sample, and out[] is left unchanged. */
int rlvr_reward_compose(const rlvr_reward_config *cfg, const rlvr_reward_input *in, int n,
                        rlvr_reward *out);

#endif
