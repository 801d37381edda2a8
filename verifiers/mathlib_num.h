/* mathlib_num.h — exact numbers for the verifiers: big integers and rationals.
 *
 * Why exact: a grader that compares floats calls 1/2^99 and 1/2^98 equal (both
 * round to ~0 at a fixed precision) and likewise 1/2004! and 1/2006!. Here every
 * number that can be written with integers, + - * /, integer powers and
 * factorials is held exactly, and equality is equality of reduced fractions.
 *
 * Memory: all limbs come from an rlvr_mctx, a bump allocator with a byte
 * budget that the caller resets after each verification (nothing is freed one
 * by one). Values are immutable: an operation writes a freshly allocated result
 * into its output struct, so outputs may alias inputs (rlvr_big_add(m, &a, &a, &b)).
 *
 * Size caps, so that "2^999999" or "100000!" cannot hang a worker: every
 * result is limited to m->max_limbs 64-bit limbs; operations check the size of
 * their result before computing it where it can be predicted (pow, factorial,
 * 10^exponent) and return RLVR_ERR_RANGE without doing the work. A budget
 * overrun is RLVR_ERR_NOMEM. Division by zero is RLVR_ERR_RANGE. On error the
 * output is unchanged and rlvr_error_message() says what happened.
 *
 * Representation: rlvr_big is sign and magnitude, little-endian 64-bit limbs,
 * no leading zero limbs; zero has n == 0 and neg == 0. rlvr_rat is num/den with
 * den > 0 and gcd(|num|, den) == 1; zero is 0/1. */
#ifndef RLVR_MATHLIB_NUM_H
#define RLVR_MATHLIB_NUM_H

#include <stddef.h>
#include <stdint.h>

/* ---- the allocator ---- */

typedef struct rlvr_mctx_chunk rlvr_mctx_chunk;

typedef struct {
  rlvr_mctx_chunk *first; /* kept across resets */
  rlvr_mctx_chunk *cur;   /* the chunk being bumped */
  size_t used;            /* bytes used in cur */
  size_t total;           /* bytes held in all chunks */
  size_t budget;          /* most bytes all chunks together may hold */
  uint32_t max_limbs;     /* cap on the size of any integer, in 64-bit limbs */
} rlvr_mctx;

/* budget: bytes (e.g. 64 << 20); max_bits: the largest integer allowed (e.g. 1 << 17). */
void rlvr_mctx_init(rlvr_mctx *m, size_t budget, uint32_t max_bits);
/* Frees everything handed out since init (keeps the first chunk for reuse). */
void rlvr_mctx_reset(rlvr_mctx *m);
void rlvr_mctx_free(rlvr_mctx *m); /* accepts NULL and a zeroed struct */
/* 16-byte aligned; NULL when the budget would be exceeded (nothing is set). */
void *rlvr_mctx_alloc(rlvr_mctx *m, size_t bytes);

/* ---- big integers ---- */

typedef struct {
  uint64_t *d; /* (n) limbs, least significant first */
  uint32_t n;  /* 0 for zero */
  int32_t neg; /* 1 if negative; 0 for zero */
} rlvr_big;

int rlvr_big_from_i64(rlvr_mctx *m, rlvr_big *r, int64_t v);
int rlvr_big_from_u64(rlvr_mctx *m, rlvr_big *r, uint64_t v);
/* s[0..len) must be ASCII decimal digits only (no sign); RLVR_ERR_FORMAT otherwise. */
int rlvr_big_from_dec(rlvr_mctx *m, rlvr_big *r, const char *s, size_t len);
int rlvr_big_add(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b);
int rlvr_big_sub(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b);
int rlvr_big_mul(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b);
/* Truncating division (C's / and %): a = q*b + rem, |rem| < |b|, rem has a's sign.
 * q or rem may be NULL. */
