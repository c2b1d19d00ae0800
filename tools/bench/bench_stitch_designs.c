/* bench_stitch_designs.c - timing prototypes of two alternative stitching designs, on bench_stitch's case
 * (512x512x256 float32, ROI 128, step 64, C = 2, MONAI's benchmark predictor at batch 1), to learn whether
 * either could beat the engine's design on this machine (docs/PERFORMANCE.md, "Stitching").
 *
 * These are not voxtile's engine and do not produce its bits (weights are stand-ins); they reproduce each
 * design's memory traffic, which is what bounds it:
 *
 *   brick   every tile's outputs are accumulated right after its predictor call, while they are still in the
 *           last-level cache, into an accumulator laid out in 64^3 bricks (a tile's share of it is 8 contiguous
 *           bricks per channel), with weights computed on the fly from three 1D tables; then a finalization
 *           pass reads the bricks and writes the linear result. DRAM bytes: cut 8 B + accumulator 8C B per tile
 *           voxel (read and written) + volume and result; the predictor's outputs never leave the cache if
 *           the cache holds them.
 *   gather  every tile's outputs are kept (147 x 16 MiB = 2.5 GB, 4.6x the accumulator), then one pass over
 *           the output gathers, per row, the covering tiles' contributions in plan order and divides: no
 *           accumulator at all. DRAM bytes: cut 8 B + outputs 8C B per tile voxel + volume and result.
 *
 * Both run cut, predictor and accumulation one after the other per tile (the cut on 2 threads, the predictor
 * on one, accumulation or the gather on 2), as the engine does at batch 1 apart from its cut-ahead. */
#include "bench_util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NZ = 256, NY = 512, NX = 512, R = 128, STEP = 64, BR = 64, C = 2 };
#define TILE ((size_t)R * R * R)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx2", "default"))) /* as the engine's hot loops (VXT_CPU_HOT) */
#else
#define HOT
#endif
#define VOX ((size_t)NZ * NY * NX)

typedef struct times {
    double total, cut, predict, accumulate, finalize;
} times;

static void cut_tile(float *in, const float *vol, int z0, int y0, int x0)
{
#pragma omp parallel for num_threads(2)
    for (int z = 0; z < R; z++)
        for (int y = 0; y < R; y++)
            memcpy(in + ((size_t)z * R + (size_t)y) * R, vol + ((size_t)(z0 + z) * NY + (size_t)(y0 + y)) * NX + x0,
                   R * sizeof(float));
}

static void predict(float *out, const float *in) /* bench_stitch's predictor: channel c = input * (c+1) */
{
    for (int c = 0; c < C; c++) {
        float s = (float)(c + 1);
        for (size_t i = 0; i < TILE; i++)
            out[(size_t)c * TILE + i] = in[i] * s;
    }
}

static void gauss(float *w, int n)
{
    for (int i = 0; i < n; i++) {
        double x = (i - (n - 1) / 2.0) / (0.125 * n);
        double e = 1.0, t = 1.0; /* exp(-x^2/2) by its series: no libm needed for stand-in weights */
        for (int k = 1; k < 40; k++) {
            t *= -0.5 * x * x / k;
            e += t;
        }
        w[i] = (float)(e > 1e-3 ? e : 1e-3);
    }
}

HOT static void brick_row(float *restrict d, const float *restrict src, const float *restrict wx, float wzy, int first)
{
    if (first) /* the first covering tile writes, as the engine's does */
        for (int x = 0; x < BR; x++) {
            float v = wzy * wx[x];
            d[x] = src[x] * (v > 1e-3f ? v : 1e-3f);
        }
    else
        for (int x = 0; x < BR; x++) {
            float v = wzy * wx[x];
            d[x] = d[x] + src[x] * (v > 1e-3f ? v : 1e-3f);
        }
}

HOT static void fma_row(float *restrict a, const float *restrict p, const float *restrict w, int n)
{
    for (int x = 0; x < n; x++)
        a[x] = a[x] + p[x] * w[x];
}

HOT static void add_row(float *restrict a, const float *restrict w, int n)
{
    for (int x = 0; x < n; x++)
        a[x] = a[x] + w[x];
}

HOT static void div_row(float *restrict d, const float *restrict a, const float *restrict w, int n)
{
    for (int x = 0; x < n; x++)
        d[x] = a[x] / w[x];
}

