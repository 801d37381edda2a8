/* eval.c — pass@k, majority votes and the evaluation loop; see eval.h.
 *
 * The loop takes problems `batch` at a time: one engine request of batch
 * groups of n samples (problem i is group first_group_id + i, so a sample's
 * seed, and its tokens, do not depend on the batch), one pool call for all
 * of their verifier items, then the per-problem counts. */
#include "rollout/eval.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/error.h"
#include "core/json.h"
#include "rollout/consensus.h"
#include "rollout/cuda_source.h"
#include "rollout/prompt.h"
#include "tasks/task.h"
#include "verifiers/mathlib_equiv.h"

enum {
  MAX_SAMPLES = 1024,   /* eval.samples */
  MAX_TOKENS = 262144,  /* eval.max_tokens, as the protocol caps a completion */
};

double rlvr_pass_at_k(int n, int c, int k) {
  RLVR_CHECK(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass@k: n %d, c %d, k %d", n, c, k);
  if (n - c < k) return 1.0;
  double miss = 1.0; /* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i) */
  for (int i = n - c + 1; i <= n; i++) miss *= 1.0 - (double)k / (double)i;
  return 1.0 - miss;
}

int rlvr_answer_clusters(const char *const *answers, int n, int *cluster) {
  rlvr_mctx m;
  rlvr_mctx_init(&m, 64 << 20, 1 << 17);
  rlvr_mq_opts mo;
  rlvr_mq_opts_default(&mo);
  int *leader = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1)); /* first answer of each group */
  int ngroups = 0;
  for (int i = 0; i < n; i++) {
    cluster[i] = -1;
    if (!answers[i]) continue;
    for (int g = 0; g < ngroups && cluster[i] < 0; g++) {
      const char *gold = answers[leader[g]];
      rlvr_mq_result r;
      rlvr_mctx_reset(&m);
      rlvr_mq_equal(&m, gold, strlen(gold), answers[i], strlen(answers[i]), &mo, &r);
      if (r.equal) cluster[i] = g;
    }
    if (cluster[i] < 0) {
      leader[ngroups] = i;
      cluster[i] = ngroups++;
    }
  }
  free(leader);
  rlvr_mctx_free(&m);
  return ngroups;
}

/* The first sample of the largest group (a tie keeps the earlier group), or
 * -1 when no sample has a group; *votes gets that group's size. */
static int vote_winner(const int *cluster, int n, int ngroups, int *votes) {
  int *size = xcalloc((size_t)(ngroups > 0 ? ngroups : 1), sizeof(int));
  int *leader = xmalloc(sizeof(int) * (size_t)(ngroups > 0 ? ngroups : 1));
  for (int i = n - 1; i >= 0; i--)
    if (cluster[i] >= 0) size[cluster[i]]++, leader[cluster[i]] = i;
  int best = -1;
  for (int g = 0; g < ngroups; g++)
    if (best < 0 || size[g] > size[best]) best = g; /* strict: a tie keeps the earlier group */
  const int winner = best < 0 ? -1 : leader[best];
  if (votes) *votes = best < 0 ? 0 : size[best];
  free(size), free(leader);
  return winner;
}

int rlvr_majority_vote(const char *const *answers, int n, int *votes) {
  int *cluster = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  const int winner = vote_winner(cluster, n, rlvr_answer_clusters(answers, n, cluster), votes);
  free(cluster);
  return winner;
}

