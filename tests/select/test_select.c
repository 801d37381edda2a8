/* test_select.c — `rlvr select`'s stages without a model (tasks/select.h):
 * the malformed-record filters and their reasons, duplicates, clusters from
 * a field or from the text feature, the errors that name file, line and
 * field, pass-rate thresholds and round-robin order on hand-made pass rates
 * (expected orders worked out by hand in the comments), determinism of ties,
 * the output lines and summary counts, and pass rates read from a file. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "tasks/select.h"
#include "testing.h"

#define CHECK_STR(got, want)                                                                       \
  CHECK_MSG((got) && strcmp((got), (want)) == 0, "got '%s', want '%s'", (got) ? (got) : "(null)", (want))
#define CHECK_HAS(hay, needle)                                                                     \
  CHECK_MSG(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

/* A config with the defaults and the given "key=value" settings. */
static void config_with(rlvr_config *c, const char *const *sets) {
  rlvr_config_init(c);
  for (; sets && *sets; sets++) {
    int rc = rlvr_config_set(c, *sets);
    CHECK_MSG(rc == RLVR_OK, "%s: %s", *sets, rlvr_error_message());
  }
}

static int build(const char *const *sets, const char *text, rlvr_select_pool *p) {
  rlvr_config c;
  config_with(&c, sets);
  int rc = rlvr_select_pool_build_text(&c, "pool.jsonl", text, strlen(text), p);
  rlvr_config_free(&c);
  return rc;
}

static const char *reason(const rlvr_select_pool *p, size_t i) { return rlvr_select_reason_name(p->recs[i].reason); }

static void test_normalize_and_kind(void) {
  char *a = rlvr_select_normalize_prompt("  What IS\t1 +\n\n 1?  ");
  CHECK_STR(a, "what is 1 + 1?");
  free(a);
  a = rlvr_select_normalize_prompt("");
  CHECK_STR(a, "");
  free(a);
  CHECK_STR(rlvr_select_answer_kind("42", 0), "integer");
  CHECK_STR(rlvr_select_answer_kind(" -3 ", 0), "integer");
  CHECK_STR(rlvr_select_answer_kind("3.25", 0), "decimal");
  CHECK_STR(rlvr_select_answer_kind("1/2", 0), "fraction");
  CHECK_STR(rlvr_select_answer_kind("\\frac{1}{2}", 0), "fraction");
  CHECK_STR(rlvr_select_answer_kind("\\dfrac12", 0), "fraction");
  CHECK_STR(rlvr_select_answer_kind("x^2+1", 0), "expression");
  CHECK_STR(rlvr_select_answer_kind("(1, 2)", 0), "expression");
  CHECK_STR(rlvr_select_answer_kind("blue whale", 0), "text");
  CHECK_STR(rlvr_select_answer_kind("3.2.1", 0), "other");
  CHECK_STR(rlvr_select_answer_kind("", 0), "other");
  CHECK_STR(rlvr_select_answer_kind("{\"a\":1}", 1), "structured");
}

/* One record per malformed kind; line numbers count the blank line 2. */
static const char *mixed =
    "{\"id\":\"a\",\"question\":\"What is 1+1?\",\"answer\":\"2\",\"domain\":\"x\"}\n"  /* 1 kept */
    "\n"                                                                               /* 2 blank */
    "{\"id\":\"b\",\"answer\":\"3\",\"domain\":\"x\"}\n"                                /* 3 missing prompt */
    "{\"id\":\"c\",\"question\":\" \\t\",\"answer\":\"3\"}\n"                           /* 4 empty prompt */
    "{\"id\":\"d\",\"question\":\"Q d?\",\"answer\":null}\n"                            /* 5 missing answer */
    "{\"id\":\"e\",\"question\":\"Q e?\",\"answer\":\"  \"}\n"                          /* 6 empty answer */
    "{\"id\":\"f\",\"question\":5,\"answer\":\"1\"}\n"                                  /* 7 bad record */
    "{\"id\":\"g\",\"question\":\"  what is  1+1? \",\"answer\":\"2\",\"domain\":\"y\"}\n" /* 8 duplicate of 1 */
    "{\"id\":\"h\",\"question\":\"Q h?\",\"answer\":4,\"domain\":[\"z\",\"w\"]}\r\n"      /* 9 kept, cluster z */
    "{\"id\":\"i\",\"question\":\"Q i?\",\"answer\":\"5\",\"domain\":7}\n";              /* 10 kept, cluster 7 */

