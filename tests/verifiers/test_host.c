/* test_host.c — the verifier host in-process: a toy verifier, then hostile
 * scripts (syntax and runtime errors, runaway loops also behind pcall and
 * xpcall, memory bombs, escape attempts, bad return values, deep recursion,
 * bytecode, huge and invalid-UTF-8 inputs). Each must give the status the
 * contract names, a message, never a score of 1, and the host must keep
 * serving afterwards. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "test_support.h"
#include "verifiers/host.h"

static rlvr_verify_host *host;

/* Runs one item; returns the result (caller clears). Prints it. */
/* ref_len (size_t)-1: strlen(reference). */
static rlvr_verify_result run4(const char *verifier, const char *completion, size_t clen, const char *reference,
                               size_t ref_len, int ref_json, const char *meta) {
  rlvr_verify_item it = test_item(verifier, completion, reference);
  it.completion_len = clen;
  if (reference && ref_len != (size_t)-1) it.reference_len = ref_len;
  it.reference_json = ref_json;
  it.meta = meta;
  it.meta_len = meta ? strlen(meta) : 0;
  rlvr_verify_result r;
  rlvr_host_verify(host, &it, &r);
  printf("%-14s %-14.14s -> %-14s score %g (%.2f ms) %.160s\n", verifier, completion, rlvr_verify_status_name(r.status),
         r.score, (double)r.elapsed_ns / 1e6, r.details);
  return r;
}

static rlvr_verify_result run3(const char *verifier, const char *completion, size_t clen, const char *reference,
                               int ref_json, const char *meta) {
  return run4(verifier, completion, clen, reference, (size_t)-1, ref_json, meta);
}

static rlvr_verify_result run(const char *verifier, const char *completion, const char *reference) {
  return run3(verifier, completion, strlen(completion), reference, 0, NULL);
}

/* Expects status and that the error message contains want (if not NULL). */
static void expect(const char *verifier, const char *completion, rlvr_verify_status status, const char *want) {
  rlvr_verify_result r = run(verifier, completion, NULL);
  char err[8192];
  test_error_of(&r, err, sizeof err);
  CHECK_MSG(r.status == status, "%s(%s): status %s, want %s; %s", verifier, completion,
            rlvr_verify_status_name(r.status), rlvr_verify_status_name(status), err);
  CHECK_MSG(r.score < 1, "%s(%s): a hostile script scored %g", verifier, completion, r.score);
  if (status != RLVR_VERIFY_OK && status != RLVR_VERIFY_WRONG_FORMAT)
    CHECK_MSG(r.score == 0, "%s(%s): a failure must score 0, got %g", verifier, completion, r.score);
  if (want) CHECK_MSG(strstr(err, want) != NULL, "%s(%s): message '%s' lacks '%s'", verifier, completion, err, want);
  rlvr_verify_result_clear(&r);
}

static void test_exact(void) {
  rlvr_verify_result r = run("exact", " 42\n", "42");
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1);
  CHECK(!strcmp(r.details, "{\"got\":\"42\",\"want\":\"42\"}"));
  CHECK(!strcmp(r.version, "1.0"));
  rlvr_verify_result_clear(&r);
  r = run("exact", "41", "42");
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 0);
  rlvr_verify_result_clear(&r);
  r = run("exact", "  ", "42");
  CHECK(r.status == RLVR_VERIFY_WRONG_FORMAT && r.score == 0);
  rlvr_verify_result_clear(&r);
  /* A JSON reference arrives as a table. */
  r = run3("exact", "7", 1, "{\"answer\": \"7\"}", 1, NULL);
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1);
  rlvr_verify_result_clear(&r);
  /* The same by path rather than name. */
  r = run("tests/verifiers/scripts/exact.lua", "x", "x");
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1);
  rlvr_verify_result_clear(&r);
}

