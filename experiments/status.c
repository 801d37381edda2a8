/* status.c — a sweep's state from state files and the queue; see status.h. */
#include "experiments/status.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experiments/runner.h"

static const char *sig_name(int sig) {
  const char *s = sig > 0 ? sigabbrev_np(sig) : NULL;
  return s ? s : "?";
}

/* The last line of a log tail, for one-line reasons. */
static const char *last_line(const char *tail) {
  if (!tail) return "";
  const char *nl = strrchr(tail, '\n');
  return nl ? nl + 1 : tail;
}

static void explain(rlvr_sweep_view *v, int slurm) {
  const rlvr_run_status *st = &v->st;
  double secs = st->finished > st->started ? st->finished - st->started : 0;
  v->why[0] = '\0';
  if (st->state == RLVR_RUN_DONE) {
    v->shown = RLVR_RUN_DONE;
    snprintf(v->why, sizeof v->why, "exit status 0 after %.1f s%s", secs, st->resumed ? " (resumed)" : "");
    return;
  }
  if (slurm && v->slurm.state[0]) {
    v->live = 1;
    if (!strcmp(v->slurm.state, "RUNNING") || !strcmp(v->slurm.state, "COMPLETING")) {
      v->shown = RLVR_RUN_RUNNING;
      snprintf(v->why, sizeof v->why, "slurm %s%s%s", v->slurm.state, st->slurm_job[0] ? ", job " : "", st->slurm_job);
    } else {
      v->shown = RLVR_RUN_PENDING;
      snprintf(v->why, sizeof v->why, "slurm %s (%s)%s", v->slurm.state, v->slurm.reason,
               st->attempts ? "; requeued after an earlier attempt" : "");
    }
    return;
  }
  switch (st->state) {
  case RLVR_RUN_PENDING:
    v->shown = RLVR_RUN_PENDING;
    snprintf(v->why, sizeof v->why, "%s", slurm ? "not in the queue (never started)" : "not started");
    break;
  case RLVR_RUN_RUNNING:
    if (!slurm && rlvr_run_status_live(st)) {
      v->shown = RLVR_RUN_RUNNING;
      v->live = 1;
      snprintf(v->why, sizeof v->why, "pid %lld on %s, attempt %d", (long long)st->pid, st->host, st->attempts);
    } else {
      v->shown = RLVR_RUN_STOPPED;
      snprintf(v->why, sizeof v->why, "its supervisor is gone without recording an end (killed?)%s%s%s%s",
               v->slurm.final[0] ? "; sacct: " : "", v->slurm.final, v->slurm.final[0] ? " " : "", v->slurm.final_exit);
    }
    break;
  case RLVR_RUN_FAILED:
    v->shown = RLVR_RUN_FAILED;
    if (st->signal)
      snprintf(v->why, sizeof v->why, "killed by SIG%s after %.1f s: %s", sig_name(st->signal), secs,
               last_line(st->log_tail));
    else
      snprintf(v->why, sizeof v->why, "exit status %d after %.1f s: %s", st->exit_code, secs, last_line(st->log_tail));
    break;
  case RLVR_RUN_STOPPED:
    v->shown = RLVR_RUN_STOPPED;
    snprintf(v->why, sizeof v->why, "stopped by SIG%s after %.1f s (resumable)%s%s", sig_name(st->stop_signal), secs,
             v->slurm.final[0] ? "; sacct: " : "", v->slurm.final);
    break;
  default: break;
  }
}

int rlvr_sweep_report_build(const rlvr_sweep_dir *d, int query_slurm, rlvr_sweep_report *r) {
  memset(r, 0, sizeof *r);
  r->nruns = d->sweep->nruns;
  r->runs = xcalloc((size_t)r->nruns, sizeof *r->runs);
  r->slurm = d->nsubs > 0;
  if (r->slurm && query_slurm) {
    rlvr_slurm_task *tasks = xcalloc((size_t)r->nruns, sizeof *tasks);
    if (rlvr_slurm_query(d, tasks) == RLVR_OK) {
      r->slurm_queried = 1;
      for (int i = 0; i < r->nruns; i++) r->runs[i].slurm = tasks[i];
    } else {
      snprintf(r->slurm_error, sizeof r->slurm_error, "%s", rlvr_error_message());
    }
    free(tasks);
  }
  for (int i = 0; i < r->nruns; i++) {
    int rc = rlvr_run_status_read(d, i, &r->runs[i].st);
    if (rc) {
      rlvr_sweep_report_free(r);
      return rc;
    }
    /* Without an answer from the queue, a Slurm run's state file is all
     * there is: a run it calls running is taken as live. */
    if (r->slurm && !r->slurm_queried && r->runs[i].st.state == RLVR_RUN_RUNNING) {
      r->runs[i].shown = RLVR_RUN_RUNNING;
      r->runs[i].live = 1;
      snprintf(r->runs[i].why, sizeof r->runs[i].why, "per its state file (the queue could not be asked)");
      continue;
    }
    explain(&r->runs[i], r->slurm);
  }
  return RLVR_OK;
}

