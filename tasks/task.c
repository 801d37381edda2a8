/* task.c — see task.h: building a source from the config, its splits, and
 * the cursor. */
#include "tasks/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "tasks/curriculum.h"
#include "tasks/dataset.h"
#include "tasks/generator.h"
#include "tasks/taskutil.h"

/* Tags that separate the random streams derived from one seed. */
enum {
  TAG_TRAIN = 0x7472, /* generator training items */
  TAG_HELDOUT = 0x686f, /* generator held-out items */
  TAG_SPLIT = 0x7370, /* which dataset records are held out */
  TAG_ORDER = 0x6f72, /* a dataset epoch's permutation */
  TAG_CURRICULUM = 0x6375, /* a curriculum epoch's weighted draws (task.curriculum_order = target) */
};

/* Draws per item index before giving up: a training draw that lands on a
 * held-out prompt, or a held-out draw that repeats an earlier one, is drawn
 * again from the next attempt's seed. */
enum { MAX_ATTEMPTS = 200 };

typedef struct {
  uint32_t file; /* 0: the main file, 1: task.heldout_path */
  uint32_t rec;
} rec_ref;

struct rlvr_task_source {
  int is_gen;
  char *name;
  uint64_t seed, split_seed, fingerprint;
  /* Generator. */
  rlvr_generator *gen;
  rlvr_task_item *held_items; /* (n_held) made at build time */
  /* Dataset. */
  rlvr_dataset *files[2];
  rec_ref *train_refs, *held_refs;
  size_t n_train;
  int64_t dropped;
  /* Both. */
  size_t n_held;
  rlvr_strset held_prompts;
  /* The permutation of the dataset epoch last asked for. */
  uint32_t *perm;
  uint64_t perm_seed, perm_epoch;
  int perm_valid;
  /* task.curriculum (datasets only): the order of an epoch is cur_order
   * (rlvr_curriculum_epoch_size long), cached like perm. */
  rlvr_curriculum *cur;
  uint32_t *cur_order;
  uint64_t cur_seed, cur_epoch;
  int cur_valid;
};

void rlvr_task_item_clear(rlvr_task_item *it) {
  if (!it) return;
  free(it->id);
  free(it->prompt);
  free(it->answer);
  free(it->reference);
  free(it->verifier);
  free(it->meta);
  free(it->solution);
  memset(it, 0, sizeof *it);
}

const char *rlvr_task_split_name(rlvr_task_split split) {
  return split == RLVR_TASK_SPLIT_HELDOUT ? "heldout" : "train";
}

void rlvr_task_source_free(rlvr_task_source *s) {
  if (!s) return;
  free(s->name);
  rlvr_generator_free(s->gen);
  for (size_t i = 0; s->held_items && i < s->n_held; i++) rlvr_task_item_clear(&s->held_items[i]);
  free(s->held_items);
  rlvr_dataset_free(s->files[0]);
  rlvr_dataset_free(s->files[1]);
  free(s->train_refs);
  free(s->held_refs);
  rlvr_strset_free(&s->held_prompts);
  free(s->perm);
  rlvr_curriculum_free(s->cur);
  free(s->cur_order);
  free(s);
}

const char *rlvr_task_source_name(const rlvr_task_source *s) { return s->name; }
int rlvr_task_source_is_generator(const rlvr_task_source *s) { return s->is_gen; }
int64_t rlvr_task_source_dropped(const rlvr_task_source *s) { return s->dropped; }
uint64_t rlvr_task_source_seed(const rlvr_task_source *s) { return s->seed; }
uint64_t rlvr_task_source_fingerprint(const rlvr_task_source *s) { return s->fingerprint; }
const rlvr_curriculum *rlvr_task_source_curriculum(const rlvr_task_source *s) { return s->cur; }

int64_t rlvr_task_source_size(const rlvr_task_source *s, rlvr_task_split split) {
  if (split == RLVR_TASK_SPLIT_HELDOUT) return (int64_t)s->n_held;
  return s->is_gen ? INT64_MAX : (int64_t)s->n_train;
}

/* ---- generators --------------------------------------------------------- */

static uint64_t item_seed(uint64_t seed, uint64_t tag, uint64_t index, uint64_t attempt) {
  return rlvr_task_combine(rlvr_task_combine(rlvr_task_combine(rlvr_task_mix(seed), tag), index), attempt);
}

