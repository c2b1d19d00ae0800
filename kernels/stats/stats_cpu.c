/* stats_cpu.c - the CPU twin of kernels/stats/stats.cl: the fixed-order moments reduction of
 * kernels/stats/vxt_moments.h, one block record per block of VXT_MOM_BLOCK elements, run on the thread pool by
 * runtime/preproc/stats.c (which combines the records). The same lanes, steps and merge order as the kernels. */
#include "stats_cpu.h"

/* One block: 64 lanes held in arrays (the inner loop over lanes vectorizes), each lane accumulating its elements
 * in step order; lanes are then combined in lane order. */
#define VXT_MOM_LOOP(LOAD, COND, GUARD)                                                                                \
    for (int k = 0; k < VXT_MOM_STEPS; k++) {                                                                          \
        const size_t o = base + (size_t)k * VXT_MOM_LANES;                                                             \
        for (int l = 0; l < VXT_MOM_LANES; l++) {                                                                      \
            const size_t i = o + (size_t)l;                                                                            \
            if (GUARD) {                                                                                               \
                float v = LOAD(in[i]);                                                                                 \
                int s = (COND);                                                                                        \
                vxt_mom_step(&s1[l], &s2[l], &mn[l], &mx[l], &c[l], &cn[l], v, s, shift);                              \
            }                                                                                                          \
        }                                                                                                              \
    }

#define VXT_CPU_MOMENTS(S, T, LOAD, DT)                                                                                \
    VXT_CPU_HOT static void cpu_block_##S(const T *in, const vxt_u8 *mask, size_t n, int sel, double shift,            \
                                          size_t blk, vxt_mom *rec)                                                    \
    {                                                                                                                  \
        double s1[VXT_MOM_LANES], s2[VXT_MOM_LANES];                                                                   \
        float mn[VXT_MOM_LANES], mx[VXT_MOM_LANES];                                                                    \
        vxt_u32 c[VXT_MOM_LANES], cn[VXT_MOM_LANES];                                                                   \
        for (int l = 0; l < VXT_MOM_LANES; l++) {                                                                      \
            s1[l] = 0.0;                                                                                               \
            s2[l] = 0.0;                                                                                               \
            mn[l] = vxt_u2f(0x7f800000u);                                                                              \
            mx[l] = vxt_u2f(0xff800000u);                                                                              \
            c[l] = 0u;                                                                                                 \
            cn[l] = 0u;                                                                                                \
        }                                                                                                              \
        const size_t base = blk * (size_t)VXT_MOM_BLOCK;                                                               \
        if (base + VXT_MOM_BLOCK <= n) {                                                                               \
            if (sel == VXT_SEL_ALL) {                                                                                  \
                VXT_MOM_LOOP(LOAD, 1, 1)                                                                               \
            } else if (sel == VXT_SEL_NONZERO) {                                                                       \
                VXT_MOM_LOOP(LOAD, v != 0.0f, 1)                                                                       \
            } else {                                                                                                   \
                VXT_MOM_LOOP(LOAD, mask[i] != 0, 1)                                                                    \
            }                                                                                                          \
        } else {                                                                                                       \
            VXT_MOM_LOOP(LOAD, vxt_selected(sel, v, sel == VXT_SEL_MASK ? mask[i] : (vxt_u8)0), i < n)                 \
        }                                                                                                              \
        vxt_mom a, b;                                                                                                  \
        a.s1 = s1[0];                                                                                                  \
        a.s2 = s2[0];                                                                                                  \
        a.mn = mn[0];                                                                                                  \
        a.mx = mx[0];                                                                                                  \
        a.n = c[0];                                                                                                    \
        a.nan = cn[0];                                                                                                 \
        for (int l = 1; l < VXT_MOM_LANES; l++) {                                                                      \
            b.s1 = s1[l];                                                                                              \
            b.s2 = s2[l];                                                                                              \
            b.mn = mn[l];                                                                                              \
            b.mx = mx[l];                                                                                              \
            b.n = c[l];                                                                                                \
            b.nan = cn[l];                                                                                             \
            vxt_mom_merge(&a, &b);                                                                                     \
        }                                                                                                              \
        *rec = a;                                                                                                      \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_MOMENTS)

void vxt__stats_cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const mjob *j = (const mjob *)arg;
    (void)slot;
    for (size_t blk = b; blk < e; blk++) {
        switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        cpu_block_##S((const T *)j->in, j->mask, j->n, j->sel, j->shift, blk, &j->rec[blk]);                           \
        break;
            VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
        default:
            break;
        }
    }
}
