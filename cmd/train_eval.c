/* train_eval.c — see train_eval.h. */
#include "cmd/train_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "learner/sft_probe.h"
#include "model/checkpoint.h"
#include "model/tokenizer.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

int cmd_train_evaluate(const rlvr_config *cfg, const char *model_dir, cmd_eval_result *out) {
  rlvr_model m;
  rlvr_tokenizer *tok = NULL;
  size_t n = strlen(model_dir) + 32;
  char *tp = xmalloc(n);
  snprintf(tp, n, "%s/tokenizer.json", model_dir);
  int rc = rlvr_model_load(model_dir, &m);
  if (!rc && (rc = rlvr_tokenizer_load(tp, &tok))) rlvr_model_free(&m);
  free(tp);
  if (rc) return rc;
  /* End of sequence: config.json's ids and the tokenizer's. */
  int32_t eos[RLVR_MAX_EOS + 1];
  int neos = 0;
  for (int i = 0; i < m.cfg.num_eos; i++) eos[neos++] = m.cfg.eos_token_ids[i];
  int32_t te = rlvr_tokenizer_eos_id(tok);
  int known = te < 0;
  for (int i = 0; i < neos; i++) known |= eos[i] == te;
  if (!known) eos[neos++] = te;
  const rlvr_sft_probe_dirs dirs = {RLVR_SOURCE_DIR "/tasks", RLVR_SOURCE_DIR "/verifiers",
                                    RLVR_SOURCE_DIR "/model/templates"};
  const int problems = (int)(cfg->train_eval_size > 0 ? cfg->train_eval_size : cfg->task_heldout_size);
  rlvr_sft_probe_result r;
  rc = rlvr_sft_probe_run(cfg, &dirs, &m, tok, eos, neos, problems, 0, &r);
  if (!rc) {
    out->done = 1;
    out->accuracy = r.greedy_accuracy;
    out->format = r.greedy_format;
    out->tokens = r.greedy_tokens;
    out->seconds = r.seconds;
    out->problems = r.problems;
  }
  rlvr_tokenizer_free(tok);
  rlvr_model_free(&m);
  return rc;
}
