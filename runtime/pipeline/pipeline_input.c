/* pipeline_input.c - the input side of a run, from the image to the model's input on the model's grid:
 *
 *   orient      the plan's orientation and axis order, exactly (voxels moved, never interpolated)   stored type
 *   rescale     stored values to intensity units with the image's scaling, then the plan's          float32
 *               replacement (normalization.replace: a value, or the reader's padding value)
 *   normalize   the plan's scheme per channel (here when the plan normalizes first, as nnU-Net does)
 *   resample    to the model's spacing: nnU-Net's shape rule, trilinear or its anisotropic variant
 *   normalize   (here otherwise)
 *
 * Each buffer is released as soon as the next stage has its output, so at most two copies of the input exist at
 * once (docs/PIPELINE.md, "Memory"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"

/* World axis (0 = R/L, 1 = A/P, 2 = S/I) and sign of an orientation letter; -1 for '?'. */
static int letter_axis(char c, int *sign)
{
    static const char pos[] = "RAS", neg[] = "LPI";
    for (int a = 0; a < 3; a++) {
        if (c == pos[a] || c == neg[a]) {
            *sign = c == pos[a] ? 1 : -1;
            return a;
        }
    }
    return -1;
}

/* The permutation from the input's volume axes to the model's: the plan's orientation (NIfTI axis codes of
 * i, j, k), then its transpose (model axis n = oriented axis transpose[n]). */
static vxt_status model_axes(vxt__run *r)
{
    int vperm[3] = {0, 1, 2}, vflip[3] = {0, 0, 0};
    const char *want = r->plan->orientation, *have = r->info.orientation;
    if (want[0]) {
        int nperm[3], nflip[3]; /* NIfTI order: new axis b is old axis nperm[b] */
        for (int b = 0; b < 3; b++) {
            int ws = 0, wa = letter_axis(want[b], &ws);
            nperm[b] = -1;
            for (int a = 0; a < 3; a++) {
                int hs = 0;
                if (letter_axis(have[a], &hs) == wa) {
                    nperm[b] = a;
                    nflip[b] = hs != ws;
                }
            }
            if (nperm[b] < 0) {
                r->failed_stage = VXT_STAGE_ORIENT;
                return vxt__fail(r->ctx, VXT_ERR_INVALID_ARGUMENT, "orient: the image's axes are \"%s\" (an axis "
                                 "without a direction: its affine column is 0), so it cannot be brought to \"%s\"",
                                 have, want);
            }
        }
        for (int n = 0; n < 3; n++) { /* volume axis n is NIfTI axis 2 - n */
            vperm[n] = 2 - nperm[2 - n];
            vflip[n] = nflip[2 - n];
        }
    }
    for (int n = 0; n < 3; n++) {
        r->perm[n] = vperm[r->plan->transpose[n]];
        r->flip[n] = vflip[r->plan->transpose[n]];
        r->oriented |= r->perm[n] != n || r->flip[n];
    }
    for (int n = 0; n < 3; n++) {
        r->or_shape[n] = r->in_shape[r->perm[n]];
        r->or_spacing[n] = r->info.spacing[r->perm[n]];
    }
    return VXT_OK;
}

static vxt_status orient(vxt__run *r, const vxt_volume *raw, void **copy, vxt_volume *oriented)
{
    *oriented = *raw;
    if (!r->oriented)
        return VXT_OK;
    size_t bytes = 0;
    vxt_status st = vxt_volume_bytes(raw, &bytes);
    if (st != VXT_OK)
        return vxt__run_fail(r, VXT_STAGE_ORIENT, st);
    if (!(*copy = malloc(bytes))) {
        r->failed_stage = VXT_STAGE_ORIENT;
        return vxt__fail(r->ctx, VXT_ERR_OUT_OF_MEMORY, "orient: out of memory for %zu MiB", bytes >> 20);
    }
    vxt__volume_move_pool(r->ctx->pool, raw->data, *copy, vxt_dtype_size(raw->dtype), raw->channels, raw->shape, r->perm,
                          r->flip, 0, r->or_shape[0], 1);
    oriented->data = *copy;
    memcpy(oriented->shape, r->or_shape, sizeof oriented->shape);
    return vxt__run_stage_done(r, VXT_STAGE_ORIENT, -1, oriented);
}

static vxt_status normalize(vxt__run *r, vxt_volume *v)
{
    const size_t n = (size_t)(v->shape[0] * v->shape[1] * v->shape[2]);
    for (int64_t c = 0; c < v->channels; c++) {
        vxt_volume ch = *v;
        ch.data = (float *)v->data + (size_t)c * n;
        ch.channels = 1;
        vxt_status st = vxt_plan_normalize(r->ctx, r->plan, &ch, NULL, NULL);
        vxt_context *cpu = vxt__run_can_fall_back(r, st) ? vxt__run_fall_back(r, VXT_STAGE_NORMALIZE) : NULL;
        if (cpu)
            st = vxt_plan_normalize(cpu, r->plan, &ch, NULL, NULL);
        if (st != VXT_OK)
            return vxt__run_fail(r, VXT_STAGE_NORMALIZE, st);
    }
    return vxt__run_stage_done(r, VXT_STAGE_NORMALIZE, -1, v);
}

