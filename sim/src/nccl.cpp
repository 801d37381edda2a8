/* nccl.cpp — NCCL for the CPU emulation: communicators over TCP between
 * processes (or within one), enough for rlvr's weight sync: join with a
 * unique id, broadcast from rank 0, group calls, non-blocking init with
 * ncclInProgress and ncclCommGetAsyncError, abort.
 *
 * The unique id holds the address of a listening socket that
 * ncclGetUniqueId opens in its process; the rank-0 communicator must be
 * made in that same process (rlvr's learner makes the id and is rank 0).
 * Other ranks connect to it and say who they are; rank 0 accepts them all.
 * A broadcast sends the bytes from rank 0 to every other rank over its
 * connection, in issue order, when the stream runs it (at once: cudasim's
 * streams are synchronous). A peer that goes away or says nothing for
 * CUDASIM_NCCL_TIMEOUT_S seconds (default 30) becomes ncclRemoteError /
 * ncclSystemError through ncclCommGetAsyncError, as a real communicator's
 * failures do. The listening socket closes once every rank has joined or
 * the rank-0 communicator is destroyed. Unlike NCCL, a broadcast runs to
 * completion (or to that timeout) when it is issued, not in the
 * background: callers polling their own deadline see the result at once. Addresses: 127.0.0.1 unless CUDASIM_NCCL_ADDR names the
 * IPv4 address other hosts reach this one at. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "internal.h"
#include "nccl.h"

namespace {

struct id_wire {
  char magic[8];
  uint32_t ip;   /* network order */
  uint16_t port; /* network order */
  uint16_t pad;
  uint64_t nonce;
};
static_assert(sizeof(id_wire) <= sizeof(ncclUniqueId), "fits");

struct hello {
  uint64_t nonce;
  int32_t rank, nranks;
};

std::mutex g_mu;
std::map<uint64_t, int> g_listeners; /* nonce -> listening socket of ids made here */
int g_group = 0;

double now_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double io_timeout_s() {
  const char *e = getenv("CUDASIM_NCCL_TIMEOUT_S");
  return e && atof(e) > 0 ? atof(e) : 30.0;
}

}  // namespace

struct cudasim_nccl_comm {
  int rank = 0, nranks = 1;
  bool blocking = true;
  id_wire id;
  std::vector<int> peers; /* rank 0: socket of rank r at [r]; others: [0] */
  std::atomic<int> state{ncclInProgress};
  std::atomic<bool> aborted{false};
  std::thread joiner;
  std::mutex msg_mu;
  std::string last;
  void set_error(ncclResult_t r, const std::string &m) {
    {
      std::lock_guard<std::mutex> lk(msg_mu);
      last = m;
    }
    state = r;
  }
};

