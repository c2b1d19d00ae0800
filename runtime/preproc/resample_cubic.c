/* resample_cubic.c - resampling with cubic B-spline axes (and any resampling that clips its output), one channel at
 * a time: the per-axis tap tables (scipy's coordinates, boundary mapping and spline weights, in double, computed
 * once for both backends), the clip ranges, then the coefficient buffer, the prefilter along each cubic axis and the
 * sampling of kernels/resample/vxt_cubic.h, on the device (kernels/resample/resample_cubic.cl) or by the CPU twin
 * (kernels/resample/resample_cubic_cpu.c). Linear and nearest axes take the tables of resample.c as one or two taps:
 * the same arithmetic as the linear resampler's, so the same bits before the clip. docs/PREPROCESSING.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "resample_cubic_cpu.h"
#include "vxt_cubic.h"

/* scipy pads 'nearest' and 'grid-constant' inputs by 12 samples before its prefilter (_prepad_for_spline_filter):
 * the padded line's own symmetric extension then stands in for the infinite one. */
#define VXT_BS_PAD 12

/* A coordinate (or a tap index) outside [0, len - 1] mapped back by the whole-sample (mirror) or half-sample
 * (grid-mirror) symmetric extension, as scipy's map_coordinate does. */
static double fold(double in, int64_t len, int half)
{
    if (len <= 1)
        return 0.0;
    if (in < 0) {
        if (!half) {
            const int64_t sz2 = 2 * len - 2;
            in = (double)sz2 * (double)(int64_t)(-in / (double)sz2) + in;
            in = in <= (double)(1 - len) ? in + (double)sz2 : -in;
        } else {
            const int64_t sz2 = 2 * len;
            if (in < (double)-sz2)
                in = (double)sz2 * (double)(int64_t)(-in / (double)sz2) + in;
            in = in < (double)-len ? in + (double)sz2 : (in > -1e-15 ? 1e-15 : -in) - 1.0;
        }
    } else if (in > (double)(len - 1)) {
        const int64_t sz2 = half ? 2 * len : 2 * len - 2;
        in -= (double)sz2 * (double)(int64_t)(in / (double)sz2);
        if (in >= (double)len)
            in = half ? (double)sz2 - in - 1.0 : (double)sz2 - in;
    }
    return in;
}

/* The four taps of output index o along a cubic axis of n input samples (a buffer of n + 2 pad), in the buffer's
 * indices (-1: the fill value). scipy zoom_shift: the coordinate in double, mapped by the boundary unless the
 * input was padded, start floor(cc) - 1, weights get_spline_interpolation_weights(cc, 3). */
