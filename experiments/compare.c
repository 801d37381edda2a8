/* compare.c — loading runs, grouping them, and the comparison tables; see
 * compare.h. The figures are in compare_html.c. */
#include "experiments/compare.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "experiments/sweep.h"
#include "experiments/sweep_dir.h"

static char *joinp(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

static void series_push(rlvr_series *s, double step, double v) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->step = xrealloc(s->step, (size_t)s->cap * sizeof *s->step);
    s->value = xrealloc(s->value, (size_t)s->cap * sizeof *s->value);
  }
  s->step[s->n] = step;
  s->value[s->n] = v;
  s->n++;
}

void rlvr_compare_free(rlvr_compare *c) {
  if (!c) return;
  for (int i = 0; i < c->nruns; i++) {
    rlvr_compare_run *r = &c->runs[i];
    free(r->dir), free(r->label);
    for (int k = 0; k < r->nkeys; k++) free(r->keys[k]), free(r->values[k]);
    free(r->keys), free(r->values);
    for (int m = 0; r->series && m < c->nmetrics; m++) free(r->series[m].step), free(r->series[m].value);
    free(r->series);
  }
  free(c->runs);
  for (int m = 0; m < c->nmetrics; m++) free(c->metrics[m].name);
  free(c->metrics);
  for (int k = 0; k < c->ndiff; k++) free(c->diff_keys[k]);
  free(c->diff_keys);
  for (int g = 0; g < c->ngroups; g++) {
    free(c->groups[g].label);
    free(c->groups[g].values); /* the strings belong to the runs */
    free(c->groups[g].runs);
  }
  free(c->groups);
  free(c);
}

/* ---- finding runs ------------------------------------------------------- */

static void add_run(rlvr_compare *c, const char *dir, const char *label) {
  c->runs = xrealloc(c->runs, (size_t)(c->nruns + 1) * sizeof *c->runs);
  rlvr_compare_run *r = &c->runs[c->nruns++];
  memset(r, 0, sizeof *r);
  r->dir = xstrdup(dir);
  r->label = xstrdup(label);
  r->seed = -1;
  r->last_step = NAN;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *last_component(const char *path, char *buf, size_t cap) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  size_t s = n;
  while (s > 0 && path[s - 1] != '/') s--;
  snprintf(buf, cap, "%.*s", (int)(n - s), path + s);
  return buf;
}

static int expand_path(rlvr_compare *c, const char *path, FILE *log) {
  char *manifest = joinp(path, "sweep.json");
  char *metrics = joinp(path, "metrics.jsonl");
  int rc = RLVR_OK;
  char buf[512];
  if (rlvr_file_exists(manifest)) {
    rlvr_sweep_dir *d;
    if ((rc = rlvr_sweep_dir_open(&d, path)) == RLVR_OK) {
      for (int i = 0; i < d->sweep->nruns; i++) {
        char *rd = rlvr_sweep_dir_path(d, i, NULL);
        char *m = joinp(rd, "metrics.jsonl");
        if (rlvr_file_exists(m)) add_run(c, rd, d->sweep->runs[i].name);
        else if (log) fprintf(log, "rlvr compare: %s: no metrics.jsonl yet; left out\n", rd);
        free(m), free(rd);
      }
      rlvr_sweep_dir_free(d);
    }
  } else if (rlvr_file_exists(metrics)) {
    add_run(c, path, last_component(path, buf, sizeof buf));
  } else {
    /* A directory of runs. */
    DIR *dh = opendir(path);
    if (!dh) {
      rc = rlvr_error(RLVR_ERR_IO, "%s: not a run (no metrics.jsonl), a sweep (no sweep.json) or a directory", path);
    } else {
      char **names = NULL;
      int n = 0;
      struct dirent *e;
      while ((e = readdir(dh))) {
        if (e->d_name[0] == '.') continue;
        char *sub = joinp(path, e->d_name);
        char *m = joinp(sub, "metrics.jsonl");
        if (rlvr_file_exists(m)) {
          names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
          names[n++] = xstrdup(e->d_name);
        }
        free(m), free(sub);
      }
      closedir(dh);
      if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_str);
      for (int i = 0; i < n; i++) {
        char *sub = joinp(path, names[i]);
        add_run(c, sub, names[i]);
        free(sub), free(names[i]);
      }
      free(names);
      if (n == 0) rc = rlvr_error(RLVR_ERR_IO, "%s: no metrics.jsonl there or in its subdirectories", path);
    }
  }
  free(manifest), free(metrics);
  return rc;
}

