/* cuda_source.h — the policy on a GPU as the rollout engine's logits source
 * (rollout.device = "cuda"), and the one place that chooses between it and
 * the CPU model source (rlvr_policy_source).
 *
 * The GPU source drives model/cuda/model.h's paged decode: one sequence of
 * the paged cache per engine slot, so
 *   prefill(slots, prompts)  releases the slots that are still open (a slot
 *                            whose sample finished keeps its blocks until it
 *                            is reused) and runs rlvr_cuda_decode_prefill;
 *   step(slots, tokens)      rlvr_cuda_decode_step;
 *   copy(src, dst, len)      releases dst if open, forks it from src (dst
 *                            shares src's blocks: no cache is copied) and
 *                            truncates it to len; the shared partial block
 *                            is copied on write at dst's first step;
 *   truncate(slot, len)      rlvr_cuda_decode_truncate (forgets the blocks
 *                            past len: budget forcing's take-back).
 * Sampling (rollout.device_sampling, on by default): the source offers the
 * engine's optional sample operation, so the logits rows stay on the GPU
 * and the engine sends one uniform per sampling slot (drawn from each
 * sample's rng as model/sampler.h would) and gets back a token and a
 * log-prob per slot from rlvr_cuda_sample: per step about 28 bytes a row
 * cross the bus instead of V floats (600 KB a row at Qwen2.5's V). The
 * source keeps where each slot's current row is on the device:
 *   - a step's rows stay in the decode's logits buffer, row i for the
 *     step's slot i, until the next prefill or step;
 *   - a prefill first copies the rows of the last step that are still
 *     current aside (one device copy, "saved"; a prefill would overwrite
 *     them), then copies each new prompt's row to the slot's own prompt row
 *     (slots x V floats on the device), which is the slot's current row;
 *   - copy(src, dst, len) with len = src's prompt length gives dst src's
 *     prompt row (the engine's shared prefill); any other len, and any
 *     truncate, leave the slot with no row until its next step.
 * Sampling a run of slots whose rows are consecutive in one buffer is one
 * kernel launch (a full step's slots in order: one). Tokens follow the CPU
 * sampler's rules except at boundaries within rounding (ops.h). With
 * device sampling off (debugging), logits rows come back to the host after
 * every prefill and step and the engine samples there with model/sampler.h,
 * so the tokens, seeds and log-probs mean exactly what they mean on the CPU
 * path. rlvr_cuda_source_get_counters counts what went where.
 *
 * The block pool holds slots * ceil(max_seq / block_size) blocks (every slot
 * full, none shared) plus slots / 2 + 1: a decode step reserves blocks
 * conservatively when several of its slots share a partial block
 * (kv_pages.h), at most one block too many per shared block. So no call
 * the engine makes can run out of blocks, and copy and truncate cannot fail.
 *
 * Numbers: in fp32 the logits agree with the CPU model's to rounding (other
 * summation orders: test_cuda_model's tolerances), so greedy and seeded
 * samples take the same tokens unless two candidates are within rounding of
 * each other. Unlike the CPU decode the GPU's logits are not bitwise
 * independent of the batch (cuBLASLt picks its algorithm by the number of
 * rows), so at such a near-tie a sample can depend on what else is in
 * flight. In bf16 the logits carry bf16 activation rounding and samples
 * diverge from the CPU's after some tokens; the log-probs the engine
 * reports are still log softmax of the logits it sampled from.
 *
 * Weights: the device keeps its own copy of the model's weights (fp32
 * master, and a bf16 copy in bf16). After the host model's weights change,
 * rlvr_cuda_source_upload (rlvr_policy_source_sync) copies them up again;
 * the rollout worker does it whenever it applies a weights version.
 *
 * Status: compiled; never run on a GPU; tests/gpu/test_cuda_source.c passes
 * in the CPU emulation of the CUDA runtime (sim/, docs/cuda.md). In a build without
 * CUDA, or with no usable device, building one is RLVR_ERR_CONFIG naming
 * rollout.device. */
