/* bench_verify.c — see bench_verify.h. */
#include "verifiers/bench_verify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "verifiers/pool.h"

static const char *usage =
    "usage: rlvr bench verify [--verifier NAME] [--input PAIRS.jsonl] [--workers N] [--seconds S]\n"
    "                         [--paths DIRS] [--no-null]\n"
    "\n"
    "Verifications per second of NAME (default: exact, a toy exact-match script) on\n"
    "the pairs in PAIRS.jsonl (lines with completion and reference, as for\n"
    "`rlvr verify`; default: 20000 synthetic short numeric answers), in-process on\n"
    "one core and through the pool with 1 and N workers (default: online CPUs).\n"
    "Next to it, the null verifier on the same pairs: the host's and the pool's own\n"
    "cost per item. Each figure is the best of repeated passes over at least S\n"
    "seconds (default 2).\n";

typedef struct {
  rlvr_verify_item *items;
  size_t n;
  cJSON **docs;
  char **owned;
  size_t nowned;
} pairs;

static void pairs_free(pairs *p) {
  for (size_t i = 0; i < p->n; i++) cJSON_Delete(p->docs ? p->docs[i] : NULL);
  for (size_t i = 0; i < p->nowned; i++) free(p->owned[i]);
  free(p->docs);
  free(p->owned);
  free(p->items);
  memset(p, 0, sizeof *p);
}

static int load_pairs(pairs *p, const char *path) {
  char *text = NULL;
  size_t len = 0;
  if (rlvr_file_read(path, &text, &len) != RLVR_OK) return RLVR_ERR_IO;
  size_t cap = 1024;
  p->items = xcalloc(cap, sizeof *p->items);
  p->docs = xcalloc(cap, sizeof *p->docs);
  p->owned = xcalloc(cap, sizeof *p->owned);
  int line = 0;
  for (char *s = text; s && *s;) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    line++;
    char *cur = s;
    s = nl ? nl + 1 : NULL;
    while (*cur == ' ' || *cur == '\t') cur++;
    if (!*cur || *cur == '#') continue;
    cJSON *j = cJSON_Parse(cur);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completion");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reference");
    if (!cJSON_IsString(c)) {
      cJSON_Delete(j);
      free(text);
      return rlvr_error(RLVR_ERR_FORMAT, "%s:%d: needs a string 'completion'", path, line);
    }
    if (p->n == cap) {
      cap *= 2;
      p->items = xrealloc(p->items, cap * sizeof *p->items);
      p->docs = xrealloc(p->docs, cap * sizeof *p->docs);
      p->owned = xrealloc(p->owned, cap * sizeof *p->owned);
    }
    rlvr_verify_item *it = &p->items[p->n];
    memset(it, 0, sizeof *it);
    p->docs[p->n] = j;
    it->completion = c->valuestring;
    it->completion_len = strlen(c->valuestring);
    if (cJSON_IsString(r)) {
      it->reference = r->valuestring;
      it->reference_len = strlen(r->valuestring);
    } else if (r && !cJSON_IsNull(r)) {
      char *ref = cJSON_PrintUnformatted(r);
      p->owned[p->nowned++] = ref;
      it->reference = ref;
      it->reference_len = strlen(ref);
      it->reference_json = 1;
    }
    p->n++;
  }
  free(text);
  if (!p->n) return rlvr_error(RLVR_ERR_FORMAT, "%s: no pairs", path);
  return RLVR_OK;
}

/* Short numeric answers, 3 in 4 right. */
static void synthetic_pairs(pairs *p, size_t n) {
  p->items = xcalloc(n, sizeof *p->items);
  p->owned = xcalloc(2 * n, sizeof *p->owned);
  for (size_t i = 0; i < n; i++) {
    char c[32], r[32];
    snprintf(c, sizeof c, "%zu", i * 7919 % 100000);
    snprintf(r, sizeof r, "%zu", (i % 4 ? i * 7919 : i * 7919 + 1) % 100000);
    p->owned[p->nowned++] = xstrdup(c);
    p->owned[p->nowned++] = xstrdup(r);
    rlvr_verify_item *it = &p->items[p->n++];
    it->completion = p->owned[p->nowned - 2];
    it->completion_len = strlen(it->completion);
    it->reference = p->owned[p->nowned - 1];
    it->reference_len = strlen(it->reference);
  }
}

/* Best items/s over passes lasting at least `seconds` in total; also checks
 * that nothing failed. */
