/* runner.c — the run supervisor and the local runner; see runner.h. */
#include "experiments/runner.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rlvr_sweep_exec_exit_code(rlvr_run_state state) {
  switch (state) {
  case RLVR_RUN_DONE: return 0;
  case RLVR_RUN_STOPPED: return 128 + SIGTERM;
  default: return 1;
  }
}

/* ---- the supervisor ---------------------------------------------------- */

/* Signal handler state: the run's process group (0 before it starts) and
 * the first stop signal received. The handler passes SIGTERM on itself, so
 * a signal that arrives while the supervisor waits is never lost. */
static volatile sig_atomic_t sup_child = 0;
static volatile sig_atomic_t sup_stop = 0;

static void sup_on_signal(int sig) {
  /* The first stop signal goes on as SIGINT; later ones only when they are
   * SIGINT themselves (a second Ctrl-C: the run may then end at once). A
   * Slurm kill (requeue, preemption, scancel) sends SIGTERM to every process
   * of the job, the run included: passing on SIGINT rather than a second
   * SIGTERM keeps a run that stops on the first SIGTERM and dies on the
   * second (`rlvr train`, SA_RESETHAND) writing its checkpoint. */
  int forward = !sup_stop || sig == SIGINT;
  if (!sup_stop) sup_stop = sig;
  if (forward && sup_child > 0) kill(-(pid_t)sup_child, SIGINT);
}

static void set_handler(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: waitpid returns EINTR */
  sigaction(sig, &sa, NULL);
}

static void fill_slurm(rlvr_run_status *st) {
  const char *job = getenv("SLURM_JOB_ID"), *arr = getenv("SLURM_ARRAY_JOB_ID"), *task = getenv("SLURM_ARRAY_TASK_ID");
  const char *restarts = getenv("SLURM_RESTART_COUNT");
  st->slurm_job[0] = '\0';
  if (arr && task && job) snprintf(st->slurm_job, sizeof st->slurm_job, "%s_%s (job %s)", arr, task, job);
  else if (job) snprintf(st->slurm_job, sizeof st->slurm_job, "%s", job);
  st->slurm_restarts = restarts ? atoi(restarts) : 0;
}

/* Appends one line to the run's log (the attempt header, supervisor notes). */
static void log_line(int fd, const char *fmt, ...) RLVR_PRINTF(2, 3);
static void log_line(int fd, const char *fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
}

/* `scontrol requeue` of this Slurm job, so a run stopped before its time
 * limit continues in a new allocation. */
static void slurm_requeue_self(int logfd) {
  const char *job = getenv("SLURM_JOB_ID");
  if (!job) return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(logfd, 1);
    dup2(logfd, 2);
    execlp("scontrol", "scontrol", "requeue", job, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  log_line(logfd, "rlvr sweep: scontrol requeue %s: %s", job,
           pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "requeued" : "failed");
}

/* `rlvr train` exits 0 also when a signal stopped it early (from anywhere,
 * not only from this supervisor); its summary.json then says
 * "finished": false. A run without that file or field is judged by its
 * exit status alone. */
static int summary_unfinished(const rlvr_sweep_dir *d, int i) {
  char *path = rlvr_sweep_dir_path(d, i, "summary.json");
  char *text = NULL;
  size_t len;
  int unfinished = 0;
  if (rlvr_file_exists(path) && rlvr_file_read(path, &text, &len) == RLVR_OK) {
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "finished");
    unfinished = cJSON_IsFalse(f);
    cJSON_Delete(o);
    free(text);
  }
  free(path);
  return unfinished;
}

