/* cmd_resample.c - `voxtile resample IN -o OUT (--spacing | --shape | --scale) Z,Y,X`: one library call
 * (vxt_resample) on an image, keeping its geometry with the affine of the new grid.
 *
 * Every mode keeps the field of view: the new grid is placed on the old one by the resampler's grid alignment
 * (--align), and the new affine is vxt_geometry_resize() with the same alignment, so that every output voxel's
 * centre is, in world millimetres, exactly where the resampler took its value from:
 *
 *   half-pixel  new voxel x' samples old voxel coordinate (x' + 0.5) n/m - 0.5 (outer edges aligned; torch
 *               align_corners=False, c3d, nnU-Net, `voxtile run`'s resample stage); voxel size spacing n/m
 *   corner      x' samples x' (n - 1)/(m - 1) (first and last centres aligned; scipy zoom, torch
 *               align_corners=True); voxel size spacing (n - 1)/(m - 1)
 *
 * The new shape m: --shape gives it; --scale S gives floor(n S) (torch); --spacing gives nnU-Net's
 * round_half_even(n spacing / new) on the half-pixel grid and round_half_even((n - 1) spacing / new) + 1 on the
 * corner grid. The voxel size written is the one above -- the requested spacing rounded to a whole number of
 * voxels over the same field of view (what c3d's -resample-mm does) -- and --json reports both.
 *
 * --anti-alias smooths before it shrinks (vxt_resample_options.anti_alias, skimage's sigma), so that a downsampled
 * image does not alias; axes that are not downsampled are not smoothed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_OUT = 1, O_SPACING, O_SHAPE, O_SCALE, O_INTERP, O_ALIGN, O_FILL, O_BOUNDARY, O_CLIP, O_ANTI_ALIAS, O_JSON };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "the new grid (one of)"},
    {"spacing", 0, "Z,Y,X", O_SPACING, "new voxel size in mm (rounded to a whole number of voxels over the field "
                                       "of view; --json reports the exact one)"},
    {"shape", 0, "Z,Y,X", O_SHAPE, "new number of voxels"},
    {"scale", 0, "Z,Y,X", O_SCALE, "zoom factors: floor(n * S) voxels"},
    {NULL, 0, NULL, 0, "resampling"},
    {"interp", 0, "linear|nearest|cubic", O_INTERP, "trilinear (default; output float32), nearest (label maps: "
                                                    "values copied, never interpolated, type and scaling kept) or "
                                                    "cubic (B-spline, order 3: scipy zoom(order=3), skimage "
                                                    "resize(order=3); output float32)"},
    {"align", 0, "NAME", O_ALIGN, "{align}: outer voxel edges aligned (default; torch align_corners=False, c3d, "
                                  "nnU-Net, scipy grid_mode=True) or first and last voxel centres aligned (scipy "
                                  "zoom's default)"},
    {"fill", 0, "V", O_FILL, "samples beyond the edge blend with V (--boundary constant; default: the edge voxels "
                             "repeat)"},
    {"boundary", 0, "NAME", O_BOUNDARY, "what lies beyond the edge: clamp (the edge voxels repeat; scipy "
                                        "'nearest'; default), constant (--fill; scipy 'grid-constant'), mirror or "
                                        "grid-mirror (cubic: scipy's modes of those names)"},
    {"clip", 0, NULL, O_CLIP, "cubic: clip the output to the input's range, as skimage resize and nnU-Net do "
                              "(a spline overshoots at edges)"},
    {"anti-alias", 0, NULL, O_ANTI_ALIAS, "linear or cubic: smooth before downsampling (skimage resize's "
                                          "anti_aliasing): a Gaussian of sigma max(0, (n/m - 1)/2) voxels per axis"},
    {NULL, 0, NULL, 0, "output"},
    {"output", 'o', "OUT", O_OUT, "the resampled image (.nii, .nii.gz or .npy)"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON (seconds, backend, shapes, spacings, affine)"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "resample", "resample IN -o OUT (--spacing Z,Y,X | --shape Z,Y,X | --scale Z,Y,X) [options]",
    "Resample an image to a new grid over the same field of view, keeping its geometry (the affine is updated for\n"
    "the new grid: every voxel centre is where its value was sampled). Z,Y,X is the array's order (for a NIfTI\n"
    "file k,j,i); one value applies to every axis. Intensity images are read with their scaling applied and\n"
    "written as float32; every channel of a 4D image is resampled.",
    groups, 1};

typedef struct res_args {
    const char *out, *mode_flag;
    int mode, json, have_fill, have_boundary, clip, anti_alias;
    vxt_boundary boundary;
    double req[3], fill;
    vxt_interp interp;
    vxt_grid_align align;
    cli_exec exec;
    cli_dicom dicom;
} res_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    res_args *a = (res_args *)user;
    int rc = cli_shared_flag("resample", &a->exec, NULL, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    switch (f->id) {
    case O_OUT: a->out = v; return 0;
    case O_JSON: a->json = 1; return 0;
    case O_ANTI_ALIAS: a->anti_alias = 1; return 0;
    case O_INTERP:
        if (vxt_interp_parse(v, &a->interp) != VXT_OK || a->interp == VXT_INTERP_NEAREST_FLOOR) {
            char shown[96];
            snprintf(shown, sizeof shown, "%s", v);
            cli_error("resample", "--interp: unknown interpolation '%s' (expected one of: linear, nearest, cubic)",
                      shown);
            return VXT_EXIT_USAGE;
        }
        return 0;
    case O_BOUNDARY:
        if (vxt_boundary_parse(v, &a->boundary) != VXT_OK) {
            cli_error("resample", "--boundary: %s", vxt_last_error());
            return VXT_EXIT_USAGE;
        }
        a->have_boundary = 1;
        return 0;
    case O_CLIP:
        a->clip = 1;
        return 0;
    case O_ALIGN:
        if (vxt_grid_align_parse(v, &a->align) != VXT_OK) {
            cli_error("resample", "--align: %s", vxt_last_error());
            return VXT_EXIT_USAGE;
        }
        return 0;
    case O_FILL:
        a->have_fill = 1;
        if (cli_parse_double(v, &a->fill))
            return 0;
        cli_error("resample", "--fill: expected a number, got '%s'", v);
        return VXT_EXIT_USAGE;
    default:
        break;
    }
    if (a->mode && a->mode != f->id) {
        cli_error("resample", "--%s and --%s: give one of --spacing, --shape, --scale", a->mode_flag, f->name);
        return VXT_EXIT_USAGE;
    }
    a->mode = f->id;
    a->mode_flag = f->name;
    int ok = cli_parse_zyx(v, a->req, NULL) && a->req[0] > 0 && a->req[1] > 0 && a->req[2] > 0;
    for (int k = 0; ok && f->id == O_SHAPE && k < 3; k++)
        ok = a->req[k] == floor(a->req[k]) && a->req[k] <= 1e9;
    if (!ok) {
        cli_error("resample", "--%s: expected Z,Y,X (or one value) %s, got '%s'", f->name,
                  f->id == O_SPACING ? "in mm, > 0" : f->id == O_SHAPE ? "whole numbers of voxels >= 1" : "> 0", v);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* round half to even, as numpy's round and nnU-Net's shapes */
