/* runtime.h — the CUDA backend's plumbing, callable from C: a context
 * (device, stream, cuBLASLt handle and workspace), device arenas (one
 * allocation per category, as llm.c: parameters, gradients, optimizer
 * moments, activations, scratch), and the parameter layout of model.h on the
 * device in float32 (master weights) and bfloat16 (the forward's copy).
 *
 * Use:
 *   rlvr_cuda_context ctx;  rlvr_cuda_context_build(&ctx, 0);
 *   rlvr_cuda_params dp;    rlvr_cuda_params_build(&dp, &model, 1);
 *   rlvr_cuda_params_upload(&dp, &model, ctx.stream);   // fp32, and bf16 from it
 *   ... kernels of ops.h on ctx.stream ...
 *   rlvr_cuda_params_download(&dp, model.params_memory, ctx.stream);
 *   rlvr_cuda_params_free(&dp);  rlvr_cuda_context_free(&ctx);
 *
 * Errors: everything here fails only on a bug or a broken machine (a CUDA
 * error, out of device memory, an arena sized too small): CUDA_CHECK /
 * RLVR_CHECK abort with the place. Copies are asynchronous on the given
 * stream unless a function says otherwise; host buffers may be pageable
 * (then CUDA copies synchronously with respect to the host).
 *
 * Status: compiled, not yet run on a GPU (docs/cuda.md). */
#ifndef RLVR_CUDA_RUNTIME_H
#define RLVR_CUDA_RUNTIME_H

#include <cuda_runtime_api.h>
#include <stddef.h>

#include "model/cuda/dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "model/model.h" /* C declarations: inside extern "C" for the .cu files */

/* ---- context ---- */

typedef struct {
  int device;
  cudaStream_t stream;     /* every call of the backend runs on it */
  void *lt;                /* cublasLtHandle_t */
  void *blas;              /* cublasHandle_t on stream: products cuBLASLt has no algorithm for */
  void *workspace;         /* cuBLASLt workspace, workspace_size bytes */
  size_t workspace_size;
  int sm_count;            /* multiprocessors, for grid sizes */
  size_t l2_bytes;         /* L2 cache size, for benchmarks that clear it */
} rlvr_cuda_context;

/* Selects device, creates a non-blocking stream, cuBLASLt and cuBLAS handles
 * and a 32 MiB workspace. */
void rlvr_cuda_context_build(rlvr_cuda_context *ctx, int device);
/* Accepts NULL and a zeroed or half-built context. */
void rlvr_cuda_context_free(rlvr_cuda_context *ctx);
/* Waits for everything queued on ctx->stream. */
void rlvr_cuda_context_sync(rlvr_cuda_context *ctx);

/* ---- arenas: one device allocation per category ---- */

typedef struct {
  char *base;
  size_t size; /* bytes reserved */
  size_t used; /* bytes handed out, with alignment padding */
  size_t peak;
  const char *name; /* "params", "grads", ... for messages; not owned */
} rlvr_cuda_arena;

/* Reserves bytes of device memory (cudaMalloc once). */
void rlvr_cuda_arena_build(rlvr_cuda_arena *a, const char *name, size_t bytes);
/* Accepts NULL and a zeroed or freed arena. */
void rlvr_cuda_arena_free(rlvr_cuda_arena *a);
/* 256-byte aligned (cuBLASLt's preferred alignment); running out is a bug in
 * the sizing and aborts naming the arena. */
void *rlvr_cuda_arena_alloc(rlvr_cuda_arena *a, size_t bytes);
void rlvr_cuda_arena_reset(rlvr_cuda_arena *a);
/* Bytes rlvr_cuda_arena_alloc would take for these sizes, padding included:
 * sum over the n sizes rounded up to 256. */
size_t rlvr_cuda_arena_need(const size_t *sizes, int n);

/* ---- the parameter layout on the device ---- */

typedef struct {
  rlvr_model_config cfg;
  size_t num_params;
  float *f32;     /* (num_params) model.h layout, device: master weights */
  rlvr_bf16 *bf16; /* (num_params) the same rounded to bf16, or NULL */
  rlvr_params p;  /* device pointers into f32, named as model.h (rlvr_params_point) */
  const rlvr_tensor_info *tensors; /* the host model's table (not owned) */
  int num_tensors;
  rlvr_cuda_arena arena; /* holds f32 and bf16 */
} rlvr_cuda_params;

/* Reserves f32 (and bf16 when with_bf16) for m's layout; contents undefined
 * until an upload. m's tensor table must outlive d. */
void rlvr_cuda_params_build(rlvr_cuda_params *d, const rlvr_model *m, int with_bf16);
/* Accepts NULL and a zeroed or half-built d. */
void rlvr_cuda_params_free(rlvr_cuda_params *d);
/* host fp32 (num_params floats) -> d->f32, then d->bf16 from it if present. */
void rlvr_cuda_params_upload(rlvr_cuda_params *d, const float *host, cudaStream_t s);
/* d->f32 -> host (num_params floats); waits for the copy. */
void rlvr_cuda_params_download(const rlvr_cuda_params *d, float *host, cudaStream_t s);
/* d->bf16 = round(d->f32): after an optimizer step that did not write it. */
void rlvr_cuda_params_refresh_bf16(rlvr_cuda_params *d, cudaStream_t s);
/* The bf16 copy of the tensor whose fp32 copy starts at f32_ptr (a pointer
 * into d->f32, e.g. d->p.wq + l * QD * C). */
rlvr_bf16 *rlvr_cuda_params_bf16_at(const rlvr_cuda_params *d, const float *f32_ptr);

/* ---- conversions and copies ---- */

/* dst (n) = round_bf16(src (n)), on the device. */
void rlvr_cuda_f32_to_bf16(rlvr_bf16 *dst, const float *src, size_t n, cudaStream_t s);
/* dst (n) = src (n) exactly, on the device. */
void rlvr_cuda_bf16_to_f32(float *dst, const rlvr_bf16 *src, size_t n, cudaStream_t s);

/* Host float (n) -> device tensor of dtype dt (converted on the host for
 * bf16). Synchronous: the host buffer may be reused on return. */
void rlvr_cuda_upload(void *dst, rlvr_dtype dt, const float *src, size_t n, cudaStream_t s);
/* Device tensor of dtype dt (n) -> host float (n). Synchronous. */
void rlvr_cuda_download(float *dst, const void *src, rlvr_dtype dt, size_t n, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
