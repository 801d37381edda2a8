/* mathlib_expr.c — the math answer parser, printer and evaluators; see
 * mathlib_expr.h for what is accepted.
 *
 * The lexer reads one token at a time straight from the text (no copy), so
 * LaTeX's brace-less arguments (\frac12, \sqrt3) can be read character by
 * character where the grammar needs them. The parser is recursive descent:
 *
 *   list  := item ((, | ; | \\ | and | or) item)*
 *   item  := union (relation union)*
 *   union := sum (\cup sum)*
 *   sum   := term ((+ | - | \pm | \mp) term)*
 *   term  := unary ((* | / | \cdot | \times | \div | implicit) unary)*   units after a value are dropped
 *   unary := (- | + | \pm) unary | power
 *   power := postfix (^ exponent)*
 *   postfix := primary (! | % | _sub)*
 *
 * Brackets decide between grouping, tuples, intervals and sets by what they
 * hold and how they close: (a) is a group, (a, b) a tuple that is also the
 * open interval, [a, b) an interval, \{a\} a set. */
#include "verifiers/mathlib_expr.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

/* ------------------------------------------------------------------ */
/* tokens                                                              */

typedef enum {
  T_END, T_NUM, T_SYM, T_WORD, T_TEXT, T_CMD, T_PLUS, T_MINUS, T_PM, T_MP, T_STAR, T_SLASH, T_CARET,
  T_UNDER, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE, T_RBRACE, T_LSET, T_RSET, T_COMMA,
  T_SEMI, T_REL, T_BANG, T_BAR, T_AMP, T_ROWSEP, T_PCT, T_CIRC, T_PRIME, T_COLON, T_LANGLE,
  T_RANGLE, T_LFLOOR, T_RFLOOR, T_LCEIL, T_RCEIL, T_SQRT, T_CONST, T_OTHER
} tok_type;

/* Words: plain-text names (sin, pi, cm, and) and LaTeX commands (\sin, \pi). */
typedef enum {
  W_NONE, W_FUNC, W_CONST, W_SEP, W_UNIT, W_PCT, W_IN, W_FRAC, W_SQRT, W_BINOM, W_GREEK, W_MUL,
  W_DIV, W_PM, W_MP, W_REL, W_CUP, W_CAP, W_WRAP, W_ACCENT, W_BEGIN, W_END, W_EMPTY, W_DOTS,
  W_CIRC, W_OPNAME, W_SKIP, W_SKIPARG, W_SKIP1ARG, W_LANGLE, W_RANGLE, W_LFLOOR, W_RFLOOR, W_LCEIL,
  W_RCEIL, W_LSET, W_RSET, W_BAR, W_UNKNOWN
} word_kind;

typedef struct {
  const char *name;
  uint8_t kind; /* word_kind */
  uint8_t id;
} word_def;

/* LaTeX commands (without the backslash). */
static const word_def commands[] = {
    {"frac", W_FRAC, 0}, {"dfrac", W_FRAC, 0}, {"tfrac", W_FRAC, 0}, {"cfrac", W_FRAC, 0},
    {"sqrt", W_SQRT, 0}, {"binom", W_BINOM, 0}, {"dbinom", W_BINOM, 0}, {"tbinom", W_BINOM, 0},
    {"sin", W_FUNC, RLVR_MXF_SIN}, {"cos", W_FUNC, RLVR_MXF_COS}, {"tan", W_FUNC, RLVR_MXF_TAN},
    {"sec", W_FUNC, RLVR_MXF_SEC}, {"csc", W_FUNC, RLVR_MXF_CSC}, {"cot", W_FUNC, RLVR_MXF_COT},
    {"arcsin", W_FUNC, RLVR_MXF_ASIN}, {"arccos", W_FUNC, RLVR_MXF_ACOS}, {"arctan", W_FUNC, RLVR_MXF_ATAN},
    {"sinh", W_FUNC, RLVR_MXF_SINH}, {"cosh", W_FUNC, RLVR_MXF_COSH}, {"tanh", W_FUNC, RLVR_MXF_TANH},
    {"ln", W_FUNC, RLVR_MXF_LN}, {"log", W_FUNC, RLVR_MXF_LOG}, {"lg", W_FUNC, RLVR_MXF_LOG},
    {"exp", W_FUNC, RLVR_MXF_EXP},
    {"pi", W_CONST, RLVR_MXC_PI}, {"infty", W_CONST, RLVR_MXC_INF}, {"infinity", W_CONST, RLVR_MXC_INF},
    {"imath", W_CONST, RLVR_MXC_I},
    {"alpha", W_GREEK, 0}, {"beta", W_GREEK, 0}, {"gamma", W_GREEK, 0}, {"delta", W_GREEK, 0},
    {"epsilon", W_GREEK, 0}, {"varepsilon", W_GREEK, 0}, {"zeta", W_GREEK, 0}, {"eta", W_GREEK, 0},
    {"theta", W_GREEK, 0}, {"vartheta", W_GREEK, 0}, {"iota", W_GREEK, 0}, {"kappa", W_GREEK, 0},
    {"lambda", W_GREEK, 0}, {"mu", W_GREEK, 0}, {"nu", W_GREEK, 0}, {"xi", W_GREEK, 0},
    {"rho", W_GREEK, 0}, {"sigma", W_GREEK, 0}, {"tau", W_GREEK, 0}, {"upsilon", W_GREEK, 0},
    {"phi", W_GREEK, 0}, {"varphi", W_GREEK, 0}, {"chi", W_GREEK, 0}, {"psi", W_GREEK, 0},
    {"omega", W_GREEK, 0}, {"Gamma", W_GREEK, 0}, {"Delta", W_GREEK, 0}, {"Theta", W_GREEK, 0},
    {"Lambda", W_GREEK, 0}, {"Xi", W_GREEK, 0}, {"Sigma", W_GREEK, 0}, {"Phi", W_GREEK, 0},
    {"Psi", W_GREEK, 0}, {"Omega", W_GREEK, 0}, {"ell", W_GREEK, 0},
    {"cdot", W_MUL, 0}, {"times", W_MUL, 0}, {"ast", W_MUL, 0}, {"div", W_DIV, 0},
    {"pm", W_PM, 0}, {"mp", W_MP, 0},
    {"le", W_REL, RLVR_MXR_LE}, {"leq", W_REL, RLVR_MXR_LE}, {"leqslant", W_REL, RLVR_MXR_LE},
    {"ge", W_REL, RLVR_MXR_GE}, {"geq", W_REL, RLVR_MXR_GE}, {"geqslant", W_REL, RLVR_MXR_GE},
    {"lt", W_REL, RLVR_MXR_LT}, {"gt", W_REL, RLVR_MXR_GT}, {"ne", W_REL, RLVR_MXR_NE},
    {"neq", W_REL, RLVR_MXR_NE}, {"approx", W_REL, RLVR_MXR_APPROX}, {"simeq", W_REL, RLVR_MXR_APPROX},
    {"equiv", W_REL, RLVR_MXR_EQ}, {"in", W_IN, 0},
    {"Rightarrow", W_SEP, 0}, {"implies", W_SEP, 0}, {"Longrightarrow", W_SEP, 0},
    {"rightarrow", W_SEP, 0}, {"to", W_SEP, 0}, {"quad", W_SKIP, 0}, {"qquad", W_SKIP, 0},
    {"cup", W_CUP, 0}, {"cap", W_CAP, 0},
    {"mathbf", W_WRAP, 0}, {"boldsymbol", W_WRAP, 0}, {"mathit", W_WRAP, 0}, {"mathsf", W_WRAP, 0},
    {"mathcal", W_WRAP, 0}, {"mathbb", W_WRAP, 0}, {"mathfrak", W_WRAP, 0}, {"bm", W_WRAP, 0},
    {"boxed", W_WRAP, 0}, {"fbox", W_WRAP, 0}, {"displaystyle", W_SKIP, 0}, {"textstyle", W_SKIP, 0},
    {"scriptstyle", W_SKIP, 0}, {"limits", W_SKIP, 0}, {"nolimits", W_SKIP, 0},
    {"hat", W_ACCENT, 0}, {"bar", W_ACCENT, 0}, {"vec", W_ACCENT, 0}, {"overline", W_ACCENT, 0},
    {"widehat", W_ACCENT, 0}, {"tilde", W_ACCENT, 0}, {"widetilde", W_ACCENT, 0}, {"dot", W_ACCENT, 0},
    {"ddot", W_ACCENT, 0}, {"overrightarrow", W_ACCENT, 0}, {"underline", W_ACCENT, 0},
    {"overleftrightarrow", W_ACCENT, 0},
    {"begin", W_BEGIN, 0}, {"end", W_END, 0}, {"emptyset", W_EMPTY, 0}, {"varnothing", W_EMPTY, 0},
    {"dots", W_DOTS, 0}, {"ldots", W_DOTS, 0}, {"cdots", W_DOTS, 0}, {"circ", W_CIRC, 0},
    {"degree", W_CIRC, 0}, {"operatorname", W_OPNAME, 0},
    {"left", W_SKIP, 0}, {"right", W_SKIP, 0}, {"big", W_SKIP, 0}, {"Big", W_SKIP, 0},
    {"bigg", W_SKIP, 0}, {"Bigg", W_SKIP, 0}, {"bigl", W_SKIP, 0}, {"bigr", W_SKIP, 0},
    {"Bigl", W_SKIP, 0}, {"Bigr", W_SKIP, 0}, {"biggl", W_SKIP, 0}, {"biggr", W_SKIP, 0},
    {"Biggl", W_SKIP, 0}, {"Biggr", W_SKIP, 0}, {"middle", W_SKIP, 0}, {"enspace", W_SKIP, 0},
    {"thinspace", W_SKIP, 0}, {"medspace", W_SKIP, 0}, {"thickspace", W_SKIP, 0},
    {"negthinspace", W_SKIP, 0}, {"hfill", W_SKIP, 0}, {"mathstrut", W_SKIP, 0}, {"strut", W_SKIP, 0},
    {"nonumber", W_SKIP, 0}, {"notag", W_SKIP, 0},
    {"hspace", W_SKIPARG, 0}, {"vspace", W_SKIPARG, 0}, {"phantom", W_SKIPARG, 0},
    {"label", W_SKIPARG, 0}, {"tag", W_SKIPARG, 0}, {"color", W_SKIPARG, 0},
    {"textcolor", W_SKIP1ARG, 0}, {"langle", W_LANGLE, 0}, {"rangle", W_RANGLE, 0},
    {"lfloor", W_LFLOOR, 0}, {"rfloor", W_RFLOOR, 0}, {"lceil", W_LCEIL, 0}, {"rceil", W_RCEIL, 0},
    {"lbrace", W_LSET, 0}, {"rbrace", W_RSET, 0}, {"vert", W_BAR, 0}, {"lvert", W_BAR, 0},
    {"rvert", W_BAR, 0}, {"mid", W_BAR, 0},
};

/* Plain-text words of two or more letters. Anything else of three or more
 * letters is W_UNKNOWN: a unit after a value, or part of a text answer. */
