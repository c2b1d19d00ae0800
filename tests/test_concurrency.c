/* test_concurrency.c - one context shared by many threads: every run gives the bits it gives alone.
 *
 * What it proves (issue 13 item 6): ONE vxt_context is used by 8 threads x 30 runs at once. The runs vary the tile
 * grids (MONAI, nnU-Net, voxels; volume shapes, ROIs and overlaps with partial tiles at the edges and padded
 * axes), the arithmetic (float32, float16 and float64 accumulation; Gaussian, nnU-Net Gaussian, constant, Hann and
 * crop weights; ensembles of logits and of probabilities; softmax, sigmoid, label rules), batch sizes, test-time
 * mirroring, and how a run is driven (vxt_stitch into volumes or into a sink, a pull/push session answered out of
 * order, and on OpenCL the device predictor form). Inputs are random (a seed per job) and outputs are poisoned with
 * a NaN pattern before every run. Each result is compared bit for bit with the same job computed single-threaded on
 * the same context beforehand. Meanwhile another thread keeps calling vxt_context_trim, vxt_context_get_info,
 * vxt_last_error and vxt_tiling_get_info on the shared tilings (and vxt_context_cl_handles on OpenCL) until the
 * workers are done. (vxt_context_last_error is read only after the threads have joined: it is one buffer that every
 * failure on the context rewrites, and reading it meanwhile is a data race, as its documentation says.)
 *
 * Failures: every seventh run of each thread has its model fail on one call (its first, middle or last; a run
 * makes up to a few hundred calls, so failing every seventh call would fail every run): the predictor returns a
 * code unique to the thread and run, or writes NaN into its output (a session has no predictor to fail: there the
 * model's failure is a NaN it hands back). That run must return VXT_ERR_PREDICTOR or VXT_ERR_NONFINITE with a
 * one-line message of its own (naming its code and batch: the message of another thread's failure would not
 * match), leave its output volumes poisoned, and the thread's next run must succeed and match.
 *
 * Groups: `cpu`, `opencl` (PoCL's defaults: accumulation in line, row-wise kernels), and `opencl_gpu_paths`
 * (double buffering on vxt_stitch's accumulation thread, the per-voxel kernels and the upload queue with pinned
 * staging: what a discrete GPU runs). Worker threads
 * never call cmocka (it is not thread-safe): they record what went wrong and the main thread asserts. CI runs this
 * file under ThreadSanitizer too (.ci/run).
 *
 * It can fail: with every run's tile outputs in one shared scratch buffer, or vxt_last_error()'s buffer shared by
 * all threads, it fails (checked by breaking the library on purpose). It found that a failure on vxt_stitch's
 * accumulation thread was reported with the context's latest message, which another thread may have written, and
 * left the context's message empty (test_accumulation_thread_failure_message). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "vxt_arith.h"
#include "vxt_test.h"

enum { THREADS = 8, RUNS = 30, SEEDS = 2, FAIL_EVERY = 7, MAX_OUTSTANDING = 3 };

#define NO_FAIL UINT64_MAX

/* ---- the jobs ----------------------------------------------------------------------------------------------- */

typedef enum drive {
    DRIVE_STITCH,  /* vxt_stitch into output volumes */
    DRIVE_SINK,    /* vxt_stitch into a sink, slab by slab */
    DRIVE_SESSION, /* a pull/push session, batches answered out of order */
    DRIVE_DEVICE,  /* vxt_stitch with the device predictor form (OpenCL; vxt_stitch into volumes on the CPU) */
} drive;

typedef struct ccase {
    const char *name;
    int64_t shape[3], roi[3];
    int cin;
    vxt_grid grid;
    double overlap; /* MONAI overlap; nnU-Net step 1 - overlap */
    int64_t ov_vox; /* VXT_GRID_VOXELS */
    vxt_pad pad;
    int64_t C;
    vxt_importance imp;
    vxt_accumulate acc;
    vxt_dtype tile;
    int batch;
    unsigned mirror;
    int members;
    vxt_ensemble ensemble;
    vxt_activation act;
    vxt_label_rule rule;
    int values, labels;
    vxt_dtype label_dtype;
    drive drive;
} ccase;

static const int32_t REGION_LABELS[3] = {3, 1, 2};

