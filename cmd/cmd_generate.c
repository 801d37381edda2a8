/* cmd_generate.c — `rlvr generate`: sample completions of one prompt.
 *
 * The n completions run as one batch through the KV-cache decoder
 * (model/decode.h); completion i draws from its own generator seeded by
 * (seed, i), so a completion does not change with n or with the others'
 * lengths. With --json each completion is a JSON line carrying its token ids,
 * the model's log-probability of each (at temperature 1, computed exactly as
 * `rlvr score` computes it, so the two agree bit for bit) and why it stopped. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/decode.h"
#include "model/sampler.h"

static const char *usage =
    "usage: rlvr generate [CONFIG.lua] [--set key=value ...] [options]\n"
    "\n"
    "Samples completions of a prompt from a Hugging Face model directory.\n"
    "\n"
    "  --model DIR        model directory (model.path)\n"
    "  --prompt TEXT      the prompt (generate.prompt)\n"
    "  -n N               completions (generate.n)\n"
    "  --max-tokens N     tokens per completion at most (sample.max_tokens)\n"
    "  --temperature T    0 = greedy (sample.temperature)\n"
    "  --top-k K, --top-p P, --seed S   (sample.top_k, sample.top_p, sample.seed)\n"
    "  --template NAME    none, plain, chatml, llama3, ... (generate.template)\n"
    "  --json             one JSON line per completion: text, prompt_token_ids, token_ids,\n"
    "                     logprobs, finish_reason\n"
    "\n"
    "Each option is a shorthand for --set of the key in parentheses.\n";

/* Options that are shorthands for --set. */
static const cmd_shorthand shorthands[] = {
    {"--model", "model.path"},           {"--prompt", "generate.prompt"},
    {"-n", "generate.n"},                {"--max-tokens", "sample.max_tokens"},
    {"--temperature", "sample.temperature"}, {"--top-k", "sample.top_k"},
    {"--top-p", "sample.top_p"},         {"--seed", "sample.seed"},
    {"--template", "generate.template"},
};

static uint64_t completion_seed(uint64_t seed, int i) {
  return seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i * 0xd1b54a32d192ed03ULL + 1;
}

static void print_json(const cmd_policy *p, int index, const int32_t *prompt, size_t np,
                       const int32_t *ids, const float *lps, int n, const char *finish) {
  char *text = NULL;
  size_t len;
  rlvr_tokenizer_decode(p->tok, ids, (size_t)n, 1, &text, &len);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "index", index);
  cJSON_AddStringToObject(o, "text", text);
  cJSON *jpr = cJSON_AddArrayToObject(o, "prompt_token_ids");
  for (size_t t = 0; t < np; t++) cJSON_AddItemToArray(jpr, cJSON_CreateNumber(prompt[t]));
  cJSON *jid = cJSON_AddArrayToObject(o, "token_ids");
  cJSON *jlp = cJSON_AddArrayToObject(o, "logprobs");
  for (int t = 0; t < n; t++) {
    cJSON_AddItemToArray(jid, cJSON_CreateNumber(ids[t]));
    cJSON_AddItemToArray(jlp, cJSON_CreateNumber(lps[t]));
  }
  cJSON_AddStringToObject(o, "finish_reason", finish);
  char *s = cJSON_PrintUnformatted(o);
  puts(s);
  free(s);
  cJSON_Delete(o);
  free(text);
}

