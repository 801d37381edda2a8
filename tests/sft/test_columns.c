/* test_columns.c — the default run's task, tasks/generators/columns.lua:
 * every worked solution is right column by column (digits copied from the
 * prompt, carries, sums, the result's digits so far) and ends at the answer; the answer is the sum;
 * the plain-template worked example scores 1 with the math verifier and 0
 * with a wrong answer; the share of answer-only items follows
 * difficulty.direct without changing the problems; bad difficulty values are
 * errors naming the setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tasks/generator.h"
#include "tasks/template.h"
#include "testing.h"
#include "verifiers/host.h"

#define SCRIPT "tasks/generators/columns.lua"

/* Parses "a + b [+ c ...]" into nums; returns the count. */
static int parse_prompt(const char *p, long *nums, int max) {
  int n = 0;
  char *end;
  while (n < max) {
    nums[n++] = strtol(p, &end, 10);
    if (end == p) return -1;
    if (strncmp(end, " + ", 3) != 0) return *end ? -1 : n;
    p = end + 3;
  }
  return -1;
}

/* Checks the column lines of solution against the numbers ("d+d[+c]=s, R":
 * the digits, the carry in, the column sum, and with running the result's
 * digits so far); returns 1 if every line is right and the digits found
 * (last column's sum, then the units of the columns before) are the answer. */
static int check_solution(const char *solution, const long *nums, int n, int digits, long answer, int running,
                          char *why, size_t whylen) {
  long carry = 0;
  char sofar[64] = "";
  const char *p = solution;
  for (int col = 0; col < digits; col++) {
    long want_sum = carry, d[8], got_sum;
    char line[128];
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len >= sizeof line) return snprintf(why, whylen, "line %d too long", col), 0;
    memcpy(line, p, len);
    line[len] = 0;
    /* the expected line: each number's digit in this column, the carry, the sum */
    char want[128];
    size_t w = 0;
    long div = 1;
    for (int c = 0; c < col; c++) div *= 10;
    for (int i = 0; i < n; i++) {
      d[i] = nums[i] / div % 10;
      want_sum += d[i];
      w += (size_t)snprintf(want + w, sizeof want - w, i ? "+%ld" : "%ld", d[i]);
    }
    if (carry) w += (size_t)snprintf(want + w, sizeof want - w, "+%ld", carry);
    /* the result's digits so far: this column's digit (the whole sum in the
     * last column) before those of the columns to its right */
    got_sum = want_sum;
    char next[64];
    snprintf(next, sizeof next, "%ld%s", col + 1 < digits ? got_sum % 10 : got_sum, sofar);
    memcpy(sofar, next, sizeof sofar);
    if (running) snprintf(want + w, sizeof want - w, "=%ld, %s", want_sum, sofar);
    else snprintf(want + w, sizeof want - w, "=%ld", want_sum);
    if (strcmp(line, want) != 0) return snprintf(why, whylen, "column %d: '%.100s', want '%.100s'", col, line, want), 0;
    carry = got_sum / 10;
    if (!nl && col + 1 < digits) return snprintf(why, whylen, "only %d lines", col + 1), 0;
    p = nl ? nl + 1 : p + len;
  }
  if (*p) return snprintf(why, whylen, "text after the last column: '%.100s'", p), 0;
  if (strtol(sofar, NULL, 10) != answer) return snprintf(why, whylen, "the digits found are %s, answer %ld", sofar, answer), 0;
  return 1;
}

