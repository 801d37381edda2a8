/* report.h — the run report: one self-contained HTML page (no scripts, no
 * external files) with inline SVG plots of the run's metrics over steps,
 * so that a person can see how a run went without reading logs.
 *
 * Reads RUN/metrics.jsonl (docs/metrics.md), and when present
 * RUN/summary.json (held-out accuracy before GRPO: eval.sft, else
 * eval.initial; after: eval.grpo; the gain in points), RUN/samples.jsonl
 * (the last few samples are shown) and RUN/config.lua (shown folded).
 * Plots: reward and accuracy; accuracy, maj@G and pass@G on a [0, 1] axis;
 * for test-time RL, how often the consensus groups' majority was the real
 * answer and the samples' real accuracy; completion length (mean, min,
 * max); KL to the reference and entropy; loss and gradient norm; clip
 * fractions and the ratio; zero-spread groups; the largest
 * |recomputed - sampled| log-prob; seconds per step by phase and tokens per
 * second. A null value is a gap in its curve (never a 0); a plot whose
 * metrics are null on every step is left out. */
#ifndef RLVR_REPORT_H
#define RLVR_REPORT_H

/* Writes the report of run_dir to out_path (NULL: RUN/report.html),
 * atomically. Errors: RLVR_ERR_IO (no metrics.jsonl, or the page cannot be
 * written), RLVR_ERR_FORMAT (a metrics line that is not a JSON object,
 * naming the line). */
int rlvr_report_write(const char *run_dir, const char *out_path);

#endif
