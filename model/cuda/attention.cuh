/* attention.cuh — attention kernels, included by model/cuda/attention.cu
 * (launchers; the math is in its opening comment), model/cuda/model.cu
 * (decode) and dev/cuda/attention.cu (the lab: every variant at every block
 * size against the CPU).
 *
 * kernel1 (reference grade): one warp per (row, head), lanes over
 * dimensions, keys one at a time from global memory. Any block size that
 * is a multiple of 32 works.
 *
 * kernel2 (flash-style tiles; the launchers use these): a block stages a
 * tile of query slots and tiles of ATT_BK = 32 keys in shared memory and
 * every warp works on them: scores with one key per lane (a full dot
 * product per lane, no shuffles), then the tile's probabilities broadcast
 * lane by lane into accumulators over dimensions lane, lane + 32, ...
 * A query slot is a (row, head) pair; the slots of one block all belong to
 * one kv head g (grid y), enumerated row-major over (row, head within the
 * group): slot S is row S / G, head g G + S % G (G = H / KVH), so the G
 * heads sharing a key tile share its loads (GQA). Each warp owns R
 * consecutive slots (register arrays indexed by r). Sizes that are not
 * multiples of a tile are handled by explicit bounds: slots past N G and
 * keys past the range are zero in shared memory and masked; a slot counts
 * key j only when lo <= j < hi (training: lo = first row of its sequence,
 * hi = its row + 1; decode: the split's range). Any block size that is a
 * multiple of 32 works (at most 1024) if its registers and shared memory
 * fit (att_launch_fits checks both and sets the opt-in above 48 KiB).
 * Shared rows read with one row per lane have an odd stride (D | 1), so
 * the 32 lanes hit 32 banks.
 *
 * All arithmetic float32, bf16 only as storage (ldf/stf). No atomics: every
 * output has one writer and every sum a fixed order, so results depend only
 * on the inputs and the launch configuration (block size, R). */
#ifndef RLVR_CUDA_ATTENTION_CUH
#define RLVR_CUDA_ATTENTION_CUH

#include "model/cuda/cuda_common.h"

#define ATT_DPL 8 /* dimensions per lane: D <= 32 * 8 */

template <typename T>
static __device__ __forceinline__ void load_lanes(float *r, const T *x, int D, int lane) {
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    r[e] = d < D ? ldf(x, d) : 0.0f;
  }
}

template <typename T>
static __device__ __forceinline__ float dot_lanes(const float *r, const T *x, int D, int lane) {
  float s = 0.0f;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) s += r[e] * ldf(x, d);
  }
  return warp_sum(s);
}

template <typename T>
__global__ void attention_fwd_kernel1(T *out, float *lse, const T *q, const T *k,
                                                                   const T *v, const int *row_seq, const int *off,
                                                                   int N, int H, int KVH, int D, float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return;
  const int i = w / H, h = w % H, g = h / (H / KVH);
  const int r0 = off[row_seq[i]], p = i - r0;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  float qr[ATT_DPL], acc[ATT_DPL];
  load_lanes(qr, q + i * HD + (size_t)h * D, D, lane);
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int j = 0; j <= p; j++) {
    const size_t kv = (size_t)(r0 + j) * KD + (size_t)g * D;
    const float s = dot_lanes(qr, k + kv, D, lane) * scale;
    const float mn = fmaxf(m, s);
    const float corr = expf(m - mn), pj = expf(s - mn); /* corr = 0 at the first key */
    l = l * corr + pj;
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] = acc[e] * corr + pj * ldf(v + kv, d);
    }
    m = mn;
  }
  T *o = out + i * HD + (size_t)h * D;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(o, d, acc[e] / l);
  }
  if (lane == 0) lse[(size_t)i * H + h] = m + logf(l);
}

template <typename T>
__global__ void attention_dq_bwd_kernel1(T *dq, float *delta, const T *dout, const T *q,
                                                                      const T *k, const T *v, const T *out,
                                                                      const float *lse, const int *row_seq,
                                                                      const int *off, int N, int H, int KVH, int D,
                                                                      float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return;
  const int i = w / H, h = w % H, g = h / (H / KVH);
  const int r0 = off[row_seq[i]], p = i - r0;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D, qo = i * HD + (size_t)h * D;
  float qr[ATT_DPL], dor[ATT_DPL], acc[ATT_DPL];
  load_lanes(qr, q + qo, D, lane);
  load_lanes(dor, dout + qo, D, lane);
  const float dl = dot_lanes(dor, out + qo, D, lane);
  const float li = lse[(size_t)i * H + h];
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  for (int j = 0; j <= p; j++) {
    const size_t kv = (size_t)(r0 + j) * KD + (size_t)g * D;
    const float P = expf(dot_lanes(qr, k + kv, D, lane) * scale - li);
    const float dS = P * (dot_lanes(dor, v + kv, D, lane) - dl) * scale;
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] += dS * ldf(k + kv, d);
    }
  }
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(dq + qo, d, acc[e]);
  }
  if (lane == 0) delta[(size_t)i * H + h] = dl;
}