static void set_id(rlvr_task_item *it, const char *name, rlvr_task_split split, uint64_t seed, uint64_t index) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s:%s:%llu:%llu", name, rlvr_task_split_name(split), (unsigned long long)seed,
           (unsigned long long)index);
  free(it->id);
  it->id = xstrdup(buf);
}

/* Training item `index` of the stream seeded by seed. */
static int gen_train_item(rlvr_task_source *s, uint64_t seed, uint64_t index, rlvr_task_item *out) {
  char what[96];
  snprintf(what, sizeof what, "item train:%llu", (unsigned long long)index);
  for (uint64_t a = 0; a < MAX_ATTEMPTS; a++) {
    rlvr_task_item it;
    int rc = rlvr_generator_make(s->gen, item_seed(seed, TAG_TRAIN, index, a), what, &it);
    if (rc) return rc;
    if (!rlvr_strset_has(&s->held_prompts, it.prompt)) {
      set_id(&it, s->name, RLVR_TASK_SPLIT_TRAIN, seed, index);
      *out = it;
      return RLVR_OK;
    }
    rlvr_task_item_clear(&it);
  }
  return rlvr_error(RLVR_ERR_CONFIG,
                    "task generator %s: %d draws of %s all gave held-out prompts; the problem space is too small "
                    "for task.heldout_size = %zu (raise the difficulty or lower it)",
                    s->name, MAX_ATTEMPTS, what, s->n_held);
}

/* The held-out split: heldout_size distinct prompts from their own stream. */
static int gen_build_heldout(rlvr_task_source *s, size_t size) {
  s->held_items = xcalloc(size ? size : 1, sizeof *s->held_items);
  for (size_t j = 0; j < size; j++) {
    char what[96];
    snprintf(what, sizeof what, "item heldout:%zu", j);
    int found = 0;
    for (uint64_t a = 0; a < MAX_ATTEMPTS && !found; a++) {
      rlvr_task_item it;
      int rc = rlvr_generator_make(s->gen, item_seed(s->split_seed, TAG_HELDOUT, j, a), what, &it);
      if (rc) return rc;
      if (rlvr_strset_add(&s->held_prompts, it.prompt)) {
        set_id(&it, s->name, RLVR_TASK_SPLIT_HELDOUT, s->split_seed, j);
        s->held_items[s->n_held++] = it;
        found = 1;
      } else {
        rlvr_task_item_clear(&it);
      }
    }
    if (!found)
      return rlvr_error(RLVR_ERR_CONFIG,
                        "task generator %s: found only %zu distinct held-out prompts in %d draws each; lower "
                        "task.heldout_size (%zu) or raise the difficulty",
                        s->name, j, MAX_ATTEMPTS, size);
  }
  return RLVR_OK;
}

static int build_generator(rlvr_task_source *s, const rlvr_config *cfg, const char *tasks_dir) {
  char builtin[4096];
  snprintf(builtin, sizeof builtin, "%s/generators", tasks_dir ? tasks_dir : "tasks");
  char *path = NULL;
  int rc = rlvr_generator_find(cfg->task_paths, builtin, cfg->task_source, &path);
  if (rc) return rlvr_error_wrap(RLVR_ERR_CONFIG, "task.source");
  if (cfg->task_digits < 1 || cfg->task_digits > 18) {
    free(path);
    return rlvr_error(RLVR_ERR_CONFIG, "task.digits: %lld is not in [1, 18]", (long long)cfg->task_digits);
  }
  if (cfg->task_steps < 1 || cfg->task_steps > 64) {
    free(path);
    return rlvr_error(RLVR_ERR_CONFIG, "task.steps: %lld is not in [1, 64]", (long long)cfg->task_steps);
  }
  if (cfg->task_heldout_size < 0 || cfg->task_heldout_size > 10000000) {
    free(path);
    return rlvr_error(RLVR_ERR_CONFIG, "task.heldout_size: %lld is not in [0, 10000000]",
                      (long long)cfg->task_heldout_size);
  }
  size_t dn = strlen(cfg->task_options) + 64;
  char *difficulty = xmalloc(dn);
  snprintf(difficulty, dn, "digits=%lld,steps=%lld,%s", (long long)cfg->task_digits, (long long)cfg->task_steps,
           cfg->task_options);
  rc = rlvr_generator_load(path, difficulty, &s->gen);
  free(difficulty);
  free(path);
  if (rc) return rc;
  if (cfg->task_verifier[0]) rlvr_generator_set_verifier(s->gen, cfg->task_verifier);
  s->is_gen = 1;
  s->name = xstrdup(rlvr_generator_name(s->gen));
  rc = gen_build_heldout(s, (size_t)cfg->task_heldout_size);
  if (rc) return rc;
  uint64_t h = rlvr_task_combine(rlvr_generator_fingerprint(s->gen), 1);
  h = rlvr_task_hash_bytes(h, rlvr_generator_verifier(s->gen), strlen(rlvr_generator_verifier(s->gen)));
  h = rlvr_task_combine(rlvr_task_combine(h, s->split_seed), (uint64_t)s->n_held);
  s->fingerprint = h;
  return RLVR_OK;
}