static const ccase CASES[] = {
    {"monai-gaussian-f32", {19, 27, 30}, {8, 12, 12}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 1, 0, 1, VXT_ENSEMBLE_LOGITS, VXT_ACTIVATION_NONE,
     VXT_LABELS_ARGMAX, 1, 0, VXT_DTYPE_U8, DRIVE_STITCH},
    {"monai-softmax-batch3-sink", {17, 25, 22}, {8, 10, 12}, 2, VXT_GRID_MONAI, 0.25, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 3, 0, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_SOFTMAX, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_SINK},
    {"nnunet-f16-mirror-zyx", {15, 22, 26}, {8, 12, 12}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F16, 2, 7, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_SOFTMAX, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U16, DRIVE_STITCH},
    {"nnunet-f16-ensemble-session", {18, 20, 24}, {8, 8, 12}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F16, 2, 3, 2, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_NONE, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_SESSION},
    {"f64-constant-sigmoid-threshold", {13, 26, 21}, {6, 10, 10}, 1, VXT_GRID_MONAI, 0.4, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_CONSTANT, VXT_ACCUMULATE_FLOAT64, VXT_DTYPE_F32, 4, 4, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_SIGMOID, VXT_LABELS_THRESHOLD, 1, 1, VXT_DTYPE_U8, DRIVE_STITCH},
    {"voxels-hann-probability-ensemble-sink", {16, 24, 20}, {8, 12, 10}, 1, VXT_GRID_VOXELS, 0, 3, VXT_PAD_CONSTANT,
     2, VXT_IMPORTANCE_HANN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 0, 3, VXT_ENSEMBLE_PROBABILITIES,
     VXT_ACTIVATION_SOFTMAX, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_SINK},
    {"crop-mirror-y", {20, 22, 25}, {10, 12, 12}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 3, VXT_IMPORTANCE_CROP,
     VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 2, 1, VXT_ENSEMBLE_LOGITS, VXT_ACTIVATION_SOFTMAX, VXT_LABELS_ARGMAX, 1,
     1, VXT_DTYPE_U8, DRIVE_STITCH},
    {"crop-f16-members-labels-sink", {14, 30, 18}, {8, 12, 10}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_CROP, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F16, 1, 0, 2, VXT_ENSEMBLE_LOGITS, VXT_ACTIVATION_SOFTMAX,
     VXT_LABELS_ARGMAX, 0, 1, VXT_DTYPE_U8, DRIVE_SINK},
    {"reflect-pad-small-volume-session", {5, 11, 40}, {8, 16, 12}, 1, VXT_GRID_MONAI, 0.25, 0, VXT_PAD_REFLECT, 2,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 1, 1, VXT_ENSEMBLE_LOGITS, VXT_ACTIVATION_NONE,
     VXT_LABELS_ARGMAX, 1, 0, VXT_DTYPE_U8, DRIVE_SESSION},
    {"replicate-pad-f16-tiles-batch1", {7, 33, 9}, {8, 12, 12}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_REPLICATE, 2,
     VXT_IMPORTANCE_CONSTANT, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F16, 1, 0, 1, VXT_ENSEMBLE_LOGITS, VXT_ACTIVATION_NONE,
     VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_STITCH},
    {"2d-softmax-mirror-yx", {1, 40, 45}, {1, 16, 16}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 5, 6, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_SOFTMAX, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_STITCH},
    {"device-predictor-f16-accumulation", {16, 20, 24}, {8, 10, 12}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F32, 2, 0, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_NONE, VXT_LABELS_ARGMAX, 1, 1, VXT_DTYPE_U8, DRIVE_DEVICE},
    {"regions-sigmoid-session", {12, 18, 20}, {6, 10, 10}, 2, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 3, 0, 1, VXT_ENSEMBLE_LOGITS,
     VXT_ACTIVATION_SIGMOID, VXT_LABELS_REGIONS, 1, 1, VXT_DTYPE_U8, DRIVE_SESSION},
};
#define NCASES (sizeof CASES / sizeof CASES[0])
#define NJOBS (NCASES * SEEDS)

/* A case with an input: its tiling is shared by every thread (tilings are immutable), its reference result is the
 * single-threaded run's. */
typedef struct job {
    const ccase *c;
    drive drive;
    uint64_t seed;
    vxt_tiling *tiling;
    uint64_t ncalls; /* predictor calls of a run: batches x members x mirrorings */
    float *input;
    size_t vox, nvals, nlabs, lab_es;
    float *ref_values;
    void *ref_labels;
} job;

/* ---- the model ---------------------------------------------------------------------------------------------- */

typedef struct model {
    const job *j;
    vxt_context *ctx;  /* device form: the queue */
    uint64_t fail_id;  /* the batch (call) that fails; NO_FAIL */
    int fail_nan;      /* it hands back NaN instead of returning fail_code */
    int fail_code;
    int device_error;  /* an OpenCL call of the device form failed */
} model;

/* Channel c at local voxel (z, y, x) of tile `item` (the predictor's frame, flipped when mirrored), input v: not
 * linear in v, different per tile, channel, member and mirroring. */
static float pred_value(const vxt_batch *b, int item, int64_t c, int64_t z, int64_t y, int64_t x, float v)
{
    const vxt_tile *t = &b->tiles[item];
    float pos = (float)(t->start[0] * 3 + t->start[1] * 5 + t->start[2] * 7) * 0.01f;
    float local = (float)z * 0.125f - (float)y * 0.0625f + (float)x * 0.03125f;
    return v * (0.5f + 0.25f * (float)c) + 0.0625f * v * v * (float)(c % 2) + pos - local + (float)b->member * 0.75f +
           (float)b->flip * 0.1875f - (float)c;
}

