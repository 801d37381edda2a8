/* test_tokenizer_errors.c — bad tokenizer files give an error that names the
 * file and field (RLVR_ERR_FORMAT for what is not a tokenizer.json,
 * RLVR_ERR_UNSUPPORTED for what rlvr does not implement), never a crash; and
 * the API's edges: buffer too small, unknown ids, invalid UTF-8 input. */
#include <stdarg.h>
#include <unistd.h>

#include "tok_fixture.h"

/* A small valid tokenizer.json, with each part replaceable. */
typedef struct {
  const char *added, *norm, *pre, *post, *dec, *model, *extra;
  const char *trunc, *pad, *added_raw; /* whole values of those fields */
} parts;

static const char *VOCAB = "{\"a\":0,\"b\":1,\"ab\":2,\"Ġ\":3,\"c\":4,\"<s>\":5}";
static const char *BL = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";

static char *build(parts p) {
  char model[1024];
  snprintf(model, sizeof model,
           "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
           "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,"
           "\"ignore_merges\":false,\"vocab\":%s,\"merges\":[\"a b\"]}",
           VOCAB);
  char *out = malloc(8192);
  snprintf(out, 8192,
           "{\"version\":\"1.0\",\"truncation\":%s,\"padding\":%s,\"added_tokens\":%s%s%s,"
           "\"normalizer\":%s,\"pre_tokenizer\":%s,\"post_processor\":%s,\"decoder\":%s,\"model\":%s%s}",
           p.trunc ? p.trunc : "null", p.pad ? p.pad : "null", p.added_raw ? "" : "[",
           p.added_raw ? p.added_raw : p.added ? p.added : "", p.added_raw ? "" : "]",
           p.norm ? p.norm : "null", p.pre ? p.pre : BL,
           p.post ? p.post : "null", p.dec ? p.dec : BL, p.model ? p.model : model,
           p.extra ? p.extra : "");
  return out;
}

/* Loads json; expects code and every substring (NULL-terminated list). */
static void expect_err(const char *label, const char *json, int code, ...) {
  rlvr_tokenizer *tok = (rlvr_tokenizer *)0x1; /* must stay untouched */
  int rc = rlvr_tokenizer_load_json(json, strlen(json), "bad.json", &tok);
  const char *msg = rlvr_error_message();
  CHECK_MSG(rc == code, "%s: got code %d (%s), want %d", label, rc, msg, code);
  CHECK_MSG(tok == (rlvr_tokenizer *)0x1, "%s: output changed on error", label);
  CHECK_MSG(strstr(msg, "bad.json") != NULL, "%s: message does not name the file: %s", label, msg);
  va_list ap;
  va_start(ap, code);
  for (const char *s; (s = va_arg(ap, const char *));)
    CHECK_MSG(strstr(msg, s) != NULL, "%s: message lacks \"%s\": %s", label, s, msg);
  va_end(ap);
  if (rc == code) printf("ok   %-28s %s\n", label, msg);
  if (rc == RLVR_OK && tok != (rlvr_tokenizer *)0x1) rlvr_tokenizer_free(tok);
}

static void expect_err_parts(const char *label, parts p, int code, const char *s1, const char *s2) {
  char *json = build(p);
  expect_err(label, json, code, s1, s2, (const char *)NULL);
  free(json);
}

