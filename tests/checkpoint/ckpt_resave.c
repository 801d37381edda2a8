/* ckpt_resave.c — loads a Hugging Face model directory with rlvr and writes
 * it again: `ckpt_resave SRC DST [--bf16] [--max-shard-bytes N]`. Tokenizer
 * and generation files are copied from SRC. For tests/ref/check_transformers_load.py,
 * which loads DST in transformers and compares its logits with SRC's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/checkpoint.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ckpt_resave SRC DST [--bf16] [--max-shard-bytes N]\n");
    return 2;
  }
  rlvr_save_options o = {.tokenizer_dir = argv[1]};
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--bf16") == 0) o.bf16 = 1;
    else if (strcmp(argv[i], "--max-shard-bytes") == 0 && i + 1 < argc) o.max_shard_bytes = strtoull(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "ckpt_resave: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  rlvr_model m;
  int rc = rlvr_model_load(argv[1], &m);
  if (rc == RLVR_OK) {
    rc = rlvr_model_save(&m, argv[2], &o);
    rlvr_model_free(&m);
  }
  if (rc) {
    fprintf(stderr, "ckpt_resave: %s\n", rlvr_error_message());
    return 1;
  }
  return 0;
}
