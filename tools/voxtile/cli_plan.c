/* cli_plan.c - the plan flags: --plan, --nnunet, --configuration, --print-plan, and one flag per plan field
 * (docs/PLAN.md). Each field flag becomes a one-field JSON document laid over the plan with vxt_plan_load_json(),
 * so the library checks every value with the messages, names and ranges plan files get; the flags are applied
 * after the files, in the order of the plan's fields (a mode before its parameters), whatever their order on the
 * command line. Defaults shown by --help are read from a fresh plan: there is one set of them, the library's. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* How a flag's text becomes JSON. */
typedef enum kind {
    K_STRING,       /* "text" */
    K_NUMBER,       /* a number */
    K_AXES,         /* Z,Y,X | Y,X | N: [z, y, x], [y, x] or a number */
    K_AXES_NONE,    /* the same, or "none": null */
    K_STRING_NONE,  /* "text", or "none": null */
    K_INTS_NONE,    /* A,B,C integers, or "none": null */
    K_INTS_EMPTY,   /* A,B,... integers, or "none": [] */
    K_PAIR,         /* LO,HI: [lo, hi] */
    K_REPLACE,      /* V=W or padding=W: {"value": V or "padding", "with": W}; "none": null */
    K_TRUE          /* no value: true */
} kind;

/* Every plan field flag: identifier, flag, value, JSON path, kind, the commands that take it (TILING: every
 * command with a tiling; STITCH: the commands that stitch; MODEL: the commands that run models (ensembles and
 * mirroring need a prediction per member and mirroring, which a tile file does not hold); NORM: run, validate and
 * normalize; PIPE: only the pipeline's), help. In the order the plan's fields are applied. */
