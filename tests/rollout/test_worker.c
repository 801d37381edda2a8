/* test_worker.c — the rollout worker (rollout/worker.h).
 *
 *  - in process: a work message of two groups (a string reference and a map
 *    reference with meta) through a scripted model whose first token is "A"
 *    or "B" with equal odds and whose completion is then fixed ("A" -> the
 *    right answer, "B" -> a wrong one). The trajectories message is encoded
 *    and decoded with core/protocol.h (so it passes every check of the
 *    schema) and each field is checked against values computed here: the
 *    log-prob of each token from the fake's known logits in double, the
 *    reward from the completion text, GRPO advantages by the formula, seeds
 *    by rlvr_engine_sample_seed, the verifier's name/version/status;
 *  - the format component (reward.format_weight) and an infrastructure
 *    failure (a verifier that does not exist: excluded, reward and advantage 0);
 *  - weights: a weights message (encoded, decoded, CRC checked) written into
 *    the worker's model equals the sender's model bit for bit, BF16 tensors
 *    are converted exactly, bad messages (a missing, unknown, misshapen
 *    tensor, a wrong checksum) change nothing; after an update, greedy
 *    completions equal those of a worker built on the new weights; a work
 *    for another version is refused;
 *  - the socket loop (inproc): hello, work request, weights, two works,
 *    garbage on the work and weights channels (rejected, counted in the
 *    worker's stats message, the worker goes on), shutdown. */
#include <math.h>
#include <msgpack.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/error.h"
#include "core/log.h"
#include "core/protocol.h"
#include "core/safetensors.h"
#include "core/transport.h"
#include "fake_source.h"
#include "model/checkpoint.h"
#include "rollout/engine.h"
#include "rollout/worker.h"
#include "testing.h"

static const char *MODEL_DIR = "tests/fixtures/models/tiny-qwen2";

/* ---- the scripted model: "A" or "B", then a fixed completion ---- */

static const char *ab_target(const char *prompt, const char *completion, void *user) {
  (void)prompt, (void)user;
  if (completion[0] == 'B') return "B</think> <answer>6</answer>";
  return "A</think> <answer>5</answer>";
}

typedef struct {
  rlvr_tokenizer *tok;
  int V, eos;
  rlvr_verify_pool *pool;
  rlvr_verify_pool *pool_proc; /* one worker process: for the socket loop, which runs in a thread */
  rlvr_config cfg;
} env;

static void env_init(env *e) {
  CHECK(rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &e->tok) == RLVR_OK);
  e->V = rlvr_tokenizer_vocab_size(e->tok);
  e->eos = rlvr_tokenizer_token_id(e->tok, "<|im_end|>");
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  vo.workers = 0; /* in this process: quick, and fine inside a thread */
  CHECK(rlvr_pool_build(&e->pool, &vo) == RLVR_OK);
  /* The math verifier keeps a thread-local arena for its thread's life: a
   * thread that scores in process and then exits leaves it behind, so the
   * worker thread of the socket test scores through a worker process. */
  vo.workers = 1;
  CHECK(rlvr_pool_build(&e->pool_proc, &vo) == RLVR_OK);
  rlvr_config_init(&e->cfg);
}

static void env_free(env *e) {
  rlvr_pool_free(e->pool);
  rlvr_pool_free(e->pool_proc);
  rlvr_tokenizer_free(e->tok);
  rlvr_config_free(&e->cfg);
}

static rlvr_worker *make_worker_pool(env *e, const rlvr_logits_source *src, rlvr_model *model, double format_weight,
                                     rlvr_verify_pool *pool) {
  rlvr_worker_options o;
  rlvr_model_config mc = {.max_position = 128};
  if (model) mc = model->cfg;
  CHECK(rlvr_worker_options_from_config(&o, &e->cfg, &mc) == RLVR_OK);
  snprintf(o.id, sizeof o.id, "w-test");
  o.slots = 3; /* fewer than the samples: continuous batching */
  rlvr_worker_deps d = {.model = model, .src = src, .tok = e->tok, .pool = pool};
  static int32_t eos;
  eos = (int32_t)e->eos;
  d.eos = &eos, d.neos = 1;
  CHECK(rlvr_reward_config_from(&e->cfg, &d.reward) == RLVR_OK);
  d.reward.weight[RLVR_REWARD_FORMAT] = format_weight;
  CHECK(rlvr_advantage_config_from(&e->cfg, &d.advantage) == RLVR_OK);
  return rlvr_worker_build(&o, &d);
}

