/* sft.c — see sft.h. */
#include "learner/sft.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "model/chat.h"
#include "model/forward.h"
#include "tasks/task.h"
#include "tasks/template.h"

/* ---- building the data: a growing set of examples ---- */

typedef struct {
  rlvr_sft_data d;
  size_t cap_tokens;
  int cap_examples;
} data_builder;

static void builder_init(data_builder *b) {
  memset(b, 0, sizeof *b);
  b->d.off = xmalloc(sizeof(size_t));
  b->d.off[0] = 0;
}

/* Encodes prompt and completion (+ EOS) as example d.n. what names it in
 * messages ("data.jsonl:7", "item arith:train:1:3"). */
static int builder_add(data_builder *b, const rlvr_sft_encoding *enc, rlvr_chat_template *chat,
                       const char *prompt, const char *completion, int is_chat, const char *what) {
  char *rendered = NULL;
  size_t plen = strlen(prompt);
  const char *ptext = prompt;
  if (is_chat) {
    if (!chat)
      return rlvr_error(RLVR_ERR_ARG,
                        "%s: a chat example, but no chat template (set generate.template to the model's)", what);
    rlvr_chat_message msg = {"user", prompt};
    int rc = rlvr_chat_apply(chat, &msg, 1, 1, &rendered, &plen);
    if (rc) return rlvr_error_wrap(rc, "%s", what);
    ptext = rendered;
  }
  if (plen == 0) return rlvr_error(RLVR_ERR_RANGE, "%s: the prompt is empty", what);
  int32_t *pids = NULL, *cids = NULL;
  size_t np = 0, nc = 0;
  /* A chat template writes its own special tokens; plain text gets the
   * post-processor's (a BOS where the tokenizer has one). */
  int rc = rlvr_tokenizer_encode_alloc(enc->tok, ptext, plen, !is_chat, &pids, &np);
  free(rendered);
  if (rc) return rlvr_error_wrap(rc, "%s: prompt", what);
  rc = rlvr_tokenizer_encode_alloc(enc->tok, completion, strlen(completion), 0, &cids, &nc);
  if (rc) {
    free(pids);
    return rlvr_error_wrap(rc, "%s: completion", what);
  }
  size_t n = np + nc + 1;
  if (np == 0 || n > (size_t)enc->max_len) {
    free(pids), free(cids);
    if (np == 0) return rlvr_error(RLVR_ERR_RANGE, "%s: the prompt encodes to no tokens", what);
    return rlvr_error(RLVR_ERR_RANGE, "%s: %zu tokens (prompt %zu, completion %zu, EOS 1), more than sft.max_len %d",
                      what, n, np, nc, enc->max_len);
  }
  if (b->d.n == b->cap_examples) {
    b->cap_examples = b->cap_examples ? 2 * b->cap_examples : 64;
    b->d.off = xrealloc(b->d.off, ((size_t)b->cap_examples + 1) * sizeof(size_t));
    b->d.prompt_len = xrealloc(b->d.prompt_len, (size_t)b->cap_examples * sizeof(int));
  }
  size_t at = b->d.off[b->d.n];
  if (at + n > b->cap_tokens) {
    while (at + n > b->cap_tokens) b->cap_tokens = b->cap_tokens ? 2 * b->cap_tokens : 4096;
    b->d.tokens = xrealloc(b->d.tokens, b->cap_tokens * sizeof(int32_t));
  }
  memcpy(b->d.tokens + at, pids, np * sizeof(int32_t));
  memcpy(b->d.tokens + at + np, cids, nc * sizeof(int32_t));
  b->d.tokens[at + np + nc] = enc->eos;
  free(pids), free(cids);
  b->d.prompt_len[b->d.n] = (int)np;
  b->d.off[b->d.n + 1] = at + n;
  b->d.n++;
  if ((int)n > b->d.max_len) b->d.max_len = (int)n;
  b->d.completion_tokens += (int64_t)(nc + 1);
  return RLVR_OK;
}

