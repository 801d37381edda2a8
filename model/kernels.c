/* kernels.c — CPU operations of the policy model; see kernels.h.
 *
 * Matrix products. One driver (mm_run) computes C(i, j) (+)= sum_k A(i, k)
 * B(k, j) for the three products of a linear layer:
 *
 *   forward   C = Y^T: C(n, m) = sum_k W[n, k] X[m, k]   A = W (rows), B = X^T
 *                                                        (packed), C stored
 *                                                        transposed into Y
 *   dX        C(m, k) = sum_n dY[m, n] W[n, k]           A = dY, B = W in place
 *   dW        C(n, k) += sum_m dY[m, n] X[m, k]          A = dY^T, B = X in place
 *
 * The micro-kernel holds an MR x NR tile of C in registers (NR = two AVX-512
 * vectors of 16 floats) and for k = 0, 1, ... broadcasts A(i, k) and does
 * c(i, j) = fma(A(i, k), B(k, j), c(i, j)). So every element of C is one fma
 * chain over k in increasing order, whatever the tile, the tail handling
 * (masked loads of zeros past the edge: the chain is the same), the thread or
 * the K blocking (a tile leaves registers between K blocks as exact floats
 * and comes back). In the forward the tokens are the B columns, hence a row
 * of Y does not depend on which other rows were in the batch: the exactness
 * property of kernels.h. The weights are used as they are stored (A rows);
 * only the activations are repacked (transposed, O(M K) per call).
 *
 * Without AVX-512 a plain C micro-kernel with the same structure is used
 * (a*b then +, not fused): slower, and its results differ from the AVX-512
 * build's, but within one build forward and decode still agree exactly. */
#include "model/kernels.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "core/check.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define MM_INLINE static inline __attribute__((always_inline))

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------ */
/* Matrix products                                                           */
/* ------------------------------------------------------------------------ */

#if defined(__AVX512F__)
enum { MM_NR = 32, MM_MR = 12 };
#else
enum { MM_NR = 16, MM_MR = 4 };
#endif
/* Blocking: a task is MB rows x NB panels of C (NB_T or NB_S for the
 * forward's transposed C, see mm_run); K runs in blocks of KC, so that the
 * task's B block (KC x NB*NR floats, 256 KiB) stays in L2 and an A micro-panel
 * (MR x KC) in L1 across a row tile's panels. */
enum { MM_KC = 256, MM_MB = 8 * MM_MR, MM_NB = 8, MM_KC_T = 1024, MM_NB_T = 64, MM_NB_S = 16 };

typedef struct {
  const float *a;
  ptrdiff_t as; /* A(i, k) = a[i*as + k], or a[k*as + i] when a_cols */
  int a_cols;
  const float *b;
  ptrdiff_t ldb; /* B(k, j) = b[k*ldb + j]; unused when b_packed */
  int b_packed;  /* b holds panels: panel p (columns p*NR..) is K x NR at b + p*K*NR */
  float *c;
  ptrdiff_t c_rs, c_cs; /* C(i, j) = c[i*c_rs + j*c_cs]; one of them is 1 */
  int M, N, K;
  int accumulate; /* C += A B instead of C = A B */
} mm_problem;

#if defined(__AVX512F__)

