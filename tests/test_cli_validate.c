/* test_cli_validate.c - `voxtile validate` end to end. OpenCL group: the PoCL device against the CPU backend
 * reports identical output for every stage (a CT phantom with the phantom plan, and the real MRI with the demo
 * plan), and two OpenCL sides. CPU group: two CPU configurations (thread counts) are identical too; two plans
 * that legitimately differ (float16 against float32 accumulation, via --b-plan) are a mismatch (exit 8) with
 * the differences reported where they arise; explicit tolerances turn that into a pass, and only when they
 * cover it; --stage; a machine without an OpenCL platform; and bad input. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_test_util.h"

#define PLAN VXT_TEST_DATA_DIR "/cli/phantom_plan.json"
#define DEMO_PLAN VXT_TEST_DATA_DIR "/../../tools/plans/demo_mri.json"
#define MRI VXT_TEST_DATA_DIR "/mricron_ch2.nii.gz"
#define PHANTOM_ARGS "--shape 32,64,64 --spacing 6,3.5,3.5 --seed 4"

static const char *const all_stages[] = {"rescale", "resample", "normalize", "sliding_window", "resample_back",
                                         "labels"};

static const cJSON *stage(const cJSON *report, const char *name)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(report, "stages")) if (!strcmp(
        cJSON_GetObjectItem(s, "stage")->valuestring, name)) return s;
    return NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(x))
        fail_msg("'%s' is not a number", key);
    return x->valuedouble;
}

/* Every stage present on both sides, compared, identical; labels with Dice 1 everywhere. */
static void assert_all_identical(const cJSON *r)
{
    assert_string_equal(cJSON_GetObjectItem(r, "result")->valuestring, "identical");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "identical")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "stages")), 6);
    for (size_t i = 0; i < 6; i++) {
        const cJSON *s = stage(r, all_stages[i]);
        if (!s)
            fail_msg("stage %s missing from the report", all_stages[i]);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "compared")));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "identical")));
        assert_true(num(s, "values") > 0);
        assert_true(num(s, "differing_values") == 0 && num(s, "max_ulp_diff") == 0 && num(s, "max_abs_diff") == 0);
        assert_true(num(s, "a_seconds") >= 0 && num(s, "b_seconds") >= 0);
    }
    const cJSON *d, *labels = cJSON_GetObjectItem(r, "labels");
    assert_int_equal((int)num(labels, "differing_voxels"), 0);
    int nl = 0;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(labels, "dice"))
    {
        assert_true(num(d, "dice") == 1.0);
        assert_true(num(d, "a_voxels") == num(d, "b_voxels"));
        nl++;
    }
    assert_int_equal(nl, 4);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Pixels of a PNG that are pure red (255, 0, 0): differences. Neither grey levels nor the label colours blended
 * over them are. */
static size_t red_pixels(const char *path)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        fail_msg("%s: %s", path, im.message);
    im.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
    assert_non_null(px);
    assert_true(png_image_finish_read(&im, NULL, px, 0, NULL) != 0);
    size_t red = 0;
    for (size_t i = 0; i < (size_t)im.width * im.height; i++)
        red += px[3 * i] == 255 && px[3 * i + 1] == 0 && px[3 * i + 2] == 0;
    free(px);
    assert_true(im.width > 100 && im.height > 20);
    return red;
}

/* ---- opencl ------------------------------------------------------------------------------------------ */

