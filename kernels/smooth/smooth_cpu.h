/* smooth_cpu.h - one pass of Gaussian smoothing as its driver, runtime/preproc/smooth.c, gives it to the CPU twin of
 * kernels/smooth/smooth.cl (smooth_cpu.c): the job and the thread-pool task. Not installed. */
#ifndef VXT_SMOOTH_CPU_H
#define VXT_SMOOTH_CPU_H

#include "preproc.h"

/* One pass along `axis` (0 z, 1 y, 2 x) over one channel of nz x ny x nx voxels: src (of type dtype: the input on
 * the first pass, float32 after) to dst, a different buffer. */
typedef struct sjob {
    vxt_dtype dtype;
    const unsigned char *src;
    float *dst;
    int64_t nz, ny, nx;
    int axis;
    int64_t r;
    const float *w;     /* w[0 .. r] */
    const int64_t *idx; /* idx[i + r]: the index position i of a line reads (-1: fill), i = -r .. n + r - 1 */
    float fill;
    float *scratch; /* x passes: per_slot floats per pool slot, the line with its extension */
    size_t per_slot;
} sjob;

/* vxt__pool_for task: output rows [b, e) of the job `arg` (an sjob; row t is plane t / ny, row t % ny). */
void vxt__smooth_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_SMOOTH_CPU_H */
