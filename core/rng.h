/* rng.h — reproducible random numbers: xoshiro256** seeded by splitmix64.
 *
 * The state is four words, so it can be saved in checkpoints and sent with
 * trajectories. The same seed gives the same stream on every machine. */
#ifndef RLVR_RNG_H
#define RLVR_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
} rlvr_rng;

void rlvr_rng_seed(rlvr_rng *rng, uint64_t seed);
uint64_t rlvr_rng_u64(rlvr_rng *rng);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rlvr_rng_float(rlvr_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double rlvr_rng_double(rlvr_rng *rng);
/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t rlvr_rng_below(rlvr_rng *rng, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
float rlvr_rng_normal(rlvr_rng *rng);

#endif
