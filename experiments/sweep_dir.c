/* sweep_dir.c — the manifest and run states of a sweep directory; see sweep_dir.h. */
#include "experiments/sweep_dir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"

#define MANIFEST_FORMAT "rlvr-sweep"
#define MANIFEST_VERSION 1
#define STATE_FORMAT "rlvr-sweep-run-state"
#define STATE_VERSION 1

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

char *rlvr_sweep_dir_path(const rlvr_sweep_dir *d, int run, const char *file) {
  RLVR_CHECK(run >= 0 && run < d->sweep->nruns);
  char *rd = join(d->dir, d->sweep->runs[run].name);
  if (!file) return rd;
  char *p = join(rd, file);
  free(rd);
  return p;
}

int rlvr_sweep_dir_find(const rlvr_sweep_dir *d, const char *name) {
  for (int i = 0; i < d->sweep->nruns; i++)
    if (!strcmp(d->sweep->runs[i].name, name)) return i;
  return -1;
}

void rlvr_sweep_now_iso(char *buf, size_t cap) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *string_array(char **v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
  return a;
}

/* A JSON document as text, written atomically. */
static int write_json(const char *path, const cJSON *root) {
  char *text = cJSON_Print(root);
  RLVR_CHECK(text != NULL);
  size_t n = strlen(text);
  char *buf = xmalloc(n + 2);
  memcpy(buf, text, n);
  buf[n] = '\n';
  cJSON_free(text);
  int rc = rlvr_file_write_atomic(path, buf, n + 1);
  free(buf);
  return rc;
}

int rlvr_sweep_dir_save(const rlvr_sweep_dir *d) {
  const rlvr_sweep *s = d->sweep;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "format", MANIFEST_FORMAT);
  cJSON_AddNumberToObject(root, "version", MANIFEST_VERSION);
  cJSON_AddStringToObject(root, "name", s->name);
  cJSON_AddStringToObject(root, "spec", s->spec_path);
  if (s->base_path) cJSON_AddStringToObject(root, "base", s->base_path);
  else cJSON_AddNullToObject(root, "base");
  cJSON_AddStringToObject(root, "dir", d->dir);
  cJSON_AddStringToObject(root, "created", d->created);
  cJSON_AddItemToObject(root, "command", string_array(s->command, s->ncommand));
  cJSON_AddStringToObject(root, "resume_flag", s->resume_flag);
  cJSON_AddStringToObject(root, "resume_when", s->resume_when);
  cJSON_AddNumberToObject(root, "parallel", s->parallel);
  cJSON_AddItemToObject(root, "sbatch", string_array(s->sbatch, s->nsbatch));
  cJSON *runs = cJSON_AddArrayToObject(root, "runs");
  for (int i = 0; i < s->nruns; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", s->runs[i].name);
    cJSON_AddItemToObject(r, "sets", string_array(s->runs[i].sets, s->runs[i].nsets));
    if (s->runs[i].seed >= 0) cJSON_AddNumberToObject(r, "seed", (double)s->runs[i].seed);
    else cJSON_AddNullToObject(r, "seed");
    cJSON_AddItemToArray(runs, r);
  }
  cJSON *subs = cJSON_AddArrayToObject(root, "submissions");
  for (int i = 0; i < d->nsubs; i++) {
    const rlvr_sweep_submission *u = &d->subs[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", u->job_id);
    cJSON_AddItemToObject(o, "indices", cJSON_CreateIntArray(u->indices, u->nindices));
    cJSON_AddStringToObject(o, "script", u->script);
    cJSON_AddStringToObject(o, "submitted", u->submitted);
    cJSON_AddItemToArray(subs, o);
  }
  cJSON *sl = cJSON_AddObjectToObject(root, "slurm");
  cJSON_AddItemToObject(sl, "options", string_array(d->slurm_options, d->nslurm_options));
  cJSON_AddNumberToObject(sl, "nodes", d->slurm_nodes);
  cJSON_AddNumberToObject(sl, "signal_seconds", d->slurm_signal_seconds);
  cJSON_AddNumberToObject(sl, "max_running", d->slurm_max_running);
  if (d->slurm_template) cJSON_AddStringToObject(sl, "template", d->slurm_template);
  else cJSON_AddNullToObject(sl, "template");
  char *path = join(d->dir, "sweep.json");
  int rc = write_json(path, root);
  free(path);
  cJSON_Delete(root);
  return rc;
}

