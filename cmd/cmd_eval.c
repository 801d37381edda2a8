/* cmd_eval.c — `rlvr eval`: score a checkpoint on a task's held-out split
 * (or a dataset): pass@1, pass@k and maj@k from eval.samples completions per
 * problem (and their curves over k), optional s1 budget forcing, per-sample
 * JSON lines and a summary; or a sweep over budget-forcing settings with its
 * table and page (rollout/eval.h, rollout/ttscale.h, docs/eval.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/file.h"
#include "rollout/eval.h"
#include "rollout/ttscale.h"
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
    "  --html FILE        a page plotting pass@k and maj@k against k (n > 1)\n"
    "\n"
    "Test-time scaling (s1 budget forcing at several settings, same problems\n"
    "and seeds; implies --budget):\n"
    "  --budget-sweep KEY=V1,V2,...  sweep budget.KEY, KEY one of\n"
    "                     max_think_tokens (0 = no cap), max_waits,\n"
    "                     min_think_tokens; repeatable: the grid of all axes\n"
    "  --waits LIST       s1's \"Wait\" counts: --budget-sweep max_waits=LIST;\n"
    "                     with budget.min_think_tokens 0, every end of thinking\n"
    "                     is suppressed until the waits are spent\n"
    "  --sweep-dir DIR    writes DIR/sweep.json, sweep.md, sweep.html and\n"
    "                     samples-NN.jsonl per setting (required with a sweep)\n"
    "\n"
    "Each option up to --summary is a shorthand for --set of the key in\n"
    "parentheses; task.*, budget.*, verify.* and rollout.slots apply as elsewhere.\n";

static const cmd_shorthand shorthands[] = {
    {"--model", "model.path"},          {"--task", "task.source"},          {"--split", "eval.split"},
    {"--size", "eval.size"},            {"--samples", "eval.samples"},      {"--temperature", "eval.temperature"},
    {"--max-tokens", "eval.max_tokens"}, {"--pass-k", "eval.pass_k"},       {"--output", "eval.output"},
    {"--summary", "eval.summary"},
};

/* Writes text to dir/name atomically. */
static int write_in(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return rlvr_file_write_atomic(path, text, strlen(text));
}

typedef struct {
  const rlvr_eval_options *opts;
  const rlvr_ttscale_axes *axes;
  int n;
} sweep_ctx;

static void sweep_progress(void *ctx, int run, const rlvr_eval_summary *s) {
  const sweep_ctx *c = ctx;
  char label[256];
  rlvr_ttscale_label(c->axes, &c->opts[run], label, sizeof label);
  const double ns = s->samples ? (double)s->samples : 1.0;
  fprintf(stderr, "rlvr eval: setting %d/%d %s: accuracy %.4f, mean thinking tokens %.1f, mean tokens %.1f, waits %.2f/sample (%.1f s)\n",
          run + 1, c->n, label, s->pass1, (double)s->think_tokens / ns, (double)s->tokens / ns, (double)s->waits / ns, s->seconds);
}

/* The sweep: one evaluation per setting of the grid, then the record, the
 * table and the page in dir. */
static int run_sweep(rlvr_config *cfg, const rlvr_ttscale_axes *axes, const char *dir, rlvr_verify_pool *pool,
                     const cmd_policy *p, const rlvr_eval_dirs *dirs) {
  rlvr_eval_options base, *opts = NULL;
  int n = 0, rc = EXIT_OK;
  if (rlvr_eval_options_from_config(cfg, &base) != RLVR_OK || rlvr_ttscale_grid(axes, &base, &opts, &n) != RLVR_OK ||
      rlvr_mkdirs(dir) != RLVR_OK)
    return cmd_fail("eval", "%s", rlvr_error_message());
  FILE **files = calloc((size_t)n, sizeof *files);
  char **names = calloc((size_t)n, sizeof *names);
  rlvr_eval_summary *sums = calloc((size_t)n, sizeof *sums);
  for (int i = 0; i < n && rc == EXIT_OK; i++) {
    opts[i].curves = opts[i].samples > 1;
    names[i] = malloc(32);
    snprintf(names[i], 32, "samples-%02d.jsonl", i);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (!(files[i] = fopen(path, "w"))) rc = cmd_fail("eval", "cannot open %s for writing", path);
  }
  sweep_ctx ctx = {.opts = opts, .axes = axes, .n = n};
  if (rc == EXIT_OK && rlvr_eval_config_runs(cfg, dirs, &p->model, p->tok, p->eos, p->num_eos, pool, opts, n, files, sums,
                                             sweep_progress, &ctx) != RLVR_OK)
    rc = cmd_fail("eval", "%s", rlvr_error_message());
  for (int i = 0; i < n; i++)
    if (files[i] && fclose(files[i]) != 0 && rc == EXIT_OK) rc = cmd_fail("eval", "writing %s/%s failed", dir, names[i]);
  if (rc == EXIT_OK) {
    const rlvr_ttscale_info info = {.model = cfg->model_path, .task = cfg->task_source, .split = cfg->eval_split};
    char *json = rlvr_ttscale_json(&info, axes, opts, sums, (const char *const *)names, n);
    char *md = NULL, *html = NULL;
    if (rlvr_ttscale_markdown(json, &md) != RLVR_OK || rlvr_ttscale_html(json, &html) != RLVR_OK ||
        write_in(dir, "sweep.json", json) != RLVR_OK || write_in(dir, "sweep.md", md) != RLVR_OK ||
        write_in(dir, "sweep.html", html) != RLVR_OK)
      rc = cmd_fail("eval", "%s", rlvr_error_message());
    else
      fputs(md, stdout);
    free(json), free(md), free(html);
  }
  for (int i = 0; i < n; i++) {
    rlvr_eval_summary_clear(&sums[i]);
    free(names[i]);
  }
  free(files), free(names), free(sums), free(opts);
  return rc;
}

