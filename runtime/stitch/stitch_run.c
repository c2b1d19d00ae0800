/* stitch_run.c - vxt_stitch(): a session driven by a predictor callback. While the predictor works on batch k
 * (the caller's thread), the pool's workers cut batch k+1's tiles into the other input slot
 * (vxt__session_cut_ahead; on 2 cores with a trivial predictor: 0.44 s -> 0.41 s), and with a GPU a worker thread
 * accumulates batch k-1 (double buffering: it uploads the outputs and enqueues the kernels, which then run on the
 * device). Batches are still accumulated one after the other in plan order, so the result is the same as without
 * overlap. The predictor, the progress callback and the sink are only ever called from the caller's thread.
 *
 * Overlapping the accumulation pays only when it runs on other hardware than the predictor (a GPU). On the CPU
 * backend, or on an OpenCL device made of the host's own cores (PoCL), the predictor and the accumulation would
 * share the same cores: measured on 2 cores, overlapping made the benchmark 14% slower (docs/PERFORMANCE.md), so
 * there the batches are accumulated in line. Cutting ahead is cheap in comparison: copies, into a buffer the
 * predictor reads next. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stitch_internal.h"

typedef struct worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    vxt_session *ss;
    int has_job, busy, quit;
    uint64_t k;
    const void *out;
    vxt_status status;
    char msg[4096]; /* the worker thread's message of a failure (vxt_last_error() is per thread) */
} worker;

static void *worker_main(void *arg)
{
    worker *w = (worker *)arg;
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->has_job && !w->quit)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->quit)
            break;
        w->has_job = 0;
        uint64_t k = w->k;
        const void *out = w->out;
        pthread_mutex_unlock(&w->lock);
        vxt_status st = vxt__session_consume_begin(w->ss, k, out);
        pthread_mutex_lock(&w->lock);
        if (st != VXT_OK)
            vxt__strlcpy(w->msg, vxt_last_error(), sizeof w->msg);
        w->status = st;
        w->busy = 0;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void worker_start(worker *w, uint64_t k, const void *out)
{
    pthread_mutex_lock(&w->lock);
    w->k = k;
    w->out = out;
    w->has_job = 1;
    w->busy = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static vxt_status worker_wait(worker *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->busy)
        pthread_cond_wait(&w->cond, &w->lock);
    vxt_status st = w->status;
    pthread_mutex_unlock(&w->lock);
    return st;
}

/* A failure on the worker left its message in the worker's thread-local buffer, which the worker copied: that copy
 * is the run's message, for the caller's thread and the context. (Not the context's buffer: another thread's call on
 * the context may have failed since, and formatting that buffer into itself emptied it.) */
static vxt_status relay(vxt_context *ctx, const worker *w, vxt_status st)
{
    if (st != VXT_OK)
        vxt__fail(ctx, st, "%s", w->msg);
    return st;
}

/* Grouping (CPU backend, in line, host predictor, one member, no mirroring). Accumulating a tile costs a pass
 * over the accumulator rows it covers; tiles that start at the same z are accumulated in one pass over those
 * rows when they arrive in one call (kernels/stitch/stitch_cpu.c). With small batches (MONAI's default is 1) the
 * predictor's outputs of consecutive batches of one z row are therefore kept, up to VXT__GROUP_BYTES, and
 * accumulated together: the same additions in the same order per voxel (plan order), so the same bits, with fewer
 * passes. */
#define VXT__GROUP_BYTES ((size_t)128 << 20)
/* Grouping pays only when the predictor is fast (a trivial model, precomputed tiles): accumulation is then most of
 * the time. A slow model makes the saving negligible, and a group would delay progress, cancellation and NaN
 * reports by its whole duration; so a group ends after any predictor call slower than this. */
#define VXT__GROUP_SLOW_CALL_S 0.02

