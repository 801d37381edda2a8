/* test_task_curriculum.c — the pass-rate curriculum (tasks/curriculum.h):
 *   - hand-made rates: each record's rate (counts, pass_rate, both, an
 *     integer id, the default for a missing id), the stats, and the orders
 *     worked out by hand: easy_first and hard_first with ties in the given
 *     shuffle's order, shuffle, the drops;
 *   - target: the probabilities against exp(-(p - t)^2 / (2 w^2)) computed
 *     here, the frequencies of 100000 draws against them, a width so narrow
 *     that only the nearest record is ever drawn;
 *   - bad files and options: each error names the file, the line and the
 *     field (or the key);
 *   - through a dataset source's cursor: shuffle is the plain order exactly,
 *     easy_first's ties follow the plain order of each epoch, epochs of K
 *     after drops, a cursor restored mid-epoch continues exactly (target),
 *     the fingerprint follows the curriculum, a generator is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "task_test_util.h"
#include "tasks/curriculum.h"
#include "testing.h"

static char tmp[256];

static rlvr_curriculum_options opts(rlvr_curriculum_order order) {
  rlvr_curriculum_options o = {.order = order, .target = 0.5, .width = 0.25, .missing = 0.5};
  return o;
}

static rlvr_curriculum *build(const rlvr_curriculum_options *o, const char *text, const char *const *ids, size_t n) {
  rlvr_curriculum *c = NULL;
  int rc = rlvr_curriculum_build(o, "rates.jsonl", text, strlen(text), ids, n, &c);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  return c;
}

/* The order of one epoch equals want (k entries). */
static int order_is(const rlvr_curriculum *c, const uint32_t *perm, const uint32_t *want, size_t k) {
  uint32_t got[16];
  if (rlvr_curriculum_epoch_size(c) != k) return 0;
  rlvr_curriculum_epoch_order(c, perm, 1, got);
  int ok = !memcmp(got, want, k * sizeof *got);
  if (!ok) {
    fprintf(stderr, "order:");
    for (size_t i = 0; i < k; i++) fprintf(stderr, " %u", got[i]);
    fprintf(stderr, "  want:");
    for (size_t i = 0; i < k; i++) fprintf(stderr, " %u", want[i]);
    fputc('\n', stderr);
  }
  return ok;
}

/* Records a..e; zz is no record; e has no line (rate 0.5 by default). */
static const char *ids5[] = {"a", "b", "c", "d", "e"};
static const char *rates5 =
    "{\"id\":\"a\",\"correct\":1,\"samples\":4}\n"
    "{\"id\":\"b\",\"correct\":4,\"samples\":4,\"cluster\":\"x\",\"line\":9}\n"
    "\n"
    "{\"id\":\"c\",\"pass_rate\":0.5}\n"
    "{\"id\":\"d\",\"correct\":2,\"samples\":4,\"pass_rate\":0.5}\n"
    "{\"id\":\"zz\",\"correct\":0,\"samples\":4}\n";

