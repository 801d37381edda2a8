/* mathlib_equiv.c — answer equivalence; see mathlib_equiv.h for the rules.
 *
 * eq() dispatches on the shapes of the two trees: relations first (so that
 * "x = 3" can be unwrapped before anything else looks at it), then \pm
 * expansion, text, collections, and finally scalars. Every comparison draws
 * on a budget so that long lists (n^2 pairs in the unordered matching) stay
 * bounded; running out of budget answers "not equal". */
#include "verifiers/mathlib_equiv.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "verifiers/mathlib_expr.h"

enum { MAX_MATCH = 64, MAX_PM = 4, MAX_IVL = 16, EQ_BUDGET = 20000, MAX_POINTS = 16 };

void rlvr_mq_opts_default(rlvr_mq_opts *o) {
  o->rel_tol = 1e-9;
  o->min_sig_digits = 6;
  o->npoints = 8;
}

typedef struct {
  rlvr_mctx *m;
  const rlvr_mq_opts *o;
  const char *method;
  int depth;
  int budget;
} eqctx;

static int eq(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a);

/* ------------------------------------------------------------------ */
/* small predicates                                                    */

static unsigned rel_at(const rlvr_mx_node *n, uint32_t i) { return (n->rels >> (4 * i)) & 15; }

static int all_eq(const rlvr_mx_node *n) {
  for (uint32_t i = 0; i + 1 < n->nkids; i++) {
    unsigned r = rel_at(n, i);
    if (r != RLVR_MXR_EQ && r != RLVR_MXR_APPROX) return 0;
  }
  return 1;
}

static int is_inequality(const rlvr_mx_node *n) {
  if (n->kind != RLVR_MX_REL) return 0;
  for (uint32_t i = 0; i + 1 < n->nkids; i++) {
    unsigned r = rel_at(n, i);
    if (r != RLVR_MXR_LT && r != RLVR_MXR_LE && r != RLVR_MXR_GT && r != RLVR_MXR_GE && r != RLVR_MXR_NE) return 0;
  }
  return 1;
}

/* Made of variables only (x, f(x), a+b, \text{Area}): the left side of an assignment. */
static int symbol_only(const rlvr_mx_node *n) {
  switch (n->kind) {
  case RLVR_MX_SYM: case RLVR_MX_CALL: case RLVR_MX_TEXT: return 1;
  case RLVR_MX_NUM: case RLVR_MX_CONST: return 0;
  case RLVR_MX_ADD: case RLVR_MX_MUL: case RLVR_MX_NEG: case RLVR_MX_DIV:
    for (uint32_t i = 0; i < n->nkids; i++)
      if (!symbol_only(n->kids[i])) return 0;
    return n->nkids > 0;
  default: return 0;
  }
}

static int is_assignment(const rlvr_mx_node *n) {
  return n->kind == RLVR_MX_REL && all_eq(n) && symbol_only(n->kids[0]);
}

static int is_membership(const rlvr_mx_node *n) {
  return n->kind == RLVR_MX_REL && n->nkids == 2 && rel_at(n, 0) == RLVR_MXR_IN && symbol_only(n->kids[0]);
}

/* x = 1/3 ≈ 0.333: the last operand joined by '=' (approximations are not the answer). */
static const rlvr_mx_node *assigned_value(const rlvr_mx_node *n) {
  for (uint32_t j = n->nkids - 1; j >= 1; j--)
    if (rel_at(n, j - 1) == RLVR_MXR_EQ) return n->kids[j];
  return n->kids[n->nkids - 1];
}

static int inf_sign(const rlvr_mx_node *n) {
  if (n->kind == RLVR_MX_CONST && n->op == RLVR_MXC_INF) return 1;
  if (n->kind == RLVR_MX_NEG) return -inf_sign(n->kids[0]);
  return 0;
}

static int has_pm(const rlvr_mx_node *n) {
  if (n->kind == RLVR_MX_PM) return 1;
  if (n->kind == RLVR_MX_LIST || n->kind == RLVR_MX_SET || n->kind == RLVR_MX_TUPLE || n->kind == RLVR_MX_REL ||
      n->kind == RLVR_MX_MATRIX || n->kind == RLVR_MX_INTERVAL)
    return 0; /* inside collections, elements are compared one by one */
  for (uint32_t i = 0; i < n->nkids; i++)
    if (has_pm(n->kids[i])) return 1;
  return 0;
}

static int count_pm(const rlvr_mx_node *n) {
  int k = n->kind == RLVR_MX_PM;
  for (uint32_t i = 0; i < n->nkids; i++) k += count_pm(n->kids[i]);
  return k;
}

