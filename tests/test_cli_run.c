/* test_cli_run.c - `voxtile run` end to end: the demonstration plans on a CT phantom (its segmentation agrees with
 * the phantom's own labels) and on the real MRI, .npy inputs and outputs, the backend `auto` picks, the example
 * plugin, plugins that fail in every way the ABI allows (tests/plugins/broken_model.c), nnU-Net model folders
 * (tests/data/nnunet: the plan of each configuration, a 2d and a 3d_fullres run, broken plans.json files), and bad
 * input: one line, a distinct status, no file. Phantom shapes and spacings are Z,Y,X. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_test_util.h"

#define PLAN VXT_TEST_DATA_DIR "/cli/phantom_plan.json"
#define DEMO_PLAN VXT_TEST_DATA_DIR "/../../tools/plans/demo_mri.json"
#define MRI VXT_TEST_DATA_DIR "/mricron_ch2.nii.gz"
#define NNUNET VXT_TEST_DATA_DIR "/nnunet/Dataset001_Test"
#define PHANTOM_ARGS "--shape 40,80,80 --spacing 5,3,3 --seed 11"

static vxt_volume volume_of(const vxt_image *img)
{
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    return v;
}

static double dice(const uint8_t *a, const uint8_t *b, size_t n, int la, int lb)
{
    size_t x = 0, y = 0, both = 0;
    for (size_t i = 0; i < n; i++) {
        x += a[i] == la;
        y += b[i] == lb;
        both += a[i] == la && b[i] == lb;
    }
    return 2.0 * (double)both / (double)(x + y);
}

static void test_phantom_segmentation(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", "truth.nii.gz", PHANTOM_ARGS);
    int rc = cli("run %s -o %s --plan " PLAN " --probabilities %s --picture %s --backend cpu --json",
                 cli_path("ct.nii.gz"), cli_path("seg.nii.gz"), cli_path("prob.nii.gz"), cli_path("seg.png"));
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring, "cpu");
    assert_int_equal((int)cJSON_GetObjectItem(j, "classes")->valuedouble, 4);
    static const char *const stages[] = {"read", "rescale", "resample", "normalize", "sliding_window",
                                         "resample_back", "labels", "write"};
    const cJSON *st = cJSON_GetObjectItem(j, "stages");
    assert_int_equal(cJSON_GetArraySize(st), 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(st, i), "stage")->valuestring, stages[i]);
    /* the model's grid: 40x80x80 voxels of 5x3x3 mm at 6x4x4 mm (z, y, x: 33, 60, 60) */
    const cJSON *mg = cJSON_GetObjectItem(j, "model_grid");
    assert_int_equal(cJSON_GetArraySize(mg), 3);
    assert_int_equal((int)cJSON_GetArrayItem(mg, 0)->valuedouble, 33);
    assert_int_equal((int)cJSON_GetArrayItem(mg, 1)->valuedouble, 60);
    assert_int_equal((int)cJSON_GetArrayItem(mg, 2)->valuedouble, 60);
    assert_string_equal(cli_json_string(j, "input"), cli_path("ct.nii.gz"));
    assert_string_equal(cli_json_string(j, "output"), cli_path("seg.nii.gz"));
    assert_true(cli_json_number(j, "tiles") > 0 && cli_json_number(j, "peak_memory_mib") > 0);
    cJSON_Delete(j);
    /* without --probabilities the probabilities go back to the input grid and become labels slab by slab (here
     * one plane at a time): the same labels, the same stages */
    setenv("VOXTILE_BACK_SLAB_BYTES", "1", 1);
    rc = cli("run %s -o %s --plan " PLAN " --backend cpu --json", cli_path("ct.nii.gz"), cli_path("seg_slabs.nii.gz"));
    unsetenv("VOXTILE_BACK_SLAB_BYTES");
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    j = cJSON_Parse(cli_out);
    st = cJSON_GetObjectItem(j, "stages");
    assert_int_equal(cJSON_GetArraySize(st), 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(st, i), "stage")->valuestring, stages[i]);
    cJSON_Delete(j);
    {
        vxt_image *whole = cli_read_image(cli_path("seg.nii.gz")), *slabs = cli_read_image(cli_path("seg_slabs.nii.gz"));
        vxt_volume a = volume_of(whole), b = volume_of(slabs);
        assert_memory_equal(a.data, b.data, 80 * 80 * 40);
        vxt_image_destroy(whole);
        vxt_image_destroy(slabs);
    }
    vxt_image *ct = cli_read_image(cli_path("ct.nii.gz")), *truth = cli_read_image(cli_path("truth.nii.gz"));
    vxt_image *seg = cli_read_image(cli_path("seg.nii.gz")), *prob = cli_read_image(cli_path("prob.nii.gz"));
    cli_assert_same_geometry(ct, seg);
    cli_assert_same_geometry(ct, prob);
    vxt_volume s = volume_of(seg), t = volume_of(truth), p = volume_of(prob);
    assert_int_equal(s.dtype, VXT_DTYPE_U8);
    assert_int_equal(p.dtype, VXT_DTYPE_F32);
    assert_int_equal(p.channels, 4);
    assert_int_equal(cli_nifti_info(seg).intent_code, 1002);
    /* the bands are air, lung, soft tissue, bone; the phantom's labels background, body, lungs, bone */
    size_t n = 80 * 80 * 40, agree = 0;
    const uint8_t *sl = s.data, *tl = t.data;
    static const uint8_t to_truth[4] = {0, 2, 1, 3};
    uint8_t *mapped = malloc(n);
    for (size_t i = 0; i < n; i++) {
        assert_true(sl[i] < 4);
        mapped[i] = to_truth[sl[i]];
        agree += mapped[i] == tl[i];
    }
    print_message("phantom: %.4f of the voxels agree; Dice %.3f %.3f %.3f %.3f\n", (double)agree / (double)n,
                  dice(mapped, tl, n, 0, 0), dice(mapped, tl, n, 1, 1), dice(mapped, tl, n, 2, 2),
                  dice(mapped, tl, n, 3, 3));
    assert_true((double)agree / (double)n > 0.95);
    for (int l = 0; l < 4; l++)
        assert_true(dice(mapped, tl, n, l, l) > 0.75);
    /* probabilities: a softmax per voxel, and the labels are their argmax */
    const float *pv = p.data;
    for (size_t i = 0; i < n; i += 7) {
        float sum = 0, best = -1;
        int arg = 0;
        for (int c = 0; c < 4; c++) {
            float x = pv[(size_t)c * n + i];
            sum += x;
            if (x > best)
                best = x, arg = c;
        }
        assert_true(fabsf(sum - 1.0f) < 1e-5f);
        assert_int_equal(arg, sl[i]);
    }
    free(mapped);
    vxt_image_destroy(ct);
    vxt_image_destroy(truth);
    vxt_image_destroy(seg);
    vxt_image_destroy(prob);
    /* the picture is a PNG */
    size_t len = 0;
    unsigned char *png = vxt_test_read_file(cli_path("seg.png"), &len);
    assert_true(len > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(png);
}

