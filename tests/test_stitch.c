/* test_stitch.c - the stitching engine: identical bits on the CPU backend (1 and 3 threads) and the OpenCL
 * device for every accumulation mode, grid policy, importance map, mirroring, ensemble, activation, output
 * kind and batch size; agreement with a naive double-precision reference; sessions with out-of-order
 * submissions; sinks; the device predictor form; and every failure path (NaN, predictor failure,
 * cancellation, sink failure, bad arguments) leaving outputs untouched and nothing leaked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_test.h"

/* ---- test predictors ------------------------------------------------------------------------------------ */

typedef struct pred_cfg {
    int kind;            /* 0: position-dependent nonlinear-ish, 1: identity (channel c = input channel c % Cin) */
    int64_t nan_tile;    /* put a NaN into this tile's output (-1: none) */
    int64_t nan_at;      /* flat index in the tile's output */
    int fail_batch;      /* return 7 for this batch id (-1: never) */
    int calls;
    int device;          /* device form: read input_cl / write output_cl through the queue */
    vxt_context *ctx;
    const void *outputs[4]; /* distinct output pointers seen (up to 4): grouping hands out more than two */
    int noutputs;
    int sleep_ms;        /* a slow model: sleep this long in every call */
    int ncalls_seen;     /* per call (up to 256): its first tile's x grid index and output pointer */
    int64_t call_x[256];
    const char *call_out[256];
    int call_member[256];    /* per call (up to 256): its ensemble member and mirroring */
    unsigned call_flip[256];
} pred_cfg;

/* Output value for channel c at local voxel (z, y, x) of tile `t` (in the predictor's frame), input value v. */
static float pred_value(const vxt_batch *b, int item, int64_t c, int64_t z, int64_t y, int64_t x, float v)
{
    const vxt_tile *t = &b->tiles[item];
    float pos = (float)(t->start[0] * 3 + t->start[1] * 5 + t->start[2] * 7) * 0.01f;
    float local = (float)z * 0.125f - (float)y * 0.0625f + (float)x * 0.03125f;
    return v * (0.5f + 0.25f * (float)c) + pos - local + (float)b->member * 0.75f + (float)c;
}

static void fill_outputs(pred_cfg *p, const vxt_batch *b, const float *in, void *out)
{
    size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (int item = 0; item < b->count; item++)
        for (int64_t c = 0; c < b->out_channels; c++)
            for (int64_t z = 0; z < b->roi[0]; z++)
                for (int64_t y = 0; y < b->roi[1]; y++)
                    for (int64_t x = 0; x < b->roi[2]; x++) {
                        size_t v = (size_t)((z * b->roi[1] + y) * b->roi[2] + x);
                        float iv = in[((size_t)item * (size_t)b->in_channels + (size_t)(c % b->in_channels)) * roi + v];
                        float o = p->kind == 1 ? iv : pred_value(b, item, c, z, y, x, iv);
                        size_t oi = ((size_t)item * (size_t)b->out_channels + (size_t)c) * roi + v;
                        if ((int64_t)(b->first_tile + (uint64_t)item) == p->nan_tile && (int64_t)(oi % (roi * (size_t)b->out_channels)) == p->nan_at)
                            o = NAN;
                        if (b->output_dtype == VXT_DTYPE_F16)
                            ((uint16_t *)out)[oi] = vxt_float_to_half(o);
                        else
                            ((float *)out)[oi] = o;
                    }
}