static rlvr_worker *make_worker(env *e, const rlvr_logits_source *src, rlvr_model *model, double format_weight) {
  return make_worker_pool(e, src, model, format_weight, e->pool);
}

/* msgpack bytes of {"answer": "6"} and {"note": 1}. */
static void pack_maps(msgpack_sbuffer *ref, msgpack_sbuffer *meta) {
  msgpack_sbuffer_init(ref);
  msgpack_sbuffer_init(meta);
  msgpack_packer pk;
  msgpack_packer_init(&pk, ref, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "answer", 6);
  msgpack_pack_str_with_body(&pk, "6", 1);
  msgpack_packer_init(&pk, meta, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "note", 4);
  msgpack_pack_int(&pk, 1);
}

typedef struct {
  int32_t prompt[64];
  size_t np;
  char prompt_text[128];
  msgpack_sbuffer ref, meta;
  rlvr_prompt_group groups[2];
  rlvr_msg msg;
} work_fixture;

static void make_work(env *e, work_fixture *f, const char *verifier0, uint64_t version, uint64_t work_id) {
  snprintf(f->prompt_text, sizeof f->prompt_text, "User: 2 + 3 = ? Assistant: <think>");
  CHECK(rlvr_tokenizer_encode(e->tok, f->prompt_text, strlen(f->prompt_text), 0, f->prompt, 64, &f->np) == RLVR_OK);
  pack_maps(&f->ref, &f->meta);
  f->groups[0] = (rlvr_prompt_group){.group_id = 11, .prompt_ids = f->prompt, .nprompt = (uint32_t)f->np,
                                     .prompt = f->prompt_text, .prompt_len = strlen(f->prompt_text), .g = 6,
                                     .reference = "5", .reference_len = 1, .verifier = verifier0};
  f->groups[1] = (rlvr_prompt_group){.group_id = 12, .prompt_ids = f->prompt, .nprompt = (uint32_t)f->np,
                                     .prompt = f->prompt_text, .prompt_len = strlen(f->prompt_text), .g = 6,
                                     .reference_map = {(const uint8_t *)f->ref.data, f->ref.size},
                                     .verifier = "math", .meta = {(const uint8_t *)f->meta.data, f->meta.size}};
  memset(&f->msg, 0, sizeof f->msg);
  f->msg.type = RLVR_MSG_WORK;
  f->msg.work = (rlvr_msg_work){.work_id = work_id, .policy_version = version,
                                .sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .max_tokens = 40, .seed = 99},
                                .groups = f->groups, .ngroups = 2};
}

static void free_work(work_fixture *f) {
  msgpack_sbuffer_destroy(&f->ref);
  msgpack_sbuffer_destroy(&f->meta);
}

/* Encodes and decodes a message: what the learner would receive. */
static int roundtrip(const rlvr_msg *m, rlvr_msg *out) {
  rlvr_buf b = {0};
  int rc = rlvr_msg_encode(m, 0, &b);
  if (!rc) rc = rlvr_msg_decode(b.data, b.len, out);
  if (rc) fprintf(stderr, "roundtrip: %s\n", rlvr_error_message());
  rlvr_buf_free(&b);
  return rc;
}

static double named(const rlvr_named_value *v, uint32_t n, const char *name, int *found) {
  for (uint32_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) {
      *found = 1;
      return v[i].value;
    }
  *found = 0;
  return NAN;
}

static void sample_string(const rlvr_tokenizer *tok, const rlvr_sample *s, char *out, size_t cap) {
  rlvr_engine_sample o = {.tokens = (int32_t *)s->tokens, .ntokens = (int)s->ntokens};
  sample_text(tok, &o, out, cap);
}

/* GRPO advantages of n rewards, written out: (r - mean) / (unbiased std + eps). */
static void grpo(const double *r, int n, double eps, double *a) {
  double m = 0, ss = 0;
  for (int i = 0; i < n; i++) m += r[i];
  m /= n;
  for (int i = 0; i < n; i++) ss += (r[i] - m) * (r[i] - m);
  double sd = sqrt(ss / (n - 1));
  int spread = 0;
  for (int i = 1; i < n; i++) spread |= r[i] != r[0];
  for (int i = 0; i < n; i++) a[i] = spread ? (r[i] - m) / (sd + eps) : 0.0;
}

