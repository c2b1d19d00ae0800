/* stitch_cpu.c - the CPU twin of kernels/stitch/stitch.cl: the stitching engine's CPU backend (vxt__stitch_cpu_ops,
 * for runtime/stitch/): mirroring, weighted accumulation into the ring, finalization (weight-sum gather,
 * normalization, ensembles, activation, labels). Per-voxel arithmetic comes from kernels/stitch/vxt_stitch.h, as
 * in the kernels; loops run over rows so that they vectorize, and work is split over the thread pool in planes or
 * rows whose outputs are disjoint, so results do not depend on the thread count. */
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_labels.h"
#include "vxt_stitch.h"
#include "stitch_rows_cpu.h"
#include "stitch_cpu_blocks.h"

/* Row loops are inlined into their callers, which are compiled for AVX2 and for the baseline (VXT_CPU_HOT): a
 * call through the clones' dispatch for every 64-voxel piece of a block cost more than the piece. */
#define VXT__INLINE inline __attribute__((always_inline))

typedef struct cpu_state {
    vxt__blocks_plan bp;
    unsigned char *pool; /* bp.peak_blocks blocks of M x C x W sums (float, or double in float64 mode): never
                            cleared, see ACC_ROW */
    size_t pool_bytes;
    int32_t *table;      /* depth x P1 x nxb: the block of (pz % depth, py, xb), while it is pending */
    int32_t *free_list;  /* free blocks, a stack: the last one given back is reused first */
    uint64_t nfree;
    float *fvals;        /* finished values, C x final_depth x S1 x S2 (planes at (z % final_depth)), when wanted */
    void *flabels;       /* finished labels, final_depth x S1 x S2 */
    size_t store_bytes;
    size_t fcs;          /* fvals' channel stride */
    float *mirror;  /* B x C x ROI running mirror sums */
    int threads;
    float *row;     /* threads x R2: a row of predictor values */
    double *wsum;   /* threads x W: weight sums of a block's voxels */
    float *vals;    /* threads x C x W: values of a block's voxels when the caller does not want them */
    float *mvals;   /* threads x C x W: a member's activated values (ensembles of probabilities only) */
    float *act;     /* threads x (3 x W + C): the row softmax's scratch (stitch_rows_cpu.h) */
    size_t *bad;    /* per plane: first non-finite index in the plane, or SIZE_MAX */
    size_t bad_cap;
} cpu_state;

static cpu_state *st_of(vxt__stitch *s)
{
    return (cpu_state *)s->backend;
}

static size_t cpu_scratch_bytes(const vxt__stitch *s, const vxt__blocks_plan *bp)
{
    const size_t threads = (size_t)vxt__pool_threads(s->ctx->pool), W = (size_t)bp->W;
    const size_t tvals = threads * (size_t)s->C * W * sizeof(float);
    return (s->F > 1 ? (size_t)s->B * s->tile_out_elems * sizeof(float) : 0) +
           threads * ((size_t)s->R[2] * sizeof(float) + W * sizeof(double) + (3u * W + (size_t)s->C) * sizeof(float)) +
           tvals + (s->prob_ensemble ? tvals : 0) + (size_t)s->B * (size_t)s->C * (size_t)s->R[0] * sizeof(size_t);
}

static size_t cpu_footprint(const vxt__stitch *s, size_t *device)
{
    *device = 0;
    vxt__blocks_plan bp;
    if (vxt__blocks_plan_make(s, vxt__stitch_consume_tiles_max(s->ctx, s), &bp) != 0)
        return SIZE_MAX;
    size_t bytes = vxt__blocks_bytes(s, &bp) + cpu_scratch_bytes(s, &bp);
    vxt__blocks_plan_free(&bp);
    return bytes;
}

