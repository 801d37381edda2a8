/* test_transport.c — core/transport over inproc://, ipc:// and tcp:// on
 * 127.0.0.1 (ephemeral ports read back from ZMQ_LAST_ENDPOINT):
 *   - every channel carries its messages (work both ways, trajectories,
 *     weights inline and as zero-copy frames with exactly one release);
 *   - garbage sent to each receiving socket type (ROUTER, DEALER, PULL, SUB) by
 *     raw ZeroMQ peers is rejected and counted while valid traffic continues;
 *     on tcp, raw bytes that are not ZMTP leave the socket working;
 *   - ROUTER_MANDATORY (unknown peer), send timeouts, size caps;
 *   - heartbeats: rlvr_peers on a driven clock, and dead-peer detection both
 *     ways with short timeouts.
 * Everything runs in one thread; timeouts are short but generous for a
 * loaded 2-core machine under ASan. */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "core/error.h"
#include "core/log.h"
#include "core/protocol.h"
#include "core/transport.h"
#include "testing.h"

static void *ctx;
static rlvr_transport_options opt;

/* --- a few messages ------------------------------------------------------ */

static const int32_t prompt[] = {5, 6, 7};
static const int32_t toks[] = {10, 11, 12, 13};
static const uint8_t mask[] = {1, 1, 0, 1};
static const float lps[] = {-0.1f, -0.2f, -0.3f, -0.4f};
static const rlvr_named_value comps[] = {{"accuracy", 1}};

static rlvr_msg traj_msg(uint64_t work_id, rlvr_sample *s, rlvr_traj_group *g) {
  *s = (rlvr_sample){.tokens = toks, .mask = mask, .logprobs = lps, .ntokens = 4, .reward = 1, .components = comps,
                     .ncomponents = 1, .advantage = 0.5, .verifier = "math", .verifier_version = "1", .seed = 3};
  *g = (rlvr_traj_group){.group_id = 7, .prompt_ids = prompt, .nprompt = 3, .samples = s, .nsamples = 1};
  rlvr_msg m = {.type = RLVR_MSG_TRAJECTORIES};
  m.trajectories = (rlvr_msg_trajectories){.work_id = work_id, .worker_id = "w1", .policy_version = 1, .groups = g,
                                           .ngroups = 1};
  return m;
}

static rlvr_msg work_msg(uint64_t work_id, rlvr_prompt_group *g) {
  *g = (rlvr_prompt_group){.group_id = 7, .prompt_ids = prompt, .nprompt = 3, .prompt = "p", .g = 1, .reference = "4",
                           .verifier = "math"};
  rlvr_msg m = {.type = RLVR_MSG_WORK};
  m.work = (rlvr_msg_work){.work_id = work_id, .policy_version = 1,
                           .sampling = {.temperature = 1, .top_p = 1, .max_tokens = 8, .seed = 1}, .groups = g,
                           .ngroups = 1};
  return m;
}

static rlvr_msg request_msg(const char *id) {
  rlvr_msg m = {.type = RLVR_MSG_WORK_REQUEST};
  m.work_request = (rlvr_msg_work_request){.worker_id = id, .max_groups = 2};
  return m;
}

/* A valid encoded message of the given kind, for raw sockets to send. */
static void encoded(const rlvr_msg *m, rlvr_buf *b) { CHECK(rlvr_msg_encode(m, 0, b) == RLVR_OK); }

static uint64_t rejected(rlvr_sock *s) {
  rlvr_sock_counters c;
  rlvr_sock_get_counters(s, &c);
  return c.rejected;
}

/* Receives, expecting a message of type t within timeout. */
static int recv_type(rlvr_sock *s, rlvr_msg_type t, rlvr_peer *from, int timeout_ms, const char *what) {
  rlvr_msg m;
  int rc = rlvr_sock_recv(s, &m, from, timeout_ms);
  CHECK_MSG(rc == RLVR_OK, "%s: %s", what, rlvr_error_message());
  CHECK_MSG(rc != RLVR_OK || m.type == t, "%s: got %s, want %s", what, rlvr_msg_type_name(m.type), rlvr_msg_type_name(t));
  int ok = rc == RLVR_OK && m.type == t;
  rlvr_msg_free(&m);
  return ok;
}

