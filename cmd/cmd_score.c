/* cmd_score.c — `rlvr score`: per-token log-probabilities of given texts.
 *
 * Input: JSON lines with "text", or with "prompt" and "completion" (encoded
 * separately and joined, the way a rollout joins them; the sums then cover
 * the completion only), or with "token_ids" (and optionally
 * "prompt_token_ids" before them, again summing only token_ids), or --text. Output: one JSON line per input, in
 * order: tokens (as written in tokenizer.json), token_ids, logprobs (null for
 * the first token, which has no context), sum_logprob and perplexity over the
 * scored tokens. A bad input line gets {"index": i, "error": "..."} and the
 * command exits 1 after scoring the rest. */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/file.h"
#include "model/forward.h"

static const char *usage =
    "usage: rlvr score [CONFIG.lua] [--set key=value ...] --model DIR (--input FILE.jsonl | --text TEXT ...)\n"
    "\n"
    "Per-token log-probabilities of texts under a model, as JSON lines:\n"
    "  {\"index\", \"tokens\", \"token_ids\", \"logprobs\", \"scored_from\", \"sum_logprob\",\n"
    "   \"num_scored\", \"perplexity\"}\n"
    "Input lines hold \"text\", or \"prompt\" and \"completion\" (then only the\n"
    "completion's tokens are summed), or \"token_ids\" with optional\n"
    "\"prompt_token_ids\" (as `rlvr generate --json` writes them). --input - reads\n"
    "standard input.\n"
    "\n"
    "  --model DIR      model directory (model.path)\n"
    "  --input FILE     JSON lines to score\n"
    "  --text TEXT      a text to score (repeatable)\n"
    "  --no-special     do not add the tokenizer's special tokens (BOS)\n"
    "  --batch N        sequences per forward pass (default 8)\n";

typedef struct {
  int32_t *ids;
  size_t n;
  size_t scored_from; /* first token whose log-prob counts in the sums */
  char *error;
} item;

static char *read_stream(FILE *f, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = xmalloc(cap);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n < 2) buf = xrealloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static char *errorf(const char *fmt, const char *a, size_t line) {
  char *s = xmalloc(1024);
  snprintf(s, 1024, fmt, a, line);
  return s;
}

/* Appends the ids of a JSON array of integers; 0 if it is not one. */
static int take_ids(const cJSON *a, int vocab, int32_t *out, size_t *n) {
  const cJSON *x;
  cJSON_ArrayForEach(x, a) {
    if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int)x->valuedouble || x->valueint < 0 ||
        x->valueint >= vocab)
      return 0;
    out[(*n)++] = x->valueint;
  }
  return 1;
}

/* Encodes one input line into it (never fails the command: errors go into it->error). */
static void encode_line(const cmd_policy *p, const char *src, size_t lineno, const char *line, int special,
                        item *it) {
  memset(it, 0, sizeof *it);
  cJSON *o = cJSON_Parse(line);
  if (!o || !cJSON_IsObject(o)) {
    it->error = errorf("%s:%zu: not a JSON object", src, lineno);
    cJSON_Delete(o);
    return;
  }
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
  const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
  const cJSON *completion = cJSON_GetObjectItemCaseSensitive(o, "completion");
  const cJSON *tids = cJSON_GetObjectItemCaseSensitive(o, "token_ids");
  const cJSON *pids = cJSON_GetObjectItemCaseSensitive(o, "prompt_token_ids");
  if (cJSON_IsArray(tids) && (!pids || cJSON_IsArray(pids))) {
    size_t cap = (size_t)cJSON_GetArraySize(tids) + (pids ? (size_t)cJSON_GetArraySize(pids) : 0) + 1;
    it->ids = xmalloc(cap * sizeof(int32_t));
    const int V = p->model.cfg.vocab_size;
    int good = !pids || take_ids(pids, V, it->ids, &it->n);
    it->scored_from = it->n > 0 ? it->n : 1;
    if (!good || !take_ids(tids, V, it->ids, &it->n))
      it->error = errorf("%s:%zu: fields 'prompt_token_ids' and 'token_ids' must be arrays of integer ids "
                         "below the vocabulary size", src, lineno);
  } else if (cJSON_IsString(text)) {
    if (rlvr_tokenizer_encode_alloc(p->tok, text->valuestring, strlen(text->valuestring), special, &it->ids,
                                    &it->n) != RLVR_OK)
      it->error = errorf("%s:%zu: field 'text': cannot encode", src, lineno);
    it->scored_from = 1;
  } else if (cJSON_IsString(prompt) && cJSON_IsString(completion)) {
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (rlvr_tokenizer_encode_alloc(p->tok, prompt->valuestring, strlen(prompt->valuestring), special, &a,
                                    &na) != RLVR_OK ||
        rlvr_tokenizer_encode_alloc(p->tok, completion->valuestring, strlen(completion->valuestring), 0, &b,
                                    &nb) != RLVR_OK) {
      it->error = errorf("%s:%zu: fields 'prompt'/'completion': cannot encode", src, lineno);
    } else {
      it->n = na + nb;
      it->ids = xmalloc((it->n + 1) * sizeof(int32_t));
      memcpy(it->ids, a, na * sizeof(int32_t));
      memcpy(it->ids + na, b, nb * sizeof(int32_t));
      it->scored_from = na > 0 ? na : 1;
    }
    free(a);
    free(b);
  } else {
    it->error = errorf("%s:%zu: needs a string field 'text', or string fields 'prompt' and 'completion'", src,
                       lineno);
  }
  if (!it->error && it->n == 0) it->error = errorf("%s:%zu: the text encodes to no tokens", src, lineno);
  if (!it->error && it->n > (size_t)p->model.cfg.max_position) {
    it->error = xmalloc(1024);
    snprintf(it->error, 1024, "%s:%zu: %zu tokens exceed the model's %d positions", src, lineno, it->n,
             p->model.cfg.max_position);
  }
  cJSON_Delete(o);
}

