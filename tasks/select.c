/* select.c — the pool, its filters, pass-rate thresholds, round-robin over
 * clusters and the output files of `rlvr select`; see select.h.
 *
 * A dataset's records are checked one line at a time, with the same mapping
 * code the trainer uses (rlvr_dataset_load_text on that one line), so a
 * record kept here is a record the trainer accepts; the survivors are then
 * loaded together (dropped lines blanked, so line numbers and the default
 * "<file>:<line>" ids stay those of the file). */
#include "tasks/select.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "tasks/dataset.h"
#include "tasks/taskutil.h"

static const char *const reason_names[RLVR_SELECT_NREASONS] = {
    "kept",          "missing_prompt", "empty_prompt",  "missing_answer",  "empty_answer",
    "bad_record",    "duplicate_prompt", "prompt_too_long", "never_solved", "always_solved",
    "too_hard",      "too_easy",       "surplus",
};

const char *rlvr_select_reason_name(rlvr_select_reason r) {
  RLVR_CHECK(r >= 0 && r < RLVR_SELECT_NREASONS);
  return reason_names[r];
}

/* ---- small text helpers -------------------------------------------------- */

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i])) return 0;
  return 1;
}

char *rlvr_select_normalize_prompt(const char *prompt) {
  size_t n = strlen(prompt);
  char *out = xmalloc(n + 1);
  size_t k = 0;
  int space = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)prompt[i];
    if (isspace(c)) {
      space = 1;
      continue;
    }
    if (space && k) out[k++] = ' ';
    space = 0;
    out[k++] = (char)(c < 128 ? tolower(c) : c);
  }
  out[k] = 0;
  return out;
}

/* Strips leading and trailing ASCII space; returns a pointer into s and the
 * length in *n. */
static const char *trim(const char *s, size_t *n) {
  size_t len = strlen(s);
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  *n = len;
  return s;
}

static int all_digits(const char *s, size_t n) {
  if (!n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return 0;
  return 1;
}

const char *rlvr_select_answer_kind(const char *answer, int reference_json) {
  if (reference_json) return "structured";
  size_t n;
  const char *s = trim(answer ? answer : "", &n);
  if (n && (*s == '-' || *s == '+')) s++, n--;
  if (all_digits(s, n)) return "integer";
  const char *dot = memchr(s, '.', n);
  if (dot && all_digits(s, (size_t)(dot - s)) && all_digits(dot + 1, n - (size_t)(dot - s) - 1)) return "decimal";
  const char *slash = memchr(s, '/', n);
  if (slash && all_digits(s, (size_t)(slash - s)) && all_digits(slash + 1, n - (size_t)(slash - s) - 1))
    return "fraction";
  if ((n >= 5 && !memcmp(s, "\\frac", 5)) || (n >= 6 && !memcmp(s, "\\dfrac", 6))) return "fraction";
  int letters = 0, digits = 0, ops = 0, spaces = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    letters += isalpha(c) != 0;
    digits += isdigit(c) != 0;
    spaces += c == ' ';
    ops += strchr("\\^*+-=()[]{}/<>_", c) != NULL && c != 0;
  }
  if (letters && spaces && !digits && !ops) return "text";
  if (letters || ops) return "expression";
  return "other";
}

/* The first field of the ','-separated candidates that obj has and that is
 * not null; its name into which. */
static const cJSON *first_field(const cJSON *obj, const char *candidates, char *which, size_t which_len) {
  for (const char *p = candidates; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    size_t tn;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)n, p);
    const char *t = trim(name, &tn);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)tn, t);
    const cJSON *v = key[0] ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (v && !cJSON_IsNull(v)) {
      snprintf(which, which_len, "%s", key);
      return v;
    }
    p += n;
    if (*p == ',') p++;
  }
  return NULL;
}

/* A JSON number as cluster text: integers without a point. */
static char *number_text(double x) {
  char buf[64];
  if (x == floor(x) && fabs(x) < 9e15) snprintf(buf, sizeof buf, "%.0f", x);
  else snprintf(buf, sizeof buf, "%.17g", x);
  return xstrdup(buf);
}

static const char *json_type_name(const cJSON *v) {
  return cJSON_IsString(v) ? "string" : cJSON_IsNumber(v) ? "number" : cJSON_IsBool(v) ? "boolean"
         : cJSON_IsArray(v) ? "array" : cJSON_IsObject(v) ? "object" : "null";
}

/* ---- the pool ------------------------------------------------------------ */

