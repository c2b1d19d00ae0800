/* histogram.c - histograms of the selected voxels: the counting machinery behind the exact percentiles
 * (keys, runtime/preproc/percentile.c) and numpy's uniform-bin histogram (vxt_histogram), counted by
 * kernels/histogram/histogram.cl or by its CPU twin (kernels/histogram/histogram_cpu.c). Counts are integers:
 * per-thread or per-work-item partial histograms, or atomics, all give the same counts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "histogram_cpu.h"
#include "vxt_histogram.h"

#define MAX_UNIFORM_BINS ((size_t)1 << 20)

/* The key loops (CPU twin, kernels/histogram/histogram_cpu.c) and kernels (vxt_histk_a_*) count every voxel; for
 * the non-zero selection the zeros are removed afterwards: the bin of 0 holds only zeros (and flushed subnormals,
 * which are zeros) for every type but int32 (whose top-16-bit bin of 0 also holds 1..65535: it always takes the
 * per-voxel path). A histogram that already excluded them is unchanged by this. */
static int keys_without_selection(const vxt_volume *in, const vxt_hpar *hp)
{
    return hp->mode == VXT_HIST_KEYS &&
           (hp->sel == VXT_SEL_ALL || (hp->sel == VXT_SEL_NONZERO && in->dtype != VXT_DTYPE_I32));
}

/* ---- OpenCL backend --------------------------------------------------------------------------------------- */

