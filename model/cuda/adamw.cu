/* adamw.cu — AdamW, the global gradient norm and clipping; see ops.h.
 * Status: compiled, not yet run on a GPU.
 *
 * AdamW performs rlvr_adamw_step's float operations one for one, each
 * explicitly rounded (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn: no fused
 * multiply-add, IEEE division and square root), with the same float scalars
 * computed on the host in double exactly as optim.c computes them; so in
 * float32 it should reproduce the CPU's bits (the test reports how many
 * differ, and passes within 1e-6 relative).
 *
 * The gradient norm: stage 1 has a fixed number of blocks
 * (RLVR_CUDA_NORM_BLOCKS) of a fixed size, each summing g^2 in double over a
 * grid-stride range; stage 2 is one block adding the block sums in a fixed
 * tree. The result depends only on the gradients. */
#include <math.h>

#include "model/cuda/cuda_common.h"
#include "model/cuda/ops.h"

extern "C" {
#include "core/check.h"
}

enum { NORM_THREADS = 256 };

__global__ void grad_norm_kernel1(double *partials, const float *g, size_t n) {
  __shared__ double sh[32];
  double s = 0.0;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const double x = (double)g[i];
    s += x * x;
  }
  s = block_sum(s, sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

/* One block of RLVR_CUDA_NORM_BLOCKS threads. */
__global__ void grad_norm_finish_kernel1(double *norm, float *scale, const double *partials, double max_norm) {
  __shared__ double sh[32];
  const double total = block_sum(partials[threadIdx.x], sh);
  if (threadIdx.x == 0) {
    const double nrm = sqrt(total);
    *norm = nrm;
    if (scale) {
      /* clip_grad_norm_ (optim.c): the factor applies only when below 1 */
      const double coef = max_norm > 0 ? max_norm / (nrm + 1e-6) : 1.0;
      *scale = coef < 1.0 ? (float)coef : 1.0f;
    }
  }
}

extern "C" void rlvr_cuda_grad_norm(double *norm, float *scale, double *partials, const float *grads, size_t n,
                                    double max_norm, cudaStream_t s) {
  grad_norm_kernel1<<<RLVR_CUDA_NORM_BLOCKS, NORM_THREADS, 0, s>>>(partials, grads, n);
  CUDA_CHECK(cudaGetLastError());
  grad_norm_finish_kernel1<<<1, RLVR_CUDA_NORM_BLOCKS, 0, s>>>(norm, scale, partials, max_norm);
  CUDA_CHECK(cudaGetLastError());
}

__global__ void scale_kernel2(float *x, size_t n, const float *scale) {
  const float c = *scale;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    x[i] = __fmul_rn(x[i], c);
}

static unsigned grid_for(size_t n, int block) {
  size_t b = CEIL_DIV(n, (size_t)block);
  if (b > 65536) b = 65536;
  return (unsigned)(b ? b : 1);
}

extern "C" void rlvr_cuda_scale(float *x, size_t n, const float *scale, cudaStream_t s) {
  if (n == 0) return;
  scale_kernel2<<<grid_for(n, 256), 256, 0, s>>>(x, n, scale);
  CUDA_CHECK(cudaGetLastError());
}

typedef struct {
  float keep;          /* 1 - lr wd, or 1 (unused) without decay */
  float one_m_b1, beta2, one_m_b2;
  float bc2_sqrt;      /* sqrt(1 - b2^t) */
  float eps;
  float neg_step_size; /* -lr / (1 - b1^t) */
} adamw_scalars;

/* optim.c's loop body:
 *   p = p keep (decay only); m' = m + (1-b1)(g - m); v' = v b2 + (g g)(1-b2);
 *   denom = sqrt(v') / bc2_sqrt + eps;  p' = p + (-step_size) (m' / denom). */
__global__ void adamw_kernel1(float *p, bf16 *pb, const float *g, float *m, float *v, size_t n,
                              const float *grad_scale, int decay, adamw_scalars k) {
  const float gs = grad_scale ? *grad_scale : 1.0f;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float pi = p[i];
    if (decay) pi = __fmul_rn(pi, k.keep);
    float gi = g[i];
    if (grad_scale) gi = __fmul_rn(gi, gs);
    const float m0 = m[i], v0 = v[i];
    const float mi = __fadd_rn(m0, __fmul_rn(k.one_m_b1, __fsub_rn(gi, m0)));
    const float vi = __fadd_rn(__fmul_rn(v0, k.beta2), __fmul_rn(__fmul_rn(gi, gi), k.one_m_b2));
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), k.bc2_sqrt), k.eps);
    const float pn = __fadd_rn(pi, __fmul_rn(k.neg_step_size, __fdiv_rn(mi, denom)));
    m[i] = mi;
    v[i] = vi;
    p[i] = pn;
    if (pb) pb[i] = __float2bfloat16_rn(pn);
  }
}

extern "C" void rlvr_cuda_adamw_step(float *params, rlvr_bf16 *params_bf16, const float *grads, float *m, float *v,
                                     const float *grad_scale, const rlvr_tensor_info *tensors, int num_tensors,
                                     const rlvr_adamw_config *cfg, long t, cudaStream_t s) {
  RLVR_CHECK(t >= 1, "AdamW step number %ld", t);
  /* As optim.c: bias corrections and step size in double, used as floats. */
  const double td = (double)t, b1 = cfg->beta1, b2 = cfg->beta2, lr = cfg->lr;
  adamw_scalars k;
  k.neg_step_size = -(float)(lr / (1.0 - pow(b1, td)));
  k.bc2_sqrt = (float)sqrt(1.0 - pow(b2, td));
  k.one_m_b1 = (float)(1.0 - b1);
  k.beta2 = cfg->beta2;
  k.one_m_b2 = (float)(1.0 - b2);
  k.eps = cfg->eps;
  k.keep = (float)(1.0 - lr * (double)cfg->weight_decay);
  /* The table is in offset order and contiguous: one launch per run of
   * tensors with the same decay flag. */
  int i = 0;
  while (i < num_tensors) {
    const int decay = cfg->weight_decay != 0 && (tensors[i].ndim == 2 || cfg->decay_1d);
    const size_t off = tensors[i].offset;
    size_t n = tensors[i].numel;
    int j = i + 1;
    while (j < num_tensors && tensors[j].offset == off + n &&
           (cfg->weight_decay != 0 && (tensors[j].ndim == 2 || cfg->decay_1d)) == decay) {
      n += tensors[j].numel;
      j++;
    }
    if (n) {
      adamw_kernel1<<<grid_for(n, 256), 256, 0, s>>>(params + off, params_bf16 ? (bf16 *)params_bf16 + off : NULL,
                                                     grads + off, m + off, v + off, n, grad_scale, decay, k);
      CUDA_CHECK(cudaGetLastError());
    }
    i = j;
  }
}
