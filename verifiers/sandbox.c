/* sandbox.c — see sandbox.h for what a script can reach and why. */
#include "verifiers/sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "verifiers/lua_modules.h"

/* The count hook fires every `step` instructions and adds step to `counted`;
 * steps are at most 2^24 so a budget beyond INT_MAX works (lua_sethook takes
 * an int) while the hook costs nothing measurable. */
enum { HOOK_STEP_MAX = 1 << 24 };
/* math.random is reseeded with this before every call. */
enum { RANDOM_SEED = 0x5EED };
/* table.move refuses to move more elements than this (its loop is in C). */
#define TABLE_MOVE_MAX ((lua_Unsigned)1 << 24)

struct rlvr_sandbox {
  lua_State *L;
  rlvr_sandbox_limits lim;
  /* allocator */
  size_t used, peak, limit;
  int mem_hit;            /* sticky: a growth request was refused and not retried */
  int refused_pending;    /* the last growth request was refused: */
  const void *refused_ptr; /* ... this one */
  size_t refused_osize, refused_nsize;
  /* count hook */
  int armed;      /* inside rlvr_sandbox_call */
  int expired;    /* sticky: the budget ran out during this call */
  int step;       /* instructions between two hook calls */
  int64_t counted;
  /* registry references */
  int env_ref;
  int randomseed_ref;
};

_Static_assert(LUA_EXTRASPACE >= sizeof(void *), "the sandbox pointer lives in the extra space");

static rlvr_sandbox *sandbox_of(lua_State *L) { return *(rlvr_sandbox **)lua_getextraspace(L); }

/* ---- the allocator: a byte budget over malloc ---- */

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  rlvr_sandbox *sb = ud;
  size_t old = ptr ? osize : 0; /* with ptr == NULL, osize is a type tag */
  if (nsize == 0) {
    free(ptr);
    sb->used -= old;
    return NULL;
  }
  if (nsize > old && nsize - old > sb->limit - sb->used) {
    /* Every refusal is a hit, except one that Lua recovers from: after a
     * refusal, luaM_ collects garbage (frees and shrinks only) and asks again
     * with the same arguments; if that retry succeeds, the hit is undone
     * below. Refusals nobody retries (lauxlib's buffers) stay hits. */
    sb->mem_hit = 1;
    sb->refused_pending = 1;
    sb->refused_ptr = ptr;
    sb->refused_osize = osize;
    sb->refused_nsize = nsize;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) {
    if (nsize <= old) return ptr; /* Lua assumes shrinking never fails */
    sb->mem_hit = 1;              /* the process itself is out (RLIMIT_AS) */
    return NULL;
  }
  if (nsize > old) {
    if (sb->refused_pending && sb->refused_ptr == ptr && sb->refused_osize == osize && sb->refused_nsize == nsize)
      sb->mem_hit = 0;
    sb->refused_pending = 0;
  }
  sb->used = sb->used - old + nsize;
  if (sb->used > sb->peak) sb->peak = sb->used;
  return p;
}

/* ---- the instruction budget ---- */

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  rlvr_sandbox *sb = sandbox_of(L);
  if (sb->armed && !sb->expired) {
    sb->counted += sb->step;
    int64_t left = sb->lim.instructions - sb->counted;
    if (left > 0) {
      if (left < sb->step) {
        sb->step = (int)left;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, sb->step);
      }
      return;
    }
    sb->expired = 1;
  }
  /* From now on: fire on every instruction and raise every time, so that a
   * pcall in the script that catches this error cannot run on. Outside a
   * call (armed == 0) no Lua code should run at all. */
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "instruction budget of %I instructions exceeded", (lua_Integer)sb->lim.instructions);
}

static void arm(rlvr_sandbox *sb) {
  sb->armed = 1;
  sb->expired = 0;
  sb->mem_hit = 0;
  sb->refused_pending = 0;
  sb->counted = 0;
  sb->step = sb->lim.instructions < HOOK_STEP_MAX ? (int)sb->lim.instructions : HOOK_STEP_MAX;
  lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, sb->step);
}

static void disarm(rlvr_sandbox *sb) {
  sb->armed = 0;
  lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, 1);
}

/* ---- wrapped library functions ---- */

/* setmetatable(t, mt) refusing finalizers. */
static int safe_setmetatable(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    int has_gc = lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (has_gc) return luaL_error(L, "setmetatable: __gc metamethods are not allowed in verifier scripts");
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

/* The message handler that safe_xpcall installs: the script's handler, unless
 * the error comes from a spent budget (then Lua would run the handler with
 * hooks off, outside the budget). */
static int xpcall_handler(lua_State *L) {
  rlvr_sandbox *sb = sandbox_of(L);
  if (sb->expired || sb->mem_hit) return 1; /* the error object, unchanged */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* xpcall(f, handler, ...) -> true, results... | false, handler(err) */
static int safe_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1); /* first result */
  lua_pushvalue(L, 1);   /* function */
  lua_rotate(L, 3, 2);   /* under the function's arguments */
  int status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
  if (status != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - 2;
}

/* table.move(a1, f, e, t [, a2]) with a bounded range. */
static int safe_table_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= TABLE_MOVE_MAX)
    return luaL_error(L, "table.move: range of more than %I elements", (lua_Integer)TABLE_MOVE_MAX);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* table.insert and table.remove with the length they would shift bounded:
 * they shift #t elements in C, and __len can make #t anything. */
