/* wsync_hub.c — GPU weight sync, the learner's bookkeeping; see
 * wsync_hub.h. Plain C: the device calls are learn_gpu.h's. */
#include "learner/wsync_hub.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "core/transport.h"
#include "learner/learn_gpu.h"
#include "model/cuda/wsync_layout.h"

_Static_assert(RLVR_LEARN_WSYNC_ID_BYTES == RLVR_PROTO_NCCL_ID_BYTES, "NCCL id size");
_Static_assert(RLVR_LEARN_WSYNC_HANDLE_BYTES == RLVR_PROTO_IPC_HANDLE_BYTES, "IPC handle size");
_Static_assert(RLVR_LEARN_WSYNC_UUID_BYTES == RLVR_PROTO_UUID_BYTES, "UUID size");
_Static_assert((int)RLVR_WSYNC_MAX_SLOTS == (int)RLVR_PROTO_MAX_SLOTS, "slots");

enum {
  SETTLE_MS = 300,      /* arrivals this close together join one communicator */
  MAX_JOIN_FAILS = 3,   /* joins failing in a row (every worker answering) that stop the run */
  IPC_SLOTS = 2,        /* double buffering */
};

typedef struct {
  char id[RLVR_PROTO_MAX_NAME + 1];
  int gone;            /* written off: removed at the next compaction */
  int refused;         /* cannot take GPU weights: told to shut down, never a member */
  int refuse_told;     /* the error and shutdown went out */
  char refuse_why[256];
  int drop;            /* to be written off at the next poll (drop_why) */
  char drop_why[256];
  int64_t heard_ms;    /* last message from it */
  int said_hello;      /* pid and host are its hello's */
  uint32_t pid;
  char host[RLVR_PROTO_MAX_NAME + 1];
  /* NCCL */
  int rank;            /* in the current communicator; 0 = not a member */
  int joined;          /* acknowledged the join of the current communicator */
  int pending;         /* a broadcast version not acknowledged yet: the oldest, pending_version, */
  uint64_t pending_version; /* sent at pending_ms (the acknowledgement's clock does not restart */
  int64_t pending_ms;       /* with each newer version) */
  /* IPC */
  int reader;          /* slot reader index, -1 = none */
  int init_sent;       /* the wsync_init went out (init_ms) */
  int64_t init_ms;
  int mapped;          /* acknowledged the wsync_init: a reader */
  int has_announced;   /* a version was announced to it (the newest: announced) */
  uint64_t announced;
  int64_t announced_ms; /* when the oldest announcement it has not acknowledged went out */
  /* both */
  int has_acked;       /* the version it holds (acked) */
  uint64_t acked;
} hub_worker;

struct rlvr_wsync_hub {
  int ipc;
  struct rlvr_learn_gpu *g;
  rlvr_wsync_hub_io io;
  int timeout_ms;
  rlvr_learn_wsync_info info;
  hub_worker *w;
  int nw;
  int64_t last_arrival_ms; /* a worker appeared (SETTLE_MS) */
  /* NCCL */
  int comm_up;
  int nmembers;
  int64_t broke_ms;  /* last failure: workers must be heard from after it */
  int join_fails;    /* in a row */
  int has_sent;
  uint64_t sent;
  int64_t sent_ms;
  /* IPC */
  rlvr_wsync_slots slots;
  uint64_t readers_used; /* bit r: reader index r taken */
  int has_written;
  uint64_t written;
  rlvr_wsync_hub_stats st;
};
typedef struct rlvr_wsync_hub hub;

static const char *method_name(const hub *h) { return h->ipc ? "CUDA IPC" : "NCCL"; }

/* Logs a failure and keeps it for the stats. */
static void failure(hub *h, const char *fmt, ...) RLVR_PRINTF(2, 3);
static void failure(hub *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->st.last_error, sizeof h->st.last_error, fmt, ap);
  va_end(ap);
  h->st.last_error_ms = rlvr_time_ms();
  h->st.failures++;
  rlvr_warn("learner: weight sync (%s): %s", method_name(h), h->st.last_error);
}

/* ---- workers ---- */

