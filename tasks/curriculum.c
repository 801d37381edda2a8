/* curriculum.c — see curriculum.h: the pass-rate file, each training
 * record's rate, and the order or the draws of an epoch.
 *
 * The file's lines are read into (id, line, rate) entries, sorted by id to
 * find an id on two lines, then looked up from the training ids (sorted
 * too). Weights under `target` are taken relative to the record nearest the
 * target, exp(-(d_i^2 - d_min^2) / (2 width^2)), so the largest is 1 and
 * their sum never underflows to 0 however narrow the width; a record far
 * enough away may get weight 0 and is then never drawn. */
#include "tasks/curriculum.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "tasks/taskutil.h"

static const char *const order_names[] = {"easy_first", "hard_first", "target", "shuffle"};

const char *rlvr_curriculum_order_name(rlvr_curriculum_order o) {
  return (unsigned)o < sizeof order_names / sizeof *order_names ? order_names[o] : "?";
}

struct rlvr_curriculum {
  rlvr_curriculum_options opt;
  size_t n;
  double *rate;          /* (n) every record's rate */
  unsigned char *kept;   /* (n) */
  double *cum;           /* (n) target: cumulative weights in index order (0 for records left out) */
  uint32_t *kept_index;  /* (K) the kept records in index order (shuffle, and target's last resort) */
  rlvr_curriculum_stats stats;
  uint64_t fingerprint;
};

/* ---- options ----------------------------------------------------------- */

static int check_options(const rlvr_curriculum_options *o) {
  if ((unsigned)o->order >= sizeof order_names / sizeof *order_names)
    return rlvr_error(RLVR_ERR_CONFIG, "task.curriculum_order: %d is not an order", (int)o->order);
  if (!(o->target >= 0 && o->target <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "task.curriculum_target: %g is not in [0, 1]", o->target);
  if (!(o->width > 0 && o->width <= 10))
    return rlvr_error(RLVR_ERR_CONFIG, "task.curriculum_width: %g is not in (0, 10]", o->width);
  if (!(o->missing >= 0 && o->missing <= 1))
    return rlvr_error(RLVR_ERR_CONFIG, "task.curriculum_missing: %g is not in [0, 1]", o->missing);
  return RLVR_OK;
}

int rlvr_curriculum_options_from_config(const rlvr_config *cfg, rlvr_curriculum_options *out) {
  rlvr_curriculum_options o;
  memset(&o, 0, sizeof o);
  size_t k = 0, nk = sizeof order_names / sizeof *order_names;
  while (k < nk && strcmp(cfg->task_curriculum_order, order_names[k]) != 0) k++;
  if (k == nk)
    return rlvr_error(RLVR_ERR_CONFIG,
                      "task.curriculum_order: '%s' is not one of easy_first, hard_first, target, shuffle",
                      cfg->task_curriculum_order);
  o.order = (rlvr_curriculum_order)k;
  o.target = cfg->task_curriculum_target;
  o.width = cfg->task_curriculum_width;
  o.missing = cfg->task_curriculum_missing;
  o.require_all = cfg->task_curriculum_require_all;
  o.drop_solved = cfg->task_curriculum_drop_solved;
  o.drop_unsolved = cfg->task_curriculum_drop_unsolved;
  int rc = check_options(&o);
  if (rc) return rc;
  *out = o;
  return RLVR_OK;
}

/* ---- the file ---------------------------------------------------------- */

typedef struct {
  char *id;
  size_t line;
  double rate;
} entry;

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void free_entries(entry *e, size_t n) {
  for (size_t i = 0; e && i < n; i++) free(e[i].id);
  free(e);
}

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i])) return 0;
  return 1;
}

static int is_count(const cJSON *v, double max) {
  return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= 0 && v->valuedouble <= max;
}

