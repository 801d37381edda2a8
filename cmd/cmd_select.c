/* cmd_select.c — `rlvr select`: s1K-style data selection (tasks/select.h,
 * docs/select.md). Builds the pool and drops malformed and duplicate
 * records, drops prompts too long for the model, samples select.samples
 * completions of each survivor with the evaluation loop (rollout/eval.h) to
 * get its pass rate, drops the never and always solved (and those outside
 * the thresholds), and keeps select.n by round-robin over clusters.
 *
 * Pass counts come from the evaluation loop's per-sample lines: each
 * problem's id is its pool index, and every line says whether its sample was
 * correct. Problems are scored in runs of consecutive pool indices with
 * first_group_id = the run's first index, so a prompt's samples (their
 * seeds) depend on its place in the pool, not on what was dropped before it. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "rollout/cuda_source.h"
#include "rollout/eval.h"
#include "rollout/prompt.h"
#include "tasks/select.h"
#include "verifiers/pool.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

enum {
  CHUNK_PROBLEMS = 64, /* problems per evaluation call (its per-sample lines are held in memory) */
  MAX_SAMPLES = 1024,
};

static const char *usage =
    "usage: rlvr select [CONFIG.lua] [--set key=value ...] --model DIR --task FILE|NAME --output FILE [options]\n"
    "\n"
    "Picks select.n prompts from a pool (a JSONL dataset, or a generator's\n"
    "split): drops malformed, duplicate and over-long prompts, samples k\n"
    "completions of each of the rest with the model, drops those it never or\n"
    "always solves (and those outside [select.min_pass, select.max_pass]),\n"
    "and keeps N by round-robin over clusters (select.cluster_field, or a text\n"
    "feature). Writes the kept records as JSONL, each with a \"select\" object\n"
    "(rank, round, cluster, pass rate, reason), and prints a summary with the\n"
    "count of every drop reason (docs/select.md).\n"
    "\n"
    "  --model DIR          model directory (model.path)\n"
    "  --task NAME|FILE     generator name or JSONL dataset (task.source)\n"
    "  --n N                prompts to keep (select.n)\n"
    "  --pool N             records in the pool, from the start; 0 = all (select.pool)\n"
    "  --split S            generators: train (default) or heldout (select.split)\n"
    "  --samples K          completions per prompt (select.samples)\n"
    "  --temperature T      sampling temperature (select.temperature)\n"
    "  --max-tokens N       tokens per completion (eval.max_tokens)\n"
    "  --min-pass P         drop pass rates below P (select.min_pass)\n"
    "  --max-pass P         drop pass rates above P (select.max_pass)\n"
    "  --cluster-field F    record field(s) naming the cluster (select.cluster_field)\n"
    "  --output FILE        the kept records (select.output)\n"
    "  --summary FILE       the summary JSON, written atomically (select.summary)\n"
    "  --dropped FILE       every dropped record with its reason (select.dropped)\n"
    "  --pass-rates FILE    every scored prompt's pass rate (select.pass_rates)\n"
    "  --rates-from FILE    pass rates from an earlier --pass-rates file, no sampling (select.rates_from)\n"
    "\n"
    "Each option is a shorthand for --set of the key in parentheses; task.*,\n"
    "eval.top_k/top_p/stop/batch, verify.*, run.seed, sample.seed and\n"
    "rollout.slots apply as elsewhere.\n";

static const cmd_shorthand shorthands[] = {
    {"--model", "model.path"},          {"--task", "task.source"},
    {"--n", "select.n"},                {"--pool", "select.pool"},
    {"--split", "select.split"},        {"--samples", "select.samples"},
    {"--temperature", "select.temperature"}, {"--max-tokens", "eval.max_tokens"},
    {"--min-pass", "select.min_pass"},  {"--max-pass", "select.max_pass"},
    {"--cluster-field", "select.cluster_field"}, {"--output", "select.output"},
    {"--summary", "select.summary"},    {"--dropped", "select.dropped"},
    {"--pass-rates", "select.pass_rates"}, {"--rates-from", "select.rates_from"},
};