static void test_mri_demo(void **state)
{
    (void)state;
    int rc = cli("run " MRI " -o %s --plan " DEMO_PLAN " --backend cpu", cli_path("seg.nii.gz"));
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    /* a summary on stdout; no progress bar when stderr is not a terminal */
    if (!strstr(cli_out, "voxtile run: ") || !strstr(cli_out, "cpu on cpu") || !strstr(cli_out, "36 tiles") ||
        !strstr(cli_out, "labels: 0: "))
        fail_msg("summary: %s", cli_out);
    assert_string_equal(cli_err, "");
    rc = cli("run " MRI " -o %s --plan " DEMO_PLAN " --backend cpu --quiet", cli_path("seg.nii.gz"));
    assert_int_equal(rc, 0);
    assert_string_equal(cli_out, ""); /* --quiet: nothing */
    assert_string_equal(cli_err, "");
    vxt_image *in = cli_read_image(MRI), *seg = cli_read_image(cli_path("seg.nii.gz"));
    cli_assert_same_geometry(in, seg);
    vxt_volume s = volume_of(seg), v = volume_of(in);
    size_t n = (size_t)(s.shape[0] * s.shape[1] * s.shape[2]), count[4] = {0};
    assert_int_equal(n, 181 * 217 * 181);
    const uint8_t *l = s.data, *x = v.data;
    double mean[4] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_true(l[i] < 4);
        count[l[i]]++;
        mean[l[i]] += x[i];
    }
    /* four intensity classes, each substantial, ordered by intensity (demonstration bands, not anatomy) */
    for (int c = 0; c < 4; c++) {
        assert_true(count[c] > n / 50);
        mean[c] /= (double)count[c];
        if (c)
            assert_true(mean[c] > mean[c - 1]);
    }
    vxt_image_destroy(in);
    vxt_image_destroy(seg);
}

static void test_print_plan_flags_win(void **state)
{
    (void)state;
    assert_int_equal(cli("run --plan " PLAN " --print-plan --overlap 0.5 --spacing 2,2 --batch 3 --mirror 1,2"), 0);
    cJSON *j = cJSON_Parse(cli_out);
    assert_non_null(j);
    assert_true(cJSON_GetObjectItem(j, "overlap")->valuedouble == 0.5);
    assert_int_equal((int)cJSON_GetObjectItem(j, "batch_size")->valuedouble, 3);
    /* Y,X: a 2D model's spacing, the spacing between slices kept */
    const cJSON *sp = cJSON_GetObjectItem(j, "target_spacing");
    assert_int_equal(cJSON_GetArraySize(sp), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "mirror_axes")), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "normalization"), "scheme")->valuestring, "window");
    cJSON_Delete(j);
}

static void test_example_plugin(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", "truth.nii.gz", PHANTOM_ARGS);
    int rc = cli("run %s -o %s --model plugin:" VXT_EXAMPLE_PLUGIN " --model-config threshold=0.5,scale=0.1 "
                 "--normalization window --lo -1000 --hi 1000 --roi 16,32,32 --spacing none --backend cpu "
                 "--json",
                 cli_path("ct.nii.gz"), cli_path("seg.nii.gz"));
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    assert_non_null(j);
    assert_non_null(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0)->valuestring, "example_model"));
    assert_int_equal((int)cJSON_GetObjectItem(j, "classes")->valuedouble, 2);
    const cJSON *lv = cJSON_GetObjectItem(j, "label_voxels");
    assert_int_equal(cJSON_GetArraySize(lv), 2);
    assert_true(cJSON_GetArrayItem(lv, 0)->valuedouble > 0 && cJSON_GetArrayItem(lv, 1)->valuedouble > 0);
    assert_true(cJSON_GetArrayItem(lv, 0)->valuedouble + cJSON_GetArrayItem(lv, 1)->valuedouble == 80 * 80 * 40);
    cJSON_Delete(j);
    /* class 1 where the 3x3x3 mean of the window is above 0.5 (HU above 0): the lungs are 0, the bone 1 */
    vxt_image *seg = cli_read_image(cli_path("seg.nii.gz")), *truth = cli_read_image(cli_path("truth.nii.gz"));
    vxt_volume s = volume_of(seg), t = volume_of(truth);
    const uint8_t *sl = s.data, *tl = t.data;
    size_t n = 80 * 80 * 40, lung = 0, lung0 = 0, bone = 0, bone1 = 0;
    for (size_t i = 0; i < n; i++) {
        lung += tl[i] == 2, lung0 += tl[i] == 2 && sl[i] == 0;
        bone += tl[i] == 3, bone1 += tl[i] == 3 && sl[i] == 1;
    }
    assert_true(lung0 > lung * 95 / 100);
    assert_true(bone1 > bone * 90 / 100);
    vxt_image_destroy(seg);
    vxt_image_destroy(truth);
}

/* Ctrl-C during a run (here raised by the model during its first batch): the run stops at its next batch, the
 * command exits 9 (cancelled) and writes nothing. */
static void test_interrupt(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6");
    int before = cli_files();
    int rc = cli("run %s -o %s --probabilities %s --model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_sigint.so "
                 "--normalization minmax --roi 8,16,16 --backend cpu", cli_path("ct.nii.gz"), cli_path("seg.nii.gz"),
                 cli_path("prob.nii.gz"));
    assert_int_equal(rc, 9);
    cli_assert_one_line_error("cancelled");
    assert_int_equal(cli_files(), before);
    rc = cli("validate %s --model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_sigint.so --normalization minmax "
             "--roi 8,16,16 --a cpu --b cpu --report %s", cli_path("ct.nii.gz"), cli_path("r.json"));
    assert_int_equal(rc, 9);
    assert_int_equal(cli_files(), before);
}

static void test_broken_plugins(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6");
    cli_write_text("fake.so", "not a shared object\n");
    char ct[1024], fake[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(fake, sizeof fake, "%s", cli_path("fake.so"));
    int before = cli_files();
    static const struct {
        const char *plugin, *needle;
    } cases[] = {
        {"/nonexistent/libnothing.so", "cannot load plugin '/nonexistent/libnothing.so'"},
        {NULL, "cannot load plugin"}, /* fake.so */
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_no_predict.so", "does not export vxt_plugin_predict"},
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_wrong_abi.so", "uses plugin ABI 99; this voxtile speaks 1"},
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_init_fails.so",
         "failed to initialise: broken_model: cannot open the weights file 'missing.onnx'"},
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_bad_desc.so", "and 0 output channels"},
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_predict_fails.so",
         "runner 'broken_model' failed (it returned 5) on batch 2"},
        {VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_nan_output.so",
         "sliding_window: model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_nan_output.so: predictor output is NaN for tile 1"},
    };
    /* every case's message first; then the exit status of each (7: the model), all listed when some differ */
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("run %s -o %s --probabilities %s --model plugin:%s --normalization minmax --roi 8,16,16 "
                     "--spacing none --backend cpu",
                     ct, cli_path("seg.nii.gz"), cli_path("prob.nii.gz"), cases[i].plugin ? cases[i].plugin : fake);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
        assert_int_equal(cli_files(), before);
        if (rc != 7)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: exit %d",
                     cases[i].plugin ? cases[i].plugin : "fake.so", rc);
    }
    /* --print-plan does not load the model */
    assert_int_equal(cli("run %s -o %s --model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_bad_desc.so "
                         "--normalization minmax --roi 8,16,16 --backend cpu --print-plan",
                         ct, cli_path("seg.nii.gz")),
                     0);
    assert_int_equal(cli_files(), before);
    if (bad[0])
        fail_msg("a plugin that cannot be loaded, lacks a symbol, speaks another ABI, fails to initialise, describes "
                 "itself wrongly, fails or returns NaN must exit 7 (docs/CLI.md):%s", bad);
}

/* ---- nnU-Net model folders --------------------------------------------------------------------------- */

/* tests/data/nnunet/expected/<configuration>.json is the plan of each configuration in the schema it was written
 * for; fields the schema gained since (ensemble, orientation, transpose, labels) must have the plan's defaults,
 * and a 2D ROI is now written [y, x] (docs/PLAN.md) where the file has [1, y, x]. Everything else must be equal. */
