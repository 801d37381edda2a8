/* exec.c — the sandboxed code executor (see exec.h and docs/executor.md).
 *
 * Shape of one run:
 *
 *   parent (rlvr_exec_run)                    child
 *   ----------------------                    -----
 *   memfds: source, stdin (sealed)
 *   pipes: stdout, stderr, report, sync
 *   clone(CLONE_NEW{USER,PID,NET,NS,IPC,UTS})  (or a plain fork for RLIMITS)
 *   write uid_map/gid_map  ---- sync byte ---> setsid, mounts, pivot_root,
 *                                              stdio, rlimits, drop caps,
 *                                              no_new_privs, (landlock),
 *                                              seccomp, execve
 *   poll: stdout, stderr (capped), report       (a set-up failure writes
 *         (set-up error or EOF at exec),         {step, errno} on the report
 *         pidfd (exit), wall-clock deadline      pipe and exits 127)
 *   kill(-pgid), wait4, remove scratch
 *
 * The child runs between clone and execve in a copy of a possibly
 * multithreaded process, so it calls only system calls (no malloc, no stdio):
 * every string it needs (paths, argv, envp, mount options) is prepared by the
 * parent before the clone, and the seccomp filter is compiled once to BPF.
 * Credentials are changed with raw syscalls: glibc's setresuid and friends
 * would try to synchronise with the parent's other threads, which do not
 * exist in the child, and hang.
 */
#include "verifiers/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/check.h"
#include "core/error.h"

/* ---------------------------------------------------------------------------
 * Constants
 * ------------------------------------------------------------------------- */

/* The new root is a tmpfs mounted (inside the child's private mount
 * namespace only) over this host directory, then pivoted into. */
#define NEWROOT "/tmp"

/* When the host runs as root, each run gets its own unprivileged uid/gid,
 * RUN_ID_BASE + (child pid mod 2^20): RLIMIT_NPROC then counts only that run's
 * processes, and two runs cannot signal each other. The range lies above
 * any uid a distribution hands out and below the 2^32 - 1 sentinel. */
#define RUN_ID_BASE 1500000000u
#define RUN_ID_MASK 0xFFFFFu

/* Landlock ABI values (linux/landlock.h; defined here because the
 * installed kernel headers may be older than the running kernel). */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_TRUNCATE (1ull << 14)
#define LL_FS_IOCTL_DEV (1ull << 15)
#define LL_NET_BIND_TCP (1ull << 0)
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)
#define LL_SCOPE_SIGNAL (1ull << 1)
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};
struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

/* Every file-system right the kernel's Landlock ABI knows. */
static uint64_t ll_fs_all(int abi) {
  uint64_t all = (1ull << 13) - 1; /* ABI 1: bits 0..12 */
  if (abi >= 2) all |= 1ull << 13; /* REFER */
  if (abi >= 3) all |= LL_FS_TRUNCATE;
  if (abi >= 5) all |= LL_FS_IOCTL_DEV;
  return all;
}

/* Steps of the child's set-up, reported with errno when one fails. */
enum {
  STEP_SYNC = 1,
  STEP_SETSID,
  STEP_MOUNT_PRIVATE,
  STEP_ROOT_TMPFS,
  STEP_ROOT_LAYOUT,
  STEP_BIND_USR,
  STEP_RO_USR,
  STEP_DEV,
  STEP_SCRATCH,
  STEP_PIVOT,
  STEP_RO_ROOT,
  STEP_CHDIR,
  STEP_SOURCE,
  STEP_STDIO,
  STEP_RLIMIT,
  STEP_SETUID,
  STEP_CAPS,
  STEP_NNP,
  STEP_LANDLOCK,
  STEP_SECCOMP,
  STEP_EXEC,
};

static const char *step_name(int step) {
  static const char *names[] = {
      "?",       "wait for the uid map",        "setsid",        "make mounts private",
      "mount the root tmpfs",   "lay out the new root", "bind /usr",      "make /usr read-only",
      "populate /dev",          "mount the scratch tmpfs", "pivot_root",  "make the root read-only",
      "chdir to scratch",       "write the source file", "set up stdio", "set rlimits",
      "drop to the run uid",    "drop capabilities",   "set no_new_privs", "apply landlock",
      "load the seccomp filter", "execve the interpreter",
  };
  if (step < 1 || step > STEP_EXEC) return names[0];
  return names[step];
}

/* ---------------------------------------------------------------------------
 * Process-wide state, initialised once
 * ------------------------------------------------------------------------- */

static char interp_path[RLVR_EXEC_LANG_COUNT][256] = {"/usr/bin/python3", "/usr/bin/lua5.4"};
static const char *const src_name[RLVR_EXEC_LANG_COUNT] = {"main.py", "main.lua"};

/* Top-level entries of the host root that the new root recreates: the merged
 * /usr layout makes these symlinks (bin -> usr/bin); older layouts have
 * directories, which are bind-mounted read-only instead. */
#define MAX_TOP 8
typedef struct {
  char path[32];        /* NEWROOT "/bin" */
  char host[16];        /* "/bin" */
  char target[64];      /* symlink target, when is_link */
  int is_link;
} top_entry;

static struct {
  pthread_once_t once;
  int ok;
  char why[256];
  struct sock_fprog filter;        /* every run */
  struct sock_fprog filter_strict; /* fallback runs with the caller's own uid (build_filter) */
  top_entry top[MAX_TOP];
  int ntop;
  int landlock_abi;
  int last_cap;
} G = {.once = PTHREAD_ONCE_INIT};

/* Namespaces: 0 not yet known, 1 work, 2 refused (ns_why says why). */
static atomic_int ns_state;
static char ns_why[256];
static pthread_mutex_t ns_mu = PTHREAD_MUTEX_INITIALIZER;

/* strict adds the calls that change the attributes of a file the run's uid
 * owns (mode, owner, times, extended attributes): Landlock does not govern
 * them, so a fallback run with the host's own uid (a non-root host) could
 * otherwise chmod the host user's files outside its scratch directory. */
