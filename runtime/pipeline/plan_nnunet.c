/* plan_nnunet.c - nnU-Net v2 model folders as plans: plans.json (a configuration, following inherits_from, and
 * the dataset's axis order and foreground intensity statistics) and dataset.json (labels, regions), mapped onto
 * the plan's fields with nnU-Net's inference settings (docs/PLAN.md, "nnU-Net model folders"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define NNUNET_JSON_MAX ((size_t)16 << 20)

static vxt_status read_json(const char *path, cJSON **out)
{
    char *text = NULL;
    size_t n = 0;
    vxt_status st = vxt__read_text_file("vxt_plan_load_nnunet", path, NNUNET_JSON_MAX, &text, &n);
    if (st == VXT_OK)
        st = vxt__json_parse(text, n, path, out);
    free(text);
    return st;
}

/* configurations.<name> and what it inherits from (at most 4 levels): the first that has `key`. */
static const cJSON *inherited(const cJSON *const chain[4], const char *key)
{
    for (int i = 0; i < 4 && chain[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(chain[i], key);
        if (v)
            return v;
    }
    return NULL;
}

/* A list of 2 or 3 positive numbers (whole numbers when `whole`) as plan JSON ([z, y, x] or a 2D [y, x]), checked
 * here so that a message names the place in plans.json. */
static vxt_status axes_field(cJSON *doc, const char *plans_path, const char *path, const cJSON *v, const char *field,
                             int whole)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n != 2 && n != 3)
        return vxt__plan_fail(plans_path, path, "expected 2 or 3 numbers");
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(v, i);
        char ip[400];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || !(e->valuedouble > 0))
            return vxt__plan_fail(plans_path, ip, "expected a number > 0");
        if (whole && (e->valuedouble != floor(e->valuedouble) || e->valuedouble > (double)(1 << 20)))
            return vxt__plan_fail(plans_path, ip, "%g is not a whole number of voxels up to 2^20", e->valuedouble);
    }
    cJSON_AddItemToObject(doc, field, cJSON_Duplicate(v, 1));
    return VXT_OK;
}

static vxt_status transpose_field(cJSON *doc, const char *plans_path, const cJSON *plans)
{
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(plans, "transpose_forward");
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(plans, "transpose_backward");
    if (!tf)
        return VXT_OK;
    int f[3], b[3];
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *t = pass ? tb : tf;
        const char *path = pass ? "$.transpose_backward" : "$.transpose_forward";
        if (pass && !t)
            break;
        if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != 3)
            return vxt__plan_fail(plans_path, path, "expected a permutation of [0, 1, 2]");
        for (int i = 0; i < 3; i++) {
            const cJSON *e = cJSON_GetArrayItem(t, i);
            if (!cJSON_IsNumber(e) || e->valueint < 0 || e->valueint > 2)
                return vxt__plan_fail(plans_path, path, "expected a permutation of [0, 1, 2]");
            (pass ? b : f)[i] = e->valueint;
        }
    }
    if (tb)
        for (int i = 0; i < 3; i++)
            if (b[f[i]] != i)
                return vxt__plan_fail(plans_path, "$.transpose_backward", "[%d, %d, %d] does not undo "
                                      "transpose_forward [%d, %d, %d]", b[0], b[1], b[2], f[0], f[1], f[2]);
    cJSON_AddItemToObject(doc, "transpose", cJSON_CreateIntArray(f, 3)); /* checked as a permutation there */
    return VXT_OK;
}

/* The reader nnU-Net's inference uses (plans.json image_reader_writer): SimpleITKIO and NibabelIO give the voxels in
 * the file's order as (k, j, i) arrays, as voxtile's volumes are; NibabelIOWithReorient first reorients to RAS
 * (nibabel's as_closest_canonical: axes permuted and flipped, exactly what the plan's orientation "RAS" does). */
static vxt_status reader_field(cJSON *doc, const char *plans_path, const cJSON *plans)
{
    const char *reader = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plans, "image_reader_writer"));
    if (!reader || !strcmp(reader, "SimpleITKIO") || !strcmp(reader, "NibabelIO"))
        return VXT_OK;
    if (!strcmp(reader, "NibabelIOWithReorient")) {
        cJSON_AddStringToObject(doc, "orientation", "RAS");
        return VXT_OK;
    }
    char shown[80];
    return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: $.image_reader_writer: '%s' is not supported (SimpleITKIO, "
                     "NibabelIO and NibabelIOWithReorient are)", plans_path,
                     vxt__printable(reader, strlen(reader), 60, shown, sizeof shown));
}

