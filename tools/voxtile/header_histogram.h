/* header_histogram.h - `voxtile header --histogram [--bins N] [--range LO,HI]`: numpy.histogram of the values the
 * file means, every channel counted in one histogram (vxt_histogram per channel, on the CPU backend). */
#ifndef VXT_HEADER_HISTOGRAM_H
#define VXT_HEADER_HISTOGRAM_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

typedef struct header_histogram {
    size_t bins;          /* asked for (default 10, as numpy's) */
    int range_given;      /* --range LO,HI, else numpy's default: the values' min and max (+-0.5 when equal) */
    double lo, hi;        /* the range: given, or found by header_histogram_count */
    int f32_edges;        /* edges rounded to float32 (numpy's bin type follows float32 data) */
    uint64_t *counts;     /* bins counts, by header_histogram_count */
    uint64_t total;       /* every voxel of every channel */
    uint64_t counted;     /* the sum of the counts */
    uint64_t nan;         /* NaN voxels, never counted */
    uint64_t outside;     /* the others outside [lo, hi] (infinities included) */
} header_histogram;

/* Count the histogram of img's voxels (any channels; dtypes the preprocessing does not read -- uint32, int64,
 * uint64 -- are binned as float32, as it reads int32). An exit status, its message printed: 2 for values whose
 * default range is not finite (give --range), 10 out of memory, 1 otherwise. */
int header_histogram_count(const vxt_image *img, header_histogram *h);

/* Edge i (0 .. bins) as numpy.histogram gives it: i * ((hi - lo) / bins) + lo, the last hi. */
double header_histogram_edge(const header_histogram *h, size_t i);

/* The text lines of `voxtile header`, and its JSON object. */
void header_histogram_print(const header_histogram *h);
cJSON *header_histogram_json(const header_histogram *h);

void header_histogram_free(header_histogram *h);

#endif
