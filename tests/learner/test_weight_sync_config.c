/* test_weight_sync_config.c — learner.weight_sync as a config key, on any
 * machine (GPU weight sync itself is tests/gpu/test_weight_sync.c, which
 * also checks the refusals that need a device: rollout.device, rollout.dtype,
 * the timeout and bucket keys):
 *   - nccl and ipc with learner.device = cpu: rlvr_learner_build is
 *     RLVR_ERR_CONFIG naming learner.weight_sync and learner.device, and
 *     nothing is built;
 *   - a value that is not zmq, nccl or ipc: RLVR_ERR_CONFIG naming the key;
 *   - zmq (the default, and explicit) builds on the CPU. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "learner/learner.h"
#include "testing.h"

static char tmp_root[256];

/* Builds a one-step learner on tiny-qwen2 with kv (and kv2) set; returns
 * the code and the message (copied). */
static int try_build(const char *name, const char *kv, const char *kv2, char *msg, size_t cap) {
  rlvr_config c;
  rlvr_config_init(&c);
  char dir[512];
  snprintf(dir, sizeof dir, "run.dir=%s/%s", tmp_root, name);
  const char *sets[] = {dir, "model.path=tests/fixtures/models/tiny-qwen2", "task.source=arith",
                        "task.template=plain", "task.heldout_size=10", "train.steps=1", "log.level=warn", kv, kv2};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
    if (sets[i]) RLVR_CHECK(rlvr_config_set(&c, sets[i]) == RLVR_OK, "%s", sets[i]);
  rlvr_learner_env e;
  memset(&e, 0, sizeof e);
  e.tasks_dir = "tasks";
  e.chat_templates_dir = "model/templates";
  rlvr_learner *L = (rlvr_learner *)1;
  const int rc = rlvr_learner_build(&L, &c, &e);
  snprintf(msg, cap, "%s", rc ? rlvr_error_message() : "");
  CHECK(rc == RLVR_OK ? L != NULL : L == NULL);
  rlvr_learner_free(L);
  rlvr_config_free(&c);
  printf("%s %s: rc %d%s%s\n", kv ? kv : "(defaults)", kv2 ? kv2 : "", rc, rc ? ", " : "", msg);
  return rc;
}

int main(void) {
  rlvr_log_set_level(RLVR_LOG_ERROR);
  snprintf(tmp_root, sizeof tmp_root, "/tmp/rlvr_test_weight_sync_config_%d", (int)getpid());
  RLVR_CHECK(rlvr_mkdirs(tmp_root) == RLVR_OK);
  char msg[1024];
  static const char *const gpu_only[] = {"learner.weight_sync=nccl", "learner.weight_sync=ipc"};
  for (int i = 0; i < 2; i++) {
    const int rc = try_build("gpu_only", gpu_only[i], "learner.device=cpu", msg, sizeof msg);
    CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "'learner.weight_sync'") && strstr(msg, "learner.device = \"cuda\"") &&
          strstr(msg, "zmq"));
  }
  int rc = try_build("bad", "learner.weight_sync=gloo", NULL, msg, sizeof msg);
  CHECK(rc == RLVR_ERR_CONFIG && strstr(msg, "'learner.weight_sync'") && strstr(msg, "zmq, nccl or ipc"));
  rc = try_build("zmq", "learner.weight_sync=zmq", "rollout.dtype=fp32", msg, sizeof msg);
  CHECK(rc == RLVR_OK);
  rc = try_build("default", NULL, NULL, msg, sizeof msg);
  CHECK(rc == RLVR_OK);
  if (!test_failures && !getenv("RLVR_KEEP_TMP")) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
  }
  return test_done();
}
