/* engine.c — continuous-batching generation over an rlvr_logits_source; see
 * engine.h for the contract.
 *
 * The loop, one iteration per step call:
 *   1. admit: every free slot takes the next pending sample. The first new
 *      sample of a group with no sample running is its group's leader and is
 *      prefilled (all leaders of the iteration in one prefill call); the
 *      others copy the prompt's cache rows from a slot that holds them (a
 *      running sibling or this iteration's leader) and its prompt logits.
 *   2. decide: each occupied slot either emits the next inserted token
 *      (budget forcing text) or samples one from its current logits row,
 *      then checks the ends (eos, think_end, stop strings, max_tokens, the
 *      thinking cap). A slot that goes on has one input token for the step.
 *   3. step: one call appends every slot's input token and gives each its
 *      next logits row.
 * When the source samples (src->sample), step 2 runs in three passes over
 * the slots in order: inserted tokens and the uniforms of the slots that
 * sample; one sample call; the ends of each sampled token. Decisions are
 * independent between slots, so the order of the passes changes nothing
 * but who computes the token; the host logits buffers are not allocated.
 * Invariant: an occupied slot's cache holds its prompt and every completion
 * token but the last (the last is the next step's input), so taking back k
 * tokens truncates the cache to prompt + ntokens - k positions.
 *
 * Byte matching (stop strings, think_end) runs on a per-slot window of the
 * completion's most recent bytes, long enough to hold any pattern plus the
 * tokens that can overlap it; a pattern counts when it ends within the bytes
 * of the token just sampled, so each occurrence is seen exactly once. */
#include "rollout/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/logprob.h"
#include "model/sampler.h"

/* ------------------------------------------------------------------------ */
/* The model as a logits source                                             */
/* ------------------------------------------------------------------------ */

static int ms_prefill(void *ctx, const int *slots, const int *tokens, const int *lens, int B, int T, float *logits) {
  rlvr_model_source *ms = ctx;
  return rlvr_decode_prefill(&ms->ds, ms->model, slots, tokens, lens, B, T, logits);
}

static int ms_step(void *ctx, const int *slots, const int *tokens, int n, float *logits) {
  rlvr_model_source *ms = ctx;
  return rlvr_decode_step(&ms->ds, ms->model, slots, tokens, n, logits);
}

/* The cache is (L, slots, max_seq, KVH*D) for keys and for values: a slot's
 * first len positions are one contiguous run of len * KVH*D floats per layer. */
static void ms_copy(void *ctx, int src, int dst, int len) {
  rlvr_model_source *ms = ctx;
  rlvr_decode_state *ds = &ms->ds;
  RLVR_CHECK(src != dst && src >= 0 && dst >= 0 && src < ds->max_batch && dst < ds->max_batch);
  RLVR_CHECK(len >= 1 && len <= ds->slot_len[src], "copy %d positions, slot %d holds %d", len, src, ds->slot_len[src]);
  const size_t KD = (size_t)ds->cfg.num_kv_heads * ds->cfg.head_dim;
  const size_t layer = (size_t)ds->max_batch * ds->max_seq * KD, row = (size_t)ds->max_seq * KD;
  for (int l = 0; l < ds->cfg.num_layers; l++) {
    memcpy(ds->k_cache + l * layer + dst * row, ds->k_cache + l * layer + src * row, sizeof(float) * len * KD);
    memcpy(ds->v_cache + l * layer + dst * row, ds->v_cache + l * layer + src * row, sizeof(float) * len * KD);
  }
  ds->slot_len[dst] = len;
}

/* Positions past slot_len are never read (attention stops at the row's own
 * position), so forgetting them is setting the length. */
static void ms_truncate(void *ctx, int slot, int len) {
  rlvr_model_source *ms = ctx;
  RLVR_CHECK(slot >= 0 && slot < ms->ds.max_batch && len >= 1 && len <= ms->ds.slot_len[slot]);
  ms->ds.slot_len[slot] = len;
}

void rlvr_model_source_build(rlvr_model_source *ms, const rlvr_model *m, int slots, int max_seq) {
  memset(ms, 0, sizeof *ms);
  /* Prefill chunks of up to 256 rows keep the products efficient; steps
   * need one row per slot. */
  const int max_rows = slots > 256 ? slots : 256;
  rlvr_decode_build(&ms->ds, &m->cfg, slots, max_seq, max_rows);
  ms->model = m;
  ms->src = (rlvr_logits_source){
      .ctx = ms, .vocab_size = m->cfg.vocab_size, .slots = slots, .max_seq = max_seq, .max_rows = max_rows,
      .prefill = ms_prefill, .step = ms_step, .copy = ms_copy, .truncate = ms_truncate,
  };
}

