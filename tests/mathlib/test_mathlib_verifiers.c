/* test_mathlib_verifiers.c — bad input for math.lua, science.lua,
 * countdown.lua and format.lua through the verifier host (in-process, the
 * default budgets): 10 MB completions, invalid UTF-8, hostile repetition and
 * references without their fields. Each must give a status and, where it is
 * not an answer, a score of 0; details must be valid JSON whatever bytes the
 * completion held; and each item must finish in bounded time. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testing.h"
#include "verifiers/host.h"

static rlvr_verify_host *host;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs one item; returns the result (caller clears) and checks the details are JSON. */
static rlvr_verify_result run(const char *verifier, const char *comp, size_t clen, const char *ref, int ref_json,
                              double *secs) {
  rlvr_verify_item it = {verifier, comp, clen, ref, ref ? strlen(ref) : 0, ref_json, NULL, 0};
  rlvr_verify_result r;
  double t0 = now();
  rlvr_host_verify(host, &it, &r);
  *secs = now() - t0;
  cJSON *j = r.details ? cJSON_Parse(r.details) : NULL;
  CHECK_MSG(j != NULL, "%s: details are not JSON: %.200s", verifier, r.details ? r.details : "(null)");
  cJSON_Delete(j);
  return r;
}

static void expect(const char *what, const char *verifier, const char *comp, size_t clen, const char *ref, int ref_json,
                   double want_score, int want_status, double max_secs) {
  double secs;
  rlvr_verify_result r = run(verifier, comp, clen, ref, ref_json, &secs);
  int ok = r.score == want_score && (want_status < 0 ? rlvr_verify_status_is_scored(r.status) : (int)r.status == want_status);
  CHECK_MSG(ok, "%s (%s): score %g status %s, want %g %s; details %.300s", what, verifier, r.score,
            rlvr_verify_status_name(r.status), want_score, want_status < 0 ? "scored" : rlvr_verify_status_name(want_status),
            r.details);
  CHECK_MSG(secs < max_secs, "%s (%s): took %.2f s (limit %.1f)", what, verifier, secs, max_secs);
  if (ok) printf("ok   %-44s %-9s %s score %g in %.3f s\n", what, verifier, rlvr_verify_status_name(r.status), r.score, secs);
  rlvr_verify_result_clear(&r);
}

int main(void) {
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, "verifiers");
  o.workers = 0;
  o.max_input_bytes = 16 << 20; /* let 10 MB reach the scripts (the default cap turns it away) */
  o.memory_bytes = 256 << 20;
  host = rlvr_host_build(&o);
  const char *verifiers[] = {"math", "science", "countdown", "format"};
  const char *refs[] = {"\"42\"", "\"C\"", "{\"numbers\": [6, 4], \"target\": 24}", "null"};

  size_t n = 10u << 20;
  char *big = malloc(n + 64);

  /* 10 MB of prose with invalid UTF-8 and no answer */
  for (size_t i = 0; i < n; i++) big[i] = i % 7 == 0 ? (char)0xff : i % 11 == 0 ? ' ' : 'a' + (char)(i % 23);
  for (int v = 0; v < 4; v++)
    expect("10 MB, invalid UTF-8, no answer", verifiers[v], big, n, refs[v], 1, 0, -1, 20.0);

  /* 10 MB of "answer: (A) " repeated: many candidates, listing every option */
  for (size_t i = 0; i < n; i++) big[i] = "answer: (A) (B) "[i % 16];
  for (int v = 0; v < 4; v++) expect("10 MB of repeated answer markers", verifiers[v], big, n, refs[v], 1, 0, -1, 20.0);

  /* 10 MB of unclosed \boxed{ */
  for (size_t i = 0; i < n; i++) big[i] = "\\boxed{"[i % 7];
  for (int v = 0; v < 4; v++) expect("10 MB of unclosed \\boxed{", verifiers[v], big, n, refs[v], 1, 0, -1, 20.0);

  /* 10 MB of padding, then a right answer: found, and only the right one scores */
  memset(big, 'z', n);
  memcpy(big + n - 16, "\\boxed{42}      ", 16);
  expect("10 MB then \\boxed{42}", "math", big, n, "\"42\"", 1, 1, RLVR_VERIFY_OK, 20.0);
  memcpy(big + n - 16, "\\boxed{41}      ", 16);
  expect("10 MB then \\boxed{41}", "math", big, n, "\"42\"", 1, 0, RLVR_VERIFY_OK, 20.0);

  /* invalid UTF-8 inside the answer: details stay JSON, no score */
  const char *bad = "\\boxed{4\xff\xfe 2} <answer>\xc3\x28</answer>";
  for (int v = 0; v < 4; v++) expect("invalid UTF-8 inside the answer", verifiers[v], bad, strlen(bad), refs[v], 1, 0, -1, 5.0);
  const char *bad2 = "<think>\xe2\x28\xa1</think><answer>\\boxed{42} \xf0\x28\x8c\x28</answer>";
  expect("invalid UTF-8 around a right answer", "math", bad2, strlen(bad2), "\"42\"", 1, 1, RLVR_VERIFY_OK, 5.0);

  /* a 200 KB answer inside the box: over the parser's cap, not a crash */
  size_t an = 200000;
  char *huge = malloc(an + 32);
  memcpy(huge, "\\boxed{", 7);
  for (size_t i = 0; i < an; i++) huge[7 + i] = "1+"[i % 2];
  memcpy(huge + 7 + an, "1}", 3);
  expect("200 KB expression in a box", "math", huge, strlen(huge), "\"1\"", 1, 0, -1, 5.0);
  free(huge);

  /* references without their fields: verifier-error, never a score */
  const char *ans = "<think>x</think><answer>\\boxed{6 * 4}</answer>";
  expect("math: reference {}", "math", ans, strlen(ans), "{}", 1, 0, RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("math: reference []", "math", ans, strlen(ans), "[]", 1, 0, RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("math: no reference", "math", ans, strlen(ans), NULL, 0, 0, RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("science: reference {}", "science", ans, strlen(ans), "{}", 1, 0, RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("countdown: reference {}", "countdown", ans, strlen(ans), "{}", 1, 0, RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("countdown: numbers not a list", "countdown", ans, strlen(ans), "{\"numbers\": 6, \"target\": 24}", 1, 0,
         RLVR_VERIFY_VERIFIER_ERROR, 5.0);
  expect("countdown: right answer", "countdown", ans, strlen(ans), "{\"numbers\": [6, 4], \"target\": 24}", 1, 1,
         RLVR_VERIFY_OK, 5.0);

  free(big);
  rlvr_host_free(host);
  return test_done();
}
