/* labels_cpu.h - the CPU twin of kernels/labels/labels.cl, for runtime/stitch/labels.c. */
#ifndef VXT_LABELS_CPU_H
#define VXT_LABELS_CPU_H

#include <stddef.h>
#include <stdint.h>

typedef struct vxt__labels_job {
    const float *values; /* C x n */
    void *labels;        /* n, uint8 or uint16 */
    size_t n;
    int C, rule, u16;
    float threshold;
    const int *region_labels;
} vxt__labels_job;

/* Voxels [begin, end) of the job (a vxt__pool_for task). */
void vxt__labels_cpu_task(void *arg, size_t begin, size_t end, int slot);

#endif
