/* forward.c — the full-sequence forward pass on CPU; see forward.h.
 *
 * The layer (rlvr_layer_forward) and the head (rlvr_head_forward) are shared
 * with decode.c: both paths run the same kernels on rows, which is why a
 * token's log-probability is the same bits in both (docs/model.md). */
#include "model/forward.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "model/kernels.h"

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* Widest row any scratch buffer holds. */
static int scratch_width(const rlvr_model_config *c) {
  const int HD = c->num_heads * c->head_dim, KD = c->num_kv_heads * c->head_dim;
  return imax(imax(c->hidden_size, HD), imax(c->intermediate_size, 2 * KD));
}

void rlvr_forward_build(rlvr_forward_state *fs, const rlvr_model_config *cfg, int max_batch,
                        int max_seq) {
  RLVR_CHECK(rlvr_model_config_validate(cfg) == RLVR_OK, "%s", rlvr_error_message());
  RLVR_CHECK(max_batch > 0 && max_seq > 0 && max_seq <= cfg->max_position,
             "max_batch %d, max_seq %d (max_position %d)", max_batch, max_seq, cfg->max_position);
  RLVR_CHECK((int64_t)max_batch * max_seq < (1LL << 31) / 4, "max_batch * max_seq too large");
  memset(fs, 0, sizeof *fs);
  fs->cfg = *cfg;
  fs->max_batch = max_batch;
  fs->max_seq = max_seq;
  const size_t N = (size_t)max_batch * max_seq;
  fs->max_tokens = (int)N;
  const size_t L = cfg->num_layers, C = cfg->hidden_size, F = cfg->intermediate_size;
  const size_t V = cfg->vocab_size, H = cfg->num_heads, KVH = cfg->num_kv_heads, D = cfg->head_dim;
  const size_t HD = H * D, KD = KVH * D, W = (size_t)scratch_width(cfg);
  const int qk = cfg->qk_norm;
  /* Logits are made (chunk, V) at a time: about 256 MB of them at most,
   * enough rows (441 for V = 152k) that lm_head, streamed from memory once
   * per chunk, is reused across many tokens. */
  fs->chunk = (int)(((size_t)1 << 26) / V);
  fs->chunk = imax(1, imin(fs->chunk, (int)N));
  fs->threads = omp_get_max_threads();
  const size_t chunk = (size_t)fs->chunk, T = fs->threads;

  /* One allocation; each field's size, in floats, 64-byte aligned. */
  size_t sizes[64], total = 0;
  float **fields[64];
  int nf = 0;
#define FIELD(ptr, n)                                                                              \
  do {                                                                                             \
    fields[nf] = &(ptr);                                                                           \
    sizes[nf++] = (n);                                                                             \
  } while (0)
  rlvr_activations *a = &fs->act;
  FIELD(a->res, (L + 1) * N * C);
  FIELD(a->ln1, L * N * C);
  FIELD(a->ln1_rstd, L * N);
  FIELD(a->q_pre, qk ? L * N * HD : 0);
  FIELD(a->k_pre, qk ? L * N * KD : 0);
  FIELD(a->q_rstd, qk ? L * N * H : 0);
  FIELD(a->k_rstd, qk ? L * N * KVH : 0);
  FIELD(a->q, L * N * HD);
  FIELD(a->k, L * N * KD);
  FIELD(a->v, L * N * KD);
  FIELD(a->kt, L * N * KD);
  FIELD(a->vt, L * N * KD);
  FIELD(a->att, L * N * HD);
  FIELD(a->att_lse, L * N * H);
  FIELD(a->res_mid, L * N * C);
  FIELD(a->ln2, L * N * C);
  FIELD(a->ln2_rstd, L * N);
  FIELD(a->gate, L * N * F);
  FIELD(a->up, L * N * F);
  FIELD(a->lnf, N * C);
  FIELD(a->lnf_rstd, N);
  FIELD(a->lse, N);
  FIELD(a->ent, N);
  FIELD(fs->rope_cos, (size_t)max_seq * D / 2);
  FIELD(fs->rope_sin, (size_t)max_seq * D / 2);
  FIELD(fs->buf_a, N * W);
  FIELD(fs->buf_b, N * W);
  FIELD(fs->buf_c, N * W);
  FIELD(fs->buf_d, N * W);
  FIELD(fs->dres, N * C);
  FIELD(fs->logits_buf, chunk * V);
  FIELD(fs->pack, rlvr_linear_scratch((int)imax((int)N, (int)chunk), (int)W));
  FIELD(fs->att_scratch, T * rlvr_attention_scratch(max_seq, (int)D));
  FIELD(fs->row_scratch, T * V);
#undef FIELD
  for (int i = 0; i < nf; i++) total += (sizes[i] + 15) / 16 * 16;
  fs->act_memory = xmalloc_aligned(total * sizeof(float));
  float *p = fs->act_memory;
  for (int i = 0; i < nf; i++) {
    *fields[i] = sizes[i] ? p : NULL;
    p += (sizes[i] + 15) / 16 * 16;
  }
  fs->total_floats = total;
  rlvr_rope_table(fs->rope_cos, fs->rope_sin, max_seq, (int)D, cfg->rope_theta);

  fs->off = xcalloc((size_t)max_batch, sizeof(int));
  fs->len = xcalloc((size_t)max_batch, sizeof(int));
  fs->pos = xcalloc(N, sizeof(int));
  fs->row_b = xcalloc(N, sizeof(int));
  fs->kv_col = xcalloc(N, sizeof(size_t));
  fs->target = xcalloc(N, sizeof(int));
  fs->tok = xcalloc(N, sizeof(int));
  fs->temperature = 1.0f;
}

