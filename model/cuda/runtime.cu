/* runtime.cu — context, arenas, parameter copies and conversions; see
 * runtime.h. Status: compiled, not yet run on a GPU. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <string.h>

#include "model/cuda/cuda_common.h"
#include "model/cuda/runtime.h"

extern "C" {
#include "core/check.h"
}

enum { ARENA_ALIGN = 256, WORKSPACE_BYTES = 32 << 20 };

/* ------------------------------------------------------------------------ */
/* context                                                                   */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_context_build(rlvr_cuda_context *ctx, int device) {
  memset(ctx, 0, sizeof *ctx);
  ctx->device = device;
  CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  ctx->sm_count = prop.multiProcessorCount;
  ctx->l2_bytes = (size_t)prop.l2CacheSize;
  CUDA_CHECK(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
  cublasLtHandle_t lt;
  CUBLAS_CHECK(cublasLtCreate(&lt));
  ctx->lt = lt;
  cublasHandle_t blas;
  CUBLAS_CHECK(cublasCreate(&blas));
  CUBLAS_CHECK(cublasSetStream(blas, ctx->stream));
  ctx->blas = blas;
  ctx->workspace_size = WORKSPACE_BYTES;
  CUDA_CHECK(cudaMalloc(&ctx->workspace, ctx->workspace_size));
}

extern "C" void rlvr_cuda_context_free(rlvr_cuda_context *ctx) {
  if (!ctx) return;
  if (ctx->workspace) CUDA_CHECK(cudaFree(ctx->workspace));
  if (ctx->lt) CUBLAS_CHECK(cublasLtDestroy((cublasLtHandle_t)ctx->lt));
  if (ctx->blas) CUBLAS_CHECK(cublasDestroy((cublasHandle_t)ctx->blas));
  if (ctx->stream) CUDA_CHECK(cudaStreamDestroy(ctx->stream));
  memset(ctx, 0, sizeof *ctx);
}

extern "C" void rlvr_cuda_context_sync(rlvr_cuda_context *ctx) {
  CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

/* ------------------------------------------------------------------------ */
/* arenas                                                                    */
/* ------------------------------------------------------------------------ */

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

extern "C" void rlvr_cuda_arena_build(rlvr_cuda_arena *a, const char *name, size_t bytes) {
  memset(a, 0, sizeof *a);
  a->name = name;
  a->size = align_up(bytes);
  if (a->size) CUDA_CHECK(cudaMalloc((void **)&a->base, a->size));
}

extern "C" void rlvr_cuda_arena_free(rlvr_cuda_arena *a) {
  if (!a) return;
  if (a->base) CUDA_CHECK(cudaFree(a->base));
  memset(a, 0, sizeof *a);
}

extern "C" void *rlvr_cuda_arena_alloc(rlvr_cuda_arena *a, size_t bytes) {
  const size_t need = align_up(bytes);
  RLVR_CHECK(a->used + need <= a->size, "device arena '%s': %zu bytes asked, %zu of %zu used",
             a->name ? a->name : "?", bytes, a->used, a->size);
  void *p = a->base + a->used;
  a->used += need;
  if (a->used > a->peak) a->peak = a->used;
  return p;
}

extern "C" void rlvr_cuda_arena_reset(rlvr_cuda_arena *a) { a->used = 0; }

extern "C" size_t rlvr_cuda_arena_need(const size_t *sizes, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += align_up(sizes[i]);
  return total;
}

/* ------------------------------------------------------------------------ */
/* conversions                                                               */
/* ------------------------------------------------------------------------ */

__global__ void f32_to_bf16_kernel1(bf16 *dst, const float *src, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void bf16_to_f32_kernel1(float *dst, const bf16 *src, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = __bfloat162float(src[i]);
}

/* Grid-stride launches: enough blocks to fill any current GPU, capped so
 * that the grid size fits in an int for any n. */
static unsigned elementwise_blocks(size_t n, int block) {
  size_t b = CEIL_DIV(n, (size_t)block);
  if (b > 65536) b = 65536;
  return (unsigned)(b ? b : 1);
}

extern "C" void rlvr_cuda_f32_to_bf16(rlvr_bf16 *dst, const float *src, size_t n, cudaStream_t s) {
  if (n == 0) return;
  f32_to_bf16_kernel1<<<elementwise_blocks(n, 256), 256, 0, s>>>((bf16 *)dst, src, n);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_bf16_to_f32(float *dst, const rlvr_bf16 *src, size_t n, cudaStream_t s) {
  if (n == 0) return;
  bf16_to_f32_kernel1<<<elementwise_blocks(n, 256), 256, 0, s>>>(dst, (const bf16 *)src, n);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void rlvr_cuda_upload(void *dst, rlvr_dtype dt, const float *src, size_t n, cudaStream_t s) {
  if (n == 0) return;
  if (dt == RLVR_DTYPE_F32) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, s));
  } else {
    RLVR_CHECK(dt == RLVR_DTYPE_BF16, "dtype %d", (int)dt);
    rlvr_bf16 *tmp = (rlvr_bf16 *)xmalloc(n * sizeof(rlvr_bf16));
    for (size_t i = 0; i < n; i++) tmp[i] = rlvr_bf16_from_float(src[i]);
    CUDA_CHECK(cudaMemcpyAsync(dst, tmp, n * sizeof(rlvr_bf16), cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaStreamSynchronize(s)); /* before tmp goes */
    free(tmp);
    return;
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
}

extern "C" void rlvr_cuda_download(float *dst, const void *src, rlvr_dtype dt, size_t n, cudaStream_t s) {
  if (n == 0) return;
  if (dt == RLVR_DTYPE_F32) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
  } else {
    RLVR_CHECK(dt == RLVR_DTYPE_BF16, "dtype %d", (int)dt);
    rlvr_bf16 *tmp = (rlvr_bf16 *)xmalloc(n * sizeof(rlvr_bf16));
    CUDA_CHECK(cudaMemcpyAsync(tmp, src, n * sizeof(rlvr_bf16), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    for (size_t i = 0; i < n; i++) dst[i] = rlvr_bf16_to_float(tmp[i]);
    free(tmp);
  }
}

/* ------------------------------------------------------------------------ */
/* parameters                                                                */
/* ------------------------------------------------------------------------ */

extern "C" void rlvr_cuda_params_build(rlvr_cuda_params *d, const rlvr_model *m, int with_bf16) {
  memset(d, 0, sizeof *d);
  d->cfg = m->cfg;
  d->num_params = m->num_params;
  d->tensors = m->tensors;
  d->num_tensors = m->num_tensors;
  const size_t sizes[2] = {m->num_params * sizeof(float), with_bf16 ? m->num_params * sizeof(rlvr_bf16) : 0};
  rlvr_cuda_arena_build(&d->arena, "params", rlvr_cuda_arena_need(sizes, 2));
  d->f32 = (float *)rlvr_cuda_arena_alloc(&d->arena, sizes[0]);
  if (with_bf16) d->bf16 = (rlvr_bf16 *)rlvr_cuda_arena_alloc(&d->arena, sizes[1]);
  /* Pointer arithmetic only: rlvr_params_point never dereferences. */
  rlvr_params_point(&d->p, &m->cfg, d->f32);
}

extern "C" void rlvr_cuda_params_free(rlvr_cuda_params *d) {
  if (!d) return;
  rlvr_cuda_arena_free(&d->arena);
  memset(d, 0, sizeof *d);
}

extern "C" void rlvr_cuda_params_upload(rlvr_cuda_params *d, const float *host, cudaStream_t s) {
  CUDA_CHECK(cudaMemcpyAsync(d->f32, host, d->num_params * sizeof(float), cudaMemcpyHostToDevice, s));
  if (d->bf16) rlvr_cuda_params_refresh_bf16(d, s);
  CUDA_CHECK(cudaStreamSynchronize(s));
}

extern "C" void rlvr_cuda_params_download(const rlvr_cuda_params *d, float *host, cudaStream_t s) {
  CUDA_CHECK(cudaMemcpyAsync(host, d->f32, d->num_params * sizeof(float), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
}

extern "C" void rlvr_cuda_params_refresh_bf16(rlvr_cuda_params *d, cudaStream_t s) {
  RLVR_CHECK(d->bf16 != NULL, "parameters built without a bf16 copy");
  rlvr_cuda_f32_to_bf16(d->bf16, d->f32, d->num_params, s);
}

extern "C" rlvr_bf16 *rlvr_cuda_params_bf16_at(const rlvr_cuda_params *d, const float *f32_ptr) {
  RLVR_CHECK(d->bf16 != NULL, "parameters built without a bf16 copy");
  RLVR_CHECK(f32_ptr >= d->f32 && f32_ptr <= d->f32 + d->num_params, "pointer outside the parameters");
  return d->bf16 + (f32_ptr - d->f32);
}