static int is_collection(const rlvr_mx_node *n) {
  switch (n->kind) {
  case RLVR_MX_LIST: case RLVR_MX_SET: case RLVR_MX_TUPLE: case RLVR_MX_INTERVAL: case RLVR_MX_UNION:
  case RLVR_MX_MATRIX:
    return 1;
  default: return 0;
  }
}

static int structural(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  char *gs, *as;
  size_t gl, al;
  c->method = "structural";
  if (rlvr_mx_print(c->m, g, &gs, &gl) || rlvr_mx_print(c->m, a, &as, &al)) return 0;
  return gl == al && !memcmp(gs, as, gl);
}

/* ------------------------------------------------------------------ */
/* scalars                                                             */

static int close_const(double complex x, double complex y, double tol) {
  double d = cabs(x - y), s = fmax(cabs(x), cabs(y));
  return d <= tol * s || (s < 1e-10 && d < 1e-14);
}

static int close_point(double complex x, double complex y, double tol) {
  double d = cabs(x - y), s = fmax(1.0, fmax(cabs(x), cabs(y)));
  return d <= tol * s;
}

static const rlvr_mx_node *decimal_literal(const rlvr_mx_node *n, int *neg) {
  *neg = 0;
  if (n->kind == RLVR_MX_NEG) {
    *neg = 1;
    n = n->kids[0];
  }
  return n->kind == RLVR_MX_NUM && (n->flags & RLVR_MXN_POINT) ? n : NULL;
}

/* A decimal with enough significant digits that is the other value rounded
 * (|d - v| <= 0.5 ulp of the decimal) or truncated toward zero. */
static int decimal_match(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  if (c->o->min_sig_digits <= 0) return 0;
  for (int side = 0; side < 2; side++) {
    const rlvr_mx_node *dn = side == 0 ? a : g, *other = side == 0 ? g : a;
    int neg;
    const rlvr_mx_node *lit = decimal_literal(dn, &neg);
    if (!lit || lit->sig_digits < c->o->min_sig_digits || lit->frac_digits > 300 || isnan(lit->numd)) continue;
    if (rlvr_mx_has_vars(other)) continue;
    int lost = 0;
    double complex v = rlvr_mx_eval_num(other, 0, &lost);
    if (lost || !isfinite(creal(v)) || fabs(cimag(v)) > 1e-12 * fabs(creal(v))) continue;
    double d = neg ? -lit->numd : lit->numd, x = creal(v), ulp = pow(10.0, -lit->frac_digits);
    double slack = 1e-12 * fabs(x);
    if (fabs(d - x) <= 0.5 * ulp + slack) return 1;
    if ((d >= 0) == (x >= 0) && fabs(d) <= fabs(x) + slack && fabs(x) - fabs(d) < ulp * (1 - 1e-6)) return 1;
  }
  return 0;
}