void rlvr_logits_temperature(float *z, int V, float temperature) {
  if (!(temperature > 0.0f) || temperature == 1.0f) return;
  for (int j = 0; j < V; j++) z[j] = z[j] / temperature;
}

void rlvr_forward_set_temperature(rlvr_forward_state *fs, float temperature) {
  RLVR_CHECK(isfinite(temperature), "temperature %g", (double)temperature);
  fs->temperature = temperature > 0.0f ? temperature : 1.0f;
}

void rlvr_forward_free(rlvr_forward_state *fs) {
  if (!fs) return;
  free(fs->act_memory);
  free(fs->off);
  free(fs->len);
  free(fs->pos);
  free(fs->row_b);
  free(fs->kv_col);
  free(fs->target);
  free(fs->tok);
  memset(fs, 0, sizeof *fs);
}

void rlvr_grads_zero(const rlvr_model *m, float *grads) {
  memset(grads, 0, m->num_params * sizeof(float));
}

void rlvr_layer_forward(const rlvr_model *m, int l, int N, const rlvr_layer_io *io) {
  const rlvr_model_config *c = &m->cfg;
  const rlvr_params *p = &m->params;
  const int C = c->hidden_size, F = c->intermediate_size, H = c->num_heads, KVH = c->num_kv_heads;
  const int D = c->head_dim, HD = H * D, KD = KVH * D;
  const float eps = (float)c->rms_eps;
  const size_t lc = (size_t)l * C;
  if (N <= 0) return;

  /* Attention: x -> RMSNorm -> q, k, v -> (q/k norm) -> RoPE. */
  rlvr_rmsnorm_forward(io->ln1, io->ln1_rstd, io->x, p->attn_norm + lc, N, C, eps);
  float *qdst = c->qk_norm ? io->q_pre : io->q;
  float *kdst = c->qk_norm ? io->k_pre : io->k_new;
  rlvr_linear_pack(io->pack, io->ln1, N, C);
  rlvr_linear_forward_packed(qdst, io->pack, p->wq + (size_t)l * HD * C, c->attn_bias ? p->bq + (size_t)l * HD : NULL, N, HD, C);
  rlvr_linear_forward_packed(kdst, io->pack, p->wk + (size_t)l * KD * C, c->attn_bias ? p->bk + (size_t)l * KD : NULL, N, KD, C);
  rlvr_linear_forward_packed(io->v_new, io->pack, p->wv + (size_t)l * KD * C, c->attn_bias ? p->bv + (size_t)l * KD : NULL, N, KD, C);
  if (c->qk_norm) { /* RMSNorm over D within each head (Qwen3), before RoPE */
    rlvr_rmsnorm_forward(io->q, io->q_rstd, io->q_pre, p->q_norm + (size_t)l * D, N * H, D, eps);
    rlvr_rmsnorm_forward(io->k_new, io->k_rstd, io->k_pre, p->k_norm + (size_t)l * D, N * KVH, D, eps);
  }
  rlvr_rope_apply(io->q, N, HD, H, D, io->pos, io->rope_cos, io->rope_sin, 0);
  rlvr_rope_apply(io->k_new, N, KD, KVH, D, io->pos, io->rope_cos, io->rope_sin, 0);

  /* Store this call's keys (transposed) and values, then attend over the stores. */
  for (int i = 0; i < N; i++) {
    const size_t col = io->kv_col[i] + (size_t)io->pos[i];
    const float *kr = io->k_new + (size_t)i * KD, *vr = io->v_new + (size_t)i * KD;
    if (io->kv_kt)
      for (int c2 = 0; c2 < KD; c2++) io->kv_kt[(size_t)c2 * io->kv_ld + col] = kr[c2];
    else if (io->kv_k + col * KD != kr)
      memcpy(io->kv_k + col * KD, kr, sizeof(float) * KD);
    if (io->kv_vt)
      for (int c2 = 0; c2 < KD; c2++) io->kv_vt[(size_t)c2 * io->kv_ld + col] = vr[c2];
    if (io->kv_v + col * KD != vr) memcpy(io->kv_v + col * KD, vr, sizeof(float) * KD);
  }
  const rlvr_kv_view kv = {io->kv_kt, io->kv_k, io->kv_v, io->kv_ld, KD};
  rlvr_attention_forward(io->att, io->att_lse, io->q, &kv, N, io->pos, io->kv_col, H, KVH, D, io->max_pos,
                         io->att_scratch);
  rlvr_linear_forward(io->res_mid, io->att, p->wo + (size_t)l * C * HD, NULL, N, C, HD, io->pack);
  const size_t NC = (size_t)N * C;
#pragma omp parallel for schedule(static) if (NC > 65536)
  for (size_t i = 0; i < NC; i++) io->res_mid[i] = io->x[i] + io->res_mid[i];

  /* MLP: RMSNorm -> down(silu(gate) * up). */
  rlvr_rmsnorm_forward(io->ln2, io->ln2_rstd, io->res_mid, p->mlp_norm + lc, N, C, eps);
  rlvr_linear_pack(io->pack, io->ln2, N, C);
  rlvr_linear_forward_packed(io->gate, io->pack, p->w_gate + (size_t)l * F * C, NULL, N, F, C);
  rlvr_linear_forward_packed(io->up, io->pack, p->w_up + (size_t)l * F * C, NULL, N, F, C);
  rlvr_swiglu_forward(io->act, io->gate, io->up, (size_t)N * F);
  rlvr_linear_forward(io->out, io->act, p->w_down + (size_t)l * C * F, NULL, N, C, F, io->pack);
#pragma omp parallel for schedule(static) if (NC > 65536)
  for (size_t i = 0; i < NC; i++) io->out[i] = io->res_mid[i] + io->out[i];
}