static int predictor(void *user, const vxt_batch *b)
{
    pred_cfg *p = (pred_cfg *)user;
    p->calls++;
    if (p->sleep_ms > 0) {
        struct timespec ts = {0, (long)p->sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if ((int)b->id == p->fail_batch)
        return 7;
    if (!p->device) {
        int seen = 0;
        for (int i = 0; i < p->noutputs; i++)
            seen |= p->outputs[i] == b->output;
        if (!seen && p->noutputs < 4)
            p->outputs[p->noutputs++] = b->output;
        if (p->ncalls_seen < 256) {
            p->call_x[p->ncalls_seen] = b->tiles[0].grid_index[2];
            p->call_member[p->ncalls_seen] = b->member;
            p->call_flip[p->ncalls_seen] = b->flip;
            p->call_out[p->ncalls_seen++] = (const char *)b->output;
        }
        fill_outputs(p, b, b->input, b->output);
        return 0;
    }
    /* device form: the model talks OpenCL on voxtile's queue */
    struct _cl_command_queue *q = NULL;
    vxt_context_cl_handles(p->ctx, NULL, NULL, &q);
    size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    size_t in_n = (size_t)b->count * (size_t)b->in_channels * roi;
    size_t out_bytes = (size_t)b->count * (size_t)b->out_channels * roi * vxt_dtype_size(b->output_dtype);
    float *in = malloc(in_n * sizeof(float));
    void *out = malloc(out_bytes);
    clEnqueueReadBuffer(q, b->input_cl, CL_TRUE, 0, in_n * sizeof(float), in, 0, NULL, NULL);
    fill_outputs(p, b, in, out);
    clEnqueueWriteBuffer(q, b->output_cl, CL_TRUE, 0, out_bytes, out, 0, NULL, NULL);
    free(in);
    free(out);
    return 0;
}

/* ---- configurations --------------------------------------------------------------------------------------- */

typedef struct cfg {
    const char *name;
    int64_t shape[3], roi[3];
    int cin;
    vxt_grid grid;
    double overlap;
    int64_t ov_vox;
    vxt_pad pad;
    int64_t C;
    vxt_importance imp;
    vxt_accumulate acc;
    vxt_dtype tile;
    int batch;
    unsigned mirror;
    int members;
    vxt_activation act;
    int values, labels;
    vxt_dtype label_dtype;
    double sigma; /* VXT_IMPORTANCE_GAUSSIAN: sigma_scale sigma, 1.5 sigma, 0.75 sigma per axis (0: the default) */
} cfg;

/* VXT_IMPORTANCE_USER: a fixed random map, all values in [0.05, 2), for ROIs up to 8 x 12 x 10. Filled with the
 * same values on every call. */
enum { USER_MAP_MAX = 8 * 12 * 10 };
static float user_map[USER_MAP_MAX];

static const float *fill_user_map(size_t n)
{
    assert_true(n <= USER_MAP_MAX);
    vxt_rng r = {77};
    for (size_t i = 0; i < n; i++)
        user_map[i] = vxt_rng_uniform(&r, 0.05f, 2.0f);
    return user_map;
}

static void sigma_scales(const cfg *c, double sig[3])
{
    sig[0] = c->sigma;
    sig[1] = c->sigma * 1.5;
    sig[2] = c->sigma * 0.75;
}

static const cfg CFGS[] = {
    {"monai-gauss", {23, 37, 41}, {12, 16, 20}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 2, VXT_IMPORTANCE_GAUSSIAN,
     VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 1, 0, 1, VXT_ACTIVATION_NONE, 1, 0, VXT_DTYPE_U8, 0.0},
    {"monai-softmax-labels-batch3", {19, 30, 33}, {10, 14, 13}, 2, VXT_GRID_MONAI, 0.3, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 3, 0, 1, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, 0.0},
    {"nnunet-f16", {21, 29, 35}, {12, 16, 16}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 3,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F16, 2, 0, 1, VXT_ACTIVATION_SOFTMAX, 1, 1,
     VXT_DTYPE_U16, 0.0},
    {"nnunet-f16-mirror-ensemble", {17, 25, 22}, {8, 12, 10}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F16, 1, 7, 2, VXT_ACTIVATION_NONE, 1, 1,
     VXT_DTYPE_U8, 0.0},
    {"nnunet-f16-acc-f32-tiles", {15, 20, 26}, {8, 8, 12}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN_NNUNET, VXT_ACCUMULATE_FLOAT16, VXT_DTYPE_F32, 1, 5, 1, VXT_ACTIVATION_NONE, 1, 0,
     VXT_DTYPE_U8, 0.0},
    {"voxels-hann-sigmoid", {20, 31, 27}, {8, 12, 10}, 1, VXT_GRID_VOXELS, 0, 4, VXT_PAD_CONSTANT, 2, VXT_IMPORTANCE_HANN,
     VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 4, 0, 1, VXT_ACTIVATION_SIGMOID, 1, 1, VXT_DTYPE_U8, 0.0},
    {"f64-mirror-yx", {13, 27, 31}, {8, 10, 12}, 1, VXT_GRID_MONAI, 0.6, 0, VXT_PAD_CONSTANT, 2, VXT_IMPORTANCE_GAUSSIAN,
     VXT_ACCUMULATE_FLOAT64, VXT_DTYPE_F32, 2, 6, 3, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, 0.0},
    {"pad-reflect-small-volume", {5, 9, 30}, {8, 16, 12}, 1, VXT_GRID_MONAI, 0.25, 0, VXT_PAD_REFLECT, 2,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 1, 1, VXT_ACTIVATION_NONE, 1, 1, VXT_DTYPE_U8, 0.0},
    {"pad-replicate-f16-tiles", {6, 40, 7}, {8, 16, 12}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_REPLICATE, 2,
     VXT_IMPORTANCE_CONSTANT, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F16, 1, 0, 1, VXT_ACTIVATION_NONE, 1, 0, VXT_DTYPE_U8, 0.0},
    {"2d", {1, 50, 61}, {1, 16, 20}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 3, VXT_IMPORTANCE_GAUSSIAN,
     VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 5, 6, 1, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, 0.0},
    {"labels-only-many-classes", {9, 21, 17}, {6, 8, 8}, 1, VXT_GRID_NNUNET, 0.5, 0, VXT_PAD_CONSTANT, 300,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 0, 1, VXT_ACTIVATION_SOFTMAX, 0, 1,
     VXT_DTYPE_U16, 0.0},
    {"user-map-softmax", {19, 29, 23}, {8, 12, 10}, 1, VXT_GRID_MONAI, 0.4, 0, VXT_PAD_CONSTANT, 3, VXT_IMPORTANCE_USER,
     VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 2, 0, 1, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, 0.0},
    {"monai-sigma-per-axis", {22, 26, 31}, {10, 12, 14}, 1, VXT_GRID_MONAI, 0.5, 0, VXT_PAD_CONSTANT, 2,
     VXT_IMPORTANCE_GAUSSIAN, VXT_ACCUMULATE_FLOAT32, VXT_DTYPE_F32, 3, 0, 1, VXT_ACTIVATION_NONE, 1, 0, VXT_DTYPE_U8,
     0.2},
};
#define NCFG (sizeof CFGS / sizeof CFGS[0])

/* Under vxt_test_small() (Oclgrind): three cases that between them take every kernel variant - float32, float16
 * and float64 accumulation, float16 and float32 tiles, mirroring, an ensemble, softmax and labels. */
static int cfg_on(size_t i)
{
    return !vxt_test_small() || i == 0 || i == 3 || i == 6;
}

/* Configuration i as the suites that loop over cfg_on run it. Under vxt_test_small() its volume and ROI are halved
 * (rounded up), which keeps the number of tiles, the padding, the overlaps and every option, with an eighth of the
 * voxels for Oclgrind to interpret. */
static cfg cfg_case(size_t i)
{
    cfg c = CFGS[i];
    if (vxt_test_small()) {
        for (int a = 0; a < 3; a++) {
            c.shape[a] = (c.shape[a] + 1) / 2;
            c.roi[a] = (c.roi[a] + 1) / 2;
        }
        c.ov_vox = (c.ov_vox + 1) / 2;
    }
    return c;
}

typedef struct result {
    float *values;
    void *labels;
    size_t nvals, nlab, lab_es;
    vxt_status st;
    uint64_t ntiles; /* the plan's */
} result;

static float *make_input(const cfg *c, uint64_t seed)
{
    size_t n = (size_t)c->cin * (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    float *v = malloc(n * sizeof(float));
    assert_non_null(v);
    vxt_rng r = {seed};
    for (size_t i = 0; i < n; i++)
        v[i] = vxt_rng_uniform(&r, -3.0f, 5.0f);
    return v;
}

static vxt_tiling *make_plan(const cfg *c)
{
    vxt_tiling_options po;
    vxt_tiling_options_init(&po);
    memcpy(po.shape, c->shape, sizeof po.shape);
    memcpy(po.roi, c->roi, sizeof po.roi);
    po.grid = c->grid;
    po.pad = c->pad;
    po.pad_value = -1.5f;
    for (int a = 0; a < 3; a++) {
        po.overlap[a] = c->overlap;
        po.step[a] = 1.0 - c->overlap; /* nnU-Net's step fraction */
        po.overlap_voxels[a] = c->roi[a] > c->ov_vox ? c->ov_vox : 0;
    }
    vxt_tiling *p = NULL;
    assert_ok(vxt_tiling_create(&po, &p));
    return p;
}

static vxt_stitch_options make_opts(const cfg *c)
{
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = c->C;
    so.tile_dtype = c->tile;
    so.importance = c->imp;
    so.accumulate = c->acc;
    so.batch_size = c->batch;
    so.mirror_axes = c->mirror;
    so.members = c->members;
    so.activation = c->act;
    so.label_dtype = c->label_dtype;
    if (c->imp == VXT_IMPORTANCE_USER)
        so.user_map = fill_user_map((size_t)(c->roi[0] * c->roi[1] * c->roi[2]));
    if (c->sigma > 0)
        sigma_scales(c, so.sigma_scale);
    return so;
}

static result run_cfg(vxt_context *ctx, const cfg *c, const float *input, pred_cfg *pc, int sink_mode)
{
    result r;
    memset(&r, 0, sizeof r);
    vxt_tiling *plan = make_plan(c);
    vxt_stitch_options so = make_opts(c);
    size_t vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    r.nvals = c->values ? vox * (size_t)c->C : 0;
    r.nlab = c->labels ? vox : 0;
    r.lab_es = vxt_dtype_size(c->label_dtype);
    r.values = malloc(r.nvals * sizeof(float) + 4);
    r.labels = malloc(r.nlab * r.lab_es + 4);
    vxt_poison(r.values, r.nvals * sizeof(float));
    vxt_poison(r.labels, r.nlab * r.lab_es);
    vxt_volume in = {(void *)(uintptr_t)input, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vals = {r.values, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume labs = {r.labels, c->label_dtype, 1, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    if (c->values)
        out.values = &vals;
    if (c->labels)
        out.labels = &labs;
    (void)sink_mode;
    r.st = vxt_stitch(ctx, plan, &so, &in, predictor, pc, &out);
    vxt_tiling_info pi;
    pi.struct_size = sizeof pi;
    assert_ok(vxt_tiling_get_info(plan, &pi));
    r.ntiles = pi.tile_count;
    vxt_tiling_destroy(plan);
    return r;
}

static void free_result(result *r)
{
    free(r->values);
    free(r->labels);
}

static void expect_same(const result *a, const result *b, const char *what)
{
    assert_int_equal(a->st, VXT_OK);
    assert_int_equal(b->st, VXT_OK);
    size_t d = vxt_count_bit_diffs(a->values, b->values, a->nvals, what);
    if (d)
        fail_msg("%s: %zu of %zu values differ", what, d, a->nvals);
    if (a->nlab && memcmp(a->labels, b->labels, a->nlab * a->lab_es) != 0)
        fail_msg("%s: labels differ", what);
}

static pred_cfg default_pred(void)
{
    pred_cfg p;
    memset(&p, 0, sizeof p);
    p.nan_tile = -1;
    p.fail_batch = -1;
    return p;
}

/* ---- naive double-precision reference --------------------------------------------------------------------- */

/* Stitch in double: every tile's (mirror-averaged) predictions times the importance weight, summed in double,
 * divided by the summed weights; members averaged; activation in double. */
static void reference(const cfg *c, const float *input, double *out, int *labels, double *wsum)
{
    vxt_tiling *plan = make_plan(c);
    vxt_tiling_info pi = {.struct_size = sizeof pi};
    vxt_tiling_get_info(plan, &pi);
    size_t roi = (size_t)(c->roi[0] * c->roi[1] * c->roi[2]);
    size_t vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    float *w = malloc(roi * sizeof(float));
    double sig[3];
    sigma_scales(c, sig);
    if (c->imp == VXT_IMPORTANCE_USER)
        memcpy(w, fill_user_map(roi), roi * sizeof(float));
    else
        assert_ok(vxt_importance_map(c->imp, c->roi, c->sigma > 0 ? sig : NULL, w));
    double *acc = calloc(vox * (size_t)c->C * (size_t)c->members, sizeof(double));
    double *cnt = calloc(vox, sizeof(double));
    unsigned flips[8];
    int nf = 0;
    flips[nf++] = 0;
    unsigned single[3] = {1, 2, 4};
    for (int a = 0; a < 3; a++)
        if (c->mirror & single[a])
            flips[nf++] = single[a];
    unsigned pairs[3] = {3, 5, 6};
    for (int a = 0; a < 3; a++)
        if ((c->mirror & pairs[a]) == pairs[a])
            flips[nf++] = pairs[a];
    if (c->mirror == 7)
        flips[nf++] = 7;
    float *tin = malloc((size_t)c->cin * roi * sizeof(float));
    float *tout = malloc((size_t)c->C * roi * sizeof(float));
    double *tp = malloc((size_t)c->C * roi * sizeof(double));
    pred_cfg pc = default_pred();
    for (uint64_t t = 0; t < pi.tile_count; t++) {
        vxt_tile tile;
        vxt_tiling_get_tile(plan, t, &tile);
        for (int m = 0; m < c->members; m++) {
            memset(tp, 0, (size_t)c->C * roi * sizeof(double));
            for (int f = 0; f < nf; f++) {
                unsigned fl = flips[f];
                /* cut the flipped input */
                for (int ch = 0; ch < c->cin; ch++)
                    for (int64_t z = 0; z < c->roi[0]; z++)
                        for (int64_t y = 0; y < c->roi[1]; y++)
                            for (int64_t x = 0; x < c->roi[2]; x++) {
                                int64_t l[3] = {(fl & 1) ? c->roi[0] - 1 - z : z, (fl & 2) ? c->roi[1] - 1 - y : y,
                                                (fl & 4) ? c->roi[2] - 1 - x : x};
                                int64_t v[3];
                                int pad = 0;
                                for (int a = 0; a < 3; a++) {
                                    v[a] = tile.start[a] + l[a] - pi.pad_lo[a];
                                    int64_t S = c->shape[a];
                                    if (v[a] < 0 || v[a] >= S) {
                                        if (c->pad == VXT_PAD_CONSTANT)
                                            pad = 1;
                                        else if (c->pad == VXT_PAD_REPLICATE || S == 1)
                                            v[a] = v[a] < 0 ? 0 : S - 1;
                                        else {
                                            int64_t per = 2 * (S - 1), rr = ((v[a] % per) + per) % per;
                                            v[a] = rr < S ? rr : per - rr;
                                        }
                                    }
                                }
                                tin[((size_t)ch * (size_t)c->roi[0] + (size_t)z) * (size_t)(c->roi[1] * c->roi[2]) +
                                    (size_t)(y * c->roi[2] + x)] =
                                    pad ? -1.5f
                                        : input[(size_t)ch * vox + (size_t)((v[0] * c->shape[1] + v[1]) * c->shape[2] + v[2])];
                            }
                vxt_batch b;
                memset(&b, 0, sizeof b);
                b.count = 1;
                b.first_tile = t;
                b.member = m;
                b.flip = fl;
                b.in_channels = c->cin;
                b.out_channels = c->C;
                memcpy(b.roi, c->roi, sizeof b.roi);
                b.output_dtype = VXT_DTYPE_F32;
                b.tiles = &tile;
                fill_outputs(&pc, &b, tin, tout);
                for (int64_t ch = 0; ch < c->C; ch++)
                    for (int64_t z = 0; z < c->roi[0]; z++)
                        for (int64_t y = 0; y < c->roi[1]; y++)
                            for (int64_t x = 0; x < c->roi[2]; x++) {
                                int64_t zf = (fl & 1) ? c->roi[0] - 1 - z : z, yf = (fl & 2) ? c->roi[1] - 1 - y : y,
                                        xf = (fl & 4) ? c->roi[2] - 1 - x : x;
                                tp[(size_t)ch * roi + (size_t)((z * c->roi[1] + y) * c->roi[2] + x)] +=
                                    (double)tout[(size_t)ch * roi + (size_t)((zf * c->roi[1] + yf) * c->roi[2] + xf)];
                            }
            }
            for (int64_t z = 0; z < c->roi[0]; z++)
                for (int64_t y = 0; y < c->roi[1]; y++)
                    for (int64_t x = 0; x < c->roi[2]; x++) {
                        int64_t vz = tile.start[0] + z - pi.pad_lo[0], vy = tile.start[1] + y - pi.pad_lo[1],
                                vx = tile.start[2] + x - pi.pad_lo[2];
                        if (vz < 0 || vz >= c->shape[0] || vy < 0 || vy >= c->shape[1] || vx < 0 || vx >= c->shape[2])
                            continue;
                        size_t li = (size_t)((z * c->roi[1] + y) * c->roi[2] + x);
                        size_t vi = (size_t)((vz * c->shape[1] + vy) * c->shape[2] + vx);
                        if (m == 0)
                            cnt[vi] += w[li];
                        for (int64_t ch = 0; ch < c->C; ch++)
                            acc[((size_t)m * (size_t)c->C + (size_t)ch) * vox + vi] += tp[(size_t)ch * roi + li] / nf * w[li];
                    }
        }
    }
    for (size_t v = 0; v < vox; v++) {
        double e[512];
        for (int64_t ch = 0; ch < c->C; ch++) {
            double s = 0;
            for (int m = 0; m < c->members; m++)
                s += acc[((size_t)m * (size_t)c->C + (size_t)ch) * vox + v] / cnt[v];
            e[ch] = s / c->members;
        }
        if (c->act == VXT_ACTIVATION_SOFTMAX) {
            double mx = e[0], s = 0;
            for (int64_t ch = 1; ch < c->C; ch++)
                mx = e[ch] > mx ? e[ch] : mx;
            for (int64_t ch = 0; ch < c->C; ch++)
                s += exp(e[ch] - mx);
            for (int64_t ch = 0; ch < c->C; ch++)
                e[ch] = exp(e[ch] - mx) / s;
        } else if (c->act == VXT_ACTIVATION_SIGMOID) {
            for (int64_t ch = 0; ch < c->C; ch++)
                e[ch] = 1.0 / (1.0 + exp(-e[ch]));
        }
        int best = 0;
        for (int64_t ch = 0; ch < c->C; ch++) {
            out[(size_t)ch * vox + v] = e[ch];
            if (e[ch] > e[best])
                best = (int)ch;
        }
        labels[v] = best;
        wsum[v] = cnt[v];
    }
    free(w);
    free(acc);
    free(cnt);
    free(tin);
    free(tout);
    free(tp);
    vxt_tiling_destroy(plan);
}

/* ---- tests ---------------------------------------------------------------------------------------------- */

static void test_cpu_thread_counts_agree(void **state)
{
    (void)state;
    vxt_context *one = vxt_test_context(VXT_BACKEND_CPU, 1), *three = vxt_test_context(VXT_BACKEND_CPU, 3);
    three->stitch_overlap = 1; /* accumulation on a worker thread, overlapping the predictor */
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        const cfg ci = cfg_case(i), *c = &ci;
        float *in = make_input(c, 100 + i);
        pred_cfg p1 = default_pred(), p3 = default_pred();
        result a = run_cfg(one, c, in, &p1, 0), b = run_cfg(three, c, in, &p3, 0);
        if (a.st != VXT_OK)
            fail_msg("%s: %s", c->name, vxt_last_error());
        expect_same(&a, &b, c->name);
        free_result(&a);
        free_result(&b);
        free(in);
    }
    vxt_context_destroy(one);
    vxt_context_destroy(three);
}

/* Batch size never changes a bit: batch 1 (grouped on the CPU backend), each configuration's own batch size, and
 * 7 (a batch that spans rows and z starts) give the same volumes, and the same sink slabs. */
static void run_batch_size_checks(vxt_backend backend)
{
    vxt_context *ctx = vxt_test_context(backend, backend == VXT_BACKEND_CPU ? 2 : 0);
    ctx->stitch_group_slow_s = -1; /* group whatever the predictor's speed (sanitizers, loaded machines) */
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        cfg c = cfg_case(i);
        float *in = make_input(&c, 900 + i);
        int sizes[3] = {1, CFGS[i].batch, 7};
        pred_cfg p0 = default_pred();
        c.batch = sizes[0];
        result ref = run_cfg(ctx, &c, in, &p0, 0);
        if (ref.st != VXT_OK)
            fail_msg("%s, batch 1: %s", c.name, vxt_last_error());
        for (int k = 1; k < 3; k++) {
            c.batch = sizes[k];
            pred_cfg pk = default_pred();
            result r = run_cfg(ctx, &c, in, &pk, 0);
            char what[96];
            snprintf(what, sizeof what, "%s: batch %d against batch 1", c.name, sizes[k]);
            expect_same(&ref, &r, what);
            free_result(&r);
        }
        free_result(&ref);
        free(in);
    }
    vxt_context_destroy(ctx);
}

static void test_batch_sizes_agree_cpu(void **state)
{
    (void)state;
    run_batch_size_checks(VXT_BACKEND_CPU);
}

static void test_batch_sizes_agree_opencl(void **state)
{
    (void)state;
    run_batch_size_checks(VXT_BACKEND_OPENCL);
}

/* Mirroring and ensembles: the predictor is asked, per batch, for member 0's identity then its flips in
 * nnU-Net's order ((0), (1), (2), (0,1), (0,2), (1,2), (0,1,2), restricted to the chosen axes), then member 1's;
 * the engine sums the calls in that order. The double reference cannot see the order, so it is checked here. */
static void test_mirror_and_member_order(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const struct {
        unsigned axes;
        int n;
        unsigned order[8];
    } cases[] = {{7, 8, {0, 1, 2, 4, 3, 5, 6, 7}}, {5, 4, {0, 1, 4, 5}}, {6, 4, {0, 2, 4, 6}}, {2, 2, {0, 2}}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cfg c = CFGS[0];
        c.shape[0] = 12;
        c.shape[1] = 20;
        c.shape[2] = 30; /* 1 x 2 x 2 tiles */
        c.batch = 3;
        c.mirror = cases[k].axes;
        c.members = 2;
        float *in = make_input(&c, 950 + k);
        pred_cfg p = default_pred();
        result r = run_cfg(ctx, &c, in, &p, 0);
        assert_int_equal(r.st, VXT_OK);
        int per_batch = 2 * cases[k].n, nb = (int)((r.ntiles + 2) / 3);
        assert_int_equal(p.ncalls_seen, nb * per_batch);
        for (int call = 0; call < p.ncalls_seen; call++) {
            int j = call % per_batch, member = j / cases[k].n;
            unsigned flip = cases[k].order[j % cases[k].n];
            if (p.call_member[call] != member || p.call_flip[call] != flip)
                fail_msg("mirror_axes %u: call %d asked member %d flip %u, expected member %d flip %u", cases[k].axes,
                         call, p.call_member[call], p.call_flip[call], member, flip);
        }
        free_result(&r);
        free(in);
    }
    vxt_context_destroy(ctx);
}

static void test_against_double_reference(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        const cfg ci = cfg_case(i), *c = &ci;
        if (c->C > 8)
            continue;
        float *in = make_input(c, 200 + i);
        pred_cfg p = default_pred();
        result r = run_cfg(ctx, c, in, &p, 0);
        assert_int_equal(r.st, VXT_OK);
        size_t vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
        double *ref = malloc(vox * (size_t)c->C * sizeof(double));
        int *rl = malloc(vox * sizeof(int));
        double *wsum = malloc(vox * sizeof(double));
        reference(c, in, ref, rl, wsum);
        /* Tolerances: float32 accumulation of <= 27 terms of magnitude < 30 and a division: 1e-6 relative to the
         * value range (measured <= 3.9e-7; docs/STITCHING.md); float16 (nnU-Net) arithmetic: half precision, 2^-11 relative, over a few roundings:
         * 4e-3 relative to the range; float16 tiles round predictions to 11 bits. In float16 accumulation the
         * voxels whose weights sum to less than 0.05 (volume corners, where nnU-Net's float16 Gaussian has
         * underflowed to 2^-24 and the result degenerates, as it does in nnU-Net) are not compared here; the
         * nnU-Net comparison (tools/compare_references.py, and its fixture in test_cli) checks them bit for bit. Labels may differ only where the
         * reference's top two channels are within that tolerance. */
        int f16 = c->acc == VXT_ACCUMULATE_FLOAT16 || c->tile == VXT_DTYPE_F16;
        double rtol = f16 ? 4e-3 : 1e-6;
        double range = 0;
        for (size_t k = 0; k < vox * (size_t)c->C; k++)
            range = fabs(ref[k]) > range ? fabs(ref[k]) : range;
        double worst = 0;
        size_t skipped = 0;
        int f16acc = c->acc == VXT_ACCUMULATE_FLOAT16;
        for (size_t k = 0; k < r.nvals; k++) {
            if (f16acc && wsum[k % vox] < 0.05) {
                skipped++;
                continue;
            }
            double d = fabs((double)r.values[k] - ref[k]) / (range > 1 ? range : 1);
            worst = d > worst ? d : worst;
        }
        if (skipped)
            print_message("%-30s %zu of %zu values where the float16 weights sum below 0.05 not compared\n", c->name, skipped,
                          r.nvals);

        print_message("%-30s max error %.3g (of range %.3g), tolerance %.0e\n", c->name, worst, range, rtol);
        if (worst > rtol)
            fail_msg("%s: max relative error %.3g > %.0e", c->name, worst, rtol);
        if (c->labels && c->values) {
            size_t bad = 0;
            for (size_t v = 0; v < vox; v++) {
                if (f16acc && wsum[v] < 0.05)
                    continue;
                int l = c->label_dtype == VXT_DTYPE_U16 ? ((uint16_t *)r.labels)[v] : ((uint8_t *)r.labels)[v];
                if (l != rl[v] && fabs(ref[(size_t)l * vox + v] - ref[(size_t)rl[v] * vox + v]) > rtol * range)
                    bad++;
            }
            assert_int_equal(bad, 0);
        }
        free(ref);
        free(rl);
        free(wsum);
        free_result(&r);
        free(in);
    }
    vxt_context_destroy(ctx);
}

static void test_identity_constant_weights_exact(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_grid grids[3] = {VXT_GRID_MONAI, VXT_GRID_NNUNET, VXT_GRID_VOXELS};
    for (int g = 0; g < 3; g++) {
        /* float64 accumulation: exact with any overlap. Mirroring and ensembles average float32 results (x+x)/2
         * exactly, so one flipped axis and two members keep it exact. */
        cfg c = {"identity", {21, 26, 33}, {8, 12, 10}, 1, grids[g], 0.7, 5, VXT_PAD_CONSTANT, 1,
                 VXT_IMPORTANCE_CONSTANT, VXT_ACCUMULATE_FLOAT64, VXT_DTYPE_F32, 3, 2, 2, VXT_ACTIVATION_NONE, 1, 0,
                 VXT_DTYPE_U8, 0.0};
        float *in = make_input(&c, 300 + (uint64_t)g);
        pred_cfg p = default_pred();
        p.kind = 1;
        result r = run_cfg(ctx, &c, in, &p, 0);
        assert_int_equal(r.st, VXT_OK);
        assert_int_equal(vxt_count_bit_diffs(r.values, in, r.nvals, "identity (float64)"), 0);
        free_result(&r);
        /* float32 accumulation (MONAI's arithmetic) is exact where at most two tiles cover a voxel: (x+x)/2.
         * (a) tiles that do not overlap (the ROI divides the volume); (b) tiles that overlap by half along x
         * only, the volume a whole number of steps, so no flush-last start makes a third cover */
        free(in);
        for (int part = 0; part < 2; part++) {
            int64_t shp[2][3] = {{24, 36, 30}, {8, 12, 30}}, roi[2][3] = {{8, 12, 10}, {8, 12, 10}};
            for (int a = 0; a < 3; a++) {
                c.shape[a] = shp[part][a];
                c.roi[a] = roi[part][a];
            }
            c.overlap = part ? 0.5 : 0.0;
            c.ov_vox = part ? 5 : 0;
            c.acc = VXT_ACCUMULATE_FLOAT32;
            c.mirror = 0;
            c.members = 1;
            in = make_input(&c, 310 + (uint64_t)(2 * g + part));
            r = run_cfg(ctx, &c, in, &p, 0);
            assert_int_equal(r.st, VXT_OK);
            if (part)
                assert_int_equal(r.ntiles, 5); /* starts 0, 5, 10, 15, 20 along x on every grid */
            assert_int_equal(vxt_count_bit_diffs(r.values, in, r.nvals, part ? "identity (float32, pairs of tiles)"
                                                                          : "identity (float32, no overlap)"),
                             0);
            free_result(&r);
            free(in);
        }
    }
    vxt_context_destroy(ctx);
}

/* Grouping on an OpenCL device made of the host's cores (PoCL): consecutive small batches of one z row are
 * accumulated by one kernel launch per group; the bits are the CPU backend's, and NaN reports name the caller's
 * batch and item. On other devices (GPUs) nothing groups, and the bits are the same too. */
static void assert_poisoned(const float *v, size_t n);

static void test_opencl_grouping(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2), *ocl = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    ocl->stitch_group_slow_s = -1; /* group whatever the predictor's speed (sanitizers, loaded machines) */
    cpu->stitch_group = 2;
    const int can = ocl->device_is_cpu && ocl->host_unified;
    int engaged = 0;
    for (size_t i = 0; i < NCFG; i++) {
        const cfg *c = &CFGS[i]; /* every configuration, also under vxt_test_small(): no GPU groups, Oclgrind included */
        float *in = make_input(c, 800 + i);
        pred_cfg pa = default_pred(), pb = default_pred();
        result a = run_cfg(cpu, c, in, &pa, 0), b = run_cfg(ocl, c, in, &pb, 0);
        if (b.st != VXT_OK)
            fail_msg("%s on OpenCL: %s", c->name, vxt_last_error());
        expect_same(&a, &b, c->name);
        if (pb.noutputs > 2)
            engaged++;
        free_result(&a);
        free_result(&b);
        free(in);
    }
    if (can)
        assert_true(engaged >= 3);
    else
        assert_int_equal(engaged, 0);
    /* batch size 1: a NaN in tile 7 is named with batch 7, item 0, though several batches went in one launch */
    const cfg *c = &CFGS[0];
    float *in = make_input(c, 9);
    pred_cfg p = default_pred();
    p.nan_tile = 7;
    p.nan_at = 77;
    result r = run_cfg(ocl, c, in, &p, 0);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    if (!strstr(vxt_last_error(), "NaN for tile 7 (item 0 of batch 7,"))
        fail_msg("message: %s", vxt_last_error());
    assert_poisoned(r.values, r.nvals);
    free_result(&r);
    free(in);
    vxt_context_destroy(ocl);
    vxt_context_destroy(cpu);
}

static void test_opencl_matches_cpu(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2), *ocl = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    ocl->stitch_overlap = 1; /* as on a GPU: upload and kernels enqueued by a worker while the predictor runs */
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        const cfg ci = cfg_case(i), *c = &ci;
        float *in = make_input(c, 400 + i);
        pred_cfg pa = default_pred(), pb = default_pred();
        result a = run_cfg(cpu, c, in, &pa, 0), b = run_cfg(ocl, c, in, &pb, 0);
        if (b.st != VXT_OK)
            fail_msg("%s on OpenCL: %s", c->name, vxt_last_error());
        expect_same(&a, &b, c->name);
        free_result(&b);
        /* the other kernel family: per voxel (what GPUs run) where the device is a CPU, and the reverse */
        ocl->stitch_kernels = ocl->device_is_cpu ? 2 : 1;
        pred_cfg pk = default_pred();
        b = run_cfg(ocl, c, in, &pk, 0);
        ocl->stitch_kernels = 0;
        if (b.st != VXT_OK)
            fail_msg("%s on OpenCL (other kernels): %s", c->name, vxt_last_error());
        expect_same(&a, &b, c->name);
        free_result(&a);
        free_result(&b);
        /* the device predictor form gives the same bits */
        pred_cfg pd = default_pred();
        pd.device = 1;
        pd.ctx = ocl;
        vxt_tiling *plan = make_plan(c);
        vxt_stitch_options so = make_opts(c);
        so.flags = VXT_STITCH_DEVICE_PREDICTOR;
        result d = run_cfg(cpu, c, in, &pa, 0);
        float *vals = malloc(d.nvals * sizeof(float) + 4);
        void *labs = malloc(d.nlab * d.lab_es + 4);
        vxt_poison(vals, d.nvals * sizeof(float));
        vxt_poison(labs, d.nlab * d.lab_es);
        vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
        vxt_volume vv = {vals, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
        vxt_volume vl = {labs, c->label_dtype, 1, {c->shape[0], c->shape[1], c->shape[2]}};
        vxt_stitch_output out;
        vxt_stitch_output_init(&out);
        out.values = c->values ? &vv : NULL;
        out.labels = c->labels ? &vl : NULL;
        assert_ok(vxt_stitch(ocl, plan, &so, &vin, predictor, &pd, &out));
        assert_int_equal(vxt_count_bit_diffs(vals, d.values, d.nvals, "device form"), 0);
        if (d.nlab)
            assert_memory_equal(labs, d.labels, d.nlab * d.lab_es);
        free(vals);
        free(labs);
        free_result(&d);
        vxt_tiling_destroy(plan);
        free(in);
    }
    vxt_context_destroy(cpu);
    vxt_context_destroy(ocl);
}

/* ---- sessions and sinks ---------------------------------------------------------------------------------- */

typedef struct sink_state {
    float *values;
    void *labels;
    size_t lab_es;
    int64_t next_z;
    int slabs;
    int fail_at;
    int64_t shape[3];
} sink_state;

static int sink(void *user, const vxt_slab *s)
{
    sink_state *k = (sink_state *)user;
    if (k->slabs == k->fail_at)
        return 3;
    k->slabs++;
    if (s->z0 != k->next_z || s->z1 <= s->z0)
        return 99; /* out of order: fails the run, and the test */
    size_t plane = (size_t)(k->shape[1] * k->shape[2]), n = (size_t)(s->z1 - s->z0) * plane;
    size_t vol = (size_t)k->shape[0] * plane;
    if (s->values)
        for (int64_t c = 0; c < s->channels; c++)
            memcpy(k->values + (size_t)c * vol + (size_t)s->z0 * plane, s->values + (size_t)c * n, n * sizeof(float));
    if (s->labels)
        memcpy((char *)k->labels + (size_t)s->z0 * plane * k->lab_es, s->labels, n * k->lab_es);
    k->next_z = s->z1;
    return 0;
}

/* A session of case c into a sink (ks, poisoned, sized like ref), at most 5 batches outstanding, and the 5 output
 * buffers a driver fills (outs, poisoned). The caller frees ks.values, ks.labels and outs. */
static vxt_session *open_sink_session(vxt_context *ctx, const cfg *c, const result *ref, float *in,
                                      vxt_tiling *plan, vxt_stitch_options *so, sink_state *ks, void *outs[5])
{
    so->max_outstanding = 5;
    memset(ks, 0, sizeof *ks);
    ks->values = malloc(ref->nvals * sizeof(float) + 4);
    ks->labels = malloc(ref->nlab * ref->lab_es + 4);
    ks->lab_es = ref->lab_es;
    ks->fail_at = -1;
    memcpy(ks->shape, c->shape, sizeof ks->shape);
    vxt_poison(ks->values, ref->nvals * sizeof(float));
    vxt_poison(ks->labels, ref->nlab * ref->lab_es);
    vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.sink_user = ks;
    out.want_values = c->values;
    out.want_labels = c->labels;
    vxt_session *ss = NULL;
    assert_ok(vxt_session_create(ctx, plan, so, &vin, &out, &ss));
    size_t obytes =
        (size_t)c->batch * (size_t)c->C * (size_t)(c->roi[0] * c->roi[1] * c->roi[2]) * vxt_dtype_size(c->tile);
    for (int w = 0; w < 5; w++) {
        outs[w] = malloc(obytes);
        vxt_poison(outs[w], obytes);
    }
    return ss;
}

/* Run a session to the end: batches handed out in windows of 5 (max_outstanding), predicted, and submitted in
 * reverse order within each window, then finished. outs: 5 host output buffers, or NULL for the device form
 * (outputs written to each batch's output_cl, submitted as NULL). */
static void drive_session(vxt_session *ss, pred_cfg *pr, void **outs)
{
    vxt_batch batches[5];
    int done = 0;
    while (!done) {
        int got = 0;
        for (; got < 5; got++) {
            assert_ok(vxt_session_next_batch(ss, &batches[got], &done));
            if (done)
                break;
            if (outs)
                batches[got].output = outs[got];
            else
                assert_non_null(batches[got].output_cl);
            assert_int_equal(predictor(pr, &batches[got]), 0);
        }
        for (int w = got - 1; w >= 0; w--)
            assert_ok(vxt_session_submit(ss, batches[w].id, outs ? outs[w] : NULL));
    }
    assert_ok(vxt_session_finish(ss));
}

static void run_session_checks(vxt_backend backend)
{
    vxt_context *ctx = vxt_test_context(backend, 2);
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        const cfg ci = cfg_case(i), *c = &ci;
        float *in = make_input(c, 500 + i);
        pred_cfg pr = default_pred();
        result ref = run_cfg(ctx, c, in, &pr, 0);
        assert_int_equal(ref.st, VXT_OK);

        /* session, outputs submitted in reverse order within windows of 5 */
        vxt_tiling *plan = make_plan(c);
        vxt_stitch_options so = make_opts(c);
        sink_state ks;
        void *outs[5];
        vxt_session *ss = open_sink_session(ctx, c, &ref, in, plan, &so, &ks, outs);
        drive_session(ss, &pr, outs);
        uint64_t h, a, t;
        assert_ok(vxt_session_progress(ss, &h, &a, &t));
        assert_true(h == t && a == t);
        vxt_session_destroy(ss);
        assert_int_equal(ks.next_z, c->shape[0]);
        if (ref.nvals)
            assert_int_equal(vxt_count_bit_diffs(ks.values, ref.values, ref.nvals, "session+sink"), 0);
        if (ref.nlab)
            assert_memory_equal(ks.labels, ref.labels, ref.nlab * ref.lab_es);
        for (int w = 0; w < 5; w++)
            free(outs[w]);

        if (backend == VXT_BACKEND_OPENCL) {
            /* the device form in a session: outputs written to each batch's output_cl, submitted (NULL) in
             * reverse order within windows of 5, into volumes */
            so.flags = VXT_STITCH_DEVICE_PREDICTOR;
            pred_cfg pd = default_pred();
            pd.device = 1;
            pd.ctx = ctx;
            float *vals = malloc(ref.nvals * sizeof(float) + 4);
            void *labs = malloc(ref.nlab * ref.lab_es + 4);
            vxt_poison(vals, ref.nvals * sizeof(float));
            vxt_poison(labs, ref.nlab * ref.lab_es);
            vxt_volume vv = {vals, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
            vxt_volume vl = {labs, c->label_dtype, 1, {c->shape[0], c->shape[1], c->shape[2]}};
            vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
            vxt_stitch_output ov;
            vxt_stitch_output_init(&ov);
            ov.values = c->values ? &vv : NULL;
            ov.labels = c->labels ? &vl : NULL;
            assert_ok(vxt_session_create(ctx, plan, &so, &vin, &ov, &ss));
            drive_session(ss, &pd, NULL);
            vxt_session_destroy(ss);
            if (ref.nvals)
                assert_int_equal(vxt_count_bit_diffs(vals, ref.values, ref.nvals, "device-form session"), 0);
            if (ref.nlab)
                assert_memory_equal(labs, ref.labels, ref.nlab * ref.lab_es);
            free(vals);
            free(labs);
        }
        free(ks.values);
        free(ks.labels);
        free_result(&ref);
        vxt_tiling_destroy(plan);
        free(in);
    }
    vxt_context_destroy(ctx);
}

static void test_sessions_cpu(void **state)
{
    (void)state;
    run_session_checks(VXT_BACKEND_CPU);
}

static void test_sessions_opencl(void **state)
{
    (void)state;
    run_session_checks(VXT_BACKEND_OPENCL);
}

/* The sink's ring keeps memory at about a ROI's depth, not the volume's. */
static void test_sink_ring_is_small(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    cfg c = CFGS[0];
    c.shape[0] = 97;
    float *in = make_input(&c, 7);
    vxt_tiling *plan = make_plan(&c);
    vxt_stitch_options so = make_opts(&c);
    sink_state ks;
    memset(&ks, 0, sizeof ks);
    size_t vox = (size_t)(c.shape[0] * c.shape[1] * c.shape[2]);
    ks.values = malloc(vox * (size_t)c.C * sizeof(float));
    ks.fail_at = -1;
    memcpy(ks.shape, c.shape, sizeof ks.shape);
    vxt_volume vin = {in, VXT_DTYPE_F32, 1, {c.shape[0], c.shape[1], c.shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.sink_user = &ks;
    out.want_values = 1;
    vxt_session *ss = NULL;
    assert_ok(vxt_session_create(ctx, plan, &so, &vin, &out, &ss));
    vxt__stitch *s = *(vxt__stitch **)ss; /* first member of the session */
    print_message("ring depth %lld of %lld padded slices\n", (long long)s->D, (long long)s->P[0]);
    assert_true(s->D <= 2 * c.roi[0]);
    vxt_session_destroy(ss);
    vxt_tiling_destroy(plan);
    free(ks.values);
    free(in);
    vxt_context_destroy(ctx);
}

/* ---- failures -------------------------------------------------------------------------------------------- */

typedef struct prog {
    uint64_t calls, last_done, total, cancel_at;
} prog;

static int progress_cb(void *user, uint64_t done, uint64_t total)
{
    prog *p = (prog *)user;
    p->calls++;
    if (done < p->last_done)
        return 1; /* must not go backwards */
    p->last_done = done;
    p->total = total;
    return p->calls == p->cancel_at;
}

static void assert_poisoned(const float *v, size_t n)
{
    float poison;
    vxt_poison(&poison, sizeof poison);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&v[i], &poison, 4) != 0)
            fail_msg("output element %zu was written by a failed run", i);
}

/* gpu_like: the paths of a discrete GPU on the OpenCL device (upload queue with pinned staging, accumulation
 * thread, per-voxel kernels). */
static void run_failure_checks(vxt_backend backend, int gpu_like)
{
    vxt_context *ctx = vxt_test_context(backend, 2);
    if (gpu_like) {
        ctx->stitch_upload = 1;
        ctx->stitch_overlap = 1;
        ctx->stitch_kernels = 2;
    }
    const cfg *c = &CFGS[1];
    float *in = make_input(c, 9);
    size_t vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);

    /* NaN in tile 5's output: reported with the tile, output untouched */
    pred_cfg p = default_pred();
    p.nan_tile = 5;
    p.nan_at = 1234;
    result r = run_cfg(ctx, c, in, &p, 0);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    if (!strstr(vxt_last_error(), "NaN for tile 5") || !strstr(vxt_last_error(), "channel 0"))
        fail_msg("message: %s", vxt_last_error());
    assert_poisoned(r.values, r.nvals);
    free_result(&r);

    /* predictor failure */
    p = default_pred();
    p.fail_batch = 2;
    r = run_cfg(ctx, c, in, &p, 0);
    assert_int_equal(r.st, VXT_ERR_PREDICTOR);
    assert_non_null(strstr(vxt_last_error(), "returned 7 for batch 2"));
    assert_int_equal(p.calls, 3);
    assert_poisoned(r.values, r.nvals);
    free_result(&r);

    vxt_tiling *plan = make_plan(c);
    vxt_stitch_options so = make_opts(c);
    vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    float *vals = malloc(vox * (size_t)c->C * sizeof(float));
    vxt_poison(vals, vox * (size_t)c->C * sizeof(float));
    vxt_volume vv = {vals, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = &vv;

    /* progress reaches the total; cancellation stops the run and leaves the output alone */
    prog pg = {0, 0, 0, 0};
    so.progress = progress_cb;
    so.progress_user = &pg;
    p = default_pred();
    float *vals2 = malloc(vox * (size_t)c->C * sizeof(float));
    vxt_volume vv2 = vv;
    vv2.data = vals2;
    vxt_stitch_output out2 = out;
    out2.values = &vv2;
    assert_ok(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &out2));
    vxt_tiling_info pi = {.struct_size = sizeof pi};
    vxt_tiling_get_info(plan, &pi);
    assert_int_equal(pg.last_done, pi.tile_count);
    assert_int_equal(pg.total, pi.tile_count);
    free(vals2);
    pg = (prog){0, 0, 0, 2};
    p = default_pred();
    assert_status_msg(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &out), VXT_ERR_CANCELLED, "cancelled");
    assert_poisoned(vals, vox * (size_t)c->C);
    so.progress = NULL;

    /* a sink that fails */
    sink_state ks;
    memset(&ks, 0, sizeof ks);
    ks.values = vals;
    ks.fail_at = 0;
    memcpy(ks.shape, c->shape, sizeof ks.shape);
    vxt_stitch_output so_sink;
    vxt_stitch_output_init(&so_sink);
    so_sink.sink = sink;
    so_sink.sink_user = &ks;
    so_sink.want_values = 1;
    p = default_pred();
    assert_status_msg(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &so_sink), VXT_ERR_IO, "sink returned 3");

    /* sessions: state errors */
    vxt_session *ss = NULL;
    assert_ok(vxt_session_create(ctx, plan, &so, &vin, &out, &ss));
    vxt_batch b;
    int done = 0;
    assert_status_msg(vxt_session_submit(ss, 0, vals), VXT_ERR_STATE, "batch 0 is not out");
    assert_status_msg(vxt_session_finish(ss), VXT_ERR_STATE, "submit the rest");
    for (int i = 0; i < 4; i++)
        assert_ok(vxt_session_next_batch(ss, &b, &done));
    assert_status_msg(vxt_session_next_batch(ss, &b, &done), VXT_ERR_STATE, "max_outstanding");
    assert_status_msg(vxt_session_submit(ss, 1, NULL), VXT_ERR_NULL, "outputs");
    size_t ob = (size_t)c->batch * (size_t)c->C * (size_t)(c->roi[0] * c->roi[1] * c->roi[2]) * 4;
    float *o = malloc(ob);
    for (size_t i = 0; i < ob / 4; i++)
        o[i] = 1.0f;
    assert_ok(vxt_session_submit(ss, 1, o));
    assert_status_msg(vxt_session_submit(ss, 1, o), VXT_ERR_STATE, "batch 1 is not out");
    o[3] = INFINITY;
    /* The CPU backend reports it at once; a device reports it asynchronously, at the latest by finish. */
    vxt_status st = vxt_session_submit(ss, 0, o);
    o[3] = 1.0f;
    uint64_t next = 2;
    while (st == VXT_OK) {
        for (; next < 4; next++)
            if ((st = vxt_session_submit(ss, next, o)) != VXT_OK)
                break;
        if (st != VXT_OK)
            break;
        st = vxt_session_next_batch(ss, &b, &done);
        if (st != VXT_OK)
            break;
        if (done) {
            st = vxt_session_finish(ss);
            break;
        }
        st = vxt_session_submit(ss, b.id, o);
    }
    if (backend == VXT_BACKEND_CPU)
        assert_int_equal(next, 2);
    assert_int_equal(st, VXT_ERR_NONFINITE);
    assert_non_null(strstr(vxt_last_error(), "infinite for tile 0"));
    assert_status_msg(vxt_session_next_batch(ss, &b, &done), VXT_ERR_STATE, "failed");
    vxt_session_destroy(ss);
    assert_poisoned(vals, vox * (size_t)c->C);
    /* destroying a session midway leaks nothing (the sanitizer build checks) */
    assert_ok(vxt_session_create(ctx, plan, &so, &vin, &out, &ss));
    assert_ok(vxt_session_next_batch(ss, &b, &done));
    vxt_session_destroy(ss);
    vxt_session_destroy(NULL);
    if (gpu_like)
        assert_true(atomic_load(&ctx->stitch_async_uploads) > 0);

    free(o);
    vxt_tiling_destroy(plan);
    free(vals);
    free(in);
    vxt_context_destroy(ctx);
}

