/* test_learner.c — the learner in process, driven by fake workers
 * (fake_worker.h) on the tiny Qwen2 fixture and the arith generator:
 *   - on-policy steps: the recomputed log-probs equal the sampled ones
 *     exactly (max_logprob_diff 0 every step), the loss is finite, and the
 *     made-up reward rises;
 *   - the ledger under faults: a lost worker's groups go out again and its
 *     late answer is a counted duplicate; malformed trajectories are counted
 *     and their group handed out again; unknown group ids are counted; with
 *     max_off_policy_steps 1 a group two versions old is dropped as stale;
 *   - dynamic sampling drops zero-spread groups, and fills the batch with
 *     them when every group is flat (the run still ends);
 *   - the KL term (beta > 0) is exactly 0 at the first step and grows;
 *     with two updates per batch the ratio departs from 1;
 *   - resume: 6 steps straight vs 3 steps and part of the 4th (two groups
 *     back, one out), a checkpoint, a new learner with --resume, the rest:
 *     metrics.jsonl identical line for line without "timing" and "infra",
 *     and the final weights identical bit for bit. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "fake_worker.h"
#include "learner/learner.h"
#include "model/checkpoint.h"
#include "testing.h"

static char tmp_root[256];

static void base_config(rlvr_config *c, const char *name) {
  rlvr_config_init(c);
  char dir[512];
  snprintf(dir, sizeof dir, "run.dir=%s/%s", tmp_root, name);
  const char *sets[] = {
      dir,
      "model.path=tests/fixtures/models/tiny-qwen2",
      "task.source=arith",
      "task.template=plain",
      "task.heldout_size=10",
      "sample.temperature=1.0",
      "sample.max_tokens=8",
      "train.steps=6",
      "train.prompts_per_step=4",
      "train.group_size=4",
      "train.micro_batch=6",
      "train.samples_per_step=2",
      "optim.lr=0.01",
      "optim.max_grad_norm=1.0",
      "checkpoint.keep=2",
      "log.level=warn",
  };
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) RLVR_CHECK(rlvr_config_set(c, sets[i]) == RLVR_OK, "%s", sets[i]);
}

static void set(rlvr_config *c, const char *kv) { RLVR_CHECK(rlvr_config_set(c, kv) == RLVR_OK, "%s", kv); }

static rlvr_learner_env base_env(void) {
  rlvr_learner_env e;
  memset(&e, 0, sizeof e);
  e.tasks_dir = "tasks";
  e.chat_templates_dir = "model/templates";
  e.progress = 0;
  return e;
}

static rlvr_learner *build(const rlvr_config *c, const rlvr_learner_env *e) {
  rlvr_learner *L = NULL;
  int rc = rlvr_learner_build(&L, c, e);
  if (rc) fprintf(stderr, "build: %s\n", rlvr_error_message());
  RLVR_CHECK(rc == RLVR_OK);
  return L;
}

/* The worker holds the learner's current weights (what a subscriber gets). */
static void sync_weights(fake_worker *w, rlvr_learner *L) {
  if (!w->have_weights || w->version != rlvr_learner_version(L))
    fake_worker_set_weights(w, rlvr_learner_version(L), rlvr_learner_model(L));
}

/* One round: worker asks for up to max groups, samples them, sends them
 * back. Returns groups sampled. */
static int round_trip(rlvr_learner *L, fake_worker *w, uint32_t max) {
  sync_weights(w, L);
  rlvr_msg work, traj;
  CHECK(rlvr_learner_work(L, w->id, max, &work) == RLVR_OK);
  if (work.work.ngroups == 0) return 0;
  CHECK(fake_worker_run(w, &work.work, &traj) == RLVR_OK);
  rlvr_learner_accept(L, &traj.trajectories);
  return (int)work.work.ngroups;
}

/* Runs to the end with nw workers taking turns. */
static void run_all(rlvr_learner *L, fake_worker *ws, int nw, uint32_t max) {
  for (int turn = 0; !rlvr_learner_done(L) && turn < 10000; turn++) {
    round_trip(L, &ws[turn % nw], max);
    int stepped;
    CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK);
  }
  CHECK(rlvr_learner_done(L));
}

/* metrics.jsonl as an array of lines, each without "timing" (and without
 * "infra" when drop_infra). */
