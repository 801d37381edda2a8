/* test_task_generators.c — the built-in generators (arith, countdown,
 * linear): every answer is recomputed here, independently of the Lua
 * scripts (a C evaluator for arithmetic and countdown expressions, exact
 * substitution for equations); items are reproducible from their seed;
 * the held-out split never appears in training. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_test_util.h"
#include "testing.h"

/* ---- checking "a op b = c" worked steps -------------------------------- */

/* Each line must be "a op b = c" with the arithmetic right; returns the
 * number of lines (or -1, with why filled) and the last c. */
static int check_steps(const char *solution, long long *last, char *why, size_t whylen) {
  int lines = 0;
  const char *p = solution;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    char line[256];
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, p, n);
    line[n] = 0;
    long long a, b, c;
    char op;
    int used = 0;
    if (sscanf(line, "%lld %c %lld = %lld%n", &a, &op, &b, &c, &used) != 4 || line[used]) {
      snprintf(why, whylen, "step '%s' is not 'a op b = c'", line);
      return -1;
    }
    long long want = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : (b && a % b == 0) ? a / b : c + 1;
    if (want != c) {
      snprintf(why, whylen, "step '%s' is wrong (want %lld)", line, want);
      return -1;
    }
    *last = c;
    lines++;
    p = nl ? nl + 1 : NULL;
  }
  return lines;
}

/* ---- arith ------------------------------------------------------------- */

static int check_arith(const rlvr_task_item *it, int digits, int steps, char *why, size_t whylen) {
  const char *pre = "What is ";
  size_t plen = strlen(it->prompt);
  if (strncmp(it->prompt, pre, strlen(pre)) != 0 || it->prompt[plen - 1] != '?') {
    snprintf(why, whylen, "prompt '%s' is not 'What is ...?'", it->prompt);
    return 0;
  }
  long long vals[128];
  char ops[128];
  int nv = 0, no = 0;
  const char *p = it->prompt + strlen(pre);
  long long limit = 1;
  for (int i = 0; i < digits; i++) limit *= 10;
  while (*p && *p != '?') {
    if (*p == ' ') {
      p++;
    } else if (isdigit((unsigned char)*p)) {
      char *e;
      vals[nv++] = strtoll(p, &e, 10);
      if (vals[nv - 1] >= limit) {
        snprintf(why, whylen, "operand %lld has more than %d digits", vals[nv - 1], digits);
        return 0;
      }
      p = e;
    } else if (strchr("+-*", *p)) {
      ops[no++] = *p++;
    } else {
      snprintf(why, whylen, "unexpected '%c' in '%s'", *p, it->prompt);
      return 0;
    }
  }
  if (no != steps || nv != no + 1) {
    snprintf(why, whylen, "'%s' has %d operators, want %d", it->prompt, no, steps);
    return 0;
  }
  /* Evaluate with precedence: a sum of products. */
  long long total = 0, term = vals[0];
  int sign = 1;
  for (int i = 0; i < no; i++) {
    if (ops[i] == '*') {
      term *= vals[i + 1];
    } else {
      total += sign * term;
      sign = ops[i] == '+' ? 1 : -1;
      term = vals[i + 1];
    }
  }
  total += sign * term;
  char want[32];
  snprintf(want, sizeof want, "%lld", total);
  if (strcmp(want, it->answer) != 0 || strcmp(want, it->reference) != 0 || it->reference_json) {
    snprintf(why, whylen, "'%s': answer %s, reference %s, want %s", it->prompt, it->answer, it->reference, want);
    return 0;
  }
  long long last = 0;
  int lines = it->solution ? check_steps(it->solution, &last, why, whylen) : -1;
  if (lines < 0) return 0;
  if (lines != steps || last != total) {
    snprintf(why, whylen, "'%s': %d steps ending in %lld, want %d ending in %lld", it->prompt, lines, last, steps, total);
    return 0;
  }
  return strcmp(it->verifier, "math") == 0;
}

/* ---- linear ------------------------------------------------------------ */