static int scalar_core(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  int gi = inf_sign(g), ai = inf_sign(a);
  if (gi || ai) {
    c->method = "infinity";
    return gi == ai;
  }
  rlvr_rat gv, av;
  rlvr_mx_exactness ge = rlvr_mx_eval_exact(c->m, g, &gv), ae = rlvr_mx_eval_exact(c->m, a, &av);
  if (ge == RLVR_MX_EXACT && ae == RLVR_MX_EXACT) {
    if (rlvr_rat_cmp(&gv, &av) == 0) {
      c->method = "exact";
      return 1;
    }
    if (decimal_match(c, g, a)) {
      c->method = "decimal";
      return 1;
    }
    c->method = "exact";
    return 0;
  }
  if (ge == RLVR_MX_UNDEFINED || ae == RLVR_MX_UNDEFINED) {
    if (ge == ae) return structural(c, g, a);
    c->method = "undefined";
    return 0;
  }
  int vars = rlvr_mx_has_vars(g) || rlvr_mx_has_vars(a);
  if (!vars) {
    int lost = 0;
    double complex vg = rlvr_mx_eval_num(g, 0, &lost), va = rlvr_mx_eval_num(a, 0, &lost);
    if (lost || !isfinite(creal(vg)) || !isfinite(cimag(vg)) || !isfinite(creal(va)) || !isfinite(cimag(va)))
      return structural(c, g, a);
    c->method = "numeric";
    if (close_const(vg, va, c->o->rel_tol)) return 1;
    if (decimal_match(c, g, a)) {
      c->method = "decimal";
      return 1;
    }
    return 0;
  }
  int np = c->o->npoints > MAX_POINTS ? MAX_POINTS : c->o->npoints;
  /* Rational functions first: exact values at rational points decide for
   * certain where they differ, and tell x from x + 10^-12. */
  int valid = 0, exact_ok = 1;
  for (int pt = 0; pt < np && exact_ok; pt++) {
    ge = rlvr_mx_eval_exact_at(c->m, g, pt, &gv);
    ae = rlvr_mx_eval_exact_at(c->m, a, pt, &av);
    if (ge == RLVR_MX_UNDEFINED || ae == RLVR_MX_UNDEFINED) continue; /* a pole: skip the point */
    if (ge != RLVR_MX_EXACT || ae != RLVR_MX_EXACT) {
      exact_ok = 0;
      break;
    }
    if (rlvr_rat_cmp(&gv, &av) != 0) {
      c->method = "exact_points";
      return 0;
    }
    valid++;
  }
  if (exact_ok && valid >= 3) {
    c->method = "exact_points";
    return 1;
  }
  /* Otherwise doubles (complex, so roots and logs of negatives stay defined).
   * A point where one side is real and the other is not lies outside one
   * side's real domain (\ln x + \ln y at x, y < 0): it is skipped. */
  c->method = "points";
  valid = 0;
  for (int pt = 0; pt < np; pt++) {
    int lost = 0;
    double complex vg = rlvr_mx_eval_num(g, pt, &lost), va = rlvr_mx_eval_num(a, pt, &lost);
    int fg = isfinite(creal(vg)) && isfinite(cimag(vg)), fa = isfinite(creal(va)) && isfinite(cimag(va));
    if (lost || (!fg && !fa)) continue;
    if (fg != fa) return 0; /* defined on one side only: different functions */
    int rg = fabs(cimag(vg)) <= 1e-9 * fmax(1.0, cabs(vg)), ra = fabs(cimag(va)) <= 1e-9 * fmax(1.0, cabs(va));
    if (rg != ra) continue;
    if (!close_point(vg, va, fmax(c->o->rel_tol, 1e-9))) return 0;
    valid++;
  }
  if (valid >= 3 || (valid >= 1 && valid == np)) return 1;
  return structural(c, g, a);
}

/* 50% against 50 or 0.5: the percent sign may be a unit or a factor of 1/100. */
static int eq_scalar(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  int gp = g->kind == RLVR_MX_PCT, ap = a->kind == RLVR_MX_PCT;
  if (gp || ap) {
    if (scalar_core(c, gp ? g->kids[0] : g, ap ? a->kids[0] : a)) return 1;
  }
  return scalar_core(c, g, a);
}

/* ------------------------------------------------------------------ */
/* text                                                                */

static size_t norm_text(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\\') { /* drop command names: \text, \mathrm */
      while (i + 1 < n && ((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z'))) i++;
      continue;
    }
    if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80) out[k++] = (char)ch;
  }
  return k;
}

static int eq_text(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  c->method = "text";
  const char *gs, *as;
  size_t gl, al;
  char *tmp;
  if (g->kind == RLVR_MX_TEXT) gs = g->str, gl = g->len;
  else if (rlvr_mx_print(c->m, g, &tmp, &gl)) return 0;
  else gs = tmp;
  if (a->kind == RLVR_MX_TEXT) as = a->str, al = a->len;
  else if (rlvr_mx_print(c->m, a, &tmp, &al)) return 0;
  else as = tmp;
  char *gb = rlvr_mctx_alloc(c->m, gl + 1), *ab = rlvr_mctx_alloc(c->m, al + 1);
  if (!gb || !ab) return 0;
  size_t gn = norm_text(gs, gl, gb, gl), an = norm_text(as, al, ab, al);
  return gn > 0 && gn == an && !memcmp(gb, ab, gn);
}

/* ------------------------------------------------------------------ */
/* collections                                                         */

/* Is there a perfect matching between g's and a's items? (Kuhn's algorithm) */
static int try_kuhn(int i, int n, const unsigned char *ok, int *match_of_a, unsigned char *seen) {
  for (int j = 0; j < n; j++) {
    if (!ok[i * n + j] || seen[j]) continue;
    seen[j] = 1;
    if (match_of_a[j] < 0 || try_kuhn(match_of_a[j], n, ok, match_of_a, seen)) {
      match_of_a[j] = i;
      return 1;
    }
  }
  return 0;
}

static int match_unordered(eqctx *c, rlvr_mx_node *const *gk, rlvr_mx_node *const *ak, uint32_t n) {
  if (n > MAX_MATCH) return 0;
  unsigned char ok[MAX_MATCH * MAX_MATCH], seen[MAX_MATCH];
  int match_of_a[MAX_MATCH];
  for (uint32_t i = 0; i < n; i++) {
    int any = 0;
    for (uint32_t j = 0; j < n; j++) {
      ok[i * n + j] = (unsigned char)eq(c, gk[i], ak[j]);
      any |= ok[i * n + j];
    }
    if (!any) return 0;
  }
  for (uint32_t j = 0; j < n; j++) match_of_a[j] = -1;
  for (uint32_t i = 0; i < n; i++) {
    memset(seen, 0, n);
    if (!try_kuhn((int)i, (int)n, ok, match_of_a, seen)) return 0;
  }
  return 1;
}

