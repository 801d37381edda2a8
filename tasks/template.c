/* template.c — see template.h. */
#include "tasks/template.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "tasks/tasklua.h"

struct rlvr_task_template {
  char *name;
  char *prompt;     /* contains {prompt} */
  char *completion; /* NULL when the file has none */
  int chat;
};

static const char *const builtin_names[] = {"r1", "r1_zero", "plain", "think", "chat"};

void rlvr_task_template_free(rlvr_task_template *t) {
  if (!t) return;
  free(t->name);
  free(t->prompt);
  free(t->completion);
  free(t);
}

const char *rlvr_task_template_name(const rlvr_task_template *t) { return t->name; }
int rlvr_task_template_is_chat(const rlvr_task_template *t) { return t->chat; }

/* A string field of the table on top; optional fields may be nil. */
static int get_string(lua_State *L, const char *path, const char *key, int optional, char **out) {
  lua_getfield(L, -1, key);
  int rc = RLVR_OK;
  if (lua_type(L, -1) == LUA_TSTRING)
    *out = xstrdup(lua_tostring(L, -1));
  else if (!(optional && lua_isnil(L, -1)))
    rc = rlvr_error(RLVR_ERR_SCRIPT, "template %s: field '%s' is a %s, want a string", path, key, luaL_typename(L, -1));
  lua_pop(L, 1);
  return rc;
}

int rlvr_task_template_load(const char *name, const char *tasks_dir, rlvr_task_template **out) {
  char path[4096];
  size_t nl = strlen(name);
  if (strchr(name, '/') || (nl >= 4 && strcmp(name + nl - 4, ".lua") == 0)) {
    snprintf(path, sizeof path, "%s", name);
  } else {
    int known = 0;
    for (size_t i = 0; i < sizeof builtin_names / sizeof builtin_names[0]; i++) known |= !strcmp(name, builtin_names[i]);
    if (!known)
      return rlvr_error(RLVR_ERR_CONFIG,
                        "task.template: '%s' is not r1, r1_zero, plain, think, chat or a path to a template .lua file", name);
    snprintf(path, sizeof path, "%s/templates/%s.lua", tasks_dir ? tasks_dir : "tasks", name);
  }
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rlvr_error_wrap(rc, "task.template");
  char chunk[4100];
  snprintf(chunk, sizeof chunk, "@%s", path);
  char what[4200];
  snprintf(what, sizeof what, "template %s", path);
  rlvr_tasklua *lt = rlvr_tasklua_new();
  RLVR_CHECK(lt != NULL);
  lua_State *L = rlvr_tasklua_state(lt);
  rlvr_task_template *t = xcalloc(1, sizeof *t);
  rc = rlvr_tasklua_run_chunk(lt, text, len, chunk, what);
  free(text);
  if (!rc && !lua_istable(L, -1))
    rc = rlvr_error(RLVR_ERR_SCRIPT, "template %s: the file returned a %s, want a table {name, prompt, ...}", path,
                    luaL_typename(L, -1));
  if (!rc) rc = get_string(L, path, "name", 1, &t->name);
  if (!rc) rc = get_string(L, path, "prompt", 0, &t->prompt);
  if (!rc) rc = get_string(L, path, "completion", 1, &t->completion);
  if (!rc) {
    lua_getfield(L, -1, "chat");
    if (lua_isboolean(L, -1))
      t->chat = lua_toboolean(L, -1);
    else if (!lua_isnil(L, -1))
      rc = rlvr_error(RLVR_ERR_SCRIPT, "template %s: field 'chat' is a %s, want a boolean", path, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  if (!rc && !strstr(t->prompt, "{prompt}"))
    rc = rlvr_error(RLVR_ERR_SCRIPT, "template %s: prompt has no {prompt}", path);
  rlvr_tasklua_free(lt);
  if (rc) {
    rlvr_task_template_free(t);
    return rc;
  }
  if (!t->name) t->name = xstrdup(name);
  *out = t;
  return RLVR_OK;
}

/* Replaces each {prompt}, {solution}, {answer} of text in one pass; a NULL
 * value leaves the placeholder as it is. */
static char *substitute(const char *text, const char *prompt, const char *solution, const char *answer) {
  const char *names[3] = {"{prompt}", "{solution}", "{answer}"};
  const char *values[3] = {prompt, solution, answer};
  size_t cap = strlen(text) + 1;
  for (int k = 0; k < 3; k++)
    if (values[k]) cap += strlen(values[k]) * 4; /* grown below if a name repeats more */
  char *out = xmalloc(cap);
  size_t n = 0;
  for (const char *p = text; *p;) {
    int hit = -1;
    for (int k = 0; k < 3 && hit < 0; k++)
      if (values[k] && strncmp(p, names[k], strlen(names[k])) == 0) hit = k;
    const char *piece = hit >= 0 ? values[hit] : p;
    size_t len = hit >= 0 ? strlen(values[hit]) : 1;
    if (n + len + 1 > cap) {
      cap = (n + len + 1) * 2;
      out = xrealloc(out, cap);
    }
    memcpy(out + n, piece, len);
    n += len;
    p += hit >= 0 ? strlen(names[hit]) : 1;
  }
  out[n] = 0;
  return out;
}

char *rlvr_task_template_prompt(const rlvr_task_template *t, const char *prompt) {
  return substitute(t->prompt, prompt, NULL, NULL);
}

int rlvr_task_template_completion(const rlvr_task_template *t, const rlvr_task_item *item, char **out) {
  if (!t->completion) return rlvr_error(RLVR_ERR_ARG, "template %s has no completion for worked examples", t->name);
  if (!item->solution) return rlvr_error(RLVR_ERR_ARG, "task item %s has no worked solution", item->id);
  *out = substitute(t->completion, NULL, item->solution, item->answer);
  return RLVR_OK;
}
