/* test_rollout_device.c — rollout.device and rollout.dtype as config keys,
 * on any machine (generation on the GPU itself is
 * tests/gpu/test_cuda_source.c):
 *   - rollout.device = "cuda" where this binary has no CUDA or there is no
 *     usable GPU: rlvr_worker_options_from_config is RLVR_ERR_CONFIG naming
 *     rollout.device and the reason, and so are `rlvr eval` and `rlvr
 *     rollout` (exit 1 with the message); on a GPU machine the options
 *     carry cuda = 1 and `rlvr eval` must run there instead;
 *   - values that are not one of the key's are RLVR_ERR_CONFIG naming the
 *     key: rollout.device = "gpu", rollout.dtype = "fp16";
 *   - the defaults (cpu, fp32) give cuda = 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "rollout/cuda_source.h"
#include "rollout/worker.h"
#include "testing.h"

/* rlvr_worker_options_from_config with up to two keys set; *msg the error. */
static int try_options(const char *kv, const char *kv2, rlvr_worker_options *o, char *msg, size_t cap) {
  rlvr_config c;
  rlvr_config_init(&c);
  if (kv) RLVR_CHECK(rlvr_config_set(&c, kv) == RLVR_OK, "%s", kv);
  if (kv2) RLVR_CHECK(rlvr_config_set(&c, kv2) == RLVR_OK, "%s", kv2);
  rlvr_model_config mc;
  memset(&mc, 0, sizeof mc);
  mc.max_position = 128;
  memset(o, 0x5a, sizeof *o);
  const int rc = rlvr_worker_options_from_config(o, &c, &mc);
  snprintf(msg, cap, "%s", rc ? rlvr_error_message() : "");
  rlvr_config_free(&c);
  return rc;
}

/* Runs `$RLVR_BIN args` with stderr to a file; returns the exit status and
 * whether stderr holds want. */
static int run_cli(const char *args, const char *want, int *found) {
  const char *bin = getenv("RLVR_BIN");
  RLVR_CHECK(bin != NULL, "RLVR_BIN is not set (run through ctest)");
  char err[128], cmd[1024];
  snprintf(err, sizeof err, "/tmp/rlvr_test_rollout_device_%d.err", (int)getpid());
  snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>%s", bin, args, err);
  const int st = system(cmd);
  *found = 0;
  FILE *f = fopen(err, "r");
  if (f) {
    char buf[4096];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    *found = strstr(buf, want) != NULL;
    if (!*found) fprintf(stderr, "stderr of '%s':\n%s\n", args, buf);
  }
  unlink(err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
  char why[128], msg[512];
  rlvr_worker_options o;
  const int have_gpu = rlvr_cuda_source_available(why, sizeof why);
  const char *eval_args = "eval --model tests/fixtures/models/tiny-qwen2 --task arith --size 2 --max-tokens 4 "
                          "--set task.template=plain --set rollout.device=cuda";
  int rc = try_options("rollout.device=cuda", NULL, &o, msg, sizeof msg);
  int found = 0;
  if (!have_gpu) {
    printf("rollout.device=cuda here (%s): rc %d, \"%s\"\n", why, rc, msg);
    CHECK(rc == RLVR_ERR_CONFIG);
    CHECK(strstr(msg, "rollout.device") != NULL && strstr(msg, why) != NULL);
    rc = try_options("rollout.device=cuda", "rollout.dtype=bf16", &o, msg, sizeof msg);
    CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "rollout.device") != NULL);
    CHECK(run_cli(eval_args, "rollout.device", &found) == 1 && found);
    printf("rlvr eval with rollout.device=cuda: exit 1 naming rollout.device\n");
    CHECK(run_cli("rollout --model tests/fixtures/models/tiny-qwen2 --connect tcp://127.0.0.1:1 "
                  "--set rollout.device=cuda",
                  "rollout.device", &found) == 1 &&
          found);
    printf("rlvr rollout with rollout.device=cuda: exit 1 naming rollout.device\n");
  } else {
    printf("a GPU is usable here: rollout.device=cuda must be accepted (rc %d %s) and rlvr eval run on it\n", rc, msg);
    CHECK(rc == RLVR_OK && o.cuda == 1 && !strcmp(o.dtype, "fp32"));
    CHECK(run_cli(eval_args, "", &found) == 0);
  }
  rc = try_options("rollout.device=gpu", NULL, &o, msg, sizeof msg);
  printf("rollout.device=gpu: rc %d, \"%s\"\n", rc, msg);
  CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "rollout.device") != NULL && strstr(msg, "cpu or cuda") != NULL);
  rc = try_options("rollout.dtype=fp16", NULL, &o, msg, sizeof msg);
  printf("rollout.dtype=fp16: rc %d, \"%s\"\n", rc, msg);
  CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "rollout.dtype") != NULL && strstr(msg, "fp32 or bf16") != NULL);
  rc = try_options("rollout.device=cpu", "rollout.dtype=bf16", &o, msg, sizeof msg);
  CHECK(rc == RLVR_OK && o.cuda == 0);
  rc = try_options(NULL, NULL, &o, msg, sizeof msg);
  CHECK(rc == RLVR_OK && o.cuda == 0 && !strcmp(o.dtype, "fp32"));
  return test_done();
}
