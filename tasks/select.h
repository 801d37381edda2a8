/* select.h — s1K-style data selection (`rlvr select`, docs/select.md): from
 * a pool of task items (every record of a JSONL dataset, or the first
 * select.pool items of a generator's split), keep N prompts that are
 * well-formed, distinct, short enough, neither always nor never solved by the
 * current model, and spread over clusters (domains, tags, sources) by
 * round-robin.
 *
 * The stages, in order; each record that a stage drops gets one reason and
 * stays in the pool (so the summary can count it):
 *   1. rlvr_select_pool_build: malformed records (missing or empty prompt or
 *      answer, any other field the dataset mapping rejects), then duplicate
 *      prompts (the first occurrence stays), then each survivor's cluster.
 *   2. the caller: prompts over the token limit (RLVR_SELECT_PROMPT_TOO_LONG,
 *      it has the tokenizer), then k samples of each survivor
 *      (rlvr_select_record.correct / .samples).
 *   3. rlvr_select_apply_pass_rates: never solved, always solved, outside
 *      [min_pass, max_pass].
 *   4. rlvr_select_round_robin: the N kept, in rounds over the clusters; the
 *      rest RLVR_SELECT_SURPLUS.
 * Stages 3 and 4 are pure functions of the records, so they can be tested on
 * hand-made pass rates.
 *
 * Determinism: the pool's order is the file's order (or the generator's
 * index order); ties in round-robin are broken by a hash of (seed, item id),
 * so the selection does not depend on anything but the inputs and the seed. */
#ifndef RLVR_SELECT_H
#define RLVR_SELECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "tasks/task.h"

/* Why a record is not kept. RLVR_SELECT_KEPT = still in (or finally kept). */
typedef enum {
  RLVR_SELECT_KEPT = 0,
  RLVR_SELECT_MISSING_PROMPT,   /* no field of task.prompt_field (or null) */
  RLVR_SELECT_EMPTY_PROMPT,     /* the prompt is empty or whitespace */
  RLVR_SELECT_MISSING_ANSWER,   /* no field of task.answer_field (or null) */
  RLVR_SELECT_EMPTY_ANSWER,     /* the answer (after extraction) is empty or whitespace */
  RLVR_SELECT_BAD_RECORD,       /* anything else the dataset mapping rejects (detail says what) */
  RLVR_SELECT_DUPLICATE_PROMPT, /* same normalised prompt as an earlier record */
  RLVR_SELECT_PROMPT_TOO_LONG,  /* rendered prompt over select.max_prompt_tokens or the model's room */
  RLVR_SELECT_NEVER_SOLVED,     /* pass rate 0 (unless select.keep_unsolved) */
  RLVR_SELECT_ALWAYS_SOLVED,    /* pass rate 1 (unless select.keep_solved) */
  RLVR_SELECT_TOO_HARD,         /* pass rate < select.min_pass */
  RLVR_SELECT_TOO_EASY,         /* pass rate > select.max_pass */
  RLVR_SELECT_SURPLUS,          /* eligible, but N were picked before it */
  RLVR_SELECT_NREASONS
} rlvr_select_reason;

/* "kept", "missing_prompt", ... (the summary's keys). */
const char *rlvr_select_reason_name(rlvr_select_reason r);

typedef struct {
  rlvr_task_item item; /* zeroed when the record is malformed */
  char *record;        /* dataset: the line's JSON object text; generator: NULL */
  size_t line;         /* dataset: 1-based line; generator: 0 */
  uint64_t index;      /* position in the pool (generator: the item index) */
  char *cluster;       /* set for records that pass stage 1 */
  int prompt_tokens;   /* rendered prompt length, set by the caller (0 = not measured) */
  int correct;         /* correct samples of `samples` (stage 2) */
  int samples;         /* 0 = not scored */
  rlvr_select_reason reason;
  char *detail;        /* malloc'd message for a dropped record, or NULL */
  int rank;            /* kept: position in the output, 0-based; else -1 */
  int round;           /* kept: the round-robin round, 0-based; else -1 */
} rlvr_select_record;

typedef struct {
  rlvr_select_record *recs;
  size_t n;
  char *name;        /* the dataset's path or the generator's name */
  int is_generator;
  char *cluster_by;  /* "field:<select.cluster_field>" or "text" (answer kind and length tertile) */
} rlvr_select_pool;

