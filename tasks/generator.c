/* generator.c — see generator.h. */
#include "tasks/generator.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "tasks/tasklua.h"
#include "tasks/taskutil.h"

enum { JSON_DEPTH_MAX = 32 };

/* One setting of the difficulty table. */
typedef struct {
  char *key;
  enum { OPT_INT, OPT_FLOAT, OPT_BOOL, OPT_STR } type;
  long long i;
  double f;
  char *s;
} option;

struct rlvr_generator {
  char *path;
  char *chunkname; /* "@" path, so Lua's messages name the file */
  char *text;      /* the script */
  size_t len;
  char *name, *version, *verifier;
  option *opts;
  size_t nopts;
  uint64_t fingerprint;
};

/* ---- finding scripts ---------------------------------------------------- */

static int valid_name(const char *name) {
  if (!name[0] || name[0] == '.' || strstr(name, "..")) return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
          *p == '-' || *p == '.'))
      return 0;
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int rlvr_generator_find(const char *search_path, const char *builtin_dir, const char *name, char **path) {
  if (strchr(name, '/') || ends_with(name, ".lua")) {
    if (!rlvr_file_exists(name)) return rlvr_error(RLVR_ERR_IO, "task generator %s: no such file", name);
    *path = xstrdup(name);
    return RLVR_OK;
  }
  if (!valid_name(name))
    return rlvr_error(RLVR_ERR_ARG, "task generator '%s': not a valid name ([A-Za-z0-9_.-]+) or a path", name);
  char looked[2048] = "";
  size_t nl = 0;
  const char *dirs[2] = {search_path ? search_path : "", builtin_dir ? builtin_dir : ""};
  for (int k = 0; k < 2; k++) {
    const char *p = dirs[k];
    while (*p) {
      const char *end = strchr(p, ':');
      size_t dn = end ? (size_t)(end - p) : strlen(p), step = dn;
      while (dn > 1 && p[dn - 1] == '/') dn--; /* "dir/" and "dir" alike */
      if (dn) {
        char candidate[4096];
        int n = snprintf(candidate, sizeof candidate, "%.*s/%s.lua", (int)dn, p, name);
        if (n > 0 && (size_t)n < sizeof candidate) {
          if (rlvr_file_exists(candidate)) {
            *path = xstrdup(candidate);
            return RLVR_OK;
          }
          int w = snprintf(looked + nl, sizeof looked - nl, "%s%s", nl ? ", " : "", candidate);
          if (w > 0) nl = nl + (size_t)w < sizeof looked ? nl + (size_t)w : sizeof looked - 1;
        }
      }
      p += step;
      if (*p == ':') p++;
    }
  }
  return rlvr_error(RLVR_ERR_IO, "task generator '%s' not found (looked in: %s)", name, nl ? looked : "nowhere");
}

/* ---- difficulty --------------------------------------------------------- */

static void options_free(option *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(o[i].key);
    free(o[i].s);
  }
  free(o);
}

static char *trim_copy(const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  char *r = xmalloc(n + 1);
  memcpy(r, s, n);
  r[n] = 0;
  return r;
}

/* Parses "k=v,k=v" into *out (later keys replace earlier ones). */
static int parse_options(const char *text, option **out, size_t *nout) {
  option *o = NULL;
  size_t n = 0;
  const char *p = text;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char *item = trim_copy(p, len);
    p += len;
    if (*p == ',') p++;
    if (!item[0]) {
      free(item);
      continue;
    }
    char *eq = strchr(item, '=');
    if (!eq || eq == item) {
      int err = rlvr_error(RLVR_ERR_CONFIG, "task.options: '%s' is not key=value", item);
      free(item);
      options_free(o, n);
      return err;
    }
    *eq = 0;
    char *key = trim_copy(item, strlen(item)), *val = trim_copy(eq + 1, strlen(eq + 1));
    free(item);
    size_t k = 0;
    while (k < n && strcmp(o[k].key, key) != 0) k++;
    if (k == n) {
      o = xrealloc(o, (n + 1) * sizeof *o);
      n++;
    } else {
      free(o[k].key);
      free(o[k].s);
    }
    option *opt = &o[k];
    memset(opt, 0, sizeof *opt);
    opt->key = key;
    char *e;
    long long iv = strtoll(val, &e, 10);
    if (val[0] && !*e) {
      opt->type = OPT_INT, opt->i = iv;
    } else if (!strcmp(val, "true") || !strcmp(val, "false")) {
      opt->type = OPT_BOOL, opt->i = val[0] == 't';
    } else {
      double fv = strtod(val, &e);
      if (val[0] && !*e && isfinite(fv))
        opt->type = OPT_FLOAT, opt->f = fv;
      else
        opt->type = OPT_STR, opt->s = xstrdup(val);
    }
    free(val);
  }
  *out = o;
  *nout = n;
  return RLVR_OK;
}