void rlvr_select_pool_free(rlvr_select_pool *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    rlvr_task_item_clear(&p->recs[i].item);
    free(p->recs[i].record);
    free(p->recs[i].cluster);
    free(p->recs[i].detail);
  }
  free(p->recs);
  free(p->name);
  free(p->cluster_by);
  memset(p, 0, sizeof *p);
}

static rlvr_select_record *pool_push(rlvr_select_pool *p, size_t *cap) {
  if (p->n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    p->recs = xrealloc(p->recs, *cap * sizeof *p->recs);
  }
  rlvr_select_record *r = &p->recs[p->n];
  memset(r, 0, sizeof *r);
  r->index = p->n++;
  r->rank = r->round = -1;
  return r;
}

static void drop(rlvr_select_record *r, rlvr_select_reason why, const char *fmt, ...) RLVR_PRINTF(3, 4);
static void drop(rlvr_select_record *r, rlvr_select_reason why, const char *fmt, ...) {
  r->reason = why;
  free(r->detail);
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  r->detail = xstrdup(buf);
}

/* The message of a one-line load names "<name>:1:"; make it the real line. */
static char *relined_message(const char *name, size_t line) {
  const char *msg = rlvr_error_message();
  char prefix[1100];
  snprintf(prefix, sizeof prefix, "%s:1:", name);
  size_t pn = strlen(prefix);
  char buf[2048];
  if (!strncmp(msg, prefix, pn)) snprintf(buf, sizeof buf, "%s:%zu:%s", name, line, msg + pn);
  else snprintf(buf, sizeof buf, "%s:%zu: %s", name, line, msg);
  return xstrdup(buf);
}

/* Stage 1a for one dataset line (already known to be a JSON object): the
 * record's reason, via the trainer's own mapping. */
static void check_record(const rlvr_dataset_mapping *m, const char *name, const cJSON *obj, const char *text,
                         size_t len, rlvr_select_record *r) {
  char which[256];
  const cJSON *p = first_field(obj, m->prompt_field, which, sizeof which);
  if (!p) {
    drop(r, RLVR_SELECT_MISSING_PROMPT, "%s:%zu: no field '%s' (task.prompt_field)", name, r->line, m->prompt_field);
    return;
  }
  if (cJSON_IsString(p) && is_blank(p->valuestring, strlen(p->valuestring))) {
    drop(r, RLVR_SELECT_EMPTY_PROMPT, "%s:%zu: field '%s' is empty (task.prompt_field)", name, r->line, which);
    return;
  }
  const cJSON *a = first_field(obj, m->answer_field, which, sizeof which);
  if (!a) {
    drop(r, RLVR_SELECT_MISSING_ANSWER, "%s:%zu: no field '%s' (task.answer_field)", name, r->line, m->answer_field);
    return;
  }
  if (cJSON_IsString(a) && is_blank(a->valuestring, strlen(a->valuestring))) {
    drop(r, RLVR_SELECT_EMPTY_ANSWER, "%s:%zu: field '%s' is empty (task.answer_field)", name, r->line, which);
    return;
  }
  rlvr_dataset *d = NULL;
  if (rlvr_dataset_load_text(name, text, len, m, &d) != RLVR_OK) {
    char *msg = relined_message(name, r->line);
    drop(r, strstr(msg, "gives an empty answer") ? RLVR_SELECT_EMPTY_ANSWER : RLVR_SELECT_BAD_RECORD, "%s", msg);
    free(msg);
    return;
  }
  rlvr_dataset_free(d);
}

/* Parses one line as a JSON object; NULL with the error set (naming
 * name:line:column) otherwise. */
static cJSON *parse_line(const char *name, size_t line, const char *text, size_t len, int *rc) {
  /* cJSON skips a NUL byte as whitespace; JSON has no place for one. */
  const char *nul = memchr(text, 0, len);
  if (nul) {
    *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: malformed JSON: a NUL byte at column %zu", name, line, (size_t)(nul - text) + 1);
    return NULL;
  }
  const char *end = NULL;
  cJSON *obj = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!obj) {
    const char *at = cJSON_GetErrorPtr();
    size_t col = at && at >= text && at <= text + len ? (size_t)(at - text) + 1 : 1;
    *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: malformed JSON near column %zu", name, line, col);
    return NULL;
  }
  for (const char *q = end; q && q < text + len; q++)
    if (!isspace((unsigned char)*q)) {
      cJSON_Delete(obj);
      *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: text after the JSON value at column %zu", name, line,
                       (size_t)(q - text) + 1);
      return NULL;
    }
  if (!cJSON_IsObject(obj)) {
    cJSON_Delete(obj);
    *rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: the line is not a JSON object", name, line);
    return NULL;
  }
  return obj;
}

