/* test_cli_phantom.c - `voxtile phantom`: the same arguments give the same bytes, the labels agree with the
 * Hounsfield units they mark, --shape and --spacing are Z,Y,X (NIfTI k,j,i; the JSON says the same), the geometry is
 * a proper LPS CT affine, --orientation reorders exactly, .npy outputs hold the same voxels, and bad arguments fail
 * with one line and no file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

/* Z,Y,X: 40 slices of 4 mm, 56 rows of 3 mm, 64 columns of 2.5 mm */
#define SMALL "--shape 40,56,64 --spacing 4,3,2.5"

static void *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *d = malloc((size_t)len);
    assert_int_equal(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return d;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    void *x = read_file(cli_path(a), &na), *y = read_file(cli_path(b), &nb);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void test_deterministic(void **state)
{
    (void)state;
    cli_phantom("a.nii.gz", "la.nii.gz", SMALL " --seed 7");
    cli_phantom("b.nii.gz", "lb.nii.gz", SMALL " --seed 7");
    cli_phantom("c.nii.gz", "lc.nii.gz", SMALL " --seed 8");
    assert_true(same_bytes("a.nii.gz", "b.nii.gz"));
    assert_true(same_bytes("la.nii.gz", "lb.nii.gz"));
    /* another seed changes the noise, not the anatomy */
    assert_false(same_bytes("a.nii.gz", "c.nii.gz"));
    assert_true(same_bytes("la.nii.gz", "lc.nii.gz"));
    /* uncompressed output has the voxels at byte 352: check a few against a second run */
    cli_phantom("a.nii", NULL, SMALL " --seed 7");
    cli_phantom("b.nii", NULL, SMALL " --seed 7");
    assert_true(same_bytes("a.nii", "b.nii"));
    /* .npy outputs: the same voxels, (z, y, x) arrays of int16 and uint8 */
    cli_phantom("a.npy", "la.npy", SMALL " --seed 7");
    static const char *const pairs[2][2] = {{"a.nii.gz", "a.npy"}, {"la.nii.gz", "la.npy"}};
    for (int k = 0; k < 2; k++) {
        vxt_npy_info ni;
        void *arr = cli_load_npy(cli_path(pairs[k][1]), &ni);
        static const int64_t zyx[3] = {40, 56, 64};
        assert_int_equal(ni.ndim, 3);
        assert_memory_equal(ni.shape, zyx, sizeof zyx);
        assert_int_equal(ni.dtype, k ? VXT_DTYPE_U8 : VXT_DTYPE_I16);
        vxt_image *img = cli_read_image(cli_path(pairs[k][0]));
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        assert_int_equal(v.dtype, ni.dtype);
        assert_memory_equal(v.data, arr, (size_t)ni.count * vxt_dtype_size(ni.dtype));
        vxt_image_destroy(img);
        free(arr);
    }
}

static void test_labels_match_hounsfield_units(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", "lab.nii.gz", SMALL " --seed 3 --noise 10 --fill -2000 --json");
    cJSON *j = cli_out_json();
    /* the JSON lists shape and spacing as given, Z,Y,X */
    static const double want_shape[3] = {40, 56, 64}, want_spacing[3] = {4, 3, 2.5};
    for (int a = 0; a < 3; a++) {
        assert_true(cJSON_GetArrayItem(cli_json(j, "shape"), a)->valuedouble == want_shape[a]);
        assert_true(cJSON_GetArrayItem(cli_json(j, "spacing"), a)->valuedouble == want_spacing[a]);
    }
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "shape")), 3);
    assert_string_equal(cli_json_string(j, "output"), cli_path("ct.nii.gz"));
    assert_string_equal(cli_json_string(j, "label_map"), cli_path("lab.nii.gz"));
    assert_string_equal(cli_json_string(j, "orientation"), "LPS");
    assert_true(cli_json_number(j, "fill") == -2000 && cli_json_number(j, "noise") == 10 &&
                cli_json_number(j, "seed") == 3);
    vxt_image *ct = cli_read_image(cli_path("ct.nii.gz")), *lab = cli_read_image(cli_path("lab.nii.gz"));
    cli_assert_same_geometry(ct, lab);
    vxt_volume cv, lv;
    assert_ok(vxt_image_volume(ct, &cv));
    assert_ok(vxt_image_volume(lab, &lv));
    assert_int_equal(cv.dtype, VXT_DTYPE_I16);
    assert_int_equal(lv.dtype, VXT_DTYPE_U8);
    assert_int_equal(cv.shape[0], 40); /* k */
    assert_int_equal(cv.shape[1], 56); /* j */
    assert_int_equal(cv.shape[2], 64); /* i */
    /* NIfTI order: dim[1..3] = i, j, k = X, Y, Z, and pixdim likewise */
    vxt_nifti_info cni = cli_nifti_info(ct);
    assert_int_equal(cni.dim[0], 3);
    assert_int_equal(cni.dim[1], 64);
    assert_int_equal(cni.dim[2], 56);
    assert_int_equal(cni.dim[3], 40);
    const int16_t *h = cv.data;
    const uint8_t *l = lv.data;
    size_t n = 64 * 56 * 40, count[4] = {0}, fill = 0;
    /* the noise is bounded by 3.47 sigma; each tissue's values, widened by that */
    const double lo[4] = {-1000 - 35, -100 - 35, -820 - 35, 700 - 35}, hi[4] = {-1000 + 35, 80 + 35, -820 + 35, 1100 + 35};
    double air_sum = 0, air_sq = 0;
    size_t air = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(l[i] <= 3);
        count[l[i]]++;
        if (l[i] == 0 && h[i] == -2000) {
            fill++;
            continue;
        }
        if (h[i] < lo[l[i]] || h[i] > hi[l[i]])
            fail_msg("voxel %zu: label %d with %d HU", i, l[i], h[i]);
        if (l[i] == 0) {
            air_sum += h[i] + 1000.0;
            air_sq += (h[i] + 1000.0) * (h[i] + 1000.0);
            air++;
        }
    }
    /* every tissue is there in a plausible amount */
    assert_true(count[1] > n / 8);
    assert_true(count[2] > n / 50);
    assert_true(count[3] > n / 300);
    assert_true(fill > n / 10); /* the corners outside the circular field of view */
    /* the corners of every slice are outside the field of view: the fill value exactly, label 0 */
    for (int k = 0; k < 40; k++) {
        size_t corner = (size_t)k * 56 * 64;
        assert_int_equal(h[corner], -2000);
        assert_int_equal(l[corner], 0);
    }
    /* the noise: mean 0 and standard deviation 10 HU in the air (rounding to integers adds 1/12) */
    double mean = air_sum / (double)air, sd = sqrt(air_sq / (double)air - mean * mean);
    assert_true(air > 1000);
    assert_true(fabs(mean) < 0.5);
    assert_true(fabs(sd - sqrt(100.0 + 1.0 / 12)) < 0.3);
    /* the JSON counts the same voxels */
    cJSON *lv_j = cJSON_GetObjectItem(j, "label_voxels");
    assert_int_equal((size_t)cJSON_GetObjectItem(lv_j, "background")->valuedouble, count[0]);
    assert_int_equal((size_t)cJSON_GetObjectItem(lv_j, "body")->valuedouble, count[1]);
    assert_int_equal((size_t)cJSON_GetObjectItem(lv_j, "lungs")->valuedouble, count[2]);
    assert_int_equal((size_t)cJSON_GetObjectItem(lv_j, "bone")->valuedouble, count[3]);
    cJSON_Delete(j);
    /* geometry: LPS as CT converters write it, both forms (code 1, scanner), voxel sizes, centred on the origin */
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_image_get_geometry(ct, &g));
    assert_string_equal(g.orientation, "LPS");
    assert_int_equal(g.sform_code, 1);
    assert_int_equal(g.qform_code, 1);
    assert_true(fabs(g.spacing[0] - 4) < 1e-6 && fabs(g.spacing[1] - 3) < 1e-6 && fabs(g.spacing[2] - 2.5) < 1e-6);
    assert_true(fabs(g.pixdim[1] - 2.5) < 1e-6 && fabs(g.pixdim[2] - 3) < 1e-6 && fabs(g.pixdim[3] - 4) < 1e-6);
    /* LPS: i along -x (columns of 2.5 mm), j along -y, k along +z */
    assert_true(fabs(g.affine[0][0] + 2.5) < 1e-6 && fabs(g.affine[1][1] + 3) < 1e-6);
    assert_true(fabs(g.affine[2][2] - 4) < 1e-6);
    for (int r = 0; r < 3; r++) {
        double c = g.affine[r][3] + g.affine[r][0] * 31.5 + g.affine[r][1] * 27.5 + g.affine[r][2] * 19.5;
        assert_true(fabs(c) < 1e-4);
        for (int col = 0; col < 3; col++)
            assert_true(fabs(g.affine[r][col] - g.qform[r][col]) < 1e-6);
    }
    assert_int_equal(cli_nifti_info(lab).intent_code, 1002);
    vxt_image_destroy(ct);
    vxt_image_destroy(lab);
    /* without noise every voxel is its tissue's value exactly */
    cli_phantom("clean.nii.gz", NULL, SMALL " --noise 0 --fill -3024 --fov 150");
    ct = cli_read_image(cli_path("clean.nii.gz"));
    assert_ok(vxt_image_volume(ct, &cv));
    h = cv.data;
    static const int values[] = {-3024, -1000, -100, 40, 45, 60, 80, 15, -820, 700, 1100, 1000, 900};
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
            if (h[i] == values[k]) {
                ok = 1;
                seen |= (size_t)1 << k;
            }
        if (!ok)
            fail_msg("voxel %zu is %d HU, not a tissue value", i, h[i]);
    }
    assert_true(seen & 1);            /* the fill value, outside a 150 mm field of view */
    assert_true((seen >> 8) & 1);     /* lungs */
    assert_true((seen >> 10) & 1);    /* cortical bone */
    vxt_image_destroy(ct);
}

