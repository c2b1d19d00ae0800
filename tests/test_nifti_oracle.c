/* test_nifti_oracle.c - the reference C library (nifti_clib 3, Debian's libnifti2-dev) as a test oracle:
 * for every reference file, and for the files voxtile writes from them, nifti_clib's header fields, qform and
 * sform matrices (qto_xyz, sto_xyz), quaternion, extensions and voxels must match voxtile's. This also shows
 * that nifti_clib (and so FSL, AFNI and the tools built on it) reads what voxtile writes. Built only when
 * libnifti2-dev is installed. nifti_clib prints its own diagnostics to stderr; that is expected here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nifti2_io.h>

#include "nifti_test_util.h"
#include "vxt_test.h"

static char tmpdir[4096];

static int setup(void **state)
{
    (void)state;
    ntu_tmpdir(tmpdir, sizeof tmpdir);
    nifti_set_debug_level(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ntu_rmtree(tmpdir);
    return 0;
}

static void near(double a, double b, double tol, const char *what, const char *file)
{
    if (!(fabs(a - b) <= tol * (1 + fabs(b))) && !(isnan(a) && isnan(b)))
        fail_msg("%s: %s: voxtile %.17g, nifti_clib %.17g", file, what, a, b);
}

/* Compare one file as voxtile and nifti_clib read it. */
static void compare(const char *path, const char *label)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(path, &o, &img));
    nifti_image *nim = nifti_image_read(path, 1);
    if (nim == NULL)
        fail_msg("%s: nifti_clib cannot read it", label);
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_info(img, &info));
    assert_ok(vxt_image_get_geometry(img, &g));
    vxt_nifti_info ni = ntu_nifti_info(img);

    /* header fields */
    assert_int_equal(ni.dim[0], nim->dim[0]);
    for (int i = 1; i <= ni.dim[0]; i++)
        assert_int_equal(ni.dim[i], nim->dim[i]);
    assert_int_equal(ni.datatype, nim->datatype);
    assert_int_equal(ni.bitpix / 8, nim->nbyper);
    for (int i = 1; i <= ni.dim[0]; i++)
        near(g.pixdim[i], nim->pixdim[i], 0, "pixdim", label);
    assert_int_equal(ni.big_endian, nim->byteorder == 2); /* MSB_FIRST (nifti1_io.h) */
    if (ni.single_file)
        assert_int_equal(ni.vox_offset, nim->iname_offset);
    /* nifti_clib stores scl_slope/scl_inter as read; voxtile too */
    near(info.scl_slope, nim->scl_slope, 0, "scl_slope", label);
    near(info.scl_inter, nim->scl_inter, 0, "scl_inter", label);
    near(ni.cal_min, nim->cal_min, 0, "cal_min", label);
    near(ni.cal_max, nim->cal_max, 0, "cal_max", label);
    near(ni.toffset, nim->toffset, 0, "toffset", label);
    near(ni.slice_duration, nim->slice_duration, 0, "slice_duration", label);
    assert_int_equal(ni.slice_code, nim->slice_code);
    assert_int_equal(ni.slice_start, nim->slice_start);
    assert_int_equal(ni.slice_end, nim->slice_end);
    assert_int_equal(ni.intent_code, nim->intent_code);
    assert_string_equal(info.description, nim->descrip);
    assert_string_equal(ni.intent_name, nim->intent_name);
    assert_int_equal(g.xyzt_units & 7, nim->xyz_units);
    assert_int_equal(g.xyzt_units & 56, nim->time_units);
    assert_int_equal(ni.dim_info & 3, nim->freq_dim);
    assert_int_equal((ni.dim_info >> 2) & 3, nim->phase_dim);
    assert_int_equal((ni.dim_info >> 4) & 3, nim->slice_dim);

    /* geometry: nifti_clib computes qto_xyz only for a coded qform and sto_xyz only for a coded sform */
    assert_int_equal(g.qform_code, nim->qform_code);
    assert_int_equal(g.sform_code, nim->sform_code);
    if (nim->qform_code > 0) { /* nifti_clib decodes the quaternion only then */
        near(g.pixdim[0] < 0 ? -1.0 : 1.0, nim->qfac, 0, "qfac", label);
        near(g.quatern[0], nim->quatern_b, 0, "quatern_b", label);
        near(g.quatern[1], nim->quatern_c, 0, "quatern_c", label);
        near(g.quatern[2], nim->quatern_d, 0, "quatern_d", label);
        near(g.qoffset[0], nim->qoffset_x, 0, "qoffset_x", label);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                near(g.qform[r][c], nim->qto_xyz.m[r][c], 1e-12, "qto_xyz", label);
    }
    if (nim->sform_code > 0)
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                near(g.sform[r][c], nim->sto_xyz.m[r][c], 0, "sto_xyz", label);

    /* extensions */
    assert_int_equal(ni.extension_count, (size_t)nim->num_ext);
    for (int i = 0; i < nim->num_ext; i++) {
        int code = 0;
        const void *data = NULL;
        size_t size = 0;
        assert_ok(vxt_nifti_get_extension(img, (size_t)i, &code, &data, &size));
        assert_int_equal(code, nim->ext_list[i].ecode);
        assert_int_equal(size + 8, (size_t)nim->ext_list[i].esize);
        assert_memory_equal(data, nim->ext_list[i].edata, size);
    }

    /* voxels, in the host's byte order on both sides */
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    size_t bytes = 0;
    assert_ok(vxt_volume_bytes(&v, &bytes));
    assert_int_equal(bytes, (size_t)nim->nvox * (size_t)nim->nbyper);
    assert_non_null(nim->data);
    if (memcmp(v.data, nim->data, bytes) != 0)
        fail_msg("%s: the voxels differ from nifti_clib's", label);
    nifti_image_free(nim);
    vxt_image_destroy(img);
}

