/* ledger.c — the learner's account of prompt groups; see ledger.h.
 *
 * The groups in the ledger are few (at most P * (1 + max_off_policy) plus
 * the aside ones of one step), so they live in one array kept in id order
 * and every lookup is a scan. */
#include "learner/ledger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "rewards/advantage.h"
#include "rewards/reward.h"

struct rlvr_ledger {
  rlvr_ledger_config cfg;
  rlvr_task_cursor cursor; /* of the next new group */
  uint64_t next_id;
  rlvr_group_maker maker;
  void *ctx;
  rlvr_ledger_group **groups; /* (n) in id order */
  int n, cap;
  int64_t step_sampled; /* groups come back since the last batch */
  rlvr_ledger_counts counts;
};

void rlvr_group_spec_clear(rlvr_group_spec *s) {
  if (!s) return;
  free(s->prompt_ids);
  free(s->prompt);
  free(s->reference);
  free(s->reference_mp);
  free(s->verifier);
  free(s->meta_mp);
  free(s->item_id);
  free(s->question);
  free(s->answer);
  memset(s, 0, sizeof *s);
}

static void free_samples(rlvr_ledger_group *g) {
  for (int i = 0; g->samples && i < g->g; i++) {
    free(g->samples[i].tokens);
    free(g->samples[i].mask);
    free(g->samples[i].logprobs);
  }
  free(g->samples);
  g->samples = NULL;
  g->g = 0;
}

void rlvr_ledger_group_free(rlvr_ledger_group *g) {
  if (!g) return;
  rlvr_group_spec_clear(&g->spec);
  free_samples(g);
  free(g);
}

rlvr_ledger *rlvr_ledger_new(const rlvr_ledger_config *cfg, const rlvr_task_cursor *cursor, uint64_t next_id,
                             rlvr_group_maker maker, void *ctx) {
  RLVR_CHECK(cfg->prompts_per_step >= 1 && cfg->group_size >= 1 && cfg->max_off_policy >= 0 &&
             cfg->max_groups_factor >= 1 && cfg->vocab_size > 0 && cfg->max_seq > 0 && maker);
  rlvr_ledger *lg = xcalloc(1, sizeof *lg);
  lg->cfg = *cfg;
  lg->cursor = *cursor;
  lg->next_id = next_id;
  lg->maker = maker;
  lg->ctx = ctx;
  return lg;
}

void rlvr_ledger_free(rlvr_ledger *lg) {
  if (!lg) return;
  for (int i = 0; i < lg->n; i++) rlvr_ledger_group_free(lg->groups[i]);
  free(lg->groups);
  free(lg);
}

/* Appends g (its id is larger than every id in the ledger, or the caller
 * restores in id order). */
static void push_group(rlvr_ledger *lg, rlvr_ledger_group *g) {
  if (lg->n == lg->cap) {
    lg->cap = lg->cap ? 2 * lg->cap : 16;
    lg->groups = xrealloc(lg->groups, (size_t)lg->cap * sizeof *lg->groups);
  }
  lg->groups[lg->n++] = g;
}

static void remove_at(rlvr_ledger *lg, int i) {
  memmove(lg->groups + i, lg->groups + i + 1, (size_t)(lg->n - i - 1) * sizeof *lg->groups);
  lg->n--;
}

static int find_group(const rlvr_ledger *lg, uint64_t id) {
  for (int i = 0; i < lg->n; i++)
    if (lg->groups[i]->id == id) return i;
  return -1;
}

int rlvr_ledger_count_state(const rlvr_ledger *lg, int state) {
  int c = 0;
  for (int i = 0; i < lg->n; i++) c += lg->groups[i]->state == state;
  return c;
}

