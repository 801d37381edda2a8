/* mathlib_arith.c — plain arithmetic, exactly; see mathlib_arith.h.
 *   expr := term (('+' | '-') term)*
 *   term := unary (('*' | '/') unary)*
 *   unary := '-' unary | '+' unary | atom
 *   atom := integer | '(' expr ')' */
#include "verifiers/mathlib_arith.h"

#include <string.h>

#include "core/error.h"

enum { A_END, A_NUM, A_ADD, A_SUB, A_MUL, A_DIV, A_OPEN, A_CLOSE, A_BAD };

typedef struct {
  rlvr_mctx *m;
  const char *s;
  size_t len, pos;
  int tok;
  size_t tstart, tlen;
  int depth;
  int err;
  rlvr_arith_result *out;
} aparser;

static int afail(aparser *p, int code, const char *what) {
  if (!p->err) p->err = rlvr_error(code, "arithmetic: %s at byte %zu", what, p->tstart);
  return p->err;
}

static int starts(const aparser *p, size_t i, const char *w) {
  size_t n = strlen(w);
  return i + n <= p->len && !memcmp(p->s + i, w, n) &&
         !(n > 2 && i + n < p->len && ((p->s[i + n] >= 'a' && p->s[i + n] <= 'z') || (p->s[i + n] >= 'A' && p->s[i + n] <= 'Z')));
}

static void anext(aparser *p) {
  static const struct { const char *w; int t; } words[] = {
      {"\\times", A_MUL}, {"\\cdot", A_MUL}, {"\\ast", A_MUL}, {"\\div", A_DIV}, {"\xc3\x97", A_MUL},
      {"\xc3\xb7", A_DIV}, {"\xc2\xb7", A_MUL}, {"\xe2\x8b\x85", A_MUL}, {"\xe2\x88\x92", A_SUB},
      {"\\left", -1}, {"\\right", -1}, {"\\,", -1}, {"\\;", -1}, {"\\!", -1}, {"\\ ", -1}, {"\\(", -1},
      {"\\)", -1}, {"\\[", -1}, {"\\]", -1}, {"\\{", A_OPEN}, {"\\}", A_CLOSE}, {"\\quad", -1},
  };
  for (;;) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\r' || p->s[p->pos] == '$'))
      p->pos++;
    p->tstart = p->pos;
    if (p->pos >= p->len) {
      p->tok = A_END;
      return;
    }
    int skipped = 0;
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
      if (starts(p, p->pos, words[k].w)) {
        p->pos += strlen(words[k].w);
        if (words[k].t < 0) {
          skipped = 1;
          break;
        }
        p->tok = words[k].t;
        return;
      }
    }
    if (skipped) continue;
    char c = p->s[p->pos];
    if (c >= '0' && c <= '9') {
      size_t i = p->pos;
      while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
      if (i < p->len && (p->s[i] == '.' || p->s[i] == ',') && i + 1 < p->len && p->s[i + 1] >= '0' && p->s[i + 1] <= '9') {
        p->tok = A_BAD; /* 2.5 or 1,000: not a given number */
        return;
      }
      p->tok = A_NUM;
      p->tlen = i - p->pos;
      p->pos = i;
      return;
    }
    p->pos++;
    switch (c) {
    case '+': p->tok = A_ADD; return;
    case '-': p->tok = A_SUB; return;
    case '*': case 'x': case 'X': p->tok = A_MUL; return;
    case '/': case ':': p->tok = A_DIV; return;
    case '(': case '[': case '{': p->tok = A_OPEN; return;
    case ')': case ']': case '}': p->tok = A_CLOSE; return;
    default: p->tok = A_BAD; return;
    }
  }
}

static int aexpr(aparser *p, rlvr_rat *v);

static int aunary(aparser *p, rlvr_rat *v) {
  if (++p->depth > 200) return afail(p, RLVR_ERR_RANGE, "nested too deeply");
  int err = 0;
  if (p->tok == A_SUB || p->tok == A_ADD) {
    int neg = p->tok == A_SUB;
    p->out->unary_minus |= neg;
    anext(p);
    if ((err = aunary(p, v))) return err;
    if (neg) rlvr_rat_neg(v, v);
  } else if (p->tok == A_NUM) {
    if (p->out->nnums >= RLVR_ARITH_MAX_NUMS) return afail(p, RLVR_ERR_RANGE, "too many numbers");
    const char *d = p->s + p->tstart;
    int64_t x = 0;
    for (size_t i = 0; i < p->tlen; i++) {
      if (x > (INT64_MAX - 9) / 10) return afail(p, RLVR_ERR_RANGE, "number too large");
      x = x * 10 + (d[i] - '0');
    }
    p->out->nums[p->out->nnums++] = x;
    if ((err = rlvr_rat_from_i64(p->m, v, x, 1))) return p->err = err;
    anext(p);
  } else if (p->tok == A_OPEN) {
    anext(p);
    if ((err = aexpr(p, v))) return err;
    if (p->tok != A_CLOSE) return afail(p, RLVR_ERR_FORMAT, "missing closing bracket");
    anext(p);
  } else {
    return afail(p, RLVR_ERR_FORMAT, p->tok == A_END ? "unexpected end" : "unexpected character");
  }
  p->depth--;
  return RLVR_OK;
}

static int aterm(aparser *p, rlvr_rat *v) {
  int err = aunary(p, v);
  while (!err && (p->tok == A_MUL || p->tok == A_DIV)) {
    int div = p->tok == A_DIV;
    rlvr_rat w;
    anext(p);
    if ((err = aunary(p, &w))) break;
    if (div && rlvr_rat_is_zero(&w)) return afail(p, RLVR_ERR_RANGE, "division by zero");
    err = div ? rlvr_rat_div(p->m, v, v, &w) : rlvr_rat_mul(p->m, v, v, &w);
    if (err) p->err = err;
  }
  return err;
}

static int aexpr(aparser *p, rlvr_rat *v) {
  int err = aterm(p, v);
  while (!err && (p->tok == A_ADD || p->tok == A_SUB)) {
    int sub = p->tok == A_SUB;
    rlvr_rat w;
    anext(p);
    if ((err = aterm(p, &w))) break;
    err = sub ? rlvr_rat_sub(p->m, v, v, &w) : rlvr_rat_add(p->m, v, v, &w);
    if (err) p->err = err;
  }
  return err;
}

int rlvr_arith_eval(rlvr_mctx *m, const char *s, size_t len, rlvr_arith_result *out) {
  if (len > RLVR_ARITH_MAX_INPUT) return rlvr_error(RLVR_ERR_RANGE, "arithmetic: expression of %zu bytes is too long", len);
  rlvr_arith_result r;
  memset(&r, 0, sizeof r);
  aparser p = {m, s, len, 0, 0, 0, 0, 0, 0, &r};
  anext(&p);
  int err = aexpr(&p, &r.value);
  if (!err && p.tok != A_END) err = afail(&p, RLVR_ERR_FORMAT, p.tok == A_CLOSE ? "unmatched closing bracket" : "unexpected character");
  if (err) return err;
  *out = r;
  return RLVR_OK;
}
