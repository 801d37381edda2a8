/* test_sweep.c — sweep specs (expansion order, names, overrides, resolved
 * configs, every error naming the spec and the nearest key), the sweep
 * directory (manifest and run states read back), and the Slurm script
 * pieces (array syntax, template placeholders). Expected names and
 * overrides are written out by hand from the rules in experiments/sweep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "experiments/slurm.h"
#include "experiments/sweep.h"
#include "experiments/sweep_dir.h"
#include "testing.h"

static char tmp[256];

static char *write_spec(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  RLVR_CHECK(rlvr_file_write_atomic(path, text, strlen(text)) == RLVR_OK);
  return path;
}

static rlvr_sweep *load_ok(const char *name, const char *text) {
  rlvr_sweep *s = NULL;
  int rc = rlvr_sweep_load(&s, write_spec(name, text));
  CHECK_MSG(rc == RLVR_OK, "%s: %s", name, rlvr_error_message());
  return s;
}

/* The spec must fail with a message holding every one of the fragments. */
static void load_fails(const char *name, const char *text, const char *frag1, const char *frag2) {
  rlvr_sweep *s = NULL;
  int rc = rlvr_sweep_load(&s, write_spec(name, text));
  const char *msg = rlvr_error_message();
  CHECK_MSG(rc != RLVR_OK && s == NULL, "%s: loaded, should have failed", name);
  CHECK_MSG(strstr(msg, name) != NULL, "%s: message does not name the spec: %s", name, msg);
  CHECK_MSG(strstr(msg, frag1) != NULL, "%s: message lacks '%s': %s", name, frag1, msg);
  if (frag2) CHECK_MSG(strstr(msg, frag2) != NULL, "%s: message lacks '%s': %s", name, frag2, msg);
  printf("ok   %s fails: %s\n", name, msg);
}

static void check_sets(const rlvr_sweep_run *r, const char *const *want, int n) {
  CHECK_MSG(r->nsets == n, "%s: %d overrides, want %d", r->name, r->nsets, n);
  for (int i = 0; i < n && i < r->nsets; i++)
    CHECK_MSG(!strcmp(r->sets[i], want[i]), "%s: override %d is '%s', want '%s'", r->name, i, r->sets[i], want[i]);
}

