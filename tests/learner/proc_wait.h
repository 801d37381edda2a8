/* proc_wait.h — waiting on the processes and files of the end-to-end
 * learner tests (test_train.c, test_processes.c, test_curriculum_train.c):
 * a monotonic clock, a child's exit with a deadline, and a growing file's
 * line count. Polls every 20 ms. */
#ifndef RLVR_TESTS_PROC_WAIT_H
#define RLVR_TESTS_PROC_WAIT_H

#include <sys/types.h>

/* Seconds on the monotonic clock. */
double proc_now_s(void);
/* Waits up to seconds for the child pid; returns its wait status, or -1
 * after killing it (SIGKILL; to its whole process group when group is set,
 * for a child that called setpgid(0, 0)). */
int proc_wait_exit(pid_t pid, double seconds, int group);
/* The number of '\n' in the file at path (0 when it cannot be read). */
int proc_count_lines(const char *path);
/* Waits up to seconds for the file to hold n lines; 1 when it does. */
int proc_wait_lines(const char *path, int n, double seconds);

#endif
