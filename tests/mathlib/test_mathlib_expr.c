/* test_mathlib_expr.c — the math answer parser (canonical forms and exact
 * values), answer extraction, equivalence and the countdown arithmetic.
 * Every expected value here was decided by hand (what a careful grader
 * would say), not produced by the code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "testing.h"
#include "verifiers/mathlib_arith.h"
#include "verifiers/mathlib_equiv.h"
#include "verifiers/mathlib_expr.h"
#include "verifiers/mathlib_extract.h"

static rlvr_mctx M;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* input -> canonical form, and its exact value ("-" when not exact). */
static const struct { const char *in, *canon, *value; } parse_cases[] = {
    {"\\frac{1}{2}", "1/2", "1/2"},
    {"\\dfrac12", "1/2", "1/2"},
    {"\\tfrac{3}{4}", "3/4", "3/4"},
    {"\\frac123", "1/2*3", "3/2"}, /* LaTeX: \frac12 then 3 */
    {"0.5", "1/2", "1/2"},
    {".5", "1/2", "1/2"},
    {"-.25", "-1/4", "-1/4"},
    {"1,000", "1000", "1000"},
    {"1{,}000{,}000", "1000000", "1000000"},
    {"12\\,345", "12345", "12345"},
    {"1,2", "1,2", "-"},
    {"3\\frac{1}{2}", "3+1/2", "7/2"},
    {"2\\frac{3}{2}", "2*3/2", "3"}, /* improper: a product, not a mixed number */
    {"1.2e-3", "3/2500", "3/2500"},
    {"2.5 \\times 10^{3}", "5/2*10^3", "2500"},
    {"6.02\\cdot10^{23}", "301/50*10^23", "602000000000000000000000"},
    {"50\\%", "50%", "1/2"},
    {"30^\\circ", "30", "30"},
    {"30^{\\circ}", "30", "30"},
    {"\\$1,234.50", "2469/2", "2469/2"},
    {"5 \\text{ cm}", "5", "5"},
    {"12 meters", "12", "12"},
    {"\\frac{3}{4}\\text{ inches}^2", "3/4", "3/4"},
    {"\\sqrt3", "sqrt(3)", "-"},
    {"\\sqrt{16}", "sqrt(16)", "4"},
    {"\\sqrt{\\frac{9}{4}}", "sqrt(9/4)", "3/2"},
    {"\\sqrt[3]{-27}", "root(3,-27)", "-3"},
    {"8^{2/3}", "8^(2/3)", "4"},
    {"\\left( \\frac{1}{2} \\right)^{-2}", "(1/2)^(-2)", "4"},
    {"2^{10}", "2^10", "1024"},
    {"2^10", "2^10", "1024"}, /* plain text: the whole number is the exponent */
    {"-2^2", "-2^2", "-4"},
    {"10!", "10!", "3628800"},
    {"\\binom{10}{3}", "binom(10,3)", "120"},
    {"\\dbinom{5}{0}", "binom(5,0)", "1"},
    {"|-7|", "abs(-7)", "7"},
    {"\\lfloor -2.5 \\rfloor", "floor(-5/2)", "-3"},
    {"\\lceil 2.1 \\rceil", "ceil(21/10)", "3"},
    {"(1, 2]", "(1,2]", "-"},
    {"[0,1)", "[0,1)", "-"},
    {"\\{1, 2\\}", "{1,2}", "-"},
    {"\\emptyset", "{}", "-"},
    {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "[[1,2],[3,4]]", "-"},
    {"x = \\pm 3", "x=+-3", "-"},
    {"2x^2 + 3x - 1", "2*x^2+3*x-1", "-"},
    {"\\sin^2 x", "sin(x)^2", "-"},
    {"\\sin^{-1}(x)", "asin(x)", "-"},
    {"\\log_{2} 8", "log(2,8)", "-"},
    {"\\log_2 128", "log(2,128)", "-"}, /* a space is not a thousands separator */
    {"\\log_28", "log(2,8)", "-"},     /* LaTeX: one character of subscript */
    {"2 128", "2*128", "256"},
    {"\\text{Tuesday}", "\"Tuesday\"", "-"},
    {"no solution", "\"no solution\"", "-"},
    {"x_{1} + x_2", "x_1+x_2", "-"},
    {"f(x) = x^2", "f(x)=x^2", "-"},
    {"x \\in [1, 2]", "x in [1,2]", "-"},
    {"-1 < x \\le 3", "-1<x<=3", "-"},
    {"(-\\infty, 0) \\cup (1, \\infty)", "(-oo,0) U (1,oo)", "-"},
    {"\\frac{1}{2^{99}}", "1/2^99", "1/633825300114114700748351602688"},
    {"1011_2", "1011_2", "-"}, /* a number in base 2 keeps its base */
    {"\\mathbf{v}", "v", "-"},
    {"\\overline{AB}", "\\overline{A*B}", "-"},
    {"π/2", "pi/2", "-"},
    {"3 × 4", "3*4", "12"},
    {"−5", "-5", "-5"},
    {"x ≥ 2", "x>=2", "-"},
};

