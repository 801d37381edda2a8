/* tokenizer.c — loading tokenizer.json and running byte-level BPE exactly as
 * Hugging Face tokenizers does (the pipeline is described in tokenizer.h).
 *
 * Representation. The model works on raw bytes: tokenizers maps every byte to
 * a printable character (GPT-2's bytes_to_unicode) before BPE and the vocab
 * is written in those characters, so a vocab token that maps back to bytes is
 * stored both ways: its text as written (for lookups and decoding) and its
 * bytes (for ignore_merges). BPE symbols are ids; a merge is the pair of ids
 * (a, b) -> (rank, id of a+b), held in an open-addressing hash table.
 *
 * Strings live in one pool (tok->pool) and are referred to by offset, so the
 * pool may grow while loading. After loading nothing changes: encode and
 * decode only read tok and keep their scratch in a per-call context. */
#include "model/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "model/tokenizer_regex.h"

/* ---------------------------------------------------------------- pieces */

typedef struct {
  char *v;
  size_t n, cap;
} cvec;

static void cv_put(cvec *b, const void *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2 + 64;
    b->v = xrealloc(b->v, b->cap);
  }
  if (n) memcpy(b->v + b->n, s, n);
  b->n += n;
  b->v[b->n] = 0;
}

typedef struct {
  int32_t *v;
  size_t n, cap;
} ivec;

static void iv_push(ivec *a, int32_t x) {
  if (a->n == a->cap) {
    a->cap = a->cap * 2 + 64;
    a->v = xrealloc(a->v, a->cap * sizeof *a->v);
  }
  a->v[a->n++] = x;
}

/* A piece of text: [a, b) of some buffer; id >= 0 when it is an added token. */
typedef struct {
  size_t a, b;
  int32_t id;
} seg;

typedef struct {
  seg *v;
  size_t n, cap;
} svec;

static void sv_push(svec *s, size_t a, size_t b, int32_t id) {
  if (s->n == s->cap) {
    s->cap = s->cap * 2 + 16;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = (seg){a, b, id};
}

/* ---------------------------------------------------------------- UTF-8 */

/* The well-formed UTF-8 sequence at s (Unicode table 3-7). Returns its length
 * and its code point in *cp, or 0 if s starts an ill-formed sequence, with
 * *bad the length of its maximal subpart (>= 1): the bytes that one U+FFFD
 * replaces in Rust's from_utf8_lossy. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad) {
  unsigned char c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) need = 1, v = c & 0x1F;
  else if (c == 0xE0) need = 2, lo = 0xA0, v = c & 0x0F;
  else if (c >= 0xE1 && c <= 0xEC) need = 2, v = c & 0x0F;
  else if (c == 0xED) need = 2, hi = 0x9F, v = c & 0x0F;
  else if (c >= 0xEE && c <= 0xEF) need = 2, v = c & 0x0F;
  else if (c == 0xF0) need = 3, lo = 0x90, v = c & 0x07;
  else if (c >= 0xF1 && c <= 0xF3) need = 3, v = c & 0x07;
  else if (c == 0xF4) need = 3, hi = 0x8F, v = c & 0x07;
  else {
    *bad = 1;
    return 0;
  }
  for (size_t i = 1; i <= need; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *bad = i;
      return 0;
    }
    v = (v << 6) | (s[i] & 0x3F);
    lo = 0x80, hi = 0xBF;
  }
  *cp = v;
  return need + 1;
}

static size_t utf8_put(uint32_t cp, char *o) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Unicode White_Space: Rust's regex \s, used by lstrip and rstrip. */
static int is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

/* GPT-2's bytes_to_unicode: the printable bytes ! .. ~, ¡ .. ¬ and ® .. ÿ
 * stand for themselves; the other 68 bytes get U+0100.. in byte order. */
enum { BL_CP_MAX = 256 + 68 };

static void byte_level_tables(uint32_t byte_cp[256], int16_t cp_byte[BL_CP_MAX]) {
  for (int i = 0; i < BL_CP_MAX; i++) cp_byte[i] = -1;
  int extra = 0;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_cp[b] = printable ? (uint32_t)b : (uint32_t)(256 + extra++);
    cp_byte[byte_cp[b]] = (int16_t)b;
  }
}

/* ---------------------------------------------------------------- hash maps */

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 32);
}

/* String -> id; keys are (offset, length) in the tokenizer's pool. */
typedef struct {
  size_t off;
  uint32_t len;
  int32_t id; /* -1: empty slot */
} strmap_slot;

typedef struct {
  strmap_slot *slots;
  size_t cap, n; /* cap is a power of two, kept at least twice n */
} strmap;

static void sm_init(strmap *m, size_t expect) {
  m->cap = 16;
  while (m->cap < expect * 2 + 16) m->cap *= 2;
  m->n = 0;
  m->slots = xmalloc(m->cap * sizeof *m->slots);
  for (size_t i = 0; i < m->cap; i++) m->slots[i].id = -1;
}