static void test_in_process(env *e) {
  fake_source fs;
  fake_init(&fs, e->tok, e->V, 3, 128, e->eos, ab_target, NULL);
  int32_t ids[4];
  size_t n;
  rlvr_tokenizer_encode(e->tok, "A", 1, 0, ids, 4, &n);
  fs.fork_a = ids[0];
  rlvr_tokenizer_encode(e->tok, "B", 1, 0, ids, 4, &n);
  fs.fork_b = ids[0];
  for (int fmt = 0; fmt < 2; fmt++) {
    rlvr_worker *w = make_worker(e, &fs.src, NULL, fmt ? 0.5 : 0.0);
    work_fixture wf;
    make_work(e, &wf, "math", 4, 77);
    rlvr_msg traj, dec;
    int rc = rlvr_worker_process(w, &wf.msg.work, &traj);
    CHECK_MSG(rc == RLVR_OK, "process: %s", rlvr_error_message());
    if (rc) continue;
    CHECK(roundtrip(&traj, &dec) == RLVR_OK);
    CHECK(dec.type == RLVR_MSG_TRAJECTORIES);
    const rlvr_msg_trajectories *t = &dec.trajectories;
    CHECK(t->work_id == 77 && !strcmp(t->worker_id, "w-test") && t->policy_version == 4 && t->ngroups == 2);
    /* log-probs from the fake's logits: peak 20 over zeros (two peaks first) */
    const double V = e->V, pk = 20.0;
    const double lp_first = pk - log(2 * exp(pk) + (V - 2)), lp_rest = pk - log(exp(pk) + (V - 1));
    double max_lp_diff = 0, max_adv_diff = 0;
    int right = 0, wrong = 0;
    for (uint32_t g = 0; g < t->ngroups && g < 2; g++) {
      const rlvr_traj_group *tg = &t->groups[g];
      CHECK(tg->group_id == 11 + g && tg->nsamples == 6 && tg->nprompt == wf.np);
      CHECK(memcmp(tg->prompt_ids, wf.prompt, sizeof(int32_t) * wf.np) == 0);
      double rew[6], adv[6];
      for (uint32_t i = 0; i < tg->nsamples && i < 6; i++) {
        const rlvr_sample *s = &tg->samples[i];
        char text[512];
        sample_string(e->tok, s, text, sizeof text);
        const int good = g == 0 ? !strcmp(text, "A</think> <answer>5</answer>") : !strcmp(text, "B</think> <answer>6</answer>");
        const int bad = g == 0 ? !strcmp(text, "B</think> <answer>6</answer>") : !strcmp(text, "A</think> <answer>5</answer>");
        CHECK_MSG(good || bad, "text '%s'", text);
        right += good, wrong += bad;
        int f1, f2, f3, f4, f5;
        const double acc = named(s->components, s->ncomponents, "accuracy", &f1);
        const double fm = named(s->components, s->ncomponents, "format", &f2);
        const double len = named(s->components, s->ncomponents, "length", &f3);
        named(s->timings, s->ntimings, "generate", &f4);
        named(s->timings, s->ntimings, "verify", &f5);
        CHECK(f1 && f2 && f3 && f4 && f5);
        CHECK_MSG(acc == (good ? 1.0 : 0.0) && fm == (fmt ? 1.0 : 0.0) && len == 0.0, "acc %g fmt %g len %g", acc, fm, len);
        CHECK_MSG(s->reward == acc + (fmt ? 0.5 : 0.0), "reward %g", s->reward);
        rew[i] = s->reward;
        CHECK(!strcmp(s->verifier, "math") && !strcmp(s->verifier_version, "1") && s->verifier_status == RLVR_VERIFIER_STATUS_OK);
        CHECK(s->seed == rlvr_engine_sample_seed(99, tg->group_id, (int)i));
        CHECK(s->finish == RLVR_FINISH_EOS && s->tokens[s->ntokens - 1] == e->eos);
        for (uint32_t k = 0; k < s->ntokens; k++) {
          CHECK(s->mask[k] == 1);
          double d = fabs((double)s->logprobs[k] - (k == 0 ? lp_first : lp_rest));
          if (d > max_lp_diff) max_lp_diff = d;
        }
      }
      grpo(rew, 6, 1e-4, adv);
      for (int i = 0; i < 6; i++) {
        double d = fabs(tg->samples[i].advantage - adv[i]);
        if (d > max_adv_diff) max_adv_diff = d;
      }
    }
    /* float log-softmax against double: a few ulps of ~1e-7 */
    CHECK_MSG(max_lp_diff < 1e-5, "log-probs: max |diff| %.3g", max_lp_diff);
    CHECK_MSG(max_adv_diff < 1e-12, "advantages: max |diff| %.3g", max_adv_diff);
    CHECK_MSG(right > 0 && wrong > 0, "right %d wrong %d: no spread to check advantages on", right, wrong);
    printf("ok   in process (format weight %g): %d right, %d wrong; log-probs max |diff| %.3g, advantages %.3g\n",
           fmt ? 0.5 : 0.0, right, wrong, max_lp_diff, max_adv_diff);
    rlvr_msg_free(&dec);
    free_work(&wf);

    /* an infrastructure failure: excluded, reward and advantage 0 */
    if (!fmt) {
      make_work(e, &wf, "no_such_verifier", 4, 78);
      CHECK(rlvr_worker_process(w, &wf.msg.work, &traj) == RLVR_OK);
      CHECK(roundtrip(&traj, &dec) == RLVR_OK);
      const rlvr_traj_group *g0 = &dec.trajectories.groups[0];
      int ok = 1;
      for (uint32_t i = 0; i < g0->nsamples; i++)
        ok &= g0->samples[i].verifier_status == RLVR_VERIFIER_STATUS_VERIFIER_ERROR && g0->samples[i].reward == 0.0 &&
              g0->samples[i].advantage == 0.0;
      CHECK_MSG(ok, "a missing verifier is an infrastructure failure with reward and advantage 0");
      /* the other group is untouched */
      CHECK(dec.trajectories.groups[1].samples[0].verifier_status == RLVR_VERIFIER_STATUS_OK);
      rlvr_worker_stats st;
      rlvr_worker_get_stats(w, &st);
      CHECK(st.infra_failures == 6 && st.works == 2);
      rlvr_msg_free(&dec);
      free_work(&wf);
    }
    rlvr_worker_free(w);
  }
  fake_free(&fs);
}

