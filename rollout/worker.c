/* worker.c — the rollout worker; see worker.h.
 *
 * rlvr_worker_process: engine request from the work's groups and sampling
 * settings -> completions decoded to text -> verifier items (one per sample,
 * plus one per sample for the format verifier when the format weight is not
 * 0) scored by the pool in chunks (ticks between them) -> rewards composed
 * -> each group's vote (rollout/consensus.h: maj@G and pass@G against the
 * label, and for the consensus verifier the pseudo-label scores that replace
 * the verifier's) -> rewards composed and advantages computed per group ->
 * the trajectories message.
 *
 * Every array the message points to is grown per work, never per token. */
#include "rollout/worker.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "rollout/consensus.h"
#include "rollout/cuda_source.h"
#include "rollout/value.h"

/* Named values per sample: 3 reward components, up to 2 label statistics
 * ("correct", "majority_correct": sent as components of weight 0 when the
 * group has a label), then 2 timings. */
enum { NCOMP = RLVR_REWARD_NCOMPONENTS, NLABEL = 2, NTIME = 2, NNAMED = NCOMP + NLABEL + NTIME };

struct rlvr_worker {
  rlvr_worker_options o;
  rlvr_worker_deps d;
  rlvr_policy_source ps; /* the model on the CPU or the GPU (own_source) */
  int own_source;
  rlvr_engine *engine;
  int has_version;
  uint64_t version;
  int wsync;              /* GPU weight sync joined: 1 NCCL, 2 CUDA IPC (rollout/cuda_source.h) */
  int weights_incomplete; /* a GPU transfer failed midway: no sampling until a version lands */
  void (*tick)(void *ctx);
  void *tick_ctx;
  void (*on_version)(void *ctx, rlvr_worker *w, uint64_t version);
  void *on_version_ctx;
  rlvr_worker_stats stats;

  /* per work, grown */
  size_t gcap, scap;
  rlvr_engine_group *egroups;   /* (gcap) */
  rlvr_traj_group *tgroups;     /* (gcap) */
  char **ref_json, **meta_json; /* (gcap) JSON text of map references and metas, or NULL */
  char **verifier;              /* (gcap) copies of the groups' verifier names */
  rlvr_sample *samples;         /* (scap) */
  rlvr_named_value *named;      /* (scap, NNAMED) */
  char **texts;                 /* (scap) decoded completions */
  char **fmt_texts;             /* (scap) what the format verifier sees */
  rlvr_verify_item *items;      /* (2 scap) */
  rlvr_verify_result *results;  /* (2 scap) */
  size_t nresults;              /* filled results to clear */
  rlvr_reward_input *rin;       /* (scap) */
  rlvr_reward *rout;            /* (scap) */
  double *rewards, *adv;        /* (scap) */
  uint8_t *excluded;            /* (scap) */
  char **answers;               /* (scap) the answer each sample votes with, or NULL */
  int *correct;                 /* (scap) right against the label (score >= 0.5, scored) */
  double *agree;                /* (scap) consensus groups: agrees with the pseudo-label */
  uint8_t *labelled;            /* (gcap) the group has a label: correct/majority_correct mean something */
  uint8_t *majority_correct;    /* (gcap) the group's majority answer is right */
  uint8_t *consensus;           /* (gcap) the group's verifier is the consensus verifier */
};

static double now_s(void) { return (double)rlvr_time_ms() / 1000.0; }

/* ------------------------------------------------------------------------ */
/* Options, build, free                                                     */
/* ------------------------------------------------------------------------ */

int rlvr_worker_options_from_config(rlvr_worker_options *o, const rlvr_config *c, const rlvr_model_config *mc) {
  rlvr_worker_options t;
  memset(&t, 0, sizeof t);
  if (c->rollout_slots < 1 || c->rollout_slots > 1024)
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.slots must be in 1..1024, is %lld", (long long)c->rollout_slots);
  if (c->rollout_max_seq < 0) return rlvr_error(RLVR_ERR_CONFIG, "rollout.max_seq must be >= 0, is %lld", (long long)c->rollout_max_seq);
  if (c->rollout_max_groups < 1 || c->rollout_max_groups > RLVR_PROTO_MAX_GROUPS)
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.max_groups must be in 1..%d, is %lld", RLVR_PROTO_MAX_GROUPS,
                      (long long)c->rollout_max_groups);
  if (c->rollout_weights_timeout_ms < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.weights_timeout_ms must be >= 0, is %lld", (long long)c->rollout_weights_timeout_ms);
  if (c->rollout_max_works < 0) return rlvr_error(RLVR_ERR_CONFIG, "rollout.max_works must be >= 0");
  if (strlen(c->rollout_format_verifier) >= sizeof t.format_verifier || !c->rollout_format_verifier[0])
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.format_verifier must be a verifier name of 1..63 bytes");
  t.slots = (int)c->rollout_slots;
  t.max_seq = (int)c->rollout_max_seq;
  if (t.max_seq == 0 || t.max_seq > mc->max_position) t.max_seq = mc->max_position;
  t.share_prefill = c->rollout_share_prefill;
  t.max_groups = (int)c->rollout_max_groups;
  snprintf(t.format_verifier, sizeof t.format_verifier, "%s", c->rollout_format_verifier);
  t.weights_timeout_ms = (int)c->rollout_weights_timeout_ms;
  t.max_works = c->rollout_max_works;
  int rc = rlvr_rollout_device_from_config(c, &t.cuda); /* rollout.device, rollout.dtype */
  if (rc) return rc;
  snprintf(t.dtype, sizeof t.dtype, "%s", c->rollout_dtype);
  if (c->rollout_id[0]) {
    if (strlen(c->rollout_id) >= sizeof t.id)
      return rlvr_error(RLVR_ERR_CONFIG, "rollout.id is longer than %d bytes", RLVR_WORKER_ID_MAX - 1);
    snprintf(t.id, sizeof t.id, "%s", c->rollout_id);
  } else {
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(t.id, sizeof t.id, "rollout-%s-%d", host, (int)getpid());
  }
  *o = t;
  return RLVR_OK;
}

rlvr_worker *rlvr_worker_build(const rlvr_worker_options *o, const rlvr_worker_deps *d) {
  RLVR_CHECK(d->tok && d->pool && (d->model || d->src), "a worker needs a tokenizer, a pool and a model or a source");
  rlvr_worker *w = xcalloc(1, sizeof *w);
  w->o = *o;
  w->d = *d;
  const rlvr_logits_source *src = d->src;
  if (!src) {
    const int rc = rlvr_policy_source_build(&w->ps, d->model, o->cuda, o->dtype, o->slots, o->max_seq);
    RLVR_CHECK(rc == RLVR_OK, "rollout worker: %s (rlvr_worker_options_from_config checks rollout.device)",
               rlvr_error_message());
    w->own_source = 1;
    src = w->ps.src;
  }
  w->engine = rlvr_engine_build(src, d->tok, d->eos, d->neos, o->share_prefill);
  return w;
}

