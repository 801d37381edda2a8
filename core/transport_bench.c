/* transport_bench.c — see transport_bench.h.
 *
 * Process layout per case: the parent receives, a forked child sends; each
 * makes its own ZeroMQ context after the fork. Two pipes carry what ZeroMQ
 * cannot: the bound endpoint (a tcp port picked by the kernel), and from the
 * receiver a "go" byte and, for weights, one ack byte per message received
 * (PUB never blocks, so the window of acks keeps it from dropping).
 * Timing is the receiver's, from the "go" to the last message decoded. */
#include "core/transport_bench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/check.h"
#include "core/error.h"
#include "core/log.h"
#include "core/protocol.h"
#include "core/transport.h"

enum { BENCH_WINDOW = 4 }; /* weights messages in flight (acks from the receiver) */

typedef struct {
  const char *name;
  int weights;         /* 0: trajectories, 1: weights */
  int g, tokens, prompt; /* trajectories: samples, completion tokens, prompt tokens */
  size_t tensor_bytes; /* weights: bytes per tensor */
  int ntensors;
  int count;           /* messages timed */
} bench_case;

typedef struct {
  double seconds;
  int messages;
  size_t payload, wire;       /* bytes per message */
  double send_cpu, recv_cpu;  /* CPU seconds of each process (all its threads) over the timed part */
} bench_result;

/* CPU seconds used by this process, all threads (ZeroMQ's I/O thread too). */
static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --- messages of the requested size ---------------------------------------- */

typedef struct {
  rlvr_msg msg;
  rlvr_traj_group group;
  rlvr_sample *samples;
  int32_t *tokens, *prompt;
  uint8_t *mask;
  float *logprobs;
  rlvr_named_value comps[2];
  rlvr_tensor *tensors;
  unsigned char *tensor_data;
  size_t payload;
} bench_msg;

static void bench_msg_build(bench_msg *b, const bench_case *c) {
  memset(b, 0, sizeof *b);
  if (!c->weights) {
    size_t t = (size_t)c->tokens;
    b->tokens = xmalloc(t * 4);
    b->mask = xmalloc(t);
    b->logprobs = xmalloc(t * 4);
    b->prompt = xmalloc((size_t)c->prompt * 4);
    for (size_t i = 0; i < t; i++) {
      b->tokens[i] = (int32_t)((i * 2654435761u) % 151000);
      b->mask[i] = (uint8_t)(i % 97 != 0);
      b->logprobs[i] = -(float)((i * 7919) % 1000) / 250.0f;
    }
    for (int i = 0; i < c->prompt; i++) b->prompt[i] = i * 13 % 151000;
    b->comps[0] = (rlvr_named_value){"accuracy", 1.0};
    b->comps[1] = (rlvr_named_value){"format", 0.5};
    b->samples = xcalloc((size_t)c->g, sizeof *b->samples);
    for (int i = 0; i < c->g; i++)
      b->samples[i] = (rlvr_sample){.tokens = b->tokens, .mask = b->mask, .logprobs = b->logprobs,
                                    .ntokens = (uint32_t)t, .reward = i % 2, .components = b->comps, .ncomponents = 2,
                                    .advantage = (i % 2) - 0.5, .verifier = "math", .verifier_version = "1.0",
                                    .seed = (uint64_t)i, .finish = RLVR_FINISH_EOS};
    b->group = (rlvr_traj_group){.group_id = 1, .prompt_ids = b->prompt, .nprompt = (uint32_t)c->prompt,
                                 .samples = b->samples, .nsamples = (uint32_t)c->g};
    b->msg.type = RLVR_MSG_TRAJECTORIES;
    b->msg.trajectories = (rlvr_msg_trajectories){.work_id = 1, .worker_id = "bench", .policy_version = 1,
                                                  .groups = &b->group, .ngroups = 1};
    b->payload = (size_t)c->g * t * 9 + (size_t)c->prompt * 4;
  } else {
    b->tensor_data = xmalloc_aligned(c->tensor_bytes * (size_t)c->ntensors);
    for (size_t i = 0; i < c->tensor_bytes * (size_t)c->ntensors; i++) b->tensor_data[i] = (unsigned char)(i * 31 + 7);
    b->tensors = xcalloc((size_t)c->ntensors, sizeof *b->tensors);
    char name[32];
    for (int i = 0; i < c->ntensors; i++) {
      snprintf(name, sizeof name, "layers.%d.weight", i);
      b->tensors[i] = (rlvr_tensor){.name = xstrdup(name), .dtype = RLVR_DTYPE_F32, .ndim = 2,
                                    .shape = {(int64_t)(c->tensor_bytes / 4 / 256), 256},
                                    .data = b->tensor_data + (size_t)i * c->tensor_bytes, .nbytes = c->tensor_bytes};
    }
    b->msg.type = RLVR_MSG_WEIGHTS;
    b->msg.weights = (rlvr_msg_weights){.version = 1, .tensors = b->tensors, .ntensors = (uint32_t)c->ntensors};
    b->payload = c->tensor_bytes * (size_t)c->ntensors;
  }
}

