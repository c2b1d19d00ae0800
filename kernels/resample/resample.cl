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

/* Every source index inside the volume (the host checked the tables): the per-axis modes are constants and the
 * body has no branches. Names vxt_rsv_<z><y><x>_<type>, each letter l (linear) or n (nearest). */
#define VXT_RSV_KERNEL(NAME, S, T, LOAD, ZN, YN, XN)                                                         \
    __kernel void vxt_rsv_##NAME##_##S(__global const T *in, __global float *out, long sz, long sy,           \
                                       long in_cs, long zoff, long nzo_job, long nch, long zo0, long nzo,    \
                                       long nyo, long nxo, long out_cs, __global const long *idx,            \
                                       __global const float *w)                                              \
    {                                                                                                        \
        VXT_SEP_IDS;                                                                                         \
        int modes = 0;                                                                                       \
        VXT_SEP_LOOKUP(t);                                                                                   \
        out[c * out_cs + (zl * nyo + yo) * nxo + xo] =                                                       \
            vxt_sep_sample_valid_##S(in + c * in_cs, zoff, sz, sy, &t, ZN, YN, XN);                          \
    }
#define VXT_RSV_KERNELS(S, T, LOAD, DT)                                                                      \
    VXT_RSV_KERNEL(lll, S, T, LOAD, 0, 0, 0)                                                                 \
    VXT_RSV_KERNEL(nll, S, T, LOAD, 1, 0, 0)                                                                 \
    VXT_RSV_KERNEL(lnl, S, T, LOAD, 0, 1, 0)                                                                 \
    VXT_RSV_KERNEL(lln, S, T, LOAD, 0, 0, 1)                                                                 \
    VXT_RSV_KERNEL(nnn, S, T, LOAD, 1, 1, 1)
VXT_FOR_EACH_INPUT_TYPE(VXT_RSV_KERNELS)

/* The same tree in three passes (every source index inside the volume), as the CPU path computes it: rows
 * interpolated along x (P), then along y (Q), then along z (the output). P and Q hold the source planes
 * [zlo, zlo + nzr) of one channel; every element of each pass is one straight-line work-item with contiguous
 * accesses along x (CPU devices vectorize them; the per-voxel kernel above gathers 8 values per voxel).
 * Suffix l: linear along that axis, n: nearest. tx holds x0[nxo], x1[nxo], wx the weights (same layout). */
#define VXT_RSX_KERNEL(NAME, S, T, LOAD, XN)                                                                 \
    __kernel void vxt_rsx_##NAME##_##S(__global const T *in, __global float *P, long sz, long nyi, long nxi, \
                                       long nxo, long nzr, __global const long *tx, __global const float *wx) \
    {                                                                                                        \
        long xo = (long)get_global_id(0), y = (long)get_global_id(1), zr = (long)get_global_id(2);           \
        if (xo >= nxo || y >= nyi || zr >= nzr)                                                              \
            return;                                                                                          \
        vxt_sep_idx t;                                                                                       \
        t.x0 = tx[xo];                                                                                       \
        t.x1 = tx[nxo + xo];                                                                                 \
        t.wx0 = wx[xo];                                                                                      \
        t.wx1 = wx[nxo + xo];                                                                                \
        P[(zr * nyi + y) * nxo + xo] = vxt_sep_row_valid_##S(in + zr * sz + y * nxi, &t, XN);                \
    }
#define VXT_RSX_KERNELS(S, T, LOAD, DT)                                                                      \
    VXT_RSX_KERNEL(l, S, T, LOAD, 0)                                                                         \
    VXT_RSX_KERNEL(n, S, T, LOAD, 1)
VXT_FOR_EACH_INPUT_TYPE(VXT_RSX_KERNELS)

/* Q[zr][yo][xo] from the P rows y0(yo), y1(yo); ty, wy: the y tables. */
#define VXT_RSY_KERNEL(NAME, YN)                                                                             \
    __kernel void vxt_rsy_##NAME(__global const float *P, __global float *Q, long nyi, long nyo, long nxo,    \
                                 long nzr, __global const long *ty, __global const float *wy)                \
    {                                                                                                        \
        long xo = (long)get_global_id(0), yo = (long)get_global_id(1), zr = (long)get_global_id(2);          \
        if (xo >= nxo || yo >= nyo || zr >= nzr)                                                             \
            return;                                                                                          \
        float a = P[(zr * nyi + ty[yo]) * nxo + xo];                                                         \
        Q[(zr * nyo + yo) * nxo + xo] =                                                                      \
            YN ? a : vxt_lerp2(a, P[(zr * nyi + ty[nyo + yo]) * nxo + xo], wy[yo], wy[nyo + yo]);            \
    }
VXT_RSY_KERNEL(l, 0)
VXT_RSY_KERNEL(n, 1)

/* out[zl][yo][xo] for output planes zo0 + zl from the Q planes z0(zo) - zlo, z1(zo) - zlo; tz, wz: the z tables. */
#define VXT_RSZ_KERNEL(NAME, ZN)                                                                             \
    __kernel void vxt_rsz_##NAME(__global const float *Q, __global float *out, long nyo, long nxo, long zlo,  \
                                 long zo0, long nzo_job, long nzo, __global const long *tz,                  \
                                 __global const float *wz)                                                   \
    {                                                                                                        \
        long xo = (long)get_global_id(0), yo = (long)get_global_id(1), zl = (long)get_global_id(2);          \
        if (xo >= nxo || yo >= nyo || zl >= nzo_job)                                                         \
            return;                                                                                          \
        long zo = zo0 + zl, plane = nyo * nxo, o = yo * nxo + xo;                                            \
        float a = Q[(tz[zo] - zlo) * plane + o];                                                             \
        out[zl * plane + o] = ZN ? a : vxt_lerp2(a, Q[(tz[nzo + zo] - zlo) * plane + o], wz[zo], wz[nzo + zo]); \
    }
VXT_RSZ_KERNEL(l, 0)
VXT_RSZ_KERNEL(n, 1)

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