static void sm_free(strmap *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

/* The slot of key, or the empty slot where it would go. */
static strmap_slot *sm_slot(const strmap *m, const char *pool, const char *key, size_t len) {
  size_t i = hash_bytes(key, len) & (m->cap - 1);
  for (;;) {
    strmap_slot *s = &m->slots[i];
    if (s->id < 0 || (s->len == len && memcmp(pool + s->off, key, len) == 0)) return s;
    i = (i + 1) & (m->cap - 1);
  }
}

static int32_t sm_get(const strmap *m, const char *pool, const char *key, size_t len) {
  if (!m->slots) return -1;
  return sm_slot(m, pool, key, len)->id;
}

static void sm_grow(strmap *m, const char *pool) {
  strmap old = *m;
  sm_init(m, old.cap);
  for (size_t i = 0; i < old.cap; i++) {
    if (old.slots[i].id < 0) continue;
    *sm_slot(m, pool, pool + old.slots[i].off, old.slots[i].len) = old.slots[i];
    m->n++;
  }
  free(old.slots);
}

/* Inserts (off, len) -> id; returns the id already there, or -1 if new. */
static int32_t sm_put(strmap *m, const char *pool, size_t off, size_t len, int32_t id) {
  if ((m->n + 1) * 2 > m->cap) sm_grow(m, pool);
  strmap_slot *s = sm_slot(m, pool, pool + off, len);
  if (s->id >= 0) return s->id;
  s->off = off;
  s->len = (uint32_t)len;
  s->id = id;
  m->n++;
  return -1;
}

/* (left id, right id) -> (rank, merged id). */
typedef struct {
  uint64_t key; /* left << 32 | right; UINT64_MAX: empty */
  uint32_t rank;
  int32_t id;
} pair_slot;

typedef struct {
  pair_slot *slots;
  size_t cap, n;
} pairmap;

static size_t pair_hash(uint64_t k) { return (size_t)((k * 0x9E3779B97F4A7C15ULL) >> 20); }

static void pm_init(pairmap *m, size_t expect) {
  m->cap = 16;
  while (m->cap < expect * 2 + 16) m->cap *= 2;
  m->n = 0;
  m->slots = xmalloc(m->cap * sizeof *m->slots);
  for (size_t i = 0; i < m->cap; i++) m->slots[i].key = UINT64_MAX;
}

static pair_slot *pm_slot(const pairmap *m, uint64_t key) {
  size_t i = pair_hash(key) & (m->cap - 1);
  while (m->slots[i].key != key && m->slots[i].key != UINT64_MAX) i = (i + 1) & (m->cap - 1);
  return &m->slots[i];
}

static inline uint64_t pair_key(int32_t a, int32_t b) {
  return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

/* ---------------------------------------------------------------- the tokenizer */

enum { BEH_REMOVED, BEH_ISOLATED, BEH_MERGED_PREV, BEH_MERGED_NEXT, BEH_CONTIGUOUS };

typedef struct {
  rlvr_tokregex *re;
  int behavior;
  int invert;
} split_step;

typedef struct {
  size_t off, len;       /* content */
  size_t noff, nlen;     /* content after the normalizer (normalized tokens) */
  int32_t id;
  int single_word, lstrip, rstrip, normalized, special;
} added_token;

/* A byte trie over added-token contents, for leftmost-longest matching. */
typedef struct {
  int32_t child, sibling, tok; /* tok: index into added, -1 if none ends here */
  unsigned char byte;
} trie_node;

typedef struct {
  trie_node *nodes;
  size_t n, cap;
  int32_t root[256]; /* node for each first byte, -1 if none */
  int empty;
} trie;

enum { MAX_NORM = 16, MAX_TEMPLATE = 16 };

typedef struct {
  int is_sequence; /* 1: the encoded text ("A"); 0: special ids */
  int32_t *ids;
  size_t n_ids;
} template_item;

struct rlvr_tokenizer {
  char *name; /* path, for messages */
  cvec pool;  /* every string, referred to by offset */

  int32_t n_ids;        /* vocab_size: max id + 1 */
  int32_t ids_cap;      /* entries allocated in the per-id arrays */
  size_t *str_off;      /* (n_ids) token text as written; SIZE_MAX: no token */
  uint32_t *str_len;    /* (n_ids) */
  size_t *bytes_off;    /* (n_ids) what the decoder makes of the token */
  uint32_t *bytes_len;  /* (n_ids) */
  unsigned char *flags; /* (n_ids) FLAG_* */

  /* model: BPE */
  size_t model_vocab_len; /* entries in model.vocab (HF's get_vocab_size) */
  strmap vocab;           /* model vocab text -> id */
  strmap vocab_bytes;     /* model vocab bytes -> id (ignore_merges only) */
  pairmap merges;
  int32_t byte_sym[256]; /* id of each single byte, -1 if not in the vocab */
  int32_t unk_id;        /* -1: unknown bytes are dropped, as HF does */
  int fuse_unk, ignore_merges;

  /* added tokens */
  added_token *added;
  size_t n_added;
  strmap added_map; /* content -> id */
  trie trie_raw, trie_norm;
  rlvr_tokregex *word_re; /* Rust's \w, for single_word; NULL if unused */

  /* normalizer: utf8proc option sets applied in order */
  int norm_ops[MAX_NORM];
  int n_norm;
  int norm_growth; /* bytes out per byte in, at most (for max_ids) */

  /* pre-tokenizer: Split steps, then ByteLevel */
  split_step *splits;
  size_t n_splits;
  int bl_prefix_space;
  rlvr_tokregex *bl_re; /* GPT-2's pattern when use_regex, else NULL */

  /* post-processor */
  template_item tmpl[MAX_TEMPLATE];
  size_t n_tmpl; /* 0: no template */
  size_t tmpl_ids;

  int decoder_byte_level; /* 0: no decoder, tokens joined with spaces */
  int32_t bos, eos, pad;
};

enum { FLAG_TOKEN = 1, FLAG_ADDED = 2, FLAG_SPECIAL = 4 };

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* ---------------------------------------------------------------- trie */

static void trie_init(trie *t) {
  memset(t, 0, sizeof *t);
  for (int i = 0; i < 256; i++) t->root[i] = -1;
  t->empty = 1;
}

static void trie_free(trie *t) { free(t->nodes); }

static int32_t trie_new_node(trie *t, unsigned char byte) {
  if (t->n == t->cap) {
    t->cap = t->cap * 2 + 64;
    t->nodes = xrealloc(t->nodes, t->cap * sizeof *t->nodes);
  }
  t->nodes[t->n] = (trie_node){-1, -1, -1, byte};
  return (int32_t)t->n++;
}

/* Adds key for added token tok; the first token inserted for a key keeps it. */
static void trie_add(trie *t, const char *key, size_t len, int32_t tok) {
  RLVR_CHECK(len > 0);
  t->empty = 0;
  const unsigned char *k = (const unsigned char *)key;
  if (t->root[k[0]] < 0) t->root[k[0]] = trie_new_node(t, k[0]);
  int32_t node = t->root[k[0]];
  for (size_t i = 1; i < len; i++) {
    int32_t c = t->nodes[node].child;
    while (c >= 0 && t->nodes[c].byte != k[i]) c = t->nodes[c].sibling;
    if (c < 0) {
      c = trie_new_node(t, k[i]);
      t->nodes[c].sibling = t->nodes[node].child;
      t->nodes[node].child = c;
    }
    node = c;
  }
  if (t->nodes[node].tok < 0) t->nodes[node].tok = tok;
}

/* The longest key starting at s[i]: returns the token index and sets *end, or -1. */
static int32_t trie_longest(const trie *t, const unsigned char *s, size_t n, size_t i, size_t *end) {
  int32_t node = t->root[s[i]];
  int32_t best = -1;
  size_t k = i;
  while (node >= 0) {
    if (t->nodes[node].tok >= 0) best = t->nodes[node].tok, *end = k + 1;
    if (++k >= n) break;
    int32_t c = t->nodes[node].child;
    while (c >= 0 && t->nodes[c].byte != s[k]) c = t->nodes[c].sibling;
    node = c;
  }
  return best;
}

/* ---------------------------------------------------------------- loading */

typedef struct {
  const char *file;
  rlvr_tokenizer *tok;
} loader;

/* "<file>: <field>: <message>" */
static int ferr(loader *L, int code, const char *field, const char *fmt, ...) RLVR_PRINTF(4, 5);
static int ferr(loader *L, int code, const char *field, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return rlvr_error(code, "%s: %s: %s", L->file, field, msg);
}

static const char *json_type_name(const cJSON *j) {
  if (!j) return "missing";
  if (cJSON_IsNull(j)) return "null";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsObject(j)) return "an object";
  return "invalid";
}

/* Every key of obj must be in allowed (NULL-terminated), and only once
 * (tokenizers would take the last of two, cJSON finds the first). */
static int check_keys(loader *L, const cJSON *obj, const char *field, const char *const *allowed) {
  for (const cJSON *c = obj->child; c; c = c->next) {
    for (const cJSON *d = obj->child; d != c; d = d->next)
      if (c->string && d->string && strcmp(c->string, d->string) == 0)
        return ferr(L, RLVR_ERR_FORMAT, field, "field \"%s\" appears twice", c->string);
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++) ok = c->string && strcmp(c->string, *a) == 0;
    if (!ok)
      return ferr(L, RLVR_ERR_UNSUPPORTED, field, "field \"%s\" is not supported by rlvr",
                  c->string ? c->string : "?");
  }
  return RLVR_OK;
}

/* A boolean field; def if absent (def < 0: required). */
static int get_bool(loader *L, const cJSON *obj, const char *key, const char *field, int def,
                    int *out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!j && def >= 0) {
    *out = def;
    return RLVR_OK;
  }
  if (!cJSON_IsBool(j))
    return ferr(L, RLVR_ERR_FORMAT, field, "\"%s\" must be a boolean, not %s", key,
                json_type_name(j));
  *out = cJSON_IsTrue(j);
  return RLVR_OK;
}

/* A non-negative integer that fits an id. */
static int get_id(loader *L, const cJSON *j, const char *field, int32_t *out) {
  if (!cJSON_IsNumber(j))
    return ferr(L, RLVR_ERR_FORMAT, field, "must be an integer id, not %s", json_type_name(j));
  double v = j->valuedouble;
  if (!(v >= 0 && v < (double)(1 << 24)) || v != (double)(int32_t)v)
    return ferr(L, RLVR_ERR_FORMAT, field, "id %g is not an integer in [0, %d)", v, 1 << 24);
  *out = (int32_t)v;
  return RLVR_OK;
}

static const char *get_type(const cJSON *obj) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
  return cJSON_IsString(t) ? t->valuestring : NULL;
}

static size_t pool_add(rlvr_tokenizer *tok, const char *s, size_t n) {
  size_t off = tok->pool.n;
  cv_put(&tok->pool, s, n);
  cv_put(&tok->pool, "", 1); /* each string NUL-terminated, for token_str */
  return off;
}

/* Makes room for ids up to id (arrays grow geometrically; new ids are empty). */
static void ensure_ids(rlvr_tokenizer *tok, int32_t id) {
  if (id < tok->n_ids) return;
  if (id >= tok->ids_cap) {
    int32_t cap = tok->ids_cap * 2 > id + 1 ? tok->ids_cap * 2 : id + 1024;
    tok->str_off = xrealloc(tok->str_off, (size_t)cap * sizeof *tok->str_off);
    tok->str_len = xrealloc(tok->str_len, (size_t)cap * sizeof *tok->str_len);
    tok->flags = xrealloc(tok->flags, (size_t)cap);
    tok->ids_cap = cap;
  }
  for (int32_t i = tok->n_ids; i <= id; i++) {
    tok->str_off[i] = SIZE_MAX;
    tok->str_len[i] = 0;
    tok->flags[i] = 0;
  }
  tok->n_ids = id + 1;
}

/* The raw bytes a byte-level token text stands for; 0 if some character is
 * outside the byte alphabet. out has room for len bytes. */
static int text_to_bytes(const int16_t cp_byte[BL_CP_MAX], const char *s, size_t len, char *out,
                         size_t *out_len) {
  size_t i = 0, o = 0;
  while (i < len) {
    uint32_t cp;
    size_t bad;
    size_t k = utf8_next((const unsigned char *)s + i, len - i, &cp, &bad);
    if (!k || cp >= BL_CP_MAX || cp_byte[cp] < 0) return 0;
    out[o++] = (char)cp_byte[cp];
    i += k;
  }
  *out_len = o;
  return 1;
}

