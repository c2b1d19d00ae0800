/* test_pipeline.c - whole pipelines (vxt_pipeline_run):
 *   - every stage's output equals the library call it stands for, on the previous stage's output (the streamed
 *     way back to the input's grid included: the bits of a whole resampling); the plan's replacement of a value
 *     (normalization.replace) in the rescale stage, before the normalization's statistics;
 *   - orientation and axis order: the model sees the hand-computed permutation, and outputs come back exactly;
 *   - outputs: labels only, probabilities, sinks (slabs in order, the same bits as images);
 *   - ensembles averaged as logits or as probabilities; progress over tiles x members x mirrorings;
 *   - cancellation from another thread, by progress and by the observer; errors;
 *   - concurrent pipelines on one context give the bits of sequential runs (CPU and OpenCL);
 *   - CPU and OpenCL give identical bits at every stage;
 *   - a labels-only run never holds classes x volume (peak memory of a child process). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "vxt_test.h"

/* ---- helpers ------------------------------------------------------------------------------------------- */

static vxt_plan *plan_from(const char *json)
{
    vxt_plan *p = NULL;
    assert_ok(vxt_plan_create(&p));
    assert_ok(vxt_plan_load_json(p, json, strlen(json), "test"));
    return p;
}

static vxt_image *make_image(vxt_dtype dtype, int64_t channels, const int64_t shape[3], const double spacing[3],
                             const char *orient, uint64_t seed)
{
    return vxt_test_image(dtype, channels, shape, spacing, orient, seed);
}

static size_t image_bytes(const vxt_image *img, const void **data)
{
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    size_t b = 0;
    assert_ok(vxt_volume_bytes(&v, &b));
    *data = v.data;
    return b;
}

static void assert_same_image_data(const vxt_image *a, const vxt_image *b, const char *what)
{
    const void *da, *db;
    size_t na = image_bytes(a, &da), nb = image_bytes(b, &db);
    assert_int_equal(na, nb);
    if (memcmp(da, db, na) != 0)
        fail_msg("%s: the voxels differ", what);
}

static void assert_same_geometry(const vxt_image *a, const vxt_image *b)
{
    vxt_geometry ga = {.struct_size = sizeof ga}, gb = {.struct_size = sizeof gb};
    assert_ok(vxt_image_get_geometry(a, &ga));
    assert_ok(vxt_image_get_geometry(b, &gb));
    assert_memory_equal(ga.affine, gb.affine, sizeof ga.affine);
    assert_string_equal(ga.orientation, gb.orientation);
}

/* Every stage's whole output, copied by the observer (VXT_RUN_SHOW_OUTPUTS). */
typedef struct shown {
    vxt_volume v[VXT_STAGE_COUNT_];
    int order[VXT_STAGE_COUNT_], n;
    int stop_after; /* -1: never */
} shown;

static int keep_stage(void *user, const vxt_stage_report *rep)
{
    shown *s = (shown *)user;
    s->order[s->n++] = (int)rep->stage;
    if (rep->output) {
        size_t b = 0;
        assert_ok(vxt_volume_bytes(rep->output, &b));
        s->v[rep->stage] = *rep->output;
        s->v[rep->stage].data = malloc(b);
        memcpy(s->v[rep->stage].data, rep->output->data, b);
    }
    return (int)rep->stage == s->stop_after;
}

static void shown_free(shown *s)
{
    for (int i = 0; i < VXT_STAGE_COUNT_; i++)
        free(s->v[i].data);
}

static vxt_status run(vxt_pipeline *p, const vxt_image *img, unsigned outputs, shown *s, vxt_run_result *res)
{
    vxt_run_options o;
    vxt_run_options_init(&o);
    o.outputs = outputs;
    if (s) {
        memset(s, 0, sizeof *s);
        s->stop_after = -1;
        o.observer = keep_stage;
        o.observer_user = s;
        o.flags = VXT_RUN_SHOW_OUTPUTS;
    }
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    return vxt_pipeline_run(p, img, &o, res);
}

static void assert_volume_bits(const vxt_volume *a, const vxt_volume *b, const char *what)
{
    assert_non_null(a->data);
    assert_non_null(b->data);
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->channels, b->channels);
    assert_memory_equal(a->shape, b->shape, sizeof a->shape);
    size_t n = 0;
    assert_ok(vxt_volume_bytes(a, &n));
    if (memcmp(a->data, b->data, n) != 0) {
        if (a->dtype == VXT_DTYPE_F32)
            vxt_count_bit_diffs(a->data, b->data, n / 4, what);
        fail_msg("%s: the bits differ", what);
    }
}

/* The bands runner as a stitching predictor (the pipeline calls the runner the same way). */
static int runner_predict(void *user, const vxt_batch *b)
{
    return vxt_runner_predict((vxt_runner *)user, b) != VXT_OK;
}

/* ---- every stage is the library call it names --------------------------------------------------------- */

static const char *stage_plan =
    "{\"model\": {\"model\": \"bands:-0.8,0,0.9\", \"config\": \"sharpness=4\"}, \"target_spacing\": [2.0, 1.3, 1.7],"
    " \"normalization\": {\"scheme\": \"zscore\"}, \"roi\": [8, 12, 10], \"overlap\": 0.4, \"batch_size\": 3,"
    " \"mirror_axes\": [1], \"activation\": \"softmax\"}";