static void cubic_taps(int64_t o, int64_t n, int64_t nout, vxt_grid_align align, vxt_boundary bnd, int64_t pad,
                       int64_t *idx, float *w)
{
    const int half_pixel = align == VXT_ALIGN_HALF_PIXEL;
    const double zoom = half_pixel ? (double)n / (double)nout : (nout > 1 ? (double)(n - 1) / (double)(nout - 1) : 1.0);
    double cc = half_pixel ? ((double)o + 0.5) * zoom - 0.5 : (double)o * zoom;
    cc += (double)pad;
    const int64_t len = n + 2 * pad;
    if (bnd == VXT_BOUNDARY_MIRROR || bnd == VXT_BOUNDARY_GRID_MIRROR)
        cc = fold(cc, n, bnd == VXT_BOUNDARY_GRID_MIRROR);
    const int64_t start = (int64_t)floor(cc) - 1;
    /* get_spline_interpolation_weights, order 3 */
    const double x = cc - floor(cc), y = x, z = 1.0 - x;
    double wd[4];
    wd[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
    wd[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
    wd[0] = z * z * z / 6.0;
    wd[3] = 1.0;
    for (int i = 0; i < 3; i++)
        wd[3] -= wd[i];
    for (int t = 0; t < 4; t++) {
        int64_t k = start + t;
        if (k < 0 || k >= len) {
            if (bnd == VXT_BOUNDARY_CONSTANT)
                k = -1;
            else if (bnd == VXT_BOUNDARY_CLAMP)
                k = k < 0 ? 0 : len - 1;
            else
                k = (int64_t)fold((double)k, n, bnd == VXT_BOUNDARY_GRID_MIRROR);
        }
        idx[t] = k;
        w[t] = vxt_ftz((float)wd[t]);
    }
}

/* Whether axis a's cubic coefficients come from a padded input (scipy's 'nearest' and 'grid-constant'). */
static int64_t pad_of(const vxt_resample_options *o, int a)
{
    return o->interp[a] == VXT_INTERP_CUBIC && (o->boundary == VXT_BOUNDARY_CLAMP || o->boundary == VXT_BOUNDARY_CONSTANT)
               ? VXT_BS_PAD
               : 0;
}

/* The tap tables of every axis: 4 entries per output index (unused taps: index 0, weight 0). */
static vxt_status tables(vxt_context *ctx, const char *f, const vxt_resample_options *o, const int64_t nin[3],
                         const int64_t nout[3], int64_t *idx, float *w, int nt[3])
{
    size_t off = 0;
    for (int a = 0; a < 3; a++) {
        const int64_t n = nout[a];
        if (o->interp[a] == VXT_INTERP_CUBIC) {
            nt[a] = 4;
            const int64_t pad = pad_of(o, a);
            for (int64_t i = 0; i < n; i++)
                cubic_taps(i, nin[a], n, o->align, o->boundary, pad, idx + off + 4 * (size_t)i, w + off + 4 * (size_t)i);
        } else {
            int64_t *i01 = malloc(2 * (size_t)n * sizeof *i01);
            float *w01 = malloc(2 * (size_t)n * sizeof *w01);
            if (!i01 || !w01) {
                free(i01);
                free(w01);
                return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for the axis tables", f);
            }
            /* mirror boundaries only with nearest axes here (checked), whose indices are always inside */
            const vxt_boundary b = o->boundary == VXT_BOUNDARY_CONSTANT ? VXT_BOUNDARY_CONSTANT : VXT_BOUNDARY_CLAMP;
            vxt__resample_axis_table(nin[a], n, o->interp[a], o->align, b, o->scale[a], i01, i01 + n, w01, w01 + n);
            nt[a] = o->interp[a] == VXT_INTERP_LINEAR ? 2 : 1;
            for (int64_t i = 0; i < n; i++) {
                int64_t *ti = idx + off + 4 * (size_t)i;
                float *tw = w + off + 4 * (size_t)i;
                ti[0] = i01[i];
                ti[1] = nt[a] == 2 ? i01[n + i] : 0;
                ti[2] = ti[3] = 0;
                tw[0] = nt[a] == 2 ? w01[i] : 1.0f;
                tw[1] = nt[a] == 2 ? w01[n + i] : 0.0f;
                tw[2] = tw[3] = 0.0f;
            }
            free(i01);
            free(w01);
        }
        off += 4 * (size_t)n;
    }
    return VXT_OK;
}

/* ---- clip ranges ------------------------------------------------------------------------------------------- */

/* min and max of the non-NaN values of one channel, per index along `axis` (-1: one range). Exact whatever the order
 * (a minimum is a minimum), so computed on the host for both backends: per input plane on the pool (each plane's own
 * range, or its ranges per row or column), then combined. */
typedef struct rjob_ranges {
    const vxt_volume *in;
    size_t ch_off;
    int axis;
    float *lo, *hi; /* per plane: nr entries each (nr: 1, or the length of axis 1 or 2) */
    int64_t nr;
} rjob_ranges;

#define VXT_RANGE_ROW(S, T, LOAD, DT)                                                                                  \
    VXT_CPU_HOT static void range_row_##S(const T *restrict row, int64_t n, int per_x, float *restrict lo,           \
                                          float *restrict hi)                                                         \
    {                                                                                                                  \
        if (per_x) {                                                                                                   \
            for (int64_t x = 0; x < n; x++) {                                                                          \
                const float v = LOAD(row[x]);                                                                          \
                lo[x] = v < lo[x] ? v : lo[x]; /* NaN compares false: never taken */                                   \
                hi[x] = v > hi[x] ? v : hi[x];                                                                         \
            }                                                                                                          \
            return;                                                                                                    \
        }                                                                                                              \
        float mn = *lo, mx = *hi;                                                                                      \
        for (int64_t x = 0; x < n; x++) {                                                                              \
            const float v = LOAD(row[x]);                                                                              \
            mn = v < mn ? v : mn;                                                                                      \
            mx = v > mx ? v : mx;                                                                                      \
        }                                                                                                              \
        *lo = mn;                                                                                                      \
        *hi = mx;                                                                                                      \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_RANGE_ROW)

static void ranges_task(void *arg, size_t b, size_t e, int slot)
{
    (void)slot;
    const rjob_ranges *r = arg;
    const vxt_volume *in = r->in;
    const int64_t ny = in->shape[1], nx = in->shape[2];
    const size_t es = vxt_dtype_size(in->dtype);
    for (size_t z = b; z < e; z++) {
        float *lo = r->lo + z * (size_t)r->nr, *hi = r->hi + z * (size_t)r->nr;
        for (int64_t i = 0; i < r->nr; i++) {
            lo[i] = INFINITY;
            hi[i] = -INFINITY;
        }
        for (int64_t y = 0; y < ny; y++) {
            const unsigned char *row = (const unsigned char *)in->data +
                                       (r->ch_off + (z * (size_t)ny + (size_t)y) * (size_t)nx) * es;
            float *l = r->axis == 1 ? lo + y : lo, *h = r->axis == 1 ? hi + y : hi;
            switch (in->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        range_row_##S((const T *)(const void *)row, nx, r->axis == 2, l, h);                                           \
        break;
                VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
            default:
                break;
            }
        }
    }
}

static vxt_status input_ranges(vxt_context *ctx, const vxt_volume *in, size_t ch_off, int axis, float *lo, float *hi)
{
    const int64_t nz = in->shape[0];
    rjob_ranges r = {in, ch_off, axis, NULL, NULL, axis == 1 ? in->shape[1] : axis == 2 ? in->shape[2] : 1};
    r.lo = malloc((size_t)nz * (size_t)r.nr * sizeof *r.lo);
    r.hi = malloc((size_t)nz * (size_t)r.nr * sizeof *r.hi);
    if (!r.lo || !r.hi) {
        free(r.lo);
        free(r.hi);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_resample: out of memory for the clip ranges");
    }
    vxt__pool_for(ctx->pool, (size_t)nz, 1, ranges_task, &r);
    const int64_t nout = axis < 0 ? 1 : in->shape[axis];
    for (int64_t t = 0; t < nout; t++) {
        lo[t] = INFINITY;
        hi[t] = -INFINITY;
    }
    for (int64_t z = 0; z < nz; z++)
        for (int64_t i = 0; i < r.nr; i++) {
            const int64_t t = axis == 0 ? z : axis < 0 ? 0 : i;
            const float a = r.lo[z * r.nr + i], b = r.hi[z * r.nr + i];
            lo[t] = a < lo[t] ? a : lo[t];
            hi[t] = b > hi[t] ? b : hi[t];
        }
    for (int64_t t = 0; t < nout; t++)
        if (lo[t] > hi[t]) /* only NaN: nothing to clip to (NaN compares false: values stay) */
            lo[t] = hi[t] = NAN;
    free(r.lo);
    free(r.hi);
    return VXT_OK;
}

/* ---- the clip with the constant boundary ------------------------------------------------------------------- */

/* skimage keeps the fill value when it lies outside the input's range but inside the output's (resize's
 * _clip_warp_output, preserve_cval): that needs the output's range first, so with the constant boundary the sampling
 * runs unclipped and the clip follows here, on the host for both backends (a clip is exact: the same bits). The
 * output's ranges per clip index come from input_ranges on the output itself; they widen the clip's where skimage
 * widens them; then the clip. */
typedef struct pclip {
    float *out;
    int64_t nyo, nxo;
    int axis; /* -1: one range; else the output axis whose index picks it */
    const float *lo, *hi;
} pclip;

static void clip_task(void *arg, size_t b, size_t e, int slot)
{
    (void)slot;
    const pclip *p = arg;
    for (size_t z = b; z < e; z++) {
        float *o = p->out + z * (size_t)(p->nyo * p->nxo);
        for (int64_t y = 0; y < p->nyo; y++)
            for (int64_t x = 0; x < p->nxo; x++) {
                const int64_t t = p->axis == 0 ? (int64_t)z : p->axis == 1 ? y : p->axis == 2 ? x : 0;
                o[y * p->nxo + x] = vxt_clip_range(o[y * p->nxo + x], p->lo[t], p->hi[t]);
            }
    }
}

static vxt_status clip_keeping_fill(vxt_context *ctx, float *out, const int64_t nout[3], int axis, int64_t nclip,
                                    float *lo, float *hi, float fill)
{
    float *mn = malloc((size_t)nclip * sizeof *mn), *mx = malloc((size_t)nclip * sizeof *mx);
    const vxt_volume ov = {out, VXT_DTYPE_F32, 1, {nout[0], nout[1], nout[2]}};
    vxt_status st = mn && mx ? input_ranges(ctx, &ov, 0, axis, mn, mx)
                             : vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_resample: out of memory for the output's "
                                         "ranges");
    for (int64_t t = 0; st == VXT_OK && t < nclip; t++)
        if (!(lo[t] <= fill && fill <= hi[t]) && mn[t] <= fill && fill <= mx[t]) { /* NaN ranges: never */
            lo[t] = fill < lo[t] ? fill : lo[t];
            hi[t] = fill > hi[t] ? fill : hi[t];
        }
    free(mn);
    free(mx);
    if (st != VXT_OK)
        return st;
    pclip p = {out, nout[1], nout[2], axis, lo, hi};
    vxt__pool_for(ctx->pool, (size_t)nout[0], 1, clip_task, &p);
    return VXT_OK;
}

