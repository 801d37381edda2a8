/* tokenizer_regex.c — Oniguruma patterns from tokenizer.json, run by PCRE2.
 *
 * The translation is a single left-to-right scan that copies the pattern and
 * rewrites or refuses the few constructs whose meaning differs (see the
 * header). Hugging Face tokenizers compiles these patterns with Oniguruma's
 * Ruby syntax; the class tables of the two engines agree on every code point
 * PCRE2 has assigned (checked over all of Unicode for \p{L}, \p{N} and the
 * White_Space set below; the newer Unicode of Oniguruma only adds letters and
 * digits that PCRE2 10.42 still calls unassigned). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer_regex.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

struct rlvr_tokregex {
  pcre2_code *code;
  int jit; /* pcre2_jit_compile succeeded */
};

/* Unicode White_Space, which is what Oniguruma's \s matches. */
#define WS_CLASS                                                                                    \
  "\\x{09}-\\x{0d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"   \
  "\\x{205f}\\x{3000}"

typedef struct {
  char *v;
  size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->v = xrealloc(b->v, b->cap);
  }
  memcpy(b->v + b->n, s, n);
  b->n += n;
  b->v[b->n] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the UTF-8 character at p (1 for a byte that starts none). */
static size_t char_len(const unsigned char *p, size_t n) {
  size_t k = 1;
  if (p[0] >= 0xF0) k = 4;
  else if (p[0] >= 0xE0) k = 3;
  else if (p[0] >= 0xC0) k = 2;
  if (k > n) return 1;
  for (size_t i = 1; i < k; i++)
    if ((p[i] & 0xC0) != 0x80) return 1;
  return k;
}

/* Oniguruma (Ruby syntax) -> PCRE2. On error returns a code with the message set. */
static int translate(const char *p, size_t n, sbuf *out) {
  int in_class = 0;
  size_t class_at = 0; /* index just past "[" or "[^", where a ']' is literal */
  size_t i = 0;
  while (i < n) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= n) return rlvr_error(RLVR_ERR_FORMAT, "regex ends with a lone backslash");
      char e = p[i + 1];
      switch (e) {
      case 's':
        sb_str(out, in_class ? WS_CLASS : "[" WS_CLASS "]");
        i += 2;
        continue;
      case 'S':
        if (in_class)
          return rlvr_error(RLVR_ERR_UNSUPPORTED, "regex: \\S inside a character class at offset %zu",
                            i);
        sb_str(out, "[^" WS_CLASS "]");
        i += 2;
        continue;
      case 'v': /* Oniguruma: the vertical tab; PCRE2: any vertical space */
        sb_str(out, "\\x{0b}");
        i += 2;
        continue;
      case 'u': { /* \uHHHH */
        if (i + 6 > n || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4]) ||
            !is_hex(p[i + 5]))
          return rlvr_error(RLVR_ERR_FORMAT, "regex: \\u needs four hex digits at offset %zu", i);
        sb_str(out, "\\x{");
        sb_put(out, p + i + 2, 4);
        sb_str(out, "}");
        i += 6;
        continue;
      }
      case 'p':
      case 'P': {
        /* \pL or \p{...}: copied; PCRE2 rejects names it does not know. */
        size_t j = i + 2;
        if (j < n && p[j] == '{') {
          while (j < n && p[j] != '}') j++;
          if (j >= n) return rlvr_error(RLVR_ERR_FORMAT, "regex: unterminated \\p{ at offset %zu", i);
          j++;
        } else {
          j++;
        }
        if (j > n) return rlvr_error(RLVR_ERR_FORMAT, "regex: \\p without a name at offset %zu", i);
        sb_put(out, p + i, j - i);
        i = j;
        continue;
      }
      case 'x': { /* \xHH or \x{...}: same in both */
        size_t j = i + 2;
        if (j < n && p[j] == '{') {
          while (j < n && p[j] != '}') j++;
          if (j >= n) return rlvr_error(RLVR_ERR_FORMAT, "regex: unterminated \\x{ at offset %zu", i);
          j++;
        } else {
          while (j < n && j < i + 4 && is_hex(p[j])) j++;
        }
        sb_put(out, p + i, j - i);
        i = j;
        continue;
      }
      case 'd': case 'D': case 'r': case 'n': case 't': case 'f': case 'e': case 'a':
      case 'A': case 'z': case 'Z':
        sb_put(out, p + i, 2);
        i += 2;
        continue;
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
          return rlvr_error(RLVR_ERR_UNSUPPORTED,
                            "regex: \\%c at offset %zu means different things in Oniguruma and "
                            "PCRE2 (or is not supported)",
                            e, i);
        /* An escaped punctuation or non-ASCII character: itself. */
        sb_put(out, p + i, 1 + char_len((const unsigned char *)p + i + 1, n - i - 1));
        i += 1 + char_len((const unsigned char *)p + i + 1, n - i - 1);
        continue;
      }
    }
    if (in_class) {
      if (c == ']' && i != class_at) {
        in_class = 0;
      } else if (c == '[') {
        return rlvr_error(RLVR_ERR_UNSUPPORTED,
                          "regex: nested class or POSIX bracket at offset %zu", i);
      } else if (c == '&' && i + 1 < n && p[i + 1] == '&') {
        return rlvr_error(RLVR_ERR_UNSUPPORTED, "regex: class intersection && at offset %zu", i);
      }
      sb_put(out, p + i, 1);
      i++;
      continue;
    }
    if (c == '[') {
      in_class = 1;
      sb_put(out, p + i, 1);
      i++;
      if (i < n && p[i] == '^') {
        sb_put(out, p + i, 1);
        i++;
      }
      class_at = i;
      continue;
    }
    if (c == '(' && i + 2 < n && p[i + 1] == '?') {
      /* (?imx-imx) and (?imx-imx:...): Ruby's m is PCRE2's s; refuse both. */
      size_t j = i + 2;
      while (j < n && ((p[j] >= 'a' && p[j] <= 'z') || p[j] == '-')) {
        if (p[j] != 'i' && p[j] != 'x' && p[j] != '-')
          return rlvr_error(RLVR_ERR_UNSUPPORTED, "regex: option (?%c at offset %zu", p[j], i);
        j++;
      }
    }
    sb_put(out, p + i, 1);
    i++;
  }
  if (in_class) return rlvr_error(RLVR_ERR_FORMAT, "regex: unterminated character class");
  return RLVR_OK;
}

