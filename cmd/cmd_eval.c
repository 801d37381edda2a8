/* cmd_eval.c — `rlvr eval`: score a checkpoint on a task's held-out split
 * (or a dataset): pass@1, pass@k and maj@k from eval.samples completions per
 * problem, optional s1 budget forcing, per-sample JSON lines and a summary
 * (rollout/eval.h, docs/eval.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/file.h"
#include "rollout/eval.h"
#include "verifiers/pool.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

static const char *usage =
    "usage: rlvr eval [CONFIG.lua] [--set key=value ...] --model DIR [options]\n"
    "\n"
    "Scores a Hugging Face model directory on the problems of task.source: one\n"
    "greedy completion per problem by default (accuracy = pass@1), or n sampled\n"
    "ones (--samples N --temperature T) for pass@k and maj@n. Prints the summary\n"
    "as JSON (docs/eval.md).\n"
    "\n"
    "  --model DIR        model directory (model.path)\n"
    "  --task NAME|FILE   generator name or JSONL dataset (task.source)\n"
    "  --split S          heldout (default) or train (eval.split)\n"
    "  --size N           problems from the split's start; 0 = all (eval.size)\n"
    "  --samples N        completions per problem (eval.samples)\n"
    "  --temperature T    0 = greedy (eval.temperature)\n"
    "  --max-tokens N     tokens per completion (eval.max_tokens)\n"
    "  --pass-k LIST      k of the pass@k reported, e.g. 1,4,8 (eval.pass_k)\n"
    "  --budget           s1 budget forcing with the budget.* keys (eval.budget)\n"
    "  --output FILE      one JSON line per sample (eval.output)\n"
    "  --summary FILE     the summary JSON, written atomically (eval.summary)\n"
    "\n"
    "Each option is a shorthand for --set of the key in parentheses; task.*,\n"
    "budget.*, verify.* and rollout.slots apply as elsewhere.\n";

static const cmd_shorthand shorthands[] = {
    {"--model", "model.path"},          {"--task", "task.source"},          {"--split", "eval.split"},
    {"--size", "eval.size"},            {"--samples", "eval.samples"},      {"--temperature", "eval.temperature"},
    {"--max-tokens", "eval.max_tokens"}, {"--pass-k", "eval.pass_k"},       {"--output", "eval.output"},
    {"--summary", "eval.summary"},
};

int cmd_eval(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help)
    rc = cmd_apply_shorthands("eval", &cfg, rest, &nrest, shorthands, (int)(sizeof shorthands / sizeof shorthands[0]));
  for (int i = 0; rc == EXIT_OK && !help && i < nrest; i++) {
    if (!strcmp(rest[i], "--budget")) rc = rlvr_config_set(&cfg, "eval.budget=true") ? cmd_fail("eval", "%s", rlvr_error_message()) : EXIT_OK;
    else rc = cmd_usage_error("eval", "unknown argument '%s'", rest[i]);
  }
  free(rest);
  if (rc != EXIT_OK || help) {
    if (help && rc == EXIT_OK) fputs(usage, stdout);
    rlvr_config_free(&cfg);
    return rc;
  }
  if ((rc = cmd_apply_runtime("eval", &cfg)) != EXIT_OK) goto done_cfg;
  rlvr_eval_options eo;
  rlvr_verify_options vo;
  if (rlvr_eval_options_from_config(&cfg, &eo) != RLVR_OK ||
      rlvr_verify_options_from_config(&vo, &cfg, RLVR_SOURCE_DIR "/verifiers") != RLVR_OK) {
    rc = cmd_fail("eval", "%s", rlvr_error_message());
    goto done_cfg;
  }
  if (eo.samples > 1 && eo.params.temperature == 0.0f)
    fprintf(stderr, "rlvr eval: note: eval.samples %d at temperature 0: the samples are identical (greedy)\n", eo.samples);
  /* The pool forks: before anything else holds threads or much memory. */
  rlvr_verify_pool *pool = NULL;
  if (rlvr_pool_build(&pool, &vo) != RLVR_OK) {
    rc = cmd_fail("eval", "%s", rlvr_error_message());
    goto done_cfg;
  }
  cmd_policy p;
  if ((rc = cmd_policy_load("eval", cfg.model_path, &p)) != EXIT_OK) goto done_pool;
  FILE *out = NULL;
  if (cfg.eval_output[0] && !(out = fopen(cfg.eval_output, "w"))) {
    rc = cmd_fail("eval", "eval.output: cannot open %s for writing", cfg.eval_output);
    goto done_policy;
  }
  rlvr_eval_dirs dirs = {.tasks = RLVR_SOURCE_DIR "/tasks", .chat_templates = RLVR_SOURCE_DIR "/model/templates"};
  rlvr_eval_summary s;
  if (rlvr_eval_config(&cfg, &dirs, &p.model, p.tok, p.eos, p.num_eos, pool, 0, 0, out, &s) != RLVR_OK) {
    rc = cmd_fail("eval", "%s", rlvr_error_message());
  } else {
    char *json = rlvr_eval_summary_json(&eo, &s);
    puts(json);
    if (cfg.eval_summary[0] && rlvr_file_write_atomic(cfg.eval_summary, json, strlen(json)) != RLVR_OK)
      rc = cmd_fail("eval", "%s", rlvr_error_message());
    free(json);
  }
  if (out && fclose(out) != 0 && rc == EXIT_OK) rc = cmd_fail("eval", "eval.output: writing %s failed", cfg.eval_output);
done_policy:
  cmd_policy_free(&p);
done_pool:
  rlvr_pool_free(pool);
done_cfg:
  rlvr_config_free(&cfg);
  return rc;
}