static int is_malformed(rlvr_select_reason r) {
  return r >= RLVR_SELECT_MISSING_PROMPT && r <= RLVR_SELECT_BAD_RECORD;
}

/* Stage 1a for a dataset: every record (up to select.pool) with its raw text
 * and, when well-formed, its item. */
static int build_dataset_records(const rlvr_config *cfg, const char *name, const char *text, size_t len,
                                 rlvr_select_pool *p) {
  const rlvr_dataset_mapping m = rlvr_dataset_mapping_of(cfg);
  size_t cap = 0, line = 0;
  /* A bad mapping (task.answer_extract, an empty field list) is one config
   * error, not a bad_record on every line: check it on an empty file. */
  rlvr_dataset *empty = NULL;
  int rc = rlvr_dataset_load_text(name, "", 0, &m, &empty);
  rlvr_dataset_free(empty);
  if (rc) return rc;
  for (size_t pos = 0; pos < len && !rc;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    line++;
    size_t n = end - pos;
    if (n && text[pos + n - 1] == '\r') n--;
    const char *s = text + pos;
    pos = end + 1;
    if (is_blank(s, n)) continue;
    if (cfg->select_pool > 0 && p->n >= (size_t)cfg->select_pool) break;
    cJSON *obj = parse_line(name, line, s, n, &rc);
    if (!obj) break;
    rlvr_select_record *r = pool_push(p, &cap);
    r->line = line;
    r->record = xmalloc(n + 1);
    memcpy(r->record, s, n);
    r->record[n] = 0;
    check_record(&m, name, obj, s, n, r);
    if (r->reason != RLVR_SELECT_KEPT && m.id_field[0]) { /* name the malformed record by its id when it has one */
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, m.id_field);
      if (cJSON_IsString(id)) r->item.id = xstrdup(id->valuestring);
      else if (cJSON_IsNumber(id)) r->item.id = number_text(id->valuedouble);
    }
    cJSON_Delete(obj);
    if (cfg->select_strict && is_malformed(r->reason))
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s (select.strict)", r->detail);
  }
  if (rc) return rc;
  /* The survivors together: ids (and their uniqueness) as the trainer sees them. */
  char *all = xmalloc(len + 1);
  for (size_t i = 0; i < len; i++) all[i] = text[i] == '\n' ? '\n' : ' '; /* blank lines, same numbering */
  all[len] = 0;
  size_t line_start = 0, cur = 1;
  for (size_t i = 0; i < p->n; i++) {
    rlvr_select_record *r = &p->recs[i];
    while (cur < r->line) { /* advance to the start of the record's line */
      const char *nl = memchr(text + line_start, '\n', len - line_start);
      line_start = (size_t)(nl - text) + 1;
      cur++;
    }
    if (r->reason == RLVR_SELECT_KEPT) { /* the line's bytes as they are (a NUL in it stays too) */
      const char *nl = memchr(text + line_start, '\n', len - line_start);
      memcpy(all + line_start, text + line_start, (nl ? (size_t)(nl - text) : len) - line_start);
    }
  }
  rlvr_dataset *d = NULL;
  rc = rlvr_dataset_load_text(name, all, len, &m, &d);
  free(all);
  if (rc) return rc;
  size_t j = 0;
  for (size_t i = 0; i < rlvr_dataset_size(d) && !rc; i++) {
    size_t l = rlvr_dataset_line(d, i);
    while (j < p->n && p->recs[j].line != l) j++;
    RLVR_CHECK(j < p->n && p->recs[j].reason == RLVR_SELECT_KEPT, "select: record at line %zu not found", l);
    rc = rlvr_dataset_item(d, i, &p->recs[j].item);
  }
  rlvr_dataset_free(d);
  return rc;
}