static void bench_msg_free(bench_msg *b, const bench_case *c) {
  free(b->tokens), free(b->mask), free(b->logprobs), free(b->prompt), free(b->samples);
  if (b->tensors)
    for (int i = 0; i < c->ntensors; i++) free((void *)b->tensors[i].name);
  free(b->tensors), free(b->tensor_data);
}

/* --- pipes ------------------------------------------------------------------ */

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k, n -= (size_t)k;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t k = read(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k, n -= (size_t)k;
  }
  return 0;
}

/* Bytes available on fd within timeout_ms (0 = poll). */
static int readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, timeout_ms) > 0;
}

/* Closes s and removes the socket file of an ipc endpoint it bound (ZeroMQ
 * leaves it behind when the process ends soon after). */
static void close_and_unlink(rlvr_sock *s, int bound) {
  char path[256] = "";
  if (s && bound && !strncmp(rlvr_sock_endpoint(s), "ipc://", 6)) snprintf(path, sizeof path, "%s", rlvr_sock_endpoint(s) + 6);
  rlvr_sock_close(s);
  if (path[0]) unlink(path);
}

/* --- sender (child) -------------------------------------------------------- */

static void noop_release(void *hint) { (void)hint; }
static void noop_free(void *data, void *hint) { (void)data, (void)hint; }

/* Raw weights: the encoded header (inline copy) then tensor frames without copies. */
static int raw_send_weights(void *z, const rlvr_buf *header, const bench_msg *b) {
  if (zmq_send(z, header->data, header->len, ZMQ_SNDMORE) < 0) return -1;
  for (uint32_t i = 0; i < b->msg.weights.ntensors; i++) {
    zmq_msg_t f;
    zmq_msg_init_data(&f, (void *)b->tensors[i].data, b->tensors[i].nbytes, noop_free, NULL);
    if (zmq_msg_send(&f, z, i + 1 < b->msg.weights.ntensors ? ZMQ_SNDMORE : 0) < 0) return -1;
  }
  return 0;
}

