/* runtime.cpp — the CPU emulation of the CUDA runtime (cudasim): device
 * memory, copies, streams, events, graphs, CUDA IPC, and the launch
 * scheduler that runs kernels as fibers. See docs/cuda_sim.md.
 *
 * Device memory: one shared-memory file per process (memfd), mapped once
 * at a fixed size and handed out in whole pages. Each allocation ends at a
 * page boundary followed by an inaccessible guard page, so a kernel that
 * runs past its buffer (by more than the 256-byte rounding) faults at
 * once; freed pages are returned to the system and made inaccessible, so
 * a use after free faults too. New allocations are filled with 0xFF bytes
 * (NaN as float or bf16, -1 as int): reading memory nobody wrote shows.
 * The file is what makes CUDA IPC work between processes: a handle names
 * (pid, file, offset) and the other process maps the same pages.
 *
 * Execution: every stream is synchronous (work runs when it is issued, in
 * issue order), so the emulation cannot show a race between streams or
 * between host and device; it does check what such races usually come
 * from: copy directions and ranges, host pointers given to kernels, launch
 * configurations, and work issued to a stream under capture that a real
 * capture refuses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <vector>

#include "cuda_runtime.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define CUDASIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUDASIM_ASAN 1
#endif
#endif
#ifdef CUDASIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

uint3 threadIdx; /* plain globals: launches run one at a time (g_mu) */
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace {

std::recursive_mutex g_mu; /* every API call and launch */
thread_local cudaError_t g_last_error = cudaSuccess;
unsigned long long g_launches = 0;

[[noreturn]] void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cudasim: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

cudaError_t fail(cudaError_t e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cudasim: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  g_last_error = e;
  return e;
}

double now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ======================================================================== */
/* device memory                                                            */
/* ======================================================================== */

enum alloc_kind { DEVICE = 0, PINNED = 1, IPC = 2 };

struct alloc_rec {
  char *user;        /* what the caller got */
  size_t bytes;      /* what the caller asked for */
  size_t page0, npages; /* pages of the heap (DEVICE, PINNED); the mapping for IPC */
  char *map;         /* IPC: the mapping's base */
  size_t map_len;
  alloc_kind kind;
};

const size_t HEAP_BYTES = (size_t)1 << 38; /* 256 GiB of address space, pages on demand */
const size_t TOTAL_MEM = (size_t)80 << 30; /* what cudaMemGetInfo reports as the device's */
size_t g_page = 4096;
int g_heap_fd = -1;
char *g_heap = nullptr;
size_t g_heap_pages = 0, g_heap_top = 0; /* pages; bump allocation, no reuse until full */
std::map<size_t, size_t> g_free_pages;    /* page0 -> npages, freed (reused once the bump is spent) */
std::map<uintptr_t, alloc_rec> g_allocs;  /* by user pointer */
size_t g_used = 0;

void segv_handler(int sig, siginfo_t *si, void *) {
  const char *a = (const char *)si->si_addr;
  char msg[256];
  int n = 0;
  if (g_heap && a >= g_heap && a < g_heap + HEAP_BYTES)
    n = snprintf(msg, sizeof msg,
                 "cudasim: invalid access to device memory at %p: past the end of an allocation (guard page), "
                 "freed memory, or never allocated\n",
                 (const void *)a);
  else
    n = snprintf(msg, sizeof msg, "cudasim: segmentation fault at %p (outside device memory; a kernel thread's "
                                  "stack overflow faults here too)\n",
                 (const void *)a);
  if (n > 0) (void)!write(2, msg, (size_t)n);
  signal(sig, SIG_DFL);
  raise(sig);
}

void init_locked() {
  if (g_heap) return;
  g_page = (size_t)sysconf(_SC_PAGESIZE);
  g_heap_fd = memfd_create("cudasim-device-memory", MFD_CLOEXEC);
  if (g_heap_fd < 0) die("memfd_create: %s", strerror(errno));
  if (ftruncate(g_heap_fd, (off_t)HEAP_BYTES)) die("ftruncate of the device memory file: %s", strerror(errno));
  void *p = mmap(nullptr, HEAP_BYTES, PROT_NONE, MAP_SHARED | MAP_NORESERVE, g_heap_fd, 0);
  if (p == MAP_FAILED) die("mmap of %zu bytes of device address space: %s", HEAP_BYTES, strerror(errno));
  g_heap = (char *)p;
  g_heap_pages = HEAP_BYTES / g_page;
#ifndef CUDASIM_ASAN
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
#endif
}

void init() {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* Pages for a new allocation of npages + 1 guard page. */
bool take_pages(size_t want, size_t *page0) {
  if (g_heap_top + want <= g_heap_pages) {
    *page0 = g_heap_top;
    g_heap_top += want;
    return true;
  }
  for (auto it = g_free_pages.begin(); it != g_free_pages.end(); ++it) {
    if (it->second >= want) {
      *page0 = it->first;
      const size_t rest = it->second - want, at = it->first + want;
      g_free_pages.erase(it);
      if (rest) g_free_pages[at] = rest;
      return true;
    }
  }
  return false;
}

cudaError_t heap_alloc(void **out, size_t bytes, alloc_kind kind) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  if (!out) return fail(cudaErrorInvalidValue, "cudaMalloc: NULL out pointer");
  *out = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (g_used + bytes > TOTAL_MEM)
    return fail(cudaErrorMemoryAllocation, "cudaMalloc of %zu bytes: out of the emulated %zu GiB (%zu in use)", bytes,
                TOTAL_MEM >> 30, g_used);
  const size_t data = round_up(bytes, 256), npages = round_up(data, g_page) / g_page;
  size_t page0 = 0;
  if (!take_pages(npages + 1, &page0))
    return fail(cudaErrorMemoryAllocation, "cudaMalloc of %zu bytes: emulated address space exhausted", bytes);
  char *base = g_heap + page0 * g_page;
  if (mprotect(base, npages * g_page, PROT_READ | PROT_WRITE)) die("mprotect: %s", strerror(errno));
  char *user = base + npages * g_page - data;
  memset(user, 0xFF, bytes);
  alloc_rec r;
  r.user = user;
  r.bytes = bytes;
  r.page0 = page0;
  r.npages = npages;
  r.map = nullptr;
  r.map_len = 0;
  r.kind = kind;
  g_allocs[(uintptr_t)user] = r;
  g_used += bytes;
  *out = user;
  return cudaSuccess;
}

/* The allocation holding p (one past the end counts), or NULL. */
const alloc_rec *find_alloc(const void *p) {
  if (g_allocs.empty()) return nullptr;
  auto it = g_allocs.upper_bound((uintptr_t)p);
  if (it == g_allocs.begin()) return nullptr;
  --it;
  const alloc_rec &r = it->second;
  if ((const char *)p >= r.user && (const char *)p <= r.user + r.bytes) return &r;
  return nullptr;
}

cudaError_t heap_free(void *p, bool pinned) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!p) return cudaSuccess;
  auto it = g_allocs.find((uintptr_t)p);
  if (it == g_allocs.end() || it->second.kind == IPC || (it->second.kind == PINNED) != pinned)
    return fail(cudaErrorInvalidValue, "%s(%p): not the start of a live %s allocation", pinned ? "cudaFreeHost" : "cudaFree",
                p, pinned ? "pinned host" : "device");
  const alloc_rec r = it->second;
  g_allocs.erase(it);
  char *base = g_heap + r.page0 * g_page;
  if (fallocate(g_heap_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(r.page0 * g_page),
                (off_t)(r.npages * g_page)))
    memset(base, 0, r.npages * g_page); /* no hole punching here: at least the data is gone */
  if (mprotect(base, r.npages * g_page, PROT_NONE)) die("mprotect: %s", strerror(errno));
  g_free_pages[r.page0] = r.npages + 1;
  g_used -= r.bytes;
  return cudaSuccess;
}

