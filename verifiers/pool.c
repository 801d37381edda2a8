/* pool.c — see pool.h.
 *
 * Wire format (native byte order: both ends are the same binary, forked).
 * Every message is a 16-byte header {u32 magic, u32 count, u64 payload
 * bytes} and a payload of count records:
 *   request  (magic REQ_MAGIC): u32 verifier_len, verifier bytes,
 *            u64 completion_len, bytes, u8 reference kind (0 none, 1 bytes,
 *            2 JSON), u64 reference_len, bytes, u8 has_meta, u64 meta_len, bytes
 *   result   (magic RES_MAGIC): u32 index within the chunk (results come in
 *            order), u8 status, f64 score, i64 elapsed_ns, u8 version_len,
 *            version bytes, u32 details_len, details bytes
 * A worker answers one request with one or more result messages (it flushes
 * every RES_FLUSH_BYTES so a killed worker loses little). Both ends check
 * magic, sizes and every field, and treat a mismatch as a dead peer. */
#include "verifiers/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/check.h"
#include "core/error.h"
#include "verifiers/luajson.h"

#if defined(__SANITIZE_ADDRESS__)
#define RLVR_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RLVR_POOL_ASAN 1
#endif
#endif

enum {
  REQ_MAGIC = 0x31515652, /* "RVQ1" */
  RES_MAGIC = 0x31525652, /* "RVR1" */
  HEADER_BYTES = 16,
  CHUNK_ITEMS_MAX = 256,
  CHUNK_BYTES_MAX = 16 << 20, /* a chunk holds more only when one item does */
  RES_FLUSH_BYTES = 64 << 10,
  RES_DETAILS_MAX = 1 << 20,  /* details of one result on the wire */
  MAX_DEATHS = 3,             /* deaths blaming no item that an item may sit through */
};

/* What a worker is doing, in memory shared with the parent. */
typedef struct {
  _Atomic int64_t item;     /* index in its chunk being scored; -1: none */
  _Atomic int64_t start_ns; /* when it began that item */
  char pad[48];
} progress_slot;

/* ---- byte buffers and a bounds-checked reader ---- */

static void put_bytes(rlvr_jbuf *b, const void *p, size_t n) { rlvr_jbuf_put(b, p, n); }
static void put_u8(rlvr_jbuf *b, uint8_t v) { put_bytes(b, &v, 1); }
static void put_u32(rlvr_jbuf *b, uint32_t v) { put_bytes(b, &v, 4); }
static void put_u64(rlvr_jbuf *b, uint64_t v) { put_bytes(b, &v, 8); }
static void put_f64(rlvr_jbuf *b, double v) { put_bytes(b, &v, 8); }

typedef struct {
  const unsigned char *p, *end;
  int bad;
} reader;

static const void *rd_bytes(reader *r, uint64_t n) {
  if (r->bad || (uint64_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const void *q = r->p;
  r->p += n;
  return q;
}
static uint8_t rd_u8(reader *r) {
  const void *q = rd_bytes(r, 1);
  return q ? *(const uint8_t *)q : 0;
}
static uint32_t rd_u32(reader *r) {
  uint32_t v = 0;
  const void *q = rd_bytes(r, 4);
  if (q) memcpy(&v, q, 4);
  return v;
}
static uint64_t rd_u64(reader *r) {
  uint64_t v = 0;
  const void *q = rd_bytes(r, 8);
  if (q) memcpy(&v, q, 8);
  return v;
}
static double rd_f64(reader *r) {
  double v = 0;
  const void *q = rd_bytes(r, 8);
  if (q) memcpy(&v, q, 8);
  return v;
}

static void put_header(rlvr_jbuf *b, size_t at, uint32_t magic, uint32_t count) {
  uint64_t len = b->len - at - HEADER_BYTES;
  memcpy(b->data + at, &magic, 4);
  memcpy(b->data + at + 4, &count, 4);
  memcpy(b->data + at + 8, &len, 8);
}

/* ---- the worker process ---- */

static int read_full(int fd, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
  const unsigned char *p = buf;
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int64_t cpu_seconds_used(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return 0;
  return (int64_t)ru.ru_utime.tv_sec + (int64_t)ru.ru_stime.tv_sec + 1;
}

#ifndef RLVR_POOL_ASAN
/* Virtual memory size of this process, bytes (0 if unknown). */
static uint64_t address_space_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long pages = 0;
  int ok = fscanf(f, "%llu", &pages) == 1;
  fclose(f);
  return ok ? pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}
#endif

static void close_other_fds(int keep) {
  if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) == 0 && close_range((unsigned)keep + 1, ~0U, 0) == 0) return;
  if (keep == 3 && close_range(4, ~0U, 0) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; fd++)
    if (fd != keep) close(fd);
}