static void test_expansion(void) {
  rlvr_sweep *s = load_ok("full.lua",
                          "return {\n"
                          "  name = 'agg',\n"
                          "  base = { train = { steps = 3 }, ['loss.beta'] = 0.01 },\n"
                          "  variants = {\n"
                          "    { name = 'grpo', loss = { aggregation = 'grpo' } },\n"
                          "    { name = 'dapo', ['loss.aggregation'] = 'dapo', ['loss.eps_high'] = 0.28 },\n"
                          "  },\n"
                          "  grid = { ['optim.lr'] = { 1e-6, 3e-6 }, ['sample.max_tokens'] = { 64 } },\n"
                          "  seeds = { 1, 2 },\n"
                          "  slurm = { partition = 'gpu', cpus_per_task = 4, exclusive = true, requeue = false },\n"
                          "}\n");
  if (!s) return;
  CHECK(!strcmp(s->name, "agg"));
  CHECK(s->nruns == 8);
  /* seeds outermost, then variants, then the grid (optim.lr varies; the
   * one-value sample.max_tokens is not in the names). */
  const char *names[8] = {"grpo,lr=1e-06,seed=1", "grpo,lr=3e-06,seed=1", "dapo,lr=1e-06,seed=1",
                          "dapo,lr=3e-06,seed=1", "grpo,lr=1e-06,seed=2", "grpo,lr=3e-06,seed=2",
                          "dapo,lr=1e-06,seed=2", "dapo,lr=3e-06,seed=2"};
  for (int i = 0; i < 8 && i < s->nruns; i++)
    CHECK_MSG(!strcmp(s->runs[i].name, names[i]), "run %d is '%s', want '%s'", i, s->runs[i].name, names[i]);
  const char *sets2[] = {"loss.beta=0.01", "train.steps=3",    "loss.aggregation=dapo", "loss.eps_high=0.28",
                         "optim.lr=1e-06", "sample.max_tokens=64", "run.seed=1"};
  if (s->nruns > 2) check_sets(&s->runs[2], sets2, 7);
  const char *sets4[] = {"loss.beta=0.01", "train.steps=3", "loss.aggregation=grpo", "optim.lr=1e-06",
                         "sample.max_tokens=64", "run.seed=2"};
  if (s->nruns > 4) check_sets(&s->runs[4], sets4, 6);
  CHECK(s->nruns > 7 && s->runs[7].seed == 2 && s->runs[0].seed == 1);
  /* The spec's slurm table: sorted keys, _ -> -, true a bare flag, false left out. */
  CHECK(s->nsbatch == 3);
  if (s->nsbatch == 3) {
    CHECK(!strcmp(s->sbatch[0], "--cpus-per-task=4"));
    CHECK(!strcmp(s->sbatch[1], "--exclusive"));
    CHECK(!strcmp(s->sbatch[2], "--partition=gpu"));
  }
  /* Defaults: `rlvr train`, resume flag on every later attempt. */
  CHECK(s->ncommand == 2 && !strcmp(s->command[0], "rlvr") && !strcmp(s->command[1], "train"));
  CHECK(!strcmp(s->resume_flag, "--resume") && !strcmp(s->resume_when, ""));

  rlvr_config c;
  rlvr_config_init(&c);
  CHECK(rlvr_sweep_resolve(s, 3, "/x/dapo", &c) == RLVR_OK);
  CHECK(!strcmp(c.loss_aggregation, "dapo") && c.loss_eps_high == 0.28 && c.optim_lr == 3e-6);
  CHECK(c.sample_max_tokens == 64 && c.run_seed == 1 && c.train_steps == 3 && c.loss_beta == 0.01);
  CHECK(!strcmp(c.run_dir, "/x/dapo"));
  CHECK(c.loss_eps_low == 0.2); /* untouched keys keep their defaults */
  rlvr_config_free(&c);
  rlvr_sweep_free(s);

  /* zip: parallel lists; two varying keys share the leaf max_tokens, so
   * both are named in full. */
  s = load_ok("zip.lua", "return { zip = { ['sample.max_tokens'] = { 64, 128 }, ['loss.max_tokens'] = { 64, 128 } },\n"
                         "  grid = { ['loss.aggregation'] = { 'grpo', 'dr_grpo' } } }\n");
  if (s) {
    CHECK(s->nruns == 4);
    CHECK(!strcmp(s->name, "zip"));
    const char *zn[4] = {"aggregation=grpo,loss.max_tokens=64,sample.max_tokens=64",
                         "aggregation=grpo,loss.max_tokens=128,sample.max_tokens=128",
                         "aggregation=dr_grpo,loss.max_tokens=64,sample.max_tokens=64",
                         "aggregation=dr_grpo,loss.max_tokens=128,sample.max_tokens=128"};
    for (int i = 0; i < 4 && i < s->nruns; i++)
      CHECK_MSG(!strcmp(s->runs[i].name, zn[i]), "zip run %d is '%s', want '%s'", i, s->runs[i].name, zn[i]);
    CHECK(s->runs[0].seed == -1);
    rlvr_sweep_free(s);
  }

  /* Nothing varies: one run named "run"; a base file next to the spec; a
   * command of our own with resume_when. */
  write_spec("base.lua", "return { train = { steps = 7 }, optim = { lr = 2e-6 } }\n");
  s = load_ok("one.lua", "return { base = 'base.lua', seeds = { 5 }, command = { '/bin/true', 'x' },\n"
                         "  resume_when = 'checkpoints/latest', parallel = 3 }\n");
  if (s) {
    CHECK(s->nruns == 1 && !strcmp(s->runs[0].name, "run"));
    CHECK(s->base_path && strstr(s->base_path, "base.lua"));
    CHECK(s->ncommand == 2 && !strcmp(s->command[0], "/bin/true") && s->parallel == 3);
    CHECK(!strcmp(s->resume_when, "checkpoints/latest"));
    rlvr_config c2;
    rlvr_config_init(&c2);
    CHECK(rlvr_sweep_resolve(s, 0, NULL, &c2) == RLVR_OK);
    CHECK(c2.train_steps == 7 && c2.optim_lr == 2e-6 && c2.run_seed == 5);
    rlvr_config_free(&c2);
    rlvr_sweep_free(s);
  }

  /* Values with '/' keep their last component; other bytes become '_'. */
  s = load_ok("paths.lua", "return { grid = { ['task.source'] = { '/data/gsm8k/train.jsonl', 'count down' } } }\n");
  if (s) {
    CHECK(s->nruns == 2);
    CHECK(s->nruns == 2 && !strcmp(s->runs[0].name, "source=train.jsonl"));
    CHECK(s->nruns == 2 && !strcmp(s->runs[1].name, "source=count_down"));
    CHECK(s->nruns == 2 && !strcmp(s->runs[0].sets[0], "task.source=/data/gsm8k/train.jsonl"));
    rlvr_sweep_free(s);
  }
}

