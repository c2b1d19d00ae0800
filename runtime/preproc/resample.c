/* resample.c - separable resampling to a shape, scale factor or spacing: per-axis tables of source indices
 * and weights (torch's formulas for the half-pixel grid, scipy's for the corner grid), then the lerp tree of
 * kernels/resample/vxt_resample.h per output voxel, on the device (kernels/resample/resample.cl) or by its CPU
 * twin with rows and planes cached (kernels/resample/resample_cpu.c). Also the output-shape helpers and
 * nnU-Net's choice of per-axis modes. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "resample_cpu.h"
#include "vxt_resample.h"

/* ---- per-axis tables (host, computed once for both backends) ------------------------------------------ */

/* i0/i1: source indices (-1 outside: constant boundary), w0/w1: weights. Nearest axes: i1 = i0, w = (1, 0). */
void vxt__resample_axis_table(int64_t nin, int64_t nout, vxt_interp interp, vxt_grid_align grid, vxt_boundary bnd,
                              double scale, int64_t *i0, int64_t *i1, float *w0, float *w1)
{
    const int clamp = bnd == VXT_BOUNDARY_CLAMP;
    /* torch: compute_scales_value<float> = scale given ? (float)(1 / scale) : (float)in / out */
    const float ratio = scale > 0.0 ? (float)(1.0 / scale) : (float)nin / (float)nout;
    /* scipy zoom (grid_mode=False): (in - 1) / (out - 1), 1 when out == 1 */
    const double zoom = nout > 1 ? (double)(nin - 1) / (double)(nout - 1) : 1.0;
    for (int64_t o = 0; o < nout; o++) {
        int64_t k0 = 0, k1 = 0;
        float a = 1.0f, b = 0.0f;
        if (interp == VXT_INTERP_LINEAR && grid == VXT_ALIGN_HALF_PIXEL) {
            if (nout == nin) { /* torch copies (compute_source_index_and_lambda) */
                k0 = k1 = o;
            } else {
                /* torch (UpSample.h, compute_source_index_and_lambda): the source index in its accumulation type,
                 * double on the CPU: ratio * (dst + 0.5) - 0.5 with the float32 ratio (the product is exact in
                 * double); lambda1 = real - index0 rounded to float32, lambda0 = 1 - lambda1 in float32 */
                double real = (double)ratio * ((double)o + 0.5) - 0.5;
                if (clamp) {
                    real = real < 0.0 ? 0.0 : real;
                    k0 = (int64_t)real;
                    k0 = k0 > nin - 1 ? nin - 1 : k0; /* only with a scale factor that does not fit the shapes */
                    k1 = k0 + (k0 < nin - 1 ? 1 : 0);
                    double l1 = real - (double)k0;
                    l1 = l1 < 0.0 ? 0.0 : (l1 > 1.0 ? 1.0 : l1);
                    b = (float)l1;
                    a = 1.0f - b;
                } else {
                    double fl = floor(real);
                    int64_t k = (int64_t)fl;
                    b = (float)(real - fl);
                    a = 1.0f - b;
                    k0 = (k >= 0 && k < nin) ? k : -1;
                    k1 = (k + 1 >= 0 && k + 1 < nin) ? k + 1 : -1;
                }
            }
        } else if (interp == VXT_INTERP_LINEAR) { /* corner grid, scipy: in double */
            double src = (double)o * zoom;
            double fl = floor(src);
            int64_t k = (int64_t)fl;
            double t = src - fl;
            k0 = k < nin ? k : nin - 1;
            if (clamp)
                k1 = k + 1 < nin ? k + 1 : nin - 1;
            else
                k1 = k + 1 < nin ? k + 1 : -1;
            b = (float)t;
            a = (float)(1.0 - t);
        } else {
            int64_t k;
            if (grid == VXT_ALIGN_HALF_PIXEL) {
                if (interp == VXT_INTERP_NEAREST) /* torch nearest_neighbor_exact_compute_source_index */
                    k = (int64_t)floorf((float)(((double)o + 0.5) * (double)ratio));
                else if (nout == nin) /* torch nearest_idx */
                    k = o;
                else if (nout == 2 * nin)
                    k = o >> 1;
                else
                    k = (int64_t)floorf((float)o * ratio);
            } else {
                double src = (double)o * zoom;
                k = (int64_t)(interp == VXT_INTERP_NEAREST ? floor(src + 0.5) : floor(src));
            }
            k = k < 0 ? 0 : (k > nin - 1 ? nin - 1 : k);
            k0 = k1 = k;
        }
        i0[o] = k0;
        i1[o] = k1;
        w0[o] = vxt_ftz(a);
        w1[o] = vxt_ftz(b);
    }
}

/* ---- OpenCL backend ----------------------------------------------------------------------------------------- */

typedef struct rslab {
    int64_t c0, nch;  /* channels */
    int64_t zo0, nzo; /* output planes */
    int64_t zi0, nzi; /* input planes uploaded */
} rslab;

/* Input planes needed by output planes [zo0, zo0 + n): [lo, hi]; none: lo = 0, hi = 0. */
static void z_range(const rjob *j, int64_t zo0, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t a = INT64_MAX, b = -1;
    for (int64_t z = zo0; z < zo0 + n; z++) {
        const int64_t k[2] = {j->iz0[z], j->iz1[z]};
        for (int i = 0; i < 2; i++)
            if (k[i] >= 0) {
                a = k[i] < a ? k[i] : a;
                b = k[i] > b ? k[i] : b;
            }
    }
    if (b < 0)
        a = b = 0;
    *lo = a;
    *hi = b;
}

static void z_range_cb(const void *user, int64_t zo0, int64_t n, int64_t *lo, int64_t *hi)
{
    z_range((const rjob *)user, zo0, n, lo, hi);
}

