/* plan.c - plans: defaults, copies, the whole-plan check, accessors, and the tiling and stitching settings a
 * plan gives for a model grid (used by pipelines and by `voxtile stitch` alike). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

void vxt__plan_defaults(vxt_plan *p)
{
    memset(p, 0, sizeof *p);
    p->ensemble = VXT_ENSEMBLE_LOGITS;
    p->transpose[0] = 0;
    p->transpose[1] = 1;
    p->transpose[2] = 2;
    p->anisotropy = VXT_ANISOTROPY_OFF;
    p->interp = VXT_INTERP_LINEAR;
    p->norm = VXT_NORM_NONE;
    p->plo = 0.5;
    p->phi = 99.5;
    /* the tiling and stitching defaults are the library's (vxt_tiling_options_init, vxt_stitch_options_init),
     * except the activation: a plan segments, so it ends in probabilities */
    vxt_tiling_options t;
    vxt_tiling_options_init(&t);
    vxt_stitch_options s;
    vxt_stitch_options_init(&s);
    p->grid = t.grid;
    memcpy(p->overlap, t.overlap, sizeof p->overlap);
    memcpy(p->step, t.step, sizeof p->step);
    memcpy(p->overlap_voxels, t.overlap_voxels, sizeof p->overlap_voxels);
    p->pad = t.pad;
    p->pad_value = t.pad_value;
    p->importance = s.importance;
    memcpy(p->sigma_scale, s.sigma_scale, sizeof p->sigma_scale);
    p->accumulate = s.accumulate;
    p->batch_size = s.batch_size;
    p->mirror_axes = s.mirror_axes;
    p->activation = VXT_ACTIVATION_SOFTMAX;
    p->label_rule = s.label_rule;
    p->threshold = s.label_threshold;
    p->label_dtype = s.label_dtype;
    p->back = VXT_BACK_PROBABILITIES;
    vxt__strlcpy(p->origin, "defaults", sizeof p->origin);
}

void vxt__plan_clear(vxt_plan *p)
{
    for (int m = 0; m < VXT__PLAN_MAX_MEMBERS; m++) {
        free(p->member[m].model);
        free(p->member[m].config);
    }
    free(p->region_labels);
    for (int i = 0; i < p->nclass; i++)
        free(p->class_names[i]);
    free(p->class_names);
    memset(p, 0, sizeof *p);
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    *failed |= d == NULL;
    return d;
}

vxt_status vxt__plan_copy(vxt_plan *dst, const vxt_plan *src)
{
    *dst = *src;
    int failed = 0;
    for (int m = 0; m < VXT__PLAN_MAX_MEMBERS; m++) {
        dst->member[m].model = dup_or_null(src->member[m].model, &failed);
        dst->member[m].config = dup_or_null(src->member[m].config, &failed);
    }
    dst->region_labels = NULL;
    if (src->nregions) {
        dst->region_labels = malloc((size_t)src->nregions * sizeof *dst->region_labels);
        if (dst->region_labels)
            memcpy(dst->region_labels, src->region_labels, (size_t)src->nregions * sizeof *dst->region_labels);
        failed |= dst->region_labels == NULL;
    }
    dst->class_names = NULL;
    dst->nclass = 0;
    if (src->nclass && !failed) {
        dst->class_names = calloc((size_t)src->nclass, sizeof *dst->class_names);
        if (dst->class_names) {
            dst->nclass = src->nclass;
            for (int i = 0; i < src->nclass; i++)
                dst->class_names[i] = dup_or_null(src->class_names[i], &failed);
        }
        failed |= dst->class_names == NULL;
    }
    if (failed) {
        vxt__plan_clear(dst);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan: out of memory copying a plan");
    }
    return VXT_OK;
}

void vxt__plan_add_origin(vxt_plan *p, const char *origin)
{
    vxt__strlcatf(p->origin, sizeof p->origin, "; %s", origin);
}

vxt_label_rule vxt__plan_label_rule(const vxt_plan *p)
{
    if (p->given & VXT__GIVEN_RULE)
        return p->label_rule;
    return p->activation == VXT_ACTIVATION_SIGMOID ? VXT_LABELS_THRESHOLD : VXT_LABELS_ARGMAX;
}

int vxt__plan_transposes(const vxt_plan *p)
{
    return p->transpose[0] != 0 || p->transpose[1] != 1 || p->transpose[2] != 2;
}

