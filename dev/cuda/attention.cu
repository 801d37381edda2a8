/* attention.cu (lab) — the attention kernels of model/cuda/attention.cuh
 * against the CPU reference at every block size, then timed.
 *
 * Variants (training, causal GQA over packed sequences):
 *   kernel1  attention_fwd_kernel1 / attention_dq_bwd_kernel1 +
 *            attention_dkv_bwd_kernel1: one warp per (row, head), no tiling;
 *   kernel2  attention_fwd_kernel2 / attention_dq_bwd_kernel2 +
 *            attention_dkv_bwd_kernel2: flash-style tiles of nw R query
 *            slots (nw RK keys for dk, dv) and 32 keys in shared memory
 *            (the library's launchers use it, 128 threads).
 * Variants (decode over a paged cache):
 *   kernel1  paged_attention_kernel1: one warp per (row, head);
 *   kernel2  paged_attention_kernel2 + paged_attention_combine_kernel2:
 *            splits of <= 256 keys, one block per split and head group
 *            (the library's, 128 threads).
 * Block sizes 32 .. 1024; a size whose registers or shared memory do not
 * fit the device (att_launch_fits) is reported as skipped: 1024 threads
 * allow at most 64 registers each, which most of these kernels exceed.
 * Timed: a micro-batch of 8 sequences of 512 in Qwen2.5-0.5B's heads (H 14,
 * KVH 2, D 64), and decode steps of 64 rows at contexts 512 and 4096.
 * Usage: lab_attention. Status: compiled, not yet run on a GPU; every check
 * passes in the CPU emulation (cudasim, docs/cuda_sim.md), which has no
 * register limit, so there every block size runs. */
#include <omp.h>

#include "dev/cuda/lab.h"
#include "model/cuda/attention.cuh"

extern "C" {
#include "model/kernels.h"
}

enum { LAB_R = 4, LAB_RK = 4, LAB_PAGED_R = 2 };

struct att_case {
  int B, H, KVH, D;
  int lens[8];
};

static float lab_scale(int D) { return (float)(1.0 / sqrt((double)D)); }

/* Launches variant kn (1, 2) at block size `block`; returns 0 when kernel2's
 * shared memory does not fit the device at that size (nothing launched). */
template <typename T>
static int launch_fwd(int kn, int block, T *out, float *lse, const T *q, const T *k, const T *v, const int *rs,
                      const int *off, int N, int H, int KVH, int D) {
  if (kn == 1) {
    if (!att_launch_fits(attention_fwd_kernel1<T>, block, 0)) return 0;
    attention_fwd_kernel1<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(out, lse, q, k, v, rs, off, N, H,
                                                                                    KVH, D, lab_scale(D));
  } else {
    const int nw = block / 32, G = H / KVH;
    const size_t smem = att_fwd2_smem(nw, LAB_R, D);
    const dim3 grid((unsigned)CEIL_DIV((long long)N * G, (long long)nw * LAB_R), (unsigned)KVH);
    int ok = 1;
    ATT_DISPATCH_DPL(D, DPL, {
      auto *kern = attention_fwd_kernel2<T, LAB_R, DPL>;
      if (!(ok = att_launch_fits(kern, block, smem))) break;
      kern<<<grid, block, smem, LAB.stream>>>(out, lse, q, k, v, rs, off, N, H, KVH, D, lab_scale(D));
    });
    if (!ok) return 0;
  }
  CUDA_CHECK(cudaGetLastError());
  return 1;
}

