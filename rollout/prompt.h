/* prompt.h — a task item's prompt as the policy sees it: the task template
 * (tasks/template.h: r1, r1_zero, plain, chat, or a file) around the
 * question, then, for a chat template (task.template = chat), the model's
 * chat template (model/chat.h, named by generate.template) around that as
 * the user's message, then token ids.
 *
 * Special tokens: plain text is encoded with the tokenizer's own special
 * tokens (add_special = 1: Llama 3's BOS), a chat-rendered prompt without
 * (the chat template writes its own), as `rlvr generate` and `rlvr sft` do,
 * so a model is scored on the prompts it was trained on. */
#ifndef RLVR_PROMPT_H
#define RLVR_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "model/chat.h"
#include "model/tokenizer.h"
#include "tasks/template.h"

typedef struct {
  rlvr_task_template *task;  /* owned */
  rlvr_chat_template *chat;  /* owned; NULL unless the task template is a chat one */
  const rlvr_tokenizer *tok; /* borrowed */
} rlvr_prompt_renderer;

/* Loads the task template task_template (tasks_dir: the built-in tasks/)
 * and, when it is a chat template, the chat template chat_template
 * (templates_dir: the built-in model/templates; "none" or "" is an error
 * then). Errors name the template; *r zeroed on error. */
int rlvr_prompt_renderer_build(rlvr_prompt_renderer *r, const char *task_template, const char *tasks_dir,
                               const char *chat_template, const char *templates_dir, const rlvr_tokenizer *tok);
void rlvr_prompt_renderer_free(rlvr_prompt_renderer *r); /* accepts a zeroed one */

/* The prompt text (*text, malloc'd) and its ids (*ids, malloc'd, *n) for
 * question. Errors: the chat template failed, encoding failed; nothing
 * allocated then. */
int rlvr_prompt_render(const rlvr_prompt_renderer *r, const char *question, char **text, int32_t **ids, size_t *n);

#endif
