/* protocol.c — msgpack encoding and checked decoding of the messages of
 * docs/protocol.md.
 *
 * Decoding runs in three passes over outside bytes:
 *   1. scan: a walk over the raw msgpack that needs no memory. It rejects
 *      truncation, trailing bytes, reserved bytes, nesting deeper than
 *      RLVR_PROTO_MAX_DEPTH, and any array or map whose count cannot fit in the
 *      bytes that remain (libmsgpackc allocates count x 24 bytes for an array
 *      header before reading its elements; after the scan that is bounded by
 *      24 x the input size).
 *   2. msgpack_unpack_next builds the object tree; str and bin point into the
 *      input, nothing is copied.
 *   3. one decoder per message type walks the tree with a field table per map
 *      (unknown, duplicate and missing fields are errors), checks every type and
 *      range, and copies what it keeps into memory the message owns.
 * The error message carries the path of the field:
 *   "trajectories.groups[0].samples[3].logprobs: value 7 is nan". */
#include "core/protocol.h"

#include <float.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the wire format is little-endian and protocol.c copies arrays as they lie in memory"
#endif

/* ------------------------------------------------------------------------ */
/* Names of enums                                                            */

static const char *const type_names[RLVR_MSG_COUNT] = {
    "?", "hello", "work_request", "work", "trajectories", "weights", "heartbeat", "stats", "shutdown", "error",
    "wsync_init", "wsync", "wsync_ack",
};
static const char *const role_names[] = {"learner", "worker"};
static const char *const status_names[RLVR_VERIFIER_STATUS_COUNT] = {
    "ok", "wrong-format", "timeout", "sandbox-error", "verifier-error", "input-error"};
static const char *const finish_names[] = {"eos", "stop", "length", "budget"};
static const char *const hb_names[] = {"starting", "idle", "busy", "stopping"};
static const char *const wsync_method_names[] = {"nccl", "cuda_ipc"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *rlvr_msg_type_name(rlvr_msg_type t) {
  return (t > RLVR_MSG_NONE && t < RLVR_MSG_COUNT) ? type_names[t] : "?";
}
const char *rlvr_role_name(rlvr_role r) { return ((unsigned)r < 2) ? role_names[r] : "?"; }
const char *rlvr_verifier_status_name(rlvr_verifier_status s) {
  return ((unsigned)s < RLVR_VERIFIER_STATUS_COUNT) ? status_names[s] : "?";
}
const char *rlvr_finish_name(rlvr_finish f) { return ((unsigned)f < 4) ? finish_names[f] : "?"; }
const char *rlvr_heartbeat_status_name(rlvr_heartbeat_status s) {
  return ((unsigned)s < 4) ? hb_names[s] : "?";
}
const char *rlvr_wsync_method_name(rlvr_wsync_method m) { return ((unsigned)m < 2) ? wsync_method_names[m] : "?"; }

/* ------------------------------------------------------------------------ */
/* CRC-32C                                                                   */

/* Reflected Castagnoli polynomial. Slicing-by-8 tables for the portable
 * path; the SSE4.2 crc32 instruction computes the same function. */
#define CRC32C_POLY 0x82F63B78u
static uint32_t crc_table[8][256];

static void crc_init_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t c, const unsigned char *p, size_t n) {
  while (n && ((uintptr_t)p & 7)) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff], n--;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    w ^= c;
    c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^ crc_table[5][(w >> 16) & 0xff] ^
        crc_table[4][(w >> 24) & 0xff] ^ crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
        crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
    p += 8, n -= 8;
  }
  while (n--) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
  return c;
}

/* a * b modulo the polynomial, in the reflected bit order of the CRC
 * register (bit 31 is x^0). */
static uint32_t crc_mulmod(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (uint32_t m = 1u << 31; m; m >>= 1) {
    if (a & m) p ^= b;
    b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1u)));
  }
  return p;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define RLVR_CRC_HW 1

/* The crc32 instruction has a latency of 3 cycles and a throughput of 1, so
 * one dependency chain runs at a third of its speed. Large inputs go in
 * blocks of 3 x CRC_LANE bytes: three chains, the second and third started
 * from 0, joined by the identity crc(r, A||B) = r_A * x^(8|B|) ^ crc(0, B)
 * (register values, before the final xor). */
enum { CRC_LANE = 4096 };
static uint32_t crc_lane_shift; /* x^(8 * CRC_LANE) mod P */

