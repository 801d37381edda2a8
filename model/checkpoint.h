/* checkpoint.h — Hugging Face model directories: reading and writing them.
 *
 * A directory holds config.json and either model.safetensors or shards named
 * by model.safetensors.index.json ({"weight_map": {tensor: file}}), plus the
 * tokenizer and generation files. rlvr reads F32, F16 and BF16 tensors
 * (converted exactly to float32) and writes F32 (or BF16 on request), so that
 * transformers' from_pretrained loads what rlvr wrote and the other way round.
 * docs/checkpoints.md lists every check and its error.
 *
 * The weights are memory-mapped and copied (converted) once into the model's
 * own float32 allocation, which training then updates in place; the mapping
 * is released before rlvr_model_load returns. */
#ifndef RLVR_CHECKPOINT_H
#define RLVR_CHECKPOINT_H

#include <stddef.h>

#include "model/model.h"

/* Parses the text of a config.json (len bytes; path names it in messages)
 * into *cfg, applying transformers' defaults for the architecture, and
 * checks that rlvr implements everything it asks for. Errors:
 * RLVR_ERR_FORMAT (not JSON, a field of the wrong type),
 * RLVR_ERR_UNSUPPORTED (an architecture or feature rlvr lacks: rope_scaling,
 * sliding windows, biases other than Qwen2's, an activation other than silu),
 * RLVR_ERR_MISMATCH (architectures and model_type disagree), RLVR_ERR_CONFIG
 * (sizes rlvr_model_config_validate refuses). The message names path and the
 * field. On error *cfg is untouched. */
int rlvr_hf_config_parse(const char *text, size_t len, const char *path, rlvr_model_config *cfg);

/* Reads <dir>/config.json with rlvr_hf_config_parse. */
int rlvr_hf_config_read(const char *dir, rlvr_model_config *cfg);

/* The text of a config.json for cfg that transformers loads as the same
 * model, with "torch_dtype": dtype ("float32", "bfloat16"). Caller frees. */
char *rlvr_hf_config_format(const rlvr_model_config *cfg, const char *dtype);

/* Loads the model directory dir into *m (allocated as rlvr_model_alloc does;
 * free with rlvr_model_free). Every tensor of the model's tensor table must be
 * present exactly once with exactly its shape; a tensor the table lacks is an
 * error, except lm_head.weight in a tied model, which is accepted only when
 * it equals model.embed_tokens.weight (transformers leaves it out when tied).
 * Errors name the file and the tensor or field: RLVR_ERR_IO (a missing file),
 * RLVR_ERR_FORMAT (a corrupt file), RLVR_ERR_UNSUPPORTED (a dtype or a
 * feature), RLVR_ERR_MISMATCH (missing, extra or misshapen tensors; shards
 * that disagree with the index), plus those of rlvr_hf_config_parse.
 * On error *m is untouched and nothing stays allocated or mapped. */
int rlvr_model_load(const char *dir, rlvr_model *m);

typedef struct {
  /* Copy tokenizer.json, tokenizer_config.json, special_tokens_map.json,
   * generation_config.json and chat_template.jinja from this directory when
   * present there; NULL copies nothing. */
  const char *tokenizer_dir;
  /* Split the weights into shards of at most this many bytes of tensor data
   * (a larger single tensor gets a shard of its own) with an index; 0 writes
   * one model.safetensors. */
  size_t max_shard_bytes;
  /* Store BF16 instead of F32 (rounded to nearest even). */
  int bf16;
} rlvr_save_options;

/* Writes m to dir (created if needed; opts NULL = defaults): the weights
 * first, then config.json, then the tokenizer files, each file atomically
 * (file.h). Writing one layout removes the other's entry file
 * (model.safetensors or model.safetensors.index.json) left from an earlier
 * save, so that readers cannot pick up the stale one. A crash midway leaves
 * each file whole but the directory may mix old and new files: write a new
 * checkpoint into a fresh directory when that matters. Errors: RLVR_ERR_IO
 * naming the file. */
int rlvr_model_save(const rlvr_model *m, const char *dir, const rlvr_save_options *opts);

#endif
