/* resample_affine_cpu.h - the affine resampling job shared by runtime/preproc/resample_affine.c (checks, OpenCL
 * launches) and its CPU twin kernels/resample/resample_affine_cpu.c (the thread-pool task). Not installed. */
#ifndef VXT_RESAMPLE_AFFINE_CPU_H
#define VXT_RESAMPLE_AFFINE_CPU_H

#include "preproc.h"

/* m: the first three rows of the matrix in float32 (output index -> input index). */
typedef struct ajob {
    vxt_dtype dtype;
    const unsigned char *in;
    unsigned char *out;
    int raw;
    size_t es;
    int64_t nz, ny, nx, nzo, nyo, nxo;
    float m[12];
    int linear, clamp;
    float fill;
    uint64_t fill_raw;
} ajob;

/* vxt__pool_for task: output planes [b, e) of the job `arg` (an ajob; plane t is channel t / nzo, z t % nzo). */
void vxt__affine_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_RESAMPLE_AFFINE_CPU_H */