template <typename T>
__global__ void attention_dkv_bwd_kernel1(T *dk, T *dv, const T *dout, const T *q,
                                                                       const T *k, const T *v, const float *lse,
                                                                       const float *delta, const int *row_seq,
                                                                       const int *off, const int *len, int N, int H,
                                                                       int KVH, int D, float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * KVH) return;
  const int j = w / KVH, g = w % KVH, G = H / KVH;
  const int b = row_seq[j], r0 = off[b], r1 = r0 + len[b];
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D, kvo = (size_t)j * KD + (size_t)g * D;
  float kr[ATT_DPL], vr[ATT_DPL], dka[ATT_DPL], dva[ATT_DPL];
  load_lanes(kr, k + kvo, D, lane);
  load_lanes(vr, v + kvo, D, lane);
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) dka[e] = dva[e] = 0.0f;
  for (int h = g * G; h < (g + 1) * G; h++) {
    for (int i = j; i < r1; i++) {
      const size_t qo = (size_t)i * HD + (size_t)h * D;
      const float P = expf(dot_lanes(kr, q + qo, D, lane) * scale - lse[(size_t)i * H + h]);
      const float dS = P * (dot_lanes(vr, dout + qo, D, lane) - delta[(size_t)i * H + h]) * scale;
#pragma unroll
      for (int e = 0; e < ATT_DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) {
          dva[e] += P * ldf(dout + qo, d);
          dka[e] += dS * ldf(q + qo, d);
        }
      }
    }
  }
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) {
      stf(dk + kvo, d, dka[e]);
      stf(dv + kvo, d, dva[e]);
    }
  }
}

/* Decode over the paged cache, reference grade: one warp per (row, head),
 * attention_fwd_kernel1's loop with the key of position j read from pool
 * row table[seq][j / bs] * bs + j % bs (the same arithmetic in the same
 * order, so given the same q, k, v a row's output has kernel1's bits).
 * Row i (of N) is at position row_pos[i] of sequence row_seq[i] and
 * attends to positions 0 .. row_pos[i]; kc, vc (pool rows, KVH*D). */
template <typename T>
__global__ void paged_attention_kernel1(T *out, const T *q, const T *kc, const T *vc, const int *row_seq,
                                        const int *row_pos, const int *table, int max_blocks, int bs, int N, int H,
                                        int KVH, int D, float scale) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return; /* whole warps: w is per warp */
  const int i = w / H, h = w % H, g = h / (H / KVH);
  const int p = row_pos[i];
  const int *tab = table + (size_t)row_seq[i] * max_blocks;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  float qr[ATT_DPL], acc[ATT_DPL];
  load_lanes(qr, q + (size_t)i * HD + (size_t)h * D, D, lane);
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int j = 0; j <= p; j++) {
    const size_t row = (size_t)tab[j / bs] * bs + (size_t)(j % bs);
    const size_t kv = row * KD + (size_t)g * D;
    const float s = dot_lanes(qr, kc + kv, D, lane) * scale;
    const float mn = fmaxf(m, s);
    const float corr = expf(m - mn), pj = expf(s - mn);
    l = l * corr + pj;
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] = acc[e] * corr + pj * ldf(vc + kv, d);
    }
    m = mn;
  }
  T *o = out + (size_t)i * HD + (size_t)h * D;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(o, d, acc[e] / l);
  }
}

/* ======================================================================== */
/* kernel2: flash-style tiles                                               */
/* ======================================================================== */

enum { ATT_BK = 32 }; /* keys per shared-memory tile: one per lane in the score phase */

/* Odd row stride for shared tiles read one row per lane (conflict-free). */
static __host__ __device__ __forceinline__ int att_odd(int D) { return D | 1; }

/* Dimensions per lane (DPL, a compile-time constant for the register
 * arrays): the smallest of 1, 2, 4, 8 with 32 DPL >= D. */
#define ATT_DISPATCH_DPL(D, DPL, ...)                                                               \
  do {                                                                                              \
    if ((D) <= 32) {                                                                                \
      constexpr int DPL = 1;                                                                        \
      __VA_ARGS__;                                                                                  \
    } else if ((D) <= 64) {                                                                         \
      constexpr int DPL = 2;                                                                        \
      __VA_ARGS__;                                                                                  \
    } else if ((D) <= 128) {                                                                        \
      constexpr int DPL = 4;                                                                        \
      __VA_ARGS__;                                                                                  \
    } else {                                                                                        \
      constexpr int DPL = 8;                                                                        \
      __VA_ARGS__;                                                                                  \
    }                                                                                               \
  } while (0)