/* Parses "3x - 7", "-x + 2", "12", "-4x" into a*x + b. */
static int parse_linear(const char *s, long long *a, long long *b) {
  *a = 0, *b = 0;
  int sign = 1, first = 1;
  while (*s) {
    while (*s == ' ') s++;
    if (!first) {
      if (*s != '+' && *s != '-') return 0;
      sign = *s == '+' ? 1 : -1;
      s++;
      while (*s == ' ') s++;
    }
    first = 0;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    long long v = 1;
    int have = 0;
    if (isdigit((unsigned char)*s)) {
      char *e;
      v = strtoll(s, &e, 10);
      s = e;
      have = 1;
    }
    if (*s == 'x') {
      *a += sign * (neg ? -v : v);
      s++;
    } else if (have) {
      *b += sign * (neg ? -v : v);
    } else {
      return 0;
    }
  }
  return 1;
}

static long long gcdll(long long a, long long b) {
  a = llabs(a), b = llabs(b);
  while (b) {
    long long t = a % b;
    a = b, b = t;
  }
  return a;
}

static int check_linear(const rlvr_task_item *it, int digits, int steps, int rational, char *why, size_t whylen) {
  const char *pre = "Solve for x: ";
  if (strncmp(it->prompt, pre, strlen(pre)) != 0) {
    snprintf(why, whylen, "prompt '%s'", it->prompt);
    return 0;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", it->prompt + strlen(pre));
  char *eq = strstr(buf, " = ");
  if (!eq) {
    snprintf(why, whylen, "no ' = ' in '%s'", it->prompt);
    return 0;
  }
  *eq = 0;
  long long a, b, c, d;
  if (!parse_linear(buf, &a, &b) || !parse_linear(eq + 3, &c, &d)) {
    snprintf(why, whylen, "cannot parse '%s'", it->prompt);
    return 0;
  }
  long long limit = 1;
  for (int i = 0; i < digits; i++) limit *= 10;
  if (a == c || llabs(a) >= limit || llabs(b) >= limit || llabs(c) >= limit) {
    snprintf(why, whylen, "'%s': coefficients out of range", it->prompt);
    return 0;
  }
  if ((steps >= 2) != (c != 0)) {
    snprintf(why, whylen, "'%s': x on %s side(s) for steps = %d", it->prompt, c ? "both" : "one", steps);
    return 0;
  }
  long long p, q = 1;
  char *e;
  p = strtoll(it->answer, &e, 10);
  if (*e == '/') q = strtoll(e + 1, &e, 10);
  if (*e || e == it->answer || q <= 0 || gcdll(p, q) != 1 || (q > 1 && !rational)) {
    snprintf(why, whylen, "answer '%s' is not a reduced integer or fraction", it->answer);
    return 0;
  }
  /* Substitute x = p/q into both sides, times q. */
  if (a * p + b * q != c * p + d * q) {
    snprintf(why, whylen, "'%s': x = %s does not solve it", it->prompt, it->answer);
    return 0;
  }
  if (!rational && llabs(p) >= limit) {
    snprintf(why, whylen, "'%s': x = %s has too many digits", it->prompt, it->answer);
    return 0;
  }
  /* The worked steps end in the answer. */
  const char *tail = it->solution ? strrchr(it->solution, '\n') : NULL;
  tail = tail ? tail + 1 : it->solution;
  char want[64];
  snprintf(want, sizeof want, "= %s", it->answer);
  size_t tl = tail ? strlen(tail) : 0, wl = strlen(want);
  if (!tail || tl < wl || strcmp(tail + tl - wl, want) != 0 || strncmp(tail, "x ", 2) != 0) {
    snprintf(why, whylen, "'%s': last step '%s' does not give x %s", it->prompt, tail ? tail : "", want);
    return 0;
  }
  return strcmp(it->verifier, "math") == 0 && !it->reference_json && strcmp(it->reference, it->answer) == 0;
}

/* ---- countdown: an exact evaluator of + - * / ( ) over rationals -------- */

typedef struct {
  long long n, d; /* d > 0 */
} rat;

typedef struct {
  const char *s;
  long long lits[16];
  int nlits, bad;
} expr_parser;

static rat rat_make(long long n, long long d) {
  if (d < 0) n = -n, d = -d;
  long long g = gcdll(n, d);
  if (g > 1) n /= g, d /= g;
  return (rat){n, d};
}

static rat parse_sum(expr_parser *ps);

static void skip_spaces(expr_parser *ps) {
  while (*ps->s == ' ') ps->s++;
}

static rat parse_atom(expr_parser *ps) {
  skip_spaces(ps);
  if (*ps->s == '(') {
    ps->s++;
    rat r = parse_sum(ps);
    skip_spaces(ps);
    if (*ps->s != ')') ps->bad = 1;
    else ps->s++;
    return r;
  }
  if (!isdigit((unsigned char)*ps->s)) {
    ps->bad = 1;
    return (rat){0, 1};
  }
  char *e;
  long long v = strtoll(ps->s, &e, 10);
  ps->s = e;
  if (ps->nlits < 16) ps->lits[ps->nlits++] = v;
  else ps->bad = 1;
  return (rat){v, 1};
}

static rat parse_product(expr_parser *ps) {
  rat r = parse_atom(ps);
  for (;;) {
    skip_spaces(ps);
    char op = *ps->s;
    if (op != '*' && op != '/') return r;
    ps->s++;
    rat b = parse_atom(ps);
    if (op == '*') r = rat_make(r.n * b.n, r.d * b.d);
    else if (b.n == 0) ps->bad = 1;
    else r = rat_make(r.n * b.d, r.d * b.n);
  }
}

static rat parse_sum(expr_parser *ps) {
  rat r = parse_product(ps);
  for (;;) {
    skip_spaces(ps);
    char op = *ps->s;
    if (op != '+' && op != '-') return r;
    ps->s++;
    rat b = parse_product(ps);
    r = rat_make(op == '+' ? r.n * b.d + b.n * r.d : r.n * b.d - b.n * r.d, r.d * b.d);
  }
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static int check_countdown(const rlvr_task_item *it, int digits, int steps, long long max_target, char *why,
                           size_t whylen) {
  cJSON *ref = cJSON_Parse(it->reference);
  cJSON *nums = ref ? cJSON_GetObjectItem(ref, "numbers") : NULL, *target = ref ? cJSON_GetObjectItem(ref, "target") : NULL;
  if (!it->reference_json || !cJSON_IsArray(nums) || !cJSON_IsNumber(target) || cJSON_GetArraySize(ref) != 2) {
    snprintf(why, whylen, "reference '%s' is not {numbers, target}", it->reference);
    cJSON_Delete(ref);
    return 0;
  }
  long long want[16], t = (long long)target->valuedouble;
  int n = cJSON_GetArraySize(nums);
  char listed[256] = "[";
  long long limit = 1;
  for (int i = 0; i < digits; i++) limit *= 10;
  int ok = n == steps + 1 && n <= 16 && t >= 1 && t <= max_target;
  for (int i = 0; ok && i < n; i++) {
    want[i] = (long long)cJSON_GetArrayItem(nums, i)->valuedouble;
    ok = want[i] >= 1 && want[i] < limit;
    snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s%lld", i ? ", " : "", want[i]);
  }
  cJSON_Delete(ref);
  if (!ok) {
    snprintf(why, whylen, "reference '%s' out of range (steps %d, digits %d, max_target %lld)", it->reference, steps,
             digits, max_target);
    return 0;
  }
  char equals[64];
  snprintf(equals, sizeof equals, "equals %lld.", t);
  strcat(listed, "]");
  if (!strstr(it->prompt, listed) || !strstr(it->prompt, equals)) {
    snprintf(why, whylen, "prompt '%s' does not show %s and %s", it->prompt, listed, equals);
    return 0;
  }
  expr_parser ps = {.s = it->answer};
  rat v = parse_sum(&ps);
  skip_spaces(&ps);
  if (ps.bad || *ps.s) {
    snprintf(why, whylen, "answer '%s' does not parse", it->answer);
    return 0;
  }
  if (v.d != 1 || v.n != t) {
    snprintf(why, whylen, "answer '%s' = %lld/%lld, want %lld", it->answer, v.n, v.d, t);
    return 0;
  }
  qsort(want, (size_t)n, sizeof want[0], cmp_ll);
  qsort(ps.lits, (size_t)ps.nlits, sizeof ps.lits[0], cmp_ll);
  if (ps.nlits != n || memcmp(want, ps.lits, (size_t)n * sizeof want[0]) != 0) {
    snprintf(why, whylen, "answer '%s' does not use each of %s once", it->answer, listed);
    return 0;
  }
  long long last = 0;
  int lines = it->solution ? check_steps(it->solution, &last, why, whylen) : -1;
  if (lines < 0) return 0;
  if (lines != steps || last != t) {
    snprintf(why, whylen, "solution of '%s' has %d steps ending in %lld", it->answer, lines, last);
    return 0;
  }
  return strcmp(it->verifier, "countdown") == 0;
}

/* ---- running the checks ------------------------------------------------ */

typedef enum { ARITH, LINEAR, COUNTDOWN } kind;

/* Checks n training items and every held-out item of one configuration. */
static void check_generator(kind k, int digits, int steps, const char *options, int n) {
  char d[32], st[32], opt[128];
  snprintf(d, sizeof d, "task.digits=%d", digits);
  snprintf(st, sizeof st, "task.steps=%d", steps);
  snprintf(opt, sizeof opt, "task.options=%s", options);
  const char *name = k == ARITH ? "task.source=arith" : k == LINEAR ? "task.source=linear" : "task.source=countdown";
  rlvr_task_source *s;
  int rc = build_source(&s, name, d, st, opt, "task.heldout_size=100", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s %s %s %s: %s", name, d, st, opt, rlvr_error_message());
  if (rc) return;
  int rational = strstr(options, "rational=true") != NULL;
  long long max_target = 1;
  for (int i = 0; i < digits; i++) max_target *= 10;
  const char *mt = strstr(options, "max_target=");
  if (mt) max_target = atoll(mt + strlen("max_target="));
  int bad = 0, total = 0;
  for (int split = 0; split < 2; split++) {
    int count = split ? (int)rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT) : n;
    for (int i = 0; i < count; i++) {
      rlvr_task_item it;
      rc = rlvr_task_source_get(s, (rlvr_task_split)split, (uint64_t)i, &it);
      CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
      if (rc) return;
      char why[512] = "wrong verifier";
      int ok = k == ARITH    ? check_arith(&it, digits, steps, why, sizeof why)
               : k == LINEAR ? check_linear(&it, digits, steps, rational, why, sizeof why)
                             : check_countdown(&it, digits, steps, max_target, why, sizeof why);
      if (!ok && bad < 5) fprintf(stderr, "FAIL %s %s %s %s item %s: %s\n", name, d, st, options, it.id, why);
      bad += !ok;
      total++;
      rlvr_task_item_clear(&it);
    }
  }
  CHECK_MSG(bad == 0, "%s %s %s %s: %d of %d items wrong", name, d, st, options, bad, total);
  printf("ok   %s %s %s %s: %d items recomputed, %d wrong\n", name, d, st, options, total, bad);
  rlvr_task_source_free(s);
}

/* ---- reproducibility and splits ---------------------------------------- */

static void test_reproducible(const char *source) {
  rlvr_task_source *a, *b, *c;
  CHECK(build_source(&a, source, "run.seed=5", NULL) == RLVR_OK);
  CHECK(build_source(&b, source, "run.seed=5", NULL) == RLVR_OK);
  CHECK(build_source(&c, source, "run.seed=6", NULL) == RLVR_OK);
  if (!a || !b || !c) return;
  CHECK(rlvr_task_source_seed(a) == 5);
  CHECK(rlvr_task_source_fingerprint(a) == rlvr_task_source_fingerprint(b));
  /* The held-out split follows task.split_seed, not run.seed. */
  CHECK(rlvr_task_source_fingerprint(a) == rlvr_task_source_fingerprint(c));
  int same_held = 1, same_train = 1, differ_seed = 0;
  for (uint64_t i = 0; i < 100; i++) {
    rlvr_task_item x, y, z;
    CHECK(rlvr_task_source_get(a, RLVR_TASK_SPLIT_HELDOUT, i, &x) == RLVR_OK);
    CHECK(rlvr_task_source_get(c, RLVR_TASK_SPLIT_HELDOUT, i, &y) == RLVR_OK);
    same_held &= items_equal(&x, &y);
    rlvr_task_item_clear(&x);
    rlvr_task_item_clear(&y);
    CHECK(rlvr_task_source_get(a, RLVR_TASK_SPLIT_TRAIN, i, &x) == RLVR_OK);
    CHECK(rlvr_task_source_get(b, RLVR_TASK_SPLIT_TRAIN, i, &y) == RLVR_OK);
    CHECK(rlvr_task_source_get(c, RLVR_TASK_SPLIT_TRAIN, i, &z) == RLVR_OK);
    same_train &= items_equal(&x, &y);
    differ_seed += strcmp(x.prompt, z.prompt) != 0;
    rlvr_task_item_clear(&x);
    rlvr_task_item_clear(&y);
    rlvr_task_item_clear(&z);
  }
  CHECK_MSG(same_held, "%s: held-out items differ between run seeds", source);
  CHECK_MSG(same_train, "%s: the same seed gave different training items", source);
  CHECK_MSG(differ_seed >= 90, "%s: only %d of 100 training prompts changed with the seed", source, differ_seed);
  /* Out of order: item 57 alone equals item 57 after the others; the
   * cursor gives items 0, 1, 2, ... of its own seed. */
  rlvr_task_source *fresh;
  CHECK(build_source(&fresh, source, "run.seed=5", NULL) == RLVR_OK);
  rlvr_task_item x, y;
  CHECK(rlvr_task_source_get(fresh, RLVR_TASK_SPLIT_TRAIN, 57, &x) == RLVR_OK);
  CHECK(rlvr_task_source_get(a, RLVR_TASK_SPLIT_TRAIN, 57, &y) == RLVR_OK);
  CHECK(items_equal(&x, &y));
  rlvr_task_item_clear(&x);
  rlvr_task_item_clear(&y);
  rlvr_task_cursor cur;
  rlvr_task_cursor_init(&cur, 5);
  int cursor_ok = 1;
  for (uint64_t i = 0; i < 20; i++) {
    CHECK(rlvr_task_cursor_next(fresh, &cur, &x) == RLVR_OK);
    CHECK(rlvr_task_source_get(a, RLVR_TASK_SPLIT_TRAIN, i, &y) == RLVR_OK);
    cursor_ok &= items_equal(&x, &y);
    rlvr_task_item_clear(&x);
    rlvr_task_item_clear(&y);
  }
  CHECK_MSG(cursor_ok && cur.epoch == 0 && cur.position == 20, "%s: cursor does not walk the stream", source);
  /* Save after 7 items, restore in another source, continue identically. */
  rlvr_task_cursor saved = {5, 0, 7};
  rlvr_task_cursor_init(&cur, 5);
  for (int i = 0; i < 7; i++) {
    CHECK(rlvr_task_cursor_next(a, &cur, &x) == RLVR_OK);
    rlvr_task_item_clear(&x);
  }
  CHECK(memcmp(&cur, &saved, sizeof cur) == 0);
  int resume_ok = 1;
  for (int i = 0; i < 10; i++) {
    CHECK(rlvr_task_cursor_next(a, &cur, &x) == RLVR_OK);
    CHECK(rlvr_task_cursor_next(b, &saved, &y) == RLVR_OK);
    resume_ok &= items_equal(&x, &y);
    rlvr_task_item_clear(&x);
    rlvr_task_item_clear(&y);
  }
  CHECK_MSG(resume_ok, "%s: a restored cursor continues differently", source);
  printf("ok   %s: reproducible from (seed, split, index); cursor restores\n", source);
  rlvr_task_source_free(a);
  rlvr_task_source_free(b);
  rlvr_task_source_free(c);
  rlvr_task_source_free(fresh);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* No training prompt among the first n is a held-out prompt; held-out
 * prompts are distinct. Checked by sorting, not with the source's set. */
static void test_disjoint(const char *source, const char *more, const char *more2, int n) {
  rlvr_task_source *s;
  int rc = build_source(&s, source, more, more2, NULL);
  CHECK_MSG(rc == RLVR_OK, "%s %s: %s", source, more, rlvr_error_message());
  if (rc) return;
  size_t nh = (size_t)rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT);
  char **held = calloc(nh + 1, sizeof *held);
  for (size_t i = 0; i < nh; i++) {
    rlvr_task_item it;
    CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_HELDOUT, i, &it) == RLVR_OK);
    held[i] = it.prompt;
    it.prompt = NULL;
    rlvr_task_item_clear(&it);
  }
  qsort(held, nh, sizeof *held, cmp_str);
  int dups = 0, overlap = 0;
  for (size_t i = 1; i < nh; i++) dups += strcmp(held[i - 1], held[i]) == 0;
  rlvr_task_cursor cur;
  rlvr_task_cursor_init(&cur, rlvr_task_source_seed(s));
  for (int i = 0; i < n; i++) {
    rlvr_task_item it;
    CHECK(rlvr_task_cursor_next(s, &cur, &it) == RLVR_OK);
    const char *key = it.prompt;
    overlap += bsearch(&key, held, nh, sizeof *held, cmp_str) != NULL;
    rlvr_task_item_clear(&it);
  }
  CHECK_MSG(dups == 0 && overlap == 0, "%s %s: %d duplicate held-out prompts, %d of %d training prompts held out",
            source, more, dups, overlap, n);
  printf("ok   %s %s: %zu held-out prompts distinct, none in the first %d training items\n", source, more, nh, n);
  for (size_t i = 0; i < nh; i++) free(held[i]);
  free(held);
  rlvr_task_source_free(s);
}

