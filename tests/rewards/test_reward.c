/* test_reward.c — reward composition: the soft overlong punishment at and
 * around its boundaries, weights, wrong format, infrastructure failures,
 * input errors, and reading the config. Expected values are worked out by
 * hand in the comments from DAPO's eq. 13. */
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "loss/close_f64.h"
#include "rewards/reward.h"
#include "testing.h"

static void test_overlong(void) {
  /* L_max = 20, L_cache = 5: no punishment up to 20 - 5 = 15 tokens; then
   * (15 - |y|) / 5 down to -1 at 20; -1 beyond. */
  struct {
    int64_t len;
    double want;
  } c[] = {
      {0, 0.0},   {15, 0.0},   /* last unpunished length */
      {16, -0.2},              /* (15 - 16) / 5 */
      {18, -0.6},              /* (15 - 18) / 5 */
      {19, -0.8}, {20, -1.0},  /* L_max itself: (15 - 20) / 5 = -1 */
      {21, -1.0}, {1000, -1.0} /* beyond L_max */
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "overlong(%lld; 20, 5)", (long long)c[i].len);
    CHECK_NEAR(what, rlvr_reward_overlong(c[i].len, 20, 5), c[i].want, 1e-15);
  }
  /* L_cache = 0: a hard cut, 0 up to L_max and -1 after. */
  CHECK(rlvr_reward_overlong(20, 20, 0) == 0.0);
  CHECK(rlvr_reward_overlong(21, 20, 0) == -1.0);
  /* L_cache = L_max: the punishment starts at the first token: -1/20 per token. */
  CHECK(rlvr_reward_overlong(0, 20, 20) == 0.0);
  CHECK_NEAR("overlong(1; 20, 20)", rlvr_reward_overlong(1, 20, 20), -0.05, 1e-15);
  CHECK_NEAR("overlong(10; 20, 20)", rlvr_reward_overlong(10, 20, 20), -0.5, 1e-15);
  /* DAPO's own setting: L_max = 20480, L_cache = 4096 -> safe up to 16384. */
  CHECK(rlvr_reward_overlong(16384, 20480, 4096) == 0.0);
  CHECK_NEAR("overlong(16385; DAPO)", rlvr_reward_overlong(16385, 20480, 4096), -1.0 / 4096, 1e-15);
  CHECK_NEAR("overlong(18432; DAPO)", rlvr_reward_overlong(18432, 20480, 4096), -0.5, 1e-15);
}

