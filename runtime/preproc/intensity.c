/* intensity.c - pointwise intensity transforms (rescale, padding replacement, clip, CT window,
 * window/level, zero-centring, nnU-Net CT normalization and the general fused transform): argument checks and
 * the public API, the launch of kernels/intensity/intensity.cl, and the CPU twin's job
 * (kernels/intensity/intensity_cpu.c) on the thread pool. Both run one shared per-voxel function
 * (kernels/intensity/vxt_intensity.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "preproc.h"
#include "intensity_cpu.h"

_Static_assert(VXT_DT_U8 == VXT_DTYPE_U8 && VXT_DT_I8 == VXT_DTYPE_I8 && VXT_DT_U16 == VXT_DTYPE_U16 &&
                   VXT_DT_I16 == VXT_DTYPE_I16 && VXT_DT_I32 == VXT_DTYPE_I32 && VXT_DT_F32 == VXT_DTYPE_F32 &&
                   VXT_DT_F64 == VXT_DTYPE_F64,
               "kernel dtype codes must equal vxt_dtype values");

#define GRAIN ((size_t)1 << 16)

void vxt__ipar_neutral(vxt_ipar *p)
{
    memset(p, 0, sizeof *p);
    p->slope = 1.0f;
    p->inter = -0.0f; /* x + -0 == x for every x, -0 included */
    p->rv = 0.0f;
    p->rw = 0.0f;
    p->lo1 = -INFINITY;
    p->hi1 = INFINITY;
    p->sub = 0.0f; /* x - +0 == x */
    p->div = 1.0f;
    p->lo2 = -INFINITY;
    p->hi2 = INFINITY;
    p->oscale = 255.0f;
    p->flags = 0;
}

/* ---- OpenCL backend --------------------------------------------------------------------------------------- */

static vxt_status cl_run(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, vxt_volume *out, int sel,
                         const vxt_ipar *p, int out_u8)
{
    char name[64], base[16];
    /* vxt_int_<sel><steps>_<type> or vxt_int8_<type> (kernels/intensity/intensity.cl) */
    snprintf(base, sizeof base, "int_%c%c", "anm"[sel], (p->flags & VXT_IPAR_FULL) ? 'f' : 'b');
    vxt__pp_kernel_name(name, sizeof name, out_u8 ? "int8" : base, in->dtype);
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_INTENSITY, name, &k);
    if (st != VXT_OK)
        return st;
    const size_t ies = vxt_dtype_size(in->dtype), oes = out_u8 ? 1 : 4;
    const size_t spatial = vxt__pp_spatial(in), total = spatial * (size_t)in->channels;
    const int inplace = in->data == out->data;
    size_t chunk = vxt__pp_chunk_limit(ctx) / (ies > oes ? ies : oes);
    if (chunk == 0)
        chunk = 1;
    const int masked = sel == VXT_SEL_MASK;
    const size_t seg_len = masked ? spatial : total, nseg = masked ? (size_t)in->channels : 1;

    vxt__pp_buf dummy = {0}, bin = {0}, bout = {0}, bmask = {0};
    cl_int flags = p->flags;
    cl_int err = CL_SUCCESS;
    err |= VXT_CL_ARG(k, 4, p->slope);
    err |= VXT_CL_ARG(k, 5, p->inter);
    err |= VXT_CL_ARG(k, 6, p->rv);
    err |= VXT_CL_ARG(k, 7, p->rw);
    err |= VXT_CL_ARG(k, 8, p->lo1);
    err |= VXT_CL_ARG(k, 9, p->hi1);
    err |= VXT_CL_ARG(k, 10, p->sub);
    err |= VXT_CL_ARG(k, 11, p->div);
    err |= VXT_CL_ARG(k, 12, p->lo2);
    err |= VXT_CL_ARG(k, 13, p->hi2);
    err |= VXT_CL_ARG(k, 14, p->oscale);
    err |= VXT_CL_ARG(k, 15, flags);
    st = vxt__cl_check(ctx, err, "intensity: clSetKernelArg");
    if (st == VXT_OK && !masked) {
        st = vxt__pp_buf_scratch(ctx, 0, "intensity: dummy mask", &dummy);
        if (st == VXT_OK)
            st = vxt__cl_check(ctx, VXT_CL_ARG(k, 2, dummy.mem), "intensity: clSetKernelArg");
    }
    for (size_t s = 0; s < nseg && st == VXT_OK; s++) {
        for (size_t off = 0; off < seg_len && st == VXT_OK; off += chunk) {
            size_t n = seg_len - off < chunk ? seg_len - off : chunk;
            size_t start = s * seg_len + off;
            unsigned char *ip = (unsigned char *)in->data + start * ies;
            unsigned char *op = (unsigned char *)out->data + start * oes;
            if (inplace) {
                st = vxt__pp_buf_inout(ctx, op, n * oes, "intensity: volume", &bout);
                bin.mem = NULL;
            } else {
                st = vxt__pp_buf_in(ctx, ip, n * ies, "intensity: input", &bin);
                if (st == VXT_OK)
                    st = vxt__pp_buf_out(ctx, op, n * oes, "intensity: output", &bout);
            }
            if (st == VXT_OK && masked) {
                st = vxt__pp_buf_in(ctx, (const unsigned char *)mask->data + off, n, "intensity: mask", &bmask);
                if (st == VXT_OK)
                    st = vxt__cl_check(ctx, VXT_CL_ARG(k, 2, bmask.mem), "intensity: clSetKernelArg");
            }
            if (st == VXT_OK) {
                cl_long nn = (cl_long)n;
                cl_mem src = inplace ? bout.mem : bin.mem;
                err = VXT_CL_ARG(k, 0, src);
                err |= VXT_CL_ARG(k, 1, bout.mem);
                err |= VXT_CL_ARG(k, 3, nn);
                st = vxt__cl_check(ctx, err, "intensity: clSetKernelArg");
            }
            if (st == VXT_OK)
                st = vxt__pp_launch(ctx, k, 1, &n, NULL, name);
            if (st == VXT_OK)
                st = vxt__pp_buf_finish(ctx, &bout, "intensity: output");
            vxt__pp_buf_release(&bin);
            vxt__pp_buf_release(&bout);
            vxt__pp_buf_release(&bmask);
        }
    }
    vxt__pp_buf_release(&dummy);
    clReleaseKernel(k);
    return st;
}

