/* status.h — what a sweep's runs are doing, from their state files and,
 * for a sweep on Slurm, the queue; and which of them --resume starts again.
 *
 * The state a run is shown in:
 *   done     its state file says so (exit status 0);
 *   running  a live supervisor runs it (on Slurm: its task is RUNNING);
 *   pending  never started, or waiting in the queue (a requeued run too);
 *   failed   its last attempt ended with another exit status or a signal;
 *   stopped  its last attempt was stopped by a signal to the supervisor, or
 *            the state file says running but nothing runs it any more (the
 *            supervisor was killed: SIGKILL, node failure, time limit).
 * Unfinished = not done and not live (running, or queued on Slurm). */
#ifndef RLVR_STATUS_H
#define RLVR_STATUS_H

#include <stdio.h>

#include "experiments/slurm.h"
#include "experiments/sweep_dir.h"

typedef struct {
  rlvr_run_status st;  /* the state file */
  rlvr_slurm_task slurm;
  rlvr_run_state shown;
  int live;            /* running, or in the Slurm queue */
  char why[512];       /* one line: exit status, signal, queue state */
} rlvr_sweep_view;

typedef struct {
  rlvr_sweep_view *runs; /* [nruns] */
  int nruns;
  int slurm;            /* the sweep has submissions */
  int slurm_queried;    /* squeue answered */
  char slurm_error[256];
} rlvr_sweep_report;

/* Reads every run's state and (for a sweep with submissions and
 * query_slurm) the queue. A queue that cannot be asked is noted in
 * slurm_error, not an error. Errors: unreadable state files. */
int rlvr_sweep_report_build(const rlvr_sweep_dir *d, int query_slurm, rlvr_sweep_report *r);
void rlvr_sweep_report_free(rlvr_sweep_report *r);

/* A table: one line per run (name, state, attempts, why), counts, and the
 * log tails of failed and stopped runs. */
void rlvr_sweep_report_print(const rlvr_sweep_dir *d, const rlvr_sweep_report *r, FILE *out);
/* The same as JSON: {"name", "dir", "counts": {...}, "runs": [{...}]}. */
void rlvr_sweep_report_json(const rlvr_sweep_dir *d, const rlvr_sweep_report *r, FILE *out);

/* Indices of the unfinished runs (malloc'd, *n of them). */
int *rlvr_sweep_report_unfinished(const rlvr_sweep_report *r, int *n);

#endif