void rlvr_model_source_free(rlvr_model_source *ms) {
  if (!ms) return;
  rlvr_decode_free(&ms->ds);
  memset(ms, 0, sizeof *ms);
}

/* ------------------------------------------------------------------------ */
/* Parameters                                                               */
/* ------------------------------------------------------------------------ */

const char *rlvr_engine_finish_name(rlvr_engine_finish f) {
  switch (f) {
  case RLVR_ENGINE_EOS: return "eos";
  case RLVR_ENGINE_STOP: return "stop";
  case RLVR_ENGINE_LENGTH: return "length";
  case RLVR_ENGINE_BUDGET: return "budget";
  }
  return "?";
}

void rlvr_engine_params_default(rlvr_engine_params *p) {
  memset(p, 0, sizeof *p);
  p->temperature = 0.0f;
  p->top_p = 1.0f;
  p->max_tokens = 64;
  p->max_waits = 1;
  p->think_end = "</think>";
  p->wait_text = "Wait";
  p->answer_prefix = " </think> <answer>";
}

int rlvr_engine_params_validate(const rlvr_engine_params *p) {
  rlvr_sampling sp = {p->temperature, p->top_k, p->top_p};
  int rc = rlvr_sampling_validate(&sp);
  if (rc) return rc;
  if (p->max_tokens < 1) return rlvr_error(RLVR_ERR_CONFIG, "max_tokens must be >= 1, is %d", p->max_tokens);
  if (p->nstop < 0 || p->nstop > RLVR_ENGINE_MAX_STOP)
    return rlvr_error(RLVR_ERR_CONFIG, "%d stop strings, at most %d", p->nstop, RLVR_ENGINE_MAX_STOP);
  for (int i = 0; i < p->nstop; i++)
    if (!p->stop[i] || !p->stop[i][0]) return rlvr_error(RLVR_ERR_CONFIG, "stop string %d is empty", i);
  if (p->budget) {
    if (p->min_think_tokens < 0 || p->max_waits < 0 || p->max_think_tokens < 0)
      return rlvr_error(RLVR_ERR_CONFIG, "budget: min_think_tokens %d, max_waits %d, max_think_tokens %d must be >= 0",
                        p->min_think_tokens, p->max_waits, p->max_think_tokens);
    if (!p->think_end || !p->think_end[0]) return rlvr_error(RLVR_ERR_CONFIG, "budget: think_end is empty");
    if (p->min_think_tokens > 0 && p->max_waits > 0 && (!p->wait_text || !p->wait_text[0]))
      return rlvr_error(RLVR_ERR_CONFIG, "budget: wait_text is empty but min_think_tokens asks for waits");
    if (p->max_think_tokens > 0 && (!p->answer_prefix || !p->answer_prefix[0]))
      return rlvr_error(RLVR_ERR_CONFIG, "budget: answer_prefix is empty but max_think_tokens cuts the thinking");
  }
  return RLVR_OK;
}