/* New groups the limits allow now. */
static int new_allowed(const rlvr_ledger *lg) {
  const int64_t P = lg->cfg.prompts_per_step;
  if (lg->cfg.dynamic_sampling && lg->step_sampled >= (int64_t)lg->cfg.max_groups_factor * P) return 0;
  int64_t supply = 0;
  for (int i = 0; i < lg->n; i++) supply += lg->groups[i]->state != RLVR_LEDGER_ASIDE;
  int64_t limit = P * (1 + (int64_t)lg->cfg.max_off_policy);
  return supply < limit ? (int)(limit - supply) : 0;
}

int rlvr_ledger_wanted(const rlvr_ledger *lg, uint64_t version) {
  (void)version;
  return rlvr_ledger_count_state(lg, RLVR_LEDGER_QUEUED) + new_allowed(lg);
}

static int make_group(rlvr_ledger *lg, rlvr_ledger_group **out) {
  rlvr_ledger_group *g = xcalloc(1, sizeof *g);
  g->cursor = lg->cursor;
  int rc = lg->maker(lg->ctx, &lg->cursor, &g->spec);
  if (rc != RLVR_OK) {
    free(g);
    return rc;
  }
  g->id = lg->next_id++;
  g->state = RLVR_LEDGER_QUEUED;
  lg->counts.groups_made++;
  *out = g;
  return RLVR_OK;
}

int rlvr_ledger_issue(rlvr_ledger *lg, uint64_t version, const char *worker, uint64_t work_id, uint32_t max,
                      const rlvr_ledger_group **out, int *n) {
  (void)version;
  int taken = 0;
  for (int i = 0; i < lg->n && taken < (int)max; i++) {
    rlvr_ledger_group *g = lg->groups[i];
    if (g->state != RLVR_LEDGER_QUEUED) continue;
    if (g->worker[0]) lg->counts.groups_reissued++; /* it was out before */
    g->attempts++;
    g->state = RLVR_LEDGER_OUT;
    g->work_id = work_id;
    snprintf(g->worker, sizeof g->worker, "%s", worker);
    out[taken++] = g;
  }
  int rc = RLVR_OK;
  for (int more = new_allowed(lg); taken < (int)max && more > 0; more--) {
    rlvr_ledger_group *g;
    if ((rc = make_group(lg, &g)) != RLVR_OK) break;
    g->attempts = 1;
    g->state = RLVR_LEDGER_OUT;
    g->work_id = work_id;
    snprintf(g->worker, sizeof g->worker, "%s", worker);
    push_group(lg, g);
    out[taken++] = g;
  }
  lg->counts.groups_issued += taken;
  *n = taken;
  return rc;
}

/* The part of accepting that can fail: checks one group of a message
 * against what was issued. Returns RLVR_OK or RLVR_ERR_PROTOCOL with a
 * message. */
static int check_group(const rlvr_ledger *lg, const rlvr_ledger_group *g, const rlvr_traj_group *tg) {
  const rlvr_group_spec *s = &g->spec;
  if (tg->nprompt != s->nprompt || memcmp(tg->prompt_ids, s->prompt_ids, sizeof(int32_t) * s->nprompt) != 0)
    return rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: prompt_ids differ from the ones handed out",
                      (unsigned long long)g->id);
  if (tg->nsamples != (uint32_t)lg->cfg.group_size)
    return rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: %u samples, G is %d", (unsigned long long)g->id,
                      tg->nsamples, lg->cfg.group_size);
  for (uint32_t i = 0; i < tg->nsamples; i++) {
    const rlvr_sample *sm = &tg->samples[i];
    if (sm->ntokens > lg->cfg.max_tokens || (int64_t)sm->ntokens + s->nprompt > lg->cfg.max_seq)
      return rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: sample %u has %u tokens (max_tokens %u, prompt %u, max_seq %d)",
                        (unsigned long long)g->id, i, sm->ntokens, lg->cfg.max_tokens, s->nprompt, lg->cfg.max_seq);
    for (uint32_t t = 0; t < sm->ntokens; t++)
      if (sm->tokens[t] < 0 || sm->tokens[t] >= lg->cfg.vocab_size)
        return rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: sample %u token %u is %d, outside the vocabulary (%d)",
                          (unsigned long long)g->id, i, t, sm->tokens[t], lg->cfg.vocab_size);
    if (!isfinite(sm->reward) || !isfinite(sm->advantage))
      return rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: sample %u has a non-finite reward or advantage",
                        (unsigned long long)g->id, i);
  }
  return RLVR_OK;
}

