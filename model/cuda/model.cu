/* model.cu — the policy model on the GPU: device copy, training forward and
 * backward, and decoding over a paged KV cache; see model.h. Status:
 * compiled, not yet run on a GPU.
 *
 * The forward and backward follow model/forward.c and model/backward.c step
 * for step (same buffers, same order), with the ops of ops.h in place of
 * the CPU kernels, so that the two can be read side by side. A layer is two
 * halves shared by training and decoding (layer_attn_in: norm, q/k/v,
 * q/k norm, RoPE; layer_attn_out: o_proj, residual, norm, SwiGLU MLP,
 * residual); only attention differs: over the packed batch for training
 * (rlvr_cuda_attention_forward: attention_fwd_kernel2, query and key tiles
 * in shared memory), over the paged cache for decoding
 * (rlvr_cuda_paged_attention: paged_attention_kernel2, a row's context cut
 * into splits of at most 256 keys merged by a combine kernel). A row whose
 * context is at most 256 keys is one split, walked in the training
 * forward's key tiles with its arithmetic, so given the same q, k and v its
 * attention output is the same bits (test_cuda_ops checks it); longer
 * contexts are merged from splits and agree within float32 rounding. (The
 * reference kernels attention_fwd_kernel1 and paged_attention_kernel1 also
 * share their arithmetic.) A decode row's result depends only on its own
 * inputs and position: its split count is a function of its context
 * length, not of the other rows of the call.
 *
 * Logits are made in float32 (rlvr_cuda_linear_forward_f32out) a chunk of
 * rows at a time, as the CPU, and never stored in bf16: the log-softmax and
 * the sampler read float32 logits in both modes.
 *
 * Kernels here, all one writer per output, no floating-point atomics:
 *   embed_fwd_kernel1    out[n] = table[tok[n]] (a copy, exact)
 *   embed_bwd_kernel1    thread per channel, rows in order: g[tok[n]] += d[n]
 *                        (deterministic; parallel only over C: slow, simple)
 *   gather_rows_kernel1  dst[dst_row[k]] = src[src_row[k]]
 *   kv_store_kernel1     k, v rows into the cache at their pool slots
 * and, from attention.cuh through rlvr_cuda_paged_attention, the paged
 * attention of a row at position p over positions 0..p of its sequence
 * through its block table. */
#include <math.h>
#include <string.h>

#include "model/cuda/attention.cuh"
#include "model/cuda/cuda_common.h"
#include "model/cuda/model.h"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
#include "core/error.h"
#include "model/forward.h"
#include "model/kernels.h"
}

enum { EW_BLOCK = 256 };

static unsigned ew_grid(size_t n) {
  size_t b = CEIL_DIV(n, (size_t)EW_BLOCK);
  if (b > 65536) b = 65536;
  return (unsigned)(b ? b : 1);
}

/* ------------------------------------------------------------------------ */
/* kernels                                                                   */
/* ------------------------------------------------------------------------ */

template <typename T>
__global__ void embed_fwd_kernel1(T *out, const T *table, const int *tok, int N, int C) {
  const size_t total = (size_t)N * C;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const size_t n = i / (size_t)C, c = i % (size_t)C;
    out[i] = table[(size_t)tok[n] * C + c];
  }
}

template <typename T>
__global__ void embed_bwd_kernel1(float *gembed, const T *dres, const int *tok, int N, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int n = 0; n < N; n++) gembed[(size_t)tok[n] * C + c] += ldf(dres, (size_t)n * C + c);
}

template <typename T>
__global__ void gather_rows_kernel1(T *dst, const T *src, const int *src_row, const int *dst_row, int n, int C) {
  const size_t total = (size_t)n * C;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const size_t k = i / (size_t)C, c = i % (size_t)C;
    dst[(size_t)dst_row[k] * C + c] = src[(size_t)src_row[k] * C + c];
  }
}

template <typename T>
__global__ void kv_store_kernel1(T *kc, T *vc, const T *k, const T *v, const int *slot, int N, int KD) {
  const size_t total = (size_t)N * KD;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const size_t n = i / (size_t)KD, c = i % (size_t)KD;
    const size_t at = (size_t)slot[n] * KD + c;
    kc[at] = k[i];
    vc[at] = v[i];
  }
}

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static void *at(const void *p, size_t elems, rlvr_dtype dt) {
  return p ? (void *)((char *)p + elems * rlvr_dtype_size(dt)) : NULL;
}

/* The weight tensor whose fp32 master copy starts at f32 (a device pointer
 * from dm->params.p), in the compute dtype. NULL stays NULL. */
static const void *wt(const rlvr_cuda_model *dm, const float *f32) {
  if (!f32) return NULL;
  return dm->dt == RLVR_DTYPE_F32 ? (const void *)f32 : (const void *)rlvr_cuda_params_bf16_at(&dm->params, f32);
}

static void h2d(void *dst, const void *src, size_t bytes, cudaStream_t s) {
  /* from pageable memory: returns once the source is staged, so the host
   * buffer may be reused at once; ordered on s after earlier work */
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
}

static void d2h(void *dst, const void *src, size_t bytes, cudaStream_t s) {
  if (!bytes) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
}

/* A list of (pointer, bytes) reserved in one arena. */
enum { PLAN_MAX = 96 };
typedef struct {
  void **ptr[PLAN_MAX];
  size_t bytes[PLAN_MAX];
  int n;
} plan_t;

#define PLAN(pl, field, nbytes) plan_add(pl, (void **)&(field), (size_t)(nbytes))
static void plan_add(plan_t *pl, void **ptr, size_t bytes) {
  RLVR_CHECK(pl->n < PLAN_MAX, "device plan: too many buffers");
  pl->ptr[pl->n] = ptr;
  pl->bytes[pl->n++] = bytes;
}

static void plan_build(plan_t *pl, rlvr_cuda_arena *a, const char *name) {
  rlvr_cuda_arena_build(a, name, rlvr_cuda_arena_need(pl->bytes, pl->n));
  for (int i = 0; i < pl->n; i++) *pl->ptr[i] = pl->bytes[i] ? rlvr_cuda_arena_alloc(a, pl->bytes[i]) : NULL;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* Widest row of the backward's scratch buffers (forward.c's scratch_width). */
static int scratch_width(const rlvr_model_config *c) {
  const int HD = c->num_heads * c->head_dim, KD = c->num_kv_heads * c->head_dim;
  return imax(imax(c->hidden_size, HD), imax(c->intermediate_size, 2 * KD));
}

