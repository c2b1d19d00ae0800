/* cmd_bench.c - `voxtile bench`: standard cases at realistic sizes (stitching, resampling, normalization, the
 * whole pipeline), each with seconds (cold: first call; warm: median of the others), voxels per second, the
 * bytes it must move per voxel and the ratio of that traffic to this machine's memory bandwidth measured in the
 * same run. The programs under tools/bench/ go further (reference tools, breakdowns); docs/PERFORMANCE.md. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "pipeline.h"
#include "run_plan.h"

typedef struct bcase {
    const char *name;
    const char *what;
    double cold, warm;
    double voxels;   /* voxels the case is about (output voxels for resampling) */
    double bytes;    /* bytes it must move (the floor) */
    int ok;
    char error[512];
} bcase;

typedef struct bench_ctx {
    vxt_context *ctx;
    int runs;
    int64_t shape[3]; /* the CT volume: z, y, x */
    int16_t *ct;
    float *f32;       /* scratch outputs */
    size_t f32_elems;
    char error[512];  /* a case's failure that is not a library status (the pipeline's) */
} bench_ctx;

/* A CT-like int16 volume: an ellipse of soft tissue with lungs and a spine, noise, and -2000 outside the field
 * of view (never zeros, never constant). */
static void make_ct(int16_t *v, const int64_t s[3])
{
    uint64_t st = 0x9E3779B97F4A7C15ull;
    for (int64_t z = 0; z < s[0]; z++)
        for (int64_t y = 0; y < s[1]; y++)
            for (int64_t x = 0; x < s[2]; x++) {
                double ny = (double)(y - s[1] / 2) / (double)(s[1] / 2), nx = (double)(x - s[2] / 2) / (double)(s[2] / 2);
                double r = nx * nx + ny * ny, body = (nx * nx) / 0.8 + (ny * ny) / 0.55;
                double hu = -1000;
                if (body < 1) {
                    hu = 40;
                    double lx = fabs(nx) - 0.4, ly = ny + 0.05;
                    if (lx * lx / 0.05 + ly * ly / 0.12 < 1)
                        hu = -800;
                    double sx = nx, sy = ny - 0.45;
                    if (sx * sx + sy * sy < 0.01)
                        hu = 700;
                }
                if (r > 1.0)
                    hu = -2000;
                st ^= st >> 12;
                st ^= st << 25;
                st ^= st >> 27;
                double noise = (double)((st * 0x2545F4914F6CDD1Dull) >> 40) / (double)(1u << 24) * 40.0 - 20.0;
                v[(z * s[1] + y) * s[2] + x] = (int16_t)(hu > -2000 ? hu + noise : hu);
            }
}

/* Time fn(cases) `runs` times: first = cold, median of the rest = warm. */
typedef vxt_status (*case_fn)(bench_ctx *b, void *arg);

static void time_case(bench_ctx *b, bcase *c, case_fn fn, void *arg)
{
    double t[32];
    int n = b->runs > 32 ? 32 : b->runs;
    for (int r = 0; r < n; r++) {
        double t0 = vxt_bench_now();
        vxt_status st = fn(b, arg);
        t[r] = vxt_bench_now() - t0;
        if (st != VXT_OK) {
            snprintf(c->error, sizeof c->error, "%s", b->error[0] ? b->error : vxt_last_error());
            return;
        }
    }
    c->cold = t[0];
    c->warm = vxt_bench_median(t + 1, n - 1);
    c->ok = 1;
}

typedef struct norm_arg {
    int scheme; /* 0 window, 1 zscore non-zero, 2 percentile clip */
} norm_arg;

static vxt_status run_norm(bench_ctx *b, void *varg)
{
    norm_arg *a = (norm_arg *)varg;
    vxt_volume in = {b->ct, VXT_DTYPE_I16, 1, {b->shape[0], b->shape[1], b->shape[2]}};
    vxt_volume out = {b->f32, VXT_DTYPE_F32, 1, {b->shape[0], b->shape[1], b->shape[2]}};
    if (a->scheme == 0)
        return vxt_window(b->ctx, &in, &out, -160.0, 240.0);
    if (a->scheme == 1)
        return vxt_zscore(b->ctx, &in, VXT_SELECT_NONZERO, NULL, &out, NULL);
    return vxt_percentile_clip(b->ctx, &in, VXT_SELECT_ALL, NULL, 0.5, 99.5, &out, NULL);
}