static vxt_status cpu_init(vxt__stitch *s)
{
    cpu_state *c = calloc(1, sizeof *c);
    if (!c)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    s->backend = c;
    s->can_group = 1;
    c->threads = vxt__pool_threads(s->ctx->pool);
    if (vxt__blocks_plan_make(s, vxt__stitch_consume_tiles_max(s->ctx, s), &c->bp) != 0)
        return vxt__fail(s->ctx, VXT_ERR_OVERFLOW, "vxt_stitch: the accumulator's blocks (%lld members x %lld "
                         "channels x %d voxels each) overflow or do not fit in memory", (long long)s->M,
                         (long long)s->C, VXT__BLOCK_W);
    const vxt__blocks_plan *bp = &c->bp;
    size_t pool = (size_t)bp->peak_blocks * bp->block_bytes;
    c->pool = vxt__ws_alloc(s->ctx, pool, &c->pool_bytes);
    if (!c->pool)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for the accumulator (%llu "
                         "pending blocks, %zu MiB)", (unsigned long long)bp->peak_blocks, pool >> 20);
    c->table = malloc((size_t)bp->depth * (size_t)s->P[1] * (size_t)bp->nxb * sizeof(int32_t));
    c->free_list = malloc(((size_t)bp->peak_blocks + 1) * sizeof(int32_t));
    if (!c->table || !c->free_list)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for the accumulator's table");
    /* the stack hands out block 0 first: a run touches the pool from its start, as far as its peak */
    c->nfree = bp->peak_blocks;
    s->blocks_planned = bp->peak_blocks;
    s->blocks_seen = 0;
    for (uint64_t i = 0; i < bp->peak_blocks; i++)
        c->free_list[i] = (int32_t)(bp->peak_blocks - 1 - i);
    const size_t plane = (size_t)s->S[1] * (size_t)s->S[2] * (size_t)bp->final_depth;
    c->fcs = plane;
    const size_t vbytes = s->output.want_values ? (size_t)s->C * plane * sizeof(float) : 0;
    const size_t store = vbytes + (s->output.want_labels ? plane * vxt_dtype_size(s->opt.label_dtype) : 0);
    if (store) {
        unsigned char *m = vxt__ws_alloc(s->ctx, store, &c->store_bytes);
        if (!m)
            return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for finished outputs "
                             "(%zu MiB)", store >> 20);
        c->fvals = s->output.want_values ? (float *)m : NULL;
        c->flabels = s->output.want_labels ? (void *)(m + vbytes) : NULL;
    }
    if (s->F > 1) {
        c->mirror = malloc((size_t)s->B * s->tile_out_elems * sizeof(float));
        if (!c->mirror)
            return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for mirroring sums");
    }
    const size_t W = (size_t)bp->W;
    c->row = malloc((size_t)c->threads * (size_t)s->R[2] * sizeof(float));
    c->wsum = malloc((size_t)c->threads * W * sizeof(double));
    c->vals = malloc((size_t)c->threads * (size_t)s->C * W * sizeof(float));
    c->act = malloc((size_t)c->threads * (3u * W + (size_t)s->C) * sizeof(float));
    if (s->prob_ensemble && !(c->mvals = malloc((size_t)c->threads * (size_t)s->C * W * sizeof(float))))
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    c->bad_cap = (size_t)s->B * (size_t)s->C * (size_t)s->R[0];
    c->bad = malloc(c->bad_cap * sizeof(size_t));
    if (!c->row || !c->wsum || !c->vals || !c->act || !c->bad)
        return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    s->held_bytes = vxt__blocks_bytes(s, bp) + cpu_scratch_bytes(s, bp);
    return VXT_OK;
}

static void cpu_destroy(vxt__stitch *s)
{
    cpu_state *c = st_of(s);
    vxt__ws_free(s->ctx, c->pool, c->pool_bytes);
    vxt__ws_free(s->ctx, c->fvals ? (void *)c->fvals : c->flabels, c->store_bytes);
    vxt__blocks_plan_free(&c->bp);
    free(c->table);
    free(c->free_list);
    free(c->mirror);
    free(c->row);
    free(c->wsum);
    free(c->vals);
    free(c->mvals);
    free(c->act);
    free(c->bad);
    free(c);
    s->backend = NULL;
}

/* ---- consuming a call ---------------------------------------------------------------------------------- */

typedef struct consume_job {
    vxt__stitch *s;
    const vxt__call *call;
    const void *out;   /* the call's output, count x C x ROI */
    int item;          /* accumulate: the first item of the group being accumulated */
    int group;         /* accumulate: items in the group (consecutive tiles with the same z start) */
    const vxt_tile *tiles; /* accumulate: the group's tiles */
    const int64_t *x_split; /* accumulate: per tile, where its x range stops being started by the previous tile */
    int last_flip;     /* mirroring: this call completes the mirror sum */
    int check;
    int ychunks;       /* accumulate: each plane's rows are split into this many tasks (thin ROIs, e.g. 2D) */
} consume_job;

/* Predictor value j of an item's output (flat index in the item), as the engine reads it. */
static inline float load_out(const vxt__stitch *s, const void *item_out, size_t j)
{
    if (s->f16_tile)
        return vxt_tile_f16(((const vxt_u16 *)item_out)[j]);
    return vxt_tile_f32(((const float *)item_out)[j]);
}

/* Flat index, in the predictor's (mirrored) frame, of row (c, z, y) element x = 0, and the x step. */
static inline size_t flipped_row(const vxt__stitch *s, unsigned flip, int64_t c, int64_t z, int64_t y, int64_t *xstep)
{
    int64_t R0 = s->R[0], R1 = s->R[1], R2 = s->R[2];
    int64_t zf = (flip & 1u) ? R0 - 1 - z : z, yf = (flip & 2u) ? R1 - 1 - y : y;
    size_t base = (size_t)(((c * R0 + zf) * R1 + yf) * R2);
    if (flip & 4u) {
        *xstep = -1;
        return base + (size_t)(R2 - 1);
    }
    *xstep = 1;
    return base;
}

/* Fill `row` with the values a plane row contributes: the call's outputs (flipped back), through the mirror
 * sum when mirroring; returns the first non-finite position in the row (in the predictor frame) or SIZE_MAX. */
