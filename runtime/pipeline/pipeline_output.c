/* pipeline_output.c - the output side of a run: the sliding window over the model's input, and everything after
 * it, slab by slab as the stitching engine finishes them (docs/PIPELINE.md):
 *
 *   sliding_window  vxt_stitch with an output sink: slabs of class values (and labels) on the model's grid
 *   resample_back   (resampled runs) each slab joins a window of model planes; the input-grid planes whose source
 *                   planes are all in the window are resampled (vxt_resample with input and output windows: the
 *                   bits of a whole resampling) and the planes no later output reads are dropped
 *   labels          by the plan's rule (vxt_labels), or the engine's own labels when nothing was resampled, or
 *                   the model-grid labels resampled with nearest neighbours (output.resample_back "labels")
 *   restore         (oriented runs) each slab scattered to its place in the input's axis order
 *
 * and delivered into the result images or the caller's sink. Class values therefore exist only as slabs unless
 * probabilities are asked for (or VXT_RUN_SHOW_OUTPUTS makes every stage's output whole for the observer). */
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"
#include "preproc.h"

/* Slabs the pipeline makes itself: about this many bytes of class values at a time. */
#define SLAB_BYTES ((size_t)64 << 20)

typedef struct out {
    vxt__run *r;
    int want_labels, want_probs, sink;
    size_t lbytes;         /* bytes per label */
    int64_t C;
    int64_t plane_in, plane_or, plane_model; /* voxels per plane of the input, oriented and model grids */
    /* where outputs go on the input's grid (whole; NULL where slabs go straight to the caller's sink) */
    void *labels_dst;
    float *probs_dst;
    /* the way back */
    int values_back, labels_from_values, labels_nearest;
    vxt_resample_options rb;
    int64_t *src_lo, *src_hi; /* per output plane (oriented grid): model planes read, [lo, hi) */
    /* the window of model planes: win[wcur] holds planes [wb0, w1) (C x (w1 - wb0) x plane); planes below w0 are
     * no longer read and are left behind when the next slab is packed into the other buffer */
    float *win[2];
    size_t cap[2]; /* planes each buffer can hold */
    int wcur;
    int64_t wb0, w0, w1;
    int64_t next; /* the next output plane to make */
    float *chunk_vals;        /* C x chunk x plane_or */
    void *chunk_labels;       /* lchunk x plane_or */
    int64_t chunk, lchunk;
    void *model_labels;       /* labels_nearest: the model grid's labels, whole */
    /* VXT_RUN_SHOW_OUTPUTS: whole stage outputs */
    float *show_model, *show_back;
    void *show_labels;
    /* time spent per stage inside the sliding window */
    double t_back, t_labels, t_restore;
    /* a failure inside a callback of vxt_stitch */
    vxt_status st;
    char msg[1024];
    vxt_status predict_st;
    char predict_msg[1024];
} out;

static vxt_status oom(vxt__run *r, vxt_stage stage, size_t bytes)
{
    r->failed_stage = (int)stage;
    return vxt__fail(r->ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu MiB", vxt_stage_name(stage),
                     bytes >> 20);
}

static void *alloc(out *o, vxt_stage stage, size_t a, size_t b, size_t c, vxt_status *st)
{
    size_t n = 0;
    if (*st != VXT_OK)
        return NULL;
    if (!vxt__mul_size(a, b, &n) || !vxt__mul_size(n, c, &n)) {
        *st = vxt__fail(o->r->ctx, VXT_ERR_OVERFLOW, "%s: a buffer of %zu x %zu x %zu bytes overflows",
                        vxt_stage_name(stage), a, b, c);
        return NULL;
    }
    void *p = malloc(n ? n : 1);
    if (!p)
        *st = oom(o->r, stage, n);
    return p;
}

/* ---- delivery to the input's grid --------------------------------------------------------------------------- */