/* Grouping on the CPU backend (consecutive small batches of one z row accumulated together) gives the same
 * bits as accumulating batch by batch, reports non-finite values with the caller's batch and item, and keeps
 * progress and cancellation. */
static void test_cpu_grouping(void **state)
{
    (void)state;
    vxt_context *grouped = vxt_test_context(VXT_BACKEND_CPU, 2), *single = vxt_test_context(VXT_BACKEND_CPU, 2);
    single->stitch_group = 2;
    grouped->stitch_group_slow_s = -1; /* group whatever the predictor's speed (sanitizers, loaded machines) */
    int engaged = 0;
    for (size_t i = 0; i < NCFG; i++) {
        const cfg *c = &CFGS[i]; /* every configuration, also under vxt_test_small(): no GPU groups, Oclgrind included */
        float *in = make_input(c, 700 + i);
        pred_cfg pg = default_pred(), ps = default_pred();
        result a = run_cfg(grouped, c, in, &pg, 0), b = run_cfg(single, c, in, &ps, 0);
        if (a.st != VXT_OK)
            fail_msg("%s: %s", c->name, vxt_last_error());
        expect_same(&a, &b, c->name);
        assert_true(ps.noutputs <= 2);
        if (pg.noutputs > 2)
            engaged++;
        free_result(&a);
        free_result(&b);
        free(in);
    }
    assert_true(engaged >= 3); /* batch sizes 1, 2 and 4 above, with rows of several tiles */

    /* a group buffer of 6 tiles where a row of x tiles holds 4 (CFGS[0]: 4 x 4 x 3 tiles): groups are whole rows, so
     * every call's place in the group buffer is its tile's x index; same bits */
    {
        const cfg *c0 = &CFGS[0];
        float *in0 = make_input(c0, 31);
        size_t tile_bytes = (size_t)c0->C * (size_t)(c0->roi[0] * c0->roi[1] * c0->roi[2]) * sizeof(float);
        grouped->stitch_group_bytes = 6 * tile_bytes;
        pred_cfg pg = default_pred(), ps = default_pred();
        result a = run_cfg(grouped, c0, in0, &pg, 0), b = run_cfg(single, c0, in0, &ps, 0);
        assert_int_equal(a.st, VXT_OK);
        expect_same(&a, &b, "groups of whole x rows");
        assert_int_equal(pg.ncalls_seen, 48);
        const char *base = pg.call_out[0];
        for (int k = 0; k < pg.ncalls_seen; k++)
            base = pg.call_out[k] < base ? pg.call_out[k] : base;
        for (int k = 0; k < pg.ncalls_seen; k++)
            if ((size_t)(pg.call_out[k] - base) != (size_t)pg.call_x[k] * tile_bytes)
                fail_msg("call %d (x index %lld) went to tile %zu of the group buffer", k, (long long)pg.call_x[k],
                         (size_t)(pg.call_out[k] - base) / tile_bytes);
        free_result(&a);
        free_result(&b);
        free(in0);
        grouped->stitch_group_bytes = 0;
    }

    /* batch size 1: a NaN in tile 7 is named with batch 7, item 0, though several batches were accumulated at once */
    const cfg *c = &CFGS[0];
    assert_int_equal(c->batch, 1);
    float *in = make_input(c, 9);
    pred_cfg p = default_pred();
    p.nan_tile = 7;
    p.nan_at = 77;
    result r = run_cfg(grouped, c, in, &p, 0);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    if (!strstr(vxt_last_error(), "NaN for tile 7 (item 0 of batch 7,"))
        fail_msg("message: %s", vxt_last_error());
    assert_true(p.noutputs > 2);
    free_result(&r);
    /* the same with batches of 4 (CFGS[5]): tile 6 is item 2 of batch 1 */
    const cfg *c4 = &CFGS[5];
    assert_int_equal(c4->batch, 4);
    float *in4 = make_input(c4, 10);
    p = default_pred();
    p.nan_tile = 6;
    r = run_cfg(grouped, c4, in4, &p, 0);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    if (!strstr(vxt_last_error(), "NaN for tile 6 (item 2 of batch 1,"))
        fail_msg("message: %s", vxt_last_error());
    free_result(&r);
    free(in4);

    /* progress reaches the total; cancellation after two tiles stops the run, output untouched */
    vxt_tiling *plan = make_plan(c);
    vxt_tiling_info pi = {.struct_size = sizeof pi};
    vxt_tiling_get_info(plan, &pi);
    vxt_stitch_options so = make_opts(c);
    prog pr = {0, 0, 0, 0};
    so.progress = progress_cb;
    so.progress_user = &pr;
    size_t n = (size_t)c->C * (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    float *vals = malloc(n * sizeof(float));
    vxt_poison(vals, n * sizeof(float));
    vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vv = {vals, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = &vv;
    p = default_pred();
    pr = (prog){0, 0, 0, 2};
    assert_status_msg(vxt_stitch(grouped, plan, &so, &vin, predictor, &p, &out), VXT_ERR_CANCELLED, "cancelled");
    assert_poisoned(vals, n);
    pr = (prog){0, 0, 0, 0};
    p = default_pred();
    assert_ok(vxt_stitch(grouped, plan, &so, &vin, predictor, &p, &out));
    assert_int_equal(pr.last_done, pi.tile_count);
    assert_int_equal(pr.calls, pi.tile_count); /* one progress call per batch, as without grouping */

    /* a slow model (every call 30 ms > the 20 ms limit): no group holds more than one batch, so cancellation at the
     * first progress call stops the run after one predictor call, and the bits are the same */
    vxt_context *dflt = vxt_test_context(VXT_BACKEND_CPU, 2);
    p = default_pred();
    p.sleep_ms = 30;
    pr = (prog){0, 0, 0, 1};
    vxt_poison(vals, n * sizeof(float));
    assert_status_msg(vxt_stitch(dflt, plan, &so, &vin, predictor, &p, &out), VXT_ERR_CANCELLED, "cancelled");
    assert_int_equal(p.calls, 1);
    assert_poisoned(vals, n);
    /* every call counts as slow: never grouped, same bits as without grouping */
    dflt->stitch_group_slow_s = 1e-12;
    p = default_pred();
    result g1 = run_cfg(dflt, c, in, &p, 0);
    pred_cfg ps = default_pred();
    result s1 = run_cfg(single, c, in, &ps, 0);
    assert_int_equal(g1.st, VXT_OK);
    expect_same(&g1, &s1, "slow calls");
    assert_int_equal(p.noutputs, 1); /* each batch went to the start of the group buffer */
    free_result(&g1);
    free_result(&s1);
    vxt_context_destroy(dflt);
    free(vals);
    vxt_tiling_destroy(plan);
    free(in);
    vxt_context_destroy(grouped);
    vxt_context_destroy(single);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 1);
    const cfg *c = &CFGS[0];
    float *in = make_input(c, 1);
    vxt_tiling *plan = make_plan(c);
    size_t vox = (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
    float *vals = malloc(vox * 2 * sizeof(float));
    vxt_volume vin = {in, VXT_DTYPE_F32, 1, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vv = {vals, VXT_DTYPE_F32, 2, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = &vv;
    vxt_stitch_options so = make_opts(c);
    pred_cfg p = default_pred();
#define BAD(expr, st, msg) assert_status_msg((expr), (st), (msg))
    BAD(vxt_stitch(NULL, plan, &so, &vin, predictor, &p, &out), VXT_ERR_NULL, "ctx");
    BAD(vxt_stitch(ctx, NULL, &so, &vin, predictor, &p, &out), VXT_ERR_NULL, "plan");
    BAD(vxt_stitch(ctx, plan, NULL, &vin, predictor, &p, &out), VXT_ERR_NULL, "opts");
    BAD(vxt_stitch(ctx, plan, &so, NULL, predictor, &p, &out), VXT_ERR_NULL, "input");
    BAD(vxt_stitch(ctx, plan, &so, &vin, NULL, &p, &out), VXT_ERR_NULL, "predict");
    BAD(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, NULL), VXT_ERR_NULL, "output");
    vxt_stitch_options b = so;
    b.struct_size = 3;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_STRUCT_SIZE, "struct_size is 3");
    b = so;
    b.out_channels = 0;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "out_channels is 0");
    b = so;
    b.tile_dtype = VXT_DTYPE_U8;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "tile_dtype uint8");
    b = so;
    b.batch_size = 0;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "batch_size is 0");
    b = so;
    b.mirror_axes = 8;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "mirror_axes 0x8");
    b = so;
    b.members = 0;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "members is 0");
    b = so;
    b.importance = VXT_IMPORTANCE_USER;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_NULL, "user_map");
    size_t roi = (size_t)(c->roi[0] * c->roi[1] * c->roi[2]);
    float *um = malloc(roi * sizeof(float));
    for (size_t i = 0; i < roi; i++)
        um[i] = 1.0f;
    um[17] = -2.0f;
    b.user_map = um;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "index 17");
    b = so;
    b.sigma_scale[1] = 0.0;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "sigma_scale[1]");
    b = so;
    b.flags = VXT_STITCH_DEVICE_PREDICTOR;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "needs an OpenCL context");
    b = so;
    b.out_channels = 300;
    vxt_volume vl = {vals, VXT_DTYPE_U8, 1, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output ol;
    vxt_stitch_output_init(&ol);
    ol.labels = &vl;
    BAD(vxt_stitch(ctx, plan, &b, &vin, predictor, &p, &ol), VXT_ERR_INVALID_ARGUMENT, "do not fit uint8");
    /* shapes and types */
    vxt_volume bad = vin;
    bad.shape[1]++;
    BAD(vxt_stitch(ctx, plan, &so, &bad, predictor, &p, &out), VXT_ERR_SHAPE_MISMATCH, "the plan's volume");
    bad = vin;
    bad.dtype = VXT_DTYPE_I16;
    BAD(vxt_stitch(ctx, plan, &so, &bad, predictor, &p, &out), VXT_ERR_SHAPE_MISMATCH, "dtype int16");
    bad = vin;
    bad.data = NULL;
    BAD(vxt_stitch(ctx, plan, &so, &bad, predictor, &p, &out), VXT_ERR_NULL, "input.data");
    bad = vin;
    bad.channels = 0;
    BAD(vxt_stitch(ctx, plan, &so, &bad, predictor, &p, &out), VXT_ERR_INVALID_ARGUMENT, "channels");
    {
        /* an axis longer than 2^31 voxels: the plan is fine (64-bit), the engine's 32-bit tables are not; refused
         * before anything is allocated or read (the volumes' pointers are small buffers never touched) */
        vxt_tiling_options po;
        vxt_tiling_options_init(&po);
        int64_t big[3] = {1, 1, ((int64_t)1 << 31) + 5}, broi[3] = {1, 1, (int64_t)1 << 31};
        memcpy(po.shape, big, sizeof po.shape);
        memcpy(po.roi, broi, sizeof po.roi);
        vxt_tiling *bp = NULL;
        assert_ok(vxt_tiling_create(&po, &bp));
        vxt_volume bi = {in, VXT_DTYPE_F32, 1, {1, 1, big[2]}}, bo = {vals, VXT_DTYPE_F32, 2, {1, 1, big[2]}};
        vxt_stitch_output obig;
        vxt_stitch_output_init(&obig);
        obig.values = &bo;
        BAD(vxt_stitch(ctx, bp, &so, &bi, predictor, &p, &obig), VXT_ERR_OVERFLOW, "32 bits");
        vxt_tiling_destroy(bp);
    }
    bad = vv;
    bad.channels = 3;
    vxt_stitch_output o2 = out;
    o2.values = &bad;
    BAD(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &o2), VXT_ERR_SHAPE_MISMATCH, "3 channels, expected 2");
    vxt_stitch_output none;
    vxt_stitch_output_init(&none);
    BAD(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &none), VXT_ERR_INVALID_ARGUMENT, "neither");
    none.struct_size = 1;
    BAD(vxt_stitch(ctx, plan, &so, &vin, predictor, &p, &none), VXT_ERR_STRUCT_SIZE, "vxt_stitch_output");
    vxt_session *ss = (vxt_session *)(uintptr_t)1;
    BAD(vxt_session_create(ctx, plan, &so, &vin, &out, NULL), VXT_ERR_NULL, "out");
    so.max_outstanding = 0;
    BAD(vxt_session_create(ctx, plan, &so, &vin, &out, &ss), VXT_ERR_INVALID_ARGUMENT, "max_outstanding is 0");
    assert_null(ss);
    BAD(vxt_session_next_batch(NULL, NULL, NULL), VXT_ERR_NULL, "ss");
    BAD(vxt_session_submit(NULL, 0, NULL), VXT_ERR_NULL, "ss");
    BAD(vxt_session_finish(NULL), VXT_ERR_NULL, "ss");