static uint64_t mix64(uint64_t z) { /* splitmix64's finaliser */
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rlvr_engine_sample_seed(uint64_t seed, uint64_t group_id, int index) {
  return mix64(mix64(mix64(seed) ^ group_id) ^ (uint64_t)(uint32_t)index);
}

/* ------------------------------------------------------------------------ */
/* The engine                                                               */
/* ------------------------------------------------------------------------ */

enum { PHASE_THINK = 0, PHASE_ANSWER = 1 };

typedef struct {
  int sample;        /* index into out; -1 = free */
  int phase;         /* PHASE_* (budget forcing only) */
  int *forced;       /* (forced_cap) tokens to insert, [iforced, nforced) still due */
  int nforced, iforced;
  unsigned char *tail; /* (tail_cap) the completion's most recent bytes */
  int tail_len;
  rlvr_rng rng;
  const float *cur; /* (V) logits for the next decision (host sampling) */
  int next;         /* input token of the next step */
  double t0;
} slot_state;

struct rlvr_engine {
  rlvr_logits_source src;
  const rlvr_tokenizer *tok;
  int32_t *eos;
  int neos;
  int share;
  int V, S;
  const char **tb; /* (V) bytes of each id (NULL: none) */
  int *tblen;      /* (V) */
  int max_tok_bytes;

  rlvr_sampler sampler;
  float *scratch;        /* (2V) log-prob scratch */
  float *step_logits;    /* (S, V); NULL when the source samples, as the two below */
  float *prompt_logits;  /* (S, V) the prompt logits of each slot's sample */
  float *prefill_logits; /* (S, V) */
  /* Sampling on the source (on_source): one request per iteration. */
  int on_source;
  int *samp_slots, *samp_tokens; /* (S) */
  float *samp_lp;                /* (S) */
  double *samp_u;                /* (S) */
  rlvr_sampling *samp_params;    /* (S), all the request's */
  uint8_t *go;                   /* (S) 1: the slot's decision lets it go on */
  int *prefill_tokens;   /* (S, max_seq) */
  int *prefill_slots, *prefill_lens, *step_slots, *step_tokens, *new_slots, *src_of; /* (S) */
  uint8_t *is_new;       /* (S) */
  slot_state *slot;      /* (S) */

  /* Sized per request (grown, never shrunk). */
  int *forced_mem;
  size_t forced_cap; /* per slot */
  unsigned char *tail_mem;
  size_t tail_cap, tail_keep; /* per slot; compaction keeps the last tail_keep bytes */
  int32_t *wait_ids, *prefix_ids, *answer_ids;
  int nwait, nanswer;
  size_t prefix_cap;
  rlvr_engine_sample *out;
  size_t out_cap;
  int32_t *tok_mem;
  uint8_t *mask_mem;
  float *lp_mem;
  size_t tok_cap;

  void (*tick)(void *ctx);
  void *tick_ctx;
  int failed; /* an error code set by a decision; ends the request */
  const rlvr_engine_params *p; /* during a request */
  const rlvr_engine_group *groups;
  rlvr_engine_stats stats;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

rlvr_engine *rlvr_engine_build(const rlvr_logits_source *src, const rlvr_tokenizer *tok, const int32_t *eos,
                               int neos, int share_prefill) {
  RLVR_CHECK(src->vocab_size > 0 && src->slots > 0 && src->max_seq > 0 && src->max_rows >= src->slots);
  RLVR_CHECK(src->prefill && src->step && src->truncate && tok && neos >= 0);
  rlvr_engine *e = xcalloc(1, sizeof *e);
  e->src = *src;
  e->tok = tok;
  e->neos = neos;
  e->eos = xmalloc(sizeof(int32_t) * (size_t)(neos > 0 ? neos : 1));
  if (neos) memcpy(e->eos, eos, sizeof(int32_t) * (size_t)neos);
  e->share = share_prefill && src->copy != NULL;
  const int V = e->V = src->vocab_size, S = e->S = src->slots;
  e->tb = xcalloc((size_t)V, sizeof *e->tb);
  e->tblen = xcalloc((size_t)V, sizeof *e->tblen);
  for (int id = 0; id < V; id++) {
    const char *b;
    size_t n;
    if (rlvr_tokenizer_token_bytes(tok, id, &b, &n) == 0) {
      e->tb[id] = b;
      e->tblen[id] = (int)n;
      if ((int)n > e->max_tok_bytes) e->max_tok_bytes = (int)n;
    }
  }
  rlvr_sampler_init(&e->sampler, V);
  e->scratch = xmalloc(sizeof(float) * 2 * (size_t)V);
  e->on_source = src->sample != NULL;
  if (e->on_source) {
    e->samp_slots = xmalloc(sizeof(int) * (size_t)S);
    e->samp_tokens = xmalloc(sizeof(int) * (size_t)S);
    e->samp_lp = xmalloc(sizeof(float) * (size_t)S);
    e->samp_u = xmalloc(sizeof(double) * (size_t)S);
    e->samp_params = xmalloc(sizeof(rlvr_sampling) * (size_t)S);
    e->go = xmalloc((size_t)S);
  } else {
    e->step_logits = xmalloc(sizeof(float) * (size_t)S * V);
    e->prompt_logits = xmalloc(sizeof(float) * (size_t)S * V);
    e->prefill_logits = xmalloc(sizeof(float) * (size_t)S * V);
  }
  e->prefill_tokens = xmalloc(sizeof(int) * (size_t)S * src->max_seq);
  e->prefill_slots = xmalloc(sizeof(int) * (size_t)S);
  e->prefill_lens = xmalloc(sizeof(int) * (size_t)S);
  e->step_slots = xmalloc(sizeof(int) * (size_t)S);
  e->step_tokens = xmalloc(sizeof(int) * (size_t)S);
  e->new_slots = xmalloc(sizeof(int) * (size_t)S);
  e->src_of = xmalloc(sizeof(int) * (size_t)S);
  e->is_new = xmalloc((size_t)S);
  e->slot = xcalloc((size_t)S, sizeof *e->slot);
  for (int s = 0; s < S; s++) e->slot[s].sample = -1;
  return e;
}

void rlvr_engine_free(rlvr_engine *e) {
  if (!e) return;
  free(e->eos);
  free(e->tb);
  free(e->tblen);
  rlvr_sampler_free(&e->sampler);
  free(e->scratch);
  free(e->step_logits);
  free(e->prompt_logits);
  free(e->prefill_logits);
  free(e->samp_slots);
  free(e->samp_tokens);
  free(e->samp_lp);
  free(e->samp_u);
  free(e->samp_params);
  free(e->go);
  free(e->prefill_tokens);
  free(e->prefill_slots);
  free(e->prefill_lens);
  free(e->step_slots);
  free(e->step_tokens);
  free(e->new_slots);
  free(e->src_of);
  free(e->is_new);
  free(e->slot);
  free(e->forced_mem);
  free(e->tail_mem);
  free(e->wait_ids);
  free(e->prefix_ids);
  free(e->answer_ids);
  free(e->out);
  free(e->tok_mem);
  free(e->mask_mem);
  free(e->lp_mem);
  free(e);
}

void rlvr_engine_set_tick(rlvr_engine *e, void (*tick)(void *ctx), void *ctx) {
  e->tick = tick;
  e->tick_ctx = ctx;
}

void rlvr_engine_get_stats(const rlvr_engine *e, rlvr_engine_stats *st) { *st = e->stats; }

/* Encodes text (no special tokens added) into a malloc'ed array. */
static int encode_text(const rlvr_tokenizer *tok, const char *text, int32_t **ids, int *n) {
  size_t len = strlen(text), got = 0;
  int32_t *buf = NULL;
  if (len == 0) {
    *ids = xmalloc(sizeof(int32_t));
    *n = 0;
    return RLVR_OK;
  }
  int rc = rlvr_tokenizer_encode_alloc(tok, text, len, 0, &buf, &got);
  if (rc) return rlvr_error_wrap(rc, "encoding budget text '%s'", text);
  *ids = buf;
  *n = (int)got;
  return RLVR_OK;
}

/* Sizes the per-request buffers for p and the total number of samples. */
static int prepare_request(rlvr_engine *e, const rlvr_engine_params *p, size_t total) {
  free(e->wait_ids), free(e->answer_ids);
  e->wait_ids = e->answer_ids = NULL;
  e->nwait = e->nanswer = 0;
  size_t forced = 1;
  size_t max_pat = 1;
  for (int i = 0; i < p->nstop; i++)
    if (strlen(p->stop[i]) > max_pat) max_pat = strlen(p->stop[i]);
  if (p->budget) {
    int rc = encode_text(e->tok, p->wait_text ? p->wait_text : "", &e->wait_ids, &e->nwait);
    if (!rc) rc = encode_text(e->tok, p->answer_prefix ? p->answer_prefix : "", &e->answer_ids, &e->nanswer);
    if (rc) return rc;
    for (int i = 0; i < e->nwait; i++)
      if (e->wait_ids[i] < 0 || e->wait_ids[i] >= e->V) return rlvr_error(RLVR_ERR_RANGE, "budget wait_text encodes to id %d outside the vocabulary (%d)", e->wait_ids[i], e->V);
    for (int i = 0; i < e->nanswer; i++)
      if (e->answer_ids[i] < 0 || e->answer_ids[i] >= e->V) return rlvr_error(RLVR_ERR_RANGE, "budget answer_prefix encodes to id %d outside the vocabulary (%d)", e->answer_ids[i], e->V);
    /* A "min" insertion is the bytes of one token before think_end plus the wait text. */
    size_t prefix = rlvr_tokenizer_max_ids(e->tok, (size_t)e->max_tok_bytes);
    if (prefix + 1 > e->prefix_cap) {
      free(e->prefix_ids);
      e->prefix_cap = prefix + 1;
      e->prefix_ids = xmalloc(sizeof(int32_t) * e->prefix_cap);
    }
    forced = prefix + (size_t)e->nwait;
    if ((size_t)e->nanswer > forced) forced = (size_t)e->nanswer;
    if (strlen(p->think_end) > max_pat) max_pat = strlen(p->think_end);
  }
  if (forced > e->forced_cap) {
    free(e->forced_mem);
    e->forced_cap = forced;
    e->forced_mem = xmalloc(sizeof(int) * e->forced_cap * (size_t)e->S);
  }
  /* The window must hold a pattern and every token that overlaps it: the one
   * it ends in, the one it starts in, and any between (each >= 1 byte). */
  size_t keep = max_pat + 2 * (size_t)e->max_tok_bytes + 8;
  if (2 * keep > e->tail_cap) {
    free(e->tail_mem);
    e->tail_cap = 2 * keep;
    e->tail_mem = xmalloc(e->tail_cap * (size_t)e->S);
  }
  e->tail_keep = keep;
  for (int s = 0; s < e->S; s++) {
    e->slot[s].forced = e->forced_mem + (size_t)s * e->forced_cap;
    e->slot[s].tail = e->tail_mem + (size_t)s * e->tail_cap;
  }
  if (total > e->out_cap) {
    free(e->out);
    e->out = xmalloc(sizeof *e->out * total);
    e->out_cap = total;
  }
  size_t ntok = total * (size_t)p->max_tokens;
  if (ntok > e->tok_cap) {
    free(e->tok_mem), free(e->mask_mem), free(e->lp_mem);
    e->tok_mem = xmalloc(sizeof(int32_t) * ntok);
    e->mask_mem = xmalloc(ntok);
    e->lp_mem = xmalloc(sizeof(float) * ntok);
    e->tok_cap = ntok;
  }
  return RLVR_OK;
}

static int is_eos(const rlvr_engine *e, int tok) {
  for (int i = 0; i < e->neos; i++)
    if (e->eos[i] == tok) return 1;
  return 0;
}

static void tail_push(rlvr_engine *e, slot_state *st, int tok) {
  const int n = e->tblen[tok];
  if (n == 0) return;
  if ((size_t)st->tail_len + (size_t)n > e->tail_cap) {
    /* tail_cap = 2 * keep and n <= max_tok_bytes < keep: after keeping the
     * last keep bytes there is room. */
    memmove(st->tail, st->tail + st->tail_len - e->tail_keep, e->tail_keep);
    st->tail_len = (int)e->tail_keep;
  }
  memcpy(st->tail + st->tail_len, e->tb[tok], (size_t)n);
  st->tail_len += n;
}

/* The smallest end position e (exclusive, in the window) of pat that lies
 * within the last m bytes of the window; -1 if none. */
static int match_end(const slot_state *st, int m, const char *pat) {
  const int p = (int)strlen(pat);
  int first = st->tail_len - m + 1;
  if (first < p) first = p;
  for (int end = first; end <= st->tail_len; end++)
    if (memcmp(st->tail + end - p, pat, (size_t)p) == 0) return end;
  return -1;
}

static void emit(rlvr_engine *e, rlvr_engine_sample *o, int tok, int sampled, float lp) {
  o->tokens[o->ntokens] = tok;
  o->mask[o->ntokens] = (uint8_t)sampled;
  o->logprobs[o->ntokens] = lp;
  o->ntokens++;
  if (sampled) e->stats.tokens_sampled++;
  else e->stats.tokens_inserted++;
}

static void finish(rlvr_engine_sample *o, rlvr_engine_finish end) {
  o->end = end;
  o->finish = o->think_cut ? RLVR_ENGINE_BUDGET : end;
}

/* The thinking cap: once the thinking holds max_think_tokens tokens (and no
 * inserted text is still due), queue the answer prefix. */
static void check_think_cap(rlvr_engine *e, slot_state *st, rlvr_engine_sample *o) {
  const rlvr_engine_params *p = e->p;
  if (!p->budget || st->phase != PHASE_THINK || p->max_think_tokens <= 0) return;
  if (st->iforced < st->nforced || o->ntokens < p->max_think_tokens) return;
  st->phase = PHASE_ANSWER;
  o->think_cut = 1;
  o->think_tokens = o->ntokens;
  for (int i = 0; i < e->nanswer; i++) st->forced[i] = e->answer_ids[i];
  st->nforced = e->nanswer;
  st->iforced = 0;
}

/* Emits the next inserted token. Returns 1 if the sample goes on (st->next
 * set), 0 if it ended. */
static int emit_forced(rlvr_engine *e, slot_state *st, rlvr_engine_sample *o) {
  const int tok = st->forced[st->iforced++];
  emit(e, o, tok, 0, 0.0f);
  tail_push(e, st, tok);
  if (o->ntokens >= e->p->max_tokens) {
    finish(o, RLVR_ENGINE_LENGTH);
    return 0;
  }
  check_think_cap(e, st, o);
  st->next = tok;
  return 1;
}

/* think_end ended at window position end within the last sampled token.
 * Returns 1 when the budget "min" rule took the tokens back and queued the
 * wait text, 0 when the thinking ends here. */
static int budget_min(rlvr_engine *e, int s, slot_state *st, rlvr_engine_sample *o, int end) {
  const rlvr_engine_params *p = e->p;
  const int start = end - (int)strlen(p->think_end);
  const int need = st->tail_len - start; /* bytes from think_end's start to the window's end */
  int k = 0, sum = 0;
  while (sum < need && k < o->ntokens) sum += e->tblen[o->tokens[o->ntokens - 1 - k++]];
  const int kept = o->ntokens - k;
  if (kept >= p->min_think_tokens || o->waits >= p->max_waits) return 0;
  /* The first token taken back may hold bytes before think_end: keep them. */
  const int first = o->tokens[kept];
  const int nprefix = sum > need ? sum - need : 0;
  size_t np = 0;
  if (nprefix > 0) {
    if (rlvr_tokenizer_encode(e->tok, e->tb[first], (size_t)nprefix, 0, e->prefix_ids, e->prefix_cap, &np) != RLVR_OK)
      np = 0; /* cannot happen with prefix_cap from rlvr_tokenizer_max_ids; drop the bytes if it does */
  }
  /* The cache holds prompt + ntokens - 1; it must hold prompt + kept. */
  const int nprompt = e->groups[o->group].nprompt;
  if (k > 1) e->src.truncate(e->src.ctx, s, nprompt + kept);
  o->ntokens = kept;
  st->tail_len = st->tail_len >= sum ? st->tail_len - sum : 0;
  int n = 0;
  for (size_t i = 0; i < np; i++) st->forced[n++] = e->prefix_ids[i];
  for (int i = 0; i < e->nwait; i++) st->forced[n++] = e->wait_ids[i];
  st->nforced = n;
  st->iforced = 0;
  o->waits++;
  return 1;
}

static int decide_sampled(rlvr_engine *e, int s, int tok, float lp);

/* One decision for the sample in slot s: 1 = it goes on with st->next as the
 * step's input, 0 = it ended. */
static int decide(rlvr_engine *e, int s) {
  slot_state *st = &e->slot[s];
  rlvr_engine_sample *o = &e->out[st->sample];
  const rlvr_engine_params *p = e->p;
  if (st->iforced < st->nforced) return emit_forced(e, st, o);

  rlvr_sampling sp = {p->temperature, p->top_k, p->top_p};
  const int tok = rlvr_sampler_sample(&e->sampler, st->cur, &sp, &st->rng, NULL);
  const float lp = rlvr_logprob_at_temperature(st->cur, e->V, tok, p->temperature, e->scratch);
  return decide_sampled(e, s, tok, lp);
}

/* The rest of a decision once the slot's token and log-prob are known (on
 * the host above, or from the source). */
static int decide_sampled(rlvr_engine *e, int s, int tok, float lp) {
  slot_state *st = &e->slot[s];
  rlvr_engine_sample *o = &e->out[st->sample];
  const rlvr_engine_params *p = e->p;
  if (tok < 0 || tok >= e->V) { /* only a source's sampler can get here */
    e->failed = rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu) sample %d: the source sampled token %d at position %d, outside the vocabulary (%d)",
                           o->group, (unsigned long long)e->groups[o->group].group_id, o->index, tok, o->ntokens, e->V);
    return 0;
  }
  if (!isfinite(lp)) {
    /* broken weights (NaN or infinite logits): no sample can be sent */
    e->failed = rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu) sample %d: the log-prob of token %d at position %d is %g (non-finite logits)",
                           o->group, (unsigned long long)e->groups[o->group].group_id, o->index, tok, o->ntokens, (double)lp);
    return 0;
  }
  emit(e, o, tok, 1, lp);
  if (is_eos(e, tok)) {
    finish(o, RLVR_ENGINE_EOS);
    return 0;
  }
  const int m = e->tblen[tok];
  tail_push(e, st, tok);
  if (p->budget && st->phase == PHASE_THINK && m > 0) {
    const int end = match_end(st, m, p->think_end);
    if (end >= 0) {
      if (budget_min(e, s, st, o, end)) {
        if (st->nforced > 0) return emit_forced(e, st, o);
        /* Nothing to insert (cannot happen: wait_text is non-empty when
         * waits are asked for); the sample cannot go on without an input. */
        finish(o, RLVR_ENGINE_LENGTH);
        return 0;
      }
      st->phase = PHASE_ANSWER;
      o->think_tokens = o->ntokens;
    }
  }
  if (m > 0)
    for (int i = 0; i < p->nstop; i++)
      if (match_end(st, m, p->stop[i]) >= 0) {
        finish(o, RLVR_ENGINE_STOP);
        return 0;
      }
  if (o->ntokens >= p->max_tokens) {
    finish(o, RLVR_ENGINE_LENGTH);
    return 0;
  }
  check_think_cap(e, st, o);
  st->next = tok;
  return 1;
}

