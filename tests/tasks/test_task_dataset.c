/* test_task_dataset.c — JSONL datasets: the field mapping (GSM8K's
 * "#### n", MATH's \boxed{}, structured references, per-record verifier and
 * id, meta fields), errors that name the file, line and field, held-out
 * splits by fraction and by file, and the cursor: one permutation per epoch,
 * restored from (seed, epoch, position) to give the same continuation
 * across epoch boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_test_util.h"
#include "tasks/dataset.h"
#include "testing.h"

#define FIX "tests/fixtures/tasks/"

static rlvr_task_item get(rlvr_task_source *s, rlvr_task_split split, uint64_t i) {
  rlvr_task_item it = {0};
  int rc = rlvr_task_source_get(s, split, i, &it);
  CHECK_MSG(rc == RLVR_OK, "get %llu: %s", (unsigned long long)i, rlvr_error_message());
  return it;
}

#define CHECK_STR(got, want)                                                                       \
  CHECK_MSG((got) && strcmp((got), (want)) == 0, "got '%s', want '%s'", (got) ? (got) : "(null)", (want))

static void test_gsm8k(void) {
  const char *modes[] = {"task.answer_extract=auto", "task.answer_extract=gsm8k"};
  for (int m = 0; m < 2; m++) {
    rlvr_task_source *s;
    int rc = build_source(&s, "task.source=" FIX "gsm8k_sample.jsonl", modes[m], NULL);
    CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
    if (rc) continue;
    CHECK(!rlvr_task_source_is_generator(s) && strcmp(rlvr_task_source_name(s), "gsm8k_sample.jsonl") == 0);
    CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_TRAIN) == 4);
    CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT) == 0);
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 0);
    CHECK_STR(it.prompt, "A baker made 36 muffins in the morning and half as many in the afternoon. How many muffins "
                         "did the baker make in all?");
    CHECK_STR(it.answer, "54");
    CHECK_STR(it.reference, "54");
    CHECK(it.reference_json == 0);
    CHECK_STR(it.solution, "In the afternoon the baker made 36/2 = 18 muffins.\nIn all the baker made 36+18 = 54 muffins.");
    CHECK_STR(it.id, "gsm8k_sample.jsonl:1");
    CHECK_STR(it.verifier, "math");
    CHECK_STR(it.meta, "{}");
    rlvr_task_item_clear(&it);
    /* The blank third line is skipped; "1,400" loses its comma. */
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 2);
    CHECK_STR(it.id, "gsm8k_sample.jsonl:4");
    CHECK_STR(it.answer, "1400");
    CHECK_STR(it.solution, "It builds 15*10 = 150 houses.\nIt will have 1250+150 = 1400 houses.");
    rlvr_task_item_clear(&it);
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 3);
    CHECK_STR(it.id, "gsm8k_sample.jsonl:5");
    CHECK_STR(it.answer, "7");
    rlvr_task_item_clear(&it);
    CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, 4, &it) == RLVR_ERR_RANGE);
    rlvr_task_source_free(s);
  }
  /* none: the whole answer text, no solution. */
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=" FIX "gsm8k_sample.jsonl", "task.answer_extract=none", NULL) == RLVR_OK);
  if (s) {
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 3);
    CHECK_STR(it.answer, "She needs 140/20 = <<140/20=7>>7 days.\n#### 7");
    CHECK(it.solution == NULL);
    rlvr_task_item_clear(&it);
  }
  rlvr_task_source_free(s);
}

