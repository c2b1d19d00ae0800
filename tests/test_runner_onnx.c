/* test_runner_onnx.c - the onnx runner module (ONNX files through OpenVINO, runtime/runners/onnx): the brainchop
 * networks (tests/data/brainchop) load and describe themselves, agree with ONNX Runtime on a real tile, are
 * deterministic (the same bits twice, a batch of two equal to two batches of one, any thread count), segment a
 * crop of a real T1 through a pipeline with identical labels on CPU and OpenCL contexts; models with fixed shapes;
 * and every refusal (tests/data/onnx, made by tools/make_onnx_testdata.py) with its one-line message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vxt_test.h"

#ifndef VXT_OPENVINO_VERSION
#define VXT_OPENVINO_VERSION "" /* set by the build: the version of the OpenVINO the module was built with */
#endif

#define BRAINCHOP VXT_TEST_DATA_DIR "/brainchop/"
#define ONNXDATA VXT_TEST_DATA_DIR "/onnx/"
#define GWM BRAINCHOP "model5_gw_ae.onnx"
#define APARC BRAINCHOP "model21_104class.onnx"

/* ---- helpers ------------------------------------------------------------------------------------------- */

static vxt_runner *onnx_runner(const char *path, const char *config)
{
    char spec[512];
    snprintf(spec, sizeof spec, "onnx:%s", path);
    vxt_runner *r = NULL;
    assert_ok(vxt_runner_create(spec, config, &r));
    return r;
}

/* vxt_runner_create("onnx:PATH") fails with `status`, one line that names the file and contains `needle`. */
static void refused(const char *path, const char *config, vxt_status status, const char *needle)
{
    char spec[512];
    snprintf(spec, sizeof spec, "onnx:%s", path);
    vxt_runner *r = (vxt_runner *)(uintptr_t)1;
    assert_status_msg(vxt_runner_create(spec, config, &r), status, needle);
    assert_null(r);
    const char *msg = vxt_last_error();
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strstr(msg, base))
        fail_msg("'%s' does not name the model file %s", msg, base);
    assert_null(strchr(msg, '\n'));
    print_message("%s\n", msg);
}

/* A host batch of `count` tiles of `roi` with `in_c` and `out_c` channels; outputs poisoned. */
typedef struct host_batch {
    vxt_batch b;
    vxt_tile tiles[8];
    float *in, *out;
    size_t in_n, out_n;
} host_batch;

static void batch_init(host_batch *h, int count, int64_t in_c, int64_t out_c, const int64_t roi[3])
{
    memset(h, 0, sizeof *h);
    size_t vox = (size_t)(roi[0] * roi[1] * roi[2]);
    h->in_n = (size_t)count * (size_t)in_c * vox;
    h->out_n = (size_t)count * (size_t)out_c * vox;
    h->in = malloc(h->in_n * sizeof(float));
    h->out = malloc(h->out_n * sizeof(float));
    assert_non_null(h->in);
    assert_non_null(h->out);
    vxt_poison(h->out, h->out_n * sizeof(float));
    for (int t = 0; t < count && t < 8; t++)
        h->tiles[t].index = (uint64_t)t;
    h->b.count = count;
    h->b.in_channels = in_c;
    h->b.out_channels = out_c;
    memcpy(h->b.roi, roi, sizeof h->b.roi);
    h->b.output_dtype = VXT_DTYPE_F32;
    h->b.tiles = h->tiles;
    h->b.input = h->in;
    h->b.output = h->out;
}

static void batch_random(host_batch *h, uint64_t seed)
{
    vxt_rng r = {seed};
    for (size_t i = 0; i < h->in_n; i++)
        h->in[i] = vxt_rng_uniform(&r, 0.0f, 1.0f); /* the networks take min-max scaled intensities */
}

static void batch_free(host_batch *h)
{
    free(h->in);
    free(h->out);
}

static size_t count_nonfinite(const float *v, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !isfinite(v[i]);
    return bad;
}