static void test_errors(void) {
  expect("syntax_error", "1", RLVR_VERIFY_VERIFIER_ERROR, "syntax_error.lua:");
  expect("syntax_error", "1", RLVR_VERIFY_VERIFIER_ERROR, "syntax_error.lua:"); /* remembered */
  expect("runtime_error", "x", RLVR_VERIFY_VERIFIER_ERROR, "boom: x");
  expect("runtime_error", "x", RLVR_VERIFY_VERIFIER_ERROR, "stack traceback");
  expect("runtime_error", "table", RLVR_VERIFY_VERIFIER_ERROR, "(error object is a table value)");
  expect("runtime_error", "nil-index", RLVR_VERIFY_VERIFIER_ERROR, "attempt to index");
  expect("not_table", "x", RLVR_VERIFY_VERIFIER_ERROR, "it returned number");
  expect("no_verify", "x", RLVR_VERIFY_VERIFIER_ERROR, "function 'verify'");
  expect("no_such_verifier", "x", RLVR_VERIFY_VERIFIER_ERROR, "no verifier 'no_such_verifier'");
  expect("bad name!", "x", RLVR_VERIFY_VERIFIER_ERROR, "not a verifier name");
  expect("../no/such/dir/x.lua", "x", RLVR_VERIFY_VERIFIER_ERROR, "no such file");
  expect("", "x", RLVR_VERIFY_INPUT_ERROR, "no verifier named");
}

static void test_loops(void) {
  const char *modes[] = {"plain", "pcall", "pcall-tail", "xpcall", "error-loop", "gsub", "close"};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
    expect("loop", modes[i], RLVR_VERIFY_TIMEOUT, "instruction budget of 2000000 instructions exceeded");
  expect("load_loop", "x", RLVR_VERIFY_TIMEOUT, "instruction budget");
  /* Loops in C whose length the script controls are refused or cut short. */
  rlvr_verify_result r = run("loop", "rep-empty", NULL);
  CHECK(r.status == RLVR_VERIFY_OK && strstr(r.details, "\"len\":0"));
  rlvr_verify_result_clear(&r);
  expect("loop", "len-insert", RLVR_VERIFY_VERIFIER_ERROR, "over the sandbox's limit");
  expect("loop", "len-remove", RLVR_VERIFY_VERIFIER_ERROR, "over the sandbox's limit");
}

static void test_memory(void) {
  const char *modes[] = {"rep", "table", "strings", "caught", "concat"};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
    expect("memory", modes[i], RLVR_VERIFY_SANDBOX_ERROR, "memory budget of 33554432 bytes exceeded");
}

static void test_escape(void) {
  rlvr_verify_result r = run("escape", "probe", NULL);
  CHECK(r.status == RLVR_VERIFY_OK);
  cJSON *j = cJSON_Parse(r.details);
  const cJSON *probes = cJSON_GetObjectItemCaseSensitive(j, "probes");
  CHECK(cJSON_GetArraySize(probes) == 22);
  const cJSON *p;
  cJSON_ArrayForEach(p, probes) {
    const char *want = !strcmp(p->string, "strmeta") ? "boolean" : NULL;
    int good = cJSON_IsString(p) && (want ? !strcmp(p->valuestring, want)
                                          : !strcmp(p->valuestring, "nil") || !strcmp(p->valuestring, "error"));
    CHECK_MSG(good, "escape probe %s gave %s", p->string, cJSON_IsString(p) ? p->valuestring : "?");
  }
  cJSON_Delete(j);
  rlvr_verify_result_clear(&r);
  r = run("escape", "poison", NULL);
  CHECK_MSG(strstr(r.details, "\"method\":\"ABC\"") != NULL, "string methods were poisoned: %s", r.details);
  rlvr_verify_result_clear(&r);
}

static void test_bad_returns(void) {
  const char *bad[] = {"two", "negative", "nan", "inf", "string", "boolean", "none", "details_string",
                       "status_bogus", "status_number"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect("bad_returns", bad[i], RLVR_VERIFY_VERIFIER_ERROR, "");
  expect("bad_returns", "two", RLVR_VERIFY_VERIFIER_ERROR, "outside [0, 1]");
  expect("bad_returns", "string", RLVR_VERIFY_VERIFIER_ERROR, "number score");
  expect("bad_returns", "status_bogus", RLVR_VERIFY_VERIFIER_ERROR, "details.status");

  rlvr_verify_result r = run("bad_returns", "wrong_format", NULL);
  CHECK(r.status == RLVR_VERIFY_WRONG_FORMAT && r.score == 0);
  CHECK(!strcmp(r.version, "2"));
  rlvr_verify_result_clear(&r);
  r = run("bad_returns", "ok_status", NULL);
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 0.5);
  rlvr_verify_result_clear(&r);
  r = run("bad_returns", "integer_one", NULL);
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1 && !strcmp(r.details, "{}"));
  rlvr_verify_result_clear(&r);
  r = run("bad_returns", "huge_details", NULL);
  CHECK(r.status == RLVR_VERIFY_OK && !strcmp(r.details, "{\"details_truncated\":true}"));
  rlvr_verify_result_clear(&r);
  r = run("bad_returns", "cyclic", NULL);
  CHECK(r.status == RLVR_VERIFY_OK && strstr(r.details, "\"...\"") && strlen(r.details) < 1000);
  rlvr_verify_result_clear(&r);
  r = run("bad_returns", "odd_keys", NULL);
  CHECK_MSG(!strcmp(r.details, "{\"1\":\"a\",\"2\":\"b\",\"2.5\":true,\"f\":\"function\",\"x\":[1,2,3]}"), "%s",
            r.details);
  rlvr_verify_result_clear(&r);
}

