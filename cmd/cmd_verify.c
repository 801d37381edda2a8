/* cmd_verify.c — `rlvr verify`: score completions from a JSONL file with
 * verifier scripts, in a pool of worker processes (verifiers/pool.h).
 *
 * Input, one JSON object per line: {"completion": string, "reference": any
 * JSON (optional), "verifier": string (optional, overrides --verifier),
 * "meta": any JSON (optional)}; other fields are ignored, blank lines are
 * skipped. A string reference reaches the script as a Lua string, any other
 * JSON value as the Lua value (tables for objects and arrays).
 * Output, one line per input line, in order:
 *   {"score": s, "status": "...", "version": "...", "details": {...}}
 * (and "elapsed_ms" with --timing). A malformed input line gets status
 * "input-error" with details.error naming the line; the run goes on and
 * exits 1 at the end. A summary goes to stderr. Lines are read and scored in
 * blocks, so the input may be larger than memory. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "core/file.h"
#include "verifiers/bench_verify.h"
#include "verifiers/host.h"
#include "verifiers/luajson.h"
#include "verifiers/pool.h"
#include "verifiers/registry.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif
#define BUILTIN_VERIFIERS RLVR_SOURCE_DIR "/verifiers"

static const char *usage =
    "usage: rlvr verify [CONFIG.lua] [--set key=value ...] [--verifier NAME] [--input FILE|-]\n"
    "                   [--output FILE] [--workers N | --inline] [--timing] [--list]\n"
    "\n"
    "Scores completions with verifier scripts. Each input line is a JSON object\n"
    "with \"completion\" (string) and optionally \"reference\" (any JSON),\n"
    "\"verifier\" (overrides --verifier) and \"meta\" (any JSON). Each output line,\n"
    "in input order, is {\"score\", \"status\", \"version\", \"details\"}; statuses are\n"
    "ok, wrong-format, timeout, sandbox-error, verifier-error, input-error.\n"
    "A summary (counts per status, mean score, items/s) goes to stderr.\n"
    "\n"
    "  --verifier NAME  script NAME.lua from verify.paths and the built-in\n"
    "                   verifiers/, or a path to a .lua file\n"
    "  --input FILE     JSONL input; - or no --input reads standard input\n"
    "  --output FILE    write there (atomically) instead of standard output\n"
    "  --workers N      worker processes (verify.workers; 0 = one per core)\n"
    "  --inline         score in this process, without workers or wall-clock limit\n"
    "  --timing         add elapsed_ms (time inside the worker) to each line\n"
    "  --list           print the verifier names found and exit\n"
    "\n"
    "Limits come from verify.* (rlvr config --reference). Exit status 1 if any\n"
    "input line was malformed (every other line is still scored).\n";

enum { BLOCK_LINES = 4096, BLOCK_BYTES = 64 << 20 };

/* One input line of a block. */
typedef struct {
  long lineno;
  cJSON *json;       /* owned */
  char *reference;   /* printed JSON of a non-string reference, owned */
  char *meta;        /* printed JSON of meta, owned */
  char *error;       /* input error message, owned; the item is not scored */
} line_info;

typedef struct {
  FILE *f;                /* standard output, or NULL */
  rlvr_atomic_file af;    /* --output */
  int atomic;
  int failed;
} output;

static int out_write(output *o, const char *data, size_t len) {
  if (o->failed) return -1;
  if (o->atomic) {
    if (rlvr_atomic_write(&o->af, data, len) != RLVR_OK) o->failed = 1;
  } else if (fwrite(data, 1, len, o->f) != len) {
    rlvr_error(RLVR_ERR_IO, "standard output: write failed");
    o->failed = 1;
  }
  return o->failed ? -1 : 0;
}

static char *xasprintf_line(long lineno, const char *what) {
  size_t n = strlen(what) + 48;
  char *s = xmalloc(n);
  snprintf(s, n, "line %ld: %s", lineno, what);
  return s;
}

