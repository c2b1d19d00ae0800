/* labels_cpu.c - the CPU twin of kernels/labels/labels.cl: each voxel's label by the shared vxt_label_strided. */
#include "labels_cpu.h"
#include "vxt_arith.h"
#include "vxt_labels.h"

void vxt__labels_cpu_task(void *arg, size_t begin, size_t end, int slot)
{
    const vxt__labels_job *j = (const vxt__labels_job *)arg;
    (void)slot;
    for (size_t i = begin; i < end; i++) {
        int l = vxt_label_strided(j->values + i, (vxt_i64)j->n, j->C, j->rule, j->threshold, j->region_labels);
        if (j->u16)
            ((uint16_t *)j->labels)[i] = (uint16_t)l;
        else
            ((uint8_t *)j->labels)[i] = (uint8_t)l;
    }
}