static int sender(const bench_case *c, const char *transport, int raw, int to_recv, int from_recv,
                  const rlvr_transport_options *opt) {
  bench_msg b;
  bench_msg_build(&b, c);
  void *ctx = zmq_ctx_new();
  rlvr_sock *s = NULL;
  char endpoint[256];
  int rc = 1;
  double cpu0 = 0;
  if (c->weights) {
    char ep[128];
    if (!strcmp(transport, "tcp")) snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
    else snprintf(ep, sizeof ep, "ipc:///tmp/rlvr-bench-%d.ipc", (int)getpid());
    if (rlvr_sock_open(&s, ctx, RLVR_SOCK_WEIGHTS_LEARNER, ep, NULL, opt)) goto out;
    snprintf(endpoint, sizeof endpoint, "%s", rlvr_sock_endpoint(s));
    if (write_all(to_recv, endpoint, sizeof endpoint)) goto out;
  } else {
    if (read_all(from_recv, endpoint, sizeof endpoint)) goto out;
    if (rlvr_sock_open(&s, ctx, RLVR_SOCK_TRAJ_WORKER, endpoint, NULL, opt)) goto out;
  }
  void *z = rlvr_sock_zmq(s);
  rlvr_buf enc = {0};
  RLVR_CHECK(rlvr_msg_encode(&b.msg, c->weights ? RLVR_ENCODE_WEIGHT_FRAMES : 0, &enc) == RLVR_OK);
  char go;
  if (!c->weights) {
    /* One message to set up the connection, then wait for the receiver. */
    if (rlvr_sock_send(s, NULL, &b.msg)) goto out;
    if (read_all(from_recv, &go, 1)) goto out;
    cpu0 = process_cpu();
    for (int i = 0; i < c->count; i++) {
      int e = raw ? (zmq_send(z, enc.data, enc.len, 0) < 0 ? RLVR_ERR_IO : RLVR_OK) : rlvr_sock_send(s, NULL, &b.msg);
      if (e) goto out;
    }
    /* Sends return once ZeroMQ has the message; the receiver's "d" (all
     * received) marks the end of this side's work too. */
    if (read_all(from_recv, &go, 1)) goto out;
    double cpu = process_cpu() - cpu0;
    if (write_all(to_recv, &cpu, sizeof cpu)) goto out;
  } else {
    /* Publish empty warm-ups (no tensors: one frame) until the receiver has
     * one (subscriptions take a moment), then versions 1..count, at most
     * hwm_weights ahead of the acks. */
    rlvr_msg warm = {.type = RLVR_MSG_WEIGHTS};
    while (!readable(from_recv, 10))
      if (rlvr_sock_send(s, NULL, &warm)) goto out;
    /* "g": a warm-up arrived; "s": the receiver drained the rest, so no
     * queue holds anything that would make PUB drop a timed message. */
    if (read_all(from_recv, &go, 1) || read_all(from_recv, &go, 1)) goto out;
    cpu0 = process_cpu();
    int acked = 0, window = BENCH_WINDOW; /* see opt.hwm_weights in the main function */
    for (int i = 1; i <= c->count; i++) {
      while (acked < i - window) {
        char ack;
        if (read_all(from_recv, &ack, 1)) goto out;
        acked++;
      }
      b.msg.weights.version = (uint64_t)i;
      if (raw) {
        /* The header encoded once, before the loop: raw is the transport
         * alone (the receiver only counts frames). */
        if (raw_send_weights(z, &enc, &b)) goto out;
      } else if (rlvr_sock_send_weights(s, &b.msg, noop_release, NULL)) {
        goto out;
      }
    }
    /* The last messages may still be in ZeroMQ's hands: the receiver's
     * final acks tell when they arrived. */
    while (acked < c->count) {
      char ack;
      if (read_all(from_recv, &ack, 1)) goto out;
      acked++;
    }
    double cpu = process_cpu() - cpu0;
    if (write_all(to_recv, &cpu, sizeof cpu)) goto out;
    /* Keep the socket open until the receiver is done (it closes the pipe). */
    char ack;
    while (read(from_recv, &ack, 1) > 0) {}
  }
  rc = 0;
  rlvr_buf_free(&enc);
out:
  if (rc) fprintf(stderr, "bench sender: %s\n", rlvr_error_message());
  close_and_unlink(s, c->weights);
  zmq_ctx_term(ctx);
  bench_msg_free(&b, c);
  return rc;
}

/* --- receiver (parent) ------------------------------------------------------- */

