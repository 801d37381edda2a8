/* metrics.h — the run's JSON-lines files (metrics.jsonl, samples.jsonl) and
 * the progress line on the terminal.
 *
 * A JSON-lines file is appended one whole line at a time and flushed after
 * each, so a reader (the report, `tail -f`) sees complete lines; its length
 * in bytes is what a checkpoint stores, and a resumed run cuts the file back
 * to that length before appending again, so the file has each step once.
 * Lines are written by cJSON (numbers with 15 significant digits, or 17
 * where 15 do not round-trip): the same values give the same bytes. */
#ifndef RLVR_METRICS_H
#define RLVR_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "learner/ledger.h"

struct cJSON;

typedef struct {
  FILE *f;
  char *path;
  int64_t bytes; /* length of the file */
} rlvr_jsonl;

/* Opens path for appending. keep_bytes < 0: a fresh file (truncated to 0);
 * else the file is cut to keep_bytes (it must be at least that long: a
 * shorter one is RLVR_ERR_FORMAT, the checkpoint does not belong to it).
 * RLVR_ERR_IO naming path. */
int rlvr_jsonl_open(rlvr_jsonl *j, const char *path, int64_t keep_bytes);
/* Writes obj as one line and flushes. RLVR_ERR_IO naming the file. */
int rlvr_jsonl_write(rlvr_jsonl *j, const struct cJSON *obj);
void rlvr_jsonl_close(rlvr_jsonl *j); /* accepts a zeroed or closed one */

/* maj@G and pass@G of a step's groups, from the label statistics the rollout
 * sends with every sample of a group that has a label (components "correct"
 * and "majority_correct", rollout/consensus.h): no extra sampling, no
 * verifier run. Groups of the consensus verifier (test-time RL) are counted
 * apart as well: how often their majority answer, the pseudo-label they
 * train on, is right where a label exists, and the real accuracy of their
 * samples (their "accuracy" is agreement with the pseudo-label). */
typedef struct {
  int64_t groups;                     /* groups seen */
  int64_t labelled;                   /* of which with a label */
  int64_t majority_correct;           /* labelled groups whose majority answer is right */
  int64_t any_correct;                /* labelled groups with at least one right sample */
  int64_t consensus;                  /* groups of the consensus verifier */
  int64_t consensus_labelled;         /* of which with a label */
  int64_t consensus_majority_correct; /* of which the pseudo-label is right */
  int64_t consensus_samples;          /* samples of labelled consensus groups, infrastructure failures aside */
  int64_t consensus_samples_correct;  /* of which right against the label */
} rlvr_vote_stats;

/* Adds group g (consensus: 1 when its verifier is the consensus verifier). */
void rlvr_vote_stats_add(rlvr_vote_stats *s, const rlvr_ledger_group *g, int consensus);
/* Adds maj_at_g, pass_at_g, labelled_groups, consensus_groups,
 * consensus_majority_correct and consensus_label_accuracy to o (docs/metrics.md;
 * a fraction with nothing to count is null). */
void rlvr_vote_stats_write(const rlvr_vote_stats *s, struct cJSON *o);

/* "1m05s", "2h03m", "12s" into buf. */
void rlvr_format_duration(double seconds, char *buf, size_t cap);

/* The progress line: on a terminal (progress = 1) it rewrites one line of
 * stderr in place ("\r...\033[K"); otherwise (progress = 0) it logs a plain
 * line through rlvr_info every log_every steps (and at the last). */
typedef struct {
  int progress;
  int64_t log_every;
  int64_t total_steps;
  int line_open; /* a progress line is on the screen without its newline */
} rlvr_progress;

void rlvr_progress_init(rlvr_progress *p, int progress, int64_t total_steps);
void rlvr_progress_step(rlvr_progress *p, int64_t step, double reward, double accuracy, double tokens_per_s,
                        double eta_s, double max_logprob_diff);
/* Ends the line (a newline) if one is open; call before other output. */
void rlvr_progress_end(rlvr_progress *p);

#endif
