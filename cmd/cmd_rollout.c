/* cmd_rollout.c — `rlvr rollout --connect ADDRESS`: a rollout worker for a
 * learner on this or another machine (rollout/worker.h, docs/rollout.md).
 *
 * Loads the policy (model.path) and its tokenizer, starts the verifier pool
 * (before ZeroMQ's threads exist: the pool forks), connects, and serves work
 * until the learner says shutdown, rollout.max_works works are done, or
 * SIGINT/SIGTERM arrives (then it says "stopping" and leaves cleanly). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmd/cmd.h"
#include "cmd/policy.h"
#include "core/error.h"
#include "core/log.h"
#include "core/transport.h"
#include "rollout/worker.h"
#include "verifiers/pool.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

static const char *usage =
    "usage: rlvr rollout [CONFIG.lua] [--set key=value ...] --connect ADDRESS [options]\n"
    "\n"
    "Runs a rollout worker: asks the learner at ADDRESS for prompt groups, samples\n"
    "G completions of each with the policy it holds, scores them with the verifier\n"
    "pool, and sends back the scored groups (docs/rollout.md).\n"
    "\n"
    "  --connect ADDRESS  tcp://HOST:PORT (work PORT, trajectories PORT+1, weights\n"
    "                     PORT+2), ipc:///PATH, or WORK,TRAJ,WEIGHTS (rollout.connect)\n"
    "  --id ID            worker id (rollout.id; default rollout-HOST-PID)\n"
    "  --model DIR        the policy's Hugging Face directory (model.path): its shapes\n"
    "                     and tokenizer; the learner's weights replace its values\n"
    "  --slots N          sequences decoded at once (rollout.slots)\n"
    "\n"
    "Each option is a shorthand for --set of the key in parentheses. The reward.*,\n"
    "advantage.*, verify.* and transport.* keys apply as in `rlvr train`.\n";

static const cmd_shorthand shorthands[] = {
    {"--connect", "rollout.connect"}, {"--id", "rollout.id"}, {"--model", "model.path"}, {"--slots", "rollout.slots"},
};

static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

int cmd_rollout(int argc, char **argv) {
  rlvr_config cfg;
  int done;
  int rc = cmd_parse_simple("rollout", argc, argv, &cfg, shorthands, (int)(sizeof shorthands / sizeof shorthands[0]), usage,
                            &done);
  if (done) return rc;
  if (!cfg.rollout_connect[0]) {
    rlvr_config_free(&cfg);
    return cmd_usage_error("rollout", "no learner: give --connect ADDRESS (or set rollout.connect)");
  }
  char ew[RLVR_ENDPOINT_MAX], et[RLVR_ENDPOINT_MAX], eg[RLVR_ENDPOINT_MAX];
  if (rlvr_rollout_endpoints(cfg.rollout_connect, ew, et, eg) != RLVR_OK) {
    rc = cmd_usage_error("rollout", "%s", rlvr_error_message());
    rlvr_config_free(&cfg);
    return rc;
  }
  if ((rc = cmd_apply_runtime("rollout", &cfg)) != EXIT_OK) {
    rlvr_config_free(&cfg);
    return rc;
  }
  rlvr_reward_config rcfg;
  rlvr_advantage_config acfg;
  rlvr_verify_options vo;
  rlvr_transport_options to;
  if (rlvr_reward_config_from(&cfg, &rcfg) != RLVR_OK || rlvr_advantage_config_from(&cfg, &acfg) != RLVR_OK ||
      rlvr_verify_options_from_config(&vo, &cfg, RLVR_SOURCE_DIR "/verifiers") != RLVR_OK) {
    rc = cmd_fail("rollout", "%s", rlvr_error_message());
    rlvr_config_free(&cfg);
    return rc;
  }
  rlvr_transport_options_from_config(&to, &cfg);
  cmd_policy p;
  if ((rc = cmd_policy_load("rollout", cfg.model_path, &p)) != EXIT_OK) {
    rlvr_config_free(&cfg);
    return rc;
  }
  rlvr_worker_options wo;
  if (rlvr_worker_options_from_config(&wo, &cfg, &p.model.cfg) != RLVR_OK) {
    rc = cmd_fail("rollout", "%s", rlvr_error_message());
    cmd_policy_free(&p);
    rlvr_config_free(&cfg);
    return rc;
  }
  rlvr_verify_pool *pool = NULL;
  if (rlvr_pool_build(&pool, &vo) != RLVR_OK) {
    rc = cmd_fail("rollout", "%s", rlvr_error_message());
    cmd_policy_free(&p);
    rlvr_config_free(&cfg);
    return rc;
  }
  rlvr_worker_deps deps = {.model = &p.model, .tok = p.tok, .eos = p.eos, .neos = p.num_eos, .pool = pool,
                           .reward = rcfg, .advantage = acfg};
  rlvr_worker *w = rlvr_worker_build(&wo, &deps);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked poll returns */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  void *ctx = zmq_ctx_new();
  int r = rlvr_worker_run(w, ctx, cfg.rollout_connect, &to, &stop_flag);
  if (r != RLVR_OK) rc = cmd_fail("rollout", "%s", rlvr_error_message());
  if (stop_flag) rlvr_info("rollout %s: stopped by a signal", wo.id);
  rlvr_worker_free(w);
  zmq_ctx_term(ctx);
  rlvr_pool_free(pool);
  cmd_policy_free(&p);
  rlvr_config_free(&cfg);
  return rc;
}
