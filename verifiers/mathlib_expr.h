/* mathlib_expr.h — math answers as written by models and datasets (LaTeX or
 * plain text) parsed into a tree, printed in a canonical form, and evaluated
 * exactly (rationals) or numerically (complex doubles at sample points).
 *
 * What the parser accepts, beyond + - * / ^ and parentheses: \frac \dfrac
 * \tfrac \cfrac (also \frac12), \sqrt and \sqrt[n] (also \sqrt3), \binom,
 * \left/\right and sizing commands, spacing (\, \; \! \quad ...), \cdot
 * \times \div, implicit products (2x, x(x+1)), factorials, \% and "percent",
 * degrees (^\circ), functions (\sin \ln \log_b \exp ... and their plain
 * names), \pi \infty e i, greek letters and subscripts, |x| \lfloor \lceil,
 * tuples, intervals with open and closed ends, sets \{ \}, unions \cup,
 * matrices (pmatrix, bmatrix, ...), relations (= < > \le \ge \ne \approx \in),
 * \pm and \mp, \text{...} (a text answer, or units when it follows a value),
 * unit words after a value (cm, meters, dollars, ...), thousands separators
 * (1,000 and 1{,}000 and 1\,000, but "1,2" stays a list of two numbers),
 * leading-dot decimals (.5), mixed numbers (3\frac{1}{2}), scientific
 * notation (1.2e-3, 2.5\times10^{3}) and unicode (π ∞ √ × ÷ · − ± ≤ ≥ ≠ °).
 *
 * All nodes live in the rlvr_mctx given to the parser; nothing is freed until
 * the context is reset. Inputs longer than RLVR_MX_MAX_INPUT bytes, nested
 * deeper than RLVR_MX_MAX_DEPTH or with more than RLVR_MX_MAX_NODES nodes are
 * refused (RLVR_ERR_RANGE) so that parsing time and memory are bounded. */
#ifndef RLVR_MATHLIB_EXPR_H
#define RLVR_MATHLIB_EXPR_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "verifiers/mathlib_num.h"

enum { RLVR_MX_MAX_INPUT = 16384, RLVR_MX_MAX_DEPTH = 96, RLVR_MX_MAX_NODES = 20000 };

typedef enum {
  RLVR_MX_NUM,      /* exact literal: num (+ decimal notes in flags/frac_digits/sig_digits) */
  RLVR_MX_SYM,      /* a variable: str (e.g. "x", "x_1", "\alpha"), hash; op 1: a number in a base ("1011_2") */
  RLVR_MX_CONST,    /* op: RLVR_MXC_PI, _E, _I, _INF */
  RLVR_MX_ADD,      /* n-ary sum */
  RLVR_MX_MUL,      /* n-ary product */
  RLVR_MX_NEG,      /* -kids[0] */
  RLVR_MX_DIV,      /* kids[0] / kids[1] */
  RLVR_MX_POW,      /* kids[0] ^ kids[1] */
  RLVR_MX_FUNC,     /* op: RLVR_MXF_*; kids are the arguments */
  RLVR_MX_FACT,     /* kids[0]! */
  RLVR_MX_PCT,      /* kids[0] % (= kids[0]/100 when evaluated) */
  RLVR_MX_PM,       /* kids[0] ± kids[1] (op 0) or ∓ (op 1); one kid: ±kids[0] */
  RLVR_MX_TUPLE,    /* (a, b, ...) also \langle \rangle; a 2-tuple in () is also an open interval */
  RLVR_MX_SET,      /* \{a, b\}; nkids == 0 is the empty set */
  RLVR_MX_LIST,     /* a bare comma list a, b, c (top level or inside braces) */
  RLVR_MX_INTERVAL, /* kids[0], kids[1]; op bit 0: left closed, bit 1: right closed */
  RLVR_MX_UNION,    /* op 0: \cup of kids, op 1: \cap */
  RLVR_MX_MATRIX,   /* rows x cols kids, row-major */
  RLVR_MX_REL,      /* chain kids[0] r0 kids[1] r1 ...; relation i in bits 4i..4i+3 of rels */
  RLVR_MX_TEXT,     /* str: text content (\text{...} or a plain word answer) */
  RLVR_MX_CALL,     /* f(x): str is the name, kids the arguments, hash of the printed call */
} rlvr_mx_kind;

enum { RLVR_MXC_PI, RLVR_MXC_E, RLVR_MXC_I, RLVR_MXC_INF };

