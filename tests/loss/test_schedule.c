/* test_schedule.c — learning-rate schedule: hand-worked values of warmup,
 * constant and cosine (in the comments), shape properties, and the config. */
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "learner/schedule.h"
#include "loss/close_f64.h"
#include "testing.h"

static void test_cosine(void) {
  /* lr 1e-3, W = 4, S = 14, floor 0.1 * lr = 1e-4, cosine span S - W = 10.
   *   k = 0: 1e-3 * 1/4 = 2.5e-4        k = 3: 1e-3 * 4/4 = 1e-3 (end of warmup)
   *   k = 4: p = 0: 1e-3                k = 9: p = 0.5: 1e-4 + 9e-4 * 0.5 = 5.5e-4
   *   k = 13: p = 0.9: 1e-4 + 9e-4 * (1 + cos(0.9 pi)) / 2
   *         = 1e-4 + 9e-4 * (1 - 0.9510565163) / 2 = 1.2202456766e-4
   *   k = 14 and beyond: p = 1: 1e-4 */
  rlvr_lr_schedule s = {.kind = RLVR_LR_COSINE, .lr = 1e-3, .warmup = 4, .min_lr_ratio = 0.1, .total = 14};
  const int64_t steps[] = {0, 1, 3, 4, 9, 13, 14, 100};
  const double want[] = {2.5e-4, 5e-4, 1e-3, 1e-3, 5.5e-4, 1.2202456766e-4, 1e-4, 1e-4};
  double got[8];
  for (int i = 0; i < 8; i++) got[i] = rlvr_lr_at(&s, steps[i]);
  CHECK_CLOSE_F64("cosine with warmup", got, want, 8, 1e-14, 1e-9);
  /* After warmup the cosine never rises and never goes under the floor. */
  double prev = rlvr_lr_at(&s, 4);
  for (int64_t k = 5; k < 30; k++) {
    double v = rlvr_lr_at(&s, k);
    CHECK_MSG(v <= prev && v >= 1e-4 - 1e-18, "step %lld: %g after %g", (long long)k, v, prev);
    prev = v;
  }
  /* No warmup, no floor: step 0 at the peak, halfway at half. S = 10. */
  rlvr_lr_schedule z = {.kind = RLVR_LR_COSINE, .lr = 2.0, .warmup = 0, .min_lr_ratio = 0, .total = 10};
  CHECK_NEAR("cosine k=0", rlvr_lr_at(&z, 0), 2.0, 1e-15);
  CHECK_NEAR("cosine k=5", rlvr_lr_at(&z, 5), 1.0, 1e-15);
  CHECK_NEAR("cosine k=10", rlvr_lr_at(&z, 10), 0.0, 1e-15);
}

static void test_constant(void) {
  /* lr 0.5, W = 2: 0.25, 0.5, then 0.5 for ever. W = 0: 0.5 from step 0. */
  rlvr_lr_schedule s = {.kind = RLVR_LR_CONSTANT, .lr = 0.5, .warmup = 2, .min_lr_ratio = 0.3, .total = 5};
  CHECK(rlvr_lr_at(&s, 0) == 0.25 && rlvr_lr_at(&s, 1) == 0.5 && rlvr_lr_at(&s, 2) == 0.5 &&
        rlvr_lr_at(&s, 1000) == 0.5);
  s.warmup = 0;
  CHECK(rlvr_lr_at(&s, 0) == 0.5);
}

static void test_config(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_lr_schedule s;
  CHECK(rlvr_lr_schedule_from(&c, 100, &s) == RLVR_OK);
  CHECK(s.kind == RLVR_LR_CONSTANT && s.lr == 1e-6 && s.warmup == 0 && s.total == 100);
  CHECK(rlvr_config_set(&c, "optim.schedule=cosine") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "optim.warmup_steps=10") == RLVR_OK);
  CHECK(rlvr_lr_schedule_from(&c, 100, &s) == RLVR_OK && s.kind == RLVR_LR_COSINE && s.warmup == 10);
  rlvr_lr_schedule keep = s;
  CHECK(rlvr_lr_schedule_from(&c, 0, &s) == RLVR_ERR_CONFIG);
  struct {
    const char *set, *key;
  } bad[] = {{"optim.schedule=linear", "optim.schedule"},
             {"optim.lr=0", "optim.lr"},
             {"optim.warmup_steps=-1", "optim.warmup_steps"},
             {"optim.min_lr_ratio=1.5", "optim.min_lr_ratio"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    rlvr_config d;
    rlvr_config_init(&d);
    CHECK(rlvr_config_set(&d, bad[k].set) == RLVR_OK);
    CHECK_MSG(rlvr_lr_schedule_from(&d, 100, &s) == RLVR_ERR_CONFIG, "%s accepted", bad[k].set);
    CHECK_MSG(strstr(rlvr_error_message(), bad[k].key) != NULL, "%s: %s", bad[k].set, rlvr_error_message());
    CHECK(memcmp(&keep, &s, sizeof s) == 0);
    rlvr_config_free(&d);
  }
  rlvr_config_free(&c);
}

int main(void) {
  test_cosine();
  test_constant();
  test_config();
  return test_done();
}
