/* intensity_cpu.h - the CPU twin of kernels/intensity/intensity.cl (intensity_cpu.c) as its driver,
 * runtime/preproc/intensity.c, calls it: the job and the thread-pool task. Not installed. */
#ifndef VXT_INTENSITY_CPU_H
#define VXT_INTENSITY_CPU_H

#include "preproc.h"

/* A transform of validated arguments (vxt__intensity_run): mask NULL unless sel is VXT_SEL_MASK; out float32, or
 * uint8 when out_u8; in == out for float32 in place. */
typedef struct ijob {
    vxt_dtype dtype;
    const void *in;
    void *out;
    const vxt_u8 *mask;
    size_t spatial;
    int sel;
    int out_u8;
    vxt_ipar p;
} ijob;

/* vxt__pool_for task: elements [b, e) of the job `arg` (an ijob), channels included. */
void vxt__intensity_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_INTENSITY_CPU_H */
