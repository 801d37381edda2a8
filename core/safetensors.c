/* safetensors.c — see safetensors.h for the format and what is checked. */
#include "core/safetensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/check.h"
#include "core/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads and writes little-endian data in place: a little-endian host is required"
#endif

/* ---- dtypes ------------------------------------------------------------ */

static const struct {
  const char *name;
  size_t size;
} dtypes[RLVR_DTYPE_COUNT] = {
    [RLVR_DTYPE_F32] = {"F32", 4},  [RLVR_DTYPE_F16] = {"F16", 2},   [RLVR_DTYPE_BF16] = {"BF16", 2},
    [RLVR_DTYPE_F64] = {"F64", 8},  [RLVR_DTYPE_I64] = {"I64", 8},   [RLVR_DTYPE_U64] = {"U64", 8},
    [RLVR_DTYPE_I32] = {"I32", 4},  [RLVR_DTYPE_U32] = {"U32", 4},   [RLVR_DTYPE_I16] = {"I16", 2},
    [RLVR_DTYPE_U16] = {"U16", 2},  [RLVR_DTYPE_I8] = {"I8", 1},     [RLVR_DTYPE_U8] = {"U8", 1},
    [RLVR_DTYPE_BOOL] = {"BOOL", 1}, [RLVR_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [RLVR_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};

const char *rlvr_dtype_name(rlvr_dtype d) {
  RLVR_CHECK((unsigned)d < RLVR_DTYPE_COUNT);
  return dtypes[d].name;
}

size_t rlvr_dtype_size(rlvr_dtype d) {
  RLVR_CHECK((unsigned)d < RLVR_DTYPE_COUNT);
  return dtypes[d].size;
}

static int dtype_from_name(const char *s, rlvr_dtype *out) {
  for (int i = 0; i < RLVR_DTYPE_COUNT; i++)
    if (strcmp(s, dtypes[i].name) == 0) {
      *out = (rlvr_dtype)i;
      return 1;
    }
  return 0;
}

/* ---- element conversions ---------------------------------------------- */

static float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every value
 * is a binary32 value; subnormals (exponent 0) are normalised here. */
float rlvr_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    if (mant == 0) return bits_to_f32(sign);
    int e = -14; /* value = mant * 2^-24 = (mant / 2^10) * 2^-14 */
    while (!(mant & 0x400)) {
      mant <<= 1;
      e--;
    }
    mant &= 0x3ff;
    return bits_to_f32(sign | (uint32_t)(e + 127) << 23 | mant << 13);
  }
  if (exp == 31) /* inf; a NaN keeps its payload and is made quiet, as x86's vcvtph2ps and torch do */
    return bits_to_f32(sign | 0xffu << 23 | (mant ? 0x400000u : 0) | mant << 13);
  return bits_to_f32(sign | (exp - 15 + 127) << 23 | mant << 13);
}

/* bfloat16 is the top half of a binary32. */
float rlvr_bf16_to_f32(uint16_t b) { return bits_to_f32((uint32_t)b << 16); }

uint16_t rlvr_f32_to_bf16(float f) {
  if (isnan(f)) return 0x7fc0; /* as c10::BFloat16 does */
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t bias = 0x7fff + ((u >> 16) & 1); /* round to nearest, ties to even */
  return (uint16_t)((u + bias) >> 16);
}

/* ---- parsing ------------------------------------------------------------ */

