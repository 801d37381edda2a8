/* mathlib_lua.c — the math helpers as fields of the sandbox's `rlvr` table
 * (lua_modules.h: X(mathlib)). All arguments are checked at the border; the
 * exact arithmetic runs in a per-thread context with its own budget (outside
 * the Lua allocator's, but bounded by the size caps of mathlib_num.h) that is
 * reset at the start and end of every call, so nothing survives a call, not
 * even one that a Lua error cut short.
 *
 *   rlvr.math_verify(completion, gold [, opts]) -> score, status, details
 *       status "ok" or "wrong-format"; details: extracted, extraction, gold,
 *       method, answer_norm, gold_norm (strings cut to 512 bytes, invalid
 *       UTF-8 replaced by '?'), units/degree/percent flags.
 *   rlvr.math_extract(text [, opts]) -> answer or nil, extraction name
 *   rlvr.math_equal(gold, answer [, opts]) -> bool, method, gold_norm, answer_norm
 *   rlvr.math_parse(s) -> canonical form or nil, error
 *   rlvr.math_value(s) -> number (double), "p/q" or nil when not exact; nil, error
 *   rlvr.arith_eval(expr) -> "p/q", {integers used}, unary_minus; or nil, error
 *   rlvr.rat(a, op, b) -> "p/q" for op in + - * / ^ (b an integer for ^);
 *                         -1/0/1 for op "cmp"; a, b: "p/q", decimals or numbers
 * and the reference handling that math.lua and consensus.lua share:
 *   rlvr.math_gold_text(v) -> v as a gold answer's text: a string as it is,
 *       an integer in decimal, a finite float as the shortest decimal that
 *       reads back as it (JSON 0.1 is the answer 0.1); nil for anything else
 *   rlvr.math_options(reference, meta) -> the opts keys below found in the
 *       reference table, then in meta (which wins); either may be nil
 *   rlvr.math_verify_golds(completion, golds, opts) -> score, details:
 *       rlvr.math_verify against each gold of the list in turn, the best
 *       kept (the first of equals), stopping at a score of 1 or a status
 *       other than "ok"; details.status is that best one's status. A blank
 *       gold reached raises "math: the gold answer is empty".
 * opts (all optional): answer_tags = {"<answer>", "</answer>"} (false: off),
 * boxed, gsm8k, answer_is, last_number (booleans), rel_tol, min_sig_digits. */
#include <lauxlib.h>
#include <lua.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "verifiers/lua_modules.h"
#include "verifiers/mathlib_arith.h"
#include "verifiers/mathlib_equiv.h"
#include "verifiers/mathlib_expr.h"

enum { DETAIL_MAX = 512, CTX_BUDGET = 64 << 20, CTX_MAX_BITS = 1 << 17 };

static _Thread_local rlvr_mctx ctx;
static _Thread_local int ctx_ready;

static rlvr_mctx *ctx_get(void) {
  if (!ctx_ready) {
    rlvr_mctx_init(&ctx, CTX_BUDGET, CTX_MAX_BITS);
    ctx_ready = 1;
  }
  rlvr_mctx_reset(&ctx);
  return &ctx;
}

/* Pushes s[0..n) cut to DETAIL_MAX bytes with invalid UTF-8 bytes replaced by '?'. */
static void push_detail(lua_State *L, const char *s, size_t n) {
  char buf[DETAIL_MAX + 8];
  size_t k = 0, i = 0;
  while (i < n && k < DETAIL_MAX) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    int ok = len > 0 && i + len <= n && k + len <= DETAIL_MAX;
    for (size_t j = 1; ok && j < len; j++) ok = ((unsigned char)s[i + j] >> 6) == 2;
    if (ok && len > 1 && c < 0xC2) ok = 0; /* overlong */
    if (ok && c < 0x20 && c != '\n' && c != '\t') c = ' ', ok = 1;
    if (!ok) {
      buf[k++] = '?';
      i++;
      continue;
    }
    if (len == 1) buf[k++] = (char)c;
    else memcpy(buf + k, s + i, len), k += len;
    i += len;
  }
  lua_pushlstring(L, buf, k);
}

static void set_str(lua_State *L, const char *key, const char *s, size_t n) {
  push_detail(L, s, n);
  lua_setfield(L, -2, key);
}

