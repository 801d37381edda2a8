/* test_engine.c — the rollout generation engine (rollout/engine.h).
 *
 *  - against `rlvr generate` (the command's own batched sampling loop, run as
 *    a process): greedy and sampled completions of the tiny fixture models,
 *    token ids and log-prob bits equal for the same seeds;
 *  - against a plain decode loop written here (one sequence, prefill then
 *    step, model/sampler.h with the sample's reported seed): every sample of
 *    a request equal bit for bit, whatever the slots (1, 3, 8: continuous
 *    batching), prefill sharing on or off, and the other groups of the
 *    request (seed independence from batch composition);
 *  - with the scripted fake model (fake_source.h): finish reasons, stop
 *    strings inside one token and across token boundaries, budget forcing's
 *    min rule (think_end taken back, the wait text inserted with mask 0,
 *    max_waits respected, a match that starts inside a token) and max rule
 *    (the answer prefix inserted at the cap, finish "budget");
 *  - bad requests return errors. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "fake_source.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/kernels.h"
#include "model/logprob.h"
#include "model/sampler.h"
#include "rollout/engine.h"
#include "testing.h"

static const char *MODELS[] = {"tests/fixtures/models/tiny-qwen2", "tests/fixtures/models/tiny-qwen3",
                               "tests/fixtures/models/tiny-llama"};

typedef struct {
  rlvr_model model;
  rlvr_tokenizer *tok;
  int32_t eos[RLVR_MAX_EOS + 1];
  int neos;
} policy;

static int load_policy(const char *dir, policy *p) {
  memset(p, 0, sizeof *p);
  char path[512];
  if (rlvr_model_load(dir, &p->model) != RLVR_OK) return -1;
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  if (rlvr_tokenizer_load(path, &p->tok) != RLVR_OK) return -1;
  for (int i = 0; i < p->model.cfg.num_eos; i++) p->eos[p->neos++] = p->model.cfg.eos_token_ids[i];
  int32_t t = rlvr_tokenizer_eos_id(p->tok);
  int have = 0;
  for (int i = 0; i < p->neos; i++) have |= p->eos[i] == t;
  if (t >= 0 && !have) p->eos[p->neos++] = t;
  return 0;
}

static void free_policy(policy *p) {
  rlvr_model_free(&p->model);
  rlvr_tokenizer_free(p->tok);
}

/* ---- against rlvr generate ---- */

/* `rlvr generate`'s seed of completion i (cmd/cmd_generate.c). */
static uint64_t generate_seed(uint64_t seed, int i) {
  return seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i * 0xd1b54a32d192ed03ULL + 1;
}

