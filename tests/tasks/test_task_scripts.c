/* test_task_scripts.c — generator scripts that go wrong name themselves and
 * the item; the sandbox has no math.random and stops endless loops; the
 * rng table, the difficulty table and the result conversion (reference and
 * meta as JSON, per-item verifier) do what generator.h says; user scripts
 * are found through task.paths without a rebuild. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_test_util.h"
#include "tasks/generator.h"
#include "testing.h"

#define FIX "tests/fixtures/tasks/generators/"

/* A build that must fail with code and a message holding the pieces. */
#define EXPECT_BUILD_ERROR(code, pieces_call, ...)                                                 \
  do {                                                                                             \
    rlvr_task_source *s_;                                                                          \
    int rc_ = build_source(&s_, __VA_ARGS__, NULL);                                                \
    CHECK_MSG(rc_ == (code), "%s: rc %d (%s)", #__VA_ARGS__, rc_, rlvr_error_message());            \
    CHECK(pieces_call);                                                                            \
    rlvr_task_source_free(s_);                                                                     \
  } while (0)

static void test_load_errors(void) {
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "syntax_error.lua:", "expected", NULL),
                     "task.source=" FIX "syntax_error.lua");
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "load_error.lua", "nil value", NULL),
                     "task.source=" FIX "load_error.lua");
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "not_table.lua", "returned a string", NULL),
                     "task.source=" FIX "not_table.lua");
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "no_generate.lua", "'generate'", NULL),
                     "task.source=" FIX "no_generate.lua");
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "bad_name.lua", "'name'", NULL), "task.source=" FIX "bad_name.lua");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.source", "nosuchgen", "tasks/generators/nosuchgen.lua", NULL),
                     "task.source=nosuchgen");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.source", "not a valid name", NULL), "task.source=bad name!");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.options", "'noequals'", NULL), "task.options=noequals");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.digits", NULL), "task.digits=0");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.steps", NULL), "task.steps=65");
  EXPECT_BUILD_ERROR(RLVR_ERR_CONFIG, message_has("task.source is empty", NULL), "task.source=");
  /* A generator's own assertion on its difficulty names script and item. */
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has("tasks/generators/arith.lua", "item heldout:0", "difficulty.ops", NULL),
                     "task.options=ops=/");
  /* An item error while the held-out split is made names that item. */
  EXPECT_BUILD_ERROR(RLVR_ERR_SCRIPT, message_has(FIX "wrong_prompt.lua", "item heldout:0", "prompt", NULL),
                     "task.source=" FIX "wrong_prompt.lua");
}

/* Builds with no held-out split, then makes training item 0: it must fail
 * with RLVR_ERR_SCRIPT naming the script, the item and the pieces. */
static void expect_item_error(const char *script, const char *piece1, const char *piece2) {
  char src[256];
  snprintf(src, sizeof src, "task.source=" FIX "%s", script);
  rlvr_task_source *s;
  int rc = build_source(&s, src, "task.heldout_size=0", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s: %s", script, rlvr_error_message());
  if (rc) return;
  rlvr_task_item it = {0};
  rlvr_task_item before = it;
  rc = rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, 0, &it);
  CHECK_MSG(rc == RLVR_ERR_SCRIPT, "%s: rc %d", script, rc);
  char path[256];
  snprintf(path, sizeof path, FIX "%s", script);
  CHECK(message_has(path, "item train:0", piece1, piece2, NULL));
  CHECK(memcmp(&it, &before, sizeof it) == 0); /* untouched on error */
  rlvr_task_source_free(s);
}