static int run_case(const bench_case *c, const char *transport, int raw, const rlvr_transport_options *opt,
                    bench_result *r) {
  int r2s[2], s2r[2];
  RLVR_CHECK(pipe(r2s) == 0 && pipe(s2r) == 0);
  fflush(NULL);
  pid_t pid = fork();
  RLVR_CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(r2s[1]), close(s2r[0]);
    rlvr_error_clear(); /* the parent's message is not the child's */
    _exit(sender(c, transport, raw, s2r[1], r2s[0], opt));
  }
  close(r2s[0]), close(s2r[1]);
  int to_send = r2s[1], from_send = s2r[0];
  void *ctx = zmq_ctx_new();
  rlvr_sock *s = NULL;
  char endpoint[256];
  int rc = RLVR_ERR_IO;
  bench_msg b;
  bench_msg_build(&b, c);
  rlvr_buf enc = {0};
  RLVR_CHECK(rlvr_msg_encode(&b.msg, c->weights ? RLVR_ENCODE_WEIGHT_FRAMES : 0, &enc) == RLVR_OK);
  r->payload = b.payload;
  r->wire = enc.len + (c->weights ? b.payload : 0);
  if (c->weights) {
    if (read_all(from_send, endpoint, sizeof endpoint)) goto out;
    if (rlvr_sock_open(&s, ctx, RLVR_SOCK_WEIGHTS_WORKER, endpoint, NULL, opt)) goto out;
  } else {
    char ep[128];
    if (!strcmp(transport, "tcp")) snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
    else snprintf(ep, sizeof ep, "ipc:///tmp/rlvr-bench-%d.ipc", (int)getpid());
    if (rlvr_sock_open(&s, ctx, RLVR_SOCK_TRAJ_LEARNER, ep, NULL, opt)) goto out;
    snprintf(endpoint, sizeof endpoint, "%s", rlvr_sock_endpoint(s));
    if (write_all(to_send, endpoint, sizeof endpoint)) goto out;
  }
  void *z = rlvr_sock_zmq(s);
  rlvr_msg m;
  /* The first message (trajectories) or the first warm-up (weights). */
  if ((rc = rlvr_sock_recv(s, &m, NULL, 10000))) goto out;
  rlvr_msg_free(&m);
  int got = 0;
  rc = RLVR_ERR_IO;
  if (write_all(to_send, "g", 1)) goto out;
  if (c->weights) {
    while (rlvr_sock_recv(s, &m, NULL, 100) == RLVR_OK) rlvr_msg_free(&m);
    if (write_all(to_send, "s", 1)) goto out;
  }
  rc = RLVR_OK;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double start = ts.tv_sec + ts.tv_nsec * 1e-9, cpu0 = process_cpu();
  while (got < c->count) {
    if (raw) {
      zmq_pollitem_t it = {.socket = z, .events = ZMQ_POLLIN};
      if (zmq_poll(&it, 1, 10000) <= 0) {
        rc = rlvr_error(RLVR_ERR_TIMEOUT, "raw receive timed out");
        break;
      }
      int more = 1, frames = 0;
      while (more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        zmq_msg_recv(&f, z, 0);
        more = zmq_msg_more(&f);
        zmq_msg_close(&f);
        frames++;
      }
      if (c->weights && frames == 1) continue; /* a warm-up still in flight */
    } else {
      if ((rc = rlvr_sock_recv(s, &m, NULL, 10000))) break;
      int warmup = m.type == RLVR_MSG_WEIGHTS && m.weights.ntensors == 0;
      rlvr_msg_free(&m);
      if (warmup) continue;
    }
    got++;
    if (c->weights && write_all(to_send, "a", 1)) {
      rc = RLVR_ERR_IO;
      break;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &ts);
  r->seconds = ts.tv_sec + ts.tv_nsec * 1e-9 - start;
  r->recv_cpu = process_cpu() - cpu0;
  r->messages = got;
  if (!rc && !c->weights && write_all(to_send, "d", 1)) rc = RLVR_ERR_IO;
  if (!rc && read_all(from_send, &r->send_cpu, sizeof r->send_cpu)) rc = RLVR_ERR_IO;
out:
  if (rc) fprintf(stderr, "bench receiver: %s (%d messages received)\n", rlvr_error_message(), r->messages);
  close(to_send), close(from_send);
  int status = 0;
  if (rc) kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  close_and_unlink(s, !c->weights);
  zmq_ctx_term(ctx);
  rlvr_buf_free(&enc);
  bench_msg_free(&b, c);
  if (!rc && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) rc = RLVR_ERR_IO;
  return rc;
}

/* In-process encode and decode, seconds per message. */
static void time_codec(const bench_case *c, double *enc_s, double *dec_s) {
  bench_msg b;
  bench_msg_build(&b, c);
  rlvr_buf enc = {0};
  int flags = 0; /* weights inline: the decode then copies and checks every byte */
  int n = c->weights ? (c->tensor_bytes * (size_t)c->ntensors > (4u << 20) ? 8 : 64) : 500;
  struct timespec a, z;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) RLVR_CHECK(rlvr_msg_encode(&b.msg, flags, &enc) == RLVR_OK);
  clock_gettime(CLOCK_MONOTONIC, &z);
  *enc_s = ((z.tv_sec - a.tv_sec) + (z.tv_nsec - a.tv_nsec) * 1e-9) / n;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    rlvr_msg m;
    RLVR_CHECK(rlvr_msg_decode(enc.data, enc.len, &m) == RLVR_OK, "%s", rlvr_error_message());
    rlvr_msg_free(&m);
  }
  clock_gettime(CLOCK_MONOTONIC, &z);
  *dec_s = ((z.tv_sec - a.tv_sec) + (z.tv_nsec - a.tv_nsec) * 1e-9) / n;
  rlvr_buf_free(&enc);
  bench_msg_free(&b, c);
}

static const char *usage =
    "usage: rlvr bench transport [--quick] [--transport ipc|tcp|both] [--only traj|weights]\n"
    "\n"
    "Payload throughput of the learner/worker transport between two processes:\n"
    "trajectories over PUSH/PULL and weights over PUB/SUB, each with encoding and\n"
    "checked decoding (full) and as bare ZeroMQ (raw). --quick runs a tenth of the\n"
    "messages. Target: >= 1 GB/s of trajectory payload over ipc.\n";

