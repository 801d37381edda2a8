/* cmd_learner.c — `rlvr learner`: the learner process on its own, for runs
 * whose rollout workers run elsewhere (`rlvr rollout --connect ...` on other
 * machines). Binds learner.endpoint, serves work, trains, checkpoints
 * (learner/server.h). SIGINT or SIGTERM stops at the next safe point with a
 * checkpoint (checkpoint.at_exit); a second SIGINT ends it at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "core/log.h"
#include "learner/server.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

static const char *usage =
    "usage: rlvr learner [CONFIG.lua] [--set key=value ...] [options]\n"
    "\n"
    "Runs the GRPO learner: binds the work, trajectories and weights sockets, hands\n"
    "prompt groups to the rollout workers that connect (rlvr rollout --connect\n"
    "ENDPOINT), trains on what they send back and publishes each new policy version\n"
    "(docs/learner.md). Outputs go to run.dir: metrics.jsonl, samples.jsonl,\n"
    "checkpoints/, model/ (the final policy), config.lua.\n"
    "\n"
    "  --bind ENDPOINT   tcp://HOST:PORT (work PORT, trajectories PORT+1, weights\n"
    "                    PORT+2; PORT * picks free ports), or ipc:///PATH\n"
    "                    (learner.endpoint)\n"
    "  --model DIR       the initial policy (model.path)\n"
    "  --steps N         GRPO steps (train.steps)\n"
    "  --run-dir DIR     outputs (run.dir)\n"
    "  --resume          continue from run.dir's latest checkpoint\n"
    "  --stop-after N    stop (with a checkpoint) once N steps are done, keeping the\n"
    "                    schedule of train.steps: a partial run to --resume later\n"
    "  --endpoint-file F write the bound endpoint to file F (for scripts)\n"
    "\n"
    "SIGINT or SIGTERM stops at the next safe point and writes a checkpoint.\n";

static const cmd_shorthand shorthands[] = {
    {"--bind", "learner.endpoint"}, {"--model", "model.path"}, {"--steps", "train.steps"}, {"--run-dir", "run.dir"},
};

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* SIGINT and SIGTERM set the flag once; a second one takes the default
 * action (SA_RESETHAND). */
void cmd_learner_install_signals(volatile sig_atomic_t **flag);
void cmd_learner_install_signals(volatile sig_atomic_t **flag) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  *flag = &stop_flag;
}

typedef struct {
  const char *endpoint_file;
} learner_ctx;

static int on_bound(void *ctx, const char *endpoint) {
  learner_ctx *c = ctx;
  fprintf(stderr, "rlvr learner: workers connect with: rlvr rollout --connect %s\n", endpoint);
  if (c->endpoint_file) {
    FILE *f = fopen(c->endpoint_file, "w");
    if (!f || fprintf(f, "%s\n", endpoint) < 0 || fclose(f) != 0)
      return rlvr_error(RLVR_ERR_IO, "%s: cannot write the endpoint", c->endpoint_file);
  }
  return RLVR_OK;
}

int cmd_learner(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0, resume = 0;
  long long stop_after = 0;
  learner_ctx ctx = {0};
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help)
    rc = cmd_apply_shorthands("learner", &cfg, rest, &nrest, shorthands, (int)(sizeof shorthands / sizeof *shorthands));
  for (int i = 0; rc == EXIT_OK && !help && i < nrest; i++) {
    if (!strcmp(rest[i], "--resume")) {
      resume = 1;
    } else if (!strcmp(rest[i], "--stop-after") || !strcmp(rest[i], "--endpoint-file")) {
      if (i + 1 >= nrest) {
        rc = cmd_usage_error("learner", "%s needs a value", rest[i]);
      } else if (rest[i][2] == 's') {
        char *end;
        stop_after = strtoll(rest[++i], &end, 10);
        if (*end || stop_after < 1) rc = cmd_usage_error("learner", "--stop-after needs a positive integer");
      } else {
        ctx.endpoint_file = rest[++i];
      }
    } else {
      rc = cmd_usage_error("learner", "unknown argument '%s'", rest[i]);
    }
  }
  free(rest);
  if (rc != EXIT_OK || help) {
    if (help && rc == EXIT_OK) fputs(usage, stdout);
    rlvr_config_free(&cfg);
    return rc;
  }
  if ((rc = cmd_apply_runtime("learner", &cfg)) != EXIT_OK) {
    rlvr_config_free(&cfg);
    return rc;
  }
  volatile sig_atomic_t *stop;
  cmd_learner_install_signals(&stop);
  rlvr_server_options o = {
      .cfg = &cfg,
      .env = {.tasks_dir = RLVR_SOURCE_DIR "/tasks",
              .chat_templates_dir = RLVR_SOURCE_DIR "/model/templates",
              .resume = resume,
              .stop_after = stop_after,
              .progress = -1},
      .endpoint = cfg.learner_endpoint,
      .stop = stop,
      .on_bound = on_bound,
      .ctx = &ctx,
  };
  rlvr_server_result res;
  int e = rlvr_learner_serve(&o, &res);
  if (e) rc = cmd_fail("learner", "%s", rlvr_error_message());
  else if (res.stopped) fprintf(stderr, "rlvr learner: stopped after %lld steps; continue with --resume\n", (long long)res.steps);
  rlvr_config_free(&cfg);
  return rc;
}
