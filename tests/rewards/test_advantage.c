/* test_advantage.c — group advantages: hand-worked groups (in the comments),
 * then tests/fixtures/loss/advantages.json, computed with torch by
 * tests/ref/make_loss_fixtures.py (torch.std, unbiased, for grpo). */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "loss/close_f64.h"
#include "loss/fixture_json.h"
#include "rewards/advantage.h"
#include "testing.h"

static void test_hand(void) {
  /* Group 0: [1, 0, 0, 1]. mean 0.5, deviations +-0.5; unbiased variance
   * 4 * 0.25 / 3 = 1/3, std = 1/sqrt(3) = 0.5773502692.
   *   grpo (eps 0):  +-0.5 * sqrt(3) = +-0.8660254038
   *   dr_grpo:       +-0.5
   *   rloo:          1 - (1 + 0 + 0) / 3 = 2/3;  0 - (1 + 1 + 0) / 3 = -2/3
   * Group 1: [1, 0, (0.3 excluded), 1]. Included 1, 0, 1: mean 2/3,
   * deviations 1/3, -2/3, 1/3; sum of squares 6/9; unbiased variance 1/3.
   *   grpo:    (1/3) * sqrt(3) = 0.5773502692;  (-2/3) * sqrt(3) = -1.1547005384
   *   dr_grpo: 1/3, -2/3, 1/3
   *   rloo:    1 - (0 + 1)/2 = 0.5;  0 - (1 + 1)/2 = -1
   *   the excluded sample: 0
   * Group 2: [0.1, 0.1, 0.1, 0.1]: zero spread, all exactly 0, flagged.
   * Group 3: [1, (0 excluded), (0 excluded), (1 excluded)]: one included, zero spread. */
  const double r[16] = {1, 0, 0, 1, 1, 0, 0.3, 1, 0.1, 0.1, 0.1, 0.1, 1, 0, 0, 1};
  const uint8_t ex[16] = {0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1};
  const double s3 = sqrt(3.0);
  const double want[3][16] = {
      {0.5 * s3, -0.5 * s3, -0.5 * s3, 0.5 * s3, s3 / 3, -2 * s3 / 3, 0, s3 / 3, 0, 0, 0, 0, 0, 0, 0, 0},
      {0.5, -0.5, -0.5, 0.5, 1.0 / 3, -2.0 / 3, 0, 1.0 / 3, 0, 0, 0, 0, 0, 0, 0, 0},
      {2.0 / 3, -2.0 / 3, -2.0 / 3, 2.0 / 3, 0.5, -1, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0},
  };
  const char *names[3] = {"hand grpo", "hand dr_grpo", "hand rloo"};
  for (int e = 0; e < 3; e++) {
    rlvr_advantage_config cfg = {.estimator = (rlvr_advantage_estimator)e, .eps = 0.0};
    double adv[16];
    uint8_t zero[4];
    rlvr_advantage_stats st;
    rlvr_advantage_stats_init(&st);
    rlvr_advantage_compute(&cfg, r, ex, 4, 4, adv, zero, &st);
    CHECK_CLOSE_F64(names[e], adv, want[e], 16, 1e-15, 1e-15);
    for (int i = 8; i < 12; i++) CHECK(adv[i] == 0.0); /* exactly, despite 0.1's rounding */
    CHECK(zero[0] == 0 && zero[1] == 0 && zero[2] == 1 && zero[3] == 1);
    CHECK(st.groups == 4 && st.zero_spread_groups == 2 && st.samples == 16 && st.excluded == 4);
    CHECK(rlvr_advantage_stats_zero_spread_fraction(&st) == 0.5);
  }
  /* eps: grpo divides by std + eps. */
  rlvr_advantage_config cfg = {.estimator = RLVR_ADVANTAGE_GRPO, .eps = 0.25};
  double adv[4];
  rlvr_advantage_compute(&cfg, r, NULL, 4, 1, adv, NULL, NULL);
  CHECK_NEAR("grpo eps 0.25", adv[0], 0.5 / (1 / s3 + 0.25), 1e-15);
  /* The predicate on its own. */
  CHECK(rlvr_advantage_group_has_spread(r, NULL, 4));
  CHECK(!rlvr_advantage_group_has_spread(r + 8, NULL, 4));
  const uint8_t ex_all_but_one[4] = {0, 1, 1, 1};
  CHECK(!rlvr_advantage_group_has_spread(r, ex_all_but_one, 4));
  /* G = 1: never any spread. */
  CHECK(!rlvr_advantage_group_has_spread(r, NULL, 1));
}

