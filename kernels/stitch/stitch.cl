/* stitch.cl - sliding-window stitching on the device: mirroring, weighted accumulation of one tile into the
 * accumulator ring, normalization by the gathered weight sum, ensembles, activation and argmax. Tiles are
 * extracted on the host (runtime/stitch/stitch_extract.c). Prepended at build time: vxt_arith.h, vxt_labels.h, vxt_stitch.h.
 *
 * The weight sum of a voxel is gathered from the importance table over the tiles covering it, in plan order
 * (the order MONAI's count map is built in), so no weight-sum volume is stored.
 *
 * Layouts: a call's output holds `count` items of C x R0 x R1 x R2 (C order). The accumulator of one member
 * is C x D x P1 x P2 floats (D = ring depth along z, P = padded extents); padded z maps to slot z % D. */

#define SRC_F32 0
#define SRC_F16 1
#define SRC_MIRROR 2

static inline float load_src(__global const void *src, int kind, long i, float nflips, int f16_tile)
{
    if (kind == SRC_F16)
        return vxt_tile_f16(((__global const ushort *)src)[i]);
    if (kind == SRC_MIRROR)
        return vxt_mirror_mean(((__global const float *)src)[i], nflips, f16_tile);
    return vxt_tile_f32(((__global const float *)src)[i]);
}

/* Mirroring: mirror[i] (= or +=) the call output at the flipped position, for one item, every channel. */
__kernel void vxt_k_stitch_mirror(__global float *mirror, __global const void *src, int kind, long item_offset,
                                long R0, long R1, long R2, uint flip, int first, int f16_tile,
                                __global uint *bad, int bad_index, int C)
{
    long x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);
    if (x >= R2 || y >= R1)
        return;
    long zf = (flip & 1u) ? R0 - 1 - z : z, yf = (flip & 2u) ? R1 - 1 - y : y, xf = (flip & 4u) ? R2 - 1 - x : x;
    long plane = R0 * R1 * R2;
    long i = (z * R1 + y) * R2 + x;
    long j = (zf * R1 + yf) * R2 + xf;
    for (int c = 0; c < C; c++, i += plane, j += plane) {
        float p = load_src(src, kind, item_offset + j, 1.0f, f16_tile);
        if (!vxt_isfinite(p))
            atomic_min(bad + bad_index, (uint)j);
        mirror[item_offset + i] = first ? p : vxt_mirror_add(mirror[item_offset + i], p, f16_tile);
    }
}

/* One tile (item) of a call accumulated into the member's ring: acc += p * w, every channel. One work-item per
 * voxel of the tile (x fastest). */
__kernel void vxt_k_stitch_accumulate(__global float *acc, __global const void *src, int kind, long item_offset,
                                    float nflips, __global const float *w, long R0, long R1, long R2, long zs,
                                    long ys, long xs, long D, long P1, long P2, int mode, int f16_tile,
                                    __global uint *bad, int bad_index, __global const int *cover_first, long P0,
                                    int iz, int iy, int ix, int C)
{
    long x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);
    if (x >= R2 || y >= R1)
        return;
    long pz = zs + z;
    long slot = pz < D ? pz : pz % D;
    /* the first tile covering a voxel starts its sum: 0 + p*w, as MONAI adds to a zeroed buffer */
    int first = cover_first[pz] == iz && cover_first[P0 + ys + y] == iy && cover_first[P0 + P1 + xs + x] == ix;
    float wv = w[(z * R1 + y) * R2 + x];
    long plane_t = R0 * R1 * R2, plane_a = D * P1 * P2;
    long i = (z * R1 + y) * R2 + x;
    long a = (slot * P1 + ys + y) * P2 + xs + x;
    for (int c = 0; c < C; c++, i += plane_t, a += plane_a) {
        float p = load_src(src, kind, item_offset + i, nflips, f16_tile);
        if (kind != SRC_MIRROR && !vxt_isfinite(p))
            atomic_min(bad + bad_index, (uint)i);
        acc[a] = vxt_stitch_add(first ? 0.0f : acc[a], vxt_stitch_product(p, wv, f16_tile), mode);
    }
}

