/* logprob.h — THE log-probability of a sampled token at a sampling
 * temperature: the one number the rollout sends with each token and the one
 * the learner recomputes, so both sides must call this function on the same
 * logits (docs/rollout.md, "Log-probabilities").
 *
 *   lp = log softmax(z / T)[token]      z: the model's logits row (V)
 *
 * computed as: s = rlvr_logits_temperature(z) (model/forward.h: s_j = z_j / T,
 * one IEEE division per element, as Hugging Face's TemperatureLogitsWarper
 * divides; the learner's forward applies the same function, see
 * rlvr_forward_set_temperature), then s[token] - lse(s) with
 * rlvr_logsoftmax_row of model/kernels.h (the forward's own log-softmax).
 * T = 1 and T <= 0 (greedy) skip the division: lp = z[token] - lse(z), which
 * is bit for bit rlvr_decode_logprob and the forward's per-token logprobs.
 * Top-k and top-p truncation are NOT part of it: the learner cannot see them,
 * so the sampler's truncation is treated as part of the behaviour policy.
 *
 * The temperature is a float: a double from the protocol (work.sampling.
 * temperature) is rounded once with (float)t on both sides. */
#ifndef RLVR_LOGPROB_H
#define RLVR_LOGPROB_H

/* log softmax(logits / temperature)[token] over V logits; scratch: 2 * V
 * floats. token in 0..V-1 (a bug otherwise). */
float rlvr_logprob_at_temperature(const float *logits, int V, int token, float temperature, float *scratch);

/* The same for n rows (n, V) and one token per row into out (n);
 * scratch 2 * V floats. For the learner's recomputation. */
void rlvr_logprobs_at_temperature(const float *logits, int n, int V, const int *tokens, float temperature,
                                  float *out, float *scratch);

#endif
