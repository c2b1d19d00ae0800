/* cmd_resample.c - `voxtile resample IN -o OUT (--spacing | --shape | --scale) X,Y,Z`: one library call
 * (vxt_resample) on a NIfTI image, keeping its geometry with the affine of the new grid.
 *
 * Every mode keeps the field of view: the new grid is placed on the old one by the resampler's grid convention
 * (--grid), and the new affine is vxt_geometry_resize() with the same convention, so that every output voxel's
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
 * Per-axis arguments are X,Y,Z in NIfTI order (i, j, k), as c3d and ANTs take them; the library's arrays are
 * (z, y, x) = (k, j, i) and are converted here. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"

static void help(void)
{
    printf("usage: voxtile resample IN.nii[.gz] -o OUT.nii[.gz] (--spacing X,Y,Z | --shape X,Y,Z | --scale X,Y,Z)\n"
           "                        [options]\n"
           "Resample a NIfTI image to a new grid over the same field of view, keeping its geometry (the affine is\n"
           "updated for the new grid: every voxel centre is where its value was sampled). X,Y,Z are in NIfTI order\n"
           "(i, j, k: the order fslhd and nibabel's shape list them); one value applies to all three axes.\n"
           "  --spacing X,Y,Z      new voxel size in mm (rounded to a whole number of voxels over the field of\n"
           "                       view; --json reports the exact one)\n"
           "  --shape X,Y,Z        new number of voxels\n"
           "  --scale X,Y,Z        zoom factors: floor(n * S) voxels\n"
           "  --interp linear|nearest   trilinear (default; output float32) or nearest (values copied, type kept)\n"
           "  --grid half-pixel|corner  half-pixel: outer voxel edges aligned (default; torch align_corners=False,\n"
           "                       c3d, nnU-Net); corner: first and last voxel centres aligned (scipy zoom)\n"
           "  --fill V             linear: samples beyond the edge blend with V (default: the edge voxels repeat)\n"
           "  --labels             a label map: nearest, never interpolated, type kept (the default for --interp\n"
           "                       nearest too)\n"
           "  --backend auto|opencl|cpu  --device INDEX|NAME  --threads N\n"
           "  --json               print a summary as JSON (seconds, backend, shapes, spacings, affine)\n"
           "Intensity images are read with their scaling applied (scl_slope/scl_inter) and written as float32; label\n"
           "maps keep their stored values, type and scaling. Every channel of a 4D image is resampled.\n"
           "Exit status: 0 ok, 1 failure, 2 usage, 3 no backend, 4 bad input, 5 output not writable.\n");
}

/* round half to even, as numpy's round and nnU-Net's shapes */
static double round_even(double x)
{
    double f = floor(x), d = x - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        return f + 1.0;
    return f;
}