static hub_worker *find(const hub *h, const char *id) {
  for (int i = 0; i < h->nw; i++)
    if (!h->w[i].gone && !strcmp(h->w[i].id, id)) return &h->w[i];
  return NULL;
}

static hub_worker *find_or_add(hub *h, const char *id) {
  hub_worker *w = find(h, id);
  if (w) return w;
  h->w = xrealloc(h->w, (size_t)(h->nw + 1) * sizeof *h->w);
  w = &h->w[h->nw++];
  memset(w, 0, sizeof *w);
  snprintf(w->id, sizeof w->id, "%s", id);
  w->reader = -1;
  h->last_arrival_ms = rlvr_time_ms();
  return w;
}

/* A member leaves the NCCL communicator (or a reader its slots): the
 * communicator is given up. */
static void forget_membership(hub *h, hub_worker *w) {
  if (h->ipc) {
    if (w->reader >= 0) {
      rlvr_wsync_slots_drop(&h->slots, w->reader);
      h->readers_used &= ~((uint64_t)1 << w->reader);
      w->reader = -1;
    }
    w->init_sent = w->mapped = w->has_announced = 0;
  } else {
    if (w->rank && h->comm_up) {
      rlvr_learn_gpu_nccl_leave(h->g);
      h->comm_up = 0;
    }
    w->rank = 0;
    w->joined = 0;
  }
}

/* Removes the workers marked gone (never while iterating). */
static void compact(hub *h) {
  int k = 0;
  for (int i = 0; i < h->nw; i++)
    if (!h->w[i].gone) h->w[k++] = h->w[i];
  h->nw = k;
}

static void refuse(hub *h, hub_worker *w, const char *fmt, ...) RLVR_PRINTF(3, 4);
static void refuse(hub *h, hub_worker *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->refuse_why, sizeof w->refuse_why, fmt, ap);
  va_end(ap);
  forget_membership(h, w);
  w->refused = 1;
  w->refuse_told = 0;
  rlvr_warn("learner: weight sync (%s): worker %s cannot take part: %s", method_name(h), w->id, w->refuse_why);
}

static void mark_drop(hub_worker *w, const char *why) {
  if (w->drop) return;
  w->drop = 1;
  snprintf(w->drop_why, sizeof w->drop_why, "%s", why);
}

static int send_to(hub *h, hub_worker *w, const rlvr_msg *m) {
  const int rc = h->io.send(h->io.ctx, w->id, m);
  if (rc) mark_drop(w, "cannot be reached");
  return rc;
}

void rlvr_wsync_hub_heard(rlvr_wsync_hub *h, const char *id) {
  hub_worker *w = find_or_add(h, id);
  w->heard_ms = rlvr_time_ms();
}

void rlvr_wsync_hub_hello(rlvr_wsync_hub *h, const char *id, const rlvr_msg_hello *m) {
  hub_worker *w = find_or_add(h, id);
  w->heard_ms = rlvr_time_ms();
  /* A hello from another process under a known id: the worker restarted,
   * and whatever it had joined or mapped is gone. (The same process says
   * hello again after a long silence of the learner, e.g. a collective
   * that waited for a busy worker: nothing changed for it.) */
  const int restarted = w->said_hello && (w->pid != m->pid || strcmp(w->host, m->host ? m->host : ""));
  if (restarted || (!w->said_hello && (w->rank || w->init_sent || w->has_acked))) {
    forget_membership(h, w);
    w->has_acked = 0;
    w->pending = 0;
    h->last_arrival_ms = w->heard_ms;
  }
  w->said_hello = 1;
  w->pid = m->pid;
  snprintf(w->host, sizeof w->host, "%s", m->host ? m->host : "");
  w->refused = 0;
  int capable = 0;
  for (uint32_t i = 0; i < (uint32_t)m->ncapabilities; i++) capable |= !strcmp(m->capabilities[i], "wsync");
  if (!capable)
    refuse(h, w,
           "its hello lacks the wsync capability (learner.weight_sync = %s needs rollout.device = \"cuda\" and "
           "rollout.dtype = \"bf16\" on the worker)",
           h->ipc ? "ipc" : "nccl");
}