static const word_def words[] = {
    {"sin", W_FUNC, RLVR_MXF_SIN}, {"cos", W_FUNC, RLVR_MXF_COS}, {"tan", W_FUNC, RLVR_MXF_TAN},
    {"sec", W_FUNC, RLVR_MXF_SEC}, {"csc", W_FUNC, RLVR_MXF_CSC}, {"cot", W_FUNC, RLVR_MXF_COT},
    {"arcsin", W_FUNC, RLVR_MXF_ASIN}, {"arccos", W_FUNC, RLVR_MXF_ACOS}, {"arctan", W_FUNC, RLVR_MXF_ATAN},
    {"asin", W_FUNC, RLVR_MXF_ASIN}, {"acos", W_FUNC, RLVR_MXF_ACOS}, {"atan", W_FUNC, RLVR_MXF_ATAN},
    {"sinh", W_FUNC, RLVR_MXF_SINH}, {"cosh", W_FUNC, RLVR_MXF_COSH}, {"tanh", W_FUNC, RLVR_MXF_TANH},
    {"ln", W_FUNC, RLVR_MXF_LN}, {"log", W_FUNC, RLVR_MXF_LOG}, {"exp", W_FUNC, RLVR_MXF_EXP},
    {"abs", W_FUNC, RLVR_MXF_ABS}, {"floor", W_FUNC, RLVR_MXF_FLOOR}, {"ceil", W_FUNC, RLVR_MXF_CEIL},
    {"sqrt", W_SQRT, 1}, {"pi", W_CONST, RLVR_MXC_PI}, {"inf", W_CONST, RLVR_MXC_INF},
    {"infty", W_CONST, RLVR_MXC_INF}, {"infinity", W_CONST, RLVR_MXC_INF}, {"oo", W_CONST, RLVR_MXC_INF},
    {"and", W_SEP, 0}, {"or", W_SEP, 0}, {"in", W_IN, 0}, {"percent", W_PCT, 0},
    {"cm", W_UNIT, 0}, {"mm", W_UNIT, 0}, {"km", W_UNIT, 0}, {"ft", W_UNIT, 0}, {"yd", W_UNIT, 0},
    {"mi", W_UNIT, 0}, {"kg", W_UNIT, 0}, {"mg", W_UNIT, 0}, {"lb", W_UNIT, 0}, {"lbs", W_UNIT, 0},
    {"oz", W_UNIT, 0}, {"ml", W_UNIT, 0}, {"mL", W_UNIT, 0}, {"hr", W_UNIT, 0}, {"hrs", W_UNIT, 0},
    {"sq", W_UNIT, 0}, {"cu", W_UNIT, 0}, {"mph", W_UNIT, 0}, {"deg", W_UNIT, 0}, {"rad", W_UNIT, 0},
    {"cc", W_UNIT, 0}, {"am", W_UNIT, 0}, {"pm", W_UNIT, 0}, {"AM", W_UNIT, 0}, {"PM", W_UNIT, 0},
    {"st", W_UNIT, 0}, {"nd", W_UNIT, 0}, {"rd", W_UNIT, 0}, {"th", W_UNIT, 0},
};

static const word_def *find_word(const word_def *tab, size_t n, const char *s, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (tab[i].name[0] == s[0] && strlen(tab[i].name) == len && !memcmp(tab[i].name, s, len)) return &tab[i];
  return NULL;
}
#define FIND_CMD(s, n) find_word(commands, sizeof commands / sizeof commands[0], s, n)
#define FIND_WORD(s, n) find_word(words, sizeof words / sizeof words[0], s, n)

typedef struct {
  int t;           /* tok_type */
  int sub;         /* T_REL: relation; T_CMD/T_WORD: word_kind; T_CONST: const id */
  int id;          /* word id */
  size_t start;    /* source span [start, end) */
  size_t end;
  size_t a, alen;  /* payload: command/word name, text content, number span */
  int space_before;
} tok;

typedef struct {
  rlvr_mctx *m;
  const char *s;
  size_t len, pos;
  tok cur;
  int have;
  int depth;
  uint32_t nodes;
  uint32_t notes;
  int abs_depth;    /* inside |...|: a bar closes instead of opening */
  int matrix_depth; /* inside a matrix: & separates cells */
  int err;          /* first error, sticky */
} parser;

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '~'; }

static int fail(parser *p, int code, const char *what) {
  if (!p->err) p->err = rlvr_error(code, "math: %s at byte %zu", what, p->pos);
  return p->err;
}

/* Skips a {...} group in the raw text (for \hspace{..}, \begin{..}); returns 0 if absent. */
static int skip_raw_group(parser *p, size_t *content, size_t *clen) {
  size_t i = p->pos;
  while (i < p->len && is_space((unsigned char)p->s[i])) i++;
  if (i >= p->len || p->s[i] != '{') return 0;
  int depth = 0;
  size_t start = i + 1;
  for (; i < p->len; i++) {
    if (p->s[i] == '\\' && i + 1 < p->len) {
      i++;
      continue;
    }
    if (p->s[i] == '{') depth++;
    else if (p->s[i] == '}' && --depth == 0) {
      if (content) *content = start, *clen = i - start;
      p->pos = i + 1;
      return 1;
    }
  }
  return 0;
}

/* Thousands groups: after 1-3 digits, separators ",", "{,}", "\,", "\ " or "\!",
 * each followed by exactly three digits and then no digit. */
static size_t thousands_sep(const char *s, size_t len, size_t i) {
  /* not a plain space: "\log_2 128" and "2 100" must stay two numbers */
  static const char *seps[] = {"{,}", "\\,", "\\ ", "\\!", ","};
  for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
    size_t sl = strlen(seps[k]);
    if (i + sl + 3 <= len && !memcmp(s + i, seps[k], sl) && is_digit(s[i + sl]) && is_digit(s[i + sl + 1]) &&
        is_digit(s[i + sl + 2]) && (i + sl + 3 == len || !is_digit(s[i + sl + 3])))
      return sl;
  }
  return 0;
}

static void lex(parser *p, tok *t) {
  const char *s = p->s;
  size_t n = p->len;
again:;
  size_t i = p->pos;
  int space = 0;
  while (i < n && (is_space((unsigned char)s[i]) || s[i] == '$')) i++, space = 1;
  memset(t, 0, sizeof *t);
  t->start = i;
  t->space_before = space || i == 0;
  if (i >= n) {
    t->t = T_END;
    t->end = p->pos = n;
    return;
  }
  unsigned char c = (unsigned char)s[i];
#define ONE(type) (t->t = (type), t->end = i + 1)
  if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) {
    size_t j = i;
    while (j < n && is_digit(s[j])) j++;
    if (j - i >= 1 && j - i <= 3) {
      size_t sl;
      while ((sl = thousands_sep(s, n, j)) > 0) j += sl + 3;
    }
    if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
      j++;
      while (j < n && is_digit(s[j])) j++;
    }
    if (j + 1 < n && (s[j] == 'e' || s[j] == 'E')) {
      size_t k = j + 1;
      if (k < n && (s[k] == '+' || s[k] == '-')) k++;
      if (k < n && is_digit(s[k])) {
        while (k < n && is_digit(s[k])) k++;
        j = k;
      }
    }
    t->t = T_NUM;
    t->a = i;
    t->alen = j - i;
    t->end = j;
  } else if (is_alpha(c)) {
    size_t j = i;
    while (j < n && is_alpha(s[j])) j++;
    const word_def *w = j - i >= 2 ? FIND_WORD(s + i, j - i) : NULL;
    if (w) {
      t->t = w->kind == W_CONST ? T_CONST : w->kind == W_SQRT ? T_SQRT : T_WORD;
      t->sub = w->kind == W_CONST ? w->id : w->kind;
      t->id = w->id;
      t->a = i;
      t->alen = j - i;
      t->end = j;
    } else if (j - i >= 3) {
      t->t = T_WORD;
      t->sub = W_UNKNOWN;
      t->a = i;
      t->alen = j - i;
      t->end = j;
    } else {
      t->t = T_SYM;
      t->a = i;
      t->alen = 1;
      t->end = i + 1;
    }
  } else if (c == '\\') {
    if (i + 1 >= n) {
      t->t = T_OTHER;
      t->end = n;
    } else if (is_alpha(s[i + 1])) {
      size_t j = i + 1;
      while (j < n && is_alpha(s[j])) j++;
      const word_def *w = FIND_CMD(s + i + 1, j - i - 1);
      t->a = i + 1;
      t->alen = j - i - 1;
      t->end = j;
      if (!w) {
        /* \text-like commands carry text */
        static const char *textcmds[] = {"text", "textbf", "textit", "textrm", "textsf", "texttt", "mbox",
                                         "mathrm", "hbox", "textnormal", "textup", "emph"};
        for (size_t k = 0; k < sizeof textcmds / sizeof textcmds[0]; k++)
          if (strlen(textcmds[k]) == j - i - 1 && !memcmp(textcmds[k], s + i + 1, j - i - 1)) {
            p->pos = j;
            size_t cs = 0, cl = 0;
            if (skip_raw_group(p, &cs, &cl)) {
              t->t = T_TEXT;
              t->a = cs;
              t->alen = cl;
              t->end = p->pos;
            } else {
              goto again; /* \text without a group: ignore the command */
            }
            return;
          }
        t->t = T_CMD;
        t->sub = W_UNKNOWN;
      } else if (w->kind == W_SKIP) {
        p->pos = j;
        /* \left. and \right. are empty delimiters */
        if ((j - i - 1 == 4 || j - i - 1 == 5) && p->pos < n && s[p->pos] == '.') p->pos++;
        goto again;
      } else if (w->kind == W_SKIPARG || w->kind == W_SKIP1ARG) {
        p->pos = j;
        skip_raw_group(p, NULL, NULL);
        goto again;
      } else if (w->kind == W_CONST) {
        t->t = T_CONST;
        t->sub = w->id;
      } else if (w->kind == W_REL) {
        t->t = T_REL;
        t->sub = w->id;
      } else if (w->kind == W_SQRT) {
        t->t = T_SQRT;
      } else {
        t->t = T_CMD;
        t->sub = w->kind;
        t->id = w->id;
        if (w->kind == W_LSET) t->t = T_LSET;
        else if (w->kind == W_RSET) t->t = T_RSET;
        else if (w->kind == W_BAR) t->t = T_BAR;
        else if (w->kind == W_LANGLE) t->t = T_LANGLE;
        else if (w->kind == W_RANGLE) t->t = T_RANGLE;
        else if (w->kind == W_LFLOOR) t->t = T_LFLOOR;
        else if (w->kind == W_RFLOOR) t->t = T_RFLOOR;
        else if (w->kind == W_LCEIL) t->t = T_LCEIL;
        else if (w->kind == W_RCEIL) t->t = T_RCEIL;
        else if (w->kind == W_CIRC) t->t = T_CIRC;
        else if (w->kind == W_PM) t->t = T_PM;
        else if (w->kind == W_MP) t->t = T_MP;
      }
    } else {
      char d = s[i + 1];
      t->end = i + 2;
      switch (d) {
      case ',': case ';': case ':': case '!': case ' ': case '>': case '$': case '(': case ')':
      case '[': case ']': case '\n': case '\t':
        p->pos = i + 2;
        goto again;
      case '{': t->t = T_LSET; break;
      case '}': t->t = T_RSET; break;
      case '%': t->t = T_PCT; break;
      case '\\': t->t = T_ROWSEP; break;
      case '|': t->t = T_BAR; break;
      default: t->t = T_OTHER; break;
      }
    }
  } else if (c >= 0x80) {
    /* a few unicode symbols, by their UTF-8 bytes */
    static const struct { const char *u; int t, sub; } uni[] = {
        {"\xcf\x80", T_CONST, RLVR_MXC_PI},     {"\xe2\x88\x9e", T_CONST, RLVR_MXC_INF},
        {"\xe2\x88\x9a", T_SQRT, 1},            {"\xc3\x97", T_STAR, 0},
        {"\xc3\xb7", T_SLASH, 0},               {"\xc2\xb7", T_STAR, 0},
        {"\xe2\x8b\x85", T_STAR, 0},            {"\xe2\x88\x92", T_MINUS, 0},
        {"\xc2\xb1", T_PM, 0},                  {"\xe2\x88\x93", T_MP, 0},
        {"\xe2\x89\xa4", T_REL, RLVR_MXR_LE},   {"\xe2\x89\xa5", T_REL, RLVR_MXR_GE},
        {"\xe2\x89\xa0", T_REL, RLVR_MXR_NE},   {"\xe2\x89\x88", T_REL, RLVR_MXR_APPROX},
        {"\xc2\xb0", T_CIRC, 0},                {"\xe2\x88\xaa", T_CMD, W_CUP},
        {"\xe2\x88\xa9", T_CMD, W_CAP},         {"\xe2\x88\x88", T_CMD, W_IN},
        {"\xe2\x88\x85", T_CMD, W_EMPTY},       {"\xc2\xa0", -1, 0}, /* no-break space */
        {"\xe2\x80\x89", -1, 0},                {"\xe2\x80\xaf", -1, 0},
    };
    for (size_t k = 0; k < sizeof uni / sizeof uni[0]; k++) {
      size_t ul = strlen(uni[k].u);
      if (i + ul <= n && !memcmp(s + i, uni[k].u, ul)) {
        if (uni[k].t < 0) {
          p->pos = i + ul;
          goto again;
        }
        t->t = uni[k].t;
        t->sub = uni[k].sub;
        t->end = i + ul;
        return;
      }
    }
    t->t = T_OTHER;
    t->end = i + 1;
  } else {
    switch (c) {
    case '+': ONE(T_PLUS); if (i + 1 < n && s[i + 1] == '-') t->t = T_PM, t->end = i + 2; break;
    case '-': ONE(T_MINUS); if (i + 1 < n && s[i + 1] == '+') t->t = T_MP, t->end = i + 2; break;
    case '*': ONE(T_STAR); if (i + 1 < n && s[i + 1] == '*') t->t = T_CARET, t->end = i + 2; break;
    case '/': ONE(T_SLASH); break;
    case '^': ONE(T_CARET); break;
    case '_': ONE(T_UNDER); break;
    case '(': ONE(T_LPAREN); break;
    case ')': ONE(T_RPAREN); break;
    case '[': ONE(T_LBRACK); break;
    case ']': ONE(T_RBRACK); break;
    case '{':
      /* "{,}" inside a number was taken by the number; "{}" alone is empty: skip it */
      if (i + 1 < n && s[i + 1] == '}') {
        p->pos = i + 2;
        goto again;
      }
      ONE(T_LBRACE);
      break;
    case '}': ONE(T_RBRACE); break;
    case ',': ONE(T_COMMA); break;
    case ';': ONE(T_SEMI); break;
    case '|': ONE(T_BAR); break;
    case '&': ONE(T_AMP); break;
    case '%': ONE(T_PCT); break;
    case '\'': ONE(T_PRIME); break;
    case ':': ONE(T_COLON); if (i + 1 < n && s[i + 1] == '=') t->t = T_REL, t->sub = RLVR_MXR_EQ, t->end = i + 2; break;
    case '!':
      ONE(T_BANG);
      if (i + 1 < n && s[i + 1] == '=') t->t = T_REL, t->sub = RLVR_MXR_NE, t->end = i + 2;
      break;
    case '=':
      ONE(T_REL);
      t->sub = RLVR_MXR_EQ;
      if (i + 1 < n && s[i + 1] == '=') t->end = i + 2;
      break;
    case '<':
      ONE(T_REL);
      t->sub = RLVR_MXR_LT;
      if (i + 1 < n && s[i + 1] == '=') t->sub = RLVR_MXR_LE, t->end = i + 2;
      break;
    case '>':
      ONE(T_REL);
      t->sub = RLVR_MXR_GT;
      if (i + 1 < n && s[i + 1] == '=') t->sub = RLVR_MXR_GE, t->end = i + 2;
      break;
    default: ONE(T_OTHER); break;
    }
  }
