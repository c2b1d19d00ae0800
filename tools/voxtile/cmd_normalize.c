/* cmd_normalize.c - `voxtile normalize IN -o OUT --scheme NAME [parameters]`: the intensity normalizations of
 * `voxtile run` as a tool of its own. The stored values are first rescaled to physical units (scl_slope,
 * scl_inter) in float32, as `voxtile run`'s rescale stage does, then each channel is normalized in place with
 * one library call; the output is float32 with the input's geometry exactly (both forms, their codes, pixdim,
 * units: vxt_image_create with the input as reference).
 *
 *   ct-window       --lo L --hi H        clip((x - L) / (H - L), 0, 1)                   vxt_window
 *   percentile      [--percentiles P,Q]  clip(x, percentile P, percentile Q)            vxt_percentile_clip
 *   zscore                               (x - mean) / max(std, 1e-8) over every voxel    vxt_zscore
 *   zscore-nonzero                       the same over the non-zero voxels; zeros stay   vxt_zscore
 *   minmax                               (x - min) / max(max - min, 1e-8)                vxt_minmax_normalize
 *   nnunet-ct       --lo --hi --mean --std   (clip(x, lo, hi) - mean) / max(std, 1e-8)   vxt_ct_normalize
 *
 * Statistics are per channel (docs/PREPROCESSING.md says how they are computed: exactly, and the same on every
 * backend). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"

static void help(void)
{
    printf("usage: voxtile normalize IN.nii[.gz] -o OUT.nii[.gz] --scheme NAME [parameters] [options]\n"
           "Normalize intensities with one of voxtile run's schemes. The stored values are rescaled to physical\n"
           "units first (scl_slope, scl_inter); the output is float32 with the input's geometry, every channel\n"
           "normalized on its own.\n"
           "  --scheme ct-window --lo L --hi H       clip((x - L) / (H - L), 0, 1), e.g. -1000 and 1000 HU\n"
           "  --scheme percentile [--percentiles P,Q]   clip to the P-th and Q-th percentiles (default 0.5,99.5;\n"
           "                                         numpy's linear method, exact)\n"
           "  --scheme zscore                        (x - mean) / max(std, 1e-8), over every voxel\n"
           "  --scheme zscore-nonzero                the same over the non-zero voxels; zeros stay zero\n"
           "  --scheme minmax                        (x - min) / max(max - min, 1e-8)\n"
           "  --scheme nnunet-ct --lo L --hi H --mean M --std S   nnU-Net's CTNormalization: (clip(x, L, H) - M) /\n"
           "                                         max(S, 1e-8); L, H, M, S are plans.json's percentile_00_5,\n"
           "                                         percentile_99_5, mean and std of the foreground\n"
           "  --backend auto|opencl|cpu  --device INDEX|NAME  --threads N\n"
           "  --json                                 print a summary as JSON (the statistics used, seconds, ...)\n"
           "Exit status: 0 ok, 1 failure, 2 usage, 3 no backend, 4 bad input, 5 output not writable.\n");
}

enum scheme { S_WINDOW, S_PERCENTILE, S_ZSCORE, S_ZSCORE_NONZERO, S_MINMAX, S_NNUNET_CT };
static const cli_enum schemes[] = {{"ct-window", S_WINDOW}, {"percentile", S_PERCENTILE}, {"zscore", S_ZSCORE},
                                   {"zscore-nonzero", S_ZSCORE_NONZERO}, {"minmax", S_MINMAX},
                                   {"nnunet-ct", S_NNUNET_CT}, {NULL, 0}};

/* Parameter flags and the schemes that take them. */
enum { P_LO = 1, P_HI = 2, P_MEAN = 4, P_STD = 8, P_PERC = 16 };
static unsigned takes(int s)
{
    return s == S_WINDOW ? P_LO | P_HI : s == S_NNUNET_CT ? P_LO | P_HI | P_MEAN | P_STD : s == S_PERCENTILE ? P_PERC : 0;
}
static unsigned needs(int s)
{
    return s == S_PERCENTILE ? 0 : takes(s);
}

static cJSON *channel_json(int scheme, const vxt_stats *stats, const double bounds[2])
{
    cJSON *j = cJSON_CreateObject();
    if (scheme == S_ZSCORE || scheme == S_ZSCORE_NONZERO) {
        cJSON_AddNumberToObject(j, "voxels", (double)stats->count);
        cJSON_AddNumberToObject(j, "mean", stats->mean);
        cJSON_AddNumberToObject(j, "std", stats->std);
    } else if (scheme == S_MINMAX) {
        cJSON_AddNumberToObject(j, "min", stats->min);
        cJSON_AddNumberToObject(j, "max", stats->max);
    } else if (scheme == S_PERCENTILE) {
        cJSON_AddNumberToObject(j, "lo", bounds[0]);
        cJSON_AddNumberToObject(j, "hi", bounds[1]);
    }
    return j;
}