static int opt_bool(lua_State *L, int t, const char *key, int def) {
  if (lua_type(L, t) != LUA_TTABLE) return def;
  lua_getfield(L, t, key);
  int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static double opt_num(lua_State *L, int t, const char *key, double def) {
  if (lua_type(L, t) != LUA_TTABLE) return def;
  lua_getfield(L, t, key);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* Reads opts at index t. Tag strings are copied into tags (so they outlive the stack). */
static void read_opts(lua_State *L, int t, rlvr_mx_extract_opts *eo, rlvr_mq_opts *o, char tags[2][64]) {
  rlvr_mx_extract_opts_default(eo);
  rlvr_mq_opts_default(o);
  if (lua_type(L, t) != LUA_TTABLE) return;
  lua_getfield(L, t, "answer_tags");
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    eo->tag_open = eo->tag_close = NULL;
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    for (int i = 0; i < 2; i++) {
      lua_rawgeti(L, -1, i + 1);
      size_t n = 0;
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
      if (!s || n == 0 || n >= 64) luaL_error(L, "math: answer_tags must be two non-empty strings under 64 bytes");
      memcpy(tags[i], s, n + 1);
      lua_pop(L, 1);
    }
    eo->tag_open = tags[0];
    eo->tag_close = tags[1];
  }
  lua_pop(L, 1);
  eo->boxed = opt_bool(L, t, "boxed", eo->boxed);
  eo->gsm8k = opt_bool(L, t, "gsm8k", eo->gsm8k);
  eo->answer_is = opt_bool(L, t, "answer_is", eo->answer_is);
  eo->last_number = opt_bool(L, t, "last_number", eo->last_number);
  double tol = opt_num(L, t, "rel_tol", o->rel_tol);
  if (!(tol >= 0 && tol <= 0.5)) luaL_error(L, "math: rel_tol must be in [0, 0.5]");
  o->rel_tol = tol;
  double sig = opt_num(L, t, "min_sig_digits", o->min_sig_digits);
  if (!(sig >= 0 && sig <= 100)) luaL_error(L, "math: min_sig_digits must be in [0, 100]");
  o->min_sig_digits = (int)sig;
}

static int l_math_verify(lua_State *L) {
  size_t clen, glen;
  const char *completion = luaL_checklstring(L, 1, &clen);
  const char *gold = luaL_checklstring(L, 2, &glen);
  rlvr_mx_extract_opts eo;
  rlvr_mq_opts o;
  char tags[2][64];
  read_opts(L, 3, &eo, &o, tags);
  rlvr_mctx *m = ctx_get();
  rlvr_mq_verdict v;
  rlvr_mq_verify(m, completion, clen, gold, glen, &eo, &o, &v);
  lua_pushnumber(L, v.score);
  lua_pushstring(L, v.wrong_format ? "wrong-format" : "ok");
  lua_createtable(L, 0, 10);
  set_str(L, "extraction", rlvr_mx_extraction_name(v.extraction), strlen(rlvr_mx_extraction_name(v.extraction)));
  if (v.extraction != RLVR_MXE_NONE) set_str(L, "extracted", completion + v.answer_start, v.answer_len);
  set_str(L, "gold", gold + v.gold_start, v.gold_len);
  if (v.cmp.method) set_str(L, "method", v.cmp.method, strlen(v.cmp.method));
  if (v.cmp.gold_norm) set_str(L, "gold_norm", v.cmp.gold_norm, strlen(v.cmp.gold_norm));
  if (v.cmp.answer_norm) set_str(L, "answer_norm", v.cmp.answer_norm, strlen(v.cmp.answer_norm));
  if (!v.wrong_format && v.cmp.method && !v.cmp.answer_parsed) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "unparsed");
  }
  if (v.cmp.answer_notes & RLVR_MXP_UNITS) lua_pushboolean(L, 1), lua_setfield(L, -2, "units_dropped");
  if (v.cmp.answer_notes & RLVR_MXP_DEGREE) lua_pushboolean(L, 1), lua_setfield(L, -2, "degree");
  if (v.cmp.answer_notes & RLVR_MXP_PERCENT) lua_pushboolean(L, 1), lua_setfield(L, -2, "percent");
  rlvr_mctx_reset(m);
  return 3;
}

static int l_math_extract(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  rlvr_mx_extract_opts eo;
  rlvr_mq_opts o;
  char tags[2][64];
  read_opts(L, 2, &eo, &o, tags);
  size_t start, alen;
  rlvr_mx_extraction e = rlvr_mx_extract(s, len, &eo, &start, &alen);
  if (e == RLVR_MXE_NONE) lua_pushnil(L);
  else lua_pushlstring(L, s + start, alen);
  lua_pushstring(L, rlvr_mx_extraction_name(e));
  return 2;
}

