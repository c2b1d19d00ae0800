/* run_plan.h - the plan of `voxtile run` / `voxtile validate`: everything between a scan and its segmentation
 * (docs/PLAN.md). Read from a voxtile plan (JSON), from nnU-Net's plans.json + dataset.json, and from flags,
 * in that order, later sources overriding earlier ones. */
#ifndef VXT_RUN_PLAN_H
#define VXT_RUN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

#define RUN_MAX_MEMBERS 16

typedef enum norm_scheme {
    NORM_NONE = 0,
    NORM_WINDOW,         /* [lo, hi] -> [0, 1] */
    NORM_CT,             /* nnU-Net CTNormalization: clip to [lo, hi], (x - mean) / std */
    NORM_ZSCORE,         /* over all voxels */
    NORM_ZSCORE_NONZERO, /* over non-zero voxels (nnU-Net use_mask_for_norm) */
    NORM_MINMAX,         /* to [0, 1] */
    NORM_PERCENTILE      /* clip to the [plo, phi] percentiles of the image (then nothing else) */
} norm_scheme;

typedef struct run_member {
    char model[512];  /* identity | bands:E1,... | plugin:PATH */
    char config[512];
} run_member;

typedef struct run_plan {
    /* model(s): one member, or an ensemble averaged in member order */
    int members;
    run_member member[RUN_MAX_MEMBERS];
    /* resampling to the model's grid */
    int have_spacing;
    double spacing[3];      /* z, y, x (mm) */
    int anisotropic_nnunet; /* nearest along the coarse axis when anisotropy > 3 */
    /* normalization */
    int normalize_first; /* before resampling (nnU-Net's order); default after */
    norm_scheme norm;
    double lo, hi, mean, std, plo, phi;
    /* sliding window */
    int64_t roi[3];
    vxt_grid grid;
    double overlap, step;
    int64_t overlap_voxels;
    vxt_pad pad;
    double pad_value;
    vxt_importance importance;
    double sigma_scale;
    vxt_accumulate accumulate;
    int batch_size;
    unsigned mirror_axes;
    vxt_activation activation;
    /* outputs */
    vxt_dtype label_dtype;
    int back_probabilities; /* resample probabilities back then argmax (nnU-Net); else nearest labels */
    /* which optional fields were set (for contradiction checks) */
    unsigned norm_given; /* bits: lo 1, hi 2, mean 4, std 8, percentiles 16 */
    int grid_given, overlap_given, step_given, overlap_voxels_given, sigma_given;
    /* provenance, for reports */
    char source[1024];
    char class_names[64][48];
    int nclass_names;
} run_plan;

void run_plan_defaults(run_plan *p);

/* Apply a voxtile plan file. Returns 0, or an exit code with a message naming the JSON path of the problem. */
int run_plan_load(run_plan *p, const char *path, char *err, size_t errn);

/* Apply nnU-Net's plans.json and dataset.json from `dir` for `configuration` (e.g. "3d_fullres"). */
int run_plan_load_nnunet(run_plan *p, const char *dir, const char *configuration, char *err, size_t errn);

/* Check the whole plan for missing and contradictory fields; 0 or an exit code with a message. */
int run_plan_check(const run_plan *p, char *err, size_t errn);

/* The plan as JSON (the same schema run_plan_load reads). Caller frees. */
char *run_plan_to_json(const run_plan *p);

const char *norm_scheme_name(norm_scheme s);

#endif
