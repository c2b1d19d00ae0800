/* test_brainchop.c - real trained networks through the shipped plans (tools/plans/brainchop_gwm.json,
 * brainchop_aparc104.json; the onnx runner module, OpenVINO): tiled inference with crop blending and the overlap
 * the declared receptive field gives is the runner's own whole-volume inference, for both networks; the same
 * bits on CPU and OpenCL contexts; the 104-class network's labels-only run stays within a stated peak memory that
 * does not grow with 104 x volume; and the plans' quick-start command segments the real T1 end to end, from its
 * NIfTI file and (built with GDCM) from the same scan as a DICOM series, to the same labels.
 *
 * The volumes are boxes of tests/data/brainchop/t1_crop.nii.gz (256^3 uint8, LIA, 1 mm) small enough for a test;
 * "whole-volume inference" is the same plan with one tile the size of the box (the runner sees the whole box in
 * one pass), tiled is the plan with a ROI that needs two tiles per axis at the receptive field's overlap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"
#include "vxt_test.h"

#define BRAINCHOP VXT_TEST_DATA_DIR "/brainchop/"
#define PLANS VXT_SOURCE_DIR "/tools/plans/"

/* ---- material ------------------------------------------------------------------------------------------ */

/* A box of t1_crop.nii.gz: shape (k, j, i) voxels from NIfTI (i, j, k) = start, with the file's geometry (its
 * origin not moved: what the plans use of it is the orientation, LIA, and the 1 mm spacing). */
static vxt_image *t1_box(const int64_t start[3], const int64_t shape[3])
{
    vxt_image *full = NULL, *box = NULL;
    assert_ok(vxt_image_read_path(BRAINCHOP "t1_crop.nii.gz", NULL, &full));
    vxt_volume fv, bv;
    assert_ok(vxt_image_volume(full, &fv));
    assert_int_equal(fv.dtype, VXT_DTYPE_U8);
    assert_int_equal(fv.shape[0], 256);
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(full, &g));
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &box));
    assert_ok(vxt_image_set_geometry(box, &g));
    assert_ok(vxt_image_volume(box, &bv));
    const uint8_t *src = (const uint8_t *)fv.data;
    uint8_t *dst = (uint8_t *)bv.data;
    for (int64_t z = 0; z < shape[0]; z++)
        for (int64_t y = 0; y < shape[1]; y++)
            memcpy(dst + (z * shape[1] + y) * shape[2], src + ((start[2] + z) * 256 + start[1] + y) * 256 + start[0],
                   (size_t)shape[2]);
    vxt_image_destroy(full);
    return box;
}

/* The shipped plan, its model path made absolute, with `doc` (JSON) laid over it. */
static vxt_plan *shipped_plan(const char *name, const char *model, const char *doc)
{
    char path[512], json[1024];
    snprintf(path, sizeof path, PLANS "%s", name);
    vxt_plan *plan = NULL;
    assert_ok(vxt_plan_create(&plan));
    assert_ok(vxt_plan_load_file(plan, path));
    snprintf(json, sizeof json, "{\"model\": {\"model\": \"onnx:" BRAINCHOP "%s\", \"config\": \"threads=2\"}}", model);
    assert_ok(vxt_plan_load_json(plan, json, strlen(json), "test: the model's path"));
    if (doc)
        assert_ok(vxt_plan_load_json(plan, doc, strlen(doc), "test"));
    assert_ok(vxt_plan_check(plan));
    return plan;
}

typedef struct outputs {
    vxt_image *labels, *probs;
    uint64_t tiles;
    double seconds;
} outputs;

