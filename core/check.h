/* check.h — the first kind of error: bugs and the impossible.
 *
 * RLVR_CHECK(expr) and the x-allocators print what failed, where, and a hint,
 * then abort. They stay on in release builds (NDEBUG does not touch them).
 * Anything that comes from outside (files, configs, messages, scripts) is the
 * second kind and goes through error.h instead. */
#ifndef RLVR_CHECK_H
#define RLVR_CHECK_H

#include <stddef.h>

#if defined(__GNUC__)
#define RLVR_NORETURN __attribute__((noreturn))
#define RLVR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RLVR_NORETURN
#define RLVR_PRINTF(a, b)
#endif

RLVR_NORETURN void rlvr_check_fail(const char *expr, const char *file, int line,
                                   const char *fmt, ...) RLVR_PRINTF(4, 5);

/* RLVR_CHECK(cond) or RLVR_CHECK(cond, "hint %d", x). */
#define RLVR_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) rlvr_check_fail(#cond, __FILE__, __LINE__, " " __VA_ARGS__);   \
  } while (0)

#define xmalloc(n) rlvr_xmalloc((n), __FILE__, __LINE__)
#define xcalloc(n, s) rlvr_xcalloc((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) rlvr_xrealloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) rlvr_xstrdup((s), __FILE__, __LINE__)

void *rlvr_xmalloc(size_t n, const char *file, int line);
void *rlvr_xcalloc(size_t n, size_t size, const char *file, int line);
void *rlvr_xrealloc(void *p, size_t n, const char *file, int line);
char *rlvr_xstrdup(const char *s, const char *file, int line);

/* 64-byte aligned allocation for tensors (free with free()). */
void *rlvr_xmalloc_aligned(size_t n, const char *file, int line);
#define xmalloc_aligned(n) rlvr_xmalloc_aligned((n), __FILE__, __LINE__)

#endif
