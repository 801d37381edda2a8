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
  const int rc = rlvr_cuda_source_build(&ps->gpu, m, dtype, slots, max_seq, 0);
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
                           int block_size) {
  (void)m, (void)dtype, (void)slots, (void)max_seq, (void)block_size;
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
int rlvr_cuda_source_check(const rlvr_cuda_source *cs, int *blocks_used) {
  (void)cs, (void)blocks_used;
  RLVR_CHECK(0, "a GPU source in a build without CUDA");
  return 0;
}

#else /* RLVR_HAVE_CUDA */

#include "model/cuda/device.h"
#include "model/cuda/model.h"

struct rlvr_cuda_source {
  rlvr_cuda_context ctx;
  rlvr_cuda_model dm;
  rlvr_cuda_decode dd;
  const rlvr_model *m; /* borrowed: the weights uploaded by rlvr_cuda_source_upload */
  int V, slots, max_seq;
  rlvr_logits_source src; /* src.ctx = this struct */
};

int rlvr_cuda_source_available(char *why, size_t cap) {
  if (rlvr_cuda_device_count() > 0) {
    if (cap) why[0] = 0;
    return 1;
  }
  snprintf(why, cap, "no CUDA device is usable here (no GPU or no driver)");
  return 0;
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
  /* Checked inputs and a pool sized for every slot full: nothing left to fail. */
  const int rc = rlvr_cuda_decode_prefill(&cs->dd, slots, tokens, lens, B, T, logits);
  RLVR_CHECK(rc == RLVR_OK, "GPU source prefill after checks: %s", rlvr_error_message());
  return RLVR_OK;
}

static int cs_step(void *ctx, const int *slots, const int *tokens, int n, float *logits) {
  rlvr_cuda_source *cs = ctx;
  return rlvr_cuda_decode_step(&cs->dd, slots, tokens, n, logits);
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
}

static void cs_truncate(void *ctx, int slot, int len) {
  rlvr_cuda_source *cs = ctx;
  const int have = rlvr_cuda_decode_len(&cs->dd, slot);
  RLVR_CHECK(slot >= 0 && slot < cs->slots && len >= 1 && len <= have, "GPU source truncate slot %d to %d (holds %d)",
             slot, len, have);
  RLVR_CHECK(rlvr_cuda_decode_truncate(&cs->dd, slot, len) == RLVR_OK, "GPU source truncate: %s",
             rlvr_error_message());
}

int rlvr_cuda_source_build(rlvr_cuda_source **out, const rlvr_model *m, const char *dtype, int slots, int max_seq,
                           int block_size) {
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
  *out = cs;
  return RLVR_OK;
}

void rlvr_cuda_source_free(rlvr_cuda_source *cs) {
  if (!cs) return;
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

int rlvr_cuda_source_check(const rlvr_cuda_source *cs, int *blocks_used) {
  const rlvr_kv_pages *kp = &cs->dd.pages;
  if (blocks_used) *blocks_used = kp->num_blocks - kp->num_free;
  return rlvr_kv_pages_consistent(kp);
}

#endif
