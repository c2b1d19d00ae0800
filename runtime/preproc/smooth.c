/* smooth.c - Gaussian smoothing (scipy.ndimage.gaussian_filter): argument checks and the public API, the weight
 * tables (computed once on the host, in double, and read by both backends), the passes z, y, x through one float32
 * temporary channel, the launches of kernels/smooth/smooth.cl and the CPU twin's job (kernels/smooth/smooth_cpu.c)
 * on the thread pool. Both run the per-voxel steps of kernels/smooth/vxt_smooth.h. Also skimage's anti-aliasing
 * sigma, which vxt_resample's anti_alias option uses (resample.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "smooth_cpu.h"

/* The longest reach of a kernel, in voxels (2^21 + 1 taps): far beyond any useful sigma, and small enough that the
 * tap count fits an int and a row's extension (x passes) stays a few megabytes per thread. */
#define MAX_RADIUS ((int64_t)1 << 20)

/* One pass: its axis, reach, weights w[0 .. r] and index table idx[0 .. n + 2r) (vxt_smooth.h). */
typedef struct spass {
    int axis;
    int64_t r;
    const float *w;
    const int64_t *idx;
} spass;

/* What a pass works on: one channel of nz x ny x nx, src of type dtype into dst (a different buffer). */
typedef struct sdata {
    const void *src;
    vxt_dtype dtype;
    float *dst;
    int64_t nz, ny, nx;
    float fill;
} sdata;

/* The index that position i of a line of n voxels reads through boundary b, or -1 (constant: the fill value). The
 * mirrors are periodic (periods 2n - 2 and 2n), so that a kernel reaching beyond the line reflects again, as scipy's
 * line extension does; a line of one voxel under 'mirror' repeats it. */
static int64_t line_index(int64_t i, int64_t n, vxt_boundary b)
{
    if (i >= 0 && i < n)
        return i;
    if (b == VXT_BOUNDARY_CONSTANT)
        return -1;
    if (b == VXT_BOUNDARY_CLAMP)
        return i < 0 ? 0 : n - 1;
    if (b == VXT_BOUNDARY_MIRROR && n == 1)
        return 0;
    const int64_t period = b == VXT_BOUNDARY_MIRROR ? 2 * n - 2 : 2 * n;
    int64_t m = i % period;
    m = m < 0 ? m + period : m;
    return m < n ? m : period - m - (b == VXT_BOUNDARY_MIRROR ? 0 : 1);
}

/* w[j] = exp(-0.5 / s^2 * j^2) / sum over the 2r + 1 taps, in double, with scipy's _gaussian_kernel1d's exponent
 * (-0.5 / sigma2) * x**2 (j^2 exact), then rounded to float32 (and flushed: a tap far out may underflow). The sum adds
 * the smallest terms first (numpy sums pairwise: the two sums may differ in the last double bit, which the rounding
 * to float32 almost never keeps; the weights are the host's, the same for both backends either way). */
static void gauss_weights(double sigma, int64_t r, float *w)
{
    const double c = -0.5 / (sigma * sigma);
    double sum = 0.0;
    for (int64_t j = r; j >= 1; j--)
        sum += 2.0 * exp(c * (double)(j * j));
    sum += 1.0;
    for (int64_t j = 0; j <= r; j++)
        w[j] = vxt__pp_f32(exp(c * (double)(j * j)) / sum);
}

/* ---- OpenCL backend ---------------------------------------------------------------------------------------------- */

/* The input planes that output planes [zo, zo + n) of a pass read: the planes themselves for y and x passes; for a z
 * pass, every plane its taps reach through the boundary (table positions zo .. zo + n - 1 + 2r). */
static void z_range(const void *user, int64_t zo, int64_t n, int64_t *lo, int64_t *hi)
{
    const spass *p = (const spass *)user;
    int64_t l = zo, h = zo + n - 1;
    for (int64_t k = zo; p->axis == 0 && k < zo + n + 2 * p->r; k++) {
        const int64_t m = p->idx[k];
        l = m >= 0 && m < l ? m : l;
        h = m > h ? m : h;
    }
    *lo = l;
    *hi = h;
}

