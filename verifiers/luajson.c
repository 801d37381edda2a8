/* luajson.c — see luajson.h. */
#include "verifiers/luajson.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"

/* ---- buffer ---- */

static void jbuf_reserve(rlvr_jbuf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void rlvr_jbuf_put(rlvr_jbuf *b, const char *s, size_t n) {
  jbuf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void rlvr_jbuf_puts(rlvr_jbuf *b, const char *s) { rlvr_jbuf_put(b, s, strlen(s)); }

static void jbuf_putc(rlvr_jbuf *b, char c) {
  jbuf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = 0;
}

void rlvr_jbuf_free(rlvr_jbuf *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- scalars ---- */

/* Length of the well-formed UTF-8 sequence at s (n bytes available), or 0.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned min, cp;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void rlvr_json_put_string(rlvr_jbuf *b, const char *s, size_t n, size_t max_bytes) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t end = max_bytes && n > max_bytes ? max_bytes : n;
  jbuf_reserve(b, end + 2);
  jbuf_putc(b, '"');
  size_t i = 0;
  while (i < end) {
    /* Copy a run of plain ASCII at once. */
    size_t j = i;
    while (j < end && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\') j++;
    if (j > i) rlvr_jbuf_put(b, s + i, j - i);
    i = j;
    if (i >= end) break;
    unsigned c = u[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      rlvr_jbuf_put(b, esc, 2);
      i++;
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      if (c == '\n') rlvr_jbuf_put(b, "\\n", 2);
      else if (c == '\t') rlvr_jbuf_put(b, "\\t", 2);
      else if (c == '\r') rlvr_jbuf_put(b, "\\r", 2);
      else rlvr_jbuf_put(b, esc, 6);
      i++;
    } else {
      size_t len = utf8_sequence(u + i, end - i);
      if (len) {
        rlvr_jbuf_put(b, s + i, len);
        i += len;
      } else {
        rlvr_jbuf_put(b, "\xEF\xBF\xBD", 3); /* U+FFFD for one bad byte */
        i++;
      }
    }
  }
  if (end < n) {
    char cut[48];
    snprintf(cut, sizeof cut, "...[cut %zu bytes]", n - end);
    rlvr_jbuf_puts(b, cut);
  }
  jbuf_putc(b, '"');
}

static int format_double(char *buf, size_t cap, double x) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  return (int)strlen(buf);
}

void rlvr_json_put_number(rlvr_jbuf *b, double x) {
  if (!isfinite(x)) {
    rlvr_jbuf_put(b, "null", 4);
    return;
  }
  char buf[40];
  int n = format_double(buf, sizeof buf, x);
  rlvr_jbuf_put(b, buf, (size_t)n);
}

/* ---- Lua -> JSON ---- */

typedef struct {
  const char *s; /* the key's text: a string key's bytes, or num below */
  size_t len;
  int type;      /* LUA_TSTRING or LUA_TNUMBER */
  int is_int;
  lua_Integer i;
  lua_Number f;
  char num[40];
} key_entry;

/* Number keys' text lives in the entry itself, which qsort moves. */
static const char *key_text(const key_entry *e) { return e->type == LUA_TNUMBER ? e->num : e->s; }

static int key_cmp(const void *pa, const void *pb) {
  const key_entry *a = pa, *b = pb;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(key_text(a), key_text(b), n);
  if (c) return c;
  return (a->len > b->len) - (a->len < b->len);
}

static void encode_value(lua_State *L, int idx, rlvr_jbuf *b, size_t limit, int depth);

static void encode_table(lua_State *L, int t, rlvr_jbuf *b, size_t limit, int depth) {
  luaL_checkstack(L, 4, "details table nested too deeply");
  lua_Unsigned n = lua_rawlen(L, t);
  size_t count = 0;
  int is_array = n > 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int kt = lua_type(L, -2);
    if (kt == LUA_TSTRING || kt == LUA_TNUMBER) count++;
    if (is_array) {
      int ok = 0;
      if (lua_isinteger(L, -2)) {
        lua_Integer k = lua_tointeger(L, -2);
        ok = k >= 1 && (lua_Unsigned)k <= n;
      }
      if (!ok) is_array = 0;
    }
    lua_pop(L, 1);
  }
  if (is_array && count == n) {
    jbuf_putc(b, '[');
    for (lua_Unsigned i = 1; i <= n && b->len <= limit; i++) {
      if (i > 1) jbuf_putc(b, ',');
      lua_rawgeti(L, t, (lua_Integer)i);
      encode_value(L, lua_gettop(L), b, limit, depth + 1);
      lua_pop(L, 1);
    }
    jbuf_putc(b, ']');
    return;
  }
  if (count == 0) {
    rlvr_jbuf_put(b, "{}", 2);
    return;
  }
  /* Collect the keys in a userdata (collected by Lua if anything below
   * raises), sort them, then look each value up again. The key strings stay
   * valid: the table holds them and nothing changes it meanwhile. */
  key_entry *keys = lua_newuserdatauv(L, count * sizeof *keys, 0);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int kt = lua_type(L, -2);
    if ((kt == LUA_TSTRING || kt == LUA_TNUMBER) && k < count) {
      key_entry *e = &keys[k++];
      e->type = kt;
      if (kt == LUA_TSTRING) {
        e->s = lua_tolstring(L, -2, &e->len);
      } else {
        e->is_int = lua_isinteger(L, -2);
        if (e->is_int) {
          e->i = lua_tointeger(L, -2);
          snprintf(e->num, sizeof e->num, "%lld", (long long)e->i);
        } else {
          e->f = lua_tonumber(L, -2);
          format_double(e->num, sizeof e->num, (double)e->f);
        }
        e->s = NULL;
        e->len = strlen(e->num);
      }
    }
    lua_pop(L, 1);
  }
  qsort(keys, k, sizeof *keys, key_cmp);
  jbuf_putc(b, '{');
  for (size_t j = 0; j < k && b->len <= limit; j++) {
    key_entry *e = &keys[j];
    if (j) jbuf_putc(b, ',');
    rlvr_json_put_string(b, key_text(e), e->len, RLVR_JSON_STRING_MAX);
    jbuf_putc(b, ':');
    if (e->type == LUA_TSTRING) lua_pushlstring(L, e->s, e->len);
    else if (e->is_int) lua_pushinteger(L, e->i);
    else lua_pushnumber(L, e->f);
    lua_rawget(L, t);
    encode_value(L, lua_gettop(L), b, limit, depth + 1);
    lua_pop(L, 1);
  }
  jbuf_putc(b, '}');
  lua_pop(L, 1); /* the keys */
}

