/* patches.c - box extraction and tri-planar (2.5D) patches with constant padding: argument checks and the public
 * API, on the device (kernels/patches/patches.cl) or by its CPU twin on the thread pool
 * (kernels/patches/patches_cpu.c). Values are read through the shared conversions (float32 output) or copied
 * (output of the input's type). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "patches_cpu.h"

#define COORD_LIMIT ((int64_t)1 << 40) /* positions and box starts: |v| <= 2^40 keeps index sums in range */

/* ---- OpenCL backend --------------------------------------------------------------------------------------- */

static vxt_status set_common(vxt_context *ctx, cl_kernel k, const pjob *j, cl_mem in, cl_mem out, int64_t zoff,
                             int64_t zcount, int64_t in_cs)
{
    cl_long nz = j->nz, ny = j->ny, nx = j->nx, zo = zoff, zc = zcount, cs = in_cs;
    cl_int err = VXT_CL_ARG(k, 0, in);
    err |= VXT_CL_ARG(k, 1, out);
    err |= VXT_CL_ARG(k, 2, nz);
    err |= VXT_CL_ARG(k, 3, ny);
    err |= VXT_CL_ARG(k, 4, nx);
    err |= VXT_CL_ARG(k, 5, zo);
    err |= VXT_CL_ARG(k, 6, zc);
    err |= VXT_CL_ARG(k, 7, cs);
    return vxt__cl_check(ctx, err, "patches: clSetKernelArg");
}

/* A box slab: channels [c0, c0 + nch) (whole input volumes when nch > 1), output planes [bz0, bz0 + nbz). */
static vxt_status cl_box_slab(vxt_context *ctx, cl_kernel k, const char *name, const pjob *j, int64_t c0, int64_t nch,
                              int64_t bz0, int64_t nbz)
{
    const size_t oes = j->raw ? j->es : sizeof(float);
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx, out_plane = (size_t)j->by * (size_t)j->bx;
    int64_t zlo = j->z0 + bz0, zhi = j->z0 + bz0 + nbz - 1;
    zlo = zlo < 0 ? 0 : (zlo > j->nz - 1 ? j->nz - 1 : zlo);
    zhi = zhi < 0 ? 0 : (zhi > j->nz - 1 ? j->nz - 1 : zhi);
    zhi = zhi < zlo ? zlo : zhi;
    const int whole = nch > 1;
    const int64_t zoff = whole ? 0 : zlo, zcount = whole ? j->nz : zhi - zlo + 1;
    const unsigned char *ip = j->in + ((size_t)c0 * (size_t)j->nz + (size_t)zoff) * in_plane * j->es;
    unsigned char *op = j->out + ((size_t)c0 * (size_t)j->bz + (size_t)bz0) * out_plane * oes;
    vxt__pp_buf bin = {0}, bout = {0};
    vxt_status st = vxt__pp_buf_in(ctx, ip, (size_t)nch * (size_t)zcount * in_plane * j->es, "box: input", &bin);
    if (st == VXT_OK)
        st = vxt__pp_buf_out(ctx, op, (size_t)nch * (size_t)nbz * out_plane * oes, "box: output", &bout);
    if (st == VXT_OK)
        st = set_common(ctx, k, j, bin.mem, bout.mem, zoff, zcount, (cl_long)((size_t)j->nz * in_plane));
    if (st == VXT_OK) {
        cl_long z0 = j->z0 + bz0, y0 = j->y0, x0 = j->x0, bz = nbz, by = j->by, bx = j->bx, nc = nch;
        cl_int err = VXT_CL_ARG(k, 8, z0);
        err |= VXT_CL_ARG(k, 9, y0);
        err |= VXT_CL_ARG(k, 10, x0);
        err |= VXT_CL_ARG(k, 11, bz);
        err |= VXT_CL_ARG(k, 12, by);
        err |= VXT_CL_ARG(k, 13, bx);
        err |= VXT_CL_ARG(k, 14, nc);
        if (j->raw) {
            cl_ulong fill = j->fill_raw;
            err |= VXT_CL_ARG(k, 15, fill);
        } else {
            cl_float fill = j->fill;
            err |= VXT_CL_ARG(k, 15, fill);
        }
        st = vxt__cl_check(ctx, err, "box: clSetKernelArg");
    }
    if (st == VXT_OK) {
        size_t items[3] = {(size_t)j->bx, (size_t)j->by, (size_t)nbz * (size_t)nch};
        st = vxt__pp_launch(ctx, k, 3, items, NULL, name);
    }
    if (st == VXT_OK)
        st = vxt__pp_buf_finish(ctx, &bout, "box: output");
    vxt__pp_buf_release(&bin);
    vxt__pp_buf_release(&bout);
    return st;
}

