/* run_plan.c - reading, checking and writing the plan of `voxtile run` (schema: docs/PLAN.md). Every problem
 * is reported with the JSON path where it is ("$.normalization.scheme: ..."). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "run_plan.h"

static const cli_enum norm_names[] = {{"none", NORM_NONE},
                                      {"window", NORM_WINDOW},
                                      {"ct", NORM_CT},
                                      {"zscore", NORM_ZSCORE},
                                      {"zscore-nonzero", NORM_ZSCORE_NONZERO},
                                      {"minmax", NORM_MINMAX},
                                      {"percentile", NORM_PERCENTILE},
                                      {NULL, 0}};

const char *norm_scheme_name(norm_scheme s)
{
    for (const cli_enum *e = norm_names; e->name; e++)
        if (e->value == (int)s)
            return e->name;
    return "?";
}

void run_plan_defaults(run_plan *p)
{
    memset(p, 0, sizeof *p);
    p->grid = VXT_GRID_MONAI;
    p->overlap = 0.5;
    p->step = 0.5;
    p->pad = VXT_PAD_CONSTANT;
    p->importance = VXT_IMPORTANCE_GAUSSIAN;
    p->sigma_scale = 0.125;
    p->accumulate = VXT_ACCUMULATE_FLOAT32;
    p->batch_size = 1;
    p->activation = VXT_ACTIVATION_SOFTMAX;
    p->label_dtype = VXT_DTYPE_U8;
    p->back_probabilities = 1;
    p->plo = 0.5;
    p->phi = 99.5;
}

typedef struct ctx {
    char *err;
    size_t errn;
    const char *file;
} ctx;

static int fail(ctx *c, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errn, "%s: %s: %s", c->file, path, msg);
    return VXT_EXIT_PLAN;
}

static int get_number(ctx *c, const cJSON *o, const char *path, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
        return fail(c, path, "expected a number");
    if (o->valuedouble < lo || o->valuedouble > hi)
        return fail(c, path, "%g is out of range [%g, %g]", o->valuedouble, lo, hi);
    *out = o->valuedouble;
    return 0;
}

/* [z, y, x], [y, x] (2D: z = zdefault) or one number. */
static int get_axes(ctx *c, const cJSON *o, const char *path, double lo, double hi, double zdefault, double out[3])
{
    if (cJSON_IsNumber(o)) {
        double v = 0;
        int rc = get_number(c, o, path, lo, hi, &v);
        out[0] = out[1] = out[2] = v;
        return rc;
    }
    int n = cJSON_IsArray(o) ? cJSON_GetArraySize(o) : -1;
    if (n != 2 && n != 3)
        return fail(c, path, "expected [z, y, x], [y, x] or a number");
    double v[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        char ip[128];
        snprintf(ip, sizeof ip, "%s[%d]", path, i);
        int rc = get_number(c, cJSON_GetArrayItem(o, i), ip, lo, hi, &v[i]);
        if (rc)
            return rc;
    }
    if (n == 2) {
        out[0] = zdefault;
        out[1] = v[0];
        out[2] = v[1];
    } else {
        memcpy(out, v, sizeof v);
    }
    return 0;
}

static int get_enum(ctx *c, const cJSON *o, const char *path, const cli_enum *table, int *out)
{
    if (!cJSON_IsString(o))
        return fail(c, path, "expected a string");
    if (!cli_parse_enum(o->valuestring, table, out)) {
        char names[256];
        cli_enum_names(table, names, sizeof names);
        return fail(c, path, "unknown value '%s' (expected one of: %s)", o->valuestring, names);
    }
    return 0;
}

static int get_member(ctx *c, const cJSON *o, const char *path, run_member *m)
{
    memset(m, 0, sizeof *m);
    if (cJSON_IsString(o)) {
        snprintf(m->model, sizeof m->model, "%s", o->valuestring);
        return 0;
    }
    if (!cJSON_IsObject(o))
        return fail(c, path, "expected a model string or {\"model\": ..., \"config\": ...}");
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        char kp[160];
        snprintf(kp, sizeof kp, "%s.%s", path, it->string);
        if (!strcmp(it->string, "model") && cJSON_IsString(it))
            snprintf(m->model, sizeof m->model, "%s", it->valuestring);
        else if (!strcmp(it->string, "config") && cJSON_IsString(it))
            snprintf(m->config, sizeof m->config, "%s", it->valuestring);
        else
            return fail(c, kp, "unknown field or not a string");
    }
    if (!m->model[0])
        return fail(c, path, "missing \"model\"");
    return 0;
}