/* One line's entry; *e untouched on error. */
static int parse_entry(const char *path, size_t line, const char *s, size_t n, entry *e) {
  const char *nul = memchr(s, 0, n);
  if (nul)
    return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: malformed JSON: a NUL byte at column %zu (task.curriculum)", path, line,
                      (size_t)(nul - s) + 1);
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
  if (!j) {
    const char *at = cJSON_GetErrorPtr();
    size_t col = at && at >= s && at <= s + n ? (size_t)(at - s) + 1 : 1;
    return rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: malformed JSON near column %zu (task.curriculum)", path, line, col);
  }
  int rc = RLVR_OK;
  for (const char *q = end; q && q < s + n && !rc; q++)
    if (!isspace((unsigned char)*q))
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: text after the JSON value at column %zu (task.curriculum)", path, line,
                      (size_t)(q - s) + 1);
  if (!rc && !cJSON_IsObject(j))
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: the line is not a JSON object (task.curriculum)", path, line);
  char *id = NULL;
  double rate = 0;
  if (!rc) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (cJSON_IsString(v) && v->valuestring[0]) {
      id = xstrdup(v->valuestring);
    } else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= 9007199254740992.0) {
      char buf[32]; /* as the dataset writes an integer id (dataset.h) */
      snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
      id = xstrdup(buf);
    } else {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field 'id' is missing, empty or not a string or an integer (task.curriculum)",
                      path, line);
    }
  }
  if (!rc) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "correct");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "samples");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "pass_rate");
    if (p && !(cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble <= 1)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field 'pass_rate' is not a number in [0, 1] (task.curriculum)", path, line);
    } else if (c || m) {
      if (!c || !m)
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field '%s' without field '%s' (task.curriculum)", path, line,
                        c ? "correct" : "samples", c ? "samples" : "correct");
      else if (!is_count(c, 1e6) || !is_count(m, 1e6) || m->valuedouble < 1 || c->valuedouble > m->valuedouble)
        rc = rlvr_error(RLVR_ERR_FORMAT,
                        "%s:%zu: fields 'correct' and 'samples' must be integers with 0 <= correct <= samples, "
                        "1 <= samples <= 1000000 (task.curriculum)",
                        path, line);
      else {
        rate = c->valuedouble / m->valuedouble;
        if (p && fabs(p->valuedouble - rate) > 1e-6)
          rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: field 'pass_rate' %g is not correct / samples = %g/%g (task.curriculum)",
                          path, line, p->valuedouble, c->valuedouble, m->valuedouble);
      }
    } else if (p) {
      rate = p->valuedouble;
    } else {
      rc = rlvr_error(RLVR_ERR_FORMAT,
                      "%s:%zu: no fields 'correct' and 'samples' and no field 'pass_rate' (task.curriculum)", path, line);
    }
  }
  cJSON_Delete(j);
  if (rc) {
    free(id);
    return rc;
  }
  e->id = id;
  e->line = line;
  e->rate = rate;
  return RLVR_OK;
}

/* Every line's entry, sorted by id (then line). */
static int read_entries(const char *path, const char *text, size_t len, entry **out, size_t *nout) {
  size_t cap = 16, n = 0;
  entry *es = xmalloc(cap * sizeof *es);
  int rc = RLVR_OK;
  size_t line = 0;
  for (size_t pos = 0; pos < len && !rc;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    const char *s = text + pos;
    size_t sn = end - pos;
    pos = end + 1;
    line++;
    if (is_blank(s, sn)) continue;
    if (n == cap) es = xrealloc(es, (cap *= 2) * sizeof *es);
    rc = parse_entry(path, line, s, sn, &es[n]);
    if (!rc) n++;
  }
  if (!rc && n == 0) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: no pass-rate lines (task.curriculum)", path);
  if (!rc) {
    qsort(es, n, sizeof *es, cmp_entry);
    /* An id on two lines: name the pair whose later line comes first. */
    size_t bad = n;
    for (size_t i = 1; i < n; i++)
      if (!strcmp(es[i].id, es[i - 1].id) && (bad == n || es[i].line < es[bad].line)) bad = i;
    if (bad < n) {
      size_t first = bad;
      while (first > 0 && !strcmp(es[first - 1].id, es[bad].id)) first--;
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s:%zu: id '%s' has a pass rate on line %zu already (task.curriculum)", path,
                      es[bad].line, es[bad].id, es[first].line);
    }
  }
  if (rc) {
    free_entries(es, n);
    return rc;
  }
  *out = es;
  *nout = n;
  return RLVR_OK;
}

/* ---- building ---------------------------------------------------------- */

typedef struct {
  const char *id;
  size_t index;
} id_ref;