vxt_status vxt__plan_fail(const char *origin, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s: %s", origin, path, msg);
}

/* ---- public: handles ----------------------------------------------------------------------------------- */

vxt_status vxt_plan_create(vxt_plan **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = calloc(1, sizeof **out);
    if (!*out)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_create: out of memory");
    vxt__plan_defaults(*out);
    return VXT_OK;
}

vxt_status vxt_plan_clone(const vxt_plan *plan, vxt_plan **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, plan);
    vxt_plan *p = calloc(1, sizeof *p);
    if (!p)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_clone: out of memory");
    vxt_status st = vxt__plan_copy(p, plan);
    if (st != VXT_OK) {
        free(p);
        return st;
    }
    *out = p;
    return VXT_OK;
}

void vxt_plan_destroy(vxt_plan *plan)
{
    if (!plan)
        return;
    vxt__plan_clear(plan);
    free(plan);
}

/* ---- overlap from a receptive field -------------------------------------------------------------------- */

/* The fewest voxels by which neighbouring tiles overlap on an axis of roi R under the plan's grid (the tiling's
 * formulas, vxt_tiling_create): monai's interval int(R (1 - overlap)), at least 1; nnU-Net's starts are rounded
 * multiples of a step of at most R * step voxels, so they differ by at most its ceiling; voxels' exactly. The last
 * tile, placed against the volume's end, overlaps more. */
static int64_t least_overlap(vxt_grid grid, int64_t R, double overlap, double step, int64_t overlap_voxels)
{
    if (grid == VXT_GRID_MONAI) {
        int64_t interval = (int64_t)((double)R * (1.0 - overlap));
        return R - (interval < 1 ? 1 : interval);
    }
    if (grid == VXT_GRID_NNUNET)
        return R - (int64_t)ceil((double)R * step);
    return overlap_voxels;
}

void vxt__plan_overlap(const vxt_plan *p, double overlap[3], double step[3], int64_t overlap_voxels[3])
{
    const unsigned given = VXT__GIVEN_OVERLAP | VXT__GIVEN_STEP | VXT__GIVEN_OVERLAP_VOXELS;
    for (int a = 0; a < 3; a++) {
        overlap[a] = p->overlap[a];
        step[a] = p->step[a];
        overlap_voxels[a] = p->overlap_voxels[a];
        const int64_t R = p->roi[a], need = p->receptive_field[a] - 1;
        if (p->receptive_field[a] < 1 || (p->given & given) || R <= 1 || need >= R)
            continue;
        /* the least overlap that is enough: exactly `need` voxels where the grid's rounding allows it */
        overlap[a] = need > 0 ? ((double)need - 0.5) / (double)R : 0.0; /* int(R - need + 0.5) = R - need */
        double s = (double)(R - need) / (double)R;
        while (s > 0 && ceil((double)R * s) > (double)(R - need))
            s = nextafter(s, 0.0);
        step[a] = s;
        overlap_voxels[a] = need;
    }
}

/* ---- the whole-plan check ---------------------------------------------------------------------------- */

