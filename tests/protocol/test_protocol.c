/* test_protocol.c — core/protocol: round trips of every message, messages
 * written by an independent encoder (msgpack-python, fixtures from
 * tests/ref/make_protocol_fixtures.py), CRC-32C against published check
 * values and a bitwise reference, and the decoder's rejections: wrong type,
 * wrong version, missing / extra / duplicate / nil fields, wrong field types,
 * inconsistent lengths, truncation, trailing bytes, limits, non-map top
 * levels, hostile containers, and random corruption (no crash, no leak under
 * ASan).
 *
 *   test_protocol                      run the tests
 *   test_protocol --write-corpus DIR   write valid encoded messages (fuzz seeds) */
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/protocol.h"
#include "testing.h"

/* ------------------------------------------------------------------------ */
/* Messages built in C                                                       */

static const char *const caps[] = {"budget_forcing", "cuda"};

static rlvr_msg make_hello(void) {
  rlvr_msg m = {.type = RLVR_MSG_HELLO};
  m.hello = (rlvr_msg_hello){.role = RLVR_ROLE_WORKER, .id = "worker-7", .capabilities = caps,
                             .ncapabilities = 2, .pid = 4242, .host = "node-\xc3\xbc" "1"};
  return m;
}

static rlvr_msg make_work_request(void) {
  rlvr_msg m = {.type = RLVR_MSG_WORK_REQUEST};
  m.work_request = (rlvr_msg_work_request){.worker_id = "worker-7", .max_groups = 4, .has_policy_version = 1,
                                           .policy_version = 12};
  return m;
}

static const int32_t prompt0[] = {1, 2, 3, INT32_MAX};
static const int32_t prompt1[] = {7};
static const char *const stops[] = {"</answer>", "\n\n"};
static uint8_t ref_map[64], meta_map[64];
static size_t ref_map_len, meta_map_len;
static rlvr_prompt_group work_groups[2];

static int pk_cb(void *data, const char *p, size_t n) { /* packer into an rlvr_buf */
  rlvr_buf *b = data;
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static void pk_s(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

/* {"tests": [{"in": "1 2", "out": "3"}], "timeout": 1.5} and
 * {"difficulty": 3, "tags": ["easy", nil, true]}, as the fixture has them. */
static void make_value_maps(void) {
  rlvr_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, pk_cb);
  msgpack_pack_map(&pk, 2);
  pk_s(&pk, "tests");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 2);
  pk_s(&pk, "in");
  pk_s(&pk, "1 2");
  pk_s(&pk, "out");
  pk_s(&pk, "3");
  pk_s(&pk, "timeout");
  msgpack_pack_double(&pk, 1.5);
  memcpy(ref_map, b.data, b.len);
  ref_map_len = b.len;
  b.len = 0;
  msgpack_pack_map(&pk, 2);
  pk_s(&pk, "difficulty");
  msgpack_pack_uint32(&pk, 3);
  pk_s(&pk, "tags");
  msgpack_pack_array(&pk, 3);
  pk_s(&pk, "easy");
  msgpack_pack_nil(&pk);
  msgpack_pack_true(&pk);
  memcpy(meta_map, b.data, b.len);
  meta_map_len = b.len;
  free(b.data);
}

static rlvr_msg make_work(void) {
  make_value_maps();
  work_groups[0] = (rlvr_prompt_group){.group_id = 1000, .prompt_ids = prompt0, .nprompt = 4,
                                       .prompt = "What is 2+3?", .g = 8, .reference = "5", .verifier = "math"};
  work_groups[1] = (rlvr_prompt_group){.group_id = 1001, .prompt_ids = prompt1, .nprompt = 1, .prompt = "", .g = 1,
                                       .reference_map = {ref_map, ref_map_len}, .verifier = "code",
                                       .meta = {meta_map, meta_map_len}};
  rlvr_msg m = {.type = RLVR_MSG_WORK};
  m.work.work_id = 99;
  m.work.policy_version = 12;
  m.work.sampling = (rlvr_msg_sampling){.temperature = 0.75, .top_k = 50, .top_p = 0.9, .max_tokens = 256,
                                    .seed = UINT64_MAX, .stop = stops, .nstop = 2, .has_budget = 1,
                                    .budget = {.min_think_tokens = 32, .max_waits = 2, .max_think_tokens = 200,
                                               .think_end_text = "</think>", .wait_text = "Wait",
                                               .answer_prefix = "<answer>"}};
  m.work.groups = work_groups;
  m.work.ngroups = 2;
  return m;
}

static const int32_t s0_tokens[] = {10, 11, 12};
static const uint8_t s0_mask[] = {1, 0, 1};
static const float s0_lp[] = {-0.5f, -0.0f, -3.25f};
static const rlvr_named_value s0_comps[] = {{"accuracy", 1.0}, {"format", 0.5}};
static const rlvr_named_value s0_timings[] = {{"generate", 0.125}, {"verify", 0.0}};
static rlvr_sample traj_samples[2];
static rlvr_traj_group traj_groups[1];

static rlvr_msg make_trajectories(void) {
  traj_samples[0] = (rlvr_sample){.tokens = s0_tokens, .mask = s0_mask, .logprobs = s0_lp, .ntokens = 3,
                                  .reward = 1.0, .components = s0_comps, .ncomponents = 2, .advantage = 0.75,
                                  .verifier = "math", .verifier_version = "1.2",
                                  .verifier_status = RLVR_VERIFIER_STATUS_OK, .seed = 17, .finish = RLVR_FINISH_EOS,
                                  .timings = s0_timings, .ntimings = 2};
  traj_samples[1] = (rlvr_sample){.ntokens = 0, .reward = 0.0, .advantage = -0.75, .verifier = "math",
                                  .verifier_version = "1.2", .verifier_status = RLVR_VERIFIER_STATUS_TIMEOUT, .seed = 18,
                                  .finish = RLVR_FINISH_LENGTH};
  traj_groups[0] = (rlvr_traj_group){.group_id = 1000, .prompt_ids = prompt0, .nprompt = 4,
                                     .samples = traj_samples, .nsamples = 2};
  rlvr_msg m = {.type = RLVR_MSG_TRAJECTORIES};
  m.trajectories = (rlvr_msg_trajectories){.work_id = 99, .worker_id = "worker-7", .policy_version = 12,
                                           .groups = traj_groups, .ngroups = 1};
  return m;
}

static const float w_small[] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -0.25f};
static const uint8_t w_bf16[] = {0, 1, 2, 3, 4, 5, 6, 7};
static const int64_t w_scalar = -5;
static rlvr_tensor tensors[3];

static rlvr_msg make_weights(void) {
  tensors[0] = (rlvr_tensor){.name = "model.norm.weight", .dtype = RLVR_DTYPE_F32, .ndim = 2, .shape = {2, 3},
                             .data = w_small, .nbytes = sizeof w_small};
  tensors[1] = (rlvr_tensor){.name = "lm_head.weight", .dtype = RLVR_DTYPE_BF16, .ndim = 1, .shape = {4},
                             .data = w_bf16, .nbytes = sizeof w_bf16};
  tensors[2] = (rlvr_tensor){.name = "scalar", .dtype = RLVR_DTYPE_I64, .ndim = 0, .data = &w_scalar,
                             .nbytes = sizeof w_scalar};
  rlvr_msg m = {.type = RLVR_MSG_WEIGHTS};
  m.weights = (rlvr_msg_weights){.version = 13, .tensors = tensors, .ntensors = 3};
  return m;
}

static const rlvr_named_value stat_values[] = {{"tokens_per_s", 1234.5}, {"groups", 3.0}};

static rlvr_msg make_heartbeat(void) {
  rlvr_msg m = {.type = RLVR_MSG_HEARTBEAT};
  m.heartbeat = (rlvr_msg_heartbeat){.sender = "learner", .time = 1700000000.5, .status = RLVR_HEARTBEAT_BUSY};
  return m;
}
static rlvr_msg make_stats(void) {
  rlvr_msg m = {.type = RLVR_MSG_STATS};
  m.stats = (rlvr_msg_stats){.sender = "worker-7", .values = stat_values, .nvalues = 2};
  return m;
}
static rlvr_msg make_shutdown(void) {
  rlvr_msg m = {.type = RLVR_MSG_SHUTDOWN};
  m.shutdown.reason = "run finished";
  return m;
}
static rlvr_msg make_error(void) {
  rlvr_msg m = {.type = RLVR_MSG_ERROR};
  m.error = (rlvr_msg_error){.code = -10, .message = "work 99: bad prompt", .has_work_id = 1, .work_id = 99};
  return m;
}

