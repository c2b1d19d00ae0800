/* intensity.cl - pointwise intensity transforms: thin wrappers over vxt_intensity_apply / vxt_intensity_basic
 * (vxt_intensity.h). One kernel per input type, selection (all, non-zero, mask) and step set (basic: clip, shift,
 * clip; full: with rescale and replace), so that each body is straight-line code: CPU devices (PoCL) vectorize
 * it across work-items only without control flow. Prepended at build time: vxt_arith.h, vxt_convert.h,
 * vxt_intensity.h (the includes below are for the stand-alone syntax check only).
 *
 * Names: vxt_int_<sel><steps>_<type>, sel a (all), n (non-zero), m (mask); steps b (basic), f (full). out may be the
 * same buffer as in (in place); mask is the mask of this segment (read only by the m kernels). */
#ifndef VXT_INTENSITY_H
#include "vxt_convert.h"
#include "vxt_intensity.h"
#endif

#define VXT_IPAR_ARGS                                                                                        \
    float slope, float inter, float rv, float rw, float lo1, float hi1, float sub, float dv, float lo2, float hi2, \
        float oscale, int flags

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

/* SEL_EXPR: whether voxel i (value x) is transformed; FN: vxt_intensity_apply or vxt_intensity_basic. */
#define VXT_INT_KERNEL(NAME, S, T, LOAD, SEL_EXPR, FN)                                                       \
    __kernel void vxt_int_##NAME##_##S(__global const T *in, __global float *out, __global const uchar *mask, \
                                       long n, VXT_IPAR_ARGS)                                                \
    {                                                                                                        \
        long i = (long)get_global_id(0);                                                                     \
        if (i >= n)                                                                                          \
            return;                                                                                          \
        VXT_IPAR_FROM_ARGS(p);                                                                               \
        (void)mask;                                                                                          \
        float x = LOAD(in[i]);                                                                               \
        float y = FN(&p, x);                                                                                 \
        out[i] = (SEL_EXPR) ? y : x;                                                                         \
    }

#define VXT_INTENSITY_KERNELS(S, T, LOAD, DT)                                                                \
    VXT_INT_KERNEL(ab, S, T, LOAD, 1, vxt_intensity_basic)                                                   \
    VXT_INT_KERNEL(af, S, T, LOAD, 1, vxt_intensity_apply)                                                   \
    VXT_INT_KERNEL(nb, S, T, LOAD, x != 0.0f, vxt_intensity_basic)                                           \
    VXT_INT_KERNEL(nf, S, T, LOAD, x != 0.0f, vxt_intensity_apply)                                           \
    VXT_INT_KERNEL(mb, S, T, LOAD, mask[i] != 0, vxt_intensity_basic)                                        \
    VXT_INT_KERNEL(mf, S, T, LOAD, mask[i] != 0, vxt_intensity_apply)                                        \
    /* uint8 output (window/level), every voxel */                                                           \
    __kernel void vxt_int8_##S(__global const T *in, __global uchar *out, __global const uchar *mask, long n, \
                               VXT_IPAR_ARGS)                                                                \
    {                                                                                                        \
        long i = (long)get_global_id(0);                                                                     \
        if (i >= n)                                                                                          \
            return;                                                                                          \
        VXT_IPAR_FROM_ARGS(p);                                                                               \
        (void)mask;                                                                                          \
        out[i] = vxt_to_u8(vxt_intensity_apply(&p, LOAD(in[i])), oscale);                                   \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_INTENSITY_KERNELS)
