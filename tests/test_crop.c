/* test_crop.c - crop blending (VXT_IMPORTANCE_CROP): every voxel from the tile it lies deepest in.
 *
 * The predictor is a small 3D convolution (random weights, a box of radius r per axis, zero padding at the tile's
 * borders): a network with a finite receptive field 2r + 1. Tiled with crop blending and overlaps of at least 2r
 * voxels, the result must be the convolution of the whole volume, bit for bit, after mirroring, ensembles,
 * activation and labels: the claim docs/STITCHING.md ("Crop") makes. With less overlap it must not be (the
 * negative control that shows the comparison can fail). Also: which tile each voxel comes from (TorchIO's rule
 * where tiles overlap evenly, the deepest tile everywhere), identical bits on 1 and 3 CPU threads, the OpenCL
 * context and every batch size, sinks and sessions, the memory held (no channels x volume, no accumulator), and
 * the failures (NaN, predictor failure, the device form refused, vxt_importance_map refusing "crop"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_labels.h"
#include "vxt_stitch.h"
#include "stitch_rows_cpu.h"
#include "vxt_test.h"

/* ---- the convolution "network" -------------------------------------------------------------------------------- */

typedef struct net {
    int r[3];          /* radius per axis: receptive field 2r + 1 */
    int cin;
    int64_t C;
    int tile_ids;      /* instead of the convolution: channel 0 = the tile's index, channel 1 = 0 */
    int64_t nan_tile;  /* NaN at output element nan_at of this tile (-1: never) */
    size_t nan_at;
    int fail_batch;    /* return 5 for this batch (-1: never) */
    int calls;
    int K;             /* offsets in the box */
    float *w;          /* MAX_MEMBERS x C x cin x K weights, offsets in loop order */
} net;

/* A weight in [-0.5, 0.5) for (member, output channel, input channel, offset), from a hash: not symmetric, so
 * mirroring changes the result. */
static float weight(int member, int64_t c, int ci, int dz, int dy, int dx)
{
    uint64_t h = (uint64_t)(member * 1000003 + (int)c * 7919 + ci * 104729 + (dz + 16) * 1237 + (dy + 16) * 97 + dx + 16);
    h ^= h >> 17;
    h *= 0xed5ad4bbu;
    h ^= h >> 11;
    h *= 0xac4c1b51u;
    h ^= h >> 15;
    return (float)(h % 4096u) / 4096.0f - 0.5f;
}

enum { MAX_MEMBERS = 3 };

static net make_net(int rz, int ry, int rx, int cin, int64_t C)
{
    net n;
    memset(&n, 0, sizeof n);
    n.r[0] = rz;
    n.r[1] = ry;
    n.r[2] = rx;
    n.cin = cin;
    n.C = C;
    n.nan_tile = -1;
    n.fail_batch = -1;
    n.K = (2 * rz + 1) * (2 * ry + 1) * (2 * rx + 1);
    n.w = malloc((size_t)MAX_MEMBERS * (size_t)C * (size_t)cin * (size_t)n.K * sizeof(float));
    assert_non_null(n.w);
    float *w = n.w;
    for (int m = 0; m < MAX_MEMBERS; m++)
        for (int64_t c = 0; c < C; c++)
            for (int ci = 0; ci < cin; ci++)
                for (int dz = -rz; dz <= rz; dz++)
                    for (int dy = -ry; dy <= ry; dy++)
                        for (int dx = -rx; dx <= rx; dx++)
                            *w++ = weight(m, c, ci, dz, dy, dx);
    return n;
}

static void free_net(net *n)
{
    free(n->w);
    n->w = NULL;
}

/* Output channel c at voxel p of src (cin x dims[0] x dims[1] x dims[2]), zeros outside: the neighbours summed
 * in one fixed order. sign[a] = -1 reads the offsets mirrored on axis a (the convolution of a flipped image at
 * the flipped position, without flipping the image). */
static float conv_at(const net *n, int member, const float *src, const int64_t dims[3], int64_t c, const int64_t p[3],
                     const int sign[3])
{
    const size_t vol = (size_t)(dims[0] * dims[1] * dims[2]);
    float acc = 0.125f * (float)c + 0.5f * (float)member;
    const float *w = n->w + ((size_t)member * (size_t)n->C + (size_t)c) * (size_t)n->cin * (size_t)n->K;
    for (int ci = 0; ci < n->cin; ci++)
        for (int dz = -n->r[0]; dz <= n->r[0]; dz++)
            for (int dy = -n->r[1]; dy <= n->r[1]; dy++)
                for (int dx = -n->r[2]; dx <= n->r[2]; dx++) {
                    const int64_t q[3] = {p[0] + sign[0] * dz, p[1] + sign[1] * dy, p[2] + sign[2] * dx};
                    float v = 0.0f;
                    if (q[0] >= 0 && q[0] < dims[0] && q[1] >= 0 && q[1] < dims[1] && q[2] >= 0 && q[2] < dims[2])
                        v = src[(size_t)ci * vol + (size_t)((q[0] * dims[1] + q[1]) * dims[2] + q[2])];
                    float prod = v * *w++;
                    acc = acc + prod;
                }
    return acc;
}