static void push_difficulty(lua_State *L, const rlvr_generator *g) {
  lua_createtable(L, 0, (int)g->nopts);
  for (size_t i = 0; i < g->nopts; i++) {
    const option *o = &g->opts[i];
    switch (o->type) {
    case OPT_INT: lua_pushinteger(L, (lua_Integer)o->i); break;
    case OPT_FLOAT: lua_pushnumber(L, o->f); break;
    case OPT_BOOL: lua_pushboolean(L, (int)o->i); break;
    case OPT_STR: lua_pushstring(L, o->s); break;
    }
    lua_setfield(L, -2, o->key);
  }
}

/* ---- the rng table given to scripts ------------------------------------- */

static const char RNG_META[] = "rlvr.task_rng";

static rlvr_rng *check_rng(lua_State *L) { return luaL_checkudata(L, 1, RNG_META); }

static int rng_int(lua_State *L) {
  rlvr_rng *r = check_rng(L);
  lua_Integer lo = luaL_checkinteger(L, 2), hi = luaL_checkinteger(L, 3);
  luaL_argcheck(L, lo <= hi, 3, "rng:int(lo, hi) needs lo <= hi");
  uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the whole 64-bit range */
  uint64_t x = span ? rlvr_rng_below(r, span) : rlvr_rng_u64(r);
  lua_pushinteger(L, (lua_Integer)((uint64_t)lo + x));
  return 1;
}

static int rng_float(lua_State *L) {
  lua_pushnumber(L, rlvr_rng_double(check_rng(L)));
  return 1;
}

