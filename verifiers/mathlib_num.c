/* mathlib_num.c — big integers and rationals; see mathlib_num.h.
 *
 * Magnitudes are arrays of 64-bit limbs processed with unsigned __int128
 * products. Multiplication is schoolbook and division is Knuth's algorithm D
 * (TAOCP vol. 2, 4.3.1): with the size cap (a few thousand limbs at most)
 * neither needs anything faster. Functions named mag_* work on raw arrays and
 * never allocate; the rlvr_big_* layer allocates results from the context. */
#include "verifiers/mathlib_num.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

/* ------------------------------------------------------------------ */
/* allocator                                                           */

struct rlvr_mctx_chunk {
  rlvr_mctx_chunk *next;
  size_t size; /* usable bytes after the header */
  /* 16-byte aligned data follows */
};

enum { CHUNK_HEADER = (sizeof(rlvr_mctx_chunk) + 15) & ~(size_t)15, FIRST_CHUNK = 1 << 16 };

static unsigned char *chunk_data(rlvr_mctx_chunk *c) { return (unsigned char *)c + CHUNK_HEADER; }

void rlvr_mctx_init(rlvr_mctx *m, size_t budget, uint32_t max_bits) {
  memset(m, 0, sizeof *m);
  m->budget = budget;
  m->max_limbs = (max_bits + 63) / 64;
  if (m->max_limbs < 2) m->max_limbs = 2;
}

void rlvr_mctx_reset(rlvr_mctx *m) {
  if (!m->first) return;
  rlvr_mctx_chunk *c = m->first->next;
  while (c) {
    rlvr_mctx_chunk *next = c->next;
    free(c);
    c = next;
  }
  m->first->next = NULL;
  m->cur = m->first;
  m->used = 0;
  m->total = m->first->size;
}

void rlvr_mctx_free(rlvr_mctx *m) {
  if (!m) return;
  rlvr_mctx_chunk *c = m->first;
  while (c) {
    rlvr_mctx_chunk *next = c->next;
    free(c);
    c = next;
  }
  m->first = m->cur = NULL;
  m->used = m->total = 0;
}

void *rlvr_mctx_alloc(rlvr_mctx *m, size_t bytes) {
  bytes = (bytes + 15) & ~(size_t)15;
  if (m->cur && m->used + bytes <= m->cur->size) {
    void *p = chunk_data(m->cur) + m->used;
    m->used += bytes;
    return p;
  }
  /* A new chunk: at least double the last one, and big enough for this request. */
  size_t size = m->cur ? m->cur->size * 2 : FIRST_CHUNK;
  if (size < bytes) size = bytes;
  if (m->total + size > m->budget) {
    size = bytes;
    if (m->total + size > m->budget) return NULL;
  }
  rlvr_mctx_chunk *c = malloc(CHUNK_HEADER + size);
  if (!c) return NULL;
  c->next = NULL;
  c->size = size;
  if (m->cur) m->cur->next = c;
  else m->first = c;
  m->cur = c;
  m->total += size;
  m->used = bytes;
  return chunk_data(c);
}

static int nomem(void) { return rlvr_error(RLVR_ERR_NOMEM, "math: memory budget exceeded"); }

static int too_big(uint64_t limbs, const rlvr_mctx *m) {
  return rlvr_error(RLVR_ERR_RANGE, "math: number too large (%llu bits > cap of %llu bits)",
                    (unsigned long long)limbs * 64, (unsigned long long)m->max_limbs * 64);
}

static uint64_t *limbs_alloc(rlvr_mctx *m, size_t n) {
  return rlvr_mctx_alloc(m, (n ? n : 1) * sizeof(uint64_t));
}

/* ------------------------------------------------------------------ */
/* magnitudes                                                          */

static uint32_t mag_norm(const uint64_t *a, uint32_t n) {
  while (n && a[n - 1] == 0) n--;
  return n;
}