/* ---- configs ------------------------------------------------------------ */

static char *value_text(lua_State *L, int idx) {
  char num[64];
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: return xstrdup(lua_tostring(L, idx));
  case LUA_TBOOLEAN: return xstrdup(lua_toboolean(L, idx) ? "true" : "false");
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
    else rlvr_sweep_format_number(lua_tonumber(L, idx), 0, num, sizeof num);
    return xstrdup(num);
  default: return xstrdup("?");
  }
}

/* The run's resolved config, flattened to sorted "section.key" -> text:
 * rlvr_config_print_lua's output read back by Lua. */
static int load_config(rlvr_compare_run *r) {
  char *p = joinp(r->dir, "sweep_config.lua");
  if (!rlvr_file_exists(p)) {
    free(p);
    p = joinp(r->dir, "config.lua");
    if (!rlvr_file_exists(p)) {
      free(p);
      return RLVR_OK;
    }
  }
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  int rc = rlvr_config_load(&cfg, p);
  free(p);
  if (rc) {
    rlvr_config_free(&cfg);
    return rc;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  RLVR_CHECK(mem != NULL);
  rlvr_config_print_lua(&cfg, mem);
  fclose(mem);
  r->seed = cfg.run_seed;
  rlvr_config_free(&cfg);
  lua_State *L = luaL_newstate();
  RLVR_CHECK(L != NULL);
  RLVR_CHECK(luaL_loadbufferx(L, text, len, "=config", "t") == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK);
  free(text);
  int cap = 256;
  r->keys = xmalloc((size_t)cap * sizeof *r->keys);
  r->values = xmalloc((size_t)cap * sizeof *r->values);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    const char *section = lua_tostring(L, -2);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (r->nkeys == cap) {
        cap *= 2;
        r->keys = xrealloc(r->keys, (size_t)cap * sizeof *r->keys);
        r->values = xrealloc(r->values, (size_t)cap * sizeof *r->values);
      }
      size_t kn = strlen(section) + strlen(lua_tostring(L, -2)) + 2;
      r->keys[r->nkeys] = xmalloc(kn);
      snprintf(r->keys[r->nkeys], kn, "%s.%s", section, lua_tostring(L, -2));
      r->values[r->nkeys] = value_text(L, -1);
      r->nkeys++;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_close(L);
  /* Sort key and value together. */
  for (int i = 1; i < r->nkeys; i++)
    for (int j = i; j > 0 && strcmp(r->keys[j - 1], r->keys[j]) > 0; j--) {
      char *t = r->keys[j];
      r->keys[j] = r->keys[j - 1], r->keys[j - 1] = t;
      t = r->values[j];
      r->values[j] = r->values[j - 1], r->values[j - 1] = t;
    }
  r->has_config = 1;
  return RLVR_OK;
}

static const char *config_value(const rlvr_compare_run *r, const char *key) {
  int lo = 0, hi = r->nkeys - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(r->keys[mid], key);
    if (c == 0) return r->values[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* ---- metrics ------------------------------------------------------------ */

/* The item at a dotted path of o, or NULL. */
static const cJSON *find_item(const cJSON *o, const char *path) {
  char part[256];
  const char *p = path;
  while (o && *p) {
    size_t n = strcspn(p, ".");
    /* A field whose own name has dots ("pass@1.0"?) is tried whole first. */
    const cJSON *whole = cJSON_GetObjectItemCaseSensitive(o, p);
    if (whole) return whole;
    if (n >= sizeof part) return NULL;
    memcpy(part, p, n);
    part[n] = '\0';
    o = cJSON_GetObjectItemCaseSensitive(o, part);
    p += n + (p[n] == '.');
  }
  return o;
}

/* The number at a dotted path of o, or NAN (absent, null, not a number). */
static double lookup(const cJSON *o, const char *path) {
  const cJSON *e = find_item(o, path);
  return cJSON_IsNumber(e) ? e->valuedouble : NAN;
}

/* Whether a series holds a value (not only nulls). */
static int series_has_value(const rlvr_series *s) {
  for (int k = 0; k < s->n; k++)
    if (isfinite(s->value[k])) return 1;
  return 0;
}

/* Numeric leaves of o as dotted names, appended to names (no repeats). */
static void collect_names(const cJSON *o, const char *prefix, char ***names, int *n, int depth) {
  const cJSON *e;
  cJSON_ArrayForEach(e, o) {
    if (!e->string) continue;
    char name[512];
    snprintf(name, sizeof name, "%s%s", prefix, e->string);
    if (cJSON_IsObject(e) && depth < 6) {
      char sub[520];
      snprintf(sub, sizeof sub, "%s.", name);
      collect_names(e, sub, names, n, depth + 1);
    } else if (cJSON_IsNumber(e) || cJSON_IsNull(e)) {
      int seen = 0;
      for (int i = 0; i < *n && !seen; i++) seen = !strcmp((*names)[i], name);
      if (!seen) {
        *names = xrealloc(*names, (size_t)(*n + 1) * sizeof **names);
        (*names)[(*n)++] = xstrdup(name);
      }
    }
  }
}

/* Reads metrics.jsonl: series for the non-summary metrics; the field names
 * of the first line go to names (for the default choice and messages). */
static int load_metrics(rlvr_compare *c, rlvr_compare_run *r, char ***names, int *nnames) {
  char *path = joinp(r->dir, "metrics.jsonl");
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) {
    free(path);
    return rc;
  }
  int line = 0;
  for (size_t pos = 0; pos < len && rc == RLVR_OK;) {
    char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    line++;
    size_t n = end - pos;
    int blank = 1;
    for (size_t k = pos; k < end && blank; k++) blank = text[k] == ' ' || text[k] == '\t' || text[k] == '\r';
    if (!blank) {
      cJSON *o = cJSON_ParseWithLength(text + pos, n);
      if (!o || !cJSON_IsObject(o)) {
        /* A last line without its newline is one being written. */
        if (nl) rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%d: not a JSON object", path, line);
      } else {
        if (*nnames == 0 || line == 1) collect_names(o, "", names, nnames, 0);
        double step = lookup(o, "step");
        if (!isfinite(step)) step = line;
        for (int m = 0; m < c->nmetrics; m++) {
          if (c->metrics[m].from_summary) continue;
          /* A null is a point without a value (a gap in the curve); an
           * absent field or a non-finite number is no point at all. */
          const cJSON *e = find_item(o, c->metrics[m].name);
          if (cJSON_IsNumber(e) && isfinite(e->valuedouble)) series_push(&r->series[m], step, e->valuedouble);
          else if (cJSON_IsNull(e)) series_push(&r->series[m], step, NAN);
        }
        r->last_step = step;
      }
      cJSON_Delete(o);
    }
    pos = end + 1;
  }
  free(text);
  free(path);
  return rc;
}

/* summary.json: the summary metrics, and (names != NULL) its leaves. */
static int load_summary(rlvr_compare *c, rlvr_compare_run *r, char ***names, int *nnames) {
  char *path = joinp(r->dir, "summary.json");
  if (!rlvr_file_exists(path)) {
    free(path);
    return RLVR_OK;
  }
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc == RLVR_OK) {
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o || !cJSON_IsObject(o)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", path);
    } else {
      if (names) collect_names(o, "", names, nnames, 0);
      /* Held-out accuracy before GRPO: the SFT model's after a warm
       * start, else the initial model's (cmd/cmd_train.c writes one). */
      double before = lookup(o, "eval.sft.accuracy"), after = lookup(o, "eval.grpo.accuracy");
      if (!isfinite(before)) before = lookup(o, "eval.initial.accuracy");
      for (int m = 0; m < c->nmetrics; m++) {
        if (!c->metrics[m].from_summary) continue;
        double v;
        switch (c->metrics[m].heldout) {
        case RLVR_COMPARE_HELDOUT_BEFORE: v = before; break;
        case RLVR_COMPARE_HELDOUT_AFTER: v = after; break;
        case RLVR_COMPARE_HELDOUT_GAIN: v = 100.0 * (after - before); break;
        default: v = lookup(o, c->metrics[m].name);
        }
        if (isfinite(v)) series_push(&r->series[m], 0, v);
      }
    }
    cJSON_Delete(o);
    free(text);
  }
  free(path);
  return rc;
}

