/* train_eval.h — the held-out evaluation `rlvr train` runs before and after
 * GRPO: `rlvr eval`'s scoring (rollout/eval.h), greedy, one completion per
 * problem, on the first train.eval_size (0: task.heldout_size) problems of
 * task.source's held-out split, each sample written to a JSON-lines file.
 * Accuracy is the fraction of problems solved (pass@1 at temperature 0). */
#ifndef RLVR_CMD_TRAIN_EVAL_H
#define RLVR_CMD_TRAIN_EVAL_H

#include "core/config.h"

typedef struct {
  int done;
  double accuracy;  /* fraction of problems solved */
  double format;    /* fraction of completions whose answer could be read */
  double tokens;    /* mean completion length */
  double seconds;
  int problems;
  long long infra_failures; /* verifications that did not finish (counted as wrong) */
} cmd_eval_result;

/* Loads model_dir (and its tokenizer), starts a verifier pool (verify.*),
 * scores, writes each sample to samples_path (NULL: none). cfg's eval.* keys
 * are set for the run (eval.split heldout, eval.size). RLVR_OK or the
 * loader's, the pool's or the evaluation's error (message set); *out
 * untouched then. */
int cmd_train_evaluate(rlvr_config *cfg, const char *model_dir, const char *samples_path, cmd_eval_result *out);

#endif
