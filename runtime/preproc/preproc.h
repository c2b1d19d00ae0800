/*
 * preproc.h - declarations shared by the preprocessing sources (intensity.c, stats.c, histogram.c,
 * percentile.c, normalize.c, resample.c, resample_affine.c, patches.c, smooth.c): argument checks, dtype dispatch, and
 * the OpenCL staging of host volumes (preproc_cl.c). The CPU twins of their kernels
 * (kernels/<operation>/<name>_cpu.c) include it too. Not installed.
 */
#ifndef VXT_PREPROC_H
#define VXT_PREPROC_H

#include "internal.h"
#include "vxt_arith.h"
#include "vxt_convert.h"
#include "vxt_intensity.h"

/* VXT_CPU_HOT (internal.h): voxel loops compiled for AVX2 and the baseline ISA, with the same bits. */

/* ---- checks (preproc_check.c) ------------------------------------------------------------------------ */

/* The context argument of a public function. */
vxt_status vxt__pp_check_ctx(const vxt_context *ctx, const char *func);

/* A supported input type (uint8, int8, uint16, int16, int32, float32, float64). */
int vxt__pp_input_type(vxt_dtype t);

/* Validate an input view (vxt__volume_check + supported type); *bytes may be NULL. */
vxt_status vxt__pp_check_input(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                               size_t *bytes);

/* Validate an output view of dtype `want` (VXT_DTYPE_INVALID: any) and, when `like` is not NULL, the same
 * channels and shape as `like`. */
vxt_status vxt__pp_check_output(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                                vxt_dtype want, const vxt_volume *like, size_t *bytes);

/* The selection arguments: a known vxt_select; mask given exactly for VXT_SELECT_MASK, uint8/int8, 1
 * channel, the spatial shape of `in`. */
vxt_status vxt__pp_check_select(const vxt_context *ctx, const char *func, vxt_select sel, const vxt_volume *mask,
                                const vxt_volume *in);

/* In-place rules: out may equal in (same data pointer) when `inplace_ok`; any other overlap is refused. */
vxt_status vxt__pp_check_overlap(const vxt_context *ctx, const char *func, const vxt_volume *in, size_t in_bytes,
                                 const vxt_volume *out, size_t out_bytes, int inplace_ok);

/* A single-channel volume (statistics). */
vxt_status vxt__pp_check_single_channel(const vxt_context *ctx, const char *func, const vxt_volume *in);

/* A double parameter that must be finite. */
vxt_status vxt__pp_check_finite(const vxt_context *ctx, const char *func, const char *name, double v);

/* (float)d with the denormal policy applied (parameters passed to both backends). */
float vxt__pp_f32(double d);

/* Suffix of kernel names for a supported input type ("u8", "i8", "u16", "i16", "i32", "f32", "f64"). */
const char *vxt__pp_suffix(vxt_dtype t);

/* Spatial voxel count nz*ny*nx of a validated view. */
static inline size_t vxt__pp_spatial(const vxt_volume *v)
{
    return (size_t)v->shape[0] * (size_t)v->shape[1] * (size_t)v->shape[2];
}

/* Is d exactly representable in dtype t (a supported input type)? Its element bits, little-endian, in *raw
 * (resample.c). */
int vxt__pp_raw_fill(vxt_dtype t, double d, uint64_t *raw);

/* Read element i of a volume as float32 (vxt_convert.h); host-side scalar access (sampling, references). */
float vxt__pp_load(const vxt_volume *v, size_t i);

/* Test knobs in ctx->pp_variant (0: automatic choice): force one of two kernels that give the same results. */
#define VXT__PP_HIST_PRIVATE 0x1u   /* histograms: per-work-item private histograms (CPU devices' default) */
#define VXT__PP_HIST_ATOMIC 0x2u    /* histograms: atomic increments (GPUs' default) */
#define VXT__PP_RESAMPLE_VOXEL 0x4u /* resampling: one work-item per output voxel instead of three passes */
#define VXT__PP_NO_FP64 0x10u       /* statistics: treat the device as lacking fp64 (the host pool reduces) */
#define VXT__PP_COPY                                                                                                   \
    0x8u /* device buffers filled and read back by copies even on devices that share host                              \
            memory (the path discrete GPUs take) */

/* ---- OpenCL staging (preproc_cl.c) --------------------------------------------------------------------- */

/* Largest buffer used for one slab: the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE, or less when a test asks
 * for it (ctx->pp_chunk_bytes). */
size_t vxt__pp_chunk_limit(const vxt_context *ctx);

/* The input planes [*lo, *hi] that output planes [zo, zo + n) read (none: 0, 0). */
typedef void (*vxt__pp_zrange_fn)(const void *user, int64_t zo, int64_t n, int64_t *lo, int64_t *hi);

/* The next slab of one channel's output planes, from plane zo of nzo: the most planes *n whose output
 * (out_plane bytes each) and input (in_plane bytes per plane of [*lo, *hi]) fit `limit`, halving until they do.
 * VXT_ERR_UNSUPPORTED (message naming `f`) when even one output plane does not fit. */
vxt_status vxt__pp_next_slab(vxt_context *ctx, const char *f, size_t limit, size_t in_plane, size_t out_plane,
                             int64_t zo, int64_t nzo, vxt__pp_zrange_fn range, const void *user, int64_t *n,
                             int64_t *lo, int64_t *hi);

