/* test_sft.c — the tiny model (model/tiny.h) and supervised fine-tuning
 * (learner/sft.h) against fixtures from tests/ref/make_sft_fixtures.py:
 *
 *  - rlvr_tiny_tokenizer_json encodes texts to the ids of a tokenizer built
 *    from the same specification with Hugging Face tokenizers, and decodes
 *    them back the same way;
 *  - a tiny model saved by rlvr_tiny_save loads back (rlvr_model_load and
 *    the tokenizer) identical, with EOS 256 and no BOS; bad sizes name their key;
 *  - the golden run: 6 SFT steps (micro-batches with accumulation, an epoch
 *    boundary, warmup then cosine, clipping, AdamW with weight decay) from the
 *    fixture model on the fixture data give PyTorch's losses, gradient norms,
 *    learning rates and final parameters; the loss goes down;
 *  - the same run with micro-batches of 4 (no accumulation) gives the same
 *    losses: the loss is a mean over the step's completion tokens whatever
 *    the micro-batch size. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "learner/sft.h"
#include "loss/fixture_json.h"
#include "model/checkpoint.h"
#include "model/tiny.h"
#include "testing.h"

#define FIX "tests/fixtures/sft"

static void test_tokenizer_parity(void) {
  char *json = rlvr_tiny_tokenizer_json();
  rlvr_tokenizer *tok = NULL;
  int rc = rlvr_tokenizer_load_json(json, strlen(json), "tiny", &tok);
  free(json);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(rlvr_tokenizer_vocab_size(tok) == RLVR_TINY_VOCAB);
  CHECK(rlvr_tokenizer_token_id(tok, "<|endoftext|>") == RLVR_TINY_EOS);
  CHECK(rlvr_tokenizer_token_id(tok, "<answer>") == RLVR_TINY_ANSWER);
  CHECK(rlvr_tokenizer_is_special(tok, RLVR_TINY_EOS) && !rlvr_tokenizer_is_special(tok, RLVR_TINY_ANSWER));
  cJSON *cases = fixture_load(FIX "/tokenizer_cases.json");
  const cJSON *texts = fixture_get(cases, "texts"), *ids = fixture_get(cases, "ids");
  const cJSON *decoded = fixture_get(cases, "decoded");
  int n = cJSON_GetArraySize(texts), mismatches = 0;
  for (int i = 0; i < n; i++) {
    const char *text = cJSON_GetArrayItem(texts, i)->valuestring;
    const cJSON *want = cJSON_GetArrayItem(ids, i);
    int32_t *got = NULL;
    size_t ng = 0;
    CHECK(rlvr_tokenizer_encode_alloc(tok, text, strlen(text), 1, &got, &ng) == RLVR_OK);
    int same = (int)ng == cJSON_GetArraySize(want);
    for (size_t t = 0; same && t < ng; t++) same = got[t] == cJSON_GetArrayItem(want, (int)t)->valueint;
    if (!same) {
      mismatches++;
      fprintf(stderr, "FAIL tokenizer case %d: %zu ids, HF has %d\n", i, ng, cJSON_GetArraySize(want));
    }
    char *back = NULL;
    size_t nb = 0;
    rlvr_tokenizer_decode(tok, got, ng, 0, &back, &nb);
    CHECK_MSG(strcmp(back, cJSON_GetArrayItem(decoded, i)->valuestring) == 0, "decode of case %d", i);
    free(back);
    free(got);
  }
  printf("%s tokenizer: %d of %d texts encode as HF tokenizers does\n", mismatches ? "FAIL" : "ok  ", n - mismatches, n);
  CHECK(mismatches == 0);
  cJSON_Delete(cases);
  rlvr_tokenizer_free(tok);
}

static void test_tiny_roundtrip(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  c.model_init_layers = 2, c.model_init_hidden = 32, c.model_init_heads = 4, c.model_init_kv_heads = 2;
  c.model_init_intermediate = 48, c.model_init_max_position = 40;
  rlvr_model m;
  CHECK(rlvr_tiny_build(&c, 3, &m) == RLVR_OK);
  CHECK(m.cfg.vocab_size == RLVR_TINY_VOCAB && m.cfg.num_eos == 1 && m.cfg.eos_token_ids[0] == RLVR_TINY_EOS);
  CHECK(m.cfg.bos_token_id == -1 && m.cfg.tie_embeddings && m.cfg.head_dim == 8);
  char dir[] = "/tmp/rlvr_test_tiny_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  CHECK_MSG(rlvr_tiny_save(&m, dir) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_model back;
  int rc = rlvr_model_load(dir, &back);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc == RLVR_OK) {
    CHECK(back.num_params == m.num_params);
    CHECK(memcmp(back.params_memory, m.params_memory, m.num_params * sizeof(float)) == 0);
    CHECK(back.cfg.num_eos == 1 && back.cfg.eos_token_ids[0] == RLVR_TINY_EOS && back.cfg.bos_token_id == -1);
    rlvr_model_free(&back);
  }
  rlvr_tokenizer *tok = NULL;
  CHECK_MSG(rlvr_tokenizer_load(dir, &tok) == RLVR_OK, "%s", rlvr_error_message());
  CHECK(rlvr_tokenizer_eos_id(tok) == RLVR_TINY_EOS && rlvr_tokenizer_pad_id(tok) == RLVR_TINY_EOS);
  CHECK(rlvr_tokenizer_bos_id(tok) == -1);
  rlvr_tokenizer_free(tok);
  const char *files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                         "special_tokens_map.json", "generation_config.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    CHECK_MSG(rlvr_file_exists(p), "%s", p);
    unlink(p);
  }
  rmdir(dir);
  rlvr_model_free(&m);

  /* sizes that cannot make a model name their key */
  rlvr_model_config mc;
  c.model_init_heads = 5;
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), "model.init_heads"));
  c.model_init_heads = 16; /* head dim 2, kv heads 2: a valid model */
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_OK && mc.head_dim == 2);
  c.model_init_heads = 4, c.model_init_kv_heads = 3;
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), "model.init_kv_heads"));
  c.model_init_kv_heads = 4, c.model_init_hidden = 36; /* head dim 9: odd */
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), "even"));
  c.model_init_hidden = 32, c.model_init_layers = 0;
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), "model.init_layers"));
  c.model_init_layers = 2;
  free(c.model_init_arch);
  c.model_init_arch = xstrdup("gpt2");
  CHECK(rlvr_tiny_config(&c, &mc) == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), "model.init_arch"));
  rlvr_config_free(&c);
}