static inline __mmask16 mask_first(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* One MR x NR tile (mr rows, nv <= NR columns) over kc steps of k, with
 * A(i, k) = a[k*as + i] (a_cols: packed, as = MR, or dW's dY^T) or
 * a[i*as + k]. mr, nvec (vectors of columns in use: 1 when nv <= 16) and
 * a_cols are compile-time constants at every call site, so each instance is
 * fully unrolled. */
MM_INLINE void micro(const int mr, const int nvec, const int a_cols, int kc, const float *a,
                     ptrdiff_t as, const float *b, ptrdiff_t ldb, int nv, float *c, ptrdiff_t c_rs,
                     ptrdiff_t c_cs, int load_c, const float *pf) {
  const __mmask16 m0 = mask_first(nv), m1 = mask_first(nv - 16);
  __m512 c0[MM_MR], c1[MM_MR];
  float tmp[MM_NR] = {0};
#pragma GCC unroll 12
  for (int i = 0; i < MM_MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  if (load_c) {
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
      const float *ci = c + i * c_rs;
      if (c_cs == 1) {
        c0[i] = _mm512_maskz_loadu_ps(m0, ci);
        if (nvec == 2) c1[i] = _mm512_maskz_loadu_ps(m1, ci + 16);
      } else {
        for (int j = 0; j < nv; j++) tmp[j] = ci[j * c_cs];
        c0[i] = _mm512_maskz_loadu_ps(m0, tmp);
        if (nvec == 2) c1[i] = _mm512_maskz_loadu_ps(m1, tmp + 16);
      }
    }
  }
  for (int k = 0; k < kc; k++) {
    const float *bk = b + k * ldb;
    if (!a_cols && pf && (k & 15) == 0) /* the next A micro-panel, a line per row */
      for (int i = 0; i < MM_MR; i++) _mm_prefetch((const char *)(pf + i * as + k), _MM_HINT_T0);
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, bk);
    const __m512 b1 = nvec == 2 ? _mm512_maskz_loadu_ps(m1, bk + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
      const __m512 ai = _mm512_set1_ps(a_cols ? a[k * as + i] : a[i * as + k]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      if (nvec == 2) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++) {
    float *ci = c + i * c_rs;
    if (c_cs == 1) {
      _mm512_mask_storeu_ps(ci, m0, c0[i]);
      if (nvec == 2) _mm512_mask_storeu_ps(ci + 16, m1, c1[i]);
    } else {
      _mm512_storeu_ps(tmp, c0[i]);
      if (nvec == 2) _mm512_storeu_ps(tmp + 16, c1[i]);
      for (int j = 0; j < nv; j++) ci[j * c_cs] = tmp[j];
    }
  }
}

#else /* portable */

MM_INLINE void micro(const int mr, const int nvec, const int a_cols, int kc, const float *a,
                     ptrdiff_t as, const float *b, ptrdiff_t ldb, int nv, float *c, ptrdiff_t c_rs,
                     ptrdiff_t c_cs, int load_c, const float *pf) {
  (void)nvec, (void)pf;
  float acc[MM_MR][MM_NR], bk[MM_NR];
  memset(acc, 0, sizeof acc);
  if (load_c)
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < nv; j++) acc[i][j] = c[i * c_rs + j * c_cs];
  for (int j = nv; j < MM_NR; j++) bk[j] = 0;
  for (int k = 0; k < kc; k++) {
    for (int j = 0; j < nv; j++) bk[j] = b[k * ldb + j];
    for (int i = 0; i < mr; i++) {
      const float ai = a_cols ? a[k * as + i] : a[i * as + k];
      for (int j = 0; j < MM_NR; j++) acc[i][j] = acc[i][j] + ai * bk[j];
    }
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nv; j++) c[i * c_rs + j * c_cs] = acc[i][j];
}

#endif

/* Instantiates micro for every (mr, nvec, a_cols) so that each is unrolled. */
static void micro_dispatch(int mr, int nv, int a_cols, int kc, const float *a, ptrdiff_t as,
                           const float *b, ptrdiff_t ldb, float *c, ptrdiff_t c_rs, ptrdiff_t c_cs,
                           int load_c, const float *pf) {
  const int two = nv > 16;
#define MM_CASE(R)                                                                                 \
  case R:                                                                                          \
    if (a_cols) {                                                                                  \
      if (two) micro(R, 2, 1, kc, a, as, b, ldb, nv, c, c_rs, c_cs, load_c, pf);                       \
      else micro(R, 1, 1, kc, a, as, b, ldb, nv, c, c_rs, c_cs, load_c, pf);                           \
    } else {                                                                                       \
      if (two) micro(R, 2, 0, kc, a, as, b, ldb, nv, c, c_rs, c_cs, load_c, pf);                       \
      else micro(R, 1, 0, kc, a, as, b, ldb, nv, c, c_rs, c_cs, load_c, pf);                           \
    }                                                                                              \
    break;
  switch (mr) {
    MM_CASE(1)
    MM_CASE(2)
    MM_CASE(3)
    MM_CASE(4)
#if defined(__AVX512F__)
    MM_CASE(5)
    MM_CASE(6)
    MM_CASE(7)
    MM_CASE(8)
    MM_CASE(9)
    MM_CASE(10)
    MM_CASE(11)
    MM_CASE(12)
#endif
  default: RLVR_CHECK(0, "micro-kernel rows %d", mr);
  }
#undef MM_CASE
}

/* The forward's staging block (see mm_run), per thread. Its row stride is
 * padded by a cache line so that a tile's rows do not alias in L1. */
enum { STAGE_LD = MM_NB_S * MM_NR + 16 };
static _Thread_local float tl_stage[MM_MB * STAGE_LD] __attribute__((aligned(64)));
/* A B micro-panel of the backward's products, contiguous. */
static _Thread_local float tl_b[MM_KC * MM_NR] __attribute__((aligned(64)));

static void mm_run(const mm_problem *p) {
  if (p->M <= 0 || p->N <= 0) return;
  /* The forward's C is transposed: C(i, j) = Y[j][i], tokens are columns.
   *  - K <= KC_T: no K blocking, each tile is scattered into Y once; a task
   *    takes up to NB_T panels so that an A micro-panel (weights, read in
   *    place, prefetched during the previous tile's first panel) serves many
   *    tokens.
   *  - K > KC_T: K blocks of KC, the task's tiles kept in a staging block
   *    laid out as C (vector loads and stores between blocks), transposed
   *    into Y once at the end: written in place, tiles would be gathered and
   *    scattered at every block over rows of Y whose stride can alias.
   * The backward's C is normal: K blocks of KC, tiles loaded and stored.
   * None of this changes any element's fma chain. */
  const int transposed = p->c_cs != 1;
  RLVR_CHECK(!transposed || (p->c_rs == 1 && !p->accumulate));
  const int staged = transposed && p->K > MM_KC_T;
  const int KC = transposed && !staged ? p->K : MM_KC;
  const int NB = !transposed ? MM_NB : staged ? MM_NB_S : MM_NB_T;
  const int npan = (p->N + MM_NR - 1) / MM_NR;
  const int nib = (p->M + MM_MB - 1) / MM_MB, njb = (npan + NB - 1) / NB;
  const int ntask = nib * njb;
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1 && !omp_in_parallel())
  for (int t = 0; t < ntask; t++) {
    /* Consecutive tasks share a B block (jb), which then sits in L3 for both threads. */
    const int ib = t % nib, jb = t / nib;
    const int i0 = ib * MM_MB, i1 = imin(p->M, i0 + MM_MB);
    const int p0 = jb * NB, p1 = imin(npan, p0 + NB);
    const int j_lo = p0 * MM_NR, j_hi = imin(p->N, p1 * MM_NR);
    if (p->K == 0) { /* an empty sum: 0, or C unchanged */
      if (!p->accumulate)
        for (int i = i0; i < i1; i++)
          for (int j = j_lo; j < j_hi; j++) p->c[i * p->c_rs + j * p->c_cs] = 0;
      continue;
    }
    if (!transposed) {
      /* Panels outer, row tiles inner: each B micro-panel, copied into a
       * contiguous block (B's rows are apart by ldb floats, which can alias
       * in L1), serves all the task's row tiles from L1. */
      for (int k0 = 0; k0 < p->K; k0 += KC) {
        const int kc = imin(KC, p->K - k0);
        const int load_c = p->accumulate || k0 > 0;
        for (int pp = p0; pp < p1; pp++) {
          const int j0 = pp * MM_NR, nv = imin(MM_NR, p->N - j0);
          const float *src = p->b + (size_t)k0 * p->ldb + j0;
          for (int k = 0; k < kc; k++) {
            const float *srow = src + (size_t)k * p->ldb;
            float *drow = tl_b + (size_t)k * MM_NR;
#pragma omp simd
            for (int j = 0; j < MM_NR; j++) drow[j] = j < nv ? srow[j] : 0.0f;
          }
          for (int i = i0; i < i1; i += MM_MR) {
            const int mr = imin(MM_MR, i1 - i);
            const float *ap = p->a_cols ? p->a + (size_t)k0 * p->as + i : p->a + (size_t)i * p->as + k0;
            micro_dispatch(mr, nv, p->a_cols, kc, ap, p->as, tl_b, MM_NR, p->c + (ptrdiff_t)i * p->c_rs + j0, p->c_rs, 1,
                           load_c, NULL);
          }
        }
      }
      continue;
    }
    for (int k0 = 0; k0 < p->K; k0 += KC) {
      const int kc = imin(KC, p->K - k0);
      const int load_c = p->accumulate || k0 > 0;
      for (int i = i0; i < i1; i += MM_MR) {
        const int mr = imin(MM_MR, i1 - i);
        const float *ap = p->a_cols ? p->a + (size_t)k0 * p->as + i : p->a + (size_t)i * p->as + k0;
        const float *next_a = !p->a_cols && i + MM_MR < p->M ? ap + MM_MR * p->as : NULL;
        for (int pp = p0; pp < p1; pp++) {
          const int j0 = pp * MM_NR, nv = imin(MM_NR, p->N - j0);
          const float *bp;
          ptrdiff_t ldb;
          if (p->b_packed) {
            bp = p->b + (size_t)pp * p->K * MM_NR + (size_t)k0 * MM_NR;
            ldb = MM_NR;
          } else {
            bp = p->b + (size_t)k0 * p->ldb + j0;
            ldb = p->ldb;
          }
          const float *pf = pp == p0 ? next_a : NULL;
          if (staged)
            micro_dispatch(mr, nv, p->a_cols, kc, ap, p->as, bp, ldb, tl_stage + (size_t)(i - i0) * STAGE_LD + (j0 - j_lo),
                           STAGE_LD, 1, load_c, pf);
          else
            micro_dispatch(mr, nv, p->a_cols, kc, ap, p->as, bp, ldb,
                           p->c + (ptrdiff_t)i * p->c_rs + (ptrdiff_t)j0 * p->c_cs, p->c_rs, p->c_cs, load_c, pf);
        }
      }
    }
    if (staged) /* Y[j][i0..i1) = stage[0..i1-i0)[j - j_lo], contiguous in Y */
      for (int j = j_lo; j < j_hi; j++) {
        float *y = p->c + i0 + (ptrdiff_t)j * p->c_cs;
        const float *st = tl_stage + (j - j_lo);
        for (int i = 0; i < i1 - i0; i++) y[i] = st[(size_t)i * STAGE_LD];
      }
  }
}

size_t rlvr_linear_scratch(int M, int K) {
  return (size_t)((M + MM_NR - 1) / MM_NR) * MM_NR * (size_t)K;
}

/* X (M, K) -> panels of NR tokens: dst[p*K*NR + k*NR + jj] = X[(p*NR + jj)*K + k],
 * zero past M. */
static void pack_transposed(float *dst, const float *X, int M, int K) {
  const int npan = (M + MM_NR - 1) / MM_NR;
#pragma omp parallel for schedule(static) if (npan > 1)
  for (int pnl = 0; pnl < npan; pnl++) {
    float *d = dst + (size_t)pnl * K * MM_NR;
    const int m0 = pnl * MM_NR, nm = imin(MM_NR, M - m0);
    for (int jj = 0; jj < nm; jj++) {
      const float *x = X + (size_t)(m0 + jj) * K;
      for (int k = 0; k < K; k++) d[(size_t)k * MM_NR + jj] = x[k];
    }
    for (int jj = nm; jj < MM_NR; jj++)
      for (int k = 0; k < K; k++) d[(size_t)k * MM_NR + jj] = 0;
  }
}

void rlvr_linear_pack(float *scratch, const float *X, int M, int K) {
  if (M > 0) pack_transposed(scratch, X, M, K);
}

void rlvr_linear_forward(float *Y, const float *X, const float *W, const float *bias, int M, int N,
                         int K, float *scratch) {
  rlvr_linear_pack(scratch, X, M, K);
  rlvr_linear_forward_packed(Y, scratch, W, bias, M, N, K);
}

void rlvr_linear_forward_packed(float *Y, const float *packed, const float *W, const float *bias,
                                int M, int N, int K) {
  if (M <= 0) return;
  mm_problem p = {.a = W, .as = K, .a_cols = 0, .b = packed, .b_packed = 1, .c = Y, .c_rs = 1,
                  .c_cs = N, .M = N, .N = M, .K = K, .accumulate = 0};
  mm_run(&p);
  if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)M * N > 65536)
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++) Y[(size_t)m * N + n] += bias[n];
  }
}