static int read_metrics(const char *run, const char *name, char ***lines, int drop_infra) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/metrics.jsonl", tmp_root, run);
  char *text;
  size_t len;
  if (rlvr_file_read(path, &text, &len) != RLVR_OK) {
    fprintf(stderr, "%s: %s\n", name, rlvr_error_message());
    return 0;
  }
  int n = 0;
  *lines = NULL;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(l);
    RLVR_CHECK(o, "metrics line is not JSON: %s", l);
    cJSON_DeleteItemFromObject(o, "timing");
    if (drop_infra) cJSON_DeleteItemFromObject(o, "infra");
    *lines = realloc(*lines, sizeof(char *) * (n + 1));
    (*lines)[n++] = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
  }
  free(text);
  return n;
}

static void free_lines(char **lines, int n) {
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

static double field(const char *line, const char *key) {
  cJSON *o = cJSON_Parse(line);
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);
  double v = cJSON_IsNumber(f) ? f->valuedouble : NAN;
  cJSON_Delete(o);
  return v;
}

static void test_on_policy(void) {
  printf("-- on-policy run\n");
  rlvr_config c;
  base_config(&c, "onpolicy");
  set(&c, "train.steps=12");
  rlvr_learner_env e = base_env();
  rlvr_learner *L = build(&c, &e);
  fake_worker ws[2];
  fake_worker_init(&ws[0], "w0", FAKE_REWARD_TOKENS);
  fake_worker_init(&ws[1], "w1", FAKE_REWARD_TOKENS);
  run_all(L, ws, 2, 3);
  rlvr_ledger_counts k;
  rlvr_learner_get_counts(L, &k);
  CHECK(k.groups_accepted == 12 * 4 && k.groups_duplicate == 0 && k.groups_stale == 0 && k.groups_made == 48);
  CHECK(rlvr_learner_finish(L) == RLVR_OK);
  rlvr_learner_free(L);
  char **lines;
  int n = read_metrics("onpolicy", "onpolicy", &lines, 0);
  CHECK(n == 12);
  double maxdiff = 0, first = 0, last = 0;
  for (int i = 0; i < n; i++) {
    double d = field(lines[i], "max_logprob_diff");
    if (!(d <= maxdiff)) maxdiff = d;
    CHECK(isfinite(field(lines[i], "loss")) && field(lines[i], "ratio_mean") == 1.0);
    CHECK(field(lines[i], "step") == i + 1);
    if (i < 3) first += field(lines[i], "reward") / 3;
    if (i >= n - 3) last += field(lines[i], "reward") / 3;
  }
  printf("max |recomputed - sampled| log-prob over %d steps: %.3g\n", n, maxdiff);
  printf("reward: first 3 steps %.3f, last 3 steps %.3f\n", first, last);
  CHECK(maxdiff == 0.0);
  CHECK(last > first + 0.05);
  free_lines(lines, n);
  char path[600];
  snprintf(path, sizeof path, "%s/onpolicy/model/model.safetensors", tmp_root);
  CHECK(rlvr_file_exists(path));
  snprintf(path, sizeof path, "%s/onpolicy/checkpoints/latest", tmp_root);
  CHECK(rlvr_file_exists(path));
  fake_worker_free(&ws[0]);
  fake_worker_free(&ws[1]);
  rlvr_config_free(&c);
}