vxt_status vxt__intensity_run(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, vxt_volume *out, int sel,
                              const vxt_ipar *p, int out_u8)
{
    if (ctx->backend == VXT_BACKEND_OPENCL)
        return cl_run(ctx, in, mask, out, sel, p, out_u8);
    ijob j;
    j.dtype = in->dtype;
    j.in = in->data;
    j.out = out->data;
    j.mask = sel == VXT_SEL_MASK ? (const vxt_u8 *)mask->data : NULL;
    j.spatial = vxt__pp_spatial(in);
    j.sel = sel;
    j.out_u8 = out_u8;
    j.p = *p;
    vxt__pool_for(ctx->pool, j.spatial * (size_t)in->channels, GRAIN, vxt__intensity_cpu_task, &j);
    return VXT_OK;
}

/* ---- public API --------------------------------------------------------------------------------------------- */

void vxt_intensity_options_init(vxt_intensity_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->slope = 1.0;
    opts->divide = 1.0;
    opts->select = VXT_SELECT_ALL;
}

/* Validate the common arguments of a pointwise transform: input, output (float32 or uint8 with the input's
 * shape), in-place rule, selection. */
static vxt_status check_pointwise(vxt_context *ctx, const char *func, const vxt_volume *in, const vxt_volume *mask,
                                  const vxt_volume *out, vxt_dtype out_type, vxt_select sel)
{
    size_t in_bytes = 0, out_bytes = 0;
    vxt_status st = vxt__pp_check_ctx(ctx, func);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, func, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, func, "out", out, out_type, in, &out_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_overlap(ctx, func, in, in_bytes, out, out_bytes,
                                   vxt_dtype_size(in->dtype) == vxt_dtype_size(out_type));
    if (st == VXT_OK)
        st = vxt__pp_check_select(ctx, func, sel, mask, in);
    return st;
}

/* A parameter rounded to float32 must stay finite (|d| <= FLT_MAX after rounding). */
static vxt_status param_f32(vxt_context *ctx, const char *func, const char *name, double d, int allow_inf, float *out)
{
    if (isnan(d) || (!allow_inf && isinf(d)))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s is %g (must be %s)", func, name, d,
                         allow_inf ? "a number" : "finite");
    float f = vxt__pp_f32(d);
    if (!allow_inf && isinf(f))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s is %g, beyond the float32 range", func, name, d);
    *out = f;
    return VXT_OK;
}

static vxt_status clip_params(vxt_context *ctx, const char *func, const char *lo_name, const char *hi_name, double lo,
                              double hi, float *flo, float *fhi)
{
    vxt_status st = param_f32(ctx, func, lo_name, lo, 1, flo);
    if (st == VXT_OK)
        st = param_f32(ctx, func, hi_name, hi, 1, fhi);
    if (st == VXT_OK && !(lo <= hi))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s (%g) > %s (%g)", func, lo_name, lo, hi_name, hi);
    return st;
}

