/* proc_wait.c — waiting on test processes and files; see proc_wait.h. */
#include "proc_wait.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double proc_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int proc_wait_exit(pid_t pid, double seconds, int group) {
  const double t0 = proc_now_s();
  int status;
  while (proc_now_s() - t0 < seconds) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    usleep(20000);
  }
  kill(group ? -pid : pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

int proc_count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

int proc_wait_lines(const char *path, int n, double seconds) {
  const double t0 = proc_now_s();
  while (proc_now_s() - t0 < seconds) {
    if (proc_count_lines(path) >= n) return 1;
    usleep(20000);
  }
  return 0;
}
