/* tiny.h — a small model built from scratch: a byte-level tokenizer and a
 * randomly initialised Llama-family decoder, written as a Hugging Face model
 * directory that rlvr and transformers both load. This is what the default
 * run (`rlvr train` with no arguments) and `rlvr sft --init tiny` start from.
 *
 * The tokenizer (rlvr_tiny_tokenizer_json) is byte-level BPE with no merges:
 *   ids 0..255     one per byte, id = the byte's value, each written with
 *                  GPT-2's ByteLevel character for that byte ("0" is id 48,
 *                  a space is "Ġ", id 32);
 *   id 256         <|endoftext|>, special: the end of a completion (EOS, pad);
 *   ids 257..260   <think>, </think>, <answer>, </answer>: added tokens that
 *                  are not special, so they survive skip_special decoding and
 *                  the verifiers see them as text.
 * Every text encodes (any byte has a token), a prompt and a completion
 * encoded apart concatenate to the encoding of their concatenation (no
 * merges cross the seam), and a tag costs the model one prediction instead
 * of eight: short sequences are what make a tiny model fast to train.
 *
 * The model's sizes come from the config's model.init_* keys; vocab_size is
 * the tokenizer's 261, EOS is 256, there is no BOS. */
#ifndef RLVR_TINY_H
#define RLVR_TINY_H

#include <stdint.h>

#include "core/config.h"
#include "model/model.h"

enum {
  RLVR_TINY_VOCAB = 261,
  RLVR_TINY_EOS = 256,
  RLVR_TINY_THINK = 257,
  RLVR_TINY_THINK_END = 258,
  RLVR_TINY_ANSWER = 259,
  RLVR_TINY_ANSWER_END = 260,
};

/* The text of the tokenizer.json described above; caller frees. */
char *rlvr_tiny_tokenizer_json(void);

/* The model config that model.init_* ask for (arch, layers, hidden size,
 * heads, kv heads, MLP size, positions, rope theta, tied embeddings), with
 * the tokenizer's vocabulary and EOS. Returns RLVR_OK, or RLVR_ERR_CONFIG
 * naming the key whose value cannot make a model (a hidden size that the
 * heads do not divide, an odd head dimension, ...); *out untouched then. */
int rlvr_tiny_config(const rlvr_config *c, rlvr_model_config *out);

/* rlvr_tiny_config, then a model initialised as transformers initialises a
 * fresh one (rlvr_model_init_random: normal(0, 0.02), unit norms), seeded by
 * seed. On error *m is untouched. Free with rlvr_model_free. */
int rlvr_tiny_build(const rlvr_config *c, uint64_t seed, rlvr_model *m);

/* Writes tokenizer.json, tokenizer_config.json (eos and pad <|endoftext|>),
 * special_tokens_map.json and generation_config.json into dir (created if
 * needed), each atomically. RLVR_ERR_IO naming the file on failure. */
int rlvr_tiny_write_tokenizer(const char *dir, int max_position);

/* rlvr_model_save of m (F32, one file) plus rlvr_tiny_write_tokenizer: a
 * complete model directory. */
int rlvr_tiny_save(const rlvr_model *m, const char *dir);

#endif