#define PLAN_FIELDS(X)                                                                                           \
    X(MODEL, "model", "SPEC", "model", K_STRING, PIPE,                                                           \
      "the model: {runner}, e.g. plugin:PATH.so or bands:E1,E2,... (a demonstration, not a trained network)")   \
    X(ENSEMBLE, "ensemble", "NAME", "ensemble", K_STRING, MODEL,                                                \
      "where ensemble members are averaged: {ensemble} (default {default})")                                    \
    X(ORIENTATION, "orientation", "CODE|none", "orientation", K_STRING_NONE, PIPE,                               \
      "the orientation the model wants, as NIfTI axis codes of i, j, k (e.g. LIA, RAS); exact reorientation "    \
      "(default {default}: the image's own)")                                                                    \
    X(TRANSPOSE, "transpose", "A,B,C|none", "transpose", K_INTS_NONE, PIPE,                                      \
      "the model's axis order: model axis n = volume axis A,B,C[n] (z = 0), nnU-Net's transpose_forward "        \
      "(default {default})")                                                                                     \
    X(SPACING, "spacing", "Z,Y,X|Y,X|N|none", "target_spacing", K_AXES_NONE, PIPE,                               \
      "the model's voxel spacing in mm (Y,X: a 2D model's; none: the input's) (default {default})")             \
    X(ANISOTROPIC, "anisotropic", "NAME", "anisotropic_resampling", K_STRING, PIPE,                              \
      "resampling to the model's spacing: {anisotropy} (default {default})")                                    \
    X(INTERP, "interp", "linear|cubic", "interpolation", K_STRING, PIPE,                                         \
      "the image's interpolation to the model's spacing: linear, or cubic (B-spline, order 3, clipped to the "   \
      "input's range as skimage and nnU-Net do) (default {default})")                                           \
    X(NORMALIZE_FIRST, "normalize-first", NULL, "normalize_before_resampling", K_TRUE, PIPE,                     \
      "normalize before resampling (nnU-Net's order)")                                                          \
    X(NORMALIZATION, "normalization", "NAME", "normalization.scheme", K_STRING, NORM,                            \
      "{norm} (default {default})")                                                                              \
    X(LO, "lo", "V", "normalization.lo", K_NUMBER, NORM, "window and ct: the lower bound")                       \
    X(HI, "hi", "V", "normalization.hi", K_NUMBER, NORM, "window and ct: the upper bound")                       \
    X(MEAN, "mean", "V", "normalization.mean", K_NUMBER, NORM, "ct: the foreground mean")                        \
    X(STD, "std", "V", "normalization.std", K_NUMBER, NORM, "ct: the foreground standard deviation")             \
    X(PERCENTILES, "percentiles", "LO,HI", "normalization.percentiles", K_PAIR, NORM,                            \
      "percentile: the clip percentiles (default 0.5,99.5)")                                                     \
    X(REPLACE, "replace", "V=W|padding=W|none", "normalization.replace", K_REPLACE, NORM,                       \
      "before the normalization, voxels of value V (intensity units: -3024 for CT padding) or of the reader's "  \
      "padding value (DICOM PixelPaddingValue) become W (default none)")                                        \
    X(ROI, "roi", "Z,Y,X|Y,X|N", "roi", K_AXES, TILING, "the tile size (the model's patch size; Y,X: 2D)")       \
    X(GRID, "grid", "NAME", "grid", K_STRING, TILING, "tile placement: {grid} (default {default})")             \
    X(OVERLAP, "overlap", "F|Z,Y,X", "overlap", K_AXES, TILING,                                                  \
      "monai placement: overlap fraction in [0, 1) (default {default})")                                        \
    X(STEP, "step", "F|Z,Y,X", "step", K_AXES, TILING,                                                           \
      "nnunet placement: step as a fraction of the ROI in (0, 1] (default 0.5)")                                \
    X(OVERLAP_VOXELS, "overlap-voxels", "N|Z,Y,X", "overlap_voxels", K_AXES, TILING,                             \
      "voxels placement: overlap in voxels (default 0)")                                                        \
    X(RECEPTIVE_FIELD, "receptive-field", "N|Z,Y,X|none", "receptive_field", K_AXES_NONE, TILING,                \
      "the model's receptive field in voxels: tiles overlap by N-1 or more (default none)")                       \
    X(PAD, "pad", "NAME", "pad", K_STRING, TILING, "where the volume is smaller than the ROI: {pad} (default {default})") \
    X(PAD_VALUE, "pad-value", "V", "pad_value", K_NUMBER, TILING, "constant padding value (default {default})")   \
    X(IMPORTANCE, "importance", "NAME", "importance", K_STRING, STITCH,                                          \
      "tile weights: {importance} (default {default})")                                                          \
    X(SIGMA, "sigma-scale", "S|Z,Y,X", "sigma_scale", K_AXES, STITCH,                                            \
      "gaussian: sigma as a fraction of the ROI (default {default})")                                           \
    X(ACCUMULATE, "accumulate", "NAME", "accumulate", K_STRING, STITCH,                                          \
      "arithmetic: {accumulate} (MONAI's, nnU-Net's, exact) (default {default})")                               \
    X(BATCH, "batch", "N", "batch_size", K_NUMBER, STITCH, "tiles per model call (default {default})")          \
    X(MIRROR, "mirror", "AXES|none", "mirror_axes", K_INTS_EMPTY, MODEL,                                        \
      "test-time mirroring over these axes (0 = z), nnU-Net's order (default none)")                             \
    X(ACTIVATION, "activation", "NAME", "activation", K_STRING, STITCH, "{activation} (default {default})")     \
    X(LABEL_RULE, "label-rule", "NAME", "labels.rule", K_STRING, STITCH,                                        \
      "how labels are made: {label_rule} (default argmax; threshold for sigmoid models)")                       \
    X(THRESHOLD, "threshold", "T", "labels.threshold", K_NUMBER, STITCH,                                         \
      "threshold and regions: a value counts when above T (default 0.5)")                                        \
    X(REGION_LABELS, "region-labels", "L1,L2,...", "labels.region_labels", K_INTS_EMPTY, STITCH,                 \
      "regions: the label of each channel's region, later channels win (nnU-Net's regions_class_order)")        \
    X(LABEL_DTYPE, "label-dtype", "uint8|uint16", "output.label_dtype", K_STRING, STITCH,                        \
      "labels' type (default {default})")                                                                        \
    X(RESAMPLE_BACK, "resample-back", "NAME", "output.resample_back", K_STRING, PIPE,                            \
      "back to the input's grid: {resample_back} (resample the class values then label, or resample the labels "\
      "with nearest neighbours) (default {default})")