static int predict(void *user, const vxt_batch *b)
{
    net *n = (net *)user;
    n->calls++;
    if ((int)b->id == n->fail_batch)
        return 5;
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    const int plain[3] = {1, 1, 1};
    for (int item = 0; item < b->count; item++) {
        const float *in = b->input + (size_t)item * (size_t)b->in_channels * roi;
        for (int64_t c = 0; c < b->out_channels; c++)
            for (int64_t z = 0; z < b->roi[0]; z++)
                for (int64_t y = 0; y < b->roi[1]; y++)
                    for (int64_t x = 0; x < b->roi[2]; x++) {
                        const int64_t p[3] = {z, y, x};
                        const size_t local = (size_t)((z * b->roi[1] + y) * b->roi[2] + x);
                        const size_t oi = ((size_t)item * (size_t)b->out_channels + (size_t)c) * roi + local;
                        float o = n->tile_ids ? (c == 0 ? (float)(b->first_tile + (uint64_t)item) : 0.0f)
                                              : conv_at(n, b->member, in, b->roi, c, p, plain);
                        if ((int64_t)(b->first_tile + (uint64_t)item) == n->nan_tile &&
                            (size_t)c * roi + local == n->nan_at)
                            o = NAN;
                        if (b->output_dtype == VXT_DTYPE_F16)
                            ((uint16_t *)b->output)[oi] = vxt_float_to_half(o);
                        else
                            ((float *)b->output)[oi] = o;
                    }
    }
    return 0;
}

/* ---- configurations ------------------------------------------------------------------------------------------ */

typedef struct cfg {
    const char *name;
    int64_t shape[3], roi[3];
    vxt_grid grid;
    double overlap;  /* monai: fraction; nnunet: 1 - step */
    int64_t ov_vox;  /* voxels grid */
    int r[3], cin;
    int64_t C;
    vxt_dtype tile;
    vxt_accumulate acc; /* the ensemble's arithmetic (float16 with float16 tiles, as nnU-Net) */
    int batch;
    unsigned mirror;
    int members;
    vxt_activation act;
    int values, labels;
    vxt_dtype label_dtype;
    vxt_ensemble ensemble; /* members averaged as logits (default) or probabilities */
} cfg;