static int load_chat(const rlvr_sft_encoding *enc, rlvr_chat_template **chat) {
  *chat = NULL;
  if (!enc->chat_template || !enc->chat_template[0] || !strcmp(enc->chat_template, "none")) return RLVR_OK;
  return rlvr_chat_load_template(enc->chat_template, enc->chat_template_dir ? enc->chat_template_dir : "model/templates",
                                 chat);
}

void rlvr_sft_data_free(rlvr_sft_data *d) {
  if (!d) return;
  free(d->tokens);
  free(d->off);
  free(d->prompt_len);
  memset(d, 0, sizeof *d);
}

/* The string field key of o, or an error naming it. */
static int get_string(const cJSON *o, const char *key, const char *where, const char **out) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!f) return rlvr_error(RLVR_ERR_FORMAT, "%s: no field '%s'", where, key);
  if (!cJSON_IsString(f)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' must be a string", where, key);
  *out = f->valuestring;
  return RLVR_OK;
}

int rlvr_sft_data_load_jsonl(const char *path, const rlvr_sft_encoding *enc, int64_t limit,
                             rlvr_sft_data *out) {
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  rlvr_chat_template *chat;
  if ((rc = load_chat(enc, &chat))) {
    free(text);
    return rc;
  }
  data_builder b;
  builder_init(&b);
  char where[4200];
  long line = 0;
  for (char *p = text; p < text + len && (limit <= 0 || b.d.n < limit);) {
    char *nl = memchr(p, '\n', (size_t)(text + len - p));
    char *end = nl ? nl : text + len;
    line++;
    snprintf(where, sizeof where, "%s:%ld", path, line);
    char *q = p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q == end) {
      p = end + 1;
      continue;
    }
    const char *parse_end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &parse_end, 0);
    if (!o || !cJSON_IsObject(o)) {
      if (o) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", where);
      else
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s: malformed JSON near column %ld", where,
                        parse_end ? (long)(parse_end - p) + 1 : 1L);
      cJSON_Delete(o);
      break;
    }
    /* Trailing text after the object on the same line is an error too. */
    const char *t = parse_end;
    while (t && t < end && (*t == ' ' || *t == '\t' || *t == '\r')) t++;
    if (t && t < end) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: text after the JSON object at column %ld", where, (long)(t - p) + 1);
      cJSON_Delete(o);
      break;
    }
    const char *prompt, *completion;
    int is_chat = 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "chat");
    if ((rc = get_string(o, "prompt", where, &prompt)) || (rc = get_string(o, "completion", where, &completion))) {
      cJSON_Delete(o);
      break;
    }
    if (c && !cJSON_IsBool(c) && !cJSON_IsNull(c)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'chat' must be true or false", where);
      cJSON_Delete(o);
      break;
    }
    is_chat = c && cJSON_IsTrue(c);
    rc = builder_add(&b, enc, chat, prompt, completion, is_chat, where);
    cJSON_Delete(o);
    if (rc) break;
    p = end + 1;
  }
  if (!rc && b.d.n == 0) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: no examples (the file has no JSON lines)", path);
  rlvr_chat_free_template(chat);
  free(text);
  if (rc) {
    rlvr_sft_data_free(&b.d);
    return rc;
  }
  *out = b.d;
  return RLVR_OK;
}