static vxt_status divisor_param(vxt_context *ctx, const char *func, const char *name, double d, float *out)
{
    vxt_status st = param_f32(ctx, func, name, d, 0, out);
    if (st == VXT_OK && *out == 0.0f)
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s is %g (zero as float32)", func, name, d);
    return st;
}

static vxt_status intensity_transform_impl(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask,
                                           vxt_volume *out, const vxt_intensity_options *opts)
{
    static const char *const f = "vxt_intensity_transform";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    if (opts == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'opts' is NULL", f);
    st = vxt__check_struct_size(ctx, f, "vxt_intensity_options", opts, opts->struct_size, sizeof(vxt_intensity_options),
                                sizeof(vxt_intensity_options));
    if (st != VXT_OK)
        return st;
    const unsigned known =
        VXT_INTENSITY_RESCALE | VXT_INTENSITY_REPLACE | VXT_INTENSITY_CLIP | VXT_INTENSITY_SHIFT | VXT_INTENSITY_CLIP2;
    if (opts->flags & ~known)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", f, opts->flags & ~known);
    st = check_pointwise(ctx, f, in, mask, out, VXT_DTYPE_F32, opts->select);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    if (opts->flags & (VXT_INTENSITY_RESCALE | VXT_INTENSITY_REPLACE))
        p.flags |= VXT_IPAR_FULL;
    if (opts->flags & VXT_INTENSITY_RESCALE) {
        st = divisor_param(ctx, f, "slope", opts->slope, &p.slope);
        if (st == VXT_OK)
            st = param_f32(ctx, f, "intercept", opts->intercept, 0, &p.inter);
    }
    if (st == VXT_OK && (opts->flags & VXT_INTENSITY_REPLACE)) {
        st = param_f32(ctx, f, "replace_with", opts->replace_with, 1, &p.rw);
        if (isnan(opts->replace_value)) {
            p.flags |= VXT_IPAR_REPLACE_NAN;
        } else {
            float rv = (float)opts->replace_value;
            /* a value that is not exactly a float32 (or a subnormal, read as 0) never matches a read value */
            if ((double)rv == opts->replace_value && vxt_ftz(rv) == rv) {
                p.rv = rv;
                p.flags |= VXT_IPAR_REPLACE;
            }
        }
    }
    if (st == VXT_OK && (opts->flags & VXT_INTENSITY_CLIP))
        st = clip_params(ctx, f, "clip_lo", "clip_hi", opts->clip_lo, opts->clip_hi, &p.lo1, &p.hi1);
    if (st == VXT_OK && (opts->flags & VXT_INTENSITY_SHIFT)) {
        st = param_f32(ctx, f, "subtract", opts->subtract, 0, &p.sub);
        if (st == VXT_OK)
            st = divisor_param(ctx, f, "divide", opts->divide, &p.div);
    }
    if (st == VXT_OK && (opts->flags & VXT_INTENSITY_CLIP2))
        st = clip_params(ctx, f, "clip2_lo", "clip2_hi", opts->clip2_lo, opts->clip2_hi, &p.lo2, &p.hi2);
    if (st != VXT_OK)
        return st;
    return vxt__intensity_run(ctx, in, mask, out, (int)opts->select, &p, 0);
}

/* The named operations: each one is the general transform with some steps. */
static vxt_status run_simple(vxt_context *ctx, const char *func, const vxt_volume *in, vxt_volume *out,
                             const vxt_ipar *p, int out_u8)
{
    vxt_status st = check_pointwise(ctx, func, in, NULL, out, out_u8 ? VXT_DTYPE_U8 : VXT_DTYPE_F32, VXT_SELECT_ALL);
    if (st != VXT_OK)
        return st;
    return vxt__intensity_run(ctx, in, NULL, out, VXT_SEL_ALL, p, out_u8);
}

static vxt_status rescale_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double slope, double intercept)
{
    static const char *const f = "vxt_rescale";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    p.flags |= VXT_IPAR_FULL;
    st = divisor_param(ctx, f, "slope", slope, &p.slope);
    if (st == VXT_OK)
        st = param_f32(ctx, f, "intercept", intercept, 0, &p.inter);
    return st != VXT_OK ? st : run_simple(ctx, f, in, out, &p, 0);
}

static vxt_status replace_value_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double value,
                                     double replacement)
{
    static const char *const f = "vxt_replace_value";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_intensity_options o;
    vxt_intensity_options_init(&o);
    o.flags = VXT_INTENSITY_REPLACE;
    o.replace_value = value;
    o.replace_with = replacement;
    return vxt_intensity_transform(ctx, in, NULL, out, &o);
}

