/* test_checkpoint.c — reading checkpoints that transformers wrote, and
 * writing ones that read back the same.
 *
 * Reference values come from tests/ref/make_checkpoint_fixtures.py: the
 * directories were written by transformers' save_pretrained, and
 * reference.json holds what the safetensors library read from them (every
 * tensor's shape, exact sum, sampled elements). bf16/f16 -> f32 is exact, so
 * samples compare with ==; sums compare to 1e-12 of the sum of |x| (float64
 * summation order only).
 *
 *   1. conversions: f16/bf16 -> f32 against torch's .float() on chosen bit
 *      patterns, all 65536 f16 patterns against an ldexp formula, and
 *      f32 -> bf16 rounding against torch's .to(bfloat16);
 *   2. every fixture directory loads with the config transformers reads and
 *      the values the safetensors library reads;
 *   3. save and load again (f32, sharded, bf16) gives the same model; rlvr's
 *      bf16 save of an f32 model equals transformers' bf16 save of it;
 *      tokenizer files are copied; the other layout's entry file is removed. */
#include "ckpt_test_util.h"

#include <math.h>
#include <stdint.h>

#include "core/safetensors.h"
#include "model/checkpoint.h"

#define FIXTURES "tests/fixtures/checkpoints"

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* An independent f16 decoder: (-1)^s * 2^(e-15) * (1 + m/1024), or
 * 2^-14 * m/1024 for subnormals, with ldexp. */
static float f16_by_formula(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  float v;
  if (e == 31) v = m ? NAN : INFINITY;
  else if (e == 0) v = ldexpf((float)m, -24);
  else v = ldexpf((float)(1024 + m), e - 25);
  return s ? -v : v;
}

static const rlvr_st_tensor *need_tensor(const rlvr_safetensors *st, const char *name) {
  const rlvr_st_tensor *t = rlvr_safetensors_find(st, name);
  if (!t) {
    fprintf(stderr, "FAIL: %s lacks %s (rerun tests/ref/make_checkpoint_fixtures.py)\n", st->path, name);
    exit(1);
  }
  return t;
}

/* Decodes every element of bits with conv and compares the float32 bit
 * patterns with want (torch's results). */
static void check_decode(const char *what, const rlvr_safetensors *st, const rlvr_st_tensor *bits,
                         const rlvr_st_tensor *want_t, float (*conv)(uint16_t)) {
  size_t n = bits->numel;
  float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
  CHECK(want_t->numel == n);
  CHECK(rlvr_safetensors_read_f32(st, want_t, want) == RLVR_OK);
  CHECK(rlvr_safetensors_read_f32(st, bits, got) == RLVR_OK);
  size_t bad = 0, bad_read = 0, nan = 0, nan_bits = 0;
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, bits->data + 2 * i, 2);
    float one = conv(h);
    if (isnan(want[i])) nan++;
    /* NaN for NaN: bits are compared too, but torch is not consistent about
     * a NaN's sign between its vectorised and scalar paths. */
    if (isnan(want[i]) && isnan(one)) {
      if (f32_bits(one) != f32_bits(want[i])) nan_bits++;
    } else if (f32_bits(one) != f32_bits(want[i])) {
      if (bad++ < 5) fprintf(stderr, "  %s: 0x%04x -> 0x%08x, torch 0x%08x\n", what, h, f32_bits(one), f32_bits(want[i]));
    }
    if (f32_bits(got[i]) != f32_bits(one)) bad_read++;
  }
  CHECK_MSG(bad == 0 && bad_read == 0, "%s: %zu of %zu bit patterns differ from torch, %zu from the element function",
            what, bad, n, bad_read);
  if (!bad && !bad_read)
    printf("ok   %s: %zu patterns bit-identical to torch (%zu NaN, %zu of them with other NaN bits)\n", what, n, nan,
           nan_bits);
  free(want);
  free(got);
}

