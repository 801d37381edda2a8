/* wsync_hub.h — GPU weight sync, the learner's bookkeeping
 * (learner.weight_sync = nccl or ipc; docs/cuda.md "Weight sync in a run"): which
 * workers take part, setting them up over the ZeroMQ work channel
 * (wsync_init), sending each new version (wsync) and following the
 * acknowledgements (wsync_ack). learner/server.c feeds it what the workers
 * say, calls it after each step and once per loop, and asks it whether a
 * worker holds the current version before handing that worker work. The
 * device side is learner/learn_gpu.h; the worker's side rollout/worker.h.
 *
 * NCCL (workers on other GPUs, on this node or others). A communicator has
 * a fixed number of ranks, so the hub keeps one communicator for the
 * workers it knows (the learner rank 0, the workers 1..N in order of
 * arrival) and makes a new one (new unique id, a wsync_init to each
 * worker, the collective join, bounded by the timeout) whenever that set
 * changes:
 *   - a worker arrives (first message, or a hello from another process
 *     under its id: it restarted);
 *     arrivals within SETTLE_MS of each other join one communicator;
 *   - a member leaves (the server wrote it off: silent for
 *     transport.peer_timeout_ms, unreachable, stopping);
 *   - a join, a broadcast or an acknowledgement fails or times out, or a
 *     member reports an error: the communicator is aborted and the failure
 *     logged (rlvr_warn, and last_error in the stats). Before the next join
 *     the hub waits until every worker has been heard from since the
 *     failure; a dead one is written off by the server within
 *     transport.peer_timeout_ms, so the new communicator holds the workers
 *     that still answer.
 * The learner keeps training meanwhile, as on the zmq path, where a dead
 * worker is written off and its groups go to the others. Three joins in a
 * row that fail while every worker answers stop the run with the error
 * (rlvr_wsync_hub_poll returns it): NCCL itself cannot connect them (an
 * interface it cannot use: NCCL_SOCKET_IFNAME), or a worker is busy for
 * longer than learner.weight_sync_timeout_ms.
 * Per version: a heartbeat to each member (a member ZeroMQ no longer
 * reaches is written off before anyone waits in a broadcast it will not
 * join), wsync{v} to each, then the broadcast (a header, then the buckets); each member answers wsync_ack{v} once the bytes are in its
 * GPU model. After a new communicator the current version goes out at once
 * (new members need it; the others take it again).
 *
 * CUDA IPC (learner and workers on one GPU). The learner's GPU holds
 * nslots (2) slots of the flat layout; a worker is sent a wsync_init with
 * their handle when first heard from (again after a hello), maps them and
 * acknowledges; it is then sent the newest version. Per version the hub
 * writes a slot no reader holds (wsync_layout.h, "slots"), then sends
 * wsync{v, slot} to every reader; a reader copies it into its GPU model and
 * acknowledges, which releases the slot. While every slot is held (a slow
 * reader) the version waits, and the loop goes on. A reader that has not
 * mapped the slots or acknowledged a version within the timeout is written
 * off (its slots released, its groups to the others).
 *
 * Refusals: a worker that cannot take GPU weights (its hello lacks the
 * "wsync" capability: rollout.device is not cuda or rollout.dtype not bf16;
 * or it answers a wsync_init with RLVR_ERR_CONFIG / _MISMATCH: another
 * model, another GPU) is sent an error and a shutdown naming the reason,
 * and never takes part.
 *
 * Work: rlvr_wsync_hub_holds says whether a worker's last acknowledgement
 * is the current version; the server hands work only to those, so no
 * worker samples from weights it has not got.
 *
 * Blocking: the join and the broadcast wait (up to the timeout) inside
 * the learner's loop, as the collective needs every rank: a worker busy
 * with a long work delays them until it reads its messages between works.
 *
 * Not thread-safe; all calls from the learner's loop. */
#ifndef RLVR_WSYNC_HUB_H
#define RLVR_WSYNC_HUB_H

#include <stdint.h>

#include "core/config.h"
#include "core/protocol.h"

struct rlvr_learn_gpu;

