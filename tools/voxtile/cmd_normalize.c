/* cmd_normalize.c - `voxtile normalize IN -o OUT [--normalization NAME] [steps]`: the normalization stage of
 * `voxtile run` on its own, with the same flags and plan fields. The stored values are first rescaled to their
 * intensity units (the image's scaling) in float32, as run's rescale stage does, then each channel is normalized
 * in place by vxt_plan_normalize(); the output is float32 with the input's geometry exactly. Statistics are per
 * channel (docs/PREPROCESSING.md says how they are computed: exactly, and the same on every backend).
 *
 * Steps around the scheme, in this order: the plan's replacement (--replace, part of the rescale:
 * vxt_plan_rescale), --smooth (vxt_gaussian_smooth, in place: the scheme's statistics are the smoothed image's),
 * --clip, the scheme, --zero-center, and last --window-level, which makes the output uint8 display values (and so
 * takes no scheme and no --zero-center). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_OUT = 1, O_JSON, O_SMOOTH };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "output"},
    {"output", 'o', "OUT", O_OUT, "the normalized image, float32 (uint8 with --window-level) (.nii, .nii.gz or .npy)"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON (the statistics used, seconds, ...)"},
    {NULL, 0, NULL, 0, "smoothing"},
    {"smooth", 0, "SIGMA[mm]", O_SMOOTH, "Gaussian smoothing first (scipy gaussian_filter, 'reflect'): sigma in "
                                         "voxels, or mm with a trailing mm; S or Z,Y,X, each 0..1000"},
    {NULL, 0, NULL, 0, NULL},
};
/* ---- the steps around the scheme: --clip, --zero-center, --window-level ------------------------------------ */

enum { O_CLIP = 20, O_ZERO_CENTER, O_WINDOW_LEVEL };

static const cli_flag steps_flags[] = {
    {NULL, 0, NULL, 0, "steps around the scheme (in this order: --replace, --clip, the scheme, --zero-center, "
                       "--window-level)"},
    {"clip", 0, "LO,HI", O_CLIP, "before the scheme, clip the intensities to [LO, HI] (numpy.clip; LO <= HI)"},
    {"zero-center", 0, "MEAN", O_ZERO_CENTER,
     "after the scheme, subtract a dataset's mean (e.g. 0.25 after --normalization window --lo -1000 --hi 400)"},
    {"window-level", 0, "CENTER,WIDTH", O_WINDOW_LEVEL,
     "last, to 8-bit display values: uint8(trunc((clip(x, C-W/2, C+W/2) - (C-W/2)) / W * 255)), WIDTH > 0; the "
     "output is uint8; not with a scheme (other than none) or --zero-center"},
    {NULL, 0, NULL, 0, NULL},
};

typedef struct norm_steps {
    int clip, zero_center, window_level;
    double lo, hi, mean, center, width;
} norm_steps;

