/* test_task_verify.c — the generators and the verifiers agree: the worked
 * example of every generated item (its completion under the r1 and plain
 * templates) scores 1 with the verifier the item names, and the same
 * completion with a wrong answer ("<answer>+1") scores 0. This ties the
 * generators' answers and references to verifiers/math.lua and
 * verifiers/countdown.lua as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_test_util.h"
#include "tasks/template.h"
#include "testing.h"
#include "verifiers/host.h"

static void score(rlvr_verify_host *h, const rlvr_task_item *it, const char *completion, rlvr_verify_result *r) {
  rlvr_verify_item v = {
      .verifier = it->verifier,
      .completion = completion,
      .completion_len = strlen(completion),
      .reference = it->reference,
      .reference_len = strlen(it->reference),
      .reference_json = it->reference_json,
      .meta = it->meta,
      .meta_len = strlen(it->meta),
  };
  rlvr_host_verify(h, &v, r);
}

static void check_source(rlvr_verify_host *h, const rlvr_task_template *tpl, const char *source, const char *more,
                         int n) {
  rlvr_task_source *s;
  int rc = build_source(&s, source, more, "task.heldout_size=50", NULL);
  CHECK_MSG(rc == RLVR_OK, "%s %s: %s", source, more, rlvr_error_message());
  if (rc) return;
  int right = 0, wrong_rejected = 0, total = 0;
  for (int split = 0; split < 2; split++) {
    int count = split ? (int)rlvr_task_source_size(s, RLVR_TASK_SPLIT_HELDOUT) : n;
    for (int i = 0; i < count; i++) {
      rlvr_task_item it;
      CHECK(rlvr_task_source_get(s, (rlvr_task_split)split, (uint64_t)i, &it) == RLVR_OK);
      char *completion = NULL;
      CHECK(rlvr_task_template_completion(tpl, &it, &completion) == RLVR_OK);
      rlvr_verify_result r = {0};
      score(h, &it, completion, &r);
      int ok = r.status == RLVR_VERIFY_OK && r.score == 1.0;
      if (!ok && total - right < 3)
        fprintf(stderr, "FAIL %s: %s scored %g (%s) on '%s': %s\n", rlvr_task_template_name(tpl), it.id, r.score,
                rlvr_verify_status_name(r.status), completion, r.details);
      right += ok;
      rlvr_verify_result_clear(&r);
      /* The same worked example with the answer changed to answer+1. */
      rlvr_task_item wrong = it;
      size_t wl = strlen(it.answer) + 3;
      char *wa = malloc(wl);
      snprintf(wa, wl, "%s+1", it.answer);
      wrong.answer = wa;
      char *bad = NULL;
      CHECK(rlvr_task_template_completion(tpl, &wrong, &bad) == RLVR_OK);
      score(h, &it, bad, &r);
      wrong_rejected += r.score == 0.0;
      if (r.score != 0.0) fprintf(stderr, "FAIL %s: '%s' scored %g\n", it.id, bad, r.score);
      rlvr_verify_result_clear(&r);
      free(wa);
      free(bad);
      free(completion);
      rlvr_task_item_clear(&it);
      total++;
    }
  }
  CHECK_MSG(right == total && wrong_rejected == total, "%s %s %s: %d of %d right, %d of %d wrong answers rejected",
            rlvr_task_template_name(tpl), source, more, right, total, wrong_rejected, total);
  printf("ok   %s %s %s: %d of %d worked examples score 1, %d of %d wrong answers 0\n", rlvr_task_template_name(tpl),
         source, more, right, total, wrong_rejected, total);
  rlvr_task_source_free(s);
}

int main(void) {
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, "verifiers");
  o.workers = 0;
  rlvr_verify_host *h = rlvr_host_build(&o);
  const char *templates[] = {"r1", "plain"};
  for (int t = 0; t < 2; t++) {
    rlvr_task_template *tpl = NULL;
    CHECK(rlvr_task_template_load(templates[t], "tasks", &tpl) == RLVR_OK);
    if (!tpl) continue;
    check_source(h, tpl, "task.source=arith", "task.steps=2", 100);
    check_source(h, tpl, "task.source=arith", "task.options=ops=+-*,steps=4,digits=3", 50);
    check_source(h, tpl, "task.source=linear", "task.steps=2", 100);
    check_source(h, tpl, "task.source=linear", "task.options=rational=true", 100);
    check_source(h, tpl, "task.source=countdown", "task.steps=3", 100);
    rlvr_task_template_free(tpl);
  }
  rlvr_host_free(h);
  return test_done();
}
