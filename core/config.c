/* config.c — see config.h. */
#include "core/config.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

typedef enum { T_INT, T_FLOAT, T_BOOL, T_STR } field_type;

typedef struct {
  field_type type;
  const char *key;
  const char *doc;
  size_t offset;
  int64_t def_INT;
  double def_FLOAT;
  int def_BOOL;
  const char *def_STR;
} field;

static const field fields[] = {
#define RLVR_CONFIG_X(T, name, key_, def, doc_)                                                   \
  {.type = T_##T, .key = key_, .doc = doc_, .offset = offsetof(rlvr_config, name), .def_##T = def},
    RLVR_CONFIG_FIELDS(RLVR_CONFIG_X)
#undef RLVR_CONFIG_X
};
enum { NFIELDS = sizeof fields / sizeof fields[0] };

static const char *type_names[] = {"integer", "number", "boolean", "string"};

#define FIELD_PTR(c, f, T) ((T *)((char *)(c) + (f)->offset))

void rlvr_config_init(rlvr_config *c) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < NFIELDS; i++) {
    const field *f = &fields[i];
    switch (f->type) {
    case T_INT: *FIELD_PTR(c, f, int64_t) = f->def_INT; break;
    case T_FLOAT: *FIELD_PTR(c, f, double) = f->def_FLOAT; break;
    case T_BOOL: *FIELD_PTR(c, f, int) = f->def_BOOL; break;
    case T_STR: *FIELD_PTR(c, f, char *) = xstrdup(f->def_STR); break;
    }
  }
}

void rlvr_config_free(rlvr_config *c) {
  if (!c) return;
  for (int i = 0; i < NFIELDS; i++)
    if (fields[i].type == T_STR) {
      free(*FIELD_PTR(c, &fields[i], char *));
      *FIELD_PTR(c, &fields[i], char *) = NULL;
    }
}

static void config_copy(rlvr_config *dst, const rlvr_config *src) {
  *dst = *src;
  for (int i = 0; i < NFIELDS; i++)
    if (fields[i].type == T_STR) {
      const char *s = *FIELD_PTR(src, &fields[i], char *);
      *FIELD_PTR(dst, &fields[i], char *) = s ? xstrdup(s) : NULL;
    }
}

static const field *find_field(const char *key) {
  for (int i = 0; i < NFIELDS; i++)
    if (strcmp(fields[i].key, key) == 0) return &fields[i];
  return NULL;
}