/* Shared memory (bytes) of each kernel2 for a block of nw warps. */
static inline size_t att_fwd2_smem(int nw, int R, int D) {
  return sizeof(float) * ((size_t)nw * R * D + (size_t)ATT_BK * att_odd(D) + (size_t)ATT_BK * D);
}
static inline size_t att_dq2_smem(int nw, int R, int D) {
  return sizeof(float) * (2 * (size_t)nw * R * D + 2 * (size_t)ATT_BK * att_odd(D));
}
static inline size_t att_dkv2_smem(int nw, int RK, int D) {
  return sizeof(float) * (2 * (size_t)nw * RK * D + 2 * (size_t)ATT_BK * att_odd(D) + 4 * (size_t)ATT_BK);
}

/* Whether a launch of kernel with `bytes` of dynamic shared memory fits the
 * device; above the default 48 KiB it raises the kernel's limit (the
 * opt-in), so call it before every such launch of an instantiation. The
 * launchers' 128 threads always fit the registers (255 x 128 < 64 K). */
template <typename K>
static inline int att_smem_fits(K *kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return 1;
  int dev = 0, optin = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  if (bytes > (size_t)optin) return 0;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  return 1;
}

/* The same, and whether the kernel's registers allow `threads` threads per
 * block (cudaFuncGetAttributes; the CPU emulation has no register limit:
 * it says 1024): the lab's check before each block size. */
template <typename K>
static inline int att_launch_fits(K *kernel, int threads, size_t bytes) {
  cudaFuncAttributes fa;
  CUDA_CHECK(cudaFuncGetAttributes(&fa, kernel));
  if (threads > fa.maxThreadsPerBlock) return 0;
  return att_smem_fits(kernel, bytes);
}

/* acc[r][e] += w[r] of lane jj * rows[jj][lane + 32 e] for the tile's
 * ATT_BK rows (stride st) in jj order: the tile's P V product in the
 * forward, its dS K product in the dq backward. Call it from whole warps
 * (shuffles). */
template <int R, int DPL>
static __device__ __forceinline__ void att_tile_accumulate(float (&acc)[R][DPL], const float (&w)[R], const float *rows,
                                                           int st, int D, int lane) {
  for (int jj = 0; jj < ATT_BK; jj++) {
    float wj[R];
#pragma unroll
    for (int r = 0; r < R; r++) wj[r] = __shfl_sync(0xffffffffu, w[r], jj);
    const float *row = rows + (size_t)jj * st;
#pragma unroll
    for (int e = 0; e < DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) {
        const float x = row[d];
#pragma unroll
        for (int r = 0; r < R; r++) acc[r][e] += wj[r] * x;
      }
    }
  }
}

/* One key tile against the R query slots of a warp: online softmax.
 * Qw: the warp's R slots in the query tile (rows of D floats); Ks (ATT_BK
 * rows, stride ks odd), Vs (ATT_BK rows, stride vs) the tile's keys and
 * values, zero from key kend on; lane holds key kt0 + lane. Slot r counts
 * the keys with kt0 + lane in [lo[r], hi[r]) and below kend (lo = hi = 0:
 * none).
 * State per slot: m[r] the running maximum of its scaled scores (the same
 * in every lane: a warp max), l[r] this lane's part of the running sum
 * sum_j e^(s_j - m) (rescaled with m; the row's sum is the warp sum at the
 * end), acc[r][e] the unnormalised output at dimension lane + 32 e.
 * Call it from whole warps (shuffles). */
template <int R, int DPL>
static __device__ __forceinline__ void att_fwd_tile(float (&m)[R], float (&l)[R], float (&acc)[R][DPL],
                                                    const float *Qw, const float *Ks, int ks, const float *Vs, int vs,
                                                    int D, int kt0, int kend, const int (&lo)[R],
                                                    const int (&hi)[R], float scale, int lane) {
  float s[R];
#pragma unroll
  for (int r = 0; r < R; r++) s[r] = 0.0f;
  const float *kr = Ks + (size_t)lane * ks;
  for (int d = 0; d < D; d++) {
    const float kd = kr[d];
#pragma unroll
    for (int r = 0; r < R; r++) s[r] += Qw[r * D + d] * kd; /* broadcast read */
  }
  const int j = kt0 + lane;
  float p[R];
#pragma unroll
  for (int r = 0; r < R; r++) {
    const bool ok = j >= lo[r] && j < hi[r] && j < kend;
    const float x = ok ? s[r] * scale : -INFINITY;
    const float mn = fmaxf(m[r], warp_max(x));
    float corr = 1.0f;
    p[r] = 0.0f;
    if (mn != -INFINITY) { /* warp-uniform; -inf: no key of this slot yet, nothing to scale */
      corr = expf(m[r] - mn); /* 0 while m was -inf (acc and l are 0 then) */
      p[r] = ok ? expf(x - mn) : 0.0f;
    }
    l[r] = l[r] * corr + p[r];
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[r][e] *= corr;
    m[r] = mn;
  }
  att_tile_accumulate(acc, p, Vs, vs, D, lane);
}

