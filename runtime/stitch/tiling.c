/* plan.c - the tile planner: where tiles start along each axis under the MONAI, nnU-Net and TorchIO grid
 * policies, padding of volumes smaller than the ROI, and tile enumeration in plan order (z outermost).
 *
 * A plan stores the start positions per axis only; the tiles are their Cartesian product, so a 1024^3 volume
 * with a small ROI plans in O(size) memory. All arithmetic is 64-bit; the formulas follow the tools' sources
 * (docs/STITCHING.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct vxt_tiling {
    vxt_tiling_info info;
    int64_t *starts[3];
    int64_t count[3];
};

static const char *axis_name[3] = {"z", "y", "x"};

void vxt_tiling_options_init(vxt_tiling_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->grid = VXT_GRID_MONAI;
    for (int a = 0; a < 3; a++) {
        o->overlap[a] = 0.5;
        o->step[a] = 0.5;
    }
    o->pad = VXT_PAD_CONSTANT;
}

/* MONAI _get_scan_interval + dense_patch_slices, on the padded size S >= R. */
static int64_t monai_starts(int64_t S, int64_t R, double overlap, int64_t *out)
{
    int64_t interval;
    if (R == S) {
        interval = R;
    } else {
        interval = (int64_t)((double)R * (1.0 - overlap)); /* truncation, as Python's int() */
        if (interval < 1)
            interval = 1;
    }
    /* n = 1 + min{d : d*interval + R >= S} */
    int64_t d = (S - R + interval - 1) / interval;
    if (d < 0)
        d = 0;
    int64_t n = d + 1;
    if (out)
        for (int64_t i = 0; i < n; i++) {
            int64_t s = i * interval;
            if (s + R > S)
                s = S - R;
            out[i] = s;
        }
    return n;
}

/* Round half to even, as numpy.round. */
static double round_half_even(double x)
{
    double f = floor(x);
    double diff = x - f;
    if (diff > 0.5)
        return f + 1.0;
    if (diff < 0.5)
        return f;
    return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

/* nnU-Net compute_steps_for_sliding_window on the padded size S >= R; -1 when the count exceeds 2^40 (a
 * step far below one voxel: nnU-Net repeats starts then, and the list would not fit in memory anyway). */
static int64_t nnunet_starts(int64_t S, int64_t R, double step, int64_t *out)
{
    double target = (double)R * step;
    double steps = ceil((double)(S - R) / target);
    if (!(steps < 1099511627776.0)) /* 2^40; also catches inf and NaN */
        return -1;
    int64_t n = (int64_t)steps + 1;
    if (out) {
        if (n > 1) {
            double actual = (double)(S - R) / (double)(n - 1);
            for (int64_t i = 0; i < n; i++)
                out[i] = (int64_t)round_half_even(actual * (double)i);
        } else {
            out[0] = 0;
        }
    }
    return n;
}

/* TorchIO GridSampler._get_patches_locations on S >= R. */
static int64_t voxel_starts(int64_t S, int64_t R, int64_t overlap, int64_t *out)
{
    int64_t step = R - overlap;
    int64_t end = S + 1 - R; /* range(0, end, step) */
    int64_t n = (end + step - 1) / step;
    int64_t last = (n - 1) * step;
    int extra = last != S - R;
    if (out) {
        for (int64_t i = 0; i < n; i++)
            out[i] = i * step;
        if (extra)
            out[n] = S - R;
    }
    return n + extra;
}

vxt_status vxt_tiling_create(const vxt_tiling_options *opts, vxt_tiling **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, opts);
    vxt_status st = vxt__check_struct_size(NULL, __func__, "vxt_tiling_options", opts, opts->struct_size,
                                           sizeof(vxt_tiling_options), sizeof(vxt_tiling_options));
    if (st != VXT_OK)
        return st;
    const vxt_tiling_options *o = opts;
    if (o->grid != VXT_GRID_MONAI && o->grid != VXT_GRID_NNUNET && o->grid != VXT_GRID_VOXELS)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: unknown grid policy %d", (int)o->grid);
    if (o->pad != VXT_PAD_CONSTANT && o->pad != VXT_PAD_REPLICATE && o->pad != VXT_PAD_REFLECT &&
        o->pad != VXT_PAD_DISABLED)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: unknown pad mode %d", (int)o->pad);
    if (!isfinite(o->pad_value))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: pad_value is not finite");
    /* sizes kept below 2^40 per axis so that every product below stays far from overflow per axis */
    const int64_t max_axis = (int64_t)1 << 40;
    for (int a = 0; a < 3; a++) {
        if (o->shape[a] < 1 || o->shape[a] > max_axis)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: shape[%d] (%s) is %lld (must be in "
                             "[1, 2^40])", a, axis_name[a], (long long)o->shape[a]);
        if (o->roi[a] < 1 || o->roi[a] > max_axis)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: roi[%d] (%s) is %lld (must be in "
                             "[1, 2^40])", a, axis_name[a], (long long)o->roi[a]);
        if (o->roi[a] > o->shape[a] && o->pad == VXT_PAD_DISABLED)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: roi[%d] (%s) = %lld is larger than "
                             "the volume (%lld) and padding is disabled",
                             a, axis_name[a], (long long)o->roi[a], (long long)o->shape[a]);
        switch (o->grid) {
        case VXT_GRID_MONAI:
            if (!(o->overlap[a] >= 0.0 && o->overlap[a] < 1.0))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: overlap[%d] (%s) is %g (must be "
                                 "in [0, 1))", a, axis_name[a], o->overlap[a]);
            break;
        case VXT_GRID_NNUNET:
            if (!(o->step[a] > 0.0 && o->step[a] <= 1.0))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: step[%d] (%s) is %g (must be in "
                                 "(0, 1])", a, axis_name[a], o->step[a]);
            break;
        default:
            if (o->overlap_voxels[a] < 0 || o->overlap_voxels[a] >= o->roi[a])
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_create: overlap_voxels[%d] (%s) is %lld "
                                 "(must be in [0, roi = %lld))", a, axis_name[a], (long long)o->overlap_voxels[a],
                                 (long long)o->roi[a]);
            break;
        }
    }

    vxt_tiling *p = calloc(1, sizeof *p);
    if (!p)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_tiling_create: out of memory");
    vxt_tiling_info *in = &p->info;
    in->struct_size = sizeof *in;
    in->grid = o->grid;
    in->pad = o->pad;
    in->pad_value = o->pad_value;
    uint64_t total = 1;
    for (int a = 0; a < 3; a++) {
        int64_t S = o->shape[a], R = o->roi[a];
        in->shape[a] = S;
        in->roi[a] = R;
        int64_t d = R > S ? R - S : 0;
        in->pad_lo[a] = d / 2;
        in->pad_hi[a] = d - d / 2;
        int64_t Sp = S + d;
        in->padded_shape[a] = Sp;
        int64_t n;
        switch (o->grid) {
        case VXT_GRID_MONAI:
            n = monai_starts(Sp, R, o->overlap[a], NULL);
            break;
        case VXT_GRID_NNUNET:
            n = nnunet_starts(Sp, R, o->step[a], NULL);
            if (n < 0) {
                vxt_tiling_destroy(p);
                return vxt__fail(NULL, VXT_ERR_OVERFLOW, "vxt_tiling_create: step[%d] (%s) = %g gives more than 2^40 "
                                 "tiles along that axis", a, axis_name[a], o->step[a]);
            }
            break;
        default:
            n = voxel_starts(Sp, R, o->overlap_voxels[a], NULL);
            break;
        }
        p->count[a] = n;
        in->tiles_per_axis[a] = n;
        if (__builtin_mul_overflow(total, (uint64_t)n, &total)) {
            vxt_tiling_destroy(p);
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "vxt_tiling_create: the tile count overflows 64 bits (axis %d "
                             "alone has %lld tiles)", a, (long long)n);
        }
    }
    for (int a = 0; a < 3; a++) {
        int64_t Sp = in->padded_shape[a], R = in->roi[a];
        p->starts[a] = malloc((size_t)p->count[a] * sizeof(int64_t));
        if (!p->starts[a]) {
            vxt_tiling_destroy(p);
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_tiling_create: out of memory for %lld starts",
                             (long long)p->count[a]);
        }
        switch (o->grid) {
        case VXT_GRID_MONAI:
            monai_starts(Sp, R, o->overlap[a], p->starts[a]);
            break;
        case VXT_GRID_NNUNET:
            nnunet_starts(Sp, R, o->step[a], p->starts[a]);
            break;
        default:
            voxel_starts(Sp, R, o->overlap_voxels[a], p->starts[a]);
            break;
        }
    }
    int64_t vox;
    if (__builtin_mul_overflow(in->padded_shape[0], in->padded_shape[1], &vox) ||
        __builtin_mul_overflow(vox, in->padded_shape[2], &vox)) {
        vxt_tiling_destroy(p);
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "vxt_tiling_create: the padded volume's voxel count overflows 64 bits");
    }
    in->tile_count = total;
    *out = p;
    return VXT_OK;
}