static times run_brick(const float *vol, float *acc, float *res, float *in, float *out, const float *w)
{
    times t = {0};
    const int nbz = NZ / BR, nby = NY / BR, nbx = NX / BR;
    double t0 = vxt_bench_now();
    for (int z0 = 0; z0 <= NZ - R; z0 += STEP)
        for (int y0 = 0; y0 <= NY - R; y0 += STEP)
            for (int x0 = 0; x0 <= NX - R; x0 += STEP) {
                double a = vxt_bench_now();
                cut_tile(in, vol, z0, y0, x0);
                double b = vxt_bench_now();
                predict(out, in);
                double c = vxt_bench_now();
#pragma omp parallel for collapse(2) num_threads(2)
                for (int q = 0; q < 8; q++)
                    for (int ch = 0; ch < C; ch++) {
                        int dz = (q >> 2) & 1, dy = (q >> 1) & 1, dx = q & 1;
                        size_t bz = (size_t)(z0 / BR + dz), by = (size_t)(y0 / BR + dy), bx = (size_t)(x0 / BR + dx);
                        float *ab = acc + ((((size_t)ch * (size_t)nbz + bz) * (size_t)nby + by) * (size_t)nbx + bx) *
                                              (size_t)BR * BR * BR;
                        const float *o = out + (size_t)ch * TILE;
                        const int first = (z0 == 0 || dz == 1) && (y0 == 0 || dy == 1) && (x0 == 0 || dx == 1);
                        for (int z = 0; z < BR; z++)
                            for (int y = 0; y < BR; y++) {
                                int tz = dz * BR + z, ty = dy * BR + y;
                                float wzy = w[tz] * w[ty];
                                const float *src = o + ((size_t)tz * R + (size_t)ty) * R + (size_t)(dx * BR);
                                float *d = ab + ((size_t)z * BR + (size_t)y) * BR;
                                brick_row(d, src, w + dx * BR, wzy, first);
                            }
                    }
                double e = vxt_bench_now();
                t.cut += b - a;
                t.predict += c - b;
                t.accumulate += e - c;
            }
    double f = vxt_bench_now();
#pragma omp parallel for num_threads(2)
    for (int r = 0; r < NZ * NY; r++) {
        int z = r / NY, y = r % NY;
        for (int ch = 0; ch < C; ch++) {
            float *d = res + (size_t)ch * VOX + (size_t)r * NX;
            for (int bx = 0; bx < nbx; bx++) {
                const float *s = acc + ((((size_t)ch * (size_t)nbz + (size_t)(z / BR)) * (size_t)nby + (size_t)(y / BR)) *
                                            (size_t)nbx + (size_t)bx) * (size_t)BR * BR * BR +
                                 ((size_t)(z % BR) * BR + (size_t)(y % BR)) * BR;
                for (int x = 0; x < BR; x++)
                    d[bx * BR + x] = s[x] / (1.0f + w[x]); /* stand-in weight sum */
            }
        }
    }
    double g = vxt_bench_now();
    t.finalize = g - f;
    t.total = g - t0;
    return t;
}

static times run_gather(const float *vol, float *store, float *res, float *in, const float *wt)
{
    times t = {0};
    const int nz = (NZ - R) / STEP + 1, ny = (NY - R) / STEP + 1, nx = (NX - R) / STEP + 1;
    double t0 = vxt_bench_now();
    int k = 0;
    for (int iz = 0; iz < nz; iz++)
        for (int iy = 0; iy < ny; iy++)
            for (int ix = 0; ix < nx; ix++, k++) {
                double a = vxt_bench_now();
                cut_tile(in, vol, iz * STEP, iy * STEP, ix * STEP);
                double b = vxt_bench_now();
                predict(store + (size_t)k * TILE * C, in);
                t.cut += b - a;
                t.predict += vxt_bench_now() - b;
            }
    double f = vxt_bench_now();
#pragma omp parallel num_threads(2)
    {
        static float acc_s[2][C][NX], ws_s[2][NX];
        int me = omp_get_thread_num();
#pragma omp for schedule(static)
        for (int r = 0; r < NZ * NY; r++) {
            int z = r / NY, y = r % NY;
            float(*acc)[NX] = acc_s[me];
            float *ws = ws_s[me];
            memset(acc, 0, sizeof acc_s[0]);
            memset(ws, 0, sizeof ws_s[0]);
            int za = z - R + 1 < 0 ? 0 : (z - R + STEP) / STEP, zb = z / STEP < nz - 1 ? z / STEP : nz - 1;
            int ya = y - R + 1 < 0 ? 0 : (y - R + STEP) / STEP, yb = y / STEP < ny - 1 ? y / STEP : ny - 1;
            for (int iz = za; iz <= zb; iz++)
                for (int iy = ya; iy <= yb; iy++)
                    for (int ix = 0; ix < nx; ix++) {
                        const float *o = store + (size_t)((iz * ny + iy) * nx + ix) * TILE * C;
                        size_t off = ((size_t)(z - iz * STEP) * R + (size_t)(y - iy * STEP)) * R;
                        const float *w = wt + off;
                        for (int ch = 0; ch < C; ch++)
                            fma_row(acc[ch] + ix * STEP, o + (size_t)ch * TILE + off, w, R);
                        add_row(ws + ix * STEP, w, R);
                    }
            for (int ch = 0; ch < C; ch++)
                div_row(res + (size_t)ch * VOX + (size_t)r * NX, acc[ch], ws, NX);
        }
    }
    double g = vxt_bench_now();
    t.accumulate = g - f; /* the gather includes the finalization */
    t.total = g - t0;
    return t;
}

