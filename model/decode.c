/* decode.c — incremental decoding with a KV cache; see decode.h.
 *
 * A call takes a list of new rows (slot, position, token), runs them through
 * the same rlvr_layer_forward as the training forward, with the cache as the
 * layer's key/value stores (column slot * max_seq + p of a layer's
 * (max_batch * max_seq, KVH*D) rows holds token p of the slot; attention
 * transposes keys 32 at a time to the training forward's layout), and the same
 * rlvr_head_forward for the rows whose logits are wanted. Nothing else
 * differs from forward.c, which is the whole exactness argument. */
#include "model/decode.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "model/forward.h"
#include "model/kernels.h"

static inline int imax(int a, int b) { return a > b ? a : b; }

void rlvr_decode_build(rlvr_decode_state *ds, const rlvr_model_config *cfg, int max_batch,
                       int max_seq, int max_rows) {
  RLVR_CHECK(rlvr_model_config_validate(cfg) == RLVR_OK, "%s", rlvr_error_message());
  RLVR_CHECK(max_batch > 0 && max_seq > 0 && max_seq <= cfg->max_position && max_rows > 0,
             "max_batch %d, max_seq %d (max_position %d), max_rows %d", max_batch, max_seq,
             cfg->max_position, max_rows);
  memset(ds, 0, sizeof *ds);
  ds->cfg = *cfg;
  ds->max_batch = max_batch, ds->max_seq = max_seq, ds->max_rows = max_rows;
  ds->threads = omp_get_max_threads();
  const size_t L = cfg->num_layers, C = cfg->hidden_size, F = cfg->intermediate_size;
  const size_t H = cfg->num_heads, KVH = cfg->num_kv_heads, D = cfg->head_dim;
  const size_t HD = H * D, KD = KVH * D, R = (size_t)max_rows;
  const int qk = cfg->qk_norm;
  const int widest = imax(imax((int)C, (int)HD), (int)F);

  size_t sizes[40], total = 0;
  float **fields[40];
  int nf = 0;
#define FIELD(ptr, n)                                                                              \
  do {                                                                                             \
    fields[nf] = &(ptr);                                                                           \
    sizes[nf++] = (n);                                                                             \
  } while (0)
  FIELD(ds->k_cache, L * max_batch * max_seq * KD);
  FIELD(ds->v_cache, L * max_batch * max_seq * KD);
  FIELD(ds->rope_cos, (size_t)max_seq * D / 2);
  FIELD(ds->rope_sin, (size_t)max_seq * D / 2);
  FIELD(ds->x, R * C);
  FIELD(ds->y, R * C);
  FIELD(ds->ln1, R * C);
  FIELD(ds->ln1_rstd, R);
  FIELD(ds->q_pre, qk ? R * HD : 0);
  FIELD(ds->k_pre, qk ? R * KD : 0);
  FIELD(ds->q_rstd, qk ? R * H : 0);
  FIELD(ds->k_rstd, qk ? R * KVH : 0);
  FIELD(ds->q, R * HD);
  FIELD(ds->k_new, R * KD);
  FIELD(ds->v_new, R * KD);
  FIELD(ds->att, R * HD);
  FIELD(ds->att_lse, R * H);
  FIELD(ds->res_mid, R * C);
  FIELD(ds->ln2, R * C);
  FIELD(ds->ln2_rstd, R);
  FIELD(ds->gate, R * F);
  FIELD(ds->up, R * F);
  FIELD(ds->act, R * F);
  FIELD(ds->lnf, R * C);
  FIELD(ds->lnf_rstd, R);
  FIELD(ds->pack, rlvr_linear_scratch(max_rows, widest));
  FIELD(ds->att_scratch, (size_t)ds->threads * rlvr_attention_scratch(max_seq, (int)D));
#undef FIELD
  for (int i = 0; i < nf; i++) total += (sizes[i] + 15) / 16 * 16;
  ds->memory = xmalloc_aligned(total * sizeof(float));
  float *p = ds->memory;
  for (int i = 0; i < nf; i++) {
    *fields[i] = sizes[i] ? p : NULL;
    p += (sizes[i] + 15) / 16 * 16;
  }
  rlvr_rope_table(ds->rope_cos, ds->rope_sin, max_seq, (int)D, cfg->rope_theta);
  ds->slot_len = xcalloc((size_t)max_batch, sizeof(int));
  ds->pos = xcalloc(R, sizeof(int));
  ds->kv_col = xcalloc(R, sizeof(size_t));
  ds->row_tok = xcalloc(R, sizeof(int));
}

void rlvr_decode_free(rlvr_decode_state *ds) {
  if (!ds) return;
  free(ds->memory);
  free(ds->slot_len);
  free(ds->pos);
  free(ds->kv_col);
  free(ds->row_tok);
  memset(ds, 0, sizeof *ds);
}