namespace {

/* Waits for fd to be ready for events until deadline; false on timeout,
 * abort, or error. */
bool wait_fd(cudasim_nccl_comm *c, int fd, short events, double deadline) {
  for (;;) {
    if (c->aborted) return false;
    const double left = deadline - now_s();
    if (left <= 0) return false;
    struct pollfd p = {fd, events, 0};
    int ms = left > 0.05 ? 50 : (int)(left * 1000) + 1;
    int n = poll(&p, 1, ms);
    if (n > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool send_all(cudasim_nccl_comm *c, int fd, const void *buf, size_t n, double deadline) {
  const char *p = (const char *)buf;
  while (n > 0) {
    if (!wait_fd(c, fd, POLLOUT, deadline)) return false;
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k <= 0) return false;
    p += k, n -= (size_t)k;
  }
  return true;
}

bool recv_all(cudasim_nccl_comm *c, int fd, void *buf, size_t n, double deadline) {
  char *p = (char *)buf;
  while (n > 0) {
    if (!wait_fd(c, fd, POLLIN, deadline)) return false;
    ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k <= 0) return false;
    p += k, n -= (size_t)k;
  }
  return true;
}

/* Closes the listening socket of an id made in this process, if open. */
void close_listener(uint64_t nonce) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_listeners.find(nonce);
  if (it == g_listeners.end()) return;
  close(it->second);
  g_listeners.erase(it);
}

void join(cudasim_nccl_comm *c) {
  const double deadline = now_s() + 3600.0; /* the caller's own timeout aborts earlier */
  char m[160];
  if (c->nranks == 1) {
    close_listener(c->id.nonce);
    c->state = ncclSuccess;
    return;
  }
  if (c->rank == 0) {
    int lfd = -1;
    {
      std::lock_guard<std::mutex> lk(g_mu);
      auto it = g_listeners.find(c->id.nonce);
      if (it != g_listeners.end()) lfd = it->second;
    }
    if (lfd < 0) {
      c->set_error(ncclInvalidUsage, "cudasim: rank 0 must join in the process that called ncclGetUniqueId");
      return;
    }
    c->peers.assign(c->nranks, -1);
    int have = 0;
    while (have < c->nranks - 1) {
      if (!wait_fd(c, lfd, POLLIN, deadline)) {
        c->set_error(ncclSystemError, c->aborted ? "cudasim: aborted while waiting for ranks" : "cudasim: accept");
        return;
      }
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) continue;
      hello h;
      if (!recv_all(c, fd, &h, sizeof h, now_s() + io_timeout_s()) || h.nonce != c->id.nonce || h.rank < 1 ||
          h.rank >= c->nranks || h.nranks != c->nranks || c->peers[h.rank] >= 0) {
        close(fd); /* a stranger or a duplicate: not one of ours */
        continue;
      }
      c->peers[h.rank] = fd;
      have++;
    }
    close_listener(c->id.nonce); /* every rank is here: the id is spent */
    for (int r = 1; r < c->nranks; r++) {
      const char ok = 1;
      if (!send_all(c, c->peers[r], &ok, 1, now_s() + io_timeout_s())) {
        snprintf(m, sizeof m, "cudasim: rank %d went away while joining", r);
        c->set_error(ncclRemoteError, m);
        return;
      }
    }
    c->state = ncclSuccess;
    return;
  }
  /* rank > 0: connect (retrying while rank 0 is not listening yet) */
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = c->id.ip;
  a.sin_port = c->id.port;
  int fd = -1;
  while (fd < 0) {
    if (c->aborted || now_s() > deadline) {
      c->set_error(ncclSystemError, "cudasim: aborted while connecting to rank 0");
      return;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      c->set_error(ncclSystemError, "cudasim: socket");
      return;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      fd = -1;
      usleep(20000);
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->peers.assign(1, fd);
  hello h = {c->id.nonce, c->rank, c->nranks};
  char ok = 0;
  if (!send_all(c, fd, &h, sizeof h, now_s() + io_timeout_s()) || !recv_all(c, fd, &ok, 1, deadline) || ok != 1) {
    c->set_error(c->aborted ? ncclSystemError : ncclRemoteError, "cudasim: rank 0 did not complete the join");
    return;
  }
  c->state = ncclSuccess;
}

void broadcast_now(cudasim_nccl_comm *c, const void *send, void *recv, size_t bytes) {
  if (c->state != ncclSuccess) return; /* an earlier failure stands */
  const double deadline = now_s() + io_timeout_s();
  char m[160];
  if (c->rank == 0) {
    if (send != recv) memmove(recv, send, bytes);
    for (int r = 1; r < c->nranks; r++)
      if (!send_all(c, c->peers[r], recv, bytes, deadline)) {
        snprintf(m, sizeof m, "cudasim: broadcast of %zu bytes: rank %d did not take them", bytes, r);
        c->set_error(ncclRemoteError, m);
        return;
      }
  } else if (!recv_all(c, c->peers[0], recv, bytes, deadline)) {
    snprintf(m, sizeof m, "cudasim: broadcast of %zu bytes: rank 0 did not send them", bytes);
    c->set_error(ncclRemoteError, m);
  }
}

size_t type_size(ncclDataType_t t) {
  switch (t) {
  case ncclInt8: case ncclUint8: return 1;
  case ncclFloat16: case ncclBfloat16: return 2;
  case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
  default: return 8;
  }
}

void close_comm(cudasim_nccl_comm *c) {
  c->aborted = true;
  if (c->joiner.joinable()) c->joiner.join();
  if (c->rank == 0) close_listener(c->id.nonce); /* a communicator given up on: its id too */
  for (int fd : c->peers)
    if (fd >= 0) close(fd);
  c->peers.clear();
}

}  // namespace

extern "C" {

const char *ncclGetErrorString(ncclResult_t r) {
  switch (r) {
  case ncclSuccess: return "no error";
  case ncclUnhandledCudaError: return "unhandled cuda error";
  case ncclSystemError: return "unhandled system error";
  case ncclInternalError: return "internal error";
  case ncclInvalidArgument: return "invalid argument";
  case ncclInvalidUsage: return "invalid usage";
  case ncclRemoteError: return "remote process exited or there was a network error";
  case ncclInProgress: return "NCCL operation in progress";
  }
  return "unknown result code";
}

const char *ncclGetLastError(ncclComm_t comm) {
  static thread_local std::string copy;
  if (!comm) return "";
  std::lock_guard<std::mutex> lk(comm->msg_mu);
  copy = comm->last;
  return copy.c_str();
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ncclSystemError;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  const char *addr = getenv("CUDASIM_NCCL_ADDR");
  a.sin_addr.s_addr = addr ? INADDR_ANY : htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) || getsockname(fd, (struct sockaddr *)&a, &len)) {
    close(fd);
    return ncclSystemError;
  }
  id_wire w;
  memset(&w, 0, sizeof w);
  memcpy(w.magic, "cudasimN", 8);
  w.ip = addr ? inet_addr(addr) : htonl(INADDR_LOOPBACK);
  w.port = a.sin_port;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  w.nonce = ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)fd;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    g_listeners[w.nonce] = fd;
  }
  memset(id, 0, sizeof *id);
  memcpy(id, &w, sizeof w);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank, ncclConfig_t *config) {
  *comm = nullptr;
  id_wire w;
  memcpy(&w, &id, sizeof w);
  if (memcmp(w.magic, "cudasimN", 8) || nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
  cudasim_nccl_comm *c = new cudasim_nccl_comm;
  c->rank = rank;
  c->nranks = nranks;
  c->id = w;
  c->blocking = !config || config->blocking != 0;
  *comm = c;
  if (c->blocking) {
    join(c);
    return (ncclResult_t)c->state.load();
  }
  c->joiner = std::thread(join, c);
  return ncclInProgress;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
  return ncclCommInitRankConfig(comm, nranks, id, rank, nullptr);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *state) {
  if (!comm) return ncclInvalidArgument;
  *state = (ncclResult_t)comm->state.load();
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  close_comm(comm);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return ncclCommAbort(comm); }

ncclResult_t ncclGroupStart(void) {
  g_group++;
  return ncclSuccess;
}

ncclResult_t ncclGroupEnd(void) {
  if (g_group <= 0) return ncclInvalidUsage;
  g_group--;
  return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t type, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  if (!comm) return ncclInvalidArgument;
  if (comm->state == ncclInProgress) return ncclInvalidUsage; /* not joined yet */
  if (root != 0) {
    comm->set_error(ncclInvalidUsage, "cudasim: broadcast from a root other than rank 0 is not emulated");
    return ncclInvalidUsage;
  }
  const size_t bytes = count * type_size(type);
  if (!cudasim::device_range(recvbuff, bytes) || (comm->rank == 0 && !cudasim::device_range(sendbuff, bytes))) {
    fprintf(stderr, "cudasim (NCCL): broadcast buffers of %zu bytes are not device memory\n", bytes);
    return ncclInvalidArgument;
  }
  cudasim::issue_op(stream, [comm, sendbuff, recvbuff, bytes]() { broadcast_now(comm, sendbuff, recvbuff, bytes); });
  return ncclSuccess;
}

}  /* extern "C" */