void rlvr_sweep_report_free(rlvr_sweep_report *r) {
  if (!r) return;
  for (int i = 0; r->runs && i < r->nruns; i++) rlvr_run_status_clear(&r->runs[i].st);
  free(r->runs);
  memset(r, 0, sizeof *r);
}

int *rlvr_sweep_report_unfinished(const rlvr_sweep_report *r, int *n) {
  int *v = xmalloc((size_t)(r->nruns > 0 ? r->nruns : 1) * sizeof *v);
  *n = 0;
  for (int i = 0; i < r->nruns; i++)
    if (r->runs[i].shown != RLVR_RUN_DONE && !r->runs[i].live) v[(*n)++] = i;
  return v;
}

static void counts(const rlvr_sweep_report *r, int c[5]) {
  memset(c, 0, 5 * sizeof *c);
  for (int i = 0; i < r->nruns; i++) c[r->runs[i].shown]++;
}

void rlvr_sweep_report_print(const rlvr_sweep_dir *d, const rlvr_sweep_report *r, FILE *out) {
  int c[5];
  counts(r, c);
  fprintf(out, "sweep %s (%s): %d runs: %d done, %d running, %d pending, %d failed, %d stopped\n", d->sweep->name,
          d->dir, r->nruns, c[RLVR_RUN_DONE], c[RLVR_RUN_RUNNING], c[RLVR_RUN_PENDING], c[RLVR_RUN_FAILED],
          c[RLVR_RUN_STOPPED]);
  if (r->slurm) {
    fprintf(out, "slurm jobs:");
    for (int s = 0; s < d->nsubs; s++) fprintf(out, " %s", d->subs[s].job_id);
    if (r->slurm_error[0]) fprintf(out, " (queue not asked: %s)", r->slurm_error);
    fputc('\n', out);
  }
  int w = 4;
  for (int i = 0; i < r->nruns; i++) {
    int l = (int)strlen(d->sweep->runs[i].name);
    if (l > w) w = l;
  }
  fprintf(out, "\n%-*s  %-8s  %-8s  %s\n", w, "RUN", "STATE", "ATTEMPTS", "WHY");
  for (int i = 0; i < r->nruns; i++)
    fprintf(out, "%-*s  %-8s  %-8d  %s\n", w, d->sweep->runs[i].name, rlvr_run_state_name(r->runs[i].shown),
            r->runs[i].st.attempts, r->runs[i].why);
  for (int i = 0; i < r->nruns; i++) {
    const rlvr_sweep_view *v = &r->runs[i];
    if ((v->shown != RLVR_RUN_FAILED && v->shown != RLVR_RUN_STOPPED) || !v->st.log_tail) continue;
    fprintf(out, "\n== %s (%s): the end of %s/%s/run.log\n", d->sweep->runs[i].name, rlvr_run_state_name(v->shown),
            d->dir, d->sweep->runs[i].name);
    for (const char *line = v->st.log_tail; *line;) {
      const char *nl = strchr(line, '\n');
      int len = nl ? (int)(nl - line) : (int)strlen(line);
      fprintf(out, "   %.*s\n", len, line);
      line += len + (nl ? 1 : 0);
    }
  }
}

void rlvr_sweep_report_json(const rlvr_sweep_dir *d, const rlvr_sweep_report *r, FILE *out) {
  int c[5];
  counts(r, c);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "name", d->sweep->name);
  cJSON_AddStringToObject(root, "dir", d->dir);
  cJSON *cn = cJSON_AddObjectToObject(root, "counts");
  for (int s = 0; s < 5; s++) cJSON_AddNumberToObject(cn, rlvr_run_state_name((rlvr_run_state)s), c[s]);
  cJSON *jobs = cJSON_AddArrayToObject(root, "slurm_jobs");
  for (int s = 0; s < d->nsubs; s++) cJSON_AddItemToArray(jobs, cJSON_CreateString(d->subs[s].job_id));
  cJSON *runs = cJSON_AddArrayToObject(root, "runs");
  for (int i = 0; i < r->nruns; i++) {
    const rlvr_sweep_view *v = &r->runs[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->sweep->runs[i].name);
    cJSON_AddStringToObject(o, "state", rlvr_run_state_name(v->shown));
    cJSON_AddStringToObject(o, "recorded_state", rlvr_run_state_name(v->st.state));
    cJSON_AddNumberToObject(o, "attempts", v->st.attempts);
    cJSON_AddBoolToObject(o, "resumed", v->st.resumed);
    if (v->st.exit_code >= 0) cJSON_AddNumberToObject(o, "exit_code", v->st.exit_code);
    else cJSON_AddNullToObject(o, "exit_code");
    cJSON_AddNumberToObject(o, "signal", v->st.signal);
    cJSON_AddNumberToObject(o, "stop_signal", v->st.stop_signal);
    cJSON_AddStringToObject(o, "slurm_job", v->st.slurm_job);
    cJSON_AddNumberToObject(o, "slurm_restarts", v->st.slurm_restarts);
    cJSON_AddStringToObject(o, "slurm_state", v->slurm.state);
    cJSON_AddStringToObject(o, "why", v->why);
    cJSON_AddItemToArray(runs, o);
  }
  char *text = cJSON_Print(root);
  fprintf(out, "%s\n", text);
  cJSON_free(text);
  cJSON_Delete(root);
}
