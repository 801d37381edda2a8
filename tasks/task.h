/* task.h — where prompts come from: task items, the sources that make them
 * (JSONL datasets and Lua task generators), their held-out splits, and the
 * seeded cursor with which the learner walks the training split.
 *
 * An item is a prompt (before any template, template.h), the verifier that
 * scores completions of it and what that verifier is given (a reference and
 * a meta object), a correct final answer written out as text, an id that
 * stays the same from run to run, and optionally a worked solution (for the
 * supervised warm start).
 *
 * Sources (task.source in the config):
 *  - a dataset: a path to a JSONL file (contains '/' or ends in ".jsonl",
 *    and does not end in ".lua");
 *    fields are mapped by the task.*_field keys, answers extracted by
 *    task.answer_extract (GSM8K's "#### n", MATH's \boxed{}); dataset.h.
 *  - a generator: a path to a .lua script, or a bare name, the script
 *    NAME.lua looked up in each directory of task.paths and then in the
 *    built-in tasks/generators/;
 *    item i of a split is a pure function of (seed, split, i); generator.h.
 *
 * Splits. Generators: the held-out split is the first task.heldout_size
 * distinct prompts of a separate stream seeded by task.split_seed; a
 * training item whose prompt is one of them is drawn again (from the next
 * attempt of the same index), so the two splits never share a prompt.
 * Datasets: the held-out split is task.heldout_path, or else a fraction
 * task.heldout_fraction of the records chosen by task.split_seed; training
 * records whose prompt is also a held-out prompt are dropped (counted in
 * rlvr_task_source_dropped). task.split_seed does not follow run.seed, so
 * runs with different seeds are scored on the same held-out problems.
 *
 * The cursor is the learner's data order: three integers that a checkpoint
 * stores and restores to continue with exactly the same sequence. For a
 * dataset, each epoch visits every training record once, in a permutation
 * seeded by (cursor seed, epoch); for a generator, the cursor's position is
 * the item index (the epoch stays 0) and the cursor seed is the stream's.
 * With task.curriculum (datasets only; curriculum.h) an epoch is instead the
 * curriculum's order of that permutation: easy or hard first, weighted
 * draws, and records left out by pass rate; still a pure function of
 * (cursor seed, epoch), so a restored cursor continues exactly.
 *
 * A source is not thread-safe (it caches the current epoch's permutation);
 * use one per thread. */
#ifndef RLVR_TASK_H
#define RLVR_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef struct {
  char *id;             /* stable: "<name>:<split>:<seed>:<index>", or a dataset's id field, or "<file>:<line>" */
  char *prompt;         /* the question, before templating */
  char *answer;         /* a correct final answer as the model should write it */
  char *reference;      /* what the verifier gets as its reference */
  int reference_json;   /* 1: reference is JSON text (an object or array); 0: a plain string */
  char *verifier;       /* verifier name (verifiers/registry.h) */
  char *meta;           /* JSON object text, "{}" when there is none */
  char *solution;       /* worked steps, or NULL */
} rlvr_task_item;

/* Frees every field and zeroes the item; accepts a zeroed item. */
void rlvr_task_item_clear(rlvr_task_item *it);

typedef enum { RLVR_TASK_SPLIT_TRAIN = 0, RLVR_TASK_SPLIT_HELDOUT = 1 } rlvr_task_split;

/* "train" or "heldout". */
const char *rlvr_task_split_name(rlvr_task_split split);

typedef struct rlvr_task_source rlvr_task_source;

/* Opens the source named by cfg's task.* keys; tasks_dir is the built-in
 * tasks/ directory (holding generators/ and templates/). A generator's
 * held-out split is generated here. The cursor seed is task.seed, or
 * run.seed when that is 0 (rlvr_task_source_seed).
 * Errors: RLVR_ERR_CONFIG for bad task.* values (naming the key),
 * RLVR_ERR_IO / RLVR_ERR_FORMAT for a dataset file (naming file and line),
 * RLVR_ERR_SCRIPT for a generator (naming the script and the item);
 * *out untouched on error. */
int rlvr_task_source_build(const rlvr_config *cfg, const char *tasks_dir, rlvr_task_source **out);
void rlvr_task_source_free(rlvr_task_source *s); /* accepts NULL */

/* The generator's name or the dataset's file name. */
const char *rlvr_task_source_name(const rlvr_task_source *s);
/* 1 for a generator (its training split has no end), 0 for a dataset. */
int rlvr_task_source_is_generator(const rlvr_task_source *s);
/* Items in the split; for a generator's training split, INT64_MAX. */
int64_t rlvr_task_source_size(const rlvr_task_source *s, rlvr_task_split split);
/* Dataset training records dropped because a held-out record has the same prompt. */
int64_t rlvr_task_source_dropped(const rlvr_task_source *s);
/* The cursor seed the config asks for (task.seed, or run.seed if 0). */
uint64_t rlvr_task_source_seed(const rlvr_task_source *s);
/* A hash of everything that decides the items (file contents and field
 * mapping, or script text, version and difficulty, and the seeds): a
 * checkpoint can store it and refuse to resume a cursor on other data. */
uint64_t rlvr_task_source_fingerprint(const rlvr_task_source *s);

typedef struct rlvr_curriculum rlvr_curriculum;
/* The curriculum that task.curriculum names (tasks/curriculum.h: its
 * stats, rates), owned by the source; NULL without one. */
const rlvr_curriculum *rlvr_task_source_curriculum(const rlvr_task_source *s);

/* Item i of split, in the split's stored order (a dataset's file order; a
 * generator's index), i < size. *out is overwritten (not freed first) on
 * success and untouched on error. Errors as for build; RLVR_ERR_RANGE for
 * i out of range. For a generator's training split the result is the same
 * whether or not other items were made before, and in any order. */
int rlvr_task_source_get(rlvr_task_source *s, rlvr_task_split split, uint64_t i, rlvr_task_item *out);

/* The learner's position in the training split. */
typedef struct {
  uint64_t seed;     /* the order's seed */
  uint64_t epoch;    /* completed passes over a dataset; always 0 for a generator */
  uint64_t position; /* items taken in this epoch */
} rlvr_task_cursor;

void rlvr_task_cursor_init(rlvr_task_cursor *c, uint64_t seed);

/* The training item at the cursor; then advances it (to the next epoch at
 * the end of a dataset, or after the curriculum's K items). On error neither *out nor *c changes; a dataset
 * with no training records is RLVR_ERR_RANGE. */
int rlvr_task_cursor_next(rlvr_task_source *s, rlvr_task_cursor *c, rlvr_task_item *out);

/* The training index (into rlvr_task_source_get's order) that the cursor
 * would take next, without taking it. */
int rlvr_task_cursor_peek_index(rlvr_task_source *s, const rlvr_task_cursor *c, uint64_t *index);

#endif
