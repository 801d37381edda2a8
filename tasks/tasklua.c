/* tasklua.c — see tasklua.h. */
#include "tasks/tasklua.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

enum { HOOK_EVERY = 1000 }; /* instructions between count-hook calls */

struct rlvr_tasklua {
  lua_State *L;
  size_t used, budget;
  int64_t instructions; /* run since the budget was last reset */
};

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  rlvr_tasklua *t = ud;
  /* osize is the old block's size only when ptr is not NULL (otherwise it
   * encodes the type of object being created). */
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    t->used -= old;
    return NULL;
  }
  if (nsize > old && t->used - old + nsize > t->budget) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) t->used = t->used - old + nsize;
  return p;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  rlvr_tasklua *t;
  lua_getallocf(L, (void **)&t);
  t->instructions += HOOK_EVERY;
  if (t->instructions > RLVR_TASKLUA_INSTRUCTIONS)
    luaL_error(L, "instruction limit (%d) exceeded", (int)RLVR_TASKLUA_INSTRUCTIONS);
}

rlvr_tasklua *rlvr_tasklua_new(void) {
  rlvr_tasklua *t = xcalloc(1, sizeof *t);
  t->budget = RLVR_TASKLUA_MEMORY;
  t->L = lua_newstate(budget_alloc, t);
  if (!t->L) {
    free(t);
    return NULL;
  }
  lua_State *L = t->L;
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  static const char *const removed[] = {"dofile", "loadfile", "load", "print", "require"};
  for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, removed[i]);
  }
  lua_getglobal(L, "math");
  lua_pushnil(L);
  lua_setfield(L, -2, "random");
  lua_pushnil(L);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
  return t;
}

void rlvr_tasklua_free(rlvr_tasklua *t) {
  if (!t) return;
  if (t->L) lua_close(t->L);
  free(t);
}

lua_State *rlvr_tasklua_state(rlvr_tasklua *t) { return t->L; }

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int rlvr_tasklua_call(rlvr_tasklua *t, int nargs, int nresults, const char *what) {
  lua_State *L = t->L;
  int base = lua_gettop(L) - nargs; /* index of the function */
  RLVR_CHECK(base >= 1);
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  t->instructions = 0;
  int rc = lua_pcall(L, nargs, nresults, base);
  if (rc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    int err = rlvr_error(RLVR_ERR_SCRIPT, "%s: %s", what,
                         rc == LUA_ERRMEM ? "out of memory (task script budget)" : (msg ? msg : "?"));
    lua_settop(L, base - 1);
    return err;
  }
  lua_remove(L, base);
  return RLVR_OK;
}

int rlvr_tasklua_run_chunk(rlvr_tasklua *t, const char *text, size_t len, const char *chunkname,
                           const char *what) {
  lua_State *L = t->L;
  if (luaL_loadbufferx(L, text, len, chunkname, "t") != LUA_OK) {
    int err = rlvr_error(RLVR_ERR_SCRIPT, "%s: %s", what, lua_tostring(L, -1));
    lua_pop(L, 1);
    return err;
  }
  return rlvr_tasklua_call(t, 0, 1, what);
}
