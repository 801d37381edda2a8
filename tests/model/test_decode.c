/* test_decode.c — KV-cache decoding against transformers' own cached decode
 * (tests/ref/make_model_fixtures.py, "dec.*"), and the exactness property:
 * the log-probs, entropies and logits decode computes for a token equal the
 * full forward's bit for bit (docs/model.md, "Exactness"), whatever the
 * slots, the prefill chunking or the batch.
 *
 * Three sequences with prompts of lengths 5, 9, 2 and continuations of 6, 3,
 * 8 tokens (so they finish at different steps) are decoded together, in
 * permuted slots of a cache with more slots than sequences. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/kernels.h"
#include "model_ref.h"
#include "testing.h"

enum { NSEQ = 3 };

typedef struct {
  int Tp, S;
  int *ptok, *plen, *ctok, *clen;
  float *logits; /* sum_b (1 + clen[b]) rows of V */
} dec_ref;

/* Decodes the fixture's sequences with the given prefill chunk size, checks
 * every step's logits against transformers (tol), and returns in lp/ent/z
 * (NSEQ, Tp + S) the log-probs and entropies of each next token and the
 * logits at every position decode produced them for (0 elsewhere). */
static void run_decode(const rlvr_model *m, const dec_ref *r, int max_rows, double tol, float *lp, float *ent,
                       float *z, const char *what) {
  const int V = m->cfg.vocab_size, TT = r->Tp + r->S;
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &m->cfg, 5, TT + 1, max_rows);
  const int slots[NSEQ] = {3, 0, 4};
  float *logits = malloc(sizeof(float) * NSEQ * V), *scratch = malloc(sizeof(float) * V);
  float *got = malloc(sizeof(float) * NSEQ * (r->S + 1) * V), *want = malloc(sizeof(float) * NSEQ * (r->S + 1) * V);
  size_t ng = 0;
  memset(lp, 0, sizeof(float) * NSEQ * TT), memset(ent, 0, sizeof(float) * NSEQ * TT);
  memset(z, 0, sizeof(float) * NSEQ * TT * V);
  CHECK(rlvr_decode_prefill(&ds, m, slots, r->ptok, r->plen, NSEQ, r->Tp, logits) == RLVR_OK);
  /* ref row of (b, step): b's block starts after the blocks of sequences before it */
  size_t start[NSEQ];
  for (int b = 0, acc = 0; b < NSEQ; b++) start[b] = (size_t)acc, acc += 1 + r->clen[b];
  /* record(b, i, row): logits row for sequence b after its first plen+i tokens */
#define RECORD(b, i, row)                                                                          \
  do {                                                                                             \
    const int p_ = r->plen[b] + (i)-1; /* position whose next token these logits predict */       \
    memcpy(got + ng * V, (row), sizeof(float) * V);                                               \
    memcpy(want + ng * V, r->logits + (start[b] + (i)) * V, sizeof(float) * V);                    \
    ng++;                                                                                          \
    memcpy(z + ((size_t)(b)*TT + p_) * V, (row), sizeof(float) * V);                              \
    float lse_, ent_;                                                                              \
    rlvr_logsoftmax_row((row), V, &lse_, &ent_, scratch);                                          \
    ent[(b)*TT + p_] = ent_;                                                                       \
    if ((i) < r->clen[b]) lp[(b)*TT + p_] = rlvr_decode_logprob((row), V, r->ctok[(b)*r->S + (i)], scratch); \
  } while (0)
  for (int b = 0; b < NSEQ; b++) RECORD(b, 0, logits + (size_t)b * V);
  for (int step = 0; step < r->S; step++) {
    int act_slots[NSEQ], toks[NSEQ], who[NSEQ], n = 0;
    for (int b = NSEQ - 1; b >= 0; b--) /* a different order than the prefill's */
      if (step < r->clen[b]) act_slots[n] = slots[b], toks[n] = r->ctok[b * r->S + step], who[n] = b, n++;
    if (!n) break;
    CHECK(rlvr_decode_step(&ds, m, act_slots, toks, n, logits) == RLVR_OK);
    for (int i = 0; i < n; i++) {
      const int b = who[i];
      CHECK(rlvr_decode_slot_len(&ds, slots[b]) == r->plen[b] + step + 1);
      RECORD(b, step + 1, logits + (size_t)i * V);
    }
  }
