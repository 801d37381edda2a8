/* exec_bench.h — throughput of the sandboxed executor (exec.h): runs per
 * second of a trivial Python and Lua program in each isolation mode, side by
 * side with its peer, the same interpreter started with posix_spawn and no
 * sandbox at all, so that the cost of the sandbox itself is visible.
 *
 *   rlvr bench exec [--runs N] [--threads T] [--mode auto|namespaces|rlimits|all]
 *
 * bench/bench_exec.c runs the same standalone. */
#ifndef RLVR_EXEC_BENCH_H
#define RLVR_EXEC_BENCH_H

int rlvr_exec_bench_main(int argc, char **argv);

#endif
