/* task_test_util.h — building task sources from config overrides in tests. */
#ifndef RLVR_TASK_TEST_UTIL_H
#define RLVR_TASK_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "tasks/task.h"

/* Builds a source from "key=value" overrides (NULL-terminated). Returns the
 * error code; *s is NULL on error. */
static inline int build_source(rlvr_task_source **s, ...) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  va_list ap;
  va_start(ap, s);
  int rc = RLVR_OK;
  for (const char *kv = va_arg(ap, const char *); kv && !rc; kv = va_arg(ap, const char *)) rc = rlvr_config_set(&cfg, kv);
  va_end(ap);
  *s = NULL;
  if (rc) {
    fprintf(stderr, "config: %s\n", rlvr_error_message());
  } else {
    rc = rlvr_task_source_build(&cfg, "tasks", s);
  }
  rlvr_config_free(&cfg);
  return rc;
}

/* 1 when the last error message contains every given piece (NULL-terminated). */
static inline int message_has(const char *first, ...) {
  const char *msg = rlvr_error_message();
  int ok = strstr(msg, first) != NULL;
  va_list ap;
  va_start(ap, first);
  for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) ok &= strstr(msg, p) != NULL;
  va_end(ap);
  if (!ok) fprintf(stderr, "  message was: %s\n", msg);
  return ok;
}

static inline int str_eq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static inline int items_equal(const rlvr_task_item *a, const rlvr_task_item *b) {
  return str_eq(a->id, b->id) && str_eq(a->prompt, b->prompt) && str_eq(a->answer, b->answer) &&
         str_eq(a->reference, b->reference) && a->reference_json == b->reference_json &&
         str_eq(a->verifier, b->verifier) && str_eq(a->meta, b->meta) && str_eq(a->solution, b->solution);
}

#endif