/* Budget forcing from the work's sampling map: the early "</think>" is
 * taken back and the wait text inserted with mask 0 and log-prob 0; the
 * message still passes the decoder. */
static void test_budget_work(env *e) {
  fake_source fs;
  fake_init(&fs, e->tok, e->V, 3, 128, e->eos, ab_target, NULL);
  rlvr_worker *w = make_worker(e, &fs.src, NULL, 0.0);
  work_fixture wf;
  make_work(e, &wf, "math", 1, 90);
  wf.msg.work.sampling.temperature = 0.0; /* greedy: "A..." */
  rlvr_config c;
  rlvr_config_init(&c);
  CHECK(rlvr_config_set(&c, "budget.min_think_tokens=20") == RLVR_OK);
  wf.msg.work.sampling.has_budget = 1;
  rlvr_rollout_budget_from_config(&c, &wf.msg.work.sampling.budget);
  CHECK(wf.msg.work.sampling.budget.min_think_tokens == 20 && wf.msg.work.sampling.budget.max_waits == 1 &&
        !strcmp(wf.msg.work.sampling.budget.wait_text, "Wait"));
  rlvr_msg traj, dec;
  CHECK(rlvr_worker_process(w, &wf.msg.work, &traj) == RLVR_OK);
  CHECK(roundtrip(&traj, &dec) == RLVR_OK);
  const rlvr_sample *s = &dec.trajectories.groups[0].samples[0];
  char text[512];
  sample_string(e->tok, s, text, sizeof text);
  int inserted = 0, zero_lp = 1;
  for (uint32_t k = 0; k < s->ntokens; k++)
    if (!s->mask[k]) inserted++, zero_lp &= s->logprobs[k] == 0.0f;
  /* the script does not know "AWait": it ends the sequence there */
  CHECK_MSG(!strcmp(text, "AWait") && inserted > 0 && zero_lp && s->finish == RLVR_FINISH_EOS, "text '%s' inserted %d", text, inserted);
  printf("ok   budget forcing in a work: '%s', %d inserted tokens with mask 0\n", text, inserted);
  rlvr_msg_free(&dec);
  rlvr_config_free(&c);
  free_work(&wf);
  rlvr_worker_free(w);
  fake_free(&fs);
}