int cmd_resample(int argc, char **argv)
{
    enum { O_SPACING = 1, O_SHAPE, O_SCALE, O_INTERP, O_GRID, O_FILL, O_LABELS, O_BACKEND, O_DEVICE, O_THREADS, O_JSON };
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"spacing", required_argument, NULL, O_SPACING},
                                             {"shape", required_argument, NULL, O_SHAPE},
                                             {"scale", required_argument, NULL, O_SCALE},
                                             {"interp", required_argument, NULL, O_INTERP},
                                             {"grid", required_argument, NULL, O_GRID},
                                             {"fill", required_argument, NULL, O_FILL},
                                             {"labels", no_argument, NULL, O_LABELS},
                                             {"backend", required_argument, NULL, O_BACKEND},
                                             {"device", required_argument, NULL, O_DEVICE},
                                             {"threads", required_argument, NULL, O_THREADS},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const cli_enum interps[] = {{"linear", VXT_INTERP_LINEAR}, {"nearest", VXT_INTERP_NEAREST}, {NULL, 0}};
    static const cli_enum grids[] = {{"half-pixel", VXT_ALIGN_HALF_PIXEL}, {"corner", VXT_ALIGN_CORNERS}, {NULL, 0}};
    const char *out_path = NULL, *backend = NULL, *device = NULL, *mode_flag = NULL;
    const char *interp_arg = NULL;
    long threads = 0;
    int json = 0, labels = 0, have_fill = 0, mode = 0, interp = VXT_INTERP_LINEAR, align = VXT_ALIGN_HALF_PIXEL, c;
    double fill = 0, req[3] = {0, 0, 0};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_SPACING:
        case O_SHAPE:
        case O_SCALE: {
            const char *name = c == O_SPACING ? "--spacing" : c == O_SHAPE ? "--shape" : "--scale";
            if (mode && mode != c) {
                cli_error("resample", "%s and %s: give one of --spacing, --shape, --scale", mode_flag, name);
                return VXT_EXIT_USAGE;
            }
            mode = c;
            mode_flag = name;
            int ok = cli_parse_xyz(optarg, req) && req[0] > 0 && req[1] > 0 && req[2] > 0;
            if (ok && c == O_SHAPE)
                for (int a = 0; a < 3; a++)
                    ok = ok && req[a] == floor(req[a]) && req[a] <= 1e9;
            if (!ok) {
                cli_error("resample", "%s: expected X,Y,Z (or one value) %s, got '%s'", name,
                          c == O_SPACING ? "in mm, > 0" : c == O_SHAPE ? "whole numbers of voxels >= 1" : "> 0",
                          optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        }
        case O_INTERP:
            if (!cli_enum_option("resample", "--interp", optarg, interps, &interp))
                return VXT_EXIT_USAGE;
            interp_arg = optarg;
            break;
        case O_GRID:
            if (!cli_enum_option("resample", "--grid", optarg, grids, &align))
                return VXT_EXIT_USAGE;
            break;
        case O_FILL:
            if (!cli_parse_double(optarg, &fill)) {
                cli_error("resample", "--fill: expected a number, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            have_fill = 1;
            break;
        case O_LABELS: labels = 1; break;
        case O_BACKEND:
            if (cli_backend_flag("resample", optarg))
                return VXT_EXIT_USAGE;
            backend = optarg;
            break;
        case O_DEVICE: device = optarg; break;
        case O_THREADS:
            if (cli_threads_flag("resample", optarg, &threads))
                return VXT_EXIT_USAGE;
            break;
        case O_JSON: json = 1; break;
        case 'h': help(); return VXT_EXIT_OK;
        default:
            cli_error("resample", "unknown or incomplete option '%s' (see voxtile resample --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("resample", optind >= argc ? "missing the input image" : "unexpected argument '%s'", argv[argc - 1]);
        return VXT_EXIT_USAGE;
    }
    const char *in_path = argv[optind];
    if (!out_path) {
        cli_error("resample", "missing -o OUT.nii.gz");
        return VXT_EXIT_USAGE;
    }
    if (!mode) {
        cli_error("resample", "missing the new grid: give --spacing, --shape or --scale");
        return VXT_EXIT_USAGE;
    }
    if (labels && interp_arg && interp == VXT_INTERP_LINEAR) {
        cli_error("resample", "--labels with --interp linear: label maps are never interpolated");
        return VXT_EXIT_USAGE;
    }
    const int nearest = labels || interp == VXT_INTERP_NEAREST;
    int rc = cli_check_output("resample", "-o", out_path, "nifti");
    if (rc)
        return rc;
    double t0 = cli_seconds();

    /* label maps keep their stored values (and scaling); intensities are read in physical units */
    vxt_nifti_read_options ro;
    vxt_nifti_read_options_init(&ro);
    ro.scaling = nearest ? VXT_NIFTI_SCALING_RAW : VXT_NIFTI_SCALING_AUTO;
    vxt_image *img = NULL, *out = NULL;
    vxt_context *ctx = NULL;
    if (vxt_image_read_file(in_path, &ro, &img) != VXT_OK) {
        cli_error("resample", "%s", vxt_last_error());
        return VXT_EXIT_INPUT;
    }
    double t_read = cli_seconds() - t0;
    vxt_volume in;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_geometry g, ng;
    vxt_geometry_init(&g);
    vxt_geometry_init(&ng);
    vxt_image_volume(img, &in);
    vxt_image_get_info(img, &info);
    vxt_image_get_geometry(img, &g);

    /* the new shape (volume order) */
    int64_t shape[3];
    vxt_status st = VXT_OK;
    if (mode == O_SHAPE) {
        for (int a = 0; a < 3; a++)
            shape[a] = (int64_t)req[a];
    } else if (mode == O_SCALE) {
        st = vxt_resample_shape_scale(in.shape, req, shape);
    } else if (align == VXT_ALIGN_HALF_PIXEL) {
        st = vxt_resample_shape_spacing(in.shape, g.spacing, req, shape);
    } else {
        for (int a = 0; a < 3 && st == VXT_OK; a++) {
            double m = round_even((double)(in.shape[a] - 1) * g.spacing[a] / req[a]) + 1.0;
            if (!(m >= 1 && m <= 1e12)) {
                cli_error("resample", "--spacing: %g mm gives %g voxels along %c", req[a], m, "kji"[a]);
                rc = VXT_EXIT_USAGE;
                goto done;
            }
            shape[a] = (int64_t)m;
        }
    }
    if (st != VXT_OK) {
        cli_error("resample", "%s: %s", mode_flag, vxt_last_error());
        rc = VXT_EXIT_USAGE;
        goto done;
    }
    if (align == VXT_ALIGN_CORNERS)
        for (int a = 0; a < 3; a++)
            if (in.shape[a] == 1 && shape[a] > 1) {
                cli_error("resample", "--grid corner cannot spread axis %c of 1 voxel over %lld (use half-pixel)",
                          "kji"[a], (long long)shape[a]);
                rc = VXT_EXIT_USAGE;
                goto done;
            }
    if ((st = vxt_geometry_resize(&g, in.shape, shape, (vxt_grid_align)align, &ng)) != VXT_OK) {
        rc = cli_fail_status("resample", "geometry of the new grid", st);
        goto done;
    }

    /* the output image: float32 for intensities, the input's type for label maps */
    vxt_dtype odt = nearest ? in.dtype : VXT_DTYPE_F32;
    if ((st = vxt_image_create(odt, in.channels, shape, NULL, &out)) != VXT_OK) {
        rc = cli_fail_status("resample", "cannot create the output", st);
        goto done;
    }
    if ((st = vxt_image_set_geometry(out, &ng)) != VXT_OK) {
        rc = cli_fail_status("resample", "geometry of the new grid", st);
        goto done;
    }
    if (nearest) {
        if (info.intent_code)
            vxt_image_set_intent(out, info.intent_code, info.intent_name, info.intent_p);
        if (isfinite(info.scl_slope) && info.scl_slope != 0)
            vxt_image_set_scaling(out, info.scl_slope, isfinite(info.scl_inter) ? info.scl_inter : 0.0);
    }
    vxt_image_set_description(out, info.descrip[0] ? info.descrip : "voxtile resample");
    vxt_volume ov;
    vxt_image_volume(out, &ov);

    if ((rc = cli_context("resample", backend, device, threads, &ctx)))
        goto done;
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    for (int a = 0; a < 3; a++)
        o.interp[a] = nearest ? VXT_INTERP_NEAREST : VXT_INTERP_LINEAR;
    o.align = (vxt_grid_align)align;
    if (have_fill && !nearest) { /* nearest never samples beyond the edge */
        o.boundary = VXT_BOUNDARY_CONSTANT;
        o.fill_value = fill;
    }
    double t1 = cli_seconds();
    if ((st = vxt_resample(ctx, &in, &ov, &o)) != VXT_OK) {
        rc = cli_fail_status("resample", "resampling", st);
        if (st == VXT_ERR_UNSUPPORTED)
            rc = VXT_EXIT_INPUT; /* a voxel type the resampler does not read */
        goto done;
    }
    double t_resample = cli_seconds() - t1;
    t1 = cli_seconds();
    if ((rc = cli_write_image("resample", out, out_path, info.nifti_version)))
        goto done;
    double t_write = cli_seconds() - t1;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "input", in_path);
        cJSON_AddStringToObject(j, "output", out_path);
        cli_json_context(j, ctx);
        cJSON_AddStringToObject(j, "interp", nearest ? "nearest" : "linear");
        cJSON_AddStringToObject(j, "grid", align == VXT_ALIGN_HALF_PIXEL ? "half-pixel" : "corner");
        if (mode == O_SPACING) {
            cJSON *r = cJSON_AddArrayToObject(j, "requested_spacing");
            for (int a = 2; a >= 0; a--)
                cJSON_AddItemToArray(r, cJSON_CreateNumber(req[a]));
        }
        cJSON *ij = cJSON_AddObjectToObject(j, "in");
        cli_json_image(ij, img);
        cJSON *oj = cJSON_AddObjectToObject(j, "out");
        cli_json_image(oj, out);
        cJSON *s = cJSON_AddObjectToObject(j, "seconds");
        cJSON_AddNumberToObject(s, "read", t_read);
        cJSON_AddNumberToObject(s, "resample", t_resample);
        cJSON_AddNumberToObject(s, "write", t_write);
        cJSON_AddNumberToObject(s, "total", cli_seconds() - t0);
        rc = cli_print_json(j);
    }
done:
    vxt_context_destroy(ctx);
    vxt_image_destroy(out);
    vxt_image_destroy(img);
    return rc;
}