static double round_even(double x)
{
    double f = floor(x), d = x - f;
    return d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0) ? f + 1.0 : f;
}

/* The new shape (z, y, x); an exit status. */
static int new_shape(const res_args *a, const int64_t in[3], const double spacing[3], int64_t shape[3])
{
    vxt_status st = VXT_OK;
    if (a->mode == O_SHAPE) {
        for (int k = 0; k < 3; k++)
            shape[k] = (int64_t)a->req[k];
    } else if (a->mode == O_SCALE) {
        st = vxt_resample_shape_scale(in, a->req, shape);
    } else if (a->align == VXT_ALIGN_HALF_PIXEL) {
        st = vxt_resample_shape_spacing(in, spacing, a->req, shape);
    } else {
        for (int k = 0; k < 3; k++) {
            double m = round_even((double)(in[k] - 1) * spacing[k] / a->req[k]) + 1.0;
            if (!(m >= 1 && m <= 1e12)) {
                cli_error("resample", "--spacing: %g mm gives %g voxels along axis %c", a->req[k], m, "zyx"[k]);
                return VXT_EXIT_USAGE;
            }
            shape[k] = (int64_t)m;
        }
    }
    if (st != VXT_OK) {
        cli_error("resample", "--%s: %s", a->mode_flag, vxt_last_error());
        return VXT_EXIT_USAGE;
    }
    for (int k = 0; a->align == VXT_ALIGN_CORNERS && k < 3; k++)
        if (in[k] == 1 && shape[k] > 1) {
            cli_error("resample", "--align corner cannot spread axis %c of 1 voxel over %lld (use half-pixel)",
                      "zyx"[k], (long long)shape[k]);
            return VXT_EXIT_USAGE;
        }
    return 0;
}