static void check_stages(vxt_context *ctx)
{
    const int64_t shape[3] = {13, 22, 19};
    const double spacing[3] = {2.5, 1.1, 0.9};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 7);
    vxt_plan *plan = plan_from(stage_plan);
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    shown s;
    vxt_run_result res;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, &s, &res));
    const int order[] = {VXT_STAGE_RESCALE, VXT_STAGE_RESAMPLE, VXT_STAGE_NORMALIZE, VXT_STAGE_SLIDING_WINDOW,
                         VXT_STAGE_RESAMPLE_BACK, VXT_STAGE_LABELS};
    assert_int_equal(s.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(s.order[i], order[i]);
    assert_int_equal(res.stages, (1u << VXT_STAGE_RESCALE) | (1u << VXT_STAGE_RESAMPLE) | (1u << VXT_STAGE_NORMALIZE) |
                                     (1u << VXT_STAGE_SLIDING_WINDOW) | (1u << VXT_STAGE_RESAMPLE_BACK) |
                                     (1u << VXT_STAGE_LABELS));
    /* rescale: the stored int16 values as float32 */
    vxt_volume raw;
    assert_ok(vxt_image_volume(img, &raw));
    size_t V = (size_t)(shape[0] * shape[1] * shape[2]);
    float *x = malloc(V * sizeof(float));
    vxt_volume xv = {x, VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};
    assert_ok(vxt_rescale(ctx, &raw, &xv, 1.0, 0.0));
    assert_volume_bits(&s.v[VXT_STAGE_RESCALE], &xv, "rescale");
    /* resample: nnU-Net's shape rule, trilinear */
    int64_t ms[3];
    const double target[3] = {2.0, 1.3, 1.7};
    assert_ok(vxt_resample_shape_spacing(shape, spacing, target, ms));
    assert_memory_equal(res.model_shape, ms, sizeof ms);
    size_t Vm = (size_t)(ms[0] * ms[1] * ms[2]);
    float *m = malloc(Vm * sizeof(float));
    vxt_volume mv = {m, VXT_DTYPE_F32, 1, {ms[0], ms[1], ms[2]}};
    vxt_resample_options ro;
    vxt_resample_options_init(&ro);
    assert_ok(vxt_resample(ctx, &xv, &mv, &ro));
    assert_volume_bits(&s.v[VXT_STAGE_RESAMPLE], &mv, "resample");
    /* normalize: the plan's scheme */
    assert_ok(vxt_plan_normalize(ctx, plan, &mv, NULL, NULL));
    assert_volume_bits(&s.v[VXT_STAGE_NORMALIZE], &mv, "normalize");
    /* sliding window: vxt_stitch with the plan's settings and the same runner */
    vxt_tiling_options to;
    vxt_stitch_options so;
    assert_ok(vxt_plan_stitch_settings(plan, ms, 4, &to, &so));
    vxt_tiling *tiling = NULL;
    assert_ok(vxt_tiling_create(&to, &tiling));
    vxt_tiling_info ti = {.struct_size = sizeof ti};
    assert_ok(vxt_tiling_get_info(tiling, &ti));
    assert_int_equal(res.tiles, ti.tile_count);
    assert_int_equal(res.tile_predictions, 2 * ti.tile_count); /* mirroring over y: 2 */
    vxt_runner *runner = NULL;
    assert_ok(vxt_runner_create("bands:-0.8,0,0.9", "sharpness=4", &runner));
    float *cv = malloc(4 * Vm * sizeof(float));
    vxt_volume cvol = {cv, VXT_DTYPE_F32, 4, {ms[0], ms[1], ms[2]}};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.values = &cvol;
    assert_ok(vxt_stitch(ctx, tiling, &so, &mv, runner_predict, runner, &out));
    assert_volume_bits(&s.v[VXT_STAGE_SLIDING_WINDOW], &cvol, "sliding_window");
    /* the way back: one whole resampling of the class values (the pipeline streams it in windows) */
    float *bv = malloc(4 * V * sizeof(float));
    vxt_volume bvol = {bv, VXT_DTYPE_F32, 4, {shape[0], shape[1], shape[2]}};
    assert_ok(vxt_resample(ctx, &cvol, &bvol, &ro));
    assert_volume_bits(&s.v[VXT_STAGE_RESAMPLE_BACK], &bvol, "resample_back");
    vxt_volume pv;
    assert_ok(vxt_image_volume(res.probabilities, &pv));
    assert_volume_bits(&pv, &bvol, "probabilities");
    /* labels: argmax of those */
    uint8_t *lab = malloc(V);
    vxt_volume lv = {lab, VXT_DTYPE_U8, 1, {shape[0], shape[1], shape[2]}};
    assert_ok(vxt_labels(ctx, &bvol, VXT_LABELS_ARGMAX, 0.5, NULL, &lv));
    assert_volume_bits(&s.v[VXT_STAGE_LABELS], &lv, "labels");
    vxt_volume rl;
    assert_ok(vxt_image_volume(res.labels, &rl));
    assert_volume_bits(&rl, &lv, "label image");
    int seen[4] = {0};
    for (size_t i = 0; i < V; i++)
        seen[lab[i]] = 1;
    assert_true(seen[0] && seen[1] && seen[2] && seen[3]); /* a non-trivial segmentation */
    /* outputs carry the input's geometry; the labels are NIfTI labels */
    assert_same_geometry(res.labels, img);
    assert_same_geometry(res.probabilities, img);
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    assert_ok(vxt_nifti_get_info(res.labels, &ni));
    assert_int_equal(ni.intent_code, 1002);
    /* a labels-only run (no whole class values anywhere) gives the same labels, and so does a sink */
    vxt_run_result only;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS, NULL, &only));
    assert_null(only.probabilities);
    assert_same_image_data(only.labels, res.labels, "labels-only run");
    vxt_run_result_clear(&only);
    vxt_run_result_clear(&res);
    shown_free(&s);
    free(x);
    free(m);
    free(cv);
    free(bv);
    free(lab);
    vxt_runner_destroy(runner);
    vxt_tiling_destroy(tiling);
    vxt_pipeline_destroy(p);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
}

/* The resample stage with cubic interpolation is vxt_resample with nnU-Net's order-3 options (anisotropic: the coarse
 * axis nearest, each slice clipped to its range) or with every axis cubic and the input's range (isotropic). */
static void check_cubic_stage(vxt_context *ctx)
{
    const int64_t shape[3] = {9, 24, 21};
    const double spacing[3] = {4.0, 1.0, 1.1};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 12);
    static const char *const plans[] = {
        "{\"model\": \"bands:-200,300\", \"target_spacing\": [1.3, 1.3, 1.3], \"anisotropic_resampling\": \"nnunet\","
        " \"interpolation\": \"cubic\", \"roi\": [6, 8, 8]}",
        "{\"model\": \"bands:-200,300\", \"target_spacing\": [3, 1.5, 0.8], \"interpolation\": \"cubic\","
        " \"roi\": [6, 8, 8]}"};
    for (int k = 0; k < 2; k++) {
        vxt_plan *plan = plan_from(plans[k]);
        vxt_pipeline *p = NULL;
        assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
        shown s;
        vxt_run_result res;
        assert_ok(run(p, img, VXT_OUTPUT_LABELS, &s, &res));
        vxt_volume raw;
        assert_ok(vxt_image_volume(img, &raw));
        const size_t V = (size_t)(shape[0] * shape[1] * shape[2]);
        float *x = malloc(V * sizeof(float));
        vxt_volume xv = {x, VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};
        assert_ok(vxt_rescale(ctx, &raw, &xv, 1.0, 0.0));
        int64_t ms[3];
        const double target[2][3] = {{1.3, 1.3, 1.3}, {3, 1.5, 0.8}};
        assert_ok(vxt_resample_shape_spacing(shape, spacing, target[k], ms));
        float *m = malloc((size_t)(ms[0] * ms[1] * ms[2]) * sizeof(float));
        vxt_volume mv = {m, VXT_DTYPE_F32, 1, {ms[0], ms[1], ms[2]}};
        vxt_resample_options ro;
        vxt_resample_options_init(&ro);
        if (k == 0) {
            assert_ok(vxt_resample_options_nnunet_order(spacing, target[k], 3, &ro));
            assert_int_equal(ro.interp[0], VXT_INTERP_NEAREST);
        } else {
            ro.interp[0] = ro.interp[1] = ro.interp[2] = VXT_INTERP_CUBIC;
            ro.clip = VXT_CLIP_INPUT_RANGE;
        }
        assert_ok(vxt_resample(ctx, &xv, &mv, &ro));
        assert_volume_bits(&s.v[VXT_STAGE_RESAMPLE], &mv, k ? "cubic resample stage" : "nnU-Net order-3 stage");
        free(x);
        free(m);
        vxt_run_result_clear(&res);
        shown_free(&s);
        vxt_pipeline_destroy(p);
        vxt_plan_destroy(plan);
    }
    vxt_image_destroy(img);
}

/* A run of a plan read from an nnU-Net folder (tests/data/nnunet, 3d_fullres: order 3 by default) resamples the image
 * as nnU-Net does: after the normalization, its resample stage is vxt_resample with nnU-Net's order-3 options (the
 * coarse z nearest, in-plane cubic, each slice clipped to its range). */
static void check_nnunet_order3_run(vxt_context *ctx)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/nnunet/Dataset001_Test", vxt_test_data_dir());
    vxt_plan *plan = NULL;
    assert_ok(vxt_plan_create(&plan));
    assert_ok(vxt_plan_load_nnunet(plan, dir, "3d_fullres"));
    const char *model = "{\"model\": \"bands:-1,0,1\", \"roi\": [8, 16, 16]}";
    assert_ok(vxt_plan_load_json(plan, model, strlen(model), "test"));
    const int64_t shape[3] = {10, 30, 28};
    const double spacing[3] = {5.0, 0.8, 0.9}, target[3] = {2.5, 1.5, 1.5};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 21);
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    shown s;
    vxt_run_result res;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS, &s, &res));
    assert_non_null(s.v[VXT_STAGE_NORMALIZE].data);
    vxt_resample_options ro;
    vxt_resample_options_init(&ro);
    assert_ok(vxt_resample_options_nnunet_order(spacing, target, 3, &ro));
    assert_int_equal(ro.interp[0], VXT_INTERP_NEAREST);
    assert_int_equal(ro.interp[2], VXT_INTERP_CUBIC);
    int64_t ms[3];
    assert_ok(vxt_resample_shape_spacing(shape, spacing, target, ms));
    assert_memory_equal(res.model_shape, ms, sizeof ms);
    float *m = malloc((size_t)(ms[0] * ms[1] * ms[2]) * sizeof(float));
    vxt_volume mv = {m, VXT_DTYPE_F32, 1, {ms[0], ms[1], ms[2]}};
    assert_ok(vxt_resample(ctx, &s.v[VXT_STAGE_NORMALIZE], &mv, &ro));
    assert_volume_bits(&s.v[VXT_STAGE_RESAMPLE], &mv, "the nnU-Net plan's resample stage");
    free(m);
    vxt_run_result_clear(&res);
    shown_free(&s);
    vxt_pipeline_destroy(p);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
}