/* A raw ZeroMQ socket (the attacker), with a short linger. */
static void *raw(int type, const char *endpoint, int bind, const char *id) {
  void *z = zmq_socket(ctx, type);
  int zero = 0;
  zmq_setsockopt(z, ZMQ_LINGER, &zero, sizeof zero);
  if (id) zmq_setsockopt(z, ZMQ_ROUTING_ID, id, strlen(id));
  if (type == ZMQ_SUB) zmq_setsockopt(z, ZMQ_SUBSCRIBE, "", 0);
  int rc = bind ? zmq_bind(z, endpoint) : zmq_connect(z, endpoint);
  CHECK_MSG(rc == 0, "raw %s %s: %s", bind ? "bind" : "connect", endpoint, zmq_strerror(zmq_errno()));
  return z;
}

static void raw_send(void *z, const void *a, size_t na, const void *b, size_t nb) {
  zmq_send(z, a, na, b ? ZMQ_SNDMORE : 0);
  if (b) zmq_send(z, b, nb, 0);
}

static void endpoint_for(const char *transport, const char *name, char *out, size_t cap) {
  if (!strcmp(transport, "inproc")) snprintf(out, cap, "inproc://%s", name);
  else if (!strcmp(transport, "ipc")) snprintf(out, cap, "ipc:///tmp/rlvr-test-%d-%s.ipc", (int)getpid(), name);
  else snprintf(out, cap, "tcp://127.0.0.1:*");
}

static atomic_int released; /* a ZeroMQ I/O thread may release */
static void on_release(void *hint) { atomic_fetch_add(&released, *(int *)hint); }

/* ------------------------------------------------------------------------ */

