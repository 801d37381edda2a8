/* sft_probe.c — see sft_probe.h. */
#include "learner/sft_probe.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/chat.h"
#include "model/decode.h"
#include "model/sampler.h"
#include "tasks/task.h"
#include "tasks/template.h"
#include "verifiers/host.h"

enum { SLOTS = 64 }; /* completions decoded together */

static int is_eos(const int32_t *eos, int neos, int id) {
  for (int i = 0; i < neos; i++)
    if (eos[i] == id) return 1;
  return 0;
}

static uint64_t sample_seed(uint64_t seed, int problem, int sample) {
  return seed * 0x9e3779b97f4a7c15ULL + (uint64_t)problem * 0xd1b54a32d192ed03ULL +
         (uint64_t)sample * 0x8cb92ba72f3d8dd7ULL + 1;
}

int rlvr_sft_generate(const rlvr_model *m, int32_t *const *prompts, const int *plen, const int *job_prompt,
                    const int *job_sample, int njobs, const rlvr_sampling *sp, uint64_t seed, int max_new,
                    const int32_t *eos, int neos, int32_t *out, int *count) {
  const int V = m->cfg.vocab_size;
  int maxp = 1;
  for (int j = 0; j < njobs; j++)
    if (plen[job_prompt[j]] > maxp) maxp = plen[job_prompt[j]];
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &m->cfg, SLOTS, maxp + max_new, SLOTS * maxp > 256 ? SLOTS * maxp : 256);
  rlvr_sampler sampler;
  rlvr_sampler_init(&sampler, V);
  float *logits = xmalloc((size_t)SLOTS * V * sizeof(float));
  int *tokens = xmalloc((size_t)SLOTS * maxp * sizeof(int));
  int lens[SLOTS], slots[SLOTS], active[SLOTS], next[SLOTS], job[SLOTS];
  rlvr_rng rngs[SLOTS];
  int rc = RLVR_OK;
  for (int j0 = 0; j0 < njobs && !rc; j0 += SLOTS) {
    const int B = njobs - j0 < SLOTS ? njobs - j0 : SLOTS;
    for (int b = 0; b < B; b++) {
      const int j = j0 + b, p = job_prompt[j];
      slots[b] = b;
      job[b] = j;
      lens[b] = plen[p];
      for (int t = 0; t < maxp; t++) tokens[b * maxp + t] = t < plen[p] ? prompts[p][t] : 0;
      rlvr_rng_seed(&rngs[b], sample_seed(seed, p, job_sample[j]));
      count[j] = 0;
    }
    if ((rc = rlvr_decode_prefill(&ds, m, slots, tokens, lens, B, maxp, logits))) break;
    int nact = B;
    for (int b = 0; b < B; b++) active[b] = b;
    while (nact > 0) {
      int keep = 0;
      for (int r = 0; r < nact; r++) {
        const int b = active[r], j = job[b];
        int tok = rlvr_sampler_sample(&sampler, logits + (size_t)r * V, sp, &rngs[b], NULL);
        out[(size_t)j * max_new + count[j]++] = tok;
        if (!is_eos(eos, neos, tok) && count[j] < max_new) {
          active[keep] = b;
          next[keep] = tok;
          keep++;
        }
      }
      nact = keep;
      if (nact && (rc = rlvr_decode_step(&ds, m, active, next, nact, logits))) break;
    }
  }
  free(tokens);
  free(logits);
  rlvr_sampler_free(&sampler);
  rlvr_decode_free(&ds);
  return rc;
}

/* Scores the completion (ids, EOS dropped by skip_special decoding) of item. */
static double score(rlvr_verify_host *h, const rlvr_tokenizer *tok, const rlvr_task_item *it, const int32_t *ids,
                    int n, int *wrong_format) {
  char *text = NULL;
  size_t len = 0;
  rlvr_tokenizer_decode(tok, ids, (size_t)n, 1, &text, &len);
  rlvr_verify_item vi = {.verifier = it->verifier,
                         .completion = text,
                         .completion_len = len,
                         .reference = it->reference,
                         .reference_len = strlen(it->reference),
                         .reference_json = it->reference_json,
                         .meta = it->meta,
                         .meta_len = strlen(it->meta)};
  rlvr_verify_result res;
  memset(&res, 0, sizeof res);
  rlvr_host_verify(h, &vi, &res);
  double s = rlvr_verify_status_is_scored(res.status) ? res.score : 0.0;
  if (wrong_format) *wrong_format = res.status != RLVR_VERIFY_OK;
  rlvr_verify_result_clear(&res);
  free(text);
  return s;
}

