/* resample_cubic.cl - cubic B-spline resampling (vxt_cubic.h): the coefficient buffer from the input (padding),
 * the prefilter along one axis (one work-item per line), and the sampling (one work-item per output voxel).
 * Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_resample.h, vxt_cubic.h (the includes below are for the
 * stand-alone syntax check only). Host: runtime/preproc/resample_cubic.c. */
#ifndef VXT_CUBIC_H
#include "vxt_convert.h"
#include "vxt_cubic.h"
#endif

/* Buffer voxel (x, y, z) of one channel: bz x by x bx, padded by pz, py, px. */
#define VXT_BS_PAD_KERNEL(S, T, LOAD, DT)                                                                    \
    __kernel void vxt_bs_pad_##S(__global const T *in, __global float *c, long nz, long ny, long nx, long bz, \
                                 long by, long bx, long pz, long py, long px, int edge, float fill)          \
    {                                                                                                        \
        long x = (long)get_global_id(0), y = (long)get_global_id(1), z = (long)get_global_id(2);             \
        if (x >= bx || y >= by || z >= bz)                                                                   \
            return;                                                                                          \
        c[(z * by + y) * bx + x] = vxt_bs_padded_##S(in, nz, ny, nx, z - pz, y - py, x - px, edge, fill);       \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_BS_PAD_KERNEL)

/* Line g of `lines` (n samples, stride s): it starts at (g / n2) * st1 + (g % n2) * st2. */
__kernel void vxt_bs_filter(__global float *c, long s, long n, long lines, long n2, long st1, long st2, int reflect)
{
    long g = (long)get_global_id(0);
    if (g >= lines)
        return;
    vxt_bs_filter_lines(c + (g / n2) * st1 + (g % n2) * st2, s, n, 0, 1, reflect);
}

/* Output voxel (xo, yo, zl) of a slab of output planes [zo0, zo0 + nzo_job), from the coefficient buffer
 * (bz x by x bx). idx and w: 4 entries per output index, z (nzo of them), then y (nyo), then x (nxo); nt: the taps
 * of each axis (z, y, x). clip: clip_axis -1 (lo[0], hi[0] for every voxel) or the axis whose output index picks
 * lo and hi; no clip when clip == 0. */
__kernel void vxt_bs_sample(__global const float *c, __global float *out, long by, long bx, long zo0, long nzo_job,
                            long nzo, long nyo, long nxo, __global const long *idx, __global const float *w, int ntz,
                            int nty, int ntx, float fill, int clip, int clip_axis, __global const float *lo,
                            __global const float *hi)
{
    long xo = (long)get_global_id(0), yo = (long)get_global_id(1), zl = (long)get_global_id(2);
    if (xo >= nxo || yo >= nyo || zl >= nzo_job)
        return;
    const long zo = zo0 + zl;
    __global const long *iz = idx + 4 * zo, *iy = idx + 4 * nzo + 4 * yo, *ix = idx + 4 * (nzo + nyo) + 4 * xo;
    __global const float *wz = w + 4 * zo, *wy = w + 4 * nzo + 4 * yo, *wx = w + 4 * (nzo + nyo) + 4 * xo;
    float plane[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < ntz; k++) {
        float row[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int j = 0; j < nty; j++) {
            float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int i = 0; i < ntx; i++)
                a[i] = (iz[k] < 0 || iy[j] < 0 || ix[i] < 0) ? fill : c[(iz[k] * by + iy[j]) * bx + ix[i]];
            row[j] = vxt_tap_sum(ntx, wx[0], a[0], wx[1], a[1], wx[2], a[2], wx[3], a[3]);
        }
        plane[k] = vxt_tap_sum(nty, wy[0], row[0], wy[1], row[1], wy[2], row[2], wy[3], row[3]);
    }
    float v = vxt_tap_sum(ntz, wz[0], plane[0], wz[1], plane[1], wz[2], plane[2], wz[3], plane[3]);
    if (clip) {
        const long t = clip_axis == 0 ? zo : clip_axis == 1 ? yo : clip_axis == 2 ? xo : 0;
        v = vxt_clip_range(v, lo[t], hi[t]);
    }
    out[(zl * nyo + yo) * nxo + xo] = vxt_bs_store(v);
}
