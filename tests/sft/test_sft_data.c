/* test_sft_data.c — reading SFT examples (learner/sft.h): the token layout
 * of an example, worked examples from a task generator, and every kind of
 * bad input, each of which must be an error naming the file, the line and
 * the field (never a crash), with nothing returned. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "learner/sft.h"
#include "model/tiny.h"
#include "testing.h"

static char dir[] = "/tmp/rlvr_test_sft_data_XXXXXX";
static rlvr_tokenizer *tok;

static const char *write_file(const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  RLVR_CHECK(rlvr_file_write_atomic(path, text, strlen(text)) == RLVR_OK);
  return path;
}

/* Loads text as a JSONL file; expects error code want whose message holds every string of needles. */
static void expect_error(const char *what, const char *text, int max_len, int64_t limit, int want, const char *n1,
                         const char *n2) {
  const char *path = write_file("bad.jsonl", text);
  rlvr_sft_encoding enc = {.tok = tok, .eos = RLVR_TINY_EOS, .max_len = max_len, .chat_template = NULL};
  rlvr_sft_data d;
  memset(&d, 0x5a, sizeof d); /* untouched on error */
  int rc = rlvr_sft_data_load_jsonl(path, &enc, limit, &d);
  const char *msg = rlvr_error_message();
  int ok = rc == want && strstr(msg, n1) && (!n2 || strstr(msg, n2)) && strstr(msg, "bad.jsonl");
  unsigned char *bytes = (unsigned char *)&d;
  for (size_t i = 0; i < sizeof d; i++) ok = ok && bytes[i] == 0x5a;
  CHECK_MSG(ok, "%s: got code %d, message '%s'", what, rc, msg);
  if (ok) printf("ok   %s: %s\n", what, msg);
  if (rc == RLVR_OK) rlvr_sft_data_free(&d);
}

static void test_layout(void) {
  const char *path = write_file("good.jsonl",
                                "{\"prompt\": \"Q 1+1\\n\", \"completion\": \"<answer>2</answer>\"}\n"
                                "\n"
                                "   \n"
                                "{\"completion\": \"ab\", \"prompt\": \"x\", \"chat\": false, \"other\": [1, 2]}\n");
  rlvr_sft_encoding enc = {.tok = tok, .eos = RLVR_TINY_EOS, .max_len = 64, .chat_template = NULL};
  rlvr_sft_data d;
  int rc = rlvr_sft_data_load_jsonl(path, &enc, 0, &d);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(d.n == 2);
  /* "Q 1+1\n" is 6 byte tokens; "<answer>2</answer>" is 3 tokens; then EOS */
  const int32_t want0[] = {'Q', ' ', '1', '+', '1', '\n', RLVR_TINY_ANSWER, '2', RLVR_TINY_ANSWER_END, RLVR_TINY_EOS};
  CHECK(d.prompt_len[0] == 6 && d.off[1] - d.off[0] == 10);
  CHECK(memcmp(d.tokens + d.off[0], want0, sizeof want0) == 0);
  const int32_t want1[] = {'x', 'a', 'b', RLVR_TINY_EOS};
  CHECK(d.prompt_len[1] == 1 && d.off[2] - d.off[1] == 4);
  CHECK(memcmp(d.tokens + d.off[1], want1, sizeof want1) == 0);
  CHECK(d.max_len == 10 && d.completion_tokens == 4 + 3);
  rlvr_sft_data_free(&d);
  rlvr_sft_data_free(&d); /* a freed struct is zeroed: freeing again is fine */
  rlvr_sft_data_free(NULL);

  /* limit: only the first example is read */
  CHECK(rlvr_sft_data_load_jsonl(path, &enc, 1, &d) == RLVR_OK && d.n == 1);
  rlvr_sft_data_free(&d);
}

