/* cuda_source.c — the policy on a GPU as the engine's logits source; see
 * cuda_source.h. The one file of rollout/ that knows whether this binary
 * has CUDA: without it the config check and rlvr_cuda_source_build refuse
 * (RLVR_ERR_CONFIG naming rollout.device), and nothing else is reachable. */
#include "rollout/cuda_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

static int device_error(const char *why) {
  return rlvr_error(RLVR_ERR_CONFIG, "config: key 'rollout.device' is cuda, but %s; use rollout.device = \"cpu\"",
                    why);
}

int rlvr_rollout_device_from_config(const rlvr_config *c, int *cuda) {
  *cuda = 0;
  if (!strcmp(c->rollout_device, "cuda"))
    *cuda = 1;
  else if (strcmp(c->rollout_device, "cpu"))
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'rollout.device' is \"%s\": must be cpu or cuda",
                      c->rollout_device);
  if (strcmp(c->rollout_dtype, "fp32") && strcmp(c->rollout_dtype, "bf16"))
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'rollout.dtype' is \"%s\": must be fp32 or bf16",
                      c->rollout_dtype);
  char why[128];
  if (*cuda && !rlvr_cuda_source_available(why, sizeof why)) return device_error(why);
  if (*cuda && !c->rollout_device_sampling) *cuda = RLVR_ROLLOUT_CUDA_HOST_SAMPLING;
  return RLVR_OK;
}

/* ------------------------------------------------------------------------ */
/* Either device                                                            */
/* ------------------------------------------------------------------------ */

int rlvr_policy_source_build(rlvr_policy_source *ps, const rlvr_model *m, int cuda, const char *dtype, int slots,
                             int max_seq) {
  memset(ps, 0, sizeof *ps);
  if (!cuda) {
    rlvr_model_source_build(&ps->cpu, m, slots, max_seq);
    ps->src = &ps->cpu.src;
    return RLVR_OK;
  }
  const int rc = rlvr_cuda_source_build(&ps->gpu, m, dtype, slots, max_seq, 0, cuda != RLVR_ROLLOUT_CUDA_HOST_SAMPLING);
  if (rc) return rc;
  ps->src = rlvr_cuda_source_get(ps->gpu);
  return RLVR_OK;
}

void rlvr_policy_source_sync(rlvr_policy_source *ps) {
  if (ps->gpu) rlvr_cuda_source_upload(ps->gpu);
}

void rlvr_policy_source_free(rlvr_policy_source *ps) {
  if (!ps) return;
  if (ps->gpu)
    rlvr_cuda_source_free(ps->gpu);
  else if (ps->src)
    rlvr_model_source_free(&ps->cpu);
  memset(ps, 0, sizeof *ps);
}

#ifndef RLVR_HAVE_CUDA

int rlvr_cuda_source_available(char *why, size_t cap) {
  snprintf(why, cap, "this rlvr was built without CUDA (RLVR_CUDA=OFF)");
  return 0;
}

int rlvr_cuda_source_build(rlvr_cuda_source **out, const rlvr_model *m, const char *dtype, int slots, int max_seq,
                           int block_size, int device_sampling) {
  (void)m, (void)dtype, (void)slots, (void)max_seq, (void)block_size, (void)device_sampling;
  *out = NULL;
  char why[128];
  rlvr_cuda_source_available(why, sizeof why);
  return device_error(why);
}