static void test_stages_cpu(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    check_stages(ctx);
    check_cubic_stage(ctx);
    check_nnunet_order3_run(ctx);
    vxt_context_destroy(ctx);
}

/* The plan's replacement (normalization.replace) is part of the rescale stage: the scanner's padding, a value in
 * intensity units, is gone before the statistics of the normalization are taken; on the model's axes too. */
static void test_replace_before_normalization(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {9, 14, 11};
    const double spacing[3] = {2.0, 1.0, 1.0};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 3);
    vxt_volume raw;
    assert_ok(vxt_image_volume(img, &raw));
    const size_t V = (size_t)(shape[0] * shape[1] * shape[2]);
    int16_t *s16 = raw.data;
    size_t padded = 0;
    for (size_t i = 0; i < V; i++)
        if (i % 5 == 0) {
            s16[i] = -2000; /* stored padding: -3024 in intensity units */
            padded++;
        }
    assert_ok(vxt_image_set_scaling(img, 1.0, -1024.0));
    vxt_plan *plan = plan_from("{\"model\": \"identity\", \"orientation\": \"RAS\", \"roi\": 8,"
                               " \"normalization\": {\"scheme\": \"zscore\", \"replace\": {\"value\": -3024,"
                               " \"with\": -1024}}}");
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    shown s;
    vxt_run_result res;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS, &s, &res));
    /* rescale: the oriented voxels to intensity units, then -3024 -> -1024 (vxt_plan_rescale on the oriented copy) */
    const vxt_volume *r = &s.v[VXT_STAGE_RESCALE];
    assert_non_null(r->data);
    const float *rv = r->data;
    size_t was_padding = 0;
    for (size_t i = 0; i < V; i++) {
        assert_true(rv[i] != -3024.0f);
        was_padding += rv[i] == -1024.0f;
    }
    assert_true(was_padding >= padded);
    vxt_image *ras = NULL;
    assert_ok(vxt_image_reorient(img, "RAS", &ras));
    vxt_volume ov;
    assert_ok(vxt_image_volume(ras, &ov));
    float *want = malloc(V * sizeof(float));
    vxt_volume wv = {want, VXT_DTYPE_F32, 1, {r->shape[0], r->shape[1], r->shape[2]}};
    assert_ok(vxt_plan_rescale(ctx, plan, img, &ov, &wv));
    assert_volume_bits(r, &wv, "rescale with replacement");
    /* normalize: the z-score of the replaced values */
    assert_ok(vxt_plan_normalize(ctx, plan, &wv, NULL, NULL));
    assert_volume_bits(&s.v[VXT_STAGE_NORMALIZE], &wv, "normalize after replacement");
    vxt_run_result_clear(&res);
    shown_free(&s);
    free(want);
    vxt_image_destroy(ras);
    vxt_pipeline_destroy(p);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
}

/* ---- orientation and axis order ----------------------------------------------------------------------- */

/* The input's value at the volume position that model voxel (m0, m1, m2) comes from, worked out from the axis
 * codes alone: oriented NIfTI axis b is the input axis with the same world axis, reversed when the directions
 * differ; model axis n is oriented volume axis t[n]. */
static float source_value(const float *in, const int64_t s[3], const char *have, const char *want, const int t[3],
                          const int64_t m[3])
{
    int64_t o[3]; /* oriented volume position */
    for (int n = 0; n < 3; n++)
        o[t[n]] = m[n];
    int64_t at[3] = {-1, -1, -1}; /* input volume position */
    for (int vb = 0; vb < 3; vb++) { /* oriented volume axis vb = NIfTI axis 2 - vb */
        const char w = want[2 - vb];
        for (int a = 0; a < 3; a++) { /* input NIfTI axis a */
            const char h = have[a];
            int same_world = (strchr("RL", w) && strchr("RL", h)) || (strchr("AP", w) && strchr("AP", h)) ||
                             (strchr("SI", w) && strchr("SI", h));
            if (!same_world)
                continue;
            int64_t len = s[2 - a];
            at[2 - a] = w == h ? o[vb] : len - 1 - o[vb];
        }
    }
    return in[(at[0] * s[1] + at[1]) * s[2] + at[2]];
}

static void test_orientation_round_trips(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    static const struct {
        const char *have, *want;
        int t[3];
    } cases[] = {
        {"RAS", "LIA", {2, 0, 1}}, /* flips, a permutation and a transpose */
        {"LPS", "LIA", {2, 1, 0}}, /* FreeSurfer-conformed: tensor axis 0 = NIfTI i */
        {"LPS", "RAS", {0, 1, 2}},
        {"PIR", "RAS", {1, 0, 2}},
        {"RAS", "", {0, 2, 1}},    /* the image's own orientation, another axis order */
    };
    const int64_t shape[3] = {7, 9, 11};
    const double spacing[3] = {1.5, 1.0, 0.8};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        vxt_image *img = make_image(VXT_DTYPE_F32, 2, shape, spacing, cases[k].have, 100 + k);
        char json[512];
        snprintf(json, sizeof json,
                 "{\"model\": \"identity\", \"roi\": [4, 4, 4], \"importance\": \"constant\", \"accumulate\": "
                 "\"float64\", \"activation\": \"none\", \"orientation\": %s%s%s, \"transpose\": [%d, %d, %d]}",
                 cases[k].want[0] ? "\"" : "", cases[k].want[0] ? cases[k].want : "null", cases[k].want[0] ? "\"" : "",
                 cases[k].t[0], cases[k].t[1], cases[k].t[2]);
        vxt_plan *plan = plan_from(json);
        vxt_pipeline *p = NULL;
        assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
        shown s;
        vxt_run_result res;
        assert_ok(run(p, img, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, &s, &res));
        /* the model saw the permuted voxels */
        assert_true(res.stages & (1u << VXT_STAGE_ORIENT));
        assert_true(res.stages & (1u << VXT_STAGE_RESTORE));
        const vxt_volume *ov = &s.v[VXT_STAGE_ORIENT];
        vxt_volume in;
        assert_ok(vxt_image_volume(img, &in));
        const char *want = cases[k].want[0] ? cases[k].want : cases[k].have;
        for (int64_t c = 0; c < 2; c++)
            for (int64_t m0 = 0; m0 < ov->shape[0]; m0++)
                for (int64_t m1 = 0; m1 < ov->shape[1]; m1++)
                    for (int64_t m2 = 0; m2 < ov->shape[2]; m2++) {
                        const int64_t mm[3] = {m0, m1, m2};
                        const size_t plane = (size_t)(shape[0] * shape[1] * shape[2]);
                        float want_v = source_value((const float *)in.data + c * plane, shape, cases[k].have, want,
                                                    cases[k].t, mm);
                        float got = ((const float *)ov->data)[(size_t)c * plane +
                                                              (size_t)((m0 * ov->shape[1] + m1) * ov->shape[2] + m2)];
                        if (got != want_v)
                            fail_msg("case %zu: model voxel (%lld, %lld, %lld) channel %lld is %g, expected %g", k,
                                     (long long)m0, (long long)m1, (long long)m2, (long long)c, (double)got,
                                     (double)want_v);
                    }
        /* and the outputs come back exactly: the identity's probabilities are the input, on its grid */
        assert_same_image_data(res.probabilities, img, "probabilities of the identity");
        assert_same_geometry(res.probabilities, img);
        assert_same_geometry(res.labels, img);
        vxt_volume lv;
        assert_ok(vxt_image_volume(res.labels, &lv));
        const float *x = (const float *)in.data;
        const size_t V = (size_t)(shape[0] * shape[1] * shape[2]);
        for (size_t i = 0; i < V; i++)
            assert_int_equal(((const uint8_t *)lv.data)[i], x[V + i] > x[i] ? 1 : 0);
        vxt_run_result_clear(&res);
        shown_free(&s);
        vxt_pipeline_destroy(p);
        vxt_plan_destroy(plan);
        vxt_image_destroy(img);
    }
    vxt_context_destroy(ctx);
}