static void test_items(int digits, int steps, int running) {
  char diff[64];
  snprintf(diff, sizeof diff, "digits=%d,steps=%d,running=%s", digits, steps, running ? "true" : "false");
  rlvr_generator *g;
  int rc = rlvr_generator_load(SCRIPT, diff, &g);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(!strcmp(rlvr_generator_name(g), "columns") && !strcmp(rlvr_generator_verifier(g), "math"));
  int bad = 0;
  long lo = 1, hi;
  for (int i = 1; i < digits; i++) lo *= 10;
  hi = lo * 10 - 1;
  if (digits == 1) lo = 0;
  for (int i = 0; i < 300; i++) {
    rlvr_task_item it;
    CHECK(rlvr_generator_make(g, 1000 + (uint64_t)i, "item test", &it) == RLVR_OK);
    long nums[8], sum = 0;
    int n = parse_prompt(it.prompt, nums, 8);
    char why[256] = "";
    int ok = n == steps + 1;
    if (!ok) snprintf(why, sizeof why, "%d numbers", n);
    for (int k = 0; ok && k < n; k++) {
      sum += nums[k];
      if (nums[k] < lo || nums[k] > hi) ok = 0, snprintf(why, sizeof why, "number %ld out of range", nums[k]);
    }
    if (ok && strtol(it.answer, NULL, 10) != sum) ok = 0, snprintf(why, sizeof why, "answer %s", it.answer);
    if (ok) ok = check_solution(it.solution, nums, n, digits, sum, running, why, sizeof why);
    if (!ok && bad++ < 3) fprintf(stderr, "FAIL %s '%s': %s\n", diff, it.prompt, why);
    rlvr_task_item_clear(&it);
  }
  printf("%s %s: %d of 300 worked solutions right\n", bad ? "FAIL" : "ok  ", diff, 300 - bad);
  CHECK(bad == 0);
  rlvr_generator_free(g);
}

static void test_direct_and_verifier(void) {
  rlvr_generator *g0, *g6;
  CHECK(rlvr_generator_load(SCRIPT, "digits=3,steps=1", &g0) == RLVR_OK);
  CHECK(rlvr_generator_load(SCRIPT, "digits=3,steps=1,direct=0.6", &g6) == RLVR_OK);
  rlvr_task_template *tpl;
  CHECK(rlvr_task_template_load("plain", "tasks", &tpl) == RLVR_OK);
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  vo.workers = 0;
  rlvr_verify_host *h = rlvr_host_build(&vo);
  int empty = 0, same = 0, right = 0, wrong_rejected = 0;
  const int N = 500;
  for (int i = 0; i < N; i++) {
    rlvr_task_item a, b;
    CHECK(rlvr_generator_make(g0, 7 + (uint64_t)i, "item a", &a) == RLVR_OK);
    CHECK(rlvr_generator_make(g6, 7 + (uint64_t)i, "item b", &b) == RLVR_OK);
    same += !strcmp(a.prompt, b.prompt) && !strcmp(a.answer, b.answer);
    empty += b.solution && b.solution[0] == 0;
    CHECK(a.solution && a.solution[0]);
    /* both kinds of worked example score 1; with the answer + 1, 0 */
    for (int k = 0; k < 2; k++) {
      rlvr_task_item *it = k ? &b : &a;
      char *c = NULL;
      CHECK(rlvr_task_template_completion(tpl, it, &c) == RLVR_OK);
      rlvr_verify_item v = {it->verifier, c, strlen(c), it->reference, strlen(it->reference), it->reference_json,
                            it->meta, strlen(it->meta)};
      rlvr_verify_result r = {0};
      rlvr_host_verify(h, &v, &r);
      right += r.status == RLVR_VERIFY_OK && r.score == 1.0;
      rlvr_verify_result_clear(&r);
      free(c);
      char wrong[64];
      snprintf(wrong, sizeof wrong, "%ld", strtol(it->answer, NULL, 10) + 1);
      rlvr_task_item w = *it;
      w.answer = wrong;
      CHECK(rlvr_task_template_completion(tpl, &w, &c) == RLVR_OK);
      v.completion = c, v.completion_len = strlen(c);
      rlvr_host_verify(h, &v, &r);
      wrong_rejected += r.status == RLVR_VERIFY_OK && r.score == 0.0;
      rlvr_verify_result_clear(&r);
      free(c);
    }
    rlvr_task_item_clear(&a);
    rlvr_task_item_clear(&b);
  }
  printf("direct=0.6: %d of %d answer-only; problems unchanged in %d of %d; %d of %d worked examples score 1, "
         "%d of %d with a wrong answer score 0\n",
         empty, N, same, N, right, 2 * N, wrong_rejected, 2 * N);
  CHECK(same == N);
  /* binomial(500, 0.6): mean 300, sd 11; 250..350 is 4.5 sd either way */
  CHECK(empty >= 250 && empty <= 350);
  CHECK(right == 2 * N && wrong_rejected == 2 * N);
  rlvr_host_free(h);
  rlvr_task_template_free(tpl);
  rlvr_generator_free(g0);
  rlvr_generator_free(g6);
}

