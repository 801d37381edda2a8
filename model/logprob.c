/* logprob.c — log softmax(z / T)[token]; see logprob.h. The scaling is
 * forward.h's rlvr_logits_temperature itself, the one the learner's forward
 * applies, so the two cannot drift apart. */
#include "model/logprob.h"

#include <stddef.h>
#include <string.h>

#include "core/check.h"
#include "model/forward.h"
#include "model/kernels.h"

float rlvr_logprob_at_temperature(const float *logits, int V, int token, float temperature, float *scratch) {
  RLVR_CHECK(token >= 0 && token < V, "token %d outside 0..%d", token, V - 1);
  float lse;
  if (!(temperature > 0.0f) || temperature == 1.0f) {
    rlvr_logsoftmax_row(logits, V, &lse, NULL, scratch);
    return logits[token] - lse;
  }
  float *s = scratch, *tmp = scratch + V;
  memcpy(s, logits, sizeof(float) * (size_t)V);
  rlvr_logits_temperature(s, V, temperature);
  rlvr_logsoftmax_row(s, V, &lse, NULL, tmp);
  return s[token] - lse;
}

void rlvr_logprobs_at_temperature(const float *logits, int n, int V, const int *tokens, float temperature,
                                  float *out, float *scratch) {
  for (int i = 0; i < n; i++)
    out[i] = rlvr_logprob_at_temperature(logits + (size_t)i * V, V, tokens[i], temperature, scratch);
}