static void test_orders(void) {
  printf("-- orders on hand-made rates\n");
  const uint32_t ident[5] = {0, 1, 2, 3, 4}, rev[5] = {4, 3, 2, 1, 0}, mixed[5] = {3, 1, 4, 0, 2};
  rlvr_curriculum_options o = opts(RLVR_CURRICULUM_EASY_FIRST);
  rlvr_curriculum *c = build(&o, rates5, ids5, 5);
  if (!c) return;
  const double want_rate[5] = {0.25, 1.0, 0.5, 0.5, 0.5};
  for (int i = 0; i < 5; i++) CHECK_MSG(rlvr_curriculum_pass_rate(c, i) == want_rate[i], "record %d", i);
  rlvr_curriculum_stats st;
  rlvr_curriculum_get_stats(c, &st);
  CHECK(st.records == 5 && st.rated == 4 && st.defaulted == 1 && st.lines == 5 && st.unmatched == 1 && st.kept == 5);
  /* b (1.0), then the 0.5s c, d, e in the shuffle's order, then a (0.25). */
  CHECK(order_is(c, ident, (const uint32_t[]){1, 2, 3, 4, 0}, 5));
  CHECK(order_is(c, rev, (const uint32_t[]){1, 4, 3, 2, 0}, 5));
  CHECK(order_is(c, mixed, (const uint32_t[]){1, 3, 4, 2, 0}, 5));
  for (int i = 0; i < 5; i++) CHECK(fabs(rlvr_curriculum_probability(c, i) - 0.2) < 1e-15);
  uint64_t fp_easy = rlvr_curriculum_fingerprint(c);
  rlvr_curriculum_free(c);

  o = opts(RLVR_CURRICULUM_HARD_FIRST);
  c = build(&o, rates5, ids5, 5);
  CHECK(c && order_is(c, ident, (const uint32_t[]){0, 2, 3, 4, 1}, 5));
  CHECK(c && order_is(c, mixed, (const uint32_t[]){0, 3, 4, 2, 1}, 5));
  CHECK(c && rlvr_curriculum_fingerprint(c) != fp_easy);
  rlvr_curriculum_free(c);

  o = opts(RLVR_CURRICULUM_SHUFFLE);
  c = build(&o, rates5, ids5, 5);
  CHECK(c && order_is(c, mixed, mixed, 5));
  rlvr_curriculum_free(c);
  o.drop_solved = 1;
  c = build(&o, rates5, ids5, 5);
  CHECK(c && order_is(c, mixed, (const uint32_t[]){3, 4, 0, 2}, 4));
  CHECK(c && !rlvr_curriculum_kept(c, 1) && rlvr_curriculum_probability(c, 1) == 0);
  rlvr_curriculum_free(c);
  /* The default counts for the drops too: e at 1.0 goes with b. */
  o.missing = 1.0;
  c = build(&o, rates5, ids5, 5);
  if (c) {
    rlvr_curriculum_get_stats(c, &st);
    CHECK(st.dropped_solved == 2 && st.kept == 3 && order_is(c, ident, (const uint32_t[]){0, 2, 3}, 3));
  }
  rlvr_curriculum_free(c);

  /* Unsolved: a is 0/4 here; f has an integer id. */
  const char *ids3[] = {"a", "b", "7"};
  o = opts(RLVR_CURRICULUM_EASY_FIRST);
  o.drop_unsolved = 1;
  c = build(&o, "{\"id\":\"a\",\"correct\":0,\"samples\":4}\n{\"id\":7,\"correct\":3,\"samples\":4}\n"
                "{\"id\":\"b\",\"correct\":1,\"samples\":4}", ids3, 3);
  if (c) {
    rlvr_curriculum_get_stats(c, &st);
    CHECK(st.dropped_unsolved == 1 && st.rated == 3 && rlvr_curriculum_pass_rate(c, 2) == 0.75);
    CHECK(order_is(c, (const uint32_t[]){0, 1, 2}, (const uint32_t[]){2, 1}, 2));
  }
  rlvr_curriculum_free(c);
}

