/* value.c — msgpack value to JSON text; see value.h. msgpack-c unpacks into
 * a tree (it owns the zone), a recursive writer emits the text. */
#include "rollout/value.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
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

static int emit(sbuf *b, const msgpack_object *o, int depth, const char *what) {
  char tmp[32];
  if (depth > MAX_DEPTH) return rlvr_error(RLVR_ERR_FORMAT, "%s: nested deeper than %d", what, MAX_DEPTH);
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: put(b, "null", 4); return RLVR_OK;
  case MSGPACK_OBJECT_BOOLEAN: o->via.boolean ? put(b, "true", 4) : put(b, "false", 5); return RLVR_OK;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(tmp, sizeof tmp, "%" PRIu64, o->via.u64);
    put(b, tmp, strlen(tmp));
    return RLVR_OK;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(tmp, sizeof tmp, "%" PRId64, o->via.i64);
    put(b, tmp, strlen(tmp));
    return RLVR_OK;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    if (!isfinite(o->via.f64)) return rlvr_error(RLVR_ERR_FORMAT, "%s: a non-finite number has no JSON form", what);
    put_double(b, o->via.f64);
    return RLVR_OK;
  case MSGPACK_OBJECT_STR: put_str(b, o->via.str.ptr, o->via.str.size); return RLVR_OK;
  case MSGPACK_OBJECT_ARRAY:
    put(b, "[", 1);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
      if (i) put(b, ",", 1);
      int rc = emit(b, &o->via.array.ptr[i], depth + 1, what);
      if (rc) return rc;
    }
    put(b, "]", 1);
    return RLVR_OK;
  case MSGPACK_OBJECT_MAP:
    put(b, "{", 1);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      const msgpack_object_kv *kv = &o->via.map.ptr[i];
      if (kv->key.type != MSGPACK_OBJECT_STR) return rlvr_error(RLVR_ERR_FORMAT, "%s: a map key that is not a string", what);
      if (i) put(b, ",", 1);
      put_str(b, kv->key.via.str.ptr, kv->key.via.str.size);
      put(b, ":", 1);
      int rc = emit(b, &kv->val, depth + 1, what);
      if (rc) return rc;
    }
    put(b, "}", 1);
    return RLVR_OK;
  default: return rlvr_error(RLVR_ERR_FORMAT, "%s: bin or ext data has no JSON form", what);
  }
}

int rlvr_msgpack_to_json(const uint8_t *mp, size_t len, const char *what, char **out, size_t *out_len) {
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  int rc;
  msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)mp, len, &off);
  if (r != MSGPACK_UNPACK_SUCCESS) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not a msgpack value", what);
  } else if (off != len) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %zu trailing bytes after the value", what, len - off);
  } else {
    sbuf b = {0};
    rc = emit(&b, &u.data, 0, what);
    if (rc) {
      free(b.data);
    } else {
      *out = b.data;
      *out_len = b.len;
    }
  }
  msgpack_unpacked_destroy(&u);
  return rc;
}
