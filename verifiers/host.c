/* host.c — see host.h. */
#include "verifiers/host.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "verifiers/luajson.h"
#include "verifiers/registry.h"
#include "verifiers/sandbox.h"

/* ---- statuses, options, results ---- */

static const char *const status_names[RLVR_VERIFY_NSTATUS] = {
    "ok", "wrong-format", "timeout", "sandbox-error", "verifier-error", "input-error"};

const char *rlvr_verify_status_name(rlvr_verify_status s) {
  return (unsigned)s < RLVR_VERIFY_NSTATUS ? status_names[s] : "unknown";
}

int rlvr_verify_status_parse(const char *name) {
  for (int i = 0; i < RLVR_VERIFY_NSTATUS; i++)
    if (!strcmp(name, status_names[i])) return i;
  return -1;
}

int rlvr_verify_status_is_scored(rlvr_verify_status s) {
  return s == RLVR_VERIFY_OK || s == RLVR_VERIFY_WRONG_FORMAT;
}

int64_t rlvr_verify_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rlvr_verify_options_default(rlvr_verify_options *o, const char *builtin_dir) {
  rlvr_config c;
  rlvr_config_init(&c);
  RLVR_CHECK(rlvr_verify_options_from_config(o, &c, builtin_dir) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_config_free(&c);
}

int rlvr_verify_options_from_config(rlvr_verify_options *o, const rlvr_config *cfg,
                                    const char *builtin_dir) {
  rlvr_verify_options t;
  memset(&t, 0, sizeof t);
  const char *user = cfg->verify_paths ? cfg->verify_paths : "";
  const char *sep = *user && builtin_dir && *builtin_dir ? ":" : "";
  int n = snprintf(t.paths, sizeof t.paths, "%s%s%s", user, sep, builtin_dir ? builtin_dir : "");
  if (n < 0 || (size_t)n >= sizeof t.paths)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.paths' is longer than %zu bytes", sizeof t.paths - 64);
  if (cfg->verify_workers < 0 || cfg->verify_workers > 1024)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.workers' must be in [0, 1024]; got %lld",
                      (long long)cfg->verify_workers);
  if (cfg->verify_timeout_ms < 1)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.timeout_ms' must be >= 1; got %lld",
                      (long long)cfg->verify_timeout_ms);
  if (cfg->verify_instructions < 1000)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.instructions' must be >= 1000; got %lld",
                      (long long)cfg->verify_instructions);
  if (cfg->verify_memory_mb < 1 || cfg->verify_memory_mb > 1 << 20)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.memory_mb' must be in [1, 1048576]; got %lld",
                      (long long)cfg->verify_memory_mb);
  if (cfg->verify_max_input_bytes < 1 || cfg->verify_max_input_bytes > (int64_t)1 << 30)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'verify.max_input_bytes' must be in [1, 2^30]; got %lld",
                      (long long)cfg->verify_max_input_bytes);
  t.workers = (int)cfg->verify_workers;
  if (t.workers == 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    t.workers = ncpu > 0 ? (int)ncpu : 1;
  }
  t.timeout_ms = cfg->verify_timeout_ms;
  t.instructions = cfg->verify_instructions;
  t.memory_bytes = cfg->verify_memory_mb << 20;
  t.max_input_bytes = cfg->verify_max_input_bytes;
  *o = t;
  return RLVR_OK;
}

void rlvr_verify_result_clear(rlvr_verify_result *r) {
  if (!r) return;
  free(r->details);
  memset(r, 0, sizeof *r);
}

void rlvr_verify_results_clear(rlvr_verify_result *r, size_t n) {
  for (size_t i = 0; r && i < n; i++) rlvr_verify_result_clear(&r[i]);
}

void rlvr_verify_result_set_error(rlvr_verify_result *r, rlvr_verify_status status, const char *message) {
  rlvr_jbuf b = {0};
  rlvr_jbuf_puts(&b, "{\"error\":");
  rlvr_json_put_string(&b, message, strlen(message), RLVR_JSON_STRING_MAX);
  rlvr_jbuf_puts(&b, "}");
  free(r->details);
  r->details = b.data;
  r->status = status;
  r->score = 0;
}

/* ---- the host ---- */

typedef struct {
  char *name;                    /* as the items name it */
  char *path;                    /* the script; NULL until found */
  rlvr_sandbox *sb;              /* NULL until loaded, and after a failed call */
  int verify_ref;                /* the verify function, in sb's registry */
  char version[32];
  int failed;                    /* loading failed: every item gets fail_status */
  rlvr_verify_status fail_status;
  char *fail_msg;
} host_entry;

