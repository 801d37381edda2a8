/* close_f64.h — testing.h's CHECK_CLOSE for doubles: passes where
 * |got - want| <= atol + rtol * |want| everywhere, always prints the largest
 * difference, and counts a failure in testing.h's counters. */
#ifndef RLVR_TESTS_CLOSE_F64_H
#define RLVR_TESTS_CLOSE_F64_H

#include "testing.h"

static inline int test_close_f64(const char *what, const double *got, const double *want, size_t n, double atol,
                                 double rtol, const char *file, int line) {
  double maxdiff = 0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs(got[i] - want[i]);
    if (!(d <= atol + rtol * fabs(want[i]))) bad++;
    if (d > maxdiff || d != d) maxdiff = d, worst = i;
  }
  test_checks++;
  if (bad) {
    test_failures++;
    fprintf(stderr, "FAIL %s:%d: %s: %zu of %zu differ; max |diff| %.3g at [%zu] (got %.17g want %.17g; atol %g rtol %g)\n",
            file, line, what, bad, n, maxdiff, worst, got[worst], want[worst], atol, rtol);
  } else {
    printf("ok   %s: max |diff| %.3g over %zu\n", what, maxdiff, n);
  }
  return bad == 0;
}
#define CHECK_CLOSE_F64(what, got, want, n, atol, rtol) \
  test_close_f64(what, got, want, n, atol, rtol, __FILE__, __LINE__)
/* One scalar. */
#define CHECK_NEAR(what, got, want, atol)                                                          \
  do {                                                                                             \
    double got_ = (got), want_ = (want);                                                           \
    test_close_f64(what, &got_, &want_, 1, atol, 0, __FILE__, __LINE__);                           \
  } while (0)

#endif
