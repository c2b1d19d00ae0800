/* test_runner.c - runners: the built-ins (identity, bands) against their definitions, callbacks, plugins (the
 * example, and one broken plugin per failure), the checks vxt_runner_predict makes of a batch, and every
 * specification error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vxt_test.h"

enum { R0 = 3, R1 = 4, R2 = 5, ROI = R0 * R1 * R2 };

/* A host batch of `count` tiles with random, non-zero inputs and poisoned outputs. */
typedef struct test_batch {
    vxt_batch b;
    float in[2 * 2 * ROI];
    float out[2 * 8 * ROI];
} test_batch;

static void make_batch(test_batch *t, int count, int64_t in_c, int64_t out_c, uint64_t seed)
{
    memset(&t->b, 0, sizeof t->b);
    vxt_rng r = {seed};
    for (size_t i = 0; i < sizeof t->in / sizeof t->in[0]; i++)
        t->in[i] = vxt_rng_uniform(&r, -1.0f, 2.0f);
    vxt_poison(t->out, sizeof t->out);
    t->b.count = count;
    t->b.in_channels = in_c;
    t->b.out_channels = out_c;
    t->b.roi[0] = R0;
    t->b.roi[1] = R1;
    t->b.roi[2] = R2;
    t->b.output_dtype = VXT_DTYPE_F32;
    t->b.input = t->in;
    t->b.output = t->out;
}

static void test_identity(void **state)
{
    (void)state;
    vxt_runner *r = NULL;
    assert_ok(vxt_runner_create("identity", NULL, &r));
    vxt_runner_info i = {.struct_size = sizeof i};
    assert_ok(vxt_runner_get_info(r, &i));
    assert_int_equal(i.kind, VXT_RUNNER_IDENTITY);
    assert_string_equal(i.name, "identity");
    assert_int_equal(i.in_channels, 0);
    assert_int_equal(i.out_channels, 0);
    assert_int_equal(i.output_dtype, VXT_DTYPE_F32);
    test_batch t;
    make_batch(&t, 2, 2, 2, 3);
    assert_ok(vxt_runner_predict(r, &t.b));
    assert_memory_equal(t.out, t.in, 2 * 2 * ROI * sizeof(float));
    /* the identity gives as many channels as it gets */
    make_batch(&t, 1, 2, 3, 3);
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_INVALID_ARGUMENT, "runner 'identity'");
    vxt_runner_destroy(r);
    assert_status_msg(vxt_runner_create("identity:x", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "takes no argument");
    assert_null(r);
    assert_status_msg(vxt_runner_create("identity", "a=1", &r), VXT_ERR_INVALID_ARGUMENT, "no configuration");
}

/* bands:E1,..: class k's logit is -sharpness x the distance of the value to [E_k, E_{k+1}) (0 inside). */
static void test_bands(void **state)
{
    (void)state;
    vxt_runner *r = NULL;
    assert_ok(vxt_runner_create("bands:0,0.5,1.25", "sharpness=3", &r));
    vxt_runner_info i = {.struct_size = sizeof i};
    assert_ok(vxt_runner_get_info(r, &i));
    assert_int_equal(i.kind, VXT_RUNNER_BANDS);
    assert_int_equal(i.in_channels, 1);
    assert_int_equal(i.out_channels, 4);
    assert_non_null(strstr(i.name, "not a trained model"));
    test_batch t;
    make_batch(&t, 2, 1, 4, 9);
    assert_ok(vxt_runner_predict(r, &t.b));
    const double edges[3] = {0, 0.5, 1.25};
    for (int tile = 0; tile < 2; tile++)
        for (int v = 0; v < ROI; v++) {
            double x = t.in[tile * ROI + v];
            for (int k = 0; k < 4; k++) {
                double lo = k ? edges[k - 1] : -INFINITY, hi = k < 3 ? edges[k] : INFINITY;
                double d = x < lo ? lo - x : x > hi ? x - hi : 0.0;
                float got = t.out[(tile * 4 + k) * ROI + v];
                assert_true(fabs((double)got - (-3.0 * d)) <= 1e-6 * (1.0 + 3.0 * d));
            }
        }
    vxt_runner_destroy(r);
    /* default: one edge at 0.5, sharpness 8 */
    assert_ok(vxt_runner_create("bands", "", &r));
    assert_ok(vxt_runner_get_info(r, &i));
    assert_int_equal(i.out_channels, 2);
    vxt_runner_destroy(r);
    const char *bad[] = {"bands:1,0.5", "bands:0.1,,0.2", "bands:0.1,", "bands:x", "bands:1,1", "bands:nan"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_status_msg(vxt_runner_create(bad[k], NULL, &r), VXT_ERR_INVALID_ARGUMENT, "increasing band edges");
        assert_null(r);
    }
    assert_status_msg(vxt_runner_create("bands:0.5", "sharpness=-1", &r), VXT_ERR_INVALID_ARGUMENT, "sharpness=S");
    assert_status_msg(vxt_runner_create("bands:0.5", "sharp=2", &r), VXT_ERR_INVALID_ARGUMENT, "sharpness=S");
}