static int mag_cmp(const uint64_t *a, uint32_t an, const uint64_t *b, uint32_t bn) {
  if (an != bn) return an < bn ? -1 : 1;
  for (uint32_t i = an; i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/* r[0..max(an,bn)] = a + b; r has room for max(an,bn)+1 limbs. Returns length. */
static uint32_t mag_add(uint64_t *r, const uint64_t *a, uint32_t an, const uint64_t *b, uint32_t bn) {
  if (an < bn) {
    const uint64_t *t = a;
    a = b, b = t;
    uint32_t tn = an;
    an = bn, bn = tn;
  }
  uint64_t carry = 0;
  uint32_t i = 0;
  for (; i < bn; i++) {
    u128 s = (u128)a[i] + b[i] + carry;
    r[i] = (uint64_t)s;
    carry = (uint64_t)(s >> 64);
  }
  for (; i < an; i++) {
    u128 s = (u128)a[i] + carry;
    r[i] = (uint64_t)s;
    carry = (uint64_t)(s >> 64);
  }
  r[an] = carry;
  return mag_norm(r, an + 1);
}

/* r = a - b with |a| >= |b|; r has room for an limbs. Returns length. */
static uint32_t mag_sub(uint64_t *r, const uint64_t *a, uint32_t an, const uint64_t *b, uint32_t bn) {
  uint64_t borrow = 0;
  uint32_t i = 0;
  for (; i < bn; i++) {
    uint64_t x = a[i], y = b[i];
    uint64_t d = x - y - borrow;
    borrow = (x < y) || (x == y && borrow);
    r[i] = d;
  }
  for (; i < an; i++) {
    uint64_t x = a[i];
    r[i] = x - borrow;
    borrow = x < borrow;
  }
  return mag_norm(r, an);
}

/* r[0..an+bn) = a * b; r must not overlap a or b. Returns length. */
static uint32_t mag_mul(uint64_t *r, const uint64_t *a, uint32_t an, const uint64_t *b, uint32_t bn) {
  memset(r, 0, (size_t)(an + bn) * sizeof(uint64_t));
  for (uint32_t i = 0; i < an; i++) {
    uint64_t carry = 0, ai = a[i];
    if (!ai) continue;
    for (uint32_t j = 0; j < bn; j++) {
      u128 t = (u128)ai * b[j] + r[i + j] + carry;
      r[i + j] = (uint64_t)t;
      carry = (uint64_t)(t >> 64);
    }
    r[i + bn] = carry;
  }
  return mag_norm(r, an + bn);
}

/* a[0..n] *= w in place, plus add; a has room for n+1 limbs. Returns length. */
static uint32_t mag_mul_small_add(uint64_t *a, uint32_t n, uint64_t w, uint64_t add) {
  uint64_t carry = add;
  for (uint32_t i = 0; i < n; i++) {
    u128 t = (u128)a[i] * w + carry;
    a[i] = (uint64_t)t;
    carry = (uint64_t)(t >> 64);
  }
  a[n] = carry;
  return mag_norm(a, n + 1);
}

/* q = a / w (q may equal a), returns the remainder. */
static uint64_t mag_div_small(uint64_t *q, const uint64_t *a, uint32_t n, uint64_t w) {
  u128 rem = 0;
  for (uint32_t i = n; i-- > 0;) {
    u128 cur = (rem << 64) | a[i];
    q[i] = (uint64_t)(cur / w);
    rem = cur % w;
  }
  return (uint64_t)rem;
}

/* Knuth D. u (un limbs) / v (vn >= 2 limbs, v[vn-1] != 0), un >= vn.
 * q (un-vn+1 limbs) may be NULL; r gets vn limbs (may be NULL).
 * scratch: un+1 + vn limbs. */
static void mag_divmod(uint64_t *q, uint64_t *r, const uint64_t *u, uint32_t un, const uint64_t *v,
                       uint32_t vn, uint64_t *scratch) {
  uint64_t *nu = scratch;          /* un+1 */
  uint64_t *nv = scratch + un + 1; /* vn */
  int s = __builtin_clzll(v[vn - 1]);
  if (s) {
    for (uint32_t i = vn - 1; i > 0; i--) nv[i] = (v[i] << s) | (v[i - 1] >> (64 - s));
    nv[0] = v[0] << s;
    nu[un] = u[un - 1] >> (64 - s);
    for (uint32_t i = un - 1; i > 0; i--) nu[i] = (u[i] << s) | (u[i - 1] >> (64 - s));
    nu[0] = u[0] << s;
  } else {
    memcpy(nv, v, vn * sizeof(uint64_t));
    memcpy(nu, u, un * sizeof(uint64_t));
    nu[un] = 0;
  }
  const uint64_t vtop = nv[vn - 1], vnext = nv[vn - 2];
  for (uint32_t j = un - vn + 1; j-- > 0;) {
    u128 num = ((u128)nu[j + vn] << 64) | nu[j + vn - 1];
    u128 qhat = num / vtop;
    u128 rhat = num - qhat * vtop;
    while ((qhat >> 64) || qhat * vnext > ((rhat << 64) | nu[j + vn - 2])) {
      qhat--;
      rhat += vtop;
      if (rhat >> 64) break;
    }
    /* nu[j..j+vn] -= qhat * nv */
    i128 k = 0, t;
    for (uint32_t i = 0; i < vn; i++) {
      u128 p = qhat * nv[i];
      t = (i128)nu[i + j] - k - (i128)(uint64_t)p;
      nu[i + j] = (uint64_t)t;
      k = (i128)(p >> 64) - (t >> 64);
    }
    t = (i128)nu[j + vn] - k;
    nu[j + vn] = (uint64_t)t;
    if (t < 0) { /* qhat was one too large: add v back */
      qhat--;
      uint64_t c = 0;
      for (uint32_t i = 0; i < vn; i++) {
        u128 sum = (u128)nu[i + j] + nv[i] + c;
        nu[i + j] = (uint64_t)sum;
        c = (uint64_t)(sum >> 64);
      }
      nu[j + vn] += c;
    }
    if (q) q[j] = (uint64_t)qhat;
  }
  if (r) {
    if (s) {
      for (uint32_t i = 0; i < vn - 1; i++) r[i] = (nu[i] >> s) | (nu[i + 1] << (64 - s));
      r[vn - 1] = nu[vn - 1] >> s;
    } else {
      memcpy(r, nu, vn * sizeof(uint64_t));
    }
  }
}

/* ------------------------------------------------------------------ */
/* big integers                                                        */

static int big_alloc(rlvr_mctx *m, rlvr_big *r, uint64_t n) {
  if (n > m->max_limbs + 1) return too_big(n, m);
  uint64_t *d = limbs_alloc(m, (size_t)n);
  if (!d) return nomem();
  r->d = d;
  r->n = 0;
  r->neg = 0;
  return RLVR_OK;
}

static int big_check_size(rlvr_mctx *m, const rlvr_big *r) {
  return r->n > m->max_limbs ? too_big(r->n, m) : RLVR_OK;
}

int rlvr_big_from_u64(rlvr_mctx *m, rlvr_big *r, uint64_t v) {
  rlvr_big t;
  int err = big_alloc(m, &t, 1);
  if (err) return err;
  t.d[0] = v;
  t.n = v ? 1 : 0;
  *r = t;
  return RLVR_OK;
}

int rlvr_big_from_i64(rlvr_mctx *m, rlvr_big *r, int64_t v) {
  uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int err = rlvr_big_from_u64(m, r, mag);
  if (!err) r->neg = v < 0;
  return err;
}

int rlvr_big_from_dec(rlvr_mctx *m, rlvr_big *r, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return rlvr_error(RLVR_ERR_FORMAT, "math: '%c' is not a decimal digit", s[i]);
  while (len > 1 && s[0] == '0') s++, len--;
  /* 64 bits hold 19.26 decimal digits: len/19 + 2 limbs always suffice. */
  uint64_t limbs = len / 19 + 2;
  if ((double)len * 3.3219280948873626 > (double)m->max_limbs * 64) return too_big(limbs, m);
  rlvr_big t;
  int err = big_alloc(m, &t, limbs);
  if (err) return err;
  size_t i = 0, first = len % 19 ? len % 19 : 19;
  while (i < len) {
    size_t take = i == 0 ? (first < len ? first : len) : 19;
    uint64_t chunk = 0, scale = 1;
    for (size_t k = 0; k < take; k++) chunk = chunk * 10 + (uint64_t)(s[i + k] - '0'), scale *= 10;
    t.n = mag_mul_small_add(t.d, t.n, scale, chunk);
    i += take;
  }
  t.neg = 0;
  if ((err = big_check_size(m, &t))) return err;
  *r = t;
  return RLVR_OK;
}

/* r = a + (negate_b ? -b : b) */
static int big_addsub(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b, int negate_b) {
  int bneg = b->n ? (b->neg ^ negate_b) : 0;
  uint32_t maxn = a->n > b->n ? a->n : b->n;
  rlvr_big t;
  int err = big_alloc(m, &t, (uint64_t)maxn + 1);
  if (err) return err;
  if (a->neg == bneg) {
    t.n = mag_add(t.d, a->d, a->n, b->d, b->n);
    t.neg = t.n ? a->neg : 0;
  } else {
    int c = mag_cmp(a->d, a->n, b->d, b->n);
    if (c >= 0) {
      t.n = mag_sub(t.d, a->d, a->n, b->d, b->n);
      t.neg = t.n ? a->neg : 0;
    } else {
      t.n = mag_sub(t.d, b->d, b->n, a->d, a->n);
      t.neg = t.n ? bneg : 0;
    }
  }
  if ((err = big_check_size(m, &t))) return err;
  *r = t;
  return RLVR_OK;
}

int rlvr_big_add(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b) {
  return big_addsub(m, r, a, b, 0);
}

int rlvr_big_sub(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b) {
  return big_addsub(m, r, a, b, 1);
}

int rlvr_big_mul(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b) {
  if (!a->n || !b->n) return rlvr_big_from_u64(m, r, 0);
  if ((uint64_t)a->n + b->n - 1 > m->max_limbs) return too_big((uint64_t)a->n + b->n - 1, m);
  rlvr_big t;
  int err = big_alloc(m, &t, (uint64_t)a->n + b->n);
  if (err) return err;
  t.n = mag_mul(t.d, a->d, a->n, b->d, b->n);
  t.neg = a->neg ^ b->neg;
  if ((err = big_check_size(m, &t))) return err;
  *r = t;
  return RLVR_OK;
}

int rlvr_big_divmod(rlvr_mctx *m, rlvr_big *q, rlvr_big *rem, const rlvr_big *a, const rlvr_big *b) {
  if (!b->n) return rlvr_error(RLVR_ERR_RANGE, "math: division by zero");
  rlvr_big tq = {0}, tr = {0};
  int err;
  if (mag_cmp(a->d, a->n, b->d, b->n) < 0) {
    if ((err = rlvr_big_from_u64(m, &tq, 0))) return err;
    tr = *a; /* values are immutable, so sharing limbs is safe */
  } else if (b->n == 1) {
    if ((err = big_alloc(m, &tq, a->n))) return err;
    uint64_t rm = mag_div_small(tq.d, a->d, a->n, b->d[0]);
    tq.n = mag_norm(tq.d, a->n);
    tq.neg = tq.n ? a->neg ^ b->neg : 0;
    if ((err = rlvr_big_from_u64(m, &tr, rm))) return err;
    tr.neg = tr.n ? a->neg : 0;
  } else {
    uint32_t qn = a->n - b->n + 1;
    if ((err = big_alloc(m, &tq, qn)) || (err = big_alloc(m, &tr, b->n))) return err;
    uint64_t *scratch = limbs_alloc(m, (size_t)a->n + 1 + b->n);
    if (!scratch) return nomem();
    mag_divmod(tq.d, tr.d, a->d, a->n, b->d, b->n, scratch);
    tq.n = mag_norm(tq.d, qn);
    tq.neg = tq.n ? a->neg ^ b->neg : 0;
    tr.n = mag_norm(tr.d, b->n);
    tr.neg = tr.n ? a->neg : 0;
  }
  if (q) *q = tq;
  if (rem) *rem = tr;
  return RLVR_OK;
}

/* gcd of two magnitudes by Euclid, in two scratch buffers reused for every step. */
int rlvr_big_gcd(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, const rlvr_big *b) {
  if (!a->n || !b->n) {
    rlvr_big t = a->n ? *a : *b;
    t.neg = 0;
    *r = t;
    return RLVR_OK;
  }
  if (a->n == 1 && b->n == 1) { /* the common case: binary gcd on one word */
    uint64_t x = a->d[0], y = b->d[0];
    int shift = __builtin_ctzll(x | y);
    x >>= __builtin_ctzll(x);
    while (y) {
      y >>= __builtin_ctzll(y);
      if (x > y) {
        uint64_t t = x;
        x = y, y = t;
      }
      y -= x;
    }
    return rlvr_big_from_u64(m, r, x << shift);
  }
  uint32_t n = a->n > b->n ? a->n : b->n;
  uint64_t *x = limbs_alloc(m, n), *y = limbs_alloc(m, n), *scratch = limbs_alloc(m, 2 * (size_t)n + 1);
  if (!x || !y || !scratch) return nomem();
  uint32_t xn = a->n, yn = b->n;
  memcpy(x, a->d, xn * sizeof(uint64_t));
  memcpy(y, b->d, yn * sizeof(uint64_t));
  if (mag_cmp(x, xn, y, yn) < 0) {
    uint64_t *t = x;
    x = y, y = t;
    uint32_t tn = xn;
    xn = yn, yn = tn;
  }
  while (yn) { /* x >= y > 0: x = x mod y, then swap */
    if (yn == 1) {
      uint64_t rm = mag_div_small(scratch, x, xn, y[0]);
      x[0] = rm;
      xn = rm ? 1 : 0;
    } else {
      mag_divmod(NULL, x, x, xn, y, yn, scratch);
      xn = mag_norm(x, yn);
    }
    uint64_t *t = x;
    x = y, y = t;
    uint32_t tn = xn;
    xn = yn, yn = tn;
  }
  r->d = x;
  r->n = xn;
  r->neg = 0;
  return RLVR_OK;
}

uint64_t rlvr_big_bits(const rlvr_big *a) {
  if (!a->n) return 0;
  return (uint64_t)a->n * 64 - (uint64_t)__builtin_clzll(a->d[a->n - 1]);
}

int rlvr_big_pow(rlvr_mctx *m, rlvr_big *r, const rlvr_big *a, uint64_t e) {
  if (e == 0) return rlvr_big_from_u64(m, r, 1);
  if (!a->n) return rlvr_big_from_u64(m, r, 0);
  uint64_t bits = rlvr_big_bits(a);
  if (bits == 1) { /* +-1 */
    int err = rlvr_big_from_u64(m, r, 1);
    if (!err) r->neg = a->neg && (e & 1);
    return err;
  }
  /* |a|^e has more than (bits-1)*e bits: refuse before doing the work. */
  if ((bits - 1) > ((uint64_t)m->max_limbs * 64) / e) {
    double limbs = ((double)(bits - 1) * (double)e) / 64 + 1;
    return too_big(limbs > UINT32_MAX ? UINT32_MAX : (uint64_t)limbs, m);
  }
  rlvr_big base = *a, acc;
  int err = rlvr_big_from_u64(m, &acc, 1);
  while (!err) {
    if (e & 1) err = rlvr_big_mul(m, &acc, &acc, &base);
    e >>= 1;
    if (!e || err) break;
    err = rlvr_big_mul(m, &base, &base, &base);
  }
  if (err) return err;
  *r = acc;
  return RLVR_OK;
}

int rlvr_big_factorial(rlvr_mctx *m, rlvr_big *r, uint64_t n) {
  /* log2(n!) = lgamma(n+1)/ln 2: refuse before computing when over the cap. */
  double log2f = n < 2 ? 0 : lgamma((double)n + 1.0) / 0.6931471805599453;
  if (log2f > (double)m->max_limbs * 64) return too_big((uint64_t)(log2f / 64) + 1, m);
  uint64_t cap = (uint64_t)(log2f / 64) + 3;
  rlvr_big t;
  int err = big_alloc(m, &t, cap);
  if (err) return err;
  t.d[0] = 1;
  t.n = 1;
  /* Multiply in-place by products of consecutive k that fit one word. */
  uint64_t k = 2;
  while (k <= n) {
    uint64_t w = 1;
    while (k <= n && w <= UINT64_MAX / k) w *= k++;
    RLVR_CHECK(t.n + 1 <= cap, "factorial size estimate too small");
    t.n = mag_mul_small_add(t.d, t.n, w, 0);
  }
  *r = t;
  return RLVR_OK;
}

int rlvr_big_cmp_abs(const rlvr_big *a, const rlvr_big *b) { return mag_cmp(a->d, a->n, b->d, b->n); }

int rlvr_big_cmp(const rlvr_big *a, const rlvr_big *b) {
  if (a->neg != b->neg) return a->neg ? -1 : 1;
  int c = mag_cmp(a->d, a->n, b->d, b->n);
  return a->neg ? -c : c;
}

int rlvr_big_to_i64(const rlvr_big *a, int64_t *v) {
  if (a->n == 0) return *v = 0, 1;
  if (a->n > 1) return 0;
  uint64_t x = a->d[0];
  if (!a->neg) {
    if (x > (uint64_t)INT64_MAX) return 0;
    *v = (int64_t)x;
  } else {
    if (x > (uint64_t)INT64_MAX + 1) return 0;
    *v = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
  }
  return 1;
}

void rlvr_big_frexp(const rlvr_big *a, double *mant, int64_t *exp2) {
  if (!a->n) {
    *mant = 0;
    *exp2 = 0;
    return;
  }
  uint64_t bits = rlvr_big_bits(a);
  /* top 64 significant bits, left-aligned */
  int s = __builtin_clzll(a->d[a->n - 1]);
  uint64_t top = a->d[a->n - 1] << s;
  if (s && a->n > 1) top |= a->d[a->n - 2] >> (64 - s);
  *mant = ldexp((double)top, -64); /* in [0.5, 1]; 1.0 only by rounding up */
  *exp2 = (int64_t)bits;
  if (*mant >= 1.0) *mant *= 0.5, (*exp2)++;
}

int rlvr_big_to_dec(rlvr_mctx *m, const rlvr_big *a, char **out, size_t *len) {
  /* 19 digits per 10^19 chunk; a->n limbs need at most 20 digits each. */
  size_t cap = (size_t)a->n * 20 + 2;
  char *buf = rlvr_mctx_alloc(m, cap + 1);
  uint64_t *work = limbs_alloc(m, a->n);
  if (!buf || !work) return nomem();
  memcpy(work, a->d, a->n * sizeof(uint64_t));
  uint32_t n = a->n;
  size_t pos = cap;
  buf[pos] = '\0';
  if (!n) buf[--pos] = '0';
  while (n) {
    uint64_t chunk = mag_div_small(work, work, n, 10000000000000000000ull);
    n = mag_norm(work, n);
    for (int k = 0; k < 19 && (n || chunk); k++) {
      buf[--pos] = (char)('0' + chunk % 10);
      chunk /= 10;
    }
  }
  if (a->neg) buf[--pos] = '-';
  *out = buf + pos;
  *len = cap - pos;
  return RLVR_OK;
}

int rlvr_big_root(rlvr_mctx *m, rlvr_big *r, int *exact, const rlvr_big *a, uint64_t k) {
  RLVR_CHECK(k >= 1);
  if (a->neg) return rlvr_error(RLVR_ERR_RANGE, "math: integer root of a negative number");
  if (k == 1 || a->n == 0) {
    *r = *a;
    *exact = 1;
    return RLVR_OK;
  }
  uint64_t bits = rlvr_big_bits(a);
  if (k >= bits) { /* root is 1 (a >= 1): a < 2^bits <= 2^k */
    int err = rlvr_big_from_u64(m, r, 1);
    if (!err) *exact = a->n == 1 && a->d[0] == 1;
    return err;
  }
  /* Newton from above: x0 = 2^ceil(bits/k) >= root; x' = ((k-1)x + a/x^(k-1))/k
   * decreases monotonically to floor(root). */
  rlvr_big x, one, kb, km1, t, q, xn;
  int err;
  uint64_t e0 = (bits + k - 1) / k;
  if ((err = big_alloc(m, &x, e0 / 64 + 1))) return err;
  memset(x.d, 0, (e0 / 64 + 1) * sizeof(uint64_t));
  x.d[e0 / 64] = (uint64_t)1 << (e0 % 64);
  x.n = (uint32_t)(e0 / 64 + 1);
  if ((err = rlvr_big_from_u64(m, &one, 1)) || (err = rlvr_big_from_u64(m, &kb, k)) ||
      (err = rlvr_big_from_u64(m, &km1, k - 1)))
    return err;
  for (;;) {
    if ((err = rlvr_big_pow(m, &t, &x, k - 1)) || (err = rlvr_big_divmod(m, &q, NULL, a, &t)) ||
        (err = rlvr_big_mul(m, &t, &x, &km1)) || (err = rlvr_big_add(m, &t, &t, &q)) ||
        (err = rlvr_big_divmod(m, &xn, NULL, &t, &kb)))
      return err;
    if (rlvr_big_cmp(&xn, &x) >= 0) break;
    x = xn;
  }
  if ((err = rlvr_big_pow(m, &t, &x, k))) return err;
  *exact = rlvr_big_cmp(&t, a) == 0;
  *r = x;
  return RLVR_OK;
}

/* ------------------------------------------------------------------ */
/* rationals                                                           */

int rlvr_rat_from_bigs(rlvr_mctx *m, rlvr_rat *r, const rlvr_big *num, const rlvr_big *den) {
  if (!den->n) return rlvr_error(RLVR_ERR_RANGE, "math: division by zero");
  rlvr_big g, n = *num, d = *den;
  int err;
  if (!n.n) {
    if ((err = rlvr_big_from_u64(m, &d, 1))) return err;
    r->num = n;
    r->den = d;
    return RLVR_OK;
  }
  if ((err = rlvr_big_gcd(m, &g, &n, &d))) return err;
  if (!(g.n == 1 && g.d[0] == 1)) {
    if ((err = rlvr_big_divmod(m, &n, NULL, &n, &g)) || (err = rlvr_big_divmod(m, &d, NULL, &d, &g)))
      return err;
  }
  if (d.neg) {
    d.neg = 0;
    n.neg = n.n ? !n.neg : 0;
  }
  r->num = n;
  r->den = d;
  return RLVR_OK;
}

int rlvr_rat_from_i64(rlvr_mctx *m, rlvr_rat *r, int64_t num, int64_t den) {
  rlvr_big n, d;
  int err;
  if ((err = rlvr_big_from_i64(m, &n, num)) || (err = rlvr_big_from_i64(m, &d, den))) return err;
  return rlvr_rat_from_bigs(m, r, &n, &d);
}

int rlvr_rat_from_dec(rlvr_mctx *m, rlvr_rat *r, const char *s, size_t len) {
  size_t i = 0;
  int neg = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  size_t int_start = i;
  while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  size_t int_len = i - int_start, frac_start = i, frac_len = 0;
  if (i < len && s[i] == '.') {
    frac_start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    frac_len = i - frac_start;
  }
  if (int_len + frac_len == 0) return rlvr_error(RLVR_ERR_FORMAT, "math: no digits in number");
  int64_t exp10 = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    size_t es = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (exp10 > 100000000) return too_big(UINT32_MAX, m); /* clamp: 10^1e8 is over any cap */
      exp10 = exp10 * 10 + (s[i] - '0');
      i++;
    }
    if (i == es) return rlvr_error(RLVR_ERR_FORMAT, "math: exponent without digits");
    if (eneg) exp10 = -exp10;
  }
  if (i != len) return rlvr_error(RLVR_ERR_FORMAT, "math: unexpected '%c' in number", s[i]);
  /* digits = int part followed by fraction part; value = digits * 10^(exp10 - frac_len) */
  char stackbuf[256];
  char *digits = int_len + frac_len <= sizeof stackbuf ? stackbuf : rlvr_mctx_alloc(m, int_len + frac_len);
  if (!digits) return nomem();
  memcpy(digits, s + int_start, int_len);
  memcpy(digits + int_len, s + frac_start, frac_len);
  rlvr_big num, p, ten;
  int err;
  if ((err = rlvr_big_from_dec(m, &num, digits, int_len + frac_len))) return err;
  num.neg = num.n ? neg : 0;
  int64_t scale = exp10 - (int64_t)frac_len;
  if (scale == 0 || !num.n) {
    rlvr_big one;
    if ((err = rlvr_big_from_u64(m, &one, 1))) return err;
    r->num = num;
    r->den = one;
    return RLVR_OK;
  }
  uint64_t ascale = scale < 0 ? (uint64_t)(-scale) : (uint64_t)scale;
  if ((err = rlvr_big_from_u64(m, &ten, 10)) || (err = rlvr_big_pow(m, &p, &ten, ascale))) return err;
  if (scale > 0) {
    rlvr_big one;
    if ((err = rlvr_big_mul(m, &num, &num, &p)) || (err = rlvr_big_from_u64(m, &one, 1))) return err;
    r->num = num;
    r->den = one;
    return RLVR_OK;
  }
  return rlvr_rat_from_bigs(m, r, &num, &p);
}