/* maj@k, the dynamic program. A subset of k samples takes x_g members of
 * group g and x_0 of the samples without an answer; there are
 * prod C(size_g, x_g) * C(n0, x_0) such subsets. Sorted by their winning
 * count t = max_g x_g >= 1: for a fixed t, the groups with size < t can never
 * reach t and join the no-answer samples in a free pool of F samples; each
 * other group g contributes the polynomial
 *     sum_{x < t} C(size_g, x) z^x  +  C(size_g, t) z^t u a_g
 * where z counts the subset's samples, u the groups at the maximum and a_g
 * is a marker that is 1 (the group is correct) or absent. With A correct and
 * D in all at the maximum, a subset scores A / D; the sum of A over the
 * subsets of each (size s, D) is the derivative in the markers at 1, carried
 * as a second table Q beside the counts P (dual numbers): multiplying by a
 * correct group's polynomial maps (P, Q) to (P f, Q f + P C(size_g, t) z^t u).
 * The free pool then multiplies by (1 + z)^F, and maj@k gets
 * sum_{D >= 1} Q[k][D] / D over the t, divided by C(n, k).
 *
 * Sizes: P[s][D] <= C(n, s) <= C(1024, 512) ~ 4.5e306 and Q <= D P, so both
 * are kept times SCALE = 2^-20 (the smallest count, 1, stays far from
 * underflow); binomials are built as C(m, x) = C(m, x-1) * ((m-x+1) / x),
 * the ratio first, so no intermediate passes DBL_MAX. */
void rlvr_maj_at_k_curve(int n, const int *size, const int *correct, int ngroups, double *maj) {
  RLVR_CHECK(n >= 1 && n <= 1024 && ngroups >= 0, "maj curve: n %d, groups %d", n, ngroups);
  int voters = 0, mmax = 0;
  for (int g = 0; g < ngroups; g++) {
    RLVR_CHECK(size[g] >= 1 && (correct[g] == 0 || correct[g] == 1));
    voters += size[g];
    if (size[g] > mmax) mmax = size[g];
  }
  RLVR_CHECK(voters <= n, "maj curve: %d voters of %d samples", voters, n);
  const double SCALE = 0x1p-20;
  const size_t W = (size_t)n + 2; /* row length of the tables: D = 0..n+1 */
  double *P = xcalloc(((size_t)n + 1) * W, sizeof(double)), *Q = xcalloc(((size_t)n + 1) * W, sizeof(double));
  double *NP = xcalloc(((size_t)n + 1) * W, sizeof(double)), *NQ = xcalloc(((size_t)n + 1) * W, sizeof(double));
  double *acc = xcalloc((size_t)n + 1, sizeof(double)), *coef = xmalloc(sizeof(double) * ((size_t)n + 1));
  for (int t = 1; t <= mmax; t++) {
    int free_pool = n - voters, dmax = 0;
    for (int g = 0; g < ngroups; g++) {
      if (size[g] < t) free_pool += size[g];
      else dmax++;
    }
    if (dmax > n / t) dmax = n / t;
    for (int s = 0; s <= n; s++)
      for (int d = 0; d <= dmax; d++) P[(size_t)s * W + d] = Q[(size_t)s * W + d] = 0;
    P[0] = SCALE;
    int smax = 0, dcur = 0; /* the tables are zero beyond s > smax or D > dcur */
    for (int g = 0; g < ngroups; g++) {
      const int m = size[g];
      if (m < t) continue;
      coef[0] = 1; /* coef[x] = C(m, x), x = 0..t */
      for (int x = 1; x <= t; x++) coef[x] = coef[x - 1] * ((double)(m - x + 1) / (double)x);
      const int smax2 = smax + t > n ? n : smax + t, dcur2 = dcur + 1 > dmax ? dmax : dcur + 1;
      for (int s = 0; s <= smax2; s++)
        for (int d = 0; d <= dcur2; d++) NP[(size_t)s * W + d] = NQ[(size_t)s * W + d] = 0;
      for (int s = 0; s <= smax; s++)
        for (int d = 0; d <= dcur; d++) {
          const double p = P[(size_t)s * W + d], q = Q[(size_t)s * W + d];
          if (p == 0 && q == 0) continue;
          for (int x = 0; x < t && s + x <= n; x++) {
            NP[(size_t)(s + x) * W + d] += p * coef[x];
            NQ[(size_t)(s + x) * W + d] += q * coef[x];
          }
          if (s + t <= n && d + 1 <= dmax) {
            NP[(size_t)(s + t) * W + d + 1] += p * coef[t];
            NQ[(size_t)(s + t) * W + d + 1] += (q + (correct[g] ? p : 0)) * coef[t];
          }
        }
      double *tmp = P;
      P = NP, NP = tmp;
      tmp = Q, Q = NQ, NQ = tmp;
      smax = smax2, dcur = dcur2;
    }
    /* The free pool, (1 + z)^F, and the scores A / D. */
    double *qd = coef; /* qd[s] = sum_{D >= 1} Q[s][D] / D */
    for (int s = 0; s <= n; s++) {
      double v = 0;
      if (s <= smax)
        for (int d = 1; d <= dcur; d++) v += Q[(size_t)s * W + d] / (double)d;
      qd[s] = v;
    }
    double cf = 1; /* C(F, x) */
    for (int x = 0; x <= free_pool && x <= n; x++) {
      if (x > 0) cf *= (double)(free_pool - x + 1) / (double)x;
      for (int s = 0; s + x <= n && s <= smax; s++) acc[s + x] += cf * qd[s];
    }
  }
  double cnk = 1; /* C(n, k) */
  for (int k = 1; k <= n; k++) {
    cnk *= (double)(n - k + 1) / (double)k; /* the ratio first: cnk * (n-k+1) could pass DBL_MAX */
    maj[k - 1] = acc[k] / (cnk * SCALE);
  }
  free(P), free(Q), free(NP), free(NQ), free(acc), free(coef);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int is_correct(const rlvr_verify_result *r) {
  return rlvr_verify_status_is_scored(r->status) && r->score >= 0.5;
}

static int write_sample(FILE *f, const rlvr_eval_problem *pb, const rlvr_engine_sample *o, const char *text,
                        const rlvr_verify_result *r, const char *answer) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", pb->id ? pb->id : "");
  cJSON_AddNumberToObject(j, "sample", o->index);
  cJSON_AddStringToObject(j, "prompt", pb->prompt_text ? pb->prompt_text : "");
  cJSON_AddStringToObject(j, "completion", text);
  cJSON_AddNumberToObject(j, "tokens", o->ntokens);
  cJSON_AddNumberToObject(j, "score", r->score);
  cJSON_AddBoolToObject(j, "correct", is_correct(r));
  cJSON_AddStringToObject(j, "status", rlvr_verify_status_name(r->status));
  if (answer) cJSON_AddStringToObject(j, "answer", answer);
  else cJSON_AddNullToObject(j, "answer");
  cJSON_AddStringToObject(j, "finish", rlvr_engine_finish_name(o->finish));
  cJSON_AddStringToObject(j, "end", rlvr_engine_finish_name(o->end));
  cJSON_AddNumberToObject(j, "waits", o->waits);
  cJSON_AddNumberToObject(j, "think_tokens", o->think_tokens);
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
  cJSON_AddStringToObject(j, "seed", seed); /* a string: 64 bits do not fit a JSON double */
  cJSON *details = r->details ? cJSON_Parse(r->details) : NULL;
  cJSON_AddItemToObject(j, "details", details ? details : cJSON_CreateObject());
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  RLVR_CHECK(s != NULL);
  int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
  cJSON_free(s);
  return ok ? RLVR_OK : rlvr_error(RLVR_ERR_IO, "writing the per-sample output failed");
}