static cJSON *expected_plan(const char *config)
{
    char rel[256];
    snprintf(rel, sizeof rel, "nnunet/expected/%s.json", config);
    cJSON *want = vxt_test_load_json(rel);
    assert_int_equal(cli("run --model identity --roi 8 --print-plan"), 0);
    cJSON *defaults = cli_out_json();
    static const char *const added[] = {"ensemble", "orientation", "transpose", "labels"};
    for (size_t k = 0; k < sizeof added / sizeof added[0]; k++)
        if (!cJSON_GetObjectItem(want, added[k]))
            cJSON_AddItemToObject(want, added[k], cJSON_Duplicate(cli_json(defaults, added[k]), 1));
    cJSON_Delete(defaults);
    cJSON *roi = cJSON_GetObjectItem(want, "roi");
    if (cJSON_GetArraySize(roi) == 3 && cJSON_GetArrayItem(roi, 0)->valuedouble == 1)
        cJSON_DeleteItemFromArray(roi, 0);
    return want;
}

static void test_nnunet_plans(void **state)
{
    (void)state;
    static const char *const configs[] = {"3d_fullres", "2d", "3d_cascade_fullres", "3d_fullres_mr"};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        cJSON *want = expected_plan(configs[i]);
        int rc = cli("run --nnunet " NNUNET " --configuration %s --model identity --print-plan", configs[i]);
        if (rc)
            fail_msg("%s: exit %d: %s", configs[i], rc, cli_err);
        cJSON *got = cJSON_Parse(cli_out);
        char rel[256];
        snprintf(rel, sizeof rel, "nnunet/expected/%s.json", configs[i]);
        assert_non_null(got);
        if (!cJSON_Compare(got, want, 1)) {
            char *g = cJSON_PrintUnformatted(got);
            fail_msg("%s: the plan is\n%s\nexpected tests/data/%s", configs[i], g, rel);
        }
        cJSON_Delete(got);
        cJSON_Delete(want);
    }
    /* the configuration defaults to 3d_fullres; flags still win over the folder */
    assert_int_equal(cli("run --nnunet " NNUNET " --model identity --print-plan --accumulate float32 --mirror none"), 0);
    cJSON *j = cJSON_Parse(cli_out);
    assert_string_equal(cJSON_GetObjectItem(j, "accumulate")->valuestring, "float32");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "mirror_axes")), 0);
    assert_int_equal((int)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "roi"), 0)->valuedouble, 64);
    assert_string_equal(cli_json_string(j, "grid"), "nnunet"); /* the folder's, not the default */
    cJSON_Delete(j);
}

/* Copy the test folder into cli_tmp/<dir> with plans.json changed by `edit`. */
static void broken_folder(const char *dir, void (*edit)(cJSON *plans))
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp " NNUNET "/dataset.json '%s/'", cli_path(dir), cli_path(dir));
    assert_int_equal(system(cmd), 0);
    cJSON *plans = vxt_test_load_json("nnunet/Dataset001_Test/plans.json");
    edit(plans);
    char *text = cJSON_Print(plans);
    char name[512];
    snprintf(name, sizeof name, "%s/plans.json", dir);
    cli_write_text(name, text);
    free(text);
    cJSON_Delete(plans);
}

static cJSON *fullres(cJSON *plans)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(plans, "configurations"), "3d_fullres");
}
static void no_patch_size(cJSON *p)
{
    cJSON_DeleteItemFromObject(fullres(p), "patch_size");
}
static void fancy_scheme(cJSON *p)
{
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(fullres(p), "normalization_schemes"), 0,
                             cJSON_CreateString("FancyNormalization"));
}
static void no_std(cJSON *p)
{
    cJSON_DeleteItemFromObject(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p, "foreground_intensity_properties_per_channel"), "0"), "std");
}
static void two_channels(cJSON *p)
{
    cJSON_AddItemToArray(cJSON_GetObjectItem(fullres(p), "normalization_schemes"),
                         cJSON_CreateString("ZScoreNormalization"));
}
static void transposed(cJSON *p)
{
    cJSON_ReplaceItemInObject(p, "transpose_forward", cJSON_Parse("[2, 1, 0]"));
}
static void transposed_both(cJSON *p)
{
    cJSON_ReplaceItemInObject(p, "transpose_forward", cJSON_Parse("[2, 0, 1]"));
    cJSON_ReplaceItemInObject(p, "transpose_backward", cJSON_Parse("[1, 2, 0]"));
}
static void bad_spacing(cJSON *p)
{
    cJSON_ReplaceItemInObject(fullres(p), "spacing", cJSON_Parse("[2.5, -1.5, 1.5]"));
}

static void test_nnunet_broken_plans(void **state)
{
    (void)state;
    broken_folder("no_patch", no_patch_size);
    broken_folder("fancy", fancy_scheme);
    broken_folder("no_std", no_std);
    broken_folder("two", two_channels);
    broken_folder("transposed", transposed);
    broken_folder("spacing", bad_spacing);
    broken_folder("transposed_both", transposed_both);
    /* a transposing model (nnU-Net's transpose_forward with its inverse transpose_backward) is a plan now */
    assert_int_equal(cli("run --nnunet %s --model identity --print-plan", cli_path("transposed_both")), 0);
    cJSON *tp = cli_out_json();
    static const double perm[3] = {2, 0, 1};
    assert_int_equal(cJSON_GetArraySize(cli_json(tp, "transpose")), 3);
    for (int a = 0; a < 3; a++)
        assert_true(cJSON_GetArrayItem(cli_json(tp, "transpose"), a)->valuedouble == perm[a]);
    cJSON_Delete(tp);
    static const struct {
        const char *dir, *config, *needle;
    } cases[] = {
        {"no_patch", "3d_fullres", "plans.json: $.configurations.3d_fullres.patch_size: missing"},
        {"no_patch", "3d_cascade_fullres", "plans.json: $.configurations.3d_cascade_fullres.patch_size: missing"},
        {"fancy", "3d_fullres", "$.configurations.3d_fullres.normalization_schemes: normalization scheme "
                                "'FancyNormalization' is not supported"},
        {"no_std", "3d_fullres", "$.foreground_intensity_properties_per_channel.0.std: expected a number"},
        {"two", "3d_fullres", "$.configurations.3d_fullres.normalization_schemes: 2 input channels"},
        {"transposed", "3d_fullres", "$.transpose_backward: [0, 1, 2] does not undo transpose_forward [2, 1, 0]"},
        {"spacing", "3d_fullres", "$.configurations.3d_fullres.spacing[1]: expected a number > 0"},
        {"no_patch", "3d_huge", "$.configurations.3d_huge: no such configuration (plans.json has: 2d, 3d_lowres, "
                                "3d_fullres, 3d_cascade_fullres, 3d_fullres_mr)"},
    };
    /* every case is run; the ones that do not hold are listed together */
    char bad[8192] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("run --nnunet %s --configuration %s --model identity --print-plan", cli_path(cases[i].dir),
                     cases[i].config);
        if (rc != 6 || !strstr(cli_err, cases[i].needle))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s %s: exit %d, %.300s", cases[i].dir,
                     cases[i].config, rc, cli_err);
        else
            cli_assert_one_line_error(cases[i].needle);
    }
    /* a folder without the files, or with text that is not JSON: input files missing or malformed (exit 4, as for any
     * input file); what the files say is the plan's (exit 6, above) */
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm '%s/dataset.json'", cli_path("no_std"));
    assert_int_equal(system(cmd), 0);
    cli_write_text("fancy/plans.json", "{\"configurations\": ");
    static const struct {
        const char *dir, *needle;
    } files[] = {
        {"nothing", "nothing/plans.json"},
        {"fancy", "plans.json: not valid JSON"},
        {"no_std", "no_std/dataset.json"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int rc = cli("run --nnunet %s --model identity --print-plan", cli_path(files[i].dir));
        cli_assert_one_line_error(files[i].needle);
        assert_string_equal(cli_out, "");
        if (rc != 4)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: exit %d, %.300s", files[i].dir, rc,
                     cli_err);
    }
    if (bad[0])
        fail_msg("each broken plans.json must exit 6 (the plan) with its JSON path in plans.json, a missing or "
                 "malformed file 4; these do not:%s",
                 bad);
}

