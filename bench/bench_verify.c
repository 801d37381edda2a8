/* bench_verify.c — verifier throughput, standalone (see
 * verifiers/bench_verify.h; `rlvr bench verify` runs the same). Run it from
 * the source root: scripts are looked up in verifiers/ and
 * tests/verifiers/scripts/ (override with --paths). */
#include "verifiers/bench_verify.h"

int main(int argc, char **argv) { return rlvr_verify_bench_main(argc, argv, "verifiers:tests/verifiers/scripts"); }