typedef struct resample_arg {
    int64_t out[3];
    vxt_resample_options o;
} resample_arg;

static vxt_status run_resample(bench_ctx *b, void *varg)
{
    resample_arg *a = (resample_arg *)varg;
    vxt_volume in = {b->ct, VXT_DTYPE_I16, 1, {b->shape[0], b->shape[1], b->shape[2]}};
    vxt_volume out = {b->f32, VXT_DTYPE_F32, 1, {a->out[0], a->out[1], a->out[2]}};
    return vxt_resample(b->ctx, &in, &out, &a->o);
}

typedef struct stitch_arg {
    vxt_plan *plan;
    vxt_stitch_options so;
    float *vol;
    int64_t shape[3];
} stitch_arg;

static int trivial_predictor(void *user, const vxt_batch *bt)
{
    (void)user;
    size_t roi = (size_t)(bt->roi[0] * bt->roi[1] * bt->roi[2]);
    for (int i = 0; i < bt->count; i++)
        for (int64_t c = 0; c < bt->out_channels; c++) {
            const float *in = bt->input + (size_t)i * (size_t)bt->in_channels * roi;
            float *o = (float *)bt->output + ((size_t)i * (size_t)bt->out_channels + (size_t)c) * roi;
            float k = (float)(c + 1);
            for (size_t v = 0; v < roi; v++)
                o[v] = in[v] * k;
        }
    return 0;
}

static vxt_status run_stitch(bench_ctx *b, void *varg)
{
    stitch_arg *a = (stitch_arg *)varg;
    vxt_volume in = {a->vol, VXT_DTYPE_F32, 1, {a->shape[0], a->shape[1], a->shape[2]}};
    vxt_volume out = {b->f32, VXT_DTYPE_F32, a->so.out_channels, {a->shape[0], a->shape[1], a->shape[2]}};
    vxt_stitch_output so;
    vxt_stitch_output_init(&so);
    so.values = &out;
    return vxt_stitch(b->ctx, a->plan, &a->so, &in, trivial_predictor, NULL, &so);
}

typedef struct pipe_arg {
    vxt_image *img;
    run_plan plan;
    cli_model model;
} pipe_arg;

static vxt_status run_pipeline(bench_ctx *b, void *varg)
{
    pipe_arg *a = (pipe_arg *)varg;
    pipeline_args pa = {b->ctx, &a->plan, &a->model, a->img, 0, NULL, NULL, NULL};
    pipeline_result res;
    char err[sizeof b->error] = "";
    if (pipeline_run(&pa, &res, err, sizeof err) != 0) {
        memcpy(b->error, err, sizeof b->error); /* same size, NUL-terminated by pipeline_run */
        return VXT_ERR_INTERNAL;
    }
    pipeline_result_free(&res);
    return VXT_OK;
}

