/*
 * vxt_histogram.h - which bin a voxel falls in, for the exact percentiles (histograms of order-preserving
 * keys, vxt_convert.h) and for the public numpy-style histogram. Shared by kernels/histogram/histogram.cl and its
 * CPU twin (kernels/histogram/histogram_cpu.c). Compiles as C99 and OpenCL C 1.2 after vxt_arith.h, vxt_convert.h and
 * vxt_intensity.h. Counts are integers, so a histogram does not depend on the order in which voxels are
 * counted: per-thread or per-work-item partial histograms, or atomic increments, all give the same counts.
 */
#ifndef VXT_HISTOGRAM_H
#define VXT_HISTOGRAM_H

#define VXT_HIST_KEYS 0     /* bin = key >> shift (8- and 16-bit keys: the whole key; 32-bit: the top 16 bits) */
#define VXT_HIST_KEYS_LOW 1 /* only keys whose top 16 bits equal targets[t]: bin = t * 65536 + (key & 0xffff) */
#define VXT_HIST_UNIFORM 2  /* numpy's uniform bins over [lo, hi], the last bin closed */

#define VXT_HIST_MAX_TARGETS 8

typedef struct vxt_hpar {
    vxt_i32 sel;      /* VXT_SEL_* */
    vxt_i32 mode;     /* VXT_HIST_* */
    vxt_u32 shift;    /* VXT_HIST_KEYS */
    vxt_i32 ntargets; /* VXT_HIST_KEYS_LOW */
    vxt_i32 nbins;    /* VXT_HIST_UNIFORM: number of bins */
    float hi_incl;    /* VXT_HIST_UNIFORM: the largest float <= the last edge */
    float norm;       /* VXT_HIST_UNIFORM: nbins / (hi - lo), a first guess refined against the thresholds */
} vxt_hpar;

/* numpy's np.histogram(a, bins=n, range=(lo, hi)) puts v in bin i when edge[i] <= v < edge[i+1] (the last bin
 * also takes v == edge[n]); values outside [edge[0], edge[n]] are not counted. thr[i] is the smallest float
 * >= edge[i] (computed on the host from numpy's edges), so v >= edge[i] exactly when v >= thr[i]. */
VXT_VOXEL vxt_i32 vxt_hist_bin_uniform(float v, const vxt_hpar *p, const VXT_GLOBAL float *thr)
{
    if (!(v >= thr[0]) || !(v <= p->hi_incl))
        return -1;
    float f = vxt_ftz(vxt_ftz(v - thr[0]) * p->norm);
    vxt_i32 i = f < (float)p->nbins ? (vxt_i32)f : p->nbins - 1;
    i = i < 0 ? 0 : i;
    while (i > 0 && v < thr[i])
        i--;
    while (i < p->nbins - 1 && v >= thr[i + 1])
        i++;
    return i;
}

VXT_VOXEL vxt_i32 vxt_hist_bin_key(vxt_u32 key, const vxt_hpar *p, const VXT_GLOBAL vxt_u32 *targets)
{
    if (p->mode == VXT_HIST_KEYS)
        return (vxt_i32)(key >> p->shift);
    vxt_u32 top = key >> 16;
    for (vxt_i32 t = 0; t < p->ntargets; t++)
        if (top == targets[t])
            return t * 65536 + (vxt_i32)(key & 0xffffu);
    return -1;
}

/* The bin of element x (mask byte m) or -1 when it is not counted (not selected, NaN, outside the range). One
 * function per input type: vxt_hist_bin_u8, ..., vxt_hist_bin_f64. */
#define VXT_DEFINE_HIST_BIN(S, T, LOAD, DT)                                                                            \
    VXT_VOXEL vxt_i32 vxt_hist_bin_##S(T x, vxt_u8 m, const vxt_hpar *p, const VXT_GLOBAL vxt_u32 *targets,            \
                                       const VXT_GLOBAL float *thr)                                                    \
    {                                                                                                                  \
        float v = LOAD(x);                                                                                             \
        if (!vxt_selected(p->sel, v, m) || vxt_isnan(v))                                                               \
            return -1;                                                                                                 \
        if (p->mode == VXT_HIST_UNIFORM)                                                                               \
            return vxt_hist_bin_uniform(v, p, thr);                                                                    \
        return vxt_hist_bin_key(vxt_key_##S(x), p, targets);                                                           \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_DEFINE_HIST_BIN)

#endif /* VXT_HISTOGRAM_H */