/* Step 2 when the source samples: every occupied slot's decision, go[s] = 1
 * when it goes on. Inserted tokens first, then one uniform per sampling
 * slot from its own rng (none when greedy, as rlvr_sampler_sample), one
 * sample call, then the ends of each token. Returns RLVR_OK, the source's
 * error, or e->failed. */
static int decide_on_source(rlvr_engine *e) {
  const rlvr_engine_params *p = e->p;
  int n = 0;
  for (int s = 0; s < e->S; s++) {
    slot_state *st = &e->slot[s];
    if (st->sample < 0) continue;
    if (st->iforced < st->nforced) {
      e->go[s] = (uint8_t)emit_forced(e, st, &e->out[st->sample]);
      continue;
    }
    e->samp_slots[n] = s;
    e->samp_params[n] = (rlvr_sampling){p->temperature, p->top_k, p->top_p};
    e->samp_u[n] = p->temperature == 0.0f ? 0.0 : rlvr_rng_double(&st->rng);
    n++;
  }
  if (!n) return RLVR_OK;
  const int rc = e->src.sample(e->src.ctx, e->samp_slots, n, e->samp_params, e->samp_u, e->samp_tokens, e->samp_lp);
  if (rc) return rc;
  e->stats.source_samples++;
  for (int i = 0; i < n; i++) {
    const int s = e->samp_slots[i];
    e->go[s] = (uint8_t)decide_sampled(e, s, e->samp_tokens[i], e->samp_lp[i]);
    if (e->failed) return e->failed;
  }
  return RLVR_OK;
}