/* ---- sinks -------------------------------------------------------------------------------------------- */

typedef struct collect {
    int64_t next_z;
    uint8_t *labels;
    float *values;
    int64_t C, plane, Z;
    int stop_at; /* slab number to refuse, -1 never */
    int slabs;
} collect;

static int collect_slab(void *user, const vxt_slab *s)
{
    collect *c = (collect *)user;
    if (c->slabs++ == c->stop_at)
        return 7;
    assert_int_equal(s->z0, c->next_z); /* in increasing z, no gaps */
    assert_true(s->z1 > s->z0);
    c->next_z = s->z1;
    assert_non_null(s->labels);
    assert_int_equal(s->label_dtype, VXT_DTYPE_U8);
    memcpy(c->labels + s->z0 * c->plane, s->labels, (size_t)((s->z1 - s->z0) * c->plane));
    if (c->values) {
        assert_non_null(s->values);
        assert_int_equal(s->channels, c->C);
        for (int64_t ch = 0; ch < c->C; ch++)
            memcpy(c->values + (size_t)((ch * c->Z + s->z0) * c->plane),
                   s->values + (size_t)(ch * (s->z1 - s->z0) * c->plane),
                   (size_t)((s->z1 - s->z0) * c->plane) * sizeof(float));
    } else {
        assert_null(s->values);
    }
    return 0;
}

static void test_sinks(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {21, 14, 12};
    const double spacing[3] = {1.0, 1.0, 1.0};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "RAS", 5);
    const char *plans[] = {
        /* not resampled: the engine's slabs */
        "{\"model\": \"bands:-500,0,700\", \"roi\": [6, 8, 8], \"batch_size\": 2}",
        /* resampled: the streamed way back */
        "{\"model\": \"bands:-500,0,700\", \"roi\": [6, 8, 8], \"target_spacing\": [1.7, 1.2, 0.9]}",
        /* oriented: slabs at the end */
        "{\"model\": \"bands:-500,0,700\", \"roi\": [6, 8, 8], \"orientation\": \"PSR\", \"transpose\": [1, 0, 2]}",
    };
    const size_t V = (size_t)(shape[0] * shape[1] * shape[2]);
    for (int k = 0; k < 3; k++) {
        vxt_plan *plan = plan_from(plans[k]);
        vxt_pipeline *p = NULL;
        assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
        vxt_run_result whole;
        assert_ok(run(p, img, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, NULL, &whole));
        for (int with_values = 0; with_values < 2; with_values++) {
            collect c = {0, malloc(V), with_values ? malloc(4 * V * sizeof(float)) : NULL, 4, shape[1] * shape[2],
                         shape[0], -1, 0};
            vxt_run_options o;
            vxt_run_options_init(&o);
            o.outputs = VXT_OUTPUT_LABELS | (with_values ? VXT_OUTPUT_PROBABILITIES : 0u);
            o.sink = collect_slab;
            o.sink_user = &c;
            vxt_run_result res = {.struct_size = sizeof res};
            assert_ok(vxt_pipeline_run(p, img, &o, &res));
            assert_null(res.labels);
            assert_null(res.probabilities);
            assert_int_equal(c.next_z, shape[0]);
            const void *d;
            image_bytes(whole.labels, &d);
            assert_memory_equal(c.labels, d, V);
            if (with_values) {
                image_bytes(whole.probabilities, &d);
                assert_memory_equal(c.values, d, 4 * V * sizeof(float));
            }
            /* a sink that refuses a slab stops the run */
            c.stop_at = 0;
            c.slabs = 0;
            c.next_z = 0;
            assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_IO, "output sink returned 7");
            assert_int_equal(res.failed_stage, k == 2 ? VXT_STAGE_RESTORE : VXT_STAGE_LABELS);
            free(c.labels);
            free(c.values);
        }
        vxt_run_result_clear(&whole);
        vxt_pipeline_destroy(p);
        vxt_plan_destroy(plan);
    }
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
}

/* ---- ensembles and progress --------------------------------------------------------------------------- */

typedef struct progress_log {
    uint64_t last_done, total, calls;
    unsigned stages_done; /* stages reported with done = total = 1 */
    int cancel_at;        /* sliding-window call that returns non-zero, -1 never */
} progress_log;

static int log_progress(void *user, vxt_stage stage, uint64_t done, uint64_t total)
{
    progress_log *l = (progress_log *)user;
    if (stage != VXT_STAGE_SLIDING_WINDOW) {
        assert_true(done == 1 && total == 1);
        l->stages_done |= 1u << stage;
        return 0;
    }
    assert_true(done >= l->last_done && done <= total);
    l->last_done = done;
    l->total = total;
    return (int)(l->calls++) == l->cancel_at;
}

static void test_ensembles_and_progress(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {10, 13, 15};
    const double spacing[3] = {1.0, 1.0, 1.0};
    vxt_image *img = make_image(VXT_DTYPE_F32, 1, shape, spacing, "RAS", 9);
    const char *members = "\"members\": [{\"model\": \"bands:0,1\", \"config\": \"sharpness=2\"},"
                          " {\"model\": \"bands:-0.5,0.5\", \"config\": \"sharpness=5\"}]";
    char json[1024];
    vxt_run_result r[4];
    for (int k = 0; k < 4; k++) { /* member 1 alone, member 2 alone, logits ensemble, probabilities ensemble */
        if (k < 2)
            snprintf(json, sizeof json, "{\"model\": {\"model\": \"%s\", \"config\": \"sharpness=%d\"}, \"roi\": [5, 6, 7],"
                     " \"mirror_axes\": [0, 2]}", k ? "bands:-0.5,0.5" : "bands:0,1", k ? 5 : 2);
        else
            snprintf(json, sizeof json, "{%s, \"ensemble\": \"%s\", \"roi\": [5, 6, 7], \"mirror_axes\": [0, 2]}",
                     members, k == 2 ? "logits" : "probabilities");
        vxt_plan *plan = plan_from(json);
        vxt_pipeline *p = NULL;
        assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
        progress_log log = {0, 0, 0, 0, -1};
        vxt_run_options o;
        vxt_run_options_init(&o);
        o.outputs = VXT_OUTPUT_PROBABILITIES;
        o.progress = log_progress;
        o.progress_user = &log;
        r[k] = (vxt_run_result){.struct_size = sizeof r[k]};
        assert_ok(vxt_pipeline_run(p, img, &o, &r[k]));
        /* progress over tiles x members x mirrorings (4: none, z, x, zx) */
        assert_int_equal(log.total, r[k].tiles * (k < 2 ? 1 : 2) * 4);
        assert_int_equal(log.last_done, log.total);
        assert_int_equal(r[k].tile_predictions, log.total);
        assert_int_equal(log.stages_done, (1u << VXT_STAGE_RESCALE) | (1u << VXT_STAGE_NORMALIZE));
        vxt_pipeline_destroy(p);
        vxt_plan_destroy(plan);
    }
    /* a probabilities ensemble is the mean of the members' probabilities; a logits ensemble is not */
    const float *p1, *p2, *pl, *pp;
    size_t n = image_bytes(r[0].probabilities, (const void **)&p1) / sizeof(float);
    image_bytes(r[1].probabilities, (const void **)&p2);
    image_bytes(r[2].probabilities, (const void **)&pl);
    image_bytes(r[3].probabilities, (const void **)&pp);
    double worst = 0, apart = 0;
    for (size_t i = 0; i < n; i++) {
        double mean = 0.5 * ((double)p1[i] + (double)p2[i]);
        worst = fmax(worst, fabs((double)pp[i] - mean));
        apart = fmax(apart, fabs((double)pl[i] - mean));
    }
    if (worst > 2e-7)
        fail_msg("probabilities ensemble: %g from the mean of the members' probabilities", worst);
    assert_true(apart > 1e-3);
    for (int k = 0; k < 4; k++)
        vxt_run_result_clear(&r[k]);
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
}

