/* stitch_crop.c - the "crop" blending of the stitching engine (VXT_IMPORTANCE_CROP; TorchIO's overlap_mode
 * "crop", generalised to every tile placement): each voxel takes the value of the tile in which it lies deepest.
 * Along each axis the covering tile whose nearer border is farthest from the voxel is chosen (ties: the earlier
 * tile), so every tile keeps one box, its core, and the cores tile the volume. Nothing is weighted or summed across
 * tiles: a tile's core values (its mirrorings and ensemble members averaged as in the other modes) are activated,
 * labelled and written straight into the output ring. With a fully convolutional network and a halo of half its
 * receptive field around every core, the result is whole-volume inference (docs/STITCHING.md, "Crop").
 *
 * Memory: the labels ring (D planes of labels) and, when values are wanted, a values ring (C x D planes); with
 * mirroring or ensembles two buffers of a batch's tile outputs for their running means. No C x volume, and no
 * accumulator, for labels through a sink. The work is host code on both backends (the same code: the same bits),
 * spread over the context's thread pool by tile planes. */
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_labels.h"
#include "vxt_stitch.h"
#include "stitch_rows_cpu.h"

typedef struct crop_state {
    int *pick;                 /* P0 + P1 + P2: per axis and padded coordinate, the chosen start's index */
    int64_t *core_lo, *core_hi; /* per axis (nstarts[a] each, axis after axis): the start's core, volume coords */
    size_t axis_off[3];         /* offsets of each axis in pick (padded) and core_lo/core_hi (starts) */
    float *vring;               /* C x D x S1 x S2 activated values, when wanted */
    void *lring;                /* D x S1 x S2 labels, when wanted */
    size_t ring_plane, ring_cstride;
    float *mirror, *members;    /* B x C x ROI running means (mirroring; ensembles), tile-local unflipped */
    float *scratch;             /* threads x 2C: one voxel's values (and a member's, activated) */
    float *rows;                /* threads x (C + 2) x R2: a core row's values (labels only) and the row softmax's
                                   largest values and sums (core_row_plain) */
    int threads;
} crop_state;

static crop_state *cs_of(vxt__stitch *s)
{
    return (crop_state *)s->backend;
}

/* The deepest covering start of padded coordinate p on axis a (ties: the earlier start). */
static int deepest(const vxt__stitch *s, int a, size_t cover_off, int64_t p)
{
    int first = s->cover_first[cover_off + (size_t)p], n = s->cover_count[cover_off + (size_t)p];
    int best = first;
    int64_t best_depth = -1;
    for (int i = first; i < first + n; i++) {
        int64_t st = s->starts[a][i], d1 = p - st, d2 = st + s->R[a] - 1 - p;
        int64_t d = d1 < d2 ? d1 : d2;
        if (d > best_depth) {
            best_depth = d;
            best = i;
        }
    }
    return best;
}

static vxt_status crop_tables(vxt__stitch *s, crop_state *c)
{
    size_t np = (size_t)(s->P[0] + s->P[1] + s->P[2]), ns = (size_t)(s->nstarts[0] + s->nstarts[1] + s->nstarts[2]);
    c->pick = malloc(np * sizeof *c->pick);
    c->core_lo = malloc(ns * sizeof *c->core_lo);
    c->core_hi = malloc(ns * sizeof *c->core_hi);
    if (!c->pick || !c->core_lo || !c->core_hi)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    size_t po = 0, so = 0;
    for (int a = 0; a < 3; a++) {
        c->axis_off[a] = so;
        for (int64_t i = 0; i < s->nstarts[a]; i++) { /* empty cores unless a coordinate picks the start */
            c->core_lo[so + (size_t)i] = INT64_MAX;
            c->core_hi[so + (size_t)i] = INT64_MIN;
        }
        for (int64_t p = 0; p < s->P[a]; p++) {
            int i = deepest(s, a, po, p);
            c->pick[po + (size_t)p] = i;
            int64_t v = p - s->lo[a]; /* volume coordinate: only the volume's voxels need a tile */
            if (v < 0 || v >= s->S[a])
                continue;
            if (v < c->core_lo[so + (size_t)i])
                c->core_lo[so + (size_t)i] = v;
            if (v + 1 > c->core_hi[so + (size_t)i])
                c->core_hi[so + (size_t)i] = v + 1;
        }
        po += (size_t)s->P[a];
        so += (size_t)s->nstarts[a];
    }
    return VXT_OK;
}