static void clear_work(rlvr_worker *w) {
  for (size_t i = 0; i < w->gcap; i++) {
    free(w->ref_json[i]), free(w->meta_json[i]), free(w->verifier[i]);
    w->ref_json[i] = w->meta_json[i] = w->verifier[i] = NULL;
  }
  for (size_t i = 0; i < w->scap; i++) {
    free(w->texts[i]), free(w->fmt_texts[i]), free(w->answers[i]);
    w->texts[i] = w->fmt_texts[i] = w->answers[i] = NULL;
  }
  if (w->results) rlvr_verify_results_clear(w->results, w->nresults);
  w->nresults = 0;
}

void rlvr_worker_free(rlvr_worker *w) {
  if (!w) return;
  clear_work(w);
  rlvr_engine_free(w->engine);
  if (w->own_source) rlvr_policy_source_free(&w->ps);
  free(w->egroups), free(w->tgroups), free(w->ref_json), free(w->meta_json), free(w->verifier);
  free(w->samples), free(w->named), free(w->texts), free(w->fmt_texts), free(w->items), free(w->results);
  free(w->rin), free(w->rout), free(w->rewards), free(w->adv), free(w->excluded);
  free(w->answers), free(w->correct), free(w->agree), free(w->labelled), free(w->majority_correct), free(w->consensus);
  free(w);
}

static void grow(rlvr_worker *w, size_t ngroups, size_t nsamples) {
  if (ngroups > w->gcap) {
    w->egroups = xrealloc(w->egroups, ngroups * sizeof *w->egroups);
    w->tgroups = xrealloc(w->tgroups, ngroups * sizeof *w->tgroups);
    w->ref_json = xrealloc(w->ref_json, ngroups * sizeof *w->ref_json);
    w->meta_json = xrealloc(w->meta_json, ngroups * sizeof *w->meta_json);
    w->verifier = xrealloc(w->verifier, ngroups * sizeof *w->verifier);
    for (size_t i = w->gcap; i < ngroups; i++) w->ref_json[i] = w->meta_json[i] = w->verifier[i] = NULL;
    w->labelled = xrealloc(w->labelled, ngroups);
    w->majority_correct = xrealloc(w->majority_correct, ngroups);
    w->consensus = xrealloc(w->consensus, ngroups);
    w->gcap = ngroups;
  }
  if (nsamples > w->scap) {
    w->samples = xrealloc(w->samples, nsamples * sizeof *w->samples);
    w->named = xrealloc(w->named, nsamples * NNAMED * sizeof *w->named);
    w->texts = xrealloc(w->texts, nsamples * sizeof *w->texts);
    w->fmt_texts = xrealloc(w->fmt_texts, nsamples * sizeof *w->fmt_texts);
    w->answers = xrealloc(w->answers, nsamples * sizeof *w->answers);
    for (size_t i = w->scap; i < nsamples; i++) w->texts[i] = w->fmt_texts[i] = w->answers[i] = NULL;
    w->correct = xrealloc(w->correct, nsamples * sizeof *w->correct);
    w->agree = xrealloc(w->agree, nsamples * sizeof *w->agree);
    w->items = xrealloc(w->items, 2 * nsamples * sizeof *w->items);
    w->results = xrealloc(w->results, 2 * nsamples * sizeof *w->results);
    memset(w->results, 0, 2 * nsamples * sizeof *w->results);
    w->rin = xrealloc(w->rin, nsamples * sizeof *w->rin);
    w->rout = xrealloc(w->rout, nsamples * sizeof *w->rout);
    w->rewards = xrealloc(w->rewards, nsamples * sizeof *w->rewards);
    w->adv = xrealloc(w->adv, nsamples * sizeof *w->adv);
    w->excluded = xrealloc(w->excluded, nsamples * sizeof *w->excluded);
    w->scap = nsamples;
  }
}

int rlvr_worker_version(const rlvr_worker *w, uint64_t *version) {
  if (!w->has_version) return 0;
  *version = w->version;
  return 1;
}

void rlvr_worker_set_version(rlvr_worker *w, uint64_t v) {
  w->has_version = 1;
  w->version = v;
  if (w->own_source) rlvr_policy_source_sync(&w->ps); /* the GPU's copy of the weights */
}

void rlvr_worker_set_on_version(rlvr_worker *w, void (*fn)(void *ctx, rlvr_worker *w, uint64_t version),
                                void *ctx) {
  w->on_version = fn;
  w->on_version_ctx = ctx;
}

int rlvr_worker_download_bf16(rlvr_worker *w, uint16_t *out) {
  if (!w->own_source || !w->ps.gpu)
    return rlvr_error(RLVR_ERR_UNSUPPORTED, "worker %s: its weights are not on a GPU", w->o.id);
  return rlvr_cuda_source_download_bf16(w->ps.gpu, out);
}

void rlvr_worker_set_tick(rlvr_worker *w, void (*tick)(void *ctx), void *ctx) {
  w->tick = tick;
  w->tick_ctx = ctx;
  rlvr_engine_set_tick(w->engine, tick, ctx);
}

void rlvr_worker_get_stats(const rlvr_worker *w, rlvr_worker_stats *st) { *st = w->stats; }

/* ------------------------------------------------------------------------ */
/* Weights                                                                  */
/* ------------------------------------------------------------------------ */