static int build_filter(struct sock_fprog *prog, int strict, char *why, size_t whycap) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) {
    snprintf(why, whycap, "seccomp_init failed");
    return -1;
  }
  int rc = 0;
  /* no_new_privs is set by the child itself, before Landlock. */
  rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* System calls a candidate program has no business making. EPERM rather
   * than a kill, so that a program sees an error it can report. */
  static const char *const deny[] = {
      /* network (no socket can be made; the ones below guard inherited fds) */
      "socket", "connect", "bind", "listen", "accept", "accept4",
      /* reading or steering other processes */
      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
      /* file systems and namespaces */
      "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig",
      "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
      "name_to_handle_at", "quotactl", "quotactl_fd", "swapon", "swapoff",
      /* leaving the process group that the parent kills on timeout */
      "setsid", "setpgid",
      /* kernel attack surface without a use in a test program */
      "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
      "init_module", "finit_module", "delete_module", "reboot", "acct", "syslog", "iopl",
      "ioperm", "lookup_dcookie", "vhangup", "settimeofday", "clock_settime", "clock_adjtime",
      "adjtimex", "sethostname", "setdomainname", "personality", "uselib", "fanotify_init",
      "move_pages", "migrate_pages", "modify_ldt",
  };
  static const char *const deny_strict[] = {
      "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime",
      "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
      "lremovexattr", "fremovexattr",
  };
  for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++) {
    int nr = seccomp_syscall_resolve_name(deny[i]);
    if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture or this libseccomp */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  for (size_t i = 0; strict && i < sizeof deny_strict / sizeof deny_strict[0]; i++) {
    int nr = seccomp_syscall_resolve_name(deny_strict[i]);
    if (nr == __NR_SCMP_ERROR) continue;
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  /* New namespaces through clone(2): one rule per flag, since a rule can
   * only test (arg & mask) == datum. clone3 passes its flags in memory that
   * a filter cannot read: ENOSYS makes glibc fall back to clone. */
  static const uint64_t ns_flags[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
                                      CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP};
  for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  /* kill(pid < 0): a process group, or with -1 every process the sender may
   * signal. kill(0) (its own group) and positive pids stay allowed: inside a
   * PID namespace they can reach only the sandbox. pid_t is 32 bits, so only
   * bit 31 is tested, whatever the upper half of the register holds. */
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u, 0x80000000u));
  /* Terminal input injection, should a terminal ever be reachable. */
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, 0x5412u /* TIOCSTI */));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, 0x541Cu /* TIOCLINUX */));
  if (rc) {
    seccomp_release(ctx);
    snprintf(why, whycap, "seccomp rule set-up failed (%d)", rc);
    return -1;
  }
  int fd = memfd_create("rlvr-seccomp", MFD_CLOEXEC);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) {
    if (fd >= 0) close(fd);
    seccomp_release(ctx);
    snprintf(why, whycap, "seccomp_export_bpf failed");
    return -1;
  }
  seccomp_release(ctx);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0) {
    close(fd);
    snprintf(why, whycap, "seccomp filter has a bad size %lld", (long long)size);
    return -1;
  }
  struct sock_filter *f = xmalloc((size_t)size);
  ssize_t got = pread(fd, f, (size_t)size, 0);
  close(fd);
  if (got != size) {
    free(f);
    snprintf(why, whycap, "reading the seccomp filter back failed");
    return -1;
  }
  prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
  prog->filter = f;
  return 0;
}

static void init_once(void) {
  G.ok = 0;
  if (build_filter(&G.filter, 0, G.why, sizeof G.why) != 0) return;
  if (build_filter(&G.filter_strict, 1, G.why, sizeof G.why) != 0) return;
  static const char *const tops[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
  for (size_t i = 0; i < sizeof tops / sizeof tops[0] && G.ntop < MAX_TOP; i++) {
    struct stat st;
    if (lstat(tops[i], &st) != 0) continue;
    top_entry *t = &G.top[G.ntop];
    snprintf(t->host, sizeof t->host, "%s", tops[i]);
    snprintf(t->path, sizeof t->path, NEWROOT "%s", tops[i]);
    if (S_ISLNK(st.st_mode)) {
      ssize_t n = readlink(tops[i], t->target, sizeof t->target - 1);
      if (n <= 0) continue;
      t->target[n] = 0;
      t->is_link = 1;
    } else if (S_ISDIR(st.st_mode)) {
      t->is_link = 0;
    } else {
      continue;
    }
    G.ntop++;
  }
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  G.landlock_abi = abi > 0 ? (int)abi : 0;
  G.last_cap = CAP_LAST_CAP;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    int v;
    if (fscanf(f, "%d", &v) == 1 && v > 0 && v < 64) G.last_cap = v;
    fclose(f);
  }
  G.ok = 1;
}

int rlvr_exec_landlock_abi(void) {
  pthread_once(&G.once, init_once);
  return G.landlock_abi;
}

/* ---------------------------------------------------------------------------
 * Names, limits
 * ------------------------------------------------------------------------- */

const char *rlvr_exec_status_name(rlvr_exec_status s) {
  switch (s) {
    case RLVR_EXEC_STATUS_OK: return "ok";
    case RLVR_EXEC_STATUS_ERROR: return "error";
    case RLVR_EXEC_STATUS_KILLED: return "killed";
    case RLVR_EXEC_STATUS_TIMEOUT: return "timeout";
    case RLVR_EXEC_STATUS_OUTPUT_LIMIT: return "output-limit";
    case RLVR_EXEC_STATUS_SANDBOX_ERROR: return "sandbox-error";
  }
  return "?";
}

rlvr_exec_lang rlvr_exec_lang_from_name(const char *name) {
  if (!name) return RLVR_EXEC_LANG_COUNT;
  if (!strcmp(name, "python") || !strcmp(name, "python3") || !strcmp(name, "py"))
    return RLVR_EXEC_LANG_PYTHON;
  if (!strcmp(name, "lua") || !strcmp(name, "lua5.4")) return RLVR_EXEC_LANG_LUA;
  return RLVR_EXEC_LANG_COUNT;
}

int rlvr_exec_set_interpreter(rlvr_exec_lang lang, const char *path) {
  if ((int)lang < 0 || lang >= RLVR_EXEC_LANG_COUNT)
    return rlvr_error(RLVR_ERR_ARG, "exec: unknown language %d", (int)lang);
  if (!path || strncmp(path, "/usr/", 5) != 0 || strstr(path, "/../") ||
      strlen(path) >= sizeof interp_path[0])
    return rlvr_error(RLVR_ERR_ARG,
                      "exec: interpreter '%s' must be an absolute path under /usr/ (the sandbox "
                      "sees only /usr of the host)",
                      path ? path : "(null)");
  snprintf(interp_path[lang], sizeof interp_path[lang], "%s", path);
  return RLVR_OK;
}

