/* bench_step.c — seconds per GRPO step by phase; see bench_step.h.
 *
 * Each metrics.jsonl line is one optimizer step with a `timing` object
 * (docs/metrics.md): wait_s is the time spent waiting for the batch (the
 * workers generating and verifying), learn_s recomputing log-probs, the loss,
 * backward and the optimizer, sync_s publishing the weights, and step_s their
 * sum. What the learner does after publishing (writing metrics and samples,
 * checkpoints) falls outside step_s but inside elapsed_s, the run's wall
 * clock, so a step's whole wall time is the growth of elapsed_s since the
 * previous line, and "other" is that less step_s. A step whose previous line
 * is missing (the first, or one after a gap) counts step_s as its wall time. The workers' own generate and verify seconds are summed over
 * the batch's samples, which run in parallel, so they are reported per step
 * and per sample rather than as shares of the step. */
#include "cmd/bench_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd/cmd.h"
#include "core/check.h"
#include "core/error.h"
#include "core/file.h"

enum { PH_STEP, PH_WAIT, PH_LEARN, PH_SYNC, PH_OTHER, PH_GEN, PH_VERIFY, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"step (wall)", "wait (generate + verify)", "learn", "sync",
                                                  "other (metrics, samples, checkpoints)",
                                                   "worker generate (sum over samples)",
                                                   "worker verify (sum over samples)"};
static const char *const phase_keys[PH_COUNT] = {"wall_s", "wait_s", "learn_s", "sync_s", "other_s",
                                                 "worker_generate_s", "worker_verify_s"};

typedef struct {
  double *v[PH_COUNT];
  double samples, tokens; /* totals over the kept steps */
  int n, cap;
} step_table;

static void table_push(step_table *t, const double *row, double samples, double tokens) {
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 64;
    for (int p = 0; p < PH_COUNT; p++) t->v[p] = xrealloc(t->v[p], sizeof(double) * (size_t)t->cap);
  }
  for (int p = 0; p < PH_COUNT; p++) t->v[p][t->n] = row[p];
  t->samples += samples;
  t->tokens += tokens;
  t->n++;
}

static int read_number(const cJSON *obj, const char *key, const char *path, int line, double *out) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 0)
    return rlvr_error(RLVR_ERR_FORMAT, "%s:%d: '%s' is missing or not a non-negative number", path, line, key);
  *out = x->valuedouble;
  return RLVR_OK;
}

/* Appends the steps of RUN/metrics.jsonl after the first `skip` to t. */
static int read_run(const char *run, int skip, step_table *t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  const int n0 = t->n;
  int line = 0, have_prev = 0;
  double prev_step = 0, prev_elapsed = 0;
  for (size_t pos = 0; pos < len && !rc;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    const size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    line++;
    if (n > 0) {
      cJSON *o = cJSON_ParseWithLength(text + pos, n);
      const cJSON *timing = o ? cJSON_GetObjectItemCaseSensitive(o, "timing") : NULL;
      double row[PH_COUNT], step = 0, samples = 0, tokens = 0, step_s = 0, elapsed = 0;
      if (!o) rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%d: not a JSON object", path, line);
      else if (!cJSON_IsObject(timing)) rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%d: no 'timing' object", path, line);
      if (!rc) rc = read_number(o, "step", path, line, &step);
      if (!rc) rc = read_number(o, "samples", path, line, &samples);
      if (!rc) rc = read_number(o, "completion_tokens", path, line, &tokens);
      if (!rc) rc = read_number(timing, "step_s", path, line, &step_s);
      if (!rc) rc = read_number(timing, "elapsed_s", path, line, &elapsed);
      for (int p = PH_WAIT; p < PH_COUNT && !rc; p++)
        if (p != PH_OTHER) rc = read_number(timing, phase_keys[p], path, line, &row[p]);
      if (!rc && step > skip) {
        const double wall = have_prev && step == prev_step + 1 && elapsed - prev_elapsed >= step_s
                                ? elapsed - prev_elapsed
                                : step_s;
        const double other = wall - row[PH_WAIT] - row[PH_LEARN] - row[PH_SYNC];
        row[PH_STEP] = wall;
        row[PH_OTHER] = other > 0 ? other : 0;
        table_push(t, row, samples, tokens);
      }
      if (!rc) have_prev = 1, prev_step = step, prev_elapsed = elapsed;
      cJSON_Delete(o);
    }
    pos += n + 1;
  }
  free(text);
  if (!rc && t->n == n0) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: no steps after the first %d", path, skip);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  const double at = q * (n - 1);
  const int lo = (int)at;
  return lo + 1 < n ? v[lo] + (at - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlvr bench step [--skip N] [--json] RUN_DIR...\n\n"
          "Seconds per GRPO step by phase, from each RUN_DIR/metrics.jsonl written by\n"
          "`rlvr train` (pooled over the runs): wait (the workers generating and\n"
          "verifying, as the learner waits for them), learn (log-probs, loss, backward,\n"
          "AdamW), sync (publishing the weights), other (writing metrics and samples,\n"
          "checkpoints: the rest of the step's wall time, from timing.elapsed_s).\n"
          "  --skip N   leave out each run's first N steps (default 1: process start-up)\n"
          "  --json     one JSON object instead of a markdown table\n"
          "bench/grpo_step.sh runs the default run's GRPO steps and then this.\n");
}