enum {
#define X(id, flag, value, path, k, group, help) FIELD_##id,
    PLAN_FIELDS(X)
#undef X
    FIELD_COUNT
};

static const struct {
    const char *path;
    kind k;
} fields[] = {
#define X(id, flag, value, path, k, group, help) {path, k},
    PLAN_FIELDS(X)
#undef X
};

#define ROW(id, flag, value, help) {flag, 0, value, CLI_PLAN_FIELD + FIELD_##id, help},
#define ROW_PIPE(id, flag, value, help) ROW(id, flag, value, help)
#define ROW_MODEL(id, flag, value, help) ROW(id, flag, value, help)
#define ROW_STITCH(id, flag, value, help) ROW(id, flag, value, help)
#define ROW_TILING(id, flag, value, help) ROW(id, flag, value, help)
#define NONE_PIPE(id, flag, value, help)
#define NONE_MODEL(id, flag, value, help)
#define NONE_STITCH(id, flag, value, help) ROW(id, flag, value, help)
#define NONE_TILING(id, flag, value, help) ROW(id, flag, value, help)
#define NONE_NORM(id, flag, value, help)
#define ROW_NORM(id, flag, value, help) ROW(id, flag, value, help)
#define SOURCES(heading)                                                                                         \
    {NULL, 0, NULL, 0, heading},                                                                                 \
        {"plan", 0, "FILE", CLI_PLAN_FILE, "a plan file (JSON; repeat to lay several over each other)"},         \
        {"print-plan", 0, NULL, CLI_PLAN_PRINT, "print the resolved plan as JSON and exit"},
#define FILES_ONLY "plan (docs/PLAN.md: these flags replace the fields of the --plan files)"

const cli_flag cli_plan_flags[] = {
    SOURCES("plan (docs/PLAN.md: these flags replace the fields of --nnunet and the --plan files)")
    {"nnunet", 0, "DIR", CLI_PLAN_NNUNET, "an nnU-Net model folder (plans.json, dataset.json)"},
    {"configuration", 0, "NAME", CLI_PLAN_CONFIGURATION, "its configuration (default 3d_fullres)"},
    {"model-config", 0, "TEXT", CLI_PLAN_MODEL_CONFIG, "the model's configuration string (plugins: their own)"},
    {"member", 0, "SPEC[@TEXT]", CLI_PLAN_MEMBER, "an ensemble member and its configuration (repeat; replaces --model)"},
    {"allow-plugin", 0, "PATH", CLI_PLAN_ALLOW_PLUGIN, "let a plan file load this plugin library (native code; repeat): a plan file never loads one by itself"},
#define X(id, flag, value, path, k, group, help) ROW_##group(id, flag, value, help)
    PLAN_FIELDS(X)
#undef X
    {NULL, 0, NULL, 0, NULL},
};

/* The stitching fields only (stitch: no model, no preprocessing). */
const cli_flag cli_stitch_flags[] = {
    SOURCES(FILES_ONLY)
#define X(id, flag, value, path, k, group, help) NONE_##group(id, flag, value, help)
    PLAN_FIELDS(X)
#undef X
    {NULL, 0, NULL, 0, NULL},
};

/* The normalization fields only (normalize). */
#define NORM_PIPE(id, flag, value, help)
#define NORM_MODEL(id, flag, value, help)
#define NORM_STITCH(id, flag, value, help)
#define NORM_TILING(id, flag, value, help)
#define NORM_NORM(id, flag, value, help) ROW(id, flag, value, help)
const cli_flag cli_norm_flags[] = {
    SOURCES(FILES_ONLY)
#define X(id, flag, value, path, k, group, help) NORM_##group(id, flag, value, help)
    PLAN_FIELDS(X)
#undef X
    {NULL, 0, NULL, 0, NULL},
};

