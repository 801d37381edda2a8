/* wsync_layout.c — the flat bucketed layout, the broadcast header and the
 * CUDA IPC slot bookkeeping of GPU weight sync (wsync_layout.h). Plain C. */
#include "model/cuda/wsync_layout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"

/* ---- hashing: FNV-1a 64 over explicit little-endian fields ---- */

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  return fnv_bytes(h, b, 8);
}

#define FNV_START 0xcbf29ce484222325ull

/* ---- layout ---- */

typedef struct {
  size_t start, end; /* bytes in the source */
} range;

static int cmp_range(const void *a, const void *b) {
  const range *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return (x->end > y->end) - (x->end < y->end);
}

int rlvr_wsync_layout_build(rlvr_wsync_layout *l, const rlvr_tensor_info *t, int n, size_t elem_size,
                            size_t bucket_bytes) {
  memset(l, 0, sizeof *l);
  if (n <= 0 || !t) return rlvr_error(RLVR_ERR_ARG, "weight sync layout: no tensors");
  if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8)
    return rlvr_error(RLVR_ERR_ARG, "weight sync layout: element size %zu", elem_size);
  if (bucket_bytes < 256 || bucket_bytes % 256)
    return rlvr_error(RLVR_ERR_ARG, "weight sync layout: bucket size %zu bytes, must be a positive multiple of 256",
                      bucket_bytes);

  /* The union of the tensors' source ranges, in source order. */
  range *r = xmalloc((size_t)n * sizeof *r);
  uint64_t h = fnv_u64(FNV_START, elem_size);
  h = fnv_u64(h, (uint64_t)n);
  int nr = 0;
  for (int i = 0; i < n; i++) {
    h = fnv_bytes(h, t[i].name, strnlen(t[i].name, RLVR_TENSOR_NAME_MAX) + 1);
    h = fnv_u64(h, (uint64_t)t[i].ndim);
    for (int d = 0; d < 2; d++) h = fnv_u64(h, (uint64_t)(d < t[i].ndim ? t[i].shape[d] : 0));
    h = fnv_u64(h, t[i].numel);
    h = fnv_u64(h, t[i].offset);
    if (t[i].numel == 0) continue;
    r[nr].start = t[i].offset * elem_size;
    r[nr].end = (t[i].offset + t[i].numel) * elem_size;
    nr++;
  }
  if (nr == 0) {
    free(r);
    return rlvr_error(RLVR_ERR_ARG, "weight sync layout: every tensor is empty");
  }
  qsort(r, (size_t)nr, sizeof *r, cmp_range);
  int m = 0;
  for (int i = 1; i < nr; i++) {
    if (r[i].start <= r[m].end) { /* overlapping or adjacent: one range */
      if (r[i].end > r[m].end) r[m].end = r[i].end;
    } else {
      r[++m] = r[i];
    }
  }
  nr = m + 1;

  size_t bytes = 0;
  for (int i = 0; i < nr; i++) bytes += r[i].end - r[i].start;
  l->elem_size = elem_size;
  l->bytes = bytes;
  l->src_bytes = r[nr - 1].end;
  l->bucket_bytes = bucket_bytes;
  l->hash = h;
  l->identity = nr == 1 && r[0].start == 0;
  l->nbuckets = (int)((bytes + bucket_bytes - 1) / bucket_bytes);
  l->buckets = xcalloc((size_t)l->nbuckets, sizeof *l->buckets);
  /* A bucket has at most (ranges it touches) segments; all buckets together
   * at most nbuckets + nr - 1. */
  l->segs = xcalloc((size_t)(l->nbuckets + nr), sizeof *l->segs);

  int ri = 0;           /* current range */
  size_t rdst = 0;      /* flat offset where range ri starts */
  for (int k = 0; k < l->nbuckets; k++) {
    rlvr_wsync_bucket *b = &l->buckets[k];
    b->offset = (size_t)k * bucket_bytes;
    b->bytes = bytes - b->offset < bucket_bytes ? bytes - b->offset : bucket_bytes;
    b->first_seg = l->nsegs;
    size_t pos = b->offset, end = b->offset + b->bytes;
    while (pos < end) {
      size_t rlen = r[ri].end - r[ri].start;
      if (pos >= rdst + rlen) { /* past range ri */
        rdst += rlen;
        ri++;
        continue;
      }
      size_t take = rdst + rlen - pos;
      if (take > end - pos) take = end - pos;
      rlvr_wsync_segment *s = &l->segs[l->nsegs++];
      s->dst = pos;
      s->src = r[ri].start + (pos - rdst);
      s->bytes = take;
      pos += take;
    }
    b->nseg = l->nsegs - b->first_seg;
  }
  RLVR_CHECK(l->nsegs <= l->nbuckets + nr);
  free(r);
  return RLVR_OK;
}

