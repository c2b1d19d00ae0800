/* patches.cl - box and tri-planar (2.5D) patch extraction with constant padding: one work-item per output
 * element; elements read through the shared conversions (vxt_convert.h) or copied. Prepended at build time:
 * vxt_arith.h, vxt_convert.h (the include below is for the stand-alone syntax check only).
 *
 * The input slab holds source planes [zoff, zoff + zcount) of each channel (channel c at in + c*in_cs). */
#ifndef VXT_CONVERT_H
#include "vxt_convert.h"
#endif

/* Box [z0, z0+bz) x [y0, y0+by) x [x0, x0+bx) of nch channels; out is (nch, bz, by, bx). */
#define VXT_BOX_IDS                                                                                          \
    long x = (long)get_global_id(0), y = (long)get_global_id(1), g = (long)get_global_id(2);                 \
    if (x >= bx || y >= by || g >= bz * nch)                                                                 \
        return;                                                                                              \
    long c = g / bz, z = g - c * bz;                                                                         \
    long sz = z0 + z, sy = y0 + y, sx = x0 + x;                                                              \
    long o = ((c * bz + z) * by + y) * bx + x;                                                               \
    int inside = sz >= 0 && sz < nz && sy >= 0 && sy < ny && sx >= 0 && sx < nx;                            \
    long src = c * in_cs + (vxt_clamp_i64(sz - zoff, 0, zcount - 1) * ny + vxt_clamp_i64(sy, 0, ny - 1)) * nx +  \
               vxt_clamp_i64(sx, 0, nx - 1)

#define VXT_BOX_KERNEL(S, T, LOAD, DT)                                                                       \
    __kernel void vxt_box_##S(__global const T *in, __global float *out, long nz, long ny, long nx, long zoff, \
                              long zcount, long in_cs, long z0, long y0, long x0, long bz, long by, long bx,  \
                              long nch, float fill)                                                          \
    {                                                                                                        \
        VXT_BOX_IDS;                                                                                         \
        out[o] = inside ? LOAD(in[src]) : fill;                                                              \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_BOX_KERNEL)

#define VXT_BOX_RAW_KERNEL(NB, T)                                                                            \
    __kernel void vxt_box_raw##NB(__global const T *in, __global T *out, long nz, long ny, long nx, long zoff, \
                                  long zcount, long in_cs, long z0, long y0, long x0, long bz, long by,       \
                                  long bx, long nch, ulong fill)                                             \
    {                                                                                                        \
        VXT_BOX_IDS;                                                                                         \
        out[o] = inside ? in[src] : (T)fill;                                                                 \
    }
VXT_BOX_RAW_KERNEL(1, uchar)
VXT_BOX_RAW_KERNEL(2, ushort)
VXT_BOX_RAW_KERNEL(4, uint)
VXT_BOX_RAW_KERNEL(8, ulong)

/* Tri-planar patches around centers[3*i .. 3*i+2] (z, y, x), i in [0, npos): out[((i*3 + plane)*nch + c)*rows*cols
 * + r*cols + col], plane 0 axial (z fixed), 1 sagittal (x fixed: rows z, columns y), 2 coronal (y fixed: rows z,
 * columns x). */
#define VXT_TRIPLANAR_KERNEL(S, T, LOAD, DT)                                                                 \
    __kernel void vxt_triplanar_##S(__global const T *in, __global float *out, long nz, long ny, long nx,     \
                                    long zoff, long zcount, long in_cs, long nch,                            \
                                    __global const long *centers, long npos, long h0, long h1, float fill)   \
    {                                                                                                        \
        long rows = 2 * h0 + 1, cols = 2 * h1 + 1;                                                           \
        long col = (long)get_global_id(0), r = (long)get_global_id(1), g = (long)get_global_id(2);           \
        if (col >= cols || r >= rows || g >= npos * 3 * nch)                                                 \
            return;                                                                                          \
        long c = g % nch, t = g / nch, plane = t % 3, i = t / 3;                                             \
        long cz = centers[3 * i], cy = centers[3 * i + 1], cx = centers[3 * i + 2];                          \
        long dr = r - h0, dc = col - h1;                                                                     \
        long z = plane == 0 ? cz : cz + dr;                                                                  \
        long y = plane == 0 ? cy + dr : (plane == 1 ? cy + dc : cy);                                         \
        long x = plane == 0 ? cx + dc : (plane == 1 ? cx : cx + dc);                                         \
        int inside = z >= 0 && z < nz && y >= 0 && y < ny && x >= 0 && x < nx;                              \
        long src = c * in_cs + (vxt_clamp_i64(z - zoff, 0, zcount - 1) * ny + vxt_clamp_i64(y, 0, ny - 1)) * nx + \
                   vxt_clamp_i64(x, 0, nx - 1);                                                              \
        out[g * rows * cols + r * cols + col] = inside ? LOAD(in[src]) : fill;                               \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_TRIPLANAR_KERNEL)