int rlvr_sft_data_from_task(const rlvr_config *cfg, const char *tasks_dir, const rlvr_sft_encoding *enc,
                            int64_t n, rlvr_sft_data *out) {
  if (n < 1) return rlvr_error(RLVR_ERR_CONFIG, "sft.examples: a generator needs a count >= 1, is %lld", (long long)n);
  rlvr_task_source *src = NULL;
  rlvr_task_template *tpl = NULL;
  rlvr_chat_template *chat = NULL;
  int rc = rlvr_task_source_build(cfg, tasks_dir, &src);
  if (!rc) rc = rlvr_task_template_load(cfg->task_template, tasks_dir, &tpl);
  if (!rc && rlvr_task_template_is_chat(tpl)) rc = load_chat(enc, &chat);
  data_builder b;
  builder_init(&b);
  if (!rc) {
    int64_t size = rlvr_task_source_size(src, RLVR_TASK_SPLIT_TRAIN);
    if (n > size) n = size; /* a dataset has an end; a generator does not */
    /* Not the learner's order: GRPO after this warm start should not begin
     * with the very problems SFT trained on. */
    rlvr_task_cursor cur;
    rlvr_task_cursor_init(&cur, cfg->sft_seed ? (uint64_t)cfg->sft_seed : rlvr_task_source_seed(src) + 1);
    for (int64_t i = 0; i < n && !rc; i++) {
      rlvr_task_item it;
      memset(&it, 0, sizeof it);
      if ((rc = rlvr_task_cursor_next(src, &cur, &it))) break;
      char *completion = NULL;
      char what[512];
      snprintf(what, sizeof what, "item %s", it.id ? it.id : "?");
      rc = rlvr_task_template_completion(tpl, &it, &completion);
      if (rc) rc = rlvr_error(RLVR_ERR_ARG, "%s: no worked example (%s)", what, rlvr_error_message());
      if (!rc) {
        char *prompt = rlvr_task_template_prompt(tpl, it.prompt);
        rc = builder_add(&b, enc, chat, prompt, completion, rlvr_task_template_is_chat(tpl), what);
        free(prompt);
      }
      free(completion);
      rlvr_task_item_clear(&it);
    }
  }
  rlvr_chat_free_template(chat);
  rlvr_task_template_free(tpl);
  rlvr_task_source_free(src);
  if (rc) {
    rlvr_sft_data_free(&b.d);
    return rc;
  }
  *out = b.d;
  return RLVR_OK;
}

/* ---- options ---- */