int rlvr_eval_run(rlvr_engine *e, const rlvr_tokenizer *tok, rlvr_verify_pool *pool, const rlvr_eval_options *o,
                  const rlvr_eval_problem *problems, int nproblems, FILE *samples, rlvr_eval_summary *out) {
  RLVR_CHECK(o->samples >= 1 && o->batch >= 1 && o->npass_k >= 0 && o->npass_k <= RLVR_EVAL_MAX_K);
  for (int i = 0; i < o->npass_k; i++) RLVR_CHECK(o->pass_k[i] >= 1 && o->pass_k[i] <= o->samples);
  memset(out, 0, sizeof *out);
  const int n = o->samples, B = o->batch;
  const double t_start = now_s();
  rlvr_engine_group *groups = xmalloc(sizeof *groups * (size_t)B);
  const size_t cap = (size_t)B * n;
  rlvr_verify_item *items = xmalloc(sizeof *items * cap);
  rlvr_verify_result *res = xcalloc(cap, sizeof *res);
  char **texts = xcalloc(cap, sizeof *texts), **answers = xcalloc(cap, sizeof *answers);
  size_t *lens = xmalloc(sizeof *lens * cap);
  int rc = RLVR_OK;
  double pass_sum[RLVR_EVAL_MAX_K] = {0}, pass1_sum = 0, maj_sum = 0;
  const int curves = o->curves;
  int *cluster = xmalloc(sizeof(int) * (size_t)n), *gsize = xmalloc(sizeof(int) * (size_t)n);
  int *gcorrect = xmalloc(sizeof(int) * (size_t)n);
  double *maj_k = curves ? xmalloc(sizeof(double) * (size_t)n) : NULL;
  if (curves) {
    out->ncurve = n;
    out->curve_pass = xcalloc((size_t)n, sizeof(double));
    out->curve_maj = xcalloc((size_t)n, sizeof(double));
  }
  for (int p0 = 0; p0 < nproblems && !rc; p0 += B) {
    const int nb = nproblems - p0 < B ? nproblems - p0 : B;
    for (int b = 0; b < nb; b++) {
      const rlvr_eval_problem *pb = &problems[p0 + b];
      groups[b] = (rlvr_engine_group){.group_id = o->first_group_id + (uint64_t)(p0 + b), .prompt = pb->prompt,
                                      .nprompt = pb->nprompt, .g = n};
    }
    rlvr_engine_sample *s;
    int ns;
    const double t0 = now_s();
    if ((rc = rlvr_engine_generate(e, &o->params, groups, nb, &s, &ns))) break;
    const double t1 = now_s();
    for (int k = 0; k < ns; k++) {
      const rlvr_eval_problem *pb = &problems[p0 + s[k].group];
      rlvr_tokenizer_decode(tok, s[k].tokens, (size_t)s[k].ntokens, 1, &texts[k], &lens[k]);
      items[k] = (rlvr_verify_item){.verifier = pb->verifier, .completion = texts[k], .completion_len = lens[k],
                                    .reference = pb->reference, .reference_len = pb->reference ? strlen(pb->reference) : 0,
                                    .reference_json = pb->reference_json, .meta = pb->meta,
                                    .meta_len = pb->meta ? strlen(pb->meta) : 0};
    }
    rlvr_pool_score(pool, items, (size_t)ns, res);
    const double t2 = now_s();
    out->generate_s += t1 - t0;
    out->verify_s += t2 - t1;
    for (int k = 0; k < ns; k++) answers[k] = rlvr_consensus_sample_answer(res[k].details, texts[k], lens[k], 1);
    for (int b = 0; b < nb && !rc; b++) {
      const rlvr_engine_sample *gs = s + (size_t)b * n; /* request order: group-major */
      const rlvr_verify_result *gr = res + (size_t)b * n;
      int c = 0;
      for (int i = 0; i < n; i++) {
        const rlvr_engine_sample *x = &gs[i];
        c += is_correct(&gr[i]);
        out->mean_score += rlvr_verify_status_is_scored(gr[i].status) ? gr[i].score : 0.0;
        out->wrong_format += gr[i].status == RLVR_VERIFY_WRONG_FORMAT;
        out->infra_failures += !rlvr_verify_status_is_scored(gr[i].status);
        out->finish[x->finish]++;
        out->waits += x->waits;
        out->think_cut += x->think_cut;
        out->tokens += x->ntokens;
        if (o->params.budget) out->think_tokens += x->think_tokens >= 0 ? x->think_tokens : x->ntokens;
        if (samples && !rc) rc = write_sample(samples, &problems[p0 + b], x, texts[(size_t)b * n + i], &gr[i], answers[(size_t)b * n + i]);
      }
      out->correct += c;
      pass1_sum += (double)c / n;
      for (int q = 0; q < o->npass_k; q++) pass_sum[q] += rlvr_pass_at_k(n, c, o->pass_k[q]);
      const int ng = rlvr_answer_clusters((const char *const *)(answers + (size_t)b * n), n, cluster);
      const int win = vote_winner(cluster, n, ng, NULL);
      maj_sum += win >= 0 && is_correct(&gr[win]);
      if (curves) {
        for (int k = 1; k <= n; k++) out->curve_pass[k - 1] += rlvr_pass_at_k(n, c, k);
        for (int g = 0; g < ng; g++) gsize[g] = 0;
        for (int i = 0; i < n; i++) {
          const int g = cluster[i];
          if (g < 0) continue;
          if (gsize[g]++ == 0) gcorrect[g] = is_correct(&gr[i]); /* the group's first sample */
          else out->vote_mismatch += is_correct(&gr[i]) != gcorrect[g];
        }
        rlvr_maj_at_k_curve(n, gsize, gcorrect, ng, maj_k);
        for (int k = 0; k < n; k++) out->curve_maj[k] += maj_k[k];
      }
      out->problems++;
      out->samples += n;
    }
    for (int k = 0; k < ns; k++) {
      free(texts[k]), free(answers[k]);
      texts[k] = answers[k] = NULL;
    }
    rlvr_verify_results_clear(res, (size_t)ns);
  }
  if (out->problems) {
    for (int q = 0; q < o->npass_k; q++) out->pass_k[q] = pass_sum[q] / (double)out->problems;
    out->pass1 = pass1_sum / (double)out->problems;
    out->maj = maj_sum / (double)out->problems;
    for (int k = 0; k < out->ncurve; k++) {
      out->curve_pass[k] /= (double)out->problems;
      out->curve_maj[k] /= (double)out->problems;
    }
  }
  if (out->samples) out->mean_score /= (double)out->samples;
  out->seconds = now_s() - t_start;
  free(groups), free(items), free(res), free(texts), free(answers), free(lens);
  free(cluster), free(gsize), free(gcorrect), free(maj_k);
  return rc;
}