static vxt_status cl_slab(vxt_context *ctx, cl_kernel k, const char *name, const rjob *j, const rslab *s, cl_mem idx,
                          cl_mem w, size_t oes, int whole)
{
    const size_t ies = j->es;
    const size_t in_plane = (size_t)j->nyi * (size_t)j->nxi, out_plane = (size_t)j->nyo * (size_t)j->nxo;
    const size_t in_ch = (size_t)j->nzi * in_plane, out_ch = (size_t)j->nzo * out_plane;
    const unsigned char *ip = j->in + ((size_t)s->c0 * in_ch + (size_t)s->zi0 * in_plane) * ies;
    unsigned char *op = j->out + ((size_t)s->c0 * out_ch + (size_t)s->zo0 * out_plane) * oes;
    /* one slab of all channels holds whole volumes; otherwise a single channel */
    size_t in_bytes = whole ? (size_t)s->nch * in_ch * ies : (size_t)s->nzi * in_plane * ies;
    size_t out_bytes = whole ? (size_t)s->nch * out_ch * oes : (size_t)s->nzo * out_plane * oes;
    vxt__pp_buf bin = {0}, bout = {0};
    vxt_status st = vxt__pp_buf_in(ctx, ip, in_bytes, "resample: input", &bin);
    if (st == VXT_OK)
        st = vxt__pp_buf_out(ctx, op, out_bytes, "resample: output", &bout);
    if (st == VXT_OK) {
        cl_long sz = (cl_long)in_plane, sy = (cl_long)j->nxi, in_cs = (cl_long)in_ch, zoff = s->zi0, nzo_job = s->nzo,
                nch = s->nch, zo0 = s->zo0, nzo = j->nzo, nyo = j->nyo, nxo = j->nxo,
                out_cs = (cl_long)((size_t)s->nzo * out_plane);
        cl_int err = VXT_CL_ARG(k, 0, bin.mem);
        err |= VXT_CL_ARG(k, 1, bout.mem);
        err |= VXT_CL_ARG(k, 2, sz);
        err |= VXT_CL_ARG(k, 3, sy);
        err |= VXT_CL_ARG(k, 4, in_cs);
        err |= VXT_CL_ARG(k, 5, zoff);
        err |= VXT_CL_ARG(k, 6, nzo_job);
        err |= VXT_CL_ARG(k, 7, nch);
        err |= VXT_CL_ARG(k, 8, zo0);
        err |= VXT_CL_ARG(k, 9, nzo);
        err |= VXT_CL_ARG(k, 10, nyo);
        err |= VXT_CL_ARG(k, 11, nxo);
        err |= VXT_CL_ARG(k, 12, out_cs);
        err |= VXT_CL_ARG(k, 13, idx);
        if (j->raw) {
            cl_ulong fill = j->fill_raw;
            err |= VXT_CL_ARG(k, 14, fill);
        } else if (j->valid_kernel) {
            err |= VXT_CL_ARG(k, 14, w);
        } else {
            cl_int modes = j->modes;
            cl_float fill = j->fill;
            err |= VXT_CL_ARG(k, 14, w);
            err |= VXT_CL_ARG(k, 15, modes);
            err |= VXT_CL_ARG(k, 16, fill);
        }
        st = vxt__cl_check(ctx, err, "resample: clSetKernelArg");
    }
    if (st == VXT_OK) {
        size_t items[3] = {(size_t)j->nxo, (size_t)j->nyo, (size_t)s->nzo * (size_t)s->nch};
        st = vxt__pp_launch(ctx, k, 3, items, NULL, name);
    }
    if (st == VXT_OK)
        st = vxt__pp_buf_finish(ctx, &bout, "resample: output");
    vxt__pp_buf_release(&bin);
    vxt__pp_buf_release(&bout);
    return st;
}

/* Three passes per slab of output planes (every table index inside the volume): rows along x into P, along y
 * into Q, along z into the output. P and Q are device scratch for the source planes the slab needs; slabs are
 * sized so that each scratch buffer stays near SCRATCH_BYTES (small, reused across slabs, cache-friendly).
 * Returns VXT_ERR_UNSUPPORTED without a message when one output plane's scratch does not fit a buffer (the
 * per-voxel kernel is used instead). */
#define SCRATCH_BYTES ((size_t)32 << 20)