void rlvr_exec_default_limits(rlvr_exec_limits *lim) {
  lim->timeout_ms = 5000;
  lim->cpu_ms = 0;
  lim->memory_bytes = 512ll << 20;
  lim->output_bytes = 1ll << 20;
  lim->file_bytes = 16ll << 20;
  lim->scratch_bytes = 32ll << 20;
  lim->nproc = 32;
  lim->nofile = 64;
  lim->isolation = RLVR_EXEC_ISOLATION_AUTO;
}

static int64_t clamp64(int64_t v, int64_t hi) { return v > hi ? hi : v; }

int rlvr_exec_check_limits(rlvr_exec_limits *lim) {
  if (lim->timeout_ms <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: timeout_ms must be > 0");
  if (lim->cpu_ms < 0) return rlvr_error(RLVR_ERR_RANGE, "exec: cpu_ms must be >= 0");
  if (lim->memory_bytes <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: memory_bytes must be > 0");
  if (lim->output_bytes <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: output_bytes must be > 0");
  if (lim->file_bytes <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: file_bytes must be > 0");
  if (lim->scratch_bytes <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: scratch_bytes must be > 0");
  if (lim->nproc <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: nproc must be > 0");
  if (lim->nofile <= 0) return rlvr_error(RLVR_ERR_RANGE, "exec: nofile must be > 0");
  if ((int)lim->isolation < 0 || lim->isolation > RLVR_EXEC_ISOLATION_RLIMITS)
    return rlvr_error(RLVR_ERR_RANGE, "exec: unknown isolation %d", (int)lim->isolation);
  lim->timeout_ms = clamp64(lim->timeout_ms, 600000);
  lim->cpu_ms = clamp64(lim->cpu_ms, 600000);
  lim->memory_bytes = clamp64(lim->memory_bytes, 64ll << 30);
  lim->output_bytes = clamp64(lim->output_bytes, 256ll << 20);
  lim->file_bytes = clamp64(lim->file_bytes, 4ll << 30);
  lim->scratch_bytes = clamp64(lim->scratch_bytes, 4ll << 30);
  if (lim->nproc > 4096) lim->nproc = 4096;
  if (lim->nofile > 4096) lim->nofile = 4096;
  return RLVR_OK;
}

/* ---------------------------------------------------------------------------
 * The child: system calls only from here to execve
 * ------------------------------------------------------------------------- */

typedef struct {
  int use_ns;
  int report_fd;  /* write end: {step, errno} on failure; closed by execve */
  int sync_fd;    /* read end: one byte once the uid map is written (ns) */
  int stdin_fd, out_fd, err_fd, src_fd;
  size_t src_len;
  const char *interp;
  char *const *argv;
  char *const *envp;
  const char *src_path;    /* where the child writes the source (ns); the parent wrote it otherwise */
  const char *scratch;     /* working directory: "/tmp" (ns) or the mkdtemp path */
  const char *root_opts;   /* tmpfs options for the new root, /dev, scratch */
  const char *dev_opts;
  const char *scratch_opts;
  struct rlimit rl_cpu, rl_as, rl_nproc, rl_fsize, rl_nofile;
  int drop_to_run_id;      /* fallback as root: setresuid to RUN_ID_BASE + pid */
  int keep_groups;         /* ns as non-root: setgroups is denied, the host user's groups stay */
  const struct sock_fprog *filter;
} child_spec;

static void child_fail(const child_spec *cs, int step) {
  int32_t msg[2] = {step, errno};
  ssize_t w = write(cs->report_fd, msg, sizeof msg);
  (void)w;
  _exit(127);
}

static int ro_remount(const char *path, int recursive, uint64_t extra) {
  struct mount_attr attr = {0};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | extra;
  if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) == 0) return 0;
  if (errno != ENOSYS) return -1;
  unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  if (extra & MOUNT_ATTR_NOEXEC) fl |= MS_NOEXEC;
  return mount(NULL, path, NULL, fl, NULL);
}

static int touch(const char *path, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/* Builds the new root under NEWROOT and pivots into it (namespaces only). */
static void child_mounts(const child_spec *cs) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) child_fail(cs, STEP_MOUNT_PRIVATE);
  if (mount("rlvr-root", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, cs->root_opts) != 0)
    child_fail(cs, STEP_ROOT_TMPFS);
  if (mkdir(NEWROOT "/usr", 0755) || mkdir(NEWROOT "/dev", 0755) || mkdir(NEWROOT "/proc", 0555) ||
      mkdir(NEWROOT "/tmp", 01777))
    child_fail(cs, STEP_ROOT_LAYOUT);
  for (int i = 0; i < G.ntop; i++) {
    const top_entry *t = &G.top[i];
    if (t->is_link) {
      if (symlink(t->target, t->path) != 0) child_fail(cs, STEP_ROOT_LAYOUT);
    } else {
      if (mkdir(t->path, 0755) != 0) child_fail(cs, STEP_ROOT_LAYOUT);
      if (mount(t->host, t->path, NULL, MS_BIND | MS_REC, NULL) != 0) child_fail(cs, STEP_BIND_USR);
      if (ro_remount(t->path, 1, 0) != 0) child_fail(cs, STEP_RO_USR);
    }
  }
  if (mount("/usr", NEWROOT "/usr", NULL, MS_BIND | MS_REC, NULL) != 0) child_fail(cs, STEP_BIND_USR);
  if (ro_remount(NEWROOT "/usr", 1, 0) != 0) child_fail(cs, STEP_RO_USR);

  /* /dev: a small tmpfs with bind mounts of the harmless character devices
   * (a user namespace may not mknod; bind mounts of existing nodes work). */
  if (mount("rlvr-dev", NEWROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, cs->dev_opts) != 0)
    child_fail(cs, STEP_DEV);
  static const char *const devs[][2] = {{"/dev/null", NEWROOT "/dev/null"},
                                        {"/dev/zero", NEWROOT "/dev/zero"},
                                        {"/dev/full", NEWROOT "/dev/full"},
                                        {"/dev/random", NEWROOT "/dev/random"},
                                        {"/dev/urandom", NEWROOT "/dev/urandom"}};
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
    if (touch(devs[i][1], 0666) != 0) child_fail(cs, STEP_DEV);
    if (mount(devs[i][0], devs[i][1], NULL, MS_BIND, NULL) != 0) child_fail(cs, STEP_DEV);
  }
  if (symlink("/proc/self/fd", NEWROOT "/dev/fd") || symlink("/proc/self/fd/0", NEWROOT "/dev/stdin") ||
      symlink("/proc/self/fd/1", NEWROOT "/dev/stdout") ||
      symlink("/proc/self/fd/2", NEWROOT "/dev/stderr"))
    child_fail(cs, STEP_DEV);
  if (ro_remount(NEWROOT "/dev", 1, MOUNT_ATTR_NOEXEC) != 0) child_fail(cs, STEP_DEV);

  /* /proc of the new PID namespace: only the sandbox's processes. Optional:
   * some containers refuse a fresh proc mount, and the interpreters run
   * without one. */
  (void)mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

  if (mount("rlvr-scratch", NEWROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, cs->scratch_opts) != 0)
    child_fail(cs, STEP_SCRATCH);

  /* pivot_root(".", "."): the old root ends up stacked on the new one and
   * is detached at once, so no path leads back to the host's tree. */
  if (chdir(NEWROOT) != 0) child_fail(cs, STEP_PIVOT);
  if (syscall(SYS_pivot_root, ".", ".") != 0) child_fail(cs, STEP_PIVOT);
  if (umount2(".", MNT_DETACH) != 0) child_fail(cs, STEP_PIVOT);
  if (chdir("/") != 0) child_fail(cs, STEP_PIVOT);
  if (ro_remount("/", 0, 0) != 0) child_fail(cs, STEP_RO_ROOT);
  (void)sethostname("sandbox", 7);
}

static void child_write_source(const child_spec *cs) {
  int fd = open(cs->src_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) child_fail(cs, STEP_SOURCE);
  char buf[4096];
  off_t off = 0;
  while ((size_t)off < cs->src_len) {
    ssize_t n = pread(cs->src_fd, buf, sizeof buf, off);
    if (n <= 0) child_fail(cs, STEP_SOURCE);
    for (ssize_t w = 0; w < n;) {
      ssize_t k = write(fd, buf + w, (size_t)(n - w));
      if (k <= 0) child_fail(cs, STEP_SOURCE);
      w += k;
    }
    off += n;
  }
  close(fd);
}

static void child_landlock(const child_spec *cs) {
  int abi = G.landlock_abi;
  if (abi <= 0) return;
  struct ll_ruleset_attr ra = {0};
  ra.handled_access_fs = ll_fs_all(abi);
  size_t size = sizeof ra.handled_access_fs;
  if (abi >= 4) {
    ra.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    size += sizeof ra.handled_access_net;
  }
  if (abi >= 6) {
    ra.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
    size += sizeof ra.scoped;
  }
  int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, size, 0);
  if (rs < 0) child_fail(cs, STEP_LANDLOCK);
  static const char *const ro_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
  for (size_t i = 0; i < sizeof ro_dirs / sizeof ro_dirs[0]; i++) {
    int fd = open(ro_dirs[i], O_PATH | O_CLOEXEC);
    if (fd < 0) continue;
    struct ll_path_beneath_attr pb = {LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR, fd};
    if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) != 0) child_fail(cs, STEP_LANDLOCK);
    close(fd);
  }
  static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
  uint64_t dev_rights = LL_FS_READ_FILE | LL_FS_WRITE_FILE;
  if (abi >= 3) dev_rights |= LL_FS_TRUNCATE;
  if (abi >= 5) dev_rights |= LL_FS_IOCTL_DEV;
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
    int fd = open(devs[i], O_PATH | O_CLOEXEC);
    if (fd < 0) continue;
    struct ll_path_beneath_attr pb = {dev_rights, fd};
    if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) != 0) child_fail(cs, STEP_LANDLOCK);
    close(fd);
  }
  int fd = open(cs->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) child_fail(cs, STEP_LANDLOCK);
  struct ll_path_beneath_attr pb = {ll_fs_all(abi), fd};
  if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) != 0) child_fail(cs, STEP_LANDLOCK);
  close(fd);
  if (syscall(SYS_landlock_restrict_self, rs, 0) != 0) child_fail(cs, STEP_LANDLOCK);
  close(rs);
}