static vxt_status cl_hist(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, const vxt_hpar *hp,
                          const uint32_t *targets, const float *thr, size_t nbins, uint64_t *counts)
{
    cl_int atomic_mode = (ctx->pp_variant & VXT__PP_HIST_ATOMIC)    ? 1
                         : (ctx->pp_variant & VXT__PP_HIST_PRIVATE) ? 0
                                                                    : !vxt__pp_device_is_cpu(ctx);
    /* private histograms of keys: the unrolled vxt_histk_ kernels (four histograms per work-item) */
    const int keyk =
        !atomic_mode && (keys_without_selection(in, hp) || (hp->mode == VXT_HIST_KEYS && hp->sel == VXT_SEL_MASK));
    const size_t nsub = keyk ? 4 : 1;
    char name[64];
    vxt__pp_kernel_name(name, sizeof name, !keyk ? "hist" : (hp->sel == VXT_SEL_MASK ? "histk_m" : "histk_a"),
                        in->dtype);
    cl_kernel k = NULL, kfill = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_HISTOGRAM, name, &k);
    if (st != VXT_OK)
        return st;
    if ((st = vxt__kernel_create(ctx, VXT__PROG_HISTOGRAM, "vxt_k_fill_u32", &kfill)) != VXT_OK) {
        clReleaseKernel(k);
        return st;
    }
    cl_uint cus = 1;
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    size_t nwork = atomic_mode ? 1 : (size_t)cus * 2;
    nwork = nwork < 1 ? 1 : (nwork > 64 ? 64 : nwork);
    const size_t es = vxt_dtype_size(in->dtype), n = vxt__pp_spatial(in);
    size_t chunk = vxt__pp_chunk_limit(ctx) / es;
    if (chunk > ((size_t)1 << 31))
        chunk = (size_t)1 << 31; /* 32-bit counters per slab */
    if (chunk == 0)
        chunk = 1;
    const size_t hist_elems = nwork * nsub * nbins;
    cl_uint *h = malloc(hist_elems * sizeof *h);
    vxt__pp_buf bin = {0}, bmask = {0}, bhist = {0}, btarg = {0}, bthr = {0};
    if (!h)
        st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "histogram: out of memory for %zu counters", hist_elems);
    if (st == VXT_OK)
        st = vxt__pp_buf_scratch(ctx, hist_elems * sizeof(cl_uint), "histogram: counters", &bhist);
    if (st == VXT_OK)
        st = targets
                 ? vxt__pp_buf_in(ctx, targets, (size_t)hp->ntargets * sizeof(cl_uint), "histogram: targets", &btarg)
                 : vxt__pp_buf_scratch(ctx, 0, "histogram: dummy", &btarg);
    if (st == VXT_OK)
        st = thr ? vxt__pp_buf_in(ctx, thr, (size_t)hp->nbins * sizeof(float), "histogram: thresholds", &bthr)
                 : vxt__pp_buf_scratch(ctx, 0, "histogram: dummy", &bthr);
    if (st == VXT_OK && keyk) {
        cl_long stride = (cl_long)(nsub * nbins), nb = (cl_long)nbins;
        cl_int err = VXT_CL_ARG(k, 4, bhist.mem);
        err |= VXT_CL_ARG(k, 5, stride);
        err |= VXT_CL_ARG(k, 6, nb);
        st = vxt__cl_check(ctx, err, "histogram: clSetKernelArg");
    } else if (st == VXT_OK) {
        cl_long stride = (cl_long)nbins;
        cl_int sel = hp->sel, mode = hp->mode, nt = hp->ntargets, nb = hp->nbins;
        cl_uint shift = hp->shift;
        cl_float hi = hp->hi_incl, norm = hp->norm;
        cl_int err = VXT_CL_ARG(k, 4, atomic_mode);
        err |= VXT_CL_ARG(k, 5, bhist.mem);
        err |= VXT_CL_ARG(k, 6, stride);
        err |= VXT_CL_ARG(k, 7, sel);
        err |= VXT_CL_ARG(k, 8, mode);
        err |= VXT_CL_ARG(k, 9, shift);
        err |= VXT_CL_ARG(k, 10, nt);
        err |= VXT_CL_ARG(k, 11, nb);
        err |= VXT_CL_ARG(k, 12, hi);
        err |= VXT_CL_ARG(k, 13, norm);
        err |= VXT_CL_ARG(k, 14, btarg.mem);
        err |= VXT_CL_ARG(k, 15, bthr.mem);
        st = vxt__cl_check(ctx, err, "histogram: clSetKernelArg");
    }
    for (size_t off = 0; off < n && st == VXT_OK; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        st = vxt__pp_buf_in(ctx, (const unsigned char *)in->data + off * es, len * es, "histogram: input", &bin);
        if (st == VXT_OK)
            st = hp->sel == VXT_SEL_MASK
                     ? vxt__pp_buf_in(ctx, (const unsigned char *)mask->data + off, len, "histogram: mask", &bmask)
                     : vxt__pp_buf_scratch(ctx, 0, "histogram: dummy mask", &bmask);
        if (st == VXT_OK)
            st = vxt__cl_fill_u32(ctx, kfill, bhist.mem, 0, hist_elems, 0u, "histogram: clearing the counters");
        cl_long nn = (cl_long)len, per = (cl_long)((len + nwork - 1) / nwork);
        if (st == VXT_OK) {
            cl_int err = VXT_CL_ARG(k, 0, bin.mem);
            err |= VXT_CL_ARG(k, 1, bmask.mem);
            err |= VXT_CL_ARG(k, 2, nn);
            err |= VXT_CL_ARG(k, 3, per);
            st = vxt__cl_check(ctx, err, "histogram: clSetKernelArg");
        }
        if (st == VXT_OK) {
            if (atomic_mode) {
                st = vxt__pp_launch(ctx, k, 1, &len, NULL, name);
            } else {
                size_t one = 1;
                st = vxt__pp_launch(ctx, k, 1, &nwork, &one, name);
            }
        }
        if (st == VXT_OK)
            st = vxt__cl_read(ctx, bhist.mem, 0, hist_elems * sizeof(cl_uint), h, "histogram: read counters");
        if (st == VXT_OK)
            for (size_t w = 0; w < nwork * nsub; w++)
                for (size_t b = 0; b < nbins; b++)
                    counts[b] += h[w * nbins + b];
        vxt__pp_buf_release(&bin);
        vxt__pp_buf_release(&bmask);
    }
    vxt__pp_buf_release(&bhist);
    vxt__pp_buf_release(&btarg);
    vxt__pp_buf_release(&bthr);
    free(h);
    clReleaseKernel(k);
    clReleaseKernel(kfill);
    return st;
}