static size_t gather_row(consume_job *j, int item, int64_t c, int64_t z, int64_t y, float *row, int into_mirror)
{
    vxt__stitch *s = j->s;
    cpu_state *cs = st_of(s);
    const int64_t R2 = s->R[2];
    const unsigned char *base = (const unsigned char *)j->out + (size_t)item * s->tile_out_elems * s->tile_es;
    int64_t xs;
    size_t src = flipped_row(s, j->call->flip, c, z, y, &xs);
    size_t bad = SIZE_MAX;
    int check = j->check;
    for (int64_t x = 0; x < R2; x++) {
        float p = load_out(s, base, (size_t)((int64_t)src + x * xs));
        if (check && !vxt_isfinite(p) && bad == SIZE_MAX)
            bad = (size_t)((int64_t)src + x * xs);
        row[x] = p;
    }
    if (s->F > 1) {
        float *m = cs->mirror + (size_t)item * s->tile_out_elems + (size_t)(((c * s->R[0] + z) * s->R[1] + y) * R2);
        if (j->call->flip_index == 0) {
            if (into_mirror)
                memcpy(m, row, (size_t)R2 * sizeof(float));
        } else {
            const int f16 = s->f16_tile;
            for (int64_t x = 0; x < R2; x++)
                row[x] = vxt_mirror_add(m[x], row[x], f16);
            if (into_mirror)
                memcpy(m, row, (size_t)R2 * sizeof(float));
        }
        if (!into_mirror) { /* the last mirroring: the mean is the tile's prediction */
            const float n = (float)s->F;
            const int f16 = s->f16_tile;
            for (int64_t x = 0; x < R2; x++)
                row[x] = vxt_mirror_mean(row[x], n, f16);
        }
    }
    return bad;
}

/* Planes (item, c, z) of a non-final mirroring: update the mirror sums only. */
static void mirror_planes(void *arg, size_t begin, size_t end, int slot)
{
    consume_job *j = (consume_job *)arg;
    vxt__stitch *s = j->s;
    cpu_state *cs = st_of(s);
    float *row = cs->row + (size_t)slot * (size_t)s->R[2];
    for (size_t plane = begin; plane < end; plane++) {
        int64_t z = (int64_t)(plane % (size_t)s->R[0]);
        int64_t c = (int64_t)((plane / (size_t)s->R[0]) % (size_t)s->C);
        int item = (int)(plane / ((size_t)s->R[0] * (size_t)s->C));
        size_t bad = SIZE_MAX;
        for (int64_t y = 0; y < s->R[1]; y++) {
            size_t b = gather_row(j, item, c, z, y, row, 1);
            if (b < bad)
                bad = b;
        }
        cs->bad[plane] = bad;
    }
}

/* acc = acc + p*w over [0, split) and acc = 0 + p*w over [split, n): the first tile covering a voxel starts its
 * sum (MONAI adds to a zeroed buffer; 0 + x gives the same bits), so accumulators never need clearing. Returns
 * non-zero if a value is not finite (checked through the exponent bits, so the loop vectorizes). */
#define ACC_ROW(NAME, TYPE, EXPR_ADD, EXPR_INIT)                                                                   \
    VXT__INLINE static unsigned NAME(TYPE *restrict a, const float *restrict p, const float *restrict w, int64_t split, \
                                int64_t n, int f16)                                                              \
    {                                                                                                            \
        unsigned bad = 0;                                                                                        \
        (void)f16;                                                                                               \
        for (int64_t x = 0; x < split; x++) {                                                                    \
            float v = p[x];                                                                                      \
            bad |= (vxt_f2u(v) & 0x7f800000u) == 0x7f800000u;                                                    \
            a[x] = EXPR_ADD;                                                                                     \
        }                                                                                                        \
        for (int64_t x = split; x < n; x++) {                                                                    \
            float v = p[x];                                                                                      \
            bad |= (vxt_f2u(v) & 0x7f800000u) == 0x7f800000u;                                                    \
            a[x] = EXPR_INIT;                                                                                    \
        }                                                                                                        \
        return bad;                                                                                              \
    }

ACC_ROW(acc_row_f32, float, vxt_stitch_add(a[x], vxt_stitch_product(vxt_ftz(v), w[x], 0), VXT_ACC_F32),
        vxt_stitch_add(0.0f, vxt_stitch_product(vxt_ftz(v), w[x], 0), VXT_ACC_F32))
ACC_ROW(acc_row_f32_h, float, vxt_stitch_add(a[x], vxt_stitch_product(vxt_ftz(v), w[x], 1), VXT_ACC_F32),
        vxt_stitch_add(0.0f, vxt_stitch_product(vxt_ftz(v), w[x], 1), VXT_ACC_F32))
ACC_ROW(acc_row_f16, float, vxt_stitch_add(a[x], vxt_stitch_product(vxt_ftz(v), w[x], f16), VXT_ACC_F16),
        vxt_stitch_add(0.0f, vxt_stitch_product(vxt_ftz(v), w[x], f16), VXT_ACC_F16))
ACC_ROW(acc_row_f64, double, vxt_stitch_add_f64(a[x], vxt_ftz(v), w[x]), vxt_stitch_add_f64(0.0, vxt_ftz(v), w[x]))

#define VXT__MAX_GROUP 256

/* Accumulate one z plane of a group of tiles with the same z start (consecutive in plan order): for every
 * accumulator row, the contributions of the tiles covering it are applied in plan order (y start, then x start)
 * while the row is in cache, so overlapping tiles cost one pass over the accumulator instead of one each. Every
 * voxel still sees its tiles in plan order: same bits as one tile at a time. */
