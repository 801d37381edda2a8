/* test_processes.c — the learner and its rollout workers as separate
 * processes over tcp on 127.0.0.1 (`rlvr learner`, `rlvr rollout`), on the
 * tiny Qwen2 fixture, under faults:
 *   reference  a learner and two workers, 6 steps, nothing goes wrong;
 *   faults     the same run, but after step 2 worker A is killed with
 *              SIGKILL and a new worker C starts, and garbage (random bytes,
 *              a message of the wrong type, a truncated message) is sent to
 *              the learner's work and trajectories sockets: the run
 *              completes, the learner counts the garbage and the lost
 *              worker, and every step's metrics equal the reference run's
 *              (timings and infra counts aside): the same groups, each
 *              counted once, nothing lost;
 *   resume     the learner is killed with SIGKILL after step 3 (checkpoint
 *              every step) and started again with --resume: the metrics
 *              again equal the reference run's, and so do the final
 *              weights, bit for bit.
 * The reward is tests/learner/verifiers/lowbytes.lua (a signal the random
 * tiny model has), so the steps train and the comparisons mean something:
 * the reference run's reward must rise.
 * Needs RLVR_BIN (set by ctest). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/error.h"
#include "core/file.h"
#include "core/protocol.h"
#include "model/checkpoint.h"
#include "proc_wait.h"
#include "testing.h"

static const char *bin;
static char root[256];

static pid_t spawn(char *const argv[], const char *log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static void write_config(const char *name, int steps) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.lua", root, name);
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f);
  fprintf(f,
          "return {\n"
          "  run = {dir = '%s/%s'},\n"
          "  model = {path = 'tests/fixtures/models/tiny-qwen2'},\n"
          "  task = {source = 'arith', template = 'plain', heldout_size = 10, verifier = 'lowbytes'},\n"
          "  sample = {temperature = 1.0, max_tokens = 8},\n"
          "  train = {steps = %d, prompts_per_step = 4, group_size = 4, eval = false, samples_per_step = 1},\n"
          "  optim = {lr = 0.003},\n"
          "  rollout = {max_groups = 1, slots = 4},\n"
          "  verify = {workers = 1, paths = 'tests/learner/verifiers'},\n"
          "  transport = {peer_timeout_ms = 1500, heartbeat_ms = 200},\n"
          "  checkpoint = {every = 1, keep = 2},\n"
          "  learner = {endpoint = 'tcp://127.0.0.1:*'},\n"
          "}\n",
          root, name, steps);
  fclose(f);
}

static pid_t start_learner(const char *name, int resume, char *endpoint, size_t cap) {
  char cfg[512], ep[512], log[512];
  snprintf(cfg, sizeof cfg, "%s/%s.lua", root, name);
  snprintf(ep, sizeof ep, "%s/%s.endpoint", root, name);
  snprintf(log, sizeof log, "%s/%s.learner.log", root, name);
  unlink(ep);
  char *argv[] = {(char *)bin, "learner", cfg, "--endpoint-file", ep, resume ? "--resume" : NULL, NULL};
  pid_t pid = spawn(argv, log);
  const double t0 = proc_now_s();
  while (proc_now_s() - t0 < 30) {
    char *text;
    size_t len;
    if (rlvr_file_read(ep, &text, &len) == RLVR_OK && len > 0 && text[len - 1] == '\n') {
      text[len - 1] = 0;
      snprintf(endpoint, cap, "%s", text);
      free(text);
      return pid;
    }
    usleep(20000);
  }
  fprintf(stderr, "the learner of %s did not bind (see %s)\n", name, log);
  return pid;
}

static pid_t start_worker(const char *name, const char *endpoint, const char *id) {
  char cfg[512], log[512];
  snprintf(cfg, sizeof cfg, "%s/%s.lua", root, name);
  snprintf(log, sizeof log, "%s/%s.%s.log", root, name, id);
  char *argv[] = {(char *)bin, "rollout", cfg, "--connect", (char *)endpoint, "--id", (char *)id, NULL};
  return spawn(argv, log);
}

/* metrics.jsonl lines without "timing" and "infra"; infra fields summed into sums. */
typedef struct {
  double rejected, workers_lost, reissued, duplicate;
} infra_sums;

