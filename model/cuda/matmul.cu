/* matmul.cu — the linear layers' products on cuBLASLt; see ops.h.
 * Status: compiled, not yet run on a GPU.
 *
 * cuBLASLt is column-major; our tensors are row-major. A row-major (R, C)
 * matrix is the column-major (C, R) matrix with leading dimension C, its
 * transpose. So, writing Xc for the column-major view of X:
 *   forward  Y (M,N) = X W^T       Yc (N x M) = Wc^T (N x K) · Xc (K x M)
 *   dX       dX (M,K) = dY W       dXc (K x M) = Wc (K x N) · dYc (N x M)
 *   dW       dW (N,K) += dY^T X    dWc (K x N) = Xc (K x M) · dYc^T (M x N)
 * All products accumulate in float32 (CUBLAS_COMPUTE_32F: no TF32 on float
 * inputs, so float32 results compare with the CPU at float32 tolerances).
 * The weight gradient is float32 whatever the inputs (fp32 gradients).
 * Should cuBLASLt's heuristic offer no algorithm for a shape (odd leading
 * dimensions of bf16, say), the product falls back to cublasGemmEx, same
 * types and compute, with the bias added by a kernel; so is a bias that is
 * not 16-byte aligned (a layer's slice of a bf16 bias may not be), then
 * added to the rounded product: one more rounding in bf16. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <stdint.h>

#include "model/cuda/cuda_common.h"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

static cudaDataType_t cuda_type(rlvr_dtype dt) { return dt == RLVR_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

/* The largest power of two (<= 256) dividing the address: cuBLASLt's
 * heuristic assumes 256-byte aligned buffers unless told, and a weight slice
 * of one layer may be less aligned. */
static uint32_t alignment_of(const void *p) {
  uintptr_t a = (uintptr_t)p;
  uint32_t al = 256;
  while (al > 1 && (a & (al - 1))) al >>= 1;
  return al;
}

/* D (m x n, column-major, ldd) += bias (m) per row: the fallback's epilogue. */
template <typename T>
__global__ void bias_fwd_kernel1(T *D, const T *bias, int m, int n, int ldd) {
  const size_t total = (size_t)m * n;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const int r = (int)(i % m);
    const size_t at = (i / m) * (size_t)ldd + r;
    stf(D, at, ldf(D, at) + ldf(bias, r));
  }
}

/* D += bias per row (m), by a kernel: the fallback's epilogue. */
static void add_bias(rlvr_cuda_context *ctx, void *D, const void *bias, int m, int n, int ldd, cudaDataType_t dd) {
  size_t blocks = CEIL_DIV((size_t)m * n, (size_t)256);
  if (blocks > 65536) blocks = 65536;
  if (dd == CUDA_R_16BF)
    bias_fwd_kernel1<bf16><<<(unsigned)blocks, 256, 0, ctx->stream>>>((bf16 *)D, (const bf16 *)bias, m, n, ldd);
  else
    bias_fwd_kernel1<float><<<(unsigned)blocks, 256, 0, ctx->stream>>>((float *)D, (const float *)bias, m, n, ldd);
  CUDA_CHECK(cudaGetLastError());
}

static void gemmex_fallback(rlvr_cuda_context *ctx, void *D, const void *A, const void *Bm, const void *bias, int m,
                            int n, int k, int transA, int transB, int lda, int ldb, int ldd, float beta,
                            cudaDataType_t ab, cudaDataType_t dd) {
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmEx((cublasHandle_t)ctx->blas, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                            transB ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A, ab, lda, Bm, ab, ldb, &beta, D, dd,
                            ldd, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  CUDA_CHECK(cudaGetLastError());
  if (bias) add_bias(ctx, D, bias, m, n, ldd, dd);
}

/* D (m x n, column-major, ldd) = alpha op(A) op(B) + beta D (+ bias (m)),
 * op(A) m x k, op(B) k x n. A and B of type ab, D (and bias) of type dd. */
static void lt_matmul(rlvr_cuda_context *ctx, void *D, const void *A, const void *Bm, const void *bias,
                      int m, int n, int k, int transA, int transB, int lda, int ldb, int ldd, float beta,
                      cudaDataType_t ab, cudaDataType_t dd) {
  if (m <= 0 || n <= 0) return;
  RLVR_CHECK(k > 0, "matmul with k = %d", k);
  cublasLtHandle_t lt = (cublasLtHandle_t)ctx->lt;
  cublasLtMatmulDesc_t op;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = transA ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  /* The bias epilogue only for a 16-byte aligned bias (a layer's slice of
   * the parameters need not be; the alignment cuBLASLt demands of it is not
   * documented as queryable): otherwise a kernel adds it after the product. */
  const void *epi_bias = bias && alignment_of(bias) >= 16 ? bias : NULL;
  if (epi_bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &epi_bias, sizeof epi_bias));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &dd, sizeof dd));
  }
  /* Stored shapes (rows x cols, column-major) before op(). */
  cublasLtMatrixLayout_t la, lb, ld;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, ab, transA ? k : m, transA ? m : k, lda));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, ab, transB ? n : k, transB ? k : n, ldb));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ld, dd, m, n, ldd));

  cublasLtMatmulPreference_t pref;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &ctx->workspace_size, sizeof ctx->workspace_size));
  const uint32_t al_a = alignment_of(A), al_b = alignment_of(Bm), al_d = alignment_of(D);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d, sizeof al_d));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d));
  cublasLtMatmulHeuristicResult_t heur;
  int found = 0;
  const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 1, &heur, &found);
  if (hs == CUBLAS_STATUS_SUCCESS && found > 0) {
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasLtMatmul(lt, op, &alpha, A, la, Bm, lb, &beta, D, ld, D, ld, &heur.algo, ctx->workspace,
                                ctx->workspace_size, ctx->stream));
    CUDA_CHECK(cudaGetLastError());
    if (bias && !epi_bias) add_bias(ctx, D, bias, m, n, ldd, dd);
  } else {
    gemmex_fallback(ctx, D, A, Bm, bias, m, n, k, transA, transB, lda, ldb, ldd, beta, ab, dd);
  }
  CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(ld));
  CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(lb));
  CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(la));
  CUBLAS_CHECK(cublasLtMatmulDescDestroy(op));
}

