/* engine.h — the rollout's generation engine: G completions for each of a
 * batch of prompts, with continuous batching over the slots of a KV cache.
 *
 * Shape letters: V vocabulary, G samples per group, S slots (sequences that
 * decode at once).
 *
 * Where logits come from is an rlvr_logits_source: the model through
 * model/decode.h (rlvr_model_source below), or anything a test writes (a
 * scripted fake that forces a behaviour). The engine drives it with four
 * operations on slots: prefill (restart a slot with a prompt), step (append
 * one token to each of a set of slots), copy (make a slot hold the first
 * positions of another: a prompt prefilled once serves every sample of its
 * group) and truncate (forget a slot's last positions: budget forcing takes
 * back the tokens of an early "</think>"). A source may also sample (the GPU
 * source, rollout/cuda_source.h): then the logits rows stay with the source,
 * and the engine sends it each slot's uniform and takes back a token and a
 * log-prob per slot ("Sampling on the source" below).
 *
 * A request is a list of groups (prompt ids, G) and one set of sampling
 * parameters. Samples are admitted into free slots in request order (group 0
 * sample 0..G-1, group 1, ...); when a sample finishes, its slot takes the
 * next pending sample at once (continuous batching). Every sample draws from
 * its own rlvr_rng seeded by rlvr_engine_sample_seed(seed, group_id, index),
 * and the decode is bitwise independent of the batch (decode.h,
 * "Exactness"), so a sample's tokens depend only on (model, prompt,
 * parameters, seed, group_id, index): not on the other groups of the request,
 * the number of slots, or the order of admission.
 *
 * Each sampled token carries rlvr_logprob_at_temperature (model/logprob.h):
 * log softmax(logits / T)[token], the number the learner recomputes. Tokens
 * the engine inserts (budget forcing text) carry mask 0 and log-prob 0.
 *
 * A sample ends at the first of:
 *   eos     it sampled one of the end-of-sequence ids (the id is kept);
 *   stop    the completion's bytes (rlvr_tokenizer_token_bytes of its ids,
 *           so a stop string may straddle tokens) contain a stop string that
 *           ends within the last sampled token (the tokens are kept);
 *   length  it holds max_tokens tokens (sampled + inserted).
 * With budget forcing (s1, Muennighoff et al. 2025), the completion starts
 * in its thinking phase (the prompt opened "<think>"), which ends when the
 * model writes think_end (e.g. "</think>"):
 *   - min: if think_end ends the thinking after fewer than min_think_tokens
 *     completion tokens and fewer than max_waits waits were made, the tokens
 *     that hold think_end are taken back (the KV cache truncated), and the
 *     bytes of them before think_end followed by wait_text ("Wait") are
 *     inserted; the model goes on thinking;
 *   - max: if the thinking reaches max_think_tokens (> 0) tokens, answer_prefix
 *     (e.g. " </think> <answer>") is inserted and the model writes its answer
 *     until one of the ends above (max_tokens still caps the whole).
 * A sample whose thinking was cut reports finish "budget"; `end` keeps how
 * its generation ended (eos, stop or length).
 *
 * Sampling on the source (src->sample set): each iteration the engine
 * first emits the inserted tokens that are due, draws one uniform from the
 * rng of every other sample unless greedy (exactly the draw
 * rlvr_sampler_sample would make: the CPU's one number per sampled token),
 * asks the source for all their tokens in one call, then applies eos, stop
 * strings and budget forcing slot by slot as on the host. Seeds keep their
 * meaning: on the same rows a sample takes the tokens host sampling takes,
 * except where the source's sampler settles a boundary differently (the
 * GPU's, model/cuda/ops.h rlvr_cuda_sample, adds integer masses: a draw,
 * a top-p cut or a top-k rank within rounding of an edge). The source's
 * log-prob is reported (rlvr_logprob_at_temperature's to rounding) and
 * meets the same non-finite check. The schedule (admissions, prefills,
 * copies, steps) is the host path's.
 *
 * Memory: rlvr_engine_build allocates the per-slot state; a request grows the
 * output buffers once if it needs more; the token loop allocates nothing
 * (a budget "min" event encodes a few bytes with the tokenizer). */
#ifndef RLVR_ENGINE_H
#define RLVR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "model/decode.h"
#include "model/model.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

/* ---- where logits come from ---- */

