/* learner.c — the GRPO learner in process; see learner.h for the loop and
 * the step, docs/learner.md for the whole picture and docs/metrics.md for
 * every field of metrics.jsonl. */
#include "learner/learner.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/rng.h"
#include "learner/checkpoint.h"
#include "learner/jsonmp.h"
#include "learner/learn_gpu.h"
#include "learner/loss.h"
#include "learner/metrics.h"
#include "learner/schedule.h"
#include "model/chat.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "model/optim.h"
#include "model/tokenizer.h"
#include "rewards/advantage.h"
#include "rewards/reward.h"
#include "rollout/consensus.h"
#include "tasks/curriculum.h"
#include "tasks/task.h"
#include "tasks/template.h"

enum { PATH_CAP = 4096 };

/* One completion of the batch. */
typedef struct {
  const rlvr_ledger_group *g;
  const rlvr_sample_rec *s;
  int index; /* within its group */
  int included; /* verifier ran: not an infrastructure failure */
} row_ref;

/* The step's buffers, allocated once at build for the largest step:
 * R = prompts_per_step x G rows of at most sample.max_tokens completion
 * tokens (the ledger refuses longer ones), micro-batches of micro_batch
 * rows of at most max_position tokens. Tc below is the step's own width. */
typedef struct {
  int R, Tc;
  row_ref *rows;
  uint8_t *mask;   /* (R, Tc) counted tokens */
  uint8_t *trunc;  /* (R) */
  float *adv;      /* (R) */
  float *lp_samp;  /* (R, Tc) the rollout's log-probs */
  float *lp_old;   /* (R, Tc) recomputed in the first pass */
  float *lp_ref;   /* (R, Tc) or NULL */
  /* one micro-batch */
  int *tokens, *targets, *lens; /* (mb, Tseq) (mb, Tseq) (mb) */
  float *lp_full, *ent_full, *w_full; /* (mb, Tseq) */
  float *lp_c, *dlp_c;                /* (mb, Tc) */
} step_buf;

struct rlvr_learner {
  const rlvr_config *cfg;
  rlvr_learner_env env;
  char run_dir[PATH_CAP];
  char model_dir[PATH_CAP]; /* where the policy was loaded from */
  /* Where the tokenizer files come from for every save: model.path, which
   * outlives the run (a resumed run's checkpoint may be pruned). */
  char tokenizer_dir[PATH_CAP];

  rlvr_model model;
  rlvr_model ref; /* frozen reference, loaded only when loss.beta > 0 */
  int have_ref;
  rlvr_tokenizer *tok;
  rlvr_task_source *src;
  rlvr_task_template *tpl;
  rlvr_chat_template *chat;
  rlvr_ledger *ledger;

  rlvr_adamw opt;
  rlvr_adamw_config adamw;
  double max_grad_norm;
  rlvr_lr_schedule sched;
  rlvr_loss_config loss;
  int micro_batch, updates, group_size;
  float temperature;
  uint64_t sample_seed;
  rlvr_rng rng;

  rlvr_forward_state fs;
  int fs_seq; /* max_seq the forward state was built for; 0 = not built */
  float *grads;
  /* learner.device = cuda: the policy's forward, backward and AdamW run
   * there (learn_gpu.h; fs then serves only the reference), and the host
   * model gets the weights back after each step. NULL: all on the CPU. */
  rlvr_learn_gpu *gpu;
  step_buf sb; /* the step's buffers */

  int64_t step;        /* steps done = policy version */
  int64_t total_steps; /* train.steps */
  int64_t stop_after;  /* steps after which this process stops */
  uint64_t next_work_id;
  int64_t skipped_items; /* items whose prompt did not fit */

  /* the work message under construction */
  rlvr_prompt_group *wgroups;
  const rlvr_ledger_group **wissued;
  int wcap;

  rlvr_jsonl metrics, samples;
  rlvr_progress progress;

  /* step accounting */
  rlvr_ledger_counts counts_at_step;
  uint64_t next_id_at_step; /* the ledger's next group id when the step began */
  int64_t rejected, rejected_at_step;
  int64_t rejected_base; /* rejections counted by earlier processes of the run (resume) */
  double collect_t0; /* when the current step began waiting for its batch */
  double elapsed_base; /* training seconds of earlier processes (resume) */
  double run_t0;       /* when this process started training */
  double steps_time;   /* seconds of the steps this process ran, for the ETA */
  int64_t steps_run;   /* steps this process ran */
};

static void step_buf_build(step_buf *b, int R, int Tc, int MB, int seq, int with_ref) {
  const size_t RT = (size_t)R * Tc, MS = (size_t)MB * seq;
  b->rows = xcalloc((size_t)R, sizeof *b->rows);
  b->mask = xcalloc(RT, 1);
  b->trunc = xcalloc((size_t)R, 1);
  b->adv = xcalloc((size_t)R, sizeof(float));
  b->lp_samp = xcalloc(RT, sizeof(float));
  b->lp_old = xcalloc(RT, sizeof(float));
  b->lp_ref = with_ref ? xcalloc(RT, sizeof(float)) : NULL;
  b->tokens = xmalloc(MS * sizeof(int));
  b->targets = xmalloc(MS * sizeof(int));
  b->lens = xmalloc((size_t)MB * sizeof(int));
  b->lp_full = xmalloc(MS * sizeof(float));
  b->ent_full = xmalloc(MS * sizeof(float));
  b->w_full = xmalloc(MS * sizeof(float));
  b->lp_c = xmalloc((size_t)MB * Tc * sizeof(float));
  b->dlp_c = xmalloc((size_t)MB * Tc * sizeof(float));
}

static void step_buf_free(step_buf *b) {
  free(b->rows), free(b->mask), free(b->trunc), free(b->adv), free(b->lp_samp), free(b->lp_old), free(b->lp_ref);
  free(b->tokens), free(b->targets), free(b->lens), free(b->lp_full), free(b->ent_full), free(b->w_full);
  free(b->lp_c), free(b->dlp_c);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* snprintf for paths: one that does not fit is an error, never cut. */
static int pathf(char *out, size_t cap, const char *fmt, ...) RLVR_PRINTF(3, 4);
static int pathf(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, cap, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap) return rlvr_error(RLVR_ERR_IO, "path too long: %.64s...", out);
  return RLVR_OK;
}

/* ---- groups from task items ---- */

/* The spec of the item at *cursor (advanced). An item whose prompt does not
 * fit the model with at least one completion token is skipped (counted). */