typedef struct cb_user {
    int calls;
    int fail_on;
} cb_user;

static int twice(void *user, const vxt_batch *b)
{
    cb_user *u = (cb_user *)user;
    if (++u->calls == u->fail_on)
        return 42;
    size_t n = (size_t)b->count * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (size_t i = 0; i < n; i++)
        ((float *)b->output)[i] = 2.0f * b->input[i];
    return 0;
}

static void test_callback(void **state)
{
    (void)state;
    cb_user u = {0, 2};
    vxt_runner_info info = {.struct_size = sizeof info};
    snprintf(info.name, sizeof info.name, "my engine");
    info.in_channels = 1;
    info.out_channels = 1;
    info.output_dtype = VXT_DTYPE_F32;
    info.roi[0] = R0, info.roi[1] = R1, info.roi[2] = R2;
    info.preferred_batch = 2;
    vxt_runner *r = NULL;
    assert_ok(vxt_runner_create_callback(&info, twice, &u, &r));
    vxt_runner_info got = {.struct_size = sizeof got};
    assert_ok(vxt_runner_get_info(r, &got));
    assert_int_equal(got.kind, VXT_RUNNER_CALLBACK);
    assert_string_equal(got.name, "my engine");
    assert_int_equal(got.preferred_batch, 2);
    test_batch t;
    make_batch(&t, 2, 1, 1, 5);
    assert_ok(vxt_runner_predict(r, &t.b));
    for (int i = 0; i < 2 * ROI; i++)
        assert_true(t.out[i] == 2.0f * t.in[i]);
    /* its failure names the runner, the value it returned and the batch */
    t.b.id = 7;
    t.b.first_tile = 11;
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_PREDICTOR, "runner 'my engine' failed (it returned 42) "
                      "on batch 7 (tiles 11..12");
    /* batches that do not fit it */
    make_batch(&t, 1, 2, 1, 5);
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_INVALID_ARGUMENT, "takes 1 channels");
    make_batch(&t, 1, 1, 1, 5);
    t.b.roi[2] = R2 + 1;
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_INVALID_ARGUMENT, "needs tiles of 3x4x5");
    make_batch(&t, 1, 1, 1, 5);
    t.b.output_dtype = VXT_DTYPE_F16;
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_INVALID_ARGUMENT, "gives 1 of float32");
    make_batch(&t, 0, 1, 1, 5);
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_INVALID_ARGUMENT, "a batch of 0 tiles");
    make_batch(&t, 1, 1, 1, 5);
    t.b.input = NULL;
    assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_NULL, "no host input");
    assert_status_msg(vxt_runner_predict(r, NULL), VXT_ERR_NULL, "batch");
    assert_status_msg(vxt_runner_predict(NULL, &t.b), VXT_ERR_NULL, "runner");
    vxt_runner_destroy(r);

    /* descriptions it refuses */
    vxt_runner_info bad = info;
    bad.output_dtype = VXT_DTYPE_F64;
    assert_status_msg(vxt_runner_create_callback(&bad, twice, &u, &r), VXT_ERR_INVALID_ARGUMENT, "float32 or float16");
    assert_null(r);
    bad = info;
    bad.out_channels = -1;
    assert_status_msg(vxt_runner_create_callback(&bad, twice, &u, &r), VXT_ERR_INVALID_ARGUMENT, "must be >= 0");
    bad = info;
    bad.roi[1] = -4;
    assert_status_msg(vxt_runner_create_callback(&bad, twice, &u, &r), VXT_ERR_INVALID_ARGUMENT, "roi[1] = -4");
    bad = info;
    bad.preferred_batch = -1;
    assert_status_msg(vxt_runner_create_callback(&bad, twice, &u, &r), VXT_ERR_INVALID_ARGUMENT, "preferred_batch");
    bad = info;
    bad.struct_size = 3;
    assert_status_msg(vxt_runner_create_callback(&bad, twice, &u, &r), VXT_ERR_STRUCT_SIZE, "vxt_runner_info");
    assert_status_msg(vxt_runner_create_callback(&info, NULL, &u, &r), VXT_ERR_NULL, "predict");
    assert_status_msg(vxt_runner_create_callback(NULL, twice, &u, &r), VXT_ERR_NULL, "info");
    assert_status_msg(vxt_runner_create_callback(&info, twice, &u, NULL), VXT_ERR_NULL, "out");
    vxt_runner_info small = {.struct_size = 4};
    assert_ok(vxt_runner_create_callback(&info, twice, &u, &r));
    assert_status_msg(vxt_runner_get_info(r, &small), VXT_ERR_STRUCT_SIZE, "vxt_runner_info");
    assert_status_msg(vxt_runner_get_info(r, NULL), VXT_ERR_NULL, "info");
    assert_status_msg(vxt_runner_get_info(NULL, &got), VXT_ERR_NULL, "runner");
    vxt_runner_destroy(r);
    vxt_runner_destroy(NULL);
}

