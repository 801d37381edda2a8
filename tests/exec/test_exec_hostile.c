/* test_exec_hostile.c — the hostile programs of tests/exec/hostile/ against
 * the executor, in both isolation modes. Each must be contained (checked
 * from the host side: no file appears outside the scratch directory, no
 * process of the run survives it, no secret shows up in its output, the
 * interpreters are unchanged), must end with the expected status, and the
 * executor must run a normal program correctly right after.
 *
 * Destructive attempts are gated: kill_parent.py (which sends SIGKILL to the
 * parent, to this test, to -1 and to this test's process group) runs only
 * after kill_probe.py, sending signal 0 to the same targets (which delivers
 * nothing), showed that every one would be refused; overwrite_interp.* runs
 * against the real interpreters only after a root-owned stand-in survived
 * the same attack and overwrite_probe.py (access(2) and an O_APPEND open that
 * writes nothing) showed every interpreter path read-only to the sandbox. A
 * gate that does not pass is a test failure, and the attack is not run. */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "testing.h"
#include "verifiers/exec.h"

static rlvr_exec_isolation mode;
static const char *mode_name;
static char cwd[1024];
static char secret[64]; /* random text in the environment and in the secret file */

static rlvr_exec_limits limits(int64_t timeout_ms) {
  rlvr_exec_limits l;
  rlvr_exec_default_limits(&l);
  l.timeout_ms = timeout_ms;
  l.isolation = mode;
  return l;
}

/* Runs tests/exec/hostile/<file>. */
static void run_file(const char *file, const char *in, const rlvr_exec_limits *l, rlvr_exec_result *r) {
  char path[256];
  snprintf(path, sizeof path, "tests/exec/hostile/%s", file);
  char *src = NULL;
  size_t len = 0;
  RLVR_CHECK(rlvr_file_read(path, &src, &len) == RLVR_OK, "%s", rlvr_error_message());
  rlvr_exec_lang lang = strstr(file, ".py") ? RLVR_EXEC_LANG_PYTHON : RLVR_EXEC_LANG_LUA;
  int rc = rlvr_exec_run(lang, src, len, in, in ? strlen(in) : 0, l, r);
  CHECK_MSG(rc == RLVR_OK, "[%s] %s: the sandbox failed: %s", mode_name, file, r->message);
  printf("[%s] %-22s %-13s exit %3d signal %2d  %6.0f ms  %s\n", mode_name, file, rlvr_exec_status_name(r->status),
         r->exit_code, r->signal, r->wall_ms, r->message);
  free(src);
}

/* Processes whose real uid is uid (0: not checked, the run had the caller's uid). */
static int count_uid_procs(unsigned uid) {
  if (uid == 0) return 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char p[300], line[256];
    snprintf(p, sizeof p, "/proc/%s/status", e->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "Uid:", 4)) {
        n += (unsigned)strtoul(line + 4, NULL, 10) == uid;
        break;
      }
    fclose(f);
  }
  closedir(d);
  return n;
}

/* No process of the run may outlive it (a fallback run's group gets
 * SIGKILL at its end; the kernel takes a moment to finish them). */
