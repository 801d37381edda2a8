/* test_support.h — what the verifier tests share: options pointing at
 * tests/verifiers/scripts, test-only Lua helpers (rlvr.test_crash,
 * rlvr.test_sleep, rlvr.test_malloc, rlvr.test_pid, added through
 * open_extra; never compiled into rlvr itself), and a way to run one item. */
#ifndef RLVR_TEST_VERIFIERS_SUPPORT_H
#define RLVR_TEST_VERIFIERS_SUPPORT_H

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verifiers/host.h"

static int t_crash(lua_State *L) {
  (void)L;
  raise(SIGSEGV);
  abort();
}

static int t_sleep(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return 0;
}

static int t_malloc(lua_State *L) {
  size_t n = (size_t)luaL_checkinteger(L, 1);
  char *p = malloc(n);
  if (p) memset(p, 1, n);
  lua_pushboolean(L, p != NULL);
  free(p);
  return 1;
}

static int t_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static void test_open_extra(lua_State *L) {
  static const luaL_Reg fns[] = {{"test_crash", t_crash}, {"test_sleep", t_sleep}, {"test_malloc", t_malloc},
                                 {"test_pid", t_pid},     {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}

/* Small budgets so that runaway scripts stop quickly, also under ASan. */
static void test_options(rlvr_verify_options *o) {
  rlvr_verify_options_default(o, "tests/verifiers/scripts");
  o->instructions = 2000000;
  o->memory_bytes = 32 << 20;
  o->max_input_bytes = 1 << 20;
  o->timeout_ms = 5000;
  o->workers = 0;
  o->open_extra = test_open_extra;
}

static rlvr_verify_item test_item(const char *verifier, const char *completion, const char *reference) {
  rlvr_verify_item it;
  memset(&it, 0, sizeof it);
  it.verifier = verifier;
  it.completion = completion;
  it.completion_len = strlen(completion);
  it.reference = reference;
  it.reference_len = reference ? strlen(reference) : 0;
  return it;
}

/* The details' "error" string ("" if none); details must parse as JSON. */
static const char *test_error_of(const rlvr_verify_result *r, char *buf, size_t cap) {
  buf[0] = 0;
  cJSON *j = cJSON_Parse(r->details ? r->details : "");
  if (!j) {
    snprintf(buf, cap, "<details are not JSON: %s>", r->details ? r->details : "(null)");
    return buf;
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  if (cJSON_IsString(e)) snprintf(buf, cap, "%s", e->valuestring);
  cJSON_Delete(j);
  return buf;
}

#endif
