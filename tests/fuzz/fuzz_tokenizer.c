/* fuzz_tokenizer.c — libFuzzer target for model/tokenizer: the loader on
 * arbitrary tokenizer.json text, and encode/decode on arbitrary bytes.
 *
 * The first input byte picks the mode:
 *   even: the rest is tokenizer.json text; if it loads, a fixed sample is
 *         encoded and decoded with it;
 *   odd:  the rest is text, encoded with two built-in tokenizers, both with
 *         every byte in the vocabulary, Qwen2.5's pre-tokenizer regex and
 *         added tokens:
 *         A (no normalizer, no prefix space): the tokens' bytes must give the
 *           input back exactly, invalid UTF-8 included (abort otherwise);
 *         B (NFC, add_prefix_space, lstrip/rstrip/single_word/normalized
 *           added tokens, a BOS template): must not crash; decode must be
 *           valid UTF-8.
 * Seeds: tests/fuzz/corpus/tokenizer/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/tokenizer.h"

/* GPT-2's bytes_to_unicode, as UTF-8 (test-side copy, so the fuzzer does not
 * trust the code under test to build its own inputs). */
static void byte_char(int b, char out[4]) {
  int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  int cp = b;
  if (!printable) {
    int extra = 0;
    for (int x = 0; x < b; x++)
      if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) extra++;
    cp = 256 + extra;
  }
  memset(out, 0, 4);
  if (cp < 0x80) out[0] = (char)cp;
  else out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F));
}

/* A JSON string literal body for c (escapes " and \). */
static void json_char(const char *c, char *out) {
  if (c[0] == '"' || c[0] == '\\') sprintf(out, "\\%c", c[0]);
  else strcpy(out, c);
}

static char *build_json(int variant_b) {
  size_t cap = 1 << 16, n = 0;
  char *s = malloc(cap);
  char ch[4], esc[8], ch2[4], esc2[8];
  n += (size_t)sprintf(s + n, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
  if (variant_b) {
    n += (size_t)sprintf(s + n,
                         "{\"id\":266,\"content\":\"<|bos|>\",\"special\":true,\"normalized\":false},"
                         "{\"id\":267,\"content\":\"<mask>\",\"lstrip\":true,\"rstrip\":true,\"special\":true,\"normalized\":false},"
                         "{\"id\":261,\"content\":\"cat\",\"single_word\":true,\"normalized\":true},"
                         "{\"id\":268,\"content\":\"\\u00e9t\\u00e9\",\"normalized\":true,\"lstrip\":true}");
  } else {
    n += (size_t)sprintf(s + n,
                         "{\"id\":266,\"content\":\"<|im_start|>\",\"special\":true,\"normalized\":false},"
                         "{\"id\":267,\"content\":\"<|im_end|>\",\"special\":true,\"normalized\":false},"
                         "{\"id\":268,\"content\":\"<think>\",\"special\":false,\"normalized\":false}");
  }
  n += (size_t)sprintf(s + n, "],\"normalizer\":%s,", variant_b ? "{\"type\":\"NFC\"}" : "null");
  n += (size_t)sprintf(
      s + n,
      "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":"
      "{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| "
      "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
      "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":%s,"
      "\"trim_offsets\":false,\"use_regex\":false}]},",
      variant_b ? "true" : "false");
  if (variant_b)
    n += (size_t)sprintf(s + n,
                         "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":"
                         "{\"id\":\"<|bos|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                         "\"pair\":[],\"special_tokens\":{\"<|bos|>\":{\"id\":\"<|bos|>\",\"ids\":[266],"
                         "\"tokens\":[\"<|bos|>\"]}}},");
  else
    n += (size_t)sprintf(s + n, "\"post_processor\":null,");
  n += (size_t)sprintf(s + n,
                       "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
                       "\"use_regex\":true},\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,"
                       "\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":%s,\"vocab\":{",
                       variant_b ? "true" : "false");
  /* ids 0..255: the bytes; 256..265: merges of a few common pairs; the
   * added tokens above follow at 266.., or take the id of an equal vocab
   * token ("cat"), as tokenizers does */
  for (int b = 0; b < 256; b++) {
    byte_char(b, ch);
    json_char(ch, esc);
    n += (size_t)sprintf(s + n, "%s\"%s\":%d", b ? "," : "", esc, b);
  }
  static const char *pairs[][2] = {{" ", "t"}, {"h", "e"}, {" t", "he"}, {"i", "n"}, {"a", "t"},
                                   {"c", "at"}, {"\n", "\n"}, {" ", " "}, {"e", "r"}, {"o", "n"}};
  int np = (int)(sizeof pairs / sizeof pairs[0]);
  char merged[np][16];
  for (int i = 0; i < np; i++) {
    /* byte-level text of a + b */
    char buf[16] = {0};
    for (const char *p = pairs[i][0]; *p; p++) byte_char((unsigned char)*p, ch), strcat(buf, ch);
    for (const char *p = pairs[i][1]; *p; p++) byte_char((unsigned char)*p, ch), strcat(buf, ch);
    strcpy(merged[i], buf);
    n += (size_t)sprintf(s + n, ",\"%s\":%d", buf, 256 + i);
  }
  n += (size_t)sprintf(s + n, "},\"merges\":[");
  for (int i = 0; i < np; i++) {
    char a[16] = {0}, b[16] = {0};
    for (const char *p = pairs[i][0]; *p; p++) byte_char((unsigned char)*p, ch), strcat(a, ch);
    for (const char *p = pairs[i][1]; *p; p++) byte_char((unsigned char)*p, ch2), strcat(b, ch2);
    json_char(a, esc);
    json_char(b, esc2);
    n += (size_t)sprintf(s + n, "%s[\"%s\",\"%s\"]", i ? "," : "", a, b);
  }
  n += (size_t)sprintf(s + n, "]}}");
  (void)merged;
  return s;
}

static rlvr_tokenizer *tok_a, *tok_b;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_tokenizer: %s\n", what);
  abort();
}