/* The tiling fields only (tiles). */
#define ONLY_PIPE(id, flag, value, help)
#define ONLY_MODEL(id, flag, value, help)
#define ONLY_STITCH(id, flag, value, help)
#define ONLY_TILING(id, flag, value, help) ROW(id, flag, value, help)
#define ONLY_NORM(id, flag, value, help)
const cli_flag cli_tiling_flags[] = {
    SOURCES(FILES_ONLY)
#define X(id, flag, value, path, k, group, help) ONLY_##group(id, flag, value, help)
    PLAN_FIELDS(X)
#undef X
    {NULL, 0, NULL, 0, NULL},
};

void cli_plan_args_init(cli_plan_args *a)
{
    memset(a, 0, sizeof *a);
    a->configuration = "3d_fullres";
}

int cli_plan_flag(const char *cmd, cli_plan_args *a, const cli_flag *f, const char *value)
{
    if (f->id < CLI_PLAN_FIRST || f->id > CLI_PLAN_LAST)
        return -2;
    switch (f->id) {
    case CLI_PLAN_FILE:
        if (a->nfiles == (int)(sizeof a->files / sizeof a->files[0])) {
            cli_error(cmd, "--plan: at most %d plan files", a->nfiles);
            return VXT_EXIT_USAGE;
        }
        a->files[a->nfiles++] = value;
        return 0;
    case CLI_PLAN_NNUNET: a->nnunet_dir = value; return 0;
    case CLI_PLAN_CONFIGURATION: a->configuration = value; a->configuration_given = 1; return 0;
    case CLI_PLAN_PRINT: a->print_plan = 1; return 0;
    case CLI_PLAN_MODEL_CONFIG: a->model_config = value; return 0;
    case CLI_PLAN_ALLOW_PLUGIN:
        if (a->nallowed == (int)(sizeof a->allowed / sizeof a->allowed[0])) {
            cli_error(cmd, "--allow-plugin: at most %d libraries", a->nallowed);
            return VXT_EXIT_USAGE;
        }
        a->allowed[a->nallowed++] = value;
        return 0;
    case CLI_PLAN_MEMBER:
        if (a->nmembers == (int)(sizeof a->members / sizeof a->members[0])) {
            cli_error(cmd, "--member: at most %d members", a->nmembers);
            return VXT_EXIT_USAGE;
        }
        a->members[a->nmembers++] = value;
        return 0;
    default:
        a->field[f->id - CLI_PLAN_FIELD] = value ? value : "";
        return 0;
    }
}

/* ---- a flag's value as JSON ----------------------------------------------------------------------------- */

/* Comma-separated numbers: 1 to `most` of them (whole numbers when `ints`). NULL (message printed) otherwise. */
static cJSON *number_list(const char *cmd, const char *flag, const char *text, int most, int ints)
{
    cJSON *a = cJSON_CreateArray();
    const char *p = text;
    for (int n = 0; a; n++) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        int ok = end != p && !errno && isfinite(v) && n < most && (!ints || v == floor(v)) &&
                 (*end == ',' ? end[1] != '\0' : *end == '\0');
        if (!ok) {
            cli_error(cmd, "--%s: expected %s%s separated by commas, got '%s'", flag, most > 1 ? "" : "one ",
                      ints ? "whole numbers" : "numbers", text);
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
        if (!*end)
            break;
        p = end + 1;
    }
    return a;
}

