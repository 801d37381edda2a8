/* checkpoint.c — training-state checkpoints; see checkpoint.h. */
#include "learner/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"

enum { PATH_CAP = 4096 };

void rlvr_train_state_clear(rlvr_train_state *st) {
  if (!st) return;
  rlvr_ledger_state_clear(&st->ledger);
  memset(st, 0, sizeof *st);
}

/* ---- small file-system helpers ---- */

/* snprintf into a path buffer; a path that does not fit is an error (the
 * caller checks), never a silently cut one. */
static int pathf(char *out, size_t cap, const char *fmt, ...) RLVR_PRINTF(3, 4);
static int pathf(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, cap, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap) return rlvr_error(RLVR_ERR_IO, "path too long: %.64s...", out);
  return RLVR_OK;
}


static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return rlvr_error(RLVR_ERR_IO, "%s: %s", dir, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? RLVR_OK : rlvr_error(RLVR_ERR_IO, "%s: fsync: %s", dir, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb, (void)type, (void)ftw;
  return remove(path);
}

/* rm -rf path; a missing path is fine. */
static void remove_tree(const char *path) {
  if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
    rlvr_warn("checkpoint: could not remove %s: %s", path, strerror(errno));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names of the complete checkpoints (step-*) in dir, sorted (zero-padded,
 * so by step). */
static int list_checkpoints(const char *dir, char ***names, int *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return RLVR_OK;
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "step-", 5) != 0) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      *names = xrealloc(*names, (size_t)cap * sizeof **names);
    }
    (*names)[(*n)++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_str);
  return RLVR_OK;
}

/* Deletes all but the newest keep checkpoints and leftover temporaries. */
static void prune(const char *dir, int keep) {
  char **names;
  int n;
  list_checkpoints(dir, &names, &n);
  char path[PATH_CAP];
  for (int i = 0; i < n; i++) {
    if (i < n - keep) {
      if (pathf(path, sizeof path, "%s/%s", dir, names[i]) == RLVR_OK) remove_tree(path);
    }
    free(names[i]);
  }
  free(names);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, ".tmp-", 5) != 0) continue;
    if (pathf(path, sizeof path, "%s/%s", dir, e->d_name) == RLVR_OK) remove_tree(path);
  }
  closedir(d);
}

/* ---- state.json ---- */

static void add_u64(cJSON *o, const char *key, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  cJSON_AddStringToObject(o, key, buf);
}

static cJSON *cursor_json(const rlvr_task_cursor *c) {
  cJSON *o = cJSON_CreateObject();
  add_u64(o, "seed", c->seed);
  add_u64(o, "epoch", c->epoch);
  add_u64(o, "position", c->position);
  return o;
}

/* The counts as a JSON object, field by field; X-list so that reading and
 * writing cannot disagree. */
#define COUNT_FIELDS(X)                                                                            \
  X(groups_made) X(groups_issued) X(groups_reissued) X(groups_accepted) X(groups_stale)            \
  X(groups_zero_spread) X(groups_dropped_zero_spread) X(groups_invalid) X(groups_failed)           \
  X(groups_duplicate)                                                                              \
  X(groups_unknown) X(samples_infra) X(workers_lost)

static cJSON *counts_json(const rlvr_ledger_counts *c) {
  cJSON *o = cJSON_CreateObject();
#define X(f) cJSON_AddNumberToObject(o, #f, (double)c->f);
  COUNT_FIELDS(X)
#undef X
  return o;
}