extern "C" void rlvr_cuda_linear_forward(rlvr_cuda_context *ctx, void *Y, const void *X, const void *W,
                                         const void *bias, int M, int N, int K, rlvr_dtype dt) {
  /* Yc (N x M) = Wc^T · Xc: A = Wc stored K x N (ld K), transposed; B = Xc K x M (ld K). */
  lt_matmul(ctx, Y, W, X, bias, N, M, K, 1, 0, K, K, N, 0.0f, cuda_type(dt), cuda_type(dt));
}

extern "C" void rlvr_cuda_linear_forward_f32out(rlvr_cuda_context *ctx, float *Y, const void *X, const void *W,
                                                int M, int N, int K, rlvr_dtype dt) {
  /* as rlvr_cuda_linear_forward, with a float32 D (bf16 A and B, fp32 C/D and
   * compute: one of cuBLASLt's supported combinations, as in the dW product) */
  lt_matmul(ctx, Y, W, X, NULL, N, M, K, 1, 0, K, K, N, 0.0f, cuda_type(dt), CUDA_R_32F);
}

extern "C" void rlvr_cuda_linear_backward_x(rlvr_cuda_context *ctx, void *dX, const void *dY, const void *W,
                                            int M, int N, int K, int accumulate, rlvr_dtype dt) {
  /* dXc (K x M) = Wc (K x N, ld K) · dYc (N x M, ld N). */
  lt_matmul(ctx, dX, W, dY, NULL, K, M, N, 0, 0, K, N, K, accumulate ? 1.0f : 0.0f, cuda_type(dt),
            cuda_type(dt));
}

/* ---- bias gradient: column sums of dY (M, N), deterministic ---- */

enum { COLSUM_ROWS = 256 }; /* rows per partial sum */

/* partial[chunk][n] = sum of dY[m][n] over the chunk's rows, in row order.
 * Threads own columns (coalesced across a row). */
template <typename T>
__global__ void colsum_bwd_kernel1(float *partial, const T *dY, int M, int N) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
  if (n >= N) return;
  const int m0 = chunk * COLSUM_ROWS, m1 = min(M, m0 + COLSUM_ROWS);
  float s = 0.0f;
  for (int m = m0; m < m1; m++) s += ldf(dY, (size_t)m * N + n);
  partial[(size_t)chunk * N + n] = s;
}

/* out[n] += sum over chunks in order. */
__global__ void colsum_finish_kernel1(float *out, const float *partial, int nchunk, int N) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= N) return;
  float s = 0.0f;
  for (int c = 0; c < nchunk; c++) s += partial[(size_t)c * N + n];
  out[n] += s;
}

extern "C" size_t rlvr_cuda_colsum_scratch(int M, int N) {
  return (size_t)CEIL_DIV(M, COLSUM_ROWS) * (size_t)N;
}

extern "C" void rlvr_cuda_linear_backward_w(rlvr_cuda_context *ctx, float *dW, float *db, float *scratch,
                                            const void *dY, const void *X, int M, int N, int K, rlvr_dtype dt) {
  if (M <= 0) return;
  /* dWc (K x N, ld K) += Xc (K x M, ld K) · dYc^T (dYc stored N x M, ld N). */
  lt_matmul(ctx, dW, X, dY, NULL, K, N, M, 0, 1, K, N, K, 1.0f, cuda_type(dt), CUDA_R_32F);
  if (db) {
    RLVR_CHECK(scratch != NULL, "bias gradient needs scratch");
    const int nchunk = CEIL_DIV(M, COLSUM_ROWS), block = 256;
    dim3 grid(CEIL_DIV(N, block), nchunk);
    RLVR_DISPATCH_DTYPE(dt, T, colsum_bwd_kernel1<T><<<grid, block, 0, ctx->stream>>>(scratch, (const T *)dY, M, N));
    CUDA_CHECK(cudaGetLastError());
    colsum_finish_kernel1<<<CEIL_DIV(N, block), block, 0, ctx->stream>>>(db, scratch, nchunk, N);
    CUDA_CHECK(cudaGetLastError());
  }
}
