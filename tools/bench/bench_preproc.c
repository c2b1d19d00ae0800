/* bench_preproc.c - preprocessing benchmark on a 512x512x256 int16 CT phantom (docs/PERFORMANCE.md,
 * "Preprocessing"): CT window, z-score over non-zero voxels, percentile clip, trilinear x0.5 and x1.6, CT at
 * 0.78x0.78x2.5 mm to 1 mm (trilinear and nnU-Net's anisotropic variant), on the CPU backend and the OpenCL
 * device. Each case is timed cold (first call, fresh output memory) and warm (output reused; median of --reps),
 * with the bytes it must move, the memory bandwidth measured in the same run, and, with --ref, the ratio to
 * numpy/torch timed by tools/bench/bench_preproc_ref.py on the same machine.
 *
 *   vxt_bench_preproc [--backend cpu|opencl|both] [--reps N] [--threads N] [--ref ref.json] [--json out.json]
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "voxtile.h"

#define NZ 256
#define NY 512
#define NX 512

/* The CT phantom (tools/bench/bench_preproc_ref.py builds the same voxels): a body ellipse of soft tissue with
 * noise, two lungs, a spine, air around it and scanner padding (-2000) outside the circular field of view. */
static uint32_t hash3(uint32_t z, uint32_t y, uint32_t x)
{
    uint32_t h = (x * 73856093u) ^ (y * 19349663u) ^ (z * 83492791u);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return h;
}

static void phantom(int16_t *v)
{
    for (int64_t z = 0; z < NZ; z++)
        for (int64_t y = 0; y < NY; y++)
            for (int64_t x = 0; x < NX; x++) {
                uint32_t h = hash3((uint32_t)z, (uint32_t)y, (uint32_t)x);
                int32_t noise = (int32_t)(h & 255u) - 128;
                int64_t dx = x - 256, dy = y - 256;
                int32_t val;
                if (dx * dx + dy * dy > 255 * 255)
                    val = -2000; /* outside the field of view */
                else if (dx * dx * 220 * 220 + dy * dy * 180 * 180 > (int64_t)180 * 180 * 220 * 220)
                    val = -1000 + noise / 16; /* air */
                else {
                    int64_t lx = dx < 0 ? dx + 75 : dx - 75, ly = dy + 30;
                    int64_t sx = dx, sy = dy - 100;
                    if (lx * lx * 90 * 90 + ly * ly * 60 * 60 < (int64_t)60 * 60 * 90 * 90)
                        val = -850 + noise / 2; /* lungs */
                    else if (sx * sx + sy * sy < 30 * 30)
                        val = 400 + (int32_t)((h >> 8) & 1023u); /* spine */
                    else
                        val = 40 + noise / 4 + (int32_t)(z % 32) - 16; /* soft tissue */
                }
                v[(z * NY + y) * NX + x] = (int16_t)val;
            }
}

typedef struct bcase {
    const char *name;
    const char *ref; /* the Python reference it is compared with */
    int64_t out[3];
    double bytes; /* bytes the operation must move, at least */
} bcase;

static vxt_status run_case(vxt_context *ctx, int k, const vxt_volume *in, vxt_volume *out)
{
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    switch (k) {
    case 0:
        return vxt_window(ctx, in, out, -160.0, 240.0);
    case 1:
        return vxt_zscore(ctx, in, VXT_SELECT_NONZERO, NULL, out, NULL);
    case 2:
        return vxt_percentile_clip(ctx, in, VXT_SELECT_ALL, NULL, 0.5, 99.5, out, NULL);
    case 3:
        o.scale[0] = o.scale[1] = o.scale[2] = 0.5;
        return vxt_resample(ctx, in, out, &o);
    case 4:
        o.scale[0] = o.scale[1] = o.scale[2] = 1.6;
        return vxt_resample(ctx, in, out, &o);
    case 5:
        return vxt_resample(ctx, in, out, &o);
    case 6: {
        double sp[3] = {2.5, 0.78, 0.78}, one[3] = {1.0, 1.0, 1.0};
        vxt_status st = vxt_resample_options_nnunet(sp, one, 0, &o);
        return st != VXT_OK ? st : vxt_resample(ctx, in, out, &o);
    }
    case 7: { /* nnU-Net's image resampling, order 3: in-plane cubic, z nearest (2.5 / 0.78 > 3), clipped */
        double sp[3] = {2.5, 0.78, 0.78}, one[3] = {1.0, 1.0, 1.0};
        vxt_status st = vxt_resample_options_nnunet_order(sp, one, 3, &o);
        return st != VXT_OK ? st : vxt_resample(ctx, in, out, &o);
    }
    case 8: /* scipy.ndimage.zoom(order=3, mode='nearest', grid_mode=True) to half the size */
        o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_CUBIC;
        return vxt_resample(ctx, in, out, &o);
    default:
        return VXT_ERR_INVALID_ARGUMENT;
    }
}

