/* exec.h — runs one untrusted program (a Python 3 or Lua 5.4 source text) in a
 * separate, sandboxed process and captures what it prints.
 *
 * Isolation, strongest first (docs/executor.md explains each layer and what it
 * protects):
 *  - NAMESPACES: the child is cloned into new user, PID, network, mount, IPC
 *    and UTS namespaces. It pivots into a fresh tmpfs root that holds only a
 *    read-only bind of /usr (with /bin, /lib, ... as the host's symlinks), a
 *    minimal /dev (null zero full random urandom), a new /proc, and /tmp: a
 *    size-capped tmpfs that is the only writable place and the working
 *    directory. The program is PID 1 of its namespace, so when it exits or is
 *    killed every process it started dies with it.
 *  - RLIMITS (fallback where the kernel or container refuses namespaces, or
 *    when forced): a fork, a new session, a fresh scratch directory
 *    (mkdtemp) as the working directory, and, when running as root, a
 *    per-run unprivileged uid; Landlock (where the kernel has it) limits the
 *    file system to read-only /usr and the scratch directory and scopes
 *    signals and abstract sockets to the sandbox.
 * Both: rlimits (CPU, address space, processes, file size, open files, no
 * core dumps), all capabilities dropped, no_new_privs, a seccomp filter (no
 * sockets, ptrace, process_vm_*, mount, namespaces, setsid/setpgid, kill of
 * process groups, io_uring, bpf, keyrings, ...), a minimal environment, stdin
 * from a sealed memfd, stdout and stderr through pipes with a cap (the parent
 * never holds more than the cap and kills the run on overflow), and a
 * wall-clock timeout that kills the whole process group.
 *
 * Thread-safe: several threads may run programs at once. The calling process
 * must not ignore SIGCHLD (the exit status is read with wait4). */
#ifndef RLVR_EXEC_H
#define RLVR_EXEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  RLVR_EXEC_LANG_PYTHON = 0, /* /usr/bin/python3 -I -B main.py */
  RLVR_EXEC_LANG_LUA,        /* /usr/bin/lua5.4 main.lua */
  RLVR_EXEC_LANG_COUNT,
} rlvr_exec_lang;

typedef enum {
  RLVR_EXEC_STATUS_OK = 0,       /* exited with code 0 */
  RLVR_EXEC_STATUS_ERROR,        /* exited with a non-zero code */
  RLVR_EXEC_STATUS_KILLED,       /* died of a signal it brought on itself (SIGSEGV, SIGABRT, SIGXFSZ, ...) */
  RLVR_EXEC_STATUS_TIMEOUT,      /* wall-clock or CPU limit */
  RLVR_EXEC_STATUS_OUTPUT_LIMIT, /* stdout or stderr passed output_bytes */
  RLVR_EXEC_STATUS_SANDBOX_ERROR /* the sandbox could not be set up: an infrastructure failure */
} rlvr_exec_status;

typedef enum {
  RLVR_EXEC_ISOLATION_AUTO = 0,   /* namespaces where the kernel allows, else rlimits */
  RLVR_EXEC_ISOLATION_NAMESPACES, /* namespaces or a sandbox error */
  RLVR_EXEC_ISOLATION_RLIMITS,    /* the fallback, even where namespaces work (tests use it) */
} rlvr_exec_isolation;

typedef struct {
  int64_t timeout_ms;     /* wall clock from start to kill, > 0 */
  int64_t cpu_ms;         /* RLIMIT_CPU, rounded up to whole seconds; 0 = timeout_ms */
  int64_t memory_bytes;   /* RLIMIT_AS of each process */
  int64_t output_bytes;   /* cap on stdout and on stderr, each */
  int64_t file_bytes;     /* RLIMIT_FSIZE: largest file the program may write */
  int64_t scratch_bytes;  /* size of the scratch tmpfs (namespaces only) */
  int nproc;              /* RLIMIT_NPROC: processes and threads of the run's uid */
  int nofile;             /* RLIMIT_NOFILE */
  rlvr_exec_isolation isolation;
} rlvr_exec_limits;

