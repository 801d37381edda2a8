/* checkpoint.h — training-state checkpoints of a GRPO run: everything needed
 * to continue a run as if it had never stopped.
 *
 * RUN/checkpoints/step-00000012/    (the state after 12 steps)
 *   model/                  the policy as a Hugging Face directory (F32,
 *                           rlvr_model_save, with the tokenizer files)
 *   optimizer.safetensors   AdamW moments: "m.<tensor>" and "v.<tensor>" for
 *                           every tensor of the model's table, F32; metadata
 *                           format=rlvr-adamw, version=1, step=<AdamW steps>
 *   state.json              {"format": "rlvr-train-state", "version": 1, ...}:
 *                           steps done, the data cursor, the next group id,
 *                           the groups handed out but not trained on (their
 *                           ids and cursors), the ledger's counts, the RNG,
 *                           how many bytes of metrics.jsonl and samples.jsonl
 *                           belong to these steps, the task fingerprint
 *   config.lua              the resolved configuration of the run
 * RUN/checkpoints/latest    the name of the newest checkpoint directory
 *
 * Atomicity: a checkpoint is written into RUN/checkpoints/.tmp-<name>-<pid>
 * (each file fsynced), renamed to its name, the directory fsynced, and only
 * then is `latest` replaced (atomically). A crash at any point leaves the
 * previous checkpoint intact and `latest` naming a complete one. After a
 * save, checkpoints beyond the newest `keep` are deleted, and so are
 * temporary directories that a crash left behind.
 *
 * Numbers: 64-bit ids, seeds and RNG words are written as decimal strings
 * (JSON numbers are doubles); counts as numbers. */
#ifndef RLVR_TRAIN_CHECKPOINT_H
#define RLVR_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "core/config.h"
#include "learner/ledger.h"
#include "model/model.h"
#include "model/optim.h"

#define RLVR_TRAIN_STATE_VERSION 1

typedef struct {
  int64_t step;           /* steps done = the policy version */
  int64_t optimizer_step; /* AdamW steps taken (rlvr_adamw.step) */
  rlvr_ledger_state ledger;
  rlvr_ledger_counts counts;         /* at the time of the save (for people; resume uses the next) */
  rlvr_ledger_counts counts_at_step; /* when the step in progress began: a resume starts there */
  uint64_t next_id_at_step;          /* the next group id when the step began */
  int64_t rejected, rejected_at_step; /* transport rejections, likewise */
  uint64_t rng[4];
  int64_t metrics_bytes; /* of RUN/metrics.jsonl */
  int64_t samples_bytes; /* of RUN/samples.jsonl */
  uint64_t task_fingerprint;
  double elapsed_s; /* training wall time so far */
} rlvr_train_state;

/* Frees the ledger arrays. Accepts a zeroed state. */
void rlvr_train_state_clear(rlvr_train_state *st);

/* Writes the checkpoint of st->step (see above) with model m, optimizer opt
 * and config cfg; tokenizer_dir holds the tokenizer files copied into
 * model/. If a checkpoint of the same step exists, nothing is written (it
 * holds the same state: the groups sampled since are made again from its
 * cursor). keep >= 1. Errors: RLVR_ERR_IO naming the file; the previous
 * checkpoints are untouched then. *written (may be NULL) = 1 when a
 * checkpoint was written. */
int rlvr_train_checkpoint_save(const char *run_dir, int keep, const rlvr_train_state *st, const rlvr_model *m,
                               const rlvr_adamw *opt, const rlvr_config *cfg, const char *tokenizer_dir,
                               int *written);

/* The newest checkpoint directory of run_dir into path (cap bytes), from
 * `latest`. RLVR_ERR_IO naming run_dir when there is none. */
int rlvr_train_checkpoint_latest(const char *run_dir, char *path, size_t cap);

/* Reads dir/state.json into *st (arrays malloc'd; clear with
 * rlvr_train_state_clear). RLVR_ERR_IO, or RLVR_ERR_FORMAT naming the file
 * and field; *st zeroed on error. */
int rlvr_train_checkpoint_read_state(const char *dir, rlvr_train_state *st);

/* The same on len bytes of state.json text; path names it in messages. */
int rlvr_train_state_parse(const char *text, size_t len, const char *path, rlvr_train_state *st);

/* Reads dir/optimizer.safetensors into opt (built for m): every moment
 * tensor must be there with the model tensor's shape. Errors name the file
 * and tensor (RLVR_ERR_IO, RLVR_ERR_FORMAT, RLVR_ERR_MISMATCH); opt is
 * unchanged on error. */
int rlvr_train_checkpoint_read_optimizer(const char *dir, const rlvr_model *m, rlvr_adamw *opt);

#endif
