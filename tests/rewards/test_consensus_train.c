/* test_consensus_train.c — test-time RL end to end: the learner (tiny Qwen2
 * fixture) trains three steps on tests/rewards/consensus_tasks.jsonl, a
 * dataset where two of four records have no answer field, with
 * task.verifier = "consensus", its groups sampled by the rollout worker on a
 * scripted model (tests/rollout/fake_source.h: the first token is "A" or
 * "B" with equal odds, the rest of the completion is fixed per prompt).
 *
 * The test knows each completion's answer class by hand (the table below:
 * which completions say the same number, which say none) and checks against
 * it, with its own vote (largest class, a tie to the class seen first):
 *   - every sample's reward and accuracy component: 1 when it agrees with
 *     its group's majority, else 0 (no answer: 0);
 *   - "correct" and "majority_correct" only on the labelled groups;
 *   - every metrics.jsonl line: reward, accuracy, consensus_groups,
 *     labelled_groups, consensus_majority_correct, maj_at_g, pass_at_g and
 *     consensus_label_accuracy equal the values computed here;
 *   - the three steps cover a tie, a wrong majority and samples without an
 *     answer;
 *   - a group whose verifier fails and a consensus group whose reference
 *     object has no answer carry no label statistics;
 *   - the same dataset with the math verifier is refused at start-up,
 *     naming the line without an answer;
 *   - an ordinary run (the math verifier on consensus_tasks_labelled.jsonl,
 *     every record labelled): rewards are correctness, every group carries
 *     the label statistics, maj_at_g and pass_at_g equal the test's vote,
 *     the consensus metrics are 0 groups and null. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "learner/learner.h"
#include "rollout/fake_source.h"
#include "rollout/worker.h"
#include "testing.h"

enum { P = 4, G = 4, STEPS = 3 };

/* The scripted completions: per prompt, what "A..." and "B..." say. */
typedef struct {
  const char *key;      /* a word of the prompt */
  const char *text[2];  /* the completion after "A", after "B" */
  int cls[2];           /* the answer class of each: equal classes are equivalent answers; -1 = no answer */
  int gold[2];          /* the class of the label in consensus_tasks.jsonl and in
                           consensus_tasks_labelled.jsonl; -1 = no label */
} script;

static const script SCRIPTS[] = {
    {"alpha", {"A <answer>1/2</answer>", "B <answer>0.5</answer>"}, {0, 0}, {0, 0}},
    {"beta", {"A <answer>7</answer>", "B no idea"}, {0, -1}, {-1, 0}},
    {"gamma", {"A <answer>3</answer>", "B <answer>4</answer>"}, {0, 1}, {0, 0}},
    {"delta", {"A <answer>\\frac{2}{4}</answer>", "B <answer>2</answer>"}, {0, 1}, {-1, 1}},
};
enum { NSCRIPTS = sizeof SCRIPTS / sizeof *SCRIPTS };

static int script_of(const char *prompt) {
  for (int i = 0; i < NSCRIPTS; i++)
    if (strstr(prompt, SCRIPTS[i].key)) return i;
  return -1;
}

static const char *target(const char *prompt, const char *completion, void *user) {
  (void)user;
  const int s = script_of(prompt);
  if (s < 0) return "?";
  return SCRIPTS[s].text[completion[0] == 'B'];
}

static char tmp_root[256];

static void set(rlvr_config *c, const char *kv) { RLVR_CHECK(rlvr_config_set(c, kv) == RLVR_OK, "%s", kv); }

static void config(rlvr_config *c, const char *verifier, const char *dataset) {
  rlvr_config_init(c);
  char kv[600];
  snprintf(kv, sizeof kv, "run.dir=%s/run-%s", tmp_root, verifier);
  set(c, kv);
  snprintf(kv, sizeof kv, "task.verifier=%s", verifier);
  set(c, kv);
  snprintf(kv, sizeof kv, "task.source=%s", dataset);
  set(c, kv);
  const char *sets[] = {
      "model.path=tests/fixtures/models/tiny-qwen2",
      "task.template=plain",
      "sample.temperature=1.0",
      "sample.max_tokens=48",
      "train.steps=3",
      "train.prompts_per_step=4",
      "train.group_size=4",
      "train.micro_batch=8",
      "train.samples_per_step=0",
      "optim.lr=0.001",
      "run.seed=3",
      "log.level=warn",
  };
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) set(c, sets[i]);
}

