/* test_weight_sync.c — GPU weight sync end to end (learner.weight_sync =
 * nccl and ipc; learner/wsync_hub.h, docs/cuda.md "Weight sync"): the GPU
 * learner in this process (learner/server.h, learner.device = cuda) and
 * rollout workers as separate processes (this program again with
 * --worker: rollout/worker.h over tcp on 127.0.0.1, rollout.device = cuda,
 * rollout.dtype = bf16), GRPO on tests/fixtures/models/tiny-qwen2 with the
 * lowbytes verifier (a reward the random tiny model has a signal for, so
 * that every step changes the weights).
 *
 * What is compared: after each version lands, a worker downloads the bf16
 * weights its GPU decodes with and writes them to a file; the learner,
 * whenever its version changes, writes its fp32 master weights (downloaded
 * from its GPU to the host model after each step) rounded to bf16 by
 * core/safetensors.h's rlvr_f32_to_bf16 (the checkpoint writer's rounding,
 * not the device's). Every worker file must equal the learner's of that
 * version bit for bit, each worker must hold every version from its first
 * to the last while it takes part, and consecutive versions must differ
 * (so that equality means something).
 *
 *   nccl-kill  workers A and B, learner.dtype = fp32 (the learner rounds
 *         its master weights on the device), 64 KiB buckets (the ~200 KB of
 *         bf16 go in 4). Once both hold version 2, B is killed (SIGKILL): the
 *         learner must report a failure naming B and run a new communicator
 *         without it within transport.peer_timeout_ms +
 *         learner.weight_sync_timeout_ms + 5 s; then worker C starts (a late
 *         joiner: a new communicator of A and C). The run completes.
 *   nccl-hang  workers A and B, learner.dtype = bf16 (the AdamW pass's bf16
 *         copy goes out). B stops itself (SIGSTOP) when version 1 lands,
 *         before it acknowledges: alive to TCP, silent to everyone. The
 *         learner must report "did not acknowledge version 1" within the
 *         weight sync timeout + 3 s, which is shorter than the peer timeout
 *         (so it is weight sync's own timeout that fires, not the
 *         heartbeats), then, once B is written off as silent, go on with a
 *         communicator of A alone. The run completes.
 *   ipc   one worker A on the learner's GPU, learner.dtype = fp32. Once A
 *         holds version 2 it is killed: the learner must report it within
 *         the kill bound (slots released); worker D starts and gets the
 *         newest version from a slot, then the rest. The run completes.
 *
 * On a GPU machine the NCCL part needs a GPU per process (NCCL refuses two
 * ranks on one device): with fewer than 3 it is skipped. In the CPU
 * emulation (cudasim, _sim) every process has its own emulated device and
 * NCCL runs over TCP; CUDASIM_NCCL_TIMEOUT_S is set to the weight sync
 * timeout, because the emulation's broadcast blocks inside ncclBroadcast
 * instead of returning to the caller's polling.
 *
 * Exits 77 (skipped) without a usable GPU. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "core/transport.h"
#include "learner/learn_gpu.h"
#include "learner/server.h"
#include "model/checkpoint.h"
#include "model/tokenizer.h"
#include "rewards/advantage.h"
#include "rewards/reward.h"
#include "rollout/worker.h"
#include "testing.h"
#include "verifiers/pool.h"

#ifndef RLVR_CUDA_SIM
#include "model/cuda/device.h"
#endif

enum { MAX_WORKERS = 4, MAX_VERSIONS = 16 };

/* One run of the learner and its workers with one fault. */
typedef struct {
  const char *name, *method, *learner_dtype;
  int steps;
  int peer_timeout_ms, wsync_timeout_ms;
  int hang;           /* 1: the victim stops itself when fault_version lands, before acknowledging; 0: SIGKILL */
  int fault_version;  /* kill: once every worker holds it */
  int nworkers;       /* started at the beginning: wA (and wB) */
  const char *victim; /* wA or wB */
  const char *late;   /* started once the learner reported the fault; NULL = none */
  int cpu_worker;     /* also start wX with rollout.device = cpu: it must be refused and leave */
} spec;

static const spec SPECS[] = {
    {"nccl-kill", "nccl", "fp32", 4, 2000, 5000, 0, 2, 2, "wB", "wC", 0},
    {"nccl-hang", "nccl", "bf16", 3, 6000, 2000, 1, 1, 2, "wB", NULL, 1},
    {"ipc", "ipc", "fp32", 4, 2000, 5000, 0, 2, 1, "wA", "wD", 0},
};