static int load_model(loader *L, const cJSON *model) {
  rlvr_tokenizer *tok = L->tok;
  if (!cJSON_IsObject(model))
    return ferr(L, RLVR_ERR_FORMAT, "model", "must be an object, not %s", json_type_name(model));
  const char *type = get_type(model);
  if (type && strcmp(type, "BPE") != 0)
    return ferr(L, RLVR_ERR_UNSUPPORTED, "model.type",
                "model type \"%s\" is not supported (rlvr implements BPE)", type);
  if (!type && cJSON_GetObjectItemCaseSensitive(model, "type"))
    return ferr(L, RLVR_ERR_FORMAT, "model.type", "must be a string");
  static const char *const keys[] = {"type", "dropout", "unk_token", "continuing_subword_prefix",
                                     "end_of_word_suffix", "fuse_unk", "byte_fallback",
                                     "ignore_merges", "vocab", "merges", NULL};
  int rc = check_keys(L, model, "model", keys);
  if (rc) return rc;

  const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
  if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
    return ferr(L, RLVR_ERR_UNSUPPORTED, "model.dropout",
                "BPE dropout is random; rlvr supports only null or 0");
  static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (int i = 0; i < 2; i++) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
    char field[64];
    snprintf(field, sizeof field, "model.%s", affixes[i]);
    if (j && !cJSON_IsNull(j) && !cJSON_IsString(j))
      return ferr(L, RLVR_ERR_FORMAT, field, "must be a string or null, not %s", json_type_name(j));
    if (cJSON_IsString(j) && j->valuestring[0])
      return ferr(L, RLVR_ERR_UNSUPPORTED, field, "\"%s\" is not supported (only empty)",
                  j->valuestring);
  }
  int byte_fallback;
  if ((rc = get_bool(L, model, "byte_fallback", "model", 0, &byte_fallback))) return rc;
  if (byte_fallback)
    return ferr(L, RLVR_ERR_UNSUPPORTED, "model.byte_fallback", "byte_fallback is not supported");
  if ((rc = get_bool(L, model, "fuse_unk", "model", 0, &tok->fuse_unk))) return rc;
  if ((rc = get_bool(L, model, "ignore_merges", "model", 0, &tok->ignore_merges))) return rc;

  /* vocab: text -> id */
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
  if (!cJSON_IsObject(vocab))
    return ferr(L, RLVR_ERR_FORMAT, "model.vocab", "must be an object of token -> id, not %s",
                json_type_name(vocab));
  size_t nv = (size_t)cJSON_GetArraySize(vocab);
  sm_init(&tok->vocab, nv);
  for (const cJSON *e = vocab->child; e; e = e->next) {
    char field[96];
    snprintf(field, sizeof field, "model.vocab[\"%.40s\"]", e->string ? e->string : "");
    int32_t id;
    if ((rc = get_id(L, e, field, &id))) return rc;
    size_t len = strlen(e->string);
    size_t off = pool_add(tok, e->string, len);
    if (sm_put(&tok->vocab, tok->pool.v, off, len, id) >= 0)
      return ferr(L, RLVR_ERR_FORMAT, field, "token appears twice");
    ensure_ids(tok, id);
    if (tok->flags[id] & FLAG_TOKEN)
      return ferr(L, RLVR_ERR_FORMAT, field, "id %d is given to two tokens", id);
    tok->flags[id] |= FLAG_TOKEN;
    tok->str_off[id] = off;
    tok->str_len[id] = (uint32_t)len;
  }
  tok->model_vocab_len = tok->vocab.n;

  /* single bytes, and the byte form of every token for ignore_merges */
  uint32_t byte_cp[256];
  int16_t cp_byte[BL_CP_MAX];
  byte_level_tables(byte_cp, cp_byte);
  for (int b = 0; b < 256; b++) {
    char s[4];
    size_t k = utf8_put(byte_cp[b], s);
    tok->byte_sym[b] = sm_get(&tok->vocab, tok->pool.v, s, k);
  }
  if (tok->ignore_merges) {
    sm_init(&tok->vocab_bytes, nv);
    for (int32_t id = 0; id < tok->n_ids; id++) {
      if (!(tok->flags[id] & FLAG_TOKEN)) continue;
      char *tmp = xmalloc(tok->str_len[id] + 1);
      size_t blen;
      if (text_to_bytes(cp_byte, tok->pool.v + tok->str_off[id], tok->str_len[id], tmp, &blen)) {
        size_t off = pool_add(tok, tmp, blen);
        sm_put(&tok->vocab_bytes, tok->pool.v, off, blen, id);
      }
      free(tmp);
    }
  }

  /* unk_token */
  tok->unk_id = -1;
  const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
  if (unk && !cJSON_IsNull(unk)) {
    if (!cJSON_IsString(unk))
      return ferr(L, RLVR_ERR_FORMAT, "model.unk_token", "must be a string or null, not %s",
                  json_type_name(unk));
    tok->unk_id = sm_get(&tok->vocab, tok->pool.v, unk->valuestring, strlen(unk->valuestring));
    if (tok->unk_id < 0)
      return ferr(L, RLVR_ERR_FORMAT, "model.unk_token", "\"%s\" is not in model.vocab",
                  unk->valuestring);
  }

  /* merges: "a b" strings or [a, b] pairs; rank = position (after #version lines) */
  const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
  if (!cJSON_IsArray(merges))
    return ferr(L, RLVR_ERR_FORMAT, "model.merges", "must be an array, not %s",
                json_type_name(merges));
  pm_init(&tok->merges, (size_t)cJSON_GetArraySize(merges));
  cvec joined = {0};
  uint32_t rank = 0;
  size_t index = 0;
  for (const cJSON *m = merges->child; m; m = m->next, index++) {
    char field[64];
    snprintf(field, sizeof field, "model.merges[%zu]", index);
    const char *a, *b;
    size_t alen, blen;
    if (cJSON_IsString(m)) {
      const char *s = m->valuestring;
      if (strncmp(s, "#version", 8) == 0) continue;
      const char *sp = strchr(s, ' ');
      if (!sp || strchr(sp + 1, ' ')) {
        free(joined.v);
        return ferr(L, RLVR_ERR_FORMAT, field, "\"%s\" is not two tokens separated by one space",
                    s);
      }
      a = s, alen = (size_t)(sp - s), b = sp + 1, blen = strlen(sp + 1);
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
               cJSON_IsString(m->child->next)) {
      a = m->child->valuestring, alen = strlen(a);
      b = m->child->next->valuestring, blen = strlen(b);
    } else {
      free(joined.v);
      return ferr(L, RLVR_ERR_FORMAT, field, "must be \"a b\" or [\"a\", \"b\"], not %s",
                  json_type_name(m));
    }
    int32_t ia = sm_get(&tok->vocab, tok->pool.v, a, alen);
    int32_t ib = sm_get(&tok->vocab, tok->pool.v, b, blen);
    joined.n = 0;
    cv_put(&joined, a, alen);
    cv_put(&joined, b, blen);
    int32_t inew = sm_get(&tok->vocab, tok->pool.v, joined.v, joined.n);
    if (ia < 0 || ib < 0 || inew < 0) {
      const char *which = ia < 0 ? a : ib < 0 ? b : joined.v;
      int wlen = (int)(ia < 0 ? alen : ib < 0 ? blen : joined.n);
      int rc2 = ferr(L, RLVR_ERR_FORMAT, field, "token \"%.*s\" is not in model.vocab",
                     wlen > 60 ? 60 : wlen, which);
      free(joined.v);
      return rc2;
    }
    /* A repeated pair keeps its last rank, as HF's HashMap collect does. */
    if ((tok->merges.n + 1) * 2 > tok->merges.cap) {
      pairmap old = tok->merges;
      pm_init(&tok->merges, old.cap);
      for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != UINT64_MAX) *pm_slot(&tok->merges, old.slots[i].key) = old.slots[i];
      tok->merges.n = old.n;
      free(old.slots);
    }
    pair_slot *s = pm_slot(&tok->merges, pair_key(ia, ib));
    if (s->key == UINT64_MAX) tok->merges.n++;
    *s = (pair_slot){pair_key(ia, ib), rank++, inew};
  }
  free(joined.v);
  return RLVR_OK;
}

/* utf8proc option sets of the normal forms. */
static int norm_form(const char *type) {
  if (strcmp(type, "NFC") == 0) return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (strcmp(type, "NFD") == 0) return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
  if (strcmp(type, "NFKC") == 0) return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  if (strcmp(type, "NFKD") == 0) return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  return 0;
}

static int load_normalizer(loader *L, const cJSON *n, const char *field) {
  rlvr_tokenizer *tok = L->tok;
  if (!n || cJSON_IsNull(n)) return RLVR_OK;
  if (!cJSON_IsObject(n))
    return ferr(L, RLVR_ERR_FORMAT, field, "must be an object or null, not %s", json_type_name(n));
  const char *type = get_type(n);
  if (!type) return ferr(L, RLVR_ERR_FORMAT, field, "has no \"type\"");
  char sub[128];
  int rc;
  if (strcmp(type, "Sequence") == 0) {
    static const char *const keys[] = {"type", "normalizers", NULL};
    if ((rc = check_keys(L, n, field, keys))) return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    if (!cJSON_IsArray(list))
      return ferr(L, RLVR_ERR_FORMAT, field, "\"normalizers\" must be an array");
    int i = 0;
    for (const cJSON *c = list->child; c; c = c->next, i++) {
      snprintf(sub, sizeof sub, "%s.normalizers[%d]", field, i);
      if ((rc = load_normalizer(L, c, sub))) return rc;
    }
    return RLVR_OK;
  }
  int form = norm_form(type);
  if (!form)
    return ferr(L, RLVR_ERR_UNSUPPORTED, field,
                "normalizer \"%s\" is not supported (rlvr implements NFC, NFD, NFKC, NFKD, Sequence)",
                type);
  static const char *const keys[] = {"type", NULL};
  if ((rc = check_keys(L, n, field, keys))) return rc;
  if (tok->n_norm == MAX_NORM) return ferr(L, RLVR_ERR_UNSUPPORTED, field, "too many normalizers");
  tok->norm_ops[tok->n_norm++] = form;
  /* Longest expansion in bytes per input byte: NFKC of U+FDFA turns 3 bytes
   * into 33; canonical decompositions stay under 3x. */
  tok->norm_growth *= (form & UTF8PROC_COMPAT) ? 12 : 3;
  return RLVR_OK;
}

static int compile_at(loader *L, const char *field, const char *pat, size_t len, int kind,
                      rlvr_tokregex **out) {
  int rc = rlvr_tokregex_compile(pat, len, kind, out);
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rlvr_error_message());
    return ferr(L, rc, field, "%s", msg);
  }
  return RLVR_OK;
}

