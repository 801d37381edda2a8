/* fuzz_code.c — libFuzzer target for the outside data that verifiers/code.lua
 * parses: arbitrary completions (fenced-block extraction), and arbitrary
 * program output (token comparison for stdin/stdout tests; the harness's
 * result lines and their JSON for function-call tests).
 *
 * No program runs: rlvr.exec is replaced (through open_extra) by a fake that
 * returns the fuzzer's bytes as the program's stdout. For function-call tests
 * the fake finds the harness's nonce in the source it is given and prefixes
 * each line with it, so that the bytes reach the JSON decoder.
 *
 * Input: byte 0 picks the reference (stdio or function tests, Python or
 * Lua); then the completion, a NUL, and the fake stdout. Properties beyond
 * "no crash, no leak": the status is ok or wrong-format (a verifier error
 * would be a bug in code.lua: the references are valid), the score is in
 * [0, 1], and the details parse as JSON. Seeds: tests/fuzz/corpus/code/. */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifiers/host.h"

static rlvr_verify_options opts;
static int ready;
static const char *fz_out;
static size_t fz_len;

static int fake_exec(lua_State *L) {
  size_t n;
  const char *src = luaL_checklstring(L, 2, &n);
  const char *nonce = memmem(src, n, "RLVR", 4);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (nonce && (size_t)(src + n - nonce) >= 36) {
    /* Function-call harness: every line of the fuzz bytes becomes a result line. */
    const char *p = fz_out, *end = fz_out + fz_len;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
      luaL_addlstring(&b, nonce, 36);
      luaL_addchar(&b, ' ');
      luaL_addlstring(&b, p, len);
      luaL_addchar(&b, '\n');
      p += len + 1;
    }
  } else {
    luaL_addlstring(&b, fz_out, fz_len);
  }
  luaL_pushresult(&b); /* the buffer uses the stack: finish it before the table */
  lua_createtable(L, 0, 8);
  lua_rotate(L, -2, 1);
  lua_setfield(L, -2, "stdout");
  lua_pushliteral(L, "ok");
  lua_setfield(L, -2, "status");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "stderr");
  lua_pushinteger(L, 0);
  lua_setfield(L, -2, "exit_code");
  lua_pushnumber(L, 1);
  lua_setfield(L, -2, "wall_ms");
  lua_pushliteral(L, "fake");
  lua_setfield(L, -2, "isolation");
  return 1;
}

static void open_fake(lua_State *L) {
  lua_pushcfunction(L, fake_exec);
  lua_setfield(L, -2, "exec");
}

static const char *const refs[] = {
    "{\"language\":\"python\",\"tests\":[{\"stdin\":\"1\",\"stdout\":\"3 -0.5 abc 007 1e3\\n\"},"
    "{\"stdout\":\"12345678901234567890123\"}]}",
    "{\"language\":\"python\",\"fn_name\":\"f\",\"tests\":[{\"args\":[1,[2,3],{\"a\":\"x\"}],"
    "\"expected\":[1,2.5,\"s\",true,{\"k\":[]}]},{\"args\":[],\"expected\":null},{\"args\":[0],\"expected\":3}]}",
    "{\"language\":\"lua\",\"fn_name\":\"f\",\"tests\":[{\"args\":[1,\"x\\n\"],\"expected\":{\"a\":[1,2]}},"
    "{\"args\":[2.5],\"expected\":-1e300}]}",
    "{\"language\":\"lua\",\"scoring\":\"all\",\"tests\":[{\"stdin\":\"\",\"stdout\":\"x\"}]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready) {
    rlvr_verify_options_default(&opts, "verifiers");
    opts.workers = 0;
    opts.open_extra = open_fake;
    ready = 1;
  }
  if (size < 1) return 0;
  const char *ref = refs[data[0] % 4];
  const char *rest = (const char *)data + 1;
  size_t rlen = size - 1;
  const char *nul = memchr(rest, 0, rlen);
  size_t clen = nul ? (size_t)(nul - rest) : rlen;
  fz_out = nul ? nul + 1 : "";
  fz_len = nul ? rlen - clen - 1 : 0;
  rlvr_verify_host *host = rlvr_host_build(&opts);
  rlvr_verify_item it = {0};
  it.verifier = "code";
  it.completion = rest;
  it.completion_len = clen;
  it.reference = ref;
  it.reference_len = strlen(ref);
  it.reference_json = 1;
  rlvr_verify_result r;
  rlvr_host_verify(host, &it, &r);
  if (r.status != RLVR_VERIFY_OK && r.status != RLVR_VERIFY_WRONG_FORMAT) {
    fprintf(stderr, "status %s: %s\n", rlvr_verify_status_name(r.status), r.details ? r.details : "");
    abort();
  }
  if (!(r.score >= 0 && r.score <= 1)) abort();
  cJSON *j = cJSON_Parse(r.details ? r.details : "");
  if (!j) abort();
  cJSON_Delete(j);
  rlvr_verify_result_clear(&r);
  rlvr_host_free(host);
  return 0;
}
