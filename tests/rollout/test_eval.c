/* test_eval.c — rollout/eval.h.
 *
 *  - pass@k against hand-computed binomial ratios (Chen et al. 2021, eq. 1);
 *  - majority votes: equivalent answers in different forms count as one,
 *    ties go to the answer seen first, no answer means no vote;
 *  - a whole evaluation on the scripted fake model: three problems whose
 *    right answers are 5, 6 and 7, a model that answers 5 or 6 with equal
 *    odds; pass@1, pass@k and maj@n of the summary against values computed
 *    here from the per-sample JSON lines, with binomials from Pascal's
 *    triangle (not the product formula of the code);
 *  - options from the eval.* keys. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fake_source.h"
#include "rollout/eval.h"
#include "testing.h"

static void check_num(const char *what, double got, double want) {
  CHECK_MSG(fabs(got - want) <= 1e-12, "%s: got %.15g want %.15g", what, got, want);
}

static void test_pass_at_k(void) {
  check_num("n5 c2 k1", rlvr_pass_at_k(5, 2, 1), 2.0 / 5);
  check_num("n5 c2 k2", rlvr_pass_at_k(5, 2, 2), 1.0 - 3.0 / 10); /* 1 - C(3,2)/C(5,2) */
  check_num("n5 c0 k3", rlvr_pass_at_k(5, 0, 3), 0.0);
  check_num("n5 c5 k3", rlvr_pass_at_k(5, 5, 3), 1.0);
  check_num("n5 c4 k2", rlvr_pass_at_k(5, 4, 2), 1.0); /* n - c < k */
  check_num("n10 c3 k5", rlvr_pass_at_k(10, 3, 5), 1.0 - 21.0 / 252); /* C(7,5) = 21, C(10,5) = 252 */
  check_num("n16 c4 k8", rlvr_pass_at_k(16, 4, 8), 1.0 - 495.0 / 12870); /* C(12,8), C(16,8) */
  check_num("n1 c1 k1", rlvr_pass_at_k(1, 1, 1), 1.0);
  printf("ok   pass@k: 8 hand-computed cases\n");
}

static void test_majority(void) {
  const char *a[] = {"5", "5.0", "10/2", "6", NULL, "6"};
  int v;
  CHECK(rlvr_majority_vote(a, 6, &v) == 0 && v == 3);
  const char *b[] = {"6", "5", "5", "6"};
  CHECK(rlvr_majority_vote(b, 4, &v) == 0 && v == 2); /* tie: the answer seen first */
  const char *c[] = {NULL, NULL};
  CHECK(rlvr_majority_vote(c, 2, &v) == -1 && v == 0);
  const char *d[] = {"1/3", "\\frac{1}{2}", "0.5", "\\dfrac12"};
  CHECK(rlvr_majority_vote(d, 4, &v) == 1 && v == 3);
  const char *e[] = {"x = 3", "3", "4"};
  CHECK(rlvr_majority_vote(e, 3, &v) == 0 && v == 2);
  printf("ok   majority votes\n");
}

/* "A" -> answer 5, "B" -> answer 6. */
static const char *ab_target(const char *prompt, const char *completion, void *user) {
  (void)prompt, (void)user;
  if (completion[0] == 'B') return "B</think> <answer>6</answer>";
  return "A</think> <answer>5</answer>";
}

static double binom(int n, int k) { /* Pascal's triangle */
  static double t[64][64];
  static int ready = 0;
  if (!ready) {
    for (int i = 0; i < 64; i++) {
      t[i][0] = t[i][i] = 1;
      for (int j = 1; j < i; j++) t[i][j] = t[i - 1][j - 1] + t[i - 1][j];
    }
    ready = 1;
  }
  if (k < 0 || k > n) return 0;
  return t[n][k];
}

