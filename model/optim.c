/* optim.c — AdamW and gradient-norm clipping; see optim.h. */
#include "model/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"

void rlvr_adamw_build(rlvr_adamw *opt, const rlvr_model *m) {
  memset(opt, 0, sizeof *opt);
  opt->n = m->num_params;
  opt->memory = xmalloc_aligned(2 * opt->n * sizeof(float));
  memset(opt->memory, 0, 2 * opt->n * sizeof(float));
  opt->m = opt->memory;
  opt->v = opt->memory + opt->n;
  opt->tensors = m->tensors;
  opt->num_tensors = m->num_tensors;
}

void rlvr_adamw_free(rlvr_adamw *opt) {
  if (!opt) return;
  free(opt->memory);
  memset(opt, 0, sizeof *opt);
}

void rlvr_adamw_step(rlvr_adamw *opt, const rlvr_adamw_config *cfg, float *params, const float *grads) {
  opt->step++;
  /* As torch: bias corrections and the step size in double (Python floats),
   * used as float32 scalars by the tensor operations. */
  const double t = (double)opt->step, b1 = cfg->beta1, b2 = cfg->beta2, lr = cfg->lr;
  const float step_size = (float)(lr / (1.0 - pow(b1, t)));
  const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
  const float one_m_b1 = (float)(1.0 - b1), beta2 = cfg->beta2, one_m_b2 = (float)(1.0 - b2);
  const float eps = cfg->eps;
  for (int ti = 0; ti < opt->num_tensors; ti++) {
    const rlvr_tensor_info *info = &opt->tensors[ti];
    const int decay = cfg->weight_decay != 0 && (info->ndim == 2 || cfg->decay_1d);
    const float keep = (float)(1.0 - lr * (double)cfg->weight_decay);
    float *p = params + info->offset, *m = opt->m + info->offset, *v = opt->v + info->offset;
    const float *g = grads + info->offset;
    const long n = (long)info->numel;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) {
      float pi = p[i];
      if (decay) pi = pi * keep;
      const float gi = g[i];
      const float mi = m[i] + one_m_b1 * (gi - m[i]);
      const float vi = v[i] * beta2 + (gi * gi) * one_m_b2;
      const float denom = sqrtf(vi) / bc2_sqrt + eps;
      m[i] = mi, v[i] = vi;
      p[i] = pi + (-step_size) * (mi / denom);
    }
  }
}

enum { NORM_BLOCK = 1 << 16 };

double rlvr_grad_norm(const float *grads, size_t n) {
  const long nb = (long)((n + NORM_BLOCK - 1) / NORM_BLOCK);
  double total = 0;
  /* Block sums do not depend on the thread count; ordered addition keeps
   * the total independent of it too. */
#pragma omp parallel for schedule(static) ordered if (nb > 1)
  for (long b = 0; b < nb; b++) {
    const size_t i0 = (size_t)b * NORM_BLOCK, i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
    double s = 0;
    for (size_t i = i0; i < i1; i++) s += (double)grads[i] * grads[i];
#pragma omp ordered
    total += s;
  }
  return sqrt(total);
}

double rlvr_clip_grad_norm(float *grads, size_t n, double max_norm) {
  const double norm = rlvr_grad_norm(grads, n);
  if (max_norm > 0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
      const float c = (float)coef;
#pragma omp parallel for schedule(static) if (n > 65536)
      for (size_t i = 0; i < n; i++) grads[i] *= c;
    }
  }
  return norm;
}