#undef RECORD
  CHECK_CLOSE(what, got, want, ng * V, tol, 1e-5);

  /* A copied slot continues exactly as the original: step both with the same
   * token and compare the logits bit for bit; a truncated one as if it had
   * never seen the rest. */
  {
    const int s0 = slots[0], spare = 2, tok1 = 17; /* slot 2 is unused, 1 must stay empty */
    const int len0 = rlvr_decode_slot_len(&ds, s0);
    rlvr_decode_copy_slot(&ds, s0, spare, len0);
    CHECK(rlvr_decode_slot_len(&ds, spare) == len0);
    int two_slots[2] = {s0, spare}, two_toks[2] = {tok1, tok1};
    float *l2 = malloc(sizeof(float) * 2 * V);
    CHECK(rlvr_decode_step(&ds, m, two_slots, two_toks, 2, l2) == RLVR_OK);
    CHECK_MSG(!memcmp(l2, l2 + V, sizeof(float) * V), "%s: a copied slot decodes differently", what);
    /* truncate both back to len0 - 1 and feed the same token again */
    rlvr_decode_truncate(&ds, s0, len0 - 1);
    rlvr_decode_copy_slot(&ds, s0, spare, len0 - 2);
    rlvr_decode_truncate(&ds, s0, len0 - 2);
    CHECK(rlvr_decode_step(&ds, m, two_slots, two_toks, 2, l2) == RLVR_OK);
    CHECK(!memcmp(l2, l2 + V, sizeof(float) * V));
    free(l2);
  }

  /* Errors change nothing. */
  {
    int bad_tok = V, s0 = slots[0], s1[2] = {slots[1], slots[1]}, t2[2] = {1, 1}, empty = 1, out_of = 5;
    const int len_before = rlvr_decode_slot_len(&ds, s0);
    CHECK(rlvr_decode_step(&ds, m, &s0, &bad_tok, 1, logits) == RLVR_ERR_RANGE);
    CHECK(rlvr_decode_step(&ds, m, s1, t2, 2, logits) == RLVR_ERR_ARG);
    CHECK(rlvr_decode_step(&ds, m, &empty, t2, 1, logits) == RLVR_ERR_ARG); /* slot 1 never prefilled */
    CHECK(rlvr_decode_step(&ds, m, &out_of, t2, 1, logits) == RLVR_ERR_ARG);
    int zero_len = 0;
    CHECK(rlvr_decode_prefill(&ds, m, &s0, r->ptok, &zero_len, 1, r->Tp, logits) == RLVR_ERR_RANGE);
    CHECK(rlvr_decode_slot_len(&ds, s0) == len_before);
    /* Filling a slot to max_seq, then one more is an error. */
    while (rlvr_decode_slot_len(&ds, s0) < TT + 1) CHECK(rlvr_decode_step(&ds, m, &s0, t2, 1, logits) == RLVR_OK);
    CHECK(rlvr_decode_step(&ds, m, &s0, t2, 1, logits) == RLVR_ERR_RANGE);
  }
  free(logits), free(scratch), free(got), free(want);
  rlvr_decode_free(&ds);
  rlvr_decode_free(&ds);
}

