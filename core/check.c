/* check.c — aborting checks and allocators; see check.h. */
#include "core/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rlvr_check_fail(const char *expr, const char *file, int line, const char *fmt, ...) {
  fprintf(stderr, "rlvr: internal check failed: %s\n  at %s:%d\n", expr, file, line);
  /* RLVR_CHECK prefixes the hint with one space so that an empty hint is
   * still a valid format string. */
  if (fmt && fmt[0] && fmt[1]) {
    va_list ap;
    va_start(ap, fmt);
    fputs("  hint:", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
  fflush(stderr);
  abort();
}

static void oom(size_t n, const char *file, int line) {
  fprintf(stderr, "rlvr: out of memory allocating %zu bytes\n  at %s:%d\n", n, file, line);
  fflush(stderr);
  abort();
}

void *rlvr_xmalloc(size_t n, const char *file, int line) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n, file, line);
  return p;
}

void *rlvr_xcalloc(size_t n, size_t size, const char *file, int line) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size, file, line);
  return p;
}

void *rlvr_xrealloc(void *p, size_t n, const char *file, int line) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n, file, line);
  return q;
}

char *rlvr_xstrdup(const char *s, const char *file, int line) {
  size_t n = strlen(s) + 1;
  char *d = rlvr_xmalloc(n, file, line);
  memcpy(d, s, n);
  return d;
}

void *rlvr_xmalloc_aligned(size_t n, const char *file, int line) {
  void *p = NULL;
  size_t rounded = (n + 63) & ~(size_t)63;
  if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) oom(n, file, line);
  return p;
}