/* GPU weight sync; the same values as make_protocol_fixtures.py. */
static uint8_t ws_id[RLVR_PROTO_NCCL_ID_BYTES], ws_handle[RLVR_PROTO_IPC_HANDLE_BYTES], ws_uuid[RLVR_PROTO_UUID_BYTES];
static rlvr_msg make_wsync_init(void) {
  for (int i = 0; i < RLVR_PROTO_NCCL_ID_BYTES; i++) ws_id[i] = (uint8_t)i;
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_INIT};
  m.wsync_init = (rlvr_msg_wsync_init){.method = RLVR_WSYNC_METHOD_NCCL, .layout = 0x8F3A5C7E12345678ull,
                                       .bytes = 988000256, .bucket_bytes = 64u << 20, .timeout_ms = 30000,
                                       .unique_id = ws_id, .rank = 2, .nranks = 3};
  return m;
}
static rlvr_msg make_wsync_init_ipc(void) {
  for (int i = 0; i < RLVR_PROTO_IPC_HANDLE_BYTES; i++) ws_handle[i] = (uint8_t)(100 + i);
  for (int i = 0; i < RLVR_PROTO_UUID_BYTES; i++) ws_uuid[i] = (uint8_t)(200 + i);
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_INIT};
  m.wsync_init = (rlvr_msg_wsync_init){.method = RLVR_WSYNC_METHOD_CUDA_IPC, .layout = 0x8F3A5C7E12345678ull,
                                       .bytes = 988000256, .bucket_bytes = 64u << 20, .timeout_ms = 30000,
                                       .handle = ws_handle, .device = ws_uuid, .slots = 2, .slot_bytes = 988000256};
  return m;
}
static rlvr_msg make_wsync(void) {
  rlvr_msg m = {.type = RLVR_MSG_WSYNC};
  m.wsync = (rlvr_msg_wsync){.version = 14, .has_slot = 1, .slot = 1};
  return m;
}
static rlvr_msg make_wsync_ack(void) {
  rlvr_msg m = {.type = RLVR_MSG_WSYNC_ACK};
  m.wsync_ack = (rlvr_msg_wsync_ack){.worker_id = "worker-7", .has_version = 1, .version = 14};
  return m;
}

typedef rlvr_msg (*maker)(void);
static const struct {
  const char *name;
  maker make;
} all[] = {{"hello", make_hello},         {"work_request", make_work_request}, {"work", make_work},
           {"trajectories", make_trajectories}, {"weights", make_weights},  {"heartbeat", make_heartbeat},
           {"stats", make_stats},         {"shutdown", make_shutdown},      {"error", make_error},
           {"wsync_init", make_wsync_init}, {"wsync_init_ipc", make_wsync_init_ipc}, {"wsync", make_wsync},
           {"wsync_ack", make_wsync_ack}};
enum { NALL = sizeof all / sizeof all[0] };

/* ------------------------------------------------------------------------ */
/* Field-by-field comparison of a decoded message with the one built above   */

static int str_eq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static int named_eq(const rlvr_named_value *a, uint32_t na, const rlvr_named_value *b, uint32_t nb) {
  if (na != nb) return 0;
  for (uint32_t i = 0; i < na; i++)
    if (!str_eq(a[i].name, b[i].name) || a[i].value != b[i].value) return 0;
  return 1;
}

