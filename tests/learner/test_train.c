/* test_train.c — `rlvr train` as a user runs it, on the tiny Qwen2 fixture
 * with the lowbytes reward (tests/learner/verifiers/lowbytes.lua):
 *   straight  8 steps, two workers, held-out evaluation before and after:
 *             exit 0, summary.json with both accuracies, report.html with
 *             its plots, the final model, the eval sample files;
 *   restart   the same run with the workers named by train.worker_command,
 *             a worker SIGKILLed after step 2: `rlvr train` replaces it
 *             (logs/worker-N.1.log) and the run's metrics equal the
 *             straight run's (timing and infra aside);
 *   ctrl-c    SIGINT after step 3: exit 0 with a checkpoint and
 *             summary.json "finished": false; `--resume` finishes the run,
 *             the metrics again equal the straight run's, the evaluation of
 *             the starting model is not redone;
 *   warm      no model.path, model.init = tiny (as the default run): a fresh
 *             tiny model is warm-started with sft into RUN/sft/model, which
 *             the GRPO stage and its workers use; summary.json has "sft" and
 *             "grpo" accuracies.
 * Needs RLVR_BIN (set by ctest). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "proc_wait.h"
#include "testing.h"

static const char *bin;
static char root[256];

/* The restart run names its worker program (train.worker_command) instead
 * of letting `rlvr train` run itself. */
static void write_config(const char *name) {
  char path[512], command[600] = "";
  if (!strcmp(name, "restart")) snprintf(command, sizeof command, "worker_command = '%s rollout', ", bin);
  snprintf(path, sizeof path, "%s/%s.lua", root, name);
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f);
  fprintf(f,
          "return {\n"
          "  run = {dir = '%s/%s'},\n"
          "  model = {path = 'tests/fixtures/models/tiny-qwen2'},\n"
          "  task = {source = 'arith', template = 'plain', heldout_size = 16, verifier = 'lowbytes'},\n"
          "  sample = {temperature = 1.0, max_tokens = 8},\n"
          "  train = {%ssteps = 8, prompts_per_step = 4, group_size = 4, workers = 2, eval = true, eval_size = 16},\n"
          "  optim = {lr = 0.003},\n"
          "  rollout = {max_groups = 1, slots = 4},\n"
          "  verify = {workers = 1, paths = 'tests/learner/verifiers'},\n"
          "  transport = {peer_timeout_ms = 1500, heartbeat_ms = 200},\n"
          "  checkpoint = {every = 2},\n"
          "}\n",
          root, name, command);
  fclose(f);
}

static pid_t spawn_train(const char *name, int resume) {
  char cfg[512], log[512];
  snprintf(cfg, sizeof cfg, "%s/%s.lua", root, name);
  snprintf(log, sizeof log, "%s/%s.log", root, name);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0); /* its own group: the test signals it as a terminal would */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    char *argv[] = {(char *)bin, "train", cfg, resume ? "--resume" : NULL, NULL};
    execv(bin, argv);
    _exit(127);
  }
  return pid;
}

static char *file_text(const char *name, const char *file) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
  char *t;
  size_t n;
  return rlvr_file_read(path, &t, &n) == RLVR_OK ? t : NULL;
}

static int read_metrics(const char *name, char ***lines) {
  char *text = file_text(name, "metrics.jsonl");
  *lines = NULL;
  if (!text) return 0;
  int n = 0;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(l);
    if (!o) continue;
    cJSON_DeleteItemFromObject(o, "timing");
    cJSON_DeleteItemFromObject(o, "infra");
    *lines = realloc(*lines, sizeof(char *) * (n + 1));
    (*lines)[n++] = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
  }
  free(text);
  return n;
}

static int same_metrics(const char *a, const char *b) {
  char **la, **lb;
  int na = read_metrics(a, &la), nb = read_metrics(b, &lb), same = 0;
  for (int i = 0; i < na && i < nb; i++) {
    if (!strcmp(la[i], lb[i])) same++;
    else fprintf(stderr, "%s vs %s, step %d:\n  %s\n  %s\n", a, b, i + 1, la[i], lb[i]);
  }
  printf("%s vs %s: %d of %d/%d metrics lines identical (timing and infra aside)\n", a, b, same, na, nb);
  for (int i = 0; i < na; i++) free(la[i]);
  for (int i = 0; i < nb; i++) free(lb[i]);
  free(la), free(lb);
  return na == 8 && nb == 8 && same == 8;
}

/* summary.json's eval.<which>.accuracy, or -1. */
static double summary_accuracy(const char *name, const char *which, int *finished) {
  char *t = file_text(name, "summary.json");
  if (!t) return -1;
  cJSON *o = cJSON_Parse(t);
  free(t);
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "eval"), which), "accuracy");
  double v = cJSON_IsNumber(a) ? a->valuedouble : -1;
  if (finished) *finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "finished"));
  cJSON_Delete(o);
  return v;
}

/* The pid of worker-1, from the train log ("started worker worker-1 (pid N)"). */
static pid_t worker_pid(const char *name, const char *id) {
  char log[512], key[128];
  snprintf(log, sizeof log, "%s/%s.log", root, name);
  snprintf(key, sizeof key, "started worker %s (pid ", id);
  char *t;
  size_t n;
  if (rlvr_file_read(log, &t, &n) != RLVR_OK) return 0;
  char *p = strstr(t, key);
  pid_t pid = p ? (pid_t)atoi(p + strlen(key)) : 0;
  free(t);
  return pid;
}