static vxt_status cl_box(vxt_context *ctx, const pjob *j)
{
    char name[64];
    const size_t oes = j->raw ? j->es : sizeof(float);
    if (j->raw)
        snprintf(name, sizeof name, "vxt_box_raw%zu", j->es);
    else
        vxt__pp_kernel_name(name, sizeof name, "box", j->dtype);
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_PATCHES, name, &k);
    if (st != VXT_OK)
        return st;
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx * j->es, out_plane = (size_t)j->by * (size_t)j->bx * oes;
    if (in_plane * (size_t)j->nz * (size_t)j->channels <= limit &&
        out_plane * (size_t)j->bz * (size_t)j->channels <= limit) {
        st = cl_box_slab(ctx, k, name, j, 0, j->channels, 0, j->bz);
    } else if (in_plane > limit || out_plane > limit) {
        st = vxt__fail(ctx, VXT_ERR_UNSUPPORTED,
                       "vxt_extract_box: one plane (%zu input bytes, %zu output bytes) exceeds the device's largest "
                       "buffer (%zu bytes)",
                       in_plane, out_plane, limit);
    } else {
        int64_t n = (int64_t)(limit / (in_plane > out_plane ? in_plane : out_plane));
        for (int64_t c = 0; c < j->channels && st == VXT_OK; c++)
            for (int64_t z = 0; z < j->bz && st == VXT_OK; z += n)
                st = cl_box_slab(ctx, k, name, j, c, 1, z, n < j->bz - z ? n : j->bz - z);
    }
    clReleaseKernel(k);
    return st;
}

/* Positions [p0, p0 + np) with the input planes [zlo, zhi] of every channel (whole volumes when whole). */
static vxt_status cl_tri_group(vxt_context *ctx, cl_kernel k, const char *name, const pjob *j, int64_t p0, int64_t np,
                               int64_t zlo, int64_t zhi, int whole)
{
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx;
    const int64_t rows = 2 * j->h0 + 1, cols = 2 * j->h1 + 1;
    const size_t per_pos = 3 * (size_t)j->channels * (size_t)rows * (size_t)cols;
    vxt_status st = VXT_OK;
    /* not whole: one channel at a time (the channels' slabs are not contiguous) */
    const int64_t cgroups = whole ? 1 : j->channels;
    for (int64_t cg = 0; cg < cgroups && st == VXT_OK; cg++) {
        const int64_t zoff = whole ? 0 : zlo, zcount = whole ? j->nz : zhi - zlo + 1;
        const unsigned char *ip = j->in + ((size_t)cg * (size_t)j->nz + (size_t)zoff) * in_plane * j->es;
        const size_t in_bytes = (whole ? (size_t)j->channels : 1) * (size_t)zcount * in_plane * j->es;
        vxt__pp_buf bin = {0}, bout = {0};
        float *tmp = NULL;
        st = vxt__pp_buf_in(ctx, ip, in_bytes, "triplanar: input", &bin);
        if (st == VXT_OK) {
            if (whole) {
                st = vxt__pp_buf_out(ctx, (float *)(void *)j->out + (size_t)p0 * per_pos,
                                     (size_t)np * per_pos * sizeof(float), "triplanar: output", &bout);
            } else {
                tmp = malloc((size_t)np * 3 * (size_t)rows * (size_t)cols * sizeof(float));
                st = tmp ? vxt__pp_buf_out(ctx, tmp, (size_t)np * 3 * (size_t)rows * (size_t)cols * sizeof(float),
                                           "triplanar: output", &bout)
                         : vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_extract_triplanar: out of memory");
            }
        }
        if (st == VXT_OK)
            st = set_common(ctx, k, j, bin.mem, bout.mem, zoff, zcount, (cl_long)((size_t)j->nz * in_plane));
        if (st == VXT_OK) {
            cl_long nch = whole ? j->channels : 1, npos = np, h0 = j->h0, h1 = j->h1;
            cl_float fill = j->fill;
            vxt__pp_buf bc = {0}; /* the centres of this group */
            st = vxt__pp_buf_in(ctx, j->centers + 3 * p0, (size_t)np * 3 * sizeof(int64_t), "triplanar: centres", &bc);
            if (st == VXT_OK) {
                cl_int err = VXT_CL_ARG(k, 8, nch);
                err |= VXT_CL_ARG(k, 9, bc.mem);
                err |= VXT_CL_ARG(k, 10, npos);
                err |= VXT_CL_ARG(k, 11, h0);
                err |= VXT_CL_ARG(k, 12, h1);
                err |= VXT_CL_ARG(k, 13, fill);
                st = vxt__cl_check(ctx, err, "triplanar: clSetKernelArg");
            }
            if (st == VXT_OK) {
                size_t items[3] = {(size_t)cols, (size_t)rows, (size_t)np * 3 * (size_t)nch};
                st = vxt__pp_launch(ctx, k, 3, items, NULL, name);
            }
            if (st == VXT_OK)
                st = vxt__pp_buf_finish(ctx, &bout, "triplanar: output");
            vxt__pp_buf_release(&bc);
        }
        if (st == VXT_OK && tmp) { /* scatter channel cg into the interleaved output */
            const size_t patch = (size_t)rows * (size_t)cols;
            for (int64_t i = 0; i < np; i++)
                for (int64_t pl = 0; pl < 3; pl++)
                    memcpy((float *)(void *)j->out + (size_t)(p0 + i) * per_pos +
                               ((size_t)pl * (size_t)j->channels + (size_t)cg) * patch,
                           tmp + ((size_t)i * 3 + (size_t)pl) * patch, patch * sizeof(float));
        }
        free(tmp);
        vxt__pp_buf_release(&bin);
        vxt__pp_buf_release(&bout);
    }
    return st;
}

