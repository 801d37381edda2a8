/* compare.h — comparing runs: final and best metrics, mean and standard
 * deviation over seeds, the config keys that tell the runs apart, and their
 * curves.
 *
 * Inputs are run directories (holding metrics.jsonl), sweep directories
 * (sweep.json: their runs in sweep order), or directories whose
 * subdirectories are runs. For each run:
 *   - metrics.jsonl: one JSON object per line (docs/metrics.md); a metric is
 *     a numeric field, nested objects give dotted names ("timing.step_s");
 *     the x axis is the line's "step" (else its line number); a null value
 *     (no data that step) is kept as a NAN point: it counts in no
 *     statistic and breaks the curve (a gap, never a 0); a last line
 *     without its newline is a line being written and is ignored;
 *   - summary.json (optional): numeric leaves by dotted path
 *     ("eval.grpo.accuracy"), shown as "summary:eval.grpo.accuracy"; and the
 *     held-out accuracy of rlvr train (docs/metrics.md) as three metrics:
 *     heldout_before (eval.sft.accuracy, else eval.initial.accuracy),
 *     heldout_after (eval.grpo.accuracy) and heldout_gain_points
 *     (100 * (after - before), per run, so that its mean and standard
 *     deviation over seeds are those of the runs' own gains);
 *   - the config: sweep_config.lua (the sweep's), else config.lua (the
 *     run's own), resolved over the defaults.
 *
 * Groups: the config keys whose values differ between runs are the table's
 * columns, leaving out run.dir, run.seed (seeds are the replicates) and keys
 * whose value holds the run's own directory in every run (paths the run
 * derives, like model.path after a warm start). Runs with equal values of
 * those keys form a group; a run without a config is a group of its own.
 *
 * Per group and metric: final (the last non-null value of each run) and
 * best (the largest, or the smallest for a metric marked ":min"; names
 * ending in "loss" and "kl" are minimised by default), as the mean over the
 * group's runs that have a value and the sample standard deviation (n - 1;
 * none for one run). */
#ifndef RLVR_COMPARE_H
#define RLVR_COMPARE_H

#include <stdint.h>
#include <stdio.h>

/* Held-out accuracy metrics, computed from summary.json's "eval". */
enum {
  RLVR_COMPARE_HELDOUT_NONE = 0,
  RLVR_COMPARE_HELDOUT_BEFORE, /* "heldout_before": eval.sft.accuracy, else eval.initial.accuracy */
  RLVR_COMPARE_HELDOUT_AFTER,  /* "heldout_after": eval.grpo.accuracy */
  RLVR_COMPARE_HELDOUT_GAIN,   /* "heldout_gain_points": 100 * (after - before) */
};

typedef struct {
  char *name;       /* field name in metrics.jsonl, the path in summary.json, or heldout_* */
  int from_summary; /* 1: a summary.json value (one number per run) */
  int heldout;      /* RLVR_COMPARE_HELDOUT_*; from_summary is 1 for these */
  int minimize;     /* best = smallest */
} rlvr_compare_metric;

typedef struct {
  double *step, *value; /* [n] in file order; value NAN where the line had null */
  int n, cap;
} rlvr_series;

typedef struct {
  char *dir;   /* as found */
  char *label; /* the sweep's run name, or the directory's last component */
  int has_config;
  char **keys, **values; /* resolved config, sorted by key */
  int nkeys;
  int64_t seed;          /* run.seed, or -1 without a config */
  rlvr_series *series;   /* [nmetrics]; for a summary metric, n is 0 or 1 */
  double last_step;      /* of metrics.jsonl, NAN if empty */
} rlvr_compare_run;

typedef struct {
  char *label;          /* "key=value, ..." of the differing keys, or the run's label */
  char **values;        /* [ndiff] the group's values of the differing keys */
  int *runs, nruns;     /* indices into runs */
} rlvr_compare_group;

typedef struct {
  rlvr_compare_run *runs;
  int nruns;
  rlvr_compare_metric *metrics;
  int nmetrics;
  char **diff_keys; /* the differing keys, sorted */
  int ndiff;
  rlvr_compare_group *groups;
  int ngroups;
  int smooth; /* plots: trailing mean over this many points (1 = none) */
} rlvr_compare;

/* Loads the runs under paths[0..npaths) and the metrics named in
 * metric_names[0..nnames) ("reward", "timing.step_s", "loss:min",
 * "summary:eval.grpo.accuracy", "heldout_after", or "heldout" for the
 * three held-out metrics). nnames = 0 picks, of those some run has a
 * (non-null) value of: reward, accuracy, maj_at_g, pass_at_g and
 * consensus_majority_correct from metrics.jsonl, then heldout_before,
 * heldout_after and heldout_gain_points, then every other summary value
 * whose path holds "accuracy".
 * Errors (RLVR_ERR_IO, RLVR_ERR_FORMAT naming file and line, RLVR_ERR_ARG
 * for a named metric no run has a value of, with the fields there are)
 * leave *out NULL.
 * Runs without metrics.jsonl in a sweep (not started yet) are skipped with
 * a note on log (may be NULL). */
int rlvr_compare_load(rlvr_compare **out, const char *const *paths, int npaths, const char *const *metric_names,
                      int nnames, FILE *log);
void rlvr_compare_free(rlvr_compare *c); /* accepts NULL and half-built */

/* A group's statistic of metric m over its runs: final (best = 0) or best.
 * *n gets how many runs have the metric; *std is NAN when *n < 2. */
void rlvr_compare_stat(const rlvr_compare *c, int group, int m, int best, double *mean, double *std, int *n);

/* A metric's column header in the tables: "reward final", "loss best (min)",
 * "eval.grpo.accuracy", "held-out after", "held-out gain (points)". */
void rlvr_compare_metric_header(const rlvr_compare_metric *m, int best, char *buf, size_t cap);

/* The table: one row per group (per_run = 0) or per run (per_run = 1). */
void rlvr_compare_print_markdown(const rlvr_compare *c, FILE *out, int per_run);
void rlvr_compare_print_csv(const rlvr_compare *c, FILE *out, int per_run);

/* A self-contained HTML page: the table and one SVG figure per metric of
 * metrics.jsonl (every run's curve thin, each group's mean thick, one colour
 * per group). RLVR_ERR_IO naming path. */
int rlvr_compare_write_html(const rlvr_compare *c, const char *path, const char *title);

/* One figure as SVG text (malloc'd): metric m of every run. Exposed for tests. */
char *rlvr_compare_svg(const rlvr_compare *c, int m);

#endif
