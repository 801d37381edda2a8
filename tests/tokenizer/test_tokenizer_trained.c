/* test_tokenizer_trained.c — parity with Hugging Face tokenizers on tiny
 * byte-level BPE tokenizers trained by tokenizers' BpeTrainer, and on
 * variants of them that switch on each option rlvr implements: prefix space,
 * string and list merges, ignore_merges, unk and fuse_unk, bytes missing from
 * the vocabulary, NFC/NFD/NFKC/NFKD, Split with every behavior and invert,
 * String patterns, added tokens with lstrip/rstrip/single_word/normalized,
 * TemplateProcessing, no decoder. Fixture: tests/fixtures/tokenizers/
 * trained.json (tests/ref/make_tokenizer_fixtures.py), tokenizers inline. */
#include "tok_fixture.h"

int main(void) {
  cJSON *root = fx_load("tests/fixtures/tokenizers/trained.json");
  const cJSON *texts = cJSON_GetObjectItemCaseSensitive(root, "texts");
  const cJSON *variants = cJSON_GetObjectItemCaseSensitive(root, "variants");
  int n = 0;
  for (const cJSON *v = variants->child; v; v = v->next, n++) {
    char *json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "tokenizer"));
    rlvr_tokenizer *tok = NULL;
    int rc = rlvr_tokenizer_load_json(json, strlen(json), v->string, &tok);
    free(json);
    CHECK_MSG(rc == RLVR_OK, "%s: load: %s", v->string, rlvr_error_message());
    if (rc) continue;
    fx_check_cases(v->string, tok, texts, cJSON_GetObjectItemCaseSensitive(v, "cases"),
                   cJSON_GetObjectItemCaseSensitive(v, "decode"));
    rlvr_tokenizer_free(tok);
  }
  CHECK_MSG(n >= 20, "only %d variants in the fixture", n);
  cJSON_Delete(root);
  return test_done();
}