static vxt_status cl_pass(vxt_context *ctx, const char *f, const spass *p, const sdata *d)
{
    char name[64];
    vxt__pp_kernel_name(name, sizeof name, "smooth", d->dtype);
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_SMOOTH, name, &k);
    if (st != VXT_OK)
        return st;
    const int64_t axis_n = p->axis == 0 ? d->nz : (p->axis == 1 ? d->ny : d->nx);
    vxt__pp_buf bw = {0}, bidx = {0};
    st = vxt__pp_buf_in(ctx, p->w, (size_t)(p->r + 1) * sizeof(float), "smooth: weights", &bw);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, p->idx, (size_t)(axis_n + 2 * p->r) * sizeof(int64_t), "smooth: indices", &bidx);
    if (st == VXT_OK) {
        cl_int r = (cl_int)p->r, axis = p->axis;
        cl_float fill = d->fill;
        cl_long nz = d->nz, ny = d->ny, nx = d->nx;
        cl_int err = VXT_CL_ARG(k, 2, bw.mem);
        err |= VXT_CL_ARG(k, 3, bidx.mem);
        err |= VXT_CL_ARG(k, 4, r);
        err |= VXT_CL_ARG(k, 5, axis);
        err |= VXT_CL_ARG(k, 6, fill);
        err |= VXT_CL_ARG(k, 7, nz);
        err |= VXT_CL_ARG(k, 8, ny);
        err |= VXT_CL_ARG(k, 9, nx);
        st = vxt__cl_check(ctx, err, "smooth: clSetKernelArg");
    }
    const size_t plane = (size_t)d->ny * (size_t)d->nx, in_plane = plane * vxt_dtype_size(d->dtype);
    const size_t out_plane = plane * sizeof(float), limit = vxt__pp_chunk_limit(ctx);
    for (int64_t zo = 0; zo < d->nz && st == VXT_OK;) {
        int64_t n = 0, lo = 0, hi = 0;
        st = vxt__pp_next_slab(ctx, f, limit, in_plane, out_plane, zo, d->nz, z_range, p, &n, &lo, &hi);
        if (st != VXT_OK)
            break;
        vxt__pp_buf bin = {0}, bout = {0};
        st = vxt__pp_buf_in(ctx, (const unsigned char *)d->src + (size_t)lo * in_plane,
                            (size_t)(hi - lo + 1) * in_plane, "smooth: input", &bin);
        if (st == VXT_OK)
            st = vxt__pp_buf_out(ctx, d->dst + (size_t)zo * plane, (size_t)n * out_plane, "smooth: output", &bout);
        if (st == VXT_OK) {
            cl_long zo0 = zo, nzo_job = n, zi0 = lo;
            cl_int err = VXT_CL_ARG(k, 0, bin.mem);
            err |= VXT_CL_ARG(k, 1, bout.mem);
            err |= VXT_CL_ARG(k, 10, zo0);
            err |= VXT_CL_ARG(k, 11, nzo_job);
            err |= VXT_CL_ARG(k, 12, zi0);
            st = vxt__cl_check(ctx, err, "smooth: clSetKernelArg");
        }
        if (st == VXT_OK) {
            const size_t items[3] = {(size_t)d->nx, (size_t)d->ny, (size_t)n};
            st = vxt__pp_launch(ctx, k, 3, items, NULL, name);
        }
        if (st == VXT_OK)
            st = vxt__pp_buf_finish(ctx, &bout, "smooth: output");
        vxt__pp_buf_release(&bin);
        vxt__pp_buf_release(&bout);
        zo += n;
    }
    vxt__pp_buf_release(&bw);
    vxt__pp_buf_release(&bidx);
    clReleaseKernel(k);
    return st;
}

/* ---- CPU backend ------------------------------------------------------------------------------------------------- */

static vxt_status cpu_pass(vxt_context *ctx, const char *f, const spass *p, const sdata *d)
{
    sjob j;
    memset(&j, 0, sizeof j);
    j.dtype = d->dtype;
    j.src = (const unsigned char *)d->src;
    j.dst = d->dst;
    j.nz = d->nz;
    j.ny = d->ny;
    j.nx = d->nx;
    j.axis = p->axis;
    j.r = p->r;
    j.w = p->w;
    j.idx = p->idx;
    j.fill = d->fill;
    const int threads = vxt__pool_threads(ctx->pool);
    if (p->axis == 2) { /* a row with its extension per thread */
        j.per_slot = (size_t)d->nx + 2 * (size_t)p->r;
        j.scratch = malloc((size_t)threads * j.per_slot * sizeof(float));
        if (!j.scratch)
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %d x %zu floats of scratch", f, threads,
                             j.per_slot);
    }
    /* every output row is computed by the same arithmetic whatever its range: the grain only balances the load */
    const size_t items = (size_t)d->nz * (size_t)d->ny;
    size_t grain = items / ((size_t)threads * 4);
    vxt__pool_for(ctx->pool, items, grain < 1 ? 1 : grain, vxt__smooth_cpu_task, &j);
    free(j.scratch);
    return VXT_OK;
}