static void test_recursion(void) {
  rlvr_verify_result r = run("recursion", "lua", NULL);
  CHECK_MSG(r.status == RLVR_VERIFY_VERIFIER_ERROR || r.status == RLVR_VERIFY_SANDBOX_ERROR, "status %s",
            rlvr_verify_status_name(r.status));
  rlvr_verify_result_clear(&r);
  expect("recursion", "c", RLVR_VERIFY_VERIFIER_ERROR, "stack overflow");
}

static void test_inputs(void) {
  /* JSON reference and meta become Lua values; null leaves a hole. */
  rlvr_verify_result r =
      run3("echo", "abc", 3, "{\"a\":[1,2,null,4],\"b\":{\"c\":\"d\"},\"n\":1.5,\"big\":12345678901}", 1,
           "{\"k\":\"v\"}");
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 0.25 && !strcmp(r.version, "e1"));
  CHECK_MSG(strstr(r.details, "\"reference\":{\"a\":{\"1\":1,\"2\":2,\"4\":4},\"b\":{\"c\":\"d\"},"
                              "\"big\":12345678901,\"n\":1.5}") != NULL,
            "%s", r.details);
  CHECK(strstr(r.details, "\"meta\":{\"k\":\"v\"}") != NULL);
  char random1[64] = "", random2[64] = "";
  const char *rp = strstr(r.details, "\"random\":");
  if (rp) snprintf(random1, sizeof random1, "%.20s", rp);
  rlvr_verify_result_clear(&r);
  /* A string reference stays a string; none is nil. */
  r = run("echo", "abc", "hello");
  CHECK(strstr(r.details, "\"reference\":\"hello\"") && strstr(r.details, "\"reference_type\":\"string\""));
  rp = strstr(r.details, "\"random\":");
  if (rp) snprintf(random2, sizeof random2, "%.20s", rp);
  CHECK_MSG(random1[0] && !strcmp(random1, random2), "math.random is not reseeded per call: %s vs %s", random1,
            random2);
  rlvr_verify_result_clear(&r);
  r = run("echo", "abc", NULL);
  CHECK(strstr(r.details, "\"reference_type\":\"nil\""));
  rlvr_verify_result_clear(&r);
  /* A JSON string reference is a Lua string. */
  r = run3("echo", "abc", 3, "\"x\"", 1, NULL);
  CHECK(strstr(r.details, "\"reference\":\"x\""));
  rlvr_verify_result_clear(&r);

  /* Malformed references and meta are the caller's input errors. */
  r = run3("echo", "abc", 3, "{\"a\":", 1, NULL);
  CHECK(r.status == RLVR_VERIFY_INPUT_ERROR);
  rlvr_verify_result_clear(&r);
  r = run3("echo", "abc", 3, NULL, 0, "[1,");
  CHECK(r.status == RLVR_VERIFY_INPUT_ERROR);
  rlvr_verify_result_clear(&r);

  /* Invalid UTF-8 reaches the script as bytes; the details stay valid JSON. */
  const char bad_utf8[] = "\xff\xfe" "ab\xc3";
  r = run3("echo", bad_utf8, sizeof bad_utf8 - 1, NULL, 0, NULL);
  CHECK(r.status == RLVR_VERIFY_OK && strstr(r.details, "\"completion_len\":5"));
  cJSON *j = cJSON_Parse(r.details);
  CHECK(j != NULL);
  const cJSON *head = cJSON_GetObjectItemCaseSensitive(j, "head");
  CHECK(cJSON_IsString(head) && !strcmp(head->valuestring, "\xEF\xBF\xBD\xEF\xBF\xBD" "ab\xEF\xBF\xBD"));
  cJSON_Delete(j);
  rlvr_verify_result_clear(&r);
  const char nul[] = "a\0b";
  r = run3("echo", nul, 3, NULL, 0, NULL);
  CHECK(strstr(r.details, "\"head\":\"a\\u0000b\""));
  rlvr_verify_result_clear(&r);

  /* A 10 MB completion: over the 1 MiB cap it is wrong-format, unseen. */
  size_t big = 10u << 20;
  char *s = malloc(big + 1);
  memset(s, 'x', big);
  s[big] = 0;
  r = run3("exact", s, big, "x", 0, NULL);
  CHECK(r.status == RLVR_VERIFY_WRONG_FORMAT && r.score == 0 && strstr(r.details, "over the cap"));
  rlvr_verify_result_clear(&r);
  r = run4("exact", "x", 1, s, (1u << 20) + 1, 0, NULL);
  CHECK(r.status == RLVR_VERIFY_INPUT_ERROR && strstr(r.details, "reference is"));
  rlvr_verify_result_clear(&r);
  /* Under a larger cap it reaches the script, and long strings in details are cut. */
  rlvr_verify_options o;
  test_options(&o);
  o.max_input_bytes = 16 << 20;
  o.memory_bytes = 64 << 20;
  rlvr_verify_host *saved = host;
  host = rlvr_host_build(&o);
  r = run3("echo", s, big, NULL, 0, NULL);
  CHECK(r.status == RLVR_VERIFY_OK && strstr(r.details, "\"completion_len\":10485760"));
  rlvr_verify_result_clear(&r);
  r = run4("exact", s, big, s, big, 0, NULL);
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1 && strstr(r.details, "...[cut ") && strlen(r.details) < 10000);
  rlvr_verify_result_clear(&r);
  rlvr_host_free(host);
  host = saved;
  free(s);
}