static void check_same(const rlvr_msg *got, const rlvr_msg *want, const char *what) {
  CHECK_MSG(got->type == want->type, "%s: type %d want %d", what, got->type, want->type);
  if (got->type != want->type) return;
  switch (want->type) {
    case RLVR_MSG_HELLO: {
      const rlvr_msg_hello *a = &got->hello, *b = &want->hello;
      CHECK(a->role == b->role && str_eq(a->id, b->id) && a->pid == b->pid && str_eq(a->host, b->host));
      CHECK(a->ncapabilities == b->ncapabilities);
      for (int i = 0; i < a->ncapabilities && i < b->ncapabilities; i++)
        CHECK(str_eq(a->capabilities[i], b->capabilities[i]));
      break;
    }
    case RLVR_MSG_WORK_REQUEST: {
      const rlvr_msg_work_request *a = &got->work_request, *b = &want->work_request;
      CHECK(str_eq(a->worker_id, b->worker_id) && a->max_groups == b->max_groups);
      CHECK(a->has_policy_version == b->has_policy_version);
      if (b->has_policy_version) CHECK(a->policy_version == b->policy_version);
      break;
    }
    case RLVR_MSG_WORK: {
      const rlvr_msg_work *a = &got->work, *b = &want->work;
      CHECK(a->work_id == b->work_id && a->policy_version == b->policy_version);
      const rlvr_msg_sampling *sa = &a->sampling, *sb = &b->sampling;
      CHECK(sa->temperature == sb->temperature && sa->top_k == sb->top_k && sa->top_p == sb->top_p);
      CHECK(sa->max_tokens == sb->max_tokens && sa->seed == sb->seed && sa->nstop == sb->nstop);
      for (int i = 0; i < sa->nstop && i < sb->nstop; i++) CHECK(str_eq(sa->stop[i], sb->stop[i]));
      CHECK(sa->has_budget == sb->has_budget);
      if (sb->has_budget) {
        CHECK(sa->budget.min_think_tokens == sb->budget.min_think_tokens);
        CHECK(sa->budget.max_waits == sb->budget.max_waits);
        CHECK(sa->budget.max_think_tokens == sb->budget.max_think_tokens);
        CHECK(str_eq(sa->budget.think_end_text, sb->budget.think_end_text));
        CHECK(str_eq(sa->budget.wait_text, sb->budget.wait_text));
        CHECK(str_eq(sa->budget.answer_prefix, sb->budget.answer_prefix));
      }
      CHECK(a->ngroups == b->ngroups);
      for (uint32_t i = 0; i < a->ngroups && i < b->ngroups; i++) {
        const rlvr_prompt_group *ga = &a->groups[i], *gb = &b->groups[i];
        CHECK(ga->group_id == gb->group_id && ga->nprompt == gb->nprompt && ga->g == gb->g);
        CHECK(ga->nprompt == gb->nprompt && !memcmp(ga->prompt_ids, gb->prompt_ids, 4 * (size_t)gb->nprompt));
        CHECK(str_eq(ga->prompt, gb->prompt) && ga->prompt_len == strlen(gb->prompt));
        CHECK(str_eq(ga->verifier, gb->verifier));
        if (gb->reference_map.len) {
          CHECK(ga->reference == NULL && ga->reference_map.len == gb->reference_map.len);
          CHECK(ga->reference_map.len == gb->reference_map.len &&
                !memcmp(ga->reference_map.msgpack, gb->reference_map.msgpack, gb->reference_map.len));
        } else {
          CHECK(str_eq(ga->reference, gb->reference) && ga->reference_map.len == 0);
        }
        CHECK(ga->meta.len == gb->meta.len);
        if (gb->meta.len && ga->meta.len == gb->meta.len) CHECK(!memcmp(ga->meta.msgpack, gb->meta.msgpack, gb->meta.len));
      }
      break;
    }
    case RLVR_MSG_TRAJECTORIES: {
      const rlvr_msg_trajectories *a = &got->trajectories, *b = &want->trajectories;
      CHECK(a->work_id == b->work_id && str_eq(a->worker_id, b->worker_id) && a->policy_version == b->policy_version);
      CHECK(a->ngroups == b->ngroups);
      for (uint32_t i = 0; i < a->ngroups && i < b->ngroups; i++) {
        const rlvr_traj_group *ga = &a->groups[i], *gb = &b->groups[i];
        CHECK(ga->group_id == gb->group_id && ga->nprompt == gb->nprompt && ga->nsamples == gb->nsamples);
        if (ga->nprompt == gb->nprompt) CHECK(!memcmp(ga->prompt_ids, gb->prompt_ids, 4 * (size_t)gb->nprompt));
        for (uint32_t j = 0; j < ga->nsamples && j < gb->nsamples; j++) {
          const rlvr_sample *x = &ga->samples[j], *y = &gb->samples[j];
          CHECK_MSG(x->ntokens == y->ntokens, "%s: group %u sample %u: %u tokens, want %u", what, i, j, x->ntokens,
                    y->ntokens);
          if (x->ntokens != y->ntokens) continue;
          size_t t = y->ntokens;
          CHECK(t == 0 || !memcmp(x->tokens, y->tokens, 4 * t));
          CHECK(t == 0 || !memcmp(x->mask, y->mask, t));
          /* Bit-exact: float32 travels as its 4 bytes (this also keeps -0.0). */
          CHECK(t == 0 || !memcmp(x->logprobs, y->logprobs, 4 * t));
          CHECK(x->reward == y->reward && x->advantage == y->advantage && x->seed == y->seed);
          CHECK(named_eq(x->components, x->ncomponents, y->components, y->ncomponents));
          CHECK(named_eq(x->timings, x->ntimings, y->timings, y->ntimings));
          CHECK(str_eq(x->verifier, y->verifier) && str_eq(x->verifier_version, y->verifier_version));
          CHECK(x->verifier_status == y->verifier_status && x->finish == y->finish);
        }
      }
      break;
    }
    case RLVR_MSG_WEIGHTS: {
      const rlvr_msg_weights *a = &got->weights, *b = &want->weights;
      CHECK(a->version == b->version && a->ntensors == b->ntensors);
      for (uint32_t i = 0; i < a->ntensors && i < b->ntensors; i++) {
        const rlvr_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        CHECK(str_eq(x->name, y->name) && x->dtype == y->dtype && x->ndim == y->ndim && x->nbytes == y->nbytes);
        for (int d = 0; d < x->ndim && d < y->ndim; d++) CHECK(x->shape[d] == y->shape[d]);
        CHECK(x->nbytes == y->nbytes && (y->nbytes == 0 || !memcmp(x->data, y->data, y->nbytes)));
        CHECK(x->crc32c == rlvr_crc32c(0, y->data, y->nbytes));
      }
      break;
    }
    case RLVR_MSG_HEARTBEAT:
      CHECK(str_eq(got->heartbeat.sender, want->heartbeat.sender) && got->heartbeat.time == want->heartbeat.time &&
            got->heartbeat.status == want->heartbeat.status);
      break;
    case RLVR_MSG_STATS:
      CHECK(str_eq(got->stats.sender, want->stats.sender));
      CHECK(named_eq(got->stats.values, got->stats.nvalues, want->stats.values, want->stats.nvalues));
      break;
    case RLVR_MSG_SHUTDOWN: CHECK(str_eq(got->shutdown.reason, want->shutdown.reason)); break;
    case RLVR_MSG_ERROR:
      CHECK(got->error.code == want->error.code && str_eq(got->error.message, want->error.message));
      CHECK(got->error.has_work_id == want->error.has_work_id);
      if (want->error.has_work_id) CHECK(got->error.work_id == want->error.work_id);
      break;
    case RLVR_MSG_WSYNC_INIT: {
      const rlvr_msg_wsync_init *a = &got->wsync_init, *b = &want->wsync_init;
      CHECK(a->method == b->method && a->layout == b->layout && a->bytes == b->bytes);
      CHECK(a->bucket_bytes == b->bucket_bytes && a->timeout_ms == b->timeout_ms);
      if (b->method == RLVR_WSYNC_METHOD_NCCL) {
        CHECK(a->rank == b->rank && a->nranks == b->nranks && !a->handle && !a->device && !a->slots);
        CHECK(a->unique_id && !memcmp(a->unique_id, b->unique_id, RLVR_PROTO_NCCL_ID_BYTES));
      } else {
        CHECK(a->slots == b->slots && a->slot_bytes == b->slot_bytes && !a->unique_id && !a->nranks);
        CHECK(a->handle && !memcmp(a->handle, b->handle, RLVR_PROTO_IPC_HANDLE_BYTES));
        CHECK(a->device && !memcmp(a->device, b->device, RLVR_PROTO_UUID_BYTES));
      }
      break;
    }
    case RLVR_MSG_WSYNC:
      CHECK(got->wsync.version == want->wsync.version && got->wsync.has_slot == want->wsync.has_slot);
      if (want->wsync.has_slot) CHECK(got->wsync.slot == want->wsync.slot);
      break;
    case RLVR_MSG_WSYNC_ACK:
      CHECK(str_eq(got->wsync_ack.worker_id, want->wsync_ack.worker_id));
      CHECK(got->wsync_ack.has_version == want->wsync_ack.has_version);
      if (want->wsync_ack.has_version) CHECK(got->wsync_ack.version == want->wsync_ack.version);
      break;
    default: CHECK(0);
  }
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static void encode_ok(const rlvr_msg *m, int flags, rlvr_buf *b) {
  int rc = rlvr_msg_encode(m, flags, b);
  CHECK_MSG(rc == RLVR_OK, "encode %s: %s", rlvr_msg_type_name(m->type), rlvr_error_message());
}

/* Decodes and expects rejection with a message containing want. */
static void expect_reject_frames(const rlvr_frame *f, int n, const char *want, const char *what) {
  rlvr_msg m;
  memset(&m, 0x5a, sizeof m);
  rlvr_error_clear();
  int rc = rlvr_msg_decode_frames(f, n, &m);
  CHECK_MSG(rc == RLVR_ERR_PROTOCOL, "%s: rc %d (want RLVR_ERR_PROTOCOL)", what, rc);
  CHECK_MSG(strstr(rlvr_error_message(), want) != NULL, "%s: message '%s' does not contain '%s'", what,
            rlvr_error_message(), want);
  CHECK_MSG(m.type == RLVR_MSG_NONE && m.mem == NULL, "%s: output not zeroed on error", what);
  if (rc == RLVR_OK) rlvr_msg_free(&m);
}

static void expect_reject(const void *buf, size_t len, const char *want, const char *what) {
  rlvr_frame f = {buf, len};
  expect_reject_frames(&f, 1, want, what);
}

/* Mutations of an encoded message through libmsgpackc's object tree: path is
 * dot-separated map keys and array indices ("groups.0.samples.1.mask"); its
 * last part is the key acted on. */
typedef enum { MUT_SET, MUT_DEL, MUT_ADD } mut_op;

static msgpack_object o_uint(uint64_t v) {
  msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
  o.via.u64 = v;
  return o;
}
static msgpack_object o_int(int64_t v) {
  msgpack_object o = {.type = v < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER : MSGPACK_OBJECT_POSITIVE_INTEGER};
  o.via.i64 = v;
  return o;
}
static msgpack_object o_float(double v) {
  msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT64};
  o.via.f64 = v;
  return o;
}
static msgpack_object o_str(const char *s) {
  msgpack_object o = {.type = MSGPACK_OBJECT_STR};
  o.via.str.ptr = s;
  o.via.str.size = (uint32_t)strlen(s);
  return o;
}
static msgpack_object o_strn(const char *s, size_t n) {
  msgpack_object o = {.type = MSGPACK_OBJECT_STR};
  o.via.str.ptr = s;
  o.via.str.size = (uint32_t)n;
  return o;
}
static msgpack_object o_bin(const void *p, size_t n) {
  msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
  o.via.bin.ptr = p;
  o.via.bin.size = (uint32_t)n;
  return o;
}
static msgpack_object o_nil(void) { return (msgpack_object){.type = MSGPACK_OBJECT_NIL}; }
static msgpack_object o_bool(int v) {
  msgpack_object o = {.type = MSGPACK_OBJECT_BOOLEAN};
  o.via.boolean = v != 0;
  return o;
}

static msgpack_object *child(msgpack_object *o, const char *part) {
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    unsigned idx = (unsigned)atoi(part);
    return idx < o->via.array.size ? &o->via.array.ptr[idx] : NULL;
  }
  if (o->type != MSGPACK_OBJECT_MAP) return NULL;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    msgpack_object *k = &o->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(part) && !memcmp(k->via.str.ptr, part, strlen(part)))
      return &o->via.map.ptr[i].val;
  }
  return NULL;
}

/* Returns the re-encoded, mutated message in out (caller frees out->data). */
static void mutate(const rlvr_buf *in, const char *path, mut_op op, msgpack_object val, rlvr_buf *out) {
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  RLVR_CHECK(msgpack_unpack_next(&u, (const char *)in->data, in->len, &off) == MSGPACK_UNPACK_SUCCESS);
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  msgpack_object *o = &u.data;
  char *last = strrchr(buf, '.');
  char *key = buf;
  if (last) {
    *last = 0;
    key = last + 1;
    for (char *part = strtok(buf, "."); part; part = strtok(NULL, ".")) {
      o = child(o, part);
      RLVR_CHECK(o, "path %s", path);
    }
  }
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    RLVR_CHECK(op == MUT_SET);
    *child(o, key) = val;
  } else {
    RLVR_CHECK(o->type == MSGPACK_OBJECT_MAP);
    uint32_t n = o->via.map.size, at = n;
    for (uint32_t i = 0; i < n; i++) {
      msgpack_object *k = &o->via.map.ptr[i].key;
      if (k->via.str.size == strlen(key) && !memcmp(k->via.str.ptr, key, strlen(key))) at = i;
    }
    if (op == MUT_SET) {
      RLVR_CHECK(at < n, "no key %s", path);
      o->via.map.ptr[at].val = val;
    } else if (op == MUT_DEL) {
      RLVR_CHECK(at < n, "no key %s", path);
      memmove(&o->via.map.ptr[at], &o->via.map.ptr[at + 1], (n - at - 1) * sizeof *o->via.map.ptr);
      o->via.map.size--;
    } else {
      msgpack_object_kv *kv = msgpack_zone_malloc(u.zone, (n + 1) * sizeof *kv);
      memcpy(kv, o->via.map.ptr, n * sizeof *kv);
      kv[n].key = o_str(key);
      kv[n].val = val;
      o->via.map.ptr = kv;
      o->via.map.size = n + 1;
    }
  }
  out->len = 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, pk_cb);
  msgpack_pack_object(&pk, u.data);
  msgpack_unpacked_destroy(&u);
}