static void test_pocl_vs_cpu_phantom(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, PHANTOM_ARGS);
    int rc = cli("validate %s --plan " PLAN " --report %s --pictures %s --json", cli_path("ct.nii.gz"),
                 cli_path("report.json"), cli_path("pics"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *r = cJSON_Parse(cli_out);
    assert_non_null(r);
    assert_all_identical(r);
    const cJSON *sides = cJSON_GetObjectItem(r, "sides");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sides, "a"), "backend")->valuestring, "opencl");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sides, "b"), "backend")->valuestring, "cpu");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(sides, "a"), "probe"));
    /* the report file holds the same report */
    cJSON *f = vxt_test_load_json(cli_path("report.json"));
    assert_true(cJSON_Compare(r, f, 1));
    cJSON_Delete(f);
    /* pictures: input, both label maps, the (empty) difference map; no stage differs, so no stage picture */
    static const char *const pics[] = {"input.png", "a_labels.png", "b_labels.png", "difference.png"};
    for (int i = 0; i < 4; i++) {
        char p[512];
        snprintf(p, sizeof p, "pics/%s", pics[i]);
        assert_true(exists(cli_path(p)));
    }
    assert_false(exists(cli_path("pics/diff_labels.png")));
    assert_int_equal(red_pixels(cli_path("pics/difference.png")), 0);
    assert_int_equal(red_pixels(cli_path("pics/a_labels.png")), 0);
    cJSON_Delete(r);
    /* the summary, without --json */
    assert_int_equal(cli("validate %s --plan " PLAN, cli_path("ct.nii.gz")), 0);
    assert_non_null(strstr(cli_out, "result: IDENTICAL: 6 stages compared, every value bit for bit"));
    assert_non_null(strstr(cli_out, "a: opencl"));
}

static void test_pocl_vs_cpu_mri(void **state)
{
    (void)state;
    int rc = cli("validate " MRI " --plan " DEMO_PLAN " --json");
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *r = cJSON_Parse(cli_out);
    assert_non_null(r);
    assert_all_identical(r);
    /* the real image: 7.1 million voxels on the input grid, 4 classes on both grids */
    assert_int_equal((int64_t)num(stage(r, "labels"), "values"), 181 * 217 * 181);
    assert_int_equal((int64_t)num(stage(r, "resample_back"), "channels"), 4);
    cJSON_Delete(r);
}

static void test_pocl_vs_cpu_nnunet_plugin(void **state)
{
    (void)state;
    /* nnU-Net's settings (normalization first, float16 accumulation, its Gaussian, mirroring on every axis) with the
     * example plugin: the device and the CPU agree there too */
    cli_phantom("ct.nii.gz", NULL, "--shape 24,64,64 --spacing 5,3,3");
    int rc = cli("validate %s --nnunet " VXT_TEST_DATA_DIR "/nnunet/Dataset001_Test --configuration 3d_fullres "
                 "--model plugin:" VXT_EXAMPLE_PLUGIN " --model-config threshold=-2,scale=1 --json",
                 cli_path("ct.nii.gz"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *r = cJSON_Parse(cli_out);
    assert_string_equal(cJSON_GetObjectItem(r, "result")->valuestring, "identical");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "stages")), 6);
    /* normalization before resampling, as nnU-Net does it */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "stages"), 1), "stage")->valuestring,
                        "normalize");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "plan"), "accumulate")->valuestring, "float16");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "stages")) assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "identical")));
    cJSON_Delete(r);
}

static void test_two_opencl_sides(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6");
    assert_int_equal(cli("validate %s --plan " PLAN " --a opencl,device=0 --b opencl,threads=1 --json",
                         cli_path("ct.nii.gz")),
                     0);
    cJSON *r = cJSON_Parse(cli_out);
    assert_all_identical(r);
    const cJSON *sides = cJSON_GetObjectItem(r, "sides");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sides, "b"), "backend")->valuestring, "opencl");
    assert_int_equal((int)num(cJSON_GetObjectItem(sides, "b"), "threads"), 1);
    cJSON_Delete(r);
}

/* ---- cpu --------------------------------------------------------------------------------------------- */

static void test_two_cpu_configurations(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, PHANTOM_ARGS);
    int rc = cli("validate %s --plan " PLAN " --a cpu,threads=1 --b cpu,threads=2 --json", cli_path("ct.nii.gz"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *r = cJSON_Parse(cli_out);
    assert_all_identical(r);
    const cJSON *sides = cJSON_GetObjectItem(r, "sides");
    assert_int_equal((int)num(cJSON_GetObjectItem(sides, "a"), "threads"), 1);
    assert_int_equal((int)num(cJSON_GetObjectItem(sides, "b"), "threads"), 2);
    cJSON_Delete(r);
    /* --threads fills in a side that names none */
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu,threads=2 --threads 1 --json",
                         cli_path("ct.nii.gz")),
                     0);
    r = cJSON_Parse(cli_out);
    assert_int_equal((int)num(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "sides"), "a"), "threads"), 1);
    cJSON_Delete(r);
}