static void test_nnunet_runs(void **state)
{
    (void)state;
    /* 3 mm in-plane, 5 mm slices: the 2d configuration resamples in-plane to 1.5 mm and keeps the 12 slices */
    cli_phantom("ct.nii.gz", NULL, "--shape 12,48,48 --spacing 5,3,3");
    static const struct {
        const char *config;
        int grid[3]; /* z, y, x */
    } cases[] = {{"2d", {12, 96, 96}}, {"3d_fullres", {24, 96, 96}}};
    for (size_t i = 0; i < 2; i++) {
        int rc = cli("run %s -o %s --nnunet " NNUNET " --configuration %s --model plugin:" VXT_EXAMPLE_PLUGIN
                     " --model-config threshold=-2,scale=1 --backend cpu --json",
                     cli_path("ct.nii.gz"), cli_path("seg.nii.gz"), cases[i].config);
        if (rc)
            fail_msg("%s: exit %d: %s", cases[i].config, rc, cli_err);
        cJSON *j = cJSON_Parse(cli_out);
        assert_non_null(j);
        const cJSON *mg = cJSON_GetObjectItem(j, "model_grid");
        for (int a = 0; a < 3; a++)
            if ((int)cJSON_GetArrayItem(mg, a)->valuedouble != cases[i].grid[a])
                fail_msg("%s: model grid axis %d has %d voxels, expected %d", cases[i].config, a,
                         (int)cJSON_GetArrayItem(mg, a)->valuedouble, cases[i].grid[a]);
        assert_non_null(strstr(cJSON_GetObjectItem(j, "plan")->valuestring, cases[i].config));
        cJSON_Delete(j);
        vxt_image *in = cli_read_image(cli_path("ct.nii.gz")), *seg = cli_read_image(cli_path("seg.nii.gz"));
        cli_assert_same_geometry(in, seg);
        vxt_volume s = volume_of(seg);
        size_t ones = 0, n = 48 * 48 * 12;
        for (size_t v = 0; v < n; v++)
            ones += ((const uint8_t *)s.data)[v];
        /* CT-normalized values above -2 (HU above -363): the body, not the air or the lungs */
        assert_true(ones > n / 10 && ones < n * 9 / 10);
        vxt_image_destroy(in);
        vxt_image_destroy(seg);
    }
}

/* ---- bad input ----------------------------------------------------------------------------------------- */

