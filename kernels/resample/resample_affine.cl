/* resample_affine.cl - affine resampling (vxt_resample.h): one work-item per output voxel (x, y, channel * z);
 * source coordinates through the 3x4 part of the matrix m (row-major, float32), trilinear or nearest by hand on
 * buffers. Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_resample.h (the includes below are for the
 * stand-alone syntax check only).
 *
 * The input slab holds source planes [zoff, zoff + zcount) of every channel (channel c at in + c*in_cs); the
 * output slab holds planes [zo0, zo0 + nzo_job) of each channel (channel c at out + c*out_cs). */
#ifndef VXT_RESAMPLE_H
#include "vxt_convert.h"
#include "vxt_resample.h"
#endif

#define VXT_AFF_IDS                                                                                          \
    long xo = (long)get_global_id(0), yo = (long)get_global_id(1), g = (long)get_global_id(2);               \
    if (xo >= nxo || yo >= nyo || g >= nzo_job * nch)                                                        \
        return;                                                                                              \
    long c = g / nzo_job, zl = g - c * nzo_job, zo = zo0 + zl;                                               \
    float cz = vxt_affine_coord(m[0], m[1], m[2], m[3], zo, yo, xo);                                         \
    float cy = vxt_affine_coord(m[4], m[5], m[6], m[7], zo, yo, xo);                                         \
    float cx = vxt_affine_coord(m[8], m[9], m[10], m[11], zo, yo, xo);                                       \
    long o = c * out_cs + (zl * nyo + yo) * nxo + xo

#define VXT_AFFINE_KERNEL(S, T, LOAD, DT)                                                                    \
    __kernel void vxt_affine_##S(__global const T *in, __global float *out, long nz, long ny, long nx,        \
                                 long zoff, long zcount, long in_cs, long nzo_job, long nch, long zo0, long nyo, \
                                 long nxo, long out_cs, __global const float *m, int linear, int clamp,      \
                                 float fill)                                                                 \
    {                                                                                                        \
        VXT_AFF_IDS;                                                                                         \
        out[o] = vxt_affine_sample_##S(in + c * in_cs, nz, ny, nx, zoff, zcount, cz, cy, cx, linear, clamp, fill); \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_AFFINE_KERNEL)

/* Nearest, output of the input's type: elements copied. */
#define VXT_AFFINE_RAW_KERNEL(NB, T)                                                                         \
    __kernel void vxt_affine_raw##NB(__global const T *in, __global T *out, long nz, long ny, long nx,        \
                                     long zoff, long zcount, long in_cs, long nzo_job, long nch, long zo0,   \
                                     long nyo, long nxo, long out_cs, __global const float *m, int clamp,    \
                                     ulong fill)                                                             \
    {                                                                                                        \
        VXT_AFF_IDS;                                                                                         \
        long iz = 0, iy = 0, ix = 0;                                                                         \
        if (!vxt_affine_axis_nearest(cz, nz, clamp, &iz) || !vxt_affine_axis_nearest(cy, ny, clamp, &iy) ||   \
            !vxt_affine_axis_nearest(cx, nx, clamp, &ix)) {                                                  \
            out[o] = (T)fill;                                                                                \
        } else {                                                                                             \
            long zl2 = vxt_clamp_i64(iz - zoff, 0, zcount - 1);                                              \
            out[o] = in[c * in_cs + (zl2 * ny + iy) * nx + ix];                                              \
        }                                                                                                    \
    }
VXT_AFFINE_RAW_KERNEL(1, uchar)
VXT_AFFINE_RAW_KERNEL(2, ushort)
VXT_AFFINE_RAW_KERNEL(4, uint)
VXT_AFFINE_RAW_KERNEL(8, ulong)
