/* server.c — the learner process's loop over its sockets; see server.h. */
#include "learner/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "core/transport.h"
#include "learner/wsync_hub.h"

enum { LOOP_MS = 50, MAX_WORKERS = 4096 };

static int fmt(char *out, size_t cap, const char *f, ...) RLVR_PRINTF(3, 4);
static int fmt(char *out, size_t cap, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(out, cap, f, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < cap ? RLVR_OK : rlvr_error(RLVR_ERR_ARG, "endpoint too long");
}

int rlvr_endpoints_derive(const char *base, char *work, char *traj, char *weights, size_t cap) {
  if (!strncmp(base, "tcp://", 6)) {
    const char *colon = strrchr(base + 6, ':');
    if (!colon || colon == base + 6)
      return rlvr_error(RLVR_ERR_ARG, "endpoint %s: tcp needs HOST:PORT (or HOST:* for free ports)", base);
    const int hl = (int)(colon - base);
    if (!strcmp(colon + 1, "*")) {
      if (fmt(work, cap, "%s", base) || fmt(traj, cap, "%s", base) || fmt(weights, cap, "%s", base))
        return RLVR_ERR_ARG;
      return RLVR_OK;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (*end || errno || port < 1 || port > 65533)
      return rlvr_error(RLVR_ERR_ARG, "endpoint %s: the port must be 1..65533 (it and the next two are used) or *",
                        base);
    if (fmt(work, cap, "%.*s:%ld", hl, base, port) || fmt(traj, cap, "%.*s:%ld", hl, base, port + 1) ||
        fmt(weights, cap, "%.*s:%ld", hl, base, port + 2))
      return RLVR_ERR_ARG;
    return RLVR_OK;
  }
  if (!strncmp(base, "ipc://", 6) || !strncmp(base, "inproc://", 9)) {
    if (fmt(work, cap, "%s.work", base) || fmt(traj, cap, "%s.traj", base) || fmt(weights, cap, "%s.weights", base))
      return RLVR_ERR_ARG;
    return RLVR_OK;
  }
  return rlvr_error(RLVR_ERR_ARG, "endpoint %s: expected tcp://HOST:PORT, ipc:///PATH or inproc://NAME", base);
}

typedef struct {
  char id[RLVR_PROTO_MAX_NAME + 1];
  rlvr_peer peer;
  uint32_t want; /* max_groups of its waiting work_request; 0 = none */
  int has_version;  /* it said which policy version it holds */
  uint64_t version; /* the newest it said (work requests, trajectories) */
  int64_t version_ms; /* when it said so */
} worker_slot;

struct rlvr_server {
  const rlvr_server_options *o;
  void *zctx;
  rlvr_sock *work, *traj, *pub;
  rlvr_peers *peers;
  rlvr_learner *L;
  rlvr_transport_options topt;
  worker_slot *workers;
  int nworkers;
  int64_t workers_seen;
  int64_t last_hb_ms;
  int64_t last_publish_ms;
  uint64_t published; /* the version last published */
  int republish_count; /* times the current version was published again */
  int64_t first_publish_ms; /* when the current version was first published */
  int want_republish;
  char base[512];
  rlvr_wsync_hub *hub; /* learner.weight_sync = nccl or ipc: weights go GPU to GPU, not on pub */
};
typedef struct rlvr_server server;

/* ---- binding ---- */

static int port_of(const char *ep) {
  const char *c = strrchr(ep, ':');
  return c ? atoi(c + 1) : -1;
}

static void close_socks(server *s) {
  rlvr_sock_close(s->work);
  rlvr_sock_close(s->traj);
  rlvr_sock_close(s->pub);
  s->work = s->traj = s->pub = NULL;
}

static int bind_all(server *s, const char *base) {
  char w[512], t[512], p[512];
  int rc = rlvr_endpoints_derive(base, w, t, p, sizeof w);
  if (rc) return rc;
  const int any_port = !strncmp(base, "tcp://", 6) && !strcmp(strrchr(base, ':'), ":*");
  for (int attempt = 0; attempt < (any_port ? 64 : 1); attempt++) {
    if ((rc = rlvr_sock_open(&s->work, s->zctx, RLVR_SOCK_WORK_LEARNER, w, NULL, &s->topt))) return rc;
    const char *got = rlvr_sock_endpoint(s->work);
    if (any_port) {
      /* the next two ports for the other channels */
      const int port = port_of(got);
      const int hl = (int)(strrchr(got, ':') - got);
      if (port < 1 || port > 65533 || fmt(t, sizeof t, "%.*s:%d", hl, got, port + 1) ||
          fmt(p, sizeof p, "%.*s:%d", hl, got, port + 2)) {
        close_socks(s);
        continue;
      }
    }
    rc = rlvr_sock_open(&s->traj, s->zctx, RLVR_SOCK_TRAJ_LEARNER, t, NULL, &s->topt);
    if (!rc) rc = rlvr_sock_open(&s->pub, s->zctx, RLVR_SOCK_WEIGHTS_LEARNER, p, NULL, &s->topt);
    if (!rc) {
      if (any_port) {
        const char *e = rlvr_sock_endpoint(s->work);
        if (fmt(s->base, sizeof s->base, "%s", e)) return RLVR_ERR_ARG;
      } else if (fmt(s->base, sizeof s->base, "%s", base)) {
        return RLVR_ERR_ARG;
      }
      return RLVR_OK;
    }
    close_socks(s);
    if (!any_port) return rc;
  }
  return rlvr_error(RLVR_ERR_IO, "learner: found no three free ports in a row for %s", base);
}

/* ---- workers ---- */

static void peer_id(const rlvr_peer *p, char *out, size_t cap) {
  size_t n = p->len < cap - 1 ? p->len : cap - 1;
  memcpy(out, p->id, n);
  out[n] = 0;
}

static worker_slot *find_worker(server *s, const char *id) {
  for (int i = 0; i < s->nworkers; i++)
    if (!strcmp(s->workers[i].id, id)) return &s->workers[i];
  return NULL;
}

static worker_slot *add_worker(server *s, const rlvr_peer *p) {
  char id[RLVR_PROTO_MAX_NAME + 1];
  peer_id(p, id, sizeof id);
  worker_slot *w = find_worker(s, id);
  if (w) return w;
  if (s->nworkers >= MAX_WORKERS) return NULL;
  s->workers = xrealloc(s->workers, (size_t)(s->nworkers + 1) * sizeof *s->workers);
  w = &s->workers[s->nworkers++];
  memset(w, 0, sizeof *w);
  snprintf(w->id, sizeof w->id, "%s", id);
  w->peer = *p;
  s->workers_seen++;
  return w;
}

static void remove_worker(server *s, const char *id) {
  for (int i = 0; i < s->nworkers; i++)
    if (!strcmp(s->workers[i].id, id)) {
      s->workers[i] = s->workers[--s->nworkers];
      return;
    }
}

static void worker_gone(server *s, const char *id, const char *why) {
  rlvr_warn("learner: worker %s %s", id, why);
  if (s->hub) rlvr_wsync_hub_gone(s->hub, id, why);
  rlvr_learner_worker_lost(s->L, id);
  worker_slot *w = find_worker(s, id);
  if (w) rlvr_peers_forget(s->peers, &w->peer);
  remove_worker(s, id);
}

void rlvr_server_worker_gone(rlvr_server *s, const char *id) { worker_gone(s, id, "exited"); }

/* ---- weights ---- */

static int publish(void *ctx, uint64_t version, const rlvr_model *m) {
  server *s = ctx;
  if (s->hub) return rlvr_wsync_hub_publish(s->hub, version); /* GPU to GPU */
  rlvr_tensor *ts = xcalloc((size_t)m->num_tensors, sizeof *ts);
  for (int i = 0; i < m->num_tensors; i++) {
    const rlvr_tensor_info *t = &m->tensors[i];
    ts[i].name = t->name;
    ts[i].dtype = RLVR_DTYPE_F32;
    ts[i].ndim = t->ndim;
    ts[i].shape[0] = t->shape[0];
    ts[i].shape[1] = t->shape[1];
    ts[i].data = m->params_memory + t->offset;
    ts[i].nbytes = t->numel * sizeof(float);
  }
  rlvr_msg msg;
  memset(&msg, 0, sizeof msg);
  msg.type = RLVR_MSG_WEIGHTS;
  msg.weights.version = version;
  msg.weights.tensors = ts;
  msg.weights.ntensors = (uint32_t)m->num_tensors;
  int rc = rlvr_sock_send_weights(s->pub, &msg, NULL, NULL);
  free(ts);
  const int64_t now = rlvr_time_ms();
  if (version != s->published || s->first_publish_ms == 0) s->first_publish_ms = now;
  s->republish_count = version == s->published ? s->republish_count + 1 : 0;
  s->published = version;
  s->last_publish_ms = rlvr_time_ms();
  s->want_republish = 0;
  if (rc) rlvr_warn("learner: publishing version %" PRIu64 ": %s", version, rlvr_error_message());
  return RLVR_OK; /* a lost publish is recovered by publishing again */
}

static void heartbeats(server *s, int busy) {
  const int64_t now = rlvr_time_ms();
  if (now - s->last_hb_ms < s->topt.heartbeat_ms) return;
  s->last_hb_ms = now;
  for (int i = 0; i < s->nworkers; i++)
    rlvr_sock_send_heartbeat(s->work, &s->workers[i].peer, "learner",
                             busy ? RLVR_HEARTBEAT_BUSY : RLVR_HEARTBEAT_IDLE);
}

static void tick(void *ctx) { heartbeats(ctx, 1); }

/* Publishes the current version again when a worker evidently lacks it:
 * it never said which version it holds, or it said an older one after the
 * current one went out. PUB drops messages for subscribers that joined late
 * or whose queue was full. Backs off (1, 2, 4, ... 30 s between copies of
 * one version), since a worker says what it holds only when it asks for
 * work or answers, and a version may be gigabytes. */
static void maybe_republish(server *s) {
  const uint64_t v = rlvr_learner_version(s->L);
  int behind = s->want_republish;
  for (int i = 0; i < s->nworkers && !behind; i++) {
    const worker_slot *w = &s->workers[i];
    behind = !w->has_version || (w->version < v && w->version_ms > s->first_publish_ms);
  }
  if (!behind) return;
  int64_t wait = 1000;
  for (int k = 0; k < s->republish_count && wait < 30000; k++) wait *= 2;
  if (s->published == v && rlvr_time_ms() - s->last_publish_ms < wait) return;
  publish(s, v, rlvr_learner_model(s->L));
}

/* ---- messages ---- */

static void on_work_msg(server *s, rlvr_msg *m, const rlvr_peer *from) {
  char id[RLVR_PROTO_MAX_NAME + 1];
  peer_id(from, id, sizeof id);
  if (s->hub) rlvr_wsync_hub_heard(s->hub, id);
  switch (m->type) {
  case RLVR_MSG_HELLO:
    if (!find_worker(s, id))
      rlvr_info("learner: worker %s connected (pid %u on %s)", id, m->hello.pid, m->hello.host);
    add_worker(s, from);
    s->want_republish = 1; /* it has no weights yet */
    if (s->hub) rlvr_wsync_hub_hello(s->hub, id, &m->hello);
    break;
  case RLVR_MSG_WSYNC_ACK:
    add_worker(s, from);
    if (s->hub) rlvr_wsync_hub_ack(s->hub, id, &m->wsync_ack);
    break;
  case RLVR_MSG_WORK_REQUEST: {
    worker_slot *w = add_worker(s, from);
    if (!w) break;
    w->want = m->work_request.max_groups;
    if (m->work_request.has_policy_version) {
      w->has_version = 1;
      w->version = m->work_request.policy_version;
      w->version_ms = rlvr_time_ms();
    }
    break;
  }
  case RLVR_MSG_HEARTBEAT:
    add_worker(s, from);
    if (m->heartbeat.status == RLVR_HEARTBEAT_STOPPING) worker_gone(s, id, "is stopping");
    break;
  case RLVR_MSG_STATS:
    rlvr_debug("learner: stats from %s (%u values)", id, m->stats.nvalues);
    break;
  case RLVR_MSG_ERROR:
    rlvr_warn("learner: worker %s reports error %d: %s", id, m->error.code, m->error.message);
    if (m->error.has_work_id) {
      rlvr_learner_work_failed(s->L, m->error.work_id);
      s->want_republish = 1; /* the usual cause: it waited for weights that never came */
    } else if (s->hub) {
      rlvr_wsync_hub_error(s->hub, id, m->error.code, m->error.message);
    }
    break;
  default:
    break;
  }
}

static int serve_requests(server *s) {
  for (int i = 0; i < s->nworkers; i++) {
    worker_slot *w = &s->workers[i];
    if (!w->want) continue;
    /* GPU weight sync: only a worker that confirmed the current version */
    if (s->hub && !rlvr_wsync_hub_holds(s->hub, w->id, rlvr_learner_version(s->L))) continue;
    if (rlvr_learner_wanted(s->L) == 0) break;
    rlvr_msg work;
    int rc = rlvr_learner_work(s->L, w->id, w->want, &work);
    if (rc) return rc;
    if (work.work.ngroups == 0) continue;
    w->want = 0;
    if (rlvr_sock_send(s->work, &w->peer, &work) != RLVR_OK) {
      char id[sizeof w->id];
      snprintf(id, sizeof id, "%s", w->id);
      worker_gone(s, id, "cannot be reached");
      i--;
    }
  }
  return RLVR_OK;
}

/* Writes off the silent; their groups go to the others. */
static void expire_silent(server *s) {
  rlvr_peer dead[16];
  int nd = rlvr_peers_expire(s->peers, rlvr_time_ms(), dead, 16);
  for (int i = 0; i < nd; i++) {
    char id[RLVR_PROTO_MAX_NAME + 1];
    peer_id(&dead[i], id, sizeof id);
    if (find_worker(s, id)) worker_gone(s, id, "stopped answering");
  }
}

static void read_work(server *s) {
  for (int k = 0; k < 1000; k++) {
    rlvr_msg m;
    rlvr_peer from;
    if (rlvr_sock_recv(s->work, &m, &from, 0) != RLVR_OK) break;
    on_work_msg(s, &m, &from);
    rlvr_msg_free(&m);
  }
}

/* GPU weight sync at the end of a run: the final version reaches every
 * worker (and CUDA IPC readers are done reading the slots, which go with
 * this process) before the shutdown; bounded by the weight sync timeout
 * plus the peer timeout. */
static int drain_wsync(server *s) {
  const uint64_t v = rlvr_learner_version(s->L);
  /* long enough to write a silent worker off and make a new communicator */
  const int64_t until = rlvr_time_ms() + s->o->cfg->learner_weight_sync_timeout_ms + s->topt.peer_timeout_ms;
  int rc = RLVR_OK;
  while (!rc && !rlvr_wsync_hub_settled(s->hub, v) && rlvr_time_ms() < until && !(s->o->stop && *s->o->stop)) {
    zmq_pollitem_t it = {rlvr_sock_zmq(s->work), 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, LOOP_MS);
    read_work(s);
    expire_silent(s);
    heartbeats(s, 0);
    rc = rlvr_wsync_hub_poll(s->hub, v);
    if (!rc && s->o->each_loop) rc = s->o->each_loop(s->o->ctx, s);
  }
  if (!rc && !rlvr_wsync_hub_settled(s->hub, v))
    rlvr_warn("learner: not every worker confirmed the final version %" PRIu64 " before the shutdown", v);
  return rc;
}

static int64_t rejected_total(server *s) {
  rlvr_sock_counters c;
  int64_t r = 0;
  rlvr_sock_get_counters(s->work, &c);
  r += (int64_t)c.rejected;
  rlvr_sock_get_counters(s->traj, &c);
  r += (int64_t)c.rejected;
  return r;
}

static void shutdown_workers(server *s, const char *reason) {
  rlvr_msg m;
  memset(&m, 0, sizeof m);
  m.type = RLVR_MSG_SHUTDOWN;
  m.shutdown.reason = reason;
  for (int i = 0; i < s->nworkers; i++) rlvr_sock_send(s->work, &s->workers[i].peer, &m);
  if (s->pub) rlvr_sock_send(s->pub, NULL, &m);
}

/* ---- the weight sync hub's calls ---- */

static int hub_send(void *ctx, const char *id, const rlvr_msg *m) {
  server *s = ctx;
  worker_slot *w = find_worker(s, id);
  if (!w) return rlvr_error(RLVR_ERR_ARG, "worker %s is not connected", id);
  return rlvr_sock_send(s->work, &w->peer, m);
}

static void hub_drop(void *ctx, const char *id, const char *why) {
  server *s = ctx;
  if (find_worker(s, id)) worker_gone(s, id, why);
}

static void hub_alive(void *ctx, const char *id) {
  server *s = ctx;
  worker_slot *w = find_worker(s, id);
  if (w) rlvr_peers_seen(s->peers, &w->peer, rlvr_time_ms());
}

rlvr_learner *rlvr_server_learner(rlvr_server *s) { return s->L; }
const rlvr_wsync_hub *rlvr_server_wsync(const rlvr_server *s) { return s->hub; }

int rlvr_learner_serve(const rlvr_server_options *o, rlvr_server_result *res) {
  server s;
  memset(&s, 0, sizeof s);
  s.o = o;
  if (res) memset(res, 0, sizeof *res);
  rlvr_transport_options_from_config(&s.topt, o->cfg);
  rlvr_learner_env env = o->env;
  env.publish = publish;
  env.publish_ctx = &s;
  env.tick = tick;
  env.tick_ctx = &s;
  int rc = rlvr_learner_build(&s.L, o->cfg, &env);
  if (rc) return rc;
  if (strcmp(o->cfg->learner_weight_sync, "zmq")) {
    const rlvr_wsync_hub_io io = {.send = hub_send, .drop = hub_drop, .alive = hub_alive, .ctx = &s};
    if ((rc = rlvr_wsync_hub_build(&s.hub, o->cfg, rlvr_learner_gpu(s.L), &io))) {
      rlvr_learner_free(s.L);
      return rc;
    }
  }
  s.zctx = zmq_ctx_new();
  RLVR_CHECK(s.zctx, "zmq_ctx_new failed");
  if ((rc = bind_all(&s, o->endpoint))) goto out;
  rlvr_info("learner: listening on %s (work), +1 trajectories, +2 weights", s.base);
  s.peers = rlvr_peers_new(s.topt.peer_timeout_ms);
  rlvr_sock_track(s.work, s.peers);
  if (!s.hub) publish(&s, rlvr_learner_version(s.L), rlvr_learner_model(s.L));
  if (o->on_bound && (rc = o->on_bound(o->ctx, s.base))) goto out;
  const int64_t steps0 = (int64_t)rlvr_learner_version(s.L);
  while (!rlvr_learner_done(s.L) && !(o->stop && *o->stop)) {
    zmq_pollitem_t items[2] = {{rlvr_sock_zmq(s.work), 0, ZMQ_POLLIN, 0}, {rlvr_sock_zmq(s.traj), 0, ZMQ_POLLIN, 0}};
    zmq_poll(items, 2, LOOP_MS);
    read_work(&s);
    for (int k = 0; k < 1000; k++) {
      rlvr_msg m;
      if (rlvr_sock_recv(s.traj, &m, NULL, 0) != RLVR_OK) break;
      worker_slot *w = find_worker(&s, m.trajectories.worker_id);
      if (w && (!w->has_version || m.trajectories.policy_version > w->version)) {
        w->has_version = 1;
        w->version = m.trajectories.policy_version;
        w->version_ms = rlvr_time_ms();
      }
      rlvr_learner_accept(s.L, &m.trajectories);
      rlvr_msg_free(&m);
    }
    expire_silent(&s);
    if (s.hub && (rc = rlvr_wsync_hub_poll(s.hub, rlvr_learner_version(s.L)))) break;
    if ((rc = serve_requests(&s))) break;
    heartbeats(&s, 0);
    if (!s.hub) maybe_republish(&s);
    rlvr_learner_set_rejected(s.L, rejected_total(&s));
    int stepped;
    if ((rc = rlvr_learner_try_step(s.L, &stepped))) break;
    if (o->each_loop && (rc = o->each_loop(o->ctx, &s))) break;
  }
  if (res) {
    res->steps = (int64_t)rlvr_learner_version(s.L) - steps0;
    res->version = (int64_t)rlvr_learner_version(s.L);
    res->stopped = o->stop && *o->stop;
    res->rejected = rejected_total(&s);
    res->workers_seen = s.workers_seen;
  }
  if (rc == RLVR_OK && s.hub && rlvr_learner_done(s.L)) rc = drain_wsync(&s);
  if (rc == RLVR_OK) {
    if (rlvr_learner_done(s.L)) {
      rc = rlvr_learner_finish(s.L);
    } else if (o->cfg->checkpoint_at_exit) {
      rlvr_info("learner: stopping; writing a checkpoint of step %" PRIu64, rlvr_learner_version(s.L));
      rc = rlvr_learner_checkpoint(s.L);
    }
  }
out:
  if (s.work)
    shutdown_workers(&s, rc != RLVR_OK                         ? "the learner failed"
                         : rlvr_learner_done(s.L) ? "the run is over"
                                                  : "the learner stopped (a checkpoint was written)");
  close_socks(&s);
  rlvr_peers_free(s.peers);
  free(s.workers);
  rlvr_wsync_hub_free(s.hub); /* before the learner: it leaves the communicator */
  rlvr_learner_free(s.L);
  zmq_ctx_term(s.zctx);
  return rc;
}
