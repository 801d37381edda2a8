/* exec_lua.c — rlvr.exec for verifier scripts: runs a program in the
 * sandboxed executor (exec.h) and returns what happened as a table.
 *
 *   local r = rlvr.exec(language, source [, stdin [, limits]])
 *
 * language: "python" (or "python3", "py") or "lua" (or "lua5.4").
 * limits (all optional): timeout_ms, cpu_ms, memory_mb, output_bytes,
 *   file_mb, scratch_mb, nproc, nofile, isolation ("auto", "namespaces",
 *   "rlimits"). Unknown keys are an error (a misspelt limit would otherwise
 *   silently be the default). Values are clamped as rlvr_exec_check_limits says.
 * Returns a table:
 *   status     "ok" | "error" | "killed" | "timeout" | "output-limit" | "sandbox-error"
 *   exit_code  integer, or nil when it did not exit
 *   signal     integer, or nil
 *   stdout, stderr        strings, at most output_bytes each
 *   stdout_truncated, stderr_truncated   booleans
 *   wall_ms, cpu_ms       numbers
 *   isolation  "namespaces" | "rlimits+seccomp+landlock" | "rlimits+seccomp"
 *   message    why, for sandbox-error, timeout and output-limit
 * A sandbox that cannot be set up is not an error raised in the script: it
 * comes back as status "sandbox-error", for the script to report as an
 * infrastructure failure. Bad arguments raise errors.
 *
 * The call blocks for up to timeout_ms (plus set-up): the instruction-count
 * hook does not run meanwhile, so the host's wall-clock watchdog must allow
 * for the limits a script asks for. */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "verifiers/exec.h"
#include "verifiers/lua_modules.h"

/* limits.key times scale, or cur (already in base units) when absent. */
static int64_t field_int(lua_State *L, int t, const char *key, int64_t cur, int64_t scale) {
  int64_t v = cur;
  if (lua_getfield(L, t, key) != LUA_TNIL) {
    int ok;
    lua_Integer n = lua_tointegerx(L, -1, &ok);
    if (!ok) {
      lua_Number x = lua_tonumberx(L, -1, &ok);
      if (!ok || x != x) luaL_error(L, "rlvr.exec: limits.%s must be a number", key);
      n = x > 9.2e18 ? (lua_Integer)9.2e18 : x < -9.2e18 ? (lua_Integer)-9.2e18 : (lua_Integer)x;
    }
    if (n <= 0 && strcmp(key, "cpu_ms") != 0) luaL_error(L, "rlvr.exec: limits.%s must be > 0", key);
    if (n < 0) luaL_error(L, "rlvr.exec: limits.%s must be >= 0", key);
    /* Saturate rather than overflow: the limit is clamped afterwards anyway. */
    v = n > INT64_MAX / scale ? INT64_MAX : n * scale;
  }
  lua_pop(L, 1);
  return v;
}

static void read_limits(lua_State *L, int t, rlvr_exec_limits *lim) {
  static const char *const known[] = {"timeout_ms", "cpu_ms",     "memory_mb", "output_bytes", "file_mb",
                                      "scratch_mb", "nproc",      "nofile",    "isolation",    NULL};
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "rlvr.exec: limits keys must be strings");
    const char *k = lua_tostring(L, -1);
    int found = 0;
    for (int i = 0; known[i]; i++) found |= !strcmp(k, known[i]);
    if (!found) luaL_error(L, "rlvr.exec: unknown limit '%s'", k);
  }
  lim->timeout_ms = field_int(L, t, "timeout_ms", lim->timeout_ms, 1);
  lim->cpu_ms = field_int(L, t, "cpu_ms", lim->cpu_ms, 1);
  lim->memory_bytes = field_int(L, t, "memory_mb", lim->memory_bytes, 1 << 20);
  lim->output_bytes = field_int(L, t, "output_bytes", lim->output_bytes, 1);
  lim->file_bytes = field_int(L, t, "file_mb", lim->file_bytes, 1 << 20);
  lim->scratch_bytes = field_int(L, t, "scratch_mb", lim->scratch_bytes, 1 << 20);
  int64_t np = field_int(L, t, "nproc", lim->nproc, 1);
  int64_t nf = field_int(L, t, "nofile", lim->nofile, 1);
  lim->nproc = np > 4096 ? 4096 : (int)np;
  lim->nofile = nf > 4096 ? 4096 : (int)nf;
  if (lua_getfield(L, t, "isolation") != LUA_TNIL) {
    const char *s = lua_tostring(L, -1);
    if (!s) luaL_error(L, "rlvr.exec: limits.isolation must be a string");
    if (!strcmp(s, "auto")) lim->isolation = RLVR_EXEC_ISOLATION_AUTO;
    else if (!strcmp(s, "namespaces")) lim->isolation = RLVR_EXEC_ISOLATION_NAMESPACES;
    else if (!strcmp(s, "rlimits")) lim->isolation = RLVR_EXEC_ISOLATION_RLIMITS;
    else luaL_error(L, "rlvr.exec: limits.isolation must be auto, namespaces or rlimits, not '%s'", s);
  }
  lua_pop(L, 1);
}