void rlvr_sweep_dir_free(rlvr_sweep_dir *d) {
  if (!d) return;
  free(d->dir);
  free(d->created);
  rlvr_sweep_free(d->sweep);
  for (int i = 0; i < d->nsubs; i++) {
    free(d->subs[i].job_id), free(d->subs[i].indices), free(d->subs[i].script), free(d->subs[i].submitted);
  }
  free(d->subs);
  for (int i = 0; i < d->nslurm_options; i++) free(d->slurm_options[i]);
  free(d->slurm_options);
  free(d->slurm_template);
  free(d);
}

static char *absolute(const char *path) {
  char buf[PATH_MAX];
  if (!realpath(path, buf)) return NULL;
  return xstrdup(buf);
}

int rlvr_sweep_dir_create(rlvr_sweep_dir **out, rlvr_sweep *s, const char *dir, const char *self_exe) {
  *out = NULL;
  int rc = rlvr_mkdirs(dir);
  if (rc) {
    rlvr_sweep_free(s);
    return rc;
  }
  rlvr_sweep_dir *d = xcalloc(1, sizeof *d);
  d->sweep = s;
  d->dir = absolute(dir);
  if (!d->dir) {
    rc = rlvr_error(RLVR_ERR_IO, "%s: %s", dir, strerror(errno));
    goto fail;
  }
  char *manifest = join(d->dir, "sweep.json");
  int exists = rlvr_file_exists(manifest);
  free(manifest);
  if (exists) {
    rc = rlvr_error(RLVR_ERR_ARG,
                    "%s already holds a sweep (sweep.json); continue it with `rlvr sweep --resume %s`, or choose "
                    "another directory (--dir)",
                    d->dir, d->dir);
    goto fail;
  }
  if (!strcmp(s->command[0], "rlvr")) {
    free(s->command[0]);
    s->command[0] = xstrdup(self_exe);
  }
  char *abs = absolute(s->spec_path);
  if (abs) free(s->spec_path), s->spec_path = abs;
  if (s->base_path && (abs = absolute(s->base_path))) free(s->base_path), s->base_path = abs;
  char now[32];
  rlvr_sweep_now_iso(now, sizeof now);
  d->created = xstrdup(now);
  for (int i = 0; i < s->nruns && rc == RLVR_OK; i++) {
    char *rd = rlvr_sweep_dir_path(d, i, NULL);
    char *cp = rlvr_sweep_dir_path(d, i, "sweep_config.lua");
    rlvr_config c;
    rlvr_config_init(&c);
    if ((rc = rlvr_mkdirs(rd)) == RLVR_OK && (rc = rlvr_sweep_resolve(s, i, rd, &c)) == RLVR_OK)
      rc = rlvr_config_save(&c, cp);
    rlvr_config_free(&c);
    free(rd), free(cp);
  }
  if (rc == RLVR_OK) rc = rlvr_sweep_dir_save(d);
  if (rc) goto fail;
  *out = d;
  return RLVR_OK;
fail:
  rlvr_sweep_dir_free(d);
  return rc;
}

/* Manifest readers: each names the file and the field. */
static int get_string(const char *path, const cJSON *o, const char *key, int required, char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v || cJSON_IsNull(v)) {
    if (!required) return RLVR_OK;
    return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' is missing", path, key);
  }
  if (!cJSON_IsString(v)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' must be a string", path, key);
  *out = xstrdup(v->valuestring);
  return RLVR_OK;
}

static int get_string_array(const char *path, const cJSON *o, const char *key, char ***out, int *n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsArray(v)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' must be an array of strings", path, key);
  int len = cJSON_GetArraySize(v);
  *out = xcalloc((size_t)len + 1, sizeof **out);
  *n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, v) {
    if (!cJSON_IsString(e)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' must be an array of strings", path, key);
    (*out)[(*n)++] = xstrdup(e->valuestring);
  }
  return RLVR_OK;
}

