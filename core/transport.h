/* transport.h — the ZeroMQ channels between the learner and its rollout
 * workers (docs/protocol.md, "Channels"), carrying core/protocol messages.
 *
 *   channel       learner side                 worker side
 *   work          ROUTER, binds                DEALER, connects (routing id = worker id)
 *   trajectories  PULL, binds                  PUSH, connects
 *   weights       PUB, binds                   SUB, connects
 *
 * An rlvr_sock wraps one ZeroMQ socket with the options of its kind (high-water
 * marks, ZMQ_MAXMSGSIZE, linger, send timeout, ZMTP heartbeats, ROUTER_MANDATORY
 * and ROUTER_HANDOVER), encodes on send and decodes on receive. What arrives
 * and does not decode, does not belong on the channel, has the wrong number of
 * frames or is too big is rejected: counted, logged (rate-limited) and
 * skipped; a receive never fails because of what a peer sent.
 *
 * Like a ZeroMQ socket, an rlvr_sock belongs to one thread at a time. All
 * sockets of a process share one ZeroMQ context (zmq_ctx_new), which inproc://
 * endpoints require. Errors: RLVR_ERR_TIMEOUT (nothing within the time, or a
 * signal interrupted the wait), RLVR_ERR_IO (ZeroMQ failed: bad endpoint,
 * unknown peer, context terminated), RLVR_ERR_ARG (a message that this side
 * may not send on this channel). */
#ifndef RLVR_TRANSPORT_H
#define RLVR_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/protocol.h"

/* Socket options; the defaults are those of the transport.* config keys
 * (docs/config.md explains each). */
typedef struct {
  int64_t hwm_work, hwm_traj, hwm_weights; /* messages */
  int64_t max_msg_bytes;                   /* work and trajectories messages */
  int64_t max_frame_bytes;                 /* one frame on the weights SUB */
  int send_timeout_ms;                     /* -1 = block forever */
  int linger_ms;
  int heartbeat_ms;
  int peer_timeout_ms;
} rlvr_transport_options;

void rlvr_transport_options_default(rlvr_transport_options *o);
void rlvr_transport_options_from_config(rlvr_transport_options *o, const rlvr_config *c);

typedef enum {
  RLVR_SOCK_WORK_LEARNER = 0, /* ROUTER, binds */
  RLVR_SOCK_WORK_WORKER,      /* DEALER, connects */
  RLVR_SOCK_TRAJ_LEARNER,     /* PULL, binds */
  RLVR_SOCK_TRAJ_WORKER,      /* PUSH, connects */
  RLVR_SOCK_WEIGHTS_LEARNER,  /* PUB, binds */
  RLVR_SOCK_WEIGHTS_WORKER,   /* SUB, connects, subscribed to everything */
  RLVR_SOCK_KIND_COUNT
} rlvr_sock_kind;

const char *rlvr_sock_kind_name(rlvr_sock_kind k); /* "work-learner", ... */

/* A ZeroMQ routing id: who sent a message on the ROUTER, and where a reply
 * goes. Other sockets have one peer and report len 0. */
typedef struct {
  unsigned char id[255];
  size_t len;
} rlvr_peer;

/* Sets a peer from a string id (a worker's id is its routing id). */
void rlvr_peer_set(rlvr_peer *p, const char *id);

typedef struct {
  uint64_t received;    /* valid messages handed to the caller */
  uint64_t rejected;    /* garbage, wrong type for the channel, wrong frames, too big */
  uint64_t sent;
  uint64_t send_failed; /* timeouts, unknown peers */
  uint64_t bytes_received, bytes_sent;
  char last_reject[512]; /* why the last rejected message was rejected */
} rlvr_sock_counters;

typedef struct rlvr_sock rlvr_sock;
typedef struct rlvr_peers rlvr_peers;

/* Opens a socket of kind on endpoint: binds for the learner kinds (a tcp port
 * of * picks a free one: read it back with rlvr_sock_endpoint), connects for
 * the worker kinds. id is the worker's id for RLVR_SOCK_WORK_WORKER (its
 * routing id, 1..255 bytes, not starting with a zero byte), else NULL.
 * On error *out is NULL and nothing is left open. */