void rlvr_linear_backward_x(float *dX, const float *dY, const float *W, int M, int N, int K,
                            int accumulate) {
  mm_problem p = {.a = dY, .as = N, .a_cols = 0, .b = W, .ldb = K, .b_packed = 0, .c = dX,
                  .c_rs = K, .c_cs = 1, .M = M, .N = K, .K = N, .accumulate = accumulate};
  mm_run(&p);
}

void rlvr_linear_backward_w(float *dW, float *db, const float *dY, const float *X, int M, int N,
                            int K) {
  mm_problem p = {.a = dY, .as = N, .a_cols = 1, .b = X, .ldb = K, .b_packed = 0, .c = dW,
                  .c_rs = K, .c_cs = 1, .M = N, .N = K, .K = M, .accumulate = 1};
  mm_run(&p);
  if (db) {
    /* Each thread owns a range of outputs and adds the rows in order. */
#pragma omp parallel for schedule(static) if ((size_t)M * N > 65536)
    for (int n0 = 0; n0 < N; n0 += 64) {
      const int n1 = imin(N, n0 + 64);
      for (int m = 0; m < M; m++)
        for (int n = n0; n < n1; n++) db[n] += dY[(size_t)m * N + n];
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Fixed-order reductions and exp                                            */
/* ------------------------------------------------------------------------ */

/* Combines 16 partial sums by one fixed tree: (0+8, 1+9, ...), then halves. */
static inline float tree16(float *acc) {
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) acc[l] += acc[l + w];
  return acc[0];
}

static inline float sum16(const float *x, int n) {
  float acc[16] = {0};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++) acc[l] += x[i + l];
  for (int l = 0; i + l < n; l++) acc[l] += x[i + l];
  return tree16(acc);
}

static inline float dot16(const float *x, const float *y, int n) {
  float acc[16] = {0};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++) acc[l] += x[i + l] * y[i + l];
  for (int l = 0; i + l < n; l++) acc[l] += x[i + l] * y[i + l];
  return tree16(acc);
}