void rlvr_eval_summary_clear(rlvr_eval_summary *s) {
  if (!s) return;
  free(s->curve_pass), free(s->curve_maj);
  s->curve_pass = s->curve_maj = NULL;
  s->ncurve = 0;
}

/* "1,4,8" into o->pass_k; "" = 1, 2, 4, ... < n, and n. */
static int parse_pass_k(const char *spec, int n, rlvr_eval_options *o) {
  o->npass_k = 0;
  if (!spec[0]) {
    for (int k = 1; k < n && o->npass_k < RLVR_EVAL_MAX_K - 1; k *= 2) o->pass_k[o->npass_k++] = k;
    o->pass_k[o->npass_k++] = n;
    return RLVR_OK;
  }
  const char *p = spec;
  while (*p) {
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k < 1 || k > n || (*end && *end != ','))
      return rlvr_error(RLVR_ERR_CONFIG, "eval.pass_k '%s': each k must be an integer in 1..eval.samples (%d)", spec, n);
    if (o->npass_k == RLVR_EVAL_MAX_K) return rlvr_error(RLVR_ERR_CONFIG, "eval.pass_k: at most %d values", RLVR_EVAL_MAX_K);
    o->pass_k[o->npass_k++] = (int)k;
    p = *end ? end + 1 : end;
  }
  return RLVR_OK;
}

