/* stitch_cpu_blocks.c - planning the CPU backend's pending blocks (stitch_cpu_blocks.h): per axis, which
 * coordinates each tile start opens and closes, the table's ring depth, the finished-output store's depth, and the
 * exact peak count of pending blocks, from the plan alone. */
#include <stdlib.h>
#include <string.h>

#include "stitch_cpu_blocks.h"
#include "vxt_arith.h"
#include "vxt_stitch.h"

/* Tiles one CPU consume accumulates together (its z-start groups): kernels/stitch/stitch_cpu.c */
#define GROUP_CAP 256u
/* Beyond this many windows, the peak is bounded with whole z rows of tiles (a superset: never less) */
#define EXACT_WINDOWS ((uint64_t)1 << 18)

typedef struct cell {
    int64_t f, l; /* first and last covering start */
    double n;     /* coordinates (blocks) with them */
} cell;

typedef struct axis_cells {
    cell *c;
    int64_t n;
    double total;
} axis_cells;

/* first(p): the smallest start covering p; last(p): the largest. Starts ascend; every padded coordinate is covered. */
static void cover_of(const int64_t *st, int64_t n, int64_t R, int64_t p, int64_t *first, int64_t *last)
{
    int64_t lo = 0, hi = n; /* first index with st + R > p */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (st[mid] + R > p)
            hi = mid;
        else
            lo = mid + 1;
    }
    *first = lo;
    lo = 0;
    hi = n; /* first index with st > p, less one */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (st[mid] > p)
            hi = mid;
        else
            lo = mid + 1;
    }
    *last = lo - 1;
}

/* Units of axis a (coordinates; blocks of W on x) as runs of equal (first, last), and the open/close ranges per
 * start. Cell boundaries lie at starts and ends of tiles, so units are walked from boundary to boundary. */
static int axis_build(const vxt__stitch *s, int a, int64_t nunits, int64_t unit, axis_cells *ac, int64_t *olo,
                      int64_t *ohi, int64_t *clo, int64_t *chi)
{
    const int64_t n = s->nstarts[a], R = s->R[a], P = s->P[a];
    const int64_t *st = s->starts[a];
    for (int64_t i = 0; i < n; i++)
        olo[i] = ohi[i] = clo[i] = chi[i] = 0;
    ac->c = malloc((size_t)(2 * n + 2) * sizeof(cell));
    if (!ac->c)
        return -1;
    int64_t cap = 2 * n + 2;
    ac->n = 0;
    ac->total = 0.0;
    int64_t u = 0;
    while (u < nunits) {
        int64_t p0 = u * unit, p1 = (u + 1) * unit - 1 < P - 1 ? (u + 1) * unit - 1 : P - 1;
        int64_t f, l, dummy;
        cover_of(st, n, R, p0, &f, &dummy);
        cover_of(st, n, R, p1, &dummy, &l);
        /* the run of units with the same (f, l): up to the next coordinate where a tile starts or ends */
        int64_t next_p = P; /* first coordinate beyond p1 where coverage changes */
        for (int64_t k = f; k < n && k <= l + 1; k++) {
            if (st[k] > p1 && st[k] < next_p)
                next_p = st[k];
            if (st[k] + R > p1 && st[k] + R < next_p)
                next_p = st[k] + R;
        }
        int64_t v = u + 1;
        if (unit == 1) {
            v = next_p > u + 1 ? next_p : u + 1;
        } else {
            /* blocks: block v has the same (f, l) while its first and last voxel do; walk on */
            while (v < nunits) {
                int64_t q0 = v * unit, q1 = (v + 1) * unit - 1 < P - 1 ? (v + 1) * unit - 1 : P - 1, f2, l2;
                cover_of(st, n, R, q0, &f2, &dummy);
                cover_of(st, n, R, q1, &dummy, &l2);
                if (f2 != f || l2 != l)
                    break;
                v++;
            }
        }
        if (v > nunits)
            v = nunits;
        if (ac->n == cap) {
            cell *g = realloc(ac->c, (size_t)(2 * cap) * sizeof(cell));
            if (!g)
                return -1;
            ac->c = g;
            cap *= 2;
        }
        ac->c[ac->n++] = (cell){f, l, (double)(v - u)};
        ac->total += (double)(v - u);
        if (f >= 0 && f < n) {
            if (ohi[f] == olo[f])
                olo[f] = u;
            ohi[f] = v;
        }
        if (l >= 0 && l < n) {
            if (chi[l] == clo[l])
                clo[l] = u;
            chi[l] = v;
        }
        u = v;
    }
    return 0;
}

/* Units of axes a.. whose first covering starts are <= t lexicographically (last = 0), or whose last covering
 * starts are >= t (last = 1). */