/* ------------------------------------------------------------------------ */
/* the model                                                                 */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_model_build(rlvr_cuda_model *dm, rlvr_cuda_context *ctx, const rlvr_model *m,
                                      rlvr_dtype dt, int with_grads) {
  RLVR_CHECK(dt == RLVR_DTYPE_F32 || dt == RLVR_DTYPE_BF16, "dtype %d", (int)dt);
  RLVR_CHECK(m->cfg.head_dim <= 32 * ATT_DPL && m->cfg.head_dim % 2 == 0, "head_dim %d", m->cfg.head_dim);
  memset(dm, 0, sizeof *dm);
  dm->ctx = ctx;
  dm->cfg = m->cfg;
  dm->dt = dt;
  rlvr_cuda_params_build(&dm->params, m, dt == RLVR_DTYPE_BF16);
  const size_t half = (size_t)m->cfg.max_position * (m->cfg.head_dim / 2);
  plan_t pl = {};
  PLAN(&pl, dm->grads, with_grads ? m->num_params * sizeof(float) : 0);
  PLAN(&pl, dm->rope_cos, half * sizeof(float));
  PLAN(&pl, dm->rope_sin, half * sizeof(float));
  plan_build(&pl, &dm->arena, "model");
  if (dm->grads) rlvr_params_point(&dm->g, &m->cfg, dm->grads);
  float *cos_t = (float *)xmalloc(half * sizeof(float)), *sin_t = (float *)xmalloc(half * sizeof(float));
  rlvr_rope_table(cos_t, sin_t, m->cfg.max_position, m->cfg.head_dim, m->cfg.rope_theta);
  h2d(dm->rope_cos, cos_t, half * sizeof(float), ctx->stream);
  h2d(dm->rope_sin, sin_t, half * sizeof(float), ctx->stream);
  CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
  free(cos_t);
  free(sin_t);
  rlvr_cuda_model_upload(dm, m->params_memory);
  if (dm->grads) rlvr_cuda_model_grads_zero(dm);
  CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

extern "C" void rlvr_cuda_model_free(rlvr_cuda_model *dm) {
  if (!dm) return;
  rlvr_cuda_params_free(&dm->params);
  rlvr_cuda_arena_free(&dm->arena);
  memset(dm, 0, sizeof *dm);
}

extern "C" void rlvr_cuda_model_upload(rlvr_cuda_model *dm, const float *host) {
  rlvr_cuda_params_upload(&dm->params, host, dm->ctx->stream); /* also refreshes the bf16 copy; waits */
}

extern "C" void rlvr_cuda_model_grads_zero(rlvr_cuda_model *dm) {
  RLVR_CHECK(dm->grads != NULL, "model built without gradients");
  CUDA_CHECK(cudaMemsetAsync(dm->grads, 0, dm->params.num_params * sizeof(float), dm->ctx->stream));
}

extern "C" void rlvr_cuda_model_download_grads(const rlvr_cuda_model *dm, float *host) {
  RLVR_CHECK(dm->grads != NULL, "model built without gradients");
  d2h(host, dm->grads, dm->params.num_params * sizeof(float), dm->ctx->stream);
}

/* ------------------------------------------------------------------------ */
/* one layer, in two halves around attention                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
  const void *x; /* (N, C) residual in */
  void *out;     /* (N, C) residual out */
  void *ln1, *q_pre, *k_pre, *q, *k, *v, *att, *res_mid, *ln2, *gate, *up, *act;
  float *ln1_rstd, *q_rstd, *k_rstd, *ln2_rstd;
  const int *pos; /* (N) device */
} layer_io;

/* x -> RMSNorm -> q, k, v (+bias) -> (q/k norm) -> RoPE; q (N, H*D), k, v (N, KVH*D). */
static void layer_attn_in(const rlvr_cuda_model *dm, int l, int N, const layer_io *io) {
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_params *p = &dm->params.p;
  const rlvr_dtype dt = dm->dt;
  rlvr_cuda_context *ctx = dm->ctx;
  cudaStream_t s = ctx->stream;
  const int C = c->hidden_size, H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim;
  const int HD = H * D, KD = KVH * D;
  const float eps = (float)c->rms_eps;
  rlvr_cuda_rmsnorm_forward(io->ln1, io->ln1_rstd, io->x, wt(dm, p->attn_norm + (size_t)l * C), N, C, eps, dt, s);
  void *qdst = c->qk_norm ? io->q_pre : io->q, *kdst = c->qk_norm ? io->k_pre : io->k;
  rlvr_cuda_linear_forward(ctx, qdst, io->ln1, wt(dm, p->wq + (size_t)l * HD * C),
                           c->attn_bias ? wt(dm, p->bq + (size_t)l * HD) : NULL, N, HD, C, dt);
  rlvr_cuda_linear_forward(ctx, kdst, io->ln1, wt(dm, p->wk + (size_t)l * KD * C),
                           c->attn_bias ? wt(dm, p->bk + (size_t)l * KD) : NULL, N, KD, C, dt);
  rlvr_cuda_linear_forward(ctx, io->v, io->ln1, wt(dm, p->wv + (size_t)l * KD * C),
                           c->attn_bias ? wt(dm, p->bv + (size_t)l * KD) : NULL, N, KD, C, dt);
  if (c->qk_norm) {
    rlvr_cuda_rmsnorm_forward(io->q, io->q_rstd, io->q_pre, wt(dm, p->q_norm + (size_t)l * D), N * H, D, eps, dt, s);
    rlvr_cuda_rmsnorm_forward(io->k, io->k_rstd, io->k_pre, wt(dm, p->k_norm + (size_t)l * D), N * KVH, D, eps, dt,
                              s);
  }
  rlvr_cuda_rope_forward(io->q, N, HD, H, D, io->pos, dm->rope_cos, dm->rope_sin, dt, s);
  rlvr_cuda_rope_forward(io->k, N, KD, KVH, D, io->pos, dm->rope_cos, dm->rope_sin, dt, s);
}

/* att -> o_proj -> + x -> RMSNorm -> down(silu(gate) up) -> + res_mid. */
static void layer_attn_out(const rlvr_cuda_model *dm, int l, int N, const layer_io *io) {
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_params *p = &dm->params.p;
  const rlvr_dtype dt = dm->dt;
  rlvr_cuda_context *ctx = dm->ctx;
  cudaStream_t s = ctx->stream;
  const int C = c->hidden_size, F = c->intermediate_size, HD = c->num_heads * c->head_dim;
  const size_t NC = (size_t)N * C;
  rlvr_cuda_linear_forward(ctx, io->res_mid, io->att, wt(dm, p->wo + (size_t)l * C * HD), NULL, N, C, HD, dt);
  rlvr_cuda_residual_forward(io->res_mid, io->x, io->res_mid, NC, dt, s);
  rlvr_cuda_rmsnorm_forward(io->ln2, io->ln2_rstd, io->res_mid, wt(dm, p->mlp_norm + (size_t)l * C), N, C,
                            (float)c->rms_eps, dt, s);
  rlvr_cuda_linear_forward(ctx, io->gate, io->ln2, wt(dm, p->w_gate + (size_t)l * F * C), NULL, N, F, C, dt);
  rlvr_cuda_linear_forward(ctx, io->up, io->ln2, wt(dm, p->w_up + (size_t)l * F * C), NULL, N, F, C, dt);
  rlvr_cuda_swiglu_forward(io->act, io->gate, io->up, (size_t)N * F, dt, s);
  rlvr_cuda_linear_forward(ctx, io->out, io->act, wt(dm, p->w_down + (size_t)l * C * F), NULL, N, C, F, dt);
  rlvr_cuda_residual_forward(io->out, io->res_mid, io->out, NC, dt, s);
}

static void embed_forward(const rlvr_cuda_model *dm, void *out, const int *tok, int N) {
  const int C = dm->cfg.hidden_size;
  if (N <= 0) return;
  RLVR_DISPATCH_DTYPE(dm->dt, T,
                      embed_fwd_kernel1<T><<<ew_grid((size_t)N * C), EW_BLOCK, 0, dm->ctx->stream>>>(
                          (T *)out, (const T *)wt(dm, dm->params.p.embed), tok, N, C));
  CUDA_CHECK(cudaGetLastError());
}