static void test_bad_input(void) {
  const char *ok = "{\"prompt\": \"p\", \"completion\": \"c\"}\n";
  char buf[512];
  snprintf(buf, sizeof buf, "%s%s{\"prompt\": \"p\", \"completion\": \"c\"\n", ok, ok);
  expect_error("malformed JSON", buf, 64, 0, RLVR_ERR_FORMAT, "bad.jsonl:3:", "malformed JSON");
  expect_error("not an object", "[1, 2]\n", 64, 0, RLVR_ERR_FORMAT, "bad.jsonl:1:", "not a JSON object");
  snprintf(buf, sizeof buf, "%s{\"completion\": \"c\"}\n", ok);
  expect_error("missing prompt", buf, 64, 0, RLVR_ERR_FORMAT, "bad.jsonl:2:", "no field 'prompt'");
  expect_error("missing completion", "{\"prompt\": \"p\"}\n", 64, 0, RLVR_ERR_FORMAT, "bad.jsonl:1:",
               "no field 'completion'");
  expect_error("completion not a string", "{\"prompt\": \"p\", \"completion\": 42}\n", 64, 0, RLVR_ERR_FORMAT,
               "bad.jsonl:1:", "field 'completion' must be a string");
  expect_error("prompt not a string", "{\"prompt\": null, \"completion\": \"c\"}\n", 64, 0, RLVR_ERR_FORMAT,
               "bad.jsonl:1:", "field 'prompt' must be a string");
  expect_error("chat not a boolean", "{\"prompt\": \"p\", \"completion\": \"c\", \"chat\": \"yes\"}\n", 64, 0,
               RLVR_ERR_FORMAT, "bad.jsonl:1:", "field 'chat'");
  expect_error("chat without a template", "{\"prompt\": \"p\", \"completion\": \"c\", \"chat\": true}\n", 64, 0,
               RLVR_ERR_ARG, "bad.jsonl:1:", "chat template");
  expect_error("text after the object", "{\"prompt\": \"p\", \"completion\": \"c\"} x\n", 64, 0, RLVR_ERR_FORMAT,
               "bad.jsonl:1:", "text after the JSON object");
  expect_error("empty prompt", "{\"prompt\": \"\", \"completion\": \"c\"}\n", 64, 0, RLVR_ERR_RANGE, "bad.jsonl:1:",
               "prompt is empty");
  expect_error("too long", "{\"prompt\": \"12345\", \"completion\": \"6789\"}\n", 8, 0, RLVR_ERR_RANGE,
               "bad.jsonl:1:", "more than sft.max_len 8");
  expect_error("no examples", "\n  \n", 64, 0, RLVR_ERR_FORMAT, "no examples", NULL);
  /* a bad line past the limit is never read */
  snprintf(buf, sizeof buf, "%snot json\n", ok);
  const char *path = write_file("bad.jsonl", buf);
  rlvr_sft_encoding enc = {.tok = tok, .eos = RLVR_TINY_EOS, .max_len = 64, .chat_template = NULL};
  rlvr_sft_data d;
  CHECK(rlvr_sft_data_load_jsonl(path, &enc, 1, &d) == RLVR_OK && d.n == 1);
  rlvr_sft_data_free(&d);
  int rc = rlvr_sft_data_load_jsonl("/nonexistent/sft.jsonl", &enc, 0, &d);
  CHECK_MSG(rc == RLVR_ERR_IO && strstr(rlvr_error_message(), "/nonexistent/sft.jsonl"), "%s", rlvr_error_message());
}