/* A whole .npy file of float32 (asserts); its shape into shape[ndim]. */
static float *read_npy(const char *path, int ndim, int64_t *shape)
{
    vxt_npy_info info = {.struct_size = sizeof info};
    assert_ok(vxt_npy_read_info(path, &info));
    assert_int_equal(info.dtype, VXT_DTYPE_F32);
    assert_int_equal(info.ndim, ndim);
    memcpy(shape, info.shape, sizeof(int64_t) * (size_t)ndim);
    float *v = malloc(info.count * sizeof(float));
    assert_non_null(v);
    assert_ok(vxt_npy_read(path, &info, 0, info.count, v));
    return v;
}

/* ---- availability, description ------------------------------------------------------------------------- */

static void test_available(void **state)
{
    (void)state;
    char detail[512] = "";
    assert_int_equal(vxt_runner_available(VXT_RUNNER_ONNX, detail, sizeof detail), 1);
    char want[64];
    snprintf(want, sizeof want, "OpenVINO %s", VXT_OPENVINO_VERSION);
    if (!VXT_OPENVINO_VERSION[0] || !strstr(detail, want))
        fail_msg("vxt_runner_available(onnx): '%s' does not name OpenVINO %s", detail, VXT_OPENVINO_VERSION);
    print_message("onnx: %s\n", detail);
}

/* Both networks: 1 input channel, 3 and 104 classes, float32, any tile size (their ONNX inputs are
 * (N, 1, A0, A1, A2) with N and A0..A2 dynamic: fully convolutional). */
static void test_describe(void **state)
{
    (void)state;
    const char *path[2] = {GWM, APARC};
    const int64_t classes[2] = {3, 104};
    for (int k = 0; k < 2; k++) {
        vxt_runner *r = onnx_runner(path[k], NULL);
        vxt_runner_info i = {.struct_size = sizeof i};
        assert_ok(vxt_runner_get_info(r, &i));
        assert_int_equal(i.kind, VXT_RUNNER_ONNX);
        assert_int_equal(i.in_channels, 1);
        assert_int_equal(i.out_channels, classes[k]);
        assert_int_equal(i.output_dtype, VXT_DTYPE_F32);
        assert_int_equal(i.roi[0], 0);
        assert_int_equal(i.roi[1], 0);
        assert_int_equal(i.roi[2], 0);
        char want[96];
        snprintf(want, sizeof want, "%s (OpenVINO %s, CPU, f32)", strrchr(path[k], '/') + 1, VXT_OPENVINO_VERSION);
        assert_string_equal(i.name, want);
        vxt_runner_destroy(r);
    }
    vxt_runner *r = onnx_runner(GWM, "threads=1,device=CPU");
    vxt_runner_destroy(r);
}

/* ---- against ONNX Runtime ------------------------------------------------------------------------------ */

/* The runner's logits on a real, non-cubic tile against ONNX Runtime's (tools/make_onnx_testdata.py): float32
 * inference agrees to a few float32 ulps of the logits' range (OpenVINO's default bf16 on this CPU would be off by
 * about 1e-2), and the labels are the same. */
