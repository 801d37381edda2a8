/* worker.h — the rollout worker: takes work (prompt groups), samples G
 * completions per prompt with the engine (rollout/engine.h), scores them with
 * the verifier pool (verifiers/pool.h), combines rewards (rewards/reward.h)
 * and group advantages (rewards/advantage.h), and returns the groups as a
 * trajectories message (core/protocol.h, docs/protocol.md).
 *
 * Two ways to drive it:
 *   - in process (tests, a learner without sockets):
 *       rlvr_worker_build(&w, &opts, &deps);
 *       rlvr_worker_apply_weights(w, &weights_msg, 1);    // optional
 *       rlvr_worker_process(w, &work_msg.work, &traj);    // a built message
 *       ... read traj.trajectories, or rlvr_msg_encode it ...
 *   - over ZeroMQ (`rlvr rollout --connect ENDPOINT`): rlvr_worker_run opens
 *     the worker's three sockets (core/transport.h), says hello, asks for
 *     work, applies every weights version it receives between works, serves
 *     works in order, heartbeats (also while it generates), and returns on a
 *     shutdown message or when *stop is set (SIGINT/SIGTERM). Garbage on any
 *     socket is rejected and counted by the transport; the worker logs the
 *     counts and goes on.
 *     With GPU weight sync (the learner's learner.weight_sync = nccl or
 *     ipc; learner/wsync_hub.h) the weights come on the work channel
 *     instead: a wsync_init joins the learner's NCCL communicator or maps
 *     its CUDA IPC slots, each wsync brings a version into the GPU model
 *     (rollout/cuda_source.h), and the worker acknowledges each with
 *     wsync_ack. Its hello says "wsync" among its capabilities when it can
 *     (rollout.device = cuda, rollout.dtype = bf16); otherwise it answers a
 *     wsync_init with an error naming the key (the learner then tells it to
 *     shut down). A failed NCCL transfer leaves the GPU weights partly
 *     written: the worker refuses work until the next version lands.
 *
 * Per sample of a trajectories group (docs/rollout.md, "What a sample
 * carries"): completion tokens, mask (0 = inserted by budget forcing),
 * log-probs (rlvr_logprob_at_temperature at the work's temperature), reward
 * and its unweighted components (accuracy, format, length), the group
 * advantage, the verifier's name, version and status (ok, timeout, crash,
 * error: anything but ok is an infrastructure failure, reward 0, advantage
 * 0), the sample's seed (rlvr_engine_sample_seed(work seed, group id,
 * index)) and finish reason, and timings (generate: the sample's wall time
 * in the engine; verify: the verifier's). */
#ifndef RLVR_WORKER_H
#define RLVR_WORKER_H

#include <signal.h>
#include <stdint.h>

#include "core/config.h"
#include "core/protocol.h"
#include "core/transport.h"
#include "model/model.h"
#include "model/tokenizer.h"
#include "rewards/advantage.h"
#include "rewards/reward.h"
#include "rollout/engine.h"
#include "verifiers/pool.h"

enum { RLVR_WORKER_ID_MAX = 128, RLVR_ENDPOINT_MAX = 512 };

typedef struct {
  char id[RLVR_WORKER_ID_MAX]; /* the worker's id (its ZeroMQ routing id) */
  int slots;                   /* sequences decoded at once */
  int max_seq;                 /* positions per slot: prompt + max_tokens must fit */
  int share_prefill;           /* prefill a group's prompt once, copy it to its samples */
  int max_groups;              /* groups asked for in each work request */
  char format_verifier[64];    /* scores the format component (when its weight is not 0) */
  int weights_timeout_ms;      /* wait this long for a work's policy version, then report an error */
  int64_t max_works;           /* leave after this many works (0 = until shutdown) */
  int cuda; /* 0 CPU; rollout.device = cuda: generate on GPU 0, RLVR_ROLLOUT_CUDA (1) sampling on the device or
               RLVR_ROLLOUT_CUDA_HOST_SAMPLING (2) on the host (rollout.device_sampling; rollout/cuda_source.h) */
  char dtype[8];               /* rollout.dtype with cuda: "fp32" or "bf16" */
} rlvr_worker_options;

/* From rollout.* (and the model's max_position for max_seq 0). The id is
 * rollout.id, or "rollout-HOST-PID". RLVR_ERR_CONFIG naming the key (also
 * rollout.device = cuda where this binary has no CUDA or no GPU). */
int rlvr_worker_options_from_config(rlvr_worker_options *o, const rlvr_config *c, const rlvr_model_config *mc);

/* What a worker works with; all borrowed (they must outlive the worker). */
typedef struct {
  /* The policy copy. rlvr_worker_apply_weights writes new versions into it.
   * Required unless src is given. */
  rlvr_model *model;
  /* Where logits come from; NULL = the model through decode.h (built with
   * opts.slots and opts.max_seq). A test's fake source goes here. */
  const rlvr_logits_source *src;
  const rlvr_tokenizer *tok;
  const int32_t *eos; /* end-of-sequence ids */
  int neos;
  rlvr_verify_pool *pool;
  rlvr_reward_config reward;
  rlvr_advantage_config advantage;
} rlvr_worker_deps;

typedef struct rlvr_worker rlvr_worker;