static void print_item(const cmd_policy *p, size_t index, const item *it, const float *lp) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "index", (double)index);
  if (it->error) {
    cJSON_AddStringToObject(o, "error", it->error);
  } else {
    cJSON *toks = cJSON_AddArrayToObject(o, "tokens");
    cJSON *ids = cJSON_AddArrayToObject(o, "token_ids");
    cJSON *lps = cJSON_AddArrayToObject(o, "logprobs");
    double sum = 0;
    size_t scored = 0;
    for (size_t t = 0; t < it->n; t++) {
      const char *s = rlvr_tokenizer_token_str(p->tok, it->ids[t]);
      cJSON_AddItemToArray(toks, s ? cJSON_CreateString(s) : cJSON_CreateNull());
      cJSON_AddItemToArray(ids, cJSON_CreateNumber(it->ids[t]));
      if (t == 0) {
        cJSON_AddItemToArray(lps, cJSON_CreateNull());
      } else {
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(lp[t - 1]));
        if (t >= it->scored_from) sum += lp[t - 1], scored++;
      }
    }
    cJSON_AddNumberToObject(o, "scored_from", (double)it->scored_from);
    cJSON_AddNumberToObject(o, "sum_logprob", sum);
    cJSON_AddNumberToObject(o, "num_scored", (double)scored);
    if (scored) cJSON_AddNumberToObject(o, "perplexity", exp(-sum / (double)scored));
  }
  char *s = cJSON_PrintUnformatted(o);
  puts(s);
  free(s);
  cJSON_Delete(o);
}