VXT_CPU_HOT static void accumulate_planes(void *arg, size_t begin, size_t end, int slot)
{
    consume_job *j = (consume_job *)arg;
    vxt__stitch *s = j->s;
    cpu_state *cs = st_of(s);
    const int64_t R0 = s->R[0], R1 = s->R[1], R2 = s->R[2];
    const int64_t P1 = s->P[1], BW = cs->bp.W;
    float *row = cs->row + (size_t)slot * (size_t)R2;
    const int n = j->group;
    const vxt_tile *t = j->tiles;
    const int64_t *x_split = j->x_split;
    const int mode = s->mode, f16 = s->f16_tile;
    /* the direct path reads float32 outputs in place (no mirroring) */
    const int direct = s->F == 1 && !f16 && j->call->flip == 0;
    const int *cf = s->cover_first;
    const size_t off1 = (size_t)s->P[0];
    int64_t ylo = t[0].start[1], yhi = t[0].start[1];
    for (int g = 1; g < n; g++) {
        ylo = t[g].start[1] < ylo ? t[g].start[1] : ylo;
        yhi = t[g].start[1] > yhi ? t[g].start[1] : yhi;
    }
    yhi += R1;
    const int64_t K = j->ychunks, yspan = yhi - ylo;
    const size_t ntasks = (size_t)R0 * (size_t)K;
    for (size_t task = begin; task < end; task++) {
        /* a task is one plane's rows [ya, yb): rows are independent, so the split never changes a sum's order */
        const size_t plane = task / (size_t)K;
        const int64_t chunk = (int64_t)(task % (size_t)K);
        const int64_t ya = ylo + yspan * chunk / K, yb = ylo + yspan * (chunk + 1) / K;
        int64_t z = (int64_t)plane;
        int64_t pz = t[0].start[0] + z;
        int zfirst = cf[pz] == (int)t[0].grid_index[0];
        size_t bad[VXT__MAX_GROUP];
        for (int g = 0; g < n; g++)
            bad[g] = SIZE_MAX;
        const size_t zslot = (size_t)(pz % cs->bp.depth);
        for (int64_t py = ya; py < yb; py++) {
            int yfirst = zfirst ? cf[off1 + (size_t)py] : -1; /* the y index that starts this row's sums */
            const int32_t *trow = cs->table + (zslot * (size_t)P1 + (size_t)py) * (size_t)cs->bp.nxb;
            for (int64_t c = 0; c < s->C; c++) {
                const size_t mc = (size_t)j->call->member * (size_t)s->C + (size_t)c;
                for (int g = 0; g < n; g++) {
                    int64_t y = py - t[g].start[1];
                    if (y < 0 || y >= R1)
                        continue;
                    int item = j->item + g;
                    int64_t split = yfirst == (int)t[g].grid_index[1] ? x_split[g] : R2;
                    const float *w = s->weights + (size_t)((z * R1 + y) * R2);
                    const float *p;
                    if (direct) {
                        p = (const float *)j->out + (size_t)item * s->tile_out_elems +
                            (size_t)(((c * R0 + z) * R1 + y) * R2);
                    } else {
                        size_t b = gather_row(j, item, c, z, y, row, 0);
                        if (b < bad[g])
                            bad[g] = b;
                        p = row;
                    }
                    /* the row's pieces, one per block of W voxels of x */
                    const int64_t x0 = t[g].start[2];
                    unsigned nf = 0;
                    for (int64_t xa = 0; xa < R2;) {
                        const int64_t px = x0 + xa, xb = px / BW;
                        int64_t xe = (xb + 1) * BW - x0;
                        if (xe > R2)
                            xe = R2;
                        const int64_t len = xe - xa;
                        int64_t sp = split - xa;
                        sp = sp < 0 ? 0 : sp > len ? len : sp;
                        const size_t e = (size_t)trow[xb] * cs->bp.block_elems + mc * (size_t)BW +
                                         (size_t)(px - xb * BW);
                        if (mode == VXT_ACC_F64)
                            nf |= acc_row_f64((double *)cs->pool + e, p + xa, w + xa, sp, len, f16);
                        else if (mode == VXT_ACC_F16)
                            nf |= acc_row_f16((float *)cs->pool + e, p + xa, w + xa, sp, len, f16);
                        else if (f16)
                            nf |= acc_row_f32_h((float *)cs->pool + e, p + xa, w + xa, sp, len, 1);
                        else
                            nf |= acc_row_f32((float *)cs->pool + e, p + xa, w + xa, sp, len, 0);
                        xa = xe;
                    }
                    if (nf && direct && j->check) { /* locate the first bad value of this row */
                        size_t base = (size_t)(((c * R0 + z) * R1 + y) * R2);
                        for (int64_t x = 0; x < R2; x++)
                            if (!vxt_isfinite(p[x])) {
                                if (base + (size_t)x < bad[g])
                                    bad[g] = base + (size_t)x;
                                break;
                            }
                    }
                }
            }
        }
        for (int g = 0; g < n; g++)
            cs->bad[(size_t)g * ntasks + task] = bad[g];
    }
}