void rlvr_wsync_layout_free(rlvr_wsync_layout *l) {
  if (!l) return;
  free(l->buckets);
  free(l->segs);
  memset(l, 0, sizeof *l);
}

void rlvr_wsync_pack_host(const rlvr_wsync_layout *l, void *flat, const void *src) {
  for (int i = 0; i < l->nsegs; i++)
    memcpy((char *)flat + l->segs[i].dst, (const char *)src + l->segs[i].src, l->segs[i].bytes);
}

void rlvr_wsync_unpack_host(const rlvr_wsync_layout *l, void *dst, const void *flat) {
  for (int i = 0; i < l->nsegs; i++)
    memcpy((char *)dst + l->segs[i].src, (const char *)flat + l->segs[i].dst, l->segs[i].bytes);
}

int rlvr_wsync_check_init(uint64_t layout_hash, uint64_t bytes, const rlvr_wsync_layout *l) {
  if (layout_hash != l->hash)
    return rlvr_error(RLVR_ERR_MISMATCH,
                      "weight sync: the learner's layout is %016" PRIx64 ", this model's %016" PRIx64
                      " (another model, or another tensor table)",
                      layout_hash, l->hash);
  if (bytes != l->bytes)
    return rlvr_error(RLVR_ERR_MISMATCH, "weight sync: the learner sends %" PRIu64 " bytes, this model has %zu",
                      bytes, l->bytes);
  return RLVR_OK;
}

/* ---- header ---- */

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static const char header_magic[8] = {'R', 'L', 'V', 'R', 'W', 'S', 'Y', '1'};

void rlvr_wsync_header_write(uint8_t out[RLVR_WSYNC_HEADER_BYTES], const rlvr_wsync_layout *l, uint64_t version) {
  memset(out, 0, RLVR_WSYNC_HEADER_BYTES);
  memcpy(out, header_magic, 8);
  put_u64(out + 8, version);
  put_u64(out + 16, l->hash);
  put_u64(out + 24, l->bytes);
  put_u64(out + 32, l->bucket_bytes);
  put_u64(out + 40, (uint64_t)(uint32_t)l->nbuckets); /* u32 nbuckets, u32 0 */
  put_u64(out + 48, fnv_bytes(FNV_START, out, 48));
}

int rlvr_wsync_header_check(const uint8_t in[RLVR_WSYNC_HEADER_BYTES], const rlvr_wsync_layout *l,
                            uint64_t want_version) {
  if (memcmp(in, header_magic, 8))
    return rlvr_error(RLVR_ERR_PROTOCOL, "weight sync header: bad magic (not a weights broadcast)");
  if (get_u64(in + 48) != fnv_bytes(FNV_START, in, 48) || get_u64(in + 56) != 0 || get_u64(in + 40) >> 32)
    return rlvr_error(RLVR_ERR_PROTOCOL, "weight sync header: checksum or reserved bytes wrong");
  const uint64_t version = get_u64(in + 8), hash = get_u64(in + 16), bytes = get_u64(in + 24),
                 bucket = get_u64(in + 32), nb = get_u64(in + 40);
  if (hash != l->hash)
    return rlvr_error(RLVR_ERR_MISMATCH, "weight sync header: layout %016" PRIx64 ", this model's %016" PRIx64, hash,
                      l->hash);
  if (bytes != l->bytes || bucket != l->bucket_bytes || nb != (uint64_t)l->nbuckets)
    return rlvr_error(RLVR_ERR_MISMATCH,
                      "weight sync header: %" PRIu64 " bytes in %" PRIu64 " buckets of %" PRIu64
                      ", expected %zu in %d of %zu",
                      bytes, nb, bucket, l->bytes, l->nbuckets, l->bucket_bytes);
  if (version != want_version)
    return rlvr_error(RLVR_ERR_MISMATCH, "weight sync header: version %" PRIu64 ", announced %" PRIu64, version,
                      want_version);
  return RLVR_OK;
}

