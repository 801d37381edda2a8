/* test_chat.c — the Lua chat templates of model/templates/ against
 * transformers' apply_chat_template(tokenize=False) on the original Jinja
 * templates (tests/fixtures/tokenizers/chat.json, written by
 * tests/ref/make_tokenizer_fixtures.py: Qwen2.5's and Qwen3's real templates,
 * Meta-Llama-3-Instruct's, a plain ChatML one), plus the plain template's own
 * format and the sandbox: broken templates are errors, never hangs or crashes. */
#include <unistd.h>

#include "model/chat.h"
#include "tok_fixture.h"

#define DIR "model/templates"

static void check_fixture(void) {
  cJSON *root = fx_load("tests/fixtures/tokenizers/chat.json");
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
  const char *names[] = {"chatml", "qwen2.5", "qwen3", "llama3"};
  rlvr_chat_template *tmpl[4] = {0};
  for (int i = 0; i < 4; i++) {
    int rc = rlvr_chat_load_template(names[i], DIR, &tmpl[i]);
    CHECK_MSG(rc == RLVR_OK, "load %s: %s", names[i], rlvr_error_message());
  }
  int count[4] = {0}, bad[4] = {0}, k = 0;
  for (const cJSON *c = cases->child; c; c = c->next, k++) {
    const char *tname = cJSON_GetObjectItemCaseSensitive(c, "template")->valuestring;
    int t = -1;
    for (int i = 0; i < 4; i++)
      if (!strcmp(tname, names[i])) t = i;
    CHECK_MSG(t >= 0 && tmpl[t], "case %d: unknown template %s", k, tname);
    if (t < 0 || !tmpl[t]) continue;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(c, "messages");
    size_t n = (size_t)cJSON_GetArraySize(msgs), i = 0;
    rlvr_chat_message *m = calloc(n + 1, sizeof *m);
    for (const cJSON *x = msgs->child; x; x = x->next, i++) {
      m[i].role = cJSON_GetObjectItemCaseSensitive(x, "role")->valuestring;
      m[i].content = cJSON_GetObjectItemCaseSensitive(x, "content")->valuestring;
    }
    int gen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_generation_prompt"));
    size_t wlen;
    char *want = fx_str(cJSON_GetObjectItemCaseSensitive(c, "text"), &wlen);
    char *got = NULL;
    size_t glen = 0;
    int rc = rlvr_chat_apply(tmpl[t], m, n, gen, &got, &glen);
    count[t]++;
    char label[96];
    snprintf(label, sizeof label, "%s case %d (generation prompt %d)", tname, k, gen);
    test_checks++;
    if (rc) {
      test_failures++, bad[t]++;
      fprintf(stderr, "FAIL %s: %s\n", label, rlvr_error_message());
    } else if (!fx_same_bytes(label, "", 0, got, glen, want, wlen)) {
      bad[t]++;
    }
    free(got);
    free(want);
    free(m);
  }
  for (int i = 0; i < 4; i++) {
    printf("%s %-8s %d of %d renderings equal transformers'\n", bad[i] ? "FAIL" : "ok  ", names[i],
           count[i] - bad[i], count[i]);
    CHECK_MSG(count[i] >= 10, "%s: only %d cases", names[i], count[i]);
    rlvr_chat_free_template(tmpl[i]);
  }
  cJSON_Delete(root);
}

