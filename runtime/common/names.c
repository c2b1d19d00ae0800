/* names.c - the names of every public enum, generated from the X-macro tables of voxtile.h and voxtile_plugin.h:
 * vxt_<enum>_name() and vxt_<enum>_parse(). Plan files, the `voxtile` tool and messages all use these names,
 * so that there is one vocabulary and one copy of it. */
#include <string.h>
#include <strings.h>

#include "common.h"

typedef struct vxt__name {
    int value;
    const char *name;
} vxt__name;

#define VXT__COUNT(t) (sizeof(t) / sizeof((t)[0]))

static const char *name_of(const vxt__name *t, size_t n, int value, const char *unknown)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return unknown;
}

/* Rows [from, n) are accepted (case-insensitive) and listed in the message when nothing matches. */
static vxt_status parse_name(const char *func, const char *what, const vxt__name *t, size_t n, size_t from,
                             const char *s, int *out)
{
    if (s == NULL || out == NULL)
        return vxt__fail(NULL, VXT_ERR_NULL, "%s: argument '%s' is NULL", func, s == NULL ? "name" : "out");
    for (size_t i = from; i < n; i++)
        if (strcasecmp(s, t[i].name) == 0) {
            *out = t[i].value;
            return VXT_OK;
        }
    char list[512] = "";
    for (size_t i = from; i < n; i++)
        vxt__strlcatf(list, sizeof list, "%s%s", i > from ? ", " : "", t[i].name);
    char shown[96];
    return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "unknown %s '%s' (expected one of: %s)", what,
                     vxt__printable(s, strlen(s), 40, shown, sizeof shown), list);
}

#define VXT__ROW(name, value, text) {value, text},