/* The select.* values that are checked before any work. */
static int check_keys(const rlvr_config *c) {
  if (c->select_n < 1) return rlvr_error(RLVR_ERR_CONFIG, "select.n must be >= 1, is %lld", (long long)c->select_n);
  if (c->select_samples < 1 || c->select_samples > MAX_SAMPLES)
    return rlvr_error(RLVR_ERR_CONFIG, "select.samples must be in 1..%d, is %lld", MAX_SAMPLES, (long long)c->select_samples);
  if (!(c->select_min_pass >= 0 && c->select_min_pass <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "select.min_pass must be in [0, 1], is %g", c->select_min_pass);
  if (!(c->select_max_pass >= c->select_min_pass && c->select_max_pass <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "select.max_pass must be in [select.min_pass, 1], is %g", c->select_max_pass);
  if (!(c->select_target >= 0 && c->select_target <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "select.target must be in [0, 1], is %g", c->select_target);
  if (c->select_max_prompt_tokens < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "select.max_prompt_tokens must be >= 0, is %lld", (long long)c->select_max_prompt_tokens);
  if (!(c->select_temperature >= 0))
    return rlvr_error(RLVR_ERR_CONFIG, "select.temperature must be >= 0, is %g", c->select_temperature);
  if (c->rollout_slots < 1 || c->rollout_slots > 1024)
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.slots must be in 1..1024, is %lld", (long long)c->rollout_slots);
  return RLVR_OK;
}

/* Renders each surviving prompt; drops those over the token limit or that
 * leave no room for max_tokens. ids[i] / nids[i] are set for the survivors.
 * *max_prompt gets the longest survivor. */
static void measure_prompts(const rlvr_config *cfg, const rlvr_prompt_renderer *pr, const rlvr_model *m,
                            int max_tokens, rlvr_select_pool *p, char **texts, int32_t **ids, int *max_prompt) {
  const int64_t cap = cfg->select_max_prompt_tokens;
  const int room = m->cfg.max_position - max_tokens;
  *max_prompt = 1;
  for (size_t i = 0; i < p->n; i++) {
    rlvr_select_record *r = &p->recs[i];
    if (r->reason != RLVR_SELECT_KEPT) continue;
    size_t n = 0;
    if (rlvr_prompt_render(pr, r->item.prompt, &texts[i], &ids[i], &n) != RLVR_OK) {
      r->reason = RLVR_SELECT_BAD_RECORD;
      r->detail = xstrdup(rlvr_error_message());
      continue;
    }
    r->prompt_tokens = (int)n;
    char why[256] = "";
    if (cap > 0 && (int64_t)n > cap)
      snprintf(why, sizeof why, "%zu prompt tokens > select.max_prompt_tokens %lld", n, (long long)cap);
    else if ((int64_t)n > room)
      snprintf(why, sizeof why, "%zu prompt tokens + %d completion tokens > the model's %d positions", n, max_tokens,
               m->cfg.max_position);
    if (why[0]) {
      r->reason = RLVR_SELECT_PROMPT_TOO_LONG;
      r->detail = xstrdup(why);
      free(texts[i]), free(ids[i]);
      texts[i] = NULL, ids[i] = NULL;
    } else if ((int)n > *max_prompt) {
      *max_prompt = (int)n;
    }
  }
}

/* Reads the evaluation loop's per-sample lines (len bytes) into the
 * records' correct/samples counts; ids are pool indices. */
static int count_samples(const char *text, size_t len, rlvr_select_pool *p) {
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    cJSON *j = cJSON_ParseWithLength(text + pos, end - pos);
    pos = end + 1;
    const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
    const cJSON *ok = j ? cJSON_GetObjectItemCaseSensitive(j, "correct") : NULL;
    char *stop = NULL;
    unsigned long long idx = id && cJSON_IsString(id) ? strtoull(id->valuestring, &stop, 10) : 0;
    if (!id || !cJSON_IsString(id) || *stop || idx >= p->n || !cJSON_IsBool(ok)) {
      cJSON_Delete(j);
      return rlvr_error(RLVR_ERR_FORMAT, "select: a per-sample line of the evaluation loop lacks id or correct");
    }
    p->recs[idx].samples++;
    p->recs[idx].correct += cJSON_IsTrue(ok);
    cJSON_Delete(j);
  }
  return RLVR_OK;
}

/* Stage 2: k samples of every surviving prompt. */
static int score_pool(const rlvr_config *cfg, const cmd_policy *pol, rlvr_verify_pool *vpool,
                      const rlvr_eval_options *eo, int max_prompt, rlvr_select_pool *p, char **texts, int32_t **ids,
                      rlvr_eval_summary *total) {
  memset(total, 0, sizeof *total);
  int cuda = 0, rc;
  rlvr_policy_source ps; /* rollout.device */
  if ((rc = rlvr_rollout_device_from_config(cfg, &cuda)) ||
      (rc = rlvr_policy_source_build(&ps, &pol->model, cuda, cfg->rollout_dtype, (int)cfg->rollout_slots,
                                     max_prompt + eo->params.max_tokens)))
    return rc;
  rlvr_engine *e = rlvr_engine_build(ps.src, pol->tok, pol->eos, pol->num_eos, cfg->rollout_share_prefill);
  rlvr_eval_problem *probs = xcalloc(CHUNK_PROBLEMS, sizeof *probs);
  char (*names)[24] = xcalloc(CHUNK_PROBLEMS, sizeof *names);
  for (size_t i = 0; i < p->n && !rc;) {
    if (p->recs[i].reason != RLVR_SELECT_KEPT) {
      i++;
      continue;
    }
    /* A run of consecutive pool indices: problem j is group first + j. */
    const size_t first = i;
    int np = 0;
    while (i < p->n && np < CHUNK_PROBLEMS && p->recs[i].reason == RLVR_SELECT_KEPT) {
      const rlvr_task_item *it = &p->recs[i].item;
      snprintf(names[np], sizeof names[np], "%zu", i);
      probs[np] = (rlvr_eval_problem){.id = names[np], .prompt_text = texts[i], .prompt = ids[i],
                                      .nprompt = p->recs[i].prompt_tokens, .verifier = it->verifier,
                                      .reference = it->reference, .reference_json = it->reference_json,
                                      .meta = it->meta};
      np++, i++;
    }
    rlvr_eval_options o = *eo;
    o.first_group_id = first;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    RLVR_CHECK(mem != NULL, "open_memstream failed");
    rlvr_eval_summary s;
    rc = rlvr_eval_run(e, pol->tok, vpool, &o, probs, np, mem, &s);
    fclose(mem);
    if (!rc) rc = count_samples(buf, len, p);
    free(buf);
    total->problems += s.problems;
    total->samples += s.samples;
    total->correct += s.correct;
    total->wrong_format += s.wrong_format;
    total->infra_failures += s.infra_failures;
    total->tokens += s.tokens;
    total->generate_s += s.generate_s;
    total->verify_s += s.verify_s;
  }
  fprintf(stderr, "rlvr select: scored %lld prompts x %d samples (%.1f s generating, %.1f s verifying)\n",
          (long long)total->problems, eo->samples, total->generate_s, total->verify_s);
  free(probs);
  free(names);
  rlvr_engine_free(e);
  rlvr_policy_source_free(&ps);
  return rc;
}

/* Writes f's content through fn to path (atomically). */
static int write_file(const char *path, const char *what, int (*fn)(const rlvr_select_pool *, FILE *),
                      const rlvr_select_pool *p) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  RLVR_CHECK(mem != NULL, "open_memstream failed");
  int rc = fn(p, mem);
  fclose(mem);
  if (!rc) rc = rlvr_mkdirs_parent(path);
  if (!rc) rc = rlvr_file_write_atomic(path, buf, len);
  free(buf);
  return rc ? rlvr_error_wrap(rc, "%s", what) : RLVR_OK;
}

static int write_kept(const char *path, const rlvr_select_pool *p, const size_t *order, size_t n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  RLVR_CHECK(mem != NULL, "open_memstream failed");
  int rc = rlvr_select_write_kept(p, order, n, mem);
  fclose(mem);
  if (!rc) rc = rlvr_mkdirs_parent(path);
  if (!rc) rc = rlvr_file_write_atomic(path, buf, len);
  free(buf);
  return rc ? rlvr_error_wrap(rc, "select.output") : RLVR_OK;
}

/* The summary's run settings and sampling totals, as JSON text. */
static char *summary_extra(const rlvr_config *cfg, const rlvr_eval_options *eo, const rlvr_eval_summary *s) {
  cJSON *j = cJSON_CreateObject();
  cJSON *t = cJSON_AddObjectToObject(j, "thresholds");
  cJSON_AddNumberToObject(t, "min_pass", cfg->select_min_pass);
  cJSON_AddNumberToObject(t, "max_pass", cfg->select_max_pass);
  cJSON_AddBoolToObject(t, "keep_unsolved", cfg->select_keep_unsolved);
  cJSON_AddBoolToObject(t, "keep_solved", cfg->select_keep_solved);
  cJSON_AddNumberToObject(t, "max_prompt_tokens", (double)cfg->select_max_prompt_tokens);
  cJSON_AddNumberToObject(j, "target", cfg->select_target);
  cJSON *smp = cJSON_AddObjectToObject(j, "sampling");
  cJSON_AddNumberToObject(smp, "samples_per_prompt", eo->samples);
  cJSON_AddNumberToObject(smp, "temperature", eo->params.temperature);
  cJSON_AddNumberToObject(smp, "top_k", eo->params.top_k);
  cJSON_AddNumberToObject(smp, "top_p", eo->params.top_p);
  cJSON_AddNumberToObject(smp, "max_tokens", eo->params.max_tokens);
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)eo->params.seed);
  cJSON_AddStringToObject(smp, "seed", seed);
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->run_seed);
  cJSON_AddStringToObject(j, "tie_seed", seed);
  if (cfg->select_rates_from[0]) cJSON_AddStringToObject(smp, "rates_from", cfg->select_rates_from);
  cJSON_AddNumberToObject(smp, "prompts_scored", (double)s->problems);
  cJSON_AddNumberToObject(smp, "samples", (double)s->samples);
  cJSON_AddNumberToObject(smp, "correct", (double)s->correct);
  cJSON_AddNumberToObject(smp, "wrong_format", (double)s->wrong_format);
  cJSON_AddNumberToObject(smp, "infra_failures", (double)s->infra_failures);
  cJSON_AddNumberToObject(smp, "tokens", (double)s->tokens);
  cJSON_AddNumberToObject(smp, "generate_s", s->generate_s);
  cJSON_AddNumberToObject(smp, "verify_s", s->verify_s);
  char *text = rlvr_json_print(j, 0);
  cJSON_Delete(j);
  return text;
}