static int load_json(run_plan *p, const cJSON *root, ctx *c)
{
    if (!cJSON_IsObject(root))
        return fail(c, "$", "the plan must be a JSON object");
    const cJSON *it;
    int rc = 0, model_given = 0, members_given = 0;
    cJSON_ArrayForEach(it, root)
    {
        char path[160];
        snprintf(path, sizeof path, "$.%s", it->string);
        const char *k = it->string;
        int v = 0;
        double d = 0, ax[3] = {0, 0, 0};
        if (!strcmp(k, "voxtile_plan")) {
            if (!cJSON_IsNumber(it) || it->valueint != 1)
                return fail(c, path, "unsupported plan version (this voxtile reads version 1)");
        } else if (!strcmp(k, "model")) {
            if ((rc = get_member(c, it, path, &p->member[0])))
                return rc;
            p->members = 1;
            model_given = 1;
        } else if (!strcmp(k, "members")) {
            int n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
            if (n < 1 || n > RUN_MAX_MEMBERS)
                return fail(c, path, "expected an array of 1 to %d models", RUN_MAX_MEMBERS);
            for (int i = 0; i < n; i++) {
                char ip[180];
                snprintf(ip, sizeof ip, "%s[%d]", path, i);
                if ((rc = get_member(c, cJSON_GetArrayItem(it, i), ip, &p->member[i])))
                    return rc;
            }
            p->members = n;
            members_given = 1;
        } else if (!strcmp(k, "target_spacing")) {
            if (cJSON_IsNull(it)) {
                p->have_spacing = 0;
            } else {
                /* [y, x]: a 2D model's; z = 0 keeps the input's spacing between slices (nnU-Net's 2d) */
                if ((rc = get_axes(c, it, path, 1e-6, 1e6, 0.0, ax)))
                    return rc;
                memcpy(p->spacing, ax, sizeof ax);
                p->have_spacing = 1;
            }
        } else if (!strcmp(k, "normalize_before_resampling")) {
            if (!cJSON_IsBool(it))
                return fail(c, path, "expected true or false");
            p->normalize_first = cJSON_IsTrue(it);
        } else if (!strcmp(k, "anisotropic_resampling")) {
            static const cli_enum an[] = {{"off", 0}, {"nnunet", 1}, {NULL, 0}};
            if ((rc = get_enum(c, it, path, an, &p->anisotropic_nnunet)))
                return rc;
        } else if (!strcmp(k, "normalization")) {
            if (!cJSON_IsObject(it))
                return fail(c, path, "expected an object with \"scheme\"");
            const cJSON *f;
            int scheme_given = 0;
            cJSON_ArrayForEach(f, it)
            {
                char fp[200];
                snprintf(fp, sizeof fp, "%s.%s", path, f->string);
                if (!strcmp(f->string, "scheme")) {
                    if ((rc = get_enum(c, f, fp, norm_names, &v)))
                        return rc;
                    p->norm = (norm_scheme)v;
                    scheme_given = 1;
                } else if (!strcmp(f->string, "lo") || !strcmp(f->string, "hi") || !strcmp(f->string, "mean") ||
                           !strcmp(f->string, "std")) {
                    if ((rc = get_number(c, f, fp, -1e30, 1e30, &d)))
                        return rc;
                    *(!strcmp(f->string, "lo") ? &p->lo : !strcmp(f->string, "hi") ? &p->hi
                      : !strcmp(f->string, "mean") ? &p->mean : &p->std) = d;
                    p->norm_given |= !strcmp(f->string, "lo") ? 1u : !strcmp(f->string, "hi") ? 2u
                                     : !strcmp(f->string, "mean") ? 4u : 8u;
                } else if (!strcmp(f->string, "percentiles")) {
                    if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 2)
                        return fail(c, fp, "expected [low, high]");
                    char ip[220];
                    snprintf(ip, sizeof ip, "%s[0]", fp);
                    if ((rc = get_number(c, cJSON_GetArrayItem(f, 0), ip, 0, 100, &p->plo)))
                        return rc;
                    snprintf(ip, sizeof ip, "%s[1]", fp);
                    if ((rc = get_number(c, cJSON_GetArrayItem(f, 1), ip, 0, 100, &p->phi)))
                        return rc;
                    p->norm_given |= 16u;
                } else {
                    return fail(c, fp, "unknown field (expected scheme, lo, hi, mean, std, percentiles)");
                }
            }
            if (!scheme_given)
                return fail(c, path, "missing \"scheme\"");
        } else if (!strcmp(k, "roi")) {
            if ((rc = get_axes(c, it, path, 1, 1 << 20, 1, ax)))
                return rc;
            for (int a = 0; a < 3; a++) {
                if (ax[a] != floor(ax[a]))
                    return fail(c, path, "ROI sizes must be integers");
                p->roi[a] = (int64_t)ax[a];
            }
        } else if (!strcmp(k, "grid")) {
            if ((rc = get_enum(c, it, path, cli_grids, &v)))
                return rc;
            p->grid = (vxt_grid)v;
            p->grid_given = 1;
        } else if (!strcmp(k, "overlap")) {
            if ((rc = get_number(c, it, path, 0, 0.999999, &p->overlap)))
                return rc;
            p->overlap_given = 1;
        } else if (!strcmp(k, "step")) {
            if ((rc = get_number(c, it, path, 1e-6, 1, &p->step)))
                return rc;
            p->step_given = 1;
        } else if (!strcmp(k, "overlap_voxels")) {
            if ((rc = get_number(c, it, path, 0, 1 << 20, &d)))
                return rc;
            if (d != floor(d))
                return fail(c, path, "must be a whole number of voxels");
            p->overlap_voxels = (int64_t)d;
            p->overlap_voxels_given = 1;
        } else if (!strcmp(k, "pad")) {
            if ((rc = get_enum(c, it, path, cli_pads, &v)))
                return rc;
            p->pad = (vxt_pad)v;
        } else if (!strcmp(k, "pad_value")) {
            if ((rc = get_number(c, it, path, -1e30, 1e30, &p->pad_value)))
                return rc;
        } else if (!strcmp(k, "importance")) {
            if ((rc = get_enum(c, it, path, cli_importances, &v)))
                return rc;
            p->importance = (vxt_importance)v;
        } else if (!strcmp(k, "sigma_scale")) {
            if ((rc = get_number(c, it, path, 1e-6, 100, &p->sigma_scale)))
                return rc;
            p->sigma_given = 1;
        } else if (!strcmp(k, "accumulate")) {
            if ((rc = get_enum(c, it, path, cli_accumulates, &v)))
                return rc;
            p->accumulate = (vxt_accumulate)v;
        } else if (!strcmp(k, "batch_size")) {
            if ((rc = get_number(c, it, path, 1, 4096, &d)))
                return rc;
            p->batch_size = (int)d;
        } else if (!strcmp(k, "mirror_axes")) {
            if (!cJSON_IsArray(it))
                return fail(c, path, "expected an array of axes (0 = z, 1 = y, 2 = x)");
            p->mirror_axes = 0;
            for (int i = 0; i < cJSON_GetArraySize(it); i++) {
                char ip[180];
                snprintf(ip, sizeof ip, "%s[%d]", path, i);
                if ((rc = get_number(c, cJSON_GetArrayItem(it, i), ip, 0, 2, &d)))
                    return rc;
                if (p->mirror_axes & (1u << (int)d))
                    return fail(c, ip, "axis %d listed twice", (int)d);
                p->mirror_axes |= 1u << (int)d;
            }
        } else if (!strcmp(k, "activation")) {
            if ((rc = get_enum(c, it, path, cli_activations, &v)))
                return rc;
            p->activation = (vxt_activation)v;
        } else if (!strcmp(k, "output")) {
            if (!cJSON_IsObject(it))
                return fail(c, path, "expected an object");
            const cJSON *f;
            cJSON_ArrayForEach(f, it)
            {
                char fp[200];
                snprintf(fp, sizeof fp, "%s.%s", path, f->string);
                if (!strcmp(f->string, "label_dtype")) {
                    if ((rc = get_enum(c, f, fp, cli_label_dtypes, &v)))
                        return rc;
                    p->label_dtype = (vxt_dtype)v;
                } else if (!strcmp(f->string, "resample_back")) {
                    static const cli_enum rb[] = {{"probabilities", 1}, {"labels", 0}, {NULL, 0}};
                    if ((rc = get_enum(c, f, fp, rb, &p->back_probabilities)))
                        return rc;
                } else {
                    return fail(c, fp, "unknown field (expected label_dtype, resample_back)");
                }
            }
        } else if (!strcmp(k, "class_names")) {
            int n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
            if (n < 1 || n > 64)
                return fail(c, path, "expected an array of 1 to 64 names");
            for (int i = 0; i < n; i++) {
                const cJSON *s = cJSON_GetArrayItem(it, i);
                if (!cJSON_IsString(s)) {
                    char ip[180];
                    snprintf(ip, sizeof ip, "%s[%d]", path, i);
                    return fail(c, ip, "expected a string");
                }
                snprintf(p->class_names[i], sizeof p->class_names[i], "%s", s->valuestring);
            }
            p->nclass_names = n;
        } else if (!strcmp(k, "description")) {
            /* free text for people; ignored */
        } else {
            return fail(c, path, "unknown field");
        }
    }
    if (model_given && members_given)
        return fail(c, "$.members", "give either \"model\" or \"members\", not both");
    return 0;
}

