/* test_consensus.c — the consensus (test-time RL) pseudo-label rewards and
 * the group vote statistics of rollout/consensus.h, on hand-made groups
 * whose expected rewards are written out here:
 *   - equivalent forms vote together ("1/2", "0.5", "\frac{1}{2}", "2/4");
 *   - ties go to the vote group whose first answer came first;
 *   - samples without an answer do not vote and get 0; a group where no one
 *     answers gets 0 everywhere and no pseudo-label;
 *   - maj@G and pass@G of a group against its label;
 *   - the answer a sample votes with (verifier details, fallback extraction);
 *   - verifiers/consensus.lua through the verifier host: the extracted
 *     answer with and without a label, the label's score, wrong-format. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "rollout/consensus.h"
#include "testing.h"
#include "verifiers/host.h"

/* Runs the consensus rewards of n answers and compares with want[] (exact:
 * 0 or 1) and the expected winner and votes. */
static void expect_rewards(const char *what, const char *const *answers, int n, const double *want, int want_winner,
                           int want_votes) {
  double got[16];
  int votes = -7;
  const int winner = rlvr_consensus_rewards(answers, n, got, &votes);
  int bad = 0;
  double maxdiff = 0;
  for (int i = 0; i < n; i++) {
    const double d = got[i] > want[i] ? got[i] - want[i] : want[i] - got[i];
    if (d > maxdiff) maxdiff = d;
    bad += got[i] != want[i];
  }
  CHECK_MSG(!bad && winner == want_winner && votes == want_votes, "%s: winner %d (want %d), votes %d (want %d), %d rewards differ, max |diff| %g",
            what, winner, want_winner, votes, want_votes, bad, maxdiff);
  if (!bad && winner == want_winner && votes == want_votes)
    printf("ok   %s: winner %d with %d votes, rewards max |diff| %g\n", what, winner, votes, maxdiff);
}

static void test_rewards(void) {
  {
    const char *a[] = {"1/2", "0.5", "3", NULL};
    const double w[] = {1, 1, 0, 0};
    expect_rewards("1/2 and 0.5 are one answer, no answer gets 0", a, 4, w, 0, 2);
  }
  {
    const char *a[] = {"\\frac{1}{2}", "0.5", "2", "2", "2/4"};
    const double w[] = {1, 1, 0, 0, 1};
    expect_rewards("three forms of a half beat 2 twice", a, 5, w, 0, 3);
  }
  {
    const char *a[] = {"3", "1/2", "3", "0.5"};
    const double w[] = {1, 0, 1, 0};
    expect_rewards("tie 2-2: the earlier group (3) wins", a, 4, w, 0, 2);
  }
  {
    const char *a[] = {NULL, "4", "1/2", "4", "0.50"};
    const double w[] = {0, 1, 0, 1, 0};
    expect_rewards("tie 2-2 after a missing answer: 4 came first", a, 5, w, 1, 2);
  }
  {
    const char *a[] = {"5", "6", "7"};
    const double w[] = {1, 0, 0};
    expect_rewards("all different: the first answer is the label", a, 3, w, 0, 1);
  }
  {
    const char *a[] = {NULL, "7", NULL};
    const double w[] = {0, 1, 0};
    expect_rewards("one answer among none", a, 3, w, 1, 1);
  }
  {
    const char *a[] = {NULL, NULL, NULL};
    const double w[] = {0, 0, 0};
    expect_rewards("no one answers: no label, all 0", a, 3, w, -1, 0);
  }
  {
    const char *a[] = {"x+1", "1+x", "x + 1", "2x"};
    const double w[] = {1, 1, 1, 0};
    expect_rewards("expressions: x+1 = 1+x", a, 4, w, 0, 3);
  }
}