/* One accumulator row `a` of R2 values: acc = acc + p*w below `split`, 0 + p*w from it on, p read from `src` at
 * i0 (float32 fast path, or through load_src); a non-finite p's index in its item (i0 - item_offset + x) goes to
 * *bad (atomic_min). Shared by the row-wise kernels, so per voxel they do the same arithmetic. */
static inline void acc_row(__global float *a, __global const void *src, int kind, long i0, long item_offset,
                           float nflips, __global const float *wr, long R2, long split, int mode, int f16_tile,
                           __global uint *bad)
{
    uint badrow = 0;
    if (kind == SRC_F32 && mode == VXT_ACC_F32 && !f16_tile) {
        __global const float *p = (__global const float *)src + i0;
        for (long x = 0; x < split; x++) {
            float v = p[x];
            badrow |= (as_uint(v) & 0x7f800000u) == 0x7f800000u;
            a[x] = vxt_stitch_add(a[x], vxt_stitch_product(vxt_ftz(v), wr[x], 0), VXT_ACC_F32);
        }
        for (long x = split; x < R2; x++) {
            float v = p[x];
            badrow |= (as_uint(v) & 0x7f800000u) == 0x7f800000u;
            a[x] = vxt_stitch_add(0.0f, vxt_stitch_product(vxt_ftz(v), wr[x], 0), VXT_ACC_F32);
        }
    } else {
        /* two loops, as above: below split the sum continues, from it on it starts. (One loop choosing a[x] or 0
         * per x made the compiler load a[x] at every x, a read of memory no tile has written yet: Oclgrind.) */
        for (long x = 0; x < split; x++) {
            float v = load_src(src, kind, i0 + x, nflips, f16_tile);
            badrow |= kind != SRC_MIRROR && !vxt_isfinite(v);
            a[x] = vxt_stitch_add(a[x], vxt_stitch_product(v, wr[x], f16_tile), mode);
        }
        for (long x = split; x < R2; x++) {
            float v = load_src(src, kind, i0 + x, nflips, f16_tile);
            badrow |= kind != SRC_MIRROR && !vxt_isfinite(v);
            a[x] = vxt_stitch_add(0.0f, vxt_stitch_product(v, wr[x], f16_tile), mode);
        }
    }
    if (badrow)
        for (long x = 0; x < R2; x++)
            if (!vxt_isfinite(load_src(src, kind == SRC_MIRROR ? SRC_F32 : kind, i0 + x, 1.0f, f16_tile))) {
                atomic_min(bad, (uint)(i0 - item_offset + x));
                break;
            }
}

/* Row-wise accumulation for devices made of CPU cores (PoCL): one work-item per (y, z) row of the tile, an inner
 * loop over x that the compiler can vectorize (PoCL does not vectorize work-items whose bodies branch), the
 * NaN/Inf check as a flag over the row. x_split: below it the row continues sums started by the previous x tile,
 * from it on (when this row starts its sums) the tile writes 0 + p*w - the per-voxel kernel's `first`. Same
 * arithmetic per voxel as vxt_k_stitch_accumulate. */
__kernel void vxt_k_stitch_accumulate_rows(__global float *acc, __global const void *src, int kind, long item_offset,
                                         float nflips, __global const float *w, long R0, long R1, long R2, long zs,
                                         long ys, long xs, long D, long P1, long P2, int mode, int f16_tile,
                                         __global uint *bad, int bad_index, __global const int *cover_first, long P0,
                                         int iz, int iy, int C, long x_split)
{
    long y = get_global_id(0), z = get_global_id(1);
    if (y >= R1 || z >= R0)
        return;
    long pz = zs + z, py = ys + y;
    long slot = pz < D ? pz : pz % D;
    long split = (cover_first[pz] == iz && cover_first[P0 + py] == iy) ? x_split : R2;
    __global const float *wr = w + (z * R1 + y) * R2;
    for (int c = 0; c < C; c++)
        acc_row(acc + ((c * D + slot) * P1 + py) * P2 + xs, src, kind, item_offset + ((c * R0 + z) * R1 + y) * R2,
                item_offset, nflips, wr, R2, split, mode, f16_tile, bad + bad_index);
}

