/* sweep.c — sweep specs: parsing, expansion, run names; see sweep.h. */
#include "experiments/sweep.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

/* A growable list of owned strings. */
typedef struct {
  char **v;
  int n, cap;
} strv;

static void strv_push(strv *s, char *owned) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 8;
    s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
  }
  s->v[s->n++] = owned;
}

static void strv_free(strv *s) {
  for (int i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static char *xprintf(const char *fmt, ...) RLVR_PRINTF(1, 2);
static char *xprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RLVR_CHECK(n >= 0);
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

size_t rlvr_sweep_edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  size_t *row = xmalloc((m + 1) * sizeof *row);
  for (size_t j = 0; j <= m; j++) row[j] = j;
  for (size_t i = 1; i <= n; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  size_t d = row[m];
  free(row);
  return d;
}

void rlvr_sweep_format_number(double v, int is_integer, char *buf, size_t cap) {
  if (is_integer) {
    snprintf(buf, cap, "%lld", (long long)v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* The spec's top-level fields, for "did you mean". */
static const char *spec_fields[] = {"name",    "base",        "variants",    "grid", "zip",      "seeds",
                                    "command", "resume_flag", "resume_when", "dir",  "parallel", "slurm"};
enum { NSPEC_FIELDS = sizeof spec_fields / sizeof spec_fields[0] };

static const char *nearest_field(const char *name) {
  const char *best = spec_fields[0];
  size_t bd = (size_t)-1;
  for (int i = 0; i < NSPEC_FIELDS; i++) {
    size_t d = rlvr_sweep_edit_distance(name, spec_fields[i]);
    if (d < bd) bd = d, best = spec_fields[i];
  }
  return best;
}

/* The scalar at idx as the text --set takes; NULL if it is not a string,
 * number or boolean. */
static char *scalar_text(lua_State *L, int idx) {
  char num[64];
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: return xstrdup(lua_tostring(L, idx));
  case LUA_TBOOLEAN: return xstrdup(lua_toboolean(L, idx) ? "true" : "false");
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
    } else {
      double d = lua_tonumber(L, idx);
      if (!isfinite(d)) return NULL;
      rlvr_sweep_format_number(d, 0, num, sizeof num);
    }
    return xstrdup(num);
  default: return NULL;
  }
}

/* 1..n with no other keys: a Lua sequence. Returns n, or -1. */
static int sequence_length(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  return count == n && n < 1000000 ? (int)n : -1;
}

typedef struct {
  const char *spec;
  rlvr_config scratch; /* every override is tried on it, to name the spec field at fault */
} parse_ctx;

/* Checks "key=value" against the config's keys and types. */
static int check_setting(parse_ctx *p, const char *setting, const char *where) {
  if (rlvr_config_set(&p->scratch, setting) != RLVR_OK)
    return rlvr_error_wrap(RLVR_ERR_CONFIG, "%s: %s", p->spec, where);
  return RLVR_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Flattens the config table at the top of the stack into "dotted.key=value"
 * settings (sorted by key): nested tables are sections, and a key may itself
 * be dotted. skip names one top-level key to leave out ("name" of a variant). */
static int flatten(parse_ctx *p, lua_State *L, const char *prefix, const char *where, const char *skip, int depth,
                   strv *out) {
  if (depth > 8) return rlvr_error(RLVR_ERR_CONFIG, "%s: %s: tables nested too deep", p->spec, where);
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_settop(L, t);
      return rlvr_error(RLVR_ERR_CONFIG, "%s: %s: a key is a %s, not a config key name", p->spec, where,
                        lua_typename(L, lua_type(L, -2)));
    }
    const char *k = lua_tostring(L, -2);
    if (skip && depth == 0 && !strcmp(k, skip)) {
      lua_pop(L, 1);
      continue;
    }
    char *key = xprintf("%s%s", prefix, k);
    int rc = RLVR_OK;
    if (lua_type(L, -1) == LUA_TTABLE) {
      char *sub = xprintf("%s.", key);
      rc = flatten(p, L, sub, where, skip, depth + 1, out);
      free(sub);
    } else {
      char *v = scalar_text(L, -1);
      if (!v) {
        rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s: key '%s' is a %s; a config value is a string, number or boolean",
                        p->spec, where, key, lua_typename(L, lua_type(L, -1)));
      } else {
        char *setting = xprintf("%s=%s", key, v);
        free(v);
        rc = check_setting(p, setting, where);
        if (rc == RLVR_OK) strv_push(out, setting);
        else free(setting);
      }
    }
    free(key);
    if (rc) {
      lua_settop(L, t);
      return rc;
    }
    lua_pop(L, 1);
  }
  /* Sorted, so that a spec gives the same order every time (Lua's table
   * order is not defined); a key twice (nested and dotted) is an error. */
  if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
  for (int i = 1; i < out->n; i++) {
    size_t a = strcspn(out->v[i - 1], "="), b = strcspn(out->v[i], "=");
    if (a == b && !strncmp(out->v[i - 1], out->v[i], a))
      return rlvr_error(RLVR_ERR_CONFIG, "%s: %s: key '%.*s' is given twice", p->spec, where, (int)a, out->v[i]);
  }
  return RLVR_OK;
}

/* One swept key: its values as --set texts. */
typedef struct {
  char *key;
  strv values;
} axis;

static void axes_free(axis *a, int n) {
  for (int i = 0; i < n; i++) free(a[i].key), strv_free(&a[i].values);
  free(a);
}

static int cmp_axis(const void *a, const void *b) { return strcmp(((const axis *)a)->key, ((const axis *)b)->key); }

/* Reads grid or zip (the table at the top of the stack): key -> list of values. */
static int read_axes(parse_ctx *p, lua_State *L, const char *field, axis **out, int *nout) {
  int t = lua_gettop(L), n = 0, rc = RLVR_OK;
  axis *ax = NULL;
  lua_pushnil(L);
  while (rc == RLVR_OK && lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s: keys are dotted config keys (['loss.aggregation'] = {...}), not %ss",
                      p->spec, field, lua_typename(L, lua_type(L, -2)));
      break;
    }
    const char *key = lua_tostring(L, -2);
    int len = lua_istable(L, -1) ? sequence_length(L, -1) : -1;
    if (len <= 0) {
      rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s['%s']: must be a non-empty list of values", p->spec, field, key);
      break;
    }
    ax = xrealloc(ax, (size_t)(n + 1) * sizeof *ax);
    memset(&ax[n], 0, sizeof ax[n]);
    ax[n].key = xstrdup(key);
    n++;
    for (int i = 1; i <= len && rc == RLVR_OK; i++) {
      lua_rawgeti(L, -1, i);
      char *v = scalar_text(L, -1);
      lua_pop(L, 1);
      if (!v) {
        rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s['%s'][%d]: a value must be a string, number or boolean", p->spec,
                        field, key, i);
        break;
      }
      char *setting = xprintf("%s=%s", key, v);
      char where[300];
      snprintf(where, sizeof where, "%s['%s'][%d]", field, key, i);
      rc = check_setting(p, setting, where);
      free(setting);
      if (rc == RLVR_OK) {
        for (int j = 0; j < ax[n - 1].values.n; j++)
          if (!strcmp(ax[n - 1].values.v[j], v))
            rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s['%s']: value '%s' is listed twice", p->spec, field, key, v);
        strv_push(&ax[n - 1].values, v);
      } else {
        free(v);
      }
    }
    lua_pop(L, 1);
  }
  lua_settop(L, t);
  if (rc) {
    axes_free(ax, n);
    return rc;
  }
  if (n > 1) qsort(ax, (size_t)n, sizeof *ax, cmp_axis);
  *out = ax;
  *nout = n;
  return RLVR_OK;
}

