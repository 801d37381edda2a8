/* fuzz_hfconfig.c — libFuzzer target for config.json parsing
 * (rlvr_hf_config_parse in model/checkpoint.h): any input is a config rlvr
 * accepts (which must then pass rlvr_model_config_validate and format back
 * into a config that parses to the same thing) or an error, never a crash.
 * Seeds: tests/fuzz/corpus/hfconfig/ (the fixtures' config.json files). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "model/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size ? size : 1);
  memcpy(buf, data, size);
  rlvr_model_config c, again;
  memset(&c, 0, sizeof c);
  if (rlvr_hf_config_parse(buf, size, "fuzz/config.json", &c) == RLVR_OK) {
    RLVR_CHECK(rlvr_model_config_validate(&c) == RLVR_OK);
    char *text = rlvr_hf_config_format(&c, "float32");
    memset(&again, 0, sizeof again);
    RLVR_CHECK(rlvr_hf_config_parse(text, strlen(text), "formatted", &again) == RLVR_OK, "%s", rlvr_error_message());
    RLVR_CHECK(again.arch == c.arch && again.hidden_size == c.hidden_size && again.head_dim == c.head_dim &&
               again.num_kv_heads == c.num_kv_heads && again.rope_theta == c.rope_theta &&
               again.rms_eps == c.rms_eps && again.tie_embeddings == c.tie_embeddings &&
               again.num_eos == c.num_eos && again.bos_token_id == c.bos_token_id);
    free(text);
  }
  free(buf);
  return 0;
}
