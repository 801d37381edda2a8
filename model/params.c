/* params.c — parameter layout: the one allocation and the tensor table. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"

int rlvr_model_config_validate(const rlvr_model_config *c) {
#define NEED(cond, ...)                                                                            \
  if (!(cond)) return rlvr_error(RLVR_ERR_CONFIG, "model config: " __VA_ARGS__)
  NEED(c->vocab_size > 0, "field 'vocab_size' must be positive, is %d", c->vocab_size);
  NEED(c->hidden_size > 0, "field 'hidden_size' must be positive, is %d", c->hidden_size);
  NEED(c->intermediate_size > 0, "field 'intermediate_size' must be positive, is %d", c->intermediate_size);
  NEED(c->num_layers > 0, "field 'num_hidden_layers' must be positive, is %d", c->num_layers);
  NEED(c->num_heads > 0, "field 'num_attention_heads' must be positive, is %d", c->num_heads);
  NEED(c->num_kv_heads > 0, "field 'num_key_value_heads' must be positive, is %d", c->num_kv_heads);
  NEED(c->num_heads % c->num_kv_heads == 0, "field 'num_key_value_heads' %d does not divide num_attention_heads %d", c->num_kv_heads, c->num_heads);
  NEED(c->head_dim > 0 && c->head_dim % 2 == 0, "field 'head_dim' must be positive and even, is %d", c->head_dim);
  NEED(c->rope_theta > 0, "field 'rope_theta' must be positive, is %g", c->rope_theta);
  NEED(c->rms_eps > 0, "field 'rms_norm_eps' must be positive, is %g", c->rms_eps);
  NEED(c->max_position > 0, "field 'max_position_embeddings' must be positive, is %d", c->max_position);
  /* Sizes whose products would overflow an int index are refused here once,
   * so that kernels can use int for per-tensor indices. */
  NEED((int64_t)c->vocab_size * c->hidden_size < (1LL << 31), "field 'vocab_size' vocab_size * hidden_size exceeds 2^31");
  NEED((int64_t)c->intermediate_size * c->hidden_size < (1LL << 31), "field 'intermediate_size' intermediate_size * hidden_size exceeds 2^31");
#undef NEED
  return RLVR_OK;
}

/* Calls visit(name, ndim, d0, d1, offset) for every stored tensor in file
 * order and returns the total number of floats. */
typedef void (*visit_fn)(void *ctx, const char *name, int ndim, int64_t d0, int64_t d1, size_t offset);

static size_t walk_layout(const rlvr_model_config *c, visit_fn visit, void *ctx) {
  const int64_t C = c->hidden_size, V = c->vocab_size, F = c->intermediate_size, L = c->num_layers;
  const int64_t QD = (int64_t)c->num_heads * c->head_dim, KD = (int64_t)c->num_kv_heads * c->head_dim;
  const int64_t D = c->head_dim;
  size_t off = 0;
  char name[RLVR_TENSOR_NAME_MAX];
#define ONE(nm, nd, a, b)                                                                          \
  do {                                                                                             \
    if (visit) visit(ctx, nm, nd, a, b, off);                                                      \
    off += (size_t)(a) * (size_t)((nd) == 2 ? (b) : 1);                                            \
  } while (0)
  /* Per-layer tensors: all layers of one kind are contiguous, (L, ...). */
#define PER_LAYER(suffix, nd, a, b)                                                                \
  do {                                                                                             \
    for (int64_t l = 0; l < L; l++) {                                                              \
      snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l, suffix);                   \
      ONE(name, nd, a, b);                                                                         \
    }                                                                                              \
  } while (0)
  ONE("model.embed_tokens.weight", 2, V, C);
  PER_LAYER("input_layernorm.weight", 1, C, 0);
  PER_LAYER("self_attn.q_proj.weight", 2, QD, C);
  if (c->attn_bias) PER_LAYER("self_attn.q_proj.bias", 1, QD, 0);
  PER_LAYER("self_attn.k_proj.weight", 2, KD, C);
  if (c->attn_bias) PER_LAYER("self_attn.k_proj.bias", 1, KD, 0);
  PER_LAYER("self_attn.v_proj.weight", 2, KD, C);
  if (c->attn_bias) PER_LAYER("self_attn.v_proj.bias", 1, KD, 0);
  if (c->qk_norm) {
    PER_LAYER("self_attn.q_norm.weight", 1, D, 0);
    PER_LAYER("self_attn.k_norm.weight", 1, D, 0);
  }
  PER_LAYER("self_attn.o_proj.weight", 2, C, QD);
  PER_LAYER("post_attention_layernorm.weight", 1, C, 0);
  PER_LAYER("mlp.gate_proj.weight", 2, F, C);
  PER_LAYER("mlp.up_proj.weight", 2, F, C);
  PER_LAYER("mlp.down_proj.weight", 2, C, F);
  ONE("model.norm.weight", 1, C, 0);
  if (!c->tie_embeddings) ONE("lm_head.weight", 2, V, C);