static int make_group(void *ctx, rlvr_task_cursor *cursor, rlvr_group_spec *out) {
  rlvr_learner *L = ctx;
  rlvr_task_cursor c = *cursor;
  for (int attempt = 0; attempt < 1000; attempt++) {
    rlvr_task_item it;
    memset(&it, 0, sizeof it);
    int rc = rlvr_task_cursor_next(L->src, &c, &it);
    if (rc) return rc;
    char *prompt = rlvr_task_template_prompt(L->tpl, it.prompt);
    char *text = prompt;
    size_t len = strlen(prompt);
    const int is_chat = rlvr_task_template_is_chat(L->tpl);
    if (is_chat) {
      rlvr_chat_message msg = {"user", prompt};
      char *rendered;
      rc = rlvr_chat_apply(L->chat, &msg, 1, 1, &rendered, &len);
      if (rc) {
        rlvr_error_wrap(rc, "item %s", it.id);
        free(prompt);
        rlvr_task_item_clear(&it);
        return rc;
      }
      free(prompt);
      text = prompt = rendered;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    /* A chat template writes its own special tokens; plain text gets the
     * tokenizer's (a BOS where it has one): as learner/sft.c encodes. */
    rc = rlvr_tokenizer_encode_alloc(L->tok, text, len, !is_chat, &ids, &n);
    if (rc) {
      rlvr_error_wrap(rc, "item %s: prompt", it.id);
      free(prompt);
      rlvr_task_item_clear(&it);
      return rc;
    }
    if (n == 0 || n + 1 > (size_t)L->model.cfg.max_position || n > RLVR_PROTO_MAX_TOKENS) {
      rlvr_warn("learner: item %s: its prompt is %zu tokens, the model holds %d positions; skipped", it.id, n,
                L->model.cfg.max_position);
      L->skipped_items++;
      free(ids);
      free(prompt);
      rlvr_task_item_clear(&it);
      continue;
    }
    rlvr_group_spec s;
    memset(&s, 0, sizeof s);
    s.prompt_ids = ids;
    s.nprompt = (uint32_t)n;
    s.prompt = prompt;
    if (it.reference_json) {
      char what[320];
      snprintf(what, sizeof what, "item %s: reference", it.id);
      rc = rlvr_json_to_msgpack(it.reference, strlen(it.reference), what, &s.reference_mp, &s.reference_mp_len);
      /* The protocol carries a map or a string: other JSON (an array) goes
       * as its text. */
      if (rc == RLVR_OK && (s.reference_mp[0] & 0xf0) != 0x80 && s.reference_mp[0] != 0xde && s.reference_mp[0] != 0xdf) {
        free(s.reference_mp);
        s.reference_mp = NULL;
        s.reference_mp_len = 0;
        s.reference = xstrdup(it.reference);
      }
    } else {
      s.reference = xstrdup(it.reference ? it.reference : "");
    }
    if (rc == RLVR_OK && it.meta && strcmp(it.meta, "{}") != 0) {
      char what[320];
      snprintf(what, sizeof what, "item %s: meta", it.id);
      rc = rlvr_json_to_msgpack(it.meta, strlen(it.meta), what, &s.meta_mp, &s.meta_mp_len);
    }
    if (rc) {
      rlvr_group_spec_clear(&s);
      rlvr_task_item_clear(&it);
      return rc;
    }
    s.verifier = xstrdup(it.verifier);
    s.item_id = xstrdup(it.id);
    s.question = xstrdup(it.prompt);
    s.answer = xstrdup(it.answer ? it.answer : "");
    rlvr_task_item_clear(&it);
    *out = s;
    *cursor = c;
    return RLVR_OK;
  }
  return rlvr_error(RLVR_ERR_RANGE, "task %s: 1000 items in a row have prompts longer than the model's %d positions",
                    rlvr_task_source_name(L->src), L->model.cfg.max_position);
}

/* ---- build ---- */

static int config_error(const char *key, const char *what) {
  return rlvr_error(RLVR_ERR_CONFIG, "config: key '%s' %s", key, what);
}

static int check_config(const rlvr_config *c) {
  if (c->train_steps < 1) return config_error("train.steps", "must be >= 1");
  if (c->train_prompts_per_step < 1 || c->train_prompts_per_step > RLVR_PROTO_MAX_GROUPS)
    return config_error("train.prompts_per_step", "must be in 1..1024");
  if (c->train_group_size < 1 || c->train_group_size > RLVR_PROTO_MAX_G)
    return config_error("train.group_size", "must be in 1..1024");
  if (c->train_micro_batch < 1 || c->train_micro_batch > 65536)
    return config_error("train.micro_batch", "must be in 1..65536");
  if (c->train_updates_per_batch < 1 || c->train_updates_per_batch > 64)
    return config_error("train.updates_per_batch", "must be in 1..64");
  if (c->train_max_off_policy_steps < 0 || c->train_max_off_policy_steps > 1000)
    return config_error("train.max_off_policy_steps", "must be in 0..1000");
  if (c->train_max_groups_factor < 1 || c->train_max_groups_factor > 1000)
    return config_error("train.max_groups_factor", "must be in 1..1000");
  if (c->train_samples_per_step < 0) return config_error("train.samples_per_step", "must be >= 0");
  if (c->checkpoint_every < 0) return config_error("checkpoint.every", "must be >= 0");
  if (c->checkpoint_keep < 1) return config_error("checkpoint.keep", "must be >= 1");
  if (!(c->sample_temperature >= 0 && c->sample_temperature <= 100))
    return config_error("sample.temperature", "must be in 0..100");
  if (c->sample_top_k < 0 || c->sample_top_k > INT32_MAX) return config_error("sample.top_k", "must be >= 0");
  if (!(c->sample_top_p > 0 && c->sample_top_p <= 1)) return config_error("sample.top_p", "must be in (0, 1]");
  if (c->sample_max_tokens < 1 || c->sample_max_tokens > RLVR_PROTO_MAX_TOKENS)
    return config_error("sample.max_tokens", "must be in 1..262144");
  if (!(c->optim_beta1 >= 0 && c->optim_beta1 < 1)) return config_error("optim.beta1", "must be in [0, 1)");
  if (!(c->optim_beta2 >= 0 && c->optim_beta2 < 1)) return config_error("optim.beta2", "must be in [0, 1)");
  if (!(c->optim_eps > 0)) return config_error("optim.eps", "must be > 0");
  if (!(c->optim_weight_decay >= 0)) return config_error("optim.weight_decay", "must be >= 0");
  if (!(c->optim_max_grad_norm >= 0)) return config_error("optim.max_grad_norm", "must be >= 0");
  int use_gpu;
  return rlvr_learn_gpu_check_config(c, &use_gpu); /* learner.device, learner.dtype */
}

/* Rebuilds the forward state when a batch needs longer sequences. */
static void ensure_forward(rlvr_learner *L, int seq) {
  if (L->fs_seq >= seq) return;
  int want = L->fs_seq ? 2 * L->fs_seq : 64;
  if (want < seq) want = seq;
  if (want > L->model.cfg.max_position) want = L->model.cfg.max_position;
  RLVR_CHECK(want >= seq, "sequence of %d tokens beyond max_position (the ledger checks)", seq);
  if (L->fs_seq) rlvr_forward_free(&L->fs);
  rlvr_forward_build(&L->fs, &L->model.cfg, L->micro_batch, want);
  rlvr_forward_set_temperature(&L->fs, L->temperature);
  L->fs_seq = want;
}

void rlvr_learner_free(rlvr_learner *L) {
  if (!L) return;
  rlvr_progress_end(&L->progress);
  rlvr_model_free(&L->model);
  if (L->have_ref) rlvr_model_free(&L->ref);
  rlvr_tokenizer_free(L->tok);
  rlvr_task_source_free(L->src);
  rlvr_task_template_free(L->tpl);
  rlvr_chat_free_template(L->chat);
  rlvr_ledger_free(L->ledger);
  rlvr_adamw_free(&L->opt);
  if (L->fs_seq) rlvr_forward_free(&L->fs);
  rlvr_learn_gpu_free(L->gpu);
  free(L->grads);
  step_buf_free(&L->sb);
  free(L->wgroups);
  free(L->wissued);
  rlvr_jsonl_close(&L->metrics);
  rlvr_jsonl_close(&L->samples);
  free(L);
}

int rlvr_learner_build(rlvr_learner **out, const rlvr_config *cfg, const rlvr_learner_env *env) {
  *out = NULL;
  int rc = check_config(cfg);
  if (rc) return rc;
  if (!cfg->model_path[0] && !env->resume)
    return config_error("model.path", "is empty: name a Hugging Face model directory");
  rlvr_learner *L = xcalloc(1, sizeof *L);
  L->cfg = cfg;
  L->env = *env;
  snprintf(L->run_dir, sizeof L->run_dir, "%s", cfg->run_dir);
  L->micro_batch = (int)cfg->train_micro_batch;
  L->updates = (int)cfg->train_updates_per_batch;
  L->group_size = (int)cfg->train_group_size;
  L->temperature = (float)cfg->sample_temperature;
  L->total_steps = cfg->train_steps;
  L->stop_after = env->stop_after > 0 && env->stop_after < cfg->train_steps ? env->stop_after : cfg->train_steps;
  L->next_work_id = 1;
  rlvr_rng_seed(&L->rng, (uint64_t)cfg->run_seed);
  /* The work seed: sample.seed, or the first draw of the run's generator. */
  {
    rlvr_rng r;
    rlvr_rng_seed(&r, (uint64_t)cfg->run_seed ^ 0x73616d706c657273ULL); /* "samplers" */
    L->sample_seed = cfg->sample_seed ? (uint64_t)cfg->sample_seed : rlvr_rng_u64(&r);
  }
  if ((rc = rlvr_loss_config_from(cfg, &L->loss)) || (rc = rlvr_lr_schedule_from(cfg, cfg->train_steps * L->updates, &L->sched)))
    goto fail;
  L->adamw = (rlvr_adamw_config){.lr = (float)cfg->optim_lr,
                                 .beta1 = (float)cfg->optim_beta1,
                                 .beta2 = (float)cfg->optim_beta2,
                                 .eps = (float)cfg->optim_eps,
                                 .weight_decay = (float)cfg->optim_weight_decay,
                                 .decay_1d = 0};
  L->max_grad_norm = cfg->optim_max_grad_norm;
  if ((rc = rlvr_mkdirs(L->run_dir))) goto fail;

  /* The training state to continue from, if any. */
  rlvr_train_state st;
  memset(&st, 0, sizeof st);
  char ckpt[PATH_CAP] = "";
  if (env->resume) {
    if ((rc = rlvr_train_checkpoint_latest(L->run_dir, ckpt, sizeof ckpt))) goto fail;
    if ((rc = rlvr_train_checkpoint_read_state(ckpt, &st))) goto fail;
    if ((rc = pathf(L->model_dir, sizeof L->model_dir, "%s/model", ckpt))) goto fail_state;
  } else {
    snprintf(L->model_dir, sizeof L->model_dir, "%s", cfg->model_path);
  }
  if ((rc = rlvr_model_load(L->model_dir, &L->model))) goto fail_state;
  if ((rc = pathf(L->tokenizer_dir, sizeof L->tokenizer_dir, "%s", cfg->model_path[0] ? cfg->model_path : L->model_dir)))
    goto fail_state;
  if (L->loss.beta > 0) {
    /* The reference is the model the run started from, never a checkpoint. */
    if (!cfg->model_path[0]) {
      rc = config_error("model.path", "is empty, and loss.beta > 0 needs the reference model it names");
      goto fail_state;
    }
    if ((rc = rlvr_model_load(cfg->model_path, &L->ref))) goto fail_state;
    L->have_ref = 1;
    if (L->ref.num_params != L->model.num_params || L->ref.cfg.vocab_size != L->model.cfg.vocab_size) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "the reference model %s does not have the policy's shape", cfg->model_path);
      goto fail_state;
    }
  }
  {
    char tp[PATH_CAP];
    if ((rc = pathf(tp, sizeof tp, "%s/tokenizer.json", L->model_dir)) || (rc = rlvr_tokenizer_load(tp, &L->tok)))
      goto fail_state;
  }
  if ((rc = rlvr_task_source_build(cfg, env->tasks_dir, &L->src))) goto fail_state;
  if (rlvr_task_source_curriculum(L->src)) {
    rlvr_curriculum_stats cs;
    rlvr_curriculum_get_stats(rlvr_task_source_curriculum(L->src), &cs);
    rlvr_info("learner: curriculum %s (%s): %zu of %zu training records rated, %zu at task.curriculum_missing = %g, "
              "%zu left out as solved, %zu as unsolved; %zu items per epoch; %zu lines for other ids",
              cfg->task_curriculum, cfg->task_curriculum_order, cs.rated, cs.records, cs.defaulted,
              cfg->task_curriculum_missing, cs.dropped_solved, cs.dropped_unsolved, cs.kept, cs.unmatched);
  }
  if ((rc = rlvr_task_template_load(cfg->task_template, env->tasks_dir, &L->tpl))) goto fail_state;
  if (rlvr_task_template_is_chat(L->tpl)) {
    if (!strcmp(cfg->generate_template, "none")) {
      rc = config_error("generate.template", "is none, and task.template chat needs the model's chat template");
      goto fail_state;
    }
    if ((rc = rlvr_chat_load_template(cfg->generate_template, env->chat_templates_dir, &L->chat))) goto fail_state;
  }
  rlvr_adamw_build(&L->opt, &L->model);
  L->grads = xmalloc_aligned(L->model.num_params * sizeof(float));
  step_buf_build(&L->sb, (int)(cfg->train_prompts_per_step * cfg->train_group_size), (int)cfg->sample_max_tokens,
                 L->micro_batch, L->model.cfg.max_position, L->have_ref);
  {
    int64_t max_seq = L->model.cfg.max_position;
    rlvr_ledger_config lc = {
        .prompts_per_step = (int)cfg->train_prompts_per_step,
        .group_size = L->group_size,
        .max_off_policy = (int)cfg->train_max_off_policy_steps,
        .dynamic_sampling = cfg->advantage_dynamic_sampling,
        .max_groups_factor = (int)cfg->train_max_groups_factor,
        .vocab_size = L->model.cfg.vocab_size,
        .max_seq = (int)max_seq,
        .max_tokens = (uint32_t)cfg->sample_max_tokens,
    };
    rlvr_task_cursor c;
    rlvr_task_cursor_init(&c, rlvr_task_source_seed(L->src));
    L->ledger = rlvr_ledger_new(&lc, &c, 1, make_group, L);
    L->next_id_at_step = 1;
  }
  char mpath[PATH_CAP], spath[PATH_CAP];
  if ((rc = pathf(mpath, sizeof mpath, "%s/metrics.jsonl", L->run_dir)) ||
      (rc = pathf(spath, sizeof spath, "%s/samples.jsonl", L->run_dir)))
    goto fail_state;
  if (env->resume) {
    if (st.task_fingerprint != rlvr_task_source_fingerprint(L->src)) {
      rc = rlvr_error(RLVR_ERR_MISMATCH,
                      "%s: the checkpoint was trained on other task data (fingerprint differs): task.* keys changed?",
                      ckpt);
      goto fail_state;
    }
    if (st.step > cfg->train_steps) {
      rc = rlvr_error(RLVR_ERR_CONFIG, "%s: the checkpoint has %lld steps, more than train.steps %lld", ckpt,
                      (long long)st.step, (long long)cfg->train_steps);
      goto fail_state;
    }
    if ((rc = rlvr_train_checkpoint_read_optimizer(ckpt, &L->model, &L->opt))) goto fail_state;
    if (L->opt.step != st.optimizer_step) {
      rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: optimizer step %ld, state.json says %lld", ckpt, L->opt.step,
                      (long long)st.optimizer_step);
      goto fail_state;
    }
    if ((rc = rlvr_ledger_restore(L->ledger, &st.ledger))) goto fail_state;
    /* A checkpoint written mid-step (Ctrl-C) continues the step from its
     * start: the counts are those of the step's start, the pending groups
     * will be issued and answered again, and the ones made during the step
     * are counted as made again (made once, as in an uninterrupted run).
     * Events of the interrupted part (infra counts) are not carried over. */
    rlvr_ledger_counts c = st.counts_at_step;
    for (int i = 0; i < st.ledger.npending; i++) c.groups_made += st.ledger.pending_ids[i] >= st.next_id_at_step;
    rlvr_ledger_set_counts(L->ledger, &c);
    L->counts_at_step = st.counts_at_step;
    L->next_id_at_step = st.next_id_at_step;
    L->rejected_base = L->rejected = L->rejected_at_step = st.rejected_at_step;
    L->step = st.step;
    memcpy(L->rng.s, st.rng, sizeof st.rng);
    L->elapsed_base = st.elapsed_s;
    if ((rc = rlvr_jsonl_open(&L->metrics, mpath, st.metrics_bytes))) goto fail_state;
    if ((rc = rlvr_jsonl_open(&L->samples, spath, st.samples_bytes))) goto fail_state;
    rlvr_info("learner: resuming %s at step %lld (%d groups to sample again)", ckpt, (long long)st.step,
              st.ledger.npending);
  } else {
    if ((rc = rlvr_jsonl_open(&L->metrics, mpath, -1))) goto fail_state;
    if ((rc = rlvr_jsonl_open(&L->samples, spath, -1))) goto fail_state;
  }
  rlvr_train_state_clear(&st);
  {
    int use_gpu;
    if ((rc = rlvr_learn_gpu_check_config(cfg, &use_gpu))) goto fail;
    /* After the resume: the device starts from the checkpoint's weights and moments. */
    if (use_gpu && (rc = rlvr_learn_gpu_build(&L->gpu, cfg->learner_dtype, &L->model, &L->opt, L->micro_batch,
                                              L->temperature)))
      goto fail;
  }
  {
    char path[PATH_CAP];
    if ((rc = pathf(path, sizeof path, "%s/config.lua", L->run_dir)) || (rc = rlvr_config_save(cfg, path))) goto fail;
  }
  rlvr_progress_init(&L->progress, env->progress, L->total_steps);
  L->run_t0 = L->collect_t0 = now_s();
  *out = L;
  return RLVR_OK;