static void test_plugin(void **state)
{
    (void)state;
    char spec[4200];
    snprintf(spec, sizeof spec, "plugin:%s", VXT_EXAMPLE_PLUGIN);
    vxt_runner *r = NULL;
    assert_ok(vxt_runner_create(spec, "threshold=0.25,scale=2", &r));
    vxt_runner_info i = {.struct_size = sizeof i};
    assert_ok(vxt_runner_get_info(r, &i));
    assert_int_equal(i.kind, VXT_RUNNER_PLUGIN);
    assert_int_equal(i.in_channels, 1);
    assert_int_equal(i.out_channels, 2);
    assert_non_null(strstr(i.name, "threshold 0.25, scale 2"));
    test_batch t;
    make_batch(&t, 1, 1, 2, 13);
    assert_ok(vxt_runner_predict(r, &t.b));
    /* voxel (1, 2, 3): the mean of its full 3x3x3 neighbourhood */
    const int z = 1, y = 2, x = 3, v = (z * R1 + y) * R2 + x;
    float sum = 0.0f;
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                sum += t.in[((z + dz) * R1 + (y + dy)) * R2 + (x + dx)];
    float logit = (sum / 27.0f - 0.25f) / 2.0f;
    assert_true(t.out[ROI + v] == logit);
    assert_true(t.out[v] == -logit);
    vxt_runner_destroy(r);
    /* the plugin's own configuration error, with its message */
    assert_status_msg(vxt_runner_create(spec, "thresh=1", &r), VXT_ERR_PREDICTOR, "failed to initialise");
    assert_null(r);

    char path[4200];
    struct {
        const char *kind;
        vxt_status st;
        const char *msg;
    } broken[] = {
        {"no_predict", VXT_ERR_UNSUPPORTED, "does not export vxt_plugin_predict"},
        {"wrong_abi", VXT_ERR_UNSUPPORTED, "plugin ABI 99"},
        {"init_fails", VXT_ERR_PREDICTOR, "cannot open the weights file 'missing.onnx'"},
        {"bad_desc", VXT_ERR_UNSUPPORTED, "0 output channels"},
    };
    for (size_t k = 0; k < sizeof broken / sizeof broken[0]; k++) {
        snprintf(path, sizeof path, "plugin:%s/libvxt_broken_%s.so", VXT_BROKEN_PLUGIN_DIR, broken[k].kind);
        assert_status_msg(vxt_runner_create(path, NULL, &r), broken[k].st, broken[k].msg);
        assert_null(r);
    }
    /* a plugin that fails on its third batch */
    snprintf(path, sizeof path, "plugin:%s/libvxt_broken_predict_fails.so", VXT_BROKEN_PLUGIN_DIR);
    assert_ok(vxt_runner_create(path, NULL, &r));
    for (int call = 1; call <= 3; call++) {
        make_batch(&t, 1, 1, 2, 21);
        if (call < 3)
            assert_ok(vxt_runner_predict(r, &t.b));
        else
            assert_status_msg(vxt_runner_predict(r, &t.b), VXT_ERR_PREDICTOR, "returned 5");
    }
    vxt_runner_destroy(r);
    assert_status_msg(vxt_runner_create("plugin:/nonexistent/libmodel.so", NULL, &r), VXT_ERR_IO,
                      "cannot load plugin '/nonexistent/libmodel.so'");
    assert_status_msg(vxt_runner_create("plugin:", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "needs the library's path");
    /* a bare name is never looked up in the library search path (libm.so.6 is there on every Linux) */
    assert_status_msg(vxt_runner_create("plugin:libm.so.6", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "names no path");
    assert_null(r);
}

static void test_specifications(void **state)
{
    (void)state;
    vxt_runner *r = (vxt_runner *)(uintptr_t)1;
    assert_status_msg(vxt_runner_create("tensorrt:model.plan", NULL, &r), VXT_ERR_INVALID_ARGUMENT,
                      "unknown runner kind 'tensorrt'");
    assert_null(r);
    /* the module kinds: "not in this build", or (built) the module's own refusal of a missing file */
    const vxt_runner_kind modules[2] = {VXT_RUNNER_ONNX, VXT_RUNNER_TORCHSCRIPT};
    for (int i = 0; i < 2; i++) {
        char detail[512], spec[64];
        int have = vxt_runner_available(modules[i], detail, sizeof detail);
        snprintf(spec, sizeof spec, "%s:/nonexistent/model.bin", vxt_runner_kind_name(modules[i]));
        if (have)
            assert_status_msg(vxt_runner_create(spec, NULL, &r), VXT_ERR_PREDICTOR, "/nonexistent/model.bin");
        else
            assert_status_msg(vxt_runner_create(spec, NULL, &r), VXT_ERR_UNSUPPORTED, "is not in this build");
        assert_null(r);
        assert_true(strlen(detail) > 0);
        char kname[32];
        snprintf(kname, sizeof kname, "%s:", vxt_runner_kind_name(modules[i]));
        assert_status_msg(vxt_runner_create(kname, NULL, &r), VXT_ERR_INVALID_ARGUMENT, "needs the model file's path");
    }
    char detail[64];
    assert_int_equal(vxt_runner_available(VXT_RUNNER_BANDS, detail, sizeof detail), 1);
    assert_string_equal(detail, "built in");
    assert_int_equal(vxt_runner_available((vxt_runner_kind)77, detail, sizeof detail), 0);
    assert_int_equal(vxt_runner_available(VXT_RUNNER_PLUGIN, NULL, 0), 1);
    assert_status_msg(vxt_runner_create("callback", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "unknown runner kind");
    assert_status_msg(vxt_runner_create("", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "not a runner specification");
    assert_status_msg(vxt_runner_create(":x", NULL, &r), VXT_ERR_INVALID_ARGUMENT, "not a runner specification");
    char longkind[100];
    memset(longkind, 'k', sizeof longkind - 1);
    longkind[sizeof longkind - 1] = '\0';
    assert_status_msg(vxt_runner_create(longkind, NULL, &r), VXT_ERR_INVALID_ARGUMENT, "not a runner specification");
    assert_status_msg(vxt_runner_create("ban\x01" "ds", NULL, &r), VXT_ERR_INVALID_ARGUMENT,
                      "unknown runner kind 'ban\\x01ds' in 'ban\\x01ds'");
    assert_status_msg(vxt_runner_create(NULL, NULL, &r), VXT_ERR_NULL, "spec");
    assert_status_msg(vxt_runner_create("identity", NULL, NULL), VXT_ERR_NULL, "out");
    /* kind names, both ways */
    for (int k = 0; k < VXT_RUNNER_KIND_COUNT_; k++) {
        vxt_runner_kind back;
        assert_ok(vxt_runner_kind_parse(vxt_runner_kind_name((vxt_runner_kind)k), &back));
        assert_int_equal(back, k);
    }
    assert_string_equal(vxt_runner_kind_name((vxt_runner_kind)99), "unknown");
    assert_status_msg(vxt_runner_kind_parse("tensorrt", NULL), VXT_ERR_NULL, "out");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_identity), cmocka_unit_test(test_bands),  cmocka_unit_test(test_callback),
        cmocka_unit_test(test_plugin),   cmocka_unit_test(test_specifications),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