static void check_no_survivors(const char *file, const rlvr_exec_result *r) {
  int n = 0;
  for (int i = 0; i < 100; i++) {
    n = count_uid_procs(r->run_uid);
    if (!n) break;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  CHECK_MSG(n == 0, "[%s] %s: %d processes of uid %u survive the run", mode_name, file, n, r->run_uid);
}

/* The executor still serves: a normal program in each language. */
static void check_health(const char *after) {
  rlvr_exec_limits l = limits(20000);
  rlvr_exec_result r;
  rlvr_exec_run(RLVR_EXEC_LANG_PYTHON, "print(sum(range(10)))\n", 22, NULL, 0, &l, &r);
  CHECK_MSG(r.status == RLVR_EXEC_STATUS_OK && !strcmp(r.out, "45\n"), "[%s] python after %s: %s '%s' %s", mode_name,
            after, rlvr_exec_status_name(r.status), r.out, r.message);
  rlvr_exec_result_free(&r);
  rlvr_exec_run(RLVR_EXEC_LANG_LUA, "print(6*7)", 10, NULL, 0, &l, &r);
  CHECK_MSG(r.status == RLVR_EXEC_STATUS_OK && !strcmp(r.out, "42\n"), "[%s] lua after %s: %s '%s' %s", mode_name,
            after, rlvr_exec_status_name(r.status), r.out, r.message);
  rlvr_exec_result_free(&r);
}

static int has(const rlvr_exec_result *r, const char *needle) {
  return (r->out && strstr(r->out, needle)) || (r->err && strstr(r->err, needle));
}

static void expect_status(const char *file, const rlvr_exec_result *r, rlvr_exec_status a, rlvr_exec_status b) {
  CHECK_MSG(r->status == a || r->status == b, "[%s] %s: status %s, expected %s or %s (stderr %.300s)", mode_name,
            file, rlvr_exec_status_name(r->status), rlvr_exec_status_name(a), rlvr_exec_status_name(b), r->err);
}

static void test_resources(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(1000);
  const char *bombs[] = {"fork_bomb.py", "fork_bomb.lua"};
  for (int i = 0; i < 2; i++) {
    run_file(bombs[i], NULL, &l, &r);
    expect_status(bombs[i], &r, RLVR_EXEC_STATUS_TIMEOUT, RLVR_EXEC_STATUS_OUTPUT_LIMIT);
    CHECK_MSG(r.wall_ms < 4000, "[%s] %s took %.0f ms", mode_name, bombs[i], r.wall_ms);
    check_no_survivors(bombs[i], &r);
    rlvr_exec_result_free(&r);
    check_health(bombs[i]);
  }
  l = limits(500);
  const char *loops[] = {"infinite_loop.py", "infinite_loop.lua", "close_stdio_loop.py"};
  for (int i = 0; i < 3; i++) {
    run_file(loops[i], NULL, &l, &r);
    expect_status(loops[i], &r, RLVR_EXEC_STATUS_TIMEOUT, RLVR_EXEC_STATUS_TIMEOUT);
    CHECK_MSG(r.wall_ms >= 500 && r.wall_ms < 3000, "[%s] %s: %.0f ms", mode_name, loops[i], r.wall_ms);
    rlvr_exec_result_free(&r);
    check_health(loops[i]);
  }
  l = limits(10000);
  l.memory_bytes = 128ll << 20;
  l.nproc = 4;
  const char *mem[] = {"memory_bomb.py", "memory_bomb.lua"};
  for (int i = 0; i < 2; i++) {
    run_file(mem[i], NULL, &l, &r);
    /* MemoryError (error), or a kill; a timeout only if the machine is very busy. */
    CHECK_MSG(r.status == RLVR_EXEC_STATUS_ERROR || r.status == RLVR_EXEC_STATUS_KILLED ||
                  r.status == RLVR_EXEC_STATUS_TIMEOUT,
              "[%s] %s: status %s", mode_name, mem[i], rlvr_exec_status_name(r.status));
    CHECK_MSG(r.max_rss_kb < (128 << 10) + 1024, "[%s] %s: max rss %lld KiB", mode_name, mem[i],
              (long long)r.max_rss_kb);
    check_no_survivors(mem[i], &r);
    rlvr_exec_result_free(&r);
    check_health(mem[i]);
  }
  l = limits(10000);
  l.output_bytes = 64 << 10;
  const char *floods[] = {"output_flood.py", "output_flood.lua", "stderr_flood.py"};
  for (int i = 0; i < 3; i++) {
    run_file(floods[i], NULL, &l, &r);
    expect_status(floods[i], &r, RLVR_EXEC_STATUS_OUTPUT_LIMIT, RLVR_EXEC_STATUS_OUTPUT_LIMIT);
    CHECK(r.out_len <= (64 << 10) && r.err_len <= (64 << 10) && (r.out_truncated || r.err_truncated));
    rlvr_exec_result_free(&r);
    check_health(floods[i]);
  }
  l = limits(10000);
  run_file("background.py", NULL, &l, &r);
  expect_status("background.py", &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(r.wall_ms < 3000 && !strcmp(r.out, "main exits\n"), "[%s] background.py: %.0f ms '%s'", mode_name,
            r.wall_ms, r.out);
  check_no_survivors("background.py", &r);
  rlvr_exec_result_free(&r);
}

static void test_files(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(10000);
  /* Writes outside the scratch directory. */
  char paths[8][1200], in[8192] = "";
  int pid = (int)getpid();
  snprintf(paths[0], sizeof paths[0], "/tmp/rlvr-exec-escape-%d", pid);
  snprintf(paths[1], sizeof paths[1], "%s/tests/exec/ESCAPED-%d", cwd, pid);
  snprintf(paths[2], sizeof paths[2], "/dev/shm/rlvr-exec-escape-%d", pid);
  snprintf(paths[3], sizeof paths[3], "/var/tmp/rlvr-exec-escape-%d", pid);
  snprintf(paths[4], sizeof paths[4], "/usr/rlvr-exec-escape-%d", pid);
  snprintf(paths[5], sizeof paths[5], "/etc/rlvr-exec-escape-%d", pid);
  snprintf(paths[6], sizeof paths[6], "/root/rlvr-exec-escape-%d", pid);
  snprintf(paths[7], sizeof paths[7], "%s/rlvr-exec-escape-%d", cwd, pid);
  for (int i = 0; i < 8; i++) {
    strcat(in, paths[i]);
    strcat(in, "\n");
  }
  const char *writers[] = {"write_outside.py", "write_outside.lua"};
  for (int w = 0; w < 2; w++) {
    run_file(writers[w], in, &l, &r);
    expect_status(writers[w], &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_OK);
    for (int i = 0; i < 8; i++) {
      int exists = access(paths[i], F_OK) == 0;
      CHECK_MSG(!exists, "[%s] %s created %s on the host", mode_name, writers[w], paths[i]);
      if (exists) unlink(paths[i]);
    }
    printf("%s", r.out);
    rlvr_exec_result_free(&r);
    check_health(writers[w]);
  }

  /* Reading the host's files: a root-only secret, the source tree, system files. */
  char dir[] = "/tmp/rlvr-exec-secret-XXXXXX";
  RLVR_CHECK(mkdtemp(dir));
  char secret_path[128];
  snprintf(secret_path, sizeof secret_path, "%s/secret", dir);
  int fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  RLVR_CHECK(fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret));
  close(fd);
  snprintf(in, sizeof in, "%s\n%s\n%s/CMakeLists.txt\n%s/tests/verifiers/cases/code.jsonl\n%s\n/work\n/root\n"
           "/etc/shadow\n/proc/%d/environ\n/proc/%d/cmdline\n/proc/1/environ\n",
           secret_path, dir, cwd, cwd, cwd, pid, pid);
  const char *readers[] = {"read_files.py", "read_files.lua"};
  for (int w = 0; w < 2; w++) {
    run_file(readers[w], in, &l, &r);
    expect_status(readers[w], &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_OK);
    CHECK_MSG(!has(&r, secret), "[%s] %s read the 0600 secret", mode_name, readers[w]);
    CHECK_MSG(!has(&r, "reinforcement learning from verifiable rewards"), "[%s] %s read the source tree", mode_name,
              readers[w]);
    CHECK_MSG(!has(&r, "expect_score") && !has(&r, " DIR "), "[%s] %s listed or read host directories: %.2000s",
              mode_name, readers[w], r.out);
    CHECK_MSG(!has(&r, "test_exec_hostile"), "[%s] %s read this test's /proc entries", mode_name, readers[w]);
    rlvr_exec_result_free(&r);
    check_health(readers[w]);
  }

  /* The host's environment. */
  const char *envs[] = {"read_env.py", "read_env.lua"};
  for (int w = 0; w < 2; w++) {
    run_file(envs[w], NULL, &l, &r);
    CHECK_MSG(!has(&r, secret), "[%s] %s found the host's environment", mode_name, envs[w]);
    rlvr_exec_result_free(&r);
  }

  /* /proc shows only the sandbox (namespaces) or nothing (landlock). */
  run_file("proc_snoop.py", NULL, &l, &r);
  const char *v = strstr(r.out, "visible_pids=");
  int visible = v ? atoi(v + 13) : -1;
  CHECK_MSG(visible >= 0 && visible <= 2 && !has(&r, "test_exec_hostile"), "[%s] proc_snoop: %.300s", mode_name,
            r.out);
  rlvr_exec_result_free(&r);

  /* Cleanup must not follow links out of the scratch directory. */
  char canary_dir[] = "/tmp/rlvr-exec-canary-XXXXXX";
  RLVR_CHECK(mkdtemp(canary_dir));
  char canary[128];
  snprintf(canary, sizeof canary, "%s/canary", canary_dir);
  fd = open(canary, O_WRONLY | O_CREAT | O_EXCL, 0644);
  RLVR_CHECK(fd >= 0 && write(fd, "canary", 6) == 6);
  close(fd);
  char canary_in[160];
  snprintf(canary_in, sizeof canary_in, "%s\n", canary);
  run_file("cleanup_trap.py", canary_in, &l, &r);
  expect_status("cleanup_trap.py", &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_OK);
  CHECK(has(&r, "built"));
  char *got = NULL;
  size_t got_len = 0;
  CHECK_MSG(rlvr_file_read(canary, &got, &got_len) == RLVR_OK && got_len == 6 && !memcmp(got, "canary", 6),
            "[%s] the canary outside the scratch directory was damaged", mode_name);
  free(got);
  const char *s = strstr(r.out, "scratch=");
  if (mode == RLVR_EXEC_ISOLATION_RLIMITS && s) {
    char scratch[256];
    sscanf(s + 8, "%255s", scratch);
    CHECK_MSG(access(scratch, F_OK) != 0 && errno == ENOENT, "[%s] scratch %s was not removed", mode_name, scratch);
  }
  rlvr_exec_result_free(&r);
  unlink(canary);
  rmdir(canary_dir);
  unlink(secret_path);
  rmdir(dir);
  check_health("cleanup_trap.py");
}

static void test_network(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(10000);
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  RLVR_CHECK(tcp >= 0 && bind(tcp, (struct sockaddr *)&a, sizeof a) == 0 && listen(tcp, 8) == 0 &&
             getsockname(tcp, (struct sockaddr *)&a, &alen) == 0);
  int ux = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_un u = {0};
  u.sun_family = AF_UNIX;
  char uname[64];
  snprintf(uname, sizeof uname, "rlvr-exec-test-%d", (int)getpid());
  memcpy(u.sun_path + 1, uname, strlen(uname));
  RLVR_CHECK(ux >= 0 && bind(ux, (struct sockaddr *)&u, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(uname))) == 0 &&
             listen(ux, 8) == 0);
  char in[128];
  snprintf(in, sizeof in, "%d %s\n", ntohs(a.sin_port), uname);
  const char *progs[] = {"network.py", "network.lua"};
  for (int i = 0; i < 2; i++) {
    run_file(progs[i], in, &l, &r);
    CHECK_MSG(!has(&r, "=OK"), "[%s] %s reached the network: %s", mode_name, progs[i], r.out);
    int c1 = accept(tcp, NULL, NULL), c2 = accept(ux, NULL, NULL);
    CHECK_MSG(c1 < 0 && c2 < 0, "[%s] %s connected to the host's listeners", mode_name, progs[i]);
    if (c1 >= 0) close(c1);
    if (c2 >= 0) close(c2);
    printf("%s", r.out);
    rlvr_exec_result_free(&r);
    check_health(progs[i]);
  }
  close(tcp);
  close(ux);
}