int rlvr_big_divmod(rlvr_mctx *m, rlvr_big *q, rlvr_big *rem, const rlvr_big *a, const rlvr_big *b);
/* gcd(|a|, |b|) >= 0; gcd(0, 0) = 0. */
int rlvr_big_gcd(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b);
/* a^e; 0^0 = 1. RLVR_ERR_RANGE (before any work) when the result would exceed the cap. */
int rlvr_big_pow(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, uint64_t e);
/* n!; RLVR_ERR_RANGE before any work when n! would exceed the cap. */
int rlvr_big_factorial(rlvr_mctx *m, rlvr_big *r, uint64_t n);
/* Integer k-th root of a >= 0 (floor); sets *exact when root^k == a. k >= 1. */
int rlvr_big_root(rlvr_mctx *m, rlvr_big *r, int *exact, const rlvr_big *a, uint64_t k);
/* -1, 0, 1 */
int rlvr_big_cmp(const rlvr_big *a, const rlvr_big *b);
int rlvr_big_cmp_abs(const rlvr_big *a, const rlvr_big *b);
/* Number of bits of |a| (0 for zero). */
uint64_t rlvr_big_bits(const rlvr_big *a);
/* 1 and *v set when a fits in int64_t. */
int rlvr_big_to_i64(const rlvr_big *a, int64_t *v);
/* |a| ~= mant * 2^exp2 with mant in [0.5, 1) (0 and 0 for zero); sign not included.
 * Accurate to about 2^-63 relative, for integers of any size. */
void rlvr_big_frexp(const rlvr_big *a, double *mant, int64_t *exp2);
/* Decimal digits with a leading '-' if negative, NUL-terminated, allocated in m. */
int rlvr_big_to_dec(rlvr_mctx *m, const rlvr_big *a, char **out, size_t *len);

/* ---- rationals ---- */

typedef struct {
  rlvr_big num; /* sign lives here */
  rlvr_big den; /* > 0 */
} rlvr_rat;

int rlvr_rat_from_i64(rlvr_mctx *m, rlvr_rat *r, int64_t num, int64_t den);
/* num/den reduced; den == 0 is RLVR_ERR_RANGE. */
int rlvr_rat_from_bigs(rlvr_mctx *m, rlvr_rat *r, const rlvr_big *num, const rlvr_big *den);
/* Exact value of a decimal literal: [+-]digits[.digits][(e|E)[+-]digits], also
 * ".5" and "5."; the whole of s[0..len) must match (RLVR_ERR_FORMAT otherwise). */
int rlvr_rat_from_dec(rlvr_mctx *m, rlvr_rat *r, const char *s, size_t len);
/* "p/q" text, as from_str below reads: [+-]dec[/[+-]dec] with dec as in from_dec. */
int rlvr_rat_from_str(rlvr_mctx *m, rlvr_rat *r, const char *s, size_t len);
int rlvr_rat_add(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b);
int rlvr_rat_sub(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b);
int rlvr_rat_mul(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b);
int rlvr_rat_div(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b);
void rlvr_rat_neg(rlvr_rat *r, const rlvr_rat *a);
/* a^e for any integer e (negative: reciprocal; 0^negative is RLVR_ERR_RANGE). */
int rlvr_rat_pow(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, int64_t e);
/* Exact k-th root when a is a perfect k-th power of a rational (*exact = 1);
 * otherwise *exact = 0 and r is unchanged. Negative a: only odd k. */
int rlvr_rat_root(rlvr_mctx *m, rlvr_rat *r, int *exact, const rlvr_rat *a, uint64_t k);
int rlvr_rat_cmp(const rlvr_rat *a, const rlvr_rat *b);
int rlvr_rat_is_zero(const rlvr_rat *a);
int rlvr_rat_is_int(const rlvr_rat *a);
int rlvr_rat_sign(const rlvr_rat *a);
/* Nearest double (0 or +-inf outside the double range). */
double rlvr_rat_to_double(const rlvr_rat *a);
/* |a| ~= mant * 2^exp2, mant in [0.5, 1), for magnitudes beyond the double range. */
void rlvr_rat_frexp(const rlvr_rat *a, double *mant, int64_t *exp2);
/* "p" or "p/q", NUL-terminated, allocated in m. */
int rlvr_rat_to_str(rlvr_mctx *m, const rlvr_rat *a, char **out, size_t *len);

#endif
