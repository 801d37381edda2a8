/* value.c — msgpack value to JSON text; see value.h. A bounded recursive
 * reader walks the bytes and writes the text as it goes: nothing is
 * allocated from the counts the input claims, only output text. */
#include "rollout/value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

enum { MAX_DEPTH = 32 };

typedef struct {
  char *data;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void put_str(sbuf *b, const char *s, size_t n) {
  put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char tmp[8];
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20) {
      snprintf(tmp, sizeof tmp, "\\u%04x", c);
      esc = tmp;
    }
    if (esc) {
      put(b, s + run, i - run);
      put(b, esc, strlen(esc));
      run = i + 1;
    }
  }
  put(b, s + run, n - run);
  put(b, "\"", 1);
}

/* The shortest of %.15g..%.17g that reads back as x. */
static void put_double(sbuf *b, double x) {
  char tmp[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(tmp, sizeof tmp, "%.*g", digits, x);
    if (strtod(tmp, NULL) == x) break;
  }
  /* A float stays a float for readers that tell them apart (a Lua float 3.0
   * is not the integer 3 to math.type): "3" would read back as an integer. */
  if (!strpbrk(tmp, ".eE")) strcat(tmp, ".0");
  put(b, tmp, strlen(tmp));
}

/* A bounded reader over the input. */
typedef struct {
  const uint8_t *p, *end;
  const char *what;
} rd;

static int need(rd *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static int truncated(rd *r) { return rlvr_error(RLVR_ERR_FORMAT, "%s: truncated msgpack value", r->what); }

/* Reads one value at r->p and writes its JSON. Every count is checked
 * against the bytes that remain (each element takes at least one), so a
 * short input cannot claim a huge container. */
static int emit(sbuf *b, rd *r, int depth) {
  char tmp[32];
  if (depth > MAX_DEPTH) return rlvr_error(RLVR_ERR_FORMAT, "%s: nested deeper than %d", r->what, MAX_DEPTH);
  if (!need(r, 1)) return truncated(r);
  const uint8_t t = *r->p++;
  uint64_t n = 0;
  int is_map = 0, is_str = 0; /* else an array */
  if (t <= 0x7f) {
    snprintf(tmp, sizeof tmp, "%u", (unsigned)t);
    put(b, tmp, strlen(tmp));
    return RLVR_OK;
  } else if (t >= 0xe0) {
    snprintf(tmp, sizeof tmp, "%d", (int)(int8_t)t);
    put(b, tmp, strlen(tmp));
    return RLVR_OK;
  } else if (t >= 0x80 && t <= 0x8f) {
    is_map = 1, n = t & 0x0f;
  } else if (t >= 0x90 && t <= 0x9f) {
    n = t & 0x0f;
  } else if (t >= 0xa0 && t <= 0xbf) {
    is_str = 1, n = t & 0x1f;
  } else {
    switch (t) {
    case 0xc0: put(b, "null", 4); return RLVR_OK;
    case 0xc2: put(b, "false", 5); return RLVR_OK;
    case 0xc3: put(b, "true", 4); return RLVR_OK;
    case 0xca:
    case 0xcb: {
      const int w = t == 0xca ? 4 : 8;
      if (!need(r, (size_t)w)) return truncated(r);
      double x;
      if (w == 4) {
        uint32_t u = (uint32_t)be(r->p, 4);
        float f;
        memcpy(&f, &u, 4);
        x = f;
      } else {
        uint64_t u = be(r->p, 8);
        memcpy(&x, &u, 8);
      }
      r->p += w;
      if (!isfinite(x)) return rlvr_error(RLVR_ERR_FORMAT, "%s: a non-finite number has no JSON form", r->what);
      put_double(b, x);
      return RLVR_OK;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
      const int w = 1 << (t - 0xcc);
      if (!need(r, (size_t)w)) return truncated(r);
      snprintf(tmp, sizeof tmp, "%" PRIu64, be(r->p, w));
      r->p += w;
      put(b, tmp, strlen(tmp));
      return RLVR_OK;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const int w = 1 << (t - 0xd0);
      if (!need(r, (size_t)w)) return truncated(r);
      uint64_t u = be(r->p, w);
      r->p += w;
      int64_t v = w == 1 ? (int8_t)u : w == 2 ? (int16_t)u : w == 4 ? (int32_t)u : (int64_t)u;
      snprintf(tmp, sizeof tmp, "%" PRId64, v);
      put(b, tmp, strlen(tmp));
      return RLVR_OK;
    }
    case 0xd9: case 0xda: case 0xdb:
    case 0xdc: case 0xdd:
    case 0xde: case 0xdf: {
      const int w = t == 0xd9 ? 1 : (t == 0xda || t == 0xdc || t == 0xde) ? 2 : 4;
      if (!need(r, (size_t)w)) return truncated(r);
      n = be(r->p, w);
      r->p += w;
      is_str = t <= 0xdb, is_map = t >= 0xde;
      break;
    }
    case 0xc1: return rlvr_error(RLVR_ERR_FORMAT, "%s: the reserved byte 0xc1", r->what);
    default: return rlvr_error(RLVR_ERR_FORMAT, "%s: bin or ext data has no JSON form", r->what);
    }
  }
  const size_t left = (size_t)(r->end - r->p);
  if (is_str) {
    if (n > left) return truncated(r);
    put_str(b, (const char *)r->p, (size_t)n);
    r->p += n;
    return RLVR_OK;
  }
  if (n > left / (is_map ? 2 : 1)) return truncated(r);
  put(b, is_map ? "{" : "[", 1);
  for (uint64_t i = 0; i < n; i++) {
    if (i) put(b, ",", 1);
    if (is_map) {
      if (!need(r, 1)) return truncated(r);
      const uint8_t k = *r->p;
      if (!((k >= 0xa0 && k <= 0xbf) || k == 0xd9 || k == 0xda || k == 0xdb))
        return rlvr_error(RLVR_ERR_FORMAT, "%s: a map key that is not a string", r->what);
      int rc = emit(b, r, depth + 1);
      if (rc) return rc;
      put(b, ":", 1);
    }
    int rc = emit(b, r, depth + 1);
    if (rc) return rc;
  }
  put(b, is_map ? "}" : "]", 1);
  return RLVR_OK;
}

int rlvr_msgpack_to_json(const uint8_t *mp, size_t len, const char *what, char **out, size_t *out_len) {
  rd r = {mp, mp + len, what};
  sbuf b = {0};
  int rc = emit(&b, &r, 0);
  if (!rc && r.p != r.end) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %zu trailing bytes after the value", what, (size_t)(r.end - r.p));
  if (!rc && !b.data) put(&b, "", 0);
  if (rc) {
    free(b.data);
    return rc;
  }
  *out = b.data;
  *out_len = b.len;
  return RLVR_OK;
}