static const cfg CFGS[] = {
    {"monai-softmax-batch3", {23, 33, 37}, {12, 16, 20}, VXT_GRID_MONAI, 0.5, 0, {2, 3, 2}, 1, 3, VXT_DTYPE_F32,
     VXT_ACCUMULATE_FLOAT32, 3, 0, 1, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"nnunet-f16-mirror-ensemble", {15, 19, 22}, {8, 10, 10}, VXT_GRID_NNUNET, 0.5, 0, {1, 1, 2}, 1, 3, VXT_DTYPE_F16,
     VXT_ACCUMULATE_FLOAT16, 2, 7, 2, VXT_ACTIVATION_NONE, 1, 1, VXT_DTYPE_U16, VXT_ENSEMBLE_LOGITS},
    {"voxels-overlap-exactly-2r-sigmoid", {20, 31, 27}, {8, 12, 10}, VXT_GRID_VOXELS, 0, 4, {2, 2, 2}, 2, 2,
     VXT_DTYPE_F32, VXT_ACCUMULATE_FLOAT32, 4, 0, 1, VXT_ACTIVATION_SIGMOID, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"monai-mirror-yx-ensemble-softmax", {13, 27, 31}, {8, 12, 12}, VXT_GRID_MONAI, 0.6, 0, {1, 2, 2}, 1, 2,
     VXT_DTYPE_F32, VXT_ACCUMULATE_FLOAT32, 2, 6, 3, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"2d", {1, 50, 61}, {1, 16, 20}, VXT_GRID_MONAI, 0.5, 0, {0, 3, 4}, 1, 3, VXT_DTYPE_F32, VXT_ACCUMULATE_FLOAT32, 5,
     6, 1, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"volume-smaller-than-tile", {5, 9, 30}, {8, 16, 12}, VXT_GRID_MONAI, 0.5, 0, {1, 1, 2}, 1, 2, VXT_DTYPE_F32,
     VXT_ACCUMULATE_FLOAT32, 2, 1, 1, VXT_ACTIVATION_NONE, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"labels-only-40-classes", {9, 21, 17}, {6, 8, 8}, VXT_GRID_NNUNET, 0.5, 0, {1, 1, 1}, 1, 40, VXT_DTYPE_F32,
     VXT_ACCUMULATE_FLOAT32, 2, 0, 1, VXT_ACTIVATION_SOFTMAX, 0, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
    {"ensemble-of-probabilities", {14, 22, 19}, {8, 10, 10}, VXT_GRID_MONAI, 0.5, 0, {1, 2, 2}, 1, 3, VXT_DTYPE_F32,
     VXT_ACCUMULATE_FLOAT32, 3, 2, 3, VXT_ACTIVATION_SOFTMAX, 1, 1, VXT_DTYPE_U8, VXT_ENSEMBLE_PROBABILITIES},
    {"values-only-f16", {15, 20, 26}, {8, 8, 12}, VXT_GRID_NNUNET, 0.5, 0, {1, 2, 2}, 1, 2, VXT_DTYPE_F16,
     VXT_ACCUMULATE_FLOAT16, 1, 0, 1, VXT_ACTIVATION_NONE, 1, 0, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS},
};
#define NCFG (sizeof CFGS / sizeof CFGS[0])

static size_t voxels(const cfg *c)
{
    return (size_t)(c->shape[0] * c->shape[1] * c->shape[2]);
}

static float *make_input(const cfg *c, uint64_t seed)
{
    size_t n = (size_t)c->cin * voxels(c);
    float *v = malloc(n * sizeof(float));
    assert_non_null(v);
    vxt_rng r = {seed};
    for (size_t i = 0; i < n; i++)
        v[i] = vxt_rng_uniform(&r, -2.0f, 3.0f);
    return v;
}

static vxt_tiling *make_tiling(const cfg *c)
{
    vxt_tiling_options po;
    vxt_tiling_options_init(&po);
    memcpy(po.shape, c->shape, sizeof po.shape);
    memcpy(po.roi, c->roi, sizeof po.roi);
    po.grid = c->grid;
    po.pad = VXT_PAD_CONSTANT;
    po.pad_value = 0.0f; /* the convolution's own zero padding: the whole volume sees zeros outside too */
    for (int a = 0; a < 3; a++) {
        po.overlap[a] = c->overlap;
        po.step[a] = 1.0 - c->overlap;
        po.overlap_voxels[a] = c->roi[a] > c->ov_vox ? c->ov_vox : 0;
    }
    vxt_tiling *t = NULL;
    assert_ok(vxt_tiling_create(&po, &t));
    return t;
}

static vxt_stitch_options make_opts(const cfg *c)
{
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = c->C;
    so.tile_dtype = c->tile;
    so.importance = VXT_IMPORTANCE_CROP;
    so.accumulate = c->acc;
    so.batch_size = c->batch;
    so.mirror_axes = c->mirror;
    so.members = c->members;
    so.activation = c->act;
    so.label_dtype = c->label_dtype;
    so.ensemble = c->ensemble;
    return so;
}

typedef struct result {
    float *values;
    void *labels;
    size_t nvals, nlab, lab_es;
    vxt_status st;
} result;

static result alloc_result(const cfg *c)
{
    result r;
    memset(&r, 0, sizeof r);
    r.nvals = c->values ? voxels(c) * (size_t)c->C : 0;
    r.nlab = c->labels ? voxels(c) : 0;
    r.lab_es = vxt_dtype_size(c->label_dtype);
    r.values = malloc(r.nvals * sizeof(float) + 4);
    r.labels = malloc(r.nlab * r.lab_es + 4);
    assert_true(r.values && r.labels);
    vxt_poison(r.values, r.nvals * sizeof(float));
    vxt_poison(r.labels, r.nlab * r.lab_es);
    return r;
}

static void free_result(result *r)
{
    free(r->values);
    free(r->labels);
}

static result run(vxt_context *ctx, const cfg *c, const vxt_stitch_options *so, const float *input, net *n)
{
    result r = alloc_result(c);
    vxt_tiling *t = make_tiling(c);
    vxt_volume in = {(void *)(uintptr_t)input, VXT_DTYPE_F32, c->cin, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume vals = {r.values, VXT_DTYPE_F32, c->C, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_volume labs = {r.labels, c->label_dtype, 1, {c->shape[0], c->shape[1], c->shape[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = c->values ? &vals : NULL;
    out.labels = c->labels ? &labs : NULL;
    r.st = vxt_stitch(ctx, t, so, &in, predict, n, &out);
    vxt_tiling_destroy(t);
    return r;
}

static void expect_same(const result *a, const result *b, const char *what)
{
    if (a->st != VXT_OK || b->st != VXT_OK)
        fail_msg("%s: %s / %s", what, vxt_status_name(a->st), vxt_status_name(b->st));
    size_t d = vxt_count_bit_diffs(a->values, b->values, a->nvals, what);
    if (d)
        fail_msg("%s: %zu of %zu values differ", what, d, a->nvals);
    if (a->nlab && memcmp(a->labels, b->labels, a->nlab * a->lab_es) != 0)
        fail_msg("%s: labels differ", what);
}

/* ---- whole-volume inference: the same convolution over the whole volume, through the same per-voxel steps ---- */

static float as_tile(const cfg *c, float v)
{
    return c->tile == VXT_DTYPE_F16 ? vxt_tile_f16(vxt_float_to_half(v)) : vxt_tile_f32(v);
}

/* The mirrorings in the engine's order: identity, single axes, pairs, all three (those mirror_axes allows). */
static int flip_list(unsigned mirror, unsigned flips[8])
{
    int nf = 0;
    flips[nf++] = 0;
    const unsigned single[3] = {1, 2, 4}, pairs[3] = {3, 5, 6};
    for (int a = 0; a < 3; a++)
        if (mirror & single[a])
            flips[nf++] = single[a];
    for (int a = 0; a < 3; a++)
        if ((mirror & pairs[a]) == pairs[a])
            flips[nf++] = pairs[a];
    if (mirror == 7)
        flips[nf++] = 7;
    return nf;
}

static result whole_volume(const cfg *c, const net *n, const float *input)
{
    result r = alloc_result(c);
    r.st = VXT_OK;
    const int f16 = c->tile == VXT_DTYPE_F16;
    const int emode = c->acc == VXT_ACCUMULATE_FLOAT16 ? VXT_ACC_F16 : VXT_ACC_F32;
    unsigned flips[8];
    const int nf = flip_list(c->mirror, flips);
    const size_t vox = voxels(c);
    float *vals = malloc((size_t)c->C * sizeof(float)), *ens = malloc((size_t)c->C * sizeof(float));
    assert_true(vals && ens);
    for (int64_t z = 0; z < c->shape[0]; z++)
        for (int64_t y = 0; y < c->shape[1]; y++)
            for (int64_t x = 0; x < c->shape[2]; x++) {
                const int64_t p[3] = {z, y, x};
                const size_t vi = (size_t)((z * c->shape[1] + y) * c->shape[2] + x);
                for (int m = 0; m < c->members; m++) {
                    for (int64_t ch = 0; ch < c->C; ch++) {
                        float acc = 0.0f;
                        for (int f = 0; f < nf; f++) {
                            const int sign[3] = {(flips[f] & 1u) ? -1 : 1, (flips[f] & 2u) ? -1 : 1, (flips[f] & 4u) ? -1 : 1};
                            float v = as_tile(c, conv_at(n, m, input, c->shape, ch, p, sign));
                            acc = f == 0 ? v : vxt_mirror_add(acc, v, f16);
                        }
                        vals[ch] = nf > 1 ? vxt_mirror_mean(acc, (float)nf, f16) : acc;
                    }
                    const int prob = c->ensemble == VXT_ENSEMBLE_PROBABILITIES && c->members > 1 &&
                                     c->act != VXT_ACTIVATION_NONE;
                    if (prob && c->act == VXT_ACTIVATION_SOFTMAX)
                        vxt_softmax_strided(vals, 1, (int)c->C);
                    else if (prob)
                        vxt_sigmoid_strided(vals, 1, (int)c->C);
                    for (int64_t ch = 0; ch < c->C && c->members > 1; ch++) {
                        ens[ch] = m == 0 ? vals[ch] : vxt_ensemble_add(ens[ch], vals[ch], emode);
                        if (m == c->members - 1)
                            vals[ch] = vxt_ensemble_mean(ens[ch], (float)c->members, emode);
                    }
                }
                const int activated = c->ensemble == VXT_ENSEMBLE_PROBABILITIES && c->members > 1;
                if (!activated && c->act == VXT_ACTIVATION_SOFTMAX)
                    vxt_softmax_strided(vals, 1, (int)c->C);
                else if (!activated && c->act == VXT_ACTIVATION_SIGMOID)
                    vxt_sigmoid_strided(vals, 1, (int)c->C);
                for (int64_t ch = 0; ch < c->C && c->values; ch++)
                    r.values[(size_t)ch * vox + vi] = vals[ch];
                if (c->labels) {
                    int label = vxt_argmax_strided(vals, 1, (int)c->C);
                    if (c->label_dtype == VXT_DTYPE_U16)
                        ((uint16_t *)r.labels)[vi] = (uint16_t)label;
                    else
                        ((uint8_t *)r.labels)[vi] = (uint8_t)label;
                }
            }
    free(vals);
    free(ens);
    return r;
}

/* ---- tests ---------------------------------------------------------------------------------------------------- */

/* Overlap of at least 2r (receptive field - 1) on every axis: tiled with crop blending == whole-volume inference,
 * bit for bit, on the CPU backend with 1 and 3 threads and on the OpenCL context. */
static void check_whole_volume(vxt_backend backend)
{
    vxt_context *ctx = backend == VXT_BACKEND_CPU ? vxt_test_context(VXT_BACKEND_CPU, 1)
                                                  : vxt_test_context(VXT_BACKEND_OPENCL, 0);
    vxt_context *three = backend == VXT_BACKEND_CPU ? vxt_test_context(VXT_BACKEND_CPU, 3) : NULL;
    if (three)
        three->stitch_overlap = 1;
    for (size_t i = 0; i < NCFG; i++) {
        const cfg *c = &CFGS[i];
        net n = make_net(c->r[0], c->r[1], c->r[2], c->cin, c->C);
        float *in = make_input(c, 40 + i);
        vxt_stitch_options so = make_opts(c);
        result whole = whole_volume(c, &n, in), tiled = run(ctx, c, &so, in, &n);
        if (tiled.st != VXT_OK)
            fail_msg("%s: %s", c->name, vxt_last_error());
        expect_same(&whole, &tiled, c->name);
        if (three) {
            result t3 = run(three, c, &so, in, &n);
            expect_same(&whole, &t3, c->name);
            free_result(&t3);
        }
        free_result(&whole);
        free_result(&tiled);
        free_net(&n);
        free(in);
    }
    vxt_context_destroy(ctx);
    vxt_context_destroy(three);
}

static void test_whole_volume_cpu(void **state)
{
    (void)state;
    check_whole_volume(VXT_BACKEND_CPU);
}

static void test_whole_volume_opencl(void **state)
{
    (void)state;
    check_whole_volume(VXT_BACKEND_OPENCL);
}

/* The negative control: a receptive field wider than the overlap allows (radius 4 on z, overlap 6 < 8), and the
 * tiled result is not whole-volume inference; so the comparison above can fail. */
static void test_too_little_overlap_differs(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    cfg c = CFGS[0];
    c.r[0] = 4;
    net n = make_net(c.r[0], c.r[1], c.r[2], c.cin, c.C);
    float *in = make_input(&c, 3);
    vxt_stitch_options so = make_opts(&c);
    result whole = whole_volume(&c, &n, in), tiled = run(ctx, &c, &so, in, &n);
    assert_int_equal(tiled.st, VXT_OK);
    size_t d = vxt_count_bit_diffs(whole.values, tiled.values, whole.nvals, "control");
    print_message("receptive field 9 with overlap 6: %zu of %zu values differ from whole-volume inference\n", d,
                  whole.nvals);
    assert_true(d > 0);
    free_result(&whole);
    free_result(&tiled);
    free_net(&n);
    free(in);
    vxt_context_destroy(ctx);
}

/* Which tile each voxel comes from. Along each axis: the covering tile whose nearer border is farthest (ties:
 * the earlier tile), computed here by brute force over the tiling's tiles; where the grid is even (voxels grid,
 * (shape - roi) a multiple of the step, even overlap) that is TorchIO's overlap_mode="crop": half the overlap
 * cropped from each side of every tile, nothing at the volume's borders. */
static void test_tile_choice(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const cfg base = {"tile-ids", {36, 28, 24}, {12, 12, 9}, VXT_GRID_VOXELS, 0, 4, {0, 0, 0}, 1, 2, VXT_DTYPE_F32,
                      VXT_ACCUMULATE_FLOAT32, 3, 0, 1, VXT_ACTIVATION_NONE, 1, 0, VXT_DTYPE_U8, VXT_ENSEMBLE_LOGITS};
    cfg grids[3] = {base, base, base};
    grids[1].grid = VXT_GRID_MONAI; /* a clamped last tile: uneven overlaps */
    grids[1].overlap = 0.3;
    grids[1].shape[2] = 31; /* 31 - 9 is no multiple of the step */
    grids[2].grid = VXT_GRID_NNUNET;
    grids[2].overlap = 0.5;
    grids[2].shape[0] = 19; /* nnU-Net's linspace starts */
    for (int g = 0; g < 3; g++) {
        const cfg *c = &grids[g];
        net n = make_net(0, 0, 0, 1, 2);
        n.tile_ids = 1;
        float *in = make_input(c, 11);
        vxt_stitch_options so = make_opts(c);
        result r = run(ctx, c, &so, in, &n);
        assert_int_equal(r.st, VXT_OK);
        vxt_tiling *t = make_tiling(c);
        vxt_tiling_info pi = {.struct_size = sizeof pi};
        assert_ok(vxt_tiling_get_info(t, &pi));
        /* per axis: the starts (volume coordinates) of the tiles along it */
        int64_t starts[3][64];
        for (int a = 0; a < 3; a++) {
            assert_true(pi.tiles_per_axis[a] <= 64);
            for (int64_t i = 0; i < pi.tiles_per_axis[a]; i++) {
                uint64_t idx = a == 0 ? (uint64_t)(i * pi.tiles_per_axis[1] * pi.tiles_per_axis[2])
                             : a == 1 ? (uint64_t)(i * pi.tiles_per_axis[2])
                                      : (uint64_t)i;
                vxt_tile tile;
                assert_ok(vxt_tiling_get_tile(t, idx, &tile));
                assert_int_equal(tile.grid_index[a], i);
                starts[a][i] = tile.start[a] - pi.pad_lo[a];
            }
        }
        const int torchio = c->grid == VXT_GRID_VOXELS;
        for (int64_t z = 0; z < c->shape[0]; z++)
            for (int64_t y = 0; y < c->shape[1]; y++)
                for (int64_t x = 0; x < c->shape[2]; x++) {
                    const int64_t p[3] = {z, y, x};
                    int64_t pick[3];
                    for (int a = 0; a < 3; a++) {
                        int64_t best = -1, best_depth = -1;
                        for (int64_t i = 0; i < pi.tiles_per_axis[a]; i++) {
                            int64_t lo = starts[a][i], hi = lo + c->roi[a] - 1;
                            if (p[a] < lo || p[a] > hi)
                                continue;
                            int64_t d = p[a] - lo < hi - p[a] ? p[a] - lo : hi - p[a];
                            if (d > best_depth) {
                                best_depth = d;
                                best = i;
                            }
                        }
                        if (torchio) { /* TorchIO: tile i keeps [start + O/2 (not the first), end - O/2 (not last)) */
                            const int64_t half = c->ov_vox / 2, last = pi.tiles_per_axis[a] - 1;
                            int64_t owner = -1;
                            for (int64_t i = 0; i <= last; i++) {
                                int64_t lo = starts[a][i] + (i > 0 ? half : 0);
                                int64_t hi = starts[a][i] + c->roi[a] - (i < last ? half : 0);
                                if (p[a] >= lo && p[a] < hi) {
                                    assert_int_equal(owner, -1); /* the crops tile the axis */
                                    owner = i;
                                }
                            }
                            assert_int_equal(owner, best);
                        }
                        pick[a] = best;
                    }
                    const float expect = (float)((pick[0] * pi.tiles_per_axis[1] + pick[1]) * pi.tiles_per_axis[2] + pick[2]);
                    const float got = r.values[(size_t)((z * c->shape[1] + y) * c->shape[2] + x)];
                    if (got != expect)
                        fail_msg("grid %d: voxel (%lld, %lld, %lld) from tile %g, expected %g", g, (long long)z,
                                 (long long)y, (long long)x, (double)got, (double)expect);
                }
        vxt_tiling_destroy(t);
        free_result(&r);
        free_net(&n);
        free(in);
    }
    vxt_context_destroy(ctx);
}

/* Batch size never changes a bit (1, the configuration's, 7). */
static void test_batch_sizes(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    for (size_t i = 0; i < NCFG; i += 2) {
        const cfg *c = &CFGS[i];
        net n = make_net(c->r[0], c->r[1], c->r[2], c->cin, c->C);
        float *in = make_input(c, 60 + i);
        vxt_stitch_options so = make_opts(c);
        result ref = run(ctx, c, &so, in, &n);
        const int sizes[2] = {1, 7};
        for (int k = 0; k < 2; k++) {
            so.batch_size = sizes[k];
            result r = run(ctx, c, &so, in, &n);
            expect_same(&ref, &r, c->name);
            free_result(&r);
        }
        free_result(&ref);
        free_net(&n);
        free(in);
    }
    vxt_context_destroy(ctx);
}

/* ---- sinks, sessions, memory ------------------------------------------------------------------------------------- */

typedef struct sink_state {
    float *values;
    void *labels;
    size_t lab_es;
    int64_t next_z, shape[3];
} sink_state;

static int sink(void *user, const vxt_slab *s)
{
    sink_state *k = (sink_state *)user;
    if (s->z0 != k->next_z || s->z1 <= s->z0)
        return 99;
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

/* A session driven by hand: batches handed out in windows of 4 and submitted in reverse order, slabs through a
 * sink: the same bits as vxt_stitch into volumes. */
static void check_sessions(vxt_backend backend)
{
    vxt_context *ctx = vxt_test_context(backend, 2);
    for (size_t i = 0; i < NCFG; i++) {
        cfg c = CFGS[i];
        c.shape[0] += 17; /* deep enough for the ring to wrap */
        net n = make_net(c.r[0], c.r[1], c.r[2], c.cin, c.C);
        float *in = make_input(&c, 80 + i);
        vxt_stitch_options so = make_opts(&c);
        result ref = run(ctx, &c, &so, in, &n);
        assert_int_equal(ref.st, VXT_OK);
        result got = alloc_result(&c);
        sink_state ks = {got.values, got.labels, got.lab_es, 0, {c.shape[0], c.shape[1], c.shape[2]}};
        vxt_tiling *t = make_tiling(&c);
        vxt_volume vin = {in, VXT_DTYPE_F32, c.cin, {c.shape[0], c.shape[1], c.shape[2]}};
        vxt_stitch_output out;
        vxt_stitch_output_init(&out);
        out.sink = sink;
        out.sink_user = &ks;
        out.want_values = c.values;
        out.want_labels = c.labels;
        so.max_outstanding = 4;
        vxt_session *ss = NULL;
        assert_ok(vxt_session_create(ctx, t, &so, &vin, &out, &ss));
        const size_t obytes = (size_t)c.batch * (size_t)c.C * (size_t)(c.roi[0] * c.roi[1] * c.roi[2]) * vxt_dtype_size(c.tile);
        void *outs[4];
        for (int w = 0; w < 4; w++)
            assert_non_null(outs[w] = malloc(obytes));
        int done = 0;
        while (!done) {
            vxt_batch b[4];
            int got_n = 0;
            for (; got_n < 4; got_n++) {
                assert_ok(vxt_session_next_batch(ss, &b[got_n], &done));
                if (done)
                    break;
                b[got_n].output = outs[got_n];
                assert_int_equal(predict(&n, &b[got_n]), 0);
            }
            for (int w = got_n - 1; w >= 0; w--)
                assert_ok(vxt_session_submit(ss, b[w].id, outs[w]));
        }
        assert_ok(vxt_session_finish(ss));
        vxt_session_destroy(ss);
        assert_int_equal(ks.next_z, c.shape[0]);
        got.st = VXT_OK;
        expect_same(&ref, &got, c.name);
        for (int w = 0; w < 4; w++)
            free(outs[w]);
        free_result(&ref);
        free_result(&got);
        vxt_tiling_destroy(t);
        free_net(&n);
        free(in);
    }
    vxt_context_destroy(ctx);
}

static void test_sessions_cpu(void **state)
{
    (void)state;
    check_sessions(VXT_BACKEND_CPU);
}

static void test_sessions_opencl(void **state)
{
    (void)state;
    check_sessions(VXT_BACKEND_OPENCL);
}

/* Labels through a sink with 104 classes (brainchop's aparc network): the engine holds a ring of label planes
 * about a tile deep and one batch's means, never classes x volume; with values into a volume it holds the values
 * ring. Measured as the engine's own count of the bytes it holds (vxt__stitch.held_bytes). */
static void test_memory_held(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {160, 96, 80}, roi[3] = {32, 32, 32}, C = 104;
    vxt_tiling_options po;
    vxt_tiling_options_init(&po);
    memcpy(po.shape, shape, sizeof po.shape);
    memcpy(po.roi, roi, sizeof po.roi);
    vxt_tiling *t = NULL;
    assert_ok(vxt_tiling_create(&po, &t));
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = C;
    so.importance = VXT_IMPORTANCE_CROP;
    so.batch_size = 2;
    float dummy = 1.0f;
    vxt_volume vin = {&dummy, VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};
    sink_state ks;
    memset(&ks, 0, sizeof ks);
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.sink_user = &ks;
    out.want_labels = 1;
    const size_t plane = (size_t)(shape[1] * shape[2]), vox = (size_t)shape[0] * plane;
    vxt_session *ss = NULL;
    assert_ok(vxt_session_create(ctx, t, &so, &vin, &out, &ss));
    const vxt__stitch *s = vxt__session_stitch(ss);
    print_message("labels through a sink, %lld classes: %zu bytes held (%lld label planes; classes x volume would "
                  "be %zu)\n", (long long)C, s->held_bytes, (long long)s->D, (size_t)C * vox * sizeof(float));
    assert_true(s->D <= 2 * roi[0]);
    /* the labels ring, small tables, and per thread the values of a core row and its softmax's scratch */
    const size_t rows = (size_t)vxt__pool_threads(ctx->pool) * (size_t)(C + 2) * (size_t)roi[2] * sizeof(float);
    assert_true(s->held_bytes <= (size_t)s->D * plane + rows + 4096);
    assert_true(s->held_bytes < vox);                           /* less than one byte per voxel */
    vxt_session_destroy(ss);

    /* with mirroring: one batch of running means more, still nothing of the volume's size */
    so.mirror_axes = 7;
    assert_ok(vxt_session_create(ctx, t, &so, &vin, &out, &ss));
    s = vxt__session_stitch(ss);
    const size_t batch = (size_t)so.batch_size * (size_t)C * (size_t)(roi[0] * roi[1] * roi[2]) * sizeof(float);
    assert_true(s->held_bytes <= (size_t)s->D * plane + batch + rows + 4096);
    vxt_session_destroy(ss);
    vxt_tiling_destroy(t);
    vxt_context_destroy(ctx);
}

/* ---- failures ------------------------------------------------------------------------------------------------ */

static void assert_untouched(const result *r)
{
    float poison;
    vxt_poison(&poison, sizeof poison);
    for (size_t i = 0; i < r->nvals; i++)
        if (memcmp(&r->values[i], &poison, 4) != 0)
            fail_msg("value %zu was written by a failed run", i);
    unsigned char *pl = malloc(r->nlab * r->lab_es + 1);
    vxt_poison(pl, r->nlab * r->lab_es);
    assert_memory_equal(pl, r->labels, r->nlab * r->lab_es);
    free(pl);
}

static void check_failures(vxt_backend backend)
{
    vxt_context *ctx = vxt_test_context(backend, 2);
    const cfg *c = &CFGS[0];
    float *in = make_input(c, 5);
    vxt_stitch_options so = make_opts(c);

    net n = make_net(c->r[0], c->r[1], c->r[2], c->cin, c->C);
    /* a NaN in tile 4's core (channel 1, the tile's centre: tile 4 starts at (0, 8, 10), and its centre (6, 16, 20)
     * is deeper in it than in any other tile) */
    const size_t roi = (size_t)(c->roi[0] * c->roi[1] * c->roi[2]);
    n.nan_tile = 4;
    n.nan_at = roi + (size_t)(((c->roi[0] / 2) * c->roi[1] + c->roi[1] / 2) * c->roi[2] + c->roi[2] / 2);
    result r = run(ctx, c, &so, in, &n);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    assert_non_null(strstr(vxt_last_error(), "NaN for tile 4"));
    assert_untouched(&r);
    free_result(&r);

    /* the same with labels only (the rows' labels are made without the softmax, and that pass finds the NaN) */
    cfg lc = *c;
    lc.values = 0;
    n.calls = 0;
    r = run(ctx, &lc, &so, in, &n);
    assert_int_equal(r.st, VXT_ERR_NONFINITE);
    assert_non_null(strstr(vxt_last_error(), "NaN for tile 4"));
    free_result(&r);

    /* outside every core (tile 4's element 777, voxel (2, 14, 27), lies deeper in tile 5): crop blending uses only
     * the cores, so it checks only them; the NaN changes nothing */
    net clean = make_net(c->r[0], c->r[1], c->r[2], c->cin, c->C);
    result want = run(ctx, c, &so, in, &clean);
    assert_int_equal(want.st, VXT_OK);
    n.calls = 0;
    n.nan_at = 777;
    r = run(ctx, c, &so, in, &n);
    assert_int_equal(r.st, VXT_OK);
    assert_memory_equal(r.values, want.values, r.nvals * sizeof(float));
    assert_memory_equal(r.labels, want.labels, r.nlab * r.lab_es);
    free_result(&r);
    free_result(&want);
    free_net(&clean);
    n.nan_at = roi + (size_t)(((c->roi[0] / 2) * c->roi[1] + c->roi[1] / 2) * c->roi[2] + c->roi[2] / 2);

    /* the check can be turned off: then the NaN reaches the outputs if the tile's core holds it */
    n.calls = 0;
    so.flags = VXT_STITCH_CHECK_FINITE_OFF;
    r = run(ctx, c, &so, in, &n);
    assert_int_equal(r.st, VXT_OK);
    free_result(&r);
    so.flags = 0;

    free_net(&n);
    n = make_net(c->r[0], c->r[1], c->r[2], c->cin, c->C);
    n.fail_batch = 2;
    r = run(ctx, c, &so, in, &n);
    assert_int_equal(r.st, VXT_ERR_PREDICTOR);
    assert_untouched(&r);
    free_result(&r);

    /* the device form would hand outputs over on the device: crop blending works on host outputs */
    if (backend == VXT_BACKEND_OPENCL) {
        so.flags = VXT_STITCH_DEVICE_PREDICTOR;
        n.calls = 0;
        r = run(ctx, c, &so, in, &n);
        assert_int_equal(r.st, VXT_ERR_UNSUPPORTED);
        assert_non_null(strstr(vxt_last_error(), "crop"));
        assert_int_equal(n.calls, 0);
        assert_untouched(&r);
        free_result(&r);
    }
    free_net(&n);
    free(in);
    vxt_context_destroy(ctx);
}

static void test_failures_cpu(void **state)
{
    (void)state;
    check_failures(VXT_BACKEND_CPU);
}

static void test_failures_opencl(void **state)
{
    (void)state;
    check_failures(VXT_BACKEND_OPENCL);
}

/* "crop" is a blending, not a map of weights: vxt_importance_map refuses it (and "user"), by name. */
/* vxt__softmax_argmax_row (labels only, softmax and argmax: crop blending's rows and the CPU finalization) against
 * the whole computation, softmax then argmax, voxel by voxel: on rows full of exact ties, near ties (channels a few
 * ulps below the largest value, where rounding may give two channels the same probability and the earlier one
 * wins), -0 differences, infinities and NaN, and plain random values; 3, 4 and 104 channels, uint8 and uint16. The
 * near ties must include voxels whose label is not the first largest value (else the test could not fail if the
 * near-tie check were wrong). */
static void test_softmax_argmax_row(void **state)
{
    (void)state;
    const int Cs[3] = {3, 4, 104};
    const int64_t n = 997;
    size_t differs_from_first_max = 0, checked = 0;
    uint32_t rng = 12345u;
#define NEXT() (rng = rng * 1664525u + 1013904223u)
    for (int ci = 0; ci < 3; ci++) {
        const int C = Cs[ci];
        const size_t stride = (size_t)n + 3; /* channels not contiguous with the row's end */
        float *v = malloc((size_t)C * stride * sizeof(float)), *scratch = malloc((size_t)(3 * n) * sizeof(float));
        float *one = malloc((size_t)C * sizeof(float)), *ref = malloc((size_t)C * sizeof(float));
        uint16_t *l16 = malloc((size_t)n * sizeof(uint16_t));
        uint8_t *l8 = malloc((size_t)n);
        assert_non_null(v);
        assert_non_null(scratch);
        for (int round = 0; round < 40; round++) {
            for (int64_t x = 0; x < n; x++) {
                const int kind = (int)(NEXT() >> 28) % 6;
                const float base = (float)(int32_t)(NEXT() >> 8) / (float)(1 << 20); /* about -8 .. 8 */
                for (int c = 0; c < C; c++) {
                    float val = base - (float)(NEXT() >> 16) / 4096.0f; /* below base by up to 16 */
                    const uint32_t r = NEXT() >> 24;
                    if (kind >= 1 && r < 96) /* ties and near ties with base: 0 .. 7 ulps below it */
                        val = vxt_u2f(vxt_f2u(base) + (base < 0 ? 1u : (uint32_t)-1) * (uint32_t)(r % 8u));
                    if (kind == 1 && r < 32)
                        val = base;
                    if (kind == 2 && r == 200)
                        val = (r & 1) ? INFINITY : -INFINITY;
                    if (kind == 3 && r == 201)
                        val = NAN;
                    if (kind == 4 && r < 16) /* differences that flush to -0 */
                        val = vxt_u2f(0x00000001u + (r & 3u));
                    v[(size_t)c * stride + (size_t)x] = val;
                }
            }
            vxt__softmax_argmax_row(v, stride, n, C, scratch, one, l8, 0);
            vxt__softmax_argmax_row(v, stride, n, C, scratch, one, l16, 1);
            for (int64_t x = 0; x < n; x++) {
                for (int c = 0; c < C; c++)
                    ref[c] = v[(size_t)c * stride + (size_t)x];
                const int first = vxt_argmax_strided(ref, 1, C);
                vxt_softmax_strided(ref, 1, C);
                const int want = vxt_label_strided(ref, 1, C, VXT_LABEL_ARGMAX, 0.5f, NULL);
                if (l16[x] != want || l8[x] != (uint8_t)want)
                    fail_msg("C %d, round %d, voxel %lld: label %d (uint16) / %d (uint8), the whole computation gives %d",
                             C, round, (long long)x, l16[x], l8[x], want);
                differs_from_first_max += want != first;
                checked++;
            }
        }
        free(v);
        free(scratch);
        free(one);
        free(ref);
        free(l16);
        free(l8);
    }
#undef NEXT
    print_message("softmax + argmax by rows: %zu voxels equal the whole computation's labels; %zu of them are not the "
                  "first largest value (near ties, NaN)\n", checked, differs_from_first_max);
    assert_true(differs_from_first_max > 100);
}

static void test_importance_map_refuses_crop(void **state)
{
    (void)state;
    const int64_t roi[3] = {4, 4, 4};
    float w[64];
    assert_status_msg(vxt_importance_map(VXT_IMPORTANCE_CROP, roi, NULL, w), VXT_ERR_INVALID_ARGUMENT, "crop");
    assert_string_equal(vxt_importance_name(VXT_IMPORTANCE_CROP), "crop");
    vxt_importance v = VXT_IMPORTANCE_GAUSSIAN;
    assert_ok(vxt_importance_parse("crop", &v));
    assert_int_equal(v, VXT_IMPORTANCE_CROP);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_whole_volume_cpu),
        cmocka_unit_test(test_too_little_overlap_differs),
        cmocka_unit_test(test_tile_choice),
        cmocka_unit_test(test_batch_sizes),
        cmocka_unit_test(test_sessions_cpu),
        cmocka_unit_test(test_memory_held),
        cmocka_unit_test(test_failures_cpu),
        cmocka_unit_test(test_importance_map_refuses_crop),
        cmocka_unit_test(test_softmax_argmax_row),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_whole_volume_opencl),
        cmocka_unit_test(test_sessions_opencl),
        cmocka_unit_test(test_failures_opencl),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
