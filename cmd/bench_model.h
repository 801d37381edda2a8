/* bench_model.h — `rlvr bench model`: speed of the CPU policy model
 * (model/forward.h, model/decode.h) on random weights in the shapes of
 * public models, for comparison with PyTorch eager (bench/torch_model.py,
 * bench/compare_model.sh; docs/bench.md). */
#ifndef RLVR_BENCH_MODEL_H
#define RLVR_BENCH_MODEL_H

/* argv[0] is "model". Returns 0, 1 (failure, message printed) or 2 (usage). */
int cmd_bench_model(int argc, char **argv);

#endif
