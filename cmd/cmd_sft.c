/* cmd_sft.c — `rlvr sft`: supervised fine-tuning on (prompt, completion)
 * pairs, the loss on completion tokens only (learner/sft.h).
 *
 * The model is a Hugging Face directory (model.path) or, with model.init =
 * tiny, a fresh byte-level model (model/tiny.h). The examples are a JSONL
 * file (sft.data) or the worked examples of the task generator. Everything
 * goes under <run.dir>/sft/: config.lua (the resolved config),
 * metrics.jsonl (one line per step), model/ (the final model, a Hugging Face
 * directory), step_<N>/ (every sft.save_every steps) and, with
 * sft.eval_size, eval.jsonl (one line per evaluation). */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "core/file.h"
#include "learner/sft.h"
#include "learner/sft_probe.h"
#include "model/checkpoint.h"
#include "model/tiny.h"
#include "model/tokenizer.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

static const char *usage =
    "usage: rlvr sft [CONFIG.lua] [--set key=value ...] [options]\n"
    "\n"
    "Supervised fine-tuning: next-token loss on the completion tokens of\n"
    "(prompt, completion) pairs, AdamW with warmup and cosine decay.\n"
    "\n"
    "  --model DIR      start from this Hugging Face model directory (model.path)\n"
    "  --init tiny      start from a fresh byte-level model instead (model.init;\n"
    "                   sizes from model.init_*)\n"
    "  --data FILE      JSONL of {\"prompt\", \"completion\"} (sft.data); without it,\n"
    "                   the worked examples of task.source with task.template\n"
    "  --examples N     examples to use (sft.examples)\n"
    "  --steps N        optimizer steps (sft.steps; 0 = from sft.epochs)\n"
    "  --lr LR          peak learning rate (sft.lr)\n"
    "  --run-dir DIR    outputs go to DIR/sft/ (run.dir)\n"
    "  --eval N         score N held-out problems of task.source after training (sft.eval_size)\n"
    "\n"
    "Outputs in <run.dir>/sft/: config.lua, metrics.jsonl (per step: loss, lr,\n"
    "grad_norm, tokens, tokens_per_s), model/ (the final model), step_<N>/\n"
    "(every sft.save_every steps), eval.jsonl (with --eval).\n"
    "All sft.* keys: rlvr config --reference.\n";

/* cmd_learner.c: SIGINT/SIGTERM set *flag (once; a second signal kills). */
void cmd_learner_install_signals(volatile sig_atomic_t **flag);

static const cmd_shorthand shorthands[] = {
    {"--model", "model.path"}, {"--init", "model.init"},    {"--data", "sft.data"},
    {"--examples", "sft.examples"}, {"--steps", "sft.steps"}, {"--lr", "sft.lr"},
    {"--run-dir", "run.dir"},  {"--eval", "sft.eval_size"},
};

typedef struct {
  const rlvr_config *cfg;
  const char *out_dir;     /* <run.dir>/sft */
  const char *source_dir;  /* model.path, or NULL for a tiny model */
  const rlvr_tokenizer *tok;
  int32_t eos[RLVR_MAX_EOS + 1];
  int neos;
  int tty;
  int64_t total;
  volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM: stop after the current step */
} sft_ctx;

static char *path_join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int save_model(const sft_ctx *c, const rlvr_model *m, const char *dir) {
  if (!c->source_dir) return rlvr_tiny_save(m, dir);
  rlvr_save_options o = {.tokenizer_dir = c->source_dir};
  return rlvr_model_save(m, dir, &o);
}

