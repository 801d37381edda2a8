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
#include <stdint.h>

#include "core/config.h"
#include "model/model.h"
#include "model/optim.h"

typedef struct rlvr_learn_gpu rlvr_learn_gpu;

/* 1 when this binary has CUDA and a device is usable; else 0 and why
 * (a sentence, no key name) in why. */
int rlvr_learn_gpu_available(char *why, size_t cap);

/* Checks learner.device, learner.dtype and learner.weight_sync (with its
 * timeout and bucket keys): RLVR_ERR_CONFIG naming the key for a value
 * that is not one of theirs, naming learner.device when it is cuda in a
 * build without CUDA or with no usable device, and naming
 * learner.weight_sync when nccl or ipc comes without learner.device =
 * cuda, rollout.device = cuda and rollout.dtype = bf16 (what travels is
 * bf16). *use_gpu = device is cuda. */
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

/* ---- GPU weight sync, the learner's side (learner.weight_sync = nccl or
 * ipc; model/cuda/wsync.h, docs/cuda.md "Weight sync in a run") ----
 *
 * What travels is the flat bucketed layout of the bf16 weights
 * (model/cuda/wsync_layout.h): with learner.dtype = bf16 the device's bf16
 * copy (which AdamW refreshes), with fp32 the fp32 master weights rounded
 * to bf16 (nearest even) into a buffer of their own before each version.
 * Either way the bytes are round_bf16(master weights): what
 * rlvr_f32_to_bf16 (core/safetensors.h) gives on the host. learner/
 * wsync_hub.h drives these calls; they return RLVR_ERR_* for what comes
 * from outside (a peer, NCCL) and abort on CUDA errors. */

enum { RLVR_LEARN_WSYNC_ID_BYTES = 128, RLVR_LEARN_WSYNC_HANDLE_BYTES = 64, RLVR_LEARN_WSYNC_UUID_BYTES = 16 };

typedef struct {
  uint64_t layout_hash; /* fingerprint of the flat layout */
  uint64_t bytes;       /* of the flat buffer */
  uint64_t bucket_bytes;
  /* CUDA IPC only: the slots readers map */
  uint8_t handle[RLVR_LEARN_WSYNC_HANDLE_BYTES];
  uint8_t uuid[RLVR_LEARN_WSYNC_UUID_BYTES]; /* the learner's GPU */
  int nslots;
  uint64_t slot_bytes;
} rlvr_learn_wsync_info;

/* Plans the layout (bucket_bytes: a multiple of 256) and, with ipc, builds
 * nslots slots on the learner's GPU. RLVR_ERR_ARG (bucket size),
 * RLVR_ERR_CONFIG naming learner.weight_sync when this build has no NCCL
 * (ipc = 0). Once per learner. */
int rlvr_learn_gpu_wsync_build(rlvr_learn_gpu *g, int ipc, size_t bucket_bytes, int nslots,
                               rlvr_learn_wsync_info *info);
/* A new NCCL unique id (this process hosts NCCL's bootstrap: rank 0). */
int rlvr_learn_gpu_nccl_id(uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES]);
/* Joins communicator id as rank 0 of nranks, waiting up to timeout_ms for
 * every worker; peers names them for messages. RLVR_ERR_TIMEOUT, _IO. */
int rlvr_learn_gpu_nccl_join(rlvr_learn_gpu *g, const uint8_t id[RLVR_LEARN_WSYNC_ID_BYTES], int nranks,
                             int timeout_ms, const char *peers);
/* Broadcasts the current weights as version to every rank and waits (up
 * to the join's timeout). RLVR_ERR_TIMEOUT, _IO: the communicator is
 * aborted; join a new one. */
int rlvr_learn_gpu_nccl_broadcast(rlvr_learn_gpu *g, uint64_t version);
/* Leaves the communicator at once (ncclCommAbort). No-op when not joined. */
void rlvr_learn_gpu_nccl_leave(rlvr_learn_gpu *g);
/* CUDA IPC: writes the current weights into slot and waits until they are
 * in device memory (the slot may be announced on return). */
void rlvr_learn_gpu_ipc_write(rlvr_learn_gpu *g, int slot);

#endif