int cmd_select(int argc, char **argv) {
  rlvr_config cfg;
  int done;
  int rc = cmd_parse_simple("select", argc, argv, &cfg, shorthands, (int)(sizeof shorthands / sizeof shorthands[0]), usage,
                            &done);
  if (done) return rc;
  if (!cfg.model_path[0]) {
    rlvr_config_free(&cfg);
    return cmd_usage_error("select", "no model: give --model DIR (or set model.path)");
  }
  if (!cfg.select_output[0]) {
    rlvr_config_free(&cfg);
    return cmd_usage_error("select", "no output: give --output FILE (or set select.output)");
  }
  if ((rc = cmd_apply_runtime("select", &cfg)) != EXIT_OK) goto done_cfg;
  rlvr_eval_options eo;
  rlvr_verify_options vo;
  if (check_keys(&cfg) != RLVR_OK || rlvr_eval_options_from_config(&cfg, &eo) != RLVR_OK ||
      rlvr_verify_options_from_config(&vo, &cfg, RLVR_SOURCE_DIR "/verifiers") != RLVR_OK) {
    rc = cmd_fail("select", "%s", rlvr_error_message());
    goto done_cfg;
  }
  eo.samples = (int)cfg.select_samples;
  eo.npass_k = 1;
  eo.pass_k[0] = 1;
  eo.params.temperature = (float)cfg.select_temperature;
  if (eo.samples > 1 && eo.params.temperature == 0.0f)
    fprintf(stderr, "rlvr select: note: select.samples %d at temperature 0: every pass rate is 0 or 1 (greedy)\n", eo.samples);
  /* The verifier pool forks: before anything else holds threads or much memory. */
  rlvr_verify_pool *vpool = NULL;
  if (rlvr_pool_build(&vpool, &vo) != RLVR_OK) {
    rc = cmd_fail("select", "%s", rlvr_error_message());
    goto done_cfg;
  }
  rlvr_select_pool p = {0};
  if (rlvr_select_pool_build(&cfg, RLVR_SOURCE_DIR "/tasks", &p) != RLVR_OK) {
    rc = cmd_fail("select", "%s", rlvr_error_message());
    goto done_vpool;
  }
  if ((uint64_t)cfg.select_n > p.n) {
    rc = cmd_fail("select", "select.n = %lld is larger than the pool: %s has %zu records%s", (long long)cfg.select_n,
                  p.name, p.n, cfg.select_pool > 0 ? " (select.pool)" : "");
    goto done_sel;
  }
  cmd_policy pol;
  if ((rc = cmd_policy_load("select", cfg.model_path, &pol)) != EXIT_OK) goto done_sel;
  if (eo.params.max_tokens >= pol.model.cfg.max_position) {
    rc = cmd_fail("select", "eval.max_tokens (or sample.max_tokens) %d leaves no room for a prompt in the model's %d positions",
                  eo.params.max_tokens, pol.model.cfg.max_position);
    goto done_policy;
  }
  rlvr_prompt_renderer pr;
  if (rlvr_prompt_renderer_build(&pr, cfg.task_template, RLVR_SOURCE_DIR "/tasks", cfg.generate_template,
                                 RLVR_SOURCE_DIR "/model/templates", pol.tok) != RLVR_OK) {
    rc = cmd_fail("select", "%s", rlvr_error_message());
    goto done_policy;
  }
  char **texts = xcalloc(p.n ? p.n : 1, sizeof *texts);
  int32_t **ids = xcalloc(p.n ? p.n : 1, sizeof *ids);
  int max_prompt = 1;
  measure_prompts(&cfg, &pr, &pol.model, eo.params.max_tokens, &p, texts, ids, &max_prompt);
  rlvr_eval_summary total;
  memset(&total, 0, sizeof total);
  if (cfg.select_rates_from[0] ? rlvr_select_read_pass_rates(cfg.select_rates_from, &p) != RLVR_OK
                               : score_pool(&cfg, &pol, vpool, &eo, max_prompt, &p, texts, ids, &total) != RLVR_OK) {
    rc = cmd_fail("select", "%s", rlvr_error_message());
  } else {
    const rlvr_select_thresholds th = {cfg.select_min_pass, cfg.select_max_pass, cfg.select_keep_unsolved,
                                       cfg.select_keep_solved};
    rlvr_select_apply_pass_rates(p.recs, p.n, &th);
    size_t *order = NULL;
    const size_t kept = rlvr_select_round_robin(p.recs, p.n, (size_t)cfg.select_n, cfg.select_target,
                                                (uint64_t)cfg.run_seed, &order);
    char *extra = summary_extra(&cfg, &eo, &total);
    char *json = rlvr_select_summary_json(&p, (size_t)cfg.select_n, extra);
    if (write_kept(cfg.select_output, &p, order, kept) != RLVR_OK ||
        (cfg.select_dropped[0] && write_file(cfg.select_dropped, "select.dropped", rlvr_select_write_dropped, &p)) ||
        (cfg.select_pass_rates[0] && write_file(cfg.select_pass_rates, "select.pass_rates", rlvr_select_write_pass_rates, &p)) ||
        (cfg.select_summary[0] && (rlvr_mkdirs_parent(cfg.select_summary) != RLVR_OK ||
                                   rlvr_file_write_atomic(cfg.select_summary, json, strlen(json)) != RLVR_OK))) {
      rc = cmd_fail("select", "%s", rlvr_error_message());
    } else {
      puts(json);
      if (kept < (size_t)cfg.select_n)
        fprintf(stderr, "rlvr select: note: only %zu of the %lld prompts asked for are eligible (summary: dropped)\n",
                kept, (long long)cfg.select_n);
    }
    free(json);
    free(extra);
    free(order);
  }
  for (size_t i = 0; i < p.n; i++) free(texts[i]), free(ids[i]);
  free(texts);
  free(ids);
  rlvr_prompt_renderer_free(&pr);
done_policy:
  cmd_policy_free(&pol);
done_sel:
  rlvr_select_pool_free(&p);
done_vpool:
  rlvr_pool_free(vpool);
done_cfg:
  rlvr_config_free(&cfg);
  return rc;
}