enum {
  RLVR_MXF_SQRT, RLVR_MXF_ROOT, /* ROOT: kids[0] index, kids[1] radicand */
  RLVR_MXF_SIN, RLVR_MXF_COS, RLVR_MXF_TAN, RLVR_MXF_SEC, RLVR_MXF_CSC, RLVR_MXF_COT,
  RLVR_MXF_ASIN, RLVR_MXF_ACOS, RLVR_MXF_ATAN, RLVR_MXF_SINH, RLVR_MXF_COSH, RLVR_MXF_TANH,
  RLVR_MXF_LN, RLVR_MXF_LOG, /* LOG: one kid (base 10) or kids[0] base, kids[1] argument */
  RLVR_MXF_EXP, RLVR_MXF_ABS, RLVR_MXF_FLOOR, RLVR_MXF_CEIL, RLVR_MXF_BINOM,
  RLVR_MXF_COUNT
};

enum { RLVR_MXR_EQ = 1, RLVR_MXR_LT, RLVR_MXR_LE, RLVR_MXR_GT, RLVR_MXR_GE, RLVR_MXR_NE, RLVR_MXR_APPROX, RLVR_MXR_IN };

/* NUM flags */
enum { RLVR_MXN_POINT = 1, /* written with a decimal point and fractional digits */
       RLVR_MXN_EXP = 2 }; /* written with an exponent (1e-3) */

typedef struct rlvr_mx_node rlvr_mx_node;
struct rlvr_mx_node {
  uint8_t kind;   /* rlvr_mx_kind */
  uint8_t op;     /* see the kinds above */
  uint16_t flags; /* NUM: RLVR_MXN_* */
  uint32_t nkids;
  uint32_t rows, cols; /* MATRIX */
  uint32_t rels;       /* REL: 4 bits per relation */
  int16_t frac_digits, sig_digits; /* NUM with RLVR_MXN_POINT */
  rlvr_mx_node **kids;
  rlvr_rat num;        /* NUM */
  double numd;         /* NUM: nearest double; NaN when out of the double range */
  const char *str;     /* SYM, TEXT, CALL: NUL-terminated, in the context */
  uint32_t len;
  uint64_t hash;       /* SYM, CALL: identity of the variable */
};

/* Notes the parser takes about the text (reported in details). */
enum { RLVR_MXP_UNITS = 1,   /* units or text after a value were dropped */
       RLVR_MXP_DEGREE = 2,  /* ^\circ or ° was dropped */
       RLVR_MXP_PERCENT = 4, /* a percent sign was seen */
       RLVR_MXP_TEXT = 8 };  /* the whole answer is text */

typedef struct {
  rlvr_mx_node *root;
  uint32_t notes; /* RLVR_MXP_* */
  uint32_t nodes;
} rlvr_mx_expr;

/* Parses s[0..len). On error returns RLVR_ERR_FORMAT (with the byte position
 * in the message) or RLVR_ERR_RANGE / RLVR_ERR_NOMEM for the caps; *out is
 * unchanged. */
int rlvr_mx_parse(rlvr_mctx *m, const char *s, size_t len, rlvr_mx_expr *out);

/* Canonical text: numbers as reduced p/q, sums and products flattened,
 * minimal parentheses, sets/tuples/intervals/matrices spelled out. Equal
 * trees print equal strings. NUL-terminated, allocated in m. */
int rlvr_mx_print(rlvr_mctx *m, const rlvr_mx_node *n, char **out, size_t *len);

/* Exact value of a tree without variables or irrational parts. */
typedef enum {
  RLVR_MX_EXACT = 0,  /* *out holds the value */
  RLVR_MX_INEXACT,    /* variables, pi, e, i, infinity, roots that are not exact, functions */
  RLVR_MX_UNDEFINED,  /* division by zero, 0^negative, factorial of a negative integer */
  RLVR_MX_TOOBIG,     /* over the size cap of the context (e.g. 2^999999) */
} rlvr_mx_exactness;

rlvr_mx_exactness rlvr_mx_eval_exact(rlvr_mctx *m, const rlvr_mx_node *n, rlvr_rat *out);

/* The same with every variable set to a rational depending on its hash and
 * the point (signs as for rlvr_mx_eval_num's points): two rational functions
 * that agree at several such points are equal with overwhelming probability
 * (Schwartz-Zippel), and ones that differ by 1e-12 are told apart. */
rlvr_mx_exactness rlvr_mx_eval_exact_at(rlvr_mctx *m, const rlvr_mx_node *n, int point, rlvr_rat *out);

/* Numeric value at sample point `point` (each variable gets a value derived
 * from its hash and the point; points alternate signs). *lost is set when a
 * value left the range where doubles are trustworthy (|v| > 1e250 or
 * 0 < |v| < 1e-250), so that the caller does not call 1/2004! equal to 0. */
double complex rlvr_mx_eval_num(const rlvr_mx_node *n, int point, int *lost);

/* A zeroed node with room for nkids children (kids points at it), in m; NULL
 * when the budget is spent. For building trees outside the parser. */
rlvr_mx_node *rlvr_mx_node_new(rlvr_mctx *m, int kind, uint32_t nkids);

/* 1 when the tree contains a SYM or CALL (a variable). */
int rlvr_mx_has_vars(const rlvr_mx_node *n);

#endif