static void test_bad_input(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    char ct[1024], o[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(o, sizeof o, "%s", cli_path("seg.nii.gz"));
    cli_write_text("text.nii.gz", "not NIfTI\n");
    cli_write_text("file", "a file\n");
    cli_write_text("noroi.json", "{\"voxtile_plan\": 1, \"model\": \"identity\"}");
    cli_write_text("nomodel.json", "{\"voxtile_plan\": 1, \"roi\": [8, 8, 8]}");
    cli_write_text("contra.json", "{\"model\": \"identity\", \"roi\": 8, \"grid\": \"nnunet\", \"overlap\": 0.5}");
    cli_write_text("typo.json", "{\"model\": \"identity\", \"roi\": 8, \"normalisation\": {\"scheme\": \"minmax\"}}");
    cli_write_text("scheme.json", "{\"model\": \"identity\", \"roi\": 8, \"normalization\": {\"scheme\": \"zscor\"}}");
    cli_write_text("window.json", "{\"model\": \"identity\", \"roi\": 8, \"normalization\": {\"scheme\": \"window\", "
                                  "\"lo\": 0}}");
    cli_write_text("both.json", "{\"model\": \"identity\", \"members\": [\"identity\"], \"roi\": 8}");
    int before = cli_files();
    static const struct {
        const char *plan, *needle;
    } plans[] = {
        {"noroi.json", "plan: $.roi: missing"},
        {"nomodel.json", "plan: $.model: no model"},
        {"contra.json", "plan: $.overlap: applies to grid \"monai\""},
        {"typo.json", "typo.json: $.normalisation: unknown field"},
        {"scheme.json", "scheme.json: $.normalization.scheme: unknown normalization 'zscor' (expected one of: none, "
                        "window, ct, zscore, zscore-nonzero, minmax, percentile)"},
        {"window.json", "plan: $.normalization: scheme \"window\" needs \"lo\" and \"hi\""},
        {"both.json", "both.json: $.members: give \"model\" or \"members\", not both"},
    };
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s", cli_path(plans[i].plan));
        int rc = cli("run %s -o %s --plan %s", ct, o, p);
        if (rc != 6)
            fail_msg("%s: exit %d, expected 6: %s", plans[i].plan, rc, cli_err);
        cli_assert_one_line_error(plans[i].needle);
        assert_string_equal(cli_out, "");
    }
    /* flags make the same contradictions */
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --grid voxels --step 0.5", ct, o), 6);
    cli_assert_one_line_error("$.step: applies to grid \"nnunet\" only");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --mirror 0 --roi 8,8", ct, o), 6);
    cli_assert_one_line_error("$.mirror_axes: axis 0 (z) cannot be mirrored with a 2D ROI");
    /* usage */
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --bogus", ct, o), 2);
    cli_assert_one_line_error("unknown option '--bogus'");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --norm-lo 3", ct, o), 2); /* the old spelling */
    cli_assert_one_line_error("unknown option '--norm-lo'");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --lo x", ct, o), 2);
    cli_assert_one_line_error("--lo: expected a number");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8,x", ct, o), 2);
    cli_assert_one_line_error("--roi");
    assert_int_equal(cli("run %s --model identity --roi 8", ct), 2);
    cli_assert_one_line_error("missing -o");
    assert_int_equal(cli("run -o %s --model identity --roi 8", o), 2);
    cli_assert_one_line_error("missing the input image");
    /* input: missing, not NIfTI; a plan file that is missing */
    assert_int_equal(cli("run %s -o %s --model identity --roi 8", cli_path("none.nii.gz"), o), 4);
    cli_assert_one_line_error("none.nii.gz");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8", cli_path("text.nii.gz"), o), 4);
    cli_assert_one_line_error("text.nii.gz");
    assert_int_equal(cli("run %s -o %s --plan %s", ct, o, cli_path("none.json")), 4);
    cli_assert_one_line_error("cannot open");
    assert_non_null(strstr(cli_err, cli_path("none.json")));
    /* output: directory missing, parent a regular file, name a directory; a second output that cannot be written */
    assert_int_equal(cli("run %s -o %s --model identity --roi 8", ct, cli_path("no/dir/s.nii.gz")), 5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8", ct, cli_path("file/s.nii.gz")), 5);
    cli_assert_one_line_error("is not a directory");
    assert_int_equal(cli("run %s -o %s --probabilities %s --model identity --roi 8", ct, o,
                         cli_path("file/p.nii.gz")),
                     5);
    cli_assert_one_line_error("--probabilities");
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", cli_path("p.nii.gz"));
    assert_int_equal(system(cmd), 0);
    /* the probabilities fail when written, after the labels: the labels are removed again */
    assert_int_equal(cli("run %s -o %s --probabilities %s --model identity --roi 8 --backend cpu", ct, o,
                         cli_path("p.nii.gz")),
                     5);
    cli_assert_one_line_error("p.nii.gz");
    assert_int_equal(cli_files(), before + 1); /* only the directory made above */
    /* the picture fails when written, after the labels and probabilities: both are removed again */
    snprintf(cmd, sizeof cmd, "mkdir '%s'", cli_path("pic.png"));
    assert_int_equal(system(cmd), 0);
    int prc = cli("run %s -o %s --probabilities %s --picture %s --model identity --roi 8 --backend cpu", ct, o,
                  cli_path("q.nii.gz"), cli_path("pic.png"));
    assert_int_equal(prc, 5);
    cli_assert_one_line_error("--picture");
    assert_int_equal(cli_files(), before + 2); /* the two directories made above */
}

/* A plan file never loads native code by itself: a plugin it names runs only with --allow-plugin for that very
 * file, or when the user names the model on the command line; every other runner stays free in plans. */
static void test_plan_plugins_need_permission(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    char ct[1024], o[1024], plan[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(o, sizeof o, "%s", cli_path("seg.nii.gz"));
    cli_write_text("plan.json", "{\"voxtile_plan\": 1, \"model\": \"plugin:" VXT_EXAMPLE_PLUGIN "\", \"roi\": [8, 8, 8]}");
    snprintf(plan, sizeof plan, "%s", cli_path("plan.json"));
    const int before = cli_files();
    assert_int_equal(cli("run %s -o %s --plan %s --backend cpu", ct, o, plan), 6);
    cli_assert_one_line_error("--allow-plugin");
    assert_non_null(strstr(cli_err, vxt_test_relocate(VXT_EXAMPLE_PLUGIN)));
    assert_int_equal(cli_files(), before); /* nothing written */
    /* --model-config keeps the plan's model: still the plan's plugin */
    assert_int_equal(cli("run %s -o %s --plan %s --model-config threshold=0 --backend cpu", ct, o, plan), 6);
    cli_assert_one_line_error("--allow-plugin");
    /* another library allowed: not this one */
    assert_int_equal(cli("run %s -o %s --plan %s --allow-plugin %s/libvxt_broken_nan_output.so --backend cpu", ct, o,
                         plan, VXT_BROKEN_PLUGIN_DIR), 6);
    /* allowed: it runs */
    assert_int_equal(cli("run %s -o %s --plan %s --allow-plugin %s --backend cpu --quiet", ct, o, plan,
                         VXT_EXAMPLE_PLUGIN), 0);
    /* named by the user on the command line: it runs */
    assert_int_equal(cli("run %s -o %s --plan %s --model plugin:%s --backend cpu --quiet", ct, o, plan,
                         VXT_EXAMPLE_PLUGIN), 0);
    /* a bare name never goes through the library search path */
    assert_int_equal(cli("run %s -o %s --model plugin:libm.so.6 --roi 8 --backend cpu", ct, o), 6);
    cli_assert_one_line_error("names no path");
    /* a plugin that crashes: reported in one line naming it and the signal, the process dies of the signal (exit
     * 128 + 11 through the shell), nothing written */
    /* (under AddressSanitizer, whose own SEGV handler would otherwise take precedence, allow the tool's) */
    const int rc = cli_env("ASAN_OPTIONS=detect_leaks=0:allow_user_segv_handler=1",
                           "run %s -o %s --model plugin:%s/libvxt_broken_segv.so --roi 8 --backend cpu", ct,
                           cli_path("crash.nii.gz"), VXT_BROKEN_PLUGIN_DIR);
    assert_int_equal(rc, 128 + 11);
    /* the first line is voxtile's (the shell that ran it may add its own "Segmentation fault" after it) */
    assert_true(strncmp(cli_err, "voxtile run: crashed (signal 11) while plugin:", 46) == 0);
    assert_non_null(strstr(cli_err, "libvxt_broken_segv.so was loaded"));
    assert_int_equal(access(cli_path("crash.nii.gz"), F_OK), -1);
    /* plans name other runners freely */
    cli_write_text("bands.json", "{\"voxtile_plan\": 1, \"model\": \"bands:0.5\", \"roi\": [8, 8, 8]}");
    assert_int_equal(cli("run %s -o %s --plan %s --backend cpu --quiet", ct, o, cli_path("bands.json")), 0);
}

/* ---- outputs never lose a user's file (issue 13) ---------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = b && fread(b, 1, (size_t)len, f) == (size_t)len ? (size_t)len : 0;
    fclose(f);
    return b;
}

/* Whether the file at path holds exactly these bytes. */
static int holds(const char *path, const unsigned char *want, size_t n)
{
    size_t m = 0;
    unsigned char *b = slurp(path, &m);
    int same = b && m == n && memcmp(b, want, n) == 0;
    free(b);
    return same;
}

/* Entries of a directory (hidden ones too). */
static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* A run whose second or third output fails leaves the first one's existing file as it was (the tool used to
 * remove() it after its own write had replaced it); a disk that fills up halfway through leaves every old output
 * and no temporary file (a small tmpfs, as root); a run killed at any moment leaves either all the old outputs or
 * all the new ones, and nothing else. */
static void test_outputs_never_lose_a_file(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 24,48,48 --spacing 5,3,3");
    char ct[1024], dir[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(dir, sizeof dir, "%s", cli_path("out"));
    assert_int_equal(mkdir(dir, 0755), 0);
    char seg[1100], prob[1100], pic[1100];
    snprintf(seg, sizeof seg, "%s/seg.nii.gz", dir);
    snprintf(prob, sizeof prob, "%s/prob.nii", dir);
    snprintf(pic, sizeof pic, "%s/pic.png", dir);
    /* the old outputs: another model, so that new ones differ */
    assert_int_equal(cli("run %s -o %s --probabilities %s --picture %s --model bands:0.3 --roi 16 --backend cpu", ct,
                         seg, prob, pic), 0);
    size_t nseg = 0, nprob = 0, npic = 0;
    unsigned char *old_seg = slurp(seg, &nseg), *old_prob = slurp(prob, &nprob), *old_pic = slurp(pic, &npic);
    assert_true(nseg > 0 && nprob > 0 && npic > 0);
#define NEW_RUN "run %s -o %s --probabilities %s --picture %s --model bands:0.2,0.5,0.8 --roi 16 --backend cpu"

    /* the probabilities' target cannot be written (a directory): exit 5, the labels' old file untouched */
    char pdir[1100];
    snprintf(pdir, sizeof pdir, "%s/pdir.nii", dir);
    assert_int_equal(mkdir(pdir, 0755), 0);
    assert_int_equal(cli("run %s -o %s --probabilities %s --model bands:0.2,0.5,0.8 --roi 16 --backend cpu", ct, seg,
                         pdir), 5);
    cli_assert_one_line_error("pdir.nii");
    assert_true(holds(seg, old_seg, nseg));
    /* the picture's target cannot be written: labels and probabilities untouched */
    char picdir[1100];
    snprintf(picdir, sizeof picdir, "%s/picdir.png", dir);
    assert_int_equal(mkdir(picdir, 0755), 0);
    assert_int_equal(cli(NEW_RUN, ct, seg, prob, picdir), 5);
    cli_assert_one_line_error("--picture");
    assert_true(holds(seg, old_seg, nseg) && holds(prob, old_prob, nprob) && holds(pic, old_pic, npic));
    assert_int_equal(entries(dir), 5); /* seg, prob, pic and the two directories: no temporary left */
    rmdir(pdir);
    rmdir(picdir);

    /* a disk that fills up: a 1 MiB tmpfs holding the old outputs (about 0.5 MiB); the new probabilities (four
     * float32 channels of 24 x 48 x 48, .nii: 0.9 MiB) do not fit */
    char small[1100], cmd[8000];
    snprintf(small, sizeof small, "%s/small", dir);
    assert_int_equal(mkdir(small, 0755), 0);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=1m vxt-test '%s' 2>/dev/null", small);
    if (geteuid() != 0 || system(cmd) != 0) {
        print_message("disk full: skipped (%s)\n", geteuid() != 0 ? "needs root to mount a small tmpfs"
                                                                   : "mount -t tmpfs failed here");
    } else {
        char s2[1200], p2[1200], g2[1200];
        snprintf(s2, sizeof s2, "%s/seg.nii.gz", small);
        snprintf(p2, sizeof p2, "%s/prob.nii", small);
        snprintf(g2, sizeof g2, "%s/pic.png", small);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s' && cp '%s' '%s'", seg, s2, prob, p2, pic, g2);
        assert_int_equal(system(cmd), 0);
        int rc = cli(NEW_RUN, ct, s2, p2, g2);
        const int full_ok = rc == 5 && holds(s2, old_seg, nseg) && holds(p2, old_prob, nprob) &&
                            holds(g2, old_pic, npic) && entries(small) == 3;
        const char *err_line = cli_err;
        snprintf(cmd, sizeof cmd, "umount '%s'", small);
        assert_int_equal(system(cmd), 0);
        if (!full_ok)
            fail_msg("disk full: exit %d (%s), old outputs kept: %d %d %d, entries %d", rc, err_line,
                     holds(s2, old_seg, nseg), holds(p2, old_prob, nprob), holds(g2, old_pic, npic), entries(small));
        print_message("disk full: exit 5, '%.*s', the old outputs kept, no temporary left\n",
                      (int)strcspn(err_line, "\n"), err_line);
    }
    rmdir(small);

    /* killed at several moments: all old or all new, nothing else. Each round's new outputs are known first (the
     * same command run to the end in another directory: the outputs are deterministic), because a file may be the
     * same bytes in both (the phantom's few intensities give the same labels for nearby thresholds) */
    char ref[1100], rseg[1200], rprob[1200], rpic[1200];
    snprintf(ref, sizeof ref, "%s/ref", cli_tmp);
    assert_int_equal(mkdir(ref, 0755), 0);
    snprintf(rseg, sizeof rseg, "%s/seg.nii.gz", ref);
    snprintf(rprob, sizeof rprob, "%s/prob.nii", ref);
    snprintf(rpic, sizeof rpic, "%s/pic.png", ref);
    int old_both = 0, new_both = 0, mixed = 0;
    for (int t = 0; t < 10; t++) {
        char model[64];
        snprintf(model, sizeof model, "bands:0.%d1,0.95", t); /* a model of its own each round */
        if (cli("run %s -o %s --probabilities %s --picture %s --model %s --roi 16 --backend cpu", ct, rseg, rprob, rpic,
                model) != 0)
            fail_msg("the reference run with %s failed: %s", model, cli_err);
        size_t mseg = 0, mprob = 0, mpic = 0;
        unsigned char *new_seg = slurp(rseg, &mseg), *new_prob = slurp(rprob, &mprob), *new_pic = slurp(rpic, &mpic);
        char raw[4600], line[4600];
        snprintf(raw, sizeof raw,
                 "exec '%s' run %s -o %s --probabilities %s --picture %s --model %s --roi 16 --backend cpu", cli_tool(),
                 ct, seg, prob, pic, model);
        vxt_test_relocate_all(raw, line, sizeof line);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execl("/bin/sh", "sh", "-c", line, (char *)NULL);
            _exit(127);
        }
        struct timespec d = {0, 7000000L * t}; /* 0, 7, ..., 63 ms: a whole run takes about 60 ms here */
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        const int so = holds(seg, old_seg, nseg), po = holds(prob, old_prob, nprob), go = holds(pic, old_pic, npic);
        const int sn = holds(seg, new_seg, mseg), pn = holds(prob, new_prob, mprob), gn = holds(pic, new_pic, mpic);
        const int all_old = so && po && go, all_new = sn && pn && gn;
        /* A kill in the microseconds between two of the commit's renames (labels, probabilities, picture, in that
         * order) leaves the first ones new and the rest old, as vxt_output_set documents; every file is still whole. */
        const int renames_cut = !all_old && !all_new && sn && ((po && go) || (pn && go));
        if (!all_old && !all_new && !renames_cut)
            fail_msg("killed after %d ms: not the old outputs, not the new, not the new up to a rename (labels %s, "
                     "probabilities %s, picture %s)", 7 * t, so ? "old" : sn ? "new" : "neither",
                     po ? "old" : pn ? "new" : "neither", go ? "old" : gn ? "new" : "neither");
        mixed += renames_cut;
        int rewritten = 0; /* the outputs were written again after the kill: the new ones, whatever the kill left */
        if (entries(dir) != 3 || renames_cut) {
            /* killed while the commit named its files and renamed them: what is left is that process's named
             * temporaries (".<name>.vxt-<pid>-<hex>.tmp"), which the next write in the directory removes */
            char mine[64];
            snprintf(mine, sizeof mine, ".vxt-%ld-", (long)pid);
            DIR *od = opendir(dir);
            for (struct dirent *e = od ? readdir(od) : NULL; e; e = readdir(od))
                if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                    !strstr(e->d_name, mine))
                    fail_msg("killed after %d ms: '%s' left in the output directory, not a temporary of the killed "
                             "run (pid %ld)", 7 * t, e->d_name, (long)pid);
            if (od)
                closedir(od);
            if (cli("run %s -o %s --probabilities %s --picture %s --model %s --roi 16 --backend cpu", ct, seg, prob,
                    pic, model) != 0)
                fail_msg("the run after the kill failed: %s", cli_err);
            if (entries(dir) != 3)
                fail_msg("killed after %d ms: %d entries in the output directory after the next run, not 3 (a "
                         "temporary it did not remove)", 7 * t, entries(dir));
            rewritten = 1;
        }
        old_both += all_old && !all_new;
        new_both += all_new && !all_old;
        if (all_new || rewritten) { /* the next round starts from them */
            free(old_seg);
            free(old_prob);
            free(old_pic);
            old_seg = new_seg, nseg = mseg;
            old_prob = new_prob, nprob = mprob;
            old_pic = new_pic, npic = mpic;
        } else {
            free(new_seg);
            free(new_prob);
            free(new_pic);
        }
    }
    print_message("killed 10 times between 0 and 63 ms: %d left the old outputs, %d the new ones, %d the new ones up "
                  "to a rename of the commit\n",
                  old_both, new_both, mixed);
#undef NEW_RUN
    free(old_seg);
    free(old_prob);
    free(old_pic);
}

