/* mathlib_extract.h — finding the final answer in a model's completion.
 *
 * In order, the first rule that finds something wins:
 *   1. the last <answer>...</answer> (tags configurable); inside it, the last
 *      \boxed{...} if there is one, else the whole content;
 *   2. the last complete \boxed{...} or \fbox{...} (braces matched, escaped
 *      braces skipped; "\boxed 5" too);
 *   3. GSM8K's "#### 42" (the last one, to the end of its line);
 *   4. the last "answer is" / "answer:" (any case): what follows, to the end
 *      of the line or sentence, $...$ stripped;
 *   5. if enabled, the last number in the text (off by default: a verifier
 *      that reads any number rewards rambling).
 * Scans are linear in the completion (a 10 MB completion costs a few ms) and
 * look at a bounded number of candidates, so adversarial inputs with many
 * unclosed "\boxed{" cannot make them quadratic. Bytes are treated as bytes:
 * invalid UTF-8 is harmless here. */
#ifndef RLVR_MATHLIB_EXTRACT_H
#define RLVR_MATHLIB_EXTRACT_H

#include <stddef.h>

typedef enum {
  RLVR_MXE_NONE = 0,
  RLVR_MXE_ANSWER_TAG,
  RLVR_MXE_BOXED,
  RLVR_MXE_GSM8K,
  RLVR_MXE_ANSWER_IS,
  RLVR_MXE_LAST_NUMBER,
} rlvr_mx_extraction;

typedef struct {
  const char *tag_open;  /* "<answer>"; NULL or "" disables rule 1 */
  const char *tag_close; /* "</answer>" */
  int boxed;             /* rule 2 (1) */
  int gsm8k;             /* rule 3 (1) */
  int answer_is;         /* rule 4 (1) */
  int last_number;       /* rule 5 (0) */
} rlvr_mx_extract_opts;

void rlvr_mx_extract_opts_default(rlvr_mx_extract_opts *o);

/* Finds the answer in s[0..len): on success returns the rule that found it
 * and sets s[*start .. *start + *alen), trimmed of spaces (possibly empty, as
 * for "\boxed{}"); RLVR_MXE_NONE when nothing was found. */
rlvr_mx_extraction rlvr_mx_extract(const char *s, size_t len, const rlvr_mx_extract_opts *o, size_t *start,
                                   size_t *alen);

/* "none", "answer_tag", "boxed", "gsm8k", "answer_is", "last_number". */
const char *rlvr_mx_extraction_name(rlvr_mx_extraction e);

/* The gold answer inside a reference text: the last \boxed{...} if any (a
 * worked solution), else what follows the last "####", else all of it. */
void rlvr_mx_extract_gold(const char *s, size_t len, size_t *start, size_t *alen);

#endif
