/* plan_read.c - plans from JSON (schema: docs/PLAN.md; plan_write.c writes the same schema). The reader is strict:
 * an unknown field, a wrong type or a value out of range is an error naming the origin and the JSON path
 * ("plan.json: $.overlap: 1.5 is out of range [0, 1)"); documents are laid over a copy of the plan, which replaces
 * it only when the whole document is good. A field that chooses a mode (grid, importance, normalization.scheme,
 * labels.rule, model/members) resets the parameters of the previous mode, so that a plan file's "overlap" does not
 * linger under a "grid": "nnunet" laid over it. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define PLAN_MAX_BYTES ((size_t)16 << 20)

typedef struct jctx {
    const char *origin;
} jctx;

#define FAIL(c, path, ...) vxt__plan_fail((c)->origin, (path), __VA_ARGS__)

/* ---- typed values ------------------------------------------------------------------------------------- */

static vxt_status get_number(const jctx *c, const cJSON *o, const char *path, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
        return FAIL(c, path, "expected a number");
    if (o->valuedouble < lo || o->valuedouble > hi)
        return FAIL(c, path, "%.9g is out of range [%g, %g]", o->valuedouble, lo, hi);
    *out = o->valuedouble;
    return VXT_OK;
}

static vxt_status get_whole(const jctx *c, const cJSON *o, const char *path, double lo, double hi, int64_t *out)
{
    double d = 0;
    vxt_status st = get_number(c, o, path, lo, hi, &d);
    if (st == VXT_OK && d != floor(d))
        return FAIL(c, path, "%g is not a whole number", d);
    *out = (int64_t)d;
    return st;
}

/* A per-axis value: [z, y, x], [y, x] (a 2D model's: z = zdefault) or one number for every axis. */
static vxt_status get_axes(const jctx *c, const cJSON *o, const char *path, double lo, double hi, double zdefault,
                           int whole, double out[3])
{
    char ip[200];
    double v[3] = {0, 0, 0};
    int n = cJSON_IsNumber(o) ? 1 : cJSON_IsArray(o) ? cJSON_GetArraySize(o) : -1;
    if (n != 1 && n != 2 && n != 3)
        return FAIL(c, path, "expected [z, y, x], [y, x] or a number");
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_IsNumber(o) ? o : cJSON_GetArrayItem(o, i);
        snprintf(ip, sizeof ip, cJSON_IsNumber(o) ? "%s" : "%s[%d]", path, i);
        vxt_status st = get_number(c, e, ip, lo, hi, &v[i]);
        if (st == VXT_OK && whole && v[i] != floor(v[i]))
            st = FAIL(c, ip, "%g is not a whole number", v[i]);
        if (st != VXT_OK)
            return st;
    }
    out[0] = n == 1 ? v[0] : n == 2 ? zdefault : v[0];
    out[1] = n == 1 ? v[0] : n == 2 ? v[0] : v[1];
    out[2] = n == 1 ? v[0] : n == 2 ? v[1] : v[2];
    return VXT_OK;
}

static vxt_status get_string(const jctx *c, const cJSON *o, const char *path, const char **out)
{
    if (!cJSON_IsString(o))
        return FAIL(c, path, "expected a string");
    *out = o->valuestring;
    return VXT_OK;
}

/* An enum field by its library name: the parse function's own message (it lists the names). */
#define GET_ENUM(c, o, path, parse, dst)                                                                       \
    do {                                                                                                       \
        const char *s_ = NULL;                                                                                 \
        vxt_status st_ = get_string((c), (o), (path), &s_);                                                    \
        if (st_ == VXT_OK && parse(s_, &(dst)) != VXT_OK)                                                      \
            st_ = FAIL((c), (path), "%s", vxt_last_error());                                                   \
        if (st_ != VXT_OK)                                                                                     \
            return st_;                                                                                        \
    } while (0)