/* Never called with a source: there is none without CUDA. */
void rlvr_cuda_source_free(rlvr_cuda_source *cs) { RLVR_CHECK(cs == NULL, "a GPU source in a build without CUDA"); }
const rlvr_logits_source *rlvr_cuda_source_get(rlvr_cuda_source *cs) {
  (void)cs;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return NULL;
}
void rlvr_cuda_source_upload(rlvr_cuda_source *cs) {
  (void)cs;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
}
void rlvr_cuda_source_get_counters(const rlvr_cuda_source *cs, rlvr_cuda_source_counters *out) {
  (void)cs, (void)out;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
}
int rlvr_cuda_source_check(const rlvr_cuda_source *cs, int *blocks_used) {
  (void)cs, (void)blocks_used;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return 0;
}
int rlvr_cuda_source_wsync_join(rlvr_cuda_source *cs, const rlvr_cuda_wsync_join *j, const char *peers) {
  (void)cs, (void)j, (void)peers;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
int rlvr_cuda_source_wsync_recv(rlvr_cuda_source *cs, uint64_t version, int slot) {
  (void)cs, (void)version, (void)slot;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}
void rlvr_cuda_source_wsync_leave(rlvr_cuda_source *cs) { RLVR_CHECK(cs == NULL, "a GPU source in a build without CUDA"); }
int rlvr_cuda_source_download_bf16(rlvr_cuda_source *cs, uint16_t *out) {
  (void)cs, (void)out;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return RLVR_ERR_UNSUPPORTED;
}

#else /* RLVR_HAVE_CUDA */

#include <cuda_runtime_api.h>

#include "model/cuda/device.h"
#include "model/cuda/model.h"
#include "model/cuda/ops.h"
#include "model/cuda/wsync.h"

_Static_assert((int)RLVR_CUDA_WSYNC_ID_BYTES == (int)RLVR_WSYNC_ID_BYTES, "NCCL id size");
_Static_assert((int)RLVR_CUDA_WSYNC_HANDLE_BYTES == (int)RLVR_WSYNC_HANDLE_BYTES, "IPC handle size");
_Static_assert((int)RLVR_CUDA_WSYNC_UUID_BYTES == (int)RLVR_WSYNC_UUID_BYTES, "UUID size");

/* A CUDA failure here is a broken machine or a bug, as in model/cuda/. */
#define CUDA_CHECK_SRC(call)                                                                       \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    RLVR_CHECK(e_ == cudaSuccess, "CUDA: %s in %s", cudaGetErrorString(e_), #call);                \
  } while (0)

struct rlvr_cuda_source {
  rlvr_cuda_context ctx;
  rlvr_cuda_model dm;
  rlvr_cuda_decode dd;
  const rlvr_model *m; /* borrowed: the weights uploaded by rlvr_cuda_source_upload */
  int V, slots, max_seq;
  /* Sampling on the device (header): where each slot's current row is. */
  int device_sampling;
  rlvr_cuda_arena rows_arena;
  float *prompt_rows;     /* (slots, V) device: each slot's prompt row */
  float *saved_rows;      /* (slots, V) device: the last step's rows, copied aside before a prefill */
  rlvr_sampling *d_params; /* (slots) device, the sample call's */
  double *d_u;            /* (slots) */
  int *d_tokens;          /* (slots) */
  float *d_logprobs;      /* (slots) */
  int *row_where;         /* (slots) host: ROW_* */
  int *row_index;         /* (slots) host: the row within its buffer */
  int *prompt_len;        /* (slots) host: positions the prompt row follows; 0 = none */
  rlvr_cuda_source_counters counters;
  rlvr_logits_source src; /* src.ctx = this struct */
  /* GPU weight sync (rlvr_cuda_source_wsync_join) */
  int have_layout;
  rlvr_wsync_layout layout;
  void *flat;            /* (layout.bytes) NCCL receive buffer when the layout is not the identity */
  rlvr_wsync_nccl nccl;  /* joined when nccl.comm */
  rlvr_wsync_ipc ipc;    /* mapped when ipc.base */
};

int rlvr_cuda_source_available(char *why, size_t cap) {
  if (rlvr_cuda_device_count() > 0) {
    if (cap) why[0] = 0;
    return 1;
  }
  snprintf(why, cap, "no CUDA device is usable here (no GPU or no driver)");
  return 0;
}

/* A CUDA failure here is a broken machine or a bug, as in model/cuda/. */
#define CS_CUDA(call)                                                                              \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    RLVR_CHECK(e_ == cudaSuccess, "CUDA: %s in %s", cudaGetErrorString(e_), #call);                \
  } while (0)