void rlvr_wsync_hub_gone(rlvr_wsync_hub *h, const char *id, const char *why) {
  hub_worker *w = find(h, id);
  if (!w) return;
  if (!h->ipc && w->rank && h->comm_up) {
    failure(h, "worker %s %s; a new communicator for the workers that remain", id, why);
    h->broke_ms = rlvr_time_ms();
  } else if (h->ipc && w->mapped) {
    failure(h, "worker %s %s; its slots are released", id, why);
  }
  forget_membership(h, w);
  if (w->refused) return; /* remembered: it does not take part if it comes back */
  w->gone = 1;
}

void rlvr_wsync_hub_ack(rlvr_wsync_hub *h, const char *id, const rlvr_msg_wsync_ack *a) {
  hub_worker *w = find_or_add(h, id);
  w->heard_ms = rlvr_time_ms();
  if (!a->has_version) { /* joined / mapped */
    if (h->ipc) {
      if (w->init_sent) w->mapped = 1;
    } else if (w->rank) {
      w->joined = 1;
    }
    return;
  }
  if (h->ipc) {
    if (w->reader < 0 || !w->mapped) return;
    if (rlvr_wsync_slots_ack(&h->slots, w->reader, a->version)) {
      rlvr_warn("learner: weight sync (CUDA IPC): worker %s: %s", id, rlvr_error_message());
      mark_drop(w, "acknowledged a version that was never sent");
      return;
    }
  }
  if (!w->has_acked || a->version > w->acked) w->acked = a->version;
  w->has_acked = 1;
  if (w->pending && w->acked >= w->pending_version) {
    /* newer versions may be out: the clock runs from now for them */
    w->pending = h->has_sent && w->acked < h->sent;
    w->pending_version = h->sent;
    w->pending_ms = w->heard_ms;
  }
}

void rlvr_wsync_hub_error(rlvr_wsync_hub *h, const char *id, int code, const char *message) {
  hub_worker *w = find_or_add(h, id);
  w->heard_ms = rlvr_time_ms();
  /* Another device, dtype or model (RLVR_ERR_CONFIG, or a layout that
   * differs before it joined); for CUDA IPC anything that stops it from
   * mapping the slots (another GPU, a handle it cannot open): it never can. */
  if (code == RLVR_ERR_CONFIG || (code == RLVR_ERR_MISMATCH && !w->joined) || (h->ipc && w->init_sent && !w->mapped)) {
    refuse(h, w, "%s", message);
    return;
  }
  if (h->ipc) {
    if (w->mapped) {
      failure(h, "worker %s: %s", id, message);
      mark_drop(w, "failed to take a version by CUDA IPC");
    }
    return;
  }
  /* NCCL: an error of a member that joined the current communicator
   * concerns it (one from before its join ack is about an older one). */
  if (w->rank && w->joined && h->comm_up) {
    failure(h, "worker %s (rank %d): %s; a new communicator", id, w->rank, message);
    rlvr_learn_gpu_nccl_leave(h->g);
    h->comm_up = 0;
    h->broke_ms = rlvr_time_ms();
  }
}

int rlvr_wsync_hub_settled(const rlvr_wsync_hub *h, uint64_t version) {
  for (int i = 0; i < h->nw; i++) {
    const hub_worker *w = &h->w[i];
    if (!w->gone && !w->refused && !(w->has_acked && w->acked >= version)) return 0;
  }
  return 1;
}

int rlvr_wsync_hub_holds(const rlvr_wsync_hub *h, const char *id, uint64_t version) {
  const hub_worker *w = find(h, id);
  return w && !w->refused && w->has_acked && w->acked == version;
}

/* ---- NCCL ---- */

/* 1 when every member can be reached now (a heartbeat goes through):
 * ZeroMQ says at a send whether a peer is connected, and a member sent a
 * wsync_init or wsync while another cannot take part would wait in the
 * collective for its whole timeout. Else the first that cannot, reported. */
