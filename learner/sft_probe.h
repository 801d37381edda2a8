/* sft_probe.h — the evaluation of `rlvr sft`: how well a policy solves the
 * held-out problems of task.source, and whether GRPO would find signal in
 * its samples.
 *
 * Greedy: one completion per problem at temperature 0; accuracy is the mean
 * verifier score. Sampled (samples = k > 0): k completions per problem with
 * sample.temperature / top_k / top_p, each from its own generator seeded by
 * (sample.seed or run.seed, problem, sample), so results do not depend on
 * batching. Reported: the mean score over all samples (pass@1 at that
 * temperature), pass@k (problems with at least one sample scoring 1), and
 * the fraction of problems whose k scores are not all equal — the groups
 * whose GRPO advantages are not all zero.
 *
 * Generation runs in batches through the KV-cache decoder (model/decode.h);
 * scoring runs the verifier scripts in this process (verifiers/host.h).
 * This is a probe for `rlvr sft` and for choosing the default run, not
 * `rlvr eval`. */
#ifndef RLVR_SFT_PROBE_H
#define RLVR_SFT_PROBE_H

#include <stdint.h>

#include "core/config.h"
#include "model/model.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

typedef struct {
  int problems;
  int samples;             /* k; 0 = greedy only */
  double greedy_accuracy;  /* mean score of the greedy completions */
  double greedy_format;    /* fraction of greedy completions not wrong-format */
  double greedy_tokens;    /* mean length of the greedy completions */
  double sampled_accuracy; /* mean score over all samples */
  double pass_at_k;        /* problems with a sample scoring >= 1 */
  double mixed_groups;     /* problems whose k scores differ */
  double seconds;
} rlvr_sft_probe_result;

/* Completes jobs j = 0..njobs-1 with the KV-cache decoder, 64 at a time:
 * job j continues prompts[job_prompt[j]] (plen tokens) for at most max_new
 * tokens, stopping after any of the neos ids in eos (kept in the output),
 * sampling with sp from a generator seeded by (seed, job_prompt[j],
 * job_sample[j]), so a job's tokens do not depend on the other jobs. Writes
 * out + j * max_new and count[j]. Errors from the decoder (a token outside
 * the vocabulary, a prompt too long for the model) are returned. */
int rlvr_sft_generate(const rlvr_model *m, int32_t *const *prompts, const int *plen, const int *job_prompt,
                      const int *job_sample, int njobs, const rlvr_sampling *sp, uint64_t seed, int max_new,
                      const int32_t *eos, int neos, int32_t *out, int *count);

/* Where the built-in scripts live: tasks/ (generators and templates),
 * verifiers/, model/templates/ (chat templates). */
typedef struct {
  const char *tasks;
  const char *verifiers;
  const char *chat_templates;
} rlvr_sft_probe_dirs;

/* Scores m (with tok, stopping at any of the neos ids in eos) on the first
 * `problems` held-out items of cfg's task source with task.template (a chat
 * template is wrapped with generate.template). At most sample.max_tokens
 * tokens per completion. Returns RLVR_OK or an error of the task source,
 * the template or the tokenizer (message set); *r untouched on error. */
int rlvr_sft_probe_run(const rlvr_config *cfg, const rlvr_sft_probe_dirs *dirs, const rlvr_model *m,
                       const rlvr_tokenizer *tok, const int32_t *eos, int neos, int problems, int samples,
                       rlvr_sft_probe_result *r);

#endif
