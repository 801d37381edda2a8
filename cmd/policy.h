/* policy.h — what generate and score share: a model directory loaded with
 * its tokenizer, and the text around a prompt. */
#ifndef RLVR_CMD_POLICY_H
#define RLVR_CMD_POLICY_H

#include <stdint.h>
#include <stddef.h>

#include "model/model.h"
#include "model/tokenizer.h"

typedef struct {
  rlvr_model model;
  rlvr_tokenizer *tok;
  int32_t eos[RLVR_MAX_EOS + 1]; /* config.json's eos ids and the tokenizer's */
  int num_eos;
} cmd_policy;

/* Loads dir (config.json, *.safetensors, tokenizer.json). On error prints
 * "rlvr <cmd>: <message>" and returns EXIT_FAIL; p is left zeroed. */
int cmd_policy_load(const char *cmd, const char *dir, cmd_policy *p);
void cmd_policy_free(cmd_policy *p);
int cmd_policy_is_eos(const cmd_policy *p, int32_t id);

/* Renders prompt through template ("none": the text as is) and encodes it;
 * add_special only with "none" (a chat template writes its own BOS).
 * *ids is malloc'ed. Prints and returns EXIT_FAIL on error. */
int cmd_policy_encode_prompt(const char *cmd, const cmd_policy *p, const char *template_name,
                             const char *prompt, int32_t **ids, size_t *n);

#endif
