/* compare.c - bit-for-bit comparison of volumes and label maps for `voxtile validate` (compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static int64_t ordered(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

uint64_t cmp_ulp_distance(float a, float b)
{
    int64_t d = ordered(a) - ordered(b);
    return d < 0 ? (uint64_t)(-d) : (uint64_t)d;
}

static int is_integer(vxt_dtype t)
{
    return t == VXT_DTYPE_U8 || t == VXT_DTYPE_I8 || t == VXT_DTYPE_U16 || t == VXT_DTYPE_I16 ||
           t == VXT_DTYPE_U32 || t == VXT_DTYPE_I32 || t == VXT_DTYPE_U64 || t == VXT_DTYPE_I64;
}

/* An integer element as a double (exact up to 2^53, enough for the differences reported). */
static double int_value(const void *p, vxt_dtype t, size_t i)
{
    switch (t) {
    case VXT_DTYPE_U8: return ((const uint8_t *)p)[i];
    case VXT_DTYPE_I8: return ((const int8_t *)p)[i];
    case VXT_DTYPE_U16: return ((const uint16_t *)p)[i];
    case VXT_DTYPE_I16: return ((const int16_t *)p)[i];
    case VXT_DTYPE_U32: return ((const uint32_t *)p)[i];
    case VXT_DTYPE_I32: return ((const int32_t *)p)[i];
    case VXT_DTYPE_U64: return (double)((const uint64_t *)p)[i];
    default: return (double)((const int64_t *)p)[i];
    }
}

static int same_layout(const vxt_volume *a, const vxt_volume *b, char *why, size_t whyn)
{
    if (!a || !b || !a->data || !b->data) {
        snprintf(why, whyn, "missing volume");
        return 0;
    }
    if (a->dtype != b->dtype || a->channels != b->channels || a->shape[0] != b->shape[0] ||
        a->shape[1] != b->shape[1] || a->shape[2] != b->shape[2]) {
        snprintf(why, whyn, "a is %lldx%lldx%lldx%lld %s, b is %lldx%lldx%lldx%lld %s", (long long)a->channels,
                 (long long)a->shape[0], (long long)a->shape[1], (long long)a->shape[2], vxt_dtype_name(a->dtype),
                 (long long)b->channels, (long long)b->shape[0], (long long)b->shape[1], (long long)b->shape[2],
                 vxt_dtype_name(b->dtype));
        return 0;
    }
    return 1;
}

int cmp_volumes(const vxt_volume *a, const vxt_volume *b, const cmp_tolerance *tol, unsigned char *diff,
                cmp_result *out, char *why, size_t whyn)
{
    memset(out, 0, sizeof *out);
    out->first = -1;
    if (!same_layout(a, b, why, whyn))
        return -1;
    if (a->dtype != VXT_DTYPE_F32 && !is_integer(a->dtype)) {
        snprintf(why, whyn, "cannot compare %s volumes", vxt_dtype_name(a->dtype));
        return -1;
    }
    const size_t vox = (size_t)(a->shape[0] * a->shape[1] * a->shape[2]), es = vxt_dtype_size(a->dtype);
    out->voxels = vox;
    out->values = (uint64_t)vox * (uint64_t)a->channels;
    const int isf = a->dtype == VXT_DTYPE_F32;
    /* with no tolerance flag given, float differences are never within it */
    const int any_tol = tol && (tol->have_ulp || tol->have_abs);
    /* voxels differing in an earlier channel are already counted in differing_voxels */
    unsigned char *seen = NULL;
    if (a->channels > 1 && !(seen = calloc(vox, 1))) {
        snprintf(why, whyn, "out of memory");
        return -1;
    }
    for (int64_t c = 0; c < a->channels; c++) {
        const char *pa = (const char *)a->data + (size_t)c * vox * es, *pb = (const char *)b->data + (size_t)c * vox * es;
        /* fast path: a block of 64 KiB with equal bytes has nothing to report */
        const size_t block = 16384;
        for (size_t v0 = 0; v0 < vox; v0 += block) {
            size_t v1 = v0 + block < vox ? v0 + block : vox;
            if (memcmp(pa + v0 * es, pb + v0 * es, (v1 - v0) * es) == 0)
                continue;
            for (size_t v = v0; v < v1; v++) {
                if (memcmp(pa + v * es, pb + v * es, es) == 0)
                    continue;
                double x, y, ad;
                uint64_t ulp;
                int ok;
                if (isf) {
                    float fx, fy;
                    memcpy(&fx, pa + v * es, sizeof fx);
                    memcpy(&fy, pb + v * es, sizeof fy);
                    x = fx;
                    y = fy;
                    int nx = isnan(fx), ny = isnan(fy);
                    if (nx && ny) { /* NaN payloads differ: same meaning */
                        ad = 0;
                        ulp = 0;
                        ok = 1;
                    } else if (nx || ny) {
                        out->nan_mismatch++;
                        ad = INFINITY;
                        ulp = UINT64_MAX;
                        ok = 0;
                    } else {
                        ad = fabs(x - y); /* exact in double for float operands; inf with an infinity */
                        ulp = cmp_ulp_distance(fx, fy);
                        ok = any_tol && ((tol->have_ulp && ulp <= tol->max_ulp) || (tol->have_abs && ad <= tol->max_abs));
                    }
                } else {
                    x = int_value(pa, a->dtype, v);
                    y = int_value(pb, a->dtype, v);
                    ad = fabs(x - y);
                    ulp = (uint64_t)ad;
                    ok = 0; /* label maps: judged by the number of differing voxels below */
                }
                if (out->first < 0) {
                    out->first = (int64_t)((size_t)c * vox + v);
                    out->first_a = x;
                    out->first_b = y;
                }
                out->differing_values++;
                if (!ok)
                    out->beyond++;
                if (ad > out->max_abs)
                    out->max_abs = ad;
                if (ulp > out->max_ulp)
                    out->max_ulp = ulp;
                if (!seen || !seen[v]) {
                    out->differing_voxels++;
                    if (seen)
                        seen[v] = 1;
                }
                if (diff)
                    diff[v] = 1;
            }
        }
    }
    free(seen);
    if (isf)
        out->within = out->beyond == 0;
    else
        out->within = out->differing_voxels <= (tol ? tol->max_label_voxels : 0);
    return 0;
}