static void shape_text(char *out, size_t cap, const int64_t *shape, int ndim) {
  size_t k = (size_t)snprintf(out, cap, "(");
  for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(out + k, cap - k, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (k < cap) snprintf(out + k, cap - k, ")");
}

int rlvr_worker_apply_weights(rlvr_worker *w, const rlvr_msg_weights *m, int check_crc) {
  rlvr_model *model = w->d.model;
  if (!model) return rlvr_error(RLVR_ERR_ARG, "weights version %" PRIu64 ": this worker has no model to write into", m->version);
  const int nt = model->num_tensors;
  int *which = xmalloc(sizeof(int) * (m->ntensors ? m->ntensors : 1));
  uint8_t *seen = xcalloc((size_t)nt, 1);
  int rc = RLVR_OK;
  for (uint32_t i = 0; i < m->ntensors && !rc; i++) {
    const rlvr_tensor *t = &m->tensors[i];
    const rlvr_tensor_info *info = rlvr_model_find_tensor(model, t->name);
    if (!info) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s is not a tensor of this model", m->version, t->name);
      break;
    }
    const int k = (int)(info - model->tensors);
    if (seen[k]) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s given twice", m->version, t->name);
      break;
    }
    seen[k] = 1;
    which[i] = k;
    int same = t->ndim == info->ndim;
    for (int dd = 0; same && dd < t->ndim; dd++) same = t->shape[dd] == info->shape[dd];
    if (!same) {
      char got[96], want[64];
      shape_text(got, sizeof got, t->shape, t->ndim);
      shape_text(want, sizeof want, info->shape, info->ndim);
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s has shape %s, the model's is %s",
                      m->version, t->name, got, want);
      break;
    }
    if (t->dtype != RLVR_DTYPE_F32 && t->dtype != RLVR_DTYPE_BF16 && t->dtype != RLVR_DTYPE_F16) {
      rc = rlvr_error(RLVR_ERR_UNSUPPORTED, "weights version %" PRIu64 ": tensor %s has dtype %s (F32, BF16 or F16 only)",
                      m->version, t->name, rlvr_dtype_name(t->dtype));
      break;
    }
    if (t->nbytes != info->numel * rlvr_dtype_size(t->dtype)) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s has %zu bytes, want %zu", m->version,
                      t->name, t->nbytes, info->numel * rlvr_dtype_size(t->dtype));
      break;
    }
    if (check_crc && rlvr_crc32c(0, t->data, t->nbytes) != t->crc32c) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s fails its CRC-32C", m->version, t->name);
      break;
    }
  }
  for (int k = 0; k < nt && !rc; k++)
    if (!seen[k])
      rc = rlvr_error(RLVR_ERR_MISMATCH, "weights version %" PRIu64 ": tensor %s is missing", m->version, model->tensors[k].name);
  if (!rc) {
    for (uint32_t i = 0; i < m->ntensors; i++) {
      const rlvr_tensor *t = &m->tensors[i];
      const rlvr_tensor_info *info = &model->tensors[which[i]];
      float *dst = model->params_memory + info->offset;
      if (t->dtype == RLVR_DTYPE_F32) {
        memcpy(dst, t->data, t->nbytes);
      } else {
        const unsigned char *src = t->data;
        for (size_t j = 0; j < info->numel; j++) {
          uint16_t h;
          memcpy(&h, src + 2 * j, 2);
          dst[j] = t->dtype == RLVR_DTYPE_BF16 ? rlvr_bf16_to_f32(h) : rlvr_f16_to_f32(h);
        }
      }
    }
    w->has_version = 1;
    w->version = m->version;
    w->weights_incomplete = 0;
    w->stats.weights_applied++;
    if (w->own_source) rlvr_policy_source_sync(&w->ps); /* the GPU's copy of the weights */
    if (w->on_version) w->on_version(w->on_version_ctx, w, m->version);
  } else {
    w->stats.weights_rejected++;
  }
  free(which);
  free(seen);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* One work                                                                 */
/* ------------------------------------------------------------------------ */

/* The protocol carries the host's six statuses with the same numbers. */
static rlvr_verifier_status wire_status(rlvr_verify_status s) { return (rlvr_verifier_status)s; }

static rlvr_finish wire_finish(rlvr_engine_finish f) {
  switch (f) {
  case RLVR_ENGINE_EOS: return RLVR_FINISH_EOS;
  case RLVR_ENGINE_STOP: return RLVR_FINISH_STOP;
  case RLVR_ENGINE_LENGTH: return RLVR_FINISH_LENGTH;
  default: return RLVR_FINISH_BUDGET;
  }
}

/* 1 when text ends with "<think>" and blanks: the prompt opened the thinking,
 * so the completion's own "<think>" is in the prompt (r1 template). */
static int opens_thinking(const char *text, size_t len) {
  while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\t')) len--;
  return len >= 7 && memcmp(text + len - 7, "<think>", 7) == 0;
}

/* 1 when a verifier result's details say "labelled": true. */
static int details_labelled(const char *details) {
  if (!details) return 0;
  cJSON *d = cJSON_Parse(details);
  const int yes = d && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "labelled"));
  cJSON_Delete(d);
  return yes;
}

/* Group by group, after scoring: the answer each sample votes with, which
 * samples are right against the label, whether the majority answer is, and
 * for groups of the consensus verifier the pseudo-label scores (agree).
 * A group of another verifier is labelled (its verifier scored against a
 * reference); a consensus group is when its script saw a reference answer;
 * either only when at least one of its samples was scored (a group whose
 * verifier never ran says nothing about the label). */
static void vote_groups(rlvr_worker *w, const rlvr_msg_work *work, int nres) {
  size_t at = 0;
  for (uint32_t g = 0; g < work->ngroups; g++) {
    const int G = (int)work->groups[g].g;
    const int cons = !strcmp(w->verifier[g], RLVR_CONSENSUS_VERIFIER);
    int labelled = 0;
    for (int i = 0; i < G; i++) {
      const size_t k = at + (size_t)i;
      const rlvr_verify_result *r = &w->results[k];
      const int scored = rlvr_verify_status_is_scored(r->status);
      /* an infrastructure failure does not vote and counts as wrong, as in rlvr eval */
      w->answers[k] = scored ? rlvr_consensus_sample_answer(r->details, w->texts[k], strlen(w->texts[k]), !cons) : NULL;
      w->correct[k] = scored && r->score >= 0.5;
      if (scored && !labelled && (!cons || details_labelled(r->details))) labelled = 1;
    }
    const char *const *ans = (const char *const *)(w->answers + at);
    int maj = 0;
    if (cons) {
      const int win = rlvr_consensus_rewards(ans, G, w->agree + at, NULL);
      maj = win >= 0 && w->correct[at + (size_t)win];
    } else {
      int any; /* pass@G: the learner takes it from the samples' "correct" */
      rlvr_consensus_group_label_stats(ans, w->correct + at, G, &maj, &any);
    }
    w->consensus[g] = (uint8_t)cons;
    w->labelled[g] = (uint8_t)labelled;
    w->majority_correct[g] = (uint8_t)(labelled && maj);
    at += (size_t)G;
  }
  RLVR_CHECK(at == (size_t)nres);
}