static void test_fresh_state_after_error(void) {
  rlvr_verify_result r = run("counter", "a", NULL);
  CHECK(strstr(r.details, "\"calls\":1"));
  rlvr_verify_result_clear(&r);
  r = run("counter", "a", NULL);
  CHECK(strstr(r.details, "\"calls\":2")); /* state is kept between good calls */
  rlvr_verify_result_clear(&r);
  expect("counter", "fail", RLVR_VERIFY_VERIFIER_ERROR, "failing on purpose");
  r = run("counter", "a", NULL);
  CHECK_MSG(strstr(r.details, "\"calls\":1"), "state survived an error: %s", r.details);
  rlvr_verify_result_clear(&r);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud) {
  (void)L;
  return fwrite(p, 1, sz, ud) != sz;
}

static void test_bytecode_refused(void) {
  /* A real binary chunk of a valid verifier, compiled by a plain Lua state. */
  lua_State *L = luaL_newstate();
  const char *src = "return { name = 'bc', version = 1, verify = function() return 1 end }";
  CHECK(luaL_loadstring(L, src) == LUA_OK);
  char path[64];
  snprintf(path, sizeof path, "/tmp/rlvr_test_bytecode_%d.lua", (int)getpid());
  FILE *f = fopen(path, "wb");
  CHECK(f && lua_dump(L, dump_writer, f, 0) == 0);
  fclose(f);
  lua_close(L);
  expect(path, "x", RLVR_VERIFY_VERIFIER_ERROR, "binary chunk");
  remove(path);
}

int main(void) {
  rlvr_verify_options o;
  test_options(&o);
  host = rlvr_host_build(&o);
  test_exact();
  test_errors();
  test_loops();
  test_memory();
  test_escape();
  test_bad_returns();
  test_recursion();
  test_inputs();
  test_fresh_state_after_error();
  test_bytecode_refused();
  /* After all of that the host still serves. */
  rlvr_verify_result r = run("exact", "ok", "ok");
  CHECK(r.status == RLVR_VERIFY_OK && r.score == 1);
  rlvr_verify_result_clear(&r);
  rlvr_host_free(host);
  return test_done();
}