#ifndef RLVR_CUDA_SOURCE_H
#define RLVR_CUDA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "model/model.h"
#include "rollout/engine.h"

typedef struct rlvr_cuda_source rlvr_cuda_source;

/* 1 when this binary has CUDA and a device is usable; else 0 and why (a
 * sentence, no key name) in why. */
int rlvr_cuda_source_available(char *why, size_t cap);

/* What rlvr_rollout_device_from_config writes to *cuda and
 * rlvr_policy_source_build takes: any value but 0 is the GPU. */
enum {
  RLVR_ROLLOUT_CPU = 0,
  RLVR_ROLLOUT_CUDA = 1,               /* sampling on the GPU (rollout.device_sampling = true) */
  RLVR_ROLLOUT_CUDA_HOST_SAMPLING = 2, /* logits rows to the host, sampled there */
};

/* Checks rollout.device ("cpu" or "cuda") and rollout.dtype ("fp32" or
 * "bf16"): RLVR_ERR_CONFIG naming the key for any other value, and naming
 * rollout.device when it is cuda in a build without CUDA or with no usable
 * device. *cuda = RLVR_ROLLOUT_CPU, or with rollout.device = cuda
 * RLVR_ROLLOUT_CUDA (rollout.device_sampling true) or
 * RLVR_ROLLOUT_CUDA_HOST_SAMPLING. */
int rlvr_rollout_device_from_config(const rlvr_config *c, int *cuda);

/* Builds the GPU source for m (borrowed: its tensor table and
 * params_memory must outlive cs; its weights are uploaded now) in dtype
 * ("fp32" or "bf16") on GPU 0: slots sequences of max_seq positions
 * (max_seq <= m's max_position), blocks of block_size tokens (0 = 16).
 * device_sampling: offer the engine the sample operation (rows stay on the
 * device; two more slots x V float buffers there); 0: rows to the host.
 * Sizes are the caller's (a bad one is a bug). RLVR_ERR_CONFIG naming
 * rollout.device without CUDA or a device; *out NULL on error. */
int rlvr_cuda_source_build(rlvr_cuda_source **out, const rlvr_model *m, const char *dtype, int slots, int max_seq,
                           int block_size, int device_sampling);
void rlvr_cuda_source_free(rlvr_cuda_source *cs); /* accepts NULL */

/* The engine's view (valid while cs lives). */
const rlvr_logits_source *rlvr_cuda_source_get(rlvr_cuda_source *cs);

/* Copies the model's current weights (m->params_memory) to the device. */
void rlvr_cuda_source_upload(rlvr_cuda_source *cs);

/* What crossed the bus and what ran, since build (never reset). */
typedef struct {
  int64_t rows_to_host;    /* logits rows copied to the host (V floats each) by prefill and step */
  int64_t rows_sampled;    /* rows sampled on the device (tokens and log-probs to the host) */
  int64_t sample_launches; /* sampling kernel launches: one per run of consecutive rows */
  int64_t rows_saved;      /* step rows copied aside on the device before a prefill */
  int64_t prompt_rows;     /* prompt rows copied on the device (prefill, copy) */
} rlvr_cuda_source_counters;

void rlvr_cuda_source_get_counters(const rlvr_cuda_source *cs, rlvr_cuda_source_counters *out);

/* For tests: 1 when the paged cache's bookkeeping is consistent
 * (rlvr_kv_pages_consistent); *blocks_used (optional) = blocks in use. */
int rlvr_cuda_source_check(const rlvr_cuda_source *cs, int *blocks_used);

/* ---- GPU weight sync, the worker's side (learner.weight_sync = nccl or
 * ipc; model/cuda/wsync.h, docs/cuda.md "Weight sync in a run") ----
 *
 * The learner's bf16 weights land in this source's bf16 copy, the one the
 * decode reads, without passing through the host: so the source must be
 * bf16 (rollout.dtype), and after a version lands the host model and the
 * device's fp32 master copy are stale (nothing reads them in bf16;
 * rlvr_cuda_source_upload would overwrite the landed weights with them).
 * The arguments come from the learner's wsync_init (core/protocol.h, whose
 * types this header cannot include: its rlvr_dtype clashes with the CUDA
 * backend's). */