bool is_device(const void *p) {
  const alloc_rec *r = find_alloc(p);
  return r && r->kind != PINNED;
}

/* Checks a copy's direction against where its pointers are, and that a
 * range in device memory lies inside one allocation. */
cudaError_t check_range(const char *what, const char *role, const void *p, size_t bytes, bool want_device) {
  const alloc_rec *r = find_alloc(p);
  const bool dev = r && r->kind != PINNED;
  if (want_device && !dev)
    return fail(cudaErrorInvalidValue, "%s: the %s %p is not device memory", what, role, p);
  if (!want_device && dev)
    return fail(cudaErrorInvalidValue, "%s: the %s %p is device memory, but the copy's kind says host", what, role, p);
  if (r && (const char *)p + bytes > r->user + r->bytes)
    return fail(cudaErrorInvalidValue, "%s: %zu bytes at the %s %p run %zu bytes past its allocation of %zu", what,
                bytes, role, p, (size_t)((const char *)p + bytes - (r->user + r->bytes)), r->bytes);
  return cudaSuccess;
}

cudaError_t check_copy(const char *what, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  cudaError_t e = cudaSuccess;
  switch (kind) {
  case cudaMemcpyHostToDevice:
    if ((e = check_range(what, "destination", dst, bytes, true))) return e;
    return check_range(what, "source", src, bytes, false);
  case cudaMemcpyDeviceToHost:
    if ((e = check_range(what, "destination", dst, bytes, false))) return e;
    return check_range(what, "source", src, bytes, true);
  case cudaMemcpyDeviceToDevice:
    if ((e = check_range(what, "destination", dst, bytes, true))) return e;
    return check_range(what, "source", src, bytes, true);
  case cudaMemcpyHostToHost:
    if ((e = check_range(what, "destination", dst, bytes, false))) return e;
    return check_range(what, "source", src, bytes, false);
  case cudaMemcpyDefault: {
    const alloc_rec *a = find_alloc(dst), *b = find_alloc(src);
    if (a && (char *)dst + bytes > a->user + a->bytes) return check_range(what, "destination", dst, bytes, true);
    if (b && (const char *)src + bytes > b->user + b->bytes) return check_range(what, "source", src, bytes, true);
    return cudaSuccess;
  }
  }
  return fail(cudaErrorInvalidMemcpyDirection, "%s: copy kind %d", what, (int)kind);
}

