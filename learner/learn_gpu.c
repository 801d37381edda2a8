/* learn_gpu.c — the learner's step on a GPU; see learn_gpu.h. The one place
 * that knows whether this binary has CUDA: without it every entry point
 * but the config checks is unreachable (rlvr_learn_gpu_build refuses). */
#include "learner/learn_gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

static int device_error(const char *why) {
  return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.device' is cuda, but %s; use learner.device = \"cpu\"",
                    why);
}

int rlvr_learn_gpu_check_config(const rlvr_config *cfg, int *use_gpu) {
  *use_gpu = 0;
  if (!strcmp(cfg->learner_device, "cuda"))
    *use_gpu = 1;
  else if (strcmp(cfg->learner_device, "cpu"))
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.device' is \"%s\": must be cpu or cuda",
                      cfg->learner_device);
  if (strcmp(cfg->learner_dtype, "fp32") && strcmp(cfg->learner_dtype, "bf16"))
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.dtype' is \"%s\": must be fp32 or bf16",
                      cfg->learner_dtype);
  char why[128];
  if (*use_gpu && !rlvr_learn_gpu_available(why, sizeof why)) return device_error(why);
  return RLVR_OK;
}

#ifndef RLVR_HAVE_CUDA

int rlvr_learn_gpu_available(char *why, size_t cap) {
  snprintf(why, cap, "this rlvr was built without CUDA (RLVR_CUDA=OFF)");
  return 0;
}

int rlvr_learn_gpu_build(rlvr_learn_gpu **out, const char *dtype, const rlvr_model *m, const rlvr_adamw *opt,
                         int max_batch, float temperature) {
  (void)dtype, (void)m, (void)opt, (void)max_batch, (void)temperature;
  *out = NULL;
  char why[128];
  rlvr_learn_gpu_available(why, sizeof why);
  return device_error(why);
}

/* Never called: there is no rlvr_learn_gpu without CUDA. */
void rlvr_learn_gpu_free(rlvr_learn_gpu *g) { RLVR_CHECK(g == NULL); }
void rlvr_learn_gpu_grads_zero(rlvr_learn_gpu *g) {
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
}
int rlvr_learn_gpu_forward(rlvr_learn_gpu *g, const int *tokens, const int *lens, int B, int T, const int *targets,
                           float *logprobs, float *entropy) {
  (void)tokens, (void)lens, (void)B, (void)T, (void)targets, (void)logprobs, (void)entropy;
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
void rlvr_learn_gpu_backward(rlvr_learn_gpu *g, const float *w) {
  (void)w;
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
}
double rlvr_learn_gpu_clip_grad_norm(rlvr_learn_gpu *g, double max_norm) {
  (void)max_norm;
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
  return 0;
}
void rlvr_learn_gpu_adamw_step(rlvr_learn_gpu *g, rlvr_adamw *opt, const rlvr_adamw_config *cfg) {
  (void)opt, (void)cfg;
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
}
void rlvr_learn_gpu_download(rlvr_learn_gpu *g, rlvr_model *m, rlvr_adamw *opt) {
  (void)m, (void)opt;
  (void)g;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
}

#else /* RLVR_HAVE_CUDA */

#include <cuda_runtime_api.h>

#include "model/cuda/device.h"
#include "model/cuda/model.h"
#include "model/cuda/ops.h"

/* A CUDA failure here is a broken machine or a bug, as in model/cuda/. */
#define LG_CUDA(call)                                                                              \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    RLVR_CHECK(e_ == cudaSuccess, "CUDA: %s in %s", cudaGetErrorString(e_), #call);                \
  } while (0)

struct rlvr_learn_gpu {
  rlvr_cuda_context ctx;
  rlvr_cuda_model dm;
  rlvr_cuda_forward_state fs;
  int fs_seq; /* max_seq fs was built for; 0 = not built */
  int max_batch, max_position;
  float temperature;
  rlvr_cuda_arena opt_arena; /* m, v (num_params floats each), norm scratch */
  float *m, *v, *scale;
  double *norm, *partials;
  int have_scale; /* the last clip left a factor for the next AdamW step */
  int built;      /* ctx, dm built (free in order) */
};

int rlvr_learn_gpu_available(char *why, size_t cap) {
  if (rlvr_cuda_device_count() > 0) {
    if (cap) why[0] = 0;
    return 1;
  }
  snprintf(why, cap, "no CUDA device is usable here (no GPU or no driver)");
  return 0;
}

