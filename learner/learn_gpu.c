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

/* learner.weight_sync and its keys. nccl and ipc move bf16 weights from
 * the learner's GPU into the workers' GPU models, so both sides must be on
 * GPUs, and the workers must compute in bf16: an fp32 worker would sample
 * from bf16-rounded weights while believing them exact (refused rather
 * than allowed with that caveat; zmq keeps exact fp32 weights). The
 * learner checks rollout.* of its own config, which `rlvr train` and the
 * Slurm templates hand to the workers; a worker with other settings
 * refuses the learner's wsync_init itself (rollout/worker.h). */
static int check_weight_sync(const rlvr_config *cfg, int use_gpu) {
  const char *ws = cfg->learner_weight_sync;
  if (strcmp(ws, "zmq") && strcmp(ws, "nccl") && strcmp(ws, "ipc"))
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.weight_sync' is \"%s\": must be zmq, nccl or ipc", ws);
  if (!strcmp(ws, "zmq")) return RLVR_OK;
  if (!use_gpu)
    return rlvr_error(RLVR_ERR_CONFIG,
                      "config: key 'learner.weight_sync' is %s: GPU weight sync needs learner.device = \"cuda\" (it is "
                      "\"%s\"); use learner.weight_sync = \"zmq\"",
                      ws, cfg->learner_device);
  if (strcmp(cfg->rollout_device, "cuda"))
    return rlvr_error(RLVR_ERR_CONFIG,
                      "config: key 'learner.weight_sync' is %s: GPU weight sync needs the workers on GPUs, "
                      "rollout.device = \"cuda\" (it is \"%s\"); use learner.weight_sync = \"zmq\"",
                      ws, cfg->rollout_device);
  if (strcmp(cfg->rollout_dtype, "bf16"))
    return rlvr_error(RLVR_ERR_CONFIG,
                      "config: key 'learner.weight_sync' is %s: the weights travel as bf16, so rollout.dtype must be "
                      "\"bf16\" (it is \"%s\": fp32 workers would sample from bf16-rounded weights); use "
                      "learner.weight_sync = \"zmq\" for exact fp32 weights",
                      ws, cfg->rollout_dtype);
  if (cfg->learner_weight_sync_timeout_ms < 1 || cfg->learner_weight_sync_timeout_ms > 3600000)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.weight_sync_timeout_ms' is %lld: must be in 1..3600000",
                      (long long)cfg->learner_weight_sync_timeout_ms);
  const int64_t b = cfg->learner_weight_sync_bucket_bytes;
  if (b < 256 || b % 256 || b > ((int64_t)1 << 40))
    return rlvr_error(RLVR_ERR_CONFIG,
                      "config: key 'learner.weight_sync_bucket_bytes' is %lld: must be a multiple of 256 in 256..2^40",
                      (long long)b);
  return RLVR_OK;
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
  return check_weight_sync(cfg, *use_gpu);
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

