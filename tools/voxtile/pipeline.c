/* pipeline.c - the stages of `voxtile run` over library calls (docs/CLI.md "voxtile run"):
 *
 *   rescale        stored values -> physical units (scl_slope, scl_inter), float32       vxt_rescale
 *   resample       to the model's spacing (trilinear; nnU-Net's anisotropic variant)     vxt_resample
 *   normalize      the plan's scheme, per input channel                                   vxt_window, vxt_zscore, ...
 *   sliding_window tiles, the model, Gaussian-weighted stitching, activation              vxt_stitch
 *   resample_back  probabilities (or labels, nearest) back to the input's grid            vxt_resample
 *   labels         argmax over channels                                                   vxt_argmax
 *
 * (normalize comes before resample when the plan says so, as nnU-Net's preprocessing does.) Each stage's
 * output is shown to an observer, which is how `voxtile validate` compares backends stage by stage. Without an
 * observer and without a probabilities output, resample_back and labels run slab by slab (the resampler's
 * output window): C x the input's voxels of float32 never exist at once, and the labels have the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct run_state {
    const pipeline_args *a;
    pipeline_result *res;
    char *err;
    size_t errn;
    double t0;
} run_state;

static int exit_of(vxt_status st)
{
    switch (st) {
    case VXT_ERR_PREDICTOR:
        return VXT_EXIT_PLUGIN;
    case VXT_ERR_NONFINITE:
        return VXT_EXIT_PLUGIN;
    case VXT_ERR_CANCELLED:
        return VXT_EXIT_CANCELLED;
    case VXT_ERR_NO_DEVICE:
    case VXT_ERR_NO_PLATFORM:
        return VXT_EXIT_NO_BACKEND;
    case VXT_ERR_INVALID_ARGUMENT:
    case VXT_ERR_SHAPE_MISMATCH:
    case VXT_ERR_UNSUPPORTED:
        return VXT_EXIT_PLAN;
    default:
        return VXT_EXIT_FAILURE;
    }
}

static int stage_fail(run_state *r, const char *stage, vxt_status st)
{
    snprintf(r->err, r->errn, "%s: %s", stage, vxt_last_error());
    return exit_of(st);
}

static float *alloc_floats(run_state *r, const char *stage, size_t n)
{
    float *p = malloc(n * sizeof(float) + 16);
    if (!p)
        snprintf(r->err, r->errn, "%s: out of memory for %zu MiB", stage, (n * sizeof(float)) >> 20);
    return p;
}

/* Record a stage that took `seconds`, show its output (when there is one to show) and report progress. */
static int stage_record(run_state *r, const char *stage, double seconds, const vxt_volume *out)
{
    pipeline_result *res = r->res;
    if (res->nstages < PIPELINE_MAX_STAGES) {
        res->stage_name[res->nstages] = stage;
        res->stage_seconds[res->nstages] = seconds;
        res->nstages++;
    }
    if (out && r->a->observe && r->a->observe(r->a->user, stage, out, seconds) != 0) {
        snprintf(r->err, r->errn, "%s: stopped by the observer", stage);
        return VXT_EXIT_FAILURE;
    }
    if (r->a->progress)
        r->a->progress(r->a->user, stage, 0, 0);
    return 0;
}

/* Record a stage that ends now and show its output. */
static int stage_done(run_state *r, const char *stage, const vxt_volume *out)
{
    int rc = stage_record(r, stage, now() - r->t0, out);
    r->t0 = now();
    return rc;
}

/* Resample the C channels of mv back to the input's grid and reduce them to labels, a slab of output planes at
 * a time (about 64 MiB of probabilities): the same bits as resampling everything and then taking the argmax. */