static vxt_status cl_separable(vxt_context *ctx, const rjob *j, int64_t channels, const int64_t *idx_tab,
                               const float *w_tab)
{
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_plane = (size_t)j->nyi * (size_t)j->nxi * j->es;
    const size_t p_plane = (size_t)j->nyi * (size_t)j->nxo * sizeof(float);
    const size_t q_plane = (size_t)j->nyo * (size_t)j->nxo * sizeof(float);
    const size_t scratch_cap = limit < SCRATCH_BYTES ? limit : SCRATCH_BYTES;
    const size_t pq_plane = p_plane > q_plane ? p_plane : q_plane;
    /* the planes one output plane needs: at most 2 */
    if (2 * pq_plane > limit || 2 * in_plane > limit || q_plane > limit)
        return VXT_ERR_UNSUPPORTED;
    char nx[64], ny[64], nz[64], base[16];
    snprintf(base, sizeof base, "rsx_%c", (j->modes & 1) ? 'n' : 'l');
    vxt__pp_kernel_name(nx, sizeof nx, base, j->dtype);
    snprintf(ny, sizeof ny, "vxt_rsy_%c", (j->modes & 2) ? 'n' : 'l');
    snprintf(nz, sizeof nz, "vxt_rsz_%c", (j->modes & 4) ? 'n' : 'l');
    cl_kernel kx = NULL, ky = NULL, kz = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, nx, &kx);
    if (st == VXT_OK)
        st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, ny, &ky);
    if (st == VXT_OK)
        st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, nz, &kz);
    const size_t nzo = (size_t)j->nzo, nyo = (size_t)j->nyo, nxo = (size_t)j->nxo;
    vxt__pp_buf tz = {0}, tzw = {0}, ty = {0}, tyw = {0}, tx = {0}, txw = {0}, bp = {0}, bq = {0};
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, idx_tab, 2 * nzo * sizeof(int64_t), "resample: tables", &tz);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, w_tab, 2 * nzo * sizeof(float), "resample: tables", &tzw);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, idx_tab + 2 * nzo, 2 * nyo * sizeof(int64_t), "resample: tables", &ty);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, w_tab + 2 * nzo, 2 * nyo * sizeof(float), "resample: tables", &tyw);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, idx_tab + 2 * nzo + 2 * nyo, 2 * nxo * sizeof(int64_t), "resample: tables", &tx);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, w_tab + 2 * nzo + 2 * nyo, 2 * nxo * sizeof(float), "resample: tables", &txw);
    /* scratch for the largest slab: at least the two planes one output plane needs */
    size_t max_planes = scratch_cap / pq_plane;
    max_planes = max_planes < 2 ? 2 : max_planes;
    max_planes = max_planes > (size_t)j->nzi ? (size_t)j->nzi : max_planes;
    if (st == VXT_OK)
        st = vxt__pp_buf_scratch(ctx, max_planes * p_plane, "resample: row pass", &bp);
    if (st == VXT_OK)
        st = vxt__pp_buf_scratch(ctx, max_planes * q_plane, "resample: plane pass", &bq);
    const size_t in_ch = (size_t)j->nzi * in_plane, out_ch = nzo * q_plane;
    for (int64_t c = 0; c < channels && st == VXT_OK; c++) {
        int64_t zo = 0;
        while (zo < j->nzo && st == VXT_OK) {
            int64_t n = j->nzo - zo, lo = 0, hi = 0;
            for (;;) { /* the largest slab whose planes fit */
                z_range(j, zo, n, &lo, &hi);
                size_t nzr = (size_t)(hi - lo + 1);
                if ((nzr <= max_planes && nzr * in_plane <= limit && (size_t)n * q_plane <= limit) || n == 1)
                    break;
                n = n / 2 > 1 ? n / 2 : 1;
            }
            const cl_long nzr = hi - lo + 1;
            vxt__pp_buf bin = {0}, bout = {0};
            st = vxt__pp_buf_in(ctx, j->in + (size_t)c * in_ch + (size_t)lo * in_plane, (size_t)nzr * in_plane,
                                "resample: input", &bin);
            if (st == VXT_OK)
                st = vxt__pp_buf_out(ctx, j->out + (size_t)c * out_ch + (size_t)zo * q_plane, (size_t)n * q_plane,
                                     "resample: output", &bout);
            cl_long sz = (cl_long)((size_t)j->nyi * (size_t)j->nxi), nyi = j->nyi, nxi = j->nxi, lnxo = j->nxo,
                    lnyo = j->nyo, lnzo = j->nzo, zlo = lo, zo0 = zo, nzo_job = n;
            if (st == VXT_OK) {
                const void *v[] = {&bin.mem, &bp.mem, &sz, &nyi, &nxi, &lnxo, &nzr, &tx.mem, &txw.mem};
                const size_t z[] = {sizeof(cl_mem), sizeof(cl_mem), 8, 8, 8, 8, 8, sizeof(cl_mem), sizeof(cl_mem)};
                st = vxt__pp_set_args(ctx, kx, v, z, 9, "resample: row pass arguments");
            }
            if (st == VXT_OK) {
                size_t items[3] = {nxo, (size_t)j->nyi, (size_t)nzr};
                st = vxt__pp_launch(ctx, kx, 3, items, NULL, nx);
            }
            if (st == VXT_OK) {
                const void *v[] = {&bp.mem, &bq.mem, &nyi, &lnyo, &lnxo, &nzr, &ty.mem, &tyw.mem};
                const size_t z[] = {sizeof(cl_mem), sizeof(cl_mem), 8, 8, 8, 8, sizeof(cl_mem), sizeof(cl_mem)};
                st = vxt__pp_set_args(ctx, ky, v, z, 8, "resample: plane pass arguments");
            }
            if (st == VXT_OK) {
                size_t items[3] = {nxo, nyo, (size_t)nzr};
                st = vxt__pp_launch(ctx, ky, 3, items, NULL, ny);
            }
            if (st == VXT_OK) {
                const void *v[] = {&bq.mem, &bout.mem, &lnyo, &lnxo, &zlo, &zo0, &nzo_job, &lnzo, &tz.mem, &tzw.mem};
                const size_t z[] = {sizeof(cl_mem), sizeof(cl_mem), 8, 8, 8, 8, 8, 8, sizeof(cl_mem), sizeof(cl_mem)};
                st = vxt__pp_set_args(ctx, kz, v, z, 10, "resample: output pass arguments");
            }
            if (st == VXT_OK) {
                size_t items[3] = {nxo, nyo, (size_t)n};
                st = vxt__pp_launch(ctx, kz, 3, items, NULL, nz);
            }
            if (st == VXT_OK)
                st = vxt__pp_buf_finish(ctx, &bout, "resample: output");
            vxt__pp_buf_release(&bin);
            vxt__pp_buf_release(&bout);
            zo += n;
        }
    }
    vxt__pp_buf *bufs[] = {&tz, &tzw, &ty, &tyw, &tx, &txw, &bp, &bq};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        vxt__pp_buf_release(bufs[i]);
    if (kx)
        clReleaseKernel(kx);
    if (ky)
        clReleaseKernel(ky);
    if (kz)
        clReleaseKernel(kz);
    return st;
}

