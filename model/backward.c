/* backward.c — gradients of the per-token loss with respect to every
 * parameter; see forward.h (rlvr_backward).
 *
 * Walks the forward in reverse with the activations it kept. The residual
 * stream's gradient dres (N, C) flows down through the layers; every other
 * gradient lives in the four scratch buffers of the state, each (N, W) with
 * W = max(C, H*D, F, 2*KVH*D), reused layer after layer:
 *
 *   head   dz (chunk, V) in logits_buf; dlnf (N, C) in buf_d
 *   MLP    act / dact (N, F) in buf_a, dgate buf_b, dup buf_c, dln2 buf_d
 *   attn   datt (N, H*D) buf_d; dq (N, H*D) buf_b; dk, dv (N, KVH*D) the two
 *          halves of buf_c; with q/k norm, dq_pre buf_a and dk_pre buf_d;
 *          dln1 in whichever of buf_a / buf_b is free then.
 *
 * The embedding's gradient gets the lookup's rows; with tied embeddings
 * lm_head and embed are one tensor and both contributions add up in it. */
#include <omp.h>
#include <string.h>

#include "core/check.h"
#include "model/forward.h"
#include "model/kernels.h"

static inline int imin(int a, int b) { return a < b ? a : b; }

void rlvr_backward(rlvr_forward_state *fs, const rlvr_model *m, const float *w, const float *u,
                   float *grads) {
  RLVR_CHECK(fs->have_targets, "rlvr_backward needs a forward with targets");
  RLVR_CHECK(omp_get_max_threads() <= fs->threads, "more OpenMP threads than at build");
  const rlvr_model_config *c = &m->cfg;
  const rlvr_params *p = &m->params;
  rlvr_params g;
  rlvr_params_point(&g, c, grads);
  const int N = fs->N, T = fs->T, V = c->vocab_size, C = c->hidden_size, L = c->num_layers;
  const int F = c->intermediate_size, H = c->num_heads, KVH = c->num_kv_heads, D = c->head_dim;
  const int HD = H * D, KD = KVH * D;
  const size_t mt = (size_t)fs->max_tokens;
  const rlvr_activations *a = &fs->act;
  if (N == 0) return;

  /* Head: z = lnf lm_head^T; dz_j = w ([j == target] - p_j) - u p_j (log p_j + H)
   * with p = softmax(z / temperature), then divided by the temperature. */
  for (int r0 = 0; r0 < N; r0 += fs->chunk) {
    const int n = imin(fs->chunk, N - r0);
    float *z = fs->logits_buf;
    const float *lnf = a->lnf + (size_t)r0 * C;
    rlvr_linear_forward(z, lnf, p->lm_head, NULL, n, V, C, fs->pack);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
      const int r = r0 + i;
      const size_t bt = (size_t)fs->row_b[r] * T + fs->pos[r];
      const float wi = fs->target[r] >= 0 ? w[bt] : 0.0f, ui = u ? u[bt] : 0.0f;
      float *zi = z + (size_t)i * V;
      /* At temperature T the row's log-softmax is of z / T (forward.c), so
       * its gradient is the log-softmax gradient at z / T, divided by T. */
      rlvr_logits_temperature(zi, V, fs->temperature);
      rlvr_logsoftmax_row_backward(zi, V, a->lse[r], a->ent[r], fs->target[r], wi, ui);
      rlvr_logits_temperature(zi, V, fs->temperature);
    }
    rlvr_linear_backward_x(fs->buf_d + (size_t)r0 * C, z, p->lm_head, n, V, C, 0);
    rlvr_linear_backward_w(g.lm_head, NULL, z, lnf, n, V, C);
  }
  float *dres = fs->dres;
  memset(dres, 0, sizeof(float) * (size_t)N * C);
  rlvr_rmsnorm_backward(dres, g.final_norm, fs->buf_d, a->res + (size_t)L * mt * C, p->final_norm, a->lnf_rstd, N, C);

  for (int l = L - 1; l >= 0; l--) {
    const float *x = a->res + (size_t)l * mt * C, *ln1 = a->ln1 + (size_t)l * mt * C;
    const float *res_mid = a->res_mid + (size_t)l * mt * C, *ln2 = a->ln2 + (size_t)l * mt * C;
    const float *gate = a->gate + (size_t)l * mt * F, *up = a->up + (size_t)l * mt * F;
    const float *q = a->q + (size_t)l * mt * HD, *k = a->k + (size_t)l * mt * KD;
    const float *att = a->att + (size_t)l * mt * HD;
    const float *w_gate = p->w_gate + (size_t)l * F * C, *w_up = p->w_up + (size_t)l * F * C;
    const float *w_down = p->w_down + (size_t)l * C * F, *wo = p->wo + (size_t)l * C * HD;
    const float *wq = p->wq + (size_t)l * HD * C, *wk = p->wk + (size_t)l * KD * C, *wv = p->wv + (size_t)l * KD * C;

    /* MLP: out = res_mid + act W_down^T, act = silu(gate) up. dres is d out. */
    float *act = fs->buf_a, *dgate = fs->buf_b, *dup = fs->buf_c, *dln2 = fs->buf_d;
    rlvr_swiglu_forward(act, gate, up, (size_t)N * F); /* recomputed, not kept */
    rlvr_linear_backward_w(g.w_down + (size_t)l * C * F, NULL, dres, act, N, C, F);
    float *dact = act;
    rlvr_linear_backward_x(dact, dres, w_down, N, C, F, 0);
    rlvr_swiglu_backward(dgate, dup, dact, gate, up, (size_t)N * F);
    rlvr_linear_backward_w(g.w_gate + (size_t)l * F * C, NULL, dgate, ln2, N, F, C);
    rlvr_linear_backward_w(g.w_up + (size_t)l * F * C, NULL, dup, ln2, N, F, C);
    rlvr_linear_backward_x(dln2, dgate, w_gate, N, F, C, 0);
    rlvr_linear_backward_x(dln2, dup, w_up, N, F, C, 1);
    /* dres becomes d res_mid: the identity path plus the norm's. */
    rlvr_rmsnorm_backward(dres, g.mlp_norm + (size_t)l * C, dln2, res_mid, p->mlp_norm + (size_t)l * C,
                          a->ln2_rstd + (size_t)l * mt, N, C);

    /* Attention: res_mid = x + att Wo^T. */
    float *datt = fs->buf_d, *dq = fs->buf_b, *dk = fs->buf_c, *dv = fs->buf_c + (size_t)N * KD;
    rlvr_linear_backward_w(g.wo + (size_t)l * C * HD, NULL, dres, att, N, C, HD);
    rlvr_linear_backward_x(datt, dres, wo, N, C, HD, 0);
    rlvr_attention_backward(dq, dk, dv, datt, q, k, a->kt + (size_t)l * mt * KD, a->vt + (size_t)l * mt * KD, mt,
                            att, a->att_lse + (size_t)l * mt * H, fs->B, fs->off, fs->len, H, KVH, D, fs->max_seq,
                            fs->att_scratch);
    /* RoPE is a rotation: its backward rotates back. */
    rlvr_rope_apply(dq, N, HD, H, D, fs->pos, fs->rope_cos, fs->rope_sin, 1);
    rlvr_rope_apply(dk, N, KD, KVH, D, fs->pos, fs->rope_cos, fs->rope_sin, 1);
    float *dq_lin = dq, *dk_lin = dk, *dln1 = fs->buf_a;
    if (c->qk_norm) {
      float *dq_pre = fs->buf_a, *dk_pre = fs->buf_d; /* datt is spent */
      memset(dq_pre, 0, sizeof(float) * (size_t)N * HD);
      memset(dk_pre, 0, sizeof(float) * (size_t)N * KD);
      rlvr_rmsnorm_backward(dq_pre, g.q_norm + (size_t)l * D, dq, a->q_pre + (size_t)l * mt * HD,
                            p->q_norm + (size_t)l * D, a->q_rstd + (size_t)l * mt * H, N * H, D);
      rlvr_rmsnorm_backward(dk_pre, g.k_norm + (size_t)l * D, dk, a->k_pre + (size_t)l * mt * KD,
                            p->k_norm + (size_t)l * D, a->k_rstd + (size_t)l * mt * KVH, N * KVH, D);
      dq_lin = dq_pre, dk_lin = dk_pre, dln1 = fs->buf_b; /* dq is spent */
    }
    rlvr_linear_backward_w(g.wq + (size_t)l * HD * C, c->attn_bias ? g.bq + (size_t)l * HD : NULL, dq_lin, ln1, N, HD, C);
    rlvr_linear_backward_w(g.wk + (size_t)l * KD * C, c->attn_bias ? g.bk + (size_t)l * KD : NULL, dk_lin, ln1, N, KD, C);
    rlvr_linear_backward_w(g.wv + (size_t)l * KD * C, c->attn_bias ? g.bv + (size_t)l * KD : NULL, dv, ln1, N, KD, C);
    rlvr_linear_backward_x(dln1, dq_lin, wq, N, HD, C, 0);
    rlvr_linear_backward_x(dln1, dk_lin, wk, N, KD, C, 1);
    rlvr_linear_backward_x(dln1, dv, wv, N, KD, C, 1);
    /* dres becomes d x. */
    rlvr_rmsnorm_backward(dres, g.attn_norm + (size_t)l * C, dln1, x, p->attn_norm + (size_t)l * C,
                          a->ln1_rstd + (size_t)l * mt, N, C);
  }

  /* Embedding: row tok[i] of the table gets dres[i]. Threads own channel
   * ranges and add rows in order, so repeated tokens sum deterministically. */
  const int nblk = (C + 63) / 64;
#pragma omp parallel for schedule(static) if ((size_t)N * C > 65536)
  for (int blk = 0; blk < nblk; blk++) {
    const int c0 = blk * 64, c1 = imin(C, c0 + 64);
    for (int i = 0; i < N; i++) {
      float *ge = g.embed + (size_t)fs->tok[i] * C;
      const float *d = dres + (size_t)i * C;
      for (int ch = c0; ch < c1; ch++) ge[ch] += d[ch];
    }
  }
}