/* normalization_schemes[0] (and use_mask_for_norm[0]) as the plan's normalization object. */
static vxt_status normalization_field(cJSON *doc, const char *plans_path, const char *cp, const cJSON *plans,
                                      const cJSON *schemes, const cJSON *masks)
{
    char fp[320];
    snprintf(fp, sizeof fp, "%s.normalization_schemes", cp);
    if (!cJSON_IsArray(schemes) || cJSON_GetArraySize(schemes) < 1)
        return vxt__plan_fail(plans_path, fp, "missing or empty");
    if (cJSON_GetArraySize(schemes) > 1)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: %s: %d input channels; voxtile's pipeline reads "
                         "single-channel nnU-Net models", plans_path, fp, cJSON_GetArraySize(schemes));
    const char *scheme = cJSON_GetStringValue(cJSON_GetArrayItem(schemes, 0));
    if (!scheme)
        return vxt__plan_fail(plans_path, fp, "expected strings");
    int use_mask = cJSON_IsArray(masks) && cJSON_IsTrue(cJSON_GetArrayItem(masks, 0));
    cJSON *n = cJSON_AddObjectToObject(doc, "normalization");
    if (!strcmp(scheme, "CTNormalization")) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(plans, "foreground_intensity_properties_per_channel"), "0");
        static const char *const keys[4] = {"percentile_00_5", "percentile_99_5", "mean", "std"};
        static const char *const fields[4] = {"lo", "hi", "mean", "std"};
        cJSON_AddStringToObject(n, "scheme", "ct");
        for (int i = 0; i < 4; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, keys[i]);
            if (!cJSON_IsNumber(v)) {
                snprintf(fp, sizeof fp, "$.foreground_intensity_properties_per_channel.0.%s", keys[i]);
                return vxt__plan_fail(plans_path, fp, "expected a number");
            }
            cJSON_AddNumberToObject(n, fields[i], v->valuedouble);
        }
    } else if (!strcmp(scheme, "ZScoreNormalization")) {
        cJSON_AddStringToObject(n, "scheme", use_mask ? "zscore-nonzero" : "zscore");
    } else if (!strcmp(scheme, "RescaleTo01Normalization")) {
        cJSON_AddStringToObject(n, "scheme", "minmax");
    } else if (!strcmp(scheme, "NoNormalization")) {
        cJSON_AddStringToObject(n, "scheme", "none");
    } else { /* shown printable: it comes from the file (found by fuzz_nnunet_load) */
        char shown[256];
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: %s: normalization scheme '%s' is not supported (CT, ZScore, "
                         "RescaleTo01 and NoNormalization are)", plans_path, fp,
                         vxt__printable(scheme, strlen(scheme), 60, shown, sizeof shown));
    }
    return VXT_OK;
}

/* dataset.json: class names from "labels"; region-based datasets: sigmoid and nnU-Net's region labels. */
static vxt_status dataset_fields(cJSON *doc, const char *dpath, const cJSON *dataset)
{
    const cJSON *regions = cJSON_GetObjectItemCaseSensitive(dataset, "regions_class_order");
    cJSON *labels = cJSON_AddObjectToObject(doc, "labels");
    if (regions) {
        if (!cJSON_IsArray(regions) || cJSON_GetArraySize(regions) < 1)
            return vxt__plan_fail(dpath, "$.regions_class_order", "expected a list of labels");
        cJSON_AddStringToObject(doc, "activation", "sigmoid");
        cJSON_AddStringToObject(labels, "rule", "regions");
        cJSON_AddNumberToObject(labels, "threshold", 0.5);
        cJSON_AddItemToObject(labels, "region_labels", cJSON_Duplicate(regions, 1));
        return VXT_OK; /* region names do not name the output labels one to one: no class names */
    }
    cJSON_AddStringToObject(doc, "activation", "softmax");
    cJSON_AddStringToObject(labels, "rule", "argmax");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(dataset, "labels"), *it;
    if (!cJSON_IsObject(l))
        return VXT_OK;
    int n = 0;
    cJSON_ArrayForEach(it, l) if (cJSON_IsNumber(it) && it->valueint >= n && it->valueint < 65536) n = it->valueint + 1;
    if (n == 0)
        return VXT_OK;
    cJSON *names = cJSON_AddArrayToObject(doc, "class_names");
    for (int i = 0; i < n; i++) {
        const char *name = "";
        cJSON_ArrayForEach(it, l) if (cJSON_IsNumber(it) && it->valueint == i) name = it->string;
        cJSON_AddItemToArray(names, cJSON_CreateString(name));
    }
    return VXT_OK;
}