static outputs run(vxt_backend backend, const vxt_plan *plan, const vxt_image *img)
{
    vxt_context *ctx = vxt_test_context(backend, 2);
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    vxt_run_options ro;
    vxt_run_options_init(&ro);
    ro.outputs = VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES;
    vxt_run_result res = {.struct_size = sizeof res};
    assert_ok(vxt_pipeline_run(p, img, &ro, &res));
    outputs o = {res.labels, res.probabilities, res.tiles, res.stage_seconds[VXT_STAGE_SLIDING_WINDOW]};
    res.labels = res.probabilities = NULL;
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(p);
    vxt_context_destroy(ctx);
    return o;
}

static void free_outputs(outputs *o)
{
    vxt_image_destroy(o->labels);
    vxt_image_destroy(o->probs);
}

/* ---- tiled == whole -------------------------------------------------------------------------------------- */

/* Tiled (two tiles on the two long model axes, crop blending, the plan's receptive field) against one tile
 * holding the whole box. Labels: equal, except where the whole-volume probabilities of the two top classes tie
 * to within the runner's rounding (2e-6: OpenVINO's kernels may sum a tile's border region in another order than
 * the whole volume's). Probabilities: within 1e-5. */
/* A box of depth (k) `depth` from NIfTI (i, j, k) = (64, 56, 80), 128 x 128 in i and j: model grid (i, j, k)
 * 128 x 128 x depth. */
static vxt_image *brain_box(int64_t depth)
{
    const int64_t start[3] = {64, 56, 80}, shape[3] = {depth, 128, 128};
    return t1_box(start, shape);
}

static void check_tiled_equals_whole(const char *plan_name, const char *model, int64_t classes, int64_t depth)
{
    vxt_image *box = brain_box(depth);
    const int64_t shape[3] = {depth, 128, 128};
    char doc[256];
    snprintf(doc, sizeof doc, "{\"roi\": [110, 110, %lld]}", (long long)depth);
    vxt_plan *tiled_plan = shipped_plan(plan_name, model, doc);
    snprintf(doc, sizeof doc, "{\"roi\": [128, 128, %lld]}", (long long)depth);
    vxt_plan *whole_plan = shipped_plan(plan_name, model, doc);
    outputs tiled = run(VXT_BACKEND_CPU, tiled_plan, box), whole = run(VXT_BACKEND_CPU, whole_plan, box);
    assert_int_equal(whole.tiles, 1);
    assert_int_equal(tiled.tiles, 4);

    vxt_volume tl, wl, tp, wp;
    assert_ok(vxt_image_volume(tiled.labels, &tl));
    assert_ok(vxt_image_volume(whole.labels, &wl));
    assert_ok(vxt_image_volume(tiled.probs, &tp));
    assert_ok(vxt_image_volume(whole.probs, &wp));
    assert_int_equal(tp.channels, classes);
    const size_t vox = (size_t)(shape[0] * shape[1] * shape[2]);
    const uint8_t *a = (const uint8_t *)tl.data, *b = (const uint8_t *)wl.data;
    const float *pa = (const float *)tp.data, *pb = (const float *)wp.data;
    size_t differ = 0, ties = 0, brain = 0;
    double max_diff = 0, max_margin = 0;
    for (size_t i = 0; i < (size_t)classes * vox; i++) {
        double d = fabs((double)pa[i] - (double)pb[i]);
        max_diff = d > max_diff ? d : max_diff;
    }
    for (size_t v = 0; v < vox; v++) {
        brain += b[v] != 0;
        if (a[v] == b[v])
            continue;
        differ++;
        const double margin = fabs((double)pb[(size_t)a[v] * vox + v] - (double)pb[(size_t)b[v] * vox + v]);
        max_margin = margin > max_margin ? margin : max_margin;
        ties += margin <= 2e-6;
    }
    print_message("%s: %llu tiles in %.1f s, whole box in one tile in %.1f s; %zu of %zu labels differ (%zu within "
                  "2e-6 of a tie, largest margin %.2g), %zu voxels not background; probabilities within %.3g\n",
                  model, (unsigned long long)tiled.tiles, tiled.seconds, whole.seconds, differ, vox, ties, max_margin,
                  brain, max_diff);
    assert_true(brain > vox / 10); /* the box holds brain: the comparison means something */
    assert_int_equal(differ, ties);
    assert_true(max_diff <= 1e-5);
    free_outputs(&tiled);
    free_outputs(&whole);
    vxt_plan_destroy(tiled_plan);
    vxt_plan_destroy(whole_plan);
    vxt_image_destroy(box);
}