static vxt_status first_bad(vxt__stitch *s, const vxt__call *call, const void *out, size_t planes,
                            size_t planes_per_item, int item0)
{
    cpu_state *cs = st_of(s);
    for (size_t p = 0; p < planes; p++) {
        if (cs->bad[p] != SIZE_MAX) {
            int item = item0 + (int)(p / planes_per_item);
            /* the smallest index of the item: planes of one item are in (c, z) order, which is index order */
            size_t best = SIZE_MAX;
            for (size_t q = (size_t)(item - item0) * planes_per_item; q < (size_t)(item - item0 + 1) * planes_per_item; q++)
                if (cs->bad[q] < best)
                    best = cs->bad[q];
            const unsigned char *item_out = (const unsigned char *)out + (size_t)item * s->tile_out_elems * s->tile_es;
            return vxt__stitch_nonfinite(s, call, item, best, load_out(s, item_out, best));
        }
    }
    return VXT_OK;
}

/* The first non-finite value of one item, from its planes' records. */
static vxt_status first_bad_planes(vxt__stitch *s, const vxt__call *call, const void *out, const size_t *bad,
                                   size_t planes, int item)
{
    size_t best = SIZE_MAX;
    for (size_t p = 0; p < planes; p++)
        if (bad[p] < best)
            best = bad[p];
    if (best == SIZE_MAX)
        return VXT_OK;
    const unsigned char *item_out = (const unsigned char *)out + (size_t)item * s->tile_out_elems * s->tile_es;
    return vxt__stitch_nonfinite(s, call, item, best, load_out(s, item_out, best));
}

static vxt_status open_blocks(vxt__stitch *s, const vxt_tile *t);
static void close_blocks(vxt__stitch *s, const vxt_tile *t);

static vxt_status cpu_consume(vxt__stitch *s, const vxt__call *call, int slot, const void *out)
{
    (void)slot;
    cpu_state *cs = st_of(s);
    consume_job j = {.s = s, .call = call, .out = out, .item = 0, .group = 1, .last_flip = call->flip_index == s->F - 1,
                     .check = !(s->opt.flags & VXT_STITCH_CHECK_FINITE_OFF)};
    size_t ppi = (size_t)s->C * (size_t)s->R[0];
    if (!j.last_flip) {
        size_t planes = (size_t)call->count * ppi;
        for (size_t p = 0; p < planes; p++)
            cs->bad[p] = SIZE_MAX;
        vxt__pool_for(s->ctx->pool, planes, 1, mirror_planes, &j);
        return j.check ? first_bad(s, call, out, planes, ppi, 0) : VXT_OK;
    }
    const size_t R0 = (size_t)s->R[0];
    /* thin ROIs (2D: one plane) have fewer planes than threads: split each plane's rows too, about two tasks per
     * thread */
    const size_t threads = (size_t)vxt__pool_threads(s->ctx->pool);
    size_t K = 1;
    if (R0 < 2 * threads) {
        K = (2 * threads + R0 - 1) / R0;
        if (K > (size_t)s->R[1])
            K = (size_t)s->R[1];
    }
    j.ychunks = (int)K;
    size_t need = (size_t)(call->count < VXT__MAX_GROUP ? call->count : VXT__MAX_GROUP) * R0 * K;
    if (need > cs->bad_cap) { /* a group of several calls (vxt__session_consume_group) */
        size_t *nb = realloc(cs->bad, need * sizeof(size_t));
        if (!nb)
            return vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
        cs->bad = nb;
        cs->bad_cap = need;
    }
    vxt_tile tiles[VXT__MAX_GROUP];
    int64_t x_split[VXT__MAX_GROUP];
    for (int item = 0; item < call->count;) { /* tiles in plan order, all those with one z start at a time */
        int n = 0;
        while (item + n < call->count && n < VXT__MAX_GROUP) {
            vxt__tiling_tile(s->plan, call->first_tile + (uint64_t)(item + n), &tiles[n]);
            if (n > 0 && tiles[n].grid_index[0] != tiles[0].grid_index[0])
                break;
            /* voxels before the end of the previous x tile were started by it */
            int64_t ix = tiles[n].grid_index[2];
            x_split[n] = ix > 0 ? s->starts[2][ix - 1] + s->R[2] - tiles[n].start[2] : 0;
            if (x_split[n] < 0)
                x_split[n] = 0;
            n++;
        }
        j.tiles = tiles;
        j.x_split = x_split;
        j.item = item;
        j.group = n;
        /* the first member opens the blocks these tiles are the first to cover; the last member closes those they
         * are the last to cover: what stays pending between is all the accumulator holds */
        for (int g = 0; g < n && call->member == 0; g++) {
            vxt_status st = open_blocks(s, &tiles[g]);
            if (st != VXT_OK)
                return st;
        }
        vxt__pool_for(s->ctx->pool, R0 * K, 1, accumulate_planes, &j);
        for (int g = 0; g < n && j.check; g++) {
            vxt_status st = first_bad_planes(s, call, out, cs->bad + (size_t)g * R0 * K, R0 * K, item + g);
            if (st != VXT_OK)
                return st;
        }
        for (int g = 0; g < n && call->member == s->M - 1 && !cs->bp.defer; g++)
            close_blocks(s, &tiles[g]);
        item += n;
    }
    return VXT_OK;
}

/* ---- finalization ---------------------------------------------------------------------------------------- */

