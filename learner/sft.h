/* sft.h — supervised fine-tuning: next-token cross-entropy on the
 * completion tokens of (prompt, completion) pairs. The warm start of the
 * default run and `rlvr sft`.
 *
 * An example is the prompt's tokens, then the completion's tokens, then EOS,
 * encoded apart and concatenated (so the prompt/completion boundary is
 * exact whatever the tokenizer merges). Only the completion and EOS are
 * predicted: for an example of P prompt tokens and length n, the targets are
 * positions P..n-1, predicted from positions P-1..n-2.
 *
 * One optimizer step takes the next batch_size examples of the epoch order,
 * runs them in micro-batches of at most micro_batch examples, and minimises
 *   loss = - (1 / K) sum over the step's completion tokens of log p(token)
 * where K counts the completion tokens of the whole step: the mean over
 * completion tokens, the same whatever the micro-batch size (each
 * micro-batch's backward gets weight -1/K per completion token, and the
 * gradients add up). Then gradient-norm clipping, AdamW (model/optim.h) with
 * the step's learning rate (learner/schedule.h).
 *
 * The epoch order is a permutation of the examples seeded by (seed, epoch)
 * (or file order without shuffling); steps run across epoch boundaries
 * without a short batch, so every step has exactly batch_size examples. */
#ifndef RLVR_SFT_H
#define RLVR_SFT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "learner/schedule.h"
#include "model/model.h"
#include "model/optim.h"
#include "model/tokenizer.h"

/* Tokenised examples: example i is tokens[off[i] .. off[i+1]) with its first
 * prompt_len[i] tokens the prompt. Every example has at least one prompt
 * token and one completion token (EOS at least). */
typedef struct {
  int32_t *tokens;
  size_t *off;     /* (n + 1) */
  int *prompt_len; /* (n) */
  int n;
  int max_len;          /* longest example */
  int64_t completion_tokens; /* sum over examples of (length - prompt_len) */
} rlvr_sft_data;

/* How the examples' texts become tokens. */
typedef struct {
  const rlvr_tokenizer *tok;
  int32_t eos;      /* appended to every completion */
  int max_len;      /* an example longer than this is an error */
  /* For examples marked chat: the model's chat template (model/chat.h name
   * or path) that wraps the prompt as the user's message; NULL or "none"
   * makes such an example an error. */
  const char *chat_template;
  const char *chat_template_dir; /* where a bare template name is looked up (model/templates) */
} rlvr_sft_encoding;

/* Reads a JSONL file of {"prompt": string, "completion": string,
 * optional "chat": bool, any other fields ignored}, one object a line,
 * blank lines skipped, the first limit examples (0 = all). Errors name the
 * file and line: RLVR_ERR_IO, RLVR_ERR_FORMAT (malformed JSON, a missing
 * or mistyped field, no examples at all), RLVR_ERR_RANGE (an example longer
 * than max_len, an empty prompt). *out untouched on error. */
int rlvr_sft_data_load_jsonl(const char *path, const rlvr_sft_encoding *enc, int64_t limit,
                             rlvr_sft_data *out);

/* The worked examples of the first n items of the training split of the
 * task source that cfg's task.* keys name, in the order of a cursor seeded
 * by sft.seed, or when that is 0 by the learner's order seed + 1 (so that a
 * GRPO run after this warm start does not begin with the same problems),
 * with task.template applied. tasks_dir is
 * the built-in tasks/ directory. Errors: those of the source and the
 * template, RLVR_ERR_ARG for an item without a worked solution (naming its
 * id), RLVR_ERR_RANGE for one longer than max_len. *out untouched on error. */
int rlvr_sft_data_from_task(const rlvr_config *cfg, const char *tasks_dir, const rlvr_sft_encoding *enc,
                            int64_t n, rlvr_sft_data *out);

/* Accepts NULL and a zeroed struct. */
void rlvr_sft_data_free(rlvr_sft_data *d);

/* What one optimizer step did, for callbacks and metrics. */
typedef struct {
  int64_t step;          /* 0-based; the metrics line says step + 1 */
  int64_t total_steps;
  double epoch;          /* examples seen / examples, after this step */
  double loss;           /* mean NLL over the step's completion tokens */
  double lr;
  double grad_norm;      /* before clipping */
  int64_t tokens;        /* tokens run through the model this step */
  int64_t completion_tokens; /* K */
  double seconds;        /* wall time of this step */
  double elapsed;        /* since training started */
} rlvr_sft_step;

typedef struct {
  int64_t steps;         /* optimizer steps, >= 1 */
  int batch_size;        /* examples per step, >= 1 */
  int micro_batch;       /* examples per forward/backward, 1..batch_size */
  rlvr_lr_schedule lr;   /* total = steps */
  rlvr_adamw_config adamw; /* its lr is set from the schedule at each step */
  double max_grad_norm;  /* 0 = no clipping */
  int shuffle;           /* 0: file order every epoch */
  uint64_t seed;         /* of the epoch permutations */
  /* After each step; a non-zero return stops training with that code
   * (after the step's metrics line is written). May be NULL. */
  int (*on_step)(void *ctx, const rlvr_model *m, const rlvr_sft_step *st);
  void *ctx;
  /* metrics.jsonl: one JSON line per step (step from 1, loss, lr,
   * grad_norm, tokens, completion_tokens, epoch, seconds, tokens_per_s),
   * appended; NULL writes none. */
  const char *metrics_path;
} rlvr_sft_options;

/* Fills o from the sft.* keys of c for data of n examples, with run.seed
 * as the shuffle seed. RLVR_ERR_CONFIG naming the key on a bad value;
 * on_step, ctx and metrics_path are left NULL. */
int rlvr_sft_options_from(const rlvr_config *c, int n, rlvr_sft_options *o);

/* Trains m in place on d. The forward state, gradients and optimizer are
 * allocated here, once, and freed before returning. Returns RLVR_OK, the
 * code on_step returned, RLVR_ERR_IO if metrics_path cannot be written, or
 * RLVR_ERR_RANGE if a token is outside the model's vocabulary (naming the
 * example) — the model is then partly trained. A non-finite loss is
 * RLVR_ERR_RANGE too (naming the step), so a diverged run stops early. */
int rlvr_sft_train(rlvr_model *m, const rlvr_sft_data *d, const rlvr_sft_options *o);

#endif
