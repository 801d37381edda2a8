/* eval.h — scoring a policy on a set of problems: pass@1, pass@k and maj@k
 * from n sampled completions per problem (or one greedy completion), with
 * optional s1 budget forcing (the engine's), per-sample JSON lines and a
 * summary (docs/eval.md).
 *
 * Correctness. A sample is correct when its verifier scored it >= 0.5 with
 * status ok or wrong-format (every verifier shipped scores 0 or 1); an
 * infrastructure failure counts as incorrect and is reported apart.
 *
 * pass@k is the unbiased estimator of Chen et al. 2021 (Evaluating Large
 * Language Models Trained on Code, eq. 1), averaged over problems: with n
 * samples of which c are correct,
 *     pass@k = 1 - C(n - c, k) / C(n, k)        (1 when n - c < k),
 * computed as 1 - prod_{i = n-c+1}^{n} (1 - k / i) so that no binomial
 * overflows. pass@1 is then the mean fraction of correct samples.
 *
 * maj@n (self-consistency, Wang et al. 2023): the n samples' final answers
 * vote; answers are grouped by the math verifier's equivalence
 * (verifiers/mathlib_equiv.h: rlvr_mq_equal with the group's first answer as
 * the gold side, so "0.5", "1/2" and "\frac12" are one answer); the largest
 * group wins, a tie goes to the group whose first answer came first; the
 * problem counts as solved when the winning group's first sample is
 * correct. A sample's answer is the verifier's own extraction
 * (details.extracted, as the math and countdown verifiers report it), else
 * what rlvr_mx_extract finds in the completion; samples without one do not
 * vote, and a problem where none votes is not solved.
 *
 * Curves over k (options.curves): pass@k for every k in 1..n with the
 * estimator above, and maj@k for every k in 1..n with the unbiased
 * estimator of rlvr_maj_at_k_curve: the mean over all C(n, k) subsets of k
 * of the n samples of "the subset's majority answer is correct", computed
 * exactly from the answer groups' sizes (no subsampling). */
#ifndef RLVR_EVAL_H
#define RLVR_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "model/model.h"
#include "model/tokenizer.h"
#include "rollout/engine.h"
#include "verifiers/pool.h"

enum { RLVR_EVAL_MAX_K = 16 };

/* The unbiased pass@k of n samples with c correct (0 <= c <= n, 1 <= k <= n). */
double rlvr_pass_at_k(int n, int c, int k);

/* Groups the n answers (NULL = no answer) by equivalence as above and returns
 * the index of the winning group's first answer, or -1 when no answer votes;
 * *votes (may be NULL) gets the winning group's size. */
int rlvr_majority_vote(const char *const *answers, int n, int *votes);

/* The grouping rlvr_majority_vote votes with: cluster[i] (n entries) gets
 * answer i's group, numbered 0, 1, ... in order of first appearance, or -1
 * for a NULL answer. Returns the number of groups. */
int rlvr_answer_clusters(const char *const *answers, int n, int *cluster);

/* maj@k for every k = 1..n from one set of n samples: maj[k-1] is the mean,
 * over all C(n, k) subsets of k samples, of the subset's vote, where the
 * subset's vote counts each group's members in the subset, the groups with
 * the most votes (>= 1) tie, and the subset scores the fraction of tied
 * groups that are correct (a tie split evenly: the expectation under a
 * uniformly random tie-break); a subset with no vote scores 0. The groups
 * are size[0..ngroups) (each >= 1, summing to at most n; the other samples
 * have no answer) with correct[g] 0 or 1. As a U-statistic over subsets of
 * exchangeable samples it is an unbiased estimate of the maj@k of k fresh
 * samples. Exact: a dynamic program over the groups for each possible
 * winning count t (counts with a scale factor, so nothing overflows for
 * n <= 1024), O(n^3 log n) at worst (all answers distinct), far below the
 * cost of generating the samples. */
void rlvr_maj_at_k_curve(int n, const int *size, const int *correct, int ngroups, double *maj);

/* One problem: its prompt (text for the record, ids for the model) and what
 * its verifier is given. Borrowed for the call. */
typedef struct {
  const char *id;
  const char *prompt_text;
  const int32_t *prompt;
  int nprompt;
  const char *verifier;
  const char *reference;
  int reference_json; /* 1: reference is JSON text */
  const char *meta;   /* JSON object text or NULL */
} rlvr_eval_problem;

typedef struct {
  int samples;                   /* n >= 1 */
  int pass_k[RLVR_EVAL_MAX_K];   /* the k of the pass@k reported, each 1..n */
  int npass_k;
  int batch;                     /* problems per engine request, >= 1 */
  uint64_t first_group_id;       /* problem i is group first_group_id + i (seeds derive from it) */
  int curves;                    /* 1: pass@k and maj@k for every k in 1..n into the summary's curves */
  rlvr_engine_params params;     /* temperature, max_tokens, seed, stop, budget */
} rlvr_eval_options;