static void worker_setup(int fd, pid_t parent, const rlvr_verify_options *o) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1); /* the parent died before prctl */
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGCHLD, SIG_DFL); /* code executors wait for their children */
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    dup2(devnull, 0);
    if (devnull > 2) close(devnull);
  }
  dup2(2, 1);
  close_other_fds(fd);
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
#ifndef RLVR_POOL_ASAN
  uint64_t as = address_space_now();
  if (as) {
    getrlimit(RLIMIT_AS, &rl);
    rlim_t want = as + 8 * (uint64_t)o->memory_bytes + ((uint64_t)512 << 20);
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ? rl.rlim_max : want;
    setrlimit(RLIMIT_AS, &rl);
  }
#else
  (void)o;
#endif
}

static void arm_cpu_limit(const rlvr_verify_options *o, uint32_t count) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_CPU, &rl)) return;
  int64_t per_item = (o->timeout_ms + 999) / 1000;
  rlim_t want = (rlim_t)(cpu_seconds_used() + per_item * (int64_t)count + 1);
  if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) want = rl.rlim_max;
  rl.rlim_cur = want;
  setrlimit(RLIMIT_CPU, &rl);
}

/* Parses a request payload into items (pointers into payload). Returns 0 or -1. */
static int parse_request(const unsigned char *payload, uint64_t len, uint32_t count, rlvr_verify_item *items,
                         char **names, uint64_t max_input) {
  reader r = {payload, payload + len, 0};
  for (uint32_t i = 0; i < count; i++) {
    rlvr_verify_item *it = &items[i];
    memset(it, 0, sizeof *it);
    uint32_t vlen = rd_u32(&r);
    if (vlen == 0 || vlen > RLVR_VERIFY_NAME_MAX) return -1;
    const char *v = rd_bytes(&r, vlen);
    if (!v) return -1;
    names[i] = xrealloc(names[i], vlen + 1);
    memcpy(names[i], v, vlen);
    names[i][vlen] = 0;
    it->verifier = names[i];
    uint64_t clen = rd_u64(&r);
    if (clen > max_input) return -1;
    it->completion = rd_bytes(&r, clen);
    it->completion_len = clen;
    uint8_t kind = rd_u8(&r);
    uint64_t rlen = rd_u64(&r);
    if (kind > 2 || rlen > max_input || (kind == 0 && rlen)) return -1;
    const char *ref = rd_bytes(&r, rlen);
    if (kind) {
      it->reference = ref ? ref : "";
      it->reference_len = rlen;
      it->reference_json = kind == 2;
    }
    uint8_t has_meta = rd_u8(&r);
    uint64_t mlen = rd_u64(&r);
    if (has_meta > 1 || mlen > max_input || (!has_meta && mlen)) return -1;
    const char *meta = rd_bytes(&r, mlen);
    if (has_meta) {
      it->meta = meta ? meta : "";
      it->meta_len = mlen;
    }
    if (r.bad) return -1;
    if (!it->completion) it->completion = "";
  }
  return r.bad || r.p != r.end ? -1 : 0;
}

static void put_result(rlvr_jbuf *b, uint32_t index, const rlvr_verify_result *res) {
  put_u32(b, index);
  put_u8(b, (uint8_t)res->status);
  put_f64(b, res->score);
  put_u64(b, (uint64_t)res->elapsed_ns);
  size_t vl = strnlen(res->version, sizeof res->version - 1);
  put_u8(b, (uint8_t)vl);
  put_bytes(b, res->version, vl);
  size_t dl = res->details ? strlen(res->details) : 0;
  if (dl > RES_DETAILS_MAX) {
    static const char cut[] = "{\"details_truncated\":true}";
    put_u32(b, sizeof cut - 1);
    put_bytes(b, cut, sizeof cut - 1);
  } else {
    put_u32(b, (uint32_t)dl);
    put_bytes(b, res->details, dl);
  }
}