static char *state_text(const rlvr_train_state *st) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "format", "rlvr-train-state");
  cJSON_AddNumberToObject(o, "version", RLVR_TRAIN_STATE_VERSION);
  cJSON_AddNumberToObject(o, "step", (double)st->step);
  cJSON_AddNumberToObject(o, "optimizer_step", (double)st->optimizer_step);
  cJSON_AddItemToObject(o, "cursor", cursor_json(&st->ledger.cursor));
  add_u64(o, "next_group_id", st->ledger.next_id);
  cJSON_AddNumberToObject(o, "step_sampled", (double)st->ledger.step_sampled);
  cJSON *pend = cJSON_AddArrayToObject(o, "pending");
  for (int i = 0; i < st->ledger.npending; i++) {
    cJSON *p = cJSON_CreateObject();
    add_u64(p, "group_id", st->ledger.pending_ids[i]);
    cJSON_AddItemToObject(p, "cursor", cursor_json(&st->ledger.pending_cursor[i]));
    cJSON_AddItemToArray(pend, p);
  }
  cJSON_AddItemToObject(o, "counts", counts_json(&st->counts));
  cJSON_AddItemToObject(o, "counts_at_step", counts_json(&st->counts_at_step));
  add_u64(o, "next_group_id_at_step", st->next_id_at_step);
  cJSON_AddNumberToObject(o, "rejected", (double)st->rejected);
  cJSON_AddNumberToObject(o, "rejected_at_step", (double)st->rejected_at_step);
  cJSON *rng = cJSON_AddArrayToObject(o, "rng");
  for (int i = 0; i < 4; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, st->rng[i]);
    cJSON_AddItemToArray(rng, cJSON_CreateString(buf));
  }
  cJSON_AddNumberToObject(o, "metrics_bytes", (double)st->metrics_bytes);
  cJSON_AddNumberToObject(o, "samples_bytes", (double)st->samples_bytes);
  add_u64(o, "task_fingerprint", st->task_fingerprint);
  cJSON_AddNumberToObject(o, "elapsed_s", st->elapsed_s);
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  return text;
}

/* Readers: each names the file and the field on error. */
typedef struct {
  const char *path;
  int rc;
} reader;

static const cJSON *field(reader *r, const cJSON *o, const char *key, const char *ctx) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!f && r->rc == RLVR_OK) r->rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %s%s is missing", r->path, ctx, key);
  return f;
}

static int64_t get_int(reader *r, const cJSON *o, const char *key, const char *ctx) {
  const cJSON *f = field(r, o, key, ctx);
  if (!f) return 0;
  /* range first: casting a double beyond int64 is undefined */
  if (!cJSON_IsNumber(f) || !(f->valuedouble >= 0 && f->valuedouble <= 9007199254740992.0) ||
      f->valuedouble != floor(f->valuedouble)) {
    if (r->rc == RLVR_OK)
      r->rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %s%s must be a non-negative integer", r->path, ctx, key);
    return 0;
  }
  return (int64_t)f->valuedouble;
}

static double get_num(reader *r, const cJSON *o, const char *key, const char *ctx) {
  const cJSON *f = field(r, o, key, ctx);
  if (!f) return 0;
  if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble) || f->valuedouble < 0) {
    if (r->rc == RLVR_OK)
      r->rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %s%s must be a finite number >= 0", r->path, ctx, key);
    return 0;
  }
  return f->valuedouble;
}

static uint64_t parse_u64(reader *r, const cJSON *f, const char *key, const char *ctx) {
  if (!cJSON_IsString(f) || !f->valuestring[0]) goto bad;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(f->valuestring, &end, 10);
  if (*end || errno || f->valuestring[0] == '-') goto bad;
  return (uint64_t)v;
bad:
  if (r->rc == RLVR_OK)
    r->rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %s%s must be a decimal string of a 64-bit unsigned integer", r->path,
                       ctx, key);
  return 0;
}

static uint64_t get_u64(reader *r, const cJSON *o, const char *key, const char *ctx) {
  const cJSON *f = field(r, o, key, ctx);
  return f ? parse_u64(r, f, key, ctx) : 0;
}

static void get_cursor(reader *r, const cJSON *o, const char *key, const char *ctx, rlvr_task_cursor *c) {
  const cJSON *f = field(r, o, key, ctx);
  if (!f) return;
  char sub[128];
  snprintf(sub, sizeof sub, "%s%s.", ctx, key);
  if (!cJSON_IsObject(f)) {
    if (r->rc == RLVR_OK) r->rc = rlvr_error(RLVR_ERR_FORMAT, "%s: %s%s must be an object", r->path, ctx, key);
    return;
  }
  c->seed = get_u64(r, f, "seed", sub);
  c->epoch = get_u64(r, f, "epoch", sub);
  c->position = get_u64(r, f, "position", sub);
}