/* The output image: the new grid's geometry; float32 for intensities, the input's type (intent and scaling kept)
 * for label maps. */
static int make_output(const res_args *a, const vxt_image *img, const int64_t shape[3], vxt_image **out)
{
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    vxt_geometry g, ng;
    vxt_geometry_init(&g);
    vxt_geometry_init(&ng);
    vxt_image_get_info(img, &info);
    vxt_nifti_get_info(img, &ni);
    vxt_image_get_geometry(img, &g);
    const int nearest = a->interp == VXT_INTERP_NEAREST;
    vxt_status st = vxt_geometry_resize(&g, info.shape, shape, a->align, &ng);
    if (st == VXT_OK)
        st = vxt_image_create(nearest ? info.dtype : VXT_DTYPE_F32, info.channels, shape, NULL, out);
    if (st == VXT_OK)
        st = vxt_image_set_geometry(*out, &ng);
    if (st != VXT_OK)
        return cli_fail("resample", "the new grid", st);
    if (nearest && ni.intent_code)
        vxt_nifti_set_intent(*out, ni.intent_code, ni.intent_name, ni.intent_p);
    if (nearest && isfinite(info.scl_slope) && info.scl_slope != 0)
        vxt_image_set_scaling(*out, info.scl_slope, isfinite(info.scl_inter) ? info.scl_inter : 0.0);
    vxt_image_set_description(*out, info.description[0] ? info.description : "voxtile resample");
    return 0;
}

static int summary(const res_args *a, const char *in_path, vxt_context *ctx, const vxt_image *img,
                   const vxt_image *out, const double s[4])
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "input", in_path);
    cJSON_AddStringToObject(j, "output", a->out);
    cli_json_context(j, ctx);
    cJSON_AddStringToObject(j, "interp", vxt_interp_name(a->interp));
    cJSON_AddStringToObject(j, "align", vxt_grid_align_name(a->align));
    if (a->interp != VXT_INTERP_NEAREST)
        cJSON_AddStringToObject(j, "boundary", vxt_boundary_name(a->have_fill ? VXT_BOUNDARY_CONSTANT : a->boundary));
    if (a->interp == VXT_INTERP_CUBIC)
        cJSON_AddBoolToObject(j, "clip", a->clip);
    if (a->mode == O_SPACING)
        cJSON_AddItemToObject(j, "requested_spacing", cJSON_CreateDoubleArray(a->req, 3));
    vxt_volume iv, ov;
    double sigma[3];
    vxt_image_volume(img, &iv);
    vxt_image_volume(out, &ov);
    if (a->anti_alias && vxt_antialias_sigma(iv.shape, ov.shape, sigma) == VXT_OK)
        cJSON_AddItemToObject(j, "anti_alias_sigma", cJSON_CreateDoubleArray(sigma, 3));
    cli_json_image(cJSON_AddObjectToObject(j, "in"), img);
    cli_json_image(cJSON_AddObjectToObject(j, "out"), out);
    cJSON *t = cJSON_AddObjectToObject(j, "seconds");
    cJSON_AddNumberToObject(t, "read", s[0]);
    cJSON_AddNumberToObject(t, "resample", s[1]);
    cJSON_AddNumberToObject(t, "write", s[2]);
    cJSON_AddNumberToObject(t, "total", s[3]);
    return cli_print_json(j);
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    res_args *a = (res_args *)args;
    (void)plan;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, NULL, 0, NULL);
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    const res_args *a = (const res_args *)args;
    int rc;
    (void)plan, (void)pos;
    if (npos != 1 || !a->out || !a->mode) {
        cli_error("resample", npos != 1 ? "missing the input image" : !a->out ? "missing -o OUT"
                                                          : "missing the new grid: give --spacing, --shape or --scale");
        return VXT_EXIT_USAGE;
    }
    if ((rc = cli_check_output("resample", "-o", a->out, "image")))
        return rc;
    /* nearest neighbours never sample beyond the edge: a fill value or a boundary would do nothing */
    if (a->interp == VXT_INTERP_NEAREST && (a->have_fill || a->have_boundary)) {
        cli_error("resample", "--%s applies to --interp linear or cubic (nearest neighbours never sample beyond the "
                  "edge)", a->have_fill ? "fill" : "boundary");
        return VXT_EXIT_USAGE;
    }
    if (a->have_fill && a->have_boundary && a->boundary != VXT_BOUNDARY_CONSTANT) {
        cli_error("resample", "--fill is the value of --boundary constant, not of %s", vxt_boundary_name(a->boundary));
        return VXT_EXIT_USAGE;
    }
    if (a->have_boundary && (a->boundary == VXT_BOUNDARY_MIRROR || a->boundary == VXT_BOUNDARY_GRID_MIRROR) &&
        a->interp != VXT_INTERP_CUBIC) {
        cli_error("resample", "--boundary %s needs --interp cubic", vxt_boundary_name(a->boundary));
        return VXT_EXIT_USAGE;
    }
    if (a->clip && a->interp != VXT_INTERP_CUBIC) {
        cli_error("resample", "--clip applies to --interp cubic (linear and nearest never leave the input's range)");
        return VXT_EXIT_USAGE;
    }
    /* nearest keeps label values: smoothing would mix them */
    if (a->interp == VXT_INTERP_NEAREST && a->anti_alias) {
        cli_error("resample", "--anti-alias applies to --interp linear or cubic (nearest copies label values, never "
                  "mixes)");
        return VXT_EXIT_USAGE;
    }
    return 0;
}

