/* dtype.h — the element types of device tensors, usable from C.
 *
 * Activations and the forward's weight copy are float32 or bfloat16
 * (RLVR_DTYPE_*); master weights, gradients of weights, optimizer moments and
 * per-row statistics (rstd, lse, entropy, log-probs) are always float32.
 * bf16 is a storage format: kernels load it into float, compute in float and
 * round once on store (round to nearest even).
 *
 * rlvr_bf16 is the raw 16 bits (the top half of a float32), so that C code
 * can hold and move bf16 tensors without CUDA's C++ type; the host
 * conversions below round exactly as the device does (__float2bfloat16_rn). */
#ifndef RLVR_CUDA_DTYPE_H
#define RLVR_CUDA_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
  RLVR_DTYPE_F32 = 0,
  RLVR_DTYPE_BF16 = 1,
} rlvr_dtype;

typedef uint16_t rlvr_bf16;

static inline size_t rlvr_dtype_size(rlvr_dtype dt) { return dt == RLVR_DTYPE_BF16 ? 2 : 4; }

/* float -> bf16, round to nearest even; NaN stays a (quiet) NaN. */
static inline rlvr_bf16 rlvr_bf16_from_float(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (rlvr_bf16)((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (rlvr_bf16)(u >> 16);
}

static inline float rlvr_bf16_to_float(rlvr_bf16 h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* x rounded to the nearest bf16, as a float (what a bf16 tensor holds). */
static inline float rlvr_bf16_round(float x) { return rlvr_bf16_to_float(rlvr_bf16_from_float(x)); }

#endif