static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Tiles per group, a multiple of the batch size; 0 when grouping does not apply or would not gain. */
static uint64_t group_tiles(const vxt_context *ctx, const vxt__stitch *s, int device, int overlap)
{
    if (ctx->stitch_group == 2 || !s->can_group || device || overlap || s->M * s->F != 1)
        return 0;
    size_t tile_bytes = s->tile_out_elems * s->tile_es;
    if (tile_bytes % 64 != 0) /* every call's outputs start 64-byte aligned, as the batch buffers' do */
        return 0;
    uint64_t g = (uint64_t)((ctx->stitch_group_bytes ? ctx->stitch_group_bytes : VXT__GROUP_BYTES) / tile_bytes);
    if (g > (uint64_t)s->tiles_per_row)
        g = (uint64_t)s->tiles_per_row;
    if (g > VXT__GROUP_MAX_TILES)
        g = VXT__GROUP_MAX_TILES;
    /* whole rows of x tiles where one fits: a group then spans one ROI of y instead of two (a row and a piece of
     * the next), so its pass over the accumulator is up to a third shorter (512x512x256, ROI 128, batch 1: 8
     * tiles -> 7, accumulation 0.216 s -> 0.176 s) */
    if (g >= (uint64_t)s->nstarts[2]) {
        uint64_t rows = g - g % (uint64_t)s->nstarts[2];
        if (rows % s->B == 0 && rows >= 2 * s->B)
            g = rows;
    }
    g -= g % s->B;
    /* two tiles share a quarter of a pass at most, and their second buffer costs a tile's outputs: measured on
     * 1024x1024x512, C = 8, ROI 128 (64 MiB a tile), two-tile groups ran no faster and held 64 MiB more; so groups
     * start at four tiles (and two batches) */
    return g >= 2 * s->B && g >= 4 ? g : 0;
}

/* Whether accumulation runs beside the predictor (a thread of its own, two output buffers): OpenCL GPUs. */
static int overlaps(const vxt_context *ctx)
{
    return ctx->stitch_overlap == 1 ||
           (ctx->stitch_overlap == 0 && ctx->backend == VXT_BACKEND_OPENCL && !ctx->device_is_cpu);
}

int vxt__stitch_run_staged(const vxt_context *ctx, const vxt_stitch_options *opts)
{
    return (opts->flags & VXT_STITCH_DEVICE_PREDICTOR) ? 0 : overlaps(ctx) ? 2 : 1;
}

static size_t batch_output_bytes(const vxt_stitch_options *opts, const vxt_tiling_info *pi)
{
    return (size_t)opts->batch_size * (size_t)opts->out_channels * vxt_dtype_size(opts->tile_dtype) *
           (size_t)pi->roi[0] * (size_t)pi->roi[1] * (size_t)pi->roi[2];
}

size_t vxt__stitch_run_output_bytes(const vxt_context *ctx, const vxt__stitch *s)
{
    if (s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR)
        return 0;
    if (s->ops == &vxt__stitch_cl_ops && vxt__stitch_cl_stages(s))
        return vxt__stitch_cl_pinned_bytes(s); /* the backend's pinned buffers (allocated by it, their exact size) */
    const int overlap = overlaps(ctx);
    /* grouping needs the backend's can_group, which its init sets: always on the CPU, never in crop blending, on
     * OpenCL for the row-wise kernels on a device sharing host memory, one member, no mirroring */
    vxt__stitch g = *s;
    g.can_group = s->ops == &vxt__stitch_cpu_ops || (s->ops == &vxt__stitch_cl_ops && vxt__stitch_cl_can_group(s));
    uint64_t G = group_tiles(ctx, &g, 0, overlap);
    if (G > 0)
        return vxt__ws_round((size_t)G * s->tile_out_elems * s->tile_es);
    return (overlap ? 2u : 1u) * vxt__ws_round(batch_output_bytes(&s->opt, &s->pi));
}

uint64_t vxt__stitch_consume_tiles_max(const vxt_context *ctx, const vxt__stitch *s)
{
    vxt__stitch g = *s;
    g.can_group = 1; /* the most any backend could group */
    uint64_t G = group_tiles(ctx, &g, 0, 0);
    return G > s->B ? G : s->B;
}

