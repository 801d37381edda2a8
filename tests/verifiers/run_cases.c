/* run_cases.c — checks a verifier against its labeled cases.
 *
 *   run_cases [-v] tests/verifiers/cases/<verifier>.jsonl ...
 *
 * Each line of a cases file is a JSON object:
 *   completion     string, required
 *   reference      any JSON (a string stays a string), optional
 *   meta           any JSON, optional
 *   verifier       string, optional: default is the file's name, <verifier>.jsonl
 *   expect_score   number, required
 *   expect_status  string, optional: one of ok, wrong-format, timeout,
 *                  sandbox-error, verifier-error, input-error; when absent
 *                  the status must be ok or wrong-format (a scored status)
 *   note           string, optional: why the case is there; printed on failure
 * Blank lines and lines whose first non-blank character is '#' are skipped.
 *
 * Cases are scored through the verifier pool (two workers, the default
 * verify.* limits) with the search path verifiers/ then
 * tests/verifiers/scripts/, from the source root (ctest runs there). Scores
 * must match within 1e-9. Prints each failure with its line and note, then a
 * count; exits 1 if any case failed or a file is malformed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "verifiers/pool.h"

typedef struct {
  int line;
  double expect_score;
  int expect_status; /* -1: any scored status */
  const char *note;
  char *reference; /* printed JSON, owned (cJSON) */
  char *meta;
} case_info;

static int run_file(rlvr_verify_pool *pool, const char *path, int verbose) {
  char *text = NULL;
  size_t len = 0;
  if (rlvr_file_read(path, &text, &len) != RLVR_OK) {
    fprintf(stderr, "FAIL %s\n", rlvr_error_message());
    return 1;
  }
  /* The default verifier: the file name without directory and .jsonl. */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char name[256];
  snprintf(name, sizeof name, "%s", base);
  char *dot = strstr(name, ".jsonl");
  if (dot) *dot = 0;

  size_t cap = 64, n = 0;
  rlvr_verify_item *items = calloc(cap, sizeof *items);
  case_info *cases = calloc(cap, sizeof *cases);
  cJSON **docs = calloc(cap, sizeof *docs);
  int malformed = 0, lineno = 0;
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    lineno++;
    char *s = line;
    line = nl ? nl + 1 : NULL;
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    if (!*s || *s == '#') continue;
    if (n == cap) {
      cap *= 2;
      items = realloc(items, cap * sizeof *items);
      cases = realloc(cases, cap * sizeof *cases);
      docs = realloc(docs, cap * sizeof *docs);
    }
    cJSON *j = cJSON_Parse(s);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completion");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "reference");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "meta");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "verifier");
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "expect_score");
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(j, "expect_status");
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(j, "note");
    int status = -1;
    if (cJSON_IsString(est)) status = rlvr_verify_status_parse(est->valuestring);
    if (!cJSON_IsObject(j) || !cJSON_IsString(c) || !cJSON_IsNumber(es) || (ver && !cJSON_IsString(ver)) ||
        (est && (!cJSON_IsString(est) || status < 0))) {
      fprintf(stderr, "FAIL %s:%d: malformed case (needs completion: string, expect_score: number; "
                      "expect_status, if given, a status name)\n", path, lineno);
      malformed++;
      cJSON_Delete(j);
      continue;
    }
    rlvr_verify_item *it = &items[n];
    case_info *ci = &cases[n];
    memset(it, 0, sizeof *it);
    memset(ci, 0, sizeof *ci);
    docs[n] = j;
    ci->line = lineno;
    ci->expect_score = es->valuedouble;
    ci->expect_status = status;
    ci->note = cJSON_IsString(note) ? note->valuestring : "";
    it->verifier = ver ? ver->valuestring : name;
    it->completion = c->valuestring;
    it->completion_len = strlen(c->valuestring);
    if (cJSON_IsString(ref)) {
      it->reference = ref->valuestring;
      it->reference_len = strlen(ref->valuestring);
    } else if (ref && !cJSON_IsNull(ref)) {
      ci->reference = cJSON_PrintUnformatted(ref);
      it->reference = ci->reference;
      it->reference_len = strlen(ci->reference);
      it->reference_json = 1;
    }
    if (meta && !cJSON_IsNull(meta)) {
      ci->meta = cJSON_PrintUnformatted(meta);
      it->meta = ci->meta;
      it->meta_len = strlen(ci->meta);
    }
    n++;
  }

  rlvr_verify_result *res = calloc(n ? n : 1, sizeof *res);
  rlvr_pool_score(pool, items, n, res);
  int failed = 0;
  int64_t by_status[RLVR_VERIFY_NSTATUS] = {0};
  for (size_t i = 0; i < n; i++) {
    const case_info *ci = &cases[i];
    const rlvr_verify_result *r = &res[i];
    by_status[r->status]++;
    int status_ok = ci->expect_status < 0 ? rlvr_verify_status_is_scored(r->status)
                                          : (int)r->status == ci->expect_status;
    int score_ok = fabs(r->score - ci->expect_score) <= 1e-9;
    if (!status_ok || !score_ok) {
      failed++;
      fprintf(stderr, "FAIL %s:%d: got score %g (%s), want %g (%s)\n     note: %s\n     completion: %.200s\n"
                      "     details: %.400s\n",
              path, ci->line, r->score, rlvr_verify_status_name(r->status), ci->expect_score,
              ci->expect_status < 0 ? "ok or wrong-format" : rlvr_verify_status_name(ci->expect_status), ci->note,
              items[i].completion, r->details);
    } else if (verbose) {
      printf("ok   %s:%d: %g (%s) %s\n", path, ci->line, r->score, rlvr_verify_status_name(r->status), ci->note);
    }
  }
  printf("%s %s: %zu cases, %zu pass, %d fail, %d malformed (", failed || malformed ? "FAIL" : "ok  ", path, n,
         n - (size_t)failed, failed, malformed);
  for (int s = 0; s < RLVR_VERIFY_NSTATUS; s++)
    printf("%s%s %lld", s ? ", " : "", rlvr_verify_status_name((rlvr_verify_status)s), (long long)by_status[s]);
  printf(")\n");
  rlvr_verify_results_clear(res, n);
  free(res);
  for (size_t i = 0; i < n; i++) {
    cJSON_free(cases[i].reference);
    cJSON_free(cases[i].meta);
    cJSON_Delete(docs[i]);
  }
  free(items);
  free(cases);
  free(docs);
  free(text);
  return failed || malformed || n == 0;
}

int main(int argc, char **argv) {
  int verbose = 0, first = 1;
  if (argc > 1 && !strcmp(argv[1], "-v")) verbose = 1, first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: run_cases [-v] CASES.jsonl ...\n");
    return 2;
  }
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, NULL);
  snprintf(o.paths, sizeof o.paths, "verifiers:tests/verifiers/scripts");
  o.workers = 2;
  rlvr_verify_pool *pool = NULL;
  if (rlvr_pool_build(&pool, &o) != RLVR_OK) {
    fprintf(stderr, "FAIL %s\n", rlvr_error_message());
    return 1;
  }
  int bad = 0;
  for (int i = first; i < argc; i++) bad |= run_file(pool, argv[i], verbose);
  rlvr_pool_free(pool);
  return bad;
}