static void fill_outputs(const model *m, const vxt_batch *b, const float *in, void *out)
{
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (int item = 0; item < b->count; item++)
        for (int64_t c = 0; c < b->out_channels; c++) {
            const float *src = in + ((size_t)item * (size_t)b->in_channels + (size_t)(c % b->in_channels)) * roi;
            const size_t o0 = ((size_t)item * (size_t)b->out_channels + (size_t)c) * roi;
            const int nan = m->fail_nan && b->id == m->fail_id && item == 0 && c == 0;
            size_t v = 0;
            for (int64_t z = 0; z < b->roi[0]; z++)
                for (int64_t y = 0; y < b->roi[1]; y++)
                    for (int64_t x = 0; x < b->roi[2]; x++, v++) {
                        float o = nan ? NAN : pred_value(b, item, c, z, y, x, src[v]);
                        if (b->output_dtype == VXT_DTYPE_F16)
                            ((uint16_t *)out)[o0 + v] = vxt_float_to_half(o);
                        else
                            ((float *)out)[o0 + v] = o;
                    }
        }
}

static int predictor(void *user, const vxt_batch *b)
{
    model *m = (model *)user;
    if (b->id == m->fail_id && !m->fail_nan)
        return m->fail_code;
    if (b->input) {
        fill_outputs(m, b, b->input, b->output);
        return 0;
    }
    /* the device form: the model talks OpenCL on the context's queue (shared by every thread) */
    struct _cl_command_queue *q = NULL;
    if (vxt_context_cl_handles(m->ctx, NULL, NULL, &q) != VXT_OK) {
        m->device_error = 1;
        return 1;
    }
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    const size_t in_bytes = (size_t)b->count * (size_t)b->in_channels * roi * sizeof(float);
    const size_t out_bytes = (size_t)b->count * (size_t)b->out_channels * roi * vxt_dtype_size(b->output_dtype);
    float *in = malloc(in_bytes);
    void *out = malloc(out_bytes);
    int rc = 1;
    if (in && out && clEnqueueReadBuffer(q, b->input_cl, CL_TRUE, 0, in_bytes, in, 0, NULL, NULL) == CL_SUCCESS) {
        fill_outputs(m, b, in, out);
        rc = clEnqueueWriteBuffer(q, b->output_cl, CL_TRUE, 0, out_bytes, out, 0, NULL, NULL) == CL_SUCCESS ? 0 : 1;
    }
    m->device_error |= rc;
    free(in);
    free(out);
    return rc;
}

/* ---- one run ------------------------------------------------------------------------------------------------ */

typedef struct run_out {
    vxt_status st;
    float *values;
    void *labels;
    char msg[4096]; /* vxt_last_error() right after a failed run */
    const char *bad; /* what the driver saw go wrong besides the status (NULL: nothing) */
} run_out;

typedef struct sink_state {
    const job *j;
    float *values;
    void *labels;
    int64_t next_z;
    int bad;
} sink_state;

/* Slabs must come in order and cover the volume; copied into the run's volumes. */
static int sink(void *user, const vxt_slab *slab)
{
    sink_state *s = (sink_state *)user;
    const job *j = s->j;
    if (slab->z0 != s->next_z || slab->z1 <= slab->z0 || slab->z1 > j->c->shape[0] ||
        (j->c->values && !slab->values) || (j->c->labels && !slab->labels)) {
        s->bad = 1;
        return 1;
    }
    const size_t plane = (size_t)(j->c->shape[1] * j->c->shape[2]), n = (size_t)(slab->z1 - slab->z0) * plane;
    if (j->c->values)
        for (int64_t c = 0; c < j->c->C; c++)
            memcpy(s->values + ((size_t)c * (size_t)j->c->shape[0] + (size_t)slab->z0) * plane,
                   slab->values + (size_t)c * n, n * sizeof(float));
    if (j->c->labels)
        memcpy((char *)s->labels + (size_t)slab->z0 * plane * j->lab_es, slab->labels, n * j->lab_es);
    s->next_z = slab->z1;
    return 0;
}

static vxt_stitch_options job_options(const job *j)
{
    const ccase *c = j->c;
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = c->C;
    so.tile_dtype = c->tile;
    so.importance = c->imp;
    so.accumulate = c->acc;
    so.batch_size = c->batch;
    so.mirror_axes = c->mirror;
    so.members = c->members;
    so.ensemble = c->ensemble;
    so.activation = c->act;
    so.label_rule = c->rule;
    so.label_dtype = c->label_dtype;
    so.region_labels = c->rule == VXT_LABELS_REGIONS ? REGION_LABELS : NULL;
    so.max_outstanding = MAX_OUTSTANDING;
    if (j->drive == DRIVE_DEVICE)
        so.flags |= VXT_STITCH_DEVICE_PREDICTOR;
    return so;
}