static int l_math_equal(lua_State *L) {
  size_t glen, alen;
  const char *gold = luaL_checklstring(L, 1, &glen);
  const char *ans = luaL_checklstring(L, 2, &alen);
  rlvr_mx_extract_opts eo;
  rlvr_mq_opts o;
  char tags[2][64];
  read_opts(L, 3, &eo, &o, tags);
  rlvr_mctx *m = ctx_get();
  rlvr_mq_result r;
  rlvr_mq_equal(m, gold, glen, ans, alen, &o, &r);
  lua_pushboolean(L, r.equal);
  lua_pushstring(L, r.method ? r.method : "");
  if (r.gold_norm) push_detail(L, r.gold_norm, strlen(r.gold_norm));
  else lua_pushnil(L);
  if (r.answer_norm) push_detail(L, r.answer_norm, strlen(r.answer_norm));
  else lua_pushnil(L);
  rlvr_mctx_reset(m);
  return 4;
}

static int l_math_parse(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  rlvr_mctx *m = ctx_get();
  rlvr_mx_expr e;
  char *out;
  size_t olen;
  int err = rlvr_mx_parse(m, s, len, &e);
  if (!err) err = rlvr_mx_print(m, e.root, &out, &olen);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, rlvr_error_message());
  } else {
    lua_pushlstring(L, out, olen);
    lua_pushnil(L);
  }
  rlvr_mctx_reset(m);
  return 2;
}

static int l_math_value(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  rlvr_mctx *m = ctx_get();
  rlvr_mx_expr e;
  int err = rlvr_mx_parse(m, s, len, &e);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, rlvr_error_message());
    rlvr_mctx_reset(m);
    return 2;
  }
  rlvr_rat r;
  if (rlvr_mx_eval_exact(m, e.root, &r) == RLVR_MX_EXACT) {
    char *txt;
    size_t tl;
    lua_pushnumber(L, rlvr_rat_to_double(&r));
    if (!rlvr_rat_to_str(m, &r, &txt, &tl)) lua_pushlstring(L, txt, tl);
    else lua_pushnil(L);
  } else if (rlvr_mx_has_vars(e.root)) {
    lua_pushnil(L);
    lua_pushstring(L, "math: not a number (has variables)");
  } else {
    int lost = 0;
    double complex v = rlvr_mx_eval_num(e.root, 0, &lost);
    if (lost || !isfinite(creal(v)) || fabs(cimag(v)) > 1e-12 * fabs(creal(v))) {
      lua_pushnil(L);
      lua_pushstring(L, "math: not a finite real number");
    } else {
      lua_pushnumber(L, creal(v));
      lua_pushnil(L);
    }
  }
  rlvr_mctx_reset(m);
  return 2;
}

