/* test_checkpoint_bad.c — broken model directories: each must give the right
 * error code and a message naming the file and the tensor or field, never a
 * crash, and leave the output model untouched.
 *
 * Every broken file is made here, in a scratch directory under /tmp, from the
 * good fixtures that transformers wrote (tests/fixtures/checkpoints/): the
 * tensors of a good file are re-encoded by a small writer of this test (not
 * the one under test), after editing the header or the list of tensors. */
#include "ckpt_test_util.h"

#include <stdint.h>
#include <sys/stat.h>

#include "core/safetensors.h"
#include "model/checkpoint.h"

#define FIXTURES "tests/fixtures/checkpoints"
#define GOOD FIXTURES "/qwen2_bias_f32"
#define TIED FIXTURES "/smollm2_tied_f32"
#define SHARDED FIXTURES "/qwen2_bias_sharded"

/* ---- a tensor list and an independent encoder --------------------------- */

typedef struct {
  char name[128];
  char dtype[16];
  int ndim;
  int64_t shape[4];
  unsigned char *data;
  size_t nbytes;
} entry;

typedef struct {
  entry e[64];
  int n;
} entries;

static void read_entries(const char *path, entries *es) {
  rlvr_safetensors st;
  if (rlvr_safetensors_open(path, &st) != RLVR_OK) {
    fprintf(stderr, "FAIL: fixture %s: %s\n", path, rlvr_error_message());
    exit(1);
  }
  es->n = 0;
  for (int i = 0; i < st.num_tensors; i++) {
    const rlvr_st_tensor *t = &st.tensors[i];
    entry *e = &es->e[es->n++];
    snprintf(e->name, sizeof e->name, "%s", t->name);
    snprintf(e->dtype, sizeof e->dtype, "%s", rlvr_dtype_name(t->dtype));
    e->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) e->shape[d] = t->shape[d];
    e->nbytes = t->end - t->begin;
    e->data = malloc(e->nbytes + 1);
    memcpy(e->data, t->data, e->nbytes);
  }
  rlvr_safetensors_close(&st);
}

static void free_entries(entries *es) {
  for (int i = 0; i < es->n; i++) free(es->e[i].data);
  es->n = 0;
}

static entry *find_entry(entries *es, const char *name) {
  for (int i = 0; i < es->n; i++)
    if (strcmp(es->e[i].name, name) == 0) return &es->e[i];
  fprintf(stderr, "FAIL: no tensor %s in the fixture\n", name);
  exit(1);
}

static void drop_entry(entries *es, const char *name) {
  entry *e = find_entry(es, name);
  free(e->data);
  int i = (int)(e - es->e);
  memmove(&es->e[i], &es->e[i + 1], (size_t)(es->n - i - 1) * sizeof *e);
  es->n--;
}

static void add_entry(entries *es, const char *name, const char *dtype, int ndim, int64_t d0, int64_t d1,
                      const void *data, size_t nbytes) {
  entry *e = &es->e[es->n++];
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->dtype, sizeof e->dtype, "%s", dtype);
  e->ndim = ndim;
  e->shape[0] = d0;
  e->shape[1] = d1;
  e->nbytes = nbytes;
  e->data = malloc(nbytes + 1);
  memcpy(e->data, data, nbytes);
}

/* The header of es with contiguous offsets in list order; edit it, then
 * encode. */
static cJSON *header_of(const entries *es) {
  cJSON *h = cJSON_CreateObject();
  cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
  cJSON_AddStringToObject(meta, "format", "pt");
  size_t off = 0;
  for (int i = 0; i < es->n; i++) {
    const entry *e = &es->e[i];
    cJSON *t = cJSON_AddObjectToObject(h, e->name);
    cJSON_AddStringToObject(t, "dtype", e->dtype);
    cJSON *shape = cJSON_AddArrayToObject(t, "shape");
    for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
    cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + e->nbytes)));
    off += e->nbytes;
  }
  return h;
}

