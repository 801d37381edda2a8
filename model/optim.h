/* optim.h — AdamW with decoupled weight decay, and gradient-norm clipping,
 * with PyTorch's semantics (torch.optim.AdamW, torch.nn.utils.clip_grad_norm_)
 * on the one-allocation parameter layout of model.h.
 *
 * One step, for every parameter p with gradient g, t = step count (from 1):
 *   p <- p (1 - lr wd)                        decoupled weight decay
 *   m <- m + (1 - b1)(g - m)                  (torch's lerp form of b1 m + (1-b1) g)
 *   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Weight decay applies to the 2-D tensors (linear weights, embeddings) and,
 * only when decay_1d is set, to the 1-D ones (norm weights, biases): the
 * usual split into two parameter groups.
 *
 * Clipping, before the step: total = sqrt(sum of every g^2) over all
 * tensors (tied embeddings count once), and when max_norm > 0 every g is
 * multiplied by min(1, max_norm / (total + 1e-6)).
 *
 * Deterministic and independent of the thread count: the norm sums fixed
 * blocks in double and adds the block sums in order. */
#ifndef RLVR_OPTIM_H
#define RLVR_OPTIM_H

#include <stddef.h>

#include "model/model.h"

typedef struct {
  float lr;
  float beta1, beta2;
  float eps;
  float weight_decay;
  int decay_1d; /* also decay 1-D tensors (norms, biases) */
} rlvr_adamw_config;

typedef struct {
  size_t n;        /* num_params */
  float *memory;   /* one allocation: m then v */
  float *m, *v;    /* (n) first and second moments, parameter layout */
  long step;       /* steps taken */
  const rlvr_tensor_info *tensors; /* the model's table: which ranges are 1-D */
  int num_tensors;
} rlvr_adamw;

/* Moments zeroed, step 0, for the parameters of m (whose tensor table must
 * outlive opt). */
void rlvr_adamw_build(rlvr_adamw *opt, const rlvr_model *m);

/* Accepts NULL and a zeroed or freed optimizer. */
void rlvr_adamw_free(rlvr_adamw *opt);

/* One AdamW step on params (num_params floats) with grads; cfg may change
 * between steps (a learning-rate schedule). */
void rlvr_adamw_step(rlvr_adamw *opt, const rlvr_adamw_config *cfg, float *params, const float *grads);

/* The global L2 norm of n gradients. */
double rlvr_grad_norm(const float *grads, size_t n);

/* clip_grad_norm_: returns the norm before clipping, and scales grads by
 * min(1, max_norm / (norm + 1e-6)) when max_norm > 0. */
double rlvr_clip_grad_norm(float *grads, size_t n, double max_norm);

#endif
