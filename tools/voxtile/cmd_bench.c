/* cmd_bench.c - `voxtile bench`: standard cases at realistic sizes (stitching, resampling, normalization, the
 * whole pipeline), each with seconds (cold: first call; warm: median of the others), voxels per second, the
 * bytes it must move per voxel and the ratio of that traffic to this machine's memory bandwidth measured in the
 * same run. The programs under tools/bench/ go further (reference tools, breakdowns); docs/PERFORMANCE.md. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"

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
            snprintf(c->error, sizeof c->error, "%s", vxt_last_error());
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
    vxt_tiling *tiling;
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
    return vxt_stitch(b->ctx, a->tiling, &a->so, &in, trivial_predictor, NULL, &so);
}

typedef struct pipe_arg {
    vxt_image *img;
    vxt_pipeline *pipeline;
} pipe_arg;

static vxt_status run_pipeline(bench_ctx *b, void *varg)
{
    (void)b;
    pipe_arg *a = (pipe_arg *)varg;
    vxt_run_result res = {.struct_size = sizeof res};
    vxt_status st = vxt_pipeline_run(a->pipeline, a->img, NULL, &res);
    vxt_run_result_clear(&res);
    return st;
}

/* ---- the cases ------------------------------------------------------------------------------------------ */

enum { C_WINDOW, C_ZSCORE, C_PERCENTILE, C_RESAMPLE_HALF, C_RESAMPLE_UP, C_CT_1MM, C_STITCH, C_PIPELINE, NCASES };
static const char *const case_names[NCASES] = {"window", "zscore-nonzero", "percentile-clip", "resample-0.5",
                                               "resample-1.6", "ct-to-1mm", "stitch", "pipeline"};
static const double ct_spacing[3] = {2.5, 0.78, 0.78};

static void bench_norm(bench_ctx *b, bcase *cases, const int *want)
{
    /* int16 in (2 B), float32 out (4 B); two-pass schemes read the input twice */
    static norm_arg na[3] = {{0}, {1}, {2}};
    static const char *what[3] = {"int16 -> float32, one pass: 2 + 4 B/voxel",
                                  "statistics pass + transform: 2 + 2 + 4 B/voxel",
                                  "histogram pass + transform: 2 + 2 + 4 B/voxel"};
    static const double bytes[3] = {6, 8, 8};
    double V = (double)(b->shape[0] * b->shape[1] * b->shape[2]);
    for (int i = 0; i < 3; i++)
        if (want[C_WINDOW + i]) {
            bcase *c = &cases[C_WINDOW + i];
            c->what = what[i];
            c->voxels = V;
            c->bytes = bytes[i] * V;
            time_case(b, c, run_norm, &na[i]);
        }
}

static void bench_resample(bench_ctx *b, bcase *cases, const int *want)
{
    /* int16 input read, float32 output written */
    double V = (double)(b->shape[0] * b->shape[1] * b->shape[2]);
    for (int i = 0; i < 3; i++) {
        int k = C_RESAMPLE_HALF + i;
        if (!want[k])
            continue;
        resample_arg ra;
        vxt_resample_options_init(&ra.o);
        if (k == C_CT_1MM) {
            const double mm[3] = {1.0, 1.0, 1.0};
            vxt_resample_shape_spacing(b->shape, ct_spacing, mm, ra.out);
        } else {
            double f = k == C_RESAMPLE_HALF ? 0.5 : 1.6;
            for (int a = 0; a < 3; a++)
                ra.out[a] = (int64_t)floor((double)b->shape[a] * f);
        }
        double ov = (double)(ra.out[0] * ra.out[1] * ra.out[2]);
        if (ov > (double)b->f32_elems) {
            snprintf(cases[k].error, sizeof cases[k].error, "output too large for the scratch buffer");
            continue;
        }
        cases[k].what = "int16 input read once, float32 output written";
        cases[k].voxels = ov;
        cases[k].bytes = 2.0 * V + 4.0 * ov;
        time_case(b, &cases[k], run_resample, &ra);
    }
}

