/* ckpt_test_util.h — helpers shared by the checkpoint tests: a scratch
 * directory under /tmp, file copies, reading JSON fixtures, and an error
 * check that asserts on the code and on substrings of the message. */
#ifndef RLVR_CKPT_TEST_UTIL_H
#define RLVR_CKPT_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/file.h"
#include "testing.h"

static char scratch_root[64];

/* mkdtemp under /tmp; removed by scratch_cleanup. */
static const char *scratch_init(const char *tag) {
  snprintf(scratch_root, sizeof scratch_root, "/tmp/rlvr_%s_XXXXXX", tag);
  if (!mkdtemp(scratch_root)) {
    perror("mkdtemp");
    exit(1);
  }
  return scratch_root;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static void scratch_cleanup(void) {
  if (scratch_root[0] && !getenv("RLVR_KEEP_TMP")) nftw(scratch_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path in a malloc'd buffer from a printf format. */
static char *pathf(const char *fmt, ...) RLVR_PRINTF(1, 2);
static char *pathf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) abort();
  va_end(ap);
  return s;
}

static inline char *slurp(const char *path, size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  if (rlvr_file_read(path, &buf, &n) != RLVR_OK) {
    fprintf(stderr, "cannot read %s: %s\n", path, rlvr_error_message());
    exit(1);
  }
  if (len) *len = n;
  return buf;
}

static inline void spit(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

static inline void copy_file(const char *from, const char *to) {
  size_t n;
  char *d = slurp(from, &n);
  spit(to, d, n);
  free(d);
}

static inline cJSON *read_json(const char *path) {
  char *text = slurp(path, NULL);
  cJSON *j = cJSON_Parse(text);
  free(text);
  if (!j) {
    fprintf(stderr, "%s: not JSON\n", path);
    exit(1);
  }
  return j;
}

static inline void write_json(const char *path, const cJSON *j) {
  char *text = cJSON_Print(j);
  spit(path, text, strlen(text));
  free(text);
}

/* Checks rc == want_rc and that the message contains each of the NULL-ended
 * substrings; prints the message either way so the log shows what a user
 * would see. */
static inline void check_error(const char *what, int rc, int want_rc, ...) {
  const char *msg = rlvr_error_message();
  int ok = rc == want_rc;
  va_list ap;
  va_start(ap, want_rc);
  const char *sub;
  const char *missing = NULL;
  while ((sub = va_arg(ap, const char *)) != NULL)
    if (!strstr(msg, sub)) {
      ok = 0;
      if (!missing) missing = sub;
    }
  va_end(ap);
  test_checks++;
  if (ok) {
    printf("ok   %s: %s (%s)\n", what, rlvr_strerror(rc), msg);
  } else {
    test_failures++;
    fprintf(stderr, "FAIL %s: rc %d (want %d), message \"%s\"%s%s%s\n", what, rc, want_rc, msg,
            missing ? " lacks \"" : "", missing ? missing : "", missing ? "\"" : "");
  }
}

#endif