fail_state:
  rlvr_train_state_clear(&st);
fail:
  rlvr_learner_free(L);
  return rc;
}

/* ---- work and trajectories ---- */

int rlvr_learner_work(rlvr_learner *L, const char *worker, uint32_t max_groups, rlvr_msg *out) {
  memset(out, 0, sizeof *out);
  out->type = RLVR_MSG_WORK;
  if (max_groups > RLVR_PROTO_MAX_GROUPS) max_groups = RLVR_PROTO_MAX_GROUPS;
  if (L->step >= L->stop_after) max_groups = 0; /* the run is over: nothing more to sample */
  if ((int)max_groups > L->wcap) {
    L->wcap = (int)max_groups;
    L->wgroups = xrealloc(L->wgroups, (size_t)L->wcap * sizeof *L->wgroups);
    L->wissued = xrealloc(L->wissued, (size_t)L->wcap * sizeof *L->wissued);
  }
  int n = 0;
  int rc = max_groups ? rlvr_ledger_issue(L->ledger, (uint64_t)L->step, worker, L->next_work_id, max_groups,
                                         L->wissued, &n)
                      : RLVR_OK;
  for (int i = 0; i < n; i++) {
    const rlvr_ledger_group *g = L->wissued[i];
    const rlvr_group_spec *s = &g->spec;
    rlvr_prompt_group *w = &L->wgroups[i];
    memset(w, 0, sizeof *w);
    w->group_id = g->id;
    w->prompt_ids = s->prompt_ids;
    w->nprompt = s->nprompt;
    w->prompt = s->prompt;
    w->prompt_len = strlen(s->prompt);
    w->g = (uint32_t)L->group_size;
    if (s->reference_mp) {
      w->reference_map.msgpack = s->reference_mp;
      w->reference_map.len = s->reference_mp_len;
    } else {
      w->reference = s->reference;
      w->reference_len = strlen(s->reference);
    }
    w->verifier = s->verifier;
    if (s->meta_mp) {
      w->meta.msgpack = s->meta_mp;
      w->meta.len = s->meta_mp_len;
    }
  }
  rlvr_msg_work *wk = &out->work;
  wk->work_id = n ? L->next_work_id++ : 0;
  wk->policy_version = (uint64_t)L->step;
  wk->sampling.temperature = L->cfg->sample_temperature;
  wk->sampling.top_k = (uint32_t)L->cfg->sample_top_k;
  wk->sampling.top_p = L->cfg->sample_top_p;
  wk->sampling.max_tokens = (uint32_t)L->cfg->sample_max_tokens;
  wk->sampling.seed = L->sample_seed;
  wk->groups = L->wgroups;
  wk->ngroups = (uint32_t)n;
  return rc;
}