/* A device buffer for a host region. On devices that share host memory (CL_DEVICE_HOST_UNIFIED_MEMORY: CPU
 * devices such as PoCL, integrated GPUs) it wraps the host memory (CL_MEM_USE_HOST_PTR: no copy); otherwise
 * it is a device buffer filled by a copy (inputs) or read back (outputs). */
typedef struct vxt__pp_buf {
    cl_mem mem;
    void *host;
    size_t bytes;
    int zero_copy;
} vxt__pp_buf;

vxt_status vxt__pp_buf_in(vxt_context *ctx, const void *host, size_t bytes, const char *what, vxt__pp_buf *b);
vxt_status vxt__pp_buf_out(vxt_context *ctx, void *host, size_t bytes, const char *what, vxt__pp_buf *b);
/* Read and written (in-place transforms). */
vxt_status vxt__pp_buf_inout(vxt_context *ctx, void *host, size_t bytes, const char *what, vxt__pp_buf *b);
/* Device-only scratch (partial results read with vxt__cl_read). bytes may be 0 (a tiny dummy buffer). */
vxt_status vxt__pp_buf_scratch(vxt_context *ctx, size_t bytes, const char *what, vxt__pp_buf *b);
/* Make an output's results visible in host memory (blocking). */
vxt_status vxt__pp_buf_finish(vxt_context *ctx, vxt__pp_buf *b, const char *what);
void vxt__pp_buf_release(vxt__pp_buf *b);

/* Enqueue with an explicit local size (NULL: 64 x 1 x 1 like vxt__cl_launch). */
vxt_status vxt__pp_launch(vxt_context *ctx, cl_kernel k, cl_uint dims, const size_t *items, const size_t *local,
                          const char *name);

/* Arguments 0 .. n-1 of kernel k from parallel arrays of pointers and sizes; one message (`what`) for any failure. */
vxt_status vxt__pp_set_args(vxt_context *ctx, cl_kernel k, const void *const *vals, const size_t *sizes, int n,
                            const char *what);

/* Device capabilities used by the preprocessing paths. */
int vxt__pp_device_has_fp64(const vxt_context *ctx);
int vxt__pp_device_is_cpu(const vxt_context *ctx);

/* "vxt_<base>_<suffix>" kernel name for the input type. */
void vxt__pp_kernel_name(char *buf, size_t size, const char *base, vxt_dtype t);

/* ---- shared between the preprocessing files -------------------------------------------------------------- */

/* intensity.c: a vxt_ipar whose every step is neutral (leaves values unchanged bit for bit). */
void vxt__ipar_neutral(vxt_ipar *p);

/* intensity.c: run the pointwise transform p on validated arguments (sel VXT_SEL_*, mask the validated mask
 * view or NULL; out float32, or uint8 when out_u8). */
vxt_status vxt__intensity_run(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, vxt_volume *out, int sel,
                              const vxt_ipar *p, int out_u8);

/* stats.c: count, NaN count, min, max, mean, population std and sum of the selected voxels of a single-channel
 * volume (s->struct_size untouched). 8- and 16-bit data: exact, from a histogram of the values; other types: the
 * fixed-order moments reduction of kernels/stats/vxt_moments.h. */
vxt_status vxt__stats_run(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask, vxt_stats *s);

/* histogram.c: count the selected voxels per bin (vxt_histogram.h) into counts[0 .. nbins_total), which it
 * zeroes first. hp->sel, mode, shift, ntargets, nbins, hi_incl, norm as in vxt_hpar; targets (KEYS_LOW) and thr
 * (UNIFORM) may be NULL when unused. */
struct vxt_hpar;
vxt_status vxt__hist_run(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, const struct vxt_hpar *hp,
                         const uint32_t *targets, const float *thr, size_t nbins_total, uint64_t *counts);

/* percentile.c: numpy 'linear' percentiles of the selected voxels of validated arguments (q checked). */
vxt_status vxt__percentiles_run(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask,
                                const double *q, size_t nq, double *values);

/* Per output plane z of a resampling from nin to nout planes under o: the input planes it reads, [lo[z], hi[z])
 * (resample.c). Planes that read nothing get an empty range that does not move backwards. */
void vxt__resample_z_table(const vxt_resample_options *o, int64_t nin, int64_t nout, int64_t *lo, int64_t *hi);

/* resample.c: the linear and nearest index and weight tables of one axis (-1: outside, constant boundary). */
void vxt__resample_axis_table(int64_t nin, int64_t nout, vxt_interp interp, vxt_grid_align grid, vxt_boundary bnd,
                              double scale, int64_t *i0, int64_t *i1, float *w0, float *w1);

/* resample_cubic.c: vxt_resample with a cubic axis or clipping, on checked arguments and options (all fields set);
 * the clip's ranges are those of `range_of` (the input's shape and channels: the input, or its unsmoothed self). */
vxt_status vxt__resample_cubic(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, const vxt_resample_options *o,
                               const vxt_volume *range_of);

/* smooth.c: Gaussian smoothing of validated views (out float32 with the input's channels and shape; it may be the
 * input when that is float32): sigma in voxels per axis (finite, >= 0; 0 leaves the axis), truncate > 0 and finite,
 * a known boundary, fill finite. `f` names the public function in messages. */
vxt_status vxt__smooth_run(vxt_context *ctx, const char *f, const vxt_volume *in, vxt_volume *out, const double sigma[3],
                           double truncate, vxt_boundary boundary, double fill);

#endif /* VXT_PREPROC_H */