int rlvr_learn_gpu_wsync_build(rlvr_learn_gpu *g, int ipc, size_t bucket_bytes, int nslots,
                               rlvr_learn_wsync_info *info) {
  (void)g, (void)ipc, (void)bucket_bytes, (void)nslots, (void)info;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
int rlvr_learn_gpu_nccl_id(uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES]) {
  (void)id;
  return rlvr_error(RLVR_ERR_UNSUPPORTED, "weight sync: this rlvr was built without CUDA");
}
int rlvr_learn_gpu_nccl_join(rlvr_learn_gpu *g, const uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES], int nranks,
                             int timeout_ms, const char *peers) {
  (void)g, (void)id, (void)nranks, (void)timeout_ms, (void)peers;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
int rlvr_learn_gpu_nccl_broadcast(rlvr_learn_gpu *g, uint64_t version) {
  (void)g, (void)version;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
void rlvr_learn_gpu_nccl_leave(rlvr_learn_gpu *g) { RLVR_CHECK(g == NULL, "a GPU learner in a build without CUDA"); }
void rlvr_learn_gpu_ipc_write(rlvr_learn_gpu *g, int slot) {
  (void)g, (void)slot;
  RLVR_CHECK(0, "a GPU learner in a build without CUDA");
}

#else /* RLVR_HAVE_CUDA */

#include <cuda_runtime_api.h>

#include "model/cuda/device.h"
#include "model/cuda/model.h"
#include "model/cuda/ops.h"
#include "model/cuda/wsync.h"

_Static_assert((int)RLVR_LEARN_WSYNC_ID_BYTES == (int)RLVR_WSYNC_ID_BYTES, "NCCL id size");
_Static_assert((int)RLVR_LEARN_WSYNC_HANDLE_BYTES == (int)RLVR_WSYNC_HANDLE_BYTES, "IPC handle size");
_Static_assert((int)RLVR_LEARN_WSYNC_UUID_BYTES == (int)RLVR_WSYNC_UUID_BYTES, "UUID size");

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
  /* GPU weight sync (rlvr_learn_gpu_wsync_build) */
  int wsync_built;
  rlvr_wsync_layout layout;
  rlvr_bf16 *wsync_bf16; /* (num_params) fp32 learners: round_bf16(master) per version; else NULL */
  void *wsync_flat;      /* (layout.bytes) when the layout is not the identity; else NULL */
  rlvr_wsync_nccl nccl;  /* joined when nccl.comm */
  rlvr_wsync_ipc ipc;    /* slots when ipc.base */
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
  if (g->wsync_built) {
    rlvr_wsync_nccl_abort(&g->nccl);
    rlvr_wsync_ipc_free(&g->ipc);
    if (g->wsync_bf16) LG_CUDA(cudaFree(g->wsync_bf16));
    if (g->wsync_flat) LG_CUDA(cudaFree(g->wsync_flat));
    rlvr_wsync_layout_free(&g->layout);
  }
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

/* ---- GPU weight sync, the learner's side ---- */

int rlvr_learn_gpu_wsync_build(rlvr_learn_gpu *g, int ipc, size_t bucket_bytes, int nslots,
                               rlvr_learn_wsync_info *info) {
  RLVR_CHECK(!g->wsync_built, "weight sync built twice");
  memset(info, 0, sizeof *info);
  if (!ipc && !rlvr_wsync_have_nccl())
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'learner.weight_sync' is nccl, but this rlvr was built without "
                                       "NCCL (nccl.h was not found); use ipc (one GPU) or zmq");
  const rlvr_cuda_params *p = &g->dm.params;
  int rc = rlvr_wsync_layout_build(&g->layout, p->tensors, p->num_tensors, sizeof(rlvr_bf16), bucket_bytes);
  if (rc) return rc;
  g->wsync_built = 1;
  if (!p->bf16) LG_CUDA(cudaMalloc((void **)&g->wsync_bf16, p->num_params * sizeof(rlvr_bf16)));
  if (!g->layout.identity) LG_CUDA(cudaMalloc(&g->wsync_flat, g->layout.bytes));
  info->layout_hash = g->layout.hash;
  info->bytes = g->layout.bytes;
  info->bucket_bytes = g->layout.bucket_bytes;
  if (ipc) {
    rlvr_wsync_ipc_build(&g->ipc, &g->ctx, &g->layout, nslots);
    rlvr_wsync_ipc_handle(&g->ipc, info->handle);
    rlvr_wsync_device_uuid(g->ctx.device, info->uuid);
    info->nslots = nslots;
    info->slot_bytes = g->ipc.slot_bytes;
  }
  return RLVR_OK;
}

/* The current weights as bf16 in the model's layout (device): the bf16
 * copy, or the fp32 master rounded into wsync_bf16, queued on the stream. */
static const rlvr_bf16 *wsync_source(rlvr_learn_gpu *g) {
  const rlvr_cuda_params *p = &g->dm.params;
  if (p->bf16) return p->bf16;
  rlvr_cuda_f32_to_bf16(g->wsync_bf16, p->f32, p->num_params, g->ctx.stream);
  return g->wsync_bf16;
}

int rlvr_learn_gpu_nccl_id(uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES]) { return rlvr_wsync_nccl_unique_id(id); }

int rlvr_learn_gpu_nccl_join(rlvr_learn_gpu *g, const uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES], int nranks,
                             int timeout_ms, const char *peers) {
  RLVR_CHECK(g->wsync_built && !g->nccl.comm, "join without a layout, or joined already");
  return rlvr_wsync_nccl_join(&g->nccl, &g->ctx, &g->layout, id, 0, nranks, timeout_ms, peers);
}

int rlvr_learn_gpu_nccl_broadcast(rlvr_learn_gpu *g, uint64_t version) {
  RLVR_CHECK(g->wsync_built);
  if (!g->nccl.comm) return rlvr_error(RLVR_ERR_IO, "weight sync (NCCL): not joined to a communicator");
  const rlvr_bf16 *src = wsync_source(g);
  void *flat = (void *)src; /* rank 0 only sends: the buffer is read, not written */
  if (!g->layout.identity) {
    rlvr_wsync_pack(&g->layout, g->wsync_flat, src, g->ctx.stream);
    flat = g->wsync_flat;
  }
  const int rc = rlvr_wsync_nccl_broadcast(&g->nccl, flat, version);
  if (rc) rlvr_wsync_nccl_abort(&g->nccl); /* aborted already; frees the rest */
  return rc;
}

void rlvr_learn_gpu_nccl_leave(rlvr_learn_gpu *g) {
  if (g && g->wsync_built) rlvr_wsync_nccl_abort(&g->nccl);
}

void rlvr_learn_gpu_ipc_write(rlvr_learn_gpu *g, int slot) {
  RLVR_CHECK(g->wsync_built && g->ipc.base, "IPC write without slots");
  rlvr_wsync_ipc_write(&g->ipc, slot, wsync_source(g));
}

#endif