/* ======================================================================== */
/* streams, events, graphs                                                  */
/* ======================================================================== */

}  // namespace

struct cudasim_graph {
  std::vector<std::function<void()>> ops;
};
struct cudasim_graph_exec {
  std::vector<std::function<void()>> ops;
};
struct cudasim_stream {
  unsigned flags;
  cudasim_graph *capture; /* non-NULL while capturing */
  bool invalidated;
};
struct cudasim_event {
  unsigned flags;
  double ms; /* time of the last record, < 0 before any */
};

namespace {

cudasim_stream g_default_stream = {0, nullptr, false};

cudasim_stream *stream_of(cudaStream_t s) { return s ? s : &g_default_stream; }

/* Runs op now, or appends it to the stream's capture. */
void issue(cudaStream_t s, std::function<void()> op) {
  cudasim_stream *st = stream_of(s);
  if (st->capture) st->capture->ops.push_back(std::move(op));
  else op();
}

bool capturing(cudaStream_t s) { return stream_of(s)->capture != nullptr; }

/* A capture may hold copies between device memory and pinned host memory
 * only: a pageable host buffer is refused by a real capture. */
cudaError_t capture_copy_check(cudaStream_t s, const void *dst, const void *src, cudaMemcpyKind kind) {
  if (!capturing(s)) return cudaSuccess;
  const void *host = kind == cudaMemcpyHostToDevice ? src : kind == cudaMemcpyDeviceToHost ? dst : nullptr;
  if (host && !find_alloc(host)) {
    stream_of(s)->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported,
                "cudaMemcpyAsync from or to pageable host memory %p while the stream is captured", host);
  }
  return cudaSuccess;
}

/* ======================================================================== */
/* the launch scheduler: a block's threads as fibers                        */
/* ======================================================================== */

enum fiber_state { RUN = 0, WAIT_BLOCK = 1, WAIT_WARP = 2, DONE = 3 };

/* Switching fibers: on x86-64 a few instructions that save the
 * callee-saved registers on the old stack and restore them from the new
 * one (swapcontext also saves the signal mask, a system call each way:
 * it made the emulation several times slower); elsewhere swapcontext. */
#if defined(__x86_64__)
#define CUDASIM_FAST_SWITCH 1
extern "C" void cudasim_switch(void **save_sp, void *new_sp);
asm(".text\n"
    ".globl cudasim_switch\n"
    ".type cudasim_switch,@function\n"
    "cudasim_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size cudasim_switch,.-cudasim_switch\n");
#endif

struct fiber { /* small: the scheduler scans the states of a whole block */
  void *sp; /* saved stack pointer (fast switch) */
#ifndef CUDASIM_FAST_SWITCH
  ucontext_t *uc;
#endif
  char *stack;
  size_t stack_size;
  int state;
  void *asan_fake;
};

const int SLOT_BYTES = 16;

struct block_run {
  const char *name;
  const std::function<void()> *body;
  int n;      /* threads */
  int live;   /* threads that have not returned */
  int block_waiting;
  const char *block_file; /* where the threads waiting at __syncthreads called it */
  int block_line;
  std::vector<int> warp_live, warp_waiting, warp_gen;
  std::vector<unsigned char> slots; /* [2][n][SLOT_BYTES] */
  std::vector<int> slot_gen;        /* [2][n]: the exchange generation each slot holds */
  int current;
  dim3 block, grid;
  uint3 bidx;
  ucontext_t sched;
  void *sched_sp;
  const void *sched_stack_bottom;
  size_t sched_stack_size;
  void *sched_fake;
  char *smem;
};

std::vector<fiber> g_fibers;
block_run *g_run = nullptr; /* the block being run (launches hold g_mu) */

#ifdef CUDASIM_ASAN
const size_t FIBER_STACK = 512 << 10;
#else
const size_t FIBER_STACK = 128 << 10;
#endif

void ensure_fibers(int n) {
  while ((int)g_fibers.size() < n) {
    fiber f;
    memset(&f, 0, sizeof f);
    const size_t len = FIBER_STACK + g_page;
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) die("mmap of a fiber stack: %s", strerror(errno));
    mprotect(p, g_page, PROT_NONE); /* guard below the stack */
    f.stack = (char *)p + g_page;
    f.stack_size = FIBER_STACK;
    g_fibers.push_back(f);
  }
}