static void test_parse(void) {
  int bad = 0;
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    rlvr_mctx_reset(&M);
    rlvr_mx_expr e;
    const char *in = parse_cases[i].in;
    int err = rlvr_mx_parse(&M, in, strlen(in), &e);
    CHECK_MSG(err == RLVR_OK, "parse '%s': %s", in, rlvr_error_message());
    if (err) {
      bad++;
      continue;
    }
    char *s;
    size_t n;
    CHECK(rlvr_mx_print(&M, e.root, &s, &n) == RLVR_OK);
    int ok = !strcmp(s, parse_cases[i].canon);
    CHECK_MSG(ok, "'%s' printed '%s', want '%s'", in, s, parse_cases[i].canon);
    rlvr_rat r;
    const char *want = parse_cases[i].value;
    rlvr_mx_exactness ex = rlvr_mx_eval_exact(&M, e.root, &r);
    if (!strcmp(want, "-")) {
      CHECK_MSG(ex != RLVR_MX_EXACT, "'%s' should not be exact", in);
      ok &= ex != RLVR_MX_EXACT;
    } else {
      char *v = "<not exact>";
      size_t vl;
      if (ex == RLVR_MX_EXACT) rlvr_rat_to_str(&M, &r, &v, &vl);
      CHECK_MSG(ex == RLVR_MX_EXACT && !strcmp(v, want), "'%s' = %s, want %s", in, v, want);
      ok &= ex == RLVR_MX_EXACT && !strcmp(v, want);
    }
    bad += !ok;
  }
  printf("ok   parse: %zu cases, %d mismatches\n", sizeof parse_cases / sizeof parse_cases[0], bad);
}

/* Inputs that must be refused (RLVR_ERR_*), never crash. */
static void test_parse_errors(void) {
  const char *bad[] = {"", "(", "\\frac{1}", "1 +", "[1, 2", "\\begin{pmatrix} 1 & 2 \\\\ 3 \\end{pmatrix}",
                       "x = = ", "\\sqrt", "|x", "((((", "\xff\xfe", "1)"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rlvr_mctx_reset(&M);
    rlvr_mx_expr e;
    int err = rlvr_mx_parse(&M, bad[i], strlen(bad[i]), &e);
    CHECK_MSG(err != RLVR_OK, "'%s' should not parse", bad[i]);
  }
  /* nesting deeper than the cap: an error, not a stack overflow */
  static char deep[20001];
  memset(deep, '(', 10000);
  memset(deep + 10000, ')', 10000);
  rlvr_mctx_reset(&M);
  rlvr_mx_expr e;
  CHECK(rlvr_mx_parse(&M, deep, 20000, &e) == RLVR_ERR_RANGE);
  /* longer than the input cap */
  static char longin[RLVR_MX_MAX_INPUT + 10];
  memset(longin, '1', sizeof longin);
  CHECK(rlvr_mx_parse(&M, longin, sizeof longin, &e) == RLVR_ERR_RANGE);
  /* 8000 terms: within caps, parsed in time */
  static char sum[16001];
  for (int i = 0; i < 8000; i++) sum[2 * i] = '1', sum[2 * i + 1] = '+';
  sum[15999] = '1';
  rlvr_mctx_reset(&M);
  double t0 = now();
  CHECK(rlvr_mx_parse(&M, sum, 15999, &e) == RLVR_OK);
  rlvr_rat r;
  CHECK(rlvr_mx_eval_exact(&M, e.root, &r) == RLVR_MX_EXACT);
  CHECK(rlvr_rat_to_double(&r) == 8000.0);
  printf("ok   8000-term sum parsed and summed in %.3g s\n", now() - t0);
}

