/* blas.cpp — cuBLASLt and cuBLAS (GemmEx) for the CPU emulation.
 *
 * Column-major products D = alpha op(A) op(B) + beta C (+ bias per row),
 * float32 or bf16 storage, float32 compute: op(A) and op(B) are first
 * converted to float rows (k contiguous), then every element of D is one
 * dot product summed in k order. beta == 0 does not read C (BLAS rule: C
 * may hold garbage, and device memory starts as NaN here).
 *
 * What cuBLASLt would refuse is refused the same way, with a message:
 * shapes that do not match, leading dimensions below the rows, type
 * combinations outside the ones rlvr relies on, compute types other than
 * float32, operands outside device memory. */
#include <stdio.h>
#include <string.h>

#include <vector>

#include "cublasLt.h"
#include "cublas_v2.h"
#include "cuda_bf16.h"
#include "internal.h"

struct cudasim_lt {
  int unused;
};
struct cudasim_cublas {
  cudaStream_t stream;
};
struct cudasim_lt_desc {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  cublasOperation_t ta, tb;
  cublasLtEpilogue_t epilogue;
  const void *bias;
  cudaDataType_t bias_type;
  bool bias_type_set;
};
struct cudasim_lt_layout {
  cudaDataType_t type;
  uint64_t rows, cols;
  int64_t ld;
};
struct cudasim_lt_pref {
  size_t workspace;
};

namespace {

cublasStatus_t bad(cublasStatus_t st, const char *fmt, const char *what, long long a = 0, long long b = 0,
                   long long c = 0) {
  fprintf(stderr, "cudasim (cuBLAS): ");
  fprintf(stderr, fmt, what, a, b, c);
  fprintf(stderr, "\n");
  return st;
}

size_t elem_size(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

float load(const void *p, cudaDataType_t t, size_t i) {
  if (t == CUDA_R_32F) return ((const float *)p)[i];
  uint16_t h;
  memcpy(&h, (const char *)p + 2 * i, 2);
  return cudasim_bf16_bits_to_float(h);
}

void store(void *p, cudaDataType_t t, size_t i, float v) {
  if (t == CUDA_R_32F) {
    ((float *)p)[i] = v;
  } else {
    const uint16_t h = cudasim_float_to_bf16_bits(v);
    memcpy((char *)p + 2 * i, &h, 2);
  }
}

struct product {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  const void *A, *B, *C;
  void *D;
  cudaDataType_t at, bt, ct, dt, biast;
  long long lda, ldb, ldc, ldd;
  const void *bias;
};

void run(const product &p) {
  /* op(A) as m rows of k, op(B)^T as n rows of k, in float */
  std::vector<float> a((size_t)p.m * p.k), b((size_t)p.n * p.k);
  for (int i = 0; i < p.m; i++)
    for (int kk = 0; kk < p.k; kk++)
      a[(size_t)i * p.k + kk] = load(p.A, p.at, p.ta ? (size_t)kk + (size_t)i * p.lda : (size_t)i + (size_t)kk * p.lda);
  for (int j = 0; j < p.n; j++)
    for (int kk = 0; kk < p.k; kk++)
      b[(size_t)j * p.k + kk] = load(p.B, p.bt, p.tb ? (size_t)j + (size_t)kk * p.ldb : (size_t)kk + (size_t)j * p.ldb);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < p.n; j++) {
    const float *bj = &b[(size_t)j * p.k];
    for (int i = 0; i < p.m; i++) {
      const float *ai = &a[(size_t)i * p.k];
      float acc = 0.0f;
      for (int kk = 0; kk < p.k; kk++) acc += ai[kk] * bj[kk];
      float v = p.alpha * acc;
      if (p.beta != 0.0f) v += p.beta * load(p.C, p.ct, (size_t)i + (size_t)j * p.ldc);
      if (p.bias) v += load(p.bias, p.biast, (size_t)i);
      store(p.D, p.dt, (size_t)i + (size_t)j * p.ldd, v);
    }
  }
}

bool supported_types(cudaDataType_t ab, cudaDataType_t d) {
  if (ab == CUDA_R_32F) return d == CUDA_R_32F;
  if (ab == CUDA_R_16BF) return d == CUDA_R_16BF || d == CUDA_R_32F;
  return false;
}

/* Elements a column-major rows x cols matrix with leading dimension ld spans. */
size_t span(long long rows, long long cols, long long ld) { return (size_t)((cols - 1) * ld + rows); }

cublasStatus_t check_operand(const char *name, const void *p, cudaDataType_t t, long long rows, long long cols,
                             long long ld) {
  if (ld < rows || ld < 1) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: leading dimension %lld below its %lld rows", name, ld, rows);
  if (p && !cudasim::device_range(p, span(rows, cols, ld) * elem_size(t)))
    return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: a %lld x %lld matrix (ld %lld) is not inside one device allocation",
               name, rows, cols, ld);
  return CUBLAS_STATUS_SUCCESS;
}

