/* registry.c — see registry.h. */
#include "verifiers/registry.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/check.h"
#include "core/error.h"

int rlvr_registry_valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 128 || name[0] == '.' || strstr(name, "..")) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '-' || c == '.';
    if (!ok) return 0;
  }
  return 1;
}

static int is_path(const char *name) {
  size_t n = strlen(name);
  return strchr(name, '/') || (n > 4 && !strcmp(name + n - 4, ".lua"));
}

static int is_regular_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Calls fn(dir, dirlen, ctx) for each non-empty entry of the search path;
 * stops when fn returns nonzero and returns that. */
static int each_dir(const char *search_path, int (*fn)(const char *, size_t, void *), void *ctx) {
  const char *p = search_path ? search_path : "";
  while (*p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len) {
      int r = fn(p, len, ctx);
      if (r) return r;
    }
    p += len;
    if (*p == ':') p++;
  }
  return 0;
}

typedef struct {
  const char *name;
  char *found;
} find_ctx;

static int find_in_dir(const char *dir, size_t len, void *vctx) {
  find_ctx *c = vctx;
  size_t n = len + 1 + strlen(c->name) + 5;
  char *path = xmalloc(n);
  snprintf(path, n, "%.*s/%s.lua", (int)len, dir, c->name);
  if (is_regular_file(path)) {
    c->found = path;
    return 1;
  }
  free(path);
  return 0;
}

int rlvr_registry_find(const char *search_path, const char *name, char **path) {
  if (!name || !*name) return rlvr_error(RLVR_ERR_ARG, "empty verifier name");
  if (is_path(name)) {
    if (!is_regular_file(name)) return rlvr_error(RLVR_ERR_IO, "verifier script %s: no such file", name);
    *path = xstrdup(name);
    return RLVR_OK;
  }
  if (!rlvr_registry_valid_name(name))
    return rlvr_error(RLVR_ERR_ARG,
                      "'%s' is not a verifier name (letters, digits, '_', '-', '.') or a path to a .lua file", name);
  find_ctx c = {name, NULL};
  each_dir(search_path, find_in_dir, &c);
  if (!c.found)
    return rlvr_error(RLVR_ERR_IO, "no verifier '%s': no %s.lua in the search path '%s'", name, name,
                      search_path ? search_path : "");
  *path = c.found;
  return RLVR_OK;
}

typedef struct {
  char **names;
  size_t n, cap;
} list_ctx;

static int list_dir(const char *dir, size_t len, void *vctx) {
  list_ctx *c = vctx;
  char *d = xmalloc(len + 1);
  memcpy(d, dir, len);
  d[len] = 0;
  DIR *dh = opendir(d);
  free(d);
  if (!dh) return 0;
  struct dirent *e;
  while ((e = readdir(dh))) {
    size_t n = strlen(e->d_name);
    if (n <= 4 || strcmp(e->d_name + n - 4, ".lua")) continue;
    char *name = xstrdup(e->d_name);
    name[n - 4] = 0;
    int dup = !rlvr_registry_valid_name(name);
    for (size_t i = 0; i < c->n && !dup; i++) dup = !strcmp(c->names[i], name);
    if (dup) {
      free(name);
      continue;
    }
    if (c->n == c->cap) {
      c->cap = c->cap ? 2 * c->cap : 16;
      c->names = xrealloc(c->names, c->cap * sizeof *c->names);
    }
    c->names[c->n++] = name;
  }
  closedir(dh);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int rlvr_registry_list(const char *search_path, char ***names, size_t *n) {
  list_ctx c = {NULL, 0, 0};
  each_dir(search_path, list_dir, &c);
  if (c.n) qsort(c.names, c.n, sizeof *c.names, cmp_str);
  *names = c.names;
  *n = c.n;
  return RLVR_OK;
}

void rlvr_registry_list_free(char **names, size_t n) {
  if (!names) return;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}