int cmd_score(int argc, char **argv) {
  static const cmd_shorthand shorthands[] = {{"--model", "model.path"}};
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  const char **texts = calloc((size_t)argc + 1, sizeof *texts);
  const char *input = NULL;
  int nrest = 0, help = 0, special = 1, ntexts = 0, batch = 8;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help) rc = cmd_apply_shorthands("score", &cfg, rest, &nrest, shorthands, 1);
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    const char *a = rest[i];
    if (!strcmp(a, "--no-special")) special = 0;
    else if ((!strcmp(a, "--input") || !strcmp(a, "--text") || !strcmp(a, "--batch")) && i + 1 >= nrest)
      rc = cmd_usage_error("score", "%s needs a value", a);
    else if (!strcmp(a, "--input")) input = rest[++i];
    else if (!strcmp(a, "--text")) texts[ntexts++] = rest[++i];
    else if (!strcmp(a, "--batch")) {
      batch = atoi(rest[++i]);
      if (batch < 1 || batch > 1024) rc = cmd_usage_error("score", "--batch must be in 1..1024");
    } else rc = cmd_usage_error("score", "unknown argument '%s'", a);
  }
  if (rc == EXIT_OK && !help && !input && ntexts == 0)
    rc = cmd_usage_error("score", "nothing to score: give --input FILE.jsonl or --text TEXT");
  if (rc != EXIT_OK || help) {
    if (help) fputs(usage, stdout);
    goto done_args;
  }
  if ((rc = cmd_apply_runtime("score", &cfg)) != EXIT_OK) goto done_args;
  cmd_policy p;
  if ((rc = cmd_policy_load("score", cfg.model_path, &p)) != EXIT_OK) goto done_args;

  /* Gather every input as an item. */
  size_t nitems = 0, cap = 64;
  item *items = xmalloc(cap * sizeof *items);
  for (int i = 0; i < ntexts; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", texts[i]);
    char *line = cJSON_PrintUnformatted(o);
    if (nitems == cap) items = xrealloc(items, (cap *= 2) * sizeof *items);
    encode_line(&p, "--text", (size_t)i + 1, line, special, &items[nitems++]);
    free(line);
    cJSON_Delete(o);
  }
  if (input) {
    char *buf = NULL;
    size_t len = 0;
    if (!strcmp(input, "-")) {
      buf = read_stream(stdin, &len);
    } else if (rlvr_file_read(input, &buf, &len) != RLVR_OK) {
      rc = cmd_fail("score", "%s", rlvr_error_message());
      goto done_items;
    }
    size_t lineno = 0;
    for (char *line = buf, *nl; line && *line; line = nl) {
      nl = strchr(line, '\n');
      if (nl) *nl++ = '\0';
      lineno++;
      if (strspn(line, " \t\r") == strlen(line)) continue;
      if (nitems == cap) items = xrealloc(items, (cap *= 2) * sizeof *items);
      encode_line(&p, strcmp(input, "-") ? input : "<stdin>", lineno, line, special, &items[nitems++]);
    }
    free(buf);
  }

  /* Score in batches of sequences, each batch padded to its longest. */
  int max_len = 1;
  for (size_t i = 0; i < nitems; i++)
    if (!items[i].error && (int)items[i].n > max_len) max_len = (int)items[i].n;
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &p.model.cfg, batch, max_len);
  int *tokens = xmalloc((size_t)batch * max_len * sizeof(int));
  int *targets = xmalloc((size_t)batch * max_len * sizeof(int));
  int *lens = xmalloc((size_t)batch * sizeof(int));
  float *lp = xmalloc((size_t)batch * max_len * sizeof(float));
  size_t *which = xmalloc((size_t)batch * sizeof(size_t));
  int failed = 0;
  for (size_t start = 0; start < nitems;) {
    int B = 0, T = 1;
    size_t i = start;
    for (; i < nitems && B < batch; i++) {
      if (items[i].error) continue;
      which[B] = i;
      lens[B] = (int)items[i].n;
      if (lens[B] > T) T = lens[B];
      B++;
    }
    for (int b = 0; b < B; b++) {
      const item *it = &items[which[b]];
      for (int t = 0; t < T; t++) {
        tokens[b * T + t] = t < lens[b] ? it->ids[t] : 0;
        targets[b * T + t] = t + 1 < lens[b] ? it->ids[t + 1] : -1;
      }
    }
    if (B > 0 && rlvr_forward(&fs, &p.model, tokens, lens, B, T, targets, lp, NULL, NULL) != RLVR_OK) {
      /* Out-of-vocabulary ids from a tokenizer larger than the model. */
      for (int b = 0; b < B; b++) items[which[b]].error = errorf("%s (line %zu of the batch)", rlvr_error_message(), (size_t)b);
      B = 0;
    }
    for (size_t k = start, b = 0; k < i; k++) {
      if (items[k].error) {
        failed++;
        print_item(&p, k, &items[k], NULL);
      } else {
        print_item(&p, k, &items[k], lp + b * T);
        b++;
      }
    }
    start = i;
  }
  if (failed) {
    fprintf(stderr, "rlvr score: %d of %zu inputs could not be scored\n", failed, nitems);
    rc = EXIT_FAIL;
  }
  free(which), free(lp), free(lens), free(targets), free(tokens);
  rlvr_forward_free(&fs);
done_items:
  for (size_t i = 0; i < nitems; i++) free(items[i].ids), free(items[i].error);
  free(items);
  cmd_policy_free(&p);
done_args:
  free(texts);
  free(rest);
  rlvr_config_free(&cfg);
  return rc;
}