static void test_mismatch_between_plans(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, PHANTOM_ARGS);
    cli_write_text("f16.json", "{\"accumulate\": \"float16\"}\n");
    char ct[1024], f16[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(f16, sizeof f16, "%s", cli_path("f16.json"));
    int rc = cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s --report %s --pictures %s --json", ct, f16,
                 cli_path("r.json"), cli_path("pics"));
    if (rc != 8)
        fail_msg("exit %d, expected 8: %s", rc, cli_err);
    cJSON *r = cJSON_Parse(cli_out);
    assert_non_null(r);
    assert_string_equal(cJSON_GetObjectItem(r, "result")->valuestring, "mismatch");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "identical")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "plan_b"), "accumulate")->valuestring, "float16");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "plan"), "accumulate")->valuestring, "float32");
    /* the stages before the sliding window are the same; it and everything after it differ */
    for (int i = 0; i < 3; i++)
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(stage(r, all_stages[i]), "identical")));
    const cJSON *sw = stage(r, "sliding_window");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(sw, "identical")));
    assert_string_equal(cJSON_GetObjectItem(sw, "result")->valuestring, "mismatch");
    double dv = num(sw, "differing_values"), dvox = num(sw, "differing_voxels");
    assert_true(dv > 0 && dvox > 0 && dvox <= dv && dv <= num(sw, "values"));
    assert_true(num(sw, "max_ulp_diff") > 0);
    /* float16 rounding of probabilities in [0, 1]: differences of at most a few float16 ulps */
    double max_abs = 0;
    for (int i = 3; i < 5; i++) { /* sliding_window, resample_back */
        double m = num(stage(r, all_stages[i]), "max_abs_diff");
        max_abs = m > max_abs ? m : max_abs;
    }
    assert_true(max_abs > 0 && max_abs < 0.01);
    const cJSON *first = cJSON_GetObjectItem(sw, "first_difference");
    assert_true(num(first, "a") != num(first, "b"));
    assert_string_equal(cJSON_GetObjectItem(sw, "picture")->valuestring, "diff_sliding_window.png");
    assert_true(exists(cli_path("pics/diff_sliding_window.png")));
    assert_false(exists(cli_path("pics/diff_rescale.png")));
    /* every voxel of the values differs somewhere along each line of sight: the projected maps are red where the
     * volume is; the input's picture has no red */
    assert_true(red_pixels(cli_path("pics/difference.png")) > 1000);
    assert_true(red_pixels(cli_path("pics/diff_sliding_window.png")) > 1000);
    assert_int_equal(red_pixels(cli_path("pics/input.png")), 0);
    /* the label maps: differing voxels, Dice per label, what became what */
    const cJSON *labels = cJSON_GetObjectItem(r, "labels");
    double ldiff = num(labels, "differing_voxels"), nswaps = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(labels, "swaps")) nswaps += num(d, "voxels");
    assert_true(nswaps <= ldiff);
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(labels, "dice")) assert_true(num(d, "dice") > 0.99 && num(d, "dice") <= 1);
    /* a mismatch is a result, not a failure: the report is written */
    cJSON *f = vxt_test_load_json(cli_path("r.json"));
    assert_true(cJSON_Compare(r, f, 1));
    cJSON_Delete(f);
    /* tolerances: --max-abs covering the largest difference and --max-label-diff the label voxels pass ... */
    char tol[256];
    snprintf(tol, sizeof tol, "--max-abs %.17g --max-label-diff %.0f", max_abs, ldiff);
    rc = cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s %s --json", ct, f16, tol);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", tol, rc, cli_err);
    cJSON *t = cJSON_Parse(cli_out);
    assert_string_equal(cJSON_GetObjectItem(t, "result")->valuestring, "within tolerance");
    assert_true(num(cJSON_GetObjectItem(t, "tolerance"), "max_abs") == max_abs);
    assert_int_equal((int)num(stage(t, "sliding_window"), "beyond_tolerance"), 0);
    cJSON_Delete(t);
    /* ... and only when they cover it */
    snprintf(tol, sizeof tol, "--max-abs %.17g --max-label-diff %.0f", max_abs / 2, ldiff);
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s %s", ct, f16, tol), 8);
    assert_non_null(strstr(cli_out, "MISMATCH"));
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s --max-ulp 0", ct, f16), 8);
    cJSON_Delete(r);
    /* label maps that differ: a model configuration changed a little (band sharpness 30 -> 29); probabilities are
     * within 1 of each other, so --max-abs 1 passes every float stage and the labels decide */
    cli_write_text("sharp.json", "{\"model\": {\"model\": \"bands:0.05,0.3,0.7\", \"config\": \"sharpness=29\"}}\n");
    char sharp[1024];
    snprintf(sharp, sizeof sharp, "%s", cli_path("sharp.json"));
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s --max-abs 1 --pictures %s --json", ct,
                         sharp, cli_path("pics2")),
                     8);
    r = cJSON_Parse(cli_out);
    ldiff = num(cJSON_GetObjectItem(r, "labels"), "differing_voxels");
    assert_true(ldiff > 0);
    assert_string_equal(cJSON_GetObjectItem(stage(r, "labels"), "result")->valuestring, "mismatch");
    assert_string_equal(cJSON_GetObjectItem(stage(r, "sliding_window"), "result")->valuestring, "within tolerance");
    nswaps = 0;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "labels"), "swaps")) nswaps += num(d, "voxels");
    assert_true(nswaps == ldiff); /* fewer than 20 kinds of swap: all listed */
    /* the differing label voxels are red in the label stage's picture (at most one pixel each per view, fewer
     * when they share a line of sight) */
    size_t red = red_pixels(cli_path("pics2/diff_labels.png"));
    assert_true(red > 0 && red <= 3 * (size_t)ldiff * 4); /* up to 4 pixels per voxel: views drawn at finer scale */
    cJSON_Delete(r);
    snprintf(tol, sizeof tol, "--max-abs 1 --max-label-diff %.0f", ldiff);
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s %s", ct, sharp, tol), 0);
    assert_non_null(strstr(cli_out, "result: WITHIN TOLERANCE"));
    snprintf(tol, sizeof tol, "--max-abs 1 --max-label-diff %.0f", ldiff - 1);
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --b-plan %s %s", ct, sharp, tol), 8);
}

