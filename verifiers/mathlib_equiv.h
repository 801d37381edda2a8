/* mathlib_equiv.h — is a model's answer equal to the gold answer?
 *
 * The comparison is asymmetric, as a careful grader's is: the gold answer
 * sets the form and the model's answer must match it.
 *  - Numbers compare exactly as rationals (1/2^99 != 1/2^98, 1/2004! !=
 *    1/2006!), whatever their LaTeX form (0.5 = \frac12 = 50\% = \dfrac{1}{2}).
 *  - A decimal with at least min_sig_digits significant digits matches an
 *    exact value it rounds or truncates to (0.333333 for 1/3, 1.414214 for
 *    \sqrt2); shorter decimals do not (0.33 is not 1/3).
 *  - Values with irrational parts (\sqrt2/2 vs 1/\sqrt2) compare numerically
 *    with a relative tolerance; expressions with variables compare at sample
 *    points (complex arithmetic, so \sqrt{x}^2 = x but \sqrt{x^2} != x). When
 *    doubles cannot be trusted (a value beyond 1e±250, e.g. 2^999999 or
 *    1/(2004!\sqrt2)) only identical canonical forms count as equal.
 *  - Equations: gold "x = 3" accepts "3" and "x = 3"; an answer "x = 3" for
 *    gold "3" is read as 3; two equations that are not assignments are equal
 *    when their sides' differences are proportional (y = 2x+1 and
 *    2x - y + 1 = 0). An equation that restates the question ("x^2+2x+1=0"
 *    for gold x = -1) earns nothing.
 *  - Inequalities and intervals convert into each other (x > 3 = (3, \infty)).
 *  - Tuples are ordered, sets and bare lists unordered, intervals compare
 *    ends and brackets, matrices elementwise; \pm expands to both values, so
 *    "\pm 2021" does not match "2021" and "\pm 2" matches "2, -2".
 *  - A list of values never matches one value (listing every option earns
 *    nothing); text answers compare by normalized words.
 * Unparseable input on either side falls back to comparing normalized text. */
#ifndef RLVR_MATHLIB_EQUIV_H
#define RLVR_MATHLIB_EQUIV_H

#include <stddef.h>

#include "verifiers/mathlib_extract.h"
#include "verifiers/mathlib_num.h"

typedef struct {
  double rel_tol;     /* relative tolerance for values that are not exact (1e-9) */
  int min_sig_digits; /* decimals with this many significant digits may approximate (6); 0: never */
  int npoints;        /* sample points for expressions with variables (6, at most 16) */
} rlvr_mq_opts;

void rlvr_mq_opts_default(rlvr_mq_opts *o);

typedef struct {
  int equal;          /* 1 or 0 */
  const char *method; /* how it was decided: "exact", "numeric", "points", "decimal", "structural",
                         "text", "string", "relation", "interval", "set", "tuple", "matrix", ... */
  char *gold_norm;    /* canonical forms (NUL-terminated, in the context); NULL if unparsed */
  char *answer_norm;
  int gold_parsed, answer_parsed;
  unsigned answer_notes; /* RLVR_MXP_* of the answer */
} rlvr_mq_result;

/* Compares gold[0..glen) with ans[0..alen). Always fills r; the strings live in m. */
void rlvr_mq_equal(rlvr_mctx *m, const char *gold, size_t glen, const char *ans, size_t alen,
                   const rlvr_mq_opts *o, rlvr_mq_result *r);

/* The whole math check of a completion against a reference text. */
typedef struct {
  double score;                /* 1 or 0 */
  int wrong_format;            /* 1: no answer could be extracted (or it was empty) */
  rlvr_mx_extraction extraction;
  size_t answer_start, answer_len; /* the extracted answer in the completion */
  size_t gold_start, gold_len;     /* the gold answer in the reference */
  rlvr_mq_result cmp;
} rlvr_mq_verdict;

void rlvr_mq_verify(rlvr_mctx *m, const char *completion, size_t clen, const char *reference, size_t rlen,
                    const rlvr_mx_extract_opts *eo, const rlvr_mq_opts *o, rlvr_mq_verdict *v);

#endif