/* Slab [z0, z1) of the oriented grid: values (C planes) and/or labels, to the result or the caller's sink. */
static vxt_status deliver(out *o, int64_t z0, int64_t z1, const float *values, const void *labels)
{
    vxt__run *r = o->r;
    double t0 = vxt__now();
    vxt_status st = VXT_OK;
    const int64_t n = z1 - z0;
    if (!r->oriented && o->sink) {
        vxt_slab s = {z0, z1, o->C, {r->in_shape[0], r->in_shape[1], r->in_shape[2]}, values, labels,
                      r->plan->label_dtype};
        int rc = r->opt.sink(r->opt.sink_user, &s);
        if (rc != 0) {
            r->failed_stage = r->oriented ? VXT_STAGE_RESTORE : VXT_STAGE_LABELS;
            st = vxt__fail(r->ctx, VXT_ERR_IO, "output sink returned %d for slices [%lld, %lld)", rc, (long long)z0,
                           (long long)z1);
        }
    } else if (!r->oriented) {
        if (labels)
            memcpy((char *)o->labels_dst + (size_t)(z0 * o->plane_in) * o->lbytes, labels,
                   (size_t)(n * o->plane_in) * o->lbytes);
        for (int64_t c = 0; values && c < o->C; c++)
            memcpy(o->probs_dst + (size_t)((c * r->in_shape[0] + z0) * o->plane_in),
                   values + (size_t)(c * n * o->plane_in), (size_t)(n * o->plane_in) * sizeof(float));
    } else { /* restore: scattered to their places in the input's axis order */
        if (labels)
            vxt__volume_move_pool(r->ctx->pool, o->labels_dst, (void *)(uintptr_t)labels, o->lbytes, 1, r->in_shape,
                                  r->perm, r->flip, z0, z1, 0);
        if (values)
            vxt__volume_move_pool(r->ctx->pool, o->probs_dst, (void *)(uintptr_t)values, sizeof(float), o->C,
                                  r->in_shape, r->perm, r->flip, z0, z1, 0);
    }
    double dt = vxt__now() - t0; /* restoring the axes, or writing where the labels (else the values) go */
    *(r->oriented ? &o->t_restore : labels ? &o->t_labels : &o->t_back) += dt;
    return st;
}

/* Oriented runs with a sink: the whole outputs, restored, slab by slab at the end. */
static vxt_status deliver_restored(out *o)
{
    vxt__run *r = o->r;
    double t0 = vxt__now();
    int64_t step = (int64_t)(SLAB_BYTES / ((size_t)o->plane_in * (o->want_probs ? (size_t)o->C * 4 : o->lbytes)));
    step = step < 1 ? 1 : step;
    float *vals = NULL;
    vxt_status st = VXT_OK;
    if (o->want_probs)
        vals = alloc(o, VXT_STAGE_RESTORE, (size_t)o->C, (size_t)step, (size_t)o->plane_in * sizeof(float), &st);
    for (int64_t z0 = 0; st == VXT_OK && z0 < r->in_shape[0]; z0 += step) {
        int64_t z1 = z0 + step < r->in_shape[0] ? z0 + step : r->in_shape[0], n = z1 - z0;
        for (int64_t c = 0; vals && c < o->C; c++) /* the slab's channels, each contiguous */
            memcpy(vals + (size_t)(c * n * o->plane_in), o->probs_dst + (size_t)((c * r->in_shape[0] + z0) * o->plane_in),
                   (size_t)(n * o->plane_in) * sizeof(float));
        vxt_slab s = {z0, z1, o->C, {r->in_shape[0], r->in_shape[1], r->in_shape[2]}, vals,
                      o->want_labels ? (const char *)o->labels_dst + (size_t)(z0 * o->plane_in) * o->lbytes : NULL,
                      r->plan->label_dtype};
        int rc = r->opt.sink(r->opt.sink_user, &s);
        if (rc != 0) {
            r->failed_stage = r->oriented ? VXT_STAGE_RESTORE : VXT_STAGE_LABELS;
            st = vxt__fail(r->ctx, VXT_ERR_IO, "output sink returned %d for slices [%lld, %lld)", rc, (long long)z0,
                           (long long)z1);
        }
    }
    free(vals);
    o->t_restore += vxt__now() - t0;
    return st;
}