static void test_filters(void) {
  rlvr_select_pool p;
  const char *sets[] = {"select.cluster_field=domain", NULL};
  int rc = build(sets, mixed, &p);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(p.n == 9 && !p.is_generator);
  CHECK_STR(p.cluster_by, "field:domain");
  const size_t lines[] = {1, 3, 4, 5, 6, 7, 8, 9, 10};
  const char *want[] = {"kept",       "missing_prompt",   "empty_prompt", "missing_answer", "empty_answer",
                        "bad_record", "duplicate_prompt", "kept",         "kept"};
  for (size_t i = 0; i < p.n && i < 9; i++) {
    CHECK_MSG(p.recs[i].line == lines[i], "record %zu: line %zu, want %zu", i, p.recs[i].line, lines[i]);
    CHECK_MSG(!strcmp(reason(&p, i), want[i]), "line %zu: reason %s, want %s", lines[i], reason(&p, i), want[i]);
  }
  /* Malformed records keep their id for the report, and their detail names file, line and field. */
  CHECK_STR(p.recs[1].item.id, "b");
  CHECK_HAS(p.recs[1].detail, "pool.jsonl:3:");
  CHECK_HAS(p.recs[1].detail, "task.prompt_field");
  CHECK_HAS(p.recs[2].detail, "pool.jsonl:4:");
  CHECK_HAS(p.recs[3].detail, "task.answer_field");
  CHECK_HAS(p.recs[4].detail, "pool.jsonl:6:");
  CHECK_HAS(p.recs[5].detail, "pool.jsonl:7:");
  CHECK_HAS(p.recs[5].detail, "'question' is not a string");
  CHECK_HAS(p.recs[6].detail, "line 1 (id a)");
  /* Items of the kept records, as the trainer's mapping makes them. */
  CHECK_STR(p.recs[0].item.prompt, "What is 1+1?");
  CHECK_STR(p.recs[7].item.answer, "4");
  CHECK_STR(p.recs[0].cluster, "x");
  CHECK_STR(p.recs[7].cluster, "z");
  CHECK_STR(p.recs[8].cluster, "7");
  CHECK(p.recs[6].cluster == NULL); /* dropped before clustering */
  rlvr_select_pool_free(&p);
  rlvr_select_pool_free(&p); /* a freed pool is zeroed: freeing again is fine */

  /* Without dedup the near-duplicate stays. */
  const char *nodedup[] = {"select.cluster_field=domain", "select.dedup=false", NULL};
  rc = build(nodedup, mixed, &p);
  CHECK_MSG(rc == RLVR_OK && p.n == 9 && p.recs[6].reason == RLVR_SELECT_KEPT, "%s", rlvr_error_message());
  rlvr_select_pool_free(&p);

  /* select.pool: only the first records. */
  const char *first3[] = {"select.pool=3", NULL};
  rc = build(first3, mixed, &p);
  CHECK_MSG(rc == RLVR_OK && p.n == 3 && p.recs[2].line == 4, "pool of 3: n %zu", p.n);
  rlvr_select_pool_free(&p);
}

