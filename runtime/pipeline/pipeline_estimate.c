/* pipeline_estimate.c - a run's memory before it runs (vxt_pipeline_estimate), from the image's header and the
 * plan: every stage's buffers by the sizes the stages allocate (pipeline_input.c, pipeline_output.c) and the
 * sliding window's by the stitching engine's own footprint (vxt__stitch_estimate); and the ceiling a run checks
 * against it (vxt_run_options.max_memory) before it allocates anything large. docs/PIPELINE.md, "Memory". */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stitch/stitch_internal.h"
#include "pipeline_internal.h"

_Static_assert(VXT_STAGE_COUNT_ == 8, "vxt_memory_estimate.stage_bytes has one entry per stage");

/* Slabs the output side makes itself (pipeline_output.c's SLAB_BYTES). */
#define OUT_SLAB_BYTES ((double)((size_t)64 << 20))

/* Everything estimated in double: sizes of absurd images (the header of a hostile file) must not wrap. */
typedef struct est {
    double input, outputs, stage[VXT_STAGE_COUNT_], window, device, shown;
    double ring, tiles; /* parts of window, for the message */
} est;

/* A sink for the estimate: only its presence is read. */
static int no_sink(void *user, const vxt_slab *slab)
{
    (void)user;
    (void)slab;
    return 1;
}

/* The sliding window and what runs inside it (the way back, labels, restore), as pipeline_output.c allocates. */
static vxt_status window_bytes(vxt__run *r, est *e, double *during)
{
    const vxt_plan *plan = r->plan;
    const double C = (double)r->classes, L = (double)vxt_dtype_size(plan->label_dtype);
    const double plane_or = (double)r->or_shape[1] * (double)r->or_shape[2];
    const double plane_m = (double)r->model_shape[1] * (double)r->model_shape[2];
    const double Z = (double)r->or_shape[0], Zm = (double)r->model_shape[0];
    const int want_labels = (r->opt.outputs & VXT_OUTPUT_LABELS) != 0, want_probs = (r->opt.outputs & VXT_OUTPUT_PROBABILITIES) != 0;
    const int by_values = plan->back == VXT_BACK_PROBABILITIES;
    const int values_back = r->resampled && (want_probs || (want_labels && by_values));
    const int labels_nearest = r->resampled && !by_values && want_labels;

    vxt_tiling_options to;
    vxt_stitch_options so;
    vxt_status st = vxt_plan_stitch_settings(plan, r->model_shape, r->classes, &to, &so);
    vxt_tiling *tiling = NULL;
    if (st == VXT_OK)
        st = vxt_tiling_create(&to, &tiling);
    if (st != VXT_OK)
        return st;
    so.tile_dtype = r->p->tile_dtype;
    vxt_stitch_output sout;
    vxt_stitch_output_init(&sout);
    sout.sink = no_sink;
    sout.want_values = r->resampled ? values_back : (want_probs || r->show);
    sout.want_labels = r->resampled ? labels_nearest : want_labels;
    vxt__stitch_bytes b;
    st = vxt__stitch_estimate(r->ctx, tiling, &so, r->cin, &sout, 2, &b);
    vxt_tiling_destroy(tiling);
    if (st != VXT_OK)
        return st;
    const int shared = r->ctx->backend == VXT_BACKEND_OPENCL && (r->ctx->device_is_cpu || r->ctx->host_unified);
    e->device = r->ctx->backend == VXT_BACKEND_OPENCL ? (double)b.device : 0.0;
    e->ring = (double)b.engine + (shared ? (double)b.device : 0.0);
    e->tiles = (double)b.tile_inputs + (double)b.tile_outputs;
    e->window = e->ring + e->tiles + (double)b.slab;

    /* the way back (pipeline_output.c, buffers and back_append) */
    double x = 0.0;
    /* the output planes one model slab makes ready (at most a chunk): its planes on the input's grid, and one */
    const double most = (double)(b.slab_max[0] > b.slab_max[1] ? b.slab_max[0] : b.slab_max[1]);
    const double ready = ceil(most * Z / Zm) + 1.0;
    if (values_back) {
        double chunk = floor(OUT_SLAB_BYTES / (C * plane_or * 4.0));
        chunk = chunk < 1 ? 1 : chunk;
        chunk = chunk < ready ? chunk : ready;
        /* two window buffers, each grown to its largest slab and the planes still read before it */
        const double keep = ceil(Zm / Z) + 1.0;
        x += C * ((double)b.slab_max[0] + (double)b.slab_max[1] + 2.0 * keep) * plane_m * 4.0 +
             C * chunk * plane_or * 4.0 + Z * 16.0;
        if (want_labels)
            x += chunk * plane_or * L;
    } else if (want_labels && r->resampled) {
        double lchunk = floor(OUT_SLAB_BYTES / (plane_or * L));
        x += (lchunk < 1 ? 1 : lchunk) * plane_or * L;
    }
    if (labels_nearest)
        x += Zm * plane_m * L;
    if (r->show) /* VXT_RUN_SHOW_OUTPUTS: whole stage outputs */
        x += C * Zm * plane_m * 4.0 + (values_back ? C * Z * plane_or * 4.0 : 0.0) + (want_labels ? Z * plane_or * L : 0.0);
    /* the model's input lives until the window ends */
    *during = (double)r->cin * Zm * plane_m * 4.0 + e->window + x;
    return VXT_OK;
}

