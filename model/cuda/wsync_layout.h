/* wsync_layout.h — the plain-C half of GPU weight sync (model/cuda/wsync.h):
 * the flat bucketed layout of the model's bf16 weights, the header that
 * travels ahead of each broadcast version, and the slot bookkeeping of the
 * one-GPU (CUDA IPC) path. No CUDA here: built and tested on the CPU in the
 * normal suite (tests/gpu/test_wsync_layout.c), with or without RLVR_CUDA.
 *
 * Layout. The tensors of the model's table (model.h) cover byte ranges of a
 * source buffer (the device bf16 copy, offsets = the table's offsets x the
 * element size). Their union, in source order and with overlaps counted once
 * (tied embeddings name one range twice), is concatenated into the flat
 * buffer, which is cut into buckets of bucket_bytes (the last shorter). A
 * bucket is copied from the source by its segments (src, dst, bytes): where
 * source and flat agree (the model's layout is already contiguous) that is
 * one segment per bucket, and `identity` says the flat buffer IS the source,
 * so a broadcast can send the model's buffer in place, a few large calls.
 *
 * The layout's hash (FNV-1a 64 of the element size and every tensor's name,
 * shape, size and offset) is sent in wsync_init and in every header: the two
 * sides refuse to exchange weights unless their models agree tensor for
 * tensor. */
#ifndef RLVR_CUDA_WSYNC_LAYOUT_H
#define RLVR_CUDA_WSYNC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Not core/protocol.h: its rlvr_dtype (safetensors names) would clash with
 * model/cuda/dtype.h's in the CUDA files that include this header. */
#include "model/model.h"

/* ---- the flat bucketed layout ---- */

typedef struct {
  size_t src;   /* byte offset in the source buffer */
  size_t dst;   /* byte offset in the flat buffer */
  size_t bytes;
} rlvr_wsync_segment;

typedef struct {
  size_t offset; /* in the flat buffer */
  size_t bytes;  /* bucket_bytes, the last one less */
  int first_seg, nseg; /* its segments in rlvr_wsync_layout.segs */
} rlvr_wsync_bucket;

typedef struct {
  size_t elem_size;    /* 2 for bf16 */
  size_t bytes;        /* the flat buffer: sum of the distinct tensor bytes */
  size_t src_bytes;    /* the source buffer's extent the tensors reach */
  size_t bucket_bytes; /* a multiple of 256 */
  int nbuckets;
  rlvr_wsync_bucket *buckets; /* (nbuckets) */
  rlvr_wsync_segment *segs;   /* (nsegs) bucket by bucket, in order */
  int nsegs;
  uint64_t hash;
  int identity; /* flat byte i == source byte i for every i < bytes */
} rlvr_wsync_layout;

/* Plans the layout of the n tensors (offsets and numel in elements of
 * elem_size bytes) in buckets of bucket_bytes (a multiple of 256, >= 256).
 * RLVR_ERR_ARG (no tensors, a bad bucket size or element size) with *l
 * zeroed. Owns its arrays: rlvr_wsync_layout_free. */
int rlvr_wsync_layout_build(rlvr_wsync_layout *l, const rlvr_tensor_info *t, int n, size_t elem_size,
                            size_t bucket_bytes);
/* Accepts NULL and a zeroed layout. */
void rlvr_wsync_layout_free(rlvr_wsync_layout *l);

/* The CPU form of pack and unpack (the device forms are in wsync.h, with the
 * same segments): flat (l->bytes) <- src, and dst <- flat. */
void rlvr_wsync_pack_host(const rlvr_wsync_layout *l, void *flat, const void *src);
void rlvr_wsync_unpack_host(const rlvr_wsync_layout *l, void *dst, const void *flat);

/* A worker's check of a wsync_init's layout and bytes against its own
 * layout: RLVR_OK, or RLVR_ERR_MISMATCH naming what differs. */
int rlvr_wsync_check_init(uint64_t layout_hash, uint64_t bytes, const rlvr_wsync_layout *l);

/* ---- the header broadcast ahead of each version ---- */