static int members_reachable(hub *h, const char *what) {
  rlvr_msg m = {.type = RLVR_MSG_HEARTBEAT};
  m.heartbeat = (rlvr_msg_heartbeat){.sender = "learner", .time = (double)rlvr_time_ms() / 1000.0,
                                     .status = RLVR_HEARTBEAT_BUSY};
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (!w->rank || !send_to(h, w, &m)) continue;
    failure(h, "worker %s (rank %d) cannot be reached for %s; a new communicator for the workers that remain", w->id,
            w->rank, what);
    return 0;
  }
  return 1;
}

/* The communicator's members, ranks 1..N, and the join. */
static int nccl_join(hub *h, int64_t now) {
  int n = 0;
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    w->rank = 0;
    w->joined = 0;
    w->pending = 0;
    if (!w->gone && !w->refused && !w->drop) w->rank = ++n;
  }
  if (n == 0) return RLVR_OK;
  char peers[256];
  size_t k = (size_t)snprintf(peers, sizeof peers, "rollout worker%s", n > 1 ? "s" : "");
  for (int i = 0; i < h->nw && k < sizeof peers; i++)
    if (h->w[i].rank)
      k += (size_t)snprintf(peers + k, sizeof peers - k, "%s %s (rank %d)", h->w[i].rank > 1 ? "," : "", h->w[i].id,
                            h->w[i].rank);
  if (!members_reachable(h, "a new communicator")) {
    h->broke_ms = rlvr_time_ms();
    return RLVR_OK; /* written off at the end of this poll, then a new try */
  }
  uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES];
  int rc = rlvr_learn_gpu_nccl_id(id);
  if (rc) return rc; /* NCCL cannot even make an id: nothing to retry */
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_INIT};
  m.wsync_init = (rlvr_msg_wsync_init){.method = RLVR_WSYNC_METHOD_NCCL,
                                       .layout = h->info.layout_hash,
                                       .bytes = h->info.bytes,
                                       .bucket_bytes = h->info.bucket_bytes,
                                       .timeout_ms = (uint32_t)h->timeout_ms,
                                       .unique_id = id,
                                       .nranks = (uint32_t)(n + 1)};
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (!w->rank) continue;
    m.wsync_init.rank = (uint32_t)w->rank;
    if (send_to(h, w, &m)) { /* gone since the heartbeat: the others' joins time out */
      failure(h, "worker %s (rank %d) cannot be reached for its wsync_init", w->id, w->rank);
      h->broke_ms = rlvr_time_ms();
      return RLVR_OK;
    }
  }
  rlvr_info("learner: weight sync (NCCL): joining a communicator of %d ranks with %s", n + 1, peers);
  rc = rlvr_learn_gpu_nccl_join(h->g, id, n + 1, h->timeout_ms, peers);
  if (rc) {
    failure(h, "joining the communicator of %d ranks failed: %s", n + 1, rlvr_error_message());
    h->broke_ms = rlvr_time_ms();
    if (++h->join_fails >= MAX_JOIN_FAILS)
      return rlvr_error(RLVR_ERR_IO,
                        "weight sync (NCCL): %d joins in a row failed while every worker answered; the last: %s "
                        "(check NCCL_SOCKET_IFNAME and that learner.weight_sync_timeout_ms exceeds a work's length)",
                        h->join_fails, h->st.last_error);
    return RLVR_OK;
  }
  h->join_fails = 0;
  h->comm_up = 1;
  h->nmembers = n;
  h->has_sent = 0;
  h->st.joins++;
  rlvr_info("learner: weight sync (NCCL): communicator of %d ranks up (%.0f ms)", n + 1,
            (double)(rlvr_time_ms() - now));
  for (int i = 0; i < h->nw; i++)
    if (h->w[i].rank && h->io.alive) h->io.alive(h->io.ctx, h->w[i].id);
  return RLVR_OK;
}