static RLVR_NORETURN void worker_main(int fd, progress_slot *prog, const rlvr_verify_options *o) {
  rlvr_verify_host *h = rlvr_host_build(o);
  uint64_t max_input = (uint64_t)o->max_input_bytes;
  uint64_t max_payload = (uint64_t)CHUNK_BYTES_MAX + 3 * max_input + (uint64_t)CHUNK_ITEMS_MAX * 8192;
  unsigned char *payload = NULL;
  size_t payload_cap = 0;
  rlvr_verify_item *items = xcalloc(CHUNK_ITEMS_MAX, sizeof *items);
  char **names = xcalloc(CHUNK_ITEMS_MAX, sizeof *names);
  rlvr_jbuf out = {0};
  for (;;) {
    unsigned char hdr[HEADER_BYTES];
    if (read_full(fd, hdr, sizeof hdr)) _exit(0); /* the parent closed: done */
    uint32_t magic, count;
    uint64_t len;
    memcpy(&magic, hdr, 4);
    memcpy(&count, hdr + 4, 4);
    memcpy(&len, hdr + 8, 8);
    if (magic != REQ_MAGIC || count == 0 || count > CHUNK_ITEMS_MAX || len > max_payload) _exit(3);
    if (len > payload_cap) {
      payload_cap = (size_t)len;
      payload = xrealloc(payload, payload_cap ? payload_cap : 1);
    }
    if (read_full(fd, payload, (size_t)len)) _exit(0);
    if (parse_request(payload, len, count, items, names, max_input)) _exit(3);
    arm_cpu_limit(o, count);

    out.len = 0;
    size_t at = 0;
    uint32_t in_msg = 0;
    put_bytes(&out, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", HEADER_BYTES);
    for (uint32_t i = 0; i < count; i++) {
      atomic_store(&prog->start_ns, rlvr_verify_now_ns());
      atomic_store(&prog->item, (int64_t)i);
      rlvr_verify_result res;
      rlvr_host_verify(h, &items[i], &res);
      put_result(&out, i, &res);
      rlvr_verify_result_clear(&res);
      in_msg++;
      if (out.len - at >= RES_FLUSH_BYTES && i + 1 < count) {
        atomic_store(&prog->item, -1); /* writing is not the next item's time */
        put_header(&out, at, RES_MAGIC, in_msg);
        if (write_full(fd, out.data, out.len)) _exit(0);
        out.len = 0;
        in_msg = 0;
        put_bytes(&out, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", HEADER_BYTES);
      }
    }
    atomic_store(&prog->item, -1);
    put_header(&out, at, RES_MAGIC, in_msg);
    if (write_full(fd, out.data, out.len)) _exit(0);
  }
}

/* ---- the parent ---- */

typedef struct {
  pid_t pid;               /* 0: not running */
  int fd;                  /* the parent's end, nonblocking */
  progress_slot *prog;
  size_t *chunk;           /* global indices of the items it holds, in order */
  size_t n, received;      /* items in the chunk, results received */
  int busy;
  int64_t last_activity_ns;
  rlvr_jbuf out;           /* request bytes not yet sent */
  size_t out_off;
  unsigned char *in;       /* result bytes not yet parsed */
  size_t in_len, in_cap;
} worker;

struct rlvr_verify_pool {
  rlvr_verify_options opt;
  int nworkers;
  worker *w;
  progress_slot *slots;
  size_t slots_bytes;
  pid_t self;
  rlvr_verify_host *inline_host; /* workers == 0 */
  rlvr_pool_stats stats;
  /* the batch being scored */
  const rlvr_verify_item *items;
  rlvr_verify_result *out;
  size_t n, remaining;
  uint8_t *deaths;
  size_t *queue, qhead, qlen; /* a ring of n slots */
};

static void queue_push_front(rlvr_verify_pool *p, size_t i) {
  p->qhead = (p->qhead + p->n - 1) % p->n;
  p->queue[p->qhead] = i;
  p->qlen++;
}

static size_t queue_pop(rlvr_verify_pool *p) {
  size_t i = p->queue[p->qhead];
  p->qhead = (p->qhead + 1) % p->n;
  p->qlen--;
  return i;
}

static int worker_start(rlvr_verify_pool *p, worker *w) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
    return rlvr_error(RLVR_ERR_IO, "verifier pool: socketpair: %s", strerror(errno));
  atomic_store(&w->prog->item, -1);
  atomic_store(&w->prog->start_ns, 0);
  fflush(NULL); /* the child must not inherit unwritten stdio buffers */
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return rlvr_error(RLVR_ERR_IO, "verifier pool: fork: %s", strerror(e));
  }
  if (pid == 0) {
    close(sv[0]);
    worker_setup(sv[1], p->self, &p->opt);
    worker_main(sv[1], w->prog, &p->opt);
  }
  close(sv[1]);
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  w->pid = pid;
  w->fd = sv[0];
  w->busy = 0;
  w->n = w->received = 0;
  w->out.len = w->out_off = 0;
  w->in_len = 0;
  p->stats.workers_started++;
  return RLVR_OK;
}

