/* fake_worker.c — see fake_worker.h. */
#include "fake_worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/forward.h"
#include "rewards/advantage.h"

void *fake_sampler_new(int V);
void fake_sampler_free(void *s);
int fake_sample_token(void *s, const float *logits, float temperature, int top_k, float top_p, rlvr_rng *rng);

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fake_sample_seed(uint64_t seed, uint64_t group_id, int index) {
  return mix64(mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ group_id) ^ (uint64_t)index);
}

void fake_worker_init(fake_worker *w, const char *id, int mode) {
  memset(w, 0, sizeof *w);
  w->mode = mode;
  snprintf(w->id, sizeof w->id, "%s", id);
}

static void release(fake_worker *w) {
  for (int i = 0; i < w->nblocks; i++) free(w->blocks[i]);
  free(w->blocks);
  free(w->groups);
  free(w->samples);
  free(w->comps);
  w->blocks = NULL, w->nblocks = 0, w->groups = NULL, w->samples = NULL, w->comps = NULL;
}

static void *keep(fake_worker *w, size_t n) {
  w->blocks = xrealloc(w->blocks, (size_t)(w->nblocks + 1) * sizeof *w->blocks);
  void *p = xcalloc(1, n ? n : 1);
  w->blocks[w->nblocks++] = p;
  return p;
}

void fake_worker_set_weights(fake_worker *w, uint64_t version, const rlvr_model *m) {
  if (!w->have_weights) {
    rlvr_model_alloc(&w->model, &m->cfg);
    w->sampler = fake_sampler_new(m->cfg.vocab_size);
    w->have_weights = 1;
  }
  memcpy(w->model.params_memory, m->params_memory, m->num_params * sizeof(float));
  w->version = version;
}

void fake_worker_free(fake_worker *w) {
  release(w);
  if (w->ds_batch) rlvr_decode_free(&w->ds);
  if (w->have_weights) rlvr_model_free(&w->model);
  fake_sampler_free(w->sampler);
  memset(w, 0, sizeof *w);
}

static double reward_of(int mode, uint64_t group_id, const int32_t *tok, int n) {
  if (mode == FAKE_REWARD_FLAT || (mode == FAKE_REWARD_HALF_FLAT && group_id % 2 == 0)) return 0.0;
  if (n == 0) return 0.0;
  int good = 0;
  for (int i = 0; i < n; i++) good += tok[i] % 4 == 0;
  return (double)good / n;
}