/* wsync{version} to every member, then the broadcast. */
static void nccl_send(hub *h, uint64_t version) {
  char what[64];
  snprintf(what, sizeof what, "version %" PRIu64, version);
  int ok = members_reachable(h, what);
  rlvr_msg m = {.type = RLVR_MSG_WSYNC};
  m.wsync = (rlvr_msg_wsync){.version = version};
  for (int i = 0; i < h->nw && ok; i++)
    if (h->w[i].rank && send_to(h, &h->w[i], &m)) {
      /* gone since the heartbeat: the others wait in the broadcast until
       * the abort reaches them, or their timeout */
      failure(h, "worker %s (rank %d) cannot be reached for version %" PRIu64 "; a new communicator", h->w[i].id,
              h->w[i].rank, version);
      ok = 0;
    }
  if (!ok) { /* a member will not join the broadcast */
    rlvr_learn_gpu_nccl_leave(h->g);
    h->comm_up = 0;
    h->broke_ms = rlvr_time_ms();
    return;
  }
  const int64_t t0 = rlvr_time_ms();
  const int rc = rlvr_learn_gpu_nccl_broadcast(h->g, version);
  if (rc) {
    failure(h, "broadcast of version %" PRIu64 " failed: %s; a new communicator for the workers that answer",
            version, rlvr_error_message());
    h->comm_up = 0;
    h->broke_ms = rlvr_time_ms();
    return;
  }
  h->has_sent = 1;
  h->sent = version;
  h->sent_ms = rlvr_time_ms();
  h->st.versions++;
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (!w->rank || w->pending || (w->has_acked && w->acked >= version)) continue;
    w->pending = 1;
    w->pending_version = version;
    w->pending_ms = h->sent_ms;
  }
  rlvr_debug("learner: weight sync (NCCL): version %" PRIu64 " broadcast to %d workers in %.0f ms", version,
             h->nmembers, (double)(h->sent_ms - t0));
  for (int i = 0; i < h->nw; i++)
    if (h->w[i].rank && h->io.alive) h->io.alive(h->io.ctx, h->w[i].id);
}

static int nccl_poll(hub *h, uint64_t version, int64_t now) {
  /* Acknowledgements overdue: the communicator is given up. */
  if (h->comm_up) {
    for (int i = 0; i < h->nw; i++) {
      hub_worker *w = &h->w[i];
      if (!w->rank || !w->pending || now - w->pending_ms <= h->timeout_ms) continue;
      failure(h, "worker %s (rank %d) did not acknowledge version %" PRIu64 " within %d ms; a new communicator",
              w->id, w->rank, w->pending_version, h->timeout_ms);
      rlvr_learn_gpu_nccl_leave(h->g);
      h->comm_up = 0;
      h->broke_ms = now;
      break;
    }
  }
  /* The set of workers changed: a worker that is not a member. */
  int eligible = 0, fresh = 1;
  for (int i = 0; i < h->nw; i++) {
    const hub_worker *w = &h->w[i];
    if (w->gone || w->refused || w->drop) continue;
    eligible++;
    if (h->comm_up && !w->rank && now - h->last_arrival_ms >= SETTLE_MS) {
      rlvr_info("learner: weight sync (NCCL): worker %s arrived; a new communicator", w->id);
      rlvr_learn_gpu_nccl_leave(h->g);
      h->comm_up = 0;
    }
    if (w->heard_ms <= h->broke_ms) fresh = 0;
  }
  if (!h->comm_up) {
    h->nmembers = 0;
    for (int i = 0; i < h->nw; i++) h->w[i].rank = h->w[i].joined = 0;
    if (eligible == 0 || !fresh || now - h->last_arrival_ms < SETTLE_MS) return RLVR_OK;
    const int rc = nccl_join(h, now);
    if (rc || !h->comm_up) return rc;
  }
  if (!h->has_sent || h->sent != version) nccl_send(h, version);
  return RLVR_OK;
}

/* ---- CUDA IPC ---- */

static uint64_t readers_mask(const hub *h) {
  uint64_t m = 0;
  for (int i = 0; i < h->nw; i++)
    if (h->w[i].mapped && h->w[i].reader >= 0 && !h->w[i].drop) m |= (uint64_t)1 << h->w[i].reader;
  return m;
}