template <typename T>
static int launch_bwd(int kn, int block, T *dq, T *dk, T *dv, float *delta, const T *dout, const T *q, const T *k,
                      const T *v, const T *out, const float *lse, const int *rs, const int *off, const int *len, int N,
                      int H, int KVH, int D) {
  if (kn == 1) {
    if (!att_launch_fits(attention_dq_bwd_kernel1<T>, block, 0) || !att_launch_fits(attention_dkv_bwd_kernel1<T>, block, 0))
      return 0;
    attention_dq_bwd_kernel1<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(
        dq, delta, dout, q, k, v, out, lse, rs, off, N, H, KVH, D, lab_scale(D));
    CUDA_CHECK(cudaGetLastError());
    attention_dkv_bwd_kernel1<T><<<CEIL_DIV(N * KVH, block / 32), block, 0, LAB.stream>>>(
        dk, dv, dout, q, k, v, lse, delta, rs, off, len, N, H, KVH, D, lab_scale(D));
  } else {
    const int nw = block / 32, G = H / KVH;
    const size_t sq = att_dq2_smem(nw, LAB_R, D), sk = att_dkv2_smem(nw, LAB_RK, D);
    const dim3 gq((unsigned)CEIL_DIV((long long)N * G, (long long)nw * LAB_R), (unsigned)KVH);
    const dim3 gk((unsigned)CEIL_DIV(N, nw * LAB_RK), (unsigned)KVH);
    int ok = 1;
    ATT_DISPATCH_DPL(D, DPL, {
      auto *kq = attention_dq_bwd_kernel2<T, LAB_R, DPL>;
      auto *kk = attention_dkv_bwd_kernel2<T, LAB_RK, DPL>;
      if (!(ok = att_launch_fits(kq, block, sq) && att_launch_fits(kk, block, sk))) break;
      kq<<<gq, block, sq, LAB.stream>>>(dq, delta, dout, q, k, v, out, lse, rs, off, N, H, KVH, D, lab_scale(D));
      CUDA_CHECK(cudaGetLastError());
      kk<<<gk, block, sk, LAB.stream>>>(dk, dv, dout, q, k, v, lse, delta, rs, off, len, N, H, KVH, D, lab_scale(D));
    });
    if (!ok) return 0;
  }
  CUDA_CHECK(cudaGetLastError());
  return 1;
}

/* Paged decode, variant kn; part: kernel2's split records for all N rows
 * (one launch), part_splits = paged_max_splits(max_len). */
template <typename T>
static int launch_paged(int kn, int block, T *out, float *part, const T *q, const T *kc, const T *vc, const int *rs,
                        const int *pos, const int *table, int max_blocks, int bs, int N, int H, int KVH, int D,
                        int max_len) {
  if (kn == 1) {
    if (!att_launch_fits(paged_attention_kernel1<T>, block, 0)) return 0;
    paged_attention_kernel1<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(
        out, q, kc, vc, rs, pos, table, max_blocks, bs, N, H, KVH, D, lab_scale(D));
    CUDA_CHECK(cudaGetLastError());
    return 1;
  }
  const int nw = block / 32, G = H / KVH, nch = CEIL_DIV(G, nw * LAB_PAGED_R), ps = paged_max_splits(max_len);
  const size_t smem = att_fwd2_smem(nw, LAB_PAGED_R, D);
  const dim3 grid((unsigned)N, (unsigned)(KVH * nch), (unsigned)ps);
  int ok = 1;
  ATT_DISPATCH_DPL(D, DPL, {
    auto *kern = paged_attention_kernel2<T, LAB_PAGED_R, DPL>;
    if (!(ok = att_launch_fits(kern, block, smem))) break;
    kern<<<grid, block, smem, LAB.stream>>>(out, part, q, kc, vc, rs, pos, table, max_blocks, bs, H, KVH, D, ps,
                                            lab_scale(D));
  });
  if (!ok) return 0;
  CUDA_CHECK(cudaGetLastError());
  if (ps > 1) {
    if (!att_launch_fits(paged_attention_combine_kernel2<T>, block, 0)) return 0;
    paged_attention_combine_kernel2<T><<<CEIL_DIV(N * H, block / 32), block, 0, LAB.stream>>>(out, part, pos, N, H, D,
                                                                                             ps);
    CUDA_CHECK(cudaGetLastError());
  }
  return 1;
}

static const int BLOCKS[] = {32, 64, 128, 256, 512, 1024};
enum { NBLOCKS = 6 };

