/* model.h — the policy model: a Llama-family decoder as Hugging Face
 * describes it (Llama 3, Qwen2/Qwen2.5, Qwen3, SmolLM2).
 *
 * Shape letters, used in every comment of model/:
 *   B batch, T time (sequence positions), C channels (hidden_size),
 *   V vocabulary, L layers, H query heads, KVH key/value heads,
 *   D head dimension, F MLP hidden size (intermediate_size).
 *
 * Parameters live in one float allocation; rlvr_params points into it, with
 * every per-layer tensor stored for all layers at once as (L, ...) so that a
 * layer's slice is at l * (size of one layer's tensor). The tensor table
 * (rlvr_model_tensors) maps each Hugging Face tensor name to its place in that
 * allocation; checkpoint reading and writing, gradients and the optimizer all
 * walk the same table, so they cannot disagree about the layout. */
#ifndef RLVR_MODEL_H
#define RLVR_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  RLVR_ARCH_LLAMA = 0, /* LlamaForCausalLM (Llama 3, SmolLM2) */
  RLVR_ARCH_QWEN2 = 1, /* Qwen2ForCausalLM: bias on q, k, v */
  RLVR_ARCH_QWEN3 = 2, /* Qwen3ForCausalLM: RMSNorm on q and k per head */
} rlvr_arch;

enum { RLVR_MAX_EOS = 8 };

typedef struct {
  rlvr_arch arch;
  int vocab_size;        /* V */
  int hidden_size;       /* C */
  int intermediate_size; /* F */
  int num_layers;        /* L */
  int num_heads;         /* H */
  int num_kv_heads;      /* KVH; H % KVH == 0 */
  int head_dim;          /* D; C / H unless config.json says otherwise (Qwen3) */
  int max_position;      /* max_position_embeddings */
  double rope_theta;
  double rms_eps;
  int tie_embeddings; /* lm_head shares the embedding matrix */
  int attn_bias;      /* q, k, v projections have a bias (Qwen2) */
  int qk_norm;        /* RMSNorm over D on q and k before RoPE (Qwen3) */
  int bos_token_id;   /* -1 if none */
  int eos_token_ids[RLVR_MAX_EOS];
  int num_eos;
  char torch_dtype[16]; /* as read, written back on save ("float32", "bfloat16") */
} rlvr_model_config;

/* Pointers into the one parameter allocation. Shapes are PyTorch's (out, in)
 * for every linear weight, which is also Hugging Face's storage order. */
typedef struct {
  float *embed;      /* (V, C)  model.embed_tokens.weight */
  float *attn_norm;  /* (L, C)  input_layernorm */
  float *wq;         /* (L, H*D, C) */
  float *bq;         /* (L, H*D)   attn_bias only, else NULL */
  float *wk;         /* (L, KVH*D, C) */
  float *bk;         /* (L, KVH*D) attn_bias only */
  float *wv;         /* (L, KVH*D, C) */
  float *bv;         /* (L, KVH*D) attn_bias only */
  float *q_norm;     /* (L, D)  qk_norm only */
  float *k_norm;     /* (L, D)  qk_norm only */
  float *wo;         /* (L, C, H*D) */
  float *mlp_norm;   /* (L, C)  post_attention_layernorm */
  float *w_gate;     /* (L, F, C) */
  float *w_up;       /* (L, F, C) */
  float *w_down;     /* (L, C, F) */
  float *final_norm; /* (C)     model.norm.weight */
  float *lm_head;    /* (V, C)  == embed when tie_embeddings */
} rlvr_params;

enum { RLVR_TENSOR_NAME_MAX = 96 };

/* One Hugging Face tensor: its name, shape, and where it lives. */
typedef struct {
  char name[RLVR_TENSOR_NAME_MAX]; /* "model.layers.3.self_attn.q_proj.weight" */
  int ndim;                        /* 1 or 2 */
  int64_t shape[2];
  size_t numel;
  size_t offset; /* in floats from the start of the parameter allocation */
} rlvr_tensor_info;

typedef struct {
  rlvr_model_config cfg;
  rlvr_params params;     /* points into params_memory */
  float *params_memory;   /* one 64-byte aligned allocation of num_params floats */
  size_t num_params;      /* counted once even when embeddings are tied */
  rlvr_tensor_info *tensors; /* the tensor table, num_tensors entries */
  int num_tensors;
} rlvr_model;

/* Checks that cfg describes a model rlvr can run (positive sizes, H % KVH,
 * ...). Returns RLVR_OK or RLVR_ERR_CONFIG naming the field. */
int rlvr_model_config_validate(const rlvr_model_config *cfg);

/* Number of floats the parameters of cfg need. */
size_t rlvr_model_num_params(const rlvr_model_config *cfg);

/* Points p into memory laid out for cfg (memory holds num_params floats).
 * Used for parameters, gradients and optimizer moments alike. */
void rlvr_params_point(rlvr_params *p, const rlvr_model_config *cfg, float *memory);

/* Allocates parameters (zeroed) and the tensor table for a valid cfg.
 * m is overwritten; free with rlvr_model_free. */
void rlvr_model_alloc(rlvr_model *m, const rlvr_model_config *cfg);

/* Allocates and fills with the initialisation transformers uses for a fresh
 * model (normal(0, 0.02) weights, zero biases, unit norms), seeded. */
void rlvr_model_init_random(rlvr_model *m, const rlvr_model_config *cfg, uint64_t seed);

/* Accepts NULL and a zeroed or half-built model. */
void rlvr_model_free(rlvr_model *m);

/* Finds a tensor by its Hugging Face name; NULL if absent. */
const rlvr_tensor_info *rlvr_model_find_tensor(const rlvr_model *m, const char *name);

#endif
