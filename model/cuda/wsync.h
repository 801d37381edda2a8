/* wsync.h — GPU weight sync: after each optimizer step the learner's bf16
 * weights reach the rollout processes without passing through the host.
 * Callable from C. The plain-C half (the flat bucketed layout, the header,
 * the IPC slot bookkeeping) is wsync_layout.h; the messages that set it up
 * are wsync_init / wsync / wsync_ack (docs/protocol.md).
 *
 * Two paths:
 *
 *   NCCL (rollout on other GPUs). The learner is rank 0: it makes an NCCL
 *   unique id, sends it with each worker's rank in a wsync_init over the
 *   ZeroMQ work channel, and every rank joins with rlvr_wsync_nccl_join
 *   (non-blocking init, polled, aborted at the timeout). Per version the
 *   learner sends wsync{version} to each worker and all ranks call
 *   rlvr_wsync_nccl_broadcast: one NCCL group of a 64-byte header (magic,
 *   version, layout hash, sizes) and the layout's buckets, each one
 *   ncclBroadcast of up to bucket_bytes, in place on the flat buffer (the
 *   model's bf16 copy itself when layout->identity). The call waits for the
 *   transfer polling the stream and ncclCommGetAsyncError; past the timeout
 *   it aborts the communicator and returns RLVR_ERR_TIMEOUT naming the
 *   peers, so a dead peer is an error, never a hang. A receiver then checks
 *   the header (RLVR_ERR_MISMATCH if the version or layout is not the one
 *   announced).
 *
 *   CUDA IPC (learner and rollout on one GPU). The learner owns nslots slots
 *   of the flat layout in one cudaMalloc and sends its cudaIpcMemHandle and
 *   the GPU's UUID in a wsync_init; the reader maps it (cudaIpcOpenMemHandle,
 *   refused unless the reader runs on that GPU). Per version the learner
 *   takes a free slot (rlvr_wsync_slots_begin), packs the weights into it
 *   and synchronises its stream (rlvr_wsync_ipc_write), and only then sends
 *   wsync{version, slot}; the reader copies the slot into its own weights
 *   (rlvr_wsync_ipc_read, which waits) and answers wsync_ack{version}. The
 *   writer never touches a slot between its announcement and the ack, so the
 *   reader never sees a half-written version (wsync_layout.h, "slots").
 *
 * Errors: what comes from outside (an id, handle, rank or slot from a
 * message, a peer that dies or lies) is RLVR_ERR_*; CUDA errors of our own
 * calls abort (CUDA_CHECK). A communicator that timed out or failed is
 * aborted and every later call on it returns RLVR_ERR_IO: build a new one.
 * Built without NCCL (no nccl.h found), the NCCL calls return
 * RLVR_ERR_UNSUPPORTED.
 *
 * Status: compiled, never run (no GPU yet; docs/cuda.md). NCCL with two
 * ranks needs two GPUs: the one-GPU check runs NCCL with one rank and the
 * join timeout with a peer that never comes. */
#ifndef RLVR_CUDA_WSYNC_H
#define RLVR_CUDA_WSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "model/cuda/runtime.h"
#include "model/cuda/wsync_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes on the wire (= RLVR_PROTO_NCCL_ID_BYTES, _IPC_HANDLE_BYTES,
 * _UUID_BYTES; wsync.cu checks them against NCCL's and CUDA's types). */
enum { RLVR_WSYNC_ID_BYTES = 128, RLVR_WSYNC_HANDLE_BYTES = 64, RLVR_WSYNC_UUID_BYTES = 16 };

/* 1 when built with NCCL. */
int rlvr_wsync_have_nccl(void);
/* The UUID of a CUDA device (cudaDeviceProp.uuid). */
void rlvr_wsync_device_uuid(int device, uint8_t uuid[RLVR_WSYNC_UUID_BYTES]);

/* ---- pack and unpack on the device (the segments of wsync_layout.h) ---- */

/* flat (l->bytes) <- src; asynchronous on s. */
void rlvr_wsync_pack(const rlvr_wsync_layout *l, void *flat, const void *src, cudaStream_t s);
/* dst <- flat; asynchronous on s. Bytes of dst no tensor covers are left alone. */
void rlvr_wsync_unpack(const rlvr_wsync_layout *l, void *dst, const void *flat, cudaStream_t s);

/* ---- NCCL ---- */

typedef struct {
  rlvr_cuda_context *ctx;           /* not owned; collectives run on ctx->stream */
  const rlvr_wsync_layout *layout;  /* not owned */
  void *comm;                       /* ncclComm_t, NULL when not joined or aborted */
  int rank, nranks;
  int timeout_ms;
  uint8_t *header;                  /* device, RLVR_WSYNC_HEADER_BYTES */
  cudaEvent_t done;                 /* recorded after each broadcast */
  char peers[256];                  /* who the other ranks are, for messages */
  int broken;                       /* aborted after a timeout or an error */
} rlvr_wsync_nccl;