/* ---- the way back ------------------------------------------------------------------------------------------- */

/* Labels of a chunk of class values on the oriented grid (the plan's rule). */
static vxt_status label_chunk(out *o, const vxt_volume *vals, void *labels)
{
    const vxt_plan *p = o->r->plan;
    double t0 = vxt__now();
    vxt_volume lv = {labels, p->label_dtype, 1, {vals->shape[0], vals->shape[1], vals->shape[2]}};
    vxt_label_rule rule = vxt__plan_label_rule(p);
    vxt_status st = vxt_labels(o->r->ctx, vals, rule, p->threshold, rule == VXT_LABELS_REGIONS ? p->region_labels : NULL,
                               &lv);
    o->t_labels += vxt__now() - t0;
    return st != VXT_OK ? vxt__run_fail(o->r, VXT_STAGE_LABELS, st) : VXT_OK;
}

/* Make the output planes whose model planes are all in the window, then move w0 past the planes no later output
 * reads. */
static vxt_status back_advance(out *o)
{
    vxt__run *r = o->r;
    const int64_t Z = r->or_shape[0];
    int64_t e = o->next;
    while (e < Z && o->src_hi[e] <= o->w1)
        e++;
    vxt_status st = VXT_OK;
    for (int64_t a = o->next; a < e && st == VXT_OK; a += o->chunk) {
        const int64_t b = a + o->chunk < e ? a + o->chunk : e;
        vxt_volume in = {o->win[o->wcur], VXT_DTYPE_F32, o->C, {o->w1 - o->wb0, r->model_shape[1], r->model_shape[2]}};
        vxt_volume vals = {o->chunk_vals, VXT_DTYPE_F32, o->C, {b - a, r->or_shape[1], r->or_shape[2]}};
        o->rb.in_z_offset = o->wb0;
        o->rb.out_z_offset = a;
        double t0 = vxt__now();
        st = vxt_resample(r->ctx, &in, &vals, &o->rb);
        o->t_back += vxt__now() - t0;
        if (st != VXT_OK)
            return vxt__run_fail(r, VXT_STAGE_RESAMPLE_BACK, st);
        for (int64_t c = 0; o->show_back && c < o->C; c++)
            memcpy(o->show_back + (size_t)((c * Z + a) * o->plane_or), o->chunk_vals + (size_t)(c * (b - a) * o->plane_or),
                   (size_t)((b - a) * o->plane_or) * sizeof(float));
        const int labels = o->labels_from_values && o->want_labels;
        if (labels && (st = label_chunk(o, &vals, o->chunk_labels)) != VXT_OK)
            return st;
        if (labels && o->show_labels)
            memcpy((char *)o->show_labels + (size_t)(a * o->plane_or) * o->lbytes, o->chunk_labels,
                   (size_t)((b - a) * o->plane_or) * o->lbytes);
        st = deliver(o, a, b, o->want_probs ? o->chunk_vals : NULL, labels ? o->chunk_labels : NULL);
    }
    o->next = e;
    if (e < Z && o->src_lo[e] > o->w0)
        o->w0 = o->src_lo[e] < o->w1 ? o->src_lo[e] : o->w1;
    return st;
}