float rlvr_sum_fixed(const float *x, int n) { return sum16(x, n); }

/* e^x = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
 * (ln 2 split in two so that n * LN2_HI is exact), e^r by its Taylor
 * polynomial to degree 7 (remainder < 6e-9 relative), 2^n by the exponent
 * bits. Only IEEE operations the compiler performs identically in scalar and
 * vector code (no library call, no fused multiply-add). */
static inline float expf_fixed(float x) {
  const float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  const float ROUND = 12582912.0f; /* 1.5 * 2^23: adding and subtracting it rounds to an integer */
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * LOG2E + ROUND) - ROUND;
  const float r = (x - n * LN2_HI) - n * LN2_LO;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  /* NaN in, NaN out (through p); the exponent bits from a NaN n would be
   * undefined behaviour (a float-to-int conversion, then a shift of a
   * negative value), so a NaN n counts as 0 there: the same select in
   * scalar and vector code, no change for any other input. */
  const float nn = n == n ? n : 0.0f;
  const uint32_t bits = (uint32_t)((int32_t)nn + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

float rlvr_expf(float x) { return expf_fixed(x); }

/* ------------------------------------------------------------------------ */
/* RMSNorm                                                                   */
/* ------------------------------------------------------------------------ */

void rlvr_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int N, int C,
                          float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > 32768)
  for (int n = 0; n < N; n++) {
    const float *xr = x + (size_t)n * C;
    float *yr = y + (size_t)n * C;
    const float ms = dot16(xr, xr, C) / (float)C;
    const float r = 1.0f / sqrtf(ms + eps);
#pragma omp simd
    for (int c = 0; c < C; c++) yr[c] = (xr[c] * r) * w[c];
    if (rstd) rstd[n] = r;
  }
}

