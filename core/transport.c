/* transport.c — ZeroMQ sockets for the learner/worker channels, with the
 * protocol's encoder on the way out and its checked decoder on the way in.
 *
 * Wire shape of one message on each socket (what the receiver demands):
 *   ROUTER receives [routing id][payload]; sends [routing id][payload]
 *   DEALER, PUSH/PULL: [payload]
 *   PUB/SUB: [payload] or, for weights, [header][tensor frame]...
 * Large payloads go to ZeroMQ without a copy (zmq_msg_init_data with a free
 * callback): encoded messages of at least ZERO_COPY_MIN bytes hand their
 * buffer over, and rlvr_sock_send_weights hands over tensor memory. */
#include "core/transport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"

enum {
  ZERO_COPY_MIN = 32 * 1024,                  /* below this, copying is cheaper than a free callback */
  MAX_FRAMES = 2 + RLVR_PROTO_MAX_TENSORS,    /* routing id + header + one per tensor */
  LOG_FIRST_REJECTS = 10,                     /* then one line per LOG_EVERY */
  LOG_EVERY = 1000,
};

static const char *const kind_names[RLVR_SOCK_KIND_COUNT] = {
    "work-learner", "work-worker", "traj-learner", "traj-worker", "weights-learner", "weights-worker",
};

const char *rlvr_sock_kind_name(rlvr_sock_kind k) {
  return ((unsigned)k < RLVR_SOCK_KIND_COUNT) ? kind_names[k] : "?";
}

#define BIT(t) (1u << (t))
/* What each kind may receive and send (docs/protocol.md, "Channels"). */
static const unsigned accepts[RLVR_SOCK_KIND_COUNT] = {
    [RLVR_SOCK_WORK_LEARNER] = BIT(RLVR_MSG_HELLO) | BIT(RLVR_MSG_WORK_REQUEST) | BIT(RLVR_MSG_HEARTBEAT) |
                               BIT(RLVR_MSG_STATS) | BIT(RLVR_MSG_ERROR) | BIT(RLVR_MSG_WSYNC_ACK),
    [RLVR_SOCK_WORK_WORKER] = BIT(RLVR_MSG_WORK) | BIT(RLVR_MSG_HEARTBEAT) | BIT(RLVR_MSG_SHUTDOWN) | BIT(RLVR_MSG_ERROR) |
                              BIT(RLVR_MSG_WSYNC_INIT) | BIT(RLVR_MSG_WSYNC),
    [RLVR_SOCK_TRAJ_LEARNER] = BIT(RLVR_MSG_TRAJECTORIES),
    [RLVR_SOCK_TRAJ_WORKER] = 0,
    [RLVR_SOCK_WEIGHTS_LEARNER] = 0,
    [RLVR_SOCK_WEIGHTS_WORKER] = BIT(RLVR_MSG_WEIGHTS) | BIT(RLVR_MSG_SHUTDOWN),
};
static const unsigned sends[RLVR_SOCK_KIND_COUNT] = {
    [RLVR_SOCK_WORK_LEARNER] = BIT(RLVR_MSG_WORK) | BIT(RLVR_MSG_HEARTBEAT) | BIT(RLVR_MSG_SHUTDOWN) | BIT(RLVR_MSG_ERROR) |
                               BIT(RLVR_MSG_WSYNC_INIT) | BIT(RLVR_MSG_WSYNC),
    [RLVR_SOCK_WORK_WORKER] = BIT(RLVR_MSG_HELLO) | BIT(RLVR_MSG_WORK_REQUEST) | BIT(RLVR_MSG_HEARTBEAT) |
                              BIT(RLVR_MSG_STATS) | BIT(RLVR_MSG_ERROR) | BIT(RLVR_MSG_WSYNC_ACK),
    [RLVR_SOCK_TRAJ_LEARNER] = 0,
    [RLVR_SOCK_TRAJ_WORKER] = BIT(RLVR_MSG_TRAJECTORIES),
    [RLVR_SOCK_WEIGHTS_LEARNER] = BIT(RLVR_MSG_WEIGHTS) | BIT(RLVR_MSG_SHUTDOWN),
    [RLVR_SOCK_WEIGHTS_WORKER] = 0,
};