/* A model slab joins the window: the planes still read and the slab are packed into the other buffer. */
static vxt_status back_append(out *o, const vxt_slab *s)
{
    if (s->z0 != o->w1)
        return vxt__fail(o->r->ctx, VXT_ERR_INTERNAL, "resample_back: slab [%lld, %lld) after plane %lld",
                         (long long)s->z0, (long long)s->z1, (long long)o->w1);
    const int64_t keep = o->w1 - o->w0, n = s->z1 - s->z0, depth = keep + n, sdepth = o->w1 - o->wb0;
    const int d = 1 - o->wcur;
    const size_t pm = (size_t)o->plane_model;
    vxt_status st = VXT_OK;
    if (o->cap[d] < (size_t)depth) {
        free(o->win[d]);
        o->win[d] = alloc(o, VXT_STAGE_RESAMPLE_BACK, (size_t)o->C, (size_t)depth, pm * sizeof(float), &st);
        o->cap[d] = o->win[d] ? (size_t)depth : 0;
        if (st != VXT_OK)
            return st;
    }
    const float *src = o->win[o->wcur];
    float *dst = o->win[d];
    double t0 = vxt__now();
    for (int64_t c = 0; c < o->C; c++) {
        if (keep)
            memcpy(dst + (size_t)(c * depth) * pm, src + (size_t)(c * sdepth + (o->w0 - o->wb0)) * pm,
                   (size_t)keep * pm * sizeof(float));
        memcpy(dst + (size_t)(c * depth + keep) * pm, s->values + (size_t)(c * n) * pm, (size_t)n * pm * sizeof(float));
    }
    o->t_back += vxt__now() - t0;
    o->wcur = d;
    o->wb0 = o->w0;
    o->w1 = s->z1;
    return back_advance(o);
}

/* output.resample_back "labels": the model grid's labels back with nearest neighbours, never interpolated. */
static vxt_status back_labels(out *o)
{
    vxt__run *r = o->r;
    vxt_resample_options rn;
    vxt_resample_options_init(&rn);
    for (int a = 0; a < 3; a++)
        rn.interp[a] = VXT_INTERP_NEAREST;
    rn.out_z_total = r->or_shape[0];
    vxt_volume ml = {o->model_labels, r->plan->label_dtype, 1,
                     {r->model_shape[0], r->model_shape[1], r->model_shape[2]}};
    vxt_status st = VXT_OK;
    for (int64_t a = 0; a < r->or_shape[0] && st == VXT_OK; a += o->lchunk) {
        const int64_t b = a + o->lchunk < r->or_shape[0] ? a + o->lchunk : r->or_shape[0];
        vxt_volume lv = {o->chunk_labels, r->plan->label_dtype, 1, {b - a, r->or_shape[1], r->or_shape[2]}};
        rn.out_z_offset = a;
        double t0 = vxt__now();
        st = vxt_resample(r->ctx, &ml, &lv, &rn);
        o->t_labels += vxt__now() - t0;
        if (st != VXT_OK)
            return vxt__run_fail(r, VXT_STAGE_LABELS, st);
        if (o->show_labels)
            memcpy((char *)o->show_labels + (size_t)(a * o->plane_or) * o->lbytes, o->chunk_labels,
                   (size_t)((b - a) * o->plane_or) * o->lbytes);
        st = deliver(o, a, b, NULL, o->chunk_labels);
    }
    return st;
}

/* ---- vxt_stitch's callbacks: the caller's thread ---------------------------------------------------------- */

static int on_predict(void *user, const vxt_batch *b)
{
    out *o = (out *)user;
    vxt_status st = vxt_runner_predict(o->r->p->runners[b->member], b);
    if (st == VXT_OK)
        return 0;
    o->predict_st = st;
    vxt__strlcpy(o->predict_msg, vxt_last_error(), sizeof o->predict_msg);
    return 1;
}

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    out *o = (out *)user;
    vxt__run *r = o->r;
    r->res->tile_predictions = total;
    if (r->opt.progress && r->opt.progress(r->opt.progress_user, VXT_STAGE_SLIDING_WINDOW, done, total) != 0)
        r->cancelled = 1;
    return vxt__run_cancelled(r);
}

