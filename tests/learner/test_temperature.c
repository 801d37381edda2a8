/* test_temperature.c — log-probabilities at a sampling temperature, the
 * contract between the rollout (which samples from softmax(z / T)) and the
 * learner (which recomputes those log-probs with rlvr_forward):
 *   1. decode's logits, divided by T with rlvr_logits_temperature and scored
 *      with rlvr_decode_logprob, equal the forward's log-probs at T bit for
 *      bit (the max |diff| printed must be 0);
 *   2. the backward at T equals the backward at T = 1 of the same model with
 *      lm_head divided by T (softmax(W x / T) = softmax((W / T) x)), with the
 *      lm_head gradient scaled by 1 / T — an independent route through the
 *      T = 1 code;
 *   3. a central finite difference of sum w logp + u entropy along a random
 *      direction matches the backward's directional derivative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "testing.h"

enum { B = 2, T = 24, TP = 5 };
static const float TEMP = 0.7f;

static double objective(rlvr_forward_state *fs, const rlvr_model *m, const int *tok, const int *lens,
                        const int *tgt, const float *w, const float *u) {
  float lp[B * T], ent[B * T];
  CHECK(rlvr_forward(fs, m, tok, lens, B, T, tgt, lp, ent, NULL) == RLVR_OK);
  double s = 0;
  for (int i = 0; i < B * T; i++) s += (double)w[i] * lp[i] + (double)u[i] * ent[i];
  return s;
}

int main(void) {
  rlvr_model m;
  if (rlvr_model_load("tests/fixtures/models/tiny-qwen2", &m) != RLVR_OK) {
    fprintf(stderr, "load: %s\n", rlvr_error_message());
    return 1;
  }
  const int V = m.cfg.vocab_size;
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 7);
  int tok[B * T], tgt[B * T], lens[B] = {T, T - 6};
  for (int i = 0; i < B * T; i++) tok[i] = (int)rlvr_rng_below(&rng, (uint64_t)V);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) tgt[b * T + t] = (t + 1 < lens[b]) ? tok[b * T + t + 1] : -1;

  /* 1. decode at T vs forward at T. */
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m.cfg, B, T);
  rlvr_forward_set_temperature(&fs, TEMP);
  float lp_fwd[B * T], lp_dec[B * T];
  CHECK(rlvr_forward(&fs, &m, tok, lens, B, T, tgt, lp_fwd, NULL, NULL) == RLVR_OK);
  memset(lp_dec, 0, sizeof lp_dec);
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &m.cfg, B, T, 16);
  float *logits = malloc(sizeof(float) * B * V), *scratch = malloc(sizeof(float) * V);
  int slots[B] = {1, 0}, plens[B] = {TP, TP};
  CHECK(rlvr_decode_prefill(&ds, &m, slots, tok, plens, B, T, logits) == RLVR_OK);
  for (int t = TP - 1; t < T - 1; t++) {
    int act[B], nxt[B], n = 0;
    for (int b = 0; b < B; b++) {
      if (t + 1 >= lens[b]) continue;
      float *row = logits + (size_t)b * V;
      rlvr_logits_temperature(row, V, TEMP);
      lp_dec[b * T + t] = rlvr_decode_logprob(row, V, tok[b * T + t + 1], scratch);
    }
    for (int b = 0; b < B; b++)
      if (t + 2 < lens[b]) act[n] = slots[b], nxt[n++] = tok[b * T + t + 1];
    if (!n) break;
    /* logits rows come back in the order of act: remap to b */
    float *tmp = malloc(sizeof(float) * n * V);
    CHECK(rlvr_decode_step(&ds, &m, act, nxt, n, tmp) == RLVR_OK);
    for (int i = 0, b = 0; b < B; b++)
      if (t + 2 < lens[b]) memcpy(logits + (size_t)b * V, tmp + (size_t)i++ * V, sizeof(float) * V);
    free(tmp);
  }
  double maxd = 0;
  int compared = 0;
  for (int b = 0; b < B; b++)
    for (int t = TP - 1; t + 1 < lens[b]; t++, compared++) {
      double d = fabs((double)lp_fwd[b * T + t] - lp_dec[b * T + t]);
      if (d > maxd || d != d) maxd = d;
    }
  printf("decode vs forward at T=%.2f: max |diff| %.3g over %d tokens\n", TEMP, maxd, compared);
  CHECK(maxd == 0.0 && compared > 20);
  /* and T changes them (the test would pass vacuously otherwise) */
  rlvr_forward_set_temperature(&fs, 1.0f);
  float lp1[B * T];
  CHECK(rlvr_forward(&fs, &m, tok, lens, B, T, tgt, lp1, NULL, NULL) == RLVR_OK);
  CHECK(lp1[3] != lp_fwd[3]);

  /* 2. backward at T vs T = 1 with lm_head / T. */
  float w[B * T], u[B * T];
  for (int i = 0; i < B * T; i++) w[i] = rlvr_rng_float(&rng) - 0.5f, u[i] = 0.3f * (rlvr_rng_float(&rng) - 0.5f);
  float *g_t = calloc(m.num_params, sizeof(float)), *g_1 = calloc(m.num_params, sizeof(float));
  rlvr_forward_set_temperature(&fs, TEMP);
  objective(&fs, &m, tok, lens, tgt, w, u);
  rlvr_backward(&fs, &m, w, u, g_t);
  rlvr_model ms;
  rlvr_model_alloc(&ms, &m.cfg);
  memcpy(ms.params_memory, m.params_memory, sizeof(float) * m.num_params);
  const size_t VC = (size_t)V * m.cfg.hidden_size;
  for (size_t i = 0; i < VC; i++) ms.params.lm_head[i] = m.params.lm_head[i] / TEMP;
  rlvr_forward_set_temperature(&fs, 1.0f);
  objective(&fs, &ms, tok, lens, tgt, w, u);
  rlvr_backward(&fs, &ms, w, u, g_1);
  const size_t head_off = (size_t)(m.params.lm_head - m.params_memory);
  for (size_t i = 0; i < VC; i++) g_1[head_off + i] /= TEMP;
  /* Tolerance: the two forwards differ by the rounding of W/T vs z/T (a few
   * ulp per logit), which moves gradients by ~1e-6 of their scale. */
  CHECK_CLOSE("grad at T vs grad with lm_head/T", g_t, g_1, m.num_params, 2e-6, 2e-4);

  /* 3. finite differences along a random direction d (normalised per
   * element scale), in float: eps 1e-3 leaves ~1e-3 relative error. */
  rlvr_forward_set_temperature(&fs, TEMP);
  float *d = malloc(sizeof(float) * m.num_params), *p0 = malloc(sizeof(float) * m.num_params);
  memcpy(p0, m.params_memory, sizeof(float) * m.num_params);
  double gd = 0;
  for (size_t i = 0; i < m.num_params; i++) {
    d[i] = rlvr_rng_normal(&rng);
    gd += (double)g_t[i] * d[i];
  }
  const float eps = 1e-3f;
  for (size_t i = 0; i < m.num_params; i++) m.params_memory[i] = p0[i] + eps * d[i];
  double fp = objective(&fs, &m, tok, lens, tgt, w, u);
  for (size_t i = 0; i < m.num_params; i++) m.params_memory[i] = p0[i] - eps * d[i];
  double fm = objective(&fs, &m, tok, lens, tgt, w, u);
  memcpy(m.params_memory, p0, sizeof(float) * m.num_params);
  double fd = (fp - fm) / (2.0 * eps);
  printf("directional derivative: backward %.6g, finite difference %.6g (rel diff %.3g)\n", gd, fd,
         fabs(gd - fd) / fabs(gd));
  CHECK(fabs(gd - fd) <= 2e-2 * fabs(gd) && fabs(gd) > 1e-3);

  free(d), free(p0), free(g_t), free(g_1), free(logits), free(scratch);
  rlvr_model_free(&ms);
  rlvr_decode_free(&ds);
  rlvr_forward_free(&fs);
  rlvr_model_free(&m);
  return test_done();
}