/* ---- weights ---- */

static rlvr_tensor *tensors_of(const rlvr_model *m, int bf16, uint16_t **bf_mem) {
  rlvr_tensor *t = calloc((size_t)m->num_tensors, sizeof *t);
  *bf_mem = bf16 ? malloc(sizeof(uint16_t) * m->num_params) : NULL;
  for (int i = 0; i < m->num_tensors; i++) {
    const rlvr_tensor_info *info = &m->tensors[i];
    t[i].name = info->name;
    t[i].ndim = info->ndim;
    for (int d = 0; d < info->ndim; d++) t[i].shape[d] = info->shape[d];
    if (bf16) {
      uint16_t *h = *bf_mem + info->offset;
      for (size_t j = 0; j < info->numel; j++) h[j] = rlvr_f32_to_bf16(m->params_memory[info->offset + j]);
      t[i].dtype = RLVR_DTYPE_BF16;
      t[i].data = h;
      t[i].nbytes = info->numel * 2;
    } else {
      t[i].dtype = RLVR_DTYPE_F32;
      t[i].data = m->params_memory + info->offset;
      t[i].nbytes = info->numel * 4;
    }
    t[i].crc32c = rlvr_crc32c(0, t[i].data, t[i].nbytes);
  }
  return t;
}

static int params_equal(const rlvr_model *a, const rlvr_model *b) {
  return a->num_params == b->num_params && !memcmp(a->params_memory, b->params_memory, sizeof(float) * a->num_params);
}

