/* percentile.c - exact percentiles with numpy's default ('linear') method. The order statistics are found by
 * counting order-preserving keys (kernels/common/vxt_convert.h): one histogram of the whole key for 8- and 16-bit data;
 * for 32-bit keys (int32, float32, float64 read as float32) a radix select: a histogram of the top 16 bits finds
 * the bin holding each wanted rank, a second histogram of the low 16 bits of the voxels in those bins finds the
 * exact key. Counting is exact and order-independent, so both backends find the same values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "vxt_histogram.h"

static int key_bits(vxt_dtype t)
{
    switch (t) {
    case VXT_DTYPE_U8:
    case VXT_DTYPE_I8:
        return 8;
    case VXT_DTYPE_U16:
    case VXT_DTYPE_I16:
        return 16;
    default:
        return 32;
    }
}

static int float_keys(vxt_dtype t)
{
    return t == VXT_DTYPE_F32 || t == VXT_DTYPE_F64;
}

/* The value (as double) of a key. */
static double key_value(vxt_dtype t, uint32_t key)
{
    switch (t) {
    case VXT_DTYPE_U8:
    case VXT_DTYPE_U16:
        return (double)key;
    case VXT_DTYPE_I8:
        return (double)key - 128.0;
    case VXT_DTYPE_I16:
        return (double)key - 32768.0;
    case VXT_DTYPE_I32:
        return (double)(int32_t)(key ^ 0x80000000u);
    default:
        return (double)vxt_key_to_float(key);
    }
}

/* First bin b with cum[b + 1] > r (cum has nb + 1 entries, cum[0] = 0, r < cum[nb]). */
static size_t find_bin(const uint64_t *cum, size_t nb, uint64_t r)
{
    size_t lo = 0, hi = nb - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid + 1] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

typedef struct rank_req {
    uint64_t rank;
    uint32_t top; /* 32-bit keys: top 16 bits (bin of pass 1) */
    uint64_t rank_in_bin;
    uint32_t key;
} rank_req;