static int rng_choice(lua_State *L) {
  rlvr_rng *r = check_rng(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  luaL_argcheck(L, n >= 1, 2, "rng:choice of an empty sequence");
  lua_geti(L, 2, 1 + (lua_Integer)rlvr_rng_below(r, (uint64_t)n));
  return 1;
}

static int rng_shuffle(lua_State *L) {
  rlvr_rng *r = check_rng(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  for (lua_Integer i = n; i >= 2; i--) { /* Fisher-Yates, from the end */
    lua_Integer j = 1 + (lua_Integer)rlvr_rng_below(r, (uint64_t)i);
    lua_geti(L, 2, i);
    lua_geti(L, 2, j);
    lua_seti(L, 2, i);
    lua_seti(L, 2, j);
  }
  lua_settop(L, 2);
  return 1;
}

static void push_rng(lua_State *L, uint64_t seed) {
  rlvr_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  rlvr_rng_seed(r, seed);
  if (luaL_newmetatable(L, RNG_META)) {
    static const luaL_Reg methods[] = {
        {"int", rng_int}, {"float", rng_float}, {"choice", rng_choice}, {"shuffle", rng_shuffle}, {NULL, NULL}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "rng");
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
}

/* ---- Lua values to JSON ------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The JSON of the value at idx; NULL with msg filled on something JSON
 * cannot hold. Raw access only, so no script code runs here. */
static cJSON *lua_to_json(lua_State *L, int idx, int depth, char *msg, size_t msglen) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      lua_Integer v = lua_tointeger(L, idx);
      if (v > (1LL << 53) || v < -(1LL << 53)) {
        snprintf(msg, msglen, "integer %lld is too large for JSON (|n| > 2^53); write it as a string",
                 (long long)v);
        return NULL;
      }
      return cJSON_CreateNumber((double)v);
    }
    if (!isfinite(lua_tonumber(L, idx))) {
      snprintf(msg, msglen, "a non-finite number");
      return NULL;
    }
    return cJSON_CreateNumber(lua_tonumber(L, idx));
  case LUA_TTABLE: break;
  default: snprintf(msg, msglen, "a %s value", luaL_typename(L, idx)); return NULL;
  }
  if (depth >= JSON_DEPTH_MAX) {
    snprintf(msg, msglen, "tables nested more than %d deep", JSON_DEPTH_MAX);
    return NULL;
  }
  /* A table whose keys are exactly 1..n is an array; one with string keys
   * only is an object (keys sorted, so the text does not depend on Lua's
   * hash order); anything else is refused. */
  size_t count = 0, nstr = 0;
  lua_Integer maxint = 0;
  int other = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (lua_type(L, -1) == LUA_TSTRING)
      nstr++;
    else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1)
      maxint = lua_tointeger(L, -1) > maxint ? lua_tointeger(L, -1) : maxint;
    else
      other = 1;
  }
  if (other || (nstr && nstr != count) || (!nstr && (size_t)maxint != count)) {
    snprintf(msg, msglen, "a table that is neither a sequence 1..n nor has only string keys");
    return NULL;
  }
  if (count && !nstr) {
    cJSON *arr = cJSON_CreateArray();
    for (lua_Integer i = 1; i <= maxint; i++) {
      lua_rawgeti(L, idx, i);
      cJSON *v = lua_to_json(L, -1, depth + 1, msg, msglen);
      lua_pop(L, 1);
      if (!v) {
        cJSON_Delete(arr);
        return NULL;
      }
      cJSON_AddItemToArray(arr, v);
    }
    return arr;
  }
  const char **keys = xmalloc((count ? count : 1) * sizeof *keys);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    keys[k++] = lua_tostring(L, -1); /* a string key: the table keeps it alive */
  }
  qsort(keys, count, sizeof *keys, cmp_str);
  cJSON *obj = cJSON_CreateObject();
  for (size_t i = 0; i < count; i++) {
    lua_pushstring(L, keys[i]);
    lua_rawget(L, idx);
    cJSON *v = lua_to_json(L, -1, depth + 1, msg, msglen);
    lua_pop(L, 1);
    if (!v) {
      char inner[256];
      snprintf(inner, sizeof inner, "%s", msg);
      snprintf(msg, msglen, "field '%.40s': %.200s", keys[i], inner);
      cJSON_Delete(obj);
      free(keys);
      return NULL;
    }
    cJSON_AddItemToObject(obj, keys[i], v);
  }
  free(keys);
  return obj;
}

/* A number as the shortest decimal that reads back the same. */
static char *number_text(lua_State *L, int idx) {
  char buf[64];
  if (lua_isinteger(L, idx)) {
    snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
  } else {
    double x = lua_tonumber(L, idx);
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, x);
      if (strtod(buf, NULL) == x) break;
    }
  }
  return xstrdup(buf);
}

/* ---- loading ------------------------------------------------------------ */

void rlvr_generator_free(rlvr_generator *g) {
  if (!g) return;
  free(g->path);
  free(g->chunkname);
  free(g->text);
  free(g->name);
  free(g->version);
  free(g->verifier);
  options_free(g->opts, g->nopts);
  free(g);
}