static void get_counts(reader *r, const cJSON *o, const char *key, rlvr_ledger_counts *c) {
  const cJSON *f = field(r, o, key, "");
  if (!f) return;
  char sub[64];
  snprintf(sub, sizeof sub, "%s.", key);
#define X(name) c->name = get_int(r, f, #name, sub);
  COUNT_FIELDS(X)
#undef X
}

int rlvr_train_checkpoint_read_state(const char *dir, rlvr_train_state *st) {
  memset(st, 0, sizeof *st);
  char path[PATH_CAP];
  int rc = pathf(path, sizeof path, "%s/state.json", dir);
  if (rc) return rc;
  char *text;
  size_t len;
  rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  rc = rlvr_train_state_parse(text, len, path, st);
  free(text);
  return rc;
}

int rlvr_train_state_parse(const char *text, size_t len, const char *path, rlvr_train_state *st) {
  memset(st, 0, sizeof *st);
  cJSON *o = cJSON_ParseWithLength(text, len);
  if (!o || !cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", path);
  }
  reader r = {path, RLVR_OK};
  rlvr_train_state s;
  memset(&s, 0, sizeof s);
  const cJSON *fmt = field(&r, o, "format", "");
  if (fmt && (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "rlvr-train-state") != 0) && r.rc == RLVR_OK)
    r.rc = rlvr_error(RLVR_ERR_FORMAT, "%s: format is not \"rlvr-train-state\"", path);
  int64_t version = get_int(&r, o, "version", "");
  if (r.rc == RLVR_OK && version != RLVR_TRAIN_STATE_VERSION)
    r.rc = rlvr_error(RLVR_ERR_FORMAT, "%s: state version %lld, this build reads %d", path, (long long)version,
                      RLVR_TRAIN_STATE_VERSION);
  s.step = get_int(&r, o, "step", "");
  s.optimizer_step = get_int(&r, o, "optimizer_step", "");
  get_cursor(&r, o, "cursor", "", &s.ledger.cursor);
  s.ledger.next_id = get_u64(&r, o, "next_group_id", "");
  s.ledger.step_sampled = get_int(&r, o, "step_sampled", "");
  const cJSON *pend = field(&r, o, "pending", "");
  if (pend && !cJSON_IsArray(pend) && r.rc == RLVR_OK)
    r.rc = rlvr_error(RLVR_ERR_FORMAT, "%s: pending must be an array", path);
  if (r.rc == RLVR_OK && pend) {
    int n = cJSON_GetArraySize(pend);
    s.ledger.npending = n;
    s.ledger.pending_ids = xcalloc((size_t)(n ? n : 1), sizeof(uint64_t));
    s.ledger.pending_cursor = xcalloc((size_t)(n ? n : 1), sizeof(rlvr_task_cursor));
    int i = 0;
    for (const cJSON *p = pend->child; p && r.rc == RLVR_OK; p = p->next, i++) {
      char ctx[64];
      snprintf(ctx, sizeof ctx, "pending[%d].", i);
      if (!cJSON_IsObject(p)) {
        r.rc = rlvr_error(RLVR_ERR_FORMAT, "%s: pending[%d] must be an object", path, i);
        break;
      }
      s.ledger.pending_ids[i] = get_u64(&r, p, "group_id", ctx);
      get_cursor(&r, p, "cursor", ctx, &s.ledger.pending_cursor[i]);
    }
  }
  get_counts(&r, o, "counts", &s.counts);
  get_counts(&r, o, "counts_at_step", &s.counts_at_step);
  s.next_id_at_step = get_u64(&r, o, "next_group_id_at_step", "");
  s.rejected = get_int(&r, o, "rejected", "");
  s.rejected_at_step = get_int(&r, o, "rejected_at_step", "");
  const cJSON *rng = field(&r, o, "rng", "");
  if (rng && (!cJSON_IsArray(rng) || cJSON_GetArraySize(rng) != 4) && r.rc == RLVR_OK)
    r.rc = rlvr_error(RLVR_ERR_FORMAT, "%s: rng must be an array of 4 decimal strings", path);
  for (int i = 0; r.rc == RLVR_OK && rng && i < 4; i++) s.rng[i] = parse_u64(&r, cJSON_GetArrayItem(rng, i), "rng", "");
  s.metrics_bytes = get_int(&r, o, "metrics_bytes", "");
  s.samples_bytes = get_int(&r, o, "samples_bytes", "");
  s.task_fingerprint = get_u64(&r, o, "task_fingerprint", "");
  s.elapsed_s = get_num(&r, o, "elapsed_s", "");
  cJSON_Delete(o);
  if (r.rc != RLVR_OK) {
    rlvr_ledger_state_clear(&s.ledger);
    return r.rc;
  }
  *st = s;
  return RLVR_OK;
}