static cJSON *field_value(const char *cmd, const char *flag, kind k, const char *v)
{
    const int none = v && !strcmp(v, "none");
    switch (k) {
    case K_TRUE:
        return cJSON_CreateTrue();
    case K_STRING_NONE:
        if (none)
            return cJSON_CreateNull();
        /* fall through */
    case K_STRING:
        return cJSON_CreateString(v);
    case K_NUMBER: {
        double d;
        if (!cli_parse_double(v, &d)) {
            cli_error(cmd, "--%s: expected a number, got '%s'", flag, v);
            return NULL;
        }
        return cJSON_CreateNumber(d);
    }
    case K_PAIR: {
        cJSON *a = number_list(cmd, flag, v, 2, 0);
        if (a && cJSON_GetArraySize(a) != 2) {
            cli_error(cmd, "--%s: expected LO,HI, got '%s'", flag, v);
            cJSON_Delete(a);
            return NULL;
        }
        return a;
    }
    case K_REPLACE: {
        if (none)
            return cJSON_CreateNull();
        const char *eq = strchr(v, '=');
        char value[64];
        double d = 0, w = 0;
        int padding = eq && (size_t)(eq - v) == 7 && !strncmp(v, "padding", 7);
        snprintf(value, sizeof value, "%.*s", eq && eq - v < 63 ? (int)(eq - v) : 0, v);
        if (!eq || (!padding && !cli_parse_double(value, &d)) || !cli_parse_double(eq + 1, &w)) {
            cli_error(cmd, "--%s: expected V=W (numbers: voxels of value V become W), padding=W or none, got '%s'",
                      flag, v);
            return NULL;
        }
        cJSON *o = cJSON_CreateObject();
        if (padding)
            cJSON_AddStringToObject(o, "value", "padding");
        else
            cJSON_AddNumberToObject(o, "value", d);
        cJSON_AddNumberToObject(o, "with", w);
        return o;
    }
    case K_INTS_NONE:
    case K_INTS_EMPTY:
        if (none)
            return k == K_INTS_NONE ? cJSON_CreateNull() : cJSON_CreateArray();
        return number_list(cmd, flag, v, 65536, 1);
    default: { /* K_AXES, K_AXES_NONE */
        if (none && k == K_AXES_NONE)
            return cJSON_CreateNull();
        cJSON *a = number_list(cmd, flag, v, 3, 0);
        if (a && cJSON_GetArraySize(a) == 1) {
            cJSON *one = cJSON_CreateNumber(cJSON_GetArrayItem(a, 0)->valuedouble);
            cJSON_Delete(a);
            return one;
        }
        return a;
    }
    }
}

/* {"a": {"b": value}} for the path "a.b" (value is taken). */
static cJSON *document(const char *path, cJSON *value)
{
    cJSON *doc = cJSON_CreateObject(), *at = doc;
    char key[64];
    const char *p = path;
    for (const char *dot; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
        at = cJSON_AddObjectToObject(at, key);
    }
    cJSON_AddItemToObject(at, p, value);
    return doc;
}

/* Lay one document over the plan; origin names the flag. */
static int overlay(const char *cmd, vxt_plan *plan, cJSON *doc, const char *origin)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    vxt_status st = text ? vxt_plan_load_json(plan, text, strlen(text), origin) : VXT_ERR_OUT_OF_MEMORY;
    cJSON_free(text);
    if (st != VXT_OK) { /* a flag's value the plan refuses: a malformed argument */
        cli_error(cmd, "%s", vxt_last_error());
        return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_USAGE;
    }
    return 0;
}