static vxt_status set_string(char **dst, const char *s)
{
    char *d = strdup(s);
    if (!d)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_load_json: out of memory");
    free(*dst);
    *dst = d;
    return VXT_OK;
}

/* Every field of an object must be one of `names` (NULL-terminated). */
static vxt_status known_fields(const jctx *c, const cJSON *o, const char *path, const char *const *names,
                               const char *expected)
{
    if (!cJSON_IsObject(o))
        return FAIL(c, path, "expected an object with %s", expected);
    const cJSON *f;
    cJSON_ArrayForEach(f, o)
    {
        int ok = 0;
        for (const char *const *n = names; *n; n++)
            ok |= strcmp(f->string, *n) == 0;
        if (!ok) {
            char fp[200], shown[256]; /* a key from the file, shown printable (found by fuzz_plan_load) */
            snprintf(fp, sizeof fp, "%s.%s", path, vxt__printable(f->string, strlen(f->string), 60, shown, sizeof shown));
            return FAIL(c, fp, "unknown field (expected %s)", expected);
        }
    }
    return VXT_OK;
}

/* ---- models -------------------------------------------------------------------------------------------- */

static vxt_status get_member(const jctx *c, const cJSON *o, const char *path, vxt__plan_member *m)
{
    static const char *const names[] = {"model", "config", NULL};
    const char *model = NULL, *config = "";
    vxt_status st;
    if (cJSON_IsString(o)) {
        model = o->valuestring;
    } else {
        if ((st = known_fields(c, o, path, names, "\"model\" and \"config\"")) != VXT_OK)
            return st;
        const cJSON *mo = cJSON_GetObjectItemCaseSensitive(o, "model"), *co = cJSON_GetObjectItemCaseSensitive(o, "config");
        char fp[200];
        snprintf(fp, sizeof fp, "%s.model", path);
        if (!mo)
            return FAIL(c, path, "missing \"model\"");
        if ((st = get_string(c, mo, fp, &model)) != VXT_OK)
            return st;
        snprintf(fp, sizeof fp, "%s.config", path);
        if (co && (st = get_string(c, co, fp, &config)) != VXT_OK)
            return st;
    }
    if (!model[0])
        return FAIL(c, path, "empty model specification");
    if ((st = set_string(&m->model, model)) != VXT_OK)
        return st;
    return set_string(&m->config, config);
}

static void clear_members(vxt_plan *p)
{
    for (int m = 0; m < VXT__PLAN_MAX_MEMBERS; m++) {
        free(p->member[m].model);
        free(p->member[m].config);
        p->member[m].model = p->member[m].config = NULL;
    }
    p->members = 0;
}

static vxt_status f_model(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    clear_members(p);
    vxt_status st = get_member(c, o, path, &p->member[0]);
    p->members = st == VXT_OK;
    return st;
}

static vxt_status f_members(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    int n = cJSON_IsArray(o) ? cJSON_GetArraySize(o) : -1;
    if (n < 1 || n > VXT__PLAN_MAX_MEMBERS)
        return FAIL(c, path, "expected an array of 1 to %d models", VXT__PLAN_MAX_MEMBERS);
    clear_members(p);
    for (int i = 0; i < n; i++) {
        char ip[200];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        vxt_status st = get_member(c, cJSON_GetArrayItem(o, i), ip, &p->member[i]);
        if (st != VXT_OK)
            return st;
        p->members = i + 1;
    }
    return VXT_OK;
}

/* An array of distinct axes 0..2 (at most three, then): into axes[0..*n), and their bits into *mask (may be NULL). */
static vxt_status axis_list(const jctx *c, const cJSON *o, const char *path, int axes[3], int *n, unsigned *mask)
{
    unsigned seen = 0;
    *n = 0;
    for (int i = 0; i < cJSON_GetArraySize(o); i++) {
        char ip[200];
        int64_t v = 0;
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        vxt_status st = get_whole(c, cJSON_GetArrayItem(o, i), ip, 0, 2, &v);
        if (st != VXT_OK)
            return st;
        if (seen & (1u << v))
            return FAIL(c, ip, "axis %d listed twice", (int)v);
        seen |= 1u << v;
        axes[(*n)++] = (int)v;
    }
    if (mask)
        *mask = seen;
    return VXT_OK;
}