int rlvr_sock_open(rlvr_sock **out, void *zmq_ctx, rlvr_sock_kind kind, const char *endpoint, const char *id,
                   const rlvr_transport_options *o);

/* Closes (waiting up to linger_ms for queued messages). Accepts NULL. */
void rlvr_sock_close(rlvr_sock *s);

/* The endpoint bound or connected, resolved ("tcp://127.0.0.1:41234"). */
const char *rlvr_sock_endpoint(const rlvr_sock *s);

/* The ZeroMQ socket, for zmq_poll over several sockets. Receive from it only
 * through rlvr_sock_recv. */
void *rlvr_sock_zmq(rlvr_sock *s);

rlvr_sock_kind rlvr_sock_get_kind(const rlvr_sock *s);
void rlvr_sock_get_counters(const rlvr_sock *s, rlvr_sock_counters *c);

/* Every valid message received from a peer marks it alive in peers (the
 * ROUTER by routing id; other sockets as the peer of len 0). NULL stops. */
void rlvr_sock_track(rlvr_sock *s, rlvr_peers *peers);

/* Encodes and sends m; to is required on the ROUTER (RLVR_ERR_IO if no such
 * peer is connected: ROUTER_MANDATORY) and ignored elsewhere. Blocks while the
 * queue is full, up to send_timeout_ms (then RLVR_ERR_TIMEOUT). A weights
 * message goes with its tensors inline; see rlvr_sock_send_weights. m is not
 * referenced after the call. */
int rlvr_sock_send(rlvr_sock *s, const rlvr_peer *to, const rlvr_msg *m);

/* Sends a weights message with each tensor as its own frame. With release
 * NULL the tensor bytes are copied before the call returns. Otherwise they are
 * sent without copying: the caller must not change or free them until
 * release(hint) runs, exactly once, when ZeroMQ is done with all of them —
 * possibly before this call returns (on error, or when nobody subscribes),
 * possibly later from a ZeroMQ I/O thread. */
int rlvr_sock_send_weights(rlvr_sock *s, const rlvr_msg *m, void (*release)(void *hint), void *hint);

/* Sends a heartbeat (sender = this side's id, time = now). */
int rlvr_sock_send_heartbeat(rlvr_sock *s, const rlvr_peer *to, const char *sender, rlvr_heartbeat_status status);

/* Waits up to timeout_ms (0 = poll, -1 = forever) for a valid message and
 * decodes it into out (free it with rlvr_msg_free); from (may be NULL) gets
 * the routing id on the ROUTER. Invalid messages are rejected and the wait
 * goes on. RLVR_OK, RLVR_ERR_TIMEOUT (also on a signal), or RLVR_ERR_IO. On
 * error *out is zeroed. Weights tensor data may point into received frames,
 * which out owns. */
int rlvr_sock_recv(rlvr_sock *s, rlvr_msg *out, rlvr_peer *from, int timeout_ms);

/* Liveness: the last time each peer was heard from, and which have been
 * silent longer than a timeout. Times are rlvr_time_ms() values, passed in so
 * that tests can drive the clock. */
rlvr_peers *rlvr_peers_new(int64_t timeout_ms);
void rlvr_peers_free(rlvr_peers *p); /* accepts NULL */
void rlvr_peers_seen(rlvr_peers *p, const rlvr_peer *peer, int64_t now_ms);
/* Stops tracking peer (a worker that said goodbye). */
void rlvr_peers_forget(rlvr_peers *p, const rlvr_peer *peer);
int rlvr_peers_count(const rlvr_peers *p);
/* Peer i (0 <= i < count), e.g. to send each a heartbeat. */
const rlvr_peer *rlvr_peers_get(const rlvr_peers *p, int i);
/* Removes up to max peers silent for longer than the timeout, copying them to
 * dead[]; returns how many. Each dead peer is reported once (until it is seen
 * again). */
int rlvr_peers_expire(rlvr_peers *p, int64_t now_ms, rlvr_peer *dead, int max);

/* Monotonic milliseconds (liveness) and Unix seconds (heartbeat time). */
int64_t rlvr_time_ms(void);
double rlvr_time_unix(void);

#endif
