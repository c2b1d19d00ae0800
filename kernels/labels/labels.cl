/* labels.cl - labels from class values by a label rule (vxt_labels.h): one work-item per voxel of a slab of n
 * voxels whose C values are n apart. Prepended at build time: vxt_arith.h, vxt_labels.h (the include below is
 * for the stand-alone syntax check only). The CPU twin is labels_cpu.c. */
#ifndef VXT_LABELS_H
#include "vxt_labels.h"
#endif

__kernel void vxt_k_labels(__global const float *values, long n, int C, int rule, float threshold,
                           __global const int *region_labels, __global void *labels, int label_u16)
{
    long i = get_global_id(0);
    if (i >= n)
        return;
    int l = vxt_label_strided(values + i, n, C, rule, threshold, region_labels);
    if (label_u16)
        ((__global ushort *)labels)[i] = (ushort)l;
    else
        ((__global uchar *)labels)[i] = (uchar)l;
}
