/* fake_worker.h — a rollout worker for the learner's tests: samples G
 * completions per prompt with model/decode.h and model/sampler.h, reports
 * each token's log-prob at the sampling temperature (rlvr_logits_temperature
 * then rlvr_decode_logprob: the rollout's contract), scores them with a
 * made-up reward, computes GRPO advantages (rewards/advantage.h) and builds
 * the trajectories message. It stands in for rollout/ so that the learner is
 * tested on its own; it is not the rollout.
 *
 * Rewards (mode):
 *   FAKE_REWARD_TOKENS  accuracy = the fraction of completion tokens whose
 *                       id is a multiple of 4 (a signal a tiny model learns
 *                       in a few steps);
 *   FAKE_REWARD_HALF_FLAT  as TOKENS for odd group ids; 0 for every sample of
 *                       even ones (zero spread, for dynamic sampling);
 *   FAKE_REWARD_FLAT    0 for every sample.
 * Each sample's seed is derived from (work seed, group id, index), so a
 * group's samples do not depend on the worker or the other groups. */
#ifndef RLVR_TEST_FAKE_WORKER_H
#define RLVR_TEST_FAKE_WORKER_H

#include <stdint.h>

#include "core/protocol.h"
#include "model/decode.h"
#include "model/model.h"

enum { FAKE_REWARD_TOKENS = 0, FAKE_REWARD_HALF_FLAT = 1, FAKE_REWARD_FLAT = 2 };

typedef struct {
  rlvr_model model; /* the worker's own copy of the policy */
  uint64_t version; /* the weights version it holds */
  int have_weights;
  rlvr_decode_state ds;
  int ds_batch;
  void *sampler; /* rlvr_sampler (fake_sample.c) */
  int mode;
  char id[64];
  /* the last message's memory */
  rlvr_traj_group *groups;
  rlvr_sample *samples;
  rlvr_named_value *comps;
  void **blocks;
  int nblocks;
} fake_worker;

void fake_worker_init(fake_worker *w, const char *id, int mode);
/* Copies the weights of m as version. */
void fake_worker_set_weights(fake_worker *w, uint64_t version, const rlvr_model *m);
/* Samples the work into out (a built trajectories message pointing into w,
 * valid until the next call). The worker must hold the work's policy
 * version (the caller arranges it). */
int fake_worker_run(fake_worker *w, const rlvr_msg_work *work, rlvr_msg *out);
void fake_worker_free(fake_worker *w);

/* The seed of sample index of group_id in work seeded with seed. */
uint64_t fake_sample_seed(uint64_t seed, uint64_t group_id, int index);

#endif