static void ipc_announce(hub *h, hub_worker *w, uint64_t version, int slot, int64_t now) {
  rlvr_msg m = {.type = RLVR_MSG_WSYNC};
  m.wsync = (rlvr_msg_wsync){.version = version, .has_slot = 1, .slot = (uint32_t)slot};
  if (!w->has_announced || (w->has_acked && w->acked >= w->announced)) w->announced_ms = now; /* nothing pending */
  w->has_announced = 1;
  w->announced = version;
  send_to(h, w, &m);
}

/* Writes the current version into a free slot and announces it; leaves it
 * for later when every slot is held. */
static void ipc_write(hub *h, uint64_t version, int64_t now) {
  if (h->has_written && h->written == version) return;
  int slot;
  if (rlvr_wsync_slots_begin(&h->slots, &slot)) return; /* all held: an ack frees one */
  rlvr_learn_gpu_ipc_write(h->g, slot);
  const uint64_t readers = readers_mask(h);
  rlvr_wsync_slots_publish(&h->slots, slot, version, readers);
  h->has_written = 1;
  h->written = version;
  h->st.versions++;
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (w->reader >= 0 && (readers >> w->reader & 1)) ipc_announce(h, w, version, slot, now);
  }
}

static void ipc_init(hub *h, hub_worker *w, int64_t now) {
  if (w->reader < 0) {
    int r = 0;
    while (r < RLVR_WSYNC_MAX_READERS && (h->readers_used >> r & 1)) r++;
    if (r == RLVR_WSYNC_MAX_READERS) {
      refuse(h, w, "the learner already serves %d readers on its GPU", RLVR_WSYNC_MAX_READERS);
      return;
    }
    w->reader = r;
    h->readers_used |= (uint64_t)1 << r;
  }
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_INIT};
  m.wsync_init = (rlvr_msg_wsync_init){.method = RLVR_WSYNC_METHOD_CUDA_IPC,
                                       .layout = h->info.layout_hash,
                                       .bytes = h->info.bytes,
                                       .bucket_bytes = h->info.bucket_bytes,
                                       .timeout_ms = (uint32_t)h->timeout_ms,
                                       .handle = h->info.handle,
                                       .device = h->info.uuid,
                                       .slots = (uint32_t)h->info.nslots,
                                       .slot_bytes = h->info.slot_bytes};
  w->init_sent = 1;
  w->init_ms = now;
  w->mapped = 0;
  w->has_announced = 0;
  send_to(h, w, &m);
}

static void ipc_poll(hub *h, uint64_t version, int64_t now) {
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (w->gone || w->refused || w->drop) continue;
    if (!w->init_sent) {
      ipc_init(h, w, now);
    } else if (!w->mapped && now - w->init_ms > h->timeout_ms) {
      failure(h, "worker %s did not map the slots within %d ms", w->id, h->timeout_ms);
      mark_drop(w, "did not map the CUDA IPC slots in time");
    }
  }
  ipc_write(h, version, now);
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (w->gone || w->refused || w->drop || !w->mapped) continue;
    if (w->has_announced && (!w->has_acked || w->acked < w->announced)) {
      if (now - w->announced_ms > h->timeout_ms) {
        failure(h, "worker %s did not acknowledge version %" PRIu64 " within %d ms", w->id,
                w->has_acked ? w->acked + 1 : 0, h->timeout_ms);
        mark_drop(w, "did not acknowledge a version in time");
      }
      continue;
    }
    /* A new reader, or one that acknowledged an older version than the
     * newest written: it gets the newest. */
    int slot;
    uint64_t v;
    if (h->has_written && (!w->has_acked || w->acked < h->written) &&
        rlvr_wsync_slots_announce(&h->slots, w->reader, &slot, &v) == RLVR_OK)
      ipc_announce(h, w, v, slot, now);
  }
}

/* ---- both ---- */

