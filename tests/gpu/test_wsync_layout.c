/* test_wsync_layout.c — the plain-C half of GPU weight sync
 * (model/cuda/wsync_layout.h) on the CPU, in the normal suite: no GPU.
 *
 * Layout: the reference is a byte mask over the source (a byte belongs to
 * the flat buffer iff some tensor covers it; flat = covered bytes in source
 * order), an algorithm independent of the planner's sort-and-merge. On the
 * tiny models' real tensor tables (contiguous: identity, one segment per
 * bucket) and on 300 random tables with gaps, overlaps, tied (repeated)
 * ranges and empty tensors, at random bucket sizes: pack must give the
 * mask's bytes, unpack must restore exactly the covered bytes and leave the
 * rest alone, and every bucket's segments must tile it. Also: the header
 * (every corrupted byte is refused), the layout hash (any change to a name,
 * shape or offset changes it), and the IPC slot bookkeeping in scripted
 * scenarios (double buffering, a slow reader, a dead reader, a late
 * joiner, acks from outside that are out of range). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/protocol.h"
#include "core/rng.h"
#include "model/cuda/wsync_layout.h"
#include "model/model.h"
#include "testing.h"

_Static_assert(RLVR_WSYNC_MAX_SLOTS == RLVR_PROTO_MAX_SLOTS, "slots: the layout and the protocol agree");

static uint64_t xs = 0x243f6a8885a308d3ull;
static uint64_t rnd(void) {
  xs ^= xs << 13, xs ^= xs >> 7, xs ^= xs << 17;
  return xs;
}

/* Checks l against the byte-mask reference for tensors t (elements of es
 * bytes), with pack and unpack on random bytes. Returns failures seen. */
static int check_layout(const rlvr_wsync_layout *l, const rlvr_tensor_info *t, int n, size_t es, const char *what) {
  const int before = test_failures;
  size_t extent = 0;
  for (int i = 0; i < n; i++)
    if (t[i].numel && (t[i].offset + t[i].numel) * es > extent) extent = (t[i].offset + t[i].numel) * es;
  unsigned char *mask = calloc(extent + 1, 1), *src = malloc(extent + 1), *want = malloc(extent + 1);
  for (int i = 0; i < n; i++) memset(mask + t[i].offset * es, 1, t[i].numel * es);
  size_t covered = 0;
  for (size_t b = 0; b < extent; b++) {
    src[b] = (unsigned char)rnd();
    if (mask[b]) want[covered++] = src[b];
  }
  CHECK_MSG(l->bytes == covered, "%s: %zu bytes, mask says %zu", what, l->bytes, covered);
  CHECK_MSG(l->src_bytes == extent, "%s: src_bytes %zu, extent %zu", what, l->src_bytes, extent);
  int ident = 1;
  for (size_t b = 0; b < covered; b++) ident &= mask[b];
  CHECK_MSG(l->identity == ident, "%s: identity %d, mask says %d", what, l->identity, ident);
  /* Buckets tile the flat buffer; each bucket's segments tile the bucket, in
   * order, and read covered source bytes only. */
  CHECK(l->nbuckets == (int)((covered + l->bucket_bytes - 1) / l->bucket_bytes));
  size_t pos = 0;
  for (int k = 0; k < l->nbuckets; k++) {
    const rlvr_wsync_bucket *b = &l->buckets[k];
    CHECK(b->offset == pos && b->bytes > 0 && b->bytes <= l->bucket_bytes);
    CHECK(k == l->nbuckets - 1 || b->bytes == l->bucket_bytes);
    size_t p = b->offset;
    for (int s = b->first_seg; s < b->first_seg + b->nseg; s++) {
      CHECK(l->segs[s].dst == p && l->segs[s].bytes > 0);
      CHECK(l->segs[s].src + l->segs[s].bytes <= extent);
      p += l->segs[s].bytes;
    }
    CHECK_MSG(p == b->offset + b->bytes, "%s: bucket %d segments end at %zu, bucket at %zu", what, k, p,
              b->offset + b->bytes);
    pos += b->bytes;
  }
  CHECK(pos == covered && l->nsegs == (l->nbuckets ? l->buckets[l->nbuckets - 1].first_seg + l->buckets[l->nbuckets - 1].nseg : 0));
  unsigned char *flat = malloc(covered + 1), *back = malloc(extent + 1);
  rlvr_wsync_pack_host(l, flat, src);
  CHECK_MSG(!memcmp(flat, want, covered), "%s: packed bytes differ from the mask's", what);
  memset(back, 0xA5, extent);
  rlvr_wsync_unpack_host(l, back, flat);
  size_t wrong = 0;
  for (size_t b = 0; b < extent; b++) wrong += mask[b] ? back[b] != src[b] : back[b] != 0xA5;
  CHECK_MSG(wrong == 0, "%s: unpack: %zu bytes wrong of %zu", what, wrong, extent);
  free(mask), free(src), free(want), free(flat), free(back);
  return test_failures - before;
}

