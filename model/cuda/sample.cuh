/* sample.cuh — the sampling kernel and its selection helpers, included by
 * model/cuda/sample.cu (the launcher; the algorithm is in its opening
 * comment) and dev/cuda/sample.cu (the lab). Works for any block size that is
 * a multiple of 32, up to SAMPLE_BLOCK; tokens do not depend on the block
 * size (masses are integers), log-probs may differ in the last bits (the
 * normaliser is a block reduction). */
#ifndef RLVR_CUDA_SAMPLE_CUH
#define RLVR_CUDA_SAMPLE_CUH

#include <math.h>
#include <stdint.h>

#include "model/cuda/cuda_common.h"
#include "model/cuda/ops.h"

typedef unsigned long long u64;

#define SAMPLE_MASS_SCALE 1099511627776.0f /* 2^40 */

enum { SAMPLE_BLOCK = 1024 };

static __device__ __forceinline__ uint32_t order_key(float s) {
  const uint32_t b = __float_as_uint(s);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

static __device__ __forceinline__ u64 warp_sum_u64(u64 v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/* Everything about one row that the passes recompute per element. */
template <typename T>
struct sample_row {
  const T *z;
  int V;
  int scale; /* divide by temp */
  float temp;
  float mx; /* max of s */

  __device__ __forceinline__ float s(int i) const {
    float x = ldf(z, i);
    if (scale) x = __fdiv_rn(x, temp);
    return __fadd_rn(x, 0.0f); /* -0 -> +0: equal floats get equal keys */
  }
  __device__ __forceinline__ u64 mass(float si) const {
    return __float2ull_rn(expf(si - mx) * SAMPLE_MASS_SCALE);
  }
};

struct sample_shared {
  u64 hist[256];
  u64 scan[SAMPLE_BLOCK];
  u64 red_u64[32];
  double red_d[32];
  float red_f[32];
  int red_i[32];
  uint32_t prefix;
  u64 R;
  int found;
  uint32_t out_key;
  int out_id;
};

static __device__ __forceinline__ bool in_set(uint32_t key, int i, uint32_t kt, int idcut) {
  return key > kt || (key == kt && i <= idcut);
}

/* Sum of u64 over the block, to every thread. */
static __device__ u64 block_sum_u64(u64 v, sample_shared &sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;
  v = warp_sum_u64(v);
  __syncthreads();
  if (lane == 0) sh.red_u64[warp] = v;
  __syncthreads();
  return warp_sum_u64(lane < nwarp ? sh.red_u64[lane] : 0ull);
}

/* Walks ids in increasing order over the elements with pred (members of
 * (kt, idcut), and key == tkey when match_key) and returns the first id
 * whose inclusive cumulative weight reaches R (1 <= R <= their total), or
 * -1 if the total is below R. Each thread owns a contiguous chunk of ids. */
template <typename T>
static __device__ int walk_ids(const sample_row<T> &row, sample_shared &sh, uint32_t kt, int idcut, int match_key,
                               uint32_t tkey, int use_mass, u64 R) {
  const int chunk = (row.V + blockDim.x - 1) / blockDim.x;
  const int i0 = min(row.V, (int)threadIdx.x * chunk), i1 = min(row.V, i0 + chunk);
  u64 own = 0;
  for (int i = i0; i < i1; i++) {
    const float si = row.s(i);
    const uint32_t key = order_key(si);
    if (in_set(key, i, kt, idcut) && (!match_key || key == tkey)) own += use_mass ? row.mass(si) : 1ull;
  }
  /* inclusive scan of own over threads (Hillis-Steele) */
  __syncthreads();
  sh.scan[threadIdx.x] = own;
  if (threadIdx.x == 0) sh.found = -1;
  __syncthreads();
  for (int off = 1; off < (int)blockDim.x; off <<= 1) {
    const u64 add = (int)threadIdx.x >= off ? sh.scan[threadIdx.x - off] : 0ull;
    __syncthreads();
    sh.scan[threadIdx.x] += add;
    __syncthreads();
  }
  const u64 incl = sh.scan[threadIdx.x], excl = incl - own;
  if (own > 0 && excl < R && R <= incl) { /* exactly one thread */
    u64 cum = excl;
    for (int i = i0; i < i1; i++) {
      const float si = row.s(i);
      const uint32_t key = order_key(si);
      if (in_set(key, i, kt, idcut) && (!match_key || key == tkey)) {
        cum += use_mass ? row.mass(si) : 1ull;
        if (cum >= R) {
          sh.found = i;
          break;
        }
      }
    }
  }
  __syncthreads();
  return sh.found;
}

/* The first element of the sorted set (kt, idcut) whose cumulative weight
 * reaches R; R is clamped to [1, total weight]. Writes the new prefix. */
template <typename T>
static __device__ void select_prefix(const sample_row<T> &row, sample_shared &sh, uint32_t &kt, int &idcut,
                                     int use_mass, u64 R) {
  uint32_t prefix = 0, mask = 0;
  for (int round = 0; round < 4; round++) {
    const int shift = 24 - 8 * round;
    __syncthreads();
    for (int b = threadIdx.x; b < 256; b += blockDim.x) sh.hist[b] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < row.V; i += blockDim.x) {
      const float si = row.s(i);
      const uint32_t key = order_key(si);
      if (in_set(key, i, kt, idcut) && (key & mask) == prefix)
        atomicAdd(&sh.hist[(key >> shift) & 255u], use_mass ? row.mass(si) : 1ull);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      u64 r = R;
      if (round == 0) { /* clamp R to the set's total */
        u64 total = 0;
        for (int b = 0; b < 256; b++) total += sh.hist[b];
        if (r > total) r = total;
        if (r < 1) r = 1;
      }
      u64 cum = 0;
      int chosen = -1;
      for (int b = 255; b >= 0; b--) {
        if (cum + sh.hist[b] >= r) {
          chosen = b;
          break;
        }
        cum += sh.hist[b];
      }
      /* chosen < 0 only for an empty set (total 0): keep bin 0; the walk
       * below then finds nothing and the set is left unchanged. */
      if (chosen < 0) chosen = 0, cum = 0;
      sh.R = r - cum;
      sh.prefix = prefix | ((uint32_t)chosen << shift);
    }
    __syncthreads();
    prefix = sh.prefix;
    R = sh.R;
    mask |= 0xffu << shift;
  }
  const int id = walk_ids(row, sh, kt, idcut, 1, prefix, use_mass, R);
  if (id >= 0) {
    kt = prefix;
    idcut = id;
  }
}

/* Total weight of the set (kt, idcut). */
template <typename T>
static __device__ u64 set_mass(const sample_row<T> &row, sample_shared &sh, uint32_t kt, int idcut) {
  u64 own = 0;
  for (int i = threadIdx.x; i < row.V; i += blockDim.x) {
    const float si = row.s(i);
    if (in_set(order_key(si), i, kt, idcut)) own += row.mass(si);
  }
  return block_sum_u64(own, sh);
}

template <typename T>
__global__ void __launch_bounds__(SAMPLE_BLOCK) sample_kernel1(int *tokens, float *logprobs, const T *logits, int B, int V,
                               const rlvr_sampling *params, const double *u) {
  __shared__ sample_shared sh;
  const int b = blockIdx.x;
  if (b >= B) return;
  const rlvr_sampling p = params[b];
  const int greedy = !(p.temperature > 0.0f);
  sample_row<T> row;
  row.z = logits + (size_t)b * V;
  row.V = V;
  row.temp = greedy ? 1.0f : p.temperature;
  row.scale = row.temp != 1.0f;
  row.mx = 0.0f;

  /* max of s, then the normaliser sum e^(s - max) in double, as the CPU */
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, row.s(i));
  mx = block_max(mx, sh.red_f);
  row.mx = mx;
  double S = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) S += (double)expf(row.s(i) - mx);
  S = block_sum(S, sh.red_d);
  const float logz = mx + (float)log(S);

  int token;
  if (greedy) {
    /* the lowest id of the largest logit */
    float bv = -INFINITY;
    int bi = V;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
      const float x = ldf(row.z, i);
      if (x > bv || (x == bv && i < bi)) bv = x, bi = i;
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (ov > bv || (ov == bv && oi < bi)) bv = ov, bi = oi;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarp = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) sh.red_f[warp] = bv, sh.red_i[warp] = bi;
    __syncthreads();
    if (threadIdx.x == 0) {
      float best = sh.red_f[0];
      int besti = sh.red_i[0];
      for (int w = 1; w < nwarp; w++)
        if (sh.red_f[w] > best || (sh.red_f[w] == best && sh.red_i[w] < besti)) best = sh.red_f[w], besti = sh.red_i[w];
      sh.out_id = besti < V ? besti : 0; /* all -inf or NaN: token 0 */
    }
    __syncthreads();
    token = sh.out_id;
  } else {
    uint32_t kt = 0;
    int idcut = V - 1;
    /* As the CPU: any top-k (even k >= V) or top-p draws in sorted order;
     * neither draws in id order. */
    const int sorted = p.top_k > 0 || p.top_p < 1.0f;
    const int use_top_k = p.top_k > 0 && p.top_k < V, use_top_p = p.top_p < 1.0f;
    if (use_top_k) select_prefix(row, sh, kt, idcut, 0, (u64)p.top_k);
    u64 kept = set_mass(row, sh, kt, idcut);
    if (use_top_p) {
      double r = ceil((double)p.top_p * (double)kept);
      select_prefix(row, sh, kt, idcut, 1, r < 1.0 ? 1ull : (u64)r);
      kept = set_mass(row, sh, kt, idcut);
    }
    u64 R = (u64)floor(u[b] * (double)kept) + 1ull;
    if (R > kept) R = kept; /* u < 1, but u * kept may round up to kept */
    if (sorted) {
      select_prefix(row, sh, kt, idcut, 1, R);
      token = idcut;
    } else {
      token = walk_ids(row, sh, kt, idcut, 0, 0u, 1, R);
      if (token < 0) token = 0; /* unreachable: R <= kept */
    }
  }
  if (threadIdx.x == 0) {
    tokens[b] = token;
    if (logprobs) logprobs[b] = row.s(token) - logz;
  }
}

#endif
