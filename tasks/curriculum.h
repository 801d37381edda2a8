/* curriculum.h — a training order from pass rates (docs/select.md,
 * "Curriculum"): the file `rlvr select --pass-rates` writes (one JSON line
 * per prompt: id, correct, samples, pass_rate) decides in which order, or
 * how often, the learner's cursor (task.h) hands out a dataset's training
 * records.
 *
 * Orders (task.curriculum_order):
 *   easy_first  every epoch visits the kept records once, highest pass rate
 *               first; records with equal rates keep the order of the
 *               epoch's seeded shuffle (the order the cursor would use
 *               without a curriculum), so ties are shuffled by (seed, epoch);
 *   hard_first  the same, lowest pass rate first;
 *   target      every epoch is K draws with replacement (K = the kept
 *               records), record i drawn with probability proportional to
 *               w_i = exp(-(p_i - target)^2 / (2 width^2)): the records whose
 *               groups vary most (near 0.5 for GRPO) come most often;
 *   shuffle     the seeded shuffle itself (only the drops below apply).
 * Records: a training record whose id has a line gets that line's rate
 * (correct / samples, or pass_rate when the counts are absent); one without
 * gets options.missing, or is an error with options.require_all. Records
 * with rate 0 (drop_unsolved) or 1 (drop_solved) are left out of every
 * epoch, whether the rate came from the file or the default.
 *
 * Everything here is a pure function of the options, the file, the ids and
 * the seed, so a cursor restored from a checkpoint continues exactly. */
#ifndef RLVR_CURRICULUM_H
#define RLVR_CURRICULUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef enum {
  RLVR_CURRICULUM_EASY_FIRST = 0,
  RLVR_CURRICULUM_HARD_FIRST = 1,
  RLVR_CURRICULUM_TARGET = 2,
  RLVR_CURRICULUM_SHUFFLE = 3,
} rlvr_curriculum_order;

/* "easy_first", "hard_first", "target", "shuffle". */
const char *rlvr_curriculum_order_name(rlvr_curriculum_order o);

typedef struct {
  rlvr_curriculum_order order;
  double target;     /* target: the pass rate of the largest weight, in [0, 1] */
  double width;      /* target: the weight's standard deviation, in (0, 10] */
  double missing;    /* the rate of a record the file lacks, in [0, 1] */
  int require_all;   /* 1: a record the file lacks is an error */
  int drop_solved;   /* 1: records of rate 1 are left out */
  int drop_unsolved; /* 1: records of rate 0 are left out */
} rlvr_curriculum_options;

/* The task.curriculum_* keys. RLVR_ERR_CONFIG naming the key; *out
 * untouched on error. */
int rlvr_curriculum_options_from_config(const rlvr_config *cfg, rlvr_curriculum_options *out);

typedef struct {
  size_t records;          /* training records */
  size_t rated;            /* of them, with a line in the file */
  size_t defaulted;        /* without one: rate options.missing */
  size_t dropped_solved;   /* left out: rate 1 and drop_solved */
  size_t dropped_unsolved; /* left out: rate 0 and drop_unsolved */
  size_t kept;             /* K: records in the epoch's order (or drawn from) */
  size_t lines;            /* rate lines in the file */
  size_t unmatched;        /* of them, naming no training record (held out, filtered, another pool) */
} rlvr_curriculum_stats;

typedef struct rlvr_curriculum rlvr_curriculum;

/* Reads the rates in text (len bytes of the file path, which names it in
 * messages) for the n training records whose ids are ids[0..n) (the
 * records' stored order; the ids are not kept). Each non-blank line is a
 * JSON object with a string (or integer) "id" and either integer "correct"
 * and "samples" (0 <= correct <= samples, 1 <= samples <= 1e6) or a number
 * "pass_rate" in [0, 1]; with both, pass_rate must equal correct / samples
 * (to 1e-6) and the counts are used. Other fields (line, cluster) are
 * ignored. Errors (RLVR_ERR_FORMAT naming the file, the line and the field;
 * *out untouched): malformed JSON, a line that is not an object, a bad or
 * missing field, an id on two lines (naming both), no line at all, no line
 * naming a training record (the file is for other data), a record without
 * a line under require_all (naming the id), every record left out.
 * RLVR_ERR_CONFIG: bad options. */
int rlvr_curriculum_build(const rlvr_curriculum_options *opt, const char *path, const char *text, size_t len,
                          const char *const *ids, size_t n, rlvr_curriculum **out);
/* The same, reading the file. RLVR_ERR_IO naming it. */
int rlvr_curriculum_load(const rlvr_curriculum_options *opt, const char *path, const char *const *ids, size_t n,
                         rlvr_curriculum **out);
void rlvr_curriculum_free(rlvr_curriculum *c); /* accepts NULL */

const rlvr_curriculum_options *rlvr_curriculum_options_of(const rlvr_curriculum *c);
void rlvr_curriculum_get_stats(const rlvr_curriculum *c, rlvr_curriculum_stats *out);
/* K, the length of every epoch. >= 1. */
size_t rlvr_curriculum_epoch_size(const rlvr_curriculum *c);
/* Record i's rate (the file's or options.missing), i < n. */
double rlvr_curriculum_pass_rate(const rlvr_curriculum *c, size_t i);
/* 1 when record i is in the epochs, 0 when it is left out. */
int rlvr_curriculum_kept(const rlvr_curriculum *c, size_t i);
/* Record i's probability per draw under target (w_i / sum of w), 0 for a
 * record left out; under the other orders 1/K for a kept record. */
double rlvr_curriculum_probability(const rlvr_curriculum *c, size_t i);
/* A hash of the options and every record's rate and kept flag: what
 * decides the order (lines for other ids do not count). */
uint64_t rlvr_curriculum_fingerprint(const rlvr_curriculum *c);

/* One epoch's order: out[0..K) gets training record indices. perm is the
 * epoch's seeded shuffle of 0..n-1 (the order without a curriculum): the
 * ordered kinds keep its order among equal rates and shuffle follows it.
 * target draws from a generator seeded by draw_seed (perm unused). */
void rlvr_curriculum_epoch_order(const rlvr_curriculum *c, const uint32_t *perm, uint64_t draw_seed, uint32_t *out);

#endif