static void test_syscalls(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(10000);
  run_file("escape_syscalls.py", NULL, &l, &r);
  expect_status("escape_syscalls.py", &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_OK);
  int lines = 0;
  for (const char *p = r.out; (p = strchr(p, '=')); p++) lines++;
  CHECK_MSG(lines >= 18 && !has(&r, "=OK"), "[%s] escape_syscalls: %s", mode_name, r.out);
  printf("%s", r.out);
  rlvr_exec_result_free(&r);
  check_health("escape_syscalls.py");
}

/* The value of "key=" in out, or "" (into buf). */
static const char *field(const char *out, const char *key, char *buf, size_t cap) {
  buf[0] = 0;
  char k[700];
  snprintf(k, sizeof k, "%s=", key);
  const char *p = strstr(out, k);
  if (p) sscanf(p + strlen(k), "%63s", buf);
  (void)cap;
  return buf;
}

static void test_signals(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(10000);
  char in[64], b[64];
  snprintf(in, sizeof in, "%d\n", (int)getpid());
  run_file("kill_probe.py", in, &l, &r);
  printf("%s", r.out);
  int ppid = atoi(field(r.out, "ppid", b, sizeof b));
  int g_ppid = !strcmp(field(r.out, "kill_ppid", b, sizeof b), "NOPPID") || !strcmp(b, "EPERM") || !strcmp(b, "ESRCH");
  int g_host = !strcmp(field(r.out, "kill_host", b, sizeof b), "EPERM") || !strcmp(b, "ESRCH");
  int g_all = !strcmp(field(r.out, "kill_all", b, sizeof b), "EPERM");
  int g_group = !strcmp(field(r.out, "kill_group", b, sizeof b), "EPERM");
  int g_own = !strcmp(field(r.out, "own_group", b, sizeof b), "1");
  int gate = r.status == RLVR_EXEC_STATUS_OK && g_ppid && g_host && g_all && g_group && g_own;
  CHECK_MSG(gate, "[%s] kill_probe: signals would not be refused (ppid %d): %s", mode_name, ppid, r.out);
  rlvr_exec_result_free(&r);
  if (!gate) return; /* never send real signals without containment */
  snprintf(in, sizeof in, "%d %d\n", (int)getpid(), (int)getpgid(0));
  run_file("kill_parent.py", in, &l, &r);
  /* We are still here; the run ended by its own group kill (outside a PID
   * namespace) or survived it (PID 1 ignores signals from its namespace). */
  expect_status("kill_parent.py", &r, RLVR_EXEC_STATUS_OK, RLVR_EXEC_STATUS_KILLED);
  CHECK_MSG(!has(&r, "=OK\n") || mode == RLVR_EXEC_ISOLATION_NAMESPACES, "[%s] kill_parent: %s", mode_name, r.out);
  printf("%s", r.out);
  rlvr_exec_result_free(&r);
  check_health("kill_parent.py");
}

