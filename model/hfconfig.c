/* hfconfig.c — config.json of a Hugging Face model directory: reading it into
 * rlvr_model_config with transformers' per-architecture defaults, refusing
 * every feature rlvr does not implement, and writing one back.
 *
 * Both spellings transformers has used are read: rope_theta at the top level
 * with rope_scaling (4.x) and rope_parameters {"rope_type", "rope_theta"}
 * (5.x); torch_dtype (4.x) and dtype (5.x). The writer uses the 4.x spelling,
 * which 5.x still reads. */
#include "model/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/file.h"

/* Defaults of transformers' LlamaConfig, Qwen2Config and Qwen3Config
 * (checked against transformers 5.24). head_dim 0 means hidden / heads. */
static const struct {
  const char *architecture, *model_type;
  int vocab, hidden, intermediate, layers, heads, head_dim, max_position, bos, eos;
} arch_defaults[] = {
    [RLVR_ARCH_LLAMA] = {"LlamaForCausalLM", "llama", 32000, 4096, 11008, 32, 32, 0, 2048, 1, 2},
    [RLVR_ARCH_QWEN2] = {"Qwen2ForCausalLM", "qwen2", 151936, 4096, 22016, 32, 32, 0, 32768, -1, -1},
    [RLVR_ARCH_QWEN3] = {"Qwen3ForCausalLM", "qwen3", 151936, 4096, 22016, 32, 32, 128, 32768, -1, -1},
};
enum { NUM_ARCH = sizeof arch_defaults / sizeof arch_defaults[0] };

/* "<path>: field '<field>': <message>" */
#define FIELD_ERR(code, path, field, fmt, ...) rlvr_error(code, "%s: field '%s': " fmt, path, field, ##__VA_ARGS__)

/* An optional field; NULL when absent or JSON null. */
static const cJSON *get(const cJSON *root, const char *field) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, field);
  return cJSON_IsNull(v) ? NULL : v;
}

static int get_int(const char *path, const cJSON *root, const char *field, int dflt, int *out) {
  const cJSON *v = get(root, field);
  if (!v) {
    *out = dflt;
    return RLVR_OK;
  }
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2147483647.0)
    return FIELD_ERR(RLVR_ERR_FORMAT, path, field, "is not an integer");
  *out = (int)v->valuedouble;
  return RLVR_OK;
}

static int get_double(const char *path, const cJSON *root, const char *field, double dflt, double *out) {
  const cJSON *v = get(root, field);
  if (!v) {
    *out = dflt;
    return RLVR_OK;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) /* 1e999 parses as inf */
    return FIELD_ERR(RLVR_ERR_FORMAT, path, field, "is not a finite number");
  *out = v->valuedouble;
  return RLVR_OK;
}

static int get_bool(const char *path, const cJSON *root, const char *field, int dflt, int *out) {
  const cJSON *v = get(root, field);
  if (!v) {
    *out = dflt;
    return RLVR_OK;
  }
  if (!cJSON_IsBool(v)) return FIELD_ERR(RLVR_ERR_FORMAT, path, field, "is not true or false");
  *out = cJSON_IsTrue(v);
  return RLVR_OK;
}

/* A feature flag rlvr implements only when false. */
static int need_false(const char *path, const cJSON *root, const char *field, const char *what) {
  int b;
  int rc = get_bool(path, root, field, 0, &b);
  if (rc) return rc;
  if (b) return FIELD_ERR(RLVR_ERR_UNSUPPORTED, path, field, "%s is not supported (must be false)", what);
  return RLVR_OK;
}

/* bos_token_id / eos_token_id: an integer or a list of them; null means
 * none, while an absent field takes the architecture's default. */
static int get_token_ids(const char *path, const cJSON *root, const char *field, int dflt, int *ids, int max,
                         int *n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, field);
  *n = 0;
  if (!v) {
    if (dflt >= 0) ids[(*n)++] = dflt;
    return RLVR_OK;
  }
  if (cJSON_IsNull(v)) return RLVR_OK;
  const cJSON *one = v;
  if (cJSON_IsArray(v)) {
    if (cJSON_GetArraySize(v) > max)
      return FIELD_ERR(RLVR_ERR_UNSUPPORTED, path, field, "more than %d token ids are not supported", max);
    cJSON_ArrayForEach(one, v) {
      if (!cJSON_IsNumber(one) || one->valuedouble != floor(one->valuedouble) || one->valuedouble < 0 ||
          one->valuedouble > 2147483647.0)
        return FIELD_ERR(RLVR_ERR_FORMAT, path, field, "element %d is not a token id", *n);
      ids[(*n)++] = (int)one->valuedouble;
    }
    return RLVR_OK;
  }
  if (!cJSON_IsNumber(one) || one->valuedouble != floor(one->valuedouble) || one->valuedouble < 0 ||
      one->valuedouble > 2147483647.0)
    return FIELD_ERR(RLVR_ERR_FORMAT, path, field, "is not a token id or a list of them");
  ids[(*n)++] = (int)one->valuedouble;
  return RLVR_OK;
}

