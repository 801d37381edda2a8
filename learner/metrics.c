/* metrics.c — JSON-lines files and the progress line; see metrics.h. */
#include "learner/metrics.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "rewards/reward.h"

int rlvr_jsonl_open(rlvr_jsonl *j, const char *path, int64_t keep_bytes) {
  memset(j, 0, sizeof *j);
  if (keep_bytes >= 0) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
      if (keep_bytes > 0) return rlvr_error(RLVR_ERR_IO, "%s: %s", path, strerror(errno));
    } else if ((int64_t)sb.st_size < keep_bytes) {
      return rlvr_error(RLVR_ERR_FORMAT, "%s: %lld bytes, the checkpoint wrote %lld", path, (long long)sb.st_size,
                        (long long)keep_bytes);
    } else if (truncate(path, (off_t)keep_bytes) != 0) {
      return rlvr_error(RLVR_ERR_IO, "%s: truncate: %s", path, strerror(errno));
    }
  }
  FILE *f = fopen(path, keep_bytes < 0 ? "w" : "a");
  if (!f) return rlvr_error(RLVR_ERR_IO, "%s: %s", path, strerror(errno));
  j->f = f;
  j->path = xstrdup(path);
  j->bytes = keep_bytes < 0 ? 0 : keep_bytes;
  return RLVR_OK;
}

int rlvr_jsonl_write(rlvr_jsonl *j, const cJSON *obj) {
  char *text = cJSON_PrintUnformatted(obj);
  RLVR_CHECK(text);
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, j->f) == n && fputc('\n', j->f) != EOF && fflush(j->f) == 0;
  free(text);
  if (!ok) return rlvr_error(RLVR_ERR_IO, "%s: write: %s", j->path, strerror(errno));
  j->bytes += (int64_t)n + 1;
  return RLVR_OK;
}

void rlvr_jsonl_close(rlvr_jsonl *j) {
  if (!j) return;
  if (j->f) fclose(j->f);
  free(j->path);
  memset(j, 0, sizeof *j);
}

void rlvr_vote_stats_add(rlvr_vote_stats *s, const rlvr_ledger_group *g, int consensus) {
  s->groups++;
  s->consensus += consensus != 0;
  double maj = NAN;
  int any = 0, right = 0, counted = 0;
  for (int i = 0; i < g->g; i++) {
    const rlvr_sample_rec *r = &g->samples[i];
    if (isnan(maj) && !isnan(r->majority_correct)) maj = r->majority_correct;
    if (isnan(r->correct)) continue;
    any |= r->correct >= 0.5;
    if (!rlvr_reward_status_is_infra(r->status)) {
      counted++;
      right += r->correct >= 0.5;
    }
  }
  if (isnan(maj)) return; /* no label */
  s->labelled++;
  s->majority_correct += maj >= 0.5;
  s->any_correct += any;
  if (consensus) {
    s->consensus_labelled++;
    s->consensus_majority_correct += maj >= 0.5;
    s->consensus_samples += counted;
    s->consensus_samples_correct += right;
  }
}

static void add_fraction(cJSON *o, const char *key, int64_t num, int64_t den) {
  if (den > 0) cJSON_AddNumberToObject(o, key, (double)num / (double)den);
  else cJSON_AddNullToObject(o, key);
}

void rlvr_vote_stats_write(const rlvr_vote_stats *s, cJSON *o) {
  add_fraction(o, "maj_at_g", s->majority_correct, s->labelled);
  add_fraction(o, "pass_at_g", s->any_correct, s->labelled);
  cJSON_AddNumberToObject(o, "labelled_groups", (double)s->labelled);
  cJSON_AddNumberToObject(o, "consensus_groups", (double)s->consensus);
  add_fraction(o, "consensus_majority_correct", s->consensus_majority_correct, s->consensus_labelled);
  add_fraction(o, "consensus_label_accuracy", s->consensus_samples_correct, s->consensus_samples);
}

void rlvr_format_duration(double s, char *buf, size_t cap) {
  if (!(s >= 0) || !isfinite(s)) {
    snprintf(buf, cap, "?");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, cap, "%lds", t);
}

void rlvr_progress_init(rlvr_progress *p, int progress, int64_t total_steps) {
  memset(p, 0, sizeof *p);
  p->progress = progress < 0 ? isatty(2) : progress;
  p->total_steps = total_steps;
  /* About 20 log lines per run, at least one per step for short runs. */
  p->log_every = total_steps >= 40 ? total_steps / 20 : 1;
}

void rlvr_progress_step(rlvr_progress *p, int64_t step, double reward, double accuracy, double tokens_per_s,
                        double eta_s, double max_logprob_diff) {
  char eta[32];
  rlvr_format_duration(eta_s, eta, sizeof eta);
  char acc[32] = "-";
  if (!isnan(accuracy)) snprintf(acc, sizeof acc, "%.3f", accuracy);
  if (p->progress) {
    fprintf(stderr, "\rstep %lld/%lld  reward %.3f  accuracy %s  %.0f tok/s  |dlogp| %.2g  ETA %s\033[K",
            (long long)step, (long long)p->total_steps, reward, acc, tokens_per_s, max_logprob_diff, eta);
    fflush(stderr);
    p->line_open = 1;
  } else if (step % p->log_every == 0 || step == p->total_steps || step == 1) {
    rlvr_info("step %lld/%lld reward %.4f accuracy %s tokens/s %.0f max|dlogp| %.3g ETA %s", (long long)step,
              (long long)p->total_steps, reward, acc, tokens_per_s, max_logprob_diff, eta);
  }
}

void rlvr_progress_end(rlvr_progress *p) {
  if (p->line_open) {
    fputc('\n', stderr);
    p->line_open = 0;
  }
}