typedef struct {
  char path[256];
  struct stat st;
} stat_snap;

static int same_stat(const struct stat *a, const struct stat *b) {
  return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mode == b->st_mode &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void test_overwrite(void) {
  rlvr_exec_result r;
  rlvr_exec_limits l = limits(10000);
  /* 1. A root-owned stand-in in a directory of its own. */
  char dir[] = "/tmp/rlvr-exec-standin-XXXXXX";
  RLVR_CHECK(mkdtemp(dir));
  chmod(dir, 0755);
  char standin[128], in[1024];
  snprintf(standin, sizeof standin, "%s/interp", dir);
  int fd = open(standin, O_WRONLY | O_CREAT | O_EXCL, 0755);
  RLVR_CHECK(fd >= 0 && write(fd, "original", 8) == 8);
  close(fd);
  snprintf(in, sizeof in, "%s\n", standin);
  run_file("overwrite_interp.py", in, &l, &r);
  char *got = NULL;
  size_t got_len = 0;
  struct stat st;
  int standin_ok = rlvr_file_read(standin, &got, &got_len) == RLVR_OK && got_len == 8 && !memcmp(got, "original", 8) &&
                   stat(standin, &st) == 0 && (st.st_mode & 07777) == 0755;
  char extra[160];
  snprintf(extra, sizeof extra, "%s.new", standin);
  standin_ok = standin_ok && access(extra, F_OK) != 0;
  CHECK_MSG(standin_ok, "[%s] the stand-in interpreter was changed: %s", mode_name, r.out);
  free(got);
  rlvr_exec_result_free(&r);
  unlink(extra);
  snprintf(extra, sizeof extra, "%s.old", standin);
  unlink(extra);
  unlink(standin);
  rmdir(dir);
  if (!standin_ok) return;

  /* 2. The real interpreters, gated by the harmless probe. */
  char real_py[512];
  RLVR_CHECK(realpath("/usr/bin/python3", real_py));
  const char *targets[] = {real_py, "/usr/bin/python3", "/usr/bin/lua5.4"};
  stat_snap before[3];
  in[0] = 0;
  for (int i = 0; i < 3; i++) {
    snprintf(before[i].path, sizeof before[i].path, "%s", targets[i]);
    RLVR_CHECK(lstat(targets[i], &before[i].st) == 0);
    strcat(in, targets[i]);
    strcat(in, "\n");
  }
  run_file("overwrite_probe.py", in, &l, &r);
  int gate = r.status == RLVR_EXEC_STATUS_OK;
  for (int i = 0; i < 3; i++) {
    char key[600], b[64];
    snprintf(key, sizeof key, "access:%s", targets[i]);
    gate = gate && !strcmp(field(r.out, key, b, sizeof b), "0");
    snprintf(key, sizeof key, "diraccess:%s", targets[i]);
    gate = gate && !strcmp(field(r.out, key, b, sizeof b), "0");
    snprintf(key, sizeof key, "append:%s", targets[i]);
    gate = gate && b[0] && strcmp(field(r.out, key, b, sizeof b), "OK") != 0 && b[0];
  }
  CHECK_MSG(gate, "[%s] overwrite_probe: the interpreters look writable from the sandbox: %s", mode_name, r.out);
  rlvr_exec_result_free(&r);
  if (!gate) return; /* never attack the real interpreters without containment */
  const char *attackers[] = {"overwrite_interp.py", "overwrite_interp.lua"};
  for (int a = 0; a < 2; a++) {
    run_file(attackers[a], in, &l, &r);
    CHECK_MSG(!has(&r, "=OK"), "[%s] %s: %s", mode_name, attackers[a], r.out);
    for (int i = 0; i < 3; i++) {
      struct stat now;
      CHECK_MSG(lstat(targets[i], &now) == 0 && same_stat(&now, &before[i].st), "[%s] %s changed %s", mode_name,
                attackers[a], targets[i]);
    }
    rlvr_exec_result_free(&r);
    check_health(attackers[a]);
  }
}

int main(void) {
  RLVR_CHECK(getcwd(cwd, sizeof cwd));
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  snprintf(secret, sizeof secret, "rlvr-secret-%08x%08x", (unsigned)rand(), (unsigned)rand());
  setenv("RLVR_EXEC_TEST_SECRET", secret, 1);
  const char *why = NULL;
  rlvr_exec_isolation auto_mode = rlvr_exec_probe(&why);
  rlvr_exec_isolation modes[2] = {RLVR_EXEC_ISOLATION_NAMESPACES, RLVR_EXEC_ISOLATION_RLIMITS};
  for (int m = 0; m < 2; m++) {
    mode = modes[m];
    mode_name = m == 0 ? "namespaces" : "rlimits";
    if (mode == RLVR_EXEC_ISOLATION_NAMESPACES && auto_mode != RLVR_EXEC_ISOLATION_NAMESPACES) {
      printf("skipping namespaces: %s\n", why);
      continue;
    }
    int before = test_failures;
    test_signals();
    test_syscalls();
    test_files();
    test_network();
    test_resources();
    test_overwrite();
    printf("%s: %s\n", mode_name, test_failures == before ? "ok" : "FAILED");
  }
  return test_done();
}