template <typename T>
static void run(rlvr_dtype dt, const att_case &c, int check, int reps) {
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  int N = 0, max_len = 0, off[8], rs_n = 0;
  for (int b = 0; b < c.B; b++) off[b] = N, N += c.lens[b], max_len = c.lens[b] > max_len ? c.lens[b] : max_len;
  const int HD = c.H * c.D, KD = c.KVH * c.D;
  int *rs = (int *)malloc(N * sizeof(int)), *pos = (int *)malloc(N * sizeof(int));
  size_t *col = (size_t *)malloc(N * sizeof(size_t));
  for (int b = 0; b < c.B; b++)
    for (int t = 0; t < c.lens[b]; t++) rs[rs_n] = b, pos[rs_n] = t, col[rs_n++] = (size_t)off[b];
  rlvr_rng r;
  rlvr_rng_seed(&r, 3);
  float *q = (float *)malloc((size_t)N * HD * 4), *k = (float *)malloc((size_t)N * KD * 4), *v = (float *)malloc((size_t)N * KD * 4);
  float *dout = (float *)malloc((size_t)N * HD * 4);
  lab_fill(q, (size_t)N * HD, &r, 1, dt), lab_fill(k, (size_t)N * KD, &r, 1, dt), lab_fill(v, (size_t)N * KD, &r, 1, dt);
  lab_fill(dout, (size_t)N * HD, &r, 1, dt);
  T *dq_ = (T *)lab_upload(q, (size_t)N * HD, dt), *dk_ = (T *)lab_upload(k, (size_t)N * KD, dt);
  T *dv_ = (T *)lab_upload(v, (size_t)N * KD, dt), *ddo = (T *)lab_upload(dout, (size_t)N * HD, dt);
  int *drs, *doff, *dlen;
  CUDA_CHECK(cudaMalloc(&drs, N * 4));
  CUDA_CHECK(cudaMalloc(&doff, c.B * 4));
  CUDA_CHECK(cudaMalloc(&dlen, c.B * 4));
  lab_h2d(drs, rs, N * 4), lab_h2d(doff, off, c.B * 4), lab_h2d(dlen, c.lens, c.B * 4);
  T *dout_, *gq, *gk, *gv;
  float *dlse, *ddelta;
  CUDA_CHECK(cudaMalloc(&dout_, (size_t)N * HD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gq, (size_t)N * HD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gk, (size_t)N * KD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&gv, (size_t)N * KD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&dlse, (size_t)N * c.H * 4));
  CUDA_CHECK(cudaMalloc(&ddelta, (size_t)N * c.H * 4));
  if (check) {
    float *out_r = (float *)malloc((size_t)N * HD * 4), *lse_r = (float *)malloc((size_t)N * c.H * 4);
    float *scr = (float *)malloc((size_t)omp_get_max_threads() * rlvr_attention_scratch(max_len, c.D) * 4);
    const rlvr_kv_view kv = {NULL, k, v, (size_t)N, KD};
    rlvr_attention_forward(out_r, lse_r, q, &kv, N, pos, col, c.H, c.KVH, c.D, max_len, scr);
    float *kt = (float *)malloc((size_t)N * KD * 4), *vt = (float *)malloc((size_t)N * KD * 4);
    for (int i = 0; i < N; i++)
      for (int j = 0; j < KD; j++) kt[(size_t)j * N + i] = k[(size_t)i * KD + j], vt[(size_t)j * N + i] = v[(size_t)i * KD + j];
    float *out_q = (float *)malloc((size_t)N * HD * 4);
    for (size_t i = 0; i < (size_t)N * HD; i++) out_q[i] = dt == RLVR_DTYPE_BF16 ? rlvr_bf16_round(out_r[i]) : out_r[i];
    float *gq_r = (float *)malloc((size_t)N * HD * 4), *gk_r = (float *)malloc((size_t)N * KD * 4), *gv_r = (float *)malloc((size_t)N * KD * 4);
    rlvr_attention_backward(gq_r, gk_r, gv_r, dout, q, k, kt, vt, (size_t)N, out_q, lse_r, c.B, off, c.lens, c.H, c.KVH,
                            c.D, max_len, scr);
    float *got = (float *)malloc((size_t)N * HD * 4), *got2 = (float *)malloc((size_t)N * c.H * 4);
    T *dout_q = (T *)lab_upload(out_q, (size_t)N * HD, dt);
    const double rt = dt == RLVR_DTYPE_F32 ? 1e-4 : 5e-3, at = 2e-6 * sqrt((double)max_len * (c.H / c.KVH)) * 4;
    for (int kn = 1; kn <= 2; kn++)
      for (int bi = 0; bi < NBLOCKS; bi++) {
        const int block = BLOCKS[bi];
        char what[200];
        if (!launch_fwd<T>(kn, block, dout_, dlse, dq_, dk_, dv_, drs, doff, N, c.H, c.KVH, c.D)) {
          printf("skip attention kernel%d %s block %d: registers or shared memory do not fit\n", kn, tn, block);
          continue;
        }
        lab_download(got, dout_, (size_t)N * HD, dt), lab_download(got2, dlse, (size_t)N * c.H, RLVR_DTYPE_F32);
        snprintf(what, sizeof what, "attention_fwd_kernel%d %s block %d N=%d H=%d/%d D=%d out", kn, tn, block, N, c.H,
                 c.KVH, c.D);
        lab_check(what, got, out_r, (size_t)N * HD, 1e-5, rt);
        snprintf(what, sizeof what, "attention_fwd_kernel%d %s block %d lse", kn, tn, block);
        lab_check(what, got2, lse_r, (size_t)N * c.H, 1e-5, 1e-5);
        lab_h2d(dlse, lse_r, (size_t)N * c.H * 4);
        if (!launch_bwd<T>(kn, block, gq, gk, gv, ddelta, ddo, dq_, dk_, dv_, dout_q, dlse, drs, doff, dlen, N, c.H,
                           c.KVH, c.D)) {
          printf("skip attention bwd kernel%d %s block %d: registers or shared memory do not fit\n", kn, tn, block);
          continue;
        }
        lab_download(got, gq, (size_t)N * HD, dt);
        snprintf(what, sizeof what, "attention_dq_bwd_kernel%d %s block %d dq", kn, tn, block);
        lab_check(what, got, gq_r, (size_t)N * HD, at, rt);
        lab_download(got, gk, (size_t)N * KD, dt);
        snprintf(what, sizeof what, "attention_dkv_bwd_kernel%d %s block %d dk", kn, tn, block);
        lab_check(what, got, gk_r, (size_t)N * KD, at, rt);
        lab_download(got, gv, (size_t)N * KD, dt);
        snprintf(what, sizeof what, "attention_dkv_bwd_kernel%d %s block %d dv", kn, tn, block);
        lab_check(what, got, gv_r, (size_t)N * KD, at, rt);
      }
    cudaFree(dout_q);
    free(out_r), free(lse_r), free(scr), free(kt), free(vt), free(out_q), free(gq_r), free(gk_r), free(gv_r), free(got), free(got2);
  }
  if (reps > 0) {
    double pairs = 0;
    for (int b = 0; b < c.B; b++) pairs += (double)c.lens[b] * (c.lens[b] + 1) / 2;
    const double fl = pairs * c.H * 4.0 * c.D; /* QK and PV */
    printf("| kernel | %s block | N | us | TFLOP/s |\n|---|---|---|---|---|\n", tn);
    for (int kn = 1; kn <= 2; kn++)
      for (int bi = 0; bi < NBLOCKS; bi++) {
        const int block = BLOCKS[bi];
        if (!launch_fwd<T>(kn, block, dout_, dlse, dq_, dk_, dv_, drs, doff, N, c.H, c.KVH, c.D)) continue;
        double ms = lab_time_ms([&] { launch_fwd<T>(kn, block, dout_, dlse, dq_, dk_, dv_, drs, doff, N, c.H, c.KVH, c.D); }, reps);
        printf("| attention_fwd_kernel%d | %d | %d | %.1f | %.2f |\n", kn, block, N, ms * 1e3, fl / (ms * 1e-3) / 1e12);
        if (!launch_bwd<T>(kn, block, gq, gk, gv, ddelta, ddo, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen, N, c.H,
                           c.KVH, c.D))
          continue;
        ms = lab_time_ms([&] {
          launch_bwd<T>(kn, block, gq, gk, gv, ddelta, ddo, dq_, dk_, dv_, dout_, dlse, drs, doff, dlen, N, c.H, c.KVH, c.D);
        }, reps);
        printf("| attention bwd kernel%d (dq + dkv) | %d | %d | %.1f | %.2f |\n", kn, block, N, ms * 1e3,
               2.5 * fl / (ms * 1e-3) / 1e12);
      }
  }
  cudaFree(dq_), cudaFree(dk_), cudaFree(dv_), cudaFree(ddo), cudaFree(drs), cudaFree(doff), cudaFree(dlen);
  cudaFree(dout_), cudaFree(gq), cudaFree(gk), cudaFree(gv), cudaFree(dlse), cudaFree(ddelta);
  free(rs), free(pos), free(col), free(q), free(k), free(v), free(dout);
}