static void test_errors(void) {
  load_fails("typo_grid.lua", "return { grid = { ['loss.agregation'] = { 'grpo' } } }", "did you mean 'loss.aggregation'",
             "grid");
  load_fails("typo_base.lua", "return { base = { sample = { temprature = 0.5 } } }", "did you mean 'sample.temperature'",
             "base");
  load_fails("typo_variant.lua", "return { variants = { { name = 'a', optim = { l = 1 } } } }", "did you mean", "variants[1]");
  load_fails("type.lua", "return { grid = { ['train.steps'] = { 'many' } } }", "not an integer", "train.steps");
  load_fails("field.lua", "return { seed = { 1 } }", "unknown field 'seed'", "did you mean 'seeds'");
  load_fails("ziplen.lua", "return { zip = { ['optim.lr'] = { 1, 2 }, ['train.steps'] = { 1 } } }", "one length", NULL);
  load_fails("dup.lua", "return { grid = { ['train.steps'] = { 1, 1 } } }", "listed twice", NULL);
  load_fails("dupseed.lua", "return { seeds = { 3, 3 } }", "listed twice", NULL);
  load_fails("collide.lua", "return { grid = { ['task.source'] = { 'a/x.jsonl', 'b/x.jsonl' } } }", "both named",
             "source=x.jsonl");
  load_fails("nobase.lua", "return { base = 'no_such_base.lua' }", "no file", "no_such_base.lua");
  load_fails("syntax.lua", "return { grid = ", "syntax.lua:1", NULL);
  load_fails("notable.lua", "return 3", "must return a table", NULL);
  load_fails("seeds.lua", "return { seeds = { 1.5 } }", "seeds[1]", "integer");
  load_fails("empty.lua", "return { grid = { ['train.steps'] = {} } }", "non-empty list", NULL);
  load_fails("nested.lua", "return { grid = { ['train.steps'] = { {1} } } }", "string, number or boolean", NULL);
  load_fails("noname.lua", "return { variants = { { optim = { lr = 1 } } } }", "needs a name", NULL);
  load_fails("twice.lua", "return { base = { loss = { beta = 1 }, ['loss.beta'] = 2 } }", "given twice", "loss.beta");
  load_fails("slurmnl.lua", "return { slurm = { partition = 'a\\nb' } }", "one-line", NULL);
  load_fails("reserved.lua", "return { variants = { { name = 'slurm' }, { name = 'x' } } }", "cannot be named", NULL);
  load_fails("parallel.lua", "return { parallel = -1 }", "parallel", NULL);
}

static void test_numbers(void) {
  struct {
    double v;
    int is_int;
    const char *want;
  } cases[] = {{0.1, 0, "0.1"}, {3e-6, 0, "3e-06"}, {1.0 / 3.0, 0, "0.3333333333333333"}, {128, 1, "128"},
               {1e20, 0, "1e+20"}, {-2.5, 0, "-2.5"}, {0.28, 0, "0.28"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[64];
    rlvr_sweep_format_number(cases[i].v, cases[i].is_int, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, cases[i].want), "format %.17g: '%s', want '%s'", cases[i].v, buf, cases[i].want);
  }
  CHECK(rlvr_sweep_edit_distance("seed", "seeds") == 1);
  CHECK(rlvr_sweep_edit_distance("kitten", "sitting") == 3);
}

