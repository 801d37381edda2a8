/* test_ttscale.c — rollout/ttscale.h and the curves of rollout/eval.h.
 *
 *  - maj@k (rlvr_maj_at_k_curve) on hand-computed cases, against a brute
 *    force over every subset of random small sample sets (groups, samples
 *    without an answer, ties), and on large n where closed forms are known
 *    (all answers distinct: maj@k = c/n; one group among unanswered samples:
 *    maj@k = 1 - C(n-m, k)/C(n, k), with binomials near 1e306);
 *  - sweep axes and grids: parsing, errors, the min_think_tokens rule;
 *  - a sweep on the scripted fake model that ends its thinking at once and
 *    answers right only after a "Wait": waits per sample equal max_waits,
 *    thinking grows with them, accuracy follows, the cap cuts the thinking;
 *    the curves of the run; the JSON record, markdown table and HTML page. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "fake_source.h"
#include "rollout/ttscale.h"
#include "testing.h"

static double binom(int n, int k) { /* multiplicative, long double: independent of the code's recurrences */
  if (k < 0 || k > n) return 0;
  long double r = 1;
  for (int i = 1; i <= k; i++) r = r * (long double)(n - k + i) / (long double)i;
  return (double)r;
}

static double max_rel(const double *got, const double *want, int n, int *at) {
  double worst = 0;
  for (int i = 0; i < n; i++) {
    double d = fabs(got[i] - want[i]) / fmax(1e-300, fmax(fabs(want[i]), 1e-3));
    if (!(d <= worst)) worst = d, *at = i;
  }
  return worst;
}

static void test_maj_hand(void) {
  double m[8];
  /* A A B, A correct: maj@1 = 2/3; maj@2: {A,A} 1, {A,B} x2 ties 1/2 -> 2/3; maj@3: A wins. */
  int s1[] = {2, 1}, c1[] = {1, 0};
  rlvr_maj_at_k_curve(3, s1, c1, 2, m);
  CHECK_MSG(fabs(m[0] - 2.0 / 3) < 1e-14 && fabs(m[1] - 2.0 / 3) < 1e-14 && fabs(m[2] - 1) < 1e-14, "AAB: %g %g %g", m[0], m[1], m[2]);
  /* A A B B, A correct: 1/2 at every k (AB subsets tie; AABB ties). */
  int s2[] = {2, 2}, c2[] = {1, 0};
  rlvr_maj_at_k_curve(4, s2, c2, 2, m);
  for (int k = 0; k < 4; k++) CHECK_MSG(fabs(m[k] - 0.5) < 1e-14, "AABB maj@%d %g", k + 1, m[k]);
  /* A and two samples without an answer: maj@k = P(A in the subset) = k/3. */
  int s3[] = {1}, c3[] = {1};
  rlvr_maj_at_k_curve(3, s3, c3, 1, m);
  for (int k = 0; k < 3; k++) CHECK_MSG(fabs(m[k] - (k + 1) / 3.0) < 1e-14, "A.. maj@%d %g", k + 1, m[k]);
  /* A A B C D, A correct, k = 3: 3 subsets hold both A (win), 6 hold one A
   * (three-way tie, 1/3 each), 1 holds none: (3 + 2) / 10. */
  int s4[] = {2, 1, 1, 1}, c4[] = {1, 0, 0, 0};
  rlvr_maj_at_k_curve(5, s4, c4, 4, m);
  CHECK_MSG(fabs(m[2] - 0.5) < 1e-14, "AABCD maj@3 %g", m[2]);
  CHECK_MSG(fabs(m[0] - 0.4) < 1e-14 && fabs(m[4] - 1) < 1e-14, "AABCD maj@1 %g maj@5 %g", m[0], m[4]);
  /* no answers at all */
  rlvr_maj_at_k_curve(4, NULL, NULL, 0, m);
  CHECK(m[0] == 0 && m[3] == 0);
  printf("ok   maj@k: hand-computed cases\n");
}

