/* test_mathlib_num.c — big integers and rationals against Python's
 * fractions.Fraction (fixtures from tests/ref/mathlib_fraction_fixtures.py),
 * plus the size caps and errors that the fixtures cannot express. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "testing.h"
#include "verifiers/mathlib_num.h"

static rlvr_mctx M;

static int parse_rat(const char *s, rlvr_rat *r) {
  int err = rlvr_rat_from_str(&M, r, s, strlen(s));
  if (err) fprintf(stderr, "cannot parse '%.60s': %s\n", s, rlvr_error_message());
  return err == RLVR_OK;
}

static int parse_big(const char *s, rlvr_big *r) {
  int neg = s[0] == '-';
  int err = rlvr_big_from_dec(&M, r, s + neg, strlen(s + neg));
  if (!err && r->n) r->neg = neg;
  return err == RLVR_OK;
}

static const char *rat_str(const rlvr_rat *r) {
  char *s;
  size_t n;
  if (rlvr_rat_to_str(&M, r, &s, &n)) return "<error>";
  return s;
}

static const char *big_str(const rlvr_big *r) {
  char *s;
  size_t n;
  if (rlvr_big_to_dec(&M, r, &s, &n)) return "<error>";
  return s;
}

/* Each fixture line is checked on its own and counted by operation. */
static void run_fixtures(const char *path) {
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "cannot open %s (run from the source root)", path);
  if (!f) return;
  size_t cap = 1 << 20;
  char *line = malloc(cap);
  int counts[10] = {0}, fails[10] = {0};
  const char *names[10] = {"add", "sub", "mul", "div", "pow", "cmp", "divmod", "gcd", "fact", "root"};
  int ndec = 0, fdec = 0, ndbl = 0, fdbl = 0;
  double worst_dbl = 0;
  while (fgets(line, (int)cap, f)) {
    line[strcspn(line, "\n")] = 0;
    char *tok[6];
    int nt = 0;
    for (char *p = strtok(line, " "); p && nt < 6; p = strtok(NULL, " ")) tok[nt++] = p;
    if (nt < 3) continue;
    rlvr_mctx_reset(&M);
    const char *op = tok[0];
    int ok = 1, idx = -1;
    for (int i = 0; i < 10; i++)
      if (!strcmp(op, names[i])) idx = i;
    if (idx >= 0 && idx <= 3) {
      rlvr_rat a, b, r;
      ok = parse_rat(tok[1], &a) && parse_rat(tok[2], &b);
      int err = !ok ? -1
                : idx == 0 ? rlvr_rat_add(&M, &r, &a, &b)
                : idx == 1 ? rlvr_rat_sub(&M, &r, &a, &b)
                : idx == 2 ? rlvr_rat_mul(&M, &r, &a, &b)
                           : rlvr_rat_div(&M, &r, &a, &b);
      ok = !err && !strcmp(rat_str(&r), tok[3]);
    } else if (idx == 4) {
      rlvr_rat a, r;
      ok = parse_rat(tok[1], &a) && !rlvr_rat_pow(&M, &r, &a, strtoll(tok[2], NULL, 10)) &&
           !strcmp(rat_str(&r), tok[3]);
    } else if (idx == 5) {
      rlvr_rat a, b;
      ok = parse_rat(tok[1], &a) && parse_rat(tok[2], &b) && rlvr_rat_cmp(&a, &b) == atoi(tok[3]) &&
           rlvr_rat_cmp(&b, &a) == -atoi(tok[3]);
    } else if (idx == 6) {
      rlvr_big a, b, q, r;
      ok = parse_big(tok[1], &a) && parse_big(tok[2], &b) && !rlvr_big_divmod(&M, &q, &r, &a, &b) &&
           !strcmp(big_str(&q), tok[3]) && !strcmp(big_str(&r), tok[4]);
    } else if (idx == 7) {
      rlvr_big a, b, g;
      ok = parse_big(tok[1], &a) && parse_big(tok[2], &b) && !rlvr_big_gcd(&M, &g, &a, &b) &&
           !strcmp(big_str(&g), tok[3]);
    } else if (idx == 8) {
      rlvr_big r;
      ok = !rlvr_big_factorial(&M, &r, strtoull(tok[1], NULL, 10)) && !strcmp(big_str(&r), tok[2]);
    } else if (idx == 9) {
      rlvr_rat a, r;
      int exact = 0;
      ok = parse_rat(tok[1], &a) && !rlvr_rat_root(&M, &r, &exact, &a, strtoull(tok[2], NULL, 10));
      if (ok) ok = !strcmp(tok[3], "none") ? !exact : exact && !strcmp(rat_str(&r), tok[3]);
    } else if (!strcmp(op, "dec")) {
      rlvr_rat r;
      ndec++;
      ok = !rlvr_rat_from_dec(&M, &r, tok[1], strlen(tok[1])) && !strcmp(rat_str(&r), tok[2]);
      if (!ok) fdec++;
    } else if (!strcmp(op, "double")) {
      rlvr_rat a;
      ndbl++;
      double want = strtod(tok[2], NULL), got = 0;
      ok = parse_rat(tok[1], &a);
      if (ok) {
        got = rlvr_rat_to_double(&a);
        /* two roundings (numerator, then quotient): within 2 ulp of Python's
         * correctly rounded value; equal when either is 0 or inf. */
        double rel = want == got ? 0 : fabs(got - want) / fabs(want);
        if (rel > worst_dbl) worst_dbl = rel;
        ok = rel <= 4.5e-16;
      }
      if (!ok) fdbl++;
    } else {
      continue;
    }
    if (idx >= 0) {
      counts[idx]++;
      if (!ok) fails[idx]++;
    }
    CHECK_MSG(ok, "%s %.80s %.80s -> want %.80s", op, tok[1], nt > 2 ? tok[2] : "", tok[nt - 1]);
  }
  fclose(f);
  free(line);
  for (int i = 0; i < 10; i++) printf("ok   %-6s %d cases, %d mismatches\n", names[i], counts[i], fails[i]);
  printf("ok   dec    %d cases, %d mismatches\n", ndec, fdec);
  printf("ok   double %d cases, %d mismatches, max rel diff %.3g\n", ndbl, fdbl, worst_dbl);
  CHECK(counts[0] > 100 && counts[5] > 100 && ndec > 20 && ndbl > 20);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_caps(void) {
  rlvr_mctx_reset(&M);
  rlvr_big two, r;
  rlvr_rat q, x;
  CHECK(!rlvr_big_from_u64(&M, &two, 2));
  double t0 = now();
  CHECK(rlvr_big_pow(&M, &r, &two, 999999) == RLVR_ERR_RANGE);
  CHECK(rlvr_big_factorial(&M, &r, 1000000) == RLVR_ERR_RANGE);
  CHECK(rlvr_big_factorial(&M, &r, UINT64_MAX) == RLVR_ERR_RANGE);
  CHECK(rlvr_big_pow(&M, &r, &two, UINT64_MAX) == RLVR_ERR_RANGE);
  CHECK(rlvr_rat_from_dec(&M, &q, "1e999999999999", 14) == RLVR_ERR_RANGE);
  CHECK(rlvr_rat_from_dec(&M, &q, "1e-999999", 9) == RLVR_ERR_RANGE);
  double dt = now() - t0;
  CHECK_MSG(dt < 0.05, "caps must refuse before working: took %.3f s", dt);
  printf("ok   caps refused in %.2g s (%s)\n", dt, rlvr_error_message());
  /* inside the cap: 2^100000 works, (2^100000)^2 does not */
  CHECK(!rlvr_big_pow(&M, &r, &two, 100000));
  CHECK(rlvr_big_bits(&r) == 100001);
  CHECK(rlvr_big_mul(&M, &r, &r, &r) == RLVR_ERR_RANGE);
  /* division by zero, 0^-1 */
  CHECK(!rlvr_rat_from_i64(&M, &q, 0, 1));
  CHECK(!rlvr_rat_from_i64(&M, &x, 3, 4));
  CHECK(rlvr_rat_div(&M, &q, &x, &q) == RLVR_ERR_RANGE);
  CHECK(rlvr_rat_from_i64(&M, &q, 1, 0) == RLVR_ERR_RANGE);
  CHECK(!rlvr_rat_from_i64(&M, &q, 0, 5));
  CHECK(rlvr_rat_pow(&M, &x, &q, -1) == RLVR_ERR_RANGE);
  /* malformed decimals */
  CHECK(rlvr_rat_from_dec(&M, &q, "", 0) == RLVR_ERR_FORMAT);
  CHECK(rlvr_rat_from_dec(&M, &q, ".", 1) == RLVR_ERR_FORMAT);
  CHECK(rlvr_rat_from_dec(&M, &q, "1e", 2) == RLVR_ERR_FORMAT);
  CHECK(rlvr_rat_from_dec(&M, &q, "1.2.3", 5) == RLVR_ERR_FORMAT);
  CHECK(rlvr_rat_from_dec(&M, &q, "12a", 3) == RLVR_ERR_FORMAT);
  /* int64 edges */
  CHECK(!rlvr_rat_from_i64(&M, &q, INT64_MIN, -1));
  CHECK(!strcmp(rat_str(&q), "9223372036854775808"));
  int64_t v = 0;
  CHECK(!rlvr_big_from_i64(&M, &r, INT64_MIN) && rlvr_big_to_i64(&r, &v) && v == INT64_MIN);
}