/* Encodes maker's message, mutates it, expects rejection naming want. */
static void reject_mutation(rlvr_msg (*make)(void), const char *path, mut_op op, msgpack_object val,
                            const char *want) {
  rlvr_msg m = make();
  rlvr_buf b = {0}, mb = {0};
  encode_ok(&m, 0, &b);
  mutate(&b, path, op, val, &mb);
  char what[160];
  snprintf(what, sizeof what, "%s %s %s", rlvr_msg_type_name(m.type), op == MUT_SET ? "set" : op == MUT_DEL ? "del" : "add",
           path);
  expect_reject(mb.data, mb.len, want, what);
  free(mb.data);
  rlvr_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

/* Bit-at-a-time CRC-32C, straight from the definition (reflected 0x1EDC6F41). */
static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

static void test_crc32c(void) {
  /* The catalogue's check value and RFC 3720 appendix B.4. */
  CHECK(rlvr_crc32c(0, "123456789", 9) == 0xE3069283u);
  CHECK(rlvr_crc32c_portable(0, "123456789", 9) == 0xE3069283u);
  uint8_t b[64];
  memset(b, 0, 32);
  CHECK(rlvr_crc32c(0, b, 32) == 0x8A9136AAu);
  memset(b, 0xff, 32);
  CHECK(rlvr_crc32c(0, b, 32) == 0x62A8AB43u);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
  CHECK(rlvr_crc32c(0, b, 32) == 0x46DD794Eu);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
  CHECK(rlvr_crc32c(0, b, 32) == 0x113FDB5Cu);
  CHECK(rlvr_crc32c(0, b, 0) == 0);
  /* Every length and alignment up to a few words, and continuation. */
  uint8_t data[300];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof data; i++) x = x * 1103515245u + 12345u, data[i] = (uint8_t)(x >> 16);
  int bad = 0;
  for (size_t off = 0; off < 9; off++)
    for (size_t n = 0; n + off <= sizeof data; n += (n < 40 ? 1 : 37)) {
      uint32_t want = crc_bitwise(data + off, n);
      if (rlvr_crc32c(0, data + off, n) != want) bad++;
      if (rlvr_crc32c_portable(0, data + off, n) != want) bad++;
      size_t half = n / 3;
      if (rlvr_crc32c(rlvr_crc32c(0, data + off, half), data + off + half, n - half) != want) bad++;
      if (rlvr_crc32c_portable(rlvr_crc32c_portable(0, data + off, half), data + off + half, n - half) != want) bad++;
    }
  /* Long inputs (the instruction path runs three interleaved chains on
   * blocks of 12 KiB), at odd offsets and lengths around block edges. */
  size_t big = 3 * 3 * 4096 + 123;
  uint8_t *lb = malloc(big + 8);
  for (size_t i = 0; i < big + 8; i++) x = x * 1103515245u + 12345u, lb[i] = (uint8_t)(x >> 16);
  const size_t lens[] = {3 * 4096 - 1, 3 * 4096, 3 * 4096 + 1, 2 * 3 * 4096 + 8, big};
  for (size_t off = 0; off < 3; off++)
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
      if (rlvr_crc32c(0, lb + off, lens[k]) != crc_bitwise(lb + off, lens[k]) ||
          rlvr_crc32c_portable(0, lb + off, lens[k]) != crc_bitwise(lb + off, lens[k]))
        bad++;
  free(lb);
  CHECK_MSG(bad == 0, "%d CRC-32C mismatches against the bitwise reference", bad);
}

static void test_round_trips(void) {
  rlvr_buf b = {0};
  for (int i = 0; i < NALL; i++) {
    rlvr_msg m = all[i].make(), d;
    encode_ok(&m, 0, &b);
    int rc = rlvr_msg_decode(b.data, b.len, &d);
    CHECK_MSG(rc == RLVR_OK, "decode %s: %s", all[i].name, rlvr_error_message());
    if (rc == RLVR_OK) check_same(&d, &m, all[i].name);
    rlvr_msg_free(&d);
    rlvr_msg_free(&m); /* a built message owns nothing: harmless */
  }
  /* Optional fields left out, empty arrays, extreme integers. */
  rlvr_msg m = make_work_request(), d;
  m.work_request.has_policy_version = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && !d.work_request.has_policy_version);
  rlvr_msg_free(&d);
  m = make_hello();
  m.hello.ncapabilities = 0;
  m.hello.role = RLVR_ROLE_LEARNER;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && d.hello.ncapabilities == 0 && d.hello.role == RLVR_ROLE_LEARNER);
  rlvr_msg_free(&d);
  m = make_work();
  m.work.sampling.nstop = 0;
  m.work.sampling.has_budget = 0;
  m.work.sampling.temperature = 0;
  m.work.work_id = UINT64_MAX;
  work_groups[1].meta.len = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK);
  check_same(&d, &m, "work without options");
  rlvr_msg_free(&d);
  m = make_error();
  m.error.has_work_id = 0;
  m.error.code = -1000;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK);
  check_same(&d, &m, "error without work id");
  rlvr_msg_free(&d);
  /* Weights with zero tensors, and a zero-size tensor. */
  m = make_weights();
  m.weights.ntensors = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && d.weights.ntensors == 0);
  rlvr_msg_free(&d);
  m = make_weights();
  tensors[1].shape[0] = 0;
  tensors[1].nbytes = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK);
  check_same(&d, &m, "zero-size tensor");
  rlvr_msg_free(&d);
  /* Trajectories at the limits: G = MAX_G samples, one of MAX_TOKENS tokens. */
  {
    int32_t *tok = calloc(RLVR_PROTO_MAX_TOKENS, 4);
    uint8_t *mask = calloc(RLVR_PROTO_MAX_TOKENS, 1);
    float *lp = calloc(RLVR_PROTO_MAX_TOKENS, 4);
    for (int i = 0; i < RLVR_PROTO_MAX_TOKENS; i++) tok[i] = i, mask[i] = (uint8_t)(i & 1), lp[i] = -(float)i / 7;
    rlvr_sample *ss = calloc(RLVR_PROTO_MAX_G, sizeof *ss);
    for (int i = 0; i < RLVR_PROTO_MAX_G; i++) {
      ss[i] = traj_samples[1];
      ss[i].seed = (uint64_t)i;
    }
    ss[5] = (rlvr_sample){.tokens = tok, .mask = mask, .logprobs = lp, .ntokens = RLVR_PROTO_MAX_TOKENS,
                          .verifier = "v", .verifier_version = "1", .finish = RLVR_FINISH_BUDGET,
                          .verifier_status = RLVR_VERIFIER_STATUS_INPUT_ERROR};
    rlvr_traj_group g = {.group_id = 1, .prompt_ids = tok, .nprompt = RLVR_PROTO_MAX_TOKENS, .samples = ss,
                         .nsamples = RLVR_PROTO_MAX_G};
    m = make_trajectories();
    m.trajectories.groups = &g;
    encode_ok(&m, 0, &b);
    int rc = rlvr_msg_decode(b.data, b.len, &d);
    CHECK_MSG(rc == RLVR_OK, "limits: %s", rlvr_error_message());
    if (rc == RLVR_OK) check_same(&d, &m, "trajectories at the limits");
    rlvr_msg_free(&d);
    /* One token more than allowed, in a sample and in a prompt. */
    ss[5].ntokens = RLVR_PROTO_MAX_TOKENS;
    int32_t *tok2 = calloc(RLVR_PROTO_MAX_TOKENS + 1, 4);
    uint8_t *mask2 = calloc(RLVR_PROTO_MAX_TOKENS + 1, 1);
    float *lp2 = calloc(RLVR_PROTO_MAX_TOKENS + 1, 4);
    ss[5] = (rlvr_sample){.tokens = tok2, .mask = mask2, .logprobs = lp2, .ntokens = RLVR_PROTO_MAX_TOKENS + 1,
                          .verifier = "v", .verifier_version = "1"};
    encode_ok(&m, 0, &b);
    expect_reject(b.data, b.len, "groups[0].samples[5].tokens: 262145 tokens", "too many completion tokens");
    ss[5].ntokens = 1;
    g.prompt_ids = tok2;
    g.nprompt = RLVR_PROTO_MAX_TOKENS + 1;
    encode_ok(&m, 0, &b);
    expect_reject(b.data, b.len, "groups[0].prompt_ids: 262145 tokens", "too many prompt tokens");
    g.nprompt = 1;
    g.nsamples = RLVR_PROTO_MAX_G + 1;
    rlvr_sample *ss2 = calloc(RLVR_PROTO_MAX_G + 1, sizeof *ss2);
    for (int i = 0; i <= RLVR_PROTO_MAX_G; i++) ss2[i] = traj_samples[1];
    g.samples = ss2;
    encode_ok(&m, 0, &b);
    expect_reject(b.data, b.len, "groups[0].samples: 1025 elements", "too many samples");
    free(ss2);
    free(tok), free(mask), free(lp), free(tok2), free(mask2), free(lp2), free(ss);
  }
  /* Too many groups. */
  {
    rlvr_prompt_group *gs = calloc(RLVR_PROTO_MAX_GROUPS + 1, sizeof *gs);
    m = make_work();
    for (int i = 0; i <= RLVR_PROTO_MAX_GROUPS; i++) gs[i] = work_groups[0];
    m.work.groups = gs;
    m.work.ngroups = RLVR_PROTO_MAX_GROUPS;
    encode_ok(&m, 0, &b);
    CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && d.work.ngroups == RLVR_PROTO_MAX_GROUPS);
    rlvr_msg_free(&d);
    m.work.ngroups = RLVR_PROTO_MAX_GROUPS + 1;
    encode_ok(&m, 0, &b);
    expect_reject(b.data, b.len, "work.groups: 1025 elements", "too many groups");
    free(gs);
  }
  rlvr_buf_free(&b);
}