/* completion -> extracted answer ("" = nothing found) and the rule. */
static const struct { const char *text, *answer; rlvr_mx_extraction how; } extract_cases[] = {
    {"so the answer is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", RLVR_MXE_BOXED},
    {"\\boxed{1} then \\boxed{2}", "2", RLVR_MXE_BOXED},
    {"\\boxed{\\{1, 2\\}}", "\\{1, 2\\}", RLVR_MXE_BOXED},
    {"\\boxed{ \\frac{a}{b} }", "\\frac{a}{b}", RLVR_MXE_BOXED},
    {"\\fbox{7}", "7", RLVR_MXE_BOXED},
    {"\\boxed 5 is it", "5", RLVR_MXE_BOXED},
    {"\\boxed{3} and later \\boxed{4", "3", RLVR_MXE_BOXED}, /* the unclosed one is not an answer */
    {"\\boxed{}", "", RLVR_MXE_BOXED},
    {"<think>2+2</think><answer>4</answer>", "4", RLVR_MXE_ANSWER_TAG},
    {"<answer> $\\frac{3}{4}$ </answer>", "\\frac{3}{4}", RLVR_MXE_ANSWER_TAG},
    {"<answer>so \\boxed{9}</answer> \\boxed{8}", "9", RLVR_MXE_ANSWER_TAG},
    {"<answer>unclosed \\boxed{8}", "8", RLVR_MXE_BOXED},
    {"Natalia sold 48+24 = 72 clips.\n#### 72", "72", RLVR_MXE_GSM8K},
    {"The final answer is $42$. I hope it is correct.", "42", RLVR_MXE_ANSWER_IS},
    {"Final Answer: The final answer is 3.5. I hope", "3.5", RLVR_MXE_ANSWER_IS},
    {"**Answer:** 17", "17", RLVR_MXE_ANSWER_IS},
    {"the answer is \\(x^2\\)", "x^2", RLVR_MXE_ANSWER_IS},
    {"I computed 3 and then 5 apples.", "", RLVR_MXE_NONE},
    {"", "", RLVR_MXE_NONE},
};