/* Row-wise accumulation of a group of tiles with the same z start (consecutive items of one call) for devices
 * made of CPU cores: one work-item per (row, plane) of the group's y range; for every channel the tiles covering
 * the row are applied in plan order (y start, then x start) while the accumulator row is in cache, so n tiles
 * cost one pass over it instead of n - the CPU backend's grouping. Per voxel the same additions in the same order
 * as vxt_k_stitch_accumulate_rows tile after tile. gt: rows first .. first+n-1 describe the tiles, {item_offset,
 * ys, xs, iy, x_split}; a row's index is also its tile's NaN flag. */
__kernel void vxt_k_stitch_accumulate_group_rows(__global float *acc, __global const void *src, int kind,
                                               __global const float *w, long R0, long R1, long R2, long zs,
                                               long D, long P1, long P2, int mode, int f16_tile,
                                               __global uint *bad, __global const int *cover_first, long P0, int iz,
                                               int C, __global const long *gt, int first, int n, long ylo, long yspan)
{
    long r = get_global_id(0), z = get_global_id(1);
    if (r >= yspan || z >= R0)
        return;
    long pz = zs + z, py = ylo + r;
    long slot = pz < D ? pz : pz % D;
    int zfirst = cover_first[pz] == iz;
    int yfirst = cover_first[P0 + py];
    for (int c = 0; c < C; c++) {
        for (int g = first; g < first + n; g++) {
            __global const long *t = gt + 5 * g;
            long y = py - t[1];
            if (y < 0 || y >= R1)
                continue;
            long split = (zfirst && yfirst == (int)t[3]) ? t[4] : R2;
            acc_row(acc + ((c * D + slot) * P1 + py) * P2 + t[2], src, kind, t[0] + ((c * R0 + z) * R1 + y) * R2,
                    t[0], 1.0f, w + (z * R1 + y) * R2, R2, split, mode, f16_tile, bad + g);
        }
    }
}

/* Row-wise normalization of one member for CPU devices (members == 1): the weight sums of the output row are
 * gathered into the last channel's row of `out` (covering tiles in plan order, as the per-voxel kernel does),
 * then every channel is normalized by them, the last one in place. */
__kernel void vxt_k_stitch_normalize_rows(__global const float *acc, __global float *out, __global const float *w,
                                        __global const long *starts0, __global const long *starts1,
                                        __global const long *starts2, __global const int *cover_first,
                                        __global const int *cover_count, long R0, long R1, long R2, long P0, long P1,
                                        long P2, long D, long S1, long S2, long z0, long nz, long lo0, long lo1,
                                        long lo2, int C, long nstarts2, int mode)
{
    long y = get_global_id(0), z = get_global_id(1);
    if (y >= S1 || z >= nz)
        return;
    long pz = z0 + z + lo0, py = y + lo1;
    long plane = nz * S1 * S2, o = (z * S1 + y) * S2;
    __global float *sum = out + (C - 1) * plane + o;
    for (long x = 0; x < S2; x++)
        sum[x] = 0.0f;
    int fz = cover_first[pz], nz_ = cover_count[pz];
    int fy = cover_first[P0 + py], ny_ = cover_count[P0 + py];
    for (int iz = fz; iz < fz + nz_; iz++)
        for (int iy = fy; iy < fy + ny_; iy++) {
            __global const float *wrow = w + ((pz - starts0[iz]) * R1 + (py - starts1[iy])) * R2;
            for (long ix = 0; ix < nstarts2; ix++) {
                long sx = starts2[ix];
                long a = sx > lo2 ? sx : lo2, b = sx + R2 < lo2 + S2 ? sx + R2 : lo2 + S2;
                for (long px = a; px < b; px++)
                    sum[px - lo2] = vxt_stitch_add(sum[px - lo2], wrow[px - sx], mode);
            }
        }
    long slot = ((pz % D) * P1 + py) * P2 + lo2, cstride = D * P1 * P2;
    for (int c = 0; c < C; c++) {
        __global const float *a = acc + c * cstride + slot;
        __global float *d = out + c * plane + o;
        for (long x = 0; x < S2; x++)
            d[x] = vxt_stitch_normalize(a[x], sum[x], mode);
    }
}