static void test_errors(void) {
  rlvr_select_pool p;
  /* select.strict: the first malformed record is an error naming its line and field. */
  const char *strict[] = {"select.strict=true", NULL};
  int rc = build(strict, mixed, &p);
  CHECK(rc == RLVR_ERR_FORMAT && p.n == 0 && p.recs == NULL);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:3:");
  CHECK_HAS(rlvr_error_message(), "task.prompt_field");
  CHECK_HAS(rlvr_error_message(), "select.strict");

  const char *none[] = {NULL};
  rc = build(none, "{\"question\":\"a\",\"answer\":\"1\"}\n{\"question\": }\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:2: malformed JSON near column");
  static const char nul[] = "{\"question\":\"a\",\"answer\":\"1\"}\n{\"question\":\"b\",\0\"answer\":\"1\"}\n";
  rlvr_config c;
  config_with(&c, none);
  rc = rlvr_select_pool_build_text(&c, "pool.jsonl", nul, sizeof nul - 1, &p);
  rlvr_config_free(&c);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:2: malformed JSON: a NUL byte at column 17");
  rc = build(none, "[1, 2]\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:1: the line is not a JSON object");
  rc = build(none, "{\"question\":\"a\",\"answer\":\"1\"} x\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "text after the JSON value");
  rc = build(none, "{\"id\":\"1\",\"question\":\"a\",\"answer\":\"1\"}\n{\"id\":\"1\",\"question\":\"b\",\"answer\":\"1\"}\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:2: id '1' was already used");

  /* A kept record without the cluster field (line 11): an error naming line
   * and field. The malformed records of lines 4-7 have no domain either but
   * are dropped first. */
  const char *cl[] = {"select.cluster_field=domain,tag", NULL};
  char *more = malloc(strlen(mixed) + 100);
  sprintf(more, "%s{\"id\":\"j\",\"question\":\"Q j?\",\"answer\":\"1\"}\n", mixed);
  rc = build(cl, more, &p);
  free(more);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "pool.jsonl:11:");
  CHECK_HAS(rlvr_error_message(), "'domain,tag' (select.cluster_field)");
  rc = build(cl, "{\"question\":\"a\",\"answer\":\"1\",\"tag\":{\"k\":1}}\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "field 'tag' is a object");
  rc = build(cl, "{\"question\":\"a\",\"answer\":\"1\",\"domain\":\"\",\"tag\":\"t\"}\n", &p);
  CHECK(rc == RLVR_ERR_FORMAT);
  CHECK_HAS(rlvr_error_message(), "an empty string");
  rc = build(cl, "{\"question\":\"a\",\"answer\":\"1\",\"domain\":null,\"tag\":\"t\"}\n", &p);
  CHECK_MSG(rc == RLVR_OK && p.n == 1 && !strcmp(p.recs[0].cluster, "t"), "null falls through to the next field: %s",
            rlvr_error_message());
  rlvr_select_pool_free(&p);

  const char *badmap[] = {"task.answer_extract=latex", NULL};
  rc = build(badmap, mixed, &p);
  CHECK(rc == RLVR_ERR_CONFIG);
  CHECK_HAS(rlvr_error_message(), "task.answer_extract");
  const char *badpool[] = {"select.pool=-1", NULL};
  rc = build(badpool, mixed, &p);
  CHECK(rc == RLVR_ERR_CONFIG);
  CHECK_HAS(rlvr_error_message(), "select.pool");
}

/* The text feature: answer kind and prompt-length tertile. Six prompts of
 * lengths 1..6: q1 = L[2] = 3, q2 = L[4] = 5, so lengths 1-2 are short, 3-4
 * medium, 5-6 long. */
static void test_text_clusters(void) {
  const char *text =
      "{\"question\":\"aaaaaa\",\"answer\":\"2\"}\n"
      "{\"question\":\"a\",\"answer\":\"1/2\"}\n"
      "{\"question\":\"aaa\",\"answer\":\"x+1\"}\n"
      "{\"question\":\"aaaaa\",\"answer\":{\"numbers\":[1]}}\n"
      "{\"question\":\"aa\",\"answer\":\"0.5\"}\n"
      "{\"question\":\"aaaa\",\"answer\":\"blue whale\"}\n";
  rlvr_select_pool p;
  const char *none[] = {NULL};
  int rc = build(none, text, &p);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  const char *want[] = {"integer/long", "fraction/short", "expression/medium", "structured/long", "decimal/short",
                        "text/medium"};
  for (size_t i = 0; i < 6; i++) CHECK_STR(p.recs[i].cluster, want[i]);
  CHECK_STR(p.cluster_by, "text");
  rlvr_select_pool_free(&p);
}

/* Hand-made records: cluster, correct of 8 samples, id. */
typedef struct {
  const char *cluster;
  int correct, samples;
  const char *id;
} spec;

static rlvr_select_record *make(const spec *s, size_t n) {
  rlvr_select_record *r = calloc(n, sizeof *r);
  for (size_t i = 0; i < n; i++) {
    r[i].cluster = s[i].cluster ? strdup(s[i].cluster) : NULL;
    r[i].item.id = strdup(s[i].id);
    r[i].correct = s[i].correct;
    r[i].samples = s[i].samples;
    r[i].index = i;
    r[i].rank = r[i].round = -1;
  }
  return r;
}

static void unmake(rlvr_select_record *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].cluster);
    free(r[i].item.id);
    free(r[i].detail);
  }
  free(r);
}