/* Writes 8-byte length, header text padded with spaces to 8, data of es. */
static void encode_raw(const char *path, const char *header, const entries *es) {
  size_t hl = strlen(header), padded = (hl + 7) / 8 * 8, data = 0;
  for (int i = 0; i < es->n; i++) data += es->e[i].nbytes;
  unsigned char *buf = calloc(1, 8 + padded + data + 1);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  memcpy(buf + 8, header, hl);
  memset(buf + 8 + hl, ' ', padded - hl);
  size_t at = 8 + padded;
  for (int i = 0; i < es->n; i++) {
    memcpy(buf + at, es->e[i].data, es->e[i].nbytes);
    at += es->e[i].nbytes;
  }
  spit(path, buf, at);
  free(buf);
}

static void encode(const char *path, cJSON *header, const entries *es) {
  char *text = cJSON_PrintUnformatted(header);
  encode_raw(path, text, es);
  free(text);
  cJSON_Delete(header);
}

static cJSON *tensor_of(cJSON *h, const char *name) { return cJSON_GetObjectItemCaseSensitive(h, name); }

static void set_offsets(cJSON *h, const char *name, double b, double e) {
  cJSON *o = cJSON_GetObjectItemCaseSensitive(tensor_of(h, name), "data_offsets");
  cJSON_SetNumberValue(cJSON_GetArrayItem(o, 0), b);
  cJSON_SetNumberValue(cJSON_GetArrayItem(o, 1), e);
}

static double offset_of(cJSON *h, const char *name, int which) {
  return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(tensor_of(h, name), "data_offsets"), which)->valuedouble;
}

/* ---- cases -------------------------------------------------------------- */

/* A fresh case directory holding the config.json of base. */
static char *case_dir(const char *name, const char *base) {
  char *d = pathf("%s/%s", scratch_root, name);
  rlvr_mkdirs(d);
  char *from = pathf("%s/config.json", base), *to = pathf("%s/config.json", d);
  copy_file(from, to);
  free(from), free(to);
  return d;
}

/* Loads dir expecting an error; checks *m is untouched. */
static int load_fails(const char *dir) {
  rlvr_model m;
  memset(&m, 0x5a, sizeof m);
  int rc = rlvr_model_load(dir, &m);
  unsigned char *p = (unsigned char *)&m;
  int untouched = 1;
  for (size_t i = 0; i < sizeof m; i++) untouched &= p[i] == 0x5a;
  if (rc == RLVR_OK) {
    rlvr_model_free(&m);
    return rc;
  }
  CHECK_MSG(untouched, "%s: the output model was written on error", dir);
  return rc;
}

typedef void (*header_edit)(cJSON *h);

/* A case: the good file with its header edited. */
static void header_case(const char *name, header_edit edit, int want_rc, const char *s1, const char *s2) {
  entries es;
  read_entries(GOOD "/model.safetensors", &es);
  char *d = case_dir(name, GOOD), *f = pathf("%s/model.safetensors", d);
  cJSON *h = header_of(&es);
  edit(h);
  encode(f, h, &es);
  check_error(name, load_fails(d), want_rc, f, s1, s2, NULL);
  free_entries(&es);
  free(d), free(f);
}

#define QW "model.layers.0.self_attn.q_proj.weight"
#define KW "model.layers.0.self_attn.k_proj.weight"
#define VW "model.layers.0.self_attn.v_proj.weight"

static void edit_size_lie(cJSON *h) {
  cJSON *s = cJSON_GetObjectItemCaseSensitive(tensor_of(h, QW), "shape");
  cJSON_SetNumberValue(cJSON_GetArrayItem(s, 1), 31);
}
static void edit_offset_lie(cJSON *h) { set_offsets(h, QW, offset_of(h, QW, 0) + 4, offset_of(h, QW, 1) + 4); }
static void edit_overlap(cJSON *h) { set_offsets(h, VW, offset_of(h, KW, 0), offset_of(h, KW, 1)); }
static void edit_backwards(cJSON *h) { set_offsets(h, QW, offset_of(h, QW, 1), offset_of(h, QW, 0)); }
static void edit_past_end(cJSON *h) {
  set_offsets(h, "model.norm.weight", 1e12, 1e12 + 128);
}
static void edit_dtype_unknown(cJSON *h) {
  cJSON_ReplaceItemInObjectCaseSensitive(tensor_of(h, QW), "dtype", cJSON_CreateString("F7"));
}
static void edit_dtype_i32(cJSON *h) {
  cJSON_ReplaceItemInObjectCaseSensitive(tensor_of(h, QW), "dtype", cJSON_CreateString("I32"));
}
static void edit_duplicate(cJSON *h) {
  cJSON *copy = cJSON_Duplicate(tensor_of(h, KW), 1);
  cJSON_AddItemToObject(h, QW, copy);
}
static void edit_meta_number(cJSON *h) {
  cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(h, "__metadata__"), "step", 3);
}
static void edit_no_shape(cJSON *h) { cJSON_DeleteItemFromObjectCaseSensitive(tensor_of(h, QW), "shape"); }
static void edit_fraction(cJSON *h) { set_offsets(h, QW, offset_of(h, QW, 0) + 0.5, offset_of(h, QW, 1)); }
static void edit_negative_dim(cJSON *h) {
  cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(tensor_of(h, QW), "shape"), 0), -32);
}
static void edit_entry_string(cJSON *h) { cJSON_ReplaceItemInObjectCaseSensitive(h, QW, cJSON_CreateString("x")); }

