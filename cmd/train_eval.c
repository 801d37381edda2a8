/* train_eval.c — see train_eval.h. */
#include "cmd/train_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "rollout/eval.h"
#include "verifiers/pool.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

int cmd_train_evaluate(rlvr_config *cfg, const char *model_dir, const char *samples_path, cmd_eval_result *out) {
  char kv[64];
  const long long size = cfg->train_eval_size > 0 ? (long long)cfg->train_eval_size : (long long)cfg->task_heldout_size;
  snprintf(kv, sizeof kv, "eval.size=%lld", size);
  int rc = rlvr_config_set(cfg, kv);
  if (!rc) rc = rlvr_config_set(cfg, "eval.split=heldout");
  rlvr_verify_options vo;
  if (!rc) rc = rlvr_verify_options_from_config(&vo, cfg, RLVR_SOURCE_DIR "/verifiers");
  if (rc) return rc;
  rlvr_verify_pool *pool = NULL;
  if ((rc = rlvr_pool_build(&pool, &vo))) return rc;
  cmd_policy p;
  if (cmd_policy_load("train", model_dir, &p) != EXIT_OK) {
    rlvr_pool_free(pool);
    return rlvr_error(RLVR_ERR_IO, "cannot load the model in %s (above)", model_dir);
  }
  FILE *f = samples_path ? fopen(samples_path, "w") : NULL;
  if (samples_path && !f) rc = rlvr_error(RLVR_ERR_IO, "%s: cannot open for writing", samples_path);
  const rlvr_eval_dirs dirs = {.tasks = RLVR_SOURCE_DIR "/tasks", .chat_templates = RLVR_SOURCE_DIR "/model/templates"};
  rlvr_eval_summary s;
  if (!rc) rc = rlvr_eval_config(cfg, &dirs, &p.model, p.tok, p.eos, p.num_eos, pool, 1, 1, f, &s);
  if (f && fclose(f) != 0 && !rc) rc = rlvr_error(RLVR_ERR_IO, "%s: write failed", samples_path);
  if (!rc) {
    out->done = 1;
    out->accuracy = s.pass1;
    out->format = s.samples ? 1.0 - (double)s.wrong_format / (double)s.samples : 0.0;
    out->tokens = s.samples ? (double)s.tokens / (double)s.samples : 0.0;
    out->seconds = s.seconds;
    out->problems = (int)s.problems;
    out->infra_failures = (long long)s.infra_failures;
  }
  cmd_policy_free(&p);
  rlvr_pool_free(pool);
  return rc;
}