static vxt_status check_tiling(const vxt_plan *p)
{
    if (p->roi[0] < 1 || p->roi[1] < 1 || p->roi[2] < 1)
        return vxt__plan_fail("plan", "$.roi", "missing: the model's tile size (or --roi)");
    if ((p->given & VXT__GIVEN_OVERLAP) && p->grid != VXT_GRID_MONAI)
        return vxt__plan_fail("plan", "$.overlap", "applies to grid \"monai\"; grid \"%s\" takes %s",
                              vxt_grid_name(p->grid), p->grid == VXT_GRID_NNUNET ? "\"step\"" : "\"overlap_voxels\"");
    if ((p->given & VXT__GIVEN_STEP) && p->grid != VXT_GRID_NNUNET)
        return vxt__plan_fail("plan", "$.step", "applies to grid \"nnunet\" only");
    if ((p->given & VXT__GIVEN_OVERLAP_VOXELS) && p->grid != VXT_GRID_VOXELS)
        return vxt__plan_fail("plan", "$.overlap_voxels", "applies to grid \"voxels\" only");
    if (p->grid == VXT_GRID_VOXELS)
        for (int a = 0; a < 3; a++)
            if (p->overlap_voxels[a] >= p->roi[a] && p->roi[a] > 1)
                return vxt__plan_fail("plan", "$.overlap_voxels", "%lld voxels on axis %d is not less than the ROI "
                                      "(%lld)", (long long)p->overlap_voxels[a], a, (long long)p->roi[a]);
    static const char *const axis[3] = {"z", "y", "x"};
    for (int a = 0; a < 3; a++) {
        const int64_t rf = p->receptive_field[a], R = p->roi[a];
        /* not declared; an axis of one-voxel tiles (2D models); or wider than the ROI, which only volumes no larger
         * than the ROI on that axis allow (one tile: vxt_plan_stitch_settings checks it with the volume's shape) */
        if (rf < 1 || R <= 1 || rf > R)
            continue;
        double ov[3], st[3];
        int64_t vo[3];
        vxt__plan_overlap(p, ov, st, vo);
        const int64_t least = least_overlap(p->grid, R, ov[a], st[a], vo[a]);
        if (least < rf - 1) {
            const char *field = p->grid == VXT_GRID_MONAI ? "overlap" : p->grid == VXT_GRID_NNUNET ? "step" : "overlap_voxels";
            const double value = p->grid == VXT_GRID_MONAI ? ov[a] : p->grid == VXT_GRID_NNUNET ? st[a] : (double)vo[a];
            return vxt__plan_fail("plan", "$.receptive_field", "%s %g overlaps tiles by %lld voxels on axis %d (%s); a "
                                  "receptive field of %lld needs %lld (give no %s: it is then chosen)", field, value,
                                  (long long)least, a, axis[a], (long long)rf, (long long)(rf - 1), field);
        }
    }
    if ((p->given & VXT__GIVEN_SIGMA) && p->importance != VXT_IMPORTANCE_GAUSSIAN)
        return vxt__plan_fail("plan", "$.sigma_scale", "applies to importance \"gaussian\" only");
    if (p->importance == VXT_IMPORTANCE_USER)
        return vxt__plan_fail("plan", "$.importance", "\"user\" maps cannot come from a plan (vxt_stitch takes them)");
    if (p->roi[0] == 1 && (p->mirror_axes & 1u))
        return vxt__plan_fail("plan", "$.mirror_axes", "axis 0 (z) cannot be mirrored with a 2D ROI");
    vxt_label_rule rule = vxt__plan_label_rule(p);
    if ((p->given & VXT__GIVEN_REGIONS) && rule != VXT_LABELS_REGIONS)
        return vxt__plan_fail("plan", "$.labels.region_labels", "applies to rule \"regions\" only");
    if (rule == VXT_LABELS_REGIONS && p->nregions < 1)
        return vxt__plan_fail("plan", "$.labels", "rule \"regions\" needs \"region_labels\" (one label per channel)");
    for (int i = 0; i < p->nregions; i++)
        if (p->region_labels[i] > (p->label_dtype == VXT_DTYPE_U8 ? 255 : 65535))
            return vxt__plan_fail("plan", "$.labels.region_labels", "label %d does not fit %s labels",
                                  (int)p->region_labels[i], vxt_dtype_name(p->label_dtype));
    return VXT_OK;
}

static vxt_status check_normalization(const vxt_plan *p)
{
    const unsigned lohi = VXT__GIVEN_LO | VXT__GIVEN_HI, ms = VXT__GIVEN_MEAN | VXT__GIVEN_STD;
    if (p->norm == VXT_NORM_WINDOW && (p->given & lohi) != lohi)
        return vxt__plan_fail("plan", "$.normalization", "scheme \"window\" needs \"lo\" and \"hi\"");
    if (p->norm == VXT_NORM_CT && (p->given & (lohi | ms)) != (lohi | ms))
        return vxt__plan_fail("plan", "$.normalization", "scheme \"ct\" needs \"lo\", \"hi\", \"mean\" and \"std\"");
    if ((p->norm == VXT_NORM_WINDOW && !(p->hi > p->lo)) || (p->norm == VXT_NORM_CT && !(p->hi >= p->lo)))
        return vxt__plan_fail("plan", "$.normalization.hi", "must be greater than lo (%g, %g)", p->hi, p->lo);
    if (p->norm == VXT_NORM_CT && !(p->std >= 0))
        return vxt__plan_fail("plan", "$.normalization.std", "%g: must be >= 0", p->std);
    if (p->norm == VXT_NORM_PERCENTILE && !(p->phi > p->plo))
        return vxt__plan_fail("plan", "$.normalization.percentiles", "[%g, %g]: the second must be greater", p->plo,
                              p->phi);
    if (p->norm != VXT_NORM_PERCENTILE && (p->given & VXT__GIVEN_PERCENTILES))
        return vxt__plan_fail("plan", "$.normalization.percentiles", "applies to scheme \"percentile\" only");
    unsigned takes = p->norm == VXT_NORM_WINDOW ? lohi : p->norm == VXT_NORM_CT ? lohi | ms : 0;
    if (p->given & (lohi | ms) & ~takes)
        return vxt__plan_fail("plan", "$.normalization", "scheme \"%s\" takes no %s", vxt_norm_name(p->norm),
                              p->norm == VXT_NORM_WINDOW ? "mean/std" : "lo/hi/mean/std");
    return VXT_OK;
}