#undef ONE
}

static tok *peek(parser *p) {
  while (!p->have) {
    lex(p, &p->cur);
    p->have = 1;
    /* & only matters inside matrices; elsewhere (aligned, cases) it is alignment */
    if (p->cur.t == T_AMP && !p->matrix_depth) {
      p->pos = p->cur.end;
      p->have = 0;
    }
  }
  return &p->cur;
}

static void advance(parser *p) {
  peek(p);
  p->pos = p->cur.end;
  p->have = 0;
}

static int accept(parser *p, int type) {
  if (peek(p)->t != type) return 0;
  advance(p);
  return 1;
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static rlvr_mx_node *node_new(parser *p, int kind, uint32_t nkids) {
  if (p->err) return NULL;
  if (++p->nodes > RLVR_MX_MAX_NODES) {
    fail(p, RLVR_ERR_RANGE, "expression has too many parts");
    return NULL;
  }
  rlvr_mx_node *n = rlvr_mctx_alloc(p->m, sizeof *n + nkids * sizeof(rlvr_mx_node *));
  if (!n) {
    fail(p, RLVR_ERR_NOMEM, "out of memory");
    return NULL;
  }
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  n->nkids = nkids;
  n->kids = (rlvr_mx_node **)(n + 1);
  return n;
}

static rlvr_mx_node *node1(parser *p, int kind, rlvr_mx_node *a) {
  if (!a) return NULL;
  rlvr_mx_node *n = node_new(p, kind, 1);
  if (n) n->kids[0] = a;
  return n;
}

static rlvr_mx_node *node2(parser *p, int kind, rlvr_mx_node *a, rlvr_mx_node *b) {
  if (!a || !b) return NULL;
  rlvr_mx_node *n = node_new(p, kind, 2);
  if (n) n->kids[0] = a, n->kids[1] = b;
  return n;
}

/* A growable array of children, kept in the context. */
typedef struct {
  rlvr_mx_node **v;
  uint32_t n, cap;
  rlvr_mx_node *inline_v[8];
} kidvec;

static void kv_init(kidvec *k) {
  k->v = k->inline_v;
  k->n = 0;
  k->cap = 8;
}

static int kv_push(parser *p, kidvec *k, rlvr_mx_node *x) {
  if (!x) return 0;
  if (k->n == k->cap) {
    rlvr_mx_node **nv = rlvr_mctx_alloc(p->m, 2 * k->cap * sizeof *nv);
    if (!nv) return fail(p, RLVR_ERR_NOMEM, "out of memory"), 0;
    memcpy(nv, k->v, k->n * sizeof *nv);
    k->v = nv;
    k->cap *= 2;
  }
  k->v[k->n++] = x;
  return 1;
}

static rlvr_mx_node *kv_node(parser *p, kidvec *k, int kind) {
  rlvr_mx_node *n = node_new(p, kind, k->n);
  if (n) memcpy(n->kids, k->v, k->n * sizeof *n->kids);
  return n;
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static char *ctx_strdup(parser *p, const char *s, size_t n) {
  char *d = rlvr_mctx_alloc(p->m, n + 1);
  if (!d) {
    fail(p, RLVR_ERR_NOMEM, "out of memory");
    return NULL;
  }
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static rlvr_mx_node *make_sym(parser *p, const char *name, size_t len) {
  rlvr_mx_node *n = node_new(p, RLVR_MX_SYM, 0);
  if (!n) return NULL;
  n->str = ctx_strdup(p, name, len);
  n->len = (uint32_t)len;
  n->hash = hash_bytes(name, len);
  return n;
}

static rlvr_mx_node *make_const(parser *p, int id) {
  rlvr_mx_node *n = node_new(p, RLVR_MX_CONST, 0);
  if (n) n->op = (uint8_t)id;
  return n;
}

static rlvr_mx_node *make_num_text(parser *p, const char *s, size_t len) {
  /* copy without thousands separators: digits, '.', exponent */
  char stackbuf[128];
  char *d = len < sizeof stackbuf ? stackbuf : rlvr_mctx_alloc(p->m, len + 1);
  if (!d) return fail(p, RLVR_ERR_NOMEM, "out of memory"), NULL;
  size_t k = 0;
  int seen_point = 0, seen_exp = 0, frac = 0, sig = 0, leading = 1;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (is_digit(c)) {
      d[k++] = c;
      if (!seen_exp) {
        if (seen_point) frac++;
        if (c != '0') leading = 0;
        if (!leading) sig++;
      }
    } else if (c == '.') {
      d[k++] = c, seen_point = 1;
    } else if (c == 'e' || c == 'E') {
      d[k++] = c, seen_exp = 1;
    } else if ((c == '+' || c == '-') && seen_exp) {
      d[k++] = c;
    } /* separators are dropped */
  }
  rlvr_mx_node *n = node_new(p, RLVR_MX_NUM, 0);
  if (!n) return NULL;
  int err = rlvr_rat_from_dec(p->m, &n->num, d, k);
  if (err) {
    if (!p->err) p->err = err;
    return NULL;
  }
  if (seen_point && frac) n->flags |= RLVR_MXN_POINT;
  if (seen_exp) n->flags |= RLVR_MXN_EXP;
  n->frac_digits = (int16_t)(frac > 32000 ? 32000 : frac);
  n->sig_digits = (int16_t)(sig > 32000 ? 32000 : sig);
  double mant;
  int64_t e2;
  rlvr_rat_frexp(&n->num, &mant, &e2);
  n->numd = (e2 > 1000 || e2 < -1000) && mant != 0 ? NAN : rlvr_rat_to_double(&n->num);
  return n;
}

static rlvr_mx_node *make_int(parser *p, int64_t v) {
  rlvr_mx_node *n = node_new(p, RLVR_MX_NUM, 0);
  if (!n) return NULL;
  int err = rlvr_rat_from_i64(p->m, &n->num, v, 1);
  if (err) {
    if (!p->err) p->err = err;
    return NULL;
  }
  n->numd = (double)v;
  return n;
}

static int is_int_literal(const rlvr_mx_node *n) {
  return n && n->kind == RLVR_MX_NUM && !(n->flags & (RLVR_MXN_POINT | RLVR_MXN_EXP)) && rlvr_rat_is_int(&n->num);
}

/* ------------------------------------------------------------------ */
/* parser                                                              */

static rlvr_mx_node *parse_list(parser *p, int closer1, int closer2);
static rlvr_mx_node *parse_rel(parser *p);
static rlvr_mx_node *parse_sum(parser *p);
static rlvr_mx_node *parse_unary(parser *p);
static rlvr_mx_node *parse_power(parser *p);
static rlvr_mx_node *parse_postfix(parser *p);
static rlvr_mx_node *parse_primary(parser *p);

static int enter(parser *p) {
  if (++p->depth > RLVR_MX_MAX_DEPTH) return fail(p, RLVR_ERR_RANGE, "expression nested too deeply"), 0;
  return 1;
}

static int is_separator(parser *p, const tok *t) {
  if (t->t == T_COMMA || t->t == T_SEMI || (t->t == T_ROWSEP && !p->matrix_depth)) return 1;
  if (t->t == T_WORD && t->sub == W_SEP) return 1;
  if (t->t == T_CMD && t->sub == W_SEP) return 1;
  if (t->t == T_TEXT) { /* \text{ and }, \text{or}, \text{,} */
    size_t a = t->a, l = t->alen;
    while (l && is_space((unsigned char)p->s[a])) a++, l--;
    while (l && is_space((unsigned char)p->s[a + l - 1])) l--;
    if ((l == 3 && !memcmp(p->s + a, "and", 3)) || (l == 2 && !memcmp(p->s + a, "or", 2)) ||
        (l == 1 && p->s[a] == ',') || (l == 4 && !memcmp(p->s + a, "and ", 4)))
      return 1;
  }
  return 0;
}

/* Items separated by commas (and friends) up to a closer (or the end).
 * One item is returned as itself, several as a LIST; *count gets the number. */
static rlvr_mx_node *parse_items(parser *p, int closer1, int closer2, uint32_t *count) {
  kidvec k;
  kv_init(&k);
  for (;;) {
    tok *t = peek(p);
    if (t->t == T_END || t->t == closer1 || t->t == closer2) break;
    if (is_separator(p, t)) { /* empty item (",," or a leading/trailing separator): skip */
      advance(p);
      continue;
    }
    rlvr_mx_node *x = parse_rel(p);
    if (!x) return NULL;
    if (!kv_push(p, &k, x)) return NULL;
    t = peek(p);
    if (is_separator(p, t)) {
      advance(p);
      continue;
    }
    if (t->t == T_END || t->t == closer1 || t->t == closer2) break;
    fail(p, RLVR_ERR_FORMAT, "unexpected token");
    return NULL;
  }
  *count = k.n;
  if (k.n == 0) return NULL;
  if (k.n == 1) return k.v[0];
  return kv_node(p, &k, RLVR_MX_LIST);
}

static rlvr_mx_node *parse_list(parser *p, int closer1, int closer2) {
  uint32_t count = 0;
  rlvr_mx_node *x = parse_items(p, closer1, closer2, &count);
  if (!x && !p->err) fail(p, RLVR_ERR_FORMAT, "empty expression");
  return x;
}

static int relation_of(parser *p, tok *t) {
  if (t->t == T_REL) return t->sub;
  if (t->t == T_CMD && t->sub == W_IN) return RLVR_MXR_IN;
  if (t->t == T_WORD && t->sub == W_IN) { /* "x in [1, 2]": only before a bracket */
    size_t save = p->pos;
    int have = p->have;
    tok cur = p->cur;
    advance(p);
    int nt = peek(p)->t;
    p->pos = save, p->have = have, p->cur = cur;
    if (nt == T_LBRACK || nt == T_LPAREN || nt == T_LSET) return RLVR_MXR_IN;
  }
  return 0;
}

static rlvr_mx_node *parse_union(parser *p);

static rlvr_mx_node *parse_rel(parser *p) {
  rlvr_mx_node *a = parse_union(p);
  if (!a) return NULL;
  int r = relation_of(p, peek(p));
  if (!r) return a;
  kidvec k;
  kv_init(&k);
  kv_push(p, &k, a);
  uint32_t rels = 0, nrel = 0;
  while ((r = relation_of(p, peek(p))) != 0) {
    advance(p);
    rlvr_mx_node *b = parse_union(p);
    if (!b) return NULL;
    if (nrel < 8) rels |= (uint32_t)r << (4 * nrel);
    nrel++;
    if (!kv_push(p, &k, b)) return NULL;
  }
  if (nrel > 8) return fail(p, RLVR_ERR_RANGE, "relation chain too long"), NULL;
  rlvr_mx_node *n = kv_node(p, &k, RLVR_MX_REL);
  if (n) n->rels = rels;
  return n;
}

static int is_interval_like(const rlvr_mx_node *n) {
  return n && (n->kind == RLVR_MX_INTERVAL || n->kind == RLVR_MX_UNION || n->kind == RLVR_MX_SET ||
               (n->kind == RLVR_MX_TUPLE && n->nkids == 2));
}

static rlvr_mx_node *parse_union(parser *p) {
  rlvr_mx_node *a = parse_sum(p);
  if (!a) return NULL;
  for (;;) {
    tok *t = peek(p);
    int op = -1;
    if (t->t == T_CMD && t->sub == W_CUP) op = 0;
    else if (t->t == T_CMD && t->sub == W_CAP) op = 1;
    else if (t->t == T_SYM && p->s[t->a] == 'U' && is_interval_like(a)) op = 0;
    if (op < 0) return a;
    advance(p);
    rlvr_mx_node *b = parse_sum(p);
    if (!b) return NULL;
    if (a->kind == RLVR_MX_UNION && a->op == op) { /* flatten a ∪ b ∪ c */
      rlvr_mx_node *n = node_new(p, RLVR_MX_UNION, a->nkids + 1);
      if (!n) return NULL;
      memcpy(n->kids, a->kids, a->nkids * sizeof *n->kids);
      n->kids[a->nkids] = b;
      n->op = (uint8_t)op;
      a = n;
    } else {
      a = node2(p, RLVR_MX_UNION, a, b);
      if (a) a->op = (uint8_t)op;
    }
    if (!a) return NULL;
  }
}

static int starts_primary(parser *p, tok *t) {
  switch (t->t) {
  case T_NUM: case T_SYM: case T_LPAREN: case T_LBRACK: case T_LBRACE: case T_LSET: case T_CONST:
  case T_SQRT: case T_LANGLE: case T_LFLOOR: case T_LCEIL:
    return 1;
  case T_BAR: return p->abs_depth == 0;
  case T_WORD: return t->sub == W_FUNC || (t->sub == W_UNKNOWN && !t->space_before);
  case T_CMD:
    switch (t->sub) {
    case W_FRAC: case W_BINOM: case W_FUNC: case W_GREEK: case W_WRAP: case W_ACCENT: case W_BEGIN:
    case W_EMPTY: case W_OPNAME: case W_UNKNOWN: case W_DOTS:
      return 1;
    default: return 0;
    }
  default: return 0;
  }
}

/* Units and words after a value: "5 cm", "12 \text{ meters}", "3 km/h", "4 sq ft", "10 m^2".
 * Returns 1 if something was dropped. */
static int drop_units(parser *p) {
  int dropped = 0;
  for (;;) {
    tok *t = peek(p);
    int unit = (t->t == T_WORD && (t->sub == W_UNIT || (t->sub == W_UNKNOWN && t->space_before))) ||
               (t->t == T_WORD && t->sub == W_IN && !relation_of(p, t)) || t->t == T_TEXT;
    if (t->t == T_TEXT) { /* text holding digits is not a unit: parse it as math */
      for (size_t i = 0; i < t->alen; i++)
        if (is_digit(p->s[t->a + i])) unit = 0;
      if (is_separator(p, t)) unit = 0;
    }
    if (!unit) break;
    advance(p);
    dropped = 1;
    /* m^2, cm^{3}: the exponent belongs to the unit */
    if (peek(p)->t == T_CARET) {
      advance(p);
      if (peek(p)->t == T_LBRACE) {
        advance(p);
        while (peek(p)->t != T_RBRACE && peek(p)->t != T_END) advance(p);
        accept(p, T_RBRACE);
      } else {
        advance(p);
      }
    }
    /* km/h, m/s^2 */
    if (peek(p)->t == T_SLASH) {
      size_t save = p->pos;
      tok cur = p->cur;
      advance(p);
      tok *u = peek(p);
      if (!((u->t == T_WORD && (u->sub == W_UNIT || u->sub == W_UNKNOWN)) || u->t == T_TEXT || u->t == T_SYM)) {
        p->pos = save, p->cur = cur, p->have = 1;
        break;
      }
    }
  }
  if (dropped) p->notes |= RLVR_MXP_UNITS;
  return dropped;
}

static rlvr_mx_node *parse_term(parser *p) {
  rlvr_mx_node *f = parse_unary(p);
  if (!f) return NULL;
  kidvec k;
  kv_init(&k);
  kv_push(p, &k, f);
  for (;;) {
    tok *t = peek(p);
    if (t->t == T_STAR || (t->t == T_CMD && t->sub == W_MUL)) {
      advance(p);
      if (!kv_push(p, &k, parse_unary(p))) return NULL;
    } else if (t->t == T_SLASH || (t->t == T_CMD && t->sub == W_DIV) || t->t == T_COLON) {
      advance(p);
      rlvr_mx_node *d = parse_unary(p);
      rlvr_mx_node *left = k.n == 1 ? k.v[0] : kv_node(p, &k, RLVR_MX_MUL);
      rlvr_mx_node *q = node2(p, RLVR_MX_DIV, left, d);
      if (!q) return NULL;
      kv_init(&k);
      kv_push(p, &k, q);
    } else if (drop_units(p)) {
      continue;
    } else if (starts_primary(p, t) &&
               !(t->t == T_SYM && p->s[t->a] == 'U' && is_interval_like(k.v[k.n - 1]))) {
      rlvr_mx_node *g = parse_power(p);
      if (!g) return NULL;
      /* a text label before a value ("\text{Area } 5") is dropped */
      if (k.n == 1 && k.v[0]->kind == RLVR_MX_TEXT) {
        k.v[0] = g;
        p->notes |= RLVR_MXP_UNITS;
        continue;
      }
      if (!kv_push(p, &k, g)) return NULL;
    } else {
      break;
    }
  }
  return k.n == 1 ? k.v[0] : kv_node(p, &k, RLVR_MX_MUL);
}

static rlvr_mx_node *parse_sum(parser *p) {
  if (!enter(p)) return NULL;
  rlvr_mx_node *t = parse_term(p);
  if (!t) return NULL;
  kidvec k;
  kv_init(&k);
  kv_push(p, &k, t);
  for (;;) {
    tok *tk = peek(p);
    if (tk->t == T_PLUS) {
      advance(p);
      if (!kv_push(p, &k, parse_term(p))) return NULL;
    } else if (tk->t == T_MINUS) {
      advance(p);
      if (!kv_push(p, &k, node1(p, RLVR_MX_NEG, parse_term(p)))) return NULL;
    } else if (tk->t == T_PM || tk->t == T_MP) {
      int op = tk->t == T_MP;
      advance(p);
      rlvr_mx_node *left = k.n == 1 ? k.v[0] : kv_node(p, &k, RLVR_MX_ADD);
      rlvr_mx_node *pm = node2(p, RLVR_MX_PM, left, parse_term(p));
      if (!pm) return NULL;
      pm->op = (uint8_t)op;
      kv_init(&k);
      kv_push(p, &k, pm);
    } else {
      break;
    }
  }
  p->depth--;
  return k.n == 1 ? k.v[0] : kv_node(p, &k, RLVR_MX_ADD);
}

static rlvr_mx_node *parse_unary(parser *p) {
  tok *t = peek(p);
  if (t->t == T_MINUS) {
    advance(p);
    if (!enter(p)) return NULL;
    rlvr_mx_node *x = node1(p, RLVR_MX_NEG, parse_unary(p));
    p->depth--;
    return x;
  }
  if (t->t == T_PLUS) {
    advance(p);
    return parse_unary(p);
  }
  if (t->t == T_PM || t->t == T_MP) {
    int op = t->t == T_MP;
    advance(p);
    if (!enter(p)) return NULL;
    rlvr_mx_node *x = node1(p, RLVR_MX_PM, parse_unary(p));
    if (x) x->op = (uint8_t)op;
    p->depth--;
    return x;
  }
  return parse_power(p);
}

/* A LaTeX argument: {group}, or one character, or one command (\frac12, \sqrt3, \frac\pi2). */
static rlvr_mx_node *parse_arg(parser *p) {
  if (p->have) { /* a token was peeked: use it */
    tok *t = peek(p);
    if (t->t == T_LBRACE) {
      advance(p);
      rlvr_mx_node *x = parse_list(p, T_RBRACE, -1);
      if (!x || !accept(p, T_RBRACE)) return fail(p, RLVR_ERR_FORMAT, "missing }"), NULL;
      return x;
    }
    if (t->t == T_NUM && t->alen > 1) { /* \frac 12 read as one number: split the first digit */
      p->pos = t->start;
      p->have = 0;
    } else {
      return parse_primary(p);
    }
  }
  while (p->pos < p->len && is_space((unsigned char)p->s[p->pos])) p->pos++;
  if (p->pos >= p->len) return fail(p, RLVR_ERR_FORMAT, "missing argument"), NULL;
  char c = p->s[p->pos];
  if (c == '{') {
    p->pos++;
    rlvr_mx_node *x = parse_list(p, T_RBRACE, -1);
    if (!x || !accept(p, T_RBRACE)) return fail(p, RLVR_ERR_FORMAT, "missing }"), NULL;
    return x;
  }
  if (is_digit(c)) {
    p->pos++;
    return make_int(p, c - '0');
  }
  if (is_alpha(c)) {
    p->pos++;
    if (c == 'e') return make_const(p, RLVR_MXC_E);
    if (c == 'i') return make_const(p, RLVR_MXC_I);
    return make_sym(p, &c, 1);
  }
  return parse_primary(p);
}

/* The exponent after ^: {group}, a signed atom, or \circ (degrees, dropped: returns NULL with *degree). */
static rlvr_mx_node *parse_exponent(parser *p, int *degree) {
  *degree = 0;
  tok *t = peek(p);
  if (t->t == T_CIRC) {
    advance(p);
    *degree = 1;
    return NULL;
  }
  if (t->t == T_LBRACE) {
    advance(p);
    if (peek(p)->t == T_CIRC) {
      advance(p);
      if (accept(p, T_RBRACE)) {
        *degree = 1;
        return NULL;
      }
      return fail(p, RLVR_ERR_FORMAT, "bad degree sign"), NULL;
    }
    rlvr_mx_node *x = parse_list(p, T_RBRACE, -1);
    if (!x || !accept(p, T_RBRACE)) return fail(p, RLVR_ERR_FORMAT, "missing }"), NULL;
    return x;
  }
  if (t->t == T_MINUS) {
    advance(p);
    return node1(p, RLVR_MX_NEG, parse_exponent(p, degree));
  }
  if (t->t == T_PLUS) {
    advance(p);
    return parse_exponent(p, degree);
  }
  return parse_postfix(p);
}

static rlvr_mx_node *parse_power(parser *p) {
  if (!enter(p)) return NULL;
  rlvr_mx_node *b = parse_postfix(p);
  while (b && peek(p)->t == T_CARET) {
    advance(p);
    int degree;
    rlvr_mx_node *e = parse_exponent(p, &degree);
    if (degree) {
      p->notes |= RLVR_MXP_DEGREE;
      continue;
    }
    b = node2(p, RLVR_MX_POW, b, e);
    /* postfix after a power: (2^3)! is rare; n^2! is read as n^(2!) by nobody, so stop */
  }
  p->depth--;
  return b;
}

/* Subscript text: x_1, x_{n+1}, a_{12}: returns the canonical subscript string. */
static int parse_subscript(parser *p, char **out, size_t *olen) {
  tok *t = peek(p);
  rlvr_mx_node *x;
  if (t->t == T_LBRACE) {
    advance(p);
    x = parse_list(p, T_RBRACE, -1);
    if (!x || !accept(p, T_RBRACE)) return fail(p, RLVR_ERR_FORMAT, "bad subscript"), 0;
  } else if (t->t == T_NUM) { /* x_12 in plain text; LaTeX would read x_1 2, but nobody means that */
    advance(p);
    x = make_num_text(p, p->s + t->a, t->alen);
  } else {
    x = parse_arg(p);
  }
  if (!x) return 0;
  int err = rlvr_mx_print(p->m, x, out, olen);
  if (err) return fail(p, err, "subscript"), 0;
  return 1;
}

static rlvr_mx_node *parse_postfix(parser *p) {
  rlvr_mx_node *x = parse_primary(p);
  while (x) {
    tok *t = peek(p);
    if (t->t == T_BANG) {
      advance(p);
      x = node1(p, RLVR_MX_FACT, x);
    } else if (t->t == T_PCT || (t->t == T_WORD && t->sub == W_PCT)) {
      advance(p);
      p->notes |= RLVR_MXP_PERCENT;
      x = node1(p, RLVR_MX_PCT, x);
    } else if (t->t == T_CIRC) {
      advance(p);
      p->notes |= RLVR_MXP_DEGREE;
    } else if (t->t == T_UNDER) {
      advance(p);
      char *sub;
      size_t sl;
      if (!parse_subscript(p, &sub, &sl)) return NULL;
      if (is_int_literal(x) && rlvr_rat_sign(&x->num) >= 0) { /* 1011_2: a number in base 2 */
        char *digits;
        size_t dl;
        if (rlvr_mx_print(p->m, x, &digits, &dl)) return fail(p, RLVR_ERR_NOMEM, "out of memory"), NULL;
        char *name = rlvr_mctx_alloc(p->m, dl + sl + 2);
        if (!name) return fail(p, RLVR_ERR_NOMEM, "out of memory"), NULL;
        memcpy(name, digits, dl);
        name[dl] = '_';
        memcpy(name + dl + 1, sub, sl);
        name[dl + 1 + sl] = 0;
        x = make_sym(p, name, dl + 1 + sl);
        if (x) x->op = 1;
      } else if (x->kind == RLVR_MX_SYM) { /* x_1 is a variable of its own */
        size_t nl = x->len + 1 + sl;
        char *name = rlvr_mctx_alloc(p->m, nl + 1);
        if (!name) return fail(p, RLVR_ERR_NOMEM, "out of memory"), NULL;
        memcpy(name, x->str, x->len);
        name[x->len] = '_';
        memcpy(name + x->len + 1, sub, sl);
        name[nl] = 0;
        x = make_sym(p, name, nl);
      } else {
        p->notes |= RLVR_MXP_UNITS; /* a subscript on a group: dropped */
      }
    } else if (t->t == T_PRIME && x->kind == RLVR_MX_SYM) {
      advance(p);
      char name[256];
      size_t nl = x->len < 250 ? x->len : 250;
      memcpy(name, x->str, nl);
      name[nl++] = '\'';
      x = make_sym(p, name, nl);
    } else {
      break;
    }
  }
  return x;
}

/* Brackets: ( [ { with their closers. */
static rlvr_mx_node *parse_bracket(parser *p, int open) {
  int close1, close2;
  if (open == T_LPAREN) close1 = T_RPAREN, close2 = T_RBRACK;
  else if (open == T_LBRACK) close1 = T_RBRACK, close2 = T_RPAREN;
  else if (open == T_LBRACE) close1 = T_RBRACE, close2 = -1;
  else if (open == T_LSET) close1 = T_RSET, close2 = T_RBRACE;
  else close1 = T_RANGLE, close2 = -1;
  int save_abs = p->abs_depth, save_mx = p->matrix_depth;
  p->abs_depth = 0;
  p->matrix_depth = 0;
  uint32_t count = 0;
  rlvr_mx_node *x = parse_items(p, close1, close2, &count);
  p->abs_depth = save_abs;
  p->matrix_depth = save_mx;
  if (p->err) return NULL;
  tok *t = peek(p);
  int closer = t->t;
  if (closer != close1 && closer != close2) return fail(p, RLVR_ERR_FORMAT, "unclosed bracket"), NULL;
  advance(p);
  if (open == T_LSET) { /* \{ ... \}: always a set */
    if (!x) return node_new(p, RLVR_MX_SET, 0);
    if (x->kind == RLVR_MX_LIST) {
      x->kind = RLVR_MX_SET;
      return x;
    }
    return node1(p, RLVR_MX_SET, x);
  }
  if (!x) return fail(p, RLVR_ERR_FORMAT, "empty brackets"), NULL;
  if (open == T_LBRACE) return x; /* {a} group; {a, b} stays a LIST */
  if (open == T_LANGLE) {
    if (x->kind == RLVR_MX_LIST) {
      x->kind = RLVR_MX_TUPLE;
      return x;
    }
    return node1(p, RLVR_MX_TUPLE, x);
  }
  if (count == 1) {
    if ((open == T_LPAREN) != (closer == T_RPAREN)) return fail(p, RLVR_ERR_FORMAT, "mismatched bracket"), NULL;
    return x;
  }
  if (count == 2 && !(open == T_LPAREN && closer == T_RPAREN)) {
    x->kind = RLVR_MX_INTERVAL;
    x->op = (uint8_t)((open == T_LBRACK ? 1 : 0) | (closer == T_RBRACK ? 2 : 0));
    return x;
  }
  if (count > 2 && (open == T_LPAREN) != (closer == T_RPAREN)) return fail(p, RLVR_ERR_FORMAT, "mismatched bracket"), NULL;
  x->kind = RLVR_MX_TUPLE;
  return x;
}

/* \begin{env} ... \end{env}: matrices become MATRIX, other environments (cases,
 * aligned) a LIST of their rows. */
static rlvr_mx_node *parse_env(parser *p) {
  size_t cs, cl;
  if (p->have) return fail(p, RLVR_ERR_FORMAT, "bad \\begin"), NULL;
  if (!skip_raw_group(p, &cs, &cl)) return fail(p, RLVR_ERR_FORMAT, "\\begin without {name}"), NULL;
  const char *env = p->s + cs;
  int is_matrix = (cl >= 6 && !memcmp(env + cl - 6, "matrix", 6)) || (cl == 5 && !memcmp(env, "array", 5));
  if (cl == 5 && !memcmp(env, "array", 5)) skip_raw_group(p, NULL, NULL); /* column spec */
  kidvec cells;
  kv_init(&cells);
  uint32_t rows = 0, cols = 0, cur = 0;
  if (is_matrix) p->matrix_depth++;
  for (;;) {
    tok *t = peek(p);
    if (t->t == T_CMD && t->sub == W_END) break;
    if (t->t == T_END) return fail(p, RLVR_ERR_FORMAT, "missing \\end"), NULL;
    if (is_matrix) {
      if (t->t == T_ROWSEP) { /* end of a row */
        advance(p);
        if (cur) {
          if (rows && cur != cols) return fail(p, RLVR_ERR_FORMAT, "ragged matrix"), NULL;
          cols = cur, rows++, cur = 0;
        }
        continue;
      }
      if (t->t == T_AMP) {
        advance(p);
        continue;
      }
      rlvr_mx_node *x = parse_rel(p);
      if (!x || !kv_push(p, &cells, x)) return NULL;
      cur++;
    } else {
      if (t->t == T_ROWSEP || t->t == T_COMMA || t->t == T_SEMI) {
        advance(p);
        continue;
      }
      rlvr_mx_node *x = parse_rel(p);
      if (!x || !kv_push(p, &cells, x)) return NULL;
    }
  }
  advance(p); /* \end */
  skip_raw_group(p, NULL, NULL);
  if (is_matrix) {
    p->matrix_depth--;
    if (cur) {
      if (rows && cur != cols) return fail(p, RLVR_ERR_FORMAT, "ragged matrix"), NULL;
      cols = cur, rows++;
    }
    if (!rows) return fail(p, RLVR_ERR_FORMAT, "empty matrix"), NULL;
    rlvr_mx_node *n = kv_node(p, &cells, RLVR_MX_MATRIX);
    if (n) n->rows = rows, n->cols = cols;
    return n;
  }
  if (cells.n == 0) return fail(p, RLVR_ERR_FORMAT, "empty environment"), NULL;
  if (cells.n == 1) return cells.v[0];
  return kv_node(p, &cells, RLVR_MX_LIST);
}

/* After a function name: powers (\sin^2 x, \sin^{-1} x), a base (\log_2 x),
 * then the argument: (group) or a product of factors (\sin 2x). */
static rlvr_mx_node *parse_function(parser *p, int fid) {
  rlvr_mx_node *power = NULL, *base = NULL;
  for (;;) {
    tok *t = peek(p);
    if (t->t == T_CARET) {
      advance(p);
      int degree;
      rlvr_mx_node *e = parse_exponent(p, &degree);
      if (!e) return NULL;
      int inv = e->kind == RLVR_MX_NEG && is_int_literal(e->kids[0]) && e->kids[0]->numd == 1.0;
      if (inv && fid >= RLVR_MXF_SIN && fid <= RLVR_MXF_TAN) fid = fid - RLVR_MXF_SIN + RLVR_MXF_ASIN;
      else power = e;
    } else if (t->t == T_UNDER && fid == RLVR_MXF_LOG) {
      advance(p);
      base = parse_arg(p); /* LaTeX: \\log_28 is log base 2 of 8; \\log_{10} for more digits */
      if (!base) return NULL;
    } else {
      break;
    }
  }
  rlvr_mx_node *arg;
  if (peek(p)->t == T_LPAREN) {
    arg = parse_postfix(p);
  } else {
    arg = parse_unary(p);
    while (arg) { /* \sin 2x: the product of what follows, up to an operator or another function */
      tok *t = peek(p);
      if (!starts_primary(p, t) || (t->t == T_CMD && t->sub == W_FUNC) || (t->t == T_WORD && t->sub == W_FUNC))
        break;
      arg = node2(p, RLVR_MX_MUL, arg, parse_power(p));
    }
  }
  if (!arg) return NULL;
  rlvr_mx_node *f;
  if (base) {
    f = node2(p, RLVR_MX_FUNC, base, arg);
  } else {
    f = node1(p, RLVR_MX_FUNC, arg);
  }
  if (!f) return NULL;
  f->op = (uint8_t)fid;
  if (power) f = node2(p, RLVR_MX_POW, f, power);
  return f;
}

static rlvr_mx_node *parse_primary(parser *p) {
  if (!enter(p)) return NULL;
  tok t = *peek(p);
  rlvr_mx_node *x = NULL;
  switch (t.t) {
  case T_NUM:
    advance(p);
    x = make_num_text(p, p->s + t.a, t.alen);
    /* mixed number: 3\frac{1}{2} = 3 + 1/2 when the fraction is proper */
    if (x && is_int_literal(x) && peek(p)->t == T_CMD && p->cur.sub == W_FRAC) {
      advance(p);
      rlvr_mx_node *a = parse_arg(p), *b = a ? parse_arg(p) : NULL;
      if (!b) break;
      if (is_int_literal(a) && is_int_literal(b) && rlvr_rat_sign(&b->num) > 0 &&
          rlvr_rat_cmp(&a->num, &b->num) < 0 && rlvr_rat_sign(&a->num) > 0) {
        kidvec k;
        kv_init(&k);
        kv_push(p, &k, x);
        kv_push(p, &k, node2(p, RLVR_MX_DIV, a, b));
        x = kv_node(p, &k, RLVR_MX_ADD);
      } else {
        x = node2(p, RLVR_MX_MUL, x, node2(p, RLVR_MX_DIV, a, b));
      }
    }
    break;
  case T_SYM: {
    advance(p);
    char c = p->s[t.a];
    if (c == 'e') {
      x = make_const(p, RLVR_MXC_E);
    } else if (c == 'i') {
      x = make_const(p, RLVR_MXC_I);
    } else if ((c == 'f' || c == 'g' || c == 'h') && p->pos < p->len && p->s[p->pos] == '(') {
      /* f(x): a function of its own, compared by its printed form */
      rlvr_mx_node *args = parse_primary(p);
      if (!args) break;
      x = node1(p, RLVR_MX_CALL, args);
      if (x) {
        char *txt;
        size_t tl;
        if (rlvr_mx_print(p->m, x, &txt, &tl)) {
          fail(p, RLVR_ERR_NOMEM, "out of memory");
          x = NULL;
          break;
        }
        x->str = ctx_strdup(p, &c, 1);
        x->len = 1;
        x->hash = hash_bytes(txt, tl);
      }
    } else {
      x = make_sym(p, &c, 1);
    }
    break;
  }
  case T_CONST:
    advance(p);
    x = make_const(p, t.sub);
    break;
  case T_LPAREN: case T_LBRACK: case T_LBRACE: case T_LSET: case T_LANGLE:
    advance(p);
    x = parse_bracket(p, t.t);
    break;
  case T_BAR:
    advance(p);
    p->abs_depth++;
    x = parse_sum(p);
    p->abs_depth--;
    if (x && !accept(p, T_BAR)) {
      fail(p, RLVR_ERR_FORMAT, "unclosed |");
      x = NULL;
    }
    x = node1(p, RLVR_MX_FUNC, x);
    if (x) x->op = RLVR_MXF_ABS;
    break;
  case T_LFLOOR: case T_LCEIL:
    advance(p);
    x = parse_sum(p);
    if (x && !accept(p, t.t == T_LFLOOR ? T_RFLOOR : T_RCEIL)) {
      fail(p, RLVR_ERR_FORMAT, "unclosed floor/ceiling");
      x = NULL;
    }
    x = node1(p, RLVR_MX_FUNC, x);
    if (x) x->op = t.t == T_LFLOOR ? RLVR_MXF_FLOOR : RLVR_MXF_CEIL;
    break;
  case T_SQRT:
    advance(p);
    if (t.sub == 0 && p->s[t.start] == '\\') { /* \sqrt[n]{x} or \sqrt{x} or \sqrt3 */
      size_t i = p->pos;
      while (i < p->len && is_space((unsigned char)p->s[i])) i++;
      rlvr_mx_node *index = NULL;
      if (i < p->len && p->s[i] == '[') {
        p->pos = i + 1;
        index = parse_list(p, T_RBRACK, -1);
        if (!index || !accept(p, T_RBRACK)) {
          fail(p, RLVR_ERR_FORMAT, "bad root index");
          break;
        }
      }
      rlvr_mx_node *arg = parse_arg(p);
      if (index) {
        x = node2(p, RLVR_MX_FUNC, index, arg);
        if (x) x->op = RLVR_MXF_ROOT;
      } else {
        x = node1(p, RLVR_MX_FUNC, arg);
        if (x) x->op = RLVR_MXF_SQRT;
      }
    } else { /* sqrt(2), √2 */
      x = node1(p, RLVR_MX_FUNC, parse_power(p));
      if (x) x->op = RLVR_MXF_SQRT;
    }
    break;
  case T_TEXT: {
    advance(p);
    const char *ts = p->s + t.a;
    size_t tl = t.alen;
    int digits = 0;
    for (size_t i = 0; i < tl; i++) digits |= is_digit(ts[i]);
    if (digits) { /* \text{5 cm}: the content is math */
      parser sub = *p;
      sub.s = ts;
      sub.len = tl;
      sub.pos = 0;
      sub.have = 0;
      x = parse_list(&sub, T_END, -1);
      p->nodes = sub.nodes;
      p->notes |= sub.notes;
      if (sub.err) {
        p->err = sub.err;
        x = NULL;
      }
      break;
    }
    while (tl && is_space((unsigned char)ts[0])) ts++, tl--;
    while (tl && is_space((unsigned char)ts[tl - 1])) tl--;
    x = node_new(p, RLVR_MX_TEXT, 0);
    if (x) {
      x->str = ctx_strdup(p, ts, tl);
      x->len = (uint32_t)tl;
      x->hash = hash_bytes(ts, tl);
    }
    break;
  }
  case T_WORD:
    advance(p);
    if (t.sub == W_FUNC) {
      x = parse_function(p, t.id);
    } else if (t.sub == W_UNKNOWN || t.sub == W_UNIT || t.sub == W_IN || t.sub == W_PCT) {
      /* letters in a row inside math: a product of single-letter variables */
      kidvec k;
      kv_init(&k);
      for (size_t i = 0; i < t.alen; i++) {
        char c = p->s[t.a + i];
        kv_push(p, &k, c == 'e' ? make_const(p, RLVR_MXC_E) : c == 'i' ? make_const(p, RLVR_MXC_I) : make_sym(p, &c, 1));
      }
      x = kv_node(p, &k, RLVR_MX_MUL);
    } else {
      fail(p, RLVR_ERR_FORMAT, "unexpected word");
    }
    break;
  case T_CMD:
    advance(p);
    switch (t.sub) {
    case W_FRAC: {
      rlvr_mx_node *a = parse_arg(p);
      rlvr_mx_node *b = a ? parse_arg(p) : NULL;
      x = node2(p, RLVR_MX_DIV, a, b);
      break;
    }
    case W_BINOM: {
      rlvr_mx_node *a = parse_arg(p);
      rlvr_mx_node *b = a ? parse_arg(p) : NULL;
      x = node2(p, RLVR_MX_FUNC, a, b);
      if (x) x->op = RLVR_MXF_BINOM;
      break;
    }
    case W_FUNC: x = parse_function(p, t.id); break;
    case W_GREEK: x = make_sym(p, p->s + t.start, t.end - t.start); break;
    case W_WRAP: x = parse_arg(p); break;
    case W_OPNAME: { /* \operatorname{name}: a known function, or a named call */
      size_t cs, cl;
      if (p->have || !skip_raw_group(p, &cs, &cl)) {
        fail(p, RLVR_ERR_FORMAT, "bad \\operatorname");
        break;
      }
      const word_def *w = cl ? FIND_WORD(p->s + cs, cl) : NULL;
      if (w && w->kind == W_FUNC) {
        x = parse_function(p, w->id);
      } else {
        rlvr_mx_node *args = parse_postfix(p);
        x = node1(p, RLVR_MX_CALL, args);
        if (x) {
          char *txt;
          size_t tl;
          x->str = ctx_strdup(p, p->s + cs, cl);
          x->len = (uint32_t)cl;
          if (rlvr_mx_print(p->m, x, &txt, &tl)) {
            fail(p, RLVR_ERR_NOMEM, "out of memory");
            x = NULL;
            break;
          }
          x->hash = hash_bytes(txt, tl);
        }
      }
      break;
    }
    case W_ACCENT: { /* \overline{AB}, \vec{v}: a variable named by the whole thing */
      rlvr_mx_node *a = parse_arg(p);
      char *txt;
      size_t tl;
      if (!a || rlvr_mx_print(p->m, a, &txt, &tl)) break;
      size_t cl = t.alen, nl = cl + tl + 3;
      char *name = rlvr_mctx_alloc(p->m, nl + 1);
      if (!name) break;
      snprintf(name, nl + 1, "\\%.*s{%s}", (int)cl, p->s + t.a, txt);
      x = make_sym(p, name, strlen(name));
      break;
    }
    case W_BEGIN: x = parse_env(p); break;
    case W_EMPTY: x = node_new(p, RLVR_MX_SET, 0); break;
    case W_DOTS: x = make_sym(p, "...", 3); break;
    case W_UNKNOWN: x = make_sym(p, p->s + t.start, t.end - t.start); break;
    default: fail(p, RLVR_ERR_FORMAT, "unexpected command"); break;
    }
    break;
  default:
    fail(p, RLVR_ERR_FORMAT, t.t == T_END ? "unexpected end" : "unexpected token");
    break;
  }
  p->depth--;
  if (!x && !p->err) fail(p, RLVR_ERR_FORMAT, "cannot parse");
  return x;
}

/* A whole answer that is words (no digits, no math words): "Tuesday", "no solution". */
static int is_text_answer(const char *s, size_t len) {
  int longrun = 0;
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (is_alpha(c)) {
      size_t j = i;
      while (j < len && is_alpha(s[j])) j++;
      if (j - i >= 3) {
        const word_def *w = FIND_WORD(s + i, j - i);
        if (w && w->kind != W_SEP && w->kind != W_UNIT) return 0;
        longrun = 1;
      }
      i = j;
    } else if (c == ' ' || c == '\'' || c == '-' || c == '.' || c == ',' || c == '!' || c == '?' || c >= 0x80) {
      i++;
    } else {
      return 0;
    }
  }
  return longrun;
}

int rlvr_mx_parse(rlvr_mctx *m, const char *s, size_t len, rlvr_mx_expr *out) {
  if (len > RLVR_MX_MAX_INPUT) return rlvr_error(RLVR_ERR_RANGE, "math: answer of %zu bytes is over the %d byte cap", len, RLVR_MX_MAX_INPUT);
  /* trailing sentence punctuation */
  while (len && (is_space((unsigned char)s[len - 1]) || s[len - 1] == '.' || s[len - 1] == '$')) len--;
  while (len && (is_space((unsigned char)s[0]) || s[0] == '$')) s++, len--;
  parser p;
  memset(&p, 0, sizeof p);
  p.m = m;
  p.s = s;
  p.len = len;
  rlvr_mx_node *root;
  if (is_text_answer(s, len)) {
    root = node_new(&p, RLVR_MX_TEXT, 0);
    if (root) {
      root->str = ctx_strdup(&p, s, len);
      root->len = (uint32_t)len;
      root->hash = hash_bytes(s, len);
    }
  } else {
    root = parse_list(&p, T_END, -1);
    if (root && peek(&p)->t != T_END) fail(&p, RLVR_ERR_FORMAT, "unexpected token");
  }
  if (p.err || !root) return p.err ? p.err : rlvr_error(RLVR_ERR_FORMAT, "math: cannot parse");
  if (root->kind == RLVR_MX_TEXT) p.notes |= RLVR_MXP_TEXT;
  out->root = root;
  out->notes = p.notes;
  out->nodes = p.nodes;
  return RLVR_OK;
}

/* ------------------------------------------------------------------ */
/* printing                                                            */

typedef struct {
  rlvr_mctx *m;
  char *buf;
  size_t len, cap;
  int err;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->err) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > (size_t)1 << 24) {
      b->err = rlvr_error(RLVR_ERR_RANGE, "math: printed form too long");
      return;
    }
    char *nb = rlvr_mctx_alloc(b->m, cap);
    if (!nb) {
      b->err = rlvr_error(RLVR_ERR_NOMEM, "math: out of memory");
      return;
    }
    if (b->len) memcpy(nb, b->buf, b->len);
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static const char *func_names[RLVR_MXF_COUNT] = {
    "sqrt", "root", "sin", "cos", "tan", "sec", "csc", "cot", "asin", "acos", "atan", "sinh", "cosh",
    "tanh", "ln", "log", "exp", "abs", "floor", "ceil", "binom"};