static vxt_status run_grouped(vxt_context *ctx, vxt_session *ss, uint64_t G, vxt_predict_fn predict,
                              void *predict_user)
{
    vxt__stitch *s = vxt__session_stitch(ss);
    size_t tile_bytes = s->tile_out_elems * s->tile_es, buf_bytes = 0;
    unsigned char *buf = vxt__ws_alloc(ctx, (size_t)G * tile_bytes, &buf_bytes);
    if (!buf)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for tile outputs");
    vxt_batch batch;
    int done = 0;
    uint64_t k0 = 0, n = 0, tiles = 0; /* the group: calls k0 .. k0+n-1 holding `tiles` tiles */
    int64_t gz = -1;                   /* its z start (grid index) */
    vxt_status st = vxt_session_next_batch(ss, &batch, &done);
    while (st == VXT_OK && !done) {
        int64_t z_first = batch.tiles[0].grid_index[0], z_last = batch.tiles[batch.count - 1].grid_index[0];
        if (n > 0 && (tiles + (uint64_t)batch.count > G || z_first != gz)) {
            if ((st = vxt__session_consume_group(ss, k0, n, buf)) != VXT_OK)
                break;
            n = tiles = 0;
        }
        batch.output = buf + tiles * tile_bytes;
        double t0 = ctx->stitch_group_slow_s >= 0 ? mono_seconds() : 0.0;
        vxt__session_cut_ahead(ss);
        int rc = predict(predict_user, &batch);
        vxt__session_cut_join(ss);
        const int slow = ctx->stitch_group_slow_s >= 0 &&
                         mono_seconds() - t0 > (ctx->stitch_group_slow_s > 0 ? ctx->stitch_group_slow_s
                                                                             : VXT__GROUP_SLOW_CALL_S);
        if (rc != 0) {
            st = vxt__fail(ctx, VXT_ERR_PREDICTOR, "vxt_stitch: the predictor returned %d for batch %llu (tiles %llu .. "
                           "%llu, member %d, mirroring 0x%x)",
                           rc, (unsigned long long)batch.id, (unsigned long long)batch.first_tile,
                           (unsigned long long)(batch.first_tile + (uint64_t)batch.count - 1), batch.member, batch.flip);
            break;
        }
        vxt__session_release(ss, batch.id);
        if (n == 0) {
            k0 = batch.id;
            gz = z_first;
        }
        n++;
        tiles += (uint64_t)batch.count;
        if (z_last != z_first || slow) { /* the batch reaches into the next z row, or the model is slow: no more */
            if ((st = vxt__session_consume_group(ss, k0, n, buf)) != VXT_OK)
                break;
            n = tiles = 0;
        }
        st = vxt_session_next_batch(ss, &batch, &done);
    }
    if (st == VXT_OK && n > 0)
        st = vxt__session_consume_group(ss, k0, n, buf);
    vxt__ws_free(ctx, buf, buf_bytes);
    return st;
}