int rlvr_transport_bench_main(int argc, char **argv) {
  int quick = 0, do_traj = 1, do_weights = 1;
  const char *transports[2] = {"ipc", "tcp"};
  int ntransports = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--transport") && i + 1 < argc) {
      const char *t = argv[++i];
      if (!strcmp(t, "both")) ntransports = 2;
      else if (!strcmp(t, "ipc") || !strcmp(t, "tcp")) transports[0] = t, ntransports = 1;
      else return fprintf(stderr, "%s", usage), 2;
    } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      const char *w = argv[++i];
      do_traj = !strcmp(w, "traj");
      do_weights = !strcmp(w, "weights");
      if (!do_traj && !do_weights) return fprintf(stderr, "%s", usage), 2;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      return 0;
    } else {
      fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  rlvr_log_set_level(RLVR_LOG_WARN);
  rlvr_transport_options opt;
  rlvr_transport_options_default(&opt);
  /* PUB drops a message when a subscriber's queue looks full, and ZeroMQ's
   * view of that queue lags: it hears what the subscriber read every hwm/2
   * messages (the low-water mark) and takes the news at most once a
   * millisecond. So a window w of messages in flight is safe only when
   * w + (messages sent per millisecond) < hwm/2: at the thousands of messages
   * per second of this bench, the default of 4 drops (no learner publishes
   * that fast), and so did 16 with w = 4 on a loaded machine. */
  opt.hwm_weights = 1000;
  const bench_case cases[] = {
      {"traj G=8 x 1024 tok", 0, 8, 1024, 256, 0, 0, 20000},
      {"traj G=16 x 4096 tok", 0, 16, 4096, 512, 0, 0, 2000},
      {"traj G=8 x 128 tok", 0, 8, 128, 64, 0, 0, 40000},
      {"weights 1 MB (4 x 256 KB)", 1, 0, 0, 0, 256 << 10, 4, 1000},
      {"weights 16 MB (4 x 4 MB)", 1, 0, 0, 0, 4 << 20, 4, 64},
  };
  printf("transport throughput: 2 processes, %ld CPU cores; payload = token ids + mask + logprobs + prompt ids,\n"
         "or tensor bytes; full = rlvr_sock_send/recv (encode, checked decode, CRC-32C), raw = bare ZeroMQ;\n"
         "weights: zero-copy tensor frames, hwm %lld, %lld messages in flight\n\n",
         sysconf(_SC_NPROCESSORS_ONLN), (long long)opt.hwm_weights, (long long)BENCH_WINDOW);
  printf("cpu us/msg: CPU time of the sending and receiving process (all threads) per message; 2-core bound:\n"
         "the payload rate if both processes had a core each to themselves, 2 / (send + recv CPU) messages/s\n\n");
  printf("%-27s %-4s %-4s %10s %9s %10s %9s %15s %12s\n", "message", "via", "mode", "bytes", "msgs/s", "payload", "wire",
         "cpu us/msg", "2-core bound");
  int failures = 0;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    bench_case c = cases[k];
    if ((c.weights && !do_weights) || (!c.weights && !do_traj)) continue;
    if (quick) c.count = c.count / 10 > 4 ? c.count / 10 : 4;
    for (int t = 0; t < ntransports; t++)
      for (int raw = 0; raw < 2; raw++) {
        bench_result r = {0};
        if (run_case(&c, transports[t], raw, &opt, &r) != RLVR_OK || r.messages != c.count) {
          printf("%-27s %-4s %-4s FAILED\n", c.name, transports[t], raw ? "raw" : "full");
          failures++;
          continue;
        }
        double mps = r.messages / r.seconds;
        double su = r.send_cpu / r.messages * 1e6, ru = r.recv_cpu / r.messages * 1e6;
        printf("%-27s %-4s %-4s %10zu %9.0f %7.0f MB/s %5.0f MB/s %6.1f / %6.1f %7.0f MB/s\n", c.name, transports[t],
               raw ? "raw" : "full", r.wire, mps, mps * (double)r.payload / 1e6, mps * (double)r.wire / 1e6, su, ru,
               2.0 / ((su + ru) * 1e-6) * (double)r.payload / 1e6);
        fflush(stdout);
      }
    double es, ds;
    time_codec(&c, &es, &ds);
    double payload = c.weights ? (double)c.tensor_bytes * c.ntensors : (double)c.g * c.tokens * 9 + c.prompt * 4;
    printf("%-27s in-process encode %.1f us (%.0f MB/s), decode %.1f us (%.0f MB/s)%s\n\n", c.name, es * 1e6,
           payload / es / 1e6, ds * 1e6, payload / ds / 1e6, c.weights ? " (tensors inline)" : "");
  }
  return failures ? 1 : 0;
}
