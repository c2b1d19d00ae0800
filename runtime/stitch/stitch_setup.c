/* stitch_setup.c - stitching options and their checks, the tables both backends use (importance weights,
 * covering tiles per coordinate), call enumeration, and the depth of the accumulator ring. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_stitch.h"

void vxt_stitch_options_init(vxt_stitch_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->tile_dtype = VXT_DTYPE_F32;
    o->importance = VXT_IMPORTANCE_GAUSSIAN;
    o->sigma_scale[0] = o->sigma_scale[1] = o->sigma_scale[2] = 0.125;
    o->accumulate = VXT_ACCUMULATE_FLOAT32;
    o->batch_size = 1;
    o->members = 1;
    o->activation = VXT_ACTIVATION_NONE;
    o->label_dtype = VXT_DTYPE_U8;
    o->max_outstanding = 4;
    o->ensemble = VXT_ENSEMBLE_LOGITS;
    o->label_rule = VXT_LABELS_ARGMAX;
    o->label_threshold = 0.5;
}

void vxt_stitch_output_init(vxt_stitch_output *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

/* nnU-Net's mirroring order: every non-empty combination of the allowed axes, by size, then
 * lexicographically (itertools.combinations), after the identity. */
static int flip_list(unsigned axes, unsigned *flips)
{
    int list[3], n = 0;
    for (int a = 0; a < 3; a++)
        if (axes & (1u << a))
            list[n++] = a;
    int k = 0;
    flips[k++] = 0;
    for (int size = 1; size <= n; size++) {
        if (size == 1)
            for (int i = 0; i < n; i++)
                flips[k++] = 1u << list[i];
        else if (size == 2)
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                    flips[k++] = (1u << list[i]) | (1u << list[j]);
        else
            flips[k++] = 7u;
    }
    return k;
}

static vxt_status check_volume(vxt_context *ctx, const char *what, const vxt_volume *v, vxt_dtype dtype,
                               int64_t channels, const int64_t shape[3])
{
    vxt_status st = vxt__volume_check(ctx, "vxt_stitch", what, v, NULL);
    if (st != VXT_OK)
        return st;
    if (v->dtype != dtype)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "vxt_stitch: %s has dtype %s, expected %s", what,
                         vxt_dtype_name(v->dtype), vxt_dtype_name(dtype));
    if (channels > 0 && v->channels != channels)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "vxt_stitch: %s has %lld channels, expected %lld", what,
                         (long long)v->channels, (long long)channels);
    for (int a = 0; a < 3; a++)
        if (v->shape[a] != shape[a])
            return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "vxt_stitch: %s has shape %lldx%lldx%lld, the plan's volume "
                             "is %lldx%lldx%lld", what, (long long)v->shape[0], (long long)v->shape[1],
                             (long long)v->shape[2], (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    return VXT_OK;
}