static void test_channels(const char *transport) {
  printf("-- %s\n", transport);
  char ew[128], et[128], ep[128], eg[128];
  endpoint_for(transport, "work", ew, sizeof ew);
  endpoint_for(transport, "traj", et, sizeof et);
  endpoint_for(transport, "weights", ep, sizeof ep);
  rlvr_sock *lw, *lt, *lp, *ww, *wt, *wp;
  CHECK(rlvr_sock_open(&lw, ctx, RLVR_SOCK_WORK_LEARNER, ew, NULL, &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&lt, ctx, RLVR_SOCK_TRAJ_LEARNER, et, NULL, &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&lp, ctx, RLVR_SOCK_WEIGHTS_LEARNER, ep, NULL, &opt) == RLVR_OK);
  if (!strcmp(transport, "tcp")) CHECK(strncmp(rlvr_sock_endpoint(lw), "tcp://127.0.0.1:", 16) == 0 &&
                                       strcmp(rlvr_sock_endpoint(lw), "tcp://127.0.0.1:*") != 0);
  CHECK(rlvr_sock_open(&ww, ctx, RLVR_SOCK_WORK_WORKER, rlvr_sock_endpoint(lw), "w1", &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&wt, ctx, RLVR_SOCK_TRAJ_WORKER, rlvr_sock_endpoint(lt), NULL, &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&wp, ctx, RLVR_SOCK_WEIGHTS_WORKER, rlvr_sock_endpoint(lp), NULL, &opt) == RLVR_OK);

  /* Work channel both ways. */
  rlvr_msg req = request_msg("w1"), m;
  rlvr_peer from, w1;
  rlvr_peer_set(&w1, "w1");
  CHECK(rlvr_sock_send(ww, NULL, &req) == RLVR_OK);
  CHECK(recv_type(lw, RLVR_MSG_WORK_REQUEST, &from, 2000, "work request"));
  CHECK(from.len == 2 && !memcmp(from.id, "w1", 2));
  rlvr_prompt_group pg;
  rlvr_msg work = work_msg(41, &pg);
  CHECK(rlvr_sock_send(lw, &from, &work) == RLVR_OK);
  CHECK(rlvr_sock_recv(ww, &m, NULL, 2000) == RLVR_OK && m.type == RLVR_MSG_WORK && m.work.work_id == 41);
  rlvr_msg_free(&m);
  /* A message that does not go on a socket is refused at the sender. */
  CHECK(rlvr_sock_send(ww, NULL, &work) == RLVR_ERR_ARG);
  /* ROUTER_MANDATORY: an unknown peer is an error, not a silent drop. */
  rlvr_peer nobody;
  rlvr_peer_set(&nobody, "nobody");
  CHECK(rlvr_sock_send(lw, &nobody, &work) == RLVR_ERR_IO);
  CHECK(strstr(rlvr_error_message(), "no peer 'nobody'") != NULL);
  /* GPU weight sync set-up on the work channel: wsync_init and wsync to the
   * worker, wsync_ack back; never the other way, never on the weights PUB. */
  uint8_t nccl_id[RLVR_PROTO_NCCL_ID_BYTES] = {7};
  rlvr_msg wi = {.type = RLVR_MSG_WSYNC_INIT};
  wi.wsync_init = (rlvr_msg_wsync_init){.method = RLVR_WSYNC_METHOD_NCCL, .layout = 99, .bytes = 512,
                                        .bucket_bytes = 256, .timeout_ms = 1000, .unique_id = nccl_id, .rank = 1,
                                        .nranks = 2};
  CHECK(rlvr_sock_send(lw, &from, &wi) == RLVR_OK);
  CHECK(rlvr_sock_recv(ww, &m, NULL, 2000) == RLVR_OK && m.type == RLVR_MSG_WSYNC_INIT && m.wsync_init.rank == 1 &&
        m.wsync_init.unique_id[0] == 7);
  rlvr_msg_free(&m);
  rlvr_msg ws = {.type = RLVR_MSG_WSYNC};
  ws.wsync = (rlvr_msg_wsync){.version = 3};
  CHECK(rlvr_sock_send(lw, &from, &ws) == RLVR_OK);
  CHECK(rlvr_sock_recv(ww, &m, NULL, 2000) == RLVR_OK && m.type == RLVR_MSG_WSYNC && m.wsync.version == 3);
  rlvr_msg_free(&m);
  rlvr_msg wa = {.type = RLVR_MSG_WSYNC_ACK};
  wa.wsync_ack = (rlvr_msg_wsync_ack){.worker_id = "w1", .has_version = 1, .version = 3};
  CHECK(rlvr_sock_send(ww, NULL, &wa) == RLVR_OK);
  CHECK(recv_type(lw, RLVR_MSG_WSYNC_ACK, &from, 2000, "wsync_ack"));
  CHECK(rlvr_sock_send(lw, &from, &wa) == RLVR_ERR_ARG && rlvr_sock_send(ww, NULL, &wi) == RLVR_ERR_ARG);
  CHECK(rlvr_sock_send(lp, NULL, &ws) == RLVR_ERR_ARG);

  /* Trajectories. */
  rlvr_sample smp;
  rlvr_traj_group tg;
  rlvr_msg traj = traj_msg(41, &smp, &tg);
  CHECK(rlvr_sock_send(wt, NULL, &traj) == RLVR_OK);
  CHECK(rlvr_sock_recv(lt, &m, NULL, 2000) == RLVR_OK && m.type == RLVR_MSG_TRAJECTORIES &&
        m.trajectories.groups[0].samples[0].ntokens == 4 && m.trajectories.groups[0].samples[0].logprobs[3] == -0.4f);
  rlvr_msg_free(&m);

  /* Weights as zero-copy frames (1 MB tensor) and inline. The first sends may
   * go before the subscription arrives (PUB drops them): publish until one
   * is received. Each send releases exactly once. */
  size_t nbig = 1 << 18;
  float *big = malloc(nbig * sizeof *big);
  for (size_t i = 0; i < nbig; i++) big[i] = (float)i;
  uint8_t small[6] = {1, 2, 3, 4, 5, 6};
  rlvr_tensor ts[2] = {{.name = "big", .dtype = RLVR_DTYPE_F32, .ndim = 2, .shape = {512, 512}, .data = big,
                        .nbytes = nbig * 4},
                       {.name = "small", .dtype = RLVR_DTYPE_U8, .ndim = 1, .shape = {6}, .data = small, .nbytes = 6}};
  rlvr_msg wm = {.type = RLVR_MSG_WEIGHTS};
  wm.weights = (rlvr_msg_weights){.version = 5, .tensors = ts, .ntensors = 2};
  int one = 1, sends = 0, got = 0;
  released = 0;
  for (int tries = 0; tries < 200 && !got; tries++) {
    CHECK(rlvr_sock_send_weights(lp, &wm, on_release, &one) == RLVR_OK);
    sends++;
    if (rlvr_sock_recv(wp, &m, NULL, 20) == RLVR_OK) {
      got = 1;
      CHECK(m.type == RLVR_MSG_WEIGHTS && m.weights.version == 5 && m.weights.ntensors == 2);
      CHECK(m.weights.tensors[0].nbytes == nbig * 4 && !memcmp(m.weights.tensors[0].data, big, nbig * 4));
      CHECK(!memcmp(m.weights.tensors[1].data, small, 6));
      if (!strcmp(transport, "inproc")) CHECK(m.weights.tensors[0].data == big); /* zero copy end to end */
      rlvr_msg_free(&m);
    }
  }
  CHECK_MSG(got, "%s: weights never arrived", transport);
  for (int i = 0; i < 200 && released < sends; i++) usleep(5000); /* the I/O thread may release late */
  CHECK_MSG(released == sends, "%s: %d releases for %d sends", transport, released, sends);
  wm.weights.version = 6;
  CHECK(rlvr_sock_send(lp, NULL, &wm) == RLVR_OK);
  CHECK(rlvr_sock_recv(wp, &m, NULL, 2000) == RLVR_OK && m.weights.version == 6 &&
        !memcmp(m.weights.tensors[0].data, big, nbig * 4));
  rlvr_msg_free(&m);

  /* Garbage to the ROUTER from a raw DEALER: random bytes, a message that
   * belongs on another channel, two frames, a bad field; then valid traffic. */
  rlvr_buf b = {0};
  void *evil = raw(ZMQ_DEALER, rlvr_sock_endpoint(lw), 0, "evil");
  uint64_t r0 = rejected(lw);
  raw_send(evil, "\xde\xad\xbe\xef", 4, NULL, 0);
  encoded(&traj, &b);
  raw_send(evil, b.data, b.len, NULL, 0);
  encoded(&req, &b);
  raw_send(evil, b.data, b.len, "x", 1);
  b.data[b.len - 1] = 0x00; /* max_groups (the last field, a fixint) = 0: out of range */
  raw_send(evil, b.data, b.len, NULL, 0);
  raw_send(evil, "", 0, NULL, 0);
  /* Then a valid message on the same connection (so it arrives after the
   * garbage), and one from the real worker. */
  encoded(&req, &b);
  raw_send(evil, b.data, b.len, NULL, 0);
  CHECK(rlvr_sock_send(ww, NULL, &req) == RLVR_OK);
  int from_evil = 0, from_w1 = 0;
  for (int i = 0; i < 2; i++) {
    CHECK(recv_type(lw, RLVR_MSG_WORK_REQUEST, &from, 2000, "work request after garbage"));
    from_evil += from.len == 4 && !memcmp(from.id, "evil", 4);
    from_w1 += from.len == 2 && !memcmp(from.id, "w1", 2);
  }
  CHECK(from_evil == 1 && from_w1 == 1);
  CHECK_MSG(rejected(lw) - r0 == 5, "%s ROUTER rejected %llu, want 5", transport, (unsigned long long)(rejected(lw) - r0));
  zmq_close(evil);

  /* Garbage to the DEALER from a raw ROUTER it connects to. */
  endpoint_for(transport, "evilrouter", eg, sizeof eg);
  void *er = raw(ZMQ_ROUTER, eg, 1, NULL);
  char resolved[256];
  size_t rl = sizeof resolved;
  zmq_getsockopt(er, ZMQ_LAST_ENDPOINT, resolved, &rl);
  rlvr_sock *w2;
  CHECK(rlvr_sock_open(&w2, ctx, RLVR_SOCK_WORK_WORKER, resolved, "w2", &opt) == RLVR_OK);
  CHECK(rlvr_sock_send(w2, NULL, &req) == RLVR_OK);
  char idbuf[16], body[256];
  zmq_pollitem_t pi = {.socket = er, .events = ZMQ_POLLIN};
  CHECK(zmq_poll(&pi, 1, 2000) == 1);
  int idn = zmq_recv(er, idbuf, sizeof idbuf, 0);
  zmq_recv(er, body, sizeof body, 0);
  CHECK(idn == 2 && !memcmp(idbuf, "w2", 2));
  r0 = rejected(w2);
  raw_send(er, idbuf, (size_t)idn, "\x81\xa4type", 6); /* truncated */
  zmq_send(er, idbuf, (size_t)idn, ZMQ_SNDMORE);
  encoded(&req, &b); /* a work request goes the other way */
  raw_send(er, b.data, b.len, NULL, 0);
  zmq_send(er, idbuf, (size_t)idn, ZMQ_SNDMORE);
  encoded(&work, &b);
  raw_send(er, b.data, b.len, NULL, 0);
  CHECK(recv_type(w2, RLVR_MSG_WORK, NULL, 2000, "work after garbage"));
  CHECK_MSG(rejected(w2) - r0 == 2, "%s DEALER rejected %llu, want 2", transport, (unsigned long long)(rejected(w2) - r0));
  rlvr_sock_close(w2);
  zmq_close(er);

  /* Garbage to the PULL from a raw PUSH. */
  void *ep2 = raw(ZMQ_PUSH, rlvr_sock_endpoint(lt), 0, NULL);
  r0 = rejected(lt);
  raw_send(ep2, "\x92\x01\x02", 3, NULL, 0);          /* an array */
  encoded(&work, &b);
  raw_send(ep2, b.data, b.len, NULL, 0);              /* wrong channel */
  encoded(&traj, &b);
  b.data[4] = 'X';                                    /* "type" key corrupted */
  raw_send(ep2, b.data, b.len, NULL, 0);
  encoded(&traj, &b);
  raw_send(ep2, b.data, b.len, b.data, b.len);        /* two frames */
  raw_send(ep2, b.data, b.len, NULL, 0);              /* and a valid one from the raw peer */
  CHECK(recv_type(lt, RLVR_MSG_TRAJECTORIES, NULL, 2000, "trajectories after garbage"));
  CHECK_MSG(rejected(lt) - r0 == 4, "%s PULL rejected %llu, want 4", transport, (unsigned long long)(rejected(lt) - r0));
  CHECK(rlvr_sock_send(wt, NULL, &traj) == RLVR_OK);
  CHECK(recv_type(lt, RLVR_MSG_TRAJECTORIES, NULL, 2000, "trajectories from the worker"));
  zmq_close(ep2);

  /* Garbage to the SUB from a raw PUB it connects to (published until the
   * subscription is up: every round is garbage then one valid shutdown). */
  endpoint_for(transport, "evilpub", eg, sizeof eg);
  void *epub = raw(ZMQ_PUB, eg, 1, NULL);
  rl = sizeof resolved;
  zmq_getsockopt(epub, ZMQ_LAST_ENDPOINT, resolved, &rl);
  rlvr_sock *wp2;
  CHECK(rlvr_sock_open(&wp2, ctx, RLVR_SOCK_WEIGHTS_WORKER, resolved, NULL, &opt) == RLVR_OK);
  rlvr_msg sd = {.type = RLVR_MSG_SHUTDOWN};
  sd.shutdown.reason = "done";
  encoded(&sd, &b);
  got = 0;
  for (int tries = 0; tries < 200 && !got; tries++) {
    raw_send(epub, b.data, b.len, NULL, 0);
    got = rlvr_sock_recv(wp2, &m, NULL, 20) == RLVR_OK;
    rlvr_msg_free(&m);
  }
  CHECK_MSG(got, "%s: the raw PUB never reached the SUB", transport);
  r0 = rejected(wp2);
  raw_send(epub, "\xc1", 1, NULL, 0);
  encoded(&wm, &b);
  b.data[b.len - 2] ^= 1; /* a checksum byte of the last tensor */
  raw_send(epub, b.data, b.len, NULL, 0);
  encoded(&traj, &b);
  raw_send(epub, b.data, b.len, NULL, 0); /* not for this channel */
  encoded(&sd, &b);
  raw_send(epub, b.data, b.len, NULL, 0);
  CHECK(rlvr_sock_recv(wp2, &m, NULL, 2000) == RLVR_OK && m.type == RLVR_MSG_SHUTDOWN && !strcmp(m.shutdown.reason, "done"));
  rlvr_msg_free(&m);
  CHECK_MSG(rejected(wp2) - r0 == 3, "%s SUB rejected %llu, want 3", transport, (unsigned long long)(rejected(wp2) - r0));
  rlvr_sock_counters c;
  rlvr_sock_get_counters(wp2, &c);
  CHECK_MSG(strstr(c.last_reject, "a trajectories message does not belong") != NULL, "last reject: %s", c.last_reject);
  rlvr_sock_close(wp2);
  zmq_close(epub);

  /* tcp: bytes that are not ZMTP/3, straight to the port. (libzmq takes a
   * first byte other than 0xff for a ZMTP/1.0 peer and may deliver the junk
   * as a message: the decoder rejects it like any other garbage.) */
  if (!strcmp(transport, "tcp")) {
    int port = atoi(strrchr(rlvr_sock_endpoint(lw), ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char junk[1024];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 37 + 11);
    CHECK(write(fd, junk, sizeof junk) > 0);
    close(fd);
    CHECK(rlvr_sock_send(ww, NULL, &req) == RLVR_OK);
    CHECK(recv_type(lw, RLVR_MSG_WORK_REQUEST, NULL, 2000, "work request after raw tcp junk"));
  }

  rlvr_sock_get_counters(lw, &c);
  printf("ok   %s: work-learner received %llu, rejected %llu; last: %s\n", transport, (unsigned long long)c.received,
         (unsigned long long)c.rejected, c.last_reject);
  free(big);
  rlvr_buf_free(&b);
  rlvr_sock_close(ww), rlvr_sock_close(wt), rlvr_sock_close(wp);
  rlvr_sock_close(lw), rlvr_sock_close(lt), rlvr_sock_close(lp);
}

/* Size caps: inproc does not enforce ZMQ_MAXMSGSIZE, the transport does. On
 * tcp, ZeroMQ drops the connection of a peer that sends too much; a new
 * connection works. */
static void test_caps(void) {
  rlvr_transport_options o = opt;
  o.max_msg_bytes = 1000; /* a trajectories message of test size is ~250 bytes */
  rlvr_sock *lt, *wt;
  CHECK(rlvr_sock_open(&lt, ctx, RLVR_SOCK_TRAJ_LEARNER, "inproc://caps", NULL, &o) == RLVR_OK);
  CHECK(rlvr_sock_open(&wt, ctx, RLVR_SOCK_TRAJ_WORKER, "inproc://caps", NULL, &o) == RLVR_OK);
  void *ep = raw(ZMQ_PUSH, "inproc://caps", 0, NULL);
  char big[1200] = {0};
  raw_send(ep, big, sizeof big, NULL, 0);
  rlvr_sample s;
  rlvr_traj_group g;
  rlvr_msg traj = traj_msg(1, &s, &g);
  rlvr_buf b = {0};
  encoded(&traj, &b);
  raw_send(ep, b.data, b.len, NULL, 0); /* after the oversized one, on the same pipe */
  rlvr_buf_free(&b);
  CHECK(rlvr_sock_send(wt, NULL, &traj) == RLVR_OK);
  CHECK(recv_type(lt, RLVR_MSG_TRAJECTORIES, NULL, 2000, "trajectories after an oversized message"));
  CHECK(recv_type(lt, RLVR_MSG_TRAJECTORIES, NULL, 2000, "trajectories after an oversized message"));
  rlvr_sock_counters c;
  rlvr_sock_get_counters(lt, &c);
  CHECK_MSG(c.rejected == 1 && strstr(c.last_reject, "1200 bytes, over the cap of 1000"), "caps: %s", c.last_reject);
  zmq_close(ep);
  rlvr_sock_close(wt), rlvr_sock_close(lt);

  /* tcp */
  CHECK(rlvr_sock_open(&lt, ctx, RLVR_SOCK_TRAJ_LEARNER, "tcp://127.0.0.1:*", NULL, &o) == RLVR_OK);
  ep = raw(ZMQ_PUSH, rlvr_sock_endpoint(lt), 0, NULL);
  raw_send(ep, big, sizeof big, NULL, 0);
  rlvr_msg m;
  CHECK(rlvr_sock_recv(lt, &m, NULL, 200) == RLVR_ERR_TIMEOUT);
  zmq_close(ep);
  CHECK(rlvr_sock_open(&wt, ctx, RLVR_SOCK_TRAJ_WORKER, rlvr_sock_endpoint(lt), NULL, &o) == RLVR_OK);
  CHECK(rlvr_sock_send(wt, NULL, &traj) == RLVR_OK);
  CHECK(recv_type(lt, RLVR_MSG_TRAJECTORIES, NULL, 2000, "tcp trajectories after an oversized message"));
  rlvr_sock_close(wt), rlvr_sock_close(lt);
}

/* A full queue makes a send give up after send_timeout_ms. */
static void test_send_timeout(void) {
  rlvr_transport_options o = opt;
  o.hwm_traj = 1;
  o.send_timeout_ms = 50;
  o.linger_ms = 0;
  rlvr_sock *wt;
  /* Connected to a port nobody listens on: messages queue, then block. */
  CHECK(rlvr_sock_open(&wt, ctx, RLVR_SOCK_TRAJ_WORKER, "tcp://127.0.0.1:9", NULL, &o) == RLVR_OK);
  rlvr_sample s;
  rlvr_traj_group g;
  rlvr_msg traj = traj_msg(1, &s, &g);
  int rc = RLVR_OK, n = 0;
  int64_t t0 = 0;
  while (rc == RLVR_OK && n < 100) t0 = rlvr_time_ms(), rc = rlvr_sock_send(wt, NULL, &traj), n++;
  int64_t waited = rlvr_time_ms() - t0;
  CHECK_MSG(rc == RLVR_ERR_TIMEOUT && waited >= 40 && waited < 2000, "send timeout: rc %d after %d sends, %lld ms", rc,
            n, (long long)waited);
  rlvr_sock_counters c;
  rlvr_sock_get_counters(wt, &c);
  CHECK(c.send_failed == 1);
  rlvr_sock_close(wt);
  /* Bad endpoints and ids are errors, not crashes. */
  rlvr_sock *x;
  CHECK(rlvr_sock_open(&x, ctx, RLVR_SOCK_TRAJ_LEARNER, "bogus://x", NULL, &opt) == RLVR_ERR_IO && x == NULL);
  CHECK(rlvr_sock_open(&x, ctx, RLVR_SOCK_WORK_WORKER, "inproc://w", "", &opt) == RLVR_ERR_ARG && x == NULL);
}

static void test_peers_clock(void) {
  rlvr_peers *p = rlvr_peers_new(100);
  rlvr_peer a, b, dead[4];
  rlvr_peer_set(&a, "a");
  rlvr_peer_set(&b, "b");
  rlvr_peers_seen(p, &a, 1000);
  rlvr_peers_seen(p, &b, 1000);
  CHECK(rlvr_peers_count(p) == 2);
  CHECK(rlvr_peers_expire(p, 1100, dead, 4) == 0); /* exactly the timeout: alive */
  rlvr_peers_seen(p, &a, 1090);
  CHECK(rlvr_peers_expire(p, 1101, dead, 4) == 1 && dead[0].len == 1 && dead[0].id[0] == 'b');
  CHECK(rlvr_peers_expire(p, 1150, dead, 4) == 0); /* reported once */
  CHECK(rlvr_peers_count(p) == 1 && rlvr_peers_get(p, 0)->id[0] == 'a');
  rlvr_peers_seen(p, &b, 1200); /* back */
  rlvr_peers_forget(p, &a);
  CHECK(rlvr_peers_count(p) == 1 && rlvr_peers_expire(p, 5000, dead, 4) == 1 && dead[0].id[0] == 'b');
  rlvr_peers_free(p);
}

/* Learner and two workers exchange heartbeats every 20 ms with a 250 ms
 * timeout; worker 2 goes silent at 200 ms and must be reported dead, worker 1
 * never. Then the learner goes silent and worker 1 reports it dead. */
static void test_heartbeats(void) {
  rlvr_peers *lpeers = rlvr_peers_new(250), *w1peers = rlvr_peers_new(250);
  rlvr_sock *lw, *w1, *w2;
  CHECK(rlvr_sock_open(&lw, ctx, RLVR_SOCK_WORK_LEARNER, "inproc://hb", NULL, &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&w1, ctx, RLVR_SOCK_WORK_WORKER, "inproc://hb", "w1", &opt) == RLVR_OK);
  CHECK(rlvr_sock_open(&w2, ctx, RLVR_SOCK_WORK_WORKER, "inproc://hb", "w2", &opt) == RLVR_OK);
  rlvr_sock_track(lw, lpeers);
  rlvr_sock_track(w1, w1peers);
  int64_t t0 = rlvr_time_ms(), last_hb = -1000, w2_silent_at = -1, w2_dead_at = -1, learner_dead_at = -1;
  int w1_dead = 0, learner_silent = 0;
  while (rlvr_time_ms() - t0 < 1500 && learner_dead_at < 0) {
    int64_t now = rlvr_time_ms() - t0;
    if (now - last_hb >= 20) {
      last_hb = now;
      CHECK(rlvr_sock_send_heartbeat(w1, NULL, "w1", RLVR_HEARTBEAT_BUSY) == RLVR_OK);
      if (now < 200) CHECK(rlvr_sock_send_heartbeat(w2, NULL, "w2", RLVR_HEARTBEAT_IDLE) == RLVR_OK);
      else if (w2_silent_at < 0) w2_silent_at = now;
      /* The learner answers every peer it knows, until it goes silent. */
      learner_silent = w2_dead_at >= 0;
      for (int i = 0; !learner_silent && i < rlvr_peers_count(lpeers); i++)
        CHECK(rlvr_sock_send_heartbeat(lw, rlvr_peers_get(lpeers, i), "learner", RLVR_HEARTBEAT_BUSY) == RLVR_OK);
    }
    rlvr_msg m;
    while (rlvr_sock_recv(lw, &m, NULL, 2) == RLVR_OK) rlvr_msg_free(&m);
    while (rlvr_sock_recv(w1, &m, NULL, 0) == RLVR_OK) rlvr_msg_free(&m);
    while (rlvr_sock_recv(w2, &m, NULL, 0) == RLVR_OK) rlvr_msg_free(&m);
    rlvr_peer dead[4];
    int nd = rlvr_peers_expire(lpeers, rlvr_time_ms(), dead, 4);
    for (int i = 0; i < nd; i++) {
      if (dead[i].len == 2 && !memcmp(dead[i].id, "w2", 2)) w2_dead_at = rlvr_time_ms() - t0;
      else w1_dead = 1;
    }
    if (rlvr_peers_expire(w1peers, rlvr_time_ms(), dead, 4) > 0) learner_dead_at = rlvr_time_ms() - t0;
  }
  CHECK_MSG(w2_dead_at > 0 && w2_dead_at - w2_silent_at >= 200 && w2_dead_at - w2_silent_at < 800,
            "w2 silent at %lld ms, reported dead at %lld ms", (long long)w2_silent_at, (long long)w2_dead_at);
  CHECK_MSG(!w1_dead, "a live worker was reported dead");
  CHECK_MSG(learner_dead_at > w2_dead_at + 200, "learner silent after %lld ms, reported dead at %lld ms",
            (long long)w2_dead_at, (long long)learner_dead_at);
  printf("ok   heartbeats: w2 silent at %lld ms, dead at %lld; learner silent at %lld, dead at %lld\n",
         (long long)w2_silent_at, (long long)w2_dead_at, (long long)w2_dead_at, (long long)learner_dead_at);
  rlvr_sock_close(w1), rlvr_sock_close(w2), rlvr_sock_close(lw);
  rlvr_peers_free(lpeers), rlvr_peers_free(w1peers);
}

int main(void) {
  rlvr_log_set_level(RLVR_LOG_ERROR); /* rejections log warnings by design */
  ctx = zmq_ctx_new();
  rlvr_transport_options_default(&opt);
  opt.linger_ms = 0;
  opt.send_timeout_ms = 2000;
  test_peers_clock();
  test_channels("inproc");
  test_channels("ipc");
  test_channels("tcp");
  test_caps();
  test_send_timeout();
  test_heartbeats();
  zmq_ctx_term(ctx);
  return test_done();
}