static void test_extract(void) {
  rlvr_mx_extract_opts o;
  rlvr_mx_extract_opts_default(&o);
  for (size_t i = 0; i < sizeof extract_cases / sizeof extract_cases[0]; i++) {
    const char *t = extract_cases[i].text;
    size_t start = 0, len = 0;
    rlvr_mx_extraction e = rlvr_mx_extract(t, strlen(t), &o, &start, &len);
    int ok = e == extract_cases[i].how &&
             (e == RLVR_MXE_NONE || (len == strlen(extract_cases[i].answer) && !memcmp(t + start, extract_cases[i].answer, len)));
    CHECK_MSG(ok, "extract '%s': got %s '%.*s', want %s '%s'", t, rlvr_mx_extraction_name(e), (int)len, t + start,
              rlvr_mx_extraction_name(extract_cases[i].how), extract_cases[i].answer);
  }
  /* the last-number fallback only when asked */
  const char *t = "I computed 3 and then 5 apples.";
  size_t start, len;
  o.last_number = 1;
  CHECK(rlvr_mx_extract(t, strlen(t), &o, &start, &len) == RLVR_MXE_LAST_NUMBER && len == 1 && t[start] == '5');
  const char *t2 = "costs -1,234.5 dollars";
  CHECK(rlvr_mx_extract(t2, strlen(t2), &o, &start, &len) == RLVR_MXE_LAST_NUMBER && len == 8 && !memcmp(t2 + start, "-1,234.5", 8));
  o.last_number = 0;
  /* custom tags; tags off */
  o.tag_open = "<final>";
  o.tag_close = "</final>";
  const char *t3 = "<answer>1</answer><final>2</final>";
  CHECK(rlvr_mx_extract(t3, strlen(t3), &o, &start, &len) == RLVR_MXE_ANSWER_TAG && t3[start] == '2');
  o.tag_open = NULL;
  CHECK(rlvr_mx_extract(t3, strlen(t3), &o, &start, &len) == RLVR_MXE_NONE);
  /* gold from a worked solution */
  const char *sol = "We have $x = 2$, so the answer is $\\boxed{2}$.";
  rlvr_mx_extract_gold(sol, strlen(sol), &start, &len);
  CHECK(len == 1 && sol[start] == '2');
  const char *gsm = "3 + 4 = 7\n#### 7";
  rlvr_mx_extract_gold(gsm, strlen(gsm), &start, &len);
  CHECK(len == 1 && gsm[start] == '7');
  const char *plain = "  -3/4 ";
  rlvr_mx_extract_gold(plain, strlen(plain), &start, &len);
  CHECK(len == 4 && !memcmp(plain + start, "-3/4", 4));
}

static void test_extract_hostile(void) {
  /* 10 MB of unclosed "\boxed{": bounded work, nothing found */
  size_t n = 10u << 20;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++) big[i] = "\\boxed{"[i % 7];
  rlvr_mx_extract_opts o;
  rlvr_mx_extract_opts_default(&o);
  size_t start, len;
  double t0 = now();
  rlvr_mx_extraction e = rlvr_mx_extract(big, n, &o, &start, &len);
  double dt = now() - t0;
  CHECK(e == RLVR_MXE_NONE);
  CHECK_MSG(dt < 2.0, "10 MB of unclosed boxes took %.2f s", dt);
  printf("ok   10 MB of unclosed \\boxed{ scanned in %.3f s\n", dt);
  /* 10 MB of text and invalid UTF-8 with an answer at the end */
  for (size_t i = 0; i < n; i++) big[i] = (char)(i % 3 ? 'a' : 0xff);
  memcpy(big + n - 12, "\\boxed{42}  ", 12);
  t0 = now();
  e = rlvr_mx_extract(big, n, &o, &start, &len);
  dt = now() - t0;
  CHECK(e == RLVR_MXE_BOXED && len == 2 && !memcmp(big + start, "42", 2));
  /* no answer at all in 10 MB: every rule scans and gives up */
  for (size_t i = 0; i < n; i++) big[i] = (char)(i % 5 ? 'x' : 0xc3);
  t0 = now();
  e = rlvr_mx_extract(big, n, &o, &start, &len);
  double dt2 = now() - t0;
  CHECK(e == RLVR_MXE_NONE);
  CHECK_MSG(dt + dt2 < 3.0, "10 MB scans took %.2f s", dt + dt2);
  printf("ok   10 MB with invalid UTF-8: %.3f s (answer at the end), %.3f s (none)\n", dt, dt2);
  free(big);
}