/* The image's resampling (resampling_fn_data and its kwargs, inherited): nnU-Net's resample_data_or_seg_to_shape
 * with its spline order (3 by default: cubic; 1: linear), nearest along the separate axis (order_z 0), which axis
 * decided from the spacings (force_separate_z null) or never (false). */
static vxt_status resampling_fields(cJSON *doc, const char *path, const char *cp, const cJSON *fn, const cJSON *kw)
{
    char fp[320];
    snprintf(fp, sizeof fp, "%s.resampling_fn_data", cp);
    if (fn && (!cJSON_IsString(fn) || strcmp(fn->valuestring, "resample_data_or_seg_to_shape") != 0))
        return vxt__plan_fail(path, fp, "voxtile resamples as nnU-Net's resample_data_or_seg_to_shape does, not as "
                              "another function");
    const cJSON *order = kw ? cJSON_GetObjectItemCaseSensitive(kw, "order") : NULL;
    const cJSON *order_z = kw ? cJSON_GetObjectItemCaseSensitive(kw, "order_z") : NULL;
    const cJSON *force = kw ? cJSON_GetObjectItemCaseSensitive(kw, "force_separate_z") : NULL;
    snprintf(fp, sizeof fp, "%s.resampling_fn_data_kwargs.order", cp);
    /* exactly 1 or 3 (a cast of any other number could be undefined, or take 3.5 for 3) */
    const int o = !order ? 3 : !cJSON_IsNumber(order) ? -1 : order->valuedouble == 3.0 ? 3
                                                    : order->valuedouble == 1.0 ? 1 : -1;
    if (o != 1 && o != 3)
        return vxt__plan_fail(path, fp, "order %s: voxtile resamples images with order 3 (cubic B-spline) or 1 "
                              "(linear)", cJSON_IsNumber(order) ? "other than 1 or 3" : "is not a number");
    snprintf(fp, sizeof fp, "%s.resampling_fn_data_kwargs.order_z", cp);
    if (order_z && !(cJSON_IsNumber(order_z) && order_z->valuedouble == 0.0))
        return vxt__plan_fail(path, fp, "voxtile takes the nearest slice along the separate axis (order_z 0)");
    snprintf(fp, sizeof fp, "%s.resampling_fn_data_kwargs.force_separate_z", cp);
    if (force && cJSON_IsTrue(force))
        return vxt__plan_fail(path, fp, "true: voxtile decides the separate axis from the spacings, as nnU-Net does "
                              "with null");
    if (force && !cJSON_IsNull(force) && !cJSON_IsFalse(force))
        return vxt__plan_fail(path, fp, "expected null, false or true");
    cJSON_AddStringToObject(doc, "interpolation", o == 3 ? "cubic" : "linear");
    cJSON_AddStringToObject(doc, "anisotropic_resampling", force && cJSON_IsFalse(force) ? "off" : "nnunet");
    return VXT_OK;
}

