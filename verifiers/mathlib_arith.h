/* mathlib_arith.h — exact evaluation of plain arithmetic, for the countdown
 * verifier: integer literals, + - * / (also × ÷ · − and \times \div \cdot),
 * parentheses ( ) [ ] { } and \left \right. Nothing else: no decimals, no
 * powers, no implicit products, no functions, so an answer cannot smuggle a
 * number in through notation. Division is exact (rationals); division by zero
 * is an error, not a value. */
#ifndef RLVR_MATHLIB_ARITH_H
#define RLVR_MATHLIB_ARITH_H

#include <stddef.h>
#include <stdint.h>

#include "verifiers/mathlib_num.h"

enum { RLVR_ARITH_MAX_NUMS = 64, RLVR_ARITH_MAX_INPUT = 4096 };

typedef struct {
  rlvr_rat value;
  int64_t nums[RLVR_ARITH_MAX_NUMS]; /* the integer literals, in the order written */
  int nnums;
  int unary_minus; /* a leading or unary '-' was used */
} rlvr_arith_result;

/* RLVR_ERR_FORMAT (what is wrong and where), RLVR_ERR_RANGE (division by
 * zero, a literal over int64, more than RLVR_ARITH_MAX_NUMS literals, input
 * too long or nested too deep). */
int rlvr_arith_eval(rlvr_mctx *m, const char *s, size_t len, rlvr_arith_result *out);

#endif
