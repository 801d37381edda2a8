/* model_ref.h — reading the reference fixtures of tests/ref/make_model_fixtures.py
 * (tests/fixtures/model_ref/<name>.safetensors) in the model tests. */
#ifndef RLVR_TEST_MODEL_REF_H
#define RLVR_TEST_MODEL_REF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "model/model.h"

static const char *const ref_models[] = {"tiny-qwen2", "tiny-qwen3", "tiny-llama"};
enum { REF_NUM_MODELS = 3 };

/* Opens the model directory and its reference file; aborts the test when a
 * committed fixture cannot be read (that is a broken checkout, not a result). */
static inline void ref_open(const char *name, rlvr_model *m, rlvr_safetensors *st) {
  char path[256];
  snprintf(path, sizeof path, "tests/fixtures/models/%s", name);
  if (rlvr_model_load(path, m) != RLVR_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, rlvr_error_message());
    exit(1);
  }
  snprintf(path, sizeof path, "tests/fixtures/model_ref/%s.safetensors", name);
  if (rlvr_safetensors_open(path, st) != RLVR_OK) {
    fprintf(stderr, "cannot open %s: %s\n", path, rlvr_error_message());
    exit(1);
  }
}

static inline const rlvr_st_tensor *ref_tensor(const rlvr_safetensors *st, const char *name) {
  const rlvr_st_tensor *t = rlvr_safetensors_find(st, name);
  if (!t) {
    fprintf(stderr, "%s: no tensor %s\n", st->path, name);
    exit(1);
  }
  return t;
}

/* A float tensor, malloc'd; *n gets its element count. */
static inline float *ref_floats(const rlvr_safetensors *st, const char *name, size_t *n) {
  const rlvr_st_tensor *t = ref_tensor(st, name);
  float *out = malloc(sizeof(float) * (t->numel ? t->numel : 1));
  if (rlvr_safetensors_read_f32(st, t, out) != RLVR_OK) {
    fprintf(stderr, "%s\n", rlvr_error_message());
    exit(1);
  }
  if (n) *n = t->numel;
  return out;
}

/* An I32 tensor, malloc'd. */
static inline int *ref_ints(const rlvr_safetensors *st, const char *name, size_t *n) {
  const rlvr_st_tensor *t = ref_tensor(st, name);
  if (t->dtype != RLVR_DTYPE_I32) {
    fprintf(stderr, "%s: %s is not I32\n", st->path, name);
    exit(1);
  }
  int *out = malloc(sizeof(int) * (t->numel ? t->numel : 1));
  memcpy(out, t->data, sizeof(int) * t->numel);
  if (n) *n = t->numel;
  return out;
}

#endif
