/* mathlib_extract.c — answer extraction; see mathlib_extract.h. */
#include "verifiers/mathlib_extract.h"

#include <string.h>

/* Candidates examined per rule: enough for honest text, bounded for hostile text. */
enum { MAX_CANDIDATES = 16, MAX_ANSWER = 16384 };

static const char *const names[] = {"none", "answer_tag", "boxed", "gsm8k", "answer_is", "last_number"};

const char *rlvr_mx_extraction_name(rlvr_mx_extraction e) {
  return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "none";
}

void rlvr_mx_extract_opts_default(rlvr_mx_extract_opts *o) {
  o->tag_open = "<answer>";
  o->tag_close = "</answer>";
  o->boxed = 1;
  o->gsm8k = 1;
  o->answer_is = 1;
  o->last_number = 0;
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

static void trim(const char *s, size_t *start, size_t *len) {
  while (*len && is_space((unsigned char)s[*start])) (*start)++, (*len)--;
  while (*len && is_space((unsigned char)s[*start + *len - 1])) (*len)--;
}

/* Last occurrence of needle in s[0..end), or -1: one backward pass. */
static long rfind(const char *s, size_t end, const char *needle, size_t nl) {
  if (nl == 0 || end < nl) return -1;
  for (size_t i = end - nl + 1; i-- > 0;)
    if (s[i] == needle[0] && !memcmp(s + i, needle, nl)) return (long)i;
  return -1;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Last case-insensitive occurrence of a lowercase needle in s[0..end). */
static long rfind_ci(const char *s, size_t end, const char *needle, size_t nl) {
  if (end < nl) return -1;
  for (size_t i = end - nl + 1; i-- > 0;) {
    if (lower((unsigned char)s[i]) != needle[0]) continue;
    size_t k = 1;
    while (k < nl && lower((unsigned char)s[i + k]) == needle[k]) k++;
    if (k == nl) return (long)i;
  }
  return -1;
}

/* The {group} at s[i] (s[i] == '{'): sets the content span; 0 if unclosed or too long. */
static int match_braces(const char *s, size_t len, size_t i, size_t *cstart, size_t *clen) {
  int depth = 0;
  size_t limit = i + MAX_ANSWER + 2 < len ? i + MAX_ANSWER + 2 : len;
  for (size_t j = i; j < limit; j++) {
    char c = s[j];
    if (c == '\\' && j + 1 < limit) { /* \{ \} do not count */
      j++;
      continue;
    }
    if (c == '{') depth++;
    else if (c == '}' && --depth == 0) {
      *cstart = i + 1;
      *clen = j - i - 1;
      return 1;
    }
  }
  return 0;
}

/* The last complete \boxed{..} / \fbox{..} in s[0..len): one backward pass
 * over the text, at most MAX_CANDIDATES brace matches of MAX_ANSWER bytes. */
static int last_boxed(const char *s, size_t len, size_t *start, size_t *alen) {
  int tries = 0;
  for (size_t at = len; at-- > 0 && tries < MAX_CANDIDATES;) {
    if (s[at] != '\\') continue;
    size_t nl;
    if (at + 6 <= len && !memcmp(s + at, "\\boxed", 6)) nl = 6;
    else if (at + 5 <= len && !memcmp(s + at, "\\fbox", 5)) nl = 5;
    else continue;
    tries++;
    size_t i = at + nl;
    while (i < len && is_space((unsigned char)s[i])) i++;
    if (i < len && s[i] == '{') {
      if (match_braces(s, len, i, start, alen)) {
        trim(s, start, alen);
        return 1;
      }
      continue; /* unclosed: look further back */
    }
    if (i < len && i > at + nl) { /* "\boxed 5": one token */
      size_t j = i;
      while (j < len && !is_space((unsigned char)s[j]) && s[j] != '$' && j - i < 256) j++;
      if (j > i) {
        *start = i;
        *alen = j - i;
        return 1;
      }
    }
  }
  return 0;
}

static int answer_tag(const char *s, size_t len, const rlvr_mx_extract_opts *o, size_t *start, size_t *alen) {
  if (!o->tag_open || !o->tag_open[0] || !o->tag_close || !o->tag_close[0]) return 0;
  size_t ol = strlen(o->tag_open), cl = strlen(o->tag_close);
  long open = rfind(s, len, o->tag_open, ol);
  if (open < 0) return 0;
  size_t cs = (size_t)open + ol;
  const char *close = memmem(s + cs, len - cs, o->tag_close, cl);
  if (!close) return 0;
  size_t clen = (size_t)(close - s) - cs;
  size_t bs, bl;
  if (last_boxed(s + cs, clen, &bs, &bl)) {
    *start = cs + bs;
    *alen = bl;
    return 1;
  }
  *start = cs;
  *alen = clen;
  trim(s, start, alen);
  /* $...$, \(...\), \[...\] around the whole content */
  if (*alen >= 2 && s[*start] == '$' && s[*start + *alen - 1] == '$') {
    while (*alen >= 2 && s[*start] == '$' && s[*start + *alen - 1] == '$') (*start)++, *alen -= 2;
  } else if (*alen >= 4 && s[*start] == '\\' && (s[*start + 1] == '(' || s[*start + 1] == '[') &&
             s[*start + *alen - 2] == '\\' && (s[*start + *alen - 1] == ')' || s[*start + *alen - 1] == ']')) {
    *start += 2;
    *alen -= 4;
  }
  trim(s, start, alen);
  return 1;
}

static int gsm8k(const char *s, size_t len, size_t *start, size_t *alen) {
  long at = rfind(s, len, "####", 4);
  if (at < 0) return 0;
  size_t i = (size_t)at + 4, j = i;
  while (j < len && s[j] != '\n' && j - i < 1024) j++;
  *start = i;
  *alen = j - i;
  trim(s, start, alen);
  return *alen > 0;
}

/* "The final answer is $42$. I hope it is correct." / "**Answer:** 42" */
static int answer_is(const char *s, size_t len, size_t *start, size_t *alen) {
  long a = rfind_ci(s, len, "answer is", 9), b = rfind_ci(s, len, "answer:", 7);
  long at = a > b ? a : b;
  if (at < 0) return 0;
  size_t i = (size_t)at + (a > b ? 9 : 7);
  while (i < len && (is_space((unsigned char)s[i]) || s[i] == ':' || s[i] == '*')) i++;
  size_t j = i;
  while (j < len && s[j] != '\n' && j - i < 1024) j++;
  size_t bs, bl;
  if (last_boxed(s + i, j - i, &bs, &bl)) {
    *start = i + bs;
    *alen = bl;
    return 1;
  }
  /* $...$ */
  if (i < j && s[i] == '$') {
    size_t k = i;
    while (k < j && s[k] == '$') k++;
    size_t e = k;
    while (e < j && s[e] != '$') e++;
    if (e < j) {
      *start = k;
      *alen = e - k;
      trim(s, start, alen);
      return 1;
    }
  }
  if (i + 1 < j && s[i] == '\\' && (s[i + 1] == '(' || s[i + 1] == '[')) {
    char closer = s[i + 1] == '(' ? ')' : ']';
    for (size_t e = i + 2; e + 1 < j; e++)
      if (s[e] == '\\' && s[e + 1] == closer) {
        *start = i + 2;
        *alen = e - i - 2;
        trim(s, start, alen);
        return 1;
      }
  }
  /* up to the end of the sentence: ". " or "." at the end of the line */
  size_t e = i;
  while (e < j) {
    if (s[e] == '.' && (e + 1 == j || is_space((unsigned char)s[e + 1]))) break;
    e++;
  }
  *start = i;
  *alen = e - i;
  /* markdown bold around the answer */
  while (*alen && s[*start + *alen - 1] == '*') (*alen)--;
  trim(s, start, alen);
  return *alen > 0;
}

/* The last number: -?digits with , groups, optional .digits, optional /digits. */
static int last_number(const char *s, size_t len, size_t *start, size_t *alen) {
  size_t j = len;
  while (j > 0 && !is_digit((unsigned char)s[j - 1])) j--;
  if (!j) return 0;
  size_t end = j, i = j;
  while (i > 0 && (is_digit((unsigned char)s[i - 1]) || ((s[i - 1] == '.' || s[i - 1] == ',' || s[i - 1] == '/') &&
                                                         i >= 2 && is_digit((unsigned char)s[i - 2]))))
    i--;
  if (i > 0 && s[i - 1] == '.' ) i--;
  if (i > 0 && s[i - 1] == '-') i--;
  *start = i;
  *alen = end - i;
  return 1;
}

rlvr_mx_extraction rlvr_mx_extract(const char *s, size_t len, const rlvr_mx_extract_opts *o, size_t *start,
                                   size_t *alen) {
  rlvr_mx_extract_opts def;
  if (!o) {
    rlvr_mx_extract_opts_default(&def);
    o = &def;
  }
  if (answer_tag(s, len, o, start, alen)) return RLVR_MXE_ANSWER_TAG;
  if (o->boxed && last_boxed(s, len, start, alen)) return RLVR_MXE_BOXED;
  if (o->gsm8k && gsm8k(s, len, start, alen)) return RLVR_MXE_GSM8K;
  if (o->answer_is && answer_is(s, len, start, alen)) return RLVR_MXE_ANSWER_IS;
  if (o->last_number && last_number(s, len, start, alen)) return RLVR_MXE_LAST_NUMBER;
  return RLVR_MXE_NONE;
}

void rlvr_mx_extract_gold(const char *s, size_t len, size_t *start, size_t *alen) {
  if (last_boxed(s, len, start, alen)) return;
  if (gsm8k(s, len, start, alen)) return;
  *start = 0;
  *alen = len;
  trim(s, start, alen);
}
