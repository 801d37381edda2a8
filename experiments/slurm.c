/* slurm.c — sbatch scripts, submission and queue queries; see slurm.h. */
#include "experiments/slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"

int rlvr_run_capture(char *const argv[], char **output, int *status) {
  *output = NULL;
  *status = -1;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return rlvr_error(RLVR_ERR_IO, "pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return rlvr_error(RLVR_ERR_IO, "fork: %s", strerror(errno));
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execvp(argv[0], argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  size_t len = 0, cap = 4096;
  char *buf = xmalloc(cap);
  for (;;) {
    if (len + 1024 > cap) buf = xrealloc(buf, cap *= 2);
    ssize_t n = read(fds[0], buf + len, cap - len - 1);
    if (n > 0) len += (size_t)n;
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  close(fds[0]);
  buf[len] = '\0';
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  *output = buf;
  return RLVR_OK;
}

int rlvr_slurm_render(const char *tmpl, const char *tmpl_name, const char *const *keys, const char *const *values,
                      int n, char **out) {
  size_t cap = strlen(tmpl) + 1024, len = 0;
  char *buf = xmalloc(cap);
  int line = 1;
  for (const char *p = tmpl; *p;) {
    if (p[0] == '{' && p[1] == '{') {
      const char *end = strstr(p + 2, "}}");
      const char *nl = strchr(p + 2, '\n');
      if (!end || (nl && nl < end)) {
        free(buf);
        return rlvr_error(RLVR_ERR_FORMAT, "%s:%d: '{{' without '}}' on its line", tmpl_name, line);
      }
      size_t kn = (size_t)(end - p - 2);
      const char *val = NULL;
      for (int k = 0; k < n && !val; k++)
        if (strlen(keys[k]) == kn && !strncmp(keys[k], p + 2, kn)) val = values[k];
      if (!val) {
        int rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%d: unknown placeholder {{%.*s}}", tmpl_name, line, (int)kn, p + 2);
        free(buf);
        return rc;
      }
      size_t vn = strlen(val);
      if (len + vn + 1 > cap) buf = xrealloc(buf, cap = 2 * (len + vn + 1));
      memcpy(buf + len, val, vn);
      len += vn;
      p = end + 2;
      continue;
    }
    if (*p == '\n') line++;
    if (len + 2 > cap) buf = xrealloc(buf, cap *= 2);
    buf[len++] = *p++;
  }
  buf[len] = '\0';
  *out = buf;
  return RLVR_OK;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

char *rlvr_slurm_array_spec(const int *indices, int n) {
  int *v = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  if (n > 0) memcpy(v, indices, (size_t)n * sizeof *v);
  if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_int);
  size_t cap = 32 + (size_t)n * 24, len = 0;
  char *s = xmalloc(cap);
  s[0] = '\0';
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && v[j + 1] <= v[j] + 1) j++;
    if (v[j] == v[i]) len += (size_t)snprintf(s + len, cap - len, "%s%d", len ? "," : "", v[i]);
    else len += (size_t)snprintf(s + len, cap - len, "%s%d-%d", len ? "," : "", v[i], v[j]);
    i = j + 1;
  }
  free(v);
  return s;
}

/* Paths that go into the script unquoted: no spaces or shell characters,
 * and no '%' (sbatch's file name patterns). */
static int plain_path(const char *what, const char *p) {
  for (const char *c = p; *c; c++) {
    unsigned char ch = (unsigned char)*c;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("/._+,=@-", ch);
    if (!ok)
      return rlvr_error(RLVR_ERR_ARG, "%s '%s' has the character '%c'; a Slurm sweep needs paths of [A-Za-z0-9/._+,=@-]",
                        what, p, ch >= 32 && ch < 127 ? ch : '?');
  }
  return RLVR_OK;
}

static int check_option(const char *opt) {
  if (strncmp(opt, "--", 2) != 0 || strchr(opt, '\n') || strchr(opt, '\r'))
    return rlvr_error(RLVR_ERR_ARG, "sbatch option '%s' must start with -- and be one line", opt);
  return RLVR_OK;
}

int rlvr_slurm_script(const rlvr_sweep_dir *d, const int *indices, int n, const rlvr_slurm_options *o, char **text) {
  *text = NULL;
  int rc;
  if ((rc = plain_path("the sweep directory", d->dir)) || (rc = plain_path("the rlvr binary", o->rlvr_bin))) return rc;
  if (n <= 0) return rlvr_error(RLVR_ERR_ARG, "no runs to submit");
  for (int i = 0; i < d->sweep->nsbatch; i++)
    if ((rc = check_option(d->sweep->sbatch[i]))) return rc;
  for (int i = 0; i < o->nsbatch; i++)
    if ((rc = check_option(o->sbatch[i]))) return rc;

  char *tpath;
  if (o->template_path) {
    tpath = xstrdup(o->template_path);
  } else {
    size_t tn = strlen(o->templates_dir) + 32;
    tpath = xmalloc(tn);
    snprintf(tpath, tn, "%s/%s", o->templates_dir, o->nodes > 1 ? "multinode.sbatch" : "array.sbatch");
  }
  char *tmpl = NULL;
  size_t tlen;
  if ((rc = rlvr_file_read(tpath, &tmpl, &tlen))) {
    rc = rlvr_error_wrap(RLVR_ERR_IO, "sbatch template");
    free(tpath);
    return rc;
  }

  /* The variables. */
  char *array = rlvr_slurm_array_spec(indices, n);
  if (o->max_running > 0) {
    size_t an = strlen(array) + 16;
    array = xrealloc(array, an);
    snprintf(array + strlen(array), 16, "%%%d", o->max_running);
  }
  char job_name[128];
  snprintf(job_name, sizeof job_name, "rlvr-%s", d->sweep->name);
  for (char *c = job_name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-", *c)))
      *c = '_';
  size_t ocap = 64, olen = 0;
  char *opts = xmalloc(ocap);
  opts[0] = '\0';
  for (int pass = 0; pass < 2; pass++) {
    char **v = pass ? o->sbatch : d->sweep->sbatch;
    int nv = pass ? o->nsbatch : d->sweep->nsbatch;
    for (int i = 0; i < nv; i++) {
      size_t need = strlen(v[i]) + 10;
      if (olen + need + 1 > ocap) opts = xrealloc(opts, ocap = 2 * (olen + need + 1));
      olen += (size_t)snprintf(opts + olen, ocap - olen, "%s#SBATCH %s", olen ? "\n" : "", v[i]);
    }
  }
  if (!olen) snprintf(opts, ocap, "# (no more sbatch options)");
  char sig[32], nodes[32];
  snprintf(sig, sizeof sig, "%d", o->signal_seconds);
  snprintf(nodes, sizeof nodes, "%d", o->nodes);
  const char *keys[] = {"NAME", "JOB_NAME", "ARRAY", "SWEEP_DIR", "RLVR", "SIGNAL_SECONDS", "NODES", "SBATCH_OPTIONS"};
  const char *vals[] = {d->sweep->name, job_name, array, d->dir, o->rlvr_bin, sig, nodes, opts};
  rc = rlvr_slurm_render(tmpl, tpath, keys, vals, 8, text);
  free(opts), free(array), free(tmpl), free(tpath);
  return rc;
}

int rlvr_slurm_write_script(const rlvr_sweep_dir *d, const int *indices, int n, const rlvr_slurm_options *o,
                            char **script_path) {
  *script_path = NULL;
  char *script = NULL;
  int rc = rlvr_slurm_script(d, indices, n, o, &script);
  if (rc == RLVR_OK) {
    size_t pn = strlen(d->dir) + 64;
    char *sdir = xmalloc(pn);
    snprintf(sdir, pn, "%s/slurm", d->dir);
    char *path = xmalloc(pn);
    snprintf(path, pn, "%s/slurm/array-%d.sbatch", d->dir, d->nsubs + 1);
    if ((rc = rlvr_mkdirs(sdir)) == RLVR_OK && (rc = rlvr_file_write_atomic(path, script, strlen(script))) == RLVR_OK)
      *script_path = path;
    else free(path);
    free(sdir);
  }
  free(script);
  return rc;
}

int rlvr_slurm_submit(rlvr_sweep_dir *d, const char *script_path, const int *indices, int n, char **job_id) {
  *job_id = NULL;
  char *argv[] = {"sbatch", "--parsable", (char *)script_path, NULL};
  char *out;
  int status;
  int rc = rlvr_run_capture(argv, &out, &status);
  if (rc) return rc;
  /* --parsable prints "JOBID" or "JOBID;CLUSTER" on the last line. */
  char id[64] = "";
  if (status == 0) {
    char *line = out;
    for (char *nl; (nl = strchr(line, '\n')) && nl[1]; line = nl + 1) {
    }
    size_t k = 0;
    while (line[k] >= '0' && line[k] <= '9' && k + 1 < sizeof id) id[k] = line[k], k++;
    id[k] = '\0';
    if (k == 0 || (line[k] && line[k] != ';' && line[k] != '\n')) id[0] = '\0';
  }
  if (!id[0]) {
    size_t n_ = strlen(out);
    while (n_ && out[n_ - 1] == '\n') out[--n_] = '\0';
    rc = rlvr_error(RLVR_ERR_IO, "sbatch %s failed (exit status %d): %s", script_path, status, out[0] ? out : "(no output)");
    free(out);
    return rc;
  }
  free(out);
  if ((rc = rlvr_sweep_dir_add_submission(d, id, indices, n, script_path))) return rc;
  *job_id = xstrdup(id);
  return RLVR_OK;
}

/* The latest submission holding run i, or -1. */
static int latest_submission(const rlvr_sweep_dir *d, int i) {
  for (int s = d->nsubs - 1; s >= 0; s--)
    for (int k = 0; k < d->subs[s].nindices; k++)
      if (d->subs[s].indices[k] == i) return s;
  return -1;
}

static void copy_field(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int rlvr_slurm_query(const rlvr_sweep_dir *d, rlvr_slurm_task *tasks) {
  int nruns = d->sweep->nruns;
  memset(tasks, 0, (size_t)nruns * sizeof *tasks);
  if (d->nsubs == 0) return RLVR_OK;
  int *sub_of = xmalloc((size_t)nruns * sizeof *sub_of);
  for (int i = 0; i < nruns; i++) sub_of[i] = latest_submission(d, i);

  /* squeue: one line per array element (-r), "ARRAYJOBID|TASKID|STATE|REASON". */
  char *argv[] = {"squeue", "-h", "-r", "--me", "-o", "%F|%K|%T|%r", NULL};
  char *out;
  int status, rc = rlvr_run_capture(argv, &out, &status);
  if (rc == RLVR_OK && status != 0) {
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n') out[--n] = '\0';
    rc = rlvr_error(RLVR_ERR_IO, "squeue failed (exit status %d): %s", status, out);
  }
  if (rc) {
    free(out);
    free(sub_of);
    return rc;
  }
  for (char *line = out; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char *f[4] = {line, NULL, NULL, NULL};
    size_t fl[4] = {0};
    int nf = 1;
    for (size_t k = 0; k < len && nf < 4; k++)
      if (line[k] == '|') f[nf++] = line + k + 1;
    if (nf == 4) {
      fl[0] = (size_t)(f[1] - f[0] - 1), fl[1] = (size_t)(f[2] - f[1] - 1), fl[2] = (size_t)(f[3] - f[2] - 1);
      fl[3] = len - (size_t)(f[3] - line);
      char job[64], task[32];
      copy_field(job, sizeof job, f[0], fl[0]);
      copy_field(task, sizeof task, f[1], fl[1]);
      char *end;
      long t = strtol(task, &end, 10);
      if (*task && !*end && t >= 0 && t < nruns && sub_of[t] >= 0 && !strcmp(d->subs[sub_of[t]].job_id, job)) {
        copy_field(tasks[t].state, sizeof tasks[t].state, f[2], fl[2]);
        copy_field(tasks[t].reason, sizeof tasks[t].reason, f[3], fl[3]);
      }
    }
    line += len + (nl ? 1 : 0);
  }
  free(out);

  /* sacct, for runs that left the queue; without accounting it fails, and
   * the state files are all there is. */
  size_t cap = 64, len = 0;
  char *ids = xmalloc(cap);
  ids[0] = '\0';
  for (int s = 0; s < d->nsubs; s++) {
    size_t need = strlen(d->subs[s].job_id) + 2;
    if (len + need + 1 > cap) ids = xrealloc(ids, cap = 2 * (len + need + 1));
    len += (size_t)snprintf(ids + len, cap - len, "%s%s", len ? "," : "", d->subs[s].job_id);
  }
  char *sargv[] = {"sacct", "-n", "-P", "-X", "-j", ids, "-o", "JobID,State,ExitCode", NULL};
  if (rlvr_run_capture(sargv, &out, &status) == RLVR_OK && status == 0) {
    for (char *line = out; *line;) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = '\0';
      /* "ARRAYJOB_TASK|STATE|EXIT"; the latest line for a task wins. */
      char *u = strchr(line, '_'), *b1 = strchr(line, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
      if (u && b1 && b2 && u < b1) {
        char job[64];
        copy_field(job, sizeof job, line, (size_t)(u - line));
        char *end;
        long t = strtol(u + 1, &end, 10);
        if (end == b1 && t >= 0 && t < nruns && sub_of[t] >= 0 && !strcmp(d->subs[sub_of[t]].job_id, job)) {
          copy_field(tasks[t].final, sizeof tasks[t].final, b1 + 1, (size_t)(b2 - b1 - 1));
          copy_field(tasks[t].final_exit, sizeof tasks[t].final_exit, b2 + 1, strlen(b2 + 1));
        }
      }
      if (!nl) break;
      line = nl + 1;
    }
  }
  free(out);
  free(ids);
  free(sub_of);
  return RLVR_OK;
}