int rlvr_learner_accept(rlvr_learner *L, const rlvr_msg_trajectories *t) {
  return rlvr_ledger_accept(L->ledger, (uint64_t)L->step, t);
}

void rlvr_learner_worker_lost(rlvr_learner *L, const char *worker) {
  rlvr_warn("learner: worker %s is gone; its unfinished groups will be handed out again", worker);
  rlvr_ledger_worker_lost(L->ledger, worker);
}

void rlvr_learner_work_failed(rlvr_learner *L, uint64_t work_id) { rlvr_ledger_work_failed(L->ledger, work_id); }

void rlvr_learner_set_rejected(rlvr_learner *L, int64_t total) { L->rejected = L->rejected_base + total; }
int rlvr_learner_done(const rlvr_learner *L) { return L->step >= L->stop_after; }
uint64_t rlvr_learner_version(const rlvr_learner *L) { return (uint64_t)L->step; }
const rlvr_model *rlvr_learner_model(const rlvr_learner *L) { return &L->model; }
struct rlvr_learn_gpu *rlvr_learner_gpu(rlvr_learner *L) { return L->gpu; }
const char *rlvr_learner_run_dir(const rlvr_learner *L) { return L->run_dir; }
void rlvr_learner_get_counts(const rlvr_learner *L, rlvr_ledger_counts *c) { rlvr_ledger_get_counts(L->ledger, c); }
int rlvr_learner_wanted(const rlvr_learner *L) {
  return L->step >= L->stop_after ? 0 : rlvr_ledger_wanted(L->ledger, (uint64_t)L->step);
}