static void test_reference_files(void **state)
{
    (void)state;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, files)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
        char path[4096];
        snprintf(path, sizeof path, "%s", ntu_data(file));
        compare(path, file);
        n++;
    }
    assert_true(n >= 25);
}

static void test_files_voxtile_writes(void **state)
{
    (void)state;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    const cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
        vxt_read_options o;
        vxt_read_options_init(&o);
        o.scaling = VXT_SCALING_RAW;
        vxt_image *img = NULL;
        assert_ok(vxt_nifti_read_file(ntu_data(file), &o, &img));
        for (int gz = 0; gz < 2; gz++) {
            char out[4300], label[4400];
            snprintf(out, sizeof out, "%s/written%s", tmpdir, gz ? ".nii.gz" : ".nii");
            assert_ok(vxt_nifti_write_file(img, out, NULL));
            snprintf(label, sizeof label, "%s as written by voxtile%s", file, gz ? " (gzip)" : "");
            compare(out, label);
        }
        vxt_image_destroy(img);
    }
}

static void test_reoriented_output(void **state)
{
    (void)state;
    /* a reoriented image (both forms transformed) reads the same in nifti_clib */
    vxt_image *img = NULL, *ras = NULL;
    assert_ok(vxt_nifti_read_file(ntu_data("permuted_int16.nii.gz"), NULL, &img));
    assert_ok(vxt_image_reorient(img, "LPS", &ras));
    char out[4300];
    snprintf(out, sizeof out, "%s/lps.nii", tmpdir);
    assert_ok(vxt_nifti_write_file(ras, out, NULL));
    compare(out, "reoriented to LPS");
    vxt_image_destroy(ras);
    vxt_image_destroy(img);
}

static void test_vox_offset_zero(void **state)
{
    (void)state;
    /* a single file with vox_offset 0 has no defined voxel position: nifti_clib reads from byte 348 (without
     * the 4-byte extender), nibabel from byte 0 (the header itself); voxtile refuses it */
    size_t n = 0;
    unsigned char *b = ntu_make_nii1(5, 4, 3, &n);
    ntu_put_f32(b, 108, 0.0f);
    char path[4300];
    snprintf(path, sizeof path, "%s/vox0.nii", tmpdir);
    ntu_spit(path, b, n);
    nifti_image *nim = nifti_image_read(path, 0);
    assert_non_null(nim);
    assert_int_equal(nim->iname_offset, 348);
    nifti_image_free(nim);
    vxt_image *img = NULL;
    assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_FORMAT, "nifti_clib reads from byte 348");
    free(b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_reference_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_voxtile_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reoriented_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vox_offset_zero, setup, teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