static char *run_capture(const char *cmd) {
  FILE *f = popen(cmd, "r");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
  }
  buf[n] = 0;
  if (pclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void test_against_generate(const char *dir, float temperature, int n, uint64_t seed) {
  const char *bin = getenv("RLVR_BIN");
  if (!bin) {
    fprintf(stderr, "RLVR_BIN is not set (run through ctest)\n");
    CHECK(0);
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s generate --model %s --prompt 'What is 12 + 7?' -n %d --max-tokens 20 --temperature %g --seed %llu --json",
           bin, dir, n, (double)temperature, (unsigned long long)seed);
  char *out = run_capture(cmd);
  CHECK_MSG(out != NULL, "%s failed", cmd);
  if (!out) return;
  policy p;
  CHECK(load_policy(dir, &p) == 0);
  rlvr_model_source ms;
  rlvr_model_source_build(&ms, &p.model, 2, 64);
  rlvr_engine *e = rlvr_engine_build(&ms.src, p.tok, p.eos, p.neos, 1);
  char *line = out, *next;
  int i = 0, same_tokens = 1, same_bits = 1;
  int32_t prompt[64];
  int np = 0;
  uint64_t seeds[16];
  for (int k = 0; k < n; k++) seeds[k] = generate_seed(seed, k);
  rlvr_engine_params prm;
  rlvr_engine_params_default(&prm);
  prm.temperature = temperature;
  prm.max_tokens = 20;
  prm.seeds = seeds;
  rlvr_engine_sample *res = NULL;
  int nres = 0;
  for (; line && *line; line = next, i++) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    cJSON *o = cJSON_Parse(line);
    CHECK(o != NULL);
    if (!o) break;
    if (i == 0) {
      cJSON *pr = cJSON_GetObjectItem(o, "prompt_token_ids"), *x;
      np = 0;
      cJSON_ArrayForEach(x, pr) prompt[np++] = (int32_t)x->valuedouble;
      rlvr_engine_group g = {.group_id = 0, .prompt = prompt, .nprompt = np, .g = n};
      CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &nres) == RLVR_OK);
      CHECK(nres == n);
    }
    if (i < nres) {
      cJSON *ids = cJSON_GetObjectItem(o, "token_ids"), *lps = cJSON_GetObjectItem(o, "logprobs");
      const char *fin = cJSON_GetObjectItem(o, "finish_reason")->valuestring;
      int t = cJSON_GetArraySize(ids);
      if (t != res[i].ntokens) same_tokens = 0;
      for (int k = 0; k < t && k < res[i].ntokens; k++) {
        if ((int32_t)cJSON_GetArrayItem(ids, k)->valuedouble != res[i].tokens[k]) same_tokens = 0;
        /* generate prints 17 significant digits: the float round-trips exactly */
        if ((float)cJSON_GetArrayItem(lps, k)->valuedouble != res[i].logprobs[k]) same_bits = 0;
      }
      CHECK_MSG(!strcmp(fin, rlvr_engine_finish_name(res[i].finish)), "finish %s vs %s", fin,
                rlvr_engine_finish_name(res[i].finish));
    }
    cJSON_Delete(o);
  }
  CHECK(i == n);
  CHECK_MSG(same_tokens, "%s T=%g: token ids differ from rlvr generate", dir, (double)temperature);
  CHECK_MSG(same_bits, "%s T=%g: log-probs differ from rlvr generate", dir, (double)temperature);
  printf("ok   %s T=%g n=%d: engine = rlvr generate (ids, log-prob bits, finish)\n", dir, (double)temperature, n);
  rlvr_engine_free(e);
  rlvr_model_source_free(&ms);
  free_policy(&p);
  free(out);
}

/* ---- against a plain decode loop ---- */

typedef struct {
  int32_t tokens[64];
  float lps[64];
  int n;
  int finish; /* rlvr_engine_finish */
} ref_sample;

/* One sequence alone in a one-slot cache: prefill, then sample and step. */
static void reference_sample(const policy *p, const int32_t *prompt, int np, const rlvr_engine_params *prm,
                             uint64_t seed, ref_sample *r) {
  const int V = p->model.cfg.vocab_size;
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &p->model.cfg, 1, np + prm->max_tokens, 256);
  float *logits = malloc(sizeof(float) * V), *scratch = malloc(sizeof(float) * 2 * V);
  int slot = 0, lens = np, *pr = malloc(sizeof(int) * np);
  for (int t = 0; t < np; t++) pr[t] = prompt[t];
  rlvr_decode_prefill(&ds, &p->model, &slot, pr, &lens, 1, np, logits);
  rlvr_sampler smp;
  rlvr_sampler_init(&smp, V);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, seed);
  rlvr_sampling sp = {prm->temperature, prm->top_k, prm->top_p};
  r->n = 0;
  for (;;) {
    int tok = rlvr_sampler_sample(&smp, logits, &sp, &rng, NULL);
    /* log softmax(z / T) written out here, as the definition reads */
    float *s = scratch;
    const float T = prm->temperature > 0 ? prm->temperature : 1.0f;
    for (int j = 0; j < V; j++) s[j] = T == 1.0f ? logits[j] : logits[j] / T;
    float lse;
    rlvr_logsoftmax_row(s, V, &lse, NULL, scratch + V);
    r->tokens[r->n] = tok;
    r->lps[r->n] = s[tok] - lse;
    r->n++;
    int stop = 0;
    for (int i = 0; i < p->neos; i++) stop |= tok == p->eos[i];
    if (stop) { r->finish = RLVR_ENGINE_EOS; break; }
    if (r->n >= prm->max_tokens) { r->finish = RLVR_ENGINE_LENGTH; break; }
    rlvr_decode_step(&ds, &p->model, &slot, &tok, 1, logits);
  }
  rlvr_sampler_free(&smp);
  free(pr), free(logits), free(scratch);
  rlvr_decode_free(&ds);
}

