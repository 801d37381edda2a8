/* fake_source.h — a scripted logits source for the rollout tests: a "model"
 * that writes the text a test asks for, so that budget forcing, stop strings
 * and finish reasons can be forced and checked exactly.
 *
 * The fake keeps each slot's token history, exactly as a KV cache would
 * (prefill, step, copy and truncate act on it), and derives the next token
 * from that history alone: the completion so far is the bytes of the tokens
 * after the prompt; the test's target(prompt, completion) callback returns
 * the text the completion should become; the next token is the longest
 * vocabulary token whose bytes continue the completion towards the target
 * (greedy longest match), or EOS when the completion is the whole target or
 * has left it. Its logits are 0 everywhere and `peak` at that token, so
 * greedy sampling follows the script. Because it reads its own history, a
 * wrong cache truncation or copy in the engine changes what it writes. */
#ifndef RLVR_TEST_FAKE_SOURCE_H
#define RLVR_TEST_FAKE_SOURCE_H

#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"
#include "rollout/engine.h"

typedef const char *(*fake_target_fn)(const char *prompt, const char *completion, void *user);

typedef struct {
  const rlvr_tokenizer *tok;
  int V, S, max_seq, eos;
  int **hist; /* (S, max_seq) */
  int *len, *nprompt;
  fake_target_fn target;
  void *user;
  float peak;
  int fork_a, fork_b; /* >= 0: the first completion token is one of these two, equally likely */
  int prefills, steps, copies, truncates;
  char buf_p[4096], buf_c[4096];
  rlvr_logits_source src;
} fake_source;

static int fake_bytes(const fake_source *f, const int *ids, int n, char *out, size_t cap) {
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    const char *b;
    size_t len;
    if (rlvr_tokenizer_token_bytes(f->tok, ids[i], &b, &len) != 0) continue;
    if (rlvr_tokenizer_is_special(f->tok, ids[i])) continue;
    if (k + len >= cap) break;
    memcpy(out + k, b, len);
    k += len;
  }
  out[k] = 0;
  return (int)k;
}

static int fake_next(fake_source *f, int s) {
  fake_bytes(f, f->hist[s], f->nprompt[s], f->buf_p, sizeof f->buf_p);
  const int nc = fake_bytes(f, f->hist[s] + f->nprompt[s], f->len[s] - f->nprompt[s], f->buf_c, sizeof f->buf_c);
  const char *t = f->target(f->buf_p, f->buf_c, f->user);
  const size_t nt = strlen(t);
  if ((size_t)nc >= nt || memcmp(t, f->buf_c, (size_t)nc) != 0) return f->eos;
  int best = f->eos;
  size_t best_len = 0;
  for (int id = 0; id < f->V; id++) {
    const char *b;
    size_t len;
    if (rlvr_tokenizer_token_bytes(f->tok, id, &b, &len) != 0 || len == 0) continue;
    if (rlvr_tokenizer_is_special(f->tok, id)) continue;
    if (len > best_len && (size_t)nc + len <= nt && memcmp(t + nc, b, len) == 0) best = id, best_len = len;
  }
  return best;
}

static void fake_logits(fake_source *f, int s, float *row) {
  for (int j = 0; j < f->V; j++) row[j] = 0.0f;
  if (f->fork_a >= 0 && f->len[s] == f->nprompt[s]) {
    row[f->fork_a] = row[f->fork_b] = f->peak;
    return;
  }
  row[fake_next(f, s)] = f->peak;
}

static int fake_prefill(void *ctx, const int *slots, const int *tokens, const int *lens, int B, int T, float *logits) {
  fake_source *f = ctx;
  for (int b = 0; b < B; b++) {
    const int s = slots[b];
    memcpy(f->hist[s], tokens + (size_t)b * T, sizeof(int) * (size_t)lens[b]);
    f->len[s] = f->nprompt[s] = lens[b];
    fake_logits(f, s, logits + (size_t)b * f->V);
    f->prefills++;
  }
  return RLVR_OK;
}

static int fake_step(void *ctx, const int *slots, const int *tokens, int n, float *logits) {
  fake_source *f = ctx;
  for (int i = 0; i < n; i++) {
    const int s = slots[i];
    if (f->len[s] >= f->max_seq) return rlvr_error(RLVR_ERR_RANGE, "fake: slot %d full", s);
    f->hist[s][f->len[s]++] = tokens[i];
    fake_logits(f, s, logits + (size_t)i * f->V);
  }
  f->steps++;
  return RLVR_OK;
}

static void fake_copy(void *ctx, int src, int dst, int len) {
  fake_source *f = ctx;
  memcpy(f->hist[dst], f->hist[src], sizeof(int) * (size_t)len);
  f->len[dst] = len;
  f->nprompt[dst] = len; /* the engine copies prompts only */
  f->copies++;
}

static void fake_truncate(void *ctx, int slot, int len) {
  fake_source *f = ctx;
  if (len < f->nprompt[slot] || len > f->len[slot]) abort(); /* the engine's invariant */
  f->len[slot] = len;
  f->truncates++;
}

static void fake_init(fake_source *f, const rlvr_tokenizer *tok, int V, int S, int max_seq, int eos,
                      fake_target_fn target, void *user) {
  memset(f, 0, sizeof *f);
  f->tok = tok, f->V = V, f->S = S, f->max_seq = max_seq, f->eos = eos;
  f->target = target, f->user = user, f->peak = 20.0f;
  f->fork_a = f->fork_b = -1;
  f->hist = calloc((size_t)S, sizeof *f->hist);
  for (int s = 0; s < S; s++) f->hist[s] = calloc((size_t)max_seq, sizeof(int));
  f->len = calloc((size_t)S, sizeof(int));
  f->nprompt = calloc((size_t)S, sizeof(int));
  f->src = (rlvr_logits_source){.ctx = f, .vocab_size = V, .slots = S, .max_seq = max_seq, .max_rows = S,
                                .prefill = fake_prefill, .step = fake_step, .copy = fake_copy,
                                .truncate = fake_truncate};
}

static void fake_free(fake_source *f) {
  for (int s = 0; s < f->S; s++) free(f->hist[s]);
  free(f->hist), free(f->len), free(f->nprompt);
}

/* The bytes of a sample's completion (no special tokens) into out. */
static inline void sample_text(const rlvr_tokenizer *tok, const rlvr_engine_sample *o, char *out, size_t cap) {
  size_t k = 0;
  for (int i = 0; i < o->ntokens; i++) {
    const char *b;
    size_t len;
    if (rlvr_tokenizer_token_bytes(tok, o->tokens[i], &b, &len) != 0 || rlvr_tokenizer_is_special(tok, o->tokens[i]))
      continue;
    if (k + len >= cap) break;
    memcpy(out + k, b, len);
    k += len;
  }
  out[k] = 0;
}

#endif