static double count_side(const axis_cells *ac, int a, const int64_t *t, int last)
{
    if (a == 3)
        return 1.0;
    double rest = 1.0;
    for (int b = a + 1; b < 3; b++)
        rest *= ac[b].total;
    double tail = count_side(ac, a + 1, t, last), sum = 0.0;
    for (int64_t i = 0; i < ac[a].n; i++) {
        const cell *c = &ac[a].c[i];
        const int64_t v = last ? c->l : c->f;
        if (last ? v > t[a] : v < t[a])
            sum += c->n * rest;
        else if (v == t[a])
            sum += c->n * tail;
    }
    return sum;
}

/* Units of axes a.. with (first...) <= r and (last...) >= q. */
static double count_fl(const axis_cells *ac, int a, const int64_t *q, const int64_t *r)
{
    if (a == 3)
        return 1.0;
    double rest = 1.0;
    for (int b = a + 1; b < 3; b++)
        rest *= ac[b].total;
    const double tf = count_side(ac, a + 1, r, 0), tl = count_side(ac, a + 1, q, 1), tfl = count_fl(ac, a + 1, q, r);
    double sum = 0.0;
    for (int64_t i = 0; i < ac[a].n; i++) {
        const cell *c = &ac[a].c[i];
        int fs = c->f < r[a] ? 2 : c->f == r[a] ? 1 : 0;
        int ls = c->l > q[a] ? 2 : c->l == q[a] ? 1 : 0;
        if (!fs || !ls)
            continue;
        sum += c->n * (fs == 2 && ls == 2 ? rest : fs == 2 ? tl : ls == 2 ? tf : tfl);
    }
    return sum;
}

static void grid_of(const vxt__stitch *s, uint64_t t, int64_t g[3])
{
    const uint64_t nx = (uint64_t)s->nstarts[2], tpr = (uint64_t)s->tiles_per_row;
    g[0] = (int64_t)(t / tpr);
    g[1] = (int64_t)((t % tpr) / nx);
    g[2] = (int64_t)(t % nx);
}

/* Blocks pending while tiles q..r are open (opened by a tile <= r, closed by none before q), and the padded z
 * planes they span. */
static double pending(const vxt__stitch *s, const axis_cells *ac, uint64_t q, uint64_t r, int64_t *span)
{
    int64_t gq[3], gr[3];
    grid_of(s, q, gq);
    grid_of(s, r, gr);
    int64_t z = s->starts[0][gr[0]] + s->R[0] - s->starts[0][gq[0]];
    if (z > *span)
        *span = z;
    return count_fl(ac, 0, gq, gr);
}