struct rlvr_verify_host {
  rlvr_verify_options opt;
  host_entry *entries;
  size_t n, cap;
  size_t last; /* the entry used last: items mostly repeat their verifier */
  rlvr_jbuf details;
  char msg[8192];
};

rlvr_verify_host *rlvr_host_build(const rlvr_verify_options *o) {
  RLVR_CHECK(o->instructions > 0 && o->memory_bytes > 0 && o->max_input_bytes > 0);
  rlvr_verify_host *h = xcalloc(1, sizeof *h);
  h->opt = *o;
  return h;
}

void rlvr_host_free(rlvr_verify_host *h) {
  if (!h) return;
  for (size_t i = 0; i < h->n; i++) {
    host_entry *e = &h->entries[i];
    rlvr_sandbox_free(e->sb);
    free(e->name);
    free(e->path);
    free(e->fail_msg);
  }
  free(h->entries);
  rlvr_jbuf_free(&h->details);
  free(h);
}

static host_entry *find_entry(rlvr_verify_host *h, const char *name) {
  if (h->last < h->n && !strcmp(h->entries[h->last].name, name)) return &h->entries[h->last];
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->entries[i].name, name)) {
      h->last = i;
      return &h->entries[i];
    }
  if (h->n == h->cap) {
    h->cap = h->cap ? 2 * h->cap : 8;
    h->entries = xrealloc(h->entries, h->cap * sizeof *h->entries);
  }
  host_entry *e = &h->entries[h->n];
  memset(e, 0, sizeof *e);
  e->name = xstrdup(name);
  e->verify_ref = LUA_NOREF;
  h->last = h->n++;
  return e;
}

static rlvr_verify_status outcome_status(rlvr_sandbox_outcome o) {
  switch (o) {
  case RLVR_SANDBOX_OK: return RLVR_VERIFY_OK;
  case RLVR_SANDBOX_TIMEOUT: return RLVR_VERIFY_TIMEOUT;
  case RLVR_SANDBOX_NOMEM: return RLVR_VERIFY_SANDBOX_ERROR;
  case RLVR_SANDBOX_ERROR: break;
  }
  return RLVR_VERIFY_VERIFIER_ERROR;
}

/* Runs inside rlvr_sandbox_call: (ctx, chunk) -> nothing. Runs the chunk and
 * checks the table it returns; on a bad table sets ctx->bad and a message. */
typedef struct {
  int bad;
  char *msg;
  size_t msgcap;
  int verify_ref;
  char version[32];
} load_ctx;

static int load_script(lua_State *L) {
  load_ctx *c = lua_touserdata(L, 1);
  lua_settop(L, 2);
  lua_call(L, 0, 1);
  if (!lua_istable(L, 2)) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "the script must return a table with name, version and verify; it returned %s",
             luaL_typename(L, 2));
    return 0;
  }
  lua_pushliteral(L, "name");
  size_t name_len = 0;
  if (lua_rawget(L, 2) != LUA_TSTRING || (lua_tolstring(L, -1, &name_len), name_len == 0)) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "the script's table needs a non-empty string 'name'; it has %s", luaL_typename(L, -1));
    return 0;
  }
  lua_pushliteral(L, "version");
  int vt = lua_rawget(L, 2);
  if (vt == LUA_TSTRING) {
    snprintf(c->version, sizeof c->version, "%s", lua_tostring(L, -1));
  } else if (vt == LUA_TNUMBER) {
    if (lua_isinteger(L, -1)) snprintf(c->version, sizeof c->version, "%lld", (long long)lua_tointeger(L, -1));
    else snprintf(c->version, sizeof c->version, "%.15g", (double)lua_tonumber(L, -1));
  } else {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "the script's table needs a string or number 'version'; it has %s",
             luaL_typename(L, -1));
    return 0;
  }
  lua_pushliteral(L, "verify");
  if (lua_rawget(L, 2) != LUA_TFUNCTION) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "the script's table needs a function 'verify'; it has %s", luaL_typename(L, -1));
    return 0;
  }
  c->verify_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static void entry_fail(host_entry *e, rlvr_verify_status status, const char *msg) {
  e->failed = 1;
  e->fail_status = status;
  free(e->fail_msg);
  e->fail_msg = xstrdup(msg);
  rlvr_sandbox_free(e->sb);
  e->sb = NULL;
}