static rlvr_model_config tiny_cfg(rlvr_arch arch, int tie) {
  rlvr_model_config c = {0};
  c.arch = arch;
  c.vocab_size = 257;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 3;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = arch == RLVR_ARCH_QWEN3 ? 32 : 16;
  c.max_position = 128;
  c.rope_theta = 10000;
  c.rms_eps = 1e-6;
  c.tie_embeddings = tie;
  c.attn_bias = arch == RLVR_ARCH_QWEN2;
  c.qk_norm = arch == RLVR_ARCH_QWEN3;
  c.bos_token_id = -1;
  return c;
}

static void test_model_tables(void) {
  const rlvr_arch archs[3] = {RLVR_ARCH_LLAMA, RLVR_ARCH_QWEN2, RLVR_ARCH_QWEN3};
  for (int a = 0; a < 3; a++)
    for (int tie = 0; tie < 2; tie++) {
      rlvr_model_config c = tiny_cfg(archs[a], tie);
      rlvr_model m;
      rlvr_model_alloc(&m, &c);
      const size_t buckets[3] = {256, 4096, 1 << 20};
      for (int b = 0; b < 3; b++) {
        rlvr_wsync_layout l;
        int rc = rlvr_wsync_layout_build(&l, m.tensors, m.num_tensors, 2, buckets[b]);
        CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
        char what[96];
        snprintf(what, sizeof what, "arch %d tie %d bucket %zu", (int)archs[a], tie, buckets[b]);
        /* The model's layout is contiguous: the flat buffer is its bf16 copy,
         * one segment per bucket, num_params x 2 bytes. */
        CHECK_MSG(l.identity && l.bytes == m.num_params * 2 && l.nsegs == l.nbuckets, "%s: identity %d bytes %zu segs %d",
                  what, l.identity, l.bytes, l.nsegs);
        check_layout(&l, m.tensors, m.num_tensors, 2, what);
        rlvr_wsync_layout_free(&l);
      }
      rlvr_model_free(&m);
    }
  printf("ok   model tables: 3 architectures x tied/untied x 3 bucket sizes\n");
}

static void test_random_tables(void) {
  int bad = 0, nonident = 0;
  for (int it = 0; it < 300; it++) {
    int n = 1 + (int)(rnd() % 12);
    rlvr_tensor_info *t = calloc((size_t)n, sizeof *t);
    size_t cursor = 0;
    for (int i = 0; i < n; i++) {
      snprintf(t[i].name, sizeof t[i].name, "t%d", i);
      t[i].ndim = 1;
      unsigned r = (unsigned)(rnd() % 10);
      if (i > 0 && r == 0) { /* a repeat of an earlier tensor (tied) */
        int j = (int)(rnd() % (uint64_t)i);
        t[i].offset = t[j].offset, t[i].numel = t[j].numel;
      } else if (i > 0 && r == 1) { /* overlapping an earlier one */
        int j = (int)(rnd() % (uint64_t)i);
        t[i].offset = t[j].offset + rnd() % (t[j].numel + 1);
        t[i].numel = rnd() % 700;
      } else {
        if (r == 2) cursor += 1 + rnd() % 300; /* a gap */
        t[i].offset = cursor;
        t[i].numel = r == 3 ? 0 : 1 + rnd() % 1500;
        cursor += t[i].numel;
      }
      t[i].shape[0] = (int64_t)t[i].numel;
    }
    if (rnd() % 4 == 0) { /* shuffled table order */
      for (int i = n - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        rlvr_tensor_info tmp = t[i];
        t[i] = t[j], t[j] = tmp;
      }
    }
    size_t any = 0;
    for (int i = 0; i < n; i++) any += t[i].numel;
    const size_t es = (size_t)1 << (rnd() % 3), bucket = 256 * (1 + rnd() % 12);
    rlvr_wsync_layout l;
    int rc = rlvr_wsync_layout_build(&l, t, n, es, bucket);
    if (!any) {
      CHECK(rc == RLVR_ERR_ARG && l.buckets == NULL);
    } else {
      CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
      char what[64];
      snprintf(what, sizeof what, "random table %d", it);
      if (rc == RLVR_OK) bad += check_layout(&l, t, n, es, what) != 0, nonident += !l.identity;
    }
    rlvr_wsync_layout_free(&l);
    free(t);
  }
  CHECK(nonident > 100); /* the cases with gaps were exercised */
  printf("ok   random tables: 300 (%d with gaps), %d failed against the byte mask\n", nonident, bad);
}