static int get_int(const char *path, const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
      v->valuedouble > (double)hi)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' must be an integer in [%lld, %lld]", path, key, (long long)lo,
                      (long long)hi);
  *out = (int64_t)v->valuedouble;
  return RLVR_OK;
}

static int parse_manifest(rlvr_sweep_dir *d, const char *path, const cJSON *root) {
  rlvr_sweep *s = d->sweep;
  char *format = NULL;
  int64_t version = 0, parallel = 0;
  int rc;
  if ((rc = get_string(path, root, "format", 1, &format))) return rc;
  int ok = !strcmp(format, MANIFEST_FORMAT);
  free(format);
  if (!ok) return rlvr_error(RLVR_ERR_FORMAT, "%s: not an rlvr sweep manifest (format)", path);
  if ((rc = get_int(path, root, "version", 0, 1000000, &version))) return rc;
  if (version != MANIFEST_VERSION)
    return rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: manifest version %lld; this rlvr reads version %d", path,
                      (long long)version, MANIFEST_VERSION);
  if ((rc = get_string(path, root, "name", 1, &s->name)) || (rc = get_string(path, root, "spec", 1, &s->spec_path)) ||
      (rc = get_string(path, root, "base", 0, &s->base_path)) ||
      (rc = get_string(path, root, "created", 1, &d->created)) ||
      (rc = get_string_array(path, root, "command", &s->command, &s->ncommand)) ||
      (rc = get_string(path, root, "resume_flag", 1, &s->resume_flag)) ||
      (rc = get_string(path, root, "resume_when", 1, &s->resume_when)) ||
      (rc = get_int(path, root, "parallel", 0, 4096, &parallel)) ||
      (rc = get_string_array(path, root, "sbatch", &s->sbatch, &s->nsbatch)))
    return rc;
  s->parallel = (int)parallel;
  if (s->ncommand == 0) return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'command' is empty", path);
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
  if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'runs' must be a non-empty array", path);
  s->runs = xcalloc((size_t)cJSON_GetArraySize(runs), sizeof *s->runs);
  const cJSON *r;
  cJSON_ArrayForEach(r, runs) {
    rlvr_sweep_run *run = &s->runs[s->nruns++];
    run->seed = -1;
    if ((rc = get_string(path, r, "name", 1, &run->name)) ||
        (rc = get_string_array(path, r, "sets", &run->sets, &run->nsets)))
      return rc;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(r, "seed");
    if (seed && !cJSON_IsNull(seed) && (rc = get_int(path, r, "seed", INT64_MIN / 2, INT64_MAX / 2, &run->seed)))
      return rc;
    /* A name is a directory under the sweep: never a path. */
    if (!run->name[0] || strchr(run->name, '/') || run->name[0] == '.')
      return rlvr_error(RLVR_ERR_FORMAT, "%s: run name '%s' is not a directory name", path, run->name);
  }
  const cJSON *subs = cJSON_GetObjectItemCaseSensitive(root, "submissions");
  if (!cJSON_IsArray(subs)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'submissions' must be an array", path);
  d->subs = xcalloc((size_t)cJSON_GetArraySize(subs) + 1, sizeof *d->subs);
  const cJSON *u;
  cJSON_ArrayForEach(u, subs) {
    rlvr_sweep_submission *sub = &d->subs[d->nsubs++];
    if ((rc = get_string(path, u, "job_id", 1, &sub->job_id)) || (rc = get_string(path, u, "script", 1, &sub->script)) ||
        (rc = get_string(path, u, "submitted", 1, &sub->submitted)))
      return rc;
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(u, "indices");
    if (!cJSON_IsArray(ix)) return rlvr_error(RLVR_ERR_FORMAT, "%s: a submission's 'indices' must be an array", path);
    sub->indices = xcalloc((size_t)cJSON_GetArraySize(ix) + 1, sizeof *sub->indices);
    const cJSON *e;
    cJSON_ArrayForEach(e, ix) {
      if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
          e->valuedouble >= s->nruns)
        return rlvr_error(RLVR_ERR_FORMAT, "%s: submission %s: run index out of range", path, sub->job_id);
      sub->indices[sub->nindices++] = (int)e->valuedouble;
    }
  }
  const cJSON *sl = cJSON_GetObjectItemCaseSensitive(root, "slurm");
  if (!cJSON_IsObject(sl)) return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'slurm' must be an object", path);
  int64_t v;
  if ((rc = get_string_array(path, sl, "options", &d->slurm_options, &d->nslurm_options)) ||
      (rc = get_string(path, sl, "template", 0, &d->slurm_template)) ||
      (rc = get_int(path, sl, "nodes", 0, 100000, &v)))
    return rc;
  d->slurm_nodes = (int)v;
  if ((rc = get_int(path, sl, "signal_seconds", 0, 1000000, &v))) return rc;
  d->slurm_signal_seconds = (int)v;
  if ((rc = get_int(path, sl, "max_running", 0, 1000000, &v))) return rc;
  d->slurm_max_running = (int)v;
  return RLVR_OK;
}

