/* dataset.c — see dataset.h. */
#include "tasks/dataset.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "tasks/taskutil.h"

typedef enum { EXTRACT_AUTO, EXTRACT_GSM8K, EXTRACT_BOXED, EXTRACT_NONE } extract_mode;

typedef struct {
  size_t offset, len; /* of the line's text in d->text, without the newline */
  size_t line;        /* 1-based */
} record;

struct rlvr_dataset {
  char *path;
  const char *base; /* file name part of path, for ids */
  char *text;
  size_t text_len;
  record *recs;
  size_t n;
  /* The mapping, owned copies. */
  char *prompt_field, *answer_field, *solution_field, *verifier, *verifier_field, *id_field, *meta_fields;
  extract_mode extract;
  uint64_t fingerprint;
};

void rlvr_dataset_free(rlvr_dataset *d) {
  if (!d) return;
  free(d->path);
  free(d->text);
  free(d->recs);
  free(d->prompt_field);
  free(d->answer_field);
  free(d->solution_field);
  free(d->verifier);
  free(d->verifier_field);
  free(d->id_field);
  free(d->meta_fields);
  free(d);
}

size_t rlvr_dataset_size(const rlvr_dataset *d) { return d->n; }
const char *rlvr_dataset_path(const rlvr_dataset *d) { return d->path; }
uint64_t rlvr_dataset_fingerprint(const rlvr_dataset *d) { return d->fingerprint; }
size_t rlvr_dataset_line(const rlvr_dataset *d, size_t i) { return d->recs[i].line; }

/* ---- small string helpers ------------------------------------------------ */

static char *copy_trimmed(const char *s, size_t n) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *r = xmalloc(n + 1);
  memcpy(r, s, n);
  r[n] = 0;
  return r;
}

/* The first field of the ','-separated candidates that obj has (and that is
 * not null); *which gets its name (pointing into a static buffer). */
static cJSON *first_field(const cJSON *obj, const char *candidates, char *which, size_t which_len) {
  const char *p = candidates;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *name = copy_trimmed(p, n);
    cJSON *v = name[0] ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    if (v && !cJSON_IsNull(v)) {
      snprintf(which, which_len, "%s", name);
      free(name);
      return v;
    }
    free(name);
    p += n;
    if (*p == ',') p++;
  }
  return NULL;
}

/* A JSON number as text: an integer when it is one (|x| <= 2^53), else the
 * shortest decimal that reads back the same. */
static char *number_text(double x) {
  char buf[64];
  if (x == floor(x) && fabs(x) <= 9007199254740992.0)
    snprintf(buf, sizeof buf, "%lld", (long long)x);
  else
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, x);
      if (strtod(buf, NULL) == x) break;
    }
  return xstrdup(buf);
}

/* GSM8K: "...<<48/2=24>>24 clips...\n#### 72". Returns 0 if there is no
 * "####"; otherwise the answer after the last one (digit-group commas
 * removed) and the solution before it (calculator notes removed). */
static int extract_gsm8k(const char *s, char **answer, char **solution) {
  const char *mark = NULL;
  for (const char *p = strstr(s, "####"); p; p = strstr(p + 1, "####")) mark = p;
  if (!mark) return 0;
  char *a = copy_trimmed(mark + 4, strlen(mark + 4));
  /* "1,000" -> "1000": drop a comma between a digit and three digits. */
  size_t w = 0;
  for (size_t r = 0; a[r]; r++) {
    if (a[r] == ',' && w > 0 && isdigit((unsigned char)a[w - 1]) && isdigit((unsigned char)a[r + 1]) &&
        isdigit((unsigned char)a[r + 2]) && isdigit((unsigned char)a[r + 3]) && !isdigit((unsigned char)a[r + 4]))
      continue;
    a[w++] = a[r];
  }
  a[w] = 0;
  size_t n = (size_t)(mark - s);
  char *sol = xmalloc(n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '<' && i + 1 < n && s[i + 1] == '<') {
      const char *close = strstr(s + i + 2, ">>");
      if (close && (size_t)(close - s) + 2 <= n) {
        i = (size_t)(close - s) + 1;
        continue;
      }
    }
    sol[k++] = s[i];
  }
  sol[k] = 0;
  *answer = a;
  *solution = copy_trimmed(sol, k);
  free(sol);
  return 1;
}