void vxt_tiling_destroy(vxt_tiling *p)
{
    if (!p)
        return;
    for (int a = 0; a < 3; a++)
        free(p->starts[a]);
    free(p);
}

vxt_status vxt_tiling_get_info(const vxt_tiling *plan, vxt_tiling_info *info)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_tiling_info", info->struct_size, sizeof(vxt_tiling_info));
    if (st != VXT_OK)
        return st;
    vxt__copy_out_struct(info, &plan->info, info->struct_size, sizeof plan->info);
    return VXT_OK;
}

vxt_status vxt_tiling_get_tile(const vxt_tiling *plan, uint64_t index, vxt_tile *tile)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, tile);
    if (index >= plan->info.tile_count)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_get_tile: index %llu out of range (%llu tiles)",
                         (unsigned long long)index, (unsigned long long)plan->info.tile_count);
    vxt__tiling_tile(plan, index, tile);
    return VXT_OK;
}

void vxt__tiling_tile(const vxt_tiling *plan, uint64_t index, vxt_tile *tile)
{
    tile->index = index;
    uint64_t rest = index;
    for (int a = 2; a >= 0; a--) {
        uint64_t n = (uint64_t)plan->count[a];
        uint64_t i = rest % n;
        rest /= n;
        tile->grid_index[a] = (int64_t)i;
        tile->start[a] = plan->starts[a][i];
    }
}

vxt_status vxt_tiling_axis_starts(const vxt_tiling *plan, int axis, const int64_t **starts, int64_t *count)
{
    VXT_CHECK_NULL(NULL, plan);
    VXT_CHECK_NULL(NULL, starts);
    VXT_CHECK_NULL(NULL, count);
    if (axis < 0 || axis > 2)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_tiling_axis_starts: axis %d (must be 0, 1 or 2)", axis);
    *starts = plan->starts[axis];
    *count = plan->count[axis];
    return VXT_OK;
}

const vxt_tiling_info *vxt__tiling_info(const vxt_tiling *plan)
{
    return &plan->info;
}