static void test_file_corruption(void) {
  header_case("size_lie", edit_size_lie, RLVR_ERR_FORMAT, "tensor '" QW "'", "holds");
  header_case("offset_lie", edit_offset_lie, RLVR_ERR_FORMAT, "tensor '" QW "'", "gap");
  header_case("overlap", edit_overlap, RLVR_ERR_FORMAT, "tensor '" VW "'", "overlap tensor '" KW "'");
  header_case("backwards", edit_backwards, RLVR_ERR_FORMAT, "tensor '" QW "'", "ends before it begins");
  header_case("past_end", edit_past_end, RLVR_ERR_FORMAT, "model.norm.weight", "data_offsets");
  header_case("dtype_unknown", edit_dtype_unknown, RLVR_ERR_UNSUPPORTED, "tensor '" QW "'", "dtype 'F7'");
  header_case("dtype_i32", edit_dtype_i32, RLVR_ERR_UNSUPPORTED, "tensor '" QW "'", "dtype I32");
  header_case("duplicate", edit_duplicate, RLVR_ERR_FORMAT, "tensor '" QW "'", "appears twice");
  header_case("meta_number", edit_meta_number, RLVR_ERR_FORMAT, "__metadata__.step", "not a string");
  header_case("no_shape", edit_no_shape, RLVR_ERR_FORMAT, "tensor '" QW "'", "field 'shape'");
  header_case("fraction", edit_fraction, RLVR_ERR_FORMAT, "tensor '" QW "'", "data_offsets");
  header_case("negative_dim", edit_negative_dim, RLVR_ERR_FORMAT, "tensor '" QW "'", "shape");
  header_case("entry_string", edit_entry_string, RLVR_ERR_FORMAT, "tensor '" QW "'", "not an object");

  /* Byte-level damage to the good file. */
  size_t len;
  char *good = slurp(GOOD "/model.safetensors", &len);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | (unsigned char)good[i];
  struct {
    const char *name;
    size_t keep;
    const char *s1, *s2;
  } cuts[] = {
      {"truncated_data", len - 100, "run past the end of the data section", "tensor '"},
      {"truncated_header", 8 + (size_t)hlen / 2, "header length", "runs past the end of the file"},
      {"truncated_len", 5, "too short", "5 bytes"},
      {"empty", 0, "too short", "0 bytes"},
  };
  for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
    char *d = case_dir(cuts[c].name, GOOD), *f = pathf("%s/model.safetensors", d);
    spit(f, good, cuts[c].keep);
    check_error(cuts[c].name, load_fails(d), RLVR_ERR_FORMAT, f, cuts[c].s1, cuts[c].s2, NULL);
    free(d), free(f);
  }
  struct {
    const char *name;
    uint64_t n;
    const char *s1;
  } lens[] = {
      {"header_len_beyond", (uint64_t)len, "runs past the end of the file"},
      {"header_len_huge", UINT64_C(1) << 62, "exceeds the limit"},
  };
  for (size_t c = 0; c < sizeof lens / sizeof *lens; c++) {
    char *d = case_dir(lens[c].name, GOOD), *f = pathf("%s/model.safetensors", d);
    char *bad = malloc(len);
    memcpy(bad, good, len);
    for (int i = 0; i < 8; i++) bad[i] = (char)(lens[c].n >> (8 * i));
    spit(f, bad, len);
    check_error(lens[c].name, load_fails(d), RLVR_ERR_FORMAT, f, lens[c].s1, NULL);
    free(bad), free(d), free(f);
  }
  /* Headers that are not a JSON object. */
  entries es;
  read_entries(GOOD "/model.safetensors", &es);
  struct {
    const char *name, *header, *s1;
  } texts[] = {
      {"not_json", "{\"a\": nope}", "not valid JSON"},
      {"not_object", "[1, 2, 3]", "does not start with '{'"},
      {"trailing_garbage", "{} xyz", "data after its JSON object"},
      {"binary_header", "\x01\x02\x03\x04", "does not start with '{'"},
  };
  for (size_t c = 0; c < sizeof texts / sizeof *texts; c++) {
    char *d = case_dir(texts[c].name, GOOD), *f = pathf("%s/model.safetensors", d);
    encode_raw(f, texts[c].header, &es);
    check_error(texts[c].name, load_fails(d), RLVR_ERR_FORMAT, f, texts[c].s1, NULL);
    free(d), free(f);
  }
  free_entries(&es);
  free(good);

  /* model.safetensors that is a directory */
  char *d = case_dir("weights_dir", GOOD), *f = pathf("%s/model.safetensors", d);
  mkdir(f, 0755);
  check_error("weights_dir", load_fails(d), RLVR_ERR_IO, f, "not a regular file", NULL);
  free(d), free(f);
}