int vxt__blocks_plan_make(const vxt__stitch *s, uint64_t consume_tiles, vxt__blocks_plan *bp)
{
    memset(bp, 0, sizeof *bp);
    bp->defer = !s->sink_mode && s->output.want_values;
    const int64_t W = bp->defer ? (s->P[2] + VXT__BLOCK_W - 1) / VXT__BLOCK_W * VXT__BLOCK_W : VXT__BLOCK_W;
    bp->W = W;
    bp->nxb = (s->P[2] + W - 1) / W;
    if (!vxt__mul_size((size_t)s->M * (size_t)s->C, (size_t)W, &bp->block_elems) ||
        !vxt__mul_size(bp->block_elems, s->mode == VXT_ACC_F64 ? sizeof(double) : sizeof(float), &bp->block_bytes))
        return -1;
    axis_cells ac[3];
    memset(ac, 0, sizeof ac);
    int ok = 1;
    for (int a = 0; a < 3 && ok; a++) {
        size_t n = (size_t)s->nstarts[a];
        bp->open_lo[a] = malloc(n * sizeof(int64_t));
        bp->open_hi[a] = malloc(n * sizeof(int64_t));
        bp->close_lo[a] = malloc(n * sizeof(int64_t));
        bp->close_hi[a] = malloc(n * sizeof(int64_t));
        ok = bp->open_lo[a] && bp->open_hi[a] && bp->close_lo[a] && bp->close_hi[a] &&
             axis_build(s, a, a == 2 ? bp->nxb : s->P[a], a == 2 ? W : 1, &ac[a], bp->open_lo[a], bp->open_hi[a],
                        bp->close_lo[a], bp->close_hi[a]) == 0;
    }
    if (ok) {
        const uint64_t T = s->T, tpr = (uint64_t)s->tiles_per_row, B = s->B;
        double peak = 0.0;
        int64_t span = 0;
        if (s->M == 1) {
            /* windows: up to `group` tiles with one z start, from any tile on */
            uint64_t group = consume_tiles < GROUP_CAP ? consume_tiles : GROUP_CAP;
            if (group < 1)
                group = 1;
            bp->window = group;
            if (T <= EXACT_WINDOWS) {
                for (uint64_t q = 0; q < T; q++) {
                    uint64_t row_end = (q / tpr + 1) * tpr - 1, r = q + group - 1;
                    if (r > row_end)
                        r = row_end;
                    if (r > T - 1)
                        r = T - 1;
                    double p = pending(s, ac, q, r, &span);
                    peak = p > peak ? p : peak;
                }
            } else {
                for (uint64_t q = 0; q < T; q += tpr) {
                    double p = pending(s, ac, q, q + tpr - 1 < T - 1 ? q + tpr - 1 : T - 1, &span);
                    peak = p > peak ? p : peak;
                }
            }
        } else {
            /* ensembles: member 0 opens a whole batch before the last member closes any of it */
            bp->window = B;
            uint64_t nb = s->nbatches;
            for (uint64_t b = 0; b < nb; b++) {
                uint64_t q = b * B, r = q + B - 1 < T - 1 ? q + B - 1 : T - 1;
                if (nb > EXACT_WINDOWS) { /* whole z rows around the batch */
                    q = q / tpr * tpr;
                    r = (r / tpr + 1) * tpr - 1 < T - 1 ? (r / tpr + 1) * tpr - 1 : T - 1;
                }
                double p = pending(s, ac, q, r, &span);
                peak = p > peak ? p : peak;
            }
        }
        if (bp->defer) { /* every block, until the end */
            peak = (double)s->P[0] * (double)s->P[1] * (double)bp->nxb;
            span = s->P[0];
        }
        bp->peak_blocks = (uint64_t)peak;
        bp->depth = span < s->P[0] ? span : s->P[0];
        if (bp->depth < 1)
            bp->depth = 1;
        /* finished planes wait for their delivery, at the end of a batch: up to then, the planes closed since the
         * batch's first z start (vxt__stitch_final_pz_after), up to the end of those its last z start closes. A
         * group of calls (vxt_stitch) never reaches beyond the z row of its first batch further than that batch
         * does (stitch_run.c), so batches bound it. */
        if (bp->defer) {
            bp->final_depth = 0; /* no store */
        } else if (!s->sink_mode) {
            bp->final_depth = s->S[0];
        } else {
            uint64_t kz = 0;
            if (s->nbatches <= EXACT_WINDOWS) {
                for (uint64_t q = 0; q < T; q += B) {
                    uint64_t r = q + B - 1 < T - 1 ? q + B - 1 : T - 1;
                    if (r / tpr - q / tpr > kz)
                        kz = r / tpr - q / tpr;
                }
            } else {
                kz = (B - 1) / tpr + 1;
            }
            const int64_t nz = s->nstarts[0], zlo = s->lo[0], zhi = s->lo[0] + s->S[0];
            int64_t fd = 0;
            for (int64_t i = 0; i < nz; i++) {
                int64_t j = i + (int64_t)kz < nz - 1 ? i + (int64_t)kz : nz - 1;
                int64_t a = s->starts[0][i] > zlo ? s->starts[0][i] : zlo;
                int64_t b = bp->close_hi[0][j] < zhi ? bp->close_hi[0][j] : zhi;
                if (b - a > fd)
                    fd = b - a;
            }
            bp->final_depth = fd < s->S[0] ? fd : s->S[0];
            if (bp->final_depth < 1)
                bp->final_depth = 1;
        }
        if (bp->peak_blocks < 1)
            bp->peak_blocks = 1;
        size_t t;
        ok = bp->peak_blocks < (uint64_t)INT32_MAX &&
             vxt__mul_size((size_t)bp->peak_blocks, bp->block_bytes, &t) &&
             vxt__mul_size((size_t)bp->depth * (size_t)s->P[1], (size_t)bp->nxb * sizeof(int32_t), &t);
    }
    for (int a = 0; a < 3; a++)
        free(ac[a].c);
    if (!ok) {
        vxt__blocks_plan_free(bp);
        return -1;
    }
    return 0;
}

void vxt__blocks_plan_free(vxt__blocks_plan *bp)
{
    for (int a = 0; a < 3; a++) {
        free(bp->open_lo[a]);
        free(bp->open_hi[a]);
        free(bp->close_lo[a]);
        free(bp->close_hi[a]);
        bp->open_lo[a] = bp->open_hi[a] = bp->close_lo[a] = bp->close_hi[a] = NULL;
    }
}

size_t vxt__blocks_bytes(const vxt__stitch *s, const vxt__blocks_plan *bp)
{
    const size_t plane = (size_t)s->S[1] * (size_t)s->S[2] * (size_t)bp->final_depth;
    const size_t store = (s->output.want_values ? (size_t)s->C * plane * sizeof(float) : 0) +
                         (s->output.want_labels ? plane * vxt_dtype_size(s->opt.label_dtype) : 0);
    return vxt__ws_round((size_t)bp->peak_blocks * bp->block_bytes) +
           (size_t)bp->depth * (size_t)s->P[1] * (size_t)bp->nxb * sizeof(int32_t) +
           (size_t)bp->peak_blocks * sizeof(int32_t) + (store ? vxt__ws_round(store) : 0);
}