static int match_ordered(eqctx *c, rlvr_mx_node *const *gk, rlvr_mx_node *const *ak, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!eq(c, gk[i], ak[i])) return 0;
  return 1;
}

typedef struct {
  const rlvr_mx_node *lo, *hi;
  int lo_inf, hi_inf; /* -oo / +oo ends */
  int lc, rc;         /* closed ends */
} ivl;

static int rel_flip(int r) {
  return r == RLVR_MXR_LT ? RLVR_MXR_GT : r == RLVR_MXR_GT ? RLVR_MXR_LT : r == RLVR_MXR_LE ? RLVR_MXR_GE
         : r == RLVR_MXR_GE ? RLVR_MXR_LE : r;
}

/* One-variable inequalities as intervals: x > 3, 3 <= x, -1 < x <= 2, x != 0. */
static int rel_to_ivls(const rlvr_mx_node *n, ivl *out, int cap) {
  if (!is_inequality(n)) return -1;
  if (n->nkids == 2) {
    const rlvr_mx_node *x = n->kids[0], *v = n->kids[1];
    int r = (int)rel_at(n, 0);
    if (x->kind != RLVR_MX_SYM || rlvr_mx_has_vars(v)) {
      x = n->kids[1], v = n->kids[0];
      r = rel_flip(r);
      if (x->kind != RLVR_MX_SYM || rlvr_mx_has_vars(v)) return -1;
    }
    int vi = inf_sign(v);
    if (vi) return -1;
    if (r == RLVR_MXR_NE) {
      if (cap < 2) return -1;
      out[0] = (ivl){NULL, v, 1, 0, 0, 0};
      out[1] = (ivl){v, NULL, 0, 1, 0, 0};
      return 2;
    }
    if (r == RLVR_MXR_LT || r == RLVR_MXR_LE) out[0] = (ivl){NULL, v, 1, 0, 0, r == RLVR_MXR_LE};
    else out[0] = (ivl){v, NULL, 0, 1, r == RLVR_MXR_GE, 0};
    return 1;
  }
  if (n->nkids == 3 && n->kids[1]->kind == RLVR_MX_SYM && !rlvr_mx_has_vars(n->kids[0]) &&
      !rlvr_mx_has_vars(n->kids[2])) {
    int r1 = (int)rel_at(n, 0), r2 = (int)rel_at(n, 1);
    int up1 = r1 == RLVR_MXR_LT || r1 == RLVR_MXR_LE, up2 = r2 == RLVR_MXR_LT || r2 == RLVR_MXR_LE;
    int dn1 = r1 == RLVR_MXR_GT || r1 == RLVR_MXR_GE, dn2 = r2 == RLVR_MXR_GT || r2 == RLVR_MXR_GE;
    if (up1 && up2) {
      out[0] = (ivl){n->kids[0], n->kids[2], 0, 0, r1 == RLVR_MXR_LE, r2 == RLVR_MXR_LE};
      return 1;
    }
    if (dn1 && dn2) {
      out[0] = (ivl){n->kids[2], n->kids[0], 0, 0, r2 == RLVR_MXR_GE, r1 == RLVR_MXR_GE};
      return 1;
    }
  }
  return -1;
}

static int to_ivls(const rlvr_mx_node *n, ivl *out, int cap) {
  if (cap <= 0) return -1;
  switch (n->kind) {
  case RLVR_MX_INTERVAL: case RLVR_MX_TUPLE:
    if (n->nkids != 2) return -1;
    out[0].lo = n->kids[0];
    out[0].hi = n->kids[1];
    out[0].lo_inf = inf_sign(n->kids[0]) < 0;
    out[0].hi_inf = inf_sign(n->kids[1]) > 0;
    out[0].lc = n->kind == RLVR_MX_INTERVAL && (n->op & 1);
    out[0].rc = n->kind == RLVR_MX_INTERVAL && (n->op & 2);
    if (inf_sign(n->kids[0]) > 0 || inf_sign(n->kids[1]) < 0) return -1;
    return 1;
  case RLVR_MX_UNION: {
    if (n->op != 0) return -1;
    int k = 0;
    for (uint32_t i = 0; i < n->nkids; i++) {
      int got = to_ivls(n->kids[i], out + k, cap - k);
      if (got < 0) return -1;
      k += got;
    }
    return k;
  }
  case RLVR_MX_SET: return n->nkids == 0 ? 0 : -1;
  case RLVR_MX_REL: return rel_to_ivls(n, out, cap);
  default: return -1;
  }
}

