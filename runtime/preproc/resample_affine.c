/* resample_affine.c - general affine resampling: output voxel index -> input voxel index through a 4x4 matrix
 * (flips, permutations, rotations, zoom, shift in one pass), trilinear or nearest by hand
 * (kernels/resample/vxt_resample.h), on the device (kernels/resample/resample_affine.cl) or by its CPU twin on the
 * thread pool (kernels/resample/resample_affine_cpu.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "resample_affine_cpu.h"
#include "vxt_resample.h"

/* ---- OpenCL backend --------------------------------------------------------------------------------------- */

/* Source planes that output planes [zo0, zo0 + n) can touch: the z coordinate is affine in (z, y, x), so its
 * extremes over the slab are at the 8 corners; 2 planes of margin cover the float32 rounding. */
static void z_range(const ajob *j, const double *M, int64_t zo0, int64_t n, int64_t *lo, int64_t *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int k = 0; k < 8; k++) {
        double z = (double)(k & 1 ? zo0 + n - 1 : zo0), y = (double)(k & 2 ? j->nyo - 1 : 0),
               x = (double)(k & 4 ? j->nxo - 1 : 0);
        double c = M[0] * z + M[1] * y + M[2] * x + M[3];
        mn = c < mn ? c : mn;
        mx = c > mx ? c : mx;
    }
    double lim = (double)j->nz + 4.0;
    mn = mn < -4.0 ? -4.0 : (mn > lim ? lim : mn);
    mx = mx < -4.0 ? -4.0 : (mx > lim ? lim : mx);
    int64_t a = (int64_t)floor(mn) - 2, b = (int64_t)ceil(mx) + 2;
    a = a < 0 ? 0 : (a > j->nz - 1 ? j->nz - 1 : a);
    b = b < 0 ? 0 : (b > j->nz - 1 ? j->nz - 1 : b);
    *lo = a;
    *hi = b < a ? a : b;
}

static vxt_status cl_slab(vxt_context *ctx, cl_kernel k, const char *name, const ajob *j, cl_mem mbuf, int64_t c0,
                          int64_t nch, int64_t zo0, int64_t nzo, int64_t zi0, int64_t nzi, int whole)
{
    const size_t oes = j->raw ? j->es : sizeof(float);
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx, out_plane = (size_t)j->nyo * (size_t)j->nxo;
    const size_t in_ch = (size_t)j->nz * in_plane, out_ch = (size_t)j->nzo * out_plane;
    const unsigned char *ip = j->in + ((size_t)c0 * in_ch + (size_t)zi0 * in_plane) * j->es;
    unsigned char *op = j->out + ((size_t)c0 * out_ch + (size_t)zo0 * out_plane) * oes;
    size_t in_bytes = whole ? (size_t)nch * in_ch * j->es : (size_t)nzi * in_plane * j->es;
    size_t out_bytes = whole ? (size_t)nch * out_ch * oes : (size_t)nzo * out_plane * oes;
    vxt__pp_buf bin = {0}, bout = {0};
    vxt_status st = vxt__pp_buf_in(ctx, ip, in_bytes, "affine: input", &bin);
    if (st == VXT_OK)
        st = vxt__pp_buf_out(ctx, op, out_bytes, "affine: output", &bout);
    if (st == VXT_OK) {
        cl_long nz = j->nz, ny = j->ny, nx = j->nx, zoff = zi0, zcount = nzi, in_cs = (cl_long)in_ch, nzo_job = nzo,
                nchl = nch, zo0l = zo0, nyo = j->nyo, nxo = j->nxo, out_cs = (cl_long)((size_t)nzo * out_plane);
        cl_int clamp = j->clamp, err = VXT_CL_ARG(k, 0, bin.mem);
        err |= VXT_CL_ARG(k, 1, bout.mem);
        err |= VXT_CL_ARG(k, 2, nz);
        err |= VXT_CL_ARG(k, 3, ny);
        err |= VXT_CL_ARG(k, 4, nx);
        err |= VXT_CL_ARG(k, 5, zoff);
        err |= VXT_CL_ARG(k, 6, zcount);
        err |= VXT_CL_ARG(k, 7, in_cs);
        err |= VXT_CL_ARG(k, 8, nzo_job);
        err |= VXT_CL_ARG(k, 9, nchl);
        err |= VXT_CL_ARG(k, 10, zo0l);
        err |= VXT_CL_ARG(k, 11, nyo);
        err |= VXT_CL_ARG(k, 12, nxo);
        err |= VXT_CL_ARG(k, 13, out_cs);
        err |= VXT_CL_ARG(k, 14, mbuf);
        if (j->raw) {
            cl_ulong fill = j->fill_raw;
            err |= VXT_CL_ARG(k, 15, clamp);
            err |= VXT_CL_ARG(k, 16, fill);
        } else {
            cl_int linear = j->linear;
            cl_float fill = j->fill;
            err |= VXT_CL_ARG(k, 15, linear);
            err |= VXT_CL_ARG(k, 16, clamp);
            err |= VXT_CL_ARG(k, 17, fill);
        }
        st = vxt__cl_check(ctx, err, "affine: clSetKernelArg");
    }
    if (st == VXT_OK) {
        size_t items[3] = {(size_t)j->nxo, (size_t)j->nyo, (size_t)nzo * (size_t)nch};
        st = vxt__pp_launch(ctx, k, 3, items, NULL, name);
    }
    if (st == VXT_OK)
        st = vxt__pp_buf_finish(ctx, &bout, "affine: output");
    vxt__pp_buf_release(&bin);
    vxt__pp_buf_release(&bout);
    return st;
}