typedef struct {
  double loss[16], norm[16], lr[16];
  int64_t K[16];
  int n;
} record;

static int record_step(void *ctx, const rlvr_model *m, const rlvr_sft_step *st) {
  (void)m;
  record *r = ctx;
  if (r->n < 16) {
    r->loss[r->n] = st->loss, r->norm[r->n] = st->grad_norm, r->lr[r->n] = st->lr;
    r->K[r->n] = st->completion_tokens;
    r->n++;
  }
  return RLVR_OK;
}

/* Runs the golden settings with micro-batches of `micro`; fills r and returns the trained model. */
static int golden_run(int micro, record *r, rlvr_model *m) {
  cJSON *g = fixture_load(FIX "/golden.json");
  const cJSON *s = fixture_get(g, "settings");
  rlvr_config c;
  rlvr_config_init(&c);
  c.sft_steps = (int64_t)fixture_number(s, "steps");
  c.sft_batch_size = (int64_t)fixture_number(s, "batch_size");
  c.sft_micro_batch_size = micro;
  c.sft_lr = fixture_number(s, "lr");
  c.sft_warmup_steps = (int64_t)fixture_number(s, "warmup_steps");
  c.sft_min_lr_ratio = fixture_number(s, "min_lr_ratio");
  c.sft_weight_decay = fixture_number(s, "weight_decay");
  c.sft_max_grad_norm = fixture_number(s, "max_grad_norm");
  c.sft_shuffle = 0;
  CHECK(!strcmp(fixture_string(s, "schedule"), c.sft_schedule));
  cJSON_Delete(g);
  int rc = rlvr_model_load(FIX "/model", m);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  rlvr_tokenizer *tok = NULL;
  if (!rc) rc = rlvr_tokenizer_load(FIX "/model", &tok);
  rlvr_sft_data d;
  rlvr_sft_encoding enc = {.tok = tok, .eos = RLVR_TINY_EOS, .max_len = 64, .chat_template = NULL};
  if (!rc) rc = rlvr_sft_data_load_jsonl(FIX "/data.jsonl", &enc, 0, &d);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (!rc) {
    CHECK(d.n == 10);
    rlvr_sft_options o;
    rc = rlvr_sft_options_from(&c, d.n, &o);
    CHECK(rc == RLVR_OK && o.micro_batch == micro && o.steps == c.sft_steps);
    o.on_step = record_step;
    o.ctx = r;
    if (!rc) rc = rlvr_sft_train(m, &d, &o);
    CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
    rlvr_sft_data_free(&d);
  }
  rlvr_tokenizer_free(tok);
  rlvr_config_free(&c);
  return rc;
}

