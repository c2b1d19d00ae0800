/* smooth.cl - one pass of Gaussian smoothing along one axis (vxt_smooth.h): one work-item per output voxel
 * (x, y, plane of the slab), which takes the steps vxt_smooth_first, vxt_smooth_step (j = r .. 1) and
 * vxt_smooth_store in that order. One kernel per input type: the first pass reads the input, the later ones the
 * float32 result of the previous pass.
 * Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_smooth.h (the includes below are for the stand-alone
 * syntax check only).
 *
 * Arguments: the input slab holds planes [zi0, ...) of a volume of nz x ny x nx; the output slab holds planes
 * [zo0, zo0 + nzo_job); w holds w[0 .. r]; axis 0 (z), 1 (y) or 2 (x); mode a VXT_BND_* boundary, fill its value. */
#ifndef VXT_SMOOTH_H
#include "vxt_convert.h"
#include "vxt_smooth.h"
#endif

#define VXT_SMOOTH_KERNEL(S, T, LOAD, DT)                                                                    \
    __kernel void vxt_smooth_##S(__global const T *in, __global float *out, __global const float *w, int r,  \
                                 int axis, int mode, float fill, long nz, long ny, long nx, long zo0,        \
                                 long nzo_job, long zi0)                                                     \
    {                                                                                                        \
        long x = (long)get_global_id(0), y = (long)get_global_id(1), zl = (long)get_global_id(2);            \
        if (x >= nx || y >= ny || zl >= nzo_job)                                                             \
            return;                                                                                          \
        long z = zo0 + zl;                                                                                   \
        /* the line through the voxel: position p of n, stride s; element m of the line is in[base + m*s] */ \
        long p = x, n = nx, s = 1, base = ((z - zi0) * ny + y) * nx;                                         \
        if (axis == 0) {                                                                                     \
            p = z;                                                                                           \
            n = nz;                                                                                          \
            s = ny * nx;                                                                                     \
            base = y * nx + x - zi0 * s;                                                                     \
        } else if (axis == 1) {                                                                              \
            p = y;                                                                                           \
            n = ny;                                                                                          \
            s = nx;                                                                                          \
            base = (z - zi0) * ny * nx + x;                                                                  \
        }                                                                                                    \
        float acc = vxt_smooth_first(LOAD(in[base + p * s]), w[0]);                                          \
        for (int j = r; j >= 1; j--) {                                                                       \
            long ia = vxt_smooth_index(p - j, n, mode), ib = vxt_smooth_index(p + j, n, mode);               \
            float a = ia < 0 ? fill : LOAD(in[base + ia * s]);                                               \
            float b = ib < 0 ? fill : LOAD(in[base + ib * s]);                                               \
            acc = vxt_smooth_step(acc, a, b, w[j]);                                                          \
        }                                                                                                    \
        out[(zl * ny + y) * nx + x] = vxt_smooth_store(acc);                                                 \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_SMOOTH_KERNEL)