static vxt_status cl_resample(vxt_context *ctx, const rjob *j, int64_t channels, const int64_t *idx_tab,
                              const float *w_tab, size_t ntab)
{
    /* three passes when they read less than the per-voxel kernel: it gathers 2^(linear axes) values per output
     * voxel, the passes two per row-pass element and move each intermediate twice */
    const int lin = !(j->modes & 1) + !(j->modes & 2) + !(j->modes & 4);
    const double out_n = (double)j->nzo * (double)j->nyo * (double)j->nxo;
    int64_t zlo = 0, zhi = 0; /* the input planes the output needs */
    z_range(j, 0, j->nzo, &zlo, &zhi);
    const double nzr = (double)(zhi - zlo + 1);
    const double p_n = nzr * (double)j->nyi * (double)j->nxo, q_n = nzr * (double)j->nyo * (double)j->nxo;
    const int passes_cheaper = 2.0 * p_n + 2.0 * q_n + 2.0 * out_n < out_n * (double)(1 << lin);
    if (j->valid_kernel && passes_cheaper && !(ctx->pp_variant & VXT__PP_RESAMPLE_VOXEL)) {
        vxt_status sst = cl_separable(ctx, j, channels, idx_tab, w_tab);
        if (sst != VXT_ERR_UNSUPPORTED)
            return sst;
    }
    char name[64];
    const size_t oes = j->raw ? j->es : sizeof(float);
    if (j->raw) {
        snprintf(name, sizeof name, "vxt_resample_raw%zu", j->es);
    } else if (j->valid_kernel) { /* vxt_rsv_<z><y><x>_<type>: no outside indices, branch-free */
        char base[16];
        snprintf(base, sizeof base, "rsv_%c%c%c", (j->modes & 4) ? 'n' : 'l', (j->modes & 2) ? 'n' : 'l',
                 (j->modes & 1) ? 'n' : 'l');
        vxt__pp_kernel_name(name, sizeof name, base, j->dtype);
    } else {
        vxt__pp_kernel_name(name, sizeof name, "resample", j->dtype);
    }
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_RESAMPLE, name, &k);
    if (st != VXT_OK)
        return st;
    vxt__pp_buf bidx = {0}, bw = {0};
    st = vxt__pp_buf_in(ctx, idx_tab, ntab * sizeof(int64_t), "resample: index tables", &bidx);
    if (st == VXT_OK)
        st = vxt__pp_buf_in(ctx, w_tab, ntab * sizeof(float), "resample: weight tables", &bw);
    const size_t limit = vxt__pp_chunk_limit(ctx);
    const size_t in_plane = (size_t)j->nyi * (size_t)j->nxi * j->es;
    const size_t out_plane = (size_t)j->nyo * (size_t)j->nxo * oes;
    const size_t in_total = in_plane * (size_t)j->nzi * (size_t)channels;
    const size_t out_total = out_plane * (size_t)j->nzo * (size_t)channels;
    if (st == VXT_OK && !j->windowed && in_total <= limit && out_total <= limit) {
        rslab s = {0, channels, 0, j->nzo, 0, j->nzi};
        st = cl_slab(ctx, k, name, j, &s, bidx.mem, bw.mem, oes, 1);
    } else {
        for (int64_t c = 0; c < channels && st == VXT_OK; c++) {
            int64_t zo = 0;
            while (zo < j->nzo && st == VXT_OK) {
                int64_t n = 0, lo = 0, hi = 0;
                st = vxt__pp_next_slab(ctx, "vxt_resample", limit, in_plane, out_plane, zo, j->nzo, z_range_cb, j, &n,
                                       &lo, &hi);
                if (st != VXT_OK)
                    break;
                rslab s = {c, 1, zo, n, lo, hi - lo + 1};
                st = cl_slab(ctx, k, name, j, &s, bidx.mem, bw.mem, oes, 0);
                zo += n;
            }
        }
    }
    vxt__pp_buf_release(&bidx);
    vxt__pp_buf_release(&bw);
    clReleaseKernel(k);
    return st;
}

/* ---- public API ------------------------------------------------------------------------------------------- */

void vxt_resample_options_init(vxt_resample_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    for (int a = 0; a < 3; a++)
        opts->interp[a] = VXT_INTERP_LINEAR;
    opts->align = VXT_ALIGN_HALF_PIXEL;
    opts->boundary = VXT_BOUNDARY_CLAMP;
}

int vxt__pp_raw_fill(vxt_dtype t, double d, uint64_t *raw)
{
    *raw = 0;
    if (t == VXT_DTYPE_F64) {
        memcpy(raw, &d, 8);
        return 1;
    }
    if (t == VXT_DTYPE_F32) {
        float f = (float)d;
        if (!((double)f == d) && !isnan(d))
            return 0;
        uint32_t u;
        memcpy(&u, &f, 4);
        *raw = u;
        return 1;
    }
    static const struct {
        vxt_dtype t;
        double lo, hi;
    } lim[] = {{VXT_DTYPE_U8, 0, 255},
               {VXT_DTYPE_I8, -128, 127},
               {VXT_DTYPE_U16, 0, 65535},
               {VXT_DTYPE_I16, -32768, 32767},
               {VXT_DTYPE_I32, -2147483648.0, 2147483647.0}};
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        if (lim[i].t != t)
            continue;
        if (!(d >= lim[i].lo && d <= lim[i].hi) || d != floor(d))
            return 0;
        int64_t v = (int64_t)d;
        *raw = (uint64_t)v & (vxt_dtype_size(t) == 8 ? ~0ull : ((1ull << (8 * vxt_dtype_size(t))) - 1ull));
        return 1;
    }
    return 0;
}

static vxt_status check_opts(vxt_context *ctx, const char *f, const vxt_resample_options *o)
{
    vxt_status st = vxt__check_struct_size(ctx, f, "vxt_resample_options", o, o->struct_size,
                                           offsetof(vxt_resample_options, out_z_offset), sizeof(vxt_resample_options));
    if (st != VXT_OK)
        return st;
    static const char *axis[3] = {"z", "y", "x"};
    for (int a = 0; a < 3; a++) {
        if (o->interp[a] != VXT_INTERP_LINEAR && o->interp[a] != VXT_INTERP_NEAREST &&
            o->interp[a] != VXT_INTERP_NEAREST_FLOOR && o->interp[a] != VXT_INTERP_CUBIC)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.interp[%d] (%s) is %d, not a vxt_interp", f, a,
                             axis[a], (int)o->interp[a]);
        if (!(o->scale[a] >= 0.0) || !isfinite(o->scale[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.scale[%d] (%s) is %g (0, or > 0 and finite)", f,
                             a, axis[a], o->scale[a]);
        if (o->scale[a] > 0.0 && !isfinite((float)(1.0 / o->scale[a])))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.scale[%d] is %g, too small", f, a, o->scale[a]);
    }
    if (o->align != VXT_ALIGN_HALF_PIXEL && o->align != VXT_ALIGN_CORNERS)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.align is %d, not a vxt_grid_align", f, (int)o->align);
    if (o->boundary != VXT_BOUNDARY_CLAMP && o->boundary != VXT_BOUNDARY_CONSTANT &&
        o->boundary != VXT_BOUNDARY_MIRROR && o->boundary != VXT_BOUNDARY_GRID_MIRROR)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.boundary is %d, not a vxt_boundary", f,
                         (int)o->boundary);
    /* fields beyond the caller's struct_size keep their defaults */
    if (o->struct_size >= offsetof(vxt_resample_options, clip) + sizeof o->clip && o->clip != VXT_CLIP_NONE &&
        o->clip != VXT_CLIP_INPUT_RANGE)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.clip is %d, not a vxt_resample_clip", f,
                         (int)o->clip);
    if (!isfinite(o->fill_value))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.fill_value is %g (must be finite)", f, o->fill_value);
    return VXT_OK;
}

static vxt_status resample_antialiased(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                       const vxt_resample_options *o);