/* ---- the model's axes, spacing and normalization -------------------------------------------------------- */

static vxt_status f_orientation(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (cJSON_IsNull(o)) {
        p->orientation[0] = '\0';
        return VXT_OK;
    }
    const char *s = NULL;
    vxt_status st = get_string(c, o, path, &s);
    if (st != VXT_OK)
        return st;
    static const char pos[] = "RAS", neg[] = "LPI";
    unsigned seen = 0;
    int ok = strlen(s) == 3;
    for (int b = 0; ok && b < 3; b++) {
        /* (a character that masks to '\0', a space, would match strchr's terminator: found by fuzz_plan_load) */
        const int up = s[b] & ~0x20;
        const char *hit = up ? strchr(pos, up) : NULL, *hitn = up ? strchr(neg, up) : NULL;
        int axis = hit && s[b] ? (int)(hit - pos) : hitn && s[b] ? (int)(hitn - neg) : -1;
        ok = axis >= 0 && !(seen & (1u << axis));
        seen |= axis >= 0 ? 1u << axis : 0;
    }
    char shown[80];
    if (!ok)
        return FAIL(c, path, "'%s' is not an orientation: three letters naming each of R/L, A/P and S/I once (e.g. "
                    "\"RAS\", \"LIA\"), or null", vxt__printable(s, strlen(s), 20, shown, sizeof shown));
    for (int b = 0; b < 3; b++)
        p->orientation[b] = (char)(s[b] & ~0x20);
    p->orientation[3] = '\0';
    return VXT_OK;
}

static vxt_status f_transpose(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    int t[3] = {0, 1, 2}, n = 0;
    if (!cJSON_IsNull(o)) {
        if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != 3)
            return FAIL(c, path, "expected a permutation of [0, 1, 2] (model axis n = volume axis transpose[n]) or "
                        "null");
        vxt_status st = axis_list(c, o, path, t, &n, NULL);
        if (st != VXT_OK)
            return st;
    }
    memcpy(p->transpose, t, sizeof t);
    return VXT_OK;
}

static vxt_status f_spacing(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (cJSON_IsNull(o)) {
        p->has_spacing = 0;
        return VXT_OK;
    }
    /* [y, x]: a 2D model's; z = 0 keeps the input's spacing between slices (nnU-Net's 2d) */
    vxt_status st = get_axes(c, o, path, 1e-6, 1e6, 0.0, 0, p->spacing);
    p->has_spacing = st == VXT_OK;
    return st;
}

/* normalization.replace: {"value": V or "padding", "with": W}, or null for none. Not a parameter of the scheme: a
 * new scheme keeps it. */
static vxt_status get_replace(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    static const char *const names[] = {"value", "with", NULL};
    if (cJSON_IsNull(o)) {
        p->replace = VXT__REPLACE_NONE;
        p->replace_value = p->replace_with = 0;
        return VXT_OK;
    }
    vxt_status st = known_fields(c, o, path, names, "\"value\" (a number or \"padding\") and \"with\", or null");
    if (st != VXT_OK)
        return st;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value"), *w = cJSON_GetObjectItemCaseSensitive(o, "with");
    if (!v || !w)
        return FAIL(c, path, "missing \"%s\" (replace needs \"value\" and \"with\")", v ? "with" : "value");
    char fp[220];
    double value = 0, with = 0;
    int kind = VXT__REPLACE_VALUE;
    snprintf(fp, sizeof fp, "%s.value", path);
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "padding") != 0) {
            char shown[80];
            return FAIL(c, fp, "'%s': expected a number or \"padding\" (the reader's padding value)",
                        vxt__printable(v->valuestring, strlen(v->valuestring), 40, shown, sizeof shown));
        }
        kind = VXT__REPLACE_PADDING;
    } else if ((st = get_number(c, v, fp, -1e30, 1e30, &value)) != VXT_OK) {
        return st;
    }
    snprintf(fp, sizeof fp, "%s.with", path);
    if ((st = get_number(c, w, fp, -1e30, 1e30, &with)) != VXT_OK)
        return st;
    p->replace = kind;
    p->replace_value = value;
    p->replace_with = with;
    return VXT_OK;
}