static void bad_files(void) {
  expect_err("not json", "this is not json", RLVR_ERR_FORMAT, "not JSON", (const char *)NULL);
  expect_err("truncated json", "{\"version\":\"1.0\",\"model\":{\"vocab\":{\"a\":", RLVR_ERR_FORMAT,
             "not JSON", (const char *)NULL);
  expect_err("array", "[1, 2]", RLVR_ERR_FORMAT, "not a tokenizer.json", (const char *)NULL);
  expect_err("empty object", "{}", RLVR_ERR_FORMAT, "version", (const char *)NULL);
  expect_err("version 2", "{\"version\":\"2.0\",\"model\":{}}", RLVR_ERR_FORMAT, "version",
             (const char *)NULL);
  expect_err("no model", "{\"version\":\"1.0\"}", RLVR_ERR_FORMAT, "model", "missing",
             (const char *)NULL);
  expect_err("config.json", "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64}",
             RLVR_ERR_FORMAT, "version", (const char *)NULL);

  char m[1024];
  expect_err_parts("model not object", (parts){.model = "[1]"}, RLVR_ERR_FORMAT, "model", "object");
  expect_err_parts("no vocab", (parts){.model = "{\"type\":\"BPE\",\"merges\":[]}"}, RLVR_ERR_FORMAT,
                   "model.vocab", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s}", VOCAB);
  expect_err_parts("no merges", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[\"a b\",\"ab zz\"]}", VOCAB);
  expect_err_parts("merge unknown token", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges[1]",
                   "\"zz\" is not in model.vocab");
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[[\"b\",\"c\"]]}", VOCAB);
  expect_err_parts("merge result unknown", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges[0]",
                   "\"bc\" is not in model.vocab");
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[\"a b c\"]}", VOCAB);
  expect_err_parts("merge three parts", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges[0]",
                   "one space");
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[[\"a\"]]}", VOCAB);
  expect_err_parts("merge list of one", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges[0]",
                   NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[7]}", VOCAB);
  expect_err_parts("merge number", (parts){.model = m}, RLVR_ERR_FORMAT, "model.merges[0]", NULL);
  expect_err_parts("merges object",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":{}}"},
                   RLVR_ERR_FORMAT, "model.merges", "array");
  expect_err_parts("vocab id string",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_err_parts("vocab id negative",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_err_parts("vocab id fraction",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":1.5},\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_err_parts("vocab id huge",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":1e12},\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_err_parts("vocab duplicate id",
                   (parts){.model = "{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab[\"b\"]", "two tokens");
  expect_err_parts("vocab array", (parts){.model = "{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}"},
                   RLVR_ERR_FORMAT, "model.vocab", NULL);
  expect_err_parts("WordPiece", (parts){.model = "{\"type\":\"WordPiece\",\"vocab\":{}}"},
                   RLVR_ERR_UNSUPPORTED, "model.type", "WordPiece");
  expect_err_parts("Unigram", (parts){.model = "{\"type\":\"Unigram\",\"vocab\":[]}"},
                   RLVR_ERR_UNSUPPORTED, "model.type", "Unigram");
  expect_err_parts("type not string", (parts){.model = "{\"type\":3,\"vocab\":{}}"},
                   RLVR_ERR_FORMAT, "model.type", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"dropout\":0.1}", VOCAB);
  expect_err_parts("dropout", (parts){.model = m}, RLVR_ERR_UNSUPPORTED, "model.dropout", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"byte_fallback\":true}", VOCAB);
  expect_err_parts("byte_fallback", (parts){.model = m}, RLVR_ERR_UNSUPPORTED, "model.byte_fallback",
                   NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"continuing_subword_prefix\":\"##\"}",
           VOCAB);
  expect_err_parts("subword prefix", (parts){.model = m}, RLVR_ERR_UNSUPPORTED,
                   "model.continuing_subword_prefix", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"unk_token\":\"<unk>\"}", VOCAB);
  expect_err_parts("unk not in vocab", (parts){.model = m}, RLVR_ERR_FORMAT, "model.unk_token", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"fuse_unk\":\"yes\"}", VOCAB);
  expect_err_parts("fuse_unk string", (parts){.model = m}, RLVR_ERR_FORMAT, "fuse_unk", NULL);
  snprintf(m, sizeof m, "{\"type\":\"BPE\",\"vocab\":%s,\"merges\":[],\"surprise\":1}", VOCAB);
  expect_err_parts("unknown model key", (parts){.model = m}, RLVR_ERR_UNSUPPORTED, "model",
                   "\"surprise\"");

  expect_err_parts("unknown top key", (parts){.extra = ",\"extra\":{}"}, RLVR_ERR_UNSUPPORTED,
                   "\"extra\"", NULL);
  expect_err_parts("padding", (parts){.pad = "{\"strategy\":\"BatchLongest\"}"},
                   RLVR_ERR_UNSUPPORTED, "padding", NULL);
  expect_err_parts("truncation", (parts){.trunc = "{\"max_length\":5}"}, RLVR_ERR_UNSUPPORTED,
                   "truncation", NULL);
  expect_err_parts("key twice", (parts){.extra = ",\"padding\":{\"strategy\":\"BatchLongest\"}"},
                   RLVR_ERR_FORMAT, "padding", "twice");

  expect_err_parts("normalizer Lowercase", (parts){.norm = "{\"type\":\"Lowercase\"}"},
                   RLVR_ERR_UNSUPPORTED, "normalizer", "Lowercase");
  expect_err_parts("normalizer in sequence",
                   (parts){.norm = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Strip\"}]}"},
                   RLVR_ERR_UNSUPPORTED, "normalizer.normalizers[1]", "Strip");
  expect_err_parts("normalizer no type", (parts){.norm = "{}"}, RLVR_ERR_FORMAT, "normalizer",
                   "type");

  expect_err_parts("pre Whitespace", (parts){.pre = "{\"type\":\"Whitespace\"}"},
                   RLVR_ERR_UNSUPPORTED, "pre_tokenizer", "Whitespace");
  expect_err_parts("pre Metaspace",
                   (parts){.pre = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Metaspace\"}]}"},
                   RLVR_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0]", "Metaspace");
  expect_err_parts("pre null", (parts){.pre = "null"}, RLVR_ERR_UNSUPPORTED, "pre_tokenizer",
                   "ByteLevel");
  expect_err_parts("pre split only",
                   (parts){.pre = "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false}"},
                   RLVR_ERR_UNSUPPORTED, "pre_tokenizer", "ByteLevel");
  char pre[1024];
  snprintf(pre, sizeof pre,
           "{\"type\":\"Sequence\",\"pretokenizers\":[%s,{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},"
           "\"behavior\":\"Isolated\",\"invert\":false}]}",
           BL);
  expect_err_parts("ByteLevel not last", (parts){.pre = pre}, RLVR_ERR_UNSUPPORTED,
                   "pre_tokenizer.pretokenizers[1]", "last");
  const char *split_fmt =
      "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":%s,\"behavior\":%s,"
      "\"invert\":false},%s]}";
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"(a\"}", "\"Isolated\"", BL);
  expect_err_parts("invalid regex", (parts){.pre = pre}, RLVR_ERR_FORMAT,
                   "pre_tokenizer.pretokenizers[0].pattern.Regex", "does not compile");
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"[a-\"}", "\"Isolated\"", BL);
  expect_err_parts("unterminated class", (parts){.pre = pre}, RLVR_ERR_FORMAT,
                   "pattern.Regex", NULL);
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"\\\\w+\"}", "\"Isolated\"", BL);
  expect_err_parts("regex \\w", (parts){.pre = pre}, RLVR_ERR_UNSUPPORTED, "pattern.Regex", "\\w");
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"[[:alpha:]]\"}", "\"Isolated\"", BL);
  expect_err_parts("regex POSIX class", (parts){.pre = pre}, RLVR_ERR_UNSUPPORTED, "pattern.Regex",
                   NULL);
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"(?m:a.)\"}", "\"Isolated\"", BL);
  expect_err_parts("regex (?m", (parts){.pre = pre}, RLVR_ERR_UNSUPPORTED, "pattern.Regex", NULL);
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"\\\\p{NoSuchProperty}\"}", "\"Isolated\"", BL);
  expect_err_parts("regex bad property", (parts){.pre = pre}, RLVR_ERR_FORMAT, "pattern.Regex", NULL);
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"a\",\"String\":\"b\"}", "\"Isolated\"", BL);
  expect_err_parts("pattern two kinds", (parts){.pre = pre}, RLVR_ERR_FORMAT, "pattern", NULL);
  snprintf(pre, sizeof pre, split_fmt, "\"a\"", "\"Isolated\"", BL);
  expect_err_parts("pattern string", (parts){.pre = pre}, RLVR_ERR_FORMAT, "pattern", NULL);
  snprintf(pre, sizeof pre, split_fmt, "{\"Regex\":\"a\"}", "\"Sideways\"", BL);
  expect_err_parts("bad behavior", (parts){.pre = pre}, RLVR_ERR_FORMAT, "behavior", NULL);
  expect_err_parts("ByteLevel no prefix field", (parts){.pre = "{\"type\":\"ByteLevel\"}"},
                   RLVR_ERR_FORMAT, "add_prefix_space", NULL);
  expect_err_parts("ByteLevel bool as string",
                   (parts){.pre = "{\"type\":\"ByteLevel\",\"add_prefix_space\":\"no\"}"},
                   RLVR_ERR_FORMAT, "add_prefix_space", NULL);

  expect_err_parts("decoder WordPiece", (parts){.dec = "{\"type\":\"WordPiece\",\"prefix\":\"##\"}"},
                   RLVR_ERR_UNSUPPORTED, "decoder", "WordPiece");
  expect_err_parts("decoder Fuse in sequence",
                   (parts){.dec = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"}]}"},
                   RLVR_ERR_UNSUPPORTED, "decoder.decoders[0]", NULL);
  expect_err_parts("post Bert",
                   (parts){.post = "{\"type\":\"BertProcessing\",\"sep\":[\"b\",1],\"cls\":[\"a\",0]}"},
                   RLVR_ERR_UNSUPPORTED, "post_processor", "BertProcessing");
  expect_err_parts("template unknown special",
                   (parts){.post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<x>\",\"type_id\":0}},"
                                   "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}"},
                   RLVR_ERR_FORMAT, "post_processor.single[0]", "<x>");
  expect_err_parts("template without A",
                   (parts){.post = "{\"type\":\"TemplateProcessing\",\"single\":[],\"pair\":[],\"special_tokens\":{}}"},
                   RLVR_ERR_FORMAT, "post_processor", "A");

  expect_err_parts("added not array", (parts){.added_raw = "{}"}, RLVR_ERR_FORMAT, "added_tokens",
                   NULL);
  expect_err_parts("added wrong id",
                   (parts){.added = "{\"id\":9,\"content\":\"<x>\",\"single_word\":false,\"lstrip\":false,"
                                    "\"rstrip\":false,\"normalized\":false,\"special\":true}"},
                   RLVR_ERR_UNSUPPORTED, "added_tokens[0]", "id 6");
  expect_err_parts("added vocab token wrong id",
                   (parts){.added = "{\"id\":6,\"content\":\"<s>\",\"special\":true}"},
                   RLVR_ERR_UNSUPPORTED, "added_tokens[0]", "id 5");
  expect_err_parts("added empty",
                   (parts){.added = "{\"id\":6,\"content\":\"\",\"special\":true}"}, RLVR_ERR_FORMAT,
                   "added_tokens[0]", "content");
  expect_err_parts("added twice",
                   (parts){.added = "{\"id\":5,\"content\":\"<s>\",\"special\":true},{\"id\":5,\"content\":\"<s>\"}"},
                   RLVR_ERR_FORMAT, "added_tokens[1]", "twice");
  expect_err_parts("added unknown key",
                   (parts){.added = "{\"id\":5,\"content\":\"<s>\",\"special\":true,\"weird\":1}"},
                   RLVR_ERR_UNSUPPORTED, "added_tokens[0]", "weird");
  expect_err_parts("added id string",
                   (parts){.added = "{\"id\":\"5\",\"content\":\"<s>\",\"special\":true}"},
                   RLVR_ERR_FORMAT, "added_tokens[0].id", NULL);

  /* Raw invalid UTF-8 inside JSON strings (cJSON does not check it) loads or
   * fails cleanly, even through the normalizer. */
  {
    char *j = build((parts){.norm = "{\"type\":\"NFKC\"}",
                            .added = "{\"id\":6,\"content\":\"x\xff\xc3\",\"normalized\":true}"});
    rlvr_tokenizer *t = NULL;
    int rc = rlvr_tokenizer_load_json(j, strlen(j), "bad.json", &t);
    CHECK_MSG(rc == RLVR_OK, "invalid UTF-8 added token: %s", rlvr_error_message());
    if (t) {
      int32_t ids[16];
      size_t n = 0;
      CHECK(rlvr_tokenizer_encode(t, "ax\xff\xc3" "b", 5, 0, ids, 16, &n) == RLVR_OK && n == 3 && ids[1] == 6);
      rlvr_tokenizer_free(t);
    }
    free(j);
  }

  /* sanity: the base itself loads */
  char *ok = build((parts){0});
  rlvr_tokenizer *tok = NULL;
  CHECK_MSG(rlvr_tokenizer_load_json(ok, strlen(ok), "base", &tok) == RLVR_OK, "base: %s",
            rlvr_error_message());
  rlvr_tokenizer_free(tok);
  free(ok);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f);
  fputs(text, f);
  fclose(f);
}