static double component(const rlvr_sample *sm, const char *name) {
  for (uint32_t i = 0; i < sm->ncomponents; i++)
    if (!strcmp(sm->components[i].name, name)) return sm->components[i].value;
  return NAN;
}

static double timing(const rlvr_sample *sm, const char *name) {
  for (uint32_t i = 0; i < sm->ntimings; i++)
    if (!strcmp(sm->timings[i].name, name)) return sm->timings[i].value;
  return 0.0;
}

static void copy_samples(rlvr_ledger_group *g, const rlvr_traj_group *tg) {
  g->g = (int)tg->nsamples;
  g->samples = xcalloc(tg->nsamples, sizeof *g->samples);
  for (uint32_t i = 0; i < tg->nsamples; i++) {
    const rlvr_sample *sm = &tg->samples[i];
    rlvr_sample_rec *r = &g->samples[i];
    r->n = sm->ntokens;
    size_t n = sm->ntokens ? sm->ntokens : 1;
    r->tokens = xmalloc(n * sizeof(int32_t));
    r->mask = xmalloc(n);
    r->logprobs = xmalloc(n * sizeof(float));
    if (sm->ntokens) {
      memcpy(r->tokens, sm->tokens, sm->ntokens * sizeof(int32_t));
      memcpy(r->mask, sm->mask, sm->ntokens);
      memcpy(r->logprobs, sm->logprobs, sm->ntokens * sizeof(float));
    }
    r->reward = sm->reward;
    r->advantage = sm->advantage;
    r->accuracy = component(sm, "accuracy");
    r->format = component(sm, "format");
    r->length_c = component(sm, "length");
    r->correct = component(sm, "correct");
    r->majority_correct = component(sm, "majority_correct");
    r->status = (int)sm->verifier_status;
    r->finish = (int)sm->finish;
    r->seed = sm->seed;
    r->t_generate = timing(sm, "generate");
    r->t_verify = timing(sm, "verify");
  }
}

/* A group that came back bad or whose work failed: queued again, or
 * dropped after RLVR_LEDGER_MAX_ATTEMPTS hand-outs. */
static void retry_or_drop(rlvr_ledger *lg, int i) {
  rlvr_ledger_group *g = lg->groups[i];
  if (g->attempts >= RLVR_LEDGER_MAX_ATTEMPTS) {
    rlvr_warn("learner: group %llu (item %s) failed %d times; dropped", (unsigned long long)g->id, g->spec.item_id,
              g->attempts);
    lg->counts.groups_failed++;
    rlvr_ledger_group_free(g);
    remove_at(lg, i);
  } else {
    g->state = RLVR_LEDGER_QUEUED;
  }
}

void rlvr_ledger_work_failed(rlvr_ledger *lg, uint64_t work_id) {
  for (int i = lg->n - 1; i >= 0; i--)
    if (lg->groups[i]->state == RLVR_LEDGER_OUT && lg->groups[i]->work_id == work_id) retry_or_drop(lg, i);
}