vxt_status vxt_plan_check(const vxt_plan *plan)
{
    VXT_CHECK_NULL(NULL, plan);
    if (plan->members < 1)
        return vxt__plan_fail("plan", "$.model", "no model: give \"model\" (or --model)");
    vxt_status st = check_tiling(plan);
    if (st == VXT_OK)
        st = check_normalization(plan);
    return st;
}

/* ---- normalization ----------------------------------------------------------------------------------- */

vxt_status vxt_plan_normalize(vxt_context *ctx, const vxt_plan *plan, vxt_volume *channel, vxt_stats *stats,
                              double bounds[2])
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, channel);
    vxt_status st = check_normalization(plan);
    if (st != VXT_OK)
        return st;
    if (channel->channels != 1 || channel->dtype != VXT_DTYPE_F32)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_plan_normalize: the channel is %lld x %s (one float32 "
                         "channel, normalized in place)", (long long)channel->channels, vxt_dtype_name(channel->dtype));
    switch (plan->norm) {
    case VXT_NORM_WINDOW:
        return vxt_window(ctx, channel, channel, plan->lo, plan->hi);
    case VXT_NORM_CT:
        return vxt_ct_normalize(ctx, channel, channel, plan->lo, plan->hi, plan->mean, plan->std);
    case VXT_NORM_ZSCORE:
    case VXT_NORM_ZSCORE_NONZERO:
        return vxt_zscore(ctx, channel, plan->norm == VXT_NORM_ZSCORE ? VXT_SELECT_ALL : VXT_SELECT_NONZERO, NULL,
                          channel, stats);
    case VXT_NORM_MINMAX:
        return vxt_minmax_normalize(ctx, channel, VXT_SELECT_ALL, NULL, channel, stats);
    case VXT_NORM_PERCENTILE:
        return vxt_percentile_clip(ctx, channel, VXT_SELECT_ALL, NULL, plan->plo, plan->phi, channel, bounds);
    default:
        return VXT_OK;
    }
}

/* ---- rescale and replace --------------------------------------------------------------------------------- */

vxt_status vxt_plan_rescale(vxt_context *ctx, const vxt_plan *plan, const vxt_image *image, const vxt_volume *in,
                            vxt_volume *out)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, image);
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_status st = vxt_image_get_info(image, &info);
    if (st != VXT_OK)
        return st;
    /* stored values to intensity units (none when reading applied the scaling already) */
    double slope = 1.0, inter = 0.0;
    if (!info.scaled && isfinite(info.scl_slope) && info.scl_slope != 0.0) {
        slope = info.scl_slope;
        inter = isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    }
    if (plan->replace == VXT__REPLACE_PADDING && info.has_padding) {
        /* the reader's padding value is in the units of the voxels the image holds: compared before rescaling */
        vxt_intensity_options o;
        vxt_intensity_options_init(&o);
        o.flags = VXT_INTENSITY_RESCALE | VXT_INTENSITY_REPLACE;
        o.slope = slope;
        o.intercept = inter;
        o.replace_value = info.padding_value;
        o.replace_with = plan->replace_with;
        return vxt_intensity_transform(ctx, in, NULL, out, &o);
    }
    st = vxt_rescale(ctx, in, out, slope, inter);
    if (st == VXT_OK && plan->replace == VXT__REPLACE_VALUE) /* a value in intensity units: after rescaling */
        st = vxt_replace_value(ctx, out, out, plan->replace_value, plan->replace_with);
    return st;
}