int rlvr_rat_from_str(rlvr_mctx *m, rlvr_rat *r, const char *s, size_t len) {
  const char *slash = memchr(s, '/', len);
  if (!slash) return rlvr_rat_from_dec(m, r, s, len);
  rlvr_rat a, b;
  int err;
  if ((err = rlvr_rat_from_dec(m, &a, s, (size_t)(slash - s))) ||
      (err = rlvr_rat_from_dec(m, &b, slash + 1, len - (size_t)(slash - s) - 1)))
    return err;
  return rlvr_rat_div(m, r, &a, &b);
}

static int rat_is_int(const rlvr_rat *a) { return a->den.n == 1 && a->den.d[0] == 1; }

static int rat_addsub(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b, int sub) {
  rlvr_big x, y, n, d;
  int err;
  if (rat_is_int(a) && rat_is_int(b)) { /* integers stay integers: no gcd */
    if ((err = big_addsub(m, &n, &a->num, &b->num, sub))) return err;
    r->num = n;
    r->den = a->den;
    return RLVR_OK;
  }
  if ((err = rlvr_big_mul(m, &x, &a->num, &b->den)) || (err = rlvr_big_mul(m, &y, &b->num, &a->den)) ||
      (err = big_addsub(m, &n, &x, &y, sub)) || (err = rlvr_big_mul(m, &d, &a->den, &b->den)))
    return err;
  return rlvr_rat_from_bigs(m, r, &n, &d);
}