/* Makes e->sb hold the loaded script; on failure e->failed is set. */
static void entry_load(rlvr_verify_host *h, host_entry *e) {
  if (e->sb || e->failed) return;
  if (!e->path) {
    char *path = NULL;
    if (rlvr_registry_find(h->opt.paths, e->name, &path) != RLVR_OK) {
      entry_fail(e, RLVR_VERIFY_VERIFIER_ERROR, rlvr_error_message());
      return;
    }
    e->path = path;
  }
  char *src = NULL;
  size_t len = 0;
  if (rlvr_file_read(e->path, &src, &len) != RLVR_OK) {
    entry_fail(e, RLVR_VERIFY_VERIFIER_ERROR, rlvr_error_message());
    return;
  }
  rlvr_sandbox_limits lim = {h->opt.instructions, h->opt.memory_bytes, h->opt.open_extra};
  rlvr_sandbox *sb = rlvr_sandbox_build(&lim);
  if (!sb) {
    free(src);
    entry_fail(e, RLVR_VERIFY_SANDBOX_ERROR, rlvr_error_message());
    return;
  }
  e->sb = sb;
  char chunkname[1024];
  snprintf(chunkname, sizeof chunkname, "@%s", e->path);
  rlvr_sandbox_outcome o = rlvr_sandbox_load(sb, src, len, chunkname, h->msg, sizeof h->msg);
  free(src);
  if (o != RLVR_SANDBOX_OK) {
    entry_fail(e, outcome_status(o), h->msg);
    return;
  }
  lua_State *L = rlvr_sandbox_state(sb);
  load_ctx c = {0, h->msg, sizeof h->msg, LUA_NOREF, ""};
  lua_pushcfunction(L, load_script);
  lua_insert(L, -2);
  lua_pushlightuserdata(L, &c);
  lua_insert(L, -2);
  o = rlvr_sandbox_call(sb, 2, 0, h->msg, sizeof h->msg);
  if (o != RLVR_SANDBOX_OK) {
    entry_fail(e, outcome_status(o), h->msg);
    return;
  }
  if (c.bad) {
    char msg[sizeof h->msg + 64];
    snprintf(msg, sizeof msg, "%s: %s", e->path, h->msg);
    entry_fail(e, RLVR_VERIFY_VERIFIER_ERROR, msg);
    return;
  }
  e->verify_ref = c.verify_ref;
  memcpy(e->version, c.version, sizeof e->version);
}

/* Runs inside rlvr_sandbox_call: (ctx) -> nothing. Calls verify and checks
 * and encodes what it returns. */
typedef struct {
  const rlvr_verify_item *item;
  const cJSON *reference; /* parsed JSON reference, when item->reference_json */
  const cJSON *meta;
  int verify_ref;
  rlvr_jbuf *details;
  /* out */
  double score;
  rlvr_verify_status status;
  int bad; /* the returned values are invalid; msg says why */
  char *msg;
  size_t msgcap;
} call_ctx;

static int run_item(lua_State *L) {
  call_ctx *c = lua_touserdata(L, 1);
  const rlvr_verify_item *it = c->item;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->verify_ref);
  lua_pushlstring(L, it->completion, it->completion_len);
  if (c->reference) rlvr_luajson_push(L, c->reference);
  else if (it->reference) lua_pushlstring(L, it->reference, it->reference_len);
  else lua_pushnil(L);
  if (c->meta) rlvr_luajson_push(L, c->meta);
  else lua_pushnil(L);
  lua_call(L, 3, 2);

  /* score at 1, details at 2 */
  if (lua_type(L, 1) != LUA_TNUMBER) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "verify must return a number score; it returned %s", luaL_typename(L, 1));
    return 0;
  }
  double score = (double)lua_tonumber(L, 1);
  if (!(score >= 0 && score <= 1)) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "verify returned score %g, outside [0, 1]", score);
    return 0;
  }
  c->score = score == 0 ? 0 : score; /* -0.0 becomes 0 */
  c->status = RLVR_VERIFY_OK;
  int dt = lua_type(L, 2);
  if (dt == LUA_TNIL) {
    rlvr_jbuf_puts(c->details, "{}");
    return 0;
  }
  if (dt != LUA_TTABLE) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "verify must return details as a table or nil; it returned %s", luaL_typename(L, 2));
    return 0;
  }
  lua_pushliteral(L, "status");
  int st = lua_rawget(L, 2);
  if (st == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "wrong-format")) {
      c->status = RLVR_VERIFY_WRONG_FORMAT;
    } else if (strcmp(s, "ok")) {
      c->bad = 1;
      snprintf(c->msg, c->msgcap, "details.status must be \"ok\" or \"wrong-format\"; it is \"%.64s\"", s);
      return 0;
    }
  } else if (st != LUA_TNIL) {
    c->bad = 1;
    snprintf(c->msg, c->msgcap, "details.status must be a string; it is %s", luaL_typename(L, -1));
    return 0;
  }
  lua_pop(L, 1);
  rlvr_luajson_encode(L, 2, c->details, RLVR_VERIFY_DETAILS_MAX);
  if (c->details->len > RLVR_VERIFY_DETAILS_MAX) {
    c->details->len = 0;
    rlvr_jbuf_puts(c->details, "{\"details_truncated\":true}");
  }
  return 0;
}