/* The definition itself: every subset of k samples, its vote. */
static void brute_maj(int n, const int *label, const int *gcorrect, int ng, double *out) {
  double sum[16] = {0}, cnt[16] = {0};
  for (unsigned mask = 1; mask < (1u << n); mask++) {
    int k = __builtin_popcount(mask), votes[16] = {0}, top = 0;
    for (int i = 0; i < n; i++)
      if ((mask >> i & 1) && label[i] >= 0) votes[label[i]]++;
    for (int g = 0; g < ng; g++)
      if (votes[g] > top) top = votes[g];
    double score = 0;
    if (top > 0) {
      int tied = 0, good = 0;
      for (int g = 0; g < ng; g++)
        if (votes[g] == top) tied++, good += gcorrect[g];
      score = (double)good / tied;
    }
    sum[k] += score, cnt[k] += 1;
  }
  for (int k = 1; k <= n; k++) out[k - 1] = sum[k] / cnt[k];
}

static void test_maj_brute(void) {
  rlvr_rng r;
  rlvr_rng_seed(&r, 12345);
  double worst = 0;
  int cases = 0;
  for (int trial = 0; trial < 300; trial++) {
    const int n = 1 + (int)(rlvr_rng_u64(&r) % 12), kinds = 1 + (int)(rlvr_rng_u64(&r) % 5);
    int label[16], size[16] = {0}, correct[16], remap[16], ng = 0;
    for (int i = 0; i < 16; i++) remap[i] = -1;
    for (int i = 0; i < n; i++) { /* answer kinds 0..kinds-1, or none (kind == kinds) */
      int kind = (int)(rlvr_rng_u64(&r) % (uint64_t)(kinds + 1));
      if (kind == kinds) {
        label[i] = -1;
        continue;
      }
      if (remap[kind] < 0) remap[kind] = ng++, correct[remap[kind]] = (int)(rlvr_rng_u64(&r) % 2);
      label[i] = remap[kind];
      size[label[i]]++;
    }
    double got[16], want[16];
    rlvr_maj_at_k_curve(n, size, correct, ng, got);
    brute_maj(n, label, correct, ng, want);
    for (int k = 0; k < n; k++) worst = fmax(worst, fabs(got[k] - want[k]));
    cases += n;
  }
  CHECK_MSG(worst < 1e-12, "maj@k against brute force: largest difference %g", worst);
  printf("ok   maj@k against every subset: 300 random sample sets (n <= 12, %d values of k), largest difference %.3g\n", cases, worst);
}

static void test_maj_large(void) {
  enum { N1 = 300, C1 = 71 };
  int *size = malloc(sizeof(int) * 1024), *correct = malloc(sizeof(int) * 1024);
  double *got = malloc(sizeof(double) * 1024), *want = malloc(sizeof(double) * 1024);
  for (int g = 0; g < N1; g++) size[g] = 1, correct[g] = g < C1;
  rlvr_maj_at_k_curve(N1, size, correct, N1, got);
  for (int k = 0; k < N1; k++) want[k] = (double)C1 / N1;
  int at = 0;
  double d = max_rel(got, want, N1, &at);
  CHECK_MSG(d < 1e-10, "all distinct, n %d: largest relative difference %g at k %d", N1, d, at + 1);
  printf("ok   maj@k, %d distinct answers, %d correct: c/n at every k, largest relative difference %.3g\n", N1, C1, d);
  /* one correct group of m among n - m unanswered: the subset wins when it holds one of the group */
  const int n = 1024, m = 512;
  size[0] = m, correct[0] = 1;
  rlvr_maj_at_k_curve(n, size, correct, 1, got);
  for (int k = 1; k <= n; k++) want[k - 1] = 1.0 - binom(n - m, k) / binom(n, k);
  d = max_rel(got, want, n, &at);
  CHECK_MSG(d < 1e-9, "n %d, one group of %d: largest relative difference %g at k %d", n, m, d, at + 1);
  /* two groups, one correct, sizes 512 and 512: 1/2 by symmetry at every k */
  size[0] = 512, size[1] = 512, correct[0] = 1, correct[1] = 0;
  rlvr_maj_at_k_curve(n, size, correct, 2, got);
  double d2 = 0;
  for (int k = 0; k < n; k++) d2 = fmax(d2, fabs(got[k] - 0.5));
  CHECK_MSG(d2 < 1e-9, "n 1024, two halves: largest difference from 1/2 %g", d2);
  printf("ok   maj@k, n 1024 (C(1024,512) ~ 4.5e306): one group among unanswered, largest relative difference %.3g; two halves, %.3g\n",
         d, d2);
  free(size), free(correct), free(got), free(want);
}