/* Runs the script in t and leaves its table on the stack. */
static int run_script(const rlvr_generator *g, rlvr_tasklua *t) {
  int rc = rlvr_tasklua_run_chunk(t, g->text, g->len, g->chunkname, g->path);
  if (rc) return rc;
  lua_State *L = rlvr_tasklua_state(t);
  if (!lua_istable(L, -1)) {
    rc = rlvr_error(RLVR_ERR_SCRIPT, "%s: the script returned a %s, want a table {name, version, verifier, generate}",
                    g->path, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  return rc;
}

/* A string field of the table on top, copied; numbers allowed when
 * allow_number (a version of 1 reads as "1"). */
static int string_field(lua_State *L, const char *path, const char *key, int allow_number, char **out) {
  lua_getfield(L, -1, key);
  int t = lua_type(L, -1);
  int rc = RLVR_OK;
  if (t == LUA_TSTRING)
    *out = xstrdup(lua_tostring(L, -1));
  else if (allow_number && t == LUA_TNUMBER)
    *out = number_text(L, -1);
  else
    rc = rlvr_error(RLVR_ERR_SCRIPT, "%s: field '%s' is a %s, want a string", path, key, lua_typename(L, t));
  lua_pop(L, 1);
  return rc;
}

int rlvr_generator_load(const char *path, const char *difficulty, rlvr_generator **out) {
  rlvr_generator *g = xcalloc(1, sizeof *g);
  g->path = xstrdup(path);
  size_t cn = strlen(path) + 2;
  g->chunkname = xmalloc(cn);
  snprintf(g->chunkname, cn, "@%s", path);
  int rc = rlvr_file_read(path, &g->text, &g->len);
  if (rc) goto fail;
  rc = parse_options(difficulty ? difficulty : "", &g->opts, &g->nopts);
  if (rc) goto fail;
  rlvr_tasklua *t = rlvr_tasklua_new();
  RLVR_CHECK(t != NULL);
  rc = run_script(g, t);
  if (!rc) {
    lua_State *L = rlvr_tasklua_state(t);
    rc = string_field(L, path, "name", 0, &g->name);
    if (!rc) rc = string_field(L, path, "version", 1, &g->version);
    if (!rc) rc = string_field(L, path, "verifier", 0, &g->verifier);
    if (!rc) {
      lua_getfield(L, -1, "generate");
      if (!lua_isfunction(L, -1))
        rc = rlvr_error(RLVR_ERR_SCRIPT, "%s: field 'generate' is a %s, want a function", path, luaL_typename(L, -1));
    }
  }
  rlvr_tasklua_free(t);
  if (rc) goto fail;
  uint64_t h = rlvr_task_hash_bytes(0, g->text, g->len);
  for (size_t i = 0; i < g->nopts; i++) {
    const option *o = &g->opts[i];
    char buf[64];
    h = rlvr_task_hash_bytes(h, o->key, strlen(o->key));
    h = rlvr_task_combine(h, (uint64_t)o->type);
    if (o->type == OPT_STR)
      h = rlvr_task_hash_bytes(h, o->s, strlen(o->s));
    else {
      int n = o->type == OPT_FLOAT ? snprintf(buf, sizeof buf, "%.17g", o->f) : snprintf(buf, sizeof buf, "%lld", o->i);
      h = rlvr_task_hash_bytes(h, buf, (size_t)n);
    }
  }
  g->fingerprint = h;
  *out = g;
  return RLVR_OK;
fail:
  rlvr_generator_free(g);
  return rc;
}

const char *rlvr_generator_name(const rlvr_generator *g) { return g->name; }
const char *rlvr_generator_version(const rlvr_generator *g) { return g->version; }
const char *rlvr_generator_verifier(const rlvr_generator *g) { return g->verifier; }
const char *rlvr_generator_path(const rlvr_generator *g) { return g->path; }
uint64_t rlvr_generator_fingerprint(const rlvr_generator *g) { return g->fingerprint; }

void rlvr_generator_set_verifier(rlvr_generator *g, const char *verifier) {
  free(g->verifier);
  g->verifier = xstrdup(verifier);
}

/* ---- making items ------------------------------------------------------- */

static const char *const result_fields[] = {"prompt", "answer", "reference", "solution", "meta", "verifier"};

/* Converts generate's result (a table on top of the stack) into *it. */
static int take_result(lua_State *L, const rlvr_generator *g, const char *what, rlvr_task_item *it) {
  char msg[512];
#define RESULT_ERR(...)                                                                            \
  do {                                                                                             \
    snprintf(msg, sizeof msg, __VA_ARGS__);                                                        \
    return rlvr_error(RLVR_ERR_SCRIPT, "%s: %s: generate returned %s", g->path, what, msg);        \
  } while (0)
  if (!lua_istable(L, -1)) RESULT_ERR("a %s, want a table {prompt, answer, ...}", luaL_typename(L, -1));
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (size_t i = 0; i < sizeof result_fields / sizeof result_fields[0]; i++)
        known |= strcmp(lua_tostring(L, -1), result_fields[i]) == 0;
    if (!known) {
      char key[64];
      snprintf(key, sizeof key, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
      lua_pop(L, 1);
      RESULT_ERR("an unknown field '%s' (known: prompt, answer, reference, solution, meta, verifier)", key);
    }
  }
  int tab = lua_gettop(L);
  lua_getfield(L, tab, "prompt");
  if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    RESULT_ERR("prompt as a %s, want a non-empty string", lua_type(L, -1) == LUA_TSTRING ? "empty string" : luaL_typename(L, -1));
  lua_getfield(L, tab, "answer");
  if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
    RESULT_ERR("answer as a %s, want a string or a number", luaL_typename(L, -1));
  lua_getfield(L, tab, "reference");
  int rt = lua_type(L, -1);
  if (rt != LUA_TNIL && rt != LUA_TSTRING && rt != LUA_TNUMBER && rt != LUA_TTABLE)
    RESULT_ERR("reference as a %s, want a string, number or table", luaL_typename(L, -1));
  lua_getfield(L, tab, "solution");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    RESULT_ERR("solution as a %s, want a string or nil", luaL_typename(L, -1));
  lua_getfield(L, tab, "meta");
  if (!lua_isnil(L, -1) && !lua_istable(L, -1)) RESULT_ERR("meta as a %s, want a table or nil", luaL_typename(L, -1));
  lua_getfield(L, tab, "verifier");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    RESULT_ERR("verifier as a %s, want a string or nil", luaL_typename(L, -1));
  /* Stack: tab, prompt, answer, reference, solution, meta, verifier. */
  char *reference = NULL, *meta = NULL;
  int reference_json = 0;
  if (rt == LUA_TTABLE) {
    char why[256] = "";
    cJSON *j = lua_to_json(L, tab + 3, 0, why, sizeof why);
    if (!j) RESULT_ERR("a reference that JSON cannot hold: %s", why);
    reference = rlvr_json_print(j, 0);
    cJSON_Delete(j);
    reference_json = 1;
  }
  if (lua_istable(L, tab + 5)) {
    char why[256] = "";
    cJSON *j = lua_to_json(L, tab + 5, 0, why, sizeof why);
    if (!j || !cJSON_IsObject(j)) {
      free(reference);
      cJSON_Delete(j);
      RESULT_ERR("meta that is not a JSON object: %s", j ? "a sequence" : why);
    }
    meta = rlvr_json_print(j, 0);
    cJSON_Delete(j);
  }
  memset(it, 0, sizeof *it);
  it->prompt = xstrdup(lua_tostring(L, tab + 1));
  it->answer = lua_type(L, tab + 2) == LUA_TNUMBER ? number_text(L, tab + 2) : xstrdup(lua_tostring(L, tab + 2));
  if (rt == LUA_TTABLE)
    it->reference = reference;
  else if (rt == LUA_TNUMBER)
    it->reference = number_text(L, tab + 3);
  else
    it->reference = xstrdup(rt == LUA_TSTRING ? lua_tostring(L, tab + 3) : it->answer);
  it->reference_json = reference_json;
  it->solution = lua_isnil(L, tab + 4) ? NULL : xstrdup(lua_tostring(L, tab + 4));
  it->meta = meta ? meta : xstrdup("{}");
  it->verifier = xstrdup(lua_isnil(L, tab + 6) ? g->verifier : lua_tostring(L, tab + 6));
  return RLVR_OK;
#undef RESULT_ERR
}

int rlvr_generator_make(rlvr_generator *g, uint64_t rng_seed, const char *what, rlvr_task_item *out) {
  rlvr_tasklua *t = rlvr_tasklua_new();
  RLVR_CHECK(t != NULL);
  lua_State *L = rlvr_tasklua_state(t);
  int rc = run_script(g, t);
  if (!rc) {
    lua_getfield(L, -1, "generate");
    if (!lua_isfunction(L, -1)) {
      rc = rlvr_error(RLVR_ERR_SCRIPT, "%s: %s: field 'generate' is a %s, want a function", g->path, what,
                      luaL_typename(L, -1));
    } else {
      push_rng(L, rng_seed);
      push_difficulty(L, g);
      char where[512];
      snprintf(where, sizeof where, "%s: %s: generate", g->path, what);
      rc = rlvr_tasklua_call(t, 2, 1, where);
      if (!rc) {
        rlvr_task_item it;
        rc = take_result(L, g, what, &it);
        if (!rc) *out = it;
      }
    }
  }
  rlvr_tasklua_free(t);
  return rc;
}