static int cmp_ref(const void *a, const void *b) {
  const id_ref *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

static uint64_t double_bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

void rlvr_curriculum_free(rlvr_curriculum *c) {
  if (!c) return;
  free(c->rate);
  free(c->kept);
  free(c->cum);
  free(c->kept_index);
  free(c);
}

int rlvr_curriculum_build(const rlvr_curriculum_options *opt, const char *path, const char *text, size_t len,
                          const char *const *ids, size_t n, rlvr_curriculum **out) {
  int rc = check_options(opt);
  if (rc) return rc;
  if (n == 0) return rlvr_error(RLVR_ERR_RANGE, "%s: the dataset has no training records to order (task.curriculum)", path);
  if (n > UINT32_MAX) return rlvr_error(RLVR_ERR_RANGE, "task.curriculum: more than 2^32 training records");
  entry *es = NULL;
  size_t ne = 0;
  if ((rc = read_entries(path, text, len, &es, &ne))) return rc;

  rlvr_curriculum *c = xcalloc(1, sizeof *c);
  c->opt = *opt;
  c->n = n;
  c->rate = xmalloc((n ? n : 1) * sizeof *c->rate);
  c->kept = xcalloc(n ? n : 1, 1);
  c->cum = xcalloc(n ? n : 1, sizeof *c->cum);
  c->kept_index = xmalloc((n ? n : 1) * sizeof *c->kept_index);
  c->stats.records = n;
  c->stats.lines = ne;

  /* Each record's rate: walk the sorted ids and the sorted entries together. */
  id_ref *refs = xmalloc((n ? n : 1) * sizeof *refs);
  for (size_t i = 0; i < n; i++) refs[i] = (id_ref){ids[i], i};
  qsort(refs, n, sizeof *refs, cmp_ref);
  unsigned char *used = xcalloc(ne ? ne : 1, 1);
  const char *missing_id = NULL;
  size_t missing_index = n;
  for (size_t i = 0, k = 0; i < n; i++) {
    while (k < ne && strcmp(es[k].id, refs[i].id) < 0) k++;
    size_t r = refs[i].index;
    if (k < ne && !strcmp(es[k].id, refs[i].id)) {
      c->rate[r] = es[k].rate;
      used[k] = 1;
      c->stats.rated++;
    } else {
      c->rate[r] = opt->missing;
      c->stats.defaulted++;
      if (r < missing_index) missing_index = r, missing_id = refs[i].id;
    }
  }
  for (size_t k = 0; k < ne; k++) c->stats.unmatched += !used[k];
  if (n > 0 && c->stats.rated == 0)
    rc = rlvr_error(RLVR_ERR_FORMAT,
                    "%s: none of its %zu ids names a training record (line %zu has id '%s'; the first record's id is "
                    "'%s'): are these pass rates for another dataset? (task.curriculum)",
                    path, ne, es[0].line, es[0].id, ids[0]);
  else if (opt->require_all && missing_id)
    rc = rlvr_error(RLVR_ERR_FORMAT,
                    "%s: no pass rate for training record '%s' (records without one: %zu; task.curriculum_require_all)",
                    path, missing_id, c->stats.defaulted);
  free(used);
  free(refs);

  if (!rc) {
    /* Kept records and, for target, their weights. */
    double dmin = INFINITY;
    for (size_t i = 0; i < n; i++) {
      const double p = c->rate[i];
      if (opt->drop_solved && p == 1.0) {
        c->stats.dropped_solved++;
        continue;
      }
      if (opt->drop_unsolved && p == 0.0) {
        c->stats.dropped_unsolved++;
        continue;
      }
      c->kept[i] = 1;
      c->kept_index[c->stats.kept++] = (uint32_t)i;
      const double d = fabs(p - opt->target);
      if (d < dmin) dmin = d;
    }
    if (c->stats.kept == 0)
      rc = rlvr_error(RLVR_ERR_FORMAT,
                      "%s: the curriculum leaves out every training record (%zu of rate 1, %zu of rate 0; "
                      "task.curriculum_drop_solved, task.curriculum_drop_unsolved)",
                      path, c->stats.dropped_solved, c->stats.dropped_unsolved);
    double total = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      if (c->kept[i]) {
        const double d = fabs(c->rate[i] - opt->target);
        total += exp(-(d * d - dmin * dmin) / (2 * opt->width * opt->width));
      }
      c->cum[i] = total;
    }
  }
  free_entries(es, ne);
  if (rc) {
    rlvr_curriculum_free(c);
    return rc;
  }
  uint64_t h = rlvr_task_combine(rlvr_task_mix(0x6375727269630001ULL), (uint64_t)opt->order);
  h = rlvr_task_combine(h, (uint64_t)n);
  if (opt->order == RLVR_CURRICULUM_TARGET)
    h = rlvr_task_combine(rlvr_task_combine(h, double_bits(opt->target)), double_bits(opt->width));
  for (size_t i = 0; i < n; i++) h = rlvr_task_combine(h, double_bits(c->rate[i]) ^ (uint64_t)c->kept[i]);
  c->fingerprint = h;
  *out = c;
  return RLVR_OK;
}