static const char *rel_names[] = {"?", "=", "<", "<=", ">", ">=", "!=", "~=", " in "};

enum { P_LIST = 0, P_REL = 1, P_UNION = 2, P_ADD = 3, P_MUL = 4, P_NEG = 5, P_POW = 6, P_POST = 7, P_ATOM = 8 };

static int prec_of(const rlvr_mx_node *n) {
  switch (n->kind) {
  case RLVR_MX_LIST: return P_LIST;
  case RLVR_MX_REL: return P_REL;
  case RLVR_MX_UNION: return P_UNION;
  case RLVR_MX_ADD: case RLVR_MX_PM: return P_ADD;
  case RLVR_MX_MUL: case RLVR_MX_DIV: return P_MUL;
  case RLVR_MX_NEG: return P_NEG;
  case RLVR_MX_POW: return P_POW;
  case RLVR_MX_FACT: case RLVR_MX_PCT: return P_POST;
  case RLVR_MX_NUM:
    if (rlvr_rat_sign(&n->num) < 0) return P_NEG;
    return rlvr_rat_is_int(&n->num) ? P_ATOM : P_MUL;
  default: return P_ATOM;
  }
}

static void print_node(sbuf *b, const rlvr_mx_node *n, int parent);

static void print_kids(sbuf *b, const rlvr_mx_node *n, const char *sep, int prec) {
  for (uint32_t i = 0; i < n->nkids; i++) {
    if (i) sb_str(b, sep);
    print_node(b, n->kids[i], prec);
  }
}