/* A session answered out of order: up to MAX_OUTSTANDING batches handed out, then answered in a shuffled order. */
static vxt_status drive_session(vxt_context *ctx, const job *j, const vxt_stitch_options *so, const vxt_volume *in,
                                const vxt_stitch_output *out, model *m, vxt_rng *rng)
{
    vxt_session *ss = NULL;
    vxt_status st = vxt_session_create(ctx, j->tiling, so, in, out, &ss);
    if (st != VXT_OK)
        return st;
    const size_t roi = (size_t)(j->c->roi[0] * j->c->roi[1] * j->c->roi[2]);
    const size_t out_bytes = (size_t)j->c->batch * (size_t)j->c->C * roi * vxt_dtype_size(j->c->tile);
    void *bufs[MAX_OUTSTANDING] = {NULL};
    vxt_batch held[MAX_OUTSTANDING];
    for (int i = 0; i < MAX_OUTSTANDING; i++)
        if (!(bufs[i] = malloc(out_bytes)))
            st = VXT_ERR_OUT_OF_MEMORY;
    int done = 0;
    while (st == VXT_OK && !done) {
        int n = 0;
        while (st == VXT_OK && n < MAX_OUTSTANDING && !done) {
            st = vxt_session_next_batch(ss, &held[n], &done);
            if (st == VXT_OK && !done)
                n++;
        }
        for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
            int k = (int)(vxt_rng_u32(rng) % (uint32_t)(i + 1));
            vxt_batch t = held[i];
            held[i] = held[k];
            held[k] = t;
        }
        for (int i = 0; i < n && st == VXT_OK; i++) {
            held[i].output = bufs[i];
            fill_outputs(m, &held[i], held[i].input, bufs[i]);
            st = vxt_session_submit(ss, held[i].id, bufs[i]);
        }
    }
    if (st == VXT_OK)
        st = vxt_session_finish(ss);
    vxt_session_destroy(ss);
    for (int i = 0; i < MAX_OUTSTANDING; i++)
        free(bufs[i]);
    return st;
}

/* Run job j once (failing on batch fail_id unless NO_FAIL) into fresh, poisoned outputs; a session answers in an
 * order drawn from order_seed. */
