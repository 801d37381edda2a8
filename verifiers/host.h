/* host.h — the verifier host: runs verifier scripts on (completion,
 * reference, meta) items inside sandboxes (sandbox.h) and turns what they
 * return into a score, a status and details.
 *
 * A verifier is a Lua 5.4 script, found by name (registry.h), that returns
 *
 *   return {
 *     name = "exact", version = "1",
 *     verify = function(completion, reference, meta) return score, details end,
 *   }
 *
 * completion is a string; reference is a string, or the Lua value of a JSON
 * reference (luajson.h), or nil; meta is the Lua value of a JSON meta object,
 * or nil. score must be a number in [0, 1]; details a table or nil.
 * A script says that no answer could be read from the completion by setting
 * details.status = "wrong-format" (its score stands; it is usually 0). Any
 * other value of details.status than "ok" or "wrong-format" is an error.
 *
 * Statuses (same numbers as rewards/reward.h's rlvr_reward_status; every
 * status past WRONG_FORMAT is an infrastructure failure that the caller
 * leaves out of the loss, and its score is 0):
 *   ok              the script returned a valid score
 *   wrong-format    the script said so, or the completion is longer than
 *                   max_input_bytes (score 0, the script is not called)
 *   timeout         instruction budget or the pool's wall-clock deadline
 *   sandbox-error   memory budget, or the worker process crashed or was killed
 *   verifier-error  the script is missing, does not compile, raised an error,
 *                   or returned something that is not a valid score/details
 *   input-error     the item itself is malformed: reference or meta over
 *                   max_input_bytes or not valid JSON, no verifier named or
 *                   a name over RLVR_VERIFY_NAME_MAX bytes
 * Errors put {"error": "<message>"} in details.
 *
 * Each host keeps one sandbox per verifier name, built on first use and
 * reused while calls succeed; after any call that is not ok or wrong-format
 * the sandbox is thrown away and rebuilt on next use, so a failed call
 * cannot leave state behind for the next. A script that fails to load is
 * remembered as failed (the same error for every item) for the host's life. */
#ifndef RLVR_HOST_H
#define RLVR_HOST_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef enum {
  RLVR_VERIFY_OK = 0,
  RLVR_VERIFY_WRONG_FORMAT = 1,
  RLVR_VERIFY_TIMEOUT = 2,
  RLVR_VERIFY_SANDBOX_ERROR = 3,
  RLVR_VERIFY_VERIFIER_ERROR = 4,
  RLVR_VERIFY_INPUT_ERROR = 5,
  RLVR_VERIFY_NSTATUS
} rlvr_verify_status;

/* "ok", "wrong-format", "timeout", "sandbox-error", "verifier-error", "input-error". */
const char *rlvr_verify_status_name(rlvr_verify_status s);
/* The status of a name above, or -1. */
int rlvr_verify_status_parse(const char *name);
/* 1 for ok and wrong-format: the score counts; 0 for infrastructure failures. */
int rlvr_verify_status_is_scored(rlvr_verify_status s);

/* Largest details JSON a result carries; longer details are replaced by
 * {"details_truncated": true}. */
enum { RLVR_VERIFY_DETAILS_MAX = 64 * 1024 };
/* Longest verifier name or path an item may give (input-error past it). */
enum { RLVR_VERIFY_NAME_MAX = 4096 };

typedef struct {
  char paths[4096];        /* ':'-separated directories searched for NAME.lua, in order */
  int64_t instructions;    /* Lua instructions per verify call (and per script load) */
  int64_t memory_bytes;    /* heap budget of each verifier's Lua state */
  int64_t max_input_bytes; /* cap on completion, reference and meta, each */
  int64_t timeout_ms;      /* pool: wall-clock deadline per item */
  int workers;             /* pool: worker processes; 0 = score in the calling process */
  /* Tests only: adds functions to the `rlvr` table of every sandbox (see
   * sandbox.h); inherited by pool workers. NULL in production. */
  void (*open_extra)(lua_State *L);
} rlvr_verify_options;

/* The defaults of the verify.* config keys, with paths = builtin_dir (may be NULL). */
void rlvr_verify_options_default(rlvr_verify_options *o, const char *builtin_dir);

/* From the verify.* keys of cfg: paths = verify.paths then builtin_dir;
 * verify.workers 0 becomes the number of online CPUs. RLVR_ERR_CONFIG naming
 * the key on a value out of range; *o unchanged then. */
int rlvr_verify_options_from_config(rlvr_verify_options *o, const rlvr_config *cfg,
                                    const char *builtin_dir);

/* One thing to verify. Pointers are borrowed for the duration of the call. */
typedef struct {
  const char *verifier;   /* name or path of the script (registry.h) */
  const char *completion; /* completion_len bytes, any content (need not be UTF-8) */
  size_t completion_len;
  const char *reference;  /* NULL: nil */
  size_t reference_len;
  int reference_json;     /* 1: reference is JSON text, decoded; 0: bytes, a Lua string */
  const char *meta;       /* JSON text, decoded; NULL: nil */
  size_t meta_len;
} rlvr_verify_item;

typedef struct {
  double score;              /* [0, 1]; 0 unless the status is scored */
  rlvr_verify_status status;
  char *details;             /* JSON object text, malloc'd, owned by the result */
  int64_t elapsed_ns;        /* wall time of the item where it ran */
  char version[32];          /* the script's version, cut to 31 bytes; "" if it did not load or did not run */
} rlvr_verify_result;

/* Frees details and zeroes the result(s). Accept zeroed results. */
void rlvr_verify_result_clear(rlvr_verify_result *r);
void rlvr_verify_results_clear(rlvr_verify_result *r, size_t n);

/* Sets r to status with details {"error": message} and score 0 (frees old details). */
void rlvr_verify_result_set_error(rlvr_verify_result *r, rlvr_verify_status status, const char *message);

typedef struct rlvr_verify_host rlvr_verify_host;

/* Copies o. Scripts are loaded on first use, so this cannot fail. */
rlvr_verify_host *rlvr_host_build(const rlvr_verify_options *o);
void rlvr_host_free(rlvr_verify_host *h); /* accepts NULL */

/* Decides the items that need no script: no verifier named, reference or
 * meta over the cap (input-error), completion over the cap (wrong-format,
 * score 0). Returns 1 and fills *out (overwritten) for those; 0 otherwise.
 * rlvr_host_verify does this first; the pool does it before sending. */
int rlvr_host_precheck(const rlvr_verify_options *o, const rlvr_verify_item *item, rlvr_verify_result *out);

/* Verifies one item; *out is overwritten (not freed first) and always filled. */
void rlvr_host_verify(rlvr_verify_host *h, const rlvr_verify_item *item, rlvr_verify_result *out);

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
int64_t rlvr_verify_now_ns(void);

#endif