static void print_node(sbuf *b, const rlvr_mx_node *n, int parent) {
  if (b->err) return;
  int prec = prec_of(n);
  int paren = prec < parent;
  if (paren) sb_str(b, "(");
  switch (n->kind) {
  case RLVR_MX_NUM: {
    char *s;
    size_t l;
    int err = rlvr_rat_to_str(b->m, &n->num, &s, &l);
    if (err) b->err = err;
    else sb_put(b, s, l);
    break;
  }
  case RLVR_MX_SYM: sb_put(b, n->str, n->len); break;
  case RLVR_MX_CONST: sb_str(b, n->op == RLVR_MXC_PI ? "pi" : n->op == RLVR_MXC_E ? "e" : n->op == RLVR_MXC_I ? "i" : "oo"); break;
  case RLVR_MX_ADD:
    for (uint32_t i = 0; i < n->nkids; i++) {
      const rlvr_mx_node *k = n->kids[i];
      if (i && k->kind == RLVR_MX_NEG) {
        sb_str(b, "-");
        print_node(b, k->kids[0], P_MUL);
      } else {
        if (i) sb_str(b, "+");
        print_node(b, k, P_ADD);
      }
    }
    break;
  case RLVR_MX_MUL: print_kids(b, n, "*", P_MUL); break;
  case RLVR_MX_NEG: /* -5/2 reads unambiguously; -(x+1) needs its parentheses */
    sb_str(b, "-");
    print_node(b, n->kids[0], n->kids[0]->kind == RLVR_MX_NUM && rlvr_rat_sign(&n->kids[0]->num) > 0 ? P_MUL : P_POW);
    break;
  case RLVR_MX_DIV: print_node(b, n->kids[0], P_MUL); sb_str(b, "/"); print_node(b, n->kids[1], P_NEG); break;
  case RLVR_MX_POW: print_node(b, n->kids[0], P_POST); sb_str(b, "^"); print_node(b, n->kids[1], P_POW); break;
  case RLVR_MX_FUNC:
    sb_str(b, n->op < RLVR_MXF_COUNT ? func_names[n->op] : "?");
    sb_str(b, "(");
    print_kids(b, n, ",", P_REL);
    sb_str(b, ")");
    break;
  case RLVR_MX_CALL:
    sb_put(b, n->str ? n->str : "f", n->str ? n->len : 1);
    sb_str(b, "(");
    if (n->nkids && n->kids[0]->kind == RLVR_MX_TUPLE) print_kids(b, n->kids[0], ",", P_REL);
    else print_kids(b, n, ",", P_REL);
    sb_str(b, ")");
    break;
  case RLVR_MX_FACT: print_node(b, n->kids[0], P_ATOM); sb_str(b, "!"); break;
  case RLVR_MX_PCT: print_node(b, n->kids[0], P_ATOM); sb_str(b, "%"); break;
  case RLVR_MX_PM:
    if (n->nkids == 2) print_node(b, n->kids[0], P_ADD);
    sb_str(b, n->op ? "-+" : "+-");
    print_node(b, n->kids[n->nkids - 1], P_MUL);
    break;
  case RLVR_MX_TUPLE: sb_str(b, "("); print_kids(b, n, ",", P_REL); sb_str(b, ")"); break;
  case RLVR_MX_SET: sb_str(b, "{"); print_kids(b, n, ",", P_REL); sb_str(b, "}"); break;
  case RLVR_MX_LIST: print_kids(b, n, ",", P_REL); break;
  case RLVR_MX_INTERVAL:
    sb_str(b, n->op & 1 ? "[" : "(");
    print_kids(b, n, ",", P_REL);
    sb_str(b, n->op & 2 ? "]" : ")");
    break;
  case RLVR_MX_UNION: print_kids(b, n, n->op ? " n " : " U ", P_ADD); break;
  case RLVR_MX_MATRIX:
    sb_str(b, "[");
    for (uint32_t r = 0; r < n->rows; r++) {
      sb_str(b, r ? ",[" : "[");
      for (uint32_t c = 0; c < n->cols; c++) {
        if (c) sb_str(b, ",");
        print_node(b, n->kids[r * n->cols + c], P_REL);
      }
      sb_str(b, "]");
    }
    sb_str(b, "]");
    break;
  case RLVR_MX_REL:
    for (uint32_t i = 0; i < n->nkids; i++) {
      if (i) {
        uint32_t r = (n->rels >> (4 * (i - 1))) & 15;
        sb_str(b, r < sizeof rel_names / sizeof rel_names[0] ? rel_names[r] : "?");
      }
      print_node(b, n->kids[i], P_UNION);
    }
    break;
  case RLVR_MX_TEXT: sb_str(b, "\""); sb_put(b, n->str, n->len); sb_str(b, "\""); break;
  }
  if (paren) sb_str(b, ")");
}

