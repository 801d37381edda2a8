/* fake_train.c — a stand-in for `rlvr train` in the sweep tests: the same
 * command line (CONFIG.lua [--set key=value ...] [--resume]) and the same
 * contract (docs/experiments.md), without a model:
 *
 *  - reads the config like rlvr (defaults, the file, --set), so a sweep's
 *    overrides reach it; run.dir is where everything goes;
 *  - each of train.steps steps sleeps FAKE_TRAIN_STEP_MS (default 20) and
 *    appends to metrics.jsonl {"step", "reward", "accuracy", "timing":
 *    {"step_s"}}, values a fixed
 *    function of (loss.aggregation, optim.lr, run.seed, step), so a run that
 *    was stopped and resumed must end with the same file as one that was
 *    not;
 *  - a checkpoint (checkpoints/latest: "STEP BYTES", BYTES = the length of
 *    metrics.jsonl after STEP) every checkpoint.every steps and when it
 *    stops; --resume continues from it (and from step 0 without one), after
 *    cutting metrics.jsonl back to BYTES;
 *  - SIGINT and SIGTERM stop it at the end of the step, each once
 *    (SA_RESETHAND, as rlvr train: a second one of the same kind kills it);
 *    stopped, it writes summary.json with "finished": false and exits 0,
 *    as rlvr train does; finished, summary.json holds "finished": true and
 *    {"eval": {"grpo": {"accuracy": A}}};
 *  - FAKE_TRAIN_FAIL_SEED=N: a run with run.seed N fails after 2 steps
 *    (exit status 3);
 *  - every start appends "start resume=R from=K" to fake_events.log. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { stop = sig; }

/* A value in [-0.02, 0.02) from (seed, step): splitmix64. */
static double noise(int64_t seed, int64_t step) {
  uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ull + (uint64_t)step;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return ((double)(z >> 11) / 9007199254740992.0 - 0.5) * 0.04;
}

static double reward_at(const rlvr_config *c, int64_t step) {
  double base = !strcmp(c->loss_aggregation, "grpo") ? 0.2 : !strcmp(c->loss_aggregation, "dr_grpo") ? 0.25 : 0.3;
  double gain = 0.5 * (1.0 - exp(-(double)step * c->optim_lr * 1e5));
  return base + gain + noise(c->run_seed, step);
}

static char *path_in(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static void checkpoint(const char *dir, int64_t step, long bytes) {
  char *cdir = path_in(dir, "checkpoints");
  rlvr_mkdirs(cdir);
  char *p = path_in(cdir, "latest");
  char text[64];
  int n = snprintf(text, sizeof text, "%lld %ld\n", (long long)step, bytes);
  if (rlvr_file_write_atomic(p, text, (size_t)n) != RLVR_OK) fprintf(stderr, "fake_train: %s\n", rlvr_error_message());
  free(p), free(cdir);
}

static void summary(const char *dir, int finished, int64_t steps, double acc) {
  char *p = path_in(dir, "summary.json");
  char text[256];
  int n = finished ? snprintf(text, sizeof text, "{\"eval\": {\"grpo\": {\"accuracy\": %.17g}}, \"steps\": %lld, \"finished\": true}\n", acc, (long long)steps)
                   : snprintf(text, sizeof text, "{\"steps\": %lld, \"finished\": false}\n", (long long)steps);
  rlvr_file_write_atomic(p, text, (size_t)n);
  free(p);
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  rlvr_config c;
  rlvr_config_init(&c);
  int resume = 0, rc = 0;
  char *mp = NULL, *ck = NULL;
  FILE *m = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--resume")) {
      resume = 1;
    } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
      if (rlvr_config_set(&c, argv[++i]) != RLVR_OK) {
        fprintf(stderr, "fake_train: %s\n", rlvr_error_message());
        rc = 2;
        goto out;
      }
    } else if (argv[i][0] != '-') {
      if (rlvr_config_load(&c, argv[i]) != RLVR_OK) {
        fprintf(stderr, "fake_train: %s\n", rlvr_error_message());
        rc = 2;
        goto out;
      }
    } else {
      fprintf(stderr, "fake_train: unknown argument %s\n", argv[i]);
      rc = 2;
      goto out;
    }
  }
  const char *dir = c.run_dir;
  rlvr_mkdirs(dir);
  const char *ms = getenv("FAKE_TRAIN_STEP_MS"), *fail = getenv("FAKE_TRAIN_FAIL_SEED");
  long step_ms = ms ? atol(ms) : 20;
  int64_t fail_seed = fail && *fail ? atoll(fail) : INT64_MIN;

  int64_t from = 0;
  long bytes = 0;
  ck = path_in(dir, "checkpoints/latest");
  if (resume && rlvr_file_exists(ck)) {
    FILE *f = fopen(ck, "r");
    long long s = 0;
    if (!f || fscanf(f, "%lld %ld", &s, &bytes) != 2) {
      fprintf(stderr, "fake_train: %s: unreadable checkpoint\n", ck);
      if (f) fclose(f);
      rc = 2;
      goto out;
    }
    fclose(f);
    from = s;
  }
  char *ev = path_in(dir, "fake_events.log");
  FILE *evf = fopen(ev, "a");
  if (evf) fprintf(evf, "start resume=%d from=%lld\n", resume, (long long)from), fclose(evf);
  free(ev);

  mp = path_in(dir, "metrics.jsonl");
  if (from > 0) {
    if (truncate(mp, bytes) != 0) {
      fprintf(stderr, "fake_train: %s: %s\n", mp, strerror(errno));
      rc = 2;
      goto out;
    }
  } else {
    FILE *f = fopen(mp, "w");
    if (f) fclose(f);
    bytes = 0;
  }
  m = fopen(mp, "a");
  if (!m) {
    fprintf(stderr, "fake_train: %s: %s\n", mp, strerror(errno));
    rc = 2;
    goto out;
  }
  fprintf(stderr, "fake_train: %s: steps %lld..%lld (seed %lld, %s, lr %g)\n", dir, (long long)from + 1,
          (long long)c.train_steps, (long long)c.run_seed, c.loss_aggregation, c.optim_lr);
  double acc = 0;
  int64_t step = from;
  while (step < c.train_steps) {
    if (stop) break;
    struct timespec ts = {step_ms / 1000, (step_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    step++;
    double r = reward_at(&c, step);
    acc = 0.9 * r;
    fprintf(m, "{\"step\": %lld, \"reward\": %.17g, \"accuracy\": %.17g, \"timing\": {\"step_s\": %.3f}}\n",
            (long long)step, r, acc, 0.1 + 0.001 * (double)step);
    fflush(m);
    bytes = ftell(m);
    if (step == 2 && c.run_seed == fail_seed) {
      fprintf(stderr, "fake_train: injected failure at step 2\n");
      rc = 3;
      goto out;
    }
    if (c.checkpoint_every > 0 && step % c.checkpoint_every == 0) checkpoint(dir, step, bytes);
  }
  fclose(m);
  m = NULL;
  if (step < c.train_steps) {
    checkpoint(dir, step, bytes);
    summary(dir, 0, step, 0);
    fprintf(stderr, "fake_train: stopped by signal %d at step %lld; checkpoint written\n", (int)stop, (long long)step);
    goto out;
  }
  checkpoint(dir, step, bytes);
  summary(dir, 1, step, acc);
  fprintf(stderr, "fake_train: finished %lld steps\n", (long long)step);
out:
  if (m) fclose(m);
  free(mp), free(ck);
  rlvr_config_free(&c);
  return rc;
}
