/* cmd_train.c — `rlvr train [config.lua]`: a whole run on this machine.
 *
 *   1. The config: the file given, or experiments/default.lua when none is
 *      (the default run); --set overrides apply last.
 *   2. Warm start: when model.path is empty and model.init is tiny, a fresh
 *      tiny model is trained with `rlvr sft` (in this process) into
 *      RUN/sft/model, which becomes model.path.
 *   3. Held-out evaluation of the starting model: `rlvr eval`'s scoring
 *      (rollout/eval.h), greedy, train.eval_size problems of task.source's
 *      held-out split, each sample in RUN/eval_<sft|initial>.jsonl.
 *   4. GRPO: the learner in this process (learner/server.h) and
 *      train.workers rollout worker processes, each `rlvr rollout --config
 *      RUN/config.lua --connect ENDPOINT --id ID` (or train.worker_command),
 *      their output in RUN/logs/ID.log. A worker that exits during the run is
 *      written off at once (its groups go to the others) and replaced.
 *   5. Held-out evaluation of the trained model (RUN/eval_grpo.jsonl),
 *      RUN/summary.json
 *      ({"eval": {"sft": {"accuracy": ...}, "grpo": {"accuracy": ...}}}) and
 *      RUN/report.html (learner/report.h).
 * SIGINT/SIGTERM (Ctrl-C) stops at the next safe point with a checkpoint;
 * `rlvr train ... --resume` continues (the warm start and the first
 * evaluation are not redone). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd/cmd.h"
#include "cmd/train_eval.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "learner/checkpoint.h"
#include "learner/report.h"
#include "learner/server.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

void cmd_learner_install_signals(volatile sig_atomic_t **flag);

static const char *usage =
    "usage: rlvr train [CONFIG.lua] [--set key=value ...] [options]\n"
    "\n"
    "Runs GRPO on this machine: a learner and train.workers rollout worker processes\n"
    "(docs/learner.md). With no CONFIG, the default run (experiments/default.lua,\n"
    "docs/default_run.md): a tiny model built from scratch, warm-started with\n"
    "`rlvr sft`, then trained with GRPO, with held-out accuracy before and after.\n"
    "\n"
    "  --workers N       rollout worker processes (train.workers)\n"
    "  --steps N         GRPO steps (train.steps)\n"
    "  --model DIR       the initial policy (model.path)\n"
    "  --run-dir DIR     outputs (run.dir)\n"
    "  --resume          continue the run in run.dir from its latest checkpoint\n"
    "  --stop-after N    stop (with a checkpoint) after N steps; --resume continues\n"
    "\n"
    "Outputs in run.dir: config.lua, metrics.jsonl (docs/metrics.md), samples.jsonl,\n"
    "checkpoints/, model/ (the trained policy), logs/ (the workers'), sft/ (the warm\n"
    "start), summary.json (held-out accuracy before and after), report.html.\n"
    "Ctrl-C stops cleanly with a checkpoint.\n";

static const cmd_shorthand shorthands[] = {
    {"--workers", "train.workers"}, {"--steps", "train.steps"}, {"--model", "model.path"}, {"--run-dir", "run.dir"},
};

static char *joinf(const char *fmt, ...) RLVR_PRINTF(1, 2);
static char *joinf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The same rule as cmd_parse_common: is a config file named on the line? */
static int names_config(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t n = strlen(a);
    if (!strcmp(a, "--config") || !strncmp(a, "--config=", 9)) return 1;
    if (!strcmp(a, "--set")) {
      i++;
      continue;
    }
    if (a[0] != '-' && n > 4 && !strcmp(a + n - 4, ".lua") && (i == 1 || argv[i - 1][0] != '-')) return 1;
  }
  return 0;
}

/* ---- workers ---- */

enum { MAX_RESTARTS = 5 };

typedef struct {
  pid_t pid; /* 0 = not running */
  char id[64];
  int restarts;
  double started;
} child;

typedef struct {
  rlvr_config *cfg;
  child *kids;
  int nkids;
  char endpoint[512];
  char *config_path; /* RUN/config.lua, written by the learner */
  char *log_dir;
  char *self;        /* this binary */
  volatile sig_atomic_t *stop;
} train_ctx;