/* One of steps_flags (-2 when f is not one). */
static int steps_flag(norm_steps *s, const cli_flag *f, const char *v)
{
    double x[2];
    switch (f->id) {
    case O_CLIP:
        if (cli_parse_numbers(v, x, 2) != 2 || !(x[0] <= x[1])) {
            cli_error("normalize", "--clip: expected LO,HI, two numbers with LO <= HI, got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        s->clip = 1, s->lo = x[0], s->hi = x[1];
        return 0;
    case O_ZERO_CENTER:
        if (!cli_parse_double(v, &s->mean)) {
            cli_error("normalize", "--zero-center: expected a number (the dataset's mean), got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        s->zero_center = 1;
        return 0;
    case O_WINDOW_LEVEL:
        if (cli_parse_numbers(v, x, 2) != 2 || !(x[1] > 0)) {
            cli_error("normalize", "--window-level: expected CENTER,WIDTH, two numbers with WIDTH > 0, got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        s->window_level = 1, s->center = x[0], s->width = x[1];
        return 0;
    default:
        return -2;
    }
}

/* Window/level makes display values from intensities: after a scheme or a zero-centring its centre and width would
 * be in other units. The plan's scheme is the flags' or a plan file's. An exit status. */
static int steps_check(const norm_steps *s, const vxt_plan *plan)
{
    if (!s->window_level)
        return 0;
    cJSON *pj = plan ? cli_plan_json(plan) : NULL;
    const cJSON *scheme = cJSON_GetObjectItem(cJSON_GetObjectItem(pj, "normalization"), "scheme");
    char name[64] = "";
    if (cJSON_IsString(scheme) && strcmp(scheme->valuestring, "none") != 0)
        snprintf(name, sizeof name, "%s", scheme->valuestring);
    cJSON_Delete(pj);
    if (!name[0] && !s->zero_center)
        return 0;
    if (name[0])
        cli_error("normalize", "--window-level makes 8-bit display values from intensities; it does not follow "
                  "--normalization %s (the scheme, given or from a plan, must be none)", name);
    else
        cli_error("normalize", "--window-level makes 8-bit display values from intensities; it does not follow "
                  "--zero-center");
    return VXT_EXIT_USAGE;
}

/* --clip, on the rescaled (and replaced) intensities, every channel. */
static int steps_before(vxt_context *ctx, const norm_steps *s, vxt_volume *v)
{
    vxt_status st = s->clip ? vxt_clip(ctx, v, v, s->lo, s->hi) : VXT_OK;
    return st == VXT_OK ? 0 : cli_fail("normalize", "--clip", st);
}

/* --zero-center, after the scheme, every channel. */
static int steps_after(vxt_context *ctx, const norm_steps *s, vxt_volume *v)
{
    vxt_status st = s->zero_center ? vxt_zero_center(ctx, v, v, s->mean) : VXT_OK;
    return st == VXT_OK ? 0 : cli_fail("normalize", "--zero-center", st);
}

/* --window-level: *out (float32) becomes a uint8 image with its geometry. An exit status. */
static int steps_window_level(vxt_context *ctx, const norm_steps *s, vxt_image **out)
{
    vxt_volume fv, uv;
    vxt_image *u8 = NULL;
    vxt_image_volume(*out, &fv);
    vxt_status st = vxt_image_create(VXT_DTYPE_U8, fv.channels, fv.shape, *out, &u8);
    if (st != VXT_OK)
        return cli_fail("normalize", "cannot create the output", st);
    vxt_image_volume(u8, &uv);
    if ((st = vxt_window_level_u8(ctx, &fv, &uv, s->center, s->width)) != VXT_OK) {
        vxt_image_destroy(u8);
        return cli_fail("normalize", "--window-level", st);
    }
    vxt_image_set_description(u8, "voxtile normalize");
    vxt_image_destroy(*out);
    *out = u8;
    return 0;
}

/* The steps given, for --json; with a replacement of the padding value, what it stood for in `img` (null: none). */
static void steps_json(cJSON *j, const norm_steps *s, const vxt_image *img, const cJSON *normalization)
{
    const cJSON *value = cJSON_GetObjectItem(cJSON_GetObjectItem(normalization, "replace"), "value");
    if (cJSON_IsString(value)) {
        vxt_image_info info = {.struct_size = sizeof info};
        vxt_image_get_info(img, &info);
        if (info.has_padding)
            cJSON_AddNumberToObject(j, "padding_value", info.padding_value);
        else
            cJSON_AddNullToObject(j, "padding_value");
    }
    if (s->clip) {
        const double c[2] = {s->lo, s->hi};
        cJSON_AddItemToObject(j, "clip", cJSON_CreateDoubleArray(c, 2));
    }
    if (s->zero_center)
        cJSON_AddNumberToObject(j, "zero_center", s->mean);
    if (s->window_level) {
        cJSON *w = cJSON_AddObjectToObject(j, "window_level");
        cJSON_AddNumberToObject(w, "center", s->center);
        cJSON_AddNumberToObject(w, "width", s->width);
    }
}

/* ---- the command ---------------------------------------------------------------------------------------- */

static const cli_flag *const groups[] = {own, steps_flags, cli_norm_flags, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "normalize", "normalize IN -o OUT [--replace V=W|padding=W] [--smooth SIGMA[mm]] [--clip LO,HI] [--normalization "
    "NAME [--lo L --hi H | --mean M --std S | --percentiles P,Q]] [--zero-center MEAN] [--window-level CENTER,WIDTH]",
    "Normalize intensities with one of voxtile run's schemes (docs/PLAN.md): window clip((x - lo) / (hi - lo), 0, 1);\n"
    "ct (nnU-Net's CTNormalization) (clip(x, lo, hi) - mean) / max(std, 1e-8); zscore and zscore-nonzero\n"
    "(x - mean) / max(std, 1e-8) over every or the non-zero voxels; minmax (x - min) / max(max - min, 1e-8);\n"
    "percentile: clip to the P-th and Q-th percentiles (numpy's linear method, exact). The scheme may also come\n"
    "from a plan file. Around it, in this order: --replace (the scanner's padding), --smooth (a Gaussian; the\n"
    "scheme's statistics are then the smoothed image's), --clip, the scheme, --zero-center, and --window-level to\n"
    "uint8; with these the scheme may be left out (none).",
    groups, 1};

typedef struct norm_args {
    const char *out;
    int json, smooth, smooth_mm; /* --smooth given; its sigma in mm */
    double sigma[3];
    norm_steps steps;
    cli_exec exec;
    cli_dicom dicom;
    cli_plan_args plan;
} norm_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    norm_args *a = (norm_args *)user;
    int rc = cli_shared_flag("normalize", &a->exec, &a->plan, &a->dicom, f, v);
    if (rc != -2 || (rc = steps_flag(&a->steps, f, v)) != -2)
        return rc;
    if (f->id == O_OUT) {
        a->out = v;
    } else if (f->id == O_JSON) {
        a->json = 1;
    } else {
        /* SIGMA or Z,Y,X, with "mm" after the last value for millimetres */
        char num[128];
        const size_t n = strlen(v);
        a->smooth = 1;
        a->smooth_mm = n > 2 && !strcmp(v + n - 2, "mm");
        snprintf(num, sizeof num, "%.*s", (int)(a->smooth_mm ? n - 2 : n), v);
        int ok = n < sizeof num && cli_parse_zyx(num, a->sigma, NULL);
        for (int k = 0; ok && k < 3; k++)
            ok = a->sigma[k] >= 0.0 && a->sigma[k] <= 1000.0;
        if (!ok) {
            cli_error("normalize", "--smooth: expected SIGMA or Z,Y,X in voxels, or in mm with a trailing mm, each in "
                      "[0, 1000]; got '%s'", v);
            return VXT_EXIT_USAGE;
        }
    }
    return 0;
}

/* --smooth: every channel of the float32 image, in place. */
static int smooth(vxt_context *ctx, const norm_args *a, const vxt_image *img, vxt_volume *ov)
{
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_get_info(img, &info);
    vxt_smooth_options so;
    vxt_smooth_options_init(&so);
    memcpy(so.sigma, a->sigma, sizeof so.sigma);
    so.sigma_in_mm = a->smooth_mm;
    memcpy(so.spacing, info.spacing, sizeof so.spacing);
    vxt_status st = vxt_gaussian_smooth(ctx, ov, ov, &so);
    if (st == VXT_ERR_INVALID_ARGUMENT) { /* a sigma the image's spacing makes too long */
        cli_error("normalize", "--smooth: %s", vxt_last_error());
        return VXT_EXIT_USAGE;
    }
    return st == VXT_OK ? 0 : cli_fail("normalize", "smoothing", st);
}

/* Rescale to intensity units (and the plan's replacement), smooth when asked, the steps before the scheme, normalize
 * each channel, the steps after; the statistics used go to `channels`. */
static int normalize(vxt_context *ctx, const norm_args *a, const vxt_plan *plan, const vxt_image *img, vxt_image *out,
                     cJSON *channels)
{
    vxt_volume raw, ov;
    vxt_image_volume(img, &raw);
    vxt_image_volume(out, &ov);
    vxt_status st = vxt_plan_rescale(ctx, plan, img, &raw, &ov);
    if (st != VXT_OK) {
        int rc = cli_fail("normalize", "rescale", st);
        return st == VXT_ERR_UNSUPPORTED ? VXT_EXIT_INPUT : rc;
    }
    int rc = a->smooth ? smooth(ctx, a, img, &ov) : 0;
    if (!rc)
        rc = steps_before(ctx, &a->steps, &ov);
    if (rc)
        return rc;
    const size_t vox = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
    for (int64_t ch = 0; ch < ov.channels; ch++) {
        vxt_volume v = ov;
        v.data = (float *)ov.data + (size_t)ch * vox;
        v.channels = 1;
        vxt_stats s = {.struct_size = sizeof s};
        double bounds[2] = {NAN, NAN};
        if ((st = vxt_plan_normalize(ctx, plan, &v, &s, bounds)) != VXT_OK) {
            char what[64];
            snprintf(what, sizeof what, "channel %lld", (long long)ch); /* the plan was checked: a compute failure */
            return cli_fail("normalize", what, st);
        }
        cJSON *j = cJSON_CreateObject();
        if (s.count) {
            cJSON_AddNumberToObject(j, "voxels", (double)s.count);
            cJSON_AddNumberToObject(j, "mean", s.mean);
            cJSON_AddNumberToObject(j, "std", s.std);
            cJSON_AddNumberToObject(j, "min", s.min);
            cJSON_AddNumberToObject(j, "max", s.max);
        }
        if (!isnan(bounds[0])) {
            cJSON_AddNumberToObject(j, "lo", bounds[0]);
            cJSON_AddNumberToObject(j, "hi", bounds[1]);
        }
        cJSON_AddItemToArray(channels, j);
    }
    return steps_after(ctx, &a->steps, &ov);
}

/* The plan's normalization, complete and consistent (its parameters given, in order), checked on one voxel before
 * the input is read. */
static int check_scheme(vxt_context *ctx, const vxt_plan *plan)
{
    float one = 1.0f;
    vxt_volume v = {&one, VXT_DTYPE_F32, 1, {1, 1, 1}};
    vxt_status st = vxt_plan_normalize(ctx, plan, &v, NULL, NULL);
    if (st == VXT_OK)
        return 0;
    cli_error("normalize", "%s", vxt_last_error());
    return st == VXT_ERR_INVALID_ARGUMENT ? VXT_EXIT_PLAN : cli_exit_of(st);
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    norm_args *a = (norm_args *)args;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, &a->plan, 0, plan);
}

/* The input, the output and a normalization named (a flag or a plan file), the output's directory. */
static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    const norm_args *a = (const norm_args *)args;
    (void)pos;
    const int steps = a->smooth || a->steps.clip || a->steps.zero_center || a->steps.window_level ||
                      cli_plan_given(&a->plan, "replace");
    if (npos != 1 || !a->out || (!a->plan.nfiles && !cli_plan_given(&a->plan, "normalization") && !steps)) {
        char names[256] = "";
        for (int k = 0; k < VXT_NORM_COUNT_; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
                     vxt_norm_name((vxt_norm)k));
        if (npos != 1 || !a->out)
            cli_error("normalize", npos != 1 ? "missing the input image" : "missing -o OUT");
        else
            cli_error("normalize", "missing --normalization NAME (%s), or a step (--replace, --smooth, --clip, "
                      "--zero-center, --window-level)", names);
        return VXT_EXIT_USAGE;
    }
    int rc = steps_check(&a->steps, plan);
    return rc ? rc : cli_check_output("normalize", "-o", a->out, "image");
}

int cmd_normalize(int argc, char **argv)
{
    norm_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    vxt_plan *plan = NULL;
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, &plan);
    a.dicom.threads = (int)a.exec.threads; /* --threads: DICOM files decoded at once too */
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(&a, plan, pos, npos))) {
        vxt_plan_destroy(plan);
        return rc;
    }
    vxt_image *img = NULL, *out = NULL;
    vxt_context *ctx = NULL;
    cJSON *channels = cJSON_CreateArray();
    double t0 = cli_seconds(), t[3];
    vxt_status st;
    if ((rc = cli_context("normalize", &a.exec, &ctx)) ||
        (rc = check_scheme(ctx, plan)) || (rc = cli_read_image("normalize", pos[0], VXT_SCALING_RAW, &a.dicom, &img)))
        goto done;
    t[0] = cli_seconds() - t0;
    vxt_volume raw;
    vxt_image_volume(img, &raw);
    if ((st = vxt_image_create(VXT_DTYPE_F32, raw.channels, raw.shape, img, &out)) != VXT_OK) {
        rc = cli_fail("normalize", "cannot create the output", st);
        goto done;
    }
    vxt_image_set_description(out, "voxtile normalize");
    double t1 = cli_seconds();
    if ((rc = normalize(ctx, &a, plan, img, out, channels)) ||
        (a.steps.window_level && (rc = steps_window_level(ctx, &a.steps, &out))))
        goto done;
    t[1] = cli_seconds() - t1;
    t1 = cli_seconds();
    if ((rc = cli_write_image("normalize", out, a.out, 0)))
        goto done;
    t[2] = cli_seconds() - t1;
    if (a.json) {
        cJSON *j = cJSON_CreateObject(), *pj = cli_plan_json(plan);
        cJSON_AddStringToObject(j, "input", pos[0]);
        cJSON_AddStringToObject(j, "output", a.out);
        cli_json_context(j, ctx);
        cJSON_AddItemToObject(j, "normalization", cJSON_DetachItemFromObject(pj, "normalization"));
        cJSON_Delete(pj);
        if (a.smooth) {
            cJSON *sm = cJSON_AddObjectToObject(j, "smooth");
            cJSON_AddItemToObject(sm, "sigma", cJSON_CreateDoubleArray(a.sigma, 3));
            cJSON_AddStringToObject(sm, "unit", a.smooth_mm ? "mm" : "voxels");
        }
        steps_json(j, &a.steps, img, cJSON_GetObjectItem(j, "normalization"));
        cJSON_AddItemToObject(j, "per_channel", channels);
        channels = NULL;
        cli_json_image(j, out);
        cJSON *s = cJSON_AddObjectToObject(j, "seconds");
        cJSON_AddNumberToObject(s, "read", t[0]);
        cJSON_AddNumberToObject(s, "normalize", t[1]);
        cJSON_AddNumberToObject(s, "write", t[2]);
        cJSON_AddNumberToObject(s, "total", cli_seconds() - t0);
        rc = cli_print_json(j);
    }
done:
    cJSON_Delete(channels);
    vxt_context_destroy(ctx);
    vxt_image_destroy(out);
    vxt_image_destroy(img);
    vxt_plan_destroy(plan);
    return rc;
}

const cli_command cmd_normalize_parsing = {&spec, sizeof(norm_args), parse, check};
