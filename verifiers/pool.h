/* pool.h — scores batches of verifier items in parallel, in worker
 * processes that are the outer wall around the Lua sandboxes.
 *
 * Workers are forked from the calling process when the pool is built (so
 * build the pool early, before threads or a CUDA context exist if possible).
 * Each worker holds a verifier host (host.h): its sandboxes stay loaded from
 * one item and one batch to the next. In each worker: RLIMIT_CORE 0;
 * RLIMIT_AS (soft) set to the address space it had at start plus
 * 8 * memory_bytes + 512 MiB, except in AddressSanitizer builds, whose shadow
 * memory reservation cannot live under an address-space limit; RLIMIT_CPU
 * (soft) re-armed before each chunk to the CPU time used so far plus
 * timeout_ms per item of the chunk, plus a second; stdin reads /dev/null,
 * stdout goes to stderr (so nothing a helper prints can corrupt a caller's
 * output); it dies with the parent (PR_SET_PDEATHSIG) and sits in its own
 * process group, away from the terminal's signals.
 *
 * The parent sends chunks of items over a socketpair as length-prefixed
 * messages and reads results back in the same form, validating every field.
 * A shared page per worker says which item of its chunk it is scoring and
 * since when; the parent's watchdog SIGKILLs a worker whose current item has
 * run past timeout_ms, gives that item status timeout, and forks a
 * replacement. A worker that dies otherwise (a crash, RLIMIT_CPU, a
 * malformed message) gives its current item sandbox-error (timeout for
 * SIGXCPU). Either way the results it had sent are kept and the rest of its
 * chunk is scored again by other workers. A death that blames no item (the
 * worker was between items) makes no progress, so an item that waited in the
 * chunks of three such deaths is given sandbox-error: a batch always ends. Scripts are deterministic (math.random is reseeded per call),
 * so scoring an item again gives the same result.
 *
 * With workers = 0 the pool scores in the calling process, one item after
 * another: no process boundary, no wall-clock deadline (the instruction and
 * memory budgets still hold). For tests and debugging. */
#ifndef RLVR_POOL_H
#define RLVR_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "verifiers/host.h"

typedef struct rlvr_verify_pool rlvr_verify_pool;

typedef struct {
  int64_t items;           /* items scored, all batches */
  int64_t batches;
  int64_t chunks;          /* messages of items sent to workers */
  int64_t workers_started; /* including the first ones */
  int64_t workers_killed;  /* by the watchdog */
  int64_t workers_died;    /* crashed, or exited, or killed by something else */
  int64_t requeued;        /* items scored again after their worker died */
} rlvr_pool_stats;

/* Copies o and starts o->workers workers. RLVR_ERR_IO (fork, socketpair,
 * mmap failed; message says which) with *out untouched on error. */
int rlvr_pool_build(rlvr_verify_pool **out, const rlvr_verify_options *o);

/* Kills and reaps the workers. Accepts NULL. */
void rlvr_pool_free(rlvr_verify_pool *p);

/* Scores items[0..n) into out[0..n) (overwritten, not freed first; the caller
 * frees with rlvr_verify_results_clear). Every result is filled, whatever
 * happens to the workers: infrastructure failures are statuses. Blocks until
 * the batch is done. Not thread-safe: one batch at a time per pool. */
void rlvr_pool_score(rlvr_verify_pool *p, const rlvr_verify_item *items, size_t n, rlvr_verify_result *out);

void rlvr_pool_get_stats(const rlvr_verify_pool *p, rlvr_pool_stats *st);
int rlvr_pool_workers(const rlvr_verify_pool *p);
/* The pid of worker i, 0 when it is not running (tests kill it). */
pid_t rlvr_pool_worker_pid(const rlvr_verify_pool *p, int i);

#endif