static void bad_paths(void) {
  rlvr_tokenizer *tok = NULL;
  int rc = rlvr_tokenizer_load("/nonexistent/dir/tokenizer.json", &tok);
  CHECK_MSG(rc == RLVR_ERR_IO && strstr(rlvr_error_message(), "/nonexistent/dir/tokenizer.json"),
            "missing file: %d %s", rc, rlvr_error_message());
  char dir[] = "/tmp/rlvr_tok_XXXXXX";
  RLVR_CHECK(mkdtemp(dir));
  rc = rlvr_tokenizer_load(dir, &tok);
  CHECK_MSG(rc == RLVR_ERR_IO && strstr(rlvr_error_message(), "tokenizer.json"),
            "directory without tokenizer.json: %d %s", rc, rlvr_error_message());
  char path[256], cfg[256];
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
  char *json = build((parts){.added = "{\"id\":5,\"content\":\"<s>\",\"special\":true}"});
  write_file(path, json);
  free(json);
  write_file(cfg, "{\"bos_token\":\"<s>\",\"eos_token\":{\"content\":\"</s>\"}}");
  rc = rlvr_tokenizer_load(dir, &tok);
  CHECK_MSG(rc == RLVR_ERR_FORMAT && strstr(rlvr_error_message(), "tokenizer_config.json") &&
                strstr(rlvr_error_message(), "eos_token"),
            "config naming an unknown token: %d %s", rc, rlvr_error_message());
  write_file(cfg, "{\"bos_token\":\"<s>\",\"eos_token\":{\"content\":\"<s>\"},\"pad_token\":null}");
  tok = NULL;
  rc = rlvr_tokenizer_load(dir, &tok);
  CHECK_MSG(rc == RLVR_OK, "good config: %s", rlvr_error_message());
  if (tok) {
    CHECK(rlvr_tokenizer_bos_id(tok) == 5 && rlvr_tokenizer_eos_id(tok) == 5 &&
          rlvr_tokenizer_pad_id(tok) == -1);
    rlvr_tokenizer_free(tok);
  }
  write_file(cfg, "not json");
  rc = rlvr_tokenizer_load(path, &tok);
  CHECK_MSG(rc == RLVR_ERR_FORMAT && strstr(rlvr_error_message(), "tokenizer_config.json"),
            "config not json: %d %s", rc, rlvr_error_message());
  unlink(cfg);
  unlink(path);
  rmdir(dir);
}