static const char *const heldout_names[] = {NULL, "heldout_before", "heldout_after", "heldout_gain_points"};

static void add_metric(rlvr_compare *c, const char *spec) {
  if (!strcmp(spec, "heldout")) {
    for (int h = RLVR_COMPARE_HELDOUT_BEFORE; h <= RLVR_COMPARE_HELDOUT_GAIN; h++) add_metric(c, heldout_names[h]);
    return;
  }
  c->metrics = xrealloc(c->metrics, (size_t)(c->nmetrics + 1) * sizeof *c->metrics);
  rlvr_compare_metric *m = &c->metrics[c->nmetrics++];
  memset(m, 0, sizeof *m);
  for (int h = RLVR_COMPARE_HELDOUT_BEFORE; h <= RLVR_COMPARE_HELDOUT_GAIN; h++)
    if (!strcmp(spec, heldout_names[h])) {
      m->name = xstrdup(spec);
      m->from_summary = 1;
      m->heldout = h;
      return;
    }
  const char *s = spec;
  if (!strncmp(s, "summary:", 8)) m->from_summary = 1, s += 8;
  size_t n = strlen(s);
  int dir = 0;
  if (n > 4 && !strcmp(s + n - 4, ":min")) dir = -1, n -= 4;
  else if (n > 4 && !strcmp(s + n - 4, ":max")) dir = 1, n -= 4;
  m->name = xmalloc(n + 1);
  memcpy(m->name, s, n);
  m->name[n] = '\0';
  if (dir) m->minimize = dir < 0;
  else m->minimize = (n >= 4 && !strcmp(m->name + n - 4, "loss")) || !strcmp(m->name, "kl");
}