/* vxt_resample; range_of (NULL: in) is the volume whose values give the clip's ranges. */
static vxt_status resample_with(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                const vxt_resample_options *opts, const vxt_volume *range_of)
{
    static const char *const f = "vxt_resample";
    size_t in_bytes = 0, out_bytes = 0;
    vxt_resample_options o;
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st != VXT_OK)
        return st;
    if (opts) {
        st = check_opts(ctx, f, opts);
        if (st != VXT_OK)
            return st;
        vxt_resample_options_init(&o); /* fields beyond the caller's struct_size keep their defaults */
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    } else {
        vxt_resample_options_init(&o);
    }
    st = vxt__pp_check_input(ctx, f, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, f, "out", out, VXT_DTYPE_INVALID, NULL, &out_bytes);
    if (st != VXT_OK)
        return st;
    const int all_nearest =
        o.interp[0] != VXT_INTERP_LINEAR && o.interp[1] != VXT_INTERP_LINEAR && o.interp[2] != VXT_INTERP_LINEAR;
    const int raw = out->dtype == in->dtype && in->dtype != VXT_DTYPE_F32;
    if (out->dtype != VXT_DTYPE_F32 && !(all_nearest && out->dtype == in->dtype))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: out.dtype is %s; it must be float32, or the input's type (%s) when every axis is nearest",
                         f, vxt_dtype_name(out->dtype), vxt_dtype_name(in->dtype));
    if (out->channels != in->channels)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: out has %lld channels, in %lld", f, (long long)out->channels,
                         (long long)in->channels);
    st = vxt__pp_check_overlap(ctx, f, in, in_bytes, out, out_bytes, 0);
    if (st != VXT_OK)
        return st;
    if (in->shape[2] > INT32_MAX || out->shape[2] > INT32_MAX)
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "%s: in.shape[2] is %lld, out.shape[2] %lld (rows of at most 2^31 - 1 "
                         "voxels)", f, (long long)in->shape[2], (long long)out->shape[2]);
    if (o.anti_alias)
        return resample_antialiased(ctx, in, out, &o);
    /* cubic axes, and clipping, take the B-spline path (resample_cubic.c), which also runs linear and nearest axes;
     * the clip's ranges come from `range_of` (the input, or the unsmoothed input of an anti-aliased resampling) */
    if (o.interp[0] == VXT_INTERP_CUBIC || o.interp[1] == VXT_INTERP_CUBIC || o.interp[2] == VXT_INTERP_CUBIC ||
        o.clip != VXT_CLIP_NONE)
        return vxt__resample_cubic(ctx, in, out, &o, range_of ? range_of : in);
    for (int a = 0; a < 3; a++)
        if (o.interp[a] == VXT_INTERP_LINEAR &&
            (o.boundary == VXT_BOUNDARY_MIRROR || o.boundary == VXT_BOUNDARY_GRID_MIRROR))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: boundary %s needs every axis cubic or nearest (axis %d "
                             "is linear)", f, vxt_boundary_name(o.boundary), a);
    uint64_t fill_raw = 0;
    if (raw && !vxt__pp_raw_fill(in->dtype, o.fill_value, &fill_raw))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.fill_value %g is not a %s value", f, o.fill_value,
                         vxt_dtype_name(in->dtype));

    const int64_t nzo = out->shape[0], nyo = out->shape[1], nxo = out->shape[2];
    const int in_windowed = o.in_z_total != 0;
    const int64_t izoff = in_windowed ? o.in_z_offset : 0, nzit = in_windowed ? o.in_z_total : in->shape[0];
    if (in_windowed && (o.in_z_total < 0 || o.in_z_offset < 0 || o.in_z_offset > o.in_z_total - in->shape[0]))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: opts.in_z_offset %lld and in.shape[0] %lld do not fit opts.in_z_total %lld (0 <= offset, "
                         "offset + depth <= total)",
                         f, (long long)o.in_z_offset, (long long)in->shape[0], (long long)o.in_z_total);
    const int windowed = o.out_z_total != 0 || in_windowed;
    const int64_t zoff = o.out_z_total ? o.out_z_offset : 0, nzt = o.out_z_total ? o.out_z_total : nzo;
    if (o.out_z_total && (o.out_z_total < 0 || o.out_z_offset < 0 || o.out_z_offset > o.out_z_total - nzo))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: opts.out_z_offset %lld and out.shape[0] %lld do not fit opts.out_z_total %lld (0 <= offset, "
                         "offset + depth <= total)",
                         f, (long long)o.out_z_offset, (long long)nzo, (long long)o.out_z_total);
    const size_t ntab = 2 * (size_t)(nzo + nyo + nxo);
    int64_t *idx = malloc(ntab * sizeof *idx);
    float *w = malloc(ntab * sizeof *w);
    unsigned char *bad = malloc((size_t)(nyo + nxo));
    if (!idx || !w || !bad) {
        free(idx);
        free(w);
        free(bad);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for the axis tables", f);
    }
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    const int64_t nin[3] = {nzit, in->shape[1], in->shape[2]}, nout[3] = {nzo, nyo, nxo};
    size_t off = 0;
    int64_t *zi = NULL;
    float *zw = NULL;
    if (windowed) { /* the z tables of the whole output from the whole input, then the window's rows of them */
        zi = malloc(2 * (size_t)nzt * sizeof *zi);
        zw = malloc(2 * (size_t)nzt * sizeof *zw);
        if (zi && zw) {
            vxt__resample_axis_table(nin[0], nzt, o.interp[0], o.align, o.boundary, o.scale[0], zi, zi + nzt, zw, zw + nzt);
            memcpy(idx, zi + zoff, (size_t)nzo * sizeof *idx);
            memcpy(idx + nzo, zi + nzt + zoff, (size_t)nzo * sizeof *idx);
            memcpy(w, zw + zoff, (size_t)nzo * sizeof *w);
            memcpy(w + nzo, zw + nzt + zoff, (size_t)nzo * sizeof *w);
        }
        off = 2 * (size_t)nzo;
    }
    for (int a = windowed ? 1 : 0; a < 3; a++) {
        vxt__resample_axis_table(nin[a], nout[a], o.interp[a], o.align, o.boundary, o.scale[a], idx + off, idx + off + nout[a],
                   w + off, w + off + nout[a]);
        off += 2 * (size_t)nout[a];
    }
    vxt__fpenv_leave(&env);
    const int table_oom = windowed && (!zi || !zw);
    free(zi);
    free(zw);
    if (table_oom) {
        free(idx);
        free(w);
        free(bad);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for the axis tables", f);
    }
    for (int64_t i = 0; in_windowed && i < 2 * nzo; i++) { /* source planes relative to the input slab */
        if (idx[i] < 0)
            continue;
        if (idx[i] < izoff || idx[i] >= izoff + in->shape[0]) {
            const int64_t p = idx[i];
            free(idx);
            free(w);
            free(bad);
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: output plane %lld reads input plane %lld, outside the "
                             "input slab [%lld, %lld) (vxt_resample_z_sources says which planes to hold)", f,
                             (long long)(zoff + i % nzo), (long long)p, (long long)izoff,
                             (long long)(izoff + in->shape[0]));
        }
        idx[i] -= izoff;
    }

    rjob j;
    memset(&j, 0, sizeof j);
    j.dtype = in->dtype;
    j.in = (const unsigned char *)in->data;
    j.out = (unsigned char *)out->data;
    j.raw = raw;
    j.es = vxt_dtype_size(in->dtype);
    j.nzi = in->shape[0];
    j.nyi = nin[1];
    j.nxi = nin[2];
    j.nzo = nzo;
    j.nyo = nyo;
    j.nxo = nxo;
    j.iz0 = idx;
    j.iz1 = idx + nzo;
    j.iy0 = idx + 2 * nzo;
    j.iy1 = idx + 2 * nzo + nyo;
    j.ix0 = idx + 2 * nzo + 2 * nyo;
    j.ix1 = idx + 2 * nzo + 2 * nyo + nxo;
    j.wz0 = w;
    j.wz1 = w + nzo;
    j.wy0 = w + 2 * nzo;
    j.wy1 = w + 2 * nzo + nyo;
    j.wx0 = w + 2 * nzo + 2 * nyo;
    j.wx1 = w + 2 * nzo + 2 * nyo + nxo;
    j.modes = (o.interp[2] != VXT_INTERP_LINEAR ? 1 : 0) | (o.interp[1] != VXT_INTERP_LINEAR ? 2 : 0) |
              (o.interp[0] != VXT_INTERP_LINEAR ? 4 : 0);
    j.fill = vxt__pp_f32(o.fill_value);
    j.fill_raw = fill_raw;
    j.windowed = windowed;
    for (int64_t y = 0; y < nyo; y++)
        bad[y] = j.iy0[y] < 0 && j.iy1[y] < 0;
    for (int64_t x = 0; x < nxo; x++)
        bad[nyo + x] = j.ix0[x] < 0 && j.ix1[x] < 0;
    j.ybad = bad;
    j.xbad = bad + nyo;
    int all_inside = 1;
    for (size_t i = 0; i < ntab; i++)
        all_inside &= idx[i] >= 0;
    j.x_inside = 1;
    for (int64_t x = 0; x < 2 * nxo; x++)
        j.x_inside &= j.ix0[x] >= 0;
    j.valid_kernel =
        !raw && all_inside && (j.modes == 0 || j.modes == 1 || j.modes == 2 || j.modes == 4 || j.modes == 7);

    if (ctx->backend == VXT_BACKEND_OPENCL) {
        st = cl_resample(ctx, &j, in->channels, idx, w, ntab);
    } else {
        const int threads = vxt__pool_threads(ctx->pool);
        const size_t items = (size_t)in->channels * (size_t)nzo;
        j.per_slot = raw ? 1 : 2 * (size_t)nyo * (size_t)nxo + 2 * (size_t)nxo + (size_t)nin[2];
        j.scratch = malloc((size_t)threads * j.per_slot * sizeof(float));
        int32_t *k32 = malloc(2 * (size_t)nxo * sizeof *k32);
        if (k32) {
            for (int64_t x = 0; x < nxo; x++) {
                k32[x] = (int32_t)j.ix0[x];
                k32[nxo + x] = (int32_t)j.ix1[x];
            }
            j.kx0 = k32;
            j.kx1 = k32 + nxo;
        }
        if (!j.scratch || !k32) {
            st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %d x %zu floats of scratch", f, threads,
                           j.per_slot);
        } else {
            /* results do not depend on the ranges (every voxel is computed by the same arithmetic), so the grain
             * only balances the load: about four ranges per thread */
            size_t grain = items / ((size_t)threads * 4);
            vxt__pool_for(ctx->pool, items, grain < 1 ? 1 : grain, vxt__resample_cpu_task, &j);
        }
        free(j.scratch);
        free(k32);
    }
    free(idx);
    free(w);
    free(bad);
    return st;
}

