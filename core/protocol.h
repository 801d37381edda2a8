/* protocol.h — the messages between the learner and its rollout workers, and
 * their msgpack encoding. docs/protocol.md is the schema; this file is its C
 * form and the decoder checks exactly what that page says.
 *
 * A message is an rlvr_msg: a type and one struct of the union. Two origins:
 *   - built by the caller for encoding: every pointer is the caller's, the
 *     message owns nothing, and rlvr_msg_free is not needed (but harmless);
 *   - decoded: every pointer points into memory the message owns (copied out of
 *     the input, or frames attached with rlvr_msg_attach), released by one
 *     rlvr_msg_free.
 * Token ids are int32 (the wire form is uint32 <= 2^31-1), log-probs float,
 * everything multi-byte is little-endian on the wire.
 *
 * Decoding outside bytes returns RLVR_ERR_PROTOCOL with a message naming the
 * field ("trajectories.groups[2].samples[5].mask: 17 bytes, tokens has 16"),
 * never crashes, and on error leaves *out zeroed with nothing to free. */
#ifndef RLVR_PROTOCOL_H
#define RLVR_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h" /* rlvr_dtype: tensors go by their safetensors dtype names */

#define RLVR_PROTOCOL_VERSION 1

/* Limits the decoder enforces (docs/protocol.md, "Size limits"). */
#define RLVR_PROTO_MAX_GROUPS 1024
#define RLVR_PROTO_MAX_G 1024
#define RLVR_PROTO_MAX_TOKENS 262144
#define RLVR_PROTO_MAX_TEXT (1 << 20)
#define RLVR_PROTO_MAX_NAME 256
#define RLVR_PROTO_MAX_KEY 128 /* names in components, timings, stats */
#define RLVR_PROTO_MAX_STOP 16
#define RLVR_PROTO_MAX_CAPS 32
#define RLVR_PROTO_MAX_NAMED 64
#define RLVR_PROTO_MAX_STATS 4096
#define RLVR_PROTO_MAX_TENSORS 4096
#define RLVR_PROTO_MAX_DIMS 8 /* = RLVR_ST_MAX_DIMS */
#define RLVR_PROTO_MAX_VALUE (1 << 20)
#define RLVR_PROTO_MAX_VALUE_DEPTH 16
#define RLVR_PROTO_MAX_DEPTH 24 /* msgpack nesting of a whole message */
#define RLVR_PROTO_MAX_WAITS 64
/* GPU weight sync (wsync_init): NCCL's ncclUniqueId, CUDA's
 * cudaIpcMemHandle_t and a device UUID, carried as exact-length bins; the
 * decoder checks these lengths, model/cuda/wsync.cu checks them against the
 * headers it is built with. */
#define RLVR_PROTO_NCCL_ID_BYTES 128
#define RLVR_PROTO_IPC_HANDLE_BYTES 64
#define RLVR_PROTO_UUID_BYTES 16
#define RLVR_PROTO_MAX_RANKS 4096
#define RLVR_PROTO_MAX_SLOTS 16

typedef enum {
  RLVR_MSG_NONE = 0,
  RLVR_MSG_HELLO,
  RLVR_MSG_WORK_REQUEST,
  RLVR_MSG_WORK,
  RLVR_MSG_TRAJECTORIES,
  RLVR_MSG_WEIGHTS,
  RLVR_MSG_HEARTBEAT,
  RLVR_MSG_STATS,
  RLVR_MSG_SHUTDOWN,
  RLVR_MSG_ERROR,
  RLVR_MSG_WSYNC_INIT, /* GPU weight sync: how a worker joins (NCCL or CUDA IPC) */
  RLVR_MSG_WSYNC,      /* GPU weight sync: version n is ready (broadcast now / in slot s) */
  RLVR_MSG_WSYNC_ACK,  /* GPU weight sync: a worker joined, or holds version n */
  RLVR_MSG_COUNT
} rlvr_msg_type;

/* "hello", "work_request", ... ("?" for out-of-range values). */
const char *rlvr_msg_type_name(rlvr_msg_type t);