/* ---- tensors that disagree with config.json ---------------------------- */

static void tensor_case(const char *name, const char *base, void (*edit)(entries *es), int want_rc, const char *s1,
                        const char *s2) {
  entries es;
  char *src = pathf("%s/model.safetensors", base);
  read_entries(src, &es);
  edit(&es);
  char *d = case_dir(name, base), *f = pathf("%s/model.safetensors", d);
  encode(f, header_of(&es), &es);
  check_error(name, load_fails(d), want_rc, s1, s2, NULL);
  free_entries(&es);
  free(src), free(d), free(f);
}

static void drop_up(entries *es) { drop_entry(es, "model.layers.1.mlp.up_proj.weight"); }
static void drop_two(entries *es) {
  drop_entry(es, "model.layers.1.mlp.up_proj.weight");
  drop_entry(es, "model.layers.0.self_attn.q_proj.bias");
}
static void drop_head(entries *es) { drop_entry(es, "lm_head.weight"); }
static void add_extra(entries *es) {
  float z[4] = {0};
  add_entry(es, "model.layers.0.self_attn.extra.weight", "F32", 1, 4, 0, z, sizeof z);
}
static void add_layer(entries *es) {
  entry *n = find_entry(es, "model.layers.1.input_layernorm.weight");
  add_entry(es, "model.layers.2.input_layernorm.weight", "F32", 1, n->shape[0], 0, n->data, n->nbytes);
}
static void add_extras(entries *es) {
  add_extra(es);
  add_layer(es);
}
static void reshape_q(entries *es) {
  entry *q = find_entry(es, QW); /* (32, 32) -> (16, 64): same bytes */
  q->shape[0] = 16;
  q->shape[1] = 64;
}
static void reshape_norm(entries *es) {
  entry *n = find_entry(es, "model.norm.weight");
  n->ndim = 2;
  n->shape[1] = n->shape[0];
  n->shape[0] = 1;
}
static void f64_norm(entries *es) {
  entry *n = find_entry(es, "model.norm.weight"); /* same element count, 8 bytes each */
  unsigned char *d = calloc(1, n->nbytes * 2);
  free(n->data);
  n->data = d;
  n->nbytes *= 2;
  snprintf(n->dtype, sizeof n->dtype, "F64");
}
static void tied_head_same(entries *es) {
  entry *e = find_entry(es, "model.embed_tokens.weight");
  add_entry(es, "lm_head.weight", e->dtype, 2, e->shape[0], e->shape[1], e->data, e->nbytes);
}
static void tied_head_other(entries *es) {
  tied_head_same(es);
  find_entry(es, "lm_head.weight")->data[0] ^= 1;
}