__attribute__((target("sse4.2"))) static uint64_t crc_hw_words(uint64_t c, const unsigned char *p, size_t nwords) {
  for (size_t i = 0; i < nwords; i++) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    c = _mm_crc32_u64(c, w);
  }
  return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const unsigned char *p, size_t n) {
  while (n && ((uintptr_t)p & 7)) c = _mm_crc32_u8(c, *p++), n--;
  uint64_t c64 = c;
  while (n >= 3 * CRC_LANE) {
    uint64_t a = c64, b = 0, d = 0;
    for (size_t i = 0; i < CRC_LANE; i += 8) {
      uint64_t wa, wb, wd;
      memcpy(&wa, p + i, 8);
      memcpy(&wb, p + CRC_LANE + i, 8);
      memcpy(&wd, p + 2 * CRC_LANE + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    uint32_t r = crc_mulmod((uint32_t)a, crc_lane_shift) ^ (uint32_t)b;
    c64 = crc_mulmod(r, crc_lane_shift) ^ (uint32_t)d;
    p += 3 * CRC_LANE, n -= 3 * CRC_LANE;
  }
  c64 = crc_hw_words(c64, p, n / 8);
  p += n & ~(size_t)7, n &= 7;
  c = (uint32_t)c64;
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}
#endif

#include <pthread.h>
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_use_hw;
static void crc_setup(void) {
  crc_init_tables();
#ifdef RLVR_CRC_HW
  __builtin_cpu_init();
  crc_use_hw = __builtin_cpu_supports("sse4.2");
  /* x^(8 * CRC_LANE) = x^(2^15): square x (reflected: bit 30) 15 times. */
  _Static_assert(8 * CRC_LANE == 1 << 15, "CRC_LANE is a power of two");
  uint32_t x = 1u << 30;
  for (int i = 0; i < 15; i++) x = crc_mulmod(x, x);
  crc_lane_shift = x;
#endif
}

uint32_t rlvr_crc32c_portable(uint32_t crc, const void *data, size_t len) {
  pthread_once(&crc_once, crc_setup);
  return ~crc_sw(~crc, data, len);
}

uint32_t rlvr_crc32c(uint32_t crc, const void *data, size_t len) {
  pthread_once(&crc_once, crc_setup);
  uint32_t c = ~crc;
#ifdef RLVR_CRC_HW
  if (crc_use_hw) return ~crc_hw(c, data, len);
#endif
  return ~crc_sw(c, data, len);
}

/* ------------------------------------------------------------------------ */
/* Memory a decoded message owns                                             */

typedef struct mem_block {
  struct mem_block *next;
  size_t size, used;
  /* data follows, 64-byte aligned */
} mem_block;

typedef struct attachment {
  struct attachment *next;
  void *ptr;
  void (*release)(void *);
} attachment;

struct rlvr_msg_mem {
  mem_block *blocks;
  attachment *attached;
};

enum { MEM_BLOCK = 64 * 1024, MEM_HEADER = 64 };

/* Zeroed memory, aligned to align (a power of two <= 64). */
static void *mem_alloc(rlvr_msg_mem *m, size_t n, size_t align) {
  if (n == 0) n = 1;
  mem_block *b = m->blocks;
  if (b) {
    size_t at = (b->used + align - 1) & ~(align - 1);
    if (at <= b->size && n <= b->size - at) {
      b->used = at + n;
      unsigned char *p = (unsigned char *)b + MEM_HEADER + at;
      memset(p, 0, n);
      return p;
    }
  }
  size_t size = n > MEM_BLOCK / 4 ? n : MEM_BLOCK;
  /* A large request gets a block of its own, put behind the current one so
   * that the current one keeps filling. */
  b = rlvr_xmalloc_aligned(MEM_HEADER + size, __FILE__, __LINE__);
  b->size = size;
  b->used = n;
  if (size == n && m->blocks) {
    b->next = m->blocks->next;
    m->blocks->next = b;
  } else {
    b->next = m->blocks;
    m->blocks = b;
  }
  unsigned char *p = (unsigned char *)b + MEM_HEADER;
  memset(p, 0, n);
  return p;
}

static void mem_free(rlvr_msg_mem *m) {
  if (!m) return;
  for (attachment *a = m->attached; a;) {
    attachment *next = a->next;
    a->release(a->ptr);
    free(a);
    a = next;
  }
  for (mem_block *b = m->blocks; b;) {
    mem_block *next = b->next;
    free(b);
    b = next;
  }
  free(m);
}

void rlvr_msg_free(rlvr_msg *m) {
  if (!m) return;
  mem_free(m->mem);
  memset(m, 0, sizeof *m);
}

void rlvr_msg_attach(rlvr_msg *m, void *ptr, void (*release)(void *)) {
  RLVR_CHECK(m && release);
  if (!m->mem) m->mem = xcalloc(1, sizeof *m->mem);
  attachment *a = xmalloc(sizeof *a);
  a->ptr = ptr;
  a->release = release;
  a->next = m->mem->attached;
  m->mem->attached = a;
}

/* ------------------------------------------------------------------------ */
/* Buffer                                                                    */

void rlvr_buf_free(rlvr_buf *b) {
  if (!b) return;
  free(b->data);
  memset(b, 0, sizeof *b);
}

unsigned char *rlvr_buf_release(rlvr_buf *b, size_t *len) {
  unsigned char *p = b->data;
  if (len) *len = b->len;
  memset(b, 0, sizeof *b);
  return p;
}

static void buf_reserve(rlvr_buf *b, size_t more) {
  RLVR_CHECK(more <= SIZE_MAX - b->len);
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

static int buf_write(void *data, const char *p, size_t n) {
  rlvr_buf *b = data;
  buf_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Pass 1: structural scan of raw msgpack                                    */

static uint64_t rd_be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Walks one msgpack object from buf[0..len). On success *end is the offset
 * after it. what names the input in messages. */
static int scan_msgpack(const unsigned char *buf, size_t len, int max_depth, size_t *end, const char *what) {
  uint64_t stack[RLVR_PROTO_MAX_DEPTH + 1];
  RLVR_CHECK(max_depth <= RLVR_PROTO_MAX_DEPTH);
  int d = 0;
  stack[0] = 1;
  uint64_t pending = 1; /* objects still to read, the sum of stack[] */
  size_t pos = 0;
  while (pending) {
    while (stack[d] == 0) d--;
    if (pos >= len) return rlvr_error(RLVR_ERR_PROTOCOL, "%s: truncated at byte %zu", what, pos);
    size_t at = pos;
    unsigned b = buf[pos++];
    stack[d]--, pending--;
    uint64_t skip = 0, count = 0; /* payload bytes; child objects */
    int lenbytes = 0, container = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      /* fixint, nil, bool */
    } else if (b <= 0x8f) {
      count = 2ull * (b & 0x0f), container = 1;
    } else if (b <= 0x9f) {
      count = b & 0x0f, container = 1;
    } else if (b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc1: return rlvr_error(RLVR_ERR_PROTOCOL, "%s: reserved byte 0xc1 at byte %zu", what, at);
        case 0xc4: case 0xd9: lenbytes = 1; break;              /* bin8, str8 */
        case 0xc5: case 0xda: lenbytes = 2; break;              /* bin16, str16 */
        case 0xc6: case 0xdb: lenbytes = 4; break;              /* bin32, str32 */
        case 0xc7: lenbytes = 1, skip = 1; break;               /* ext8 (+type) */
        case 0xc8: lenbytes = 2, skip = 1; break;               /* ext16 */
        case 0xc9: lenbytes = 4, skip = 1; break;               /* ext32 */
        case 0xca: skip = 4; break;                             /* float32 */
        case 0xcb: skip = 8; break;                             /* float64 */
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;                             /* fixext1..16 (+type) */
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: lenbytes = 2, container = 1; break;          /* array16 */
        case 0xdd: lenbytes = 4, container = 1; break;          /* array32 */
        case 0xde: lenbytes = 2, container = 2; break;          /* map16 */
        case 0xdf: lenbytes = 4, container = 2; break;          /* map32 */
        default: RLVR_CHECK(0, "unhandled msgpack byte 0x%02x", b);
      }
    }
    if (lenbytes) {
      if ((size_t)lenbytes > len - pos)
        return rlvr_error(RLVR_ERR_PROTOCOL, "%s: truncated at byte %zu", what, pos);
      uint64_t n = rd_be(buf + pos, lenbytes);
      pos += (size_t)lenbytes;
      if (container == 0) skip += n;
      else count = n * (uint64_t)container;
    }
    if (skip > len - pos)
      return rlvr_error(RLVR_ERR_PROTOCOL, "%s: truncated: object at byte %zu needs %llu bytes, %zu remain", what, at,
                        (unsigned long long)skip, len - pos);
    pos += (size_t)skip;
    if (count) {
      /* Every element still to read takes at least one byte. */
      if (count > (uint64_t)(len - pos) || pending > (uint64_t)(len - pos) - count)
        return rlvr_error(RLVR_ERR_PROTOCOL, "%s: container at byte %zu claims %llu elements, %zu bytes remain",
                          what, at, (unsigned long long)count, len - pos);
      if (d + 1 > max_depth)
        return rlvr_error(RLVR_ERR_PROTOCOL, "%s: nested deeper than %d at byte %zu", what, max_depth, at);
      stack[++d] = count;
      pending += count;
    }
  }
  *end = pos;
  return RLVR_OK;
}

/* ------------------------------------------------------------------------ */
/* Pass 3: checked decoding of the object tree                               */

typedef struct {
  rlvr_msg_mem *mem;
  char path[512]; /* where we are: "trajectories.groups[2].samples[5]" */
  size_t plen;
  const rlvr_frame *frames;
  int nframes;
  unsigned char *frame_used; /* (nframes) */
} dctx;

static size_t path_push(dctx *c, const char *fmt, ...) RLVR_PRINTF(2, 3);
static size_t path_push(dctx *c, const char *fmt, ...) {
  size_t mark = c->plen;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
  va_end(ap);
  if (n > 0) c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - c->plen - 1;
  return mark;
}
static void path_pop(dctx *c, size_t mark) {
  c->plen = mark;
  c->path[mark] = 0;
}

/* "<path>.<field>: <message>" */
static int fail(dctx *c, const char *field, const char *fmt, ...) RLVR_PRINTF(3, 4);
static int fail(dctx *c, const char *field, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (field) return rlvr_error(RLVR_ERR_PROTOCOL, "%s.%s: %s", c->path, field, msg);
  return rlvr_error(RLVR_ERR_PROTOCOL, "%s: %s", c->path, msg);
}

static const char *kind_name(const msgpack_object *o) {
  switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_EXT: return "ext";
  }
  return "?";
}

/* A map's fields: name and whether it must be present. */
typedef struct {
  const char *name;
  int required;
} field_spec;

enum { MAX_FIELDS = 16 };

/* Checks that o is a map whose keys are exactly names from spec, each at
 * most once, with every required one present; val[i] = the value of
 * spec[i] or NULL. field names o in messages (NULL: o is c->path itself). */
static int map_fields(dctx *c, const char *field, const msgpack_object *o, const field_spec *spec, int nspec,
                      const msgpack_object **val) {
  RLVR_CHECK(nspec <= MAX_FIELDS);
  if (o->type != MSGPACK_OBJECT_MAP) return fail(c, field, "expected a map, got %s", kind_name(o));
  size_t mark = field ? path_push(c, ".%s", field) : c->plen;
  int rc = RLVR_OK;
  for (int i = 0; i < nspec; i++) val[i] = NULL;
  for (uint32_t k = 0; k < o->via.map.size && rc == RLVR_OK; k++) {
    const msgpack_object *key = &o->via.map.ptr[k].key;
    if (key->type != MSGPACK_OBJECT_STR) {
      rc = fail(c, NULL, "key %u is %s, not str", k, kind_name(key));
      break;
    }
    int found = -1;
    for (int i = 0; i < nspec; i++)
      if (strlen(spec[i].name) == key->via.str.size && !memcmp(spec[i].name, key->via.str.ptr, key->via.str.size)) {
        found = i;
        break;
      }
    if (found < 0) {
      char name[64];
      size_t n = key->via.str.size < sizeof name - 1 ? key->via.str.size : sizeof name - 1;
      for (size_t j = 0; j < n; j++) {
        char ch = key->via.str.ptr[j];
        name[j] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
      }
      name[n] = 0;
      rc = fail(c, NULL, "unknown field '%s%s'", name, key->via.str.size > n ? "..." : "");
    } else if (val[found]) {
      rc = fail(c, NULL, "field '%s' given twice", spec[found].name);
    } else if (o->via.map.ptr[k].val.type == MSGPACK_OBJECT_NIL) {
      rc = fail(c, spec[found].name, "is nil");
    } else {
      val[found] = &o->via.map.ptr[k].val;
    }
  }
  for (int i = 0; i < nspec && rc == RLVR_OK; i++)
    if (spec[i].required && !val[i]) rc = fail(c, NULL, "missing field '%s'", spec[i].name);
  path_pop(c, mark);
  return rc;
}

static int get_uint(dctx *c, const char *field, const msgpack_object *o, uint64_t min, uint64_t max,
                    uint64_t *out) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      return fail(c, field, "%lld is negative", (long long)o->via.i64);
    return fail(c, field, "expected uint, got %s", kind_name(o));
  }
  uint64_t v = o->via.u64;
  if (v < min || v > max)
    return fail(c, field, "%llu out of range [%llu, %llu]", (unsigned long long)v, (unsigned long long)min,
                (unsigned long long)max);
  *out = v;
  return RLVR_OK;
}

static int get_u32(dctx *c, const char *field, const msgpack_object *o, uint64_t min, uint64_t max,
                   uint32_t *out) {
  uint64_t v = 0;
  RLVR_CHECK(max <= UINT32_MAX);
  int rc = get_uint(c, field, o, min, max, &v);
  if (rc == RLVR_OK) *out = (uint32_t)v;
  return rc;
}

static int get_int(dctx *c, const char *field, const msgpack_object *o, int64_t min, int64_t max, int64_t *out) {
  int64_t v;
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) v = o->via.i64;
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) v = (int64_t)o->via.u64;
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return fail(c, field, "%llu too large", (unsigned long long)o->via.u64);
  else return fail(c, field, "expected int, got %s", kind_name(o));
  if (v < min || v > max)
    return fail(c, field, "%lld out of range [%lld, %lld]", (long long)v, (long long)min, (long long)max);
  *out = v;
  return RLVR_OK;
}

/* A number (int or float), finite, in [min, max]; *open_min excludes min. */
static int get_number(dctx *c, const char *field, const msgpack_object *o, double min, double max, int open_min,
                      double *out) {
  double v;
  switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    default: return fail(c, field, "expected a number, got %s", kind_name(o));
  }
  if (!isfinite(v)) return fail(c, field, "%g is not finite", v);
  if (v < min || v > max || (open_min && v == min))
    return fail(c, field, "%g out of range %s%g, %g]", v, open_min ? "(" : "[", min, max);
  *out = v;
  return RLVR_OK;
}

/* Length of the first invalid UTF-8 sequence's offset, or n when all valid.
 * Rejects overlong forms, surrogates, code points above U+10FFFF, and NUL. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned b = s[i];
    if (b >= 0x01 && b < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) len = 2, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef) len = 3, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4) len = 4, cp = b & 0x07;
    else return i; /* NUL, continuation byte, or 0xc0/0xc1/0xf5.. */
    if (len > n - i) return i;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += len;
  }
  return n;
}

