/* schedule.h — the learning rate of each optimizer step: linear warmup, then
 * constant or cosine decay.
 *
 * Steps count from 0 (the first optimizer step is step 0). With peak lr,
 * warmup W, total steps S and floor m = min_lr_ratio * lr:
 *   step k < W                lr * (k + 1) / W    (step 0 already moves; step W-1 is at lr)
 *   constant, k >= W          lr
 *   cosine,   k >= W          m + (lr - m) * (1 + cos(pi * p)) / 2,
 *                             p = min(1, (k - W) / max(1, S - W))
 * Hugging Face's get_cosine_schedule_with_warmup has the same cosine but a
 * warmup of k / W, whose first step has lr 0; ours starts one step further. */
#ifndef RLVR_SCHEDULE_H
#define RLVR_SCHEDULE_H

#include <stdint.h>

#include "core/config.h"

typedef enum {
  RLVR_LR_CONSTANT = 0,
  RLVR_LR_COSINE = 1,
} rlvr_lr_kind;

typedef struct {
  rlvr_lr_kind kind;
  double lr;           /* peak, > 0 */
  int64_t warmup;      /* W >= 0 */
  double min_lr_ratio; /* [0, 1] */
  int64_t total;       /* S: the run's optimizer steps, >= 1 */
} rlvr_lr_schedule;

/* Reads optim.* from c; total_steps comes from the run (its step count).
 * RLVR_ERR_CONFIG naming the key on a bad value; *out unchanged then. */
int rlvr_lr_schedule_from(const rlvr_config *c, int64_t total_steps, rlvr_lr_schedule *out);

/* The learning rate of step k (k >= 0; steps past the total keep the last value's rule). */
double rlvr_lr_at(const rlvr_lr_schedule *s, int64_t step);

#endif