/* Runs the probe and appends its line to eval.jsonl; step 0 = before training. */
static int evaluate(const sft_ctx *c, const rlvr_model *m, int64_t step) {
  rlvr_sft_probe_result r;
  const rlvr_sft_probe_dirs dirs = {RLVR_SOURCE_DIR "/tasks", RLVR_SOURCE_DIR "/verifiers",
                                    RLVR_SOURCE_DIR "/model/templates"};
  int rc = rlvr_sft_probe_run(c->cfg, &dirs, m, c->tok, c->eos, c->neos, (int)c->cfg->sft_eval_size,
                         (int)c->cfg->sft_eval_samples, &r);
  if (rc) return rc;
  if (c->tty) fputc('\n', stderr);
  fprintf(stderr, "sft eval step %lld: greedy accuracy %.3f (format %.3f, %.1f tokens) on %d held-out problems",
          (long long)step, r.greedy_accuracy, r.greedy_format, r.greedy_tokens, r.problems);
  if (r.samples > 0)
    fprintf(stderr, "; %d samples at T=%g: accuracy %.3f, pass@%d %.3f, mixed groups %.3f", r.samples,
            c->cfg->sample_temperature, r.sampled_accuracy, r.samples, r.pass_at_k, r.mixed_groups);
  fprintf(stderr, " (%.1f s)\n", r.seconds);
  char *path = path_join(c->out_dir, "eval.jsonl");
  FILE *f = fopen(path, "a");
  if (!f) {
    rc = rlvr_error(RLVR_ERR_IO, "%s: cannot open for appending", path);
    free(path);
    return rc;
  }
  fprintf(f,
          "{\"step\": %lld, \"problems\": %d, \"greedy_accuracy\": %.6f, \"greedy_format\": %.6f, "
          "\"greedy_tokens\": %.3f, \"samples\": %d, \"temperature\": %g, \"sampled_accuracy\": %.6f, "
          "\"pass_at_k\": %.6f, \"mixed_groups\": %.6f, \"seconds\": %.3f}\n",
          (long long)step, r.problems, r.greedy_accuracy, r.greedy_format, r.greedy_tokens, r.samples,
          c->cfg->sample_temperature, r.sampled_accuracy, r.pass_at_k, r.mixed_groups, r.seconds);
  rc = fclose(f) ? rlvr_error(RLVR_ERR_IO, "%s: write failed", path) : RLVR_OK;
  free(path);
  return rc;
}

static int on_step(void *ctx, const rlvr_model *m, const rlvr_sft_step *st) {
  sft_ctx *c = ctx;
  const int64_t k = st->step + 1;
  if (c->stop && *c->stop)
    return rlvr_error(RLVR_ERR_ARG, "interrupted by a signal after step %lld of %lld; the model is not saved",
                      (long long)k, (long long)st->total_steps);
  const double tps = st->seconds > 0 ? (double)st->tokens / st->seconds : 0;
  const double eta = st->elapsed / (double)k * (double)(st->total_steps - k);
  if (c->tty)
    fprintf(stderr, "\rsft step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %.0fs   ", (long long)k,
            (long long)st->total_steps, st->loss, st->lr, tps, eta);
  else if (k == 1 || k == st->total_steps || (c->cfg->sft_log_every > 0 && k % c->cfg->sft_log_every == 0))
    fprintf(stderr, "sft step %lld/%lld loss %.4f lr %.2e grad_norm %.3f %.0f tok/s elapsed %.1fs\n", (long long)k,
            (long long)st->total_steps, st->loss, st->lr, st->grad_norm, tps, st->elapsed);
  int rc = RLVR_OK;
  if (c->cfg->sft_save_every > 0 && k % c->cfg->sft_save_every == 0 && k < st->total_steps) {
    char name[64];
    snprintf(name, sizeof name, "step_%lld", (long long)k);
    char *dir = path_join(c->out_dir, name);
    rc = save_model(c, m, dir);
    free(dir);
  }
  if (!rc && c->cfg->sft_eval_size > 0 && c->cfg->sft_eval_every > 0 && k % c->cfg->sft_eval_every == 0 &&
      k < st->total_steps)
    rc = evaluate(c, m, k);
  return rc;
}