/* Stage 1a for a generator: the first select.pool items of select.split. */
static int build_generator_records(const rlvr_config *cfg, const char *tasks_dir, rlvr_select_pool *p) {
  rlvr_task_split split;
  if (!strcmp(cfg->select_split, "train")) split = RLVR_TASK_SPLIT_TRAIN;
  else if (!strcmp(cfg->select_split, "heldout")) split = RLVR_TASK_SPLIT_HELDOUT;
  else return rlvr_error(RLVR_ERR_CONFIG, "select.split must be train or heldout, is '%s'", cfg->select_split);
  rlvr_task_source *src = NULL;
  int rc = rlvr_task_source_build(cfg, tasks_dir, &src);
  if (rc) return rc;
  int64_t size = rlvr_task_source_size(src, split);
  if (cfg->select_pool > 0 && cfg->select_pool < size) size = cfg->select_pool;
  if (size > (1 << 24)) {
    rlvr_task_source_free(src);
    return rlvr_error(RLVR_ERR_CONFIG, "select.pool: the %s split of generator %s has no end; give select.pool",
                      cfg->select_split, cfg->task_source);
  }
  size_t cap = 0;
  for (int64_t i = 0; i < size && !rc; i++) {
    rlvr_select_record *r = pool_push(p, &cap);
    r->index = (uint64_t)i;
    if ((rc = rlvr_task_source_get(src, split, (uint64_t)i, &r->item))) break;
    rlvr_task_item *it = &r->item;
    if (!it->prompt || is_blank(it->prompt, strlen(it->prompt)))
      drop(r, RLVR_SELECT_EMPTY_PROMPT, "%s: item %s has an empty prompt", cfg->task_source, it->id);
    else if (!it->reference || is_blank(it->reference, strlen(it->reference)))
      drop(r, RLVR_SELECT_EMPTY_ANSWER, "%s: item %s has an empty reference answer", cfg->task_source, it->id);
    if (cfg->select_strict && is_malformed(r->reason))
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s (select.strict)", r->detail);
  }
  rlvr_task_source_free(src);
  return rc;
}

typedef struct {
  char *norm;
  size_t idx;
} norm_ref;

static int cmp_norm(const void *a, const void *b) {
  const norm_ref *x = a, *y = b;
  int c = strcmp(x->norm, y->norm);
  return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Stage 1b: the first record of each normalised prompt stays. */
static void drop_duplicates(rlvr_select_pool *p) {
  norm_ref *refs = xmalloc((p->n ? p->n : 1) * sizeof *refs);
  size_t k = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->recs[i].reason == RLVR_SELECT_KEPT) refs[k++] = (norm_ref){rlvr_select_normalize_prompt(p->recs[i].item.prompt), i};
  qsort(refs, k, sizeof *refs, cmp_norm);
  for (size_t a = 0; a < k;) {
    size_t b = a + 1;
    while (b < k && !strcmp(refs[a].norm, refs[b].norm)) b++;
    const rlvr_select_record *first = &p->recs[refs[a].idx];
    for (size_t c = a + 1; c < b; c++) {
      rlvr_select_record *r = &p->recs[refs[c].idx];
      if (first->line) drop(r, RLVR_SELECT_DUPLICATE_PROMPT, "same prompt as line %zu (id %s)", first->line, first->item.id);
      else drop(r, RLVR_SELECT_DUPLICATE_PROMPT, "same prompt as item %s", first->item.id);
    }
    a = b;
  }
  for (size_t i = 0; i < k; i++) free(refs[i].norm);
  free(refs);
}

/* The cluster named by the record's select.cluster_field; an error naming
 * the record and the field when it has none that can be used. */
static int field_cluster(const rlvr_config *cfg, const rlvr_select_pool *p, rlvr_select_record *r) {
  const char *fields = cfg->select_cluster_field;
  char where[1200];
  if (r->line) snprintf(where, sizeof where, "%s:%zu", p->name, r->line);
  else snprintf(where, sizeof where, "%s: item %s (meta)", p->name, r->item.id);
  cJSON *obj = cJSON_Parse(r->record ? r->record : r->item.meta ? r->item.meta : "{}");
  if (!obj) return rlvr_error(RLVR_ERR_FORMAT, "%s: cannot read the record for select.cluster_field", where);
  char which[256];
  const cJSON *v = first_field(obj, fields, which, sizeof which);
  int rc = RLVR_OK;
  if (!v) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: no field '%s' (select.cluster_field); give every record one, or set select.cluster_field = '' to cluster by text",
                    where, fields);
  } else {
    const cJSON *x = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
    if (x && cJSON_IsString(x) && !is_blank(x->valuestring, strlen(x->valuestring))) r->cluster = xstrdup(x->valuestring);
    else if (x && cJSON_IsNumber(x)) r->cluster = number_text(x->valuedouble);
    else if (x && cJSON_IsBool(x)) r->cluster = xstrdup(cJSON_IsTrue(x) ? "true" : "false");
    else
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field '%s' is %s%s; want a non-empty string, a number or an array whose first element is one (select.cluster_field)",
                      where, which, cJSON_IsString(v) ? "an empty " : "a ", json_type_name(v));
  }
  cJSON_Delete(obj);
  return rc;
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* Stage 1c: each surviving record's cluster. */
static int assign_clusters(const rlvr_config *cfg, rlvr_select_pool *p) {
  if (cfg->select_cluster_field[0]) {
    size_t n = strlen(cfg->select_cluster_field) + 7;
    p->cluster_by = xmalloc(n);
    snprintf(p->cluster_by, n, "field:%s", cfg->select_cluster_field);
    for (size_t i = 0; i < p->n; i++) {
      if (p->recs[i].reason != RLVR_SELECT_KEPT) continue;
      int rc = field_cluster(cfg, p, &p->recs[i]);
      if (rc) return rc;
    }
    return RLVR_OK;
  }
  /* The text feature: answer kind, and the prompt's length tertile over the
   * survivors (so that every pool splits into three bands of similar size). */
  p->cluster_by = xstrdup("text");
  size_t *lens = xmalloc((p->n ? p->n : 1) * sizeof *lens), k = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->recs[i].reason == RLVR_SELECT_KEPT) lens[k++] = strlen(p->recs[i].item.prompt);
  qsort(lens, k, sizeof *lens, cmp_size);
  const size_t q1 = k ? lens[k / 3] : 0, q2 = k ? lens[2 * k / 3] : 0;
  free(lens);
  for (size_t i = 0; i < p->n; i++) {
    rlvr_select_record *r = &p->recs[i];
    if (r->reason != RLVR_SELECT_KEPT) continue;
    size_t len = strlen(r->item.prompt);
    const char *band = len < q1 ? "short" : len < q2 ? "medium" : "long";
    char buf[64];
    snprintf(buf, sizeof buf, "%s/%s", rlvr_select_answer_kind(r->item.answer, r->item.reference_json), band);
    r->cluster = xstrdup(buf);
  }
  return RLVR_OK;
}

