/* test_exec.c — the sandboxed executor (verifiers/exec.h) on ordinary
 * programs, in both isolation modes: input and output, exit codes and
 * signals, each limit and its status, the environment the program sees,
 * concurrency, and rlvr.exec from Lua. The hostile programs are in
 * test_exec_hostile.c. */
#include <lauxlib.h>
#include <lualib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "testing.h"
#include "verifiers/exec.h"
#include "verifiers/lua_modules.h"

static rlvr_exec_isolation mode;
static const char *mode_name;

static rlvr_exec_limits limits(int64_t timeout_ms) {
  rlvr_exec_limits l;
  rlvr_exec_default_limits(&l);
  l.timeout_ms = timeout_ms;
  l.isolation = mode;
  return l;
}

static int run(rlvr_exec_lang lang, const char *src, const char *in, const rlvr_exec_limits *l, rlvr_exec_result *r) {
  int rc = rlvr_exec_run(lang, src, strlen(src), in, in ? strlen(in) : 0, l, r);
  if (rc != RLVR_OK) fprintf(stderr, "[%s] run failed: %s\n", mode_name, r->message);
  return rc;
}

#define EXPECT_STATUS(r, s)                                                                                 \
  CHECK_MSG((r).status == (s), "[%s] status %s, expected %s (exit %d signal %d; %s; stderr: %.300s)", mode_name, \
            rlvr_exec_status_name((r).status), rlvr_exec_status_name(s), (r).exit_code, (r).signal, (r).message, \
            (r).err)

static void test_io(void) {
  rlvr_exec_limits l = limits(10000);
  rlvr_exec_result r;
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nx = sys.stdin.read()\nprint(x.upper(), end='')\nprint('err', file=sys.stderr)\n",
      "hello\nworld\n", &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(!strcmp(r.out, "HELLO\nWORLD\n"), "[%s] stdout '%s'", mode_name, r.out);
  CHECK_MSG(!strcmp(r.err, "err\n"), "[%s] stderr '%s'", mode_name, r.err);
  CHECK(r.exit_code == 0 && r.signal == 0 && r.out_len == 12);
  CHECK(r.wall_ms > 0 && r.wall_ms < 10000);
  const char *want_iso = mode == RLVR_EXEC_ISOLATION_NAMESPACES ? "namespaces" : "rlimits+seccomp";
  CHECK_MSG(!strncmp(r.isolation, want_iso, strlen(want_iso)), "[%s] isolation %s", mode_name, r.isolation);
  rlvr_exec_result_free(&r);

  run(RLVR_EXEC_LANG_LUA, "local a, b = io.read('n', 'n') io.write(a * b, '\\n') io.stderr:write('e')\n", "6 7", &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(!strcmp(r.out, "42\n") && !strcmp(r.err, "e"), "[%s] lua out '%s' err '%s'", mode_name, r.out, r.err);
  rlvr_exec_result_free(&r);

  /* No stdin: EOF at once. */
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nprint(repr(sys.stdin.read()))\n", NULL, &l, &r);
  CHECK_MSG(!strcmp(r.out, "''\n"), "[%s] empty stdin gave '%s'", mode_name, r.out);
  rlvr_exec_result_free(&r);

  /* Bytes that are not UTF-8 pass through both ways. */
  const char bin[] = "\xff\xfe\x01\x80";
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])\n", bin, &l, &r);
  CHECK_MSG(r.out_len == 4 && !memcmp(r.out, "\x80\x01\xfe\xff", 4), "[%s] binary round trip", mode_name);
  rlvr_exec_result_free(&r);

  /* A megabyte of input, echoed back. */
  size_t big = 1 << 20;
  char *in = malloc(big + 1);
  for (size_t i = 0; i < big; i++) in[i] = (char)('a' + i % 26);
  in[big] = 0;
  l.output_bytes = 2 << 20;
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nsys.stdout.write(sys.stdin.read())\n", in, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(r.out_len == big && !memcmp(r.out, in, big), "[%s] 1 MiB echo: %zu bytes back", mode_name, r.out_len);
  rlvr_exec_result_free(&r);
  free(in);
}