/* seen_bl: set once a ByteLevel step was loaded (it must be the last). */
static int load_pretok(loader *L, const cJSON *p, const char *field, int *seen_bl) {
  rlvr_tokenizer *tok = L->tok;
  if (!cJSON_IsObject(p))
    return ferr(L, RLVR_ERR_FORMAT, field, "must be an object, not %s", json_type_name(p));
  const char *type = get_type(p);
  if (!type) return ferr(L, RLVR_ERR_FORMAT, field, "has no \"type\"");
  if (*seen_bl)
    return ferr(L, RLVR_ERR_UNSUPPORTED, field,
                "a pre-tokenizer after ByteLevel is not supported (ByteLevel must come last)");
  char sub[160];
  int rc;
  if (strcmp(type, "Sequence") == 0) {
    static const char *const keys[] = {"type", "pretokenizers", NULL};
    if ((rc = check_keys(L, p, field, keys))) return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
    if (!cJSON_IsArray(list))
      return ferr(L, RLVR_ERR_FORMAT, field, "\"pretokenizers\" must be an array");
    int i = 0;
    for (const cJSON *c = list->child; c; c = c->next, i++) {
      snprintf(sub, sizeof sub, "%s.pretokenizers[%d]", field, i);
      if ((rc = load_pretok(L, c, sub, seen_bl))) return rc;
    }
    return RLVR_OK;
  }
  if (strcmp(type, "ByteLevel") == 0) {
    static const char *const keys[] = {"type", "add_prefix_space", "trim_offsets", "use_regex",
                                       NULL};
    if ((rc = check_keys(L, p, field, keys))) return rc;
    int use_regex, trim;
    if ((rc = get_bool(L, p, "add_prefix_space", field, -1, &tok->bl_prefix_space))) return rc;
    if ((rc = get_bool(L, p, "trim_offsets", field, 1, &trim))) return rc; /* offsets only */
    if ((rc = get_bool(L, p, "use_regex", field, 1, &use_regex))) return rc;
    if (use_regex) {
      snprintf(sub, sizeof sub, "%s.use_regex", field);
      if ((rc = compile_at(L, sub, GPT2_PATTERN, strlen(GPT2_PATTERN), RLVR_TOKREGEX_ONIG,
                           &tok->bl_re)))
        return rc;
    }
    *seen_bl = 1;
    return RLVR_OK;
  }
  if (strcmp(type, "Split") == 0) {
    static const char *const keys[] = {"type", "pattern", "behavior", "invert", NULL};
    if ((rc = check_keys(L, p, field, keys))) return rc;
    split_step st = {0};
    if ((rc = get_bool(L, p, "invert", field, 0, &st.invert))) return rc;
    const cJSON *beh = cJSON_GetObjectItemCaseSensitive(p, "behavior");
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious",
                                        "MergedWithNext", "Contiguous"};
    st.behavior = -1;
    for (int i = 0; i < 5 && cJSON_IsString(beh); i++)
      if (strcmp(beh->valuestring, names[i]) == 0) st.behavior = i;
    if (st.behavior < 0)
      return ferr(L, RLVR_ERR_FORMAT, field,
                  "\"behavior\" must be one of Removed, Isolated, MergedWithPrevious, "
                  "MergedWithNext, Contiguous");
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
    const cJSON *s = cJSON_IsObject(pat) ? cJSON_GetObjectItemCaseSensitive(pat, "String") : NULL;
    const cJSON *r = cJSON_IsObject(pat) ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
    if (!cJSON_IsObject(pat) || cJSON_GetArraySize(pat) != 1 || !(cJSON_IsString(s) || cJSON_IsString(r)))
      return ferr(L, RLVR_ERR_FORMAT, field,
                  "\"pattern\" must be {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    snprintf(sub, sizeof sub, "%s.pattern.%s", field, s ? "String" : "Regex");
    const char *text = s ? s->valuestring : r->valuestring;
    if ((rc = compile_at(L, sub, text, strlen(text), s ? RLVR_TOKREGEX_LITERAL : RLVR_TOKREGEX_ONIG,
                         &st.re)))
      return rc;
    tok->splits = xrealloc(tok->splits, (tok->n_splits + 1) * sizeof *tok->splits);
    tok->splits[tok->n_splits++] = st;
    return RLVR_OK;
  }
  return ferr(L, RLVR_ERR_UNSUPPORTED, field,
              "pre-tokenizer \"%s\" is not supported (rlvr implements Sequence, Split, ByteLevel)",
              type);
}

static int load_post(loader *L, const cJSON *p, const char *field) {
  rlvr_tokenizer *tok = L->tok;
  if (!p || cJSON_IsNull(p)) return RLVR_OK;
  if (!cJSON_IsObject(p))
    return ferr(L, RLVR_ERR_FORMAT, field, "must be an object or null, not %s", json_type_name(p));
  const char *type = get_type(p);
  if (!type) return ferr(L, RLVR_ERR_FORMAT, field, "has no \"type\"");
  char sub[160];
  int rc;
  if (strcmp(type, "Sequence") == 0) {
    static const char *const keys[] = {"type", "processors", NULL};
    if ((rc = check_keys(L, p, field, keys))) return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "processors");
    if (!cJSON_IsArray(list))
      return ferr(L, RLVR_ERR_FORMAT, field, "\"processors\" must be an array");
    int i = 0;
    for (const cJSON *c = list->child; c; c = c->next, i++) {
      snprintf(sub, sizeof sub, "%s.processors[%d]", field, i);
      if ((rc = load_post(L, c, sub))) return rc;
    }
    return RLVR_OK;
  }
  if (strcmp(type, "ByteLevel") == 0) {
    /* Only trims offsets; ids are untouched. */
    static const char *const keys[] = {"type", "add_prefix_space", "trim_offsets", "use_regex",
                                       NULL};
    return check_keys(L, p, field, keys);
  }
  if (strcmp(type, "TemplateProcessing") == 0) {
    static const char *const keys[] = {"type", "single", "pair", "special_tokens", NULL};
    if ((rc = check_keys(L, p, field, keys))) return rc;
    if (tok->n_tmpl)
      return ferr(L, RLVR_ERR_UNSUPPORTED, field, "a second TemplateProcessing is not supported");
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    const cJSON *pair = cJSON_GetObjectItemCaseSensitive(p, "pair");
    if (!cJSON_IsArray(single))
      return ferr(L, RLVR_ERR_FORMAT, field, "\"single\" must be an array");
    if (pair && !cJSON_IsArray(pair)) /* pairs are never encoded by rlvr */
      return ferr(L, RLVR_ERR_FORMAT, field, "\"pair\" must be an array");
    if (!cJSON_IsObject(specials))
      return ferr(L, RLVR_ERR_FORMAT, field, "\"special_tokens\" must be an object");
    int i = 0, seen_a = 0;
    for (const cJSON *it = single->child; it; it = it->next, i++) {
      snprintf(sub, sizeof sub, "%s.single[%d]", field, i);
      if (tok->n_tmpl == MAX_TEMPLATE)
        return ferr(L, RLVR_ERR_UNSUPPORTED, sub, "template too long");
      const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
      const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
      const cJSON *inner = seq ? seq : sp;
      const cJSON *name = cJSON_IsObject(inner) ? cJSON_GetObjectItemCaseSensitive(inner, "id") : NULL;
      if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) != 1 || !cJSON_IsString(name))
        return ferr(L, RLVR_ERR_FORMAT, sub,
                    "must be {\"Sequence\": {\"id\": ...}} or {\"SpecialToken\": {\"id\": ...}}");
      template_item *ti = &tok->tmpl[tok->n_tmpl++];
      if (seq) {
        if (strcmp(name->valuestring, "A") != 0 || seen_a)
          return ferr(L, RLVR_ERR_UNSUPPORTED, sub,
                      "a single-sequence template must hold sequence A once");
        seen_a = 1;
        ti->is_sequence = 1;
        continue;
      }
      const cJSON *def = cJSON_GetObjectItemCaseSensitive(specials, name->valuestring);
      const cJSON *ids = cJSON_IsObject(def) ? cJSON_GetObjectItemCaseSensitive(def, "ids") : NULL;
      if (!cJSON_IsArray(ids))
        return ferr(L, RLVR_ERR_FORMAT, sub, "special token \"%s\" has no ids in special_tokens",
                    name->valuestring);
      ti->n_ids = (size_t)cJSON_GetArraySize(ids);
      ti->ids = xcalloc(ti->n_ids + 1, sizeof *ti->ids);
      size_t k = 0;
      for (const cJSON *x = ids->child; x; x = x->next, k++) {
        snprintf(sub, sizeof sub, "%s.special_tokens[\"%.40s\"].ids[%zu]", field, name->valuestring,
                 k);
        if ((rc = get_id(L, x, sub, &ti->ids[k]))) return rc;
      }
      tok->tmpl_ids += ti->n_ids;
    }
    if (!seen_a)
      return ferr(L, RLVR_ERR_FORMAT, field, "\"single\" does not contain the sequence A");
    return RLVR_OK;
  }
  return ferr(L, RLVR_ERR_UNSUPPORTED, field,
              "post-processor \"%s\" is not supported (rlvr implements TemplateProcessing, "
              "ByteLevel, Sequence)",
              type);
}