static void test_weights(env *e) {
  rlvr_model a, b, c;
  CHECK(rlvr_model_load(MODEL_DIR, &a) == RLVR_OK);
  CHECK(rlvr_model_load(MODEL_DIR, &b) == RLVR_OK);
  CHECK(rlvr_model_load(MODEL_DIR, &c) == RLVR_OK);
  for (size_t i = 0; i < b.num_params; i++) b.params_memory[i] = b.params_memory[i] * 1.5f + 0.01f * (float)((int)(i % 7) - 3);
  rlvr_worker *w = make_worker(e, NULL, &a, 0.0);
  uint64_t v;
  CHECK(rlvr_worker_version(w, &v) == 0);
  uint16_t *bf;
  rlvr_tensor *tb = tensors_of(&b, 0, &bf);
  rlvr_msg wm = {.type = RLVR_MSG_WEIGHTS};
  wm.weights = (rlvr_msg_weights){.version = 3, .tensors = tb, .ntensors = (uint32_t)b.num_tensors};
  rlvr_msg dec;
  CHECK(roundtrip(&wm, &dec) == RLVR_OK);
  CHECK(rlvr_worker_apply_weights(w, &dec.weights, 1) == RLVR_OK);
  CHECK(params_equal(&a, &b) && rlvr_worker_version(w, &v) == 1 && v == 3);
  rlvr_msg_free(&dec);

  /* bad messages change nothing */
  rlvr_model snap;
  CHECK(rlvr_model_load(MODEL_DIR, &snap) == RLVR_OK);
  memcpy(snap.params_memory, a.params_memory, sizeof(float) * a.num_params);
  wm.weights.version = 9;
  wm.weights.ntensors = (uint32_t)b.num_tensors - 1;
  CHECK(rlvr_worker_apply_weights(w, &wm.weights, 1) == RLVR_ERR_MISMATCH);
  printf("     missing: %s\n", rlvr_error_message());
  wm.weights.ntensors = (uint32_t)b.num_tensors;
  const char *name0 = tb[0].name;
  tb[0].name = "model.layers.99.mlp.up_proj.weight";
  CHECK(rlvr_worker_apply_weights(w, &wm.weights, 1) == RLVR_ERR_MISMATCH);
  printf("     unknown: %s\n", rlvr_error_message());
  tb[0].name = name0;
  int64_t s0 = tb[1].shape[0];
  tb[1].shape[0] = s0 + 1;
  CHECK(rlvr_worker_apply_weights(w, &wm.weights, 1) == RLVR_ERR_MISMATCH);
  printf("     shape: %s\n", rlvr_error_message());
  tb[1].shape[0] = s0;
  uint32_t crc = tb[2].crc32c;
  tb[2].crc32c = crc ^ 1;
  CHECK(rlvr_worker_apply_weights(w, &wm.weights, 1) == RLVR_ERR_MISMATCH);
  printf("     checksum: %s\n", rlvr_error_message());
  CHECK(rlvr_worker_apply_weights(w, &wm.weights, 0) == RLVR_OK); /* unchecked: the caller vouches */
  tb[2].crc32c = crc;
  CHECK(params_equal(&a, &b));
  CHECK(rlvr_worker_version(w, &v) == 1 && v == 9);

  /* after the update, greedy samples equal those of a worker built on b */
  rlvr_worker *wb = make_worker(e, NULL, &b, 0.0);
  rlvr_worker_set_version(wb, 9);
  work_fixture wf;
  make_work(e, &wf, "math", 9, 5);
  wf.msg.work.sampling.temperature = 0.0;
  wf.msg.work.sampling.max_tokens = 16;
  rlvr_msg ta, tbm, da, db;
  CHECK(rlvr_worker_process(w, &wf.msg.work, &ta) == RLVR_OK);
  CHECK(roundtrip(&ta, &da) == RLVR_OK);
  CHECK(rlvr_worker_process(wb, &wf.msg.work, &tbm) == RLVR_OK);
  CHECK(roundtrip(&tbm, &db) == RLVR_OK);
  int same = 1;
  for (uint32_t g = 0; g < 2; g++)
    for (uint32_t i = 0; i < 6; i++) {
      const rlvr_sample *x = &da.trajectories.groups[g].samples[i], *y = &db.trajectories.groups[g].samples[i];
      same &= x->ntokens == y->ntokens && !memcmp(x->tokens, y->tokens, 4 * x->ntokens) &&
              !memcmp(x->logprobs, y->logprobs, 4 * x->ntokens);
    }
  CHECK_MSG(same, "completions after the update differ from a worker built on the new weights");
  rlvr_msg_free(&da), rlvr_msg_free(&db);
  /* a work for another version is refused */
  wf.msg.work.policy_version = 8;
  CHECK(rlvr_worker_process(w, &wf.msg.work, &ta) == RLVR_ERR_MISMATCH && ta.type == RLVR_MSG_NONE);
  free_work(&wf);

  /* BF16 weights are converted exactly */
  rlvr_tensor *tc = tensors_of(&c, 1, &bf);
  rlvr_msg wc = {.type = RLVR_MSG_WEIGHTS};
  wc.weights = (rlvr_msg_weights){.version = 10, .tensors = tc, .ntensors = (uint32_t)c.num_tensors};
  CHECK(roundtrip(&wc, &dec) == RLVR_OK);
  CHECK(rlvr_worker_apply_weights(w, &dec.weights, 1) == RLVR_OK);
  int exact = 1;
  for (size_t i = 0; i < c.num_params; i++) exact &= a.params_memory[i] == rlvr_bf16_to_f32(bf[i]);
  CHECK_MSG(exact, "BF16 weights not converted exactly");
  rlvr_msg_free(&dec);
  printf("ok   weights: applied bit for bit (F32, BF16), bad messages change nothing, completions follow the new weights\n");
  free(bf), free(tc), free(tb);
  rlvr_worker_free(w);
  rlvr_worker_free(wb);
  rlvr_model_free(&a), rlvr_model_free(&b), rlvr_model_free(&c), rlvr_model_free(&snap);
}

/* ---- the socket loop ---- */

typedef struct {
  rlvr_worker *w;
  void *ctx;
  rlvr_transport_options to;
  volatile sig_atomic_t stop;
  int rc;
} thread_arg;

static void *worker_thread(void *p) {
  thread_arg *a = p;
  a->rc = rlvr_worker_run(a->w, a->ctx, "inproc://rollout-test", &a->to, &a->stop);
  return NULL;
}

/* Receives on the ROUTER until a message of type want arrives (others are
 * skipped) or timeout_ms passes. */
static int heartbeats = 0;
static int recv_type(rlvr_sock *s, rlvr_msg_type want, rlvr_msg *m, rlvr_peer *from, int timeout_ms) {
  int64_t end = rlvr_time_ms() + timeout_ms;
  while (rlvr_time_ms() < end) {
    if (rlvr_sock_recv(s, m, from, 100) != RLVR_OK) continue;
    if (m->type == want) return 1;
    heartbeats += m->type == RLVR_MSG_HEARTBEAT;
    rlvr_msg_free(m);
  }
  return 0;
}