static vxt_status check_options(vxt_context *ctx, const vxt_stitch_options *o, const vxt_stitch_output *out)
{
    const char *f = "vxt_stitch";
    if (o->out_channels < 1 || o->out_channels > 65535)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: out_channels is %lld (must be in [1, 65535])", f,
                         (long long)o->out_channels);
    if (o->tile_dtype != VXT_DTYPE_F32 && o->tile_dtype != VXT_DTYPE_F16)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: tile_dtype %s is not supported (float32 or float16)", f,
                         vxt_dtype_name(o->tile_dtype));
    if ((unsigned)o->importance >= VXT_IMPORTANCE_COUNT_)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown importance map %d", f, (int)o->importance);
    if (o->importance == VXT_IMPORTANCE_CROP && (o->flags & VXT_STITCH_DEVICE_PREDICTOR))
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "%s: crop blending takes the predictor's outputs in host memory "
                         "(not VXT_STITCH_DEVICE_PREDICTOR)", f);
    if (o->importance == VXT_IMPORTANCE_USER && !o->user_map)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: importance is VXT_IMPORTANCE_USER but user_map is NULL", f);
    for (int a = 0; a < 3; a++)
        if (!(o->sigma_scale[a] > 0.0) || !isfinite(o->sigma_scale[a]))
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: sigma_scale[%d] is %g (must be finite and > 0)", f, a,
                             o->sigma_scale[a]);
    if ((unsigned)o->accumulate > VXT_ACCUMULATE_FLOAT64)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown accumulate mode %d", f, (int)o->accumulate);
    if (o->batch_size < 1 || o->batch_size > (1 << 20))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: batch_size is %d (must be in [1, 2^20])", f, o->batch_size);
    if (o->mirror_axes > 7u)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: mirror_axes 0x%x names an axis beyond the 3 spatial axes",
                         f, o->mirror_axes);
    if (o->members < 1 || o->members > 1024)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: members is %d (must be in [1, 1024])", f, o->members);
    if ((unsigned)o->activation > VXT_ACTIVATION_SIGMOID)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown activation %d", f, (int)o->activation);
    if (o->label_dtype != VXT_DTYPE_U8 && o->label_dtype != VXT_DTYPE_U16)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: label_dtype %s is not supported (uint8 or uint16)", f,
                         vxt_dtype_name(o->label_dtype));
    if (o->max_outstanding < 1 || o->max_outstanding > 1024)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: max_outstanding is %d (must be in [1, 1024])", f,
                         o->max_outstanding);
    if (o->flags & ~(VXT_STITCH_DEVICE_PREDICTOR | VXT_STITCH_CHECK_FINITE_OFF))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", f, o->flags);
    if ((o->flags & VXT_STITCH_DEVICE_PREDICTOR) && ctx->backend != VXT_BACKEND_OPENCL)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: VXT_STITCH_DEVICE_PREDICTOR needs an OpenCL context; this "
                         "one uses the CPU backend", f);
    if (o->accumulate == VXT_ACCUMULATE_FLOAT64 && ctx->backend == VXT_BACKEND_OPENCL) {
        cl_device_fp_config fp64 = 0;
        clGetDeviceInfo(ctx->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
        if (!fp64)
            return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "%s: float64 accumulation needs fp64, which '%s' lacks", f,
                             ctx->info.device_name);
    }
    int want_labels = out->sink ? out->want_labels : out->labels != NULL;
    int want_values = out->sink ? out->want_values : out->values != NULL;
    if (!want_labels && !want_values)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: the output asks for neither values nor labels", f);
    if (out->sink && (out->values || out->labels))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: give either a sink or output volumes, not both", f);
    if ((unsigned)o->ensemble > VXT_ENSEMBLE_PROBABILITIES)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown ensemble average %d", f, (int)o->ensemble);
    return vxt__check_label_rule(ctx, f, o->label_rule, o->label_threshold, o->region_labels, o->out_channels,
                                 want_labels ? o->label_dtype : VXT_DTYPE_U16);
}

/* Everything about a case that takes no allocation: the options checked, the sizes, the ring depth and the
 * backend's operations. `input` may be NULL: then `cin` gives its channels (0: precomputed tiles). */
