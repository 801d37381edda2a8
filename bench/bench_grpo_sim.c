/* bench_grpo_sim.c — a stand-in for the GRPO loop, used to choose the
 * default run (docs/default_run.md) before learner/ and rollout/ existed:
 * how many held-out points does on-policy GRPO add to an SFT warm start in a
 * given time on this CPU?
 *
 *   bench_grpo_sim --model DIR [--set key=value ...] [--prompts P] [--group G]
 *                  [--lr LR] [--seconds S] [--steps N] [--eval N] [--eval-every K]
 *                  [--micro M] [--start I] [--warmup W]
 *
 * Run from the source root (it finds tasks/, verifiers/ there). The
 * algorithm, synchronous and strictly on-policy (max_off_policy_steps 0,
 * one optimizer step per batch, so the importance ratio is exactly 1 and
 * clipping never acts; beta 0):
 *   1. take P training prompts from the task cursor (from position I);
 *   2. sample G completions each at sample.temperature (KV-cache decode);
 *   3. score each with the item's verifier: reward r in {0, 1};
 *   4. advantages A = (r - mean) / (std + 1e-4) over the group (GRPO, sample
 *      std), 0 for groups whose rewards are all equal (left out);
 *   5. loss = -(1/N) sum over completion tokens of A * log p (DAPO's token
 *      mean over the batch, N the batch's completion tokens), whose gradient
 *      at ratio 1 is that of the clipped surrogate; clip the gradient norm at
 *      1, AdamW (betas 0.9, 0.95, no weight decay) at LR (linear warmup over W
 *      steps).
 * Greedy held-out accuracy (learner/sft_probe.h) before, every K steps and
 * after. Prints per step: reward, mixed groups, completion length, and the
 * seconds of each phase; S bounds the training time (evaluation excluded). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/error.h"
#include "learner/sft_probe.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "model/optim.h"
#include "model/tokenizer.h"
#include "tasks/task.h"
#include "tasks/template.h"
#include "verifiers/host.h"

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const rlvr_sft_probe_dirs dirs = {"tasks", "verifiers", "model/templates"};

static double greedy_eval(const rlvr_config *cfg, const rlvr_model *m, const rlvr_tokenizer *tok, const int32_t *eos,
                          int neos, int n, double *secs) {
  rlvr_sft_probe_result r;
  int rc = rlvr_sft_probe_run(cfg, &dirs, m, tok, eos, neos, n, 0, &r);
  RLVR_CHECK(rc == RLVR_OK, "%s", rlvr_error_message());
  *secs = r.seconds;
  return r.greedy_accuracy;
}

/* (1/N) sum of A * log p over the selected samples' completion tokens: the
 * quantity an update should raise (--check prints it before and after). */
static double surrogate(rlvr_forward_state *fs, const rlvr_model *m, const int *sel, int nsel, int micro, int T,
                        const int *job_prompt, int32_t *const *prompts, const int *plen, const int32_t *out,
                        const int *count, int max_new, const double *adv, long ntok, int *tokens, int *targets,
                        int *lens, float *lp) {
  double s = 0;
  for (int b0 = 0; b0 < nsel; b0 += micro) {
    const int B = nsel - b0 < micro ? nsel - b0 : micro;
    for (int b = 0; b < B; b++) {
      const int j = sel[b0 + b], p = job_prompt[j], np = plen[p], n = np + count[j];
      lens[b] = n;
      for (int t = 0; t < T; t++) tokens[b * T + t] = t < np ? prompts[p][t] : t < n ? out[(size_t)j * max_new + (t - np)] : 0;
      for (int t = 0; t < T; t++) targets[b * T + t] = t >= np - 1 && t < n - 1 ? tokens[b * T + t + 1] : -1;
    }
    RLVR_CHECK(rlvr_forward(fs, m, tokens, lens, B, T, targets, lp, NULL, NULL) == RLVR_OK);
    for (int b = 0; b < B; b++)
      for (int t = 0; t < T; t++)
        if (targets[b * T + t] >= 0) s += adv[sel[b0 + b]] * lp[b * T + t];
  }
  return s / (double)ntok;
}