#undef BAD
    free(um);
    free(vals);
    vxt_tiling_destroy(plan);
    free(in);
    vxt_context_destroy(ctx);
}

static void test_failures_cpu(void **state)
{
    (void)state;
    run_failure_checks(VXT_BACKEND_CPU, 0);
}

static void test_failures_opencl(void **state)
{
    (void)state;
    run_failure_checks(VXT_BACKEND_OPENCL, 0);
}

/* The same failures on the upload path: each leaves the outputs untouched, reports its own message, and destroying
 * the stitch midway (its uploads and kernels in flight) frees nothing a queued command still reads (the sanitizer
 * build checks). */
static void test_failures_opencl_upload(void **state)
{
    (void)state;
    run_failure_checks(VXT_BACKEND_OPENCL, 1);
}

/* ---- the discrete-GPU upload path ------------------------------------------------------------------------- */

/* Calls of a case: tile batches x members x mirrorings (every subset of the mirrored axes). */
static uint64_t case_calls(const cfg *c, uint64_t ntiles)
{
    unsigned n = (c->mirror & 1u) + ((c->mirror >> 1) & 1u) + ((c->mirror >> 2) & 1u);
    return (ntiles + (uint64_t)c->batch - 1) / (uint64_t)c->batch * (uint64_t)c->members * (1u << n);
}

