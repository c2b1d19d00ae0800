/* header_histogram.c - `voxtile header --histogram`: numpy.histogram(values, bins=N, range=(LO, HI)) of the values
 * the file means, by the library (vxt_histogram: numpy's edges and its rule -- a value on an edge goes to the bin
 * above, the last bin includes HI -- counted exactly), one channel at a time into one histogram. Without --range
 * the range is numpy's default, the smallest and largest value (vxt_statistics, NaN left out), widened by 0.5 on
 * each side when they are equal; an image with no value but NaN gets [0, 1]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "header_histogram.h"

/* A channel the preprocessing reads: the image's own voxels, or (uint32, int64, uint64) a float32 copy. */
static int channel_view(const vxt_volume *v, int64_t c, float **copy, vxt_volume *out)
{
    const size_t n = (size_t)(v->shape[0] * v->shape[1] * v->shape[2]), es = vxt_dtype_size(v->dtype);
    *out = *v;
    out->channels = 1;
    out->data = (char *)v->data + (size_t)c * n * es;
    if (v->dtype != VXT_DTYPE_U32 && v->dtype != VXT_DTYPE_I64 && v->dtype != VXT_DTYPE_U64)
        return 1;
    if (!*copy && !(*copy = malloc(n * sizeof(float))))
        return 0;
    for (size_t i = 0; i < n; i++) /* rounded to nearest, as numpy's astype(float32) */
        (*copy)[i] = v->dtype == VXT_DTYPE_U32   ? (float)((const uint32_t *)out->data)[i]
                     : v->dtype == VXT_DTYPE_I64 ? (float)((const int64_t *)out->data)[i]
                                                 : (float)((const uint64_t *)out->data)[i];
    out->data = *copy;
    out->dtype = VXT_DTYPE_F32;
    return 1;
}

/* The NaN count of every channel and, without --range, numpy's default range from their min and max. */
static int find_range(vxt_context *ctx, const vxt_volume *v, header_histogram *h, float **copy)
{
    int any = 0;
    double lo = 0, hi = 0;
    for (int64_t c = 0; c < v->channels; c++) {
        vxt_volume ch;
        vxt_stats s = {.struct_size = sizeof s};
        if (!channel_view(v, c, copy, &ch)) {
            cli_error("header", "--histogram: out of memory");
            return VXT_EXIT_MEMORY;
        }
        vxt_status st = vxt_statistics(ctx, &ch, VXT_SELECT_ALL, NULL, &s);
        if (st != VXT_OK)
            return cli_fail("header", "--histogram", st);
        h->nan += s.nan_count;
        if (s.count) {
            lo = any && lo < s.min ? lo : s.min;
            hi = any && hi > s.max ? hi : s.max;
            any = 1;
        }
    }
    if (h->range_given)
        return 0;
    if (!any) {
        lo = 0, hi = 1; /* numpy's range for no values */
    } else if (!isfinite(lo) || !isfinite(hi)) {
        cli_error("header", "--histogram: the values reach %g .. %g, an infinite range: give --range LO,HI", lo, hi);
        return VXT_EXIT_USAGE;
    } else if (lo == hi) {
        lo -= 0.5, hi += 0.5;
    }
    h->lo = lo, h->hi = hi;
    return 0;
}

int header_histogram_count(const vxt_image *img, header_histogram *h)
{
    vxt_volume v;
    vxt_status st = vxt_image_volume(img, &v);
    if (st != VXT_OK)
        return cli_fail("header", "--histogram", st);
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_CPU;
    vxt_context *ctx = NULL;
    if ((st = vxt_context_create(&o, &ctx)) != VXT_OK)
        return cli_fail("header", "--histogram", st);
    float *copy = NULL;
    uint64_t *part = calloc(h->bins, sizeof *part);
    h->counts = calloc(h->bins, sizeof *h->counts);
    h->total = (uint64_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]);
    h->nan = h->counted = h->outside = 0;
    int rc = part && h->counts ? find_range(ctx, &v, h, &copy) : VXT_EXIT_MEMORY;
    if (rc == VXT_EXIT_MEMORY && !(part && h->counts))
        cli_error("header", "--histogram: out of memory for %zu bins", h->bins);
    for (int64_t c = 0; !rc && c < v.channels; c++) {
        vxt_volume ch;
        if (!channel_view(&v, c, &copy, &ch)) {
            cli_error("header", "--histogram: out of memory");
            rc = VXT_EXIT_MEMORY;
            break;
        }
        h->f32_edges = ch.dtype == VXT_DTYPE_F32;
        if ((st = vxt_histogram(ctx, &ch, VXT_SELECT_ALL, NULL, h->lo, h->hi, h->bins, part)) != VXT_OK) {
            rc = cli_fail("header", "--histogram", st);
            break;
        }
        for (size_t b = 0; b < h->bins; b++) {
            h->counts[b] += part[b];
            h->counted += part[b];
        }
    }
    h->outside = h->total - h->counted - h->nan;
    free(part);
    free(copy);
    vxt_context_destroy(ctx);
    return rc;
}

double header_histogram_edge(const header_histogram *h, size_t i)
{
    /* as vxt_histogram computes them (numpy's linspace), cast to float32 for float32 data */
    const double delta = h->hi - h->lo, step = delta / (double)h->bins;
    double e = i >= h->bins ? h->hi : step == 0.0 ? (double)i / (double)h->bins * delta + h->lo : (double)i * step + h->lo;
    return h->f32_edges ? (double)(float)e : e;
}

void header_histogram_print(const header_histogram *h)
{
    printf("%-16s %zu bins over [%.9g, %.9g]: %llu counted, %llu outside the range, %llu NaN\n", "histogram", h->bins,
           h->lo, h->hi, (unsigned long long)h->counted, (unsigned long long)h->outside, (unsigned long long)h->nan);
    for (size_t b = 0; b < h->bins; b++) {
        char bin[96];
        snprintf(bin, sizeof bin, "[%.9g, %.9g%c", header_histogram_edge(h, b), header_histogram_edge(h, b + 1),
                 b + 1 == h->bins ? ']' : ')');
        printf("  %-40s %llu\n", bin, (unsigned long long)h->counts[b]);
    }
}

cJSON *header_histogram_json(const header_histogram *h)
{
    cJSON *o = cJSON_CreateObject(), *edges, *counts;
    const double range[2] = {h->lo, h->hi};
    cJSON_AddNumberToObject(o, "bins", (double)h->bins);
    cJSON_AddItemToObject(o, "range", cJSON_CreateDoubleArray(range, 2));
    edges = cJSON_AddArrayToObject(o, "edges");
    counts = cJSON_AddArrayToObject(o, "counts");
    for (size_t b = 0; b <= h->bins; b++)
        cJSON_AddItemToArray(edges, cJSON_CreateNumber(header_histogram_edge(h, b)));
    for (size_t b = 0; b < h->bins; b++)
        cJSON_AddItemToArray(counts, cJSON_CreateNumber((double)h->counts[b]));
    cJSON_AddNumberToObject(o, "counted", (double)h->counted);
    cJSON_AddNumberToObject(o, "outside", (double)h->outside);
    cJSON_AddNumberToObject(o, "nan", (double)h->nan);
    return o;
}

void header_histogram_free(header_histogram *h)
{
    free(h->counts);
    h->counts = NULL;
}