static int isalnum_ascii(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A value as it appears in a run name (at most 64 bytes). */
static void name_value(const char *v, char *out, size_t cap) {
  const char *slash = strrchr(v, '/');
  if (slash && slash[1]) v = slash + 1;
  size_t j = 0;
  for (; *v && j + 1 < cap && j < 64; v++) {
    unsigned char c = (unsigned char)*v;
    out[j++] = (isalnum_ascii(c) || strchr("._+-", c)) ? (char)c : '_';
  }
  out[j] = '\0';
}

static const char *leaf_of(const char *key) {
  const char *dot = strrchr(key, '.');
  return dot ? dot + 1 : key;
}

typedef struct {
  char *name;
  strv sets;
} variant;

typedef struct {
  strv base_sets;
  variant *vars;
  int nvars;
  axis *grid, *zip;
  int ngrid, nzip, zlen;
  int64_t *seeds;
  int nseeds;
} expansion;

static void expansion_free(expansion *e) {
  strv_free(&e->base_sets);
  for (int i = 0; i < e->nvars; i++) free(e->vars[i].name), strv_free(&e->vars[i].sets);
  free(e->vars);
  axes_free(e->grid, e->ngrid);
  axes_free(e->zip, e->nzip);
  free(e->seeds);
}

static int read_string_field(parse_ctx *p, lua_State *L, const char *field, char **out) {
  if (lua_type(L, -1) != LUA_TSTRING)
    return rlvr_error(RLVR_ERR_CONFIG, "%s: %s must be a string, not a %s", p->spec, field,
                      lua_typename(L, lua_type(L, -1)));
  free(*out);
  *out = xstrdup(lua_tostring(L, -1));
  return RLVR_OK;
}

/* A relative base path: from the working directory, then the spec's. */
static int find_base(parse_ctx *p, const char *path, char **out) {
  if (path[0] == '/' || rlvr_file_exists(path)) {
    if (!rlvr_file_exists(path)) return rlvr_error(RLVR_ERR_IO, "%s: base: no file %s", p->spec, path);
    *out = xstrdup(path);
    return RLVR_OK;
  }
  const char *slash = strrchr(p->spec, '/');
  if (slash) {
    char *alt = xprintf("%.*s/%s", (int)(slash - p->spec), p->spec, path);
    if (rlvr_file_exists(alt)) {
      *out = alt;
      return RLVR_OK;
    }
    int rc = rlvr_error(RLVR_ERR_IO, "%s: base: no file %s (looked in the working directory and at %s)", p->spec,
                        path, alt);
    free(alt);
    return rc;
  }
  return rlvr_error(RLVR_ERR_IO, "%s: base: no file %s", p->spec, path);
}

static int read_variants(parse_ctx *p, lua_State *L, expansion *e) {
  int n = lua_istable(L, -1) ? sequence_length(L, -1) : -1;
  if (n <= 0)
    return rlvr_error(RLVR_ERR_CONFIG, "%s: variants must be a non-empty list of tables { name = ..., <keys> }", p->spec);
  e->vars = xcalloc((size_t)n, sizeof *e->vars);
  for (int i = 1; i <= n; i++) {
    char where[64];
    snprintf(where, sizeof where, "variants[%d]", i);
    lua_rawgeti(L, -1, i);
    int rc = RLVR_OK;
    if (!lua_istable(L, -1)) {
      rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s must be a table", p->spec, where);
    } else {
      lua_getfield(L, -1, "name");
      if (lua_type(L, -1) != LUA_TSTRING || !lua_tostring(L, -1)[0])
        rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s needs a name (a non-empty string)", p->spec, where);
      else e->vars[i - 1].name = xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
      e->nvars = i;
      if (rc == RLVR_OK) rc = flatten(p, L, "", where, "name", 0, &e->vars[i - 1].sets);
      for (int j = 0; rc == RLVR_OK && j < i - 1; j++)
        if (!strcmp(e->vars[j].name, e->vars[i - 1].name))
          rc = rlvr_error(RLVR_ERR_CONFIG, "%s: variants %d and %d are both named '%s'", p->spec, j + 1, i,
                          e->vars[j].name);
    }
    lua_pop(L, 1);
    if (rc) return rc;
  }
  return RLVR_OK;
}

static int read_string_list(parse_ctx *p, lua_State *L, const char *field, strv *out) {
  int n = lua_istable(L, -1) ? sequence_length(L, -1) : -1;
  if (n <= 0) return rlvr_error(RLVR_ERR_CONFIG, "%s: %s must be a non-empty list of strings", p->spec, field);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    int ok = lua_type(L, -1) == LUA_TSTRING;
    if (ok) strv_push(out, xstrdup(lua_tostring(L, -1)));
    lua_pop(L, 1);
    if (!ok) return rlvr_error(RLVR_ERR_CONFIG, "%s: %s[%d] must be a string", p->spec, field, i);
  }
  return RLVR_OK;
}