/* CPU time of the whole process (all threads, PoCL's included): on a shared machine it shows the work done
 * independently of other load. */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double ref_time(const cJSON *ref, const char *name, const char *field)
{
    const cJSON *c = ref ? cJSON_GetObjectItemCaseSensitive(ref, name) : NULL;
    const cJSON *v = c ? cJSON_GetObjectItemCaseSensitive(c, field) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static cJSON *load_ref(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[got] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j)
        fprintf(stderr, "%s is not JSON\n", path);
    return j;
}

int main(int argc, char **argv)
{
    const char *backend = "both", *ref_path = NULL, *json_path = NULL, *only = NULL;
    int reps = 5, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref") && i + 1 < argc)
            ref_path = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--backend cpu|opencl|both] [--reps N] [--threads N] [--ref ref.json] "
                    "[--json out.json] [--case substring]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    cJSON *ref = ref_path ? load_ref(ref_path) : NULL;
    if (ref_path && !ref)
        return 1;

    const double nin = (double)NZ * NY * NX;
    bcase cases[] = {
        {"window", "numpy", {NZ, NY, NX}, nin * (2 + 4)},
        {"zscore_nonzero", "numpy", {NZ, NY, NX}, nin * (2 + 2 + 4)},
        {"percentile_clip", "numpy", {NZ, NY, NX}, nin * (2 + 2 + 4)},
        {"trilinear_x0.5", "torch", {128, 256, 256}, nin * 2 + 128.0 * 256 * 256 * 4},
        {"trilinear_x1.6", "torch", {409, 819, 819}, nin * 2 + 409.0 * 819 * 819 * 4},
        {"ct_to_1mm", "torch", {640, 399, 399}, nin * 2 + 640.0 * 399 * 399 * 4},
        {"ct_to_1mm_nnunet", "torch", {640, 399, 399}, nin * 2 + 640.0 * 399 * 399 * 4},
        {"cubic_ct_to_1mm_nnunet", "scipy", {640, 399, 399}, nin * 2 + 640.0 * 399 * 399 * 4},
        {"cubic_x0.5", "scipy", {128, 256, 256}, nin * 2 + 128.0 * 256 * 256 * 4},
    };
    const int ncases = (int)(sizeof cases / sizeof cases[0]);

    int16_t *ct = malloc((size_t)NZ * NY * NX * sizeof *ct);
    if (!ct)
        return 1;
    phantom(ct);
    vxt_volume in = {ct, VXT_DTYPE_I16, 1, {NZ, NY, NX}};

    vxt_membw bw;
    int bw_threads = threads > 0 ? threads : 2;
    if (vxt_bench_membw(bw_threads, (size_t)64 << 20, 3, &bw) != 0)
        return 1;
    printf("memory bandwidth (%d threads, 256 MiB arrays): copy %.1f GB/s, triad %.1f GB/s, read %.1f GB/s\n",
           bw.threads, bw.copy_gbs, bw.triad_gbs, bw.read_gbs);
    long long checksum = 0;
    for (size_t i = 0; i < (size_t)NZ * NY * NX; i++)
        checksum += ct[i];
    printf("input: %dx%dx%d int16 CT phantom (%.0f MiB, checksum %lld); warm = median of %d runs, output reused\n", NZ,
           NY, NX, nin * 2 / 1048576.0, checksum, reps);
    printf("bound = bytes that must move / copy bandwidth; %%bw = bound / warm time; cpu s = process CPU time per "
           "call\n\n");

    FILE *js = json_path ? fopen(json_path, "w") : NULL;
    if (js)
        fprintf(js, "{\"membw_copy_gbs\": %.3f, \"membw_triad_gbs\": %.3f, \"results\": [\n", bw.copy_gbs,
                bw.triad_gbs);
    int first_json = 1;

    for (int b = 0; b < 2; b++) {
        vxt_backend be = b == 0 ? VXT_BACKEND_CPU : VXT_BACKEND_OPENCL;
        if (strcmp(backend, "both") != 0 && strcmp(backend, vxt_backend_name(be)) != 0)
            continue;
        vxt_context_options opts;
        vxt_context_options_init(&opts);
        opts.backend = be;
        opts.cpu_threads = threads;
        vxt_context *ctx = NULL;
        if (vxt_context_create(&opts, &ctx) != VXT_OK) {
            printf("%s backend unavailable: %s\n\n", vxt_backend_name(be), vxt_last_error());
            continue;
        }
        vxt_context_info info = {.struct_size = sizeof info};
        vxt_context_get_info(ctx, &info);
        printf("backend %s: %s\n", vxt_backend_name(be), info.device_name);
        printf("%-18s %9s %9s %9s %9s %8s %6s %14s %8s\n", "case", "cold s", "warm s", "cpu s", "bound s", "GB/s",
               "%bw", "reference s", "speedup");
        /* programs are built (or loaded) once per context: build them on a small volume first */
        {
            vxt_volume small = {ct, VXT_DTYPE_I16, 1, {4, 8, 8}};
            float tmp[4 * 8 * 8 * 8];
            double t0 = vxt_bench_now();
            for (int k = 0; k < ncases; k++) {
                vxt_volume o = {tmp, VXT_DTYPE_F32, 1, {4, 8, 8}};
                if (k >= 3)
                    o.shape[0] = 6, o.shape[1] = 12, o.shape[2] = 12;
                run_case(ctx, k, &small, &o);
            }
            if (be == VXT_BACKEND_OPENCL)
                printf("(kernel programs built or loaded in %.2f s, not counted below)\n", vxt_bench_now() - t0);
        }
        for (int k = 0; k < ncases; k++) {
            bcase *c = &cases[k];
            if (only && !strstr(c->name, only))
                continue;
            vxt_volume out = {NULL, VXT_DTYPE_F32, 1, {c->out[0], c->out[1], c->out[2]}};
            size_t bytes = (size_t)c->out[0] * (size_t)c->out[1] * (size_t)c->out[2] * sizeof(float);
            out.data = malloc(bytes);
            if (!out.data) {
                printf("%-18s out of memory\n", c->name);
                continue;
            }
            double t0 = vxt_bench_now();
            vxt_status st = run_case(ctx, k, &in, &out);
            double cold = vxt_bench_now() - t0;
            if (st != VXT_OK) {
                printf("%-18s failed: %s\n", c->name, vxt_last_error());
                free(out.data);
                continue;
            }
            double *t = malloc(2 * (size_t)reps * sizeof *t), *tc = t + reps;
            for (int r = 0; r < reps; r++) {
                double c0 = cpu_seconds();
                t0 = vxt_bench_now();
                run_case(ctx, k, &in, &out);
                t[r] = vxt_bench_now() - t0;
                tc[r] = cpu_seconds() - c0;
            }
            double warm = vxt_bench_median(t, reps), cpu = vxt_bench_median(tc, reps);
            free(t);
            double bound = c->bytes / (bw.copy_gbs * 1e9);
            double rt = ref_time(ref, c->name, "warm_s");
            char refs[32] = "-", sp[32] = "-";
            if (rt > 0.0) {
                snprintf(refs, sizeof refs, "%s %.3f", c->ref, rt);
                snprintf(sp, sizeof sp, "%.1fx", rt / warm);
            }
            printf("%-18s %9.4f %9.4f %9.4f %9.4f %8.1f %5.0f%% %14s %8s\n", c->name, cold, warm, cpu, bound,
                   c->bytes / warm * 1e-9, 100.0 * bound / warm, refs, sp);
            if (js) {
                fprintf(js,
                        "%s  {\"backend\": \"%s\", \"case\": \"%s\", \"cold_s\": %.6f, \"warm_s\": %.6f, "
                        "\"cpu_s\": %.6f, \"bytes\": %.0f, \"bound_s\": %.6f, \"ref_s\": %.6f}",
                        first_json ? "" : ",\n", vxt_backend_name(be), c->name, cold, warm, cpu, c->bytes, bound, rt);
                first_json = 0;
            }
            free(out.data);
        }
        printf("\n");
        vxt_context_destroy(ctx);
    }
    if (js) {
        fprintf(js, "\n]}\n");
        fclose(js);
    }
    cJSON_Delete(ref);
    free(ct);
    return 0;
}