static void test_math_and_structured(void) {
  rlvr_task_source *s;
  int rc = build_source(&s, "task.source=" FIX "math_sample.jsonl", "task.meta_fields=level, type,missing", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (!rc) {
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 0);
    CHECK_STR(it.prompt, "What is $\\frac{1}{4} + \\frac{1}{4}$?");
    CHECK_STR(it.answer, "\\frac{1}{2}"); /* braces balanced */
    CHECK_STR(it.solution, "Adding, $\\frac{1}{4} + \\frac{1}{4} = \\frac{2}{4} = \\boxed{\\frac{1}{2}}$.");
    CHECK_STR(it.id, "prealgebra/1");
    CHECK_STR(it.meta, "{\"level\":\"Level 1\",\"type\":\"Prealgebra\"}");
    CHECK_STR(it.verifier, "math");
    rlvr_task_item_clear(&it);
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 1);
    CHECK_STR(it.answer, "5"); /* the last \boxed, not the first */
    rlvr_task_item_clear(&it);
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 2);
    CHECK_STR(it.answer, "4"); /* "\boxed {4}" */
    CHECK_STR(it.verifier, "exact"); /* the record's own verifier field */
    rlvr_task_item_clear(&it);
    rlvr_task_source_free(s);
  }
  /* task.verifier changes the default; task.verifier_field='' ignores the
   * records' field; task.id_field='' gives file:line ids. */
  CHECK(build_source(&s, "task.source=" FIX "math_sample.jsonl", "task.verifier=math2", "task.verifier_field=",
                     "task.id_field=", NULL) == RLVR_OK);
  if (s) {
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 2);
    CHECK_STR(it.verifier, "math2");
    CHECK_STR(it.id, "math_sample.jsonl:3");
    rlvr_task_item_clear(&it);
    rlvr_task_source_free(s);
  }
  /* A separate solution field overrides what extraction leaves. */
  CHECK(build_source(&s, "task.source=" FIX "math_sample.jsonl", "task.answer_field=solution",
                     "task.solution_field=problem", NULL) == RLVR_OK);
  if (s) {
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 1);
    CHECK_STR(it.solution, "Find $x$ if $2x = 10$.");
    rlvr_task_item_clear(&it);
    rlvr_task_source_free(s);
  }
  rc = build_source(&s, "task.source=" FIX "countdown_sample.jsonl", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (!rc) {
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, 0);
    CHECK(it.reference_json == 1);
    CHECK_STR(it.reference, "{\"numbers\":[3,5,2],\"target\":16}");
    CHECK_STR(it.verifier, "countdown");
    rlvr_task_item_clear(&it);
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 1);
    CHECK_STR(it.reference, "42");
    CHECK(it.reference_json == 0);
    rlvr_task_item_clear(&it);
    it = get(s, RLVR_TASK_SPLIT_TRAIN, 2);
    CHECK_STR(it.answer, "1.5");
    rlvr_task_item_clear(&it);
    rlvr_task_source_free(s);
  }
}

/* Loading file (with extra overrides) fails with code and the pieces. */
static void expect_error(const char *file, const char *extra, int code, const char *p1, const char *p2) {
  char src[256];
  snprintf(src, sizeof src, "task.source=" FIX "%s", file);
  rlvr_task_source *s;
  int rc = build_source(&s, src, extra ? extra : "task.seed=0", NULL);
  CHECK_MSG(rc == code, "%s: rc %d, want %d (%s)", file, rc, code, rlvr_error_message());
  CHECK(message_has(p1, p2 ? p2 : p1, NULL));
  CHECK(s == NULL);
}