static void test_tensor_mismatch(void) {
  tensor_case("missing_tensor", GOOD, drop_up, RLVR_ERR_MISMATCH, "tensor 'model.layers.1.mlp.up_proj.weight' is missing",
              "config.json");
  tensor_case("missing_two", GOOD, drop_two, RLVR_ERR_MISMATCH, "2 tensors are missing", "model.safetensors");
  tensor_case("missing_head", GOOD, drop_head, RLVR_ERR_MISMATCH, "tensor 'lm_head.weight' is missing",
              "model.safetensors");
  tensor_case("extra_tensor", GOOD, add_extra, RLVR_ERR_MISMATCH, "tensor 'model.layers.0.self_attn.extra.weight'",
              "model.safetensors");
  tensor_case("extra_layer", GOOD, add_layer, RLVR_ERR_MISMATCH, "tensor 'model.layers.2.input_layernorm.weight'",
              "not part of the model");
  tensor_case("extra_two", GOOD, add_extras, RLVR_ERR_MISMATCH, "2 tensors not in the model", "model.safetensors");
  tensor_case("wrong_shape", GOOD, reshape_q, RLVR_ERR_MISMATCH, "tensor '" QW "' has shape [16, 64]", "gives [32, 32]");
  tensor_case("wrong_ndim", GOOD, reshape_norm, RLVR_ERR_MISMATCH, "tensor 'model.norm.weight' has shape [1, 32]",
              "gives [32]");
  tensor_case("f64_tensor", GOOD, f64_norm, RLVR_ERR_UNSUPPORTED, "tensor 'model.norm.weight'", "dtype F64");
  tensor_case("tied_head_differs", TIED, tied_head_other, RLVR_ERR_MISMATCH, "lm_head.weight",
              "tie_word_embeddings");

  /* A tied model may carry lm_head.weight when it equals the embedding. */
  entries es;
  read_entries(TIED "/model.safetensors", &es);
  tied_head_same(&es);
  char *d = case_dir("tied_head_same", TIED), *f = pathf("%s/model.safetensors", d);
  encode(f, header_of(&es), &es);
  rlvr_model m;
  int rc = rlvr_model_load(d, &m);
  CHECK_MSG(rc == RLVR_OK, "tied_head_same: %s", rlvr_error_message());
  if (rc == RLVR_OK) {
    printf("ok   tied_head_same: loads\n");
    rlvr_model_free(&m);
  }
  free_entries(&es);
  free(d), free(f);
}

/* ---- config.json -------------------------------------------------------- */

static void config_case(const char *name, const char *base, void (*edit)(cJSON *c), int want_rc, const char *s1) {
  char *d = case_dir(name, base);
  char *cfg = pathf("%s/config.json", d), *w = pathf("%s/model.safetensors", base), *wt = pathf("%s/model.safetensors", d);
  cJSON *c = read_json(cfg);
  edit(c);
  write_json(cfg, c);
  cJSON_Delete(c);
  copy_file(w, wt);
  check_error(name, load_fails(d), want_rc, cfg, s1, NULL);
  free(d), free(cfg), free(w), free(wt);
}