static void test_axes(void) {
  rlvr_ttscale_axes a;
  memset(&a, 0, sizeof a);
  rlvr_eval_options base, *o;
  memset(&base, 0, sizeof base);
  base.samples = 1;
  base.batch = 1;
  rlvr_engine_params_default(&base.params);
  base.params.max_tokens = 50;
  int n;
  CHECK(rlvr_ttscale_grid(&a, &base, &o, &n) == RLVR_ERR_CONFIG);
  CHECK(rlvr_ttscale_parse_axis(&a, "max_think_tokens=0,16,32") == RLVR_OK);
  CHECK(rlvr_ttscale_parse_axis(&a, "budget.max_waits=0,2") == RLVR_OK);
  CHECK(rlvr_ttscale_parse_axis(&a, "max_waits=1") == RLVR_ERR_CONFIG); /* twice */
  printf("     %s\n", rlvr_error_message());
  CHECK(rlvr_ttscale_parse_axis(&a, "think=1") == RLVR_ERR_CONFIG);
  CHECK(rlvr_ttscale_parse_axis(&a, "min_think_tokens=1,x") == RLVR_ERR_CONFIG);
  CHECK(rlvr_ttscale_parse_axis(&a, "min_think_tokens=-1") == RLVR_ERR_CONFIG);
  CHECK(rlvr_ttscale_parse_axis(&a, "min_think_tokens=4,4") == RLVR_ERR_CONFIG);
  printf("     %s\n", rlvr_error_message());
  CHECK(rlvr_ttscale_grid(&a, &base, &o, &n) == RLVR_OK && n == 6);
  const int want_cap[6] = {0, 0, 16, 16, 32, 32}, want_w[6] = {0, 2, 0, 2, 0, 2};
  for (int i = 0; i < n; i++)
    CHECK_MSG(o[i].params.budget == 1 && o[i].params.max_think_tokens == want_cap[i] && o[i].params.max_waits == want_w[i] &&
                  o[i].params.min_think_tokens == 50,
              "setting %d: cap %d waits %d min %d", i, o[i].params.max_think_tokens, o[i].params.max_waits,
              o[i].params.min_think_tokens);
  char label[256];
  rlvr_ttscale_label(&a, &o[3], label, sizeof label);
  CHECK_MSG(!strcmp(label, "max_think_tokens=16 max_waits=2"), "label '%s'", label);
  free(o);
  base.params.min_think_tokens = 7; /* set by the user: kept */
  CHECK(rlvr_ttscale_grid(&a, &base, &o, &n) == RLVR_OK && o[5].params.min_think_tokens == 7);
  free(o);
  rlvr_ttscale_axes big;
  memset(&big, 0, sizeof big);
  CHECK(rlvr_ttscale_parse_axis(&big, "max_think_tokens=1,2,3,4,5,6,7,8,9") == RLVR_OK);
  CHECK(rlvr_ttscale_parse_axis(&big, "max_waits=1,2,3,4,5,6,7,8") == RLVR_OK);
  CHECK(rlvr_ttscale_grid(&big, &base, &o, &n) == RLVR_ERR_CONFIG); /* 72 settings */
  printf("ok   sweep axes and grids\n");
}

/* Thinks "th", ends its thinking at once ("</think>"), and answers 6; after a
 * "Wait" it thinks "th" again and answers 5 (right). A thinking cut (the
 * answer prefix inserted) gets the answer 4. */