static void child_drop_caps(const child_spec *cs) {
  for (int c = 0; c <= G.last_cap; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) child_fail(cs, STEP_CAPS);
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) != 0) child_fail(cs, STEP_CAPS);
}

static void child_main(const child_spec *cs) {
  /* Dies with the thread that started it, whatever happens to the host. */
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (cs->use_ns) {
    char c;
    if (read(cs->sync_fd, &c, 1) != 1) child_fail(cs, STEP_SYNC);
    /* Take on the mapped ids: until now the child still holds the host's
     * kernel uid, which its namespace cannot represent. Supplementary groups
     * are dropped too where setgroups is allowed (the parent was root). */
    if (syscall(SYS_setgroups, 0, NULL) != 0 && !cs->keep_groups) child_fail(cs, STEP_SETUID);
    if (syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0) child_fail(cs, STEP_SETUID);
  }
  close(cs->sync_fd);
  if (setsid() < 0) child_fail(cs, STEP_SETSID);
  if (cs->use_ns) child_mounts(cs);
  if (chdir(cs->scratch) != 0) child_fail(cs, STEP_CHDIR);
  if (cs->use_ns) child_write_source(cs);

  if (dup2(cs->stdin_fd, 0) < 0 || dup2(cs->out_fd, 1) < 0 || dup2(cs->err_fd, 2) < 0)
    child_fail(cs, STEP_STDIO);
  /* Everything else is closed at execve; the report pipe is already O_CLOEXEC. */
  if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; fd++)
      if (fd != cs->report_fd) close(fd);
  }

  if (setrlimit(RLIMIT_CPU, &cs->rl_cpu) || setrlimit(RLIMIT_AS, &cs->rl_as) ||
      setrlimit(RLIMIT_FSIZE, &cs->rl_fsize) || setrlimit(RLIMIT_NOFILE, &cs->rl_nofile))
    child_fail(cs, STEP_RLIMIT);
  struct rlimit zero = {0, 0};
  if (setrlimit(RLIMIT_CORE, &zero) || setrlimit(RLIMIT_MEMLOCK, &zero) ||
      setrlimit(RLIMIT_MSGQUEUE, &zero))
    child_fail(cs, STEP_RLIMIT);

  if (cs->drop_to_run_id) {
    uid_t id = RUN_ID_BASE + ((uid_t)getpid() & RUN_ID_MASK);
    /* The scratch directory becomes the run's own; root could enter it, the
     * run uid could not otherwise. */
    if (chown(cs->scratch, id, id) != 0) child_fail(cs, STEP_SETUID);
    if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, id, id, id) ||
        syscall(SYS_setresuid, id, id, id))
      child_fail(cs, STEP_SETUID);
    /* A change of uid clears the parent-death signal: set it again. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  }
  /* RLIMIT_NPROC after the uid change: it counts the processes of the real uid. */
  if (setrlimit(RLIMIT_NPROC, &cs->rl_nproc)) child_fail(cs, STEP_RLIMIT);
  if (cs->use_ns || geteuid() == 0) child_drop_caps(cs);

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(cs, STEP_NNP);
  if (!cs->use_ns) child_landlock(cs);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, cs->filter) != 0) child_fail(cs, STEP_SECCOMP);
  execve(cs->interp, cs->argv, cs->envp);
  child_fail(cs, STEP_EXEC);
}