/* ---- accessors ----------------------------------------------------------------------------------------- */

vxt_status vxt_plan_get_info(const vxt_plan *plan, vxt_plan_info *info)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_plan_info", info->struct_size, sizeof *info);
    if (st != VXT_OK)
        return st;
    vxt_plan_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.members = plan->members;
    memcpy(r.roi, plan->roi, sizeof r.roi);
    r.label_dtype = plan->label_dtype;
    r.class_names = plan->nclass;
    vxt__strlcpy(r.origin, plan->origin, sizeof r.origin);
    vxt__copy_out_struct(info, &r, info->struct_size, sizeof r);
    return VXT_OK;
}

const char *vxt_plan_member(const vxt_plan *plan, int index, const char **config)
{
    if (!plan || index < 0 || index >= plan->members)
        return NULL;
    if (config)
        *config = plan->member[index].config ? plan->member[index].config : "";
    return plan->member[index].model;
}

const char *vxt_plan_class_name(const vxt_plan *plan, int index)
{
    if (!plan || index < 0 || index >= plan->nclass)
        return NULL;
    return plan->class_names[index];
}

/* ---- tiling and stitching settings --------------------------------------------------------------------- */

vxt_status vxt_plan_stitch_settings(const vxt_plan *plan, const int64_t shape[3], int64_t classes,
                                    vxt_tiling_options *tiling, vxt_stitch_options *stitch)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, shape);
    VXT_CHECK_NULL(NULL, tiling);
    VXT_CHECK_NULL(NULL, stitch);
    vxt_status st = check_tiling(plan);
    if (st != VXT_OK)
        return st;
    if (classes < 1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_plan_stitch_settings: classes = %lld (must be >= 1)",
                         (long long)classes);
    vxt_label_rule rule = vxt__plan_label_rule(plan);
    if (rule == VXT_LABELS_REGIONS && plan->nregions != classes)
        return vxt__plan_fail("plan", "$.labels.region_labels", "%d labels for %lld channels (one per channel)",
                              plan->nregions, (long long)classes);
    static const char *const axis[3] = {"z", "y", "x"};
    for (int a = 0; a < 3; a++)
        if (plan->roi[a] > 1 && plan->receptive_field[a] > plan->roi[a] && shape[a] > plan->roi[a])
            return vxt__plan_fail("plan", "$.receptive_field", "%lld voxels on axis %d (%s) is more than the ROI (%lld), "
                                  "and the volume (%lld) needs several tiles on it: no tile holds a voxel's whole "
                                  "receptive field", (long long)plan->receptive_field[a], a, axis[a],
                                  (long long)plan->roi[a], (long long)shape[a]);
    vxt_tiling_options_init(tiling);
    memcpy(tiling->shape, shape, sizeof tiling->shape);
    memcpy(tiling->roi, plan->roi, sizeof tiling->roi);
    tiling->grid = plan->grid;
    double overlap[3], step[3];
    int64_t overlap_voxels[3];
    vxt__plan_overlap(plan, overlap, step, overlap_voxels);
    for (int a = 0; a < 3; a++) { /* an axis of one-voxel tiles (2D models) has no overlap */
        tiling->overlap[a] = plan->roi[a] == 1 ? 0.0 : overlap[a];
        tiling->step[a] = plan->roi[a] == 1 ? 1.0 : step[a];
        tiling->overlap_voxels[a] = plan->roi[a] == 1 ? 0 : overlap_voxels[a];
    }
    tiling->pad = plan->pad;
    tiling->pad_value = (float)plan->pad_value;
    vxt_stitch_options_init(stitch);
    stitch->out_channels = classes;
    stitch->importance = plan->importance;
    memcpy(stitch->sigma_scale, plan->sigma_scale, sizeof stitch->sigma_scale);
    stitch->accumulate = plan->accumulate;
    stitch->batch_size = plan->batch_size;
    stitch->mirror_axes = plan->mirror_axes;
    stitch->members = plan->members > 0 ? plan->members : 1;
    stitch->ensemble = plan->ensemble;
    stitch->activation = plan->activation;
    stitch->label_dtype = plan->label_dtype;
    stitch->label_rule = rule;
    stitch->label_threshold = plan->threshold;
    stitch->region_labels = rule == VXT_LABELS_REGIONS ? plan->region_labels : NULL;
    return VXT_OK;
}