/* Fills defaults: 5 s wall and CPU, 512 MiB address space, 1 MiB per output
 * stream, 16 MiB files, 32 MiB scratch, 32 processes, 64 files, AUTO. */
void rlvr_exec_default_limits(rlvr_exec_limits *lim);

/* Clamps every field to its allowed range (positive, and at most 10 min,
 * 64 GiB memory, 256 MiB output, 4 GiB files and scratch, 4096 processes,
 * 4096 files). Returns RLVR_OK, or RLVR_ERR_RANGE naming the first field that
 * was not positive (nothing is changed then). */
int rlvr_exec_check_limits(rlvr_exec_limits *lim);

typedef struct {
  rlvr_exec_status status;
  int exit_code;      /* when the program exited; -1 otherwise */
  int signal;         /* the signal that ended it; 0 otherwise */
  char *out;          /* stdout, NUL-terminated, at most output_bytes (owned, free with _result_free) */
  size_t out_len;
  char *err;          /* stderr, same rules */
  size_t err_len;
  int out_truncated;  /* 1 when the program wrote more than the cap to that stream */
  int err_truncated;
  double wall_ms;     /* from the start of set-up to the reaping of the process */
  double cpu_ms;      /* user + system time of the program (and the children it waited for) */
  int64_t max_rss_kb;
  const char *isolation; /* static text: "namespaces", "rlimits+seccomp+landlock", "rlimits+seccomp" */
  int pid;            /* host pid of the run's first process (reaped: for diagnostics only) */
  unsigned run_uid;   /* host uid the run's processes had; 0 when the caller is not root (its own uid) */
  char message[256];  /* why, for SANDBOX_ERROR, TIMEOUT (wall or cpu) and OUTPUT_LIMIT; else "" */
} rlvr_exec_result;

/* Runs source[0..source_len) as a program of language lang, with
 * stdin_data[0..stdin_len) (may be NULL when stdin_len is 0) on its standard
 * input, under lim (NULL = defaults; clamped as by rlvr_exec_check_limits).
 *
 * Returns RLVR_OK when the program ran, whatever it did (res->status says
 * how it ended). Returns a negative RLVR_ERR_* when the sandbox could not be
 * set up; res is filled then too, with status SANDBOX_ERROR and the reason in
 * res->message and rlvr_error_message(). res is always initialised and must
 * be released with rlvr_exec_result_free. */
int rlvr_exec_run(rlvr_exec_lang lang, const char *source, size_t source_len, const char *stdin_data,
                  size_t stdin_len, const rlvr_exec_limits *lim, rlvr_exec_result *res);

void rlvr_exec_result_free(rlvr_exec_result *res); /* accepts NULL and a zeroed result */

/* "ok", "error", "killed", "timeout", "output-limit", "sandbox-error". */
const char *rlvr_exec_status_name(rlvr_exec_status s);

/* "python" (also "python3", "py") or "lua" (also "lua5.4"); returns
 * RLVR_EXEC_LANG_COUNT for anything else. */
rlvr_exec_lang rlvr_exec_lang_from_name(const char *name);

/* Replaces the interpreter of a language (default /usr/bin/python3 and
 * /usr/bin/lua5.4). The path must be absolute and lie under /usr, the only
 * part of the host's file system that a sandboxed run can see. Returns
 * RLVR_OK or RLVR_ERR_ARG. Not thread-safe: call before running programs. */
int rlvr_exec_set_interpreter(rlvr_exec_lang lang, const char *path);

/* What AUTO resolves to on this machine: probes once (by running a trivial
 * Lua program in namespaces) and caches the answer. Returns
 * RLVR_EXEC_ISOLATION_NAMESPACES or RLVR_EXEC_ISOLATION_RLIMITS; when it is
 * RLIMITS, *why (if not NULL) points to a static text saying what failed. */
rlvr_exec_isolation rlvr_exec_probe(const char **why);

/* Landlock ABI version of the running kernel, 0 when it has none. */
int rlvr_exec_landlock_abi(void);

#endif
