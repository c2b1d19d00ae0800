/* bench_stitch.c - sliding-window stitching throughput: a 512x512x256 float32 volume, ROI 128^3, overlap 0.5
 * (MONAI grid: 147 tiles), Gaussian importance, C = 2, a trivial predictor (channel c = input * (c+1), what
 * MONAI's benchmark predictor does), on the CPU backend and the OpenCL device, cold (first run in a fresh
 * context) and warm (median of the following runs), with this machine's memory bandwidth measured in the same
 * run. Usage: vxt_bench_stitch [--backend cpu|opencl|both] [--runs N] [--threads N] [--predictor-threads N]
 * [--predictor-stores stream|plain] [--shape Z,Y,X] [--roi R] [--channels C] [--batch B] [--labels]
 * [--importance gaussian|constant|crop] [--json]. --labels: labels only, through a sink, into a uint8 volume (what a
 * user who wants the label map keeps) instead of C float32 volumes of values; the bandwidth floor then counts one
 * byte a voxel written, and each backend's peak resident memory is reported beside what input and labels take.
 * The predictor stands for the network, which is not the library's: it runs on as many threads as the library
 * (--predictor-threads) and, on x86-64, writes with streaming stores (--predictor-stores), so that it moves the bytes
 * the floor counts for it; `library_s` and `library_floor_fraction` leave its time out (an upper bound for the
 * library: the pool's cutting of the next tiles overlaps the predictor and is counted in its time).
 * Results and method: docs/PERFORMANCE.md. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "voxtile.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define VXT_BENCH_STREAM 1
#else
#define VXT_BENCH_STREAM 0
#endif

typedef struct pred {
    int threads; /* the predictor's threads: a network runner uses every core, as torch does in MONAI's run */
    int stream;  /* non-temporal stores (x86-64): the outputs go to memory without being read first */
    double seconds;
} pred;

/* One predictor thread's share of a batch: voxels [v0, v1) of every item, in blocks small enough that the block's
 * input stays in L1 while the C channels are written, so each input voxel is read once and each output written once.
 * With plain stores the CPU reads every output line before writing it (read for ownership): 8C bytes a tile voxel
 * cross the memory bus, not the 4C the floor counts; streaming stores move the 4C. */
typedef struct pred_part {
    const vxt_batch *b;
    size_t v0, v1;
    int stream;
} pred_part;

static void scale_row(float *restrict out, const float *restrict in, size_t n, float s, int stream)
{
    size_t v = 0;
#if VXT_BENCH_STREAM
    if (stream) {
        for (; v < n && ((uintptr_t)(out + v) & 15) != 0; v++)
            out[v] = in[v] * s;
        const __m128 sv = _mm_set1_ps(s);
        for (; v + 4 <= n; v += 4)
            _mm_stream_ps(out + v, _mm_mul_ps(_mm_loadu_ps(in + v), sv));
    }
#else
    (void)stream;
#endif
    for (; v < n; v++)
        out[v] = in[v] * s;
}

static void *predict_part(void *arg)
{
    const pred_part *q = (const pred_part *)arg;
    const vxt_batch *b = q->b;
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]), block = 2048;
    for (int i = 0; i < b->count; i++) {
        const float *in = b->input + (size_t)i * (size_t)b->in_channels * roi;
        for (size_t v0 = q->v0; v0 < q->v1; v0 += block) {
            const size_t v1 = v0 + block < q->v1 ? v0 + block : q->v1;
            for (int64_t c = 0; c < b->out_channels; c++)
                scale_row((float *)b->output + ((size_t)i * (size_t)b->out_channels + (size_t)c) * roi + v0, in + v0,
                          v1 - v0, (float)(c + 1), q->stream);
        }
    }
#if VXT_BENCH_STREAM
    if (q->stream)
        _mm_sfence(); /* streaming stores are weakly ordered: visible before the thread is joined */
#endif
    return NULL;
}

#define PRED_MAX_THREADS 64

/* The trivial predictor: channel c = input * (c + 1), on p->threads threads (the caller's and p->threads - 1 more).
 * Shares start on multiples of 16 voxels (a 64-byte line of float32), so no two threads write one line. */