/* Receptive field 93: overlap 92, a ROI of 110 covers 128 with two tiles (starts 0, 18). */
static void test_gwm_tiled_equals_whole(void **state)
{
    (void)state;
    check_tiled_equals_whole("brainchop_gwm.json", "model5_gw_ae.onnx", 3, 96);
}

/* Receptive field 91: overlap 90, a ROI of 110 covers 128 with two tiles (starts 0, 18). */
static void test_aparc_tiled_equals_whole(void **state)
{
    (void)state;
    check_tiled_equals_whole("brainchop_aparc104.json", "model21_104class.onnx", 104, 64);
}

/* The OpenCL context: the same bits as the CPU context for everything voxtile computes around the runner
 * (normalization on the device, tiles, crop blending, softmax, labels), on the tiled plans. */
static void check_opencl_same_bits(const char *plan_name, const char *model, int64_t classes, int64_t depth)
{
    vxt_image *box = brain_box(depth);
    const int64_t shape[3] = {depth, 128, 128};
    char doc[256];
    snprintf(doc, sizeof doc, "{\"roi\": [110, 110, %lld]}", (long long)depth);
    vxt_plan *plan = shipped_plan(plan_name, model, doc);
    outputs cpu = run(VXT_BACKEND_CPU, plan, box), cl = run(VXT_BACKEND_OPENCL, plan, box);
    vxt_volume a, b, pa, pb;
    assert_ok(vxt_image_volume(cpu.labels, &a));
    assert_ok(vxt_image_volume(cl.labels, &b));
    assert_ok(vxt_image_volume(cpu.probs, &pa));
    assert_ok(vxt_image_volume(cl.probs, &pb));
    const size_t vox = (size_t)(shape[0] * shape[1] * shape[2]);
    assert_memory_equal(a.data, b.data, vox);
    assert_int_equal(vxt_count_bit_diffs((const float *)pb.data, (const float *)pa.data, (size_t)classes * vox, model), 0);
    free_outputs(&cpu);
    free_outputs(&cl);
    vxt_plan_destroy(plan);
    vxt_image_destroy(box);
}

static void test_opencl_same_bits(void **state)
{
    (void)state;
    check_opencl_same_bits("brainchop_gwm.json", "model5_gw_ae.onnx", 3, 96);
    check_opencl_same_bits("brainchop_aparc104.json", "model21_104class.onnx", 104, 64);
}

/* ---- the 104-class network's memory ------------------------------------------------------------------------- */

/* Labels only through `voxtile run` (a child process: its own peak RSS, reported by --json) on two boxes with the
 * same tile shape, 128 x 128 x 96 (1.57 M voxels), the second twice as wide (one tile, then five): the peak must
 * not grow with classes x volume (104 x 1.57 M voxels x 4 bytes = 624 MiB more for the wider box, had anything
 * held class values for the volume), and stays under the bound docs/PIPELINE.md states for this tile: the tile's
 * outputs (104 x 1.57 M x 4 = 624 MiB), OpenVINO's working memory for the tile shape (about 700 MiB), the image
 * and its float copies: measured 1455 MiB for both, bound 1.75 GiB (2.5 GiB in sanitizer builds: shadow memory
 * and the allocator's quarantine). */
