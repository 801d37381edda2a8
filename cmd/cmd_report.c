/* cmd_report.c — `rlvr report RUN_DIR`: (re)writes the HTML report of a run
 * (learner/report.h), e.g. while it is still training, or after a stop. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "learner/report.h"

static const char *usage =
    "usage: rlvr report RUN_DIR [--out FILE]\n"
    "\n"
    "Writes RUN_DIR/report.html (or FILE): one self-contained HTML page with plots\n"
    "of reward, accuracy, maj@G and pass@G, consensus pseudo-label accuracy (test-time\n"
    "RL), completion length, KL, entropy, loss, clipping, zero-spread groups, log-prob\n"
    "mismatch and speed over the steps of RUN_DIR/metrics.jsonl (null values are gaps),\n"
    "the held-out accuracy before and after GRPO and the gain from RUN_DIR/summary.json,\n"
    "the last samples and the config.\n";

int cmd_report(int argc, char **argv) {
  const char *dir = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      return EXIT_OK;
    } else if (!strcmp(argv[i], "--out")) {
      if (i + 1 >= argc) return cmd_usage_error("report", "--out needs a file");
      out = argv[++i];
    } else if (argv[i][0] == '-' || dir) {
      return cmd_usage_error("report", "unknown argument '%s'", argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return cmd_usage_error("report", "give the run directory");
  if (rlvr_report_write(dir, out) != RLVR_OK) return cmd_fail("report", "%s", rlvr_error_message());
  fprintf(stderr, "rlvr report: wrote %s%s\n", out ? out : dir, out ? "" : "/report.html");
  return EXIT_OK;
}