static void test_faults(void) {
  printf("-- ledger faults\n");
  rlvr_config c;
  base_config(&c, "faults");
  set(&c, "train.steps=3");
  rlvr_learner_env e = base_env();
  rlvr_learner *L = build(&c, &e);
  fake_worker a, b;
  fake_worker_init(&a, "a", FAKE_REWARD_TOKENS);
  fake_worker_init(&b, "b", FAKE_REWARD_TOKENS);
  sync_weights(&a, L);
  sync_weights(&b, L);

  /* a takes 2 groups and "dies"; b gets the same groups again. */
  rlvr_msg wa, wb, ta, tb;
  CHECK(rlvr_learner_work(L, "a", 2, &wa) == RLVR_OK && wa.work.ngroups == 2);
  uint64_t ga0 = wa.work.groups[0].group_id, ga1 = wa.work.groups[1].group_id;
  CHECK(fake_worker_run(&a, &wa.work, &ta) == RLVR_OK); /* computed, not yet delivered */
  rlvr_learner_worker_lost(L, "a");
  CHECK(rlvr_learner_work(L, "b", 4, &wb) == RLVR_OK && wb.work.ngroups == 4);
  CHECK(wb.work.groups[0].group_id == ga0 && wb.work.groups[1].group_id == ga1);
  CHECK(fake_worker_run(&b, &wb.work, &tb) == RLVR_OK);
  CHECK(rlvr_learner_accept(L, &tb.trajectories) == 4);
  /* a's late answer: the same groups, already counted. */
  CHECK(rlvr_learner_accept(L, &ta.trajectories) == 0);
  rlvr_ledger_counts k;
  rlvr_learner_get_counts(L, &k);
  CHECK(k.groups_duplicate == 2 && k.groups_reissued == 2 && k.workers_lost == 1 && k.groups_accepted == 4);
  int stepped;
  CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK && stepped == 1);

  /* Malformed: a changed prompt; then an unknown group id. */
  sync_weights(&a, L);
  CHECK(rlvr_learner_work(L, "a", 4, &wa) == RLVR_OK && wa.work.ngroups == 4);
  CHECK(fake_worker_run(&a, &wa.work, &ta) == RLVR_OK);
  rlvr_traj_group *tg = (rlvr_traj_group *)&ta.trajectories.groups[1];
  int32_t bad_prompt[1] = {5};
  const int32_t *saved = tg->prompt_ids;
  uint32_t saved_n = tg->nprompt;
  tg->prompt_ids = bad_prompt;
  tg->nprompt = 1;
  rlvr_traj_group *tg3 = (rlvr_traj_group *)&ta.trajectories.groups[3];
  uint64_t saved_id = tg3->group_id;
  tg3->group_id = 1000000;
  CHECK(rlvr_learner_accept(L, &ta.trajectories) == 2);
  rlvr_learner_get_counts(L, &k);
  CHECK(k.groups_invalid == 1 && k.groups_unknown == 1);
  CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK && stepped == 0);
  /* the invalid group is handed out again; the unknown one's real group is
   * still out with a, which answers it properly now */
  tg->prompt_ids = saved;
  tg->nprompt = saved_n;
  tg3->group_id = saved_id;
  rlvr_msg_trajectories only3 = ta.trajectories;
  only3.groups = tg3;
  only3.ngroups = 1;
  CHECK(rlvr_learner_accept(L, &only3) == 1);
  CHECK(rlvr_learner_work(L, "b", 4, &wb) == RLVR_OK && wb.work.ngroups == 1 && wb.work.groups[0].group_id == tg->group_id);
  sync_weights(&b, L);
  CHECK(fake_worker_run(&b, &wb.work, &tb) == RLVR_OK);
  CHECK(rlvr_learner_accept(L, &tb.trajectories) == 1);
  CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK && stepped == 1);
  CHECK(rlvr_learner_version(L) == 2);
  rlvr_learner_free(L);
  rlvr_config_free(&c);

  /* Stale: max_off_policy_steps 1, a group answered two versions late. */
  base_config(&c, "stale");
  set(&c, "train.max_off_policy_steps=1");
  L = build(&c, &e);
  fake_worker_set_weights(&a, 0, rlvr_learner_model(L));
  fake_worker_set_weights(&b, 0, rlvr_learner_model(L));
  CHECK(rlvr_learner_work(L, "a", 8, &wa) == RLVR_OK && wa.work.ngroups == 8); /* P * (1 + 1) */
  CHECK(fake_worker_run(&a, &wa.work, &ta) == RLVR_OK);
  rlvr_msg_trajectories first4 = ta.trajectories, last4 = ta.trajectories;
  first4.ngroups = 4;
  last4.groups += 4;
  last4.ngroups = 4;
  CHECK(rlvr_learner_accept(L, &first4) == 4);
  CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK && stepped == 1); /* version 1 */
  sync_weights(&b, L);
  CHECK(rlvr_learner_work(L, "b", 8, &wb) == RLVR_OK && wb.work.ngroups == 4);
  CHECK(fake_worker_run(&b, &wb.work, &tb) == RLVR_OK);
  CHECK(rlvr_learner_accept(L, &tb.trajectories) == 4);
  CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK && stepped == 1); /* version 2 */
  CHECK(rlvr_learner_accept(L, &last4) == 0); /* sampled with version 0 */
  rlvr_learner_get_counts(L, &k);
  CHECK(k.groups_stale == 4);
  printf("stale groups dropped: %lld\n", (long long)k.groups_stale);
  rlvr_learner_free(L);
  rlvr_config_free(&c);
  fake_worker_free(&a);
  fake_worker_free(&b);
}