static void test_model(const char *name) {
  printf("== %s\n", name);
  rlvr_model m;
  rlvr_safetensors st;
  ref_open(name, &m, &st);
  const int V = m.cfg.vocab_size;
  dec_ref r;
  r.ptok = ref_ints(&st, "dec.prompt_tokens", NULL);
  r.plen = ref_ints(&st, "dec.prompt_lens", NULL);
  r.ctok = ref_ints(&st, "dec.cont_tokens", NULL);
  r.clen = ref_ints(&st, "dec.cont_lens", NULL);
  r.logits = ref_floats(&st, "dec.logits", NULL);
  r.Tp = (int)ref_tensor(&st, "dec.prompt_tokens")->shape[1];
  r.S = (int)ref_tensor(&st, "dec.cont_tokens")->shape[1];
  const int TT = r.Tp + r.S;
  /* Same tolerance reasoning as test_forward.c: Llama's logits are larger. */
  const double tol = strstr(name, "llama") ? 1e-4 : 2e-5;

  float *lp = malloc(sizeof(float) * NSEQ * TT), *ent = malloc(sizeof(float) * NSEQ * TT);
  float *z = malloc(sizeof(float) * NSEQ * TT * V);
  char what[128];
  snprintf(what, sizeof what, "%s decode logits vs transformers (whole prompts per call)", name);
  run_decode(&m, &r, 64, tol, lp, ent, z, what);
  float *lp2 = malloc(sizeof(float) * NSEQ * TT), *ent2 = malloc(sizeof(float) * NSEQ * TT);
  float *z2 = malloc(sizeof(float) * NSEQ * TT * V);
  snprintf(what, sizeof what, "%s decode logits vs transformers (prefill in chunks of 4 rows)", name);
  run_decode(&m, &r, 4, tol, lp2, ent2, z2, what);
  CHECK_MSG(!memcmp(lp, lp2, sizeof(float) * NSEQ * TT) && !memcmp(z, z2, sizeof(float) * NSEQ * TT * V),
            "%s: prefill chunking changes the results", name);

  /* The full forward over prompt + continuation, as the learner would run
   * it: each decoded token's log-prob, entropy and logits, bit for bit. */
  int *tokens = calloc((size_t)NSEQ * TT, sizeof(int)), *targets = malloc(sizeof(int) * NSEQ * TT), lens[NSEQ];
  for (int b = 0; b < NSEQ; b++) {
    lens[b] = r.plen[b] + r.clen[b];
    for (int t = 0; t < r.plen[b]; t++) tokens[b * TT + t] = r.ptok[b * r.Tp + t];
    for (int t = 0; t < r.clen[b]; t++) tokens[b * TT + r.plen[b] + t] = r.ctok[b * r.S + t];
    for (int t = 0; t < TT; t++) targets[b * TT + t] = t + 1 < lens[b] ? tokens[b * TT + t + 1] : -1;
  }
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m.cfg, NSEQ + 1, TT);
  float *flp = malloc(sizeof(float) * NSEQ * TT), *fent = malloc(sizeof(float) * NSEQ * TT);
  float *fz = malloc(sizeof(float) * NSEQ * TT * V);
  CHECK(rlvr_forward(&fs, &m, tokens, lens, NSEQ, TT, targets, flp, fent, fz) == RLVR_OK);
  int n_cmp = 0, n_diff = 0;
  double maxd = 0;
  for (int b = 0; b < NSEQ; b++)
    for (int p = r.plen[b] - 1; p < lens[b]; p++) {
      const size_t i = (size_t)b * TT + p;
      const int same = (p == lens[b] - 1 || flp[i] == lp[i]) && fent[i] == ent[i] &&
                       !memcmp(fz + i * V, z + i * V, sizeof(float) * V);
      if (p < lens[b] - 1) maxd = fmax(maxd, fabs((double)flp[i] - lp[i]));
      n_cmp++, n_diff += !same;
    }
  printf("     %s: %d decoded positions, %d differ from the forward (max |logprob diff| %.3g)\n", name, n_cmp, n_diff,
         maxd);
  CHECK_MSG(n_diff == 0, "%s: decode and forward disagree at %d of %d positions", name, n_diff, n_cmp);

  /* Nor does the thread count change a bit of it. */
  {
    float *lp1 = malloc(sizeof(float) * NSEQ * TT), *z1 = malloc(sizeof(float) * NSEQ * TT * V);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(rlvr_forward(&fs, &m, tokens, lens, NSEQ, TT, targets, lp1, NULL, z1) == RLVR_OK);
    omp_set_num_threads(threads);
    CHECK_MSG(!memcmp(lp1, flp, sizeof(float) * NSEQ * TT) && !memcmp(z1, fz, sizeof(float) * NSEQ * TT * V),
              "%s: one thread and %d threads disagree", name, threads);
    free(lp1), free(z1);
  }

  free(tokens), free(targets), free(flp), free(fent), free(fz);
  free(lp), free(ent), free(z), free(lp2), free(ent2), free(z2);
  free(r.ptok), free(r.plen), free(r.ctok), free(r.clen), free(r.logits);
  rlvr_forward_free(&fs);
  rlvr_model_free(&m);
  rlvr_safetensors_close(&st);
}