/* ---- cancellation ----------------------------------------------------------------------------------------- */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls, started, released;
    vxt_pipeline *pipeline;
    vxt_status inner; /* a run started from inside the run */
    const vxt_image *img;
} gate;

/* A callback model that, on its first call, says so and waits until the test has cancelled the run. */
static int gated_predict(void *user, const vxt_batch *b)
{
    gate *g = (gate *)user;
    pthread_mutex_lock(&g->lock);
    if (g->calls++ == 0) {
        g->started = 1;
        pthread_cond_broadcast(&g->cond);
        while (!g->released)
            pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    size_t n = (size_t)b->count * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (size_t i = 0; i < n; i++) {
        ((float *)b->output)[i] = b->input[i];
        ((float *)b->output)[n + i] = -b->input[i];
    }
    return 0;
}

typedef struct run_arg {
    vxt_pipeline *p;
    const vxt_image *img;
    vxt_status st;
    char msg[512];
    int failed_stage;
} run_arg;

static void *run_thread(void *user)
{
    run_arg *a = (run_arg *)user;
    vxt_run_result res = {.struct_size = sizeof res};
    a->st = vxt_pipeline_run(a->p, a->img, NULL, &res);
    snprintf(a->msg, sizeof a->msg, "%s", vxt_last_error());
    a->failed_stage = res.failed_stage;
    vxt_run_result_clear(&res);
    return NULL;
}

static int inner_run_predict(void *user, const vxt_batch *b)
{
    gate *g = (gate *)user;
    if (g->calls++ == 0) {
        vxt_run_result res = {.struct_size = sizeof res};
        g->inner = vxt_pipeline_run(g->pipeline, g->img, NULL, &res);
    }
    size_t n = (size_t)b->count * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    memcpy(b->output, b->input, n * sizeof(float));
    memcpy((float *)b->output + n, b->input, n * sizeof(float));
    return 0;
}

static void test_cancellation(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {12, 16, 16};
    const double spacing[3] = {1.0, 1.0, 1.0};
    vxt_image *img = make_image(VXT_DTYPE_F32, 1, shape, spacing, "RAS", 3);
    vxt_plan *plan = plan_from("{\"roi\": [4, 8, 8], \"batch_size\": 1}");
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, VXT_OK, img};
    vxt_runner_info ri = {.struct_size = sizeof ri};
    ri.in_channels = 1;
    ri.out_channels = 2;
    ri.output_dtype = VXT_DTYPE_F32;
    snprintf(ri.name, sizeof ri.name, "gated");
    vxt_runner *runner = NULL;
    assert_ok(vxt_runner_create_callback(&ri, gated_predict, &g, &runner));
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, &runner, 1, &p));
    /* from another thread, while the model is busy */
    run_arg a = {p, img, VXT_OK, "", 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_thread, &a), 0);
    pthread_mutex_lock(&g.lock);
    while (!g.started)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    assert_ok(vxt_pipeline_cancel(p));
    pthread_mutex_lock(&g.lock);
    g.released = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(t, NULL);
    assert_int_equal(a.st, VXT_ERR_CANCELLED);
    assert_non_null(strstr(a.msg, "cancelled"));
    assert_int_equal(a.failed_stage, -1);
    /* not sticky: the next run completes; a cancel with no run in progress does nothing */
    assert_ok(vxt_pipeline_cancel(p));
    vxt_run_result res;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS, NULL, &res));
    assert_non_null(res.labels);
    vxt_run_result_clear(&res);
    /* by the progress callback, at its second call */
    progress_log log = {0, 0, 0, 0, 1};
    vxt_run_options o;
    vxt_run_options_init(&o);
    o.progress = log_progress;
    o.progress_user = &log;
    res = (vxt_run_result){.struct_size = sizeof res};
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_CANCELLED, "cancelled");
    assert_null(res.labels);
    /* by the observer, after a stage */
    shown s;
    vxt_run_options_init(&o);
    memset(&s, 0, sizeof s);
    s.stop_after = VXT_STAGE_RESCALE;
    o.observer = keep_stage;
    o.observer_user = &s;
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_CANCELLED, "after stage rescale");
    assert_int_equal(s.n, 1);
    assert_null(res.labels);
    vxt_pipeline_destroy(p);
    vxt_runner_destroy(runner);
    /* one run at a time per pipeline: a run started inside a run is refused */
    gate g2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, VXT_OK, img};
    assert_ok(vxt_runner_create_callback(&ri, inner_run_predict, &g2, &runner));
    assert_ok(vxt_pipeline_create(ctx, plan, &runner, 1, &p));
    g2.pipeline = p;
    assert_ok(run(p, img, VXT_OUTPUT_LABELS, NULL, &res));
    assert_int_equal(g2.inner, VXT_ERR_STATE);
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(p);
    vxt_runner_destroy(runner);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
}

static int refuse(void *user, const vxt_batch *b)
{
    (void)user;
    (void)b;
    return 3;
}