int rlvr_eval_options_from_config(const rlvr_config *c, rlvr_eval_options *out) {
  rlvr_eval_options o;
  memset(&o, 0, sizeof o);
  if (c->eval_samples < 1 || c->eval_samples > MAX_SAMPLES)
    return rlvr_error(RLVR_ERR_CONFIG, "eval.samples must be in 1..%d, is %lld", MAX_SAMPLES, (long long)c->eval_samples);
  o.samples = (int)c->eval_samples;
  int rc = parse_pass_k(c->eval_pass_k, o.samples, &o);
  if (rc) return rc;
  if (c->eval_batch < 0) return rlvr_error(RLVR_ERR_CONFIG, "eval.batch must be >= 0, is %lld", (long long)c->eval_batch);
  o.batch = (int)(c->eval_batch ? c->eval_batch : c->rollout_slots > 0 ? c->rollout_slots : 1);
  rlvr_engine_params_default(&o.params);
  o.params.temperature = (float)c->eval_temperature;
  o.params.top_k = (int)(c->eval_top_k > INT32_MAX ? INT32_MAX : c->eval_top_k);
  o.params.top_p = (float)c->eval_top_p;
  const int64_t mt = c->eval_max_tokens ? c->eval_max_tokens : c->sample_max_tokens;
  if (mt < 1 || mt > MAX_TOKENS)
    return rlvr_error(RLVR_ERR_CONFIG, "eval.max_tokens (or sample.max_tokens) must be in 1..%d, is %lld", MAX_TOKENS, (long long)mt);
  o.params.max_tokens = (int)mt;
  o.params.seed = (uint64_t)(c->sample_seed ? c->sample_seed : c->run_seed);
  if (c->eval_stop[0]) {
    static _Thread_local const char *stop[1];
    stop[0] = c->eval_stop;
    o.params.stop = stop;
    o.params.nstop = 1;
  }
  if (c->eval_budget) {
    o.params.budget = 1;
    o.params.min_think_tokens = (int)c->budget_min_think_tokens;
    o.params.max_waits = (int)c->budget_max_waits;
    o.params.max_think_tokens = (int)c->budget_max_think_tokens;
    o.params.think_end = c->budget_think_end;
    o.params.wait_text = c->budget_wait;
    o.params.answer_prefix = c->budget_answer_prefix;
  }
  if ((rc = rlvr_engine_params_validate(&o.params))) return rlvr_error_wrap(rc, "eval.* / budget.*");
  *out = o;
  return RLVR_OK;
}