/* ---- the step ---- */


/* Running mean / min / max. */
typedef struct {
  double sum, sumsq, min, max;
  int64_t n;
} acc_stat;

static void acc_init(acc_stat *a) {
  memset(a, 0, sizeof *a);
  a->min = INFINITY;
  a->max = -INFINITY;
}
static void acc_add(acc_stat *a, double x) {
  a->sum += x;
  a->sumsq += x * x;
  if (x < a->min) a->min = x;
  if (x > a->max) a->max = x;
  a->n++;
}
static double acc_mean(const acc_stat *a) { return a->n ? a->sum / (double)a->n : 0.0; }
static double acc_std(const acc_stat *a) {
  if (a->n < 1) return 0.0;
  double m = acc_mean(a), v = a->sumsq / (double)a->n - m * m;
  return v > 0 ? sqrt(v) : 0.0;
}

/* A number that may be NaN (no data): JSON null then. */
static void add_num(cJSON *o, const char *key, double v) {
  if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
  else cJSON_AddNullToObject(o, key);
}


/* Lays micro-batch rows [r0, r0+B) out for the forward: prompt then
 * completion, inputs all but the last token, targets the next token from
 * the prompt's last position on. Returns Tseq. */
static int layout_micro_batch(rlvr_learner *L, step_buf *b, int r0, int B) {
  int Tseq = 1;
  for (int i = 0; i < B; i++) {
    const row_ref *r = &b->rows[r0 + i];
    int len = (int)r->g->spec.nprompt + (int)r->s->n - 1;
    if (len > Tseq) Tseq = len;
  }
  if (!L->gpu || L->have_ref) ensure_forward(L, Tseq);
  for (int i = 0; i < B; i++) {
    const row_ref *r = &b->rows[r0 + i];
    const int np = (int)r->g->spec.nprompt, nc = (int)r->s->n, len = np + nc - 1;
    int *tok = b->tokens + (size_t)i * Tseq, *tgt = b->targets + (size_t)i * Tseq;
    for (int t = 0; t < Tseq; t++) {
      tok[t] = 0;
      tgt[t] = -1;
    }
    for (int t = 0; t < np; t++) tok[t] = r->g->spec.prompt_ids[t];
    for (int j = 0; j + 1 < nc; j++) tok[np + j] = r->s->tokens[j];
    for (int j = 0; j < nc; j++) tgt[np - 1 + j] = r->s->tokens[j];
    b->lens[i] = len;
  }
  return Tseq;
}

/* Completion log-probs (B, Tc) out of the forward's (B, Tseq). */
static void gather_completion(const step_buf *b, int r0, int B, int Tseq, const float *full, float *c) {
  for (int i = 0; i < B; i++) {
    const row_ref *r = &b->rows[r0 + i];
    const int np = (int)r->g->spec.nprompt, nc = (int)r->s->n;
    for (int j = 0; j < b->Tc; j++) c[(size_t)i * b->Tc + j] = j < nc ? full[(size_t)i * Tseq + np - 1 + j] : 0.0f;
  }
}

static int write_samples(rlvr_learner *L, const step_buf *b, int ngroups) {
  int64_t want = L->cfg->train_samples_per_step;
  int rc = RLVR_OK;
  for (int k = 0; k < want && k < b->R && rc == RLVR_OK; k++) {
    /* The first sample of each group, then the second, ...: several prompts. */
    int gi = k % ngroups, si = k / ngroups;
    if (si >= L->group_size) break;
    const row_ref *r = &b->rows[gi * L->group_size + si];
    char *text = NULL;
    size_t len;
    rlvr_tokenizer_decode(L->tok, r->s->tokens, r->s->n, 0, &text, &len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)L->step); /* the step just done */
    cJSON_AddNumberToObject(o, "group_id", (double)r->g->id);
    cJSON_AddNumberToObject(o, "sample", r->index);
    cJSON_AddStringToObject(o, "item_id", r->g->spec.item_id);
    cJSON_AddNumberToObject(o, "policy_version", (double)r->g->policy_version);
    cJSON_AddStringToObject(o, "worker", r->g->answered_by);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->s->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddStringToObject(o, "verifier", r->g->spec.verifier);
    cJSON_AddStringToObject(o, "verifier_status", rlvr_verifier_status_name((rlvr_verifier_status)r->s->status));
    cJSON_AddStringToObject(o, "prompt", r->g->spec.question);
    cJSON_AddStringToObject(o, "answer", r->g->spec.answer);
    cJSON_AddStringToObject(o, "completion", text ? text : "");
    cJSON_AddNumberToObject(o, "tokens", r->s->n);
    cJSON_AddStringToObject(o, "finish", rlvr_finish_name((rlvr_finish)r->s->finish));
    add_num(o, "reward", r->s->reward);
    add_num(o, "accuracy", r->s->accuracy);
    add_num(o, "advantage", r->s->advantage);
    free(text);
    rc = rlvr_jsonl_write(&L->samples, o);
    cJSON_Delete(o);
  }
  return rc;
}