static vxt_status setup(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts, int64_t cin,
                        const vxt_volume *input, const vxt_stitch_output *output, int nslots, vxt__stitch *s)
{
    vxt_stitch_options o;
    vxt_stitch_options_init(&o);
    /* the 0.1 layout ends before `ensemble`: its callers get the later fields' defaults */
    vxt_status st = vxt__check_struct_size(ctx, "vxt_stitch", "vxt_stitch_options", opts, opts->struct_size,
                                           offsetof(vxt_stitch_options, ensemble), sizeof(vxt_stitch_options));
    if (st != VXT_OK)
        return st;
    memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
    o.struct_size = sizeof o;
    vxt_stitch_output ou;
    vxt_stitch_output_init(&ou);
    st = vxt__check_struct_size(ctx, "vxt_stitch", "vxt_stitch_output", output, output->struct_size,
                                sizeof(vxt_stitch_output), sizeof(vxt_stitch_output));
    if (st != VXT_OK)
        return st;
    memcpy(&ou, output, sizeof ou);
    if ((st = check_options(ctx, &o, &ou)) != VXT_OK)
        return st;
    const vxt_tiling_info *pi = vxt__tiling_info(plan);
    if (input && (st = check_volume(ctx, "input", input, VXT_DTYPE_F32, 0, pi->shape)) != VXT_OK)
        return st;
    if (!input && cin == 0 && (o.flags & VXT_STITCH_DEVICE_PREDICTOR))
        return vxt__fail(ctx, VXT_ERR_NULL, "vxt_stitch: the device predictor form needs an input volume");
    if (ou.values && (st = check_volume(ctx, "output values", ou.values, VXT_DTYPE_F32, o.out_channels, pi->shape)) !=
                         VXT_OK)
        return st;
    if (ou.labels && (st = check_volume(ctx, "output labels", ou.labels, o.label_dtype, 1, pi->shape)) != VXT_OK)
        return st;

    s->ctx = ctx;
    s->plan = plan;
    s->pi = *pi;
    s->opt = o;
    if (input)
        s->input = *input;
    s->output = ou;
    if (ou.values)
        s->out_values = *ou.values;
    if (ou.labels)
        s->out_labels = *ou.labels;
    s->sink_mode = ou.sink != NULL;
    if (s->sink_mode) {
        s->output.want_values = ou.want_values != 0;
        s->output.want_labels = ou.want_labels != 0;
    } else {
        s->output.want_values = ou.values != NULL;
        s->output.want_labels = ou.labels != NULL;
    }
    s->C = o.out_channels;
    s->threshold = (float)o.label_threshold;
    s->Cin = input ? input->channels : cin; /* no input: precomputed tiles */
    for (int a = 0; a < 3; a++) {
        s->R[a] = pi->roi[a];
        s->P[a] = pi->padded_shape[a];
        s->S[a] = pi->shape[a];
        s->lo[a] = pi->pad_lo[a];
        vxt_tiling_axis_starts(plan, a, &s->starts[a], &s->nstarts[a]);
    }
    s->roi_vox = (size_t)s->R[0] * (size_t)s->R[1] * (size_t)s->R[2];
    s->mode = o.accumulate == VXT_ACCUMULATE_FLOAT16 ? VXT_ACC_F16
              : o.accumulate == VXT_ACCUMULATE_FLOAT64 ? VXT_ACC_F64
                                                       : VXT_ACC_F32;
    s->f16_tile = o.tile_dtype == VXT_DTYPE_F16;
    s->tile_es = vxt_dtype_size(o.tile_dtype);
    s->M = o.members;
    s->prob_ensemble = o.ensemble == VXT_ENSEMBLE_PROBABILITIES && s->M > 1 && o.activation != VXT_ACTIVATION_NONE;
    s->F = flip_list(o.mirror_axes, s->flips);
    s->T = pi->tile_count;
    s->B = (uint64_t)o.batch_size;
    s->nbatches = s->T / s->B + (s->T % s->B != 0);
    s->tiles_per_row = s->nstarts[1] * s->nstarts[2];
    s->nslots = nslots;

    /* sizes that must not overflow: tile buffers and the accumulator */
    size_t bytes;
    if (!vxt__mul_size(s->roi_vox, (size_t)s->C, &s->tile_out_elems) ||
        !vxt__mul_size(s->roi_vox, (size_t)s->Cin, &s->tile_in_elems) ||
        !vxt__mul_size(s->tile_out_elems, (size_t)s->B * 8u, &bytes) ||
        !vxt__mul_size(s->tile_in_elems, (size_t)s->B * 8u, &bytes) ||
        __builtin_mul_overflow(s->nbatches, (uint64_t)(s->M * s->F), &s->ncalls)) {
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "vxt_stitch: tile buffers of %lld x %lld channels x %zu voxels "
                         "overflow", (long long)s->B, (long long)(s->C > s->Cin ? s->C : s->Cin), s->roi_vox);
    }
    s->total_tiles = s->T * (uint64_t)(s->M * s->F);
    /* tile grid indices and per-coordinate cover tables are 32-bit (int, cl_int) */
    for (int a = 0; a < 3; a++)
        if (s->nstarts[a] > INT32_MAX || s->P[a] > INT32_MAX)
            return vxt__fail(ctx, VXT_ERR_OVERFLOW, "vxt_stitch: axis %d has %lld tile starts over %lld voxels; the "
                             "engine indexes them in 32 bits (at most 2^31 - 1 each)",
                             a, (long long)s->nstarts[a], (long long)s->P[a]);

    /* ring depth: everything for buffer volumes (finalized once at the end), else what a batch can span */
    if (!s->sink_mode) {
        s->D = s->P[0];
    } else {
        int64_t rows = (int64_t)((s->B - 1) / (uint64_t)s->tiles_per_row) + 2;
        int64_t span = 0;
        for (int64_t r = 0; r < s->nstarts[0]; r++) {
            int64_t last = r + rows - 1 < s->nstarts[0] - 1 ? r + rows - 1 : s->nstarts[0] - 1;
            if (s->starts[0][last] - s->starts[0][r] > span)
                span = s->starts[0][last] - s->starts[0][r];
        }
        s->D = s->R[0] + span < s->P[0] ? s->R[0] + span : s->P[0];
    }
    size_t acc_elems;
    if (!vxt__mul_size((size_t)s->C, (size_t)s->D, &acc_elems) || !vxt__mul_size(acc_elems, (size_t)s->P[1], &acc_elems) ||
        !vxt__mul_size(acc_elems, (size_t)s->P[2], &acc_elems) || !vxt__mul_size(acc_elems, (size_t)s->M * 8u, &bytes))
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "vxt_stitch: the accumulator (%lld members x %lld channels x %lld x "
                         "%lld x %lld) overflows", (long long)s->M, (long long)s->C, (long long)s->D,
                         (long long)s->P[1], (long long)s->P[2]);
    /* crop blending is host code on either backend (nothing is accumulated); the others are the backend's */
    s->ops = o.importance == VXT_IMPORTANCE_CROP      ? &vxt__stitch_crop_ops
             : ctx->backend == VXT_BACKEND_OPENCL ? &vxt__stitch_cl_ops
                                                  : &vxt__stitch_cpu_ops;
    return VXT_OK;
}