static int load_decoder(loader *L, const cJSON *d, const char *field) {
  rlvr_tokenizer *tok = L->tok;
  if (!d || cJSON_IsNull(d)) return RLVR_OK;
  if (!cJSON_IsObject(d))
    return ferr(L, RLVR_ERR_FORMAT, field, "must be an object or null, not %s", json_type_name(d));
  const char *type = get_type(d);
  if (!type) return ferr(L, RLVR_ERR_FORMAT, field, "has no \"type\"");
  int rc;
  if (strcmp(type, "Sequence") == 0) {
    static const char *const keys[] = {"type", "decoders", NULL};
    if ((rc = check_keys(L, d, field, keys))) return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(d, "decoders");
    if (!cJSON_IsArray(list)) return ferr(L, RLVR_ERR_FORMAT, field, "\"decoders\" must be an array");
    int i = 0;
    char sub[160];
    for (const cJSON *c = list->child; c; c = c->next, i++) {
      snprintf(sub, sizeof sub, "%s.decoders[%d]", field, i);
      if ((rc = load_decoder(L, c, sub))) return rc;
    }
    return RLVR_OK;
  }
  if (strcmp(type, "ByteLevel") == 0) {
    static const char *const keys[] = {"type", "add_prefix_space", "trim_offsets", "use_regex",
                                       NULL};
    if ((rc = check_keys(L, d, field, keys))) return rc;
    if (tok->decoder_byte_level)
      return ferr(L, RLVR_ERR_UNSUPPORTED, field, "a second ByteLevel decoder is not supported");
    tok->decoder_byte_level = 1;
    return RLVR_OK;
  }
  return ferr(L, RLVR_ERR_UNSUPPORTED, field,
              "decoder \"%s\" is not supported (rlvr implements ByteLevel, Sequence)", type);
}

/* The normalizer over s into out (invalid UTF-8 bytes kept as they are). */
static void normalize(const rlvr_tokenizer *tok, const char *s, size_t n, cvec *out);

static int load_added(loader *L, const cJSON *list) {
  rlvr_tokenizer *tok = L->tok;
  if (!list || cJSON_IsNull(list)) return RLVR_OK;
  if (!cJSON_IsArray(list))
    return ferr(L, RLVR_ERR_FORMAT, "added_tokens", "must be an array, not %s",
                json_type_name(list));
  size_t n = (size_t)cJSON_GetArraySize(list);
  tok->added = xcalloc(n + 1, sizeof *tok->added);
  sm_init(&tok->added_map, n);
  int32_t max_added = -1;
  size_t i = 0;
  int rc;
  for (const cJSON *t = list->child; t; t = t->next, i++) {
    char field[64];
    snprintf(field, sizeof field, "added_tokens[%zu]", i);
    if (!cJSON_IsObject(t))
      return ferr(L, RLVR_ERR_FORMAT, field, "must be an object, not %s", json_type_name(t));
    static const char *const keys[] = {"id", "content", "single_word", "lstrip", "rstrip",
                                       "normalized", "special", NULL};
    if ((rc = check_keys(L, t, field, keys))) return rc;
    added_token *a = &tok->added[tok->n_added];
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(t, "content");
    if (!cJSON_IsString(content) || !content->valuestring[0])
      return ferr(L, RLVR_ERR_FORMAT, field, "\"content\" must be a non-empty string");
    char idfield[80];
    snprintf(idfield, sizeof idfield, "%s.id", field);
    if ((rc = get_id(L, cJSON_GetObjectItemCaseSensitive(t, "id"), idfield, &a->id))) return rc;
    if ((rc = get_bool(L, t, "single_word", field, 0, &a->single_word))) return rc;
    if ((rc = get_bool(L, t, "lstrip", field, 0, &a->lstrip))) return rc;
    if ((rc = get_bool(L, t, "rstrip", field, 0, &a->rstrip))) return rc;
    if ((rc = get_bool(L, t, "special", field, 0, &a->special))) return rc;
    /* HF's AddedToken defaults normalized to !special */
    if ((rc = get_bool(L, t, "normalized", field, !a->special, &a->normalized))) return rc;
    a->len = strlen(content->valuestring);
    a->off = pool_add(tok, content->valuestring, a->len);
    /* tokenizers ignores the ids in the file and gives each token, in file
     * order, the id of an equal vocab token or the next free one; a file
     * whose ids disagree would encode differently here and there. */
    int32_t expect = sm_get(&tok->added_map, tok->pool.v, content->valuestring, a->len);
    if (expect >= 0)
      return ferr(L, RLVR_ERR_FORMAT, field, "\"%s\" appears twice in added_tokens",
                  content->valuestring);
    expect = sm_get(&tok->vocab, tok->pool.v, content->valuestring, a->len);
    if (expect < 0) {
      int32_t vs = (int32_t)tok->model_vocab_len;
      expect = max_added < 0 ? vs : (max_added >= vs || vs == 0) ? max_added + 1 : vs;
    }
    if (expect != a->id)
      return ferr(L, RLVR_ERR_UNSUPPORTED, field,
                  "\"%s\" has id %d, but tokenizers would give it id %d (ids must follow the "
                  "vocabulary without gaps)",
                  content->valuestring, a->id, expect);
    if (a->id > max_added) max_added = a->id;
    sm_put(&tok->added_map, tok->pool.v, a->off, a->len, a->id);
    ensure_ids(tok, a->id);
    tok->flags[a->id] |= FLAG_TOKEN | FLAG_ADDED | (a->special ? FLAG_SPECIAL : 0);
    tok->str_off[a->id] = a->off;
    tok->str_len[a->id] = (uint32_t)a->len;
    tok->n_added++;
  }
  return RLVR_OK;
}

/* The tries, in HF's order: special tokens first, then the others, each in
 * file order; normalized tokens are matched by their normalized content. */
static void build_tries(rlvr_tokenizer *tok) {
  trie_init(&tok->trie_raw);
  trie_init(&tok->trie_norm);
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < tok->n_added; i++) {
      added_token *a = &tok->added[i];
      if (a->special != (pass == 0)) continue;
      if (!a->normalized) {
        trie_add(&tok->trie_raw, tok->pool.v + a->off, a->len, (int32_t)i);
        continue;
      }
      cvec nb = {0};
      if (tok->n_norm) normalize(tok, tok->pool.v + a->off, a->len, &nb); /* content may be invalid UTF-8 */
      else cv_put(&nb, tok->pool.v + a->off, a->len);
      a->nlen = nb.n;
      a->noff = pool_add(tok, nb.v, nb.n);
      free(nb.v);
      if (a->nlen) trie_add(&tok->trie_norm, tok->pool.v + a->noff, a->nlen, (int32_t)i);
    }
  }
}

/* What the decoder makes of each token (the ByteLevel decoder maps each
 * character back to its byte, or keeps the token's UTF-8 text if any
 * character is outside the byte alphabet). */
static void build_token_bytes(rlvr_tokenizer *tok) {
  uint32_t byte_cp[256];
  int16_t cp_byte[BL_CP_MAX];
  byte_level_tables(byte_cp, cp_byte);
  tok->bytes_off = xmalloc((size_t)tok->n_ids * sizeof *tok->bytes_off);
  tok->bytes_len = xmalloc((size_t)tok->n_ids * sizeof *tok->bytes_len);
  char *tmp = NULL;
  size_t tmp_cap = 0;
  for (int32_t id = 0; id < tok->n_ids; id++) {
    tok->bytes_off[id] = tok->str_off[id];
    tok->bytes_len[id] = tok->str_len[id];
    if (!(tok->flags[id] & FLAG_TOKEN) || !tok->decoder_byte_level) continue;
    if (tok->str_len[id] + 1 > tmp_cap) tmp_cap = tok->str_len[id] + 1, tmp = xrealloc(tmp, tmp_cap);
    size_t blen;
    if (text_to_bytes(cp_byte, tok->pool.v + tok->str_off[id], tok->str_len[id], tmp, &blen)) {
      tok->bytes_off[id] = pool_add(tok, tmp, blen);
      tok->bytes_len[id] = (uint32_t)blen;
    }
  }
  free(tmp);
}

/* bos_token / eos_token / pad_token of tokenizer_config.json: a string, an
 * object with "content", or null. */
static int config_token(loader *L, const cJSON *cfg, const char *key, int32_t *out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, key);
  if (!j || cJSON_IsNull(j)) return RLVR_OK;
  if (cJSON_IsObject(j)) j = cJSON_GetObjectItemCaseSensitive(j, "content");
  if (!cJSON_IsString(j))
    return ferr(L, RLVR_ERR_FORMAT, key, "must be a string, an object with \"content\", or null");
  int32_t id = rlvr_tokenizer_token_id(L->tok, j->valuestring);
  if (id < 0)
    return ferr(L, RLVR_ERR_FORMAT, key, "\"%s\" is not a token of the tokenizer", j->valuestring);
  *out = id;
  return RLVR_OK;
}

static int load_config(rlvr_tokenizer *tok, const char *path) {
  char *text;
  size_t len;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  loader L = {path, tok};
  cJSON *cfg = cJSON_ParseWithLength(text, len);
  free(text);
  if (!cJSON_IsObject(cfg)) {
    cJSON_Delete(cfg);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: not a JSON object", path);
  }
  int32_t bos = -1;
  if (!(rc = config_token(&L, cfg, "bos_token", &bos)) &&
      !(rc = config_token(&L, cfg, "eos_token", &tok->eos)) &&
      !(rc = config_token(&L, cfg, "pad_token", &tok->pad))) {
    if (bos >= 0) tok->bos = bos;
  }
  cJSON_Delete(cfg);
  return rc;
}