/* ------------------------------------------------------------------------ */
/* training forward                                                          */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_forward_build(rlvr_cuda_forward_state *fs, rlvr_cuda_model *dm, int max_batch,
                                        int max_seq) {
  const rlvr_model_config *c = &dm->cfg;
  RLVR_CHECK(max_batch > 0 && max_seq > 0 && max_seq <= c->max_position, "max_batch %d, max_seq %d (max_position %d)",
             max_batch, max_seq, c->max_position);
  RLVR_CHECK((int64_t)max_batch * max_seq < (1LL << 31) / 4, "max_batch * max_seq too large");
  memset(fs, 0, sizeof *fs);
  fs->dm = dm;
  fs->max_batch = max_batch;
  fs->max_seq = max_seq;
  fs->max_tokens = max_batch * max_seq;
  fs->temperature = 1.0f;
  const size_t mt = (size_t)fs->max_tokens, L = c->num_layers, C = c->hidden_size, F = c->intermediate_size;
  const size_t V = c->vocab_size, H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim;
  const size_t HD = H * D, KD = KVH * D, W = (size_t)scratch_width(c), es = rlvr_dtype_size(dm->dt);
  const int qk = c->qk_norm;
  /* logits in float32, (chunk, V): about 256 MB at most, as the CPU */
  fs->chunk = imax(1, imin((int)(((size_t)1 << 26) / V), fs->max_tokens));
  const size_t chunk = (size_t)fs->chunk;
  size_t rms = rlvr_cuda_rmsnorm_backward_scratch((int)mt, (int)C);
  if (qk) {
    const size_t a = rlvr_cuda_rmsnorm_backward_scratch((int)(mt * H), (int)D);
    const size_t b = rlvr_cuda_rmsnorm_backward_scratch((int)(mt * KVH), (int)D);
    rms = rms > a ? rms : a;
    rms = rms > b ? rms : b;
  }
  plan_t pl = {};
  PLAN(&pl, fs->res, (L + 1) * mt * C * es);
  PLAN(&pl, fs->ln1, L * mt * C * es);
  PLAN(&pl, fs->ln1_rstd, L * mt * sizeof(float));
  PLAN(&pl, fs->q_pre, qk ? L * mt * HD * es : 0);
  PLAN(&pl, fs->k_pre, qk ? L * mt * KD * es : 0);
  PLAN(&pl, fs->q_rstd, qk ? L * mt * H * sizeof(float) : 0);
  PLAN(&pl, fs->k_rstd, qk ? L * mt * KVH * sizeof(float) : 0);
  PLAN(&pl, fs->q, L * mt * HD * es);
  PLAN(&pl, fs->k, L * mt * KD * es);
  PLAN(&pl, fs->v, L * mt * KD * es);
  PLAN(&pl, fs->att, L * mt * HD * es);
  PLAN(&pl, fs->att_lse, L * mt * H * sizeof(float));
  PLAN(&pl, fs->res_mid, L * mt * C * es);
  PLAN(&pl, fs->ln2, L * mt * C * es);
  PLAN(&pl, fs->ln2_rstd, L * mt * sizeof(float));
  PLAN(&pl, fs->gate, L * mt * F * es);
  PLAN(&pl, fs->up, L * mt * F * es);
  PLAN(&pl, fs->lnf, mt * C * es);
  PLAN(&pl, fs->lnf_rstd, mt * sizeof(float));
  PLAN(&pl, fs->lse, mt * sizeof(float));
  PLAN(&pl, fs->ent, mt * sizeof(float));
  PLAN(&pl, fs->logprob, mt * sizeof(float));
  PLAN(&pl, fs->buf_a, mt * W * es);
  PLAN(&pl, fs->buf_b, mt * W * es);
  PLAN(&pl, fs->buf_c, mt * W * es);
  PLAN(&pl, fs->buf_d, mt * W * es);
  PLAN(&pl, fs->dres, mt * C * es);
  PLAN(&pl, fs->logits, chunk * V * sizeof(float));
  PLAN(&pl, fs->dlogits, dm->dt == RLVR_DTYPE_BF16 ? chunk * V * es : 0);
  PLAN(&pl, fs->rms_scratch, rms * sizeof(float));
  PLAN(&pl, fs->colsum_scratch, c->attn_bias ? rlvr_cuda_colsum_scratch((int)mt, (int)(HD > KD ? HD : KD)) * sizeof(float) : 0);
  PLAN(&pl, fs->delta, mt * H * sizeof(float));
  PLAN(&pl, fs->w, mt * sizeof(float));
  PLAN(&pl, fs->u, mt * sizeof(float));
  PLAN(&pl, fs->tok, mt * sizeof(int));
  PLAN(&pl, fs->target, mt * sizeof(int));
  PLAN(&pl, fs->pos, mt * sizeof(int));
  PLAN(&pl, fs->row_seq, mt * sizeof(int));
  PLAN(&pl, fs->off, (size_t)max_batch * sizeof(int));
  PLAN(&pl, fs->len, (size_t)max_batch * sizeof(int));
  plan_build(&pl, &fs->arena, "activations");
  fs->h_tok = (int *)xcalloc(mt, sizeof(int));
  fs->h_target = (int *)xcalloc(mt, sizeof(int));
  fs->h_pos = (int *)xcalloc(mt, sizeof(int));
  fs->h_row_seq = (int *)xcalloc(mt, sizeof(int));
  fs->h_off = (int *)xcalloc((size_t)max_batch, sizeof(int));
  fs->h_len = (int *)xcalloc((size_t)max_batch, sizeof(int));
  fs->h_w = (float *)xcalloc(mt, sizeof(float));
  fs->h_u = (float *)xcalloc(mt, sizeof(float));
  fs->h_stat = (float *)xcalloc(mt, sizeof(float));
}

extern "C" void rlvr_cuda_forward_free(rlvr_cuda_forward_state *fs) {
  if (!fs) return;
  rlvr_cuda_arena_free(&fs->arena);
  free(fs->h_tok);
  free(fs->h_target);
  free(fs->h_pos);
  free(fs->h_row_seq);
  free(fs->h_off);
  free(fs->h_len);
  free(fs->h_w);
  free(fs->h_u);
  free(fs->h_stat);
  memset(fs, 0, sizeof *fs);
}

extern "C" void rlvr_cuda_forward_set_temperature(rlvr_cuda_forward_state *fs, float temperature) {
  RLVR_CHECK(isfinite(temperature), "temperature %g", (double)temperature);
  fs->temperature = temperature > 0.0f ? temperature : 1.0f;
}

/* The per-layer slices of the kept activations, as forward.c's io. */
static layer_io train_io(const rlvr_cuda_forward_state *fs, int l) {
  const rlvr_cuda_model *dm = fs->dm;
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_dtype dt = dm->dt;
  const size_t mt = (size_t)fs->max_tokens, C = c->hidden_size, F = c->intermediate_size;
  const size_t H = c->num_heads, KVH = c->num_kv_heads, HD = H * c->head_dim, KD = KVH * c->head_dim;
  layer_io io;
  memset(&io, 0, sizeof io);
  io.x = at(fs->res, (size_t)l * mt * C, dt);
  io.out = at(fs->res, (size_t)(l + 1) * mt * C, dt);
  io.ln1 = at(fs->ln1, (size_t)l * mt * C, dt);
  io.ln1_rstd = fs->ln1_rstd + (size_t)l * mt;
  io.q_pre = at(fs->q_pre, (size_t)l * mt * HD, dt);
  io.k_pre = at(fs->k_pre, (size_t)l * mt * KD, dt);
  io.q_rstd = fs->q_rstd ? fs->q_rstd + (size_t)l * mt * H : NULL;
  io.k_rstd = fs->k_rstd ? fs->k_rstd + (size_t)l * mt * KVH : NULL;
  io.q = at(fs->q, (size_t)l * mt * HD, dt);
  io.k = at(fs->k, (size_t)l * mt * KD, dt);
  io.v = at(fs->v, (size_t)l * mt * KD, dt);
  io.att = at(fs->att, (size_t)l * mt * HD, dt);
  io.res_mid = at(fs->res_mid, (size_t)l * mt * C, dt);
  io.ln2 = at(fs->ln2, (size_t)l * mt * C, dt);
  io.ln2_rstd = fs->ln2_rstd + (size_t)l * mt;
  io.gate = at(fs->gate, (size_t)l * mt * F, dt);
  io.up = at(fs->up, (size_t)l * mt * F, dt);
  io.act = fs->buf_a; /* not kept: the backward recomputes it */
  io.pos = fs->pos;
  return io;
}