/* ---------------------------------------------------------------------------
 * The parent
 * ------------------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Moves fd above 2 (a host with a closed stdin would otherwise get pipes on
 * 0..2, which the child's dup2 onto stdio would clobber). */
static int high_fd(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return n;
}

static int memfd_with(const char *name, const char *data, size_t len, int seal) {
  int fd = high_fd(memfd_create(name, MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0)));
  if (fd < 0) return -1;
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)n;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) {
    close(fd);
    return -1;
  }
  /* The program reads its stdin from this file; sealed so it cannot write it. */
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len ? 0 : -1;
}

/* {soft, hard}, lowered to this process's own hard limit where that is
 * lower (a process may not raise its hard limit, and the pool's workers may
 * run under tighter limits than a run asks for). */
static struct rlimit rl_within(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit cur;
  if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
    if (hard > cur.rlim_max) hard = cur.rlim_max;
    if (soft > hard) soft = hard;
  }
  return (struct rlimit){soft, hard};
}

/* Output of one stream: at most limit bytes are kept; one byte more marks
 * an overflow. */
typedef struct {
  int fd;
  char *buf;
  size_t len, alloc, limit;
  int overflow;
} capture;

/* Reads what is there. Returns 1 at EOF (or error), 0 otherwise. The
 * buffer grows to at most limit + 2 bytes: limit kept, one to see an
 * overflow, one for the NUL. */
static int capture_read(capture *c) {
  for (;;) {
    if (c->len > c->limit) {
      c->overflow = 1;
      return 0;
    }
    if (c->alloc < c->len + 2) {
      size_t want = c->alloc ? c->alloc * 2 : 65536;
      if (want > c->limit + 2) want = c->limit + 2;
      c->buf = xrealloc(c->buf, want);
      c->alloc = want;
    }
    ssize_t n = read(c->fd, c->buf + c->len, c->alloc - 1 - c->len);
    if (n > 0) {
      c->len += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    return 1;
  }
}

/* Removes the scratch tree of a fallback run: no symlink is followed, an
 * unreadable directory is made readable first, and directories nested
 * deeper than RM_MAX_DEPTH are moved up to the top and removed in a later
 * pass, so that a hostile tree can neither exhaust the host's file
 * descriptors nor make the walk quadratic. Every process of the run is dead
 * by now, so nothing changes under the walk. */
#define RM_MAX_DEPTH 64
static int remove_tree(const char *path) {
  int top = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) return errno == ENOENT ? 0 : -1;
  unsigned moved_counter = 0;
  for (int pass = 0; pass < 1000; pass++) {
    struct {
      DIR *d;
      char name[256];
    } st[RM_MAX_DEPTH];
    int dup_top = dup(top);
    st[0].d = dup_top >= 0 ? fdopendir(dup_top) : NULL;
    if (!st[0].d) {
      if (dup_top >= 0) close(dup_top);
      break;
    }
    rewinddir(st[0].d); /* the dup shares the offset the previous pass left at the end */
    int depth = 0, moved = 0;
    while (depth >= 0) {
      int fd = dirfd(st[depth].d);
      struct dirent *e = readdir(st[depth].d);
      if (!e) {
        closedir(st[depth].d);
        if (depth > 0) unlinkat(dirfd(st[depth - 1].d), st[depth].name, AT_REMOVEDIR);
        depth--;
        continue;
      }
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      int is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat sb;
        is_dir = fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
      }
      if (!is_dir) {
        unlinkat(fd, e->d_name, 0);
        continue;
      }
      if (depth + 1 >= RM_MAX_DEPTH) {
        for (int tries = 0; tries < 100; tries++) {
          char nm[64];
          snprintf(nm, sizeof nm, ".rlvr-deep-%u", moved_counter++);
          if (renameat2(fd, e->d_name, top, nm, RENAME_NOREPLACE) == 0) {
            moved = 1;
            break;
          }
          if (errno != EEXIST) break;
        }
        continue;
      }
      int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 && errno == EACCES) {
        fchmodat(fd, e->d_name, 0700, 0);
        sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
      if (!d) {
        if (sub >= 0) close(sub);
        unlinkat(fd, e->d_name, AT_REMOVEDIR);
        continue;
      }
      depth++;
      st[depth].d = d;
      snprintf(st[depth].name, sizeof st[depth].name, "%s", e->d_name);
    }
    if (!moved) break;
  }
  close(top);
  return rmdir(path);
}

/* One run in the given mode. *setup_step is set when the child reported a
 * set-up failure (with *setup_errno), so AUTO can decide to fall back. */