/* One vxt_stitch run of c on ctx; *uploads: the calls that took the upload queue (the context's count grew by). */
static result run_counted(vxt_context *ctx, const cfg *c, const float *in, uint64_t *uploads)
{
    uint64_t before = atomic_load(&ctx->stitch_async_uploads);
    pred_cfg p = default_pred();
    result r = run_cfg(ctx, c, in, &p, 0);
    *uploads = atomic_load(&ctx->stitch_async_uploads) - before;
    return r;
}

/* ctx->stitch_upload = 1 makes PoCL run the path of a discrete GPU: tile outputs go up on a second queue from
 * pinned buffers while the previous call accumulates. It moves bytes only: the CPU backend's bits and the
 * blocking path's (stitch_upload = 2), for both kernel families, with and without the accumulation thread, batch
 * sizes 1, the case's own and 7; float32 and float16 tiles, mirroring and ensembles are among the cases. Every call
 * of the upload runs took that path, none of the others. */
static void test_opencl_upload_path(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2), *up = vxt_test_context(VXT_BACKEND_OPENCL, 0),
                *no = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    up->stitch_upload = 1;
    no->stitch_upload = 2;
    int f16 = 0, mirrored = 0, ensemble = 0;
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        cfg c = cfg_case(i);
        f16 |= c.tile == VXT_DTYPE_F16;
        mirrored |= c.mirror != 0;
        ensemble |= c.members > 1;
        float *in = make_input(&c, 1300 + i);
        const int batches[3] = {1, CFGS[i].batch, 7};
        for (int bi = 0; bi < 3; bi++) {
            if (vxt_test_small() && bi != 2) /* Oclgrind: batch 7 only */
                continue;
            if (bi > 0 && batches[bi] == batches[bi - 1])
                continue;
            c.batch = batches[bi];
            pred_cfg pa = default_pred();
            result a = run_cfg(cpu, &c, in, &pa, 0);
            if (a.st != VXT_OK)
                fail_msg("%s on the CPU: %s", c.name, vxt_last_error());
            for (int kern = 1; kern <= 2; kern++)
                for (int ov = 1; ov <= 2; ov++) {
                    /* vxt_test_small() (Oclgrind): two of the four, both kernel families and both overlaps */
                    if (!vxt_test_small_turn(i + (size_t)(kern + ov), 0, 2))
                        continue;
                    up->stitch_kernels = no->stitch_kernels = kern;
                    up->stitch_overlap = no->stitch_overlap = ov;
                    uint64_t nu = 0, nn = 0;
                    result b = run_counted(up, &c, in, &nu), d = run_counted(no, &c, in, &nn);
                    char what[160];
                    snprintf(what, sizeof what, "%s, batch %d, %s kernels, overlap %s: upload path", c.name, c.batch,
                             kern == 1 ? "row-wise" : "per-voxel", ov == 1 ? "on" : "off");
                    if (b.st != VXT_OK)
                        fail_msg("%s: %s", what, vxt_last_error());
                    expect_same(&a, &b, what);
                    expect_same(&d, &b, what);
                    if (nu != case_calls(&c, b.ntiles) || nn != 0)
                        fail_msg("%s: %llu calls uploaded asynchronously (expected %llu), %llu with stitch_upload = 2",
                                 what, (unsigned long long)nu, (unsigned long long)case_calls(&c, b.ntiles),
                                 (unsigned long long)nn);
                    free_result(&b);
                    free_result(&d);
                }
            free_result(&a);
        }
        free(in);
    }
    assert_true(f16 && mirrored && ensemble);
    /* the device form never stages nor uploads: its outputs are on the device already */
    {
        const cfg c3 = cfg_case(3), *c = &c3;
        float *in = make_input(c, 1399);
        pred_cfg pa = default_pred(), pd = default_pred();
        result a = run_cfg(cpu, c, in, &pa, 0);
        pd.device = 1;
        pd.ctx = up;
        vxt_tiling *plan = make_plan(c);
        vxt_stitch_options so = make_opts(c);
        so.flags = VXT_STITCH_DEVICE_PREDICTOR;
        float *vals = malloc(a.nvals * sizeof(float) + 4);
        vxt_poison(vals, a.nvals * sizeof(float));
        vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
        vxt_volume vv = {vals, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
        vxt_stitch_output out;
        vxt_stitch_output_init(&out);
        out.values = &vv;
        uint64_t before = atomic_load(&up->stitch_async_uploads);
        assert_ok(vxt_stitch(up, plan, &so, &vin, predictor, &pd, &out));
        assert_int_equal(atomic_load(&up->stitch_async_uploads), before);
        assert_int_equal(vxt_count_bit_diffs(vals, a.values, a.nvals, "device form, upload path on"), 0);
        free(vals);
        free_result(&a);
        vxt_tiling_destroy(plan);
        free(in);
    }
    vxt_context_destroy(cpu);
    vxt_context_destroy(up);
    vxt_context_destroy(no);
}