int cmd_sft(int argc, char **argv) {
  rlvr_config cfg;
  int done;
  int rc = cmd_parse_simple("sft", argc, argv, &cfg, shorthands, (int)(sizeof shorthands / sizeof shorthands[0]), usage,
                            &done);
  if (done) return rc;
  if ((rc = cmd_apply_runtime("sft", &cfg)) != EXIT_OK) {
    rlvr_config_free(&cfg);
    return rc;
  }

  rlvr_model model;
  memset(&model, 0, sizeof model);
  rlvr_tokenizer *tok = NULL;
  rlvr_sft_data data;
  memset(&data, 0, sizeof data);
  sft_ctx ctx = {.cfg = &cfg, .tty = isatty(2)};
  char *out_dir = path_join(cfg.run_dir, "sft");
  ctx.out_dir = out_dir;

  /* the model and its tokenizer */
  if (cfg.model_path[0]) {
    ctx.source_dir = cfg.model_path;
    char *tp = path_join(cfg.model_path, "tokenizer.json");
    if (rlvr_model_load(cfg.model_path, &model) || rlvr_tokenizer_load(tp, &tok)) {
      free(tp);
      rc = cmd_fail("sft", "%s", rlvr_error_message());
      goto done;
    }
    free(tp);
  } else if (!strcmp(cfg.model_init, "tiny")) {
    char *json = rlvr_tiny_tokenizer_json();
    int e = rlvr_tiny_build(&cfg, (uint64_t)cfg.run_seed, &model);
    if (!e) e = rlvr_tokenizer_load_json(json, strlen(json), "tiny tokenizer.json", &tok);
    free(json);
    if (e) {
      rc = cmd_fail("sft", "%s", rlvr_error_message());
      goto done;
    }
  } else if (cfg.model_init[0]) {
    rc = cmd_usage_error("sft", "model.init: '%s' is not tiny (or '' with model.path)", cfg.model_init);
    goto done;
  } else {
    rc = cmd_usage_error("sft", "no model: give --model DIR (model.path) or --init tiny (model.init)");
    goto done;
  }
  for (int i = 0; i < model.cfg.num_eos; i++) ctx.eos[ctx.neos++] = model.cfg.eos_token_ids[i];
  int32_t eos = rlvr_tokenizer_eos_id(tok);
  if (eos < 0 && ctx.neos > 0) eos = ctx.eos[0];
  if (eos < 0) {
    rc = cmd_fail("sft", "%s: neither tokenizer_config.json nor config.json names an EOS token", cfg.model_path);
    goto done;
  }
  int known = 0;
  for (int i = 0; i < ctx.neos; i++) known |= ctx.eos[i] == eos;
  if (!known) ctx.eos[ctx.neos++] = eos;
  ctx.tok = tok;

  /* the examples */
  if (cfg.sft_max_len < 0) {
    rc = cmd_fail("sft", "sft.max_len: must be >= 0, is %lld", (long long)cfg.sft_max_len);
    goto done;
  }
  rlvr_sft_encoding enc = {.tok = tok,
                           .eos = eos,
                           .max_len = cfg.sft_max_len > 0 && cfg.sft_max_len < model.cfg.max_position
                                          ? (int)cfg.sft_max_len
                                          : model.cfg.max_position,
                           .chat_template = cfg.generate_template,
                           .chat_template_dir = RLVR_SOURCE_DIR "/model/templates"};
  int e = cfg.sft_data[0] ? rlvr_sft_data_load_jsonl(cfg.sft_data, &enc, cfg.sft_examples, &data)
                          : rlvr_sft_data_from_task(&cfg, RLVR_SOURCE_DIR "/tasks", &enc, cfg.sft_examples, &data);
  if (e) {
    rc = cmd_fail("sft", "%s", rlvr_error_message());
    goto done;
  }
  rlvr_sft_options opt;
  if (rlvr_sft_options_from(&cfg, data.n, &opt)) {
    rc = cmd_fail("sft", "%s", rlvr_error_message());
    goto done;
  }
  ctx.total = opt.steps;
  if (cfg.sft_eval_size < 0 || cfg.sft_eval_samples < 0 || cfg.sft_eval_every < 0) {
    rc = cmd_fail("sft", "sft.eval_size, sft.eval_every and sft.eval_samples must be >= 0");
    goto done;
  }

  /* the run directory: a fresh metrics file, the resolved config */
  char *metrics = path_join(out_dir, "metrics.jsonl"), *eval_path = path_join(out_dir, "eval.jsonl");
  char *cfg_path = path_join(out_dir, "config.lua");
  if ((e = rlvr_mkdirs(out_dir)) == RLVR_OK) {
    unlink(metrics);
    unlink(eval_path);
    e = rlvr_config_save(&cfg, cfg_path);
  }
  free(eval_path), free(cfg_path);
  if (e) {
    free(metrics);
    rc = cmd_fail("sft", "%s", rlvr_error_message());
    goto done;
  }
  fprintf(stderr,
          "sft: %d examples (%lld completion tokens, longest %d tokens), %lld steps of %d (micro-batches of %d), "
          "model %.2fM parameters, %s\n",
          data.n, (long long)data.completion_tokens, data.max_len, (long long)opt.steps, opt.batch_size,
          opt.micro_batch, (double)model.num_params / 1e6, ctx.source_dir ? ctx.source_dir : "fresh tiny model");
  cmd_learner_install_signals(&ctx.stop);
  opt.on_step = on_step;
  opt.ctx = &ctx;
  opt.metrics_path = metrics;
  e = rlvr_sft_train(&model, &data, &opt);
  free(metrics);
  if (ctx.tty) fputc('\n', stderr);
  if (e) {
    rc = cmd_fail("sft", "%s", rlvr_error_message());
    goto done;
  }
  char *final_dir = path_join(out_dir, "model");
  e = save_model(&ctx, &model, final_dir);
  if (!e) fprintf(stderr, "sft: saved %s\n", final_dir);
  free(final_dir);
  if (!e && cfg.sft_eval_size > 0) e = evaluate(&ctx, &model, opt.steps);
  if (e) rc = cmd_fail("sft", "%s", rlvr_error_message());

done:
  rlvr_sft_data_free(&data);
  rlvr_tokenizer_free(tok);
  rlvr_model_free(&model);
  free(out_dir);
  rlvr_config_free(&cfg);
  return rc;
}
