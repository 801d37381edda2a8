/* device.h — what the C side may ask of the CUDA backend without including
 * CUDA headers. Compiled only with RLVR_CUDA; cmd/ guards calls with
 * RLVR_HAVE_CUDA. */
#ifndef RLVR_CUDA_DEVICE_H
#define RLVR_CUDA_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices; 0 when there is no driver or no GPU (not an
 * error: the CPU path is the fallback). */
int rlvr_cuda_device_count(void);

/* Writes "NAME, CC X.Y, N GiB" for device i into buf. */
void rlvr_cuda_describe(int device, char *buf, size_t len);

/* Copies n floats host -> device -> host through a kernel that scales by
 * alpha; a smoke test that the toolchain, driver and launch path work. */
void rlvr_cuda_scale_roundtrip(const float *in, float *out, size_t n, float alpha);

#ifdef __cplusplus
}
#endif

#endif