static int tensor_begin_cmp(const void *a, const void *b) {
  const rlvr_st_tensor *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A JSON number that is an integer in [0, 2^53] (where doubles are exact). */
static int json_uint(const cJSON *v, uint64_t *out) {
  if (!cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return 0;
  *out = (uint64_t)d;
  return 1;
}

static void free_parsed(rlvr_safetensors *st) {
  for (int i = 0; i < st->num_tensors; i++) free(st->tensors[i].name);
  free(st->tensors);
  for (int i = 0; i < st->num_meta; i++) {
    free(st->meta[i].key);
    free(st->meta[i].value);
  }
  free(st->meta);
  free(st->path);
}

/* Parses one tensor entry into *t (name already set). */
static int parse_entry(const char *path, const cJSON *item, rlvr_st_tensor *t) {
  const char *name = t->name;
  if (!cJSON_IsObject(item))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", path, name);
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
  if (!cJSON_IsString(dt))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'dtype' missing or not a string", path, name);
  if (!dtype_from_name(dt->valuestring, &t->dtype))
    return rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: tensor '%s': dtype '%.32s' is not supported", path, name,
                      dt->valuestring);
  if (!cJSON_IsArray(sh))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'shape' missing or not an array", path, name);
  int nd = cJSON_GetArraySize(sh);
  if (nd > RLVR_ST_MAX_DIMS)
    return rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: tensor '%s': field 'shape' has %d dimensions, at most %d supported",
                      path, name, nd, (int)RLVR_ST_MAX_DIMS);
  t->ndim = nd;
  size_t numel = 1;
  int i = 0;
  const cJSON *d;
  cJSON_ArrayForEach(d, sh) {
    uint64_t v;
    if (!json_uint(d, &v))
      return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'shape'[%d] is not a non-negative integer", path,
                        name, i);
    t->shape[i++] = (int64_t)v;
    if (__builtin_mul_overflow(numel, (size_t)v, &numel))
      return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'shape' element count overflows", path, name);
  }
  t->numel = numel;
  uint64_t b, e;
  if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(cJSON_GetArrayItem(off, 0), &b) ||
      !json_uint(cJSON_GetArrayItem(off, 1), &e))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'data_offsets' is not two non-negative integers",
                      path, name);
  if (e < b)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': field 'data_offsets' [%llu, %llu] ends before it begins",
                      path, name, (unsigned long long)b, (unsigned long long)e);
  size_t nbytes;
  if (__builtin_mul_overflow(numel, dtypes[t->dtype].size, &nbytes) || nbytes != e - b)
    return rlvr_error(RLVR_ERR_FORMAT,
                      "%s: tensor '%s': field 'data_offsets' [%llu, %llu] holds %llu bytes, but shape and dtype %s "
                      "need %zu elements of %zu bytes",
                      path, name, (unsigned long long)b, (unsigned long long)e, (unsigned long long)(e - b),
                      dtypes[t->dtype].name, numel, dtypes[t->dtype].size);
  t->begin = (size_t)b;
  t->end = (size_t)e;
  return RLVR_OK;
}

static int parse_metadata(const char *path, const cJSON *item, rlvr_safetensors *st) {
  if (!cJSON_IsObject(item))
    return rlvr_error(RLVR_ERR_FORMAT, "%s: field '__metadata__' is not an object", path);
  int n = cJSON_GetArraySize(item);
  st->meta = xcalloc((size_t)n + 1, sizeof *st->meta);
  const cJSON *kv;
  cJSON_ArrayForEach(kv, item) {
    if (!cJSON_IsString(kv))
      return rlvr_error(RLVR_ERR_FORMAT, "%s: field '__metadata__.%.64s' is not a string", path, kv->string);
    st->meta[st->num_meta].key = xstrdup(kv->string);
    st->meta[st->num_meta].value = xstrdup(kv->valuestring);
    st->num_meta++;
  }
  return RLVR_OK;
}

static int parse_header(const unsigned char *buf, size_t len, const char *path, rlvr_safetensors *st) {
  if (len < 8)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", path, len);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
  if (n > RLVR_ST_MAX_HEADER)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: header length %llu exceeds the limit of %d bytes", path,
                      (unsigned long long)n, (int)RLVR_ST_MAX_HEADER);
  if (n > len - 8)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                      (unsigned long long)n, len);
  const char *hdr = (const char *)buf + 8;
  if (n == 0 || hdr[0] != '{')
    return rlvr_error(RLVR_ERR_FORMAT, "%s: header does not start with '{': not a safetensors file", path);
  st->header_len = (size_t)n;

  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
  if (!root)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: header is not valid JSON (at byte %td of the header)", path,
                      end ? end - hdr : (ptrdiff_t)0);
  for (const char *p = end; p < hdr + n; p++)
    if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
      cJSON_Delete(root);
      return rlvr_error(RLVR_ERR_FORMAT, "%s: header has data after its JSON object (at byte %td of the header)",
                        path, p - hdr);
    }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: header is not a JSON object", path);
  }

  int rc = RLVR_OK, count = cJSON_GetArraySize(root), seen_meta = 0;
  st->tensors = xcalloc((size_t)count + 1, sizeof *st->tensors);
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    if (strcmp(item->string, "__metadata__") == 0) {
      if (seen_meta++) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field '__metadata__' appears twice", path);
      else rc = parse_metadata(path, item, st);
    } else {
      rlvr_st_tensor *t = &st->tensors[st->num_tensors++];
      t->name = xstrdup(item->string);
      rc = parse_entry(path, item, t);
    }
    if (rc) break;
  }
  cJSON_Delete(root);
  return rc;
}

