/* testing.h — a tiny harness: checks that count failures, comparisons that
 * print the largest difference, and a non-zero exit when anything failed.
 *
 *   int main(void) { ...; CHECK(x == 1); CHECK_CLOSE("logits", a, b, n, 1e-5, 1e-4); return test_done(); }
 */
#ifndef RLVR_TESTING_H
#define RLVR_TESTING_H

#include <math.h>
#include <stdio.h>
#include <stddef.h>

static int test_failures = 0;
static int test_checks = 0;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    test_checks++;                                                                                 \
    if (!(cond)) {                                                                                 \
      test_failures++;                                                                             \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                              \
    }                                                                                              \
  } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
  do {                                                                                             \
    test_checks++;                                                                                 \
    if (!(cond)) {                                                                                 \
      test_failures++;                                                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                              \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

/* Compares n floats: passes where |a-b| <= atol + rtol*|b| for every element.
 * Always prints the largest absolute difference, so a passing run shows how
 * close it was. Returns 1 on pass. */
static inline int test_close(const char *what, const float *got, const float *want, size_t n,
                             double atol, double rtol, const char *file, int line) {
  double maxdiff = 0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= atol + rtol * fabs((double)want[i]))) bad++;
    if (d > maxdiff || d != d) maxdiff = d, worst = i;
  }
  test_checks++;
  if (bad) {
    test_failures++;
    fprintf(stderr, "FAIL %s:%d: %s: %zu of %zu differ; max |diff| %.3g at [%zu] (got %.9g want %.9g; atol %g rtol %g)\n",
            file, line, what, bad, n, maxdiff, worst, (double)got[worst], (double)want[worst], atol, rtol);
  } else {
    printf("ok   %s: max |diff| %.3g over %zu\n", what, maxdiff, n);
  }
  return bad == 0;
}
#define CHECK_CLOSE(what, got, want, n, atol, rtol) test_close(what, got, want, n, atol, rtol, __FILE__, __LINE__)

static inline int test_done(void) {
  if (test_failures) {
    fprintf(stderr, "%d of %d checks failed\n", test_failures, test_checks);
    return 1;
  }
  printf("all %d checks passed\n", test_checks);
  return 0;
}

#endif
