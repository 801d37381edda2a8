/* test_sampler.c — temperature, top-k, top-p and seeds.
 *
 * The expected distributions are computed here in double precision by the
 * textbook method (sort everything, cut, renormalise), independently of the
 * sampler's heap and cutoff shortcuts; frequencies over many draws must match
 * within a few standard errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/sampler.h"
#include "testing.h"

enum { V = 50, DRAWS = 200000 };

/* Reference: probabilities after T, top-k, top-p (HF order). */
static void reference(const float *logits, float T, int k, float p, double *out) {
  double z = 0, mx = -1e30;
  for (int i = 0; i < V; i++) if (logits[i] / T > mx) mx = logits[i] / T;
  for (int i = 0; i < V; i++) z += exp(logits[i] / T - mx);
  int idx[V];
  double pr[V];
  for (int i = 0; i < V; i++) idx[i] = i, pr[i] = exp(logits[i] / T - mx) / z;
  for (int i = 0; i < V; i++) /* selection sort, descending, ties by id */
    for (int j = i + 1; j < V; j++)
      if (pr[idx[j]] > pr[idx[i]] || (pr[idx[j]] == pr[idx[i]] && idx[j] < idx[i])) {
        int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
      }
  int n = (k > 0 && k < V) ? k : V;
  double kept = 0;
  for (int i = 0; i < n; i++) kept += pr[idx[i]];
  if (p < 1) {
    double cum = 0;
    int m = 0;
    while (m < n) { cum += pr[idx[m++]]; if (cum / kept >= p) break; }
    n = m;
    kept = cum;
  }
  memset(out, 0, V * sizeof *out);
  for (int i = 0; i < n; i++) out[idx[i]] = pr[idx[i]] / kept;
}

static void check_distribution(const char *what, const float *logits, rlvr_sampling sp) {
  rlvr_sampler s;
  rlvr_sampler_init(&s, V);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 1234);
  int counts[V] = {0};
  for (int i = 0; i < DRAWS; i++) counts[rlvr_sampler_sample(&s, logits, &sp, &rng, NULL)]++;
  double want[V];
  reference(logits, sp.temperature, sp.top_k, sp.top_p, want);
  double worst = 0;
  int bad = 0;
  for (int i = 0; i < V; i++) {
    double f = (double)counts[i] / DRAWS;
    double se = sqrt(want[i] * (1 - want[i]) / DRAWS) + 1e-9;
    double z = fabs(f - want[i]) / se;
    if (want[i] == 0 && counts[i] > 0) bad++; /* a cut token must never appear */
    if (z > 5) bad++;
    if (z > worst && want[i] > 0) worst = z;
  }
  CHECK_MSG(bad == 0, "%s: %d tokens off", what, bad);
  printf("ok   %s: largest deviation %.2f standard errors\n", what, worst);
  rlvr_sampler_free(&s);
}

int main(void) {
  float logits[V];
  rlvr_rng r;
  rlvr_rng_seed(&r, 7);
  for (int i = 0; i < V; i++) logits[i] = 2.0f * rlvr_rng_normal(&r);
  logits[3] = logits[4]; /* a tie */

  check_distribution("T=1", logits, (rlvr_sampling){1.0f, 0, 1.0f});
  check_distribution("T=0.5", logits, (rlvr_sampling){0.5f, 0, 1.0f});
  check_distribution("T=2 top_k=5", logits, (rlvr_sampling){2.0f, 5, 1.0f});
  check_distribution("top_p=0.8", logits, (rlvr_sampling){1.0f, 0, 0.8f});
  check_distribution("top_k=10 top_p=0.9", logits, (rlvr_sampling){1.5f, 10, 0.9f});
  check_distribution("top_p=0.05 (one token)", logits, (rlvr_sampling){1.0f, 0, 0.05f});

  rlvr_sampler s;
  rlvr_sampler_init(&s, V);
  /* Greedy picks the argmax and draws nothing from the rng. */
  int best = 0;
  for (int i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
  rlvr_rng a, b;
  rlvr_rng_seed(&a, 5);
  b = a;
  rlvr_sampling greedy = {0.0f, 0, 1.0f};
  float lp;
  CHECK(rlvr_sampler_sample(&s, logits, &greedy, &a, &lp) == best);
  CHECK(memcmp(&a, &b, sizeof a) == 0);

  /* The reported log-prob is log softmax(logits / T) at the token. */
  rlvr_sampling sp = {0.8f, 3, 0.9f};
  int t = rlvr_sampler_sample(&s, logits, &sp, &a, &lp);
  double mx = -1e30, z = 0;
  for (int i = 0; i < V; i++) if (logits[i] / 0.8 > mx) mx = logits[i] / 0.8;
  for (int i = 0; i < V; i++) z += exp(logits[i] / 0.8 - mx);
  double want = logits[t] / 0.8 - mx - log(z);
  CHECK_MSG(fabs(lp - want) < 1e-5, "logprob %g want %g", lp, want);

  /* Same seed, same tokens. */
  int seq1[64], seq2[64];
  rlvr_rng_seed(&a, 99);
  for (int i = 0; i < 64; i++) seq1[i] = rlvr_sampler_sample(&s, logits, &(rlvr_sampling){1.0f, 0, 0.9f}, &a, NULL);
  rlvr_rng_seed(&a, 99);
  for (int i = 0; i < 64; i++) seq2[i] = rlvr_sampler_sample(&s, logits, &(rlvr_sampling){1.0f, 0, 0.9f}, &a, NULL);
  CHECK(memcmp(seq1, seq2, sizeof seq1) == 0);

  /* Settings from outside are validated. */
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){-1.0f, 0, 1.0f}) == RLVR_ERR_CONFIG);
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){NAN, 0, 1.0f}) == RLVR_ERR_CONFIG);
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){1.0f, -2, 1.0f}) == RLVR_ERR_CONFIG);
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){1.0f, 0, 0.0f}) == RLVR_ERR_CONFIG);
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){1.0f, 0, 1.5f}) == RLVR_ERR_CONFIG);
  CHECK(strstr(rlvr_error_message(), "sample.top_p") != NULL);
  CHECK(rlvr_sampling_validate(&(rlvr_sampling){0.0f, 5, 0.3f}) == RLVR_OK);
  rlvr_sampler_free(&s);
  return test_done();
}
