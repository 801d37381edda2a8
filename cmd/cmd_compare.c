/* cmd_compare.c — `rlvr compare RUN_DIR... | SWEEP_DIR`: a table of final and
 * best metrics per group of runs (mean and standard deviation over seeds),
 * the config keys that tell the groups apart as columns, as markdown or
 * CSV, and the curves as an HTML page with inline SVG (experiments/compare.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "experiments/compare.h"

static const char *usage =
    "usage: rlvr compare RUN_DIR... | SWEEP_DIR... [options]\n"
    "\n"
    "Compares runs: for each group of runs whose configs differ only in run.seed,\n"
    "the final and best value of each metric (mean +- sample standard deviation over\n"
    "the group's runs), with the config keys that differ between groups as columns.\n"
    "A directory may be a run (metrics.jsonl), a sweep (sweep.json) or hold runs.\n"
    "\n"
    "  --metric NAME   a metrics.jsonl field (dotted for nested: timing.step_s),\n"
    "                  summary:PATH for a summary.json value (summary:eval.grpo.accuracy),\n"
    "                  or heldout: the held-out accuracy before GRPO (eval.sft, else\n"
    "                  eval.initial), after (eval.grpo) and the gain in points, per run\n"
    "                  (also one by one: heldout_before, heldout_after, heldout_gain_points);\n"
    "                  NAME:min / NAME:max says which way is best (default max; min for\n"
    "                  names ending in loss, and kl). Repeatable. Default: those of reward,\n"
    "                  accuracy, maj_at_g, pass_at_g, consensus_majority_correct and\n"
    "                  heldout that some run has a value of, and every other summary.json\n"
    "                  value named *accuracy*. A null counts as no value, never as 0\n"
    "  --runs          one row per run instead of per group\n"
    "  --csv           CSV instead of markdown (columns NAME_final_mean, ..._std, ...)\n"
    "  --html FILE     also write the curves, one figure per metric, and the table as a\n"
    "                  self-contained HTML page\n"
    "  --smooth N      in the figures, each curve's trailing mean over N points\n"
    "  --title TEXT    the page's title\n";

int cmd_compare(int argc, char **argv) {
  const char **paths = calloc((size_t)argc + 1, sizeof *paths);
  const char **metrics = calloc((size_t)argc + 1, sizeof *metrics);
  int npaths = 0, nmetrics = 0, per_run = 0, csv = 0, smooth = 1, rc = EXIT_OK;
  const char *html = NULL, *title = NULL;
  for (int i = 1; i < argc && rc == EXIT_OK; i++) {
    const char *a = argv[i];
    const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL;
    char flag[32];
    snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    int valued = !strcmp(flag, "--metric") || !strcmp(flag, "--html") || !strcmp(flag, "--smooth") ||
                 !strcmp(flag, "--title");
    const char *v = NULL;
    if (valued) {
      v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) {
        rc = cmd_usage_error("compare", "%s needs a value", flag);
        break;
      }
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      free(paths), free(metrics);
      return EXIT_OK;
    } else if (!strcmp(a, "--runs")) {
      per_run = 1;
    } else if (!strcmp(a, "--csv")) {
      csv = 1;
    } else if (!strcmp(flag, "--metric")) {
      metrics[nmetrics++] = v;
    } else if (!strcmp(flag, "--html")) {
      html = v;
    } else if (!strcmp(flag, "--title")) {
      title = v;
    } else if (!strcmp(flag, "--smooth")) {
      char *end;
      errno = 0;
      long n = strtol(v, &end, 10);
      if (!*v || *end || errno || n < 1 || n > 100000) rc = cmd_usage_error("compare", "--smooth: '%s' is not in 1..100000", v);
      else smooth = (int)n;
    } else if (a[0] == '-') {
      rc = cmd_usage_error("compare", "unknown option '%s'", a);
    } else {
      paths[npaths++] = a;
    }
  }
  if (rc == EXIT_OK && npaths == 0) rc = cmd_usage_error("compare", "name run or sweep directories to compare");
  rlvr_compare *c = NULL;
  if (rc == EXIT_OK && rlvr_compare_load(&c, paths, npaths, metrics, nmetrics, stderr) != RLVR_OK)
    rc = cmd_fail("compare", "%s", rlvr_error_message());
  if (rc == EXIT_OK) {
    c->smooth = smooth;
    if (csv) rlvr_compare_print_csv(c, stdout, per_run);
    else rlvr_compare_print_markdown(c, stdout, per_run);
    if (html) {
      char t[512];
      if (!title) {
        snprintf(t, sizeof t, "rlvr compare: %s%s", paths[0], npaths > 1 ? " ..." : "");
        title = t;
      }
      if (rlvr_compare_write_html(c, html, title) != RLVR_OK) rc = cmd_fail("compare", "%s", rlvr_error_message());
      else fprintf(stderr, "rlvr compare: wrote %s\n", html);
    }
  }
  rlvr_compare_free(c);
  free(paths), free(metrics);
  return rc;
}