static void set_field(cJSON *c, const char *k, cJSON *v) {
  if (cJSON_GetObjectItemCaseSensitive(c, k)) cJSON_ReplaceItemInObjectCaseSensitive(c, k, v);
  else cJSON_AddItemToObject(c, k, v);
}
static void cfg_arch(cJSON *c) {
  cJSON *a = cJSON_CreateArray();
  cJSON_AddItemToArray(a, cJSON_CreateString("GPT2LMHeadModel"));
  set_field(c, "architectures", a);
}
static void cfg_rope_scaling(cJSON *c) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "rope_type", "llama3");
  cJSON_AddNumberToObject(r, "factor", 8.0);
  set_field(c, "rope_scaling", r);
}
static void cfg_rope_yarn(cJSON *c) {
  cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "rope_parameters");
  cJSON_ReplaceItemInObjectCaseSensitive(r, "rope_type", cJSON_CreateString("yarn"));
}
static void cfg_rope_extra(cJSON *c) {
  cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(c, "rope_parameters"), "partial_rotary_factor", 0.5);
}
static void cfg_gelu(cJSON *c) { set_field(c, "hidden_act", cJSON_CreateString("gelu")); }
static void cfg_sliding(cJSON *c) { set_field(c, "use_sliding_window", cJSON_CreateTrue()); }
static void cfg_layer_types(cJSON *c) {
  cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(c, "layer_types"), 1, cJSON_CreateString("sliding_attention"));
}
static void cfg_attn_bias(cJSON *c) { set_field(c, "attention_bias", cJSON_CreateTrue()); }
static void cfg_mlp_bias(cJSON *c) { set_field(c, "mlp_bias", cJSON_CreateTrue()); }
static void cfg_kv_heads(cJSON *c) { set_field(c, "num_key_value_heads", cJSON_CreateNumber(3)); }
static void cfg_hidden_string(cJSON *c) { set_field(c, "hidden_size", cJSON_CreateString("32")); }
static void cfg_hidden_48(cJSON *c) { set_field(c, "hidden_size", cJSON_CreateNumber(48)); }
static void cfg_model_type(cJSON *c) { set_field(c, "model_type", cJSON_CreateString("llama")); }
static void cfg_quant(cJSON *c) { set_field(c, "quantization_config", cJSON_CreateObject()); }
static void cfg_no_arch(cJSON *c) {
  cJSON_DeleteItemFromObjectCaseSensitive(c, "architectures");
  cJSON_DeleteItemFromObjectCaseSensitive(c, "model_type");
}
static void cfg_eos_list(cJSON *c) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < 9; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(i));
  set_field(c, "eos_token_id", a);
}
static void cfg_odd_head_dim(cJSON *c) { set_field(c, "head_dim", cJSON_CreateNumber(7)); }
static void cfg_huge_layers(cJSON *c) { set_field(c, "num_hidden_layers", cJSON_CreateNumber(1000000000)); }
static void cfg_huge_vocab(cJSON *c) { set_field(c, "vocab_size", cJSON_CreateNumber(60000000)); }
static void cfg_tied_flip(cJSON *c) { set_field(c, "tie_word_embeddings", cJSON_CreateTrue()); }

static void test_config(void) {
  config_case("unknown_arch", GOOD, cfg_arch, RLVR_ERR_UNSUPPORTED, "field 'architectures': 'GPT2LMHeadModel'");
  config_case("rope_scaling", GOOD, cfg_rope_scaling, RLVR_ERR_UNSUPPORTED, "rope_scaling (type 'llama3') is not supported");
  config_case("rope_yarn", GOOD, cfg_rope_yarn, RLVR_ERR_UNSUPPORTED, "field 'rope_parameters.rope_type'");
  config_case("rope_extra", GOOD, cfg_rope_extra, RLVR_ERR_UNSUPPORTED, "rope_parameters.partial_rotary_factor");
  config_case("gelu", GOOD, cfg_gelu, RLVR_ERR_UNSUPPORTED, "field 'hidden_act'");
  config_case("sliding_window", GOOD, cfg_sliding, RLVR_ERR_UNSUPPORTED, "field 'use_sliding_window'");
  config_case("layer_types", GOOD, cfg_layer_types, RLVR_ERR_UNSUPPORTED, "field 'layer_types'[1]");
  config_case("llama_attn_bias", FIXTURES "/llama_gqa_f32", cfg_attn_bias, RLVR_ERR_UNSUPPORTED, "field 'attention_bias'");
  config_case("qwen3_attn_bias", FIXTURES "/qwen3_qknorm_f32", cfg_attn_bias, RLVR_ERR_UNSUPPORTED,
              "field 'attention_bias'");
  config_case("mlp_bias", FIXTURES "/llama_gqa_f32", cfg_mlp_bias, RLVR_ERR_UNSUPPORTED, "field 'mlp_bias'");
  config_case("kv_heads", GOOD, cfg_kv_heads, RLVR_ERR_CONFIG, "'num_key_value_heads' 3 does not divide");
  config_case("hidden_string", GOOD, cfg_hidden_string, RLVR_ERR_FORMAT, "field 'hidden_size': is not an integer");
  config_case("model_type", GOOD, cfg_model_type, RLVR_ERR_MISMATCH, "field 'model_type': 'llama' disagrees");
  config_case("quantized", GOOD, cfg_quant, RLVR_ERR_UNSUPPORTED, "field 'quantization_config'");
  config_case("no_arch", GOOD, cfg_no_arch, RLVR_ERR_FORMAT, "field 'architectures'");
  config_case("eos_list", GOOD, cfg_eos_list, RLVR_ERR_UNSUPPORTED, "field 'eos_token_id'");
  config_case("odd_head_dim", GOOD, cfg_odd_head_dim, RLVR_ERR_CONFIG, "'head_dim'");
  /* Sizes the files cannot hold are refused before anything is allocated. */
  config_case("huge_layers", GOOD, cfg_huge_layers, RLVR_ERR_MISMATCH, "'num_hidden_layers' 1000000000");
  config_case("huge_vocab", GOOD, cfg_huge_vocab, RLVR_ERR_MISMATCH, "'vocab_size' 60000000");

  /* Shapes that config.json contradicts: the tensor file is named. */
  char *d = case_dir("hidden_48", GOOD), *cfg = pathf("%s/config.json", d);
  cJSON *c = read_json(cfg);
  cfg_hidden_48(c);
  write_json(cfg, c);
  cJSON_Delete(c);
  char *w = pathf("%s/model.safetensors", d);
  copy_file(GOOD "/model.safetensors", w);
  check_error("hidden_48", load_fails(d), RLVR_ERR_MISMATCH,
              "model.safetensors: tensor '", "has shape [128, 32] but", "gives [128, 48]", NULL);
  free(d), free(cfg), free(w);
  /* An untied model declared tied: lm_head.weight must equal the embedding. */
  d = case_dir("tied_flip", GOOD);
  cfg = pathf("%s/config.json", d);
  c = read_json(cfg);
  cfg_tied_flip(c);
  write_json(cfg, c);
  cJSON_Delete(c);
  w = pathf("%s/model.safetensors", d);
  copy_file(GOOD "/model.safetensors", w);
  check_error("tied_flip", load_fails(d), RLVR_ERR_MISMATCH, "lm_head.weight", "tie_word_embeddings true", NULL);
  free(d), free(cfg), free(w);
}

