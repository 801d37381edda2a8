/* bench_verify.h — the verifier throughput benchmark, shared by
 * bench/bench_verify (standalone) and `rlvr bench verify`.
 *
 * Measures verifications per second of one verifier on a set of (completion,
 * reference) pairs: in-process on one core (the host alone), and through the
 * pool with 1 and N workers (host + process boundary + IPC). Side by side, the
 * `null` verifier (returns 1 at once) on the same pairs gives the fixed cost
 * per item of the host and of the pool, so a verifier's own cost is the
 * difference. */
#ifndef RLVR_BENCH_VERIFY_H
#define RLVR_BENCH_VERIFY_H

/* argv as for a command (argv[0] is the name). paths: the default search path
 * for verifier scripts. Returns an exit code (0, 1 failure, 2 usage). */
int rlvr_verify_bench_main(int argc, char **argv, const char *paths);

#endif
