/* patches_cpu.c - the CPU twin of kernels/patches/patches.cl: box rows and tri-planar patch rows read through the
 * shared conversions (kernels/common/vxt_convert.h) or copied, with constant padding outside the volume, on the
 * thread pool for runtime/preproc/patches.c. */
#include <string.h>

#include "patches_cpu.h"

static float load_at(const pjob *j, size_t i)
{
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT: {                                                                                                         \
        T x;                                                                                                           \
        memcpy(&x, j->in + i * sizeof(T), sizeof(T));                                                                  \
        return LOAD(x);                                                                                                \
    }
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        return 0.0f;
    }
}

/* One output row of the box: plane z, row y of channel c. */
void vxt__box_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const pjob *j = (const pjob *)arg;
    (void)slot;
    const size_t oes = j->raw ? j->es : sizeof(float);
    for (size_t t = b; t < e; t++) {
        const int64_t y = (int64_t)(t % (size_t)j->by);
        const int64_t cz = (int64_t)(t / (size_t)j->by);
        const int64_t z = cz % j->bz, c = cz / j->bz;
        const int64_t sz = j->z0 + z, sy = j->y0 + y;
        unsigned char *o = j->out + t * (size_t)j->bx * oes;
        const int row_in = sz >= 0 && sz < j->nz && sy >= 0 && sy < j->ny;
        const size_t base =
            (((size_t)c * (size_t)j->nz + (size_t)(row_in ? sz : 0)) * (size_t)j->ny + (size_t)(row_in ? sy : 0)) *
            (size_t)j->nx;
        for (int64_t x = 0; x < j->bx; x++) {
            const int64_t sx = j->x0 + x;
            const int inside = row_in && sx >= 0 && sx < j->nx;
            if (j->raw) {
                if (inside)
                    memcpy(o + (size_t)x * oes, j->in + (base + (size_t)sx) * j->es, j->es);
                else
                    memcpy(o + (size_t)x * oes, &j->fill_raw, j->es);
            } else {
                float v = inside ? load_at(j, base + (size_t)sx) : j->fill;
                memcpy(o + (size_t)x * oes, &v, sizeof v);
            }
        }
    }
}

/* One output patch row: (position, plane, channel, row). */
void vxt__triplanar_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const pjob *j = (const pjob *)arg;
    (void)slot;
    const int64_t rows = 2 * j->h0 + 1, cols = 2 * j->h1 + 1;
    for (size_t t = b; t < e; t++) {
        const int64_t r = (int64_t)(t % (size_t)rows);
        const size_t g = t / (size_t)rows;
        const int64_t c = (int64_t)(g % (size_t)j->channels), pt = (int64_t)(g / (size_t)j->channels);
        const int64_t plane = pt % 3, i = pt / 3;
        const int64_t cz = j->centers[3 * i], cy = j->centers[3 * i + 1], cx = j->centers[3 * i + 2];
        const int64_t dr = r - j->h0;
        float *o = (float *)(void *)j->out + t * (size_t)cols;
        for (int64_t col = 0; col < cols; col++) {
            const int64_t dc = col - j->h1;
            const int64_t z = plane == 0 ? cz : cz + dr;
            const int64_t y = plane == 0 ? cy + dr : (plane == 1 ? cy + dc : cy);
            const int64_t x = plane == 0 ? cx + dc : (plane == 1 ? cx : cx + dc);
            const int inside = z >= 0 && z < j->nz && y >= 0 && y < j->ny && x >= 0 && x < j->nx;
            o[col] =
                inside
                    ? load_at(j, (((size_t)c * (size_t)j->nz + (size_t)z) * (size_t)j->ny + (size_t)y) * (size_t)j->nx +
                                     (size_t)x)
                    : j->fill;
        }
    }
}