int run_plan_load(run_plan *p, const char *path, char *err, size_t errn)
{
    ctx c = {err, errn, path};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: cannot open: %s", path, strerror(errno));
        return VXT_EXIT_INPUT;
    }
    char *text = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > ((size_t)16 << 20)) {
                fclose(f);
                free(text);
                snprintf(err, errn, "%s: larger than 16 MiB, not a plan", path);
                return VXT_EXIT_PLAN;
            }
            char *g = realloc(text, cap);
            if (!g) {
                fclose(f);
                free(text);
                snprintf(err, errn, "out of memory");
                return VXT_EXIT_FAILURE;
            }
            text = g;
        }
        size_t r = fread(text + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    text[n] = '\0';
    const char *bad = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &bad, 1);
    if (!root) {
        size_t at = bad && bad >= text ? (size_t)(bad - text) : 0;
        int line = 1;
        for (size_t i = 0; i < at && i < n; i++)
            line += text[i] == '\n';
        free(text);
        snprintf(err, errn, "%s: not valid JSON (near line %d)", path, line);
        return VXT_EXIT_PLAN;
    }
    free(text);
    int rc = load_json(p, root, &c);
    cJSON_Delete(root);
    if (!rc)
        snprintf(p->source, sizeof p->source, "plan %s", path);
    return rc;
}

