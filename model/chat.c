/* chat.c — chat templates run in a small Lua sandbox (see chat.h).
 *
 * One lua_State per template: the file's chunk runs once at load and the
 * function it returns is kept in the registry; each apply builds the
 * messages table, calls the function under lua_pcall with a traceback
 * handler, and copies the string out. The allocator counts bytes against a
 * budget and a count hook stops a call after RLVR_CHAT_MAX_STEPS VM
 * instructions. */
#include "model/chat.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"

enum {
  RLVR_CHAT_MAX_BYTES = 64 << 20, /* Lua heap per template */
  RLVR_CHAT_HOOK_EVERY = 1000,    /* instructions between hook calls */
};
#define RLVR_CHAT_MAX_STEPS 50000000L /* VM instructions per apply (~0.1-0.5 s) */

struct rlvr_chat_template {
  lua_State *L;
  int fn_ref;  /* the template function, in the registry */
  char *name;
  size_t used; /* bytes allocated by Lua */
  long steps;  /* instructions run in the current call */
};

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  rlvr_chat_template *t = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    t->used -= old;
    return NULL;
  }
  if (nsize > old && t->used - old + nsize > RLVR_CHAT_MAX_BYTES) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) t->used = t->used - old + nsize;
  return p;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  rlvr_chat_template *t;
  lua_getallocf(L, (void **)&t);
  t->steps += RLVR_CHAT_HOOK_EVERY;
  if (t->steps > RLVR_CHAT_MAX_STEPS)
    luaL_error(L, "template ran past its budget of %d million instructions",
               (int)(RLVR_CHAT_MAX_STEPS / 1000000));
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = luaL_typename(L, 1);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* base, string and table; nothing that reaches files or loads code. */
static void open_sandbox(lua_State *L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  lua_pop(L, 3);
  static const char *const removed[] = {"dofile", "loadfile", "load", "print", NULL};
  for (const char *const *r = removed; *r; r++) {
    lua_pushnil(L);
    lua_setglobal(L, *r);
  }
}

void rlvr_chat_free_template(rlvr_chat_template *t) {
  if (!t) return;
  if (t->L) lua_close(t->L);
  free(t->name);
  free(t);
}

const char *rlvr_chat_template_name(const rlvr_chat_template *t) { return t->name; }

static int valid_name(const char *s) {
  if (!s[0] || s[0] == '.') return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.' || *s == '-'))
      return 0;
  return 1;
}

int rlvr_chat_load_template(const char *name_or_path, const char *search_dir,
                            rlvr_chat_template **out) {
  size_t nl = strlen(name_or_path);
  int is_path = strchr(name_or_path, '/') || (nl > 4 && strcmp(name_or_path + nl - 4, ".lua") == 0);
  char *path;
  if (is_path) {
    path = xstrdup(name_or_path);
  } else {
    if (!valid_name(name_or_path))
      return rlvr_error(RLVR_ERR_ARG,
                        "chat template \"%s\": not a path and not a valid name ([A-Za-z0-9_.-])",
                        name_or_path);
    const char *dir = search_dir && search_dir[0] ? search_dir : ".";
    path = xmalloc(strlen(dir) + nl + 8);
    sprintf(path, "%s/%s.lua", dir, name_or_path);
  }
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) {
    rc = is_path ? rlvr_error_wrap(rc, "chat template")
                 : rlvr_error(RLVR_ERR_IO, "chat template \"%s\": no file %s (templates are "
                                           "looked up as <dir>/<name>.lua in %s)",
                              name_or_path, path, search_dir ? search_dir : ".");
    free(path);
    return rc;
  }
  rlvr_chat_template *t = xcalloc(1, sizeof *t);
  t->name = xstrdup(name_or_path);
  t->L = lua_newstate(budget_alloc, t);
  RLVR_CHECK(t->L, "lua_newstate failed");
  open_sandbox(t->L);
  lua_State *L = t->L;
  lua_pushcfunction(L, traceback);
  char chunk[512];
  snprintf(chunk, sizeof chunk, "@%s", path);
  rc = RLVR_OK;
  t->steps = 0;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, RLVR_CHAT_HOOK_EVERY);
  if (luaL_loadbufferx(L, text, len, chunk, "t") != LUA_OK || lua_pcall(L, 0, 1, -2) != LUA_OK) {
    rc = rlvr_error(RLVR_ERR_SCRIPT, "chat template %s: %s", path, lua_tostring(L, -1));
  } else if (!lua_isfunction(L, -1)) {
    rc = rlvr_error(RLVR_ERR_SCRIPT,
                    "chat template %s: the file must return a function(messages, "
                    "add_generation_prompt), it returned %s",
                    path, luaL_typename(L, -1));
  } else {
    t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_settop(L, 0);
  free(text);
  free(path);
  if (rc) {
    rlvr_chat_free_template(t);
    return rc;
  }
  *out = t;
  return RLVR_OK;
}

/* Builds the messages table and calls the function; in protected mode, so
 * that running out of memory while building is an error too. */
static int call_template(lua_State *L) {
  rlvr_chat_template *t = lua_touserdata(L, 1);
  const rlvr_chat_message *m = lua_touserdata(L, 2);
  size_t n = (size_t)lua_tointeger(L, 3);
  int gen = lua_toboolean(L, 4);
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, m[i].role ? m[i].role : "");
    lua_setfield(L, -2, "role");
    lua_pushstring(L, m[i].content ? m[i].content : "");
    lua_setfield(L, -2, "content");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_pushboolean(L, gen);
  lua_call(L, 2, 1);
  return 1;
}

int rlvr_chat_apply(rlvr_chat_template *t, const rlvr_chat_message *messages, size_t n,
                    int add_generation_prompt, char **out, size_t *out_len) {
  lua_State *L = t->L;
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, call_template);
  lua_pushlightuserdata(L, t);
  lua_pushlightuserdata(L, (void *)messages);
  lua_pushinteger(L, (lua_Integer)n);
  lua_pushboolean(L, add_generation_prompt);
  t->steps = 0;
  int rc = RLVR_OK;
  if (lua_pcall(L, 4, 1, 1) != LUA_OK) {
    rc = rlvr_error(RLVR_ERR_SCRIPT, "chat template %s: %s", t->name,
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    rc = rlvr_error(RLVR_ERR_SCRIPT, "chat template %s: returned %s, not a string", t->name,
                    luaL_typename(L, -1));
  } else {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    char *copy = xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = 0;
    *out = copy;
    *out_len = len;
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return rc;
}