/* A path ending in .lua is a generator script; any other path (with a '/'
 * or ending in .jsonl) is a dataset; a bare name is a generator (task.h). */
static int is_dataset_path(const char *source) {
  size_t n = strlen(source);
  if (n >= 4 && strcmp(source + n - 4, ".lua") == 0) return 0;
  return strchr(source, '/') || (n >= 6 && strcmp(source + n - 6, ".jsonl") == 0);
}

static int check_config(const rlvr_config *cfg) {
  if (cfg->select_pool < 0) return rlvr_error(RLVR_ERR_CONFIG, "select.pool must be >= 0, is %lld", (long long)cfg->select_pool);
  if (!cfg->task_source[0]) return rlvr_error(RLVR_ERR_CONFIG, "task.source is empty: name a generator or a JSONL file");
  return RLVR_OK;
}

static int finish_build(const rlvr_config *cfg, rlvr_select_pool *p, int rc) {
  if (!rc && cfg->select_dedup) drop_duplicates(p);
  if (!rc) rc = assign_clusters(cfg, p);
  if (rc) rlvr_select_pool_free(p);
  return rc;
}

int rlvr_select_pool_build_text(const rlvr_config *cfg, const char *name, const char *text, size_t len,
                                rlvr_select_pool *out) {
  rlvr_select_pool p = {0};
  int rc = check_config(cfg);
  if (rc) return rc;
  p.name = xstrdup(name);
  rc = finish_build(cfg, &p, build_dataset_records(cfg, name, text, len, &p));
  if (!rc) *out = p;
  else memset(out, 0, sizeof *out);
  return rc;
}

int rlvr_select_pool_build(const rlvr_config *cfg, const char *tasks_dir, rlvr_select_pool *out) {
  memset(out, 0, sizeof *out);
  int rc = check_config(cfg);
  if (rc) return rc;
  if (is_dataset_path(cfg->task_source)) {
    char *text = NULL;
    size_t len = 0;
    if ((rc = rlvr_file_read(cfg->task_source, &text, &len))) return rc;
    rc = rlvr_select_pool_build_text(cfg, cfg->task_source, text, len, out);
    free(text);
    return rc;
  }
  rlvr_select_pool p = {0};
  p.name = xstrdup(cfg->task_source);
  p.is_generator = 1;
  rc = finish_build(cfg, &p, build_generator_records(cfg, tasks_dir, &p));
  if (!rc) *out = p;
  return rc;
}

/* ---- stages 3 and 4 ------------------------------------------------------ */

static double pass_rate(const rlvr_select_record *r) { return r->samples ? (double)r->correct / r->samples : 0.0; }