/* Push sessions on the upload path: the callers' own (pageable) memory goes up without blocking, and consume
 * returns once it is up; outputs submitted early are held and go up later. Bits as on the CPU backend. */
static void test_opencl_upload_sessions(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2), *up = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    up->stitch_upload = 1;
    for (size_t i = 0; i < NCFG; i++) {
        if (!cfg_on(i))
            continue;
        const cfg ci = cfg_case(i), *c = &ci;
        up->stitch_kernels = 1 + (int)(i % 2);
        float *in = make_input(c, 1500 + i);
        pred_cfg pr = default_pred();
        result ref = run_cfg(cpu, c, in, &pr, 0);
        assert_int_equal(ref.st, VXT_OK);
        vxt_tiling *plan = make_plan(c);
        vxt_stitch_options so = make_opts(c);
        sink_state ks;
        void *outs[5];
        vxt_session *ss = open_sink_session(up, c, &ref, in, plan, &so, &ks, outs);
        pred_cfg pu = default_pred();
        drive_session(ss, &pu, outs);
        vxt__stitch *s = *(vxt__stitch **)ss; /* first member of the session */
        assert_int_equal(vxt__stitch_cl_async_uploads(s), case_calls(c, ref.ntiles));
        assert_int_equal(s->staged, 0); /* sessions bring their own memory: nothing pinned */
        vxt_session_destroy(ss);
        assert_int_equal(ks.next_z, c->shape[0]);
        if (ref.nvals && vxt_count_bit_diffs(ks.values, ref.values, ref.nvals, c->name))
            fail_msg("%s: session on the upload path differs from the CPU", c->name);
        if (ref.nlab && memcmp(ks.labels, ref.labels, ref.nlab * ref.lab_es) != 0)
            fail_msg("%s: session labels on the upload path differ from the CPU", c->name);
        for (int w = 0; w < 5; w++)
            free(outs[w]);
        free(ks.values);
        free(ks.labels);
        free_result(&ref);
        vxt_tiling_destroy(plan);
        free(in);
    }
    vxt_context_destroy(cpu);
    vxt_context_destroy(up);
}