static vxt_status f_normalization(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    static const char *const names[] = {"scheme", "lo", "hi", "mean", "std", "percentiles", "replace", NULL};
    vxt_status st = known_fields(c, o, path, names, "scheme, lo, hi, mean, std, percentiles, replace");
    if (st != VXT_OK)
        return st;
    char fp[200];
    const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(o, "scheme");
    vxt_norm old = p->norm;
    if (scheme) {
        snprintf(fp, sizeof fp, "%s.scheme", path);
        GET_ENUM(c, scheme, fp, vxt_norm_parse, p->norm);
    }
    if (p->norm != old) { /* another scheme: the old one's parameters go */
        p->lo = p->hi = p->mean = p->std = 0;
        p->plo = 0.5;
        p->phi = 99.5;
        p->given &= ~(unsigned)(VXT__GIVEN_LO | VXT__GIVEN_HI | VXT__GIVEN_MEAN | VXT__GIVEN_STD |
                                VXT__GIVEN_PERCENTILES);
    }
    static const char *const keys[4] = {"lo", "hi", "mean", "std"};
    double *dst[4] = {&p->lo, &p->hi, &p->mean, &p->std};
    static const unsigned bits[4] = {VXT__GIVEN_LO, VXT__GIVEN_HI, VXT__GIVEN_MEAN, VXT__GIVEN_STD};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        snprintf(fp, sizeof fp, "%s.%s", path, keys[i]);
        if (v && (st = get_number(c, v, fp, -1e30, 1e30, dst[i])) != VXT_OK)
            return st;
        p->given |= v ? bits[i] : 0u;
    }
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(o, "percentiles");
    if (pc) {
        snprintf(fp, sizeof fp, "%s.percentiles", path);
        if (!cJSON_IsArray(pc) || cJSON_GetArraySize(pc) != 2)
            return FAIL(c, fp, "expected [low, high]");
        char ip[220];
        snprintf(ip, sizeof ip, "%s[0]", fp);
        if ((st = get_number(c, cJSON_GetArrayItem(pc, 0), ip, 0, 100, &p->plo)) != VXT_OK)
            return st;
        snprintf(ip, sizeof ip, "%s[1]", fp);
        if ((st = get_number(c, cJSON_GetArrayItem(pc, 1), ip, 0, 100, &p->phi)) != VXT_OK)
            return st;
        p->given |= VXT__GIVEN_PERCENTILES;
    }
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(o, "replace");
    snprintf(fp, sizeof fp, "%s.replace", path);
    return rep ? get_replace(p, rep, c, fp) : VXT_OK;
}

/* ---- tiling and stitching ------------------------------------------------------------------------------ */

static vxt_status f_roi(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (cJSON_IsNull(o)) { /* not given (as a printed plan without one says) */
        memset(p->roi, 0, sizeof p->roi);
        return VXT_OK;
    }
    double v[3];
    vxt_status st = get_axes(c, o, path, 1, 1 << 20, 1, 1, v);
    for (int a = 0; st == VXT_OK && a < 3; a++)
        p->roi[a] = (int64_t)v[a];
    return st;
}

