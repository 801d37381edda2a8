/* bench_exec.c — code executions per second of the sandboxed executor,
 * standalone (see verifiers/exec_bench.h; `rlvr bench exec` runs the same). */
#include "verifiers/exec_bench.h"

int main(int argc, char **argv) { return rlvr_exec_bench_main(argc, argv); }