static char self_exe[1024];
static char tmp_root[256];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void set(rlvr_config *c, const char *kv) {
  RLVR_CHECK(rlvr_config_set(c, kv) == RLVR_OK, "%s: %s", kv, rlvr_error_message());
}

/* The scenario's config file, read by the learner and the workers. */
static void write_config(const char *dir, const spec *sp, char *path, size_t cap) {
  snprintf(path, cap, "%s/config.lua", dir);
  FILE *f = fopen(path, "w");
  RLVR_CHECK(f, "%s", path);
  fprintf(f,
          "return {\n"
          "  run = {dir = '%s/run'},\n"
          "  log = {level = 'info'},\n"
          "  model = {path = 'tests/fixtures/models/tiny-qwen2'},\n"
          "  task = {source = 'arith', template = 'plain', heldout_size = 10, verifier = 'lowbytes'},\n"
          "  sample = {temperature = 1.0, max_tokens = 8},\n"
          "  train = {steps = %d, prompts_per_step = 2, group_size = 4, eval = false, samples_per_step = 0},\n"
          "  optim = {lr = 0.003},\n"
          "  rollout = {max_groups = 1, slots = 4, device = 'cuda', dtype = 'bf16'},\n"
          "  verify = {workers = 1, paths = 'tests/learner/verifiers'},\n"
          "  transport = {peer_timeout_ms = %d, heartbeat_ms = 200},\n"
          "  checkpoint = {keep = 1},\n"
          "  learner = {endpoint = 'tcp://127.0.0.1:*', device = 'cuda', dtype = '%s', weight_sync = '%s',\n"
          "             weight_sync_timeout_ms = %d, weight_sync_bucket_bytes = 65536},\n"
          "}\n",
          dir, sp->steps, sp->peer_timeout_ms, sp->learner_dtype, sp->method, sp->wsync_timeout_ms);
  fclose(f);
}

/* ---- the worker process (--worker CONFIG ENDPOINT ID OUTPREFIX STOP_AT|cpu) ---- */

typedef struct {
  const char *prefix;
  size_t n;
  uint16_t *buf;
  int64_t stop_at; /* stop this process when this version lands (before the ack); -1 never */
} dump_ctx;

/* After each version lands: the bf16 weights the GPU decodes with. */
static void dump_version(void *ctx, rlvr_worker *w, uint64_t version) {
  dump_ctx *d = ctx;
  RLVR_CHECK(rlvr_worker_download_bf16(w, d->buf) == RLVR_OK, "%s", rlvr_error_message());
  uint64_t held;
  RLVR_CHECK(rlvr_worker_version(w, &held) && held == version);
  char path[600];
  snprintf(path, sizeof path, "%s.v%" PRIu64, d->prefix, version);
  RLVR_CHECK(rlvr_file_write_atomic(path, d->buf, d->n * sizeof *d->buf) == RLVR_OK, "%s", rlvr_error_message());
  if ((int64_t)version == d->stop_at) {
    fprintf(stderr, "test worker: version %" PRIu64 " landed; stopping before the acknowledgement\n", version);
    raise(SIGSTOP);
  }
}