void rlvr_tokenizer_free(rlvr_tokenizer *tok) {
  if (!tok) return;
  free(tok->name);
  free(tok->pool.v);
  free(tok->str_off);
  free(tok->str_len);
  free(tok->bytes_off);
  free(tok->bytes_len);
  free(tok->flags);
  sm_free(&tok->vocab);
  sm_free(&tok->vocab_bytes);
  free(tok->merges.slots);
  free(tok->added);
  sm_free(&tok->added_map);
  trie_free(&tok->trie_raw);
  trie_free(&tok->trie_norm);
  rlvr_tokregex_free(tok->word_re);
  for (size_t i = 0; i < tok->n_splits; i++) rlvr_tokregex_free(tok->splits[i].re);
  free(tok->splits);
  rlvr_tokregex_free(tok->bl_re);
  for (size_t i = 0; i < MAX_TEMPLATE; i++) free(tok->tmpl[i].ids);
  free(tok);
}

static int load_parsed(loader *L, const cJSON *root) {
  rlvr_tokenizer *tok = L->tok;
  int rc;
  if (!cJSON_IsObject(root))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: not a tokenizer.json (top level is %s, not an object)",
                      L->file, json_type_name(root));
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
  if (!cJSON_IsString(version) || strcmp(version->valuestring, "1.0") != 0)
    return ferr(L, RLVR_ERR_FORMAT, "version",
                "not a tokenizer.json (\"version\" must be \"1.0\", found %s)",
                cJSON_IsString(version) ? version->valuestring : json_type_name(version));
  static const char *const keys[] = {"version", "truncation", "padding", "added_tokens",
                                     "normalizer", "pre_tokenizer", "post_processor", "decoder",
                                     "model", NULL};
  if ((rc = check_keys(L, root, "(top level)", keys))) return rc;
  static const char *const unsupported_if_set[] = {"truncation", "padding"};
  for (int i = 0; i < 2; i++) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, unsupported_if_set[i]);
    if (j && !cJSON_IsNull(j))
      return ferr(L, RLVR_ERR_UNSUPPORTED, unsupported_if_set[i],
                  "must be null (rlvr does not pad or truncate inside the tokenizer)");
  }
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  if (!model) return ferr(L, RLVR_ERR_FORMAT, "model", "missing: not a tokenizer.json");
  if ((rc = load_model(L, model))) return rc;
  tok->norm_growth = 1;
  if ((rc = load_normalizer(L, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), "normalizer")))
    return rc;
  const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
  int seen_bl = 0;
  if (pre && !cJSON_IsNull(pre) && (rc = load_pretok(L, pre, "pre_tokenizer", &seen_bl))) return rc;
  if (!seen_bl)
    return ferr(L, RLVR_ERR_UNSUPPORTED, "pre_tokenizer",
                "no ByteLevel step: rlvr implements byte-level BPE only");
  if ((rc = load_added(L, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")))) return rc;
  if ((rc = load_post(L, cJSON_GetObjectItemCaseSensitive(root, "post_processor"),
                      "post_processor")))
    return rc;
  if ((rc = load_decoder(L, cJSON_GetObjectItemCaseSensitive(root, "decoder"), "decoder")))
    return rc;
  build_tries(tok);
  for (size_t i = 0; i < tok->n_added; i++) {
    if (tok->added[i].single_word && !tok->word_re) {
      static const char word[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";
      if ((rc = compile_at(L, "added_tokens", word, strlen(word), RLVR_TOKREGEX_PCRE2,
                           &tok->word_re)))
        return rc;
    }
  }
  build_token_bytes(tok);
  tok->bos = tok->eos = tok->pad = -1;
  if (tok->n_tmpl && !tok->tmpl[0].is_sequence && tok->tmpl[0].n_ids == 1)
    tok->bos = tok->tmpl[0].ids[0];
  return RLVR_OK;
}

int rlvr_tokenizer_load_json(const char *json, size_t len, const char *name,
                             rlvr_tokenizer **out) {
  loader L = {name ? name : "tokenizer.json", NULL};
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    size_t off = at && at >= json && at <= json + len ? (size_t)(at - json) : 0;
    return rlvr_error(RLVR_ERR_FORMAT, "%s: not JSON (parse error near byte %zu)", L.file, off);
  }
  rlvr_tokenizer *tok = xcalloc(1, sizeof *tok);
  tok->name = xstrdup(L.file);
  L.tok = tok;
  int rc = load_parsed(&L, root);
  cJSON_Delete(root);
  if (rc) {
    rlvr_tokenizer_free(tok);
    return rc;
  }
  *out = tok;
  return RLVR_OK;
}

int rlvr_tokenizer_load(const char *path, rlvr_tokenizer **out) {
  struct stat st;
  char *file = NULL;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    file = xmalloc(strlen(path) + 32);
    sprintf(file, "%s/tokenizer.json", path);
  } else {
    file = xstrdup(path);
  }
  char *text;
  size_t len;
  int rc = rlvr_file_read(file, &text, &len);
  if (rc) {
    free(file);
    return rc;
  }
  rlvr_tokenizer *tok = NULL;
  rc = rlvr_tokenizer_load_json(text, len, file, &tok);
  free(text);
  if (rc == RLVR_OK) {
    /* tokenizer_config.json beside it, if any */
    char *cfg = xmalloc(strlen(file) + 32);
    strcpy(cfg, file);
    char *slash = strrchr(cfg, '/');
    strcpy(slash ? slash + 1 : cfg, "tokenizer_config.json");
    if (rlvr_file_exists(cfg)) rc = load_config(tok, cfg);
    free(cfg);
  }
  free(file);
  if (rc) {
    rlvr_tokenizer_free(tok);
    return rc;
  }
  *out = tok;
  return RLVR_OK;
}

/* ---------------------------------------------------------------- normalization */

/* Whether NFC leaves every character of s (valid UTF-8) alone: true when all
 * are below U+0300 (no combining marks, nothing composes there), CJK
 * ideographs, Hangul syllables, or kana other than the two voicing marks. */
static int nfc_quick_yes(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t bad;
    size_t k = utf8_next(s + i, n - i, &cp, &bad);
    if (!k) return 0;
    if (!(cp < 0x300 || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
          (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x30A1 && cp <= 0x30FA)))
      return 0;
    i += k;
  }
  return 1;
}

static void normalize_valid(const rlvr_tokenizer *tok, const char *s, size_t n, cvec *out) {
  cvec a = {0}, b = {0};
  cv_put(&a, s, n);
  for (int k = 0; k < tok->n_norm; k++) {
    int form = tok->norm_ops[k];
    int ascii = 1;
    for (size_t i = 0; i < a.n && ascii; i++) ascii = (unsigned char)a.v[i] < 0x80;
    if (ascii) continue; /* every normal form of ASCII is itself */
    if (form == (UTF8PROC_STABLE | UTF8PROC_COMPOSE) && nfc_quick_yes((unsigned char *)a.v, a.n))
      continue;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)a.v, (utf8proc_ssize_t)a.n, &dst,
                                      (utf8proc_option_t)form);
    RLVR_CHECK(r >= 0, "utf8proc_map failed on valid UTF-8: %s", utf8proc_errmsg(r));
    b.n = 0;
    cv_put(&b, dst, (size_t)r);
    free(dst);
    cvec t = a;
    a = b;
    b = t;
  }
  cv_put(out, a.v, a.n);
  free(a.v);
  free(b.v);
}

/* Normalizes s into out: valid UTF-8 runs through the normalizer, invalid
 * bytes copied as they are. */
static void normalize(const rlvr_tokenizer *tok, const char *s, size_t n, cvec *out) {
  out->n = 0;
  cv_put(out, "", 0);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n) {
      uint32_t cp;
      size_t bad;
      size_t k = utf8_next((const unsigned char *)s + j, n - j, &cp, &bad);
      if (!k) break;
      j += k;
    }
    if (j > i) normalize_valid(tok, s + i, j - i, out);
    if (j < n) {
      uint32_t cp;
      size_t bad = 1;
      utf8_next((const unsigned char *)s + j, n - j, &cp, &bad);
      cv_put(out, s + j, bad);
      j += bad;
    }
    i = j;
  }
}

/* ---------------------------------------------------------------- encoding */

typedef struct {
  uint32_t rank;
  int32_t pos;
  int32_t id;
} merge_ent;

typedef struct {
  const rlvr_tokenizer *tok;
  ivec out;
  cvec norm;   /* a normalized segment */
  cvec prefix; /* a pre-token with ByteLevel's prefix space */
  svec segs_raw, segs_norm, pieces, pieces2, sub;
  rlvr_tokregex_iter it;
  /* BPE scratch, one entry per symbol */
  int32_t *sym, *prev, *next;
  size_t sym_cap;
  merge_ent *heap;
  size_t heap_n, heap_cap;
} enc_ctx;

static void enc_free(enc_ctx *e) {
  free(e->out.v);
  free(e->norm.v);
  free(e->prefix.v);
  free(e->segs_raw.v);
  free(e->segs_norm.v);
  free(e->pieces.v);
  free(e->pieces2.v);
  free(e->sub.v);
  rlvr_tokregex_iter_free(&e->it);
  free(e->sym);
  free(e->prev);
  free(e->next);
  free(e->heap);
}