static void check_against_ort(const char *model, const char *stem, double tolerance)
{
    char path[512];
    int64_t xs[5], ys[5];
    snprintf(path, sizeof path, ONNXDATA "%s_input.npy", stem);
    float *x = read_npy(path, 5, xs);
    snprintf(path, sizeof path, ONNXDATA "%s_logits_ort.npy", stem);
    float *y = read_npy(path, 5, ys);
    vxt_runner *r = onnx_runner(model, "threads=2");
    host_batch h;
    batch_init(&h, 1, xs[1], ys[1], xs + 2);
    memcpy(h.in, x, h.in_n * sizeof(float));
    assert_ok(vxt_runner_predict(r, &h.b));
    assert_int_equal(h.out_n, (size_t)(ys[0] * ys[1] * ys[2] * ys[3] * ys[4]));
    assert_int_equal(count_nonfinite(h.out, h.out_n), 0);
    double worst = 0;
    for (size_t i = 0; i < h.out_n; i++)
        worst = fmax(worst, fabs((double)h.out[i] - (double)y[i]));
    size_t vox = (size_t)(xs[2] * xs[3] * xs[4]), differ = 0;
    for (size_t v = 0; v < vox; v++) {
        int a = 0, b = 0;
        for (int64_t c = 1; c < ys[1]; c++) {
            if (h.out[(size_t)c * vox + v] > h.out[(size_t)a * vox + v])
                a = (int)c;
            if (y[(size_t)c * vox + v] > y[(size_t)b * vox + v])
                b = (int)c;
        }
        differ += a != b;
    }
    print_message("%s: largest difference from ONNX Runtime %.3g (tolerance %.3g); labels differ at %zu of %zu "
                  "voxels\n", stem, worst, tolerance, differ, vox);
    assert_true(worst <= tolerance);
    assert_int_equal(differ, 0);
    vxt_runner_destroy(r);
    batch_free(&h);
    free(x);
    free(y);
}

static void test_against_onnxruntime(void **state)
{
    (void)state;
    check_against_ort(GWM, "gwm", 1e-4);
    check_against_ort(APARC, "aparc", 1e-4);
}

/* ---- determinism --------------------------------------------------------------------------------------- */

/* Random tiles through the 3-class network: finite; the same bits twice; a batch of two equal to two batches of
 * one (another compiled shape); threads=1 equal to threads=2. */
static void test_deterministic(void **state)
{
    (void)state;
    const int64_t roi[3] = {16, 20, 24};
    vxt_runner *r = onnx_runner(GWM, "threads=2");
    host_batch two, one[2], again;
    batch_init(&two, 2, 1, 3, roi);
    batch_random(&two, 7);
    assert_ok(vxt_runner_predict(r, &two.b));
    assert_int_equal(count_nonfinite(two.out, two.out_n), 0);
    batch_init(&again, 2, 1, 3, roi);
    memcpy(again.in, two.in, two.in_n * sizeof(float));
    assert_ok(vxt_runner_predict(r, &again.b));
    assert_int_equal(vxt_count_bit_diffs(two.out, again.out, two.out_n, "the same batch twice"), 0);
    for (int t = 0; t < 2; t++) {
        batch_init(&one[t], 1, 1, 3, roi);
        memcpy(one[t].in, two.in + (size_t)t * one[t].in_n, one[t].in_n * sizeof(float));
        assert_ok(vxt_runner_predict(r, &one[t].b));
        assert_int_equal(vxt_count_bit_diffs(two.out + (size_t)t * one[t].out_n, one[t].out, one[t].out_n,
                                             "a batch of two against batches of one"), 0);
    }
    vxt_runner_destroy(r);
    r = onnx_runner(GWM, "threads=1");
    vxt_poison(again.out, again.out_n * sizeof(float));
    assert_ok(vxt_runner_predict(r, &again.b));
    assert_int_equal(vxt_count_bit_diffs(two.out, again.out, two.out_n, "threads=1 against threads=2"), 0);
    vxt_runner_destroy(r);
    batch_free(&two);
    batch_free(&again);
    batch_free(&one[0]);
    batch_free(&one[1]);
}

/* Fixed shapes. static_8.onnx is (1, 1, 8, 8, 8): the runner says so (roi 8x8x8), refuses other tiles, and takes a
 * batch of three one tile at a time. static_n2.onnx has the same convolution with a fixed batch of 2 and any tile
 * size: three tiles go as two groups, the last padded, and give static_8's values. */