static void test_slurm_pieces(void) {
  int a[] = {0, 1, 2, 3, 5, 7, 8, 9};
  char *s = rlvr_slurm_array_spec(a, 8);
  CHECK_MSG(!strcmp(s, "0-3,5,7-9"), "array spec '%s'", s);
  free(s);
  int b[] = {5, 1, 0};
  s = rlvr_slurm_array_spec(b, 3);
  CHECK_MSG(!strcmp(s, "0-1,5"), "array spec '%s'", s);
  free(s);
  int c[] = {4};
  s = rlvr_slurm_array_spec(c, 1);
  CHECK_MSG(!strcmp(s, "4"), "array spec '%s'", s);
  free(s);

  const char *keys[] = {"A", "LONG_NAME"}, *vals[] = {"1", "x y"};
  char *out = NULL;
  CHECK(rlvr_slurm_render("a={{A}} b={{LONG_NAME}}{{A}}\n{ {A} }\n", "t", keys, vals, 2, &out) == RLVR_OK);
  CHECK_MSG(out && !strcmp(out, "a=1 b=x y1\n{ {A} }\n"), "render: '%s'", out ? out : "(null)");
  free(out);
  out = NULL;
  CHECK(rlvr_slurm_render("line1\nline2 {{NOPE}}\n", "tmpl.sbatch", keys, vals, 2, &out) == RLVR_ERR_FORMAT);
  CHECK_MSG(strstr(rlvr_error_message(), "tmpl.sbatch:2") && strstr(rlvr_error_message(), "NOPE"), "%s",
            rlvr_error_message());
  CHECK(out == NULL);
  CHECK(rlvr_slurm_render("x {{A\n}}", "t2", keys, vals, 2, &out) == RLVR_ERR_FORMAT);
  CHECK(strstr(rlvr_error_message(), "t2:1") != NULL);
}