static int merge_less(const merge_ent *a, const merge_ent *b) {
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(enc_ctx *e, merge_ent m) {
  if (e->heap_n == e->heap_cap) {
    e->heap_cap = e->heap_cap * 2 + 64;
    e->heap = xrealloc(e->heap, e->heap_cap * sizeof *e->heap);
  }
  size_t i = e->heap_n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!merge_less(&m, &e->heap[p])) break;
    e->heap[i] = e->heap[p];
    i = p;
  }
  e->heap[i] = m;
}

static merge_ent heap_pop(enc_ctx *e) {
  merge_ent top = e->heap[0];
  merge_ent last = e->heap[--e->heap_n];
  size_t i = 0, n = e->heap_n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && merge_less(&e->heap[c + 1], &e->heap[c])) c++;
    if (!merge_less(&e->heap[c], &last)) break;
    e->heap[i] = e->heap[c];
    i = c;
  }
  if (n) e->heap[i] = last;
  return top;
}

static const pair_slot *merge_of(const rlvr_tokenizer *tok, int32_t a, int32_t b) {
  const pair_slot *s = pm_slot(&tok->merges, pair_key(a, b));
  return s->key == UINT64_MAX ? NULL : s;
}

/* BPE over one pre-token's bytes, as tokenizers' Word::merge_all: a heap of
 * candidate merges ordered by (rank, position); a popped entry is stale when
 * its left symbol is gone or the pair there no longer makes the same id. */
static void bpe(enc_ctx *e, const unsigned char *w, size_t n) {
  const rlvr_tokenizer *tok = e->tok;
  if (tok->ignore_merges) {
    int32_t id = sm_get(&tok->vocab_bytes, tok->pool.v, (const char *)w, n);
    if (id >= 0) {
      iv_push(&e->out, id);
      return;
    }
  }
  if (n > e->sym_cap) {
    e->sym_cap = n * 2;
    e->sym = xrealloc(e->sym, e->sym_cap * sizeof *e->sym);
    e->prev = xrealloc(e->prev, e->sym_cap * sizeof *e->prev);
    e->next = xrealloc(e->next, e->sym_cap * sizeof *e->next);
  }
  /* Initial symbols: one per byte; a byte outside the vocab becomes unk
   * (fused with a preceding unk if fuse_unk) or is dropped when there is no unk. */
  int32_t ns = 0;
  int pending_unk = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t id = tok->byte_sym[w[i]];
    if (id >= 0) {
      if (pending_unk) e->sym[ns++] = tok->unk_id, pending_unk = 0;
      e->sym[ns++] = id;
    } else if (tok->unk_id >= 0) {
      if (pending_unk && !tok->fuse_unk) e->sym[ns++] = tok->unk_id;
      pending_unk = 1;
    }
  }
  if (pending_unk) e->sym[ns++] = tok->unk_id;
  for (int32_t i = 0; i < ns; i++) {
    e->prev[i] = i - 1;
    e->next[i] = i + 1 < ns ? i + 1 : -1;
  }
  e->heap_n = 0;
  for (int32_t i = 0; i + 1 < ns; i++) {
    const pair_slot *m = merge_of(tok, e->sym[i], e->sym[i + 1]);
    if (m) heap_push(e, (merge_ent){m->rank, i, m->id});
  }
  /* sym[i] < 0 marks a symbol merged into its left neighbour. */
  while (e->heap_n) {
    merge_ent top = heap_pop(e);
    int32_t p = top.pos;
    if (e->sym[p] < 0 || e->next[p] < 0) continue;
    int32_t q = e->next[p];
    const pair_slot *m = merge_of(tok, e->sym[p], e->sym[q]);
    if (!m || m->id != top.id) continue;
    e->sym[p] = top.id;
    e->sym[q] = -1;
    e->next[p] = e->next[q];
    if (e->next[q] >= 0) e->prev[e->next[q]] = p;
    if (e->prev[p] >= 0) {
      const pair_slot *l = merge_of(tok, e->sym[e->prev[p]], e->sym[p]);
      if (l) heap_push(e, (merge_ent){l->rank, e->prev[p], l->id});
    }
    if (e->next[p] >= 0) {
      const pair_slot *r = merge_of(tok, e->sym[p], e->sym[e->next[p]]);
      if (r) heap_push(e, (merge_ent){r->rank, p, r->id});
    }
  }
  for (int32_t i = 0; i < ns; i++)
    if (e->sym[i] >= 0) iv_push(&e->out, e->sym[i]);
}

/* ByteLevel: the prefix space, GPT-2's split if use_regex, then BPE. */
static int byte_level(enc_ctx *e, const char *s, size_t n) {
  const rlvr_tokenizer *tok = e->tok;
  if (tok->bl_prefix_space && s[0] != ' ') {
    e->prefix.n = 0;
    cv_put(&e->prefix, " ", 1);
    cv_put(&e->prefix, s, n);
    s = e->prefix.v;
    n = e->prefix.n;
  }
  if (!tok->bl_re) {
    bpe(e, (const unsigned char *)s, n);
    return RLVR_OK;
  }
  rlvr_tokregex_iter_reset(&e->it);
  size_t prev = 0, a, b;
  int rc;
  while ((rc = rlvr_tokregex_next(tok->bl_re, s, n, &e->it, &a, &b)) == 1) {
    if (a > prev) bpe(e, (const unsigned char *)s + prev, a - prev);
    if (b > a) bpe(e, (const unsigned char *)s + a, b - a);
    prev = b;
  }
  if (rc < 0) return rc;
  if (n > prev) bpe(e, (const unsigned char *)s + prev, n - prev);
  return RLVR_OK;
}

/* One Split step over piece [pa, pb) of s: appends the resulting non-empty
 * pieces to out, following tokenizers' SplitDelimiterBehavior folds. */
static int split_piece(enc_ctx *e, const split_step *st, const char *s, size_t pa, size_t pb,
                       svec *out) {
  /* matches: alternating (range, is_match), covering the piece */
  svec *m = &e->sub;
  m->n = 0;
  rlvr_tokregex_iter_reset(&e->it);
  size_t prev = 0, a, b, n = pb - pa;
  int rc;
  while ((rc = rlvr_tokregex_next(st->re, s + pa, n, &e->it, &a, &b)) == 1) {
    if (a != prev) sv_push(m, prev, a, st->invert);
    sv_push(m, a, b, !st->invert);
    prev = b;
  }
  if (rc < 0) return rc;
  if (prev != n) sv_push(m, prev, n, st->invert);
  /* id holds is_match here. Fold into (range, remove) pieces. */
  size_t first = out->n;
  int previous_match = 0;
  switch (st->behavior) {
  case BEH_ISOLATED:
    for (size_t i = 0; i < m->n; i++) sv_push(out, m->v[i].a, m->v[i].b, 0);
    break;
  case BEH_REMOVED:
    for (size_t i = 0; i < m->n; i++) sv_push(out, m->v[i].a, m->v[i].b, m->v[i].id);
    break;
  case BEH_CONTIGUOUS:
    for (size_t i = 0; i < m->n; i++) {
      int is_match = m->v[i].id;
      if (is_match == previous_match && out->n > first) out->v[out->n - 1].b = m->v[i].b;
      else sv_push(out, m->v[i].a, m->v[i].b, 0);
      previous_match = is_match;
    }
    break;
  case BEH_MERGED_PREV:
    for (size_t i = 0; i < m->n; i++) {
      int is_match = m->v[i].id;
      if (is_match && !previous_match && out->n > first) out->v[out->n - 1].b = m->v[i].b;
      else sv_push(out, m->v[i].a, m->v[i].b, 0);
      previous_match = is_match;
    }
    break;
  case BEH_MERGED_NEXT: {
    /* Folded from the right, then put back in order. */
    for (size_t k = m->n; k-- > 0;) {
      int is_match = m->v[k].id;
      if (is_match && !previous_match && out->n > first) out->v[out->n - 1].a = m->v[k].a;
      else sv_push(out, m->v[k].a, m->v[k].b, 0);
      previous_match = is_match;
    }
    for (size_t i = first, j = out->n - 1; i < j; i++, j--) {
      seg t = out->v[i];
      out->v[i] = out->v[j];
      out->v[j] = t;
    }
    break;
  }
  }
  /* Drop removed and empty pieces; make ranges absolute. */
  size_t w = first;
  for (size_t i = first; i < out->n; i++) {
    if (out->v[i].id || out->v[i].b == out->v[i].a) continue;
    out->v[w++] = (seg){out->v[i].a + pa, out->v[i].b + pa, -1};
  }
  out->n = w;
  return RLVR_OK;
}

/* Pre-tokenizes and encodes s[0, n) (already normalized, no added tokens). */
static int pretokenize(enc_ctx *e, const char *s, size_t n) {
  const rlvr_tokenizer *tok = e->tok;
  e->pieces.n = 0;
  sv_push(&e->pieces, 0, n, -1);
  for (size_t k = 0; k < tok->n_splits; k++) {
    e->pieces2.n = 0;
    for (size_t i = 0; i < e->pieces.n; i++) {
      int rc = split_piece(e, &tok->splits[k], s, e->pieces.v[i].a, e->pieces.v[i].b, &e->pieces2);
      if (rc) return rc;
    }
    svec t = e->pieces;
    e->pieces = e->pieces2;
    e->pieces2 = t;
  }
  for (size_t i = 0; i < e->pieces.n; i++) {
    int rc = byte_level(e, s + e->pieces.v[i].a, e->pieces.v[i].b - e->pieces.v[i].a);
    if (rc) return rc;
  }
  return RLVR_OK;
}

