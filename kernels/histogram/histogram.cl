/* histogram.cl - histograms of the selected voxels (vxt_histogram.h): keys for exact percentiles, numpy's
 * uniform bins for vxt_histogram. Two ways of counting, the same counts (integers):
 *   - private (CPU-like devices): work-item w counts elements [w*chunk, (w+1)*chunk) sequentially into its own
 *     histogram hist + w*hist_stride, with plain increments (no atomics, no contention);
 *   - atomic (GPUs): one work-item per element, atomic_inc into one histogram.
 * Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_intensity.h, vxt_histogram.h (the includes below are
 * for the stand-alone syntax check only). */
#ifndef VXT_HISTOGRAM_H
#include "vxt_convert.h"
#include "vxt_intensity.h"
#include "vxt_histogram.h"
#endif

#define VXT_HIST_KERNEL(S, T, LOAD, DT)                                                                      \
    __kernel void vxt_hist_##S(__global const T *in, __global const uchar *mask, long n, long chunk,         \
                               int atomic_mode, __global uint *hist, long hist_stride, int sel, int mode,    \
                               uint shift, int ntargets, int nbins, float hi_incl, float norm,               \
                               __global const uint *targets, __global const float *thr)                      \
    {                                                                                                        \
        vxt_hpar p;                                                                                          \
        p.sel = sel;                                                                                         \
        p.mode = mode;                                                                                       \
        p.shift = shift;                                                                                     \
        p.ntargets = ntargets;                                                                               \
        p.nbins = nbins;                                                                                     \
        p.hi_incl = hi_incl;                                                                                 \
        p.norm = norm;                                                                                       \
        if (atomic_mode) {                                                                                   \
            long i = (long)get_global_id(0);                                                                 \
            if (i >= n)                                                                                      \
                return;                                                                                      \
            int b = vxt_hist_bin_##S(in[i], sel == VXT_SEL_MASK ? mask[i] : (uchar)0, &p, targets, thr);     \
            if (b >= 0)                                                                                      \
                atomic_inc(&hist[b]);                                                                        \
        } else {                                                                                             \
            long w = (long)get_global_id(0);                                                                 \
            long b0 = w * chunk;                                                                             \
            long e = b0 + chunk < n ? b0 + chunk : n;                                                        \
            __global uint *h = hist + w * hist_stride;                                                       \
            for (long i = b0; i < e; i++) {                                                                  \
                int b = vxt_hist_bin_##S(in[i], sel == VXT_SEL_MASK ? mask[i] : (uchar)0, &p, targets, thr); \
                if (b >= 0)                                                                                  \
                    h[b] += 1u;                                                                              \
            }                                                                                                \
        }                                                                                                    \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_HIST_KERNEL)

/* Keys of every voxel (a) or of the voxels inside a mask (m), private per-work-item histograms only, four of them
 * per work-item filled round-robin (hist + w*hist_stride + s*nbins, s = 0..3) so that runs of equal values do not
 * wait on one counter. The non-zero selection uses the a kernels and empties the bin of 0 afterwards (on the host:
 * that bin holds only zeros for every type but int32). */
#define VXT_HISTK_KERNEL(NAME, S, T, LOAD, DT, MEXPR)                                                        \
    __kernel void vxt_histk_##NAME##_##S(__global const T *in, __global const uchar *mask, long n, long chunk, \
                                         __global uint *hist, long hist_stride, long nbins)                  \
    {                                                                                                        \
        const uint sh = (DT == VXT_DT_I32 || DT == VXT_DT_F32 || DT == VXT_DT_F64) ? 16u : 0u;               \
        const int fl = DT == VXT_DT_F32 || DT == VXT_DT_F64;                                                 \
        long w = (long)get_global_id(0);                                                                     \
        long i = w * chunk;                                                                                  \
        long e = i + chunk < n ? i + chunk : n;                                                              \
        __global uint *h0 = hist + w * hist_stride, *h1 = h0 + nbins, *h2 = h1 + nbins, *h3 = h2 + nbins;    \
        (void)mask;                                                                                          \
        for (; i + 4 <= e; i += 4) {                                                                         \
            uint k0 = vxt_key_##S(in[i]), k1 = vxt_key_##S(in[i + 1]), k2 = vxt_key_##S(in[i + 2]),          \
                 k3 = vxt_key_##S(in[i + 3]);                                                                \
            int n0 = fl && vxt_isnan(LOAD(in[i])), n1 = fl && vxt_isnan(LOAD(in[i + 1])),                    \
                n2 = fl && vxt_isnan(LOAD(in[i + 2])), n3 = fl && vxt_isnan(LOAD(in[i + 3]));                \
            h0[k0 >> sh] += (uint)((!n0) & (MEXPR(i)));                                                        \
            h1[k1 >> sh] += (uint)((!n1) & (MEXPR(i + 1)));                                                    \
            h2[k2 >> sh] += (uint)((!n2) & (MEXPR(i + 2)));                                                    \
            h3[k3 >> sh] += (uint)((!n3) & (MEXPR(i + 3)));                                                    \
        }                                                                                                    \
        for (; i < e; i++) {                                                                                 \
            uint k0 = vxt_key_##S(in[i]);                                                                    \
            int n0 = fl && vxt_isnan(LOAD(in[i]));                                                           \
            h0[k0 >> sh] += (uint)((!n0) & (MEXPR(i)));                                                        \
        }                                                                                                    \
    }
#define VXT_ALL_VOXELS(i) 1
#define VXT_IN_MASK(i) (mask[(i)] != 0)
#define VXT_HISTK_KERNELS(S, T, LOAD, DT)                                                                    \
    VXT_HISTK_KERNEL(a, S, T, LOAD, DT, VXT_ALL_VOXELS)                                                      \
    VXT_HISTK_KERNEL(m, S, T, LOAD, DT, VXT_IN_MASK)
VXT_FOR_EACH_INPUT_TYPE(VXT_HISTK_KERNELS)