/* ---- groups ------------------------------------------------------------- */

static int holds_own_dir(const rlvr_compare_run *r, const char *v) {
  if (strstr(v, r->dir)) return 1;
  char real[4096];
  return realpath(r->dir, real) && strstr(v, real);
}

static void build_groups(rlvr_compare *c) {
  /* The differing keys: from the union of keys, those whose values differ
   * (a key some configs lack counts as differing). */
  char **all = NULL;
  int nall = 0;
  for (int i = 0; i < c->nruns; i++)
    for (int k = 0; k < c->runs[i].nkeys; k++) {
      int seen = 0;
      for (int j = 0; j < nall && !seen; j++) seen = !strcmp(all[j], c->runs[i].keys[k]);
      if (!seen) {
        all = xrealloc(all, (size_t)(nall + 1) * sizeof *all);
        all[nall++] = c->runs[i].keys[k];
      }
    }
  if (nall > 1) qsort(all, (size_t)nall, sizeof *all, cmp_str);
  for (int k = 0; k < nall; k++) {
    if (!strcmp(all[k], "run.dir") || !strcmp(all[k], "run.seed")) continue;
    const char *first = NULL;
    int differ = 0, own = 1, nconf = 0;
    for (int i = 0; i < c->nruns; i++) {
      if (!c->runs[i].has_config) continue;
      const char *v = config_value(&c->runs[i], all[k]);
      nconf++;
      if (!v) {
        differ = 1, own = 0;
        continue;
      }
      if (!first) first = v;
      else if (strcmp(first, v)) differ = 1;
      if (!holds_own_dir(&c->runs[i], v)) own = 0;
    }
    if (differ && !(own && nconf > 0)) {
      c->diff_keys = xrealloc(c->diff_keys, (size_t)(c->ndiff + 1) * sizeof *c->diff_keys);
      c->diff_keys[c->ndiff++] = xstrdup(all[k]);
    }
  }
  free(all);

  for (int i = 0; i < c->nruns; i++) {
    const rlvr_compare_run *r = &c->runs[i];
    int g = -1;
    for (int h = 0; h < c->ngroups && g < 0 && r->has_config; h++) {
      const rlvr_compare_run *o = &c->runs[c->groups[h].runs[0]];
      if (!o->has_config) continue;
      int same = 1;
      for (int k = 0; k < c->ndiff && same; k++) {
        const char *a = config_value(r, c->diff_keys[k]), *b = config_value(o, c->diff_keys[k]);
        same = (!a && !b) || (a && b && !strcmp(a, b));
      }
      if (same) g = h;
    }
    if (g < 0) {
      c->groups = xrealloc(c->groups, (size_t)(c->ngroups + 1) * sizeof *c->groups);
      rlvr_compare_group *ng = &c->groups[c->ngroups];
      memset(ng, 0, sizeof *ng);
      ng->values = xcalloc((size_t)c->ndiff + 1, sizeof *ng->values);
      size_t cap = 64, len = 0;
      ng->label = xmalloc(cap);
      ng->label[0] = '\0';
      for (int k = 0; k < c->ndiff; k++) {
        const char *v = r->has_config ? config_value(r, c->diff_keys[k]) : NULL;
        ng->values[k] = (char *)(v ? v : "-");
        if (!r->has_config) continue;
        size_t need = strlen(c->diff_keys[k]) + strlen(ng->values[k]) + 4;
        if (len + need + 1 > cap) ng->label = xrealloc(ng->label, cap = 2 * (len + need + 1));
        len += (size_t)snprintf(ng->label + len, cap - len, "%s%s=%s", len ? ", " : "", c->diff_keys[k],
                                ng->values[k]);
      }
      if (!r->has_config) snprintf(ng->label, cap, "%s", r->label);
      else if (!len) snprintf(ng->label, cap, "all runs");
      g = c->ngroups++;
    }
    rlvr_compare_group *gr = &c->groups[g];
    gr->runs = xrealloc(gr->runs, (size_t)(gr->nruns + 1) * sizeof *gr->runs);
    gr->runs[gr->nruns++] = i;
  }
}