void rlvr_head_forward(const rlvr_model *m, int n, const float *x, float *lnf, float *lnf_rstd,
                       float *logits, float *pack) {
  const rlvr_model_config *c = &m->cfg;
  rlvr_rmsnorm_forward(lnf, lnf_rstd, x, m->params.final_norm, n, c->hidden_size, (float)c->rms_eps);
  rlvr_linear_forward(logits, lnf, m->params.lm_head, NULL, n, c->vocab_size, c->hidden_size, pack);
}

int rlvr_forward_check_batch(const int *tokens, const int *lens, int B, int T, const int *targets, int V) {
  for (int b = 0; b < B; b++) {
    if (lens[b] < 0 || lens[b] > T)
      return rlvr_error(RLVR_ERR_RANGE, "forward: sequence %d has length %d outside 0..%d", b, lens[b], T);
    for (int t = 0; t < lens[b]; t++) {
      const int tok = tokens[(size_t)b * T + t];
      if (tok < 0 || tok >= V)
        return rlvr_error(RLVR_ERR_RANGE, "forward: token %d at sequence %d position %d is outside the vocabulary (%d)",
                          tok, b, t, V);
      if (targets && targets[(size_t)b * T + t] >= V)
        return rlvr_error(RLVR_ERR_RANGE, "forward: target %d at sequence %d position %d is outside the vocabulary (%d)",
                          targets[(size_t)b * T + t], b, t, V);
    }
  }
  return RLVR_OK;
}