static int read_metrics(const char *name, char ***lines, infra_sums *sums) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/metrics.jsonl", root, name);
  char *text;
  size_t len;
  *lines = NULL;
  if (sums) memset(sums, 0, sizeof *sums);
  if (rlvr_file_read(path, &text, &len) != RLVR_OK) return 0;
  int n = 0;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(l);
    if (!o) continue;
    const cJSON *inf = cJSON_GetObjectItemCaseSensitive(o, "infra");
    if (sums && inf) {
      sums->rejected += cJSON_GetObjectItemCaseSensitive(inf, "messages_rejected")->valuedouble;
      sums->workers_lost += cJSON_GetObjectItemCaseSensitive(inf, "workers_lost")->valuedouble;
      sums->reissued += cJSON_GetObjectItemCaseSensitive(inf, "groups_reissued")->valuedouble;
      sums->duplicate += cJSON_GetObjectItemCaseSensitive(inf, "groups_duplicate")->valuedouble;
    }
    cJSON_DeleteItemFromObject(o, "timing");
    cJSON_DeleteItemFromObject(o, "infra");
    *lines = realloc(*lines, sizeof(char *) * (n + 1));
    (*lines)[n++] = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
  }
  free(text);
  return n;
}

static int same_metrics(const char *a, const char *b, int want) {
  char **la, **lb;
  int na = read_metrics(a, &la, NULL), nb = read_metrics(b, &lb, NULL), same = 0;
  for (int i = 0; i < na && i < nb; i++) {
    if (!strcmp(la[i], lb[i])) same++;
    else fprintf(stderr, "%s vs %s, step %d:\n  %s\n  %s\n", a, b, i + 1, la[i], lb[i]);
  }
  printf("%s vs %s: %d of %d/%d metrics lines identical (timing and infra aside)\n", a, b, same, na, nb);
  for (int i = 0; i < na; i++) free(la[i]);
  for (int i = 0; i < nb; i++) free(lb[i]);
  free(la), free(lb);
  return na == want && nb == want && same == want;
}

static int same_weights(const char *a, const char *b) {
  char pa[512], pb[512];
  snprintf(pa, sizeof pa, "%s/%s/model", root, a);
  snprintf(pb, sizeof pb, "%s/%s/model", root, b);
  rlvr_model ma, mb;
  if (rlvr_model_load(pa, &ma) != RLVR_OK) return 0;
  if (rlvr_model_load(pb, &mb) != RLVR_OK) {
    rlvr_model_free(&ma);
    return 0;
  }
  int same = ma.num_params == mb.num_params && !memcmp(ma.params_memory, mb.params_memory, ma.num_params * 4);
  rlvr_model_free(&ma);
  rlvr_model_free(&mb);
  return same;
}

/* Sends garbage to the learner's work (DEALER) and trajectories (PUSH)
 * sockets: random bytes, a heartbeat on the trajectories channel (wrong
 * type there), a truncated trajectories message. Returns messages sent. */
static int send_garbage(const char *endpoint) {
  char work[512], traj[512];
  const char *colon = strrchr(endpoint, ':');
  int port = atoi(colon + 1), hl = (int)(colon - endpoint);
  snprintf(work, sizeof work, "%.*s:%d", hl, endpoint, port);
  snprintf(traj, sizeof traj, "%.*s:%d", hl, endpoint, port + 1);
  void *ctx = zmq_ctx_new();
  void *d = zmq_socket(ctx, ZMQ_DEALER), *p = zmq_socket(ctx, ZMQ_PUSH);
  zmq_setsockopt(d, ZMQ_ROUTING_ID, "garbage", 7);
  int linger = 2000;
  zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(p, ZMQ_LINGER, &linger, sizeof linger);
  zmq_connect(d, work);
  zmq_connect(p, traj);
  unsigned char junk[64];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
  int sent = 0;
  /* a valid heartbeat, encoded, sent where only trajectories belong */
  rlvr_msg hb;
  memset(&hb, 0, sizeof hb);
  hb.type = RLVR_MSG_HEARTBEAT;
  hb.heartbeat.sender = "garbage";
  hb.heartbeat.status = RLVR_HEARTBEAT_IDLE;
  rlvr_buf buf = {0};
  RLVR_CHECK(rlvr_msg_encode(&hb, 0, &buf) == RLVR_OK);
  for (int k = 0; k < 3; k++) {
    sent += zmq_send(d, junk, sizeof junk - (size_t)k * 7, 0) >= 0;
    sent += zmq_send(p, junk, sizeof junk - (size_t)k * 5, 0) >= 0;
  }
  sent += zmq_send(p, buf.data, buf.len, 0) >= 0;
  sent += zmq_send(d, buf.data, buf.len / 2, 0) >= 0; /* truncated */
  rlvr_buf_free(&buf);
  zmq_close(d);
  zmq_close(p);
  zmq_ctx_term(ctx);
  return sent;
}

