/* tiny.c — see tiny.h. */
#include "model/tiny.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "model/checkpoint.h"

/* The added tokens after the 256 bytes, in id order; only the first is
 * special (skipped by skip_special decoding). */
static const char *const added_tokens[] = {"<|endoftext|>", "<think>", "</think>", "<answer>", "</answer>"};
enum { NUM_ADDED = sizeof added_tokens / sizeof added_tokens[0] };
_Static_assert(256 + NUM_ADDED == RLVR_TINY_VOCAB, "vocabulary size");

/* GPT-2's bytes_to_unicode: the printable bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF stand for themselves; the other 68 bytes, in increasing order,
 * get the code points 256, 257, ... Returns the code point of byte b. */
static unsigned byte_char(unsigned b) {
  unsigned next = 256;
  for (unsigned x = 0; x < 256; x++) {
    int printable = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
    if (x == b) return printable ? x : next;
    if (!printable) next++;
  }
  return 0; /* unreachable: b < 256 */
}

/* Appends the UTF-8 of code point cp (< 0x800 here) as a JSON string body:
 * the only characters JSON needs escaped among these are '"' and '\\'. */
static void put_char_json(FILE *f, unsigned cp) {
  if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
  else if (cp < 0x80) fputc((int)cp, f);
  else {
    fputc((int)(0xC0 | (cp >> 6)), f);
    fputc((int)(0x80 | (cp & 0x3F)), f);
  }
}

char *rlvr_tiny_tokenizer_json(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  RLVR_CHECK(f, "open_memstream");
  fputs("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n", f);
  for (int i = 0; i < NUM_ADDED; i++)
    fprintf(f,
            "    {\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
            "\"normalized\": false, \"special\": %s}%s\n",
            256 + i, added_tokens[i], i == 0 ? "true" : "false", i + 1 < NUM_ADDED ? "," : "");
  /* use_regex false: the text is one pre-token; with no merges the result is
   * the same bytes whatever the split, and this is the cheapest. */
  fputs("  ],\n  \"normalizer\": null,\n"
        "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
        "\"use_regex\": false},\n"
        "  \"post_processor\": null,\n"
        "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
        "\"use_regex\": false},\n"
        "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, "
        "\"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
        "    \"vocab\": {",
        f);
  for (unsigned b = 0; b < 256; b++) {
    fputs(b ? ", \"" : "\"", f);
    put_char_json(f, byte_char(b));
    fprintf(f, "\": %u", b);
  }
  fputs("},\n    \"merges\": []\n  }\n}\n", f);
  RLVR_CHECK(fclose(f) == 0);
  return text;
}