int rlvr_sweep_exec(const rlvr_sweep_dir *d, int i, char **command, int ncommand, char **extra, int nextra,
                    rlvr_run_state *state) {
  const rlvr_sweep *s = d->sweep;
  RLVR_CHECK(i >= 0 && i < s->nruns);
  rlvr_run_status st;
  int rc = rlvr_run_status_read(d, i, &st);
  if (rc) return rc;
  if (st.state == RLVR_RUN_DONE) {
    *state = RLVR_RUN_DONE;
    rlvr_run_status_clear(&st);
    return RLVR_OK;
  }
  char *run_dir = rlvr_sweep_dir_path(d, i, NULL);
  char *config = rlvr_sweep_dir_path(d, i, "sweep_config.lua");
  char *log_path = rlvr_sweep_dir_path(d, i, "run.log");
  int resume = 0;
  if (st.attempts > 0) {
    if (!s->resume_when[0]) {
      resume = 1;
    } else {
      char *marker = rlvr_sweep_dir_path(d, i, s->resume_when);
      resume = rlvr_file_exists(marker);
      free(marker);
    }
  }

  /* The command line. */
  int argc = 0;
  if (!command || ncommand == 0) command = s->command, ncommand = s->ncommand;
  char **argv = xcalloc((size_t)(ncommand + 4 + 2 * nextra + 2), sizeof *argv);
  for (int k = 0; k < ncommand; k++) argv[argc++] = command[k];
  argv[argc++] = config;
  argv[argc++] = "--set";
  size_t rdn = strlen(run_dir) + 16;
  char *run_dir_set = xmalloc(rdn);
  snprintf(run_dir_set, rdn, "run.dir=%s", run_dir);
  argv[argc++] = run_dir_set;
  for (int k = 0; k < nextra; k++) argv[argc++] = "--set", argv[argc++] = extra[k];
  if (resume && s->resume_flag[0]) argv[argc++] = s->resume_flag;
  argv[argc] = NULL;

  int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logfd < 0) {
    rc = rlvr_error(RLVR_ERR_IO, "%s: %s", log_path, strerror(errno));
    goto out;
  }

  sup_stop = 0;
  sup_child = 0;
  set_handler(SIGTERM, sup_on_signal);
  set_handler(SIGINT, sup_on_signal);
  set_handler(SIGUSR1, sup_on_signal);

  free(st.log_tail);
  st.log_tail = NULL;
  st.state = RLVR_RUN_RUNNING;
  st.attempts++;
  st.resumed = resume && s->resume_flag[0];
  st.exit_code = -1;
  st.signal = 0;
  st.stop_signal = 0;
  st.supervisor_pid = getpid();
  st.pid = 0;
  gethostname(st.host, sizeof st.host - 1);
  st.started = now_s();
  st.finished = 0;
  fill_slurm(&st);
  if ((rc = rlvr_run_status_write(d, i, &st))) goto out;

  {
    char when[32];
    rlvr_sweep_now_iso(when, sizeof when);
    char cmdline[4096];
    size_t n = 0;
    for (int k = 0; k < argc && n < sizeof cmdline; k++)
      n += (size_t)snprintf(cmdline + n, sizeof cmdline - n, "%s%s", k ? " " : "", argv[k]);
    log_line(logfd, "==== rlvr sweep: %s attempt %d on %s at %s%s%s: %s", s->runs[i].name, st.attempts, st.host, when,
             st.slurm_job[0] ? ", slurm job " : "", st.slurm_job, cmdline);
  }

  pid_t pid = fork();
  if (pid < 0) {
    rc = rlvr_error(RLVR_ERR_IO, "fork: %s", strerror(errno));
    st.state = RLVR_RUN_FAILED;
    st.finished = now_s();
    rlvr_run_status_write(d, i, &st);
    goto out;
  }
  if (pid == 0) {
    /* The run: its own process group (the supervisor signals the group, and
     * a terminal's Ctrl-C reaches it only through the supervisor), default
     * signal dispositions, the log as stdout and stderr, no stdin. */
    setpgid(0, 0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    execvp(argv[0], argv);
    dprintf(2, "rlvr sweep: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  sup_child = (sig_atomic_t)pid;
  if (sup_stop) kill(-pid, SIGINT); /* a signal that came before the run existed */
  st.pid = pid;
  rlvr_run_status_write(d, i, &st);

  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      status = 0;
      break;
    }
  }
  sup_child = 0;
  st.finished = now_s();
  st.stop_signal = sup_stop;
  if (WIFEXITED(status)) st.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) st.signal = WTERMSIG(status);
  if (sup_stop) st.state = RLVR_RUN_STOPPED;
  else if (WIFEXITED(status) && st.exit_code == 0) st.state = summary_unfinished(d, i) ? RLVR_RUN_STOPPED : RLVR_RUN_DONE;
  else st.state = RLVR_RUN_FAILED;
  if (st.state == RLVR_RUN_STOPPED && !sup_stop)
    log_line(logfd, "rlvr sweep: %s exited 0, but its summary.json says finished: false (stopped early)",
             s->runs[i].name);
  if (sup_stop)
    log_line(logfd, "rlvr sweep: %s stopped by SIG%s (passed on as SIGINT)", s->runs[i].name,
             sigabbrev_np(sup_stop) ? sigabbrev_np(sup_stop) : "?");
  if (st.state != RLVR_RUN_DONE) st.log_tail = rlvr_sweep_file_tail(log_path, 20);
  rc = rlvr_run_status_write(d, i, &st);
  /* The state is on disk before the requeue, which ends this job. */
  if (sup_stop == SIGUSR1) slurm_requeue_self(logfd);