/* The code point ending at s[end) (valid UTF-8), or -1. */
static int32_t cp_before(const unsigned char *s, size_t end, size_t *start) {
  for (size_t k = 1; k <= 4 && k <= end; k++) {
    uint32_t cp;
    size_t bad;
    if (utf8_next(s + end - k, k, &cp, &bad) == k) {
      *start = end - k;
      return (int32_t)cp;
    }
  }
  return -1;
}

static int is_word_at(const enc_ctx *e, const char *s, size_t n, size_t pos) {
  return pos < n && rlvr_tokregex_match_at(e->tok->word_re, s, n, pos, (rlvr_tokregex_iter *)&e->it);
}

/* Splits s[0, n) at the added tokens of trie t, as AddedVocabulary's
 * find_matches does: leftmost-longest matches, single_word checks, lstrip and
 * rstrip widening the token over neighbouring whitespace. Appends segments
 * (text: id -1) to out. */
static void split_added(enc_ctx *e, const trie *t, const char *s, size_t n, svec *out) {
  const rlvr_tokenizer *tok = e->tok;
  const unsigned char *u = (const unsigned char *)s;
  size_t start_offset = 0, i = 0;
  if (!t->empty) {
    while (i < n) {
      size_t stop = 0;
      int32_t k = trie_longest(t, u, n, i, &stop);
      if (k < 0) {
        i++;
        continue;
      }
      const added_token *a = &tok->added[k];
      size_t start = i;
      i = stop; /* the next match is searched after this one, taken or not */
      if (a->single_word) {
        size_t ps;
        int start_space = start == 0 || !(cp_before(u, start, &ps) >= 0 && is_word_at(e, s, n, ps));
        int stop_space = stop == n || !is_word_at(e, s, n, stop);
        if (!start_space || !stop_space) continue;
      }
      if (a->lstrip) {
        size_t ns = start, ps;
        int32_t cp;
        while (ns > 0 && (cp = cp_before(u, ns, &ps)) >= 0 && is_white_space((uint32_t)cp)) ns = ps;
        start = ns > start_offset ? ns : start_offset;
      }
      if (a->rstrip) {
        uint32_t cp;
        size_t bad, len;
        while (stop < n && (len = utf8_next(u + stop, n - stop, &cp, &bad)) && is_white_space(cp))
          stop += len;
      }
      if (start_offset < start) sv_push(out, start_offset, start, -1);
      sv_push(out, start, stop, a->id);
      start_offset = stop;
    }
  }
  if (start_offset < n) sv_push(out, start_offset, n, -1);
}

static int encode_text(enc_ctx *e, const char *text, size_t len) {
  const rlvr_tokenizer *tok = e->tok;
  if (len == 0) return RLVR_OK;
  e->segs_raw.n = 0;
  split_added(e, &tok->trie_raw, text, len, &e->segs_raw);
  for (size_t i = 0; i < e->segs_raw.n; i++) {
    seg sg = e->segs_raw.v[i];
    if (sg.id >= 0) {
      iv_push(&e->out, sg.id);
      continue;
    }
    const char *s = text + sg.a;
    size_t n = sg.b - sg.a;
    if (tok->n_norm) {
      normalize(tok, s, n, &e->norm);
      s = e->norm.v;
      n = e->norm.n;
    }
    e->segs_norm.n = 0;
    split_added(e, &tok->trie_norm, s, n, &e->segs_norm);
    for (size_t j = 0; j < e->segs_norm.n; j++) {
      seg sn = e->segs_norm.v[j];
      if (sn.id >= 0) {
        iv_push(&e->out, sn.id);
        continue;
      }
      if (sn.b == sn.a) continue;
      int rc = pretokenize(e, s + sn.a, sn.b - sn.a);
      if (rc) return rc;
    }
  }
  return RLVR_OK;
}

/* Encodes into e->out; the template's special ids around the text if asked. */
static int encode_all(const rlvr_tokenizer *tok, const char *text, size_t len, int add_special,
                      enc_ctx *e) {
  memset(e, 0, sizeof *e);
  e->tok = tok;
  rlvr_tokregex_iter_init(&e->it);
  if (!add_special || !tok->n_tmpl) return encode_text(e, text, len);
  for (size_t i = 0; i < tok->n_tmpl; i++) {
    const template_item *ti = &tok->tmpl[i];
    if (ti->is_sequence) {
      int rc = encode_text(e, text, len);
      if (rc) return rc;
    } else {
      for (size_t k = 0; k < ti->n_ids; k++) iv_push(&e->out, ti->ids[k]);
    }
  }
  return RLVR_OK;
}

int rlvr_tokenizer_encode(const rlvr_tokenizer *tok, const char *text, size_t len,
                          int add_special, int32_t *ids, size_t max, size_t *n) {
  enc_ctx e;
  int rc = encode_all(tok, text, len, add_special, &e);
  if (rc == RLVR_OK) {
    if (e.out.n > max) {
      rc = rlvr_error(RLVR_ERR_RANGE, "%s: encoding needs %zu ids, the buffer holds %zu",
                      tok->name, e.out.n, max);
    } else if (e.out.n) {
      memcpy(ids, e.out.v, e.out.n * sizeof *ids);
    }
    *n = e.out.n;
  } else {
    rlvr_error_wrap(rc, "%s: encode", tok->name);
  }
  enc_free(&e);
  return rc;
}

int rlvr_tokenizer_encode_alloc(const rlvr_tokenizer *tok, const char *text, size_t len,
                                int add_special, int32_t **ids, size_t *n) {
  enc_ctx e;
  int rc = encode_all(tok, text, len, add_special, &e);
  if (rc == RLVR_OK) {
    *n = e.out.n;
    *ids = e.out.v ? e.out.v : xmalloc(sizeof **ids);
    e.out.v = NULL;
  } else {
    rlvr_error_wrap(rc, "%s: encode", tok->name);
  }
  enc_free(&e);
  return rc;
}

size_t rlvr_tokenizer_max_ids(const rlvr_tokenizer *tok, size_t len) {
  /* At most one id per byte; add_prefix_space adds at most one byte per byte. */
  return 2 * len * (size_t)tok->norm_growth + tok->tmpl_ids + 1;
}

/* ---------------------------------------------------------------- decoding */

int rlvr_tokenizer_decode(const rlvr_tokenizer *tok, const int32_t *ids, size_t n,
                          int skip_special, char **out, size_t *out_len) {
  cvec raw = {0};
  cv_put(&raw, "", 0);
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    int32_t id = ids[i];
    if (id < 0 || id >= tok->n_ids || !(tok->flags[id] & FLAG_TOKEN)) continue;
    if (skip_special && (tok->flags[id] & FLAG_SPECIAL)) continue;
    if (!tok->decoder_byte_level && !first) cv_put(&raw, " ", 1); /* HF joins with spaces */
    cv_put(&raw, tok->pool.v + tok->bytes_off[id], tok->bytes_len[id]);
    first = 0;
  }
  /* Lossy UTF-8: each maximal ill-formed subpart becomes U+FFFD. */
  cvec res = {0};
  cv_put(&res, "", 0);
  size_t i = 0;
  while (i < raw.n) {
    size_t j = i;
    uint32_t cp;
    size_t bad = 1, k;
    while (j < raw.n && (k = utf8_next((const unsigned char *)raw.v + j, raw.n - j, &cp, &bad)))
      j += k;
    cv_put(&res, raw.v + i, j - i);
    if (j < raw.n) {
      cv_put(&res, "\xEF\xBF\xBD", 3);
      j += bad;
    }
    i = j;
  }
  free(raw.v);
  *out = res.v;
  *out_len = res.n;
  return RLVR_OK;
}

/* ---------------------------------------------------------------- lookups */

int32_t rlvr_tokenizer_token_id(const rlvr_tokenizer *tok, const char *token) {
  size_t len = strlen(token);
  int32_t id = sm_get(&tok->added_map, tok->pool.v, token, len);
  return id >= 0 ? id : sm_get(&tok->vocab, tok->pool.v, token, len);
}

const char *rlvr_tokenizer_token_str(const rlvr_tokenizer *tok, int32_t id) {
  if (id < 0 || id >= tok->n_ids || !(tok->flags[id] & FLAG_TOKEN)) return NULL;
  return tok->pool.v + tok->str_off[id];
}

int rlvr_tokenizer_token_bytes(const rlvr_tokenizer *tok, int32_t id, const char **bytes,
                               size_t *len) {
  if (id < 0 || id >= tok->n_ids || !(tok->flags[id] & FLAG_TOKEN)) return -1;
  *bytes = tok->pool.v + tok->bytes_off[id];
  *len = tok->bytes_len[id];
  return 0;
}

int rlvr_tokenizer_is_special(const rlvr_tokenizer *tok, int32_t id) {
  return id >= 0 && id < tok->n_ids && (tok->flags[id] & FLAG_SPECIAL);
}

int32_t rlvr_tokenizer_vocab_size(const rlvr_tokenizer *tok) { return tok->n_ids; }
int32_t rlvr_tokenizer_bos_id(const rlvr_tokenizer *tok) { return tok->bos; }
int32_t rlvr_tokenizer_eos_id(const rlvr_tokenizer *tok) { return tok->eos; }
int32_t rlvr_tokenizer_pad_id(const rlvr_tokenizer *tok) { return tok->pad; }