static int run_mode(rlvr_exec_lang lang, const char *source, size_t source_len, const char *stdin_data,
                    size_t stdin_len, const rlvr_exec_limits *lim, int use_ns, rlvr_exec_result *res,
                    int *setup_step, int *setup_errno) {
  double t0 = now_ms();
  *setup_step = 0;
  *setup_errno = 0;
  int rc = RLVR_OK;
  int src_fd = -1, stdin_fd = -1, outp[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1},
      syn[2] = {-1, -1}, pidfd = -1;
  char scratch[64] = "", src_path[128] = "", root_opts[96], dev_opts[64], scratch_opts[96];
  char env_home[96], env_tmp[96];
  capture out = {0}, err = {0};
  pid_t pid = -1;
  int is_root = geteuid() == 0;

  /* Files and pipes, all O_CLOEXEC so that no other thread's child inherits them. */
  stdin_fd = memfd_with("rlvr-stdin", stdin_data ? stdin_data : "", stdin_data ? stdin_len : 0, 1);
  if (stdin_fd < 0) {
    rc = rlvr_error(RLVR_ERR_IO, "exec: stdin memfd: %s", strerror(errno));
    goto done;
  }
  if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(rep, O_CLOEXEC) || pipe2(syn, O_CLOEXEC)) {
    rc = rlvr_error(RLVR_ERR_IO, "exec: pipe: %s", strerror(errno));
    goto done;
  }
  int *all[] = {&outp[0], &outp[1], &errp[0], &errp[1], &rep[0], &rep[1], &syn[0], &syn[1]};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) *all[i] = high_fd(*all[i]);
  fcntl(outp[0], F_SETFL, O_NONBLOCK);
  fcntl(errp[0], F_SETFL, O_NONBLOCK);

  if (use_ns) {
    src_fd = memfd_with("rlvr-source", source, source_len, 0);
    if (src_fd < 0) {
      rc = rlvr_error(RLVR_ERR_IO, "exec: source memfd: %s", strerror(errno));
      goto done;
    }
    snprintf(scratch, sizeof scratch, "/tmp");
    snprintf(src_path, sizeof src_path, "/tmp/%s", src_name[lang]);
  } else {
    const char *base = "/tmp";
    snprintf(scratch, sizeof scratch, "%s/rlvr-exec-XXXXXX", base);
    if (!mkdtemp(scratch)) {
      scratch[0] = 0;
      rc = rlvr_error(RLVR_ERR_IO, "exec: mkdtemp in %s: %s", base, strerror(errno));
      goto done;
    }
    snprintf(src_path, sizeof src_path, "%s/%s", scratch, src_name[lang]);
    int fd = open(src_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    for (size_t off = 0; ok && off < source_len;) {
      ssize_t n = write(fd, source + off, source_len - off);
      if (n <= 0) ok = 0;
      else off += (size_t)n;
    }
    if (fd >= 0) close(fd);
    if (!ok) {
      rc = rlvr_error(RLVR_ERR_IO, "exec: writing %s: %s", src_path, strerror(errno));
      goto done;
    }
  }
  snprintf(root_opts, sizeof root_opts, "size=1m,nr_inodes=256,mode=0755");
  snprintf(dev_opts, sizeof dev_opts, "size=64k,nr_inodes=64,mode=0755");
  snprintf(scratch_opts, sizeof scratch_opts, "size=%lld,nr_inodes=4096,mode=01777",
           (long long)lim->scratch_bytes);
  snprintf(env_home, sizeof env_home, "HOME=%s", scratch);
  snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s", scratch);
  char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", env_home, env_tmp, NULL};
  char *argv_py[] = {interp_path[lang], "-I", "-B", (char *)src_name[lang], NULL};
  char *argv_lua[] = {interp_path[lang], (char *)src_name[lang], NULL};

  child_spec cs = {0};
  cs.use_ns = use_ns;
  cs.report_fd = rep[1];
  cs.sync_fd = syn[0];
  cs.stdin_fd = stdin_fd;
  cs.out_fd = outp[1];
  cs.err_fd = errp[1];
  cs.src_fd = src_fd;
  cs.src_len = source_len;
  cs.interp = interp_path[lang];
  cs.argv = lang == RLVR_EXEC_LANG_PYTHON ? argv_py : argv_lua;
  cs.envp = envp;
  cs.src_path = src_path;
  cs.scratch = scratch;
  cs.root_opts = root_opts;
  cs.dev_opts = dev_opts;
  cs.scratch_opts = scratch_opts;
  int64_t cpu_ms = lim->cpu_ms > 0 ? lim->cpu_ms : lim->timeout_ms;
  rlim_t cpu_s = (rlim_t)((cpu_ms + 999) / 1000);
  /* Soft limit: SIGXCPU; the hard limit one second later is a SIGKILL that
   * even a PID 1 (which ignores SIGXCPU) cannot escape. */
  cs.rl_cpu = rl_within(RLIMIT_CPU, cpu_s, cpu_s + 1);
  cs.rl_as = rl_within(RLIMIT_AS, (rlim_t)lim->memory_bytes, (rlim_t)lim->memory_bytes);
  cs.rl_nproc = rl_within(RLIMIT_NPROC, (rlim_t)lim->nproc, (rlim_t)lim->nproc);
  cs.rl_fsize = rl_within(RLIMIT_FSIZE, (rlim_t)lim->file_bytes, (rlim_t)lim->file_bytes);
  cs.rl_nofile = rl_within(RLIMIT_NOFILE, (rlim_t)lim->nofile, (rlim_t)lim->nofile);
  cs.drop_to_run_id = !use_ns && is_root;
  cs.keep_groups = !is_root;
  cs.filter = !use_ns && !is_root ? &G.filter_strict : &G.filter;

  unsigned long flags = SIGCHLD;
  if (use_ns)
    flags |= CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  /* A raw clone (fork semantics: the child continues on a copy of this stack). */
  pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid == 0) child_main(&cs); /* never returns */
  if (pid < 0) {
    *setup_step = STEP_SYNC;
    *setup_errno = errno;
    rc = rlvr_error(RLVR_ERR_IO, "exec: clone%s: %s", use_ns ? " with namespaces" : "", strerror(errno));
    goto done;
  }
  close(rep[1]);
  rep[1] = -1;
  close(syn[0]);
  syn[0] = -1;
  close(outp[1]);
  outp[1] = -1;
  close(errp[1]);
  errp[1] = -1;

  if (use_ns) {
    /* The child is uid 0 of its user namespace, mapped to an unprivileged
     * uid outside: a per-run uid when we are root, our own uid otherwise
     * (the only mapping an unprivileged process may write). */
    unsigned outer_uid = is_root ? RUN_ID_BASE + ((unsigned)pid & RUN_ID_MASK) : (unsigned)geteuid();
    unsigned outer_gid = is_root ? outer_uid : (unsigned)getegid();
    char path[64], map[64];
    int ok = 1;
    /* An unprivileged writer may map its gid only after denying setgroups;
     * root leaves it allowed so that the child can drop its groups. */
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    if (!is_root && write_file(path, "deny") != 0 && errno != ENOENT) ok = 0;
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(map, sizeof map, "0 %u 1\n", outer_uid);
    if (ok && write_file(path, map) != 0) ok = 0;
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    snprintf(map, sizeof map, "0 %u 1\n", outer_gid);
    if (ok && write_file(path, map) != 0) ok = 0;
    if (!ok) {
      *setup_step = STEP_SYNC;
      *setup_errno = errno;
      rc = rlvr_error(RLVR_ERR_IO, "exec: writing the uid/gid map of the sandbox: %s", strerror(errno));
      kill(pid, SIGKILL);
    } else if (write(syn[1], "g", 1) != 1) {
      rc = rlvr_error(RLVR_ERR_IO, "exec: waking the sandbox: %s", strerror(errno));
      kill(pid, SIGKILL);
    }
  }
  close(syn[1]);
  syn[1] = -1;

  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  out.fd = outp[0];
  out.limit = (size_t)lim->output_bytes;
  err.fd = errp[0];
  err.limit = (size_t)lim->output_bytes;

  /* Wait for: the report pipe (EOF at execve, or a set-up failure), both
   * output streams to end, and the process to exit; or the deadline. */
  double deadline = t0 + (double)lim->timeout_ms;
  int out_eof = 0, err_eof = 0, rep_done = 0, exited = 0, killed = 0, wstatus = 0;
  enum { WHY_NONE, WHY_TIMEOUT, WHY_OUTPUT, WHY_SETUP } why = WHY_NONE;
  int wait_errno = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (!(exited && out_eof && err_eof && rep_done)) {
    double left = deadline - now_ms();
    if (left <= 0 && exited) break; /* streams held open past the end: abandon them */
    if (left <= 0 && !killed) {
      why = WHY_TIMEOUT;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      killed = 1;
    }
    if (killed && exited) {
      /* Everything is dead: whatever is still in the pipes can be read at
       * once; a stream some escaped process holds open is abandoned. */
      if (!out_eof) out_eof = capture_read(&out) || 1;
      if (!err_eof) err_eof = capture_read(&err) || 1;
      rep_done = 1;
      break;
    }
    struct pollfd pf[4];
    int np = 0, i_out = -1, i_err = -1, i_rep = -1, i_pid = -1;
    if (!out_eof) pf[i_out = np++] = (struct pollfd){out.fd, POLLIN, 0};
    if (!err_eof) pf[i_err = np++] = (struct pollfd){err.fd, POLLIN, 0};
    if (!rep_done) pf[i_rep = np++] = (struct pollfd){rep[0], POLLIN, 0};
    if (!exited && pidfd >= 0) pf[i_pid = np++] = (struct pollfd){pidfd, POLLIN, 0};
    int wait_ms = killed ? 50 : (int)(left < 1 ? 1 : left > 1e9 ? 1e9 : left);
    if (!exited && pidfd < 0 && wait_ms > 10) wait_ms = 10; /* no pidfd: poll the exit with waitpid */
    int pr = poll(pf, (nfds_t)np, wait_ms);
    if (pr < 0 && errno != EINTR) break;
    if (i_out >= 0 && pf[i_out].revents) out_eof = capture_read(&out);
    if (i_err >= 0 && pf[i_err].revents) err_eof = capture_read(&err);
    if ((out.overflow || err.overflow) && !killed) {
      why = WHY_OUTPUT;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      killed = 1;
    }
    if (i_rep >= 0 && pf[i_rep].revents) {
      int32_t msg[2];
      ssize_t n = read(rep[0], msg, sizeof msg);
      if (n == (ssize_t)sizeof msg) {
        *setup_step = msg[0];
        *setup_errno = msg[1];
        why = WHY_SETUP;
        if (!killed) {
          kill(pid, SIGKILL);
          killed = 1;
        }
      }
      if (n == 0 || n == (ssize_t)sizeof msg || (n < 0 && errno != EINTR && errno != EAGAIN)) rep_done = 1;
    }
    if (!exited && (pidfd < 0 || (i_pid >= 0 && pf[i_pid].revents))) {
      pid_t w = wait4(pid, &wstatus, pidfd < 0 ? WNOHANG : 0, &ru);
      if (w == pid) {
        exited = 1;
        /* Stragglers of a fallback run (a PID namespace dies with its PID 1
         * by itself): the group is still ours while the leader is unreaped,
         * and setsid/setpgid are denied, so no process left it. */
        if (!use_ns) kill(-pid, SIGKILL);
      } else if (w < 0 && errno != EINTR) {
        /* ECHILD: the caller ignores SIGCHLD, so the status is gone. */
        exited = 1;
        wait_errno = errno;
      }
    }
  }
  if (!exited) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    wait4(pid, &wstatus, 0, &ru);
  }
  /* pid is reaped: never signal it again. */

  res->pid = (int)pid;
  res->run_uid = is_root ? RUN_ID_BASE + ((unsigned)pid & RUN_ID_MASK) : 0;
  res->wall_ms = now_ms() - t0;
  res->cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
                ru.ru_stime.tv_usec / 1e3;
  res->max_rss_kb = ru.ru_maxrss;
  if (WIFEXITED(wstatus)) res->exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) res->signal = WTERMSIG(wstatus);

  if (why == WHY_SETUP) {
    rc = rlvr_error(RLVR_ERR_IO, "exec: sandbox set-up failed at '%s': %s", step_name(*setup_step),
                    strerror(*setup_errno));
    res->exit_code = -1;
    res->signal = 0;
  } else if (rc == RLVR_OK && wait_errno) {
    rc = rlvr_error(RLVR_ERR_IO, "exec: wait4: %s (is SIGCHLD ignored?)", strerror(wait_errno));
  } else if (rc == RLVR_OK) {
    if (why == WHY_TIMEOUT) {
      res->status = RLVR_EXEC_STATUS_TIMEOUT;
      snprintf(res->message, sizeof res->message, "wall-clock limit of %lld ms", (long long)lim->timeout_ms);
    } else if (why == WHY_OUTPUT) {
      res->status = RLVR_EXEC_STATUS_OUTPUT_LIMIT;
      snprintf(res->message, sizeof res->message, "%s passed %lld bytes",
               out.overflow ? "stdout" : "stderr", (long long)lim->output_bytes);
    } else if (WIFSIGNALED(wstatus) &&
               (res->signal == SIGXCPU ||
                (res->signal == SIGKILL && res->cpu_ms >= (double)cpu_s * 1000.0 - 50.0))) {
      res->status = RLVR_EXEC_STATUS_TIMEOUT;
      snprintf(res->message, sizeof res->message, "CPU limit of %llu s", (unsigned long long)cpu_s);
    } else if (WIFSIGNALED(wstatus)) {
      res->status = RLVR_EXEC_STATUS_KILLED;
    } else if (res->exit_code == 0) {
      res->status = RLVR_EXEC_STATUS_OK;
    } else {
      res->status = RLVR_EXEC_STATUS_ERROR;
    }
  }