extern "C" int rlvr_cuda_forward(rlvr_cuda_forward_state *fs, const int *tokens, const int *lens, int B, int T,
                                 const int *targets, float *logprobs, float *entropy, float *logits) {
  rlvr_cuda_model *dm = fs->dm;
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_dtype dt = dm->dt;
  rlvr_cuda_context *ctx = dm->ctx;
  cudaStream_t s = ctx->stream;
  RLVR_CHECK(B >= 0 && B <= fs->max_batch && T >= 0 && T <= fs->max_seq, "batch %d x %d exceeds %d x %d", B, T,
             fs->max_batch, fs->max_seq);
  const int V = c->vocab_size, C = c->hidden_size, L = c->num_layers, H = c->num_heads, KVH = c->num_kv_heads;
  const int D = c->head_dim;
  const int rc_in = rlvr_forward_check_batch(tokens, lens, B, T, targets, V);
  if (rc_in) return rc_in;
  int N = 0;
  for (int b = 0; b < B; b++) {
    fs->h_off[b] = N;
    fs->h_len[b] = lens[b];
    for (int t = 0; t < lens[b]; t++, N++) {
      fs->h_pos[N] = t;
      fs->h_row_seq[N] = b;
      fs->h_tok[N] = tokens[(size_t)b * T + t];
      const int tg = targets ? targets[(size_t)b * T + t] : -1;
      fs->h_target[N] = tg < 0 ? -1 : tg;
    }
  }
  fs->B = B, fs->T = T, fs->N = N;
  fs->have_targets = targets != NULL;
  if (logprobs) memset(logprobs, 0, sizeof(float) * (size_t)B * T);
  if (entropy) memset(entropy, 0, sizeof(float) * (size_t)B * T);
  if (logits) memset(logits, 0, sizeof(float) * (size_t)B * T * V);
  if (N == 0) return RLVR_OK;
  h2d(fs->tok, fs->h_tok, (size_t)N * sizeof(int), s);
  h2d(fs->target, fs->h_target, (size_t)N * sizeof(int), s);
  h2d(fs->pos, fs->h_pos, (size_t)N * sizeof(int), s);
  h2d(fs->row_seq, fs->h_row_seq, (size_t)N * sizeof(int), s);
  h2d(fs->off, fs->h_off, (size_t)B * sizeof(int), s);
  h2d(fs->len, fs->h_len, (size_t)B * sizeof(int), s);

  embed_forward(dm, fs->res, fs->tok, N);
  for (int l = 0; l < L; l++) {
    const layer_io io = train_io(fs, l);
    layer_attn_in(dm, l, N, &io);
    rlvr_cuda_attention_forward(io.att, fs->att_lse + (size_t)l * fs->max_tokens * H, io.q, io.k, io.v, fs->row_seq,
                                fs->off, N, H, KVH, D, dt, s);
    layer_attn_out(dm, l, N, &io);
  }

  /* head, a chunk of rows at a time */
  const void *xL = at(fs->res, (size_t)L * fs->max_tokens * C, dt);
  float *zhost = logits ? (float *)xmalloc((size_t)fs->chunk * V * sizeof(float)) : NULL;
  for (int r0 = 0; r0 < N; r0 += fs->chunk) {
    const int n = imin(fs->chunk, N - r0);
    void *lnf = at(fs->lnf, (size_t)r0 * C, dt);
    rlvr_cuda_rmsnorm_forward(lnf, fs->lnf_rstd + r0, at(xL, (size_t)r0 * C, dt), wt(dm, dm->params.p.final_norm), n,
                              C, (float)c->rms_eps, dt, s);
    rlvr_cuda_linear_forward_f32out(ctx, fs->logits, lnf, wt(dm, dm->params.p.lm_head), n, V, C, dt);
    if (logits) {
      d2h(zhost, fs->logits, (size_t)n * V * sizeof(float), s);
      for (int i = 0; i < n; i++) {
        const int r = r0 + i;
        memcpy(logits + ((size_t)fs->h_row_seq[r] * T + fs->h_pos[r]) * V, zhost + (size_t)i * V, sizeof(float) * V);
      }
    }
    rlvr_cuda_logsoftmax_forward(fs->lse + r0, fs->ent + r0, targets ? fs->logprob + r0 : NULL, fs->logits,
                                 targets ? fs->target + r0 : NULL, n, V, fs->temperature, RLVR_DTYPE_F32, s);
  }
  free(zhost);
  if (logprobs && targets) {
    d2h(fs->h_stat, fs->logprob, (size_t)N * sizeof(float), s);
    for (int r = 0; r < N; r++)
      if (fs->h_target[r] >= 0) logprobs[(size_t)fs->h_row_seq[r] * T + fs->h_pos[r]] = fs->h_stat[r];
  }
  if (entropy) {
    d2h(fs->h_stat, fs->ent, (size_t)N * sizeof(float), s);
    for (int r = 0; r < N; r++) entropy[(size_t)fs->h_row_seq[r] * T + fs->h_pos[r]] = fs->h_stat[r];
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
  return RLVR_OK;
}

/* ------------------------------------------------------------------------ */
/* training backward (backward.c, step for step)                             */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_backward(rlvr_cuda_forward_state *fs, const float *w, const float *u) {
  RLVR_CHECK(fs->have_targets, "rlvr_cuda_backward needs a forward with targets");
  rlvr_cuda_model *dm = fs->dm;
  RLVR_CHECK(dm->grads != NULL, "model built without gradients");
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_params *p = &dm->params.p;
  const rlvr_params *g = &dm->g;
  const rlvr_dtype dt = dm->dt;
  rlvr_cuda_context *ctx = dm->ctx;
  cudaStream_t s = ctx->stream;
  const int N = fs->N, T = fs->T, V = c->vocab_size, C = c->hidden_size, L = c->num_layers;
  const int F = c->intermediate_size, H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim;
  const int HD = H * D, KD = KVH * D;
  const size_t mt = (size_t)fs->max_tokens;
  if (N == 0) return;

  for (int r = 0; r < N; r++) {
    const size_t bt = (size_t)fs->h_row_seq[r] * T + fs->h_pos[r];
    fs->h_w[r] = fs->h_target[r] >= 0 ? w[bt] : 0.0f;
    fs->h_u[r] = u ? u[bt] : 0.0f;
  }
  h2d(fs->w, fs->h_w, (size_t)N * sizeof(float), s);
  h2d(fs->u, fs->h_u, (size_t)N * sizeof(float), s);

  /* head: logits recomputed per chunk; dz = the log-softmax gradient at z / T, over T */
  void *dlnf = fs->buf_d;
  for (int r0 = 0; r0 < N; r0 += fs->chunk) {
    const int n = imin(fs->chunk, N - r0);
    const void *lnf = at(fs->lnf, (size_t)r0 * C, dt);
    rlvr_cuda_linear_forward_f32out(ctx, fs->logits, lnf, wt(dm, p->lm_head), n, V, C, dt);
    rlvr_cuda_logsoftmax_backward(fs->logits, fs->logits, fs->lse + r0, fs->ent + r0, fs->target + r0, fs->w + r0,
                                  u ? fs->u + r0 : NULL, n, V, fs->temperature, RLVR_DTYPE_F32, s);
    const void *dz = fs->logits;
    if (dt == RLVR_DTYPE_BF16) {
      rlvr_cuda_f32_to_bf16((rlvr_bf16 *)fs->dlogits, fs->logits, (size_t)n * V, s);
      dz = fs->dlogits;
    }
    rlvr_cuda_linear_backward_x(ctx, at(dlnf, (size_t)r0 * C, dt), dz, wt(dm, p->lm_head), n, V, C, 0, dt);
    rlvr_cuda_linear_backward_w(ctx, g->lm_head, NULL, NULL, dz, lnf, n, V, C, dt);
  }
  void *dres = fs->dres;
  CUDA_CHECK(cudaMemsetAsync(dres, 0, (size_t)N * C * rlvr_dtype_size(dt), s));
  rlvr_cuda_rmsnorm_backward(dres, g->final_norm, fs->rms_scratch, dlnf, at(fs->res, (size_t)L * mt * C, dt),
                             wt(dm, p->final_norm), fs->lnf_rstd, N, C, dt, s);

  for (int l = L - 1; l >= 0; l--) {
    const layer_io io = train_io(fs, l);
    const size_t lC = (size_t)l * C;

    /* MLP: out = res_mid + act W_down^T, act = silu(gate) up. dres is d out. */
    void *act = fs->buf_a, *dgate = fs->buf_b, *dup = fs->buf_c, *dln2 = fs->buf_d;
    rlvr_cuda_swiglu_forward(act, io.gate, io.up, (size_t)N * F, dt, s); /* recomputed, not kept */
    rlvr_cuda_linear_backward_w(ctx, g->w_down + lC * F, NULL, NULL, dres, act, N, C, F, dt);
    void *dact = act;
    rlvr_cuda_linear_backward_x(ctx, dact, dres, wt(dm, p->w_down + lC * F), N, C, F, 0, dt);
    rlvr_cuda_swiglu_backward(dgate, dup, dact, io.gate, io.up, (size_t)N * F, dt, s);
    rlvr_cuda_linear_backward_w(ctx, g->w_gate + (size_t)l * F * C, NULL, NULL, dgate, io.ln2, N, F, C, dt);
    rlvr_cuda_linear_backward_w(ctx, g->w_up + (size_t)l * F * C, NULL, NULL, dup, io.ln2, N, F, C, dt);
    rlvr_cuda_linear_backward_x(ctx, dln2, dgate, wt(dm, p->w_gate + (size_t)l * F * C), N, F, C, 0, dt);
    rlvr_cuda_linear_backward_x(ctx, dln2, dup, wt(dm, p->w_up + (size_t)l * F * C), N, F, C, 1, dt);
    rlvr_cuda_rmsnorm_backward(dres, g->mlp_norm + lC, fs->rms_scratch, dln2, io.res_mid, wt(dm, p->mlp_norm + lC),
                               io.ln2_rstd, N, C, dt, s);

    /* attention: res_mid = x + att Wo^T */
    void *datt = fs->buf_d, *dq = fs->buf_b, *dk = fs->buf_c, *dv = at(fs->buf_c, (size_t)N * KD, dt);
    rlvr_cuda_linear_backward_w(ctx, g->wo + lC * HD, NULL, NULL, dres, io.att, N, C, HD, dt);
    rlvr_cuda_linear_backward_x(ctx, datt, dres, wt(dm, p->wo + lC * HD), N, C, HD, 0, dt);
    rlvr_cuda_attention_backward(dq, dk, dv, fs->delta, datt, io.q, io.k, io.v, io.att,
                                 fs->att_lse + (size_t)l * mt * H, fs->row_seq, fs->off, fs->len, N, H, KVH, D, dt, s);
    rlvr_cuda_rope_backward(dq, N, HD, H, D, fs->pos, dm->rope_cos, dm->rope_sin, dt, s);
    rlvr_cuda_rope_backward(dk, N, KD, KVH, D, fs->pos, dm->rope_cos, dm->rope_sin, dt, s);
    void *dq_lin = dq, *dk_lin = dk, *dln1 = fs->buf_a;
    if (c->qk_norm) {
      void *dq_pre = fs->buf_a, *dk_pre = fs->buf_d; /* datt is spent */
      CUDA_CHECK(cudaMemsetAsync(dq_pre, 0, (size_t)N * HD * rlvr_dtype_size(dt), s));
      CUDA_CHECK(cudaMemsetAsync(dk_pre, 0, (size_t)N * KD * rlvr_dtype_size(dt), s));
      rlvr_cuda_rmsnorm_backward(dq_pre, g->q_norm + (size_t)l * D, fs->rms_scratch, dq, io.q_pre,
                                 wt(dm, p->q_norm + (size_t)l * D), io.q_rstd, N * H, D, dt, s);
      rlvr_cuda_rmsnorm_backward(dk_pre, g->k_norm + (size_t)l * D, fs->rms_scratch, dk, io.k_pre,
                                 wt(dm, p->k_norm + (size_t)l * D), io.k_rstd, N * KVH, D, dt, s);
      dq_lin = dq_pre, dk_lin = dk_pre, dln1 = fs->buf_b; /* dq is spent */
    }
    const int bias = c->attn_bias;
    rlvr_cuda_linear_backward_w(ctx, g->wq + (size_t)l * HD * C, bias ? g->bq + (size_t)l * HD : NULL,
                                bias ? fs->colsum_scratch : NULL, dq_lin, io.ln1, N, HD, C, dt);
    rlvr_cuda_linear_backward_w(ctx, g->wk + (size_t)l * KD * C, bias ? g->bk + (size_t)l * KD : NULL,
                                bias ? fs->colsum_scratch : NULL, dk_lin, io.ln1, N, KD, C, dt);
    rlvr_cuda_linear_backward_w(ctx, g->wv + (size_t)l * KD * C, bias ? g->bv + (size_t)l * KD : NULL,
                                bias ? fs->colsum_scratch : NULL, dv, io.ln1, N, KD, C, dt);
    rlvr_cuda_linear_backward_x(ctx, dln1, dq_lin, wt(dm, p->wq + (size_t)l * HD * C), N, HD, C, 0, dt);
    rlvr_cuda_linear_backward_x(ctx, dln1, dk_lin, wt(dm, p->wk + (size_t)l * KD * C), N, KD, C, 1, dt);
    rlvr_cuda_linear_backward_x(ctx, dln1, dv, wt(dm, p->wv + (size_t)l * KD * C), N, KD, C, 1, dt);
    rlvr_cuda_rmsnorm_backward(dres, g->attn_norm + lC, fs->rms_scratch, dln1, io.x, wt(dm, p->attn_norm + lC),
                               io.ln1_rstd, N, C, dt, s);
  }

  /* embedding: row tok[i] gets dres[i], rows in order per channel */
  RLVR_DISPATCH_DTYPE(dt, Tt,
                      embed_bwd_kernel1<Tt><<<CEIL_DIV(C, EW_BLOCK), EW_BLOCK, 0, s>>>(g->embed, (const Tt *)dres,
                                                                                      fs->tok, N, C));
  CUDA_CHECK(cudaGetLastError());
}

/* ------------------------------------------------------------------------ */
/* decoding over the paged cache                                             */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_decode_build(rlvr_cuda_decode *dd, rlvr_cuda_model *dm, int max_seqs, int max_len,
                                       int num_blocks, int block_size, int max_rows) {
  const rlvr_model_config *c = &dm->cfg;
  RLVR_CHECK(max_seqs > 0 && max_len > 0 && max_len <= c->max_position && num_blocks > 0 && block_size > 0 &&
                 max_rows > 0,
             "decode: max_seqs %d max_len %d (max_position %d) num_blocks %d block_size %d max_rows %d", max_seqs,
             max_len, c->max_position, num_blocks, block_size, max_rows);
  RLVR_CHECK((int64_t)num_blocks * block_size < (1LL << 31), "decode: pool of %d x %d rows too large", num_blocks,
             block_size);
  memset(dd, 0, sizeof *dd);
  dd->dm = dm;
  dd->max_rows = max_rows;
  rlvr_kv_pages_build(&dd->pages, block_size, num_blocks, max_seqs, max_len);
  dd->pool_rows = (size_t)num_blocks * block_size;
  dd->pool_stride = dd->pool_rows + (size_t)block_size; /* + the scratch block of graphed steps' padding rows */
  const size_t R = (size_t)max_rows, S = (size_t)max_seqs, L = c->num_layers, C = c->hidden_size;
  const size_t F = c->intermediate_size, V = c->vocab_size, H = c->num_heads, KVH = c->num_kv_heads;
  const size_t D = c->head_dim, HD = H * D, KD = KVH * D, es = rlvr_dtype_size(dm->dt);
  const int qk = c->qk_norm;
  plan_t pl = {};
  PLAN(&pl, dd->k_cache, L * dd->pool_stride * KD * es);
  PLAN(&pl, dd->v_cache, L * dd->pool_stride * KD * es);
  PLAN(&pl, dd->x, R * C * es);
  PLAN(&pl, dd->y, R * C * es);
  PLAN(&pl, dd->ln1, R * C * es);
  PLAN(&pl, dd->q_pre, qk ? R * HD * es : 0);
  PLAN(&pl, dd->k_pre, qk ? R * KD * es : 0);
  PLAN(&pl, dd->q, R * HD * es);
  PLAN(&pl, dd->k, R * KD * es);
  PLAN(&pl, dd->v, R * KD * es);
  PLAN(&pl, dd->att, R * HD * es);
  PLAN(&pl, dd->res_mid, R * C * es);
  PLAN(&pl, dd->ln2, R * C * es);
  PLAN(&pl, dd->gate, R * F * es);
  PLAN(&pl, dd->up, R * F * es);
  PLAN(&pl, dd->act, R * F * es);
  PLAN(&pl, dd->ln1_rstd, R * sizeof(float));
  PLAN(&pl, dd->q_rstd, qk ? R * H * sizeof(float) : 0);
  PLAN(&pl, dd->k_rstd, qk ? R * KVH * sizeof(float) : 0);
  PLAN(&pl, dd->ln2_rstd, R * sizeof(float));
  PLAN(&pl, dd->row_seq, R * sizeof(int));
  PLAN(&pl, dd->row_pos, R * sizeof(int));
  PLAN(&pl, dd->row_tok, R * sizeof(int));
  PLAN(&pl, dd->row_slot, R * sizeof(int));
  PLAN(&pl, dd->gather_src, R * sizeof(int));
  PLAN(&pl, dd->gather_dst, R * sizeof(int));
  PLAN(&pl, dd->table, (S + 1) * (size_t)dd->pages.max_blocks * sizeof(int));
  PLAN(&pl, dd->xlast, S * C * es);
  PLAN(&pl, dd->lnf, S * C * es);
  PLAN(&pl, dd->lnf_rstd, S * sizeof(float));
  PLAN(&pl, dd->logits, S * V * sizeof(float));
  PLAN(&pl, dd->s_logits, S * V * sizeof(float));
  PLAN(&pl, dd->s_tokens, S * sizeof(int));
  PLAN(&pl, dd->s_logprobs, S * sizeof(float));
  PLAN(&pl, dd->s_params, S * sizeof(rlvr_sampling));
  PLAN(&pl, dd->s_u, S * sizeof(double));
  /* paged attention's split records for up to min(max_rows, max_seqs) rows
   * at once (a decode step in one launch; longer prefill chunks take more) */
  dd->att_part_rows = imin(max_rows, max_seqs);
  PLAN(&pl, dd->att_part,
       rlvr_cuda_paged_attention_scratch(dd->att_part_rows, (int)H, (int)D, max_len) * sizeof(float));
  plan_build(&pl, &dd->arena, "decode");
  dd->h_gsrc = (int *)xcalloc(R, sizeof(int));
  dd->h_gdst = (int *)xcalloc(R, sizeof(int));
  dd->h_rows = (int *)xcalloc(4 * R, sizeof(int));
  /* the padding sequence's table row: every block is the scratch block */
  const int mb = dd->pages.max_blocks;
  int *pad = (int *)xmalloc((size_t)mb * sizeof(int));
  for (int i = 0; i < mb; i++) pad[i] = num_blocks;
  h2d(dd->table + S * (size_t)mb, pad, (size_t)mb * sizeof(int), dm->ctx->stream);
  CUDA_CHECK(cudaStreamSynchronize(dm->ctx->stream));
  free(pad);
  dd->use_graphs = 1;
}

typedef struct {
  int rows, ctx; /* the buckets */
  cudaGraphExec_t exec;
} decode_graph;

extern "C" void rlvr_cuda_decode_set_graphs(rlvr_cuda_decode *dd, int on) { dd->use_graphs = on != 0; }

extern "C" void rlvr_cuda_decode_free(rlvr_cuda_decode *dd) {
  if (!dd) return;
  rlvr_kv_pages_free(&dd->pages);
  decode_graph *g = (decode_graph *)dd->graphs;
  for (int i = 0; i < dd->ngraphs; i++) CUDA_CHECK(cudaGraphExecDestroy(g[i].exec));
  free(dd->graphs);
  rlvr_cuda_arena_free(&dd->arena);
  free(dd->h_gsrc);
  free(dd->h_gdst);
  free(dd->h_rows);
  memset(dd, 0, sizeof *dd);
}

extern "C" int rlvr_cuda_decode_len(const rlvr_cuda_decode *dd, int seq) { return rlvr_kv_pages_len(&dd->pages, seq); }

extern "C" int rlvr_cuda_decode_fork(rlvr_cuda_decode *dd, int src, int dst) {
  return rlvr_kv_pages_fork(&dd->pages, src, dst);
}

extern "C" int rlvr_cuda_decode_release(rlvr_cuda_decode *dd, int seq) { return rlvr_kv_pages_release(&dd->pages, seq); }

extern "C" int rlvr_cuda_decode_truncate(rlvr_cuda_decode *dd, int seq, int len) {
  return rlvr_kv_pages_truncate(&dd->pages, seq, len);
}

/* The copy-on-write the pages asked for: rows 0..rows-1 of block src to
 * block dst, keys and values of every layer. */
static void decode_copy(rlvr_cuda_decode *dd, const rlvr_kv_copy *cp) {
  if (!cp->blocks || cp->rows == 0) return;
  const rlvr_cuda_model *dm = dd->dm;
  const size_t KD = (size_t)dm->cfg.num_kv_heads * dm->cfg.head_dim, bs = (size_t)dd->pages.block_size;
  const size_t bytes = (size_t)cp->rows * KD * rlvr_dtype_size(dm->dt);
  for (int l = 0; l < dm->cfg.num_layers; l++) {
    const size_t base = (size_t)l * dd->pool_stride;
    const size_t from = (base + (size_t)cp->src * bs) * KD, to = (base + (size_t)cp->dst * bs) * KD;
    CUDA_CHECK(cudaMemcpyAsync(at(dd->k_cache, to, dm->dt), at(dd->k_cache, from, dm->dt), bytes,
                               cudaMemcpyDeviceToDevice, dm->ctx->stream));
    CUDA_CHECK(cudaMemcpyAsync(at(dd->v_cache, to, dm->dt), at(dd->v_cache, from, dm->dt), bytes,
                               cudaMemcpyDeviceToDevice, dm->ctx->stream));
  }
}

/* The layers for rows 0..m-1 whose metadata (row_seq, row_pos, row_tok,
 * row_slot) and block tables are on the device: embedding, then every
 * layer, storing the rows' keys and values in the cache; max_ctx (>= every
 * row's position + 1, <= max_len) sizes paged attention's grid. Only
 * device work on ctx->stream (a graphed step captures it). Returns the
 * buffer holding the final residual rows. */
static void *decode_layers(rlvr_cuda_decode *dd, int m, int max_ctx) {
  rlvr_cuda_model *dm = dd->dm;
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_dtype dt = dm->dt;
  cudaStream_t s = dm->ctx->stream;
  const int H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim, KD = KVH * D;
  embed_forward(dm, dd->x, dd->row_tok, m);
  void *cur = dd->x, *nxt = dd->y;
  for (int l = 0; l < c->num_layers; l++) {
    layer_io io;
    memset(&io, 0, sizeof io);
    io.x = cur, io.out = nxt;
    io.ln1 = dd->ln1, io.ln1_rstd = dd->ln1_rstd, io.q_pre = dd->q_pre, io.k_pre = dd->k_pre;
    io.q_rstd = dd->q_rstd, io.k_rstd = dd->k_rstd, io.q = dd->q, io.k = dd->k, io.v = dd->v, io.att = dd->att;
    io.res_mid = dd->res_mid, io.ln2 = dd->ln2, io.ln2_rstd = dd->ln2_rstd, io.gate = dd->gate, io.up = dd->up;
    io.act = dd->act, io.pos = dd->row_pos;
    layer_attn_in(dm, l, m, &io);
    void *kc = at(dd->k_cache, (size_t)l * dd->pool_stride * KD, dt);
    void *vc = at(dd->v_cache, (size_t)l * dd->pool_stride * KD, dt);
    RLVR_DISPATCH_DTYPE(dt, T,
                        kv_store_kernel1<T><<<ew_grid((size_t)m * KD), EW_BLOCK, 0, s>>>(
                            (T *)kc, (T *)vc, (const T *)io.k, (const T *)io.v, dd->row_slot, m, KD));
    CUDA_CHECK(cudaGetLastError());
    rlvr_cuda_paged_attention(io.att, dd->att_part, dd->att_part_rows, io.q, kc, vc, dd->row_seq, dd->row_pos,
                              dd->table, dd->pages.max_blocks, dd->pages.block_size, m, H, KVH, D,
                              dd->pages.max_len, max_ctx, dt, s);
    layer_attn_out(dm, l, m, &io);
    void *t = cur;
    cur = nxt, nxt = t;
  }
  return cur;
}

/* Runs rows 0..n-1 (sequence, position, token, pool slot, output index or
 * -1; host arrays) through the model in chunks of max_rows, storing their
 * keys and values in the cache; the final residual of each row with an
 * output index k goes to xlast row k. Then the head makes logits rows
 * 0..n_out-1 (the caller's output indices must cover them). The block
 * table must already be on the device. */
static void decode_run(rlvr_cuda_decode *dd, int n, const int *seq, const int *pos, const int *tok, const int *slot,
                       const int *out, int n_out) {
  rlvr_cuda_model *dm = dd->dm;
  const rlvr_model_config *c = &dm->cfg;
  const rlvr_dtype dt = dm->dt;
  rlvr_cuda_context *ctx = dm->ctx;
  cudaStream_t s = ctx->stream;
  const int C = c->hidden_size;
  for (int r0 = 0; r0 < n; r0 += dd->max_rows) {
    const int m = imin(dd->max_rows, n - r0);
    int max_ctx = 1; /* the longest context of the chunk: paged attention's grid */
    for (int i = 0; i < m; i++) max_ctx = pos[r0 + i] + 1 > max_ctx ? pos[r0 + i] + 1 : max_ctx;
    h2d(dd->row_seq, seq + r0, (size_t)m * sizeof(int), s);
    h2d(dd->row_pos, pos + r0, (size_t)m * sizeof(int), s);
    h2d(dd->row_tok, tok + r0, (size_t)m * sizeof(int), s);
    h2d(dd->row_slot, slot + r0, (size_t)m * sizeof(int), s);
    void *cur = decode_layers(dd, m, max_ctx);
    int ng = 0;
    for (int i = 0; i < m; i++)
      if (out[r0 + i] >= 0) {
        dd->h_gsrc[ng] = i;
        dd->h_gdst[ng++] = out[r0 + i];
      }
    if (ng) {
      h2d(dd->gather_src, dd->h_gsrc, (size_t)ng * sizeof(int), s);
      h2d(dd->gather_dst, dd->h_gdst, (size_t)ng * sizeof(int), s);
      RLVR_DISPATCH_DTYPE(dt, T,
                          gather_rows_kernel1<T><<<ew_grid((size_t)ng * C), EW_BLOCK, 0, s>>>(
                              (T *)dd->xlast, (const T *)cur, dd->gather_src, dd->gather_dst, ng, C));
      CUDA_CHECK(cudaGetLastError());
    }
  }
  rlvr_cuda_rmsnorm_forward(dd->lnf, dd->lnf_rstd, dd->xlast, wt(dm, dm->params.p.final_norm), n_out, C,
                            (float)c->rms_eps, dt, s);
  rlvr_cuda_linear_forward_f32out(ctx, dd->logits, dd->lnf, wt(dm, dm->params.p.lm_head), n_out, c->vocab_size, C, dt);
  dd->n_out = n_out;
}
/* The smallest power of two >= n, at least lo, at most hi. */
static int bucket(int n, int lo, int hi) {
  int b = lo;
  while (b < n && b < hi) b <<= 1;
  return b < hi ? b : hi;
}

/* A decode step of n rows (n <= min(max_seqs, max_rows); host arrays as
 * decode_run's, every row an output) as a CUDA graph: the rows are padded
 * to their bucket with rows of the padding sequence (max_seqs: position 0,
 * token 0, the scratch block's first slot), the layers, final norm and head
 * run on all of them, and logits rows 0..n-1 are the caller's. */
static void decode_step_graph(rlvr_cuda_decode *dd, int n, const int *seq, const int *pos, const int *tok,
                              const int *slot) {
  rlvr_cuda_model *dm = dd->dm;
  const rlvr_model_config *c = &dm->cfg;
  cudaStream_t s = dm->ctx->stream;
  rlvr_kv_pages *kp = &dd->pages;
  const int mb = bucket(n, 1, imin(kp->max_seqs, dd->max_rows));
  int max_ctx = 1;
  for (int i = 0; i < n; i++) max_ctx = pos[i] + 1 > max_ctx ? pos[i] + 1 : max_ctx;
  const int cb = bucket(max_ctx, 16, kp->max_len);
  const int R = dd->max_rows;
  int *hs = dd->h_rows, *hp = hs + R, *ht = hp + R, *hl = ht + R;
  for (int i = 0; i < mb; i++) {
    const int real = i < n;
    hs[i] = real ? seq[i] : kp->max_seqs;
    hp[i] = real ? pos[i] : 0;
    ht[i] = real ? tok[i] : 0;
    hl[i] = real ? slot[i] : (int)dd->pool_rows; /* the scratch block's first row */
  }
  h2d(dd->row_seq, hs, (size_t)mb * sizeof(int), s);
  h2d(dd->row_pos, hp, (size_t)mb * sizeof(int), s);
  h2d(dd->row_tok, ht, (size_t)mb * sizeof(int), s);
  h2d(dd->row_slot, hl, (size_t)mb * sizeof(int), s);
  decode_graph *gs = (decode_graph *)dd->graphs;
  cudaGraphExec_t exec = NULL;
  for (int i = 0; i < dd->ngraphs && !exec; i++)
    if (gs[i].rows == mb && gs[i].ctx == cb) exec = gs[i].exec;
  if (!exec) {
    /* ThreadLocal: other threads of the process (a worker's heartbeat) may
     * call CUDA while this thread captures */
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    void *cur = decode_layers(dd, mb, cb);
    rlvr_cuda_rmsnorm_forward(dd->lnf, dd->lnf_rstd, cur, wt(dm, dm->params.p.final_norm), mb, c->hidden_size,
                              (float)c->rms_eps, dm->dt, s);
    rlvr_cuda_linear_forward_f32out(dm->ctx, dd->logits, dd->lnf, wt(dm, dm->params.p.lm_head), mb, c->vocab_size,
                                    c->hidden_size, dm->dt);
    cudaGraph_t g = NULL;
    CUDA_CHECK(cudaStreamEndCapture(s, &g));
    CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
    CUDA_CHECK(cudaGraphDestroy(g));
    gs = (decode_graph *)xrealloc(dd->graphs, (size_t)(dd->ngraphs + 1) * sizeof(decode_graph));
    gs[dd->ngraphs].rows = mb, gs[dd->ngraphs].ctx = cb, gs[dd->ngraphs].exec = exec;
    dd->graphs = gs;
    dd->ngraphs++;
    dd->graph_captures++;
  }
  CUDA_CHECK(cudaGraphLaunch(exec, s));
  dd->graph_launches++;
  dd->n_out = n;
}

extern "C" int rlvr_cuda_decode_prefill(rlvr_cuda_decode *dd, const int *seqs, const int *tokens, const int *lens,
                                        int B, int T, float *logits) {
  rlvr_kv_pages *kp = &dd->pages;
  const int V = dd->dm->cfg.vocab_size;
  RLVR_CHECK(B >= 0 && B <= kp->max_seqs && T >= 0, "decode prefill: batch %d x %d (max_seqs %d)", B, T, kp->max_seqs);
  int total = 0;
  for (int b = 0; b < B; b++) {
    if (lens[b] < 1 || lens[b] > T)
      return rlvr_error(RLVR_ERR_RANGE, "decode prefill: prompt %d has length %d outside 1..%d", b, lens[b], T);
    for (int t = 0; t < lens[b]; t++) {
      const int tok = tokens[(size_t)b * T + t];
      if (tok < 0 || tok >= V)
        return rlvr_error(RLVR_ERR_RANGE, "decode prefill: token %d at prompt %d position %d is outside the vocabulary (%d)",
                          tok, b, t, V);
    }
    total += lens[b];
  }
  if (B == 0) {
    dd->n_out = 0;
    return RLVR_OK;
  }
  /* ids, states, lengths and blocks, all or nothing: the sequences are opened and hold their prompts */
  rlvr_kv_copy *copies = (rlvr_kv_copy *)xmalloc((size_t)B * sizeof(rlvr_kv_copy));
  int ncopies = 0;
  const int rc = rlvr_kv_pages_append_batch(kp, seqs, lens, B, 1, copies, &ncopies);
  free(copies);
  if (rc != RLVR_OK) return rlvr_error_wrap(rc, "decode prefill");
  RLVR_CHECK(ncopies == 0, "decode prefill: new sequences needed a copy");
  int *seq = (int *)xmalloc((size_t)total * sizeof(int)), *pos = (int *)xmalloc((size_t)total * sizeof(int));
  int *tok = (int *)xmalloc((size_t)total * sizeof(int)), *slot = (int *)xmalloc((size_t)total * sizeof(int));
  int *out = (int *)xmalloc((size_t)total * sizeof(int));
  int r = 0;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < lens[b]; t++, r++) {
      seq[r] = seqs[b], pos[r] = t, tok[r] = tokens[(size_t)b * T + t];
      slot[r] = (int)rlvr_kv_pages_slot(kp, seqs[b], t);
      out[r] = t == lens[b] - 1 ? b : -1;
    }
  cudaStream_t s = dd->dm->ctx->stream;
  h2d(dd->table, kp->table, (size_t)kp->max_seqs * kp->max_blocks * sizeof(int), s);
  decode_run(dd, total, seq, pos, tok, slot, out, B);
  if (logits) d2h(logits, dd->logits, (size_t)B * V * sizeof(float), s);
  CUDA_CHECK(cudaStreamSynchronize(s));
  free(seq), free(pos), free(tok), free(slot), free(out);
  return RLVR_OK;
}