static void check_plain(void) {
  rlvr_chat_template *t = NULL;
  CHECK(rlvr_chat_load_template("plain", DIR, &t) == RLVR_OK);
  if (!t) return;
  rlvr_chat_message m[] = {{"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}};
  char *s;
  size_t n;
  CHECK(rlvr_chat_apply(t, m, 3, 1, &s, &n) == RLVR_OK);
  const char *want = "System: Be brief.\n\nUser: 2+2?\n\nAssistant: 4\n\nAssistant:";
  CHECK_MSG(!strcmp(s, want) && n == strlen(want), "plain: got \"%s\"", s);
  free(s);
  CHECK(rlvr_chat_apply(t, m + 1, 1, 0, &s, &n) == RLVR_OK);
  CHECK_MSG(!strcmp(s, "User: 2+2?\n\n"), "plain without prompt: got \"%s\"", s);
  free(s);
  CHECK(rlvr_chat_apply(t, NULL, 0, 1, &s, &n) == RLVR_OK);
  CHECK_MSG(!strcmp(s, "Assistant:"), "plain, no messages: got \"%s\"", s);
  free(s);
  CHECK(!strcmp(rlvr_chat_template_name(t), "plain"));
  rlvr_chat_free_template(t);
}

static char dir[] = "/tmp/rlvr_chat_XXXXXX";

static char *write_template(const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s.lua", dir, name);
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Loads (by name from dir) and applies; expects load_code, then apply_code,
 * and the message to contain what. */
static void expect(const char *name, const char *text, int load_code, int apply_code,
                   const char *what) {
  write_template(name, text);
  rlvr_chat_template *t = NULL;
  int rc = rlvr_chat_load_template(name, dir, &t);
  CHECK_MSG(rc == load_code, "%s: load gave %d (%s), want %d", name, rc, rlvr_error_message(),
            load_code);
  if (rc == RLVR_OK && t) {
    rlvr_chat_message m[] = {{"user", "hi"}};
    char *s = (char *)0x1;
    size_t n;
    rc = rlvr_chat_apply(t, m, 1, 1, &s, &n);
    CHECK_MSG(rc == apply_code, "%s: apply gave %d (%s), want %d", name, rc, rlvr_error_message(),
              apply_code);
    if (rc == RLVR_OK) free(s);
    else CHECK_MSG(s == (char *)0x1, "%s: output changed on error", name);
    rlvr_chat_free_template(t);
  }
  CHECK_MSG(!what || strstr(rlvr_error_message(), what), "%s: message lacks \"%s\": %s", name,
            what, rlvr_error_message());
  printf("ok   %-12s %s\n", name, rc ? rlvr_error_message() : "(ok)");
}

static void check_errors(void) {
  RLVR_CHECK(mkdtemp(dir));
  rlvr_chat_template *t = NULL;
  int rc = rlvr_chat_load_template("nosuch", DIR, &t);
  CHECK_MSG(rc == RLVR_ERR_IO && strstr(rlvr_error_message(), "model/templates/nosuch.lua"),
            "missing name: %d %s", rc, rlvr_error_message());
  rc = rlvr_chat_load_template("../etc", DIR, &t);
  CHECK_MSG(rc == RLVR_ERR_ARG || rc == RLVR_ERR_IO, "bad name: %d", rc);
  rc = rlvr_chat_load_template("bad name!", DIR, &t);
  CHECK_MSG(rc == RLVR_ERR_ARG, "bad name: %d %s", rc, rlvr_error_message());
  rc = rlvr_chat_load_template("/nonexistent/x.lua", DIR, &t);
  CHECK_MSG(rc == RLVR_ERR_IO, "missing path: %d %s", rc, rlvr_error_message());
  CHECK(t == NULL);

  /* a user's template by path, reusing nothing but the contract */
  char *p = write_template("mine", "return function(m, g) return '[' .. m[1].content .. (g and ']>' or ']') end");
  CHECK(rlvr_chat_load_template(p, NULL, &t) == RLVR_OK);
  if (t) {
    rlvr_chat_message m[] = {{"user", "hi"}};
    char *s;
    size_t n;
    CHECK(rlvr_chat_apply(t, m, 1, 1, &s, &n) == RLVR_OK && !strcmp(s, "[hi]>"));
    free(s);
    rlvr_chat_free_template(t);
  }

  expect("syntax", "return function(m, g) return 'x' .. end", RLVR_ERR_SCRIPT, 0, "syntax.lua");
  expect("not_fn", "return 42", RLVR_ERR_SCRIPT, 0, "must return a function");
  expect("raises", "return function(m, g) error('boom') end", RLVR_OK, RLVR_ERR_SCRIPT, "boom");
  expect("nil_index", "return function(m, g) return m[5].content end", RLVR_OK, RLVR_ERR_SCRIPT,
         "nil");
  expect("returns_num", "return function(m, g) return 7 end", RLVR_OK, RLVR_ERR_SCRIPT,
         "not a string");
  expect("loops", "return function(m, g) while true do end end", RLVR_OK, RLVR_ERR_SCRIPT,
         "budget");
  expect("loads_loop", "while true do end", RLVR_ERR_SCRIPT, 0, "budget");
  expect("memory", "return function(m, g) local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1e6) .. i end end",
         RLVR_OK, RLVR_ERR_SCRIPT, "memory");
  expect("io", "return function(m, g) return io.open('/etc/passwd'):read('a') end", RLVR_OK,
         RLVR_ERR_SCRIPT, "io");
  expect("os", "return function(m, g) os.execute('true') return '' end", RLVR_OK, RLVR_ERR_SCRIPT,
         "os");
  expect("dofile", "return function(m, g) return dofile('/etc/passwd') end", RLVR_OK,
         RLVR_ERR_SCRIPT, "dofile");
  expect("load", "return function(m, g) return load('return 1')() end", RLVR_OK, RLVR_ERR_SCRIPT,
         "load");
  expect("require", "return function(m, g) return require('os') end", RLVR_OK, RLVR_ERR_SCRIPT,
         "require");
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  check_fixture();
  check_plain();
  check_errors();
  return test_done();
}