/* Scores items in chunks, ticking between them. */
static void score_items(rlvr_worker *w, size_t n) {
  int workers = rlvr_pool_workers(w->d.pool);
  size_t chunk = (size_t)(workers > 0 ? workers : 1) * 4;
  for (size_t at = 0; at < n; at += chunk) {
    size_t k = n - at < chunk ? n - at : chunk;
    rlvr_pool_score(w->d.pool, w->items + at, k, w->results + at);
    w->nresults = at + k;
    if (w->tick) w->tick(w->tick_ctx);
  }
}

int rlvr_worker_process(rlvr_worker *w, const rlvr_msg_work *work, rlvr_msg *out) {
  memset(out, 0, sizeof *out);
  clear_work(w);
  if (w->weights_incomplete)
    return rlvr_error(RLVR_ERR_MISMATCH, "work %" PRIu64 ": this worker's weights are incomplete (a GPU weight sync "
                      "transfer failed); it waits for the next version", work->work_id);
  if (w->has_version && w->version != work->policy_version)
    return rlvr_error(RLVR_ERR_MISMATCH, "work %" PRIu64 " asks for policy version %" PRIu64 ", this worker holds %" PRIu64,
                      work->work_id, work->policy_version, w->version);
  const rlvr_msg_sampling *ws = &work->sampling;
  rlvr_engine_params p;
  rlvr_engine_params_default(&p);
  p.temperature = (float)ws->temperature;
  p.top_k = ws->top_k > (uint32_t)INT32_MAX ? INT32_MAX : (int)ws->top_k;
  p.top_p = (float)ws->top_p;
  p.max_tokens = ws->max_tokens > (uint32_t)INT32_MAX ? INT32_MAX : (int)ws->max_tokens;
  p.seed = ws->seed;
  p.stop = ws->stop;
  p.nstop = ws->nstop;
  if (ws->has_budget) {
    p.budget = 1;
    p.min_think_tokens = (int)ws->budget.min_think_tokens;
    p.max_waits = (int)ws->budget.max_waits;
    p.max_think_tokens = (int)ws->budget.max_think_tokens;
    p.think_end = ws->budget.think_end_text;
    p.wait_text = ws->budget.wait_text;
    p.answer_prefix = ws->budget.answer_prefix;
  }
  size_t total = 0;
  for (uint32_t g = 0; g < work->ngroups; g++) total += work->groups[g].g;
  grow(w, work->ngroups, total);
  for (uint32_t g = 0; g < work->ngroups; g++) {
    const rlvr_prompt_group *pg = &work->groups[g];
    w->egroups[g] = (rlvr_engine_group){.group_id = pg->group_id, .prompt = pg->prompt_ids,
                                        .nprompt = (int)pg->nprompt, .g = (int)pg->g};
    int rc = RLVR_OK;
    size_t len;
    char what[96];
    if (pg->reference_map.len) {
      snprintf(what, sizeof what, "work %" PRIu64 " group %" PRIu64 " reference", work->work_id, pg->group_id);
      rc = rlvr_msgpack_to_json(pg->reference_map.msgpack, pg->reference_map.len, what, &w->ref_json[g], &len);
    }
    if (!rc && pg->meta.len) {
      snprintf(what, sizeof what, "work %" PRIu64 " group %" PRIu64 " meta", work->work_id, pg->group_id);
      rc = rlvr_msgpack_to_json(pg->meta.msgpack, pg->meta.len, what, &w->meta_json[g], &len);
    }
    w->verifier[g] = xstrdup(pg->verifier);
    if (rc) {
      clear_work(w);
      return rc;
    }
  }

  const double t0 = now_s();
  rlvr_engine_sample *res;
  int nres;
  int rc = rlvr_engine_generate(w->engine, &p, w->egroups, (int)work->ngroups, &res, &nres);
  if (rc) {
    clear_work(w);
    return rlvr_error_wrap(rc, "work %" PRIu64, work->work_id);
  }
  const double t1 = now_s();
  RLVR_CHECK((size_t)nres == total);

  /* Verifier items: the completion as text (special tokens dropped). */
  const int with_format = w->d.reward.weight[RLVR_REWARD_FORMAT] != 0.0;
  size_t nitems = 0;
  for (int k = 0; k < nres; k++) {
    const rlvr_engine_sample *o = &res[k];
    const rlvr_prompt_group *pg = &work->groups[o->group];
    size_t len;
    rlvr_tokenizer_decode(w->d.tok, o->tokens, (size_t)o->ntokens, 1, &w->texts[k], &len);
    rlvr_verify_item *it = &w->items[nitems++];
    memset(it, 0, sizeof *it);
    it->verifier = w->verifier[o->group];
    it->completion = w->texts[k];
    it->completion_len = len;
    if (w->ref_json[o->group]) {
      it->reference = w->ref_json[o->group];
      it->reference_len = strlen(it->reference);
      it->reference_json = 1;
    } else {
      it->reference = pg->reference;
      it->reference_len = pg->reference_len;
    }
    if (w->meta_json[o->group]) {
      it->meta = w->meta_json[o->group];
      it->meta_len = strlen(it->meta);
    }
  }
  if (with_format) {
    for (int k = 0; k < nres; k++) {
      const rlvr_prompt_group *pg = &work->groups[res[k].group];
      const int open = opens_thinking(pg->prompt, pg->prompt_len);
      const size_t n = strlen(w->texts[k]);
      w->fmt_texts[k] = xmalloc(n + 8);
      memcpy(w->fmt_texts[k], "<think>", open ? 7 : 0);
      memcpy(w->fmt_texts[k] + (open ? 7 : 0), w->texts[k], n + 1);
      rlvr_verify_item *it = &w->items[nitems++];
      memset(it, 0, sizeof *it);
      it->verifier = w->o.format_verifier;
      it->completion = w->fmt_texts[k];
      it->completion_len = n + (open ? 7 : 0);
    }
  }
  score_items(w, nitems);
  vote_groups(w, work, nres);
  const double t2 = now_s();

  /* Rewards and advantages, group by group. */
  for (int k = 0; k < nres; k++) {
    const rlvr_verify_result *r = &w->results[k];
    double fmt = 0.0;
    if (with_format) {
      const rlvr_verify_result *f = &w->results[nres + k];
      fmt = rlvr_verify_status_is_scored(f->status) ? f->score : 0.0;
    }
    /* a consensus group trains on agreement with its pseudo-label, not on the label */
    const double score = w->consensus[res[k].group] ? w->agree[k] : r->score;
    w->rin[k] = (rlvr_reward_input){.status = (int)r->status, .score = score, .format = fmt, .length = res[k].ntokens};
  }
  if ((rc = rlvr_reward_compose(&w->d.reward, w->rin, nres, w->rout))) {
    /* scores come from the host, which keeps them in [0, 1]: a bug if not */
    RLVR_CHECK(0, "reward: %s", rlvr_error_message());
  }
  for (int k = 0; k < nres; k++) {
    w->rewards[k] = w->rout[k].reward;
    w->excluded[k] = (uint8_t)w->rout[k].excluded;
  }
  size_t at = 0;
  for (uint32_t g = 0; g < work->ngroups; g++) {
    const int G = (int)work->groups[g].g;
    rlvr_advantage_compute(&w->d.advantage, w->rewards + at, w->excluded + at, G, 1, w->adv + at, NULL, NULL);
    at += (size_t)G;
  }

  /* The message. */
  for (int k = 0; k < nres; k++) {
    const rlvr_engine_sample *o = &res[k];
    const rlvr_verify_result *r = &w->results[k];
    rlvr_named_value *nv = w->named + (size_t)k * NNAMED;
    for (int c = 0; c < NCOMP; c++) nv[c] = (rlvr_named_value){rlvr_reward_component_name(c), w->rout[k].component[c]};
    int ncomp = NCOMP;
    if (w->labelled[o->group]) {
      nv[ncomp++] = (rlvr_named_value){"correct", w->correct[k] ? 1.0 : 0.0};
      nv[ncomp++] = (rlvr_named_value){"majority_correct", w->majority_correct[o->group] ? 1.0 : 0.0};
    }
    nv[ncomp] = (rlvr_named_value){"generate", o->seconds};
    nv[ncomp + 1] = (rlvr_named_value){"verify", (double)r->elapsed_ns * 1e-9};
    w->samples[k] = (rlvr_sample){
        .tokens = o->tokens, .mask = o->mask, .logprobs = o->logprobs, .ntokens = (uint32_t)o->ntokens,
        .reward = w->rewards[k], .components = nv, .ncomponents = (uint32_t)ncomp, .advantage = w->adv[k],
        .verifier = w->verifier[o->group], .verifier_version = r->version[0] ? r->version : "unknown",
        .verifier_status = wire_status(r->status), .seed = o->seed, .finish = wire_finish(o->finish),
        .timings = nv + ncomp, .ntimings = NTIME,
    };
    w->stats.tokens += o->ntokens;
    w->stats.infra_failures += w->excluded[k];
  }
  at = 0;
  for (uint32_t g = 0; g < work->ngroups; g++) {
    const rlvr_prompt_group *pg = &work->groups[g];
    w->tgroups[g] = (rlvr_traj_group){.group_id = pg->group_id, .prompt_ids = pg->prompt_ids, .nprompt = pg->nprompt,
                                      .samples = w->samples + at, .nsamples = pg->g};
    at += pg->g;
  }
  out->type = RLVR_MSG_TRAJECTORIES;
  out->trajectories = (rlvr_msg_trajectories){.work_id = work->work_id, .worker_id = w->o.id,
                                              .policy_version = work->policy_version, .groups = w->tgroups,
                                              .ngroups = work->ngroups};
  w->stats.works++;
  w->stats.groups += work->ngroups;
  w->stats.samples += nres;
  w->stats.generate_s += t1 - t0;
  w->stats.verify_s += t2 - t1;
  return RLVR_OK;
}