/* MATH: the contents of the last \boxed{...}, braces balanced. Returns 0 if
 * there is none (or it is not closed). */
static int extract_boxed(const char *s, char **answer) {
  const char *best = NULL;
  size_t best_len = 0;
  for (const char *p = strstr(s, "\\boxed"); p; p = strstr(p + 1, "\\boxed")) {
    const char *q = p + 6;
    while (*q == ' ') q++;
    if (*q != '{') continue;
    int depth = 0;
    const char *r = q;
    for (; *r; r++) {
      if (*r == '{') depth++;
      else if (*r == '}' && --depth == 0) break;
    }
    if (!*r) continue;
    best = q + 1;
    best_len = (size_t)(r - q - 1);
  }
  if (!best) return 0;
  *answer = copy_trimmed(best, best_len);
  return 1;
}

/* ---- mapping one record ------------------------------------------------- */

/* Maps the parsed record obj (of line `line`) into *it. */
static int map_record(const rlvr_dataset *d, const cJSON *obj, size_t line, rlvr_task_item *it) {
  char which[128];
  memset(it, 0, sizeof *it);
  int rc = RLVR_OK;
  const cJSON *p = first_field(obj, d->prompt_field, which, sizeof which);
  if (!p) return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: no field '%s' (task.prompt_field)", d->path, line, d->prompt_field);
  if (!cJSON_IsString(p))
    return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' is not a string (task.prompt_field)", d->path, line, which);
  const cJSON *a = first_field(obj, d->answer_field, which, sizeof which);
  char *answer = NULL, *solution = NULL;
  int reference_json = 0;
  if (!a) {
    /* The consensus verifier (test-time RL, rollout/consensus.h) needs no
     * label: its item has the empty answer, which means "none". */
    const cJSON *v = d->verifier_field[0] ? cJSON_GetObjectItemCaseSensitive(obj, d->verifier_field) : NULL;
    const char *name = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : d->verifier;
    if (strcmp(name, "consensus") != 0)
      return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: no field '%s' (task.answer_field)", d->path, line, d->answer_field);
    answer = xstrdup("");
  } else if (cJSON_IsString(a)) {
    const char *s = a->valuestring;
    extract_mode mode = d->extract;
    if (mode == EXTRACT_AUTO) mode = strstr(s, "####") ? EXTRACT_GSM8K : strstr(s, "\\boxed") ? EXTRACT_BOXED : EXTRACT_NONE;
    if (mode == EXTRACT_GSM8K) {
      if (!extract_gsm8k(s, &answer, &solution))
        return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' has no \"#### answer\" (task.answer_extract = gsm8k)",
                          d->path, line, which);
    } else if (mode == EXTRACT_BOXED) {
      if (!extract_boxed(s, &answer))
        return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' has no closed \\boxed{...} (task.answer_extract = boxed)",
                          d->path, line, which);
      solution = copy_trimmed(s, strlen(s));
    } else {
      answer = copy_trimmed(s, strlen(s));
    }
    if (!answer[0]) rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' gives an empty answer", d->path, line, which);
  } else if (cJSON_IsNumber(a)) {
    answer = number_text(a->valuedouble);
  } else if (cJSON_IsObject(a) || cJSON_IsArray(a)) {
    answer = rlvr_json_print(a, 0);
    reference_json = 1;
  } else {
    return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' is a %s, want a string, number, object or array",
                      d->path, line, which, cJSON_IsBool(a) ? "boolean" : "null");
  }
  if (!rc && d->solution_field[0]) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, d->solution_field);
    if (s && !cJSON_IsNull(s)) {
      if (!cJSON_IsString(s))
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' is not a string (task.solution_field)", d->path, line,
                        d->solution_field);
      else {
        free(solution);
        solution = copy_trimmed(s->valuestring, strlen(s->valuestring));
      }
    }
  }
  char *verifier = NULL, *id = NULL;
  if (!rc && d->verifier_field[0]) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, d->verifier_field);
    if (v && !cJSON_IsNull(v)) {
      if (!cJSON_IsString(v) || !v->valuestring[0])
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' is not a verifier name (task.verifier_field)", d->path,
                        line, d->verifier_field);
      else
        verifier = xstrdup(v->valuestring);
    }
  }
  if (!rc && d->id_field[0]) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, d->id_field);
    if (v && !cJSON_IsNull(v)) {
      if (cJSON_IsString(v) && v->valuestring[0])
        id = xstrdup(v->valuestring);
      else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble))
        id = number_text(v->valuedouble);
      else
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' is not a string or an integer (task.id_field)", d->path,
                        line, d->id_field);
    }
  }
  if (rc) {
    free(answer);
    free(solution);
    free(verifier);
    free(id);
    return rc;
  }
  cJSON *meta = cJSON_CreateObject();
  for (const char *q = d->meta_fields; *q;) {
    const char *end = strchr(q, ',');
    size_t n = end ? (size_t)(end - q) : strlen(q);
    char *name = copy_trimmed(q, n);
    const cJSON *v = name[0] ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    if (v && !cJSON_GetObjectItemCaseSensitive(meta, name))
      cJSON_AddItemToObject(meta, name, cJSON_Duplicate(v, 1));
    free(name);
    q += n;
    if (*q == ',') q++;
  }
  if (!id) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%zu", d->base, line);
    id = xstrdup(buf);
  }
  it->id = id;
  it->prompt = xstrdup(p->valuestring);
  it->answer = answer;
  it->reference = xstrdup(answer);
  it->reference_json = reference_json;
  it->verifier = verifier ? verifier : xstrdup(d->verifier);
  it->meta = rlvr_json_print(meta, 0);
  it->solution = solution;
  cJSON_Delete(meta);
  return RLVR_OK;
}