static void test_eval_fake(void) {
  rlvr_tokenizer *tok;
  CHECK(rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &tok) == RLVR_OK);
  const int V = rlvr_tokenizer_vocab_size(tok);
  const int32_t eos = rlvr_tokenizer_token_id(tok, "<|im_end|>");
  fake_source fs;
  fake_init(&fs, tok, V, 4, 128, eos, ab_target, NULL);
  int32_t ids[4];
  size_t n1;
  rlvr_tokenizer_encode(tok, "A", 1, 0, ids, 4, &n1);
  fs.fork_a = ids[0];
  rlvr_tokenizer_encode(tok, "B", 1, 0, ids, 4, &n1);
  fs.fork_b = ids[0];
  rlvr_engine *e = rlvr_engine_build(&fs.src, tok, &eos, 1, 1);
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  vo.workers = 0;
  rlvr_verify_pool *pool;
  CHECK(rlvr_pool_build(&pool, &vo) == RLVR_OK);

  const char *prompt_text = "User: what? Assistant: <think>";
  int32_t prompt[64];
  size_t np;
  rlvr_tokenizer_encode(tok, prompt_text, strlen(prompt_text), 0, prompt, 64, &np);
  const char *refs[3] = {"5", "6", "7"};
  const char *idn[3] = {"p5", "p6", "p7"};
  rlvr_eval_problem probs[3];
  for (int i = 0; i < 3; i++)
    probs[i] = (rlvr_eval_problem){.id = idn[i], .prompt_text = prompt_text, .prompt = prompt, .nprompt = (int)np,
                                   .verifier = "math", .reference = refs[i]};
  rlvr_eval_options o;
  memset(&o, 0, sizeof o);
  o.samples = 8;
  o.pass_k[0] = 1, o.pass_k[1] = 2, o.pass_k[2] = 4, o.pass_k[3] = 8;
  o.npass_k = 4;
  o.batch = 2; /* two requests: 2 problems, then 1 */
  o.first_group_id = 100;
  rlvr_engine_params_default(&o.params);
  o.params.temperature = 1.0f;
  o.params.max_tokens = 40;
  o.params.seed = 5;
  char path[] = "/tmp/rlvr_test_eval_XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w+");
  rlvr_eval_summary s;
  CHECK_MSG(rlvr_eval_run(e, tok, pool, &o, probs, 3, f, &s) == RLVR_OK, "%s", rlvr_error_message());
  /* Recount from the JSON lines. */
  rewind(f);
  char line[8192];
  int c[3] = {0}, na[3] = {0}, nb[3] = {0}, first[3] = {-1, -1, -1}, lines = 0, by_id[3] = {0};
  while (fgets(line, sizeof line, f)) {
    cJSON *j = cJSON_Parse(line);
    CHECK(j != NULL);
    if (!j) continue;
    lines++;
    const char *id = cJSON_GetObjectItem(j, "id")->valuestring;
    const char *comp = cJSON_GetObjectItem(j, "completion")->valuestring;
    const cJSON *ans = cJSON_GetObjectItem(j, "answer");
    int p = id[1] - '5';
    CHECK(p >= 0 && p < 3);
    if (p < 0 || p > 2) continue;
    by_id[p]++;
    int is_a = !strcmp(comp, "A</think> <answer>5</answer>"), is_b = !strcmp(comp, "B</think> <answer>6</answer>");
    CHECK_MSG(is_a || is_b, "completion '%s'", comp);
    CHECK(cJSON_IsString(ans) && !strcmp(ans->valuestring, is_a ? "5" : "6"));
    const int good = (is_a && p == 0) || (is_b && p == 1);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "correct")) == good);
    c[p] += good;
    na[p] += is_a, nb[p] += is_b;
    if (first[p] < 0) first[p] = is_a ? 0 : 1;
    cJSON_Delete(j);
  }
  fclose(f);
  remove(path);
  CHECK(lines == 24 && by_id[0] == 8 && by_id[1] == 8 && by_id[2] == 8);
  double want_pass[4] = {0}, want_maj = 0, want_p1 = 0;
  const int ks[4] = {1, 2, 4, 8};
  for (int p = 0; p < 3; p++) {
    for (int q = 0; q < 4; q++) want_pass[q] += (1.0 - binom(8 - c[p], ks[q]) / binom(8, ks[q])) / 3.0;
    want_p1 += c[p] / 8.0 / 3.0;
    /* majority: 5 (A) or 6 (B); a tie goes to the first sample's answer */
    int winner_a = na[p] > nb[p] || (na[p] == nb[p] && first[p] == 0);
    want_maj += ((winner_a && p == 0) || (!winner_a && p == 1)) / 3.0;
  }
  CHECK(s.problems == 3 && s.samples == 24 && s.infra_failures == 0 && s.finish[RLVR_ENGINE_EOS] == 24);
  CHECK(s.correct == c[0] + c[1] + c[2]);
  for (int q = 0; q < 4; q++) check_num("pass@k of the run", s.pass_k[q], want_pass[q]);
  check_num("pass@1 of the run", s.pass1, want_p1);
  check_num("maj@8 of the run", s.maj, want_maj);
  CHECK_MSG(c[0] > 0 && c[0] < 8 && c[1] > 0 && c[1] < 8, "c = %d %d: the seed gives no mixed problem", c[0], c[1]);
  printf("ok   eval on the fake model: c = %d, %d, %d of 8; pass@1 %.4f pass@2 %.4f pass@4 %.4f pass@8 %.4f maj@8 %.4f\n",
         c[0], c[1], c[2], s.pass1, s.pass_k[1], s.pass_k[2], s.pass_k[3], s.maj);

  /* The same problems one at a time give the same samples (seeds from group ids). */
  o.batch = 1;
  rlvr_eval_summary s1;
  CHECK(rlvr_eval_run(e, tok, pool, &o, probs, 3, NULL, &s1) == RLVR_OK);
  CHECK(s1.correct == s.correct && s1.maj == s.maj);
  char *json = rlvr_eval_summary_json(&o, &s);
  cJSON *j = cJSON_Parse(json);
  CHECK(j && cJSON_GetObjectItem(j, "pass@8") && cJSON_GetObjectItem(j, "maj@8") && cJSON_GetObjectItem(j, "accuracy"));
  check_num("summary accuracy", cJSON_GetObjectItem(j, "accuracy")->valuedouble, s.pass1);
  cJSON_Delete(j);
  free(json);
  rlvr_pool_free(pool);
  rlvr_engine_free(e);
  fake_free(&fs);
  rlvr_tokenizer_free(tok);
}

