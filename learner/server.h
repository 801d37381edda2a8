/* server.h — the learner as a process: its three sockets, the worker
 * bookkeeping around them, and the loop that feeds learner.h.
 *
 * Endpoints. One base endpoint names all three channels (docs/protocol.md,
 * "Endpoints of a learner"):
 *   tcp://HOST:PORT   work on PORT, trajectories on PORT+1, weights on PORT+2;
 *                     PORT * binds free ports (three in a row, found by trying)
 *   ipc:///PATH       PATH.work, PATH.traj, PATH.weights
 *   inproc://NAME     NAME.work, NAME.traj, NAME.weights (one process)
 * so a worker needs only `--connect BASE`.
 *
 * The loop, until the run is done or *stop is set:
 *   - work channel (ROUTER): hello registers a worker; work_request is queued
 *     and answered with a work message as soon as the learner has groups for
 *     it (a worker waits rather than polls); heartbeats and any message mark
 *     the worker alive; a worker silent for transport.peer_timeout_ms is
 *     written off: its unfinished groups go to the others;
 *   - trajectories channel (PULL): each message goes to the learner;
 *   - weights channel (PUB): each new version is published as it is made,
 *     and published again (at most once a second) when a worker asks for work
 *     holding an older version or none: PUB drops messages for late joiners;
 *     with learner.weight_sync = nccl or ipc the weights go GPU to GPU
 *     instead (learner/wsync_hub.h: set up and acknowledged on the work
 *     channel), nothing goes on PUB, and a worker gets work only once it
 *     has confirmed the current version;
 *   - heartbeats to every known worker every transport.heartbeat_ms, also
 *     between the micro-batches of a step (the learner's tick);
 *   - rejected messages (garbage, wrong type, too big) are counted by the
 *     sockets and reported in the metrics (infra.messages_rejected).
 * At the end every worker gets a shutdown message (on the work channel and
 * on the weights channel). */
#ifndef RLVR_SERVER_H
#define RLVR_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "core/config.h"
#include "learner/learner.h"
#include "learner/wsync_hub.h"

/* The three endpoints of base into work, traj, weights (cap bytes each).
 * RLVR_ERR_ARG naming base when it is not tcp://HOST:PORT, ipc:// or
 * inproc://. */
int rlvr_endpoints_derive(const char *base, char *work, char *traj, char *weights, size_t cap);

typedef struct rlvr_server rlvr_server;

typedef struct {
  const rlvr_config *cfg;
  rlvr_learner_env env;  /* publish and tick are the server's own */
  const char *endpoint;  /* base endpoint to bind (learner.endpoint) */
  volatile sig_atomic_t *stop; /* set (by a signal handler) to stop at the next safe point */
  /* Called once the sockets are bound, with the base endpoint workers
   * connect to (ports resolved); a non-zero return stops the run. */
  int (*on_bound)(void *ctx, const char *endpoint);
  /* Called every loop iteration (about every 50 ms), also while GPU weight
   * sync takes the final version to the workers; a non-zero return stops
   * the run with that code. It may call rlvr_server_worker_gone. */
  int (*each_loop)(void *ctx, rlvr_server *s);
  void *ctx;
} rlvr_server_options;

typedef struct {
  int64_t steps;       /* steps done in this process */
  int64_t version;     /* steps done in all, resumed ones included (the final policy version) */
  int stopped;         /* 1: *stop ended the run early */
  int64_t rejected;    /* messages the sockets rejected */
  int64_t workers_seen;
} rlvr_server_result;

/* Writes off worker id now (its process is known to be dead): its
 * unfinished groups go to the other workers at once instead of after the
 * peer timeout. */
void rlvr_server_worker_gone(rlvr_server *s, const char *id);

/* The learner the server drives (for each_loop callbacks: its version and
 * model), and its GPU weight sync hub (NULL with learner.weight_sync =
 * zmq; rlvr_wsync_hub_get_stats). */
rlvr_learner *rlvr_server_learner(rlvr_server *s);
const rlvr_wsync_hub *rlvr_server_wsync(const rlvr_server *s);

/* Builds the learner, binds, serves until train.steps (or env.stop_after)
 * are done or *stop is set, then writes the final checkpoint and model
 * (or, when stopped, a checkpoint if checkpoint.at_exit), and tells the
 * workers to shut down. Returns RLVR_OK or the error that ended the run
 * (the message says what). res may be NULL. */
int rlvr_learner_serve(const rlvr_server_options *o, rlvr_server_result *res);

#endif