int rlvr_tiny_config(const rlvr_config *c, rlvr_model_config *out) {
  rlvr_model_config m;
  memset(&m, 0, sizeof m);
  if (!strcmp(c->model_init_arch, "llama")) m.arch = RLVR_ARCH_LLAMA;
  else if (!strcmp(c->model_init_arch, "qwen2")) m.arch = RLVR_ARCH_QWEN2, m.attn_bias = 1;
  else if (!strcmp(c->model_init_arch, "qwen3")) m.arch = RLVR_ARCH_QWEN3, m.qk_norm = 1;
  else
    return rlvr_error(RLVR_ERR_CONFIG, "model.init_arch: '%s' is not one of llama, qwen2, qwen3",
                      c->model_init_arch);
#define POSITIVE(field, key, limit)                                                                \
  if (c->field < 1 || c->field > (limit))                                                          \
    return rlvr_error(RLVR_ERR_CONFIG, key ": must be in 1..%d, is %lld", (int)(limit), (long long)c->field)
  POSITIVE(model_init_layers, "model.init_layers", 256);
  POSITIVE(model_init_hidden, "model.init_hidden", 65536);
  POSITIVE(model_init_heads, "model.init_heads", 1024);
  POSITIVE(model_init_kv_heads, "model.init_kv_heads", 1024);
  POSITIVE(model_init_intermediate, "model.init_intermediate", 1 << 20);
  POSITIVE(model_init_max_position, "model.init_max_position", 1 << 20);
#undef POSITIVE
  if (c->model_init_hidden % c->model_init_heads)
    return rlvr_error(RLVR_ERR_CONFIG, "model.init_heads: %lld does not divide model.init_hidden %lld",
                      (long long)c->model_init_heads, (long long)c->model_init_hidden);
  if ((c->model_init_hidden / c->model_init_heads) % 2)
    return rlvr_error(RLVR_ERR_CONFIG,
                      "model.init_heads: the head dimension model.init_hidden / model.init_heads = %lld "
                      "must be even (RoPE rotates pairs)",
                      (long long)(c->model_init_hidden / c->model_init_heads));
  if (c->model_init_heads % c->model_init_kv_heads)
    return rlvr_error(RLVR_ERR_CONFIG, "model.init_kv_heads: %lld does not divide model.init_heads %lld",
                      (long long)c->model_init_kv_heads, (long long)c->model_init_heads);
  if (!(c->model_init_rope_theta > 0))
    return rlvr_error(RLVR_ERR_CONFIG, "model.init_rope_theta: must be positive, is %g", c->model_init_rope_theta);
  m.vocab_size = RLVR_TINY_VOCAB;
  m.hidden_size = (int)c->model_init_hidden;
  m.intermediate_size = (int)c->model_init_intermediate;
  m.num_layers = (int)c->model_init_layers;
  m.num_heads = (int)c->model_init_heads;
  m.num_kv_heads = (int)c->model_init_kv_heads;
  m.head_dim = m.hidden_size / m.num_heads;
  m.max_position = (int)c->model_init_max_position;
  m.rope_theta = c->model_init_rope_theta;
  m.rms_eps = 1e-6;
  m.tie_embeddings = c->model_init_tie_embeddings;
  m.bos_token_id = -1;
  m.eos_token_ids[0] = RLVR_TINY_EOS;
  m.num_eos = 1;
  snprintf(m.torch_dtype, sizeof m.torch_dtype, "float32");
  int rc = rlvr_model_config_validate(&m);
  if (rc) return rlvr_error_wrap(rc, "model.init_*");
  *out = m;
  return RLVR_OK;
}

int rlvr_tiny_build(const rlvr_config *c, uint64_t seed, rlvr_model *m) {
  rlvr_model_config cfg;
  int rc = rlvr_tiny_config(c, &cfg);
  if (rc) return rc;
  rlvr_model_init_random(m, &cfg, seed);
  return RLVR_OK;
}

static int write_text(const char *dir, const char *name, const char *text) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return rlvr_error(RLVR_ERR_IO, "%s/%s: path too long", dir, name);
  return rlvr_file_write_atomic(path, text, strlen(text));
}

int rlvr_tiny_write_tokenizer(const char *dir, int max_position) {
  int rc = rlvr_mkdirs(dir);
  if (rc) return rc;
  char *tok = rlvr_tiny_tokenizer_json();
  rc = write_text(dir, "tokenizer.json", tok);
  free(tok);
  if (rc) return rc;
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  \"bos_token\": null,\n"
           "  \"eos_token\": \"<|endoftext|>\",\n  \"pad_token\": \"<|endoftext|>\",\n"
           "  \"model_max_length\": %d,\n  \"clean_up_tokenization_spaces\": false\n}\n",
           max_position);
  if ((rc = write_text(dir, "tokenizer_config.json", buf))) return rc;
  if ((rc = write_text(dir, "special_tokens_map.json",
                       "{\n  \"eos_token\": \"<|endoftext|>\",\n  \"pad_token\": \"<|endoftext|>\"\n}\n")))
    return rc;
  snprintf(buf, sizeof buf, "{\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d\n}\n", RLVR_TINY_EOS,
           RLVR_TINY_EOS);
  return write_text(dir, "generation_config.json", buf);
}

int rlvr_tiny_save(const rlvr_model *m, const char *dir) {
  int rc = rlvr_model_save(m, dir, NULL);
  if (rc) return rc;
  return rlvr_tiny_write_tokenizer(dir, m->cfg.max_position);
}