static void test_options(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_eval_options o;
  CHECK(rlvr_config_set(&c, "eval.samples=8") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_OK);
  CHECK(o.npass_k == 4 && o.pass_k[0] == 1 && o.pass_k[1] == 2 && o.pass_k[2] == 4 && o.pass_k[3] == 8);
  CHECK(o.params.max_tokens == c.sample_max_tokens && o.params.budget == 0 && o.params.temperature == 0.0f);
  CHECK(rlvr_config_set(&c, "eval.samples=6") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_OK && o.npass_k == 4 && o.pass_k[3] == 6);
  CHECK(rlvr_config_set(&c, "eval.pass_k=1,3") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_OK && o.npass_k == 2 && o.pass_k[1] == 3);
  CHECK(rlvr_config_set(&c, "eval.pass_k=7") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_ERR_CONFIG);
  printf("     %s\n", rlvr_error_message());
  CHECK(rlvr_config_set(&c, "eval.pass_k=") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "eval.budget=true") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "budget.max_think_tokens=32") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_OK && o.params.budget == 1 && o.params.max_think_tokens == 32 &&
        !strcmp(o.params.think_end, "</think>") && !strcmp(o.params.answer_prefix, " </think> <answer>"));
  CHECK(rlvr_config_set(&c, "budget.answer_prefix=") == RLVR_OK);
  CHECK(rlvr_eval_options_from_config(&c, &o) == RLVR_ERR_CONFIG);
  printf("     %s\n", rlvr_error_message());
  rlvr_config_free(&c);
}

int main(void) {
  omp_set_num_threads(1);
  test_pass_at_k();
  test_majority();
  test_eval_fake();
  test_options();
  return test_done();
}
