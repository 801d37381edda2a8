/* cuda_runtime.h (cudasim) — the runtime API (cuda_runtime_api.h) and, in
 * C++, the device side of the CPU emulation (cudasim_device.h): built-in
 * variables, qualifiers, barriers, warp shuffles, atomics, math, launches.
 * See docs/cuda_sim.md. */
#ifndef CUDASIM_CUDA_RUNTIME_H
#define CUDASIM_CUDA_RUNTIME_H

#include "cuda_runtime_api.h"

#ifdef __cplusplus
#include "cudasim_device.h"
#endif

#endif