VXT__INLINE static void normalize_row_f32(float *restrict d, const float *restrict a, const float *restrict wsum,
                                          int64_t n)
{
    for (int64_t x = 0; x < n; x++)
        d[x] = vxt_stitch_normalize(a[x], wsum[x], VXT_ACC_F32);
}

VXT__INLINE static void weight_add_row(float *restrict sum, const float *restrict w, int64_t n, int mode)
{
    if (mode == VXT_ACC_F16)
        for (int64_t x = 0; x < n; x++)
            sum[x] = vxt_stitch_add(sum[x], w[x], VXT_ACC_F16);
    else
        for (int64_t x = 0; x < n; x++)
            sum[x] = vxt_stitch_add(sum[x], w[x], VXT_ACC_F32);
}

/* Finalize the voxels [xa, xe) (padded x, inside the volume) of padded row (pz, py), whose sums are in block `blk`
 * from x = xb0 on: weight sums, normalization, members, activation and labels, into the finished-output store. */
VXT_CPU_HOT static void final_segment(vxt__stitch *s, int slot, int64_t pz, int64_t py, int64_t xa, int64_t xe, int64_t xb0,
                          const unsigned char *blk, float *vdst, size_t vcs, void *ldst)
{
    cpu_state *cs = st_of(s);
    const int64_t R1 = s->R[1], R2 = s->R[2], W = cs->bp.W;
    const int64_t n = xe - xa;
    const int mode = s->mode;
    const int C = (int)s->C, M = s->M;
    double *wsum64 = cs->wsum + (size_t)slot * (size_t)W;
    float *wsum = (float *)wsum64;
    float *act = cs->act + (size_t)slot * (3u * (size_t)W + (size_t)C);
    const int64_t *st0 = s->starts[0], *st1 = s->starts[1], *st2 = s->starts[2];
    const int *cf = s->cover_first, *cc = s->cover_count;
    const size_t off1 = (size_t)s->P[0], off2 = (size_t)(s->P[0] + s->P[1]);
    /* weight sum per voxel: covering tiles in plan order (z start, y start, x start) */
    if (mode == VXT_ACC_F64)
        for (int64_t x = 0; x < n; x++)
            wsum64[x] = 0.0;
    else
        for (int64_t x = 0; x < n; x++)
            wsum[x] = 0.0f;
    const int ix0 = cf[off2 + (size_t)xa], ix1 = cf[off2 + (size_t)(xe - 1)] + cc[off2 + (size_t)(xe - 1)];
    for (int iz = cf[pz]; iz < cf[pz] + cc[pz]; iz++)
        for (int iy = cf[off1 + (size_t)py]; iy < cf[off1 + (size_t)py] + cc[off1 + (size_t)py]; iy++) {
            const float *wrow = s->weights + (size_t)(((pz - st0[iz]) * R1 + (py - st1[iy])) * R2);
            for (int ix = ix0; ix < ix1; ix++) {
                int64_t sx = st2[ix];
                int64_t a = sx > xa ? sx : xa, b = sx + R2 < xe ? sx + R2 : xe;
                if (b <= a)
                    continue;
                if (mode == VXT_ACC_F64)
                    for (int64_t px = a; px < b; px++)
                        wsum64[px - xa] = wsum64[px - xa] + (double)wrow[px - sx];
                else
                    weight_add_row(wsum + (a - xa), wrow + (a - sx), b - a, mode);
            }
        }
    /* normalize, members and activation into the destination (values wanted: vdst, C rows vcs apart; else
     * scratch), then labels (ldst) */
    float *dst;
    size_t cstride;
    if (vdst) {
        dst = vdst;
        cstride = vcs;
    } else {
        dst = cs->vals + (size_t)slot * (size_t)C * (size_t)W;
        cstride = (size_t)W;
    }
    const size_t boff = (size_t)(xa - xb0);
    const int prob = s->prob_ensemble; /* members activated before they are averaged */
    const int emode = mode == VXT_ACC_F64 ? VXT_ACC_F32 : mode;
    float *mrow = prob ? cs->mvals + (size_t)slot * (size_t)C * (size_t)W : NULL;
    for (int m = 0; m < M; m++) {
        /* member m's normalized values: into the destination (summed over members there), or, for an ensemble of
         * probabilities after member 0, into a row of their own that is activated before it is added */
        const int own = prob && m > 0;
        float *t = own ? mrow : dst;
        const size_t ts = own ? (size_t)W : cstride;
        for (int c = 0; c < C; c++) {
            const size_t ai = ((size_t)m * (size_t)C + (size_t)c) * (size_t)W + boff;
            float *d = t + (size_t)c * ts;
            if (mode == VXT_ACC_F32 && M == 1) { /* the common case, vectorized */
                normalize_row_f32(d, (const float *)blk + ai, wsum, n);
                continue;
            }
            for (int64_t x = 0; x < n; x++) {
                float v = mode == VXT_ACC_F64 ? vxt_stitch_normalize_f64(((const double *)blk)[ai + (size_t)x], wsum64[x])
                                              : vxt_stitch_normalize(((const float *)blk)[ai + (size_t)x], wsum[x], mode);
                if (m > 0 && !prob)
                    v = vxt_ensemble_add(d[x], v, emode);
                if (m == M - 1 && M > 1 && !prob)
                    v = vxt_ensemble_mean(v, (float)M, emode);
                d[x] = v;
            }
        }
        if (prob) {
            vxt__activate_row(t, ts, n, C, s->opt.activation, act);
            for (int c = 0; m > 0 && c < C; c++)
                for (int64_t x = 0; x < n; x++)
                    dst[(size_t)c * cstride + (size_t)x] =
                        vxt_ensemble_add(dst[(size_t)c * cstride + (size_t)x], t[(size_t)c * ts + (size_t)x], emode);
            for (int c = 0; m == M - 1 && c < C; c++)
                for (int64_t x = 0; x < n; x++)
                    dst[(size_t)c * cstride + (size_t)x] = vxt_ensemble_mean(dst[(size_t)c * cstride + (size_t)x],
                                                                             (float)M, emode);
        }
    }
    const int u16 = s->opt.label_dtype == VXT_DTYPE_U16;
    void *l = ldst;
    if (!prob && !vdst && l && s->opt.activation == VXT_ACTIVATION_SOFTMAX &&
        s->opt.label_rule == VXT_LABELS_ARGMAX) { /* labels only: no softmax where it cannot matter */
        (void)vxt__softmax_argmax_row(dst, cstride, n, C, act, act + 3 * W, l, u16);
        return;
    }
    if (!prob)
        vxt__activate_row(dst, cstride, n, C, s->opt.activation, act);
    if (l && s->opt.label_rule == VXT_LABELS_ARGMAX) {
        vxt__argmax_row(dst, cstride, n, C, act, (int32_t *)(void *)(act + W), l, u16);
    } else if (l) {
        const int rule = (int)s->opt.label_rule;
        if (u16)
            for (int64_t x = 0; x < n; x++)
                ((uint16_t *)l)[x] = (uint16_t)vxt_label_strided(dst + x, (vxt_i64)cstride, C, rule, s->threshold,
                                                                 s->regions);
        else
            for (int64_t x = 0; x < n; x++)
                ((uint8_t *)l)[x] = (uint8_t)vxt_label_strided(dst + x, (vxt_i64)cstride, C, rule, s->threshold,
                                                               s->regions);
    }
}