static int is_section(const char *prefix, size_t n) {
  for (int i = 0; i < NFIELDS; i++)
    if (strncmp(fields[i].key, prefix, n) == 0 && fields[i].key[n] == '.') return 1;
  return 0;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  size_t *row = xmalloc((m + 1) * sizeof *row);
  for (size_t j = 0; j <= m; j++) row[j] = j;
  for (size_t i = 1; i <= n; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
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

const char *rlvr_config_nearest_key(const char *name) {
  const char *best = fields[0].key;
  size_t best_d = (size_t)-1;
  const char *leaf = strrchr(name, '.');
  leaf = leaf ? leaf + 1 : name;
  for (int i = 0; i < NFIELDS; i++) {
    size_t d = edit_distance(name, fields[i].key);
    /* A right leaf in the wrong section ("temperature" for "sample.temperature")
     * should still find its key. */
    const char *fleaf = strrchr(fields[i].key, '.') + 1;
    size_t dl = edit_distance(leaf, fleaf) + 1;
    if (dl < d) d = dl;
    if (d < best_d) best_d = d, best = fields[i].key;
  }
  return best;
}

static int unknown_key(const char *where, const char *key) {
  return rlvr_error(RLVR_ERR_CONFIG, "%s: unknown key '%s'; did you mean '%s'? (`rlvr config` lists every key)",
                    where, key, rlvr_config_nearest_key(key));
}

/* Stores the Lua value at the top of the stack into field f of c. */
static int assign_lua(rlvr_config *c, const field *f, lua_State *L, const char *where) {
  int t = lua_type(L, -1);
  switch (f->type) {
  case T_INT:
    if (lua_isinteger(L, -1)) {
      *FIELD_PTR(c, f, int64_t) = (int64_t)lua_tointeger(L, -1);
      return RLVR_OK;
    }
    if (t == LUA_TNUMBER) {
      double d = lua_tonumber(L, -1);
      if (d == floor(d) && fabs(d) < 9.0e15) {
        *FIELD_PTR(c, f, int64_t) = (int64_t)d;
        return RLVR_OK;
      }
    }
    break;
  case T_FLOAT:
    if (t == LUA_TNUMBER) {
      *FIELD_PTR(c, f, double) = lua_tonumber(L, -1);
      return RLVR_OK;
    }
    break;
  case T_BOOL:
    if (t == LUA_TBOOLEAN) {
      *FIELD_PTR(c, f, int) = lua_toboolean(L, -1);
      return RLVR_OK;
    }
    break;
  case T_STR:
    if (t == LUA_TSTRING) {
      char **s = FIELD_PTR(c, f, char *);
      free(*s);
      *s = xstrdup(lua_tostring(L, -1));
      return RLVR_OK;
    }
    break;
  }
  return rlvr_error(RLVR_ERR_CONFIG, "%s: key '%s' must be a %s, not a %s", where, f->key,
                    type_names[f->type], lua_typename(L, t));
}

/* Walks the table at the top of the stack; prefix is "" or "section.". */
static int merge_table(rlvr_config *c, lua_State *L, const char *prefix, const char *where, int depth) {
  if (depth > 8) return rlvr_error(RLVR_ERR_CONFIG, "%s: tables nested too deep at '%s'", where, prefix);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return rlvr_error(RLVR_ERR_CONFIG, "%s: a key under '%s' is not a name (got a %s)", where,
                        prefix[0] ? prefix : "the top level", lua_typename(L, lua_type(L, -2)));
    }
    char key[256];
    snprintf(key, sizeof key, "%s%s", prefix, lua_tostring(L, -2));
    const field *f = find_field(key);
    int rc = RLVR_OK;
    if (f) {
      rc = assign_lua(c, f, L, where);
    } else if (lua_type(L, -1) == LUA_TTABLE && is_section(key, strlen(key))) {
      char sub[260];
      snprintf(sub, sizeof sub, "%s.", key);
      rc = merge_table(c, L, sub, where, depth + 1);
    } else {
      rc = unknown_key(where, key);
    }
    lua_pop(L, 1);
    if (rc) {
      lua_pop(L, 1);
      return rc;
    }
  }
  return RLVR_OK;
}

int rlvr_config_load(rlvr_config *c, const char *path) {
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rlvr_error_wrap(RLVR_ERR_CONFIG, "config");
  lua_State *L = luaL_newstate();
  RLVR_CHECK(L != NULL);
  /* A config is the user's own program: base, string, table and math are
   * enough to compute values; no io or os, so loading one has no effects. */
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  char chunkname[512];
  snprintf(chunkname, sizeof chunkname, "@%s", path);
  if (luaL_loadbufferx(L, text, len, chunkname, "t") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    rc = rlvr_error(RLVR_ERR_CONFIG, "%s", lua_tostring(L, -1));
  } else if (!lua_istable(L, -1)) {
    rc = rlvr_error(RLVR_ERR_CONFIG, "%s: must return a table, returned a %s", path,
                    lua_typename(L, lua_type(L, -1)));
  } else {
    rlvr_config tmp;
    config_copy(&tmp, c);
    rc = merge_table(&tmp, L, "", path, 0);
    if (rc == RLVR_OK) {
      rlvr_config_free(c);
      *c = tmp;
    } else {
      rlvr_config_free(&tmp);
    }
  }
  lua_close(L);
  free(text);
  return rc;
}