/* Shapes and types of an Lt product; p gets them (pointers are the caller's). */
cublasStatus_t lt_check(const cudasim_lt_desc *op, const cudasim_lt_layout *a, const cudasim_lt_layout *b,
                        const cudasim_lt_layout *c, const cudasim_lt_layout *d, product *p) {
  if (!op || !a || !b || !c || !d) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: a NULL descriptor", "cublasLtMatmul");
  if (op->compute != CUBLAS_COMPUTE_32F && op->compute != CUBLAS_COMPUTE_32F_FAST_16BF &&
      op->compute != CUBLAS_COMPUTE_32F_FAST_TF32)
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: compute type %lld (float32 compute only)", "cublasLtMatmul",
               (long long)op->compute);
  p->ta = op->ta != CUBLAS_OP_N;
  p->tb = op->tb != CUBLAS_OP_N;
  p->m = (int)d->rows;
  p->n = (int)d->cols;
  const long long am = p->ta ? a->cols : a->rows, ak = p->ta ? a->rows : a->cols;
  const long long bk = p->tb ? b->cols : b->rows, bn = p->tb ? b->rows : b->cols;
  if (am != p->m || bn != p->n || ak != bk || c->rows != d->rows || c->cols != d->cols)
    return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: shapes do not match: op(A) %lld x k, op(B) k x %lld, D %lld x n",
               "cublasLtMatmul", am, bn, p->m);
  p->k = (int)ak;
  if (a->type != b->type || c->type != d->type || !supported_types(a->type, d->type))
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: types A %lld, D %lld (A = B, C = D; f32->f32, bf16->bf16 or f32)",
               "cublasLtMatmul", (long long)a->type, (long long)d->type);
  p->at = a->type, p->bt = b->type, p->ct = c->type, p->dt = d->type;
  p->lda = a->ld, p->ldb = b->ld, p->ldc = c->ld, p->ldd = d->ld;
  p->bias = nullptr;
  if (op->epilogue == CUBLASLT_EPILOGUE_BIAS) {
    if (!op->bias) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: bias epilogue without a bias pointer", "cublasLtMatmul");
    p->bias = op->bias;
    p->biast = op->bias_type_set ? op->bias_type : d->type;
    if (p->biast != CUDA_R_32F && p->biast != CUDA_R_16BF)
      return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: bias type %lld", "cublasLtMatmul", (long long)p->biast);
  } else if (op->epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: epilogue %lld", "cublasLtMatmul", (long long)op->epilogue);
  }
  cublasStatus_t st;
  if ((st = check_operand("A", nullptr, a->type, a->rows, a->cols, a->ld))) return st;
  if ((st = check_operand("B", nullptr, b->type, b->rows, b->cols, b->ld))) return st;
  if ((st = check_operand("C", nullptr, c->type, c->rows, c->cols, c->ld))) return st;
  return check_operand("D", nullptr, d->type, d->rows, d->cols, d->ld);
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
  *h = new cudasim_lt{0};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
  if (scale != CUDA_R_32F) return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: scale type %lld (float only)", "cublasLtMatmulDescCreate", (long long)scale);
  *d = new cudasim_lt_desc{compute, scale, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT, nullptr, CUDA_R_32F, false};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
  delete d;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size) {
  switch (attr) {
  case CUBLASLT_MATMUL_DESC_TRANSA:
    if (size != sizeof(cublasOperation_t)) break;
    memcpy(&d->ta, buf, size);
    return CUBLAS_STATUS_SUCCESS;
  case CUBLASLT_MATMUL_DESC_TRANSB:
    if (size != sizeof(cublasOperation_t)) break;
    memcpy(&d->tb, buf, size);
    return CUBLAS_STATUS_SUCCESS;
  case CUBLASLT_MATMUL_DESC_EPILOGUE:
    if (size != sizeof(cublasLtEpilogue_t)) break;
    memcpy(&d->epilogue, buf, size);
    return CUBLAS_STATUS_SUCCESS;
  case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
    if (size != sizeof(void *)) break;
    memcpy(&d->bias, buf, size);
    return CUBLAS_STATUS_SUCCESS;
  case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
    if (size != sizeof(cudaDataType_t)) break;
    memcpy(&d->bias_type, buf, size);
    d->bias_type_set = true;
    return CUBLAS_STATUS_SUCCESS;
  default:
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: attribute %lld not emulated", "cublasLtMatmulDescSetAttribute", (long long)attr);
  }
  return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: attribute %lld given %lld bytes", "cublasLtMatmulDescSetAttribute",
             (long long)attr, (long long)size);
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t type, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
  *l = new cudasim_lt_layout{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
  delete l;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
  *p = new cudasim_lt_pref{0};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
  delete p;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t size) {
  if (attr == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES) {
    if (size != sizeof(uint64_t) && size != sizeof(size_t))
      return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: workspace size given in %lld bytes", "cublasLtMatmulPreferenceSetAttribute", (long long)size);
    memcpy(&p->workspace, buf, sizeof(size_t));
    return CUBLAS_STATUS_SUCCESS;
  }
  if (attr >= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES && attr <= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES) {
    if (size != sizeof(uint32_t))
      return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: an alignment given in %lld bytes", "cublasLtMatmulPreferenceSetAttribute", (long long)size);
    return CUBLAS_STATUS_SUCCESS;
  }
  if (attr == CUBLASLT_MATMUL_PREF_SEARCH_MODE) return CUBLAS_STATUS_SUCCESS;
  return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: attribute %lld not emulated", "cublasLtMatmulPreferenceSetAttribute", (long long)attr);
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                              cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t *results, int *found) {
  (void)pref;
  *found = 0;
  if (!h || requested < 1 || !results) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: bad arguments", "cublasLtMatmulAlgoGetHeuristic");
  product p;
  cublasStatus_t st = lt_check(op, a, b, c, d, &p);
  if (st) return st;
  memset(&results[0], 0, sizeof results[0]);
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *found = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspace_size, cudaStream_t stream) {
  (void)algo, (void)workspace, (void)workspace_size;
  if (!h || !alpha || !beta) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL handle or scalars", "cublasLtMatmul");
  product p;
  cublasStatus_t st = lt_check(op, Adesc, Bdesc, Cdesc, Ddesc, &p);
  if (st) return st;
  memcpy(&p.alpha, alpha, sizeof(float));
  memcpy(&p.beta, beta, sizeof(float));
  p.A = A, p.B = B, p.C = C, p.D = D;
  if ((st = check_operand("A", A, Adesc->type, Adesc->rows, Adesc->cols, Adesc->ld))) return st;
  if ((st = check_operand("B", B, Bdesc->type, Bdesc->rows, Bdesc->cols, Bdesc->ld))) return st;
  if (p.beta != 0.0f && (st = check_operand("C", C, Cdesc->type, Cdesc->rows, Cdesc->cols, Cdesc->ld))) return st;
  if ((st = check_operand("D", D, Ddesc->type, Ddesc->rows, Ddesc->cols, Ddesc->ld))) return st;
  if (p.bias && !cudasim::device_range(p.bias, (size_t)p.m * elem_size(p.biast)))
    return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: the bias (%lld elements) is not inside one device allocation", "cublasLtMatmul", p.m);
  if (p.m > 0 && p.n > 0) cudasim::issue_op(stream, [p]() { run(p); });
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasCreate(cublasHandle_t *h) {
  *h = new cudasim_cublas{nullptr};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType_t Atype, int lda, const void *B,
                            cudaDataType_t Btype, int ldb, const void *beta, void *C, cudaDataType_t Ctype, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  (void)algo;
  if (!h || m < 0 || n < 0 || k < 0) return bad(CUBLAS_STATUS_INVALID_VALUE, "%s: m %lld n %lld k", "cublasGemmEx", m, n, k);
  if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_16BF && compute != CUBLAS_COMPUTE_32F_FAST_TF32)
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: compute type %lld", "cublasGemmEx", (long long)compute);
  if (Atype != Btype || !supported_types(Atype, Ctype))
    return bad(CUBLAS_STATUS_NOT_SUPPORTED, "%s: types A %lld C %lld", "cublasGemmEx", (long long)Atype, (long long)Ctype);
  product p;
  p.ta = transa != CUBLAS_OP_N, p.tb = transb != CUBLAS_OP_N;
  p.m = m, p.n = n, p.k = k;
  memcpy(&p.alpha, alpha, sizeof(float));
  memcpy(&p.beta, beta, sizeof(float));
  p.A = A, p.B = B, p.C = C, p.D = C;
  p.at = Atype, p.bt = Btype, p.ct = Ctype, p.dt = Ctype;
  p.lda = lda, p.ldb = ldb, p.ldc = ldc, p.ldd = ldc;
  p.bias = nullptr;
  p.biast = CUDA_R_32F;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  cublasStatus_t st;
  if ((st = check_operand("A", A, Atype, p.ta ? k : m, p.ta ? m : k, lda))) return st;
  if ((st = check_operand("B", B, Btype, p.tb ? n : k, p.tb ? k : n, ldb))) return st;
  if ((st = check_operand("C", C, Ctype, m, n, ldc))) return st;
  cudasim::issue_op(h->stream, [p]() { run(p); });
  return CUBLAS_STATUS_SUCCESS;
}

}  /* extern "C" */
