/* fixture_json.h — reading the JSON fixtures of tests/fixtures/loss/ (written
 * by tests/ref/make_loss_fixtures.py). A missing or malformed fixture is a
 * broken test setup: it prints what is missing and exits 1. */
#ifndef RLVR_TESTS_FIXTURE_JSON_H
#define RLVR_TESTS_FIXTURE_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/file.h"

static inline cJSON *fixture_load(const char *path) {
  char *text;
  size_t len;
  if (rlvr_file_read(path, &text, &len)) {
    fprintf(stderr, "FAIL: %s (rerun tests/ref/make_loss_fixtures.py)\n", rlvr_error_message());
    exit(1);
  }
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  if (!j) {
    fprintf(stderr, "FAIL: %s is not JSON\n", path);
    exit(1);
  }
  return j;
}

static inline const cJSON *fixture_get(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) {
    fprintf(stderr, "FAIL: fixture lacks '%s'\n", key);
    exit(1);
  }
  return v;
}

static inline double fixture_number(const cJSON *obj, const char *key) {
  const cJSON *v = fixture_get(obj, key);
  if (!cJSON_IsNumber(v)) {
    fprintf(stderr, "FAIL: fixture '%s' is not a number\n", key);
    exit(1);
  }
  return v->valuedouble;
}

static inline const char *fixture_string(const cJSON *obj, const char *key) {
  const cJSON *v = fixture_get(obj, key);
  if (!cJSON_IsString(v)) {
    fprintf(stderr, "FAIL: fixture '%s' is not a string\n", key);
    exit(1);
  }
  return v->valuestring;
}

/* A numeric array as doubles (caller frees), or NULL when the value is null.
 * want = expected length (0: any); *n gets the length. */
static inline double *fixture_doubles(const cJSON *obj, const char *key, size_t want, size_t *n) {
  const cJSON *v = fixture_get(obj, key);
  if (cJSON_IsNull(v)) return NULL;
  size_t len = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
  if (!cJSON_IsArray(v) || (want && len != want)) {
    fprintf(stderr, "FAIL: fixture '%s' is not an array of %zu numbers\n", key, want);
    exit(1);
  }
  double *out = malloc((len ? len : 1) * sizeof *out);
  size_t i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, v) out[i++] = e->valuedouble;
  if (n) *n = len;
  return out;
}

static inline float *fixture_floats_of(const double *d, size_t n) {
  if (!d) return NULL;
  float *f = malloc((n ? n : 1) * sizeof *f);
  for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
  return f;
}

static inline uint8_t *fixture_bytes(const cJSON *obj, const char *key, size_t want) {
  size_t n;
  double *d = fixture_doubles(obj, key, want, &n);
  if (!d) return NULL;
  uint8_t *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)d[i];
  free(d);
  return b;
}

#endif