int fake_worker_run(fake_worker *w, const rlvr_msg_work *work, rlvr_msg *out) {
  RLVR_CHECK(w->have_weights && w->version == work->policy_version, "fake worker holds version %llu, work wants %llu",
             (unsigned long long)w->version, (unsigned long long)work->policy_version);
  release(w);
  const rlvr_model *m = &w->model;
  const int V = m->cfg.vocab_size, maxT = (int)work->sampling.max_tokens;
  const float T = (float)work->sampling.temperature;
  const int ng = (int)work->ngroups;
  int G = 0;
  for (int i = 0; i < ng; i++)
    if ((int)work->groups[i].g > G) G = (int)work->groups[i].g;
  if (w->ds_batch < G) {
    if (w->ds_batch) rlvr_decode_free(&w->ds);
    rlvr_decode_build(&w->ds, &m->cfg, G, m->cfg.max_position, 256);
    w->ds_batch = G;
  }
  float *logits = malloc(sizeof(float) * (size_t)G * V), *row = malloc(sizeof(float) * V),
        *scratch = malloc(sizeof(float) * V);
  w->groups = xcalloc((size_t)ng, sizeof *w->groups);
  w->samples = xcalloc((size_t)ng * G, sizeof *w->samples);
  w->comps = xcalloc((size_t)ng * G, sizeof *w->comps);
  int rc = RLVR_OK;
  for (int gi = 0; gi < ng && rc == RLVR_OK; gi++) {
    const rlvr_prompt_group *pg = &work->groups[gi];
    const int g = (int)pg->g, np = (int)pg->nprompt;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int *slots = malloc(sizeof(int) * g), *lens = malloc(sizeof(int) * g), *prompts = malloc(sizeof(int) * g * np);
    for (int s = 0; s < g; s++) {
      slots[s] = s;
      lens[s] = np;
      for (int t = 0; t < np; t++) prompts[s * np + t] = pg->prompt_ids[t];
    }
    rc = rlvr_decode_prefill(&w->ds, m, slots, prompts, lens, g, np, logits);
    int32_t *toks = keep(w, sizeof(int32_t) * g * maxT);
    uint8_t *mask = keep(w, (size_t)g * maxT);
    float *lps = keep(w, sizeof(float) * g * maxT);
    int *count = calloc((size_t)g, sizeof(int)), *done = calloc((size_t)g, sizeof(int));
    rlvr_rng *rngs = malloc(sizeof(rlvr_rng) * g);
    for (int s = 0; s < g; s++) rlvr_rng_seed(&rngs[s], fake_sample_seed(work->sampling.seed, pg->group_id, s));
    int active = g;
    /* logits row i belongs to the i-th still-active sample, in slot order */
    while (rc == RLVR_OK && active > 0) {
      int act[1024], nxt[1024], na = 0, ri = 0;
      for (int s = 0; s < g; s++) {
        if (done[s]) continue;
        const float *z = logits + (size_t)ri++ * V;
        int tok = fake_sample_token(w->sampler, z, T, (int)work->sampling.top_k, (float)work->sampling.top_p, &rngs[s]);
        memcpy(row, z, sizeof(float) * V);
        rlvr_logits_temperature(row, V, T);
        lps[s * maxT + count[s]] = rlvr_decode_logprob(row, V, tok, scratch);
        toks[s * maxT + count[s]] = tok;
        mask[s * maxT + count[s]] = 1;
        count[s]++;
        int is_eos = 0;
        for (int e = 0; e < m->cfg.num_eos; e++) is_eos |= tok == m->cfg.eos_token_ids[e];
        if (is_eos || count[s] >= maxT || np + count[s] >= m->cfg.max_position) {
          done[s] = is_eos ? 1 : 2;
          active--;
        } else {
          act[na] = s, nxt[na++] = tok;
        }
      }
      if (na) rc = rlvr_decode_step(&w->ds, m, act, nxt, na, logits);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double rewards[1024], adv[1024];
    for (int s = 0; s < g; s++) rewards[s] = reward_of(w->mode, pg->group_id, toks + s * maxT, count[s]);
    rlvr_advantage_config ac = {RLVR_ADVANTAGE_GRPO, 1e-4, 0};
    rlvr_advantage_compute(&ac, rewards, NULL, g, 1, adv, NULL, NULL);
    rlvr_traj_group *tg = &w->groups[gi];
    tg->group_id = pg->group_id;
    tg->prompt_ids = pg->prompt_ids;
    tg->nprompt = pg->nprompt;
    tg->samples = w->samples + (size_t)gi * G;
    tg->nsamples = (uint32_t)g;
    rlvr_named_value *tim = keep(w, sizeof(rlvr_named_value));
    tim->name = "generate";
    tim->value = secs / g;
    for (int s = 0; s < g; s++) {
      rlvr_sample *sm = &w->samples[(size_t)gi * G + s];
      sm->tokens = toks + s * maxT;
      sm->mask = mask + s * maxT;
      sm->logprobs = lps + s * maxT;
      sm->ntokens = (uint32_t)count[s];
      sm->reward = rewards[s];
      rlvr_named_value *c = &w->comps[(size_t)gi * G + s];
      c->name = "accuracy";
      c->value = rewards[s];
      sm->components = c;
      sm->ncomponents = 1;
      sm->advantage = adv[s];
      sm->verifier = "fake";
      sm->verifier_version = "1";
      sm->verifier_status = RLVR_VERIFIER_STATUS_OK;
      sm->seed = fake_sample_seed(work->sampling.seed, pg->group_id, s);
      sm->finish = done[s] == 1 ? RLVR_FINISH_EOS : RLVR_FINISH_LENGTH;
      sm->timings = tim;
      sm->ntimings = 1;
    }
    free(slots), free(lens), free(prompts), free(count), free(done), free(rngs);
  }
  free(logits), free(row), free(scratch);
  memset(out, 0, sizeof *out);
  out->type = RLVR_MSG_TRAJECTORIES;
  out->trajectories.work_id = work->work_id;
  out->trajectories.worker_id = w->id;
  out->trajectories.policy_version = w->version;
  out->trajectories.groups = w->groups;
  out->trajectories.ngroups = (uint32_t)ng;
  return rc;
}