static void test_dynamic_sampling(void) {
  printf("-- dynamic sampling\n");
  rlvr_config c;
  base_config(&c, "dynamic");
  set(&c, "train.steps=3");
  set(&c, "advantage.dynamic_sampling=true");
  rlvr_learner_env e = base_env();
  rlvr_learner *L = build(&c, &e);
  fake_worker w;
  fake_worker_init(&w, "w", FAKE_REWARD_HALF_FLAT);
  run_all(L, &w, 1, 2);
  rlvr_learner_free(L);
  char **lines;
  int n = read_metrics("dynamic", "dynamic", &lines, 0);
  CHECK(n == 3);
  for (int i = 0; i < n; i++) {
    CHECK(field(lines[i], "zero_spread_in_batch") == 0);
    CHECK(field(lines[i], "groups_dropped_zero_spread") >= 3);
    CHECK(field(lines[i], "zero_spread_fraction") > 0.3);
  }
  free_lines(lines, n);
  fake_worker_free(&w);
  rlvr_config_free(&c);

  /* Every group flat: the cap (2 x P groups) stops sampling and the batch
   * is filled with flat groups; no update is made. */
  base_config(&c, "flat");
  set(&c, "train.steps=2");
  set(&c, "advantage.dynamic_sampling=true");
  set(&c, "train.max_groups_factor=2");
  L = build(&c, &e);
  fake_worker_init(&w, "w", FAKE_REWARD_FLAT);
  run_all(L, &w, 1, 3);
  rlvr_ledger_counts k;
  rlvr_learner_get_counts(L, &k);
  printf("flat run: %lld groups sampled for 2 steps of 4\n", (long long)k.groups_accepted);
  CHECK(k.groups_accepted >= 16 && k.groups_accepted <= 18);
  rlvr_learner_free(L);
  n = read_metrics("flat", "flat", &lines, 0);
  CHECK(n == 2);
  for (int i = 0; i < n; i++) CHECK(field(lines[i], "zero_spread_in_batch") == 4);
  free_lines(lines, n);
  fake_worker_free(&w);
  rlvr_config_free(&c);
}

static void test_kl_and_updates(void) {
  printf("-- KL to the reference, two updates per batch\n");
  rlvr_config c;
  base_config(&c, "kl");
  set(&c, "train.steps=3");
  set(&c, "loss.beta=0.1");
  set(&c, "optim.lr=0.001");
  set(&c, "train.updates_per_batch=2");
  set(&c, "loss.eps_low=0.01");
  set(&c, "loss.eps_high=0.01");
  rlvr_learner_env e = base_env();
  rlvr_learner *L = build(&c, &e);
  fake_worker w;
  fake_worker_init(&w, "w", FAKE_REWARD_TOKENS);
  run_all(L, &w, 1, 4);
  rlvr_learner_free(L);
  char **lines;
  int n = read_metrics("kl", "kl", &lines, 0);
  CHECK(n == 3);
  if (n == 3) {
    printf("kl per step: %g %g %g; ratio_max %g %g; clip high %g\n", field(lines[0], "kl"), field(lines[1], "kl"),
           field(lines[2], "kl"), field(lines[0], "ratio_max"), field(lines[1], "ratio_max"),
           field(lines[1], "clip_high_fraction"));
    /* step 1: the first update sees model == reference (KL exactly 0) and
     * the second a moved model: the mean over both is > 0 */
    CHECK(field(lines[0], "kl") > 0 && field(lines[2], "kl") > field(lines[0], "kl"));
    CHECK(field(lines[0], "ratio_max") > 1.0 && field(lines[0], "updates") == 2);
    CHECK(field(lines[1], "clip_high_fraction") + field(lines[1], "clip_low_fraction") > 0);
  }
  free_lines(lines, n);
  fake_worker_free(&w);
  rlvr_config_free(&c);
}