static void test_static_shapes(void **state)
{
    (void)state;
    const int64_t roi[3] = {8, 8, 8}, other[3] = {8, 8, 10};
    vxt_runner *r8 = onnx_runner(ONNXDATA "static_8.onnx", NULL);
    vxt_runner_info i = {.struct_size = sizeof i};
    assert_ok(vxt_runner_get_info(r8, &i));
    assert_int_equal(i.in_channels, 1);
    assert_int_equal(i.out_channels, 2);
    assert_int_equal(i.roi[0], 8);
    assert_int_equal(i.roi[1], 8);
    assert_int_equal(i.roi[2], 8);
    host_batch three, single, n2;
    batch_init(&three, 3, 1, 2, roi);
    batch_random(&three, 11);
    assert_ok(vxt_runner_predict(r8, &three.b));
    assert_int_equal(count_nonfinite(three.out, three.out_n), 0);
    for (int t = 0; t < 3; t++) {
        batch_init(&single, 1, 1, 2, roi);
        memcpy(single.in, three.in + (size_t)t * single.in_n, single.in_n * sizeof(float));
        assert_ok(vxt_runner_predict(r8, &single.b));
        assert_int_equal(vxt_count_bit_diffs(three.out + (size_t)t * single.out_n, single.out, single.out_n,
                                             "static_8: a batch of three against one tile"), 0);
        batch_free(&single);
    }
    host_batch wrong;
    batch_init(&wrong, 1, 1, 2, other);
    batch_random(&wrong, 12);
    assert_status_msg(vxt_runner_predict(r8, &wrong.b), VXT_ERR_INVALID_ARGUMENT, "needs tiles of 8x8x8");
    vxt_runner_destroy(r8);

    vxt_runner *rn2 = onnx_runner(ONNXDATA "static_n2.onnx", NULL);
    assert_ok(vxt_runner_get_info(rn2, &i));
    assert_int_equal(i.roi[0], 0);
    batch_init(&n2, 3, 1, 2, roi);
    memcpy(n2.in, three.in, three.in_n * sizeof(float));
    assert_ok(vxt_runner_predict(rn2, &n2.b));
    double worst = 0;
    for (size_t k = 0; k < n2.out_n; k++)
        worst = fmax(worst, fabs((double)n2.out[k] - (double)three.out[k]));
    print_message("static_n2 (groups of 2, the last padded) against static_8: largest difference %.3g\n", worst);
    assert_true(worst <= 1e-6);
    assert_ok(vxt_runner_predict(rn2, &wrong.b)); /* any tile size */
    assert_int_equal(count_nonfinite(wrong.out, wrong.out_n), 0);
    vxt_runner_destroy(rn2);
    batch_free(&three);
    batch_free(&n2);
    batch_free(&wrong);
}

/* ---- refusals ------------------------------------------------------------------------------------------ */

static void test_bad_models(void **state)
{
    (void)state;
    refused(ONNXDATA "missing.onnx", NULL, VXT_ERR_PREDICTOR, "cannot open the model file");
    refused(ONNXDATA "not_onnx.onnx", NULL, VXT_ERR_PREDICTOR, "not an ONNX file");
    refused(BRAINCHOP "t1_crop.nii.gz", NULL, VXT_ERR_PREDICTOR, "not an ONNX file");
    refused(ONNXDATA "truncated.onnx", NULL, VXT_ERR_PREDICTOR, "cannot read the model: OpenVINO: ");
    refused(ONNXDATA "rank4_input.onnx", NULL, VXT_ERR_PREDICTOR, "its input is of rank 4 (?x1x?x?); the onnx "
            "runner needs rank 5: (N, C, D, H, W)");
    refused(ONNXDATA "output_rank4.onnx", NULL, VXT_ERR_PREDICTOR, "its output is of rank 4");
    refused(ONNXDATA "dynamic_channels.onnx", NULL, VXT_ERR_PREDICTOR, "its input's channel count (dimension 1) is "
            "dynamic");
    refused(ONNXDATA "float64_input.onnx", NULL, VXT_ERR_PREDICTOR, "its input is float64");
    refused(ONNXDATA "two_inputs.onnx", NULL, VXT_ERR_PREDICTOR, "2 inputs and 1 outputs");
    /* configurations */
    refused(GWM, "bogus=1", VXT_ERR_PREDICTOR, "unknown configuration key 'bogus' (the onnx runner takes threads=N, "
            "device=NAME)");
    refused(GWM, "threads=two", VXT_ERR_PREDICTOR, "threads=two: expected a thread count");
    refused(GWM, "threads=-1", VXT_ERR_PREDICTOR, "threads=-1");
    refused(GWM, "threads", VXT_ERR_PREDICTOR, "is not key=value");
    refused(GWM, "threads=2,", VXT_ERR_PREDICTOR, "ends with a comma");
    refused(GWM, "device=", VXT_ERR_PREDICTOR, "expected an OpenVINO device name");
    refused(GWM, "device=NOPE", VXT_ERR_PREDICTOR, "device=NOPE: OpenVINO has no such device here (it has: ");
    refused(GWM, "device=GPU,threads=2", VXT_ERR_PREDICTOR, "threads=2 applies to the CPU device only");
}