int rlvr_sweep_dir_open(rlvr_sweep_dir **out, const char *dir) {
  *out = NULL;
  char *abs = absolute(dir);
  if (!abs) return rlvr_error(RLVR_ERR_IO, "%s: %s", dir, strerror(errno));
  char *path = join(abs, "sweep.json");
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) {
    rc = rlvr_error(RLVR_ERR_IO, "%s: no sweep here (no readable sweep.json)", abs);
    free(path), free(abs);
    return rc;
  }
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  rlvr_sweep_dir *d = xcalloc(1, sizeof *d);
  d->sweep = xcalloc(1, sizeof *d->sweep);
  d->dir = abs;
  if (!root || !cJSON_IsObject(root)) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", path);
  else rc = parse_manifest(d, path, root);
  cJSON_Delete(root);
  free(path);
  if (rc) {
    rlvr_sweep_dir_free(d);
    return rc;
  }
  *out = d;
  return RLVR_OK;
}

int rlvr_sweep_dir_add_submission(rlvr_sweep_dir *d, const char *job_id, const int *indices, int n,
                                  const char *script) {
  d->subs = xrealloc(d->subs, (size_t)(d->nsubs + 1) * sizeof *d->subs);
  rlvr_sweep_submission *u = &d->subs[d->nsubs++];
  u->job_id = xstrdup(job_id);
  u->indices = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *u->indices);
  if (n > 0) memcpy(u->indices, indices, (size_t)n * sizeof *indices);
  u->nindices = n;
  u->script = xstrdup(script);
  char now[32];
  rlvr_sweep_now_iso(now, sizeof now);
  u->submitted = xstrdup(now);
  return rlvr_sweep_dir_save(d);
}

/* Run states. */

static const char *state_names[] = {"pending", "running", "done", "failed", "stopped"};