static void test_sockets(env *e) {
  rlvr_model model;
  CHECK(rlvr_model_load(MODEL_DIR, &model) == RLVR_OK);
  fake_source fs;
  fake_init(&fs, e->tok, e->V, 3, 128, e->eos, ab_target, NULL);
  rlvr_worker *w = make_worker_pool(e, &fs.src, &model, 0.0, e->pool_proc);
  void *ctx = zmq_ctx_new();
  rlvr_transport_options to;
  rlvr_transport_options_default(&to);
  to.heartbeat_ms = 50;
  rlvr_sock *lw, *lt, *lp;
  CHECK(rlvr_sock_open(&lw, ctx, RLVR_SOCK_WORK_LEARNER, "inproc://rollout-test.work", NULL, &to) == RLVR_OK);
  CHECK(rlvr_sock_open(&lt, ctx, RLVR_SOCK_TRAJ_LEARNER, "inproc://rollout-test.traj", NULL, &to) == RLVR_OK);
  CHECK(rlvr_sock_open(&lp, ctx, RLVR_SOCK_WEIGHTS_LEARNER, "inproc://rollout-test.weights", NULL, &to) == RLVR_OK);
  thread_arg arg = {.w = w, .ctx = ctx, .to = to, .stop = 0, .rc = -1};
  pthread_t th;
  pthread_create(&th, NULL, worker_thread, &arg);
  rlvr_msg m;
  rlvr_peer from;
  CHECK(recv_type(lw, RLVR_MSG_HELLO, &m, &from, 5000) && !strcmp(m.hello.id, "w-test") && m.hello.role == RLVR_ROLE_WORKER);
  rlvr_msg_free(&m);
  CHECK(recv_type(lw, RLVR_MSG_WORK_REQUEST, &m, &from, 5000) && !m.work_request.has_policy_version);
  rlvr_msg_free(&m);
  /* garbage on the work channel: a routed frame that is not msgpack */
  zmq_send(rlvr_sock_zmq(lw), from.id, from.len, ZMQ_SNDMORE);
  zmq_send(rlvr_sock_zmq(lw), "\xc1garbage", 8, 0);
  /* weights version 5 (the same values: the fake writes the completions),
   * then the work; the weights are published until the trajectories come
   * back, since a subscriber may join late */
  uint16_t *bf;
  rlvr_tensor *tv = tensors_of(&model, 0, &bf);
  rlvr_msg wm = {.type = RLVR_MSG_WEIGHTS};
  wm.weights = (rlvr_msg_weights){.version = 5, .tensors = tv, .ntensors = (uint32_t)model.num_tensors};
  work_fixture wf;
  make_work(e, &wf, "math", 5, 1001);
  CHECK(rlvr_sock_send_weights(lp, &wm, NULL, NULL) == RLVR_OK);
  CHECK(rlvr_sock_send(lw, &from, &wf.msg) == RLVR_OK);
  int got = 0;
  for (int i = 0; i < 100 && !got; i++) {
    if (rlvr_sock_recv(lt, &m, NULL, 100) == RLVR_OK) {
      got = 1;
      CHECK(m.type == RLVR_MSG_TRAJECTORIES && m.trajectories.work_id == 1001 && m.trajectories.policy_version == 5);
      CHECK(m.trajectories.ngroups == 2 && m.trajectories.groups[0].nsamples == 6);
      rlvr_msg_free(&m);
    } else {
      rlvr_sock_send_weights(lp, &wm, NULL, NULL);
    }
  }
  CHECK_MSG(got, "no trajectories for the first work");
  /* garbage on the weights channel, then a second work */
  zmq_send(rlvr_sock_zmq(lp), "\x01\x02\x03", 3, 0);
  CHECK(recv_type(lw, RLVR_MSG_WORK_REQUEST, &m, &from, 5000) && m.work_request.has_policy_version &&
        m.work_request.policy_version == 5);
  rlvr_msg_free(&m);
  wf.msg.work.work_id = 1002;
  CHECK(rlvr_sock_send(lw, &from, &wf.msg) == RLVR_OK);
  CHECK(rlvr_sock_recv(lt, &m, NULL, 10000) == RLVR_OK && m.type == RLVR_MSG_TRAJECTORIES && m.trajectories.work_id == 1002);
  rlvr_msg_free(&m);
  int stats_ok = 0;
  for (int64_t end = rlvr_time_ms() + 3000; rlvr_time_ms() < end && !stats_ok;) {
    if (rlvr_sock_recv(lw, &m, &from, 100) != RLVR_OK) continue;
    if (m.type == RLVR_MSG_HEARTBEAT) heartbeats++;
    if (m.type == RLVR_MSG_STATS) {
      int f1, f2, f3;
      double rw = named(m.stats.values, m.stats.nvalues, "rejected_work_messages", &f1);
      double rg = named(m.stats.values, m.stats.nvalues, "rejected_weights_messages", &f2);
      double works = named(m.stats.values, m.stats.nvalues, "works", &f3);
      if (f1 && f2 && f3 && works == 2) {
        stats_ok = 1;
        /* the weights garbage may not have been read yet: only the work one is sure */
        CHECK_MSG(rw >= 1 && rg >= 0, "rejected: work %g weights %g", rw, rg);
      }
    }
    rlvr_msg_free(&m);
  }
  CHECK_MSG(stats_ok, "no stats message after the second work");
  CHECK_MSG(heartbeats > 0, "no heartbeats from the worker");
  /* shutdown on the weights channel: after the garbage sent on it, so the
   * worker has read the garbage when it stops */
  rlvr_msg sd = {.type = RLVR_MSG_SHUTDOWN};
  sd.shutdown.reason = "test over";
  CHECK(rlvr_sock_send(lp, NULL, &sd) == RLVR_OK);
  pthread_join(th, NULL);
  CHECK(arg.rc == RLVR_OK);
  rlvr_worker_stats st;
  rlvr_worker_get_stats(w, &st);
  CHECK(st.works == 2 && st.weights_applied >= 1);
  CHECK_MSG(st.rejected_work == 1 && st.rejected_weights == 1, "rejected: work %lld, weights %lld",
            (long long)st.rejected_work, (long long)st.rejected_weights);
  printf("ok   sockets: hello, work request, weights, two works, garbage on two channels rejected and counted, shutdown (%d heartbeats seen)\n",
         heartbeats);
  rlvr_sock_close(lw), rlvr_sock_close(lt), rlvr_sock_close(lp);
  zmq_ctx_term(ctx);
  free(tv);
  free_work(&wf);
  rlvr_worker_free(w);
  fake_free(&fs);
  rlvr_model_free(&model);
}