typedef enum { RLVR_ROLE_LEARNER = 0, RLVR_ROLE_WORKER } rlvr_role;
/* What the verifier host said about a sample: the same numbers and words as
 * rlvr_verify_status (verifiers/host.h) and rlvr_reward_status
 * (rewards/reward.h). Every status past WRONG_FORMAT is an infrastructure
 * failure: the sample is left out of the loss. */
typedef enum {
  RLVR_VERIFIER_STATUS_OK = 0,             /* "ok": scored */
  RLVR_VERIFIER_STATUS_WRONG_FORMAT = 1,   /* "wrong-format": scored, no answer found */
  RLVR_VERIFIER_STATUS_TIMEOUT = 2,        /* "timeout" */
  RLVR_VERIFIER_STATUS_SANDBOX_ERROR = 3,  /* "sandbox-error": memory budget, crash */
  RLVR_VERIFIER_STATUS_VERIFIER_ERROR = 4, /* "verifier-error": the script failed */
  RLVR_VERIFIER_STATUS_INPUT_ERROR = 5,    /* "input-error": the item was malformed */
  RLVR_VERIFIER_STATUS_COUNT
} rlvr_verifier_status;
typedef enum { RLVR_FINISH_EOS = 0, RLVR_FINISH_STOP, RLVR_FINISH_LENGTH, RLVR_FINISH_BUDGET } rlvr_finish;
typedef enum {
  RLVR_HEARTBEAT_STARTING = 0,
  RLVR_HEARTBEAT_IDLE,
  RLVR_HEARTBEAT_BUSY,
  RLVR_HEARTBEAT_STOPPING
} rlvr_heartbeat_status;

/* The wire words of the enums above. */
const char *rlvr_role_name(rlvr_role r);
const char *rlvr_verifier_status_name(rlvr_verifier_status s);
const char *rlvr_finish_name(rlvr_finish f);
const char *rlvr_heartbeat_status_name(rlvr_heartbeat_status s);

/* One entry of a nummap (reward components, timings, stats). */
typedef struct {
  const char *name;
  double value;
} rlvr_named_value;

typedef struct {
  rlvr_role role;
  const char *id;
  const char *const *capabilities; /* (ncapabilities) */
  int ncapabilities;
  uint32_t pid;
  const char *host;
} rlvr_msg_hello;

typedef struct {
  const char *worker_id;
  uint32_t max_groups;
  int has_policy_version;
  uint64_t policy_version;
} rlvr_msg_work_request;

/* s1 budget forcing; see docs/protocol.md. */
typedef struct {
  uint32_t min_think_tokens;
  uint32_t max_waits;
  uint32_t max_think_tokens; /* 0 = no cap */
  const char *think_end_text;
  const char *wait_text;
  const char *answer_prefix;
} rlvr_budget;

typedef struct {
  double temperature; /* 0 = greedy */
  uint32_t top_k;     /* 0 = off */
  double top_p;       /* 1 = off */
  uint32_t max_tokens;
  uint64_t seed;
  const char *const *stop; /* (nstop) */
  int nstop;
  int has_budget;
  rlvr_budget budget;
} rlvr_msg_sampling;

/* A JSON-like msgpack value (reference answer map, task meta), kept as its
 * msgpack bytes so that the verifier host converts it once, where it is used. */
typedef struct {
  const uint8_t *msgpack;
  size_t len; /* 0 = absent */
} rlvr_value;

typedef struct {
  uint64_t group_id;
  const int32_t *prompt_ids; /* (nprompt) */
  uint32_t nprompt;
  const char *prompt; /* NUL-terminated, prompt_len bytes */
  size_t prompt_len;
  uint32_t g; /* samples to draw */
  /* The reference answer is a string (reference_map.len == 0) or a map. */
  const char *reference; /* NUL-terminated, reference_len bytes; NULL when a map */
  size_t reference_len;
  rlvr_value reference_map;
  const char *verifier;
  rlvr_value meta; /* len 0 = absent */
} rlvr_prompt_group;

typedef struct {
  uint64_t work_id;
  uint64_t policy_version;
  rlvr_msg_sampling sampling;
  const rlvr_prompt_group *groups; /* (ngroups) */
  uint32_t ngroups;
} rlvr_msg_work;