#undef PER_LAYER
#undef ONE
  return off;
}

size_t rlvr_model_num_params(const rlvr_model_config *cfg) { return walk_layout(cfg, NULL, NULL); }

void rlvr_params_point(rlvr_params *p, const rlvr_model_config *c, float *mem) {
  const size_t C = (size_t)c->hidden_size, V = (size_t)c->vocab_size, F = (size_t)c->intermediate_size;
  const size_t L = (size_t)c->num_layers, D = (size_t)c->head_dim;
  const size_t QD = (size_t)c->num_heads * D, KD = (size_t)c->num_kv_heads * D;
  float *m = mem;
  memset(p, 0, sizeof *p);
  /* Same order as walk_layout. */
  p->embed = m; m += V * C;
  p->attn_norm = m; m += L * C;
  p->wq = m; m += L * QD * C;
  if (c->attn_bias) { p->bq = m; m += L * QD; }
  p->wk = m; m += L * KD * C;
  if (c->attn_bias) { p->bk = m; m += L * KD; }
  p->wv = m; m += L * KD * C;
  if (c->attn_bias) { p->bv = m; m += L * KD; }
  if (c->qk_norm) {
    p->q_norm = m; m += L * D;
    p->k_norm = m; m += L * D;
  }
  p->wo = m; m += L * C * QD;
  p->mlp_norm = m; m += L * C;
  p->w_gate = m; m += L * F * C;
  p->w_up = m; m += L * F * C;
  p->w_down = m; m += L * C * F;
  p->final_norm = m; m += C;
  if (c->tie_embeddings) p->lm_head = p->embed;
  else { p->lm_head = m; m += V * C; }
  RLVR_CHECK((size_t)(m - mem) == rlvr_model_num_params(c), "layout and pointers disagree");
}

typedef struct {
  rlvr_tensor_info *out;
  int n;
} table_ctx;

static void add_tensor(void *vctx, const char *name, int ndim, int64_t d0, int64_t d1, size_t offset) {
  table_ctx *t = vctx;
  rlvr_tensor_info *ti = &t->out[t->n++];
  memset(ti, 0, sizeof *ti);
  snprintf(ti->name, sizeof ti->name, "%s", name);
  ti->ndim = ndim;
  ti->shape[0] = d0;
  ti->shape[1] = ndim == 2 ? d1 : 0;
  ti->numel = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
  ti->offset = offset;
}

static void count_tensor(void *vctx, const char *name, int ndim, int64_t d0, int64_t d1, size_t offset) {
  (void)name, (void)ndim, (void)d0, (void)d1, (void)offset;
  (*(int *)vctx)++;
}

void rlvr_model_alloc(rlvr_model *m, const rlvr_model_config *cfg) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->num_params = rlvr_model_num_params(cfg);
  m->params_memory = xmalloc_aligned(m->num_params * sizeof(float));
  memset(m->params_memory, 0, m->num_params * sizeof(float));
  rlvr_params_point(&m->params, cfg, m->params_memory);
  int n = 0;
  walk_layout(cfg, count_tensor, &n);
  m->tensors = xcalloc((size_t)n, sizeof *m->tensors);
  table_ctx t = {m->tensors, 0};
  walk_layout(cfg, add_tensor, &t);
  m->num_tensors = t.n;
}

void rlvr_model_init_random(rlvr_model *m, const rlvr_model_config *cfg, uint64_t seed) {
  rlvr_model_alloc(m, cfg);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, seed);
  for (int i = 0; i < m->num_tensors; i++) {
    const rlvr_tensor_info *t = &m->tensors[i];
    float *w = m->params_memory + t->offset;
    if (t->ndim == 2) {
      for (size_t j = 0; j < t->numel; j++) w[j] = 0.02f * rlvr_rng_normal(&rng);
    } else if (strstr(t->name, "norm")) {
      for (size_t j = 0; j < t->numel; j++) w[j] = 1.0f;
    } /* biases stay zero */
  }
}

void rlvr_model_free(rlvr_model *m) {
  if (!m) return;
  free(m->params_memory);
  free(m->tensors);
  memset(m, 0, sizeof *m);
}

const rlvr_tensor_info *rlvr_model_find_tensor(const rlvr_model *m, const char *name) {
  for (int i = 0; i < m->num_tensors; i++)
    if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
  return NULL;
}
