/* fuzz_safetensors.c — libFuzzer target for the safetensors parser and its
 * validation (core/safetensors.h): any input must parse or be refused with an
 * error, never crash or read out of bounds; a parsed file's tensors must lie
 * inside the input, and reading them as float must stay inside them.
 * Seeds: tests/fuzz/corpus/safetensors/ (from tests/ref/make_checkpoint_fixtures.py). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy of exactly size bytes, so that ASan sees any read past the end. */
  unsigned char *buf = malloc(size ? size : 1);
  memcpy(buf, data, size);
  rlvr_safetensors st;
  int rc = rlvr_safetensors_parse(buf, size, "fuzz.safetensors", &st);
  if (rc == RLVR_OK) {
    size_t covered = 0;
    for (int i = 0; i < st.num_tensors; i++) {
      const rlvr_st_tensor *t = &st.tensors[i];
      RLVR_CHECK(t->data >= buf && t->data + (t->end - t->begin) <= buf + size, "tensor outside the input");
      RLVR_CHECK(t->numel * rlvr_dtype_size(t->dtype) == t->end - t->begin);
      RLVR_CHECK(rlvr_safetensors_find(&st, t->name) != NULL);
      covered += t->end - t->begin;
      if (t->numel <= (1u << 20)) {
        float *out = malloc(t->numel ? t->numel * sizeof *out : 1);
        rlvr_safetensors_read_f32(&st, t, out);
        free(out);
      }
    }
    RLVR_CHECK(8 + st.header_len + covered == size, "tensors must tile the data section");
    rlvr_safetensors_meta(&st, "format");
    rlvr_safetensors_close(&st);
  } else {
    RLVR_CHECK(st.tensors == NULL && st.num_tensors == 0, "a failed parse leaves *st zeroed");
    RLVR_CHECK(rlvr_error_message()[0] != '\0');
  }
  free(buf);
  return 0;
}