/* One completion. tokens, mask and logprobs are the completion only, each of
 * length ntokens (T). */
typedef struct {
  const int32_t *tokens;  /* (T) */
  const uint8_t *mask;    /* (T) 1 = sampled (trained on), 0 = inserted by budget forcing */
  const float *logprobs;  /* (T) log-prob under the sampling policy, <= 0 */
  uint32_t ntokens;       /* T */
  double reward;
  const rlvr_named_value *components; /* (ncomponents) */
  uint32_t ncomponents;
  double advantage;
  const char *verifier;
  const char *verifier_version;
  rlvr_verifier_status verifier_status;
  uint64_t seed;
  rlvr_finish finish;
  const rlvr_named_value *timings; /* (ntimings); 0 = absent */
  uint32_t ntimings;
} rlvr_sample;

typedef struct {
  uint64_t group_id;
  const int32_t *prompt_ids; /* (nprompt) */
  uint32_t nprompt;
  const rlvr_sample *samples; /* (nsamples) = G */
  uint32_t nsamples;
} rlvr_traj_group;

typedef struct {
  uint64_t work_id;
  const char *worker_id;
  uint64_t policy_version;
  const rlvr_traj_group *groups; /* (ngroups) */
  uint32_t ngroups;
} rlvr_msg_trajectories;

typedef struct {
  const char *name;
  rlvr_dtype dtype;
  int ndim;
  int64_t shape[RLVR_PROTO_MAX_DIMS];
  const void *data; /* nbytes = product(shape) * rlvr_dtype_size(dtype) */
  size_t nbytes;
  /* Decoded: the checksum that was sent and verified. Ignored by the encoder,
   * which computes it. */
  uint32_t crc32c;
} rlvr_tensor;

typedef struct {
  uint64_t version;
  const rlvr_tensor *tensors; /* (ntensors) */
  uint32_t ntensors;
} rlvr_msg_weights;

typedef struct {
  const char *sender;
  double time; /* sender's wall clock, Unix seconds */
  rlvr_heartbeat_status status;
} rlvr_msg_heartbeat;

typedef struct {
  const char *sender;
  const rlvr_named_value *values; /* (nvalues) */
  uint32_t nvalues;
} rlvr_msg_stats;

typedef struct {
  const char *reason;
} rlvr_msg_shutdown;

typedef struct {
  int32_t code; /* an RLVR_ERR_* value */
  const char *message;
  int has_work_id;
  uint64_t work_id;
} rlvr_msg_error;

/* GPU weight sync (docs/protocol.md, "wsync_init"; model/cuda/wsync.h). */
typedef enum { RLVR_WSYNC_METHOD_NCCL = 0, RLVR_WSYNC_METHOD_CUDA_IPC } rlvr_wsync_method;
const char *rlvr_wsync_method_name(rlvr_wsync_method m); /* "nccl", "cuda_ipc" */

typedef struct {
  rlvr_wsync_method method;
  uint64_t layout;       /* fingerprint of the flat bf16 layout (rlvr_wsync_layout.hash) */
  uint64_t bytes;        /* bytes of the flat buffer */
  uint64_t bucket_bytes; /* a multiple of 256 */
  uint32_t timeout_ms;   /* for the join and for each version's transfer */
  /* method NCCL (absent otherwise) */
  const uint8_t *unique_id; /* (RLVR_PROTO_NCCL_ID_BYTES) ncclUniqueId made by rank 0 */
  uint32_t rank;            /* 1 .. nranks-1: this worker's rank; the learner is 0 */
  uint32_t nranks;          /* 2 .. RLVR_PROTO_MAX_RANKS */
  /* method CUDA_IPC (absent otherwise) */
  const uint8_t *handle; /* (RLVR_PROTO_IPC_HANDLE_BYTES) cudaIpcMemHandle_t of the slots */
  const uint8_t *device; /* (RLVR_PROTO_UUID_BYTES) the GPU's UUID: the worker must run on it */
  uint32_t slots;        /* 1 .. RLVR_PROTO_MAX_SLOTS slots of slot_bytes */
  uint64_t slot_bytes;   /* >= bytes, a multiple of 256 */
} rlvr_msg_wsync_init;