/* How the hub reaches the workers (learner/server.c). */
typedef struct {
  /* Sends m to worker id on the work channel: RLVR_OK, or an error when it
   * cannot be reached (the hub then writes it off at its next poll). */
  int (*send)(void *ctx, const char *id, const rlvr_msg *m);
  /* Writes worker id off now (its groups go to the others); the server
   * calls rlvr_wsync_hub_gone back. Only called from rlvr_wsync_hub_poll. */
  void (*drop)(void *ctx, const char *id, const char *why);
  /* Worker id was provably alive just now (it took part in a collective
   * that blocked the loop): the server's liveness clock. May be NULL. */
  void (*alive)(void *ctx, const char *id);
  void *ctx;
} rlvr_wsync_hub_io;

typedef struct {
  int ipc;               /* 1: CUDA IPC; 0: NCCL */
  int64_t joins;         /* NCCL communicators made */
  int64_t failures;      /* joins, broadcasts, acknowledgements that failed or timed out; workers written off */
  int64_t versions;      /* versions sent (broadcasts, slot writes) */
  int members;           /* NCCL: workers in the communicator (0: none up); IPC: readers that mapped the slots */
  int has_sent;          /* a version went out (on the current communicator, for NCCL) */
  uint64_t sent;         /* the newest one */
  char last_error[512];  /* the last failure, as logged; "" if none */
  int64_t last_error_ms; /* when (rlvr_time_ms) */
} rlvr_wsync_hub_stats;

typedef struct rlvr_wsync_hub rlvr_wsync_hub;

/* For learner.weight_sync = nccl or ipc (checked by the learner's config
 * check): plans the layout of g's weights, and for ipc builds the slots.
 * g and io's ctx must outlive the hub. Errors (RLVR_ERR_CONFIG naming
 * learner.weight_sync without NCCL) leave *out NULL. */
int rlvr_wsync_hub_build(rlvr_wsync_hub **out, const rlvr_config *cfg, struct rlvr_learn_gpu *g,
                         const rlvr_wsync_hub_io *io);
/* Leaves the communicator; the slots go with g. Accepts NULL. */
void rlvr_wsync_hub_free(rlvr_wsync_hub *h);

/* What the workers say (every message from a worker: heard). A hello
 * with the "wsync" capability makes a worker eligible (without: refused);
 * one from another pid or host than before is a restarted worker. */
void rlvr_wsync_hub_heard(rlvr_wsync_hub *h, const char *id);
void rlvr_wsync_hub_hello(rlvr_wsync_hub *h, const char *id, const rlvr_msg_hello *m);
void rlvr_wsync_hub_ack(rlvr_wsync_hub *h, const char *id, const rlvr_msg_wsync_ack *a);
/* An error message from the worker without a work id (a failed join,
 * mapping or transfer). */
void rlvr_wsync_hub_error(rlvr_wsync_hub *h, const char *id, int code, const char *message);
/* The server wrote worker id off (why: for the log). */
void rlvr_wsync_hub_gone(rlvr_wsync_hub *h, const char *id, const char *why);

/* A new version was made (the learner's publish): sends it now where it
 * can (communicator up; a free slot), else at a later poll. Writes nobody
 * off. RLVR_OK (a failure is logged and recovered from). */
int rlvr_wsync_hub_publish(rlvr_wsync_hub *h, uint64_t version);
/* Once per loop, with the current version: new communicators, versions
 * not sent yet, timeouts, write-offs. RLVR_OK, or the error that stops the
 * run (repeated join failures). */
int rlvr_wsync_hub_poll(rlvr_wsync_hub *h, uint64_t version);

/* 1 when every worker the hub knows (and has not written off or refused)
 * acknowledged version: at the end of a run the learner waits for it (up
 * to the time a silent worker takes to be written off and a communicator
 * to be made), so that the final weights reach every worker and no reader
 * still copies from the slots when they are freed. */
int rlvr_wsync_hub_settled(const rlvr_wsync_hub *h, uint64_t version);
/* 1 when worker id's last acknowledgement is version. */
int rlvr_wsync_hub_holds(const rlvr_wsync_hub *h, const char *id, uint64_t version);
void rlvr_wsync_hub_get_stats(const rlvr_wsync_hub *h, rlvr_wsync_hub_stats *st);

#endif