static void test_args_and_hash(void) {
  rlvr_model_config c = tiny_cfg(RLVR_ARCH_QWEN2, 1);
  rlvr_model m;
  rlvr_model_alloc(&m, &c);
  rlvr_wsync_layout l, l2;
  CHECK(rlvr_wsync_layout_build(&l, m.tensors, m.num_tensors, 2, 1000) == RLVR_ERR_ARG && l.segs == NULL);
  CHECK(rlvr_wsync_layout_build(&l, m.tensors, m.num_tensors, 2, 0) == RLVR_ERR_ARG);
  CHECK(rlvr_wsync_layout_build(&l, m.tensors, m.num_tensors, 3, 256) == RLVR_ERR_ARG);
  CHECK(rlvr_wsync_layout_build(&l, m.tensors, 0, 2, 256) == RLVR_ERR_ARG);
  rlvr_wsync_layout_free(NULL);
  CHECK(rlvr_wsync_layout_build(&l, m.tensors, m.num_tensors, 2, 4096) == RLVR_OK);
  CHECK(rlvr_wsync_layout_build(&l2, m.tensors, m.num_tensors, 2, 256) == RLVR_OK);
  CHECK(l.hash == l2.hash); /* the bucket size is not part of the model's layout */
  rlvr_wsync_layout_free(&l2);
  /* Any change to the table changes the hash. */
  rlvr_tensor_info *t = malloc((size_t)m.num_tensors * sizeof *t);
  int changed = 0;
  for (int k = 0; k < 4; k++) {
    memcpy(t, m.tensors, (size_t)m.num_tensors * sizeof *t);
    const int i = 3;
    if (k == 0) t[i].name[5] ^= 1;
    if (k == 1) t[i].shape[0] += 1;
    if (k == 2) t[i].offset += 1;
    if (k == 3) t[i].ndim = 3 - t[i].ndim;
    CHECK(rlvr_wsync_layout_build(&l2, t, m.num_tensors, 2, 4096) == RLVR_OK);
    changed += l2.hash != l.hash;
    rlvr_wsync_layout_free(&l2);
  }
  CHECK(rlvr_wsync_layout_build(&l2, m.tensors, m.num_tensors, 4, 4096) == RLVR_OK);
  changed += l2.hash != l.hash;
  rlvr_wsync_layout_free(&l2);
  CHECK_MSG(changed == 5, "%d of 5 changes moved the hash", changed);
  /* The worker's check of wsync_init. */
  CHECK(rlvr_wsync_check_init(l.hash, l.bytes, &l) == RLVR_OK);
  CHECK(rlvr_wsync_check_init(l.hash ^ 1, l.bytes, &l) == RLVR_ERR_MISMATCH &&
        strstr(rlvr_error_message(), "layout"));
  CHECK(rlvr_wsync_check_init(l.hash, l.bytes + 2, &l) == RLVR_ERR_MISMATCH && strstr(rlvr_error_message(), "bytes"));

  /* The header: a round trip, then every single corrupted byte refused. */
  uint8_t h[RLVR_WSYNC_HEADER_BYTES];
  rlvr_wsync_header_write(h, &l, 41);
  CHECK(!memcmp(h, "RLVRWSY1", 8) && h[8] == 41 && h[9] == 0);
  CHECK(rlvr_wsync_header_check(h, &l, 41) == RLVR_OK);
  CHECK(rlvr_wsync_header_check(h, &l, 42) == RLVR_ERR_MISMATCH && strstr(rlvr_error_message(), "version 41"));
  int refused = 0;
  for (int b = 0; b < RLVR_WSYNC_HEADER_BYTES; b++)
    for (int bit = 0; bit < 8; bit++) {
      h[b] ^= (uint8_t)(1 << bit);
      refused += rlvr_wsync_header_check(h, &l, 41) != RLVR_OK;
      h[b] ^= (uint8_t)(1 << bit);
    }
  CHECK_MSG(refused == 8 * RLVR_WSYNC_HEADER_BYTES, "%d of %d bit flips refused", refused, 8 * RLVR_WSYNC_HEADER_BYTES);
  /* Another model's header (valid, other layout) is a mismatch. */
  CHECK(rlvr_wsync_layout_build(&l2, m.tensors, m.num_tensors - 1, 2, 4096) == RLVR_OK);
  rlvr_wsync_header_write(h, &l2, 41);
  CHECK(rlvr_wsync_header_check(h, &l, 41) == RLVR_ERR_MISMATCH && strstr(rlvr_error_message(), "layout"));
  rlvr_wsync_layout_free(&l2);
  rlvr_wsync_layout_free(&l);
  free(t);
  rlvr_model_free(&m);
  printf("ok   arguments, layout hash (5 of 5 changes seen), wsync_init check, header (%d bit flips refused)\n", refused);
}