void set_builtins(block_run *b, int i) {
  threadIdx.x = (unsigned)i % b->block.x;
  threadIdx.y = ((unsigned)i / b->block.x) % b->block.y;
  threadIdx.z = (unsigned)i / (b->block.x * b->block.y);
  blockIdx = b->bidx;
  blockDim = b->block;
  gridDim = b->grid;
}

/* From a fiber back to the scheduler. */
void yield_fiber(bool dying) {
  block_run *b = g_run;
  fiber &f = g_fibers[b->current];
#ifdef CUDASIM_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &f.asan_fake, b->sched_stack_bottom, b->sched_stack_size);
#endif
#ifdef CUDASIM_FAST_SWITCH
  cudasim_switch(&f.sp, b->sched_sp);
#else
  swapcontext(f.uc, &b->sched);
#endif
#ifdef CUDASIM_ASAN
  __sanitizer_finish_switch_fiber(f.asan_fake, &b->sched_stack_bottom, &b->sched_stack_size);
#endif
  (void)dying;
}

void release_block(block_run *b) {
  for (int i = 0; i < b->n; i++)
    if (g_fibers[i].state == WAIT_BLOCK) g_fibers[i].state = RUN;
  b->block_waiting = 0;
  b->block_file = nullptr;
}

void release_warp(block_run *b, int w) {
  const int lo = w * 32, hi = lo + 32 < b->n ? lo + 32 : b->n;
  for (int i = lo; i < hi; i++)
    if (g_fibers[i].state == WAIT_WARP) g_fibers[i].state = RUN;
  b->warp_waiting[w] = 0;
  b->warp_gen[w]++;
}

void fiber_entry() {
  block_run *b = g_run;
#ifdef CUDASIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &b->sched_stack_bottom, &b->sched_stack_size);
#endif
  (*b->body)();
  b = g_run;
  const int i = b->current, w = i / 32;
  g_fibers[i].state = DONE;
  b->live--;
  b->warp_live[w]--;
  if (b->block_waiting > 0 && b->block_waiting == b->live) release_block(b);
  if (b->warp_waiting[w] > 0 && b->warp_waiting[w] == b->warp_live[w]) release_warp(b, w);
  yield_fiber(true);
  die("a finished kernel thread was resumed");
}

[[noreturn]] void deadlock(block_run *b) {
  int wb = 0, ww = 0;
  for (int i = 0; i < b->n; i++) {
    wb += g_fibers[i].state == WAIT_BLOCK;
    ww += g_fibers[i].state == WAIT_WARP;
  }
  die("kernel %s, block (%u,%u,%u): deadlock: %d threads wait at __syncthreads, %d at a warp shuffle or vote, %d "
      "returned (a barrier or shuffle inside divergent code: on a GPU it hangs or reads garbage)",
      b->name, b->bidx.x, b->bidx.y, b->bidx.z, wb, ww, b->n - b->live);
}

void run_block(block_run *b) {
  ensure_fibers(b->n);
  b->live = b->n;
  b->block_waiting = 0;
  b->block_file = nullptr;
  const int nw = (b->n + 31) / 32;
  b->warp_live.assign(nw, 0);
  b->warp_waiting.assign(nw, 0);
  b->warp_gen.assign(nw, 0);
  for (int i = 0; i < b->n; i++) b->warp_live[i / 32]++;
  b->slot_gen.assign(2 * b->n, -1);
  for (int i = 0; i < b->n; i++) {
    fiber &f = g_fibers[i];
#ifdef CUDASIM_FAST_SWITCH
    /* a stack that cudasim_switch "returns" into fiber_entry from, with
     * the alignment of a function just called: (rsp + 8) % 16 == 0 */
    /* Stacks are page-aligned, so their tops would all fall in the same
     * cache sets and evict each other at every switch (a block's threads
     * switch in turn): start each fiber at its own offset, a multiple of
     * a cache line spread over 60 KiB. */
    const uintptr_t color = ((uintptr_t)i * 448u) % 61440u;
    uintptr_t top = ((uintptr_t)f.stack + f.stack_size - color) & ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = nullptr;                        /* fiber_entry's return address: never used */
    *--sp = (void *)(uintptr_t)&fiber_entry; /* where the first switch returns to */
    for (int r = 0; r < 6; r++) *--sp = nullptr; /* rbp rbx r12-r15 */
    f.sp = sp;
#else
    if (!f.uc) f.uc = new ucontext_t;
    getcontext(f.uc);
    f.uc->uc_stack.ss_sp = f.stack;
    f.uc->uc_stack.ss_size = f.stack_size;
    f.uc->uc_link = nullptr;
    makecontext(f.uc, fiber_entry, 0);
#endif
    f.state = RUN;
    f.asan_fake = nullptr;
  }
  for (;;) {
    bool ran = false;
    for (int i = 0; i < b->n; i++) {
      if (g_fibers[i].state != RUN) continue;
      ran = true;
      b->current = i;
      set_builtins(b, i);
#ifdef CUDASIM_ASAN
      __sanitizer_start_switch_fiber(&b->sched_fake, g_fibers[i].stack, g_fibers[i].stack_size);
#endif
#ifdef CUDASIM_FAST_SWITCH
      cudasim_switch(&b->sched_sp, g_fibers[i].sp);
#else
      swapcontext(&b->sched, g_fibers[i].uc);
#endif
#ifdef CUDASIM_ASAN
      __sanitizer_finish_switch_fiber(b->sched_fake, nullptr, nullptr);
#endif
    }
    if (b->live == 0) return;
    if (!ran) deadlock(b);
  }
}