size_t rlvr_select_apply_pass_rates(rlvr_select_record *recs, size_t n, const rlvr_select_thresholds *t) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    rlvr_select_record *r = &recs[i];
    if (r->reason != RLVR_SELECT_KEPT) continue;
    if (r->samples > 0) {
      const double p = pass_rate(r);
      if (r->correct == 0 && !t->keep_unsolved)
        drop(r, RLVR_SELECT_NEVER_SOLVED, "0 of %d samples correct", r->samples);
      else if (r->correct == r->samples && !t->keep_solved)
        drop(r, RLVR_SELECT_ALWAYS_SOLVED, "%d of %d samples correct", r->correct, r->samples);
      else if (p < t->min_pass)
        drop(r, RLVR_SELECT_TOO_HARD, "pass rate %.4g < select.min_pass %.4g", p, t->min_pass);
      else if (p > t->max_pass)
        drop(r, RLVR_SELECT_TOO_EASY, "pass rate %.4g > select.max_pass %.4g", p, t->max_pass);
    }
    kept += r->reason == RLVR_SELECT_KEPT;
  }
  return kept;
}

typedef struct {
  const rlvr_select_record *r;
  size_t idx;
  double dist;
  uint64_t tie;
} rr_ref;

static int cmp_rr(const void *a, const void *b) {
  const rr_ref *x = a, *y = b;
  int c = strcmp(x->r->cluster ? x->r->cluster : "", y->r->cluster ? y->r->cluster : "");
  if (c) return c;
  if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
  if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

size_t rlvr_select_round_robin(rlvr_select_record *recs, size_t n, size_t n_keep, double target, uint64_t seed,
                               size_t **order) {
  rr_ref *refs = xmalloc((n ? n : 1) * sizeof *refs);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const rlvr_select_record *r = &recs[i];
    if (r->reason != RLVR_SELECT_KEPT) continue;
    const char *id = r->item.id ? r->item.id : "";
    refs[k++] = (rr_ref){r, i, r->samples ? fabs(pass_rate(r) - target) : 0.0,
                         rlvr_task_hash_bytes(rlvr_task_mix(seed), id, strlen(id))};
  }
  qsort(refs, k, sizeof *refs, cmp_rr);
  /* Clusters are the runs of refs: start[c] .. start[c + 1]. */
  size_t *start = xmalloc((k + 1) * sizeof *start), nc = 0;
  for (size_t i = 0; i < k; i++)
    if (i == 0 || strcmp(refs[i].r->cluster ? refs[i].r->cluster : "", refs[i - 1].r->cluster ? refs[i - 1].r->cluster : ""))
      start[nc++] = i;
  start[nc] = k;
  size_t *picked = xmalloc((k ? k : 1) * sizeof *picked), taken = 0;
  for (size_t round = 0; taken < n_keep; round++) {
    int any = 0;
    for (size_t c = 0; c < nc && taken < n_keep; c++) {
      if (start[c] + round >= start[c + 1]) continue;
      any = 1;
      rlvr_select_record *r = &recs[refs[start[c] + round].idx];
      r->rank = (int)taken;
      r->round = (int)round;
      picked[taken++] = refs[start[c] + round].idx;
    }
    if (!any) break;
  }
  for (size_t i = 0; i < k; i++) {
    rlvr_select_record *r = &recs[refs[i].idx];
    if (r->rank < 0) drop(r, RLVR_SELECT_SURPLUS, "eligible, but select.n = %zu were taken first", n_keep);
  }
  free(refs);
  free(start);
  if (order) *order = picked;
  else free(picked);
  return taken;
}

/* ---- pass rates from a file --------------------------------------------- */

typedef struct {
  const char *id;
  size_t idx;
  int correct, samples; /* samples = 0: not in the file yet */
} id_ref;

static int cmp_id(const void *a, const void *b) { return strcmp(((const id_ref *)a)->id, ((const id_ref *)b)->id); }

int rlvr_select_read_pass_rates(const char *path, rlvr_select_pool *p) {
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rlvr_error_wrap(rc, "select.rates_from");
  id_ref *refs = xmalloc((p->n ? p->n : 1) * sizeof *refs);
  size_t k = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->recs[i].reason == RLVR_SELECT_KEPT) refs[k++] = (id_ref){p->recs[i].item.id, i, 0, 0};
  qsort(refs, k, sizeof *refs, cmp_id);
  size_t line = 0;
  for (size_t pos = 0; pos < len && !rc;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
    const char *s = text + pos;
    pos = end + 1;
    line++;
    if (is_blank(s, n)) continue;
    cJSON *j = parse_line(path, line, s, n, &rc);
    if (!j) break;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "correct");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "samples");
    if (!cJSON_IsString(id)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field 'id' is missing or not a string (select.rates_from)", path, line);
    } else if (!cJSON_IsNumber(c) || !cJSON_IsNumber(m) || c->valuedouble != floor(c->valuedouble) ||
               m->valuedouble != floor(m->valuedouble) || c->valuedouble < 0 || m->valuedouble < 1 ||
               c->valuedouble > m->valuedouble || m->valuedouble > 1e6) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: fields 'correct' and 'samples' must be integers with 0 <= correct <= samples, samples >= 1 (select.rates_from)",
                      path, line);
    } else {
      id_ref key = {id->valuestring, 0, 0, 0};
      id_ref *hit = k ? bsearch(&key, refs, k, sizeof *refs, cmp_id) : NULL;
      if (hit && hit->samples)
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: id '%s' has a pass rate on an earlier line (select.rates_from)", path,
                        line, id->valuestring);
      else if (hit)
        hit->correct = (int)c->valuedouble, hit->samples = (int)m->valuedouble;
    }
    cJSON_Delete(j);
  }
  for (size_t i = 0; i < k && !rc; i++)
    if (!refs[i].samples)
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: no pass rate for id '%s' (select.rates_from); sample it again without select.rates_from",
                      path, refs[i].id);
  for (size_t i = 0; i < k && !rc; i++) {
    p->recs[refs[i].idx].correct = refs[i].correct;
    p->recs[refs[i].idx].samples = refs[i].samples;
  }
  free(refs);
  free(text);
  return rc;
}

