/* fuzz_select.c — `rlvr select`'s pool reader and stages (tasks/select.h)
 * on arbitrary bytes: building the pool either succeeds or returns an error;
 * on success every record has one reason, the survivors have items and
 * clusters, and thresholds, round-robin, the output writers and the summary
 * run on pass rates made from the input. The first byte picks the options
 * (strict, cluster field, dedup, answer extraction). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/check.h"
#include "core/config.h"
#include "core/error.h"
#include "tasks/select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t opt = size ? data[0] : 0;
  rlvr_config c;
  rlvr_config_init(&c);
  static const char *const extract[] = {"task.answer_extract=auto", "task.answer_extract=gsm8k",
                                        "task.answer_extract=boxed", "task.answer_extract=none"};
  RLVR_CHECK(rlvr_config_set(&c, extract[opt & 3]) == RLVR_OK);
  if (opt & 4) RLVR_CHECK(rlvr_config_set(&c, "select.strict=true") == RLVR_OK);
  if (opt & 8) RLVR_CHECK(rlvr_config_set(&c, "select.cluster_field=domain,tag") == RLVR_OK);
  if (opt & 16) RLVR_CHECK(rlvr_config_set(&c, "select.dedup=false") == RLVR_OK);
  rlvr_select_pool p;
  if (rlvr_select_pool_build_text(&c, "fuzz.jsonl", (const char *)data, size, &p) == RLVR_OK) {
    for (size_t i = 0; i < p.n; i++) {
      rlvr_select_record *r = &p.recs[i];
      RLVR_CHECK(r->reason >= 0 && r->reason < RLVR_SELECT_NREASONS);
      if (r->reason == RLVR_SELECT_KEPT) {
        RLVR_CHECK(r->item.prompt && r->item.id && r->cluster, "a survivor has an item and a cluster");
        r->samples = 4;
        r->correct = (int)((i * 7 + opt) % 5);
      }
    }
    const rlvr_select_thresholds t = {0.1, 0.9, opt & 32, opt & 64};
    size_t eligible = rlvr_select_apply_pass_rates(p.recs, p.n, &t);
    size_t *order = NULL;
    size_t kept = rlvr_select_round_robin(p.recs, p.n, (size_t)(opt % 7), 0.5, opt, &order);
    RLVR_CHECK(kept <= eligible && kept <= (size_t)(opt % 7));
    FILE *f = fopen("/dev/null", "w");
    RLVR_CHECK(f != NULL);
    rlvr_select_write_kept(&p, order, kept, f);
    rlvr_select_write_dropped(&p, f);
    rlvr_select_write_pass_rates(&p, f);
    fclose(f);
    free(rlvr_select_summary_json(&p, 3, NULL));
    free(order);
    rlvr_select_pool_free(&p);
  }
  rlvr_config_free(&c);
  return 0;
}
