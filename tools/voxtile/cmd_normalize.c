/* cmd_normalize.c - `voxtile normalize IN -o OUT --normalization NAME [parameters]`: the normalization stage of
 * `voxtile run` on its own, with the same flags and plan fields. The stored values are first rescaled to their
 * intensity units (the image's scaling) in float32, as run's rescale stage does, then smoothed when --smooth asks
 * (vxt_gaussian_smooth, in place), then each channel is normalized in place by vxt_plan_normalize(); the output is
 * float32 with the input's geometry exactly. Statistics are per channel (docs/PREPROCESSING.md says how they are
 * computed: exactly, and the same on every backend). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_OUT = 1, O_JSON, O_SMOOTH };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "output"},
    {"output", 'o', "OUT", O_OUT, "the normalized image, float32 (.nii, .nii.gz or .npy)"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON (the statistics used, seconds, ...)"},
    {NULL, 0, NULL, 0, "smoothing"},
    {"smooth", 0, "SIGMA[mm]", O_SMOOTH, "Gaussian smoothing first (scipy gaussian_filter, 'reflect'): sigma in "
                                         "voxels, or mm with a trailing mm; S or Z,Y,X, each 0..1000"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_norm_flags, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "normalize",
    "normalize IN -o OUT --normalization NAME [--lo L --hi H | --mean M --std S | --percentiles P,Q] [--smooth SIGMA]",
    "Normalize intensities with one of voxtile run's schemes (docs/PLAN.md): window clip((x - lo) / (hi - lo), 0, 1);\n"
    "ct (nnU-Net's CTNormalization) (clip(x, lo, hi) - mean) / max(std, 1e-8); zscore and zscore-nonzero\n"
    "(x - mean) / max(std, 1e-8) over every or the non-zero voxels; minmax (x - min) / max(max - min, 1e-8);\n"
    "percentile: clip to the P-th and Q-th percentiles (numpy's linear method, exact). The scheme may also come\n"
    "from a plan file. --smooth smooths the image first (on its own: --normalization none); its statistics are\n"
    "those of the smoothed image.",
    groups, 1};

typedef struct norm_args {
    const char *out;
    int json, smooth, smooth_mm; /* --smooth given; its sigma in mm */
    double sigma[3];
    cli_exec exec;
    cli_dicom dicom;
    cli_plan_args plan;
} norm_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    norm_args *a = (norm_args *)user;
    int rc = cli_shared_flag("normalize", &a->exec, &a->plan, &a->dicom, f, v);
    if (rc != -2)
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

/* Rescale to intensity units, smooth when asked, then normalize each channel; the statistics used go to `channels`. */
static int normalize(vxt_context *ctx, const norm_args *a, const vxt_plan *plan, const vxt_image *img, vxt_image *out,
                     cJSON *channels)
{
    vxt_volume raw, ov;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_volume(img, &raw);
    vxt_image_volume(out, &ov);
    vxt_image_get_info(img, &info);
    double slope = 1.0, inter = 0.0;
    if (!info.scaled && isfinite(info.scl_slope) && info.scl_slope != 0.0) {
        slope = info.scl_slope;
        inter = isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    }
    vxt_status st = vxt_rescale(ctx, &raw, &ov, slope, inter);
    if (st != VXT_OK) {
        int rc = cli_fail("normalize", "rescale", st);
        return st == VXT_ERR_UNSUPPORTED ? VXT_EXIT_INPUT : rc;
    }
    int rc = a->smooth ? smooth(ctx, a, img, &ov) : 0;
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
    return 0;
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
    (void)plan, (void)pos;
    if (npos != 1 || !a->out || (!a->plan.nfiles && !cli_plan_given(&a->plan, "normalization"))) {
        char names[256] = "";
        for (int k = 0; k < VXT_NORM_COUNT_; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
                     vxt_norm_name((vxt_norm)k));
        if (npos != 1 || !a->out)
            cli_error("normalize", npos != 1 ? "missing the input image" : "missing -o OUT");
        else
            cli_error("normalize", "missing --normalization NAME (%s)", names);
        return VXT_EXIT_USAGE;
    }
    return cli_check_output("normalize", "-o", a->out, "image");
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
    if ((rc = normalize(ctx, &a, plan, img, out, channels)))
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