/* Duplicates and the tiling of the data section. */
static int check_layout(const char *path, size_t data_len, rlvr_safetensors *st) {
  int n = st->num_tensors;
  if (n > 1) {
    char **names = xmalloc((size_t)n * sizeof *names);
    for (int i = 0; i < n; i++) names[i] = st->tensors[i].name;
    qsort(names, (size_t)n, sizeof *names, name_cmp);
    for (int i = 1; i < n; i++)
      if (strcmp(names[i - 1], names[i]) == 0) {
        int rc = rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path, names[i]);
        free(names);
        return rc;
      }
    free(names);
  }
  qsort(st->tensors, (size_t)n, sizeof *st->tensors, tensor_begin_cmp);
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    const rlvr_st_tensor *t = &st->tensors[i];
    if (t->begin != at) {
      if (t->begin < at)
        return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s' ending at %zu",
                          path, t->name, t->begin, t->end, st->tensors[i - 1].name, at);
      return rlvr_error(RLVR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] leave a gap after byte %zu", path,
                        t->name, t->begin, t->end, at);
    }
    if (t->end > data_len)
      return rlvr_error(RLVR_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%zu, %zu] run past the end of the data section (%zu bytes)",
                        path, t->name, t->begin, t->end, data_len);
    at = t->end;
  }
  if (at != data_len)
    return rlvr_error(RLVR_ERR_FORMAT, "%s: data section is %zu bytes but the tensors cover %zu", path, data_len, at);
  return RLVR_OK;
}

int rlvr_safetensors_parse(const unsigned char *buf, size_t len, const char *path, rlvr_safetensors *out) {
  rlvr_safetensors st;
  memset(&st, 0, sizeof st);
  int rc = parse_header(buf, len, path, &st);
  size_t data_off = 8 + st.header_len;
  if (rc == RLVR_OK) rc = check_layout(path, len - data_off, &st);
  if (rc) {
    free_parsed(&st);
    memset(out, 0, sizeof *out);
    return rc;
  }
  for (int i = 0; i < st.num_tensors; i++) st.tensors[i].data = buf + data_off + st.tensors[i].begin;
  st.path = xstrdup(path);
  *out = st;
  return RLVR_OK;
}

int rlvr_safetensors_open(const char *path, rlvr_safetensors *st) {
  rlvr_mapped_file map;
  memset(st, 0, sizeof *st);
  int rc = rlvr_file_map(path, &map);
  if (rc) return rc;
  rc = rlvr_safetensors_parse(map.data, map.len, path, st);
  if (rc) {
    rlvr_file_unmap(&map);
    return rc;
  }
  st->map = map;
  return RLVR_OK;
}

void rlvr_safetensors_close(rlvr_safetensors *st) {
  if (!st) return;
  free_parsed(st);
  if (st->map.data) rlvr_file_unmap(&st->map);
  memset(st, 0, sizeof *st);
}

const rlvr_st_tensor *rlvr_safetensors_find(const rlvr_safetensors *st, const char *name) {
  for (int i = 0; i < st->num_tensors; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

const char *rlvr_safetensors_meta(const rlvr_safetensors *st, const char *key) {
  for (int i = 0; i < st->num_meta; i++)
    if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
  return NULL;
}

int rlvr_safetensors_read_f32(const rlvr_safetensors *st, const rlvr_st_tensor *t, float *out) {
  const unsigned char *src = t->data;
  const long long n = (long long)t->numel;
  switch (t->dtype) {
  case RLVR_DTYPE_F32:
    memcpy(out, src, t->numel * 4);
    return RLVR_OK;
  case RLVR_DTYPE_F16:
#pragma omp parallel for if (n > (1 << 18)) schedule(static)
    for (long long i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2); /* the data section need not be aligned */
      out[i] = rlvr_f16_to_f32(h);
    }
    return RLVR_OK;
  case RLVR_DTYPE_BF16:
#pragma omp parallel for if (n > (1 << 18)) schedule(static)
    for (long long i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      out[i] = rlvr_bf16_to_f32(h);
    }
    return RLVR_OK;
  default:
    return rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s cannot be read as float (F32, F16, BF16 can)",
                      st->path ? st->path : "(buffer)", t->name, dtypes[t->dtype].name);
  }
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
  char *s;
  size_t len, cap;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_printf(strbuf *b, const char *fmt, ...) RLVR_PRINTF(2, 3);
static void sb_printf(strbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  RLVR_CHECK(n >= 0 && (size_t)n < sizeof tmp);
  sb_put(b, tmp, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8) as they are. */
static void sb_json_string(strbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      sb_put(b, e, 2);
    } else if (*p < 0x20) {
      sb_printf(b, "\\u%04x", *p);
    } else {
      sb_put(b, (const char *)p, 1);
    }
  }
  sb_put(b, "\"", 1);
}