/* A slot other than the new ones whose running sample belongs to group g. */
static int running_sibling(const rlvr_engine *e, int g, const uint8_t *is_new) {
  for (int s = 0; s < e->S; s++)
    if (e->slot[s].sample >= 0 && !is_new[s] && e->out[e->slot[s].sample].group == g) return s;
  return -1;
}

/* Fills free slots with pending samples; prefills leaders, copies the rest. */
static int admit(rlvr_engine *e, int *next_pending, int total, double t) {
  const int V = e->V;
  int nnew = 0;
  uint8_t *is_new = e->is_new;
  int *src_of = e->src_of;
  memset(is_new, 0, (size_t)e->S);
  for (int s = 0; s < e->S && *next_pending < total; s++) {
    if (e->slot[s].sample >= 0) continue;
    slot_state *st = &e->slot[s];
    st->sample = (*next_pending)++;
    rlvr_engine_sample *o = &e->out[st->sample];
    st->phase = PHASE_THINK;
    st->nforced = st->iforced = 0;
    st->tail_len = 0;
    st->t0 = t;
    rlvr_rng_seed(&st->rng, o->seed);
    e->new_slots[nnew++] = s;
    is_new[s] = 1;
  }
  if (!nnew) return RLVR_OK;
  /* Leaders: the first new slot of each group that has no running sibling. */
  int B = 0, T = 1;
  for (int i = 0; i < nnew; i++) {
    const int s = e->new_slots[i], g = e->out[e->slot[s].sample].group;
    src_of[i] = -1;
    if (e->share) {
      src_of[i] = running_sibling(e, g, is_new);
      for (int j = 0; j < i && src_of[i] < 0; j++)
        if (src_of[j] < 0 && e->out[e->slot[e->new_slots[j]].sample].group == g) src_of[i] = e->new_slots[j];
    }
    if (src_of[i] < 0) {
      e->prefill_slots[B] = s;
      e->prefill_lens[B] = e->groups[g].nprompt;
      if (e->groups[g].nprompt > T) T = e->groups[g].nprompt;
      B++;
    }
  }
  if (B) {
    for (int b = 0; b < B; b++) {
      const rlvr_engine_group *gr = &e->groups[e->out[e->slot[e->prefill_slots[b]].sample].group];
      for (int t2 = 0; t2 < gr->nprompt; t2++) e->prefill_tokens[(size_t)b * T + t2] = gr->prompt[t2];
    }
    int rc = e->src.prefill(e->src.ctx, e->prefill_slots, e->prefill_tokens, e->prefill_lens, B, T, e->prefill_logits);
    if (rc) return rc;
    if (!e->on_source)
      for (int b = 0; b < B; b++)
        memcpy(e->prompt_logits + (size_t)e->prefill_slots[b] * V, e->prefill_logits + (size_t)b * V,
               sizeof(float) * V);
    e->stats.prefills += B;
    for (int b = 0; b < B; b++) e->stats.prefill_tokens += e->prefill_lens[b];
  }
  for (int i = 0; i < nnew; i++) {
    const int s = e->new_slots[i];
    if (src_of[i] >= 0) {
      const int np = e->groups[e->out[e->slot[s].sample].group].nprompt;
      e->src.copy(e->src.ctx, src_of[i], s, np);
      if (!e->on_source)
        memcpy(e->prompt_logits + (size_t)s * V, e->prompt_logits + (size_t)src_of[i] * V, sizeof(float) * V);
      e->stats.copies++;
    }
    e->slot[s].cur = e->on_source ? NULL : e->prompt_logits + (size_t)s * V;
  }
  return RLVR_OK;
}

