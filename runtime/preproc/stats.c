/* stats.c - count, min, max, mean, std of the selected voxels. 8- and 16-bit data: exact, from a histogram of the
 * values (runtime/preproc/histogram.c). Other types: the fixed-order moments reduction of
 * kernels/stats/vxt_moments.h, run by kernels/stats/stats.cl or by its CPU twin on the thread pool
 * (kernels/stats/stats_cpu.c), block records combined here in block order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "stats_cpu.h"
#include "vxt_histogram.h"
#include "vxt_moments.h"

#define SHIFT_SAMPLES 1024

/* A value near the mean of the selected voxels, from a fixed sample of at most 1024 voxels (the same on every
 * backend: it is computed here, on the host). Integer for integer types, so that integer data keeps exact
 * sums. Subtracting it before squaring keeps the one-pass variance free of cancellation. */
static double choose_shift(const vxt_volume *in, int sel, const vxt_volume *mask)
{
    const size_t n = vxt__pp_spatial(in);
    const size_t samples = n < SHIFT_SAMPLES ? n : SHIFT_SAMPLES;
    const size_t q = n / samples, r = n % samples;
    const unsigned char *m = sel == VXT_SEL_MASK ? (const unsigned char *)mask->data : NULL;
    double sum = 0.0;
    size_t count = 0;
    for (size_t j = 0; j < samples; j++) {
        size_t i = j * q + (j * r) / samples; /* j * n / samples without overflow */
        float v = vxt__pp_load(in, i);
        int s = vxt_selected(sel, v, m ? m[i] : (vxt_u8)0);
        if (s && vxt_isfinite(v)) {
            sum += (double)v;
            count++;
        }
    }
    if (count == 0)
        return 0.0;
    double mean = sum / (double)count;
    if (in->dtype == VXT_DTYPE_F32 || in->dtype == VXT_DTYPE_F64)
        return (double)(float)mean;
    return floor(mean + 0.5);
}

/* ---- OpenCL backend --------------------------------------------------------------------------------------- */