static int back_by_slabs(run_state *r, vxt_context *ctx, const vxt_volume *mv, const vxt_resample_options *rb,
                         vxt_volume *lab)
{
    const int64_t C = mv->channels, nz = lab->shape[0], plane = lab->shape[1] * lab->shape[2];
    size_t budget = (size_t)64 << 20;
    const char *e = getenv("VOXTILE_BACK_SLAB_BYTES"); /* for the tests: many slabs on a small volume */
    if (e && atol(e) > 0)
        budget = (size_t)atol(e);
    int64_t S = (int64_t)(budget / ((size_t)C * (size_t)plane * sizeof(float)));
    S = S < 1 ? 1 : (S > nz ? nz : S);
    float *buf = alloc_floats(r, "resample_back", (size_t)C * (size_t)S * (size_t)plane);
    if (!buf)
        return VXT_EXIT_FAILURE;
    double t_res = 0, t_lab = 0, t = now();
    const size_t les = vxt_dtype_size(lab->dtype);
    vxt_resample_options o = *rb;
    o.out_z_total = nz;
    for (int64_t z0 = 0; z0 < nz; z0 += S) {
        const int64_t n = nz - z0 < S ? nz - z0 : S;
        vxt_volume pv = {buf, VXT_DTYPE_F32, C, {n, lab->shape[1], lab->shape[2]}};
        vxt_volume lv = {(char *)lab->data + (size_t)(z0 * plane) * les, lab->dtype, 1,
                         {n, lab->shape[1], lab->shape[2]}};
        o.out_z_offset = z0;
        vxt_status st = vxt_resample(ctx, mv, &pv, &o);
        if (st != VXT_OK) {
            free(buf);
            return stage_fail(r, "resample_back", st);
        }
        double t1 = now();
        t_res += t1 - t;
        if ((st = vxt_argmax(ctx, &pv, &lv)) != VXT_OK) {
            free(buf);
            return stage_fail(r, "labels", st);
        }
        t = now();
        t_lab += t - t1;
    }
    free(buf);
    stage_record(r, "resample_back", t_res, NULL);
    stage_record(r, "labels", t_lab, NULL);
    r->t0 = now();
    return 0;
}

static vxt_volume channel_view(const vxt_volume *v, int64_t c)
{
    vxt_volume ch = *v;
    size_t n = (size_t)(v->shape[0] * v->shape[1] * v->shape[2]);
    ch.data = (char *)v->data + (size_t)c * n * vxt_dtype_size(v->dtype);
    ch.channels = 1;
    return ch;
}

static int normalize(run_state *r, vxt_volume *v)
{
    const run_plan *p = r->a->plan;
    vxt_context *ctx = r->a->ctx;
    for (int64_t c = 0; c < v->channels; c++) {
        vxt_volume ch = channel_view(v, c);
        vxt_status st = VXT_OK;
        switch (p->norm) {
        case NORM_NONE:
            break;
        case NORM_WINDOW:
            st = vxt_window(ctx, &ch, &ch, p->lo, p->hi);
            break;
        case NORM_CT:
            st = vxt_ct_normalize(ctx, &ch, &ch, p->lo, p->hi, p->mean, p->std);
            break;
        case NORM_ZSCORE:
            st = vxt_zscore(ctx, &ch, VXT_SELECT_ALL, NULL, &ch, NULL);
            break;
        case NORM_ZSCORE_NONZERO:
            st = vxt_zscore(ctx, &ch, VXT_SELECT_NONZERO, NULL, &ch, NULL);
            break;
        case NORM_MINMAX:
            st = vxt_minmax_normalize(ctx, &ch, VXT_SELECT_ALL, NULL, &ch, NULL);
            break;
        case NORM_PERCENTILE:
            st = vxt_percentile_clip(ctx, &ch, VXT_SELECT_ALL, NULL, p->plo, p->phi, &ch, NULL);
            break;
        }
        if (st != VXT_OK)
            return stage_fail(r, "normalize", st);
    }
    return stage_done(r, "normalize", v);
}

typedef struct dispatch {
    cli_model *models;
    const pipeline_args *a;
} dispatch;

static int predict(void *user, const vxt_batch *b)
{
    dispatch *d = (dispatch *)user;
    cli_model *m = &d->models[b->member];
    return m->predict(m->state, b);
}

static int progress(void *user, uint64_t done, uint64_t total)
{
    dispatch *d = (dispatch *)user;
    if (d->a->progress)
        d->a->progress(d->a->user, "sliding_window", done, total);
    return 0;
}