static void test_item_errors(void) {
  expect_item_error("wrong_prompt.lua", "prompt as a number", "want a non-empty string");
  expect_item_error("wrong_result.lua", "returned a string", "want a table");
  expect_item_error("unknown_field.lua", "unknown field 'soluton'", NULL);
  expect_item_error("bad_meta.lua", "meta", "function");
  expect_item_error("uses_random.lua", "random", "nil value");
  expect_item_error("endless.lua", "instruction limit", NULL);

  /* runtime_error.lua fails on the draws that come up 3: find such an
   * index; its message names the index and the script's own error, and
   * the indices around it still work and repeat exactly. */
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=" FIX "runtime_error.lua", "task.heldout_size=0", NULL) == RLVR_OK);
  if (!s) return;
  int failed = -1, good = 0;
  for (int i = 0; i < 60 && failed < 0; i++) {
    rlvr_task_item it;
    int rc = rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, (uint64_t)i, &it);
    if (rc) {
      failed = i;
      char item[64];
      snprintf(item, sizeof item, "item train:%d:", i);
      CHECK(rc == RLVR_ERR_SCRIPT && message_has(FIX "runtime_error.lua", item, "three is not allowed", NULL));
      /* The traceback names the line of the error in the script. */
      CHECK(message_has("runtime_error.lua:5:", NULL));
    } else {
      rlvr_task_item again;
      CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, (uint64_t)i, &again) == RLVR_OK);
      CHECK(items_equal(&it, &again));
      rlvr_task_item_clear(&again);
      rlvr_task_item_clear(&it);
      good++;
    }
  }
  CHECK_MSG(failed >= 0 && good > 0, "runtime_error.lua: failed at %d after %d good items", failed, good);
  rlvr_task_source_free(s);
}

static void test_conversion(void) {
  rlvr_task_source *s;
  int rc = build_source(&s, "task.source=" FIX "stateful.lua", "task.heldout_size=3",
                        "task.options=flag=true, label=hard,ratio=0.5,digits=4", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(strcmp(rlvr_task_source_name(s), "stateful") == 0);
  int even = 0, odd = 0;
  for (uint64_t i = 0; i < 40; i++) {
    rlvr_task_item it;
    CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, i, &it) == RLVR_OK);
    long long n = atoll(it.answer);
    char want[256];
    /* Each item runs in a fresh state: the global counter is always 1. */
    snprintf(want, sizeof want, "call 1 draw %lld", n);
    CHECK_MSG(strcmp(it.prompt, want) == 0, "prompt '%s'", it.prompt);
    /* Keys sorted, integers as integers, the float as written. */
    snprintf(want, sizeof want, "{\"calls\":1,\"list\":[1,2.5,\"x\",true],\"n\":%lld}", n);
    CHECK_MSG(it.reference_json && strcmp(it.reference, want) == 0, "reference '%s'", it.reference);
    /* digits=4 from task.options replaces task.digits' 2. */
    CHECK_MSG(strcmp(it.meta, "{\"digits\":4,\"flag\":true,\"label\":\"hard\",\"ratio\":0.5}") == 0, "meta '%s'", it.meta);
    CHECK(strcmp(it.verifier, n % 2 == 0 ? "even" : "exact") == 0);
    even += n % 2 == 0, odd += n % 2 != 0;
    CHECK(it.solution == NULL);
    snprintf(want, sizeof want, "stateful:train:1:%llu", (unsigned long long)i);
    CHECK_MSG(strcmp(it.id, want) == 0, "id '%s'", it.id);
    rlvr_task_item_clear(&it);
  }
  CHECK(even > 0 && odd > 0);
  rlvr_task_item it;
  CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_HELDOUT, 2, &it) == RLVR_OK);
  CHECK(strcmp(it.id, "stateful:heldout:0:2") == 0);
  rlvr_task_item_clear(&it);
  CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_HELDOUT, 3, &it) == RLVR_ERR_RANGE);
  rlvr_task_source_free(s);

  /* task.verifier replaces the script's verifier, not an item's own. */
  CHECK(build_source(&s, "task.source=" FIX "stateful.lua", "task.verifier=other", "task.heldout_size=0", NULL) ==
        RLVR_OK);
  for (uint64_t i = 0; s && i < 20; i++) {
    CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, i, &it) == RLVR_OK);
    CHECK(strcmp(it.verifier, atoll(it.answer) % 2 == 0 ? "even" : "other") == 0);
    rlvr_task_item_clear(&it);
  }
  rlvr_task_source_free(s);

  /* The generator API directly: version given as a number reads as text. */
  rlvr_generator *g;
  CHECK(rlvr_generator_load(FIX "stateful.lua", "", &g) == RLVR_OK);
  CHECK(strcmp(rlvr_generator_version(g), "2") == 0 && strcmp(rlvr_generator_verifier(g), "exact") == 0);
  rlvr_generator_free(g);
}