static int same_sample(const rlvr_engine_sample *o, const ref_sample *r) {
  if (o->ntokens != r->n || (int)o->finish != r->finish) return 0;
  for (int i = 0; i < r->n; i++)
    if (o->tokens[i] != r->tokens[i] || memcmp(&o->logprobs[i], &r->lps[i], sizeof(float)) != 0 || o->mask[i] != 1)
      return 0;
  return 1;
}

static void test_batching_independence(const char *dir) {
  policy p;
  CHECK(load_policy(dir, &p) == 0);
  const char *texts[3] = {"What is 3 + 4?", "The answer is", "Tom has 12 apples and eats 5. How many"};
  int32_t *prompts[3];
  size_t np[3];
  for (int i = 0; i < 3; i++)
    CHECK(rlvr_tokenizer_encode_alloc(p.tok, texts[i], strlen(texts[i]), 1, &prompts[i], &np[i]) == RLVR_OK);
  rlvr_engine_params prm;
  rlvr_engine_params_default(&prm);
  prm.temperature = 0.8f;
  prm.top_k = 40;
  prm.top_p = 0.95f;
  prm.max_tokens = 24;
  prm.seed = 1234;
  const int G = 4;
  /* The reference of every (group, index). */
  ref_sample ref[3][4];
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < G; i++)
      reference_sample(&p, prompts[g], (int)np[g], &prm, rlvr_engine_sample_seed(prm.seed, 100 + g, i), &ref[g][i]);
  int distinct = 0;
  for (int i = 1; i < G; i++) distinct |= ref[0][i].n != ref[0][0].n || memcmp(ref[0][i].tokens, ref[0][0].tokens, sizeof(int32_t) * ref[0][0].n);
  CHECK_MSG(distinct, "samples of one group are all the same: seeds not per sample");
  const int slot_counts[3] = {1, 3, 8};
  int all_ok = 1, runs = 0;
  for (int sc = 0; sc < 3; sc++)
    for (int share = 0; share < 2; share++)
      for (int comp = 0; comp < 2; comp++) {
        /* comp 0: groups 0, 1, 2; comp 1: group 2 alone, then 1, 0 in another request order */
        rlvr_engine_group gr[3];
        int order[3] = {0, 1, 2}, ng = 3;
        if (comp) order[0] = 2, order[1] = 0, order[2] = 1;
        for (int k = 0; k < ng; k++)
          gr[k] = (rlvr_engine_group){.group_id = 100 + order[k], .prompt = prompts[order[k]], .nprompt = (int)np[order[k]], .g = G};
        rlvr_model_source ms;
        rlvr_model_source_build(&ms, &p.model, slot_counts[sc], 80);
        rlvr_engine *e = rlvr_engine_build(&ms.src, p.tok, p.eos, p.neos, share);
        rlvr_engine_sample *res;
        int nres;
        CHECK(rlvr_engine_generate(e, &prm, gr, ng, &res, &nres) == RLVR_OK);
        CHECK(nres == ng * G);
        for (int k = 0; k < nres; k++) {
          const int g = order[res[k].group];
          if (res[k].seed != rlvr_engine_sample_seed(prm.seed, 100 + g, res[k].index) || !same_sample(&res[k], &ref[g][res[k].index])) {
            all_ok = 0;
            fprintf(stderr, "FAIL slots %d share %d comp %d: group %d sample %d differs from the plain loop\n",
                    slot_counts[sc], share, comp, g, res[k].index);
          }
        }
        rlvr_engine_stats st;
        rlvr_engine_get_stats(e, &st);
        if (share && slot_counts[sc] > 1) CHECK_MSG(st.copies > 0, "sharing on but no prompt was copied");
        if (!share) CHECK(st.copies == 0 && st.prefills == ng * G);
        /* the group-2-only request: the same samples again */
        if (comp) {
          gr[0] = (rlvr_engine_group){.group_id = 102, .prompt = prompts[2], .nprompt = (int)np[2], .g = G};
          CHECK(rlvr_engine_generate(e, &prm, gr, 1, &res, &nres) == RLVR_OK);
          for (int k = 0; k < nres; k++) all_ok &= same_sample(&res[k], &ref[2][res[k].index]);
        }
        rlvr_engine_free(e);
        rlvr_model_source_free(&ms);
        runs++;
      }
  CHECK(all_ok);
  printf("ok   %s: %d engine runs (slots 1/3/8, sharing on/off, two request compositions) equal the plain loop bit for bit\n",
         dir, runs);
  for (int i = 0; i < 3; i++) free(prompts[i]);
  free_policy(&p);
}