/* Kills (if alive) and reaps w. */
static void worker_reap(worker *w) {
  if (w->pid > 0) {
    int st;
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  w->pid = 0;
}

static void set_result_error(rlvr_verify_pool *p, size_t gi, rlvr_verify_status status, const char *msg) {
  memset(&p->out[gi], 0, sizeof p->out[gi]);
  rlvr_verify_result_set_error(&p->out[gi], status, msg);
  p->remaining--;
}

static int drain(rlvr_verify_pool *p, worker *w);

/* w died, or is killed now (timed_out: the watchdog's decision). Keeps the
 * results it sent, blames its current item, queues the rest of its chunk
 * again. */
static void worker_lost(rlvr_verify_pool *p, worker *w, int timed_out, const char *why) {
  int st = -1, reaped = 0;
  if (!timed_out) {
    /* A worker that is exiting on its own: a moment for its real status. */
    for (int i = 0; i < 100 && !reaped; i++) {
      pid_t r = waitpid(w->pid, &st, WNOHANG);
      if (r == w->pid) reaped = 1;
      else if (r < 0 && errno != EINTR) break;
      else usleep(1000);
    }
  }
  if (!reaped) kill(w->pid, SIGKILL);
  drain(p, w); /* results it sent before dying still count */
  if (!reaped) {
    while (waitpid(w->pid, &st, 0) < 0) {
      if (errno != EINTR) { /* ECHILD: the embedding program reaps children itself */
        st = -1;
        break;
      }
    }
  }
  close(w->fd);
  w->fd = -1;
  w->pid = 0;
  if (timed_out) p->stats.workers_killed++;
  else p->stats.workers_died++;

  int64_t cur = atomic_load(&w->prog->item);
  int blamed = w->busy && cur >= (int64_t)w->received && cur < (int64_t)w->n;
  char msg[256];
  rlvr_verify_status status = RLVR_VERIFY_SANDBOX_ERROR;
  const char *sep = why ? ": " : "";
  if (!why) why = "";
  if (timed_out) {
    snprintf(msg, sizeof msg, "wall-clock deadline of %lld ms exceeded; the verifier worker was killed and replaced",
             (long long)p->opt.timeout_ms);
    status = RLVR_VERIFY_TIMEOUT;
  } else if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU) {
    snprintf(msg, sizeof msg, "CPU time limit (RLIMIT_CPU) exceeded; the verifier worker was replaced");
    status = RLVR_VERIFY_TIMEOUT;
  } else if (st != -1 && WIFSIGNALED(st)) {
    snprintf(msg, sizeof msg, "the verifier worker died of signal %d (%s)%s%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
             sep, why);
  } else if (st != -1 && WIFEXITED(st)) {
    snprintf(msg, sizeof msg, "the verifier worker exited with status %d%s%s", WEXITSTATUS(st), sep, why);
  } else {
    snprintf(msg, sizeof msg, "the verifier worker was lost%s%s", sep, why);
  }
  if (w->busy) {
    for (size_t j = w->n; j-- > w->received;) {
      size_t gi = w->chunk[j];
      if (blamed && (int64_t)j == cur) {
        set_result_error(p, gi, status, msg);
      } else if (!blamed && ++p->deaths[gi] >= MAX_DEATHS) {
        /* Deaths that blame no item make no progress; bound them. */
        set_result_error(p, gi, RLVR_VERIFY_SANDBOX_ERROR,
                         "verifier workers died three times, outside any item, while this item waited in their chunk");
      } else {
        queue_push_front(p, gi);
        p->stats.requeued++;
      }
    }
  }
  w->busy = 0;
  w->n = w->received = 0;
  w->out.len = w->out_off = 0;
  w->in_len = 0;
}