static void test_orientation(void **state)
{
    (void)state;
    cli_phantom("lps.nii.gz", "llps.nii.gz", SMALL);
    cli_phantom("ras.nii.gz", "lras.nii.gz", SMALL " --orientation RAS");
    vxt_image *a = cli_read_image(cli_path("lps.nii.gz")), *b = cli_read_image(cli_path("ras.nii.gz"));
    vxt_volume va, vb;
    vxt_geometry ga, gb;
    vxt_geometry_init(&ga);
    vxt_geometry_init(&gb);
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_ok(vxt_image_get_geometry(a, &ga));
    assert_ok(vxt_image_get_geometry(b, &gb));
    assert_string_equal(gb.orientation, "RAS");
    /* the same voxels at the same world points: RAS flips i and j of LPS */
    const int16_t *x = va.data, *y = vb.data;
    for (int64_t k = 0; k < 40; k++)
        for (int64_t j = 0; j < 56; j++)
            for (int64_t i = 0; i < 64; i++) {
                size_t p = (size_t)((k * 56 + j) * 64 + i), q = (size_t)((k * 56 + (55 - j)) * 64 + (63 - i));
                if (x[p] != y[q])
                    fail_msg("voxel (%lld, %lld, %lld) differs", (long long)i, (long long)j, (long long)k);
            }
    for (int r = 0; r < 3; r++) {
        double wa = ga.affine[r][3] + ga.affine[r][0] * 5 + ga.affine[r][1] * 7 + ga.affine[r][2] * 9;
        double wb = gb.affine[r][3] + gb.affine[r][0] * 58 + gb.affine[r][1] * 48 + gb.affine[r][2] * 9;
        assert_true(fabs(wa - wb) < 1e-4);
    }
    vxt_image_destroy(a);
    vxt_image_destroy(b);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char o[1024];
    snprintf(o, sizeof o, "%s", cli_path("x.nii.gz"));
    int before = cli_files();
    static const struct {
        const char *args, *needle;
        int rc;
    } bad[] = {
        {"--bogus", "unknown option '--bogus'", 2},
        {"--shape 0,10,10", "--shape", 2},
        {"--shape 10,10", "--shape", 2},
        {"--shape 10,10,10,10", "--shape", 2},
        {"--spacing 1,2", "--spacing", 2},
        {"--spacing 0", "--spacing", 2},
        {"--shape 10.5,10,10", "--shape", 2},
        {"--spacing -1", "--spacing", 2},
        {"--fill 40000", "--fill", 2},
        {"--noise -3", "--noise", 2},
        {"--seed -1", "--seed", 2},
        {"--orientation LPQ", "not an orientation code", 2},
        {"--orientation LLS", "not an orientation code", 2},
        {"extra", "unexpected argument 'extra'", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cli("phantom -o '%s' %s", o, bad[i].args);
        if (rc != bad[i].rc)
            fail_msg("phantom %s: exit %d, expected %d (%s)", bad[i].args, rc, bad[i].rc, cli_err);
        cli_assert_one_line_error(bad[i].needle);
    }
    assert_int_equal(cli("phantom " SMALL), 2);
    cli_assert_one_line_error("missing -o");
    assert_int_equal(cli("phantom -o '%s' " SMALL, cli_path("x.png")), 2);
    cli_assert_one_line_error("must end in .nii, .nii.gz or .npy");
    assert_int_equal(cli("phantom -o '%s' --label-map '%s' " SMALL, o, cli_path("l.txt")), 2);
    cli_assert_one_line_error("--label-map");
    assert_int_equal(cli("phantom -o '%s' --label-map '%s' " SMALL, o, o), 2);
    cli_assert_one_line_error("the same file");
    /* the old spelling is gone */
    assert_int_equal(cli("phantom -o '%s' --labels '%s' " SMALL, o, cli_path("l.nii.gz")), 2);
    cli_assert_one_line_error("unknown option '--labels'");
    /* output directory missing; a parent that is a regular file (root can write anywhere, so chmod would not do) */
    assert_int_equal(cli("phantom -o '%s' " SMALL, cli_path("no/such/dir/x.nii.gz")), 5);
    cli_assert_one_line_error("does not exist");
    cli_write_text("file", "not a directory\n");
    assert_int_equal(cli("phantom -o '%s' " SMALL, cli_path("file/x.nii.gz")), 5);
    cli_assert_one_line_error("is not a directory");
    assert_int_equal(cli("phantom -o '%s' --label-map '%s' " SMALL, o, cli_path("file/l.nii.gz")), 5);
    cli_assert_one_line_error("--label-map");
    /* the labels fail only when written (their name is a directory): the CT written before them is removed */
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", cli_path("ldir.nii.gz"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli("phantom -o '%s' --label-map '%s' " SMALL, o, cli_path("ldir.nii.gz")), 5);
    cli_assert_one_line_error("ldir.nii.gz");
    assert_int_equal(cli_files(), before + 2); /* only "file" and "ldir.nii.gz": no CT, no temporary file */
    assert_int_equal(cli("phantom --help"), 0);
    assert_non_null(strstr(cli_out, "--orientation"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_deterministic, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_labels_match_hounsfield_units, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_orientation, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