int main(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  const char *model_dir = NULL;
  int P = 16, G = 8, max_steps = 1000000, eval_n = 500, eval_every = 0, micro = 64;
  double lr = 1e-4, seconds = 300;
  int warmup = 0, check = 0;
  long start = 1000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "bench_grpo_sim: %s needs a value\n", a);
      return 2;
    }
    if (!strcmp(a, "--model")) model_dir = v;
    else if (!strcmp(a, "--set")) {
      if (rlvr_config_set(&cfg, v)) {
        fprintf(stderr, "bench_grpo_sim: %s\n", rlvr_error_message());
        return 2;
      }
    } else if (!strcmp(a, "--prompts")) P = atoi(v);
    else if (!strcmp(a, "--group")) G = atoi(v);
    else if (!strcmp(a, "--lr")) lr = atof(v);
    else if (!strcmp(a, "--warmup")) warmup = atoi(v);
    else if (!strcmp(a, "--check")) check = atoi(v);
    else if (!strcmp(a, "--seconds")) seconds = atof(v);
    else if (!strcmp(a, "--steps")) max_steps = atoi(v);
    else if (!strcmp(a, "--eval")) eval_n = atoi(v);
    else if (!strcmp(a, "--eval-every")) eval_every = atoi(v);
    else if (!strcmp(a, "--micro")) micro = atoi(v);
    else if (!strcmp(a, "--start")) start = atol(v);
    else {
      fprintf(stderr, "bench_grpo_sim: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (!model_dir || P < 1 || G < 2 || micro < 1) {
    fprintf(stderr, "usage: bench_grpo_sim --model DIR [--set k=v] [--prompts P] [--group G>=2] [--lr LR] "
                    "[--seconds S] [--steps N] [--eval N] [--eval-every K] [--micro M] [--start I]\n");
    return 2;
  }
  rlvr_model m;
  rlvr_tokenizer *tok;
  RLVR_CHECK(rlvr_model_load(model_dir, &m) == RLVR_OK, "%s", rlvr_error_message());
  RLVR_CHECK(rlvr_tokenizer_load(model_dir, &tok) == RLVR_OK, "%s", rlvr_error_message());
  int32_t eos[RLVR_MAX_EOS + 1];
  int neos = 0;
  for (int i = 0; i < m.cfg.num_eos; i++) eos[neos++] = m.cfg.eos_token_ids[i];
  rlvr_task_source *src;
  rlvr_task_template *tpl;
  RLVR_CHECK(rlvr_task_source_build(&cfg, dirs.tasks, &src) == RLVR_OK, "%s", rlvr_error_message());
  RLVR_CHECK(rlvr_task_template_load(cfg.task_template, dirs.tasks, &tpl) == RLVR_OK, "%s", rlvr_error_message());
  RLVR_CHECK(!rlvr_task_template_is_chat(tpl), "chat templates are not supported here");
  rlvr_verify_options vo;
  RLVR_CHECK(rlvr_verify_options_from_config(&vo, &cfg, dirs.verifiers) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_verify_host *host = rlvr_host_build(&vo);
  rlvr_task_cursor cur;
  rlvr_task_cursor_init(&cur, rlvr_task_source_seed(src));
  cur.position = (uint64_t)start;

  const int max_new = (int)cfg.sample_max_tokens, NJ = P * G;
  rlvr_sampling sp = {(float)cfg.sample_temperature, (int)cfg.sample_top_k, (float)cfg.sample_top_p};
  rlvr_task_item *items = calloc((size_t)P, sizeof *items);
  int32_t **prompts = calloc((size_t)P, sizeof *prompts);
  int *plen = calloc((size_t)P, sizeof *plen);
  int *job_prompt = malloc((size_t)NJ * sizeof(int)), *job_sample = malloc((size_t)NJ * sizeof(int));
  int32_t *out = malloc((size_t)NJ * max_new * sizeof(int32_t));
  int *count = malloc((size_t)NJ * sizeof(int));
  double *reward = malloc((size_t)NJ * sizeof(double)), *adv = malloc((size_t)NJ * sizeof(double));
  for (int j = 0; j < NJ; j++) job_prompt[j] = j / G, job_sample[j] = j % G;
  const int T = m.cfg.max_position;
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m.cfg, micro, T);
  float *grads = malloc(m.num_params * sizeof(float));
  rlvr_adamw opt;
  rlvr_adamw_build(&opt, &m);
  rlvr_adamw_config ac = {(float)lr, 0.9f, 0.95f, 1e-8f, 0.0f, 0};
  int *tokens = malloc((size_t)micro * T * sizeof(int)), *targets = malloc((size_t)micro * T * sizeof(int));
  int *lens = malloc((size_t)micro * sizeof(int)), *sel = malloc((size_t)NJ * sizeof(int));
  float *w = malloc((size_t)micro * T * sizeof(float)), *lp = malloc((size_t)micro * T * sizeof(float));
  const uint64_t seed = cfg.sample_seed ? (uint64_t)cfg.sample_seed : (uint64_t)cfg.run_seed;

  double es;
  double acc0 = greedy_eval(&cfg, &m, tok, eos, neos, eval_n, &es);
  printf("step 0 greedy accuracy %.4f on %d held-out (eval %.1fs)\n", acc0, eval_n, es);
  fflush(stdout);
  double t_gen = 0, t_ver = 0, t_learn = 0, t_train = 0;
  int step;
  for (step = 1; step <= max_steps && t_train < seconds; step++) {
    double t0 = wall();
    for (int i = 0; i < P; i++) {
      rlvr_task_item_clear(&items[i]);
      free(prompts[i]);
      RLVR_CHECK(rlvr_task_cursor_next(src, &cur, &items[i]) == RLVR_OK, "%s", rlvr_error_message());
      char *text = rlvr_task_template_prompt(tpl, items[i].prompt);
      size_t n;
      RLVR_CHECK(rlvr_tokenizer_encode_alloc(tok, text, strlen(text), 1, &prompts[i], &n) == RLVR_OK);
      plen[i] = (int)n;
      free(text);
    }
    RLVR_CHECK(rlvr_sft_generate(&m, prompts, plen, job_prompt, job_sample, NJ, &sp,
                                 seed * 1000003ULL + (uint64_t)step, max_new, eos, neos, out, count) == RLVR_OK,
               "%s", rlvr_error_message());
    double t1 = wall();
    double rsum = 0, lsum = 0;
    for (int j = 0; j < NJ; j++) {
      const rlvr_task_item *it = &items[job_prompt[j]];
      char *text;
      size_t len;
      rlvr_tokenizer_decode(tok, out + (size_t)j * max_new, (size_t)count[j], 1, &text, &len);
      rlvr_verify_item vi = {it->verifier, text, len, it->reference, strlen(it->reference), it->reference_json,
                             it->meta, strlen(it->meta)};
      rlvr_verify_result res;
      memset(&res, 0, sizeof res);
      rlvr_host_verify(host, &vi, &res);
      reward[j] = rlvr_verify_status_is_scored(res.status) ? res.score : 0;
      rlvr_verify_result_clear(&res);
      free(text);
      rsum += reward[j];
      lsum += count[j];
    }
    double t2 = wall();
    int nsel = 0, mixed = 0;
    long ntok = 0;
    for (int i = 0; i < P; i++) {
      double mean = 0, var = 0;
      for (int s = 0; s < G; s++) mean += reward[i * G + s];
      mean /= G;
      for (int s = 0; s < G; s++) var += (reward[i * G + s] - mean) * (reward[i * G + s] - mean);
      double sd = sqrt(var / (G - 1));
      if (sd == 0) continue;
      mixed++;
      for (int s = 0; s < G; s++) {
        const int j = i * G + s;
        adv[j] = (reward[j] - mean) / (sd + 1e-4);
        sel[nsel++] = j;
        ntok += count[j];
      }
    }
    if (nsel > 0) {
      rlvr_grads_zero(&m, grads);
      for (int b0 = 0; b0 < nsel; b0 += micro) {
        const int B = nsel - b0 < micro ? nsel - b0 : micro;
        for (int b = 0; b < B; b++) {
          const int j = sel[b0 + b], p = job_prompt[j], np = plen[p], n = np + count[j];
          RLVR_CHECK(n <= T);
          lens[b] = n;
          for (int t = 0; t < T; t++) {
            int tk = t < np ? prompts[p][t] : t < n ? out[(size_t)j * max_new + (t - np)] : 0;
            tokens[b * T + t] = tk;
          }
          for (int t = 0; t < T; t++) {
            int is_target = t >= np - 1 && t < n - 1;
            targets[b * T + t] = is_target ? tokens[b * T + t + 1] : -1;
            w[b * T + t] = is_target ? (float)(-adv[j] / (double)ntok) : 0.0f;
          }
        }
        RLVR_CHECK(rlvr_forward(&fs, &m, tokens, lens, B, T, targets, lp, NULL, NULL) == RLVR_OK);
        rlvr_backward(&fs, &m, w, NULL, grads);
      }
      double gnorm = rlvr_clip_grad_norm(grads, m.num_params, 1.0);
      if (check) printf("  grad norm %.4f, surrogate before %.6f\n", gnorm, surrogate(&fs, &m, sel, nsel, micro, T, job_prompt, prompts, plen, out, count, max_new, adv, ntok, tokens, targets, lens, lp));
      ac.lr = (float)(step <= warmup ? lr * step / warmup : lr);
      rlvr_adamw_step(&opt, &ac, m.params_memory, grads);
      if (check) printf("  surrogate after %.6f\n", surrogate(&fs, &m, sel, nsel, micro, T, job_prompt, prompts, plen, out, count, max_new, adv, ntok, tokens, targets, lens, lp));
    }
    double t3 = wall();
    t_gen += t1 - t0, t_ver += t2 - t1, t_learn += t3 - t2, t_train += t3 - t0;
    printf("step %d reward %.3f mixed %.2f len %.1f  gen %.2fs verify %.2fs learn %.2fs  total %.1fs\n", step, rsum / NJ,
           (double)mixed / P, lsum / NJ, t1 - t0, t2 - t1, t3 - t2, t_train);
    if (eval_every > 0 && step % eval_every == 0) {
      double a = greedy_eval(&cfg, &m, tok, eos, neos, eval_n, &es);
      printf("step %d greedy accuracy %.4f (eval %.1fs)\n", step, a, es);
    }
    fflush(stdout);
  }
  double acc1 = greedy_eval(&cfg, &m, tok, eos, neos, eval_n, &es);
  printf("final: %d steps, %.1fs training (generate %.1f, verify %.1f, learn %.1f); greedy accuracy %.4f -> %.4f (%+.1f points)\n",
         step - 1, t_train, t_gen, t_ver, t_learn, acc0, acc1, 100 * (acc1 - acc0));
  return 0;
}