static int worker_main(const char *config, const char *endpoint, const char *id, const char *prefix, const char *opt) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  RLVR_CHECK(rlvr_config_load(&cfg, config) == RLVR_OK, "%s", rlvr_error_message());
  char kv[300];
  snprintf(kv, sizeof kv, "rollout.id=%s", id);
  set(&cfg, kv);
  const int64_t stop_at = strcmp(opt, "cpu") ? strtoll(opt, NULL, 10) : -1;
  if (!strcmp(opt, "cpu")) set(&cfg, "rollout.device=cpu");
  rlvr_log_set_level(RLVR_LOG_INFO);
  rlvr_model model;
  RLVR_CHECK(rlvr_model_load(cfg.model_path, &model) == RLVR_OK, "%s", rlvr_error_message());
  char tpath[600];
  snprintf(tpath, sizeof tpath, "%s/tokenizer.json", cfg.model_path);
  rlvr_tokenizer *tok;
  RLVR_CHECK(rlvr_tokenizer_load(tpath, &tok) == RLVR_OK, "%s", rlvr_error_message());
  int32_t eos[RLVR_MAX_EOS + 1];
  int neos = 0;
  for (int i = 0; i < model.cfg.num_eos; i++) eos[neos++] = model.cfg.eos_token_ids[i];
  const int32_t t = rlvr_tokenizer_eos_id(tok);
  if (t >= 0) eos[neos++] = t;
  rlvr_reward_config rcfg;
  rlvr_advantage_config acfg;
  rlvr_verify_options vo;
  rlvr_transport_options to;
  RLVR_CHECK(rlvr_reward_config_from(&cfg, &rcfg) == RLVR_OK && rlvr_advantage_config_from(&cfg, &acfg) == RLVR_OK &&
                 rlvr_verify_options_from_config(&vo, &cfg, "verifiers") == RLVR_OK,
             "%s", rlvr_error_message());
  rlvr_transport_options_from_config(&to, &cfg);
  rlvr_worker_options wo;
  RLVR_CHECK(rlvr_worker_options_from_config(&wo, &cfg, &model.cfg) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_verify_pool *pool = NULL;
  RLVR_CHECK(rlvr_pool_build(&pool, &vo) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_worker_deps deps = {.model = &model, .tok = tok, .eos = eos, .neos = neos, .pool = pool, .reward = rcfg,
                           .advantage = acfg};
  rlvr_worker *w = rlvr_worker_build(&wo, &deps);
  dump_ctx d = {.prefix = prefix, .n = model.num_params, .buf = xmalloc(model.num_params * sizeof(uint16_t)),
                .stop_at = stop_at};
  rlvr_worker_set_on_version(w, dump_version, &d);
  static volatile sig_atomic_t stop = 0;
  void *zctx = zmq_ctx_new();
  const int rc = rlvr_worker_run(w, zctx, endpoint, &to, &stop);
  if (rc) fprintf(stderr, "worker %s: %s\n", id, rlvr_error_message());
  rlvr_worker_free(w);
  zmq_ctx_term(zctx);
  rlvr_pool_free(pool);
  free(d.buf);
  rlvr_tokenizer_free(tok);
  rlvr_model_free(&model);
  rlvr_config_free(&cfg);
  return rc ? 1 : 0;
}

/* ---- the learner side ---- */

typedef struct {
  char id[16];
  pid_t pid;
  int faulted; /* killed or stopped by the scenario */
} child;

typedef struct {
  const spec *sp;
  char dir[400], config[600];
  int ipc;
  child kids[MAX_WORKERS];
  int nkids;
  int gpus;         /* real GPUs to spread NCCL workers over; 0 = emulation */
  int64_t last_ref; /* version of the last reference written; -1 none */
  size_t nparams;
  uint16_t *ref;
  char endpoint[512];
  /* the fault: 0 before, 1 done (t_fault), 2 reported (t_detect), 3 recovered (t_recover) */
  int phase;
  double t_fault, t_detect, t_recover;
  int64_t failures0, joins0;
  char detect_error[512];
} scenario;

static void spawn(scenario *sc, const char *id, int cpu) {
  RLVR_CHECK(sc->nkids < MAX_WORKERS);
  child *c = &sc->kids[sc->nkids];
  memset(c, 0, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", id);
  /* NCCL on GPUs: the learner has GPU 0, each worker another */
  const int gpu = sc->gpus >= 3 && !sc->ipc ? 1 + sc->nkids % (sc->gpus - 1) : -1;
  char prefix[600], log[600], stop_at[32];
  snprintf(prefix, sizeof prefix, "%s/%s", sc->dir, id);
  snprintf(log, sizeof log, "%s/%s.log", sc->dir, id);
  snprintf(stop_at, sizeof stop_at, "%d", sc->sp->hang && !strcmp(id, sc->sp->victim) ? sc->sp->fault_version : -1);
  if (cpu) snprintf(stop_at, sizeof stop_at, "cpu");
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  RLVR_CHECK(pid >= 0);
  if (pid == 0) {
    const int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    if (gpu >= 0) {
      char g[16];
      snprintf(g, sizeof g, "%d", gpu);
      setenv("CUDA_VISIBLE_DEVICES", g, 1);
    }
    execl(self_exe, self_exe, "--worker", sc->config, sc->endpoint, id, prefix, stop_at, (char *)NULL);
    _exit(127);
  }
  c->pid = pid;
  sc->nkids++;
  printf("  started worker %s (pid %d)\n", id, (int)pid);
}

static child *kid(scenario *sc, const char *id) {
  for (int i = 0; i < sc->nkids; i++)
    if (!strcmp(sc->kids[i].id, id)) return &sc->kids[i];
  RLVR_CHECK(0, "no worker %s", id);
  return NULL;
}

static int on_bound(void *ctx, const char *endpoint) {
  scenario *sc = ctx;
  snprintf(sc->endpoint, sizeof sc->endpoint, "%s", endpoint);
  spawn(sc, "wA", 0);
  if (sc->sp->nworkers > 1) spawn(sc, "wB", 0);
  if (sc->sp->cpu_worker) spawn(sc, "wX", 1);
  return RLVR_OK;
}

static int has_file(const scenario *sc, const char *id, uint64_t v) {
  char path[700];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s.v%" PRIu64, sc->dir, id, v);
  return stat(path, &st) == 0;
}

/* Every loop of the learner: the reference of each new version, and the
 * fault: kill the victim once every worker holds the fault's version (or,
 * hang, note when that version went out), watch the learner report it,
 * start the late worker, watch it recover. */
static int each_loop(void *ctx, rlvr_server *s) {
  scenario *sc = ctx;
  const spec *sp = sc->sp;
  rlvr_learner *L = rlvr_server_learner(s);
  const uint64_t v = rlvr_learner_version(L);
  if ((int64_t)v != sc->last_ref) {
    const rlvr_model *m = rlvr_learner_model(L);
    for (size_t i = 0; i < sc->nparams; i++) sc->ref[i] = rlvr_f32_to_bf16(m->params_memory[i]);
    char path[600];
    snprintf(path, sizeof path, "%s/ref.v%" PRIu64, sc->dir, v);
    RLVR_CHECK(rlvr_file_write_atomic(path, sc->ref, sc->nparams * 2) == RLVR_OK);
    sc->last_ref = (int64_t)v;
  }
  rlvr_wsync_hub_stats st;
  rlvr_wsync_hub_get_stats(rlvr_server_wsync(s), &st);
  const double t = now_s();
  const int others = sc->ipc ? 0 : sp->nworkers - 1;
  if (sc->phase == 0) {
    int ready = v >= (uint64_t)sp->fault_version;
    for (int i = 0; i < sc->nkids && ready && !sp->hang; i++)
      ready = !strcmp(sc->kids[i].id, "wX") || has_file(sc, sc->kids[i].id, v);
    if (ready) {
      child *c = kid(sc, sp->victim);
      c->faulted = 1;
      if (!sp->hang) kill(c->pid, SIGKILL);
      sc->t_fault = t;
      sc->failures0 = st.failures;
      sc->joins0 = st.joins;
      sc->phase = 1;
      printf("  version %" PRIu64 ": %s worker %s (pid %d)\n", v,
             sp->hang ? "went out; it stops itself on landing," : "killed", c->id, (int)c->pid);
    }
  } else if (sc->phase == 1) {
    if (st.failures > sc->failures0) {
      sc->t_detect = t;
      snprintf(sc->detect_error, sizeof sc->detect_error, "%s", st.last_error);
      printf("  %.2f s after the fault the learner reported: %s\n", t - sc->t_fault, st.last_error);
      sc->phase = 2;
    }
  } else if (sc->phase == 2) {
    /* recovered: the others in a new communicator; IPC: no reader left */
    if (st.members == others && (sc->ipc || st.joins > sc->joins0)) {
      sc->t_recover = t;
      printf("  %.2f s after the fault the learner goes on with %d worker%s\n", t - sc->t_fault, others,
             others == 1 ? "" : "s");
      if (sp->late) spawn(sc, sp->late, 0);
      sc->phase = 3;
    }
  }
  if (sc->phase > 0 && sc->phase < 3 && t - sc->t_fault > 60) {
    fprintf(stderr, "FAIL: 60 s after the fault the learner has not recovered (phase %d; failures %" PRId64
                    ", members %d, joins %" PRId64 ", last error '%s')\n",
            sc->phase, st.failures, st.members, st.joins, st.last_error);
    return RLVR_ERR_TIMEOUT;
  }
  return RLVR_OK;
}

/* Compares every version file of worker id with the learner's, and checks
 * that it holds a contiguous run of versions from at most want_first to at
 * least want_last (exactly want_last with need_last: the run's final one). */
static void check_worker(scenario *sc, const char *id, uint64_t want_first, uint64_t want_last, int need_last) {
  int64_t first = -1, last = -1;
  int count = 0, same = 0;
  for (uint64_t v = 0; v < MAX_VERSIONS; v++) {
    if (!has_file(sc, id, v)) continue;
    if (first < 0) first = (int64_t)v;
    last = (int64_t)v;
    count++;
    char wp[700], rp[700];
    snprintf(wp, sizeof wp, "%s/%s.v%" PRIu64, sc->dir, id, v);
    snprintf(rp, sizeof rp, "%s/ref.v%" PRIu64, sc->dir, v);
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    const int ra = rlvr_file_read(wp, &a, &na), rb = rlvr_file_read(rp, &b, &nb);
    size_t diff = 0;
    const size_t n = na / 2;
    const uint16_t *x = (const uint16_t *)a, *y = (const uint16_t *)b;
    for (size_t i = 0; ra == RLVR_OK && rb == RLVR_OK && na == nb && i < n; i++) diff += x[i] != y[i];
    const int ok = ra == RLVR_OK && rb == RLVR_OK && na == nb && na == sc->nparams * 2 && diff == 0;
    printf("  %s %s version %" PRIu64 ": %zu bf16 values, %zu differ from the learner's\n", ok ? "ok  " : "FAIL", id,
           v, n, diff);
    CHECK_MSG(ok, "%s version %" PRIu64 " (read %d/%d, %zu and %zu bytes)", id, v, ra, rb, na, nb);
    same += ok;
    free(a);
    free(b);
  }
  const int gaps = first < 0 ? 0 : (int)(last - first + 1) - count;
  printf("  %s held versions %" PRId64 "..%" PRId64 ": %d compared, %d identical, %d missing between\n", id, first,
         last, count, same, gaps);
  CHECK_MSG(first >= 0 && (uint64_t)first <= want_first, "%s's first version %" PRId64 ", want <= %" PRIu64, id, first,
            want_first);
  CHECK_MSG(gaps == 0, "%s missed versions", id);
  CHECK_MSG(last >= (int64_t)want_last, "%s's last version %" PRId64 ", want >= %" PRIu64, id, last, want_last);
  if (need_last) CHECK_MSG(last == (int64_t)want_last, "%s's last version %" PRId64 " is not the run's", id, last);
}

static void print_log(const scenario *sc, const char *id) {
  char log[600], *text = NULL;
  size_t n;
  snprintf(log, sizeof log, "%s/%s.log", sc->dir, id);
  if (rlvr_file_read(log, &text, &n) == RLVR_OK) fprintf(stderr, "---- %s\n%s----\n", log, text);
  free(text);
}

static void run_scenario(const spec *sp, int gpus) {
  printf("-- %s: GRPO with %s weight sync, learner.dtype %s, %d steps\n", sp->name, sp->method, sp->learner_dtype,
         sp->steps);
  scenario sc;
  memset(&sc, 0, sizeof sc);
  sc.sp = sp;
  sc.ipc = !strcmp(sp->method, "ipc");
  sc.gpus = gpus;
  sc.last_ref = -1;
  snprintf(sc.dir, sizeof sc.dir, "%s/%s", tmp_root, sp->name);
  RLVR_CHECK(rlvr_mkdirs(sc.dir) == RLVR_OK);
  write_config(sc.dir, sp, sc.config, sizeof sc.config);
  /* the emulation's own I/O timeout of a broadcast (header) */
  char env[32];
  snprintf(env, sizeof env, "%d", (sp->wsync_timeout_ms + 999) / 1000);
  setenv("CUDASIM_NCCL_TIMEOUT_S", env, 1);
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  RLVR_CHECK(rlvr_config_load(&cfg, sc.config) == RLVR_OK, "%s", rlvr_error_message());
  {
    rlvr_model m;
    RLVR_CHECK(rlvr_model_load(cfg.model_path, &m) == RLVR_OK);
    sc.nparams = m.num_params;
    rlvr_model_free(&m);
  }
  sc.ref = xmalloc(sc.nparams * sizeof *sc.ref);
  rlvr_server_options o = {
      .cfg = &cfg,
      .env = {.tasks_dir = "tasks", .chat_templates_dir = "model/templates", .progress = 0},
      .endpoint = cfg.learner_endpoint,
      .on_bound = on_bound,
      .each_loop = each_loop,
      .ctx = &sc,
  };
  rlvr_server_result res;
  const double t0 = now_s();
  const int rc = rlvr_learner_serve(&o, &res);
  const double t1 = now_s();
  if (rc) fprintf(stderr, "learner: %s\n", rlvr_error_message());
  CHECK_MSG(rc == RLVR_OK, "the learner ended with %d", rc);
  CHECK_MSG(res.version == sp->steps, "the run made %" PRId64 " of %d versions", res.version, sp->steps);
  printf("  run: %" PRId64 " steps in %.1f s, %" PRId64 " workers seen\n", res.version, t1 - t0, res.workers_seen);
  /* the workers leave on the learner's shutdown; the stopped one is killed */
  for (int i = 0; i < sc.nkids; i++) {
    child *c = &sc.kids[i];
    if (c->faulted && sp->hang) kill(c->pid, SIGKILL);
    int status = 0;
    pid_t p = 0;
    for (double until = now_s() + 30; (p = waitpid(c->pid, &status, WNOHANG)) == 0 && now_s() < until;)
      usleep(20000);
    if (p == 0) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &status, 0);
    }
    const int ok = c->faulted ? WIFSIGNALED(status) : (p == c->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_MSG(ok, "worker %s: status 0x%x%s", c->id, status, p == 0 ? " (did not leave: killed)" : "");
    if (!ok) print_log(&sc, c->id);
  }
  /* the references: every version changed the weights */
  for (int v = 1; v <= sp->steps; v++) {
    char pa[700], pb[700], *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, changed = 0;
    snprintf(pa, sizeof pa, "%s/ref.v%d", sc.dir, v - 1);
    snprintf(pb, sizeof pb, "%s/ref.v%d", sc.dir, v);
    if (rlvr_file_read(pa, &a, &na) == RLVR_OK && rlvr_file_read(pb, &b, &nb) == RLVR_OK && na == nb)
      for (size_t i = 0; i < na / 2; i++) changed += ((uint16_t *)a)[i] != ((uint16_t *)b)[i];
    printf("  learner version %d: %zu of %zu bf16 values changed\n", v, changed, sc.nparams);
    CHECK_MSG(changed > 0, "version %d did not change the bf16 weights", v);
    free(a);
    free(b);
  }
  /* the fault: reported in time, naming the worker, and recovered from */
  CHECK_MSG(sc.phase == 3, "%s: the fault was not run to the end (phase %d)", sp->name, sc.phase);
  if (sc.phase >= 2) {
    const double dt = sc.t_detect - sc.t_fault;
    /* a kill: the heartbeat or the transfer notices; a hang: weight sync's
     * own timeout, before the heartbeats would (peer timeout) */
    const double bound = sp->hang ? sp->wsync_timeout_ms / 1000.0 + 3.0
                                  : (sp->peer_timeout_ms + sp->wsync_timeout_ms) / 1000.0 + 5.0;
    printf("  %s the learner reported the fault after %.2f s (bound %.1f s)\n", dt <= bound ? "ok  " : "FAIL", dt,
           bound);
    CHECK(dt <= bound);
    if (sp->hang) CHECK(bound < sp->peer_timeout_ms / 1000.0);
    CHECK_MSG(strstr(sc.detect_error, sp->victim) != NULL, "the report does not name %s: %s", sp->victim,
              sc.detect_error);
    if (sp->hang) {
      char want[64];
      snprintf(want, sizeof want, "did not acknowledge version %d", sp->fault_version);
      CHECK_MSG(strstr(sc.detect_error, want) != NULL, "the report is not '%s': %s", want, sc.detect_error);
    }
  }
  /* every worker's every version against the learner's */
  const uint64_t last = (uint64_t)sp->steps, fv = (uint64_t)sp->fault_version;
  if (sc.ipc) {
    check_worker(&sc, "wA", 0, fv, 0);
    check_worker(&sc, "wD", last, last, 1);
  } else {
    check_worker(&sc, "wA", 0, last, 1);
    check_worker(&sc, "wB", 0, fv, 0);
    if (sp->late) check_worker(&sc, sp->late, last, last, 1);
  }
  if (sp->cpu_worker) {
    /* refused: told why, and left (its exit status is checked above) */
    char log[600], *text = NULL;
    size_t n;
    snprintf(log, sizeof log, "%s/wX.log", sc.dir);
    const int ok = rlvr_file_read(log, &text, &n) == RLVR_OK && strstr(text, "lacks the wsync capability") &&
                   strstr(text, "shutdown");
    printf("  %s the CPU worker wX was told it cannot take part, and left\n", ok ? "ok  " : "FAIL");
    CHECK(ok);
    CHECK_MSG(!has_file(&sc, "wX", 0), "the CPU worker got GPU weights");
    free(text);
  }
  if (test_failures)
    for (int i = 0; i < sc.nkids; i++) print_log(&sc, sc.kids[i].id);
  free(sc.ref);
  rlvr_config_free(&cfg);
}

/* The config check (learn_gpu.h): what nccl and ipc need, each refusal
 * naming the key (needs a device: learner.device = cuda must pass first). */
static void check_config(void) {
  static const struct {
    const char *sets[3];
    const char *key; /* NULL: accepted */
  } cases[] = {
      {{NULL}, NULL},
      {{"learner.weight_sync=ipc"}, NULL},
      {{"learner.weight_sync=zmq", "rollout.device=cpu", "rollout.dtype=fp32"}, NULL},
      {{"learner.weight_sync=gloo"}, "'learner.weight_sync'"},
      {{"learner.device=cpu"}, "learner.device = \"cuda\""},
      {{"rollout.device=cpu"}, "rollout.device = \"cuda\""},
      {{"rollout.dtype=fp32"}, "rollout.dtype must be \"bf16\""},
      {{"learner.weight_sync=ipc", "rollout.dtype=fp32"}, "rollout.dtype must be \"bf16\""},
      {{"learner.weight_sync_timeout_ms=0"}, "'learner.weight_sync_timeout_ms'"},
      {{"learner.weight_sync_bucket_bytes=1000"}, "'learner.weight_sync_bucket_bytes'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rlvr_config c;
    rlvr_config_init(&c);
    set(&c, "learner.device=cuda");
    set(&c, "learner.weight_sync=nccl");
    set(&c, "rollout.device=cuda");
    set(&c, "rollout.dtype=bf16");
    char what[200] = "";
    for (int k = 0; k < 3 && cases[i].sets[k]; k++) {
      set(&c, cases[i].sets[k]);
      strncat(what, cases[i].sets[k], sizeof what - strlen(what) - 2);
      strcat(what, " ");
    }
    int use_gpu = 0;
    const int rc = rlvr_learn_gpu_check_config(&c, &use_gpu);
    const int ok = cases[i].key ? rc == RLVR_ERR_CONFIG && strstr(rlvr_error_message(), cases[i].key) != NULL
                                : rc == RLVR_OK;
    printf("  %s config nccl/cuda/bf16 + %s-> %s\n", ok ? "ok  " : "FAIL", what, rc ? rlvr_error_message() : "accepted");
    CHECK(ok);
    rlvr_config_free(&c);
  }
}

int main(int argc, char **argv) {
  if (argc == 7 && !strcmp(argv[1], "--worker"))
    return worker_main(argv[2], argv[3], argv[4], argv[5], argv[6]);
  char why[128];
  if (!rlvr_learn_gpu_available(why, sizeof why)) {
    printf("skipped: %s\n", why);
    return 77;
  }
  const ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  RLVR_CHECK(n > 0);
  self_exe[n] = 0;
  signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/rlvr_wsync_e2e_XXXXXX";
  RLVR_CHECK(mkdtemp(tmpl));
  snprintf(tmp_root, sizeof tmp_root, "%s", tmpl);
  printf("-- config\n");
  check_config();
  int gpus = 0;
#ifndef RLVR_CUDA_SIM
  gpus = rlvr_cuda_device_count();
#endif
  for (size_t i = 0; i < sizeof SPECS / sizeof *SPECS; i++) {
    if (strcmp(SPECS[i].method, "ipc") && gpus > 0 && gpus < 3) {
      printf("-- %s: SKIP (%d GPU%s: NCCL needs one GPU per process, the learner's and two workers')\n", SPECS[i].name,
             gpus, gpus == 1 ? "" : "s");
      continue;
    }
    run_scenario(&SPECS[i], gpus);
  }
  if (!test_failures) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", tmp_root);
  } else {
    fprintf(stderr, "files kept in %s\n", tmp_root);
  }
  return test_done();
}
