/* rng.c — xoshiro256** (Blackman and Vigna), seeded by splitmix64. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rlvr_rng_seed(rlvr_rng *rng, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rlvr_rng_u64(rlvr_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

float rlvr_rng_float(rlvr_rng *rng) { return (float)(rlvr_rng_u64(rng) >> 40) * 0x1.0p-24f; }

double rlvr_rng_double(rlvr_rng *rng) { return (double)(rlvr_rng_u64(rng) >> 11) * 0x1.0p-53; }

uint64_t rlvr_rng_below(rlvr_rng *rng, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rlvr_rng_u64(rng);
  while (x >= limit);
  return x % n;
}

float rlvr_rng_normal(rlvr_rng *rng) {
  double u1 = rlvr_rng_double(rng), u2 = rlvr_rng_double(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}