static int on_slab(void *user, const vxt_slab *s)
{
    out *o = (out *)user;
    vxt__run *r = o->r;
    double t0 = vxt__now();
    const int64_t n = s->z1 - s->z0, Zm = r->model_shape[0];
    vxt_status st = VXT_OK;
    for (int64_t c = 0; o->show_model && s->values && c < o->C; c++)
        memcpy(o->show_model + (size_t)((c * Zm + s->z0) * o->plane_model), s->values + (size_t)(c * n * o->plane_model),
               (size_t)(n * o->plane_model) * sizeof(float));
    if (!r->resampled) {
        if (o->show_labels && s->labels)
            memcpy((char *)o->show_labels + (size_t)(s->z0 * o->plane_or) * o->lbytes, s->labels,
                   (size_t)(n * o->plane_or) * o->lbytes);
        st = deliver(o, s->z0, s->z1, o->want_probs ? s->values : NULL, o->want_labels ? s->labels : NULL);
    } else {
        if (o->labels_nearest)
            memcpy((char *)o->model_labels + (size_t)(s->z0 * o->plane_model) * o->lbytes, s->labels,
                   (size_t)(n * o->plane_model) * o->lbytes);
        if (o->values_back)
            st = back_append(o, s);
    }
    r->inner_seconds += vxt__now() - t0;
    if (st != VXT_OK) { /* kept: the engine's own message ("sink returned 1") would replace it */
        o->st = st;
        vxt__strlcpy(o->msg, vxt_last_error(), sizeof o->msg);
        return 1;
    }
    return vxt__run_cancelled(r);
}

/* ---- the run's outputs -------------------------------------------------------------------------------------- */

/* Where the outputs go: result images, or (oriented runs with a sink) whole buffers restored first. */
static vxt_status destinations(out *o)
{
    vxt__run *r = o->r;
    vxt_status st = VXT_OK;
    const size_t vox = (size_t)(r->in_shape[0] * o->plane_in);
    if (!o->sink) {
        if (o->want_labels && (st = vxt_image_create(r->plan->label_dtype, 1, r->in_shape, r->image, &r->res->labels)) ==
                                  VXT_OK) {
            vxt_nifti_set_intent(r->res->labels, 1002, "labels", NULL);
            vxt_image_set_description(r->res->labels, "voxtile segmentation");
        }
        if (st == VXT_OK && o->want_probs &&
            (st = vxt_image_create(VXT_DTYPE_F32, o->C, r->in_shape, r->image, &r->res->probabilities)) == VXT_OK)
            vxt_image_set_description(r->res->probabilities, "voxtile probabilities");
        vxt_volume v;
        if (st == VXT_OK && r->res->labels && vxt_image_volume(r->res->labels, &v) == VXT_OK)
            o->labels_dst = v.data;
        if (st == VXT_OK && r->res->probabilities && vxt_image_volume(r->res->probabilities, &v) == VXT_OK)
            o->probs_dst = v.data;
        return st != VXT_OK ? vxt__run_fail(r, VXT_STAGE_LABELS, st) : VXT_OK;
    }
    if (r->oriented && o->want_labels)
        o->labels_dst = alloc(o, VXT_STAGE_RESTORE, vox, o->lbytes, 1, &st);
    if (r->oriented && o->want_probs)
        o->probs_dst = alloc(o, VXT_STAGE_RESTORE, vox, (size_t)o->C, sizeof(float), &st);
    return st;
}

