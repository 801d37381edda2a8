/* learn_gpu.h — the learner's GRPO step on a GPU (learner.device = "cuda"):
 * the policy's forward, backward, gradient-norm clipping and AdamW run with
 * model/cuda/ while learner.c keeps everything else (rows, the loss,
 * metrics, the ledger, publishing, checkpoints) on the host.
 *
 * What lives where (first version):
 *   device: the fp32 master weights (and with learner.dtype = "bf16" their
 *           bf16 copy, which the forward and backward read), the fp32
 *           gradients, the AdamW moments, the forward state;
 *   host:   the loss. Each micro-batch's log-probs (at the sampling
 *           temperature) and entropies come down, learner/loss.c computes
 *           dL/dlogp on the host exactly as on the CPU path, and the
 *           per-token weights go back up into rlvr_cuda_backward;
 *           the frozen reference (loss.beta > 0) still runs on the CPU.
 * Clipping and AdamW run on the device: rlvr_cuda_grad_norm's factor is
 * clip_grad_norm_'s (min(1, max / (norm + 1e-6)), float), applied inside
 * rlvr_cuda_adamw_step, which performs rlvr_adamw_step's operations with
 * the same bias corrections, weight-decay split (2-D tensors, 1-D only with
 * decay_1d) and float scalars (model/cuda/ops.h). The norm comes back to
 * the host each update (one 8-byte copy) for the finiteness check and the
 * metrics.
 *
 * After each step the learner downloads the master weights into its host
 * model (rlvr_learn_gpu_download), so publishing, checkpoints and
 * rlvr_learner_model see the current weights as on the CPU path; the
 * moments come down only for a checkpoint.
 *
 * In a binary built without CUDA (RLVR_CUDA=OFF), or where no device is
 * usable, rlvr_learn_gpu_build is RLVR_ERR_CONFIG naming learner.device.
 *
 * Status: compiled, not yet run on a GPU (docs/cuda.md). */
#ifndef RLVR_LEARN_GPU_H
#define RLVR_LEARN_GPU_H

#include <stddef.h>

#include "core/config.h"
#include "model/model.h"
#include "model/optim.h"

typedef struct rlvr_learn_gpu rlvr_learn_gpu;

/* 1 when this binary has CUDA and a device is usable; else 0 and why
 * (a sentence, no key name) in why. */
int rlvr_learn_gpu_available(char *why, size_t cap);

/* Checks learner.device and learner.dtype: RLVR_ERR_CONFIG naming the key
 * for a value that is not one of theirs, and naming learner.device when it
 * is cuda in a build without CUDA or with no usable device.
 * *use_gpu = device is cuda. */
int rlvr_learn_gpu_check_config(const rlvr_config *cfg, int *use_gpu);

/* The device copy of m (weights from m->params_memory, moments from opt's
 * host moments: zeros, or a checkpoint's), in dtype ("fp32" or "bf16":
 * learner.dtype, checked by rlvr_learn_gpu_check_config), with a
 * forward state for micro-batches of max_batch rows at temperature.
 * m's tensor table must outlive g. RLVR_ERR_CONFIG (naming learner.device)
 * without CUDA or a device; *out NULL on error. */
int rlvr_learn_gpu_build(rlvr_learn_gpu **out, const char *dtype, const rlvr_model *m, const rlvr_adamw *opt,
                         int max_batch, float temperature);
void rlvr_learn_gpu_free(rlvr_learn_gpu *g); /* accepts NULL */

void rlvr_learn_gpu_grads_zero(rlvr_learn_gpu *g);
/* rlvr_forward's contract (host arrays in and out, entropy optional). */
int rlvr_learn_gpu_forward(rlvr_learn_gpu *g, const int *tokens, const int *lens, int B, int T, const int *targets,
                           float *logprobs, float *entropy);
/* grads += d(sum w logprob)/d params for the last forward. */
void rlvr_learn_gpu_backward(rlvr_learn_gpu *g, const float *w);
/* rlvr_clip_grad_norm: the norm before clipping; the clip factor
 * (max_norm > 0) is kept on the device for the next AdamW step. */
double rlvr_learn_gpu_clip_grad_norm(rlvr_learn_gpu *g, double max_norm);
/* rlvr_adamw_step on the device: opt->step + 1 (opt's host moments are not
 * touched), with the clip factor of the last clip. */
void rlvr_learn_gpu_adamw_step(rlvr_learn_gpu *g, rlvr_adamw *opt, const rlvr_adamw_config *cfg);
/* Master weights -> m->params_memory; and the moments -> opt->m, opt->v
 * when opt is not NULL. Waits. */
void rlvr_learn_gpu_download(rlvr_learn_gpu *g, rlvr_model *m, rlvr_adamw *opt);

#endif