static void bench_stitch(bench_ctx *b, bcase *c, int small)
{
    stitch_arg sa;
    memset(&sa, 0, sizeof sa);
    memcpy(sa.shape, b->shape, sizeof sa.shape);
    size_t vox = (size_t)(b->shape[0] * b->shape[1] * b->shape[2]);
    sa.vol = malloc(vox * sizeof(float));
    vxt_tiling_options to;
    vxt_tiling_options_init(&to);
    memcpy(to.shape, b->shape, sizeof to.shape);
    int64_t r = small ? 64 : 128;
    to.roi[0] = to.roi[1] = to.roi[2] = r;
    to.overlap[0] = to.overlap[1] = to.overlap[2] = 0.5;
    vxt_stitch_options_init(&sa.so);
    sa.so.out_channels = 2;
    if (sa.vol && vxt_tiling_create(&to, &sa.tiling) == VXT_OK) {
        vxt_bench_fill_uniform(sa.vol, vox, -1000.0f, 2000.0f, 7);
        vxt_tiling_info ti = {.struct_size = sizeof ti};
        vxt_tiling_get_info(sa.tiling, &ti);
        sa.so.batch_size = (int)ti.tiles_per_axis[2];
        double tv = (double)ti.tile_count * (double)(r * r * r), V = (double)vox;
        c->what = "per tile voxel: input cut and read (8 B), C outputs written and read (8C B), accumulators read "
                  "and written (8C B); per voxel: volume read, C results written";
        c->voxels = V;
        c->bytes = tv * (8.0 + 16.0 * 2) + V * (4.0 + 4.0 * 2);
        time_case(b, c, run_stitch, &sa);
    } else {
        snprintf(c->error, sizeof c->error, "%s", sa.vol ? vxt_last_error() : "out of memory");
    }
    vxt_tiling_destroy(sa.tiling);
    free(sa.vol);
}

/* The synthetic CT as an image: LPS-like axes, the bench's spacing. */
static vxt_status ct_image(const bench_ctx *b, vxt_image **out)
{
    vxt_volume iv;
    vxt_status st = vxt_image_create(VXT_DTYPE_I16, 1, b->shape, NULL, out);
    if (st == VXT_OK && (st = vxt_image_volume(*out, &iv)) == VXT_OK) {
        memcpy(iv.data, b->ct, (size_t)(b->shape[0] * b->shape[1] * b->shape[2]) * sizeof(int16_t));
        vxt_geometry g;
        const double aff[16] = {-ct_spacing[2], 0, 0, 0, 0, -ct_spacing[1], 0, 0, 0, 0, ct_spacing[0], 0, 0, 0, 0, 1};
        vxt_geometry_init(&g);
        if ((st = vxt_geometry_from_affine(aff, 1, &g)) == VXT_OK)
            st = vxt_image_set_geometry(*out, &g);
    }
    return st;
}

static void bench_pipeline(bench_ctx *b, bcase *c, int small)
{
    char json[512];
    int r = small ? 48 : 96;
    snprintf(json, sizeof json,
             "{\"model\": \"bands:0.1,0.4,0.9\", \"target_spacing\": 1.5, \"roi\": [%d, %d, %d], \"batch_size\": 4, "
             "\"normalization\": {\"scheme\": \"window\", \"lo\": -160, \"hi\": 240}}", r, r, r);
    pipe_arg pa = {NULL, NULL};
    vxt_plan *plan = NULL;
    vxt_status st = vxt_plan_create(&plan);
    if (st == VXT_OK)
        st = vxt_plan_load_json(plan, json, strlen(json), "bench");
    if (st == VXT_OK)
        st = vxt_pipeline_create(b->ctx, plan, NULL, 0, &pa.pipeline);
    if (st == VXT_OK)
        st = ct_image(b, &pa.img);
    if (st == VXT_OK) {
        double V = (double)(b->shape[0] * b->shape[1] * b->shape[2]);
        c->what = "all stages; bytes: the int16 input read and the uint8 labels written (a lower bound)";
        c->voxels = V;
        c->bytes = 3.0 * V;
        time_case(b, c, run_pipeline, &pa);
    } else {
        snprintf(c->error, sizeof c->error, "%s", vxt_last_error());
    }
    vxt_image_destroy(pa.img);
    vxt_pipeline_destroy(pa.pipeline);
    vxt_plan_destroy(plan);
}

/* ---- reports -------------------------------------------------------------------------------------------- */

