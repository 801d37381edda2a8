/* runner.h — running the runs of a sweep: one run under a supervisor, and
 * many at once on this machine.
 *
 * The supervisor (rlvr_sweep_exec) is the same whether the local runner
 * forks it or a Slurm array element starts it (`rlvr sweep --exec`):
 *
 *  1. a run whose state is done is left alone (a requeued or resubmitted
 *     element of a finished run does nothing);
 *  2. the state becomes running (attempt n, host, pids, Slurm ids), and the
 *     run's command starts in its own process group with stdout and stderr
 *     appended to DIR/<run>/run.log:
 *        COMMAND... DIR/<run>/sweep_config.lua --set run.dir=DIR/<run>
 *                   [--set EXTRA ...] [RESUME_FLAG]
 *     RESUME_FLAG when an earlier attempt exists and DIR/<run>/RESUME_WHEN
 *     does (RESUME_WHEN "" = always on a later attempt);
 *  3. SIGTERM, SIGINT or SIGUSR1 to the supervisor stop the run: the first
 *     is passed on to the run's process group as SIGINT (the run checkpoints
 *     and exits), later ones only if they are SIGINT (a second Ctrl-C). The
 *     run then ends as stopped, whatever its exit status. After SIGUSR1
 *     (Slurm's warning that the time limit is near: sbatch
 *     --signal=B:USR1@T) the supervisor requeues its own job (`scontrol
 *     requeue`), so the run goes on from its checkpoint in a new allocation;
 *  4. the state becomes done (exit status 0, unless the run's summary.json
 *     says "finished": false: `rlvr train` stopped early by a signal from
 *     elsewhere also exits 0), failed (another status or a signal, and the
 *     log's last lines) or stopped.
 *
 * Why SIGINT: a Slurm kill (requeue, preemption, scancel) sends SIGTERM to
 * every process of the job, the run too; `rlvr train` stops cleanly on the
 * first SIGTERM and dies on a second (SA_RESETHAND), so the supervisor must
 * not add another SIGTERM. Each of SIGINT and SIGTERM once is a clean stop. */
#ifndef RLVR_RUNNER_H
#define RLVR_RUNNER_H

#include <stdio.h>

#include "experiments/sweep_dir.h"

/* Supervises run i (above). command: the program and leading arguments
 * for this attempt instead of the manifest's (NULL: the manifest's; the
 * multi-node template runs `rlvr learner`). extra: "key=value" overrides
 * added to the command line (may be NULL). *state gets the final state.
 * Returns RLVR_OK once the run has ended, whatever its result; an error only
 * when the supervisor itself could not work (state file, log, fork). */
int rlvr_sweep_exec(const rlvr_sweep_dir *d, int i, char **command, int ncommand, char **extra, int nextra,
                    rlvr_run_state *state);

/* The process exit status for a supervisor that ended with this state: 0
 * done, 1 failed, 143 (128 + SIGTERM) stopped. */
int rlvr_sweep_exec_exit_code(rlvr_run_state state);

typedef struct {
  int done, failed, stopped, skipped; /* skipped: already done or running elsewhere */
} rlvr_local_summary;

/* Runs the runs in which[0..n) on this machine, at most parallel at once,
 * each under its own supervisor (a forked child). Holds DIR/.lock for its
 * whole length (a second runner on the same sweep is RLVR_ERR_ARG). A run
 * that another live supervisor on this host runs is skipped. SIGINT or
 * SIGTERM stops every running run (each checkpoints; state stopped) and
 * starts no more. Progress lines go to log (may be NULL). */
int rlvr_sweep_run_local(const rlvr_sweep_dir *d, const int *which, int n, int parallel, FILE *log,
                         rlvr_local_summary *sum);

/* 1 when the state says running and its supervisor is alive: the host is
 * this one and the pid exists. Runs recorded on another host count as alive
 * (nothing here can tell). */
int rlvr_run_status_live(const rlvr_run_status *st);

#endif