typedef struct zr_user {
    const ajob *j;
    const double *M;
} zr_user;

static void z_range_cb(const void *user, int64_t zo0, int64_t n, int64_t *lo, int64_t *hi)
{
    const zr_user *u = (const zr_user *)user;
    z_range(u->j, u->M, zo0, n, lo, hi);
}

static vxt_status cl_affine(vxt_context *ctx, const ajob *j, const double *M, int64_t channels)
{
    char name[64];
    const size_t oes = j->raw ? j->es : sizeof(float);
    if (j->raw)
        snprintf(name, sizeof name, "vxt_affine_raw%zu", j->es);
    else
        vxt__pp_kernel_name(name, sizeof name, "affine", j->dtype);
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, name, &k);
    if (st != VXT_OK)
        return st;
    vxt__pp_buf bm = {0};
    st = vxt__pp_buf_in(ctx, j->m, sizeof j->m, "affine: matrix", &bm);
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx * j->es, out_plane = (size_t)j->nyo * (size_t)j->nxo * oes;
    const size_t in_total = in_plane * (size_t)j->nz * (size_t)channels;
    const size_t out_total = out_plane * (size_t)j->nzo * (size_t)channels;
    if (st == VXT_OK && in_total <= limit && out_total <= limit) {
        st = cl_slab(ctx, k, name, j, bm.mem, 0, channels, 0, j->nzo, 0, j->nz, 1);
    } else {
        for (int64_t c = 0; c < channels && st == VXT_OK; c++) {
            int64_t zo = 0;
            while (zo < j->nzo && st == VXT_OK) {
                int64_t n = 0, lo = 0, hi = 0;
                const zr_user zu = {j, M};
                st = vxt__pp_next_slab(ctx, "vxt_resample_affine", limit, in_plane, out_plane, zo, j->nzo, z_range_cb,
                                       &zu, &n, &lo, &hi);
                if (st != VXT_OK)
                    break;
                st = cl_slab(ctx, k, name, j, bm.mem, c, 1, zo, n, lo, hi - lo + 1, 0);
                zo += n;
            }
        }
    }
    vxt__pp_buf_release(&bm);
    clReleaseKernel(k);
    return st;
}

/* ---- public API ------------------------------------------------------------------------------------------- */

void vxt_affine_options_init(vxt_affine_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->interp = VXT_INTERP_LINEAR;
    opts->boundary = VXT_BOUNDARY_CONSTANT;
}