static void test_thresholds(void) {
  const spec s[] = {{"a", 0, 8, "zero"}, {"a", 8, 8, "all"}, {"a", 1, 8, "one"},   {"a", 7, 8, "seven"},
                    {"a", 2, 8, "two"},  {"a", 0, 0, "unscored"}};
  enum { N = 6 };
  struct {
    rlvr_select_thresholds t;
    const char *want[N];
  } cases[] = {
      /* defaults: only 0 and 1 go */
      {{0, 1, 0, 0}, {"never_solved", "always_solved", "kept", "kept", "kept", "kept"}},
      /* [0.2, 0.8]: 1/8 = 0.125 too hard, 7/8 = 0.875 too easy */
      {{0.2, 0.8, 0, 0}, {"never_solved", "always_solved", "too_hard", "too_easy", "kept", "kept"}},
      /* the keep flags lift only the 0-or-1 rule */
      {{0, 1, 1, 1}, {"kept", "kept", "kept", "kept", "kept", "kept"}},
      {{0.1, 0.9, 1, 1}, {"too_hard", "too_easy", "kept", "kept", "kept", "kept"}},
      /* s1-style: keep the hard ones, unsolved included */
      {{0, 0.25, 1, 0}, {"kept", "always_solved", "kept", "too_easy", "kept", "kept"}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    rlvr_select_record *r = make(s, N);
    size_t kept = rlvr_select_apply_pass_rates(r, N, &cases[c].t);
    size_t want_kept = 0;
    for (int i = 0; i < N; i++) {
      want_kept += !strcmp(cases[c].want[i], "kept");
      CHECK_MSG(!strcmp(rlvr_select_reason_name(r[i].reason), cases[c].want[i]), "case %zu, %s: %s, want %s", c,
                s[i].id, rlvr_select_reason_name(r[i].reason), cases[c].want[i]);
    }
    CHECK_MSG(kept == want_kept, "case %zu: %zu kept, want %zu", c, kept, want_kept);
    unmake(r, N);
  }
  /* A record already dropped stays dropped with its reason. */
  rlvr_select_record *r = make(s, 1);
  r[0].reason = RLVR_SELECT_DUPLICATE_PROMPT;
  const rlvr_select_thresholds t = {0, 1, 0, 0};
  CHECK(rlvr_select_apply_pass_rates(r, 1, &t) == 0 && r[0].reason == RLVR_SELECT_DUPLICATE_PROMPT);
  unmake(r, 1);
}

/* Clusters A (4), B (2), C (1) with target 0.5:
 *   A: a1 4/8 (|p - .5| = 0), a2 2/8 (.25), a3 7/8 and a4 1/8 (.375 both: a tie)
 *   B: b2 3/8 (.125), b1 6/8 (.25)
 *   C: c1 5/8 (.125)
 * Round 0: a1, b2, c1; round 1: a2, b1; round 2: a3 or a4; round 3: the other.
 * The records are given in a scrambled order (and one dropped record, which
 * must be left alone). */
static const spec rr[] = {{"B", 6, 8, "b1"}, {"A", 7, 8, "a3"}, {"C", 5, 8, "c1"}, {"A", 2, 8, "a2"},
                          {"A", 1, 8, "a4"}, {"A", 4, 8, "a1"}, {"B", 3, 8, "b2"}, {"A", 4, 8, "gone"}};
enum { NRR = 8 };

static void test_round_robin(void) {
  rlvr_select_record *r = make(rr, NRR);
  r[7].reason = RLVR_SELECT_NEVER_SOLVED;
  size_t *order = NULL;
  size_t taken = rlvr_select_round_robin(r, NRR, 5, 0.5, 1, &order);
  CHECK(taken == 5);
  const char *want[] = {"a1", "b2", "c1", "a2", "b1"};
  const int want_round[] = {0, 0, 0, 1, 1};
  for (size_t i = 0; i < taken && i < 5; i++) {
    CHECK_MSG(!strcmp(r[order[i]].item.id, want[i]), "rank %zu: %s, want %s", i, r[order[i]].item.id, want[i]);
    CHECK(r[order[i]].rank == (int)i && r[order[i]].round == want_round[i]);
  }
  CHECK(r[1].reason == RLVR_SELECT_SURPLUS && r[4].reason == RLVR_SELECT_SURPLUS && r[1].rank == -1);
  CHECK(r[7].reason == RLVR_SELECT_NEVER_SOLVED && r[7].rank == -1);
  free(order);
  unmake(r, NRR);

  /* Asking for more than are eligible: all 7, the tie in rounds 2 and 3. */
  r = make(rr, NRR);
  r[7].reason = RLVR_SELECT_NEVER_SOLVED;
  taken = rlvr_select_round_robin(r, NRR, 100, 0.5, 1, &order);
  CHECK(taken == 7);
  CHECK(r[1].round + r[4].round == 5 && r[1].rank + r[4].rank == 11); /* a3, a4: rounds 2 and 3, ranks 5 and 6 */
  free(order);
  unmake(r, NRR);

  /* target 1: the easiest first within each cluster: A: a3 (7/8), a1 (4/8), a2, a4. */
  r = make(rr, NRR);
  r[7].reason = RLVR_SELECT_NEVER_SOLVED;
  taken = rlvr_select_round_robin(r, NRR, 4, 1.0, 1, &order);
  const char *want1[] = {"a3", "b1", "c1", "a1"};
  for (size_t i = 0; i < taken && i < 4; i++)
    CHECK_MSG(!strcmp(r[order[i]].item.id, want1[i]), "target 1, rank %zu: %s, want %s", i, r[order[i]].item.id, want1[i]);
  free(order);
  unmake(r, NRR);
}

/* Ties: decided by (seed, id), so the same for any input order, and each
 * order appears for some seed. */
static void test_ties(void) {
  int a3_first = 0, a4_first = 0;
  for (uint64_t seed = 1; seed <= 16; seed++) {
    rlvr_select_record *r = make(rr, NRR - 1);
    size_t *order = NULL;
    rlvr_select_round_robin(r, NRR - 1, 100, 0.5, seed, &order);
    int fwd_a3 = r[1].rank, fwd_a4 = r[4].rank;
    free(order);
    unmake(r, NRR - 1);
    /* The same records reversed. */
    spec rev[NRR - 1];
    for (int i = 0; i < NRR - 1; i++) rev[i] = rr[NRR - 2 - i];
    r = make(rev, NRR - 1);
    rlvr_select_round_robin(r, NRR - 1, 100, 0.5, seed, NULL);
    int rev_a3 = -2, rev_a4 = -2;
    for (int i = 0; i < NRR - 1; i++) {
      if (!strcmp(r[i].item.id, "a3")) rev_a3 = r[i].rank;
      if (!strcmp(r[i].item.id, "a4")) rev_a4 = r[i].rank;
    }
    unmake(r, NRR - 1);
    CHECK_MSG(fwd_a3 == rev_a3 && fwd_a4 == rev_a4, "seed %llu: input order changed the ranks", (unsigned long long)seed);
    a3_first += fwd_a3 < fwd_a4;
    a4_first += fwd_a4 < fwd_a3;
  }
  CHECK_MSG(a3_first > 0 && a4_first > 0 && a3_first + a4_first == 16, "a3 first %d, a4 first %d", a3_first, a4_first);
}

/* The kept line keeps the record's fields, replaces an old "select" and adds
 * the reasons; the dropped lines and the summary count every reason. */
static void test_outputs(void) {
  const char *text =
      "{\"id\":\"k\",\"question\":\"Keep me?\",\"answer\":\"1\",\"domain\":\"x\",\"extra\":[1,2],\"select\":\"old\"}\n"
      "{\"id\":\"m\",\"answer\":\"1\"}\n"
      "{\"id\":\"n\",\"question\":\"Never?\",\"answer\":\"2\",\"domain\":\"y\"}\n"
      "{\"id\":\"s\",\"question\":\"Surplus?\",\"answer\":\"3\",\"domain\":\"x\"}\n";
  rlvr_select_pool p;
  const char *sets[] = {"select.cluster_field=domain", NULL};
  int rc = build(sets, text, &p);
  CHECK_MSG(rc == RLVR_OK && p.n == 4, "%s", rlvr_error_message());
  if (rc) return;
  p.recs[0].correct = 2, p.recs[0].samples = 4;
  p.recs[2].correct = 0, p.recs[2].samples = 4;
  p.recs[3].correct = 1, p.recs[3].samples = 4;
  const rlvr_select_thresholds t = {0, 1, 0, 0};
  CHECK(rlvr_select_apply_pass_rates(p.recs, p.n, &t) == 2);
  size_t *order = NULL;
  size_t kept = rlvr_select_round_robin(p.recs, p.n, 1, 0.5, 1, &order);
  CHECK(kept == 1 && order[0] == 0); /* k: |2/4 - .5| = 0 beats s: |1/4 - .5| */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(rlvr_select_write_kept(&p, order, kept, f) == RLVR_OK);
  fclose(f);
  cJSON *j = cJSON_Parse(buf);
  CHECK(j != NULL);
  if (j) {
    cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "select");
    CHECK(cJSON_IsObject(s));
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "extra")));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")), "k");
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "rank")->valuedouble == 0);
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "round")->valuedouble == 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "cluster")), "x");
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "samples")->valuedouble == 4);
    CHECK_HAS(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "reason")), "cluster x, round 0");
  }
  cJSON_Delete(j);
  free(buf);
  buf = NULL;
  f = open_memstream(&buf, &len);
  CHECK(rlvr_select_write_dropped(&p, f) == RLVR_OK);
  fclose(f);
  /* m (line 2) missing_prompt, n never_solved, and the surplus one of k/s. */
  CHECK_HAS(buf, "{\"id\":\"m\",\"line\":2,\"reason\":\"missing_prompt\"");
  CHECK_HAS(buf, "{\"id\":\"n\",\"line\":3,\"reason\":\"never_solved\"");
  CHECK_HAS(buf, "\"reason\":\"surplus\"");
  free(buf);
  char *sum = rlvr_select_summary_json(&p, 5, "{\"extra_key\":1}");
  cJSON *s = cJSON_Parse(sum);
  CHECK(s != NULL);
  if (s) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "dropped");
    CHECK(cJSON_GetObjectItemCaseSensitive(d, "missing_prompt")->valuedouble == 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(d, "never_solved")->valuedouble == 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(d, "surplus")->valuedouble == 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(d, "always_solved")->valuedouble == 0);
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "pool")->valuedouble == 4);
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "kept")->valuedouble == 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "short")->valuedouble == 4);
    CHECK(cJSON_GetObjectItemCaseSensitive(s, "extra_key") != NULL);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "clusters"), "x");
    CHECK(x && cJSON_GetObjectItemCaseSensitive(x, "pool")->valuedouble == 2 &&
          cJSON_GetObjectItemCaseSensitive(x, "kept")->valuedouble == 1);
    /* correct counts 0..4 over the three scored: 0 (n), 1 (s), 2 (k) */
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "solved_histogram");
    const double wh[] = {1, 1, 1, 0, 0};
    CHECK(cJSON_GetArraySize(h) == 5);
    for (int i = 0; i < 5 && i < cJSON_GetArraySize(h); i++) CHECK(cJSON_GetArrayItem(h, i)->valuedouble == wh[i]);
  }
  cJSON_Delete(s);
  free(sum);
  free(order);
  rlvr_select_pool_free(&p);
}