static void fill_state(const rlvr_learner *L, rlvr_train_state *st) {
  memset(st, 0, sizeof *st);
  st->step = L->step;
  st->optimizer_step = L->opt.step;
  rlvr_ledger_save(L->ledger, &st->ledger);
  rlvr_ledger_get_counts(L->ledger, &st->counts);
  st->counts_at_step = L->counts_at_step;
  st->next_id_at_step = L->next_id_at_step;
  st->rejected = L->rejected;
  st->rejected_at_step = L->rejected_at_step;
  memcpy(st->rng, L->rng.s, sizeof st->rng);
  st->metrics_bytes = L->metrics.bytes;
  st->samples_bytes = L->samples.bytes;
  st->task_fingerprint = rlvr_task_source_fingerprint(L->src);
  st->elapsed_s = L->elapsed_base + (now_s() - L->run_t0);
}

int rlvr_learner_checkpoint(rlvr_learner *L) {
  if (L->gpu) rlvr_learn_gpu_download(L->gpu, &L->model, &L->opt); /* weights and moments */
  rlvr_train_state st;
  fill_state(L, &st);
  int written = 0;
  double t0 = now_s();
  int rc = rlvr_train_checkpoint_save(L->run_dir, (int)L->cfg->checkpoint_keep, &st, &L->model, &L->opt, L->cfg,
                                      L->tokenizer_dir, &written);
  rlvr_train_state_clear(&st);
  if (rc == RLVR_OK && written) rlvr_debug("learner: checkpoint of step %lld in %.2fs", (long long)L->step, now_s() - t0);
  return rc;
}

int rlvr_learner_finish(rlvr_learner *L) {
  rlvr_progress_end(&L->progress);
  int rc = rlvr_learner_checkpoint(L);
  if (rc) return rc;
  char path[PATH_CAP];
  if ((rc = pathf(path, sizeof path, "%s/model", L->run_dir))) return rc;
  rlvr_save_options so = {.tokenizer_dir = L->tokenizer_dir};
  rc = rlvr_model_save(&L->model, path, &so);
  if (rc == RLVR_OK) rlvr_info("learner: %lld steps done; the model is in %s", (long long)L->step, path);
  return rc;
}