/* What the test expects of one group, from its completions' texts. */
typedef struct {
  int script, labelled, maj_correct, any_correct, tie, unanswered;
  double reward[G];
  int correct[G];
} expect_group;

static double named(const rlvr_named_value *v, uint32_t n, const char *name, int *found) {
  for (uint32_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) return *found = 1, v[i].value;
  *found = 0;
  return NAN;
}

static void sample_string(const rlvr_tokenizer *tok, const rlvr_sample *s, char *out, size_t cap) {
  rlvr_engine_sample o = {.tokens = (int32_t *)s->tokens, .ntokens = (int)s->ntokens};
  sample_text(tok, &o, out, cap);
}

/* The test's own vote over the classes of a group's samples. consensus:
 * rewards are agreement with the majority, else correctness against the
 * label of dataset `set` (0: some unlabelled, 1: all labelled, -1: none). */
static void expect_of(const script *sc, int si, const int *cls, int consensus, int set, expect_group *e) {
  memset(e, 0, sizeof *e);
  e->script = si;
  int count[2] = {0, 0}, first[2] = {G, G};
  for (int i = 0; i < G; i++) {
    if (cls[i] < 0) {
      e->unanswered++;
      continue;
    }
    count[cls[i]]++;
    if (first[cls[i]] == G) first[cls[i]] = i;
  }
  int win = -1;
  if (count[0] || count[1]) {
    if (count[0] != count[1]) win = count[0] > count[1] ? 0 : 1;
    else win = first[0] < first[1] ? 0 : 1, e->tie = 1;
  }
  const int gold = set >= 0 ? sc->gold[set] : -1;
  e->labelled = gold >= 0;
  if (e->labelled) {
    for (int i = 0; i < G; i++) e->correct[i] = cls[i] == gold, e->any_correct |= e->correct[i];
    e->maj_correct = win == gold;
  }
  for (int i = 0; i < G; i++)
    e->reward[i] = consensus ? (cls[i] >= 0 && cls[i] == win ? 1.0 : 0.0) : (double)e->correct[i];
}

/* Checks one trajectories group against the test's expectations; fills *e. */
static void check_group(const rlvr_tokenizer *tok, const rlvr_traj_group *tg, const char *prompt, const char *verifier,
                        int set, expect_group *e) {
  const int si = script_of(prompt);
  CHECK_MSG(si >= 0, "prompt '%s' is not one of the dataset's", prompt);
  if (si < 0) return;
  const script *sc = &SCRIPTS[si];
  int cls[G];
  for (int i = 0; i < G; i++) {
    char text[256];
    sample_string(tok, &tg->samples[i], text, sizeof text);
    const int b = !strcmp(text, sc->text[1]);
    CHECK_MSG(b || !strcmp(text, sc->text[0]), "group %llu sample %d: text '%s'", (unsigned long long)tg->group_id, i, text);
    CHECK(tg->samples[i].finish == RLVR_FINISH_EOS);
    cls[i] = sc->cls[b];
  }
  const int consensus = !strcmp(verifier, "consensus");
  expect_of(sc, si, cls, consensus, set, e);
  for (int i = 0; i < G; i++) {
    const rlvr_sample *s = &tg->samples[i];
    int f_acc, f_cor, f_maj;
    const double acc = named(s->components, s->ncomponents, "accuracy", &f_acc);
    const double cor = named(s->components, s->ncomponents, "correct", &f_cor);
    const double maj = named(s->components, s->ncomponents, "majority_correct", &f_maj);
    CHECK_MSG(s->reward == e->reward[i] && f_acc && acc == e->reward[i],
              "%s sample %d: reward %g, accuracy %g, want %g", sc->key, i, s->reward, acc, e->reward[i]);
    CHECK(!strcmp(s->verifier, verifier) && s->verifier_status <= RLVR_VERIFIER_STATUS_WRONG_FORMAT);
    if (e->labelled)
      CHECK_MSG(f_cor && f_maj && cor == e->correct[i] && maj == e->maj_correct,
                "%s sample %d: correct %g (want %d), majority_correct %g (want %d)", sc->key, i, cor, e->correct[i], maj,
                e->maj_correct);
    else
      CHECK_MSG(!f_cor && !f_maj, "%s sample %d: an unlabelled group carries label statistics", sc->key, i);
  }
}