static size_t crop_footprint(const vxt__stitch *s, size_t *device)
{
    const size_t threads = (size_t)vxt__pool_threads(s->ctx->pool);
    const size_t np = (size_t)(s->P[0] + s->P[1] + s->P[2]), ns = (size_t)(s->nstarts[0] + s->nstarts[1] + s->nstarts[2]);
    const size_t ring = (size_t)s->D * (size_t)s->S[1] * (size_t)s->S[2], batch = (size_t)s->B * s->tile_out_elems;
    *device = 0;
    return np * sizeof(int) + 2u * ns * sizeof(int64_t) +
           (s->output.want_values ? (size_t)s->C * ring * sizeof(float) : 0) +
           (s->output.want_labels ? ring * vxt_dtype_size(s->opt.label_dtype) : 0) +
           (s->F > 1 ? batch * sizeof(float) : 0) + (s->M > 1 ? batch * sizeof(float) : 0) +
           threads * 2u * (size_t)s->C * sizeof(float) + threads * (size_t)(s->C + 2) * (size_t)s->R[2] * sizeof(float);
}

static vxt_status crop_init(vxt__stitch *s)
{
    crop_state *c = calloc(1, sizeof *c);
    if (!c)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    s->backend = c;
    s->can_group = 0;
    c->threads = vxt__pool_threads(s->ctx->pool);
    vxt_status st = crop_tables(s, c);
    if (st != VXT_OK)
        return st;
    c->ring_plane = (size_t)s->S[1] * (size_t)s->S[2];
    c->ring_cstride = (size_t)s->D * c->ring_plane;
    size_t lbytes = vxt_dtype_size(s->opt.label_dtype);
    if (s->output.want_values && !(c->vring = malloc((size_t)s->C * c->ring_cstride * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for %lld x %lld planes of values",
                         (long long)s->C, (long long)s->D);
    if (s->output.want_labels && !(c->lring = malloc(c->ring_cstride * lbytes)))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for %lld planes of labels",
                         (long long)s->D);
    const size_t batch_elems = (size_t)s->B * s->tile_out_elems;
    if (s->F > 1 && !(c->mirror = malloc(batch_elems * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for mirroring means");
    if (s->M > 1 && !(c->members = malloc(batch_elems * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for ensemble means");
    if (!(c->scratch = malloc((size_t)c->threads * 2u * (size_t)s->C * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    const size_t row_elems = (size_t)c->threads * (size_t)(s->C + 2) * (size_t)s->R[2];
    if (row_elems && !(c->rows = malloc(row_elems * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    size_t device = 0;
    s->held_bytes = crop_footprint(s, &device);
    return VXT_OK;
}

static void crop_destroy(vxt__stitch *s)
{
    crop_state *c = cs_of(s);
    free(c->pick);
    free(c->core_lo);
    free(c->core_hi);
    free(c->vring);
    free(c->lring);
    free(c->mirror);
    free(c->members);
    free(c->scratch);
    free(c->rows);
    free(c);
    s->backend = NULL;
}

/* ---- one call's tiles ------------------------------------------------------------------------------------ */

typedef struct crop_job {
    vxt__stitch *s;
    const vxt__call *call;
    const void *out;
    int64_t (*box)[6];    /* per item: core z0, z1, y0, y1, x0, x1 (volume coords) */
    int64_t (*start)[3];  /* per item: the tile's start, volume coords (may be < 0) */
    size_t *plane_first;  /* items + 1: prefix sums of core planes */
    int last;                                     /* this call completes its batch (final values) */
    int plain;            /* core_row_plain: one member, no mirroring, float32 outputs */
    int check;            /* non-finite values are looked for in the values used, as they are read */
    unsigned char *bad;   /* per thread slot: a non-finite value was seen */
} crop_job;

static inline float load_value(const vxt__stitch *s, const void *item_out, size_t j)
{
    if (s->f16_tile)
        return vxt_tile_f16(((const vxt_u16 *)item_out)[j]);
    return vxt_tile_f32(((const float *)item_out)[j]);
}

/* Write a voxel's final C values (vals, contiguous) activated, and its label, into the rings. */
static void emit(vxt__stitch *s, crop_state *c, float *vals, int64_t z, int64_t y, int64_t x)
{
    const int C = (int)s->C;
    if (!s->prob_ensemble) {
        if (s->opt.activation == VXT_ACTIVATION_SOFTMAX)
            vxt_softmax_strided(vals, 1, C);
        else if (s->opt.activation == VXT_ACTIVATION_SIGMOID)
            vxt_sigmoid_strided(vals, 1, C);
    }
    const int64_t slot = s->sink_mode ? z % s->D : z;
    const size_t at = (size_t)slot * c->ring_plane + (size_t)(y * s->S[2] + x);
    if (c->vring)
        for (int ch = 0; ch < C; ch++)
            c->vring[(size_t)ch * c->ring_cstride + at] = vals[ch];
    if (c->lring) {
        int label = vxt_label_strided(vals, 1, C, (int)s->opt.label_rule, s->threshold, s->regions);
        if (s->opt.label_dtype == VXT_DTYPE_U16)
            ((uint16_t *)c->lring)[at] = (uint16_t)label;
        else
            ((uint8_t *)c->lring)[at] = (uint8_t)label;
    }
}

/* One voxel of one item: the call's value per channel (flipped back), through the running means, into the rings
 * when the call completes the batch. */
static void voxel(crop_job *j, int item, int64_t z, int64_t y, int64_t x, float *vals, float *act, int slot)
{
    vxt__stitch *s = j->s;
    crop_state *c = cs_of(s);
    const vxt__call *call = j->call;
    const int C = (int)s->C, f16 = s->f16_tile;
    const int64_t lz = z - j->start[item][0], ly = y - j->start[item][1], lx = x - j->start[item][2];
    const int64_t fz = (call->flip & 1u) ? s->R[0] - 1 - lz : lz, fy = (call->flip & 2u) ? s->R[1] - 1 - ly : ly,
                  fx = (call->flip & 4u) ? s->R[2] - 1 - lx : lx;
    const size_t local = (size_t)((lz * s->R[1] + ly) * s->R[2] + lx), frame = (size_t)((fz * s->R[1] + fy) * s->R[2] + fx);
    const unsigned char *item_out = (const unsigned char *)j->out + (size_t)item * s->tile_out_elems * s->tile_es;
    const size_t base = (size_t)item * s->tile_out_elems;
    const int mirror_done = call->flip_index == s->F - 1;
    for (int ch = 0; ch < C; ch++) {
        float v = load_value(s, item_out, (size_t)ch * s->roi_vox + frame);
        if (j->check && !vxt_isfinite(v))
            j->bad[slot] = 1;
        if (s->F > 1) { /* mirrorings: identity first, summed in order, divided by their count (tile dtype) */
            float *m = c->mirror + base + (size_t)ch * s->roi_vox + local;
            *m = call->flip_index == 0 ? v : vxt_mirror_add(*m, v, f16);
            v = mirror_done ? vxt_mirror_mean(*m, (float)s->F, f16) : v;
        }
        vals[ch] = v;
    }
    if (!mirror_done)
        return;
    if (s->M > 1) { /* members: in member order, divided by their number (probabilities: each activated first) */
        const int emode = s->mode == VXT_ACC_F64 ? VXT_ACC_F32 : s->mode;
        if (s->prob_ensemble) {
            memcpy(act, vals, (size_t)C * sizeof(float));
            if (s->opt.activation == VXT_ACTIVATION_SOFTMAX)
                vxt_softmax_strided(act, 1, C);
            else
                vxt_sigmoid_strided(act, 1, C);
            vals = act;
        }
        for (int ch = 0; ch < C; ch++) {
            float *e = c->members + base + (size_t)ch * s->roi_vox + local;
            *e = call->member == 0 ? vals[ch] : vxt_ensemble_add(*e, vals[ch], emode);
            if (call->member == s->M - 1)
                vals[ch] = vxt_ensemble_mean(*e, (float)s->M, emode);
        }
    }
    if (j->last)
        emit(s, c, vals, z, y, x);
}

VXT_CPU_HOT static void label_row(const vxt__stitch *s, const float *v, size_t stride, int64_t n, void *labels)
{
    const int C = (int)s->C, rule = (int)s->opt.label_rule;
    if (s->opt.label_dtype == VXT_DTYPE_U16)
        for (int64_t x = 0; x < n; x++)
            ((uint16_t *)labels)[x] = (uint16_t)vxt_label_strided(v + x, (vxt_i64)stride, C, rule, s->threshold, s->regions);
    else
        for (int64_t x = 0; x < n; x++)
            ((uint8_t *)labels)[x] = (uint8_t)vxt_label_strided(v + x, (vxt_i64)stride, C, rule, s->threshold, s->regions);
}

/* Whether n float32 values (as bits) hold a NaN or an infinity: all-ones exponents, or-ed without a branch so
 * that the loop vectorizes. */
VXT_CPU_HOT static int any_nonfinite_f32(const uint32_t *restrict u, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= (uint32_t)((u[i] & 0x7f800000u) == 0x7f800000u);
    return bad != 0;
}

/* The common case, a row at a time: one member, no mirroring, float32 tile outputs, the call completing its
 * batch. A core row of a channel is contiguous in the tile's output (C x ROI, x fastest) and in the values ring
 * (C x D x S1 x S2): the channels' rows are copied into the ring (or, labels only, into the thread's scratch
 * rows), activated and labelled there. */
static void core_row_plain(crop_job *j, int item, int64_t z, int64_t y, int64_t x0, int64_t x1, int slot)
{
    vxt__stitch *s = j->s;
    crop_state *c = cs_of(s);
    const int C = (int)s->C;
    const int64_t n = x1 - x0;
    const int64_t lz = z - j->start[item][0], ly = y - j->start[item][1], lx = x0 - j->start[item][2];
    const float *src = (const float *)j->out + (size_t)item * s->tile_out_elems +
                       (size_t)((lz * s->R[1] + ly) * s->R[2] + lx);
    const int64_t ring_z = s->sink_mode ? z % s->D : z;
    const size_t at = (size_t)ring_z * c->ring_plane + (size_t)(y * s->S[2] + x0);
    float *rows = c->rows + (size_t)slot * (size_t)(C + 2) * (size_t)s->R[2];
    if (!c->vring && s->opt.activation == VXT_ACTIVATION_SOFTMAX && s->opt.label_rule == VXT_LABELS_ARGMAX) {
        /* labels only: straight from the tile's values (stitch_rows_cpu.h), which also says whether one was not
         * finite (no second pass for the NaN check) */
        if (vxt__softmax_argmax_row(src, s->roi_vox, n, C, rows, c->scratch + (size_t)slot * 2u * (size_t)C,
                                    (unsigned char *)c->lring + at * vxt_dtype_size(s->opt.label_dtype),
                                    s->opt.label_dtype == VXT_DTYPE_U16) &&
            j->check)
            j->bad[slot] = 1;
        return;
    }
    float *v;
    size_t stride;
    if (c->vring) {
        v = c->vring + at;
        stride = c->ring_cstride;
    } else {
        v = rows;
        stride = (size_t)s->R[2];
    }
    for (int ch = 0; ch < C; ch++) {
        memcpy(v + (size_t)ch * stride, src + (size_t)ch * s->roi_vox, (size_t)n * sizeof(float));
        if (j->check && any_nonfinite_f32((const uint32_t *)(const void *)(v + (size_t)ch * stride), (size_t)n))
            j->bad[slot] = 1;
    }
    float *scratch = rows + (size_t)C * (size_t)s->R[2];
    vxt__activate_row(v, stride, n, C, s->opt.activation, scratch);
    if (c->lring)
        label_row(s, v, stride, n, (unsigned char *)c->lring + at * vxt_dtype_size(s->opt.label_dtype));
}

/* Work items: the core planes of the call's tiles, in item order. */
static void core_planes(void *arg, size_t begin, size_t end, int slot)
{
    crop_job *j = (crop_job *)arg;
    vxt__stitch *s = j->s;
    crop_state *c = cs_of(s);
    float *vals = c->scratch + (size_t)slot * 2u * (size_t)s->C, *act = vals + s->C;
    const int plain = j->plain;
    int item = 0;
    for (size_t p = begin; p < end; p++) {
        while (j->plane_first[item + 1] <= p)
            item++;
        const int64_t *b = j->box[item];
        const int64_t z = b[0] + (int64_t)(p - j->plane_first[item]);
        for (int64_t y = b[2]; y < b[3]; y++)
            if (plain)
                core_row_plain(j, item, z, y, b[4], b[5], slot);
            else
                for (int64_t x = b[4]; x < b[5]; x++)
                    voxel(j, item, z, y, x, vals, act, slot);
    }
}

/* Non-finite values: crop blending uses only the tiles' cores, and checks the values it uses as it reads them
 * (a NaN in a halo, which no output takes, is no error). After a call where one was seen: the first one, in item
 * order and the tile output's element order (channel, z, y, x) among the cores' elements (the flipped frame's
 * elements for a mirrored call, as the predictor wrote them). */
static vxt_status first_nonfinite_core(vxt__stitch *s, const vxt__call *call, const crop_job *j)
{
    for (int item = 0; item < call->count; item++) {
        const int64_t *b = j->box[item];
        const unsigned char *o = (const unsigned char *)j->out + (size_t)item * s->tile_out_elems * s->tile_es;
        const unsigned f = call->flip;
        for (int64_t ch = 0; ch < s->C; ch++)
            for (int64_t z = b[0]; z < b[1]; z++)
                for (int64_t y = b[2]; y < b[3]; y++)
                    for (int64_t x = b[4]; x < b[5]; x++) {
                        const int64_t lz = z - j->start[item][0], ly = y - j->start[item][1], lx = x - j->start[item][2];
                        const int64_t fz = (f & 1u) ? s->R[0] - 1 - lz : lz, fy = (f & 2u) ? s->R[1] - 1 - ly : ly,
                                      fx = (f & 4u) ? s->R[2] - 1 - lx : lx;
                        const size_t i = (size_t)ch * s->roi_vox + (size_t)((fz * s->R[1] + fy) * s->R[2] + fx);
                        const float v = load_value(s, o, i);
                        if (!vxt_isfinite(v))
                            return vxt__stitch_nonfinite(s, call, item, i, v);
                    }
    }
    return vxt__fail(s->ctx, VXT_ERR_INTERNAL, "vxt_stitch: a non-finite value was seen and not found again");
}

static vxt_status crop_consume(vxt__stitch *s, const vxt__call *call, int slot, const void *out)
{
    (void)slot;
    if (!out) /* refused at setup: crop blending takes host-form outputs */
        return vxt__fail(s->ctx, VXT_ERR_INTERNAL, "vxt_stitch: crop blending without host outputs");
    vxt_status st = VXT_OK;
    crop_state *c = cs_of(s);
    crop_job *j = calloc(1, sizeof *j);
    size_t *pf = malloc(((size_t)call->count + 1) * sizeof *pf);
    int64_t(*box)[6] = malloc((size_t)call->count * sizeof *box);
    int64_t(*start)[3] = malloc((size_t)call->count * sizeof *start);
    unsigned char *bad = calloc((size_t)c->threads, 1);
    if (!j || !pf || !box || !start || !bad) {
        free(j);
        free(pf);
        free(box);
        free(start);
        free(bad);
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    }
    j->plain = s->F == 1 && s->M == 1 && !s->f16_tile;
    j->check = !(s->opt.flags & VXT_STITCH_CHECK_FINITE_OFF);
    j->bad = bad;
    j->box = box;
    j->start = start;
    j->s = s;
    j->call = call;
    j->out = out;
    j->plane_first = pf;
    j->last = call->member == s->M - 1 && call->flip_index == s->F - 1;
    const int64_t n1 = s->nstarts[1], n2 = s->nstarts[2];
    pf[0] = 0;
    for (int item = 0; item < call->count; item++) {
        const uint64_t t = call->first_tile + (uint64_t)item;
        const int64_t idx[3] = {(int64_t)(t / (uint64_t)(n1 * n2)), (int64_t)((t / (uint64_t)n2) % (uint64_t)n1),
                                (int64_t)(t % (uint64_t)n2)};
        int64_t planes = 1;
        for (int a = 0; a < 3; a++) {
            const size_t k = c->axis_off[a] + (size_t)idx[a];
            j->start[item][a] = s->starts[a][idx[a]] - s->lo[a];
            j->box[item][2 * a] = c->core_lo[k];
            j->box[item][2 * a + 1] = c->core_hi[k];
            if (c->core_hi[k] <= c->core_lo[k])
                planes = 0; /* a tile no voxel picks (a repeated start) */
        }
        pf[item + 1] = pf[item] + (size_t)(planes ? j->box[item][1] - j->box[item][0] : 0);
        if (!planes)
            j->box[item][0] = j->box[item][1] = 0;
    }
    vxt__pool_for(s->ctx->pool, pf[call->count], 1, core_planes, j);
    for (int t = 0; t < c->threads && st == VXT_OK; t++)
        if (bad[t])
            st = first_nonfinite_core(s, call, j);
    free(pf);
    free(box);
    free(start);
    free(bad);
    free(j);
    return st;
}

static vxt_status crop_finalize(vxt__stitch *s, int64_t z0, int64_t z1, float *values, size_t cstride, void *labels)
{
    crop_state *c = cs_of(s);
    const size_t lbytes = vxt_dtype_size(s->opt.label_dtype);
    for (int64_t z = z0; z < z1; z++) {
        const int64_t slot = s->sink_mode ? z % s->D : z;
        const size_t dst = (size_t)(z - z0) * c->ring_plane, src = (size_t)slot * c->ring_plane;
        for (int64_t ch = 0; values && ch < s->C; ch++)
            memcpy(values + (size_t)ch * cstride + dst, c->vring + (size_t)ch * c->ring_cstride + src,
                   c->ring_plane * sizeof(float));
        if (labels)
            memcpy((unsigned char *)labels + dst * lbytes, (const unsigned char *)c->lring + src * lbytes,
                   c->ring_plane * lbytes);
    }
    return VXT_OK;
}

static vxt_status crop_sync(vxt__stitch *s)
{
    (void)s;
    return VXT_OK;
}

const vxt__stitch_ops vxt__stitch_crop_ops = {crop_init, crop_destroy, crop_consume, crop_finalize, crop_sync, crop_footprint};
