/* bench_verify_math.c — math verifications per second on one core.
 *
 *   bench_verify_math [--pairs FILE.jsonl] [--seconds S] [--json]
 *
 * Two figures on the same (completion, reference) pairs, one thread:
 *   core: rlvr_mq_verify, the C work (extraction, parsing, comparison);
 *   host: rlvr_host_verify with verifiers/math.lua in the sandbox, i.e. what a
 *         rollout worker pays per item (Lua call, details table, JSON details).
 * Without --pairs it uses a built-in set of typical short answers
 * ("\boxed{\frac{1}{2}}" against "0.5" and the like). FILE has one JSON object
 * per line with string fields "completion" and "reference"; bench/
 * mathverify_bench.py writes such a file and times Math-Verify on the same
 * pairs, side by side. Run from the source root (scripts are found in
 * verifiers/). --json prints one summary line for scripts. Rates are items per
 * second of this thread's CPU time, so other load on the machine does not
 * change them. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/file.h"
#include "verifiers/host.h"
#include "verifiers/mathlib_equiv.h"

typedef struct {
  char *completion, *reference;
  size_t clen, rlen;
} pair;

static const char *builtin[][2] = {
    {"So the answer is $\\boxed{\\frac{1}{2}}$.", "0.5"},
    {"Therefore the final answer is $\\boxed{0.5}$.", "\\frac{1}{2}"},
    {"Thus $\\boxed{42}$", "42"},
    {"The answer is $\\boxed{\\dfrac{3}{4}}$.", "\\frac34"},
    {"So $x = \\boxed{-7}$.", "-7"},
    {"Hence \\boxed{2\\sqrt{3}}.", "\\sqrt{12}"},
    {"The answer is $\\boxed{1,000}$.", "1000"},
    {"We get $\\boxed{\\frac{5}{6}}$", "\\frac{10}{12}"},
    {"Final: \\boxed{3\\frac{1}{2}}", "\\frac72"},
    {"So \\boxed{25\\%}", "25"},
    {"\\boxed{\\pi}", "\\pi"},
    {"answer: \\boxed{12}", "13"},
    {"\\boxed{0.25}", "\\frac{1}{4}"},
    {"\\boxed{17}", "17"},
    {"so $\\boxed{-\\frac{2}{3}}$", "-\\frac{2}{3}"},
    {"\\boxed{100}", "10^2"},
};

/* CPU time of this thread: "per core" even when the machine is shared. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int load_pairs(const char *path, pair **out, size_t *n) {
  char *text;
  size_t len;
  int err = rlvr_file_read(path, &text, &len);
  if (err) return err;
  size_t cap = 1024, k = 0;
  pair *p = malloc(cap * sizeof *p);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *j = cJSON_Parse(line);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completion");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reference");
    if (cJSON_IsString(c) && cJSON_IsString(r)) {
      if (k == cap) p = realloc(p, (cap *= 2) * sizeof *p);
      p[k].completion = strdup(c->valuestring);
      p[k].reference = strdup(r->valuestring);
      p[k].clen = strlen(p[k].completion);
      p[k].rlen = strlen(p[k].reference);
      k++;
    }
    cJSON_Delete(j);
  }
  free(text);
  *out = p;
  *n = k;
  return k ? RLVR_OK : rlvr_error(RLVR_ERR_FORMAT, "%s: no pairs with string completion and reference", path);
}

int main(int argc, char **argv) {
  const char *path = NULL;
  double seconds = 2.0;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--pairs") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else {
      fprintf(stderr, "usage: bench_verify_math [--pairs FILE.jsonl] [--seconds S] [--json]\n");
      return 2;
    }
  }
  pair *pairs;
  size_t n;
  if (path) {
    if (load_pairs(path, &pairs, &n)) {
      fprintf(stderr, "bench_verify_math: %s\n", rlvr_error_message());
      return 1;
    }
  } else {
    n = sizeof builtin / sizeof builtin[0];
    pairs = malloc(n * sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
      pairs[i].completion = strdup(builtin[i][0]);
      pairs[i].reference = strdup(builtin[i][1]);
      pairs[i].clen = strlen(pairs[i].completion);
      pairs[i].rlen = strlen(pairs[i].reference);
    }
  }

  /* core: the C path alone */
  rlvr_mctx m;
  rlvr_mctx_init(&m, 64u << 20, 1 << 17);
  double score_core = 0;
  long iters = 0;
  double t0 = now(), t1;
  do {
    for (size_t i = 0; i < n; i++) {
      rlvr_mctx_reset(&m);
      rlvr_mq_verdict v;
      rlvr_mq_verify(&m, pairs[i].completion, pairs[i].clen, pairs[i].reference, pairs[i].rlen, NULL, NULL, &v);
      score_core += v.score;
    }
    iters += (long)n;
    t1 = now();
  } while (t1 - t0 < seconds);
  double core_rate = iters / (t1 - t0);
  rlvr_mctx_free(&m);

  /* host: math.lua in the sandbox, in this process */
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, "verifiers");
  o.workers = 0;
  rlvr_verify_host *h = rlvr_host_build(&o);
  double score_host = 0;
  long hiters = 0, errors = 0;
  t0 = now();
  do {
    for (size_t i = 0; i < n; i++) {
      rlvr_verify_item it = {"math", pairs[i].completion, pairs[i].clen, pairs[i].reference, pairs[i].rlen, 0, NULL, 0};
      rlvr_verify_result r;
      rlvr_host_verify(h, &it, &r);
      if (!rlvr_verify_status_is_scored(r.status)) {
        if (!errors) fprintf(stderr, "bench_verify_math: %s: %s\n", rlvr_verify_status_name(r.status), r.details);
        errors++;
      }
      score_host += r.score;
      rlvr_verify_result_clear(&r);
    }
    hiters += (long)n;
    t1 = now();
  } while (t1 - t0 < seconds);
  double host_rate = hiters / (t1 - t0);
  rlvr_host_free(h);

  double mean_core = score_core / iters, mean_host = score_host / hiters;
  if (json) {
    printf("{\"pairs\": %zu, \"core_per_s\": %.0f, \"host_per_s\": %.0f, \"mean_score_core\": %.4f, "
           "\"mean_score_host\": %.4f, \"host_errors\": %ld}\n",
           n, core_rate, host_rate, mean_core, mean_host, errors);
  } else {
    printf("math verifications per second, one core, %zu distinct pairs:\n", n);
    printf("  core (C: extract + parse + compare): %10.0f /s  (%.2f us each)\n", core_rate, 1e6 / core_rate);
    printf("  host (math.lua in the sandbox):      %10.0f /s  (%.2f us each)\n", host_rate, 1e6 / host_rate);
    printf("  mean score %.4f (core) %.4f (host); host errors %ld\n", mean_core, mean_host, errors);
  }
  for (size_t i = 0; i < n; i++) free(pairs[i].completion), free(pairs[i].reference);
  free(pairs);
  return errors ? 1 : 0;
}