static void test_target(void) {
  printf("-- target weights and draws\n");
  rlvr_curriculum_options o = opts(RLVR_CURRICULUM_TARGET);
  rlvr_curriculum *c = build(&o, rates5, ids5, 5);
  if (!c) return;
  /* w = exp(-(p - 0.5)^2 / (2 * 0.25^2)): a (0.25) e^-0.5, b (1.0) e^-2, c, d, e 1. */
  const double w[5] = {exp(-0.5), exp(-2.0), 1, 1, 1};
  const double total = w[0] + w[1] + w[2] + w[3] + w[4];
  double maxdiff = 0;
  for (int i = 0; i < 5; i++) maxdiff = fmax(maxdiff, fabs(rlvr_curriculum_probability(c, i) - w[i] / total));
  printf("target probabilities: max |diff| %.3g from the closed form\n", maxdiff);
  CHECK(maxdiff < 1e-12);
  /* 20000 epochs of 5 draws. Each frequency's standard deviation is below
   * sqrt(0.25 / 1e5) = 0.0016; 0.008 is five of them. */
  long count[5] = {0};
  uint32_t out[5];
  const uint32_t ident[5] = {0, 1, 2, 3, 4};
  for (uint64_t e = 0; e < 20000; e++) {
    rlvr_curriculum_epoch_order(c, ident, 1000 + e, out);
    for (int k = 0; k < 5; k++) count[out[k]]++;
  }
  double fdiff = 0;
  for (int i = 0; i < 5; i++) fdiff = fmax(fdiff, fabs((double)count[i] / 1e5 - w[i] / total));
  printf("target draws: %ld %ld %ld %ld %ld of 100000; max |frequency - probability| %.4f\n", count[0], count[1],
         count[2], count[3], count[4], fdiff);
  CHECK(fdiff < 0.008);
  /* The same seed, the same draws; another seed, others. */
  uint32_t x[5], y[5], z[5];
  rlvr_curriculum_epoch_order(c, ident, 77, x);
  rlvr_curriculum_epoch_order(c, ident, 77, y);
  rlvr_curriculum_epoch_order(c, ident, 78, z);
  CHECK(!memcmp(x, y, sizeof x));
  int differ = 0;
  for (uint64_t s = 78; s < 88 && !differ; s++) {
    rlvr_curriculum_epoch_order(c, ident, s, z);
    differ = memcmp(x, z, sizeof x) != 0;
  }
  CHECK(differ);
  rlvr_curriculum_free(c);

  /* A width so narrow that every weight but the nearest underflows: only b
   * (1.0, nearest to 0.9) is drawn, and nothing divides by zero. */
  o.target = 0.9;
  o.width = 0.001;
  c = build(&o, rates5, ids5, 5);
  if (!c) return;
  CHECK(rlvr_curriculum_probability(c, 1) == 1.0 && rlvr_curriculum_probability(c, 0) == 0);
  int only_b = 1;
  for (uint64_t e = 0; e < 100; e++) {
    rlvr_curriculum_epoch_order(c, ident, e, out);
    for (int k = 0; k < 5; k++) only_b &= out[k] == 1;
  }
  CHECK(only_b);
  rlvr_curriculum_free(c);
}

/* Building from text fails with code and a message holding every piece. */
static void expect_error(const rlvr_curriculum_options *o, const char *text, int code, const char *a, const char *b) {
  rlvr_curriculum *c = NULL;
  int rc = rlvr_curriculum_build(o, "rates.jsonl", text, strlen(text), ids5, 5, &c);
  int ok = rc == code && c == NULL && message_has(a, b, NULL);
  CHECK_MSG(ok, "rc %d: %s (want '%s', '%s')", rc, rlvr_error_message(), a, b ? b : "");
  if (ok) printf("refused: %s\n", rlvr_error_message());
  rlvr_curriculum_free(c);
}