typedef struct {
  int64_t problems, samples;
  double pass_k[RLVR_EVAL_MAX_K]; /* as options.pass_k */
  double pass1;                   /* mean fraction of correct samples (pass@1) */
  double maj;                     /* maj@n */
  double mean_score;              /* mean verifier score over samples */
  int64_t correct;                /* correct samples */
  int64_t wrong_format;           /* samples with no readable answer */
  int64_t infra_failures;         /* samples whose verifier did not finish */
  int64_t finish[4];              /* by rlvr_engine_finish */
  int64_t waits, think_cut;       /* budget forcing events */
  int64_t tokens;                 /* completion tokens (sampled and inserted) */
  /* Thinking tokens, counted when budget forcing is on: a sample's
   * think_tokens where its thinking ended (or was cut), else all of its
   * tokens (it never left the thinking phase). */
  int64_t think_tokens;
  double seconds, generate_s, verify_s;
  /* options.curves: curve_pass[k-1] = pass@k and curve_maj[k-1] = maj@k for
   * k = 1..ncurve (= n), averaged over problems; malloc'd, freed by
   * rlvr_eval_summary_clear. NULL otherwise. */
  double *curve_pass, *curve_maj;
  int ncurve;
  /* options.curves: samples scored otherwise than their answer group's
   * first sample (the verifier and the vote's equivalence disagree); the
   * curves' maj@k takes a group to be correct when its first sample is. */
  int64_t vote_mismatch;
} rlvr_eval_summary;

/* Frees the curves; accepts a zeroed summary. rlvr_eval_run overwrites *out
 * whole: clear a summary before it is reused. */
void rlvr_eval_summary_clear(rlvr_eval_summary *s);

/* Generates o->samples completions of each problem with e, scores them with
 * pool, writes one JSON line per sample to samples (may be NULL; docs/eval.md
 * lists the fields) and the totals to *out. Errors: the engine's (a prompt
 * that does not fit, bad parameters), RLVR_ERR_IO writing samples; *out is
 * then incomplete. */
int rlvr_eval_run(rlvr_engine *e, const rlvr_tokenizer *tok, rlvr_verify_pool *pool, const rlvr_eval_options *o,
                  const rlvr_eval_problem *problems, int nproblems, FILE *samples, rlvr_eval_summary *out);

/* Options from the eval.* keys (and sample.max_tokens, sample.seed or
 * run.seed, budget.* when eval.budget). stop points into cfg. RLVR_ERR_CONFIG
 * naming the key. */
int rlvr_eval_options_from_config(const rlvr_config *cfg, rlvr_eval_options *o);

/* Where the built-in scripts live. */
typedef struct {
  const char *tasks;          /* tasks/ (generators, templates) */
  const char *chat_templates; /* model/templates */
} rlvr_eval_dirs;

/* The whole of `rlvr eval` but the files: the problems of cfg's task source
 * (eval.split, eval.size; the prompt through task.template and, for chat
 * templates, generate.template), an engine on m with rollout.slots slots, the
 * options of rlvr_eval_options_from_config with samples_override > 0
 * replacing eval.samples and greedy (temperature 0) forced when greedy is 1.
 * For a learner's held-out check: rlvr_eval_config(cfg, dirs, m, tok, eos,
 * neos, pool, 0, 1, NULL, &s) is greedy accuracy in s.pass1. */
int rlvr_eval_config(const rlvr_config *cfg, const rlvr_eval_dirs *dirs, const rlvr_model *m,
                     const rlvr_tokenizer *tok, const int32_t *eos, int neos, rlvr_verify_pool *pool,
                     int samples_override, int greedy, FILE *samples, rlvr_eval_summary *out);

/* rlvr_eval_config for several option sets in turn on the same problems and
 * engine (one engine sized for the largest max_tokens): runs[r] scores into
 * outs[r], writing its samples to samples[r] (samples or an entry may be
 * NULL). progress (may be NULL) is called after each run. The first error
 * stops the runs; outs[0..nruns) are then zeroed or complete. */
typedef void (*rlvr_eval_progress_fn)(void *ctx, int run, const rlvr_eval_summary *s);
int rlvr_eval_config_runs(const rlvr_config *cfg, const rlvr_eval_dirs *dirs, const rlvr_model *m,
                          const rlvr_tokenizer *tok, const int32_t *eos, int neos, rlvr_verify_pool *pool,
                          const rlvr_eval_options *runs, int nruns, FILE *const *samples, rlvr_eval_summary *outs,
                          rlvr_eval_progress_fn progress, void *ctx);

/* The summary as one JSON object (malloc'd text): problems, samples per
 * problem, accuracy (= pass@1), pass@k, maj@n, and the counts; with budget
 * forcing the budget's settings, counts and means; with curves, "curves"
 * {"k", "pass@k", "maj@k", "vote_mismatch"}. */
char *rlvr_eval_summary_json(const rlvr_eval_options *o, const rlvr_eval_summary *s);

#endif
