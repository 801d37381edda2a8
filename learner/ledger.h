/* ledger.h — the learner's account of every prompt group, from the moment it
 * is made from a task item to the moment a step trains on it or drops it.
 *
 * A group is made from the training item at the learner's cursor (task.h)
 * and gets the next group id. It is then:
 *   queued    made (or handed back by a worker that died) and not yet out;
 *   out       handed to a worker in a work message (work_id, worker id);
 *   ready     its trajectories came back, checked, and wait for a step;
 *   aside     (dynamic sampling) it came back with zero reward spread and is
 *             dropped, unless the step hits its cap on sampled groups and
 *             needs it to fill the batch;
 * and finally consumed (trained on) or dropped (stale, zero spread): it
 * leaves the ledger. A group id that is no longer in the ledger was
 * consumed or dropped, so trajectories for it are a duplicate, counted and
 * ignored: no group is ever counted twice. Trajectories for a group that is
 * queued or out with another worker (it was re-issued after its worker was
 * presumed dead) are taken: the first complete answer wins.
 *
 * How many groups are out at once. Step s (the policy at version s) needs
 * P = prompts_per_step groups. A group sampled with version v may train at
 * step s only if s - v <= max_off_policy. The ledger keeps at most
 * P * (1 + max_off_policy) groups queued, out or ready, so with
 * max_off_policy = 0 it hands out exactly the P groups of the step (plus one
 * replacement for each group dropped), and the batch of a step is the same
 * groups whatever the number of workers and the order in which they answer:
 * with the rollout's per-sample seeds derived from the group id
 * (rollout/engine.h), a run is reproducible across processes.
 *
 * The batch of a step: the P ready groups with the lowest ids, once there
 * are P of them and none sampled with a too-old version. With dynamic
 * sampling, a step that has seen max_groups_factor * P groups come back
 * stops asking for more, and once nothing is out fills its batch with aside
 * groups (lowest ids first), so a model that gets every prompt right (or
 * wrong) does not loop forever.
 *
 * Nothing here touches the model or the network: the learner feeds it work
 * requests and trajectories and asks it for batches. Not thread-safe. */
#ifndef RLVR_LEDGER_H
#define RLVR_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "tasks/task.h"

/* A group's prompt as the work message carries it, plus provenance. Owned
 * by the ledger once given to it. */
typedef struct {
  int32_t *prompt_ids; /* (nprompt) the templated, tokenized prompt */
  uint32_t nprompt;
  char *prompt;        /* templated prompt text */
  char *reference;     /* the reference as a string, or NULL when reference_mp holds a map */
  uint8_t *reference_mp; /* msgpack map, or NULL */
  size_t reference_mp_len;
  char *verifier;
  uint8_t *meta_mp;    /* msgpack map, or NULL (no meta) */
  size_t meta_mp_len;
  char *item_id;       /* the task item's id */
  char *question;      /* the item's prompt before the template */
  char *answer;        /* the item's answer text */
} rlvr_group_spec;

void rlvr_group_spec_clear(rlvr_group_spec *s); /* frees and zeroes; accepts a zeroed spec */

/* Makes the spec of the item at *cursor and advances the cursor (on error,
 * neither changes). Errors stop the run (a task script failed). */
typedef int (*rlvr_group_maker)(void *ctx, rlvr_task_cursor *cursor, rlvr_group_spec *out);

/* One completion as the learner keeps it (a deep copy of the message's). */
typedef struct {
  int32_t *tokens; /* (n) */
  uint8_t *mask;   /* (n) */
  float *logprobs; /* (n) */
  uint32_t n;
  double reward, advantage;
  double accuracy; /* the "accuracy" component; NAN when absent */
  double format;   /* the "format" component; NAN when absent */
  double length_c; /* the "length" component; NAN when absent */
  double correct;  /* the "correct" label statistic (1/0, rollout/consensus.h); NAN when the group has no label */
  double majority_correct; /* the "majority_correct" label statistic (1/0, the group's); NAN likewise */
  int status;      /* rlvr_verifier_status */
  int finish;      /* rlvr_finish */
  uint64_t seed;
  double t_generate, t_verify; /* the sample's reported timings (0 when absent) */
} rlvr_sample_rec;

typedef struct {
  uint64_t id;
  rlvr_task_cursor cursor; /* the cursor before the group's item was taken */
  rlvr_group_spec spec;
  int state;               /* RLVR_LEDGER_QUEUED ... */
  int attempts;            /* times handed out */
  uint64_t work_id;        /* while out */
  char worker[RLVR_PROTO_MAX_NAME + 1];
  /* when ready or aside */
  uint64_t policy_version;
  char answered_by[RLVR_PROTO_MAX_NAME + 1];
  rlvr_sample_rec *samples; /* (g) */
  int g;
  int zero_spread;
} rlvr_ledger_group;

enum { RLVR_LEDGER_QUEUED = 0, RLVR_LEDGER_OUT, RLVR_LEDGER_READY, RLVR_LEDGER_ASIDE };

/* A group that comes back malformed, or whose work a worker reports it
 * could not do, is handed out again, up to this many times in all; then it
 * is dropped (counted failed), so that a prompt no worker can serve does not
 * stall the run. A worker's death does not count against its groups. */
enum { RLVR_LEDGER_MAX_ATTEMPTS = 3 };

