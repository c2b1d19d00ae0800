/* stats_cpu.h - the CPU twin of kernels/stats/stats.cl (stats_cpu.c) as its driver, runtime/preproc/stats.c,
 * calls it: the job and the thread-pool task. Not installed. */
#ifndef VXT_STATS_CPU_H
#define VXT_STATS_CPU_H

#include "preproc.h"
#include "vxt_moments.h"

/* The moments of a validated single-channel volume of n elements: mask NULL unless sel is VXT_SEL_MASK; rec holds
 * one record per block. */
typedef struct mjob {
    vxt_dtype dtype;
    const void *in;
    const vxt_u8 *mask;
    size_t n;
    int sel;
    double shift;
    vxt_mom *rec;
} mjob;

/* vxt__pool_for task: block records [b, e) of the job `arg` (an mjob). */
void vxt__stats_cpu_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_STATS_CPU_H */