/* ---- OpenCL ------------------------------------------------------------------------------------------------ */

static vxt_status cl_channel(vxt_context *ctx, cjob *j, const int filter_axes[3], cl_mem idx, cl_mem w, cl_mem lo,
                             cl_mem hi)
{
    const char *f = "vxt_resample";
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_bytes = (size_t)j->nz * (size_t)j->ny * (size_t)j->nx * vxt_dtype_size(j->dtype);
    const size_t c_bytes = (size_t)j->bz * (size_t)j->by * (size_t)j->bx * sizeof(float);
    const size_t plane_out = (size_t)j->nyo * (size_t)j->nxo * sizeof(float);
    if (in_bytes > limit || c_bytes > limit || plane_out > limit) {
        const char *what = c_bytes > limit ? "the B-spline coefficients" : in_bytes > limit ? "one input channel"
                                                                                            : "one output plane";
        const size_t need = c_bytes > limit ? c_bytes : in_bytes > limit ? in_bytes : plane_out;
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "%s: cubic resampling needs one device buffer of %zu KiB for %s, "
                         "above the device's largest buffer of %zu KiB", f, need >> 10, what, limit >> 10);
    }
    char name[64];
    vxt__pp_kernel_name(name, sizeof name, "bs_pad", j->dtype);
    cl_kernel kp = NULL, kf = NULL, ks = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, name, &kp);
    if (st == VXT_OK)
        st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, "vxt_bs_filter", &kf);
    if (st == VXT_OK)
        st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, "vxt_bs_sample", &ks);
    vxt__pp_buf bin = {0}, bc = {0};
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, j->in, in_bytes, "resample: input", &bin);
    if (st == VXT_OK)
        st = vxt__pp_buf_scratch(ctx, c_bytes, "resample: B-spline coefficients", &bc);
    cl_long nz = j->nz, ny = j->ny, nx = j->nx, bz = j->bz, by = j->by, bx = j->bx, pz = j->pz, py = j->py, px = j->px;
    cl_int edge = j->edge;
    cl_float fill = j->fill;
    if (st == VXT_OK) {
        const void *v[] = {&bin.mem, &bc.mem, &nz, &ny, &nx, &bz, &by, &bx, &pz, &py, &px, &edge, &fill};
        const size_t z[] = {sizeof(cl_mem), sizeof(cl_mem), 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 4};
        st = vxt__pp_set_args(ctx, kp, v, z, 13, "resample: padding arguments");
    }
    if (st == VXT_OK) {
        size_t items[3] = {(size_t)bx, (size_t)by, (size_t)bz};
        st = vxt__pp_launch(ctx, kp, 3, items, NULL, name);
    }
    for (int a = 0; a < 3 && st == VXT_OK; a++) {
        if (!filter_axes[a])
            continue;
        /* line g starts at (g / n2) * st1 + (g % n2) * st2 */
        cl_long s, n, lines, n2, st1, st2;
        if (a == 0)
            s = by * bx, n = bz, lines = by * bx, n2 = bx, st1 = bx, st2 = 1;
        else if (a == 1)
            s = bx, n = by, lines = bz * bx, n2 = bx, st1 = by * bx, st2 = 1;
        else
            s = 1, n = bx, lines = bz * by, n2 = by, st1 = by * bx, st2 = bx;
        cl_int reflect = j->reflect;
        const void *v[] = {&bc.mem, &s, &n, &lines, &n2, &st1, &st2, &reflect};
        const size_t z[] = {sizeof(cl_mem), 8, 8, 8, 8, 8, 8, 4};
        st = vxt__pp_set_args(ctx, kf, v, z, 8, "resample: prefilter arguments");
        if (st == VXT_OK) {
            size_t items[1] = {(size_t)lines};
            st = vxt__pp_launch(ctx, kf, 1, items, NULL, "vxt_bs_filter");
        }
    }
    /* sampling, in slabs of output planes that fit a buffer */
    int64_t zo = 0;
    const int64_t per = (int64_t)(limit / plane_out) < 1 ? 1 : (int64_t)(limit / plane_out);
    while (st == VXT_OK && zo < j->nzo) {
        const int64_t n = j->nzo - zo < per ? j->nzo - zo : per;
        vxt__pp_buf bout = {0};
        st = vxt__pp_buf_out(ctx, j->out + (size_t)zo * (size_t)j->nyo * (size_t)j->nxo, (size_t)n * plane_out,
                             "resample: output", &bout);
        cl_long zo0 = zo, njob = n, nzo = j->nzo, nyo = j->nyo, nxo = j->nxo;
        cl_int ntz = j->nt[0], nty = j->nt[1], ntx = j->nt[2], clip = j->clip, clip_axis = j->clip_axis;
        if (st == VXT_OK) {
            const void *v[] = {&bc.mem, &bout.mem, &by, &bx, &zo0, &njob, &nzo, &nyo, &nxo, &idx, &w, &ntz, &nty, &ntx,
                               &fill, &clip, &clip_axis, &lo, &hi};
            const size_t z[] = {sizeof(cl_mem), sizeof(cl_mem), 8, 8, 8, 8, 8, 8, 8, sizeof(cl_mem), sizeof(cl_mem),
                                4, 4, 4, 4, 4, 4, sizeof(cl_mem), sizeof(cl_mem)};
            st = vxt__pp_set_args(ctx, ks, v, z, 19, "resample: sampling arguments");
        }
        if (st == VXT_OK) {
            size_t items[3] = {(size_t)nxo, (size_t)nyo, (size_t)n};
            st = vxt__pp_launch(ctx, ks, 3, items, NULL, "vxt_bs_sample");
        }
        if (st == VXT_OK)
            st = vxt__pp_buf_finish(ctx, &bout, "resample: output");
        vxt__pp_buf_release(&bout);
        zo += n;
    }
    vxt__pp_buf_release(&bin);
    vxt__pp_buf_release(&bc);
    if (kp)
        clReleaseKernel(kp);
    if (kf)
        clReleaseKernel(kf);
    if (ks)
        clReleaseKernel(ks);
    return st;
}

