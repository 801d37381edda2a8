/* slurm.h — sweeps on Slurm: the sbatch job-array script, its submission,
 * and what the queue says about a sweep's runs.
 *
 * One array element per run: the array task id is the run's index in the
 * sweep, and the element runs `rlvr sweep --exec SWEEP --index ID` (the
 * supervisor of runner.h). The script comes from a template with {{VAR}}
 * placeholders: experiments/slurm/array.sbatch (one node per run) or
 * experiments/slurm/multinode.sbatch (learner on the first node, rollout
 * workers on the others), or a file the user names. Variables:
 *
 *   {{NAME}}            the sweep's name
 *   {{JOB_NAME}}        "rlvr-<name>"
 *   {{ARRAY}}           the array spec: "0-3,7" (and "%N" with a throttle)
 *   {{SWEEP_DIR}}       the sweep directory, absolute
 *   {{RLVR}}            this binary, absolute
 *   {{SIGNAL_SECONDS}}  seconds before the time limit that SIGUSR1 comes
 *   {{NODES}}           nodes per run
 *   {{SBATCH_OPTIONS}}  one "#SBATCH --opt=value" line per option (the
 *                       spec's slurm table, then the command line's)
 *
 * Paths go into the script unquoted, so the sweep directory and the binary
 * must be made of [A-Za-z0-9/._+,=@-] (checked). */
#ifndef RLVR_SLURM_H
#define RLVR_SLURM_H

#include "experiments/sweep_dir.h"

typedef struct {
  const char *template_path; /* NULL: the built-in one for nodes (in templates_dir) */
  const char *templates_dir; /* where array.sbatch and multinode.sbatch are */
  const char *rlvr_bin;      /* absolute path of this binary */
  char **sbatch;             /* more "--opt=value" after the spec's (may be NULL) */
  int nsbatch;
  int max_running;           /* array throttle; 0 = none */
  int signal_seconds;        /* > 0 */
  int nodes;                 /* >= 1 */
} rlvr_slurm_options;

/* Replaces every {{KEY}} of tmpl by its value. An unknown or unclosed
 * placeholder is RLVR_ERR_FORMAT naming tmpl_name and the line. *out is
 * malloc'd. */
int rlvr_slurm_render(const char *tmpl, const char *tmpl_name, const char *const *keys, const char *const *values,
                      int n, char **out);

/* "0-3,5,7-9": sorted indices (unique) as Slurm's --array syntax. */
char *rlvr_slurm_array_spec(const int *indices, int n);

/* The script for runs indices[0..n) (malloc'd text). */
int rlvr_slurm_script(const rlvr_sweep_dir *d, const int *indices, int n, const rlvr_slurm_options *o, char **text);

/* Writes that script to SWEEP/slurm/array-<k>.sbatch (k = the submission
 * number) and returns its path (malloc'd). */
int rlvr_slurm_write_script(const rlvr_sweep_dir *d, const int *indices, int n, const rlvr_slurm_options *o,
                            char **script_path);

/* sbatch --parsable SCRIPT; the job id (malloc'd) and the submission
 * recorded in the manifest. RLVR_ERR_IO with sbatch's output on failure. */
int rlvr_slurm_submit(rlvr_sweep_dir *d, const char *script_path, const int *indices, int n, char **job_id);

typedef struct {
  char state[32];  /* squeue's %T: PENDING, RUNNING, ... ("" = not in the queue) */
  char reason[64]; /* squeue's %r */
  char final[32];  /* sacct's State for a task that left the queue ("" = unknown) */
  char final_exit[16];
} rlvr_slurm_task;

/* The queue's view of each run (tasks[nruns], zeroed first): squeue for the
 * latest submission that holds the run, and sacct where accounting works.
 * Returns RLVR_OK, or RLVR_ERR_IO when squeue cannot be run (no Slurm). */
int rlvr_slurm_query(const rlvr_sweep_dir *d, rlvr_slurm_task *tasks);

/* Runs argv (no shell), collecting its stdout and stderr together
 * (malloc'd, NUL-terminated) and its exit status (-1 if it could not start
 * or was killed). */
int rlvr_run_capture(char *const argv[], char **output, int *status);

#endif