/* Builds the result table from the rlvr_exec_result passed as a light
 * userdata; run under lua_pcall so that a refused allocation cannot leak the
 * result's buffers. */
static int push_result(lua_State *L) {
  const rlvr_exec_result *r = lua_touserdata(L, 1);
  lua_createtable(L, 0, 12);
  lua_pushstring(L, rlvr_exec_status_name(r->status));
  lua_setfield(L, -2, "status");
  if (r->exit_code >= 0) {
    lua_pushinteger(L, r->exit_code);
    lua_setfield(L, -2, "exit_code");
  }
  if (r->signal > 0) {
    lua_pushinteger(L, r->signal);
    lua_setfield(L, -2, "signal");
  }
  lua_pushlstring(L, r->out ? r->out : "", r->out_len);
  lua_setfield(L, -2, "stdout");
  lua_pushlstring(L, r->err ? r->err : "", r->err_len);
  lua_setfield(L, -2, "stderr");
  lua_pushboolean(L, r->out_truncated);
  lua_setfield(L, -2, "stdout_truncated");
  lua_pushboolean(L, r->err_truncated);
  lua_setfield(L, -2, "stderr_truncated");
  lua_pushnumber(L, r->wall_ms);
  lua_setfield(L, -2, "wall_ms");
  lua_pushnumber(L, r->cpu_ms);
  lua_setfield(L, -2, "cpu_ms");
  lua_pushstring(L, r->isolation ? r->isolation : "none");
  lua_setfield(L, -2, "isolation");
  lua_pushstring(L, r->message);
  lua_setfield(L, -2, "message");
  return 1;
}

static int l_exec(lua_State *L) {
  const char *lang_name = luaL_checkstring(L, 1);
  size_t src_len, in_len = 0;
  const char *src = luaL_checklstring(L, 2, &src_len);
  const char *in = luaL_optlstring(L, 3, "", &in_len);
  rlvr_exec_lang lang = rlvr_exec_lang_from_name(lang_name);
  if (lang == RLVR_EXEC_LANG_COUNT)
    return luaL_error(L, "rlvr.exec: unknown language '%s' (python or lua)", lang_name);
  rlvr_exec_limits lim;
  rlvr_exec_default_limits(&lim);
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    read_limits(L, 4, &lim);
  }
  /* Nothing below may raise before the result is freed. */
  rlvr_exec_result r;
  rlvr_exec_run(lang, src, src_len, in, in_len, &lim, &r);
  lua_pushcfunction(L, push_result);
  lua_pushlightuserdata(L, &r);
  int rc = lua_pcall(L, 1, 1, 0);
  rlvr_exec_result_free(&r);
  if (rc != LUA_OK) return lua_error(L);
  return 1;
}

void rlvr_lua_open_exec(lua_State *L) {
  lua_pushcfunction(L, l_exec);
  lua_setfield(L, -2, "exec");
}