/* ---- errors ---------------------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 1);
    const int64_t shape[3] = {6, 7, 8};
    const double spacing[3] = {1.0, 1.0, 1.0};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "RAS", 4);
    vxt_image *two = make_image(VXT_DTYPE_I16, 2, shape, spacing, "RAS", 4);
    vxt_plan *plan = plan_from("{\"model\": \"bands:0\", \"roi\": 4}");
    vxt_pipeline *p = (vxt_pipeline *)(uintptr_t)1;
    assert_status_msg(vxt_pipeline_create(NULL, plan, NULL, 0, &p), VXT_ERR_NULL, "ctx");
    assert_null(p);
    assert_status_msg(vxt_pipeline_create(ctx, NULL, NULL, 0, &p), VXT_ERR_NULL, "plan");
    assert_status_msg(vxt_pipeline_create(ctx, plan, NULL, 0, NULL), VXT_ERR_NULL, "out");
    vxt_plan *nomodel = plan_from("{\"roi\": 4}");
    assert_status_msg(vxt_pipeline_create(ctx, nomodel, NULL, 0, &p), VXT_ERR_INVALID_ARGUMENT, "no model");
    vxt_plan *badmodel = plan_from("{\"model\": \"tensorrt:x\", \"roi\": 4}");
    assert_status_msg(vxt_pipeline_create(ctx, badmodel, NULL, 0, &p), VXT_ERR_INVALID_ARGUMENT, "unknown runner kind");
    /* caller's runners: one per member, agreeing, fitting the plan */
    vxt_runner *r2 = NULL, *r3 = NULL, *rid = NULL;
    assert_ok(vxt_runner_create("bands:0", NULL, &r2));
    assert_ok(vxt_runner_create("bands:0,1", NULL, &r3));
    assert_ok(vxt_runner_create("identity", NULL, &rid));
    vxt_runner *pair[2] = {r2, r3};
    assert_status_msg(vxt_pipeline_create(ctx, plan, pair, 2, &p), VXT_ERR_INVALID_ARGUMENT, "2 runners for a plan of 1");
    vxt_plan *ens = plan_from("{\"members\": [\"bands:0\", \"bands:0\"], \"roi\": 4}");
    assert_status_msg(vxt_pipeline_create(ctx, ens, pair, 2, &p), VXT_ERR_INVALID_ARGUMENT, "ensemble members disagree");
    vxt_runner *with_null[2] = {r2, NULL};
    assert_status_msg(vxt_pipeline_create(ctx, ens, with_null, 2, &p), VXT_ERR_NULL, "runners[1]");
    vxt_runner_info ri = {.struct_size = sizeof ri};
    ri.in_channels = 1;
    ri.out_channels = 2;
    ri.output_dtype = VXT_DTYPE_F32;
    snprintf(ri.name, sizeof ri.name, "gated");
    ri.roi[0] = ri.roi[1] = ri.roi[2] = 5;
    vxt_runner *fixed = NULL;
    assert_ok(vxt_runner_create_callback(&ri, gated_predict, NULL, &fixed));
    assert_status_msg(vxt_pipeline_create(ctx, plan, &fixed, 1, &p), VXT_ERR_INVALID_ARGUMENT, "needs tiles of 5x5x5");
    vxt_plan *regions = plan_from("{\"model\": \"bands:0,1\", \"roi\": 4, \"activation\": \"sigmoid\", \"labels\": "
                                  "{\"rule\": \"regions\", \"region_labels\": [1, 2]}}");
    assert_status_msg(vxt_pipeline_create(ctx, regions, NULL, 0, &p), VXT_ERR_INVALID_ARGUMENT,
                      "2 labels for 3 channels");
    /* runs */
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    vxt_pipeline_info pi = {.struct_size = sizeof pi};
    assert_ok(vxt_pipeline_get_info(p, &pi));
    assert_int_equal(pi.members, 1);
    assert_int_equal(pi.classes, 2);
    assert_int_equal(pi.tile_dtype, VXT_DTYPE_F32);
    assert_int_equal(pi.backend, VXT_BACKEND_CPU);
    assert_non_null(vxt_pipeline_runner(p, 0));
    assert_null(vxt_pipeline_runner(p, 1));
    vxt_run_result res = {.struct_size = sizeof res};
    vxt_run_options o;
    vxt_run_options_init(&o);
    assert_status_msg(vxt_pipeline_run(NULL, img, &o, &res), VXT_ERR_NULL, "pipeline");
    assert_status_msg(vxt_pipeline_run(p, NULL, &o, &res), VXT_ERR_NULL, "image");
    assert_status_msg(vxt_pipeline_run(p, img, &o, NULL), VXT_ERR_NULL, "result");
    o.outputs = 0;
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_INVALID_ARGUMENT, "opts.outputs 0x0");
    o.outputs = 0x10;
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_INVALID_ARGUMENT, "opts.outputs 0x10");
    vxt_run_options_init(&o);
    o.flags = 0x8;
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_INVALID_ARGUMENT, "unknown flags 0x8");
    vxt_run_options_init(&o);
    o.struct_size = 4;
    assert_status_msg(vxt_pipeline_run(p, img, &o, &res), VXT_ERR_STRUCT_SIZE, "vxt_run_options");
    vxt_run_result small = {.struct_size = 4};
    assert_status_msg(vxt_pipeline_run(p, img, NULL, &small), VXT_ERR_STRUCT_SIZE, "vxt_run_result");
    res.failed_stage = 5;
    assert_status_msg(vxt_pipeline_run(p, two, NULL, &res), VXT_ERR_INVALID_ARGUMENT, "takes 1 input channels; the "
                      "image has 2");
    assert_int_equal(res.failed_stage, -1); /* before any stage */
    vxt_image *header = NULL;
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.flags = VXT_READ_HEADER_ONLY;
    char path[4096];
    snprintf(path, sizeof path, "%s/mricron_ch2.nii.gz", vxt_test_data_dir());
    assert_ok(vxt_image_read_path(path, &ro, &header));
    assert_status_msg(vxt_pipeline_run(p, header, NULL, &res), VXT_ERR_INVALID_ARGUMENT, "no voxels");
    /* an image with an axis of no direction cannot be oriented */
    vxt_pipeline *po = NULL;
    vxt_plan *oplan = plan_from("{\"model\": \"bands:0\", \"roi\": 4, \"orientation\": \"LIA\"}");
    assert_ok(vxt_pipeline_create(ctx, oplan, NULL, 0, &po));
    vxt_image *flat = make_image(VXT_DTYPE_I16, 1, shape, spacing, "RAS", 1);
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(flat, &g));
    g.sform[0][0] = 0.0; /* i has no direction */
    g.qform_code = 0;
    assert_ok(vxt_image_set_geometry(flat, &g));
    vxt_geometry g2 = {.struct_size = sizeof g2};
    assert_ok(vxt_image_get_geometry(flat, &g2));
    if (strchr(g2.orientation, '?')) /* only when the library says so */
        assert_status_msg(vxt_pipeline_run(po, flat, NULL, &res), VXT_ERR_INVALID_ARGUMENT, "orient:");
    vxt_image_destroy(flat);
    vxt_pipeline_destroy(po);
    vxt_plan_destroy(oplan);
    /* a failing model: its message, named by stage */
    ri.roi[0] = ri.roi[1] = ri.roi[2] = 0;
    vxt_runner *failing = NULL;
    assert_ok(vxt_runner_create_callback(&ri, refuse, NULL, &failing));
    vxt_pipeline *pf = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, &failing, 1, &pf));
    assert_status_msg(vxt_pipeline_run(pf, img, NULL, &res), VXT_ERR_PREDICTOR, "sliding_window: runner 'gated' "
                      "failed (it returned 3)");
    assert_null(res.labels);
    assert_int_equal(res.failed_stage, VXT_STAGE_SLIDING_WINDOW); /* the model's failure, not the input's */
    /* voxels the preprocessing cannot read: the input's failure, in rescale */
    vxt_image *wide = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U64, 1, shape, NULL, &wide));
    vxt_status wst = vxt_pipeline_run(p, wide, NULL, &res);
    assert_int_not_equal(wst, VXT_OK);
    assert_int_equal(res.failed_stage, VXT_STAGE_RESCALE);
    assert_non_null(strstr(vxt_last_error(), "rescale: "));
    vxt_image_destroy(wide);
    vxt_pipeline_destroy(pf);
    vxt_runner_destroy(failing);
    vxt_pipeline_destroy(NULL);
    vxt_run_result_clear(NULL);
    assert_status_msg(vxt_pipeline_cancel(NULL), VXT_ERR_NULL, "pipeline");
    assert_status_msg(vxt_pipeline_get_info(p, NULL), VXT_ERR_NULL, "info");
    vxt_image_destroy(header);
    vxt_pipeline_destroy(p);
    vxt_runner_destroy(fixed);
    vxt_runner_destroy(r2);
    vxt_runner_destroy(r3);
    vxt_runner_destroy(rid);
    vxt_plan_destroy(regions);
    vxt_plan_destroy(ens);
    vxt_plan_destroy(badmodel);
    vxt_plan_destroy(nomodel);
    vxt_plan_destroy(plan);
    vxt_image_destroy(two);
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
}

/* ---- concurrency ------------------------------------------------------------------------------------------ */

static const char *concurrent_plan =
    "{\"model\": {\"model\": \"bands:-300,100,800\", \"config\": \"sharpness=0.02\"}, \"target_spacing\": [1.4, 1.3, "
    "1.2], \"normalization\": {\"scheme\": \"percentile\"}, \"roi\": [6, 10, 8], \"batch_size\": 2, \"orientation\": "
    "\"LIP\"}";