int rlvr_decode_slot_len(const rlvr_decode_state *ds, int slot) {
  RLVR_CHECK(slot >= 0 && slot < ds->max_batch);
  return ds->slot_len[slot];
}

static void check_model(const rlvr_decode_state *ds, const rlvr_model *m) {
  const rlvr_model_config *a = &ds->cfg, *b = &m->cfg;
  RLVR_CHECK(a->hidden_size == b->hidden_size && a->num_layers == b->num_layers && a->vocab_size == b->vocab_size &&
                 a->intermediate_size == b->intermediate_size && a->num_heads == b->num_heads &&
                 a->num_kv_heads == b->num_kv_heads && a->head_dim == b->head_dim && a->qk_norm == b->qk_norm,
             "decode state built for another model shape");
  RLVR_CHECK(omp_get_max_threads() <= ds->threads, "more OpenMP threads (%d) than at build (%d)",
             omp_get_max_threads(), ds->threads);
}

/* Slots in range and distinct. */
static int check_slots(const rlvr_decode_state *ds, const int *slots, int n, const char *what) {
  for (int i = 0; i < n; i++) {
    if (slots[i] < 0 || slots[i] >= ds->max_batch)
      return rlvr_error(RLVR_ERR_ARG, "decode %s: slot %d (entry %d) outside 0..%d", what, slots[i], i, ds->max_batch - 1);
    for (int j = 0; j < i; j++)
      if (slots[j] == slots[i]) return rlvr_error(RLVR_ERR_ARG, "decode %s: slot %d given twice", what, slots[i]);
  }
  return RLVR_OK;
}

/* Runs the n rows set up in ds->pos, ds->kv_col with tokens tok through every
 * layer; returns the buffer holding their last residual (n, C). */
static float *run_rows(rlvr_decode_state *ds, const rlvr_model *m, const int *tok, int n) {
  const rlvr_model_config *c = &m->cfg;
  const size_t C = c->hidden_size, KD = (size_t)c->num_kv_heads * c->head_dim;
  const size_t cols = (size_t)ds->max_batch * ds->max_seq, layer = cols * KD;
  for (int i = 0; i < n; i++) memcpy(ds->x + i * C, m->params.embed + (size_t)tok[i] * C, sizeof(float) * C);
  float *cur = ds->x, *other = ds->y;
  for (int l = 0; l < c->num_layers; l++) {
    rlvr_layer_io io = {
        .x = cur, .out = other, .ln1 = ds->ln1, .ln1_rstd = ds->ln1_rstd, .q_pre = ds->q_pre,
        .k_pre = ds->k_pre, .q_rstd = ds->q_rstd, .k_rstd = ds->k_rstd, .q = ds->q, .att = ds->att,
        .att_lse = ds->att_lse, .res_mid = ds->res_mid, .ln2 = ds->ln2, .ln2_rstd = ds->ln2_rstd,
        .gate = ds->gate, .up = ds->up, .k_new = ds->k_new, .v_new = ds->v_new,
        .kv_kt = NULL, .kv_k = ds->k_cache + l * layer, .kv_v = ds->v_cache + l * layer, .kv_vt = NULL,
        .kv_ld = cols, .kv_col = ds->kv_col,
        .pos = ds->pos, .act = ds->act, .pack = ds->pack, .att_scratch = ds->att_scratch,
        .rope_cos = ds->rope_cos, .rope_sin = ds->rope_sin, .max_pos = ds->max_seq,
    };
    rlvr_layer_forward(m, l, n, &io);
    float *t = cur;
    cur = other, other = t;
  }
  return cur;
}

