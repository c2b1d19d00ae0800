/* histogram_cpu.c - the CPU twin of kernels/histogram/histogram.cl: the voxels' bins (kernels/histogram/
 * vxt_histogram.h) counted on the thread pool into per-thread partial histograms, then summed, for
 * runtime/preproc/histogram.c. Counts are integers, so they equal the kernels' whatever the split. */
#include <stdlib.h>

#include "histogram_cpu.h"

#define GRAIN ((size_t)1 << 16)

/* Per pool slot: four 32-bit histograms filled round-robin (consecutive voxels with the same value - CT air, a
 * mask's background - would otherwise wait on each other's increment of the same counter), folded into 64-bit
 * totals before a counter could overflow and at the end. */
#define NSUB 4
#define FOLD_AFTER ((size_t)1 << 30)

typedef struct hslot {
    uint32_t *sub;   /* NSUB x nbins */
    uint64_t *total; /* nbins */
    size_t pending;  /* voxels counted into sub since the last fold */
} hslot;

static void fold(hslot *h, size_t nbins)
{
    for (size_t s = 0; s < NSUB; s++)
        for (size_t b = 0; b < nbins; b++) {
            h->total[b] += h->sub[s * nbins + b];
            h->sub[s * nbins + b] = 0;
        }
    h->pending = 0;
}

#define VXT_CPU_HIST(S, T, LOAD, DT)                                                                                   \
    VXT_CPU_HOT static void cpu_hist_##S(const T *in, const vxt_u8 *mask, const vxt_hpar *pp, const vxt_u32 *targets,  \
                                         const float *thr, uint32_t *h, size_t nbins, size_t b, size_t e)              \
    {                                                                                                                  \
        const vxt_hpar p = *pp;                                                                                        \
        uint32_t *h0 = h, *h1 = h + nbins, *h2 = h + 2 * nbins, *h3 = h + 3 * nbins;                                   \
        size_t i = b;                                                                                                  \
        /* keys without a per-voxel selection (the non-zero selection: zeros removed afterwards, vxt__hist_run) */     \
        if (p.mode == VXT_HIST_KEYS && (p.sel == VXT_SEL_ALL || (p.sel == VXT_SEL_NONZERO && DT != VXT_DT_I32))) {     \
            /* 32-bit keys: the top 16 bits (the host sets p.shift accordingly) */                                     \
            const vxt_u32 sh = (DT == VXT_DT_I32 || DT == VXT_DT_F32 || DT == VXT_DT_F64) ? 16u : 0u;                  \
            for (; i + 4 <= e; i += 4) {                                                                               \
                vxt_u32 k0 = vxt_key_##S(in[i]), k1 = vxt_key_##S(in[i + 1]), k2 = vxt_key_##S(in[i + 2]),             \
                        k3 = vxt_key_##S(in[i + 3]);                                                                   \
                /* NaN has no key; only float types can hold one (the test folds away for integers) */                 \
                const int fl = DT == VXT_DT_F32 || DT == VXT_DT_F64;                                                   \
                int n0 = fl && vxt_isnan(LOAD(in[i])), n1 = fl && vxt_isnan(LOAD(in[i + 1])),                          \
                    n2 = fl && vxt_isnan(LOAD(in[i + 2])), n3 = fl && vxt_isnan(LOAD(in[i + 3]));                      \
                h0[k0 >> sh] += (uint32_t)!n0;                                                                         \
                h1[k1 >> sh] += (uint32_t)!n1;                                                                         \
                h2[k2 >> sh] += (uint32_t)!n2;                                                                         \
                h3[k3 >> sh] += (uint32_t)!n3;                                                                         \
            }                                                                                                          \
        }                                                                                                              \
        if (p.mode == VXT_HIST_KEYS && p.sel == VXT_SEL_MASK) { /* keys inside a mask */                               \
            const vxt_u32 sh = (DT == VXT_DT_I32 || DT == VXT_DT_F32 || DT == VXT_DT_F64) ? 16u : 0u;                  \
            const int fl = DT == VXT_DT_F32 || DT == VXT_DT_F64;                                                       \
            for (; i + 4 <= e; i += 4) {                                                                               \
                vxt_u32 k0 = vxt_key_##S(in[i]), k1 = vxt_key_##S(in[i + 1]), k2 = vxt_key_##S(in[i + 2]),             \
                        k3 = vxt_key_##S(in[i + 3]);                                                                   \
                int n0 = fl && vxt_isnan(LOAD(in[i])), n1 = fl && vxt_isnan(LOAD(in[i + 1])),                          \
                    n2 = fl && vxt_isnan(LOAD(in[i + 2])), n3 = fl && vxt_isnan(LOAD(in[i + 3]));                      \
                h0[k0 >> sh] += (uint32_t)(!n0 & (mask[i] != 0));                                                      \
                h1[k1 >> sh] += (uint32_t)(!n1 & (mask[i + 1] != 0));                                                  \
                h2[k2 >> sh] += (uint32_t)(!n2 & (mask[i + 2] != 0));                                                  \
                h3[k3 >> sh] += (uint32_t)(!n3 & (mask[i + 3] != 0));                                                  \
            }                                                                                                          \
        }                                                                                                              \
        for (; i + 4 <= e; i += 4) {                                                                                   \
            vxt_i32 b0 = vxt_hist_bin_##S(in[i], mask ? mask[i] : (vxt_u8)0, &p, targets, thr);                        \
            vxt_i32 b1 = vxt_hist_bin_##S(in[i + 1], mask ? mask[i + 1] : (vxt_u8)0, &p, targets, thr);                \
            vxt_i32 b2 = vxt_hist_bin_##S(in[i + 2], mask ? mask[i + 2] : (vxt_u8)0, &p, targets, thr);                \
            vxt_i32 b3 = vxt_hist_bin_##S(in[i + 3], mask ? mask[i + 3] : (vxt_u8)0, &p, targets, thr);                \
            if (b0 >= 0)                                                                                               \
                h0[b0]++;                                                                                              \
            if (b1 >= 0)                                                                                               \
                h1[b1]++;                                                                                              \
            if (b2 >= 0)                                                                                               \
                h2[b2]++;                                                                                              \
            if (b3 >= 0)                                                                                               \
                h3[b3]++;                                                                                              \
        }                                                                                                              \
        for (; i < e; i++) {                                                                                           \
            vxt_i32 b0 = vxt_hist_bin_##S(in[i], mask ? mask[i] : (vxt_u8)0, &p, targets, thr);                        \
            if (b0 >= 0)                                                                                               \
                h0[b0]++;                                                                                              \
        }                                                                                                              \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_CPU_HIST)