/* Writes text to a new temporary file whose name goes to path (64 bytes). */
static void temp_file(char *path, const char *text) {
  snprintf(path, 64, "/tmp/test_select_XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
}

/* select.rates_from: counts for the kept records (a, h, i of `mixed`);
 * lines for dropped or unknown ids are ignored; errors name file and line
 * (or the id) and leave the counts alone. */
static void test_read_pass_rates(void) {
  rlvr_select_pool p;
  const char *sets[] = {"select.cluster_field=domain", NULL};
  int rc = build(sets, mixed, &p);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  char path[64];
  temp_file(path, "{\"id\":\"i\",\"correct\":0,\"samples\":4}\n\n"
                  "{\"id\":\"zzz\",\"correct\":9,\"samples\":9}\n"
                  "{\"id\":\"b\",\"correct\":1,\"samples\":2}\n"
                  "{\"id\":\"a\",\"correct\":3,\"samples\":4,\"pass_rate\":0.75}\n"
                  "{\"id\":\"h\",\"correct\":4,\"samples\":4}\n");
  rc = rlvr_select_read_pass_rates(path, &p);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  CHECK(p.recs[0].correct == 3 && p.recs[0].samples == 4);  /* a */
  CHECK(p.recs[7].correct == 4 && p.recs[7].samples == 4);  /* h */
  CHECK(p.recs[8].correct == 0 && p.recs[8].samples == 4);  /* i */
  CHECK(p.recs[1].samples == 0);                            /* b: dropped, its line ignored */
  remove(path);
  struct {
    const char *text, *want;
  } bad[] = {
      {"{\"id\":\"a\",\"correct\":1,\"samples\":2}\n{\"id\":\"h\",\"correct\":1,\"samples\":2}\n",
       "no pass rate for id 'i'"},
      {"{\"id\":\"a\",\"correct\":1,\"samples\":2}\n{\"id\":\"a\",\"correct\":1,\"samples\":2}\n", ":2: id 'a' has a pass rate on an earlier line"},
      {"{\"id\":\"a\",\"correct\":3,\"samples\":2}\n", ":1: fields 'correct' and 'samples'"},
      {"{\"id\":\"a\",\"correct\":1.5,\"samples\":2}\n", ":1: fields 'correct' and 'samples'"},
      {"{\"id\":7,\"correct\":1,\"samples\":2}\n", ":1: field 'id' is missing or not a string"},
      {"\n{\"id\":\"a\",\n", ":2: malformed JSON"},
  };
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
    temp_file(path, bad[b].text);
    rc = rlvr_select_read_pass_rates(path, &p);
    CHECK(rc == RLVR_ERR_FORMAT);
    CHECK_HAS(rlvr_error_message(), bad[b].want);
    CHECK_HAS(rlvr_error_message(), path);
    CHECK_MSG(p.recs[0].correct == 3 && p.recs[0].samples == 4, "case %zu changed the counts", b);
    remove(path);
  }
  rc = rlvr_select_read_pass_rates("/nonexistent/rates.jsonl", &p);
  CHECK(rc == RLVR_ERR_IO);
  CHECK_HAS(rlvr_error_message(), "select.rates_from");
  rlvr_select_pool_free(&p);
}

int main(void) {
  test_normalize_and_kind();
  test_filters();
  test_errors();
  test_text_clusters();
  test_thresholds();
  test_round_robin();
  test_ties();
  test_outputs();
  test_read_pass_rates();
  return test_done();
}