/* The way back: its source table, its window and chunk buffers; the show buffers. */
static vxt_status buffers(out *o)
{
    vxt__run *r = o->r;
    vxt_status st = VXT_OK;
    const int64_t Z = r->or_shape[0], Zm = r->model_shape[0];
    if (o->values_back) {
        vxt_resample_options_init(&o->rb);
        if (r->plan->anisotropy == VXT_ANISOTROPY_NNUNET &&
            (st = vxt_resample_options_nnunet(r->model_spacing, r->or_spacing, 0, &o->rb)) != VXT_OK)
            return vxt__run_fail(r, VXT_STAGE_RESAMPLE_BACK, st);
        o->rb.in_z_total = Zm;
        o->rb.out_z_total = Z;
        o->src_lo = alloc(o, VXT_STAGE_RESAMPLE_BACK, (size_t)Z, 2, sizeof(int64_t), &st);
        if (st != VXT_OK)
            return st;
        o->src_hi = o->src_lo + Z;
        vxt__resample_z_table(&o->rb, Zm, Z, o->src_lo, o->src_hi);
        o->chunk = (int64_t)(SLAB_BYTES / ((size_t)o->C * (size_t)o->plane_or * sizeof(float)));
        o->chunk = o->chunk < 1 ? 1 : o->chunk;
        o->chunk_vals = alloc(o, VXT_STAGE_RESAMPLE_BACK, (size_t)o->C, (size_t)o->chunk,
                              (size_t)o->plane_or * sizeof(float), &st);
    }
    o->lchunk = o->values_back ? o->chunk : (int64_t)(SLAB_BYTES / ((size_t)o->plane_or * o->lbytes));
    o->lchunk = o->lchunk < 1 ? 1 : o->lchunk;
    if (o->want_labels && r->resampled)
        o->chunk_labels = alloc(o, VXT_STAGE_LABELS, (size_t)o->lchunk, (size_t)o->plane_or, o->lbytes, &st);
    if (o->labels_nearest)
        o->model_labels = alloc(o, VXT_STAGE_LABELS, (size_t)Zm, (size_t)o->plane_model, o->lbytes, &st);
    if (r->show) {
        o->show_model = alloc(o, VXT_STAGE_SLIDING_WINDOW, (size_t)o->C, (size_t)(Zm * o->plane_model), sizeof(float),
                              &st);
        if (o->values_back)
            o->show_back = alloc(o, VXT_STAGE_RESAMPLE_BACK, (size_t)o->C, (size_t)(Z * o->plane_or), sizeof(float),
                                 &st);
        if (o->want_labels)
            o->show_labels = alloc(o, VXT_STAGE_LABELS, (size_t)Z, (size_t)o->plane_or, o->lbytes, &st);
    }
    return st;
}

static void release(out *o)
{
    free(o->src_lo);
    free(o->win[0]);
    free(o->win[1]);
    free(o->chunk_vals);
    free(o->chunk_labels);
    free(o->model_labels);
    free(o->show_model);
    free(o->show_back);
    free(o->show_labels);
    if (o->sink && o->r->oriented) {
        free(o->labels_dst);
        free(o->probs_dst);
    }
}

/* The sliding window itself, with the callbacks above doing everything after it as slabs come. */
static vxt_status sliding_window(out *o)
{
    vxt__run *r = o->r;
    vxt_tiling_options to;
    vxt_stitch_options so;
    vxt_status st = vxt_plan_stitch_settings(r->plan, r->model_shape, o->C, &to, &so);
    vxt_tiling *tiling = NULL;
    if (st == VXT_OK)
        st = vxt_tiling_create(&to, &tiling);
    if (st != VXT_OK)
        return vxt__run_fail(r, VXT_STAGE_SLIDING_WINDOW, st);
    vxt_tiling_info ti = {.struct_size = sizeof ti};
    vxt_tiling_get_info(tiling, &ti);
    r->res->tiles = ti.tile_count;
    so.tile_dtype = r->p->tile_dtype;
    so.progress = on_progress;
    so.progress_user = o;
    vxt_stitch_output sout;
    vxt_stitch_output_init(&sout);
    sout.sink = on_slab;
    sout.sink_user = o;
    sout.want_values = r->resampled ? o->values_back : (o->want_probs || r->show);
    sout.want_labels = r->resampled ? o->labels_nearest : o->want_labels;
    vxt_volume in = {r->model_input, VXT_DTYPE_F32, r->cin, {r->model_shape[0], r->model_shape[1], r->model_shape[2]}};
    double t0 = vxt__now();
    st = vxt_stitch(r->ctx, tiling, &so, &in, on_predict, o, &sout);
    double seconds = vxt__now() - t0 - r->inner_seconds;
    vxt_tiling_destroy(tiling);
    if (st == VXT_OK && o->st == VXT_OK) { /* kept otherwise, for a retry on the CPU (vxt__run_can_fall_back) */
        free(r->model_input);
        r->model_input = NULL;
    }
    if (o->st != VXT_OK) /* a stage after it failed */
        return vxt__fail(r->ctx, o->st, "%s", o->msg);
    if (st == VXT_ERR_PREDICTOR && o->predict_st != VXT_OK) {
        r->failed_stage = VXT_STAGE_SLIDING_WINDOW;
        r->no_fallback = 1; /* the runner's failure, not the device's */
        return vxt__fail(r->ctx, o->predict_st, "sliding_window: %s", o->predict_msg);
    }
    if (st != VXT_OK && r->cancelled)
        return vxt__fail(r->ctx, VXT_ERR_CANCELLED, "the run was cancelled during the sliding window");
    if (st == VXT_ERR_NONFINITE) { /* name the model that gave it (the engine's message names the member) */
        char msg[1024];
        vxt__strlcpy(msg, vxt_last_error(), sizeof msg);
        const char *m = strstr(msg, ", member ");
        const int member = m ? atoi(m + 9) : 0;
        const char *spec = vxt_plan_member(r->plan, member, NULL);
        r->failed_stage = VXT_STAGE_SLIDING_WINDOW;
        return vxt__fail(r->ctx, st, "sliding_window: model %s: %s", spec ? spec : "?", msg);
    }
    if (st != VXT_OK)
        return vxt__run_fail(r, VXT_STAGE_SLIDING_WINDOW, st);
    vxt_volume shown = {o->show_model, VXT_DTYPE_F32, o->C, {r->model_shape[0], r->model_shape[1], r->model_shape[2]}};
    return vxt__run_stage_done(r, VXT_STAGE_SLIDING_WINDOW, seconds, o->show_model ? &shown : NULL);
}