/* Fills item from a parsed line, or sets li->error. */
static void parse_line(line_info *li, const char *text, size_t len, const char *default_verifier,
                       rlvr_verify_item *item) {
  memset(item, 0, sizeof *item);
  li->json = cJSON_ParseWithLength(text, len);
  if (!li->json || !cJSON_IsObject(li->json)) {
    li->error = xasprintf_line(li->lineno, li->json ? "not a JSON object" : "not valid JSON");
    return;
  }
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(li->json, "completion");
  const cJSON *ref = cJSON_GetObjectItemCaseSensitive(li->json, "reference");
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(li->json, "verifier");
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(li->json, "meta");
  if (!cJSON_IsString(c)) {
    li->error = xasprintf_line(li->lineno, c ? "field 'completion' must be a string" : "field 'completion' is missing");
    return;
  }
  if (ver && !cJSON_IsNull(ver) && !cJSON_IsString(ver)) {
    li->error = xasprintf_line(li->lineno, "field 'verifier' must be a string");
    return;
  }
  item->verifier = cJSON_IsString(ver) ? ver->valuestring : default_verifier;
  if (!item->verifier || !*item->verifier) {
    li->error = xasprintf_line(li->lineno, "no verifier: give --verifier or a 'verifier' field");
    return;
  }
  item->completion = c->valuestring;
  item->completion_len = strlen(c->valuestring);
  if (cJSON_IsString(ref)) {
    item->reference = ref->valuestring;
    item->reference_len = strlen(ref->valuestring);
  } else if (ref && !cJSON_IsNull(ref)) {
    li->reference = cJSON_PrintUnformatted(ref);
    RLVR_CHECK(li->reference, "cJSON_PrintUnformatted: out of memory");
    item->reference = li->reference;
    item->reference_len = strlen(li->reference);
    item->reference_json = 1;
  }
  if (meta && !cJSON_IsNull(meta)) {
    li->meta = cJSON_PrintUnformatted(meta);
    RLVR_CHECK(li->meta, "cJSON_PrintUnformatted: out of memory");
    item->meta = li->meta;
    item->meta_len = strlen(li->meta);
  }
}

typedef struct {
  int64_t count[RLVR_VERIFY_NSTATUS];
  int64_t items;
  double score_sum;
  int64_t scored;
} summary;

static void write_result(rlvr_jbuf *b, const rlvr_verify_result *r, int timing) {
  rlvr_jbuf_puts(b, "{\"score\":");
  rlvr_json_put_number(b, r->score);
  rlvr_jbuf_puts(b, ",\"status\":\"");
  rlvr_jbuf_puts(b, rlvr_verify_status_name(r->status));
  rlvr_jbuf_puts(b, "\",\"version\":");
  rlvr_json_put_string(b, r->version, strlen(r->version), 0);
  if (timing) {
    rlvr_jbuf_puts(b, ",\"elapsed_ms\":");
    rlvr_json_put_number(b, (double)(r->elapsed_ns / 1000) / 1000.0);
  }
  rlvr_jbuf_puts(b, ",\"details\":");
  rlvr_jbuf_puts(b, r->details && *r->details ? r->details : "{}");
  rlvr_jbuf_puts(b, "}\n");
}

/* Scores one block and writes its lines. */
static int run_block(rlvr_verify_pool *pool, line_info *lines, rlvr_verify_item *items, size_t n, output *out,
                     summary *sum, int timing) {
  /* Only the lines without input errors go to the pool, compacted. */
  rlvr_verify_item *todo = xmalloc((n ? n : 1) * sizeof *todo);
  rlvr_verify_result *res = xcalloc(n ? n : 1, sizeof *res);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!lines[i].error) todo[m++] = items[i];
  rlvr_pool_score(pool, todo, m, res);
  rlvr_jbuf b = {0};
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    rlvr_verify_result err = {0};
    const rlvr_verify_result *r;
    if (lines[i].error) {
      rlvr_verify_result_set_error(&err, RLVR_VERIFY_INPUT_ERROR, lines[i].error);
      r = &err;
    } else {
      r = &res[k++];
    }
    write_result(&b, r, timing);
    sum->items++;
    sum->count[r->status]++;
    if (rlvr_verify_status_is_scored(r->status)) {
      sum->scored++;
      sum->score_sum += r->score;
    }
    rlvr_verify_result_clear(&err);
  }
  int rc = out_write(out, b.data ? b.data : "", b.len);
  rlvr_jbuf_free(&b);
  rlvr_verify_results_clear(res, m);
  free(res);
  free(todo);
  for (size_t i = 0; i < n; i++) {
    cJSON_Delete(lines[i].json);
    cJSON_free(lines[i].reference);
    cJSON_free(lines[i].meta);
    free(lines[i].error);
    memset(&lines[i], 0, sizeof lines[i]);
  }
  return rc;
}

