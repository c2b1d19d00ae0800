/* cmd_run.c - `voxtile run IN -o OUT`: the whole pipeline on a NIfTI file (pipeline.c), with a plan from a file,
 * from nnU-Net's plans.json, and/or from flags. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"
#include "run_plan.h"

static void help(void)
{
    printf("usage: voxtile run IN.nii[.gz] -o OUT.nii[.gz] [--plan PLAN.json | --nnunet DIR --configuration NAME]\n"
           "                   [options]\n"
           "Load, rescale to stored units, resample to the model's spacing, normalize, run the model over "
           "overlapping\ntiles, blend them, activate, resample back to the input's grid and write the labels "
           "with the input's\ngeometry. Plan fields (docs/PLAN.md) come from --plan or --nnunet, then from these "
           "flags. Per-axis\nvalues are Z,Y,X (the array's order, nnU-Net's): for a NIfTI file k,j,i.\n"
           "model:\n"
           "  --model SPEC            identity | bands:E1,E2,... (a demonstration) | plugin:PATH.so\n"
           "  --model-config STR      configuration string for the model (plugins: their own syntax)\n"
           "  --member SPEC[@CONFIG]  an ensemble member (repeat; replaces --model)\n"
           "preprocessing:\n"
           "  --spacing Z,Y,X | Y,X | none  the model's voxel spacing in mm (Y,X: a 2D model's, the spacing\n"
           "                          between slices kept; none: keep the input's)\n"
           "  --anisotropic nnunet|off   nearest along the coarse axis when anisotropy > 3 (nnU-Net)\n"
           "  --normalization none|window|ct|zscore|zscore-nonzero|minmax|percentile\n"
           "  --norm-lo V --norm-hi V --norm-mean V --norm-std V   window and ct parameters\n"
           "  --percentiles LO,HI     percentile clip bounds (default 0.5,99.5)\n"
           "  --normalize-first       normalize before resampling (nnU-Net's order)\n"
           "sliding window (on the model's grid, whose shape follows from the input and --spacing):\n"
           "  --roi Z,Y,X | Y,X | N   tile size (Y,X: a 2D model's; N: a cube)\n"
           "  --grid monai|nnunet|voxels   tile placement (default monai)\n"
           "  --overlap F             monai: overlap fraction in [0, 1), all axes (default 0.5)\n"
           "  --step F                nnunet: step as a fraction of the ROI in (0, 1] (default 0.5)\n"
           "  --overlap-voxels N      voxels: overlap in voxels (default 0)\n"
           "  --pad constant|replicate|reflect|none   where the volume is smaller than the ROI (default constant)\n"
           "  --pad-value V           constant padding value (default 0)\n"
           "  --importance gaussian|gaussian-nnunet|hann|constant   --sigma-scale S\n"
           "  --accumulate float32|float16|float64   --batch N   --mirror AXES|none (e.g. 0,1,2)\n"
           "  --activation none|softmax|sigmoid   (default softmax; sigmoid for nnU-Net region models)\n"
           "outputs:\n"
           "  -o OUT.nii[.gz]         the labels (uint8, or --label-dtype uint16), with the input's geometry\n"
           "  --probabilities P.nii[.gz]   also the per-class values on the input's grid (float32, 4D)\n"
           "  --resample-back probabilities|labels   how to get back to the input's grid (default "
           "probabilities:\n                          resample them linearly, then argmax; labels: nearest)\n"
           "  --picture FILE.png      mid-slices of the input with the labels drawn over them\n"
           "  --print-plan            print the resolved plan as JSON and exit\n"
           "execution:\n"
           "  --backend auto|opencl|cpu  --device INDEX|NAME  --threads N\n"
           "  --json                  print a summary as JSON (stage timings, tiles, backend, peak memory)\n"
           "  --quiet                 no progress bar (only drawn when stderr is a terminal) and no summary\n");
}

/* ---- progress bar -------------------------------------------------------------------------------------- */

typedef struct progress_state {
    int enabled;
    double t0, stage_t0;
    const char *stage;
} progress_state;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void on_progress(void *user, const char *stage, uint64_t done, uint64_t total)
{
    progress_state *p = (progress_state *)user;
    if (!p->enabled)
        return;
    double t = now();
    if (!p->stage || strcmp(p->stage, stage) != 0) {
        p->stage = stage;
        p->stage_t0 = t;
    }
    if (total == 0) {
        fprintf(stderr, "\r\033[K%-15s done (%.2f s)\n", stage, t - p->stage_t0);
        p->stage = NULL;
        return;
    }
    double el = t - p->stage_t0, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, fill = (int)((double)width * (double)done / (double)total);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K%-15s [%s] %llu/%llu tiles, %.1f tiles/s, ETA %.0f s", stage, bar,
            (unsigned long long)done, (unsigned long long)total, rate, eta);
    fflush(stderr);
}