int rlvr_rat_add(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b) {
  return rat_addsub(m, r, a, b, 0);
}

int rlvr_rat_sub(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b) {
  return rat_addsub(m, r, a, b, 1);
}

int rlvr_rat_mul(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b) {
  rlvr_big n, d;
  int err;
  if (rat_is_int(a) && rat_is_int(b)) {
    if ((err = rlvr_big_mul(m, &n, &a->num, &b->num))) return err;
    r->num = n;
    r->den = a->den;
    return RLVR_OK;
  }
  if ((err = rlvr_big_mul(m, &n, &a->num, &b->num)) || (err = rlvr_big_mul(m, &d, &a->den, &b->den)))
    return err;
  return rlvr_rat_from_bigs(m, r, &n, &d);
}

int rlvr_rat_div(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, const rlvr_rat *b) {
  if (!b->num.n) return rlvr_error(RLVR_ERR_RANGE, "math: division by zero");
  rlvr_big n, d;
  int err;
  if ((err = rlvr_big_mul(m, &n, &a->num, &b->den)) || (err = rlvr_big_mul(m, &d, &a->den, &b->num)))
    return err;
  return rlvr_rat_from_bigs(m, r, &n, &d);
}

void rlvr_rat_neg(rlvr_rat *r, const rlvr_rat *a) {
  *r = *a;
  r->num.neg = r->num.n ? !a->num.neg : 0;
}

