/* resample_affine_cpu.c - the CPU twin of kernels/resample/resample_affine.cl: every output voxel mapped through
 * the float32 matrix and sampled by kernels/resample/vxt_resample.h (or its element copied for nearest output of
 * the input's type), one output plane per task item, on the thread pool for runtime/preproc/resample_affine.c. */
#include <string.h>

#include "resample_affine_cpu.h"
#include "vxt_resample.h"

#define VXT_CPU_AFFINE(S, T, LOAD, DT)                                                                                 \
    VXT_CPU_HOT static void slice_##S(const ajob *j, const T *in, float *o, int64_t zo)                                \
    {                                                                                                                  \
        const float *m = j->m;                                                                                         \
        for (int64_t y = 0; y < j->nyo; y++)                                                                           \
            for (int64_t x = 0; x < j->nxo; x++) {                                                                     \
                float cz = vxt_affine_coord(m[0], m[1], m[2], m[3], zo, y, x);                                         \
                float cy = vxt_affine_coord(m[4], m[5], m[6], m[7], zo, y, x);                                         \
                float cx = vxt_affine_coord(m[8], m[9], m[10], m[11], zo, y, x);                                       \
                o[y * j->nxo + x] = vxt_affine_sample_##S(in, j->nz, j->ny, j->nx, 0, j->nz, cz, cy, cx, j->linear,    \
                                                          j->clamp, j->fill);                                          \
            }                                                                                                          \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_AFFINE)

static void raw_slice(const ajob *j, const unsigned char *in, unsigned char *o, int64_t zo)
{
    const float *m = j->m;
    const size_t es = j->es;
    for (int64_t y = 0; y < j->nyo; y++)
        for (int64_t x = 0; x < j->nxo; x++, o += es) {
            float cz = vxt_affine_coord(m[0], m[1], m[2], m[3], zo, y, x);
            float cy = vxt_affine_coord(m[4], m[5], m[6], m[7], zo, y, x);
            float cx = vxt_affine_coord(m[8], m[9], m[10], m[11], zo, y, x);
            int64_t iz = 0, iy = 0, ix = 0;
            if (!vxt_affine_axis_nearest(cz, j->nz, j->clamp, &iz) ||
                !vxt_affine_axis_nearest(cy, j->ny, j->clamp, &iy) ||
                !vxt_affine_axis_nearest(cx, j->nx, j->clamp, &ix))
                memcpy(o, &j->fill_raw, es);
            else
                memcpy(o, in + (((size_t)iz * (size_t)j->ny + (size_t)iy) * (size_t)j->nx + (size_t)ix) * es, es);
        }
}

void vxt__affine_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const ajob *j = (const ajob *)arg;
    (void)slot;
    const size_t in_ch = (size_t)j->nz * (size_t)j->ny * (size_t)j->nx;
    const size_t plane = (size_t)j->nyo * (size_t)j->nxo;
    for (size_t t = b; t < e; t++) {
        const size_t c = t / (size_t)j->nzo;
        const int64_t zo = (int64_t)(t % (size_t)j->nzo);
        const unsigned char *in = j->in + c * in_ch * j->es;
        if (j->raw) {
            raw_slice(j, in, j->out + t * plane * j->es, zo);
            continue;
        }
        float *o = (float *)(void *)j->out + t * plane;
        switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        slice_##S(j, (const T *)(const void *)in, o, zo);                                                              \
        break;
            VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
        default:
            break;
        }
    }
}