int rlvr_learner_try_step(rlvr_learner *L, int *stepped) {
  *stepped = 0;
  if (L->step >= L->stop_after) return RLVR_OK;
  rlvr_ledger_group **groups;
  int ng;
  if (!rlvr_ledger_take_batch(L->ledger, (uint64_t)L->step, &groups, &ng)) return RLVR_OK;
  const double t_batch = now_s();
  const double wait_s = t_batch - L->collect_t0;
  const int G = L->group_size;
  int rc = RLVR_OK;

  /* 1. Rows and their per-token arrays. */
  step_buf *sb = &L->sb;
  RLVR_CHECK(ng * G <= L->cfg->train_prompts_per_step * L->group_size);
  sb->R = ng * G;
  int Tc = 1;
  for (int gi = 0; gi < ng; gi++)
    for (int s = 0; s < G; s++) {
      row_ref *r = &sb->rows[gi * G + s];
      r->g = groups[gi];
      r->s = &groups[gi]->samples[s];
      r->index = s;
      r->included = !rlvr_reward_status_is_infra(r->s->status);
      if ((int)r->s->n > Tc) Tc = (int)r->s->n;
    }
  sb->Tc = Tc;
  const size_t RT = (size_t)sb->R * Tc;
  memset(sb->mask, 0, RT);
  memset(sb->lp_samp, 0, RT * sizeof(float));
  memset(sb->lp_old, 0, RT * sizeof(float));
  if (sb->lp_ref) memset(sb->lp_ref, 0, RT * sizeof(float));
  int64_t completion_tokens = 0, prompt_tokens = 0;
  acc_stat reward, accuracy, format, length_c, adv, clen;
  acc_init(&reward), acc_init(&accuracy), acc_init(&format), acc_init(&length_c), acc_init(&adv), acc_init(&clen);
  int64_t truncated = 0, infra = 0, zero_spread_batch = 0;
  double t_gen = 0, t_ver = 0;
  for (int r = 0; r < sb->R; r++) {
    const row_ref *rr = &sb->rows[r];
    const rlvr_sample_rec *s = rr->s;
    for (uint32_t j = 0; j < s->n; j++) {
      sb->mask[(size_t)r * Tc + j] = rr->included && s->mask[j];
      sb->lp_samp[(size_t)r * Tc + j] = s->logprobs[j];
    }
    sb->trunc[r] = s->finish == RLVR_FINISH_LENGTH;
    sb->adv[r] = (float)s->advantage;
    completion_tokens += s->n;
    prompt_tokens += rr->g->spec.nprompt;
    acc_add(&clen, (double)s->n);
    truncated += sb->trunc[r];
    t_gen += s->t_generate;
    t_ver += s->t_verify;
    if (!rr->included) {
      infra++;
      continue;
    }
    acc_add(&reward, s->reward);
    acc_add(&adv, s->advantage);
    if (!isnan(s->accuracy)) acc_add(&accuracy, s->accuracy);
    if (!isnan(s->format)) acc_add(&format, s->format);
    if (!isnan(s->length_c)) acc_add(&length_c, s->length_c);
  }
  for (int gi = 0; gi < ng; gi++) zero_spread_batch += groups[gi]->zero_spread;
  rlvr_vote_stats votes = {0}; /* maj@G, pass@G and the consensus verifier's pseudo-labels */
  for (int gi = 0; gi < ng; gi++)
    rlvr_vote_stats_add(&votes, groups[gi], !strcmp(groups[gi]->spec.verifier, RLVR_CONSENSUS_VERIFIER));
  rlvr_loss_totals totals = {0};
  rlvr_loss_count(&L->loss, sb->R, Tc, sb->mask, sb->trunc, &totals);

  /* 2-5. Micro-batches, updates. */
  const int MB = L->micro_batch;
  rlvr_loss_stats lstats;
  rlvr_loss_stats_init(&lstats);
  double loss_first = 0, grad_norm_first = 0, lr_first = 0, max_diff = 0, sum_diff = 0;
  int64_t n_diff = 0;
  acc_stat entropy;
  acc_init(&entropy);
  int updated = 0;
  if (totals.tokens == 0) {
    rlvr_warn("learner: step %lld has no token to train on (every sample excluded or masked); the weights stay",
              (long long)L->step + 1);
  }
  for (int u = 0; u < L->updates && rc == RLVR_OK; u++) {
    if (L->gpu)
      rlvr_learn_gpu_grads_zero(L->gpu);
    else
      rlvr_grads_zero(&L->model, L->grads);
    double loss_sum = 0;
    for (int r0 = 0; r0 < sb->R && rc == RLVR_OK; r0 += MB) {
      const int B = sb->R - r0 < MB ? sb->R - r0 : MB;
      const int Tseq = layout_micro_batch(L, sb, r0, B);
      if (u == 0 && L->have_ref) {
        if ((rc = rlvr_forward(&L->fs, &L->ref, sb->tokens, sb->lens, B, Tseq, sb->targets, sb->lp_full, NULL, NULL))) break;
        gather_completion(sb, r0, B, Tseq, sb->lp_full, sb->lp_ref + (size_t)r0 * Tc);
      }
      if ((rc = L->gpu ? rlvr_learn_gpu_forward(L->gpu, sb->tokens, sb->lens, B, Tseq, sb->targets, sb->lp_full,
                                                u == 0 ? sb->ent_full : NULL)
                       : rlvr_forward(&L->fs, &L->model, sb->tokens, sb->lens, B, Tseq, sb->targets, sb->lp_full,
                                      u == 0 ? sb->ent_full : NULL, NULL)))
        break;
      gather_completion(sb, r0, B, Tseq, sb->lp_full, sb->lp_c);
      if (u == 0) {
        memcpy(sb->lp_old + (size_t)r0 * Tc, sb->lp_c, sizeof(float) * (size_t)B * Tc);
        for (int i = 0; i < B; i++) {
          const row_ref *rr = &sb->rows[r0 + i];
          const int np = (int)rr->g->spec.nprompt;
          for (uint32_t j = 0; j < rr->s->n; j++) {
            if (!rr->s->mask[j]) continue; /* inserted text: the sampler did not draw it */
            double d = fabs((double)sb->lp_c[(size_t)i * Tc + j] - (double)rr->s->logprobs[j]);
            if (d > max_diff || d != d) max_diff = d;
            sum_diff += d;
            n_diff++;
            if (sb->mask[(size_t)(r0 + i) * Tc + j]) acc_add(&entropy, sb->ent_full[(size_t)i * Tseq + np - 1 + j]);
          }
        }
      }
      if (totals.tokens == 0) continue;
      rlvr_loss_batch lb = {
          .B = B,
          .T = Tc,
          .logp = sb->lp_c,
          .logp_old = sb->lp_old + (size_t)r0 * Tc,
          .logp_ref = sb->lp_ref ? sb->lp_ref + (size_t)r0 * Tc : NULL,
          .logp_sampler = sb->lp_samp + (size_t)r0 * Tc,
          .adv = sb->adv + r0,
          .mask = sb->mask + (size_t)r0 * Tc,
          .truncated = sb->trunc + r0,
      };
      double lmb = 0;
      if ((rc = rlvr_loss_compute(&L->loss, &totals, &lb, &lmb, sb->dlp_c, &lstats))) break;
      loss_sum += lmb;
      memset(sb->w_full, 0, sizeof(float) * (size_t)B * Tseq);
      for (int i = 0; i < B; i++) {
        const int np = (int)sb->rows[r0 + i].g->spec.nprompt, nc = (int)sb->rows[r0 + i].s->n;
        for (int j = 0; j < nc; j++) sb->w_full[(size_t)i * Tseq + np - 1 + j] = sb->dlp_c[(size_t)i * Tc + j];
      }
      if (L->gpu)
        rlvr_learn_gpu_backward(L->gpu, sb->w_full);
      else
        rlvr_backward(&L->fs, &L->model, sb->w_full, NULL, L->grads);
      if (L->env.tick) L->env.tick(L->env.tick_ctx);
    }
    if (rc || totals.tokens == 0) break;
    const double gn = L->gpu ? rlvr_learn_gpu_clip_grad_norm(L->gpu, L->max_grad_norm)
                             : rlvr_clip_grad_norm(L->grads, L->model.num_params, L->max_grad_norm);
    if (!isfinite(loss_sum) || !isfinite(gn)) {
      rc = rlvr_error(RLVR_ERR_RANGE, "step %lld: the loss (%g) or the gradient norm (%g) is not finite",
                      (long long)L->step + 1, loss_sum, gn);
      break;
    }
    const double lr = rlvr_lr_at(&L->sched, L->opt.step);
    L->adamw.lr = (float)lr;
    if (L->gpu)
      rlvr_learn_gpu_adamw_step(L->gpu, &L->opt, &L->adamw);
    else
      rlvr_adamw_step(&L->opt, &L->adamw, L->model.params_memory, L->grads);
    if (u == 0) loss_first = loss_sum, grad_norm_first = gn, lr_first = lr;
    updated++;
  }
  if (rc == RLVR_OK && L->gpu && updated) rlvr_learn_gpu_download(L->gpu, &L->model, NULL); /* to publish */
  const double t_learned = now_s();
  if (rc) goto done;

  /* 6. The new version. */
  L->step++;
  if (L->env.publish && (rc = L->env.publish(L->env.publish_ctx, (uint64_t)L->step, &L->model))) goto done;
  const double t_synced = now_s();
  {
    rlvr_ledger_counts c;
    rlvr_ledger_get_counts(L->ledger, &c);
    const rlvr_ledger_counts *c0 = &L->counts_at_step;
    const double learn_s = t_learned - t_batch, sync_s = t_synced - t_learned;
    const double step_s = t_synced - L->collect_t0;
    L->steps_time += step_s;
    L->steps_run++;
    const double eta = L->steps_time / (double)L->steps_run * (double)(L->stop_after - L->step);
    const double tok_s = step_s > 0 ? (double)completion_tokens / step_s : 0;

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)L->step);
    cJSON_AddNumberToObject(o, "policy_version", (double)L->step);
    cJSON_AddNumberToObject(o, "groups", ng);
    cJSON_AddNumberToObject(o, "samples", sb->R);
    add_num(o, "reward", reward.n ? acc_mean(&reward) : NAN);
    add_num(o, "reward_std", reward.n ? acc_std(&reward) : NAN);
    add_num(o, "reward_min", reward.n ? reward.min : NAN);
    add_num(o, "reward_max", reward.n ? reward.max : NAN);
    add_num(o, "accuracy", accuracy.n ? acc_mean(&accuracy) : NAN);
    add_num(o, "reward_accuracy", accuracy.n ? acc_mean(&accuracy) : NAN);
    add_num(o, "reward_format", format.n ? acc_mean(&format) : NAN);
    add_num(o, "reward_length", length_c.n ? acc_mean(&length_c) : NAN);
    rlvr_vote_stats_write(&votes, o);
    add_num(o, "advantage_mean", adv.n ? acc_mean(&adv) : NAN);
    add_num(o, "advantage_std", adv.n ? acc_std(&adv) : NAN);
    add_num(o, "advantage_min", adv.n ? adv.min : NAN);
    add_num(o, "advantage_max", adv.n ? adv.max : NAN);
    add_num(o, "ratio_mean", lstats.units ? rlvr_loss_stats_ratio_mean(&lstats) : NAN);
    add_num(o, "ratio_min", lstats.units ? lstats.ratio_min : NAN);
    add_num(o, "ratio_max", lstats.units ? lstats.ratio_max : NAN);
    add_num(o, "clip_low_fraction", lstats.units ? rlvr_loss_stats_clip_low_fraction(&lstats) : NAN);
    add_num(o, "clip_high_fraction", lstats.units ? rlvr_loss_stats_clip_high_fraction(&lstats) : NAN);
    add_num(o, "kl", lstats.kl_tokens ? rlvr_loss_stats_kl_mean(&lstats) : NAN);
    add_num(o, "tis_weight_mean", lstats.tis_tokens ? rlvr_loss_stats_tis_mean(&lstats) : NAN);
    add_num(o, "entropy", entropy.n ? acc_mean(&entropy) : NAN);
    add_num(o, "loss", updated ? loss_first : NAN);
    add_num(o, "grad_norm", updated ? grad_norm_first : NAN);
    add_num(o, "lr", updated ? lr_first : NAN);
    cJSON_AddNumberToObject(o, "updates", updated);
    add_num(o, "completion_length_mean", acc_mean(&clen));
    add_num(o, "completion_length_min", clen.n ? clen.min : NAN);
    add_num(o, "completion_length_max", clen.n ? clen.max : NAN);
    cJSON_AddNumberToObject(o, "truncated_fraction", sb->R ? (double)truncated / sb->R : 0.0);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)completion_tokens);
    cJSON_AddNumberToObject(o, "loss_tokens", (double)totals.tokens);
    cJSON_AddNumberToObject(o, "zero_spread_fraction",
                            c.groups_accepted > c0->groups_accepted
                                ? (double)(c.groups_zero_spread - c0->groups_zero_spread) /
                                      (double)(c.groups_accepted - c0->groups_accepted)
                                : 0.0);
    cJSON_AddNumberToObject(o, "zero_spread_in_batch", (double)zero_spread_batch);
    cJSON_AddNumberToObject(o, "groups_sampled", (double)(c.groups_accepted - c0->groups_accepted));
    cJSON_AddNumberToObject(o, "groups_dropped_zero_spread",
                            (double)(c.groups_dropped_zero_spread - c0->groups_dropped_zero_spread));
    add_num(o, "max_logprob_diff", n_diff ? max_diff : NAN);
    add_num(o, "mean_logprob_diff", n_diff ? sum_diff / (double)n_diff : NAN);
    cJSON *inf = cJSON_AddObjectToObject(o, "infra");
    cJSON_AddNumberToObject(inf, "groups_stale", (double)(c.groups_stale - c0->groups_stale));
    cJSON_AddNumberToObject(inf, "groups_invalid", (double)(c.groups_invalid - c0->groups_invalid));
    cJSON_AddNumberToObject(inf, "groups_failed", (double)(c.groups_failed - c0->groups_failed));
    cJSON_AddNumberToObject(inf, "groups_duplicate", (double)(c.groups_duplicate - c0->groups_duplicate));
    cJSON_AddNumberToObject(inf, "groups_unknown", (double)(c.groups_unknown - c0->groups_unknown));
    cJSON_AddNumberToObject(inf, "groups_reissued", (double)(c.groups_reissued - c0->groups_reissued));
    cJSON_AddNumberToObject(inf, "workers_lost", (double)(c.workers_lost - c0->workers_lost));
    cJSON_AddNumberToObject(inf, "messages_rejected", (double)(L->rejected - L->rejected_at_step));
    cJSON_AddNumberToObject(inf, "samples_infra_failed", (double)infra);
    cJSON *tm = cJSON_AddObjectToObject(o, "timing");
    cJSON_AddNumberToObject(tm, "step_s", step_s);
    cJSON_AddNumberToObject(tm, "wait_s", wait_s);
    cJSON_AddNumberToObject(tm, "learn_s", learn_s);
    cJSON_AddNumberToObject(tm, "sync_s", sync_s);
    cJSON_AddNumberToObject(tm, "worker_generate_s", t_gen);
    cJSON_AddNumberToObject(tm, "worker_verify_s", t_ver);
    cJSON_AddNumberToObject(tm, "tokens_per_s", tok_s);
    cJSON_AddNumberToObject(tm, "learn_tokens_per_s",
                            learn_s > 0 ? (double)(prompt_tokens + completion_tokens) * updated / learn_s : 0.0);
    cJSON_AddNumberToObject(tm, "elapsed_s", L->elapsed_base + (t_synced - L->run_t0));
    rc = rlvr_jsonl_write(&L->metrics, o);
    cJSON_Delete(o);
    if (rc == RLVR_OK) rc = write_samples(L, sb, ng);
    rlvr_progress_step(&L->progress, L->step, reward.n ? acc_mean(&reward) : 0.0,
                       accuracy.n ? acc_mean(&accuracy) : NAN, tok_s, eta, n_diff ? max_diff : 0.0);
    L->counts_at_step = c;
    L->rejected_at_step = L->rejected;
    L->next_id_at_step = rlvr_ledger_next_id(L->ledger);
  }
  if (rc == RLVR_OK && L->cfg->checkpoint_every > 0 && L->step % L->cfg->checkpoint_every == 0 &&
      L->step < L->stop_after)
    rc = rlvr_learner_checkpoint(L);
  L->collect_t0 = now_s();
  *stepped = 1;
done:
  for (int i = 0; i < ng; i++) rlvr_ledger_group_free(groups[i]);
  free(groups);
  return rc;
}