int rlvr_mx_print(rlvr_mctx *m, const rlvr_mx_node *n, char **out, size_t *len) {
  sbuf b = {m, NULL, 0, 0, 0};
  print_node(&b, n, P_LIST);
  if (!b.err && !b.buf) sb_put(&b, "", 0);
  if (b.err) return b.err;
  *out = b.buf;
  *len = b.len;
  return RLVR_OK;
}

/* ------------------------------------------------------------------ */
/* exact evaluation                                                    */

static rlvr_mx_exactness from_err(int err) {
  return err == RLVR_ERR_RANGE ? RLVR_MX_TOOBIG : err == RLVR_ERR_NOMEM ? RLVR_MX_TOOBIG : RLVR_MX_UNDEFINED;
}

/* A rational value for each variable at sample point pt (see sym_value for the
 * float points): p/q with p in [1, 61], q in [1, 17], signs as sym_value's. */
static int sym_rational(rlvr_mctx *m, uint64_t h, int pt, rlvr_rat *out);

/* pt < 0: variables are not exact; pt >= 0: variables take rational values. */
static rlvr_mx_exactness exact(rlvr_mctx *m, const rlvr_mx_node *n, int pt, rlvr_rat *out) {
  rlvr_rat a, b, r;
  rlvr_mx_exactness e;
  int err;
  switch (n->kind) {
  case RLVR_MX_NUM: *out = n->num; return RLVR_MX_EXACT;
  case RLVR_MX_SYM: case RLVR_MX_CALL:
    if (pt < 0 || n->op == 1) return RLVR_MX_INEXACT; /* op 1: a number in a base, not a variable */
    return sym_rational(m, n->hash, pt, out) ? RLVR_MX_TOOBIG : RLVR_MX_EXACT;
  case RLVR_MX_ADD: case RLVR_MX_MUL: {
    if ((e = exact(m, n->kids[0], pt, &r))) return e;
    for (uint32_t i = 1; i < n->nkids; i++) {
      if ((e = exact(m, n->kids[i], pt, &b))) return e;
      err = n->kind == RLVR_MX_ADD ? rlvr_rat_add(m, &r, &r, &b) : rlvr_rat_mul(m, &r, &r, &b);
      if (err) return from_err(err);
    }
    *out = r;
    return RLVR_MX_EXACT;
  }
  case RLVR_MX_NEG:
    if ((e = exact(m, n->kids[0], pt, &a))) return e;
    rlvr_rat_neg(out, &a);
    return RLVR_MX_EXACT;
  case RLVR_MX_DIV:
    if ((e = exact(m, n->kids[0], pt, &a)) || (e = exact(m, n->kids[1], pt, &b))) return e;
    if (rlvr_rat_is_zero(&b)) return RLVR_MX_UNDEFINED;
    if ((err = rlvr_rat_div(m, out, &a, &b))) return from_err(err);
    return RLVR_MX_EXACT;
  case RLVR_MX_PCT:
    if ((e = exact(m, n->kids[0], pt, &a))) return e;
    if ((err = rlvr_rat_from_i64(m, &b, 100, 1)) || (err = rlvr_rat_div(m, out, &a, &b))) return from_err(err);
    return RLVR_MX_EXACT;
  case RLVR_MX_POW: {
    if ((e = exact(m, n->kids[1], pt, &b))) return e;
    if ((e = exact(m, n->kids[0], pt, &a))) return e;
    int64_t ei;
    /* trivial bases take any exponent */
    if (rlvr_rat_is_int(&a) && a.num.n <= 1 && (a.num.n == 0 || a.num.d[0] == 1) && rlvr_rat_is_int(&b)) {
      if (a.num.n == 0) {
        if (rlvr_rat_sign(&b) < 0) return RLVR_MX_UNDEFINED;
        return rlvr_rat_from_i64(m, out, rlvr_rat_sign(&b) == 0 ? 1 : 0, 1) ? RLVR_MX_TOOBIG : RLVR_MX_EXACT;
      }
      int odd = b.num.n && (b.num.d[0] & 1);
      return rlvr_rat_from_i64(m, out, a.num.neg && odd ? -1 : 1, 1) ? RLVR_MX_TOOBIG : RLVR_MX_EXACT;
    }
    if (rlvr_rat_is_int(&b)) {
      if (!rlvr_big_to_i64(&b.num, &ei)) return RLVR_MX_TOOBIG;
      if (ei < 0 && rlvr_rat_is_zero(&a)) return RLVR_MX_UNDEFINED;
      if ((err = rlvr_rat_pow(m, out, &a, ei))) return from_err(err);
      return RLVR_MX_EXACT;
    }
    /* a^(p/q): exact when a^p has an exact q-th root */
    int64_t pn, qd;
    if (!rlvr_big_to_i64(&b.num, &pn) || !rlvr_big_to_i64(&b.den, &qd) || qd > 64) return RLVR_MX_INEXACT;
    if (rlvr_rat_sign(&a) < 0 && qd % 2 == 0) return RLVR_MX_INEXACT;
    if (rlvr_rat_is_zero(&a)) return pn < 0 ? RLVR_MX_UNDEFINED : (rlvr_rat_from_i64(m, out, 0, 1) ? RLVR_MX_TOOBIG : RLVR_MX_EXACT);
    int is_exact = 0;
    if ((err = rlvr_rat_root(m, &r, &is_exact, &a, (uint64_t)qd))) return from_err(err);
    if (!is_exact) return RLVR_MX_INEXACT;
    if ((err = rlvr_rat_pow(m, out, &r, pn))) return from_err(err);
    return RLVR_MX_EXACT;
  }
  case RLVR_MX_FACT: {
    if ((e = exact(m, n->kids[0], pt, &a))) return e;
    if (!rlvr_rat_is_int(&a)) return RLVR_MX_INEXACT;
    if (rlvr_rat_sign(&a) < 0) return RLVR_MX_UNDEFINED;
    if (a.num.n > 1) return RLVR_MX_TOOBIG;
    rlvr_big f, one;
    if ((err = rlvr_big_factorial(m, &f, a.num.n ? a.num.d[0] : 0)) || (err = rlvr_big_from_u64(m, &one, 1)))
      return from_err(err);
    out->num = f;
    out->den = one;
    return RLVR_MX_EXACT;
  }
  case RLVR_MX_FUNC: {
    int is_exact = 0;
    switch (n->op) {
    case RLVR_MXF_SQRT:
      if ((e = exact(m, n->kids[0], pt, &a))) return e;
      if (rlvr_rat_sign(&a) < 0) return RLVR_MX_INEXACT;
      if ((err = rlvr_rat_root(m, &r, &is_exact, &a, 2))) return from_err(err);
      if (!is_exact) return RLVR_MX_INEXACT;
      *out = r;
      return RLVR_MX_EXACT;
    case RLVR_MXF_ROOT: {
      int64_t k;
      if ((e = exact(m, n->kids[0], pt, &b))) return e;
      if (!rlvr_rat_is_int(&b) || !rlvr_big_to_i64(&b.num, &k) || k < 1 || k > 4096) return RLVR_MX_INEXACT;
      if ((e = exact(m, n->kids[1], pt, &a))) return e;
      if (rlvr_rat_sign(&a) < 0 && k % 2 == 0) return RLVR_MX_INEXACT;
      if ((err = rlvr_rat_root(m, &r, &is_exact, &a, (uint64_t)k))) return from_err(err);
      if (!is_exact) return RLVR_MX_INEXACT;
      *out = r;
      return RLVR_MX_EXACT;
    }
    case RLVR_MXF_ABS:
      if ((e = exact(m, n->kids[0], pt, &a))) return e;
      *out = a;
      if (rlvr_rat_sign(&a) < 0) rlvr_rat_neg(out, &a);
      return RLVR_MX_EXACT;
    case RLVR_MXF_FLOOR: case RLVR_MXF_CEIL: {
      if ((e = exact(m, n->kids[0], pt, &a))) return e;
      rlvr_big q, rem, one;
      if ((err = rlvr_big_divmod(m, &q, &rem, &a.num, &a.den)) || (err = rlvr_big_from_u64(m, &one, 1)))
        return from_err(err);
      /* truncation toward zero; adjust for the direction asked */
      if (rem.n && ((n->op == RLVR_MXF_FLOOR && rem.neg) || (n->op == RLVR_MXF_CEIL && !rem.neg))) {
        rlvr_big d;
        if ((err = rlvr_big_from_i64(m, &d, n->op == RLVR_MXF_FLOOR ? -1 : 1)) || (err = rlvr_big_add(m, &q, &q, &d)))
          return from_err(err);
      }
      out->num = q;
      out->den = one;
      return RLVR_MX_EXACT;
    }
    case RLVR_MXF_BINOM: {
      int64_t nn, kk;
      if ((e = exact(m, n->kids[0], pt, &a)) || (e = exact(m, n->kids[1], pt, &b))) return e;
      if (!rlvr_rat_is_int(&a) || !rlvr_rat_is_int(&b) || !rlvr_big_to_i64(&a.num, &nn) || !rlvr_big_to_i64(&b.num, &kk))
        return RLVR_MX_INEXACT;
      if (nn < 0) return RLVR_MX_INEXACT;
      if (kk < 0 || kk > nn) return rlvr_rat_from_i64(m, out, 0, 1) ? RLVR_MX_TOOBIG : RLVR_MX_EXACT;
      if (kk > nn - kk) kk = nn - kk;
      if (kk > 100000) return RLVR_MX_TOOBIG;
      /* C(n, k) = prod_{j=1..k} (n-k+j)/j, each partial product an integer */
      rlvr_rat acc, t;
      if ((err = rlvr_rat_from_i64(m, &acc, 1, 1))) return from_err(err);
      for (int64_t j = 1; j <= kk; j++) {
        if ((err = rlvr_rat_from_i64(m, &t, nn - kk + j, j)) || (err = rlvr_rat_mul(m, &acc, &acc, &t))) return from_err(err);
      }
      *out = acc;
      return RLVR_MX_EXACT;
    }
    default: return RLVR_MX_INEXACT;
    }
  }
  default: return RLVR_MX_INEXACT;
  }
}

