/* fake_sample.c — the fake worker's calls into model/sampler.h, in a file of
 * their own: model/sampler.h and core/protocol.h both define rlvr_sampling,
 * so no file can include both. */
#include <stdlib.h>

#include "core/check.h"
#include "model/sampler.h"

void *fake_sampler_new(int V);
void fake_sampler_free(void *s);
int fake_sample_token(void *s, const float *logits, float temperature, int top_k, float top_p, rlvr_rng *rng);

void *fake_sampler_new(int V) {
  rlvr_sampler *s = xcalloc(1, sizeof *s);
  rlvr_sampler_init(s, V);
  return s;
}

void fake_sampler_free(void *s) {
  if (!s) return;
  rlvr_sampler_free(s);
  free(s);
}

int fake_sample_token(void *s, const float *logits, float temperature, int top_k, float top_p, rlvr_rng *rng) {
  rlvr_sampling sp = {temperature, top_k, top_p};
  return rlvr_sampler_sample(s, logits, &sp, rng, NULL);
}