/* Splits train.worker_command on spaces (no quoting). */
static int split_words(const char *s, char **out, int max) {
  int n = 0;
  const char *p = s;
  while (*p && n < max) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *q = p;
    while (*q && *q != ' ') q++;
    out[n++] = strndup(p, (size_t)(q - p));
    p = q;
  }
  return n;
}

static int spawn(train_ctx *t, child *c) {
  char *argv[64];
  int n = 0;
  if (t->cfg->train_worker_command[0]) {
    n = split_words(t->cfg->train_worker_command, argv, 48);
  } else {
    argv[n++] = xstrdup(t->self);
    argv[n++] = xstrdup("rollout");
  }
  argv[n++] = xstrdup("--config");
  argv[n++] = xstrdup(t->config_path);
  argv[n++] = xstrdup("--connect");
  argv[n++] = xstrdup(t->endpoint);
  argv[n++] = xstrdup("--id");
  argv[n++] = xstrdup(c->id);
  argv[n] = NULL;
  char *log = joinf("%s/%s.log", t->log_dir, c->id);
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int rc = RLVR_OK;
  if (fd < 0) {
    rc = rlvr_error(RLVR_ERR_IO, "%s: %s", log, strerror(errno));
  } else {
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      int nul = open("/dev/null", O_RDONLY);
      if (nul >= 0) dup2(nul, 0);
      /* This binary: through /proc/self/exe, which stays valid when the
       * file is replaced (a rebuild) during the run. */
      if (!t->cfg->train_worker_command[0]) execv("/proc/self/exe", argv);
      else execvp(argv[0], argv);
      dprintf(2, "rlvr train: cannot run %s: %s\n", argv[0], strerror(errno));
      _exit(127);
    }
    close(fd);
    if (pid < 0) rc = rlvr_error(RLVR_ERR_IO, "fork: %s", strerror(errno));
    else {
      c->pid = pid;
      c->started = now_s();
      rlvr_info("train: started worker %s (pid %d), log %s", c->id, (int)pid, log);
    }
  }
  free(log);
  for (int i = 0; i < n; i++) free(argv[i]);
  return rc;
}

static int on_bound(void *ctx, const char *endpoint) {
  train_ctx *t = ctx;
  snprintf(t->endpoint, sizeof t->endpoint, "%s", endpoint);
  for (int i = 0; i < t->nkids; i++) {
    int rc = spawn(t, &t->kids[i]);
    if (rc) return rc;
  }
  return RLVR_OK;
}

static int each_loop(void *ctx, rlvr_server *s) {
  train_ctx *t = ctx;
  int alive = 0;
  for (int i = 0; i < t->nkids; i++) {
    child *c = &t->kids[i];
    if (c->pid > 0) {
      int status;
      pid_t r = waitpid(c->pid, &status, WNOHANG);
      if (r == c->pid) {
        c->pid = 0;
        if (WIFSIGNALED(status))
          rlvr_warn("train: worker %s was killed by signal %d (log: %s/%s.log)", c->id, WTERMSIG(status), t->log_dir, c->id);
        else
          rlvr_warn("train: worker %s exited with status %d (log: %s/%s.log)", c->id, WEXITSTATUS(status), t->log_dir,
                    c->id);
        rlvr_server_worker_gone(s, c->id);
        if (*t->stop) continue;
        if (c->restarts >= MAX_RESTARTS) {
          rlvr_err("train: worker slot %d has been restarted %d times; giving it up", i, c->restarts);
          continue;
        }
        /* A new id: the old one's groups are written off, the new one starts clean. */
        c->restarts++;
        char *dot = strchr(c->id, '.');
        if (dot) *dot = 0;
        char base[64];
        snprintf(base, sizeof base, "%s", c->id);
        snprintf(c->id, sizeof c->id, "%.40s.%d", base, c->restarts);
        int rc = spawn(t, c);
        if (rc) return rc;
      }
    }
    alive += c->pid > 0;
  }
  if (alive == 0 && t->nkids > 0 && !*t->stop)
    return rlvr_error(RLVR_ERR_IO, "train: every rollout worker has exited and none can be restarted (logs in %s)",
                      t->log_dir);
  return RLVR_OK;
}

