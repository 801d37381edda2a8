/* sweep.h — sweep specs: a Lua file that expands a base config into runs.
 *
 * A spec returns a table:
 *
 *   return {
 *     name = "aggregation",                    -- default: the file name
 *     base = "experiments/default.lua",        -- a config file, or a table of keys
 *     variants = {                             -- optional named bundles of keys
 *       { name = "grpo", loss = { aggregation = "grpo" } },
 *       { name = "dapo", ["loss.aggregation"] = "dapo", ["loss.eps_high"] = 0.28 },
 *     },
 *     grid = { ["optim.lr"] = { 1e-6, 3e-6 } },          -- cartesian product
 *     zip  = { ["sample.max_tokens"] = { 64, 128 },       -- parallel lists
 *              ["loss.max_tokens"]   = { 64, 128 } },
 *     seeds = { 1, 2, 3 },                     -- run.seed of each replicate
 *     command = { "rlvr", "train" },           -- what runs each run (below)
 *     slurm = { partition = "gpu", time = "04:00:00", cpus_per_task = 8 },
 *   }
 *
 * Runs: seeds (outermost) x variants x grid (keys sorted, the first varies
 * slowest) x zip. Each run is a list of "dotted.key=value" overrides applied
 * in order after the base file: the base table's keys, the variant's, the
 * grid's, the zip's, then run.seed. Every run's config is resolved at load
 * (rlvr_config_set), so a typo fails before anything starts, with the
 * nearest valid key.
 *
 * A run's name is the readable list of what varies across the sweep:
 * "dapo,lr=3e-06,seed=2" (the variant's name, then key=value with the key's
 * last component unless two varying keys share it, then the seed); a sweep
 * where nothing varies has one run, "run". Names are directory names: only
 * [A-Za-z0-9._+=,-]; other bytes become '_', a value with '/' keeps its last
 * component. Two runs with the same name are an error.
 *
 * command: the program and the arguments before the config; each run
 * executes COMMAND... CONFIG.lua --set run.dir=DIR [resume_flag], the
 * interface of `rlvr train`. "rlvr" as the first word means this binary.
 * resume_flag (default "--resume") is added on every later attempt, or,
 * when resume_when names a file (relative to the run directory, e.g.
 * "checkpoints/latest"), only once that file exists; the default "" suits
 * `rlvr train`, whose --resume also works before its first checkpoint. */
#ifndef RLVR_SWEEP_H
#define RLVR_SWEEP_H

#include "core/config.h"

typedef struct {
  char *name;   /* directory name under the sweep directory */
  char **sets;  /* "dotted.key=value", applied in order after the base file */
  int nsets;
  char **labels; /* "dotted.key=value" of the keys that vary across the sweep (not run.seed) */
  int nlabels;
  int64_t seed; /* run.seed, or -1 when the spec names no seeds */
} rlvr_sweep_run;

typedef struct {
  char *name;
  char *spec_path;
  char *base_path;      /* the base config file (as found), or NULL */
  char **command;       /* program and leading arguments; never empty */
  int ncommand;
  char *resume_flag;
  char *resume_when;
  char *dir;            /* spec.dir, or NULL */
  int parallel;         /* spec.parallel; 0 = from the machine */
  char **sbatch;        /* "--key=value" from spec.slurm, in key order */
  int nsbatch;
  rlvr_sweep_run *runs;
  int nruns;
} rlvr_sweep;

/* Runs the spec (base, string, table and math libraries only), expands it
 * and resolves every run's config. A relative base path is looked up from
 * the working directory, then from the spec's directory. Errors
 * (RLVR_ERR_CONFIG, RLVR_ERR_IO) name the spec, the field and the run;
 * *out is NULL then. */
int rlvr_sweep_load(rlvr_sweep **out, const char *spec_path);
void rlvr_sweep_free(rlvr_sweep *s); /* accepts NULL and half-built */

/* The resolved config of run i: defaults, the base file, the run's sets,
 * then run.dir = run_dir (when not NULL). cfg must be initialised; on error
 * (message naming the spec and run) cfg may be partly changed. */
int rlvr_sweep_resolve(const rlvr_sweep *s, int i, const char *run_dir, rlvr_config *cfg);

/* Formats a Lua number the shortest way that reads back the same ("0.1",
 * "3e-06", "128"): cap >= 32. */
void rlvr_sweep_format_number(double v, int is_integer, char *buf, size_t cap);

/* Edit distance between two strings (for "did you mean"). */
size_t rlvr_sweep_edit_distance(const char *a, const char *b);

#endif