/* The blocks one tile closes: rows [z0, z0 + nz) x [y0, y0 + ny), blocks [xb0, xb1) of each. */
typedef struct close_job {
    vxt__stitch *s;
    int64_t z0, y0, ny, xb0, xb1;
} close_job;

static void close_rows(void *arg, size_t begin, size_t end, int slot)
{
    close_job *j = (close_job *)arg;
    vxt__stitch *s = j->s;
    cpu_state *cs = st_of(s);
    const int64_t W = cs->bp.W, lo2 = s->lo[2], hi2 = s->lo[2] + s->S[2];
    for (size_t r = begin; r < end; r++) {
        const int64_t pz = j->z0 + (int64_t)r / j->ny, py = j->y0 + (int64_t)r % j->ny;
        if (pz < s->lo[0] || pz >= s->lo[0] + s->S[0] || py < s->lo[1] || py >= s->lo[1] + s->S[1])
            continue; /* padding: nothing to finish */
        const int32_t *trow = cs->table + ((size_t)(pz % cs->bp.depth) * (size_t)s->P[1] + (size_t)py) * (size_t)cs->bp.nxb;
        for (int64_t xb = j->xb0; xb < j->xb1; xb++) {
            int64_t xa = xb * W > lo2 ? xb * W : lo2, xe = (xb + 1) * W < hi2 ? (xb + 1) * W : hi2;
            if (xa >= xe)
                continue;
            const size_t sidx = (size_t)((((pz - s->lo[0]) % cs->bp.final_depth) * s->S[1] + (py - s->lo[1])) * s->S[2] +
                                         (xa - lo2));
            void *l = !cs->flabels ? NULL : (unsigned char *)cs->flabels + sidx * vxt_dtype_size(s->opt.label_dtype);
            final_segment(s, slot, pz, py, xa, xe, xb * W, cs->pool + (size_t)trow[xb] * cs->bp.block_bytes,
                          cs->fvals ? cs->fvals + sidx : NULL, cs->fcs, l);
        }
    }
}

/* Take the blocks that tile `t` opens (it is the first tile to cover them) from the pool. */
static vxt_status open_blocks(vxt__stitch *s, const vxt_tile *t)
{
    cpu_state *cs = st_of(s);
    const vxt__blocks_plan *bp = &cs->bp;
    const int64_t iz = t->grid_index[0], iy = t->grid_index[1], ix = t->grid_index[2];
    for (int64_t pz = bp->open_lo[0][iz]; pz < bp->open_hi[0][iz]; pz++)
        for (int64_t py = bp->open_lo[1][iy]; py < bp->open_hi[1][iy]; py++) {
            int32_t *trow = cs->table + ((size_t)(pz % bp->depth) * (size_t)s->P[1] + (size_t)py) * (size_t)bp->nxb;
            for (int64_t xb = bp->open_lo[2][ix]; xb < bp->open_hi[2][ix]; xb++) {
                if (cs->nfree == 0)
                    return vxt__fail(s->ctx, VXT_ERR_INTERNAL, "vxt_stitch: internal error: more pending blocks than "
                                     "planned (%llu) at tile (%lld, %lld, %lld)",
                                     (unsigned long long)bp->peak_blocks, (long long)iz, (long long)iy, (long long)ix);
                trow[xb] = cs->free_list[--cs->nfree];
            }
        }
    if (bp->peak_blocks - cs->nfree > s->blocks_seen)
        s->blocks_seen = bp->peak_blocks - cs->nfree;
    return VXT_OK;
}