/* A runner specification's kind must be one the library makes from a specification (loading waits for the run). */
static int check_spec(const char *cmd, const char *flag, const char *spec)
{
    char kname[32];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    vxt_runner_kind k = VXT_RUNNER_CALLBACK;
    snprintf(kname, sizeof kname, "%.*s", (int)(n < sizeof kname ? n : sizeof kname - 1), spec);
    if (n == 0 || n >= sizeof kname || vxt_runner_kind_parse(kname, &k) != VXT_OK || k == VXT_RUNNER_CALLBACK) {
        cli_error(cmd, "--%s: '%s' is not a model specification (identity, bands:E1,E2,... or plugin:PATH)", flag,
                  spec);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* --model, --model-config and --member: the model(s) of the plan. */
static int models(const char *cmd, const cli_plan_args *a, vxt_plan *plan)
{
    const char *spec = a->field[FIELD_MODEL], *config = a->model_config;
    if (!spec && !config && !a->nmembers)
        return 0;
    cJSON *doc = cJSON_CreateObject();
    if (a->nmembers) {
        cJSON *ms = cJSON_AddArrayToObject(doc, "members");
        for (int i = 0; i < a->nmembers; i++) {
            const char *at = strchr(a->members[i], '@');
            char model[1024];
            snprintf(model, sizeof model, "%.*s", at ? (int)(at - a->members[i]) : (int)strlen(a->members[i]),
                     a->members[i]);
            /* checked before the member's object is made (made first, it leaked; found by fuzz_cli_args) */
            if (check_spec(cmd, "member", model)) {
                cJSON_Delete(doc);
                return VXT_EXIT_USAGE;
            }
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "model", model);
            cJSON_AddStringToObject(m, "config", at ? at + 1 : "");
            cJSON_AddItemToArray(ms, m);
        }
    } else {
        const char *old_config = "";
        if (!spec && !(spec = vxt_plan_member(plan, 0, &old_config))) {
            cJSON_Delete(doc);
            cli_error(cmd, "--model-config: there is no model to configure (give --model)");
            return VXT_EXIT_USAGE;
        }
        if (a->field[FIELD_MODEL] && check_spec(cmd, "model", spec)) {
            cJSON_Delete(doc);
            return VXT_EXIT_USAGE;
        }
        cJSON *m = cJSON_AddObjectToObject(doc, "model");
        cJSON_AddStringToObject(m, "model", spec);
        cJSON_AddStringToObject(m, "config", config ? config : a->field[FIELD_MODEL] ? "" : old_config);
    }
    return overlay(cmd, plan, doc, a->nmembers ? "--member" : spec == a->field[FIELD_MODEL] ? "--model" : "--model-config");
}

int cli_plan_given(const cli_plan_args *a, const char *flag)
{
    for (const cli_flag *f = cli_plan_flags; f->name || f->help; f++)
        if (f->name && !strcmp(f->name, flag) && f->id >= CLI_PLAN_FIELD)
            return a->field[f->id - CLI_PLAN_FIELD] != NULL;
    return 0;
}

cJSON *cli_plan_json(const vxt_plan *plan)
{
    char *text = NULL;
    if (vxt_plan_to_json(plan, &text) != VXT_OK)
        return NULL;
    cJSON *j = cJSON_Parse(text);
    vxt_buffer_free(text);
    return j;
}

int cli_shared_flag(const char *cmd, cli_exec *e, cli_plan_args *p, cli_dicom *d, const cli_flag *f,
                    const char *value)
{
    int rc = e ? cli_exec_flag(cmd, e, f, value) : -2;
    if (rc == -2 && d)
        rc = cli_dicom_flag(cmd, d, f, value);
    return rc == -2 && p ? cli_plan_flag(cmd, p, f, value) : rc;
}

int cli_start(const cli_command_spec *spec, int argc, char **argv, cli_flag_fn fn, void *user, const char **positional,
              int *npositional, cli_exec *e, cli_plan_args *p, int need_model, vxt_plan **plan)
{
    if (e)
        cli_exec_init(e);
    if (p)
        cli_plan_args_init(p);
    int rc = cli_parse(spec, argc, argv, fn, user, positional, npositional);
    if (rc || !p)
        return rc;
    return cli_plan_ready(spec->name, p, need_model, plan);
}

/* A plan printed before it has a model or a ROI is still checked for contradictions (the model and the ROI it
 * lacks stand in: an identity model, a ROI no volume reaches), so that what is printed reads back as it is. */
static int check_printed(const char *cmd, const vxt_plan *plan)
{
    vxt_plan *probe = NULL;
    vxt_plan_info info = {.struct_size = sizeof info};
    vxt_status st = vxt_plan_get_info(plan, &info);
    if (st == VXT_OK)
        st = vxt_plan_clone(plan, &probe);
    static const char model[] = "{\"model\": \"identity\"}", roi[] = "{\"roi\": 1048576}";
    if (st == VXT_OK && info.members == 0)
        st = vxt_plan_load_json(probe, model, strlen(model), "--print-plan");
    if (st == VXT_OK && info.roi[0] == 0)
        st = vxt_plan_load_json(probe, roi, strlen(roi), "--print-plan");
    if (st == VXT_OK)
        st = vxt_plan_check(probe);
    vxt_plan_destroy(probe);
    if (st == VXT_OK)
        return 0;
    cli_error(cmd, "%s", vxt_last_error());
    return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_PLAN;
}

int cli_plan_ready(const char *cmd, const cli_plan_args *a, int need_model, vxt_plan **out)
{
    int rc = cli_plan_build(cmd, a, need_model && !a->print_plan, out);
    if (rc || !a->print_plan)
        return rc;
    if ((rc = check_printed(cmd, *out)) != 0) {
        vxt_plan_destroy(*out);
        *out = NULL;
        return rc;
    }
    rc = cli_plan_print(cmd, *out);
    vxt_plan_destroy(*out);
    *out = NULL;
    return rc ? rc : -1;
}

/* ", "-separated list, truncated at n */
static void vxt__cli_append(char *buf, size_t n, const char *item)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n > len ? n - len : 0, "%s%s", len ? ", " : "", item);
}