/* ---- scripted behaviours ---- */

typedef struct {
  const char *plain;   /* the completion when no rule applies */
  const char *after;   /* once the completion contains `marker`, the completion to write */
  const char *marker;
} script;

static const char *script_target(const char *prompt, const char *completion, void *user) {
  (void)prompt;
  const script *sc = user;
  if (sc->marker && strstr(completion, sc->marker)) return sc->after;
  return sc->plain;
}

/* Thinking never ends by itself: " hmm" forever, until "<answer>" appears,
 * then the answer "7</answer>". */
static char endless_buf[4096];
static const char *endless_target(const char *prompt, const char *completion, void *user) {
  (void)prompt, (void)user;
  const char *a = strstr(completion, "<answer>");
  if (a) {
    snprintf(endless_buf, sizeof endless_buf, "%.*s7</answer>", (int)(a - completion + 8), completion);
    return endless_buf;
  }
  endless_buf[0] = 0;
  for (int i = 0; i < 200; i++) strcat(endless_buf, " hmm");
  return endless_buf;
}

/* "ab", one "Wait" per wait so far, then "</think>" at once. */
static char eager_buf[4096];
static const char *eager_target(const char *prompt, const char *completion, void *user) {
  (void)prompt, (void)user;
  int w = 0;
  for (const char *c = completion; (c = strstr(c, "Wait")); c += 4) w++;
  strcpy(eager_buf, "ab");
  for (int i = 0; i < w; i++) strcat(eager_buf, "Wait");
  strcat(eager_buf, "</think> <answer>1</answer>");
  return eager_buf;
}

typedef struct {
  rlvr_tokenizer *tok;
  int V, eos;
} fake_env;

static rlvr_engine_sample *run_fake(const fake_env *env, fake_target_fn fn, void *user, const rlvr_engine_params *prm,
                                    fake_source *f, rlvr_engine **e, char *text, size_t cap) {
  fake_init(f, env->tok, env->V, 2, 256, env->eos, fn, user);
  int32_t eos = env->eos;
  *e = rlvr_engine_build(&f->src, env->tok, &eos, 1, 1);
  static int32_t prompt[8];
  size_t np = 0;
  rlvr_tokenizer_encode(env->tok, "Q: x?", 5, 0, prompt, 8, &np);
  rlvr_engine_group g = {.group_id = 7, .prompt = prompt, .nprompt = (int)np, .g = 1};
  rlvr_engine_sample *res = NULL;
  int n = 0;
  int rc = rlvr_engine_generate(*e, prm, &g, 1, &res, &n);
  CHECK_MSG(rc == RLVR_OK && n == 1, "generate: %s", rlvr_error_message());
  if (rc) return NULL;
  sample_text(env->tok, &res[0], text, cap);
  return &res[0];
}