typedef struct {
  int prompts_per_step;  /* P >= 1 */
  int group_size;        /* G >= 1 */
  int max_off_policy;    /* >= 0 */
  int dynamic_sampling;  /* drop zero-spread groups */
  int max_groups_factor; /* >= 1 */
  int vocab_size;        /* token ids must be below it */
  int max_seq;           /* prompt + completion tokens must fit */
  uint32_t max_tokens;   /* completion tokens a sample may have (budget text included) */
} rlvr_ledger_config;

/* Cumulative counts; the learner logs each step's difference. */
typedef struct {
  int64_t groups_made;
  int64_t groups_issued;       /* hand-outs, re-issues included */
  int64_t groups_reissued;     /* handed out again after their worker was lost */
  int64_t groups_accepted;     /* came back valid and in time */
  int64_t groups_stale;        /* dropped: sampled with a too-old policy */
  int64_t groups_zero_spread;  /* came back with zero reward spread */
  int64_t groups_dropped_zero_spread; /* of which dropped (dynamic sampling) */
  int64_t groups_invalid;      /* came back malformed: handed out again */
  int64_t groups_failed;       /* dropped after RLVR_LEDGER_MAX_ATTEMPTS bad answers or work errors */
  int64_t groups_duplicate;    /* came back for a group already counted */
  int64_t groups_unknown;      /* came back for a group id never made */
  int64_t samples_infra;       /* samples with an infrastructure failure (excluded) */
  int64_t workers_lost;
} rlvr_ledger_counts;

typedef struct rlvr_ledger rlvr_ledger;

/* The ledger starts at cursor and next_id (a fresh run: the task cursor's
 * start and 1). maker and ctx are kept. */
rlvr_ledger *rlvr_ledger_new(const rlvr_ledger_config *cfg, const rlvr_task_cursor *cursor, uint64_t next_id,
                             rlvr_group_maker maker, void *ctx);
void rlvr_ledger_free(rlvr_ledger *lg); /* accepts NULL */

/* Hands out up to max groups for a worker at the current policy version:
 * queued groups first (lowest id first), then new ones made from the
 * cursor, as many as the limits above allow (possibly none). The groups are
 * marked out to worker with work_id; out (room for max) gets pointers to
 * them in [0, *n), valid until the next call that changes the ledger. Errors come from the maker (the
 * groups handed out before it failed stay out). */
int rlvr_ledger_issue(rlvr_ledger *lg, uint64_t version, const char *worker, uint64_t work_id, uint32_t max,
                      const rlvr_ledger_group **out, int *n);

/* Groups the ledger would hand out now (queued ones plus those it may make). */
int rlvr_ledger_wanted(const rlvr_ledger *lg, uint64_t version);

/* Takes the groups of a trajectories message at the current version. Each
 * group is checked (its id is out or queued here; prompt_ids are the ones
 * issued; G samples; token ids below the vocabulary; lengths within
 * max_tokens and max_seq; finite rewards and advantages); a bad one is
 * counted invalid and queued again, a duplicate or unknown id counted and
 * skipped, a stale one counted and dropped. Returns the number accepted. */
int rlvr_ledger_accept(rlvr_ledger *lg, uint64_t version, const rlvr_msg_trajectories *t);

/* A worker is gone: its out groups are queued again (counted reissued when
 * they go out again). */
void rlvr_ledger_worker_lost(rlvr_ledger *lg, const char *worker);

/* A worker reports that it could not serve work work_id (an error message):
 * the work's groups still out are queued again or, past
 * RLVR_LEDGER_MAX_ATTEMPTS, dropped. */
void rlvr_ledger_work_failed(rlvr_ledger *lg, uint64_t work_id);

/* If the batch of the step at version is complete, moves its groups out of
 * the ledger into batch[0..*n) (the caller owns them: free each with
 * rlvr_ledger_group_free, then the array with free) and returns 1; else 0.
 * Ready groups too old for version are dropped (counted stale) first. */
int rlvr_ledger_take_batch(rlvr_ledger *lg, uint64_t version, rlvr_ledger_group ***batch, int *n);

/* Frees a taken group. Accepts NULL. */
void rlvr_ledger_group_free(rlvr_ledger_group *g);

void rlvr_ledger_get_counts(const rlvr_ledger *lg, rlvr_ledger_counts *c);
void rlvr_ledger_set_counts(rlvr_ledger *lg, const rlvr_ledger_counts *c);

/* The id the next new group will get. */
uint64_t rlvr_ledger_next_id(const rlvr_ledger *lg);

/* Groups in each state. */
int rlvr_ledger_count_state(const rlvr_ledger *lg, int state);

/* What a checkpoint stores: the cursor of the next new group, the next id,
 * and, for every group still in the ledger (queued, out, ready or aside),
 * its id and the cursor it was made at, in id order. On resume
 * rlvr_ledger_restore remakes those groups from their cursors (queued, so
 * they are sampled again with the same ids). */
typedef struct {
  rlvr_task_cursor cursor;
  uint64_t next_id;
  int npending;
  uint64_t *pending_ids;            /* (npending) */
  rlvr_task_cursor *pending_cursor; /* (npending) */
  /* the dynamic-sampling count of the step in progress */
  int64_t step_sampled;
} rlvr_ledger_state;

/* Fills st (arrays malloc'd; free with rlvr_ledger_state_clear). */
void rlvr_ledger_save(const rlvr_ledger *lg, rlvr_ledger_state *st);
void rlvr_ledger_state_clear(rlvr_ledger_state *st);
/* Replaces the ledger's content with st (remaking pending groups with the
 * maker). The ledger must be empty. Errors from the maker. */
int rlvr_ledger_restore(rlvr_ledger *lg, const rlvr_ledger_state *st);

#endif