/* Waits up to seconds for the children, then SIGTERM, then SIGKILL. */
static void reap(train_ctx *t, double seconds) {
  const double t0 = now_s();
  int sent_term = 0;
  for (;;) {
    int alive = 0;
    for (int i = 0; i < t->nkids; i++) {
      child *c = &t->kids[i];
      if (c->pid <= 0) continue;
      if (waitpid(c->pid, NULL, WNOHANG) == c->pid) c->pid = 0;
      else alive++;
    }
    if (!alive) return;
    const double el = now_s() - t0;
    if (el > seconds + 5) {
      for (int i = 0; i < t->nkids; i++)
        if (t->kids[i].pid > 0) kill(t->kids[i].pid, SIGKILL);
    } else if (el > seconds && !sent_term) {
      for (int i = 0; i < t->nkids; i++)
        if (t->kids[i].pid > 0) kill(t->kids[i].pid, SIGTERM);
      sent_term = 1;
    }
    usleep(20000);
  }
}

/* ---- evaluation and summary ---- */

typedef cmd_eval_result eval_result;

static int evaluate(rlvr_config *cfg, const char *model_dir, const char *name, eval_result *out) {
  char *path = joinf("%s/eval_%s.jsonl", cfg->run_dir, name);
  int rc = cmd_train_evaluate(cfg, model_dir, path, out);
  free(path);
  return rc;
}

static cJSON *eval_json(const eval_result *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "accuracy", e->accuracy);
  cJSON_AddNumberToObject(o, "problems", e->problems);
  cJSON_AddNumberToObject(o, "format", e->format);
  cJSON_AddNumberToObject(o, "mean_tokens", e->tokens);
  cJSON_AddNumberToObject(o, "seconds", e->seconds);
  cJSON_AddNumberToObject(o, "infra_failures", (double)e->infra_failures);
  return o;
}

static void eval_from_json(const cJSON *o, eval_result *e) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "accuracy");
  if (!cJSON_IsNumber(a)) return;
  e->done = 1;
  e->accuracy = a->valuedouble;
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "problems");
  e->problems = cJSON_IsNumber(p) ? (int)p->valuedouble : 0;
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "format");
  e->format = cJSON_IsNumber(f) ? f->valuedouble : NAN;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "mean_tokens");
  e->tokens = cJSON_IsNumber(t) ? t->valuedouble : NAN;
  const cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, "seconds");
  e->seconds = cJSON_IsNumber(sec) ? sec->valuedouble : 0;
}

typedef struct {
  const char *before_name; /* "sft" after a warm start, else "initial" */
  eval_result before, after;
  int64_t steps;
  double sft_s, grpo_s;
  int finished;
} summary;

static int write_summary(const char *run_dir, const summary *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON *ev = cJSON_AddObjectToObject(o, "eval");
  if (s->before.done) cJSON_AddItemToObject(ev, s->before_name, eval_json(&s->before));
  if (s->after.done) cJSON_AddItemToObject(ev, "grpo", eval_json(&s->after));
  if (s->before.done && s->after.done)
    cJSON_AddNumberToObject(o, "improvement_points", 100.0 * (s->after.accuracy - s->before.accuracy));
  cJSON_AddNumberToObject(o, "steps", (double)s->steps);
  cJSON_AddBoolToObject(o, "finished", s->finished);
  cJSON *sec = cJSON_AddObjectToObject(o, "seconds");
  cJSON_AddNumberToObject(sec, "sft", s->sft_s);
  cJSON_AddNumberToObject(sec, "grpo", s->grpo_s);
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  char *path = joinf("%s/summary.json", run_dir);
  size_t n = strlen(text);
  text = xrealloc(text, n + 2);
  text[n] = '\n', text[n + 1] = 0;
  int rc = rlvr_file_write_atomic(path, text, n + 1);
  free(path);
  free(text);
  return rc;
}

static void read_summary(const char *run_dir, summary *s) {
  char *path = joinf("%s/summary.json", run_dir), *text;
  size_t len;
  if (rlvr_file_read(path, &text, &len) == RLVR_OK) {
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "eval");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(ev, s->before_name);
    if (b) eval_from_json(b, &s->before);
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    const cJSON *sft = cJSON_GetObjectItemCaseSensitive(sec, "sft");
    if (cJSON_IsNumber(sft)) s->sft_s = sft->valuedouble;
    cJSON_Delete(o);
    free(text);
  }
  free(path);
}

/* ---- the command ---- */

int cmd_sft(int argc, char **argv);