int rlvr_decode_prefill(rlvr_decode_state *ds, const rlvr_model *m, const int *slots,
                        const int *tokens, const int *lens, int B, int T, float *logits) {
  check_model(ds, m);
  const int V = m->cfg.vocab_size, C = m->cfg.hidden_size;
  int rc = check_slots(ds, slots, B, "prefill");
  if (rc) return rc;
  for (int b = 0; b < B; b++) {
    if (lens[b] < 1 || lens[b] > T || lens[b] > ds->max_seq)
      return rlvr_error(RLVR_ERR_RANGE, "decode prefill: prompt %d has length %d outside 1..%d", b, lens[b],
                        T < ds->max_seq ? T : ds->max_seq);
    for (int t = 0; t < lens[b]; t++) {
      const int tok = tokens[(size_t)b * T + t];
      if (tok < 0 || tok >= V)
        return rlvr_error(RLVR_ERR_RANGE, "decode prefill: token %d at prompt %d position %d is outside the vocabulary (%d)",
                          tok, b, t, V);
    }
  }
  for (int b = 0; b < B; b++) ds->slot_len[slots[b]] = 0;

  /* Rows in (b, t) order, max_rows at a time. A chunk may end mid-prompt:
   * the rest of that prompt attends to the keys this chunk stored. */
  int b = 0, t = 0;
  while (b < B) {
    int n = 0, first_last = -1, nlast = 0;
    while (b < B && n < ds->max_rows) {
      ds->pos[n] = t;
      ds->kv_col[n] = (size_t)slots[b] * ds->max_seq;
      ds->row_tok[n] = tokens[(size_t)b * T + t];
      if (t == lens[b] - 1) {
        if (first_last < 0) first_last = b;
        nlast++;
      }
      n++;
      if (++t == lens[b]) b++, t = 0;
    }
    float *xl = run_rows(ds, m, ds->row_tok, n);
    /* The last row of each prompt finished in this chunk, in order of b. */
    if (nlast) {
      float *g = xl == ds->x ? ds->y : ds->x;
      int k = 0;
      for (int i = 0; i < n; i++) {
        /* row i is a last row when the next row starts a new prompt or the chunk ended at one */
        const int is_last = (i + 1 < n) ? ds->pos[i + 1] == 0 : (t == 0);
        if (is_last) memcpy(g + (size_t)k++ * C, xl + (size_t)i * C, sizeof(float) * C);
      }
      RLVR_CHECK(k == nlast);
      rlvr_head_forward(m, nlast, g, ds->lnf, ds->lnf_rstd, logits + (size_t)first_last * V, ds->pack);
    }
  }
  for (int i = 0; i < B; i++) ds->slot_len[slots[i]] = lens[i];
  return RLVR_OK;
}

int rlvr_decode_step(rlvr_decode_state *ds, const rlvr_model *m, const int *slots,
                     const int *tokens, int n, float *logits) {
  check_model(ds, m);
  const int V = m->cfg.vocab_size;
  if (n > ds->max_rows)
    return rlvr_error(RLVR_ERR_ARG, "decode step: %d tokens, more than max_rows %d", n, ds->max_rows);
  int rc = check_slots(ds, slots, n, "step");
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    const int s = slots[i];
    if (ds->slot_len[s] == 0) return rlvr_error(RLVR_ERR_ARG, "decode step: slot %d is empty (prefill it first)", s);
    if (ds->slot_len[s] >= ds->max_seq)
      return rlvr_error(RLVR_ERR_RANGE, "decode step: slot %d is full (%d tokens)", s, ds->max_seq);
    if (tokens[i] < 0 || tokens[i] >= V)
      return rlvr_error(RLVR_ERR_RANGE, "decode step: token %d for slot %d is outside the vocabulary (%d)", tokens[i], s, V);
  }
  if (n == 0) return RLVR_OK;
  for (int i = 0; i < n; i++) {
    ds->pos[i] = ds->slot_len[slots[i]];
    ds->kv_col[i] = (size_t)slots[i] * ds->max_seq;
  }
  float *xl = run_rows(ds, m, tokens, n);
  rlvr_head_forward(m, n, xl, ds->lnf, ds->lnf_rstd, logits, ds->pack);
  for (int i = 0; i < n; i++) ds->slot_len[slots[i]]++;
  return RLVR_OK;
}

void rlvr_decode_copy_slot(rlvr_decode_state *ds, int src, int dst, int len) {
  RLVR_CHECK(src != dst && src >= 0 && dst >= 0 && src < ds->max_batch && dst < ds->max_batch);
  RLVR_CHECK(len >= 1 && len <= ds->slot_len[src], "copy %d positions, slot %d holds %d", len, src, ds->slot_len[src]);
  const size_t KD = (size_t)ds->cfg.num_kv_heads * ds->cfg.head_dim;
  const size_t layer = (size_t)ds->max_batch * ds->max_seq * KD, slot = (size_t)ds->max_seq * KD;
  for (int l = 0; l < ds->cfg.num_layers; l++) {
    memcpy(ds->k_cache + l * layer + dst * slot, ds->k_cache + l * layer + src * slot, sizeof(float) * len * KD);
    memcpy(ds->v_cache + l * layer + dst * slot, ds->v_cache + l * layer + src * slot, sizeof(float) * len * KD);
  }
  ds->slot_len[dst] = len;
}

void rlvr_decode_truncate(rlvr_decode_state *ds, int slot, int len) {
  RLVR_CHECK(slot >= 0 && slot < ds->max_batch && len >= 1 && len <= ds->slot_len[slot]);
  ds->slot_len[slot] = len; /* attention never reads past a row's own position */
}

float rlvr_decode_logprob(const float *logits, int V, int token, float *scratch) {
  RLVR_CHECK(token >= 0 && token < V);
  float lse;
  rlvr_logsoftmax_row(logits, V, &lse, NULL, scratch);
  return logits[token] - lse;
}
