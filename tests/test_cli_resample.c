/* test_cli_resample.c - `voxtile resample` end to end: every mode (--spacing, --shape, --scale: Z,Y,X), both
 * alignments, fill, label maps, integer images with nearest, 4D images, cubic (clipped as skimage, mirrored as
 * scipy), against expectations computed by
 * tools/make_cli_testdata.py (tests/data/cli/resample/expected.json; its "args" are the command's flags, Z,Y,X; its
 * "shape" and "spacing" are in NIfTI order i, j, k): the new affine from the grid convention alone (new voxel
 * centres where the resampler sampled them), the voxels from torch and scipy within the tolerances measured for
 * the library (docs/PREPROCESSING.md); the --json report in z, y, x; .npy outputs. The OpenCL group also checks
 * that the device writes the CPU's bytes. Then bad input: one line, a distinct exit status, no file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

#define RDIR VXT_TEST_DATA_DIR "/cli/resample"

static double max_abs_of(const char *input)
{
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(input, NULL, &img)); /* AUTO: the scaled values, as resample reads them */
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    size_t n = (size_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]);
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v.dtype == VXT_DTYPE_F32 ? ((const float *)v.data)[i]
                   : v.dtype == VXT_DTYPE_U8 ? ((const uint8_t *)v.data)[i] : ((const int16_t *)v.data)[i];
        m = fabs(x) > m ? fabs(x) : m;
    }
    vxt_image_destroy(img);
    return m;
}

static double element(const void *p, vxt_dtype t, size_t i)
{
    switch (t) {
    case VXT_DTYPE_F32: return ((const float *)p)[i];
    case VXT_DTYPE_U8: return ((const uint8_t *)p)[i];
    case VXT_DTYPE_I16: return ((const int16_t *)p)[i];
    default: fail_msg("unexpected dtype %s", vxt_dtype_name(t));
    }
    return 0;
}