/* ---- datasets ----------------------------------------------------------- */

static int ref_item(const rlvr_task_source *s, rec_ref r, rlvr_task_item *out) {
  return rlvr_dataset_item(s->files[r.file], r.rec, out);
}

static int build_dataset(rlvr_task_source *s, const rlvr_config *cfg) {
  const rlvr_dataset_mapping m = rlvr_dataset_mapping_of(cfg);
  double frac = cfg->task_heldout_fraction;
  if (!(frac >= 0 && frac < 1))
    return rlvr_error(RLVR_ERR_CONFIG, "task.heldout_fraction: %g is not in [0, 1)", frac);
  if (cfg->task_heldout_path[0] && frac > 0)
    return rlvr_error(RLVR_ERR_CONFIG, "task.heldout_fraction and task.heldout_path are both set; choose one");
  int rc = rlvr_dataset_load(cfg->task_source, &m, &s->files[0]);
  if (rc) return rc;
  if (cfg->task_heldout_path[0]) {
    rc = rlvr_dataset_load(cfg->task_heldout_path, &m, &s->files[1]);
    if (rc) return rc;
  }
  const char *slash = strrchr(cfg->task_source, '/');
  s->name = xstrdup(slash ? slash + 1 : cfg->task_source);
  size_t n = rlvr_dataset_size(s->files[0]);
  if (n > UINT32_MAX) return rlvr_error(RLVR_ERR_RANGE, "%s: more than 2^32 records", cfg->task_source);
  /* held[i] marks the main file's records that are held out. */
  unsigned char *held = xcalloc(n ? n : 1, 1);
  if (s->files[1]) {
    size_t nh = rlvr_dataset_size(s->files[1]);
    s->held_refs = xmalloc((nh ? nh : 1) * sizeof *s->held_refs);
    for (size_t i = 0; i < nh; i++) s->held_refs[s->n_held++] = (rec_ref){1, (uint32_t)i};
  } else if (frac > 0) {
    size_t k = (size_t)floor(frac * (double)n + 0.5);
    if (k == 0 && n > 0) k = 1;
    /* The first k of a seeded partial Fisher-Yates shuffle are held out. */
    uint32_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    rlvr_rng rng;
    rlvr_rng_seed(&rng, rlvr_task_combine(rlvr_task_mix(s->split_seed), TAG_SPLIT));
    for (size_t i = 0; i < k; i++) {
      size_t j = i + (size_t)rlvr_rng_below(&rng, n - i);
      uint32_t t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
      held[idx[i]] = 1;
    }
    free(idx);
    s->held_refs = xmalloc((k ? k : 1) * sizeof *s->held_refs);
    for (size_t i = 0; i < n; i++)
      if (held[i]) s->held_refs[s->n_held++] = (rec_ref){0, (uint32_t)i};
  }
  for (size_t i = 0; i < s->n_held && !rc; i++) {
    rlvr_task_item it;
    rc = ref_item(s, s->held_refs[i], &it);
    if (!rc) rlvr_strset_add(&s->held_prompts, it.prompt);
    rlvr_task_item_clear(&it);
  }
  s->train_refs = xmalloc((n ? n : 1) * sizeof *s->train_refs);
  for (size_t i = 0; i < n && !rc; i++) {
    if (held[i]) continue;
    rec_ref r = {0, (uint32_t)i};
    if (s->n_held) {
      rlvr_task_item it;
      rc = ref_item(s, r, &it);
      int dup = !rc && rlvr_strset_has(&s->held_prompts, it.prompt);
      rlvr_task_item_clear(&it);
      if (dup) {
        s->dropped++;
        continue;
      }
    }
    s->train_refs[s->n_train++] = r;
  }
  free(held);
  if (rc) return rc;
  uint64_t h = rlvr_task_combine(rlvr_dataset_fingerprint(s->files[0]), 2);
  if (s->files[1]) h = rlvr_task_combine(h, rlvr_dataset_fingerprint(s->files[1]));
  uint64_t fbits;
  memcpy(&fbits, &frac, sizeof fbits);
  s->fingerprint = rlvr_task_combine(rlvr_task_combine(h, fbits), s->split_seed);
  return RLVR_OK;
}