void rlvr_rollout_budget_from_config(const rlvr_config *c, rlvr_budget *out) {
  const int64_t cap = RLVR_PROTO_MAX_TOKENS;
  *out = (rlvr_budget){
      .min_think_tokens = (uint32_t)(c->budget_min_think_tokens < 0 ? 0 : c->budget_min_think_tokens > cap ? cap : c->budget_min_think_tokens),
      .max_waits = (uint32_t)(c->budget_max_waits < 0 ? 0 : c->budget_max_waits > RLVR_PROTO_MAX_WAITS ? RLVR_PROTO_MAX_WAITS : c->budget_max_waits),
      .max_think_tokens = (uint32_t)(c->budget_max_think_tokens < 0 ? 0 : c->budget_max_think_tokens > cap ? cap : c->budget_max_think_tokens),
      .think_end_text = c->budget_think_end,
      .wait_text = c->budget_wait,
      .answer_prefix = c->budget_answer_prefix,
  };
}

/* ------------------------------------------------------------------------ */
/* Endpoints                                                                */
/* ------------------------------------------------------------------------ */

int rlvr_rollout_endpoints(const char *address, char work[RLVR_ENDPOINT_MAX], char traj[RLVR_ENDPOINT_MAX],
                           char weights[RLVR_ENDPOINT_MAX]) {
  char a[3][RLVR_ENDPOINT_MAX];
  const char *c1 = strchr(address, ',');
  if (c1) {
    const char *c2 = strchr(c1 + 1, ',');
    if (!c2 || strchr(c2 + 1, ','))
      return rlvr_error(RLVR_ERR_ARG, "endpoint '%s': a list must hold exactly three endpoints (work,traj,weights)", address);
    size_t n0 = (size_t)(c1 - address), n1 = (size_t)(c2 - c1 - 1), n2 = strlen(c2 + 1);
    if (!n0 || !n1 || !n2 || n0 >= RLVR_ENDPOINT_MAX || n1 >= RLVR_ENDPOINT_MAX || n2 >= RLVR_ENDPOINT_MAX)
      return rlvr_error(RLVR_ERR_ARG, "endpoint '%s': an empty or too long entry", address);
    memcpy(a[0], address, n0), a[0][n0] = 0;
    memcpy(a[1], c1 + 1, n1), a[1][n1] = 0;
    memcpy(a[2], c2 + 1, n2 + 1);
  } else if (!strncmp(address, "tcp://", 6)) {
    const char *colon = strrchr(address + 6, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == address + 6 || !colon[1] || *end || port < 1 || port > 65533)
      return rlvr_error(RLVR_ERR_ARG, "endpoint '%s': want tcp://HOST:PORT with PORT in 1..65533 (work PORT, trajectories PORT+1, weights PORT+2)", address);
    const int host = (int)(colon - address);
    if (host + 8 >= RLVR_ENDPOINT_MAX) return rlvr_error(RLVR_ERR_ARG, "endpoint '%s' is too long", address);
    for (int i = 0; i < 3; i++) snprintf(a[i], RLVR_ENDPOINT_MAX, "%.*s:%ld", host, address, port + i);
  } else if (!strncmp(address, "ipc://", 6) || !strncmp(address, "inproc://", 9)) {
    if (strlen(address) + 9 >= RLVR_ENDPOINT_MAX) return rlvr_error(RLVR_ERR_ARG, "endpoint '%s' is too long", address);
    if (!strcmp(address, "ipc://") || !strcmp(address, "inproc://")) return rlvr_error(RLVR_ERR_ARG, "endpoint '%s' has no path", address);
    snprintf(a[0], RLVR_ENDPOINT_MAX, "%s.work", address);
    snprintf(a[1], RLVR_ENDPOINT_MAX, "%s.traj", address);
    snprintf(a[2], RLVR_ENDPOINT_MAX, "%s.weights", address);
  } else {
    return rlvr_error(RLVR_ERR_ARG, "endpoint '%s': want tcp://HOST:PORT, ipc:///PATH, inproc://NAME or WORK,TRAJ,WEIGHTS", address);
  }
  memcpy(work, a[0], RLVR_ENDPOINT_MAX);
  memcpy(traj, a[1], RLVR_ENDPOINT_MAX);
  memcpy(weights, a[2], RLVR_ENDPOINT_MAX);
  return RLVR_OK;
}