static void remove_zeros(const vxt_volume *in, const vxt_hpar *hp, uint64_t *counts)
{
    if (hp->mode == VXT_HIST_KEYS && hp->sel == VXT_SEL_NONZERO && in->dtype != VXT_DTYPE_I32) {
        uint32_t zero_key = 0;
        switch (in->dtype) {
        case VXT_DTYPE_I8:
            zero_key = vxt_key_i8(0);
            break;
        case VXT_DTYPE_I16:
            zero_key = vxt_key_i16(0);
            break;
        case VXT_DTYPE_F32:
        case VXT_DTYPE_F64:
            zero_key = vxt_key_float(0.0f);
            break;
        default:
            break;
        }
        counts[zero_key >> hp->shift] = 0;
    }
}

vxt_status vxt__hist_run(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, const struct vxt_hpar *hp,
                         const uint32_t *targets, const float *thr, size_t nbins_total, uint64_t *counts)
{
    memset(counts, 0, nbins_total * sizeof *counts);
    vxt_status st = ctx->backend == VXT_BACKEND_OPENCL
                        ? cl_hist(ctx, in, mask, hp, targets, thr, nbins_total, counts)
                        : vxt__hist_cpu(ctx, in, mask, hp, targets, thr, nbins_total, counts);
    if (st == VXT_OK)
        remove_zeros(in, hp, counts);
    return st;
}

/* ---- numpy.histogram ------------------------------------------------------------------------------------- */

/* Smallest float >= e, never a subnormal (values are read flushed, so v >= t keeps its meaning). */
static float ceil_float(double e)
{
    float f = (float)e;
    if ((double)f < e)
        f = nextafterf(f, INFINITY);
    if (f != 0.0f && fabsf(f) < 1.17549435e-38f)
        f = f > 0.0f ? 1.17549435e-38f : -0.0f;
    return f;
}

/* Largest float <= e, never a subnormal. */
static float floor_float(double e)
{
    float f = (float)e;
    if ((double)f > e)
        f = nextafterf(f, -INFINITY);
    if (f != 0.0f && fabsf(f) < 1.17549435e-38f)
        f = f > 0.0f ? 0.0f : -1.17549435e-38f;
    return f;
}

vxt_status vxt_histogram(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask, double lo,
                         double hi, size_t nbins, uint64_t *counts)
{
    static const char *const f = "vxt_histogram";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st == VXT_OK && counts == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'counts' is NULL", f);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, f, "in", in, NULL);
    if (st == VXT_OK)
        st = vxt__pp_check_single_channel(ctx, f, in);
    if (st == VXT_OK)
        st = vxt__pp_check_select(ctx, f, select, mask, in);
    if (st == VXT_OK && (nbins < 1 || nbins > MAX_UNIFORM_BINS))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: nbins is %zu (must be in [1, %zu])", f, nbins,
                       MAX_UNIFORM_BINS);
    if (st == VXT_OK && (!isfinite(lo) || !isfinite(hi) || !(lo < hi)))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: range [%g, %g] (lo < hi, both finite)", f, lo, hi);
    if (st != VXT_OK)
        return st;
    float *thr = malloc(nbins * sizeof *thr);
    if (!thr)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu thresholds", f, nbins);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    /* numpy: edges = linspace(lo, hi, nbins + 1): edge[i] = i * ((hi - lo) / nbins) + lo, edge[nbins] = hi, in
     * double; for float32 data cast to float32 (np.histogram's bin type follows the data). */
    const double delta = hi - lo, step = delta / (double)nbins;
    const int f32_edges = in->dtype == VXT_DTYPE_F32;
    for (size_t i = 0; i < nbins; i++) {
        double e = step == 0.0 ? (double)i / (double)nbins * delta + lo : (double)i * step + lo;
        thr[i] = f32_edges ? ceil_float((double)(float)e) : ceil_float(e);
    }
    vxt_hpar p;
    memset(&p, 0, sizeof p);
    p.sel = (vxt_i32)select;
    p.mode = VXT_HIST_UNIFORM;
    p.nbins = (vxt_i32)nbins;
    p.hi_incl = f32_edges ? floor_float((double)(float)hi) : floor_float(hi);
    p.norm = vxt__pp_f32((double)nbins / delta);
    vxt__fpenv_leave(&env);
    st = vxt__hist_run(ctx, in, mask, &p, NULL, thr, nbins, counts);
    free(thr);
    return st;
}