static int ivl_eq(eqctx *c, const ivl *x, const ivl *y) {
  if (x->lo_inf != y->lo_inf || x->hi_inf != y->hi_inf) return 0;
  /* a bracket at an infinite end means nothing: only finite ends' brackets count */
  if (!x->lo_inf && (x->lc != y->lc || !eq(c, x->lo, y->lo))) return 0;
  if (!x->hi_inf && (x->rc != y->rc || !eq(c, x->hi, y->hi))) return 0;
  return 1;
}

static int eq_ivls(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  ivl gi[MAX_IVL], ai[MAX_IVL];
  int gn = to_ivls(g, gi, MAX_IVL), an = to_ivls(a, ai, MAX_IVL);
  c->method = "interval";
  if (gn < 0 || an < 0 || gn != an) return 0;
  /* unordered, small: try every pairing greedily with backtracking-free uniqueness */
  int used[MAX_IVL] = {0};
  for (int i = 0; i < gn; i++) {
    int found = 0;
    for (int j = 0; j < an && !found; j++)
      if (!used[j] && ivl_eq(c, &gi[i], &ai[j])) used[j] = found = 1;
    if (!found) return 0;
  }
  c->method = "interval";
  return 1;
}

static int is_vector(const rlvr_mx_node *n) { return n->kind == RLVR_MX_MATRIX && (n->rows == 1 || n->cols == 1); }

static int eq_coll(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  int gc = is_collection(g), ac = is_collection(a);
  if (gc && !ac && (g->kind == RLVR_MX_SET || g->kind == RLVR_MX_LIST) && g->nkids == 1) return eq(c, g->kids[0], a);
  if (ac && !gc && (a->kind == RLVR_MX_SET || a->kind == RLVR_MX_LIST) && a->nkids == 1) return eq(c, g, a->kids[0]);
  if (!gc || !ac) {
    c->method = "shape";
    return 0;
  }
  if (g->kind == RLVR_MX_MATRIX || a->kind == RLVR_MX_MATRIX) {
    int r;
    if (g->kind == RLVR_MX_MATRIX && a->kind == RLVR_MX_MATRIX) {
      r = g->rows == a->rows && g->cols == a->cols && match_ordered(c, g->kids, a->kids, g->nkids);
    } else {
      const rlvr_mx_node *mtx = g->kind == RLVR_MX_MATRIX ? g : a, *other = mtx == g ? a : g;
      r = is_vector(mtx) && (other->kind == RLVR_MX_TUPLE || other->kind == RLVR_MX_LIST) &&
          other->nkids == mtx->nkids && match_ordered(c, g->kids, a->kids, g->nkids);
    }
    c->method = "matrix";
    return r;
  }
  if (g->kind == RLVR_MX_INTERVAL || g->kind == RLVR_MX_UNION || a->kind == RLVR_MX_INTERVAL ||
      a->kind == RLVR_MX_UNION)
    return eq_ivls(c, g, a);
  if (g->nkids != a->nkids) {
    c->method = "count";
    return 0;
  }
  if (g->kind == RLVR_MX_TUPLE) {
    if (a->kind == RLVR_MX_SET) { /* a point is not a set */
      c->method = "shape";
      return 0;
    }
    int r = match_ordered(c, g->kids, a->kids, g->nkids);
    c->method = "tuple";
    return r;
  }
  /* g is a set or a bare list. Gold "x = 1, y = 2" against "1, 2": in order. */
  int gold_assign = 1, ans_plain = 0;
  for (uint32_t i = 0; i < g->nkids; i++) gold_assign &= is_assignment(g->kids[i]);
  for (uint32_t i = 0; i < a->nkids; i++) ans_plain |= a->kids[i]->kind != RLVR_MX_REL;
  int r = gold_assign && ans_plain ? match_ordered(c, g->kids, a->kids, g->nkids)
                                   : match_unordered(c, g->kids, a->kids, g->nkids);
  c->method = "set";
  return r;
}

/* ------------------------------------------------------------------ */
/* \pm                                                                 */