/* Training forward. Grid (ceil(N G / (nw R)), KVH), block nw warps, dynamic
 * shared memory att_fwd2_smem(nw, R, D): Qs (nw R slots x D), Ks (ATT_BK x
 * D|1), Vs (ATT_BK x D). The block's slots cover rows i_first .. i_last,
 * in one or more segments of one sequence each (rows of a sequence are
 * contiguous); for each segment the keys are its sequence's rows from
 * off[b] to the segment's last row, walked in tiles of ATT_BK that start at
 * off[b] (slots of the other segments are masked there: a fully masked
 * tile leaves a slot's state bit for bit unchanged). So every slot sees its
 * keys in tiles at positions 0, 32, 64, ... of its own sequence, whatever
 * the block, exactly as paged_attention_kernel2 does for a context of at
 * most PAGED_SPLIT_MIN keys (one split): given the same q, k, v the two give
 * the same bits there. A warp skips the tiles outside its own slots' key
 * range. Blocks run in reverse tile order: the last rows see the most keys
 * and start first. Writes out (N, H*D) and lse (N, H) as
 * attention_fwd_kernel1. */
template <typename T, int R, int DPL>
__global__ void attention_fwd_kernel2(T *out, float *lse, const T *q, const T *k, const T *v, const int *row_seq,
                                      const int *off, int N, int H, int KVH, int D, float scale) {
  extern __shared__ float att_smem[];
  const int nw = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int G = H / KVH, g = blockIdx.y, BQ = nw * R, ks = att_odd(D);
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  const long long NS = (long long)N * G, S0 = (long long)(gridDim.x - 1 - blockIdx.x) * BQ;
  float *Qs = att_smem, *Ks = Qs + (size_t)BQ * D, *Vs = Ks + (size_t)ATT_BK * ks;
  for (int x = threadIdx.x; x < BQ * D; x += blockDim.x) {
    const long long S = S0 + x / D;
    float val = 0.0f;
    if (S < NS) {
      const int i = (int)(S / G), h = g * G + (int)(S % G);
      val = ldf(q, (size_t)i * HD + (size_t)h * D + (size_t)(x % D));
    }
    Qs[x] = val;
  }
  const int i_first = (int)(S0 / G);
  const int i_last = (int)(S0 + BQ - 1 < NS ? (S0 + BQ - 1) / G : (long long)N - 1);
  int lo[R], hi[R], wlo = N, whi = -1; /* wlo > whi: the warp has no slot */
  float m[R], l[R], acc[R][DPL];
#pragma unroll
  for (int r = 0; r < R; r++) {
    const long long S = S0 + warp * R + r;
    lo[r] = hi[r] = 0;
    if (S < NS) {
      const int i = (int)(S / G);
      lo[r] = off[row_seq[i]], hi[r] = i + 1;
      wlo = min(wlo, lo[r]), whi = max(whi, hi[r]);
    }
    m[r] = -INFINITY, l[r] = 0.0f;
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[r][e] = 0.0f;
  }
  for (int seg = i_first; seg <= i_last;) { /* the same segments in every thread */
    const int b = row_seq[seg];
    int seg_end = seg + 1;
    while (seg_end <= i_last && row_seq[seg_end] == b) seg_end++;
    const int kend = seg_end; /* keys off[b] .. seg_end - 1 */
    for (int kt0 = off[b]; kt0 < kend; kt0 += ATT_BK) {
      __syncthreads(); /* Qs written (first tile); the previous tile's reads done */
      for (int x = threadIdx.x; x < ATT_BK * D; x += blockDim.x) {
        const int jr = x / D, d = x % D, j = kt0 + jr;
        float kx = 0.0f, vx = 0.0f;
        if (j < kend) {
          const size_t a = (size_t)j * KD + (size_t)g * D + d;
          kx = ldf(k, a), vx = ldf(v, a);
        }
        Ks[jr * ks + d] = kx, Vs[jr * D + d] = vx;
      }
      __syncthreads();
      if (kt0 < whi && kt0 + ATT_BK > wlo)
        att_fwd_tile<R, DPL>(m, l, acc, Qs + (size_t)warp * R * D, Ks, ks, Vs, D, D, kt0, kend, lo, hi, scale, lane);
    }
    seg = seg_end;
  }
#pragma unroll
  for (int r = 0; r < R; r++) {
    const float sum = warp_sum(l[r]);
    const long long S = S0 + warp * R + r;
    if (S < NS) {
      const int i = (int)(S / G), h = g * G + (int)(S % G);
      T *o = out + (size_t)i * HD + (size_t)h * D;
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) stf(o, d, acc[r][e] / sum);
      }
      if (lane == 0) lse[(size_t)i * H + h] = m[r] + logf(sum);
    }
  }
}