/* ---- optimizer moments ---- */

static int write_optimizer(const char *path, const rlvr_model *m, const rlvr_adamw *opt) {
  const int n = m->num_tensors;
  rlvr_st_write_tensor *ts = xcalloc((size_t)2 * n, sizeof *ts);
  char **names = xcalloc((size_t)2 * n, sizeof *names);
  int k = 0;
  for (int i = 0; i < n; i++) {
    const rlvr_tensor_info *t = &m->tensors[i];
    for (int which = 0; which < 2; which++) {
      size_t len = strlen(t->name) + 3;
      names[k] = xmalloc(len);
      snprintf(names[k], len, "%c.%s", which ? 'v' : 'm', t->name);
      ts[k].name = names[k];
      ts[k].dtype = RLVR_DTYPE_F32;
      ts[k].ndim = t->ndim;
      ts[k].shape[0] = t->shape[0];
      ts[k].shape[1] = t->shape[1];
      ts[k].data = (which ? opt->v : opt->m) + t->offset;
      k++;
    }
  }
  char step[32];
  snprintf(step, sizeof step, "%ld", opt->step);
  rlvr_st_meta meta[3] = {{"format", "rlvr-adamw"}, {"version", "1"}, {"step", step}};
  int rc = rlvr_safetensors_write(path, ts, k, meta, 3);
  for (int i = 0; i < k; i++) free(names[i]);
  free(names);
  free(ts);
  return rc;
}

int rlvr_train_checkpoint_read_optimizer(const char *dir, const rlvr_model *m, rlvr_adamw *opt) {
  char path[PATH_CAP];
  int rc = pathf(path, sizeof path, "%s/optimizer.safetensors", dir);
  if (rc) return rc;
  rlvr_safetensors st;
  rc = rlvr_safetensors_open(path, &st);
  if (rc) return rc;
  const char *fmt = rlvr_safetensors_meta(&st, "format"), *ver = rlvr_safetensors_meta(&st, "version");
  const char *step = rlvr_safetensors_meta(&st, "step");
  char *end = NULL;
  long step_v = step ? strtol(step, &end, 10) : -1;
  if (!fmt || strcmp(fmt, "rlvr-adamw") || !ver || strcmp(ver, "1") || !step || *end || step_v < 0) {
    rlvr_safetensors_close(&st);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: metadata must say format rlvr-adamw, version 1 and a step", path);
  }
  float *mm = xmalloc_aligned(opt->n * sizeof(float)), *vv = xmalloc_aligned(opt->n * sizeof(float));
  memcpy(mm, opt->m, opt->n * sizeof(float));
  memcpy(vv, opt->v, opt->n * sizeof(float));
  int expected = 0;
  for (int i = 0; i < m->num_tensors && rc == RLVR_OK; i++) {
    const rlvr_tensor_info *t = &m->tensors[i];
    for (int which = 0; which < 2 && rc == RLVR_OK; which++) {
      char name[RLVR_TENSOR_NAME_MAX + 3];
      snprintf(name, sizeof name, "%c.%s", which ? 'v' : 'm', t->name);
      expected++;
      const rlvr_st_tensor *s = rlvr_safetensors_find(&st, name);
      if (!s) {
        rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor %s is missing", path, name);
      } else if (s->dtype != RLVR_DTYPE_F32 || s->ndim != t->ndim || s->shape[0] != t->shape[0] ||
                 (t->ndim == 2 && s->shape[1] != t->shape[1])) {
        rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor %s is not F32 of the model tensor's shape", path, name);
      } else {
        rc = rlvr_safetensors_read_f32(&st, s, (which ? vv : mm) + t->offset);
      }
    }
  }
  if (rc == RLVR_OK && st.num_tensors != expected)
    rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: %d tensors, the model's optimizer has %d", path, st.num_tensors, expected);
  rlvr_safetensors_close(&st);
  if (rc == RLVR_OK) {
    memcpy(opt->m, mm, opt->n * sizeof(float));
    memcpy(opt->v, vv, opt->n * sizeof(float));
    opt->step = step_v;
  }
  free(mm);
  free(vv);
  return rc;
}