/* The trust boundary for native code (docs/DESIGN.md, "Trust"): a model named on the command line (--model,
 * --member) is the user's choice; a plugin named by a plan file or an nnU-Net folder (a file that may come with a
 * downloaded model) is loaded only when the user allows that library with --allow-plugin PATH (the same file:
 * device and inode). Plan files stay free to name every other runner (onnx:, torchscript: files are data, run by
 * their runtimes). */
static int trusted_plugins(const char *cmd, const cli_plan_args *a, const vxt_plan *plan)
{
    for (int m = 0;; m++) {
        const char *spec = vxt_plan_member(plan, m, NULL);
        if (!spec)
            return 0;
        if (strncmp(spec, "plugin:", 7) != 0)
            continue;
        const char *path = spec + 7;
        struct stat want;
        int ok = 0;
        for (int i = 0; i < a->nallowed && !ok; i++) {
            struct stat got;
            ok = stat(path, &want) == 0 && stat(a->allowed[i], &got) == 0 && want.st_dev == got.st_dev &&
                 want.st_ino == got.st_ino;
        }
        if (!ok) {
            cli_error(cmd, "the plan names '%s', a library of native code; a plan file never loads one by itself: "
                      "allow it with --allow-plugin %s (or name the model yourself: --model %s)", spec, path, spec);
            return VXT_EXIT_PLAN;
        }
    }
}

void cli_plan_plugins(const vxt_plan *plan, char *buf, size_t n)
{
    if (n)
        buf[0] = '\0';
    for (int m = 0; plan; m++) {
        const char *spec = vxt_plan_member(plan, m, NULL);
        if (!spec)
            break;
        if (strncmp(spec, "plugin:", 7) == 0)
            vxt__cli_append(buf, n, spec);
    }
}

/* A plan file or nnU-Net folder that cannot be used: missing, unreadable or not JSON is a bad input (4); contents
 * the plan refuses, or that voxtile cannot run (an nnU-Net normalization it lacks), are the plan's problem (6). */
static int source_fail(const char *cmd, const char *what, vxt_status st)
{
    int rc = cli_fail(cmd, what, st);
    return st == VXT_ERR_IO || st == VXT_ERR_FORMAT || st == VXT_ERR_TRUNCATED || st == VXT_ERR_OUT_OF_MEMORY
               ? rc
               : VXT_EXIT_PLAN;
}