typedef struct worker {
    vxt_pipeline *p;
    const vxt_image *img;
    vxt_run_result res[2];
    vxt_status st;
} worker;

static void *work(void *user)
{
    worker *w = (worker *)user;
    for (int k = 0; k < 2 && w->st == VXT_OK; k++) {
        w->res[k] = (vxt_run_result){.struct_size = sizeof w->res[k]};
        vxt_run_options o;
        vxt_run_options_init(&o);
        o.outputs = VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES;
        w->st = vxt_pipeline_run(w->p, w->img, &o, &w->res[k]);
    }
    return NULL;
}

/* Four pipelines on one context (two of them sharing a runner) run twice each, at once: the bits of one
 * sequential run. */
static void check_concurrent(vxt_context *ctx)
{
    const int64_t shape[3] = {17, 20, 18};
    const double spacing[3] = {1.0, 1.1, 0.9};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "RAS", 31);
    vxt_plan *plan = plan_from(concurrent_plan);
    vxt_pipeline *seq = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &seq));
    vxt_run_result want = {.struct_size = sizeof want};
    vxt_run_options o;
    vxt_run_options_init(&o);
    o.outputs = VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES;
    assert_ok(vxt_pipeline_run(seq, img, &o, &want));
    vxt_runner *shared = NULL;
    assert_ok(vxt_runner_create("bands:-300,100,800", "sharpness=0.02", &shared));
    enum { W = 4 };
    worker w[W];
    pthread_t t[W];
    for (int i = 0; i < W; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].img = img;
        assert_ok(vxt_pipeline_create(ctx, plan, i < 2 ? NULL : &shared, i < 2 ? 0 : 1, &w[i].p));
    }
    for (int i = 0; i < W; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < W; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < W; i++) {
        if (w[i].st != VXT_OK)
            fail_msg("worker %d: %s", i, vxt_status_name(w[i].st));
        for (int k = 0; k < 2; k++) {
            assert_same_image_data(w[i].res[k].labels, want.labels, "concurrent labels");
            assert_same_image_data(w[i].res[k].probabilities, want.probabilities, "concurrent probabilities");
            vxt_run_result_clear(&w[i].res[k]);
        }
        vxt_pipeline_destroy(w[i].p);
    }
    vxt_runner_destroy(shared);
    vxt_run_result_clear(&want);
    vxt_pipeline_destroy(seq);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
}

static void test_concurrent_cpu(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    check_concurrent(ctx);
    vxt_context_destroy(ctx);
}

/* ---- bounded memory ----------------------------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VXT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VXT_TEST_SANITIZED 1
#endif
#endif

#ifndef VXT_TEST_SANITIZED
/* The growth of the peak resident memory (MiB) of a child process while it runs the pipeline once on a CT-like
 * volume of `shape`, sent back through a pipe. */
static long child_peak_mib(const char *json, const int64_t shape[3], unsigned outputs)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const double spacing[3] = {1.0, 1.0, 1.0};
        vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "RAS", 77);
        vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
        vxt_plan *plan = plan_from(json);
        vxt_pipeline *p = NULL;
        long grown = -1;
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        vxt_run_result res = {.struct_size = sizeof res};
        vxt_run_options o;
        vxt_run_options_init(&o);
        o.outputs = outputs;
        if (vxt_pipeline_create(ctx, plan, NULL, 0, &p) == VXT_OK && vxt_pipeline_run(p, img, &o, &res) == VXT_OK) {
            getrusage(RUSAGE_SELF, &after); /* the result still held */
            grown = (after.ru_maxrss - before.ru_maxrss) / 1024;
        }
        ssize_t w = write(fds[1], &grown, sizeof grown);
        _exit(w == (ssize_t)sizeof grown ? 0 : 1);
    }
    close(fds[1]);
    long mib = -1;
    assert_int_equal(read(fds[0], &mib, sizeof mib), (ssize_t)sizeof mib);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(mib >= 0);
    return mib;
}

#endif

static void test_memory_bound(void **state)
{
    (void)state;
#ifdef VXT_TEST_SANITIZED
    skip(); /* the sanitizers' shadow memory (and AddressSanitizer's quarantine) make resident sizes meaningless */
#else
    /* 64 classes, volumes of 96 x 96 planes resampled to 1.25 mm. What a labels-only run holds besides what grows
     * with the volume's voxels (float copies of the input, 4 + 2 bytes a voxel, and the labels) is a number of
     * planes: the accumulator ring, tile buffers, the engine's slab, the window of the way back and one 64 MiB
     * chunk of it. So twice the depth adds a few MiB, not classes x volume (360 MiB here); with the probabilities
     * asked for, classes x volume is held, and the measure sees it. */
    char json[1024] = "{\"model\": \"bands:";
    for (int e = 0; e < 63; e++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s%d", e ? "," : "", -950 + 45 * e);
    snprintf(json + strlen(json), sizeof json - strlen(json),
             "\", \"target_spacing\": 1.25, \"roi\": [16, 48, 48], \"overlap\": 0, \"importance\": \"constant\"}");
    const int64_t half[3] = {160, 96, 96}, full[3] = {320, 96, 96};
    const long cv_added = 64L * 160 * 96 * 96 * 4 >> 20, cv_full = 64L * 320 * 96 * 96 * 4 >> 20;
    long small = child_peak_mib(json, half, VXT_OUTPUT_LABELS);
    long large = child_peak_mib(json, full, VXT_OUTPUT_LABELS);
    long with_probs = child_peak_mib(json, full, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES);
    print_message("peak growth of a labels-only run: %ld MiB at depth 160, %ld MiB at depth 320 (classes x volume: "
                  "%ld MiB more); with probabilities at depth 320: %ld MiB (classes x volume: %ld MiB)\n", small, large,
                  cv_added, with_probs, cv_full);
    assert_true(large - small < 48);
    assert_true(large < cv_full / 3);
    assert_true(with_probs >= cv_full);
#endif
}

/* ---- the OpenCL backend ------------------------------------------------------------------------------------ */

/* The same pipeline on both backends: every stage's output bit for bit (sigmoid, thresholds, probabilities
 * ensemble, mirroring, orientation, anisotropic resampling). */
static void test_backends_identical(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_context *cl = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    const int64_t shape[3] = {9, 24, 21};
    const double spacing[3] = {4.0, 1.0, 1.1};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 12);
    const char *plans[] = {
        stage_plan,
        "{\"members\": [{\"model\": \"bands:-200,300\", \"config\": \"sharpness=0.01\"}, {\"model\": \"bands:0,500\","
        " \"config\": \"sharpness=0.02\"}], \"ensemble\": \"probabilities\", \"activation\": \"sigmoid\","
        " \"labels\": {\"threshold\": 0.45}, \"target_spacing\": [1.3, 1.3, 1.3], \"anisotropic_resampling\": \"nnunet\","
        " \"normalize_before_resampling\": true, \"normalization\": {\"scheme\": \"ct\", \"lo\": -800, \"hi\": 1500,"
        " \"mean\": 100, \"std\": 400}, \"roi\": [6, 8, 8], \"grid\": \"nnunet\", \"importance\": \"gaussian-nnunet\","
        " \"accumulate\": \"float16\", \"mirror_axes\": [0, 1, 2], \"orientation\": \"RIP\", \"transpose\": [2, 1, 0]}",
        /* cubic, nnU-Net's separate z */
        "{\"model\": \"bands:-200,300\", \"target_spacing\": [1.3, 1.3, 1.3], \"anisotropic_resampling\": \"nnunet\","
        " \"interpolation\": \"cubic\", \"normalize_before_resampling\": true, \"normalization\": {\"scheme\": "
        "\"zscore\"}, \"roi\": [6, 8, 8]}",
        "{\"model\": \"bands:-100,200,700\", \"roi\": [4, 8, 8], \"activation\": \"sigmoid\", \"labels\": {\"rule\": "
        "\"regions\", \"region_labels\": [1, 2, 3, 2]}, \"target_spacing\": [3, 1.5, 1.5], \"output\": "
        "{\"resample_back\": \"labels\", \"label_dtype\": \"uint16\"}}",
    };
    for (size_t k = 0; k < sizeof plans / sizeof plans[0]; k++) {
        vxt_plan *plan = plan_from(plans[k]);
        vxt_pipeline *pa = NULL, *pb = NULL;
        assert_ok(vxt_pipeline_create(cpu, plan, NULL, 0, &pa));
        assert_ok(vxt_pipeline_create(cl, plan, NULL, 0, &pb));
        shown sa, sb;
        vxt_run_result ra, rb;
        assert_ok(run(pa, img, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, &sa, &ra));
        assert_ok(run(pb, img, VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, &sb, &rb));
        assert_int_equal(ra.stages, rb.stages);
        for (int st = 0; st < VXT_STAGE_COUNT_; st++) {
            assert_int_equal(sa.v[st].data != NULL, sb.v[st].data != NULL);
            if (sa.v[st].data) {
                char what[96];
                snprintf(what, sizeof what, "plan %zu, stage %s", k, vxt_stage_name((vxt_stage)st));
                assert_volume_bits(&sa.v[st], &sb.v[st], what);
            }
        }
        assert_same_image_data(ra.labels, rb.labels, "labels");
        assert_same_image_data(ra.probabilities, rb.probabilities, "probabilities");
        /* and the labels-only runs agree with them */
        vxt_run_result la;
        assert_ok(run(pb, img, VXT_OUTPUT_LABELS, NULL, &la));
        assert_same_image_data(la.labels, ra.labels, "labels-only OpenCL run");
        vxt_run_result_clear(&la);
        vxt_run_result_clear(&ra);
        vxt_run_result_clear(&rb);
        shown_free(&sa);
        shown_free(&sb);
        vxt_pipeline_destroy(pa);
        vxt_pipeline_destroy(pb);
        vxt_plan_destroy(plan);
    }
    vxt_image_destroy(img);
    vxt_context_destroy(cl);
    vxt_context_destroy(cpu);
}