int cmd_resample(int argc, char **argv)
{
    res_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, NULL);
    a.dicom.threads = (int)a.exec.threads; /* --threads: DICOM files decoded at once too */
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(&a, NULL, pos, npos)))
        return rc;
    const int nearest = a.interp == VXT_INTERP_NEAREST;
    double t[4], t0 = cli_seconds();
    vxt_image *img = NULL, *out = NULL;
    vxt_context *ctx = NULL;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    int64_t shape[3];
    vxt_volume in, ov;
    /* label maps keep their stored values (and scaling); intensities are read in their units */
    if ((rc = cli_read_image("resample", pos[0], nearest ? VXT_SCALING_RAW : VXT_SCALING_AUTO, &a.dicom, &img)))
        return rc;
    t[0] = cli_seconds() - t0;
    vxt_image_get_info(img, &info);
    vxt_nifti_get_info(img, &ni);
    vxt_image_volume(img, &in);
    if ((rc = new_shape(&a, info.shape, info.spacing, shape)) || (rc = make_output(&a, img, shape, &out)) ||
        (rc = cli_context("resample", &a.exec, &ctx)))
        goto done;
    vxt_image_volume(out, &ov);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    for (int k = 0; k < 3; k++)
        o.interp[k] = a.interp;
    o.align = a.align;
    if (a.have_boundary)
        o.boundary = a.boundary;
    if (a.have_fill) {
        o.boundary = VXT_BOUNDARY_CONSTANT;
        o.fill_value = a.fill;
    }
    if (a.clip)
        o.clip = VXT_CLIP_INPUT_RANGE;
    o.anti_alias = a.anti_alias;
    double t1 = cli_seconds();
    vxt_status st = vxt_resample(ctx, &in, &ov, &o);
    if (st != VXT_OK) {
        rc = st == VXT_ERR_UNSUPPORTED ? (cli_fail("resample", "resampling", st), VXT_EXIT_INPUT)
                                       : cli_fail("resample", "resampling", st);
        goto done;
    }
    t[1] = cli_seconds() - t1;
    t1 = cli_seconds();
    if ((rc = cli_write_image("resample", out, a.out, info.format == VXT_FORMAT_NIFTI ? ni.nifti_version : 0)))
        goto done;
    t[2] = cli_seconds() - t1;
    t[3] = cli_seconds() - t0;
    if (a.json)
        rc = summary(&a, pos[0], ctx, img, out, t);
done:
    vxt_context_destroy(ctx);
    vxt_image_destroy(out);
    vxt_image_destroy(img);
    return rc;
}

const cli_command cmd_resample_parsing = {&spec, sizeof(res_args), parse, check};
