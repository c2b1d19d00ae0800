/* histogram_cpu.h - the CPU twin of kernels/histogram/histogram.cl (histogram_cpu.c) as its driver,
 * runtime/preproc/histogram.c, calls it. Not installed. */
#ifndef VXT_HISTOGRAM_CPU_H
#define VXT_HISTOGRAM_CPU_H

#include "preproc.h"
#include "vxt_histogram.h"

/* Add the counts of the selected voxels of a validated single-channel volume per bin to counts[0 .. nbins)
 * (vxt__hist_run zeroes them first); hp, targets and thr as in vxt__hist_run. */
vxt_status vxt__hist_cpu(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, const vxt_hpar *hp,
                         const uint32_t *targets, const float *thr, size_t nbins, uint64_t *counts);

#endif /* VXT_HISTOGRAM_CPU_H */
