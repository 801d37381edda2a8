/* learner.h — the GRPO learner, in process: the data order, the work it
 * hands out, the trajectories it takes back, and the training step.
 *
 * The loop (DESIGN.md, "The loop"), as the process layer (learner/server.h)
 * or a test drives it:
 *
 *   rlvr_learner *L;
 *   rlvr_learner_build(&L, &cfg, &env);          // model, data, optimizer; --resume
 *   while (!rlvr_learner_done(L)) {
 *     rlvr_learner_work(L, worker, max, &work);   // groups to sample (maybe none)
 *     ... a worker samples, verifies, scores: trajectories ...
 *     rlvr_learner_accept(L, &traj.trajectories);
 *     rlvr_learner_try_step(L, &stepped);         // trains once a batch is complete
 *   }
 *   rlvr_learner_finish(L);                        // final checkpoint and model
 *   rlvr_learner_free(L);
 *
 * Data order: a seeded task cursor (tasks/task.h) makes one group per item;
 * the ledger (learner/ledger.h) tracks each group until it is trained on or
 * dropped. Work messages carry a constant sampling seed (sample.seed, or one
 * derived from run.seed): the rollout derives each sample's seed from
 * (seed, group id, sample index) (rollout/engine.h), so the samples of a
 * group do not depend on which worker draws them.
 *
 * A step (one policy version), for the batch of P groups of G completions:
 *  1. rows = completions in (group id, sample index) order; a row's counted
 *     tokens are its mask-1 completion tokens, none for a sample whose
 *     verifier failed (infrastructure failure) and, with loss.mask_truncated,
 *     none for one cut at max_tokens;
 *  2. per micro-batch of train.micro_batch rows: the frozen reference's
 *     log-probs (only when loss.beta > 0), then the policy's log-probs with
 *     rlvr_forward at the sampling temperature (rlvr_forward_set_temperature:
 *     the same function and arithmetic as the rollout's
 *     rlvr_logprob_at_temperature, so on CPU and on-policy they are equal
 *     bit for bit; the step reports the largest |recomputed - sampled|);
 *     the first pass keeps them as logp_old (detached), so the first update's
 *     ratio is exactly 1;
 *  3. learner/loss.h on the micro-batch with the batch's totals, its dL/dlogp
 *     into rlvr_backward, gradients summed over micro-batches;
 *  4. gradient-norm clipping, the learning rate of the optimizer step
 *     (learner/schedule.h), AdamW (model/optim.h);
 *  5. steps 2-4 again for train.updates_per_batch > 1 (ratios now differ
 *     from 1 and clipping acts);
 *  6. version + 1: env.publish gets the new weights; metrics.jsonl gets the
 *     step's line (docs/metrics.md); a checkpoint every checkpoint.every steps.
 * With learner.device = cuda the policy's forward, backward, clipping and
 * AdamW of 2-5 run on GPU 0 (learner/learn_gpu.h; the loss stays on the
 * host), and the weights come back to the host model after each step.
 *
 * Ownership: the learner owns its model, optimizer, data and files; messages
 * handed to it are only read during the call; the work message it returns
 * points into the learner and is valid until the next rlvr_learner_work. */
#ifndef RLVR_LEARNER_H
#define RLVR_LEARNER_H

#include <stdint.h>

#include "core/config.h"
#include "core/protocol.h"
#include "learner/ledger.h"
#include "model/model.h"

typedef struct {
  const char *tasks_dir;          /* the built-in tasks/ (generators, templates) */
  const char *chat_templates_dir; /* the built-in model/templates (task.template = chat) */
  int resume;                     /* continue from the run directory's latest checkpoint */
  int64_t stop_after;             /* > 0: stop once this many steps are done (a partial run; the
                                     schedule still spans train.steps) */
  /* Sends a new policy version to the workers; 0 or an error code (the run
   * stops). NULL: nothing is published (tests that read the model). */
  int (*publish)(void *ctx, uint64_t version, const rlvr_model *m);
  void *publish_ctx;
  /* Called between micro-batches, so that a process can answer heartbeats
   * during a long step. May be NULL. */
  void (*tick)(void *ctx);
  void *tick_ctx;
  int progress; /* 1: a progress line on stderr; 0: log lines; -1: 1 when stderr is a terminal */
} rlvr_learner_env;

