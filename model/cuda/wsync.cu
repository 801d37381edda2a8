/* wsync.cu — GPU weight sync (wsync.h): device pack/unpack, the NCCL
 * broadcast with its bootstrap and timeouts, and the CUDA IPC slots.
 * No kernels: copies, NCCL collectives and CUDA IPC only.
 *
 * Timeouts: NCCL runs in non-blocking mode (ncclConfig_t.blocking = 0), so
 * neither the init nor a collective can trap the host; we poll
 * ncclCommGetAsyncError (init, enqueue) and cudaEventQuery (the transfer)
 * every 200 us, and past the deadline call ncclCommAbort, which also stops
 * the kernels still waiting for a peer. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern "C" {
#include "core/check.h"
#include "core/error.h"
}
#include "model/cuda/cuda_common.h"
#include "model/cuda/wsync.h"

#ifdef RLVR_HAVE_NCCL
#include <nccl.h>
static_assert(sizeof(ncclUniqueId) == RLVR_WSYNC_ID_BYTES, "ncclUniqueId is 128 bytes on the wire");
#endif
static_assert(sizeof(cudaIpcMemHandle_t) == RLVR_WSYNC_HANDLE_BYTES, "cudaIpcMemHandle_t is 64 bytes on the wire");
static_assert(sizeof(cudaUUID_t) == RLVR_WSYNC_UUID_BYTES, "cudaUUID_t is 16 bytes on the wire");

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

extern "C" int rlvr_wsync_have_nccl(void) {
#ifdef RLVR_HAVE_NCCL
  return 1;
#else
  return 0;
#endif
}

extern "C" void rlvr_wsync_device_uuid(int device, uint8_t uuid[RLVR_WSYNC_UUID_BYTES]) {
  cudaDeviceProp p;
  CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  memcpy(uuid, &p.uuid, RLVR_WSYNC_UUID_BYTES);
}

/* ---- pack / unpack ---- */

extern "C" void rlvr_wsync_pack(const rlvr_wsync_layout *l, void *flat, const void *src, cudaStream_t s) {
  for (int i = 0; i < l->nsegs; i++) {
    const rlvr_wsync_segment *g = &l->segs[i];
    CUDA_CHECK(cudaMemcpyAsync((char *)flat + g->dst, (const char *)src + g->src, g->bytes, cudaMemcpyDeviceToDevice, s));
  }
}

extern "C" void rlvr_wsync_unpack(const rlvr_wsync_layout *l, void *dst, const void *flat, cudaStream_t s) {
  for (int i = 0; i < l->nsegs; i++) {
    const rlvr_wsync_segment *g = &l->segs[i];
    CUDA_CHECK(cudaMemcpyAsync((char *)dst + g->src, (const char *)flat + g->dst, g->bytes, cudaMemcpyDeviceToDevice, s));
  }
}

/* ---- NCCL ---- */

extern "C" int rlvr_wsync_nccl_unique_id(uint8_t id[RLVR_WSYNC_ID_BYTES]) {
#ifdef RLVR_HAVE_NCCL
  ncclUniqueId u;
  ncclResult_t r = ncclGetUniqueId(&u);
  if (r != ncclSuccess) return rlvr_error(RLVR_ERR_IO, "weight sync: ncclGetUniqueId: %s", ncclGetErrorString(r));
  memcpy(id, &u, RLVR_WSYNC_ID_BYTES);
  return RLVR_OK;
#else
  (void)id;
  return rlvr_error(RLVR_ERR_UNSUPPORTED, "weight sync: this build has no NCCL (nccl.h was not found)");
#endif
}

#ifdef RLVR_HAVE_NCCL
/* Waits while the communicator reports ncclInProgress (a non-blocking init
 * or enqueue), up to deadline; returns its final state, or ncclInProgress at
 * the deadline. */
static ncclResult_t wait_comm(ncclComm_t comm, ncclResult_t r, double deadline) {
  while (r == ncclInProgress) {
    if (now_ms() > deadline) return ncclInProgress;
    usleep(200);
    ncclResult_t q = ncclSuccess;
    ncclResult_t g = ncclCommGetAsyncError(comm, &q);
    r = g != ncclSuccess ? g : q;
  }
  return r;
}