/* A context that chose an OpenCL device by itself (VXT_BACKEND_AUTO) retries on the CPU a stage whose buffers the
 * device cannot hold, with the same bits, and says which stages and why; one asked for OpenCL fails instead. Here
 * the device's limit is made small (vxt_context_options.device_max_alloc), and the context marked as chosen under
 * auto (PoCL's CPU device is never auto's choice: the CPU backend is faster). */
static void test_cpu_fallback(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_context_options co;
    vxt_context_options_init(&co);
    co.backend = VXT_BACKEND_OPENCL;
    co.device_max_alloc = 16384;
    vxt_context *cl = NULL;
    assert_ok(vxt_context_create(&co, &cl));
    const int64_t shape[3] = {9, 24, 21};
    const double spacing[3] = {4.0, 1.0, 1.1};
    vxt_image *img = make_image(VXT_DTYPE_I16, 1, shape, spacing, "LPS", 12);
    vxt_plan *plan = plan_from("{\"model\": \"bands:-200,300\", \"target_spacing\": [2, 1.3, 1.3], \"orientation\": "
                               "\"RAS\", \"normalization\": {\"scheme\": \"zscore\"}, \"roi\": [6, 8, 8]}");
    vxt_pipeline *pc = NULL, *pl = NULL;
    assert_ok(vxt_pipeline_create(cpu, plan, NULL, 0, &pc));
    assert_ok(vxt_pipeline_create(cl, plan, NULL, 0, &pl));
    const unsigned both = VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES;
    vxt_run_result rc, rl;
    assert_ok(run(pc, img, both, NULL, &rc));
    assert_int_equal(rc.cpu_fallback, 0);
    /* asked for OpenCL: the limit is an error, named */
    assert_status_msg(run(pl, img, both, NULL, &rl), VXT_ERR_UNSUPPORTED, "largest buffer");
    assert_true(rl.failed_stage >= 0);
    /* chosen under auto: every stage whose buffers the device cannot hold runs on the CPU, the same bits (rescale and
     * resample stay: they go through the device in slabs that fit its limit) */
    cl->requested = VXT_BACKEND_AUTO;
    assert_ok(run(pl, img, both, NULL, &rl));
    print_message("fell back: 0x%x (%s)\n", rl.cpu_fallback, rl.fallback_reason);
    const unsigned want = (1u << VXT_STAGE_NORMALIZE) | (1u << VXT_STAGE_SLIDING_WINDOW) |
                          (1u << VXT_STAGE_RESAMPLE_BACK) | (1u << VXT_STAGE_LABELS);
    assert_int_equal(rl.cpu_fallback & want, want);
    assert_int_equal(rl.cpu_fallback & ~rl.stages, 0);
    assert_int_equal(rl.cpu_fallback & ((1u << VXT_STAGE_RESCALE) | (1u << VXT_STAGE_RESAMPLE)), 0);
    assert_non_null(strstr(rl.fallback_reason, "normalize"));
    assert_non_null(strstr(rl.fallback_reason, "largest buffer"));
    assert_same_image_data(rl.labels, rc.labels, "labels after falling back");
    assert_same_image_data(rl.probabilities, rc.probabilities, "probabilities after falling back");
    vxt_run_result_clear(&rl);
    /* a limit only the sliding window exceeds: the input stages stay on the device */
    vxt_context_destroy(cl);
    co.device_max_alloc = 40000; /* normalize's 23328 bytes fit; the sliding window's buffers do not where the
                                    device shares host memory (its groups of tile outputs are wrapped, larger) */
    assert_ok(vxt_context_create(&co, &cl));
    cl->requested = VXT_BACKEND_AUTO;
    vxt_pipeline_destroy(pl);
    assert_ok(vxt_pipeline_create(cl, plan, NULL, 0, &pl));
    assert_ok(run(pl, img, both, NULL, &rl));
    print_message("fell back: 0x%x (%s)\n", rl.cpu_fallback, rl.fallback_reason);
    assert_int_equal(rl.cpu_fallback & ((1u << VXT_STAGE_RESCALE) | (1u << VXT_STAGE_NORMALIZE)), 0);
    if (cl->host_unified) /* a discrete device holds this case's accumulator and tile buffers in 40000 bytes */
        assert_true(rl.cpu_fallback & (1u << VXT_STAGE_SLIDING_WINDOW));
    assert_same_image_data(rl.labels, rc.labels, "labels after the sliding window fell back");
    assert_same_image_data(rl.probabilities, rc.probabilities, "probabilities after the sliding window fell back");
    vxt_run_result_clear(&rl);
    vxt_run_result_clear(&rc);
    vxt_pipeline_destroy(pl);
    vxt_pipeline_destroy(pc);
    vxt_plan_destroy(plan);
    vxt_image_destroy(img);
    vxt_context_destroy(cl);
    vxt_context_destroy(cpu);
}

static void test_stages_opencl(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    check_stages(ctx);
    check_cubic_stage(ctx);
    check_nnunet_order3_run(ctx);
    vxt_context_destroy(ctx);
}

static void test_concurrent_opencl(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    check_concurrent(ctx);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_stages_cpu),
        cmocka_unit_test(test_replace_before_normalization),
        cmocka_unit_test(test_orientation_round_trips),
        cmocka_unit_test(test_sinks),
        cmocka_unit_test(test_ensembles_and_progress),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_concurrent_cpu),
        cmocka_unit_test(test_memory_bound),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_backends_identical),
        cmocka_unit_test(test_stages_opencl),
        cmocka_unit_test(test_cpu_fallback),
        cmocka_unit_test(test_concurrent_opencl),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