int pipeline_run(const pipeline_args *a, pipeline_result *res, char *err, size_t errn)
{
    memset(res, 0, sizeof *res);
    run_state r = {a, res, err, errn, now()};
    const run_plan *p = a->plan;
    vxt_context *ctx = a->ctx;
    int rc = 0;
    vxt_status st;
    float *cur = NULL, *model_out = NULL, *back = NULL;
    void *model_labels = NULL;
    vxt_plan *tplan = NULL;

    vxt_volume raw;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_geometry geom;
    vxt_geometry_init(&geom);
    if ((st = vxt_image_volume(a->input, &raw)) != VXT_OK || (st = vxt_image_get_info(a->input, &info)) != VXT_OK ||
        (st = vxt_image_get_geometry(a->input, &geom)) != VXT_OK)
        return stage_fail(&r, "input", st);
    const int64_t Cin = raw.channels;
    for (int m = 0; m < p->members; m++) {
        if (a->models[m].in_channels && a->models[m].in_channels != Cin) {
            snprintf(err, errn, "model '%s' takes %lld input channels; the image has %lld", a->models[m].name,
                     (long long)a->models[m].in_channels, (long long)Cin);
            return VXT_EXIT_PLAN;
        }
        if (a->models[m].out_channels != a->models[0].out_channels || a->models[m].dtype != a->models[0].dtype) {
            snprintf(err, errn, "ensemble members disagree: '%s' gives %lld channels of %s, '%s' %lld of %s",
                     a->models[0].name, (long long)a->models[0].out_channels, vxt_dtype_name(a->models[0].dtype),
                     a->models[m].name, (long long)a->models[m].out_channels, vxt_dtype_name(a->models[m].dtype));
            return VXT_EXIT_PLAN;
        }
        for (int ax = 0; ax < 3; ax++)
            if (a->models[m].roi[ax] && a->models[m].roi[ax] != p->roi[ax]) {
                snprintf(err, errn, "model '%s' needs tiles of %lldx%lldx%lld; the plan's ROI is %lldx%lldx%lld",
                         a->models[m].name, (long long)a->models[m].roi[0], (long long)a->models[m].roi[1],
                         (long long)a->models[m].roi[2], (long long)p->roi[0], (long long)p->roi[1],
                         (long long)p->roi[2]);
                return VXT_EXIT_PLAN;
            }
    }
    const int64_t C = a->models[0].out_channels;
    if (C > 256 && p->label_dtype == VXT_DTYPE_U8) {
        snprintf(err, errn, "%lld classes do not fit uint8 labels; use --label-dtype uint16", (long long)C);
        return VXT_EXIT_PLAN;
    }
    res->channels = C;
    int64_t shape_in[3] = {raw.shape[0], raw.shape[1], raw.shape[2]};
    size_t vox_in = (size_t)(shape_in[0] * shape_in[1] * shape_in[2]);

    /* rescale: stored values to physical units, float32 (nibabel's scaling) */
    double slope = 1.0, inter = 0.0;
    if (isfinite(info.scl_slope) && info.scl_slope != 0.0) {
        slope = info.scl_slope;
        inter = isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    }
    if (!(cur = alloc_floats(&r, "rescale", (size_t)Cin * vox_in)))
        return VXT_EXIT_FAILURE;
    vxt_volume vol = {cur, VXT_DTYPE_F32, Cin, {shape_in[0], shape_in[1], shape_in[2]}};
    if ((st = vxt_rescale(ctx, &raw, &vol, slope, inter)) != VXT_OK) {
        rc = stage_fail(&r, "rescale", st);
        goto out;
    }
    if ((rc = stage_done(&r, "rescale", &vol)))
        goto out;
    if (p->normalize_first && (rc = normalize(&r, &vol)))
        goto out;

    /* resample to the model's spacing */
    int64_t shape_m[3] = {shape_in[0], shape_in[1], shape_in[2]};
    vxt_resample_options ro;
    vxt_resample_options_init(&ro);
    /* a 2D model's spacing (z = 0) keeps the input's spacing between slices, as nnU-Net's 2d configurations do */
    const double target[3] = {p->spacing[0] > 0 ? p->spacing[0] : geom.spacing[0], p->spacing[1], p->spacing[2]};
    if (p->have_spacing) {
        if ((st = vxt_resample_shape_spacing(shape_in, geom.spacing, target, shape_m)) != VXT_OK) {
            rc = stage_fail(&r, "resample", st);
            goto out;
        }
        if (p->anisotropic_nnunet && (st = vxt_resample_options_nnunet(geom.spacing, target, 0, &ro)) != VXT_OK) {
            rc = stage_fail(&r, "resample", st);
            goto out;
        }
    }
    int resampled = shape_m[0] != shape_in[0] || shape_m[1] != shape_in[1] || shape_m[2] != shape_in[2];
    memcpy(res->model_shape, shape_m, sizeof shape_m);
    size_t vox_m = (size_t)(shape_m[0] * shape_m[1] * shape_m[2]);
    if (resampled) {
        float *next = alloc_floats(&r, "resample", (size_t)Cin * vox_m);
        if (!next) {
            rc = VXT_EXIT_FAILURE;
            goto out;
        }
        vxt_volume nv = {next, VXT_DTYPE_F32, Cin, {shape_m[0], shape_m[1], shape_m[2]}};
        st = vxt_resample(ctx, &vol, &nv, &ro);
        free(cur);
        cur = next;
        vol = nv;
        if (st != VXT_OK) {
            rc = stage_fail(&r, "resample", st);
            goto out;
        }
        if ((rc = stage_done(&r, "resample", &vol)))
            goto out;
    }
    if (!p->normalize_first && (rc = normalize(&r, &vol)))
        goto out;

    /* sliding window */
    vxt_plan_options po;
    vxt_plan_options_init(&po);
    memcpy(po.shape, shape_m, sizeof po.shape);
    memcpy(po.roi, p->roi, sizeof po.roi);
    po.grid = p->grid;
    for (int ax = 0; ax < 3; ax++) {
        po.overlap[ax] = p->roi[ax] == 1 ? 0.0 : p->overlap;
        po.step[ax] = p->roi[ax] == 1 ? 1.0 : p->step;
        po.overlap_voxels[ax] = p->roi[ax] == 1 ? 0 : p->overlap_voxels;
    }
    po.pad = p->pad;
    po.pad_value = (float)p->pad_value;
    if ((st = vxt_plan_create(&po, &tplan)) != VXT_OK) {
        snprintf(err, errn, "sliding_window: %s", vxt_last_error());
        rc = VXT_EXIT_PLAN;
        goto out;
    }
    vxt_plan_info pi = {.struct_size = sizeof pi};
    vxt_plan_get_info(tplan, &pi);
    res->tiles = pi.tile_count;
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = C;
    so.tile_dtype = a->models[0].dtype;
    so.importance = p->importance;
    so.sigma_scale[0] = so.sigma_scale[1] = so.sigma_scale[2] = p->sigma_scale;
    so.accumulate = p->accumulate;
    so.batch_size = p->batch_size;
    so.mirror_axes = p->mirror_axes;
    so.members = p->members;
    so.activation = p->activation;
    so.label_dtype = p->label_dtype;
    dispatch d = {a->models, a};
    so.progress = progress;
    so.progress_user = &d;

    /* outputs: straight into the result images when the grid is the input's */
    if ((st = vxt_image_create(p->label_dtype, 1, shape_in, a->input, &res->labels)) != VXT_OK ||
        (a->want_probabilities && (st = vxt_image_create(VXT_DTYPE_F32, C, shape_in, a->input, &res->probabilities)) !=
                                      VXT_OK)) {
        rc = stage_fail(&r, "output", st);
        goto out;
    }
    vxt_image_set_intent(res->labels, 1002, "labels", NULL);
    vxt_image_set_description(res->labels, "voxtile segmentation");
    vxt_volume lab_in, prob_in;
    vxt_image_volume(res->labels, &lab_in);
    if (res->probabilities) {
        vxt_image_volume(res->probabilities, &prob_in);
        vxt_image_set_description(res->probabilities, "voxtile probabilities");
    }
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    vxt_volume mv = {NULL, VXT_DTYPE_F32, C, {shape_m[0], shape_m[1], shape_m[2]}};
    vxt_volume ml = {NULL, p->label_dtype, 1, {shape_m[0], shape_m[1], shape_m[2]}};
    int values_back = resampled && (p->back_probabilities || a->want_probabilities);
    if (!resampled) {
        out.labels = &lab_in;
        if (res->probabilities)
            out.values = &prob_in;
    } else if (values_back) {
        if (!(model_out = alloc_floats(&r, "sliding_window", (size_t)C * vox_m))) {
            rc = VXT_EXIT_FAILURE;
            goto out;
        }
        mv.data = model_out;
        out.values = &mv;
    }
    if (resampled && !p->back_probabilities) {
        if (!(model_labels = malloc(vox_m * vxt_dtype_size(p->label_dtype)))) {
            snprintf(err, errn, "sliding_window: out of memory");
            rc = VXT_EXIT_FAILURE;
            goto out;
        }
        ml.data = model_labels;
        out.labels = &ml;
    }
    if ((st = vxt_stitch(ctx, tplan, &so, &vol, predict, &d, &out)) != VXT_OK) {
        rc = stage_fail(&r, "sliding_window", st);
        goto out;
    }
    free(cur);
    cur = NULL;
    vxt_context_trim(ctx); /* the accumulators the context keeps for another run: this one is done with them */
    if ((rc = stage_done(&r, "sliding_window", out.values ? out.values : out.labels)))
        goto out;
    if (!resampled) {
        if (out.values && (rc = stage_done(&r, "labels", &lab_in)))
            goto out;
        goto out;
    }

    /* back to the input's grid */
    vxt_resample_options rb;
    vxt_resample_options_init(&rb);
    if (p->anisotropic_nnunet && p->have_spacing &&
        (st = vxt_resample_options_nnunet(target, geom.spacing, 0, &rb)) != VXT_OK) {
        rc = stage_fail(&r, "resample_back", st);
        goto out;
    }
    if (values_back && p->back_probabilities && !res->probabilities && !a->observe) {
        rc = back_by_slabs(&r, ctx, &mv, &rb, &lab_in);
        goto out;
    }
    if (values_back) {
        vxt_volume pv = {NULL, VXT_DTYPE_F32, C, {shape_in[0], shape_in[1], shape_in[2]}};
        if (res->probabilities) {
            pv = prob_in;
        } else {
            if (!(back = alloc_floats(&r, "resample_back", (size_t)C * vox_in))) {
                rc = VXT_EXIT_FAILURE;
                goto out;
            }
            pv.data = back;
        }
        if ((st = vxt_resample(ctx, &mv, &pv, &rb)) != VXT_OK) {
            rc = stage_fail(&r, "resample_back", st);
            goto out;
        }
        free(model_out);
        model_out = NULL;
        if ((rc = stage_done(&r, "resample_back", &pv)))
            goto out;
        if (p->back_probabilities) {
            if ((st = vxt_argmax(ctx, &pv, &lab_in)) != VXT_OK) {
                rc = stage_fail(&r, "labels", st);
                goto out;
            }
            if ((rc = stage_done(&r, "labels", &lab_in)))
                goto out;
        }
    }
    if (!p->back_probabilities) { /* labels, nearest: never interpolated */
        vxt_resample_options rn;
        vxt_resample_options_init(&rn);
        for (int ax = 0; ax < 3; ax++)
            rn.interp[ax] = VXT_INTERP_NEAREST;
        if ((st = vxt_resample(ctx, &ml, &lab_in, &rn)) != VXT_OK) {
            rc = stage_fail(&r, "resample_back", st);
            goto out;
        }
        if ((rc = stage_done(&r, "labels", &lab_in)))
            goto out;
    }
out:
    free(cur);
    free(model_out);
    free(back);
    free(model_labels);
    vxt_plan_destroy(tplan);
    if (rc)
        pipeline_result_free(res);
    return rc;
}

void pipeline_result_free(pipeline_result *res)
{
    vxt_image_destroy(res->labels);
    vxt_image_destroy(res->probabilities);
    res->labels = res->probabilities = NULL;
}