/* Backward, dq (and delta). The forward's tiling (grid, slots, key range,
 * warp skipping) with Qs and dOs (nw R slots x D each) and Ks, Vs
 * (ATT_BK x D|1: both are read a row per lane). First each warp computes
 * delta = dout . out for its slots (written to delta (N, H) for the dk/dv
 * kernel, one writer per slot); then per key tile, lane = key:
 *   P = e^(s scale - lse), dS = P (dout . v - delta) scale,
 *   dq[slot] += sum over the tile's keys of dS k (broadcast lane by lane). */
template <typename T, int R, int DPL>
__global__ void attention_dq_bwd_kernel2(T *dq, float *delta, const T *dout, const T *q, const T *k, const T *v,
                                         const T *out, const float *lse, const int *row_seq, const int *off, int N,
                                         int H, int KVH, int D, float scale) {
  extern __shared__ float att_smem[];
  const int nw = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int G = H / KVH, g = blockIdx.y, BQ = nw * R, ks = att_odd(D);
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  const long long NS = (long long)N * G, S0 = (long long)(gridDim.x - 1 - blockIdx.x) * BQ;
  float *Qs = att_smem, *Os = Qs + (size_t)BQ * D, *Ks = Os + (size_t)BQ * D, *Vs = Ks + (size_t)ATT_BK * ks;
  for (int x = threadIdx.x; x < BQ * D; x += blockDim.x) {
    const long long S = S0 + x / D;
    float qx = 0.0f, ox = 0.0f;
    if (S < NS) {
      const int i = (int)(S / G), h = g * G + (int)(S % G);
      const size_t a = (size_t)i * HD + (size_t)h * D + (size_t)(x % D);
      qx = ldf(q, a), ox = ldf(dout, a);
    }
    Qs[x] = qx, Os[x] = ox;
  }
  __syncthreads();
  const int i_first = (int)(S0 / G);
  const int i_last = (int)(S0 + BQ - 1 < NS ? (S0 + BQ - 1) / G : (long long)N - 1);
  const int kbeg = off[row_seq[i_first]], kend = i_last + 1;
  int lo[R], hi[R], wlo = kend, whi = -1;
  float li[R], dl[R], acc[R][DPL];
  const float *Qw = Qs + (size_t)warp * R * D, *Ow = Os + (size_t)warp * R * D;
#pragma unroll
  for (int r = 0; r < R; r++) {
    const long long S = S0 + warp * R + r;
    lo[r] = hi[r] = 0, li[r] = 0.0f;
    float part = 0.0f;
    int i = 0, h = 0;
    if (S < NS) {
      i = (int)(S / G), h = g * G + (int)(S % G);
      lo[r] = off[row_seq[i]], hi[r] = i + 1;
      wlo = min(wlo, lo[r]), whi = max(whi, hi[r]);
      li[r] = lse[(size_t)i * H + h];
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) part += Ow[r * D + d] * ldf(out, (size_t)i * HD + (size_t)h * D + d);
      }
    }
    dl[r] = warp_sum(part);
    if (S < NS && lane == 0) delta[(size_t)i * H + h] = dl[r];
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[r][e] = 0.0f;
  }
  for (int kt0 = kbeg; kt0 < kend; kt0 += ATT_BK) {
    __syncthreads();
    for (int x = threadIdx.x; x < ATT_BK * D; x += blockDim.x) {
      const int jr = x / D, d = x % D, j = kt0 + jr;
      float kx = 0.0f, vx = 0.0f;
      if (j < kend) {
        const size_t a = (size_t)j * KD + (size_t)g * D + d;
        kx = ldf(k, a), vx = ldf(v, a);
      }
      Ks[jr * ks + d] = kx, Vs[jr * ks + d] = vx;
    }
    __syncthreads();
    if (!(kt0 < whi && kt0 + ATT_BK > wlo)) continue; /* warp-uniform */
    float s[R], dp[R], ds[R];
#pragma unroll
    for (int r = 0; r < R; r++) s[r] = dp[r] = 0.0f;
    const float *kr = Ks + (size_t)lane * ks, *vr = Vs + (size_t)lane * ks;
    for (int d = 0; d < D; d++) {
      const float kd = kr[d], vd = vr[d];
#pragma unroll
      for (int r = 0; r < R; r++) s[r] += Qw[r * D + d] * kd, dp[r] += Ow[r * D + d] * vd;
    }
    const int j = kt0 + lane;
#pragma unroll
    for (int r = 0; r < R; r++) {
      ds[r] = 0.0f;
      if (j >= lo[r] && j < hi[r]) ds[r] = expf(s[r] * scale - li[r]) * (dp[r] - dl[r]) * scale;
    }
    att_tile_accumulate(acc, ds, Ks, ks, D, lane);
  }
