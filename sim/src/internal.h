/* internal.h — what the parts of cudasim share (runtime.cpp owns these). */
#ifndef CUDASIM_INTERNAL_H
#define CUDASIM_INTERNAL_H

#include <stddef.h>

#include <functional>

#include "cuda_runtime_api.h"

namespace cudasim {
/* Runs op now, or appends it to the stream's capture (graphs). */
void issue_op(cudaStream_t s, std::function<void()> op);
/* True when [p, p + bytes) lies inside one device allocation. */
bool device_range(const void *p, size_t bytes);
}  // namespace cudasim

#endif
