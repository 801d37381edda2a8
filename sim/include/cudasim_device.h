/* cudasim_device.h — the device side of the CPU emulation of CUDA (C++17).
 *
 * A kernel is an ordinary C++ function here. A launch runs its blocks one
 * after another on the calling thread; the threads of a block are fibers
 * (sim/src/runtime.cpp) that switch only at __syncthreads, at warp
 * shuffles and votes, and when they return. So:
 *   - __shared__ is `static`: one copy, which every thread of the running
 *     block sees (blocks never overlap); `extern __shared__` (dynamic
 *     shared memory) is rewritten by sim/translate.cmake to a pointer to
 *     the launch's buffer;
 *   - a barrier releases when every thread of the block that has not
 *     returned has reached it (threads that returned early count as
 *     arrived, as on Volta and later); a shuffle waits for every live
 *     lane of its warp and reading a lane that has returned or does not
 *     exist is reported as the bug it is on a GPU;
 *   - atomics are plain read-modify-writes (one thread runs at a time).
 * threadIdx, blockIdx, blockDim and gridDim are globals the scheduler sets
 * before it resumes a fiber (launches run one at a time, under a lock).
 *
 * What the emulation does not show: races between threads that a GPU
 * would interleave differently, memory-model and timing effects, the
 * device's own rounding of expf/logf and friends (the host's libm here),
 * register or shared memory limits, and the speed. See docs/cuda_sim.md. */
#ifndef CUDASIM_DEVICE_H
#define CUDASIM_DEVICE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __shared__ static
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __syncthreads() ::cudasim::sync_block(__FILE__, __LINE__)
#define __syncwarp(...) ::cudasim::sync_warp()
#define __threadfence() ((void)0)
#define __threadfence_block() ((void)0)
static constexpr int warpSize = 32;

/* ---- built-in types and variables ---- */

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned int x, y;
};
struct alignas(16) uint4 {
  unsigned int x, y, z, w;
};
struct alignas(16) double2 {
  double x, y;
};
static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return int2{x, y}; }
static inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }

extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

namespace cudasim {

/* ---- what the scheduler (sim/src/runtime.cpp) gives kernels ---- */
void sync_block(const char *file, int line);
void sync_warp();
/* Every live lane of the calling warp puts size bytes (<= 16) from mine;
 * the caller gets src_lane's into out. */
void warp_exchange(const void *mine, void *out, unsigned size, int src_lane);
/* A vote of the calling warp (it synchronises the warp, as the lanes of a
 * converged warp run together on a GPU): bit i set when lane i took part
 * and passed a non-zero pred; *participants (when not NULL) gets the lanes
 * that took part, i.e. those that had not returned. */
unsigned warp_vote(int pred, unsigned *participants);
int lane_id();
void *dynamic_smem();

/* ---- launches ---- */
struct launch_config {
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
};
inline launch_config config(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr) {
  return launch_config{grid, block, smem, stream};
}
/* Checks the configuration (cudaErrorInvalidConfiguration otherwise, as
 * cudaGetLastError then reports) and runs body once per thread of every
 * block, or records it when c.stream is being captured into a graph. */
void launch_closure(const char *name, const void *func, const launch_config &c, std::function<void()> body);
/* Aborts, naming the kernel and the argument, when p (not NULL) does not
 * point into device memory: the illegal address a GPU would fault on. */
void check_pointer_arg(const char *kernel, int index, const void *p);

template <class T>
struct ident {
  typedef T type;
};
template <class T>
inline void check_arg(const char *kernel, int index, const T &v) {
  if constexpr (std::is_pointer<T>::value && !std::is_function<typename std::remove_pointer<T>::type>::value)
    check_pointer_arg(kernel, index, (const void *)v);
}
/* kernel<<<config>>>(args...) is rewritten to launch("kernel", config,
 * kernel, args...): the arguments convert to the parameter types at the
 * call, as in CUDA, and are copied for the launch (and any graph replay). */
template <class... P>
void launch(const char *name, const launch_config &c, void (*k)(P...), typename ident<P>::type... a) {
  auto args = std::make_shared<std::tuple<P...>>(a...);
  int index = 0;
  (check_arg(name, index++, a), ...);
  (void)index;
  launch_closure(name, reinterpret_cast<const void *>(k), c, [k, args]() { std::apply(k, *args); });
}

}  // namespace cudasim

/* ---- warp shuffles and votes ---- */