#pragma unroll
  for (int r = 0; r < R; r++) {
    const long long S = S0 + warp * R + r;
    if (S < NS) {
      const int i = (int)(S / G), h = g * G + (int)(S % G);
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) stf(dq, (size_t)i * HD + (size_t)h * D + d, acc[r][e]);
      }
    }
  }
}

/* Backward, dk and dv (FlashAttention-2's outer loop over key tiles). Grid
 * (ceil(N / (nw RK)), KVH): a block owns the nw RK key rows from j0 of kv
 * head g in shared memory (Ks, Vs: rows of D, read as broadcasts), a warp
 * RK of them, lanes over dimensions in its dk, dv accumulators. The query
 * slots that can see these keys are rows j0 .. iend-1 (iend: the end of
 * the last key's sequence) times the G heads of the group: they pass
 * through shared memory ATT_BK slots at a time (Qs, dOs: ATT_BK x D|1, read
 * a row per lane; with their lse, delta, lo = first row of the slot's
 * sequence, hi = row + 1). Per query tile, lane = slot:
 *   P = e^(s scale - lse), dS = P (dout . v - delta) scale  (0 unless lo <= j < hi),
 *   dv[j] += sum over the tile's slots of P dout, dk[j] += sum of dS q.
 * One writer per dk, dv row: no atomics. delta from attention_dq_bwd_kernel2
 * (launched first). */
template <typename T, int RK, int DPL>
__global__ void attention_dkv_bwd_kernel2(T *dk, T *dv, const T *dout, const T *q, const T *k, const T *v,
                                          const float *lse, const float *delta, const int *row_seq, const int *off,
                                          const int *len, int N, int H, int KVH, int D, float scale) {
  extern __shared__ float att_smem[];
  const int nw = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int G = H / KVH, g = blockIdx.y, BK = nw * RK, ks = att_odd(D);
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  const int j0 = blockIdx.x * BK; /* early keys see the most queries: in grid order, first */
  float *Ks = att_smem, *Vs = Ks + (size_t)BK * D, *Qs = Vs + (size_t)BK * D, *Os = Qs + (size_t)ATT_BK * ks;
  float *Ls = Os + (size_t)ATT_BK * ks, *Dl = Ls + ATT_BK;
  int *Lo = (int *)(Dl + ATT_BK), *Hi = Lo + ATT_BK;
  for (int x = threadIdx.x; x < BK * D; x += blockDim.x) {
    const int j = j0 + x / D;
    float kx = 0.0f, vx = 0.0f;
    if (j < N) {
      const size_t a = (size_t)j * KD + (size_t)g * D + (size_t)(x % D);
      kx = ldf(k, a), vx = ldf(v, a);
    }
    Ks[x] = kx, Vs[x] = vx;
  }
  const int jl = min(j0 + BK, N) - 1, bl = row_seq[jl], iend = off[bl] + len[bl];
  const int wj0 = j0 + warp * RK;
  int wend = -1; /* end of the sequence of the warp's last key; -1: no keys */
  if (wj0 < N) {
    const int b = row_seq[min(wj0 + RK, N) - 1];
    wend = off[b] + len[b];
  }
  float dka[RK][DPL], dva[RK][DPL];
#pragma unroll
  for (int r = 0; r < RK; r++)
#pragma unroll
    for (int e = 0; e < DPL; e++) dka[r][e] = dva[r][e] = 0.0f;
  const long long QEND = (long long)iend * G;
  for (long long Q0 = (long long)j0 * G; Q0 < QEND; Q0 += ATT_BK) {
    __syncthreads(); /* Ks, Vs written (first tile); the previous tile's reads done */
    for (int x = threadIdx.x; x < ATT_BK * D; x += blockDim.x) {
      const int sl = x / D, d = x % D;
      const long long S = Q0 + sl;
      float qx = 0.0f, ox = 0.0f;
      if (S < QEND) {
        const int i = (int)(S / G), h = g * G + (int)(S % G);
        const size_t a = (size_t)i * HD + (size_t)h * D + d;
        qx = ldf(q, a), ox = ldf(dout, a);
      }
      Qs[sl * ks + d] = qx, Os[sl * ks + d] = ox;
    }
    if (threadIdx.x < ATT_BK) {
      const long long S = Q0 + threadIdx.x;
      float lx = 0.0f, dx = 0.0f;
      int lox = 0, hix = 0;
      if (S < QEND) {
        const int i = (int)(S / G), h = g * G + (int)(S % G);
        lx = lse[(size_t)i * H + h], dx = delta[(size_t)i * H + h];
        lox = off[row_seq[i]], hix = i + 1;
      }
      Ls[threadIdx.x] = lx, Dl[threadIdx.x] = dx, Lo[threadIdx.x] = lox, Hi[threadIdx.x] = hix;
    }
    __syncthreads();
    const int qi0 = (int)(Q0 / G), qi1 = (int)((Q0 + ATT_BK - 1 < QEND ? Q0 + ATT_BK - 1 : QEND - 1) / G);
    if (!(qi1 >= wj0 && qi0 < wend)) continue; /* warp-uniform: no (query, key) pair can see each other */
    float s[RK], dp[RK], P[RK], dS[RK];
#pragma unroll
    for (int r = 0; r < RK; r++) s[r] = dp[r] = 0.0f;
    const float *qr = Qs + (size_t)lane * ks, *orow = Os + (size_t)lane * ks;
    const float *Kw = Ks + (size_t)warp * RK * D, *Vw = Vs + (size_t)warp * RK * D;
    for (int d = 0; d < D; d++) {
      const float qd = qr[d], od = orow[d];
#pragma unroll
      for (int r = 0; r < RK; r++) s[r] += qd * Kw[r * D + d], dp[r] += od * Vw[r * D + d];
    }
    const int lo = Lo[lane], hi = Hi[lane];
    const float li = Ls[lane], dl = Dl[lane];
#pragma unroll
    for (int r = 0; r < RK; r++) {
      const int j = wj0 + r;
      P[r] = dS[r] = 0.0f;
      if (j >= lo && j < hi) { /* hi <= iend <= N, so j < N */
        P[r] = expf(s[r] * scale - li);
        dS[r] = P[r] * (dp[r] - dl) * scale;
      }
    }
    for (int sl = 0; sl < ATT_BK; sl++) {
      float pj[RK], dsj[RK];
#pragma unroll
      for (int r = 0; r < RK; r++) {
        pj[r] = __shfl_sync(0xffffffffu, P[r], sl);
        dsj[r] = __shfl_sync(0xffffffffu, dS[r], sl);
      }
      const float *qs = Qs + (size_t)sl * ks, *os = Os + (size_t)sl * ks;
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) {
          const float qd = qs[d], od = os[d];
#pragma unroll
          for (int r = 0; r < RK; r++) dva[r][e] += pj[r] * od, dka[r][e] += dsj[r] * qd;
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < RK; r++) {
    const int j = wj0 + r;
    if (j < N) {
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) {
          stf(dk, (size_t)j * KD + (size_t)g * D + d, dka[r][e]);
          stf(dv, (size_t)j * KD + (size_t)g * D + d, dva[r][e]);
        }
      }
    }
  }
}