int rlvr_ledger_accept(rlvr_ledger *lg, uint64_t version, const rlvr_msg_trajectories *t) {
  int accepted = 0;
  for (uint32_t k = 0; k < t->ngroups; k++) {
    const rlvr_traj_group *tg = &t->groups[k];
    int i = find_group(lg, tg->group_id);
    if (i < 0) {
      if (tg->group_id < lg->next_id) {
        lg->counts.groups_duplicate++;
        rlvr_debug("learner: group %llu from %s was already counted; ignored", (unsigned long long)tg->group_id,
                   t->worker_id);
      } else {
        lg->counts.groups_unknown++;
        rlvr_warn("learner: group %llu from %s was never handed out; ignored", (unsigned long long)tg->group_id,
                  t->worker_id);
      }
      continue;
    }
    rlvr_ledger_group *g = lg->groups[i];
    if (g->state == RLVR_LEDGER_READY || g->state == RLVR_LEDGER_ASIDE) {
      lg->counts.groups_duplicate++;
      continue;
    }
    if (t->policy_version > version || check_group(lg, g, tg) != RLVR_OK) {
      if (t->policy_version > version)
        rlvr_error(RLVR_ERR_PROTOCOL, "group %llu: policy_version %llu is newer than the learner's %llu",
                   (unsigned long long)g->id, (unsigned long long)t->policy_version, (unsigned long long)version);
      rlvr_warn("learner: invalid trajectories from %s: %s", t->worker_id, rlvr_error_message());
      lg->counts.groups_invalid++;
      retry_or_drop(lg, i);
      continue;
    }
    if (version - t->policy_version > (uint64_t)lg->cfg.max_off_policy) {
      lg->counts.groups_stale++;
      rlvr_ledger_group_free(g);
      remove_at(lg, i);
      continue;
    }
    copy_samples(g, tg);
    g->policy_version = t->policy_version;
    snprintf(g->answered_by, sizeof g->answered_by, "%s", t->worker_id);
    double rewards[RLVR_PROTO_MAX_G];
    uint8_t excluded[RLVR_PROTO_MAX_G];
    for (int s = 0; s < g->g; s++) {
      rewards[s] = g->samples[s].reward;
      excluded[s] = (uint8_t)rlvr_reward_status_is_infra(g->samples[s].status);
      lg->counts.samples_infra += excluded[s];
    }
    g->zero_spread = !rlvr_advantage_group_has_spread(rewards, excluded, g->g);
    lg->counts.groups_accepted++;
    lg->counts.groups_zero_spread += g->zero_spread;
    lg->step_sampled++;
    g->state = (g->zero_spread && lg->cfg.dynamic_sampling) ? RLVR_LEDGER_ASIDE : RLVR_LEDGER_READY;
    accepted++;
  }
  return accepted;
}

void rlvr_ledger_worker_lost(rlvr_ledger *lg, const char *worker) {
  lg->counts.workers_lost++;
  for (int i = 0; i < lg->n; i++) {
    rlvr_ledger_group *g = lg->groups[i];
    if (g->state == RLVR_LEDGER_OUT && !strcmp(g->worker, worker)) g->state = RLVR_LEDGER_QUEUED;
  }
}

int rlvr_ledger_take_batch(rlvr_ledger *lg, uint64_t version, rlvr_ledger_group ***batch, int *n) {
  const int P = lg->cfg.prompts_per_step;
  *batch = NULL;
  *n = 0;
  for (int i = 0; i < lg->n;) {
    rlvr_ledger_group *g = lg->groups[i];
    if ((g->state == RLVR_LEDGER_READY || g->state == RLVR_LEDGER_ASIDE) &&
        version - g->policy_version > (uint64_t)lg->cfg.max_off_policy) {
      lg->counts.groups_stale++;
      rlvr_ledger_group_free(g);
      remove_at(lg, i);
    } else {
      i++;
    }
  }
  int ready = rlvr_ledger_count_state(lg, RLVR_LEDGER_READY);
  int fill = 0;
  if (ready < P) {
    /* Dynamic sampling at its cap, nothing left to wait for: fill with aside groups. */
    if (!lg->cfg.dynamic_sampling || new_allowed(lg) > 0) return 0;
    if (rlvr_ledger_count_state(lg, RLVR_LEDGER_OUT) + rlvr_ledger_count_state(lg, RLVR_LEDGER_QUEUED) > 0) return 0;
    int aside = rlvr_ledger_count_state(lg, RLVR_LEDGER_ASIDE);
    if (ready + aside == 0) return 0;
    fill = P - ready < aside ? P - ready : aside;
  }
  rlvr_ledger_group **b = xmalloc((size_t)P * sizeof *b);
  int nb = 0;
  for (int i = 0; i < lg->n && nb < P;) {
    rlvr_ledger_group *g = lg->groups[i];
    if (g->state == RLVR_LEDGER_READY || (g->state == RLVR_LEDGER_ASIDE && fill > 0)) {
      if (g->state == RLVR_LEDGER_ASIDE) fill--;
      b[nb++] = g;
      remove_at(lg, i);
    } else {
      i++;
    }
  }
  /* The step's other aside groups are dropped; later steps start afresh. */
  for (int i = 0; i < lg->n;) {
    if (lg->groups[i]->state == RLVR_LEDGER_ASIDE) {
      lg->counts.groups_dropped_zero_spread++;
      rlvr_ledger_group_free(lg->groups[i]);
      remove_at(lg, i);
    } else {
      i++;
    }
  }
  lg->step_sampled = 0;
  *batch = b;
  *n = nb;
  return 1;
}