/* Run every case on `backend`; outputs named <case>_<backend>.nii.gz. */
static void run_cases(const char *backend)
{
    cJSON *e = vxt_test_load_json("cli/resample/expected.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(e, "cases"))
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        const char *input = cJSON_GetObjectItem(c, "input")->valuestring;
        char in_path[1024], out_name[128];
        snprintf(in_path, sizeof in_path, "%s/%s", vxt_test_relocate(RDIR), input);
        snprintf(out_name, sizeof out_name, "%s_%s.nii.gz", name, backend);
        int rc = cli("resample '%s' -o '%s' %s --backend %s --json", in_path, cli_path(out_name),
                     cJSON_GetObjectItem(c, "args")->valuestring, backend);
        if (rc != 0)
            fail_msg("%s: exit %d: %s", name, rc, cli_err);
        cJSON *j = cli_out_json();
        assert_string_equal(cli_json_string(j, "backend"), backend);
        vxt_image *out = cli_read_image(cli_path(out_name));
        vxt_volume v;
        vxt_geometry g;
        vxt_image_info info = {.struct_size = sizeof info};
        vxt_geometry_init(&g);
        assert_ok(vxt_image_volume(out, &v));
        assert_ok(vxt_image_get_geometry(out, &g));
        assert_ok(vxt_image_get_info(out, &info));
        vxt_nifti_info ni_out = cli_nifti_info(out);
        /* shape (expected in NIfTI order i, j, k), channels, type */
        int64_t shape[3];
        assert_int_equal(vxt_test_json_i64s(cJSON_GetObjectItem(c, "shape"), shape, 3), 3);
        for (int a = 0; a < 3; a++)
            if (v.shape[2 - a] != shape[a])
                fail_msg("%s: axis %c has %lld voxels, expected %lld", name, "ijk"[a], (long long)v.shape[2 - a],
                         (long long)shape[a]);
        assert_int_equal(v.channels, (int64_t)cJSON_GetObjectItem(c, "channels")->valuedouble);
        assert_string_equal(vxt_dtype_name(v.dtype), cJSON_GetObjectItem(c, "dtype")->valuestring);
        /* --json reports the same grid, z, y, x; and the input's */
        const cJSON *js = cli_json(cli_json(j, "out"), "shape"), *jsp = cli_json(cli_json(j, "out"), "spacing");
        assert_int_equal(cJSON_GetArraySize(js), 3);
        for (int a = 0; a < 3; a++) {
            assert_int_equal((int64_t)cJSON_GetArrayItem(js, a)->valuedouble, shape[2 - a]);
            assert_true(fabs(cJSON_GetArrayItem(jsp, a)->valuedouble -
                             cJSON_GetArrayItem(cJSON_GetObjectItem(c, "spacing"), 2 - a)->valuedouble) < 1e-5);
        }
        int64_t in_shape[3];
        assert_int_equal(vxt_test_json_i64s(cJSON_GetObjectItem(e, "input_shape"), in_shape, 3), 3);
        const cJSON *jin = cli_json(cli_json(j, "in"), "shape");
        if (!strcmp(input, "in_int16.nii.gz") || !strcmp(input, "in_labels.nii.gz"))
            for (int a = 0; a < 3; a++)
                assert_int_equal((int64_t)cJSON_GetArrayItem(jin, a)->valuedouble, in_shape[2 - a]);
        /* geometry: both forms with the input's codes (sform 2, qform 1), each the expected affine (stored as float32
         * in the header: 1e-4 mm), and the voxel sizes */
        assert_int_equal(g.sform_code, 2);
        assert_int_equal(g.qform_code, 1);
        const cJSON *aff = cJSON_GetObjectItem(c, "affine");
        for (int r = 0; r < 3; r++)
            for (int col = 0; col < 4; col++) {
                double want = cJSON_GetArrayItem(cJSON_GetArrayItem(aff, r), col)->valuedouble;
                if (fabs(g.sform[r][col] - want) > 1e-4 || fabs(g.qform[r][col] - want) > 1e-4)
                    fail_msg("%s: affine[%d][%d] is %.9g (sform), %.9g (qform); expected %.9g", name, r, col,
                             g.sform[r][col], g.qform[r][col], want);
            }
        const cJSON *sp = cJSON_GetObjectItem(c, "spacing");
        for (int a = 0; a < 3; a++)
            assert_true(fabs(g.spacing[2 - a] - cJSON_GetArrayItem(sp, a)->valuedouble) < 1e-5);
        /* label maps and nearest-resampled integers keep their scaling and intent */
        const cJSON *slope = cJSON_GetObjectItem(c, "scl_slope");
        if (slope) {
            assert_true(info.scl_slope == slope->valuedouble);
            assert_true(info.scl_inter == cJSON_GetObjectItem(c, "scl_inter")->valuedouble);
        }
        if (!strcmp(input, "in_labels.nii.gz"))
            assert_int_equal(ni_out.intent_code, 1002);
        assert_int_equal(ni_out.dim[1], shape[0]);
        assert_int_equal(ni_out.dim[3], shape[2]);
        /* voxels */
        char exp_path[1024];
        snprintf(exp_path, sizeof exp_path, "%s/%s", vxt_test_relocate(RDIR),
                 cJSON_GetObjectItem(c, "expected")->valuestring);
        vxt_npy_info ni = {.struct_size = sizeof ni};
        assert_ok(vxt_npy_read_info(exp_path, &ni));
        size_t n = (size_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]);
        assert_int_equal(ni.count, n);
        assert_int_equal(ni.dtype, v.dtype);
        void *want = malloc(n * vxt_dtype_size(ni.dtype));
        assert_ok(vxt_npy_read(exp_path, &ni, 0, n, want));
        double tol = cJSON_GetObjectItem(c, "tolerance")->valuedouble * max_abs_of(in_path), worst = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs(element(v.data, v.dtype, i) - element(want, ni.dtype, i));
            worst = d > worst ? d : worst;
        }
        if (worst > tol)
            fail_msg("%s: largest difference %.3g, tolerance %.3g", name, worst, tol);
        free(want);
        cJSON_Delete(j);
        vxt_image_destroy(out);
        ncases++;
    }
    assert_int_equal(ncases, 11);
    cJSON_Delete(e);
}

static void test_cases_cpu(void **state)
{
    (void)state;
    run_cases("cpu");
}