/* ------------------------------------------------------------------------ */
/* The socket loop                                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
  rlvr_worker *w;
  rlvr_sock *work, *traj, *weights;
  const rlvr_transport_options *to;
  volatile sig_atomic_t *stop;
  int64_t next_hb;
  int64_t last_heard;
  int learner_lost;
  int done;
  rlvr_msg newest; /* the newest weights received and not yet applied */
} loop;

static void send_heartbeat(loop *L, rlvr_heartbeat_status st) {
  if (rlvr_sock_send_heartbeat(L->work, NULL, L->w->o.id, st) != RLVR_OK)
    rlvr_debug("rollout %s: heartbeat not sent: %s", L->w->o.id, rlvr_error_message());
  L->next_hb = rlvr_time_ms() + L->to->heartbeat_ms;
}

static void loop_tick(void *ctx) {
  loop *L = ctx;
  if (rlvr_time_ms() >= L->next_hb) send_heartbeat(L, RLVR_HEARTBEAT_BUSY);
}

static int send_hello(loop *L) {
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = 0;
  /* "wsync": this worker can take the learner's bf16 weights GPU to GPU
   * (a GPU source in bf16; learner/wsync_hub.h) */
  const int gpu = L->w->own_source && L->w->ps.gpu;
  const char *caps[3] = {"budget_forcing", gpu ? "cuda" : "cpu", "wsync"};
  const int ncaps = gpu && !strcmp(L->w->o.dtype, "bf16") ? 3 : 2;
  rlvr_msg m = {.type = RLVR_MSG_HELLO};
  m.hello = (rlvr_msg_hello){.role = RLVR_ROLE_WORKER, .id = L->w->o.id, .capabilities = caps, .ncapabilities = ncaps,
                             .pid = (uint32_t)getpid(), .host = host};
  return rlvr_sock_send(L->work, NULL, &m);
}

static int send_work_request(loop *L) {
  rlvr_msg m = {.type = RLVR_MSG_WORK_REQUEST};
  m.work_request = (rlvr_msg_work_request){.worker_id = L->w->o.id, .max_groups = (uint32_t)L->w->o.max_groups};
  m.work_request.has_policy_version = rlvr_worker_version(L->w, &m.work_request.policy_version);
  return rlvr_sock_send(L->work, NULL, &m);
}

static void send_error(loop *L, int code, const char *message, uint64_t work_id) {
  rlvr_msg m = {.type = RLVR_MSG_ERROR};
  m.error = (rlvr_msg_error){.code = code < 0 && code >= -1000 ? code : RLVR_ERR_ARG, .message = message,
                             .has_work_id = 1, .work_id = work_id};
  if (rlvr_sock_send(L->work, NULL, &m) != RLVR_OK)
    rlvr_warn("rollout %s: could not send an error to the learner: %s", L->w->o.id, rlvr_error_message());
}

static void send_wsync_ack(loop *L, int has_version, uint64_t version) {
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_ACK};
  m.wsync_ack = (rlvr_msg_wsync_ack){.worker_id = L->w->o.id, .has_version = has_version, .version = version};
  if (rlvr_sock_send(L->work, NULL, &m) != RLVR_OK)
    rlvr_warn("rollout %s: could not acknowledge to the learner: %s", L->w->o.id, rlvr_error_message());
}

/* An error about GPU weight sync (no work id). */
static void send_wsync_error(loop *L, int code, const char *message) {
  rlvr_msg m = {.type = RLVR_MSG_ERROR};
  m.error = (rlvr_msg_error){.code = code < 0 && code >= -1000 ? code : RLVR_ERR_ARG, .message = message};
  if (rlvr_sock_send(L->work, NULL, &m) != RLVR_OK)
    rlvr_warn("rollout %s: could not send an error to the learner: %s", L->w->o.id, rlvr_error_message());
}

/* wsync_init: join the learner's NCCL communicator or map its CUDA IPC
 * slots (rollout/cuda_source.h), then wsync_ack without a version; an
 * error message (naming the key, for a worker that is not on a GPU or not
 * in bf16) otherwise. The NCCL join waits up to the message's timeout. */
static void handle_wsync_init(loop *L, const rlvr_msg_wsync_init *m) {
  rlvr_worker *w = L->w;
  const int ipc = m->method == RLVR_WSYNC_METHOD_CUDA_IPC;
  char msg[768];
  if (w->own_source && w->ps.gpu) rlvr_cuda_source_wsync_leave(w->ps.gpu);
  w->wsync = 0;
  int rc;
  if (!w->own_source || !w->ps.gpu) {
    rc = rlvr_error(RLVR_ERR_CONFIG, "worker %s: the learner sends weights GPU to GPU (%s), which needs "
                    "rollout.device = \"cuda\" here; this worker generates on the CPU", w->o.id,
                    rlvr_wsync_method_name(m->method));
  } else {
    const rlvr_cuda_wsync_join j = {.ipc = ipc, .layout = m->layout, .bytes = m->bytes, .bucket_bytes = m->bucket_bytes,
                                    .timeout_ms = (int)m->timeout_ms, .unique_id = m->unique_id, .rank = (int)m->rank,
                                    .nranks = (int)m->nranks, .handle = m->handle, .device = m->device,
                                    .slots = (int)m->slots, .slot_bytes = m->slot_bytes};
    if (!ipc) rlvr_info("rollout %s: joining the learner's NCCL communicator as rank %u of %u", w->o.id, m->rank,
                        m->nranks);
    rc = rlvr_cuda_source_wsync_join(w->ps.gpu, &j, "the learner (rank 0)");
  }
  if (rc) {
    snprintf(msg, sizeof msg, "worker %s: weight sync (%s): %s", w->o.id, rlvr_wsync_method_name(m->method),
             rlvr_error_message());
    rlvr_warn("rollout: %s", msg);
    send_wsync_error(L, rc, msg);
    return;
  }
  w->wsync = ipc ? 2 : 1;
  L->last_heard = rlvr_time_ms(); /* the learner took part in the join: not a silence */
  rlvr_info("rollout %s: weight sync by %s set up", w->o.id, rlvr_wsync_method_name(m->method));
  send_wsync_ack(L, 0, 0);
}