static vxt_status cl_moments(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask, double shift,
                             vxt_mom *rec)
{
    /* vxt_mom_<sel><f|t>_<type> (kernels/stats/stats.cl): full blocks, and the last partial block */
    char name_f[64], name_t[64], base[16];
    snprintf(base, sizeof base, "mom_%cf", "anm"[sel]);
    vxt__pp_kernel_name(name_f, sizeof name_f, base, in->dtype);
    snprintf(base, sizeof base, "mom_%ct", "anm"[sel]);
    vxt__pp_kernel_name(name_t, sizeof name_t, base, in->dtype);
    cl_kernel kf = NULL, kt = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_STATS, name_f, &kf);
    if (st == VXT_OK)
        st = vxt__kernel_create(ctx, VXT__PROG_STATS, name_t, &kt);
    if (st != VXT_OK) {
        if (kf)
            clReleaseKernel(kf);
        return st;
    }
    const size_t es = vxt_dtype_size(in->dtype), n = vxt__pp_spatial(in);
    /* slabs start on block boundaries, so the blocks are the volume's blocks */
    size_t chunk = vxt__pp_chunk_limit(ctx) / es / VXT_MOM_BLOCK * VXT_MOM_BLOCK;
    if (chunk == 0)
        chunk = VXT_MOM_BLOCK;
    const int masked = sel == VXT_SEL_MASK;
    const size_t maxb = (chunk + VXT_MOM_BLOCK - 1) / VXT_MOM_BLOCK;
    double *rs = malloc(2 * sizeof(double) * maxb);
    float *rf = malloc(2 * sizeof(float) * maxb);
    cl_uint *ru = malloc(2 * sizeof(cl_uint) * maxb);
    vxt__pp_buf bin = {0}, bmask = {0}, bs = {0}, bf = {0}, bu = {0};
    if (!rs || !rf || !ru)
        st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_statistics: out of memory for block records");
    cl_double shift_arg = shift;
    for (size_t off = 0; off < n && st == VXT_OK; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        size_t nb = (len + VXT_MOM_BLOCK - 1) / VXT_MOM_BLOCK, nfull = len / VXT_MOM_BLOCK;
        st = vxt__pp_buf_in(ctx, (const unsigned char *)in->data + off * es, len * es, "moments: input", &bin);
        if (st == VXT_OK)
            st = masked ? vxt__pp_buf_in(ctx, (const unsigned char *)mask->data + off, len, "moments: mask", &bmask)
                        : vxt__pp_buf_scratch(ctx, 0, "moments: dummy mask", &bmask);
        if (st == VXT_OK)
            st = vxt__pp_buf_scratch(ctx, nb * 2 * sizeof(double), "moments: records", &bs);
        if (st == VXT_OK)
            st = vxt__pp_buf_scratch(ctx, nb * 2 * sizeof(float), "moments: records", &bf);
        if (st == VXT_OK)
            st = vxt__pp_buf_scratch(ctx, nb * 2 * sizeof(cl_uint), "moments: records", &bu);
        for (int pass = 0; pass < 2 && st == VXT_OK; pass++) {
            cl_kernel k = pass == 0 ? kf : kt;
            size_t groups = pass == 0 ? nfull : nb - nfull;
            cl_long nn = (cl_long)len, rec0 = pass == 0 ? 0 : (cl_long)nfull;
            cl_int err = VXT_CL_ARG(k, 0, bin.mem);
            err |= VXT_CL_ARG(k, 1, bmask.mem);
            err |= VXT_CL_ARG(k, 2, nn);
            err |= VXT_CL_ARG(k, 3, shift_arg);
            err |= VXT_CL_ARG(k, 4, bs.mem);
            err |= VXT_CL_ARG(k, 5, bf.mem);
            err |= VXT_CL_ARG(k, 6, bu.mem);
            err |= VXT_CL_ARG(k, 7, rec0);
            st = vxt__cl_check(ctx, err, "moments: clSetKernelArg");
            if (st == VXT_OK && groups > 0) {
                size_t items = groups * VXT_MOM_LANES;
                size_t lanes = VXT_MOM_LANES; /* the kernel requires work-groups of exactly this size */
                st = vxt__pp_launch(ctx, k, 1, &items, &lanes, pass == 0 ? name_f : name_t);
            }
        }
        if (st == VXT_OK)
            st = vxt__cl_read(ctx, bs.mem, 0, nb * 2 * sizeof(double), rs, "moments: read records");
        if (st == VXT_OK)
            st = vxt__cl_read(ctx, bf.mem, 0, nb * 2 * sizeof(float), rf, "moments: read records");
        if (st == VXT_OK)
            st = vxt__cl_read(ctx, bu.mem, 0, nb * 2 * sizeof(cl_uint), ru, "moments: read records");
        if (st == VXT_OK) {
            vxt_mom *r = rec + off / VXT_MOM_BLOCK;
            for (size_t b = 0; b < nb; b++) {
                r[b].s1 = rs[2 * b];
                r[b].s2 = rs[2 * b + 1];
                r[b].mn = rf[2 * b];
                r[b].mx = rf[2 * b + 1];
                r[b].n = ru[2 * b];
                r[b].nan = ru[2 * b + 1];
            }
        }
        vxt__pp_buf_release(&bin);
        vxt__pp_buf_release(&bmask);
        vxt__pp_buf_release(&bs);
        vxt__pp_buf_release(&bf);
        vxt__pp_buf_release(&bu);
    }
    free(rs);
    free(rf);
    free(ru);
    clReleaseKernel(kf);
    clReleaseKernel(kt);
    return st;
}

/* Float and int32 data: the moments reduction, block records combined here in block order. */
static vxt_status moments_stats(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask, vxt_stats *s)
{
    const size_t n = vxt__pp_spatial(in);
    const size_t nblocks = (n + VXT_MOM_BLOCK - 1) / VXT_MOM_BLOCK;
    vxt_mom *rec = malloc(nblocks * sizeof *rec);
    if (!rec)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "statistics: out of memory for %zu block records", nblocks);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    const double shift = choose_shift(in, sel, mask);
    vxt_status st = VXT_OK;
    /* a device without fp64 cannot build the stats program; the host pool runs the same code instead */
    if (ctx->backend == VXT_BACKEND_OPENCL && vxt__pp_device_has_fp64(ctx) && !(ctx->pp_variant & VXT__PP_NO_FP64)) {
        st = cl_moments(ctx, in, sel, mask, shift, rec);
    } else {
        mjob j = {in->dtype, in->data, sel == VXT_SEL_MASK ? (const vxt_u8 *)mask->data : NULL, n, sel, shift, rec};
        vxt__pool_for(ctx->pool, nblocks, 1, vxt__stats_cpu_task, &j);
    }
    if (st == VXT_OK) {
        double s1 = 0.0, s2 = 0.0;
        float mn = vxt_u2f(0x7f800000u), mx = vxt_u2f(0xff800000u);
        uint64_t cnt = 0, nan = 0;
        for (size_t b = 0; b < nblocks; b++) {
            s1 += rec[b].s1;
            s2 += rec[b].s2;
            mn = rec[b].mn < mn ? rec[b].mn : mn;
            mx = rec[b].mx > mx ? rec[b].mx : mx;
            cnt += rec[b].n;
            nan += rec[b].nan;
        }
        s->count = cnt;
        s->nan_count = nan;
        if (cnt == 0) {
            s->min = s->max = s->mean = s->std = NAN;
            s->sum = 0.0;
        } else {
            const double dn = (double)cnt, d = s1 / dn, var = s2 / dn - d * d;
            s->min = (double)mn;
            s->max = (double)mx;
            s->mean = shift + d;
            s->std = sqrt(var > 0.0 ? var : 0.0);
            s->sum = shift * dn + s1;
        }
    }
    vxt__fpenv_leave(&env);
    free(rec);
    return st;
}

