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