static vxt_status clip_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi)
{
    static const char *const f = "vxt_clip";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    st = clip_params(ctx, f, "lo", "hi", lo, hi, &p.lo1, &p.hi1);
    return st != VXT_OK ? st : run_simple(ctx, f, in, out, &p, 0);
}

static vxt_status window_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi)
{
    static const char *const f = "vxt_window";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    st = param_f32(ctx, f, "lo", lo, 0, &p.sub);
    if (st == VXT_OK)
        st = param_f32(ctx, f, "hi", hi, 0, &p.div);
    if (st == VXT_OK && !(lo < hi))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: lo (%g) must be < hi (%g)", f, lo, hi);
    if (st == VXT_OK)
        st = divisor_param(ctx, f, "hi - lo", hi - lo, &p.div);
    if (st != VXT_OK)
        return st;
    p.lo2 = 0.0f;
    p.hi2 = 1.0f;
    return run_simple(ctx, f, in, out, &p, 0);
}

static vxt_status window_level_u8_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double center,
                                       double width)
{
    static const char *const f = "vxt_window_level_u8";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    if (!isfinite(center))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: center is %g (must be finite)", f, center);
    if (!(width > 0.0) || !isfinite(width))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: width is %g (must be > 0 and finite)", f, width);
    double lo = center - width / 2.0, hi = center + width / 2.0;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    st = clip_params(ctx, f, "center - width/2", "center + width/2", lo, hi, &p.lo1, &p.hi1);
    if (st == VXT_OK)
        st = param_f32(ctx, f, "center - width/2", lo, 0, &p.sub);
    if (st == VXT_OK)
        st = divisor_param(ctx, f, "width", hi - lo, &p.div);
    if (st != VXT_OK)
        return st;
    p.oscale = 255.0f;
    return run_simple(ctx, f, in, out, &p, 1);
}

static vxt_status zero_center_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double mean)
{
    static const char *const f = "vxt_zero_center";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    st = param_f32(ctx, f, "mean", mean, 0, &p.sub);
    return st != VXT_OK ? st : run_simple(ctx, f, in, out, &p, 0);
}

static vxt_status ct_normalize_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi,
                                    double mean, double std)
{
    static const char *const f = "vxt_ct_normalize";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    st = vxt__pp_check_finite(ctx, f, "lo", lo);
    if (st == VXT_OK)
        st = vxt__pp_check_finite(ctx, f, "hi", hi);
    if (st == VXT_OK)
        st = clip_params(ctx, f, "lo", "hi", lo, hi, &p.lo1, &p.hi1);
    if (st == VXT_OK)
        st = param_f32(ctx, f, "mean", mean, 0, &p.sub);
    if (st == VXT_OK && (!(std >= 0.0) || !isfinite(std)))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: std is %g (must be >= 0 and finite)", f, std);
    if (st == VXT_OK)
        st = divisor_param(ctx, f, "max(std, 1e-8)", std > 1e-8 ? std : 1e-8, &p.div);
    return st != VXT_OK ? st : run_simple(ctx, f, in, out, &p, 0);
}

/* Public entry: host-side arithmetic (parameters rounded to float32, tables, statistics) runs in the default
 * floating-point environment whatever the caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_intensity_transform, intensity_transform_impl, (vxt_context *ctx, const vxt_volume *in,
                 const vxt_volume *mask, vxt_volume *out, const vxt_intensity_options *opts),
                 (ctx, in, mask, out, opts))

VXT__FPENV_ENTRY(vxt_rescale, rescale_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double slope,
                 double intercept), (ctx, in, out, slope, intercept))

VXT__FPENV_ENTRY(vxt_replace_value, replace_value_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 double value, double replacement), (ctx, in, out, value, replacement))

VXT__FPENV_ENTRY(vxt_clip, clip_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi),
                 (ctx, in, out, lo, hi))

VXT__FPENV_ENTRY(vxt_window, window_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo,
                 double hi), (ctx, in, out, lo, hi))

VXT__FPENV_ENTRY(vxt_window_level_u8, window_level_u8_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 double center, double width), (ctx, in, out, center, width))

VXT__FPENV_ENTRY(vxt_zero_center, zero_center_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 double mean), (ctx, in, out, mean))

VXT__FPENV_ENTRY(vxt_ct_normalize, ct_normalize_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 double lo, double hi, double mean, double std), (ctx, in, out, lo, hi, mean, std))