static cJSON *read_json_file(const char *path, char *err, size_t errn)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (16L << 20)) {
        fclose(f);
        snprintf(err, errn, "%s: not a plausible JSON file", path);
        return NULL;
    }
    char *text = malloc((size_t)n + 1);
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!text) {
        snprintf(err, errn, "out of memory");
        return NULL;
    }
    text[got] = '\0';
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        snprintf(err, errn, "%s: not valid JSON", path);
    return j;
}

int run_plan_load_nnunet(run_plan *p, const char *dir, const char *configuration, char *err, size_t errn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/plans.json", dir);
    cJSON *plans = read_json_file(path, err, errn);
    if (!plans)
        return VXT_EXIT_INPUT;
    ctx c = {err, errn, path};
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/dataset.json", dir);
    cJSON *dataset = read_json_file(dpath, err, errn);
    if (!dataset) {
        cJSON_Delete(plans);
        return VXT_EXIT_INPUT;
    }
    int rc = 0;
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(plans, "configurations");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cfgs, configuration);
    char cp[256];
    snprintf(cp, sizeof cp, "$.configurations.%s", configuration);
    if (!cJSON_IsObject(cfg)) {
        char names[512] = "";
        const cJSON *it;
        cJSON_ArrayForEach(it, cfgs) snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                                               names[0] ? ", " : "", it->string);
        rc = fail(&c, cp, "no such configuration (plans.json has: %s)", names[0] ? names : "none");
        goto done;
    }
    /* configurations may inherit from another ("inherits_from") */
    const cJSON *chain[4] = {cfg, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        const cJSON *inh = cJSON_GetObjectItemCaseSensitive(chain[i - 1], "inherits_from");
        if (!cJSON_IsString(inh))
            break;
        chain[i] = cJSON_GetObjectItemCaseSensitive(cfgs, inh->valuestring);
    }
    const cJSON *patch = NULL, *spacing = NULL, *schemes = NULL, *masks = NULL;
    for (int i = 0; i < 4 && chain[i]; i++) {
        if (!patch)
            patch = cJSON_GetObjectItemCaseSensitive(chain[i], "patch_size");
        if (!spacing)
            spacing = cJSON_GetObjectItemCaseSensitive(chain[i], "spacing");
        if (!schemes)
            schemes = cJSON_GetObjectItemCaseSensitive(chain[i], "normalization_schemes");
        if (!masks)
            masks = cJSON_GetObjectItemCaseSensitive(chain[i], "use_mask_for_norm");
    }
    double ax[3];
    char fp[320];
    snprintf(fp, sizeof fp, "%s.patch_size", cp);
    if (!patch)
        { rc = fail(&c, fp, "missing"); goto done; }
    if ((rc = get_axes(&c, patch, fp, 1, 1 << 20, 1, ax)))
        goto done;
    for (int a = 0; a < 3; a++)
        p->roi[a] = (int64_t)ax[a];
    snprintf(fp, sizeof fp, "%s.spacing", cp);
    if (!spacing)
        { rc = fail(&c, fp, "missing"); goto done; }
    /* a 2d configuration's spacing is [y, x]: nnU-Net keeps the spacing between slices (z = 0: the input's) */
    if ((rc = get_axes(&c, spacing, fp, 1e-6, 1e6, 0.0, p->spacing)))
        goto done;
    p->have_spacing = 1;
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(plans, "transpose_forward");
    if (cJSON_IsArray(tf)) {
        for (int i = 0; i < cJSON_GetArraySize(tf); i++)
            if (cJSON_GetArrayItem(tf, i)->valueint != i) {
                rc = fail(&c, "$.transpose_forward", "axis permutations other than the identity are not supported");
                goto done;
            }
    }
    snprintf(fp, sizeof fp, "%s.normalization_schemes", cp);
    if (!cJSON_IsArray(schemes) || cJSON_GetArraySize(schemes) < 1)
        { rc = fail(&c, fp, "missing or empty"); goto done; }
    if (cJSON_GetArraySize(schemes) > 1)
        { rc = fail(&c, fp, "%d input channels; voxtile run reads single-channel images", cJSON_GetArraySize(schemes)); goto done; }
    const char *scheme = cJSON_GetArrayItem(schemes, 0)->valuestring;
    int use_mask = cJSON_IsArray(masks) && cJSON_IsTrue(cJSON_GetArrayItem(masks, 0));
    if (!scheme)
        { rc = fail(&c, fp, "expected strings"); goto done; }
    if (!strcmp(scheme, "CTNormalization")) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(plans, "foreground_intensity_properties_per_channel"), "0");
        const char *keys[4] = {"percentile_00_5", "percentile_99_5", "mean", "std"};
        double vals[4];
        for (int i = 0; i < 4; i++) {
            snprintf(fp, sizeof fp, "$.foreground_intensity_properties_per_channel.0.%s", keys[i]);
            if ((rc = get_number(&c, cJSON_GetObjectItemCaseSensitive(props, keys[i]), fp, -1e30, 1e30, &vals[i])))
                goto done;
        }
        p->norm = NORM_CT;
        p->lo = vals[0];
        p->hi = vals[1];
        p->mean = vals[2];
        p->std = vals[3];
        p->norm_given = 15;
    } else if (!strcmp(scheme, "ZScoreNormalization")) {
        p->norm = use_mask ? NORM_ZSCORE_NONZERO : NORM_ZSCORE;
    } else if (!strcmp(scheme, "RescaleTo01Normalization")) {
        p->norm = NORM_MINMAX;
    } else if (!strcmp(scheme, "NoNormalization")) {
        p->norm = NORM_NONE;
    } else {
        rc = fail(&c, fp, "normalization scheme '%s' is not supported", scheme);
        goto done;
    }
    /* nnU-Net's inference: tile_step_size 0.5, its Gaussian, float16 accumulation, mirroring on every axis,
     * anisotropic resampling, probabilities resampled back then argmax */
    p->grid = VXT_GRID_NNUNET;
    p->step = 0.5;
    p->importance = VXT_IMPORTANCE_GAUSSIAN_NNUNET;
    p->accumulate = VXT_ACCUMULATE_FLOAT16;
    p->mirror_axes = p->roi[0] == 1 ? 6u : 7u;
    p->anisotropic_nnunet = 1;
    p->normalize_first = 1; /* nnU-Net normalizes, then resamples */
    p->back_probabilities = 1;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(dataset, "labels");
    p->activation = cJSON_GetObjectItemCaseSensitive(dataset, "regions_class_order") ? VXT_ACTIVATION_SIGMOID
                                                                                    : VXT_ACTIVATION_SOFTMAX;
    if (cJSON_IsObject(labels)) {
        const cJSON *l;
        p->nclass_names = 0;
        cJSON_ArrayForEach(l, labels)
        {
            int idx = cJSON_IsNumber(l) ? l->valueint : -1;
            if (idx >= 0 && idx < 64) {
                snprintf(p->class_names[idx], sizeof p->class_names[idx], "%s", l->string);
                if (idx + 1 > p->nclass_names)
                    p->nclass_names = idx + 1;
            }
        }
    }
    snprintf(p->source, sizeof p->source, "nnU-Net %s (%s)", dir, configuration);