/* Values of one flag that are malformed, out of the field's range or not one of its names: usage errors (exit 2),
 * as --roi 8,x and --backend cuda are, the message naming the flag, its value and the field. Every case is run
 * before the test fails, so its message lists each one that does not hold. */
static void test_flag_values_are_usage_errors(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    char ct[1024], o[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(o, sizeof o, "%s", cli_path("seg.nii.gz"));
    static const struct {
        const char *flags, *needle;
    } cases[] = {
        {"--roi 1e300", "--roi 1e300: $.roi: 1e+300 is out of range"},
        {"--roi 8.5", "--roi 8.5: $.roi: 8.5 is not a whole number"},
        {"--roi 8 --grid voxels --overlap-voxels 2.9", "--overlap-voxels 2.9: $.overlap_voxels: 2.9 is not a whole"},
        {"--roi 8 --grid voxels --overlap-voxels -5", "--overlap-voxels -5: $.overlap_voxels: -5 is out of range"},
        {"--roi 8 --sigma-scale -1", "--sigma-scale -1: $.sigma_scale: -1 is out of range"},
        {"--roi 8 --overlap 1", "--overlap 1: $.overlap: 1 is out of range"},
        {"--roi 8 --grid nnunet --step 0", "--step 0: $.step: 0 is out of range"},
        {"--roi 8 --grid tiled", "expected one of: monai, nnunet, voxels"},
        {"--roi 8 --activation relu", "--activation relu"},
        {"--roi 8 --label-dtype int8", "--label-dtype int8"},
        {"--roi 8 --normalization zscor", "unknown normalization 'zscor'"},
        {"--roi 8 --model unknown:x", "--model: 'unknown:x' is not a model specification"},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("run %s -o %s --model identity %s", ct, o, cases[i].flags);
        cli_assert_one_line_error(cases[i].needle);
        if (rc != 2)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  run ... %s: exit %d", cases[i].flags, rc);
    }
    assert_int_equal(cli_files(), 1);
    if (bad[0])
        fail_msg("malformed flag values must exit 2 (usage), as --roi 8,x and --backend cuda do:%s", bad);
}

/* A plan file that is not JSON is a broken plan (exit 6, the line named), as a plans.json that is not JSON. */
static void test_plan_file_not_json(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    cli_write_text("broken.json", "{\"model\": \"identity\",\n \"roi\": 8,\n ]");
    int rc = cli("run %s -o %s --plan %s", cli_path("ct.nii.gz"), cli_path("seg.nii.gz"), cli_path("broken.json"));
    cli_assert_one_line_error("broken.json: not valid JSON (near line 3)");
    if (rc != 4) /* a malformed input file, as for any input; what a good file says is the plan's (6) */
        fail_msg("a plan file that is not JSON: exit %d, expected 4 (bad input): %s", rc, cli_err);
    assert_int_equal(cli_files(), 2);
}

/* -o and --probabilities naming the same file: one would silently replace the other (phantom refuses -o and
 * --label-map naming one file, exit 2). */
static void test_same_file_for_both_outputs(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    int rc = cli("run %s -o %s --probabilities %s --model identity --roi 8 --backend cpu", cli_path("ct.nii.gz"),
                 cli_path("same.nii.gz"), cli_path("same.nii.gz"));
    if (rc != 2)
        fail_msg("-o and --probabilities naming one file: exit %d, expected 2 (usage)", rc);
    cli_assert_one_line_error("the same file");
    assert_int_equal(cli_files(), 1);
}

/* .npy in and out: a phantom written as .npy (no geometry: 1 mm voxels) segments to the labels of the same phantom
 * as NIfTI when the plan keeps the input's grid; -o and --probabilities as .npy hold the NIfTI outputs' values. */
static void test_npy_input_and_outputs(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 12,40,36 --spacing 5,3,3 --seed 4");
    cli_phantom("ct.npy", NULL, "--shape 12,40,36 --spacing 5,3,3 --seed 4");
    const char *flags = "--plan " PLAN " --spacing none --roi 8,16,16 --backend cpu";
    int rc = cli("run %s -o %s --probabilities %s %s", cli_path("ct.nii.gz"), cli_path("a.nii.gz"),
                 cli_path("pa.nii.gz"), flags);
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    rc = cli("run %s -o %s --probabilities %s %s --json", cli_path("ct.npy"), cli_path("b.npy"), cli_path("pb.npy"),
             flags);
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cli_out_json();
    static const double grid[3] = {12, 40, 36};
    for (int a = 0; a < 3; a++)
        assert_true(cJSON_GetArrayItem(cli_json(j, "model_grid"), a)->valuedouble == grid[a]);
    cJSON_Delete(j);
    vxt_image *a = cli_read_image(cli_path("a.nii.gz")), *pa = cli_read_image(cli_path("pa.nii.gz"));
    vxt_volume va = volume_of(a), vpa = volume_of(pa);
    vxt_npy_info bi, pbi;
    uint8_t *b = cli_load_npy(cli_path("b.npy"), &bi);
    float *pb = cli_load_npy(cli_path("pb.npy"), &pbi);
    static const int64_t shape3[3] = {12, 40, 36}, shape4[4] = {4, 12, 40, 36};
    assert_int_equal(bi.ndim, 3);
    assert_memory_equal(bi.shape, shape3, sizeof shape3);
    assert_int_equal(bi.dtype, VXT_DTYPE_U8);
    assert_int_equal(pbi.ndim, 4);
    assert_memory_equal(pbi.shape, shape4, sizeof shape4);
    assert_int_equal(pbi.dtype, VXT_DTYPE_F32);
    assert_memory_equal(va.data, b, 12 * 40 * 36);
    assert_memory_equal(vpa.data, pb, sizeof(float) * 4 * 12 * 40 * 36);
    size_t seen[4] = {0};
    for (size_t i = 0; i < 12 * 40 * 36; i++)
        seen[b[i] < 4 ? b[i] : 0]++;
    assert_true(seen[0] && seen[1] && seen[2]); /* air, lung, soft tissue at least */
    free(b);
    free(pb);
    vxt_image_destroy(a);
    vxt_image_destroy(pa);
}

/* --backend auto: an OpenCL GPU or accelerator that passes the probe, else the CPU backend; when every OpenCL device
 * is a CPU device (PoCL), auto is the CPU backend, and voxtile info says why. Without an OpenCL platform, auto is the
 * CPU backend and --backend opencl exits 3. */
static void test_auto_backend(void **state)
{
    (void)state;
    assert_int_equal(cli("info --json"), 0);
    cJSON *info = cli_out_json();
    int devices = 0, accelerators = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cli_json(info, "opencl_devices"))
    {
        devices++;
        if (strcmp(cli_json_string(d, "type"), "cpu") != 0 && cJSON_IsTrue(cli_json(d, "usable")))
            accelerators++;
    }
    const char *want = accelerators ? "opencl" : "cpu";
    assert_string_equal(cli_json_string(cli_json(info, "selection"), "backend"), want);
    assert_string_equal(cli_json_string(cli_json(info, "selection"), "requested"), "auto");
    cJSON_Delete(info);
    assert_int_equal(cli("info"), 0);
    assert_non_null(strstr(cli_out, accelerators ? "selection (auto): opencl" : "selection (auto): cpu"));
    if (devices && !accelerators)
        assert_non_null(strstr(cli_out, "of type CPU"));
    print_message("%d OpenCL devices, %d of them GPUs or accelerators: auto is %s\n", devices, accelerators, want);
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --json", cli_path("ct.nii.gz"), cli_path("s.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), want);
    cJSON_Delete(j);
    /* no OpenCL platform */
    char env[1024];
    snprintf(env, sizeof env, "OCL_ICD_VENDORS='%s' OPENCL_VENDOR_PATH='%s'", VXT_NO_ICD_DIR, VXT_NO_ICD_DIR);
    assert_int_equal(cli_env(env, "run %s -o %s --model identity --roi 8 --json", cli_path("ct.nii.gz"),
                             cli_path("t.nii.gz")),
                     0);
    j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), "cpu");
    cJSON_Delete(j);
    int before = cli_files();
    assert_int_equal(cli_env(env, "run %s -o %s --model identity --roi 8 --backend opencl", cli_path("ct.nii.gz"),
                             cli_path("u.nii.gz")),
                     3);
    cli_assert_one_line_error("OpenCL");
    assert_int_equal(cli_files(), before);
}