/* One metrics.jsonl value against want (NAN: null). */
static void check_metric(const cJSON *o, int step, const char *key, double want) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  int ok;
  if (isnan(want)) ok = cJSON_IsNull(v);
  else ok = cJSON_IsNumber(v) && fabs(v->valuedouble - want) <= 1e-12;
  CHECK_MSG(ok, "step %d: %s is %s, want %g", step, key, cJSON_IsNumber(v) ? "a number" : "not a number", want);
  if (ok && cJSON_IsNumber(v) && fabs(v->valuedouble - want) > 0)
    fprintf(stderr, "step %d %s: |diff| %g\n", step, key, fabs(v->valuedouble - want));
}

static void check_step(const cJSON *o, int step, const expect_group *eg, int n, int consensus) {
  double rsum = 0, lab = 0, maj = 0, any = 0, cor = 0, ncor = 0;
  for (int g = 0; g < n; g++) {
    for (int i = 0; i < G; i++) rsum += eg[g].reward[i];
    if (!eg[g].labelled) continue;
    lab++, maj += eg[g].maj_correct, any += eg[g].any_correct;
    for (int i = 0; i < G; i++) cor += eg[g].correct[i], ncor++;
  }
  check_metric(o, step, "reward", rsum / (n * G));
  check_metric(o, step, "accuracy", rsum / (n * G));
  check_metric(o, step, "consensus_groups", consensus ? n : 0);
  check_metric(o, step, "labelled_groups", lab);
  check_metric(o, step, "consensus_majority_correct", consensus && lab ? maj / lab : NAN);
  check_metric(o, step, "maj_at_g", lab ? maj / lab : NAN);
  check_metric(o, step, "pass_at_g", lab ? any / lab : NAN);
  check_metric(o, step, "consensus_label_accuracy", consensus && ncor ? cor / ncor : NAN);
  printf("ok   step %d: reward %.4f, labelled groups %g, majority right %g of them, pass %g, label accuracy %.4f\n", step,
         rsum / (n * G), lab, maj, any, ncor ? cor / ncor : NAN);
}

/* A work the worker cannot score (a verifier that does not exist) and a
 * consensus group with an object reference without an answer: neither
 * carries label statistics; the consensus group still gets its rewards. */