static void serialize_item(rlvr_jbuf *b, const rlvr_verify_item *it) {
  uint32_t vl = (uint32_t)strlen(it->verifier);
  put_u32(b, vl);
  put_bytes(b, it->verifier, vl);
  put_u64(b, it->completion_len);
  put_bytes(b, it->completion, it->completion_len);
  uint8_t kind = it->reference ? (it->reference_json ? 2 : 1) : 0;
  put_u8(b, kind);
  put_u64(b, kind ? it->reference_len : 0);
  if (kind) put_bytes(b, it->reference, it->reference_len);
  put_u8(b, it->meta ? 1 : 0);
  put_u64(b, it->meta ? it->meta_len : 0);
  if (it->meta) put_bytes(b, it->meta, it->meta_len);
}

static size_t item_bytes(const rlvr_verify_item *it) {
  return 40 + strlen(it->verifier) + it->completion_len + (it->reference ? it->reference_len : 0) +
         (it->meta ? it->meta_len : 0);
}

static void assign_chunk(rlvr_verify_pool *p, worker *w, size_t chunk_items) {
  w->n = w->received = 0;
  w->out.len = w->out_off = 0;
  put_bytes(&w->out, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", HEADER_BYTES);
  size_t bytes = 0;
  while (p->qlen && w->n < chunk_items) {
    size_t gi = p->queue[p->qhead];
    size_t b = item_bytes(&p->items[gi]);
    if (w->n && bytes + b > CHUNK_BYTES_MAX) break;
    queue_pop(p);
    w->chunk[w->n++] = gi;
    bytes += b;
    serialize_item(&w->out, &p->items[gi]);
  }
  put_header(&w->out, 0, REQ_MAGIC, (uint32_t)w->n);
  w->busy = 1;
  w->last_activity_ns = rlvr_verify_now_ns();
  p->stats.chunks++;
}

/* Sends what it can of w's request. Returns -1 if the worker is gone. */
static int send_pending(worker *w) {
  while (w->out_off < w->out.len) {
    ssize_t s = send(w->fd, w->out.data + w->out_off, w->out.len - w->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (s < 0 && errno == EINTR) continue;
    if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (s <= 0) return -1;
    w->out_off += (size_t)s;
  }
  return 0;
}

/* Parses complete result messages in w->in. Returns -1 on a malformed one. */
static int parse_results(rlvr_verify_pool *p, worker *w) {
  size_t off = 0;
  while (w->in_len - off >= HEADER_BYTES) {
    uint32_t magic, count;
    uint64_t len;
    memcpy(&magic, w->in + off, 4);
    memcpy(&count, w->in + off + 4, 4);
    memcpy(&len, w->in + off + 8, 8);
    if (magic != RES_MAGIC || count == 0 || count > w->n - w->received ||
        len > (uint64_t)count * (RES_DETAILS_MAX + 64))
      return -1;
    if (w->in_len - off - HEADER_BYTES < len) break; /* not all here yet */
    reader r = {w->in + off + HEADER_BYTES, w->in + off + HEADER_BYTES + len, 0};
    for (uint32_t k = 0; k < count; k++) {
      uint32_t idx = rd_u32(&r);
      uint8_t status = rd_u8(&r);
      double score = rd_f64(&r);
      int64_t elapsed = (int64_t)rd_u64(&r);
      uint8_t vl = rd_u8(&r);
      const char *ver = rd_bytes(&r, vl);
      uint32_t dl = rd_u32(&r);
      const char *det = rd_bytes(&r, dl);
      if (r.bad || idx != w->received || status >= RLVR_VERIFY_NSTATUS || !(score >= 0 && score <= 1) ||
          vl >= sizeof p->out[0].version || dl > RES_DETAILS_MAX)
        return -1;
      size_t gi = w->chunk[w->received++];
      rlvr_verify_result *res = &p->out[gi];
      memset(res, 0, sizeof *res);
      res->status = (rlvr_verify_status)status;
      res->score = rlvr_verify_status_is_scored(res->status) ? score : 0;
      res->elapsed_ns = elapsed;
      memcpy(res->version, ver, vl);
      res->details = xmalloc((size_t)dl + 1);
      memcpy(res->details, det, dl);
      res->details[dl] = 0;
      p->remaining--;
    }
    if (r.p != r.end) return -1;
    off += HEADER_BYTES + len;
  }
  if (off) {
    memmove(w->in, w->in + off, w->in_len - off);
    w->in_len -= off;
  }
  if (w->busy && w->received == w->n) w->busy = 0;
  return 0;
}

/* Reads what is there. Returns 1 at end of stream (or error), -1 on a
 * malformed message, 0 otherwise. */
static int drain(rlvr_verify_pool *p, worker *w) {
  for (;;) {
    if (w->in_cap - w->in_len < 65536) {
      w->in_cap = w->in_cap ? 2 * w->in_cap : 1 << 17;
      w->in = xrealloc(w->in, w->in_cap);
    }
    ssize_t r = recv(w->fd, w->in + w->in_len, w->in_cap - w->in_len, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (r <= 0) return 1;
    w->in_len += (size_t)r;
    w->last_activity_ns = rlvr_verify_now_ns();
    if (w->busy && parse_results(p, w)) return -1;
  }
}

int rlvr_pool_build(rlvr_verify_pool **out, const rlvr_verify_options *o) {
  RLVR_CHECK(o->workers >= 0 && o->timeout_ms > 0);
  rlvr_verify_pool *p = xcalloc(1, sizeof *p);
  p->opt = *o;
  p->nworkers = o->workers;
  p->self = getpid();
  if (p->nworkers == 0) {
    p->inline_host = rlvr_host_build(o);
    *out = p;
    return RLVR_OK;
  }
  p->slots_bytes = (size_t)p->nworkers * sizeof(progress_slot);
  p->slots = mmap(NULL, p->slots_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p->slots == MAP_FAILED) {
    int e = errno;
    free(p);
    return rlvr_error(RLVR_ERR_IO, "verifier pool: mmap of %zu bytes: %s", (size_t)o->workers * sizeof(progress_slot),
                      strerror(e));
  }
  p->w = xcalloc((size_t)p->nworkers, sizeof *p->w);
  for (int i = 0; i < p->nworkers; i++) {
    p->w[i].fd = -1;
    p->w[i].prog = &p->slots[i];
    p->w[i].chunk = xcalloc(CHUNK_ITEMS_MAX, sizeof *p->w[i].chunk);
  }
  for (int i = 0; i < p->nworkers; i++) {
    if (worker_start(p, &p->w[i]) != RLVR_OK) {
      int code = RLVR_ERR_IO;
      char msg[512];
      snprintf(msg, sizeof msg, "%s", rlvr_error_message());
      rlvr_pool_free(p);
      return rlvr_error(code, "%s", msg);
    }
  }
  *out = p;
  return RLVR_OK;
}

void rlvr_pool_free(rlvr_verify_pool *p) {
  if (!p) return;
  for (int i = 0; p->w && i < p->nworkers; i++) {
    worker *w = &p->w[i];
    worker_reap(w);
    free(w->chunk);
    rlvr_jbuf_free(&w->out);
    free(w->in);
  }
  free(p->w);
  if (p->slots && p->slots != MAP_FAILED) munmap(p->slots, p->slots_bytes);
  rlvr_host_free(p->inline_host);
  free(p);
}

void rlvr_pool_get_stats(const rlvr_verify_pool *p, rlvr_pool_stats *st) { *st = p->stats; }
int rlvr_pool_workers(const rlvr_verify_pool *p) { return p->nworkers; }
pid_t rlvr_pool_worker_pid(const rlvr_verify_pool *p, int i) {
  return i >= 0 && i < p->nworkers && p->w[i].pid > 0 ? p->w[i].pid : 0;
}

void rlvr_pool_score(rlvr_verify_pool *p, const rlvr_verify_item *items, size_t n, rlvr_verify_result *out) {
  if (n == 0) return;
  p->stats.batches++;
  p->stats.items += (int64_t)n;
  if (p->inline_host) {
    for (size_t i = 0; i < n; i++) rlvr_host_verify(p->inline_host, &items[i], &out[i]);
    return;
  }
  p->items = items;
  p->out = out;
  p->n = n;
  p->deaths = xcalloc(n, 1);
  p->queue = xmalloc(n * sizeof *p->queue);
  p->qhead = p->qlen = 0;
  p->remaining = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t t0 = rlvr_verify_now_ns();
    if (rlvr_host_precheck(&p->opt, &items[i], &out[i])) {
      out[i].elapsed_ns = rlvr_verify_now_ns() - t0;
      continue;
    }
    p->queue[p->qlen++] = i;
    p->remaining++;
  }
  size_t chunk_items = p->remaining / ((size_t)p->nworkers * 4);
  if (chunk_items < 1) chunk_items = 1;
  if (chunk_items > CHUNK_ITEMS_MAX) chunk_items = CHUNK_ITEMS_MAX;
  int64_t timeout_ns = p->opt.timeout_ms * 1000000;
  /* A worker that holds a chunk but is on no item (reading its request,
   * writing results) for this long is stuck outside any item. */
  int64_t idle_limit_ns = 2 * timeout_ns + 5000000000LL;
  struct pollfd *fds = xcalloc((size_t)p->nworkers, sizeof *fds);
  int *who = xcalloc((size_t)p->nworkers, sizeof *who);
  char start_error[512] = "";

  /* Workers that died while idle (since the last batch) are replaced now. */
  for (int i = 0; i < p->nworkers; i++) {
    worker *w = &p->w[i];
    int st;
    if (w->pid > 0 && waitpid(w->pid, &st, WNOHANG) == w->pid) {
      close(w->fd);
      w->fd = -1;
      w->pid = 0;
      p->stats.workers_died++;
    }
  }

  while (p->remaining > 0) {
    /* Hand out work; start workers where needed. */
    int nbusy = 0, start_failed = 0;
    for (int i = 0; i < p->nworkers; i++) {
      worker *w = &p->w[i];
      if (!w->busy && p->qlen) {
        if (w->pid == 0 && worker_start(p, w) != RLVR_OK) {
          snprintf(start_error, sizeof start_error, "%s", rlvr_error_message());
          start_failed = 1;
          continue;
        }
        assign_chunk(p, w, chunk_items);
        if (send_pending(w)) worker_lost(p, w, 0, "it closed its socket");
      }
      if (w->busy) nbusy++;
    }
    if (nbusy == 0 && !start_failed) continue; /* workers were lost at once: start new ones */
    if (nbusy == 0) {
      /* Queued work and no worker can start: give up on what is left. */
      while (p->qlen) {
        size_t gi = queue_pop(p);
        set_result_error(p, gi, RLVR_VERIFY_SANDBOX_ERROR, start_error);
      }
      break;
    }

    /* Wait for results, room to send, or the nearest deadline. */
    int nfds = 0;
    int64_t now = rlvr_verify_now_ns();
    int64_t wait_ns = 100000000; /* re-check at least every 100 ms */
    for (int i = 0; i < p->nworkers; i++) {
      worker *w = &p->w[i];
      if (!w->busy) continue;
      fds[nfds].fd = w->fd;
      fds[nfds].events = POLLIN | (w->out_off < w->out.len ? POLLOUT : 0);
      fds[nfds].revents = 0;
      who[nfds++] = i;
      if (atomic_load(&w->prog->item) >= 0) {
        int64_t left = atomic_load(&w->prog->start_ns) + timeout_ns - now;
        if (left < wait_ns) wait_ns = left;
      }
    }
    int wait_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
    int r = poll(fds, (nfds_t)nfds, wait_ms);
    if (r < 0 && errno != EINTR) RLVR_CHECK(0, "poll: %s", strerror(errno));

    for (int k = 0; r > 0 && k < nfds; k++) {
      worker *w = &p->w[who[k]];
      if (!w->busy || !fds[k].revents) continue;
      if ((fds[k].revents & POLLOUT) && send_pending(w)) {
        worker_lost(p, w, 0, "it closed its socket");
        continue;
      }
      if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        int d = drain(p, w);
        if (d < 0) worker_lost(p, w, 0, "it sent a malformed message");
        else if (d > 0) worker_lost(p, w, 0, NULL);
      }
    }

    /* The watchdog. */
    now = rlvr_verify_now_ns();
    for (int i = 0; i < p->nworkers; i++) {
      worker *w = &p->w[i];
      if (!w->busy) continue;
      int64_t item = atomic_load(&w->prog->item);
      int64_t start = atomic_load(&w->prog->start_ns);
      if (item >= 0 && now - start > timeout_ns) worker_lost(p, w, 1, NULL);
      else if (item < 0 && now - w->last_activity_ns > idle_limit_ns) worker_lost(p, w, 0, "stuck between items");
    }
  }
  free(fds);
  free(who);
  free(p->deaths);
  free(p->queue);
  p->deaths = NULL;
  p->queue = NULL;
  p->items = NULL;
  p->out = NULL;
}