rlvr_mx_exactness rlvr_mx_eval_exact(rlvr_mctx *m, const rlvr_mx_node *n, rlvr_rat *out) {
  return exact(m, n, -1, out);
}

rlvr_mx_exactness rlvr_mx_eval_exact_at(rlvr_mctx *m, const rlvr_mx_node *n, int point, rlvr_rat *out) {
  return exact(m, n, point < 0 ? 0 : point, out);
}

/* ------------------------------------------------------------------ */
/* numeric evaluation                                                  */

static uint64_t splitmix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Point 0: every variable positive; point 1: every variable negative; later
 * points: signs from the hash. Magnitudes in [0.35, 2.25): away from 0 and 1
 * where many different expressions coincide. */
static double sym_value(uint64_t h, int point) {
  uint64_t z = splitmix(h + 0x9E3779B97F4A7C15ull * (uint64_t)(point + 1));
  double v = 0.35 + 1.9 * ((double)(z >> 11) * 0x1.0p-53);
  int neg = point == 0 ? 0 : point == 1 ? 1 : (int)((z >> 7) & 1);
  return neg ? -v : v;
}

static int sym_rational(rlvr_mctx *m, uint64_t h, int pt, rlvr_rat *out) {
  uint64_t z = splitmix(h + 0x9E3779B97F4A7C15ull * (uint64_t)(pt + 1));
  int64_t p = 1 + (int64_t)((z >> 20) % 61), q = 1 + (int64_t)((z >> 40) % 17);
  int neg = pt == 0 ? 0 : pt == 1 ? 1 : (int)((z >> 7) & 1);
  return rlvr_rat_from_i64(m, out, neg ? -p : p, q);
}