/* Valid UTF-8 (decode output must be). */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t k = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                            : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (!k || i + k > n) return 0;
    for (size_t j = 1; j < k; j++)
      if ((s[i + j] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[i + 1] < 0xA0) return 0;
    if (c == 0xED && s[i + 1] > 0x9F) return 0;
    if (c == 0xF0 && s[i + 1] < 0x90) return 0;
    if (c == 0xF4 && s[i + 1] > 0x8F) return 0;
    i += k;
  }
  return 1;
}

static void encode_decode(rlvr_tokenizer *tok, const char *text, size_t len, int roundtrip) {
  int32_t *ids;
  size_t n;
  if (rlvr_tokenizer_encode_alloc(tok, text, len, !roundtrip, &ids, &n) != 0) return;
  if (n > rlvr_tokenizer_max_ids(tok, len)) fail("more ids than max_ids");
  if (roundtrip) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      const char *b;
      size_t bl;
      if (rlvr_tokenizer_token_bytes(tok, ids[i], &b, &bl) != 0) fail("encode gave an unknown id");
      if (at + bl > len || memcmp(text + at, b, bl) != 0) fail("token bytes do not give the input back");
      at += bl;
    }
    if (at != len) fail("token bytes are shorter than the input");
  }
  /* the fixed-buffer path agrees */
  int32_t small[8];
  size_t n2 = 0;
  int rc = rlvr_tokenizer_encode(tok, text, len, !roundtrip, small, 8, &n2);
  if (n2 != n || (rc == 0) != (n <= 8)) fail("encode and encode_alloc disagree");
  char *s;
  size_t sl;
  rlvr_tokenizer_decode(tok, ids, n, (int)(len & 1), &s, &sl);
  if (!valid_utf8((const unsigned char *)s, sl) || strlen(s) > sl) fail("decode is not valid UTF-8");
  free(s);
  free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!tok_a) {
    char *ja = build_json(0), *jb = build_json(1);
    if (rlvr_tokenizer_load_json(ja, strlen(ja), "fuzz-A", &tok_a) ||
        rlvr_tokenizer_load_json(jb, strlen(jb), "fuzz-B", &tok_b))
      fprintf(stderr, "%s\n", rlvr_error_message()), fail("built-in tokenizers do not load");
    free(ja);
    free(jb);
  }
  if (size == 0) return 0;
  const char *rest = (const char *)data + 1;
  size_t len = size - 1;
  if ((data[0] & 1) == 0) {
    rlvr_tokenizer *tok = NULL;
    if (rlvr_tokenizer_load_json(rest, len, "fuzz", &tok) == 0) {
      static const char sample[] = "Hello, world! 안녕 你好 🙂 <|im_end|> \xff\xfe 123456\r\n\t x";
      encode_decode(tok, sample, sizeof sample - 1, 0);
      rlvr_tokenizer_free(tok);
    }
    return 0;
  }
  encode_decode(tok_a, rest, len, 1);
  encode_decode(tok_b, rest, len, 0);
  return 0;
}
