/* tokenizer_regex.h — the pre-tokenizer's regular expressions, written for
 * Oniguruma (what Hugging Face tokenizers runs) and run by PCRE2.
 *
 * Internal to model/tokenizer*.c. The translation keeps the meaning of the
 * constructs that tokenizer files use (\p{L}, \p{N}, \s, \S, (?i:...),
 * lookahead, alternation) and refuses the ones whose meaning differs between
 * the two engines (\w, \b, \h, POSIX brackets, nested classes, (?m)):
 *   - \s is Unicode White_Space as Oniguruma has it (PCRE2's \s adds U+180E);
 *   - ^ and $ match at line breaks (Ruby syntax), '.' stops at \n only;
 *   - \uHHHH becomes \x{HHHH}; \v is the vertical tab (0x0B), as in Oniguruma.
 * Matching uses PCRE2_MATCH_INVALID_UTF: invalid UTF-8 in the subject never
 * matches anything and is never an error. */
#ifndef RLVR_TOKENIZER_REGEX_H
#define RLVR_TOKENIZER_REGEX_H

#include <stddef.h>

typedef struct rlvr_tokregex rlvr_tokregex;

enum {
  RLVR_TOKREGEX_ONIG = 0,    /* an Oniguruma pattern, translated as above */
  RLVR_TOKREGEX_LITERAL = 1, /* the text itself (a Split's {"String": ...}) */
  RLVR_TOKREGEX_PCRE2 = 2,   /* PCRE2 syntax as is (rlvr's own patterns) */
};

/* Compiles pattern (len bytes, UTF-8) of the given kind. On error returns
 * RLVR_ERR_UNSUPPORTED (a construct rlvr refuses) or RLVR_ERR_FORMAT (not a
 * valid regex) with a message that says why and where (the caller prefixes
 * file and field); *out untouched. */
int rlvr_tokregex_compile(const char *pattern, size_t len, int kind, rlvr_tokregex **out);

void rlvr_tokregex_free(rlvr_tokregex *re);

/* Iterates over the non-overlapping matches in s[0, len) the way Oniguruma's
 * find_iter does (an empty match right after the previous match is skipped).
 * An iterator owns match scratch: rlvr_tokregex_iter_init once, then
 * rlvr_tokregex_iter_reset before each new subject (cheap, keeps the scratch),
 * rlvr_tokregex_iter_free at the end. */
typedef struct {
  size_t pos;      /* where the next search starts */
  size_t last_end; /* end of the last match, (size_t)-1 before the first */
  void *md;        /* pcre2_match_data, made on first use */
} rlvr_tokregex_iter;

void rlvr_tokregex_iter_init(rlvr_tokregex_iter *it);
void rlvr_tokregex_iter_reset(rlvr_tokregex_iter *it);
void rlvr_tokregex_iter_free(rlvr_tokregex_iter *it);

/* Returns 1 with [*start, *end) for the next match, 0 when there is none,
 * RLVR_ERR_RANGE if the engine gave up (match or depth limit). */
int rlvr_tokregex_next(const rlvr_tokregex *re, const char *s, size_t len,
                       rlvr_tokregex_iter *it, size_t *start, size_t *end);

/* Whether re matches s[0, len) starting exactly at pos (anchored there). */
int rlvr_tokregex_match_at(const rlvr_tokregex *re, const char *s, size_t len, size_t pos,
                           rlvr_tokregex_iter *scratch);

#endif
