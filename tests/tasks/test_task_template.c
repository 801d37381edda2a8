/* test_task_template.c — prompt templates: the R1-Zero text exactly as the
 * DeepSeek-R1 paper's Table 1 has it (typed here from the paper, not read
 * from tasks/templates/), plain and chat, one-pass substitution, worked
 * example completions, and errors naming the template file. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tasks/template.h"
#include "testing.h"

#define FIX "tests/fixtures/tasks/templates/"

/* DeepSeek-R1 (arXiv:2501.12948), Table 1, with "prompt" replaced. */
#define R1_PAPER                                                                                   \
  "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The " \
  "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. " \
  "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "     \
  "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: "      \
  "What is 2 + 3?. Assistant:"

static rlvr_task_template *load(const char *name) {
  rlvr_task_template *t = NULL;
  int rc = rlvr_task_template_load(name, "tasks", &t);
  CHECK_MSG(rc == RLVR_OK, "template %s: %s", name, rlvr_error_message());
  return t;
}

static void check_text(const char *what, char *got, const char *want) {
  CHECK_MSG(got && strcmp(got, want) == 0, "%s:\n got  '%s'\n want '%s'", what, got ? got : "(null)", want);
  free(got);
}

int main(void) {
  rlvr_task_item item = {.id = "arith:train:1:0", .prompt = "What is 2 + 3?", .answer = "5", .solution = "2 + 3 = 5"};

  rlvr_task_template *t = load("r1_zero");
  if (t) {
    check_text("r1_zero prompt", rlvr_task_template_prompt(t, item.prompt), R1_PAPER);
    CHECK(!rlvr_task_template_is_chat(t) && strcmp(rlvr_task_template_name(t), "r1_zero") == 0);
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_OK);
    check_text("r1_zero completion", c, " <think> 2 + 3 = 5 </think> <answer> 5 </answer>");
  }
  rlvr_task_template_free(t);

  t = load("r1");
  if (t) {
    check_text("r1 prompt", rlvr_task_template_prompt(t, item.prompt), R1_PAPER " <think>");
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_OK);
    check_text("r1 completion", c, " 2 + 3 = 5 </think> <answer> 5 </answer>");
    rlvr_task_item bare = item;
    bare.solution = NULL;
    c = NULL;
    CHECK(rlvr_task_template_completion(t, &bare, &c) == RLVR_ERR_ARG && c == NULL);
  }
  rlvr_task_template_free(t);

  t = load("plain");
  if (t) {
    check_text("plain prompt", rlvr_task_template_prompt(t, item.prompt), "What is 2 + 3?\n");
    /* A prompt holding placeholders is not substituted again. */
    check_text("plain one pass", rlvr_task_template_prompt(t, "{answer} {prompt} {solution}"),
               "{answer} {prompt} {solution}\n");
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_OK);
    check_text("plain completion", c, "2 + 3 = 5\n<answer>5</answer>");
  }
  rlvr_task_template_free(t);

  t = load("think");
  if (t) {
    check_text("think prompt", rlvr_task_template_prompt(t, item.prompt), "What is 2 + 3?\n<think>");
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_OK);
    check_text("think completion", c, "2 + 3 = 5</think>\n<answer>5</answer>");
  }
  rlvr_task_template_free(t);

  t = load("chat");
  if (t) {
    CHECK(rlvr_task_template_is_chat(t));
    char *p = rlvr_task_template_prompt(t, item.prompt);
    CHECK(p && strncmp(p, "What is 2 + 3?\n", 15) == 0 && strstr(p, "<answer>"));
    free(p);
  }
  rlvr_task_template_free(t);

  t = load(FIX "qa.lua");
  if (t) {
    check_text("user template", rlvr_task_template_prompt(t, "Why?"), "Q: Why? {not a placeholder}\nA:");
    CHECK(strcmp(rlvr_task_template_name(t), FIX "qa.lua") == 0);
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_OK);
    check_text("user completion", c, " 2 + 3 = 5 => 5");
  }
  rlvr_task_template_free(t);

  /* Errors. */
  t = NULL;
  CHECK(rlvr_task_template_load("fancy", "tasks", &t) == RLVR_ERR_CONFIG && t == NULL);
  CHECK(strstr(rlvr_error_message(), "task.template") && strstr(rlvr_error_message(), "fancy"));
  CHECK(rlvr_task_template_load(FIX "missing.lua", "tasks", &t) == RLVR_ERR_IO);
  CHECK(strstr(rlvr_error_message(), "missing.lua") != NULL);
  const char *bad[] = {FIX "no_placeholder.lua", FIX "bad_chat.lua", FIX "syntax.lua"};
  const char *piece[] = {"{prompt}", "'chat'", "syntax.lua:"};
  for (int i = 0; i < 3; i++) {
    CHECK(rlvr_task_template_load(bad[i], "tasks", &t) == RLVR_ERR_SCRIPT && t == NULL);
    CHECK_MSG(strstr(rlvr_error_message(), bad[i]) && strstr(rlvr_error_message(), piece[i]), "%s: %s", bad[i],
              rlvr_error_message());
  }
  /* A template without a completion cannot write worked examples. */
  t = load(FIX "no_completion.lua");
  if (t) {
    char *c = NULL;
    CHECK(rlvr_task_template_completion(t, &item, &c) == RLVR_ERR_ARG && c == NULL);
    CHECK(strstr(rlvr_error_message(), "no completion") != NULL);
    CHECK(strcmp(rlvr_task_template_name(t), "no_completion") == 0);
  }
  rlvr_task_template_free(t);
  return test_done();
}
