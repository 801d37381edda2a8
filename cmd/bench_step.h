/* bench_step.h — `rlvr bench step RUN_DIR...`: seconds per GRPO step by
 * phase (waiting for generation and verification, learning, publishing the
 * weights, the rest) from the metrics.jsonl that `rlvr train` writes, so that
 * the figure comes from real training steps rather than a stand-in loop
 * (bench/grpo_step.sh runs the default run and then this; docs/bench.md). */
#ifndef RLVR_BENCH_STEP_H
#define RLVR_BENCH_STEP_H

/* argv[0] is "step". Returns 0, 1 (failure, message printed) or 2 (usage). */
int cmd_bench_step(int argc, char **argv);

#endif