out:
  if (logfd >= 0) close(logfd);
  *state = st.state;
  rlvr_run_status_clear(&st);
  free(argv), free(run_dir_set), free(run_dir), free(config), free(log_path);
  return rc;
}

/* ---- liveness ---------------------------------------------------------- */

int rlvr_run_status_live(const rlvr_run_status *st) {
  if (st->state != RLVR_RUN_RUNNING || st->supervisor_pid <= 0) return 0;
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  if (strcmp(host, st->host) != 0) return 1;
  if (kill((pid_t)st->supervisor_pid, 0) != 0 && errno == ESRCH) return 0;
  /* A recycled pid: the process must be an rlvr sweep. */
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%lld/cmdline", (long long)st->supervisor_pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1; /* no /proc: trust kill() */
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  for (ssize_t k = 0; k < n; k += (ssize_t)strlen(buf + k) + 1)
    if (!strcmp(buf + k, "sweep")) return 1;
  return 0;
}

/* ---- the local runner -------------------------------------------------- */

enum { MAX_PARALLEL = 4096 };
/* Supervisor pids by slot, for the handler; 0 = free. */
static volatile sig_atomic_t loc_pids[MAX_PARALLEL];
static volatile sig_atomic_t loc_nslots = 0;
static volatile sig_atomic_t loc_stop = 0;

static void loc_on_signal(int sig) {
  if (!loc_stop) loc_stop = sig;
  for (int k = 0; k < loc_nslots; k++)
    if (loc_pids[k] > 0) kill((pid_t)loc_pids[k], SIGTERM);
}

static void report(FILE *log, const char *fmt, ...) RLVR_PRINTF(2, 3);
static void report(FILE *log, const char *fmt, ...) {
  if (!log) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("rlvr sweep: ", log);
  vfprintf(log, fmt, ap);
  fputc('\n', log);
  fflush(log);
  va_end(ap);
}

/* Takes DIR/.lock (flock) for the runner's life; the fd stays open. */
static int take_lock(const rlvr_sweep_dir *d, int *fd_out) {
  size_t n = strlen(d->dir) + 8;
  char *path = xmalloc(n);
  snprintf(path, n, "%s/.lock", d->dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int rc = rlvr_error(RLVR_ERR_IO, "%s: %s", path, strerror(errno));
    free(path);
    return rc;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char other[32] = "";
    ssize_t got = pread(fd, other, sizeof other - 1, 0);
    if (got > 0) other[got] = '\0';
    close(fd);
    int rc = rlvr_error(RLVR_ERR_ARG, "another rlvr sweep runs this sweep now (%s holds %s)", other[0] ? other : "a process",
                        path);
    free(path);
    return rc;
  }
  char me[32];
  int len = snprintf(me, sizeof me, "pid %d", (int)getpid());
  if (ftruncate(fd, 0) == 0) {
    ssize_t w = pwrite(fd, me, (size_t)len, 0);
    (void)w;
  }
  free(path);
  *fd_out = fd;
  return RLVR_OK;
}

