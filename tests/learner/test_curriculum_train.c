/* test_curriculum_train.c — `rlvr train` with task.curriculum, end to end on
 * the tiny Qwen2 fixture, a 12-record dataset written here and the lowbytes
 * reward (tests/learner/verifiers/lowbytes.lua), one worker:
 *   easy      easy_first with both drops, every record a different pass
 *             rate: the groups' items (samples.jsonl, one sample per group)
 *             are the 10 kept records from the highest rate to the lowest,
 *             then the next epoch starts again with the highest;
 *   target    6 steps straight, and the same run stopped after step 3
 *             (--stop-after 3, a checkpoint) and continued with --resume:
 *             the same items group for group and the same metrics (timing
 *             and infra aside); the draws avoid the dropped records and
 *             favour the rates near the target;
 *   select    pass rates written by `rlvr select --pass-rates` (coin
 *             verifier, records without ids) drive a run on the same file:
 *             the "always" records first, the "never" ones left out;
 *   bad       a rates line without counts: exit non-zero, the message names
 *             the file, the line and the field.
 * Needs RLVR_BIN (set by ctest). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "proc_wait.h"
#include "testing.h"

static const char *bin;
static char root[256];

enum { NREC = 12, STEPS = 6, P = 2 };

/* Record q<i>'s correct count of 11 samples: all different, q0 11 (always
 * solved), q1 0 (never), the rest a scrambled 1..10. */
static const int correct_of[NREC] = {11, 0, 7, 2, 9, 4, 10, 1, 5, 8, 3, 6};

static void write_text(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, name);
  RLVR_CHECK(rlvr_file_write_atomic(path, text, strlen(text)) == RLVR_OK, "%s", path);
}

static void write_config(const char *name, const char *rates, const char *curriculum) {
  char text[2048], file[300];
  snprintf(text, sizeof text,
           "return {\n"
           "  run = {dir = '%s/%s'},\n"
           "  model = {path = 'tests/fixtures/models/tiny-qwen2'},\n"
           "  task = {source = '%s/data.jsonl', template = 'plain', verifier = 'lowbytes', seed = 3,\n"
           "          curriculum = '%s/%s', %s},\n"
           "  sample = {temperature = 1.0, max_tokens = 8},\n"
           "  train = {steps = %d, prompts_per_step = %d, group_size = 2, workers = 1, eval = false,\n"
           "           samples_per_step = %d},\n"
           "  optim = {lr = 0.003},\n"
           "  rollout = {max_groups = 1, slots = 2},\n"
           "  verify = {workers = 1, paths = 'tests/learner/verifiers'},\n"
           "  transport = {peer_timeout_ms = 3000, heartbeat_ms = 200},\n"
           "  checkpoint = {every = 100},\n"
           "}\n",
           root, name, root, root, rates, curriculum, STEPS, P, P);
  snprintf(file, sizeof file, "%s.lua", name);
  write_text(file, text);
}

/* rlvr train NAME.lua [extra args]; its exit status (-1 on a timeout). */
static int run_train(const char *name, const char *a1, const char *a2) {
  char cfg[512], log[512];
  snprintf(cfg, sizeof cfg, "%s/%s.lua", root, name);
  snprintf(log, sizeof log, "%s/%s.log", root, name);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    char *argv[] = {(char *)bin, "train", cfg, (char *)a1, (char *)a2, NULL};
    execv(bin, argv);
    _exit(127);
  }
  const double t0 = proc_now_s();
  int status;
  while (proc_now_s() - t0 < 120) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(20000);
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

static char *run_file(const char *name, const char *file) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
  char *t;
  size_t n;
  return rlvr_file_read(path, &t, &n) == RLVR_OK ? t : NULL;
}

/* The item of each group id 1..max (samples.jsonl holds one sample per
 * group here); returns how many groups were found. */