/* name(): `intype` argument, `unknown` for values not in the table; parse(): rows from `from` on. */
#define VXT__NAMES(prefix, type, intype, MAP, what, unknown, from)                                             \
    static const vxt__name prefix##_rows[] = {MAP(VXT__ROW)};                                                  \
    const char *prefix##_name(intype value)                                                                    \
    {                                                                                                          \
        return name_of(prefix##_rows, VXT__COUNT(prefix##_rows), (int)value, unknown);                         \
    }                                                                                                          \
    vxt_status prefix##_parse(const char *name, type *out)                                                     \
    {                                                                                                          \
        int v = 0;                                                                                             \
        vxt_status st = parse_name(#prefix "_parse", what, prefix##_rows, VXT__COUNT(prefix##_rows), from,     \
                                   name, out != NULL ? &v : NULL);                                             \
        if (st == VXT_OK)                                                                                      \
            *out = (type)v;                                                                                    \
        return st;                                                                                             \
    }

VXT__NAMES(vxt_backend, vxt_backend, vxt_backend, VXT_BACKEND_MAP, "backend", "unknown", 0)
VXT__NAMES(vxt_dtype, vxt_dtype, vxt_dtype, VXT_DTYPE_MAP, "dtype", "unknown", 1)
VXT__NAMES(vxt_grid, vxt_grid, vxt_grid, VXT_GRID_MAP, "tile placement", "unknown", 0)
VXT__NAMES(vxt_pad, vxt_pad, vxt_pad, VXT_PAD_MAP, "padding", "unknown", 0)
VXT__NAMES(vxt_importance, vxt_importance, vxt_importance, VXT_IMPORTANCE_MAP, "importance map", "unknown", 0)
VXT__NAMES(vxt_accumulate, vxt_accumulate, vxt_accumulate, VXT_ACCUMULATE_MAP, "accumulation", "unknown", 0)
VXT__NAMES(vxt_activation, vxt_activation, vxt_activation, VXT_ACTIVATION_MAP, "activation", "unknown", 0)
VXT__NAMES(vxt_ensemble, vxt_ensemble, vxt_ensemble, VXT_ENSEMBLE_MAP, "ensemble average", "unknown", 0)
VXT__NAMES(vxt_label_rule, vxt_label_rule, vxt_label_rule, VXT_LABEL_RULE_MAP, "label rule", "unknown", 0)
VXT__NAMES(vxt_select, vxt_select, vxt_select, VXT_SELECT_MAP, "selection", "unknown", 0)
VXT__NAMES(vxt_interp, vxt_interp, vxt_interp, VXT_INTERP_MAP, "interpolation", "unknown", 0)
VXT__NAMES(vxt_grid_align, vxt_grid_align, vxt_grid_align, VXT_GRID_ALIGN_MAP, "grid alignment", "unknown", 0)
VXT__NAMES(vxt_boundary, vxt_boundary, vxt_boundary, VXT_BOUNDARY_MAP, "boundary", "unknown", 0)
VXT__NAMES(vxt_resample_clip, vxt_resample_clip, vxt_resample_clip, VXT_RESAMPLE_CLIP_MAP, "clipping", "unknown", 0)
VXT__NAMES(vxt_format, vxt_format, vxt_format, VXT_FORMAT_MAP, "image format", "unknown", 0)
VXT__NAMES(vxt_affine_source, vxt_affine_source, vxt_affine_source, VXT_AFFINE_SOURCE_MAP, "affine source",
           "unknown", 0)
VXT__NAMES(vxt_nifti_xform, vxt_nifti_xform, int, VXT_NIFTI_XFORM_MAP, "xform code", "invalid", 0)
VXT__NAMES(vxt_nifti_units, vxt_nifti_units, int, VXT_NIFTI_UNITS_MAP, "units", "invalid", 0)
VXT__NAMES(vxt_nifti_datatype, vxt_nifti_datatype, int, VXT_NIFTI_DATATYPE_MAP, "NIfTI datatype", "invalid", 0)
VXT__NAMES(vxt_scaling, vxt_scaling, vxt_scaling, VXT_SCALING_MAP, "scaling", "unknown", 0)
VXT__NAMES(vxt_runner_kind, vxt_runner_kind, vxt_runner_kind, VXT_RUNNER_KIND_MAP, "runner kind", "unknown", 0)
VXT__NAMES(vxt_norm, vxt_norm, vxt_norm, VXT_NORM_MAP, "normalization", "unknown", 0)
VXT__NAMES(vxt_resample_back, vxt_resample_back, vxt_resample_back, VXT_RESAMPLE_BACK_MAP, "way back",
           "unknown", 0)
VXT__NAMES(vxt_anisotropy, vxt_anisotropy, vxt_anisotropy, VXT_ANISOTROPY_MAP, "resampling mode", "unknown", 0)
VXT__NAMES(vxt_stage, vxt_stage, vxt_stage, VXT_STAGE_MAP, "stage", "unknown", 0)

/* Statuses: their names are the constants' own ("VXT_ERR_IO"), their descriptions the table's text. */
#define VXT__STATUS_ROW(name, value, text) {value, #name},
#define VXT__STATUS_TEXT(name, value, text) {value, text},
static const vxt__name status_rows[] = {VXT_STATUS_MAP(VXT__STATUS_ROW)};
static const vxt__name status_texts[] = {VXT_STATUS_MAP(VXT__STATUS_TEXT)};

const char *vxt_status_name(vxt_status status)
{
    return name_of(status_rows, VXT__COUNT(status_rows), (int)status, "VXT_ERR_UNKNOWN");
}

const char *vxt_status_string(vxt_status status)
{
    return name_of(status_texts, VXT__COUNT(status_texts), (int)status, "unknown status");
}

vxt_status vxt_status_parse(const char *name, vxt_status *out)
{
    int v = 0;
    vxt_status st = parse_name(__func__, "status", status_rows, VXT__COUNT(status_rows), 0, name,
                               out != NULL ? &v : NULL);
    if (st == VXT_OK)
        *out = (vxt_status)v;
    return st;
}