static int bounded_length_call(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, 1);
    if (n < 0 || (lua_Unsigned)n >= TABLE_MOVE_MAX)
      return luaL_error(L, "table length %I is over the sandbox's limit of %I elements", n,
                        (lua_Integer)TABLE_MOVE_MAX);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* string.rep(s, n [, sep]): with s and sep both empty the C loop would run n
 * times to build "", so that case returns at once. */
static int safe_string_rep(lua_State *L) {
  size_t l = 0, lsep = 0;
  luaL_checklstring(L, 1, &l);
  luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (l == 0 && lsep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* ---- building the environment ---- */

/* Pushes a new table with every field of the table at idx except those in
 * skip (NULL-terminated). */
static void copy_table(lua_State *L, int idx, const char *const *skip) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int skipped = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (const char *const *s = skip; *s; s++)
        if (!strcmp(lua_tostring(L, -2), *s)) skipped = 1;
    if (skipped) {
      lua_pop(L, 1);
    } else {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
  }
}

/* Replaces field name of the table at -1 with a C closure over its old value. */
static void wrap_field(lua_State *L, const char *name, lua_CFunction fn) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
}

static int build_env(lua_State *L) {
  rlvr_sandbox *sb = lua_touserdata(L, 1);
  static const char *const base_names[] = {
      "assert", "error",    "ipairs",       "next",     "pairs",  "pcall",  "rawequal", "rawget",
      "rawlen", "rawset",   "select",       "tonumber", "tostring", "type", "_VERSION",
      "setmetatable", "getmetatable", NULL};
  static const char *const no_skip[] = {NULL};
  static const char *const string_skip[] = {"dump", NULL};
  static const char *const math_skip[] = {"randomseed", NULL};

  luaL_requiref(L, "_G", luaopen_base, 0);
  int base = lua_gettop(L);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
  int string = lua_gettop(L);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
  int table = lua_gettop(L);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
  int math = lua_gettop(L);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  int utf8 = lua_gettop(L);

  lua_newtable(L);
  int env = lua_gettop(L);
  for (const char *const *n = base_names; *n; n++) {
    lua_getfield(L, base, *n);
    lua_setfield(L, env, *n);
  }
  wrap_field(L, "setmetatable", safe_setmetatable);
  lua_pushcfunction(L, safe_xpcall);
  lua_setfield(L, env, "xpcall");
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");

  copy_table(L, string, string_skip);
  wrap_field(L, "rep", safe_string_rep);
  lua_setfield(L, env, "string");
  copy_table(L, table, no_skip);
  wrap_field(L, "move", safe_table_move);
  wrap_field(L, "insert", bounded_length_call);
  wrap_field(L, "remove", bounded_length_call);
  lua_setfield(L, env, "table");
  copy_table(L, math, math_skip);
  lua_setfield(L, env, "math");
  copy_table(L, utf8, no_skip);
  lua_setfield(L, env, "utf8");

  /* The string metatable: methods from a private copy, and hidden. */
  lua_pushliteral(L, "");
  RLVR_CHECK(lua_getmetatable(L, -1), "luaopen_string sets a metatable for strings");
  copy_table(L, string, string_skip);
  wrap_field(L, "rep", safe_string_rep);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_getfield(L, math, "randomseed");
  sb->randomseed_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_newtable(L);
#define RLVR_OPEN_MODULE(name)                                                                     \
  rlvr_lua_open_##name(L);                                                                         \
  RLVR_CHECK(lua_gettop(L) == env + 1, "rlvr_lua_open_" #name " must leave the stack as it found it");
  RLVR_LUA_MODULES(RLVR_OPEN_MODULE)
#undef RLVR_OPEN_MODULE
  if (sb->lim.open_extra) {
    sb->lim.open_extra(L);
    RLVR_CHECK(lua_gettop(L) == env + 1, "open_extra must leave the stack as it found it");
  }
  lua_setfield(L, env, "rlvr");

  lua_pushvalue(L, env);
  sb->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int sandbox_panic(lua_State *L) {
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)";
  rlvr_check_fail("lua_pcall", __FILE__, __LINE__, " Lua error outside protected mode: %s", msg);
}

rlvr_sandbox *rlvr_sandbox_build(const rlvr_sandbox_limits *lim) {
  RLVR_CHECK(lim->instructions > 0 && lim->memory_bytes > 0);
  rlvr_sandbox *sb = xcalloc(1, sizeof *sb);
  sb->lim = *lim;
  sb->limit = (size_t)lim->memory_bytes;
  sb->env_ref = sb->randomseed_ref = LUA_NOREF;
  sb->L = lua_newstate(sandbox_alloc, sb);
  if (!sb->L) {
    free(sb);
    rlvr_error(RLVR_ERR_NOMEM, "a memory budget of %lld bytes cannot hold a Lua state", (long long)lim->memory_bytes);
    return NULL;
  }
  *(rlvr_sandbox **)lua_getextraspace(sb->L) = sb;
  lua_atpanic(sb->L, sandbox_panic);
  lua_pushcfunction(sb->L, build_env);
  lua_pushlightuserdata(sb->L, sb);
  int st = lua_pcall(sb->L, 1, 0, 0);
  if (st != LUA_OK) {
    rlvr_error(RLVR_ERR_NOMEM, "building the verifier sandbox failed (memory budget %lld bytes): %s",
               (long long)lim->memory_bytes, lua_type(sb->L, -1) == LUA_TSTRING ? lua_tostring(sb->L, -1) : "?");
    rlvr_sandbox_free(sb);
    return NULL;
  }
  disarm(sb);
  return sb;
}

void rlvr_sandbox_free(rlvr_sandbox *sb) {
  if (!sb) return;
  if (sb->L) {
    disarm(sb); /* any Lua code that still runs (it should not) errors at once */
    lua_close(sb->L);
  }
  free(sb);
}

lua_State *rlvr_sandbox_state(rlvr_sandbox *sb) { return sb->L; }
size_t rlvr_sandbox_memory(const rlvr_sandbox *sb) { return sb->used; }
size_t rlvr_sandbox_peak_memory(const rlvr_sandbox *sb) { return sb->peak; }

static void copy_msg(char *msg, size_t msgcap, const char *prefix, const char *text) {
  if (!msgcap) return;
  snprintf(msg, msgcap, "%s%s", prefix, text ? text : "");
}

rlvr_sandbox_outcome rlvr_sandbox_load(rlvr_sandbox *sb, const char *data, size_t len,
                                       const char *chunkname, char *msg, size_t msgcap) {
  lua_State *L = sb->L;
  if (!lua_checkstack(L, 2)) {
    copy_msg(msg, msgcap, "", "not enough memory for the Lua stack");
    return RLVR_SANDBOX_NOMEM;
  }
  int st = luaL_loadbufferx(L, data, len, chunkname, "t");
  if (st != LUA_OK) {
    copy_msg(msg, msgcap, "", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "load failed");
    lua_pop(L, 1);
    return st == LUA_ERRMEM ? RLVR_SANDBOX_NOMEM : RLVR_SANDBOX_ERROR;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->env_ref);
  RLVR_CHECK(lua_setupvalue(L, -2, 1) != NULL, "a main chunk has _ENV as its first upvalue");
  return RLVR_SANDBOX_OK;
}

/* Message handler of the outer lua_pcall: the message with a traceback. Runs
 * no Lua code (error objects that are not strings are only named). */
static int traceback_handler(lua_State *L) {
  const char *msg;
  if (lua_type(L, 1) == LUA_TSTRING) msg = lua_tostring(L, 1);
  else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

rlvr_sandbox_outcome rlvr_sandbox_call(rlvr_sandbox *sb, int nargs, int nresults, char *msg,
                                       size_t msgcap) {
  lua_State *L = sb->L;
  int fn = lua_gettop(L) - nargs;
  RLVR_CHECK(fn >= 1);
  if (msgcap) msg[0] = 0;
  if (!lua_checkstack(L, 4)) {
    lua_settop(L, fn - 1);
    copy_msg(msg, msgcap, "", "not enough memory for the Lua stack");
    return RLVR_SANDBOX_NOMEM;
  }
  lua_pushcfunction(L, traceback_handler);
  lua_insert(L, fn);
  /* math.randomseed(RANDOM_SEED): a C function that cannot fail on an integer. */
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->randomseed_ref);
  lua_pushinteger(L, RANDOM_SEED);
  lua_call(L, 1, 0);

  arm(sb);
  int st = lua_pcall(L, nargs, nresults, fn);
  disarm(sb);

  rlvr_sandbox_outcome out = RLVR_SANDBOX_OK;
  if (sb->expired) out = RLVR_SANDBOX_TIMEOUT;
  else if (sb->mem_hit || st == LUA_ERRMEM) out = RLVR_SANDBOX_NOMEM;
  else if (st != LUA_OK) out = RLVR_SANDBOX_ERROR;

  if (out == RLVR_SANDBOX_OK) {
    lua_remove(L, fn);
    return out;
  }
  const char *err = st != LUA_OK && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  char prefix[160];
  if (out == RLVR_SANDBOX_TIMEOUT)
    snprintf(prefix, sizeof prefix, "instruction budget of %lld instructions exceeded%s",
             (long long)sb->lim.instructions, err ? ": " : "");
  else if (out == RLVR_SANDBOX_NOMEM)
    snprintf(prefix, sizeof prefix, "memory budget of %lld bytes exceeded%s", (long long)sb->lim.memory_bytes,
             err ? ": " : "");
  else
    prefix[0] = 0;
  copy_msg(msg, msgcap, prefix, err ? err : (out == RLVR_SANDBOX_ERROR ? "unknown error" : ""));
  lua_settop(L, fn - 1);
  return out;
}