static void test_cases_opencl_write_the_cpu_bytes(void **state)
{
    (void)state;
    run_cases("opencl");
    run_cases("cpu");
    cJSON *e = vxt_test_load_json("cli/resample/expected.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(e, "cases"))
    {
        char a[128], b[128], pa[1024];
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        snprintf(a, sizeof a, "%s_opencl.nii.gz", name);
        snprintf(b, sizeof b, "%s_cpu.nii.gz", name);
        snprintf(pa, sizeof pa, "%s", cli_path(a));
        if (!cli_same_file(pa, cli_path(b)))
            fail_msg("%s: the OpenCL device and the CPU wrote different files", name);
    }
    cJSON_Delete(e);
}

/* The output is written in the input's NIfTI version: a NIfTI-2 file (double-precision geometry) stays NIfTI-2. */
static void test_keeps_nifti_version(void **state)
{
    (void)state;
    const char *in[2] = {VXT_TEST_DATA_DIR "/nifti/type_float32.nii", VXT_TEST_DATA_DIR "/nifti/nifti2_float32.nii"};
    for (int k = 0; k < 2; k++) {
        vxt_image *src = cli_read_image(in[k]);
        vxt_nifti_info si = cli_nifti_info(src);
        assert_int_equal(si.nifti_version, k + 1);
        int rc = cli("resample '%s' -o '%s' --scale 2 --backend cpu", in[k], cli_path("version.nii"));
        if (rc != 0)
            fail_msg("%s: exit %d: %s", in[k], rc, cli_err);
        vxt_image *out = cli_read_image(cli_path("version.nii"));
        vxt_nifti_info oi = cli_nifti_info(out);
        assert_int_equal(oi.nifti_version, k + 1);
        int doubled = 0;
        for (int a = 1; a <= 3; a++)
            if (si.dim[a] > 1) {
                assert_int_equal(oi.dim[a], 2 * si.dim[a]);
                doubled++;
            } else {
                assert_int_equal(oi.dim[a], 1); /* floor(1 * 2) = 2 would spread one slice: not for these files */
            }
        assert_true(doubled >= 2);
        vxt_image_destroy(out);
        vxt_image_destroy(src);
    }
}

/* .npy outputs: the same values as the NIfTI output of the same resampling (float32 for linear). */
static void test_npy_output(void **state)
{
    (void)state;
    const char *in = RDIR "/in_4d.nii.gz";
    assert_int_equal(cli("resample %s -o %s --shape 5,9,12 --backend cpu", in, cli_path("o.nii.gz")), 0);
    assert_int_equal(cli("resample %s -o %s --shape 5,9,12 --backend cpu", in, cli_path("o.npy")), 0);
    vxt_image *img = cli_read_image(cli_path("o.nii.gz"));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    vxt_npy_info ni;
    float *arr = cli_load_npy(cli_path("o.npy"), &ni);
    static const int64_t cshape[4] = {2, 5, 9, 12}; /* (channels, z, y, x) */
    assert_int_equal(ni.ndim, 4);
    assert_memory_equal(ni.shape, cshape, sizeof cshape);
    assert_int_equal(ni.dtype, VXT_DTYPE_F32);
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_memory_equal(v.data, arr, (size_t)ni.count * sizeof(float));
    free(arr);
    vxt_image_destroy(img);
}

/* A scaled integer image resampled with nearest neighbours into a .npy file, which has no scaling: the array must
 * still hold the values the image means (stored * slope + inter, as the NIfTI output of the same run says), not
 * the stored integers of another unit. */
static void test_npy_output_keeps_the_meaning_of_scaled_values(void **state)
{
    (void)state;
    const char *in = RDIR "/in_int16.nii.gz";
    assert_int_equal(cli("resample %s -o %s --shape 4,15,9 --interp nearest --backend cpu", in, cli_path("n.nii")), 0);
    assert_int_equal(cli("resample %s -o %s --shape 4,15,9 --interp nearest --backend cpu", in, cli_path("n.npy")), 0);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(cli_path("n.nii"), NULL, &img)); /* AUTO: the scaled values */
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_true(info.scaled && info.scl_slope == 0.5 && info.scl_inter == -100); /* the case is a scaled one */
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    vxt_npy_info ni;
    void *arr = cli_load_npy(cli_path("n.npy"), &ni);
    assert_int_equal(ni.count, (uint64_t)(v.shape[0] * v.shape[1] * v.shape[2]));
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < ni.count; i++) {
        double got = element(arr, ni.dtype, i), want = ((const float *)v.data)[i];
        if (got != want && differ++ == 0)
            first = i;
    }
    if (differ)
        fail_msg("%zu of %llu values of the .npy differ from the values the image means (slope 0.5, inter -100): "
                 "element %zu is %g (%s), the NIfTI output means %g",
                 differ, (unsigned long long)ni.count, first, element(arr, ni.dtype, first), vxt_dtype_name(ni.dtype),
                 (double)((const float *)v.data)[first]);
    free(arr);
    vxt_image_destroy(img);
}

