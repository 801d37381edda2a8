/* prompt.c — task template, chat template, token ids; see prompt.h. */
#include "rollout/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int rlvr_prompt_renderer_build(rlvr_prompt_renderer *r, const char *task_template, const char *tasks_dir,
                               const char *chat_template, const char *templates_dir, const rlvr_tokenizer *tok) {
  memset(r, 0, sizeof *r);
  int rc = rlvr_task_template_load(task_template, tasks_dir, &r->task);
  if (rc) return rc;
  if (rlvr_task_template_is_chat(r->task)) {
    if (!chat_template || !chat_template[0] || !strcmp(chat_template, "none")) {
      rlvr_prompt_renderer_free(r);
      return rlvr_error(RLVR_ERR_CONFIG,
                        "task.template %s wraps prompts in the model's chat template: set generate.template to it (chatml, qwen2.5, llama3, ...)",
                        task_template);
    }
    if ((rc = rlvr_chat_load_template(chat_template, templates_dir, &r->chat))) {
      rlvr_prompt_renderer_free(r);
      return rlvr_error_wrap(rc, "generate.template");
    }
  }
  r->tok = tok;
  return RLVR_OK;
}

void rlvr_prompt_renderer_free(rlvr_prompt_renderer *r) {
  if (!r) return;
  rlvr_task_template_free(r->task);
  rlvr_chat_free_template(r->chat);
  memset(r, 0, sizeof *r);
}

int rlvr_prompt_render(const rlvr_prompt_renderer *r, const char *question, char **text, int32_t **ids, size_t *n) {
  char *t = rlvr_task_template_prompt(r->task, question);
  size_t len = strlen(t);
  int add_special = 1;
  if (r->chat) {
    char *rendered = NULL;
    rlvr_chat_message msg = {"user", t};
    int rc = rlvr_chat_apply(r->chat, &msg, 1, 1, &rendered, &len);
    free(t);
    if (rc) return rc;
    t = rendered;
    add_special = 0;
  }
  int rc = rlvr_tokenizer_encode_alloc(r->tok, t, len, add_special, ids, n);
  if (rc) {
    free(t);
    return rc;
  }
  *text = t;
  return RLVR_OK;
}