int cmd_generate(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0, json = 0;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help)
    rc = cmd_apply_shorthands("generate", &cfg, rest, &nrest, shorthands,
                              (int)(sizeof shorthands / sizeof shorthands[0]));
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    if (!strcmp(rest[i], "--json")) json = 1;
    else rc = cmd_usage_error("generate", "unknown argument '%s'", rest[i]);
  }
  if (rc != EXIT_OK || help) {
    if (help) fputs(usage, stdout);
    free(rest);
    rlvr_config_free(&cfg);
    return rc;
  }
  free(rest);
  rlvr_sampling sp = {(float)cfg.sample_temperature, (int)cfg.sample_top_k, (float)cfg.sample_top_p};
  if ((rc = cmd_apply_runtime("generate", &cfg)) != EXIT_OK) goto done_cfg;
  if (rlvr_sampling_validate(&sp) != RLVR_OK) {
    rc = cmd_fail("generate", "%s", rlvr_error_message());
    goto done_cfg;
  }
  if (cfg.generate_n < 1 || cfg.generate_n > 4096) {
    rc = cmd_fail("generate", "generate.n must be in 1..4096, is %lld", (long long)cfg.generate_n);
    goto done_cfg;
  }
  if (cfg.sample_max_tokens < 1) {
    rc = cmd_fail("generate", "sample.max_tokens must be >= 1, is %lld", (long long)cfg.sample_max_tokens);
    goto done_cfg;
  }
  if (!cfg.generate_prompt[0]) {
    rc = cmd_usage_error("generate", "no prompt: give --prompt TEXT (or set generate.prompt)");
    goto done_cfg;
  }
  cmd_policy p;
  if ((rc = cmd_policy_load("generate", cfg.model_path, &p)) != EXIT_OK) goto done_cfg;
  int32_t *prompt = NULL;
  size_t np = 0;
  if ((rc = cmd_policy_encode_prompt("generate", &p, cfg.generate_template, cfg.generate_prompt, &prompt,
                                     &np)) != EXIT_OK)
    goto done_policy;
  const int V = p.model.cfg.vocab_size, n = (int)cfg.generate_n;
  int max_new = (int)cfg.sample_max_tokens;
  if (np == 0 || (long long)np + max_new > p.model.cfg.max_position) {
    rc = cmd_fail("generate", "prompt of %zu tokens plus sample.max_tokens %d does not fit the model's %d positions",
                  np, max_new, p.model.cfg.max_position);
    goto done_prompt;
  }
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &p.model.cfg, n, (int)np + max_new, n > 256 ? n : 256);
  rlvr_sampler sampler;
  rlvr_sampler_init(&sampler, V);
  float *logits = xmalloc((size_t)n * V * sizeof(float));
  float *scratch = xmalloc((size_t)V * sizeof(float));
  int *slots = xmalloc((size_t)n * sizeof(int));
  int *prompts = xmalloc((size_t)n * np * sizeof(int));
  int *lens = xmalloc((size_t)n * sizeof(int));
  int32_t *out = xmalloc((size_t)n * max_new * sizeof(int32_t));
  float *lps = xmalloc((size_t)n * max_new * sizeof(float));
  int *count = xcalloc((size_t)n, sizeof(int));
  const char **finish = xcalloc((size_t)n, sizeof(char *));
  rlvr_rng *rngs = xmalloc((size_t)n * sizeof(rlvr_rng));
  int *active = xmalloc((size_t)n * sizeof(int)), *next = xmalloc((size_t)n * sizeof(int));
  uint64_t seed = cfg.sample_seed ? (uint64_t)cfg.sample_seed : (uint64_t)cfg.run_seed;
  for (int i = 0; i < n; i++) {
    slots[i] = i;
    lens[i] = (int)np;
    for (size_t t = 0; t < np; t++) prompts[(size_t)i * np + t] = prompt[t];
    rlvr_rng_seed(&rngs[i], completion_seed(seed, i));
  }
  if (rlvr_decode_prefill(&ds, &p.model, slots, prompts, lens, n, (int)np, logits) != RLVR_OK) {
    rc = cmd_fail("generate", "%s", rlvr_error_message());
    goto done_decode;
  }
  /* Row r of logits belongs to completion active[r]. */
  int nact = n;
  for (int i = 0; i < n; i++) active[i] = i;
  while (nact > 0) {
    int keep = 0;
    for (int r = 0; r < nact; r++) {
      int i = active[r];
      const float *row = logits + (size_t)r * V;
      int tok = rlvr_sampler_sample(&sampler, row, &sp, &rngs[i], NULL);
      out[(size_t)i * max_new + count[i]] = tok;
      lps[(size_t)i * max_new + count[i]] = rlvr_decode_logprob(row, V, tok, scratch);
      count[i]++;
      if (cmd_policy_is_eos(&p, tok)) finish[i] = "eos";
      else if (count[i] >= max_new) finish[i] = "length";
      else {
        active[keep] = i;
        next[keep] = tok;
        keep++;
      }
    }
    nact = keep;
    if (nact && rlvr_decode_step(&ds, &p.model, active, next, nact, logits) != RLVR_OK) {
      rc = cmd_fail("generate", "%s", rlvr_error_message());
      goto done_decode;
    }
  }
  for (int i = 0; i < n; i++) {
    const int32_t *ids = out + (size_t)i * max_new;
    if (json) {
      print_json(&p, i, prompt, np, ids, lps + (size_t)i * max_new, count[i], finish[i]);
    } else {
      char *text = NULL;
      size_t len;
      rlvr_tokenizer_decode(p.tok, ids, (size_t)count[i], 1, &text, &len);
      if (n > 1) printf("--- completion %d (%d tokens, %s)\n", i, count[i], finish[i]);
      printf("%s%s\n", cfg.generate_prompt, text);
      free(text);
    }
  }
done_decode:
  free(active), free(next), free(rngs), free(finish), free(count), free(lps), free(out);
  free(lens), free(prompts), free(slots), free(scratch), free(logits);
  rlvr_sampler_free(&sampler);
  rlvr_decode_free(&ds);
done_prompt:
  free(prompt);
done_policy:
  cmd_policy_free(&p);
done_cfg:
  rlvr_config_free(&cfg);
  return rc;
}