/* Where a slot's current row is (device sampling). */
enum {
  ROW_NONE = 0, /* no row: after a truncate, a copy of a non-prompt length, or never filled */
  ROW_LAST,     /* row_index of the decode's logits (the last step) */
  ROW_SAVED,    /* row_index of saved_rows */
  ROW_PROMPT,   /* the slot's own row of prompt_rows */
};

static const float *row_ptr(const rlvr_cuda_source *cs, int slot) {
  const size_t V = (size_t)cs->V;
  switch (cs->row_where[slot]) {
  case ROW_LAST: return cs->dd.logits + (size_t)cs->row_index[slot] * V;
  case ROW_SAVED: return cs->saved_rows + (size_t)cs->row_index[slot] * V;
  case ROW_PROMPT: return cs->prompt_rows + (size_t)slot * V;
  }
  RLVR_CHECK(0, "GPU source: slot %d has no current row to sample (a truncate or a partial copy since its last step)",
             slot);
  return NULL;
}

static void d2d_rows(rlvr_cuda_source *cs, float *dst, const float *src, size_t rows) {
  CS_CUDA(cudaMemcpyAsync(dst, src, rows * (size_t)cs->V * sizeof(float), cudaMemcpyDeviceToDevice, cs->ctx.stream));
}

/* Before a prefill overwrites the decode's logits: the rows of the last
 * step that are still some slot's current row (not one of the B slots being
 * restarted) go to saved_rows, same indices, in one copy. */
static void save_last_rows(rlvr_cuda_source *cs, const int *restart, int B) {
  for (int b = 0; b < B; b++) cs->row_where[restart[b]] = ROW_NONE;
  int rows = 0;
  for (int s = 0; s < cs->slots; s++)
    if (cs->row_where[s] == ROW_LAST && cs->row_index[s] + 1 > rows) rows = cs->row_index[s] + 1;
  if (!rows) return;
  for (int s = 0; s < cs->slots; s++)
    if (cs->row_where[s] == ROW_SAVED) cs->row_where[s] = ROW_NONE; /* overwritten now */
  d2d_rows(cs, cs->saved_rows, cs->dd.logits, (size_t)rows);
  for (int s = 0; s < cs->slots; s++)
    if (cs->row_where[s] == ROW_LAST) cs->row_where[s] = ROW_SAVED;
  cs->counters.rows_saved += rows;
}

/* Prefill restarts its slots: the decode opens sequences that are closed,
 * so the slots still open (a finished sample's, or one copied into) are
 * released first. Inputs are checked before that, so an error from outside
 * changes no slot. */