/* Decodes each fixture written by msgpack-python, checks it against the
 * message built in C, and checks that the C encoder writes the same bytes. */
static void test_fixtures(void) {
  for (int i = 0; i < NALL; i++) {
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/protocol/%s.msgpack", all[i].name);
    char *data;
    size_t len;
    int rc = rlvr_file_read(path, &data, &len);
    CHECK_MSG(rc == RLVR_OK, "%s", rlvr_error_message());
    if (rc) continue;
    rlvr_msg d, m = all[i].make();
    rc = rlvr_msg_decode(data, len, &d);
    CHECK_MSG(rc == RLVR_OK, "fixture %s: %s", all[i].name, rlvr_error_message());
    if (rc == RLVR_OK) check_same(&d, &m, path);
    rlvr_buf b = {0};
    encode_ok(&m, 0, &b);
    CHECK_MSG(b.len == len && !memcmp(b.data, data, len), "%s: C encoding (%zu bytes) differs from msgpack-python's (%zu)",
              all[i].name, b.len, len);
    /* Re-encoding the decoded message gives the same bytes again. */
    if (rc == RLVR_OK) {
      encode_ok(&d, 0, &b);
      CHECK_MSG(b.len == len && !memcmp(b.data, data, len), "%s: decode+encode changes the bytes", all[i].name);
    }
    printf("ok   fixture %s (%zu bytes)\n", all[i].name, len);
    rlvr_buf_free(&b);
    rlvr_msg_free(&d);
    free(data);
  }
}

static void test_weight_frames(void) {
  rlvr_msg m = make_weights(), d;
  rlvr_buf b = {0};
  encode_ok(&m, RLVR_ENCODE_WEIGHT_FRAMES, &b);
  /* Frames in 8-aligned copies, as a transport delivers them: borrowed, not copied. */
  void *fr[3];
  rlvr_frame f[4] = {{b.data, b.len}};
  for (int i = 0; i < 3; i++) {
    fr[i] = aligned_alloc(64, 64);
    memcpy(fr[i], tensors[i].data, tensors[i].nbytes);
    f[i + 1] = (rlvr_frame){fr[i], tensors[i].nbytes};
  }
  int rc = rlvr_msg_decode_frames(f, 4, &d);
  CHECK_MSG(rc == RLVR_OK, "frames: %s", rlvr_error_message());
  if (rc == RLVR_OK) {
    check_same(&d, &m, "weights in frames");
    for (int i = 0; i < 3; i++) CHECK(d.weights.tensors[i].data == fr[i]);
  }
  rlvr_msg_free(&d);
  /* A misaligned frame is copied. */
  unsigned char *odd = malloc(64);
  memcpy(odd + 1, w_small, sizeof w_small);
  f[1].data = odd + 1;
  rc = rlvr_msg_decode_frames(f, 4, &d);
  CHECK(rc == RLVR_OK && d.weights.tensors[0].data != odd + 1 && ((uintptr_t)d.weights.tensors[0].data % 64) == 0);
  if (rc == RLVR_OK) check_same(&d, &m, "weights, misaligned frame");
  rlvr_msg_free(&d);
  f[1].data = fr[0];
  /* Frame faults: too few, too many, wrong length, corrupted. */
  expect_reject_frames(f, 3, "frame: 3 out of range [1, 2]", "missing frame");
  rlvr_frame f5[5] = {f[0], f[1], f[2], f[3], {fr[0], 4}};
  expect_reject_frames(f5, 5, "frame 4 is not referenced", "extra frame");
  f[2].len = 7;
  expect_reject_frames(f, 4, "tensors[1].frame: 7 bytes, shape and dtype say 8", "short frame");
  f[2].len = 8;
  ((uint8_t *)fr[1])[3] ^= 1;
  expect_reject_frames(f, 4, "tensors[1].crc32c: data checksum", "corrupted frame");
  ((uint8_t *)fr[1])[3] ^= 1;
  /* A message without frames that refers to one. */
  expect_reject(b.data, b.len, "refers to a frame, but the message has none", "frame without frames");
  /* Frames after a message that is not weights. */
  rlvr_msg h = make_heartbeat();
  rlvr_buf hb = {0};
  encode_ok(&h, 0, &hb);
  rlvr_frame hf[2] = {{hb.data, hb.len}, {fr[0], 4}};
  expect_reject_frames(hf, 2, "heartbeat: 1 extra frames", "frames after a heartbeat");
  rlvr_buf_free(&hb);
  for (int i = 0; i < 3; i++) free(fr[i]);
  free(odd);
  rlvr_buf_free(&b);
}