done:
  if (out.len > out.limit) out.len = out.limit;
  if (err.len > err.limit) err.len = err.limit;
  res->out_truncated = out.overflow;
  res->err_truncated = err.overflow;
  res->out = out.buf ? out.buf : xstrdup("");
  res->out[out.len] = 0;
  res->out_len = out.len;
  res->err = err.buf ? err.buf : xstrdup("");
  res->err[err.len] = 0;
  res->err_len = err.len;
  int fds[] = {src_fd, stdin_fd, outp[0], outp[1], errp[0], errp[1], rep[0], rep[1], syn[0], syn[1], pidfd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0) close(fds[i]);
  if (scratch[0] && !use_ns && remove_tree(scratch) != 0)
    fprintf(stderr, "rlvr exec: warning: could not remove scratch directory %s: %s\n", scratch,
            strerror(errno));
  if (rc != RLVR_OK) {
    res->status = RLVR_EXEC_STATUS_SANDBOX_ERROR;
    snprintf(res->message, sizeof res->message, "%s", rlvr_error_message());
    if (res->wall_ms == 0) res->wall_ms = now_ms() - t0;
  }
  return rc;
}

/* Whether a set-up failure means "this kernel or container does not allow
 * namespaces" (fall back) rather than a passing problem (report it). */