int main(void) {
  bin = getenv("RLVR_BIN");
  if (!bin) {
    fprintf(stderr, "RLVR_BIN is not set (ctest sets it)\n");
    return 1;
  }
  snprintf(root, sizeof root, "/tmp/rlvr_test_train_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(root) == RLVR_OK);
  char metrics[600], path[600];

  printf("-- straight\n");
  write_config("straight");
  double t0 = proc_now_s();
  pid_t p = spawn_train("straight", 0);
  CHECK(proc_wait_exit(p, 120, 1) == 0);
  printf("straight: %.1f s\n", proc_now_s() - t0);
  int finished = 0;
  double before = summary_accuracy("straight", "initial", NULL), after = summary_accuracy("straight", "grpo", &finished);
  printf("straight: held-out accuracy %.3f -> %.3f, finished %d\n", before, after, finished);
  CHECK(before >= 0 && after >= 0 && finished);
  char *html = file_text("straight", "report.html");
  int svgs = 0;
  for (char *q = html; q && (q = strstr(q, "<svg")); q++) svgs++;
  printf("straight: report.html has %d plots\n", svgs);
  CHECK(html && svgs >= 8 && strstr(html, "Reward and accuracy") && strstr(html, "<polyline"));
  free(html);
  snprintf(path, sizeof path, "%s/straight/model/model.safetensors", root);
  CHECK(rlvr_file_exists(path));
  snprintf(path, sizeof path, "%s/straight/eval_grpo.jsonl", root);
  CHECK(proc_count_lines(path) == 16);

  printf("-- restart\n");
  write_config("restart");
  p = spawn_train("restart", 0);
  snprintf(metrics, sizeof metrics, "%s/restart/metrics.jsonl", root);
  CHECK(proc_wait_lines(metrics, 2, 120));
  pid_t w = worker_pid("restart", "worker-1");
  CHECK(w > 0);
  if (w > 0) kill(w, SIGKILL);
  CHECK(proc_wait_exit(p, 120, 1) == 0);
  snprintf(path, sizeof path, "%s/restart/logs/worker-1.1.log", root);
  CHECK(rlvr_file_exists(path));
  CHECK(same_metrics("straight", "restart"));

  printf("-- ctrl-c\n");
  write_config("ctrlc");
  p = spawn_train("ctrlc", 0);
  snprintf(metrics, sizeof metrics, "%s/ctrlc/metrics.jsonl", root);
  CHECK(proc_wait_lines(metrics, 3, 120));
  kill(-p, SIGINT); /* the whole group, as a terminal's Ctrl-C */
  CHECK(proc_wait_exit(p, 60, 1) == 0);
  int n = proc_count_lines(metrics);
  summary_accuracy("ctrlc", "grpo", &finished);
  snprintf(path, sizeof path, "%s/ctrlc/checkpoints/latest", root);
  printf("ctrl-c: stopped after %d steps, finished %d, checkpoint %d\n", n, finished, rlvr_file_exists(path));
  CHECK(n >= 3 && n < 8 && !finished && rlvr_file_exists(path));
  p = spawn_train("ctrlc", 1);
  CHECK(proc_wait_exit(p, 120, 1) == 0);
  summary_accuracy("ctrlc", "grpo", &finished);
  CHECK(finished);
  char log[600];
  snprintf(log, sizeof log, "%s/ctrlc.log", root);
  char *t;
  size_t len;
  int evals = 0;
  if (rlvr_file_read(log, &t, &len) == RLVR_OK) {
    for (char *q = t; (q = strstr(q, "held-out evaluation of")); q++) evals++;
    free(t);
  }
  CHECK(evals == 2); /* the starting model once, the trained model once */
  CHECK(same_metrics("straight", "ctrlc"));

  printf("-- warm\n");
  snprintf(path, sizeof path, "%s/warm.lua", root);
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f);
  fprintf(f,
          "return {\n"
          "  run = {dir = '%s/warm'},\n"
          "  model = {init = 'tiny', init_layers = 1, init_hidden = 32, init_heads = 2, init_kv_heads = 2,\n"
          "           init_intermediate = 64, init_max_position = 64},\n"
          "  task = {source = 'columns', digits = 2, steps = 1, template = 'plain', heldout_size = 8},\n"
          "  sft = {examples = 64, epochs = 1, batch_size = 16, warmup_steps = 1},\n"
          "  sample = {temperature = 1.0, max_tokens = 16},\n"
          "  train = {steps = 2, prompts_per_step = 4, group_size = 4, eval_size = 8},\n"
          "  verify = {workers = 1},\n"
          "}\n",
          root);
  fclose(f);
  p = spawn_train("warm", 0);
  CHECK(proc_wait_exit(p, 120, 1) == 0);
  double sft = summary_accuracy("warm", "sft", NULL), grpo = summary_accuracy("warm", "grpo", &finished);
  printf("warm: held-out accuracy sft %.3f, grpo %.3f, finished %d\n", sft, grpo, finished);
  CHECK(sft >= 0 && grpo >= 0 && finished);
  snprintf(path, sizeof path, "%s/warm/sft/model/config.json", root);
  CHECK(rlvr_file_exists(path));
  char *cfg = file_text("warm", "config.lua");
  CHECK(cfg && strstr(cfg, "/warm/sft/model"));
  free(cfg);
  snprintf(metrics, sizeof metrics, "%s/warm/metrics.jsonl", root);
  CHECK(proc_count_lines(metrics) == 2);

  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  }
  return test_done();
}