static void finish(rlvr_verify_result *out, int64_t t0) { out->elapsed_ns = rlvr_verify_now_ns() - t0; }

int rlvr_host_precheck(const rlvr_verify_options *o, const rlvr_verify_item *item, rlvr_verify_result *out) {
  size_t cap = (size_t)o->max_input_bytes;
  char msg[160];
  rlvr_verify_status status;
  if (!item->verifier || !*item->verifier) {
    snprintf(msg, sizeof msg, "no verifier named for this item");
    status = RLVR_VERIFY_INPUT_ERROR;
  } else if (strlen(item->verifier) > RLVR_VERIFY_NAME_MAX) {
    snprintf(msg, sizeof msg, "the verifier's name is over %d bytes", RLVR_VERIFY_NAME_MAX);
    status = RLVR_VERIFY_INPUT_ERROR;
  } else if (item->reference && item->reference_len > cap) {
    snprintf(msg, sizeof msg, "reference is %zu bytes, over the cap of %zu (verify.max_input_bytes)",
             item->reference_len, cap);
    status = RLVR_VERIFY_INPUT_ERROR;
  } else if (item->meta && item->meta_len > cap) {
    snprintf(msg, sizeof msg, "meta is %zu bytes, over the cap of %zu (verify.max_input_bytes)", item->meta_len, cap);
    status = RLVR_VERIFY_INPUT_ERROR;
  } else if (item->completion_len > cap) {
    snprintf(msg, sizeof msg, "completion is %zu bytes, over the cap of %zu (verify.max_input_bytes)",
             item->completion_len, cap);
    status = RLVR_VERIFY_WRONG_FORMAT;
  } else {
    return 0;
  }
  memset(out, 0, sizeof *out);
  rlvr_verify_result_set_error(out, status, msg);
  return 1;
}

void rlvr_host_verify(rlvr_verify_host *h, const rlvr_verify_item *item, rlvr_verify_result *out) {
  int64_t t0 = rlvr_verify_now_ns();
  memset(out, 0, sizeof *out);
  RLVR_CHECK(item->completion || item->completion_len == 0);
  if (rlvr_host_precheck(&h->opt, item, out)) {
    finish(out, t0);
    return;
  }

  host_entry *e = find_entry(h, item->verifier);
  entry_load(h, e);
  if (e->failed) {
    rlvr_verify_result_set_error(out, e->fail_status, e->fail_msg);
    finish(out, t0);
    return;
  }
  memcpy(out->version, e->version, sizeof out->version);

  cJSON *ref = NULL, *meta = NULL;
  if (item->reference && item->reference_json) {
    ref = cJSON_ParseWithLength(item->reference, item->reference_len);
    if (!ref) {
      rlvr_verify_result_set_error(out, RLVR_VERIFY_INPUT_ERROR, "reference is not valid JSON");
      finish(out, t0);
      return;
    }
  }
  if (item->meta) {
    meta = cJSON_ParseWithLength(item->meta, item->meta_len);
    if (!meta) {
      cJSON_Delete(ref);
      rlvr_verify_result_set_error(out, RLVR_VERIFY_INPUT_ERROR, "meta is not valid JSON");
      finish(out, t0);
      return;
    }
  }

  h->details.len = 0;
  if (h->details.data) h->details.data[0] = 0;
  call_ctx c = {item, ref, meta, e->verify_ref, &h->details, 0, RLVR_VERIFY_OK, 0, h->msg, sizeof h->msg};
  lua_State *L = rlvr_sandbox_state(e->sb);
  lua_pushcfunction(L, run_item);
  lua_pushlightuserdata(L, &c);
  rlvr_sandbox_outcome o = rlvr_sandbox_call(e->sb, 1, 0, h->msg, sizeof h->msg);
  cJSON_Delete(ref);
  cJSON_Delete(meta);

  if (o == RLVR_SANDBOX_OK && !c.bad) {
    out->score = c.score;
    out->status = c.status;
    out->details = xmalloc(h->details.len + 1);
    memcpy(out->details, h->details.data, h->details.len + 1);
  } else {
    /* Any failure: throw the state away so nothing it left behind reaches
     * the next item. The script is loaded again on next use. */
    rlvr_verify_result_set_error(out, o == RLVR_SANDBOX_OK ? RLVR_VERIFY_VERIFIER_ERROR : outcome_status(o), h->msg);
    rlvr_sandbox_free(e->sb);
    e->sb = NULL;
    e->verify_ref = LUA_NOREF;
  }
  finish(out, t0);
}