static void test_bad_input(void) {
  expect_error("bad_json.jsonl", NULL, RLVR_ERR_FORMAT, FIX "bad_json.jsonl:3:", "malformed JSON");
  expect_error("bad_missing_prompt.jsonl", NULL, RLVR_ERR_FORMAT, FIX "bad_missing_prompt.jsonl:3:",
               "no field 'question,problem,prompt'");
  expect_error("bad_missing_prompt.jsonl", "task.prompt_field=prompt_text", RLVR_ERR_FORMAT,
               "bad_missing_prompt.jsonl:1:", "no field 'prompt_text'");
  expect_error("bad_missing_answer.jsonl", NULL, RLVR_ERR_FORMAT, FIX "bad_missing_answer.jsonl:2:",
               "no field 'answer,solution'");
  expect_error("bad_not_object.jsonl", NULL, RLVR_ERR_FORMAT, "bad_not_object.jsonl:2:", "not a JSON object");
  expect_error("bad_duplicate_id.jsonl", NULL, RLVR_ERR_FORMAT, "bad_duplicate_id.jsonl:2:", "id 'x'");
  expect_error("bad_gsm8k.jsonl", "task.answer_extract=gsm8k", RLVR_ERR_FORMAT, "bad_gsm8k.jsonl:2:", "####");
  expect_error("bad_prompt_type.jsonl", NULL, RLVR_ERR_FORMAT, "bad_prompt_type.jsonl:1:", "'question' is not a string");
  expect_error("bad_null_answer.jsonl", NULL, RLVR_ERR_FORMAT, "bad_null_answer.jsonl:1:", "answer");
  expect_error("bad_trailing.jsonl", NULL, RLVR_ERR_FORMAT, "bad_trailing.jsonl:1:", "after the JSON value");
  expect_error("no_such_file.jsonl", NULL, RLVR_ERR_IO, "no_such_file.jsonl", NULL);
  expect_error("ten.jsonl", "task.answer_extract=sometimes", RLVR_ERR_CONFIG, "task.answer_extract", "sometimes");
  expect_error("ten.jsonl", "task.heldout_fraction=1.5", RLVR_ERR_CONFIG, "task.heldout_fraction", NULL);
  expect_error("ten.jsonl", "task.prompt_field=", RLVR_ERR_CONFIG, "task.prompt_field", NULL);
  /* A bad held-out file names that file. */
  expect_error("ten.jsonl", "task.heldout_path=" FIX "bad_json.jsonl", RLVR_ERR_FORMAT, "bad_json.jsonl:3:", NULL);
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=" FIX "ten.jsonl", "task.heldout_path=" FIX "ten_heldout.jsonl",
                     "task.heldout_fraction=0.2", NULL) == RLVR_ERR_CONFIG);
  CHECK(message_has("task.heldout_fraction", "task.heldout_path", NULL));
}

/* The ten.jsonl fixture: record i (1-based line) asks "What is i + i?",
 * except line 9, which repeats line 2's prompt. */
static int prompt_line(const char *prompt) {
  int i;
  if (sscanf(prompt, "What is %d + ", &i) != 1) return -1;
  return i;
}