/* Parses record r; NULL with the error set. The caller deletes the result. */
static cJSON *parse_record(const rlvr_dataset *d, const record *r, int *rc) {
  const char *line = d->text + r->offset, *end = NULL;
  cJSON *obj = cJSON_ParseWithLengthOpts(line, r->len, &end, 0);
  if (!obj) {
    const char *at = cJSON_GetErrorPtr();
    size_t col = at && at >= line && at <= line + r->len ? (size_t)(at - line) + 1 : 1;
    *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: malformed JSON near column %zu", d->path, r->line, col);
    return NULL;
  }
  for (const char *q = end; q && q < line + r->len; q++)
    if (!isspace((unsigned char)*q)) {
      cJSON_Delete(obj);
      *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: text after the JSON value at column %zu", d->path, r->line,
                       (size_t)(q - line) + 1);
      return NULL;
    }
  if (!cJSON_IsObject(obj)) {
    cJSON_Delete(obj);
    *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: the line is not a JSON object", d->path, r->line);
    return NULL;
  }
  return obj;
}

int rlvr_dataset_item(const rlvr_dataset *d, size_t i, rlvr_task_item *out) {
  RLVR_CHECK(i < d->n);
  int rc = RLVR_OK;
  cJSON *obj = parse_record(d, &d->recs[i], &rc);
  if (!obj) return rc;
  rlvr_task_item it;
  rc = map_record(d, obj, d->recs[i].line, &it);
  cJSON_Delete(obj);
  if (!rc) *out = it;
  return rc;
}

/* ---- loading ------------------------------------------------------------ */