static void test_one_stage(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, PHANTOM_ARGS);
    char ct[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu,threads=1 --stage normalize --json", ct), 0);
    cJSON *r = cJSON_Parse(cli_out);
    assert_string_equal(cJSON_GetObjectItem(r, "stage")->valuestring, "normalize");
    assert_string_equal(cJSON_GetObjectItem(r, "result")->valuestring, "identical");
    /* both runs stopped after it: nothing later ran; the earlier stages ran but were not compared */
    assert_null(stage(r, "sliding_window"));
    assert_null(stage(r, "labels"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(stage(r, "normalize"), "compared")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(stage(r, "rescale"), "compared")));
    assert_string_equal(cJSON_GetObjectItem(stage(r, "rescale"), "result")->valuestring, "not compared");
    cJSON_Delete(r);
    /* a stage the plan does not have on this input */
    assert_int_equal(cli("validate %s --plan " PLAN " --spacing none --a cpu --b cpu --stage resample_back", ct), 6);
    cli_assert_one_line_error("--stage resample_back: this plan has no such stage on this input (its stages: "
                              "rescale, normalize, sliding_window, labels)");
    /* the last stage compares the label maps */
    assert_int_equal(cli("validate %s --plan " PLAN " --a cpu --b cpu --stage labels --json", ct), 0);
    r = cJSON_Parse(cli_out);
    assert_non_null(cJSON_GetObjectItem(r, "labels"));
    cJSON_Delete(r);
}