/* Aborts w's communicator (if any), marks w broken, and returns code with the message. */
static int nccl_fail(rlvr_wsync_nccl *w, int code, const char *what, ncclResult_t r) {
  const char *last = w->comm ? ncclGetLastError((ncclComm_t)w->comm) : "";
  if (w->comm) ncclCommAbort((ncclComm_t)w->comm);
  w->comm = NULL;
  w->broken = 1;
  if (code == RLVR_ERR_TIMEOUT)
    return rlvr_error(code, "weight sync (NCCL rank %d of %d): %s: nothing from %s within %d ms; communicator aborted",
                      w->rank, w->nranks, what, w->peers, w->timeout_ms);
  return rlvr_error(code, "weight sync (NCCL rank %d of %d, peers %s): %s: %s%s%s; communicator aborted", w->rank,
                    w->nranks, w->peers, what, ncclGetErrorString(r), last && *last ? ": " : "", last ? last : "");
}
#endif

extern "C" int rlvr_wsync_nccl_join(rlvr_wsync_nccl *w, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l,
                                    const uint8_t id[RLVR_WSYNC_ID_BYTES], int rank, int nranks, int timeout_ms,
                                    const char *peers) {
  memset(w, 0, sizeof *w);
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return rlvr_error(RLVR_ERR_ARG, "weight sync: rank %d of %d", rank, nranks);
  if (timeout_ms <= 0) return rlvr_error(RLVR_ERR_ARG, "weight sync: timeout %d ms", timeout_ms);
#ifdef RLVR_HAVE_NCCL
  w->ctx = ctx;
  w->layout = l;
  w->rank = rank;
  w->nranks = nranks;
  w->timeout_ms = timeout_ms;
  snprintf(w->peers, sizeof w->peers, "%s", peers && *peers ? peers : "the other ranks");
  CUDA_CHECK(cudaSetDevice(ctx->device));
  ncclUniqueId u;
  memcpy(&u, id, sizeof u);
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  ncclComm_t comm = NULL;
  const double deadline = now_ms() + timeout_ms;
  ncclResult_t r = ncclCommInitRankConfig(&comm, nranks, u, rank, &cfg);
  w->comm = comm;
  if (comm) r = wait_comm(comm, r, deadline);
  if (r != ncclSuccess) {
    int code = r == ncclInProgress ? RLVR_ERR_TIMEOUT : RLVR_ERR_IO;
    nccl_fail(w, code, "joining the communicator", r);
    memset(w, 0, sizeof *w); /* nothing to free: the message stays */
    return code;
  }
  CUDA_CHECK(cudaMalloc(&w->header, RLVR_WSYNC_HEADER_BYTES));
  CUDA_CHECK(cudaEventCreateWithFlags(&w->done, cudaEventDisableTiming));
  return RLVR_OK;
#else
  (void)ctx, (void)l, (void)id, (void)peers;
  return rlvr_error(RLVR_ERR_UNSUPPORTED, "weight sync: this build has no NCCL (nccl.h was not found)");
#endif
}