/* A copy of n with its PM nodes (in depth-first order) resolved by bits. */
static rlvr_mx_node *expand_pm(rlvr_mctx *m, const rlvr_mx_node *n, unsigned bits, int *idx) {
  if (!has_pm(n)) return (rlvr_mx_node *)n;
  if (n->kind == RLVR_MX_PM) {
    int minus = ((bits >> (*idx)++) & 1) ^ n->op;
    rlvr_mx_node *left = n->nkids == 2 ? expand_pm(m, n->kids[0], bits, idx) : NULL;
    rlvr_mx_node *right = expand_pm(m, n->kids[n->nkids - 1], bits, idx);
    if ((n->nkids == 2 && !left) || !right) return NULL;
    if (minus) {
      rlvr_mx_node *neg = rlvr_mx_node_new(m, RLVR_MX_NEG, 1);
      if (!neg) return NULL;
      neg->kids[0] = right;
      right = neg;
    }
    if (!left) return right;
    rlvr_mx_node *add = rlvr_mx_node_new(m, RLVR_MX_ADD, 2);
    if (!add) return NULL;
    add->kids[0] = left;
    add->kids[1] = right;
    return add;
  }
  rlvr_mx_node *copy = rlvr_mx_node_new(m, n->kind, n->nkids);
  if (!copy) return NULL;
  rlvr_mx_node **kids = copy->kids;
  *copy = *n;
  copy->kids = kids;
  for (uint32_t i = 0; i < n->nkids; i++)
    if (!(kids[i] = expand_pm(m, n->kids[i], bits, idx))) return NULL;
  return copy;
}

/* Items to compare: the \pm variants of a value, or a list's items. */
static int pm_items(eqctx *c, const rlvr_mx_node *n, rlvr_mx_node **items, uint32_t cap, uint32_t *count) {
  if (n->kind == RLVR_MX_LIST || n->kind == RLVR_MX_SET) {
    if (n->nkids > cap) return 0;
    memcpy(items, n->kids, n->nkids * sizeof *items);
    *count = n->nkids;
    return 1;
  }
  if (!has_pm(n)) {
    items[0] = (rlvr_mx_node *)n;
    *count = 1;
    return 1;
  }
  int k = count_pm(n);
  if (k > MAX_PM || (1u << k) > cap) return 0;
  for (unsigned bits = 0; bits < (1u << k); bits++) {
    int idx = 0;
    if (!(items[bits] = expand_pm(c->m, n, bits, &idx))) return 0;
  }
  *count = 1u << k;
  return 1;
}

static int eq_pm(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  rlvr_mx_node *gi[MAX_MATCH], *ai[MAX_MATCH];
  uint32_t gn, an;
  if (!pm_items(c, g, gi, MAX_MATCH, &gn) || !pm_items(c, a, ai, MAX_MATCH, &an)) return structural(c, g, a);
  if (gn != an) {
    c->method = "pm";
    return 0;
  }
  int r = match_unordered(c, gi, ai, gn);
  c->method = "pm";
  return r;
}

/* ------------------------------------------------------------------ */
/* relations                                                           */

/* (l1 - r1) = k (l2 - r2) for one constant k at every sample point; sign: require k > 0 (1), k < 0 (-1), any (0). */
static int proportional(eqctx *c, const rlvr_mx_node *l1, const rlvr_mx_node *r1, const rlvr_mx_node *l2,
                        const rlvr_mx_node *r2, int sign) {
  if (!rlvr_mx_has_vars(l1) && !rlvr_mx_has_vars(r1)) return 0;
  double complex k0 = 0;
  int valid = 0, np = c->o->npoints > MAX_POINTS ? MAX_POINTS : c->o->npoints;
  for (int pt = 0; pt < np; pt++) {
    int lost = 0;
    double complex a1 = rlvr_mx_eval_num(l1, pt, &lost), b1 = rlvr_mx_eval_num(r1, pt, &lost);
    double complex a2 = rlvr_mx_eval_num(l2, pt, &lost), b2 = rlvr_mx_eval_num(r2, pt, &lost);
    double complex f = a1 - b1, h = a2 - b2;
    if (lost || !isfinite(cabs(f)) || !isfinite(cabs(h))) continue;
    int fz = cabs(f) <= 1e-10 * (cabs(a1) + cabs(b1) + 1e-300), hz = cabs(h) <= 1e-10 * (cabs(a2) + cabs(b2) + 1e-300);
    if (fz && hz) continue;
    if (fz != hz) return 0;
    double complex k = f / h;
    if (!valid) {
      k0 = k;
      if (fabs(cimag(k)) > 1e-9 * cabs(k)) return 0;
      if (sign > 0 && creal(k) <= 0) return 0;
      if (sign < 0 && creal(k) >= 0) return 0;
    } else if (cabs(k - k0) > 1e-7 * cabs(k0)) {
      return 0;
    }
    valid++;
  }
  return valid >= 3;
}