static void done_fake(fake_source *f, rlvr_engine *e) {
  rlvr_engine_free(e);
  fake_free(f);
}

static int count_mask0(const rlvr_engine_sample *o) {
  int n = 0;
  for (int i = 0; i < o->ntokens; i++) n += o->mask[i] == 0;
  return n;
}

/* The inserted (mask 0) tokens' text. */
static void inserted_text(const rlvr_tokenizer *tok, const rlvr_engine_sample *o, char *out, size_t cap) {
  size_t k = 0;
  for (int i = 0; i < o->ntokens; i++) {
    if (o->mask[i]) continue;
    const char *b;
    size_t len;
    if (rlvr_tokenizer_token_bytes(tok, o->tokens[i], &b, &len) || k + len >= cap) continue;
    memcpy(out + k, b, len), k += len;
  }
  out[k] = 0;
}

static int zero_lps_where_inserted(const rlvr_engine_sample *o) {
  for (int i = 0; i < o->ntokens; i++) {
    if (!o->mask[i] && o->logprobs[i] != 0.0f) return 0;
    if (o->mask[i] && !(o->logprobs[i] <= 0.0f && isfinite(o->logprobs[i]))) return 0;
  }
  return 1;
}

static void test_scripted(void) {
  fake_env env;
  CHECK(rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &env.tok) == RLVR_OK);
  env.V = rlvr_tokenizer_vocab_size(env.tok);
  env.eos = rlvr_tokenizer_token_id(env.tok, "<|im_end|>");
  CHECK(env.eos >= 0);
  /* " answer" is one token of this vocabulary ("Ġanswer"): stop strings and
   * think_end can start inside it. */
  int32_t ids[8];
  size_t n = 0;
  rlvr_tokenizer_encode(env.tok, " answer", 7, 0, ids, 8, &n);
  CHECK_MSG(n == 1, "' answer' is %zu tokens; the straddling cases below need one", n);
  fake_source f;
  rlvr_engine *e;
  char text[4096], ins[512];
  rlvr_engine_params prm;
  rlvr_engine_sample *o;

  /* eos */
  script s1 = {"The answer is 5.", NULL, NULL};
  rlvr_engine_params_default(&prm);
  prm.max_tokens = 40;
  o = run_fake(&env, script_target, &s1, &prm, &f, &e, text, sizeof text);
  if (o) {
    CHECK_MSG(!strcmp(text, "The answer is 5."), "text '%s'", text);
    CHECK(o->finish == RLVR_ENGINE_EOS && o->end == RLVR_ENGINE_EOS && o->tokens[o->ntokens - 1] == env.eos);
    CHECK(count_mask0(o) == 0 && zero_lps_where_inserted(o));
  }
  done_fake(&f, e);

  /* length */
  prm.max_tokens = 3;
  o = run_fake(&env, script_target, &s1, &prm, &f, &e, text, sizeof text);
  if (o) CHECK(o->finish == RLVR_ENGINE_LENGTH && o->ntokens == 3);
  done_fake(&f, e);

  /* stop string across a token boundary: "er i" spans " answer" and " is" */
  const char *stops[2] = {"zzz", "er i"};
  prm.max_tokens = 40;
  prm.stop = stops, prm.nstop = 2;
  o = run_fake(&env, script_target, &s1, &prm, &f, &e, text, sizeof text);
  if (o) {
    CHECK_MSG(o->finish == RLVR_ENGINE_STOP && !strcmp(text, "The answer is"), "finish %s text '%s'",
              rlvr_engine_finish_name(o->finish), text);
  }
  done_fake(&f, e);
  /* stop string inside one token: "nsw" in " answer" */
  const char *stops2[1] = {"nsw"};
  prm.stop = stops2, prm.nstop = 1;
  o = run_fake(&env, script_target, &s1, &prm, &f, &e, text, sizeof text);
  if (o) CHECK_MSG(o->finish == RLVR_ENGINE_STOP && !strcmp(text, "The answer"), "text '%s'", text);
  done_fake(&f, e);
  /* a stop string the text does not hold */
  const char *stops3[1] = {"5!"};
  prm.stop = stops3, prm.nstop = 1;
  o = run_fake(&env, script_target, &s1, &prm, &f, &e, text, sizeof text);
  if (o) CHECK(o->finish == RLVR_ENGINE_EOS);
  done_fake(&f, e);
  prm.stop = NULL, prm.nstop = 0;

  /* budget min: "</think>" after 2 tokens is taken back, "Wait" inserted;
   * the model goes on and ends its thinking later, which is accepted. */
  script s2 = {"ab</think> <answer>1</answer>", "abWait, c d e</think> <answer>2</answer>", "Wait"};
  rlvr_engine_params_default(&prm);
  prm.max_tokens = 80;
  prm.budget = 1;
  prm.min_think_tokens = 6;
  prm.max_waits = 3;
  o = run_fake(&env, script_target, &s2, &prm, &f, &e, text, sizeof text);
  if (o) {
    CHECK_MSG(!strcmp(text, "abWait, c d e</think> <answer>2</answer>"), "text '%s'", text);
    inserted_text(env.tok, o, ins, sizeof ins);
    CHECK_MSG(!strcmp(ins, "Wait"), "inserted '%s'", ins);
    CHECK(o->waits == 1 && o->finish == RLVR_ENGINE_EOS && !o->think_cut && zero_lps_where_inserted(o));
    CHECK_MSG(f.truncates == 1, "%d truncations: \"</think>\" spans several tokens here", f.truncates);
    /* think_tokens: the tokens up to and including the accepted "</think>" */
    char head[4096];
    rlvr_engine_sample cut = *o;
    cut.ntokens = o->think_tokens;
    sample_text(env.tok, &cut, head, sizeof head);
    CHECK_MSG(!strcmp(head, "abWait, c d e</think>"), "thinking '%s'", head);
  }
  done_fake(&f, e);
  /* max_waits 0: nothing is taken back */
  prm.max_waits = 0;
  o = run_fake(&env, script_target, &s2, &prm, &f, &e, text, sizeof text);
  if (o) CHECK_MSG(!strcmp(text, "ab</think> <answer>1</answer>") && o->waits == 0, "text '%s'", text);
  done_fake(&f, e);
  /* a model that always ends its thinking at once gets max_waits waits,
   * then its "</think>" stands */
  prm.max_waits = 2;
  prm.min_think_tokens = 100;
  o = run_fake(&env, eager_target, NULL, &prm, &f, &e, text, sizeof text);
  if (o) CHECK_MSG(o->waits == 2 && !strcmp(text, "abWaitWait</think> <answer>1</answer>"), "waits %d text '%s'", o->waits, text);
  done_fake(&f, e);

  /* budget min where think_end starts inside a token: think_end "swer" in
   * " answer" keeps " an" (re-encoded, inserted) before the wait text. */
  script s4 = {" answer", " anWait, answer", "Wait"};
  rlvr_engine_params_default(&prm);
  prm.max_tokens = 40;
  prm.budget = 1;
  prm.think_end = "swer";
  prm.min_think_tokens = 3;
  prm.max_waits = 1;
  o = run_fake(&env, script_target, &s4, &prm, &f, &e, text, sizeof text);
  if (o) {
    CHECK_MSG(!strcmp(text, " anWait, answer"), "text '%s'", text);
    inserted_text(env.tok, o, ins, sizeof ins);
    CHECK_MSG(!strcmp(ins, " anWait"), "inserted '%s'", ins);
    CHECK(o->waits == 1 && o->finish == RLVR_ENGINE_EOS);
    CHECK_MSG(f.truncates == 0, "one token taken back needs no truncation, got %d", f.truncates);
  }
  done_fake(&f, e);

  /* budget max: thinking cut at 6 tokens, answer prefix inserted, the model
   * answers; finish "budget", end "eos". */
  rlvr_engine_params_default(&prm);
  prm.max_tokens = 60;
  prm.budget = 1;
  prm.max_think_tokens = 6;
  prm.answer_prefix = " </think> <answer>";
  o = run_fake(&env, endless_target, NULL, &prm, &f, &e, text, sizeof text);
  if (o) {
    CHECK(o->finish == RLVR_ENGINE_BUDGET && o->end == RLVR_ENGINE_EOS && o->think_cut && o->think_tokens == 6);
    inserted_text(env.tok, o, ins, sizeof ins);
    CHECK_MSG(!strcmp(ins, " </think> <answer>"), "inserted '%s'", ins);
    char head[4096], want[4200];
    rlvr_engine_sample cut = *o;
    cut.ntokens = 6;
    sample_text(env.tok, &cut, head, sizeof head);
    snprintf(want, sizeof want, "%s </think> <answer>7</answer>", head);
    CHECK_MSG(!strncmp(head, " hmm", 4) && !strcmp(text, want), "text '%s'", text);
    int sampled_before = 0;
    for (int i = 0; i < 6; i++) sampled_before += o->mask[i];
    CHECK(sampled_before == 6 && zero_lps_where_inserted(o));
  }
  done_fake(&f, e);
  /* budget max with no room left for the answer: finish budget, end length */
  prm.max_tokens = 9;
  o = run_fake(&env, endless_target, NULL, &prm, &f, &e, text, sizeof text);
  if (o) CHECK(o->finish == RLVR_ENGINE_BUDGET && o->end == RLVR_ENGINE_LENGTH && o->ntokens == 9);
  done_fake(&f, e);
  /* budget off: the endless thinker runs to max_tokens */
  prm.budget = 0;
  o = run_fake(&env, endless_target, NULL, &prm, &f, &e, text, sizeof text);
  if (o) CHECK(o->finish == RLVR_ENGINE_LENGTH && !o->think_cut && o->think_tokens == -1);
  done_fake(&f, e);
  printf("ok   scripted: eos, length, stop (inside a token, across tokens), budget min (multi-token and mid-token think_end), budget max\n");
  rlvr_tokenizer_free(env.tok);
}