int rlvr_config_set(rlvr_config *c, const char *assignment) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return rlvr_error(RLVR_ERR_CONFIG, "--set %s: expected key=value", assignment);
  char key[256];
  size_t n = (size_t)(eq - assignment);
  if (n >= sizeof key) return rlvr_error(RLVR_ERR_CONFIG, "--set: key too long");
  memcpy(key, assignment, n);
  key[n] = '\0';
  const char *value = eq + 1;
  const field *f = find_field(key);
  if (!f) return unknown_key("--set", key);
  char *end;
  errno = 0;
  switch (f->type) {
  case T_INT: {
    long long v = strtoll(value, &end, 10);
    if (!*value || *end || errno)
      return rlvr_error(RLVR_ERR_CONFIG, "--set %s: '%s' is not an integer", key, value);
    *FIELD_PTR(c, f, int64_t) = v;
    break;
  }
  case T_FLOAT: {
    double v = strtod(value, &end);
    if (!*value || *end || errno || !isfinite(v))
      return rlvr_error(RLVR_ERR_CONFIG, "--set %s: '%s' is not a finite number", key, value);
    *FIELD_PTR(c, f, double) = v;
    break;
  }
  case T_BOOL:
    if (!strcmp(value, "true") || !strcmp(value, "1")) *FIELD_PTR(c, f, int) = 1;
    else if (!strcmp(value, "false") || !strcmp(value, "0")) *FIELD_PTR(c, f, int) = 0;
    else return rlvr_error(RLVR_ERR_CONFIG, "--set %s: '%s' is not true or false", key, value);
    break;
  case T_STR: {
    char **s = FIELD_PTR(c, f, char *);
    free(*s);
    *s = xstrdup(value);
    break;
  }
  }
  return RLVR_OK;
}

static void print_lua_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", f);
    else if (ch < 32 || ch == 127) fprintf(f, "\\%03u", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void print_value(FILE *out, const rlvr_config *c, const field *f) {
  switch (f->type) {
  case T_INT: fprintf(out, "%lld", (long long)*FIELD_PTR(c, f, int64_t)); break;
  case T_FLOAT: fprintf(out, "%.17g", *FIELD_PTR(c, f, double)); break;
  case T_BOOL: fputs(*FIELD_PTR(c, f, int) ? "true" : "false", out); break;
  case T_STR: print_lua_string(out, *FIELD_PTR(c, f, char *)); break;
  }
}

/* Keys are declared grouped by section, so one pass opens and closes each. */
void rlvr_config_print_lua(const rlvr_config *c, FILE *out) {
  fputs("return {\n", out);
  char section[128] = "";
  for (int i = 0; i < NFIELDS; i++) {
    const field *f = &fields[i];
    const char *dot = strchr(f->key, '.');
    size_t sn = (size_t)(dot - f->key);
    if (strlen(section) != sn || strncmp(section, f->key, sn) != 0) {
      if (section[0]) fputs("  },\n", out);
      memcpy(section, f->key, sn);
      section[sn] = '\0';
      fprintf(out, "  %s = {\n", section);
    }
    fprintf(out, "    %s = ", dot + 1);
    print_value(out, c, f);
    fprintf(out, ",  -- %s\n", f->doc);
  }
  if (section[0]) fputs("  },\n", out);
  fputs("}\n", out);
}

int rlvr_config_save(const rlvr_config *c, const char *path) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  RLVR_CHECK(mem != NULL);
  rlvr_config_print_lua(c, mem);
  fclose(mem);
  int rc = rlvr_file_write_atomic(path, buf, len);
  free(buf);
  return rc;
}

void rlvr_config_print_reference(FILE *out) {
  rlvr_config d;
  rlvr_config_init(&d);
  fputs("| key | type | default | meaning |\n|---|---|---|---|\n", out);
  for (int i = 0; i < NFIELDS; i++) {
    const field *f = &fields[i];
    fprintf(out, "| `%s` | %s | `", f->key, type_names[f->type]);
    print_value(out, &d, f);
    fprintf(out, "` | %s |\n", f->doc);
  }
  rlvr_config_free(&d);
}