enum { RLVR_CUDA_WSYNC_ID_BYTES = 128, RLVR_CUDA_WSYNC_HANDLE_BYTES = 64, RLVR_CUDA_WSYNC_UUID_BYTES = 16 };

typedef struct {
  int ipc;               /* 1: CUDA IPC slots on this GPU; 0: NCCL broadcast */
  uint64_t layout;       /* the learner's layout fingerprint */
  uint64_t bytes;        /* of the flat buffer */
  uint64_t bucket_bytes;
  int timeout_ms;        /* the join's and each transfer's */
  const uint8_t *unique_id; /* NCCL: (RLVR_CUDA_WSYNC_ID_BYTES) */
  int rank, nranks;         /* NCCL */
  const uint8_t *handle;    /* IPC: (RLVR_CUDA_WSYNC_HANDLE_BYTES) */
  const uint8_t *device;    /* IPC: (RLVR_CUDA_WSYNC_UUID_BYTES) the learner's GPU */
  int slots;                /* IPC */
  uint64_t slot_bytes;      /* IPC */
} rlvr_cuda_wsync_join;

/* Leaves what an earlier join set up, then checks the layout against this
 * model's and joins the NCCL communicator (waiting up to timeout_ms for
 * every rank; peers names them for messages) or maps the learner's slots.
 * RLVR_ERR_CONFIG naming rollout.dtype for an fp32 source, RLVR_ERR_MISMATCH
 * (another model, another GPU), RLVR_ERR_TIMEOUT, RLVR_ERR_IO,
 * RLVR_ERR_UNSUPPORTED (no NCCL); nothing joined on error. */
int rlvr_cuda_source_wsync_join(rlvr_cuda_source *cs, const rlvr_cuda_wsync_join *j, const char *peers);
/* Takes version into the decode's weights: the NCCL broadcast (slot -1),
 * or a copy of IPC slot `slot`; waits. On error (RLVR_ERR_TIMEOUT, _IO,
 * _MISMATCH: another version or layout came; _RANGE: a bad slot; _PROTOCOL:
 * not joined) the weights may be partly written: do not sample until a
 * version lands; an NCCL communicator is left (join again). */
int rlvr_cuda_source_wsync_recv(rlvr_cuda_source *cs, uint64_t version, int slot);
/* Leaves the communicator (abort) or unmaps the slots. No-op when none. */
void rlvr_cuda_source_wsync_leave(rlvr_cuda_source *cs);
/* The bf16 weights the decode reads (num_params values in the model's
 * layout) into out, or RLVR_ERR_UNSUPPORTED for an fp32 source. */
int rlvr_cuda_source_download_bf16(rlvr_cuda_source *cs, uint16_t *out);

/* ---- the policy as the engine sees it, on either device ---- */

/* Either the CPU model source or the GPU source, chosen by cuda. Build it
 * in place and do not move it (the CPU source points at itself). */
typedef struct {
  rlvr_model_source cpu;       /* used when gpu is NULL */
  rlvr_cuda_source *gpu;       /* rollout.device = cuda */
  const rlvr_logits_source *src; /* what the engine drives */
} rlvr_policy_source;

/* cuda RLVR_ROLLOUT_CPU: rlvr_model_source_build (cannot fail); else
 * rlvr_cuda_source_build with dtype, the default block size and device
 * sampling unless cuda is RLVR_ROLLOUT_CUDA_HOST_SAMPLING (errors as there;
 * ps zeroed then). */
int rlvr_policy_source_build(rlvr_policy_source *ps, const rlvr_model *m, int cuda, const char *dtype, int slots,
                             int max_seq);
/* After m's weights changed: uploads them to the GPU (the CPU source reads
 * the model directly: nothing to do). */
void rlvr_policy_source_sync(rlvr_policy_source *ps);
void rlvr_policy_source_free(rlvr_policy_source *ps); /* accepts NULL and a zeroed struct */

#endif