/* The learner's recomputation: rlvr_forward at the sampling temperature
 * (rlvr_forward_set_temperature) over prompt + completion gives the engine's
 * sampled log-probs bit for bit. */
static void test_learner_recompute(const char *dir, float temperature) {
  policy p;
  CHECK(load_policy(dir, &p) == 0);
  int32_t *prompt;
  size_t np;
  const char *text = "Tom has 12 apples";
  CHECK(rlvr_tokenizer_encode_alloc(p.tok, text, strlen(text), 1, &prompt, &np) == RLVR_OK);
  rlvr_model_source ms;
  rlvr_model_source_build(&ms, &p.model, 4, 64);
  rlvr_engine *e = rlvr_engine_build(&ms.src, p.tok, p.eos, p.neos, 1);
  rlvr_engine_params prm;
  rlvr_engine_params_default(&prm);
  prm.temperature = temperature;
  prm.top_k = 50;
  prm.max_tokens = 30;
  prm.seed = 3;
  rlvr_engine_group g = {.group_id = 1, .prompt = prompt, .nprompt = (int)np, .g = 4};
  rlvr_engine_sample *res;
  int n;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_OK && n == 4);
  const int T = 64;
  int *tokens = calloc((size_t)n * T, sizeof(int)), *targets = malloc(sizeof(int) * n * T), lens[4];
  float *lp = calloc((size_t)n * T, sizeof(float));
  for (int i = 0; i < n * T; i++) targets[i] = -1;
  for (int b = 0; b < n; b++) {
    lens[b] = (int)np + res[b].ntokens;
    for (size_t t = 0; t < np; t++) tokens[b * T + t] = prompt[t];
    for (int t = 0; t < res[b].ntokens; t++) tokens[b * T + (int)np + t] = res[b].tokens[t];
    for (int t = (int)np - 1; t < lens[b] - 1; t++) targets[b * T + t] = tokens[b * T + t + 1];
  }
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &p.model.cfg, n, T);
  rlvr_forward_set_temperature(&fs, temperature);
  CHECK(rlvr_forward(&fs, &p.model, tokens, lens, n, T, targets, lp, NULL, NULL) == RLVR_OK);
  double maxd = 0;
  int ntok = 0;
  for (int b = 0; b < n; b++)
    for (int t = 0; t < res[b].ntokens; t++, ntok++) {
      double d = fabs((double)lp[b * T + (int)np - 1 + t] - (double)res[b].logprobs[t]);
      if (d > maxd) maxd = d;
    }
  CHECK_MSG(maxd == 0.0, "%s T=%g: recomputed log-probs differ, max |diff| %.3g", dir, (double)temperature, maxd);
  printf("ok   %s T=%g: the learner's forward recomputes the %d sampled log-probs exactly (max |diff| %g)\n", dir,
         (double)temperature, ntok, maxd);
  rlvr_forward_free(&fs);
  free(tokens), free(targets), free(lp), free(prompt);
  rlvr_engine_free(e);
  rlvr_model_source_free(&ms);
  free_policy(&p);
}