/* Encode and decode edges on the tiny trained tokenizer (every byte in it). */
static void api_edges(void) {
  rlvr_tokenizer *tok = NULL;
  int rc = rlvr_tokenizer_load("tests/fixtures/tokenizers/tiny/tokenizer.json", &tok);
  CHECK_MSG(rc == RLVR_OK, "tiny: %s", rlvr_error_message());
  if (rc) return;
  const char *text = "Hello, world! <|im_start|>";
  size_t len = strlen(text), n = 12345;
  int32_t ids[4] = {-7, -7, -7, -7};
  rc = rlvr_tokenizer_encode(tok, text, len, 0, ids, 2, &n);
  CHECK_MSG(rc == RLVR_ERR_RANGE && n > 2 && ids[0] == -7,
            "small buffer: rc %d n %zu ids[0] %d", rc, n, ids[0]);
  size_t need = n;
  int32_t *big = malloc(rlvr_tokenizer_max_ids(tok, len) * sizeof *big);
  rc = rlvr_tokenizer_encode(tok, text, len, 0, big, rlvr_tokenizer_max_ids(tok, len), &n);
  CHECK(rc == RLVR_OK && n == need);
  CHECK(big[n - 1] == rlvr_tokenizer_token_id(tok, "<|im_start|>"));
  CHECK(rlvr_tokenizer_is_special(tok, big[n - 1]));
  CHECK(!rlvr_tokenizer_is_special(tok, big[0]) && !rlvr_tokenizer_is_special(tok, -1));
  CHECK(rlvr_tokenizer_token_id(tok, "no such token") == -1);
  CHECK(rlvr_tokenizer_token_str(tok, -1) == NULL);
  CHECK(rlvr_tokenizer_token_str(tok, rlvr_tokenizer_vocab_size(tok)) == NULL);
  CHECK(strcmp(rlvr_tokenizer_token_str(tok, big[n - 1]), "<|im_start|>") == 0);
  free(big);

  /* empty text */
  rc = rlvr_tokenizer_encode(tok, "", 0, 1, ids, 4, &n);
  CHECK(rc == RLVR_OK && n == 0);

  /* Invalid UTF-8 never fails; the tokens' bytes give back the input. */
  static const char bad[] = "ab\xff\xfe cd \xc3 \xe2\x82 caf\xc3\xa9 \xed\xa0\x80 \xf4\x90\x80\x80 "
                            "\xc0\xaf <|im_end|>\x80\n\n\xf0\x9f\x98";
  size_t blen = sizeof bad - 1;
  int32_t *out;
  rc = rlvr_tokenizer_encode_alloc(tok, bad, blen, 0, &out, &n);
  CHECK_MSG(rc == RLVR_OK, "invalid UTF-8: %s", rlvr_error_message());
  if (rc == RLVR_OK) {
    char *cat = malloc(blen + 64);
    size_t clen = 0;
    for (size_t i = 0; i < n; i++) {
      const char *b;
      size_t bl;
      CHECK(rlvr_tokenizer_token_bytes(tok, out[i], &b, &bl) == 0);
      if (clen + bl <= blen + 64) memcpy(cat + clen, b, bl);
      clen += bl;
    }
    CHECK_MSG(clen == blen && memcmp(cat, bad, blen) == 0, "token bytes do not give back the input");
    char *dec;
    size_t dlen;
    rlvr_tokenizer_decode(tok, out, n, 0, &dec, &dlen);
    /* Each maximal ill-formed subpart is one U+FFFD: \xff, \xfe, \xc3, \xe2\x82,
     * \xed, \xa0, \x80 (of \xed\xa0\x80), \xf4, \x90, \x80, \x80, \xc0, \xaf,
     * \x80, \xf0\x9f\x98. */
    static const char want[] =
        "ab\xef\xbf\xbd\xef\xbf\xbd cd \xef\xbf\xbd \xef\xbf\xbd caf\xc3\xa9 "
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
        "\xef\xbf\xbd\xef\xbf\xbd <|im_end|>\xef\xbf\xbd\n\n\xef\xbf\xbd";
    CHECK_MSG(dlen == sizeof want - 1 && memcmp(dec, want, dlen) == 0, "lossy decode: got %s", dec);
    free(dec);
    free(cat);
    free(out);
  }

  /* Unknown ids are skipped by decode. */
  int32_t odd[] = {-5, rlvr_tokenizer_vocab_size(tok), INT32_MAX,
                   rlvr_tokenizer_token_id(tok, "a")};
  char *dec;
  size_t dlen;
  rlvr_tokenizer_decode(tok, odd, 4, 0, &dec, &dlen);
  CHECK_MSG(strcmp(dec, "a") == 0 && dlen == 1, "unknown ids: got \"%s\"", dec);
  free(dec);
  rlvr_tokenizer_decode(tok, NULL, 0, 1, &dec, &dlen);
  CHECK(dlen == 0 && dec[0] == 0);
  free(dec);
  rlvr_tokenizer_free(tok);
  rlvr_tokenizer_free(NULL);
}

int main(void) {
  bad_files();
  bad_paths();
  api_edges();
  return test_done();
}