static int list_verifiers(const char *paths) {
  char **names;
  size_t n;
  rlvr_registry_list(paths, &names, &n);
  for (size_t i = 0; i < n; i++) printf("%s\n", names[i]);
  rlvr_registry_list_free(names, n);
  return EXIT_OK;
}

int cmd_verify(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest, help;
  const char *verifier = NULL, *input = "-", *output_path = NULL;
  int inline_mode = 0, timing = 0, list = 0;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    const char *a = rest[i];
    const char **target = NULL;
    const char *val = NULL;
    if (!strcmp(a, "--verifier") || !strncmp(a, "--verifier=", 11)) target = &verifier;
    else if (!strcmp(a, "--input") || !strncmp(a, "--input=", 8)) target = &input;
    else if (!strcmp(a, "--output") || !strncmp(a, "--output=", 9)) target = &output_path;
    if (target || !strcmp(a, "--workers") || !strncmp(a, "--workers=", 10)) {
      const char *eq = strchr(a, '=');
      if (eq) val = eq + 1;
      else if (i + 1 < nrest) val = rest[++i];
      else {
        rc = cmd_usage_error("verify", "%s needs a value", a);
        break;
      }
      if (target) {
        *target = val;
      } else {
        char assign[64];
        snprintf(assign, sizeof assign, "verify.workers=%s", val);
        if (rlvr_config_set(&cfg, assign) != RLVR_OK) rc = cmd_fail("verify", "--workers: %s", rlvr_error_message());
      }
    } else if (!strcmp(a, "--inline")) {
      inline_mode = 1;
    } else if (!strcmp(a, "--timing")) {
      timing = 1;
    } else if (!strcmp(a, "--list")) {
      list = 1;
    } else {
      rc = cmd_usage_error("verify", "unknown argument '%s'", a);
    }
  }
  if (rc == EXIT_OK && help) fputs(usage, stdout);
  if (rc != EXIT_OK || help) goto done;
  rc = cmd_apply_runtime("verify", &cfg);
  if (rc != EXIT_OK) goto done;

  rlvr_verify_options opt;
  if (rlvr_verify_options_from_config(&opt, &cfg, BUILTIN_VERIFIERS) != RLVR_OK) {
    rc = cmd_fail("verify", "%s", rlvr_error_message());
    goto done;
  }
  if (list) {
    rc = list_verifiers(opt.paths);
    goto done;
  }
  if (inline_mode) opt.workers = 0;
  if (verifier) {
    char *path = NULL;
    if (rlvr_registry_find(opt.paths, verifier, &path) != RLVR_OK) {
      rc = cmd_fail("verify", "--verifier: %s", rlvr_error_message());
      goto done;
    }
    free(path);
  }

  FILE *in = stdin;
  if (strcmp(input, "-")) {
    in = fopen(input, "rb");
    if (!in) {
      rc = cmd_fail("verify", "%s: cannot open: %s", input, strerror(errno));
      goto done;
    }
  }
  output out = {0};
  if (output_path) {
    if (rlvr_atomic_open(&out.af, output_path) != RLVR_OK) {
      if (in != stdin) fclose(in);
      rc = cmd_fail("verify", "%s", rlvr_error_message());
      goto done;
    }
    out.atomic = 1;
  } else {
    out.f = stdout;
  }

  rlvr_verify_pool *pool = NULL;
  if (rlvr_pool_build(&pool, &opt) != RLVR_OK) {
    if (in != stdin) fclose(in);
    if (out.atomic) rlvr_atomic_abort(&out.af);
    rc = cmd_fail("verify", "%s", rlvr_error_message());
    goto done;
  }

  line_info *lines = xcalloc(BLOCK_LINES, sizeof *lines);
  rlvr_verify_item *items = xcalloc(BLOCK_LINES, sizeof *items);
  summary sum = {0};
  char *buf = NULL;
  size_t cap = 0, n = 0, bytes = 0;
  long lineno = 0;
  int64_t t0 = rlvr_verify_now_ns();
  ssize_t len;
  int io_failed = 0;
  while ((len = getline(&buf, &cap, in)) >= 0) {
    lineno++;
    size_t l = (size_t)len;
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r')) l--;
    size_t s = 0;
    while (s < l && (buf[s] == ' ' || buf[s] == '\t')) s++;
    if (s == l) continue; /* blank line */
    lines[n].lineno = lineno;
    parse_line(&lines[n], buf + s, l - s, verifier, &items[n]);
    n++;
    bytes += l;
    if (n == BLOCK_LINES || bytes >= BLOCK_BYTES) {
      if (run_block(pool, lines, items, n, &out, &sum, timing)) io_failed = 1;
      n = bytes = 0;
      if (io_failed) break;
    }
  }
  if (!io_failed && ferror(in)) {
    rlvr_error(RLVR_ERR_IO, "%s: read error", strcmp(input, "-") ? input : "standard input");
    io_failed = 1;
  }
  if (!io_failed && n && run_block(pool, lines, items, n, &out, &sum, timing)) io_failed = 1;
  double secs = (double)(rlvr_verify_now_ns() - t0) / 1e9;
  free(buf);
  free(lines);
  free(items);
  if (in != stdin) fclose(in);
  if (!out.atomic && fflush(stdout)) io_failed = 1;
  if (out.atomic) {
    if (io_failed) rlvr_atomic_abort(&out.af);
    else if (rlvr_atomic_commit(&out.af) != RLVR_OK) io_failed = 1;
  }
  fprintf(stderr, "rlvr verify: %lld items in %.3f s (%.0f items/s, ", (long long)sum.items, secs,
          secs > 0 ? (double)sum.items / secs : 0.0);
  if (opt.workers) fprintf(stderr, "%d workers)\n", opt.workers);
  else fprintf(stderr, "in-process)\n");
  fprintf(stderr, "  ");
  for (int s = 0; s < RLVR_VERIFY_NSTATUS; s++)
    fprintf(stderr, "%s%s %lld", s ? ", " : "", rlvr_verify_status_name((rlvr_verify_status)s), (long long)sum.count[s]);
  fprintf(stderr, "\n  mean score %.4f over %lld scored items (ok and wrong-format)\n",
          sum.scored ? sum.score_sum / (double)sum.scored : 0.0, (long long)sum.scored);
  rlvr_pool_stats st;
  rlvr_pool_get_stats(pool, &st);
  if (st.workers_killed || st.workers_died)
    fprintf(stderr, "  workers: %lld killed by the watchdog, %lld died, %lld items scored again\n",
            (long long)st.workers_killed, (long long)st.workers_died, (long long)st.requeued);
  rlvr_pool_free(pool);
  if (io_failed) rc = cmd_fail("verify", "%s", rlvr_error_message());
  else if (sum.count[RLVR_VERIFY_INPUT_ERROR]) rc = cmd_fail("verify", "%lld malformed input lines (status input-error)",
                                                            (long long)sum.count[RLVR_VERIFY_INPUT_ERROR]);

done:
  free(rest);
  rlvr_config_free(&cfg);
  return rc;
}

int cmd_bench_verify(int argc, char **argv) {
  return rlvr_verify_bench_main(argc, argv, BUILTIN_VERIFIERS ":" RLVR_SOURCE_DIR "/tests/verifiers/scripts");
}