static void report(const char *name, times *all, int runs, double gb, const vxt_membw *bw)
{
    double tot[64] = {0};
    for (int i = 1; i < runs; i++)
        tot[i - 1] = all[i].total;
    double med = vxt_bench_median(tot, runs - 1);
    times *m = &all[1];
    for (int i = 1; i < runs; i++)
        if (all[i].total == med)
            m = &all[i];
    printf("%-6s cold %.3f s, warm %.3f s (median of %d: cut %.3f, predictor %.3f, accumulate %.3f, finalize %.3f); "
           "%.2f GB through DRAM at best, floor %.3f s at %.1f GB/s triad\n",
           name, all[0].total, med, runs - 1, m->cut, m->predict, m->accumulate, m->finalize, gb,
           gb / bw->triad_gbs, bw->triad_gbs);
}

int main(int argc, char **argv)
{
    int runs = 5, brick = 1, gather = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--design") && i + 1 < argc) {
            const char *d = argv[++i];
            brick = !strcmp(d, "brick") || !strcmp(d, "both");
            gather = !strcmp(d, "gather") || !strcmp(d, "both");
        } else {
            fprintf(stderr, "usage: %s [--design brick|gather|both] [--runs N (2..64)]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 2 || runs > 64 || (!brick && !gather)) {
        fprintf(stderr, "usage: %s [--design brick|gather|both] [--runs N (2..64)]\n", argv[0]);
        return 2;
    }
    const int ntiles = ((NZ - R) / STEP + 1) * ((NY - R) / STEP + 1) * ((NX - R) / STEP + 1);
    float *vol = malloc(VOX * sizeof(float)), *res = malloc(VOX * C * sizeof(float));
    float *in = malloc(TILE * sizeof(float)), *out = malloc(TILE * C * sizeof(float));
    float *wt = malloc(TILE * sizeof(float)), w[R];
    float *acc = brick ? malloc(VOX * C * sizeof(float)) : NULL;
    float *store = gather ? malloc(TILE * C * (size_t)ntiles * sizeof(float)) : NULL;
    if (!vol || !res || !in || !out || !wt || (brick && !acc) || (gather && !store)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    gauss(w, R);
    for (size_t i = 0; i < TILE; i++)
        wt[i] = w[i / (R * R)] * w[(i / R) % R] * w[i % R] + 1e-3f;
    vxt_bench_fill_uniform(vol, VOX, -1000.0f, 2000.0f, 1);
    memset(res, 0, VOX * C * sizeof(float));
    if (acc)
        memset(acc, 0, VOX * C * sizeof(float));
    if (store)
        memset(store, 0, TILE * C * (size_t)ntiles * sizeof(float));
    vxt_membw bw;
    if (vxt_bench_membw(2, (size_t)64 << 20, 5, &bw) != 0) {
        fprintf(stderr, "bandwidth measurement failed\n");
        return 1;
    }
    printf("512x512x256, ROI 128, step 64, C=%d, batch 1: %d tiles; triad %.1f GB/s (2 threads)\n", C, ntiles,
           bw.triad_gbs);
    const double tv = (double)TILE * ntiles, vv = (double)VOX;
    times all[64];
    if (brick) {
        for (int i = 0; i < runs; i++)
            all[i] = run_brick(vol, acc, res, in, out, w);
        report("brick", all, runs, (tv * (8 + 8 * C) + vv * (4 + 4 * C + 4 * C)) / 1e9, &bw);
    }
    if (gather) {
        for (int i = 0; i < runs; i++)
            all[i] = run_gather(vol, store, res, in, wt);
        report("gather", all, runs, (tv * (8 + 8 * C) + vv * (4 + 4 * C)) / 1e9, &bw);
    }
    free(vol), free(res), free(in), free(out), free(wt), free(acc), free(store);
    return 0;
}