/* rope_scaling (4.x) must be null; rope_parameters (5.x) may only say
 * rope_type "default" and rope_theta. */
static int parse_rope(const char *path, const cJSON *root, double *theta) {
  int rc = get_double(path, root, "rope_theta", 10000.0, theta);
  if (rc) return rc;
  const cJSON *scaling = get(root, "rope_scaling");
  if (scaling) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(scaling, "rope_type");
    if (!cJSON_IsString(ty)) ty = cJSON_GetObjectItemCaseSensitive(scaling, "type");
    return FIELD_ERR(RLVR_ERR_UNSUPPORTED, path, "rope_scaling", "rope_scaling (type '%s') is not supported; only plain RoPE", cJSON_IsString(ty) ? ty->valuestring : "?");
  }
  const cJSON *rp = get(root, "rope_parameters");
  if (!rp) return RLVR_OK;
  if (!cJSON_IsObject(rp)) return FIELD_ERR(RLVR_ERR_FORMAT, path, "rope_parameters", "is not an object");
  const cJSON *kv;
  cJSON_ArrayForEach(kv, rp) {
    if (strcmp(kv->string, "rope_type") == 0) {
      if (!cJSON_IsString(kv) || strcmp(kv->valuestring, "default") != 0)
        return rlvr_error(RLVR_ERR_UNSUPPORTED,
                          "%s: field 'rope_parameters.rope_type': rope type '%s' is not supported; only 'default'",
                          path, cJSON_IsString(kv) ? kv->valuestring : "?");
    } else if (strcmp(kv->string, "rope_theta") == 0) {
      if (!cJSON_IsNumber(kv) || !isfinite(kv->valuedouble))
        return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'rope_parameters.rope_theta' is not a finite number", path);
      *theta = kv->valuedouble;
    } else {
      return rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: field 'rope_parameters.%.64s' is not supported", path, kv->string);
    }
  }
  return RLVR_OK;
}