/* lead=Wait: every worked solution is "Wait", a newline and the solution the
 * same item has without lead; answer-only items stay empty; the problems do
 * not change. */
static void test_lead(void) {
  rlvr_generator *g0, *gw;
  CHECK(rlvr_generator_load(SCRIPT, "digits=2,steps=1,direct=0.5", &g0) == RLVR_OK);
  CHECK(rlvr_generator_load(SCRIPT, "digits=2,steps=1,direct=0.5,lead=Wait", &gw) == RLVR_OK);
  int worked = 0, bad = 0;
  for (int i = 0; i < 200; i++) {
    rlvr_task_item a, b;
    CHECK(rlvr_generator_make(g0, 11 + (uint64_t)i, "item a", &a) == RLVR_OK);
    CHECK(rlvr_generator_make(gw, 11 + (uint64_t)i, "item b", &b) == RLVR_OK);
    char want[512];
    if (a.solution[0]) snprintf(want, sizeof want, "Wait\n%s", a.solution), worked++;
    else want[0] = 0;
    if (strcmp(a.prompt, b.prompt) || strcmp(a.answer, b.answer) || strcmp(b.solution, want)) {
      if (bad++ < 3) fprintf(stderr, "FAIL lead: '%s' -> '%s', want '%s'\n", a.prompt, b.solution, want);
    }
    rlvr_task_item_clear(&a);
    rlvr_task_item_clear(&b);
  }
  printf("lead=Wait: %d worked of 200, %d wrong\n", worked, bad);
  CHECK(bad == 0 && worked > 50 && worked < 150);
  rlvr_generator_free(g0);
  rlvr_generator_free(gw);
}

static void test_bad_difficulty(void) {
  const char *bad[][2] = {{"digits=0,steps=1", "difficulty.digits"},
                          {"digits=10,steps=1", "difficulty.digits"},
                          {"digits=2,steps=0", "difficulty.steps"},
                          {"digits=2,steps=1,direct=2", "difficulty.direct"},
                          {"digits=2,steps=1,direct=yes", "difficulty.direct"},
                          {"digits=2,steps=1,running=1", "difficulty.running"},
                          {"digits=2,steps=1,lead=1", "difficulty.lead"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rlvr_generator *g;
    int rc = rlvr_generator_load(SCRIPT, bad[i][0], &g);
    rlvr_task_item it;
    if (rc == RLVR_OK) {
      rc = rlvr_generator_make(g, 1, "item train:0", &it);
      if (rc == RLVR_OK) rlvr_task_item_clear(&it);
      rlvr_generator_free(g);
    }
    CHECK_MSG(rc == RLVR_ERR_SCRIPT && strstr(rlvr_error_message(), bad[i][1]), "%s: %s", bad[i][0],
              rlvr_error_message());
  }
}

int main(void) {
  test_items(2, 1, 1);
  test_items(3, 1, 1);
  test_items(2, 2, 1);
  test_items(4, 3, 1);
  test_items(1, 1, 1);
  test_items(2, 1, 0);
  test_items(3, 2, 0);
  test_direct_and_verifier();
  test_lead();
  test_bad_difficulty();
  return test_done();
}