/* Rank 0 makes the id that the others join with (it also hosts NCCL's
 * bootstrap: call it in the learner). RLVR_ERR_UNSUPPORTED without NCCL,
 * RLVR_ERR_IO if NCCL fails. */
int rlvr_wsync_nccl_unique_id(uint8_t id[RLVR_WSYNC_ID_BYTES]);

/* Joins communicator id as rank of nranks on ctx's device, waiting up to
 * timeout_ms for every rank. peers names the others in messages ("rollout
 * workers w0 (rank 1), w1 (rank 2)", or "the learner (rank 0)").
 * RLVR_ERR_ARG (rank out of range, timeout <= 0), RLVR_ERR_TIMEOUT (not all
 * ranks came in time: aborted), RLVR_ERR_IO (NCCL failed), RLVR_ERR_UNSUPPORTED;
 * on error w is zeroed and nothing is left to free. */
int rlvr_wsync_nccl_join(rlvr_wsync_nccl *w, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l,
                         const uint8_t id[RLVR_WSYNC_ID_BYTES], int rank, int nranks, int timeout_ms,
                         const char *peers);

/* Broadcasts version from rank 0's flat buffer (device, l->bytes) into every
 * other rank's, in place, and waits for it (the stream's earlier work, e.g.
 * the optimizer step that wrote the bf16 copy, comes first). Receivers check
 * the header against version (the one wsync announced). RLVR_ERR_TIMEOUT
 * (aborted), RLVR_ERR_IO (NCCL error, or the communicator was aborted
 * before), RLVR_ERR_MISMATCH / RLVR_ERR_PROTOCOL (a receiver got another
 * version or layout: its buffer holds what came, do not use it). */
int rlvr_wsync_nccl_broadcast(rlvr_wsync_nccl *w, void *flat, uint64_t version);

/* Destroys the communicator (or aborts it if broken). Accepts NULL and a
 * zeroed or failed w. */
void rlvr_wsync_nccl_free(rlvr_wsync_nccl *w);
/* Leaves at once: ncclCommAbort (never waits for peers, unlike destroy,
 * which may wait for ranks that are gone), then frees as _free. For a
 * communicator given up because the set of ranks changes. Accepts NULL and
 * a zeroed or failed w. */
void rlvr_wsync_nccl_abort(rlvr_wsync_nccl *w);

/* ---- CUDA IPC on one GPU ---- */

typedef struct {
  rlvr_cuda_context *ctx;          /* not owned */
  const rlvr_wsync_layout *layout; /* not owned */
  int nslots;
  size_t slot_bytes; /* l->bytes rounded up to 256 */
  char *base;        /* device: nslots * slot_bytes (owned, or mapped) */
  int owner;         /* 1: allocated here (learner), 0: mapped from a handle (reader) */
} rlvr_wsync_ipc;

/* Learner: nslots (1 .. RLVR_WSYNC_MAX_SLOTS) slots of l on ctx's device. */
void rlvr_wsync_ipc_build(rlvr_wsync_ipc *x, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l, int nslots);
/* The handle a reader maps (to send in wsync_init). */
void rlvr_wsync_ipc_handle(const rlvr_wsync_ipc *x, uint8_t handle[RLVR_WSYNC_HANDLE_BYTES]);
/* Learner: packs src (the model's bf16 copy, device) into slot and waits
 * until the bytes are in device memory; then the slot may be announced. */
void rlvr_wsync_ipc_write(rlvr_wsync_ipc *x, int slot, const void *src);

/* Reader: maps the learner's slots from a wsync_init's fields. RLVR_ERR_MISMATCH
 * (another GPU than device_uuid, slot_bytes too small for l), RLVR_ERR_RANGE
 * (nslots), RLVR_ERR_IO (CUDA refused the handle, e.g. from this same
 * process or a dead learner); on error x is zeroed. */
int rlvr_wsync_ipc_open(rlvr_wsync_ipc *x, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l,
                        const uint8_t handle[RLVR_WSYNC_HANDLE_BYTES], const uint8_t device_uuid[RLVR_WSYNC_UUID_BYTES],
                        int nslots, size_t slot_bytes);
/* Reader: dst (device, the model's bf16 copy) <- slot, and waits, so the
 * slot may be released (wsync_ack) on return. RLVR_ERR_RANGE for a slot out
 * of range (it came in a message). */
int rlvr_wsync_ipc_read(rlvr_wsync_ipc *x, int slot, void *dst);
/* The slot's device address (zero-copy reads; hold the slot meanwhile). */
void *rlvr_wsync_ipc_slot(const rlvr_wsync_ipc *x, int slot);

/* Frees (learner) or unmaps (reader). Accepts NULL and a zeroed x. */
void rlvr_wsync_ipc_free(rlvr_wsync_ipc *x);

#ifdef __cplusplus
}
#endif

#endif