/* A NaN or infinity in a tile output is reported on the upload path with the message of the blocking path
 * (float32 and float16 tiles, in line and overlapping), and the outputs stay untouched. */
static void test_opencl_upload_nonfinite(void **state)
{
    (void)state;
    vxt_context *up = vxt_test_context(VXT_BACKEND_OPENCL, 0), *no = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    up->stitch_upload = 1;
    no->stitch_upload = 2;
    const struct {
        size_t cfg;
        int64_t tile, at;
        const char *want;
    } cases[] = {{1, 5, 1234, "NaN for tile 5"}, {0, 7, 77, "NaN for tile 7 (item 0 of batch 7,"},
                 {2, 3, 1000, "NaN for tile 3"}, {3, 2, 300, "NaN for tile 2"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int ov = 1; ov <= 2; ov++) {
            const cfg *c = &CFGS[cases[k].cfg];
            up->stitch_overlap = no->stitch_overlap = ov;
            float *in = make_input(c, 9);
            pred_cfg p = default_pred(), q = default_pred();
            p.nan_tile = q.nan_tile = cases[k].tile;
            p.nan_at = q.nan_at = cases[k].at;
            result a = run_cfg(no, c, in, &q, 0);
            assert_int_equal(a.st, VXT_ERR_NONFINITE);
            char want[1024];
            vxt__strlcpy(want, vxt_last_error(), sizeof want);
            uint64_t before = atomic_load(&up->stitch_async_uploads);
            result r = run_cfg(up, c, in, &p, 0);
            assert_int_equal(r.st, VXT_ERR_NONFINITE);
            assert_true(atomic_load(&up->stitch_async_uploads) > before);
            if (!strstr(vxt_last_error(), cases[k].want) || strcmp(vxt_last_error(), want) != 0)
                fail_msg("%s, overlap %d: message '%s', the blocking path's '%s'", c->name, ov, vxt_last_error(), want);
            assert_poisoned(r.values, r.nvals);
            free_result(&a);
            free_result(&r);
            free(in);
        }
    vxt_context_destroy(up);
    vxt_context_destroy(no);
}

/* What the upload path holds: vxt_stitch's output buffers become the backend's pinned staging (one in line, two
 * with the accumulation thread), mapped and writable, counted once: in the engine's held bytes (host memory it
 * allocated), and in the estimate as vxt_stitch's tile outputs, which it no longer allocates itself. */
static void test_opencl_upload_footprint(void **state)
{
    (void)state;
    vxt_context *up = vxt_test_context(VXT_BACKEND_OPENCL, 0), *no = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    up->stitch_upload = 1;
    no->stitch_upload = 2;
    up->stitch_kernels = no->stitch_kernels = 2; /* per voxel: no grouping tables on either */
    const cfg *c = &CFGS[1];
    float *in = make_input(c, 3);
    vxt_tiling *plan = make_plan(c);
    vxt_stitch_options so = make_opts(c);
    vxt_volume vin = {in, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.want_values = 1;
    const size_t obytes = (size_t)c->batch * (size_t)c->C * (size_t)(c->roi[0] * c->roi[1] * c->roi[2]) * 4u;
    for (int staged = 0; staged <= 2; staged++) {
        vxt__stitch *a = NULL, *b = NULL;
        assert_ok(vxt__stitch_create(up, plan, &so, &vin, &out, 2, staged, &a));
        assert_ok(vxt__stitch_create(no, plan, &so, &vin, &out, 2, staged, &b));
        for (int i = 0; i < 3; i++) {
            void *p = vxt__stitch_cl_pinned(a, i, obytes);
            assert_true((p != NULL) == (i < staged));
            if (p)
                memset(p, 0x5a, obytes); /* mapped for writing, all of it */
            assert_null(vxt__stitch_cl_pinned(b, i, obytes));
        }
        if (staged > 0) {
            assert_null(vxt__stitch_cl_pinned(a, 0, obytes + 1));
            assert_true(vxt__stitch_cl_pinned(a, 0, obytes) != vxt__stitch_cl_pinned(a, staged - 1, obytes) ||
                        staged == 1);
        }
        size_t dev = 0;
        assert_int_equal(a->held_bytes, a->ops->footprint(a, &dev));
        assert_int_equal(a->held_bytes - b->held_bytes, (size_t)staged * obytes);
        assert_int_equal(vxt__stitch_run_output_bytes(up, a),
                         staged ? (size_t)staged * obytes
                                : (size_t)vxt__stitch_run_staged(up, &so) * vxt__ws_round(obytes));
        vxt__stitch_destroy(a);
        vxt__stitch_destroy(b);
    }
    /* the estimate of a vxt_stitch run: in line one pinned buffer, overlapping two, listed as its tile outputs (at
     * their exact size: the driver's allocations, not workspace pages), and nothing more in the engine's part */
    for (int ov = 1; ov <= 2; ov++) {
        up->stitch_overlap = no->stitch_overlap = ov;
        vxt__stitch_bytes ea, eb;
        assert_ok(vxt__stitch_estimate(up, plan, &so, c->cin, &out, 2, &ea));
        assert_ok(vxt__stitch_estimate(no, plan, &so, c->cin, &out, 2, &eb));
        const size_t n = ov == 1 ? 2 : 1;
        assert_int_equal(ea.tile_outputs, n * obytes);
        assert_int_equal(eb.tile_outputs, n * vxt__ws_round(obytes));
        assert_int_equal(ea.engine, eb.engine);
        assert_int_equal(ea.device, eb.device);
    }
    vxt_tiling_destroy(plan);
    free(in);
    vxt_context_destroy(up);
    vxt_context_destroy(no);
}

/* An application's own OpenCL context, queue and device, adopted: the upload queue is created on that context, and
 * the bits are the CPU backend's. */
static void test_opencl_upload_adopted(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2), *app = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    struct _cl_context *clc = NULL;
    struct _cl_device_id *dev = NULL;
    struct _cl_command_queue *q = NULL;
    assert_ok(vxt_context_cl_handles(app, &clc, &dev, &q));
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_OPENCL;
    o.cl_context = clc;
    o.cl_device = dev;
    o.cl_queue = q;
    vxt_context *up = NULL;
    assert_ok(vxt_context_create(&o, &up));
    assert_true(up->adopted);
    up->stitch_upload = 1;
    const size_t which[] = {1, 3};
    for (size_t k = 0; k < 2; k++)
        for (int ov = 1; ov <= 2; ov++) {
            const cfg ck = cfg_case(which[k]), *c = &ck;
            up->stitch_overlap = ov;
            float *in = make_input(c, 1700 + k);
            pred_cfg pa = default_pred();
            result a = run_cfg(cpu, c, in, &pa, 0);
            uint64_t n = 0;
            result b = run_counted(up, c, in, &n);
            if (b.st != VXT_OK)
                fail_msg("%s on an adopted context: %s", c->name, vxt_last_error());
            expect_same(&a, &b, c->name);
            assert_int_equal(n, case_calls(c, b.ntiles));
            free_result(&a);
            free_result(&b);
            free(in);
        }
    vxt_context_destroy(up);
    vxt_context_destroy(app);
    vxt_context_destroy(cpu);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_cpu_thread_counts_agree),
        cmocka_unit_test(test_cpu_grouping),
        cmocka_unit_test(test_batch_sizes_agree_cpu),
        cmocka_unit_test(test_mirror_and_member_order),
        cmocka_unit_test(test_against_double_reference),
        cmocka_unit_test(test_identity_constant_weights_exact),
        cmocka_unit_test(test_sessions_cpu),
        cmocka_unit_test(test_sink_ring_is_small),
        cmocka_unit_test(test_failures_cpu),
        cmocka_unit_test(test_bad_arguments),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_opencl_matches_cpu),
        cmocka_unit_test(test_opencl_grouping),
        cmocka_unit_test(test_batch_sizes_agree_opencl),
        cmocka_unit_test(test_sessions_opencl),
        cmocka_unit_test(test_failures_opencl),
        cmocka_unit_test(test_opencl_upload_path),
        cmocka_unit_test(test_opencl_upload_sessions),
        cmocka_unit_test(test_opencl_upload_nonfinite),
        cmocka_unit_test(test_failures_opencl_upload),
        cmocka_unit_test(test_opencl_upload_footprint),
        cmocka_unit_test(test_opencl_upload_adopted),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