int rlvr_compare_load(rlvr_compare **out, const char *const *paths, int npaths, const char *const *metric_names,
                      int nnames, FILE *log) {
  *out = NULL;
  rlvr_compare *c = xcalloc(1, sizeof *c);
  c->smooth = 1;
  int rc = RLVR_OK;
  for (int i = 0; i < npaths && rc == RLVR_OK; i++) rc = expand_path(c, paths[i], log);
  if (rc == RLVR_OK && c->nruns == 0) rc = rlvr_error(RLVR_ERR_IO, "no runs with a metrics.jsonl to compare");
  for (int i = 0; i < nnames; i++) add_metric(c, metric_names[i]);

  /* Field names seen, for the default choice and for naming what exists. */
  char **fields = NULL, **sfields = NULL;
  int nfields = 0, nsfields = 0;
  if (rc == RLVR_OK && nnames == 0) {
    /* Defaults: the training metrics below that some run logs, the
     * held-out accuracy, then every other summary value whose path holds
     * "accuracy". A first pass for names; a default that turns out to
     * have no value in any run (null on every line) is dropped below. */
    for (int i = 0; i < c->nruns && rc == RLVR_OK; i++) {
      c->runs[i].series = xcalloc(1, sizeof *c->runs[i].series);
      rc = load_metrics(c, &c->runs[i], &fields, &nfields);
      if (rc == RLVR_OK) rc = load_summary(c, &c->runs[i], &sfields, &nsfields);
      free(c->runs[i].series);
      c->runs[i].series = NULL;
    }
    static const char *const train_defaults[] = {"reward", "accuracy", "maj_at_g", "pass_at_g",
                                                 "consensus_majority_correct"};
    static const char *const eval_paths[] = {"eval.sft.accuracy", "eval.initial.accuracy", "eval.grpo.accuracy"};
    for (size_t d = 0; d < sizeof train_defaults / sizeof *train_defaults; d++)
      for (int k = 0; k < nfields; k++)
        if (!strcmp(fields[k], train_defaults[d])) {
          add_metric(c, train_defaults[d]);
          break;
        }
    int heldout = 0;
    for (int k = 0; k < nsfields && !heldout; k++)
      for (size_t e = 0; e < sizeof eval_paths / sizeof *eval_paths; e++) heldout |= !strcmp(sfields[k], eval_paths[e]);
    if (heldout) add_metric(c, "heldout");
    for (int k = 0; k < nsfields; k++) {
      int is_eval = 0;
      for (size_t e = 0; e < sizeof eval_paths / sizeof *eval_paths; e++) is_eval |= !strcmp(sfields[k], eval_paths[e]);
      if (!is_eval && strstr(sfields[k], "accuracy")) {
        char spec[600];
        snprintf(spec, sizeof spec, "summary:%s", sfields[k]);
        add_metric(c, spec);
      }
    }
    if (rc == RLVR_OK && c->nmetrics == 0)
      rc = rlvr_error(RLVR_ERR_ARG, "the runs have no value of reward, accuracy or held-out accuracy; name metrics with --metric");
  }
  for (int i = 0; i < c->nruns && rc == RLVR_OK; i++) {
    rlvr_compare_run *r = &c->runs[i];
    r->series = xcalloc((size_t)c->nmetrics + 1, sizeof *r->series);
    r->last_step = NAN;
    if ((rc = load_metrics(c, r, &fields, &nfields)) == RLVR_OK && (rc = load_summary(c, r, &sfields, &nsfields)) == RLVR_OK)
      rc = load_config(r);
  }
  /* A default metric no run has a value of is left out. */
  for (int m = 0; m < c->nmetrics && rc == RLVR_OK && nnames == 0;) {
    int any = 0;
    for (int i = 0; i < c->nruns && !any; i++) any = series_has_value(&c->runs[i].series[m]);
    if (any) {
      m++;
      continue;
    }
    free(c->metrics[m].name);
    memmove(&c->metrics[m], &c->metrics[m + 1], (size_t)(c->nmetrics - m - 1) * sizeof *c->metrics);
    for (int i = 0; i < c->nruns; i++) {
      rlvr_series *s = c->runs[i].series;
      free(s[m].step), free(s[m].value);
      memmove(&s[m], &s[m + 1], (size_t)(c->nmetrics - m - 1) * sizeof *s);
      memset(&s[c->nmetrics - 1], 0, sizeof *s);
    }
    c->nmetrics--;
  }
  if (rc == RLVR_OK && nnames == 0 && c->nmetrics == 0)
    rc = rlvr_error(RLVR_ERR_ARG, "the runs have no value of reward, accuracy or held-out accuracy; name metrics with --metric");
  /* A named metric no run has is a typo: name what there is. */
  for (int m = 0; m < c->nmetrics && rc == RLVR_OK; m++) {
    int any = 0;
    for (int i = 0; i < c->nruns && !any; i++) any = series_has_value(&c->runs[i].series[m]);
    if (any) continue;
    char **names = c->metrics[m].from_summary ? sfields : fields;
    int nn = c->metrics[m].from_summary ? nsfields : nfields;
    size_t cap = 256, len = 0;
    char *list = xmalloc(cap);
    list[0] = '\0';
    for (int k = 0; k < nn; k++) {
      size_t need = strlen(names[k]) + 3;
      if (len + need + 1 > cap) list = xrealloc(list, cap = 2 * (len + need + 1));
      len += (size_t)snprintf(list + len, cap - len, "%s%s", len ? ", " : "", names[k]);
    }
    rc = rlvr_error(RLVR_ERR_ARG, "metric '%s%s' has no value in any run's %s (there: %s)",
                    c->metrics[m].from_summary && !c->metrics[m].heldout ? "summary:" : "",
                    c->metrics[m].name, c->metrics[m].from_summary ? "summary.json" : "metrics.jsonl",
                    nn ? list : "nothing");
    free(list);
  }
  for (int k = 0; k < nfields; k++) free(fields[k]);
  for (int k = 0; k < nsfields; k++) free(sfields[k]);
  free(fields), free(sfields);
  if (rc) {
    rlvr_compare_free(c);
    return rc;
  }
  build_groups(c);
  *out = c;
  return RLVR_OK;
}