typedef struct rlvr_learner rlvr_learner;

/* Loads the model (model.path, or the latest checkpoint with env->resume),
 * its tokenizer, the task source and template; builds the optimizer, the
 * forward state and (loss.beta > 0) the frozen reference; creates the run
 * directory (run.dir) and writes config.lua there; with resume, restores the
 * training state and truncates metrics.jsonl and samples.jsonl to what the
 * checkpoint had written. cfg is copied. Errors (RLVR_ERR_CONFIG naming the
 * key, RLVR_ERR_IO, and those of the loaders) leave *out NULL. */
int rlvr_learner_build(rlvr_learner **out, const rlvr_config *cfg, const rlvr_learner_env *env);
void rlvr_learner_free(rlvr_learner *L); /* accepts NULL */

/* Fills out (a built message: type work) with up to max_groups groups for
 * worker at the current version, and a fresh work_id; out->work.ngroups is
 * 0 when there is nothing to hand out now. Errors: a task script failed
 * (the run cannot go on). */
int rlvr_learner_work(rlvr_learner *L, const char *worker, uint32_t max_groups, rlvr_msg *out);

/* Takes a trajectories message; bad content is counted, never an error.
 * Returns the number of groups accepted. */
int rlvr_learner_accept(rlvr_learner *L, const rlvr_msg_trajectories *t);

/* A worker died or left: its unfinished groups are handed out again. */
void rlvr_learner_worker_lost(rlvr_learner *L, const char *worker);

/* A worker could not serve work work_id (it sent an error message): the
 * work's groups are handed out again (or dropped after repeated failures). */
void rlvr_learner_work_failed(rlvr_learner *L, uint64_t work_id);

/* Messages the transport rejected (garbage), for the metrics: the running
 * total, which the learner turns into per-step counts. */
void rlvr_learner_set_rejected(rlvr_learner *L, int64_t total);

/* Trains one step if the batch is complete (*stepped = 1), else returns at
 * once (*stepped = 0). Errors: publishing failed, a non-finite loss or
 * gradient (RLVR_ERR_RANGE naming the step), a checkpoint could not be
 * written; the learner is then not usable for more steps. */
int rlvr_learner_try_step(rlvr_learner *L, int *stepped);

/* 1 once train.steps (or env.stop_after) steps are done. */
int rlvr_learner_done(const rlvr_learner *L);

/* Steps done = the current policy version. */
uint64_t rlvr_learner_version(const rlvr_learner *L);
const rlvr_model *rlvr_learner_model(const rlvr_learner *L);
/* The GPU step's state (learner.device = cuda; learner/learn_gpu.h), or
 * NULL on the CPU: GPU weight sync (learner/wsync_hub.h) reads its weights. */
struct rlvr_learn_gpu *rlvr_learner_gpu(rlvr_learner *L);
const char *rlvr_learner_run_dir(const rlvr_learner *L);
/* The ledger's counts (tests check them). */
void rlvr_learner_get_counts(const rlvr_learner *L, rlvr_ledger_counts *c);
/* Groups the learner would hand out now; 0 means a worker asking gets none. */
int rlvr_learner_wanted(const rlvr_learner *L);

/* Writes a training checkpoint of the current state now (atomic; keeps the
 * last checkpoint.keep). */
int rlvr_learner_checkpoint(rlvr_learner *L);

/* End of a run: a checkpoint, and the model as a Hugging Face directory in
 * RUN/model. */
int rlvr_learner_finish(rlvr_learner *L);

#endif