/* Builds the pool named by cfg's task.* and select.* keys (task.source: a
 * JSONL file or a generator; tasks_dir: the built-in tasks/) and applies
 * stage 1. Errors (RLVR_ERR_*; *out zeroed and nothing allocated):
 *   - the file cannot be read (naming it);
 *   - a line that is not JSON or not an object (naming file, line, column);
 *   - a record that passes stage 1 without a usable select.cluster_field
 *     (naming file, line and the field);
 *   - with select.strict, any malformed record (naming file, line, field);
 *   - bad select.* values (naming the key);
 *   - a generator's errors, or select.pool = 0 for a generator's training split. */
int rlvr_select_pool_build(const rlvr_config *cfg, const char *tasks_dir, rlvr_select_pool *out);
/* The same for a dataset given as text (name stands for the file). */
int rlvr_select_pool_build_text(const rlvr_config *cfg, const char *name, const char *text, size_t len,
                                rlvr_select_pool *out);
void rlvr_select_pool_free(rlvr_select_pool *p); /* accepts a zeroed pool */

/* The prompt as compared for duplicates: ASCII letters lowered, runs of
 * whitespace made one space, trimmed. malloc'd. */
char *rlvr_select_normalize_prompt(const char *prompt);

/* The kind of a final answer, the first half of the text-feature cluster:
 * "structured" (JSON reference), "integer", "decimal", "fraction" (a/b or
 * \frac), "expression" (has a letter, backslash or operator), "text" (has a
 * space between words and no digits) or "other". Static string. */
const char *rlvr_select_answer_kind(const char *answer, int reference_json);

typedef struct {
  double min_pass, max_pass; /* kept when min_pass <= p <= max_pass */
  int keep_unsolved;         /* 1: p = 0 is not dropped for that alone */
  int keep_solved;           /* 1: p = 1 is not dropped for that alone */
} rlvr_select_thresholds;

/* Stage 3 on the records still kept that were scored (samples > 0): sets
 * their reason. Records still kept with samples = 0 are left as they are.
 * Returns the number still kept. */
size_t rlvr_select_apply_pass_rates(rlvr_select_record *recs, size_t n, const rlvr_select_thresholds *t);

/* Stage 4 on the records still kept: sorts each cluster by |p - target|
 * (p = correct / samples; unscored records count as p = target), ties by
 * a hash of (seed, item id), then takes one from each cluster in turn
 * (clusters in byte order of their names) until n_keep are taken; sets rank
 * and round on those, RLVR_SELECT_SURPLUS on the rest. Returns the number
 * taken (fewer than n_keep when fewer are eligible). *order (may be NULL)
 * gets a malloc'd array of the taken records' indices in rank order. */
size_t rlvr_select_round_robin(rlvr_select_record *recs, size_t n, size_t n_keep, double target, uint64_t seed,
                               size_t **order);

/* Writes the kept records in rank order, one JSON object per line: the
 * dataset's record (or, for a generator, id, prompt, answer, verifier, meta
 * and its fields, solution) with a "select" object added: rank, round,
 * cluster, pass_rate, correct, samples and a one-line reason. RLVR_ERR_IO. */
int rlvr_select_write_kept(const rlvr_select_pool *p, const size_t *order, size_t nkept, FILE *f);

/* Writes one JSON line per record that is not kept: id, line (datasets),
 * reason, detail, and pass_rate/correct/samples where scored. RLVR_ERR_IO. */
int rlvr_select_write_dropped(const rlvr_select_pool *p, FILE *f);

/* Every scored record's pass rate as JSONL: id, line, cluster, correct,
 * samples, pass_rate (the file a curriculum or a later run can read). */
int rlvr_select_write_pass_rates(const rlvr_select_pool *p, FILE *f);

/* Stage 2 from a file instead of sampling: reads a file written by
 * rlvr_select_write_pass_rates (or any JSONL with id, correct and samples)
 * and sets correct/samples of every record still kept. Errors (RLVR_ERR_IO,
 * RLVR_ERR_FORMAT naming the file and line, or the id): a bad line, an id
 * twice, counts that are not 0 <= correct <= samples, a kept record whose id
 * the file lacks. Lines for ids not in the pool (or dropped) are ignored.
 * On error the records' counts are unchanged. */
int rlvr_select_read_pass_rates(const char *path, rlvr_select_pool *p);

/* Counts per reason, per cluster (eligible after stage 1, kept) and a
 * histogram of correct counts: the summary's core as a malloc'd JSON object
 * text; extra (a JSON object text or NULL) is merged in first. */
char *rlvr_select_summary_json(const rlvr_select_pool *p, size_t n_wanted, const char *extra);

#endif