/* One run: a learner and workers; fault = 1 kills worker A after step 2
 * and starts C, and sends garbage; fault = 2 kills the learner after step 3
 * and resumes it. */
static int run(const char *name, int fault) {
  printf("-- %s\n", name);
  write_config(name, 6);
  char ep[512], metrics[512];
  snprintf(metrics, sizeof metrics, "%s/%s/metrics.jsonl", root, name);
  const double t0 = proc_now_s();
  pid_t L = start_learner(name, 0, ep, sizeof ep);
  pid_t A = start_worker(name, ep, "A"), B = start_worker(name, ep, "B"), C = 0;
  int garbage = 0, ok = 1;
  if (fault == 1) {
    ok &= proc_wait_lines(metrics, 2, 60);
    kill(A, SIGKILL);
    waitpid(A, NULL, 0);
    A = 0;
    C = start_worker(name, ep, "C");
    garbage = send_garbage(ep);
  } else if (fault == 2) {
    ok &= proc_wait_lines(metrics, 3, 60);
    kill(L, SIGKILL);
    waitpid(L, NULL, 0);
    printf("learner killed after %d steps\n", proc_count_lines(metrics));
    L = start_learner(name, 1, ep, sizeof ep); /* a new port: the workers follow */
    kill(A, SIGTERM);
    kill(B, SIGTERM);
    proc_wait_exit(A, 20, 0);
    proc_wait_exit(B, 20, 0);
    A = start_worker(name, ep, "A2");
    B = start_worker(name, ep, "B2");
  }
  int st = proc_wait_exit(L, 90, 0);
  ok &= st == 0;
  if (st != 0) fprintf(stderr, "%s: the learner ended with status %d (see %s/%s.learner.log)\n", name, st, root, name);
  /* the workers leave on the learner's shutdown message */
  if (A) ok &= proc_wait_exit(A, 20, 0) == 0;
  if (B) ok &= proc_wait_exit(B, 20, 0) == 0;
  if (C) ok &= proc_wait_exit(C, 20, 0) == 0;
  printf("%s: %.1f s\n", name, proc_now_s() - t0);
  char **lines;
  infra_sums s;
  int n = read_metrics(name, &lines, &s);
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
  printf("%s: %d steps, messages rejected %g, workers lost %g, groups reissued %g, duplicates %g\n", name, n,
         s.rejected, s.workers_lost, s.reissued, s.duplicate);
  CHECK(n == 6);
  if (fault == 0) {
    char **l2;
    int n2 = read_metrics(name, &l2, NULL);
    if (n2 == 6) {
      cJSON *a = cJSON_Parse(l2[0]), *b = cJSON_Parse(l2[5]);
      double r0 = cJSON_GetObjectItemCaseSensitive(a, "reward")->valuedouble;
      double r5 = cJSON_GetObjectItemCaseSensitive(b, "reward")->valuedouble;
      double d0 = cJSON_GetObjectItemCaseSensitive(a, "max_logprob_diff")->valuedouble;
      printf("reference: reward %.3f at step 1, %.3f at step 6; max |dlogp| at step 1: %g\n", r0, r5, d0);
      CHECK(r5 > r0 && d0 == 0.0);
      cJSON_Delete(a), cJSON_Delete(b);
    }
    for (int i = 0; i < n2; i++) free(l2[i]);
    free(l2);
  }
  if (fault == 1) {
    CHECK(s.rejected >= garbage && garbage >= 7);
    CHECK(s.workers_lost >= 1);
  }
  return ok;
}

int main(void) {
  bin = getenv("RLVR_BIN");
  if (!bin) {
    fprintf(stderr, "RLVR_BIN is not set (ctest sets it)\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  snprintf(root, sizeof root, "/tmp/rlvr_test_processes_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(root) == RLVR_OK);
  CHECK(run("reference", 0));
  CHECK(run("faults", 1));
  CHECK(run("resume", 2));
  CHECK(same_metrics("reference", "faults", 6));
  CHECK(same_metrics("reference", "resume", 6));
  CHECK(same_weights("reference", "faults"));
  CHECK(same_weights("reference", "resume"));
  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  }
  return test_done();
}