static int eq_rel(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  int gr = g->kind == RLVR_MX_REL, ar = a->kind == RLVR_MX_REL;
  if (ar && !gr) {
    if (is_assignment(a)) return eq(c, g, assigned_value(a));
    if (is_membership(a)) return eq(c, g, a->kids[1]);
    if (is_inequality(a) && (g->kind == RLVR_MX_INTERVAL || g->kind == RLVR_MX_UNION ||
                             (g->kind == RLVR_MX_TUPLE && g->nkids == 2) || (g->kind == RLVR_MX_SET && !g->nkids)))
      return eq_ivls(c, g, a);
    /* "2 + 3 = 5" for gold 5: a true chain of constants, read as its last value */
    if (all_eq(a) && !rlvr_mx_has_vars(a)) {
      int chain_true = 1;
      for (uint32_t i = 0; i + 1 < a->nkids && chain_true; i++) chain_true = eq(c, a->kids[i + 1], a->kids[i]);
      if (chain_true) return eq(c, g, a->kids[a->nkids - 1]);
    }
    c->method = "relation";
    return 0;
  }
  if (gr && !ar) {
    if (is_assignment(g)) return eq(c, assigned_value(g), a);
    if (is_membership(g)) return eq(c, g->kids[1], a);
    if (is_inequality(g)) return eq_ivls(c, g, a);
    c->method = "relation";
    return 0;
  }
  /* both relations */
  if (is_assignment(g) && is_assignment(a)) {
    char *gl, *al;
    size_t gn, an;
    if (!rlvr_mx_print(c->m, g->kids[0], &gl, &gn) && !rlvr_mx_print(c->m, a->kids[0], &al, &an) && gn == an &&
        !memcmp(gl, al, gn))
      return eq(c, assigned_value(g), assigned_value(a));
    if (!rlvr_mx_has_vars(assigned_value(g))) { /* x = 3 against y = 3 */
      c->method = "relation";
      return 0;
    }
  }
  if (is_membership(g) && is_membership(a)) return structural(c, g->kids[0], a->kids[0]) && eq(c, g->kids[1], a->kids[1]);
  if (is_inequality(g) && is_inequality(a)) {
    ivl t[MAX_IVL];
    if (rel_to_ivls(g, t, MAX_IVL) >= 0 && rel_to_ivls(a, t, MAX_IVL) >= 0) return eq_ivls(c, g, a);
    c->method = "relation";
    if (g->nkids != 2 || a->nkids != 2) return structural(c, g, a);
    int rg = (int)rel_at(g, 0), ra = (int)rel_at(a, 0);
    if (rg == ra) return proportional(c, g->kids[0], g->kids[1], a->kids[0], a->kids[1], rg == RLVR_MXR_NE ? 0 : 1);
    if (rel_flip(rg) == ra) return proportional(c, g->kids[0], g->kids[1], a->kids[0], a->kids[1], -1);
    return 0;
  }
  c->method = "relation";
  if (all_eq(g) && all_eq(a) && g->nkids == 2 && a->nkids == 2) {
    /* A solved gold (x = 3) needs a solved answer: "x + 1 = 4" restates the question. */
    if (is_assignment(g) && !rlvr_mx_has_vars(g->kids[1]) && !is_assignment(a)) return 0;
    if (is_assignment(a) && !rlvr_mx_has_vars(a->kids[1]) && !is_assignment(g)) return 0;
    if (proportional(c, g->kids[0], g->kids[1], a->kids[0], a->kids[1], 0)) return 1;
    return structural(c, g, a);
  }
  return structural(c, g, a);
}

/* ------------------------------------------------------------------ */

static int is_based(const rlvr_mx_node *n) { return n->kind == RLVR_MX_SYM && n->op == 1; }

/* 1011_2 against 1011_2 (same digits, same base) or against plain 1011 (the
 * base was asked for in the question); never against 1011_3 or eleven. */
static int eq_based(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  c->method = "base";
  if (is_based(g) && is_based(a)) return g->len == a->len && !memcmp(g->str, a->str, g->len);
  const rlvr_mx_node *b = is_based(g) ? g : a, *o = b == g ? a : g;
  if (o->kind != RLVR_MX_NUM || !rlvr_rat_is_int(&o->num) || (o->flags & (RLVR_MXN_POINT | RLVR_MXN_EXP))) return 0;
  char *digits;
  size_t dl;
  if (rlvr_mx_print(c->m, o, &digits, &dl)) return 0;
  return dl < b->len && b->str[dl] == '_' && !memcmp(b->str, digits, dl);
}

