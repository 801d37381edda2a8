/* fuzz_train_state.c — the training-state reader (learner/checkpoint.h,
 * rlvr_train_state_parse) on arbitrary bytes: it must accept or reject with a
 * message, never crash, and a parsed state must survive the ledger's own
 * checks (rlvr_ledger_restore's id order is exercised by test_learner). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "learner/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rlvr_train_state st;
  int rc = rlvr_train_state_parse((const char *)data, size, "fuzz/state.json", &st);
  if (rc == RLVR_OK) {
    RLVR_CHECK(st.ledger.npending >= 0);
    for (int i = 0; i < st.ledger.npending; i++) (void)st.ledger.pending_ids[i];
    rlvr_train_state_clear(&st);
  } else {
    RLVR_CHECK(rlvr_error_message()[0] != 0);
  }
  return 0;
}