/* ---- CPU ---------------------------------------------------------------------------------------------------- */

static void pool_for(vxt_context *ctx, size_t items, void (*task)(void *, size_t, size_t, int), void *arg)
{
    /* results do not depend on the ranges (each item's arithmetic is fixed), so the grain only balances the load */
    const int threads = vxt__pool_threads(ctx->pool);
    size_t grain = items / ((size_t)threads * 4);
    vxt__pool_for(ctx->pool, items, grain < 1 ? 1 : grain, task, arg);
}

static void cpu_channel(vxt_context *ctx, cjob *j, const int filter_axes[3])
{
    pool_for(ctx, (size_t)j->bz, vxt__bs_pad_task, j);
    for (int a = 0; a < 3; a++) {
        if (!filter_axes[a])
            continue;
        j->axis = a;
        pool_for(ctx, vxt__bs_filter_items(j), vxt__bs_filter_task, j);
    }
    pool_for(ctx, (size_t)j->nzo, vxt__bs_sample_task, j);
}

/* ---- entry (from resample.c, arguments checked) -------------------------------------------------------------- */

vxt_status vxt__resample_cubic(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, const vxt_resample_options *o,
                               const vxt_volume *range_of)
{
    static const char *const f = "vxt_resample";
    static const char *const axis_name[3] = {"z", "y", "x"};
    if (o->in_z_total != 0 || o->out_z_total != 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: cubic interpolation and clipping resample whole volumes "
                         "(opts.in_z_total and opts.out_z_total must be 0)", f);
    if (out->dtype != VXT_DTYPE_F32)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: out.dtype is %s; cubic interpolation and clipping give "
                         "float32", f, vxt_dtype_name(out->dtype));
    int ncubic = 0, nnear = 0, near_axis = -1;
    for (int a = 0; a < 3; a++) {
        if (o->interp[a] == VXT_INTERP_CUBIC && o->scale[a] != 0.0)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.scale[%d] (%s) is %g: a cubic axis takes its "
                             "ratio from the shapes (scale applies to linear and nearest axes)", f, a, axis_name[a],
                             o->scale[a]);
        ncubic += o->interp[a] == VXT_INTERP_CUBIC;
        if (o->interp[a] == VXT_INTERP_NEAREST || o->interp[a] == VXT_INTERP_NEAREST_FLOOR) {
            nnear++;
            near_axis = a;
        }
        if (o->interp[a] == VXT_INTERP_LINEAR &&
            (o->boundary == VXT_BOUNDARY_MIRROR || o->boundary == VXT_BOUNDARY_GRID_MIRROR))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: boundary %s needs every axis cubic or nearest (axis "
                             "%d, %s, is linear)", f, vxt_boundary_name(o->boundary), a, axis_name[a]);
    }
    const int64_t nin[3] = {in->shape[0], in->shape[1], in->shape[2]};
    const int64_t nout[3] = {out->shape[0], out->shape[1], out->shape[2]};
    if (nin[2] > INT32_MAX - 2 * VXT_BS_PAD) /* the CPU's x taps are int32 indices into padded rows */
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "%s: in.shape[2] is %lld (cubic rows of at most 2^31 - 25 voxels)",
                         f, (long long)nin[2]);
    const size_t ntab = 4 * (size_t)(nout[0] + nout[1] + nout[2]);
    int64_t *idx = malloc(ntab * sizeof *idx);
    float *w = malloc(ntab * sizeof *w);
    /* clip: the input slice along the nearest axis when the two others are cubic, else the whole channel */
    const int clip = o->clip == VXT_CLIP_INPUT_RANGE;
    const int clip_axis = clip && ncubic == 2 && nnear == 1 ? near_axis : -1;
    const int64_t nranges = clip_axis < 0 ? 1 : nin[clip_axis], nclip = clip_axis < 0 ? 1 : nout[clip_axis];
    float *rlo = malloc((size_t)nranges * sizeof *rlo), *rhi = malloc((size_t)nranges * sizeof *rhi);
    float *lo = malloc((size_t)nclip * sizeof *lo), *hi = malloc((size_t)nclip * sizeof *hi);
    const int64_t pad[3] = {pad_of(o, 0), pad_of(o, 1), pad_of(o, 2)};
    cjob j;
    memset(&j, 0, sizeof j);
    j.dtype = in->dtype;
    j.nz = nin[0], j.ny = nin[1], j.nx = nin[2];
    j.pz = pad[0], j.py = pad[1], j.px = pad[2];
    j.bz = nin[0] + 2 * pad[0], j.by = nin[1] + 2 * pad[1], j.bx = nin[2] + 2 * pad[2];
    j.edge = o->boundary != VXT_BOUNDARY_CONSTANT;
    j.fill = vxt__pp_f32(o->fill_value);
    /* the half-sample initial values for grid-mirror and for the edge-padded lines of clamp (scipy 'nearest') */
    j.reflect = o->boundary == VXT_BOUNDARY_GRID_MIRROR || o->boundary == VXT_BOUNDARY_CLAMP;
    j.nzo = nout[0], j.nyo = nout[1], j.nxo = nout[2];
    /* with the constant boundary the clip may keep the fill value, which needs the output's range: after sampling */
    const int post_clip = clip && o->boundary == VXT_BOUNDARY_CONSTANT;
    j.clip = clip && !post_clip;
    j.clip_axis = clip_axis;
    const size_t c_elems = (size_t)j.bz * (size_t)j.by * (size_t)j.bx;
    const int on_device = ctx->backend == VXT_BACKEND_OPENCL;
    /* the device keeps its own; on the CPU the context's workspace, reused across calls (no fresh pages to touch) */
    size_t c_actual = 0, s_actual = 0;
    j.c = on_device ? NULL : vxt__ws_alloc(ctx, c_elems * sizeof *j.c, &c_actual);
    vxt_status st = VXT_OK;
    if (!idx || !w || !rlo || !rhi || !lo || !hi || (!on_device && !j.c))
        st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu MiB of B-spline coefficients", f,
                       (c_elems * sizeof(float)) >> 20);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    if (st == VXT_OK)
        st = tables(ctx, f, o, nin, nout, idx, w, j.nt);
    vxt__fpenv_leave(&env);
    j.idx = idx;
    j.w = w;
    j.lo = lo;
    j.hi = hi;
    const int filter_axes[3] = {o->interp[0] == VXT_INTERP_CUBIC, o->interp[1] == VXT_INTERP_CUBIC,
                                o->interp[2] == VXT_INTERP_CUBIC};
    const size_t in_ch = (size_t)nin[0] * (size_t)nin[1] * (size_t)nin[2];
    const size_t out_ch = (size_t)nout[0] * (size_t)nout[1] * (size_t)nout[2];
    const size_t es = vxt_dtype_size(in->dtype);
    int32_t *ix32 = NULL;
    float *wx4 = NULL;
    cl_mem b_idx = NULL, b_w = NULL, b_lo = NULL, b_hi = NULL;
    vxt__pp_buf t_idx = {0}, t_w = {0}, t_lo = {0}, t_hi = {0};
    if (st == VXT_OK && on_device) {
        st = vxt__pp_buf_in(ctx, idx, ntab * sizeof *idx, "resample: tables", &t_idx);
        if (st == VXT_OK)
            st = vxt__pp_buf_in(ctx, w, ntab * sizeof *w, "resample: tables", &t_w);
        /* the clip ranges change per channel: device buffers written before each channel's sampling */
        if (st == VXT_OK)
            st = vxt__pp_buf_scratch(ctx, (size_t)nclip * sizeof *lo, "resample: clip ranges", &t_lo);
        if (st == VXT_OK)
            st = vxt__pp_buf_scratch(ctx, (size_t)nclip * sizeof *hi, "resample: clip ranges", &t_hi);
        b_idx = t_idx.mem, b_w = t_w.mem, b_lo = t_lo.mem, b_hi = t_hi.mem;
    } else if (st == VXT_OK) {
        const int64_t n = nout[2];
        ix32 = malloc(4 * (size_t)n * sizeof *ix32);
        wx4 = malloc(4 * (size_t)n * sizeof *wx4);
        j.per_slot = vxt__bs_sample_scratch(&j);
        j.scratch = vxt__ws_alloc(ctx, (size_t)vxt__pool_threads(ctx->pool) * j.per_slot * sizeof(float), &s_actual);
        if (!ix32 || !wx4 || !j.scratch) {
            st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for the sampling scratch", f);
        } else {
            const size_t xoff = 4 * (size_t)(nout[0] + nout[1]);
            for (int64_t x = 0; x < n; x++)
                for (int t = 0; t < 4; t++) {
                    ix32[(size_t)t * (size_t)n + (size_t)x] = (int32_t)idx[xoff + 4 * (size_t)x + (size_t)t];
                    wx4[(size_t)t * (size_t)n + (size_t)x] = w[xoff + 4 * (size_t)x + (size_t)t];
                }
            j.ix32 = ix32;
            j.wx4 = wx4;
        }
    }
    for (int64_t ch = 0; ch < in->channels && st == VXT_OK; ch++) {
        j.in = (const unsigned char *)in->data + (size_t)ch * in_ch * es;
        j.out = (float *)out->data + (size_t)ch * out_ch;
        if (clip) {
            st = input_ranges(ctx, range_of, (size_t)ch * in_ch, clip_axis, rlo, rhi);
            if (st != VXT_OK)
                break;
            /* per output index along the clip axis: the range of the input slice it copies (its one tap) */
            const size_t aoff = clip_axis <= 0 ? 0 : 4 * (size_t)(clip_axis == 1 ? nout[0] : nout[0] + nout[1]);
            for (int64_t t = 0; t < nclip; t++) {
                const int64_t r = clip_axis < 0 ? 0 : idx[aoff + 4 * (size_t)t];
                lo[t] = rlo[r];
                hi[t] = rhi[r];
            }
        }
        if (on_device) {
            if (j.clip) {
                st = vxt__cl_write(ctx, b_lo, 0, (size_t)nclip * sizeof *lo, lo, "resample: clip ranges");
                if (st == VXT_OK)
                    st = vxt__cl_write(ctx, b_hi, 0, (size_t)nclip * sizeof *hi, hi, "resample: clip ranges");
            }
            if (st == VXT_OK)
                st = cl_channel(ctx, &j, filter_axes, b_idx, b_w, b_lo, b_hi);
        } else {
            cpu_channel(ctx, &j, filter_axes);
        }
        if (st == VXT_OK && post_clip)
            st = clip_keeping_fill(ctx, j.out, nout, clip_axis, nclip, lo, hi, j.fill);
    }
    vxt__pp_buf_release(&t_idx);
    vxt__pp_buf_release(&t_w);
    vxt__pp_buf_release(&t_lo);
    vxt__pp_buf_release(&t_hi);
    free(ix32);
    free(wx4);
    if (j.scratch)
        vxt__ws_free(ctx, j.scratch, s_actual);
    if (j.c)
        vxt__ws_free(ctx, j.c, c_actual);
    free(idx);
    free(w);
    free(rlo);
    free(rhi);
    free(lo);
    free(hi);
    return st;
}
