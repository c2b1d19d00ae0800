/* plan_write.c - a plan as JSON: every field, resolved, in the schema plan_read.c reads (docs/PLAN.md), so that
 * a printed plan read back is the same plan. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* One number when the three are equal, else [z, y, x]; [y, x] when z is `zskip` (a 2D model's). */
static cJSON *axes_json(const double v[3], int use_zskip, double zskip)
{
    if (v[0] == v[1] && v[1] == v[2])
        return cJSON_CreateNumber(v[0]);
    cJSON *a = cJSON_CreateArray();
    for (int i = use_zskip && v[0] == zskip ? 1 : 0; i < 3; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *member_json(const vxt__plan_member *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->model ? m->model : "");
    cJSON_AddStringToObject(o, "config", m->config ? m->config : "");
    return o;
}

static void add_normalization(cJSON *j, const vxt_plan *p)
{
    cJSON *n = cJSON_AddObjectToObject(j, "normalization");
    cJSON_AddStringToObject(n, "scheme", vxt_norm_name(p->norm));
    if (p->norm == VXT_NORM_WINDOW || p->norm == VXT_NORM_CT) {
        cJSON_AddNumberToObject(n, "lo", p->lo);
        cJSON_AddNumberToObject(n, "hi", p->hi);
    }
    if (p->norm == VXT_NORM_CT) {
        cJSON_AddNumberToObject(n, "mean", p->mean);
        cJSON_AddNumberToObject(n, "std", p->std);
    }
    if (p->norm == VXT_NORM_PERCENTILE) {
        const double pc[2] = {p->plo, p->phi};
        cJSON_AddItemToObject(n, "percentiles", cJSON_CreateDoubleArray(pc, 2));
    }
    if (p->replace != VXT__REPLACE_NONE) {
        cJSON *r = cJSON_AddObjectToObject(n, "replace");
        if (p->replace == VXT__REPLACE_PADDING)
            cJSON_AddStringToObject(r, "value", "padding");
        else
            cJSON_AddNumberToObject(r, "value", p->replace_value);
        cJSON_AddNumberToObject(r, "with", p->replace_with);
    }
}

static void add_stitching(cJSON *j, const vxt_plan *p)
{
    const double roi[3] = {(double)p->roi[0], (double)p->roi[1], (double)p->roi[2]};
    if (p->roi[0] > 0)
        cJSON_AddItemToObject(j, "roi", axes_json(roi, 1, 1.0));
    else
        cJSON_AddNullToObject(j, "roi"); /* not given yet */
    cJSON_AddStringToObject(j, "grid", vxt_grid_name(p->grid));
    const int derived = p->receptive_field[0] > 0 &&
                        !(p->given & (VXT__GIVEN_OVERLAP | VXT__GIVEN_STEP | VXT__GIVEN_OVERLAP_VOXELS));
    if (p->receptive_field[0] > 0) {
        const double rf[3] = {(double)p->receptive_field[0], (double)p->receptive_field[1],
                              (double)p->receptive_field[2]};
        cJSON_AddItemToObject(j, "receptive_field", axes_json(rf, 1, 1.0));
    }
    if (derived) {
        /* the overlap follows from the receptive field (vxt__plan_overlap): written, it would read back as given */
    } else if (p->grid == VXT_GRID_MONAI) {
        cJSON_AddItemToObject(j, "overlap", axes_json(p->overlap, 0, 0));
    } else if (p->grid == VXT_GRID_NNUNET) {
        cJSON_AddItemToObject(j, "step", axes_json(p->step, 0, 0));
    } else {
        const double ov[3] = {(double)p->overlap_voxels[0], (double)p->overlap_voxels[1],
                              (double)p->overlap_voxels[2]};
        cJSON_AddItemToObject(j, "overlap_voxels", axes_json(ov, 0, 0));
    }
    cJSON_AddStringToObject(j, "pad", vxt_pad_name(p->pad));
    cJSON_AddNumberToObject(j, "pad_value", p->pad_value);
    cJSON_AddStringToObject(j, "importance", vxt_importance_name(p->importance));
    if (p->importance == VXT_IMPORTANCE_GAUSSIAN)
        cJSON_AddItemToObject(j, "sigma_scale", axes_json(p->sigma_scale, 0, 0));
    cJSON_AddStringToObject(j, "accumulate", vxt_accumulate_name(p->accumulate));
    cJSON_AddNumberToObject(j, "batch_size", p->batch_size);
    cJSON *mx = cJSON_AddArrayToObject(j, "mirror_axes");
    for (int a = 0; a < 3; a++)
        if (p->mirror_axes & (1u << a))
            cJSON_AddItemToArray(mx, cJSON_CreateNumber(a));
    cJSON_AddStringToObject(j, "activation", vxt_activation_name(p->activation));
    cJSON *l = cJSON_AddObjectToObject(j, "labels");
    vxt_label_rule rule = vxt__plan_label_rule(p);
    cJSON_AddStringToObject(l, "rule", vxt_label_rule_name(rule));
    if (rule != VXT_LABELS_ARGMAX)
        cJSON_AddNumberToObject(l, "threshold", p->threshold);
    if (p->nregions)
        cJSON_AddItemToObject(l, "region_labels", cJSON_CreateIntArray((const int *)p->region_labels, p->nregions));
}

vxt_status vxt_plan_to_json(const vxt_plan *plan, char **json)
{
    VXT_CHECK_NULL(NULL, json);
    *json = NULL;
    VXT_CHECK_NULL(NULL, plan);
    const vxt_plan *p = plan;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_to_json: out of memory");
    cJSON_AddNumberToObject(j, "voxtile_plan", 1);
    if (p->members == 1) {
        cJSON_AddItemToObject(j, "model", member_json(&p->member[0]));
    } else if (p->members > 1) {
        cJSON *a = cJSON_AddArrayToObject(j, "members");
        for (int i = 0; i < p->members; i++)
            cJSON_AddItemToArray(a, member_json(&p->member[i]));
    }
    cJSON_AddStringToObject(j, "ensemble", vxt_ensemble_name(p->ensemble));
    if (p->orientation[0])
        cJSON_AddStringToObject(j, "orientation", p->orientation);
    else
        cJSON_AddNullToObject(j, "orientation");
    cJSON_AddItemToObject(j, "transpose", cJSON_CreateIntArray(p->transpose, 3));
    if (p->has_spacing)
        cJSON_AddItemToObject(j, "target_spacing", axes_json(p->spacing, 1, 0.0));
    else
        cJSON_AddNullToObject(j, "target_spacing");
    cJSON_AddStringToObject(j, "anisotropic_resampling", vxt_anisotropy_name(p->anisotropy));
    cJSON_AddStringToObject(j, "interpolation", vxt_interp_name(p->interp));
    cJSON_AddBoolToObject(j, "normalize_before_resampling", p->normalize_first);
    add_normalization(j, p);
    add_stitching(j, p);
    cJSON *o = cJSON_AddObjectToObject(j, "output");
    cJSON_AddStringToObject(o, "label_dtype", vxt_dtype_name(p->label_dtype));
    cJSON_AddStringToObject(o, "resample_back", vxt_resample_back_name(p->back));
    if (p->nclass) {
        cJSON *cn = cJSON_AddArrayToObject(j, "class_names");
        for (int i = 0; i < p->nclass; i++)
            cJSON_AddItemToArray(cn, cJSON_CreateString(p->class_names[i] ? p->class_names[i] : ""));
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_to_json: out of memory");
    /* the caller releases it with vxt_buffer_free (free): hand over a malloc'd copy, whatever cJSON's allocator */
    *json = strdup(text);
    cJSON_free(text);
    if (!*json)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_to_json: out of memory");
    return VXT_OK;
}