static void run_job(vxt_context *ctx, const job *j, uint64_t fail_id, int fail_nan, int fail_code, uint64_t order_seed,
                    run_out *r)
{
    memset(r, 0, sizeof *r);
    r->values = malloc(j->nvals * sizeof(float) + 1);
    r->labels = malloc(j->nlabs * j->lab_es + 1);
    if (!r->values || !r->labels) {
        r->st = VXT_ERR_OUT_OF_MEMORY;
        r->bad = "out of memory in the test";
        return;
    }
    vxt_poison(r->values, j->nvals * sizeof(float));
    vxt_poison(r->labels, j->nlabs * j->lab_es);
    const ccase *c = j->c;
    vxt_volume in = {j->input, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vals = {r->values, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume labs = {r->labels, c->label_dtype, 1, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    sink_state ks = {j, r->values, r->labels, 0, 0};
    if (j->drive == DRIVE_SINK) {
        out.sink = sink;
        out.sink_user = &ks;
        out.want_values = c->values;
        out.want_labels = c->labels;
    } else {
        out.values = c->values ? &vals : NULL;
        out.labels = c->labels ? &labs : NULL;
    }
    vxt_stitch_options so = job_options(j);
    model m = {j, ctx, fail_id, fail_nan, fail_code, 0};
    vxt_rng rng = {order_seed | 1};
    if (j->drive == DRIVE_SESSION)
        r->st = drive_session(ctx, j, &so, &in, &out, &m, &rng);
    else
        r->st = vxt_stitch(ctx, j->tiling, &so, &in, predictor, &m, &out);
    if (r->st != VXT_OK)
        vxt__strlcpy(r->msg, vxt_last_error(), sizeof r->msg);
    if (ks.bad)
        r->bad = "the sink saw slabs out of order or incomplete";
    else if (j->drive == DRIVE_SINK && r->st == VXT_OK && ks.next_z != c->shape[0])
        r->bad = "the sink did not receive the whole volume";
    else if (m.device_error)
        r->bad = "an OpenCL call of the device-form predictor failed";
}

static void free_run(run_out *r)
{
    free(r->values);
    free(r->labels);
}

/* ---- checks (no cmocka: they run on worker threads too) ----------------------------------------------------- */

static int is_poisoned(const void *p, size_t bytes)
{
    static const unsigned char pat[4] = {0xA5, 0x5A, 0xBF, 0xFF}; /* vxt_poison's pattern */
    const unsigned char *c = (const unsigned char *)p;
    for (size_t i = 0; i < bytes; i++)
        if (c[i] != pat[i % 4])
            return 0;
    return 1;
}

/* Whether run r is what job j gives alone (fail_id NO_FAIL) or the failure planned for it; when not, a description
 * into why. */
static int check_run(const job *j, const run_out *r, uint64_t fail_id, int fail_nan, int fail_code, char *why,
                     size_t why_size)
{
    if (r->bad) {
        snprintf(why, why_size, "%s", r->bad);
        return 0;
    }
    if (fail_id == NO_FAIL) {
        if (r->st != VXT_OK) {
            snprintf(why, why_size, "returned %s: %.1900s", vxt_status_name(r->st), r->msg);
            return 0;
        }
        if (j->nvals && memcmp(r->values, j->ref_values, j->nvals * sizeof(float)) != 0) {
            size_t n = 0, first = 0;
            for (size_t i = j->nvals; i-- > 0;)
                if (memcmp(&r->values[i], &j->ref_values[i], sizeof(float)) != 0)
                    n++, first = i;
            snprintf(why, why_size, "%zu of %zu values differ from the single-threaded run's (first at %zu: %.9g, "
                     "expected %.9g)", n, j->nvals, first, (double)r->values[first], (double)j->ref_values[first]);
            return 0;
        }
        if (j->nlabs && memcmp(r->labels, j->ref_labels, j->nlabs * j->lab_es) != 0) {
            snprintf(why, why_size, "labels differ from the single-threaded run's");
            return 0;
        }
        return 1;
    }
    const vxt_status want = fail_nan ? VXT_ERR_NONFINITE : VXT_ERR_PREDICTOR;
    char needle[2][128]; /* the failure and the batch it names */
    if (fail_nan) {
        snprintf(needle[0], sizeof needle[0], "predictor output is NaN");
        snprintf(needle[1], sizeof needle[1], "of batch %llu,", (unsigned long long)fail_id);
    } else {
        snprintf(needle[0], sizeof needle[0], "the predictor returned %d for batch", fail_code);
        snprintf(needle[1], sizeof needle[1], "for batch %llu ", (unsigned long long)fail_id);
    }
    if (r->st != want) {
        snprintf(why, why_size, "the model failed on batch %llu but the run returned %s (expected %s): %.1800s",
                 (unsigned long long)fail_id, vxt_status_name(r->st), vxt_status_name(want), r->msg);
        return 0;
    }
    if (!r->msg[0] || strchr(r->msg, '\n') || !strstr(r->msg, needle[0]) || !strstr(r->msg, needle[1])) {
        snprintf(why, why_size, "the message of the failed run is not one line of its own (wanted '%s' and '%s'): "
                 "'%.1600s'", needle[0], needle[1], r->msg);
        return 0;
    }
    if (j->drive != DRIVE_SINK && (!is_poisoned(r->values, j->nvals * sizeof(float)) ||
                                   !is_poisoned(r->labels, j->nlabs * j->lab_es))) {
        snprintf(why, why_size, "the failed run wrote its output volumes");
        return 0;
    }
    return 1;
}

/* ---- the shared state, the workers and the poller ----------------------------------------------------------- */

typedef struct shared {
    vxt_context *ctx;
    vxt_backend backend;
    job *jobs;
    vxt_context_info info0; /* get_info before the threads started */
    pthread_barrier_t start;
    atomic_int workers_left;
    atomic_int in_flight;
} shared;

typedef struct worker {
    shared *sh;
    int t;
    pthread_t thread;
    int ok, failed_as_planned, next_ok; /* next_ok: runs right after a failed one that succeeded and matched */
    int problems;
    char problem[2048]; /* the first */
} worker;

static void note(worker *w, int run, const job *j, const char *why)
{
    if (w->problems++ == 0)
        snprintf(w->problem, sizeof w->problem, "thread %d, run %d (%s, seed %llu, %s): %.1900s", w->t, run, j->c->name,
                 (unsigned long long)j->seed, j->drive == DRIVE_SESSION ? "session" : j->drive == DRIVE_SINK ? "sink"
                 : j->drive == DRIVE_DEVICE ? "device form" : "vxt_stitch", why);
}

static void *worker_main(void *arg)
{
    worker *w = (worker *)arg;
    shared *sh = w->sh;
    pthread_barrier_wait(&sh->start);
    int after_failure = 0;
    for (int i = 0; i < RUNS; i++) {
        const job *j = &sh->jobs[((size_t)w->t * 5 + (size_t)i * 3) % NJOBS];
        const int fails = i % FAIL_EVERY == FAIL_EVERY - 1;
        const int pick = (w->t + i / FAIL_EVERY) % 3;
        const uint64_t fail_id = !fails ? NO_FAIL : pick == 0 ? 0 : pick == 1 ? j->ncalls / 2 : j->ncalls - 1;
        /* a session's model fails with NaN; crop blending reads only the tile cores, so there it returns a code */
        const int fail_nan = j->drive == DRIVE_SESSION ||
                             (j->c->imp != VXT_IMPORTANCE_CROP && (w->t + i / FAIL_EVERY) % 2 == 0);
        const int fail_code = 1000 + w->t * 100 + i; /* unique: its message is this run's */
        atomic_fetch_add(&sh->in_flight, 1);
        run_out r;
        run_job(sh->ctx, j, fail_id, fail_nan, fail_code, 7919u * (uint64_t)(w->t * RUNS + i) + 17, &r);
        atomic_fetch_sub(&sh->in_flight, 1);
        char why[2048];
        if (!check_run(j, &r, fail_id, fail_nan, fail_code, why, sizeof why))
            note(w, i, j, why);
        else if (fails)
            w->failed_as_planned++;
        else {
            w->ok++;
            w->next_ok += after_failure;
        }
        after_failure = fails;
        free_run(&r);
    }
    atomic_fetch_sub(&sh->workers_left, 1);
    return NULL;
}

typedef struct poller {
    shared *sh;
    long iterations, trims_during_runs;
    int problems;
    char problem[1024];
} poller;

static void poll_note(poller *p, const char *what, const char *detail)
{
    if (p->problems++ == 0)
        snprintf(p->problem, sizeof p->problem, "poller: %s: %s", what, detail);
}

/* Read-only and maintenance calls on the shared context while the workers run. */
static void *poll_main(void *arg)
{
    poller *p = (poller *)arg;
    shared *sh = p->sh;
    pthread_barrier_wait(&sh->start);
    while (atomic_load(&sh->workers_left) > 0) {
        vxt_context_info info = {.struct_size = sizeof info};
        if (vxt_context_get_info(sh->ctx, &info) != VXT_OK)
            poll_note(p, "vxt_context_get_info", vxt_last_error());
        else if (info.backend != sh->info0.backend || strcmp(info.device_name, sh->info0.device_name) != 0 ||
                 info.cpu_threads != sh->info0.cpu_threads || strcmp(info.selection, sh->info0.selection) != 0)
            poll_note(p, "vxt_context_get_info", "the context's description changed");
        const int running = atomic_load(&sh->in_flight) > 0;
        if (vxt_context_trim(sh->ctx) != VXT_OK)
            poll_note(p, "vxt_context_trim", vxt_last_error());
        else if (running)
            p->trims_during_runs++;
        const job *j = &sh->jobs[(size_t)p->iterations % NJOBS];
        vxt_tiling_info ti = {.struct_size = sizeof ti};
        if (vxt_tiling_get_info(j->tiling, &ti) != VXT_OK || memcmp(ti.shape, j->c->shape, sizeof ti.shape) != 0)
            poll_note(p, "vxt_tiling_get_info on a shared tiling", vxt_last_error());
        if (sh->backend == VXT_BACKEND_OPENCL) {
            struct _cl_command_queue *q = NULL;
            if (vxt_context_cl_handles(sh->ctx, NULL, NULL, &q) != VXT_OK || q == NULL)
                poll_note(p, "vxt_context_cl_handles", vxt_last_error());
        }
        /* none of this thread's calls failed: other threads' failures must not show in its message */
        if (vxt_last_error()[0] != '\0')
            poll_note(p, "vxt_last_error() of the polling thread is not empty", vxt_last_error());
        p->iterations++;
        struct timespec ts = {0, 200000}; /* 0.2 ms: the workers get the cores */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- setup -------------------------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void make_job(job *j, const ccase *c, uint64_t seed, vxt_backend backend)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->drive = c->drive == DRIVE_DEVICE && backend != VXT_BACKEND_OPENCL ? DRIVE_STITCH : c->drive;
    j->seed = seed;
    vxt_tiling_options to;
    vxt_tiling_options_init(&to);
    memcpy(to.shape, c->shape, sizeof to.shape);
    memcpy(to.roi, c->roi, sizeof to.roi);
    to.grid = c->grid;
    to.pad = c->pad;
    to.pad_value = -1.5f;
    for (int a = 0; a < 3; a++) {
        to.overlap[a] = c->overlap;
        to.step[a] = 1.0 - c->overlap;
        to.overlap_voxels[a] = c->roi[a] > c->ov_vox ? c->ov_vox : 0;
    }
    assert_ok(vxt_tiling_create(&to, &j->tiling));
    vxt_tiling_info ti = {.struct_size = sizeof ti};
    assert_ok(vxt_tiling_get_info(j->tiling, &ti));
    const uint64_t batches = (ti.tile_count + (uint64_t)c->batch - 1) / (uint64_t)c->batch;
    const uint64_t flips = 1u << (unsigned)__builtin_popcount(c->mirror);
    j->ncalls = batches * (uint64_t)c->members * flips;
    if (ti.tile_count < 4) /* several tiles per run */
        fail_msg("%s: %llu tiles", c->name, (unsigned long long)ti.tile_count);
    j->vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    j->nvals = c->values ? j->vox * (size_t)c->C : 0;
    j->nlabs = c->labels ? j->vox : 0;
    j->lab_es = vxt_dtype_size(c->label_dtype);
    j->input = malloc((size_t)c->cin * j->vox * sizeof(float));
    assert_non_null(j->input);
    vxt_rng r = {seed};
    for (size_t i = 0; i < (size_t)c->cin * j->vox; i++)
        j->input[i] = vxt_rng_uniform(&r, -3.0f, 5.0f);
}

/* The single-threaded reference of job j: complete (no poison left, no NaN) and plausible labels. */
static void make_reference(vxt_context *ctx, job *j)
{
    run_out r;
    run_job(ctx, j, NO_FAIL, 0, 0, j->seed, &r);
    if (r.bad || r.st != VXT_OK)
        fail_msg("%s (seed %llu): the single-threaded run failed: %s %s", j->c->name, (unsigned long long)j->seed,
                 vxt_status_name(r.st), r.bad ? r.bad : r.msg);
    for (size_t i = 0; i < j->nvals; i++)
        if (isnan(r.values[i]))
            fail_msg("%s: value %zu of the single-threaded run is NaN (not written?)", j->c->name, i);
    int64_t max_label = j->c->C;
    for (size_t i = 0; i < j->nlabs; i++) {
        int64_t l = j->lab_es == 1 ? ((uint8_t *)r.labels)[i] : ((uint16_t *)r.labels)[i];
        if (l > max_label)
            fail_msg("%s: label %zu of the single-threaded run is %lld (not written?)", j->c->name, i, (long long)l);
    }
    j->ref_values = r.values;
    j->ref_labels = r.labels;
}

static void check_shared_context(vxt_backend backend, int gpu_paths)
{
    vxt_context *ctx = vxt_test_context(backend, 3);
    if (gpu_paths) {
        ctx->stitch_overlap = 1; /* accumulation on vxt_stitch's own thread, overlapping the predictor */
        ctx->stitch_kernels = 2; /* per-voxel kernels */
        ctx->stitch_upload = 1;  /* tile outputs up on each stitch's own queue (pinned staging), as on a discrete GPU */
    }
    job jobs[NJOBS];
    double t0 = now_s();
    for (size_t i = 0; i < NJOBS; i++) {
        make_job(&jobs[i], &CASES[i % NCASES], 1000003u * (i + 1), backend);
        make_reference(ctx, &jobs[i]);
    }
    double t1 = now_s();
    const uint64_t uploads0 = atomic_load(&ctx->stitch_async_uploads);

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.ctx = ctx;
    sh.backend = backend;
    sh.jobs = jobs;
    sh.info0.struct_size = sizeof sh.info0;
    assert_ok(vxt_context_get_info(ctx, &sh.info0));
    atomic_init(&sh.workers_left, THREADS);
    atomic_init(&sh.in_flight, 0);
    assert_int_equal(pthread_barrier_init(&sh.start, NULL, THREADS + 1), 0);
    worker w[THREADS];
    poller p;
    memset(&p, 0, sizeof p);
    p.sh = &sh;
    pthread_t pt;
    assert_int_equal(pthread_create(&pt, NULL, poll_main, &p), 0);
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].sh = &sh;
        w[t].t = t;
        assert_int_equal(pthread_create(&w[t].thread, NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(w[t].thread, NULL);
    pthread_join(pt, NULL);
    double t2 = now_s();
    pthread_barrier_destroy(&sh.start);

    int ok = 0, failed = 0, next_ok = 0, problems = 0;
    for (int t = 0; t < THREADS; t++) {
        if (w[t].problems)
            print_message("%s (%d problem%s on this thread)\n", w[t].problem, w[t].problems,
                          w[t].problems == 1 ? "" : "s");
        ok += w[t].ok;
        failed += w[t].failed_as_planned;
        next_ok += w[t].next_ok;
        problems += w[t].problems;
    }
    if (p.problems)
        print_message("%s (%d problems)\n", p.problem, p.problems);
    print_message("%s%s: %zu jobs single-threaded in %.2f s; %d threads x %d runs in %.2f s: %d matched bit for bit, "
                  "%d failed as planned (%d next runs matched), %d problems; the poller: %ld rounds, %ld trims during "
                  "runs\n", vxt_backend_name(backend), gpu_paths ? " (GPU paths)" : "", (size_t)NJOBS, t1 - t0,
                  THREADS, RUNS, t2 - t1, ok, failed, next_ok, problems, p.iterations, p.trims_during_runs);
    if (problems || p.problems)
        fail_msg("%d runs were not what they are alone or failed otherwise than planned; %d problems of the poller",
                 problems, p.problems);
    assert_int_equal(ok + failed, THREADS * RUNS);
    assert_int_equal(failed, THREADS * (RUNS / FAIL_EVERY));
    assert_int_equal(next_ok, failed);
    assert_true(p.trims_during_runs > 0); /* the poller did overlap the runs */
    if (gpu_paths) /* the threads' runs took the upload path */
        assert_true(atomic_load(&ctx->stitch_async_uploads) > uploads0);
    /* after the threads: the context's own message is one of the planned failures', one line */
    const char *last = vxt_context_last_error(ctx);
    if (strstr(last, "predictor") == NULL || strchr(last, '\n') != NULL)
        fail_msg("the context's last message is not a planned failure's: '%s'", last);

    for (size_t i = 0; i < NJOBS; i++) {
        vxt_tiling_destroy(jobs[i].tiling);
        free(jobs[i].input);
        free(jobs[i].ref_values);
        free(jobs[i].ref_labels);
    }
    vxt_context_destroy(ctx);
}

static void test_shared_context_cpu(void **state)
{
    (void)state;
    check_shared_context(VXT_BACKEND_CPU, 0);
}

static void test_shared_context_opencl(void **state)
{
    (void)state;
    check_shared_context(VXT_BACKEND_OPENCL, 0);
}

static void test_shared_context_opencl_gpu_paths(void **state)
{
    (void)state;
    check_shared_context(VXT_BACKEND_OPENCL, 1);
}

/* ---- a failure on vxt_stitch's accumulation thread ----------------------------------------------------------- */

/* Where accumulation overlaps the predictor (GPUs; here forced on the CPU backend), a NaN in the model's output is
 * found on vxt_stitch's own accumulation thread. The run must report that failure as its own, in its thread's
 * message and in the context's, even when another thread's call on the shared context failed in between. */
typedef struct relay_model {
    model m;
    vxt_context *ctx;
    int waited_ms;
} relay_model;

static void *fail_on_context(void *arg)
{
    struct _cl_command_queue *q = NULL;
    (void)vxt_context_cl_handles((vxt_context *)arg, NULL, NULL, &q); /* VXT_ERR_STATE on a CPU context */
    return NULL;
}

static int context_message_has(vxt_context *ctx, const char *needle)
{
    pthread_mutex_lock(&ctx->err_lock);
    const int has = strstr(ctx->err, needle) != NULL;
    pthread_mutex_unlock(&ctx->err_lock);
    return has;
}

static int relay_predictor(void *user, const vxt_batch *b)
{
    relay_model *r = (relay_model *)user;
    if (b->id == 1) {
        /* batch 0's NaN is being found on the accumulation thread meanwhile: wait for its message, then another
         * thread's call on the context fails */
        while (!context_message_has(r->ctx, "predictor output is NaN") && r->waited_ms < 10000) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            r->waited_ms++;
        }
        pthread_t t;
        if (pthread_create(&t, NULL, fail_on_context, r->ctx) != 0)
            return 99;
        pthread_join(t, NULL);
    }
    return predictor(&r->m, b);
}

static void test_accumulation_thread_failure_message(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    ctx->stitch_overlap = 1;
    job j;
    make_job(&j, &CASES[0], 4242, VXT_BACKEND_CPU);
    relay_model r = {{&j, ctx, 0, 1, 0, 0}, ctx, 0};
    float *values = malloc(j.nvals * sizeof(float));
    assert_non_null(values);
    vxt_poison(values, j.nvals * sizeof(float));
    const ccase *c = j.c;
    vxt_volume in = {j.input, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vals = {values, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = &vals;
    vxt_stitch_options so = job_options(&j);
    assert_status_msg(vxt_stitch(ctx, j.tiling, &so, &in, relay_predictor, &r, &out), VXT_ERR_NONFINITE,
                      "predictor output is NaN for tile 0 (item 0 of batch 0,");
    assert_true(r.waited_ms < 10000);
    const char *msg = vxt_context_last_error(ctx);
    if (!strstr(msg, "predictor output is NaN for tile 0 (item 0 of batch 0,"))
        fail_msg("the context's message is not the run's failure: '%s'", msg);
    assert_true(is_poisoned(values, j.nvals * sizeof(float)));
    free(values);
    vxt_tiling_destroy(j.tiling);
    free(j.input);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {cmocka_unit_test(test_accumulation_thread_failure_message),
                                     cmocka_unit_test(test_shared_context_cpu)};
    const struct CMUnitTest opencl[] = {cmocka_unit_test(test_shared_context_opencl)};
    const struct CMUnitTest gpu_paths[] = {cmocka_unit_test(test_shared_context_opencl_gpu_paths)};
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1),
                                     VXT_GROUP("opencl_gpu_paths", gpu_paths, 1)};
    return vxt_test_main(argc, argv, groups, 3);
}