const char *rlvr_run_state_name(rlvr_run_state s) {
  return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

void rlvr_run_status_clear(rlvr_run_status *st) {
  if (!st) return;
  free(st->log_tail);
  memset(st, 0, sizeof *st);
  st->exit_code = -1;
}

static void copy_str(char *dst, size_t cap, const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  snprintf(dst, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static double get_num(const cJSON *o, const char *key, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int rlvr_run_status_read(const rlvr_sweep_dir *d, int run, rlvr_run_status *st) {
  memset(st, 0, sizeof *st);
  st->exit_code = -1;
  char *path = rlvr_sweep_dir_path(d, run, "sweep_state.json");
  if (!rlvr_file_exists(path)) {
    free(path);
    return RLVR_OK;
  }
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) {
    free(path);
    return rc;
  }
  cJSON *o = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *state = o ? cJSON_GetObjectItemCaseSensitive(o, "state") : NULL;
  const cJSON *format = o ? cJSON_GetObjectItemCaseSensitive(o, "format") : NULL;
  rc = RLVR_ERR_FORMAT;
  if (!cJSON_IsString(format) || strcmp(format->valuestring, STATE_FORMAT)) {
    rlvr_error(rc, "%s: not a run state file (format)", path);
  } else if (!cJSON_IsString(state)) {
    rlvr_error(rc, "%s: field 'state' must be a string", path);
  } else {
    int found = 0;
    for (int i = 0; i < (int)(sizeof state_names / sizeof state_names[0]); i++)
      if (!strcmp(state->valuestring, state_names[i])) st->state = (rlvr_run_state)i, found = 1;
    if (!found) {
      rlvr_error(rc, "%s: unknown state '%s'", path, state->valuestring);
    } else {
      rc = RLVR_OK;
      st->attempts = (int)get_num(o, "attempts", 0);
      st->resumed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "resumed"));
      st->exit_code = (int)get_num(o, "exit_code", -1);
      st->signal = (int)get_num(o, "signal", 0);
      st->stop_signal = (int)get_num(o, "stop_signal", 0);
      st->supervisor_pid = (int64_t)get_num(o, "supervisor_pid", 0);
      st->pid = (int64_t)get_num(o, "pid", 0);
      copy_str(st->host, sizeof st->host, o, "host");
      st->started = get_num(o, "started", 0);
      st->finished = get_num(o, "finished", 0);
      copy_str(st->slurm_job, sizeof st->slurm_job, o, "slurm_job");
      st->slurm_restarts = (int)get_num(o, "slurm_restarts", 0);
      const cJSON *tail = cJSON_GetObjectItemCaseSensitive(o, "log_tail");
      if (cJSON_IsString(tail)) st->log_tail = xstrdup(tail->valuestring);
    }
  }
  cJSON_Delete(o);
  free(path);
  return rc;
}

int rlvr_run_status_write(const rlvr_sweep_dir *d, int run, const rlvr_run_status *st) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "format", STATE_FORMAT);
  cJSON_AddNumberToObject(o, "version", STATE_VERSION);
  cJSON_AddStringToObject(o, "name", d->sweep->runs[run].name);
  cJSON_AddStringToObject(o, "state", rlvr_run_state_name(st->state));
  cJSON_AddNumberToObject(o, "attempts", st->attempts);
  cJSON_AddBoolToObject(o, "resumed", st->resumed);
  if (st->exit_code >= 0) cJSON_AddNumberToObject(o, "exit_code", st->exit_code);
  else cJSON_AddNullToObject(o, "exit_code");
  cJSON_AddNumberToObject(o, "signal", st->signal);
  cJSON_AddNumberToObject(o, "stop_signal", st->stop_signal);
  cJSON_AddNumberToObject(o, "supervisor_pid", (double)st->supervisor_pid);
  cJSON_AddNumberToObject(o, "pid", (double)st->pid);
  cJSON_AddStringToObject(o, "host", st->host);
  cJSON_AddNumberToObject(o, "started", st->started);
  cJSON_AddNumberToObject(o, "finished", st->finished);
  cJSON_AddStringToObject(o, "slurm_job", st->slurm_job);
  cJSON_AddNumberToObject(o, "slurm_restarts", st->slurm_restarts);
  if (st->log_tail) cJSON_AddStringToObject(o, "log_tail", st->log_tail);
  else cJSON_AddNullToObject(o, "log_tail");
  char *path = rlvr_sweep_dir_path(d, run, "sweep_state.json");
  int rc = write_json(path, o);
  free(path);
  cJSON_Delete(o);
  return rc;
}

char *rlvr_sweep_file_tail(const char *path, int max_lines) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat sb;
  char *out = NULL;
  if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
    off_t want = sb.st_size < 4096 ? sb.st_size : 4096;
    char *buf = xmalloc((size_t)want + 1);
    ssize_t got = pread(fd, buf, (size_t)want, sb.st_size - want);
    if (got > 0) {
      size_t n = (size_t)got;
      while (n > 0 && buf[n - 1] == '\n') n--;
      buf[n] = '\0';
      /* Back from the end over max_lines newlines. */
      size_t start = n;
      int lines = 0;
      while (start > 0) {
        if (buf[start - 1] == '\n' && ++lines == max_lines) break;
        start--;
      }
      /* Bytes that are not valid text would make the state file unreadable
       * JSON for other tools: keep printable ASCII, tabs and UTF-8 bytes. */
      for (size_t i = start; i < n; i++)
        if ((unsigned char)buf[i] < 32 && buf[i] != '\n' && buf[i] != '\t') buf[i] = '?';
      if (n > start) out = xstrdup(buf + start);
    }
    free(buf);
  }
  close(fd);
  return out;
}
