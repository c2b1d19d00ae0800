/* resample_cpu.c - the CPU twin of kernels/resample/resample.cl: the lerp tree of kernels/resample/vxt_resample.h
 * evaluated a row and a plane at a time (each source row and plane computed once and cached), or elements copied
 * for nearest output of the input's type, on the thread pool for runtime/preproc/resample.c. The same arithmetic
 * as the kernels, so the same bits. */
#include <string.h>

#include "resample_cpu.h"
#include "vxt_resample.h"

/* One source row (z, y) of channel c interpolated along x, the vxt_sep_row_* arithmetic for every output x: the
 * row is first converted to float32 (contiguous, vectorized), then read at the table's indices (a gather of
 * floats; int32 indices). The same values and operations as the kernels' loads and lerps. */
#define VXT_CPU_CONVERT(S, T, LOAD, DT)                                                                                \
    VXT_CPU_HOT static void convert_##S(const T *row, float *f, int64_t n)                                             \
    {                                                                                                                  \
        for (int64_t x = 0; x < n; x++)                                                                                \
            f[x] = LOAD(row[x]);                                                                                       \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_CONVERT)

VXT_CPU_HOT static void gather_row(const float *f, const int32_t *restrict k0, const int32_t *restrict k1,
                                   const float *restrict w0, const float *restrict w1, int64_t n, int nearest,
                                   int inside, float fill, float *restrict p)
{
    if (nearest && inside) {
        for (int64_t x = 0; x < n; x++)
            p[x] = f[k0[x]];
    } else if (inside) {
        for (int64_t x = 0; x < n; x++)
            p[x] = vxt_lerp2(f[k0[x]], f[k1[x]], w0[x], w1[x]);
    } else if (nearest) {
        for (int64_t x = 0; x < n; x++)
            p[x] = k0[x] < 0 ? fill : f[k0[x]];
    } else {
        for (int64_t x = 0; x < n; x++) {
            float a = k0[x] < 0 ? fill : f[k0[x]];
            float b = k1[x] < 0 ? fill : f[k1[x]];
            p[x] = vxt_lerp2(a, b, w0[x], w1[x]);
        }
    }
}

typedef struct cache {
    float *buf[2];
    int64_t tag_c[2], tag_k[2];
    int valid[2];
} cache;

static void compute_row(const rjob *j, int64_t c, int64_t z, int64_t y, float *p, float *f)
{
    if (z < 0 || y < 0) { /* a source row outside the volume: every value is the fill value */
        for (int64_t x = 0; x < j->nxo; x++)
            p[x] = (j->modes & 1) ? j->fill : vxt_lerp2(j->fill, j->fill, j->wx0[x], j->wx1[x]);
        return;
    }
    const unsigned char *row =
        j->in + (((size_t)c * (size_t)j->nzi + (size_t)z) * (size_t)j->nyi + (size_t)y) * (size_t)j->nxi * j->es;
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        convert_##S((const T *)(const void *)row, f, j->nxi);                                                          \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
    gather_row(f, j->kx0, j->kx1, j->wx0, j->wx1, j->nxo, j->modes & 1, j->x_inside, j->fill, p);
}

/* The cached entry (c, k), computing it into the slot that does not hold `keep` when missing. */
static float *cache_get(cache *ch, int64_t c, int64_t k, const float *keep, int *hit)
{
    for (int s = 0; s < 2; s++)
        if (ch->valid[s] && ch->tag_c[s] == c && ch->tag_k[s] == k) {
            *hit = 1;
            return ch->buf[s];
        }
    int s = ch->buf[0] == keep ? 1 : 0;
    ch->valid[s] = 1;
    ch->tag_c[s] = c;
    ch->tag_k[s] = k;
    *hit = 0;
    return ch->buf[s];
}

/* o[x] = lerp2(a[x], b[x], w0, w1): the y and z steps of the tree, a whole row at a time. */
VXT_CPU_HOT static void lerp_rows(float *restrict o, const float *a, const float *b, float w0, float w1, size_t n)
{
    for (size_t x = 0; x < n; x++)
        o[x] = vxt_lerp2(a[x], b[x], w0, w1);
}