static void test_budget(void) {
  rlvr_mctx small;
  rlvr_mctx_init(&small, 1 << 16, 1 << 20);
  rlvr_big two, r;
  CHECK(!rlvr_big_from_u64(&small, &two, 2));
  CHECK(rlvr_big_pow(&small, &r, &two, 1 << 19) == RLVR_ERR_NOMEM);
  rlvr_mctx_reset(&small);
  CHECK(!rlvr_big_from_u64(&small, &two, 2));
  CHECK(!rlvr_big_pow(&small, &r, &two, 1000));
  rlvr_mctx_free(&small);
  rlvr_mctx_free(&small); /* twice: must be harmless */
  rlvr_mctx_free(NULL);
}

static void test_huge_frexp(void) {
  /* 1/2004! and 1/2006! are far below the double range; frexp keeps them apart. */
  rlvr_mctx_reset(&M);
  rlvr_big f1, f2, one;
  rlvr_rat a, b;
  CHECK(!rlvr_big_factorial(&M, &f1, 2004) && !rlvr_big_factorial(&M, &f2, 2006));
  CHECK(!rlvr_big_from_u64(&M, &one, 1));
  CHECK(!rlvr_rat_from_bigs(&M, &a, &one, &f1) && !rlvr_rat_from_bigs(&M, &b, &one, &f2));
  double ma, mb;
  int64_t ea, eb;
  rlvr_rat_frexp(&a, &ma, &ea);
  rlvr_rat_frexp(&b, &mb, &eb);
  /* log2(2005*2006) = 21.94: the exponents differ by 21 or 22 */
  CHECK_MSG(ea - eb >= 21 && ea - eb <= 22, "exponents %lld %lld", (long long)ea, (long long)eb);
  CHECK(rlvr_rat_to_double(&a) == 0.0);
  CHECK(rlvr_rat_cmp(&a, &b) == 1);
}

int main(void) {
  rlvr_mctx_init(&M, 256u << 20, 1 << 17);
  run_fixtures("tests/mathlib/fixtures/fraction_ops.txt");
  test_caps();
  test_budget();
  test_huge_frexp();
  rlvr_mctx_free(&M);
  return test_done();
}