static int report_json(const bench_ctx *b, const vxt_context_info *ci, const vxt_membw *bw, const bcase *cases,
                       const int *want)
{
    double bwb = bw->triad_gbs * 1e9;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "version", vxt_version_string());
    cli_json_context(j, b->ctx);
    cJSON_AddNumberToObject(j, "threads", ci->cpu_threads);
    cJSON *sh = cJSON_AddArrayToObject(j, "ct_shape");
    for (int a = 0; a < 3; a++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)b->shape[a]));
    cJSON *bj = cJSON_AddObjectToObject(j, "bandwidth_gbs");
    cJSON_AddNumberToObject(bj, "copy", bw->copy_gbs);
    cJSON_AddNumberToObject(bj, "triad", bw->triad_gbs);
    cJSON_AddNumberToObject(bj, "read_modify_write", bw->rmw_gbs);
    cJSON *arr = cJSON_AddArrayToObject(j, "cases");
    for (int i = 0; i < NCASES; i++) {
        if (!want[i])
            continue;
        const bcase *c = &cases[i];
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddStringToObject(cj, "case", c->name);
        cJSON_AddBoolToObject(cj, "ok", c->ok);
        if (c->ok) {
            cJSON_AddNumberToObject(cj, "cold_s", c->cold);
            cJSON_AddNumberToObject(cj, "warm_s", c->warm);
            cJSON_AddNumberToObject(cj, "voxels", c->voxels);
            cJSON_AddNumberToObject(cj, "voxels_per_s", c->voxels / c->warm);
            cJSON_AddNumberToObject(cj, "bytes_per_voxel", c->bytes / c->voxels);
            cJSON_AddNumberToObject(cj, "bandwidth_fraction", c->bytes / c->warm / bwb);
            cJSON_AddStringToObject(cj, "bytes_model", c->what);
        } else {
            cJSON_AddStringToObject(cj, "error", c->error);
        }
        cJSON_AddItemToArray(arr, cj);
    }
    return cli_print_json(j);
}

static int report_text(const bench_ctx *b, const vxt_context_info *ci, const vxt_membw *bw, const bcase *cases,
                       const int *want)
{
    double bwb = bw->triad_gbs * 1e9;
    char shape[96];
    printf("voxtile %s bench: backend %s, device %s, %d host threads; CT %s (z, y, x) int16\n", vxt_version_string(),
           vxt_backend_name(ci->backend), ci->device_name, ci->cpu_threads,
           cli_shape_text(shape, sizeof shape, b->shape));
    printf("memory bandwidth (same run): copy %.1f GB/s, triad %.1f GB/s, read-modify-write %.1f GB/s\n\n",
           bw->copy_gbs, bw->triad_gbs, bw->rmw_gbs);
    printf("%-16s %9s %9s %12s %8s %10s\n", "case", "cold s", "warm s", "Mvoxels/s", "B/voxel", "bandwidth");
    for (int i = 0; i < NCASES; i++) {
        const bcase *c = &cases[i];
        if (!want[i])
            continue;
        if (!c->ok) {
            printf("%-16s failed: %s\n", c->name, c->error);
            continue;
        }
        printf("%-16s %9.4f %9.4f %12.1f %8.1f %9.0f%%\n", c->name, c->cold, c->warm, c->voxels / c->warm * 1e-6,
               c->bytes / c->voxels, 100.0 * c->bytes / c->warm / bwb);
    }
    return VXT_EXIT_OK;
}

/* ---- the command ---------------------------------------------------------------------------------------- */