static int check_str(dctx *c, const char *field, const msgpack_object *o, size_t minlen, size_t maxlen) {
  if (o->type != MSGPACK_OBJECT_STR) return fail(c, field, "expected str, got %s", kind_name(o));
  size_t n = o->via.str.size;
  if (n < minlen || n > maxlen) return fail(c, field, "length %zu out of range [%zu, %zu]", n, minlen, maxlen);
  size_t bad = utf8_invalid_at((const unsigned char *)o->via.str.ptr, n);
  if (bad < n) return fail(c, field, "invalid UTF-8 or NUL at byte %zu", bad);
  return RLVR_OK;
}

/* A str copied into the message, NUL-terminated. */
static int get_str(dctx *c, const char *field, const msgpack_object *o, size_t minlen, size_t maxlen,
                   const char **out, size_t *outlen) {
  int rc = check_str(c, field, o, minlen, maxlen);
  if (rc) return rc;
  size_t n = o->via.str.size;
  char *s = mem_alloc(c->mem, n + 1, 1);
  if (n) memcpy(s, o->via.str.ptr, n);
  s[n] = 0;
  *out = s;
  if (outlen) *outlen = n;
  return RLVR_OK;
}

static int get_name(dctx *c, const char *field, const msgpack_object *o, const char **out) {
  return get_str(c, field, o, 1, RLVR_PROTO_MAX_NAME, out, NULL);
}

static int get_enum(dctx *c, const char *field, const msgpack_object *o, const char *const *words, int nwords,
                    int *out) {
  if (o->type != MSGPACK_OBJECT_STR) return fail(c, field, "expected str, got %s", kind_name(o));
  for (int i = 0; i < nwords; i++)
    if (strlen(words[i]) == o->via.str.size && !memcmp(words[i], o->via.str.ptr, o->via.str.size)) {
      *out = i;
      return RLVR_OK;
    }
  char list[160] = "";
  for (int i = 0; i < nwords; i++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", words[i]);
  }
  return fail(c, field, "not one of %s", list);
}

static int get_array(dctx *c, const char *field, const msgpack_object *o, uint32_t min, uint32_t max) {
  if (o->type != MSGPACK_OBJECT_ARRAY) return fail(c, field, "expected an array, got %s", kind_name(o));
  if (o->via.array.size < min || o->via.array.size > max)
    return fail(c, field, "%u elements, allowed [%u, %u]", o->via.array.size, min, max);
  return RLVR_OK;
}

static int get_bin(dctx *c, const char *field, const msgpack_object *o) {
  if (o->type != MSGPACK_OBJECT_BIN) return fail(c, field, "expected bin, got %s", kind_name(o));
  return RLVR_OK;
}

/* u32[] of token ids -> an int32 array of [min, max] tokens. */
static int get_ids(dctx *c, const char *field, const msgpack_object *o, uint32_t min, uint32_t max,
                   const int32_t **out, uint32_t *n) {
  int rc = get_bin(c, field, o);
  if (rc) return rc;
  size_t bytes = o->via.bin.size;
  if (bytes % 4) return fail(c, field, "%zu bytes, not a multiple of 4", bytes);
  if (bytes / 4 < min || bytes / 4 > max)
    return fail(c, field, "%zu tokens, allowed [%u, %u]", bytes / 4, min, max);
  size_t count = bytes / 4;
  int32_t *ids = mem_alloc(c->mem, bytes, 64);
  if (bytes) memcpy(ids, o->via.bin.ptr, bytes);
  int32_t bad = 0;
  for (size_t i = 0; i < count; i++) bad |= ids[i];
  if (bad < 0) {
    for (size_t i = 0; i < count; i++)
      if (ids[i] < 0) return fail(c, field, "token %zu is %u, above 2^31-1", i, (uint32_t)ids[i]);
  }
  *out = ids;
  *n = (uint32_t)count;
  return RLVR_OK;
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names must be unique: sorts a copy of the pointers and compares neighbours. */
static int check_unique(dctx *c, const char *field, const char **names, size_t n, const char *what) {
  if (n < 2) return RLVR_OK;
  const char **sorted = xmalloc(n * sizeof *sorted);
  memcpy(sorted, names, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
  int rc = RLVR_OK;
  for (size_t i = 1; i < n && rc == RLVR_OK; i++)
    if (!strcmp(sorted[i - 1], sorted[i])) rc = fail(c, field, "%s '%.64s' appears twice", what, sorted[i]);
  free(sorted);
  return rc;
}

/* A nummap: str -> number, names 1..RLVR_PROTO_MAX_KEY bytes and unique,
 * values finite and >= min. */
static int get_nummap(dctx *c, const char *field, const msgpack_object *o, uint32_t max, double min,
                      const rlvr_named_value **out, uint32_t *n) {
  if (o->type != MSGPACK_OBJECT_MAP) return fail(c, field, "expected a map, got %s", kind_name(o));
  uint32_t count = o->via.map.size;
  if (count > max) return fail(c, field, "%u entries, at most %u", count, max);
  rlvr_named_value *v = mem_alloc(c->mem, (size_t)count * sizeof *v, 16);
  const char **names = mem_alloc(c->mem, (size_t)count * sizeof *names, 16);
  size_t mark = path_push(c, ".%s", field);
  int rc = RLVR_OK;
  for (uint32_t i = 0; i < count && rc == RLVR_OK; i++) {
    char where[24];
    snprintf(where, sizeof where, "key %u", i);
    rc = get_str(c, where, &o->via.map.ptr[i].key, 1, RLVR_PROTO_MAX_KEY, &v[i].name, NULL);
    if (rc == RLVR_OK) rc = get_number(c, v[i].name, &o->via.map.ptr[i].val, min, DBL_MAX, 0, &v[i].value);
    names[i] = v[i].name;
  }
  path_pop(c, mark);
  if (rc == RLVR_OK) rc = check_unique(c, field, names, count, "name");
  if (rc == RLVR_OK) {
    *out = v;
    *n = count;
  }
  return rc;
}

/* A JSON-like value: nil, bool, int, float, str, array, map with str keys. */
static int check_value(dctx *c, const char *field, const msgpack_object *o, int depth) {
  if (depth > RLVR_PROTO_MAX_VALUE_DEPTH) return fail(c, field, "nested deeper than %d", RLVR_PROTO_MAX_VALUE_DEPTH);
  switch (o->type) {
    case MSGPACK_OBJECT_NIL: case MSGPACK_OBJECT_BOOLEAN: case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64:
      return RLVR_OK;
    case MSGPACK_OBJECT_STR: return check_str(c, field, o, 0, RLVR_PROTO_MAX_TEXT);
    case MSGPACK_OBJECT_ARRAY:
      for (uint32_t i = 0; i < o->via.array.size; i++) {
        int rc = check_value(c, field, &o->via.array.ptr[i], depth + 1);
        if (rc) return rc;
      }
      return RLVR_OK;
    case MSGPACK_OBJECT_MAP:
      for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) return fail(c, field, "a map key is %s, not str", kind_name(k));
        int rc = check_str(c, field, k, 0, RLVR_PROTO_MAX_TEXT);
        if (!rc) rc = check_value(c, field, &o->via.map.ptr[i].val, depth + 1);
        if (rc) return rc;
      }
      return RLVR_OK;
    default: return fail(c, field, "contains %s, which a value may not", kind_name(o));
  }
}

/* A map value, checked and kept as msgpack bytes. */
static int get_value_map(dctx *c, const char *field, const msgpack_object *o, rlvr_value *out) {
  if (o->type != MSGPACK_OBJECT_MAP) return fail(c, field, "expected a map, got %s", kind_name(o));
  int rc = check_value(c, field, o, 1);
  if (rc) return rc;
  rlvr_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, buf_write);
  msgpack_pack_object(&pk, *o);
  if (b.len > RLVR_PROTO_MAX_VALUE) {
    rlvr_buf_free(&b);
    return fail(c, field, "%zu bytes, at most %d", b.len, RLVR_PROTO_MAX_VALUE);
  }
  uint8_t *p = mem_alloc(c->mem, b.len, 16);
  memcpy(p, b.data, b.len);
  out->msgpack = p;
  out->len = b.len;
  rlvr_buf_free(&b);
  return RLVR_OK;
}

/* --- message decoders. Each spec starts with "type" and "v", checked by the
 * caller; F_TYPE and F_V are their indices. */
enum { F_TYPE, F_V };
#define HEAD {"type", 1}, {"v", 1}