int rlvr_sft_options_from(const rlvr_config *c, int n, rlvr_sft_options *o) {
  rlvr_sft_options r;
  memset(&r, 0, sizeof r);
  if (c->sft_batch_size < 1 || c->sft_batch_size > 1 << 20)
    return rlvr_error(RLVR_ERR_CONFIG, "sft.batch_size: must be in 1..%d, is %lld", 1 << 20, (long long)c->sft_batch_size);
  r.batch_size = (int)c->sft_batch_size;
  if (c->sft_micro_batch_size < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "sft.micro_batch_size: must be >= 0, is %lld", (long long)c->sft_micro_batch_size);
  r.micro_batch = c->sft_micro_batch_size == 0 || c->sft_micro_batch_size > r.batch_size ? r.batch_size
                                                                                          : (int)c->sft_micro_batch_size;
  if (c->sft_steps < 0) return rlvr_error(RLVR_ERR_CONFIG, "sft.steps: must be >= 0, is %lld", (long long)c->sft_steps);
  if (c->sft_steps > 0) r.steps = c->sft_steps;
  else {
    if (!(c->sft_epochs > 0) || !isfinite(c->sft_epochs) || c->sft_epochs > 1e6)
      return rlvr_error(RLVR_ERR_CONFIG, "sft.epochs: must be a number in (0, 1e6], is %g", c->sft_epochs);
    r.steps = (int64_t)ceil(c->sft_epochs * n / r.batch_size - 1e-9);
    if (r.steps < 1) r.steps = 1;
  }
  if (!strcmp(c->sft_schedule, "constant")) r.lr.kind = RLVR_LR_CONSTANT;
  else if (!strcmp(c->sft_schedule, "cosine")) r.lr.kind = RLVR_LR_COSINE;
  else return rlvr_error(RLVR_ERR_CONFIG, "sft.schedule: '%s' is not one of constant, cosine", c->sft_schedule);
  if (!(c->sft_lr > 0) || !isfinite(c->sft_lr))
    return rlvr_error(RLVR_ERR_CONFIG, "sft.lr: must be a finite number > 0, is %g", c->sft_lr);
  if (c->sft_warmup_steps < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "sft.warmup_steps: must be >= 0, is %lld", (long long)c->sft_warmup_steps);
  if (!(c->sft_min_lr_ratio >= 0 && c->sft_min_lr_ratio <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "sft.min_lr_ratio: must lie in [0, 1], is %g", c->sft_min_lr_ratio);
  if (!(c->sft_weight_decay >= 0) || !isfinite(c->sft_weight_decay))
    return rlvr_error(RLVR_ERR_CONFIG, "sft.weight_decay: must be a finite number >= 0, is %g", c->sft_weight_decay);
  if (!(c->sft_max_grad_norm >= 0) || !isfinite(c->sft_max_grad_norm))
    return rlvr_error(RLVR_ERR_CONFIG, "sft.max_grad_norm: must be a finite number >= 0, is %g", c->sft_max_grad_norm);
  r.lr.lr = c->sft_lr;
  r.lr.warmup = c->sft_warmup_steps;
  r.lr.min_lr_ratio = c->sft_min_lr_ratio;
  r.lr.total = r.steps;
  r.adamw = (rlvr_adamw_config){.lr = (float)c->sft_lr, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                                .weight_decay = (float)c->sft_weight_decay, .decay_1d = 0};
  r.max_grad_norm = c->sft_max_grad_norm;
  r.shuffle = c->sft_shuffle;
  r.seed = (uint64_t)c->run_seed;
  *o = r;
  return RLVR_OK;
}

/* ---- training ---- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The epoch order: order[i] is the example at position i of epoch e. */
static void epoch_order(int *order, int n, int shuffle, uint64_t seed, uint64_t epoch) {
  for (int i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return;
  rlvr_rng rng;
  rlvr_rng_seed(&rng, seed ^ (0x9e3779b97f4a7c15ULL * (epoch + 1)));
  for (int i = n - 1; i > 0; i--) {
    int j = (int)rlvr_rng_below(&rng, (uint64_t)i + 1);
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

int rlvr_sft_train(rlvr_model *m, const rlvr_sft_data *d, const rlvr_sft_options *o) {
  RLVR_CHECK(d->n > 0 && o->steps >= 1 && o->batch_size >= 1);
  RLVR_CHECK(o->micro_batch >= 1 && o->micro_batch <= o->batch_size);
  const int V = m->cfg.vocab_size;
  for (int i = 0; i < d->n; i++)
    for (size_t t = d->off[i]; t < d->off[i + 1]; t++)
      if (d->tokens[t] < 0 || d->tokens[t] >= V)
        return rlvr_error(RLVR_ERR_RANGE, "sft: example %d has token %d at position %zu, outside the model's vocabulary of %d",
                          i, (int)d->tokens[t], t - d->off[i], V);
  if (d->max_len > m->cfg.max_position)
    return rlvr_error(RLVR_ERR_RANGE, "sft: the longest example has %d tokens, more than the model's %d positions",
                      d->max_len, m->cfg.max_position);
  FILE *metrics = NULL;
  if (o->metrics_path && !(metrics = fopen(o->metrics_path, "a")))
    return rlvr_error(RLVR_ERR_IO, "%s: cannot open for appending: %s", o->metrics_path, strerror(errno));

  const int MB = o->micro_batch, T = d->max_len;
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m->cfg, MB, T);
  float *grads = xmalloc(m->num_params * sizeof(float));
  rlvr_adamw opt;
  rlvr_adamw_build(&opt, m);
  int *tokens = xmalloc((size_t)MB * T * sizeof(int)), *targets = xmalloc((size_t)MB * T * sizeof(int));
  int *lens = xmalloc((size_t)MB * sizeof(int));
  float *w = xmalloc((size_t)MB * T * sizeof(float)), *logprobs = xmalloc((size_t)MB * T * sizeof(float));
  int *order = xmalloc((size_t)d->n * sizeof(int));
  int *batch = xmalloc((size_t)o->batch_size * sizeof(int));

  uint64_t epoch = 0;
  int pos = 0; /* next position in the current epoch's order */
  epoch_order(order, d->n, o->shuffle, o->seed, epoch);
  int rc = RLVR_OK;
  const double t_start = now_seconds();
  for (int64_t step = 0; step < o->steps && !rc; step++) {
    const double t0 = now_seconds();
    for (int i = 0; i < o->batch_size; i++) {
      if (pos == d->n) {
        epoch_order(order, d->n, o->shuffle, o->seed, ++epoch);
        pos = 0;
      }
      batch[i] = order[pos++];
    }
    int64_t K = 0, ntok = 0;
    for (int i = 0; i < o->batch_size; i++) {
      int e = batch[i];
      K += (int64_t)(d->off[e + 1] - d->off[e]) - d->prompt_len[e];
      ntok += (int64_t)(d->off[e + 1] - d->off[e]);
    }
    rlvr_grads_zero(m, grads);
    double nll = 0;
    for (int b0 = 0; b0 < o->batch_size && !rc; b0 += MB) {
      const int B = o->batch_size - b0 < MB ? o->batch_size - b0 : MB;
      for (int b = 0; b < B; b++) {
        const int e = batch[b0 + b];
        const int32_t *x = d->tokens + d->off[e];
        const int n = (int)(d->off[e + 1] - d->off[e]), P = d->prompt_len[e];
        lens[b] = n;
        for (int t = 0; t < T; t++) {
          tokens[b * T + t] = t < n ? x[t] : 0;
          /* position t predicts token t+1; only completion tokens count */
          int is_target = t >= P - 1 && t < n - 1;
          targets[b * T + t] = is_target ? x[t + 1] : -1;
          w[b * T + t] = is_target ? (float)(-1.0 / (double)K) : 0.0f;
        }
      }
      if ((rc = rlvr_forward(&fs, m, tokens, lens, B, T, targets, logprobs, NULL, NULL))) break;
      for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
          if (targets[b * T + t] >= 0) nll -= logprobs[b * T + t];
      rlvr_backward(&fs, m, w, NULL, grads);
    }
    if (rc) break;
    rlvr_sft_step st = {.step = step, .total_steps = o->steps, .tokens = ntok, .completion_tokens = K};
    st.loss = nll / (double)K;
    if (!isfinite(st.loss)) {
      rc = rlvr_error(RLVR_ERR_RANGE, "sft: step %lld: the loss is not finite (%g); lower sft.lr", (long long)step + 1,
                      st.loss);
      break;
    }
    st.grad_norm = rlvr_clip_grad_norm(grads, m->num_params, o->max_grad_norm);
    st.lr = rlvr_lr_at(&o->lr, step);
    rlvr_adamw_config ac = o->adamw;
    ac.lr = (float)st.lr;
    rlvr_adamw_step(&opt, &ac, m->params_memory, grads);
    const double t1 = now_seconds();
    st.seconds = t1 - t0;
    st.elapsed = t1 - t_start;
    st.epoch = ((double)(step + 1) * o->batch_size) / d->n;
    if (metrics) {
      fprintf(metrics,
              "{\"step\": %lld, \"loss\": %.6f, \"lr\": %.6g, \"grad_norm\": %.6g, \"tokens\": %lld, "
              "\"completion_tokens\": %lld, \"epoch\": %.4f, \"seconds\": %.4f, \"tokens_per_s\": %.1f}\n",
              (long long)step + 1, st.loss, st.lr, st.grad_norm, (long long)ntok, (long long)K, st.epoch, st.seconds,
              st.seconds > 0 ? (double)ntok / st.seconds : 0.0);
      fflush(metrics);
    }
    if (o->on_step) rc = o->on_step(o->ctx, m, &st);
  }
  if (metrics && fclose(metrics) != 0 && !rc)
    rc = rlvr_error(RLVR_ERR_IO, "%s: write failed: %s", o->metrics_path, strerror(errno));
  free(batch), free(order), free(logprobs), free(w), free(lens), free(targets), free(tokens);
  rlvr_adamw_free(&opt);
  free(grads);
  rlvr_forward_free(&fs);
  return rc;
}
