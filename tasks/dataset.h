/* dataset.h — JSONL task datasets with a configured field mapping.
 *
 * One JSON object per line; blank lines are skipped. Each record becomes an
 * item (task.h) through the mapping:
 *   prompt    the first present field of prompt_field ("question,problem")
 *   answer    the first present field of answer_field ("answer,solution"):
 *             a string, a number (written as text), or an object or array
 *             (a structured reference, passed to the verifier as JSON)
 *   extract   what to take from a string answer:
 *               gsm8k  the text after the last "####" (commas between digit
 *                      groups removed: "1,000" -> "1000"); the text before
 *                      it, without the "<<48/2=24>>" calculator notes, is
 *                      the worked solution
 *               boxed  the contents of the last \boxed{...} (braces
 *                      balanced); the whole text is the worked solution
 *               none   the whole string, trimmed
 *               auto   gsm8k if there is a "####", else boxed if there is a
 *                      \boxed{, else none
 *   solution  solution_field, if set and present (overrides the above)
 *   verifier  verifier_field's value when a record has it, else verifier
 *   id        id_field's value (string or integer) when present, else
 *             "<file name>:<line>"; ids must be unique within a file
 *   meta      an object of the meta_fields ("level,type") a record has
 * Every record is parsed and mapped when the file is loaded, so a bad line
 * is found at start-up; the records themselves are parsed again on demand
 * (the dataset keeps the file text and line offsets, not the items). */
#ifndef RLVR_DATASET_H
#define RLVR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tasks/task.h"

typedef struct {
  const char *prompt_field;   /* ','-separated candidates, first present wins */
  const char *answer_field;   /* same */
  const char *solution_field; /* "" = none */
  const char *answer_extract; /* auto, gsm8k, boxed, none */
  const char *verifier;       /* default verifier name */
  const char *verifier_field; /* "" = none */
  const char *id_field;       /* "" = none */
  const char *meta_fields;    /* ','-separated, "" = none */
} rlvr_dataset_mapping;

/* The mapping the task.* keys of cfg describe (task.verifier "" means
 * "math"); its strings point into cfg. */
rlvr_dataset_mapping rlvr_dataset_mapping_of(const rlvr_config *cfg);

typedef struct rlvr_dataset rlvr_dataset;

/* Reads and checks every record of path. Errors name the file and line:
 * RLVR_ERR_IO (cannot read), RLVR_ERR_FORMAT (malformed JSON, not an
 * object, a mapped field missing or of the wrong type, no answer found by
 * the extraction, a duplicate id), RLVR_ERR_CONFIG (a bad mapping value). */
int rlvr_dataset_load(const char *path, const rlvr_dataset_mapping *m, rlvr_dataset **out);
/* The same from len bytes of text in memory (copied); name stands for the
 * file in ids and messages. */
int rlvr_dataset_load_text(const char *name, const char *text, size_t len, const rlvr_dataset_mapping *m,
                           rlvr_dataset **out);
void rlvr_dataset_free(rlvr_dataset *d); /* accepts NULL */

size_t rlvr_dataset_size(const rlvr_dataset *d);
const char *rlvr_dataset_path(const rlvr_dataset *d);
/* Hash of the file's bytes and the mapping. */
uint64_t rlvr_dataset_fingerprint(const rlvr_dataset *d);
/* The 1-based line of record i. */
size_t rlvr_dataset_line(const rlvr_dataset *d, size_t i);

/* Record i as an item; *out overwritten on success, untouched on error. */
int rlvr_dataset_item(const rlvr_dataset *d, size_t i, rlvr_task_item *out);

#endif