static void test_splits(void) {
  /* By fraction: 3 of 10 held out; every record is held out, trained on,
   * or dropped because its prompt is held out; checked here from the ids
   * and prompts, not with the source's own set. */
  int held_by_seed[4][11] = {{0}};
  for (int seed = 0; seed < 4; seed++) {
    char ss[32];
    snprintf(ss, sizeof ss, "task.split_seed=%d", seed);
    rlvr_task_source *s;
    int rc = build_source(&s, "task.source=" FIX "ten.jsonl", "task.heldout_fraction=0.3", ss, NULL);
    CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
    if (rc) continue;
    int nh = (int)rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT);
    int nt = (int)rlvr_task_source_size(s, RLVR_TASK_SPLIT_TRAIN);
    int seen[11] = {0}, held_prompt[11] = {0};
    CHECK(nh == 3);
    for (int i = 0; i < nh; i++) {
      rlvr_task_item it = get(s, RLVR_TASK_SPLIT_HELDOUT, (uint64_t)i);
      int line = it.id && strcmp(it.id, "dup-of-2") == 0 ? 9 : atoi(strchr(it.id, ':') + 1);
      seen[line]++;
      held_by_seed[seed][line] = 1;
      held_prompt[prompt_line(it.prompt)] = 1;
      rlvr_task_item_clear(&it);
    }
    int overlap = 0;
    for (int i = 0; i < nt; i++) {
      rlvr_task_item it = get(s, RLVR_TASK_SPLIT_TRAIN, (uint64_t)i);
      int line = it.id && strcmp(it.id, "dup-of-2") == 0 ? 9 : atoi(strchr(it.id, ':') + 1);
      seen[line]++;
      overlap += held_prompt[prompt_line(it.prompt)];
      rlvr_task_item_clear(&it);
    }
    /* Records neither held out nor trained on must be the dropped ones:
     * exactly the non-held records whose prompt is held out. */
    int dropped = 0, twice = 0;
    for (int line = 1; line <= 10; line++) {
      int p = line == 9 ? 2 : line;
      if (!seen[line]) dropped += held_prompt[p] ? 1 : 100; /* 100: lost for no reason */
      twice += seen[line] > 1;
    }
    CHECK_MSG(overlap == 0 && twice == 0 && dropped == rlvr_task_source_dropped(s),
              "split_seed %d: %d training prompts held out, %d records in both, dropped %d vs %lld", seed, overlap,
              twice, dropped, (long long)rlvr_task_source_dropped(s));
    /* The held-out split does not follow run.seed. */
    rlvr_task_source *other;
    CHECK(build_source(&other, "task.source=" FIX "ten.jsonl", "task.heldout_fraction=0.3", ss, "run.seed=99", NULL) ==
          RLVR_OK);
    for (int i = 0; other && i < nh; i++) {
      rlvr_task_item a = get(s, RLVR_TASK_SPLIT_HELDOUT, (uint64_t)i), b = get(other, RLVR_TASK_SPLIT_HELDOUT, (uint64_t)i);
      CHECK(items_equal(&a, &b));
      rlvr_task_item_clear(&a);
      rlvr_task_item_clear(&b);
    }
    CHECK(other && rlvr_task_source_fingerprint(other) == rlvr_task_source_fingerprint(s));
    rlvr_task_source_free(other);
    rlvr_task_source_free(s);
  }
  int differ = 0;
  for (int seed = 1; seed < 4; seed++) differ += memcmp(held_by_seed[0], held_by_seed[seed], sizeof held_by_seed[0]) != 0;
  CHECK_MSG(differ >= 2, "task.split_seed hardly changes the held-out records (%d of 3 differ)", differ);

  /* By file: ten_heldout.jsonl holds "What is 3 + 3?" (line 3 of ten.jsonl,
   * dropped from training) and one prompt ten.jsonl does not have. */
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=" FIX "ten.jsonl", "task.heldout_path=" FIX "ten_heldout.jsonl", NULL) == RLVR_OK);
  if (s) {
    CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT) == 2);
    CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_TRAIN) == 9);
    CHECK(rlvr_task_source_dropped(s) == 1);
    rlvr_task_item it = get(s, RLVR_TASK_SPLIT_HELDOUT, 1);
    CHECK_STR(it.id, "h2");
    rlvr_task_item_clear(&it);
    for (uint64_t i = 0; i < 9; i++) {
      it = get(s, RLVR_TASK_SPLIT_TRAIN, i);
      CHECK(strcmp(it.prompt, "What is 3 + 3?") != 0);
      rlvr_task_item_clear(&it);
    }
    rlvr_task_source_free(s);
  }
}