/* ---- save ---- */

int rlvr_train_checkpoint_save(const char *run_dir, int keep, const rlvr_train_state *st, const rlvr_model *m,
                               const rlvr_adamw *opt, const rlvr_config *cfg, const char *tokenizer_dir,
                               int *written) {
  RLVR_CHECK(keep >= 1);
  if (written) *written = 0;
  char dir[PATH_CAP], name[64], final[PATH_CAP], tmp[PATH_CAP], path[PATH_CAP];
  snprintf(name, sizeof name, "step-%08lld", (long long)st->step);
  int rc;
  if ((rc = pathf(dir, sizeof dir, "%s/checkpoints", run_dir)) || (rc = pathf(final, sizeof final, "%s/%s", dir, name)) ||
      (rc = pathf(tmp, sizeof tmp, "%s/.tmp-%s-%d", dir, name, (int)getpid())))
    return rc;
  struct stat sb;
  if (stat(final, &sb) == 0) return RLVR_OK; /* this step's checkpoint exists */
  if ((rc = rlvr_mkdirs(dir))) return rc;
  remove_tree(tmp);
  if ((rc = rlvr_mkdirs(tmp))) return rc;
  rlvr_save_options so = {.tokenizer_dir = tokenizer_dir};
  if (!(rc = pathf(path, sizeof path, "%s/model", tmp))) rc = rlvr_model_save(m, path, &so);
  if (!rc && !(rc = pathf(path, sizeof path, "%s/optimizer.safetensors", tmp))) rc = write_optimizer(path, m, opt);
  if (!rc && !(rc = pathf(path, sizeof path, "%s/state.json", tmp))) {
    char *text = state_text(st);
    rc = rlvr_file_write_atomic(path, text, strlen(text));
    free(text);
  }
  if (!rc && !(rc = pathf(path, sizeof path, "%s/config.lua", tmp))) rc = rlvr_config_save(cfg, path);
  if (!rc && !(rc = pathf(path, sizeof path, "%s/model", tmp))) rc = fsync_dir(path);
  if (!rc) rc = fsync_dir(tmp);
  if (!rc && rename(tmp, final) != 0) rc = rlvr_error(RLVR_ERR_IO, "rename %s to %s: %s", tmp, final, strerror(errno));
  if (!rc) rc = fsync_dir(dir);
  if (!rc && !(rc = pathf(path, sizeof path, "%s/latest", dir))) {
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    rc = rlvr_file_write_atomic(path, line, strlen(line));
  }
  if (rc) {
    remove_tree(tmp);
    return rlvr_error_wrap(rc, "checkpoint %s", final);
  }
  prune(dir, keep);
  if (written) *written = 1;
  return RLVR_OK;
}

int rlvr_train_checkpoint_latest(const char *run_dir, char *path, size_t cap) {
  char p[PATH_CAP];
  int rc = pathf(p, sizeof p, "%s/checkpoints/latest", run_dir);
  if (rc) return rc;
  char *text;
  size_t len;
  if (rlvr_file_read(p, &text, &len) != RLVR_OK)
    return rlvr_error(RLVR_ERR_IO, "%s: no checkpoint to resume from (%s/checkpoints/latest is missing)", run_dir,
                      run_dir);
  while (len && (text[len - 1] == '\n' || text[len - 1] == ' ')) text[--len] = 0;
  int ok = len > 5 && !strncmp(text, "step-", 5) && !strchr(text, '/');
  if (ok) snprintf(path, cap, "%s/checkpoints/%s", run_dir, text);
  free(text);
  if (!ok) return rlvr_error(RLVR_ERR_FORMAT, "%s: does not name a checkpoint directory", p);
  return RLVR_OK;
}