static void test_fixture(void) {
  cJSON *j = fixture_load("tests/fixtures/loss/advantages.json");
  int G = (int)fixture_number(j, "G"), ng = (int)fixture_number(j, "ngroups");
  size_t n = (size_t)G * ng;
  double *r = fixture_doubles(j, "rewards", n, NULL);
  uint8_t *ex = fixture_bytes(j, "excluded", n);
  uint8_t *want_zero = fixture_bytes(j, "zero_spread", (size_t)ng);
  const cJSON *adv_j = fixture_get(j, "advantages");
  double *adv = malloc(n * sizeof *adv);
  uint8_t *zero = malloc((size_t)ng);
  for (int e = 0; e < 3; e++) {
    const char *name = rlvr_advantage_estimator_name((rlvr_advantage_estimator)e);
    rlvr_advantage_config cfg = {.estimator = (rlvr_advantage_estimator)e, .eps = fixture_number(j, "eps")};
    double *want = fixture_doubles(adv_j, name, n, NULL);
    rlvr_advantage_stats st;
    rlvr_advantage_stats_init(&st);
    rlvr_advantage_compute(&cfg, r, ex, G, ng, adv, zero, &st);
    char what[64];
    snprintf(what, sizeof what, "torch %s advantages", name);
    /* Double arithmetic on both sides, different summation order: 1e-12. */
    CHECK_CLOSE_F64(what, adv, want, n, 1e-12, 1e-12);
    CHECK(memcmp(zero, want_zero, (size_t)ng) == 0);
    int64_t nz = 0, nex = 0;
    for (int g = 0; g < ng; g++) nz += want_zero[g];
    for (size_t i = 0; i < n; i++) nex += ex[i];
    CHECK(st.zero_spread_groups == nz && st.excluded == nex && st.groups == ng);
    free(want);
  }
  free(adv);
  free(zero);
  free(r);
  free(ex);
  free(want_zero);
  cJSON_Delete(j);
}

static void test_config(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  rlvr_advantage_config a;
  CHECK(rlvr_advantage_config_from(&c, &a) == RLVR_OK);
  CHECK(a.estimator == RLVR_ADVANTAGE_GRPO && a.eps == 1e-4 && a.dynamic_sampling == 0);
  CHECK(rlvr_config_set(&c, "advantage.estimator=rloo") == RLVR_OK);
  CHECK(rlvr_advantage_config_from(&c, &a) == RLVR_OK && a.estimator == RLVR_ADVANTAGE_RLOO);
  CHECK(rlvr_config_set(&c, "advantage.estimator=ppo") == RLVR_OK);
  CHECK(rlvr_advantage_config_from(&c, &a) == RLVR_ERR_CONFIG);
  CHECK_MSG(strstr(rlvr_error_message(), "advantage.estimator") != NULL, "%s", rlvr_error_message());
  CHECK(a.estimator == RLVR_ADVANTAGE_RLOO); /* unchanged */
  CHECK(rlvr_config_set(&c, "advantage.estimator=dr_grpo") == RLVR_OK);
  CHECK(rlvr_config_set(&c, "advantage.eps=-1") == RLVR_OK);
  CHECK(rlvr_advantage_config_from(&c, &a) == RLVR_ERR_CONFIG);
  rlvr_config_free(&c);
}

int main(void) {
  test_hand();
  test_fixture();
  test_config();
  return test_done();
}
