/* plan.h - the plan's fields, shared by its sources:
 *   plan.c         defaults, copies, checks, accessors, and the tiling and stitching settings it implies
 *   plan_read.c    the strict JSON reader: documents laid over a plan (docs/PLAN.md is the schema)
 *   plan_write.c   the JSON writer
 *   plan_nnunet.c  nnU-Net v2 model folders (plans.json + dataset.json)
 * Not installed. */
#ifndef VXT_PLAN_H
#define VXT_PLAN_H

#include <cjson/cJSON.h>

#include "common.h"

#define VXT__PLAN_MAX_MEMBERS 16
#define VXT__PLAN_MAX_CLASSES 65536
#define VXT__PLAN_MAX_BATCH 4096

typedef struct vxt__plan_member {
    char *model;  /* runner specification */
    char *config; /* its configuration string ("" for none) */
} vxt__plan_member;

/* Fields given explicitly (vxt_plan.given): parameters whose mode must use them, and rules chosen by default. */
enum {
    VXT__GIVEN_OVERLAP = 1u << 0,
    VXT__GIVEN_STEP = 1u << 1,
    VXT__GIVEN_OVERLAP_VOXELS = 1u << 2,
    VXT__GIVEN_SIGMA = 1u << 3,
    VXT__GIVEN_LO = 1u << 4,
    VXT__GIVEN_HI = 1u << 5,
    VXT__GIVEN_MEAN = 1u << 6,
    VXT__GIVEN_STD = 1u << 7,
    VXT__GIVEN_PERCENTILES = 1u << 8,
    VXT__GIVEN_RULE = 1u << 9,
    VXT__GIVEN_REGIONS = 1u << 10
};

struct vxt_plan {
    /* models */
    int members;
    vxt__plan_member member[VXT__PLAN_MAX_MEMBERS];
    vxt_ensemble ensemble;
    /* the model's orientation and axis order: the image is reoriented to `orientation` (NIfTI axis codes of i,
     * j, k; "" = as it is), then model axis n = volume axis transpose[n] (nnU-Net's transpose_forward) */
    char orientation[4];
    int transpose[3];
    /* resampling to the model's spacing (model order; spacing[0] == 0: a 2D model's, the input's z kept) */
    int has_spacing;
    double spacing[3];
    vxt_anisotropy anisotropy;
    vxt_interp interp; /* the image's interpolation to the model's spacing: linear or cubic (skimage's clip) */
    int normalize_first;
    /* normalization */
    vxt_norm norm;
    double lo, hi, mean, std, plo, phi;
    /* normalization.replace, before the scheme (vxt_plan_rescale): the voxels equal to replace_value (intensity
     * units) or to the reader's padding value become replace_with; kept when the scheme changes */
    int replace; /* VXT__REPLACE_* */
    double replace_value, replace_with;
    /* tiling */
    int64_t roi[3];
    vxt_grid grid;
    double overlap[3], step[3];
    int64_t overlap_voxels[3];
    /* the model's receptive field in voxels per model axis (0: not declared): tiles overlap by at least rf - 1
       (derived when no overlap, step or overlap_voxels is given; checked when one is) */
    int64_t receptive_field[3];
    vxt_pad pad;
    double pad_value;
    /* stitching */
    vxt_importance importance;
    double sigma_scale[3];
    vxt_accumulate accumulate;
    int batch_size;
    unsigned mirror_axes;
    vxt_activation activation;
    /* labels */
    vxt_label_rule label_rule; /* resolved by vxt__plan_label_rule() when not given */
    double threshold;
    int32_t *region_labels;
    int nregions;
    /* outputs */
    vxt_dtype label_dtype;
    vxt_resample_back back;
    char **class_names;
    int nclass;
    unsigned given; /* VXT__GIVEN_* */
    char origin[512];
};

/* What normalization.replace matches: nothing, a value, or the padding value the image's reader reports. */
enum { VXT__REPLACE_NONE = 0, VXT__REPLACE_VALUE, VXT__REPLACE_PADDING };

/* Fill p with the defaults (p's old contents are not freed). */
void vxt__plan_defaults(vxt_plan *p);
/* Free what p owns and zero it. */
void vxt__plan_clear(vxt_plan *p);
/* A deep copy of src into dst (dst's old contents are not freed); VXT_ERR_OUT_OF_MEMORY leaves dst cleared. */
vxt_status vxt__plan_copy(vxt_plan *dst, const vxt_plan *src);
/* Record a source in p->origin ("defaults; plan.json; --overlap"). */
void vxt__plan_add_origin(vxt_plan *p, const char *origin);
/* The label rule in force: the one given, else threshold for sigmoid models and argmax otherwise. */
vxt_label_rule vxt__plan_label_rule(const vxt_plan *p);
/* The overlap settings the plan's tiling uses: the plan's own, or, with a receptive field declared and none given,
 * the least that overlaps neighbouring tiles by receptive_field - 1 voxels on every axis of more than one voxel. */
void vxt__plan_overlap(const vxt_plan *p, double overlap[3], double step[3], int64_t overlap_voxels[3]);
/* The identity transpose: 1 when the plan keeps the volume's axis order. */
int vxt__plan_transposes(const vxt_plan *p);

/* A failure while reading a source: "<origin>: <json path>: <message>", VXT_ERR_INVALID_ARGUMENT. */
vxt_status vxt__plan_fail(const char *origin, const char *path, const char *fmt, ...) VXT_PRINTF(3, 4);

/* Read a whole (small) file into a NUL-terminated buffer; VXT_ERR_IO / VXT_ERR_FORMAT (over max bytes) /
 * VXT_ERR_OUT_OF_MEMORY with a message naming `func` and the path. */
vxt_status vxt__read_text_file(const char *func, const char *path, size_t max, char **text, size_t *size);

/* Parse JSON text; VXT_ERR_FORMAT "<origin>: not valid JSON (near line N)" on failure. */
vxt_status vxt__json_parse(const char *text, size_t size, const char *origin, cJSON **out);

/* Lay the parsed JSON object over p (p is modified even when this fails: callers work on a copy). */
vxt_status vxt__plan_apply_json(vxt_plan *p, const cJSON *root, const char *origin);

/* All or nothing: lay doc over a copy of plan (messages name `origin`), and on success replace plan with it and
 * record `label` in its origin list. */
vxt_status vxt__plan_overlay(vxt_plan *plan, const cJSON *doc, const char *origin, const char *label);

#endif /* VXT_PLAN_H */