static void test_rng(void) {
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=" FIX "rng_stats.lua", "task.heldout_size=0", NULL) == RLVR_OK);
  if (!s) return;
  int counts[7] = {0}, bad = 0, letters[3] = {0}, perm_ok = 1;
  double fmin = 1, fmax = 0;
  for (uint64_t item = 0; item < 5; item++) {
    rlvr_task_item it;
    CHECK(rlvr_task_source_get(s, RLVR_TASK_SPLIT_TRAIN, item, &it) == RLVR_OK);
    char *parts[5], *save = NULL;
    char *text = strdup(it.prompt);
    parts[0] = strtok_r(text, "|", &save);
    for (int k = 1; k < 5; k++) parts[k] = strtok_r(NULL, "|", &save);
    for (char *t = strtok_r(parts[0], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      int v = atoi(t);
      if (v < 1 || v > 6) bad++;
      else counts[v]++;
    }
    for (char *t = strtok_r(parts[1], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      double f = strtod(t, NULL);
      fmin = f < fmin ? f : fmin, fmax = f > fmax ? f : fmax;
    }
    for (char *t = strtok_r(parts[2], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (t[0] >= 'a' && t[0] <= 'c' && !t[1]) letters[t[0] - 'a']++;
      else bad++;
    }
    int seen[11] = {0}, n = 0;
    for (char *t = strtok_r(parts[3], ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
      int v = atoi(t);
      if (v >= 1 && v <= 10) seen[v]++;
    }
    for (int v = 1; v <= 10; v++) perm_ok &= seen[v] == 1;
    perm_ok &= n == 10;
    free(text);
    rlvr_task_item_clear(&it);
  }
  /* 3000 fair dice: each face 500 +- 5 sigma (sigma ~ 20). */
  int faces_ok = 1;
  for (int v = 1; v <= 6; v++) faces_ok &= counts[v] > 400 && counts[v] < 600;
  CHECK_MSG(bad == 0 && faces_ok, "rng:int(1, 6) faces %d %d %d %d %d %d, %d out of range", counts[1], counts[2],
            counts[3], counts[4], counts[5], counts[6], bad);
  CHECK_MSG(fmin >= 0 && fmax < 1 && fmin < 0.05 && fmax > 0.95, "rng:float() range [%g, %g]", fmin, fmax);
  CHECK_MSG(letters[0] > 50 && letters[1] > 50 && letters[2] > 50, "rng:choice %d %d %d", letters[0], letters[1],
            letters[2]);
  CHECK_MSG(perm_ok, "rng:shuffle is not a permutation");
  rlvr_task_source_free(s);
  CHECK(build_source(&s, "task.source=" FIX "rng_stats.lua", "task.options=bad_range=true", NULL) == RLVR_ERR_SCRIPT);
  CHECK(message_has("rng_stats.lua", "lo <= hi", NULL));
  rlvr_task_source_free(s);
}

static void test_find(void) {
  /* A user's directory in task.paths: its scripts are found by name, and
   * shadow built-in scripts of the same name. */
  rlvr_task_source *s;
  CHECK(build_source(&s, "task.source=tiny", "task.paths=/nonexistent:" FIX, "task.heldout_size=2", NULL) == RLVR_OK);
  CHECK(s && strcmp(rlvr_task_source_name(s), "tiny") == 0);
  rlvr_task_source_free(s);
  char *path = NULL;
  CHECK(rlvr_generator_find(FIX, "tasks/generators", "arith", &path) == RLVR_OK);
  CHECK(path && strcmp(path, "tasks/generators/arith.lua") == 0);
  free(path);
  path = NULL;
  CHECK(rlvr_generator_find("tests/fixtures/tasks:" FIX, "tasks/generators", "tiny", &path) == RLVR_OK);
  CHECK(path && strcmp(path, FIX "tiny.lua") == 0);
  free(path);
  path = NULL;
  CHECK(rlvr_generator_find("", "tasks/generators", "../arith", &path) == RLVR_ERR_IO);
  CHECK(rlvr_generator_find("", "tasks/generators", ".hidden", &path) == RLVR_ERR_ARG);
  CHECK(path == NULL);
}

int main(void) {
  test_load_errors();
  test_item_errors();
  test_conversion();
  test_rng();
  test_find();
  return test_done();
}