static void test_conversions(void) {
  rlvr_safetensors st;
  int rc = rlvr_safetensors_open(FIXTURES "/dtypes.safetensors", &st);
  CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
  if (rc) return;
  CHECK(strcmp(rlvr_safetensors_meta(&st, "format") ? rlvr_safetensors_meta(&st, "format") : "", "pt") == 0);
  check_decode("f16 -> f32", &st, need_tensor(&st, "f16_bits"), need_tensor(&st, "f16_as_f32"), rlvr_f16_to_f32);
  check_decode("bf16 -> f32", &st, need_tensor(&st, "bf16_bits"), need_tensor(&st, "bf16_as_f32"), rlvr_bf16_to_f32);

  /* All f16 patterns against the formula: equal values, or both NaN. */
  size_t bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float a = rlvr_f16_to_f32((uint16_t)h), b = f16_by_formula((uint16_t)h);
    if (!(isnan(a) ? isnan(b) : f32_bits(a) == f32_bits(b))) bad++;
  }
  CHECK_MSG(bad == 0, "f16 -> f32: %zu of 65536 patterns differ from the ldexp formula", bad);
  if (!bad) printf("ok   f16 -> f32: all 65536 patterns equal the ldexp formula\n");

  /* f32 -> bf16 rounding, against torch. */
  const rlvr_st_tensor *in = need_tensor(&st, "round_f32"), *out = need_tensor(&st, "round_bf16");
  CHECK(in->dtype == RLVR_DTYPE_F32 && out->dtype == RLVR_DTYPE_BF16 && in->numel == out->numel);
  bad = 0;
  for (size_t i = 0; i < in->numel; i++) {
    float x;
    uint16_t want;
    memcpy(&x, in->data + 4 * i, 4);
    memcpy(&want, out->data + 2 * i, 2);
    uint16_t got = rlvr_f32_to_bf16(x);
    /* Any NaN for a NaN: torch's vectorised cast gives 0xffff, its scalar
     * c10::BFloat16 0x7fc0 (ours). */
    if (isnan(x) && (got & 0x7f80) == 0x7f80 && (got & 0x7f) && (want & 0x7f80) == 0x7f80 && (want & 0x7f)) continue;
    if (got != want && bad++ < 5) fprintf(stderr, "  f32 0x%08x -> bf16 0x%04x, torch 0x%04x\n", f32_bits(x), got, want);
  }
  CHECK_MSG(bad == 0, "f32 -> bf16: %zu of %zu differ from torch", bad, in->numel);
  if (!bad) printf("ok   f32 -> bf16: %zu values rounded as torch does\n", in->numel);
  rlvr_safetensors_close(&st);
}

/* ---- fixtures written by transformers ---------------------------------- */

static int jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsNumber(v) && !cJSON_IsBool(v)) {
    fprintf(stderr, "FAIL: reference.json lacks %s\n", k);
    exit(1);
  }
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : (int)v->valuedouble;
}

static double jnum(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsNumber(v)) {
    fprintf(stderr, "FAIL: reference.json lacks %s\n", k);
    exit(1);
  }
  return v->valuedouble;
}

static void check_config(const char *name, const rlvr_model_config *c, const cJSON *want) {
  static const char *arch_names[] = {"llama", "qwen2", "qwen3"};
  const cJSON *arch = cJSON_GetObjectItemCaseSensitive(want, "arch");
  CHECK_MSG(cJSON_IsString(arch) && strcmp(arch_names[c->arch], arch->valuestring) == 0, "%s: arch", name);
#define SAME(field, key) CHECK_MSG(c->field == jint(want, key), "%s: %s is %d, transformers says %d", name, key, (int)c->field, jint(want, key))
  SAME(vocab_size, "vocab_size");
  SAME(hidden_size, "hidden_size");
  SAME(intermediate_size, "intermediate_size");
  SAME(num_layers, "num_layers");
  SAME(num_heads, "num_heads");
  SAME(num_kv_heads, "num_kv_heads");
  SAME(head_dim, "head_dim");
  SAME(max_position, "max_position");
  SAME(tie_embeddings, "tie_embeddings");
  SAME(attn_bias, "attn_bias");
  SAME(qk_norm, "qk_norm");
  SAME(bos_token_id, "bos_token_id");
#undef SAME
  CHECK_MSG(c->rope_theta == jnum(want, "rope_theta"), "%s: rope_theta %g", name, c->rope_theta);
  CHECK_MSG(c->rms_eps == jnum(want, "rms_eps"), "%s: rms_eps %g", name, c->rms_eps);
  const cJSON *eos = cJSON_GetObjectItemCaseSensitive(want, "eos_token_ids"), *e;
  CHECK_MSG(c->num_eos == cJSON_GetArraySize(eos), "%s: %d eos ids", name, c->num_eos);
  int i = 0;
  cJSON_ArrayForEach(e, eos) {
    CHECK_MSG(i < c->num_eos && c->eos_token_ids[i] == (int)e->valuedouble, "%s: eos[%d]", name, i);
    i++;
  }
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(want, "torch_dtype");
  CHECK_MSG(cJSON_IsString(dt) && strcmp(c->torch_dtype, dt->valuestring) == 0, "%s: torch_dtype '%s'", name,
            c->torch_dtype);
}