static void help(void)
{
    printf("usage: voxtile bench [--size full|small] [--runs N] [--case NAME]... [--backend B] [--device D] "
           "[--threads N] [--json]\n"
           "Standard cases on a synthetic CT (full: 512x512x256 int16 at 0.78x0.78x2.5 mm; small: 256x256x64):\n"
           "  window           CT window [-160, 240] -> [0, 1]\n"
           "  zscore-nonzero   z-score over non-zero voxels (statistics + transform)\n"
           "  percentile-clip  clip to the 0.5/99.5 percentiles (exact, histogram + transform)\n"
           "  resample-0.5     trilinear to half the size per axis\n"
           "  resample-1.6     trilinear to 1.6 times the size per axis\n"
           "  ct-to-1mm        trilinear to 1 mm spacing (nnU-Net's shape rule)\n"
           "  stitch           sliding window: ROI 128^3 (64^3 small), overlap 0.5, gaussian, C = 2, trivial\n"
           "                   predictor, batches of one x-row of tiles (7)\n"
           "  pipeline         voxtile run's stages on the CT: rescale, 1.5 mm, window, 4-class bands model,\n"
           "                   ROI 96^3 (48^3 small), softmax, back to the input grid, labels\n"
           "Each: cold (first call) and warm (median of the rest) seconds, voxels/s, bytes per voxel it must move,\n"
           "and the fraction of this machine's memory bandwidth (triad, measured in the same run) that is.\n");
}

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"size", required_argument, NULL, 's'},    {"runs", required_argument, NULL, 'r'},
        {"case", required_argument, NULL, 'c'},    {"backend", required_argument, NULL, 'b'},
        {"device", required_argument, NULL, 'd'},  {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *all[] = {"window", "zscore-nonzero", "percentile-clip", "resample-0.5", "resample-1.6",
                                "ct-to-1mm", "stitch", "pipeline"};
    enum { NCASES = 8 };
    int want[NCASES] = {0}, any = 0, small = 0, json = 0;
    long runs = 5, threads = 0;
    const char *backend = NULL, *device = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "full") && strcmp(optarg, "small")) {
                cli_error("bench", "--size: expected full or small, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            small = !strcmp(optarg, "small");
            break;
        case 'r':
            if (!cli_parse_int(optarg, 2, 32, &runs)) {
                cli_error("bench", "--runs: expected an integer in [2, 32], got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        case 'c': {
            int found = 0;
            for (int i = 0; i < NCASES; i++)
                if (!strcmp(optarg, all[i]))
                    want[i] = found = any = 1;
            if (!found) {
                cli_error("bench", "--case: unknown case '%s' (see voxtile bench --help)", optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        }
        case 'b':
            if (cli_backend_flag("bench", optarg))
                return VXT_EXIT_USAGE;
            backend = optarg;
            break;
        case 'd': device = optarg; break;
        case 't':
            if (cli_threads_flag("bench", optarg, &threads))
                return VXT_EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 'h': help(); return VXT_EXIT_OK;
        default:
            cli_error("bench", "unknown or incomplete option '%s' (see voxtile bench --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("bench", "unexpected argument '%s'", argv[optind]);
        return VXT_EXIT_USAGE;
    }
    if (!any)
        for (int i = 0; i < NCASES; i++)
            want[i] = 1;

    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.runs = (int)runs;
    int rc = cli_context("bench", backend, device, threads, &b.ctx);
    if (rc)
        return rc;
    vxt_context_info ci = {.struct_size = sizeof ci};
    vxt_context_get_info(b.ctx, &ci);
    b.shape[0] = small ? 64 : 256;
    b.shape[1] = b.shape[2] = small ? 256 : 512;
    const double spacing[3] = {2.5, 0.78, 0.78};
    size_t vox = (size_t)(b.shape[0] * b.shape[1] * b.shape[2]);
    b.ct = malloc(vox * sizeof(int16_t));
    b.f32_elems = 2 * (size_t)(1.6 * 1.6 * 1.6 * (double)vox) + 2 * vox; /* the largest output: x1.6 or C=2 */
    b.f32 = malloc(b.f32_elems * sizeof(float));
    if (!b.ct || !b.f32) {
        cli_error("bench", "out of memory");
        free(b.ct);
        free(b.f32);
        vxt_context_destroy(b.ctx);
        return VXT_EXIT_FAILURE;
    }
    make_ct(b.ct, b.shape);
    memset(b.f32, 0, b.f32_elems * sizeof(float)); /* touched: page faults are not the cases' */
    vxt_membw bw;
    if (vxt_bench_membw(ci.cpu_threads, (size_t)(small ? 16 : 64) << 20, 3, &bw) != 0 || !(bw.triad_gbs > 0)) {
        cli_error("bench", "cannot measure the memory bandwidth (out of memory for its %d MiB arrays)",
                  small ? 3 * 64 : 3 * 256);
        free(b.ct);
        free(b.f32);
        vxt_context_destroy(b.ctx);
        return VXT_EXIT_FAILURE;
    }

    bcase cases[NCASES];
    memset(cases, 0, sizeof cases);
    for (int i = 0; i < NCASES; i++)
        cases[i].name = all[i];
    double V = (double)vox;
    /* normalization: int16 in (2 B), float32 out (4 B); two-pass schemes read the input twice */
    norm_arg na[3] = {{0}, {1}, {2}};
    const char *norm_what[3] = {"int16 -> float32, one pass: 2 + 4 B/voxel",
                                "statistics pass + transform: 2 + 2 + 4 B/voxel",
                                "histogram pass + transform: 2 + 2 + 4 B/voxel"};
    const double norm_bytes[3] = {6, 8, 8};
    for (int i = 0; i < 3; i++)
        if (want[i]) {
            cases[i].what = norm_what[i];
            cases[i].voxels = V;
            cases[i].bytes = norm_bytes[i] * V;
            time_case(&b, &cases[i], run_norm, &na[i]);
        }
    /* resampling: int16 input read, float32 output written */
    resample_arg ra[3];
    for (int i = 0; i < 3; i++) {
        vxt_resample_options_init(&ra[i].o);
        if (i == 2) {
            const double mm[3] = {1.0, 1.0, 1.0};
            vxt_resample_shape_spacing(b.shape, spacing, mm, ra[i].out);
        } else {
            double f = i == 0 ? 0.5 : 1.6;
            for (int a = 0; a < 3; a++)
                ra[i].out[a] = (int64_t)floor((double)b.shape[a] * f);
        }
        int k = 3 + i;
        if (!want[k])
            continue;
        double ov = (double)(ra[i].out[0] * ra[i].out[1] * ra[i].out[2]);
        if (ov > (double)b.f32_elems) {
            snprintf(cases[k].error, sizeof cases[k].error, "output too large for the scratch buffer");
            continue;
        }
        cases[k].what = "int16 input read once, float32 output written";
        cases[k].voxels = ov;
        cases[k].bytes = 2.0 * V + 4.0 * ov;
        time_case(&b, &cases[k], run_resample, &ra[i]);
    }
    /* stitching */
    if (want[6]) {
        stitch_arg sa;
        memset(&sa, 0, sizeof sa);
        memcpy(sa.shape, b.shape, sizeof sa.shape);
        sa.vol = malloc(vox * sizeof(float));
        vxt_plan_options po;
        vxt_plan_options_init(&po);
        memcpy(po.shape, b.shape, sizeof po.shape);
        int64_t r = small ? 64 : 128;
        po.roi[0] = po.roi[1] = po.roi[2] = r;
        po.overlap[0] = po.overlap[1] = po.overlap[2] = 0.5;
        vxt_stitch_options_init(&sa.so);
        sa.so.out_channels = 2;
        if (sa.vol && vxt_plan_create(&po, &sa.plan) == VXT_OK) {
            vxt_bench_fill_uniform(sa.vol, vox, -1000.0f, 2000.0f, 7);
            vxt_plan_info pi = {.struct_size = sizeof pi};
            vxt_plan_get_info(sa.plan, &pi);
            sa.so.batch_size = (int)pi.tiles_per_axis[2];
            double tv = (double)pi.tile_count * (double)(r * r * r);
            cases[6].what = "per tile voxel: input cut and read (8 B), C outputs written and read (8C B), "
                            "accumulators read and written (8C B); per voxel: volume read, C results written";
            cases[6].voxels = V;
            cases[6].bytes = tv * (8.0 + 16.0 * 2) + V * (4.0 + 4.0 * 2);
            time_case(&b, &cases[6], run_stitch, &sa);
        } else {
            snprintf(cases[6].error, sizeof cases[6].error, "%s", sa.vol ? vxt_last_error() : "out of memory");
        }
        vxt_plan_destroy(sa.plan);
        free(sa.vol);
    }
    /* the whole pipeline */
    if (want[7]) {
        pipe_arg pa;
        memset(&pa, 0, sizeof pa);
        run_plan_defaults(&pa.plan);
        pa.plan.members = 1;
        snprintf(pa.plan.member[0].model, sizeof pa.plan.member[0].model, "bands:0.1,0.4,0.9");
        pa.plan.have_spacing = 1;
        pa.plan.spacing[0] = pa.plan.spacing[1] = pa.plan.spacing[2] = 1.5;
        pa.plan.norm = NORM_WINDOW;
        pa.plan.lo = -160;
        pa.plan.hi = 240;
        pa.plan.norm_given = 3;
        pa.plan.roi[0] = pa.plan.roi[1] = pa.plan.roi[2] = small ? 48 : 96;
        pa.plan.batch_size = 4;
        char err[512];
        int64_t shape_xyz[3] = {b.shape[0], b.shape[1], b.shape[2]};
        vxt_status st = vxt_image_create(VXT_DTYPE_I16, 1, shape_xyz, NULL, &pa.img);
        vxt_volume iv;
        if (st == VXT_OK && vxt_image_volume(pa.img, &iv) == VXT_OK) {
            memcpy(iv.data, b.ct, vox * sizeof(int16_t));
            vxt_geometry g;
            double aff[16] = {-spacing[2], 0, 0, 0, 0, -spacing[1], 0, 0, 0, 0, spacing[0], 0, 0, 0, 0, 1};
            vxt_geometry_init(&g);
            vxt_geometry_from_affine(aff, 1, &g);
            vxt_image_set_geometry(pa.img, &g);
        }
        if (st == VXT_OK && cli_model_open(pa.plan.member[0].model, "", 1, &pa.model, err, sizeof err) == 0) {
            cases[7].what = "all stages; bytes: the int16 input read and the uint8 labels written (a lower bound)";
            cases[7].voxels = V;
            cases[7].bytes = 3.0 * V;
            time_case(&b, &cases[7], run_pipeline, &pa);
            cli_model_close(&pa.model);
        } else {
            snprintf(cases[7].error, sizeof cases[7].error, "%s", st != VXT_OK ? vxt_last_error() : err);
        }
        vxt_image_destroy(pa.img);
    }

    double bwb = bw.triad_gbs * 1e9;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "version", vxt_version_string());
        cJSON_AddStringToObject(j, "backend", vxt_backend_name(ci.backend));
        cJSON_AddStringToObject(j, "device", ci.device_name);
        cJSON_AddNumberToObject(j, "threads", ci.cpu_threads);
        cJSON *sh = cJSON_AddArrayToObject(j, "ct_shape");
        for (int a = 0; a < 3; a++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)b.shape[a]));
        cJSON *bj = cJSON_AddObjectToObject(j, "bandwidth_gbs");
        cJSON_AddNumberToObject(bj, "copy", bw.copy_gbs);
        cJSON_AddNumberToObject(bj, "triad", bw.triad_gbs);
        cJSON_AddNumberToObject(bj, "read_modify_write", bw.rmw_gbs);
        cJSON *arr = cJSON_AddArrayToObject(j, "cases");
        for (int i = 0; i < NCASES; i++) {
            if (!want[i])
                continue;
            cJSON *cj = cJSON_CreateObject();
            cJSON_AddStringToObject(cj, "case", cases[i].name);
            cJSON_AddBoolToObject(cj, "ok", cases[i].ok);
            if (cases[i].ok) {
                cJSON_AddNumberToObject(cj, "cold_s", cases[i].cold);
                cJSON_AddNumberToObject(cj, "warm_s", cases[i].warm);
                cJSON_AddNumberToObject(cj, "voxels", cases[i].voxels);
                cJSON_AddNumberToObject(cj, "voxels_per_s", cases[i].voxels / cases[i].warm);
                cJSON_AddNumberToObject(cj, "bytes_per_voxel", cases[i].bytes / cases[i].voxels);
                cJSON_AddNumberToObject(cj, "bandwidth_fraction", cases[i].bytes / cases[i].warm / bwb);
                cJSON_AddStringToObject(cj, "bytes_model", cases[i].what);
            } else {
                cJSON_AddStringToObject(cj, "error", cases[i].error);
            }
            cJSON_AddItemToArray(arr, cj);
        }
        char *text = cJSON_Print(j);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    } else {
        printf("voxtile %s bench: backend %s, device %s, %d host threads; CT %lldx%lldx%lld int16\n",
               vxt_version_string(), vxt_backend_name(ci.backend), ci.device_name, ci.cpu_threads, (long long)b.shape[2],
               (long long)b.shape[1], (long long)b.shape[0]);
        printf("memory bandwidth (same run): copy %.1f GB/s, triad %.1f GB/s, read-modify-write %.1f GB/s\n\n",
               bw.copy_gbs, bw.triad_gbs, bw.rmw_gbs);
        printf("%-16s %9s %9s %12s %8s %10s\n", "case", "cold s", "warm s", "Mvoxels/s", "B/voxel", "bandwidth");
        for (int i = 0; i < NCASES; i++) {
            if (!want[i])
                continue;
            if (!cases[i].ok) {
                printf("%-16s failed: %s\n", cases[i].name, cases[i].error);
                continue;
            }
            printf("%-16s %9.4f %9.4f %12.1f %8.1f %9.0f%%\n", cases[i].name, cases[i].cold, cases[i].warm,
                   cases[i].voxels / cases[i].warm * 1e-6, cases[i].bytes / cases[i].voxels,
                   100.0 * cases[i].bytes / cases[i].warm / bwb);
        }
    }
    int failed = 0;
    for (int i = 0; i < NCASES; i++)
        failed |= want[i] && !cases[i].ok;
    free(b.ct);
    free(b.f32);
    vxt_context_destroy(b.ctx);
    if (failed) {
        cli_error("bench", "some cases failed");
        return VXT_EXIT_FAILURE;
    }
    return VXT_EXIT_OK;
}
