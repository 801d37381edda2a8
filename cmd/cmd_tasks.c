/* cmd_tasks.c — `rlvr tasks`: print the items of the configured task source
 * as JSONL, to look at what a generator or a field mapping produces, or to
 * write worked examples for `rlvr sft` (--sft). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "tasks/task.h"
#include "tasks/template.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif
#define BUILTIN_TASKS RLVR_SOURCE_DIR "/tasks"

static const char *usage =
    "usage: rlvr tasks [CONFIG.lua] [--set key=value ...] [--split train|heldout] [-n N] [--start I] [--sft]\n"
    "\n"
    "Prints N items (default 10) of the task source that task.* configures, one\n"
    "JSON object per line: id, prompt, answer, reference (a string, or the JSON\n"
    "value of a structured reference), verifier, meta, solution.\n"
    "  --split train    the learner's order: the cursor seeded by task.seed (or\n"
    "                   run.seed), from position I (default)\n"
    "  --split heldout  the held-out split, from index I\n"
    "  --sft            instead, worked examples for `rlvr sft`: {id, prompt,\n"
    "                   completion, chat} with task.template applied (items\n"
    "                   without a worked solution are an error)\n";

static int parse_count(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || !*s || *end || v < 0) return 0;
  *out = v;
  return 1;
}

/* Writes one item (or its worked example) as a line of JSON. */
static int print_item(const rlvr_task_item *it, const rlvr_task_template *tpl) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", it->id);
  if (tpl) {
    char *completion = NULL;
    int rc = rlvr_task_template_completion(tpl, it, &completion);
    if (rc) {
      cJSON_Delete(o);
      return rc;
    }
    char *prompt = rlvr_task_template_prompt(tpl, it->prompt);
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddStringToObject(o, "completion", completion);
    cJSON_AddBoolToObject(o, "chat", rlvr_task_template_is_chat(tpl));
    free(prompt);
    free(completion);
  } else {
    cJSON_AddStringToObject(o, "prompt", it->prompt);
    cJSON_AddStringToObject(o, "answer", it->answer);
    cJSON *ref = it->reference_json ? cJSON_Parse(it->reference) : NULL;
    if (ref) cJSON_AddItemToObject(o, "reference", ref);
    else cJSON_AddStringToObject(o, "reference", it->reference);
    cJSON_AddStringToObject(o, "verifier", it->verifier);
    cJSON *meta = cJSON_Parse(it->meta);
    cJSON_AddItemToObject(o, "meta", meta ? meta : cJSON_CreateObject());
    if (it->solution) cJSON_AddStringToObject(o, "solution", it->solution);
    else cJSON_AddNullToObject(o, "solution");
  }
  char *text = cJSON_PrintUnformatted(o);
  RLVR_CHECK(text != NULL);
  puts(text);
  cJSON_free(text);
  cJSON_Delete(o);
  return RLVR_OK;
}

int cmd_tasks(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc, sizeof *rest);
  int nrest, help, sft = 0;
  long long n = 10, start = 0;
  rlvr_task_split split = RLVR_TASK_SPLIT_TRAIN;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    const char *a = rest[i];
    int has_value = i + 1 < nrest;
    if (!strcmp(a, "--sft")) {
      sft = 1;
    } else if (!strcmp(a, "--split") && has_value) {
      const char *v = rest[++i];
      if (!strcmp(v, "train")) split = RLVR_TASK_SPLIT_TRAIN;
      else if (!strcmp(v, "heldout")) split = RLVR_TASK_SPLIT_HELDOUT;
      else rc = cmd_usage_error("tasks", "--split must be train or heldout, not '%s'", v);
    } else if (!strcmp(a, "-n") && has_value) {
      if (!parse_count(rest[++i], &n)) rc = cmd_usage_error("tasks", "-n needs a count >= 0, not '%s'", rest[i]);
    } else if (!strcmp(a, "--start") && has_value) {
      if (!parse_count(rest[++i], &start)) rc = cmd_usage_error("tasks", "--start needs an index >= 0, not '%s'", rest[i]);
    } else {
      rc = cmd_usage_error("tasks", "unknown argument '%s'", a);
    }
  }
  free(rest);
  if (rc != EXIT_OK || help) {
    if (help && rc == EXIT_OK) fputs(usage, stdout);
    rlvr_config_free(&cfg);
    return rc;
  }
  rc = cmd_apply_runtime("tasks", &cfg);
  rlvr_task_source *src = NULL;
  rlvr_task_template *tpl = NULL;
  if (rc == EXIT_OK && rlvr_task_source_build(&cfg, BUILTIN_TASKS, &src) != RLVR_OK)
    rc = cmd_fail("tasks", "%s", rlvr_error_message());
  if (rc == EXIT_OK && sft && rlvr_task_template_load(cfg.task_template, BUILTIN_TASKS, &tpl) != RLVR_OK)
    rc = cmd_fail("tasks", "%s", rlvr_error_message());
  rlvr_task_cursor cursor;
  if (rc == EXIT_OK && split == RLVR_TASK_SPLIT_TRAIN) {
    /* Position `start` of the learner's order. */
    rlvr_task_cursor_init(&cursor, rlvr_task_source_seed(src));
    int64_t size = rlvr_task_source_size(src, RLVR_TASK_SPLIT_TRAIN);
    if (rlvr_task_source_is_generator(src)) {
      cursor.position = (uint64_t)start;
    } else if (size > 0) {
      cursor.epoch = (uint64_t)start / (uint64_t)size;
      cursor.position = (uint64_t)start % (uint64_t)size;
    }
  }
  for (long long i = 0; rc == EXIT_OK && i < n; i++) {
    rlvr_task_item it;
    int err;
    if (split == RLVR_TASK_SPLIT_TRAIN) {
      err = rlvr_task_cursor_next(src, &cursor, &it);
    } else {
      if (start + i >= rlvr_task_source_size(src, RLVR_TASK_SPLIT_HELDOUT)) break;
      err = rlvr_task_source_get(src, split, (uint64_t)(start + i), &it);
    }
    if (!err) {
      err = print_item(&it, tpl);
      rlvr_task_item_clear(&it);
    }
    if (err) rc = cmd_fail("tasks", "%s", rlvr_error_message());
  }
  rlvr_task_template_free(tpl);
  rlvr_task_source_free(src);
  rlvr_config_free(&cfg);
  return rc;
}
