/* resample_cubic_cpu.c - the CPU twin of kernels/resample/resample_cubic.cl: the coefficient buffer, the prefilter
 * (vxt_bs_filter_lines of kernels/resample/vxt_cubic.h on up to VXT_BS_LANES lines side by side, so that the
 * recursions vectorize along x or interleave across rows) and the sampling (rows along x, then planes along y, each
 * computed once per thread and cached, then the z taps), on the thread pool for runtime/preproc/resample_cubic.c.
 * The same arithmetic as the kernels, so the same bits. */
#include <stdlib.h>
#include <string.h>

#include "resample_cubic_cpu.h"
#include "vxt_cubic.h"

/* ---- the coefficient buffer ------------------------------------------------------------------------------- */

#define VXT_CPU_PAD_ROW(S, T, LOAD, DT)                                                                                \
    VXT_CPU_HOT static void pad_row_##S(const T *row, int64_t nx, int64_t px, int64_t bx, int edge, float fill,       \
                                        float *c)                                                                      \
    {                                                                                                                  \
        for (int64_t x = 0; x < nx; x++)                                                                               \
            c[px + x] = LOAD(row[x]);                                                                                  \
        const float a = edge ? c[px] : fill, b = edge ? c[px + nx - 1] : fill;                                         \
        for (int64_t x = 0; x < px; x++)                                                                               \
            c[x] = a;                                                                                                  \
        for (int64_t x = px + nx; x < bx; x++)                                                                         \
            c[x] = b;                                                                                                  \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_PAD_ROW)

/* Buffer planes [b, e): each row is the input row at the clamped (z, y) with its ends extended, or the fill value
 * (vxt_bs_padded_*: the same values). */
void vxt__bs_pad_task(void *arg, size_t b, size_t e, int slot)
{
    (void)slot;
    const cjob *j = arg;
    const size_t es = vxt_dtype_size(j->dtype);
    for (int64_t zb = (int64_t)b; zb < (int64_t)e; zb++) {
        for (int64_t yb = 0; yb < j->by; yb++) {
            float *c = j->c + ((size_t)zb * (size_t)j->by + (size_t)yb) * (size_t)j->bx;
            int64_t z = zb - j->pz, y = yb - j->py;
            if (!j->edge && (z < 0 || z >= j->nz || y < 0 || y >= j->ny)) {
                for (int64_t x = 0; x < j->bx; x++)
                    c[x] = j->fill;
                continue;
            }
            z = z < 0 ? 0 : (z >= j->nz ? j->nz - 1 : z);
            y = y < 0 ? 0 : (y >= j->ny ? j->ny - 1 : y);
            const unsigned char *row = j->in + ((size_t)z * (size_t)j->ny + (size_t)y) * (size_t)j->nx * es;
            switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        pad_row_##S((const T *)(const void *)row, j->nx, j->px, j->bx, j->edge, j->fill, c);                           \
        break;
                VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
            default:
                break;
            }
        }
    }
}

/* ---- the prefilter ------------------------------------------------------------------------------------------ */

static int64_t groups(int64_t n)
{
    return (n + VXT_BS_LANES - 1) / VXT_BS_LANES;
}

size_t vxt__bs_filter_items(const cjob *j)
{
    /* z and y: lines side by side along x; x: rows side by side, in groups along y */
    return j->axis == 2 ? (size_t)j->bz * (size_t)groups(j->by) : (size_t)(j->axis == 0 ? j->by : j->bz) *
                                                                       (size_t)groups(j->bx);
}

/* dst[x][r] = src[r][x] for r < rows, x < cols (row strides ss, ds), in 8 x 8 blocks that stay in L1. */
VXT_CPU_HOT static void transpose(const float *restrict src, int64_t ss, float *restrict dst, int64_t ds, int64_t rows,
                                  int64_t cols)
{
    for (int64_t r0 = 0; r0 < rows; r0 += 8)
        for (int64_t c0 = 0; c0 < cols; c0 += 8) {
            const int64_t r1 = r0 + 8 < rows ? r0 + 8 : rows, c1 = c0 + 8 < cols ? c0 + 8 : cols;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++)
                    dst[c * ds + r] = src[r * ss + c];
        }
}

/* Line group g of the pass's axis. Rows (axis x) are filtered side by side from a transposed copy (tmp: bx x
 * VXT_BS_LANES floats, or NULL: in place, strided), so that the lanes are contiguous and the recursions vectorize;
 * each lane's arithmetic is the same either way. */
