/* sweep_dir.h — a sweep on disk: its manifest and the state of each run.
 *
 *   SWEEP/sweep.json               the manifest: the expanded spec (runs and
 *                                  their overrides, the command with this
 *                                  binary's absolute path), and every Slurm
 *                                  submission (job id, the runs it holds)
 *   SWEEP/<run>/                   the run's directory (run.dir): the
 *                                  command's outputs (metrics.jsonl, ...) and
 *     sweep_config.lua             the resolved config the run starts from
 *     sweep_state.json             its state, written by whoever supervises it
 *     run.log                      stdout and stderr of every attempt
 *   SWEEP/slurm/                   sbatch scripts and Slurm's output files
 *
 * Every file is written atomically (core/file.h). Each run's state has its
 * own file, so that array elements on different nodes never write the same
 * file; the manifest is written only by `rlvr sweep` itself (creation and
 * submissions). Paths in the manifest are absolute, so a Slurm job started
 * anywhere finds them (the sweep directory must be on a shared filesystem).
 *
 * A run's state: pending (never started), running (a supervisor runs it,
 * pid and host recorded), done (exit status 0), failed (another exit status
 * or a signal; the log's last lines are kept), stopped (the supervisor got
 * SIGTERM, SIGINT or SIGUSR1 and passed it on: resumable). */
#ifndef RLVR_SWEEP_DIR_H
#define RLVR_SWEEP_DIR_H

#include <stdint.h>

#include "experiments/sweep.h"

typedef struct {
  char *job_id;  /* sbatch's id of the array job */
  int *indices;  /* the runs it holds (array task id = run index) */
  int nindices;
  char *script;  /* the sbatch script, absolute */
  char *submitted; /* ISO 8601 UTC */
} rlvr_sweep_submission;

typedef struct {
  char *dir;          /* absolute */
  rlvr_sweep *sweep;  /* the expanded spec, as recorded; command[0] is absolute */
  char *created;
  rlvr_sweep_submission *subs;
  int nsubs;
  /* Slurm settings of the first submission, reused by --resume: sbatch
   * options from the command line (after the spec's sweep->sbatch), nodes
   * per run, SIGUSR1 lead time, array throttle, template (NULL = built-in). */
  char **slurm_options;
  int nslurm_options;
  int slurm_nodes, slurm_signal_seconds, slurm_max_running;
  char *slurm_template;
} rlvr_sweep_dir;

/* Creates the sweep directory (dir is made absolute): each run's directory
 * and resolved config (run.dir = DIR/<run>), and the manifest. The word
 * "rlvr" as the command's program becomes self_exe. Takes ownership of s
 * (also on error). An existing manifest is RLVR_ERR_ARG ("use --resume");
 * other errors RLVR_ERR_IO / RLVR_ERR_CONFIG naming the path. */
int rlvr_sweep_dir_create(rlvr_sweep_dir **out, rlvr_sweep *s, const char *dir, const char *self_exe);

/* Reads DIR/sweep.json. RLVR_ERR_IO (no manifest) or RLVR_ERR_FORMAT naming
 * the field. */
int rlvr_sweep_dir_open(rlvr_sweep_dir **out, const char *dir);

/* Writes the manifest again (after adding a submission). */
int rlvr_sweep_dir_save(const rlvr_sweep_dir *d);

/* Records a submission (copies its fields) and saves the manifest. */
int rlvr_sweep_dir_add_submission(rlvr_sweep_dir *d, const char *job_id, const int *indices, int n,
                                  const char *script);

void rlvr_sweep_dir_free(rlvr_sweep_dir *d); /* accepts NULL */

/* DIR/<run>[/file], malloc'd. file may be NULL. */
char *rlvr_sweep_dir_path(const rlvr_sweep_dir *d, int run, const char *file);

/* The run index of a name, or -1. */
int rlvr_sweep_dir_find(const rlvr_sweep_dir *d, const char *name);

typedef enum {
  RLVR_RUN_PENDING = 0,
  RLVR_RUN_RUNNING,
  RLVR_RUN_DONE,
  RLVR_RUN_FAILED,
  RLVR_RUN_STOPPED,
} rlvr_run_state;

const char *rlvr_run_state_name(rlvr_run_state s);

typedef struct {
  rlvr_run_state state;
  int attempts;       /* starts so far, this one included */
  int resumed;        /* the latest attempt was given the resume flag */
  int exit_code;      /* of the latest attempt; -1 while running or killed by a signal */
  int signal;         /* the signal that killed the run's process, 0 if none */
  int stop_signal;    /* the signal the supervisor got and passed on, 0 if none */
  int64_t supervisor_pid, pid; /* the supervisor and the run's process */
  char host[256];
  double started, finished; /* Unix time of the latest attempt; finished 0 while running */
  char slurm_job[64];       /* "ARRAYJOB_TASK (job JOBID)" under Slurm, else "" */
  int slurm_restarts;       /* SLURM_RESTART_COUNT */
  char *log_tail;           /* the log's last lines after a failure or stop, or NULL */
} rlvr_run_status;

/* Reads SWEEP/<run>/sweep_state.json; a missing file is a pending run with
 * no attempts. RLVR_ERR_FORMAT naming the file. */
int rlvr_run_status_read(const rlvr_sweep_dir *d, int run, rlvr_run_status *st);
int rlvr_run_status_write(const rlvr_sweep_dir *d, int run, const rlvr_run_status *st);
void rlvr_run_status_clear(rlvr_run_status *st);

/* The last max_lines lines of a file (at most its last 4 KiB), malloc'd, or
 * NULL when it cannot be read or is empty. */
char *rlvr_sweep_file_tail(const char *path, int max_lines);

/* Current UTC time as "2026-01-02T03:04:05Z". */
void rlvr_sweep_now_iso(char *buf, size_t cap);

#endif