static void test_missing_files(void) {
  char *d = pathf("%s/no_config", scratch_root);
  rlvr_mkdirs(d);
  char *w = pathf("%s/model.safetensors", d), *cfg = pathf("%s/config.json", d);
  copy_file(GOOD "/model.safetensors", w);
  check_error("no_config", load_fails(d), RLVR_ERR_IO, cfg, NULL);
  free(d), free(w), free(cfg);

  d = case_dir("no_weights", GOOD);
  check_error("no_weights", load_fails(d), RLVR_ERR_IO, d, "neither model.safetensors nor model.safetensors.index.json",
              NULL);
  free(d);

  d = case_dir("config_not_json", GOOD);
  cfg = pathf("%s/config.json", d);
  spit(cfg, "{\"architectures\": [", 19);
  w = pathf("%s/model.safetensors", d);
  copy_file(GOOD "/model.safetensors", w);
  check_error("config_not_json", load_fails(d), RLVR_ERR_FORMAT, cfg, "not valid JSON", NULL);
  free(d), free(cfg), free(w);

  check_error("no_dir", load_fails("/nonexistent/rlvr/model"), RLVR_ERR_IO, "/nonexistent/rlvr/model/config.json", NULL);
}

/* ---- sharded ------------------------------------------------------------ */

static const char *const shard_files[] = {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                          "model-00003-of-00003.safetensors"};

/* A copy of the sharded fixture; returns its directory. */
static char *sharded_copy(const char *name) {
  char *d = case_dir(name, SHARDED);
  for (int i = 0; i < 3; i++) {
    char *a = pathf("%s/%s", SHARDED, shard_files[i]), *b = pathf("%s/%s", d, shard_files[i]);
    copy_file(a, b);
    free(a), free(b);
  }
  char *a = pathf("%s/model.safetensors.index.json", SHARDED), *b = pathf("%s/model.safetensors.index.json", d);
  copy_file(a, b);
  free(a), free(b);
  return d;
}

static void edit_index(const char *d, void (*edit)(cJSON *wm)) {
  char *p = pathf("%s/model.safetensors.index.json", d);
  cJSON *j = read_json(p);
  edit(cJSON_GetObjectItemCaseSensitive(j, "weight_map"));
  write_json(p, j);
  cJSON_Delete(j);
  free(p);
}

/* The shard that holds name, by the fixture's index. */
static const char *shard_of(cJSON *wm, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(wm, name)->valuestring;
}
static const char *other_shard(const char *s) { return strcmp(s, shard_files[0]) == 0 ? shard_files[1] : shard_files[0]; }