/* ---- output checks ------------------------------------------------------------------------------------- */

static int nifti_name(const char *path)
{
    size_t n = strlen(path);
    return (n > 4 && !strcasecmp(path + n - 4, ".nii")) || (n > 7 && !strcasecmp(path + n - 7, ".nii.gz"));
}

/* The directory of `path` must exist and be writable: fail before the work, not after. */
int cli_check_output(const char *cmd, const char *flag, const char *path, const char *want_ext)
{
    if (want_ext && !strcmp(want_ext, "nifti") && !nifti_name(path)) {
        cli_error(cmd, "%s %s: the name must end in .nii or .nii.gz", flag, path);
        return VXT_EXIT_USAGE;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, F_OK) != 0) {
        cli_error(cmd, "%s %s: directory '%s' does not exist", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error(cmd, "%s %s: '%s' is not a directory", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    if (access(dir, W_OK) != 0) {
        cli_error(cmd, "%s %s: directory '%s' is not writable", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------------------------- */

enum {
    O_PLAN = 2000, O_NNUNET, O_CONFIGURATION, O_MODEL, O_MODEL_CONFIG, O_MEMBER, O_SPACING, O_ANISO, O_NORM,
    O_NLO, O_NHI, O_NMEAN, O_NSTD, O_PERC, O_NFIRST, O_IMP, O_SIGMA, O_ACC, O_BATCH, O_MIRROR, O_ACT, O_LDT,
    O_BACK, O_PROB, O_PICTURE, O_PRINT, O_BACKEND, O_DEVICE, O_THREADS, O_JSON, O_QUIET
};

int cli_run_options(const char *cmd, int argc, char **argv, run_plan *plan, cli_run_args *ra)
{
    static const struct option longopts[] = {CLI_PLAN_LONGOPTS,
                                             {"output", required_argument, NULL, 'o'},
                                             {"plan", required_argument, NULL, O_PLAN},
                                             {"nnunet", required_argument, NULL, O_NNUNET},
                                             {"configuration", required_argument, NULL, O_CONFIGURATION},
                                             {"model", required_argument, NULL, O_MODEL},
                                             {"model-config", required_argument, NULL, O_MODEL_CONFIG},
                                             {"member", required_argument, NULL, O_MEMBER},
                                             {"spacing", required_argument, NULL, O_SPACING},
                                             {"anisotropic", required_argument, NULL, O_ANISO},
                                             {"normalization", required_argument, NULL, O_NORM},
                                             {"norm-lo", required_argument, NULL, O_NLO},
                                             {"norm-hi", required_argument, NULL, O_NHI},
                                             {"norm-mean", required_argument, NULL, O_NMEAN},
                                             {"norm-std", required_argument, NULL, O_NSTD},
                                             {"percentiles", required_argument, NULL, O_PERC},
                                             {"normalize-first", no_argument, NULL, O_NFIRST},
                                             {"importance", required_argument, NULL, O_IMP},
                                             {"sigma-scale", required_argument, NULL, O_SIGMA},
                                             {"accumulate", required_argument, NULL, O_ACC},
                                             {"batch", required_argument, NULL, O_BATCH},
                                             {"mirror", required_argument, NULL, O_MIRROR},
                                             {"activation", required_argument, NULL, O_ACT},
                                             {"label-dtype", required_argument, NULL, O_LDT},
                                             {"resample-back", required_argument, NULL, O_BACK},
                                             {"probabilities", required_argument, NULL, O_PROB},
                                             {"picture", required_argument, NULL, O_PICTURE},
                                             {"print-plan", no_argument, NULL, O_PRINT},
                                             {"backend", required_argument, NULL, O_BACKEND},
                                             {"device", required_argument, NULL, O_DEVICE},
                                             {"threads", required_argument, NULL, O_THREADS},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"quiet", no_argument, NULL, O_QUIET},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    /* Two passes: files first (--plan, --nnunet), then every flag on top, whatever the order on the line. */
    const char *plan_path = NULL, *nnunet_dir = NULL, *configuration = "3d_fullres";
    char err[1024];
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (c == O_PLAN)
            plan_path = optarg;
        else if (c == O_NNUNET)
            nnunet_dir = optarg;
        else if (c == O_CONFIGURATION)
            configuration = optarg;
        else if (c == 'h') {
            help();
            return -1;
        } else if (c == '?') {
            cli_error(cmd, "unknown or incomplete option '%s' (see voxtile %s --help)", argv[optind - 1], cmd);
            return VXT_EXIT_USAGE;
        }
    }
    if (nnunet_dir && run_plan_load_nnunet(plan, nnunet_dir, configuration, err, sizeof err) != 0) {
        cli_error(cmd, "%s", err);
        return VXT_EXIT_PLAN;
    }
    if (plan_path) {
        int rc = run_plan_load(plan, plan_path, err, sizeof err);
        if (rc) {
            cli_error(cmd, "%s", err);
            return rc;
        }
    }
    int members_from_flags = 0, v;
    optind = 1;
    int idx = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, &idx)) != -1) {
        double d;
        double ax[3];
        switch (c) {
        case CLI_OPT_SHAPE:
            cli_error(cmd, "--shape is not a run option: the shape is the input's");
            return VXT_EXIT_USAGE;
        case CLI_OPT_ROI:
            if (!cli_parse_axes_f64(optarg, ax, 1, NULL) || !(ax[0] >= 1 && ax[0] <= (1 << 20)) ||
                !(ax[1] >= 1 && ax[1] <= (1 << 20)) || !(ax[2] >= 1 && ax[2] <= (1 << 20)) || ax[0] != floor(ax[0]) ||
                ax[1] != floor(ax[1]) || ax[2] != floor(ax[2])) {
                cli_error(cmd, "--roi: expected Z,Y,X (or Y,X, or one size) of whole numbers in [1, 1048576], got '%s'",
                          optarg);
                return VXT_EXIT_USAGE;
            }
            for (int a = 0; a < 3; a++)
                plan->roi[a] = (int64_t)ax[a];
            break;
        case CLI_OPT_GRID:
            if (!cli_enum_option(cmd, "--grid", optarg, cli_grids, &v))
                return VXT_EXIT_USAGE;
            plan->grid = (vxt_grid)v;
            break;
        case CLI_OPT_OVERLAP:
        case CLI_OPT_STEP:
        case CLI_OPT_OVERLAP_VOXELS:
        case CLI_OPT_PAD_VALUE:
        case O_SIGMA:
        case O_NLO:
        case O_NHI:
        case O_NMEAN:
        case O_NSTD:
            if (!cli_parse_double(optarg, &d)) {
                cli_error(cmd, "--%s: expected a number, got '%s'", longopts[idx].name, optarg);
                return VXT_EXIT_USAGE;
            }
            {
                /* the ranges the plan file's fields have (docs/PLAN.md) */
                double lo = -1e30, hi = 1e30;
                int whole = 0;
                const char *range = "[-1e30, 1e30]";
                if (c == CLI_OPT_OVERLAP)
                    lo = 0, hi = 0.999999, range = "[0, 1)";
                else if (c == CLI_OPT_STEP)
                    lo = 1e-6, hi = 1, range = "(0, 1]";
                else if (c == CLI_OPT_OVERLAP_VOXELS)
                    lo = 0, hi = 1 << 20, whole = 1, range = "[0, 1048576]";
                else if (c == O_SIGMA)
                    lo = 1e-6, hi = 100, range = "(0, 100]";
                if (!(d >= lo && d <= hi) || (whole && d != floor(d))) {
                    cli_error(cmd, "--%s: %s is out of range (%s in %s)", longopts[idx].name, optarg,
                              whole ? "a whole number" : "a number", range);
                    return VXT_EXIT_USAGE;
                }
            }
            if (c == CLI_OPT_OVERLAP)
                plan->overlap = d, plan->overlap_given = 1;
            else if (c == CLI_OPT_STEP)
                plan->step = d, plan->step_given = 1;
            else if (c == CLI_OPT_OVERLAP_VOXELS)
                plan->overlap_voxels = (int64_t)d, plan->overlap_voxels_given = 1;
            else if (c == CLI_OPT_PAD_VALUE)
                plan->pad_value = d;
            else if (c == O_SIGMA)
                plan->sigma_scale = d, plan->sigma_given = 1;
            else if (c == O_NLO)
                plan->lo = d, plan->norm_given |= 1u;
            else if (c == O_NHI)
                plan->hi = d, plan->norm_given |= 2u;
            else if (c == O_NMEAN)
                plan->mean = d, plan->norm_given |= 4u;
            else
                plan->std = d, plan->norm_given |= 8u;
            break;
        case CLI_OPT_PAD:
            if (!cli_enum_option(cmd, "--pad", optarg, cli_pads, &v))
                return VXT_EXIT_USAGE;
            plan->pad = (vxt_pad)v;
            break;
        case 'o':
            ra->out = optarg;
            break;
        case O_MODEL:
        case O_MEMBER: {
            if (c == O_MODEL) {
                members_from_flags = 0;
                plan->members = 0;
            } else if (!members_from_flags) {
                plan->members = 0;
            }
            if (c == O_MEMBER)
                members_from_flags = 1;
            if (plan->members >= RUN_MAX_MEMBERS) {
                cli_error(cmd, "--member: at most %d members", RUN_MAX_MEMBERS);
                return VXT_EXIT_USAGE;
            }
            run_member *m = &plan->member[plan->members++];
            memset(m, 0, sizeof *m);
            snprintf(m->model, sizeof m->model, "%s", optarg);
            char *at = c == O_MEMBER ? strchr(m->model, '@') : NULL;
            if (at) {
                *at = '\0';
                snprintf(m->config, sizeof m->config, "%s", at + 1);
            }
            break;
        }
        case O_MODEL_CONFIG:
            ra->model_config = optarg;
            break;
        case O_SPACING:
            if (!strcmp(optarg, "none")) {
                plan->have_spacing = 0;
            } else {
                int ns = 0; /* Y,X: a 2D model's; the input's spacing between slices is kept */
                if (!cli_parse_axes_f64(optarg, plan->spacing, 0.0, &ns) || !(plan->spacing[0] > 0 || ns == 2) ||
                    !(plan->spacing[1] > 0) || !(plan->spacing[2] > 0)) {
                    cli_error(cmd, "--spacing: expected Z,Y,X or Y,X in mm (> 0) or none, got '%s'", optarg);
                    return VXT_EXIT_USAGE;
                }
                plan->have_spacing = 1;
            }
            break;
        case O_ANISO: {
            static const cli_enum an[] = {{"off", 0}, {"nnunet", 1}, {NULL, 0}};
            if (!cli_enum_option(cmd, "--anisotropic", optarg, an, &plan->anisotropic_nnunet))
                return VXT_EXIT_USAGE;
            break;
        }
        case O_NORM: {
            static const cli_enum nn[] = {{"none", NORM_NONE},     {"window", NORM_WINDOW},
                                          {"ct", NORM_CT},         {"zscore", NORM_ZSCORE},
                                          {"zscore-nonzero", NORM_ZSCORE_NONZERO},
                                          {"minmax", NORM_MINMAX}, {"percentile", NORM_PERCENTILE},
                                          {NULL, 0}};
            if (!cli_enum_option(cmd, "--normalization", optarg, nn, &v))
                return VXT_EXIT_USAGE;
            plan->norm = (norm_scheme)v;
            break;
        }
        case O_PERC: {
            double pr[3];
            int n = 0;
            if (!cli_parse_axes_f64(optarg, pr, 0, &n) || n != 2) {
                cli_error(cmd, "--percentiles: expected LO,HI, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            plan->plo = pr[1];
            plan->phi = pr[2];
            plan->norm_given |= 16u;
            break;
        }
        case O_NFIRST:
            plan->normalize_first = 1;
            break;
        case O_IMP:
            if (!cli_enum_option(cmd, "--importance", optarg, cli_importances, &v))
                return VXT_EXIT_USAGE;
            plan->importance = (vxt_importance)v;
            break;
        case O_ACC:
            if (!cli_enum_option(cmd, "--accumulate", optarg, cli_accumulates, &v))
                return VXT_EXIT_USAGE;
            plan->accumulate = (vxt_accumulate)v;
            break;
        case O_BATCH: {
            long b;
            if (!cli_parse_int(optarg, 1, 4096, &b)) {
                cli_error(cmd, "--batch: expected an integer in [1, 4096], got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            plan->batch_size = (int)b;
            break;
        }
        case O_MIRROR:
            plan->mirror_axes = 0;
            if (strcmp(optarg, "none") != 0) {
                for (const char *q = optarg; *q; q++) {
                    if (*q >= '0' && *q <= '2')
                        plan->mirror_axes |= 1u << (*q - '0');
                    else if (*q != ',') {
                        cli_error(cmd, "--mirror: expected axes among 0,1,2 or none, got '%s'", optarg);
                        return VXT_EXIT_USAGE;
                    }
                }
            }
            break;
        case O_ACT:
            if (!cli_enum_option(cmd, "--activation", optarg, cli_activations, &v))
                return VXT_EXIT_USAGE;
            plan->activation = (vxt_activation)v;
            break;
        case O_LDT:
            if (!cli_enum_option(cmd, "--label-dtype", optarg, cli_label_dtypes, &v))
                return VXT_EXIT_USAGE;
            plan->label_dtype = (vxt_dtype)v;
            break;
        case O_BACK: {
            static const cli_enum rb[] = {{"probabilities", 1}, {"labels", 0}, {NULL, 0}};
            if (!cli_enum_option(cmd, "--resample-back", optarg, rb, &plan->back_probabilities))
                return VXT_EXIT_USAGE;
            break;
        }
        case O_PROB: ra->probabilities = optarg; break;
        case O_PICTURE: ra->picture = optarg; break;
        case O_PRINT: ra->print_plan = 1; break;
        case O_BACKEND:
            if (cli_backend_flag(cmd, optarg))
                return VXT_EXIT_USAGE;
            ra->backend = optarg;
            break;
        case O_DEVICE: ra->device = optarg; break;
        case O_THREADS:
            if (cli_threads_flag(cmd, optarg, &ra->threads))
                return VXT_EXIT_USAGE;
            break;
        case O_JSON: ra->json = 1; break;
        case O_QUIET: ra->quiet = 1; break;
        default: break; /* handled in the first pass */
        }
    }
    if (ra->model_config && plan->members >= 1)
        snprintf(plan->member[0].config, sizeof plan->member[0].config, "%s", ra->model_config);
    ra->first_arg = optind;
    if (run_plan_check(plan, err, sizeof err) != 0) {
        cli_error(cmd, "%s", err);
        return VXT_EXIT_PLAN;
    }
    return VXT_EXIT_OK;
}

int cli_open_models(const char *cmd, const run_plan *plan, int64_t in_channels, cli_model *models)
{
    char err[1024];
    for (int m = 0; m < plan->members; m++) {
        int rc = cli_model_open(plan->member[m].model, plan->member[m].config, in_channels, &models[m], err, sizeof err);
        if (rc) {
            cli_error(cmd, "%s", err);
            for (int k = 0; k < m; k++)
                cli_model_close(&models[k]);
            return rc;
        }
    }
    return VXT_EXIT_OK;
}

int cli_read_input(const char *cmd, const char *path, vxt_image **img)
{
    vxt_nifti_read_options ro;
    vxt_nifti_read_options_init(&ro);
    ro.scaling = VXT_NIFTI_SCALING_RAW; /* the rescale stage applies scl_slope/scl_inter on the backend */
    vxt_status st = vxt_image_read_file(path, &ro, img);
    if (st != VXT_OK) {
        cli_error(cmd, "%s", vxt_last_error());
        return VXT_EXIT_INPUT;
    }
    return VXT_EXIT_OK;
}

/* Voxels per label of the result (labels are uint8 or uint16): counts[0 .. *nlabels-1]; NULL when out of
 * memory. */
static uint64_t *label_counts(const vxt_image *labels, int *nlabels)
{
    vxt_volume v;
    vxt_image_volume(labels, &v);
    size_t n = (size_t)(v.shape[0] * v.shape[1] * v.shape[2]);
    int wide = v.dtype == VXT_DTYPE_U16;
    uint64_t *c = calloc(wide ? 65536 : 256, sizeof *c);
    if (!c)
        return NULL;
    int top = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned l = wide ? ((const uint16_t *)v.data)[i] : ((const uint8_t *)v.data)[i];
        c[l]++;
        if ((int)l >= top)
            top = (int)l + 1;
    }
    *nlabels = top;
    return c;
}

int cmd_run(int argc, char **argv)
{
    run_plan plan;
    run_plan_defaults(&plan);
    cli_run_args ra;
    memset(&ra, 0, sizeof ra);
    int rc = cli_run_options("run", argc, argv, &plan, &ra);
    if (rc < 0)
        return VXT_EXIT_OK; /* --help */
    if (rc)
        return rc;
    if (ra.print_plan) {
        char *text = run_plan_to_json(&plan);
        printf("%s\n", text);
        free(text);
        return VXT_EXIT_OK;
    }
    if (ra.first_arg + 1 != argc) {
        cli_error("run", ra.first_arg >= argc ? "missing the input image" : "unexpected argument '%s'",
                  argv[argc - 1]);
        return VXT_EXIT_USAGE;
    }
    const char *in_path = argv[ra.first_arg];
    if (!ra.out) {
        cli_error("run", "missing -o OUT.nii.gz");
        return VXT_EXIT_USAGE;
    }
    if ((rc = cli_check_output("run", "-o", ra.out, "nifti")) ||
        (ra.probabilities && (rc = cli_check_output("run", "--probabilities", ra.probabilities, "nifti"))) ||
        (ra.picture && (rc = cli_check_output("run", "--picture", ra.picture, NULL))))
        return rc;
    double t_start = now();
    vxt_image *img = NULL;
    if ((rc = cli_read_input("run", in_path, &img)))
        return rc;
    double t_read = now() - t_start;
    vxt_volume raw;
    vxt_image_volume(img, &raw);
    cli_model models[RUN_MAX_MEMBERS];
    memset(models, 0, sizeof models);
    if ((rc = cli_open_models("run", &plan, raw.channels, models))) {
        vxt_image_destroy(img);
        return rc;
    }
    vxt_context *ctx = NULL;
    if ((rc = cli_context("run", ra.backend, ra.device, ra.threads, &ctx))) {
        for (int m = 0; m < plan.members; m++)
            cli_model_close(&models[m]);
        vxt_image_destroy(img);
        return rc;
    }
    progress_state ps = {isatty(2) && !ra.quiet, now(), now(), NULL};
    pipeline_args pa = {ctx, &plan, models, img, ra.probabilities != NULL, NULL, on_progress, &ps};
    pipeline_result res;
    char err[2048];
    rc = pipeline_run(&pa, &res, err, sizeof err);
    if (rc) {
        if (ps.enabled)
            fprintf(stderr, "\n");
        cli_error("run", "%s", err);
    }
    double t_write0 = now();
    if (!rc) {
        vxt_nifti_write_options wo;
        vxt_nifti_write_options_init(&wo);
        if (vxt_image_write_file(res.labels, ra.out, &wo) != VXT_OK ||
            (res.probabilities && vxt_image_write_file(res.probabilities, ra.probabilities, &wo) != VXT_OK)) {
            cli_error("run", "%s", vxt_last_error());
            rc = VXT_EXIT_OUTPUT;
            remove(ra.out); /* never half a result: the labels alone would look complete */
        }
    }
    if (!rc && ra.picture) {
        /* the input (channel 0, as float32) with the labels drawn over it */
        vxt_geometry g;
        vxt_geometry_init(&g);
        vxt_image_get_geometry(img, &g);
        size_t vox = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
        float *grey = malloc(vox * sizeof(float));
        vxt_volume ch0 = raw, gv = {grey, VXT_DTYPE_F32, 1, {raw.shape[0], raw.shape[1], raw.shape[2]}};
        ch0.channels = 1;
        vxt_volume lv;
        vxt_image_volume(res.labels, &lv);
        char perr[512];
        if (!grey || vxt_rescale(ctx, &ch0, &gv, 1.0, 0.0) != VXT_OK) {
            cli_error("run", "picture: %s", grey ? vxt_last_error() : "out of memory");
            rc = VXT_EXIT_FAILURE;
        } else {
            picture_layers pl = {{raw.shape[0], raw.shape[1], raw.shape[2]}, {g.spacing[0], g.spacing[1], g.spacing[2]},
                                 grey, lv.data, plan.label_dtype == VXT_DTYPE_U16, NULL, "voxtile run"};
            if ((rc = picture_write(ra.picture, &pl, perr, sizeof perr)))
                cli_error("run", "--picture: %s", perr);
        }
        free(grey);
        if (rc) { /* never half a result: the outputs asked for were not all written */
            remove(ra.out);
            if (ra.probabilities)
                remove(ra.probabilities);
        }
    }
    double t_write = now() - t_write0;
    int nlabels = 0;
    uint64_t *counts = rc ? NULL : label_counts(res.labels, &nlabels);
    vxt_context_info ci = {.struct_size = sizeof ci};
    vxt_context_get_info(ctx, &ci);
    double total_s = now() - t_start;
    if (!rc && !ra.json && !ra.quiet) {
        /* what happened, in a few lines: where it ran, on which grid, what it found, how long each stage took */
        vxt_volume iv;
        vxt_image_volume(img, &iv);
        printf("voxtile run: %s (%lld x %lld x %lld voxels) -> %s\n", in_path, (long long)iv.shape[2],
               (long long)iv.shape[1], (long long)iv.shape[0], ra.out);
        printf("  %s on %s; model %s%s; %lld classes; %llu tiles over the model's grid of %lld x %lld x %lld voxels\n",
               vxt_backend_name(ci.backend), ci.device_name, models[0].name, plan.members > 1 ? " (+ensemble)" : "",
               (long long)res.channels, (unsigned long long)res.tiles, (long long)res.model_shape[2],
               (long long)res.model_shape[1], (long long)res.model_shape[0]);
        if (counts) {
            double nv = (double)(iv.shape[0] * iv.shape[1] * iv.shape[2]);
            printf("  labels:");
            for (int l = 0; l < nlabels; l++)
                if (counts[l])
                    printf(" %d: %.1f%%", l, 100.0 * (double)counts[l] / nv);
            printf("\n");
        }
        printf("  seconds: read %.3f", t_read);
        for (int i = 0; i < res.nstages; i++)
            printf(", %s %.3f", res.stage_name[i], res.stage_seconds[i]);
        printf(", write %.3f; total %.3f\n", t_write, total_s);
        if (ra.probabilities)
            printf("  probabilities: %s\n", ra.probabilities);
        if (ra.picture)
            printf("  picture: %s\n", ra.picture);
    }
    if (!rc && ra.json) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "input", in_path);
        cJSON_AddStringToObject(j, "output", ra.out);
        if (ra.probabilities)
            cJSON_AddStringToObject(j, "probabilities", ra.probabilities);
        cJSON_AddStringToObject(j, "backend", vxt_backend_name(ci.backend));
        cJSON_AddStringToObject(j, "device", ci.device_name);
        cJSON_AddStringToObject(j, "plan", plan.source[0] ? plan.source : "flags");
        cJSON *ms = cJSON_AddArrayToObject(j, "models");
        for (int m = 0; m < plan.members; m++)
            cJSON_AddItemToArray(ms, cJSON_CreateString(models[m].name));
        cJSON *sh = cJSON_AddArrayToObject(j, "model_grid");
        for (int a = 0; a < 3; a++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)res.model_shape[a]));
        cJSON_AddNumberToObject(j, "classes", (double)res.channels);
        cJSON_AddNumberToObject(j, "tiles", (double)res.tiles);
        if (counts) {
            cJSON *lc = cJSON_AddArrayToObject(j, "label_voxels"); /* voxels per label 0, 1, ... */
            for (int l = 0; l < nlabels; l++)
                cJSON_AddItemToArray(lc, cJSON_CreateNumber((double)counts[l]));
        }
        cJSON *stg = cJSON_AddArrayToObject(j, "stages");
        cJSON *s0 = cJSON_CreateObject();
        cJSON_AddStringToObject(s0, "stage", "read");
        cJSON_AddNumberToObject(s0, "seconds", t_read);
        cJSON_AddItemToArray(stg, s0);
        for (int i = 0; i < res.nstages; i++) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", res.stage_name[i]);
            cJSON_AddNumberToObject(s, "seconds", res.stage_seconds[i]);
            cJSON_AddItemToArray(stg, s);
        }
        cJSON *sw = cJSON_CreateObject();
        cJSON_AddStringToObject(sw, "stage", "write");
        cJSON_AddNumberToObject(sw, "seconds", t_write);
        cJSON_AddItemToArray(stg, sw);
        cJSON_AddNumberToObject(j, "seconds", total_s);
        cJSON_AddNumberToObject(j, "peak_memory_mib", (double)ru.ru_maxrss / 1024.0);
        char *text = cJSON_Print(j);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    }
    free(counts);
    if (rc == 0 && !res.labels)
        rc = VXT_EXIT_FAILURE;
    if (res.labels || res.probabilities)
        pipeline_result_free(&res);
    vxt_context_destroy(ctx);
    for (int m = 0; m < plan.members; m++)
        cli_model_close(&models[m]);
    vxt_image_destroy(img);
    return rc;
}