uint64_t rlvr_ledger_next_id(const rlvr_ledger *lg) { return lg->next_id; }

void rlvr_ledger_get_counts(const rlvr_ledger *lg, rlvr_ledger_counts *c) { *c = lg->counts; }
void rlvr_ledger_set_counts(rlvr_ledger *lg, const rlvr_ledger_counts *c) { lg->counts = *c; }

void rlvr_ledger_save(const rlvr_ledger *lg, rlvr_ledger_state *st) {
  memset(st, 0, sizeof *st);
  st->cursor = lg->cursor;
  st->next_id = lg->next_id;
  st->step_sampled = lg->step_sampled;
  st->npending = lg->n;
  st->pending_ids = xmalloc((size_t)(lg->n ? lg->n : 1) * sizeof(uint64_t));
  st->pending_cursor = xmalloc((size_t)(lg->n ? lg->n : 1) * sizeof(rlvr_task_cursor));
  for (int i = 0; i < lg->n; i++) {
    st->pending_ids[i] = lg->groups[i]->id;
    st->pending_cursor[i] = lg->groups[i]->cursor;
  }
}

void rlvr_ledger_state_clear(rlvr_ledger_state *st) {
  if (!st) return;
  free(st->pending_ids);
  free(st->pending_cursor);
  memset(st, 0, sizeof *st);
}

int rlvr_ledger_restore(rlvr_ledger *lg, const rlvr_ledger_state *st) {
  RLVR_CHECK(lg->n == 0, "restore into a ledger that holds groups");
  for (int i = 0; i < st->npending; i++) {
    if (i > 0 && st->pending_ids[i] <= st->pending_ids[i - 1])
      return rlvr_error(RLVR_ERR_FORMAT, "pending group ids are not increasing");
    if (st->pending_ids[i] >= st->next_id)
      return rlvr_error(RLVR_ERR_FORMAT, "pending group %llu is not below next_id %llu",
                        (unsigned long long)st->pending_ids[i], (unsigned long long)st->next_id);
  }
  for (int i = 0; i < st->npending; i++) {
    rlvr_ledger_group *g = xcalloc(1, sizeof *g);
    rlvr_task_cursor c = st->pending_cursor[i];
    g->cursor = c;
    int rc = lg->maker(lg->ctx, &c, &g->spec);
    if (rc != RLVR_OK) {
      free(g);
      for (int j = 0; j < lg->n; j++) rlvr_ledger_group_free(lg->groups[j]);
      lg->n = 0;
      return rc;
    }
    g->id = st->pending_ids[i];
    g->state = RLVR_LEDGER_QUEUED;
    push_group(lg, g);
  }
  lg->cursor = st->cursor;
  lg->next_id = st->next_id;
  lg->step_sampled = st->step_sampled;
  return RLVR_OK;
}