/* ---- statistics and tables ------------------------------------------------ */

/* The final or best value of one run's series, NAN if it has none. */
static double run_value(const rlvr_compare *c, int run, int m, int best) {
  const rlvr_series *s = &c->runs[run].series[m];
  double b = NAN;
  for (int k = 0; k < s->n; k++) {
    double v = s->value[k];
    if (!isfinite(v)) continue; /* null: no value that step */
    if (!best || !isfinite(b) || (c->metrics[m].minimize ? v < b : v > b)) b = v;
  }
  return b;
}

void rlvr_compare_stat(const rlvr_compare *c, int group, int m, int best, double *mean, double *std, int *n) {
  const rlvr_compare_group *g = &c->groups[group];
  double sum = 0;
  int k = 0;
  for (int i = 0; i < g->nruns; i++) {
    double v = run_value(c, g->runs[i], m, best);
    if (isfinite(v)) sum += v, k++;
  }
  *n = k;
  *mean = k ? sum / k : NAN;
  *std = NAN;
  if (k >= 2) {
    double ss = 0;
    for (int i = 0; i < g->nruns; i++) {
      double v = run_value(c, g->runs[i], m, best);
      if (isfinite(v)) ss += (v - *mean) * (v - *mean);
    }
    *std = sqrt(ss / (k - 1));
  }
}