vxt_status vxt__percentiles_run(vxt_context *ctx, const vxt_volume *in, int sel, const vxt_volume *mask,
                                const double *q, size_t nq, double *values)
{
    const int bits = key_bits(in->dtype);
    const size_t nb1 = bits == 8 ? 256 : 65536;
    uint64_t *h = malloc(((size_t)VXT_HIST_MAX_TARGETS * 65536) * sizeof *h);
    uint64_t *cum = malloc((nb1 + 1) * sizeof *cum);
    rank_req *req = malloc(2 * nq * sizeof *req);
    double *gamma = malloc(nq * sizeof *gamma);
    vxt_status st = VXT_OK;
    if (!h || !cum || !req || !gamma) {
        st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_percentiles: out of memory");
        goto done;
    }
    vxt_hpar p;
    memset(&p, 0, sizeof p);
    p.sel = sel;
    p.mode = VXT_HIST_KEYS;
    p.shift = bits == 32 ? 16u : 0u;
    st = vxt__hist_run(ctx, in, mask, &p, NULL, NULL, nb1, h);
    if (st != VXT_OK)
        goto done;
    cum[0] = 0;
    for (size_t b = 0; b < nb1; b++)
        cum[b + 1] = cum[b] + h[b];
    const uint64_t n = cum[nb1];
    if (n == 0) {
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                       "vxt_percentiles: no voxel is selected (or every selected voxel is NaN)");
        goto done;
    }

    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    /* numpy (function_base._quantile, method 'linear'): virtual = (n - 1) * (q / 100); previous = floor(virtual),
     * next = previous + 1; virtual >= n - 1 takes the last value (both indexes -1), virtual < 0 the first;
     * gamma = virtual - previous (with previous as clamped). */
    for (size_t i = 0; i < nq; i++) {
        double virt = (double)(n - 1) * (q[i] / 100.0);
        double prev = floor(virt);
        uint64_t r0, r1;
        double prev_idx;
        if (virt >= (double)(n - 1)) {
            r0 = r1 = n - 1;
            prev_idx = -1.0;
        } else if (virt < 0.0) {
            r0 = r1 = 0;
            prev_idx = 0.0;
        } else {
            r0 = (uint64_t)prev;
            r1 = r0 + 1;
            prev_idx = prev;
        }
        gamma[i] = virt - prev_idx;
        req[2 * i].rank = r0;
        req[2 * i + 1].rank = r1;
    }
    vxt__fpenv_leave(&env);

    for (size_t i = 0; i < 2 * nq; i++) {
        size_t b = find_bin(cum, nb1, req[i].rank);
        req[i].top = (uint32_t)b;
        req[i].rank_in_bin = req[i].rank - cum[b];
        req[i].key = (uint32_t)b;
    }

    if (bits == 32) {
        /* pass 2 over the distinct top bins, VXT_HIST_MAX_TARGETS at a time */
        uint32_t targets[VXT_HIST_MAX_TARGETS];
        size_t done_count = 0;
        int *resolved = calloc(2 * nq, sizeof *resolved);
        if (!resolved) {
            st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_percentiles: out of memory");
            goto done;
        }
        while (done_count < 2 * nq && st == VXT_OK) {
            int nt = 0;
            for (size_t i = 0; i < 2 * nq && nt < VXT_HIST_MAX_TARGETS; i++) {
                if (resolved[i])
                    continue;
                int seen = 0;
                for (int t = 0; t < nt; t++)
                    seen |= targets[t] == req[i].top;
                if (!seen)
                    targets[nt++] = req[i].top;
            }
            memset(&p, 0, sizeof p);
            p.sel = sel;
            p.mode = VXT_HIST_KEYS_LOW;
            p.ntargets = nt;
            st = vxt__hist_run(ctx, in, mask, &p, targets, NULL, (size_t)nt * 65536, h);
            for (size_t i = 0; i < 2 * nq && st == VXT_OK; i++) {
                int t = -1;
                for (int k = 0; k < nt; k++)
                    if (!resolved[i] && targets[k] == req[i].top)
                        t = k;
                if (t < 0)
                    continue;
                const uint64_t *ht = h + (size_t)t * 65536;
                uint64_t c = 0;
                uint32_t low = 0;
                for (; low < 65536; low++) {
                    c += ht[low];
                    if (c > req[i].rank_in_bin)
                        break;
                }
                if (low == 65536) { /* the two passes disagree: the volume changed under us */
                    st = vxt__fail(ctx, VXT_ERR_INTERNAL,
                                   "vxt_percentiles: inconsistent histograms (was the input "
                                   "modified during the call?)");
                    break;
                }
                req[i].key = (req[i].top << 16) | low;
                resolved[i] = 1;
                done_count++;
            }
        }
        free(resolved);
        if (st != VXT_OK)
            goto done;
    }

    vxt__fpenv_enter(&env);
    for (size_t i = 0; i < nq; i++) {
        double a = key_value(in->dtype, req[2 * i].key), b = key_value(in->dtype, req[2 * i + 1].key);
        /* numpy's _lerp: diff = b - a in the data's type (float32 for float data; exact here for integers) */
        double diff = float_keys(in->dtype) ? (double)((float)b - (float)a) : b - a;
        double t = gamma[i];
        double r = a + diff * t;
        if (t >= 0.5)
            r = b - diff * (1.0 - t);
        values[i] = r;
    }
    vxt__fpenv_leave(&env);

done:
    free(h);
    free(cum);
    free(req);
    free(gamma);
    return st;
}

vxt_status vxt_percentiles(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                           const double *q, size_t nq, double *values)
{
    static const char *const f = "vxt_percentiles";
    vxt_status st = vxt__pp_check_ctx(ctx, f);
    if (st == VXT_OK && q == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'q' is NULL", f);
    if (st == VXT_OK && values == NULL)
        st = vxt__fail(ctx, VXT_ERR_NULL, "%s: argument 'values' is NULL", f);
    if (st == VXT_OK && (nq == 0 || nq > ((size_t)1 << 20)))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: nq is %zu (must be in [1, 2^20])", f, nq);
    for (size_t i = 0; i < nq && st == VXT_OK; i++)
        if (!(q[i] >= 0.0 && q[i] <= 100.0))
            st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: q[%zu] is %g (percentiles must be in [0, 100])", f, i,
                           q[i]);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, f, "in", in, NULL);
    if (st == VXT_OK)
        st = vxt__pp_check_single_channel(ctx, f, in);
    if (st == VXT_OK)
        st = vxt__pp_check_select(ctx, f, select, mask, in);
    if (st != VXT_OK)
        return st;
    return vxt__percentiles_run(ctx, in, (int)select, mask, q, nq, values);
}