void rlvr_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const float *rstd, int N, int C) {
  /* dx_c = r (dy_c w_c - xhat_c mean_j(dy_j w_j xhat_j)),  xhat = x r. */
#pragma omp parallel for schedule(static) if ((size_t)N * C > 32768)
  for (int n = 0; n < N; n++) {
    const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
    float *dxr = dx + (size_t)n * C;
    const float r = rstd[n];
    float acc[16] = {0};
    for (int c = 0; c < C; c++) acc[c & 15] += dyr[c] * w[c] * (xr[c] * r);
    const float mean = tree16(acc) / (float)C;
    for (int c = 0; c < C; c++) dxr[c] += r * (dyr[c] * w[c] - (xr[c] * r) * mean);
  }
  /* dw_c = sum_n dy_nc xhat_nc; threads own channel ranges. */
#pragma omp parallel for schedule(static) if ((size_t)N * C > 32768)
  for (int c0 = 0; c0 < C; c0 += 64) {
    const int c1 = imin(C, c0 + 64);
    for (int n = 0; n < N; n++) {
      const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
      const float r = rstd[n];
      for (int c = c0; c < c1; c++) dw[c] += dyr[c] * (xr[c] * r);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* RoPE                                                                      */
/* ------------------------------------------------------------------------ */

void rlvr_rope_table(float *cos_t, float *sin_t, int max_pos, int D, double theta) {
  const int half = D / 2;
  for (int d = 0; d < half; d++) {
    /* transformers: 1.0 / (base ** (arange(0, D, 2).float() / D)), in float32 */
    const float expo = (float)(2 * d) / (float)D;
    const float inv_freq = (float)(1.0 / (double)powf((float)theta, expo));
    for (int p = 0; p < max_pos; p++) {
      const float angle = (float)p * inv_freq; /* float32 product, as its matmul */
      cos_t[(size_t)p * half + d] = (float)cos((double)angle);
      sin_t[(size_t)p * half + d] = (float)sin((double)angle);
    }
  }
}

void rlvr_rope_apply(float *x, int N, int ld, int n_heads, int D, const int *pos,
                     const float *cos_t, const float *sin_t, int inverse) {
  const int half = D / 2;
#pragma omp parallel for schedule(static) if ((size_t)N * ld > 32768)
  for (int n = 0; n < N; n++) {
    const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
    for (int h = 0; h < n_heads; h++) {
      float *x1 = x + (size_t)n * ld + (size_t)h * D, *x2 = x1 + half;
#pragma omp simd
      for (int d = 0; d < half; d++) {
        const float a = x1[d], b = x2[d];
        if (!inverse) { /* (a, b) -> (a cos - b sin, b cos + a sin) */
          x1[d] = a * cs[d] - b * sn[d];
          x2[d] = b * cs[d] + a * sn[d];
        } else { /* the transpose of that rotation */
          x1[d] = a * cs[d] + b * sn[d];
          x2[d] = b * cs[d] - a * sn[d];
        }
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* SwiGLU                                                                    */
/* ------------------------------------------------------------------------ */

void rlvr_swiglu_forward(float *act, const float *gate, const float *up, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) {
    const float g = gate[i];
    act[i] = (g / (1.0f + expf_fixed(-g))) * up[i];
  }
}

void rlvr_swiglu_backward(float *dgate, float *dup, const float *dact, const float *gate,
                          const float *up, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) {
    const float g = gate[i];
    const float s = 1.0f / (1.0f + expf_fixed(-g));
    dgate[i] = dact[i] * up[i] * (s * (1.0f + g * (1.0f - s)));
    dup[i] = dact[i] * (g * s);
  }
}

/* ------------------------------------------------------------------------ */
/* Log-softmax over the vocabulary                                           */
/* ------------------------------------------------------------------------ */

void rlvr_logsoftmax_row(const float *z, int V, float *lse, float *entropy, float *scratch) {
  /* max is exact: any order gives the same m */
  float m = z[0];
#pragma omp simd reduction(max : m)
  for (int j = 1; j < V; j++) m = z[j] > m ? z[j] : m;
#pragma omp simd
  for (int j = 0; j < V; j++) scratch[j] = expf_fixed(z[j] - m);
  const float S = sum16(scratch, V);
  const float logS = logf(S);
  if (lse) *lse = m + logS;
  if (entropy) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= V; j += 16)
      for (int l = 0; l < 16; l++) acc[l] += scratch[j + l] * (z[j + l] - m);
    for (int l = 0; j + l < V; l++) acc[l] += scratch[j + l] * (z[j + l] - m);
    *entropy = logS - tree16(acc) / S;
  }
}

void rlvr_logsoftmax_row_backward(float *z, int V, float lse, float entropy, int target, float w,
                                  float u) {
#pragma omp simd
  for (int j = 0; j < V; j++) {
    const float lp = z[j] - lse;
    const float p = expf_fixed(lp);
    z[j] = -w * p - u * p * (lp + entropy);
  }
  if (target >= 0) z[target] += w;
}

/* ------------------------------------------------------------------------ */
/* Attention                                                                 */
/* ------------------------------------------------------------------------ */

/* Attention runs on the product micro-kernel: the keys are stored
 * transposed (kt, one row of positions per (kv head, dim)) so that the
 * scores of one query against 32 keys are a register tile, S = Q Kt, each
 * score one fma chain over d; the values are rows, O = E V, each output one
 * fma chain over the keys in order. Neither depends on how many keys or
 * queries are around, so the per-row exactness of kernels.h holds. */

enum { ATT_TQ = 64 }; /* query tile of the backward */

size_t rlvr_attention_scratch(int max_pos, int D) {
  const size_t ld = (size_t)(max_pos + MM_NR - 1) / MM_NR * MM_NR;
  const size_t fwd = (size_t)MM_MR * ld + (size_t)D * MM_NR, bwd = 2 * (size_t)ATT_TQ * ld;
  return fwd > bwd ? fwd : bwd;
}

/* C (M, N) = A (M, K) B (K, N) (or +=) on one thread, all row-major with
 * the given leading dimensions; A may be read transposed (a_cols). */
static void mm_small(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t as, int a_cols, const float *b,
                     ptrdiff_t ldb, int M, int N, int K, int accumulate) {
  mm_problem p = {.a = a, .as = as, .a_cols = a_cols, .b = b, .ldb = ldb, .b_packed = 0, .c = c, .c_rs = ldc,
                  .c_cs = 1, .M = M, .N = N, .K = K, .accumulate = accumulate};
  mm_run(&p);
}

void rlvr_attention_forward(float *out, float *lse, const float *q, const rlvr_kv_view *kv, int N,
                            const int *pos, const size_t *seq_col, int H, int KVH, int D,
                            int max_pos, float *scratch) {
  const int HD = H * D, G = H / KVH, kvd = kv->kv_dim;
  const int nchunk = (G + MM_MR - 1) / MM_MR; /* query heads of a group, MR at a time */
  const float scale = (float)(1.0 / sqrt((double)D));
  const ptrdiff_t ldS = (ptrdiff_t)((max_pos + MM_NR - 1) / MM_NR * MM_NR);
  const int ntask = N * KVH * nchunk;
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
  for (int task = 0; task < ntask; task++) {
    const int i = task / (KVH * nchunk), g = task / nchunk % KVH, hc = task % nchunk;
    const int h0 = g * G + hc * MM_MR, mr = imin(MM_MR, (g + 1) * G - h0);
    const int n = pos[i] + 1;
    const size_t c0 = seq_col[i];
    float *S = scratch + (size_t)omp_get_thread_num() * rlvr_attention_scratch(max_pos, D);
    float *tile = S + (size_t)MM_MR * ldS; /* (D, NR) keys transposed, for a row store */
    const float *qh = q + (size_t)i * HD + (size_t)h0 * D;
    /* S (mr, n) = q (mr, D) . Kt (D, n) */
    for (int j0 = 0; j0 < n; j0 += MM_NR) {
      const int nv = imin(MM_NR, n - j0);
      if (kv->kt) {
        micro_dispatch(mr, nv, 0, D, qh, D, kv->kt + (size_t)g * D * kv->ld + c0 + j0, (ptrdiff_t)kv->ld, S + j0, ldS, 1,
                       0, NULL);
      } else {
        for (int jj = 0; jj < nv; jj++) {
          const float *kr = kv->k + (c0 + j0 + jj) * kvd + (size_t)g * D;
          for (int d = 0; d < D; d++) tile[d * MM_NR + jj] = kr[d];
        }
        micro_dispatch(mr, nv, 0, D, qh, D, tile, MM_NR, S + j0, ldS, 1, 0, NULL);
      }
    }
    float sums[MM_MR];
    for (int r = 0; r < mr; r++) {
      float *s = S + r * ldS;
      float m = -INFINITY;
#pragma omp simd reduction(max : m)
      for (int j = 0; j < n; j++) {
        s[j] = s[j] * scale;
        m = s[j] > m ? s[j] : m;
      }
#pragma omp simd
      for (int j = 0; j < n; j++) s[j] = expf_fixed(s[j] - m);
      sums[r] = sum16(s, n);
      if (lse) lse[(size_t)i * H + h0 + r] = m + logf(sums[r]);
    }
    /* O (mr, D) = E (mr, n) . V (n, D), then / sum */
    float *o = out + (size_t)i * HD + (size_t)h0 * D;
    const float *v = kv->v + c0 * kvd + (size_t)g * D;
    for (int d0 = 0; d0 < D; d0 += MM_NR)
      micro_dispatch(mr, imin(MM_NR, D - d0), 0, n, S, ldS, v + d0, kvd, o + d0, D, 1, 0, NULL);
    for (int r = 0; r < mr; r++)
      for (int d = 0; d < D; d++) o[r * D + d] /= sums[r];
  }
}

void rlvr_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                             const float *k, const float *kt, const float *vt, size_t ld,
                             const float *out, const float *lse, int B, const int *off,
                             const int *len, int H, int KVH, int D, int max_len, float *scratch) {
  /* Per (sequence, query head), query tiles of TQ rows against keys 0..t1-1:
   *   S = Q Kt,  P = e^(scale S - lse) (0 above the diagonal),  dP = dO Vt,
   *   dS = P (dP - rowsum(dO * O)) scale,
   *   dQ = dS K,  dK += dS^T Q,  dV += P^T dO.
   * One task per (sequence, kv head): it owns that head's dk, dv rows and
   * the dq of the query heads reading it, so no two threads write one float. */
  const int HD = H * D, KD = KVH * D, G = H / KVH;
  const float scale = (float)(1.0 / sqrt((double)D));
  const ptrdiff_t ldP = (ptrdiff_t)((max_len + MM_NR - 1) / MM_NR * MM_NR);
  const int ntask = B * KVH;
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
  for (int task = 0; task < ntask; task++) {
    const int b = task / KVH, g = task % KVH, T = len[b];
    const size_t r0 = (size_t)off[b];
    float *P = scratch + (size_t)omp_get_thread_num() * rlvr_attention_scratch(max_len, D), *dP = P + ATT_TQ * ldP;
    float *dkg = dk + r0 * KD + (size_t)g * D, *dvg = dv + r0 * KD + (size_t)g * D;
    for (int t = 0; t < T; t++) {
      memset(dkg + (size_t)t * KD, 0, sizeof(float) * D);
      memset(dvg + (size_t)t * KD, 0, sizeof(float) * D);
    }
    const float *ktg = kt + (size_t)g * D * ld + r0, *vtg = vt + (size_t)g * D * ld + r0;
    const float *kg = k + r0 * KD + (size_t)g * D;
    for (int h = g * G; h < (g + 1) * G; h++) {
      for (int t0 = 0; t0 < T; t0 += ATT_TQ) {
        const int nq = imin(ATT_TQ, T - t0), nk = t0 + nq;
        const float *qt = q + (r0 + t0) * HD + (size_t)h * D, *dot = dout + (r0 + t0) * HD + (size_t)h * D;
        mm_small(P, ldP, qt, HD, 0, ktg, (ptrdiff_t)ld, nq, nk, D, 0);
        mm_small(dP, ldP, dot, HD, 0, vtg, (ptrdiff_t)ld, nq, nk, D, 0);
        for (int r = 0; r < nq; r++) {
          const size_t row = r0 + t0 + r;
          const float l = lse[row * H + h];
          const float Dt = dot16(dout + row * HD + (size_t)h * D, out + row * HD + (size_t)h * D, D);
          float *p = P + r * ldP, *dp = dP + r * ldP;
          const int nj = t0 + r + 1; /* causal: keys 0 .. t0+r */
#pragma omp simd
          for (int j = 0; j < nj; j++) {
            p[j] = expf_fixed(p[j] * scale - l);
            dp[j] = p[j] * (dp[j] - Dt) * scale;
          }
          for (int j = nj; j < nk; j++) p[j] = dp[j] = 0;
        }
        mm_small(dq + (r0 + t0) * HD + (size_t)h * D, HD, dP, ldP, 0, kg, KD, nq, D, nk, 0);
        mm_small(dkg, KD, dP, ldP, 1, qt, HD, nk, D, nq, 1);
        mm_small(dvg, KD, P, ldP, 1, dot, HD, nk, D, nq, 1);
      }
    }
  }
}