static int group_items(const char *name, char items[][16], int max) {
  for (int i = 0; i < max; i++) items[i][0] = 0;
  char *text = run_file(name, "samples.jsonl");
  int n = 0;
  for (char *save, *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(l);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "group_id"), *id = cJSON_GetObjectItemCaseSensitive(o, "item_id");
    if (cJSON_IsNumber(g) && cJSON_IsString(id) && g->valueint >= 1 && g->valueint <= max && !items[g->valueint - 1][0]) {
      snprintf(items[g->valueint - 1], 16, "%s", id->valuestring);
      n++;
    }
    cJSON_Delete(o);
  }
  free(text);
  return n;
}

static int same_metrics(const char *a, const char *b) {
  char *ta = run_file(a, "metrics.jsonl"), *tb = run_file(b, "metrics.jsonl");
  int same = 0, n = 0;
  char *sa, *sb;
  char *la = ta ? strtok_r(ta, "\n", &sa) : NULL, *lb = tb ? strtok_r(tb, "\n", &sb) : NULL;
  for (; la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb), n++) {
    cJSON *oa = cJSON_Parse(la), *ob = cJSON_Parse(lb);
    cJSON_DeleteItemFromObject(oa, "timing"), cJSON_DeleteItemFromObject(ob, "timing");
    cJSON_DeleteItemFromObject(oa, "infra"), cJSON_DeleteItemFromObject(ob, "infra");
    char *pa = cJSON_PrintUnformatted(oa), *pb = cJSON_PrintUnformatted(ob);
    if (pa && pb && !strcmp(pa, pb)) same++;
    else fprintf(stderr, "%s vs %s, line %d:\n  %s\n  %s\n", a, b, n + 1, pa, pb);
    free(pa), free(pb);
    cJSON_Delete(oa), cJSON_Delete(ob);
  }
  free(ta), free(tb);
  printf("%s vs %s: %d of %d metrics lines identical (timing and infra aside)\n", a, b, same, n);
  return n == STEPS && same == STEPS;
}