static int cs_prefill(void *ctx, const int *slots, const int *tokens, const int *lens, int B, int T, float *logits) {
  rlvr_cuda_source *cs = ctx;
  RLVR_CHECK(B >= 0 && B <= cs->slots && T >= 0, "GPU source prefill: batch %d x %d (slots %d)", B, T, cs->slots);
  for (int b = 0; b < B; b++) {
    if (slots[b] < 0 || slots[b] >= cs->slots)
      return rlvr_error(RLVR_ERR_ARG, "GPU source prefill: slot %d outside 0..%d", slots[b], cs->slots - 1);
    for (int j = 0; j < b; j++)
      if (slots[j] == slots[b]) return rlvr_error(RLVR_ERR_ARG, "GPU source prefill: slot %d given twice", slots[b]);
    if (lens[b] < 1 || lens[b] > T || lens[b] > cs->max_seq)
      return rlvr_error(RLVR_ERR_RANGE, "GPU source prefill: prompt %d has length %d outside 1..%d", b, lens[b],
                        T < cs->max_seq ? T : cs->max_seq);
    for (int t = 0; t < lens[b]; t++) {
      const int tok = tokens[(size_t)b * T + t];
      if (tok < 0 || tok >= cs->V)
        return rlvr_error(RLVR_ERR_RANGE, "GPU source prefill: token %d at prompt %d position %d is outside the vocabulary (%d)",
                          tok, b, t, cs->V);
    }
  }
  for (int b = 0; b < B; b++)
    if (rlvr_cuda_decode_len(&cs->dd, slots[b]) >= 0)
      RLVR_CHECK(rlvr_cuda_decode_release(&cs->dd, slots[b]) == RLVR_OK, "GPU source: release of slot %d", slots[b]);
  if (cs->device_sampling) save_last_rows(cs, slots, B);
  /* Checked inputs and a pool sized for every slot full: nothing left to fail. */
  const int rc = rlvr_cuda_decode_prefill(&cs->dd, slots, tokens, lens, B, T, logits);
  RLVR_CHECK(rc == RLVR_OK, "GPU source prefill after checks: %s", rlvr_error_message());
  if (logits) cs->counters.rows_to_host += B;
  if (cs->device_sampling) {
    for (int b = 0; b < B; b++) {
      d2d_rows(cs, cs->prompt_rows + (size_t)slots[b] * cs->V, cs->dd.logits + (size_t)b * cs->V, 1);
      cs->row_where[slots[b]] = ROW_PROMPT;
      cs->prompt_len[slots[b]] = lens[b];
    }
    cs->counters.prompt_rows += B;
  }
  return RLVR_OK;
}

static int cs_step(void *ctx, const int *slots, const int *tokens, int n, float *logits) {
  rlvr_cuda_source *cs = ctx;
  const int rc = rlvr_cuda_decode_step(&cs->dd, slots, tokens, n, logits);
  if (rc) return rc; /* nothing changed, the rows included */
  if (logits) cs->counters.rows_to_host += n;
  if (cs->device_sampling) {
    for (int s = 0; s < cs->slots; s++)
      if (cs->row_where[s] == ROW_LAST) cs->row_where[s] = ROW_NONE; /* overwritten */
    for (int i = 0; i < n; i++) cs->row_where[slots[i]] = ROW_LAST, cs->row_index[slots[i]] = i;
  }
  return RLVR_OK;
}

/* The engine's sample operation: uniforms and settings up, one launch of
 * rlvr_cuda_sample per run of requests whose rows are consecutive in one
 * buffer, tokens and log-probs down. */
static int cs_sample(void *ctx, const int *slots, int n, const rlvr_sampling *params, const double *u, int *tokens,
                     float *logprobs) {
  rlvr_cuda_source *cs = ctx;
  RLVR_CHECK(n >= 0 && n <= cs->slots, "GPU source sample: %d slots of %d", n, cs->slots);
  if (n == 0) return RLVR_OK;
  for (int i = 0; i < n; i++)
    RLVR_CHECK(slots[i] >= 0 && slots[i] < cs->slots, "GPU source sample: slot %d of %d", slots[i], cs->slots);
  cudaStream_t st = cs->ctx.stream;
  CS_CUDA(cudaMemcpyAsync(cs->d_params, params, (size_t)n * sizeof *params, cudaMemcpyHostToDevice, st));
  CS_CUDA(cudaMemcpyAsync(cs->d_u, u, (size_t)n * sizeof *u, cudaMemcpyHostToDevice, st));
  for (int i0 = 0; i0 < n;) {
    const float *base = row_ptr(cs, slots[i0]);
    int i1 = i0 + 1;
    while (i1 < n && row_ptr(cs, slots[i1]) == base + (size_t)(i1 - i0) * cs->V) i1++;
    rlvr_cuda_sample(cs->d_tokens + i0, cs->d_logprobs + i0, base, i1 - i0, cs->V, cs->d_params + i0, cs->d_u + i0,
                     RLVR_DTYPE_F32, st);
    cs->counters.sample_launches++;
    i0 = i1;
  }
  CS_CUDA(cudaMemcpyAsync(tokens, cs->d_tokens, (size_t)n * sizeof *tokens, cudaMemcpyDeviceToHost, st));
  CS_CUDA(cudaMemcpyAsync(logprobs, cs->d_logprobs, (size_t)n * sizeof *logprobs, cudaMemcpyDeviceToHost, st));
  CS_CUDA(cudaStreamSynchronize(st));
  cs->counters.rows_sampled += n;
  return RLVR_OK;
}