static int decode_hello(dctx *c, const msgpack_object *top, rlvr_msg_hello *m) {
  enum { F_ROLE = 2, F_ID, F_CAPS, F_PID, F_HOST, F_N };
  static const field_spec spec[] = {HEAD, {"role", 1}, {"id", 1}, {"capabilities", 1}, {"pid", 1}, {"host", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  int role = 0;
  uint32_t pid = 0;
  if (!rc) rc = get_enum(c, "role", v[F_ROLE], role_names, NELEM(role_names), &role);
  if (!rc) rc = get_name(c, "id", v[F_ID], &m->id);
  if (!rc) rc = get_u32(c, "pid", v[F_PID], 0, INT32_MAX, &pid);
  if (!rc) rc = get_name(c, "host", v[F_HOST], &m->host);
  if (!rc) rc = get_array(c, "capabilities", v[F_CAPS], 0, RLVR_PROTO_MAX_CAPS);
  if (rc) return rc;
  uint32_t n = v[F_CAPS]->via.array.size;
  const char **caps = mem_alloc(c->mem, n * sizeof *caps, 16);
  for (uint32_t i = 0; i < n && !rc; i++) {
    char where[32];
    snprintf(where, sizeof where, "capabilities[%u]", i);
    rc = get_name(c, where, &v[F_CAPS]->via.array.ptr[i], &caps[i]);
  }
  if (rc) return rc;
  m->role = (rlvr_role)role;
  m->pid = pid;
  m->capabilities = caps;
  m->ncapabilities = (int)n;
  return RLVR_OK;
}

static int decode_work_request(dctx *c, const msgpack_object *top, rlvr_msg_work_request *m) {
  enum { F_WID = 2, F_MAX, F_PV, F_N };
  static const field_spec spec[] = {HEAD, {"worker_id", 1}, {"max_groups", 1}, {"policy_version", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_name(c, "worker_id", v[F_WID], &m->worker_id);
  if (!rc) rc = get_u32(c, "max_groups", v[F_MAX], 1, RLVR_PROTO_MAX_GROUPS, &m->max_groups);
  if (!rc && v[F_PV]) {
    rc = get_uint(c, "policy_version", v[F_PV], 0, UINT64_MAX, &m->policy_version);
    m->has_policy_version = 1;
  }
  return rc;
}

static int decode_budget(dctx *c, const msgpack_object *o, rlvr_budget *b) {
  enum { F_MIN, F_WAITS, F_MAX, F_END, F_WAIT, F_PREFIX, F_N };
  static const field_spec spec[] = {{"min_think_tokens", 1}, {"max_waits", 1},   {"max_think_tokens", 1},
                                    {"think_end_text", 1},   {"wait_text", 1},   {"answer_prefix", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, "budget", o, spec, F_N, v);
  size_t mark = path_push(c, ".budget");
  if (!rc) rc = get_u32(c, "min_think_tokens", v[F_MIN], 0, RLVR_PROTO_MAX_TOKENS, &b->min_think_tokens);
  if (!rc) rc = get_u32(c, "max_waits", v[F_WAITS], 0, RLVR_PROTO_MAX_WAITS, &b->max_waits);
  if (!rc) rc = get_u32(c, "max_think_tokens", v[F_MAX], 0, RLVR_PROTO_MAX_TOKENS, &b->max_think_tokens);
  if (!rc) rc = get_str(c, "think_end_text", v[F_END], 0, RLVR_PROTO_MAX_NAME, &b->think_end_text, NULL);
  if (!rc) rc = get_str(c, "wait_text", v[F_WAIT], 0, RLVR_PROTO_MAX_NAME, &b->wait_text, NULL);
  if (!rc) rc = get_str(c, "answer_prefix", v[F_PREFIX], 0, RLVR_PROTO_MAX_NAME, &b->answer_prefix, NULL);
  path_pop(c, mark);
  return rc;
}

static int decode_sampling(dctx *c, const msgpack_object *o, rlvr_msg_sampling *s) {
  enum { F_TEMP, F_TOPK, F_TOPP, F_MAXT, F_SEED, F_STOP, F_BUDGET, F_N };
  static const field_spec spec[] = {{"temperature", 1}, {"top_k", 1}, {"top_p", 1}, {"max_tokens", 1},
                                    {"seed", 1},        {"stop", 0},  {"budget", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, "sampling", o, spec, F_N, v);
  if (rc) return rc;
  size_t mark = path_push(c, ".sampling");
  rc = get_number(c, "temperature", v[F_TEMP], 0, 100, 0, &s->temperature);
  if (!rc) rc = get_u32(c, "top_k", v[F_TOPK], 0, INT32_MAX, &s->top_k);
  if (!rc) rc = get_number(c, "top_p", v[F_TOPP], 0, 1, 1, &s->top_p);
  if (!rc) rc = get_u32(c, "max_tokens", v[F_MAXT], 1, RLVR_PROTO_MAX_TOKENS, &s->max_tokens);
  if (!rc) rc = get_uint(c, "seed", v[F_SEED], 0, UINT64_MAX, &s->seed);
  if (!rc && v[F_STOP]) {
    rc = get_array(c, "stop", v[F_STOP], 0, RLVR_PROTO_MAX_STOP);
    uint32_t n = rc ? 0 : v[F_STOP]->via.array.size;
    const char **stop = mem_alloc(c->mem, n * sizeof *stop, 16);
    for (uint32_t i = 0; i < n && !rc; i++) {
      char where[24];
      snprintf(where, sizeof where, "stop[%u]", i);
      rc = get_str(c, where, &v[F_STOP]->via.array.ptr[i], 1, RLVR_PROTO_MAX_NAME, &stop[i], NULL);
    }
    s->stop = stop;
    s->nstop = (int)n;
  }
  if (!rc && v[F_BUDGET]) {
    rc = decode_budget(c, v[F_BUDGET], &s->budget);
    s->has_budget = 1;
  }
  path_pop(c, mark);
  return rc;
}

static int decode_prompt_group(dctx *c, const msgpack_object *o, rlvr_prompt_group *g) {
  enum { F_GID, F_IDS, F_PROMPT, F_G, F_REF, F_VER, F_META, F_N };
  static const field_spec spec[] = {{"group_id", 1},  {"prompt_ids", 1}, {"prompt", 1}, {"g", 1},
                                    {"reference", 1}, {"verifier", 1},   {"meta", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, o, spec, F_N, v);
  if (!rc) rc = get_uint(c, "group_id", v[F_GID], 0, UINT64_MAX, &g->group_id);
  if (!rc) rc = get_ids(c, "prompt_ids", v[F_IDS], 1, RLVR_PROTO_MAX_TOKENS, &g->prompt_ids, &g->nprompt);
  if (!rc) rc = get_str(c, "prompt", v[F_PROMPT], 0, RLVR_PROTO_MAX_TEXT, &g->prompt, &g->prompt_len);
  if (!rc) rc = get_u32(c, "g", v[F_G], 1, RLVR_PROTO_MAX_G, &g->g);
  if (!rc) {
    if (v[F_REF]->type == MSGPACK_OBJECT_MAP) rc = get_value_map(c, "reference", v[F_REF], &g->reference_map);
    else if (v[F_REF]->type == MSGPACK_OBJECT_STR)
      rc = get_str(c, "reference", v[F_REF], 0, RLVR_PROTO_MAX_TEXT, &g->reference, &g->reference_len);
    else rc = fail(c, "reference", "expected str or map, got %s", kind_name(v[F_REF]));
  }
  if (!rc) rc = get_name(c, "verifier", v[F_VER], &g->verifier);
  if (!rc && v[F_META]) rc = get_value_map(c, "meta", v[F_META], &g->meta);
  return rc;
}

static int decode_work(dctx *c, const msgpack_object *top, rlvr_msg_work *m) {
  enum { F_WID = 2, F_PV, F_SAMPLING, F_GROUPS, F_N };
  static const field_spec spec[] = {HEAD, {"work_id", 1}, {"policy_version", 1}, {"sampling", 1}, {"groups", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_uint(c, "work_id", v[F_WID], 0, UINT64_MAX, &m->work_id);
  if (!rc) rc = get_uint(c, "policy_version", v[F_PV], 0, UINT64_MAX, &m->policy_version);
  if (!rc) rc = decode_sampling(c, v[F_SAMPLING], &m->sampling);
  if (!rc) rc = get_array(c, "groups", v[F_GROUPS], 1, RLVR_PROTO_MAX_GROUPS);
  if (rc) return rc;
  uint32_t n = v[F_GROUPS]->via.array.size;
  rlvr_prompt_group *groups = mem_alloc(c->mem, n * sizeof *groups, 16);
  for (uint32_t i = 0; i < n && !rc; i++) {
    size_t mark = path_push(c, ".groups[%u]", i);
    rc = decode_prompt_group(c, &v[F_GROUPS]->via.array.ptr[i], &groups[i]);
    path_pop(c, mark);
  }
  m->groups = groups;
  m->ngroups = n;
  return rc;
}

static int decode_sample(dctx *c, const msgpack_object *o, rlvr_sample *s) {
  enum { F_TOK, F_MASK, F_LP, F_REW, F_COMP, F_ADV, F_VER, F_VERV, F_VERS, F_SEED, F_FIN, F_TIME, F_N };
  static const field_spec spec[] = {{"tokens", 1},   {"mask", 1},     {"logprobs", 1},         {"reward", 1},
                                    {"components", 1}, {"advantage", 1}, {"verifier", 1},      {"verifier_version", 1},
                                    {"verifier_status", 1}, {"seed", 1}, {"finish", 1},        {"timings", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, o, spec, F_N, v);
  if (!rc) rc = get_ids(c, "tokens", v[F_TOK], 0, RLVR_PROTO_MAX_TOKENS, &s->tokens, &s->ntokens);
  if (rc) return rc;
  size_t t = s->ntokens;
  /* mask: T bytes of 0 or 1 */
  rc = get_bin(c, "mask", v[F_MASK]);
  if (rc) return rc;
  if (v[F_MASK]->via.bin.size != t) return fail(c, "mask", "%u bytes, tokens has %zu", v[F_MASK]->via.bin.size, t);
  uint8_t *mask = mem_alloc(c->mem, t, 64), orbits = 0;
  if (t) memcpy(mask, v[F_MASK]->via.bin.ptr, t);
  for (size_t i = 0; i < t; i++) orbits |= mask[i];
  if (orbits > 1)
    for (size_t i = 0; i < t; i++)
      if (mask[i] > 1) return fail(c, "mask", "byte %zu is %u, not 0 or 1", i, mask[i]);
  s->mask = mask;
  /* logprobs: T float32, finite and <= 0 */
  rc = get_bin(c, "logprobs", v[F_LP]);
  if (rc) return rc;
  if (v[F_LP]->via.bin.size != 4 * t)
    return fail(c, "logprobs", "%u bytes, tokens has %zu (4 bytes each)", v[F_LP]->via.bin.size, t);
  float *lp = mem_alloc(c->mem, 4 * t, 64);
  if (t) memcpy(lp, v[F_LP]->via.bin.ptr, 4 * t);
  int bad = 0;
  for (size_t i = 0; i < t; i++) bad |= !(lp[i] <= 0.0f && lp[i] >= -FLT_MAX);
  if (bad)
    for (size_t i = 0; i < t; i++)
      if (!(lp[i] <= 0.0f && lp[i] >= -FLT_MAX))
        return fail(c, "logprobs", "value %zu is %g, not finite and <= 0", i, (double)lp[i]);
  s->logprobs = lp;
  int status = 0, finish = 0;
  rc = get_number(c, "reward", v[F_REW], -DBL_MAX, DBL_MAX, 0, &s->reward);
  if (!rc) rc = get_nummap(c, "components", v[F_COMP], RLVR_PROTO_MAX_NAMED, -DBL_MAX, &s->components, &s->ncomponents);
  if (!rc) rc = get_number(c, "advantage", v[F_ADV], -DBL_MAX, DBL_MAX, 0, &s->advantage);
  if (!rc) rc = get_name(c, "verifier", v[F_VER], &s->verifier);
  if (!rc) rc = get_name(c, "verifier_version", v[F_VERV], &s->verifier_version);
  if (!rc) rc = get_enum(c, "verifier_status", v[F_VERS], status_names, NELEM(status_names), &status);
  if (!rc) rc = get_uint(c, "seed", v[F_SEED], 0, UINT64_MAX, &s->seed);
  if (!rc) rc = get_enum(c, "finish", v[F_FIN], finish_names, NELEM(finish_names), &finish);
  if (!rc && v[F_TIME]) rc = get_nummap(c, "timings", v[F_TIME], RLVR_PROTO_MAX_NAMED, 0, &s->timings, &s->ntimings);
  s->verifier_status = (rlvr_verifier_status)status;
  s->finish = (rlvr_finish)finish;
  return rc;
}

static int decode_traj_group(dctx *c, const msgpack_object *o, rlvr_traj_group *g) {
  enum { F_GID, F_IDS, F_SAMPLES, F_N };
  static const field_spec spec[] = {{"group_id", 1}, {"prompt_ids", 1}, {"samples", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, o, spec, F_N, v);
  if (!rc) rc = get_uint(c, "group_id", v[F_GID], 0, UINT64_MAX, &g->group_id);
  if (!rc) rc = get_ids(c, "prompt_ids", v[F_IDS], 1, RLVR_PROTO_MAX_TOKENS, &g->prompt_ids, &g->nprompt);
  if (!rc) rc = get_array(c, "samples", v[F_SAMPLES], 1, RLVR_PROTO_MAX_G);
  if (rc) return rc;
  uint32_t n = v[F_SAMPLES]->via.array.size;
  rlvr_sample *samples = mem_alloc(c->mem, n * sizeof *samples, 16);
  for (uint32_t i = 0; i < n && !rc; i++) {
    size_t mark = path_push(c, ".samples[%u]", i);
    rc = decode_sample(c, &v[F_SAMPLES]->via.array.ptr[i], &samples[i]);
    path_pop(c, mark);
  }
  g->samples = samples;
  g->nsamples = n;
  return rc;
}

static int decode_trajectories(dctx *c, const msgpack_object *top, rlvr_msg_trajectories *m) {
  enum { F_WID = 2, F_WORKER, F_PV, F_GROUPS, F_N };
  static const field_spec spec[] = {HEAD, {"work_id", 1}, {"worker_id", 1}, {"policy_version", 1}, {"groups", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_uint(c, "work_id", v[F_WID], 0, UINT64_MAX, &m->work_id);
  if (!rc) rc = get_name(c, "worker_id", v[F_WORKER], &m->worker_id);
  if (!rc) rc = get_uint(c, "policy_version", v[F_PV], 0, UINT64_MAX, &m->policy_version);
  if (!rc) rc = get_array(c, "groups", v[F_GROUPS], 1, RLVR_PROTO_MAX_GROUPS);
  if (rc) return rc;
  uint32_t n = v[F_GROUPS]->via.array.size;
  rlvr_traj_group *groups = mem_alloc(c->mem, n * sizeof *groups, 16);
  for (uint32_t i = 0; i < n && !rc; i++) {
    size_t mark = path_push(c, ".groups[%u]", i);
    rc = decode_traj_group(c, &v[F_GROUPS]->via.array.ptr[i], &groups[i]);
    path_pop(c, mark);
  }
  m->groups = groups;
  m->ngroups = n;
  return rc;
}

static int decode_tensor(dctx *c, const msgpack_object *o, rlvr_tensor *t) {
  enum { F_NAME, F_DTYPE, F_SHAPE, F_DATA, F_FRAME, F_CRC, F_N };
  static const field_spec spec[] = {{"name", 1}, {"dtype", 1}, {"shape", 1}, {"data", 0}, {"frame", 0}, {"crc32c", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, o, spec, F_N, v);
  int dtype = 0;
  const char *dtype_names[RLVR_DTYPE_COUNT];
  for (int d = 0; d < RLVR_DTYPE_COUNT; d++) dtype_names[d] = rlvr_dtype_name((rlvr_dtype)d);
  if (!rc) rc = get_name(c, "name", v[F_NAME], &t->name);
  if (!rc) rc = get_enum(c, "dtype", v[F_DTYPE], dtype_names, RLVR_DTYPE_COUNT, &dtype);
  if (!rc) rc = get_array(c, "shape", v[F_SHAPE], 0, RLVR_PROTO_MAX_DIMS);
  if (rc) return rc;
  t->dtype = (rlvr_dtype)dtype;
  t->ndim = (int)v[F_SHAPE]->via.array.size;
  uint64_t nbytes = rlvr_dtype_size(t->dtype);
  for (int d = 0; d < t->ndim; d++) {
    char where[24];
    uint64_t dim;
    snprintf(where, sizeof where, "shape[%d]", d);
    rc = get_uint(c, where, &v[F_SHAPE]->via.array.ptr[d], 0, INT64_MAX, &dim);
    if (rc) return rc;
    if (__builtin_mul_overflow(nbytes, dim, &nbytes)) return fail(c, "shape", "byte size overflows");
    t->shape[d] = (int64_t)dim;
  }
  uint32_t crc = 0;
  rc = get_u32(c, "crc32c", v[F_CRC], 0, UINT32_MAX, &crc);
  if (rc) return rc;
  if (!!v[F_DATA] == !!v[F_FRAME]) return fail(c, NULL, "needs exactly one of 'data' and 'frame'");
  const void *src;
  size_t len;
  int borrow = 0;
  if (v[F_DATA]) {
    rc = get_bin(c, "data", v[F_DATA]);
    if (rc) return rc;
    src = v[F_DATA]->via.bin.ptr;
    len = v[F_DATA]->via.bin.size;
  } else {
    uint64_t k;
    if (c->nframes < 2) return fail(c, "frame", "refers to a frame, but the message has none after the map");
    rc = get_uint(c, "frame", v[F_FRAME], 1, (uint64_t)c->nframes - 1, &k);
    if (rc) return rc;
    if (c->frame_used[k]) return fail(c, "frame", "frame %llu is used by another tensor", (unsigned long long)k);
    c->frame_used[k] = 1;
    src = c->frames[k].data;
    len = c->frames[k].len;
    borrow = ((uintptr_t)src % 8) == 0;
  }
  if (len != nbytes)
    return fail(c, v[F_DATA] ? "data" : "frame", "%zu bytes, shape and dtype say %llu", len, (unsigned long long)nbytes);
  uint32_t got = rlvr_crc32c(0, src, len);
  if (got != crc) return fail(c, "crc32c", "data checksum is %08x, message says %08x", got, crc);
  if (borrow) {
    t->data = src;
  } else {
    void *p = mem_alloc(c->mem, len, 64);
    if (len) memcpy(p, src, len);
    t->data = p;
  }
  t->nbytes = len;
  t->crc32c = crc;
  return RLVR_OK;
}

static int decode_weights(dctx *c, const msgpack_object *top, rlvr_msg_weights *m) {
  enum { F_VERSION = 2, F_TENSORS, F_N };
  static const field_spec spec[] = {HEAD, {"version", 1}, {"tensors", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_uint(c, "version", v[F_VERSION], 0, UINT64_MAX, &m->version);
  if (!rc) rc = get_array(c, "tensors", v[F_TENSORS], 0, RLVR_PROTO_MAX_TENSORS);
  if (rc) return rc;
  uint32_t n = v[F_TENSORS]->via.array.size;
  rlvr_tensor *ts = mem_alloc(c->mem, n * sizeof *ts, 16);
  for (uint32_t i = 0; i < n && !rc; i++) {
    size_t mark = path_push(c, ".tensors[%u]", i);
    rc = decode_tensor(c, &v[F_TENSORS]->via.array.ptr[i], &ts[i]);
    path_pop(c, mark);
  }
  if (rc) return rc;
  for (int k = 1; k < c->nframes; k++)
    if (!c->frame_used[k]) return fail(c, "tensors", "frame %d is not referenced by any tensor", k);
  const char **names = mem_alloc(c->mem, n * sizeof *names, 16);
  for (uint32_t i = 0; i < n; i++) names[i] = ts[i].name;
  rc = check_unique(c, "tensors", names, n, "tensor");
  m->tensors = ts;
  m->ntensors = n;
  return rc;
}

static int decode_heartbeat(dctx *c, const msgpack_object *top, rlvr_msg_heartbeat *m) {
  enum { F_SENDER = 2, F_TIME, F_STATUS, F_N };
  static const field_spec spec[] = {HEAD, {"sender", 1}, {"time", 1}, {"status", 1}};
  const msgpack_object *v[F_N];
  int status = 0;
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_name(c, "sender", v[F_SENDER], &m->sender);
  if (!rc) rc = get_number(c, "time", v[F_TIME], 0, DBL_MAX, 0, &m->time);
  if (!rc) rc = get_enum(c, "status", v[F_STATUS], hb_names, NELEM(hb_names), &status);
  m->status = (rlvr_heartbeat_status)status;
  return rc;
}

static int decode_stats(dctx *c, const msgpack_object *top, rlvr_msg_stats *m) {
  enum { F_SENDER = 2, F_VALUES, F_N };
  static const field_spec spec[] = {HEAD, {"sender", 1}, {"values", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_name(c, "sender", v[F_SENDER], &m->sender);
  if (!rc) rc = get_nummap(c, "values", v[F_VALUES], RLVR_PROTO_MAX_STATS, -DBL_MAX, &m->values, &m->nvalues);
  return rc;
}

static int decode_shutdown(dctx *c, const msgpack_object *top, rlvr_msg_shutdown *m) {
  enum { F_REASON = 2, F_N };
  static const field_spec spec[] = {HEAD, {"reason", 1}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_str(c, "reason", v[F_REASON], 0, RLVR_PROTO_MAX_TEXT, &m->reason, NULL);
  return rc;
}

static int decode_error(dctx *c, const msgpack_object *top, rlvr_msg_error *m) {
  enum { F_CODE = 2, F_MESSAGE, F_WID, F_N };
  static const field_spec spec[] = {HEAD, {"code", 1}, {"message", 1}, {"work_id", 0}};
  const msgpack_object *v[F_N];
  int64_t code = 0;
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_int(c, "code", v[F_CODE], -1000, -1, &code);
  if (!rc) rc = get_str(c, "message", v[F_MESSAGE], 0, RLVR_PROTO_MAX_TEXT, &m->message, NULL);
  if (!rc && v[F_WID]) {
    rc = get_uint(c, "work_id", v[F_WID], 0, UINT64_MAX, &m->work_id);
    m->has_work_id = 1;
  }
  m->code = (int32_t)code;
  return rc;
}

/* A bin of exactly n bytes, copied into the message. */
static int get_bin_exact(dctx *c, const char *field, const msgpack_object *o, size_t n, const uint8_t **out) {
  int rc = get_bin(c, field, o);
  if (rc) return rc;
  if (o->via.bin.size != n) return fail(c, field, "%u bytes, must be %zu", o->via.bin.size, n);
  uint8_t *p = mem_alloc(c->mem, n, 16);
  memcpy(p, o->via.bin.ptr, n);
  *out = p;
  return RLVR_OK;
}

/* The fields of one method are required with it and forbidden with the other. */
static int decode_wsync_init(dctx *c, const msgpack_object *top, rlvr_msg_wsync_init *m) {
  enum { F_METHOD = 2, F_LAYOUT, F_BYTES, F_BUCKET, F_TIMEOUT, F_ID, F_RANK, F_NRANKS, F_HANDLE, F_DEVICE, F_SLOTS,
         F_SLOT_BYTES, F_N };
  static const field_spec spec[] = {HEAD,          {"method", 1},   {"layout", 1},  {"bytes", 1},
                                    {"bucket_bytes", 1}, {"timeout_ms", 1}, {"unique_id", 0}, {"rank", 0},
                                    {"nranks", 0}, {"handle", 0},   {"device", 0},  {"slots", 0},
                                    {"slot_bytes", 0}};
  const msgpack_object *v[F_N];
  int method = 0;
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_enum(c, "method", v[F_METHOD], wsync_method_names, NELEM(wsync_method_names), &method);
  if (!rc) rc = get_uint(c, "layout", v[F_LAYOUT], 0, UINT64_MAX, &m->layout);
  if (!rc) rc = get_uint(c, "bytes", v[F_BYTES], 1, (uint64_t)1 << 48, &m->bytes);
  if (!rc) rc = get_uint(c, "bucket_bytes", v[F_BUCKET], 256, (uint64_t)1 << 48, &m->bucket_bytes);
  if (!rc && m->bucket_bytes % 256) rc = fail(c, "bucket_bytes", "%llu is not a multiple of 256",
                                              (unsigned long long)m->bucket_bytes);
  if (!rc) rc = get_u32(c, "timeout_ms", v[F_TIMEOUT], 1, 3600000, &m->timeout_ms);
  if (rc) return rc;
  m->method = (rlvr_wsync_method)method;
  static const int nccl_f[] = {F_ID, F_RANK, F_NRANKS}, ipc_f[] = {F_HANDLE, F_DEVICE, F_SLOTS, F_SLOT_BYTES};
  const int *mine = method == RLVR_WSYNC_METHOD_NCCL ? nccl_f : ipc_f;
  const int *other = method == RLVR_WSYNC_METHOD_NCCL ? ipc_f : nccl_f;
  int nmine = method == RLVR_WSYNC_METHOD_NCCL ? NELEM(nccl_f) : NELEM(ipc_f);
  int nother = method == RLVR_WSYNC_METHOD_NCCL ? NELEM(ipc_f) : NELEM(nccl_f);
  for (int i = 0; i < nmine; i++)
    if (!v[mine[i]]) return fail(c, NULL, "missing field '%s' (method %s)", spec[mine[i]].name, wsync_method_names[method]);
  for (int i = 0; i < nother; i++)
    if (v[other[i]]) return fail(c, spec[other[i]].name, "not allowed with method %s", wsync_method_names[method]);
  if (method == RLVR_WSYNC_METHOD_NCCL) {
    rc = get_bin_exact(c, "unique_id", v[F_ID], RLVR_PROTO_NCCL_ID_BYTES, &m->unique_id);
    if (!rc) rc = get_u32(c, "nranks", v[F_NRANKS], 2, RLVR_PROTO_MAX_RANKS, &m->nranks);
    if (!rc) rc = get_u32(c, "rank", v[F_RANK], 1, m->nranks - 1, &m->rank);
  } else {
    rc = get_bin_exact(c, "handle", v[F_HANDLE], RLVR_PROTO_IPC_HANDLE_BYTES, &m->handle);
    if (!rc) rc = get_bin_exact(c, "device", v[F_DEVICE], RLVR_PROTO_UUID_BYTES, &m->device);
    if (!rc) rc = get_u32(c, "slots", v[F_SLOTS], 1, RLVR_PROTO_MAX_SLOTS, &m->slots);
    if (!rc) rc = get_uint(c, "slot_bytes", v[F_SLOT_BYTES], m->bytes, (uint64_t)1 << 48, &m->slot_bytes);
    if (!rc && m->slot_bytes % 256)
      rc = fail(c, "slot_bytes", "%llu is not a multiple of 256", (unsigned long long)m->slot_bytes);
  }
  return rc;
}

static int decode_wsync(dctx *c, const msgpack_object *top, rlvr_msg_wsync *m) {
  enum { F_VERSION = 2, F_SLOT, F_N };
  static const field_spec spec[] = {HEAD, {"version", 1}, {"slot", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_uint(c, "version", v[F_VERSION], 0, UINT64_MAX, &m->version);
  if (!rc && v[F_SLOT]) {
    rc = get_u32(c, "slot", v[F_SLOT], 0, RLVR_PROTO_MAX_SLOTS - 1, &m->slot);
    m->has_slot = 1;
  }
  return rc;
}

static int decode_wsync_ack(dctx *c, const msgpack_object *top, rlvr_msg_wsync_ack *m) {
  enum { F_WID = 2, F_VERSION, F_N };
  static const field_spec spec[] = {HEAD, {"worker_id", 1}, {"version", 0}};
  const msgpack_object *v[F_N];
  int rc = map_fields(c, NULL, top, spec, F_N, v);
  if (!rc) rc = get_name(c, "worker_id", v[F_WID], &m->worker_id);
  if (!rc && v[F_VERSION]) {
    rc = get_uint(c, "version", v[F_VERSION], 0, UINT64_MAX, &m->version);
    m->has_version = 1;
  }
  return rc;
}

/* Finds the value of key name in map o (NULL if absent). */
static const msgpack_object *map_get(const msgpack_object *o, const char *name) {
  size_t n = strlen(name);
  for (uint32_t k = 0; k < o->via.map.size; k++) {
    const msgpack_object *key = &o->via.map.ptr[k].key;
    if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == n && !memcmp(key->via.str.ptr, name, n))
      return &o->via.map.ptr[k].val;
  }
  return NULL;
}

int rlvr_msg_decode_frames(const rlvr_frame *frames, int nframes, rlvr_msg *out) {
  RLVR_CHECK(frames && out && nframes >= 1);
  memset(out, 0, sizeof *out);
  const unsigned char *buf = frames[0].data;
  size_t len = frames[0].len;
  if (nframes > RLVR_PROTO_MAX_TENSORS + 1)
    return rlvr_error(RLVR_ERR_PROTOCOL, "message: %d frames, at most %d", nframes, RLVR_PROTO_MAX_TENSORS + 1);
  if (len == 0) return rlvr_error(RLVR_ERR_PROTOCOL, "message: empty");
  size_t end = 0;
  int rc = scan_msgpack(buf, len, RLVR_PROTO_MAX_DEPTH, &end, "message");
  if (rc) return rc;
  if (end != len) return rlvr_error(RLVR_ERR_PROTOCOL, "message: %zu trailing bytes after the map", len - end);
  if ((buf[0] & 0xf0) != 0x80 && buf[0] != 0xde && buf[0] != 0xdf)
    return rlvr_error(RLVR_ERR_PROTOCOL, "message: the top level is not a map (first byte 0x%02x)", buf[0]);

  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  msgpack_unpack_return ur = msgpack_unpack_next(&u, (const char *)buf, len, &off);
  if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
    msgpack_unpacked_destroy(&u);
    return rlvr_error(RLVR_ERR_PROTOCOL, "message: msgpack parse failed (%d)", (int)ur);
  }
  const msgpack_object *top = &u.data;
  dctx c = {0};
  snprintf(c.path, sizeof c.path, "message");
  c.plen = strlen(c.path);
  /* The version first: a message of another version may have types and
   * fields this build does not know, and the version is the useful error. */
  const msgpack_object *vo = map_get(top, "v"), *to = map_get(top, "type");
  int type = 0;
  uint64_t version = 0;
  if (!vo) rc = fail(&c, NULL, "missing field 'v' (protocol version)");
  if (!rc) rc = get_uint(&c, "v", vo, 0, UINT64_MAX, &version);
  if (!rc && version != RLVR_PROTOCOL_VERSION)
    rc = rlvr_error(RLVR_ERR_PROTOCOL, "message: protocol version %llu, this build speaks %d",
                    (unsigned long long)version, RLVR_PROTOCOL_VERSION);
  if (!rc && !to) rc = fail(&c, NULL, "missing field 'type'");
  if (!rc) {
    /* type_names[0] is the "?" of RLVR_MSG_NONE, not a wire word. */
    rc = get_enum(&c, "type", to, type_names + 1, RLVR_MSG_COUNT - 1, &type);
    type += 1;
  }
  if (!rc && nframes > 1 && type != RLVR_MSG_WEIGHTS)
    rc = rlvr_error(RLVR_ERR_PROTOCOL, "%s: %d extra frames; only weights carry frames", type_names[type], nframes - 1);
  if (rc) {
    msgpack_unpacked_destroy(&u);
    return rc;
  }
  snprintf(c.path, sizeof c.path, "%s", type_names[type]);
  c.plen = strlen(c.path);
  c.mem = xcalloc(1, sizeof *c.mem);
  c.frames = frames;
  c.nframes = nframes;
  c.frame_used = xcalloc((size_t)nframes, 1);
  switch ((rlvr_msg_type)type) {
    case RLVR_MSG_HELLO: rc = decode_hello(&c, top, &out->hello); break;
    case RLVR_MSG_WORK_REQUEST: rc = decode_work_request(&c, top, &out->work_request); break;
    case RLVR_MSG_WORK: rc = decode_work(&c, top, &out->work); break;
    case RLVR_MSG_TRAJECTORIES: rc = decode_trajectories(&c, top, &out->trajectories); break;
    case RLVR_MSG_WEIGHTS: rc = decode_weights(&c, top, &out->weights); break;
    case RLVR_MSG_HEARTBEAT: rc = decode_heartbeat(&c, top, &out->heartbeat); break;
    case RLVR_MSG_STATS: rc = decode_stats(&c, top, &out->stats); break;
    case RLVR_MSG_SHUTDOWN: rc = decode_shutdown(&c, top, &out->shutdown); break;
    case RLVR_MSG_ERROR: rc = decode_error(&c, top, &out->error); break;
    case RLVR_MSG_WSYNC_INIT: rc = decode_wsync_init(&c, top, &out->wsync_init); break;
    case RLVR_MSG_WSYNC: rc = decode_wsync(&c, top, &out->wsync); break;
    case RLVR_MSG_WSYNC_ACK: rc = decode_wsync_ack(&c, top, &out->wsync_ack); break;
    default: RLVR_CHECK(0, "type %d", type);
  }
  free(c.frame_used);
  msgpack_unpacked_destroy(&u);
  if (rc) {
    mem_free(c.mem);
    memset(out, 0, sizeof *out);
    return rc;
  }
  out->type = (rlvr_msg_type)type;
  out->mem = c.mem;
  return RLVR_OK;
}

int rlvr_msg_decode(const void *buf, size_t len, rlvr_msg *out) {
  rlvr_frame f = {buf, len};
  return rlvr_msg_decode_frames(&f, 1, out);
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */

static void pk_str(msgpack_packer *pk, const char *s) {
  RLVR_CHECK(s, "a required string of the message is NULL");
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pk_strn(msgpack_packer *pk, const char *s, size_t n) {
  RLVR_CHECK(s || n == 0);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pk_key(msgpack_packer *pk, const char *k) { pk_str(pk, k); }

static void pk_bin(msgpack_packer *pk, const void *p, size_t n) {
  RLVR_CHECK(p || n == 0);
  msgpack_pack_bin(pk, n);
  if (n) msgpack_pack_bin_body(pk, p, n);
}

static void pk_head(msgpack_packer *pk, rlvr_msg_type t, size_t nfields) {
  msgpack_pack_map(pk, nfields + 2);
  pk_key(pk, "type");
  pk_str(pk, type_names[t]);
  pk_key(pk, "v");
  msgpack_pack_uint32(pk, RLVR_PROTOCOL_VERSION);
}

static void pk_nummap(msgpack_packer *pk, const rlvr_named_value *v, uint32_t n) {
  msgpack_pack_map(pk, n);
  for (uint32_t i = 0; i < n; i++) {
    pk_str(pk, v[i].name);
    msgpack_pack_double(pk, v[i].value);
  }
}

/* Raw msgpack of a map value: it must be exactly one well-formed map. */
static int pk_value(msgpack_packer *pk, rlvr_buf *out, const rlvr_value *v, const char *what) {
  size_t end;
  if (!v->msgpack || v->len == 0) return rlvr_error(RLVR_ERR_ARG, "encode: %s is empty", what);
  if (scan_msgpack(v->msgpack, v->len, RLVR_PROTO_MAX_VALUE_DEPTH, &end, what) || end != v->len ||
      !((v->msgpack[0] & 0xf0) == 0x80 || v->msgpack[0] == 0xde || v->msgpack[0] == 0xdf))
    return rlvr_error(RLVR_ERR_ARG, "encode: %s is not one msgpack map", what);
  (void)pk;
  buf_write(out, (const char *)v->msgpack, v->len);
  return RLVR_OK;
}

static int enc_work(msgpack_packer *pk, rlvr_buf *out, const rlvr_msg_work *m) {
  pk_head(pk, RLVR_MSG_WORK, 4);
  pk_key(pk, "work_id");
  msgpack_pack_uint64(pk, m->work_id);
  pk_key(pk, "policy_version");
  msgpack_pack_uint64(pk, m->policy_version);
  const rlvr_msg_sampling *s = &m->sampling;
  pk_key(pk, "sampling");
  msgpack_pack_map(pk, 5 + (s->nstop > 0) + (s->has_budget != 0));
  pk_key(pk, "temperature");
  msgpack_pack_double(pk, s->temperature);
  pk_key(pk, "top_k");
  msgpack_pack_uint32(pk, s->top_k);
  pk_key(pk, "top_p");
  msgpack_pack_double(pk, s->top_p);
  pk_key(pk, "max_tokens");
  msgpack_pack_uint32(pk, s->max_tokens);
  pk_key(pk, "seed");
  msgpack_pack_uint64(pk, s->seed);
  if (s->nstop > 0) {
    pk_key(pk, "stop");
    msgpack_pack_array(pk, (size_t)s->nstop);
    for (int i = 0; i < s->nstop; i++) pk_str(pk, s->stop[i]);
  }
  if (s->has_budget) {
    const rlvr_budget *b = &s->budget;
    pk_key(pk, "budget");
    msgpack_pack_map(pk, 6);
    pk_key(pk, "min_think_tokens");
    msgpack_pack_uint32(pk, b->min_think_tokens);
    pk_key(pk, "max_waits");
    msgpack_pack_uint32(pk, b->max_waits);
    pk_key(pk, "max_think_tokens");
    msgpack_pack_uint32(pk, b->max_think_tokens);
    pk_key(pk, "think_end_text");
    pk_str(pk, b->think_end_text);
    pk_key(pk, "wait_text");
    pk_str(pk, b->wait_text);
    pk_key(pk, "answer_prefix");
    pk_str(pk, b->answer_prefix);
  }
  pk_key(pk, "groups");
  msgpack_pack_array(pk, m->ngroups);
  for (uint32_t i = 0; i < m->ngroups; i++) {
    const rlvr_prompt_group *g = &m->groups[i];
    msgpack_pack_map(pk, 6 + (g->meta.len > 0));
    pk_key(pk, "group_id");
    msgpack_pack_uint64(pk, g->group_id);
    pk_key(pk, "prompt_ids");
    pk_bin(pk, g->prompt_ids, (size_t)g->nprompt * 4);
    pk_key(pk, "prompt");
    pk_strn(pk, g->prompt, g->prompt ? (g->prompt_len ? g->prompt_len : strlen(g->prompt)) : 0);
    pk_key(pk, "g");
    msgpack_pack_uint32(pk, g->g);
    pk_key(pk, "reference");
    if (g->reference_map.len) {
      int rc = pk_value(pk, out, &g->reference_map, "work.groups[].reference");
      if (rc) return rc;
    } else {
      pk_strn(pk, g->reference, g->reference ? (g->reference_len ? g->reference_len : strlen(g->reference)) : 0);
    }
    pk_key(pk, "verifier");
    pk_str(pk, g->verifier);
    if (g->meta.len) {
      pk_key(pk, "meta");
      int rc = pk_value(pk, out, &g->meta, "work.groups[].meta");
      if (rc) return rc;
    }
  }
  return RLVR_OK;
}

static int enc_trajectories(msgpack_packer *pk, const rlvr_msg_trajectories *m) {
  pk_head(pk, RLVR_MSG_TRAJECTORIES, 4);
  pk_key(pk, "work_id");
  msgpack_pack_uint64(pk, m->work_id);
  pk_key(pk, "worker_id");
  pk_str(pk, m->worker_id);
  pk_key(pk, "policy_version");
  msgpack_pack_uint64(pk, m->policy_version);
  pk_key(pk, "groups");
  msgpack_pack_array(pk, m->ngroups);
  for (uint32_t i = 0; i < m->ngroups; i++) {
    const rlvr_traj_group *g = &m->groups[i];
    msgpack_pack_map(pk, 3);
    pk_key(pk, "group_id");
    msgpack_pack_uint64(pk, g->group_id);
    pk_key(pk, "prompt_ids");
    pk_bin(pk, g->prompt_ids, (size_t)g->nprompt * 4);
    pk_key(pk, "samples");
    msgpack_pack_array(pk, g->nsamples);
    for (uint32_t j = 0; j < g->nsamples; j++) {
      const rlvr_sample *s = &g->samples[j];
      if ((unsigned)s->verifier_status >= (unsigned)NELEM(status_names) || (unsigned)s->finish >= (unsigned)NELEM(finish_names))
        return rlvr_error(RLVR_ERR_ARG, "encode: trajectories.groups[%u].samples[%u]: bad enum value", i, j);
      size_t t = s->ntokens;
      msgpack_pack_map(pk, 11 + (s->ntimings > 0));
      pk_key(pk, "tokens");
      pk_bin(pk, s->tokens, 4 * t);
      pk_key(pk, "mask");
      pk_bin(pk, s->mask, t);
      pk_key(pk, "logprobs");
      pk_bin(pk, s->logprobs, 4 * t);
      pk_key(pk, "reward");
      msgpack_pack_double(pk, s->reward);
      pk_key(pk, "components");
      pk_nummap(pk, s->components, s->ncomponents);
      pk_key(pk, "advantage");
      msgpack_pack_double(pk, s->advantage);
      pk_key(pk, "verifier");
      pk_str(pk, s->verifier);
      pk_key(pk, "verifier_version");
      pk_str(pk, s->verifier_version);
      pk_key(pk, "verifier_status");
      pk_str(pk, status_names[s->verifier_status]);
      pk_key(pk, "seed");
      msgpack_pack_uint64(pk, s->seed);
      pk_key(pk, "finish");
      pk_str(pk, finish_names[s->finish]);
      if (s->ntimings > 0) {
        pk_key(pk, "timings");
        pk_nummap(pk, s->timings, s->ntimings);
      }
    }
  }
  return RLVR_OK;
}

static int enc_weights(msgpack_packer *pk, const rlvr_msg_weights *m, int frames) {
  pk_head(pk, RLVR_MSG_WEIGHTS, 2);
  pk_key(pk, "version");
  msgpack_pack_uint64(pk, m->version);
  pk_key(pk, "tensors");
  msgpack_pack_array(pk, m->ntensors);
  for (uint32_t i = 0; i < m->ntensors; i++) {
    const rlvr_tensor *t = &m->tensors[i];
    if ((unsigned)t->dtype >= RLVR_DTYPE_COUNT || t->ndim < 0 || t->ndim > RLVR_PROTO_MAX_DIMS)
      return rlvr_error(RLVR_ERR_ARG, "encode: weights.tensors[%u] (%s): bad dtype or rank", i, t->name);
    msgpack_pack_map(pk, 5);
    pk_key(pk, "name");
    pk_str(pk, t->name);
    pk_key(pk, "dtype");
    pk_str(pk, rlvr_dtype_name(t->dtype));
    pk_key(pk, "shape");
    msgpack_pack_array(pk, (size_t)t->ndim);
    for (int d = 0; d < t->ndim; d++) {
      if (t->shape[d] < 0) return rlvr_error(RLVR_ERR_ARG, "encode: weights.tensors[%u] (%s): negative dim", i, t->name);
      msgpack_pack_uint64(pk, (uint64_t)t->shape[d]);
    }
    if (frames) {
      pk_key(pk, "frame");
      msgpack_pack_uint32(pk, i + 1);
    } else {
      pk_key(pk, "data");
      pk_bin(pk, t->data, t->nbytes);
    }
    pk_key(pk, "crc32c");
    msgpack_pack_uint32(pk, rlvr_crc32c(0, t->data, t->nbytes));
  }
  return RLVR_OK;
}

int rlvr_msg_encode(const rlvr_msg *m, int flags, rlvr_buf *out) {
  RLVR_CHECK(m && out);
  out->len = 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = RLVR_OK;
  switch (m->type) {
    case RLVR_MSG_HELLO: {
      const rlvr_msg_hello *h = &m->hello;
      if ((unsigned)h->role > RLVR_ROLE_WORKER) return rlvr_error(RLVR_ERR_ARG, "encode: hello: bad role");
      pk_head(&pk, m->type, 5);
      pk_key(&pk, "role");
      pk_str(&pk, role_names[h->role]);
      pk_key(&pk, "id");
      pk_str(&pk, h->id);
      pk_key(&pk, "capabilities");
      msgpack_pack_array(&pk, (size_t)(h->ncapabilities > 0 ? h->ncapabilities : 0));
      for (int i = 0; i < h->ncapabilities; i++) pk_str(&pk, h->capabilities[i]);
      pk_key(&pk, "pid");
      msgpack_pack_uint32(&pk, h->pid);
      pk_key(&pk, "host");
      pk_str(&pk, h->host);
      break;
    }
    case RLVR_MSG_WORK_REQUEST: {
      const rlvr_msg_work_request *w = &m->work_request;
      pk_head(&pk, m->type, 2 + (w->has_policy_version != 0));
      pk_key(&pk, "worker_id");
      pk_str(&pk, w->worker_id);
      pk_key(&pk, "max_groups");
      msgpack_pack_uint32(&pk, w->max_groups);
      if (w->has_policy_version) {
        pk_key(&pk, "policy_version");
        msgpack_pack_uint64(&pk, w->policy_version);
      }
      break;
    }
    case RLVR_MSG_WORK: rc = enc_work(&pk, out, &m->work); break;
    case RLVR_MSG_TRAJECTORIES: rc = enc_trajectories(&pk, &m->trajectories); break;
    case RLVR_MSG_WEIGHTS: rc = enc_weights(&pk, &m->weights, flags & RLVR_ENCODE_WEIGHT_FRAMES); break;
    case RLVR_MSG_HEARTBEAT: {
      const rlvr_msg_heartbeat *h = &m->heartbeat;
      if ((unsigned)h->status >= (unsigned)NELEM(hb_names)) return rlvr_error(RLVR_ERR_ARG, "encode: heartbeat: bad status");
      pk_head(&pk, m->type, 3);
      pk_key(&pk, "sender");
      pk_str(&pk, h->sender);
      pk_key(&pk, "time");
      msgpack_pack_double(&pk, h->time);
      pk_key(&pk, "status");
      pk_str(&pk, hb_names[h->status]);
      break;
    }
    case RLVR_MSG_STATS:
      pk_head(&pk, m->type, 2);
      pk_key(&pk, "sender");
      pk_str(&pk, m->stats.sender);
      pk_key(&pk, "values");
      pk_nummap(&pk, m->stats.values, m->stats.nvalues);
      break;
    case RLVR_MSG_SHUTDOWN:
      pk_head(&pk, m->type, 1);
      pk_key(&pk, "reason");
      pk_str(&pk, m->shutdown.reason ? m->shutdown.reason : "");
      break;
    case RLVR_MSG_ERROR:
      pk_head(&pk, m->type, 2 + (m->error.has_work_id != 0));
      pk_key(&pk, "code");
      msgpack_pack_int32(&pk, m->error.code);
      pk_key(&pk, "message");
      pk_str(&pk, m->error.message ? m->error.message : "");
      if (m->error.has_work_id) {
        pk_key(&pk, "work_id");
        msgpack_pack_uint64(&pk, m->error.work_id);
      }
      break;
    case RLVR_MSG_WSYNC_INIT: {
      const rlvr_msg_wsync_init *w = &m->wsync_init;
      const int nccl = w->method == RLVR_WSYNC_METHOD_NCCL;
      if ((unsigned)w->method > RLVR_WSYNC_METHOD_CUDA_IPC) return rlvr_error(RLVR_ERR_ARG, "encode: wsync_init: bad method");
      if (nccl ? !w->unique_id : (!w->handle || !w->device))
        return rlvr_error(RLVR_ERR_ARG, "encode: wsync_init: %s without its %s", wsync_method_names[w->method],
                          nccl ? "unique_id" : "handle or device");
      pk_head(&pk, m->type, 5 + (nccl ? 3 : 4));
      pk_key(&pk, "method");
      pk_str(&pk, wsync_method_names[w->method]);
      pk_key(&pk, "layout");
      msgpack_pack_uint64(&pk, w->layout);
      pk_key(&pk, "bytes");
      msgpack_pack_uint64(&pk, w->bytes);
      pk_key(&pk, "bucket_bytes");
      msgpack_pack_uint64(&pk, w->bucket_bytes);
      pk_key(&pk, "timeout_ms");
      msgpack_pack_uint32(&pk, w->timeout_ms);
      if (nccl) {
        pk_key(&pk, "unique_id");
        pk_bin(&pk, w->unique_id, RLVR_PROTO_NCCL_ID_BYTES);
        pk_key(&pk, "rank");
        msgpack_pack_uint32(&pk, w->rank);
        pk_key(&pk, "nranks");
        msgpack_pack_uint32(&pk, w->nranks);
      } else {
        pk_key(&pk, "handle");
        pk_bin(&pk, w->handle, RLVR_PROTO_IPC_HANDLE_BYTES);
        pk_key(&pk, "device");
        pk_bin(&pk, w->device, RLVR_PROTO_UUID_BYTES);
        pk_key(&pk, "slots");
        msgpack_pack_uint32(&pk, w->slots);
        pk_key(&pk, "slot_bytes");
        msgpack_pack_uint64(&pk, w->slot_bytes);
      }
      break;
    }
    case RLVR_MSG_WSYNC:
      pk_head(&pk, m->type, 1 + (m->wsync.has_slot != 0));
      pk_key(&pk, "version");
      msgpack_pack_uint64(&pk, m->wsync.version);
      if (m->wsync.has_slot) {
        pk_key(&pk, "slot");
        msgpack_pack_uint32(&pk, m->wsync.slot);
      }
      break;
    case RLVR_MSG_WSYNC_ACK:
      pk_head(&pk, m->type, 1 + (m->wsync_ack.has_version != 0));
      pk_key(&pk, "worker_id");
      pk_str(&pk, m->wsync_ack.worker_id);
      if (m->wsync_ack.has_version) {
        pk_key(&pk, "version");
        msgpack_pack_uint64(&pk, m->wsync_ack.version);
      }
      break;
    default: return rlvr_error(RLVR_ERR_ARG, "encode: unknown message type %d", (int)m->type);
  }
  if (rc) out->len = 0;
  return rc;
}