/* ---- slots ---- */

void rlvr_wsync_slots_init(rlvr_wsync_slots *s, int nslots) {
  RLVR_CHECK(nslots >= 1 && nslots <= RLVR_WSYNC_MAX_SLOTS, "%d slots", nslots);
  memset(s, 0, sizeof *s);
  s->nslots = nslots;
  s->latest = -1;
  s->writing = -1;
}

int rlvr_wsync_slots_begin(rlvr_wsync_slots *s, int *slot) {
  RLVR_CHECK(s->writing < 0, "slot %d is still being written", s->writing);
  int best = -1;
  for (int i = 0; i < s->nslots; i++) {
    if (i == s->latest || s->holders[i]) continue;
    if (!s->used[i]) {
      best = i;
      break;
    }
    if (best < 0 || s->version[i] < s->version[best]) best = i;
  }
  /* The newest only when nothing else is free and nobody reads it: a reader
   * that joins while it is rewritten is refused by announce. */
  if (best < 0 && s->latest >= 0 && !s->holders[s->latest]) best = s->latest;
  if (best < 0) {
    char list[512];
    size_t len = 0;
    for (int i = 0; i < s->nslots && len < sizeof list; i++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s slot %d: version %" PRIu64 "%s, readers %#" PRIx64,
                              i ? ";" : "", i, s->version[i], i == s->latest ? " (newest)" : "", s->holders[i]);
    return rlvr_error(RLVR_ERR_NOMEM, "weight sync: no free slot (%s); waiting for acks", list);
  }
  s->writing = best;
  *slot = best;
  return RLVR_OK;
}

void rlvr_wsync_slots_publish(rlvr_wsync_slots *s, int slot, uint64_t version, uint64_t readers) {
  RLVR_CHECK(slot == s->writing, "slot %d published, %d was begun", slot, s->writing);
  RLVR_CHECK(s->latest < 0 || version > s->version[s->latest], "version %" PRIu64 " after %" PRIu64, version,
             s->version[s->latest]);
  s->used[slot] = 1;
  s->version[slot] = version;
  s->holders[slot] = readers;
  s->latest = slot;
  s->writing = -1;
}

int rlvr_wsync_slots_announce(rlvr_wsync_slots *s, int reader, int *slot, uint64_t *version) {
  if (reader < 0 || reader >= RLVR_WSYNC_MAX_READERS)
    return rlvr_error(RLVR_ERR_RANGE, "weight sync: reader %d out of range", reader);
  if (s->latest < 0) return rlvr_error(RLVR_ERR_RANGE, "weight sync: no version published yet");
  if (s->writing == s->latest)
    return rlvr_error(RLVR_ERR_RANGE, "weight sync: the newest slot is being rewritten; announce after the publish");
  s->holders[s->latest] |= (uint64_t)1 << reader;
  *slot = s->latest;
  *version = s->version[s->latest];
  return RLVR_OK;
}

int rlvr_wsync_slots_ack(rlvr_wsync_slots *s, int reader, uint64_t version) {
  if (reader < 0 || reader >= RLVR_WSYNC_MAX_READERS)
    return rlvr_error(RLVR_ERR_RANGE, "weight sync: reader %d out of range", reader);
  if (s->latest < 0 || version > s->version[s->latest])
    return rlvr_error(RLVR_ERR_RANGE, "weight sync: reader %d acks version %" PRIu64 ", newest published is %s%" PRIu64,
                      reader, version, s->latest < 0 ? "none " : "", s->latest < 0 ? 0 : s->version[s->latest]);
  for (int i = 0; i < s->nslots; i++)
    if (s->used[i] && s->version[i] <= version) s->holders[i] &= ~((uint64_t)1 << reader);
  return RLVR_OK;
}

void rlvr_wsync_slots_drop(rlvr_wsync_slots *s, int reader) {
  if (reader < 0 || reader >= RLVR_WSYNC_MAX_READERS) return;
  for (int i = 0; i < s->nslots; i++) s->holders[i] &= ~((uint64_t)1 << reader);
}