VXT_CPU_HOT static void filter_group(const cjob *j, int64_t g, float *tmp)
{
    const int64_t plane = j->by * j->bx;
    if (j->axis == 2) { /* rows (z, y0 .. y0 + lanes) */
        const int64_t ng = groups(j->by), z = g / ng, y0 = (g % ng) * VXT_BS_LANES;
        const int lanes = (int)(j->by - y0 < VXT_BS_LANES ? j->by - y0 : VXT_BS_LANES);
        float *c = j->c + z * plane + y0 * j->bx;
        if (!tmp) {
            vxt_bs_filter_lines(c, 1, j->bx, j->bx, lanes, j->reflect);
            return;
        }
        transpose(c, j->bx, tmp, VXT_BS_LANES, lanes, j->bx);
        vxt_bs_filter_lines(tmp, VXT_BS_LANES, j->bx, 1, lanes, j->reflect);
        transpose(tmp, VXT_BS_LANES, c, j->bx, j->bx, lanes);
        return;
    }
    const int64_t ng = groups(j->bx), a = g / ng, x0 = (g % ng) * VXT_BS_LANES;
    const int lanes = (int)(j->bx - x0 < VXT_BS_LANES ? j->bx - x0 : VXT_BS_LANES);
    if (j->axis == 0) /* lines along z at (y = a, x0 .. x0 + lanes) */
        vxt_bs_filter_lines(j->c + a * j->bx + x0, plane, j->bz, 1, lanes, j->reflect);
    else /* lines along y in plane z = a */
        vxt_bs_filter_lines(j->c + a * plane + x0, j->bx, j->by, 1, lanes, j->reflect);
}

void vxt__bs_filter_task(void *arg, size_t b, size_t e, int slot)
{
    (void)slot;
    const cjob *j = arg;
    /* the transposed rows of axis x; without memory, the strided in-place version (the same bits) */
    float *tmp = j->axis == 2 ? malloc((size_t)j->bx * VXT_BS_LANES * sizeof *tmp) : NULL;
    for (size_t g = b; g < e; g++)
        filter_group(j, (int64_t)g, tmp);
    free(tmp);
}

/* ---- sampling ---------------------------------------------------------------------------------------------- */

typedef struct pcache {
    float *plane[VXT_BS_CACHE];
    int64_t tag[VXT_BS_CACHE]; /* the source plane held, -2: none */
    int64_t used[VXT_BS_CACHE];
    int64_t clock;
    float *rows;      /* one source plane's rows along x: by x nxo */
    float *fill_row;  /* a row of the fill value along x: nxo */
    float *fill_plane; /* a plane of fill rows along y: nyo x nxo (source plane -1) */
} pcache;

size_t vxt__bs_sample_scratch(const cjob *j)
{
    return (VXT_BS_CACHE + 1) * (size_t)j->nyo * (size_t)j->nxo + (size_t)j->by * (size_t)j->nxo + (size_t)j->nxo;
}

/* One buffer row interpolated along x: vxt_tap_sum over the x taps for every output x (the fill value where a tap
 * is -1). */
VXT_CPU_HOT static void row_x(const cjob *j, const float *c, float *r)
{
    const int64_t n = j->nxo;
    const int32_t *k0 = j->ix32, *k1 = k0 + n, *k2 = k1 + n, *k3 = k2 + n;
    const float *w0 = j->wx4, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
    const float fill = j->fill;
    switch (j->nt[2]) {
    case 1:
        for (int64_t x = 0; x < n; x++)
            r[x] = k0[x] < 0 ? fill : c[k0[x]];
        break;
    case 2:
        for (int64_t x = 0; x < n; x++) {
            float a0 = k0[x] < 0 ? fill : c[k0[x]], a1 = k1[x] < 0 ? fill : c[k1[x]];
            r[x] = vxt_tap_sum(2, w0[x], a0, w1[x], a1, 0.0f, 0.0f, 0.0f, 0.0f);
        }
        break;
    default:
        for (int64_t x = 0; x < n; x++) {
            float a0 = k0[x] < 0 ? fill : c[k0[x]], a1 = k1[x] < 0 ? fill : c[k1[x]];
            float a2 = k2[x] < 0 ? fill : c[k2[x]], a3 = k3[x] < 0 ? fill : c[k3[x]];
            r[x] = vxt_tap_sum(4, w0[x], a0, w1[x], a1, w2[x], a2, w3[x], a3);
        }
        break;
    }
}

/* Rows combined along y: q[x] = vxt_tap_sum over the y taps of output row yo. */
VXT_CPU_HOT static void plane_y(const cjob *j, const float *const *src, const float *wy, int n, float *q)
{
    const float w0 = wy[0], w1 = wy[1], w2 = wy[2], w3 = wy[3];
    const float *a = src[0], *b = src[1], *c = src[2], *d = src[3];
    if (n == 1)
        memcpy(q, a, (size_t)j->nxo * sizeof *q);
    else if (n == 2)
        for (int64_t x = 0; x < j->nxo; x++)
            q[x] = vxt_tap_sum(2, w0, a[x], w1, b[x], 0.0f, 0.0f, 0.0f, 0.0f);
    else
        for (int64_t x = 0; x < j->nxo; x++)
            q[x] = vxt_tap_sum(4, w0, a[x], w1, b[x], w2, c[x], w3, d[x]);
}