int rlvr_sft_probe_run(const rlvr_config *cfg, const rlvr_sft_probe_dirs *dirs, const rlvr_model *m,
                       const rlvr_tokenizer *tok, const int32_t *eos, int neos, int problems, int samples,
                       rlvr_sft_probe_result *r) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const char *tasks_dir = dirs->tasks;
  rlvr_task_source *src = NULL;
  rlvr_task_template *tpl = NULL;
  rlvr_chat_template *chat = NULL;
  rlvr_verify_options vo;
  int rc = rlvr_task_source_build(cfg, tasks_dir, &src);
  if (!rc) rc = rlvr_task_template_load(cfg->task_template, tasks_dir, &tpl);
  if (!rc && rlvr_task_template_is_chat(tpl))
    rc = rlvr_chat_load_template(cfg->generate_template, dirs->chat_templates, &chat);
  if (!rc) rc = rlvr_verify_options_from_config(&vo, cfg, dirs->verifiers);
  if (!rc && problems > rlvr_task_source_size(src, RLVR_TASK_SPLIT_HELDOUT))
    problems = (int)rlvr_task_source_size(src, RLVR_TASK_SPLIT_HELDOUT);
  const int max_new = (int)cfg->sample_max_tokens;
  if (!rc && (max_new < 1 || problems < 1))
    rc = rlvr_error(RLVR_ERR_CONFIG, "sft eval: needs sample.max_tokens >= 1 and held-out problems, have %d and %d",
                    max_new, problems);
  rlvr_task_item *items = xcalloc((size_t)(problems > 0 ? problems : 1), sizeof *items);
  int32_t **prompts = xcalloc((size_t)(problems > 0 ? problems : 1), sizeof *prompts);
  int *plen = xcalloc((size_t)(problems > 0 ? problems : 1), sizeof *plen);
  for (int i = 0; !rc && i < problems; i++) {
    if ((rc = rlvr_task_source_get(src, RLVR_TASK_SPLIT_HELDOUT, (uint64_t)i, &items[i]))) break;
    char *text = rlvr_task_template_prompt(tpl, items[i].prompt), *rendered = NULL;
    size_t len = strlen(text);
    if (chat) {
      rlvr_chat_message msg = {"user", text};
      rc = rlvr_chat_apply(chat, &msg, 1, 1, &rendered, &len);
    }
    size_t n = 0;
    if (!rc) rc = rlvr_tokenizer_encode_alloc(tok, rendered ? rendered : text, len, !chat, &prompts[i], &n);
    free(text), free(rendered);
    if (!rc && (n == 0 || (int)n + max_new > m->cfg.max_position))
      rc = rlvr_error(RLVR_ERR_RANGE, "sft eval: held-out item %d: prompt of %zu tokens plus sample.max_tokens %d "
                      "does not fit the model's %d positions", i, n, max_new, m->cfg.max_position);
    plen[i] = (int)n;
  }
  rlvr_sft_probe_result res = {.problems = problems, .samples = samples};
  if (!rc) {
    rlvr_verify_host *h = rlvr_host_build(&vo);
    const int njobs = problems * (samples > 1 ? samples : 1);
    int *job_prompt = xmalloc((size_t)njobs * sizeof(int)), *job_sample = xmalloc((size_t)njobs * sizeof(int));
    int32_t *out = xmalloc((size_t)njobs * max_new * sizeof(int32_t));
    int *count = xmalloc((size_t)njobs * sizeof(int));
    const uint64_t seed = cfg->sample_seed ? (uint64_t)cfg->sample_seed : (uint64_t)cfg->run_seed;
    /* greedy */
    for (int i = 0; i < problems; i++) job_prompt[i] = i, job_sample[i] = 0;
    rlvr_sampling greedy = {0.0f, 0, 1.0f};
    rc = rlvr_sft_generate(m, prompts, plen, job_prompt, job_sample, problems, &greedy, seed, max_new, eos, neos, out, count);
    double acc = 0, fmt = 0, ntok = 0;
    for (int i = 0; !rc && i < problems; i++) {
      int wf;
      acc += score(h, tok, &items[i], out + (size_t)i * max_new, count[i], &wf);
      fmt += !wf;
      ntok += count[i];
    }
    res.greedy_accuracy = acc / problems;
    res.greedy_format = fmt / problems;
    res.greedy_tokens = ntok / problems;
    /* sampled */
    if (!rc && samples > 0) {
      rlvr_sampling sp = {(float)cfg->sample_temperature, (int)cfg->sample_top_k, (float)cfg->sample_top_p};
      if ((rc = rlvr_sampling_validate(&sp)) == RLVR_OK) {
        for (int j = 0; j < njobs; j++) job_prompt[j] = j / samples, job_sample[j] = j % samples;
        rc = rlvr_sft_generate(m, prompts, plen, job_prompt, job_sample, njobs, &sp, seed, max_new, eos, neos, out, count);
      }
      double sum = 0, pass = 0, mixed = 0;
      for (int i = 0; !rc && i < problems; i++) {
        double best = 0, lo = 1, hi = 0;
        for (int s = 0; s < samples; s++) {
          const int j = i * samples + s;
          double v = score(h, tok, &items[i], out + (size_t)j * max_new, count[j], NULL);
          sum += v;
          if (v > best) best = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        pass += best >= 1.0;
        mixed += hi > lo;
      }
      res.sampled_accuracy = sum / njobs;
      res.pass_at_k = pass / problems;
      res.mixed_groups = mixed / problems;
    }
    free(count), free(out), free(job_sample), free(job_prompt);
    rlvr_host_free(h);
  }
  for (int i = 0; i < problems; i++) {
    rlvr_task_item_clear(&items[i]);
    free(prompts[i]);
  }
  free(items), free(prompts), free(plen);
  rlvr_chat_free_template(chat);
  rlvr_task_template_free(tpl);
  rlvr_task_source_free(src);
  if (rc) return rc;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  res.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  *r = res;
  return RLVR_OK;
}