static void test_compose(void) {
  rlvr_reward_config cfg = {.weight = {1.0, 0.5, 0.25}, .overlong_max = 20, .overlong_cache = 5};
  rlvr_reward_input in[] = {
      {.status = RLVR_REWARD_STATUS_OK, .score = 1.0, .format = 1.0, .length = 10},
      {.status = RLVR_REWARD_STATUS_OK, .score = 0.0, .format = 1.0, .length = 18},
      {.status = RLVR_REWARD_STATUS_WRONG_FORMAT, .score = 0.7, .format = 0.0, .length = 25},
      {.status = RLVR_REWARD_STATUS_TIMEOUT, .score = 1.0, .format = 1.0, .length = 3},
      {.status = RLVR_REWARD_STATUS_CRASH, .score = 5.0, .format = -1.0, .length = -4}, /* junk: ignored */
      {.status = 17, .score = 1.0, .format = 1.0, .length = 3}, /* an unknown host failure code */
      {.status = RLVR_REWARD_STATUS_OK, .score = 0.5, .format = 0.0, .length = 16},
  };
  int n = (int)(sizeof in / sizeof in[0]);
  rlvr_reward out[7];
  CHECK(rlvr_reward_compose(&cfg, in, n, out) == RLVR_OK);
  /* 0: 1*1 + 0.5*1 + 0.25*0 = 1.5 */
  CHECK_NEAR("reward[0]", out[0].reward, 1.5, 1e-15);
  CHECK(out[0].component[RLVR_REWARD_ACCURACY] == 1.0 && out[0].component[RLVR_REWARD_FORMAT] == 1.0 &&
        out[0].component[RLVR_REWARD_LENGTH] == 0.0 && !out[0].excluded);
  /* 1: 0 + 0.5 + 0.25 * (-0.6) = 0.35 */
  CHECK_NEAR("reward[1]", out[1].reward, 0.35, 1e-15);
  CHECK_NEAR("length[1]", out[1].component[RLVR_REWARD_LENGTH], -0.6, 1e-15);
  /* 2: wrong format: accuracy forced to 0; length 25 > 20: -1; 0 + 0 - 0.25 */
  CHECK_NEAR("reward[2]", out[2].reward, -0.25, 1e-15);
  CHECK(out[2].component[RLVR_REWARD_ACCURACY] == 0.0 && !out[2].excluded);
  /* 3, 4, 5: infrastructure failures: excluded, everything 0. */
  for (int i = 3; i <= 5; i++) {
    CHECK_MSG(out[i].excluded && out[i].reward == 0.0, "sample %d", i);
    for (int k = 0; k < RLVR_REWARD_NCOMPONENTS; k++) CHECK(out[i].component[k] == 0.0);
  }
  /* 6: 0.5 + 0 + 0.25 * (-0.2) = 0.45 */
  CHECK_NEAR("reward[6]", out[6].reward, 0.45, 1e-15);
  CHECK(rlvr_reward_status_is_infra(RLVR_REWARD_STATUS_ERROR) && !rlvr_reward_status_is_infra(RLVR_REWARD_STATUS_OK));
  CHECK(strcmp(rlvr_reward_component_name(RLVR_REWARD_LENGTH), "length") == 0);

  /* Bad input: an error naming the sample, and out[] untouched. */
  rlvr_reward keep[2];
  memset(keep, 0x5a, sizeof keep);
  rlvr_reward before[2];
  memcpy(before, keep, sizeof keep);
  rlvr_reward_input bad[][2] = {
      {{.status = 0, .score = 1, .format = 1, .length = 1}, {.status = 0, .score = 1.5, .format = 1, .length = 1}},
      {{.status = 0, .score = 1, .format = 1, .length = 1}, {.status = 0, .score = NAN, .format = 1, .length = 1}},
      {{.status = 0, .score = 1, .format = 1, .length = 1}, {.status = 0, .score = 1, .format = -0.1, .length = 1}},
      {{.status = 0, .score = 1, .format = 1, .length = 1}, {.status = 1, .score = 0, .format = 0, .length = -1}},
      {{.status = 0, .score = 1, .format = 1, .length = 1}, {.status = -2, .score = 0, .format = 0, .length = 1}},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    int rc = rlvr_reward_compose(&cfg, bad[k], 2, keep);
    CHECK_MSG(rc == RLVR_ERR_RANGE, "bad case %zu: rc %d", k, rc);
    CHECK_MSG(strstr(rlvr_error_message(), "sample 1") != NULL, "message: %s", rlvr_error_message());
    CHECK(memcmp(keep, before, sizeof keep) == 0);
  }
}

static void test_config(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_reward_config r;
  CHECK(rlvr_reward_config_from(&c, &r) == RLVR_OK);
  CHECK(r.weight[RLVR_REWARD_ACCURACY] == 1.0 && r.weight[RLVR_REWARD_FORMAT] == 0.0 &&
        r.weight[RLVR_REWARD_LENGTH] == 0.0);
  CHECK(r.overlong_max == c.sample_max_tokens && r.overlong_cache == 0); /* 0 = sample.max_tokens */
  CHECK(rlvr_config_set(&c, "reward.overlong_max=100") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "reward.overlong_cache=20") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "reward.length_weight=1") == RLVR_OK);
  CHECK(rlvr_reward_config_from(&c, &r) == RLVR_OK);
  CHECK(r.overlong_max == 100 && r.overlong_cache == 20 && r.weight[RLVR_REWARD_LENGTH] == 1.0);
  CHECK(rlvr_config_set(&c, "reward.overlong_cache=101") == RLVR_OK);
  rlvr_reward_config keep = r;
  CHECK(rlvr_reward_config_from(&c, &r) == RLVR_ERR_CONFIG);
  CHECK_MSG(strstr(rlvr_error_message(), "reward.overlong_cache") != NULL, "%s", rlvr_error_message());
  CHECK(memcmp(&keep, &r, sizeof r) == 0);
  CHECK(rlvr_config_set(&c, "reward.overlong_cache=-1") == RLVR_OK);
  CHECK(rlvr_reward_config_from(&c, &r) == RLVR_ERR_CONFIG);
  rlvr_config_free(&c);
}

int main(void) {
  test_overlong();
  test_compose();
  test_config();
  return test_done();
}