/* shrinks.onnx has no padding: its output is 2 voxels smaller per axis than its input. Refused at the first batch
 * (the shapes known), with the shape it gives and the tile's. */
static void test_output_shape_mismatch(void **state)
{
    (void)state;
    const int64_t roi[3] = {6, 8, 10};
    vxt_runner *r = onnx_runner(ONNXDATA "shrinks.onnx", NULL);
    host_batch h;
    batch_init(&h, 2, 1, 2, roi);
    batch_random(&h, 3);
    assert_status_msg(vxt_runner_predict(r, &h.b), VXT_ERR_PREDICTOR, "runner 'shrinks.onnx (OpenVINO");
    assert_non_null(strstr(vxt_last_error(), "shrinks.onnx: for an input of 2x1x6x8x10 it gives an output of "
                                             "2x2x4x6x8; a tile's must be 2x2x6x8x10"));
    assert_null(strchr(vxt_last_error(), '\n'));
    vxt_runner_destroy(r);
    batch_free(&h);
}

/* nan_output.onnx gives sqrt(-x) in channel 1: the runner hands NaN on (it does not look at values); the sliding
 * window refuses it (VXT_ERR_NONFINITE), naming the model, and no labels come back. */
static void test_nan_output(void **state)
{
    (void)state;
    const int64_t roi[3] = {4, 5, 6};
    vxt_runner *r = onnx_runner(ONNXDATA "nan_output.onnx", NULL);
    host_batch h;
    batch_init(&h, 1, 1, 2, roi);
    batch_random(&h, 5);
    assert_ok(vxt_runner_predict(r, &h.b));
    size_t vox = (size_t)(roi[0] * roi[1] * roi[2]);
    assert_int_equal(count_nonfinite(h.out, vox), 0);
    assert_int_equal(count_nonfinite(h.out + vox, vox), vox);
    vxt_runner_destroy(r);
    batch_free(&h);

    const char *json = "{\"voxtile_plan\": 1, \"model\": \"onnx:" ONNXDATA "nan_output.onnx\", \"roi\": [8, 8, 8]}";
    vxt_plan *plan = NULL;
    assert_ok(vxt_plan_create(&plan));
    assert_ok(vxt_plan_load_json(plan, json, strlen(json), "test"));
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    const int64_t shape[3] = {10, 12, 14};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_F32, 1, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    vxt_rng rng = {9};
    for (int64_t k = 0; k < shape[0] * shape[1] * shape[2]; k++)
        ((float *)v.data)[k] = vxt_rng_uniform(&rng, 0.5f, 1.0f);
    vxt_run_result res = {.struct_size = sizeof res};
    assert_status_msg(vxt_pipeline_run(p, img, NULL, &res), VXT_ERR_NONFINITE, "nan_output.onnx: predictor output is "
                      "NaN for tile 0");
    assert_null(strchr(vxt_last_error(), '\n'));
    print_message("nan_output.onnx in a pipeline: %s\n", vxt_last_error());
    assert_int_equal(res.failed_stage, VXT_STAGE_SLIDING_WINDOW);
    assert_null(res.labels);
    vxt_image_destroy(img);
    vxt_pipeline_destroy(p);
    vxt_context_destroy(ctx);
    vxt_plan_destroy(plan);
}