int rlvr_wsync_hub_build(rlvr_wsync_hub **out, const rlvr_config *cfg, struct rlvr_learn_gpu *g,
                         const rlvr_wsync_hub_io *io) {
  *out = NULL;
  RLVR_CHECK(g && io && io->send && io->drop, "weight sync needs the GPU learner and the server's calls");
  const int ipc = !strcmp(cfg->learner_weight_sync, "ipc");
  RLVR_CHECK(ipc || !strcmp(cfg->learner_weight_sync, "nccl"), "learner.weight_sync %s (checked by the config)",
             cfg->learner_weight_sync);
  hub *h = xcalloc(1, sizeof *h);
  h->ipc = ipc;
  h->g = g;
  h->io = *io;
  h->timeout_ms = (int)cfg->learner_weight_sync_timeout_ms;
  h->st.ipc = ipc;
  h->broke_ms = -1;
  const int rc = rlvr_learn_gpu_wsync_build(g, ipc, (size_t)cfg->learner_weight_sync_bucket_bytes, IPC_SLOTS,
                                            &h->info);
  if (rc) {
    free(h);
    return rc;
  }
  if (ipc) rlvr_wsync_slots_init(&h->slots, IPC_SLOTS);
  rlvr_info("learner: weight sync by %s: %" PRIu64 " bytes of bf16 weights per version (layout %016" PRIx64 ")",
            method_name(h), h->info.bytes, h->info.layout_hash);
  *out = h;
  return RLVR_OK;
}

void rlvr_wsync_hub_free(rlvr_wsync_hub *h) {
  if (!h) return;
  if (!h->ipc) rlvr_learn_gpu_nccl_leave(h->g);
  free(h->w);
  free(h);
}

/* Tells refused workers why, once; writes off the ones marked. */
static void settle_workers(hub *h) {
  for (int i = 0; i < h->nw; i++) {
    hub_worker *w = &h->w[i];
    if (w->gone || !w->refused || w->refuse_told) continue;
    w->refuse_told = 1;
    char text[400];
    snprintf(text, sizeof text, "learner.weight_sync = %s: %s", h->ipc ? "ipc" : "nccl", w->refuse_why);
    rlvr_msg m = {.type = RLVR_MSG_ERROR};
    m.error = (rlvr_msg_error){.code = RLVR_ERR_CONFIG, .message = text};
    h->io.send(h->io.ctx, w->id, &m);
    rlvr_msg s = {.type = RLVR_MSG_SHUTDOWN};
    s.shutdown.reason = text;
    h->io.send(h->io.ctx, w->id, &s);
    mark_drop(w, "cannot take GPU weights");
  }
  /* io.drop calls rlvr_wsync_hub_gone back, which marks; compaction after */
  for (int i = 0; i < h->nw; i++) {
    if (h->w[i].gone || !h->w[i].drop) continue;
    char id[sizeof h->w[i].id], why[sizeof h->w[i].drop_why];
    snprintf(id, sizeof id, "%s", h->w[i].id);
    snprintf(why, sizeof why, "%s", h->w[i].drop_why);
    h->w[i].drop = 0;
    h->io.drop(h->io.ctx, id, why);
    hub_worker *w = find(h, id);
    if (w && !w->refused) w->gone = 1; /* the server did not know it */
  }
  compact(h);
}

int rlvr_wsync_hub_publish(rlvr_wsync_hub *h, uint64_t version) {
  if (h->ipc) {
    ipc_write(h, version, rlvr_time_ms());
  } else if (h->comm_up && (!h->has_sent || h->sent != version)) {
    nccl_send(h, version);
  }
  return RLVR_OK;
}

int rlvr_wsync_hub_poll(rlvr_wsync_hub *h, uint64_t version) {
  settle_workers(h);
  const int64_t now = rlvr_time_ms();
  int rc = RLVR_OK;
  if (h->ipc)
    ipc_poll(h, version, now);
  else
    rc = nccl_poll(h, version, now);
  settle_workers(h);
  return rc;
}

void rlvr_wsync_hub_get_stats(const rlvr_wsync_hub *h, rlvr_wsync_hub_stats *st) {
  *st = h->st;
  if (h->ipc) {
    st->members = 0;
    for (int i = 0; i < h->nw; i++) st->members += !h->w[i].gone && h->w[i].mapped;
    st->has_sent = h->has_written;
    st->sent = h->written;
  } else {
    st->members = h->comm_up ? h->nmembers : 0;
    st->has_sent = h->comm_up && h->has_sent;
    st->sent = h->sent;
  }
}