static void idx_wrong_shard(cJSON *wm) {
  const char *s = other_shard(shard_of(wm, "model.norm.weight"));
  cJSON_ReplaceItemInObjectCaseSensitive(wm, "model.norm.weight", cJSON_CreateString(s));
}
static void idx_drop(cJSON *wm) { cJSON_DeleteItemFromObjectCaseSensitive(wm, "model.norm.weight"); }
static void idx_phantom(cJSON *wm) { cJSON_AddStringToObject(wm, "model.phantom.weight", shard_files[0]); }
static void idx_escape(cJSON *wm) {
  cJSON_ReplaceItemInObjectCaseSensitive(wm, "model.norm.weight", cJSON_CreateString("../model.safetensors"));
}

static void test_sharded(void) {
  char *d = sharded_copy("shard_missing");
  char *gone = pathf("%s/%s", d, shard_files[1]), *idx = pathf("%s/model.safetensors.index.json", d);
  remove(gone);
  check_error("shard_missing", load_fails(d), RLVR_ERR_IO, idx, gone, NULL);
  free(gone), free(idx), free(d);

  d = sharded_copy("index_not_json");
  idx = pathf("%s/model.safetensors.index.json", d);
  spit(idx, "{\"weight_map\": {", 16);
  check_error("index_not_json", load_fails(d), RLVR_ERR_FORMAT, idx, "not valid JSON", NULL);
  free(idx), free(d);

  d = sharded_copy("index_no_map");
  idx = pathf("%s/model.safetensors.index.json", d);
  spit(idx, "{\"metadata\": {}}", 16);
  check_error("index_no_map", load_fails(d), RLVR_ERR_FORMAT, idx, "field 'weight_map'", NULL);
  free(idx), free(d);

  struct {
    const char *name;
    void (*edit)(cJSON *);
    int rc;
    const char *s1, *s2;
  } cases[] = {
      {"index_wrong_shard", idx_wrong_shard, RLVR_ERR_MISMATCH, "tensor 'model.norm.weight' is here", "maps it to"},
      {"index_lacks_tensor", idx_drop, RLVR_ERR_MISMATCH, "tensor 'model.norm.weight' is not in the weight_map", "index.json"},
      {"index_phantom", idx_phantom, RLVR_ERR_MISMATCH, "tensor 'model.phantom.weight' is mapped to", "does not hold it"},
      {"index_escape", idx_escape, RLVR_ERR_FORMAT, "weight_map.model.norm.weight", "not a file name"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    d = sharded_copy(cases[c].name);
    edit_index(d, cases[c].edit);
    check_error(cases[c].name, load_fails(d), cases[c].rc, cases[c].s1, cases[c].s2, NULL);
    free(d);
  }

  /* A corrupt shard is named. */
  d = sharded_copy("shard_truncated");
  char *s = pathf("%s/%s", d, shard_files[2]);
  size_t len;
  char *data = slurp(s, &len);
  spit(s, data, len / 2);
  check_error("shard_truncated", load_fails(d), RLVR_ERR_FORMAT, s, NULL);
  free(data), free(s), free(d);
}

/* A failed save names the file: a directory where a file should go. */
static void test_save_errors(void) {
  rlvr_model m;
  int rc = rlvr_model_load(GOOD, &m);
  CHECK(rc == RLVR_OK);
  if (rc) return;
  char *d = pathf("%s/save_blocked", scratch_root), *f = pathf("%s/config.json", d);
  rlvr_mkdirs(f); /* config.json is a directory: the rename over it fails */
  rc = rlvr_model_save(&m, d, NULL);
  check_error("save_blocked", rc, RLVR_ERR_IO, f, NULL);
  char *file_as_dir = pathf("%s/save_blocked/model.safetensors/sub", scratch_root);
  rc = rlvr_model_save(&m, file_as_dir, NULL);
  check_error("save_under_file", rc, RLVR_ERR_IO, "model.safetensors", NULL);
  rlvr_model_free(&m);
  free(d), free(f), free(file_as_dir);
}

int main(void) {
  scratch_init("ckpt_bad");
  test_file_corruption();
  test_tensor_mismatch();
  test_config();
  test_missing_files();
  test_sharded();
  test_save_errors();
  scratch_cleanup();
  return test_done();
}