/* task.curriculum: each training record's pass rate from the file, by id;
 * the curriculum's fingerprint joins the source's, so a checkpoint refuses
 * to resume a cursor under another curriculum. */
static int build_curriculum(rlvr_task_source *s, const rlvr_config *cfg) {
  if (s->is_gen)
    return rlvr_error(RLVR_ERR_CONFIG,
                      "task.curriculum: orders the records of a JSONL dataset; task.source '%s' is a generator",
                      cfg->task_source);
  rlvr_curriculum_options opt;
  int rc = rlvr_curriculum_options_from_config(cfg, &opt);
  if (rc) return rc;
  char **ids = xcalloc(s->n_train ? s->n_train : 1, sizeof *ids);
  for (size_t i = 0; i < s->n_train && !rc; i++) {
    rlvr_task_item it;
    rc = ref_item(s, s->train_refs[i], &it);
    if (!rc) {
      ids[i] = it.id;
      it.id = NULL;
      rlvr_task_item_clear(&it);
    }
  }
  if (!rc) rc = rlvr_curriculum_load(&opt, cfg->task_curriculum, (const char *const *)ids, s->n_train, &s->cur);
  for (size_t i = 0; i < s->n_train; i++) free(ids[i]);
  free(ids);
  if (rc) return rc;
  s->fingerprint = rlvr_task_combine(s->fingerprint, rlvr_curriculum_fingerprint(s->cur));
  return RLVR_OK;
}

/* ---- the source --------------------------------------------------------- */

/* A path ending in .lua is a generator script; any other path (with a '/'
 * or ending in .jsonl) is a dataset; a bare name is a generator. */
static int is_dataset_path(const char *source) {
  size_t n = strlen(source);
  if (n >= 4 && strcmp(source + n - 4, ".lua") == 0) return 0;
  return strchr(source, '/') || (n >= 6 && strcmp(source + n - 6, ".jsonl") == 0);
}

int rlvr_task_source_build(const rlvr_config *cfg, const char *tasks_dir, rlvr_task_source **out) {
  if (!cfg->task_source[0]) return rlvr_error(RLVR_ERR_CONFIG, "task.source is empty: name a generator or a JSONL file");
  rlvr_task_source *s = xcalloc(1, sizeof *s);
  s->seed = (uint64_t)(cfg->task_seed ? cfg->task_seed : cfg->run_seed);
  s->split_seed = (uint64_t)cfg->task_split_seed;
  int rc = is_dataset_path(cfg->task_source) ? build_dataset(s, cfg) : build_generator(s, cfg, tasks_dir);
  if (!rc && cfg->task_curriculum[0]) rc = build_curriculum(s, cfg);
  if (rc) {
    rlvr_task_source_free(s);
    return rc;
  }
  *out = s;
  return RLVR_OK;
}

int rlvr_task_source_get(rlvr_task_source *s, rlvr_task_split split, uint64_t i, rlvr_task_item *out) {
  if (split == RLVR_TASK_SPLIT_HELDOUT) {
    if (i >= s->n_held)
      return rlvr_error(RLVR_ERR_RANGE, "task %s: held-out item %llu of %zu", s->name, (unsigned long long)i, s->n_held);
    if (!s->is_gen) return ref_item(s, s->held_refs[i], out);
    const rlvr_task_item *h = &s->held_items[i];
    rlvr_task_item it = {
        .id = xstrdup(h->id),
        .prompt = xstrdup(h->prompt),
        .answer = xstrdup(h->answer),
        .reference = xstrdup(h->reference),
        .reference_json = h->reference_json,
        .verifier = xstrdup(h->verifier),
        .meta = xstrdup(h->meta),
        .solution = h->solution ? xstrdup(h->solution) : NULL,
    };
    *out = it;
    return RLVR_OK;
  }
  if (s->is_gen) return gen_train_item(s, s->seed, i, out);
  if (i >= s->n_train)
    return rlvr_error(RLVR_ERR_RANGE, "task %s: training item %llu of %zu", s->name, (unsigned long long)i, s->n_train);
  return ref_item(s, s->train_refs[i], out);
}