static void test_errors(void) {
  printf("-- bad files and options\n");
  rlvr_curriculum_options o = opts(RLVR_CURRICULUM_EASY_FIRST);
  const int F = RLVR_ERR_FORMAT;
  expect_error(&o, "{\"id\":\"a\",\"correct\":1,\"samples\":4}\n{\"id\":\"b\",\"correct\":1,", F, "rates.jsonl:2:",
               "malformed JSON near column");
  expect_error(&o, "\n[1, 2]\n", F, "rates.jsonl:2:", "not a JSON object");
  expect_error(&o, "{\"id\":\"a\",\"correct\":1,\"samples\":4} x", F, "rates.jsonl:1:", "text after the JSON value");
  expect_error(&o, "{\"correct\":1,\"samples\":4}", F, "rates.jsonl:1:", "field 'id'");
  expect_error(&o, "{\"id\":\"\",\"correct\":1,\"samples\":4}", F, "rates.jsonl:1:", "field 'id'");
  expect_error(&o, "{\"id\":\"a\",\"correct\":5,\"samples\":4}", F, "rates.jsonl:1:", "fields 'correct' and 'samples'");
  expect_error(&o, "{\"id\":\"a\",\"correct\":1.5,\"samples\":4}", F, "rates.jsonl:1:", "fields 'correct' and 'samples'");
  expect_error(&o, "{\"id\":\"a\",\"correct\":0,\"samples\":0}", F, "rates.jsonl:1:", "fields 'correct' and 'samples'");
  expect_error(&o, "{\"id\":\"a\",\"correct\":1}", F, "rates.jsonl:1:", "field 'correct' without field 'samples'");
  expect_error(&o, "{\"id\":\"a\",\"pass_rate\":1.5}", F, "rates.jsonl:1:", "field 'pass_rate'");
  expect_error(&o, "{\"id\":\"a\",\"pass_rate\":\"high\"}", F, "rates.jsonl:1:", "field 'pass_rate'");
  expect_error(&o, "{\"id\":\"a\",\"correct\":1,\"samples\":4,\"pass_rate\":0.5}", F, "rates.jsonl:1:",
               "'pass_rate' 0.5 is not correct / samples = 1/4");
  expect_error(&o, "{\"id\":\"a\"}", F, "rates.jsonl:1:", "no fields 'correct' and 'samples'");
  expect_error(&o, "{\"id\":\"a\",\"pass_rate\":0.5}\n{\"id\":\"b\",\"pass_rate\":0.5}\n{\"id\":\"a\",\"pass_rate\":0.25}\n",
               F, "rates.jsonl:3:", "id 'a' has a pass rate on line 1 already");
  expect_error(&o, "{\"id\":\"x\",\"pass_rate\":0.5}\n{\"id\":\"y\",\"pass_rate\":0.5}\n", F, "none of its 2 ids",
               "another dataset");
  expect_error(&o, "\n  \n", F, "rates.jsonl: no pass-rate lines", NULL);
  {
    char nul[] = "{\"id\":\"a\",\"pass_rate\":0.5}\n{\"id\":\"b\",\x01\"pass_rate\":0.5}";
    nul[strlen("{\"id\":\"a\",\"pass_rate\":0.5}\n{\"id\":\"b\",")] = 0;
    rlvr_curriculum *c = NULL;
    int rc = rlvr_curriculum_build(&o, "rates.jsonl", nul, sizeof nul - 1, ids5, 5, &c);
    CHECK(rc == F && !c && message_has("rates.jsonl:2:", "NUL byte", NULL));
  }
  rlvr_curriculum_options r = o;
  r.require_all = 1;
  expect_error(&r, rates5, F, "no pass rate for training record 'e'", "task.curriculum_require_all");
  r = o;
  r.drop_solved = r.drop_unsolved = 1;
  r.missing = 1.0; /* c, d, e */
  expect_error(&r, "{\"id\":\"a\",\"pass_rate\":1}\n{\"id\":\"b\",\"pass_rate\":0}", F, "leaves out every training record",
               "4 of rate 1, 1 of rate 0");
  r = o;
  r.width = 0;
  expect_error(&r, rates5, RLVR_ERR_CONFIG, "task.curriculum_width", NULL);
  r = o;
  r.target = 1.5;
  expect_error(&r, rates5, RLVR_ERR_CONFIG, "task.curriculum_target", NULL);
  r = o;
  r.missing = -1;
  expect_error(&r, rates5, RLVR_ERR_CONFIG, "task.curriculum_missing", NULL);

  /* The keys, through the config. */
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  CHECK(rlvr_config_set(&cfg, "task.curriculum_order=easiest") == RLVR_OK);
  rlvr_curriculum_options got = o;
  CHECK(rlvr_curriculum_options_from_config(&cfg, &got) == RLVR_ERR_CONFIG &&
        message_has("task.curriculum_order", "'easiest'", NULL));
  CHECK(rlvr_config_set(&cfg, "task.curriculum_order=target") == RLVR_OK);
  CHECK(rlvr_config_set(&cfg, "task.curriculum_drop_solved=true") == RLVR_OK);
  CHECK(rlvr_curriculum_options_from_config(&cfg, &got) == RLVR_OK);
  CHECK(got.order == RLVR_CURRICULUM_TARGET && got.drop_solved && !got.drop_unsolved && got.target == 0.5 &&
        got.width == 0.25 && got.missing == 0.5 && !got.require_all);
  rlvr_config_free(&cfg);
}