done:
    cJSON_Delete(plans);
    cJSON_Delete(dataset);
    return rc;
}

int run_plan_check(const run_plan *p, char *err, size_t errn)
{
    ctx c = {err, errn, "plan"};
    if (p->members < 1)
        return fail(&c, "$.model", "no model: give \"model\" (or --model)");
    if (p->roi[0] < 1 || p->roi[1] < 1 || p->roi[2] < 1)
        return fail(&c, "$.roi", "missing: the model's tile size (or --roi)");
    if (p->overlap_given && p->grid != VXT_GRID_MONAI)
        return fail(&c, "$.overlap", "applies to grid \"monai\"; grid \"%s\" takes %s", p->grid == VXT_GRID_NNUNET ?
                    "nnunet" : "voxels", p->grid == VXT_GRID_NNUNET ? "\"step\"" : "\"overlap_voxels\"");
    if (p->step_given && p->grid != VXT_GRID_NNUNET)
        return fail(&c, "$.step", "applies to grid \"nnunet\" only");
    if (p->overlap_voxels_given && p->grid != VXT_GRID_VOXELS)
        return fail(&c, "$.overlap_voxels", "applies to grid \"voxels\" only");
    if (p->sigma_given && p->importance != VXT_IMPORTANCE_GAUSSIAN)
        return fail(&c, "$.sigma_scale", "applies to importance \"gaussian\" only");
    if (p->norm == NORM_WINDOW && (p->norm_given & 3u) != 3u)
        return fail(&c, "$.normalization", "scheme \"window\" needs \"lo\" and \"hi\"");
    if (p->norm == NORM_CT && (p->norm_given & 15u) != 15u)
        return fail(&c, "$.normalization", "scheme \"ct\" needs \"lo\", \"hi\", \"mean\" and \"std\"");
    if ((p->norm == NORM_WINDOW || p->norm == NORM_CT) && !(p->hi > p->lo))
        return fail(&c, "$.normalization.hi", "must be greater than lo (%g <= %g)", p->hi, p->lo);
    if (p->norm == NORM_PERCENTILE && !(p->phi > p->plo))
        return fail(&c, "$.normalization.percentiles", "[%g, %g]: the second must be greater", p->plo, p->phi);
    if (p->norm != NORM_PERCENTILE && (p->norm_given & 16u))
        return fail(&c, "$.normalization.percentiles", "applies to scheme \"percentile\" only");
    if (p->norm != NORM_WINDOW && p->norm != NORM_CT && (p->norm_given & 15u))
        return fail(&c, "$.normalization", "scheme \"%s\" takes no lo/hi/mean/std", norm_scheme_name(p->norm));
    if (p->roi[0] == 1 && (p->mirror_axes & 1u))
        return fail(&c, "$.mirror_axes", "axis 0 (z) cannot be mirrored with a 2D ROI");
    for (int m = 0; m < p->members; m++)
        if (!p->member[m].model[0])
            return fail(&c, "$.members", "member %d has no model", m);
    return 0;
}