/* spec.slurm = { partition = "gpu", cpus_per_task = 8, exclusive = true }:
 * sbatch options "--partition=gpu", "--cpus-per-task=8", "--exclusive". */
static int read_slurm(parse_ctx *p, lua_State *L, strv *out) {
  if (!lua_istable(L, -1)) return rlvr_error(RLVR_ERR_CONFIG, "%s: slurm must be a table of sbatch options", p->spec);
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_settop(L, t);
      return rlvr_error(RLVR_ERR_CONFIG, "%s: slurm: keys are sbatch option names (cpus_per_task = 8)", p->spec);
    }
    char *opt = xprintf("--%s", lua_tostring(L, -2));
    for (char *c = opt + 2; *c; c++)
      if (*c == '_') *c = '-';
    if (lua_type(L, -1) == LUA_TBOOLEAN) {
      if (lua_toboolean(L, -1)) strv_push(out, opt);
      else free(opt);
    } else {
      char *v = scalar_text(L, -1);
      if (!v || strchr(v, '\n')) {
        int rc = rlvr_error(RLVR_ERR_CONFIG, "%s: slurm.%s must be a one-line string, a number or a boolean", p->spec,
                            lua_tostring(L, -2));
        free(v), free(opt);
        lua_settop(L, t);
        return rc;
      }
      strv_push(out, xprintf("%s=%s", opt, v));
      free(v), free(opt);
    }
    lua_pop(L, 1);
  }
  if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
  return RLVR_OK;
}