/* Finish the blocks that tile `t` closes (it is the last tile to cover them) and give them back. */
static void close_blocks(vxt__stitch *s, const vxt_tile *t)
{
    cpu_state *cs = st_of(s);
    const vxt__blocks_plan *bp = &cs->bp;
    const int64_t iz = t->grid_index[0], iy = t->grid_index[1], ix = t->grid_index[2];
    close_job j = {s, bp->close_lo[0][iz], bp->close_lo[1][iy], bp->close_hi[1][iy] - bp->close_lo[1][iy],
                   bp->close_lo[2][ix], bp->close_hi[2][ix]};
    const int64_t nz = bp->close_hi[0][iz] - bp->close_lo[0][iz];
    if (nz <= 0 || j.ny <= 0 || j.xb1 <= j.xb0)
        return;
    vxt__pool_for(s->ctx->pool, (size_t)nz * (size_t)j.ny, 8, close_rows, &j);
    for (int64_t pz = j.z0; pz < j.z0 + nz; pz++)
        for (int64_t py = j.y0; py < j.y0 + j.ny; py++) {
            const int32_t *trow = cs->table + ((size_t)(pz % bp->depth) * (size_t)s->P[1] + (size_t)py) * (size_t)bp->nxb;
            for (int64_t xb = j.xb0; xb < j.xb1; xb++)
                cs->free_list[cs->nfree++] = trow[xb];
        }
}

/* Planes [z0, z1) of the finished outputs, which are all final (the session asks only for those), out of the
 * store. */
/* Deferred finalization (output volumes with values): rows of planes [z0, z1) straight into the caller's memory. */
typedef struct defer_job {
    vxt__stitch *s;
    int64_t z0;
    float *values;
    size_t cstride;
    void *labels;
} defer_job;

static void defer_rows(void *arg, size_t begin, size_t end, int slot)
{
    defer_job *j = (defer_job *)arg;
    vxt__stitch *s = j->s;
    cpu_state *cs = st_of(s);
    const int64_t W = cs->bp.W, S1 = s->S[1], S2 = s->S[2], lo2 = s->lo[2];
    const size_t les = vxt_dtype_size(s->opt.label_dtype);
    for (size_t r = begin; r < end; r++) {
        const int64_t z = j->z0 + (int64_t)(r / (size_t)S1), y = (int64_t)(r % (size_t)S1);
        const int64_t pz = z + s->lo[0], py = y + s->lo[1];
        const int32_t *trow = cs->table + ((size_t)(pz % cs->bp.depth) * (size_t)s->P[1] + (size_t)py) * (size_t)cs->bp.nxb;
        for (int64_t xb = lo2 / W; xb * W < lo2 + S2; xb++) {
            const int64_t xa = xb * W > lo2 ? xb * W : lo2, xe = (xb + 1) * W < lo2 + S2 ? (xb + 1) * W : lo2 + S2;
            const size_t di = (size_t)(((z - j->z0) * S1 + y) * S2 + (xa - lo2));
            final_segment(s, slot, pz, py, xa, xe, xb * W, cs->pool + (size_t)trow[xb] * cs->bp.block_bytes,
                          j->values ? j->values + di : NULL, j->cstride,
                          j->labels ? (unsigned char *)j->labels + di * les : NULL);
        }
    }
}

static vxt_status cpu_finalize(vxt__stitch *s, int64_t z0, int64_t z1, float *values, size_t cstride, void *labels)
{
    cpu_state *cs = st_of(s);
    if (cs->bp.defer) {
        defer_job j = {s, z0, values, cstride, labels};
        vxt__pool_for(s->ctx->pool, (size_t)(z1 - z0) * (size_t)s->S[1], 4, defer_rows, &j);
        return VXT_OK;
    }
    const size_t plane = (size_t)s->S[1] * (size_t)s->S[2];
    const size_t les = vxt_dtype_size(s->opt.label_dtype);
    for (int64_t z = z0; z < z1; z++) {
        const size_t src = (size_t)(z % cs->bp.final_depth) * plane, dz = (size_t)(z - z0) * plane;
        for (int64_t c = 0; values && cs->fvals && c < s->C; c++)
            memcpy(values + (size_t)c * cstride + dz, cs->fvals + (size_t)c * cs->fcs + src, plane * sizeof(float));
        if (labels && cs->flabels)
            memcpy((unsigned char *)labels + dz * les, (const unsigned char *)cs->flabels + src * les, plane * les);
    }
    return VXT_OK;
}

static vxt_status cpu_sync(vxt__stitch *s)
{
    (void)s;
    return VXT_OK;
}

const vxt__stitch_ops vxt__stitch_cpu_ops = {cpu_init, cpu_destroy, cpu_consume, cpu_finalize, cpu_sync, cpu_footprint};