struct func_attr {
  int max_dynamic_smem;
};
std::map<const void *, func_attr> g_func_attrs;

const size_t SMEM_DEFAULT = 48 << 10, SMEM_OPTIN = 227 << 10;

}  // namespace

/* ======================================================================== */
/* device-side entry points (cudasim_device.h)                              */
/* ======================================================================== */

namespace cudasim {

/* Threads that meet at one barrier must have called it from one place: a
 * __syncthreads in divergent code (threads of one block taking different
 * branches, each with its own barrier) is undefined behaviour on a GPU,
 * often a hang, sometimes silently wrong; here it is reported. Threads
 * that returned early count as arrived, as on Volta and later. */
void sync_block(const char *file, int line) {
  block_run *b = g_run;
  if (b->block_waiting == 0) {
    b->block_file = file;
    b->block_line = line;
  } else if (line != b->block_line || (file != b->block_file && strcmp(file, b->block_file))) {
    die("kernel %s, block (%u,%u,%u), thread %d: __syncthreads at %s:%d while other threads wait at the one at "
        "%s:%d (a barrier in divergent code)",
        b->name, b->bidx.x, b->bidx.y, b->bidx.z, b->current, file, line, b->block_file, b->block_line);
  }
  g_fibers[b->current].state = WAIT_BLOCK;
  b->block_waiting++;
  if (b->block_waiting == b->live) release_block(b); /* the last to arrive goes on at once */
  else yield_fiber(false);
}

void sync_warp() {
  int dummy = 0, out = 0;
  warp_exchange(&dummy, &out, sizeof dummy, lane_id());
}

int lane_id() { return g_run->current & 31; }

void warp_exchange(const void *mine, void *out, unsigned size, int src_lane) {
  block_run *b = g_run;
  if (size > (unsigned)SLOT_BYTES) die("kernel %s: a shuffle of %u bytes (at most %d)", b->name, size, SLOT_BYTES);
  const int i = b->current, w = i / 32, gen = b->warp_gen[w], par = gen & 1;
  memcpy(&b->slots[((size_t)par * b->n + i) * SLOT_BYTES], mine, size);
  b->slot_gen[(size_t)par * b->n + i] = gen;
  g_fibers[i].state = WAIT_WARP;
  b->warp_waiting[w]++;
  if (b->warp_waiting[w] == b->warp_live[w]) release_warp(b, w);
  else yield_fiber(false);
  const int src = w * 32 + src_lane;
  if (src_lane < 0 || src_lane > 31 || src >= b->n || b->slot_gen[(size_t)par * b->n + src] != gen)
    die("kernel %s, block (%u,%u,%u), thread %d: a shuffle reads lane %d, which %s", b->name, b->bidx.x, b->bidx.y,
        b->bidx.z, i, src_lane, src >= b->n ? "does not exist (the block ends inside this warp)"
                                            : "did not take part (it returned, or took another path)");
  memcpy(out, &b->slots[((size_t)par * b->n + src) * SLOT_BYTES], size);
}

unsigned warp_vote(int pred, unsigned *participants) {
  block_run *b = g_run;
  const int i = b->current, w = i / 32, gen = b->warp_gen[w], par = gen & 1;
  int v = pred != 0, dummy = 0;
  warp_exchange(&v, &dummy, sizeof v, i & 31);
  unsigned m = 0, who = 0;
  for (int l = 0; l < 32 && w * 32 + l < b->n; l++) {
    const int j = w * 32 + l;
    if (b->slot_gen[(size_t)par * b->n + j] != gen) continue;
    who |= 1u << l;
    int pj;
    memcpy(&pj, &b->slots[((size_t)par * b->n + j) * SLOT_BYTES], sizeof pj);
    if (pj) m |= 1u << l;
  }
  if (participants) *participants = who;
  return m;
}

void *dynamic_smem() { return g_run->smem; }

void check_pointer_arg(const char *kernel, int index, const void *p) {
  if (!p) return;
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!find_alloc(p))
    die("kernel %s: argument %d is %p, which is not device memory (a host pointer, or freed): a GPU faults on it",
        kernel, index, p);
}