/* Reads every field of the spec table at the top of the stack. */
static int read_spec(parse_ctx *p, lua_State *L, rlvr_sweep *s, expansion *e) {
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0;
    for (int i = 0; k && i < NSPEC_FIELDS; i++) known |= !strcmp(k, spec_fields[i]);
    if (!known) {
      int rc = k ? rlvr_error(RLVR_ERR_CONFIG, "%s: unknown field '%s'; did you mean '%s'?", p->spec, k, nearest_field(k))
                 : rlvr_error(RLVR_ERR_CONFIG, "%s: the spec's keys are field names, not %ss", p->spec,
                              lua_typename(L, lua_type(L, -1)));
      lua_settop(L, t);
      return rc;
    }
  }
  int rc = RLVR_OK;
  strv command = {0};
  for (int f = 0; f < NSPEC_FIELDS && rc == RLVR_OK; f++) {
    const char *field = spec_fields[f];
    lua_getfield(L, t, field);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    if (!strcmp(field, "name")) {
      rc = read_string_field(p, L, field, &s->name);
    } else if (!strcmp(field, "base")) {
      if (lua_type(L, -1) == LUA_TSTRING) rc = find_base(p, lua_tostring(L, -1), &s->base_path);
      else if (lua_istable(L, -1)) rc = flatten(p, L, "", "base", NULL, 0, &e->base_sets);
      else rc = rlvr_error(RLVR_ERR_CONFIG, "%s: base must be a config file's path or a table of keys", p->spec);
    } else if (!strcmp(field, "variants")) {
      rc = read_variants(p, L, e);
    } else if (!strcmp(field, "grid") || !strcmp(field, "zip")) {
      int is_grid = field[0] == 'g';
      if (!lua_istable(L, -1)) {
        rc = rlvr_error(RLVR_ERR_CONFIG, "%s: %s must be a table of key = {values}", p->spec, field);
      } else if (is_grid) {
        rc = read_axes(p, L, field, &e->grid, &e->ngrid);
      } else if ((rc = read_axes(p, L, field, &e->zip, &e->nzip)) == RLVR_OK && e->nzip) {
        e->zlen = e->zip[0].values.n;
        for (int i = 1; i < e->nzip && rc == RLVR_OK; i++)
          if (e->zip[i].values.n != e->zlen)
            rc = rlvr_error(RLVR_ERR_CONFIG, "%s: zip lists must have one length: '%s' has %d values, '%s' has %d",
                            p->spec, e->zip[0].key, e->zlen, e->zip[i].key, e->zip[i].values.n);
      }
    } else if (!strcmp(field, "seeds")) {
      int n = lua_istable(L, -1) ? sequence_length(L, -1) : -1;
      if (n <= 0) rc = rlvr_error(RLVR_ERR_CONFIG, "%s: seeds must be a non-empty list of integers", p->spec);
      e->seeds = xcalloc(n > 0 ? (size_t)n : 1, sizeof *e->seeds);
      for (int i = 1; i <= n && rc == RLVR_OK; i++) {
        lua_rawgeti(L, -1, i);
        if (!lua_isinteger(L, -1)) rc = rlvr_error(RLVR_ERR_CONFIG, "%s: seeds[%d] must be an integer", p->spec, i);
        else e->seeds[e->nseeds++] = (int64_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
        for (int j = 0; rc == RLVR_OK && j < e->nseeds - 1; j++)
          if (e->seeds[j] == e->seeds[e->nseeds - 1])
            rc = rlvr_error(RLVR_ERR_CONFIG, "%s: seed %lld is listed twice", p->spec, (long long)e->seeds[j]);
      }
    } else if (!strcmp(field, "command")) {
      rc = read_string_list(p, L, field, &command);
    } else if (!strcmp(field, "resume_flag")) {
      rc = read_string_field(p, L, field, &s->resume_flag);
    } else if (!strcmp(field, "resume_when")) {
      rc = read_string_field(p, L, field, &s->resume_when);
    } else if (!strcmp(field, "dir")) {
      rc = read_string_field(p, L, field, &s->dir);
    } else if (!strcmp(field, "parallel")) {
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 4096)
        rc = rlvr_error(RLVR_ERR_CONFIG, "%s: parallel must be an integer in [0, 4096] (0 = from the machine)", p->spec);
      else s->parallel = (int)lua_tointeger(L, -1);
    } else if (!strcmp(field, "slurm")) {
      strv opts = {0};
      rc = read_slurm(p, L, &opts);
      s->sbatch = opts.v;
      s->nsbatch = opts.n;
    }
    lua_settop(L, t);
  }
  if (rc == RLVR_OK && command.n == 0) {
    strv_push(&command, xstrdup("rlvr"));
    strv_push(&command, xstrdup("train"));
  }
  s->command = command.v;
  s->ncommand = command.n;
  return rc;
}