/* The model's grid and the resampling options to it. */
static vxt_status model_grid(vxt__run *r, vxt_resample_options *ro)
{
    const vxt_plan *p = r->plan;
    vxt_resample_options_init(ro);
    memcpy(r->model_shape, r->or_shape, sizeof r->model_shape);
    memcpy(r->model_spacing, r->or_spacing, sizeof r->model_spacing);
    if (!p->has_spacing)
        return VXT_OK;
    /* a 2D model's spacing (z = 0) keeps the input's spacing between slices, as nnU-Net's 2d configurations do */
    const double target[3] = {p->spacing[0] > 0 ? p->spacing[0] : r->or_spacing[0], p->spacing[1], p->spacing[2]};
    vxt_status st = vxt_resample_shape_spacing(r->or_shape, r->or_spacing, target, r->model_shape);
    if (st == VXT_OK && p->anisotropy == VXT_ANISOTROPY_NNUNET) {
        /* nnU-Net's choice of axes, with its spline order: 3 (cubic, clipped) or 1 (linear) */
        st = vxt_resample_options_nnunet_order(r->or_spacing, target, p->interp == VXT_INTERP_CUBIC ? 3 : 1, ro);
    } else if (st == VXT_OK && p->interp == VXT_INTERP_CUBIC) { /* skimage resize(order=3, mode='edge') */
        for (int a = 0; a < 3; a++)
            ro->interp[a] = VXT_INTERP_CUBIC;
        ro->clip = VXT_CLIP_INPUT_RANGE;
    }
    if (st != VXT_OK)
        return vxt__run_fail(r, VXT_STAGE_RESAMPLE, st);
    memcpy(r->model_spacing, target, sizeof r->model_spacing);
    r->resampled = memcmp(r->model_shape, r->or_shape, sizeof r->or_shape) != 0;
    return VXT_OK;
}

static float *alloc_floats(vxt__run *r, vxt_stage stage, int64_t channels, const int64_t shape[3])
{
    size_t n = 0;
    vxt_volume v = {(void *)1, VXT_DTYPE_F32, channels, {shape[0], shape[1], shape[2]}};
    if (vxt_volume_bytes(&v, &n) != VXT_OK) {
        vxt__run_fail(r, stage, VXT_ERR_OVERFLOW);
        return NULL;
    }
    float *p = malloc(n);
    if (!p) {
        r->failed_stage = (int)stage;
        vxt__fail(r->ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu MiB", vxt_stage_name(stage), n >> 20);
    }
    return p;
}

vxt_status vxt__run_grids(vxt__run *r, vxt_resample_options *ro)
{
    memcpy(r->in_shape, r->info.shape, sizeof r->in_shape);
    vxt_status st = model_axes(r);
    return st == VXT_OK ? model_grid(r, ro) : st;
}

vxt_status vxt__run_input(vxt__run *r)
{
    vxt_volume raw, src;
    vxt_status st = vxt_image_volume(r->image, &raw);
    if (st != VXT_OK)
        return st;
    void *copy = NULL;
    vxt_resample_options ro;
    if ((st = vxt__run_grids(r, &ro)) != VXT_OK || (st = orient(r, &raw, &copy, &src)) != VXT_OK) {
        free(copy);
        return st;
    }
    /* rescale: stored values to intensity units (none when reading applied the scaling already), then the plan's
     * replacement (normalization.replace) */
    float *cur = alloc_floats(r, VXT_STAGE_RESCALE, r->cin, r->or_shape);
    vxt_volume vol = {cur, VXT_DTYPE_F32, r->cin, {r->or_shape[0], r->or_shape[1], r->or_shape[2]}};
    st = cur ? vxt_plan_rescale(r->ctx, r->plan, r->image, &src, &vol) : VXT_ERR_OUT_OF_MEMORY;
    vxt_context *cpu = cur && vxt__run_can_fall_back(r, st) ? vxt__run_fall_back(r, VXT_STAGE_RESCALE) : NULL;
    if (cpu)
        st = vxt_plan_rescale(cpu, r->plan, r->image, &src, &vol);
    free(copy);
    if (st != VXT_OK) {
        free(cur);
        return cur ? vxt__run_fail(r, VXT_STAGE_RESCALE, st) : st;
    }
    if ((st = vxt__run_stage_done(r, VXT_STAGE_RESCALE, -1, &vol)) == VXT_OK && r->plan->normalize_first)
        st = normalize(r, &vol);
    if (st == VXT_OK && r->resampled) {
        float *next = alloc_floats(r, VXT_STAGE_RESAMPLE, r->cin, r->model_shape);
        vxt_volume nv = {next, VXT_DTYPE_F32, r->cin, {r->model_shape[0], r->model_shape[1], r->model_shape[2]}};
        st = next ? vxt_resample(r->ctx, &vol, &nv, &ro) : VXT_ERR_OUT_OF_MEMORY;
        cpu = next && vxt__run_can_fall_back(r, st) ? vxt__run_fall_back(r, VXT_STAGE_RESAMPLE) : NULL;
        if (cpu)
            st = vxt_resample(cpu, &vol, &nv, &ro);
        free(cur);
        cur = next;
        vol = nv;
        if (st != VXT_OK && next)
            st = vxt__run_fail(r, VXT_STAGE_RESAMPLE, st);
        if (st == VXT_OK)
            st = vxt__run_stage_done(r, VXT_STAGE_RESAMPLE, -1, &vol);
    }
    if (st == VXT_OK && !r->plan->normalize_first)
        st = normalize(r, &vol);
    if (st != VXT_OK) {
        free(cur);
        return st;
    }
    r->model_input = cur;
    return VXT_OK;
}
