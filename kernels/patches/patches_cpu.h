/* patches_cpu.h - the patch job shared by runtime/preproc/patches.c (checks, OpenCL launches) and its CPU twin
 * kernels/patches/patches_cpu.c (the thread-pool tasks). Not installed. */
#ifndef VXT_PATCHES_CPU_H
#define VXT_PATCHES_CPU_H

#include "preproc.h"

typedef struct pjob {
    vxt_dtype dtype;
    const unsigned char *in;
    unsigned char *out;
    int raw;
    size_t es;
    int64_t nz, ny, nx, channels;
    /* box */
    int64_t z0, y0, x0, bz, by, bx;
    /* tri-planar */
    const int64_t *centers;
    int64_t h0, h1;
    float fill;
    uint64_t fill_raw;
} pjob;

/* vxt__pool_for tasks over the job `arg` (a pjob): box output rows [b, e) (row t: channel, plane, row of the box);
 * tri-planar output rows [b, e) (row t: position, plane, channel, row of the patch). */
void vxt__box_cpu_task(void *arg, size_t b, size_t e, int slot);
void vxt__triplanar_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_PATCHES_CPU_H */