typedef struct hjob {
    vxt_dtype dtype;
    const void *in;
    const vxt_u8 *mask;
    vxt_hpar p;
    const vxt_u32 *targets;
    const float *thr;
    size_t nbins;
    hslot *slots; /* one per pool slot */
} hjob;

static void cpu_task(void *arg, size_t b, size_t e, int slot)
{
    const hjob *j = (const hjob *)arg;
    hslot *h = &j->slots[slot];
    if (h->pending + (e - b) > FOLD_AFTER)
        fold(h, j->nbins);
    h->pending += e - b;
    switch (j->dtype) {
#define VXT_CASE(S, T, LOAD, DT)                                                                                       \
    case DT:                                                                                                           \
        cpu_hist_##S((const T *)j->in, j->mask, &j->p, j->targets, j->thr, h->sub, j->nbins, b, e);                    \
        break;
        VXT_FOR_EACH_INPUT_TYPE(VXT_CASE)
#undef VXT_CASE
    default:
        break;
    }
}

vxt_status vxt__hist_cpu(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask, const vxt_hpar *hp,
                         const uint32_t *targets, const float *thr, size_t nbins, uint64_t *counts)
{
    const int threads = vxt__pool_threads(ctx->pool);
    hslot *slots = calloc((size_t)threads, sizeof *slots);
    uint32_t *sub = calloc((size_t)threads * NSUB * nbins, sizeof *sub);
    uint64_t *total = calloc((size_t)threads * nbins, sizeof *total);
    if (!slots || !sub || !total) {
        free(slots);
        free(sub);
        free(total);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "histogram: out of memory for %d x %d x %zu counters", threads,
                         NSUB, nbins);
    }
    for (int t = 0; t < threads; t++) {
        slots[t].sub = sub + (size_t)t * NSUB * nbins;
        slots[t].total = total + (size_t)t * nbins;
    }
    hjob j = {in->dtype, in->data, hp->sel == VXT_SEL_MASK ? (const vxt_u8 *)mask->data : NULL, *hp, targets, thr,
              nbins,     slots};
    vxt__pool_for(ctx->pool, vxt__pp_spatial(in), GRAIN, cpu_task, &j);
    for (int t = 0; t < threads; t++) {
        fold(&slots[t], nbins);
        for (size_t b = 0; b < nbins; b++)
            counts[b] += slots[t].total[b];
    }
    free(slots);
    free(sub);
    free(total);
    return VXT_OK;
}