static vxt_status cl_triplanar(vxt_context *ctx, const pjob *j, size_t n)
{
    char name[64];
    vxt__pp_kernel_name(name, sizeof name, "triplanar", j->dtype);
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_PATCHES, name, &k);
    if (st != VXT_OK)
        return st;
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_plane = (size_t)j->ny * (size_t)j->nx * j->es;
    const size_t per_pos = 3 * (size_t)j->channels * (size_t)(2 * j->h0 + 1) * (size_t)(2 * j->h1 + 1) * sizeof(float);
    if (in_plane * (size_t)j->nz * (size_t)j->channels <= limit && per_pos * n <= limit) {
        st = cl_tri_group(ctx, k, name, j, 0, (int64_t)n, 0, j->nz - 1, 1);
    } else {
        /* one position at a time: its planes [cz - h0, cz + h0] of one channel at a time */
        for (size_t i = 0; i < n && st == VXT_OK; i++) {
            int64_t cz = j->centers[3 * i];
            int64_t lo = cz - j->h0, hi = cz + j->h0;
            lo = lo < 0 ? 0 : (lo > j->nz - 1 ? j->nz - 1 : lo);
            hi = hi < 0 ? 0 : (hi > j->nz - 1 ? j->nz - 1 : hi);
            hi = hi < lo ? lo : hi;
            if ((size_t)(hi - lo + 1) * in_plane > limit ||
                3 * (size_t)(2 * j->h0 + 1) * (size_t)(2 * j->h1 + 1) * sizeof(float) > limit) {
                st = vxt__fail(
                    ctx, VXT_ERR_UNSUPPORTED,
                    "vxt_extract_triplanar: %lld input planes of %zu bytes exceed the device's largest buffer "
                    "(%zu bytes)",
                    (long long)(hi - lo + 1), in_plane, limit);
                break;
            }
            st = cl_tri_group(ctx, k, name, j, (int64_t)i, 1, lo, hi, 0);
        }
    }
    clReleaseKernel(k);
    return st;
}

/* ---- public API ------------------------------------------------------------------------------------------- */

static vxt_status extract_box_impl(vxt_context *ctx, const vxt_volume *in, const int64_t start[3], double fill_value,
                                   vxt_volume *out)
{
    static const char *const f = "vxt_extract_box";
    size_t in_bytes = 0, out_bytes = 0;
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st == VXT_OK && start == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'start' is NULL", f);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, f, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, f, "out", out, VXT_DTYPE_INVALID, NULL, &out_bytes);
    if (st != VXT_OK)
        return st;
    for (int a = 0; a < 3; a++)
        if (start[a] < -COORD_LIMIT || start[a] > COORD_LIMIT)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: start[%d] is %lld (|start| <= 2^40)", f, a,
                             (long long)start[a]);
    if (out->channels != in->channels)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: out has %lld channels, in %lld", f, (long long)out->channels,
                         (long long)in->channels);
    if (out->dtype != VXT_DTYPE_F32 && out->dtype != in->dtype)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: out.dtype is %s (float32 or the input's %s)", f,
                         vxt_dtype_name(out->dtype), vxt_dtype_name(in->dtype));
    st = vxt__pp_check_overlap(ctx, f, in, in_bytes, out, out_bytes, 0);
    if (st != VXT_OK)
        return st;
    pjob j;
    memset(&j, 0, sizeof j);
    j.raw = out->dtype == in->dtype && in->dtype != VXT_DTYPE_F32;
    if (!isfinite(fill_value) || (j.raw && !vxt__pp_raw_fill(in->dtype, fill_value, &j.fill_raw)))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: fill_value %g is not a finite %s value", f, fill_value,
                         vxt_dtype_name(out->dtype));
    j.dtype = in->dtype;
    j.in = (const unsigned char *)in->data;
    j.out = (unsigned char *)out->data;
    j.es = vxt_dtype_size(in->dtype);
    j.nz = in->shape[0];
    j.ny = in->shape[1];
    j.nx = in->shape[2];
    j.channels = in->channels;
    j.z0 = start[0];
    j.y0 = start[1];
    j.x0 = start[2];
    j.bz = out->shape[0];
    j.by = out->shape[1];
    j.bx = out->shape[2];
    j.fill = vxt__pp_f32(fill_value);
    if (ctx->backend == VXT_BACKEND_OPENCL)
        return cl_box(ctx, &j);
    const size_t rows = (size_t)j.channels * (size_t)j.bz * (size_t)j.by;
    vxt__pool_for(ctx->pool, rows, 64, vxt__box_cpu_task, &j);
    return VXT_OK;
}