/* dst shares src's blocks, then forgets the positions past len; its first
 * step copies the shared partial block (copy-on-write in the decode). */
static void cs_copy(void *ctx, int src, int dst, int len) {
  rlvr_cuda_source *cs = ctx;
  RLVR_CHECK(src != dst && src >= 0 && dst >= 0 && src < cs->slots && dst < cs->slots, "GPU source copy %d -> %d", src,
             dst);
  const int have = rlvr_cuda_decode_len(&cs->dd, src);
  RLVR_CHECK(len >= 1 && len <= have, "GPU source copy of %d positions, slot %d holds %d", len, src, have);
  if (rlvr_cuda_decode_len(&cs->dd, dst) >= 0)
    RLVR_CHECK(rlvr_cuda_decode_release(&cs->dd, dst) == RLVR_OK, "GPU source: release of slot %d", dst);
  RLVR_CHECK(rlvr_cuda_decode_fork(&cs->dd, src, dst) == RLVR_OK, "GPU source fork: %s", rlvr_error_message());
  if (len < have)
    RLVR_CHECK(rlvr_cuda_decode_truncate(&cs->dd, dst, len) == RLVR_OK, "GPU source truncate: %s",
               rlvr_error_message());
  if (!cs->device_sampling) return;
  cs->row_where[dst] = ROW_NONE, cs->prompt_len[dst] = 0;
  if (cs->prompt_len[src] == len) { /* the engine's shared prefill: dst starts from src's prompt row */
    d2d_rows(cs, cs->prompt_rows + (size_t)dst * cs->V, cs->prompt_rows + (size_t)src * cs->V, 1);
    cs->row_where[dst] = ROW_PROMPT, cs->prompt_len[dst] = len;
    cs->counters.prompt_rows++;
  }
}

static void cs_truncate(void *ctx, int slot, int len) {
  rlvr_cuda_source *cs = ctx;
  const int have = rlvr_cuda_decode_len(&cs->dd, slot);
  RLVR_CHECK(slot >= 0 && slot < cs->slots && len >= 1 && len <= have, "GPU source truncate slot %d to %d (holds %d)",
             slot, len, have);
  RLVR_CHECK(rlvr_cuda_decode_truncate(&cs->dd, slot, len) == RLVR_OK, "GPU source truncate: %s",
             rlvr_error_message());
  if (!cs->device_sampling) return;
  cs->row_where[slot] = ROW_NONE;                          /* the row after the old last position */
  if (len < cs->prompt_len[slot]) cs->prompt_len[slot] = 0; /* positions of the prompt forgotten */
}