static size_t write_numel(const rlvr_st_write_tensor *t) {
  size_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
  return n;
}

/* The header JSON padded with spaces to a multiple of 8; returns its length. */
static size_t build_header(strbuf *b, const rlvr_st_write_tensor *ts, int n, const rlvr_st_meta *meta,
                           int num_meta) {
  sb_put(b, "{", 1);
  int first = 1;
  if (num_meta > 0) {
    sb_put(b, "\"__metadata__\":{", 16);
    for (int i = 0; i < num_meta; i++) {
      if (i) sb_put(b, ",", 1);
      sb_json_string(b, meta[i].key);
      sb_put(b, ":", 1);
      sb_json_string(b, meta[i].value);
    }
    sb_put(b, "}", 1);
    first = 0;
  }
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    const rlvr_st_write_tensor *t = &ts[i];
    RLVR_CHECK(t->dtype == RLVR_DTYPE_F32 || t->dtype == RLVR_DTYPE_BF16, "tensor %s: write F32 or BF16", t->name);
    RLVR_CHECK(t->ndim >= 0 && t->ndim <= RLVR_ST_MAX_DIMS);
    if (!first) sb_put(b, ",", 1);
    first = 0;
    sb_json_string(b, t->name);
    sb_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
    for (int d = 0; d < t->ndim; d++) sb_printf(b, d ? ",%lld" : "%lld", (long long)t->shape[d]);
    size_t nbytes = write_numel(t) * dtypes[t->dtype].size;
    sb_printf(b, "],\"data_offsets\":[%zu,%zu]}", off, off + nbytes);
    off += nbytes;
  }
  sb_put(b, "}", 1);
  while (b->len % 8) sb_put(b, " ", 1);
  return b->len;
}

size_t rlvr_safetensors_file_size(const rlvr_st_write_tensor *ts, int n, const rlvr_st_meta *meta, int num_meta) {
  strbuf b = {0};
  size_t total = 8 + build_header(&b, ts, n, meta, num_meta);
  free(b.s);
  for (int i = 0; i < n; i++) total += write_numel(&ts[i]) * dtypes[ts[i].dtype].size;
  return total;
}

int rlvr_safetensors_write(const char *path, const rlvr_st_write_tensor *ts, int n, const rlvr_st_meta *meta,
                           int num_meta) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(ts[i].name, ts[j].name) == 0)
        return rlvr_error(RLVR_ERR_ARG, "%s: tensor '%s' given twice", path, ts[i].name);
  strbuf b = {0};
  size_t hlen = build_header(&b, ts, n, meta, num_meta);
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));

  rlvr_atomic_file f;
  int rc = rlvr_atomic_open(&f, path);
  if (rc) {
    free(b.s);
    return rc;
  }
  rc = rlvr_atomic_write(&f, len8, 8);
  if (!rc) rc = rlvr_atomic_write(&f, b.s, hlen);
  free(b.s);
  enum { CHUNK = 1 << 16 };
  uint16_t *half = NULL;
  for (int i = 0; i < n && !rc; i++) {
    const rlvr_st_write_tensor *t = &ts[i];
    size_t numel = write_numel(t);
    if (t->dtype == RLVR_DTYPE_F32) {
      rc = rlvr_atomic_write(&f, t->data, numel * 4);
      continue;
    }
    if (!half) half = xmalloc(CHUNK * sizeof *half);
    for (size_t at = 0; at < numel && !rc; at += CHUNK) {
      size_t m = numel - at < CHUNK ? numel - at : CHUNK;
      for (size_t k = 0; k < m; k++) half[k] = rlvr_f32_to_bf16(t->data[at + k]);
      rc = rlvr_atomic_write(&f, half, m * 2);
    }
  }
  free(half);
  if (rc) {
    rlvr_atomic_abort(&f);
    return rc;
  }
  return rlvr_atomic_commit(&f);
}