template <typename T>
static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  (void)mask;
  const int lane = cudasim::lane_id();
  const int s = (lane & ~(width - 1)) + (src & (width - 1));
  T out;
  cudasim::warp_exchange(&v, &out, sizeof(T), s);
  return out;
}
template <typename T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  (void)mask;
  const int lane = cudasim::lane_id();
  int s = lane ^ lane_mask;
  if ((s & ~(width - 1)) != (lane & ~(width - 1))) s = lane;
  T out;
  cudasim::warp_exchange(&v, &out, sizeof(T), s);
  return out;
}
template <typename T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  (void)mask;
  const int lane = cudasim::lane_id();
  const int s = (lane & (width - 1)) + (int)delta >= width ? lane : lane + (int)delta;
  T out;
  cudasim::warp_exchange(&v, &out, sizeof(T), s);
  return out;
}
template <typename T>
static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  (void)mask;
  const int lane = cudasim::lane_id();
  const int s = (lane & (width - 1)) < (int)delta ? lane : lane - (int)delta;
  T out;
  cudasim::warp_exchange(&v, &out, sizeof(T), s);
  return out;
}
static inline unsigned __ballot_sync(unsigned mask, int pred) { return cudasim::warp_vote(pred, nullptr) & mask; }
static inline int __any_sync(unsigned mask, int pred) { return (cudasim::warp_vote(pred, nullptr) & mask) != 0; }
static inline int __all_sync(unsigned mask, int pred) {
  unsigned who = 0;
  const unsigned yes = cudasim::warp_vote(pred, &who);
  return (yes & mask) == (who & mask);
}
static inline unsigned __activemask() {
  unsigned who = 0;
  cudasim::warp_vote(1, &who);
  return who;
}

/* ---- atomics: one thread runs at a time ---- */

template <typename T>
static inline T atomicAdd(T *p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
static inline T atomicSub(T *p, T v) {
  T old = *p;
  *p = old - v;
  return old;
}
template <typename T>
static inline T atomicMax(T *p, T v) {
  T old = *p;
  if (v > old) *p = v;
  return old;
}
template <typename T>
static inline T atomicMin(T *p, T v) {
  T old = *p;
  if (v < old) *p = v;
  return old;
}
template <typename T>
static inline T atomicExch(T *p, T v) {
  T old = *p;
  *p = v;
  return old;
}
template <typename T>
static inline T atomicCAS(T *p, T compare, T v) {
  T old = *p;
  if (old == compare) *p = v;
  return old;
}
template <typename T>
static inline T atomicOr(T *p, T v) {
  T old = *p;
  *p = old | v;
  return old;
}
template <typename T>
static inline T atomicAnd(T *p, T v) {
  T old = *p;
  *p = old & v;
  return old;
}

/* ---- math intrinsics (the host's IEEE operations; no contraction: the
 * emulated library is built with -ffp-contract=off) ---- */

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __frcp_rn(float a) { return 1.0f / a; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
/* glibc declares these names itself: macros, not functions */
#define __expf(a) expf(a)
#define __logf(a) logf(a)
#define __sinf(a) sinf(a)
#define __cosf(a) cosf(a)
#define __powf(a, b) powf(a, b)
static inline float __saturatef(float a) { return a < 0.0f ? 0.0f : (a > 1.0f ? 1.0f : a); }
static inline float rsqrtf(float a) { return 1.0f / sqrtf(a); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline unsigned __float_as_uint(float f) {
  unsigned u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float __uint_as_float(unsigned u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline int __float_as_int(float f) {
  int u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float __int_as_float(int u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline long long __double_as_longlong(double d) {
  long long u;
  memcpy(&u, &d, 8);
  return u;
}
static inline double __longlong_as_double(long long u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}
static inline unsigned long long __float2ull_rn(float f) {
  if (!(f > 0.0f)) return 0;
  if (f >= 18446744073709551616.0f) return ~0ull;
  return (unsigned long long)nearbyintf(f);
}
static inline int __float2int_rn(float f) { return (int)nearbyintf(f); }
static inline int __float2int_rz(float f) { return (int)f; }
static inline int __float2int_rd(float f) { return (int)floorf(f); }
static inline int __float2int_ru(float f) { return (int)ceilf(f); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; i++, x >>= 1) r = (r << 1) | (x & 1u);
  return r;
}
template <typename T>
static inline T __ldg(const T *p) {
  return *p;
}
/* CUDA's integer and float min/max overloads (mixed types convert as in
 * C++'s usual arithmetic conversions, as CUDA's do). */
template <typename A, typename B>
static inline typename std::common_type<A, B>::type min(A a, B b) {
  typedef typename std::common_type<A, B>::type C;
  return (C)a < (C)b ? (C)a : (C)b;
}
template <typename A, typename B>
static inline typename std::common_type<A, B>::type max(A a, B b) {
  typedef typename std::common_type<A, B>::type C;
  return (C)a > (C)b ? (C)a : (C)b;
}

#endif
