/* smooth.cl - one pass of Gaussian smoothing along one axis (vxt_smooth.h): one work-item per output voxel
 * (x, y, plane of the slab), which takes the steps vxt_smooth_first, vxt_smooth_step (j = r .. 1) and
 * vxt_smooth_store in that order. The boundary is in the host's index table, so the body has no data-dependent
 * branch (a sample beyond a constant edge reads the centre and selects the fill value instead), which lets CPU
 * devices vectorize across work-items. One kernel per input type: the first pass reads the input, the later ones
 * the float32 result of the previous pass. Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_smooth.h (the
 * includes below are for the stand-alone syntax check only).
 *
 * Arguments: the input slab holds planes [zi0, ...) of a volume of nz x ny x nx; the output slab holds planes
 * [zo0, zo0 + nzo_job); w holds w[0 .. r]; idx[i + r] the index that position i (-r .. n + r - 1) of a line along
 * `axis` (0 z, 1 y, 2 x) reads, -1 for `fill`. */
#ifndef VXT_SMOOTH_H
#include "vxt_convert.h"
#include "vxt_smooth.h"
#endif

#define VXT_SMOOTH_KERNEL(S, T, LOAD, DT)                                                                    \
    __kernel void vxt_smooth_##S(__global const T *in, __global float *out, __global const float *w,         \
                                 __global const long *idx, int r, int axis, float fill, long nz, long ny,    \
                                 long nx, long zo0, long nzo_job, long zi0)                                  \
    {                                                                                                        \
        long x = (long)get_global_id(0), y = (long)get_global_id(1), zl = (long)get_global_id(2);            \
        if (x >= nx || y >= ny || zl >= nzo_job)                                                             \
            return;                                                                                          \
        long z = zo0 + zl;                                                                                   \
        /* the line through the voxel: position p, stride s; element m of the line is in[base + m*s] */      \
        long p = x, s = 1, base = ((z - zi0) * ny + y) * nx;                                                 \
        if (axis == 0) {                                                                                     \
            p = z;                                                                                           \
            s = ny * nx;                                                                                     \
            base = y * nx + x - zi0 * s;                                                                     \
        } else if (axis == 1) {                                                                              \
            p = y;                                                                                           \
            s = nx;                                                                                          \
            base = (z - zi0) * ny * nx + x;                                                                  \
        }                                                                                                    \
        __global const long *t = idx + r + p; /* t[k]: the index position p + k reads */                     \
        float acc = vxt_smooth_first(LOAD(in[base + p * s]), w[0]);                                          \
        for (int j = r; j >= 1; j--) {                                                                       \
            long ia = t[-j], ib = t[j];                                                                      \
            float a = LOAD(in[base + (ia < 0 ? p : ia) * s]);                                                \
            float b = LOAD(in[base + (ib < 0 ? p : ib) * s]);                                                \
            acc = vxt_smooth_step(acc, ia < 0 ? fill : a, ib < 0 ? fill : b, w[j]);                          \
        }                                                                                                    \
        out[(zl * ny + y) * nx + x] = vxt_smooth_store(acc);                                                 \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_SMOOTH_KERNEL)