/* gold, answer, expected: decided by hand. */
static const struct { const char *gold, *ans; int want; } equiv_cases[] = {
    {"\\frac{1}{2}", "0.5", 1},
    {"\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", 0},
    {"\\frac{1}{2004!}", "\\frac{1}{2006!}", 0},
    {"\\frac{1}{2004!}", "\\frac{2005 \\cdot 2006}{2006!}", 1},
    {"2021", "\\pm 2021", 0},
    {"2021", "+-2021", 0},
    {"\\pm 2021", "\\pm 2021", 1},
    {"\\pm 2", "2, -2", 1},
    {"x=-1", "x^2+2x+1=0", 0},
    {"x=-1", "-1", 1},
    {"-1", "x=-1", 1},
    {"-1", "x^2+2x+1=0", 0},
    {"0", "x^2+2x+1=0", 0},
    {"5", "2+3=5", 1},
    {"5", "2+3=6", 0},
    {"y=2x+1", "2x-y+1=0", 1},
    {"y=2x+1", "2x+1", 1},
    {"x=3", "y=3", 0},
    {"x = -1", "x + 1 = 0", 0},
    {"\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", 1},
    {"\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt{2}}", 1},
    {"\\sqrt{2}", "1.414214", 1},
    {"\\sqrt{2}", "1.41", 0},
    {"\\frac13", "0.333333", 1},
    {"\\frac13", "0.33", 0},
    {"\\frac23", "0.666667", 1},
    {"\\pi", "3.14", 0},
    {"\\pi", "\\frac{355}{113}", 0},
    {"(x+1)^2", "x^2+2x+1", 1},
    {"\\sqrt{x^2}", "x", 0},
    {"|x|", "\\sqrt{x^2}", 1},
    {"2x", "2y", 0},
    {"[1, 2)", "[1,2)", 1},
    {"[1, 2)", "(1,2]", 0},
    {"(3, \\infty)", "x > 3", 1},
    {"[3, \\infty)", "x > 3", 0},
    {"-1 < x < 3", "(-1, 3)", 1},
    {"(-\\infty, 1) \\cup (2, \\infty)", "(2,\\infty)\\cup(-\\infty,1)", 1},
    {"\\{1,2,3\\}", "\\{3,2,1\\}", 1},
    {"(1,2,3)", "(3,2,1)", 0},
    {"3", "1, 2, 3", 0},
    {"C", "A, B, C, D", 0},
    {"\\text{(C)}", "C", 1},
    {"\\text{Tuesday}", "Monday", 0},
    {"50\\%", "50", 1},
    {"0.5", "50\\%", 1},
    {"5", "5\\%", 1},
    {"0.05", "5\\%", 1},
    {"5", "0.05", 0},
    {"30^\\circ", "30", 1},
    {"1000", "1,000", 1},
    {"12", "1,2", 0},
    {"\\frac{7}{2}", "3\\frac{1}{2}", 1},
    {"2500", "2.5 \\times 10^{3}", 1},
    {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", 1},
    {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", 0},
    {"2^{999999}", "2^{999999}", 1},
    {"2^{999999}", "2^{999998}", 0},
    {"2^{999999}", "\\infty", 0},
    {"\\frac{1}{2^{999999}}", "0", 0},
    {"1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", 1},
    {"\\sin^2 x", "1 - \\cos^2 x", 1},
    {"e^{i\\pi}", "-1", 1},
    {"\\infty", "\\infty", 1},
    {"-\\infty", "\\infty", 0},
    {"x = 1, y = 2", "2, 1", 0},
    {"x = 1, y = 2", "y = 2, x = 1", 1},
    {"3", "", 0},
};

static void test_equiv(void) {
  int bad = 0;
  for (size_t i = 0; i < sizeof equiv_cases / sizeof equiv_cases[0]; i++) {
    rlvr_mctx_reset(&M);
    rlvr_mq_result r;
    const char *g = equiv_cases[i].gold, *a = equiv_cases[i].ans;
    rlvr_mq_equal(&M, g, strlen(g), a, strlen(a), NULL, &r);
    CHECK_MSG(r.equal == equiv_cases[i].want, "'%s' vs '%s': %d by %s, want %d", g, a, r.equal, r.method,
              equiv_cases[i].want);
    bad += r.equal != equiv_cases[i].want;
  }
  printf("ok   equivalence: %zu cases, %d mismatches\n", sizeof equiv_cases / sizeof equiv_cases[0], bad);
}

static void test_verify(void) {
  rlvr_mq_verdict v;
  const char *c = "Thinking... \\boxed{3} no wait \\boxed{\\frac{1}{2}}";
  rlvr_mctx_reset(&M);
  rlvr_mq_verify(&M, c, strlen(c), "0.5", 3, NULL, NULL, &v);
  CHECK(v.score == 1 && !v.wrong_format && v.extraction == RLVR_MXE_BOXED);
  rlvr_mq_verify(&M, "no answer here", 14, "0.5", 3, NULL, NULL, &v);
  CHECK(v.score == 0 && v.wrong_format);
  rlvr_mq_verify(&M, "\\boxed{}", 8, "0.5", 3, NULL, NULL, &v);
  CHECK(v.score == 0 && v.wrong_format);
  rlvr_mq_verify(&M, "\\boxed{5}", 9, "", 0, NULL, NULL, &v);
  CHECK(v.score == 0 && !v.wrong_format);
  /* the gold inside a solution */
  const char *sol = "Since 2+2=4, the answer is \\boxed{4}.";
  rlvr_mq_verify(&M, "\\boxed{4}", 9, sol, strlen(sol), NULL, NULL, &v);
  CHECK(v.score == 1);
  /* invalid UTF-8 around the answer */
  const char *u = "\xff\xfe\xc3 \\boxed{\xff 7} \xe2\x82";
  rlvr_mq_verify(&M, u, strlen(u), "7", 1, NULL, NULL, &v);
  CHECK(v.score == 0 && !v.wrong_format);
  const char *u2 = "\xff\xfe\xc3 \\boxed{7} \xe2\x82";
  rlvr_mq_verify(&M, u2, strlen(u2), "7", 1, NULL, NULL, &v);
  CHECK(v.score == 1);
}

static void test_arith(void) {
  static const struct { const char *in, *value; int nnums; } ok_cases[] = {
      {"(100 - 4) / 4", "24", 3}, {"25 * 4 - 76", "24", 3}, {"3 \\times (8 \\div 4)", "6", 3},
      {"1 / 3 + 1 / 6", "1/2", 4}, {"[2 + 3] * {4}", "20", 3}, {"\\left(6 - 1\\right) \\cdot 5", "25", 3},
      {"7 − 2", "5", 2}, {"-(3 - 5)", "2", 2}, {"6 ÷ 4", "3/2", 2},
  };
  for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
    rlvr_mctx_reset(&M);
    rlvr_arith_result r;
    int err = rlvr_arith_eval(&M, ok_cases[i].in, strlen(ok_cases[i].in), &r);
    char *s = "";
    size_t n;
    if (!err) rlvr_rat_to_str(&M, &r.value, &s, &n);
    CHECK_MSG(!err && !strcmp(s, ok_cases[i].value) && r.nnums == ok_cases[i].nnums, "arith '%s' = '%s' (%d numbers): %s",
              ok_cases[i].in, s, r.nnums, err ? rlvr_error_message() : "");
  }
  const char *bad[] = {"2.5 * 4", "2^3", "2(3)", "4 / (2 - 2)", "1 +", "(1 + 2", "1 + 2)", "x + 1", "1,000 + 1",
                       "sqrt(4)", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rlvr_arith_result r;
    CHECK_MSG(rlvr_arith_eval(&M, bad[i], strlen(bad[i]), &r) != RLVR_OK, "'%s' should be refused", bad[i]);
  }
  rlvr_arith_result r;
  CHECK(rlvr_arith_eval(&M, "99999999999999999999 + 1", 24, &r) == RLVR_ERR_RANGE);
  CHECK(rlvr_arith_eval(&M, "3 - 5", 5, &r) == RLVR_OK && !r.unary_minus && r.nums[0] == 3 && r.nums[1] == 5);
}

int main(void) {
  rlvr_mctx_init(&M, 64u << 20, 1 << 17);
  test_parse();
  test_parse_errors();
  test_extract();
  test_extract_hostile();
  test_equiv();
  test_verify();
  test_arith();
  rlvr_mctx_free(&M);
  return test_done();
}