int cmd_train(int argc, char **argv) {
  /* The default run: experiments/default.lua under the --set overrides. */
  const int default_run = !names_config(argc, argv);
  char **args = xcalloc((size_t)argc + 3, sizeof *args);
  int nargs = 0;
  args[nargs++] = argv[0];
  if (default_run) {
    args[nargs++] = "--config";
    args[nargs++] = RLVR_SOURCE_DIR "/experiments/default.lua";
  }
  for (int i = 1; i < argc; i++) args[nargs++] = argv[i];
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      free(args);
      return EXIT_OK;
    }
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)nargs + 1, sizeof *rest);
  int nrest = 0, help = 0, resume = 0;
  long long stop_after = 0;
  int rc = cmd_parse_common(nargs, args, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK)
    rc = cmd_apply_shorthands("train", &cfg, rest, &nrest, shorthands, (int)(sizeof shorthands / sizeof *shorthands));
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    if (!strcmp(rest[i], "--resume")) {
      resume = 1;
    } else if (!strcmp(rest[i], "--stop-after")) {
      char *end = NULL;
      if (i + 1 < nrest) stop_after = strtoll(rest[++i], &end, 10);
      if (!end || *end || stop_after < 1) rc = cmd_usage_error("train", "--stop-after needs a positive integer");
    } else {
      rc = cmd_usage_error("train", "unknown argument '%s'", rest[i]);
    }
  }
  free(rest);
  free(args);
  if (rc == EXIT_OK) rc = cmd_apply_runtime("train", &cfg);
  if (rc == EXIT_OK && (cfg.train_workers < 1 || cfg.train_workers > 256))
    rc = cmd_fail("train", "config: key 'train.workers' must be in 1..256");
  if (rc != EXIT_OK) {
    rlvr_config_free(&cfg);
    return rc;
  }
  volatile sig_atomic_t *stop;
  cmd_learner_install_signals(&stop);
  if (rlvr_mkdirs(cfg.run_dir) != RLVR_OK) {
    rc = cmd_fail("train", "%s", rlvr_error_message());
    rlvr_config_free(&cfg);
    return rc;
  }
  const double t_start = now_s();
  summary sum;
  memset(&sum, 0, sizeof sum);
  sum.before_name = "initial";
  char *sft_model = joinf("%s/sft/model", cfg.run_dir);

  /* 2. Warm start. */
  if (!cfg.model_path[0] && !strcmp(cfg.model_init, "tiny")) {
    sum.before_name = "sft";
    char *done_marker = joinf("%s/config.json", sft_model);
    if (resume && rlvr_file_exists(done_marker)) {
      fprintf(stderr, "train: the warm start in %s is done; not redone\n", sft_model);
      read_summary(cfg.run_dir, &sum);
    } else {
      char *sft_cfg = joinf("%s/train_sft.lua", cfg.run_dir);
      int e = rlvr_config_save(&cfg, sft_cfg);
      if (e) {
        rc = cmd_fail("train", "%s", rlvr_error_message());
      } else {
        fprintf(stderr, "train: warm start: rlvr sft on a fresh tiny model (%s/sft)\n", cfg.run_dir);
        const double t0 = now_s();
        char *sargv[] = {"sft", "--config", sft_cfg, NULL};
        rc = cmd_sft(3, sargv);
        sum.sft_s = now_s() - t0;
        if (rc != EXIT_OK) rc = cmd_fail("train", "the warm start failed (above)");
      }
      free(sft_cfg);
    }
    free(done_marker);
    if (rc == EXIT_OK) {
      char *kv = joinf("model.path=%s", sft_model);
      if (rlvr_config_set(&cfg, kv) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
      free(kv);
    }
  } else if (resume) {
    read_summary(cfg.run_dir, &sum);
  }
  if (rc == EXIT_OK && !cfg.model_path[0])
    rc = cmd_usage_error("train", "no model: set model.path (--model DIR), or model.init = tiny for a fresh one");
  if (rc == EXIT_OK && *stop) rc = cmd_fail("train", "stopped");

  /* 3. The starting model's held-out accuracy. */
  if (rc == EXIT_OK && cfg.train_eval && !sum.before.done) {
    fprintf(stderr, "train: held-out evaluation of %s ...\n", cfg.model_path);
    if (evaluate(&cfg, cfg.model_path, sum.before_name, &sum.before) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
    else {
      fprintf(stderr, "train: %s held-out accuracy %.3f on %d problems (greedy, %.1fs)\n", sum.before_name,
              sum.before.accuracy, sum.before.problems, sum.before.seconds);
      if (write_summary(cfg.run_dir, &sum) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
    }
  }

  /* 4. GRPO. */
  int have_ckpt = 0;
  if (rc == EXIT_OK && resume) {
    char p[4096];
    have_ckpt = rlvr_train_checkpoint_latest(cfg.run_dir, p, sizeof p) == RLVR_OK;
    if (!have_ckpt) fprintf(stderr, "train: no GRPO checkpoint in %s yet; GRPO starts from step 0\n", cfg.run_dir);
  }
  train_ctx t = {.cfg = &cfg, .stop = stop};
  rlvr_server_result res = {0};
  if (rc == EXIT_OK && !*stop) {
    t.nkids = (int)cfg.train_workers;
    t.kids = xcalloc((size_t)t.nkids, sizeof *t.kids);
    for (int i = 0; i < t.nkids; i++) snprintf(t.kids[i].id, sizeof t.kids[i].id, "worker-%d", i + 1);
    t.config_path = joinf("%s/config.lua", cfg.run_dir);
    t.log_dir = joinf("%s/logs", cfg.run_dir);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    t.self = n > 0 ? strndup(exe, (size_t)n) : xstrdup(argv[0]);
    if (rlvr_mkdirs(t.log_dir) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
  }
  if (rc == EXIT_OK && !*stop) {
    rlvr_server_options o = {
        .cfg = &cfg,
        .env = {.tasks_dir = RLVR_SOURCE_DIR "/tasks",
                .chat_templates_dir = RLVR_SOURCE_DIR "/model/templates",
                .resume = have_ckpt,
                .stop_after = stop_after,
                .progress = -1},
        .endpoint = cfg.learner_endpoint,
        .stop = stop,
        .on_bound = on_bound,
        .each_loop = each_loop,
        .ctx = &t,
    };
    fprintf(stderr, "train: GRPO, %lld steps of %lld prompts x %lld samples, %lld worker%s\n",
            (long long)cfg.train_steps, (long long)cfg.train_prompts_per_step, (long long)cfg.train_group_size,
            (long long)cfg.train_workers, cfg.train_workers > 1 ? "s" : "");
    const double t0 = now_s();
    int e = rlvr_learner_serve(&o, &res);
    sum.grpo_s = now_s() - t0;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", e ? rlvr_error_message() : "");
    reap(&t, 10.0);
    if (e) rc = cmd_fail("train", "%s", msg);
  }
  sum.steps = res.version;
  const int finished = rc == EXIT_OK && !res.stopped && !*stop;

  /* 5. The trained model. */
  if (finished) {
    sum.finished = 1;
    char *final = joinf("%s/model", cfg.run_dir);
    if (cfg.train_eval) {
      fprintf(stderr, "train: held-out evaluation of the trained model ...\n");
      if (evaluate(&cfg, final, "grpo", &sum.after) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
    }
    free(final);
    if (rc == EXIT_OK && write_summary(cfg.run_dir, &sum) != RLVR_OK) rc = cmd_fail("train", "%s", rlvr_error_message());
    if (rc == EXIT_OK && cfg.train_report && rlvr_report_write(cfg.run_dir, NULL) != RLVR_OK)
      rc = cmd_fail("train", "%s", rlvr_error_message());
    if (rc == EXIT_OK) {
      if (sum.before.done && sum.after.done)
        fprintf(stderr, "train: held-out accuracy %s %.3f -> grpo %.3f (%+.1f points) on %d problems\n",
                sum.before_name, sum.before.accuracy, sum.after.accuracy,
                100.0 * (sum.after.accuracy - sum.before.accuracy), sum.after.problems);
      fprintf(stderr, "train: done in %.0fs; %s/summary.json, %s/report.html\n", now_s() - t_start, cfg.run_dir,
              cfg.run_dir);
    }
  } else if (rc == EXIT_OK) {
    write_summary(cfg.run_dir, &sum);
    if (cfg.train_report) rlvr_report_write(cfg.run_dir, NULL);
    fprintf(stderr, "train: stopped; continue with: rlvr train ... --resume\n");
  }
  free(t.kids);
  free(t.config_path);
  free(t.log_dir);
  free(t.self);
  free(sft_model);
  rlvr_config_free(&cfg);
  return rc;
}