/* ---- decode over the paged cache, split (flash-decoding) ---- */

/* A row whose context (keys 0 .. pos) has ctx = pos + 1 keys is cut into
 * paged_splits(ctx) consecutive splits of paged_split_len(ctx) keys (the
 * last shorter): as many splits of at most PAGED_SPLIT_MIN keys as that
 * takes, up to PAGED_MAX_SPLITS (then longer ones), balanced and rounded up
 * to whole key tiles. A function of ctx alone, so a row's result does not
 * depend on the other rows of its call. */
enum { PAGED_SPLIT_MIN = 256, PAGED_MAX_SPLITS = 32 };

/* An upper bound of paged_splits(c) for every c <= ctx (the first step's
 * count, before balancing). */
static __host__ __device__ __forceinline__ int paged_max_splits(int ctx) {
  int n = (ctx + PAGED_SPLIT_MIN - 1) / PAGED_SPLIT_MIN;
  return n < 1 ? 1 : (n > PAGED_MAX_SPLITS ? PAGED_MAX_SPLITS : n);
}
static __host__ __device__ __forceinline__ int paged_split_len(int ctx) {
  const int n = paged_max_splits(ctx), c = (ctx + n - 1) / n;
  return (c + ATT_BK - 1) / ATT_BK * ATT_BK;
}
static __host__ __device__ __forceinline__ int paged_splits(int ctx) {
  const int c = paged_split_len(ctx);
  return (ctx + c - 1) / c;
}

/* One block per (row, kv head g and chunk of its heads, split): grid (N,
 * KVH * nch, >= the most splits of any row), nch = ceil(G / (nw R)); the
 * block's query slots are heads g G + c nw R + (0 .. nw R - 1) of row i
 * (those past the group are empty), its keys positions kbeg .. kend-1 of
 * the row's sequence through its block table, in tiles of ATT_BK, with
 * att_fwd_tile. A row of one split writes out (N, H*D) directly; otherwise
 * each split writes its partial record (m, l, acc[0..D-1]: unnormalised) at
 * part[((i H + h) part_splits + split) (D + 2)] for the combine kernel.
 * Shared memory att_fwd2_smem(nw, R, D). */
