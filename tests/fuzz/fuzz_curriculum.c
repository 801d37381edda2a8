/* fuzz_curriculum.c — the pass-rate curriculum's file reader
 * (tasks/curriculum.h) on arbitrary bytes: building either succeeds or
 * returns an error with nothing allocated; on success the stats add up, the
 * probabilities of the kept records sum to 1, and an epoch's order holds K
 * kept indices. The first byte picks the options (order, drops, require_all,
 * a narrow width); the records' ids are fixed: a, b, c, d, 7, "x y". */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/check.h"
#include "core/error.h"
#include "tasks/curriculum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t opt = size ? data[0] : 0;
  const char *ids[] = {"a", "b", "c", "d", "7", "x y"};
  const size_t n = sizeof ids / sizeof *ids;
  rlvr_curriculum_options o = {
      .order = (rlvr_curriculum_order)(opt & 3),
      .target = (opt & 4) ? 0.9 : 0.5,
      .width = (opt & 8) ? 1e-4 : 0.25,
      .missing = (opt & 16) ? 1.0 : 0.5,
      .require_all = (opt & 32) != 0,
      .drop_solved = (opt & 64) != 0,
      .drop_unsolved = (opt & 128) != 0,
  };
  rlvr_curriculum *c = NULL;
  const char *text = size ? (const char *)data + 1 : "";
  if (rlvr_curriculum_build(&o, "fuzz.jsonl", text, size ? size - 1 : 0, ids, n, &c) != RLVR_OK) {
    RLVR_CHECK(c == NULL, "a failed build leaves *out untouched");
    return 0;
  }
  rlvr_curriculum_stats st;
  rlvr_curriculum_get_stats(c, &st);
  RLVR_CHECK(st.records == n && st.rated + st.defaulted == n && st.rated >= 1);
  RLVR_CHECK(st.kept + st.dropped_solved + st.dropped_unsolved == n && st.kept >= 1);
  RLVR_CHECK(st.unmatched <= st.lines && st.lines - st.unmatched == st.rated);
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    const double p = rlvr_curriculum_pass_rate(c, i);
    RLVR_CHECK(p >= 0 && p <= 1);
    total += rlvr_curriculum_probability(c, i);
  }
  RLVR_CHECK(fabs(total - 1) < 1e-9, "probabilities sum to %.17g", total);
  const uint32_t perm[] = {5, 2, 0, 4, 1, 3};
  uint32_t out[6];
  rlvr_curriculum_epoch_order(c, perm, opt, out);
  for (size_t k = 0; k < st.kept; k++) RLVR_CHECK(out[k] < n && rlvr_curriculum_kept(c, out[k]));
  rlvr_curriculum_free(c);
  return 0;
}