void launch_closure(const char *name, const void *func, const launch_config &c, std::function<void()> body) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  const unsigned long long threads = (unsigned long long)c.block.x * c.block.y * c.block.z;
  if (threads == 0 || threads > 1024 || c.block.x > 1024 || c.block.y > 1024 || c.block.z > 64) {
    fail(cudaErrorInvalidConfiguration, "kernel %s: block (%u,%u,%u): a block holds 1..1024 threads", name, c.block.x,
         c.block.y, c.block.z);
    return;
  }
  if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || c.grid.x > 2147483647u || c.grid.y > 65535 ||
      c.grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration, "kernel %s: grid (%u,%u,%u) (each at least 1; y and z at most 65535)", name,
         c.grid.x, c.grid.y, c.grid.z);
    return;
  }
  size_t smem_limit = SMEM_DEFAULT;
  auto fa = g_func_attrs.find(func);
  if (fa != g_func_attrs.end()) smem_limit = (size_t)fa->second.max_dynamic_smem;
  if (c.smem > smem_limit) {
    fail(cudaErrorInvalidValue,
         "kernel %s: %zu bytes of dynamic shared memory, more than %zu (raise it with cudaFuncSetAttribute(..., "
         "cudaFuncAttributeMaxDynamicSharedMemorySize, ...), up to %zu)",
         name, c.smem, smem_limit, SMEM_OPTIN);
    return;
  }
  cudasim_stream *st = stream_of(c.stream);
  if (st->capture && st->invalidated) {
    fail(cudaErrorStreamCaptureInvalidated, "kernel %s: the stream's capture was invalidated", name);
    return;
  }
  const launch_config cfg = c;
  auto run = [cfg, name, body]() {
    std::lock_guard<std::recursive_mutex> lk2(g_mu);
    if (g_run) die("kernel %s launched from inside kernel %s (no dynamic parallelism here)", name, g_run->name);
    std::vector<char> smem(cfg.smem ? cfg.smem : 16);
    block_run b;
    b.name = name;
    b.body = &body;
    b.n = (int)(cfg.block.x * cfg.block.y * cfg.block.z);
    b.block = cfg.block;
    b.grid = cfg.grid;
    b.slots.assign((size_t)2 * b.n * SLOT_BYTES, 0);
    b.sched_stack_bottom = nullptr;
    b.sched_stack_size = 0;
    b.sched_fake = nullptr;
    const uint3 saved_t = threadIdx, saved_b = blockIdx;
    const dim3 saved_bd = blockDim, saved_gd = gridDim;
    g_run = &b;
    for (unsigned z = 0; z < cfg.grid.z; z++)
      for (unsigned y = 0; y < cfg.grid.y; y++)
        for (unsigned x = 0; x < cfg.grid.x; x++) {
          b.bidx = uint3{x, y, z};
          memset(smem.data(), 0xFF, smem.size());
          b.smem = smem.data();
          run_block(&b);
        }
    g_run = nullptr;
    threadIdx = saved_t, blockIdx = saved_b, blockDim = saved_bd, gridDim = saved_gd;
    g_launches++;
  };
  issue(c.stream, run);
}

}  // namespace cudasim

/* ======================================================================== */
/* the runtime API                                                          */
/* ======================================================================== */

extern "C" {

const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "cudaSuccess";
  case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
  case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
  case cudaErrorInitializationError: return "cudaErrorInitializationError";
  case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
  case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
  case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
  case cudaErrorNoDevice: return "cudaErrorNoDevice";
  case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
  case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
  case cudaErrorNotReady: return "cudaErrorNotReady";
  case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
  case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
  case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  case cudaErrorNotSupported: return "cudaErrorNotSupported";
  case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
  case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
  default: return "cudaErrorUnknown";
  }
}

const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidValue: return "invalid argument";
  case cudaErrorMemoryAllocation: return "out of memory";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  case cudaErrorInvalidDevice: return "invalid device ordinal";
  case cudaErrorNotReady: return "device not ready";
  case cudaErrorNotSupported: return "operation not supported";
  case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
  default: return cudaGetErrorName(e);
  }
}

cudaError_t cudaGetLastError(void) {
  cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return g_last_error; }

static int device_count() {
  const char *env = getenv("CUDASIM_DEVICES");
  return env ? atoi(env) : 1;
}

cudaError_t cudaGetDeviceCount(int *n) {
  *n = device_count();
  if (*n <= 0) {
    *n = 0;
    g_last_error = cudaErrorNoDevice;
    return cudaErrorNoDevice;
  }
  return cudaSuccess;
}

static cudaError_t check_device(int device) {
  if (device < 0 || device >= device_count())
    return fail(cudaErrorInvalidDevice, "device %d (the emulation has %d)", device, device_count());
  return cudaSuccess;
}

thread_local int g_device = 0;

cudaError_t cudaSetDevice(int device) {
  cudaError_t e = check_device(device);
  if (e == cudaSuccess) g_device = device;
  return e;
}

