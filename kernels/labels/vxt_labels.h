/*
 * vxt_labels.h - a voxel's label from its C class values, by a label rule (vxt_label_rule in voxtile.h). Shared
 * by kernels/labels/labels.cl and its CPU twin (labels_cpu.c), and by the stitching engine's finalization
 * (kernels/stitch/stitch.cl, stitch_cpu.c). Include after vxt_arith.h; compiles as C99 and as OpenCL C 1.2.
 *
 * No arithmetic: comparisons of float32 values only (a NaN is never the largest and never exceeds a
 * threshold), so every backend and every order of work gives the same labels. Values are `stride` apart.
 */
#ifndef VXT_LABELS_H
#define VXT_LABELS_H

#define VXT_LABEL_ARGMAX 0
#define VXT_LABEL_THRESHOLD 1
#define VXT_LABEL_REGIONS 2

/* Index of the largest of C values; ties go to the lowest index; a NaN never wins against a number (all NaN: 0). */
VXT_INLINE int vxt_argmax_strided(const VXT_GLOBAL float *v, vxt_i64 stride, int channels)
{
    int best = 0;
    float b = v[0];
    for (int c = 1; c < channels; c++) {
        float x = v[c * stride];
        if (x > b || (b != b && x == x)) {
            b = x;
            best = c;
        }
    }
    return best;
}

/* Multi-label models: 0 where no value exceeds t, else 1 + the channel with the largest value among those that
 * do (ties to the lowest). */
VXT_INLINE int vxt_threshold_label_strided(const VXT_GLOBAL float *v, vxt_i64 stride, int channels, float t)
{
    int best = -1;
    float b = t;
    for (int c = 0; c < channels; c++) {
        float x = v[c * stride];
        if (x > t && (best < 0 || x > b)) {
            b = x;
            best = c;
        }
    }
    return best + 1;
}

/* nnU-Net's region-based models: 0, then region_labels[c] for each channel c (in order) whose value exceeds t. */
VXT_INLINE int vxt_region_label_strided(const VXT_GLOBAL float *v, vxt_i64 stride, int channels, float t,
                                        const VXT_GLOBAL int *region_labels)
{
    int label = 0;
    for (int c = 0; c < channels; c++)
        if (v[c * stride] > t)
            label = region_labels[c];
    return label;
}

/* The label of one voxel under `rule` (VXT_LABEL_*); region_labels is read by VXT_LABEL_REGIONS only. */
VXT_INLINE int vxt_label_strided(const VXT_GLOBAL float *v, vxt_i64 stride, int channels, int rule, float t,
                                 const VXT_GLOBAL int *region_labels)
{
    if (rule == VXT_LABEL_THRESHOLD)
        return vxt_threshold_label_strided(v, stride, channels, t);
    if (rule == VXT_LABEL_REGIONS)
        return vxt_region_label_strided(v, stride, channels, t, region_labels);
    return vxt_argmax_strided(v, stride, channels);
}

#endif /* VXT_LABELS_H */