struct rlvr_sock {
  void *z;
  rlvr_sock_kind kind;
  rlvr_transport_options opt;
  char endpoint[256];
  rlvr_sock_counters cnt;
  rlvr_peers *track;
  rlvr_buf buf;       /* encoder output, reused */
  size_t last_len;    /* size of the last encoded message, to presize buf after a handover */
  zmq_msg_t *frames;  /* (MAX_FRAMES) receive scratch */
};

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

void rlvr_transport_options_default(rlvr_transport_options *o) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_transport_options_from_config(o, &c);
  rlvr_config_free(&c);
}

static int clamp_int(int64_t v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

void rlvr_transport_options_from_config(rlvr_transport_options *o, const rlvr_config *c) {
  o->hwm_work = c->transport_hwm_work;
  o->hwm_traj = c->transport_hwm_traj;
  o->hwm_weights = c->transport_hwm_weights;
  o->max_msg_bytes = c->transport_max_msg_bytes;
  o->max_frame_bytes = c->transport_max_frame_bytes;
  o->send_timeout_ms = clamp_int(c->transport_send_timeout_ms, -1, INT32_MAX);
  o->linger_ms = clamp_int(c->transport_linger_ms, -1, INT32_MAX);
  o->heartbeat_ms = clamp_int(c->transport_heartbeat_ms, 1, INT32_MAX);
  o->peer_timeout_ms = clamp_int(c->transport_peer_timeout_ms, 1, INT32_MAX);
}

/* ------------------------------------------------------------------------ */
/* Time and peers                                                            */

int64_t rlvr_time_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double rlvr_time_unix(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rlvr_peer_set(rlvr_peer *p, const char *id) {
  size_t n = strlen(id);
  RLVR_CHECK(n <= sizeof p->id, "peer id of %zu bytes", n);
  memcpy(p->id, id, n);
  p->len = n;
}

/* A printable form of a peer id for logs: the text if printable, else hex. */
static const char *peer_str(const rlvr_peer *p, char *out, size_t cap) {
  if (!p || p->len == 0) return "the peer";
  int printable = 1;
  for (size_t i = 0; i < p->len; i++) printable &= p->id[i] >= 0x20 && p->id[i] < 0x7f;
  size_t o = 0;
  if (printable) {
    o = (size_t)snprintf(out, cap, "'%.*s'", (int)p->len, (const char *)p->id);
  } else {
    o = (size_t)snprintf(out, cap, "0x");
    for (size_t i = 0; i < p->len && o + 3 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%02x", p->id[i]);
  }
  return out;
}

typedef struct {
  rlvr_peer peer;
  int64_t last_ms;
} peer_entry;

struct rlvr_peers {
  int64_t timeout_ms;
  peer_entry *v;
  int n, cap;
};

rlvr_peers *rlvr_peers_new(int64_t timeout_ms) {
  rlvr_peers *p = xcalloc(1, sizeof *p);
  p->timeout_ms = timeout_ms;
  return p;
}

void rlvr_peers_free(rlvr_peers *p) {
  if (!p) return;
  free(p->v);
  free(p);
}

static int peers_find(const rlvr_peers *p, const rlvr_peer *peer) {
  for (int i = 0; i < p->n; i++)
    if (p->v[i].peer.len == peer->len && !memcmp(p->v[i].peer.id, peer->id, peer->len)) return i;
  return -1;
}

void rlvr_peers_seen(rlvr_peers *p, const rlvr_peer *peer, int64_t now_ms) {
  int i = peers_find(p, peer);
  if (i < 0) {
    if (p->n == p->cap) {
      p->cap = p->cap ? 2 * p->cap : 8;
      p->v = xrealloc(p->v, (size_t)p->cap * sizeof *p->v);
    }
    i = p->n++;
    p->v[i].peer = *peer;
  }
  p->v[i].last_ms = now_ms;
}

void rlvr_peers_forget(rlvr_peers *p, const rlvr_peer *peer) {
  int i = peers_find(p, peer);
  if (i >= 0) p->v[i] = p->v[--p->n];
}

int rlvr_peers_count(const rlvr_peers *p) { return p->n; }

const rlvr_peer *rlvr_peers_get(const rlvr_peers *p, int i) {
  RLVR_CHECK(i >= 0 && i < p->n);
  return &p->v[i].peer;
}

int rlvr_peers_expire(rlvr_peers *p, int64_t now_ms, rlvr_peer *dead, int max) {
  int k = 0;
  for (int i = 0; i < p->n && k < max;) {
    if (now_ms - p->v[i].last_ms > p->timeout_ms) {
      dead[k++] = p->v[i].peer;
      p->v[i] = p->v[--p->n];
    } else {
      i++;
    }
  }
  return k;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                            */

static int zerr(rlvr_sock_kind kind, const char *what, const char *endpoint) {
  return rlvr_error(RLVR_ERR_IO, "transport %s: %s %s: %s", kind_names[kind], what, endpoint ? endpoint : "",
                    zmq_strerror(zmq_errno()));
}

static int set_int(void *z, int opt, int v) { return zmq_setsockopt(z, opt, &v, sizeof v); }
static int set_i64(void *z, int opt, int64_t v) { return zmq_setsockopt(z, opt, &v, sizeof v); }

int rlvr_sock_open(rlvr_sock **out, void *ctx, rlvr_sock_kind kind, const char *endpoint, const char *id,
                   const rlvr_transport_options *o) {
  RLVR_CHECK(out && ctx && endpoint && o && (unsigned)kind < RLVR_SOCK_KIND_COUNT);
  *out = NULL;
  static const int ztype[RLVR_SOCK_KIND_COUNT] = {ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PULL, ZMQ_PUSH, ZMQ_PUB, ZMQ_SUB};
  int bind = kind == RLVR_SOCK_WORK_LEARNER || kind == RLVR_SOCK_TRAJ_LEARNER || kind == RLVR_SOCK_WEIGHTS_LEARNER;
  if (kind == RLVR_SOCK_WORK_WORKER) {
    if (!id || !id[0] || strlen(id) > 255)
      return rlvr_error(RLVR_ERR_ARG, "transport %s: the worker id must be 1..255 bytes", kind_names[kind]);
  }
  void *z = zmq_socket(ctx, ztype[kind]);
  if (!z) return zerr(kind, "socket", NULL);
  int64_t hwm = kind <= RLVR_SOCK_WORK_WORKER ? o->hwm_work : kind <= RLVR_SOCK_TRAJ_WORKER ? o->hwm_traj : o->hwm_weights;
  int64_t maxmsg = kind == RLVR_SOCK_WEIGHTS_WORKER ? o->max_frame_bytes : o->max_msg_bytes;
  int hb_ivl = o->heartbeat_ms, hb_timeout = o->peer_timeout_ms;
  int hb_ttl = clamp_int(o->peer_timeout_ms, 100, 6553599); /* ZMTP carries the TTL in deciseconds */
  int rc = 0;
  rc |= set_int(z, ZMQ_SNDHWM, clamp_int(hwm, 1, INT32_MAX));
  rc |= set_int(z, ZMQ_RCVHWM, clamp_int(hwm, 1, INT32_MAX));
  rc |= set_i64(z, ZMQ_MAXMSGSIZE, maxmsg);
  rc |= set_int(z, ZMQ_LINGER, o->linger_ms);
  rc |= set_int(z, ZMQ_SNDTIMEO, o->send_timeout_ms);
  rc |= set_int(z, ZMQ_HEARTBEAT_IVL, hb_ivl);
  rc |= set_int(z, ZMQ_HEARTBEAT_TIMEOUT, hb_timeout);
  rc |= set_int(z, ZMQ_HEARTBEAT_TTL, hb_ttl);
  if (kind == RLVR_SOCK_WORK_LEARNER) {
    rc |= set_int(z, ZMQ_ROUTER_MANDATORY, 1);
    rc |= set_int(z, ZMQ_ROUTER_HANDOVER, 1); /* a restarted worker with the same id takes over */
  }
  if (kind == RLVR_SOCK_WORK_WORKER) rc |= zmq_setsockopt(z, ZMQ_ROUTING_ID, id, strlen(id));
  if (kind == RLVR_SOCK_WEIGHTS_WORKER) rc |= zmq_setsockopt(z, ZMQ_SUBSCRIBE, "", 0);
  if (rc) {
    int e = zerr(kind, "setsockopt", endpoint);
    zmq_close(z);
    return e;
  }
  if ((bind ? zmq_bind(z, endpoint) : zmq_connect(z, endpoint)) != 0) {
    int e = zerr(kind, bind ? "bind" : "connect", endpoint);
    set_int(z, ZMQ_LINGER, 0);
    zmq_close(z);
    return e;
  }
  rlvr_sock *s = xcalloc(1, sizeof *s);
  s->z = z;
  s->kind = kind;
  s->opt = *o;
  size_t n = sizeof s->endpoint;
  if (!bind || zmq_getsockopt(z, ZMQ_LAST_ENDPOINT, s->endpoint, &n) != 0)
    snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
  s->frames = xcalloc(MAX_FRAMES, sizeof *s->frames);
  *out = s;
  return RLVR_OK;
}

void rlvr_sock_close(rlvr_sock *s) {
  if (!s) return;
  if (s->z) zmq_close(s->z);
  rlvr_buf_free(&s->buf);
  free(s->frames);
  free(s);
}

const char *rlvr_sock_endpoint(const rlvr_sock *s) { return s->endpoint; }
void *rlvr_sock_zmq(rlvr_sock *s) { return s->z; }
rlvr_sock_kind rlvr_sock_get_kind(const rlvr_sock *s) { return s->kind; }
void rlvr_sock_get_counters(const rlvr_sock *s, rlvr_sock_counters *c) { *c = s->cnt; }
void rlvr_sock_track(rlvr_sock *s, rlvr_peers *peers) { s->track = peers; }

/* ------------------------------------------------------------------------ */
/* Send                                                                      */

static void free_buffer(void *data, void *hint) {
  (void)hint;
  free(data);
}

/* Sends n prepared frames (after the routing id on the ROUTER). The frames
 * are consumed: sent or closed. */
static int send_frames(rlvr_sock *s, const rlvr_peer *to, zmq_msg_t *msgs, int n, size_t bytes) {
  int i = 0, rc = RLVR_OK;
  if (s->kind == RLVR_SOCK_WORK_LEARNER) {
    if (!to || to->len == 0) {
      rc = rlvr_error(RLVR_ERR_ARG, "transport %s: a send on the ROUTER needs a peer", kind_names[s->kind]);
      goto fail;
    }
    if (zmq_send(s->z, to->id, to->len, ZMQ_SNDMORE) < 0) goto zfail;
  }
  for (; i < n; i++)
    if (zmq_msg_send(&msgs[i], s->z, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) goto zfail;
  s->cnt.sent++;
  s->cnt.bytes_sent += bytes;
  return RLVR_OK;
zfail: {
  int e = zmq_errno();
  char who[600];
  if (e == EAGAIN)
    rc = rlvr_error(RLVR_ERR_TIMEOUT, "transport %s: send to %s timed out after %d ms (queue full)", kind_names[s->kind],
                    peer_str(to, who, sizeof who), s->opt.send_timeout_ms);
  else if (e == EHOSTUNREACH)
    rc = rlvr_error(RLVR_ERR_IO, "transport %s: no peer %s is connected", kind_names[s->kind], peer_str(to, who, sizeof who));
  else if (e == EINTR)
    rc = rlvr_error(RLVR_ERR_TIMEOUT, "transport %s: send interrupted by a signal", kind_names[s->kind]);
  else
    rc = rlvr_error(RLVR_ERR_IO, "transport %s: send: %s", kind_names[s->kind], zmq_strerror(e));
}
fail:
  for (; i < n; i++) zmq_msg_close(&msgs[i]);
  s->cnt.send_failed++;
  return rc;
}

static int check_sendable(rlvr_sock *s, const rlvr_msg *m) {
  if ((unsigned)m->type >= RLVR_MSG_COUNT || !(sends[s->kind] & BIT(m->type)))
    return rlvr_error(RLVR_ERR_ARG, "transport %s: a %s message does not go on this socket", kind_names[s->kind],
                      rlvr_msg_type_name(m->type));
  return RLVR_OK;
}

int rlvr_sock_send(rlvr_sock *s, const rlvr_peer *to, const rlvr_msg *m) {
  int rc = check_sendable(s, m);
  if (rc) return rc;
  if (!s->buf.data && s->last_len) {
    /* The last buffer went to ZeroMQ; start the next one at about its size. */
    s->buf.cap = s->last_len + s->last_len / 4 + 4096;
    s->buf.data = xmalloc(s->buf.cap);
  }
  rc = rlvr_msg_encode(m, 0, &s->buf);
  if (rc) return rc;
  size_t len = s->buf.len;
  s->last_len = len;
  zmq_msg_t msg;
  if (len >= ZERO_COPY_MIN) {
    unsigned char *data = rlvr_buf_release(&s->buf, NULL);
    RLVR_CHECK(zmq_msg_init_data(&msg, data, len, free_buffer, NULL) == 0);
  } else {
    RLVR_CHECK(zmq_msg_init_size(&msg, len) == 0);
    memcpy(zmq_msg_data(&msg), s->buf.data, len);
  }
  return send_frames(s, to, &msg, 1, len);
}

/* Shared by the zero-copy frames of one weights message: the caller's release
 * runs when the last reference goes. The sender holds one reference while it
 * builds the frames, so release cannot run before all are made. */
typedef struct {
  atomic_int refs;
  void (*release)(void *);
  void *hint;
} release_ref;

static void release_unref(release_ref *r) {
  if (atomic_fetch_sub(&r->refs, 1) == 1) {
    r->release(r->hint);
    free(r);
  }
}

static void free_tensor_frame(void *data, void *hint) {
  (void)data;
  release_unref(hint);
}

int rlvr_sock_send_weights(rlvr_sock *s, const rlvr_msg *m, void (*release)(void *hint), void *hint) {
  int rc = m->type == RLVR_MSG_WEIGHTS ? check_sendable(s, m)
                                       : rlvr_error(RLVR_ERR_ARG, "transport: send_weights needs a weights message");
  if (!rc) rc = rlvr_msg_encode(m, RLVR_ENCODE_WEIGHT_FRAMES, &s->buf);
  if (rc) {
    if (release) release(hint);
    return rc;
  }
  const rlvr_msg_weights *w = &m->weights;
  int n = 1 + (int)w->ntensors;
  zmq_msg_t *msgs = xmalloc((size_t)n * sizeof *msgs);
  release_ref *ref = NULL;
  if (release) {
    ref = xmalloc(sizeof *ref);
    atomic_init(&ref->refs, 1);
    ref->release = release;
    ref->hint = hint;
  }
  size_t bytes = s->buf.len;
  RLVR_CHECK(zmq_msg_init_size(&msgs[0], s->buf.len) == 0);
  memcpy(zmq_msg_data(&msgs[0]), s->buf.data, s->buf.len);
  for (uint32_t i = 0; i < w->ntensors; i++) {
    const rlvr_tensor *t = &w->tensors[i];
    bytes += t->nbytes;
    if (ref && t->nbytes >= ZERO_COPY_MIN) {
      atomic_fetch_add(&ref->refs, 1);
      RLVR_CHECK(zmq_msg_init_data(&msgs[i + 1], (void *)t->data, t->nbytes, free_tensor_frame, ref) == 0);
    } else {
      RLVR_CHECK(zmq_msg_init_size(&msgs[i + 1], t->nbytes) == 0);
      if (t->nbytes) memcpy(zmq_msg_data(&msgs[i + 1]), t->data, t->nbytes);
    }
  }
  rc = send_frames(s, NULL, msgs, n, bytes);
  free(msgs);
  if (ref) release_unref(ref);
  return rc;
}

int rlvr_sock_send_heartbeat(rlvr_sock *s, const rlvr_peer *to, const char *sender, rlvr_heartbeat_status status) {
  rlvr_msg m = {.type = RLVR_MSG_HEARTBEAT};
  m.heartbeat = (rlvr_msg_heartbeat){.sender = sender, .time = rlvr_time_unix(), .status = status};
  return rlvr_sock_send(s, to, &m);
}

/* ------------------------------------------------------------------------ */
/* Receive                                                                   */

static void reject(rlvr_sock *s, const rlvr_peer *from, const char *why) {
  s->cnt.rejected++;
  snprintf(s->cnt.last_reject, sizeof s->cnt.last_reject, "%s", why);
  if (s->cnt.rejected <= LOG_FIRST_REJECTS || s->cnt.rejected % LOG_EVERY == 0) {
    char who[600];
    rlvr_warn("transport %s: rejected a message from %s: %s (%" PRIu64 " rejected so far)", kind_names[s->kind],
              peer_str(from, who, sizeof who), why, s->cnt.rejected);
  }
}

static void free_zmq_frame(void *p) {
  zmq_msg_close(p);
  free(p);
}

/* Reads the frames of one message (it is there: ZeroMQ delivers multipart
 * messages whole). Returns the number read, keeping at most MAX_FRAMES and
 * counting the rest in *dropped; -1 on a ZeroMQ error (errno set). */
static int read_frames(rlvr_sock *s, int *dropped) {
  int n = 0;
  *dropped = 0;
  for (;;) {
    zmq_msg_t scratch, *f = n < MAX_FRAMES ? &s->frames[n] : &scratch;
    zmq_msg_init(f);
    if (zmq_msg_recv(f, s->z, ZMQ_DONTWAIT) < 0) {
      int e = zmq_errno();
      zmq_msg_close(f);
      for (int i = 0; i < n && i < MAX_FRAMES; i++) zmq_msg_close(&s->frames[i]);
      errno = e;
      return -1;
    }
    int more = zmq_msg_more(f);
    if (f == &scratch) zmq_msg_close(f), (*dropped)++;
    else n++;
    if (!more) return n;
  }
}

static size_t largest_frame(const rlvr_frame *fr, int n) {
  size_t m = 0;
  for (int i = 0; i < n; i++) m = fr[i].len > m ? fr[i].len : m;
  return m;
}

/* Checks and decodes the n frames just read; closes or adopts them. ZeroMQ
 * enforces ZMQ_MAXMSGSIZE on tcp and ipc by dropping the connection; inproc
 * does not, so the caps are checked here too. */
static int take_message(rlvr_sock *s, int n, int dropped, rlvr_msg *out, rlvr_peer *from) {
  char why[512];
  int first = 0, ok = 0;
  rlvr_peer peer = {.len = 0};
  rlvr_frame fr[MAX_FRAMES];
  size_t total = 0;
  if (s->kind == RLVR_SOCK_WORK_LEARNER) {
    size_t idlen = zmq_msg_size(&s->frames[0]);
    peer.len = idlen < sizeof peer.id ? idlen : sizeof peer.id;
    memcpy(peer.id, zmq_msg_data(&s->frames[0]), peer.len);
    first = 1;
  }
  int np = n - first; /* payload frames */
  for (int i = 0; i < np; i++) {
    fr[i] = (rlvr_frame){zmq_msg_data(&s->frames[first + i]), zmq_msg_size(&s->frames[first + i])};
    total += fr[i].len;
  }
  int64_t cap = s->kind == RLVR_SOCK_WEIGHTS_WORKER ? s->opt.max_frame_bytes : s->opt.max_msg_bytes;
  if (dropped) {
    snprintf(why, sizeof why, "%d frames, more than any message has", n + dropped);
  } else if (np < 1 || (np > 1 && s->kind != RLVR_SOCK_WEIGHTS_WORKER)) {
    snprintf(why, sizeof why, "%d frames, this channel takes exactly 1", np);
  } else if (s->kind != RLVR_SOCK_WEIGHTS_WORKER && cap >= 0 && total > (uint64_t)cap) {
    snprintf(why, sizeof why, "%zu bytes, over the cap of %" PRId64, total, cap);
  } else if (s->kind == RLVR_SOCK_WEIGHTS_WORKER && cap >= 0 && largest_frame(fr, np) > (uint64_t)cap) {
    snprintf(why, sizeof why, "a frame of %zu bytes, over the cap of %" PRId64, largest_frame(fr, np), cap);
  } else if (fr[0].len > (uint64_t)s->opt.max_msg_bytes && s->opt.max_msg_bytes >= 0) {
    snprintf(why, sizeof why, "a header of %zu bytes, over the cap of %" PRId64, fr[0].len, s->opt.max_msg_bytes);
  } else if (rlvr_msg_decode_frames(fr, np, out) != RLVR_OK) {
    snprintf(why, sizeof why, "%s", rlvr_error_message());
  } else if (!(accepts[s->kind] & BIT(out->type))) {
    snprintf(why, sizeof why, "a %s message does not belong on this channel", rlvr_msg_type_name(out->type));
    rlvr_msg_free(out);
  } else {
    ok = 1;
  }
  if (!ok) {
    for (int i = 0; i < n; i++) zmq_msg_close(&s->frames[i]);
    reject(s, &peer, why);
    return RLVR_ERR_PROTOCOL;
  }
  /* Tensor data may point into frames 2..: the message keeps them. */
  zmq_msg_close(&s->frames[first]);
  for (int i = first + 1; i < n; i++) {
    zmq_msg_t *keep = xmalloc(sizeof *keep);
    zmq_msg_init(keep);
    zmq_msg_move(keep, &s->frames[i]);
    zmq_msg_close(&s->frames[i]);
    rlvr_msg_attach(out, keep, free_zmq_frame);
  }
  if (first) zmq_msg_close(&s->frames[0]);
  s->cnt.received++;
  s->cnt.bytes_received += total;
  if (s->track) rlvr_peers_seen(s->track, &peer, rlvr_time_ms());
  if (from) *from = peer;
  return RLVR_OK;
}

int rlvr_sock_recv(rlvr_sock *s, rlvr_msg *out, rlvr_peer *from, int timeout_ms) {
  RLVR_CHECK(accepts[s->kind] != 0, "transport %s: this socket does not receive", kind_names[s->kind]);
  memset(out, 0, sizeof *out);
  int64_t deadline = timeout_ms < 0 ? -1 : rlvr_time_ms() + timeout_ms;
  for (;;) {
    int dropped;
    int n = read_frames(s, &dropped);
    if (n > 0) {
      if (take_message(s, n, dropped, out, from) == RLVR_OK) return RLVR_OK;
      continue;
    }
    int e = zmq_errno();
    if (e != EAGAIN && e != EINTR)
      return rlvr_error(RLVR_ERR_IO, "transport %s: receive: %s", kind_names[s->kind], zmq_strerror(e));
    long wait = -1;
    if (deadline >= 0) {
      wait = (long)(deadline - rlvr_time_ms());
      if (wait <= 0)
        return rlvr_error(RLVR_ERR_TIMEOUT, "transport %s: nothing received within %d ms", kind_names[s->kind],
                          timeout_ms);
    }
    zmq_pollitem_t item = {.socket = s->z, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, wait);
    if (rc < 0) {
      if (zmq_errno() == EINTR)
        return rlvr_error(RLVR_ERR_TIMEOUT, "transport %s: receive interrupted by a signal", kind_names[s->kind]);
      return rlvr_error(RLVR_ERR_IO, "transport %s: poll: %s", kind_names[s->kind], zmq_strerror(zmq_errno()));
    }
  }
}