static void test_label_stats(void) {
  struct {
    const char *what;
    const char *a[4];
    int correct[4];
    int maj, any;
  } cases[] = {
      {"majority right", {"1/2", "0.5", "3", NULL}, {1, 1, 0, 0}, 1, 1},
      {"majority wrong, one right", {"3", "1/2", "3", NULL}, {0, 1, 0, 0}, 0, 1},
      {"tie goes to the earlier (wrong) group", {"3", "1/2", "0.5", "3"}, {0, 1, 1, 0}, 0, 1},
      {"nobody right", {"3", "4", "3", "4"}, {0, 0, 0, 0}, 0, 0},
      {"nobody answers", {NULL, NULL, NULL, NULL}, {0, 0, 0, 0}, 0, 0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    int maj = -1, any = -1;
    rlvr_consensus_group_label_stats(cases[c].a, cases[c].correct, 4, &maj, &any);
    CHECK_MSG(maj == cases[c].maj && any == cases[c].any, "%s: maj %d (want %d), pass %d (want %d)", cases[c].what, maj,
              cases[c].maj, any, cases[c].any);
  }
  printf("ok   maj@G and pass@G of %zu hand-made groups\n", sizeof cases / sizeof *cases);
}

static void expect_answer(const char *what, const char *details, const char *text, int fallback, const char *want) {
  char *got = rlvr_consensus_sample_answer(details, text, text ? strlen(text) : 0, fallback);
  const int ok = want ? got && !strcmp(got, want) : !got;
  CHECK_MSG(ok, "%s: got '%s', want '%s'", what, got ? got : "(none)", want ? want : "(none)");
  free(got);
}

static void test_sample_answer(void) {
  expect_answer("details.extracted", "{\"extracted\":\"1/2\",\"labelled\":false}", "ignored \\boxed{9}", 1, "1/2");
  expect_answer("fallback: boxed", "{\"status\":\"wrong-format\"}", "so \\boxed{42}.", 1, "42");
  expect_answer("no fallback", "{\"status\":\"wrong-format\"}", "so \\boxed{42}.", 0, NULL);
  expect_answer("no details, fallback: answer tags", NULL, "<answer>3</answer>", 1, "3");
  expect_answer("malformed details, fallback", "{\"extracted\":", "<answer>3</answer>", 1, "3");
  expect_answer("an empty extraction is none", "{\"extracted\":\"\"}", "", 1, NULL);
  expect_answer("extracted not a string", "{\"extracted\":5}", "nothing here", 1, NULL);
  char long_answer[1200 + 32];
  memcpy(long_answer, "{\"extracted\":\"", 14);
  memset(long_answer + 14, '7', 1200);
  memcpy(long_answer + 14 + 1200, "\"}", 3);
  char *got = rlvr_consensus_sample_answer(long_answer, "", 0, 0);
  CHECK_MSG(got && strlen(got) == RLVR_CONSENSUS_ANSWER_MAX, "a long answer is cut to %d bytes: %zu",
            RLVR_CONSENSUS_ANSWER_MAX, got ? strlen(got) : 0);
  free(got);
  printf("ok   the answer a sample votes with\n");
}

/* verifiers/consensus.lua through the host, in process. */
static void expect_script(rlvr_verify_host *h, const char *what, const char *completion, const char *reference,
                          int reference_json, rlvr_verify_status want_status, double want_score,
                          const char *want_extracted, int want_labelled) {
  rlvr_verify_item it = {.verifier = "consensus", .completion = completion, .completion_len = strlen(completion),
                         .reference = reference, .reference_len = reference ? strlen(reference) : 0,
                         .reference_json = reference_json};
  rlvr_verify_result r;
  rlvr_host_verify(h, &it, &r);
  cJSON *d = r.details ? cJSON_Parse(r.details) : NULL;
  const cJSON *x = d ? cJSON_GetObjectItemCaseSensitive(d, "extracted") : NULL;
  const cJSON *l = d ? cJSON_GetObjectItemCaseSensitive(d, "labelled") : NULL;
  const int ext_ok = want_extracted ? cJSON_IsString(x) && !strcmp(x->valuestring, want_extracted) : !x;
  const int lab_ok = want_labelled ? cJSON_IsTrue(l) : cJSON_IsFalse(l);
  CHECK_MSG(r.status == want_status && r.score == want_score && ext_ok && lab_ok && !strcmp(r.version, "1"),
            "%s: status %d (want %d), score %g (want %g), details %s", what, (int)r.status, (int)want_status, r.score,
            want_score, r.details ? r.details : "(none)");
  cJSON_Delete(d);
  rlvr_verify_result_clear(&r);
}

static void test_script(void) {
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  rlvr_verify_host *h = rlvr_host_build(&vo);
  expect_script(h, "no label (empty reference)", "<answer>1/2</answer>", "", 0, RLVR_VERIFY_OK, 0.0, "1/2", 0);
  expect_script(h, "no label (nil reference)", "so \\boxed{7}", NULL, 0, RLVR_VERIFY_OK, 0.0, "7", 0);
  expect_script(h, "no label (object without an answer)", "<answer>7</answer>", "{\"note\":1}", 1, RLVR_VERIFY_OK, 0.0,
                "7", 0);
  expect_script(h, "no label, no answer", "I do not know", "", 0, RLVR_VERIFY_WRONG_FORMAT, 0.0, NULL, 0);
  expect_script(h, "label 0.5, answer 1/2", "<answer>1/2</answer>", "0.5", 0, RLVR_VERIFY_OK, 1.0, "1/2", 1);
  expect_script(h, "label 3, answer 4", "<answer>4</answer>", "3", 0, RLVR_VERIFY_OK, 0.0, "4", 1);
  expect_script(h, "label as an object", "<answer>\\frac{2}{4}</answer>", "{\"answer\":\"0.5\"}", 1, RLVR_VERIFY_OK, 1.0,
                "\\frac{2}{4}", 1);
  expect_script(h, "label, no answer", "no idea", "3", 0, RLVR_VERIFY_WRONG_FORMAT, 0.0, NULL, 1);
  rlvr_host_free(h);
  printf("ok   verifiers/consensus.lua: answers with and without a label\n");
}

int main(void) {
  test_rewards();
  test_label_stats();
  test_sample_answer();
  test_script();
  return test_done();
}