static void describe_end(const rlvr_sweep_dir *d, int i, FILE *log, rlvr_local_summary *sum, int started, int total) {
  rlvr_run_status st;
  const char *name = d->sweep->runs[i].name;
  if (rlvr_run_status_read(d, i, &st) != RLVR_OK) {
    report(log, "[%d/%d] %s: state unreadable: %s", started, total, name, rlvr_error_message());
    sum->failed++;
    return;
  }
  double secs = st.finished > st.started ? st.finished - st.started : 0;
  switch (st.state) {
  case RLVR_RUN_DONE:
    sum->done++;
    report(log, "done    %s (%.1f s)", name, secs);
    break;
  case RLVR_RUN_STOPPED:
    sum->stopped++;
    report(log, "stopped %s (SIG%s; resumable)", name, sigabbrev_np(st.stop_signal) ? sigabbrev_np(st.stop_signal) : "?");
    break;
  default: {
    sum->failed++;
    const char *last = st.log_tail ? strrchr(st.log_tail, '\n') : NULL;
    last = last ? last + 1 : (st.log_tail ? st.log_tail : "");
    if (st.signal)
      report(log, "failed  %s (killed by SIG%s after %.1f s): %s", name,
             sigabbrev_np(st.signal) ? sigabbrev_np(st.signal) : "?", secs, last);
    else report(log, "failed  %s (exit status %d after %.1f s): %s", name, st.exit_code, secs, last);
  }
  }
  rlvr_run_status_clear(&st);
}

int rlvr_sweep_run_local(const rlvr_sweep_dir *d, const int *which, int n, int parallel, FILE *log,
                         rlvr_local_summary *sum) {
  memset(sum, 0, sizeof *sum);
  if (parallel < 1) parallel = 1;
  if (parallel > MAX_PARALLEL) parallel = MAX_PARALLEL;
  int lockfd = -1;
  int rc = take_lock(d, &lockfd);
  if (rc) return rc;

  int *slot_run = xcalloc((size_t)parallel, sizeof *slot_run);
  for (int k = 0; k < parallel; k++) loc_pids[k] = 0;
  loc_nslots = parallel;
  loc_stop = 0;
  struct sigaction old_term, old_int, sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = loc_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);

  int next = 0, running = 0, started = 0;
  while (rc == RLVR_OK) {
    while (!loc_stop && running < parallel && next < n) {
      int i = which[next++];
      rlvr_run_status st;
      if ((rc = rlvr_run_status_read(d, i, &st))) break;
      int skip = st.state == RLVR_RUN_DONE || rlvr_run_status_live(&st);
      if (skip) {
        report(log, "skip    %s (%s)", d->sweep->runs[i].name,
               st.state == RLVR_RUN_DONE ? "done" : "another supervisor runs it");
        sum->skipped++;
      }
      rlvr_run_status_clear(&st);
      if (skip) continue;
      int slot = 0;
      while (loc_pids[slot] != 0) slot++;
      fflush(NULL);
      pid_t pid = fork();
      if (pid < 0) {
        rc = rlvr_error(RLVR_ERR_IO, "fork: %s", strerror(errno));
        break;
      }
      if (pid == 0) {
        loc_nslots = 0; /* this copy of the handler must not signal the siblings */
        rlvr_run_state end = RLVR_RUN_FAILED;
        int erc = rlvr_sweep_exec(d, i, NULL, 0, NULL, 0, &end);
        if (erc) dprintf(2, "rlvr sweep: %s: %s\n", d->sweep->runs[i].name, rlvr_error_message());
        _exit(erc ? 1 : rlvr_sweep_exec_exit_code(end));
      }
      loc_pids[slot] = (sig_atomic_t)pid;
      slot_run[slot] = i;
      running++;
      started++;
      if (loc_stop) kill(pid, SIGTERM);
      report(log, "start   %s [%d of %d, %d running]", d->sweep->runs[i].name, started, n - sum->skipped, running);
    }
    if (running == 0) break;
    int status;
    pid_t w = waitpid(-1, &status, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < parallel; k++)
      if (loc_pids[k] == (sig_atomic_t)w) {
        loc_pids[k] = 0;
        running--;
        describe_end(d, slot_run[k], log, sum, started, n);
      }
  }
  /* On an error above, the supervisors still running are stopped and reaped. */
  for (int k = 0; k < parallel; k++)
    if (loc_pids[k] > 0) {
      kill((pid_t)loc_pids[k], SIGTERM);
      int status;
      while (waitpid((pid_t)loc_pids[k], &status, 0) < 0 && errno == EINTR) {
      }
      describe_end(d, slot_run[k], log, sum, started, n);
      loc_pids[k] = 0;
    }
  if (loc_stop) report(log, "stopped by SIG%s: %d runs not started", sigabbrev_np(loc_stop) ? sigabbrev_np(loc_stop) : "?", n - next);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  loc_nslots = 0;
  free(slot_run);
  close(lockfd);
  return rc;
}