static double measure(const rlvr_verify_options *o, int workers, const pairs *p, const char *verifier, double seconds,
                      int64_t *failures) {
  rlvr_verify_options opt = *o;
  opt.workers = workers;
  rlvr_verify_pool *pool = NULL;
  if (rlvr_pool_build(&pool, &opt) != RLVR_OK) {
    fprintf(stderr, "bench verify: %s\n", rlvr_error_message());
    return -1;
  }
  rlvr_verify_item *items = xmalloc(p->n * sizeof *items);
  for (size_t i = 0; i < p->n; i++) {
    items[i] = p->items[i];
    items[i].verifier = verifier;
  }
  rlvr_verify_result *res = xcalloc(p->n, sizeof *res);
  rlvr_pool_score(pool, items, p->n, res); /* warm-up: loads the scripts */
  *failures = 0;
  for (size_t i = 0; i < p->n; i++) *failures += !rlvr_verify_status_is_scored(res[i].status);
  if (*failures)
    fprintf(stderr, "bench verify: %s: %lld of %zu items failed, e.g. %s %s\n", verifier, (long long)*failures, p->n,
            rlvr_verify_status_name(res[0].status), res[0].details);
  rlvr_verify_results_clear(res, p->n);
  double best = 0, total = 0;
  int passes = 0;
  while (total < seconds || passes < 3) {
    int64_t t0 = rlvr_verify_now_ns();
    rlvr_pool_score(pool, items, p->n, res);
    double dt = (double)(rlvr_verify_now_ns() - t0) / 1e9;
    rlvr_verify_results_clear(res, p->n);
    total += dt;
    passes++;
    double rate = (double)p->n / dt;
    if (rate > best) best = rate;
  }
  free(res);
  free(items);
  rlvr_pool_free(pool);
  return best;
}

int rlvr_verify_bench_main(int argc, char **argv, const char *paths) {
  const char *verifier = "exact", *input = NULL;
  int workers = (int)sysconf(_SC_NPROCESSORS_ONLN), with_null = 1;
  double seconds = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--verifier") && has) verifier = argv[++i];
    else if (!strcmp(a, "--input") && has) input = argv[++i];
    else if (!strcmp(a, "--workers") && has) workers = atoi(argv[++i]);
    else if (!strcmp(a, "--seconds") && has) seconds = atof(argv[++i]);
    else if (!strcmp(a, "--paths") && has) paths = argv[++i];
    else if (!strcmp(a, "--no-null")) with_null = 0;
    else {
      fprintf(stderr, "bench verify: unknown or incomplete argument '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (workers < 1) workers = 1;
  pairs p = {0};
  if (input) {
    if (load_pairs(&p, input) != RLVR_OK) {
      fprintf(stderr, "bench verify: %s\n", rlvr_error_message());
      pairs_free(&p);
      return 1;
    }
  } else {
    synthetic_pairs(&p, 20000);
  }
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, NULL);
  snprintf(o.paths, sizeof o.paths, "%s", paths);
  size_t bytes = 0;
  for (size_t i = 0; i < p.n; i++) bytes += p.items[i].completion_len;
  printf("verifier throughput: %zu pairs (%s, mean completion %.1f bytes), %d CPUs online\n", p.n,
         input ? input : "synthetic", (double)bytes / (double)p.n, (int)sysconf(_SC_NPROCESSORS_ONLN));
  printf("%-12s %-22s %14s %18s\n", "verifier", "where", "items/s", "items/s/worker");
  const char *names[2] = {verifier, "null"};
  int rc = 0;
  for (int v = 0; v < (with_null ? 2 : 1); v++) {
    int modes[3] = {0, 1, workers};
    int nmodes = workers > 1 ? 3 : 2;
    for (int m = 0; m < nmodes; m++) {
      int64_t failures = 0;
      double rate = measure(&o, modes[m], &p, names[v], seconds, &failures);
      if (rate < 0) {
        rc = 1;
        continue;
      }
      char where[32];
      if (modes[m] == 0) snprintf(where, sizeof where, "in-process (host)");
      else snprintf(where, sizeof where, "pool, %d worker%s", modes[m], modes[m] > 1 ? "s" : "");
      printf("%-12s %-22s %14.0f %18.0f%s\n", names[v], where, rate, rate / (modes[m] ? modes[m] : 1),
             failures ? "  (some items failed: see stderr)" : "");
      fflush(stdout);
      if (failures) rc = 1;
    }
  }
  pairs_free(&p);
  return rc;
}