/* Takes ownership of text (len bytes, NUL-terminated) whatever happens. */
static int load_owned(const char *path, char *text, size_t len, const rlvr_dataset_mapping *m, rlvr_dataset **out) {
  extract_mode mode;
  if (!strcmp(m->answer_extract, "auto")) mode = EXTRACT_AUTO;
  else if (!strcmp(m->answer_extract, "gsm8k")) mode = EXTRACT_GSM8K;
  else if (!strcmp(m->answer_extract, "boxed")) mode = EXTRACT_BOXED;
  else if (!strcmp(m->answer_extract, "none")) mode = EXTRACT_NONE;
  else {
    free(text);
    return rlvr_error(RLVR_ERR_CONFIG, "task.answer_extract: '%s' is not one of auto, gsm8k, boxed, none",
                      m->answer_extract);
  }
  const char *bad = !m->prompt_field[0] ? "task.prompt_field is empty"
                    : !m->answer_field[0] ? "task.answer_field is empty"
                    : !m->verifier[0]     ? "task.verifier is empty"
                                          : NULL;
  if (bad) {
    free(text);
    return rlvr_error(RLVR_ERR_CONFIG, "%s (dataset %s)", bad, path);
  }
  rlvr_dataset *d = xcalloc(1, sizeof *d);
  d->text = text;
  d->text_len = len;
  d->path = xstrdup(path);
  const char *slash = strrchr(d->path, '/');
  d->base = slash ? slash + 1 : d->path;
  d->extract = mode;
  d->prompt_field = xstrdup(m->prompt_field);
  d->answer_field = xstrdup(m->answer_field);
  d->solution_field = xstrdup(m->solution_field);
  d->verifier = xstrdup(m->verifier);
  d->verifier_field = xstrdup(m->verifier_field);
  d->id_field = xstrdup(m->id_field);
  d->meta_fields = xstrdup(m->meta_fields);
  int rc = RLVR_OK;
  size_t cap = 0;
  size_t line = 0;
  for (size_t pos = 0; pos < d->text_len;) {
    const char *nl = memchr(d->text + pos, '\n', d->text_len - pos);
    size_t end = nl ? (size_t)(nl - d->text) : d->text_len;
    line++;
    size_t n = end - pos;
    if (n && d->text[pos + n - 1] == '\r') n--;
    int blank = 1;
    for (size_t k = 0; k < n && blank; k++) blank = isspace((unsigned char)d->text[pos + k]);
    if (!blank) {
      if (d->n == cap) {
        cap = cap ? cap * 2 : 256;
        d->recs = xrealloc(d->recs, cap * sizeof *d->recs);
      }
      d->recs[d->n++] = (record){pos, n, line};
    }
    pos = end + 1;
  }
  /* Check every record now, so that a bad line stops the run at start-up. */
  rlvr_strset ids = {0};
  for (size_t i = 0; i < d->n && !rc; i++) {
    rlvr_task_item it;
    rc = rlvr_dataset_item(d, i, &it);
    if (rc) break;
    if (!rlvr_strset_add(&ids, it.id))
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: id '%s' was already used by an earlier line (task.id_field)", path,
                      d->recs[i].line, it.id);
    rlvr_task_item_clear(&it);
  }
  rlvr_strset_free(&ids);
  if (rc) goto fail;
  uint64_t h = rlvr_task_hash_bytes(0, d->text, d->text_len);
  const char *parts[] = {d->prompt_field, d->answer_field, d->solution_field, m->answer_extract,
                         d->verifier,     d->verifier_field, d->id_field,     d->meta_fields};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) h = rlvr_task_hash_bytes(h, parts[i], strlen(parts[i]));
  d->fingerprint = h;
  *out = d;
  return RLVR_OK;
fail:
  rlvr_dataset_free(d);
  return rc;
}

int rlvr_dataset_load(const char *path, const rlvr_dataset_mapping *m, rlvr_dataset **out) {
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  return load_owned(path, text, len, m, out);
}

int rlvr_dataset_load_text(const char *name, const char *text, size_t len, const rlvr_dataset_mapping *m,
                           rlvr_dataset **out) {
  char *copy = xmalloc(len + 1);
  memcpy(copy, text, len);
  copy[len] = 0;
  return load_owned(name, copy, len, m, out);
}

rlvr_dataset_mapping rlvr_dataset_mapping_of(const rlvr_config *cfg) {
  return (rlvr_dataset_mapping){
      .prompt_field = cfg->task_prompt_field,
      .answer_field = cfg->task_answer_field,
      .solution_field = cfg->task_solution_field,
      .answer_extract = cfg->task_answer_extract,
      .verifier = cfg->task_verifier[0] ? cfg->task_verifier : "math",
      .verifier_field = cfg->task_verifier_field,
      .id_field = cfg->task_id_field,
      .meta_fields = cfg->task_meta_fields,
  };
}