/* ---- the cursor --------------------------------------------------------- */

void rlvr_task_cursor_init(rlvr_task_cursor *c, uint64_t seed) {
  c->seed = seed;
  c->epoch = 0;
  c->position = 0;
}

/* The permutation of training records for (seed, epoch), cached. */
static const uint32_t *epoch_perm(rlvr_task_source *s, uint64_t seed, uint64_t epoch) {
  if (s->perm_valid && s->perm_seed == seed && s->perm_epoch == epoch) return s->perm;
  if (!s->perm) s->perm = xmalloc((s->n_train ? s->n_train : 1) * sizeof *s->perm);
  for (size_t i = 0; i < s->n_train; i++) s->perm[i] = (uint32_t)i;
  rlvr_rng rng;
  rlvr_rng_seed(&rng, rlvr_task_combine(rlvr_task_combine(rlvr_task_mix(seed), TAG_ORDER), epoch));
  for (size_t i = s->n_train; i > 1; i--) { /* Fisher-Yates */
    size_t j = (size_t)rlvr_rng_below(&rng, i);
    uint32_t t = s->perm[i - 1];
    s->perm[i - 1] = s->perm[j];
    s->perm[j] = t;
  }
  s->perm_seed = seed, s->perm_epoch = epoch, s->perm_valid = 1;
  return s->perm;
}

/* Items in a dataset epoch: every training record, or the curriculum's K. */
static size_t epoch_length(const rlvr_task_source *s) {
  return s->cur ? rlvr_curriculum_epoch_size(s->cur) : s->n_train;
}

/* The curriculum's order of (seed, epoch), cached. */
static const uint32_t *curriculum_order(rlvr_task_source *s, uint64_t seed, uint64_t epoch) {
  if (s->cur_valid && s->cur_seed == seed && s->cur_epoch == epoch) return s->cur_order;
  if (!s->cur_order) s->cur_order = xmalloc(rlvr_curriculum_epoch_size(s->cur) * sizeof *s->cur_order);
  uint64_t draw_seed = rlvr_task_combine(rlvr_task_combine(rlvr_task_mix(seed), TAG_CURRICULUM), epoch);
  rlvr_curriculum_epoch_order(s->cur, epoch_perm(s, seed, epoch), draw_seed, s->cur_order);
  s->cur_seed = seed, s->cur_epoch = epoch, s->cur_valid = 1;
  return s->cur_order;
}

int rlvr_task_cursor_peek_index(rlvr_task_source *s, const rlvr_task_cursor *c, uint64_t *index) {
  if (s->is_gen) {
    *index = c->position;
    return RLVR_OK;
  }
  if (s->n_train == 0) return rlvr_error(RLVR_ERR_RANGE, "task %s: no training records", s->name);
  if (c->position >= epoch_length(s))
    return rlvr_error(RLVR_ERR_RANGE,
                      "task %s: cursor position %llu is past the %zu training records%s (was the dataset changed?)",
                      s->name, (unsigned long long)c->position, epoch_length(s),
                      s->cur ? " the curriculum keeps" : "");
  *index = s->cur ? curriculum_order(s, c->seed, c->epoch)[c->position] : epoch_perm(s, c->seed, c->epoch)[c->position];
  return RLVR_OK;
}

int rlvr_task_cursor_next(rlvr_task_source *s, rlvr_task_cursor *c, rlvr_task_item *out) {
  uint64_t index;
  int rc = rlvr_task_cursor_peek_index(s, c, &index);
  if (rc) return rc;
  rlvr_task_item it;
  rc = s->is_gen ? gen_train_item(s, c->seed, index, &it) : ref_item(s, s->train_refs[index], &it);
  if (rc) return rc;
  *out = it;
  c->position++;
  if (!s->is_gen && c->position == epoch_length(s)) {
    c->epoch++;
    c->position = 0;
  }
  return RLVR_OK;
}