/* Everything but the architecture; c->arch is set. */
static int parse_fields(const char *path, const cJSON *root, rlvr_model_config *c) {
  const rlvr_arch a = c->arch;
  int rc;
#define TRY(call)                                                                                  \
  if ((rc = (call)) != RLVR_OK) return rc
  TRY(get_int(path, root, "vocab_size", arch_defaults[a].vocab, &c->vocab_size));
  TRY(get_int(path, root, "hidden_size", arch_defaults[a].hidden, &c->hidden_size));
  TRY(get_int(path, root, "intermediate_size", arch_defaults[a].intermediate, &c->intermediate_size));
  TRY(get_int(path, root, "num_hidden_layers", arch_defaults[a].layers, &c->num_layers));
  TRY(get_int(path, root, "num_attention_heads", arch_defaults[a].heads, &c->num_heads));
  TRY(get_int(path, root, "num_key_value_heads", c->num_heads, &c->num_kv_heads));
  /* head_dim: Qwen3's class default is 128; otherwise, and for an explicit
   * null (as transformers' rotary embedding reads it), hidden / heads. */
  int hd_default = arch_defaults[a].head_dim;
  if (hd_default == 0 || cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "head_dim")))
    hd_default = c->num_heads > 0 ? c->hidden_size / c->num_heads : 0;
  TRY(get_int(path, root, "head_dim", hd_default, &c->head_dim));
  TRY(get_int(path, root, "max_position_embeddings", arch_defaults[a].max_position, &c->max_position));
  TRY(get_double(path, root, "rms_norm_eps", 1e-6, &c->rms_eps));
  TRY(parse_rope(path, root, &c->rope_theta));
  TRY(get_bool(path, root, "tie_word_embeddings", 0, &c->tie_embeddings));

  int bos[RLVR_MAX_EOS], nbos = 0;
  TRY(get_token_ids(path, root, "bos_token_id", arch_defaults[a].bos, bos, RLVR_MAX_EOS, &nbos));
  c->bos_token_id = nbos > 0 ? bos[0] : -1;
  TRY(get_token_ids(path, root, "eos_token_id", arch_defaults[a].eos, c->eos_token_ids, RLVR_MAX_EOS, &c->num_eos));

  const cJSON *dt = get(root, "torch_dtype");
  if (!dt) dt = get(root, "dtype");
  if (dt && !cJSON_IsString(dt))
    return FIELD_ERR(RLVR_ERR_FORMAT, path, "torch_dtype", "is not a string");
  snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dt ? dt->valuestring : "");

  const cJSON *act = get(root, "hidden_act");
  if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu") != 0))
    return FIELD_ERR(RLVR_ERR_UNSUPPORTED, path, "hidden_act", "activation '%s' is not supported; only 'silu'", cJSON_IsString(act) ? act->valuestring : "?");
  if (get(root, "quantization_config"))
    return FIELD_ERR(RLVR_ERR_UNSUPPORTED, path, "quantization_config", "quantized checkpoints are not supported");

  /* Biases and norms by architecture: Qwen2 always has q, k, v biases (its
   * config has no switch for them); Llama's and Qwen3's attention_bias would
   * add biases to q, k, v and o, which rlvr does not implement. */
  c->attn_bias = a == RLVR_ARCH_QWEN2;
  c->qk_norm = a == RLVR_ARCH_QWEN3;
  if (a != RLVR_ARCH_QWEN2) TRY(need_false(path, root, "attention_bias", "a bias on q, k, v and o"));
  TRY(need_false(path, root, "mlp_bias", "a bias in the MLP"));
  if (a != RLVR_ARCH_LLAMA) {
    TRY(need_false(path, root, "use_sliding_window", "sliding-window attention"));
    const cJSON *lt = get(root, "layer_types"), *t;
    if (lt) {
      if (!cJSON_IsArray(lt)) return FIELD_ERR(RLVR_ERR_FORMAT, path, "layer_types", "is not a list");
      int i = 0;
      cJSON_ArrayForEach(t, lt) {
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "full_attention") != 0)
          return rlvr_error(RLVR_ERR_UNSUPPORTED,
                            "%s: field 'layer_types'[%d]: layer type '%s' is not supported; only 'full_attention'",
                            path, i, cJSON_IsString(t) ? t->valuestring : "?");
        i++;
      }
    }
  }
#undef TRY
  return RLVR_OK;
}

int rlvr_hf_config_parse(const char *text, size_t len, const char *path, rlvr_model_config *out) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: not valid JSON (at byte %td)", path, end ? end - text : (ptrdiff_t)0);
  int rc = RLVR_OK;
  rlvr_model_config c;
  memset(&c, 0, sizeof c);
  if (!cJSON_IsObject(root)) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", path);
    goto done;
  }
  /* The architecture: architectures[0], else model_type; when both are
   * given they must name the same one. */
  const cJSON *archs = get(root, "architectures"), *mt = get(root, "model_type");
  int by_arch = -1, by_type = -1;
  if (archs) {
    const cJSON *a0 = cJSON_GetArrayItem(archs, 0);
    if (!cJSON_IsArray(archs) || !cJSON_IsString(a0)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'architectures' is not a list of names", path);
      goto done;
    }
    for (int i = 0; i < NUM_ARCH; i++)
      if (strcmp(a0->valuestring, arch_defaults[i].architecture) == 0) by_arch = i;
    if (by_arch < 0) {
      rc = rlvr_error(RLVR_ERR_UNSUPPORTED,
                      "%s: field 'architectures': '%s' is not supported (LlamaForCausalLM, Qwen2ForCausalLM, "
                      "Qwen3ForCausalLM are)",
                      path, a0->valuestring);
      goto done;
    }
  }
  if (mt) {
    if (!cJSON_IsString(mt)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'model_type' is not a string", path);
      goto done;
    }
    for (int i = 0; i < NUM_ARCH; i++)
      if (strcmp(mt->valuestring, arch_defaults[i].model_type) == 0) by_type = i;
    if (by_type < 0) {
      rc = rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: field 'model_type': '%s' is not supported (llama, qwen2, qwen3 are)",
                      path, mt->valuestring);
      goto done;
    }
  }
  if (by_arch < 0 && by_type < 0) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'architectures' (or 'model_type') is missing", path);
    goto done;
  }
  if (by_arch >= 0 && by_type >= 0 && by_arch != by_type) {
    rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: field 'model_type': '%s' disagrees with architectures[0] '%s'", path,
                    mt->valuestring, arch_defaults[by_arch].architecture);
    goto done;
  }
  c.arch = (rlvr_arch)(by_arch >= 0 ? by_arch : by_type);
  rc = parse_fields(path, root, &c);
  if (rc == RLVR_OK) {
    rc = rlvr_model_config_validate(&c);
    if (rc) rlvr_error_wrap(rc, "%s", path);
  }
  if (rc == RLVR_OK) *out = c;