/* ---- the passes -------------------------------------------------------------------------------------------------- */

vxt_status vxt__smooth_run(vxt_context *ctx, const char *f, const vxt_volume *in, vxt_volume *out,
                           const double sigma[3], double truncate, vxt_boundary boundary, double fill)
{
    /* the passes: axes whose kernel reaches at least one voxel (a reach of 0 is the weight 1: the values unchanged,
     * as scipy skips sigma 0) */
    spass ps[3];
    int np = 0;
    size_t nw = 0, nidx = 0; /* table sizes: weights, indices */
    for (int a = 0; a < 3; a++) {
        const double reach = truncate * sigma[a] + 0.5;
        if (!(reach < (double)(MAX_RADIUS + 1)))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "%s: sigma %g voxels along %c with truncate %g reaches %.0f voxels (at most 2^20)", f,
                             sigma[a], "zyx"[a], truncate, floor(reach));
        const int64_t r = (int64_t)reach;
        if (sigma[a] > 0.0 && r > 0) {
            ps[np].axis = a;
            ps[np++].r = r;
            nw += (size_t)r + 1;
            nidx += (size_t)(in->shape[a] + 2 * r);
        }
    }
    if (np == 0) { /* a conversion to float32 (in place: nothing changes) */
        vxt_ipar neutral;
        vxt__ipar_neutral(&neutral);
        return vxt__intensity_run(ctx, in, NULL, out, VXT_SEL_ALL, &neutral, 0);
    }
    const size_t spatial = vxt__pp_spatial(in);
    float *w = malloc(nw * sizeof *w), *tmp = malloc(spatial * sizeof *tmp);
    int64_t *idx = malloc(nidx * sizeof *idx);
    if (!w || !tmp || !idx) {
        free(w);
        free(tmp);
        free(idx);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for a float32 channel of %zu voxels", f,
                         spatial);
    }
    /* the tables both backends read: weights, and the index each position -r .. n + r - 1 of a line reads */
    size_t ow = 0, oi = 0;
    for (int k = 0; k < np; k++) {
        const int64_t r = ps[k].r, n = in->shape[ps[k].axis];
        gauss_weights(sigma[ps[k].axis], r, w + ow);
        for (int64_t i = -r; i < n + r; i++)
            idx[oi + (size_t)(r + i)] = line_index(i, n, boundary);
        ps[k].w = w + ow;
        ps[k].idx = idx + oi;
        ow += (size_t)r + 1;
        oi += (size_t)(n + 2 * r);
    }
    /* per channel: the first pass reads the input, each later one the previous result; the buffers alternate between
     * tmp and the output channel so that the last pass writes the output (in place, the first pass must not: it would
     * overwrite what it still reads, and an odd count ends with a copy) */
    const int inplace = in->data == out->data;
    const size_t ies = vxt_dtype_size(in->dtype);
    vxt_status st = VXT_OK;
    for (int64_t c = 0; c < in->channels && st == VXT_OK; c++) {
        float *dst = (float *)out->data + (size_t)c * spatial;
        sdata d = {(const unsigned char *)in->data + (size_t)c * spatial * ies,
                   in->dtype,
                   NULL,
                   in->shape[0],
                   in->shape[1],
                   in->shape[2],
                   vxt__pp_f32(fill)};
        for (int k = 0; k < np && st == VXT_OK; k++) {
            const int to_out = inplace ? k % 2 == 1 : (np - 1 - k) % 2 == 0;
            d.dst = to_out ? dst : tmp;
            st = ctx->backend == VXT_BACKEND_OPENCL ? cl_pass(ctx, f, &ps[k], &d) : cpu_pass(ctx, f, &ps[k], &d);
            d.src = d.dst;
            d.dtype = VXT_DTYPE_F32;
        }
        if (st == VXT_OK && d.dst != dst)
            memcpy(dst, tmp, spatial * sizeof *tmp);
    }
    free(w);
    free(tmp);
    free(idx);
    return st;
}