enum { RLVR_WSYNC_HEADER_BYTES = 64 };

/* Little-endian: "RLVRWSY1", version, layout hash, bytes, bucket_bytes
 * (u64 each), nbuckets (u32), 0 (u32), FNV-1a 64 of bytes 0..47, 0 (u64). */
void rlvr_wsync_header_write(uint8_t out[RLVR_WSYNC_HEADER_BYTES], const rlvr_wsync_layout *l, uint64_t version);
/* Checks a received header: RLVR_ERR_PROTOCOL (not a header: magic or
 * checksum), RLVR_ERR_MISMATCH (another layout, or a version other than
 * want_version), naming the field and both values. */
int rlvr_wsync_header_check(const uint8_t in[RLVR_WSYNC_HEADER_BYTES], const rlvr_wsync_layout *l,
                            uint64_t want_version);

/* ---- CUDA IPC slots: which slot the learner may overwrite ----
 *
 * The learner owns nslots slots of the flat layout in one device
 * allocation that the readers (rollout processes on the same GPU) map. A
 * reader is told "version v is in slot s" (wsync), copies the slot into its
 * own weights and answers wsync_ack{version v}; from the announcement to the
 * ack it may be reading the slot, so the slot is held. The learner writes a
 * version only into a slot that nobody holds (preferring any slot but the
 * newest, which a late reader may be sent), then synchronises its stream,
 * then announces: a reader never sees a half-written slot, and a slot is
 * never written while a reader may copy it. With 2 slots and readers that
 * ack each version before the next step ends this is double buffering; a
 * slow reader makes begin() report RLVR_ERR_NOMEM (all slots held) and the
 * learner waits for acks (or writes the reader off: drop). */

/* RLVR_WSYNC_MAX_SLOTS == RLVR_PROTO_MAX_SLOTS (the test checks). */
enum { RLVR_WSYNC_MAX_SLOTS = 16, RLVR_WSYNC_MAX_READERS = 64 };

typedef struct {
  int nslots;
  int latest;  /* slot of the newest published version, -1 before the first */
  int writing; /* slot between begin and publish, -1 otherwise */
  int used[RLVR_WSYNC_MAX_SLOTS];         /* holds a published version */
  uint64_t version[RLVR_WSYNC_MAX_SLOTS]; /* that version */
  uint64_t holders[RLVR_WSYNC_MAX_SLOTS]; /* bit r: reader r may be reading the slot */
} rlvr_wsync_slots;

/* 1 <= nslots <= RLVR_WSYNC_MAX_SLOTS (a bug otherwise). */
void rlvr_wsync_slots_init(rlvr_wsync_slots *s, int nslots);
/* Picks a slot nobody holds to write the next version into: never used
 * first, then the oldest version, the newest last. RLVR_ERR_NOMEM when every
 * slot is held, with a message listing the slots and their holders. */
int rlvr_wsync_slots_begin(rlvr_wsync_slots *s, int *slot);
/* The slot from begin now holds version (newer than every published one: a
 * bug otherwise), announced to the readers in mask readers, who hold it. */
void rlvr_wsync_slots_publish(rlvr_wsync_slots *s, int slot, uint64_t version, uint64_t readers);
/* Announces the newest version to reader r (a late joiner): *slot and
 * *version. RLVR_ERR_RANGE before the first publish, or while the newest
 * slot is being rewritten (between begin and publish). */
int rlvr_wsync_slots_announce(rlvr_wsync_slots *s, int reader, int *slot, uint64_t *version);
/* Reader r holds version v now and reads no slot: it releases every slot
 * with a version <= v. RLVR_ERR_RANGE (r out of range, or v newer than any
 * published version: the ack comes from outside) with nothing changed. */
int rlvr_wsync_slots_ack(rlvr_wsync_slots *s, int reader, uint64_t version);
/* Reader r is gone: it holds nothing. */
void rlvr_wsync_slots_drop(rlvr_wsync_slots *s, int reader);

#ifdef __cplusplus
}
#endif

#endif