static void test_endpoints(void) {
  char a[RLVR_ENDPOINT_MAX], b[RLVR_ENDPOINT_MAX], c[RLVR_ENDPOINT_MAX];
  CHECK(rlvr_rollout_endpoints("tcp://10.0.0.2:5555", a, b, c) == RLVR_OK);
  CHECK(!strcmp(a, "tcp://10.0.0.2:5555") && !strcmp(b, "tcp://10.0.0.2:5556") && !strcmp(c, "tcp://10.0.0.2:5557"));
  CHECK(rlvr_rollout_endpoints("ipc:///tmp/run", a, b, c) == RLVR_OK);
  CHECK(!strcmp(a, "ipc:///tmp/run.work") && !strcmp(b, "ipc:///tmp/run.traj") && !strcmp(c, "ipc:///tmp/run.weights"));
  CHECK(rlvr_rollout_endpoints("tcp://h:1,tcp://h:7,ipc:///x", a, b, c) == RLVR_OK);
  CHECK(!strcmp(a, "tcp://h:1") && !strcmp(b, "tcp://h:7") && !strcmp(c, "ipc:///x"));
  CHECK(rlvr_rollout_endpoints("tcp://h:*", a, b, c) == RLVR_ERR_ARG);
  CHECK(rlvr_rollout_endpoints("tcp://h:65534", a, b, c) == RLVR_ERR_ARG);
  CHECK(rlvr_rollout_endpoints("udp://h:1", a, b, c) == RLVR_ERR_ARG);
  CHECK(rlvr_rollout_endpoints("a,b", a, b, c) == RLVR_ERR_ARG);
}

int main(void) {
  omp_set_num_threads(1);
  rlvr_log_set_level(RLVR_LOG_WARN);
  env e;
  env_init(&e);
  test_endpoints();
  test_in_process(&e);
  test_budget_work(&e);
  test_weights(&e);
  test_sockets(&e);
  env_free(&e);
  return test_done();
}
