/* tokenizer.h — byte-level BPE from a Hugging Face tokenizer.json, encoding
 * and decoding exactly as the `tokenizers` library does (checked against it on
 * the real Qwen2.5, Qwen3, Llama 3 and Llama 3.2 files: docs/tokenizer.md).
 *
 * The pipeline, in HF's order:
 *   1. added tokens whose "normalized" is false are split out of the raw text
 *      (leftmost-longest; single_word, lstrip, rstrip as HF applies them);
 *   2. the normalizer (NFC, NFD, NFKC, NFKD or a Sequence of them) runs on the
 *      rest, then added tokens with "normalized": true are split out of that;
 *   3. the pre_tokenizer (Split with a regex or string, then ByteLevel, which
 *      must come last) cuts each remaining piece into pre-tokens;
 *   4. each pre-token's bytes are merged by BPE rank into vocabulary ids;
 *   5. with add_special, the post_processor's TemplateProcessing adds its
 *      special tokens (Llama 3's BOS); ByteLevel post-processing only moves
 *      offsets and changes no ids.
 * Decoding maps ids back to tokens (added tokens first, then the vocabulary),
 * drops special ones on request, and runs the ByteLevel decoder: bytes, then
 * lossy UTF-8 (each invalid sequence becomes U+FFFD, as Rust's
 * String::from_utf8_lossy does). Ids that name no token are skipped, as HF does.
 *
 * Anything in tokenizer.json that rlvr does not implement (another model type,
 * normalizer, pre-tokenizer, decoder or post-processor, BPE dropout, padding,
 * truncation, an unknown key) fails loading with RLVR_ERR_UNSUPPORTED; a file
 * that is not a tokenizer.json fails with RLVR_ERR_FORMAT; both name the file
 * and the field ("tok.json: model.merges[12]: ...").
 *
 * Input text is bytes. Valid UTF-8 behaves exactly as HF. HF cannot take
 * invalid UTF-8 (Python strings are Unicode), so rlvr defines it: invalid
 * bytes are never matched by the pre-tokenizer's regex nor changed by the
 * normalizer, so they end up in pre-tokens of their own and encode as their
 * byte-level tokens; concatenating rlvr_tokenizer_token_bytes of the ids gives
 * back the input bytes whenever every byte is in the vocabulary and no
 * normalizer or add_prefix_space changes the text.
 *
 * Thread safety: a loaded tokenizer is immutable; encode, decode and the
 * lookups may run concurrently on it from any number of threads. */
#ifndef RLVR_TOKENIZER_H
#define RLVR_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rlvr_tokenizer rlvr_tokenizer;

/* Loads path, a tokenizer.json or a directory holding one. If a
 * tokenizer_config.json sits beside it, its bos_token, eos_token and
 * pad_token (strings or {"content": ...} objects) give the ids returned by
 * rlvr_tokenizer_bos_id and friends; nothing else of that file is used.
 * On success *out owns the tokenizer (free with rlvr_tokenizer_free). On error
 * returns RLVR_ERR_IO, RLVR_ERR_FORMAT or RLVR_ERR_UNSUPPORTED with a message
 * naming the file and field; *out is untouched. */
int rlvr_tokenizer_load(const char *path, rlvr_tokenizer **out);

/* The same from tokenizer.json text in memory (len bytes, no NUL needed);
 * name is used in error messages. No tokenizer_config.json is read. */
int rlvr_tokenizer_load_json(const char *json, size_t len, const char *name,
                             rlvr_tokenizer **out);

/* Accepts NULL. */
void rlvr_tokenizer_free(rlvr_tokenizer *tok);

/* Encodes len bytes of text into at most max ids. add_special applies the
 * post_processor's special tokens (HF's add_special_tokens=True); special
 * tokens written in the text are always recognised, as HF does.
 * On success writes the ids and *n. If they do not fit, returns RLVR_ERR_RANGE
 * and writes nothing but *n, the count needed; rlvr_tokenizer_max_ids(tok, len)
 * is always enough. A regex engine failure (match limit on a pathological
 * pattern) returns RLVR_ERR_RANGE too, with *n untouched. */
int rlvr_tokenizer_encode(const rlvr_tokenizer *tok, const char *text, size_t len,
                          int add_special, int32_t *ids, size_t max, size_t *n);

/* The same into a malloc'ed array the caller frees (*ids untouched on error). */
int rlvr_tokenizer_encode_alloc(const rlvr_tokenizer *tok, const char *text, size_t len,
                                int add_special, int32_t **ids, size_t *n);

/* An upper bound on the ids that encoding len bytes can produce. */
size_t rlvr_tokenizer_max_ids(const rlvr_tokenizer *tok, size_t len);

/* Decodes n ids into a malloc'ed, NUL-terminated UTF-8 string (*out, *out_len
 * without the NUL); skip_special drops tokens marked special in added_tokens
 * (HF's skip_special_tokens). Ids naming no token are skipped. Never fails on
 * ids; returns RLVR_OK. */
int rlvr_tokenizer_decode(const rlvr_tokenizer *tok, const int32_t *ids, size_t n,
                          int skip_special, char **out, size_t *out_len);

/* The id of a token given as written in tokenizer.json ("<|im_end|>", "Ġthe"),
 * added tokens first; -1 if there is none. */
int32_t rlvr_tokenizer_token_id(const rlvr_tokenizer *tok, const char *token);

/* The token's text as written in tokenizer.json; NULL for an unknown id.
 * Points into tok. */
const char *rlvr_tokenizer_token_str(const rlvr_tokenizer *tok, int32_t id);

/* The bytes the decoder turns the token into before the UTF-8 repair (for
 * streaming: decode by concatenating these and cutting at UTF-8 boundaries).
 * Returns 0 and sets *bytes, *len (pointing into tok) or -1 for an unknown id. */
int rlvr_tokenizer_token_bytes(const rlvr_tokenizer *tok, int32_t id, const char **bytes,
                               size_t *len);

/* Whether the id is an added token marked "special": true. */
int rlvr_tokenizer_is_special(const rlvr_tokenizer *tok, int32_t id);

/* One more than the largest id of the vocabulary and added tokens (the model's
 * embedding may be larger; ids beyond this decode to nothing). */
int32_t rlvr_tokenizer_vocab_size(const rlvr_tokenizer *tok);

/* Special ids as the files know them, -1 where they do not say:
 * bos: tokenizer_config.json's bos_token, else the special token that the
 *      post_processor's template puts first (Llama 3's <|begin_of_text|>);
 * eos, pad: tokenizer_config.json's eos_token and pad_token. */
int32_t rlvr_tokenizer_bos_id(const rlvr_tokenizer *tok);
int32_t rlvr_tokenizer_eos_id(const rlvr_tokenizer *tok);
int32_t rlvr_tokenizer_pad_id(const rlvr_tokenizer *tok);

#endif