int rlvr_forward(rlvr_forward_state *fs, const rlvr_model *m, const int *tokens, const int *lens,
                 int B, int T, const int *targets, float *logprobs, float *entropy, float *logits) {
  const rlvr_model_config *c = &m->cfg;
  RLVR_CHECK(c->hidden_size == fs->cfg.hidden_size && c->num_layers == fs->cfg.num_layers &&
                 c->vocab_size == fs->cfg.vocab_size && c->intermediate_size == fs->cfg.intermediate_size &&
                 c->num_heads == fs->cfg.num_heads && c->num_kv_heads == fs->cfg.num_kv_heads &&
                 c->head_dim == fs->cfg.head_dim && c->qk_norm == fs->cfg.qk_norm,
             "forward state built for another model shape");
  RLVR_CHECK(B >= 0 && B <= fs->max_batch && T >= 0 && T <= fs->max_seq, "batch %d x %d exceeds %d x %d", B, T,
             fs->max_batch, fs->max_seq);
  RLVR_CHECK(omp_get_max_threads() <= fs->threads, "more OpenMP threads (%d) than at build (%d)",
             omp_get_max_threads(), fs->threads);
  const int V = c->vocab_size, C = c->hidden_size, L = c->num_layers, F = c->intermediate_size;
  const int H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim, HD = H * D, KD = KVH * D;

  /* Check everything before writing anything. */
  int rc = rlvr_forward_check_batch(tokens, lens, B, T, targets, V);
  if (rc) return rc;

  /* Pack the real tokens: sequence b is rows off[b] .. off[b]+len[b]-1. */
  int N = 0;
  for (int b = 0; b < B; b++) {
    fs->off[b] = N;
    fs->len[b] = lens[b];
    for (int t = 0; t < lens[b]; t++, N++) {
      fs->pos[N] = t;
      fs->row_b[N] = b;
      fs->kv_col[N] = (size_t)fs->off[b];
      fs->tok[N] = tokens[(size_t)b * T + t];
      fs->target[N] = targets ? targets[(size_t)b * T + t] : -1;
      if (fs->target[N] < 0) fs->target[N] = -1;
    }
  }
  fs->B = B, fs->T = T, fs->N = N;
  fs->have_targets = targets != NULL;
  const size_t mt = (size_t)fs->max_tokens;
  rlvr_activations *a = &fs->act;

  /* Embedding lookup. */
#pragma omp parallel for schedule(static) if ((size_t)N * C > 65536)
  for (int i = 0; i < N; i++)
    memcpy(a->res + (size_t)i * C, m->params.embed + (size_t)fs->tok[i] * C, sizeof(float) * C);

  for (int l = 0; l < L; l++) {
    rlvr_layer_io io = {
        .x = a->res + (size_t)l * mt * C,
        .out = a->res + (size_t)(l + 1) * mt * C,
        .ln1 = a->ln1 + (size_t)l * mt * C,
        .ln1_rstd = a->ln1_rstd + (size_t)l * mt,
        .q_pre = c->qk_norm ? a->q_pre + (size_t)l * mt * HD : NULL,
        .k_pre = c->qk_norm ? a->k_pre + (size_t)l * mt * KD : NULL,
        .q_rstd = c->qk_norm ? a->q_rstd + (size_t)l * mt * H : NULL,
        .k_rstd = c->qk_norm ? a->k_rstd + (size_t)l * mt * KVH : NULL,
        .q = a->q + (size_t)l * mt * HD,
        .att = a->att + (size_t)l * mt * HD,
        .att_lse = a->att_lse + (size_t)l * mt * H,
        .res_mid = a->res_mid + (size_t)l * mt * C,
        .ln2 = a->ln2 + (size_t)l * mt * C,
        .ln2_rstd = a->ln2_rstd + (size_t)l * mt,
        .gate = a->gate + (size_t)l * mt * F,
        .up = a->up + (size_t)l * mt * F,
        /* The packed rows' values are their own store (column = row). */
        .k_new = a->k + (size_t)l * mt * KD,
        .v_new = a->v + (size_t)l * mt * KD,
        .kv_kt = a->kt + (size_t)l * mt * KD,
        .kv_k = NULL,
        .kv_v = a->v + (size_t)l * mt * KD,
        .kv_vt = a->vt + (size_t)l * mt * KD,
        .kv_ld = mt,
        .kv_col = fs->kv_col,
        .pos = fs->pos,
        .act = fs->buf_a,
        .pack = fs->pack,
        .att_scratch = fs->att_scratch,
        .rope_cos = fs->rope_cos,
        .rope_sin = fs->rope_sin,
        .max_pos = fs->max_seq,
    };
    rlvr_layer_forward(m, l, N, &io);
  }

  /* Head, a chunk of rows at a time: logits, then per row its log-sum-exp,
   * entropy and the target's log-probability. */
  const float *xL = a->res + (size_t)L * mt * C;
  if (logprobs) memset(logprobs, 0, sizeof(float) * (size_t)B * T);
  if (entropy) memset(entropy, 0, sizeof(float) * (size_t)B * T);
  if (logits) memset(logits, 0, sizeof(float) * (size_t)B * T * V);
  for (int r0 = 0; r0 < N; r0 += fs->chunk) {
    const int n = imin(fs->chunk, N - r0);
    float *z = fs->logits_buf;
    rlvr_head_forward(m, n, xL + (size_t)r0 * C, a->lnf + (size_t)r0 * C, a->lnf_rstd + r0, z, fs->pack);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
      const int r = r0 + i, b = fs->row_b[r], t = fs->pos[r];
      float *zr = z + (size_t)i * V;
      const size_t bt = (size_t)b * T + t;
      if (logits) memcpy(logits + bt * V, zr, sizeof(float) * V);
      rlvr_logits_temperature(zr, V, fs->temperature);
      rlvr_logsoftmax_row(zr, V, &a->lse[r], &a->ent[r], fs->row_scratch + (size_t)omp_get_thread_num() * V);
      if (logprobs && fs->target[r] >= 0) logprobs[bt] = zr[fs->target[r]] - a->lse[r];
      if (entropy) entropy[bt] = a->ent[r];
    }
  }
  return RLVR_OK;
}
