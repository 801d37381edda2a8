/* cuda_bf16.h (cudasim) — bfloat16 for the CPU emulation: 16 bits of
 * storage, converted to and from float32 exactly as the device does
 * (round to nearest even; NaN stays NaN). See docs/cuda_sim.md. */
#ifndef CUDASIM_CUDA_BF16_H
#define CUDASIM_CUDA_BF16_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
#include "cuda_runtime.h" /* float2 */

static inline float cudasim_bf16_bits_to_float(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline uint16_t cudasim_float_to_bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

struct __nv_bfloat16 {
  uint16_t __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(float f) : __x(cudasim_float_to_bf16_bits(f)) {}
  __nv_bfloat16(double f) : __x(cudasim_float_to_bf16_bits((float)f)) {}
  operator float() const { return cudasim_bf16_bits_to_float(__x); }
};
typedef __nv_bfloat16 nv_bfloat16;

struct __nv_bfloat162 {
  __nv_bfloat16 x, y;
};
typedef __nv_bfloat162 nv_bfloat162;

static inline float __bfloat162float(__nv_bfloat16 h) { return cudasim_bf16_bits_to_float(h.__x); }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  __nv_bfloat16 h;
  h.__x = cudasim_float_to_bf16_bits(f);
  return h;
}
static inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
  __nv_bfloat16 h;
  h.__x = u;
  return h;
}
static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
static inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) {
  __nv_bfloat162 r;
  r.x = __float2bfloat16_rn(a);
  r.y = __float2bfloat16_rn(b);
  return r;
}
static inline __nv_bfloat162 __float22bfloat162_rn(float2 f) { return __floats2bfloat162_rn(f.x, f.y); }
static inline float2 __bfloat1622float2(__nv_bfloat162 h) {
  float2 r;
  r.x = __bfloat162float(h.x);
  r.y = __bfloat162float(h.y);
  return r;
}
static inline float __low2float(__nv_bfloat162 h) { return __bfloat162float(h.x); }
static inline float __high2float(__nv_bfloat162 h) { return __bfloat162float(h.y); }

#endif /* __cplusplus */

#endif