/* --backend opencl reaches an OpenCL device even when auto would not choose it (a CPU device). */
static void test_backend_opencl_is_opencl(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --backend opencl --json", cli_path("ct.nii.gz"),
                         cli_path("s.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), "opencl");
    cJSON_Delete(j);
}

static void test_phantom_segmentation_opencl(void **state)
{
    (void)state;
    /* the same run on the device gives the CPU's file */
    cli_phantom("ct.nii.gz", NULL, PHANTOM_ARGS);
    char ct[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    assert_int_equal(cli("run %s -o %s --plan " PLAN " --backend opencl --json", ct, cli_path("a.nii.gz")), 0);
    cJSON *j = cJSON_Parse(cli_out);
    assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring, "opencl");
    cJSON_Delete(j);
    assert_int_equal(cli("run %s -o %s --plan " PLAN " --backend cpu", ct, cli_path("b.nii.gz")), 0);
    size_t na = 0, nb = 0;
    char pa[1024];
    snprintf(pa, sizeof pa, "%s", cli_path("a.nii.gz"));
    char *a = vxt_test_read_file(pa, &na), *b = vxt_test_read_file(cli_path("b.nii.gz"), &nb);
    assert_true(na == nb && memcmp(a, b, na) == 0);
    free(a);
    free(b);
}

/* Under auto, a stage the device cannot hold runs on the CPU, with the CPU's file, and the summary and --json say
 * which stages and why; --backend opencl fails instead, with the device's exit status (3). (auto takes PoCL only
 * when --device names it; --max-device-buffer makes its limit small.) */
static void test_cpu_fallback_opencl(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6 --seed 4");
    char ct[1024], a[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(a, sizeof a, "%s", cli_path("a.nii.gz"));
#define FALLBACK_RUN "run %s -o %s --model bands:0,500 --normalization zscore --roi 8,16,16 --spacing 5,3,3 "
    int rc = cli(FALLBACK_RUN "--backend auto --device pthread --max-device-buffer 16K --json", ct, a);
    assert_int_equal(rc, 0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), "opencl");
    const cJSON *fb = cli_json(j, "cpu_fallback");
    assert_true(cJSON_GetArraySize(fb) >= 2);
    assert_string_equal(cJSON_GetArrayItem(fb, cJSON_GetArraySize(fb) - 1)->valuestring, "labels");
    assert_non_null(strstr(cli_json_string(j, "fallback_reason"), "largest buffer"));
    cJSON_Delete(j);
    rc = cli(FALLBACK_RUN "--backend auto --device pthread --max-device-buffer 16K", ct, cli_path("c.nii.gz"));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(cli_out, "on the CPU backend instead of the device (the same bits) for:"));
    assert_int_equal(cli(FALLBACK_RUN "--backend cpu", ct, cli_path("b.nii.gz")), 0);
    assert_true(cli_same_file(a, cli_path("b.nii.gz")));
    /* asked for the device: its limit is an error */
    rc = cli(FALLBACK_RUN "--backend opencl --max-device-buffer 16K", ct, cli_path("d.nii.gz"));
    assert_int_equal(rc, 3);
    cli_assert_one_line_error("largest buffer");
    assert_false(access(cli_path("d.nii.gz"), F_OK) == 0);
    /* and without a small limit nothing falls back */
    assert_int_equal(cli(FALLBACK_RUN "--backend auto --device pthread --json", ct, cli_path("e.nii.gz")), 0);
    j = cli_out_json();
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "cpu_fallback")), 0);
    cJSON_Delete(j);