static void test_rejections(void) {
  static const uint8_t four[4] = {0}, five[5] = {0}, two[2] = {0, 2};
  /* Message type and version. */
  reject_mutation(make_hello, "type", MUT_SET, o_str("helo"), "message.type: not one of hello, work_request");
  reject_mutation(make_hello, "type", MUT_SET, o_uint(1), "message.type: expected str, got uint");
  reject_mutation(make_hello, "type", MUT_DEL, o_nil(), "message: missing field 'type'");
  reject_mutation(make_hello, "v", MUT_SET, o_uint(2), "protocol version 2, this build speaks 1");
  reject_mutation(make_weights, "v", MUT_SET, o_uint(0), "protocol version 0, this build speaks 1");
  reject_mutation(make_hello, "v", MUT_SET, o_str("1"), "message.v: expected uint, got str");
  reject_mutation(make_hello, "v", MUT_DEL, o_nil(), "missing field 'v'");
  /* Missing, extra, duplicate, nil fields, one per message type. */
  reject_mutation(make_hello, "pid", MUT_DEL, o_nil(), "hello: missing field 'pid'");
  reject_mutation(make_work_request, "worker_id", MUT_DEL, o_nil(), "work_request: missing field 'worker_id'");
  reject_mutation(make_work, "groups.1.verifier", MUT_DEL, o_nil(), "work.groups[1]: missing field 'verifier'");
  reject_mutation(make_work, "sampling.budget.wait_text", MUT_DEL, o_nil(),
                  "work.sampling.budget: missing field 'wait_text'");
  reject_mutation(make_trajectories, "groups.0.samples.1.finish", MUT_DEL, o_nil(),
                  "trajectories.groups[0].samples[1]: missing field 'finish'");
  reject_mutation(make_weights, "tensors.2.crc32c", MUT_DEL, o_nil(), "weights.tensors[2]: missing field 'crc32c'");
  reject_mutation(make_heartbeat, "status", MUT_DEL, o_nil(), "heartbeat: missing field 'status'");
  reject_mutation(make_stats, "values", MUT_DEL, o_nil(), "stats: missing field 'values'");
  reject_mutation(make_shutdown, "reason", MUT_DEL, o_nil(), "shutdown: missing field 'reason'");
  reject_mutation(make_error, "code", MUT_DEL, o_nil(), "error: missing field 'code'");
  reject_mutation(make_hello, "bogus", MUT_ADD, o_uint(1), "hello: unknown field 'bogus'");
  reject_mutation(make_work, "sampling.min_p", MUT_ADD, o_float(0.1), "work.sampling: unknown field 'min_p'");
  reject_mutation(make_trajectories, "groups.0.samples.0.ref_logprobs", MUT_ADD, o_bin(four, 4),
                  "trajectories.groups[0].samples[0]: unknown field 'ref_logprobs'");
  reject_mutation(make_weights, "tensors.0.offset", MUT_ADD, o_uint(0), "weights.tensors[0]: unknown field 'offset'");
  reject_mutation(make_work_request, "max_groups", MUT_ADD, o_uint(2), "field 'max_groups' given twice");
  reject_mutation(make_work_request, "type", MUT_ADD, o_str("work_request"), "field 'type' given twice");
  reject_mutation(make_work_request, "policy_version", MUT_SET, o_nil(), "work_request.policy_version: is nil");
  /* Wrong field types. */
  reject_mutation(make_work_request, "max_groups", MUT_SET, o_str("3"), "work_request.max_groups: expected uint, got str");
  reject_mutation(make_work_request, "max_groups", MUT_SET, o_int(-3), "max_groups: -3 is negative");
  reject_mutation(make_work_request, "max_groups", MUT_SET, o_float(3.0), "max_groups: expected uint, got float");
  reject_mutation(make_hello, "id", MUT_SET, o_bin("w", 1), "hello.id: expected str, got bin");
  reject_mutation(make_hello, "capabilities", MUT_SET, o_str("cuda"), "hello.capabilities: expected an array, got str");
  reject_mutation(make_hello, "capabilities.1", MUT_SET, o_uint(5), "hello.capabilities[1]: expected str, got uint");
  reject_mutation(make_work, "sampling", MUT_SET, o_bool(1), "work.sampling: expected a map, got bool");
  reject_mutation(make_work, "groups.0.prompt_ids", MUT_SET, o_str("1 2 3"),
                  "work.groups[0].prompt_ids: expected bin, got str");
  reject_mutation(make_work, "groups.0.reference", MUT_SET, o_uint(5),
                  "work.groups[0].reference: expected str or map, got uint");
  reject_mutation(make_trajectories, "groups.0.samples.0.logprobs", MUT_SET, o_str("x"),
                  "samples[0].logprobs: expected bin, got str");
  reject_mutation(make_trajectories, "groups.0.samples.0.reward", MUT_SET, o_str("1"),
                  "samples[0].reward: expected a number, got str");
  reject_mutation(make_trajectories, "groups.0.samples.0.components", MUT_SET, o_float(1),
                  "samples[0].components: expected a map, got float");
  reject_mutation(make_heartbeat, "time", MUT_SET, o_bool(0), "heartbeat.time: expected a number, got bool");
  reject_mutation(make_stats, "values", MUT_SET, o_nil(), "stats.values: is nil");
  reject_mutation(make_error, "code", MUT_SET, o_uint(10), "error.code: 10 out of range [-1000, -1]");
  /* Ranges and enums. */
  reject_mutation(make_hello, "role", MUT_SET, o_str("admin"), "hello.role: not one of learner, worker");
  reject_mutation(make_hello, "id", MUT_SET, o_str(""), "hello.id: length 0 out of range [1, 256]");
  reject_mutation(make_hello, "host", MUT_SET, o_strn("a\0b", 3), "hello.host: invalid UTF-8 or NUL at byte 1");
  reject_mutation(make_hello, "host", MUT_SET, o_str("\xc0\xaf"), "invalid UTF-8");
  reject_mutation(make_hello, "host", MUT_SET, o_str("\xed\xa0\x80"), "invalid UTF-8"); /* a surrogate */
  reject_mutation(make_hello, "pid", MUT_SET, o_uint(1ull << 31), "hello.pid: 2147483648 out of range");
  reject_mutation(make_work_request, "max_groups", MUT_SET, o_uint(0), "max_groups: 0 out of range [1, 1024]");
  reject_mutation(make_work_request, "max_groups", MUT_SET, o_uint(1025), "max_groups: 1025 out of range [1, 1024]");
  reject_mutation(make_work, "sampling.temperature", MUT_SET, o_float(-0.5), "temperature: -0.5 out of range [0, 100]");
  reject_mutation(make_work, "sampling.temperature", MUT_SET, o_float(NAN), "temperature: nan is not finite");
  reject_mutation(make_work, "sampling.top_p", MUT_SET, o_float(0), "work.sampling.top_p: 0 out of range (0, 1]");
  reject_mutation(make_work, "sampling.top_p", MUT_SET, o_float(1.5), "top_p: 1.5 out of range");
  reject_mutation(make_work, "sampling.max_tokens", MUT_SET, o_uint(0), "max_tokens: 0 out of range [1, 262144]");
  reject_mutation(make_work, "sampling.budget.max_waits", MUT_SET, o_uint(65), "max_waits: 65 out of range [0, 64]");
  reject_mutation(make_work, "groups.0.g", MUT_SET, o_uint(1025), "work.groups[0].g: 1025 out of range [1, 1024]");
  reject_mutation(make_work, "groups.0.prompt_ids", MUT_SET, o_bin(four, 0), "prompt_ids: 0 tokens, allowed [1, 262144]");
  reject_mutation(make_work, "groups.0.prompt_ids", MUT_SET, o_bin(five, 5), "prompt_ids: 5 bytes, not a multiple of 4");
  reject_mutation(make_work, "groups.0.prompt_ids", MUT_SET, o_bin("\0\0\0\x80", 4),
                  "prompt_ids: token 0 is 2147483648, above 2^31-1");
  reject_mutation(make_work, "groups.0.meta", MUT_ADD, o_str("x"), "work.groups[0].meta: expected a map, got str");
  reject_mutation(make_work, "groups.1.meta.blob", MUT_ADD, o_bin(four, 4), "meta: contains bin, which a value may not");
  {
    msgpack_object_kv kv = {.key = o_uint(7), .val = o_uint(1)};
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP};
    map.via.map.ptr = &kv;
    map.via.map.size = 1;
    reject_mutation(make_work, "groups.1.reference", MUT_SET, map, "work.groups[1].reference: a map key is uint, not str");
    msgpack_object ext = {.type = MSGPACK_OBJECT_EXT};
    ext.via.ext.type = 1;
    ext.via.ext.ptr = "abcd";
    ext.via.ext.size = 4;
    reject_mutation(make_work, "groups.1.meta.when", MUT_ADD, ext, "work.groups[1].meta: contains ext");
  }
  reject_mutation(make_trajectories, "groups.0.samples.0.verifier_status", MUT_SET, o_str("wrong"),
                  "verifier_status: not one of ok, wrong-format, timeout, sandbox-error, verifier-error, input-error");
  reject_mutation(make_trajectories, "groups.0.samples.0.finish", MUT_SET, o_str("eof"),
                  "finish: not one of eos, stop, length, budget");
  reject_mutation(make_trajectories, "groups.0.samples.0.timings.generate", MUT_SET, o_float(-1),
                  "samples[0].timings.generate: -1 out of range");
  reject_mutation(make_trajectories, "groups.0.samples.0.components.accuracy", MUT_SET, o_float(INFINITY),
                  "components.accuracy: inf is not finite");
  reject_mutation(make_trajectories, "groups.0.samples", MUT_SET,
                  (msgpack_object){.type = MSGPACK_OBJECT_ARRAY}, "samples: 0 elements, allowed [1, 1024]");
  reject_mutation(make_trajectories, "groups", MUT_SET, (msgpack_object){.type = MSGPACK_OBJECT_ARRAY},
                  "trajectories.groups: 0 elements, allowed [1, 1024]");
  reject_mutation(make_heartbeat, "status", MUT_SET, o_str("dead"), "heartbeat.status: not one of starting");
  reject_mutation(make_heartbeat, "time", MUT_SET, o_float(-1), "heartbeat.time: -1 out of range");
  reject_mutation(make_weights, "tensors.0.dtype", MUT_SET, o_str("F128"), "weights.tensors[0].dtype: not one of F32");
  reject_mutation(make_weights, "tensors.0.crc32c", MUT_SET, o_uint(1ull << 32), "crc32c: 4294967296 out of range");
  reject_mutation(make_weights, "tensors.0.name", MUT_SET, o_str("lm_head.weight"),
                  "weights.tensors: tensor 'lm_head.weight' appears twice");
  reject_mutation(make_weights, "tensors.0.frame", MUT_ADD, o_uint(1), "needs exactly one of 'data' and 'frame'");
  reject_mutation(make_weights, "tensors.0.data", MUT_DEL, o_nil(), "needs exactly one of 'data' and 'frame'");
  reject_mutation(make_weights, "tensors.0.shape.1", MUT_SET, o_uint(4), "tensors[0].data: 24 bytes, shape and dtype say 32");
  reject_mutation(make_weights, "tensors.0.shape.1", MUT_SET, o_uint(1ull << 62), "tensors[0].shape: byte size overflows");
  reject_mutation(make_weights, "tensors.0.crc32c", MUT_SET, o_uint(12345), "tensors[0].crc32c: data checksum");
  /* Inconsistent lengths of tokens, mask and logprobs. */
  reject_mutation(make_trajectories, "groups.0.samples.0.mask", MUT_SET, o_bin(four, 4),
                  "trajectories.groups[0].samples[0].mask: 4 bytes, tokens has 3");
  reject_mutation(make_trajectories, "groups.0.samples.0.mask", MUT_SET, o_bin(two, 2), "mask: 2 bytes, tokens has 3");
  reject_mutation(make_trajectories, "groups.0.samples.0.logprobs", MUT_SET, o_bin(s0_lp, 8),
                  "samples[0].logprobs: 8 bytes, tokens has 3");
  reject_mutation(make_trajectories, "groups.0.samples.1.mask", MUT_SET, o_bin(two, 1), "samples[1].mask: 1 bytes, tokens has 0");
  {
    uint8_t m3[3] = {1, 2, 0};
    reject_mutation(make_trajectories, "groups.0.samples.0.mask", MUT_SET, o_bin(m3, 3), "mask: byte 1 is 2, not 0 or 1");
    float l3[3] = {-1, NAN, 0};
    reject_mutation(make_trajectories, "groups.0.samples.0.logprobs", MUT_SET, o_bin(l3, 12), "logprobs: value 1 is nan");
    float p3[3] = {-1, -2, 0.5f};
    reject_mutation(make_trajectories, "groups.0.samples.0.logprobs", MUT_SET, o_bin(p3, 12), "logprobs: value 2 is 0.5");
    float i3[3] = {-INFINITY, -2, 0};
    reject_mutation(make_trajectories, "groups.0.samples.0.logprobs", MUT_SET, o_bin(i3, 12), "logprobs: value 0 is -inf");
  }
  /* Over-limit sizes of small arrays and maps. */
  {
    msgpack_object items[RLVR_PROTO_MAX_STATS + 1];
    msgpack_object_kv kvs[RLVR_PROTO_MAX_STATS + 1];
    char names[RLVR_PROTO_MAX_STATS + 1][12];
    for (int i = 0; i <= RLVR_PROTO_MAX_STATS; i++) {
      snprintf(names[i], sizeof names[i], "k%d", i);
      items[i] = o_str("x");
      kvs[i].key = o_str(names[i]);
      kvs[i].val = o_float(1);
    }
    msgpack_object arr = {.type = MSGPACK_OBJECT_ARRAY};
    arr.via.array.ptr = items;
    arr.via.array.size = RLVR_PROTO_MAX_STOP + 1;
    reject_mutation(make_work, "sampling.stop", MUT_SET, arr, "work.sampling.stop: 17 elements, allowed [0, 16]");
    arr.via.array.size = RLVR_PROTO_MAX_CAPS + 1;
    reject_mutation(make_hello, "capabilities", MUT_SET, arr, "hello.capabilities: 33 elements, allowed [0, 32]");
    arr.via.array.size = RLVR_PROTO_MAX_DIMS + 1;
    reject_mutation(make_weights, "tensors.0.shape", MUT_SET, arr, "tensors[0].shape: 9 elements, allowed [0, 8]");
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP};
    map.via.map.ptr = kvs;
    map.via.map.size = RLVR_PROTO_MAX_NAMED + 1;
    reject_mutation(make_trajectories, "groups.0.samples.0.components", MUT_SET, map,
                    "samples[0].components: 65 entries, at most 64");
    map.via.map.size = RLVR_PROTO_MAX_STATS + 1;
    reject_mutation(make_stats, "values", MUT_SET, map, "stats.values: 4097 entries, at most 4096");
    map.via.map.size = RLVR_PROTO_MAX_STATS;
    {
      /* The limit itself is fine. */
      rlvr_msg m = make_stats(), d;
      rlvr_buf b = {0}, mb = {0};
      encode_ok(&m, 0, &b);
      mutate(&b, "values", MUT_SET, map, &mb);
      CHECK(rlvr_msg_decode(mb.data, mb.len, &d) == RLVR_OK && d.stats.nvalues == RLVR_PROTO_MAX_STATS);
      rlvr_msg_free(&d);
      free(mb.data);
      rlvr_buf_free(&b);
    }
    kvs[1].key = o_str("k0");
    map.via.map.size = 3;
    reject_mutation(make_stats, "values", MUT_SET, map, "stats.values: name 'k0' appears twice");
    static char longname[RLVR_PROTO_MAX_NAME + 2];
    memset(longname, 'a', RLVR_PROTO_MAX_NAME + 1);
    reject_mutation(make_hello, "host", MUT_SET, o_str(longname), "hello.host: length 257 out of range [1, 256]");
    longname[RLVR_PROTO_MAX_NAME] = 0;
    {
      rlvr_msg m = make_hello(), d;
      m.hello.host = longname;
      rlvr_buf b = {0};
      encode_ok(&m, 0, &b);
      CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && strlen(d.hello.host) == RLVR_PROTO_MAX_NAME);
      rlvr_msg_free(&d);
      rlvr_buf_free(&b);
    }
    char *text = malloc(RLVR_PROTO_MAX_TEXT + 2);
    memset(text, 'x', RLVR_PROTO_MAX_TEXT + 1);
    text[RLVR_PROTO_MAX_TEXT + 1] = 0;
    reject_mutation(make_shutdown, "reason", MUT_SET, o_str(text), "shutdown.reason: length 1048577 out of range");
    free(text);
  }
  /* Non-map top levels, hostile structure, truncation, trailing bytes. */
  expect_reject("", 0, "message: empty", "empty");
  expect_reject("\x91\x01", 2, "top level is not a map", "array at top");
  expect_reject("\x05", 1, "top level is not a map", "int at top");
  expect_reject("\xa3" "abc", 4, "top level is not a map", "str at top");
  expect_reject("\xc0", 1, "top level is not a map", "nil at top");
  expect_reject("\x80", 1, "missing field 'v'", "empty map");
  expect_reject("\xc1", 1, "reserved byte 0xc1", "reserved byte");
  expect_reject("\xdd\xff\xff\xff\xff", 5, "claims 4294967295 elements, 0 bytes remain", "huge array claim");
  expect_reject("\xdf\xff\xff\xff\xff\x01\x02", 7, "claims 8589934590 elements", "huge map claim");
  expect_reject("\x81\xa1v\xdd\x00\x01\x00\x00\x01", 9, "claims 65536 elements", "array claim in a map");
  expect_reject("\x81\xa1v\xc6\xff\xff\xff\xff", 8, "needs 4294967295 bytes", "huge bin claim");
  {
    uint8_t deep[100];
    deep[0] = 0x81, deep[1] = 0xa1, deep[2] = 'v';
    for (int i = 3; i < 99; i++) deep[i] = 0x91;
    deep[99] = 0x01;
    expect_reject(deep, sizeof deep, "nested deeper than 24", "deep nesting");
  }
  for (int i = 0; i < NALL; i++) {
    rlvr_msg m = all[i].make();
    rlvr_buf b = {0};
    encode_ok(&m, 0, &b);
    /* Every proper prefix is rejected. */
    int bad = 0;
    for (size_t n = 1; n < b.len; n++) {
      rlvr_msg d;
      if (rlvr_msg_decode(b.data, n, &d) != RLVR_ERR_PROTOCOL) bad++, rlvr_msg_free(&d);
    }
    CHECK_MSG(bad == 0, "%s: %d truncations accepted", all[i].name, bad);
    expect_reject(b.data, b.len - 1, "truncated", all[i].name);
    b.data = realloc(b.data, b.len + 1);
    b.data[b.len] = 0xc0;
    expect_reject(b.data, b.len + 1, "message: 1 trailing bytes after the map", all[i].name);
    rlvr_buf_free(&b);
  }
}