extern "C" int rlvr_cuda_decode_step(rlvr_cuda_decode *dd, const int *seqs, const int *tokens, int n,
                                     float *logits) {
  rlvr_kv_pages *kp = &dd->pages;
  const int V = dd->dm->cfg.vocab_size;
  RLVR_CHECK(n >= 0 && n <= kp->max_seqs, "decode step: %d rows (max_seqs %d)", n, kp->max_seqs);
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= V)
      return rlvr_error(RLVR_ERR_RANGE, "decode step: token %d (entry %d) is outside the vocabulary (%d)", tokens[i],
                        i, V);
  if (n == 0) {
    dd->n_out = 0;
    return RLVR_OK;
  }
  int *ones = (int *)xmalloc((size_t)n * sizeof(int)), *out = (int *)xmalloc((size_t)n * sizeof(int));
  int *pos = (int *)xmalloc((size_t)n * sizeof(int)), *slot = (int *)xmalloc((size_t)n * sizeof(int));
  rlvr_kv_copy *copies = (rlvr_kv_copy *)xmalloc((size_t)n * sizeof(rlvr_kv_copy));
  for (int i = 0; i < n; i++) ones[i] = 1;
  int ncopies = 0;
  const int rc = rlvr_kv_pages_append_batch(kp, seqs, ones, n, 0, copies, &ncopies);
  if (rc == RLVR_OK) {
    /* the copies are queued before the new rows are written (stream order) */
    for (int k = 0; k < ncopies; k++) decode_copy(dd, &copies[k]);
    for (int i = 0; i < n; i++) {
      out[i] = i;
      pos[i] = rlvr_kv_pages_len(kp, seqs[i]) - 1;
      slot[i] = (int)rlvr_kv_pages_slot(kp, seqs[i], pos[i]);
    }
    cudaStream_t s = dd->dm->ctx->stream;
    h2d(dd->table, kp->table, (size_t)kp->max_seqs * kp->max_blocks * sizeof(int), s);
    if (dd->use_graphs && n <= imin(kp->max_seqs, dd->max_rows)) decode_step_graph(dd, n, seqs, pos, tokens, slot);
    else decode_run(dd, n, seqs, pos, tokens, slot, out, n);
    if (logits) d2h(logits, dd->logits, (size_t)n * V * sizeof(float), s);
    CUDA_CHECK(cudaStreamSynchronize(s));
  }
  free(ones), free(out), free(pos), free(slot), free(copies);
  return rc == RLVR_OK ? rc : rlvr_error_wrap(rc, "decode step");
}