/* ---- public API -------------------------------------------------------------------------------------------------- */

void vxt_smooth_options_init(vxt_smooth_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->truncate = 4.0;
    opts->boundary = VXT_BOUNDARY_GRID_MIRROR;
}

static vxt_status gaussian_smooth_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                       const vxt_smooth_options *opts)
{
    static const char *const f = "vxt_gaussian_smooth";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    if (opts == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'opts' is NULL", f);
    st = vxt__check_struct_size(ctx, f, "vxt_smooth_options", opts, opts->struct_size, sizeof(vxt_smooth_options),
                                sizeof(vxt_smooth_options));
    if (st != VXT_OK)
        return st;
    size_t in_bytes = 0, out_bytes = 0;
    st = vxt__pp_check_input(ctx, f, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, f, "out", out, VXT_DTYPE_F32, in, &out_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_overlap(ctx, f, in, in_bytes, out, out_bytes, in->dtype == VXT_DTYPE_F32);
    if (st != VXT_OK)
        return st;
    double sigma[3];
    for (int a = 0; a < 3; a++) {
        if (!(opts->sigma[a] >= 0.0) || !isfinite(opts->sigma[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.sigma[%d] (%c) is %g (must be >= 0 and finite)",
                             f, a, "zyx"[a], opts->sigma[a]);
        sigma[a] = opts->sigma[a];
        if (!opts->sigma_in_mm)
            continue;
        if (!(opts->spacing[a] > 0.0) || !isfinite(opts->spacing[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "%s: opts.spacing[%d] (%c) is %g (must be > 0 and finite with sigma_in_mm)", f, a,
                             "zyx"[a], opts->spacing[a]);
        sigma[a] = opts->sigma[a] / opts->spacing[a];
        if (!isfinite(sigma[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.sigma[%d] (%c) %g mm at spacing %g is %g voxels",
                             f, a, "zyx"[a], opts->sigma[a], opts->spacing[a], sigma[a]);
    }
    if (!(opts->truncate > 0.0) || !isfinite(opts->truncate))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.truncate is %g (must be > 0 and finite)", f,
                         opts->truncate);
    if ((unsigned)opts->boundary >= (unsigned)VXT_BOUNDARY_COUNT_)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.boundary is %d, not a vxt_boundary", f,
                         (int)opts->boundary);
    if (!isfinite(opts->fill_value))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.fill_value is %g (must be finite)", f,
                         opts->fill_value);
    return vxt__smooth_run(ctx, f, in, out, sigma, opts->truncate, opts->boundary, opts->fill_value);
}

static vxt_status antialias_sigma_impl(const int64_t in_shape[3], const int64_t out_shape[3], double sigma[3])
{
    static const char *const f = "vxt_antialias_sigma";
    if (!in_shape || !out_shape || !sigma)
        return vxt__fail(NULL, VXT_ERR_NULL, "%s: argument '%s' is NULL", f,
                         !in_shape ? "in_shape" : !out_shape ? "out_shape" : "sigma");
    double s[3];
    for (int a = 0; a < 3; a++) {
        if (in_shape[a] < 1 || out_shape[a] < 1)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: axis %d (%c): shapes %lld -> %lld (must be >= 1)", f,
                             a, "zyx"[a], (long long)in_shape[a], (long long)out_shape[a]);
        /* skimage: np.maximum(0, (factors - 1) / 2), factors = input_shape / output_shape */
        const double v = ((double)in_shape[a] / (double)out_shape[a] - 1.0) / 2.0;
        s[a] = v > 0.0 ? v : 0.0;
    }
    memcpy(sigma, s, sizeof s);
    return VXT_OK;
}

/* Public entries: the weight tables and sigmas are computed in the default floating-point environment whatever the
 * caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_gaussian_smooth, gaussian_smooth_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 const vxt_smooth_options *opts), (ctx, in, out, opts))

VXT__FPENV_ENTRY(vxt_antialias_sigma, antialias_sigma_impl, (const int64_t in_shape[3], const int64_t out_shape[3],
                 double sigma[3]), (in_shape, out_shape, sigma))