int rlvr_cuda_source_build(rlvr_cuda_source **out, const rlvr_model *m, const char *dtype, int slots, int max_seq,
                           int block_size, int device_sampling) {
  *out = NULL;
  char why[128];
  if (!rlvr_cuda_source_available(why, sizeof why)) return device_error(why);
  RLVR_CHECK(slots >= 1 && max_seq >= 1 && max_seq <= m->cfg.max_position && block_size >= 0,
             "GPU source: slots %d, max_seq %d (max_position %d), block_size %d", slots, max_seq, m->cfg.max_position,
             block_size);
  RLVR_CHECK(!strcmp(dtype, "fp32") || !strcmp(dtype, "bf16"), "GPU source dtype '%s' (checked by the config)", dtype);
  if (block_size == 0) block_size = 16;
  rlvr_cuda_source *cs = xcalloc(1, sizeof *cs);
  cs->m = m;
  cs->V = m->cfg.vocab_size;
  cs->slots = slots;
  cs->max_seq = max_seq;
  const rlvr_dtype dt = !strcmp(dtype, "bf16") ? RLVR_DTYPE_BF16 : RLVR_DTYPE_F32;
  rlvr_cuda_context_build(&cs->ctx, 0);
  rlvr_cuda_model_build(&cs->dm, &cs->ctx, m, dt, 0);
  /* Every slot full with nothing shared, plus one block per pair of slots
   * for the step's conservative count of shared partial blocks (header). */
  const int max_blocks = (max_seq + block_size - 1) / block_size;
  const int num_blocks = slots * max_blocks + slots / 2 + 1;
  /* Prefill chunks of up to 256 rows as the CPU source; a step needs one row per slot. */
  const int max_rows = slots > 256 ? slots : 256;
  rlvr_cuda_decode_build(&cs->dd, &cs->dm, slots, max_seq, num_blocks, block_size, max_rows);
  cs->src = (rlvr_logits_source){
      .ctx = cs, .vocab_size = cs->V, .slots = slots, .max_seq = max_seq, .max_rows = max_rows,
      .prefill = cs_prefill, .step = cs_step, .copy = cs_copy, .truncate = cs_truncate,
  };
  if (device_sampling) {
    const size_t rows = (size_t)slots * cs->V * sizeof(float);
    const size_t sizes[6] = {rows, rows, (size_t)slots * sizeof(rlvr_sampling), (size_t)slots * sizeof(double),
                             (size_t)slots * sizeof(int), (size_t)slots * sizeof(float)};
    rlvr_cuda_arena_build(&cs->rows_arena, "rollout rows", rlvr_cuda_arena_need(sizes, 6));
    cs->prompt_rows = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[0]);
    cs->saved_rows = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[1]);
    cs->d_params = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[2]);
    cs->d_u = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[3]);
    cs->d_tokens = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[4]);
    cs->d_logprobs = rlvr_cuda_arena_alloc(&cs->rows_arena, sizes[5]);
    cs->row_where = xcalloc((size_t)slots, sizeof(int)); /* ROW_NONE */
    cs->row_index = xcalloc((size_t)slots, sizeof(int));
    cs->prompt_len = xcalloc((size_t)slots, sizeof(int));
    cs->device_sampling = 1;
    cs->src.sample = cs_sample;
  }
  *out = cs;
  return RLVR_OK;
}

void rlvr_cuda_source_free(rlvr_cuda_source *cs) {
  if (!cs) return;
  rlvr_cuda_arena_free(&cs->rows_arena);
  free(cs->row_where), free(cs->row_index), free(cs->prompt_len);
  rlvr_cuda_source_wsync_leave(cs);
  if (cs->have_layout) rlvr_wsync_layout_free(&cs->layout);
  rlvr_cuda_decode_free(&cs->dd);
  rlvr_cuda_model_free(&cs->dm);
  rlvr_cuda_context_free(&cs->ctx);
  free(cs);
}

const rlvr_logits_source *rlvr_cuda_source_get(rlvr_cuda_source *cs) { return &cs->src; }

void rlvr_cuda_source_upload(rlvr_cuda_source *cs) {
  rlvr_cuda_model_upload(&cs->dm, cs->m->params_memory);
  rlvr_cuda_context_sync(&cs->ctx);
}

void rlvr_cuda_source_get_counters(const rlvr_cuda_source *cs, rlvr_cuda_source_counters *out) {
  *out = cs->counters;
}

int rlvr_cuda_source_check(const rlvr_cuda_source *cs, int *blocks_used) {
  const rlvr_kv_pages *kp = &cs->dd.pages;
  if (blocks_used) *blocks_used = kp->num_blocks - kp->num_free;
  return rlvr_kv_pages_consistent(kp);
}

/* ---- GPU weight sync, the worker's side ---- */