/* Builds the runs from the parsed fields (see sweep.h for the order). */
static int expand(parse_ctx *p, rlvr_sweep *s, expansion *e) {
  int nv = e->nvars ? e->nvars : 1, ns = e->nseeds ? e->nseeds : 1, nz = e->nzip ? e->zlen : 1;
  long long combos = 1;
  for (int i = 0; i < e->ngrid; i++) {
    combos *= e->grid[i].values.n;
    if (combos > 100000) break;
  }
  long long total = combos * nv * ns * nz;
  if (total > 100000)
    return rlvr_error(RLVR_ERR_RANGE, "%s: expands to more than 100000 runs", p->spec);

  /* The keys that vary, and how each is named: the last component, or the
   * whole key where two varying keys share it. */
  const char *vkeys[512];
  int nvk = 0;
  for (int i = 0; i < e->ngrid && nvk < 512; i++)
    if (e->grid[i].values.n > 1) vkeys[nvk++] = e->grid[i].key;
  for (int i = 0; nz > 1 && i < e->nzip && nvk < 512; i++) vkeys[nvk++] = e->zip[i].key;

  s->runs = xcalloc((size_t)total, sizeof *s->runs);
  for (int si = 0; si < ns; si++)
    for (int vi = 0; vi < nv; vi++)
      for (long long g = 0; g < combos; g++)
        for (int z = 0; z < nz; z++) {
          rlvr_sweep_run *r = &s->runs[s->nruns++];
          strv sets = {0};
          char name[4096] = "";
          size_t nl = 0;
#define NAME_PART(...) (nl += (size_t)snprintf(name + nl, nl < sizeof name ? sizeof name - nl : 0, __VA_ARGS__))
          for (int i = 0; i < e->base_sets.n; i++) strv_push(&sets, xstrdup(e->base_sets.v[i]));
          if (e->nvars) {
            for (int i = 0; i < e->vars[vi].sets.n; i++) strv_push(&sets, xstrdup(e->vars[vi].sets.v[i]));
            if (nv > 1) {
              char v[80];
              name_value(e->vars[vi].name, v, sizeof v);
              NAME_PART("%s", v);
            }
          }
          /* Mixed radix: the last grid key varies fastest. */
          long long rem = g, stride = combos;
          for (int i = 0; i < e->ngrid; i++) {
            stride /= e->grid[i].values.n;
            const char *v = e->grid[i].values.v[rem / stride];
            rem %= stride;
            strv_push(&sets, xprintf("%s=%s", e->grid[i].key, v));
            for (int k = 0; k < nvk; k++)
              if (vkeys[k] == e->grid[i].key) {
                int shared = 0;
                for (int m = 0; m < nvk; m++)
                  shared |= m != k && !strcmp(leaf_of(vkeys[m]), leaf_of(vkeys[k]));
                char nv_[80];
                name_value(v, nv_, sizeof nv_);
                NAME_PART("%s%s=%s", nl ? "," : "", shared ? vkeys[k] : leaf_of(vkeys[k]), nv_);
              }
          }
          for (int i = 0; i < e->nzip; i++) {
            const char *v = e->zip[i].values.v[z];
            strv_push(&sets, xprintf("%s=%s", e->zip[i].key, v));
            if (nz > 1) {
              int shared = 0;
              for (int m = 0; m < nvk; m++)
                shared |= vkeys[m] != e->zip[i].key && !strcmp(leaf_of(vkeys[m]), leaf_of(e->zip[i].key));
              char nv_[80];
              name_value(v, nv_, sizeof nv_);
              NAME_PART("%s%s=%s", nl ? "," : "", shared ? e->zip[i].key : leaf_of(e->zip[i].key), nv_);
            }
          }
          r->seed = -1;
          if (e->nseeds) {
            r->seed = e->seeds[si];
            strv_push(&sets, xprintf("run.seed=%lld", (long long)r->seed));
            if (ns > 1) NAME_PART("%sseed=%lld", nl ? "," : "", (long long)r->seed);
          }
#undef NAME_PART
          if (nl >= sizeof name) return rlvr_error(RLVR_ERR_RANGE, "%s: a run name is longer than %zu bytes", p->spec, sizeof name - 1);
          r->name = xstrdup(nl ? name : "run");
          r->sets = sets.v;
          r->nsets = sets.n;
        }

  /* Names are directories: each must be unique, and not one the sweep uses. */
  char **sorted = xmalloc((size_t)s->nruns * sizeof *sorted);
  for (int i = 0; i < s->nruns; i++) sorted[i] = s->runs[i].name;
  qsort(sorted, (size_t)s->nruns, sizeof *sorted, cmp_str);
  int rc = RLVR_OK;
  for (int i = 0; i < s->nruns && rc == RLVR_OK; i++) {
    if (i > 0 && !strcmp(sorted[i - 1], sorted[i]))
      rc = rlvr_error(RLVR_ERR_CONFIG,
                      "%s: two runs are both named '%s' (their values differ only in bytes a name cannot hold)",
                      p->spec, sorted[i]);
    else if (!strcmp(sorted[i], "slurm") || sorted[i][0] == '.')
      rc = rlvr_error(RLVR_ERR_CONFIG, "%s: a run cannot be named '%s' (the sweep directory uses that name)", p->spec,
                      sorted[i]);
  }
  free(sorted);
  return rc;
}