extern "C" void rlvr_cuda_decode_sample_rows(rlvr_cuda_decode *dd, const int *rows, int n,
                                             const rlvr_sampling *params, const double *u, int *tokens,
                                             float *logprobs) {
  const int V = dd->dm->cfg.vocab_size;
  cudaStream_t s = dd->dm->ctx->stream;
  RLVR_CHECK(n >= 0 && n <= dd->pages.max_seqs, "decode sample: %d rows (max_seqs %d)", n, dd->pages.max_seqs);
  if (n == 0) return;
  const float *src = dd->logits;
  if (rows) {
    for (int i = 0; i < n; i++) {
      RLVR_CHECK(rows[i] >= 0 && rows[i] < dd->n_out, "decode sample: row %d of %d", rows[i], dd->n_out);
      CUDA_CHECK(cudaMemcpyAsync(dd->s_logits + (size_t)i * V, dd->logits + (size_t)rows[i] * V, sizeof(float) * V,
                                 cudaMemcpyDeviceToDevice, s));
    }
    src = dd->s_logits;
  } else {
    RLVR_CHECK(n <= dd->n_out, "decode sample: %d rows of %d", n, dd->n_out);
  }
  h2d(dd->s_params, params, (size_t)n * sizeof(rlvr_sampling), s);
  h2d(dd->s_u, u, (size_t)n * sizeof(double), s);
  rlvr_cuda_sample(dd->s_tokens, dd->s_logprobs, src, n, V, dd->s_params, dd->s_u, RLVR_DTYPE_F32, s);
  d2h(tokens, dd->s_tokens, (size_t)n * sizeof(int), s);
  if (logprobs) d2h(logprobs, dd->s_logprobs, (size_t)n * sizeof(float), s);
}