void rlvr_cuda_source_wsync_leave(rlvr_cuda_source *cs) {
  if (!cs) return;
  rlvr_wsync_nccl_abort(&cs->nccl);
  rlvr_wsync_ipc_free(&cs->ipc);
  if (cs->flat) CUDA_CHECK_SRC(cudaFree(cs->flat));
  cs->flat = NULL;
}

int rlvr_cuda_source_wsync_join(rlvr_cuda_source *cs, const rlvr_cuda_wsync_join *j, const char *peers) {
  rlvr_cuda_source_wsync_leave(cs);
  if (!cs->dm.params.bf16)
    return rlvr_error(RLVR_ERR_CONFIG, "config: key 'rollout.dtype' is fp32 here, but GPU weight sync carries bf16 "
                                       "weights: use rollout.dtype = \"bf16\" (or learner.weight_sync = \"zmq\")");
  /* The layout of this model's weights, in the learner's buckets. */
  if (cs->have_layout && cs->layout.bucket_bytes != j->bucket_bytes) {
    rlvr_wsync_layout_free(&cs->layout);
    cs->have_layout = 0;
  }
  if (!cs->have_layout) {
    const int rc = rlvr_wsync_layout_build(&cs->layout, cs->dm.params.tensors, cs->dm.params.num_tensors,
                                           sizeof(rlvr_bf16), (size_t)j->bucket_bytes);
    if (rc) return rc;
    cs->have_layout = 1;
  }
  int rc = rlvr_wsync_check_init(j->layout, j->bytes, &cs->layout);
  if (rc) return rc;
  if (j->ipc)
    return rlvr_wsync_ipc_open(&cs->ipc, &cs->ctx, &cs->layout, j->handle, j->device, j->slots,
                               (size_t)j->slot_bytes);
  rc = rlvr_wsync_nccl_join(&cs->nccl, &cs->ctx, &cs->layout, j->unique_id, j->rank, j->nranks, j->timeout_ms, peers);
  if (rc) return rc;
  if (!cs->layout.identity) CUDA_CHECK_SRC(cudaMalloc(&cs->flat, cs->layout.bytes));
  return RLVR_OK;
}

int rlvr_cuda_source_wsync_recv(rlvr_cuda_source *cs, uint64_t version, int slot) {
  rlvr_bf16 *dst = cs->dm.params.bf16;
  if (slot >= 0) {
    if (!cs->ipc.base)
      return rlvr_error(RLVR_ERR_PROTOCOL, "weight sync: version %llu in slot %d, but no slots are mapped",
                        (unsigned long long)version, slot);
    return rlvr_wsync_ipc_read(&cs->ipc, slot, dst);
  }
  if (!cs->nccl.comm)
    return rlvr_error(RLVR_ERR_PROTOCOL, "weight sync: version %llu by NCCL, but no communicator is joined",
                      (unsigned long long)version);
  void *flat = cs->layout.identity ? (void *)dst : cs->flat;
  const int rc = rlvr_wsync_nccl_broadcast(&cs->nccl, flat, version);
  if (rc) {
    rlvr_cuda_source_wsync_leave(cs); /* the communicator is aborted: join a new one */
    return rc;
  }
  if (!cs->layout.identity) rlvr_wsync_unpack(&cs->layout, dst, cs->flat, cs->ctx.stream);
  rlvr_cuda_context_sync(&cs->ctx);
  return RLVR_OK;
}

int rlvr_cuda_source_download_bf16(rlvr_cuda_source *cs, uint16_t *out) {
  const rlvr_cuda_params *p = &cs->dm.params;
  if (!p->bf16) return rlvr_error(RLVR_ERR_UNSUPPORTED, "the GPU source is fp32: it has no bf16 weights");
  CUDA_CHECK_SRC(cudaMemcpyAsync(out, p->bf16, p->num_params * sizeof(rlvr_bf16), cudaMemcpyDeviceToHost,
                                 cs->ctx.stream));
  rlvr_cuda_context_sync(&cs->ctx);
  return RLVR_OK;
}

#endif