/* wsync{version[, slot]}: the version into the GPU model, then wsync_ack. */
static void handle_wsync(loop *L, const rlvr_msg_wsync *m) {
  rlvr_worker *w = L->w;
  char msg[768];
  int rc;
  if (!w->wsync || (m->has_slot != (w->wsync == 2)))
    rc = rlvr_error(RLVR_ERR_PROTOCOL, "version %" PRIu64 " announced %s, but this worker has %s", m->version,
                    m->has_slot ? "in a CUDA IPC slot" : "by NCCL",
                    !w->wsync ? "not joined GPU weight sync" : w->wsync == 1 ? "joined NCCL" : "mapped CUDA IPC slots");
  else
    rc = rlvr_cuda_source_wsync_recv(w->ps.gpu, m->version, m->has_slot ? (int)m->slot : -1);
  if (rc) {
    if (w->wsync == 1) {
      w->weights_incomplete = 1; /* the broadcast wrote into the decode's weights */
      w->wsync = 0;              /* the communicator is gone */
    }
    w->stats.weights_rejected++;
    snprintf(msg, sizeof msg, "worker %s: weight sync of version %" PRIu64 ": %s", w->o.id, m->version,
             rlvr_error_message());
    rlvr_warn("rollout: %s", msg);
    send_wsync_error(L, rc, msg);
    return;
  }
  w->has_version = 1;
  w->version = m->version;
  w->weights_incomplete = 0;
  w->stats.weights_applied++;
  L->last_heard = rlvr_time_ms(); /* the learner took part in the transfer */
  rlvr_info("rollout %s: policy version %" PRIu64 " (%s)", w->o.id, m->version, w->wsync == 1 ? "NCCL" : "CUDA IPC");
  if (w->on_version) w->on_version(w->on_version_ctx, w, m->version);
  send_wsync_ack(L, 1, m->version);
}

static void send_stats(loop *L, double tokens_per_s) {
  rlvr_sock_counters cw, cs;
  rlvr_sock_get_counters(L->work, &cw);
  rlvr_sock_get_counters(L->weights, &cs);
  const rlvr_worker_stats *s = &L->w->stats;
  rlvr_named_value v[] = {
      {"tokens_per_s", tokens_per_s},
      {"works", (double)s->works},
      {"samples", (double)s->samples},
      {"generate_s", s->generate_s},
      {"verify_s", s->verify_s},
      {"infra_failures", (double)s->infra_failures},
      {"weights_applied", (double)s->weights_applied},
      {"weights_rejected", (double)s->weights_rejected},
      {"rejected_work_messages", (double)cw.rejected},
      {"rejected_weights_messages", (double)cs.rejected},
  };
  rlvr_msg m = {.type = RLVR_MSG_STATS};
  m.stats = (rlvr_msg_stats){.sender = L->w->o.id, .values = v, .nvalues = sizeof v / sizeof v[0]};
  if (rlvr_sock_send(L->work, NULL, &m) != RLVR_OK) rlvr_debug("rollout: stats not sent: %s", rlvr_error_message());
}

/* Reads every queued message on the weights channel: keeps the newest
 * weights, notes a shutdown. */
static void drain_weights(loop *L) {
  rlvr_msg m;
  while (rlvr_sock_recv(L->weights, &m, NULL, 0) == RLVR_OK) {
    if (m.type == RLVR_MSG_SHUTDOWN) {
      rlvr_info("rollout %s: shutdown (%s)", L->w->o.id, m.shutdown.reason);
      L->done = 1;
      rlvr_msg_free(&m);
    } else if (m.type == RLVR_MSG_WEIGHTS) {
      if (L->newest.type == RLVR_MSG_WEIGHTS && L->newest.weights.version > m.weights.version) {
        rlvr_msg_free(&m);
      } else {
        rlvr_msg_free(&L->newest);
        L->newest = m;
      }
    } else {
      rlvr_msg_free(&m);
    }
  }
}

/* Between works: writes the newest weights received into the model. */
static void apply_newest(loop *L) {
  if (L->newest.type != RLVR_MSG_WEIGHTS) return;
  uint64_t held;
  const int has = rlvr_worker_version(L->w, &held);
  if (!has || held != L->newest.weights.version) {
    /* the decoder checked every checksum already */
    if (rlvr_worker_apply_weights(L->w, &L->newest.weights, 0) == RLVR_OK)
      rlvr_info("rollout %s: policy version %" PRIu64, L->w->o.id, L->newest.weights.version);
    else
      rlvr_warn("rollout %s: weights rejected: %s", L->w->o.id, rlvr_error_message());
  }
  rlvr_msg_free(&L->newest);
}

/* Waits until the worker holds version v (or the timeout, stop, shutdown).
 * Returns 1 when it does. */
static int wait_for_version(loop *L, uint64_t v) {
  const int64_t deadline = rlvr_time_ms() + L->w->o.weights_timeout_ms;
  for (;;) {
    uint64_t held;
    const int has = rlvr_worker_version(L->w, &held);
    if (has && held == v) return 1;
    if (has && held > v) return 0; /* a stale work: that version is gone */
    if (L->done || *L->stop || rlvr_time_ms() >= deadline) return 0;
    zmq_pollitem_t it = {rlvr_sock_zmq(L->weights), 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, 100);
    drain_weights(L);
    apply_newest(L);
    loop_tick(L);
  }
}

