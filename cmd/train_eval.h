/* train_eval.h — the held-out evaluation `rlvr train` runs before and after
 * GRPO: greedy completions of the first train.eval_size (or
 * task.heldout_size) held-out problems of task.source, scored by their
 * verifiers (learner/sft_probe.h). In a file of its own because
 * model/sampler.h, which the probe needs, and core/protocol.h, which the
 * learner needs, both define rlvr_sampling. */
#ifndef RLVR_CMD_TRAIN_EVAL_H
#define RLVR_CMD_TRAIN_EVAL_H

#include "core/config.h"

typedef struct {
  int done;
  double accuracy; /* mean verifier score */
  double format;   /* fraction of completions whose answer could be read */
  double tokens;   /* mean completion length */
  double seconds;
  int problems;
} cmd_eval_result;

/* Loads model_dir (and its tokenizer) and scores it. RLVR_OK or the
 * loader's or the probe's error (message set); *out untouched then. */
int cmd_train_evaluate(const rlvr_config *cfg, const char *model_dir, cmd_eval_result *out);

#endif