static void fmt_num(char *buf, size_t cap, double v) {
  if (!isfinite(v)) snprintf(buf, cap, "-");
  else snprintf(buf, cap, "%.4g", v);
}

/* "12" or "8-12": the last steps of a group's runs. */
static void steps_text(const rlvr_compare *c, const int *runs, int n, char *buf, size_t cap) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    double s = c->runs[runs[i]].last_step;
    if (!isfinite(s)) continue;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  if (!isfinite(lo)) snprintf(buf, cap, "-");
  else if (lo == hi) snprintf(buf, cap, "%.0f", lo);
  else snprintf(buf, cap, "%.0f-%.0f", lo, hi);
}

/* Markdown cells: a '|' inside would break the row. */
static void md_cell(FILE *out, const char *s) {
  fputc(' ', out);
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", out);
    else if (*s == '\n') fputc(' ', out);
    else fputc(*s, out);
  }
  fputs(" |", out);
}

void rlvr_compare_metric_header(const rlvr_compare_metric *m, int best, char *buf, size_t cap) {
  static const char *const heldout_headers[] = {NULL, "held-out before", "held-out after", "held-out gain (points)"};
  if (m->heldout) snprintf(buf, cap, "%s", heldout_headers[m->heldout]);
  else if (m->from_summary) snprintf(buf, cap, "%s", m->name);
  else snprintf(buf, cap, "%s %s", m->name, best ? (m->minimize ? "best (min)" : "best") : "final");
}

void rlvr_compare_print_markdown(const rlvr_compare *c, FILE *out, int per_run) {
  char buf[512];
  fputc('|', out);
  if (per_run) md_cell(out, "run");
  for (int k = 0; k < c->ndiff; k++) md_cell(out, c->diff_keys[k]);
  md_cell(out, per_run ? "seed" : "runs");
  md_cell(out, "steps");
  for (int m = 0; m < c->nmetrics; m++)
    for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
      rlvr_compare_metric_header(&c->metrics[m], best, buf, sizeof buf);
      md_cell(out, buf);
    }
  fputs("\n|", out);
  int ncols = (per_run ? 1 : 0) + c->ndiff + 2;
  for (int m = 0; m < c->nmetrics; m++) ncols += c->metrics[m].from_summary ? 1 : 2;
  for (int k = 0; k < ncols; k++) fputs(k < (per_run ? 1 : 0) + c->ndiff ? "---|" : "---:|", out);
  fputc('\n', out);
  if (per_run) {
    for (int i = 0; i < c->nruns; i++) {
      const rlvr_compare_run *r = &c->runs[i];
      fputc('|', out);
      md_cell(out, r->label);
      for (int k = 0; k < c->ndiff; k++) {
        const char *v = r->has_config ? config_value(r, c->diff_keys[k]) : NULL;
        md_cell(out, v ? v : "-");
      }
      if (r->seed >= 0) snprintf(buf, sizeof buf, "%lld", (long long)r->seed);
      else snprintf(buf, sizeof buf, "-");
      md_cell(out, buf);
      steps_text(c, &i, 1, buf, sizeof buf);
      md_cell(out, buf);
      for (int m = 0; m < c->nmetrics; m++)
        for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
          fmt_num(buf, sizeof buf, run_value(c, i, m, best));
          md_cell(out, buf);
        }
      fputc('\n', out);
    }
    return;
  }
  for (int g = 0; g < c->ngroups; g++) {
    const rlvr_compare_group *gr = &c->groups[g];
    fputc('|', out);
    for (int k = 0; k < c->ndiff; k++) md_cell(out, gr->values[k]);
    snprintf(buf, sizeof buf, "%d", gr->nruns);
    md_cell(out, buf);
    steps_text(c, gr->runs, gr->nruns, buf, sizeof buf);
    md_cell(out, buf);
    for (int m = 0; m < c->nmetrics; m++)
      for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
        double mean, std;
        int n;
        rlvr_compare_stat(c, g, m, best, &mean, &std, &n);
        char a[64], b[64];
        fmt_num(a, sizeof a, mean);
        if (isfinite(std)) {
          fmt_num(b, sizeof b, std);
          snprintf(buf, sizeof buf, "%s ± %s", a, b);
        } else {
          snprintf(buf, sizeof buf, "%s", a);
        }
        md_cell(out, buf);
      }
    fputc('\n', out);
  }
  if (c->ngroups == 1 && c->groups[0].nruns > 1 && c->ndiff == 0)
    fprintf(out, "\n(the runs' configs differ only in run.seed)\n");
}