static void test_bad_input(void **state)
{
    (void)state;
    char in[1024], o[1024];
    snprintf(in, sizeof in, RDIR "/in_int16.nii.gz");
    snprintf(o, sizeof o, "%s", cli_path("o.nii.gz"));
    cli_write_text("text.nii", "this is not a NIfTI file, only text long enough to hold a header? no.\n");
    cli_write_text("file", "a regular file\n");
    /* a uint32 image: a type the resampler does not read */
    const int64_t shape[3] = {2, 3, 4};
    vxt_image *u32 = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U32, 1, shape, NULL, &u32));
    assert_ok(vxt_nifti_write_file(u32, cli_path("u32.nii"), NULL));
    vxt_image_destroy(u32);
    cli_phantom("flat.nii.gz", NULL, "--shape 1,8,8 --spacing 2,2,2");
    int before = cli_files();
    static const struct {
        const char *args; /* after "resample IN -o OUT" */
        int rc;
        const char *needle;
    } bad[] = {
        {"--spacing 2 --bogus", 2, "unknown option '--bogus'"},
        {"", 2, "missing the new grid"},
        {"--spacing 2 --shape 4,4,4", 2, "give one of --spacing, --shape, --scale"},
        {"--shape 0,4,4", 2, "--shape"},
        {"--shape 4,4", 2, "--shape"},
        {"--shape 4.5,4,4", 2, "--shape"},
        {"--spacing -1", 2, "--spacing"},
        {"--scale 0.01", 2, "--scale"},
        {"--spacing 2 --interp bicubic", 2,
         "--interp: unknown interpolation 'bicubic' (expected one of: linear, nearest, cubic)"},
        {"--spacing 2 --boundary wrap", 2, "--boundary"},
        {"--spacing 2 --boundary mirror", 2, "--boundary mirror needs --interp cubic"},
        {"--spacing 2 --interp nearest --boundary constant", 2, "--boundary applies to --interp linear or cubic"},
        {"--spacing 2 --interp cubic --boundary mirror --fill 3", 2, "--fill is the value of --boundary constant"},
        {"--spacing 2 --clip", 2, "--clip applies to --interp cubic"},
        {"--spacing 2 --align centre", 2, "expected one of: half-pixel, corner"},
        {"--spacing 2 --align", 2, "--align needs a value"},
        /* the old flags: --labels is --interp nearest, --grid is --align */
        {"--spacing 2 --labels", 2, "unknown option '--labels'"},
        {"--spacing 2 --grid corner", 2, "unknown option '--grid'"},
        {"--spacing 1,2", 2, "--spacing"},
        {"--scale 2,2,2,2", 2, "--scale"},
        {"--spacing 2 --threads many", 2, "--threads"},
        {"--spacing 2 --backend cuda", 2, "--backend"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cli("resample %s -o %s %s", in, o, bad[i].args);
        if (rc != bad[i].rc)
            fail_msg("case %zu: exit %d, expected %d: %s", i, rc, bad[i].rc, cli_err);
        cli_assert_one_line_error(bad[i].needle);
    }
    assert_int_equal(cli("resample -o %s --spacing 2", o), 2);
    cli_assert_one_line_error("missing the input image");
    assert_int_equal(cli("resample %s %s -o %s --spacing 2", in, in, o), 2);
    cli_assert_one_line_error("unexpected argument");
    assert_int_equal(cli("resample %s --spacing 2", in), 2);
    cli_assert_one_line_error("missing -o");
    assert_int_equal(cli("resample %s -o %s --spacing 2", in, cli_path("o.nrrd")), 2);
    cli_assert_one_line_error(".nii, .nii.gz or .npy");
    /* input missing, not NIfTI, of an unsupported type: 4 */
    assert_int_equal(cli("resample %s -o %s --spacing 2", cli_path("missing.nii.gz"), o), 4);
    cli_assert_one_line_error("missing.nii.gz");
    assert_int_equal(cli("resample %s -o %s --spacing 2", cli_path("text.nii"), o), 4);
    cli_assert_one_line_error("text.nii");
    assert_int_equal(cli("resample %s -o %s --shape 3,3,3", cli_path("u32.nii"), o), 4);
    cli_assert_one_line_error("uint32");
    /* a corner grid cannot spread one slice */
    assert_int_equal(cli("resample %s -o %s --shape 4,8,8 --align corner", cli_path("flat.nii.gz"), o), 2);
    cli_assert_one_line_error("cannot spread axis z of 1 voxel");
    /* output: directory missing, parent a regular file, the name a directory (fails when written) */
    assert_int_equal(cli("resample %s -o %s --spacing 2", in, cli_path("no/dir/o.nii.gz")), 5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("resample %s -o %s --spacing 2", in, cli_path("file/o.nii.gz")), 5);
    cli_assert_one_line_error("is not a directory");
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", cli_path("d.nii.gz"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli("resample %s -o %s --spacing 2", in, cli_path("d.nii.gz")), 5);
    cli_assert_one_line_error("d.nii.gz");
    /* nothing was left behind: no output, no temporary file */
    assert_int_equal(cli_files(), before + 1);
    assert_int_equal(cli("resample --help"), 0);
    assert_non_null(strstr(cli_out, "--shape Z,Y,X"));
    assert_non_null(strstr(cli_out, "k,j,i"));
}