static int predictor(void *user, const vxt_batch *b)
{
    pred *p = (pred *)user;
    double t0 = vxt_bench_now();
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    pred_part parts[PRED_MAX_THREADS];
    pthread_t tid[PRED_MAX_THREADS];
    const int n = p->threads < 1 ? 1 : p->threads > PRED_MAX_THREADS ? PRED_MAX_THREADS : p->threads;
    int created[PRED_MAX_THREADS] = {0};
    for (int k = 0; k < n; k++) {
        const size_t v0 = k == 0 ? 0 : roi * (size_t)k / (size_t)n / 16 * 16;
        const size_t v1 = k == n - 1 ? roi : roi * (size_t)(k + 1) / (size_t)n / 16 * 16;
        parts[k] = (pred_part){b, v0, v1 > v0 ? v1 : v0, p->stream};
    }
    for (int k = 1; k < n; k++)
        created[k] = pthread_create(&tid[k], NULL, predict_part, &parts[k]) == 0;
    predict_part(&parts[0]);
    for (int k = 1; k < n; k++) {
        if (created[k])
            pthread_join(tid[k], NULL);
        else
            predict_part(&parts[k]); /* no thread for this share: the caller's thread does it */
    }
    p->seconds += vxt_bench_now() - t0;
    return 0;
}

/* --labels: each slab's labels into the whole labels volume. */
typedef struct label_sink {
    uint8_t *labels;
    size_t plane;
} label_sink;

static int sink(void *user, const vxt_slab *s)
{
    label_sink *k = (label_sink *)user;
    memcpy(k->labels + (size_t)s->z0 * k->plane, s->labels, (size_t)(s->z1 - s->z0) * k->plane);
    return 0;
}