int rlvr_curriculum_load(const rlvr_curriculum_options *opt, const char *path, const char *const *ids, size_t n,
                         rlvr_curriculum **out) {
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rlvr_error_wrap(rc, "task.curriculum");
  rc = rlvr_curriculum_build(opt, path, text, len, ids, n, out);
  free(text);
  return rc;
}

/* ---- queries ----------------------------------------------------------- */

const rlvr_curriculum_options *rlvr_curriculum_options_of(const rlvr_curriculum *c) { return &c->opt; }
void rlvr_curriculum_get_stats(const rlvr_curriculum *c, rlvr_curriculum_stats *out) { *out = c->stats; }
size_t rlvr_curriculum_epoch_size(const rlvr_curriculum *c) { return c->stats.kept; }
uint64_t rlvr_curriculum_fingerprint(const rlvr_curriculum *c) { return c->fingerprint; }

double rlvr_curriculum_pass_rate(const rlvr_curriculum *c, size_t i) {
  RLVR_CHECK(i < c->n);
  return c->rate[i];
}

int rlvr_curriculum_kept(const rlvr_curriculum *c, size_t i) {
  RLVR_CHECK(i < c->n);
  return c->kept[i];
}

double rlvr_curriculum_probability(const rlvr_curriculum *c, size_t i) {
  RLVR_CHECK(i < c->n);
  if (!c->kept[i]) return 0;
  if (c->opt.order != RLVR_CURRICULUM_TARGET) return 1.0 / (double)c->stats.kept;
  return (c->cum[i] - (i ? c->cum[i - 1] : 0)) / c->cum[c->n - 1];
}

/* ---- an epoch ---------------------------------------------------------- */

typedef struct {
  double rate;
  uint32_t pos; /* position in the epoch's shuffle */
  uint32_t index;
} ranked;

static int cmp_easy(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->rate != y->rate) return x->rate > y->rate ? -1 : 1;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_hard(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->rate != y->rate) return x->rate < y->rate ? -1 : 1;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The kept record of the draw u in [0, total): the first whose cumulative
 * weight is above u (a record of weight 0 never is). */
static uint32_t draw(const rlvr_curriculum *c, double u) {
  size_t lo = 0, hi = c->n; /* answer in [lo, hi) */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  if (lo < c->n) return (uint32_t)lo;
  /* u rounded up to the total: the last record of positive weight. */
  for (size_t i = c->n; i-- > 0;)
    if (c->cum[i] > (i ? c->cum[i - 1] : 0)) return (uint32_t)i;
  return c->kept_index[c->stats.kept - 1];
}

void rlvr_curriculum_epoch_order(const rlvr_curriculum *c, const uint32_t *perm, uint64_t draw_seed, uint32_t *out) {
  const size_t K = c->stats.kept;
  if (c->opt.order == RLVR_CURRICULUM_TARGET) {
    rlvr_rng rng;
    rlvr_rng_seed(&rng, draw_seed);
    const double total = c->cum[c->n - 1];
    for (size_t k = 0; k < K; k++) out[k] = draw(c, rlvr_rng_double(&rng) * total);
    return;
  }
  if (c->opt.order == RLVR_CURRICULUM_SHUFFLE) {
    size_t k = 0;
    for (size_t j = 0; j < c->n; j++)
      if (c->kept[perm[j]]) out[k++] = perm[j];
    RLVR_CHECK(k == K);
    return;
  }
  ranked *r = xmalloc(K * sizeof *r);
  size_t k = 0;
  for (size_t j = 0; j < c->n; j++)
    if (c->kept[perm[j]]) r[k++] = (ranked){c->rate[perm[j]], (uint32_t)j, perm[j]};
  RLVR_CHECK(k == K);
  qsort(r, K, sizeof *r, c->opt.order == RLVR_CURRICULUM_EASY_FIRST ? cmp_easy : cmp_hard);
  for (k = 0; k < K; k++) out[k] = r[k].index;
  free(r);
}