static const char *wait_target(const char *prompt, const char *c, void *user) {
  (void)prompt, (void)user;
  static char buf[1024];
  const char *cut = strstr(c, " </think> <answer>");
  if (cut) {
    snprintf(buf, sizeof buf, "%.*s </think> <answer>4</answer>", (int)(cut - c), c);
    return buf;
  }
  int w = 0;
  for (const char *p = c; (p = strstr(p, "Wait")); p += 4) w++;
  strcpy(buf, "th");
  for (int i = 0; i < w; i++) strcat(buf, "Waitth");
  strcat(buf, w ? "</think> <answer>5</answer>" : "</think> <answer>6</answer>");
  return buf;
}

static void test_sweep_fake(void) {
  rlvr_tokenizer *tok;
  CHECK(rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &tok) == RLVR_OK);
  const int V = rlvr_tokenizer_vocab_size(tok);
  const int32_t eos = rlvr_tokenizer_token_id(tok, "<|im_end|>");
  fake_source fs;
  fake_init(&fs, tok, V, 4, 128, eos, wait_target, NULL);
  rlvr_engine *e = rlvr_engine_build(&fs.src, tok, &eos, 1, 1);
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  vo.workers = 0;
  rlvr_verify_pool *pool;
  CHECK(rlvr_pool_build(&pool, &vo) == RLVR_OK);
  const char *prompt_text = "Q: <think>";
  int32_t prompt[64];
  size_t np;
  rlvr_tokenizer_encode(tok, prompt_text, strlen(prompt_text), 0, prompt, 64, &np);
  rlvr_eval_problem probs[2];
  for (int i = 0; i < 2; i++)
    probs[i] = (rlvr_eval_problem){.id = i ? "b" : "a", .prompt_text = prompt_text, .prompt = prompt, .nprompt = (int)np,
                                   .verifier = "math", .reference = "5"};
  rlvr_eval_options base;
  memset(&base, 0, sizeof base);
  base.samples = 3;
  base.pass_k[0] = 1, base.pass_k[1] = 3, base.npass_k = 2;
  base.batch = 2;
  base.curves = 1;
  rlvr_engine_params_default(&base.params); /* greedy: the script */
  base.params.max_tokens = 80;
  rlvr_ttscale_axes a;
  memset(&a, 0, sizeof a);
  CHECK(rlvr_ttscale_parse_axis(&a, "max_think_tokens=0,2") == RLVR_OK);
  CHECK(rlvr_ttscale_parse_axis(&a, "max_waits=0,1,3") == RLVR_OK);
  rlvr_eval_options *o;
  int n;
  CHECK(rlvr_ttscale_grid(&a, &base, &o, &n) == RLVR_OK && n == 6);
  rlvr_eval_summary s[6];
  memset(s, 0, sizeof s);
  for (int i = 0; i < n; i++) CHECK_MSG(rlvr_eval_run(e, tok, pool, &o[i], probs, 2, NULL, &s[i]) == RLVR_OK, "%s", rlvr_error_message());
  /* no cap: settings 0..2, waits 0, 1, 3 */
  const int waits[3] = {0, 1, 3};
  for (int i = 0; i < 3; i++) {
    CHECK_MSG(s[i].waits == 6 * waits[i], "setting %d: %lld waits, want %d", i, (long long)s[i].waits, 6 * waits[i]);
    CHECK_MSG(s[i].pass1 == (waits[i] ? 1.0 : 0.0), "setting %d: accuracy %g", i, s[i].pass1);
    CHECK(s[i].think_cut == 0 && s[i].ncurve == 3);
    if (i) CHECK_MSG(s[i].think_tokens > s[i - 1].think_tokens, "thinking %lld after %lld", (long long)s[i].think_tokens,
                     (long long)s[i - 1].think_tokens);
    for (int k = 0; k < 3; k++) /* identical samples: the curves are flat at the accuracy */
      CHECK(fabs(s[i].curve_pass[k] - s[i].pass1) < 1e-12 && fabs(s[i].curve_maj[k] - s[i].pass1) < 1e-12);
  }
  /* cap 2: every sample's thinking cut at 2 tokens, before its "</think>"
   * is complete (so no wait), and the cut answer 4 is wrong */
  for (int i = 3; i < 6; i++)
    CHECK_MSG(s[i].pass1 == 0 && s[i].think_cut == 6 && s[i].think_tokens == 2 * 6 && s[i].waits == 0,
              "setting %d: accuracy %g, %lld cut, thinking %lld, waits %lld", i, s[i].pass1, (long long)s[i].think_cut,
              (long long)s[i].think_tokens, (long long)s[i].waits);
  printf("ok   sweep on the scripted model: mean thinking tokens %.1f, %.1f, %.1f with 0, 1, 3 waits (accuracy %.0f, %.0f, %.0f); "
         "%.1f at cap 2\n",
         s[0].think_tokens / 6.0, s[1].think_tokens / 6.0, s[2].think_tokens / 6.0, s[0].pass1, s[1].pass1, s[2].pass1,
         s[3].think_tokens / 6.0);

  /* the record, the table and the page */
  const char *files[6] = {"s0.jsonl", "s1.jsonl", "s2.jsonl", "s3.jsonl", "s4.jsonl", "s5.jsonl"};
  rlvr_ttscale_info info = {.model = "fake", .task = "waits", .split = "heldout"};
  char *json = rlvr_ttscale_json(&info, &a, o, s, files, n);
  cJSON *j = cJSON_Parse(json);
  CHECK(j != NULL);
  const cJSON *st = cJSON_GetObjectItem(j, "settings");
  CHECK(cJSON_GetArraySize(st) == 6);
  const cJSON *s2 = cJSON_GetArrayItem(st, 2);
  CHECK(!strcmp(cJSON_GetObjectItem(s2, "label")->valuestring, "max_think_tokens=0 max_waits=3"));
  CHECK(cJSON_GetObjectItem(s2, "max_waits")->valuedouble == 3 && cJSON_GetObjectItem(s2, "min_think_tokens")->valuedouble == 80);
  const cJSON *sum2 = cJSON_GetObjectItem(s2, "summary"), *b2 = cJSON_GetObjectItem(sum2, "budget");
  CHECK(fabs(cJSON_GetObjectItem(b2, "mean_think_tokens")->valuedouble - s[2].think_tokens / 6.0) < 1e-12);
  CHECK(cJSON_GetObjectItem(b2, "mean_waits")->valuedouble == 3.0);
  const cJSON *curves = cJSON_GetObjectItem(sum2, "curves");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(curves, "maj@k")) == 3 && cJSON_GetArraySize(cJSON_GetObjectItem(curves, "k")) == 3);
  cJSON_Delete(j);
  char *md = NULL, *html = NULL;
  CHECK(rlvr_ttscale_markdown(json, &md) == RLVR_OK && rlvr_ttscale_html(json, &html) == RLVR_OK);
  int rows = 0;
  for (const char *p = md; (p = strchr(p, '\n')); p++) rows++;
  CHECK_MSG(rows == 8, "markdown: %d lines, want a header, a rule and 6 rows", rows);
  CHECK(md && strstr(md, "| 2 | max_think_tokens=0 max_waits=3 | 1.0000 |"));
  int svgs = 0;
  for (const char *p = html; (p = strstr(p, "<svg")); p++) svgs++;
  CHECK_MSG(svgs == 3, "html: %d plots, want 3", svgs);
  CHECK(!strstr(html, "<script") && !strstr(html, "http://www.w3.org/2000/svg\" src") && strstr(html, "max_waits=3"));
  free(md), free(html);
  CHECK(rlvr_ttscale_html("[1]", &html) == RLVR_ERR_FORMAT);
  CHECK(rlvr_ttscale_markdown("{\"settings\": [{\"label\": 1}]}", &md) == RLVR_ERR_FORMAT);
  printf("     %s\n", rlvr_error_message());
  free(json);
  printf("ok   sweep record, markdown table, HTML page (3 inline SVG plots, no scripts)\n");
  for (int i = 0; i < n; i++) rlvr_eval_summary_clear(&s[i]);
  free(o);
  rlvr_pool_free(pool);
  rlvr_engine_free(e);
  fake_free(&fs);
  rlvr_tokenizer_free(tok);
}

int main(void) {
  omp_set_num_threads(1);
  test_maj_hand();
  test_maj_brute();
  test_maj_large();
  test_axes();
  test_sweep_fake();
  return test_done();
}