/* Exactness where the tiny fixtures cannot reach: a random model whose
 * products take the other kernel paths (K = F > 1024 stages its output,
 * several row tiles and tasks, more than one 32-token panel in the forward
 * but not in decode), GQA with 3 query heads per kv head, odd sizes. Decode
 * feeds forced tokens to 3 sequences of different lengths in 4 steps of
 * prefill chunks, then compares with one forward over the whole sequences. */
static void test_random_exactness(void) {
  rlvr_model_config c = {.arch = RLVR_ARCH_QWEN2, .vocab_size = 701, .hidden_size = 120, .intermediate_size = 1100,
                         .num_layers = 2, .num_heads = 6, .num_kv_heads = 2, .head_dim = 20, .max_position = 256,
                         .rope_theta = 1e4, .rms_eps = 1e-6, .tie_embeddings = 0, .attn_bias = 1, .qk_norm = 1,
                         .bos_token_id = -1};
  rlvr_model m;
  rlvr_model_init_random(&m, &c, 7);
  for (size_t i = 0; i < m.num_params; i++) m.params_memory[i] *= 20.0f; /* O(1) activations */
  enum { B = 3, T = 90 };
  const int plen[B] = {40, 7, 65}, total[B] = {90, 50, 80};
  int *tokens = calloc(B * T, sizeof(int)), *targets = malloc(sizeof(int) * B * T);
  rlvr_rng r;
  rlvr_rng_seed(&r, 11);
  for (int i = 0; i < B * T; i++) tokens[i] = (int)rlvr_rng_below(&r, (uint64_t)c.vocab_size);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) targets[b * T + t] = t + 1 < total[b] ? tokens[b * T + t + 1] : -1;
  const int V = c.vocab_size;
  float *flp = malloc(sizeof(float) * B * T), *fz = malloc(sizeof(float) * B * T * V);
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &c, B, T);
  CHECK(rlvr_forward(&fs, &m, tokens, total, B, T, targets, flp, NULL, fz) == RLVR_OK);

  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &c, B, T, 30); /* prefill in chunks of 30 rows */
  const int slots[B] = {2, 1, 0};
  float *logits = malloc(sizeof(float) * B * V), *scratch = malloc(sizeof(float) * V);
  CHECK(rlvr_decode_prefill(&ds, &m, slots, tokens, plen, B, T, logits) == RLVR_OK);
  int pos[B], diff = 0, n_cmp = 0;
  for (int b = 0; b < B; b++) pos[b] = plen[b] - 1; /* position the logits row belongs to */
  float *cur = malloc(sizeof(float) * B * V);
  memcpy(cur, logits, sizeof(float) * B * V);
  int who[B], n = B;
  for (int b = 0; b < B; b++) who[b] = b;
  while (n > 0) {
    int st[B], tk[B], nn = 0;
    for (int i = 0; i < n; i++) {
      const int b = who[i], p = pos[b];
      const float *row = cur + (size_t)i * V;
      n_cmp++;
      if (memcmp(row, fz + ((size_t)b * T + p) * V, sizeof(float) * V)) diff++;
      if (p + 1 < total[b]) {
        if (rlvr_decode_logprob(row, V, tokens[b * T + p + 1], scratch) != flp[b * T + p]) diff++;
        st[nn] = slots[b], tk[nn] = tokens[b * T + p + 1], who[nn] = b, nn++;
        pos[b]++;
      }
    }
    n = nn;
    if (n) CHECK(rlvr_decode_step(&ds, &m, st, tk, n, cur) == RLVR_OK);
  }
  printf("     random model: %d decoded positions, %d differ from the forward\n", n_cmp, diff);
  CHECK_MSG(diff == 0, "random model: decode and forward disagree at %d of %d positions", diff, n_cmp);
  free(tokens), free(targets), free(flp), free(fz), free(logits), free(scratch), free(cur);
  rlvr_decode_free(&ds);
  rlvr_forward_free(&fs);
  rlvr_model_free(&m);
}

int main(void) {
  for (int i = 0; i < REF_NUM_MODELS; i++) test_model(ref_models[i]);
  test_random_exactness();
  return test_done();
}