typedef struct {
  void *ctx;
  int vocab_size; /* V: floats per logits row */
  int slots;      /* slots 0..slots-1 */
  int max_seq;    /* positions per slot */
  int max_rows;   /* most tokens of one step call; >= slots */
  /* Restarts slots[b] with tokens[b, 0..lens[b]) ((B, T) row-major) for
   * b < B and writes the next-token logits (B, V). RLVR_OK or an error code
   * (message set) with no slot changed. */
  int (*prefill)(void *ctx, const int *slots, const int *tokens, const int *lens, int B, int T, float *logits);
  /* Appends tokens[i] to slots[i] (distinct) for i < n; logits (n, V). */
  int (*step)(void *ctx, const int *slots, const int *tokens, int n, float *logits);
  /* Slot dst holds the first len positions of slot src (len <= what src
   * holds), as if dst had been prefilled with them. NULL: the engine
   * prefills every sample on its own. */
  void (*copy)(void *ctx, int src, int dst, int len);
  /* Slot keeps only its first len positions (1 <= len <= what it holds). */
  void (*truncate)(void *ctx, int slot, int len);
  /* Optional (NULL: the engine samples on the host from the rows prefill
   * and step write). Sampling on the source: the engine passes logits =
   * NULL to prefill and step, and once per iteration asks for the tokens
   * of every slot that samples one: slots[i] (distinct) from its current
   * row, with params (validated; the same for every slot) and u[i] in
   * [0, 1), the number rlvr_sampler_sample would draw from the sample's rng
   * (0 when greedy: the CPU sampler draws none). Writes tokens[i] (in
   * 0..V-1) and logprobs[i] = log softmax(row / T)[token] (T = 1 when
   * greedy), before truncation: what rlvr_logprob_at_temperature gives on
   * the same row, to rounding. A slot's current row is the next-token row
   * its last prefill or step made; after copy(src, dst, len) with len =
   * src's prompt length (what it was prefilled with, or copied at), dst's
   * is src's prompt row. A slot left out of a step, truncated, or copied at
   * another length has no row until its next prefill or step (sampling it
   * is a bug; the engine never does). RLVR_OK or an error code (message
   * set). */
  int (*sample)(void *ctx, const int *slots, int n, const rlvr_sampling *params, const double *u, int *tokens,
                float *logprobs);
} rlvr_logits_source;

/* The policy model through model/decode.h. copy moves the K and V cache rows
 * of every layer (bit for bit, so a copied prompt decodes exactly as a
 * prefilled one). */
typedef struct {
  rlvr_decode_state ds;
  const rlvr_model *model; /* borrowed; may be updated in place between requests */
  rlvr_logits_source src;  /* src.ctx points at this struct: do not move it after build */
} rlvr_model_source;

/* Builds the decode state: slots sequences of max_seq positions (max_seq <=
 * the model's max_position). Sizes are the caller's: a bad one is a bug. */
void rlvr_model_source_build(rlvr_model_source *ms, const rlvr_model *m, int slots, int max_seq);
void rlvr_model_source_free(rlvr_model_source *ms); /* accepts NULL and a zeroed struct */

/* ---- requests and results ---- */

typedef enum {
  RLVR_ENGINE_EOS = 0,
  RLVR_ENGINE_STOP = 1,
  RLVR_ENGINE_LENGTH = 2,
  RLVR_ENGINE_BUDGET = 3,
} rlvr_engine_finish;

/* "eos", "stop", "length", "budget" (the protocol's words). */
const char *rlvr_engine_finish_name(rlvr_engine_finish f);

enum { RLVR_ENGINE_MAX_STOP = 16 };

typedef struct {
  float temperature; /* 0 = greedy (argmax; log-probs at T = 1) */
  int top_k;         /* 0 = off */
  float top_p;       /* 1 = off */
  int max_tokens;    /* completion tokens per sample, >= 1 */
  uint64_t seed;     /* seed of the request; samples derive theirs */
  /* Optional: one seed per sample in request order, used as is instead of
   * the derived ones (to replay other seeding, e.g. `rlvr generate`'s). */
  const uint64_t *seeds;
  const char *const *stop; /* (nstop) stop strings, each non-empty */
  int nstop;               /* <= RLVR_ENGINE_MAX_STOP */
  /* s1 budget forcing; off when budget == 0 */
  int budget;
  int min_think_tokens; /* >= 0 */
  int max_waits;        /* >= 0 */
  int max_think_tokens; /* 0 = no cap */
  const char *think_end;     /* non-empty, e.g. "</think>" */
  const char *wait_text;     /* e.g. "Wait" */
  const char *answer_prefix; /* e.g. " </think> <answer>" */
} rlvr_engine_params;