static vxt_status estimate(vxt__run *r, est *e)
{
    memset(e, 0, sizeof *e);
    vxt_resample_options ro;
    vxt_status st = vxt__run_grids(r, &ro);
    if (st != VXT_OK)
        return st;
    const double V = (double)r->in_shape[0] * (double)r->in_shape[1] * (double)r->in_shape[2];
    const double Vm = (double)r->model_shape[0] * (double)r->model_shape[1] * (double)r->model_shape[2];
    const double cin = (double)r->cin, b = (double)vxt_dtype_size(r->info.dtype);
    const double f_in = cin * V * 4.0, f_m = cin * Vm * 4.0, copy = r->oriented ? cin * V * b : 0.0;
    const double C = (double)r->classes, L = (double)vxt_dtype_size(r->plan->label_dtype);
    const int want_labels = (r->opt.outputs & VXT_OUTPUT_LABELS) != 0, want_probs = (r->opt.outputs & VXT_OUTPUT_PROBABILITIES) != 0;
    e->input = cin * V * b;
    /* outputs: result images, or (a sink on an oriented run) whole buffers restored before the slabs go out */
    if (!r->opt.sink || r->oriented)
        e->outputs = (want_labels ? V * L : 0.0) + (want_probs ? C * V * 4.0 : 0.0);
    e->stage[VXT_STAGE_ORIENT] = copy;
    e->stage[VXT_STAGE_RESCALE] = copy + f_in;
    e->stage[VXT_STAGE_RESAMPLE] = r->resampled ? f_in + f_m : 0.0;
    e->stage[VXT_STAGE_NORMALIZE] = r->plan->normalize_first ? f_in : f_m;
    double during = 0.0;
    if ((st = window_bytes(r, e, &during)) != VXT_OK)
        return st;
    e->stage[VXT_STAGE_SLIDING_WINDOW] = during;
    if (r->resampled && !(r->plan->back == VXT_BACK_PROBABILITIES) && want_labels) /* back_labels, after the window */
        e->stage[VXT_STAGE_LABELS] = Vm * L + floor(OUT_SLAB_BYTES / ((double)r->or_shape[1] * (double)r->or_shape[2] * L) + 1.0) *
                                              (double)r->or_shape[1] * (double)r->or_shape[2] * L;
    if (r->opt.sink && r->oriented) /* deliver_restored: one slab of values */
        e->stage[VXT_STAGE_RESTORE] = want_probs ? OUT_SLAB_BYTES : 0.0;
    /* every stage's whole output, as VXT_RUN_SHOW_OUTPUTS shows them (pipeline.c, pipeline_output.c) */
    const int values_back = r->resampled && (want_probs || (want_labels && r->plan->back == VXT_BACK_PROBABILITIES));
    e->shown = copy + f_in + (r->resampled ? f_m : 0.0) + (r->plan->normalize_first ? f_in : f_m) + C * Vm * 4.0 +
               (values_back ? C * V * 4.0 : 0.0) + (want_labels ? V * L : 0.0) +
               (r->oriented ? (want_labels ? V * L : C * V * 4.0) : 0.0);
    return VXT_OK;
}