/* ---- a real scan through a pipeline --------------------------------------------------------------------- */

/* A box of t1_crop.nii.gz (256^3 uint8, LIA): `n` voxels per axis from NIfTI (i, j, k) = start, in volume order
 * (k, j, i); the plan's transpose [2, 1, 0] makes tensor axis 0 = i, the networks' convention. */
static vxt_image *t1_box(const int64_t start[3], int64_t n)
{
    vxt_image *full = NULL, *box = NULL;
    assert_ok(vxt_image_read_path(BRAINCHOP "t1_crop.nii.gz", NULL, &full));
    vxt_volume fv, bv;
    assert_ok(vxt_image_volume(full, &fv));
    assert_int_equal(fv.dtype, VXT_DTYPE_U8);
    assert_int_equal(fv.shape[0], 256);
    const int64_t shape[3] = {n, n, n};
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &box));
    assert_ok(vxt_image_volume(box, &bv));
    const uint8_t *src = (const uint8_t *)fv.data;
    uint8_t *dst = (uint8_t *)bv.data;
    for (int64_t z = 0; z < n; z++)
        for (int64_t y = 0; y < n; y++)
            memcpy(dst + (z * n + y) * n, src + ((start[2] + z) * 256 + start[1] + y) * 256 + start[0], (size_t)n);
    vxt_image_destroy(full);
    return box;
}

static vxt_image *segment(vxt_backend backend, const char *model, int64_t roi, int batch, const vxt_image *img)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"voxtile_plan\": 1, \"model\": {\"model\": \"onnx:%s\", \"config\": \"threads=2\"}, "
             "\"transpose\": [2, 1, 0], \"normalization\": {\"scheme\": \"minmax\"}, \"roi\": %lld, "
             "\"overlap\": 0.5, \"batch_size\": %d, \"activation\": \"softmax\"}",
             model, (long long)roi, batch);
    vxt_plan *plan = NULL;
    assert_ok(vxt_plan_create(&plan));
    assert_ok(vxt_plan_load_json(plan, json, strlen(json), "test"));
    vxt_context *ctx = vxt_test_context(backend, 2);
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    vxt_run_result res = {.struct_size = sizeof res};
    assert_ok(vxt_pipeline_run(p, img, NULL, &res));
    assert_non_null(res.labels);
    vxt_image *labels = res.labels;
    print_message("%s on %s: %llu tile(s) in %.2f s (sliding window %.2f s)\n", strrchr(model, '/') + 1,
                  vxt_backend_name(backend), (unsigned long long)res.tiles, res.seconds,
                  res.stage_seconds[VXT_STAGE_SLIDING_WINDOW]);
    res.labels = NULL;
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(p);
    vxt_context_destroy(ctx);
    vxt_plan_destroy(plan);
    return labels;
}