static int parse3(const char *s, int64_t v[3])
{
    long long a, b, c;
    if (sscanf(s, "%lld,%lld,%lld", &a, &b, &c) == 3) {
        v[0] = a;
        v[1] = b;
        v[2] = c;
        return 1;
    }
    if (sscanf(s, "%lld", &a) == 1) {
        v[0] = v[1] = v[2] = a;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *which = "both";
    int runs = 5, threads = 0, json = 0, batch = 1, labels_only = 0, pred_threads = 0,
        pred_stream = VXT_BENCH_STREAM;
    const char *importance = "gaussian";
    int64_t shape[3] = {256, 512, 512}, roi[3] = {128, 128, 128}, C = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            which = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--predictor-threads") && i + 1 < argc)
            pred_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--predictor-stores") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "plain") || (VXT_BENCH_STREAM && !strcmp(argv[i + 1], "stream"))))
            pred_stream = !strcmp(argv[++i], "stream");
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc && parse3(argv[i + 1], shape))
            i++;
        else if (!strcmp(argv[i], "--roi") && i + 1 < argc && parse3(argv[i + 1], roi))
            i++;
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            C = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--labels"))
            labels_only = 1;
        else if (!strcmp(argv[i], "--importance") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "gaussian") || !strcmp(argv[i + 1], "constant") || !strcmp(argv[i + 1], "crop")))
            importance = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--backend cpu|opencl|both] [--runs N] [--threads N] [--predictor-threads N] "
                            "[--predictor-stores stream|plain] [--shape Z,Y,X] [--roi R] [--channels C] [--batch B] "
                            "[--labels] [--importance gaussian|constant|crop] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 2)
        runs = 2;
    if (threads <= 0) { /* the library's default: every core it may run on */
        vxt_context_options co;
        vxt_context_options_init(&co);
        co.backend = VXT_BACKEND_CPU;
        vxt_context *probe = NULL;
        vxt_context_info ci = {.struct_size = sizeof ci};
        if (vxt_context_create(&co, &probe) == VXT_OK && vxt_context_get_info(probe, &ci) == VXT_OK)
            threads = ci.cpu_threads;
        vxt_context_destroy(probe);
        if (threads <= 0)
            threads = 1;
    }
    if (pred_threads <= 0)
        pred_threads = threads;
    if (pred_threads > PRED_MAX_THREADS)
        pred_threads = PRED_MAX_THREADS;
    size_t vox = (size_t)(shape[0] * shape[1] * shape[2]);
    if (C < 1 || C > 65535 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1) {
        fprintf(stderr, "--channels: 1 to 65535; --shape: each at least 1\n");
        return 2;
    }
    float *vol = malloc(vox * sizeof(float));
    /* the outputs a caller keeps: C float32 volumes of values, or (--labels) one uint8 volume of labels */
    const size_t out_bytes = labels_only ? vox : vox * (size_t)C * sizeof(float);
    void *out = malloc(out_bytes);
    if (!vol || !out) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    vxt_bench_fill_uniform(vol, vox, -1000.0f, 2000.0f, 42);
    memset(out, 0, out_bytes); /* touched: the output's page faults are not ours */

    vxt_membw bw;
    if (vxt_bench_membw(threads, (size_t)64 << 20, 5, &bw) != 0 || !(bw.triad_gbs > 0.0)) {
        fprintf(stderr, "the memory bandwidth test failed (out of memory?)\n");
        return 1;
    }

    vxt_tiling_options po;
    vxt_tiling_options_init(&po);
    memcpy(po.shape, shape, sizeof po.shape);
    memcpy(po.roi, roi, sizeof po.roi);
    po.overlap[0] = po.overlap[1] = po.overlap[2] = 0.5;
    vxt_tiling *plan = NULL;
    if (vxt_tiling_create(&po, &plan) != VXT_OK) {
        fprintf(stderr, "%s\n", vxt_last_error());
        return 1;
    }
    vxt_tiling_info pi = {.struct_size = sizeof pi};
    vxt_tiling_get_info(plan, &pi);
    double tile_vox = (double)pi.tile_count * (double)(roi[0] * roi[1] * roi[2]);
    /* Bytes every run must move (see docs/PERFORMANCE.md): per tile voxel, the extracted input written and read by
     * the predictor (8), the predictor's C outputs written and read (8C), the accumulators read and written (8C);
     * per volume voxel, the volume read (4) and C results written (4C). Crop blending accumulates nothing: no 8C of
     * accumulators. */
    const int crop = !strcmp(importance, "crop");
    double floor_bytes = tile_vox * (8.0 + (crop ? 8.0 : 16.0) * (double)C) +
                         (double)vox * (4.0 + (labels_only ? 1.0 : 4.0 * (double)C));
    /* of those, the predictor's own: its input read (4) and its outputs written (4C); the rest is the library's */
    const double pred_bytes = tile_vox * (4.0 + 4.0 * (double)C), lib_bytes = floor_bytes - pred_bytes;

    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = C;
    so.batch_size = batch > 0 ? batch : 1;
    so.importance = crop ? VXT_IMPORTANCE_CROP : !strcmp(importance, "constant") ? VXT_IMPORTANCE_CONSTANT
                                                                                : VXT_IMPORTANCE_GAUSSIAN;
    vxt_volume in = {vol, VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};
    vxt_volume ov = {out, VXT_DTYPE_F32, C, {shape[0], shape[1], shape[2]}};
    vxt_stitch_output so_out;
    vxt_stitch_output_init(&so_out);
    label_sink ls = {(uint8_t *)out, (size_t)(shape[1] * shape[2])};
    if (labels_only) {
        so.label_dtype = VXT_DTYPE_U8;
        so_out.sink = sink;
        so_out.sink_user = &ls;
        so_out.want_labels = 1;
    } else {
        so_out.values = &ov;
    }
    const double kept = (double)vox * 4.0 + (double)out_bytes; /* input and outputs, the caller's */

    if (!json)
        printf("volume %lldx%lldx%lld, ROI %lldx%lldx%lld, overlap 0.5, %s, C=%lld, batch %d%s: %llu tiles, %.0f M "
               "tile voxels; %d library threads, %d predictor threads (%s stores)\n"
               "memory bandwidth (%d threads): copy %.1f GB/s, triad %.1f GB/s, read-modify-write %.1f GB/s\n"
               "bandwidth floor: %.2f GB moved = %.3f s at this triad bandwidth\n",
               (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)roi[0], (long long)roi[1],
               (long long)roi[2], importance, (long long)C, so.batch_size, labels_only ? ", labels only through a sink" : "",
               (unsigned long long)pi.tile_count, tile_vox * 1e-6, threads, pred_threads,
               pred_stream ? "streaming" : "plain", bw.threads,
               bw.copy_gbs, bw.triad_gbs, bw.rmw_gbs, floor_bytes * 1e-9, floor_bytes * 1e-9 / bw.triad_gbs);
    if (json)
        printf("{\"shape\":[%lld,%lld,%lld],\"roi\":[%lld,%lld,%lld],\"channels\":%lld,\"importance\":\"%s\","
               "\"labels_only\":%s,\"threads\":%d,\"predictor_threads\":%d,\"predictor_stores\":\"%s\","
               "\"bandwidth_threads\":%d,"
               "\"tiles\":%llu,\"bandwidth_gbs\":{\"copy\":%.2f,\"triad\":%.2f,\"rmw\":%.2f},\"floor_bytes\":%.0f,"
               "\"input_output_bytes\":%.0f,\"runs\":[",
               (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)roi[0], (long long)roi[1],
               (long long)roi[2], (long long)C, importance, labels_only ? "true" : "false", threads, pred_threads,
               pred_stream ? "stream" : "plain", bw.threads, (unsigned long long)pi.tile_count,
               bw.copy_gbs, bw.triad_gbs, bw.rmw_gbs, floor_bytes, kept);
    const char *names[2] = {"cpu", "opencl"};
    int first = 1;
    for (int b = 0; b < 2; b++) {
        if (strcmp(which, "both") != 0 && strcmp(which, names[b]) != 0)
            continue;
        vxt_context_options co;
        vxt_context_options_init(&co);
        co.backend = b == 0 ? VXT_BACKEND_CPU : VXT_BACKEND_OPENCL;
        co.cpu_threads = threads;
        vxt_context *ctx = NULL;
        if (vxt_context_create(&co, &ctx) != VXT_OK) {
            fprintf(stderr, "%s: %s\n", names[b], vxt_last_error());
            continue;
        }
        /* what the library says this case holds, before it runs (vxt_stitch_estimate) */
        vxt_memory_estimate est = {.struct_size = sizeof est};
        const int have_est = vxt_stitch_estimate(ctx, plan, &so, 1, &so_out, &est) == VXT_OK;
        double *t = malloc((size_t)runs * sizeof(double)), *tp = malloc((size_t)runs * sizeof(double));
        vxt_bench_peak *pk = vxt_bench_peak_start();
        for (int r = 0; r < runs; r++) {
            pred p = {pred_threads, pred_stream, 0.0};
            double t0 = vxt_bench_now();
            if (vxt_stitch(ctx, plan, &so, &in, predictor, &p, &so_out) != VXT_OK) {
                fprintf(stderr, "%s: %s\n", names[b], vxt_last_error());
                return 1;
            }
            t[r] = vxt_bench_now() - t0;
            tp[r] = p.seconds;
        }
        const uint64_t peak = vxt_bench_peak_stop(pk);
        const double cold = t[0], warm = vxt_bench_median(t + 1, runs - 1), pw = vxt_bench_median(tp + 1, runs - 1);
        double best = t[1];
        for (int r = 2; r < runs; r++)
            best = t[r] < best ? t[r] : best;
        /* this VM's bandwidth drifts (other tenants): measure it again after the runs and take the floor at the
         * higher of the two triads, i.e. the shorter floor time */
        vxt_membw after;
        if (vxt_bench_membw(threads, (size_t)64 << 20, 5, &after) != 0)
            after = bw; /* the floor then stands on the first measurement alone */
        double triad = after.triad_gbs > bw.triad_gbs ? after.triad_gbs : bw.triad_gbs;
        double floor_s = floor_bytes * 1e-9 / triad, lib_floor_s = lib_bytes * 1e-9 / triad;
        /* the library's time: each warm run's time less its predictor's (median) */
        for (int r = 1; r < runs; r++)
            tp[r] = t[r] - tp[r];
        const double lib = vxt_bench_median(tp + 1, runs - 1);
        if (json) {
            printf("%s{\"backend\":\"%s\",\"cold_s\":%.4f,\"warm_s\":%.4f,\"best_s\":%.4f,\"predictor_s\":%.4f,"
                   "\"triad_after_gbs\":%.2f,\"floor_s\":%.4f,\"floor_fraction\":%.3f,\"floor_fraction_warm\":%.3f,"
                   "\"library_s\":%.4f,\"library_floor_s\":%.4f,\"library_floor_fraction\":%.3f,"
                   "\"peak_rss_bytes\":%llu,\"peak_beyond_input_output_bytes\":%.0f,\"estimate_bytes\":%llu}",
                   first ? "" : ",", names[b], cold, warm, best, pw, after.triad_gbs, floor_s, floor_s / warm,
                   floor_s / warm, lib, lib_floor_s, lib_floor_s / lib, (unsigned long long)peak, (double)peak - kept,
                   have_est ? (unsigned long long)est.peak_bytes : 0ull);
            first = 0;
        } else {
            printf("%-6s cold %.3f s, warm %.3f s (best %.3f; predictor %.3f s); %.1f GB/s effective; triad after the "
                   "runs %.1f GB/s; %.0f%% of the bandwidth floor (%.3f s at %.1f GB/s, the higher triad)\n",
                   names[b], cold, warm, best, pw, floor_bytes * 1e-9 / warm, after.triad_gbs, 100.0 * floor_s / warm,
                   floor_s, triad);
            printf("       the library alone (warm less the predictor): %.3f s, %.0f%% of its share of the floor "
                   "(%.3f s)\n", lib, 100.0 * lib_floor_s / lib, lib_floor_s);
            printf("       peak resident %.2f GiB: %.2f GiB beyond the input and outputs (%.2f GiB); the library's "
                   "estimate before the runs %.2f GiB\n", (double)peak / 1073741824.0,
                   ((double)peak - kept) / 1073741824.0, kept / 1073741824.0,
                   have_est ? (double)est.peak_bytes / 1073741824.0 : 0.0);
        }
        free(t);
        free(tp);
        vxt_context_destroy(ctx);
    }
    if (json)
        printf("]}\n");
    vxt_tiling_destroy(plan);
    free(vol);
    free(out);
    return 0;
}