static vxt_status f_overlap(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    double v[3];
    vxt_status st = get_axes(c, o, path, -1e300, 1e300, 0.0, 0, v);
    for (int a = 0; st == VXT_OK && a < 3; a++) { /* [0, 1): a tile must move on */
        if (v[a] >= 0.0 && v[a] < 1.0)
            continue;
        char ip[200];
        int n = cJSON_IsArray(o) ? cJSON_GetArraySize(o) : 1;
        snprintf(ip, sizeof ip, n > 1 ? "%s[%d]" : "%s", path, n == 2 ? a - 1 : a);
        return FAIL(c, ip, "%.9g is out of range [0, 1)", v[a]);
    }
    if (st == VXT_OK) {
        memcpy(p->overlap, v, sizeof v);
        p->given |= VXT__GIVEN_OVERLAP;
    }
    return st;
}

static vxt_status f_step(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    p->given |= VXT__GIVEN_STEP;
    return get_axes(c, o, path, 1e-6, 1, 1.0, 0, p->step);
}

static vxt_status f_overlap_voxels(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    double v[3];
    vxt_status st = get_axes(c, o, path, 0, 1 << 20, 0, 1, v);
    for (int a = 0; st == VXT_OK && a < 3; a++)
        p->overlap_voxels[a] = (int64_t)v[a];
    p->given |= VXT__GIVEN_OVERLAP_VOXELS;
    return st;
}

static vxt_status f_receptive_field(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (cJSON_IsNull(o)) { /* not declared */
        memset(p->receptive_field, 0, sizeof p->receptive_field);
        return VXT_OK;
    }
    double v[3];
    vxt_status st = get_axes(c, o, path, 1, 1 << 20, 1, 1, v);
    for (int a = 0; st == VXT_OK && a < 3; a++)
        p->receptive_field[a] = (int64_t)v[a];
    return st;
}

static vxt_status f_pad_value(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    return get_number(c, o, path, -1e30, 1e30, &p->pad_value);
}

static vxt_status f_sigma(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    p->given |= VXT__GIVEN_SIGMA;
    return get_axes(c, o, path, 1e-6, 100, 0.125, 0, p->sigma_scale);
}

static vxt_status f_batch(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    int64_t v = 0;
    vxt_status st = get_whole(c, o, path, 1, VXT__PLAN_MAX_BATCH, &v);
    p->batch_size = (int)v;
    return st;
}

static vxt_status f_mirror(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (!cJSON_IsArray(o))
        return FAIL(c, path, "expected an array of axes (0 = z, 1 = y, 2 = x)");
    int axes[3], n = 0;
    unsigned m = 0;
    vxt_status st = axis_list(c, o, path, axes, &n, &m);
    if (st == VXT_OK)
        p->mirror_axes = m;
    return st;
}

static vxt_status f_labels(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    static const char *const names[] = {"rule", "threshold", "region_labels", NULL};
    vxt_status st = known_fields(c, o, path, names, "rule, threshold, region_labels");
    if (st != VXT_OK)
        return st;
    char fp[200];
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(o, "rule");
    vxt_label_rule old = vxt__plan_label_rule(p);
    if (rule) {
        snprintf(fp, sizeof fp, "%s.rule", path);
        GET_ENUM(c, rule, fp, vxt_label_rule_parse, p->label_rule);
        p->given |= VXT__GIVEN_RULE;
    }
    if (rule && p->label_rule != old) { /* another rule: the old one's parameters go */
        p->threshold = 0.5;
        free(p->region_labels);
        p->region_labels = NULL;
        p->nregions = 0;
        p->given &= ~(unsigned)VXT__GIVEN_REGIONS;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "threshold");
    snprintf(fp, sizeof fp, "%s.threshold", path);
    if (t && (st = get_number(c, t, fp, -1e30, 1e30, &p->threshold)) != VXT_OK)
        return st;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "region_labels");
    if (r) {
        snprintf(fp, sizeof fp, "%s.region_labels", path);
        int n = cJSON_IsArray(r) ? cJSON_GetArraySize(r) : -1;
        if (n < 1 || n > VXT__PLAN_MAX_CLASSES)
            return FAIL(c, fp, "expected an array of labels, one per channel");
        int32_t *labels = malloc((size_t)n * sizeof *labels);
        if (!labels)
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_load_json: out of memory");
        for (int i = 0; i < n; i++) {
            char ip[220];
            int64_t v = 0;
            snprintf(ip, sizeof ip, "%s[%d]", fp, i);
            if ((st = get_whole(c, cJSON_GetArrayItem(r, i), ip, 0, 65535, &v)) != VXT_OK) {
                free(labels);
                return st;
            }
            labels[i] = (int32_t)v;
        }
        free(p->region_labels);
        p->region_labels = labels;
        p->nregions = n;
        p->given |= VXT__GIVEN_REGIONS;
    }
    return VXT_OK;
}