int cli_plan_build(const char *cmd, const cli_plan_args *a, int need_model, vxt_plan **out)
{
    if (a->configuration_given && !a->nnunet_dir) {
        cli_error(cmd, "--configuration names a configuration of an nnU-Net folder: give --nnunet DIR");
        return VXT_EXIT_USAGE;
    }
    vxt_plan *plan = NULL;
    vxt_status st = vxt_plan_create(&plan);
    if (st != VXT_OK)
        return cli_fail(cmd, "plan", st);
    int rc = 0;
    if (a->nnunet_dir && (st = vxt_plan_load_nnunet(plan, a->nnunet_dir, a->configuration)) != VXT_OK)
        rc = source_fail(cmd, "--nnunet", st);
    for (int i = 0; !rc && i < a->nfiles; i++)
        if ((st = vxt_plan_load_file(plan, a->files[i])) != VXT_OK)
            rc = source_fail(cmd, "--plan", st);
    if (!rc && !a->field[FIELD_MODEL] && !a->nmembers)
        rc = trusted_plugins(cmd, a, plan);
    if (!rc)
        rc = models(cmd, a, plan);
    for (int k = 0; !rc && k < FIELD_COUNT; k++) {
        if (k == FIELD_MODEL || !a->field[k])
            continue;
        char flag[64], origin[300];
        const char *colon = NULL;
        for (const cli_flag *f = cli_plan_flags; f->name || f->help; f++)
            if (f->name && f->id == CLI_PLAN_FIELD + k)
                colon = f->name;
        snprintf(flag, sizeof flag, "%s", colon ? colon : "?");
        cJSON *v = field_value(cmd, flag, fields[k].k, a->field[k]);
        if (!v) {
            rc = VXT_EXIT_USAGE;
            break;
        }
        snprintf(origin, sizeof origin, "--%s%s%s", flag, fields[k].k == K_TRUE ? "" : " ", a->field[k]);
        rc = overlay(cmd, plan, document(fields[k].path, v), origin);
    }
    if (!rc && need_model && (st = vxt_plan_check(plan)) != VXT_OK) {
        cli_error(cmd, "%s", vxt_last_error());
        rc = VXT_EXIT_PLAN;
    }
    if (rc) {
        vxt_plan_destroy(plan);
        return rc;
    }
    *out = plan;
    return 0;
}

int cli_plan_print(const char *cmd, const vxt_plan *plan)
{
    char *text = NULL;
    vxt_status st = vxt_plan_to_json(plan, &text);
    if (st != VXT_OK)
        return cli_fail(cmd, "--print-plan", st);
    int ok = printf("%s\n", text) > 0 && fflush(stdout) == 0;
    vxt_buffer_free(text);
    return ok ? VXT_EXIT_OK : VXT_EXIT_OUTPUT;
}

void cli_plan_default(const cli_flag *flag, char *buf, size_t n)
{
    buf[0] = '\0';
    if (flag->id < CLI_PLAN_FIELD || flag->id >= CLI_PLAN_FIELD + FIELD_COUNT)
        return;
    vxt_plan *plan = NULL;
    if (vxt_plan_create(&plan) != VXT_OK)
        return;
    cJSON *j = cli_plan_json(plan), *at = j;
    char key[64];
    const char *p = fields[flag->id - CLI_PLAN_FIELD].path;
    for (const char *dot; at && (dot = strchr(p, '.')) != NULL; p = dot + 1) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
        at = cJSON_GetObjectItemCaseSensitive(at, key);
    }
    at = at ? cJSON_GetObjectItemCaseSensitive(at, p) : NULL;
    if (cJSON_IsString(at))
        snprintf(buf, n, "%s", at->valuestring);
    else if (cJSON_IsNull(at) || (cJSON_IsArray(at) && cJSON_GetArraySize(at) == 0))
        snprintf(buf, n, "none");
    else if (cJSON_IsArray(at)) { /* as the flag takes it: A,B,C */
        const cJSON *e;
        size_t k = 0;
        cJSON_ArrayForEach(e, at) k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%g", k ? "," : "",
                                                       e->valuedouble);
    }
    else if (at) {
        char *v = cJSON_PrintUnformatted(at);
        snprintf(buf, n, "%s", v ? v : "");
        cJSON_free(v);
    }
    cJSON_Delete(j);
    vxt_plan_destroy(plan);
}
