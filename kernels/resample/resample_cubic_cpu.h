/* resample_cubic_cpu.h - the cubic B-spline resampling job shared by runtime/preproc/resample_cubic.c (tables,
 * clip ranges, the OpenCL launches) and its CPU twin kernels/resample/resample_cubic_cpu.c (thread-pool tasks).
 * One channel at a time. Not installed. */
#ifndef VXT_RESAMPLE_CUBIC_CPU_H
#define VXT_RESAMPLE_CUBIC_CPU_H

#include "preproc.h"

/* Slots of the per-thread cache of sampled planes (a plane: one source plane interpolated along y and x). */
#define VXT_BS_CACHE 8

typedef struct cjob {
    /* the input channel */
    vxt_dtype dtype;
    const unsigned char *in;
    int64_t nz, ny, nx;
    /* the coefficient buffer: bz x by x bx, the input padded by pz, py, px on each side */
    float *c;
    int64_t bz, by, bx, pz, py, px;
    int edge;   /* padding: 1 the edge value, 0 the fill value */
    float fill; /* the fill value (constant boundary), float32 */
    /* the prefilter pass in progress: axis 0 (z), 1 (y) or 2 (x); the half-sample initial values or not */
    int axis, reflect;
    /* sampling: 4 entries per output index, z (nzo), then y (nyo), then x (nxo); nt: taps per axis (z, y, x) */
    float *out;
    int64_t nzo, nyo, nxo;
    const int64_t *idx;
    const float *w;
    int nt[3];
    const int32_t *ix32; /* the x taps as [tap][nxo] int32 (-1: the fill value) */
    const float *wx4;    /* the x weights as [tap][nxo] */
    /* clipping: per output index along clip_axis (-1: one range for all) */
    int clip, clip_axis;
    const float *lo, *hi;
    /* per pool slot: per_slot floats of scratch */
    float *scratch;
    size_t per_slot;
} cjob;

/* Floats of scratch one pool slot needs for vxt__bs_sample_task. */
size_t vxt__bs_sample_scratch(const cjob *j);

/* vxt__pool_for tasks. Items: buffer planes (pad); line groups of the pass's axis, vxt__bs_filter_items of them
 * (filter); output planes (sample). */
void vxt__bs_pad_task(void *arg, size_t b, size_t e, int slot);
size_t vxt__bs_filter_items(const cjob *j);
void vxt__bs_filter_task(void *arg, size_t b, size_t e, int slot);
void vxt__bs_sample_task(void *arg, size_t b, size_t e, int slot);

#endif /* VXT_RESAMPLE_CUBIC_CPU_H */