static int ns_refused(int step, int err) {
  if (step == STEP_EXEC || step == STEP_SOURCE || step == STEP_STDIO || step == STEP_RLIMIT) return 0;
  return err == EPERM || err == EINVAL || err == ENOSPC || err == EUSERS || err == ENOSYS ||
         err == EACCES || err == EROFS || err == ENOENT;
}

int rlvr_exec_run(rlvr_exec_lang lang, const char *source, size_t source_len, const char *stdin_data,
                  size_t stdin_len, const rlvr_exec_limits *lim_in, rlvr_exec_result *res) {
  memset(res, 0, sizeof *res);
  res->exit_code = -1;
  res->status = RLVR_EXEC_STATUS_SANDBOX_ERROR;
  res->isolation = "none";
  rlvr_exec_limits lim;
  if (lim_in) lim = *lim_in;
  else rlvr_exec_default_limits(&lim);
  int rc = rlvr_exec_check_limits(&lim);
  if (rc == RLVR_OK && ((int)lang < 0 || lang >= RLVR_EXEC_LANG_COUNT))
    rc = rlvr_error(RLVR_ERR_ARG, "exec: unknown language %d", (int)lang);
  if (rc == RLVR_OK && !source && source_len)
    rc = rlvr_error(RLVR_ERR_ARG, "exec: source is NULL");
  pthread_once(&G.once, init_once);
  if (rc == RLVR_OK && !G.ok) rc = rlvr_error(RLVR_ERR_UNSUPPORTED, "exec: %s", G.why);
  if (rc == RLVR_OK && access(interp_path[lang], X_OK) != 0)
    rc = rlvr_error(RLVR_ERR_IO, "exec: interpreter %s: %s", interp_path[lang], strerror(errno));
  if (rc != RLVR_OK) {
    res->out = xstrdup("");
    res->err = xstrdup("");
    snprintf(res->message, sizeof res->message, "%s", rlvr_error_message());
    return rc;
  }
  if (!source) source = "";

  int use_ns;
  switch (lim.isolation) {
    case RLVR_EXEC_ISOLATION_NAMESPACES: use_ns = 1; break;
    case RLVR_EXEC_ISOLATION_RLIMITS: use_ns = 0; break;
    default: use_ns = atomic_load(&ns_state) != 2; break;
  }
  int step, serr;
  for (;;) {
    res->isolation = use_ns ? "namespaces"
                     : G.landlock_abi > 0 ? "rlimits+seccomp+landlock"
                                          : "rlimits+seccomp";
    rc = run_mode(lang, source, source_len, stdin_data, stdin_len, &lim, use_ns, res, &step, &serr);
    if (!use_ns || lim.isolation != RLVR_EXEC_ISOLATION_AUTO) break;
    if (rc == RLVR_OK) {
      int expect = 0;
      atomic_compare_exchange_strong(&ns_state, &expect, 1);
      break;
    }
    /* Namespaces failed. Fall back only while their fate is unknown, and
     * only for a refusal: once they have worked, a failure is reported. */
    if (atomic_load(&ns_state) != 0 || !step || !ns_refused(step, serr)) break;
    pthread_mutex_lock(&ns_mu);
    if (atomic_load(&ns_state) == 0) {
      snprintf(ns_why, sizeof ns_why, "%s", rlvr_error_message());
      atomic_store(&ns_state, 2);
    }
    pthread_mutex_unlock(&ns_mu);
    rlvr_exec_result_free(res);
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    use_ns = 0;
  }
  return rc;
}

void rlvr_exec_result_free(rlvr_exec_result *res) {
  if (!res) return;
  free(res->out);
  free(res->err);
  res->out = res->err = NULL;
  res->out_len = res->err_len = 0;
}

rlvr_exec_isolation rlvr_exec_probe(const char **why) {
  if (why) *why = "";
  if (atomic_load(&ns_state) == 0) {
    rlvr_exec_result r;
    rlvr_exec_lang lang = access(interp_path[RLVR_EXEC_LANG_LUA], X_OK) == 0 ? RLVR_EXEC_LANG_LUA
                                                                             : RLVR_EXEC_LANG_PYTHON;
    const char *src = lang == RLVR_EXEC_LANG_LUA ? "os.exit(0)\n" : "pass\n";
    int rc = rlvr_exec_run(lang, src, strlen(src), NULL, 0, NULL, &r);
    rlvr_exec_result_free(&r);
    if (rc != RLVR_OK && atomic_load(&ns_state) == 0) {
      if (why) *why = "the probe could not run (no interpreter?)";
      return RLVR_EXEC_ISOLATION_RLIMITS;
    }
  }
  if (atomic_load(&ns_state) == 1) return RLVR_EXEC_ISOLATION_NAMESPACES;
  if (why) *why = ns_why;
  return RLVR_EXEC_ISOLATION_RLIMITS;
}
