/* resample.cl - separable resampling (vxt_resample.h): one work-item per output voxel (x, y, channel * z),
 * reading the per-axis tables computed on the host. Prepended at build time: vxt_arith.h, vxt_convert.h,
 * vxt_resample.h (the includes below are for the stand-alone syntax check only).
 *
 * Arguments shared by the kernels: the input slab starts at source plane zoff (channel c at in + c*in_cs),
 * the output slab holds output planes [zo0, zo0 + nzo_job) of each channel (channel c at out + c*out_cs);
 * idx holds the int64 tables z0[nzo], z1[nzo], y0[nyo], y1[nyo], x0[nxo], x1[nxo] and w the float weights in the
 * same layout (nzo: the full output depth). */
#ifndef VXT_RESAMPLE_H
#include "vxt_convert.h"
#include "vxt_resample.h"
#endif

#define VXT_SEP_LOOKUP(t)                                                                                    \
    vxt_sep_idx t;                                                                                           \
    t.z0 = idx[zo];                                                                                          \
    t.z1 = idx[nzo + zo];                                                                                    \
    t.y0 = idx[2 * nzo + yo];                                                                                \
    t.y1 = idx[2 * nzo + nyo + yo];                                                                          \
    t.x0 = idx[2 * nzo + 2 * nyo + xo];                                                                      \
    t.x1 = idx[2 * nzo + 2 * nyo + nxo + xo];                                                                \
    t.wz0 = w[zo];                                                                                           \
    t.wz1 = w[nzo + zo];                                                                                     \
    t.wy0 = w[2 * nzo + yo];                                                                                 \
    t.wy1 = w[2 * nzo + nyo + yo];                                                                           \
    t.wx0 = w[2 * nzo + 2 * nyo + xo];                                                                       \
    t.wx1 = w[2 * nzo + 2 * nyo + nxo + xo];                                                                 \
    t.modes = modes

#define VXT_SEP_IDS                                                                                          \
    long xo = (long)get_global_id(0), yo = (long)get_global_id(1), g = (long)get_global_id(2);               \
    if (xo >= nxo || yo >= nyo || g >= nzo_job * nch)                                                        \
        return;                                                                                              \
    long c = g / nzo_job, zl = g - c * nzo_job, zo = zo0 + zl

/* float32 output, any per-axis mode */
#define VXT_RESAMPLE_KERNEL(S, T, LOAD, DT)                                                                  \
    __kernel void vxt_resample_##S(__global const T *in, __global float *out, long sz, long sy, long in_cs,   \
                                   long zoff, long nzo_job, long nch, long zo0, long nzo, long nyo, long nxo, \
                                   long out_cs, __global const long *idx, __global const float *w, int modes, \
                                   float fill)                                                               \
    {                                                                                                        \
        VXT_SEP_IDS;                                                                                         \
        VXT_SEP_LOOKUP(t);                                                                                   \
        out[c * out_cs + (zl * nyo + yo) * nxo + xo] = vxt_sep_sample_##S(in + c * in_cs, zoff, sz, sy, &t, fill); \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_RESAMPLE_KERNEL)

/* Nearest on every axis, output of the input's type: elements copied (1, 2, 4 or 8 bytes). */
#define VXT_RESAMPLE_RAW_KERNEL(NB, T)                                                                       \
    __kernel void vxt_resample_raw##NB(__global const T *in, __global T *out, long sz, long sy, long in_cs,   \
                                       long zoff, long nzo_job, long nch, long zo0, long nzo, long nyo,      \
                                       long nxo, long out_cs, __global const long *idx, ulong fill)          \
    {                                                                                                        \
        VXT_SEP_IDS;                                                                                         \
        long iz = idx[zo], iy = idx[2 * nzo + yo], ix = idx[2 * nzo + 2 * nyo + xo];                         \
        long o = c * out_cs + (zl * nyo + yo) * nxo + xo;                                                    \
        if (iz < 0 || iy < 0 || ix < 0)                                                                      \
            out[o] = (T)fill;                                                                                \
        else                                                                                                 \
            out[o] = in[c * in_cs + (iz - zoff) * sz + iy * sy + ix];                                        \
    }
VXT_RESAMPLE_RAW_KERNEL(1, uchar)
VXT_RESAMPLE_RAW_KERNEL(2, ushort)
VXT_RESAMPLE_RAW_KERNEL(4, uint)
VXT_RESAMPLE_RAW_KERNEL(8, ulong)