/* ---- smoothing before downsampling (opts.anti_alias) ------------------------------------------------------ */

/* skimage.transform.resize(anti_aliasing=True): each channel smoothed (vxt_gaussian_smooth's passes, truncate 4, the
 * resampling's boundary and fill value) into a float32 temporary, which is then resampled with the same options less
 * anti_alias. The views and the other options were checked by resample_impl. */
static vxt_status resample_antialiased(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                       const vxt_resample_options *o)
{
    static const char *const f = "vxt_resample";
    if (o->in_z_total || o->out_z_total)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "%s: opts.anti_alias with a slab (in_z_total %lld, out_z_total %lld): a slab lacks the "
                         "neighbours its smoothing needs",
                         f, (long long)o->in_z_total, (long long)o->out_z_total);
    if (out->dtype != VXT_DTYPE_F32)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: opts.anti_alias needs a float32 output (out.dtype is %s)",
                         f, vxt_dtype_name(out->dtype));
    double sigma[3];
    vxt_status st = vxt_antialias_sigma(in->shape, out->shape, sigma);
    for (int a = 0; a < 3 && st == VXT_OK; a++) {
        if (!(o->anti_alias_sigma[a] >= 0.0) || !isfinite(o->anti_alias_sigma[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "%s: opts.anti_alias_sigma[%d] (%c) is %g (must be >= 0 and finite)", f, a, "zyx"[a],
                             o->anti_alias_sigma[a]);
        if (o->anti_alias_sigma[a] > 0.0)
            sigma[a] = o->anti_alias_sigma[a];
    }
    if (st != VXT_OK)
        return st;
    vxt_resample_options plain = *o;
    plain.anti_alias = 0;
    if (sigma[0] == 0.0 && sigma[1] == 0.0 && sigma[2] == 0.0) /* nothing downsampled: nothing to smooth */
        return resample_with(ctx, in, out, &plain, NULL);
    const size_t spatial = vxt__pp_spatial(in), out_spatial = vxt__pp_spatial(out);
    float *tmp = malloc(spatial * sizeof *tmp);
    if (!tmp)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for a float32 channel of %zu voxels to smooth",
                         f, spatial);
    for (int64_t c = 0; c < in->channels && st == VXT_OK; c++) {
        vxt_volume ic = *in, sc = {tmp, VXT_DTYPE_F32, 1, {in->shape[0], in->shape[1], in->shape[2]}}, oc = *out;
        ic.data = (unsigned char *)in->data + (size_t)c * spatial * vxt_dtype_size(in->dtype);
        ic.channels = 1;
        oc.data = (float *)out->data + (size_t)c * out_spatial;
        oc.channels = 1;
        st = vxt__smooth_run(ctx, f, &ic, &sc, sigma, 4.0, o->boundary, o->fill_value);
        /* clipped to the range of the input, not of its smoothed copy (skimage clips to the image it was given) */
        if (st == VXT_OK)
            st = resample_with(ctx, &sc, &oc, &plain, &ic);
    }
    free(tmp);
    return st;
}