static vxt_status extract_triplanar_impl(vxt_context *ctx, const vxt_volume *in, const int64_t *centers, size_t n,
                                         const int64_t half[2], double fill_value, float *out, size_t out_count)
{
    static const char *const f = "vxt_extract_triplanar";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st == VXT_OK && centers == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'centers' is NULL", f);
    if (st == VXT_OK && half == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'half' is NULL", f);
    if (st == VXT_OK && out == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'out' is NULL", f);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, f, "in", in, NULL);
    if (st != VXT_OK)
        return st;
    if (n == 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: n is 0 (no positions)", f);
    for (int a = 0; a < 2; a++)
        if (half[a] < 0 || half[a] > ((int64_t)1 << 20))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: half[%d] is %lld (must be in [0, 2^20])", f, a,
                             (long long)half[a]);
    if (!isfinite(fill_value))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: fill_value is %g (must be finite)", f, fill_value);
    if (n > (size_t)1 << 40)
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "%s: n is %zu", f, n);
    for (size_t i = 0; i < 3 * n; i++)
        if (centers[i] < -COORD_LIMIT || centers[i] > COORD_LIMIT)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: centers[%zu] is %lld (|v| <= 2^40)", f, i,
                             (long long)centers[i]);
    size_t need = n;
    const size_t rows = (size_t)(2 * half[0] + 1), cols = (size_t)(2 * half[1] + 1);
    if (!vxt__mul_size(need, 3, &need) || !vxt__mul_size(need, (size_t)in->channels, &need) ||
        !vxt__mul_size(need, rows, &need) || !vxt__mul_size(need, cols, &need) || need > SIZE_MAX / sizeof(float))
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "%s: %zu positions x 3 x %lld channels x %zu x %zu overflows", f, n,
                         (long long)in->channels, rows, cols);
    if (out_count < need)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: out_count is %zu, %zu floats are needed", f, out_count,
                         need);
    uintptr_t a0 = (uintptr_t)in->data,
              a1 = a0 + vxt_dtype_size(in->dtype) * (size_t)in->channels * vxt__pp_spatial(in);
    uintptr_t b0 = (uintptr_t)out, b1 = b0 + need * sizeof(float);
    if (!(a0 >= b1 || b0 >= a1))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: the output memory overlaps the input", f);
    pjob j;
    memset(&j, 0, sizeof j);
    j.dtype = in->dtype;
    j.in = (const unsigned char *)in->data;
    j.out = (unsigned char *)out;
    j.es = vxt_dtype_size(in->dtype);
    j.nz = in->shape[0];
    j.ny = in->shape[1];
    j.nx = in->shape[2];
    j.channels = in->channels;
    j.centers = centers;
    j.h0 = half[0];
    j.h1 = half[1];
    j.fill = vxt__pp_f32(fill_value);
    if (ctx->backend == VXT_BACKEND_OPENCL)
        return cl_triplanar(ctx, &j, n);
    vxt__pool_for(ctx->pool, need / cols, 64, vxt__triplanar_cpu_task, &j);
    return VXT_OK;
}

/* Public entry: host-side arithmetic (parameters rounded to float32, tables, statistics) runs in the default
 * floating-point environment whatever the caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_extract_box, extract_box_impl, (vxt_context *ctx, const vxt_volume *in, const int64_t start[3],
                 double fill_value, vxt_volume *out), (ctx, in, start, fill_value, out))

VXT__FPENV_ENTRY(vxt_extract_triplanar, extract_triplanar_impl, (vxt_context *ctx, const vxt_volume *in,
                 const int64_t *centers, size_t n, const int64_t half[2], double fill_value, float *out,
                 size_t out_count), (ctx, in, centers, n, half, fill_value, out, out_count))
