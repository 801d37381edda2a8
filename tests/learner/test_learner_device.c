/* test_learner_device.c — learner.device and learner.dtype as config keys,
 * on any machine (the GPU step itself is tests/gpu/test_learner_gpu.c):
 *   - learner.device = "cuda" where this binary has no CUDA or there is no
 *     usable GPU: rlvr_learner_build is RLVR_ERR_CONFIG, its message names
 *     learner.device and the reason, nothing is built (on a GPU machine this
 *     part is reported as not applicable and the build must succeed);
 *   - values that are not one of the key's are RLVR_ERR_CONFIG naming the
 *     key: learner.device = "gpu", learner.dtype = "fp16";
 *   - the defaults (cpu, fp32) build. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "learner/learn_gpu.h"
#include "learner/learner.h"
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
      "sample.max_tokens=8",
      "train.steps=1",
      "train.prompts_per_step=2",
      "train.group_size=2",
      "log.level=warn",
  };
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) RLVR_CHECK(rlvr_config_set(c, sets[i]) == RLVR_OK, "%s", sets[i]);
}

static rlvr_learner_env base_env(void) {
  rlvr_learner_env e;
  memset(&e, 0, sizeof e);
  e.tasks_dir = "tasks";
  e.chat_templates_dir = "model/templates";
  return e;
}

/* Builds with one key set; returns the code, *msg the message (copied). */
static int try_build(const char *name, const char *kv, const char *kv2, char *msg, size_t cap) {
  rlvr_config c;
  base_config(&c, name);
  if (kv) RLVR_CHECK(rlvr_config_set(&c, kv) == RLVR_OK, "%s", kv);
  if (kv2) RLVR_CHECK(rlvr_config_set(&c, kv2) == RLVR_OK, "%s", kv2);
  rlvr_learner_env e = base_env();
  rlvr_learner *L = (rlvr_learner *)1;
  int rc = rlvr_learner_build(&L, &c, &e);
  snprintf(msg, cap, "%s", rc ? rlvr_error_message() : "");
  CHECK(rc == RLVR_OK ? L != NULL : L == NULL);
  rlvr_learner_free(L);
  rlvr_config_free(&c);
  return rc;
}

int main(void) {
  rlvr_log_set_level(RLVR_LOG_ERROR);
  snprintf(tmp_root, sizeof tmp_root, "/tmp/rlvr_test_learner_device_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(tmp_root) == RLVR_OK);
  char msg[1024], why[256];

  const int have_gpu = rlvr_learn_gpu_available(why, sizeof why);
  int rc = try_build("cuda", "learner.device=cuda", NULL, msg, sizeof msg);
  if (!have_gpu) {
    printf("learner.device=cuda here (%s): rc %d, \"%s\"\n", why, rc, msg);
    CHECK(rc == RLVR_ERR_CONFIG);
    CHECK(strstr(msg, "learner.device") != NULL);
    CHECK(strstr(msg, why) != NULL);
#ifndef RLVR_HAVE_CUDA
    CHECK(strstr(msg, "without CUDA") != NULL);
#else
    CHECK(strstr(msg, "no CUDA device") != NULL);
#endif
    /* bf16 is refused the same way: the device is what is missing */
    rc = try_build("cuda_bf16", "learner.device=cuda", "learner.dtype=bf16", msg, sizeof msg);
    CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "learner.device") != NULL);
  } else {
    printf("a GPU is usable here: learner.device=cuda must build (rc %d %s); the refusal is not testable\n", rc, msg);
    CHECK(rc == RLVR_OK);
  }

  rc = try_build("gpu", "learner.device=gpu", NULL, msg, sizeof msg);
  printf("learner.device=gpu: rc %d, \"%s\"\n", rc, msg);
  CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "learner.device") != NULL && strstr(msg, "cpu or cuda") != NULL);
  rc = try_build("fp16", "learner.dtype=fp16", NULL, msg, sizeof msg);
  printf("learner.dtype=fp16: rc %d, \"%s\"\n", rc, msg);
  CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "learner.dtype") != NULL && strstr(msg, "fp32 or bf16") != NULL);
  rc = try_build("cpu", "learner.device=cpu", "learner.dtype=fp32", msg, sizeof msg);
  CHECK(rc == RLVR_OK);

  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
  }
  return test_done();
}