char *run_plan_to_json(const run_plan *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "voxtile_plan", 1);
    if (p->members == 1) {
        cJSON *m = cJSON_AddObjectToObject(j, "model");
        cJSON_AddStringToObject(m, "model", p->member[0].model);
        cJSON_AddStringToObject(m, "config", p->member[0].config);
    } else {
        cJSON *a = cJSON_AddArrayToObject(j, "members");
        for (int i = 0; i < p->members; i++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "model", p->member[i].model);
            cJSON_AddStringToObject(m, "config", p->member[i].config);
            cJSON_AddItemToArray(a, m);
        }
    }
    if (p->have_spacing) {
        cJSON *s = cJSON_AddArrayToObject(j, "target_spacing");
        for (int a = p->spacing[0] > 0 ? 0 : 1; a < 3; a++) /* [y, x]: the input's spacing between slices */
            cJSON_AddItemToArray(s, cJSON_CreateNumber(p->spacing[a]));
    } else {
        cJSON_AddNullToObject(j, "target_spacing");
    }
    cJSON_AddStringToObject(j, "anisotropic_resampling", p->anisotropic_nnunet ? "nnunet" : "off");
    cJSON_AddBoolToObject(j, "normalize_before_resampling", p->normalize_first);
    cJSON *n = cJSON_AddObjectToObject(j, "normalization");
    cJSON_AddStringToObject(n, "scheme", norm_scheme_name(p->norm));
    if (p->norm == NORM_WINDOW || p->norm == NORM_CT) {
        cJSON_AddNumberToObject(n, "lo", p->lo);
        cJSON_AddNumberToObject(n, "hi", p->hi);
    }
    if (p->norm == NORM_CT) {
        cJSON_AddNumberToObject(n, "mean", p->mean);
        cJSON_AddNumberToObject(n, "std", p->std);
    }
    if (p->norm == NORM_PERCENTILE) {
        cJSON *pc = cJSON_AddArrayToObject(n, "percentiles");
        cJSON_AddItemToArray(pc, cJSON_CreateNumber(p->plo));
        cJSON_AddItemToArray(pc, cJSON_CreateNumber(p->phi));
    }
    cJSON *r = cJSON_AddArrayToObject(j, "roi");
    for (int a = 0; a < 3; a++)
        cJSON_AddItemToArray(r, cJSON_CreateNumber((double)p->roi[a]));
    static const char *grids[] = {"monai", "nnunet", "voxels"};
    cJSON_AddStringToObject(j, "grid", grids[p->grid]);
    if (p->grid == VXT_GRID_MONAI)
        cJSON_AddNumberToObject(j, "overlap", p->overlap);
    else if (p->grid == VXT_GRID_NNUNET)
        cJSON_AddNumberToObject(j, "step", p->step);
    else
        cJSON_AddNumberToObject(j, "overlap_voxels", (double)p->overlap_voxels);
    static const char *pads[] = {"constant", "replicate", "reflect", "none"};
    cJSON_AddStringToObject(j, "pad", pads[p->pad]);
    cJSON_AddNumberToObject(j, "pad_value", p->pad_value);
    static const char *imps[] = {"constant", "gaussian", "gaussian-nnunet", "hann", "user"};
    cJSON_AddStringToObject(j, "importance", imps[p->importance]);
    if (p->importance == VXT_IMPORTANCE_GAUSSIAN)
        cJSON_AddNumberToObject(j, "sigma_scale", p->sigma_scale);
    static const char *accs[] = {"float32", "float16", "float64"};
    cJSON_AddStringToObject(j, "accumulate", accs[p->accumulate]);
    cJSON_AddNumberToObject(j, "batch_size", p->batch_size);
    cJSON *mx = cJSON_AddArrayToObject(j, "mirror_axes");
    for (int a = 0; a < 3; a++)
        if (p->mirror_axes & (1u << a))
            cJSON_AddItemToArray(mx, cJSON_CreateNumber(a));
    static const char *acts[] = {"none", "softmax", "sigmoid"};
    cJSON_AddStringToObject(j, "activation", acts[p->activation]);
    cJSON *o = cJSON_AddObjectToObject(j, "output");
    cJSON_AddStringToObject(o, "label_dtype", vxt_dtype_name(p->label_dtype));
    cJSON_AddStringToObject(o, "resample_back", p->back_probabilities ? "probabilities" : "labels");
    if (p->nclass_names) {
        cJSON *cn = cJSON_AddArrayToObject(j, "class_names");
        for (int i = 0; i < p->nclass_names; i++)
            cJSON_AddItemToArray(cn, cJSON_CreateString(p->class_names[i]));
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}