int rlvr_eval_config(const rlvr_config *cfg, const rlvr_eval_dirs *dirs, const rlvr_model *m,
                     const rlvr_tokenizer *tok, const int32_t *eos, int neos, rlvr_verify_pool *pool,
                     int samples_override, int greedy, FILE *samples, rlvr_eval_summary *out) {
  rlvr_eval_options o;
  int rc = rlvr_eval_options_from_config(cfg, &o);
  if (rc) return rc;
  if (samples_override > 0) {
    o.samples = samples_override;
    if ((rc = parse_pass_k("", o.samples, &o))) return rc;
  }
  if (greedy) o.params.temperature = 0.0f;
  return rlvr_eval_config_runs(cfg, dirs, m, tok, eos, neos, pool, &o, 1, samples ? &samples : NULL, out, NULL, NULL);
}

int rlvr_eval_config_runs(const rlvr_config *cfg, const rlvr_eval_dirs *dirs, const rlvr_model *m,
                          const rlvr_tokenizer *tok, const int32_t *eos, int neos, rlvr_verify_pool *pool,
                          const rlvr_eval_options *runs, int nruns, FILE *const *samples, rlvr_eval_summary *outs,
                          rlvr_eval_progress_fn progress, void *ctx) {
  RLVR_CHECK(nruns >= 1);
  memset(outs, 0, sizeof *outs * (size_t)nruns);
  int rc = RLVR_OK, max_tokens = 1;
  for (int r = 0; r < nruns; r++)
    if (runs[r].params.max_tokens > max_tokens) max_tokens = runs[r].params.max_tokens;
  rlvr_task_split split;
  if (!strcmp(cfg->eval_split, "heldout")) split = RLVR_TASK_SPLIT_HELDOUT;
  else if (!strcmp(cfg->eval_split, "train")) split = RLVR_TASK_SPLIT_TRAIN;
  else return rlvr_error(RLVR_ERR_CONFIG, "eval.split must be heldout or train, is '%s'", cfg->eval_split);
  if (cfg->eval_size < 0) return rlvr_error(RLVR_ERR_CONFIG, "eval.size must be >= 0");
  if (cfg->rollout_slots < 1 || cfg->rollout_slots > 1024)
    return rlvr_error(RLVR_ERR_CONFIG, "rollout.slots must be in 1..1024, is %lld", (long long)cfg->rollout_slots);
  int cuda = 0;
  if ((rc = rlvr_rollout_device_from_config(cfg, &cuda))) return rc; /* rollout.device, rollout.dtype */
  rlvr_task_source *src = NULL;
  if ((rc = rlvr_task_source_build(cfg, dirs->tasks, &src))) return rc;
  int64_t size = rlvr_task_source_size(src, split);
  if (cfg->eval_size > 0 && cfg->eval_size < size) size = cfg->eval_size;
  if (size > (1 << 24)) {
    rc = rlvr_error(RLVR_ERR_CONFIG, "eval.size: the %s split of %s has no end; give eval.size", cfg->eval_split,
                    rlvr_task_source_name(src));
    rlvr_task_source_free(src);
    return rc;
  }
  rlvr_prompt_renderer pr;
  if ((rc = rlvr_prompt_renderer_build(&pr, cfg->task_template, dirs->tasks, cfg->generate_template,
                                       dirs->chat_templates, tok))) {
    rlvr_task_source_free(src);
    return rc;
  }
  const int np = (int)size;
  rlvr_task_item *items = xcalloc((size_t)(np > 0 ? np : 1), sizeof *items);
  rlvr_eval_problem *probs = xcalloc((size_t)(np > 0 ? np : 1), sizeof *probs);
  char **texts = xcalloc((size_t)(np > 0 ? np : 1), sizeof *texts);
  int32_t **ids = xcalloc((size_t)(np > 0 ? np : 1), sizeof *ids);
  int max_prompt = 1;
  for (int i = 0; i < np && !rc; i++) {
    if ((rc = rlvr_task_source_get(src, split, (uint64_t)i, &items[i]))) break;
    size_t n;
    if ((rc = rlvr_prompt_render(&pr, items[i].prompt, &texts[i], &ids[i], &n))) {
      rc = rlvr_error_wrap(rc, "problem %s", items[i].id);
      break;
    }
    if ((int)n > max_prompt) max_prompt = (int)n;
    probs[i] = (rlvr_eval_problem){.id = items[i].id, .prompt_text = texts[i], .prompt = ids[i], .nprompt = (int)n,
                                   .verifier = items[i].verifier, .reference = items[i].reference,
                                   .reference_json = items[i].reference_json, .meta = items[i].meta};
  }
  if (!rc) {
    int max_seq = max_prompt + max_tokens;
    if (max_seq > m->cfg.max_position) {
      rc = rlvr_error(RLVR_ERR_RANGE, "the longest prompt (%d tokens) plus %d completion tokens exceeds the model's %d positions",
                      max_prompt, max_tokens, m->cfg.max_position);
    } else {
      rlvr_policy_source ps; /* rollout.device */
      if ((rc = rlvr_policy_source_build(&ps, m, cuda, cfg->rollout_dtype, (int)cfg->rollout_slots, max_seq)) ==
          RLVR_OK) {
        rlvr_engine *e = rlvr_engine_build(ps.src, tok, eos, neos, cfg->rollout_share_prefill);
        for (int r = 0; r < nruns && !rc; r++) {
          rc = rlvr_eval_run(e, tok, pool, &runs[r], probs, np, samples ? samples[r] : NULL, &outs[r]);
          if (!rc && progress) progress(ctx, r, &outs[r]);
        }
        rlvr_engine_free(e);
        rlvr_policy_source_free(&ps);
      }
    }
  }
  if (rc)
    for (int r = 0; r < nruns; r++) {
      rlvr_eval_summary_clear(&outs[r]);
      memset(&outs[r], 0, sizeof outs[r]);
    }
  for (int i = 0; i < np; i++) {
    rlvr_task_item_clear(&items[i]);
    free(texts[i]), free(ids[i]);
  }
  free(items), free(probs), free(texts), free(ids);
  rlvr_prompt_renderer_free(&pr);
  rlvr_task_source_free(src);
  return rc;
}