extern "C" int rlvr_wsync_nccl_broadcast(rlvr_wsync_nccl *w, void *flat, uint64_t version) {
#ifdef RLVR_HAVE_NCCL
  if (w->broken || !w->comm)
    return rlvr_error(RLVR_ERR_IO, "weight sync (NCCL rank %d): the communicator was aborted; join again", w->rank);
  const rlvr_wsync_layout *l = w->layout;
  cudaStream_t s = w->ctx->stream;
  ncclComm_t comm = (ncclComm_t)w->comm;
  char what[96];
  snprintf(what, sizeof what, "broadcast of version %llu", (unsigned long long)version);
  uint8_t h[RLVR_WSYNC_HEADER_BYTES];
  if (w->rank == 0) {
    rlvr_wsync_header_write(h, l, version);
    CUDA_CHECK(cudaMemcpyAsync(w->header, h, sizeof h, cudaMemcpyHostToDevice, s)); /* pageable: staged on return */
  } else {
    CUDA_CHECK(cudaMemsetAsync(w->header, 0, sizeof h, s)); /* a header that never came fails the check */
  }
  const double deadline = now_ms() + w->timeout_ms;
  /* One group: the header, then every bucket; NCCL enqueues them as one
   * launch. In non-blocking mode each call may answer ncclInProgress. */
  ncclResult_t r = ncclGroupStart();
  if (r == ncclSuccess) r = ncclBroadcast(w->header, w->header, RLVR_WSYNC_HEADER_BYTES, ncclUint8, 0, comm, s);
  for (int k = 0; k < l->nbuckets && (r == ncclSuccess || r == ncclInProgress); k++) {
    char *p = (char *)flat + l->buckets[k].offset;
    r = ncclBroadcast(p, p, l->buckets[k].bytes, ncclUint8, 0, comm, s);
  }
  ncclResult_t e = ncclGroupEnd();
  if (r == ncclSuccess || r == ncclInProgress) r = e;
  r = wait_comm(comm, r, deadline);
  if (r == ncclInProgress) return nccl_fail(w, RLVR_ERR_TIMEOUT, what, r);
  if (r != ncclSuccess) return nccl_fail(w, RLVR_ERR_IO, what, r);
  CUDA_CHECK(cudaEventRecord(w->done, s));
  /* The transfer: poll the event and the communicator's errors (a peer that
   * dies mid-transfer surfaces as an async error, or as no progress). */
  for (;;) {
    cudaError_t q = cudaEventQuery(w->done);
    if (q == cudaSuccess) break;
    if (q != cudaErrorNotReady) CUDA_CHECK(q);
    ncclResult_t a = ncclSuccess;
    ncclCommGetAsyncError(comm, &a);
    if (a != ncclSuccess && a != ncclInProgress) return nccl_fail(w, RLVR_ERR_IO, what, a);
    if (now_ms() > deadline) return nccl_fail(w, RLVR_ERR_TIMEOUT, what, ncclInProgress);
    usleep(200);
  }
  { /* done, but a peer may have failed it (the emulation's synchronous
     * streams finish the event whatever happened) */
    ncclResult_t a = ncclSuccess;
    ncclCommGetAsyncError(comm, &a);
    if (a != ncclSuccess && a != ncclInProgress) return nccl_fail(w, RLVR_ERR_IO, what, a);
  }
  if (w->rank != 0) {
    CUDA_CHECK(cudaMemcpyAsync(h, w->header, sizeof h, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    int rc = rlvr_wsync_header_check(h, l, version);
    if (rc) return rlvr_error_wrap(rc, "weight sync (NCCL rank %d): %s from rank 0", w->rank, what);
  }
  return RLVR_OK;
#else
  (void)w, (void)flat, (void)version;
  return rlvr_error(RLVR_ERR_UNSUPPORTED, "weight sync: this build has no NCCL (nccl.h was not found)");
#endif
}

extern "C" void rlvr_wsync_nccl_free(rlvr_wsync_nccl *w) {
  if (!w) return;
#ifdef RLVR_HAVE_NCCL
  if (w->comm) {
    /* Destroy waits for outstanding work with peers; a healthy communicator
     * finishes at once, a broken one was aborted already (comm NULL). */
    ncclCommDestroy((ncclComm_t)w->comm);
  }
#endif
  if (w->header) CUDA_CHECK(cudaFree(w->header));
  if (w->done) CUDA_CHECK(cudaEventDestroy(w->done));
  memset(w, 0, sizeof *w);
}

extern "C" void rlvr_wsync_nccl_abort(rlvr_wsync_nccl *w) {
  if (!w) return;
#ifdef RLVR_HAVE_NCCL
  if (w->comm) ncclCommAbort((ncclComm_t)w->comm);
#endif
  w->comm = NULL;
  rlvr_wsync_nccl_free(w);
}

/* ---- CUDA IPC ---- */

static size_t round256(size_t n) { return (n + 255) / 256 * 256; }

extern "C" void rlvr_wsync_ipc_build(rlvr_wsync_ipc *x, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l, int nslots) {
  RLVR_CHECK(nslots >= 1 && nslots <= RLVR_WSYNC_MAX_SLOTS, "%d slots", nslots);
  memset(x, 0, sizeof *x);
  x->ctx = ctx;
  x->layout = l;
  x->nslots = nslots;
  x->slot_bytes = round256(l->bytes);
  x->owner = 1;
  CUDA_CHECK(cudaSetDevice(ctx->device));
  /* Its own allocation: a handle names a whole allocation, so an arena's
   * sub-buffer would not do. */
  CUDA_CHECK(cudaMalloc(&x->base, (size_t)nslots * x->slot_bytes));
}

extern "C" void rlvr_wsync_ipc_handle(const rlvr_wsync_ipc *x, uint8_t handle[RLVR_WSYNC_HANDLE_BYTES]) {
  RLVR_CHECK(x->owner && x->base);
  cudaIpcMemHandle_t h;
  CUDA_CHECK(cudaIpcGetMemHandle(&h, x->base));
  memcpy(handle, &h, RLVR_WSYNC_HANDLE_BYTES);
}

extern "C" void rlvr_wsync_ipc_write(rlvr_wsync_ipc *x, int slot, const void *src) {
  RLVR_CHECK(x->owner && slot >= 0 && slot < x->nslots, "slot %d of %d", slot, x->nslots);
  rlvr_wsync_pack(x->layout, x->base + (size_t)slot * x->slot_bytes, src, x->ctx->stream);
  /* Complete in device memory before the caller announces the slot: the
   * reader's copies start after the announcement reaches it. */
  CUDA_CHECK(cudaStreamSynchronize(x->ctx->stream));
}

extern "C" int rlvr_wsync_ipc_open(rlvr_wsync_ipc *x, rlvr_cuda_context *ctx, const rlvr_wsync_layout *l,
                                   const uint8_t handle[RLVR_WSYNC_HANDLE_BYTES],
                                   const uint8_t device_uuid[RLVR_WSYNC_UUID_BYTES], int nslots, size_t slot_bytes) {
  memset(x, 0, sizeof *x);
  if (nslots < 1 || nslots > RLVR_WSYNC_MAX_SLOTS)
    return rlvr_error(RLVR_ERR_RANGE, "weight sync (CUDA IPC): %d slots, allowed 1..%d", nslots, RLVR_WSYNC_MAX_SLOTS);
  if (slot_bytes < l->bytes || slot_bytes % 256)
    return rlvr_error(RLVR_ERR_MISMATCH, "weight sync (CUDA IPC): slots of %zu bytes for a layout of %zu", slot_bytes,
                      l->bytes);
  uint8_t mine[RLVR_WSYNC_UUID_BYTES];
  rlvr_wsync_device_uuid(ctx->device, mine);
  if (memcmp(mine, device_uuid, RLVR_WSYNC_UUID_BYTES))
    return rlvr_error(RLVR_ERR_MISMATCH,
                      "weight sync (CUDA IPC): the learner's slots are on another GPU than this process's device %d",
                      ctx->device);
  CUDA_CHECK(cudaSetDevice(ctx->device));
  cudaIpcMemHandle_t h;
  memcpy(&h, handle, sizeof h);
  void *p = NULL;
  cudaError_t e = cudaIpcOpenMemHandle(&p, h, cudaIpcMemLazyEnablePeerAccess);
  if (e != cudaSuccess) {
    cudaGetLastError(); /* not sticky: clear it */
    return rlvr_error(RLVR_ERR_IO, "weight sync (CUDA IPC): cudaIpcOpenMemHandle: %s", cudaGetErrorString(e));
  }
  x->ctx = ctx;
  x->layout = l;
  x->nslots = nslots;
  x->slot_bytes = slot_bytes;
  x->base = (char *)p;
  x->owner = 0;
  return RLVR_OK;
}

extern "C" int rlvr_wsync_ipc_read(rlvr_wsync_ipc *x, int slot, void *dst) {
  if (slot < 0 || slot >= x->nslots)
    return rlvr_error(RLVR_ERR_RANGE, "weight sync (CUDA IPC): slot %d, the learner has %d", slot, x->nslots);
  rlvr_wsync_unpack(x->layout, dst, x->base + (size_t)slot * x->slot_bytes, x->ctx->stream);
  CUDA_CHECK(cudaStreamSynchronize(x->ctx->stream));
  return RLVR_OK;
}

extern "C" void *rlvr_wsync_ipc_slot(const rlvr_wsync_ipc *x, int slot) {
  RLVR_CHECK(slot >= 0 && slot < x->nslots, "slot %d of %d", slot, x->nslots);
  return x->base + (size_t)slot * x->slot_bytes;
}

extern "C" void rlvr_wsync_ipc_free(rlvr_wsync_ipc *x) {
  if (!x) return;
  if (x->base) {
    if (x->owner) CUDA_CHECK(cudaFree(x->base));
    else CUDA_CHECK(cudaIpcCloseMemHandle(x->base));
  }
  memset(x, 0, sizeof *x);
}