int rlvr_rat_pow(rlvr_mctx *m, rlvr_rat *r, const rlvr_rat *a, int64_t e) {
  uint64_t ae = e < 0 ? (uint64_t)0 - (uint64_t)e : (uint64_t)e;
  if (e < 0 && !a->num.n) return rlvr_error(RLVR_ERR_RANGE, "math: zero to a negative power");
  rlvr_big n, d;
  int err;
  if ((err = rlvr_big_pow(m, &n, &a->num, ae)) || (err = rlvr_big_pow(m, &d, &a->den, ae))) return err;
  /* powers of coprime numbers stay coprime: no gcd needed */
  if (e < 0) {
    rlvr_big t = n;
    n = d, d = t;
    if (d.neg) d.neg = 0, n.neg = 1;
  }
  r->num = n;
  r->den = d;
  return RLVR_OK;
}

int rlvr_rat_root(rlvr_mctx *m, rlvr_rat *r, int *exact, const rlvr_rat *a, uint64_t k) {
  *exact = 0;
  if (k == 0) return rlvr_error(RLVR_ERR_RANGE, "math: zeroth root");
  int neg = a->num.neg;
  if (neg && k % 2 == 0) return RLVR_OK; /* not real: leave it to the float path */
  rlvr_big absn = a->num, rn, rd;
  absn.neg = 0;
  int en = 0, ed = 0, err;
  if ((err = rlvr_big_root(m, &rn, &en, &absn, k))) return err;
  if (!en) return RLVR_OK;
  if ((err = rlvr_big_root(m, &rd, &ed, &a->den, k))) return err;
  if (!ed) return RLVR_OK;
  rn.neg = rn.n ? neg : 0;
  r->num = rn;
  r->den = rd;
  *exact = 1;
  return RLVR_OK;
}