/* Fills p with greedy, max_tokens 64, seed 0, no stop strings, budget off
 * (with think_end "</think>", wait_text "Wait", answer_prefix
 * " </think> <answer>" ready for when it is turned on). */
void rlvr_engine_params_default(rlvr_engine_params *p);

typedef struct {
  uint64_t group_id;     /* seeds derive from it: unique within a run */
  const int32_t *prompt; /* (nprompt) token ids */
  int nprompt;           /* >= 1 */
  int g;                 /* samples, >= 1 */
} rlvr_engine_group;

typedef struct {
  int group;     /* index into the request's groups */
  int index;     /* 0..G-1 within its group */
  uint64_t seed; /* the seed its rng ran with */
  int32_t *tokens;   /* (ntokens) completion ids (owned by the engine) */
  uint8_t *mask;     /* (ntokens) 1 sampled, 0 inserted by budget forcing */
  float *logprobs;   /* (ntokens) rlvr_logprob_at_temperature; 0 where mask is 0 */
  int ntokens;
  rlvr_engine_finish finish; /* as reported: budget when the thinking was cut */
  rlvr_engine_finish end;    /* how generation ended: eos, stop or length */
  int waits;        /* budget "min" insertions made */
  int think_tokens; /* completion tokens when the thinking ended; -1 if it never did */
  int think_cut;    /* 1 when max_think_tokens cut the thinking */
  double seconds;   /* wall time from admission to finish */
} rlvr_engine_sample;

typedef struct {
  int64_t samples;
  int64_t tokens_sampled;  /* sampled (including any budget forcing took back) */
  int64_t tokens_inserted; /* inserted by budget forcing */
  int64_t steps;           /* step calls */
  int64_t prefills;        /* prompts prefilled */
  int64_t copies;          /* prompts copied from a sibling's slot instead */
  int64_t prefill_tokens;
  int64_t source_samples;  /* sample calls (sampling on the source; 0 on the host) */
  double seconds;          /* wall time in generate */
} rlvr_engine_stats;

typedef struct rlvr_engine rlvr_engine;

/* src is borrowed (it must outlive the engine); tok (borrowed) gives token
 * bytes for stop strings and encodes budget texts; eos[0..neos) end a
 * sample. share_prefill: 1 = prefill a group's prompt once and copy it to
 * its other samples' slots (when src->copy exists). The engine's token ids
 * must be below both src->vocab_size and the tokenizer's vocabulary for
 * their bytes to count (ids beyond it have no bytes). */
rlvr_engine *rlvr_engine_build(const rlvr_logits_source *src, const rlvr_tokenizer *tok, const int32_t *eos,
                               int neos, int share_prefill);
void rlvr_engine_free(rlvr_engine *e); /* accepts NULL */

/* Checks parameters from outside (sampling ranges, max_tokens >= 1, stop
 * strings non-empty and at most RLVR_ENGINE_MAX_STOP, budget texts).
 * RLVR_ERR_CONFIG naming the parameter. */
int rlvr_engine_params_validate(const rlvr_engine_params *p);

/* Generates every sample of groups[0..ngroups). On success *out points at
 * sum(g) results in request order (group-major), owned by the engine and
 * valid until the next call or free. Errors (nothing in *out):
 * RLVR_ERR_CONFIG (bad parameters), RLVR_ERR_RANGE (a prompt that is empty,
 * holds an id outside the vocabulary, or with max_tokens does not fit
 * src->max_seq, naming the group), or what the source returned. */
int rlvr_engine_generate(rlvr_engine *e, const rlvr_engine_params *p, const rlvr_engine_group *groups,
                         int ngroups, rlvr_engine_sample **out, int *nout);

/* Called once per decode step while generate runs (a worker sends its
 * heartbeats from here); NULL = none. */
void rlvr_engine_set_tick(rlvr_engine *e, void (*tick)(void *ctx), void *ctx);

/* Statistics of the last generate call. */
void rlvr_engine_get_stats(const rlvr_engine *e, rlvr_engine_stats *st);

/* The seed of sample index of group group_id in a request seeded with seed:
 * splitmix64 finalisers chained over (seed, group_id, index). */
uint64_t rlvr_engine_sample_seed(uint64_t seed, uint64_t group_id, int index);

#endif