/* Paged decode: B sequences of lens[b] tokens in blocks of bs pool rows
 * (blocks in a random order); rows: `per` query positions per sequence
 * (the last, then random ones). */
template <typename T>
static void run_paged(rlvr_dtype dt, int B, const int *lens, int per, int H, int KVH, int D, int bs, int check,
                      int reps) {
  const char *tn = dt == RLVR_DTYPE_F32 ? "f32" : "bf16";
  const int HD = H * D, KD = KVH * D;
  int *off = (int *)malloc(B * sizeof(int)), total = 0, max_len = 0, nblocks = 0;
  for (int b = 0; b < B; b++) {
    off[b] = total, total += lens[b], max_len = lens[b] > max_len ? lens[b] : max_len;
    nblocks += CEIL_DIV(lens[b], bs);
  }
  const int max_blocks = CEIL_DIV(max_len, bs), N = B * per;
  rlvr_rng r;
  rlvr_rng_seed(&r, 5);
  int *rs = (int *)malloc(N * sizeof(int)), *pos = (int *)malloc(N * sizeof(int));
  size_t *col = (size_t *)malloc(N * sizeof(size_t));
  for (int b = 0; b < B; b++)
    for (int t = 0; t < per; t++) {
      rs[b * per + t] = b, col[b * per + t] = (size_t)off[b];
      pos[b * per + t] = t == 0 ? lens[b] - 1 : (int)rlvr_rng_below(&r, (uint64_t)lens[b]);
    }
  float *k = (float *)malloc((size_t)total * KD * 4), *v = (float *)malloc((size_t)total * KD * 4);
  float *q = (float *)malloc((size_t)N * HD * 4);
  lab_fill(k, (size_t)total * KD, &r, 1, dt), lab_fill(v, (size_t)total * KD, &r, 1, dt);
  lab_fill(q, (size_t)N * HD, &r, 1, dt);
  int *perm = (int *)malloc(nblocks * sizeof(int)), *table = (int *)malloc((size_t)B * max_blocks * sizeof(int));
  for (int i = 0; i < nblocks; i++) perm[i] = i;
  for (int i = nblocks - 1; i > 0; i--) {
    const int j = (int)rlvr_rng_below(&r, (uint64_t)i + 1), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
  int used = 0;
  for (int b = 0; b < B; b++)
    for (int blk = 0; blk < max_blocks; blk++) table[b * max_blocks + blk] = blk * bs < lens[b] ? perm[used++] : -1;
  const size_t pool_rows = (size_t)nblocks * bs;
  float *kc = (float *)calloc(pool_rows * KD, 4), *vc = (float *)calloc(pool_rows * KD, 4);
  for (int b = 0; b < B; b++)
    for (int p = 0; p < lens[b]; p++) {
      const size_t row = (size_t)table[b * max_blocks + p / bs] * bs + p % bs;
      memcpy(kc + row * KD, k + (size_t)(off[b] + p) * KD, KD * 4), memcpy(vc + row * KD, v + (size_t)(off[b] + p) * KD, KD * 4);
    }
  T *dq_ = (T *)lab_upload(q, (size_t)N * HD, dt), *dkc = (T *)lab_upload(kc, pool_rows * KD, dt);
  T *dvc = (T *)lab_upload(vc, pool_rows * KD, dt), *dout_;
  int *drs, *dpos, *dtab;
  float *part;
  CUDA_CHECK(cudaMalloc(&dout_, (size_t)N * HD * sizeof(T)));
  CUDA_CHECK(cudaMalloc(&drs, N * 4));
  CUDA_CHECK(cudaMalloc(&dpos, N * 4));
  CUDA_CHECK(cudaMalloc(&dtab, (size_t)B * max_blocks * 4));
  CUDA_CHECK(cudaMalloc(&part, (size_t)N * H * paged_max_splits(max_len) * (D + 2) * 4));
  lab_h2d(drs, rs, N * 4), lab_h2d(dpos, pos, N * 4), lab_h2d(dtab, table, (size_t)B * max_blocks * 4);
  if (check) {
    float *out_r = (float *)malloc((size_t)N * HD * 4), *got = (float *)malloc((size_t)N * HD * 4);
    float *scr = (float *)malloc((size_t)omp_get_max_threads() * rlvr_attention_scratch(max_len, D) * 4);
    const rlvr_kv_view kv = {NULL, k, v, (size_t)total, KD};
    rlvr_attention_forward(out_r, NULL, q, &kv, N, pos, col, H, KVH, D, max_len, scr);
    const double rt = dt == RLVR_DTYPE_F32 ? 1e-4 : 5e-3;
    for (int kn = 1; kn <= 2; kn++)
      for (int bi = 0; bi < NBLOCKS; bi++) {
        char what[200];
        if (!launch_paged<T>(kn, BLOCKS[bi], dout_, part, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D,
                             max_len)) {
          printf("skip paged_attention_kernel%d %s block %d: registers or shared memory do not fit\n", kn, tn, BLOCKS[bi]);
          continue;
        }
        lab_download(got, dout_, (size_t)N * HD, dt);
        snprintf(what, sizeof what, "paged_attention_kernel%d %s block %d rows=%d H=%d/%d D=%d bs=%d max ctx %d", kn,
                 tn, BLOCKS[bi], N, H, KVH, D, bs, max_len);
        lab_check(what, got, out_r, (size_t)N * HD, 1e-5, rt);
      }
    free(out_r), free(got), free(scr);
  }
  if (reps > 0) {
    double keys = 0;
    for (int i = 0; i < N; i++) keys += pos[i] + 1;
    const double bytes = keys * KD * 2.0 * sizeof(T); /* K and V read once per kv head (kernel2's ideal) */
    printf("| kernel | %s block | rows | keys/row | us | GB/s (K+V once) |\n|---|---|---|---|---|---|\n", tn);
    for (int kn = 1; kn <= 2; kn++)
      for (int bi = 0; bi < NBLOCKS; bi++) {
        const int block = BLOCKS[bi];
        if (!launch_paged<T>(kn, block, dout_, part, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D,
                             max_len))
          continue;
        const double ms = lab_time_ms([&] {
          launch_paged<T>(kn, block, dout_, part, dq_, dkc, dvc, drs, dpos, dtab, max_blocks, bs, N, H, KVH, D, max_len);
        }, reps);
        printf("| paged_attention_kernel%d | %d | %d | %.0f | %.1f | %.0f |\n", kn, block, N, keys / N, ms * 1e3,
               bytes / (ms * 1e-3) / 1e9);
      }
  }
  cudaFree(dq_), cudaFree(dkc), cudaFree(dvc), cudaFree(dout_), cudaFree(drs), cudaFree(dpos), cudaFree(dtab);
  cudaFree(part);
  free(off), free(rs), free(pos), free(col), free(k), free(v), free(q), free(perm), free(table), free(kc), free(vc);
}

int main(void) {
  if (!lab_init()) return 77;
  /* checks: lengths off every tile, G 7 and 1, D 64 and 80 */
  const att_case small = {3, 14, 2, 64, {100, 37, 255}};
  run<float>(RLVR_DTYPE_F32, small, 1, 0);
  run<bf16>(RLVR_DTYPE_BF16, small, 1, 0);
  const att_case odd = {4, 3, 3, 80, {1, 7, 65, 130}};
  run<float>(RLVR_DTYPE_F32, odd, 1, 0);
  run<bf16>(RLVR_DTYPE_BF16, odd, 1, 0);
  const int plens[] = {1, 7, 65, 130, 300, 700, 2000};
  run_paged<float>(RLVR_DTYPE_F32, 7, plens, 3, 14, 2, 64, 16, 1, 0);
  run_paged<bf16>(RLVR_DTYPE_BF16, 7, plens, 3, 14, 2, 64, 16, 1, 0);
  run_paged<float>(RLVR_DTYPE_F32, 7, plens, 3, 4, 4, 80, 7, 1, 0);
  /* timings (bf16, Qwen2.5-0.5B heads) */
  const att_case train = {8, 14, 2, 64, {512, 512, 512, 512, 512, 512, 512, 512}};
  run<bf16>(RLVR_DTYPE_BF16, train, 0, 2);
  int dl[64];
  for (int b = 0; b < 64; b++) dl[b] = 512;
  run_paged<bf16>(RLVR_DTYPE_BF16, 64, dl, 1, 14, 2, 64, 16, 0, 5);
  for (int b = 0; b < 64; b++) dl[b] = 4096;
  run_paged<bf16>(RLVR_DTYPE_BF16, 64, dl, 1, 14, 2, 64, 16, 0, 5);
  return lab_done();
}