int cmd_eval(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0, sweeping = 0;
  const char *sweep_dir = NULL, *html_path = NULL;
  rlvr_ttscale_axes axes;
  memset(&axes, 0, sizeof axes);
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help)
    rc = cmd_apply_shorthands("eval", &cfg, rest, &nrest, shorthands, (int)(sizeof shorthands / sizeof shorthands[0]));
  for (int i = 0; rc == EXIT_OK && !help && i < nrest; i++) {
    const char *a = rest[i];
    const int has_value = i + 1 < nrest;
    if (!strcmp(a, "--budget")) {
      rc = rlvr_config_set(&cfg, "eval.budget=true") ? cmd_fail("eval", "%s", rlvr_error_message()) : EXIT_OK;
    } else if (!strcmp(a, "--budget-sweep") || !strcmp(a, "--waits")) {
      if (!has_value) {
        rc = cmd_usage_error("eval", "%s needs a value", a);
        break;
      }
      char spec[1024];
      snprintf(spec, sizeof spec, "%s%s", !strcmp(a, "--waits") ? "max_waits=" : "", rest[++i]);
      if (rlvr_ttscale_parse_axis(&axes, spec) != RLVR_OK) rc = cmd_fail("eval", "%s: %s", a, rlvr_error_message());
      sweeping = 1;
    } else if (!strcmp(a, "--sweep-dir") || !strcmp(a, "--html")) {
      if (!has_value) {
        rc = cmd_usage_error("eval", "%s needs a value", a);
        break;
      }
      if (!strcmp(a, "--html")) html_path = rest[++i];
      else sweep_dir = rest[++i];
    } else {
      rc = cmd_usage_error("eval", "unknown argument '%s'", a);
    }
  }
  free(rest);
  if (rc == EXIT_OK && !help && sweeping) {
    if (!sweep_dir) rc = cmd_usage_error("eval", "a budget sweep needs --sweep-dir DIR");
    else if (cfg.eval_output[0] || cfg.eval_summary[0] || html_path)
      rc = cmd_usage_error("eval", "a budget sweep writes its files in --sweep-dir; eval.output, eval.summary and --html do not apply");
    else if (rlvr_config_set(&cfg, "eval.budget=true") != RLVR_OK)
      rc = cmd_fail("eval", "%s", rlvr_error_message());
  } else if (rc == EXIT_OK && !help && sweep_dir) {
    rc = cmd_usage_error("eval", "--sweep-dir needs --budget-sweep or --waits");
  }
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
  eo.curves = eo.samples > 1;
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
  rlvr_eval_dirs dirs = {.tasks = RLVR_SOURCE_DIR "/tasks", .chat_templates = RLVR_SOURCE_DIR "/model/templates"};
  if (sweeping) {
    rc = run_sweep(&cfg, &axes, sweep_dir, pool, &p, &dirs);
    goto done_policy;
  }
  FILE *out = NULL;
  if (cfg.eval_output[0] && rlvr_mkdirs_parent(cfg.eval_output) != RLVR_OK) {
    rc = cmd_fail("eval", "eval.output: %s", rlvr_error_message());
    goto done_policy;
  }
  if (cfg.eval_output[0] && !(out = fopen(cfg.eval_output, "w"))) {
    rc = cmd_fail("eval", "eval.output: cannot open %s for writing", cfg.eval_output);
    goto done_policy;
  }
  rlvr_eval_summary s;
  if (rlvr_eval_config_runs(&cfg, &dirs, &p.model, p.tok, p.eos, p.num_eos, pool, &eo, 1, &out, &s, NULL, NULL) != RLVR_OK) {
    rc = cmd_fail("eval", "%s", rlvr_error_message());
  } else {
    char *json = rlvr_eval_summary_json(&eo, &s);
    puts(json);
    if (cfg.eval_summary[0] && (rlvr_mkdirs_parent(cfg.eval_summary) != RLVR_OK ||
                                rlvr_file_write_atomic(cfg.eval_summary, json, strlen(json)) != RLVR_OK))
      rc = cmd_fail("eval", "%s", rlvr_error_message());
    char *html = NULL;
    if (rc == EXIT_OK && html_path &&
        (rlvr_ttscale_html(json, &html) != RLVR_OK || rlvr_mkdirs_parent(html_path) != RLVR_OK ||
         rlvr_file_write_atomic(html_path, html, strlen(html)) != RLVR_OK))
      rc = cmd_fail("eval", "--html: %s", rlvr_error_message());
    free(html);
    free(json);
    rlvr_eval_summary_clear(&s);
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