/* The tables every backend reads: weights, covering starts. */
static size_t table_bytes(const vxt__stitch *s)
{
    return s->roi_vox * sizeof(float) + 2u * (size_t)(s->P[0] + s->P[1] + s->P[2]) * sizeof(int) +
           (s->opt.label_rule == VXT_LABELS_REGIONS ? (size_t)s->C * sizeof(int) : 0);
}

vxt_status vxt__stitch_create(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                              const vxt_volume *input, const vxt_stitch_output *output, int nslots, int staged,
                              vxt__stitch **out)
{
    *out = NULL;
    vxt__stitch *s = calloc(1, sizeof *s);
    if (!s)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    vxt_status st = setup(ctx, plan, opts, 0, input, output, nslots, s);
    if (st != VXT_OK) {
        free(s);
        return st;
    }
    s->staged = staged;
    const vxt_stitch_options o = s->opt;
    if (o.label_rule == VXT_LABELS_REGIONS) {
        if (!(s->regions = malloc((size_t)s->C * sizeof *s->regions))) {
            vxt__stitch_destroy(s);
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
        }
        for (int64_t c = 0; c < s->C; c++)
            s->regions[c] = (int)o.region_labels[c];
    }

    /* importance weights (float16 arithmetic works on float16 weights) */
    s->weights = malloc(s->roi_vox * sizeof(float));
    if (!s->weights) {
        vxt__stitch_destroy(s);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for the importance map");
    }
    st = vxt__importance_table(ctx, o.importance, s->R, o.sigma_scale, o.user_map, s->weights);
    if (st != VXT_OK) {
        vxt__stitch_destroy(s);
        return st;
    }
    if (s->mode == VXT_ACC_F16) {
        for (size_t i = 0; i < s->roi_vox; i++) {
            float h = vxt_round_half(s->weights[i]);
            if (!(h > 0.0f) || !vxt_isfinite(h)) {
                st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_stitch: importance weight %g at index %zu is not a "
                               "positive float16 (needed by float16 accumulation)", (double)s->weights[i], i);
                vxt__stitch_destroy(s);
                return st;
            }
            s->weights[i] = h;
        }
    }

    /* covering starts per padded coordinate */
    size_t ncov = (size_t)(s->P[0] + s->P[1] + s->P[2]);
    s->cover_first = malloc(ncov * sizeof(int));
    s->cover_count = malloc(ncov * sizeof(int));
    if (!s->cover_first || !s->cover_count) {
        vxt__stitch_destroy(s);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    }
    size_t off = 0;
    for (int a = 0; a < 3; a++) {
        int64_t first = 0;
        for (int64_t p = 0; p < s->P[a]; p++) {
            while (first < s->nstarts[a] && s->starts[a][first] + s->R[a] <= p)
                first++;
            int64_t last = first;
            while (last < s->nstarts[a] && s->starts[a][last] <= p)
                last++;
            s->cover_first[off + (size_t)p] = (int)first;
            s->cover_count[off + (size_t)p] = (int)(last - first);
        }
        off += (size_t)s->P[a];
    }
    s->finalized_pz = 0;

    st = s->ops->init(s);
    if (st != VXT_OK) {
        vxt__stitch_destroy(s);
        return st;
    }
    *out = s;
    return VXT_OK;
}