static double peak_mib(const char *box_path, const char *plan_path)
{
    int rc = cli("run %s -o %s --plan %s --model onnx:" BRAINCHOP "model21_104class.onnx --model-config threads=2 "
                 "--roi 128,128,96 --backend cpu --json",
                 box_path, cli_path("labels.nii.gz"), plan_path);
    if (rc != 0)
        fail_msg("voxtile run exited %d: %s", rc, cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    assert_non_null(j);
    double mib = cli_json_number(j, "peak_memory_mib");
    cJSON_Delete(j);
    return mib;
}

static void test_aparc_memory(void **state)
{
    (void)state;
    const int64_t start[3] = {0, 56, 80}, narrow[3] = {96, 128, 128}, wide[3] = {96, 128, 256};
    vxt_image *a = t1_box(start, narrow), *b = t1_box(start, wide);
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s", cli_path("narrow.nii.gz"));
    snprintf(pb, sizeof pb, "%s", cli_path("wide.nii.gz"));
    assert_ok(vxt_image_write_path(a, pa, NULL));
    assert_ok(vxt_image_write_path(b, pb, NULL));
    const double m1 = peak_mib(pa, PLANS "brainchop_aparc104.json"), m2 = peak_mib(pb, PLANS "brainchop_aparc104.json");
    const double classes_x_more_volume = 104.0 * (double)(128 * 128 * 96) * 4.0 / 1048576.0;
    print_message("104 classes, labels only, tiles of 128 x 128 x 96: peak %.0f MiB on 128 x 128 x 96 voxels (one "
                  "tile), %.0f MiB on 256 x 128 x 96 (5 tiles): +%.0f MiB, where 104 x the added voxels x 4 bytes "
                  "is %.0f MiB\n", m1, m2, m2 - m1, classes_x_more_volume);
    assert_true(m2 - m1 < 0.1 * classes_x_more_volume);
#ifdef VXT_SANITIZE_BUILD
    const double bound = 2560;
#else
    const double bound = 1792;
#endif
    assert_true(m1 < bound && m2 < bound);
    vxt_image_destroy(a);
    vxt_image_destroy(b);
}

/* ---- the quick start ------------------------------------------------------------------------------------------ */

/* README's first command, on the real T1: the 3-class network segments the brain in the input's geometry. */
static void test_quick_start_gwm(void **state)
{
    (void)state;
    int rc = cli("run " BRAINCHOP "t1_crop.nii.gz -o %s --plan " PLANS "brainchop_gwm.json --model onnx:" BRAINCHOP
                 "model5_gw_ae.onnx --picture %s --json",
                 cli_path("seg.nii.gz"), cli_path("seg.png"));
    if (rc != 0)
        fail_msg("voxtile run exited %d: %s", rc, cli_err);
    vxt_image *in = cli_read_image(BRAINCHOP "t1_crop.nii.gz"), *seg = cli_read_image(cli_path("seg.nii.gz"));
    vxt_image_info ii = {.struct_size = sizeof ii}, si = {.struct_size = sizeof si};
    assert_ok(vxt_image_get_info(in, &ii));
    assert_ok(vxt_image_get_info(seg, &si));
    assert_memory_equal(ii.shape, si.shape, sizeof ii.shape);
    assert_memory_equal(ii.affine, si.affine, sizeof ii.affine);
    vxt_volume v;
    assert_ok(vxt_image_volume(seg, &v));
    int64_t c[3] = {0, 0, 0};
    for (int64_t k = 0; k < v.shape[0] * v.shape[1] * v.shape[2]; k++) {
        uint8_t l = ((const uint8_t *)v.data)[k];
        assert_true(l < 3);
        c[l]++;
    }
    /* 1 mm voxels: cm^3 = voxels / 1000. An adult brain's white matter is 400-600 cm^3, grey matter 500-800. */
    print_message("t1_crop: white matter %.1f cm^3, grey matter %.1f cm^3\n", (double)c[1] / 1000, (double)c[2] / 1000);
    assert_true(c[1] > 350000 && c[1] < 700000);
    assert_true(c[2] > 450000 && c[2] < 900000);
    vxt_image_destroy(in);
    vxt_image_destroy(seg);
}

#ifdef VXT_TEST_DICOM
/* The quick start on the same T1 written as a DICOM series (tools/make_dicom_testdata.py --t1: 256 MR slices of
 * 8-bit voxels, positions and orientation from the NIfTI's sform): the labels are the NIfTI run's, voxel for voxel,
 * and in the same place, once both are reoriented to RAS (the series is read in dcm2niix's voxel order, not the
 * NIfTI's). */
static void test_quick_start_dicom(void **state)
{
    (void)state;
    const char *data = getenv("VXT_DICOM_DATA");
    if (!data || !data[0])
        fail_msg("VXT_DICOM_DATA is not set: run through ctest (the dicom_testdata fixture writes the series)");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/series/t1_crop", data);
    const char *seg[2] = {cli_path("seg_nii.nii.gz"), cli_path("seg_dcm.nii.gz")};
    const char *in[2] = {BRAINCHOP "t1_crop.nii.gz", dir};
    vxt_image *ras[2] = {NULL, NULL}, *raw_in[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        int rc = cli("run %s -o %s --plan " PLANS "brainchop_gwm.json --model onnx:" BRAINCHOP "model5_gw_ae.onnx",
                     in[s], seg[s]);
        if (rc != 0)
            fail_msg("voxtile run on %s exited %d: %s", in[s], rc, cli_err);
        vxt_image *img = cli_read_image(seg[s]);
        assert_ok(vxt_image_reorient(img, "RAS", &ras[s]));
        vxt_image_destroy(img);
        vxt_image *src = NULL;
        assert_ok(vxt_image_read_path(in[s], NULL, &src));
        assert_ok(vxt_image_reorient(src, "RAS", &raw_in[s]));
        vxt_image_destroy(src);
    }
    /* the inputs agree in RAS (the series holds the same voxels at the same places) */
    vxt_image_info a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    for (int which = 0; which < 2; which++) {
        vxt_image *const *im = which ? ras : raw_in;
        assert_ok(vxt_image_get_info(im[0], &a));
        assert_ok(vxt_image_get_info(im[1], &b));
        assert_memory_equal(a.shape, b.shape, sizeof a.shape);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                if (fabs(a.affine[r][c] - b.affine[r][c]) > 1e-4)
                    fail_msg("%s: affine[%d][%d] %.9g (NIfTI) != %.9g (DICOM)", which ? "labels" : "input", r, c,
                             a.affine[r][c], b.affine[r][c]);
        vxt_volume va, vb;
        assert_ok(vxt_image_volume(im[0], &va));
        assert_ok(vxt_image_volume(im[1], &vb));
        assert_int_equal(va.dtype, vb.dtype);
        const size_t n = (size_t)(va.shape[0] * va.shape[1] * va.shape[2]);
        size_t diff = 0;
        for (size_t i = 0; i < n * vxt_dtype_size(va.dtype); i++)
            diff += ((const uint8_t *)va.data)[i] != ((const uint8_t *)vb.data)[i];
        if (diff)
            fail_msg("%s: %zu bytes of %zu differ between the NIfTI and the DICOM run", which ? "labels" : "input",
                     diff, n * vxt_dtype_size(va.dtype));
    }
    for (int s = 0; s < 2; s++) {
        vxt_image_destroy(ras[s]);
        vxt_image_destroy(raw_in[s]);
    }
}
#endif

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_gwm_tiled_equals_whole),
        cmocka_unit_test(test_aparc_tiled_equals_whole),
        cmocka_unit_test_setup_teardown(test_aparc_memory, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_quick_start_gwm, cli_setup, cli_teardown),
#ifdef VXT_TEST_DICOM
        cmocka_unit_test_setup_teardown(test_quick_start_dicom, cli_setup, cli_teardown),
#endif
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_opencl_same_bits),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