/* ---- output -------------------------------------------------------------- */

static int put_line(FILE *f, cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  RLVR_CHECK(s != NULL);
  int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
  cJSON_free(s);
  return ok ? RLVR_OK : rlvr_error(RLVR_ERR_IO, "select: writing a JSONL line failed");
}

static void add_scores(cJSON *j, const rlvr_select_record *r) {
  if (r->samples) {
    cJSON_AddNumberToObject(j, "pass_rate", pass_rate(r));
    cJSON_AddNumberToObject(j, "correct", r->correct);
    cJSON_AddNumberToObject(j, "samples", r->samples);
  }
}

int rlvr_select_write_kept(const rlvr_select_pool *p, const size_t *order, size_t nkept, FILE *f) {
  int rc = RLVR_OK;
  for (size_t i = 0; i < nkept && !rc; i++) {
    const rlvr_select_record *r = &p->recs[order[i]];
    cJSON *j;
    if (r->record) {
      j = cJSON_Parse(r->record);
      RLVR_CHECK(j != NULL, "select: record at line %zu no longer parses", r->line);
      cJSON_DeleteItemFromObjectCaseSensitive(j, "select");
    } else {
      /* A generator's item as a dataset record that the default mapping
       * reads back: the verifier's reference as the answer. */
      const rlvr_task_item *it = &r->item;
      j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "id", it->id);
      cJSON_AddStringToObject(j, "prompt", it->prompt);
      cJSON *ref = it->reference_json ? cJSON_Parse(it->reference) : NULL;
      if (ref) cJSON_AddItemToObject(j, "answer", ref);
      else cJSON_AddStringToObject(j, "answer", it->reference ? it->reference : it->answer);
      cJSON_AddStringToObject(j, "verifier", it->verifier);
      cJSON *meta = cJSON_Parse(it->meta ? it->meta : "{}");
      if (meta && cJSON_IsObject(meta)) {
        for (cJSON *m = meta->child; m; m = m->next)
          if (m->string && !cJSON_GetObjectItemCaseSensitive(j, m->string))
            cJSON_AddItemToObject(j, m->string, cJSON_Duplicate(m, 1));
        cJSON_AddItemToObject(j, "meta", meta);
      } else {
        cJSON_Delete(meta);
      }
      if (it->solution) cJSON_AddStringToObject(j, "solution", it->solution);
    }
    cJSON *s = cJSON_AddObjectToObject(j, "select");
    cJSON_AddNumberToObject(s, "rank", r->rank);
    cJSON_AddNumberToObject(s, "round", r->round);
    cJSON_AddStringToObject(s, "cluster", r->cluster);
    add_scores(s, r);
    if (!r->record) cJSON_AddNumberToObject(s, "index", (double)r->index);
    char why[512];
    if (r->samples)
      snprintf(why, sizeof why, "pass rate %d/%d within the thresholds; cluster %s, round %d", r->correct, r->samples,
               r->cluster, r->round);
    else
      snprintf(why, sizeof why, "not scored; cluster %s, round %d", r->cluster, r->round);
    cJSON_AddStringToObject(s, "reason", why);
    rc = put_line(f, j);
    cJSON_Delete(j);
  }
  return rc;
}

static void add_where(cJSON *j, const rlvr_select_record *r) {
  if (r->item.id) cJSON_AddStringToObject(j, "id", r->item.id);
  else cJSON_AddNullToObject(j, "id");
  if (r->line) cJSON_AddNumberToObject(j, "line", (double)r->line);
  else cJSON_AddNumberToObject(j, "index", (double)r->index);
}