static void test_from_task(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  free(c.task_template);
  c.task_template = xstrdup("plain");
  rlvr_sft_encoding enc = {.tok = tok, .eos = RLVR_TINY_EOS, .max_len = 128, .chat_template = NULL};
  rlvr_sft_data d;
  int rc = rlvr_sft_data_from_task(&c, "tasks", &enc, 5, &d);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc == RLVR_OK) {
    CHECK(d.n == 5);
    /* example 0 is the cursor's first item with the plain template:
     * "<prompt>\n" then "<solution>\n<answer>A</answer>" then EOS */
    char *text = NULL;
    size_t len;
    rlvr_tokenizer_decode(tok, d.tokens + d.off[0], (size_t)d.prompt_len[0], 0, &text, &len);
    CHECK_MSG(!strncmp(text, "What is ", 8) && text[len - 1] == '\n', "prompt '%s'", text);
    free(text);
    const int32_t *last = d.tokens + d.off[1] - 4;
    CHECK(last[3] == RLVR_TINY_EOS && last[2] == RLVR_TINY_ANSWER_END);
    rlvr_sft_data_free(&d);
  }
  /* too long for max_len: names the item */
  enc.max_len = 10;
  rc = rlvr_sft_data_from_task(&c, "tasks", &enc, 5, &d);
  CHECK_MSG(rc == RLVR_ERR_RANGE && strstr(rlvr_error_message(), "item arith:train:"), "%s", rlvr_error_message());
  enc.max_len = 128;
  /* a dataset without worked solutions: names the item */
  const char *path = write_file("qa.jsonl", "{\"question\": \"q1\", \"answer\": \"1\"}\n{\"question\": \"q2\", \"answer\": \"2\"}\n");
  free(c.task_source);
  c.task_source = xstrdup(path);
  free(c.task_answer_extract);
  c.task_answer_extract = xstrdup("none");
  rc = rlvr_sft_data_from_task(&c, "tasks", &enc, 2, &d);
  CHECK_MSG(rc == RLVR_ERR_ARG && strstr(rlvr_error_message(), "no worked example"), "%s", rlvr_error_message());
  rlvr_config_free(&c);
}

static void test_options(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_sft_options o;
  c.sft_epochs = 2.5, c.sft_batch_size = 32;
  CHECK(rlvr_sft_options_from(&c, 1000, &o) == RLVR_OK && o.steps == 79 && o.micro_batch == 32 && o.lr.total == 79);
  c.sft_steps = 7;
  CHECK(rlvr_sft_options_from(&c, 1000, &o) == RLVR_OK && o.steps == 7);
  c.sft_micro_batch_size = 5;
  CHECK(rlvr_sft_options_from(&c, 1000, &o) == RLVR_OK && o.micro_batch == 5);
  /* each bad value is an error naming its key; o is left as it was */
#define BAD(key, assign)                                                                           \
  do {                                                                                             \
    rlvr_config b;                                                                                 \
    rlvr_config_init(&b);                                                                          \
    assign;                                                                                        \
    rlvr_sft_options before = o;                                                                   \
    int rc = rlvr_sft_options_from(&b, 1000, &o);                                                  \
    CHECK_MSG(rc == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), key) &&                       \
                  memcmp(&before, &o, sizeof o) == 0,                                              \
              "%s: %s", key, rlvr_error_message());                                                \
    rlvr_config_free(&b);                                                                          \
  } while (0)
  BAD("sft.batch_size", b.sft_batch_size = 0);
  BAD("sft.micro_batch_size", b.sft_micro_batch_size = -1);
  BAD("sft.steps", b.sft_steps = -3);
  BAD("sft.epochs", b.sft_epochs = 0);
  BAD("sft.lr", b.sft_lr = -1);
  BAD("sft.warmup_steps", b.sft_warmup_steps = -1);
  BAD("sft.min_lr_ratio", b.sft_min_lr_ratio = 1.5);
  BAD("sft.weight_decay", b.sft_weight_decay = -0.1);
  BAD("sft.max_grad_norm", b.sft_max_grad_norm = -1);
  BAD("sft.schedule", (free(b.sft_schedule), b.sft_schedule = xstrdup("linear")));
#undef BAD
  rlvr_config_free(&c);
}

int main(void) {
  CHECK(mkdtemp(dir) != NULL);
  char *json = rlvr_tiny_tokenizer_json();
  RLVR_CHECK(rlvr_tokenizer_load_json(json, strlen(json), "tiny", &tok) == RLVR_OK);
  free(json);
  test_layout();
  test_bad_input();
  test_from_task();
  test_options();
  rlvr_tokenizer_free(tok);
  const char *files[] = {"good.jsonl", "bad.jsonl", "qa.jsonl"};
  for (size_t i = 0; i < 3; i++) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
  return test_done();
}