static void test_errors(void) {
  policy p;
  CHECK(load_policy(MODELS[0], &p) == 0);
  rlvr_model_source ms;
  rlvr_model_source_build(&ms, &p.model, 2, 32);
  rlvr_engine *e = rlvr_engine_build(&ms.src, p.tok, p.eos, p.neos, 1);
  int32_t prompt[30] = {5, 6, 7};
  rlvr_engine_params prm;
  rlvr_engine_params_default(&prm);
  prm.max_tokens = 30;
  rlvr_engine_group g = {.group_id = 1, .prompt = prompt, .nprompt = 3, .g = 2};
  rlvr_engine_sample *res;
  int n;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_RANGE && res == NULL && n == 0);
  printf("     too long: %s\n", rlvr_error_message());
  prm.max_tokens = 8;
  prompt[1] = 100000;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_RANGE);
  printf("     bad id: %s\n", rlvr_error_message());
  prompt[1] = 6;
  g.nprompt = 0;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_RANGE);
  g.nprompt = 3;
  prm.top_p = 0.0f;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_CONFIG);
  prm.top_p = 1.0f;
  const char *empty[1] = {""};
  prm.stop = empty, prm.nstop = 1;
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_CONFIG);
  prm.nstop = 0;
  prm.budget = 1, prm.think_end = "";
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_ERR_CONFIG);
  prm.budget = 0;
  /* after errors the engine still works */
  CHECK(rlvr_engine_generate(e, &prm, &g, 1, &res, &n) == RLVR_OK && n == 2);
  rlvr_engine_free(e);
  rlvr_model_source_free(&ms);
  free_policy(&p);
}

int main(void) {
  /* One thread: the shared CI machine is slow with OpenMP under load; the
   * `rlvr generate` runs use OMP_NUM_THREADS from the environment, so the
   * comparison with them also crosses thread counts. */
  omp_set_num_threads(1);
  for (int m = 0; m < 3; m++) {
    test_against_generate(MODELS[m], 0.0f, 1, 1);
    test_against_generate(MODELS[m], 1.0f, 3, 5);
  }
  test_batching_independence(MODELS[0]);
  test_batching_independence(MODELS[1]);
  for (int m = 0; m < 3; m++) {
    test_learner_recompute(MODELS[m], 0.7f);
    test_learner_recompute(MODELS[m], 1.0f);
  }
  test_scripted();
  test_errors();
  return test_done();
}