vxt_status vxt_stitch(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts, const vxt_volume *input,
                      vxt_predict_fn predict, void *predict_user, const vxt_stitch_output *output)
{
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(ctx, plan);
    VXT_CHECK_NULL(ctx, opts);
    VXT_CHECK_NULL(ctx, input);
    VXT_CHECK_NULL(ctx, predict);
    VXT_CHECK_NULL(ctx, output);
    vxt_session *ss = NULL;
    vxt_status st = vxt__session_open(ctx, plan, opts, input, output, 2, vxt__stitch_run_staged(ctx, opts), &ss);
    if (st != VXT_OK)
        return st;
    int device = (opts->flags & VXT_STITCH_DEVICE_PREDICTOR) != 0;
    int overlap = overlaps(ctx);
    uint64_t G = group_tiles(ctx, vxt__session_stitch(ss), device, overlap);
    if (G > 0) {
        st = run_grouped(ctx, ss, G, predict, predict_user);
        if (st != VXT_OK)
            vxt__session_fail(ss, st);
        else
            st = vxt_session_finish(ss);
        vxt_session_destroy(ss);
        return st;
    }
    void *outbuf[2] = {NULL, NULL}, *owned[2] = {NULL, NULL};
    size_t out_bytes = 0, out_actual[2] = {0, 0};
    if (!device) {
        const vxt_tiling_info *pi = vxt__tiling_info(plan);
        out_bytes = batch_output_bytes(opts, pi);
        /* two output buffers when a batch is accumulated while the predictor fills the next; one when in line (a
         * 104-class network's 128^3 tile outputs are 832 MiB). Where the device uploads them on a queue of its
         * own (a discrete GPU), they are its pinned staging buffers: the predictor writes where the upload reads,
         * and nothing is copied in between (docs/STITCHING.md, "On a discrete GPU"). */
        for (int i = 0; i < (overlap ? 2 : 1); i++) {
            outbuf[i] = vxt__stitch_cl_pinned(vxt__session_stitch(ss), i, out_bytes);
            if (!outbuf[i] && !(outbuf[i] = owned[i] = vxt__ws_alloc(ctx, out_bytes, &out_actual[i]))) {
                vxt__ws_free(ctx, owned[0], out_actual[0]);
                vxt_session_destroy(ss);
                return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for tile outputs");
            }
        }
    }
    worker w;
    memset(&w, 0, sizeof w);
    w.ss = ss;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    if (overlap && pthread_create(&w.thread, NULL, worker_main, &w) != 0) {
        pthread_cond_destroy(&w.cond);
        pthread_mutex_destroy(&w.lock);
        vxt__ws_free(ctx, owned[0], out_actual[0]);
        vxt__ws_free(ctx, owned[1], out_actual[1]);
        vxt_session_destroy(ss);
        return vxt__fail(ctx, VXT_ERR_THREAD, "vxt_stitch: cannot start the accumulation thread");
    }

    vxt_batch batch;
    int done = 0, pending = 0;
    uint64_t pending_k = 0;
    st = vxt_session_next_batch(ss, &batch, &done);
    while (st == VXT_OK && !done) {
        int slot = overlap ? (int)(batch.id % 2u) : 0;
        if (!device)
            batch.output = outbuf[slot];
        vxt__session_cut_ahead(ss);
        int rc = predict(predict_user, &batch);
        vxt__session_cut_join(ss);
        if (rc != 0) {
            st = vxt__fail(ctx, VXT_ERR_PREDICTOR, "vxt_stitch: the predictor returned %d for batch %llu (tiles %llu .. "
                           "%llu, member %d, mirroring 0x%x)",
                           rc, (unsigned long long)batch.id, (unsigned long long)batch.first_tile,
                           (unsigned long long)(batch.first_tile + (uint64_t)batch.count - 1), batch.member, batch.flip);
            break;
        }
        vxt__session_release(ss, batch.id); /* its input is no longer needed: the next call's may be cut into it */
        if (pending) { /* batch k-1 must be in before k starts: plan order */
            st = relay(ctx, &w, worker_wait(&w));
            pending = 0;
            if (st == VXT_OK)
                st = vxt__session_consume_end(ss, pending_k);
            if (st != VXT_OK)
                break;
        }
        if (!overlap) { /* in line */
            st = vxt__session_consume_begin(ss, batch.id, device ? NULL : outbuf[slot]);
            if (st == VXT_OK)
                st = vxt__session_consume_end(ss, batch.id);
            if (st != VXT_OK)
                break;
        } else {
            worker_start(&w, batch.id, device ? NULL : outbuf[slot]);
            pending = 1;
            pending_k = batch.id;
        }
        st = vxt_session_next_batch(ss, &batch, &done); /* cut the next tiles meanwhile */
    }
    if (pending) {
        vxt_status ws = relay(ctx, &w, worker_wait(&w));
        if (st == VXT_OK)
            st = ws;
        if (st == VXT_OK)
            st = vxt__session_consume_end(ss, pending_k);
    }
    if (overlap) {
        pthread_mutex_lock(&w.lock);
        w.quit = 1;
        pthread_cond_broadcast(&w.cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(w.thread, NULL);
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    if (st != VXT_OK)
        vxt__session_fail(ss, st);
    else
        st = vxt_session_finish(ss);
    vxt_session_destroy(ss); /* keeps the failure's message (and unmaps pinned output buffers) */
    vxt__ws_free(ctx, owned[0], out_actual[0]);
    vxt__ws_free(ctx, owned[1], out_actual[1]);
    return st;
}