/* A member's values NORM(c) into the ensemble in out (C channels `plane` apart at o): summed in member order and
 * divided by the member count at the last one; with `prob` (an ensemble of probabilities: 1 softmax, 2 sigmoid)
 * each member's values are activated first, the softmax in its three passes over recomputed values (the CPU
 * twin activates a stored row: the same arithmetic). */
#define VXT_ENSEMBLE_MEMBER(NORM, emode)                                                                         \
    {                                                                                                          \
        float sm_max = 0.0f, sm_sum = 0.0f;                                                                    \
        if (prob == 1) {                                                                                       \
            sm_max = NORM(0);                                                                                  \
            for (int c = 1; c < C; c++)                                                                        \
                sm_max = vxt_softmax_max_step(sm_max, NORM(c));                                                \
            for (int c = 0; c < C; c++)                                                                        \
                sm_sum = vxt_softmax_sum_step(sm_sum, NORM(c), sm_max);                                        \
        }                                                                                                      \
        for (int c = 0; c < C; c++) {                                                                          \
            float v = NORM(c);                                                                                 \
            if (prob == 1)                                                                                     \
                v = vxt_softmax_value(v, sm_max, sm_sum);                                                      \
            else if (prob == 2)                                                                                \
                v = vxt_sigmoid(v);                                                                            \
            if (member > 0)                                                                                    \
                v = vxt_ensemble_add(out[c * plane + o], v, (emode));                                          \
            if (member == members - 1 && members > 1)                                                          \
                v = vxt_ensemble_mean(v, (float)members, (emode));                                             \
            out[c * plane + o] = v;                                                                            \
        }                                                                                                      \
    }

/* Normalize member m of a slab of output voxels [z0, z0 + nz) (volume coordinates) into out (C x nz x S1 x
 * S2): first member writes, later members add, the last one divides by the member count. */
__kernel void vxt_k_stitch_normalize(__global const float *acc, __global float *out, __global const float *w,
                                   __global const long *starts0, __global const long *starts1,
                                   __global const long *starts2, __global const int *cover_first,
                                   __global const int *cover_count, long R0, long R1, long R2, long P0, long P1,
                                   long P2, long D, long S1, long S2, long z0, long nz, long lo0, long lo1,
                                   long lo2, int C, int member, int members, int mode, int prob)
{
    long x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);
    if (x >= S2 || y >= S1 || z >= nz)
        return;
    long pz = z0 + z + lo0, py = y + lo1, px = x + lo2;
    float sum = 0.0f;
    int fz = cover_first[pz], nz_ = cover_count[pz];
    int fy = cover_first[P0 + py], ny_ = cover_count[P0 + py];
    int fx = cover_first[P0 + P1 + px], nx_ = cover_count[P0 + P1 + px];
    for (int iz = fz; iz < fz + nz_; iz++) {
        long oz = (pz - starts0[iz]) * R1;
        for (int iy = fy; iy < fy + ny_; iy++) {
            long oy = (oz + py - starts1[iy]) * R2;
            for (int ix = fx; ix < fx + nx_; ix++)
                sum = vxt_stitch_add(sum, w[oy + px - starts2[ix]], mode);
        }
    }
    long plane = nz * S1 * S2, o = (z * S1 + y) * S2 + x;
    long slot = ((pz % D) * P1 + py) * P2 + px, cstride = D * P1 * P2;
#define VXT_NORM_F(c) vxt_stitch_normalize(acc[(c) * cstride + slot], sum, mode)
    VXT_ENSEMBLE_MEMBER(VXT_NORM_F, mode)