int rlvr_rat_cmp(const rlvr_rat *a, const rlvr_rat *b) {
  if (a->num.neg != b->num.neg) return a->num.neg ? -1 : 1;
  if (rat_is_int(a) && rat_is_int(b)) return rlvr_big_cmp(&a->num, &b->num);
  /* sign(a - b) = sign(an*bd - bn*ad): multiply into a small private context. */
  uint32_t n1 = a->num.n + b->den.n, n2 = b->num.n + a->den.n;
  if (n1 > n2 + 1) return a->num.neg ? -1 : 1; /* |a| has more limbs after cross-multiplying */
  if (n2 > n1 + 1) return a->num.neg ? 1 : -1;
  uint64_t stackbuf[128];
  uint64_t *x = n1 + n2 <= 128 ? stackbuf : malloc((size_t)(n1 + n2) * sizeof(uint64_t));
  RLVR_CHECK(x != NULL, "out of memory comparing rationals");
  uint64_t *y = x + n1;
  uint32_t xn = mag_mul(x, a->num.d, a->num.n, b->den.d, b->den.n);
  uint32_t yn = mag_mul(y, b->num.d, b->num.n, a->den.d, a->den.n);
  int c = mag_cmp(x, xn, y, yn);
  if (x != stackbuf) free(x);
  return a->num.neg ? -c : c;
}