/* The cursor over ten.jsonl (all 10 records trained on). */
static void test_cursor(void) {
  enum { N = 10, TAKE = 35 };
  rlvr_task_source *s, *s2;
  CHECK(build_source(&s, "task.source=" FIX "ten.jsonl", NULL) == RLVR_OK);
  CHECK(build_source(&s2, "task.source=" FIX "ten.jsonl", NULL) == RLVR_OK);
  if (!s || !s2) return;
  CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_TRAIN) == N);
  char *ids[TAKE + 5];
  rlvr_task_cursor states[TAKE + 5];
  rlvr_task_cursor c;
  rlvr_task_cursor_init(&c, 3);
  for (int k = 0; k < TAKE + 5; k++) {
    states[k] = c;
    uint64_t peek;
    CHECK(rlvr_task_cursor_peek_index(s, &c, &peek) == RLVR_OK);
    rlvr_task_item it = {0};
    CHECK(rlvr_task_cursor_next(s, &c, &it) == RLVR_OK);
    rlvr_task_item want = get(s, RLVR_TASK_SPLIT_TRAIN, peek);
    CHECK(items_equal(&it, &want));
    rlvr_task_item_clear(&want);
    ids[k] = it.id;
    it.id = NULL;
    rlvr_task_item_clear(&it);
  }
  CHECK_MSG(c.seed == 3 && c.epoch == 4 && c.position == 0, "cursor after 40: (%llu, %llu, %llu)",
            (unsigned long long)c.seed, (unsigned long long)c.epoch, (unsigned long long)c.position);
  CHECK(states[TAKE].epoch == 3 && states[TAKE].position == 5);
  /* Each epoch visits every record once; the epochs' orders differ. */
  int perm_ok = 1, orders_differ = 0;
  for (int e = 0; e < 4; e++) {
    for (int a = 0; a < N; a++)
      for (int b = a + 1; b < N; b++) perm_ok &= strcmp(ids[e * N + a], ids[e * N + b]) != 0;
    if (e > 0) {
      int same = 1;
      for (int a = 0; a < N; a++) same &= strcmp(ids[a], ids[e * N + a]) == 0;
      orders_differ += !same;
    }
  }
  CHECK_MSG(perm_ok && orders_differ == 3, "epochs: permutation %d, %d of 3 later orders differ", perm_ok, orders_differ);
  /* Restore every saved state in another source: the same continuation,
   * across the epoch boundaries. */
  int resume_ok = 1;
  for (int k = 0; k <= TAKE; k++) {
    rlvr_task_cursor r = states[k];
    for (int j = k; j < k + 5 && j < TAKE + 5; j++) {
      rlvr_task_item it = {0};
      CHECK(rlvr_task_cursor_next(s2, &r, &it) == RLVR_OK);
      resume_ok &= it.id && strcmp(it.id, ids[j]) == 0;
      rlvr_task_item_clear(&it);
    }
  }
  CHECK_MSG(resume_ok, "a restored cursor continues differently");
  /* Another seed, another first epoch order. */
  rlvr_task_cursor_init(&c, 4);
  int same = 1;
  for (int k = 0; k < N; k++) {
    rlvr_task_item it = {0};
    CHECK(rlvr_task_cursor_next(s2, &c, &it) == RLVR_OK);
    same &= strcmp(it.id, ids[k]) == 0;
    rlvr_task_item_clear(&it);
  }
  CHECK(!same);
  /* A cursor past the end (the dataset shrank) is an error, nothing moves. */
  rlvr_task_cursor bad = {3, 1, N}, copy = bad;
  rlvr_task_item it = {0};
  CHECK(rlvr_task_cursor_next(s, &bad, &it) == RLVR_ERR_RANGE && memcmp(&bad, &copy, sizeof bad) == 0 && !it.id);
  CHECK(message_has("cursor position 10", NULL));
  for (int k = 0; k < TAKE + 5; k++) free(ids[k]);
  /* The fingerprint follows the mapping. */
  rlvr_task_source *s3;
  CHECK(build_source(&s3, "task.source=" FIX "ten.jsonl", "task.meta_fields=id", NULL) == RLVR_OK);
  CHECK(rlvr_task_source_fingerprint(s) == rlvr_task_source_fingerprint(s2));
  CHECK(s3 && rlvr_task_source_fingerprint(s) != rlvr_task_source_fingerprint(s3));
  rlvr_task_source_free(s);
  rlvr_task_source_free(s2);
  rlvr_task_source_free(s3);
  /* A dataset whose records are all held out has nothing to train on. */
  CHECK(build_source(&s, "task.source=" FIX "countdown_sample.jsonl", "task.heldout_fraction=0.9", NULL) == RLVR_OK);
  if (s) {
    CHECK(rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT) == 3 && rlvr_task_source_size(s, RLVR_TASK_SPLIT_TRAIN) == 0);
    rlvr_task_cursor_init(&c, 1);
    CHECK(rlvr_task_cursor_next(s, &c, &it) == RLVR_ERR_RANGE);
    rlvr_task_source_free(s);
  }
}

int main(void) {
  test_gsm8k();
  test_math_and_structured();
  test_bad_input();
  test_splits();
  test_cursor();
  return test_done();
}