static vxt_status f_output(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    static const char *const names[] = {"label_dtype", "resample_back", NULL};
    vxt_status st = known_fields(c, o, path, names, "label_dtype, resample_back");
    if (st != VXT_OK)
        return st;
    char fp[200];
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "label_dtype"), *b = cJSON_GetObjectItemCaseSensitive(o, "resample_back");
    if (d) {
        snprintf(fp, sizeof fp, "%s.label_dtype", path);
        vxt_dtype t = VXT_DTYPE_INVALID;
        GET_ENUM(c, d, fp, vxt_dtype_parse, t);
        if (t != VXT_DTYPE_U8 && t != VXT_DTYPE_U16)
            return FAIL(c, fp, "labels are uint8 or uint16, not %s", vxt_dtype_name(t));
        p->label_dtype = t;
    }
    if (b) {
        snprintf(fp, sizeof fp, "%s.resample_back", path);
        GET_ENUM(c, b, fp, vxt_resample_back_parse, p->back);
    }
    return VXT_OK;
}

static vxt_status f_class_names(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    int n = cJSON_IsArray(o) ? cJSON_GetArraySize(o) : -1;
    if (n < 0 || n > VXT__PLAN_MAX_CLASSES)
        return FAIL(c, path, "expected an array of names");
    char **names = calloc(n ? (size_t)n : 1, sizeof *names);
    if (!names)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_plan_load_json: out of memory");
    vxt_status st = VXT_OK;
    for (int i = 0; i < n && st == VXT_OK; i++) {
        char ip[200];
        const char *s = NULL;
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        if ((st = get_string(c, cJSON_GetArrayItem(o, i), ip, &s)) == VXT_OK)
            st = set_string(&names[i], s);
    }
    for (int i = 0; i < p->nclass; i++)
        free(p->class_names[i]);
    free(p->class_names);
    p->class_names = names; /* freed with the plan copy when st fails */
    p->nclass = n;
    return st;
}

/* ---- the top level ------------------------------------------------------------------------------------- */

typedef vxt_status (*field_fn)(vxt_plan *p, const cJSON *o, const jctx *c, const char *path);

#define SIMPLE_ENUM(fn, parse, field)                                                                          \
    static vxt_status fn(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)                         \
    {                                                                                                          \
        GET_ENUM(c, o, path, parse, p->field);                                                                 \
        return VXT_OK;                                                                                         \
    }
SIMPLE_ENUM(f_ensemble, vxt_ensemble_parse, ensemble)
SIMPLE_ENUM(f_anisotropy, vxt_anisotropy_parse, anisotropy)
SIMPLE_ENUM(f_pad, vxt_pad_parse, pad)