char *rlvr_eval_summary_json(const rlvr_eval_options *o, const rlvr_eval_summary *s) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "problems", (double)s->problems);
  cJSON_AddNumberToObject(j, "samples_per_problem", o->samples);
  cJSON_AddNumberToObject(j, "accuracy", s->pass1);
  cJSON_AddNumberToObject(j, "mean_score", s->mean_score);
  char key[32];
  for (int q = 0; q < o->npass_k; q++) {
    snprintf(key, sizeof key, "pass@%d", o->pass_k[q]);
    if (!cJSON_GetObjectItemCaseSensitive(j, key)) cJSON_AddNumberToObject(j, key, s->pass_k[q]);
  }
  snprintf(key, sizeof key, "maj@%d", o->samples);
  cJSON_AddNumberToObject(j, key, s->maj);
  cJSON_AddNumberToObject(j, "correct", (double)s->correct);
  cJSON_AddNumberToObject(j, "wrong_format", (double)s->wrong_format);
  cJSON_AddNumberToObject(j, "infra_failures", (double)s->infra_failures);
  cJSON *fin = cJSON_AddObjectToObject(j, "finish");
  for (int f = 0; f < 4; f++) cJSON_AddNumberToObject(fin, rlvr_engine_finish_name((rlvr_engine_finish)f), (double)s->finish[f]);
  cJSON_AddNumberToObject(j, "mean_completion_tokens", s->samples ? (double)s->tokens / (double)s->samples : 0.0);
  cJSON *smp = cJSON_AddObjectToObject(j, "sampling");
  cJSON_AddNumberToObject(smp, "temperature", o->params.temperature);
  cJSON_AddNumberToObject(smp, "top_k", o->params.top_k);
  cJSON_AddNumberToObject(smp, "top_p", o->params.top_p);
  cJSON_AddNumberToObject(smp, "max_tokens", o->params.max_tokens);
  snprintf(key, sizeof key, "%llu", (unsigned long long)o->params.seed);
  cJSON_AddStringToObject(smp, "seed", key);
  if (o->params.budget) {
    cJSON *b = cJSON_AddObjectToObject(j, "budget");
    cJSON_AddNumberToObject(b, "min_think_tokens", o->params.min_think_tokens);
    cJSON_AddNumberToObject(b, "max_waits", o->params.max_waits);
    cJSON_AddNumberToObject(b, "max_think_tokens", o->params.max_think_tokens);
    cJSON_AddNumberToObject(b, "waits", (double)s->waits);
    cJSON_AddNumberToObject(b, "thinking_cut", (double)s->think_cut);
    cJSON_AddNumberToObject(b, "mean_think_tokens", s->samples ? (double)s->think_tokens / (double)s->samples : 0.0);
    cJSON_AddNumberToObject(b, "mean_waits", s->samples ? (double)s->waits / (double)s->samples : 0.0);
  } else {
    cJSON_AddNullToObject(j, "budget");
  }
  if (s->ncurve > 0) {
    cJSON *c = cJSON_AddObjectToObject(j, "curves");
    cJSON *ks = cJSON_AddArrayToObject(c, "k"), *pk = cJSON_AddArrayToObject(c, "pass@k"), *mk = cJSON_AddArrayToObject(c, "maj@k");
    for (int k = 0; k < s->ncurve; k++) {
      cJSON_AddItemToArray(ks, cJSON_CreateNumber(k + 1));
      cJSON_AddItemToArray(pk, cJSON_CreateNumber(s->curve_pass[k]));
      cJSON_AddItemToArray(mk, cJSON_CreateNumber(s->curve_maj[k]));
    }
    cJSON_AddNumberToObject(c, "vote_mismatch", (double)s->vote_mismatch);
  }
  cJSON_AddNumberToObject(j, "seconds", s->seconds);
  cJSON_AddNumberToObject(j, "generate_s", s->generate_s);
  cJSON_AddNumberToObject(j, "verify_s", s->verify_s);
  cJSON_AddNumberToObject(j, "tokens_per_s", s->generate_s > 0 ? (double)s->tokens / s->generate_s : 0.0);
  char *text = rlvr_json_print(j, 1);
  cJSON_Delete(j);
  return text;
}