static void handle_work(loop *L, const rlvr_msg_work *work) {
  rlvr_worker *w = L->w;
  char msg[512];
  if (!wait_for_version(L, work->policy_version)) {
    if (L->done || *L->stop) return;
    uint64_t held = 0;
    int has = rlvr_worker_version(w, &held);
    snprintf(msg, sizeof msg, "worker %s: work %" PRIu64 " needs policy version %" PRIu64 ", held %s%" PRIu64 " after %d ms",
             w->o.id, work->work_id, work->policy_version, has ? "" : "none; last ", held, w->o.weights_timeout_ms);
    rlvr_warn("rollout: %s", msg);
    send_error(L, RLVR_ERR_TIMEOUT, msg, work->work_id);
    w->stats.work_errors++;
    return;
  }
  rlvr_msg traj;
  const int64_t t0 = rlvr_time_ms();
  const int64_t tokens0 = w->stats.tokens;
  int rc = rlvr_worker_process(w, work, &traj);
  if (rc) {
    snprintf(msg, sizeof msg, "worker %s: %s", w->o.id, rlvr_error_message());
    rlvr_warn("rollout: %s", msg);
    send_error(L, rc, msg, work->work_id);
    w->stats.work_errors++;
    return;
  }
  if ((rc = rlvr_sock_send(L->traj, NULL, &traj)) != RLVR_OK)
    rlvr_warn("rollout %s: trajectories of work %" PRIu64 " not sent: %s", w->o.id, work->work_id, rlvr_error_message());
  const double dt = (double)(rlvr_time_ms() - t0) / 1000.0;
  send_stats(L, dt > 0 ? (double)(w->stats.tokens - tokens0) / dt : 0.0);
}

int rlvr_worker_run(rlvr_worker *w, void *zmq_ctx, const char *address, const rlvr_transport_options *to,
                    volatile sig_atomic_t *stop) {
  char ew[RLVR_ENDPOINT_MAX], et[RLVR_ENDPOINT_MAX], eg[RLVR_ENDPOINT_MAX];
  int rc = rlvr_rollout_endpoints(address, ew, et, eg);
  if (rc) return rc;
  loop L;
  memset(&L, 0, sizeof L);
  L.w = w, L.to = to, L.stop = stop;
  if ((rc = rlvr_sock_open(&L.work, zmq_ctx, RLVR_SOCK_WORK_WORKER, ew, w->o.id, to)) ||
      (rc = rlvr_sock_open(&L.traj, zmq_ctx, RLVR_SOCK_TRAJ_WORKER, et, NULL, to)) ||
      (rc = rlvr_sock_open(&L.weights, zmq_ctx, RLVR_SOCK_WEIGHTS_WORKER, eg, NULL, to))) {
    rlvr_sock_close(L.work), rlvr_sock_close(L.traj), rlvr_sock_close(L.weights);
    return rc;
  }
  rlvr_worker_set_tick(w, loop_tick, &L);
  rlvr_info("rollout %s: connected to %s, %s, %s", w->o.id, ew, et, eg);
  if ((rc = send_hello(&L)) || (rc = send_work_request(&L)))
    rlvr_warn("rollout %s: hello/work request not sent (%s); the learner may not be up yet", w->o.id, rlvr_error_message());
  rc = RLVR_OK;
  send_heartbeat(&L, RLVR_HEARTBEAT_STARTING);
  L.last_heard = rlvr_time_ms();
  while (!L.done && !*stop) {
    int64_t now = rlvr_time_ms();
    if (now >= L.next_hb) send_heartbeat(&L, RLVR_HEARTBEAT_IDLE);
    if (!L.learner_lost && now - L.last_heard > to->peer_timeout_ms) {
      L.learner_lost = 1;
      rlvr_warn("rollout %s: no word from the learner for %d ms", w->o.id, to->peer_timeout_ms);
    }
    long wait = (long)(L.next_hb - now);
    if (wait > 200) wait = 200; /* notice *stop soon */
    if (wait < 0) wait = 0;
    zmq_pollitem_t items[2] = {{rlvr_sock_zmq(L.work), 0, ZMQ_POLLIN, 0}, {rlvr_sock_zmq(L.weights), 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, wait) < 0 && zmq_errno() != EINTR) {
      rc = rlvr_error(RLVR_ERR_IO, "rollout %s: zmq_poll: %s", w->o.id, zmq_strerror(zmq_errno()));
      break;
    }
    drain_weights(&L);
    apply_newest(&L);
    rlvr_msg m;
    while (!L.done && !*stop && rlvr_sock_recv(L.work, &m, NULL, 0) == RLVR_OK) {
      L.last_heard = rlvr_time_ms();
      if (L.learner_lost) {
        L.learner_lost = 0;
        rlvr_info("rollout %s: the learner is back; saying hello again", w->o.id);
        send_hello(&L);
        send_work_request(&L);
      }
      switch (m.type) {
      case RLVR_MSG_WORK:
        handle_work(&L, &m.work);
        if (w->o.max_works > 0 && w->stats.works + w->stats.work_errors >= w->o.max_works) L.done = 1;
        else if (!L.done && !*stop) send_work_request(&L);
        break;
      case RLVR_MSG_SHUTDOWN:
        rlvr_info("rollout %s: shutdown (%s)", w->o.id, m.shutdown.reason);
        L.done = 1;
        break;
      case RLVR_MSG_WSYNC_INIT:
        handle_wsync_init(&L, &m.wsync_init);
        break;
      case RLVR_MSG_WSYNC:
        handle_wsync(&L, &m.wsync);
        break;
      case RLVR_MSG_ERROR:
        rlvr_warn("rollout %s: the learner says: %s (%d)", w->o.id, m.error.message, m.error.code);
        break;
      default: break; /* heartbeats: liveness only */
      }
      rlvr_msg_free(&m);
    }
  }
  send_heartbeat(&L, RLVR_HEARTBEAT_STOPPING);
  rlvr_sock_counters cw, ct, cg;
  rlvr_sock_get_counters(L.work, &cw);
  rlvr_sock_get_counters(L.traj, &ct);
  rlvr_sock_get_counters(L.weights, &cg);
  rlvr_info("rollout %s: %" PRId64 " works, %" PRId64 " samples; rejected messages: work %" PRIu64 ", weights %" PRIu64
            "; weights applied %" PRId64 ", rejected %" PRId64,
            w->o.id, w->stats.works, w->stats.samples, cw.rejected, cg.rejected, w->stats.weights_applied,
            w->stats.weights_rejected);
  if (cw.rejected) rlvr_info("rollout %s: last rejected work message: %s", w->o.id, cw.last_reject);
  if (cg.rejected) rlvr_info("rollout %s: last rejected weights message: %s", w->o.id, cg.last_reject);
  (void)ct;
  w->stats.rejected_work = (int64_t)cw.rejected;
  w->stats.rejected_weights = (int64_t)cg.rejected;
  rlvr_msg_free(&L.newest);
  rlvr_worker_set_tick(w, NULL, NULL);
  rlvr_sock_close(L.work);
  rlvr_sock_close(L.traj);
  rlvr_sock_close(L.weights);
  return rc;
}