/* Compares every tensor the reference lists with the loaded model. */
static void check_values(const char *name, const rlvr_model *m, const cJSON *ref) {
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(ref, "tensors"), *t;
  CHECK_MSG(m->num_tensors == jint(ref, "num_tensors"), "%s: %d tensors, the files hold %d", name, m->num_tensors,
            jint(ref, "num_tensors"));
  double max_sample = 0, max_sum = 0;
  int nt = 0, failures_before = test_failures;
  cJSON_ArrayForEach(t, tensors) {
    const rlvr_tensor_info *ti = rlvr_model_find_tensor(m, t->string);
    CHECK_MSG(ti != NULL, "%s: tensor %s not in the model", name, t->string);
    if (!ti) continue;
    nt++;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    CHECK_MSG(cJSON_GetArraySize(shape) == ti->ndim, "%s: %s ndim", name, t->string);
    for (int d = 0; d < ti->ndim; d++)
      CHECK_MSG(ti->shape[d] == (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, "%s: %s shape[%d]", name, t->string, d);
    const float *w = m->params_memory + ti->offset;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(t, "samples")) {
      size_t idx = (size_t)cJSON_GetArrayItem(s, 0)->valuedouble;
      double want = cJSON_GetArrayItem(s, 1)->valuedouble;
      CHECK_MSG(idx < ti->numel, "%s: %s sample index", name, t->string);
      if (idx >= ti->numel) continue;
      double d = fabs((double)w[idx] - want);
      if (d > max_sample || d != d) max_sample = d;
      CHECK_MSG((double)w[idx] == want, "%s: %s[%zu] = %.9g, safetensors reads %.9g", name, t->string, idx,
                (double)w[idx], want);
    }
    double sum = 0, sum_abs = 0;
    for (size_t i = 0; i < ti->numel; i++) sum += w[i], sum_abs += fabs(w[i]);
    double tol = 1e-12 * jnum(t, "sum_abs");
    double d = fmax(fabs(sum - jnum(t, "sum")), fabs(sum_abs - jnum(t, "sum_abs")));
    if (d > max_sum) max_sum = d;
    CHECK_MSG(d <= tol, "%s: %s sums differ by %g (tolerance %g)", name, t->string, d, tol);
  }
  printf("%s %s: %d tensors against the safetensors library; max |sample diff| %g, max |sum diff| %.3g\n",
         test_failures == failures_before ? "ok  " : "FAIL", name, nt, max_sample, max_sum);
}

static int params_equal(const rlvr_model *a, const rlvr_model *b) {
  return a->num_params == b->num_params && a->num_tensors == b->num_tensors &&
         memcmp(a->params_memory, b->params_memory, a->num_params * sizeof(float)) == 0;
}

/* Same architecture and sizes (torch_dtype aside, which follows the save). */
static int config_equal(const rlvr_model_config *a, const rlvr_model_config *b) {
  rlvr_model_config x = *a, y = *b;
  memset(x.torch_dtype, 0, sizeof x.torch_dtype);
  memset(y.torch_dtype, 0, sizeof y.torch_dtype);
  return memcmp(&x, &y, sizeof x) == 0;
}

static void check_reload(const char *what, const char *dir, const rlvr_model *orig) {
  rlvr_model back;
  int rc = rlvr_model_load(dir, &back);
  CHECK_MSG(rc == RLVR_OK, "%s: reload: %s", what, rlvr_error_message());
  if (rc) return;
  CHECK_MSG(config_equal(&orig->cfg, &back.cfg), "%s: config differs after the round trip", what);
  CHECK_MSG(params_equal(orig, &back), "%s: parameters differ after the round trip", what);
  if (params_equal(orig, &back)) printf("ok   %s: %zu parameters bit-identical after reload\n", what, back.num_params);
  rlvr_model_free(&back);
}

