/* intensity.cl - pointwise intensity transforms: thin wrappers over vxt_intensity_apply (vxt_intensity.h),
 * one kernel per input type. Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_intensity.h (the
 * includes below are for the stand-alone syntax check only). */
#ifndef VXT_INTENSITY_H
#include "vxt_convert.h"
#include "vxt_intensity.h"
#endif

#define VXT_IPAR_FROM_ARGS(p)                                                                                \
    vxt_ipar p;                                                                                              \
    p.slope = slope;                                                                                         \
    p.inter = inter;                                                                                         \
    p.rv = rv;                                                                                               \
    p.rw = rw;                                                                                               \
    p.lo1 = lo1;                                                                                             \
    p.hi1 = hi1;                                                                                             \
    p.sub = sub;                                                                                             \
    p.div = dv;                                                                                              \
    p.lo2 = lo2;                                                                                             \
    p.hi2 = hi2;                                                                                             \
    p.oscale = oscale;                                                                                       \
    p.flags = flags

/* float32 output; voxels outside the selection are converted unchanged. mask is read only when sel is
 * VXT_SEL_MASK (it is then the mask of this segment). out may be the same buffer as in (in place). */
#define VXT_INTENSITY_KERNELS(S, T, LOAD, DT)                                                                \
    __kernel void vxt_intensity_##S(__global const T *in, __global float *out, __global const uchar *mask,   \
                                    long n, int sel, float slope, float inter, float rv, float rw, float lo1, \
                                    float hi1, float sub, float dv, float lo2, float hi2, float oscale,      \
                                    int flags)                                                               \
    {                                                                                                        \
        long i = (long)get_global_id(0);                                                                     \
        if (i >= n)                                                                                          \
            return;                                                                                          \
        VXT_IPAR_FROM_ARGS(p);                                                                               \
        float x = LOAD(in[i]);                                                                               \
        int s = vxt_selected(sel, x, sel == VXT_SEL_MASK ? mask[i] : (uchar)0);                              \
        out[i] = s ? vxt_intensity_apply(&p, x) : x;                                                         \
    }                                                                                                        \
    /* uint8 output (window/level) */                                                                        \
    __kernel void vxt_intensity8_##S(__global const T *in, __global uchar *out, __global const uchar *mask,  \
                                     long n, int sel, float slope, float inter, float rv, float rw, float lo1, \
                                     float hi1, float sub, float dv, float lo2, float hi2, float oscale,     \
                                     int flags)                                                              \
    {                                                                                                        \
        long i = (long)get_global_id(0);                                                                     \
        if (i >= n)                                                                                          \
            return;                                                                                          \
        VXT_IPAR_FROM_ARGS(p);                                                                               \
        (void)mask;                                                                                          \
        (void)sel;                                                                                           \
        out[i] = vxt_to_u8(vxt_intensity_apply(&p, LOAD(in[i])), oscale);                                    \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_INTENSITY_KERNELS)