static vxt_status resample_impl(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                const vxt_resample_options *opts)
{
    return resample_with(ctx, in, out, opts, NULL);
}

/* ---- which input planes an output slab reads ------------------------------------------------------------ */

void vxt__resample_z_table(const vxt_resample_options *o, int64_t nin, int64_t nout, int64_t *lo, int64_t *hi)
{
    /* the z tables as the resampler makes them, then per output plane the range of its sources; an output plane
     * that reads nothing (constant boundary) gets the empty range at its predecessor's start, so that the ranges
     * never move backwards */
    int64_t *k0 = lo, *k1 = hi; /* the index tables are computed into the outputs, then reduced in place */
    float *w = malloc(2 * (size_t)nout * sizeof *w);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    if (w)
        vxt__resample_axis_table(nin, nout, o->interp[0], o->align, o->boundary, o->scale[0], k0, k1, w, w + nout);
    vxt__fpenv_leave(&env);
    free(w);
    int64_t prev = 0;
    for (int64_t z = 0; z < nout; z++) {
        int64_t a = k0[z], b = k1[z];
        int64_t l = a >= 0 && b >= 0 ? (a < b ? a : b) : a >= 0 ? a : b;
        int64_t h = a > b ? a : b;
        if (l < 0) {
            lo[z] = hi[z] = prev;
        } else {
            lo[z] = l;
            hi[z] = h + 1;
            prev = l;
        }
    }
}

vxt_status vxt_resample_z_sources(const vxt_resample_options *opts, int64_t in_depth, int64_t out_depth,
                                  int64_t out_z0, int64_t out_z1, int64_t *src_z0, int64_t *src_z1)
{
    static const char *const f = "vxt_resample_z_sources";
    VXT_CHECK_NULL(NULL, src_z0);
    VXT_CHECK_NULL(NULL, src_z1);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    if (opts) {
        vxt_status st = check_opts(NULL, f, opts);
        if (st != VXT_OK)
            return st;
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    if (in_depth < 1 || out_depth < 1 || out_z0 < 0 || out_z1 < out_z0 || out_z1 > out_depth)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: depths %lld -> %lld and output planes [%lld, %lld) (depths "
                         ">= 1, 0 <= z0 <= z1 <= out_depth)", f, (long long)in_depth, (long long)out_depth,
                         (long long)out_z0, (long long)out_z1);
    if (o.interp[0] == VXT_INTERP_CUBIC) { /* the prefilter along z reads every plane */
        *src_z0 = out_z1 > out_z0 ? 0 : 0;
        *src_z1 = out_z1 > out_z0 ? in_depth : 0;
        return VXT_OK;
    }
    int64_t *t = malloc(2 * (size_t)out_depth * sizeof *t);
    if (!t)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", f);
    vxt__resample_z_table(&o, in_depth, out_depth, t, t + out_depth);
    int64_t a = INT64_MAX, b = 0;
    for (int64_t z = out_z0; z < out_z1; z++)
        if (t[out_depth + z] > t[z]) {
            a = t[z] < a ? t[z] : a;
            b = t[out_depth + z] > b ? t[out_depth + z] : b;
        }
    free(t);
    *src_z0 = a == INT64_MAX ? 0 : a;
    *src_z1 = a == INT64_MAX ? 0 : b;
    return VXT_OK;
}

/* ---- shapes and nnU-Net's modes ---------------------------------------------------------------------------- */

vxt_status vxt_resample_shape_spacing(const int64_t in_shape[3], const double in_spacing[3],
                                      const double out_spacing[3], int64_t out_shape[3])
{
    static const char *const f = "vxt_resample_shape_spacing";
    VXT_CHECK_NULL(NULL, in_shape);
    VXT_CHECK_NULL(NULL, in_spacing);
    VXT_CHECK_NULL(NULL, out_spacing);
    VXT_CHECK_NULL(NULL, out_shape);
    int64_t res[3];
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    vxt_status st = VXT_OK;
    for (int a = 0; a < 3 && st == VXT_OK; a++) {
        if (in_shape[a] < 1)
            st = vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: in_shape[%d] is %lld (must be >= 1)", f, a,
                           (long long)in_shape[a]);
        else if (!(in_spacing[a] > 0.0) || !isfinite(in_spacing[a]))
            st = vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: in_spacing[%d] is %g (must be > 0 and finite)", f, a,
                           in_spacing[a]);
        else if (!(out_spacing[a] > 0.0) || !isfinite(out_spacing[a]))
            st = vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: out_spacing[%d] is %g (must be > 0 and finite)", f, a,
                           out_spacing[a]);
        if (st != VXT_OK)
            break;
        /* nnU-Net: np.round((old_spacing / new_spacing) * old_shape): numpy rounds half to even */
        double v = in_spacing[a] / out_spacing[a] * (double)in_shape[a];
        double r = nearbyint(v); /* default environment: to nearest, ties to even */
        if (!(r < 9.2e18))
            st = vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: axis %d (%c): %g voxels do not fit int64", f, a, "zyx"[a], v);
        else if (r < 1.0)
            st = vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT,
                           "%s: axis %d (%c): %lld voxels at spacing %g become %g at spacing %g, which rounds to 0", f,
                           a, "zyx"[a],
                           (long long)in_shape[a], in_spacing[a], v, out_spacing[a]);
        else
            res[a] = (int64_t)r;
    }
    vxt__fpenv_leave(&env);
    if (st == VXT_OK)
        memcpy(out_shape, res, sizeof res);
    return st;
}