int cmd_bench_step(int argc, char **argv) {
  int skip = 1, json = 0, first_run = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout), EXIT_OK;
    if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "--skip") && i + 1 < argc) {
      char *end;
      const long v = strtol(argv[++i], &end, 10);
      if (*end || v < 0 || v > 1000000) return cmd_usage_error("bench step", "--skip: '%s' is not a step count", argv[i]);
      skip = (int)v;
    } else if (argv[i][0] == '-') {
      return cmd_usage_error("bench step", "unknown option '%s'", argv[i]);
    } else {
      first_run = i;
      break;
    }
  }
  if (!first_run) return usage(stderr), EXIT_USAGE;
  for (int i = first_run; i < argc; i++)
    if (argv[i][0] == '-') return cmd_usage_error("bench step", "options go before the run directories ('%s')", argv[i]);

  step_table t = {0};
  int rc = RLVR_OK;
  for (int i = first_run; i < argc && !rc; i++) {
    rc = read_run(argv[i], skip, &t);
  }
  if (rc) {
    for (int p = 0; p < PH_COUNT; p++) free(t.v[p]);
    return cmd_fail("bench step", "%s", rlvr_error_message());
  }

  double mean[PH_COUNT], median[PH_COUNT], p90[PH_COUNT];
  for (int p = 0; p < PH_COUNT; p++) {
    double s = 0;
    for (int k = 0; k < t.n; k++) s += t.v[p][k];
    mean[p] = s / t.n;
    median[p] = quantile(t.v[p], t.n, 0.5);
    p90[p] = quantile(t.v[p], t.n, 0.9);
  }
  const double samples_per_step = t.samples / t.n, tokens_per_step = t.tokens / t.n;
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "steps", t.n);
    cJSON_AddNumberToObject(o, "runs", argc - first_run);
    cJSON_AddNumberToObject(o, "samples_per_step", samples_per_step);
    cJSON_AddNumberToObject(o, "completion_tokens_per_step", tokens_per_step);
    for (int p = 0; p < PH_COUNT; p++) {
      cJSON *ph = cJSON_AddObjectToObject(o, phase_keys[p]);
      cJSON_AddNumberToObject(ph, "mean", mean[p]);
      cJSON_AddNumberToObject(ph, "median", median[p]);
      cJSON_AddNumberToObject(ph, "p90", p90[p]);
    }
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
  } else {
    printf("%d steps from %d run(s), first %d of each left out; %.0f samples and %.0f completion tokens per step\n\n",
           t.n, argc - first_run, skip, samples_per_step, tokens_per_step);
    printf("| phase | median s | mean s | p90 s | share of step (mean) |\n|---|---|---|---|---|\n");
    for (int p = 0; p < PH_COUNT; p++) {
      if (p < PH_GEN)
        printf("| %s | %.3f | %.3f | %.3f | %.1f%% |\n", phase_names[p], median[p], mean[p], p90[p],
               100.0 * mean[p] / mean[PH_STEP]);
      else
        printf("| %s | %.3f | %.3f | %.3f | %.2f ms per sample |\n", phase_names[p], median[p], mean[p], p90[p],
               1000.0 * mean[p] / samples_per_step);
    }
    printf("\ncompletion tokens per second of step time (mean): %.0f\n", tokens_per_step / mean[PH_STEP]);
  }
  for (int p = 0; p < PH_COUNT; p++) free(t.v[p]);
  return EXIT_OK;
}