/* ---- through a dataset source ---- */

static void write_file(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  RLVR_CHECK(rlvr_file_write_atomic(path, text, strlen(text)) == RLVR_OK, "%s", path);
}

/* n ids from the cursor, starting at *c (advanced). */
static void walk(rlvr_task_source *s, rlvr_task_cursor *c, int n, char ids[][16]) {
  for (int i = 0; i < n; i++) {
    rlvr_task_item it = {0};
    int rc = rlvr_task_cursor_next(s, c, &it);
    CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
    snprintf(ids[i], 16, "%s", rc ? "?" : it.id);
    rlvr_task_item_clear(&it);
  }
}

static rlvr_task_source *source(const char *order, const char *extra1, const char *extra2) {
  char src[300], cur[300], ord[64];
  snprintf(src, sizeof src, "task.source=%s/data.jsonl", tmp);
  snprintf(cur, sizeof cur, "task.curriculum=%s/rates.jsonl", tmp);
  snprintf(ord, sizeof ord, "task.curriculum_order=%s", order ? order : "easy_first");
  rlvr_task_source *s = NULL;
  int rc = order ? build_source(&s, src, "task.seed=5", cur, ord, extra1 ? extra1 : "log.level=warn",
                                extra2 ? extra2 : "log.level=warn", NULL)
                 : build_source(&s, src, "task.seed=5", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  return s;
}

static double rate_of(const char *id) {
  /* The rates written below: q<i> has i/8 for i < 7 (q2, q3, q4 all 4/8, q7 missing: 0.5). */
  int i = atoi(id + 1);
  if (i == 2 || i == 3 || i == 4 || i == 7) return 0.5;
  return i / 8.0 + (i == 6 ? 2 / 8.0 : 0); /* q6: 8/8 */
}

static void test_source(void) {
  printf("-- through a dataset source's cursor\n");
  char data[4096] = "";
  for (int i = 0; i < 8; i++) {
    char line[128];
    snprintf(line, sizeof line, "{\"id\":\"q%d\",\"question\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", i, i, i + 3, 2 * i + 3);
    strcat(data, line);
  }
  write_file("data.jsonl", data);
  write_file("rates.jsonl",
             "{\"id\":\"q0\",\"correct\":0,\"samples\":8}\n{\"id\":\"q1\",\"correct\":1,\"samples\":8}\n"
             "{\"id\":\"q2\",\"correct\":4,\"samples\":8}\n{\"id\":\"q3\",\"correct\":4,\"samples\":8}\n"
             "{\"id\":\"q4\",\"correct\":4,\"samples\":8}\n{\"id\":\"q5\",\"correct\":5,\"samples\":8}\n"
             "{\"id\":\"q6\",\"correct\":8,\"samples\":8}\n{\"id\":\"other\",\"correct\":8,\"samples\":8}\n");

  rlvr_task_source *plain = source(NULL, NULL, NULL), *shuf = source("shuffle", NULL, NULL),
                   *easy = source("easy_first", NULL, NULL);
  if (!plain || !shuf || !easy) goto done;
  enum { E = 4 };
  char p[8 * E][16], s[8 * E][16], e[8 * E][16];
  rlvr_task_cursor cp, cs, ce;
  rlvr_task_cursor_init(&cp, rlvr_task_source_seed(plain));
  rlvr_task_cursor_init(&cs, rlvr_task_source_seed(shuf));
  rlvr_task_cursor_init(&ce, rlvr_task_source_seed(easy));
  walk(plain, &cp, 8 * E, p);
  walk(shuf, &cs, 8 * E, s);
  walk(easy, &ce, 8 * E, e);
  int same = 1;
  for (int i = 0; i < 8 * E; i++) same &= !strcmp(p[i], s[i]);
  CHECK_MSG(same, "shuffle without drops is the plain order");
  CHECK(ce.epoch == E && ce.position == 0);
  /* easy_first: each epoch q6, q5, the four at 0.5, q1, q0; the 0.5s in the
   * order the plain run visits them that epoch. */
  int tie_orders_differ = 0;
  char first_ties[64] = "";
  for (int ep = 0; ep < E; ep++) {
    char (*x)[16] = e + 8 * ep, (*y)[16] = p + 8 * ep;
    printf("epoch %d: easy_first", ep);
    for (int i = 0; i < 8; i++) printf(" %s", x[i]);
    printf("; plain");
    for (int i = 0; i < 8; i++) printf(" %s", y[i]);
    printf("\n");
    CHECK(!strcmp(x[0], "q6") && !strcmp(x[1], "q5") && !strcmp(x[6], "q1") && !strcmp(x[7], "q0"));
    for (int i = 1; i < 8; i++) CHECK(rate_of(x[i]) <= rate_of(x[i - 1]));
    char ties[64] = "";
    for (int i = 0; i < 8; i++)
      if (rate_of(y[i]) == 0.5) strcat(ties, y[i]);
    char got[64] = "";
    for (int i = 2; i < 6; i++) strcat(got, x[i]);
    CHECK_MSG(!strcmp(got, ties), "epoch %d: ties %s, the plain order has %s", ep, got, ties);
    if (ep == 0) strcpy(first_ties, got);
    else tie_orders_differ |= strcmp(first_ties, got) != 0;
  }
  CHECK(tie_orders_differ); /* the seed shuffles the ties again each epoch */
  uint64_t fp_plain = rlvr_task_source_fingerprint(plain), fp_easy = rlvr_task_source_fingerprint(easy);
  CHECK(fp_plain != fp_easy && rlvr_task_source_fingerprint(shuf) != fp_easy);
  rlvr_task_source *again = source("easy_first", NULL, NULL);
  CHECK(again && rlvr_task_source_fingerprint(again) == fp_easy);
  rlvr_task_source_free(again);
  const rlvr_curriculum *cur = rlvr_task_source_curriculum(easy);
  CHECK(cur && !rlvr_task_source_curriculum(plain));
  if (cur) {
    rlvr_curriculum_stats st;
    rlvr_curriculum_get_stats(cur, &st);
    CHECK(st.records == 8 && st.rated == 7 && st.defaulted == 1 && st.unmatched == 1 && st.kept == 8);
  }

  /* Drops: epochs of 6 without q0 (0/8) and q6 (8/8). */
  {
    rlvr_task_source *d = source("hard_first", "task.curriculum_drop_solved=true", "task.curriculum_drop_unsolved=true");
    if (d) {
      char x[13][16];
      rlvr_task_cursor c;
      rlvr_task_cursor_init(&c, rlvr_task_source_seed(d));
      walk(d, &c, 13, x);
      CHECK(!strcmp(x[0], "q1") && !strcmp(x[5], "q5") && !strcmp(x[6], "q1") && !strcmp(x[12], "q1"));
      CHECK(c.epoch == 2 && c.position == 1);
      int seen_dropped = 0;
      for (int i = 0; i < 13; i++) seen_dropped |= !strcmp(x[i], "q0") || !strcmp(x[i], "q6");
      CHECK(!seen_dropped);
      /* A cursor past the curriculum's epoch (another curriculum's) is refused. */
      rlvr_task_cursor bad = {c.seed, 0, 7};
      uint64_t idx;
      CHECK(rlvr_task_cursor_peek_index(d, &bad, &idx) == RLVR_ERR_RANGE && message_has("curriculum keeps", NULL));
    }
    rlvr_task_source_free(d);
  }

  /* target: a cursor restored mid-epoch in a new source continues exactly. */
  {
    rlvr_task_source *t1 = source("target", "task.curriculum_width=0.1", NULL);
    rlvr_task_source *t2 = source("target", "task.curriculum_width=0.1", NULL);
    if (t1 && t2) {
      char a[30][16], b1[11][16], b2[19][16];
      rlvr_task_cursor c1, c2;
      rlvr_task_cursor_init(&c1, rlvr_task_source_seed(t1));
      walk(t1, &c1, 30, a);
      rlvr_task_cursor_init(&c2, rlvr_task_source_seed(t1));
      walk(t1, &c2, 11, b1); /* into the second epoch */
      rlvr_task_cursor saved = c2;
      walk(t2, &saved, 19, b2);
      int ok = 1;
      for (int i = 0; i < 11; i++) ok &= !strcmp(a[i], b1[i]);
      for (int i = 0; i < 19; i++) ok &= !strcmp(a[11 + i], b2[i]);
      CHECK_MSG(ok, "a restored cursor continues the target draws exactly");
      int near = 0;
      for (int i = 0; i < 30; i++) near += rate_of(a[i]) == 0.5 || rate_of(a[i]) == 5 / 8.0;
      printf("target 0.5, width 0.1: %d of 30 draws at pass rate 0.5 or 0.625\n", near);
      CHECK(near >= 27); /* their probability is 0.9998 here (weights 1, 1, 1, 1, e^-0.78 against e^-7.0, 2 e^-12.5) */
      CHECK(rlvr_task_source_fingerprint(t1) != fp_easy);
    }
    rlvr_task_source_free(t1);
    rlvr_task_source_free(t2);
  }

  /* Errors through the source: the file is named; a generator is refused. */
  {
    char cur_missing[300];
    snprintf(cur_missing, sizeof cur_missing, "task.curriculum=%s/nope.jsonl", tmp);
    char src[300];
    snprintf(src, sizeof src, "task.source=%s/data.jsonl", tmp);
    rlvr_task_source *x = NULL;
    CHECK(build_source(&x, src, cur_missing, NULL) == RLVR_ERR_IO && !x && message_has("nope.jsonl", NULL));
    write_file("bad.jsonl", "{\"id\":\"q0\",\"correct\":0,\"samples\":8}\n{\"id\":\"q1\",\"samples\":8}\n");
    char cur_bad[300];
    snprintf(cur_bad, sizeof cur_bad, "task.curriculum=%s/bad.jsonl", tmp);
    CHECK(build_source(&x, src, cur_bad, NULL) == RLVR_ERR_FORMAT && !x &&
          message_has("bad.jsonl:2:", "field 'samples' without field 'correct'", NULL));
    printf("refused: %s\n", rlvr_error_message());
    CHECK(build_source(&x, "task.source=arith", cur_bad, NULL) == RLVR_ERR_CONFIG && !x &&
          message_has("task.curriculum", "generator", NULL));
    printf("refused: %s\n", rlvr_error_message());
  }
done:
  rlvr_task_source_free(plain);
  rlvr_task_source_free(shuf);
  rlvr_task_source_free(easy);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/rlvr_test_curriculum_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(tmp) == RLVR_OK);
  test_orders();
  test_target();
  test_errors();
  test_source();
  if (!test_failures) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return test_done();
}
