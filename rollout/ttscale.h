/* ttscale.h — test-time scaling for `rlvr eval`: an s1 budget-forcing sweep
 * (Muennighoff et al. 2025, "s1: Simple test-time scaling", the scaling
 * figure: accuracy against mean thinking tokens) and the pages that show it.
 *
 * A sweep is a grid over up to three budget keys, each given as a list:
 * budget.max_think_tokens (the cap; 0 = none), budget.max_waits (how many
 * times an early end of thinking is replaced by budget.wait: s1's "Wait"
 * count) and budget.min_think_tokens. Every setting of the grid is one
 * evaluation of the same problems with the same seeds (problem i is engine
 * group i in each), so settings differ only by the forcing. When max_waits
 * is swept and min_think_tokens is neither swept nor set (0), every setting
 * gets min_think_tokens = the completion limit (max_tokens): each end of
 * thinking is then suppressed until the waits are spent, as in s1's "ignore
 * the end-of-thinking token N times".
 *
 * The record of a sweep is one JSON object (docs/eval.md, "Test-time
 * scaling"): the common settings, the axes, and per setting its budget
 * values and the whole eval summary (rlvr_eval_summary_json: accuracy, mean
 * thinking and completion tokens, waits, pass@k, maj@n, the curves over k).
 * The markdown table and the HTML page are rendered from that JSON text, so
 * they can be remade from a stored sweep.json. The page is self-contained:
 * inline SVG, no scripts. */
#ifndef RLVR_TTSCALE_H
#define RLVR_TTSCALE_H

#include "rollout/eval.h"

enum {
  RLVR_TTSCALE_MAX_VALUES = 32,   /* values per axis */
  RLVR_TTSCALE_MAX_SETTINGS = 64, /* settings in a grid */
};

/* The axes, in grid order (the first varies slowest). */
typedef enum {
  RLVR_TTSCALE_MAX_THINK = 0, /* budget.max_think_tokens */
  RLVR_TTSCALE_MAX_WAITS = 1, /* budget.max_waits */
  RLVR_TTSCALE_MIN_THINK = 2, /* budget.min_think_tokens */
  RLVR_TTSCALE_NAXES = 3,
} rlvr_ttscale_axis;

/* "max_think_tokens", "max_waits", "min_think_tokens". */
const char *rlvr_ttscale_axis_name(rlvr_ttscale_axis a);

typedef struct {
  int nvalues[RLVR_TTSCALE_NAXES]; /* 0: the axis is not swept */
  int values[RLVR_TTSCALE_NAXES][RLVR_TTSCALE_MAX_VALUES];
} rlvr_ttscale_axes;

/* Adds an axis from "KEY=V1,V2,..." (KEY one of the names above, with or
 * without "budget."; values integers >= 0, distinct). An axis given twice,
 * an unknown key or a bad value: RLVR_ERR_CONFIG naming it. */
int rlvr_ttscale_parse_axis(rlvr_ttscale_axes *a, const char *spec);

/* The settings of the grid: one options set per combination, each a copy of
 * base with budget forcing on and the swept keys set (plus the
 * min_think_tokens rule above). *out is malloc'd. RLVR_ERR_CONFIG when no
 * axis is swept, the grid has more than RLVR_TTSCALE_MAX_SETTINGS settings,
 * or a setting fails rlvr_engine_params_validate. */
int rlvr_ttscale_grid(const rlvr_ttscale_axes *a, const rlvr_eval_options *base, rlvr_eval_options **out, int *n);

/* "max_think_tokens=16 max_waits=2": the swept keys of a setting. */
void rlvr_ttscale_label(const rlvr_ttscale_axes *a, const rlvr_eval_options *o, char *buf, size_t cap);

/* Context recorded with a sweep (strings may be NULL). */
typedef struct {
  const char *model, *task, *split;
} rlvr_ttscale_info;

/* The sweep's JSON record (malloc'd text) from the grid's options, their
 * summaries and the per-setting sample files (files or an entry may be NULL). */
char *rlvr_ttscale_json(const rlvr_ttscale_info *info, const rlvr_ttscale_axes *a, const rlvr_eval_options *opts,
                        const rlvr_eval_summary *sums, const char *const *files, int n);

/* The table as markdown and the page as HTML (malloc'd text) from a sweep
 * record. A single eval summary (rlvr_eval_summary_json) is taken as a
 * one-setting sweep. RLVR_ERR_FORMAT when the text is not such a record. */
int rlvr_ttscale_markdown(const char *json, char **out);
int rlvr_ttscale_html(const char *json, char **out);

#endif