/* The plan document for configuration `cp` of plans.json (and dataset.json). */
static vxt_status nnunet_document(const cJSON *plans, const cJSON *dataset, const char *plans_path,
                                  const char *dpath, const char *configuration, cJSON *doc)
{
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(plans, "configurations");
    /* (a list's items have no names: listing them as configurations read a NULL name; found by fuzz_nnunet_load) */
    if (cfgs && !cJSON_IsObject(cfgs))
        return vxt__plan_fail(plans_path, "$.configurations", "expected an object of configurations by name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cfgs, configuration);
    char cp[256], fp[320];
    snprintf(cp, sizeof cp, "$.configurations.%s", configuration);
    if (!cJSON_IsObject(cfg)) {
        char names[512] = "";
        const cJSON *it;
        char shown[256];
        cJSON_ArrayForEach(it, cfgs) vxt__strlcatf(names, sizeof names, "%s%s", names[0] ? ", " : "",
                                                   vxt__printable(it->string, strlen(it->string), 60, shown, sizeof shown));
        return vxt__plan_fail(plans_path, cp, "no such configuration (plans.json has: %s)", names[0] ? names : "none");
    }
    const cJSON *chain[4] = {cfg, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        const cJSON *inh = cJSON_GetObjectItemCaseSensitive(chain[i - 1], "inherits_from");
        if (!cJSON_IsString(inh))
            break;
        chain[i] = cJSON_GetObjectItemCaseSensitive(cfgs, inh->valuestring);
    }
    const cJSON *patch = inherited(chain, "patch_size"), *spacing = inherited(chain, "spacing");
    snprintf(fp, sizeof fp, "%s.patch_size", cp);
    vxt_status st = patch ? axes_field(doc, plans_path, fp, patch, "roi", 1) : vxt__plan_fail(plans_path, fp, "missing");
    snprintf(fp, sizeof fp, "%s.spacing", cp);
    if (st == VXT_OK) /* a 2d configuration's spacing is [y, x]: nnU-Net keeps the spacing between slices */
        st = spacing ? axes_field(doc, plans_path, fp, spacing, "target_spacing", 0)
                     : vxt__plan_fail(plans_path, fp, "missing");
    if (st == VXT_OK)
        st = reader_field(doc, plans_path, plans);
    if (st == VXT_OK)
        st = transpose_field(doc, plans_path, plans);
    if (st == VXT_OK)
        st = normalization_field(doc, plans_path, cp, plans, inherited(chain, "normalization_schemes"),
                                 inherited(chain, "use_mask_for_norm"));
    if (st == VXT_OK)
        st = resampling_fields(doc, plans_path, cp, inherited(chain, "resampling_fn_data"),
                               inherited(chain, "resampling_fn_data_kwargs"));
    if (st != VXT_OK)
        return st;
    /* nnU-Net's inference: tile_step_size 0.5, its Gaussian, float16 accumulation, mirroring on every axis (of a
     * 3D patch; y and x of a 2D one), anisotropic resampling, normalization before resampling (its statistics come
     * from the original grid), probabilities resampled back; the image's resampling from the plans (above) */
    const int two_d = cJSON_GetArraySize(patch) == 2;
    cJSON_AddStringToObject(doc, "grid", "nnunet");
    cJSON_AddNumberToObject(doc, "step", 0.5);
    cJSON_AddStringToObject(doc, "importance", "gaussian-nnunet");
    cJSON_AddStringToObject(doc, "accumulate", "float16");
    const int mirror3[3] = {0, 1, 2}, mirror2[2] = {1, 2};
    cJSON_AddItemToObject(doc, "mirror_axes", two_d ? cJSON_CreateIntArray(mirror2, 2) : cJSON_CreateIntArray(mirror3, 3));
    cJSON_AddTrueToObject(doc, "normalize_before_resampling");
    cJSON *out = cJSON_AddObjectToObject(doc, "output");
    cJSON_AddStringToObject(out, "resample_back", "probabilities");
    return dataset_fields(doc, dpath, dataset);
}

vxt_status vxt_plan_load_nnunet(vxt_plan *plan, const char *dir, const char *configuration)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, dir);
    VXT_CHECK_NULL(NULL, configuration);
    char ppath[4096], dpath[4096];
    snprintf(ppath, sizeof ppath, "%s/plans.json", dir);
    snprintf(dpath, sizeof dpath, "%s/dataset.json", dir);
    cJSON *plans = NULL, *dataset = NULL, *doc = cJSON_CreateObject();
    vxt_status st = doc ? read_json(ppath, &plans)
                        : vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_load_nnunet: out of memory");
    if (st == VXT_OK)
        st = read_json(dpath, &dataset);
    if (st == VXT_OK)
        st = nnunet_document(plans, dataset, ppath, dpath, configuration, doc);
    if (st == VXT_OK) { /* laid over the plan like any plan document, all or nothing */
        char origin[4200];
        snprintf(origin, sizeof origin, "nnU-Net %s (%s)", dir, configuration);
        st = vxt__plan_overlay(plan, doc, ppath, origin);
    }
    cJSON_Delete(plans);
    cJSON_Delete(dataset);
    cJSON_Delete(doc);
    return st;
}