/* The stages that ran inside the sliding window, reported after it in pipeline order. */
static vxt_status report_after(out *o)
{
    vxt__run *r = o->r;
    vxt_status st = VXT_OK;
    const int64_t *g = r->or_shape;
    vxt_volume back = {o->show_back, VXT_DTYPE_F32, o->C, {g[0], g[1], g[2]}};
    vxt_volume lab = {o->show_labels, r->plan->label_dtype, 1, {g[0], g[1], g[2]}};
    if (o->values_back)
        st = vxt__run_stage_done(r, VXT_STAGE_RESAMPLE_BACK, o->t_back, o->show_back ? &back : NULL);
    if (st == VXT_OK && o->want_labels)
        st = vxt__run_stage_done(r, VXT_STAGE_LABELS, o->t_labels, o->show_labels ? &lab : NULL);
    if (st == VXT_OK && r->oriented) {
        vxt_volume restored = {o->labels_dst ? o->labels_dst : o->probs_dst,
                               o->labels_dst ? r->plan->label_dtype : VXT_DTYPE_F32, o->labels_dst ? 1 : o->C,
                               {r->in_shape[0], r->in_shape[1], r->in_shape[2]}};
        st = vxt__run_stage_done(r, VXT_STAGE_RESTORE, o->t_restore, restored.data ? &restored : NULL);
    }
    return st;
}

vxt_status vxt__run_output(vxt__run *r)
{
    out o;
    memset(&o, 0, sizeof o);
    o.r = r;
    o.C = r->classes;
    o.want_labels = (r->opt.outputs & VXT_OUTPUT_LABELS) != 0;
    o.want_probs = (r->opt.outputs & VXT_OUTPUT_PROBABILITIES) != 0;
    o.sink = r->opt.sink != NULL;
    o.lbytes = vxt_dtype_size(r->plan->label_dtype);
    o.plane_in = r->in_shape[1] * r->in_shape[2];
    o.plane_or = r->or_shape[1] * r->or_shape[2];
    o.plane_model = r->model_shape[1] * r->model_shape[2];
    const int by_values = r->plan->back == VXT_BACK_PROBABILITIES;
    o.values_back = r->resampled && (o.want_probs || (o.want_labels && by_values));
    o.labels_from_values = r->resampled && by_values;
    o.labels_nearest = r->resampled && !by_values && o.want_labels;
    vxt_status st = destinations(&o);
    if (st == VXT_OK)
        st = buffers(&o);
    if (st == VXT_OK)
        st = sliding_window(&o);
    if (st == VXT_OK && o.labels_nearest)
        st = back_labels(&o);
    if (st == VXT_OK && o.sink && r->oriented)
        st = deliver_restored(&o);
    if (st == VXT_OK)
        st = report_after(&o);
    release(&o);
    return st;
}