/* Plane z of channel c interpolated along y and x (vxt_sep_plane_*), every output (y, x). */
static void compute_plane(const rjob *j, int64_t c, int64_t z, float *q, cache *rows, float *f)
{
    rows->valid[0] = rows->valid[1] = 0;
    const size_t nx = (size_t)j->nxo;
    for (int64_t y = 0; y < j->nyo; y++) {
        float *qr = q + (size_t)y * nx;
        if (j->ybad[y])
            continue; /* the output row is fill; its plane values are never read */
        int hit = 0;
        float *p0 = cache_get(rows, c, j->iy0[y], NULL, &hit);
        if (!hit)
            compute_row(j, c, z, j->iy0[y], p0, f);
        if (j->modes & 2) {
            memcpy(qr, p0, nx * sizeof(float));
            continue;
        }
        float *p1 = cache_get(rows, c, j->iy1[y], p0, &hit);
        if (!hit)
            compute_row(j, c, z, j->iy1[y], p1, f);
        lerp_rows(qr, p0, p1, j->wy0[y], j->wy1[y], nx);
    }
}

static void raw_slice(const rjob *j, int64_t c, int64_t zo)
{
    const size_t nx = (size_t)j->nxo, es = j->es;
    unsigned char *o = j->out + ((size_t)c * (size_t)j->nzo + (size_t)zo) * (size_t)j->nyo * nx * es;
    const int64_t z = j->iz0[zo];
    for (int64_t y = 0; y < j->nyo; y++, o += nx * es) {
        const int64_t yy = j->iy0[y];
        const unsigned char *row =
            j->in + (((size_t)c * (size_t)j->nzi + (size_t)z) * (size_t)j->nyi + (size_t)yy) * (size_t)j->nxi * es;
        for (size_t x = 0; x < nx; x++) {
            const int64_t xx = j->ix0[x];
            if (z < 0 || yy < 0 || xx < 0)
                memcpy(o + x * es, &j->fill_raw, es); /* little-endian: the low bytes */
            else
                memcpy(o + x * es, row + (size_t)xx * es, es);
        }
    }
}

void vxt__resample_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const rjob *j = (const rjob *)arg;
    const size_t plane = (size_t)j->nyo * (size_t)j->nxo;
    float *base = j->scratch + (size_t)slot * j->per_slot;
    cache planes = {{base, base + plane}, {0, 0}, {0, 0}, {0, 0}};
    cache rows = {{base + 2 * plane, base + 2 * plane + (size_t)j->nxo}, {0, 0}, {0, 0}, {0, 0}};
    float *f = base + 2 * plane + 2 * (size_t)j->nxo; /* one converted source row */
    for (size_t t = b; t < e; t++) {
        const int64_t c = (int64_t)(t / (size_t)j->nzo), zo = (int64_t)(t % (size_t)j->nzo);
        if (j->raw) {
            raw_slice(j, c, zo);
            continue;
        }
        float *o = (float *)(void *)j->out + t * plane;
        const int64_t z0 = j->iz0[zo], z1 = j->iz1[zo];
        if (z0 < 0 && z1 < 0) {
            for (size_t i = 0; i < plane; i++)
                o[i] = j->fill;
            continue;
        }
        int hit = 0;
        float *q0 = cache_get(&planes, c, z0, NULL, &hit);
        if (!hit)
            compute_plane(j, c, z0, q0, &rows, f);
        float *q1 = q0;
        if (!(j->modes & 4)) {
            q1 = cache_get(&planes, c, z1, q0, &hit);
            if (!hit)
                compute_plane(j, c, z1, q1, &rows, f);
        }
        const float a = j->wz0[zo], bw = j->wz1[zo];
        const size_t nx = (size_t)j->nxo;
        for (int64_t y = 0; y < j->nyo; y++) {
            float *orow = o + (size_t)y * nx;
            const float *r0 = q0 + (size_t)y * nx, *r1 = q1 + (size_t)y * nx;
            if (j->ybad[y]) {
                for (size_t x = 0; x < nx; x++)
                    orow[x] = j->fill;
                continue;
            }
            if (j->modes & 4)
                memcpy(orow, r0, nx * sizeof(float));
            else
                lerp_rows(orow, r0, r1, a, bw, nx);
            for (size_t x = 0; x < nx; x++)
                if (j->xbad[x])
                    orow[x] = j->fill;
        }
    }
}