/* Source plane zs (-1: outside) interpolated along x and y into q (nyo x nxo). */
static void compute_plane(const cjob *j, pcache *pc, int64_t zs, float *q)
{
    const int64_t nxo = j->nxo, nzo = j->nzo;
    if (zs >= 0)
        for (int64_t y = 0; y < j->by; y++)
            row_x(j, j->c + ((size_t)zs * (size_t)j->by + (size_t)y) * (size_t)j->bx, pc->rows + (size_t)y * (size_t)nxo);
    for (int64_t yo = 0; yo < j->nyo; yo++) {
        const int64_t *iy = j->idx + 4 * nzo + 4 * yo;
        const float *src[4] = {pc->fill_row, pc->fill_row, pc->fill_row, pc->fill_row};
        for (int t = 0; t < j->nt[1]; t++)
            if (zs >= 0 && iy[t] >= 0)
                src[t] = pc->rows + (size_t)iy[t] * (size_t)nxo;
        plane_y(j, src, j->w + 4 * nzo + 4 * yo, j->nt[1], q + (size_t)yo * (size_t)nxo);
    }
}

static const float *cache_get(const cjob *j, pcache *pc, int64_t zs)
{
    if (zs < 0)
        return pc->fill_plane;
    int victim = 0;
    for (int s = 0; s < VXT_BS_CACHE; s++) {
        if (pc->tag[s] == zs) {
            pc->used[s] = ++pc->clock;
            return pc->plane[s];
        }
        if (pc->used[s] < pc->used[victim])
            victim = s;
    }
    compute_plane(j, pc, zs, pc->plane[victim]);
    pc->tag[victim] = zs;
    pc->used[victim] = ++pc->clock;
    return pc->plane[victim];
}

/* Output planes [b, e): each source plane is interpolated along x and y once per thread (cached), then the z taps
 * combine planes; then the clip. */
void vxt__bs_sample_task(void *arg, size_t b, size_t e, int slot)
{
    const cjob *j = arg;
    const size_t pn = (size_t)j->nyo * (size_t)j->nxo;
    float *s = j->scratch + (size_t)slot * j->per_slot;
    pcache pc;
    for (int k = 0; k < VXT_BS_CACHE; k++) {
        pc.plane[k] = s + (size_t)k * pn;
        pc.tag[k] = -2;
        pc.used[k] = 0;
    }
    pc.clock = 0;
    pc.fill_plane = s + VXT_BS_CACHE * pn;
    pc.rows = pc.fill_plane + pn;
    pc.fill_row = pc.rows + (size_t)j->by * (size_t)j->nxo;
    /* the fill row: every x tap the fill value */
    {
        const int64_t n = j->nxo;
        const float *w0 = j->wx4, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
        for (int64_t x = 0; x < n; x++)
            pc.fill_row[x] = vxt_tap_sum(j->nt[2], w0[x], j->fill, w1[x], j->fill, w2[x], j->fill, w3[x], j->fill);
    }
    compute_plane(j, &pc, -1, pc.fill_plane);
    for (int64_t zo = (int64_t)b; zo < (int64_t)e; zo++) {
        const int64_t *iz = j->idx + 4 * zo;
        const float *wz = j->w + 4 * zo;
        const float *p[4] = {pc.fill_plane, pc.fill_plane, pc.fill_plane, pc.fill_plane};
        for (int t = 0; t < j->nt[0]; t++)
            p[t] = cache_get(j, &pc, iz[t]);
        float *o = j->out + (size_t)zo * pn;
        const int n = j->nt[0];
        for (size_t i = 0; i < pn; i++)
            o[i] = vxt_bs_store(vxt_tap_sum(n, wz[0], p[0][i], wz[1], p[1][i], wz[2], p[2][i], wz[3], p[3][i]));
        if (j->clip) {
            if (j->clip_axis == 0 || j->clip_axis < 0) {
                const size_t t = j->clip_axis == 0 ? (size_t)zo : 0;
                const float lo = j->lo[t], hi = j->hi[t];
                for (size_t i = 0; i < pn; i++)
                    o[i] = vxt_clip_range(o[i], lo, hi);
            } else {
                for (int64_t y = 0; y < j->nyo; y++)
                    for (int64_t x = 0; x < j->nxo; x++) {
                        const size_t t = (size_t)(j->clip_axis == 1 ? y : x), i = (size_t)(y * j->nxo + x);
                        o[i] = vxt_clip_range(o[i], j->lo[t], j->hi[t]);
                    }
            }
        }
    }
}