static vxt_status resample_affine_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, const double matrix[16],
                                       const vxt_affine_options *opts)
{
    static const char *const f = "vxt_resample_affine";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    vxt_affine_options o;
    if (opts) {
        st = vxt__check_struct_size(ctx, f, "vxt_affine_options", opts, opts->struct_size, sizeof(vxt_affine_options),
                                    sizeof(vxt_affine_options));
        if (st != VXT_OK)
            return st;
        memcpy(&o, opts, sizeof o);
    } else {
        vxt_affine_options_init(&o);
    }
    if (o.interp != VXT_INTERP_LINEAR && o.interp != VXT_INTERP_NEAREST)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: opts.interp is %d (VXT_INTERP_LINEAR or VXT_INTERP_NEAREST)", f, (int)o.interp);
    if (o.boundary != VXT_BOUNDARY_CLAMP && o.boundary != VXT_BOUNDARY_CONSTANT)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.boundary is %d, not a vxt_boundary", f,
                         (int)o.boundary);
    if (!isfinite(o.fill_value))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.fill_value is %g (must be finite)", f, o.fill_value);
    if (matrix == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'matrix' is NULL", f);
    for (int i = 0; i < 16; i++)
        if (!isfinite(matrix[i]) || (i < 12 && !isfinite((float)matrix[i])))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: matrix[%d] is %g (must be finite in float32)", f, i,
                             matrix[i]);
    if (matrix[12] != 0.0 || matrix[13] != 0.0 || matrix[14] != 0.0 || matrix[15] != 1.0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: the last row of the matrix is (%g, %g, %g, %g), not (0, 0, 0, 1)", f, matrix[12],
                         matrix[13], matrix[14], matrix[15]);
    const double *M = matrix;
    double det =
        M[0] * (M[5] * M[10] - M[6] * M[9]) - M[1] * (M[4] * M[10] - M[6] * M[8]) + M[2] * (M[4] * M[9] - M[5] * M[8]);
    double bound = 1.0;
    for (int r = 0; r < 3; r++)
        bound *= sqrt(M[4 * r] * M[4 * r] + M[4 * r + 1] * M[4 * r + 1] + M[4 * r + 2] * M[4 * r + 2]);
    if (!(fabs(det) > 1e-12 * bound))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: the matrix is singular (det %g of its 3x3 part)", f, det);
    size_t in_bytes = 0, out_bytes = 0;
    st = vxt__pp_check_input(ctx, f, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, f, "out", out, VXT_DTYPE_INVALID, NULL, &out_bytes);
    if (st != VXT_OK)
        return st;
    if (out->channels != in->channels)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: out has %lld channels, in %lld", f, (long long)out->channels,
                         (long long)in->channels);
    const int raw = out->dtype == in->dtype && in->dtype != VXT_DTYPE_F32;
    if (out->dtype != VXT_DTYPE_F32 && !(o.interp == VXT_INTERP_NEAREST && out->dtype == in->dtype))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: out.dtype is %s; it must be float32, or the input's type (%s) with nearest interpolation",
                         f, vxt_dtype_name(out->dtype), vxt_dtype_name(in->dtype));
    st = vxt__pp_check_overlap(ctx, f, in, in_bytes, out, out_bytes, 0);
    if (st != VXT_OK)
        return st;
    ajob j;
    memset(&j, 0, sizeof j);
    if (raw && !vxt__pp_raw_fill(in->dtype, o.fill_value, &j.fill_raw))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.fill_value %g is not a %s value", f, o.fill_value,
                         vxt_dtype_name(in->dtype));
    j.dtype = in->dtype;
    j.in = (const unsigned char *)in->data;
    j.out = (unsigned char *)out->data;
    j.raw = raw;
    j.es = vxt_dtype_size(in->dtype);
    j.nz = in->shape[0];
    j.ny = in->shape[1];
    j.nx = in->shape[2];
    j.nzo = out->shape[0];
    j.nyo = out->shape[1];
    j.nxo = out->shape[2];
    for (int i = 0; i < 12; i++)
        j.m[i] = vxt__pp_f32(matrix[i]);
    j.linear = o.interp == VXT_INTERP_LINEAR;
    j.clamp = o.boundary == VXT_BOUNDARY_CLAMP;
    j.fill = vxt__pp_f32(o.fill_value);
    if (ctx->backend == VXT_BACKEND_OPENCL)
        return cl_affine(ctx, &j, matrix, in->channels);
    vxt__pool_for(ctx->pool, (size_t)in->channels * (size_t)j.nzo, 1, vxt__affine_cpu_task, &j);
    return VXT_OK;
}

/* Public entry: host-side arithmetic (parameters rounded to float32, tables, statistics) runs in the default
 * floating-point environment whatever the caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_resample_affine, resample_affine_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 const double matrix[16], const vxt_affine_options *opts), (ctx, in, out, matrix, opts))