int rlvr_rat_is_zero(const rlvr_rat *a) { return a->num.n == 0; }
int rlvr_rat_is_int(const rlvr_rat *a) { return rat_is_int(a); }
int rlvr_rat_sign(const rlvr_rat *a) { return a->num.n == 0 ? 0 : a->num.neg ? -1 : 1; }

void rlvr_rat_frexp(const rlvr_rat *a, double *mant, int64_t *exp2) {
  double mn, md;
  int64_t en, ed;
  rlvr_big_frexp(&a->num, &mn, &en);
  rlvr_big_frexp(&a->den, &md, &ed);
  if (mn == 0) {
    *mant = 0;
    *exp2 = 0;
    return;
  }
  int e;
  double q = frexp(mn / md, &e); /* mn/md in (0.5, 2) */
  *mant = q;
  *exp2 = en - ed + e;
}

double rlvr_rat_to_double(const rlvr_rat *a) {
  if (a->num.n <= 15 && a->den.n <= 15) { /* both below 2^960: one rounding each */
    double mn, md;
    int64_t en, ed;
    rlvr_big_frexp(&a->num, &mn, &en);
    rlvr_big_frexp(&a->den, &md, &ed);
    double v = ldexp(mn, (int)en) / ldexp(md, (int)ed);
    return a->num.neg ? -v : v;
  }
  double mant;
  int64_t e;
  rlvr_rat_frexp(a, &mant, &e);
  if (e > 2000) e = 2000;
  if (e < -2000) e = -2000;
  double v = ldexp(mant, (int)e);
  return a->num.neg ? -v : v;
}

int rlvr_rat_to_str(rlvr_mctx *m, const rlvr_rat *a, char **out, size_t *len) {
  char *ns, *ds;
  size_t nl, dl;
  int err;
  if ((err = rlvr_big_to_dec(m, &a->num, &ns, &nl))) return err;
  if (rat_is_int(a)) {
    *out = ns;
    *len = nl;
    return RLVR_OK;
  }
  if ((err = rlvr_big_to_dec(m, &a->den, &ds, &dl))) return err;
  char *buf = rlvr_mctx_alloc(m, nl + dl + 2);
  if (!buf) return nomem();
  memcpy(buf, ns, nl);
  buf[nl] = '/';
  memcpy(buf + nl + 1, ds, dl);
  buf[nl + dl + 1] = '\0';
  *out = buf;
  *len = nl + dl + 1;
  return RLVR_OK;
}