int cmd_normalize(int argc, char **argv)
{
    enum { O_SCHEME = 1, O_LO, O_HI, O_MEAN, O_STD, O_PERC, O_BACKEND, O_DEVICE, O_THREADS, O_JSON };
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"scheme", required_argument, NULL, O_SCHEME},
                                             {"lo", required_argument, NULL, O_LO},
                                             {"hi", required_argument, NULL, O_HI},
                                             {"mean", required_argument, NULL, O_MEAN},
                                             {"std", required_argument, NULL, O_STD},
                                             {"percentiles", required_argument, NULL, O_PERC},
                                             {"backend", required_argument, NULL, O_BACKEND},
                                             {"device", required_argument, NULL, O_DEVICE},
                                             {"threads", required_argument, NULL, O_THREADS},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const char *pnames[5] = {"--lo", "--hi", "--mean", "--std", "--percentiles"};
    const char *out_path = NULL, *backend = NULL, *device = NULL;
    long threads = 0;
    int json = 0, scheme = -1, c;
    unsigned given = 0;
    double lo = 0, hi = 0, mean = 0, std = 0, plo = 0.5, phi = 99.5, d;
    opterr = 0;
    optind = 1;
    int idx = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, &idx)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_SCHEME:
            if (!cli_enum_option("normalize", "--scheme", optarg, schemes, &scheme))
                return VXT_EXIT_USAGE;
            break;
        case O_LO:
        case O_HI:
        case O_MEAN:
        case O_STD:
            if (!cli_parse_double(optarg, &d)) {
                cli_error("normalize", "--%s: expected a number, got '%s'", longopts[idx].name, optarg);
                return VXT_EXIT_USAGE;
            }
            *(c == O_LO ? &lo : c == O_HI ? &hi : c == O_MEAN ? &mean : &std) = d;
            given |= c == O_LO ? P_LO : c == O_HI ? P_HI : c == O_MEAN ? P_MEAN : P_STD;
            break;
        case O_PERC: {
            double pr[3];
            int n = 0;
            if (!cli_parse_axes_f64(optarg, pr, 0, &n) || n != 2 || pr[1] < 0 || pr[2] > 100 || !(pr[1] < pr[2])) {
                cli_error("normalize", "--percentiles: expected LO,HI with 0 <= LO < HI <= 100, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            plo = pr[1];
            phi = pr[2];
            given |= P_PERC;
            break;
        }
        case O_BACKEND:
            if (cli_backend_flag("normalize", optarg))
                return VXT_EXIT_USAGE;
            backend = optarg;
            break;
        case O_DEVICE: device = optarg; break;
        case O_THREADS:
            if (cli_threads_flag("normalize", optarg, &threads))
                return VXT_EXIT_USAGE;
            break;
        case O_JSON: json = 1; break;
        case 'h': help(); return VXT_EXIT_OK;
        default:
            cli_error("normalize", "unknown or incomplete option '%s' (see voxtile normalize --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("normalize", optind >= argc ? "missing the input image" : "unexpected argument '%s'", argv[argc - 1]);
        return VXT_EXIT_USAGE;
    }
    const char *in_path = argv[optind];
    if (!out_path) {
        cli_error("normalize", "missing -o OUT.nii.gz");
        return VXT_EXIT_USAGE;
    }
    if (scheme < 0) {
        char names[256];
        cli_enum_names(schemes, names, sizeof names);
        cli_error("normalize", "missing --scheme (one of: %s)", names);
        return VXT_EXIT_USAGE;
    }
    const char *sname = schemes[scheme].name;
    for (int b = 0; b < 5; b++) {
        if ((given & (1u << b)) && !(takes(scheme) & (1u << b))) {
            cli_error("normalize", "%s does not apply to --scheme %s", pnames[b], sname);
            return VXT_EXIT_USAGE;
        }
        if ((needs(scheme) & (1u << b)) && !(given & (1u << b))) {
            cli_error("normalize", "--scheme %s needs %s", sname, pnames[b]);
            return VXT_EXIT_USAGE;
        }
    }
    if (scheme == S_WINDOW && !(hi > lo)) {
        cli_error("normalize", "--hi %g must be greater than --lo %g", hi, lo);
        return VXT_EXIT_USAGE;
    }
    if (scheme == S_NNUNET_CT && !(hi >= lo)) {
        cli_error("normalize", "--hi %g must not be less than --lo %g", hi, lo);
        return VXT_EXIT_USAGE;
    }
    if (scheme == S_NNUNET_CT && !(std >= 0)) {
        cli_error("normalize", "--std %g must be >= 0", std);
        return VXT_EXIT_USAGE;
    }
    int rc = cli_check_output("normalize", "-o", out_path, "nifti");
    if (rc)
        return rc;
    double t0 = cli_seconds();
    vxt_image *img = NULL, *out = NULL;
    vxt_context *ctx = NULL;
    cJSON *channels = NULL;
    if ((rc = cli_read_input("normalize", in_path, &img))) /* the stored values: rescaled below */
        return rc;
    double t_read = cli_seconds() - t0;
    vxt_volume raw, ov;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_volume(img, &raw);
    vxt_image_get_info(img, &info);
    vxt_status st = vxt_image_create(VXT_DTYPE_F32, raw.channels, raw.shape, img, &out);
    if (st != VXT_OK) {
        rc = cli_fail_status("normalize", "cannot create the output", st);
        goto done;
    }
    char desc[80];
    snprintf(desc, sizeof desc, "voxtile normalize %s", sname);
    vxt_image_set_description(out, desc);
    vxt_image_volume(out, &ov);
    if ((rc = cli_context("normalize", backend, device, threads, &ctx)))
        goto done;

    double t1 = cli_seconds();
    double slope = 1.0, inter = 0.0;
    if (isfinite(info.scl_slope) && info.scl_slope != 0.0) {
        slope = info.scl_slope;
        inter = isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    }
    if ((st = vxt_rescale(ctx, &raw, &ov, slope, inter)) != VXT_OK) {
        rc = cli_fail_status("normalize", "rescale", st);
        if (st == VXT_ERR_UNSUPPORTED)
            rc = VXT_EXIT_INPUT;
        goto done;
    }
    channels = cJSON_CreateArray();
    const size_t vox = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
    for (int64_t ch = 0; ch < ov.channels; ch++) {
        vxt_volume v = ov;
        v.data = (float *)ov.data + (size_t)ch * vox;
        v.channels = 1;
        vxt_stats stats = {.struct_size = sizeof stats};
        double bounds[2] = {0, 0};
        switch (scheme) {
        case S_WINDOW: st = vxt_window(ctx, &v, &v, lo, hi); break;
        case S_PERCENTILE: st = vxt_percentile_clip(ctx, &v, VXT_SELECT_ALL, NULL, plo, phi, &v, bounds); break;
        case S_ZSCORE: st = vxt_zscore(ctx, &v, VXT_SELECT_ALL, NULL, &v, &stats); break;
        case S_ZSCORE_NONZERO: st = vxt_zscore(ctx, &v, VXT_SELECT_NONZERO, NULL, &v, &stats); break;
        case S_MINMAX: st = vxt_minmax_normalize(ctx, &v, VXT_SELECT_ALL, NULL, &v, &stats); break;
        default: st = vxt_ct_normalize(ctx, &v, &v, lo, hi, mean, std); break;
        }
        if (st != VXT_OK) {
            char what[64];
            snprintf(what, sizeof what, "%s, channel %lld", sname, (long long)ch);
            rc = cli_fail_status("normalize", what, st);
            goto done;
        }
        cJSON_AddItemToArray(channels, channel_json(scheme, &stats, bounds));
    }
    double t_norm = cli_seconds() - t1;
    t1 = cli_seconds();
    if ((rc = cli_write_image("normalize", out, out_path, 0)))
        goto done;
    double t_write = cli_seconds() - t1;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "input", in_path);
        cJSON_AddStringToObject(j, "output", out_path);
        cli_json_context(j, ctx);
        cJSON_AddStringToObject(j, "scheme", sname);
        cJSON *par = cJSON_AddObjectToObject(j, "parameters");
        if (takes(scheme) & P_LO) {
            cJSON_AddNumberToObject(par, "lo", lo);
            cJSON_AddNumberToObject(par, "hi", hi);
        }
        if (takes(scheme) & P_MEAN) {
            cJSON_AddNumberToObject(par, "mean", mean);
            cJSON_AddNumberToObject(par, "std", std);
        }
        if (scheme == S_PERCENTILE) {
            cJSON *pc = cJSON_AddArrayToObject(par, "percentiles");
            cJSON_AddItemToArray(pc, cJSON_CreateNumber(plo));
            cJSON_AddItemToArray(pc, cJSON_CreateNumber(phi));
        }
        cJSON_AddNumberToObject(j, "scl_slope", slope);
        cJSON_AddNumberToObject(j, "scl_inter", inter);
        cJSON_AddItemToObject(j, "per_channel", channels);
        channels = NULL;
        cli_json_image(j, out);
        cJSON *s = cJSON_AddObjectToObject(j, "seconds");
        cJSON_AddNumberToObject(s, "read", t_read);
        cJSON_AddNumberToObject(s, "normalize", t_norm);
        cJSON_AddNumberToObject(s, "write", t_write);
        cJSON_AddNumberToObject(s, "total", cli_seconds() - t0);
        rc = cli_print_json(j);
    }
done:
    cJSON_Delete(channels);
    vxt_context_destroy(ctx);
    vxt_image_destroy(out);
    vxt_image_destroy(img);
    return rc;
}