/* The image's interpolation to the model's spacing: linear or cubic (nearest would not be an image's) */
static vxt_status f_interp(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    vxt_interp v = VXT_INTERP_LINEAR;
    GET_ENUM(c, o, path, vxt_interp_parse, v);
    if (v != VXT_INTERP_LINEAR && v != VXT_INTERP_CUBIC)
        return FAIL(c, path, "\"%s\": an image is resampled with \"linear\" or \"cubic\" interpolation",
                    vxt_interp_name(v));
    p->interp = v;
    return VXT_OK;
}
SIMPLE_ENUM(f_accumulate, vxt_accumulate_parse, accumulate)
SIMPLE_ENUM(f_activation, vxt_activation_parse, activation)

static vxt_status f_grid(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    vxt_grid old = p->grid;
    GET_ENUM(c, o, path, vxt_grid_parse, p->grid);
    if (p->grid == old)
        return VXT_OK;
    vxt_plan d; /* another placement: the old one's parameters go */
    vxt__plan_defaults(&d);
    memcpy(p->overlap, d.overlap, sizeof p->overlap);
    memcpy(p->step, d.step, sizeof p->step);
    memcpy(p->overlap_voxels, d.overlap_voxels, sizeof p->overlap_voxels);
    p->given &= ~(unsigned)(VXT__GIVEN_OVERLAP | VXT__GIVEN_STEP | VXT__GIVEN_OVERLAP_VOXELS);
    return VXT_OK;
}

static vxt_status f_importance(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    vxt_importance old = p->importance;
    GET_ENUM(c, o, path, vxt_importance_parse, p->importance);
    if (p->importance == old)
        return VXT_OK;
    p->sigma_scale[0] = p->sigma_scale[1] = p->sigma_scale[2] = 0.125;
    p->given &= ~(unsigned)VXT__GIVEN_SIGMA;
    return VXT_OK;
}

static vxt_status f_normalize_first(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    if (!cJSON_IsBool(o))
        return FAIL(c, path, "expected true or false");
    p->normalize_first = cJSON_IsTrue(o);
    return VXT_OK;
}

static vxt_status f_version(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    (void)p;
    if (!cJSON_IsNumber(o) || o->valuedouble != 1.0)
        return FAIL(c, path, "unsupported plan version (this voxtile reads version 1)");
    return VXT_OK;
}

static vxt_status f_description(vxt_plan *p, const cJSON *o, const jctx *c, const char *path)
{
    (void)p;
    const char *s = NULL;
    return get_string(c, o, path, &s); /* for people; not kept */
}

/* In the order the fields are applied: modes before their parameters, so that one document may give both. */
static const struct {
    const char *name;
    field_fn fn;
} fields[] = {
    {"voxtile_plan", f_version},
    {"description", f_description},
    {"model", f_model},
    {"members", f_members},
    {"ensemble", f_ensemble},
    {"orientation", f_orientation},
    {"transpose", f_transpose},
    {"target_spacing", f_spacing},
    {"anisotropic_resampling", f_anisotropy},
    {"interpolation", f_interp},
    {"normalize_before_resampling", f_normalize_first},
    {"normalization", f_normalization},
    {"roi", f_roi},
    {"grid", f_grid},
    {"overlap", f_overlap},
    {"step", f_step},
    {"overlap_voxels", f_overlap_voxels},
    {"receptive_field", f_receptive_field},
    {"pad", f_pad},
    {"pad_value", f_pad_value},
    {"importance", f_importance},
    {"sigma_scale", f_sigma},
    {"accumulate", f_accumulate},
    {"batch_size", f_batch},
    {"mirror_axes", f_mirror},
    {"activation", f_activation},
    {"labels", f_labels},
    {"output", f_output},
    {"class_names", f_class_names},
};