#undef FALLBACK_RUN
}

/* The memory ceiling: a run above it stops before its voxels are read, with one line naming the estimate and what
 * would lower it (exit 10); the default ceiling is what the machine can give; the summary reports both. */
static void test_memory_ceiling(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6");
    /* the summary and --json: the estimate and the ceiling it was held to */
    int rc = cli("run %s -o %s --model identity --normalization minmax --roi 8,16,16 --backend cpu --json",
                 cli_path("ct.nii.gz"), cli_path("seg.nii.gz"));
    assert_int_equal(rc, 0);
    cJSON *j = cli_out_json();
    const cJSON *mem = cli_json(j, "memory");
    const double est = cli_json_number(mem, "estimate_bytes");
    assert_true(est > 16 * 40 * 40 * 4 && est < 64e6);
    assert_true(cli_json_number(mem, "ceiling_bytes") > est);
    const char *source = cli_json_string(mem, "ceiling_source");
    assert_true(!strcmp(source, "MemAvailable") || strstr(source, "cgroup"));
    cJSON_Delete(j);
    /* an explicit ceiling below what the process holds with the run's estimate */
    rc = cli("run %s -o %s --model identity --normalization minmax --roi 8,16,16 --backend cpu --max-memory 1M",
             cli_path("ct.nii.gz"), cli_path("seg2.nii.gz"));
    assert_int_equal(rc, 10);
    cli_assert_one_line_error("the run needs an estimated");
    assert_non_null(strstr(cli_err, "--max-memory"));
    assert_non_null(strstr(cli_err, "smaller ROI or batch"));
    assert_false(access(cli_path("seg2.nii.gz"), F_OK) == 0);
    /* a size that is not one */
    const char *bad[] = {"lots", "-5G", "0x10", "12Q", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = cli("run %s -o %s --model identity --roi 8 --max-memory '%s'", cli_path("ct.nii.gz"),
                 cli_path("seg2.nii.gz"), bad[i]);
        assert_int_equal(rc, 2);
        cli_assert_one_line_error("--max-memory");
    }
    /* a ROI far beyond the image: refused by the default ceiling (what the machine can give), at once */
    rc = cli("run %s -o %s --model identity --normalization minmax --roi 4000 --backend cpu", cli_path("ct.nii.gz"),
             cli_path("seg2.nii.gz"));
    assert_int_equal(rc, 10);
    cli_assert_one_line_error("above the limit");
    assert_true(strstr(cli_err, "MemAvailable") || strstr(cli_err, "cgroup"));
    /* a header that claims 1024^3 int16 in a file of a few KiB: refused before its voxels are read or allocated */
    cli_phantom("tiny.nii", NULL, "--shape 4,4,4 --spacing 1,1,1");
    FILE *f = fopen(cli_path("tiny.nii"), "r+b");
    assert_non_null(f);
    const int16_t dims[3] = {1024, 1024, 1024}; /* dim[1..3], from byte 42 */
    assert_int_equal(fseek(f, 42, SEEK_SET), 0);
    assert_int_equal(fwrite(dims, sizeof dims, 1, f), 1);
    fclose(f);
    rc = cli("run %s -o %s --model identity --normalization minmax --roi 64 --backend cpu --max-memory 3G --json",
             cli_path("tiny.nii"), cli_path("seg2.nii.gz"));
    assert_int_equal(rc, 10);
    cli_assert_one_line_error("input 2.0 GiB");
    assert_false(access(cli_path("seg2.nii.gz"), F_OK) == 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_phantom_segmentation, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_mri_demo, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_print_plan_flags_win, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_example_plugin, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_broken_plugins, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_interrupt, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_nnunet_plans, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_nnunet_broken_plans, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_nnunet_runs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flag_values_are_usage_errors, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_plan_file_not_json, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_same_file_for_both_outputs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_outputs_never_lose_a_file, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_plan_plugins_need_permission, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_npy_input_and_outputs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_auto_backend, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_memory_ceiling, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_backend_opencl_is_opencl, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_phantom_segmentation_opencl, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_cpu_fallback_opencl, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