static int is_small_rational(const rlvr_mx_node *n, int64_t *p, int64_t *q) {
  if (n->kind == RLVR_MX_NEG) {
    if (!is_small_rational(n->kids[0], p, q)) return 0;
    *p = -*p;
    return 1;
  }
  if (n->kind == RLVR_MX_NUM)
    return rlvr_big_to_i64(&n->num.num, p) && rlvr_big_to_i64(&n->num.den, q) && *p > -(1ll << 40) && *p < (1ll << 40);
  if (n->kind == RLVR_MX_DIV && n->kids[0]->kind == RLVR_MX_NUM && n->kids[1]->kind == RLVR_MX_NUM &&
      rlvr_rat_is_int(&n->kids[0]->num) && rlvr_rat_is_int(&n->kids[1]->num)) {
    int64_t a, b;
    if (!rlvr_big_to_i64(&n->kids[0]->num.num, &a) || !rlvr_big_to_i64(&n->kids[1]->num.num, &b) || b == 0) return 0;
    if (a > (1ll << 40) || a < -(1ll << 40) || b > (1ll << 40) || b < -(1ll << 40)) return 0;
    if (b < 0) a = -a, b = -b;
    *p = a, *q = b;
    return 1;
  }
  return 0;
}

static double complex cpow_int(double complex b, int64_t e) {
  int neg = e < 0;
  uint64_t k = neg ? (uint64_t)(-e) : (uint64_t)e;
  double complex r = 1;
  while (k) {
    if (k & 1) r *= b;
    b *= b;
    k >>= 1;
  }
  return neg ? 1.0 / r : r;
}

static double complex real_root(double complex x, int64_t k) {
  /* the real k-th root of a negative real for odd k, as graders mean \sqrt[3]{-8} = -2 */
  if (k % 2 == 1 && fabs(cimag(x)) <= 1e-300 && creal(x) < 0) return -pow(-creal(x), 1.0 / (double)k);
  return cpow(x, 1.0 / (double)k);
}

static double complex ev(const rlvr_mx_node *n, int pt, int *lost) {
  double complex v = NAN, a, b;
  switch (n->kind) {
  case RLVR_MX_NUM:
    if (isnan(n->numd)) *lost = 1;
    return n->numd;
  case RLVR_MX_SYM: case RLVR_MX_CALL: return sym_value(n->hash, pt);
  case RLVR_MX_CONST:
    return n->op == RLVR_MXC_PI ? M_PI : n->op == RLVR_MXC_E ? M_E : n->op == RLVR_MXC_I ? I : INFINITY;
  case RLVR_MX_ADD:
    v = 0;
    for (uint32_t i = 0; i < n->nkids; i++) v += ev(n->kids[i], pt, lost);
    break;
  case RLVR_MX_MUL: {
    v = 1;
    int zero = 0;
    for (uint32_t i = 0; i < n->nkids; i++) {
      a = ev(n->kids[i], pt, lost);
      zero |= a == 0;
      v *= a;
    }
    if (v == 0 && !zero) *lost = 1;
    break;
  }
  case RLVR_MX_NEG: v = -ev(n->kids[0], pt, lost); break;
  case RLVR_MX_DIV:
    a = ev(n->kids[0], pt, lost);
    b = ev(n->kids[1], pt, lost);
    if (b == 0) return NAN;
    v = a / b;
    if (v == 0 && a != 0) *lost = 1;
    break;
  case RLVR_MX_PCT: v = ev(n->kids[0], pt, lost) / 100.0; break;
  case RLVR_MX_POW: {
    a = ev(n->kids[0], pt, lost);
    int64_t p, q;
    if (is_small_rational(n->kids[1], &p, &q)) {
      if (q == 1) {
        if (a == 0 && p < 0) return NAN;
        v = cpow_int(a, p);
      } else {
        v = cpow_int(real_root(a, q), p);
      }
    } else {
      b = ev(n->kids[1], pt, lost);
      if (a == 0) v = creal(b) > 0 ? 0 : NAN;
      else v = cpow(a, b);
    }
    if (v == 0 && a != 0) *lost = 1;
    break;
  }
  case RLVR_MX_FACT: {
    a = ev(n->kids[0], pt, lost);
    if (fabs(cimag(a)) > 1e-12) return NAN;
    double x = creal(a);
    if (x < 0 && x == floor(x)) return NAN;
    if (x == floor(x) && x <= 170) {
      double f = 1;
      for (int k = 2; k <= (int)x; k++) f *= k;
      v = f;
    } else {
      v = tgamma(x + 1);
    }
    break;
  }
  case RLVR_MX_FUNC: {
    a = ev(n->kids[0], pt, lost);
    switch (n->op) {
    case RLVR_MXF_SQRT: v = csqrt(a); break;
    case RLVR_MXF_ROOT: {
      b = ev(n->kids[1], pt, lost);
      double k = creal(a);
      if (k == floor(k) && k >= 1 && k <= 1e6 && fabs(cimag(a)) < 1e-12) v = real_root(b, (int64_t)k);
      else v = cpow(b, 1.0 / a);
      break;
    }
    case RLVR_MXF_SIN: v = csin(a); break;
    case RLVR_MXF_COS: v = ccos(a); break;
    case RLVR_MXF_TAN: v = ctan(a); break;
    case RLVR_MXF_SEC: v = 1.0 / ccos(a); break;
    case RLVR_MXF_CSC: v = 1.0 / csin(a); break;
    case RLVR_MXF_COT: v = 1.0 / ctan(a); break;
    case RLVR_MXF_ASIN: v = casin(a); break;
    case RLVR_MXF_ACOS: v = cacos(a); break;
    case RLVR_MXF_ATAN: v = catan(a); break;
    case RLVR_MXF_SINH: v = csinh(a); break;
    case RLVR_MXF_COSH: v = ccosh(a); break;
    case RLVR_MXF_TANH: v = ctanh(a); break;
    case RLVR_MXF_LN: v = a == 0 ? NAN : clog(a); break;
    case RLVR_MXF_LOG:
      if (n->nkids == 2) {
        b = ev(n->kids[1], pt, lost);
        v = (a == 0 || b == 0 || a == 1) ? NAN : clog(b) / clog(a);
      } else {
        v = a == 0 ? NAN : clog(a) / M_LN10;
      }
      break;
    case RLVR_MXF_EXP:
      v = cexp(a);
      if (v == 0) *lost = 1;
      break;
    case RLVR_MXF_ABS: v = cabs(a); break;
    case RLVR_MXF_FLOOR: v = fabs(cimag(a)) > 1e-12 ? NAN : floor(creal(a) + 1e-12 * fabs(creal(a))); break;
    case RLVR_MXF_CEIL: v = fabs(cimag(a)) > 1e-12 ? NAN : ceil(creal(a) - 1e-12 * fabs(creal(a))); break;
    case RLVR_MXF_BINOM: {
      b = ev(n->kids[1], pt, lost);
      double x = creal(a), k = creal(b);
      v = tgamma(x + 1) / (tgamma(k + 1) * tgamma(x - k + 1));
      if (x == floor(x) && k == floor(k) && x >= 0) v = (k < 0 || k > x) ? 0 : round(creal(v));
      break;
    }
    default: v = NAN; break;
    }
    break;
  }
  case RLVR_MX_PM: /* callers expand ± first; as a value, take the + branch */
    if (n->nkids == 2) v = ev(n->kids[0], pt, lost) + (n->op ? -1.0 : 1.0) * ev(n->kids[1], pt, lost);
    else v = (n->op ? -1.0 : 1.0) * ev(n->kids[0], pt, lost);
    break;
  default: return NAN; /* sets, tuples, relations, text: not numbers */
  }
  double mag = cabs(v);
  if (isfinite(mag) && (mag > 1e250 || (mag != 0 && mag < 1e-250))) *lost = 1;
  return v;
}

double complex rlvr_mx_eval_num(const rlvr_mx_node *n, int point, int *lost) { return ev(n, point, lost); }

rlvr_mx_node *rlvr_mx_node_new(rlvr_mctx *m, int kind, uint32_t nkids) {
  rlvr_mx_node *n = rlvr_mctx_alloc(m, sizeof *n + nkids * sizeof(rlvr_mx_node *));
  if (!n) return NULL;
  memset(n, 0, sizeof *n + nkids * sizeof(rlvr_mx_node *));
  n->kind = (uint8_t)kind;
  n->nkids = nkids;
  n->kids = (rlvr_mx_node **)(n + 1);
  return n;
}

int rlvr_mx_has_vars(const rlvr_mx_node *n) {
  if (n->kind == RLVR_MX_SYM || n->kind == RLVR_MX_CALL) return 1;
  for (uint32_t i = 0; i < n->nkids; i++)
    if (rlvr_mx_has_vars(n->kids[i])) return 1;
  return 0;
}