static void test_slots(void) {
  rlvr_wsync_slots s;
  int slot = -1, slot2;
  uint64_t v;
  /* Double buffering: one reader that acks every version. */
  rlvr_wsync_slots_init(&s, 2);
  CHECK(rlvr_wsync_slots_announce(&s, 0, &slot, &v) == RLVR_ERR_RANGE);
  CHECK(rlvr_wsync_slots_ack(&s, 0, 0) == RLVR_ERR_RANGE); /* nothing published */
  int seq[6];
  for (int k = 0; k < 6; k++) {
    CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK);
    seq[k] = slot;
    rlvr_wsync_slots_publish(&s, slot, (uint64_t)k + 1, 1);
    CHECK(rlvr_wsync_slots_ack(&s, 0, (uint64_t)k + 1) == RLVR_OK);
  }
  CHECK(seq[0] == 0 && seq[1] == 1 && seq[2] == 0 && seq[3] == 1 && seq[4] == 0 && seq[5] == 1);
  /* A slow reader (1) holds version 6 (slot 1), reader 0 acked it; the
   * learner writes 7 into slot 0, then finds no free slot for 8. */
  s.holders[1] |= 2;
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK && slot == 0);
  rlvr_wsync_slots_publish(&s, slot, 7, 3);
  CHECK(rlvr_wsync_slots_begin(&s, &slot2) == RLVR_ERR_NOMEM && strstr(rlvr_error_message(), "no free slot"));
  /* An ack from outside for a version never published changes nothing. */
  CHECK(rlvr_wsync_slots_ack(&s, 1, 8) == RLVR_ERR_RANGE && s.holders[1] == 2);
  CHECK(rlvr_wsync_slots_ack(&s, 64, 7) == RLVR_ERR_RANGE && rlvr_wsync_slots_ack(&s, -1, 7) == RLVR_ERR_RANGE);
  /* Reader 1 acks version 7: it has copied 7 and releases 6 and 7. */
  CHECK(rlvr_wsync_slots_ack(&s, 1, 7) == RLVR_OK && s.holders[1] == 0 && s.holders[0] == 1);
  CHECK(rlvr_wsync_slots_begin(&s, &slot2) == RLVR_OK && slot2 == 1);
  rlvr_wsync_slots_publish(&s, slot2, 8, 1);
  /* A late joiner (reader 5) is announced the newest, 8, and holds its slot. */
  CHECK(rlvr_wsync_slots_announce(&s, 5, &slot, &v) == RLVR_OK && slot == 1 && v == 8 && (s.holders[1] >> 5 & 1));
  /* Reader 0 never acks 7 nor 8 and dies: dropping it frees slot 0 only
   * (slot 1 is the newest and reader 5 still holds it). */
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_ERR_NOMEM);
  rlvr_wsync_slots_drop(&s, 0);
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK && slot == 0);
  rlvr_wsync_slots_publish(&s, slot, 9, 0);
  /* Three slots: a reader one version behind does not stop the writer. */
  rlvr_wsync_slots_init(&s, 3);
  for (int k = 0; k < 9; k++) {
    CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK);
    rlvr_wsync_slots_publish(&s, slot, (uint64_t)k + 1, 1);
    if (k > 0) CHECK(rlvr_wsync_slots_ack(&s, 0, (uint64_t)k) == RLVR_OK); /* acks the previous one */
  }
  /* One slot: the writer waits for every ack, then rewrites it in place; a
   * reader joining meanwhile is refused until the publish. */
  rlvr_wsync_slots_init(&s, 1);
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK && slot == 0);
  rlvr_wsync_slots_publish(&s, 0, 1, 1);
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_ERR_NOMEM);
  CHECK(rlvr_wsync_slots_ack(&s, 0, 1) == RLVR_OK);
  CHECK(rlvr_wsync_slots_begin(&s, &slot) == RLVR_OK && slot == 0);
  CHECK(rlvr_wsync_slots_announce(&s, 3, &slot2, &v) == RLVR_ERR_RANGE && s.holders[0] == 0);
  rlvr_wsync_slots_publish(&s, 0, 2, 0);
  CHECK(rlvr_wsync_slots_announce(&s, 3, &slot2, &v) == RLVR_OK && slot2 == 0 && v == 2);
  printf("ok   slots: double buffering, a slow reader, a late joiner, a dead reader, 3 slots, 1 slot\n");
}

int main(void) {
  test_model_tables();
  test_random_tables();
  test_args_and_hash();
  test_slots();
  return test_done();
}