int main(void) {
  /* Every answer recomputed, over a spread of difficulties. */
  check_generator(ARITH, 2, 2, "", 300);
  check_generator(ARITH, 1, 1, "", 50);
  check_generator(ARITH, 3, 5, "ops=+-*", 300);
  check_generator(ARITH, 4, 3, "ops=*", 100);
  check_generator(LINEAR, 1, 1, "", 100);
  check_generator(LINEAR, 2, 2, "", 300);
  check_generator(LINEAR, 2, 1, "rational=true", 200);
  check_generator(LINEAR, 3, 2, "rational=true", 200);
  check_generator(COUNTDOWN, 2, 2, "", 200);
  check_generator(COUNTDOWN, 2, 3, "", 300);
  check_generator(COUNTDOWN, 1, 4, "max_target=50", 100);
  check_generator(COUNTDOWN, 2, 3, "ops=*/,max_target=100000", 100);

  test_reproducible("task.source=arith");
  test_reproducible("task.source=countdown");
  test_reproducible("task.source=linear");

  test_disjoint("task.source=arith", "task.digits=2", "task.steps=2", 2000);
  test_disjoint("task.source=linear", "task.digits=1", "task.steps=2", 2000);
  test_disjoint("task.source=countdown", "task.steps=2", "task.digits=2", 1000);
  /* A space of 20 prompts with 5 held out: without the redraw a quarter
   * of the training draws would be held-out prompts. */
  test_disjoint("task.source=tests/fixtures/tasks/generators/tiny.lua", "task.heldout_size=5", NULL, 2000);
  /* 1-digit a + b or a - b has 200 prompts; 150 held out leaves 50. */
  test_disjoint("task.source=arith", "task.options=digits=1,steps=1", "task.heldout_size=150", 2000);
  {
    rlvr_task_source *s;
    /* More held-out problems than the space holds is a config error. */
    int rc = build_source(&s, "task.source=tests/fixtures/tasks/generators/tiny.lua", "task.heldout_size=21", NULL);
    CHECK(rc == RLVR_ERR_CONFIG && message_has("task.heldout_size", "tiny", NULL));
  }
  return test_done();
}