vxt_status vxt__stitch_estimate(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                                int64_t cin, const vxt_stitch_output *output, int nslots, vxt__stitch_bytes *b)
{
    memset(b, 0, sizeof *b);
    vxt__stitch s;
    memset(&s, 0, sizeof s);
    vxt_status st = setup(ctx, plan, opts, cin, NULL, output, nslots, &s);
    if (st != VXT_OK)
        return st;
    s.staged = vxt__stitch_run_staged(ctx, &s.opt); /* vxt_stitch's output buffers, which a backend may hold */
    size_t device = 0;
    const size_t held = s.ops->footprint(&s, &device);
    if (held == SIZE_MAX) /* the CPU backend's block plan overflows (its init refuses the same case) */
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "vxt_stitch: the accumulator's blocks (%lld members x %lld channels) "
                         "of a %lld x %lld x %lld volume overflow or do not fit in memory", (long long)s.M,
                         (long long)s.C, (long long)s.P[0], (long long)s.P[1], (long long)s.P[2]);
    /* pinned staging is part of the OpenCL backend's footprint, and listed as what it is: vxt_stitch's tile outputs */
    b->engine = table_bytes(&s) + held - (s.ops == &vxt__stitch_cl_ops ? vxt__stitch_cl_pinned_bytes(&s) : 0);
    b->device = device;
    b->tile_inputs = vxt__session_input_bytes(&s);
    b->slab = vxt__session_slab_bytes(&s);
    b->tile_outputs = vxt__stitch_run_output_bytes(ctx, &s);
    b->slab_depth = vxt__session_slab_z(&s);
    /* the slabs a sink receives: each batch finalizes the planes below the next batch's first row
     * (vxt__stitch_final_pz_after), handed out in pieces of at most slab_depth planes */
    int64_t done = 0, nslab = 0;
    for (uint64_t batch = 0; b->slab_depth > 0 && batch < s.nbatches; batch++) {
        const uint64_t next = (batch + 1) * s.B;
        const int64_t pz = next >= s.T ? s.P[0] : s.starts[0][next / (uint64_t)s.tiles_per_row];
        int64_t z1 = pz - s.lo[0];
        z1 = z1 > s.S[0] ? s.S[0] : z1;
        for (; done < z1; nslab++) {
            const int64_t n = z1 - done < b->slab_depth ? z1 - done : b->slab_depth;
            if (n > b->slab_max[nslab % 2])
                b->slab_max[nslab % 2] = n;
            done += n;
        }
    }
    return VXT_OK;
}

void vxt__stitch_destroy(vxt__stitch *s)
{
    if (!s)
        return;
    if (s->backend && s->ops)
        s->ops->destroy(s);
    free(s->weights);
    free(s->cover_first);
    free(s->cover_count);
    free(s->regions);
    free(s);
}