cudaError_t cudaGetDevice(int *device) {
  *device = g_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
  cudaError_t e = check_device(device);
  if (e) return e;
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "cudasim %d (CPU emulation of a CUDA device)", device);
  snprintf(p->uuid.bytes, sizeof p->uuid.bytes, "cudasim-dev%d", device);
  p->totalGlobalMem = TOTAL_MEM;
  p->sharedMemPerBlock = SMEM_DEFAULT;
  p->sharedMemPerBlockOptin = SMEM_OPTIN;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  p->l2CacheSize = 50 << 20;
  p->maxThreadsPerMultiProcessor = 2048;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device) {
  cudaError_t e = check_device(device);
  if (e) return e;
  switch (attr) {
  case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
  case cudaDevAttrMaxSharedMemoryPerBlock: *value = (int)SMEM_DEFAULT; break;
  case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)SMEM_OPTIN; break;
  case cudaDevAttrMultiProcessorCount: *value = 132; break;
  case cudaDevAttrMemoryClockRate: *value = 2619000; break; /* kHz, H100 SXM's HBM3 */
  case cudaDevAttrGlobalMemoryBusWidth: *value = 5120; break;
  case cudaDevAttrL2CacheSize: *value = 50 << 20; break;
  case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
  case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
  default: return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute %d", (int)attr);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaDeviceReset(void) { return cudaSuccess; }

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *total_bytes = TOTAL_MEM;
  *free_bytes = TOTAL_MEM - g_used;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes) { return heap_alloc(p, bytes, DEVICE); }
cudaError_t cudaFree(void *p) { return heap_free(p, false); }
cudaError_t cudaMallocHost(void **p, size_t bytes) { return heap_alloc(p, bytes, PINNED); }
cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned flags) {
  (void)flags;
  return heap_alloc(p, bytes, PINNED);
}
cudaError_t cudaFreeHost(void *p) { return heap_free(p, true); }
cudaError_t cudaMallocManaged(void **p, size_t bytes, unsigned flags) {
  (void)flags;
  return heap_alloc(p, bytes, DEVICE);
}

int cudasim_is_device_pointer(const void *p) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  return is_device(p);
}

unsigned long long cudasim_launch_count(void) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  return g_launches;
}

cudaError_t cudasim_func_set_attribute(const void *func, int attr, int value) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || (size_t)value > SMEM_OPTIN)
      return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: %d bytes of dynamic shared memory (at most %zu)",
                  value, SMEM_OPTIN);
    g_func_attrs[func].max_dynamic_smem = value;
  }
  return cudaSuccess;
}

cudaError_t cudasim_func_get_attributes(cudaFuncAttributes *fa, const void *func) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!fa || !func) return fail(cudaErrorInvalidValue, "cudaFuncGetAttributes: NULL");
  memset(fa, 0, sizeof *fa);
  fa->maxThreadsPerBlock = 1024;
  auto it = g_func_attrs.find(func);
  fa->maxDynamicSharedSizeBytes = it != g_func_attrs.end() ? it->second.max_dynamic_smem : (int)SMEM_DEFAULT;
  fa->ptxVersion = fa->binaryVersion = 90;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  if (bytes == 0) return cudaSuccess;
  cudaError_t e = check_copy("cudaMemcpy", dst, src, bytes, kind);
  if (e) return e;
  if ((e = capture_copy_check(s, dst, src, kind))) return e;
  issue(s, [dst, src, bytes]() { memmove(dst, src, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  if (width == 0 || height == 0) return cudaSuccess;
  if (width > dpitch || width > spitch)
    return fail(cudaErrorInvalidValue, "cudaMemcpy2D: width %zu over a pitch (%zu, %zu)", width, dpitch, spitch);
  cudaError_t e = check_copy("cudaMemcpy2D", dst, src, (height - 1) * dpitch + width, kind);
  if (e) return e;
  if ((e = check_copy("cudaMemcpy2D", dst, src, (height - 1) * spitch + width, kind))) return e;
  if ((e = capture_copy_check(s, dst, src, kind))) return e;
  issue(s, [=]() {
    for (size_t r = 0; r < height; r++) memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
  });
  return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int value, size_t bytes) { return cudaMemsetAsync(p, value, bytes, nullptr); }

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  if (bytes == 0) return cudaSuccess;
  cudaError_t e = check_range("cudaMemset", "destination", p, bytes, true);
  if (e) return e;
  issue(s, [p, value, bytes]() { memset(p, value, bytes); });
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
  init();
  *s = new cudasim_stream{flags, nullptr, false};
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  if (!s) return fail(cudaErrorInvalidResourceHandle, "cudaStreamDestroy(NULL)");
  delete s->capture;
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (capturing(s)) {
    stream_of(s)->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize on a stream under capture");
  }
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t s) {
  (void)s;
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags) {
  (void)s, (void)e, (void)flags;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags) {
  *e = new cudasim_event{flags, -1.0};
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  if (!e) return fail(cudaErrorInvalidResourceHandle, "cudaEventDestroy(NULL)");
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (!e) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord(NULL)");
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  issue(s, [e]() { e->ms = now_ms(); });
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t e) {
  if (!e) return fail(cudaErrorInvalidResourceHandle, "cudaEventQuery(NULL)");
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) { return cudaEventQuery(e); }

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end) return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: NULL event");
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event made with cudaEventDisableTiming");
  if (start->ms < 0 || end->ms < 0) return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: not recorded");
  *ms = (float)(end->ms - start->ms);
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  (void)mode;
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!s) return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture on the legacy default stream");
  if (s->capture) return fail(cudaErrorInvalidValue, "cudaStreamBeginCapture: the stream is already capturing");
  s->capture = new cudasim_graph;
  s->invalidated = false;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!s || !s->capture) return fail(cudaErrorInvalidValue, "cudaStreamEndCapture: the stream is not capturing");
  cudasim_graph *graph = s->capture;
  s->capture = nullptr;
  if (s->invalidated) {
    delete graph;
    *g = nullptr;
    s->invalidated = false;
    return fail(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture: the capture was invalidated");
  }
  *g = graph;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status) {
  cudasim_stream *st = stream_of(s);
  *status = !st->capture ? cudaStreamCaptureStatusNone
                         : st->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags) {
  (void)flags;
  if (!g) return fail(cudaErrorInvalidValue, "cudaGraphInstantiate(NULL graph)");
  *exec = new cudasim_graph_exec{g->ops};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  if (!exec) return fail(cudaErrorInvalidValue, "cudaGraphLaunch(NULL)");
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (capturing(s)) return fail(cudaErrorStreamCaptureUnsupported, "cudaGraphLaunch into a capture");
  for (auto &op : exec->ops) op();
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}

