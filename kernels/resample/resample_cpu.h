/* resample_cpu.h - the separable resampling job shared by runtime/preproc/resample.c (the tables, the OpenCL
 * launches) and its CPU twin kernels/resample/resample_cpu.c (the thread-pool task). Not installed. */
#ifndef VXT_RESAMPLE_CPU_H
#define VXT_RESAMPLE_CPU_H

#include "preproc.h"

/* Tables: for each output index along z, y, x, two source indices (-1: outside) and two weights. */
typedef struct rjob {
    vxt_dtype dtype;
    const unsigned char *in;
    unsigned char *out;
    int raw;   /* copy elements (nearest, output of the input's type) */
    size_t es; /* input element size */
    int64_t nzi, nyi, nxi, nzo, nyo, nxo;
    const int64_t *iz0, *iz1, *iy0, *iy1, *ix0, *ix1;
    const float *wz0, *wz1, *wy0, *wy1, *wx0, *wx1;
    int modes;
    int valid_kernel; /* OpenCL: every table index is inside the volume and the modes have a vxt_rsv_ kernel */
    int windowed;     /* the output is a z slab of a deeper one (opts.out_z_total): upload only the planes it needs */
    float fill;
    uint64_t fill_raw;
    const unsigned char *ybad, *xbad; /* output rows/columns whose axis is outside: fill */
    const int32_t *kx0, *kx1;         /* the x tables as int32 (CPU gathers) */
    int x_inside;                     /* no x index is -1 */
    float *scratch;
    size_t per_slot;
} rjob;

/* vxt__pool_for task: output planes [b, e) of the job `arg` (an rjob; plane t is channel t / nzo, z t % nzo),
 * with j->per_slot floats of j->scratch per pool slot. */
void vxt__resample_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_RESAMPLE_CPU_H */