static void test_no_opencl_platform(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,40,40 --spacing 10,6,6");
    char env[1024];
    snprintf(env, sizeof env, "OCL_ICD_VENDORS='%s' OPENCL_VENDOR_PATH='%s'", VXT_NO_ICD_DIR, VXT_NO_ICD_DIR);
    int before = cli_files();
    assert_int_equal(cli_env(env, "validate %s --plan " PLAN " --report %s", cli_path("ct.nii.gz"), cli_path("r.json")),
                     3);
    cli_assert_one_line_error("side a (opencl): no OpenCL platform on this machine: only the CPU backend is "
                              "available; to compare two CPU configurations, give e.g. --a cpu,threads=1 --b cpu");
    assert_int_equal(cli_files(), before);
    /* two CPU configurations still work there */
    assert_int_equal(cli_env(env, "validate %s --plan " PLAN " --a cpu,threads=1 --b cpu", cli_path("ct.nii.gz")), 0);
    assert_non_null(strstr(cli_out, "result: IDENTICAL"));
}

static void test_bad_input(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    char ct[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    cli_write_text("file", "a file\n");
    cli_write_text("contra.json", "{\"grid\": \"nnunet\"}\n");
    int before = cli_files();
    static const struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        {"--bogus", "unknown option '--bogus'", 2},
        {"--a gpu", "--a gpu: expected cpu[,threads=N] or opencl[,device=INDEX|NAME][,threads=N]", 2},
        {"--a cpu,device=0", "'device=0' is not a setting of a cpu side (threads=N)", 2},
        {"--b cpu,threads=x", "threads must be an integer", 2},
        {"--stage stitching", "--stage: unknown stage 'stitching'", 2},
        {"--max-ulp -1", "--max-ulp: expected a non-negative integer", 2},
        {"--max-abs nan", "--max-abs", 2},
        {"--max-label-diff x", "--max-label-diff", 2},
        {"--backend cpu", "--backend is a voxtile run option; validate's sides are --a and --b", 2},
        {"--roi 8 --roi2 8", "unknown option '--roi2'", 2},
        {"--model identity", "$.roi: missing", 6},
        {"--model identity --roi 8 --grid nnunet --overlap 0.3", "$.overlap: applies to grid \"monai\"", 6},
        {"--model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_init_fails.so --roi 8 --a cpu --b cpu",
         "failed to initialise: broken_model", 7},
        {"--model plugin:" VXT_BROKEN_PLUGIN_DIR "/libvxt_broken_predict_fails.so --roi 4 --spacing none --a cpu "
         "--b cpu",
         "side a (cpu): sliding_window: runner 'broken_model' failed (it returned 5) on batch 2", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("validate %s %s --report %s --pictures %s", ct, cases[i].args, cli_path("r.json"),
                     cli_path("pics"));
        if (rc != cases[i].rc)
            fail_msg("'%s': exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
    }
    /* --b-plan problems name the overlay (a contradiction it makes: test_b_plan_mode_rule) */
    assert_int_equal(cli("validate %s --model identity --roi 8 --b-plan %s", ct, cli_path("none.json")), 4);
    cli_assert_one_line_error("--b-plan");
    /* input */
    assert_int_equal(cli("validate %s --model identity --roi 8", cli_path("none.nii.gz")), 4);
    cli_assert_one_line_error("none.nii.gz");
    assert_int_equal(cli("validate %s --model identity --roi 8", cli_path("file")), 4);
    cli_assert_one_line_error("file");
    assert_int_equal(cli("validate --model identity --roi 8"), 2);
    cli_assert_one_line_error("missing the input image");
    assert_int_equal(cli("validate %s %s --model identity --roi 8", ct, ct), 2);
    cli_assert_one_line_error("unexpected argument");
    /* outputs: missing directory, a parent that is a file, --pictures that is a file */
    assert_int_equal(cli("validate %s --model identity --roi 8 --report %s", ct, cli_path("no/dir/r.json")), 5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("validate %s --model identity --roi 8 --report %s", ct, cli_path("file/r.json")), 5);
    cli_assert_one_line_error("is not a directory");
    assert_int_equal(cli("validate %s --model identity --roi 8 --pictures %s", ct, cli_path("file")), 5);
    cli_assert_one_line_error("not a directory");
    assert_int_equal(cli("validate %s --model identity --roi 8 --pictures %s", ct, cli_path("file/pics")), 5);
    cli_assert_one_line_error("cannot create the directory");
    /* nothing was left: no report, no pictures directory */
    assert_int_equal(cli_files(), before);
    assert_int_equal(cli("validate --help"), 0);
    assert_non_null(strstr(cli_out, "--b-plan"));
}

/* --b-plan is side a's plan with the overlay's fields laid over it, by the plan's mode rule (docs/PLAN.md): a grid
 * that changes the tile placement drops side a's overlap, so plan b is nnU-Net placement with its default step, and
 * the report says so. */
static void test_b_plan_mode_rule(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    cli_write_text("grid.json", "{\"grid\": \"nnunet\"}\n");
    int rc = cli("validate %s --model identity --roi 8 --overlap 0.3 --a cpu --b cpu --b-plan %s --json",
                 cli_path("ct.nii.gz"), cli_path("grid.json"));
    assert_int_equal(rc, 0);
    cJSON *r = cJSON_Parse(cli_out);
    assert_non_null(r);
    const cJSON *pa = cJSON_GetObjectItem(r, "plan"), *pb = cJSON_GetObjectItem(r, "plan_b"); /* "plan": side a's */
    assert_non_null(pa);
    assert_non_null(pb);
    assert_string_equal(cJSON_GetObjectItem(pa, "grid")->valuestring, "monai");
    assert_true(cJSON_GetObjectItem(pa, "overlap")->valuedouble == 0.3);
    assert_string_equal(cJSON_GetObjectItem(pb, "grid")->valuestring, "nnunet");
    assert_null(cJSON_GetObjectItem(pb, "overlap"));
    assert_true(cJSON_GetObjectItem(pb, "step")->valuedouble == 0.5);
    cJSON_Delete(r);
    /* an overlay that contradicts itself is refused, naming it (exit 6) */
    cli_write_text("contra.json", "{\"grid\": \"nnunet\", \"overlap\": 0.3}\n");
    rc = cli("validate %s --model identity --roi 8 --a cpu --b cpu --b-plan %s", cli_path("ct.nii.gz"),
             cli_path("contra.json"));
    assert_int_equal(rc, 6);
    cli_assert_one_line_error("--b-plan: plan: $.overlap");
}

/* voxtile run's outputs are refused with a message that says why (docs/CLI.md: "-o, --probabilities, --picture and
 * --backend are refused"), as --backend is. */
static void test_run_options_refused_with_a_reason(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"-o x.nii.gz", "--output (-o) is a voxtile run option"},
        {"--probabilities p.nii.gz", "--probabilities is a voxtile run option"},
        {"--picture p.png", "--picture is a voxtile run option"},
    };
    char bad[2048] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("validate %s --model identity --roi 8 %s", cli_path("ct.nii.gz"), cases[i].args);
        assert_int_equal(rc, 2);
        cli_assert_one_line_error(NULL);
        if (!strstr(cli_err, cases[i].needle))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: %.300s", cases[i].args, cli_err);
    }
    assert_int_equal(cli_files(), 1);
    if (bad[0])
        fail_msg("run's outputs must be refused saying they are voxtile run options:%s", bad);
}

/* A flag that needs a value, followed by another flag: the flag has no value (it does not take the next flag as
 * its value and leave that flag's value as a stray argument). */
static void test_flag_without_its_value(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 20,10,10");
    int rc = cli("validate %s --model identity --roi 8 --a --report %s", cli_path("ct.nii.gz"), cli_path("r.json"));
    assert_int_equal(rc, 2);
    cli_assert_one_line_error("--a needs a value");
    assert_int_equal(cli_files(), 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_two_cpu_configurations, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_between_plans, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_one_stage, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_no_opencl_platform, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_b_plan_mode_rule, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_run_options_refused_with_a_reason, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flag_without_its_value, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_pocl_vs_cpu_phantom, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_pocl_vs_cpu_mri, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_pocl_vs_cpu_nnunet_plugin, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_two_opencl_sides, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