/* Builds the engine (and the model's decode state: on the CPU, or with
 * opts.cuda the GPU source of rollout/cuda_source.h, which gets its own
 * copy of the weights). Cannot fail on options from
 * rlvr_worker_options_from_config (a bad size is a bug). */
rlvr_worker *rlvr_worker_build(const rlvr_worker_options *o, const rlvr_worker_deps *d);
void rlvr_worker_free(rlvr_worker *w); /* accepts NULL */

/* The policy version held: 0 = none yet (*version untouched), 1 = *version. */
int rlvr_worker_version(const rlvr_worker *w, uint64_t *version);
/* Declares the model's current weights to be version v (in-process callers
 * that share or loaded the learner's weights themselves); with opts.cuda
 * they are copied to the GPU again. */
void rlvr_worker_set_version(rlvr_worker *w, uint64_t v);

/* Writes a weights message into the model: every tensor of the model's table
 * exactly once, with its shape; dtype F32, BF16 or F16 (converted exactly to
 * float32); with check_crc, each tensor's crc32c (the decoder checked it
 * already on received messages; an in-process caller that did not fill it
 * passes 0). All is checked before anything is written: on error
 * (RLVR_ERR_MISMATCH naming the tensor: unknown, missing, twice, shape,
 * bytes, checksum; RLVR_ERR_UNSUPPORTED: dtype; RLVR_ERR_ARG: a worker with
 * no model) the model and the version are unchanged. With opts.cuda the
 * new weights are uploaded to the GPU's copy. */
int rlvr_worker_apply_weights(rlvr_worker *w, const rlvr_msg_weights *m, int check_crc);

/* Serves one work message: generates, verifies, scores. *out becomes a
 * built trajectories message whose arrays point into the worker (and tokens
 * into its engine), valid until the next process call or free; it may be
 * passed to rlvr_msg_encode or rlvr_sock_send as is. The worker must hold
 * the work's policy_version, or no version at all (then it trusts the
 * caller and labels the samples with the work's version). Errors, with *out
 * zeroed: RLVR_ERR_MISMATCH (another version held), the engine's (a prompt
 * that does not fit, bad sampling settings), RLVR_ERR_FORMAT (a reference or
 * meta value with no JSON form). Verifier failures are statuses, not errors. */
int rlvr_worker_process(rlvr_worker *w, const rlvr_msg_work *work, rlvr_msg *out);

/* Called between decode steps and verifier chunks while process runs (the
 * socket loop sends heartbeats from here). NULL = none. */
void rlvr_worker_set_tick(rlvr_worker *w, void (*tick)(void *ctx), void *ctx);

/* Called each time a weights version lands (weights message or GPU weight
 * sync), after it is in the model the engine samples from. NULL = none. */
void rlvr_worker_set_on_version(rlvr_worker *w, void (*fn)(void *ctx, rlvr_worker *w, uint64_t version),
                                void *ctx);
/* The bf16 weights a GPU worker in bf16 decodes with (the model's
 * num_params values, its layout) into out: RLVR_ERR_UNSUPPORTED for a CPU
 * or fp32 worker. For tests of GPU weight sync. */
int rlvr_worker_download_bf16(rlvr_worker *w, uint16_t *out);

typedef struct {
  int64_t works;           /* works served */
  int64_t groups, samples;
  int64_t tokens;          /* sampled tokens */
  int64_t infra_failures;  /* samples whose verifier did not finish */
  int64_t weights_applied; /* weights versions written into the model */
  int64_t weights_rejected;
  int64_t work_errors;     /* works answered with an error message */
  int64_t rejected_work;   /* garbage on the work channel (the transport's count, at the end of a run) */
  int64_t rejected_weights; /* garbage on the weights channel (likewise) */
  double generate_s, verify_s;
} rlvr_worker_stats;

void rlvr_worker_get_stats(const rlvr_worker *w, rlvr_worker_stats *st);

/* The budget.* keys as the protocol's budget map (work.sampling.budget), for
 * a learner that turns budget forcing on in training work (it sets
 * sampling.has_budget itself). Strings point into c. */
void rlvr_rollout_budget_from_config(const rlvr_config *c, rlvr_budget *out);

/* The three endpoints of a learner address, as learner.endpoint documents:
 *   tcp://HOST:PORT          work PORT, trajectories PORT+1, weights PORT+2
 *   ipc:///PATH              PATH.work, PATH.traj, PATH.weights
 *   inproc://NAME            NAME.work, NAME.traj, NAME.weights
 *   A,B,C                    three endpoints given in full (work, traj, weights)
 * RLVR_ERR_ARG for anything else; outputs untouched then. */
int rlvr_rollout_endpoints(const char *address, char work[RLVR_ENDPOINT_MAX], char traj[RLVR_ENDPOINT_MAX],
                           char weights[RLVR_ENDPOINT_MAX]);

/* The socket loop above. zmq_ctx: the process's ZeroMQ context. Returns
 * RLVR_OK after a shutdown message, max_works works or *stop; RLVR_ERR_IO
 * when a socket cannot be opened or ZeroMQ fails. */
int rlvr_worker_run(rlvr_worker *w, void *zmq_ctx, const char *address, const rlvr_transport_options *to,
                    volatile sig_atomic_t *stop);

#endif