/* GPU weight sync messages: each field's range, the exact bin lengths, and
 * the fields of one method with the other. */
static void test_wsync_rejections(void) {
  static const uint8_t id127[127] = {0}, h64[64] = {0};
  reject_mutation(make_wsync_init, "method", MUT_SET, o_str("gloo"), "wsync_init.method: not one of nccl, cuda_ipc");
  reject_mutation(make_wsync_init, "unique_id", MUT_SET, o_bin(id127, 127), "wsync_init.unique_id: 127 bytes, must be 128");
  reject_mutation(make_wsync_init, "unique_id", MUT_SET, o_str("id"), "wsync_init.unique_id: expected bin, got str");
  reject_mutation(make_wsync_init, "unique_id", MUT_DEL, o_nil(), "wsync_init: missing field 'unique_id' (method nccl)");
  reject_mutation(make_wsync_init, "rank", MUT_SET, o_uint(3), "wsync_init.rank: 3");
  reject_mutation(make_wsync_init, "rank", MUT_SET, o_uint(0), "wsync_init.rank: 0");
  reject_mutation(make_wsync_init, "nranks", MUT_SET, o_uint(1), "wsync_init.nranks: 1");
  reject_mutation(make_wsync_init, "nranks", MUT_SET, o_uint(RLVR_PROTO_MAX_RANKS + 1), "wsync_init.nranks");
  reject_mutation(make_wsync_init, "handle", MUT_ADD, o_bin(h64, 64), "wsync_init.handle: not allowed with method nccl");
  reject_mutation(make_wsync_init, "bucket_bytes", MUT_SET, o_uint(1000), "bucket_bytes: 1000 is not a multiple of 256");
  reject_mutation(make_wsync_init, "bucket_bytes", MUT_SET, o_uint(0), "wsync_init.bucket_bytes: 0");
  reject_mutation(make_wsync_init, "bytes", MUT_SET, o_uint(0), "wsync_init.bytes: 0");
  reject_mutation(make_wsync_init, "timeout_ms", MUT_SET, o_uint(0), "wsync_init.timeout_ms: 0");
  reject_mutation(make_wsync_init, "layout", MUT_SET, o_int(-1), "wsync_init.layout: -1 is negative");
  reject_mutation(make_wsync_init_ipc, "device", MUT_SET, o_bin(h64, 15), "wsync_init.device: 15 bytes, must be 16");
  reject_mutation(make_wsync_init_ipc, "handle", MUT_SET, o_bin(h64, 63), "wsync_init.handle: 63 bytes, must be 64");
  reject_mutation(make_wsync_init_ipc, "slots", MUT_SET, o_uint(0), "wsync_init.slots: 0");
  reject_mutation(make_wsync_init_ipc, "slots", MUT_SET, o_uint(RLVR_PROTO_MAX_SLOTS + 1), "wsync_init.slots");
  reject_mutation(make_wsync_init_ipc, "slot_bytes", MUT_SET, o_uint(988000000), "wsync_init.slot_bytes: 988000000");
  reject_mutation(make_wsync_init_ipc, "slot_bytes", MUT_SET, o_uint(988000256 + 100), "not a multiple of 256");
  reject_mutation(make_wsync_init_ipc, "slot_bytes", MUT_DEL, o_nil(), "missing field 'slot_bytes' (method cuda_ipc)");
  reject_mutation(make_wsync_init_ipc, "rank", MUT_ADD, o_uint(1), "wsync_init.rank: not allowed with method cuda_ipc");
  reject_mutation(make_wsync, "slot", MUT_SET, o_uint(RLVR_PROTO_MAX_SLOTS), "wsync.slot: 16");
  reject_mutation(make_wsync, "version", MUT_DEL, o_nil(), "wsync: missing field 'version'");
  reject_mutation(make_wsync, "version", MUT_SET, o_float(14.0), "wsync.version: expected uint, got float");
  reject_mutation(make_wsync_ack, "worker_id", MUT_SET, o_str(""), "wsync_ack.worker_id");
  reject_mutation(make_wsync_ack, "version", MUT_SET, o_nil(), "wsync_ack.version: is nil");
  /* Optional fields left out: NCCL's wsync has no slot; a join ack has no version. */
  rlvr_buf b = {0};
  rlvr_msg m = make_wsync(), d;
  m.wsync.has_slot = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && !d.wsync.has_slot && d.wsync.version == 14);
  rlvr_msg_free(&d);
  m = make_wsync_ack();
  m.wsync_ack.has_version = 0;
  encode_ok(&m, 0, &b);
  CHECK(rlvr_msg_decode(b.data, b.len, &d) == RLVR_OK && !d.wsync_ack.has_version);
  rlvr_msg_free(&d);
  /* The encoder refuses a method without its bytes. */
  m = make_wsync_init();
  m.wsync_init.unique_id = NULL;
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG);
  m = make_wsync_init_ipc();
  m.wsync_init.method = (rlvr_wsync_method)5;
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG);
  rlvr_buf_free(&b);
  printf("ok   wsync rejections\n");
}