int rlvr_engine_generate(rlvr_engine *e, const rlvr_engine_params *p, const rlvr_engine_group *groups,
                         int ngroups, rlvr_engine_sample **out, int *nout) {
  *out = NULL;
  *nout = 0;
  memset(&e->stats, 0, sizeof e->stats);
  int rc = rlvr_engine_params_validate(p);
  if (rc) return rc;
  if (ngroups < 0) return rlvr_error(RLVR_ERR_ARG, "engine: %d groups", ngroups);
  size_t total = 0;
  for (int g = 0; g < ngroups; g++) {
    const rlvr_engine_group *gr = &groups[g];
    if (gr->g < 1) return rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu): g = %d, must be >= 1", g, (unsigned long long)gr->group_id, gr->g);
    if (gr->nprompt < 1) return rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu): empty prompt", g, (unsigned long long)gr->group_id);
    if ((long long)gr->nprompt + p->max_tokens > e->src.max_seq)
      return rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu): prompt of %d tokens plus max_tokens %d exceeds the %d positions of a slot",
                        g, (unsigned long long)gr->group_id, gr->nprompt, p->max_tokens, e->src.max_seq);
    for (int t = 0; t < gr->nprompt; t++)
      if (gr->prompt[t] < 0 || gr->prompt[t] >= e->V)
        return rlvr_error(RLVR_ERR_RANGE, "group %d (id %llu): prompt token %d at position %d is outside the vocabulary (%d)",
                          g, (unsigned long long)gr->group_id, gr->prompt[t], t, e->V);
    total += (size_t)gr->g;
  }
  if ((rc = prepare_request(e, p, total))) return rc;
  e->p = p;
  e->groups = groups;
  size_t k = 0;
  for (int g = 0; g < ngroups; g++)
    for (int i = 0; i < groups[g].g; i++, k++) {
      rlvr_engine_sample *o = &e->out[k];
      memset(o, 0, sizeof *o);
      o->group = g;
      o->index = i;
      o->seed = p->seeds ? p->seeds[k] : rlvr_engine_sample_seed(p->seed, groups[g].group_id, i);
      o->tokens = e->tok_mem + k * (size_t)p->max_tokens;
      o->mask = e->mask_mem + k * (size_t)p->max_tokens;
      o->logprobs = e->lp_mem + k * (size_t)p->max_tokens;
      o->think_tokens = -1;
    }
  const double t_start = now_s();
  int next_pending = 0, done = 0;
  const int ntotal = (int)total;
  for (int s = 0; s < e->S; s++) e->slot[s].sample = -1;
  e->failed = RLVR_OK;
  while (done < ntotal) {
    if (e->tick) e->tick(e->tick_ctx);
    const double t = now_s();
    if ((rc = admit(e, &next_pending, ntotal, t))) break;
    if (e->on_source && (rc = decide_on_source(e))) break;
    int n = 0;
    for (int s = 0; s < e->S; s++) {
      slot_state *st = &e->slot[s];
      if (st->sample < 0) continue;
      if (e->on_source ? e->go[s] : decide(e, s)) {
        e->step_slots[n] = s;
        e->step_tokens[n] = st->next;
        n++;
      } else {
        if (e->failed) break;
        e->out[st->sample].seconds = now_s() - st->t0;
        st->sample = -1;
        done++;
      }
    }
    if ((rc = e->failed)) break;
    if (n) {
      if ((rc = e->src.step(e->src.ctx, e->step_slots, e->step_tokens, n, e->step_logits))) break;
      e->stats.steps++;
      if (!e->on_source)
        for (int r = 0; r < n; r++) e->slot[e->step_slots[r]].cur = e->step_logits + (size_t)r * e->V;
    }
  }
  for (int s = 0; s < e->S; s++) e->slot[s].sample = -1;
  e->p = NULL;
  e->groups = NULL;
  e->stats.samples = rc ? 0 : ntotal;
  e->stats.seconds = now_s() - t_start;
  if (rc) return rc;
  *out = e->out;
  *nout = ntotal;
  return RLVR_OK;
}