static void test_unlabelled(const rlvr_tokenizer *tok, rlvr_worker *w) {
  static const char prompt[] = "gamma: one plus two?\n";
  int32_t ids[64];
  size_t np;
  RLVR_CHECK(rlvr_tokenizer_encode(tok, prompt, strlen(prompt), 0, ids, 64, &np) == RLVR_OK);
  /* msgpack {"note": 1}: a reference object without an answer */
  static const uint8_t ref_map[] = {0x81, 0xa4, 'n', 'o', 't', 'e', 0x01};
  rlvr_prompt_group groups[2] = {
      {.group_id = 901, .prompt_ids = ids, .nprompt = (uint32_t)np, .prompt = prompt, .prompt_len = strlen(prompt),
       .g = G, .reference = "3", .reference_len = 1, .verifier = "no_such_verifier"},
      {.group_id = 902, .prompt_ids = ids, .nprompt = (uint32_t)np, .prompt = prompt, .prompt_len = strlen(prompt),
       .g = G, .reference_map = {ref_map, sizeof ref_map}, .verifier = "consensus"},
  };
  rlvr_msg_work work = {.work_id = 900, .policy_version = 0,
                        .sampling = {.temperature = 1.0, .top_p = 1.0, .max_tokens = 48, .seed = 5},
                        .groups = groups, .ngroups = 2};
  rlvr_msg traj;
  const int rc = rlvr_worker_process(w, &work, &traj);
  CHECK_MSG(rc == RLVR_OK, "worker: %s", rlvr_error_message());
  if (rc) return;
  int stats = 0, infra = 0;
  for (int g = 0; g < 2; g++)
    for (int i = 0; i < G; i++) {
      const rlvr_sample *s = &traj.trajectories.groups[g].samples[i];
      int f;
      named(s->components, s->ncomponents, "correct", &f), stats += f;
      named(s->components, s->ncomponents, "majority_correct", &f), stats += f;
      infra += g == 0 && s->verifier_status == RLVR_VERIFIER_STATUS_VERIFIER_ERROR && s->reward == 0.0;
    }
  expect_group e;
  check_group(tok, &traj.trajectories.groups[1], prompt, "consensus", -1, &e);
  CHECK_MSG(stats == 0 && infra == G, "label statistics on %d samples, want none; %d infra failures, want %d", stats,
            infra, G);
  printf("ok   no label statistics for a group whose verifier failed or one with a reference without an answer\n");
}