/* Random corruption of valid messages and random bytes: each decode either
 * succeeds or returns RLVR_ERR_PROTOCOL; ASan and UBSan watch the rest. */
static void test_corruption(void) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
  int other = 0, accepted = 0, total = 0;
  for (int i = 0; i < NALL; i++) {
    rlvr_msg m = all[i].make();
    rlvr_buf b = {0};
    encode_ok(&m, 0, &b);
    unsigned char *c = malloc(b.len + 16);
    for (int trial = 0; trial < 3000; trial++) {
      memcpy(c, b.data, b.len);
      size_t len = b.len;
      int edits = 1 + (int)(RND() % 4);
      for (int e = 0; e < edits; e++) {
        size_t at = RND() % len;
        switch (RND() % 4) {
          case 0: c[at] ^= (unsigned char)(1u << (RND() % 8)); break;
          case 1: c[at] = (unsigned char)RND(); break;
          case 2: if (len > 1) memmove(c + at, c + at + 1, len - at - 1), len--; break;
          case 3: memmove(c + at + 1, c + at, len - at), c[at] = (unsigned char)RND(), len++; break;
        }
        if (len + 2 > b.len + 16) break;
      }
      rlvr_msg d;
      int rc = rlvr_msg_decode(c, len, &d);
      total++;
      if (rc == RLVR_OK) accepted++, rlvr_msg_free(&d);
      else if (rc != RLVR_ERR_PROTOCOL) other++;
    }
    free(c);
    rlvr_buf_free(&b);
  }
  unsigned char r[256];
  for (int trial = 0; trial < 20000; trial++) {
    size_t len = RND() % sizeof r;
    for (size_t k = 0; k < len; k++) r[k] = (unsigned char)RND();
    if (len) r[0] = (unsigned char)(0x80 | (r[0] & 0x0f)); /* mostly maps, to get further in */
    rlvr_msg d;
    int rc = rlvr_msg_decode(r, len, &d);
    total++;
    if (rc == RLVR_OK) accepted++, rlvr_msg_free(&d);
    else if (rc != RLVR_ERR_PROTOCOL) other++;
  }
  CHECK_MSG(other == 0, "%d decodes returned something other than OK or RLVR_ERR_PROTOCOL", other);
  printf("ok   corruption: %d inputs, %d still valid, none crashed\n", total, accepted);
#undef RND
}

static void test_encode_errors(void) {
  rlvr_buf b = {0};
  rlvr_msg m = make_work();
  uint8_t notmap[] = {0x91, 0x01};
  work_groups[1].meta = (rlvr_value){notmap, 2};
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG && b.len == 0);
  uint8_t twomaps[] = {0x80, 0x80};
  work_groups[1].meta = (rlvr_value){twomaps, 2};
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG);
  m = make_trajectories();
  traj_samples[0].finish = (rlvr_finish)9;
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG);
  m.type = (rlvr_msg_type)77;
  CHECK(rlvr_msg_encode(&m, 0, &b) == RLVR_ERR_ARG);
  rlvr_buf_free(&b);
}

static int write_corpus(const char *dir) {
  rlvr_buf b = {0};
  for (int i = 0; i < NALL; i++) {
    rlvr_msg m = all[i].make();
    encode_ok(&m, 0, &b);
    char path[512];
    snprintf(path, sizeof path, "%s/c_%s.msgpack", dir, all[i].name);
    if (rlvr_file_write_atomic(path, b.data, b.len)) {
      fprintf(stderr, "%s\n", rlvr_error_message());
      return 1;
    }
  }
  /* Weights in frames, joined by fuzz_protocol's "FRM!" separator. */
  rlvr_msg m = make_weights();
  encode_ok(&m, RLVR_ENCODE_WEIGHT_FRAMES, &b);
  for (uint32_t i = 0; i < m.weights.ntensors; i++) {
    b.data = realloc(b.data, b.len + 4 + tensors[i].nbytes);
    memcpy(b.data + b.len, "FRM!", 4);
    memcpy(b.data + b.len + 4, tensors[i].data, tensors[i].nbytes);
    b.len += 4 + tensors[i].nbytes;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/c_weights_frames.bin", dir);
  int rc = rlvr_file_write_atomic(path, b.data, b.len);
  rlvr_buf_free(&b);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-corpus")) return write_corpus(argv[2]);
  test_crc32c();
  test_round_trips();
  test_fixtures();
  test_weight_frames();
  test_rejections();
  test_wsync_rejections();
  test_corruption();
  test_encode_errors();
  return test_done();
}