template <typename T, int R, int DPL>
__global__ void paged_attention_kernel2(T *out, float *part, const T *q, const T *kc, const T *vc, const int *row_seq,
                                        const int *row_pos, const int *table, int max_blocks, int bs, int H, int KVH,
                                        int D, int part_splits, float scale) {
  extern __shared__ float att_smem[];
  const int nw = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int G = H / KVH, BQ = nw * R, nch = (G + BQ - 1) / BQ, ks = att_odd(D);
  const int i = blockIdx.x, g = blockIdx.y / nch, c = blockIdx.y % nch, sp = blockIdx.z;
  const int ctx = row_pos[i] + 1, slen = paged_split_len(ctx), ns = (ctx + slen - 1) / slen;
  if (sp >= ns) return; /* the whole block, before any barrier */
  const int kbeg = sp * slen, kend = min(kbeg + slen, ctx);
  const int *tab = table + (size_t)row_seq[i] * max_blocks;
  const size_t HD = (size_t)H * D, KD = (size_t)KVH * D;
  float *Qs = att_smem, *Ks = Qs + (size_t)BQ * D, *Vs = Ks + (size_t)ATT_BK * ks;
  for (int x = threadIdx.x; x < BQ * D; x += blockDim.x) {
    const int hg = c * BQ + x / D;
    Qs[x] = hg < G ? ldf(q, (size_t)i * HD + (size_t)(g * G + hg) * D + (size_t)(x % D)) : 0.0f;
  }
  int lo[R], hi[R];
  float m[R], l[R], acc[R][DPL];
#pragma unroll
  for (int r = 0; r < R; r++) {
    const bool valid = c * BQ + warp * R + r < G;
    lo[r] = valid ? kbeg : 0, hi[r] = valid ? kend : 0;
    m[r] = -INFINITY, l[r] = 0.0f;
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[r][e] = 0.0f;
  }
  const bool any = c * BQ + warp * R < G; /* warp-uniform */
  for (int kt0 = kbeg; kt0 < kend; kt0 += ATT_BK) {
    __syncthreads();
    for (int x = threadIdx.x; x < ATT_BK * D; x += blockDim.x) {
      const int jr = x / D, d = x % D, pos = kt0 + jr;
      float kx = 0.0f, vx = 0.0f;
      if (pos < kend) {
        const size_t row = (size_t)tab[pos / bs] * bs + (size_t)(pos % bs);
        const size_t a = row * KD + (size_t)g * D + d;
        kx = ldf(kc, a), vx = ldf(vc, a);
      }
      Ks[jr * ks + d] = kx, Vs[jr * D + d] = vx;
    }
    __syncthreads();
    if (any)
      att_fwd_tile<R, DPL>(m, l, acc, Qs + (size_t)warp * R * D, Ks, ks, Vs, D, D, kt0, kend, lo, hi, scale, lane);
  }
#pragma unroll
  for (int r = 0; r < R; r++) {
    const float sum = warp_sum(l[r]);
    const int hg = c * BQ + warp * R + r;
    if (hg >= G) continue;
    const int h = g * G + hg;
    if (ns == 1) {
      T *o = out + (size_t)i * HD + (size_t)h * D;
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) stf(o, d, acc[r][e] / sum);
      }
    } else {
      float *pr = part + (((size_t)i * H + h) * part_splits + sp) * (size_t)(D + 2);
      if (lane == 0) pr[0] = m[r], pr[1] = sum;
#pragma unroll
      for (int e = 0; e < DPL; e++) {
        const int d = lane + 32 * e;
        if (d < D) pr[2 + d] = acc[r][e];
      }
    }
  }
}

/* Merges the splits of rows with more than one, in split order: one warp
 * per (row, head), M = max m_s, w_s = e^(m_s - M),
 * out = sum w_s acc_s / sum w_s l_s. Rows of one split are skipped (written
 * by paged_attention_kernel2). Any block size that is a multiple of 32. */
template <typename T>
__global__ void paged_attention_combine_kernel2(T *out, const float *part, const int *row_pos, int N, int H, int D,
                                                int part_splits) {
  const int w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (w >= N * H) return; /* whole warps */
  const int i = w / H, h = w % H, ns = paged_splits(row_pos[i] + 1);
  if (ns == 1) return;
  const size_t rec = (size_t)(D + 2);
  const float *pr = part + ((size_t)i * H + h) * part_splits * rec;
  float M = -INFINITY;
  for (int s = 0; s < ns; s++) M = fmaxf(M, pr[s * rec]);
  float L = 0.0f, acc[ATT_DPL];
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) acc[e] = 0.0f;
  for (int s = 0; s < ns; s++) {
    const float ws = expf(pr[s * rec] - M);
    L += ws * pr[s * rec + 1];
#pragma unroll
    for (int e = 0; e < ATT_DPL; e++) {
      const int d = lane + 32 * e;
      if (d < D) acc[e] += ws * pr[s * rec + 2 + d];
    }
  }
  T *o = out + (size_t)i * H * D + (size_t)h * D;
#pragma unroll
  for (int e = 0; e < ATT_DPL; e++) {
    const int d = lane + 32 * e;
    if (d < D) stf(o, d, acc[e] / L);
  }
}

#endif