static int l_arith_eval(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  rlvr_mctx *m = ctx_get();
  rlvr_arith_result r;
  int err = rlvr_arith_eval(m, s, len, &r);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, rlvr_error_message());
    rlvr_mctx_reset(m);
    return 2;
  }
  char *txt;
  size_t tl;
  if (rlvr_rat_to_str(m, &r.value, &txt, &tl)) {
    rlvr_mctx_reset(m);
    return luaL_error(L, "arithmetic: %s", rlvr_error_message());
  }
  lua_pushlstring(L, txt, tl);
  rlvr_mctx_reset(m);
  lua_createtable(L, r.nnums, 0);
  for (int i = 0; i < r.nnums; i++) {
    lua_pushinteger(L, (lua_Integer)r.nums[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushboolean(L, r.unary_minus);
  return 3;
}

/* A rational from a Lua argument: an integer, a float (its exact binary value), or text. */
static int arg_rat(lua_State *L, int i, rlvr_mctx *m, rlvr_rat *r) {
  if (lua_isinteger(L, i)) return rlvr_rat_from_i64(m, r, (int64_t)lua_tointeger(L, i), 1);
  if (lua_type(L, i) == LUA_TNUMBER) {
    char buf[64];
    double d = lua_tonumber(L, i);
    if (!isfinite(d)) return rlvr_error(RLVR_ERR_RANGE, "rat: not a finite number");
    snprintf(buf, sizeof buf, "%.17g", d);
    return rlvr_rat_from_str(m, r, buf, strlen(buf));
  }
  size_t n;
  const char *s = luaL_checklstring(L, i, &n);
  if (n > 100000) return rlvr_error(RLVR_ERR_RANGE, "rat: operand too long");
  return rlvr_rat_from_str(m, r, s, n);
}

static int l_rat(lua_State *L) {
  const char *op = luaL_checkstring(L, 2);
  rlvr_mctx *m = ctx_get();
  rlvr_rat a, b, r;
  int err = arg_rat(L, 1, m, &a);
  if (!err && strcmp(op, "^") != 0) err = arg_rat(L, 3, m, &b);
  if (err) goto fail;
  if (!strcmp(op, "cmp")) {
    lua_pushinteger(L, rlvr_rat_cmp(&a, &b));
    rlvr_mctx_reset(m);
    return 1;
  }
  if (!strcmp(op, "+")) err = rlvr_rat_add(m, &r, &a, &b);
  else if (!strcmp(op, "-")) err = rlvr_rat_sub(m, &r, &a, &b);
  else if (!strcmp(op, "*")) err = rlvr_rat_mul(m, &r, &a, &b);
  else if (!strcmp(op, "/")) err = rlvr_rat_div(m, &r, &a, &b);
  else if (!strcmp(op, "^")) err = rlvr_rat_pow(m, &r, &a, (int64_t)luaL_checkinteger(L, 3));
  else err = rlvr_error(RLVR_ERR_ARG, "rat: unknown operation '%s' (+ - * / ^ cmp)", op);
  if (err) goto fail;
  char *txt;
  size_t tl;
  if ((err = rlvr_rat_to_str(m, &r, &txt, &tl))) goto fail;
  lua_pushlstring(L, txt, tl);
  rlvr_mctx_reset(m);
  return 1;
fail:
  lua_pushnil(L);
  lua_pushstring(L, rlvr_error_message());
  rlvr_mctx_reset(m);
  return 2;
}

static int l_math_gold_text(lua_State *L) {
  luaL_checkany(L, 1);
  char buf[64];
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_pushvalue(L, 1);
  } else if (lua_isinteger(L, 1)) {
    lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, 1));
  } else if (lua_type(L, 1) == LUA_TNUMBER && isfinite(lua_tonumber(L, 1))) {
    const double v = lua_tonumber(L, 1);
    for (int digits = 15; digits <= 17; digits++) { /* 17 always reads back */
      snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (strtod(buf, NULL) == v) break;
    }
    lua_pushstring(L, buf);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

static int l_math_options(lua_State *L) {
  static const char *const keys[] = {"last_number", "answer_tags", "boxed",          "gsm8k",
                                     "answer_is",   "rel_tol",     "min_sig_digits", NULL};
  lua_settop(L, 2);
  lua_createtable(L, 0, 8);
  for (int src = 1; src <= 2; src++) { /* the reference, then meta (which wins) */
    if (lua_type(L, src) != LUA_TTABLE) continue;
    for (const char *const *k = keys; *k; k++) {
      if (lua_getfield(L, src, *k) == LUA_TNIL) lua_pop(L, 1);
      else lua_setfield(L, 3, *k);
    }
  }
  return 1;
}

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i])) return 0;
  return 1;
}

static int l_math_verify_golds(lua_State *L) {
  luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 3);
  lua_pushnil(L); /* 4, 5, 6: the best score, status and details so far */
  lua_pushnil(L);
  lua_pushnil(L);
  lua_Number best = 0;
  for (lua_Integer i = 1; lua_geti(L, 2, i) != LUA_TNIL; i++) { /* 7: the gold */
    size_t n;
    const char *gold = lua_type(L, 7) == LUA_TSTRING ? lua_tolstring(L, 7, &n) : NULL;
    if (!gold) {
      lua_pushfstring(L, "math: gold %d is not a string", (int)i);
      return lua_error(L);
    }
    if (blank(gold, n)) { /* as error(msg, 0) in Lua: no position */
      lua_pushliteral(L, "math: the gold answer is empty");
      return lua_error(L);
    }
    lua_pushcfunction(L, l_math_verify);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 7);
    lua_pushvalue(L, 3);
    lua_call(L, 3, 3); /* 8, 9, 10: score, status, details */
    const lua_Number score = lua_tonumber(L, 8);
    const int ok = !strcmp(lua_tostring(L, 9), "ok");
    if (lua_isnil(L, 6) || score > best) {
      best = score;
      lua_copy(L, 8, 4);
      lua_copy(L, 9, 5);
      lua_copy(L, 10, 6);
    }
    lua_settop(L, 6);
    if (score >= 1 || !ok) break;
  }
  if (lua_isnil(L, 6)) {
    lua_pushliteral(L, "math: no gold answer");
    return lua_error(L);
  }
  lua_pushvalue(L, 5);
  lua_setfield(L, 6, "status");
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 6);
  return 2;
}

void rlvr_lua_open_mathlib(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"math_verify", l_math_verify}, {"math_extract", l_math_extract}, {"math_equal", l_math_equal},
      {"math_parse", l_math_parse},   {"math_value", l_math_value},     {"arith_eval", l_arith_eval},
      {"rat", l_rat},
      {"math_gold_text", l_math_gold_text},
      {"math_options", l_math_options},
      {"math_verify_golds", l_math_verify_golds},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