static void test_golden(void) {
  cJSON *g = fixture_load(FIX "/golden.json");
  const cJSON *steps = fixture_get(g, "steps");
  const int n = cJSON_GetArraySize(steps);
  float want_loss[16], want_norm[16], want_lr[16], got_loss[16], got_norm[16], got_lr[16];
  record r = {0};
  rlvr_model m;
  memset(&m, 0, sizeof m);
  if (golden_run(3, &r, &m) != RLVR_OK || r.n != n) {
    CHECK_MSG(0, "golden run did %d of %d steps", r.n, n);
    cJSON_Delete(g);
    rlvr_model_free(&m);
    return;
  }
  for (int k = 0; k < n; k++) {
    const cJSON *st = cJSON_GetArrayItem(steps, k);
    want_loss[k] = (float)fixture_number(st, "loss");
    want_norm[k] = (float)fixture_number(st, "grad_norm");
    want_lr[k] = (float)fixture_number(st, "lr");
    CHECK(r.K[k] == (int64_t)fixture_number(st, "completion_tokens"));
    got_loss[k] = (float)r.loss[k], got_norm[k] = (float)r.norm[k], got_lr[k] = (float)r.lr[k];
  }
  /* float32 forward/backward on both sides, summed in different orders; the
   * differences compound through 6 AdamW steps at lr 1e-2 but stay ~1e-6. */
  CHECK_CLOSE("golden losses", got_loss, want_loss, (size_t)n, 2e-5, 1e-5);
  CHECK_CLOSE("golden grad norms", got_norm, want_norm, (size_t)n, 1e-5, 1e-4);
  CHECK_CLOSE("golden learning rates", got_lr, want_lr, (size_t)n, 0, 1e-6);
  CHECK_MSG(got_loss[n - 1] < got_loss[0] - 1.0f, "the loss goes down: %g -> %g", got_loss[0], got_loss[n - 1]);
  rlvr_model want;
  int rc = rlvr_model_load(FIX "/final", &want);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc == RLVR_OK) {
    CHECK(want.num_params == m.num_params);
    /* Adam divides by sqrt(v): a parameter whose gradient is near zero moves
     * by up to lr either way, so parameters get a looser bound than losses. */
    CHECK_CLOSE("golden final parameters", m.params_memory, want.params_memory, m.num_params, 2e-4, 1e-3);
    rlvr_model_free(&want);
  }
  rlvr_model_free(&m);

  /* micro-batches of the whole batch: same losses (a mean over the step's tokens) */
  record r4 = {0};
  if (golden_run(4, &r4, &m) == RLVR_OK && r4.n == n) {
    float l4[16];
    for (int k = 0; k < n; k++) l4[k] = (float)r4.loss[k];
    CHECK_CLOSE("losses without accumulation", l4, want_loss, (size_t)n, 2e-5, 1e-5);
  } else {
    CHECK_MSG(0, "run without accumulation did %d steps", r4.n);
  }
  rlvr_model_free(&m);
  cJSON_Delete(g);
}

int main(void) {
  test_tokenizer_parity();
  test_tiny_roundtrip();
  test_golden();
  return test_done();
}