/* ---- CUDA IPC ---- */

struct ipc_wire {
  char magic[8];
  int32_t pid;
  int32_t fd;
  uint64_t offset; /* of the allocation's start in the device memory file */
  uint64_t bytes;
};
static_assert(sizeof(ipc_wire) <= sizeof(cudaIpcMemHandle_t), "handle fits");

cudaError_t cudaIpcGetMemHandle(cudaIpcMemHandle_t *h, void *p) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const alloc_rec *r = find_alloc(p);
  if (!r || r->kind != DEVICE)
    return fail(cudaErrorInvalidValue, "cudaIpcGetMemHandle(%p): not in a device allocation of this process", p);
  ipc_wire w;
  memset(&w, 0, sizeof w);
  memcpy(w.magic, "cudasim", 8);
  w.pid = (int32_t)getpid();
  w.fd = g_heap_fd;
  w.offset = (uint64_t)(r->user - g_heap);
  w.bytes = r->bytes;
  memset(h, 0, sizeof *h);
  memcpy(h, &w, sizeof w);
  return cudaSuccess;
}

cudaError_t cudaIpcOpenMemHandle(void **p, cudaIpcMemHandle_t h, unsigned flags) {
  (void)flags;
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  init_locked();
  ipc_wire w;
  memcpy(&w, &h, sizeof w);
  if (memcmp(w.magic, "cudasim", 8)) return fail(cudaErrorInvalidValue, "cudaIpcOpenMemHandle: not a cudasim handle");
  if (w.pid == (int32_t)getpid())
    return fail(cudaErrorInvalidValue, "cudaIpcOpenMemHandle: a handle of this process (CUDA refuses that too)");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)w.pid, (int)w.fd);
  const int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(cudaErrorInvalidValue, "cudaIpcOpenMemHandle: %s: %s", path, strerror(errno));
  const size_t off0 = w.offset / g_page * g_page, len = round_up(w.offset + w.bytes, g_page) - off0;
  void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off0);
  close(fd);
  if (m == MAP_FAILED) return fail(cudaErrorInvalidValue, "cudaIpcOpenMemHandle: mmap: %s", strerror(errno));
  alloc_rec r;
  memset(&r, 0, sizeof r);
  r.user = (char *)m + (w.offset - off0);
  r.bytes = w.bytes;
  r.map = (char *)m;
  r.map_len = len;
  r.kind = IPC;
  g_allocs[(uintptr_t)r.user] = r;
  *p = r.user;
  return cudaSuccess;
}

cudaError_t cudaIpcCloseMemHandle(void *p) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  auto it = g_allocs.find((uintptr_t)p);
  if (it == g_allocs.end() || it->second.kind != IPC)
    return fail(cudaErrorInvalidValue, "cudaIpcCloseMemHandle(%p): not an opened handle", p);
  munmap(it->second.map, it->second.map_len);
  g_allocs.erase(it);
  return cudaSuccess;
}

}  /* extern "C" */

namespace cudasim {

void issue_op(cudaStream_t s, std::function<void()> op) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  issue(s, std::move(op));
}

bool device_range(const void *p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const alloc_rec *r = find_alloc(p);
  return r && r->kind != PINNED && (const char *)p + bytes <= r->user + r->bytes;
}

}  // namespace cudasim