/* CSV fields: quoted when they hold a comma, quote or newline. */
static void csv_field(FILE *out, const char *s, int first) {
  if (!first) fputc(',', out);
  if (strpbrk(s, ",\"\n\r")) {
    fputc('"', out);
    for (; *s; s++) {
      if (*s == '"') fputc('"', out);
      fputc(*s, out);
    }
    fputc('"', out);
  } else {
    fputs(s, out);
  }
}

static void csv_num(FILE *out, double v) {
  fputc(',', out);
  if (isfinite(v)) fprintf(out, "%.10g", v);
}

void rlvr_compare_print_csv(const rlvr_compare *c, FILE *out, int per_run) {
  char buf[600];
  int first = 1;
  if (per_run) csv_field(out, "run", first), first = 0;
  for (int k = 0; k < c->ndiff; k++) csv_field(out, c->diff_keys[k], first), first = 0;
  csv_field(out, per_run ? "seed" : "runs", first);
  csv_field(out, "steps", 0);
  for (int m = 0; m < c->nmetrics; m++) {
    const char *prefix = c->metrics[m].from_summary && !c->metrics[m].heldout ? "summary:" : "";
    for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
      const char *what = c->metrics[m].from_summary ? "" : (best ? "_best" : "_final");
      if (per_run) {
        snprintf(buf, sizeof buf, "%s%s%s", prefix, c->metrics[m].name, what);
        csv_field(out, buf, 0);
      } else {
        snprintf(buf, sizeof buf, "%s%s%s_mean", prefix, c->metrics[m].name, what);
        csv_field(out, buf, 0);
        snprintf(buf, sizeof buf, "%s%s%s_std", prefix, c->metrics[m].name, what);
        csv_field(out, buf, 0);
      }
    }
  }
  fputc('\n', out);
  if (per_run) {
    for (int i = 0; i < c->nruns; i++) {
      const rlvr_compare_run *r = &c->runs[i];
      csv_field(out, r->label, 1);
      for (int k = 0; k < c->ndiff; k++) {
        const char *v = r->has_config ? config_value(r, c->diff_keys[k]) : NULL;
        csv_field(out, v ? v : "", 0);
      }
      if (r->seed >= 0) fprintf(out, ",%lld", (long long)r->seed);
      else fputc(',', out);
      csv_num(out, r->last_step);
      for (int m = 0; m < c->nmetrics; m++)
        for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) csv_num(out, run_value(c, i, m, best));
      fputc('\n', out);
    }
    return;
  }
  for (int g = 0; g < c->ngroups; g++) {
    const rlvr_compare_group *gr = &c->groups[g];
    first = 1;
    for (int k = 0; k < c->ndiff; k++) csv_field(out, gr->values[k], first), first = 0;
    if (first) fprintf(out, "%d", gr->nruns);
    else fprintf(out, ",%d", gr->nruns);
    double last = -INFINITY;
    for (int i = 0; i < gr->nruns; i++)
      if (c->runs[gr->runs[i]].last_step > last) last = c->runs[gr->runs[i]].last_step;
    csv_num(out, last);
    for (int m = 0; m < c->nmetrics; m++)
      for (int best = 0; best < (c->metrics[m].from_summary ? 1 : 2); best++) {
        double mean, std;
        int n;
        rlvr_compare_stat(c, g, m, best, &mean, &std, &n);
        csv_num(out, mean);
        csv_num(out, std);
      }
    fputc('\n', out);
  }
}