int rlvr_tokregex_compile(const char *pattern, size_t len, int kind, rlvr_tokregex **out) {
  sbuf pat = {0};
  sb_put(&pat, "", 0);
  if (kind == RLVR_TOKREGEX_LITERAL) {
    /* Escape everything but letters, digits and non-ASCII bytes. */
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)pattern[i];
      if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
        char esc[8];
        snprintf(esc, sizeof esc, "\\x{%02x}", c);
        sb_str(&pat, esc);
      } else {
        sb_put(&pat, pattern + i, 1);
      }
    }
  } else if (kind == RLVR_TOKREGEX_ONIG) {
    int rc = translate(pattern, len, &pat);
    if (rc != RLVR_OK) {
      free(pat.v);
      return rc;
    }
  } else {
    sb_put(&pat, pattern, len);
  }
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  RLVR_CHECK(cctx);
  pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE |
                  PCRE2_ALT_CIRCUMFLEX;
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat.v, pat.n, opts, &errcode, &erroff, cctx);
  pcre2_compile_context_free(cctx);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    int rc = rlvr_error(RLVR_ERR_FORMAT, "regex does not compile: %s (at offset %zu of \"%s\")",
                        (const char *)msg, (size_t)erroff, pat.v);
    free(pat.v);
    return rc;
  }
  free(pat.v);
  rlvr_tokregex *re = xcalloc(1, sizeof *re);
  re->code = code;
  re->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  *out = re;
  return RLVR_OK;
}

void rlvr_tokregex_free(rlvr_tokregex *re) {
  if (!re) return;
  pcre2_code_free(re->code);
  free(re);
}

/* One pcre2_match at offset from; JIT first, the interpreter if the JIT stack
 * runs out. Returns >0 on a match, PCRE2_ERROR_NOMATCH, or another error. */
static int match_once(const rlvr_tokregex *re, const char *s, size_t len, size_t from,
                      uint32_t opts, pcre2_match_data *md) {
  int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, from, opts, md, NULL);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, from, opts | PCRE2_NO_JIT, md, NULL);
  return rc;
}

void rlvr_tokregex_iter_init(rlvr_tokregex_iter *it) {
  it->pos = 0;
  it->last_end = (size_t)-1;
  it->md = NULL;
}

void rlvr_tokregex_iter_reset(rlvr_tokregex_iter *it) {
  it->pos = 0;
  it->last_end = (size_t)-1;
}

void rlvr_tokregex_iter_free(rlvr_tokregex_iter *it) {
  pcre2_match_data_free(it->md); /* accepts NULL */
  it->md = NULL;
}

static pcre2_match_data *iter_md(rlvr_tokregex_iter *it) {
  if (!it->md) {
    it->md = pcre2_match_data_create(1, NULL); /* the whole match is all we read */
    RLVR_CHECK(it->md);
  }
  return it->md;
}

int rlvr_tokregex_next(const rlvr_tokregex *re, const char *s, size_t len,
                       rlvr_tokregex_iter *it, size_t *start, size_t *end) {
  pcre2_match_data *md = iter_md(it);
  for (;;) {
    if (it->pos > len) return 0;
    int rc = match_once(re, s, len, it->pos, 0, md);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return rlvr_error(RLVR_ERR_RANGE, "regex match failed: %s", (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t a = ov[0], b = ov[1];
    if (b < a) b = a; /* only \K could do this; the translation refuses it */
    if (a == b && it->last_end == b) {
      /* An empty match right after the previous one: step one character. */
      it->pos += it->pos < len ? char_len((const unsigned char *)s + it->pos, len - it->pos) : 1;
      continue;
    }
    it->pos = b;
    it->last_end = b;
    *start = a;
    *end = b;
    return 1;
  }
}

int rlvr_tokregex_match_at(const rlvr_tokregex *re, const char *s, size_t len, size_t pos,
                           rlvr_tokregex_iter *scratch) {
  return match_once(re, s, len, pos, PCRE2_ANCHORED, iter_md(scratch)) > 0;
}