int rlvr_sweep_resolve(const rlvr_sweep *s, int i, const char *run_dir, rlvr_config *cfg) {
  RLVR_CHECK(i >= 0 && i < s->nruns);
  const rlvr_sweep_run *r = &s->runs[i];
  if (s->base_path && rlvr_config_load(cfg, s->base_path) != RLVR_OK)
    return rlvr_error_wrap(RLVR_ERR_CONFIG, "%s: base", s->spec_path);
  for (int k = 0; k < r->nsets; k++)
    if (rlvr_config_set(cfg, r->sets[k]) != RLVR_OK)
      return rlvr_error_wrap(RLVR_ERR_CONFIG, "%s: run %s", s->spec_path, r->name);
  if (run_dir) {
    char *set = xprintf("run.dir=%s", run_dir);
    int rc = rlvr_config_set(cfg, set);
    free(set);
    if (rc) return rlvr_error_wrap(RLVR_ERR_CONFIG, "%s: run %s", s->spec_path, r->name);
  }
  return RLVR_OK;
}

void rlvr_sweep_free(rlvr_sweep *s) {
  if (!s) return;
  free(s->name), free(s->spec_path), free(s->base_path), free(s->resume_flag), free(s->resume_when), free(s->dir);
  for (int i = 0; i < s->ncommand; i++) free(s->command[i]);
  free(s->command);
  for (int i = 0; i < s->nsbatch; i++) free(s->sbatch[i]);
  free(s->sbatch);
  for (int i = 0; s->runs && i < s->nruns; i++) {
    free(s->runs[i].name);
    for (int k = 0; k < s->runs[i].nsets; k++) free(s->runs[i].sets[k]);
    free(s->runs[i].sets);
  }
  free(s->runs);
  free(s);
}