int rlvr_learn_gpu_build(rlvr_learn_gpu **out, const char *dtype, const rlvr_model *m, const rlvr_adamw *opt,
                         int max_batch, float temperature) {
  *out = NULL;
  char why[128];
  if (!rlvr_learn_gpu_available(why, sizeof why)) return device_error(why);
  RLVR_CHECK(opt->n == m->num_params);
  rlvr_learn_gpu *g = xcalloc(1, sizeof *g);
  const rlvr_dtype dt = !strcmp(dtype, "bf16") ? RLVR_DTYPE_BF16 : RLVR_DTYPE_F32;
  rlvr_cuda_context_build(&g->ctx, 0);
  rlvr_cuda_model_build(&g->dm, &g->ctx, m, dt, 1);
  g->built = 1;
  g->max_batch = max_batch;
  g->max_position = m->cfg.max_position;
  g->temperature = temperature;
  const size_t n = m->num_params;
  const size_t sizes[] = {n * sizeof(float), n * sizeof(float), sizeof(float), sizeof(double),
                          RLVR_CUDA_NORM_BLOCKS * sizeof(double)};
  rlvr_cuda_arena_build(&g->opt_arena, "adamw", rlvr_cuda_arena_need(sizes, 5));
  g->m = rlvr_cuda_arena_alloc(&g->opt_arena, sizes[0]);
  g->v = rlvr_cuda_arena_alloc(&g->opt_arena, sizes[1]);
  g->scale = rlvr_cuda_arena_alloc(&g->opt_arena, sizes[2]);
  g->norm = rlvr_cuda_arena_alloc(&g->opt_arena, sizes[3]);
  g->partials = rlvr_cuda_arena_alloc(&g->opt_arena, sizes[4]);
  rlvr_cuda_upload(g->m, RLVR_DTYPE_F32, opt->m, n, g->ctx.stream);
  rlvr_cuda_upload(g->v, RLVR_DTYPE_F32, opt->v, n, g->ctx.stream);
  rlvr_cuda_context_sync(&g->ctx);
  *out = g;
  return RLVR_OK;
}

void rlvr_learn_gpu_free(rlvr_learn_gpu *g) {
  if (!g) return;
  if (g->fs_seq) rlvr_cuda_forward_free(&g->fs);
  rlvr_cuda_arena_free(&g->opt_arena);
  if (g->built) {
    rlvr_cuda_model_free(&g->dm);
    rlvr_cuda_context_free(&g->ctx);
  }
  free(g);
}

void rlvr_learn_gpu_grads_zero(rlvr_learn_gpu *g) {
  rlvr_cuda_model_grads_zero(&g->dm);
  g->have_scale = 0;
}

/* As learner.c's ensure_forward: grow (doubling) when a batch needs longer
 * sequences, so short steps do not reserve max_position activations. */
static void ensure_forward(rlvr_learn_gpu *g, int seq) {
  if (g->fs_seq >= seq) return;
  int want = g->fs_seq ? 2 * g->fs_seq : 64;
  if (want < seq) want = seq;
  if (want > g->max_position) want = g->max_position;
  RLVR_CHECK(want >= seq, "sequence of %d tokens beyond max_position (the ledger checks)", seq);
  if (g->fs_seq) rlvr_cuda_forward_free(&g->fs);
  rlvr_cuda_forward_build(&g->fs, &g->dm, g->max_batch, want);
  rlvr_cuda_forward_set_temperature(&g->fs, g->temperature);
  g->fs_seq = want;
}

int rlvr_learn_gpu_forward(rlvr_learn_gpu *g, const int *tokens, const int *lens, int B, int T, const int *targets,
                           float *logprobs, float *entropy) {
  RLVR_CHECK(B <= g->max_batch, "micro-batch of %d rows, built for %d", B, g->max_batch);
  ensure_forward(g, T);
  return rlvr_cuda_forward(&g->fs, tokens, lens, B, T, targets, logprobs, entropy, NULL);
}

void rlvr_learn_gpu_backward(rlvr_learn_gpu *g, const float *w) { rlvr_cuda_backward(&g->fs, w, NULL); }

double rlvr_learn_gpu_clip_grad_norm(rlvr_learn_gpu *g, double max_norm) {
  rlvr_cuda_grad_norm(g->norm, g->scale, g->partials, g->dm.grads, g->dm.params.num_params, max_norm, g->ctx.stream);
  double norm = 0;
  LG_CUDA(cudaMemcpyAsync(&norm, g->norm, sizeof norm, cudaMemcpyDeviceToHost, g->ctx.stream));
  LG_CUDA(cudaStreamSynchronize(g->ctx.stream));
  g->have_scale = 1;
  return norm;
}

void rlvr_learn_gpu_adamw_step(rlvr_learn_gpu *g, rlvr_adamw *opt, const rlvr_adamw_config *cfg) {
  opt->step++; /* as rlvr_adamw_step: t counts this step */
  rlvr_cuda_adamw_step(g->dm.params.f32, g->dm.params.bf16, g->dm.grads, g->m, g->v, g->have_scale ? g->scale : NULL,
                       g->dm.params.tensors, g->dm.params.num_tensors, cfg, opt->step, g->ctx.stream);
  g->have_scale = 0;
}

void rlvr_learn_gpu_download(rlvr_learn_gpu *g, rlvr_model *m, rlvr_adamw *opt) {
  RLVR_CHECK(m->num_params == g->dm.params.num_params);
  rlvr_cuda_params_download(&g->dm.params, m->params_memory, g->ctx.stream);
  if (opt) {
    rlvr_cuda_download(opt->m, g->m, RLVR_DTYPE_F32, opt->n, g->ctx.stream);
    rlvr_cuda_download(opt->v, g->v, RLVR_DTYPE_F32, opt->n, g->ctx.stream);
  }
}

#endif