static void test_train(const char *verifier, int set) {
  const int consensus = !strcmp(verifier, "consensus");
  printf("---- %s on %s\n", verifier, set ? "consensus_tasks_labelled.jsonl" : "consensus_tasks.jsonl");
  rlvr_config c;
  config(&c, verifier, set ? "tests/rewards/consensus_tasks_labelled.jsonl" : "tests/rewards/consensus_tasks.jsonl");
  rlvr_learner_env env;
  memset(&env, 0, sizeof env);
  env.tasks_dir = "tasks";
  env.chat_templates_dir = "model/templates";
  rlvr_learner *L = NULL;
  int rc = rlvr_learner_build(&L, &c, &env);
  CHECK_MSG(rc == RLVR_OK, "learner: %s", rlvr_error_message());
  if (rc) {
    rlvr_config_free(&c);
    return;
  }

  rlvr_tokenizer *tok;
  RLVR_CHECK(rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &tok) == RLVR_OK);
  const int V = rlvr_tokenizer_vocab_size(tok), eos = rlvr_tokenizer_token_id(tok, "<|im_end|>");
  fake_source fs;
  fake_init(&fs, tok, V, 3, 256, eos, target, NULL);
  int32_t ids[4];
  size_t n;
  rlvr_tokenizer_encode(tok, "A", 1, 0, ids, 4, &n);
  fs.fork_a = ids[0];
  rlvr_tokenizer_encode(tok, "B", 1, 0, ids, 4, &n);
  fs.fork_b = ids[0];
  rlvr_verify_options vo;
  rlvr_verify_options_default(&vo, "verifiers");
  vo.workers = 0;
  rlvr_verify_pool *pool;
  RLVR_CHECK(rlvr_pool_build(&pool, &vo) == RLVR_OK);
  rlvr_worker_options wo;
  rlvr_model_config mc = {.max_position = 256};
  RLVR_CHECK(rlvr_worker_options_from_config(&wo, &c, &mc) == RLVR_OK);
  snprintf(wo.id, sizeof wo.id, "w-consensus");
  wo.slots = 3;
  int32_t eos32 = eos;
  rlvr_worker_deps d = {.src = &fs.src, .tok = tok, .eos = &eos32, .neos = 1, .pool = pool};
  RLVR_CHECK(rlvr_reward_config_from(&c, &d.reward) == RLVR_OK);
  RLVR_CHECK(rlvr_advantage_config_from(&c, &d.advantage) == RLVR_OK);
  rlvr_worker *w = rlvr_worker_build(&wo, &d);

  expect_group eg[STEPS][P];
  int ties = 0, wrong_majority = 0, unanswered = 0;
  for (int step = 0; step < STEPS && !rlvr_learner_done(L); step++) {
    rlvr_msg work, traj;
    CHECK(rlvr_learner_work(L, "w-consensus", P, &work) == RLVR_OK);
    CHECK_MSG(work.work.ngroups == P, "step %d: %u groups handed out, want %d", step + 1, work.work.ngroups, P);
    if (work.work.ngroups != P) break;
    rc = rlvr_worker_process(w, &work.work, &traj);
    CHECK_MSG(rc == RLVR_OK, "worker: %s", rlvr_error_message());
    if (rc) break;
    for (int g = 0; g < P; g++) {
      const rlvr_prompt_group *pg = &work.work.groups[g];
      CHECK(traj.trajectories.groups[g].group_id == pg->group_id && !strcmp(pg->verifier, verifier));
      check_group(tok, &traj.trajectories.groups[g], pg->prompt, verifier, set, &eg[step][g]);
      ties += eg[step][g].tie;
      wrong_majority += eg[step][g].labelled && !eg[step][g].maj_correct;
      unanswered += eg[step][g].unanswered;
    }
    CHECK(rlvr_learner_accept(L, &traj.trajectories) == P);
    int stepped = 0;
    CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK);
    CHECK_MSG(stepped, "step %d did not run", step + 1);
  }
  CHECK(rlvr_learner_done(L));
  CHECK(rlvr_learner_finish(L) == RLVR_OK);
  if (consensus) test_unlabelled(tok, w);
  printf("ok   %d steps: %d ties, %d labelled groups with a wrong majority, %d samples without an answer\n", STEPS, ties,
         wrong_majority, unanswered);
  CHECK_MSG(ties > 0 && wrong_majority > 0 && unanswered > 0,
            "the run no longer covers a tie (%d), a wrong majority (%d) and unanswered samples (%d): change run.seed",
            ties, wrong_majority, unanswered);

  char path[600], *text;
  size_t len;
  snprintf(path, sizeof path, "%s/run-%s/metrics.jsonl", tmp_root, verifier);
  CHECK_MSG(rlvr_file_read(path, &text, &len) == RLVR_OK, "%s", rlvr_error_message());
  int lines = 0;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(l);
    CHECK(o);
    if (o && lines < STEPS) check_step(o, lines + 1, eg[lines], P, consensus);
    cJSON_Delete(o);
    lines++;
  }
  CHECK_MSG(lines == STEPS, "metrics.jsonl has %d lines, want %d", lines, STEPS);
  free(text);

  rlvr_worker_free(w);
  rlvr_pool_free(pool);
  fake_free(&fs);
  rlvr_tokenizer_free(tok);
  rlvr_learner_free(L);
  rlvr_config_free(&c);
}

/* Without the consensus verifier a record needs its answer. */
static void test_needs_label(void) {
  rlvr_config c;
  config(&c, "math", "tests/rewards/consensus_tasks.jsonl");
  rlvr_learner_env env;
  memset(&env, 0, sizeof env);
  env.tasks_dir = "tasks";
  env.chat_templates_dir = "model/templates";
  rlvr_learner *L = NULL;
  const int rc = rlvr_learner_build(&L, &c, &env);
  CHECK_MSG(rc == RLVR_ERR_FORMAT && strstr(rlvr_error_message(), "consensus_tasks.jsonl:2: no field 'answer,solution'"),
            "rc %d: %s", rc, rlvr_error_message());
  printf("ok   the math verifier refuses a record without an answer: %s\n", rlvr_error_message());
  rlvr_learner_free(L);
  rlvr_config_free(&c);
}

int main(void) {
  rlvr_log_set_level(RLVR_LOG_WARN);
  snprintf(tmp_root, sizeof tmp_root, "/tmp/rlvr_test_consensus_%d", (int)getpid());
  test_needs_label();
  test_train("consensus", 0);
  test_train("math", 1); /* maj@G and pass@G of an ordinary run */
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
  if (test_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
  return test_done();
}
