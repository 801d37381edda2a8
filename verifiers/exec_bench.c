/* exec_bench.c — see exec_bench.h. */
#include "verifiers/exec_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "verifiers/exec.h"

extern char **environ;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const char *const lang_name[] = {"python", "lua"};
static const char *const interp[] = {"/usr/bin/python3", "/usr/bin/lua5.4"};
static const char *const program = "print(1)\n";

/* The peer: the bare interpreter, spawned with stdout on a pipe, output read
 * to EOF, exit status collected. Returns 0 on success. */
static int spawn_bare(rlvr_exec_lang lang, const char *path) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  char *argv_py[] = {(char *)interp[0], "-I", "-B", (char *)path, NULL};
  char *argv_lua[] = {(char *)interp[1], (char *)path, NULL};
  char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, interp[lang], &fa, NULL, lang == RLVR_EXEC_LANG_PYTHON ? argv_py : argv_lua, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return -1;
  }
  char buf[256];
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) got += (size_t)n;
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == 2 ? 0 : -1;
}

typedef struct {
  rlvr_exec_lang lang;
  int mode; /* -1: bare peer; else rlvr_exec_isolation */
  int runs;
  const char *path; /* bare: the program file */
  double *lat_ms;   /* runs latencies */
  int failures;
} job;

static void *job_main(void *p) {
  job *j = p;
  rlvr_exec_limits lim;
  rlvr_exec_default_limits(&lim);
  lim.timeout_ms = 20000;
  if (j->mode >= 0) lim.isolation = (rlvr_exec_isolation)j->mode;
  for (int i = 0; i < j->runs; i++) {
    double t0 = now_s();
    if (j->mode < 0) {
      j->failures += spawn_bare(j->lang, j->path) != 0;
    } else {
      rlvr_exec_result r;
      rlvr_exec_run(j->lang, program, strlen(program), NULL, 0, &lim, &r);
      j->failures += r.status != RLVR_EXEC_STATUS_OK || strcmp(r.out, "1\n") != 0;
      rlvr_exec_result_free(&r);
    }
    j->lat_ms[i] = (now_s() - t0) * 1e3;
  }
  return NULL;
}

/* Runs runs x threads programs; prints one row. */
static int measure(rlvr_exec_lang lang, int mode, const char *label, int runs, int threads, const char *path) {
  job *jobs = calloc((size_t)threads, sizeof *jobs);
  pthread_t *th = calloc((size_t)threads, sizeof *th);
  double *lat = calloc((size_t)runs * (size_t)threads, sizeof *lat);
  double t0 = now_s();
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job){lang, mode, runs, path, lat + (size_t)t * (size_t)runs, 0};
    pthread_create(&th[t], NULL, job_main, &jobs[t]);
  }
  int failures = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    failures += jobs[t].failures;
  }
  double secs = now_s() - t0;
  size_t n = (size_t)runs * (size_t)threads;
  qsort(lat, n, sizeof *lat, cmp_double);
  printf("%-7s %-26s %7d %8.1f %9.2f %9.2f %9.2f %6d\n", lang_name[lang], label, threads, (double)n / secs,
         lat[n / 2], lat[(size_t)(0.99 * (double)(n - 1))], lat[n - 1], failures);
  fflush(stdout);
  free(jobs);
  free(th);
  free(lat);
  return failures;
}

static void usage(FILE *f) {
  fprintf(f, "usage: rlvr bench exec [--runs N] [--threads T] [--mode auto|namespaces|rlimits|all]\n"
             "  runs per thread (default 100), concurrent threads (default 1), isolation modes (default all)\n");
}

int rlvr_exec_bench_main(int argc, char **argv) {
  int runs = 100, threads = 1;
  const char *mode = "all";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (runs < 1 || threads < 1 || threads > 256) {
    usage(stderr);
    return 2;
  }
  const char *why = NULL;
  rlvr_exec_isolation auto_mode = rlvr_exec_probe(&why);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  printf("exec bench: program print(1); %d runs x %d threads; %ld CPUs; AUTO = %s%s%s; landlock ABI %d\n", runs,
         threads, cpus, auto_mode == RLVR_EXEC_ISOLATION_NAMESPACES ? "namespaces" : "rlimits", *why ? ": " : "",
         why, rlvr_exec_landlock_abi());
  printf("%-7s %-26s %7s %8s %9s %9s %9s %6s\n", "lang", "isolation", "threads", "runs/s", "p50 ms", "p99 ms",
         "max ms", "fails");

  char dir[] = "/tmp/rlvr-exec-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    fprintf(stderr, "rlvr bench exec: mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  char path[2][128];
  for (int l = 0; l < 2; l++) {
    snprintf(path[l], sizeof path[l], "%s/main.%s", dir, l == 0 ? "py" : "lua");
    FILE *f = fopen(path[l], "w");
    if (f) {
      fputs(program, f);
      fclose(f);
    }
  }
  int failures = 0;
  for (int l = 0; l < 2; l++) {
    rlvr_exec_lang lang = (rlvr_exec_lang)l;
    if (access(interp[l], X_OK) != 0) {
      printf("%-7s (no %s)\n", lang_name[l], interp[l]);
      continue;
    }
    /* Warm the page cache and the executor's one-time set-up. */
    measure(lang, RLVR_EXEC_ISOLATION_AUTO, "(warm-up)", 3, 1, path[l]);
    failures += measure(lang, -1, "peer: bare posix_spawn", runs, threads, path[l]);
    int all = !strcmp(mode, "all");
    if ((all || !strcmp(mode, "namespaces")) && auto_mode == RLVR_EXEC_ISOLATION_NAMESPACES)
      failures += measure(lang, RLVR_EXEC_ISOLATION_NAMESPACES, "sandbox: namespaces", runs, threads, path[l]);
    if (all || !strcmp(mode, "rlimits"))
      failures += measure(lang, RLVR_EXEC_ISOLATION_RLIMITS,
                          rlvr_exec_landlock_abi() > 0 ? "sandbox: rlimits+landlock" : "sandbox: rlimits", runs,
                          threads, path[l]);
    if (!strcmp(mode, "auto"))
      failures += measure(lang, RLVR_EXEC_ISOLATION_AUTO, "sandbox: auto", runs, threads, path[l]);
  }
  unlink(path[0]);
  unlink(path[1]);
  rmdir(dir);
  return failures ? 1 : 0;
}
