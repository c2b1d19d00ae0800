/* compare.h - bit-for-bit comparison of two volumes, as `voxtile validate` reports it: how many values and
 * voxels differ, the largest absolute and ULP differences, how many values lie beyond a tolerance, and for
 * label maps the Dice coefficient of every label and which labels were swapped for which. */
#ifndef VXT_COMPARE_H
#define VXT_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

/* What counts as "close enough". Float32 values whose bits differ are within the tolerance when their ULP
 * distance is at most max_ulp (when have_ulp) or their absolute difference at most max_abs (when have_abs);
 * with neither, no difference is. NaN against a number is never within it; two NaNs always are (their bits may
 * still differ, and are counted). Integer volumes (label maps): at most max_label_voxels voxels may differ. */
typedef struct cmp_tolerance {
    int have_ulp, have_abs;
    uint64_t max_ulp;
    double max_abs;
    uint64_t max_label_voxels;
} cmp_tolerance;

typedef struct cmp_result {
    uint64_t values;           /* elements compared: channels x voxels */
    uint64_t voxels;           /* spatial voxels */
    uint64_t differing_values; /* elements whose bits differ */
    uint64_t differing_voxels; /* voxels where at least one channel differs */
    uint64_t beyond;           /* elements beyond the tolerance (integers: differing values) */
    uint64_t nan_mismatch;     /* float: one side NaN and the other a number */
    double max_abs;            /* largest |a - b| (float: +inf with an infinity or a NaN against a number) */
    uint64_t max_ulp;          /* float32: largest distance of the values as ordered integers (+0 and -0 are 0
                                  apart); integers: equal to max_abs */
    int64_t first;             /* the first differing element (channel-major index), -1 when none */
    double first_a, first_b;   /* its values */
    int within;                /* 1 when identical, or every difference is within the tolerance */
} cmp_result;

/* Distance between two floats as ordered integers: 0 for equal bits and for +0/-0, 1 between neighbours. */
uint64_t cmp_ulp_distance(float a, float b);

/* Compare a and b (same dtype, channels and shape; float32 or an integer type). When diff is not NULL, diff[v]
 * is set to 1 for each voxel v (of shape[0]*shape[1]*shape[2]) where any channel differs (it is not cleared
 * first: masks of several stages can be merged). Returns 0, or -1 when the volumes cannot be compared (the
 * reason in why). */
int cmp_volumes(const vxt_volume *a, const vxt_volume *b, const cmp_tolerance *tol, unsigned char *diff,
                cmp_result *out, char *why, size_t whyn);

/* Per-label agreement of two label maps (uint8 or uint16, one channel, same shape). */
typedef struct cmp_label {
    uint32_t label;
    uint64_t a, b, both; /* voxels with the label in a, in b, in both */
    double dice;         /* 2 both / (a + b) */
} cmp_label;

typedef struct cmp_swap {
    uint32_t a, b;   /* label in a, label in b */
    uint64_t voxels; /* voxels where that happened */
} cmp_swap;

typedef struct cmp_labels {
    size_t nlabels;   /* labels present in a or b (only those), ascending */
    cmp_label *label; /* nlabels entries */
    size_t nswaps;    /* distinct (a, b) pairs among the differing voxels, most frequent first */
    cmp_swap *swap;   /* nswaps entries */
    uint64_t differing;
} cmp_labels;

/* Returns 0, or -1 (the reason in why). Release with cmp_labels_free. */
int cmp_label_maps(const vxt_volume *a, const vxt_volume *b, cmp_labels *out, char *why, size_t whyn);
void cmp_labels_free(cmp_labels *l);

#endif
