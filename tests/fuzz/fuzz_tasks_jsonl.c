/* fuzz_tasks_jsonl.c — the JSONL task dataset reader (tasks/dataset.h) on
 * arbitrary bytes: loading either succeeds or returns an error, and every
 * record of a loaded dataset maps to an item. The first byte picks the
 * answer extraction, so each mode sees the inputs. */
#include <stddef.h>
#include <stdint.h>

#include "core/check.h"
#include "core/error.h"
#include "tasks/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const modes[] = {"auto", "gsm8k", "boxed", "none"};
  const char *mode = size ? modes[data[0] % 4] : "auto";
  rlvr_dataset_mapping m = {
      .prompt_field = "question,problem,prompt",
      .answer_field = "answer,solution",
      .solution_field = "steps",
      .answer_extract = mode,
      .verifier = "math",
      .verifier_field = "verifier",
      .id_field = "id",
      .meta_fields = "level,type",
  };
  rlvr_dataset *d = NULL;
  if (rlvr_dataset_load_text("fuzz.jsonl", (const char *)data, size, &m, &d) == RLVR_OK) {
    for (size_t i = 0; i < rlvr_dataset_size(d); i++) {
      rlvr_task_item it;
      RLVR_CHECK(rlvr_dataset_item(d, i, &it) == RLVR_OK, "a record that loaded must map again");
      rlvr_task_item_clear(&it);
    }
  }
  rlvr_dataset_free(d);
  return 0;
}