static void test_round_trips(const char *name, const rlvr_model *m, const char *src_dir, const cJSON *reference) {
  char *dir = pathf("%s/%s", scratch_root, name), *what;
  rlvr_save_options o = {.tokenizer_dir = src_dir};
  int rc = rlvr_model_save(m, dir, &o);
  CHECK_MSG(rc == RLVR_OK, "%s: save: %s", name, rlvr_error_message());
  what = pathf("%s f32", name);
  check_reload(what, dir, m);
  free(what);
  /* generation_config.json copied byte for byte */
  char *a = pathf("%s/generation_config.json", src_dir), *b = pathf("%s/generation_config.json", dir);
  size_t la, lb;
  char *da = slurp(a, &la), *db = rlvr_file_exists(b) ? slurp(b, &lb) : NULL;
  CHECK_MSG(db && la == lb && memcmp(da, db, la) == 0, "%s: generation_config.json not copied", name);
  free(da), free(db), free(a), free(b);

  /* Sharded: several files, the index, and no stale model.safetensors. */
  o.max_shard_bytes = 20000;
  rc = rlvr_model_save(m, dir, &o);
  CHECK_MSG(rc == RLVR_OK, "%s: sharded save: %s", name, rlvr_error_message());
  char *single = pathf("%s/model.safetensors", dir), *index = pathf("%s/model.safetensors.index.json", dir);
  char *shard2 = pathf("%s/model-00002-of-", dir);
  CHECK_MSG(!rlvr_file_exists(single) && rlvr_file_exists(index), "%s: sharded layout", name);
  what = pathf("%s sharded", name);
  check_reload(what, dir, m);
  free(what);
  /* And back to one file: the index goes. */
  o.max_shard_bytes = 0;
  rc = rlvr_model_save(m, dir, &o);
  CHECK_MSG(rc == RLVR_OK && rlvr_file_exists(single) && !rlvr_file_exists(index), "%s: single layout again", name);
  free(single), free(index), free(shard2);

  /* bf16: of a model loaded from bf16 the save is lossless; of an f32 model
   * it must equal what transformers wrote for the same model in bf16. */
  o.bf16 = 1;
  rc = rlvr_model_save(m, dir, &o);
  CHECK_MSG(rc == RLVR_OK, "%s: bf16 save: %s", name, rlvr_error_message());
  rlvr_model back;
  rc = rlvr_model_load(dir, &back);
  CHECK_MSG(rc == RLVR_OK && strcmp(back.cfg.torch_dtype, "bfloat16") == 0, "%s: bf16 reload: %s", name,
            rlvr_error_message());
  if (rc == RLVR_OK) {
    if (strcmp(m->cfg.torch_dtype, "bfloat16") == 0) {
      CHECK_MSG(params_equal(m, &back), "%s: bf16 -> f32 -> bf16 is not lossless", name);
      printf("ok   %s bf16: lossless\n", name);
    }
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, "_f32") == 0) {
      char *twin = pathf("%.*s_bf16", (int)(len - 4), name);
      const cJSON *tr = cJSON_GetObjectItemCaseSensitive(reference, twin);
      if (tr) {
        rlvr_model tm;
        rc = rlvr_model_load(cJSON_GetObjectItemCaseSensitive(tr, "dir")->valuestring, &tm);
        CHECK(rc == RLVR_OK);
        int same = rc == RLVR_OK && params_equal(&tm, &back);
        CHECK_MSG(same, "%s: rlvr's bf16 save differs from transformers' %s", name, twin);
        if (same) printf("ok   %s bf16: equals transformers' %s (%zu parameters)\n", name, twin, tm.num_params);
        rlvr_model_free(&tm);
      }
      free(twin);
    }
    rlvr_model_free(&back);
  }
  free(dir);
}

int main(void) {
  scratch_init("ckpt");
  test_conversions();
  cJSON *ref = read_json(FIXTURES "/reference.json");
  int count = 0;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, ref) {
    const char *name = entry->string;
    const char *dir = cJSON_GetObjectItemCaseSensitive(entry, "dir")->valuestring;
    rlvr_model m;
    memset(&m, 0, sizeof m);
    int rc = rlvr_model_load(dir, &m);
    CHECK_MSG(rc == RLVR_OK, "%s: %s", name, rlvr_error_message());
    if (rc) continue;
    count++;
    check_config(name, &m.cfg, cJSON_GetObjectItemCaseSensitive(entry, "config"));
    check_values(name, &m, entry);
    /* The model's pointers and the table agree for the tied case. */
    if (m.cfg.tie_embeddings) CHECK(m.params.lm_head == m.params.embed);
    test_round_trips(name, &m, dir, ref);
    rlvr_model_free(&m);
  }
  CHECK_MSG(count >= 10, "only %d fixture directories", count);
  cJSON_Delete(ref);
  scratch_cleanup();
  return test_done();
}
