/* policy.c — see policy.h. */
#include "cmd/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "model/chat.h"
#include "model/checkpoint.h"

int cmd_policy_load(const char *cmd, const char *dir, cmd_policy *p) {
  memset(p, 0, sizeof *p);
  if (!dir || !dir[0])
    return cmd_usage_error(cmd, "no model: give --model DIR (or set model.path), a Hugging Face model directory");
  if (rlvr_model_load(dir, &p->model) != RLVR_OK) return cmd_fail(cmd, "%s", rlvr_error_message());
  char path[4096];
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  if (rlvr_tokenizer_load(path, &p->tok) != RLVR_OK) {
    rlvr_model_free(&p->model);
    return cmd_fail(cmd, "%s", rlvr_error_message());
  }
  for (int i = 0; i < p->model.cfg.num_eos; i++) p->eos[p->num_eos++] = p->model.cfg.eos_token_ids[i];
  int32_t t = rlvr_tokenizer_eos_id(p->tok);
  if (t >= 0 && !cmd_policy_is_eos(p, t)) p->eos[p->num_eos++] = t;
  if (rlvr_tokenizer_vocab_size(p->tok) > p->model.cfg.vocab_size) {
    int rc = cmd_fail(cmd, "%s: tokenizer.json has %d tokens but config.json's vocab_size is %d", dir,
                      (int)rlvr_tokenizer_vocab_size(p->tok), p->model.cfg.vocab_size);
    cmd_policy_free(p);
    return rc;
  }
  return EXIT_OK;
}

void cmd_policy_free(cmd_policy *p) {
  if (!p) return;
  rlvr_model_free(&p->model);
  rlvr_tokenizer_free(p->tok);
  memset(p, 0, sizeof *p);
}

int cmd_policy_is_eos(const cmd_policy *p, int32_t id) {
  for (int i = 0; i < p->num_eos; i++)
    if (p->eos[i] == id) return 1;
  return 0;
}

int cmd_policy_encode_prompt(const char *cmd, const cmd_policy *p, const char *template_name,
                             const char *prompt, int32_t **ids, size_t *n) {
  const char *text = prompt;
  size_t len = strlen(prompt);
  char *rendered = NULL;
  int add_special = 1;
  if (strcmp(template_name, "none") != 0) {
    rlvr_chat_template *t;
    if (rlvr_chat_load_template(template_name, RLVR_SOURCE_DIR "/model/templates", &t) != RLVR_OK)
      return cmd_fail(cmd, "generate.template: %s", rlvr_error_message());
    rlvr_chat_message msg = {"user", prompt};
    int rc = rlvr_chat_apply(t, &msg, 1, 1, &rendered, &len);
    rlvr_chat_free_template(t);
    if (rc != RLVR_OK) return cmd_fail(cmd, "%s", rlvr_error_message());
    text = rendered;
    add_special = 0;
  }
  int rc = rlvr_tokenizer_encode_alloc(p->tok, text, len, add_special, ids, n);
  free(rendered);
  if (rc != RLVR_OK) return cmd_fail(cmd, "%s", rlvr_error_message());
  return EXIT_OK;
}