typedef struct {
  uint64_t version;
  int has_slot; /* CUDA IPC: the version lies in slot `slot`; NCCL: absent */
  uint32_t slot;
} rlvr_msg_wsync;

typedef struct {
  const char *worker_id;
  int has_version; /* absent: joined (communicator up, or slots mapped) */
  uint64_t version; /* holds this version and reads no slot any more */
} rlvr_msg_wsync_ack;

typedef struct rlvr_msg_mem rlvr_msg_mem;

typedef struct {
  rlvr_msg_type type;
  union {
    rlvr_msg_hello hello;
    rlvr_msg_work_request work_request;
    rlvr_msg_work work;
    rlvr_msg_trajectories trajectories;
    rlvr_msg_weights weights;
    rlvr_msg_heartbeat heartbeat;
    rlvr_msg_stats stats;
    rlvr_msg_shutdown shutdown;
    rlvr_msg_error error;
    rlvr_msg_wsync_init wsync_init;
    rlvr_msg_wsync wsync;
    rlvr_msg_wsync_ack wsync_ack;
  };
  rlvr_msg_mem *mem; /* decoded messages: what they own; NULL for built ones */
} rlvr_msg;

/* Releases what a decoded message owns and zeroes it. Accepts NULL, a zeroed
 * message and a built one (which owns nothing). */
void rlvr_msg_free(rlvr_msg *m);

/* Hands ptr to m: release(ptr) runs at rlvr_msg_free (or now, if m cannot
 * hold it). The transport attaches the received frames that tensor data point
 * into. */
void rlvr_msg_attach(rlvr_msg *m, void *ptr, void (*release)(void *));

/* A growing byte buffer that encoders append to; reuse it across messages to
 * avoid reallocation. */
typedef struct {
  unsigned char *data;
  size_t len, cap;
} rlvr_buf;

void rlvr_buf_free(rlvr_buf *b);
/* Takes the bytes out of b (the caller frees them with free()); b is empty. */
unsigned char *rlvr_buf_release(rlvr_buf *b, size_t *len);

/* Encoding flags. */
enum {
  /* weights: each tensor's bytes go in frame i+1 instead of inline; the caller
   * sends tensors[i].data as that frame (transport does). */
  RLVR_ENCODE_WEIGHT_FRAMES = 1,
};

/* Encodes m into out (out->len is reset first; its capacity is reused).
 * The encoder trusts the caller's struct (counts and pointers) and writes it
 * as is; it computes weight checksums. It checks only what would otherwise
 * make the bytes unparsable (a raw rlvr_value that is not a map) or is
 * unrepresentable (an unknown enum), returning RLVR_ERR_ARG; limits are the
 * receiver's to enforce (run rlvr_msg_decode on the result to check them). */
int rlvr_msg_encode(const rlvr_msg *m, int flags, rlvr_buf *out);

/* A received frame. */
typedef struct {
  const void *data;
  size_t len;
} rlvr_frame;

/* Decodes one single-frame message. Copies what it keeps: buf may be freed
 * afterwards. RLVR_OK or RLVR_ERR_PROTOCOL (message names the field); on
 * error *out is zeroed. */
int rlvr_msg_decode(const void *buf, size_t len, rlvr_msg *out);

/* Decodes frames[0] as the message and frames[1..n) as the tensor frames of a
 * weights message (any other type must have n == 1). Tensor data that are
 * 8-byte aligned in a frame are NOT copied: out->weights.tensors[i].data points
 * into the frame, which must live as long as out (attach it). */
int rlvr_msg_decode_frames(const rlvr_frame *frames, int nframes, rlvr_msg *out);

/* CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected, init and final xor
 * 0xFFFFFFFF): crc32c("123456789") = 0xE3069283. Pass 0 as crc to start;
 * pass a previous result to continue over more bytes. Uses the SSE4.2
 * instruction where the CPU has it. */
uint32_t rlvr_crc32c(uint32_t crc, const void *data, size_t len);
/* The same without the instruction (the path of other CPUs), for tests. */
uint32_t rlvr_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