/* 8- and 16-bit data: a histogram of the values (exact integer counts, the same on every backend), then exact
 * integer sums: S1 = sum of v, S2 = sum of v^2, variance = (n*S2 - S1^2) / n^2 with the numerator exact in 128-bit
 * integers and rounded once. */
__extension__ typedef __int128 i128;

static vxt_status histogram_stats(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask, vxt_stats *s)
{
    const int eight = in->dtype == VXT_DTYPE_U8 || in->dtype == VXT_DTYPE_I8;
    const size_t nb = eight ? 256 : 65536;
    const int64_t offset = (in->dtype == VXT_DTYPE_I8) ? -128 : (in->dtype == VXT_DTYPE_I16 ? -32768 : 0);
    uint64_t *h = malloc(nb * sizeof *h);
    if (!h)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "statistics: out of memory");
    vxt_hpar p;
    memset(&p, 0, sizeof p);
    p.sel = sel;
    p.mode = VXT_HIST_KEYS;
    vxt_status st = vxt__hist_run(ctx, in, mask, &p, NULL, NULL, nb, h);
    if (st != VXT_OK) {
        free(h);
        return st;
    }
    i128 s1 = 0, s2 = 0;
    uint64_t n = 0;
    int64_t lo = -1, hi = -1;
    for (size_t b = 0; b < nb; b++) {
        if (!h[b])
            continue;
        const int64_t v = (int64_t)b + offset;
        s1 += (i128)h[b] * v;
        s2 += (i128)h[b] * v * v;
        n += h[b];
        lo = lo < 0 ? (int64_t)b : lo;
        hi = (int64_t)b;
    }
    free(h);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    s->count = n;
    s->nan_count = 0;
    if (n == 0) {
        s->min = s->max = s->mean = s->std = NAN;
        s->sum = 0.0;
    } else {
        const double dn = (double)n;
        const i128 num = (i128)n * s2 - s1 * s1; /* >= 0, exact */
        s->min = (double)(lo + offset);
        s->max = (double)(hi + offset);
        s->sum = (double)s1;
        s->mean = (double)s1 / dn;
        s->std = sqrt((double)num / (dn * dn));
    }
    vxt__fpenv_leave(&env);
    return VXT_OK;
}

vxt_status vxt__stats_run(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask, vxt_stats *s)
{
    switch (in->dtype) {
    case VXT_DTYPE_U8:
    case VXT_DTYPE_I8:
    case VXT_DTYPE_U16:
    case VXT_DTYPE_I16:
        return histogram_stats(ctx, in, sel, mask, s);
    default:
        return moments_stats(ctx, in, sel, mask, s);
    }
}

vxt_status vxt_statistics(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                          vxt_stats *out)
{
    static const char *const f = "vxt_statistics";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st == VXT_OK && out == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'out' is NULL", f);
    if (st == VXT_OK)
        st = vxt__check_out_struct(ctx, f, "vxt_stats", out->struct_size, sizeof(vxt_stats));
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, f, "in", in, NULL);
    if (st == VXT_OK)
        st = vxt__pp_check_single_channel(ctx, f, in);
    if (st == VXT_OK)
        st = vxt__pp_check_select(ctx, f, select, mask, in);
    if (st != VXT_OK)
        return st;
    vxt_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    st = vxt__stats_run(ctx, in, (int)select, mask, &s);
    if (st != VXT_OK)
        return st;
    vxt__copy_out_struct(out, &s, out->struct_size, sizeof s);
    return VXT_OK;
}