int rlvr_sweep_load(rlvr_sweep **out, const char *spec_path) {
  *out = NULL;
  char *text;
  size_t len;
  if (rlvr_file_read(spec_path, &text, &len) != RLVR_OK) return rlvr_error_wrap(RLVR_ERR_IO, "sweep spec");
  lua_State *L = luaL_newstate();
  RLVR_CHECK(L != NULL);
  /* Like a config: the user's own program, computing values; no io or os. */
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  char *chunk = xprintf("@%s", spec_path);
  rlvr_sweep *s = xcalloc(1, sizeof *s);
  s->spec_path = xstrdup(spec_path);
  parse_ctx p = {.spec = spec_path};
  rlvr_config_init(&p.scratch);
  expansion e;
  memset(&e, 0, sizeof e);
  int rc = RLVR_OK;
  if (luaL_loadbufferx(L, text, len, chunk, "t") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    rc = rlvr_error(RLVR_ERR_CONFIG, "%s", lua_tostring(L, -1));
  else if (!lua_istable(L, -1))
    rc = rlvr_error(RLVR_ERR_CONFIG, "%s: must return a table, returned a %s", spec_path,
                    lua_typename(L, lua_type(L, -1)));
  if (rc == RLVR_OK) rc = read_spec(&p, L, s, &e);
  if (rc == RLVR_OK) rc = expand(&p, s, &e);
  if (rc == RLVR_OK && !s->name) {
    const char *b = strrchr(spec_path, '/');
    b = b ? b + 1 : spec_path;
    size_t n = strlen(b);
    if (n > 4 && !strcmp(b + n - 4, ".lua")) n -= 4;
    s->name = xprintf("%.*s", (int)n, b);
  }
  if (!s->resume_flag) s->resume_flag = xstrdup("--resume");
  if (!s->resume_when) s->resume_when = xstrdup("");
  /* Every run's config, resolved now: errors before anything starts. */
  for (int i = 0; rc == RLVR_OK && i < s->nruns; i++) {
    rlvr_config c;
    rlvr_config_init(&c);
    rc = rlvr_sweep_resolve(s, i, NULL, &c);
    rlvr_config_free(&c);
  }
  expansion_free(&e);
  rlvr_config_free(&p.scratch);
  lua_close(L);
  free(chunk);
  free(text);
  if (rc) {
    rlvr_sweep_free(s);
    return rc;
  }
  *out = s;
  return RLVR_OK;
}