/* ---- label maps -------------------------------------------------------------------------------------- */

/* Open-addressing table of (a, b) label pairs -> voxel counts. */
typedef struct pair_table {
    uint32_t *key; /* (a << 16 | b) + 1; 0 = empty */
    uint64_t *count;
    size_t cap, n;
} pair_table;

static size_t pair_slot(const pair_table *t, uint32_t key)
{
    size_t h = (size_t)((key * 2654435761u) & (uint32_t)(t->cap - 1));
    while (t->key[h] && t->key[h] != key)
        h = (h + 1) & (t->cap - 1);
    return h;
}

static int pair_add(pair_table *t, uint32_t key)
{
    if (2 * (t->n + 1) > t->cap) {
        pair_table g = {calloc(t->cap * 2, sizeof(uint32_t)), calloc(t->cap * 2, sizeof(uint64_t)), t->cap * 2, 0};
        if (!g.key || !g.count) {
            free(g.key);
            free(g.count);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->key[i]) {
                size_t s = pair_slot(&g, t->key[i]);
                g.key[s] = t->key[i];
                g.count[s] = t->count[i];
                g.n++;
            }
        free(t->key);
        free(t->count);
        *t = g;
    }
    size_t s = pair_slot(t, key);
    if (!t->key[s]) {
        t->key[s] = key;
        t->n++;
    }
    t->count[s]++;
    return 0;
}

static int swap_order(const void *x, const void *y)
{
    const cmp_swap *a = (const cmp_swap *)x, *b = (const cmp_swap *)y;
    if (a->voxels != b->voxels)
        return a->voxels < b->voxels ? 1 : -1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

void cmp_labels_free(cmp_labels *l)
{
    if (!l)
        return;
    free(l->label);
    free(l->swap);
    memset(l, 0, sizeof *l);
}

int cmp_label_maps(const vxt_volume *a, const vxt_volume *b, cmp_labels *out, char *why, size_t whyn)
{
    memset(out, 0, sizeof *out);
    if (!same_layout(a, b, why, whyn))
        return -1;
    if ((a->dtype != VXT_DTYPE_U8 && a->dtype != VXT_DTYPE_U16) || a->channels != 1) {
        snprintf(why, whyn, "label maps are one channel of uint8 or uint16, not %lld of %s", (long long)a->channels,
                 vxt_dtype_name(a->dtype));
        return -1;
    }
    const size_t vox = (size_t)(a->shape[0] * a->shape[1] * a->shape[2]);
    const size_t nl = a->dtype == VXT_DTYPE_U8 ? 256 : 65536;
    uint64_t *ca = calloc(nl, sizeof *ca), *cb = calloc(nl, sizeof *cb), *cab = calloc(nl, sizeof *cab);
    pair_table t = {calloc(64, sizeof(uint32_t)), calloc(64, sizeof(uint64_t)), 64, 0};
    int rc = -1;
    if (!ca || !cb || !cab || !t.key || !t.count)
        goto oom;
    const int u8 = a->dtype == VXT_DTYPE_U8;
    for (size_t v = 0; v < vox; v++) {
        uint32_t la = u8 ? ((const uint8_t *)a->data)[v] : ((const uint16_t *)a->data)[v];
        uint32_t lb = u8 ? ((const uint8_t *)b->data)[v] : ((const uint16_t *)b->data)[v];
        ca[la]++;
        cb[lb]++;
        if (la == lb) {
            cab[la]++;
        } else {
            out->differing++;
            if (pair_add(&t, ((la << 16) | lb) + 1u) != 0)
                goto oom;
        }
    }
    for (size_t l = 0; l < nl; l++)
        out->nlabels += ca[l] || cb[l];
    out->label = calloc(out->nlabels ? out->nlabels : 1, sizeof *out->label);
    out->swap = calloc(t.n ? t.n : 1, sizeof *out->swap);
    if (!out->label || !out->swap)
        goto oom;
    size_t k = 0;
    for (size_t l = 0; l < nl; l++)
        if (ca[l] || cb[l]) {
            cmp_label *x = &out->label[k++];
            x->label = (uint32_t)l;
            x->a = ca[l];
            x->b = cb[l];
            x->both = cab[l];
            x->dice = 2.0 * (double)cab[l] / (double)(ca[l] + cb[l]);
        }
    for (size_t i = 0; i < t.cap; i++)
        if (t.key[i]) {
            uint32_t key = t.key[i] - 1u;
            out->swap[out->nswaps++] = (cmp_swap){key >> 16, key & 0xffffu, t.count[i]};
        }
    qsort(out->swap, out->nswaps, sizeof *out->swap, swap_order);
    rc = 0;
    goto done;
oom:
    snprintf(why, whyn, "out of memory");
    cmp_labels_free(out);
done:
    free(ca);
    free(cb);
    free(cab);
    free(t.key);
    free(t.count);
    return rc;
}