static void test_resume(void) {
  printf("-- resume\n");
  rlvr_config c1, c2;
  base_config(&c1, "straight");
  base_config(&c2, "resumed");
  set(&c1, "checkpoint.every=2");
  set(&c2, "checkpoint.every=2");
  set(&c1, "optim.schedule=cosine");
  set(&c2, "optim.schedule=cosine");
  set(&c1, "optim.warmup_steps=2");
  set(&c2, "optim.warmup_steps=2");
  rlvr_learner_env e = base_env();
  fake_worker ws[2];
  fake_worker_init(&ws[0], "w0", FAKE_REWARD_TOKENS);
  fake_worker_init(&ws[1], "w1", FAKE_REWARD_TOKENS);
  rlvr_learner *L = build(&c1, &e);
  run_all(L, ws, 2, 3);
  CHECK(rlvr_learner_finish(L) == RLVR_OK);
  rlvr_learner_free(L);
  fake_worker_free(&ws[0]);
  fake_worker_free(&ws[1]);

  /* 3 steps, then the learner stops in the middle of step 4: two of its
   * groups came back, one is out with a worker (as at a Ctrl-C). */
  fake_worker_init(&ws[0], "w0", FAKE_REWARD_TOKENS);
  fake_worker_init(&ws[1], "w1", FAKE_REWARD_TOKENS);
  L = build(&c2, &e);
  for (int turn = 0; rlvr_learner_version(L) < 3 && turn < 1000; turn++) {
    round_trip(L, &ws[0], 1);
    int stepped;
    CHECK(rlvr_learner_try_step(L, &stepped) == RLVR_OK);
  }
  CHECK(rlvr_learner_version(L) == 3);
  CHECK(round_trip(L, &ws[0], 2) == 2);
  rlvr_msg held;
  CHECK(rlvr_learner_work(L, "w1", 1, &held) == RLVR_OK && held.work.ngroups == 1);
  CHECK(rlvr_learner_checkpoint(L) == RLVR_OK);
  rlvr_learner_free(L);
  e.resume = 1;
  L = build(&c2, &e);
  CHECK(rlvr_learner_version(L) == 3);
  run_all(L, ws, 2, 2); /* other workers, other chunks: the same samples */
  CHECK(rlvr_learner_finish(L) == RLVR_OK);
  rlvr_learner_free(L);

  char **a, **b;
  int na = read_metrics("straight", "straight", &a, 1), nb = read_metrics("resumed", "resumed", &b, 1);
  CHECK(na == 6 && nb == 6);
  int same = 0;
  for (int i = 0; i < na && i < nb; i++) {
    if (!strcmp(a[i], b[i])) same++;
    else fprintf(stderr, "step %d differs:\n  %s\n  %s\n", i + 1, a[i], b[i]);
  }
  printf("metrics lines identical after resume: %d of %d\n", same, na);
  CHECK(same == 6);
  free_lines(a, na);
  free_lines(b, nb);
  /* final weights, bit for bit */
  rlvr_model ma, mb;
  char pa[600], pb[600];
  snprintf(pa, sizeof pa, "%s/straight/model", tmp_root);
  snprintf(pb, sizeof pb, "%s/resumed/model", tmp_root);
  CHECK(rlvr_model_load(pa, &ma) == RLVR_OK && rlvr_model_load(pb, &mb) == RLVR_OK);
  CHECK(ma.num_params == mb.num_params && !memcmp(ma.params_memory, mb.params_memory, ma.num_params * sizeof(float)));
  rlvr_model_free(&ma);
  rlvr_model_free(&mb);
  /* checkpoint.keep = 2: only two step directories remain */
  char ck[600];
  snprintf(ck, sizeof ck, "%s/resumed/checkpoints/step-00000002", tmp_root);
  CHECK(!rlvr_file_exists(ck));
  snprintf(ck, sizeof ck, "%s/resumed/checkpoints/step-00000006", tmp_root);
  CHECK(rlvr_file_exists(ck));
  fake_worker_free(&ws[0]);
  fake_worker_free(&ws[1]);
  rlvr_config_free(&c1);
  rlvr_config_free(&c2);
}

int main(void) {
  rlvr_log_set_level(RLVR_LOG_ERROR);
  snprintf(tmp_root, sizeof tmp_root, "/tmp/rlvr_test_learner_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(tmp_root) == RLVR_OK);
  test_on_policy();
  test_faults();
  test_dynamic_sampling();
  test_kl_and_updates();
  test_resume();
  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
  }
  return test_done();
}