static void label_counts(const vxt_image *labels, int64_t *counts, int classes)
{
    vxt_volume v;
    assert_ok(vxt_image_volume(labels, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_U8);
    memset(counts, 0, sizeof(int64_t) * (size_t)classes);
    size_t n = (size_t)(v.shape[0] * v.shape[1] * v.shape[2]);
    for (size_t i = 0; i < n; i++) {
        uint8_t l = ((const uint8_t *)v.data)[i];
        assert_true(l < classes);
        counts[l]++;
    }
}

/* The 3-class network on a 64^3 box in the middle of the brain, NIfTI (i, j, k) from (96, 80, 96).
 *
 * In one tile (roi 64) the labels are those of ONNX Runtime on the whole box (tools/make_onnx_testdata.py's
 * convention): background 53.2%, white matter 29.4%, grey matter 17.4% (deep in the brain, white matter outweighs
 * grey); a few voxels may differ where two classes nearly tie.
 *
 * In tiles of 48^3 with overlap 0.5 (8 tiles; batches of 3, 3 and 2: two compiled shapes) every voxel sees less of
 * the network's receptive field (93 voxels) than in the whole box, and the zeros beyond a tile's edge read as
 * background: background 75.4%, white matter 15.7%, grey matter 8.9%. (Tiles that reproduce whole-volume inference
 * need a 46-voxel halo; that is the crop blending mode's business, not this test's.) */
static const int64_t GWM_BOX[3] = {96, 80, 96};

static void gwm_fractions(const vxt_image *labels, double f[3], const char *what)
{
    int64_t c[3];
    label_counts(labels, c, 3);
    double n = (double)(c[0] + c[1] + c[2]);
    for (int k = 0; k < 3; k++)
        f[k] = 100.0 * (double)c[k] / n;
    print_message("model5_gw_ae on the 64^3 box, %s: background %.2f%%, white matter %.2f%%, grey matter %.2f%%\n",
                  what, f[0], f[1], f[2]);
}

static void check_tiled_gwm(const vxt_image *labels)
{
    double f[3];
    gwm_fractions(labels, f, "tiles of 48");
    assert_true(f[0] > 65 && f[0] < 85);
    assert_true(f[1] > 10 && f[1] < 22);
    assert_true(f[2] > 5 && f[2] < 14);
}

static void test_real_scan_cpu(void **state)
{
    (void)state;
    vxt_image *box = t1_box(GWM_BOX, 64);
    vxt_image *labels = segment(VXT_BACKEND_CPU, GWM, 64, 1, box);
    double f[3];
    gwm_fractions(labels, f, "one tile");
    const double ort[3] = {53.2, 29.4, 17.4}; /* rounded to 0.1% */
    for (int k = 0; k < 3; k++)
        assert_true(fabs(f[k] - ort[k]) <= 0.1);
    vxt_image_destroy(labels);
    labels = segment(VXT_BACKEND_CPU, GWM, 48, 3, box);
    check_tiled_gwm(labels);
    vxt_image_destroy(labels);
    vxt_image_destroy(box);

    /* the 104-class network on a 32^3 box (one tile): FreeSurfer regions, background most of it */
    const int64_t small[3] = {112, 100, 112};
    box = t1_box(small, 32);
    labels = segment(VXT_BACKEND_CPU, APARC, 32, 1, box);
    int64_t c[104];
    label_counts(labels, c, 104);
    int present = 0;
    for (int k = 0; k < 104; k++)
        present += c[k] > 0;
    print_message("model21_104class on the 32^3 box: %d labels present, background %.1f%%\n", present,
                  100.0 * (double)c[0] / (32.0 * 32 * 32));
    assert_true(present >= 8);
    assert_true(c[0] > 32 * 32 * 32 / 3 && c[0] < 32 * 32 * 32 * 9 / 10);
    vxt_image_destroy(labels);
    vxt_image_destroy(box);
}

/* The same run on an OpenCL context: the same label bits as on the CPU context. */
static void test_real_scan_opencl(void **state)
{
    (void)state;
    vxt_image *box = t1_box(GWM_BOX, 64);
    vxt_image *cpu = segment(VXT_BACKEND_CPU, GWM, 48, 3, box);
    vxt_image *cl = segment(VXT_BACKEND_OPENCL, GWM, 48, 3, box);
    check_tiled_gwm(cl);
    vxt_volume a, b;
    assert_ok(vxt_image_volume(cpu, &a));
    assert_ok(vxt_image_volume(cl, &b));
    assert_memory_equal(a.data, b.data, (size_t)(a.shape[0] * a.shape[1] * a.shape[2]));
    vxt_image_destroy(cpu);
    vxt_image_destroy(cl);
    vxt_image_destroy(box);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_available),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_against_onnxruntime),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_static_shapes),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_output_shape_mismatch),
        cmocka_unit_test(test_nan_output),
        cmocka_unit_test(test_real_scan_cpu),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_real_scan_opencl),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