int rlvr_select_write_dropped(const rlvr_select_pool *p, FILE *f) {
  int rc = RLVR_OK;
  for (size_t i = 0; i < p->n && !rc; i++) {
    const rlvr_select_record *r = &p->recs[i];
    if (r->reason == RLVR_SELECT_KEPT) continue;
    cJSON *j = cJSON_CreateObject();
    add_where(j, r);
    cJSON_AddStringToObject(j, "reason", rlvr_select_reason_name(r->reason));
    cJSON_AddStringToObject(j, "detail", r->detail ? r->detail : "");
    if (r->cluster) cJSON_AddStringToObject(j, "cluster", r->cluster);
    add_scores(j, r);
    rc = put_line(f, j);
    cJSON_Delete(j);
  }
  return rc;
}

int rlvr_select_write_pass_rates(const rlvr_select_pool *p, FILE *f) {
  int rc = RLVR_OK;
  for (size_t i = 0; i < p->n && !rc; i++) {
    const rlvr_select_record *r = &p->recs[i];
    if (!r->samples) continue;
    cJSON *j = cJSON_CreateObject();
    add_where(j, r);
    cJSON_AddStringToObject(j, "cluster", r->cluster ? r->cluster : "");
    add_scores(j, r);
    rc = put_line(f, j);
    cJSON_Delete(j);
  }
  return rc;
}

char *rlvr_select_summary_json(const rlvr_select_pool *p, size_t n_wanted, const char *extra) {
  cJSON *j = extra ? cJSON_Parse(extra) : NULL;
  if (!j || !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    j = cJSON_CreateObject();
  }
  size_t counts[RLVR_SELECT_NREASONS] = {0};
  int max_samples = 0;
  for (size_t i = 0; i < p->n; i++) {
    counts[p->recs[i].reason]++;
    if (p->recs[i].samples > max_samples) max_samples = p->recs[i].samples;
  }
  cJSON_AddStringToObject(j, "source", p->name ? p->name : "");
  cJSON_AddNumberToObject(j, "pool", (double)p->n);
  cJSON_AddNumberToObject(j, "wanted", (double)n_wanted);
  cJSON_AddNumberToObject(j, "kept", (double)counts[RLVR_SELECT_KEPT]);
  cJSON_AddNumberToObject(j, "short", counts[RLVR_SELECT_KEPT] < n_wanted ? (double)(n_wanted - counts[RLVR_SELECT_KEPT]) : 0.0);
  cJSON *d = cJSON_AddObjectToObject(j, "dropped");
  for (int r = 1; r < RLVR_SELECT_NREASONS; r++) cJSON_AddNumberToObject(d, reason_names[r], (double)counts[r]);
  cJSON_AddStringToObject(j, "cluster_by", p->cluster_by ? p->cluster_by : "");
  /* Per cluster: eligible after stage 1 (has a cluster), scored, kept. */
  cJSON *cl = cJSON_AddObjectToObject(j, "clusters");
  for (size_t i = 0; i < p->n; i++) {
    const rlvr_select_record *r = &p->recs[i];
    if (!r->cluster) continue;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(cl, r->cluster);
    if (!c) {
      c = cJSON_AddObjectToObject(cl, r->cluster);
      cJSON_AddNumberToObject(c, "pool", 0);
      cJSON_AddNumberToObject(c, "scored", 0);
      cJSON_AddNumberToObject(c, "kept", 0);
    }
    cJSON *f;
    f = cJSON_GetObjectItemCaseSensitive(c, "pool");
    cJSON_SetNumberValue(f, f->valuedouble + 1);
    f = cJSON_GetObjectItemCaseSensitive(c, "scored");
    cJSON_SetNumberValue(f, f->valuedouble + (r->samples > 0));
    f = cJSON_GetObjectItemCaseSensitive(c, "kept");
    cJSON_SetNumberValue(f, f->valuedouble + (r->reason == RLVR_SELECT_KEPT));
  }
  /* solved[c]: scored prompts with c correct samples (all scored with the same k). */
  cJSON *h = cJSON_AddArrayToObject(j, "solved_histogram");
  for (int c = 0; c <= max_samples && max_samples > 0; c++) {
    size_t cnt = 0;
    for (size_t i = 0; i < p->n; i++) cnt += p->recs[i].samples > 0 && p->recs[i].correct == c;
    cJSON_AddItemToArray(h, cJSON_CreateNumber((double)cnt));
  }
  char *text = rlvr_json_print(j, 1);
  cJSON_Delete(j);
  return text;
}
