/* intensity_cpu.c - the CPU twin of kernels/intensity/intensity.cl: the pointwise intensity transform of
 * kernels/intensity/vxt_intensity.h in per-type CPU loops, run on the thread pool by runtime/preproc/intensity.c.
 * The same per-voxel function as the kernels, so the same bits. */
#include "intensity_cpu.h"

/* One loop per input type, selection and step set, dispatched outside the loops; straight-line bodies that the
 * compiler vectorizes. */
#define VXT_CPU_LOOP(LOAD, FN, SEL_EXPR)                                                                               \
    for (size_t i = b; i < e; i++) {                                                                                   \
        float x = LOAD(in[i]);                                                                                         \
        float y = FN(&p, x);                                                                                           \
        out[i] = (SEL_EXPR) ? y : x;                                                                                   \
    }

/* Mask loops: split the range at channel boundaries so that the mask index is a plain offset. */
#define VXT_CPU_MASK_LOOP(T, LOAD, FN)                                                                                 \
    for (size_t s = b; s < e;) {                                                                                       \
        const size_t m0 = s % spatial, len = e - s < spatial - m0 ? e - s : spatial - m0;                              \
        const T *ip = in + s;                                                                                          \
        float *op = out + s;                                                                                           \
        const vxt_u8 *mp = mask + m0;                                                                                  \
        for (size_t i = 0; i < len; i++) {                                                                             \
            float x = LOAD(ip[i]);                                                                                     \
            float y = FN(&p, x);                                                                                       \
            op[i] = mp[i] ? y : x;                                                                                     \
        }                                                                                                              \
        s += len;                                                                                                      \
    }

#define VXT_CPU_DISPATCH(T, LOAD)                                                                                      \
    const vxt_ipar p = *pp;                                                                                            \
    const int full = (p.flags & VXT_IPAR_FULL) != 0;                                                                   \
    if (sel == VXT_SEL_ALL && full) {                                                                                  \
        VXT_CPU_LOOP(LOAD, vxt_intensity_apply, 1)                                                                     \
    } else if (sel == VXT_SEL_ALL) {                                                                                   \
        VXT_CPU_LOOP(LOAD, vxt_intensity_basic, 1)                                                                     \
    } else if (sel == VXT_SEL_NONZERO && full) {                                                                       \
        VXT_CPU_LOOP(LOAD, vxt_intensity_apply, x != 0.0f)                                                             \
    } else if (sel == VXT_SEL_NONZERO) {                                                                               \
        VXT_CPU_LOOP(LOAD, vxt_intensity_basic, x != 0.0f)                                                             \
    } else if (full) {                                                                                                 \
        VXT_CPU_MASK_LOOP(T, LOAD, vxt_intensity_apply)                                                                \
    } else {                                                                                                           \
        VXT_CPU_MASK_LOOP(T, LOAD, vxt_intensity_basic)                                                                \
    }

#define VXT_CPU_INTENSITY(S, T, LOAD, DT)                                                                              \
    VXT_CPU_HOT static void cpu_f32_##S(const T *in, float *out, const vxt_u8 *mask, size_t spatial, int sel,          \
                                        const vxt_ipar *pp, size_t b, size_t e){VXT_CPU_DISPATCH(                      \
        T, LOAD)} VXT_CPU_HOT static void cpu_u8_##S(const T *in, vxt_u8 *out, const vxt_ipar *pp, size_t b, size_t e) \
    {                                                                                                                  \
        const vxt_ipar p = *pp;                                                                                        \
        for (size_t i = b; i < e; i++)                                                                                 \
            out[i] = vxt_to_u8(vxt_intensity_apply(&p, LOAD(in[i])), p.oscale);                                        \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_INTENSITY)

/* float32 in place: one pointer, so the compiler need not guard against aliasing (that guard would fall back to
 * scalar code for exactly this case). The same arithmetic as cpu_f32_f32. */
VXT_CPU_HOT static void cpu_inplace_f32(float *io, const vxt_u8 *mask, size_t spatial, int sel, const vxt_ipar *pp,
                                        size_t b, size_t e)
{
    float *out = io;
    const float *in = io;
    VXT_CPU_DISPATCH(float, vxt_cvt_f32)
}

void vxt__intensity_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const ijob *j = (const ijob *)arg;
    (void)slot;
    if (j->dtype == VXT_DTYPE_F32 && !j->out_u8 && j->in == j->out) {
        cpu_inplace_f32((float *)j->out, j->mask, j->spatial, j->sel, &j->p, b, e);
        return;
    }
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        if (j->out_u8)                                                                                                 \
            cpu_u8_##S((const T *)j->in, (vxt_u8 *)j->out, &j->p, b, e);                                               \
        else                                                                                                           \
            cpu_f32_##S((const T *)j->in, (float *)j->out, j->mask, j->spatial, j->sel, &j->p, b, e);                  \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
}