static void test_exit_and_signals(void) {
  rlvr_exec_limits l = limits(10000);
  rlvr_exec_result r;
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nprint('partial')\nsys.exit(3)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_ERROR);
  CHECK(r.exit_code == 3 && !strcmp(r.out, "partial\n"));
  rlvr_exec_result_free(&r);

  run(RLVR_EXEC_LANG_PYTHON, "raise ValueError('boom')\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_ERROR);
  CHECK_MSG(r.exit_code == 1 && strstr(r.err, "ValueError: boom"), "[%s] traceback: %s", mode_name, r.err);
  rlvr_exec_result_free(&r);

  run(RLVR_EXEC_LANG_LUA, "error('lua boom')\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_ERROR);
  CHECK(r.exit_code == 1 && strstr(r.err, "lua boom"));
  rlvr_exec_result_free(&r);

  /* A real segmentation fault (the kernel's SIGSEGV reaches even a PID 1). */
  run(RLVR_EXEC_LANG_PYTHON, "import ctypes\nctypes.string_at(0)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_KILLED);
  CHECK_MSG(r.signal == SIGSEGV && r.exit_code == -1, "[%s] signal %d", mode_name, r.signal);
  rlvr_exec_result_free(&r);

  run(RLVR_EXEC_LANG_PYTHON, "def f(\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_ERROR);
  CHECK(strstr(r.err, "SyntaxError") != NULL);
  rlvr_exec_result_free(&r);
}

static void test_limits(void) {
  rlvr_exec_result r;
  /* Wall clock. */
  rlvr_exec_limits l = limits(300);
  run(RLVR_EXEC_LANG_PYTHON, "import time\nprint('started', flush=True)\ntime.sleep(30)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_TIMEOUT);
  CHECK_MSG(r.wall_ms >= 300 && r.wall_ms < 2000, "[%s] wall %.0f ms for a 300 ms limit", mode_name, r.wall_ms);
  CHECK_MSG(!strcmp(r.out, "started\n"), "[%s] output before the kill is kept: '%s'", mode_name, r.out);
  CHECK(strstr(r.message, "wall-clock") != NULL);
  rlvr_exec_result_free(&r);

  /* CPU: one second of CPU under a long wall limit. */
  l = limits(20000);
  l.cpu_ms = 1000;
  run(RLVR_EXEC_LANG_LUA, "while true do end\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_TIMEOUT);
  CHECK_MSG(strstr(r.message, "CPU") && r.cpu_ms >= 500 && r.wall_ms < 10000, "[%s] cpu %.0f ms wall %.0f: %s",
            mode_name, r.cpu_ms, r.wall_ms, r.message);
  rlvr_exec_result_free(&r);

  /* Output: exactly the cap passes, one byte more does not. */
  l = limits(10000);
  l.output_bytes = 1000;
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nsys.stdout.write('x' * 1000)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK(r.out_len == 1000 && !r.out_truncated);
  rlvr_exec_result_free(&r);
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nsys.stdout.write('x' * 1001)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OUTPUT_LIMIT);
  CHECK(r.out_len == 1000 && r.out_truncated && strlen(r.out) == 1000);
  rlvr_exec_result_free(&r);
  run(RLVR_EXEC_LANG_PYTHON, "import sys\nsys.stderr.write('y' * 5000)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OUTPUT_LIMIT);
  CHECK(r.err_len == 1000 && r.err_truncated && strstr(r.message, "stderr"));
  rlvr_exec_result_free(&r);

  /* Memory: RLIMIT_AS makes the allocation fail inside the program. */
  l = limits(10000);
  l.memory_bytes = 200ll << 20;
  run(RLVR_EXEC_LANG_PYTHON, "x = b'x' * (400 << 20)\n", NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_ERROR);
  CHECK_MSG(strstr(r.err, "MemoryError") != NULL, "[%s] stderr: %s", mode_name, r.err);
  rlvr_exec_result_free(&r);

  /* File size: a write past RLIMIT_FSIZE fails (EFBIG, or SIGXFSZ outside a PID namespace). */
  l = limits(10000);
  l.file_bytes = 1 << 20;
  run(RLVR_EXEC_LANG_PYTHON, "f = open('big', 'wb')\nf.write(b'x' * (2 << 20))\nf.close()\n", NULL, &l, &r);
  CHECK_MSG(r.status == RLVR_EXEC_STATUS_ERROR || (r.status == RLVR_EXEC_STATUS_KILLED && r.signal == SIGXFSZ),
            "[%s] file over the limit: %s signal %d", mode_name, rlvr_exec_status_name(r.status), r.signal);
  rlvr_exec_result_free(&r);

  /* Processes: RLIMIT_NPROC stops the tenth. */
  l = limits(10000);
  l.nproc = 8;
  run(RLVR_EXEC_LANG_PYTHON,
      "import os, time\nn = 0\nfor i in range(20):\n    try:\n        if os.fork() == 0:\n            time.sleep(5)\n"
      "            os._exit(0)\n        n += 1\n    except OSError:\n        break\nprint(n, flush=True)\nos._exit(0)\n",
      NULL, &l, &r);
  int forked = atoi(r.out);
  CHECK_MSG(r.status == RLVR_EXEC_STATUS_OK && forked >= 1 && forked < 8, "[%s] forked %d under nproc 8 (%s)",
            mode_name, forked, r.out);
  CHECK_MSG(r.wall_ms < 4000, "[%s] sleeping children did not outlive the run: %.0f ms", mode_name, r.wall_ms);
  rlvr_exec_result_free(&r);

  /* The scratch space is capped (namespaces: a tmpfs of scratch_bytes). */
  if (mode == RLVR_EXEC_ISOLATION_NAMESPACES) {
    l = limits(10000);
    l.scratch_bytes = 4 << 20;
    run(RLVR_EXEC_LANG_PYTHON,
        "n = 0\ntry:\n    for i in range(100):\n        open('f%d' % i, 'wb').write(b'x' * (1 << 20))\n        n += 1\n"
        "except OSError as e:\n    print(n, e.errno)\n",
        NULL, &l, &r);
    CHECK_MSG(r.status == RLVR_EXEC_STATUS_OK && atoi(r.out) <= 4 && strstr(r.out, " 28"), "[%s] scratch cap: %s",
              mode_name, r.out);
    rlvr_exec_result_free(&r);
  }

  /* Bad limits. */
  l = limits(0);
  CHECK(rlvr_exec_check_limits(&l) == RLVR_ERR_RANGE);
  CHECK(rlvr_exec_run(RLVR_EXEC_LANG_PYTHON, "", 0, NULL, 0, &l, &r) == RLVR_ERR_RANGE);
  CHECK(r.status == RLVR_EXEC_STATUS_SANDBOX_ERROR && strstr(r.message, "timeout_ms"));
  rlvr_exec_result_free(&r);
  l = limits(1ll << 40);
  l.output_bytes = 1ll << 40;
  CHECK(rlvr_exec_check_limits(&l) == RLVR_OK && l.timeout_ms == 600000 && l.output_bytes == 256ll << 20);
}

static void test_environment(void) {
  rlvr_exec_limits l = limits(10000);
  rlvr_exec_result r;
  setenv("RLVR_EXEC_TEST_VISIBLE", "no", 1);
  run(RLVR_EXEC_LANG_PYTHON, "import os\nprint(' '.join(sorted(os.environ)))\nprint(os.getcwd() == os.environ['HOME'])\n",
      NULL, &l, &r);
  CHECK_MSG(!strcmp(r.out, "HOME LANG PATH TMPDIR\nTrue\n"), "[%s] environment: %s", mode_name, r.out);
  rlvr_exec_result_free(&r);

  /* The usual standard library works under the filter: threads, subprocesses, files. */
  run(RLVR_EXEC_LANG_PYTHON,
      "import json, re, math, collections, itertools, heapq, bisect, functools, random, decimal, fractions\n"
      "import datetime, typing, threading, subprocess, tempfile\n"
      "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
      "print(subprocess.run(['echo', 'sub'], capture_output=True, text=True).stdout.strip())\n"
      "with tempfile.NamedTemporaryFile('w') as f: f.write('x')\n"
      "print(json.dumps({'a': math.gcd(12, 18)}), random.randint(1, 1))\n",
      NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(!strcmp(r.out, "sub\n{\"a\": 6} 1\n"), "[%s] stdlib: %s", mode_name, r.out);
  rlvr_exec_result_free(&r);

  /* A process left behind by a program that exits does not hold the run open. */
  run(RLVR_EXEC_LANG_PYTHON, "import os, time\nif os.fork() == 0:\n    time.sleep(30)\nelse:\n    print('parent done')\n",
      NULL, &l, &r);
  EXPECT_STATUS(r, RLVR_EXEC_STATUS_OK);
  CHECK_MSG(r.wall_ms < 3000 && !strcmp(r.out, "parent done\n"), "[%s] background child: %.0f ms, '%s'", mode_name,
            r.wall_ms, r.out);
  rlvr_exec_result_free(&r);
}

typedef struct {
  int id, ok;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  rlvr_exec_limits l = limits(20000);
  for (int i = 0; i < 4; i++) {
    char src[128], want[64];
    snprintf(src, sizeof src, "print(%d * 1000 + %d)\n", a->id, i);
    snprintf(want, sizeof want, "%d\n", a->id * 1000 + i);
    rlvr_exec_result r;
    rlvr_exec_lang lang = i % 2 ? RLVR_EXEC_LANG_LUA : RLVR_EXEC_LANG_PYTHON;
    rlvr_exec_run(lang, src, strlen(src), NULL, 0, &l, &r);
    a->ok += r.status == RLVR_EXEC_STATUS_OK && !strcmp(r.out, want);
    rlvr_exec_result_free(&r);
  }
  return NULL;
}

static void test_threads(void) {
  pthread_t th[4];
  thread_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thread_arg){i + 1, 0};
    pthread_create(&th[i], NULL, thread_main, &args[i]);
  }
  int ok = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ok += args[i].ok;
  }
  CHECK_MSG(ok == 16, "[%s] %d of 16 concurrent runs right", mode_name, ok);
}

/* rlvr.exec from Lua, in a plain state with the `rlvr` table. */
static void test_lua_binding(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_newtable(L);
  rlvr_lua_open_exec(L);
  lua_setglobal(L, "rlvr");
  char chunk[2048];
  snprintf(chunk, sizeof chunk,
           "local iso = '%s'\n"
           "local r = rlvr.exec('python', 'print(input()[::-1])', 'abc\\n', {timeout_ms = 5000, isolation = iso})\n"
           "assert(r.status == 'ok' and r.stdout == 'cba\\n' and r.exit_code == 0 and r.signal == nil, r.status .. ' ' .. tostring(r.signal) .. ' ' .. r.wall_ms .. ' ' .. r.stderr)\n"
           "assert(r.stdout_truncated == false and type(r.wall_ms) == 'number' and r.isolation ~= nil)\n"
           "r = rlvr.exec('lua', 'os.exit(5)', nil, {isolation = iso})\n"
           "assert(r.status == 'error' and r.exit_code == 5, r.status)\n"
           "r = rlvr.exec('py', 'print(1)', '', {output_bytes = 1, isolation = iso})\n"
           "assert(r.status == 'output-limit' and r.stdout == '1' and r.stdout_truncated, r.status)\n"
           "r = rlvr.exec('python', 'while True: pass', '', {timeout_ms = 200, isolation = iso})\n"
           "assert(r.status == 'timeout' and r.exit_code == nil and r.signal == 9, r.status)\n"
           "assert(not pcall(rlvr.exec, 'cobol', 'x'))\n"
           "local ok, e = pcall(rlvr.exec, 'python', 'x', '', {timout_ms = 5})\n"
           "assert(not ok and e:find('unknown limit'), e)\n"
           "ok, e = pcall(rlvr.exec, 'python', 'x', '', {timeout_ms = -5})\n"
           "assert(not ok and e:find('> 0'), e)\n"
           "ok, e = pcall(rlvr.exec, 'python', 'x', '', {isolation = 'none'})\n"
           "assert(not ok and e:find('isolation'), e)\n"
           "return true\n",
           mode == RLVR_EXEC_ISOLATION_NAMESPACES ? "namespaces" : "rlimits");
  int rc = luaL_dostring(L, chunk);
  CHECK_MSG(rc == LUA_OK, "[%s] lua: %s", mode_name, rc == LUA_OK ? "" : lua_tostring(L, -1));
  lua_settop(L, 0);

  /* A missing interpreter is a sandbox error, reported as a status, not raised. */
  CHECK(rlvr_exec_set_interpreter(RLVR_EXEC_LANG_LUA, "/tmp/lua") == RLVR_ERR_ARG);
  CHECK(rlvr_exec_set_interpreter(RLVR_EXEC_LANG_LUA, "/usr/bin/no-such-lua") == RLVR_OK);
  rc = luaL_dostring(L, "local r = rlvr.exec('lua', 'print(1)') "
                        "assert(r.status == 'sandbox-error' and r.message:find('no%-such%-lua'), r.status) return true");
  CHECK_MSG(rc == LUA_OK, "[%s] lua sandbox-error: %s", mode_name, rc == LUA_OK ? "" : lua_tostring(L, -1));
  CHECK(rlvr_exec_set_interpreter(RLVR_EXEC_LANG_LUA, "/usr/bin/lua5.4") == RLVR_OK);
  lua_close(L);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
#define TIMED(call)                                                                                \
  do {                                                                                             \
    double t0_ = now_s();                                                                          \
    call;                                                                                          \
    printf("[%s] %-28s %.2f s\n", mode_name, #call, now_s() - t0_);                               \
  } while (0)

int main(void) {
  const char *why = NULL;
  rlvr_exec_isolation auto_mode = rlvr_exec_probe(&why);
  printf("AUTO isolation on this machine: %s%s%s; landlock ABI %d\n",
         auto_mode == RLVR_EXEC_ISOLATION_NAMESPACES ? "namespaces" : "rlimits", *why ? " because " : "", why,
         rlvr_exec_landlock_abi());
  rlvr_exec_isolation modes[2] = {RLVR_EXEC_ISOLATION_NAMESPACES, RLVR_EXEC_ISOLATION_RLIMITS};
  for (int m = 0; m < 2; m++) {
    mode = modes[m];
    mode_name = m == 0 ? "namespaces" : "rlimits";
    if (mode == RLVR_EXEC_ISOLATION_NAMESPACES && auto_mode != RLVR_EXEC_ISOLATION_NAMESPACES) {
      printf("skipping namespaces: %s\n", why);
      continue;
    }
    int before = test_failures;
    TIMED(test_io());
    TIMED(test_exit_and_signals());
    TIMED(test_limits());
    TIMED(test_environment());
    TIMED(test_threads());
    TIMED(test_lua_binding());
    printf("%s: %s\n", mode_name, test_failures == before ? "ok" : "FAILED");
  }
  return test_done();
}