static vxt_status resample_shape_scale_impl(const int64_t in_shape[3], const double scale[3], int64_t out_shape[3])
{
    static const char *const f = "vxt_resample_shape_scale";
    VXT_CHECK_NULL(NULL, in_shape);
    VXT_CHECK_NULL(NULL, scale);
    VXT_CHECK_NULL(NULL, out_shape);
    int64_t res[3];
    for (int a = 0; a < 3; a++) {
        if (in_shape[a] < 1)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: in_shape[%d] is %lld (must be >= 1)", f, a,
                             (long long)in_shape[a]);
        if (!(scale[a] > 0.0) || !isfinite(scale[a]))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: scale[%d] is %g (must be > 0 and finite)", f, a,
                             scale[a]);
        double v = floor((double)in_shape[a] * scale[a]); /* torch: floor(float(size) * scale) */
        if (!(v < 9.2e18))
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: axis %d (%c): %g voxels do not fit int64", f, a, "zyx"[a], v);
        if (v < 1.0)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: axis %d (%c): %lld * %g is below 1 voxel", f, a, "zyx"[a],
                             (long long)in_shape[a], scale[a]);
        res[a] = (int64_t)v;
    }
    memcpy(out_shape, res, sizeof res);
    return VXT_OK;
}

/* nnU-Net: the axis with the largest spacing when max/min > 3 and exactly one axis has it; -1 otherwise. */
static int lowres_axis(const double sp[3])
{
    double mx = sp[0], mn = sp[0];
    for (int a = 1; a < 3; a++) {
        mx = sp[a] > mx ? sp[a] : mx;
        mn = sp[a] < mn ? sp[a] : mn;
    }
    if (!(mx / mn > 3.0))
        return -1;
    int axis = -1, count = 0;
    for (int a = 0; a < 3; a++)
        if (mx / sp[a] == 1.0) {
            axis = a;
            count++;
        }
    return count == 1 ? axis : -2; /* -2: anisotropic but ambiguous: no separate axis */
}

static vxt_status resample_options_nnunet_impl(const double in_spacing[3], const double out_spacing[3], int is_label,
                                               vxt_resample_options *opts)
{
    static const char *const f = "vxt_resample_options_nnunet";
    VXT_CHECK_NULL(NULL, in_spacing);
    VXT_CHECK_NULL(NULL, out_spacing);
    VXT_CHECK_NULL(NULL, opts);
    vxt_status st = vxt__check_struct_size(NULL, f, "vxt_resample_options", opts, opts->struct_size,
                                           offsetof(vxt_resample_options, out_z_offset), sizeof(vxt_resample_options));
    if (st != VXT_OK)
        return st;
    for (int a = 0; a < 3; a++)
        if (!(in_spacing[a] > 0.0) || !isfinite(in_spacing[a]) || !(out_spacing[a] > 0.0) || !isfinite(out_spacing[a]))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT,
                             "%s: spacings of axis %d (%c) are %g and %g (must be > 0 and finite)", f, a, "zyx"[a],
                             in_spacing[a],
                             out_spacing[a]);
    /* nnU-Net resample_data_or_seg_to_shape: the current spacing decides first, then the target spacing */
    int axis = lowres_axis(in_spacing);
    if (axis == -1)
        axis = lowres_axis(out_spacing);
    for (int a = 0; a < 3; a++)
        opts->interp[a] = is_label ? VXT_INTERP_NEAREST : (a == axis ? VXT_INTERP_NEAREST : VXT_INTERP_LINEAR);
    opts->align = VXT_ALIGN_HALF_PIXEL;
    opts->boundary = VXT_BOUNDARY_CLAMP;
    for (int a = 0; a < 3; a++)
        opts->scale[a] = 0.0;
    return VXT_OK;
}

static vxt_status resample_options_nnunet_order_impl(const double in_spacing[3], const double out_spacing[3],
                                                     int order, vxt_resample_options *opts)
{
    static const char *const f = "vxt_resample_options_nnunet_order";
    if (order != 1 && order != 3)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: order %d (nnU-Net's image orders here: 1 or 3)", f, order);
    /* the clip field is the caller's only when its struct has it: checked before anything is written */
    if (order == 3 && opts && opts->struct_size < offsetof(vxt_resample_options, clip) + sizeof opts->clip)
        return vxt__fail(NULL, VXT_ERR_STRUCT_SIZE, "%s: opts->struct_size %zu has no clip field (an older layout): "
                         "order 3 needs it", f, opts->struct_size);
    vxt_status st = resample_options_nnunet_impl(in_spacing, out_spacing, 0, opts);
    if (st != VXT_OK || order == 1)
        return st;
    for (int a = 0; a < 3; a++)
        if (opts->interp[a] == VXT_INTERP_LINEAR)
            opts->interp[a] = VXT_INTERP_CUBIC;
    opts->clip = VXT_CLIP_INPUT_RANGE;
    return VXT_OK;
}

/* Public entry: host-side arithmetic (parameters rounded to float32, tables, statistics) runs in the default
 * floating-point environment whatever the caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_resample, resample_impl, (vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                 const vxt_resample_options *opts), (ctx, in, out, opts))

VXT__FPENV_ENTRY(vxt_resample_shape_scale, resample_shape_scale_impl, (const int64_t in_shape[3], const double scale[3],
                 int64_t out_shape[3]), (in_shape, scale, out_shape))

VXT__FPENV_ENTRY(vxt_resample_options_nnunet_order, resample_options_nnunet_order_impl,
                 (const double in_spacing[3], const double out_spacing[3], int order, vxt_resample_options *opts),
                 (in_spacing, out_spacing, order, opts))

VXT__FPENV_ENTRY(vxt_resample_options_nnunet, resample_options_nnunet_impl, (const double in_spacing[3],
                 const double out_spacing[3], int is_label, vxt_resample_options *opts),
                 (in_spacing, out_spacing, is_label, opts))