/* The stage of the peak and its bytes: the input throughout, the outputs from the sliding window on. */
static double peak(const est *e, int *stage)
{
    double best = -1.0;
    for (int s = 0; s < VXT_STAGE_COUNT_; s++) {
        double t = e->input + e->stage[s] + (s >= VXT_STAGE_SLIDING_WINDOW ? e->outputs : 0.0);
        if (t > best) {
            best = t;
            *stage = s;
        }
    }
    return best;
}

static vxt_status check_memory(vxt__run *r, const est *e0);

static uint64_t clamp_u64(double v)
{
    return v >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)v;
}

vxt_status vxt_pipeline_estimate(const vxt_pipeline *pipeline, const vxt_image *image, const vxt_run_options *opts,
                                 vxt_memory_estimate *out)
{
    VXT_CHECK_NULL(NULL, pipeline);
    VXT_CHECK_NULL(NULL, image);
    VXT_CHECK_NULL(NULL, out);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_memory_estimate", out->struct_size, sizeof *out);
    if (st != VXT_OK)
        return st;
    vxt__run r;
    memset(&r, 0, sizeof r);
    r.p = (vxt_pipeline *)(uintptr_t)pipeline; /* read only */
    r.ctx = pipeline->ctx;
    r.plan = &pipeline->plan;
    r.image = image;
    r.failed_stage = -1;
    est e;
    if ((st = vxt__check_run(pipeline, image, opts, &r, 0)) != VXT_OK || (st = estimate(&r, &e)) != VXT_OK)
        return st;
    vxt_memory_estimate m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.peak_bytes = clamp_u64(peak(&e, &m.peak_stage));
    m.input_bytes = clamp_u64(e.input);
    m.output_bytes = clamp_u64(e.outputs);
    m.window_bytes = clamp_u64(e.window);
    m.device_bytes = clamp_u64(e.device);
    m.shown_bytes = clamp_u64(e.shown);
    for (int s = 0; s < VXT_STAGE_COUNT_; s++)
        m.stage_bytes[s] = clamp_u64(e.stage[s]);
    vxt__copy_out_struct(out, &m, out->struct_size, sizeof m);
    return check_memory(&r, &e);
}

/* Bytes as "1.4 GiB" / "312 MiB". */
static const char *size_text(char *buf, size_t n, double bytes)
{
    if (bytes >= 1024.0 * 1024.0 * 1024.0)
        snprintf(buf, n, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    else
        snprintf(buf, n, "%.0f MiB", ceil(bytes / (1024.0 * 1024.0)));
    return buf;
}

/* VXT_ERR_MEMORY_LIMIT when the estimate is above r->opt.max_memory (0: none). */
static vxt_status check_memory(vxt__run *r, const est *e0)
{
    const est e = *e0;
    int stage = 0;
    const double total = peak(&e, &stage);
    if (!r->opt.max_memory || total <= (double)r->opt.max_memory)
        return VXT_OK;
    /* what would lower it, by what holds most at the peak */
    char a[32], b[32], c[32], d[32], f[32], g[32];
    const int crop = r->plan->importance == VXT_IMPORTANCE_CROP;
    const int probs = (r->opt.outputs & VXT_OUTPUT_PROBABILITIES) != 0;
    return vxt__fail(r->ctx, VXT_ERR_MEMORY_LIMIT,
                     "the run needs an estimated %s (input %s, outputs %s, at its peak in %s %s, of which the sliding "
                     "window's working set %s and tile buffers %s), above the limit of %s; %s%sa smaller ROI or batch "
                     "size would lower it",
                     size_text(a, sizeof a, total), size_text(b, sizeof b, e.input), size_text(c, sizeof c, e.outputs),
                     vxt_stage_name((vxt_stage)stage), size_text(d, sizeof d, e.stage[stage]),
                     size_text(f, sizeof f, e.ring), size_text(g, sizeof g, e.tiles),
                     size_text((char[32]){0}, 32, (double)r->opt.max_memory), probs ? "labels only, " : "",
                     crop ? "" : "crop blending (\"importance\": \"crop\"), ");
}

vxt_status vxt__run_check_memory(vxt__run *r)
{
    est e;
    vxt_status st = estimate(r, &e);
    return st == VXT_OK ? check_memory(r, &e) : st;
}