void vxt__stitch_call(const vxt__stitch *s, uint64_t k, vxt__call *c)
{
    uint64_t per = (uint64_t)(s->M * s->F);
    c->k = k;
    c->batch = k / per;
    c->member = (int)((k / (uint64_t)s->F) % (uint64_t)s->M);
    c->flip_index = (int)(k % (uint64_t)s->F);
    c->flip = s->flips[c->flip_index];
    c->first_tile = c->batch * s->B;
    uint64_t left = s->T - c->first_tile;
    c->count = (int)(left < s->B ? left : s->B);
}

int64_t vxt__stitch_final_pz_after(const vxt__stitch *s, uint64_t k)
{
    vxt__call c;
    vxt__stitch_call(s, k, &c);
    if (k % (uint64_t)(s->M * s->F) != (uint64_t)(s->M * s->F) - 1)
        return s->finalized_pz; /* the batch is not complete */
    uint64_t next = c.first_tile + (uint64_t)c.count;
    if (next >= s->T)
        return s->P[0];
    return s->starts[0][next / (uint64_t)s->tiles_per_row];
}

vxt_status vxt__stitch_nonfinite(const vxt__stitch *s, const vxt__call *c, int item, size_t i, float value)
{
    size_t v = i % s->roi_vox;
    size_t ch = i / s->roi_vox;
    size_t x = v % (size_t)s->R[2], y = (v / (size_t)s->R[2]) % (size_t)s->R[1], z = v / ((size_t)s->R[2] * (size_t)s->R[1]);
    /* the batch (call) and item the caller saw, also when c groups several calls (vxt__session_consume_group) */
    uint64_t tile = c->first_tile + (uint64_t)item, b = tile / s->B;
    uint64_t k = (b * (uint64_t)s->M + (uint64_t)c->member) * (uint64_t)s->F + (uint64_t)c->flip_index;
    return vxt__fail(s->ctx, VXT_ERR_NONFINITE,
                     "predictor output is %s for tile %llu (item %d of batch %llu, member %d, mirroring 0x%x) at channel "
                     "%zu, voxel (z %zu, y %zu, x %zu) of the tile",
                     vxt_isnan(value) ? "NaN" : "infinite", (unsigned long long)tile, (int)(tile % s->B),
                     (unsigned long long)k, c->member, c->flip, ch, z, y, x);
}

vxt_status vxt_stitch_estimate(vxt_context *ctx, const vxt_tiling *tiling, const vxt_stitch_options *opts,
                               int64_t input_channels, const vxt_stitch_output *output, vxt_memory_estimate *est)
{
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(ctx, tiling);
    VXT_CHECK_NULL(ctx, opts);
    VXT_CHECK_NULL(ctx, output);
    VXT_CHECK_NULL(ctx, est);
    vxt_status st = vxt__check_out_struct(ctx, __func__, "vxt_memory_estimate", est->struct_size, sizeof *est);
    if (st != VXT_OK)
        return st;
    if (input_channels < 1 || input_channels > INT32_MAX)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_stitch_estimate: input_channels = %lld (1 to 2^31 - 1)",
                         (long long)input_channels);
    vxt__stitch_bytes b;
    if ((st = vxt__stitch_estimate(ctx, tiling, opts, input_channels, output, 2, &b)) != VXT_OK)
        return st;
    const vxt_tiling_info *pi = vxt__tiling_info(tiling);
    const double vox = (double)pi->shape[0] * (double)pi->shape[1] * (double)pi->shape[2];
    double out = 0.0;
    if (!output->sink)
        out = (output->values ? (double)opts->out_channels * vox * 4.0 : 0.0) +
              (output->labels ? vox * (double)vxt_dtype_size(opts->label_dtype) : 0.0);
    vxt_memory_estimate e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.peak_stage = -1;
    e.input_bytes = (uint64_t)((double)input_channels * vox * 4.0);
    e.output_bytes = (uint64_t)out;
    e.device_bytes = b.device;
    e.window_bytes = (uint64_t)b.engine + b.tile_inputs + b.tile_outputs + b.slab +
                     (ctx->device_is_cpu || ctx->host_unified ? b.device : 0);
    e.peak_bytes = e.input_bytes + e.output_bytes + e.window_bytes;
    vxt__copy_out_struct(est, &e, est->struct_size, sizeof e);
    return VXT_OK;
}
