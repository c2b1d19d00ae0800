/* smooth_cpu.c - the CPU twin of kernels/smooth/smooth.cl: one pass of Gaussian smoothing a row of output at a time,
 * on the thread pool for runtime/preproc/smooth.c. Every output voxel takes the steps of kernels/smooth/vxt_smooth.h
 * in the kernel's order (vxt_smooth_first, vxt_smooth_step for j = r .. 1, vxt_smooth_store); the loops run each step
 * over a whole row so that they vectorize, which changes no voxel's arithmetic. */
#include "smooth_cpu.h"
#include "vxt_smooth.h"

/* Per input type: the centre tap of a row, one pair of taps from two source rows (NULL: outside, the fill value),
 * and a row loaded into the middle of an extended line (x passes). */
#define VXT_CPU_SMOOTH_ROWS(S, T, LOAD, DT)                                                                            \
    VXT_CPU_HOT static void first_##S(const T *c, float *restrict o, size_t n, float w0)                               \
    {                                                                                                                  \
        for (size_t x = 0; x < n; x++)                                                                                 \
            o[x] = vxt_smooth_first(LOAD(c[x]), w0);                                                                   \
    }                                                                                                                  \
    VXT_CPU_HOT static void step_##S(const T *a, const T *b, float *restrict o, size_t n, float w, float fill)         \
    {                                                                                                                  \
        if (a && b) {                                                                                                  \
            for (size_t x = 0; x < n; x++)                                                                             \
                o[x] = vxt_smooth_step(o[x], LOAD(a[x]), LOAD(b[x]), w);                                               \
        } else if (a) {                                                                                                \
            for (size_t x = 0; x < n; x++)                                                                             \
                o[x] = vxt_smooth_step(o[x], LOAD(a[x]), fill, w);                                                     \
        } else if (b) {                                                                                                \
            for (size_t x = 0; x < n; x++)                                                                             \
                o[x] = vxt_smooth_step(o[x], fill, LOAD(b[x]), w);                                                     \
        } else {                                                                                                       \
            for (size_t x = 0; x < n; x++)                                                                             \
                o[x] = vxt_smooth_step(o[x], fill, fill, w);                                                           \
        }                                                                                                              \
    }                                                                                                                  \
    VXT_CPU_HOT static void load_##S(const T *row, float *restrict f, size_t n)                                        \
    {                                                                                                                  \
        for (size_t x = 0; x < n; x++)                                                                                 \
            f[x] = LOAD(row[x]);                                                                                       \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_SMOOTH_ROWS)

VXT_CPU_HOT static void store_row(float *o, size_t n)
{
    for (size_t x = 0; x < n; x++)
        o[x] = vxt_smooth_store(o[x]);
}

/* x pass: the line e[0 .. n + 2r) holds v(-r .. n + r) (e[r + p] = v(p)); every output of the row takes each pair
 * of taps in turn. */
VXT_CPU_HOT static void line_x(const float *e, float *restrict o, size_t n, size_t r, const float *w)
{
    for (size_t p = 0; p < n; p++)
        o[p] = vxt_smooth_first(e[r + p], w[0]);
    for (size_t j = r; j >= 1; j--) {
        const float *a = e + r - j, *b = e + r + j, wj = w[j];
        for (size_t p = 0; p < n; p++)
            o[p] = vxt_smooth_step(o[p], a[p], b[p], wj);
    }
}

/* The first, pair and load loops of the job's type. */
static void row_first(const sjob *j, const void *c, float *o, size_t n)
{
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        first_##S((const T *)c, o, n, j->w[0]);                                                                        \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
}

static void row_step(const sjob *j, const void *a, const void *b, float *o, size_t n, float w)
{
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        step_##S((const T *)a, (const T *)b, o, n, w, j->fill);                                                        \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
}

static void row_load(const sjob *j, const void *row, float *f, size_t n)
{
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        load_##S((const T *)row, f, n);                                                                                \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
}

void vxt__smooth_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const sjob *j = (const sjob *)arg;
    const size_t es = vxt_dtype_size(j->dtype), nx = (size_t)j->nx, ny = (size_t)j->ny, r = (size_t)j->r;
    const size_t row_bytes = nx * es, plane_bytes = ny * row_bytes;
    float *ext = j->scratch ? j->scratch + (size_t)slot * j->per_slot : NULL;
    for (size_t t = b; t < e; t++) {
        const int64_t z = (int64_t)(t / ny), y = (int64_t)(t % ny);
        float *o = j->dst + t * nx;
        const unsigned char *plane = j->src + (size_t)z * plane_bytes;
        if (j->axis == 2) {
            /* the row and its extension as float32: the values the kernel's loads give */
            const unsigned char *row = plane + (size_t)y * row_bytes;
            row_load(j, row, ext + r, nx);
            for (size_t k = 0; k < r; k++) { /* the extension, through the boundary's table */
                const int64_t lo = j->idx[k], hi = j->idx[r + nx + k];
                ext[k] = lo < 0 ? j->fill : ext[r + (size_t)lo];
                ext[r + nx + k] = hi < 0 ? j->fill : ext[r + (size_t)hi];
            }
            line_x(ext, o, nx, r, j->w);
            store_row(o, nx);
            continue;
        }
        /* y or z: rows of source values at positions p - k and p + k along the axis */
        const int64_t p = j->axis == 1 ? y : z;
        const size_t stride = j->axis == 1 ? row_bytes : plane_bytes;
        const unsigned char *line0 = j->axis == 1 ? plane : j->src + (size_t)y * row_bytes; /* element 0 of the line */
        const int64_t *ix = j->idx + r + p; /* ix[k]: the index position p + k reads */
        row_first(j, line0 + (size_t)p * stride, o, nx);
        for (size_t k = r; k >= 1; k--) {
            const int64_t ia = ix[-(int64_t)k], ib = ix[k];
            row_step(j, ia < 0 ? NULL : line0 + (size_t)ia * stride, ib < 0 ? NULL : line0 + (size_t)ib * stride, o, nx,
                     j->w[k]);
        }
        store_row(o, nx);
    }
}