done:
  cJSON_Delete(root);
  return rc;
}

int rlvr_hf_config_read(const char *dir, rlvr_model_config *cfg) {
  size_t n = strlen(dir) + 16;
  char *path = xmalloc(n);
  snprintf(path, n, "%s/config.json", dir);
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc == RLVR_OK) rc = rlvr_hf_config_parse(text, len, path, cfg);
  free(text);
  free(path);
  return rc;
}

/* A float that JSON readers take as a float: 10000.0 rather than 10000. */
static void put_float(FILE *f, const char *key, double v) {
  char buf[40];
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(buf, sizeof buf, "%.1f", v);
  } else {
    for (int p = 1; p <= 17; p++) { /* the shortest text that reads back exactly */
      snprintf(buf, sizeof buf, "%.*g", p, v);
      if (strtod(buf, NULL) == v) break;
    }
  }
  fprintf(f, "  \"%s\": %s,\n", key, buf);
}

char *rlvr_hf_config_format(const rlvr_model_config *c, const char *dtype) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  RLVR_CHECK(f, "open_memstream");
  RLVR_CHECK((unsigned)c->arch < NUM_ARCH);
  fprintf(f, "{\n  \"architectures\": [\"%s\"],\n", arch_defaults[c->arch].architecture);
  fprintf(f, "  \"model_type\": \"%s\",\n", arch_defaults[c->arch].model_type);
  fprintf(f, "  \"vocab_size\": %d,\n", c->vocab_size);
  fprintf(f, "  \"hidden_size\": %d,\n", c->hidden_size);
  fprintf(f, "  \"intermediate_size\": %d,\n", c->intermediate_size);
  fprintf(f, "  \"num_hidden_layers\": %d,\n", c->num_layers);
  fprintf(f, "  \"num_attention_heads\": %d,\n", c->num_heads);
  fprintf(f, "  \"num_key_value_heads\": %d,\n", c->num_kv_heads);
  fprintf(f, "  \"head_dim\": %d,\n", c->head_dim);
  fprintf(f, "  \"hidden_act\": \"silu\",\n");
  fprintf(f, "  \"max_position_embeddings\": %d,\n", c->max_position);
  put_float(f, "rms_norm_eps", c->rms_eps);
  put_float(f, "rope_theta", c->rope_theta);
  fprintf(f, "  \"rope_scaling\": null,\n");
  fprintf(f, "  \"tie_word_embeddings\": %s,\n", c->tie_embeddings ? "true" : "false");
  if (c->arch != RLVR_ARCH_QWEN2) fprintf(f, "  \"attention_bias\": false,\n");
  if (c->arch == RLVR_ARCH_LLAMA) fprintf(f, "  \"mlp_bias\": false,\n");
  if (c->arch != RLVR_ARCH_LLAMA) fprintf(f, "  \"use_sliding_window\": false,\n");
  fprintf(f, "  \"attention_dropout\": 0.0,\n");
  fprintf(f, "  \"initializer_range\": 0.02,\n");
  if (c->bos_token_id >= 0) fprintf(f, "  \"bos_token_id\": %d,\n", c->bos_token_id);
  else fprintf(f, "  \"bos_token_id\": null,\n");
  if (c->num_eos == 0) fprintf(f, "  \"eos_token_id\": null,\n");
  else if (c->num_eos == 1) fprintf(f, "  \"eos_token_id\": %d,\n", c->eos_token_ids[0]);
  else {
    fprintf(f, "  \"eos_token_id\": [");
    for (int i = 0; i < c->num_eos; i++) fprintf(f, i ? ", %d" : "%d", c->eos_token_ids[i]);
    fprintf(f, "],\n");
  }
  fprintf(f, "  \"use_cache\": true,\n");
  fprintf(f, "  \"torch_dtype\": \"%s\"\n}\n", dtype);
  RLVR_CHECK(fclose(f) == 0);
  return text;
}