static int eq_inner(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  if (g->kind == RLVR_MX_REL || a->kind == RLVR_MX_REL) return eq_rel(c, g, a);
  if (is_based(g) || is_based(a)) return eq_based(c, g, a);
  if (has_pm(g) || has_pm(a)) return eq_pm(c, g, a);
  if (g->kind == RLVR_MX_TEXT || a->kind == RLVR_MX_TEXT) return eq_text(c, g, a);
  if (is_collection(g) || is_collection(a)) return eq_coll(c, g, a);
  return eq_scalar(c, g, a);
}

static int eq(eqctx *c, const rlvr_mx_node *g, const rlvr_mx_node *a) {
  if (--c->budget < 0 || c->depth > 40) {
    c->method = "budget";
    return 0;
  }
  c->depth++;
  int r = eq_inner(c, g, a);
  c->depth--;
  return r;
}

/* Whitespace, $, \left, \right, spacing commands and \dfrac/\tfrac spellings removed. */
static size_t norm_latex(const char *s, size_t n, char *out) {
  static const char *drop[] = {"\\left", "\\right", "\\displaystyle", "\\!", "\\,", "\\;", "\\:", "\\ ", "\\quad", "\\qquad"};
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    char ch = s[i];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '$') {
      i++;
      continue;
    }
    int skipped = 0;
    if (ch == '\\') {
      for (size_t d = 0; d < sizeof drop / sizeof drop[0] && !skipped; d++) {
        size_t dl = strlen(drop[d]);
        if (i + dl <= n && !memcmp(s + i, drop[d], dl) &&
            !(dl > 2 && i + dl < n && ((s[i + dl] >= 'a' && s[i + dl] <= 'z') || (s[i + dl] >= 'A' && s[i + dl] <= 'Z'))))
          i += dl, skipped = 1;
      }
      if (!skipped && i + 6 <= n && (!memcmp(s + i, "\\dfrac", 6) || !memcmp(s + i, "\\tfrac", 6))) {
        memcpy(out + k, "\\frac", 5);
        k += 5;
        i += 6;
        skipped = 1;
      }
    }
    if (!skipped) out[k++] = s[i++];
  }
  return k;
}

void rlvr_mq_equal(rlvr_mctx *m, const char *gold, size_t glen, const char *ans, size_t alen,
                   const rlvr_mq_opts *o, rlvr_mq_result *r) {
  rlvr_mq_opts def;
  if (!o) {
    rlvr_mq_opts_default(&def);
    o = &def;
  }
  memset(r, 0, sizeof *r);
  rlvr_mx_expr ge, ae;
  r->gold_parsed = rlvr_mx_parse(m, gold, glen, &ge) == RLVR_OK;
  r->answer_parsed = rlvr_mx_parse(m, ans, alen, &ae) == RLVR_OK;
  size_t l;
  if (r->gold_parsed && rlvr_mx_print(m, ge.root, &r->gold_norm, &l)) r->gold_norm = NULL;
  if (r->answer_parsed) {
    r->answer_notes = ae.notes;
    if (rlvr_mx_print(m, ae.root, &r->answer_norm, &l)) r->answer_norm = NULL;
  }
  if (!r->gold_parsed || !r->answer_parsed) {
    /* compare the text itself, lightly normalized */
    r->method = "string";
    char *gb = rlvr_mctx_alloc(m, glen + 1), *ab = rlvr_mctx_alloc(m, alen + 1);
    if (!gb || !ab) return;
    size_t gn = norm_latex(gold, glen, gb), an = norm_latex(ans, alen, ab);
    r->equal = gn > 0 && gn == an && !memcmp(gb, ab, gn);
    return;
  }
  eqctx c = {m, o, "exact", 0, EQ_BUDGET};
  r->equal = eq(&c, ge.root, ae.root);
  r->method = c.method;
}

void rlvr_mq_verify(rlvr_mctx *m, const char *completion, size_t clen, const char *reference, size_t rlen,
                    const rlvr_mx_extract_opts *eo, const rlvr_mq_opts *o, rlvr_mq_verdict *v) {
  memset(v, 0, sizeof *v);
  v->extraction = rlvr_mx_extract(completion, clen, eo, &v->answer_start, &v->answer_len);
  rlvr_mx_extract_gold(reference, rlen, &v->gold_start, &v->gold_len);
  if (v->extraction == RLVR_MXE_NONE || v->answer_len == 0) {
    v->wrong_format = 1;
    v->cmp.method = v->extraction == RLVR_MXE_NONE ? "no_answer" : "empty_answer";
    return;
  }
  if (v->gold_len == 0) {
    v->cmp.method = "no_gold";
    return;
  }
  rlvr_mq_equal(m, reference + v->gold_start, v->gold_len, completion + v->answer_start, v->answer_len, o, &v->cmp);
  v->score = v->cmp.equal ? 1.0 : 0.0;
}