int main(void) {
  bin = getenv("RLVR_BIN");
  if (!bin) {
    fprintf(stderr, "RLVR_BIN is not set (ctest sets it)\n");
    return 1;
  }
  snprintf(root, sizeof root, "/tmp/rlvr_test_curriculum_train_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(root) == RLVR_OK);
  char data[4096] = "", rates[4096] = "";
  for (int i = 0; i < NREC; i++) {
    char line[256];
    snprintf(line, sizeof line, "{\"id\":\"q%d\",\"question\":\"%d+%d=\",\"answer\":\"%d\"}\n", i, i, 7, i + 7);
    strcat(data, line);
    /* as rlvr select --pass-rates writes them, and a line for an id the
     * dataset does not have */
    snprintf(line, sizeof line, "{\"id\":\"q%d\",\"line\":%d,\"cluster\":\"integer/short\",\"correct\":%d,\"samples\":11,\"pass_rate\":%.17g}\n",
             i, i + 1, correct_of[i], correct_of[i] / 11.0);
    strcat(rates, line);
  }
  strcat(rates, "{\"id\":\"elsewhere\",\"correct\":3,\"samples\":11}\n");
  write_text("data.jsonl", data);
  write_text("rates.jsonl", rates);
  write_text("bad.jsonl", "{\"id\":\"q0\",\"correct\":1,\"samples\":4}\n{\"id\":\"q1\",\"samples\":4}\n");

  /* The kept records from the highest rate down: correct 10, 9, ..., 1. */
  char want[10][16];
  for (int c = 10, k = 0; c >= 1; c--)
    for (int i = 0; i < NREC; i++)
      if (correct_of[i] == c) snprintf(want[k++], 16, "q%d", i);

  printf("-- easy\n");
  write_config("easy", "rates.jsonl", "curriculum_order = 'easy_first', curriculum_drop_solved = true, curriculum_drop_unsolved = true");
  double t0 = proc_now_s();
  CHECK(run_train("easy", NULL, NULL) == 0);
  printf("easy: %.1f s\n", proc_now_s() - t0);
  char got[STEPS * P][16];
  CHECK(group_items("easy", got, STEPS * P) == STEPS * P);
  int in_order = 0;
  printf("easy: groups' items");
  for (int g = 0; g < STEPS * P; g++) {
    printf(" %s", got[g]);
    in_order += !strcmp(got[g], want[g % 10]);
  }
  printf("\n");
  CHECK(in_order == STEPS * P);
  char *log = NULL;
  {
    char p[600];
    size_t n;
    snprintf(p, sizeof p, "%s/easy.log", root);
    if (rlvr_file_read(p, &log, &n) != RLVR_OK) log = NULL;
  }
  CHECK(log && strstr(log, "12 of 12 training records rated") && strstr(log, "10 items per epoch") &&
        strstr(log, "1 lines for other ids"));
  free(log);

  printf("-- target, straight and resumed\n");
  const char *target = "curriculum_order = 'target', curriculum_target = 0.5, curriculum_width = 0.15, "
                       "curriculum_drop_solved = true, curriculum_drop_unsolved = true";
  write_config("straight", "rates.jsonl", target);
  write_config("resumed", "rates.jsonl", target);
  t0 = proc_now_s();
  CHECK(run_train("straight", NULL, NULL) == 0);
  printf("straight: %.1f s\n", proc_now_s() - t0);
  CHECK(run_train("resumed", "--stop-after", "3") == 0);
  char *ck = run_file("resumed", "metrics.jsonl");
  int lines = 0;
  for (char *q = ck; q && *q; q++) lines += *q == '\n';
  free(ck);
  printf("resumed: stopped after %d steps\n", lines);
  CHECK(lines == 3);
  CHECK(run_train("resumed", "--resume", NULL) == 0);
  char a[STEPS * P][16], b[STEPS * P][16];
  CHECK(group_items("straight", a, STEPS * P) == STEPS * P && group_items("resumed", b, STEPS * P) == STEPS * P);
  int same = 0, near = 0, dropped = 0;
  printf("target: groups' items");
  for (int g = 0; g < STEPS * P; g++) {
    printf(" %s", a[g]);
    same += !strcmp(a[g], b[g]);
    int i = atoi(a[g] + 1);
    dropped += correct_of[i] == 0 || correct_of[i] == 11;
    near += correct_of[i] >= 4 && correct_of[i] <= 7; /* pass rates 0.36 .. 0.64 */
  }
  printf("\ntarget: %d of %d groups the same after --resume; %d near the target, %d dropped records\n", same,
         STEPS * P, near, dropped);
  CHECK(same == STEPS * P);
  /* Weights at width 0.15: the four rates 4/11..7/11 hold 0.78 of the mass
   * (3.23 of 4.13); fewer than 5 of 12 draws is a 1-in-1000 event (the
   * draws are fixed by task.seed, so this passes or fails every time). */
  CHECK(dropped == 0 && near >= 5);
  CHECK(same_metrics("straight", "resumed"));

  printf("-- select\n");
  {
    /* Pass rates from rlvr select itself (the coin verifier: "always" 1,
     * "never" 0, else by the sample), on records without ids ("<file>:<line>"),
     * read by the curriculum of a run on the same file. */
    const char *answers[6] = {"12", "never", "always", "34", "never", "always"};
    char pool[1024] = "";
    for (int i = 0; i < 6; i++) {
      char line[128];
      snprintf(line, sizeof line, "{\"question\":\"%d*3=\",\"answer\":\"%s\"}\n", i, answers[i]);
      strcat(pool, line);
    }
    write_text("pool.jsonl", pool);
    char task[300], out[300], pr[300], cfgpath[300], text[2048];
    snprintf(task, sizeof task, "%s/pool.jsonl", root);
    snprintf(out, sizeof out, "%s/selected.jsonl", root);
    snprintf(pr, sizeof pr, "%s/pool_rates.jsonl", root);
    char *argv[] = {(char *)bin, "select", "--model", "tests/fixtures/models/tiny-qwen2", "--task", task, "--n", "1",
                    "--samples", "6", "--max-tokens", "8", "--output", out, "--pass-rates", pr,
                    "--set", "task.template=plain", "--set", "task.verifier=coin", "--set", "verify.paths=tests/select/verifiers",
                    "--set", "verify.workers=1", NULL};
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open("/dev/null", O_WRONLY);
      if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
      execv(bin, argv);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The rate of each id, as rlvr select wrote it. */
    char ids[6][32];
    double rate[6];
    int nr = 0;
    char *t = NULL;
    size_t tn;
    if (rlvr_file_read(pr, &t, &tn) == RLVR_OK)
      for (char *save, *l = strtok_r(t, "\n", &save); l && nr < 6; l = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(l);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id"), *p = cJSON_GetObjectItemCaseSensitive(o, "pass_rate");
        if (cJSON_IsString(id) && cJSON_IsNumber(p)) snprintf(ids[nr], 32, "%s", id->valuestring), rate[nr++] = p->valuedouble;
        cJSON_Delete(o);
      }
    free(t);
    CHECK(nr == 6);
    int kept = 0;
    for (int i = 0; i < nr; i++) kept += rate[i] > 0;
    snprintf(cfgpath, sizeof cfgpath, "%s/fromselect.lua", root);
    snprintf(text, sizeof text,
             "return {\n"
             "  run = {dir = '%s/fromselect'},\n"
             "  model = {path = 'tests/fixtures/models/tiny-qwen2'},\n"
             "  task = {source = '%s', template = 'plain', verifier = 'coin', curriculum = '%s',\n"
             "          curriculum_order = 'easy_first', curriculum_drop_unsolved = true, curriculum_require_all = true},\n"
             "  sample = {temperature = 1.0, max_tokens = 8},\n"
             "  train = {steps = %d, prompts_per_step = 1, group_size = 2, workers = 1, eval = false, samples_per_step = 1},\n"
             "  rollout = {max_groups = 1, slots = 2},\n"
             "  verify = {workers = 1, paths = 'tests/select/verifiers'},\n"
             "  transport = {peer_timeout_ms = 3000, heartbeat_ms = 200},\n"
             "}\n",
             root, task, pr, kept);
    write_text("fromselect.lua", text);
    CHECK(kept == 4 && run_train("fromselect", NULL, NULL) == 0);
    char got_ids[6][16];
    CHECK(group_items("fromselect", got_ids, kept) == kept);
    int ok = kept == 4;
    printf("from rlvr select: groups' items");
    double last = 2;
    for (int g = 0; g < kept && g < 6; g++) {
      double r = -1;
      for (int i = 0; i < nr; i++)
        if (!strcmp(ids[i], got_ids[g])) r = rate[i];
      printf(" %s (%.3f)", got_ids[g], r);
      ok &= r > 0 && r <= last; /* no unsolved one; easiest first */
      last = r;
    }
    printf("\n");
    /* the two "always" records (lines 3 and 6) first, in either order */
    ok &= (!strcmp(got_ids[0], "pool.jsonl:3") || !strcmp(got_ids[0], "pool.jsonl:6")) &&
          (!strcmp(got_ids[1], "pool.jsonl:3") || !strcmp(got_ids[1], "pool.jsonl:6"));
    CHECK(ok);
  }

  printf("-- bad\n");
  write_config("bad", "bad.jsonl", "curriculum_order = 'easy_first'");
  CHECK(run_train("bad", NULL, NULL) != 0);
  {
    char p[600];
    size_t n;
    snprintf(p, sizeof p, "%s/bad.log", root);
    char *t = NULL;
    CHECK(rlvr_file_read(p, &t, &n) == RLVR_OK && t && strstr(t, "bad.jsonl:2: field 'samples' without field 'correct'"));
    if (t) {
      char *m = strstr(t, "bad.jsonl:2");
      if (m) printf("bad: %.*s\n", (int)strcspn(m, "\n"), m);
    }
    free(t);
  }

  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
  }
  return test_done();
}