static void encode_value(lua_State *L, int idx, rlvr_jbuf *b, size_t limit, int depth) {
  if (b->len > limit) return;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: rlvr_jbuf_put(b, "null", 4); break;
  case LUA_TBOOLEAN: rlvr_jbuf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      char buf[32];
      int n = snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
      rlvr_jbuf_put(b, buf, (size_t)n);
    } else {
      rlvr_json_put_number(b, (double)lua_tonumber(L, idx));
    }
    break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    rlvr_json_put_string(b, s, n, RLVR_JSON_STRING_MAX);
    break;
  }
  case LUA_TTABLE:
    if (depth >= RLVR_JSON_DEPTH_MAX) rlvr_jbuf_put(b, "\"...\"", 5);
    else encode_table(L, idx, b, limit, depth);
    break;
  default: {
    const char *name = lua_typename(L, lua_type(L, idx));
    rlvr_json_put_string(b, name, strlen(name), 0);
    break;
  }
  }
}

void rlvr_luajson_encode(lua_State *L, int idx, rlvr_jbuf *b, size_t limit) {
  encode_value(L, lua_absindex(L, idx), b, limit, 0);
}

/* ---- JSON -> Lua ---- */

void rlvr_luajson_push(lua_State *L, const cJSON *node) {
  luaL_checkstack(L, 3, "JSON value nested too deeply");
  if (!node) {
    lua_pushnil(L);
    return;
  }
  switch (node->type & 0xFF) {
  case cJSON_False: lua_pushboolean(L, 0); break;
  case cJSON_True: lua_pushboolean(L, 1); break;
  case cJSON_Number: {
    double d = node->valuedouble;
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
    break;
  }
  case cJSON_String: lua_pushstring(L, node->valuestring ? node->valuestring : ""); break;
  case cJSON_Array: {
    int n = cJSON_GetArraySize(node);
    lua_createtable(L, n, 0);
    lua_Integer i = 1;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
      rlvr_luajson_push(L, c);
      if (lua_isnil(L, -1)) lua_pop(L, 1);
      else lua_rawseti(L, -2, i);
    }
    break;
  }
  case cJSON_Object: {
    int n = cJSON_GetArraySize(node);
    lua_createtable(L, 0, n);
    for (const cJSON *c = node->child; c; c = c->next) {
      if (!c->string) continue;
      lua_pushstring(L, c->string);
      rlvr_luajson_push(L, c);
      if (lua_isnil(L, -1)) lua_pop(L, 2);
      else lua_rawset(L, -3);
    }
    break;
  }
  default: lua_pushnil(L); break; /* cJSON_NULL, cJSON_Raw, cJSON_Invalid */
  }
}