vxt_status vxt__plan_apply_json(vxt_plan *p, const cJSON *root, const char *origin)
{
    jctx c = {origin};
    if (!cJSON_IsObject(root))
        return FAIL(&c, "$", "a plan must be a JSON object");
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        size_t k = 0;
        while (k < sizeof fields / sizeof fields[0] && strcmp(it->string, fields[k].name) != 0)
            k++;
        if (k == sizeof fields / sizeof fields[0]) {
            char path[200], shown[80];
            snprintf(path, sizeof path, "$.%s", vxt__printable(it->string, strlen(it->string), 60, shown, sizeof shown));
            return FAIL(&c, path, "unknown field (docs/PLAN.md lists the fields)");
        }
        if (cJSON_GetObjectItemCaseSensitive(root, it->string) != it)
            return FAIL(&c, "$", "field \"%s\" given twice", it->string); /* a known name: printable */
    }
    if (cJSON_HasObjectItem(root, "model") && cJSON_HasObjectItem(root, "members"))
        return FAIL(&c, "$.members", "give \"model\" or \"members\", not both");
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, fields[k].name);
        if (!v)
            continue;
        char path[200];
        snprintf(path, sizeof path, "$.%s", fields[k].name);
        vxt_status st = fields[k].fn(p, v, &c, path);
        if (st != VXT_OK)
            return st;
    }
    return VXT_OK;
}

/* ---- reading ------------------------------------------------------------------------------------------ */

vxt_status vxt__json_parse(const char *text, size_t size, const char *origin, cJSON **out)
{
    const char *end = NULL;
    /* cJSON records every parse's error position in a global of its own (cJSON_GetErrorPtr), which voxtile never
     * reads: parses take turns, so that concurrent plan loads do not race on it. The library's one static lock. */
    static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&parse_lock);
    *out = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    pthread_mutex_unlock(&parse_lock);
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    while (*out && at < size && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
        at++;
    if (*out && at >= size)
        return VXT_OK;
    int line = 1;
    for (size_t i = 0; i < at && i < size; i++)
        line += text[i] == '\n';
    if (*out) { /* one value, then more: a second document or garbage */
        cJSON_Delete(*out);
        *out = NULL;
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: text after the JSON document (line %d)", origin, line);
    }
    return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: not valid JSON (near line %d)", origin, line);
}

vxt_status vxt__read_text_file(const char *func, const char *path, size_t max, char **text, size_t *size)
{
    *text = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot open '%s': %s", func, path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 8192;
            char *g = realloc(buf, cap);
            if (!g) {
                fclose(f);
                free(buf);
                return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory reading '%s'", func, path);
            }
            buf = g;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0 || n > max)
            break;
    }
    if (n > max) {
        fclose(f);
        free(buf);
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s' is larger than %zu MiB: not a plan file", func, path, max >> 20);
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot read '%s'", func, path);
    }
    buf[n] = '\0';
    *text = buf;
    *size = n;
    return VXT_OK;
}

vxt_status vxt__plan_overlay(vxt_plan *plan, const cJSON *doc, const char *origin, const char *label)
{
    vxt_plan work;
    vxt_status st = vxt__plan_copy(&work, plan);
    if (st != VXT_OK)
        return st;
    if ((st = vxt__plan_apply_json(&work, doc, origin)) != VXT_OK) {
        vxt__plan_clear(&work);
        return st;
    }
    vxt__plan_add_origin(&work, label);
    vxt__plan_clear(plan);
    *plan = work;
    return VXT_OK;
}

vxt_status vxt_plan_load_json(vxt_plan *plan, const char *json, size_t size, const char *origin)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, json);
    if (!origin)
        origin = "plan";
    cJSON *root = NULL;
    vxt_status st = vxt__json_parse(json, size, origin, &root);
    if (st != VXT_OK)
        return st;
    st = vxt__plan_overlay(plan, root, origin, origin);
    cJSON_Delete(root);
    return st;
}

vxt_status vxt_plan_load_file(vxt_plan *plan, const char *path)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, path);
    char *text = NULL;
    size_t n = 0;
    vxt_status st = vxt__read_text_file(__func__, path, PLAN_MAX_BYTES, &text, &n);
    if (st != VXT_OK)
        return st;
    st = vxt_plan_load_json(plan, text, n, path);
    free(text);
    return st;
}