/* --anti-alias: the library's resampling with anti_alias (smoothing first, skimage's sigma), bit for bit; the sigma in
 * the report; nothing smoothed when nothing is downsampled; refused with nearest and with a value. */
static void resample_with_library(const char *in, const int64_t shape[3], int anti_alias, float *out)
{
    vxt_image *img = cli_read_image(in); /* the phantom has no scaling: its stored values */
    vxt_volume v, o = {out, VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};
    assert_ok(vxt_image_volume(img, &v));
    vxt_resample_options ro;
    vxt_resample_options_init(&ro);
    ro.anti_alias = anti_alias;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    assert_ok(vxt_resample(ctx, &v, &o, &ro));
    vxt_context_destroy(ctx);
    vxt_image_destroy(img);
}

static void test_anti_alias(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 12,20,24 --spacing 2,1,1 --seed 4");
    char in[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    assert_int_equal(cli("resample %s -o %s --shape 5,8,13 --anti-alias --backend cpu --json", in,
                         cli_path("a.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    const double sigma[3] = {(12.0 / 5 - 1) / 2, (20.0 / 8 - 1) / 2, (24.0 / 13 - 1) / 2};
    for (int a = 0; a < 3; a++)
        assert_true(cJSON_GetArrayItem(cli_json(j, "anti_alias_sigma"), a)->valuedouble == sigma[a]);
    cJSON_Delete(j);
    const int64_t shape[3] = {5, 8, 13};
    const size_t n = 5 * 8 * 13;
    float *want = malloc(n * sizeof(float)), *plain = malloc(n * sizeof(float));
    resample_with_library(in, shape, 1, want);
    resample_with_library(in, shape, 0, plain);
    vxt_image *img = cli_read_image(cli_path("a.nii.gz"));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_memory_equal(v.data, want, n * sizeof(float));
    assert_true(memcmp(want, plain, n * sizeof(float)) != 0); /* the smoothing did something */
    vxt_image_destroy(img);
    free(want);
    free(plain);
    /* upsampling along every axis that changes: the same file as without */
    assert_int_equal(cli("resample %s -o %s --shape 12,30,31 --anti-alias", in, cli_path("u1.nii.gz")), 0);
    assert_int_equal(cli("resample %s -o %s --shape 12,30,31", in, cli_path("u0.nii.gz")), 0);
    assert_true(cli_same_file(cli_path("u1.nii.gz"), cli_path("u0.nii.gz")));
    /* refused: exit 2, one line, nothing written */
    int before = cli_files();
    assert_int_equal(cli("resample %s -o %s --shape 5,8,13 --anti-alias --interp nearest", in, cli_path("o.nii.gz")),
                     2);
    cli_assert_one_line_error("--anti-alias applies to --interp linear");
    assert_int_equal(cli("resample %s -o %s --shape 5,8,13 --anti-alias=yes", in, cli_path("o.nii.gz")), 2);
    cli_assert_one_line_error("--anti-alias takes no value");
    assert_int_equal(cli_files(), before);
}

static void test_anti_alias_opencl_writes_the_cpu_bytes(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 12,20,24 --spacing 2,1,1 --seed 6");
    for (int b = 0; b < 2; b++)
        assert_int_equal(cli("resample %s -o %s --spacing 5,2.5,1.5 --anti-alias --fill -1000 --backend %s",
                             cli_path("ct.nii.gz"), cli_path(b ? "cl.nii.gz" : "cpu.nii.gz"), b ? "opencl" : "cpu"),
                         0);
    assert_true(cli_same_file(cli_path("cl.nii.gz"), cli_path("cpu.nii.gz")));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_cases_cpu, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_keeps_nifti_version, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_npy_output, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_npy_output_keeps_the_meaning_of_scaled_values, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_anti_alias, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_cases_opencl_write_the_cpu_bytes, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_anti_alias_opencl_writes_the_cpu_bytes, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