static void test_sweep_dir(void) {
  rlvr_sweep *s = load_ok("dir.lua", "return { grid = { ['optim.lr'] = { 1e-6, 2e-6 } }, command = { 'rlvr', 'train' },\n"
                                     "  slurm = { time = '01:00:00' } }\n");
  if (!s) return;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/sweepdir", tmp);
  rlvr_sweep_dir *d = NULL;
  CHECK(rlvr_sweep_dir_create(&d, s, dir, "/opt/rlvr/bin/rlvr") == RLVR_OK);
  if (!d) return;
  CHECK(d->dir[0] == '/');
  CHECK(!strcmp(d->sweep->command[0], "/opt/rlvr/bin/rlvr"));
  /* Each run's resolved config names its own directory as run.dir. */
  char *cp = rlvr_sweep_dir_path(d, 1, "sweep_config.lua");
  rlvr_config c;
  rlvr_config_init(&c);
  CHECK(rlvr_config_load(&c, cp) == RLVR_OK);
  char *rd = rlvr_sweep_dir_path(d, 1, NULL);
  CHECK_MSG(!strcmp(c.run_dir, rd), "run.dir %s, want %s", c.run_dir, rd);
  CHECK(c.optim_lr == 2e-6);
  rlvr_config_free(&c);
  free(cp), free(rd);

  /* A second creation in the same place is refused. */
  rlvr_sweep *s2 = load_ok("dir.lua", "return { grid = { ['optim.lr'] = { 1e-6, 2e-6 } } }\n");
  rlvr_sweep_dir *d2 = NULL;
  CHECK(rlvr_sweep_dir_create(&d2, s2, dir, "/x") == RLVR_ERR_ARG && d2 == NULL);
  CHECK(strstr(rlvr_error_message(), "--resume") != NULL);

  int idx[] = {1};
  CHECK(rlvr_sweep_dir_add_submission(d, "4242", idx, 1, "/s/array-1.sbatch") == RLVR_OK);
  rlvr_run_status st;
  memset(&st, 0, sizeof st);
  st.state = RLVR_RUN_FAILED;
  st.attempts = 2;
  st.exit_code = 3;
  st.stop_signal = 15;
  snprintf(st.host, sizeof st.host, "node7");
  snprintf(st.slurm_job, sizeof st.slurm_job, "4242_1 (job 4250)");
  st.log_tail = xstrdup("line a\nline \"b\"");
  CHECK(rlvr_run_status_write(d, 1, &st) == RLVR_OK);
  rlvr_run_status_clear(&st);

  rlvr_sweep_dir *e = NULL;
  CHECK(rlvr_sweep_dir_open(&e, dir) == RLVR_OK);
  if (e) {
    CHECK(e->sweep->nruns == 2 && !strcmp(e->sweep->runs[1].name, "lr=2e-06"));
    CHECK(e->sweep->runs[1].nsets == 1 && !strcmp(e->sweep->runs[1].sets[0], "optim.lr=2e-06"));
    CHECK(e->sweep->nsbatch == 1 && !strcmp(e->sweep->sbatch[0], "--time=01:00:00"));
    CHECK(e->nsubs == 1 && !strcmp(e->subs[0].job_id, "4242") && e->subs[0].nindices == 1 && e->subs[0].indices[0] == 1);
    CHECK(rlvr_sweep_dir_find(e, "lr=1e-06") == 0 && rlvr_sweep_dir_find(e, "nope") == -1);
    rlvr_run_status r0, r1;
    CHECK(rlvr_run_status_read(e, 0, &r0) == RLVR_OK && r0.state == RLVR_RUN_PENDING && r0.attempts == 0);
    CHECK(rlvr_run_status_read(e, 1, &r1) == RLVR_OK);
    CHECK(r1.state == RLVR_RUN_FAILED && r1.attempts == 2 && r1.exit_code == 3 && r1.stop_signal == 15);
    CHECK(!strcmp(r1.host, "node7") && !strcmp(r1.slurm_job, "4242_1 (job 4250)"));
    CHECK(r1.log_tail && !strcmp(r1.log_tail, "line a\nline \"b\""));
    rlvr_run_status_clear(&r0);
    rlvr_run_status_clear(&r1);
    rlvr_sweep_dir_free(e);
  }
  /* A damaged state file is an error naming it. */
  char *sp = rlvr_sweep_dir_path(d, 0, "sweep_state.json");
  RLVR_CHECK(rlvr_file_write_atomic(sp, "{\"format\": \"rlvr-sweep-run-state\", \"state\": \"exploded\"}", 55) == RLVR_OK);
  rlvr_run_status bad;
  CHECK(rlvr_run_status_read(d, 0, &bad) == RLVR_ERR_FORMAT);
  CHECK(strstr(rlvr_error_message(), "sweep_state.json") && strstr(rlvr_error_message(), "exploded"));
  free(sp);
  rlvr_sweep_dir_free(d);

  /* A manifest that is not one. */
  char bogus[600];
  snprintf(bogus, sizeof bogus, "%s/bogus", tmp);
  rlvr_mkdirs(bogus);
  char bp[700];
  snprintf(bp, sizeof bp, "%s/sweep.json", bogus);
  RLVR_CHECK(rlvr_file_write_atomic(bp, "{\"format\": \"rlvr-sweep\", \"version\": 1}", 39) == RLVR_OK);
  CHECK(rlvr_sweep_dir_open(&e, bogus) == RLVR_ERR_FORMAT && e == NULL);
  CHECK(strstr(rlvr_error_message(), "sweep.json") && strstr(rlvr_error_message(), "'name'"));
}

static void test_tail(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/log.txt", tmp);
  char text[1024] = "";
  size_t n = 0;
  for (int i = 1; i <= 30; i++) n += (size_t)snprintf(text + n, sizeof text - n, "line %d\n", i);
  RLVR_CHECK(rlvr_file_write_atomic(path, text, n) == RLVR_OK);
  char *t = rlvr_sweep_file_tail(path, 3);
  CHECK_MSG(t && !strcmp(t, "line 28\nline 29\nline 30"), "tail: '%s'", t ? t : "(null)");
  free(t);
  t = rlvr_sweep_file_tail(path, 100);
  CHECK(t && !strncmp(t, "line 1\n", 7) && strlen(t) == n - 1);
  free(t);
  snprintf(path, sizeof path, "%s/no-such-log", tmp);
  CHECK(rlvr_sweep_file_tail(path, 3) == NULL);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/rlvr-test-sweep-XXXXXX");
  RLVR_CHECK(mkdtemp(tmp) != NULL);
  test_expansion();
  test_errors();
  test_numbers();
  test_slurm_pieces();
  test_sweep_dir();
  test_tail();
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  return test_done();
}