enum { O_SIZE = 1, O_RUNS, O_CASE, O_JSON };
static const cli_flag own[] = {
    {"size", 0, "full|small", O_SIZE, "full: a 256 x 512 x 512 int16 CT at 2.5 x 0.78 x 0.78 mm (default); small: "
                                      "64 x 256 x 256"},
    {"runs", 0, "N", O_RUNS, "calls per case, 2..32 (default 5): the first is cold, the median of the others warm"},
    {"case", 0, "NAME", O_CASE, "run only this case (repeatable)"},
    {"json", 0, NULL, O_JSON, "machine-readable output"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_exec_flags, NULL};
static const cli_command_spec spec = {
    "bench", "bench [--size full|small] [--runs N] [--case NAME]... [--backend NAME] [--device D] [--threads N] "
    "[--json]",
    "Standard cases on a synthetic CT (z, y, x):\n"
    "  window           CT window [-160, 240] -> [0, 1]\n"
    "  zscore-nonzero   z-score over non-zero voxels (statistics + transform)\n"
    "  percentile-clip  clip to the 0.5/99.5 percentiles (exact, histogram + transform)\n"
    "  resample-0.5     trilinear to half the size per axis\n"
    "  resample-1.6     trilinear to 1.6 times the size per axis\n"
    "  ct-to-1mm        trilinear to 1 mm spacing (nnU-Net's shape rule)\n"
    "  stitch           sliding window: ROI 128^3 (64^3 small), overlap 0.5, gaussian, C = 2, trivial\n"
    "                   predictor, batches of one x-row of tiles\n"
    "  pipeline         the library pipeline (voxtile run's) on the CT: rescale, 1.5 mm, window, 4-class bands\n"
    "                   model, ROI 96^3 (48^3 small), softmax, back to the input grid, labels\n"
    "Each: cold (first call) and warm (median of the rest) seconds, voxels/s, bytes per voxel it must move, and\n"
    "the fraction of this machine's memory bandwidth (triad, measured in the same run) that is.",
    groups, 0};

typedef struct bench_args {
    int want[NCASES], any, small, json;
    long runs;
    cli_exec exec;
} bench_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    bench_args *a = (bench_args *)user;
    switch (f->id) {
    case O_SIZE:
        if (strcmp(v, "full") && strcmp(v, "small")) {
            cli_error("bench", "--size: expected full or small, got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        a->small = !strcmp(v, "small");
        return 0;
    case O_RUNS:
        if (!cli_parse_int(v, 2, 32, &a->runs)) {
            cli_error("bench", "--runs: expected an integer in [2, 32], got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        return 0;
    case O_CASE:
        for (int i = 0; i < NCASES; i++)
            if (!strcmp(v, case_names[i])) {
                a->want[i] = a->any = 1;
                return 0;
            }
        cli_error("bench", "--case: unknown case '%s' (see voxtile bench --help)", v);
        return VXT_EXIT_USAGE;
    case O_JSON:
        a->json = 1;
        return 0;
    default:
        return cli_exec_flag("bench", &a->exec, f, v);
    }
}

/* The CT and the scratch outputs, touched (page faults are not the cases'), and the memory bandwidth. */
static int prepare(bench_ctx *b, int small, int threads, vxt_membw *bw)
{
    b->shape[0] = small ? 64 : 256;
    b->shape[1] = b->shape[2] = small ? 256 : 512;
    size_t vox = (size_t)(b->shape[0] * b->shape[1] * b->shape[2]);
    b->ct = malloc(vox * sizeof(int16_t));
    b->f32_elems = 2 * (size_t)(1.6 * 1.6 * 1.6 * (double)vox) + 2 * vox; /* the largest output: x1.6 or C=2 */
    b->f32 = malloc(b->f32_elems * sizeof(float));
    if (!b->ct || !b->f32) {
        cli_error("bench", "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    make_ct(b->ct, b->shape);
    memset(b->f32, 0, b->f32_elems * sizeof(float));
    if (vxt_bench_membw(threads, (size_t)(small ? 16 : 64) << 20, 3, bw) != 0 || !(bw->triad_gbs > 0)) {
        cli_error("bench", "cannot measure the memory bandwidth (out of memory for its %d MiB arrays)",
                  small ? 3 * 64 : 3 * 256);
        return VXT_EXIT_INTERNAL;
    }
    return 0;
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    bench_args *a = (bench_args *)args;
    (void)plan;
    a->runs = 5;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, NULL, 0, NULL);
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    memset(&a, 0, sizeof a);
    int n = 0, rc = parse(&a, argc, argv, NULL, &n, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    for (int i = 0; i < NCASES; i++)
        a.want[i] |= !a.any;
    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.runs = (int)a.runs;
    if ((rc = cli_context("bench", &a.exec, &b.ctx)) != 0)
        return rc;
    vxt_context_info ci = {.struct_size = sizeof ci};
    vxt_context_get_info(b.ctx, &ci);
    vxt_membw bw;
    bcase cases[NCASES];
    memset(cases, 0, sizeof cases);
    for (int i = 0; i < NCASES; i++)
        cases[i].name = case_names[i];
    if ((rc = prepare(&b, a.small, ci.cpu_threads, &bw)) == 0) {
        bench_norm(&b, cases, a.want);
        bench_resample(&b, cases, a.want);
        if (a.want[C_STITCH])
            bench_stitch(&b, &cases[C_STITCH], a.small);
        if (a.want[C_PIPELINE])
            bench_pipeline(&b, &cases[C_PIPELINE], a.small);
        rc = a.json ? report_json(&b, &ci, &bw, cases, a.want) : report_text(&b, &ci, &bw, cases, a.want);
        int failed = 0;
        for (int i = 0; i < NCASES; i++)
            failed |= a.want[i] && !cases[i].ok;
        if (failed && rc == 0) {
            cli_error("bench", "some cases failed");
            rc = VXT_EXIT_INTERNAL;
        }
    }
    free(b.ct);
    free(b.f32);
    vxt_context_destroy(b.ctx);
    return rc;
}

const cli_command cmd_bench_parsing = {&spec, sizeof(bench_args), parse, NULL};