#undef VXT_NORM_F
}

#ifdef VXT_FP64
__kernel void vxt_k_stitch_accumulate_f64(__global double *acc, __global const void *src, int kind, long item_offset,
                                        float nflips, __global const float *w, long R0, long R1, long R2, long zs,
                                        long ys, long xs, long D, long P1, long P2, int f16_tile, __global uint *bad,
                                        int bad_index, __global const int *cover_first, long P0, int iz, int iy,
                                        int ix, int C)
{
    long x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);
    if (x >= R2 || y >= R1)
        return;
    long pz = zs + z;
    long slot = pz < D ? pz : pz % D;
    int first = cover_first[pz] == iz && cover_first[P0 + ys + y] == iy && cover_first[P0 + P1 + xs + x] == ix;
    float wv = w[(z * R1 + y) * R2 + x];
    long plane_t = R0 * R1 * R2, plane_a = D * P1 * P2;
    long i = (z * R1 + y) * R2 + x;
    long a = (slot * P1 + ys + y) * P2 + xs + x;
    for (int c = 0; c < C; c++, i += plane_t, a += plane_a) {
        float p = load_src(src, kind, item_offset + i, nflips, f16_tile);
        if (kind != SRC_MIRROR && !vxt_isfinite(p))
            atomic_min(bad + bad_index, (uint)i);
        acc[a] = vxt_stitch_add_f64(first ? 0.0 : acc[a], p, wv);
    }
}

__kernel void vxt_k_stitch_normalize_f64(__global const double *acc, __global float *out, __global const float *w,
                                       __global const long *starts0, __global const long *starts1,
                                       __global const long *starts2, __global const int *cover_first,
                                       __global const int *cover_count, long R0, long R1, long R2, long P0,
                                       long P1, long P2, long D, long S1, long S2, long z0, long nz, long lo0,
                                       long lo1, long lo2, int C, int member, int members, int prob)
{
    long x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);
    if (x >= S2 || y >= S1 || z >= nz)
        return;
    long pz = z0 + z + lo0, py = y + lo1, px = x + lo2;
    double sum = 0.0;
    int fz = cover_first[pz], nz_ = cover_count[pz];
    int fy = cover_first[P0 + py], ny_ = cover_count[P0 + py];
    int fx = cover_first[P0 + P1 + px], nx_ = cover_count[P0 + P1 + px];
    for (int iz = fz; iz < fz + nz_; iz++) {
        long oz = (pz - starts0[iz]) * R1;
        for (int iy = fy; iy < fy + ny_; iy++) {
            long oy = (oz + py - starts1[iy]) * R2;
            for (int ix = fx; ix < fx + nx_; ix++)
                sum = sum + (double)w[oy + px - starts2[ix]];
        }
    }
    long plane = nz * S1 * S2, o = (z * S1 + y) * S2 + x;
    long slot = ((pz % D) * P1 + py) * P2 + px, cstride = D * P1 * P2;
#define VXT_NORM_D(c) vxt_stitch_normalize_f64(acc[(c) * cstride + slot], sum)
    VXT_ENSEMBLE_MEMBER(VXT_NORM_D, VXT_ACC_F32)
#undef VXT_NORM_D
}
#endif

/* Activation over channels (when not done per member) and labels by the label rule (vxt_labels.h) for a slab of
 * n voxels. */
__kernel void vxt_k_stitch_activate(__global float *out, long n, int C, int activation, __global void *labels,
                                    int want_labels, int label_u16, int rule, float threshold,
                                    __global const int *region_labels)
{
    long i = get_global_id(0);
    if (i >= n)
        return;
    if (activation == 1)
        vxt_softmax_strided(out + i, n, C);
    else if (activation == 2)
        vxt_sigmoid_strided(out + i, n, C);
    if (want_labels) {
        int l = vxt_label_strided(out + i, n, C, rule, threshold, region_labels);
        if (label_u16)
            ((__global ushort *)labels)[i] = (ushort)l;
        else
            ((__global uchar *)labels)[i] = (uchar)l;
    }
}
