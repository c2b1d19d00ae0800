/* test_dicom.c - DICOM series read through GDCM: every case tools/make_dicom_testdata.py builds (in $VXT_DICOM_DATA,
 * made by the CTest fixture dicom_testdata) against its manifest: the sorted voxels, bit for bit, in dcm2niix's order
 * (rows reversed), the affine, the rescale and padding; the transfer syntaxes decode to the same voxels; gaps,
 * duplicates, tilt, mixed series and bad files are refused with a message naming the file and the tag; the options
 * that keep them work; and dcm2niix ($VXT_DCM2NIIX) gives the same geometry (within 1e-3 mm) and voxels. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dicom_internal.h"
#include "fuzz/fuzz_dicom_decode.h"
#include "vxt_test.h"

static const char *data_dir(void)
{
    const char *d = getenv("VXT_DICOM_DATA");
    if (!d || !d[0])
        fail_msg("VXT_DICOM_DATA is not set: run through ctest (the dicom_testdata fixture makes the series with "
                 "tools/make_dicom_testdata.py)");
    return d;
}

static cJSON *manifest(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/manifest.json", data_dir());
    size_t n;
    char *text = vxt_test_read_file(p, &n);
    cJSON *m = cJSON_Parse(text);
    free(text);
    assert_non_null(m);
    return m;
}

static const cJSON *find_case(const cJSON *m, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases"))
    {
        const cJSON *n = cJSON_GetObjectItem(c, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return c;
    }
    fail_msg("no case '%s' in the manifest", name);
    return NULL;
}

static const char *str_of(const cJSON *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void path_of(const cJSON *c, const char *key, char *out, size_t n)
{
    const char *rel = str_of(c, key);
    assert_non_null(rel);
    snprintf(out, n, "%s/%s", data_dir(), rel);
}

/* The manifest's affine (i = column, j = row, k = sorted slice) as voxtile's (j reversed): column 1 negated, the
 * origin at the last row. */
static void expected_affine(const cJSON *c, const char *key, double a[4][4])
{
    const cJSON *rows = cJSON_GetObjectItem(c, key);
    assert_true(cJSON_IsArray(rows));
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 4; k++)
            a[r][k] = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, r), k)->valuedouble;
    int64_t shape[3];
    vxt_test_json_i64s(cJSON_GetObjectItem(c, "shape"), shape, 3);
    for (int r = 0; r < 3; r++) {
        a[r][3] += (double)(shape[1] - 1) * a[r][1];
        a[r][1] = -a[r][1];
    }
}

/* a, b: 4 x 4, row-major */
static void assert_affine_near(const double *a, const double *b, double tol, const char *what)
{
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 4; k++)
            if (fabs(a[4 * r + k] - b[4 * r + k]) > tol)
                fail_msg("%s: affine[%d][%d] = %.9g, expected %.9g (tolerance %g)", what, r, k, a[4 * r + k],
                         b[4 * r + k], tol);
}

/* The image's voxels equal the .npy's (n voxels of `es` bytes, shape nk x nj x ni) with rows reversed. */
static void assert_voxels_flipped(const vxt_image *img, const char *npy, const char *what)
{
    vxt_image *e = NULL;
    assert_ok(vxt_image_read_path(npy, NULL, &e));
    vxt_volume a, b;
    assert_ok(vxt_image_volume(img, &a));
    assert_ok(vxt_image_volume(e, &b));
    if (a.dtype != b.dtype)
        fail_msg("%s: dtype %s, expected %s", what, vxt_dtype_name(a.dtype), vxt_dtype_name(b.dtype));
    for (int k = 0; k < 3; k++)
        assert_int_equal(a.shape[k], b.shape[k]);
    const size_t es = vxt_dtype_size(a.dtype), row = (size_t)a.shape[2] * es;
    size_t bad = 0;
    for (int64_t z = 0; z < a.shape[0]; z++)
        for (int64_t y = 0; y < a.shape[1]; y++) {
            const unsigned char *p = (const unsigned char *)a.data + ((size_t)(z * a.shape[1] + y)) * row;
            const unsigned char *q =
                (const unsigned char *)b.data + ((size_t)(z * a.shape[1] + (a.shape[1] - 1 - y))) * row;
            if (memcmp(p, q, row) != 0 && bad++ == 0)
                print_message("%s: first difference in slice %lld, row %lld\n", what, (long long)z, (long long)y);
        }
    vxt_image_destroy(e);
    if (bad)
        fail_msg("%s: %zu rows differ from the expected voxels", what, bad);
}

static vxt_image *read_case(const cJSON *c, vxt_scaling scaling, unsigned flags, const char *series)
{
    char dir[1024];
    path_of(c, "path", dir, sizeof dir);
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = scaling;
    o.dicom_flags = flags;
    o.dicom_series = series;
    vxt_image *img = NULL;
    assert_ok(vxt_image_read_path(dir, &o, &img));
    return img;
}

/* One readable case: geometry, stored voxels (raw), values (auto), padding. */
static void check_case(const cJSON *m, const char *name, unsigned flags)
{
    const cJSON *c = find_case(m, name);
    vxt_image *img = read_case(c, VXT_SCALING_RAW, flags, NULL);
    vxt_image_info in = {.struct_size = sizeof in};
    assert_ok(vxt_image_get_info(img, &in));
    assert_int_equal(in.format, VXT_FORMAT_DICOM);
    int64_t shape[3];
    vxt_test_json_i64s(cJSON_GetObjectItem(c, "shape"), shape, 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(in.shape[k], shape[k]);
    double want[4][4];
    expected_affine(c, "affine_ras", want);
    assert_affine_near(&in.affine[0][0], &want[0][0], 1e-4, name);
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(img, &g));
    assert_int_equal(g.sform_code, 1); /* scanner, both, as dcm2niix */
    assert_int_equal(g.qform_code, 1);
    assert_string_equal(in.description, str_of(c, "description"));
    const int varies = cJSON_IsTrue(cJSON_GetObjectItem(c, "rescale_varies"));
    char npy[1024];
    if (!varies) { /* raw: the stored values, the rescale as the image's scaling */
        path_of(c, "stored_npy", npy, sizeof npy);
        assert_voxels_flipped(img, npy, name);
        assert_int_equal(in.scaled, 0);
        assert_true(in.scl_slope == cJSON_GetObjectItem(c, "slope")->valuedouble);
        assert_true(in.scl_inter == cJSON_GetObjectItem(c, "intercept")->valuedouble);
    }
    const int pad = cJSON_IsTrue(cJSON_GetObjectItem(c, "has_padding"));
    assert_int_equal(in.has_padding, pad);
    if (pad && !varies)
        assert_true(in.padding_value == cJSON_GetObjectItem(c, "padding_stored")->valuedouble);
    vxt_image_destroy(img);
    /* auto: the values the series means (float32 unless the rescale is the identity) */
    img = read_case(c, VXT_SCALING_AUTO, flags, NULL);
    assert_ok(vxt_image_get_info(img, &in));
    const int identity = !varies && cJSON_GetObjectItem(c, "slope")->valuedouble == 1.0 &&
                         cJSON_GetObjectItem(c, "intercept")->valuedouble == 0.0;
    path_of(c, identity ? "stored_npy" : "values_npy", npy, sizeof npy);
    assert_voxels_flipped(img, npy, name);
    if (pad)
        assert_true(in.padding_value == cJSON_GetObjectItem(c, "padding_value_out")->valuedouble);
    vxt_image_destroy(img);
}

static void test_series_read_as_written(void **state)
{
    (void)state;
    cJSON *m = manifest();
    static const char *names[] = {"ct_axial", "ct_u12", "mr_oblique", "ct_rescale", "enhanced_ct", "enhanced_mr"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        check_case(m, names[i], 0);
    cJSON_Delete(m);
}

/* Every transfer syntax decodes to the uncompressed series' voxels; the scan names the syntax. */
static void test_transfer_syntaxes(void **state)
{
    (void)state;
    cJSON *m = manifest();
    static const char *names[] = {"ts_implicit_le", "ts_explicit_be", "ts_jpeg_lossless", "ts_jpegls_lossless",
                                  "ts_j2k_lossless", "ts_rle"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cJSON *c = find_case(m, names[i]);
        assert_string_equal(str_of(c, "same_as"), "ct_axial");
        check_case(m, names[i], 0);
        char dir[1024];
        path_of(c, "path", dir, sizeof dir);
        vxt_dicom_scan *s = NULL;
        assert_ok(vxt_dicom_scan_path(dir, NULL, &s));
        assert_int_equal(vxt_dicom_scan_count(s), 1);
        vxt_dicom_series ds = {.struct_size = sizeof ds};
        assert_ok(vxt_dicom_scan_get(s, 1, &ds));
        assert_true(ds.readable);
        assert_int_equal(ds.files, 20);
        assert_true(ds.transfer_syntaxes[0] != '\0');
        vxt_dicom_scan_destroy(s);
    }
    cJSON_Delete(m);
}

/* a case-insensitive strstr */
static int mentions(const char *msg, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = msg; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return 0;
}

static void assert_refused(const char *path, unsigned flags, const char *series, vxt_status want, const char *w1,
                           const char *w2)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.dicom_flags = flags;
    o.dicom_series = series;
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    vxt_status st = vxt_image_read_path(path, &o, &img);
    if (st != want)
        fail_msg("%s: %s (%s), expected %s", path, vxt_status_name(st), vxt_last_error(), vxt_status_name(want));
    assert_null(img);
    const char *msg = vxt_last_error();
    if (w1 && !mentions(msg, w1))
        fail_msg("%s: message '%s' does not mention '%s'", path, msg, w1);
    if (w2 && !mentions(msg, w2))
        fail_msg("%s: message '%s' does not mention '%s'", path, msg, w2);
    assert_null(strchr(msg, '\n')); /* one line */
}

/* Gaps, duplicates and tilt: refused by default, kept or corrected when asked, with a note saying so. */
static void test_irregular_series(void **state)
{
    (void)state;
    cJSON *m = manifest();
    char dir[1024];
    path_of(find_case(m, "ct_gap"), "path", dir, sizeof dir);
    assert_refused(dir, 0, NULL, VXT_ERR_FORMAT, "gap", "(0020,0032)");
    check_case(m, "ct_gap", VXT_DICOM_KEEP_IRREGULAR);
    vxt_image *img = read_case(find_case(m, "ct_gap"), VXT_SCALING_RAW, VXT_DICOM_KEEP_IRREGULAR, NULL);
    vxt_image_info in = {.struct_size = sizeof in};
    assert_ok(vxt_image_get_info(img, &in));
    assert_true(mentions(in.notes, "gap"));
    vxt_image_destroy(img);

    path_of(find_case(m, "ct_duplicate"), "path", dir, sizeof dir);
    assert_refused(dir, 0, NULL, VXT_ERR_FORMAT, "duplicate", "(0020,0032)");
    check_case(m, "ct_duplicate", VXT_DICOM_DROP_DUPLICATES);

    const cJSON *t = find_case(m, "ct_tilt");
    path_of(t, "path", dir, sizeof dir);
    assert_refused(dir, 0, NULL, VXT_ERR_UNSUPPORTED, "tilt", "(0018,1120)");
    img = read_case(t, VXT_SCALING_RAW, VXT_DICOM_CORRECT_TILT, NULL);
    assert_ok(vxt_image_get_info(img, &in));
    assert_true(mentions(in.notes, "tilt"));
    /* the corrected grid: orthogonal, taller by ceil(tan(15 deg) * (N-1) * step_along_normal / row spacing) rows */
    const double step = 2.5 * cos(15.0 * M_PI / 180.0), extra = ceil(tan(15.0 * M_PI / 180.0) * 15.0 * step / 0.75);
    assert_int_equal(in.shape[1], 48 + (int64_t)extra);
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            double d = 0.0;
            for (int r = 0; r < 3; r++)
                d += in.affine[r][a] * in.affine[r][b];
            assert_true(fabs(d) < 1e-9);
        }
    assert_true(fabs(in.spacing[0] - step) < 1e-6);
    vxt_image_destroy(img);
    cJSON_Delete(m);
}

/* Two series in a folder: listed, refused without a choice, chosen by number or UID; a series split by size or
 * orientation is inconsistent. */
static void test_choosing_a_series(void **state)
{
    (void)state;
    cJSON *m = manifest();
    const cJSON *c = find_case(m, "two_series");
    char dir[1024];
    path_of(c, "path", dir, sizeof dir);
    vxt_dicom_scan *s = NULL;
    assert_ok(vxt_dicom_scan_path(dir, NULL, &s));
    assert_int_equal(vxt_dicom_scan_count(s), 2);
    const cJSON *list = cJSON_GetObjectItem(c, "series");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *e = cJSON_GetArrayItem(list, i);
        vxt_dicom_series ds = {.struct_size = sizeof ds};
        assert_ok(vxt_dicom_scan_get(s, i + 1, &ds));
        assert_string_equal(ds.uid, str_of(e, "series_uid"));
        assert_string_equal(ds.description, str_of(e, "description"));
        assert_int_equal(ds.number, (int64_t)cJSON_GetObjectItem(e, "series_number")->valuedouble);
        assert_true(ds.readable);
        vxt_image *by_number = NULL, *by_uid = NULL;
        char num[8];
        snprintf(num, sizeof num, "%d", i + 1);
        assert_ok(vxt_dicom_scan_read(s, num, NULL, &by_number));
        assert_ok(vxt_dicom_scan_read(s, ds.uid, NULL, &by_uid));
        vxt_image_info a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
        assert_ok(vxt_image_get_info(by_number, &a));
        assert_ok(vxt_image_get_info(by_uid, &b));
        assert_string_equal(a.description, str_of(e, "description"));
        assert_memory_equal(a.affine, b.affine, sizeof a.affine);
        char npy[1024];
        snprintf(npy, sizeof npy, "%s/%s", data_dir(), str_of(e, "stored_npy"));
        vxt_image_destroy(by_uid);
        by_uid = NULL;
        assert_ok(vxt_dicom_scan_read(s, ds.uid, &(vxt_read_options){.struct_size = sizeof(vxt_read_options),
                                                                      .scaling = VXT_SCALING_RAW,
                                                                      .volume = VXT_READ_ALL_VOLUMES},
                                      &by_uid));
        assert_voxels_flipped(by_uid, npy, "two_series");
        vxt_image_destroy(by_number);
        vxt_image_destroy(by_uid);
    }
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_dicom_scan_read(s, NULL, NULL, &img), VXT_ERR_INVALID_ARGUMENT, "2 series");
    assert_null(img);
    assert_status_msg(vxt_dicom_scan_read(s, "3", NULL, &img), VXT_ERR_INVALID_ARGUMENT, "numbered");
    assert_status_msg(vxt_dicom_scan_read(s, "1.2.3.4", NULL, &img), VXT_ERR_INVALID_ARGUMENT, "no series 1.2.3.4");
    vxt_dicom_series ds = {.struct_size = sizeof ds};
    assert_status_msg(vxt_dicom_scan_get(s, 0, &ds), VXT_ERR_INVALID_ARGUMENT, "numbered 1 to 2");
    assert_status_msg(vxt_dicom_scan_get(NULL, 1, &ds), VXT_ERR_NULL, "scan");
    /* the read options: the read's flags must be the scan's */
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.dicom_flags = VXT_DICOM_CORRECT_TILT;
    assert_status_msg(vxt_dicom_scan_read(s, "1", &o, &img), VXT_ERR_INVALID_ARGUMENT, "dicom_flags");
    vxt_dicom_scan_destroy(s);

    path_of(find_case(m, "mixed_size"), "path", dir, sizeof dir);
    assert_refused(dir, 0, NULL, VXT_ERR_FORMAT, "size", "(0028,0010)");
    assert_ok(vxt_dicom_scan_path(dir, NULL, &s));
    assert_int_equal(vxt_dicom_scan_count(s), 2); /* listed apart, each readable by its number */
    assert_ok(vxt_dicom_scan_get(s, 1, &ds));
    assert_int_equal(ds.parts, 2);
    /* a part is judged on its own: this one lacks the slices the other part holds */
    assert_status_msg(vxt_dicom_scan_read(s, "1", NULL, &img), VXT_ERR_FORMAT, "gap");
    assert_status_msg(vxt_dicom_scan_read(s, ds.uid, NULL, &img), VXT_ERR_FORMAT, "inconsistent");
    vxt_dicom_scan_destroy(s);
    path_of(find_case(m, "mixed_orientation"), "path", dir, sizeof dir);
    assert_refused(dir, 0, NULL, VXT_ERR_FORMAT, "orientation", "(0020,0037)");
    cJSON_Delete(m);
}

/* Every file's JPEG start-of-image marker broken (nftw callback): each file then fails to decode. */
static int break_soi(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type != FTW_F)
        return 0;
    size_t n;
    unsigned char *b = vxt_test_read_file(path, &n);
    unsigned char *p = memmem(b, n, "\xff\xd8\xff", 3);
    assert_non_null(p);
    p[1] = 0x00;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
    return 0;
}

/* vxt_read_options.threads: the same image whatever the count (uncompressed and JPEG lossless), out-of-range counts
 * refused, and with every file broken the error is the first sorted slice's, whatever the count and the timing. */
static void test_threads(void **state)
{
    (void)state;
    cJSON *m = manifest();
    const char *names[] = {"ct_axial", "ts_jpeg_lossless", "ct_u12"};
    char jpeg_dir[1024] = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cJSON *c = find_case(m, names[i]);
        if (cJSON_GetObjectItem(c, "files")->valueint == 0) /* gdcmconv's JPEG not lossless on int16 data here */
            c = find_case(m, "ts_jpeg_lossless_u16");
        char dir[1024];
        path_of(c, "path", dir, sizeof dir);
        if (i == 1)
            snprintf(jpeg_dir, sizeof jpeg_dir, "%s", dir);
        vxt_image *one = NULL, *many = NULL;
        vxt_read_options o;
        vxt_read_options_init(&o);
        o.threads = 1;
        assert_ok(vxt_image_read_path(dir, &o, &one));
        o.threads = 7;
        assert_ok(vxt_image_read_path(dir, &o, &many));
        vxt_volume a, b;
        assert_ok(vxt_image_volume(one, &a));
        assert_ok(vxt_image_volume(many, &b));
        assert_int_equal(a.dtype, b.dtype);
        assert_memory_equal(a.data, b.data, (size_t)(a.shape[0] * a.shape[1] * a.shape[2]) * vxt_dtype_size(a.dtype));
        vxt_image_destroy(one);
        vxt_image_destroy(many);
    }
    vxt_read_options o;
    vxt_read_options_init(&o);
    vxt_image *img = NULL;
    o.threads = -1;
    assert_int_equal(vxt_image_read_path(jpeg_dir, &o, &img), VXT_ERR_INVALID_ARGUMENT);
    o.threads = 1025;
    assert_int_equal(vxt_image_read_path(jpeg_dir, &o, &img), VXT_ERR_INVALID_ARGUMENT);
    assert_null(img);
    /* a layout of an older header (without `threads`) is still read */
    o.threads = 0;
    o.struct_size = offsetof(vxt_read_options, threads);
    assert_ok(vxt_image_read_path(jpeg_dir, &o, &img));
    vxt_image_destroy(img);
    img = NULL;
    o.struct_size = offsetof(vxt_read_options, threads) - 1;
    assert_int_equal(vxt_image_read_path(jpeg_dir, &o, &img), VXT_ERR_STRUCT_SIZE);
    /* every file broken */
    char tmp[] = "/tmp/vxt-dicom-threads-XXXXXX", cmd[2200], copy[1100];
    assert_non_null(mkdtemp(tmp));
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/s'", jpeg_dir, tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(copy, sizeof copy, "%s/s", tmp);
    assert_int_equal(nftw(copy, break_soi, 16, FTW_PHYS), 0);
    vxt_read_options_init(&o);
    o.threads = 1;
    assert_int_equal(vxt_image_read_path(copy, &o, &img), VXT_ERR_FORMAT);
    char first[1024];
    snprintf(first, sizeof first, "%s", vxt_last_error());
    assert_non_null(strstr(first, "start of image"));
    for (int t = 2; t <= 16; t++) {
        o.threads = t;
        assert_int_equal(vxt_image_read_path(copy, &o, &img), VXT_ERR_FORMAT);
        assert_null(img);
        assert_string_equal(vxt_last_error(), first);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    cJSON_Delete(m);
}

/* Bad files: one-line errors naming the file and the tag; nothing returned. */
static void test_bad_input(void **state)
{
    (void)state;
    cJSON *m = manifest();
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases"))
    {
        if (strcmp(str_of(c, "kind"), "bad") != 0)
            continue;
        char dir[1024];
        path_of(c, "path", dir, sizeof dir);
        const char *name = str_of(c, "name");
        const char *want = str_of(c, "expect_error");
        if (!strcmp(name, "huge"))
            want = NULL; /* the tag is enough: the message says what about it */
        vxt_read_options o;
        vxt_read_options_init(&o);
        vxt_image *img = (vxt_image *)(uintptr_t)1;
        vxt_status st = vxt_image_read_path(dir, &o, &img);
        if (st == VXT_OK)
            fail_msg("%s: read", name);
        assert_null(img);
        const char *msg = vxt_last_error();
        if (want && !mentions(msg, want))
            fail_msg("%s: '%s' does not mention '%s'", name, msg, want);
        if (str_of(c, "tag") && !mentions(msg, str_of(c, "tag")))
            fail_msg("%s: '%s' does not name the tag %s", name, msg, str_of(c, "tag"));
        if (str_of(c, "file") && strcmp(name, "not_dicom") != 0) {
            const char *f = strrchr(str_of(c, "file"), '/');
            if (!mentions(msg, f ? f + 1 : str_of(c, "file")))
                fail_msg("%s: '%s' does not name the file", name, msg);
        }
        /* the file itself, given directly */
        if (str_of(c, "file")) {
            char p[1100];
            snprintf(p, sizeof p, "%s/%s", data_dir(), str_of(c, "file"));
            img = (vxt_image *)(uintptr_t)1;
            assert_int_not_equal(vxt_image_read_path(p, &o, &img), VXT_OK);
            assert_null(img);
        }
        n++;
    }
    assert_true(n >= 9);
    /* API misuse */
    vxt_dicom_scan *s = (vxt_dicom_scan *)(uintptr_t)1;
    assert_status_msg(vxt_dicom_scan_path(NULL, NULL, &s), VXT_ERR_NULL, "path");
    assert_null(s);
    assert_status_msg(vxt_dicom_scan_path("/nonexistent/dicom", NULL, &s), VXT_ERR_IO, "/nonexistent/dicom");
    assert_status_msg(vxt_dicom_scan_files(NULL, 1, NULL, &s), VXT_ERR_NULL, "paths");
    const char *none[1] = {NULL};
    assert_status_msg(vxt_dicom_scan_files(none, 0, NULL, &s), VXT_ERR_INVALID_ARGUMENT, "count");
    assert_status_msg(vxt_dicom_scan_files(none, 1, NULL, &s), VXT_ERR_NULL, "paths[0]");
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.struct_size = 3;
    assert_status_msg(vxt_dicom_scan_path(data_dir(), &o, &s), VXT_ERR_STRUCT_SIZE, "vxt_read_options");
    vxt_image *img = NULL;
    assert_status_msg(vxt_dicom_read_memory(NULL, 10, NULL, &img), VXT_ERR_NULL, "data");
    assert_status_msg(vxt_dicom_read_memory("garbage!", 8, NULL, &img), VXT_ERR_FORMAT, "not a DICOM");
    /* max_bytes refuses before allocating */
    const cJSON *ct = find_case(m, "ct_axial");
    char dir[1024];
    path_of(ct, "path", dir, sizeof dir);
    vxt_read_options_init(&o);
    o.max_bytes = 1000;
    assert_status_msg(vxt_image_read_path(dir, &o, &img), VXT_ERR_OUT_OF_MEMORY, "max_bytes");
    cJSON_Delete(m);
}

/* A file list and a file in memory read as the folder does; a header-only read has the geometry, no voxels. */
static void test_other_ways_in(void **state)
{
    (void)state;
    cJSON *m = manifest();
    const cJSON *c = find_case(m, "enhanced_ct");
    char dir[1024];
    path_of(c, "path", dir, sizeof dir);
    vxt_dicom_scan *s = NULL;
    assert_ok(vxt_dicom_scan_path(dir, NULL, &s));
    vxt_dicom_series ds = {.struct_size = sizeof ds};
    assert_ok(vxt_dicom_scan_get(s, 1, &ds));
    assert_true(ds.enhanced);
    assert_int_equal(ds.files, 1);
    vxt_dicom_scan_destroy(s);
    vxt_image *a = read_case(c, VXT_SCALING_RAW, 0, NULL);
    /* the one file, from memory */
    char file[1400] = "";
    {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "find '%s' -type f", dir);
        FILE *p = popen(cmd, "r");
        char name[1300];
        assert_non_null(fgets(name, sizeof name, p));
        pclose(p);
        name[strcspn(name, "\n")] = '\0';
        snprintf(file, sizeof file, "%s", name);
    }
    size_t n;
    void *bytes = vxt_test_read_file(file, &n);
    vxt_image *b = NULL;
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    assert_ok(vxt_dicom_read_memory(bytes, n, &o, &b));
    const char *one[1] = {file};
    vxt_image *f = NULL;
    assert_ok(vxt_dicom_read_files(one, 1, &o, &f));
    vxt_volume va, vb, vf;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_ok(vxt_image_volume(f, &vf));
    const size_t bytes_n = (size_t)(va.shape[0] * va.shape[1] * va.shape[2]) * vxt_dtype_size(va.dtype);
    assert_memory_equal(va.data, vb.data, bytes_n);
    assert_memory_equal(va.data, vf.data, bytes_n);
    /* truncated in memory: refused */
    vxt_image *t = (vxt_image *)(uintptr_t)1;
    assert_int_not_equal(vxt_dicom_read_memory(bytes, n / 2, &o, &t), VXT_OK);
    assert_null(t);
    free(bytes);
    o.flags = VXT_READ_HEADER_ONLY;
    vxt_image *h = NULL;
    assert_ok(vxt_image_read_path(dir, &o, &h));
    vxt_image_info hi = {.struct_size = sizeof hi}, ai = {.struct_size = sizeof ai};
    assert_ok(vxt_image_get_info(h, &hi));
    assert_ok(vxt_image_get_info(a, &ai));
    assert_false(hi.has_data);
    assert_memory_equal(hi.affine, ai.affine, sizeof hi.affine);
    vxt_image_destroy(h);
    vxt_image_destroy(a);
    vxt_image_destroy(b);
    vxt_image_destroy(f);
    cJSON_Delete(m);
}

/* dcm2niix on the same series: the same voxels and, in RAS, the same affine within 1e-3 mm. */
static void compare_with_dcm2niix(const cJSON *m, const char *name, unsigned flags, const char *suffix,
                                  int interpolated)
{
    const char *tool = getenv("VXT_DCM2NIIX");
    if (!tool || !tool[0])
        fail_msg("VXT_DCM2NIIX is not set (CMake finds dcm2niix; tools/install-deps.sh installs it)");
    const cJSON *c = find_case(m, name);
    char dir[1024], out[] = "/tmp/vxt-dcm2niix-XXXXXX", cmd[4096];
    path_of(c, "path", dir, sizeof dir);
    assert_non_null(mkdtemp(out));
    snprintf(cmd, sizeof cmd, "'%s' -z n -b n -f x -l o -o '%s' '%s' > '%s/log.txt' 2>&1", tool, out, dir, out);
    if (system(cmd) != 0)
        fail_msg("%s failed (log in %s/log.txt)", cmd, out);
    char nii[1200];
    snprintf(nii, sizeof nii, "%s/x%s.nii", out, suffix);
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *theirs = NULL, *ours = read_case(c, VXT_SCALING_RAW, flags, NULL);
    assert_ok(vxt_image_read_path(nii, &o, &theirs));
    vxt_image *a = NULL, *b = NULL;
    assert_ok(vxt_image_reorient(ours, "RAS", &a));
    assert_ok(vxt_image_reorient(theirs, "RAS", &b));
    vxt_image_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
    assert_ok(vxt_image_get_info(a, &ia));
    assert_ok(vxt_image_get_info(b, &ib));
    for (int k = 0; k < 3; k++)
        assert_int_equal(ia.shape[k], ib.shape[k]);
    assert_affine_near(&ia.affine[0][0], &ib.affine[0][0], 1e-3, name);
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_int_equal(vxt_dtype_size(va.dtype), vxt_dtype_size(vb.dtype));
    const size_t nv = (size_t)(va.shape[0] * va.shape[1] * va.shape[2]);
    size_t diff = 0, far = 0;
    for (size_t i = 0; i < nv; i++) { /* stored values: dcm2niix may call uint16 int16 (same bits) */
        int64_t x = va.dtype == VXT_DTYPE_U16 ? ((const uint16_t *)va.data)[i] : ((const int16_t *)va.data)[i];
        int64_t y = va.dtype == VXT_DTYPE_U16 ? ((const uint16_t *)vb.data)[i] : ((const int16_t *)vb.data)[i];
        diff += x != y;
        far += x - y > 1 || y - x > 1;
    }
    /* interpolated (tilt): each side rounds a float32 blend of two rows whose weights come from its own estimate of
     * the angle; a weight a few ulps apart moves a value that sits at .5 by one, rarely */
    if (interpolated ? far != 0 || diff > nv / 1000 : diff != 0)
        fail_msg("%s: %zu of %zu voxels differ from dcm2niix's (%zu by more than 1)", name, diff, nv, far);
    vxt_image_destroy(a);
    vxt_image_destroy(b);
    vxt_image_destroy(ours);
    vxt_image_destroy(theirs);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    assert_int_equal(system(cmd), 0);
}

static void test_same_as_dcm2niix(void **state)
{
    (void)state;
    cJSON *m = manifest();
    /* ct_u12 is left out: dcm2niix masks 12-bit data into int16 its own way (docs/DICOM.md) */
    static const char *names[] = {"ct_axial", "mr_oblique", "enhanced_ct", "enhanced_mr", "ts_implicit_le",
                                  "ts_explicit_be", "ts_jpeg_lossless", "ts_j2k_lossless", "ts_rle"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        compare_with_dcm2niix(m, names[i], 0, "", 0);
    compare_with_dcm2niix(m, "ct_tilt", VXT_DICOM_CORRECT_TILT, "_Tilt_1", 1);
    cJSON_Delete(m);
}

/* pydicom's own files (Debian's python3-pydicom): a real CT slice reads with its geometry; one MR slice in seven
 * transfer syntaxes (explicit and implicit little endian, big endian, RLE, JPEG 2000 and JPEG-LS lossless, deflate)
 * gives the same voxels each time. */
static void test_pydicom_files(void **state)
{
    (void)state;
    const char *dir = getenv("VXT_PYDICOM_FILES");
    if (!dir || !dir[0])
        fail_msg("VXT_PYDICOM_FILES is not set (CMake finds pydicom's test files; install python3-pydicom)");
    char p[1200];
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    snprintf(p, sizeof p, "%s/CT_small.dcm", dir);
    vxt_image *ct = NULL;
    assert_ok(vxt_image_read_path(p, &o, &ct));
    vxt_image_info ci = {.struct_size = sizeof ci};
    assert_ok(vxt_image_get_info(ct, &ci));
    assert_int_equal(ci.shape[0], 1);
    assert_int_equal(ci.shape[1], 128);
    assert_int_equal(ci.shape[2], 128);
    assert_true(fabs(ci.spacing[1] - 0.661468) < 1e-6 && fabs(ci.spacing[2] - 0.661468) < 1e-6);
    assert_true(ci.scl_inter == -1024.0 && ci.scl_slope == 1.0);
    vxt_image_destroy(ct);
    static const char *mr[] = {"MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
                               "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_expb.dcm"};
    snprintf(p, sizeof p, "%s/MR_small.dcm", dir);
    vxt_image *ref = NULL;
    assert_ok(vxt_image_read_path(p, &o, &ref));
    vxt_volume rv;
    assert_ok(vxt_image_volume(ref, &rv));
    vxt_image_info ri = {.struct_size = sizeof ri};
    assert_ok(vxt_image_get_info(ref, &ri));
    for (size_t i = 0; i < sizeof mr / sizeof mr[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, mr[i]);
        vxt_image *img = NULL;
        assert_ok(vxt_image_read_path(p, &o, &img));
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        vxt_image_info in = {.struct_size = sizeof in};
        assert_ok(vxt_image_get_info(img, &in));
        assert_int_equal(v.dtype, rv.dtype);
        assert_memory_equal(v.shape, rv.shape, sizeof v.shape);
        if (memcmp(v.data, rv.data, (size_t)(v.shape[1] * v.shape[2]) * vxt_dtype_size(v.dtype)) != 0)
            fail_msg("%s: voxels differ from MR_small.dcm's", mr[i]);
        assert_affine_near(&in.affine[0][0], &ri.affine[0][0], 1e-6, mr[i]);
        vxt_image_destroy(img);
    }
    vxt_image_destroy(ref);
    /* every file of the folder (RT doses and plans, color, truncated, odd encodings): read or refused with one
     * printable line, and the process survives (GDCM asserted on two RT dose files before dicom_check.c refused
     * them) */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".dcm") != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        vxt_image *img = NULL;
        if (vxt_image_read_path(p, NULL, &img) == VXT_OK)
            vxt_image_destroy(img);
        else
            for (const char *c = vxt_last_error(); *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                    fail_msg("%s: the message holds byte 0x%02x", e->d_name, (unsigned char)*c);
        n++;
    }
    closedir(d);
    assert_true(n > 50);
}

/* Inputs the fuzzer found (tests/fuzz/regressions-dicom): each is read as the fuzz target reads it, and fails
 * cleanly (and, in the sanitizer build, without a leak: no suppression). oom-001 declares an element of 441 MB in a
 * file of a few KiB: refused before GDCM allocates it; oom-002 has a meta element of an unknown VR ("UJ"), which
 * GDCM reads in the long form: 775 MB declared; crash-001 quotes a value holding bytes that are not printable (the
 * message must stay one printable line); crash-002 gives BitsStored the VR SS, on which an assert of Debian's GDCM
 * aborted the process: refused before GDCM reads it (dicom_check.c); crash-003 ends inside a value GDCM's
 * ReadSelectedTags skipped, and its assert on the stream aborted: the pixel data is found by voxtile's own walk;
 * crash-004 has a meta element whose VR bytes are FF FF, which GDCM rereads as implicit and asserts on: refused;
 * crash-005 has a byte above 0x7f in PhotometricInterpretation, quoted in the message (shown as '?'); crash-006's
 * meta group length disagrees with its elements, and GDCM's fallback reading of the meta group asserts; oom-003 ends
 * its pixel data with a sequence delimiter of length 538 MB, which GDCM allocates as a fragment. The rest broke
 * GDCM's codecs, which voxtile no longer uses (dicom_codec.h): leak-001 (a corrupt JPEG-LS slice: GDCM leaked its
 * stream; CharLS refuses it), leak-002 (a corrupt JPEG stream on which GDCM ran the pvrg-jpeg program), leak-003 (a
 * JPEG 2000 slice with a corrupt SIZ marker: GDCM leaked the OpenJPEG decoder; refused at the scan), leak-004 (a
 * corrupt JPEG lossless slice: GDCM leaked the IJG decoder), crash-007 (a JPEG 2000 codestream larger than its
 * header's image, which GDCM's codec wrote past the end of its buffer) and crash-008 (a JPEG lossless header on
 * which GDCM's IJG warned and its codec reached assert(0), aborting the process). crash-009 is 10 bytes: a meta
 * group in implicit VR without a preamble, which GDCM reads through its compatibility path to an assert: refused
 * (the meta group must be explicit VR). crash-010 ends right after its meta group, and GDCM asserts reading on: refused
 * (a dataset must follow). crash-011 holds an item of undefined length, without its delimiter, inside a sequence of
 * defined length, on which GDCM's item reader asserts: refused. slow-001 is a corrupt JPEG-LS frame without an end-of-image marker, on which
 * CharLS spent 6 s reading past the end: the decoder gives such a stream its marker, and the read must take under
 * 2 s here (sanitizers included; 0.03 s in a plain build). */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    static const char *names[] = {"oom-001", "leak-001", "oom-002", "crash-001", "leak-002", "crash-002",
                                  "leak-003", "crash-003", "crash-004", "crash-005", "crash-006", "oom-003",
                                  "leak-004", "crash-007", "crash-008", "crash-009", "crash-010", "crash-011", "slow-001"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/../fuzz/regressions-dicom/%s", vxt_test_data_dir(), names[i]);
        size_t n;
        void *bytes = vxt_test_read_file(p, &n);
        vxt_read_options o;
        vxt_read_options_init(&o);
        o.max_bytes = (uint64_t)64 << 20;
        vxt_image *img = (vxt_image *)(uintptr_t)1;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        vxt_status st = vxt_dicom_read_memory(bytes, n, &o, &img);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (!strncmp(names[i], "slow-", 5) && secs > 2.0)
            fail_msg("%s: read in %.2f s", names[i], secs);
        if (st == VXT_OK) {
            vxt_image_destroy(img);
        } else {
            assert_null(img);
            for (const char *c = vxt_last_error(); *c; c++) /* one printable line */
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                    fail_msg("%s: the message holds byte 0x%02x", names[i], (unsigned char)*c);
        }
        free(bytes);
    }
}

/* Every codec pair of the manifest: the compressed file and its uncompressed twin (the source pixels where the
 * compression is lossless, else GDCM's decoding, python3-gdcm) read to the same voxels, dtype, scaling and affine.
 * They cover voxtile's JPEG lossless decoder on an independent encoder's streams (every predictor, 8/12/16 bits,
 * signed, point transform, restart markers), libjpeg-turbo (8-bit lossy), GDCM's IJG (12-bit lossy), CharLS,
 * OpenJPEG and the RLE decoder, multi-frame files in one and two fragments per frame with and without an offset
 * table, pydicom's compressed grayscale test files, and (with $VXT_PYDICOM_DATA) real scans of pydicom-data: a
 * 512 x 512 CT and a 1024 x 1024 MR in lossless JPEG 2000 against their uncompressed files, a scanner's JPEG
 * lossless CT, and more, against GDCM's decoding. */
static void test_codec_pairs(void **state)
{
    (void)state;
    cJSON *m = manifest();
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "pairs"))
    {
        char path[1024], twin[1024];
        path_of(c, "path", path, sizeof path);
        const char *name = str_of(c, "name");
        vxt_image *a = NULL, *b = NULL;
        if (str_of(c, "expect_error")) { /* a stream voxtile refuses, with this in its message */
            assert_int_equal(vxt_image_read_path(path, NULL, &a), VXT_ERR_FORMAT);
            assert_null(a);
            if (!strstr(vxt_last_error(), str_of(c, "expect_error")))
                fail_msg("%s: message '%s' lacks '%s'", name, vxt_last_error(), str_of(c, "expect_error"));
            continue;
        }
        path_of(c, "twin", twin, sizeof twin);
        if (vxt_image_read_path(path, NULL, &a) != VXT_OK)
            fail_msg("%s (%s): %s", name, str_of(c, "what"), vxt_last_error());
        assert_ok(vxt_image_read_path(twin, NULL, &b));
        vxt_image_info ai = {.struct_size = sizeof ai}, bi = {.struct_size = sizeof bi};
        assert_ok(vxt_image_get_info(a, &ai));
        assert_ok(vxt_image_get_info(b, &bi));
        assert_int_equal(ai.dtype, bi.dtype);
        assert_int_equal(ai.stored_dtype, bi.stored_dtype);
        for (int k = 0; k < 3; k++)
            assert_int_equal(ai.shape[k], bi.shape[k]);
        assert_memory_equal(ai.affine, bi.affine, sizeof ai.affine);
        assert_true(ai.scl_slope == bi.scl_slope && ai.scl_inter == bi.scl_inter);
        vxt_volume va, vb;
        assert_ok(vxt_image_volume(a, &va));
        assert_ok(vxt_image_volume(b, &vb));
        const size_t bytes = (size_t)(va.shape[0] * va.shape[1] * va.shape[2]) * vxt_dtype_size(va.dtype);
        if (memcmp(va.data, vb.data, bytes) != 0)
            fail_msg("%s (%s): voxels differ from its twin's", name, str_of(c, "what"));
        vxt_image_destroy(a);
        vxt_image_destroy(b);
        n++;
    }
    assert_true(n >= 20); /* the generator's cases are all there */
    /* pydicom-data's real scans, where CMake found them (tools/install-deps.sh fetches them; CI has them) */
    const char *pdd = getenv("VXT_PYDICOM_DATA");
    if (pdd && pdd[0] && !cJSON_IsTrue(cJSON_GetObjectItem(m, "pydicom_data")))
        fail_msg("VXT_PYDICOM_DATA is %s, but the test data holds no pairs of it", pdd);
    cJSON_Delete(m);
}

/* Inputs fuzz_dicom_decode found (tests/fuzz/regressions-dicom-decode), run as the target runs them
 * (fuzz_dicom_decode.h: a failure has a one-line message, a success writes every sample). oom-001: a JPEG 2000
 * codestream of 100 bytes declaring an image 4 million pixels wide in 64 x 64 tiles, for which OpenJPEG allocated
 * 355 MB of tile structures while reading its header: refused by the SIZ check first (dicom_j2k.c: the image is not
 * the header's, and tiles are at most one per 1024 samples). */
static void test_decode_regressions(void **state)
{
    (void)state;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/../fuzz/regressions-dicom-decode", vxt_test_data_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
            continue;
        char p[1500];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        size_t size;
        void *bytes = vxt_test_read_file(p, &size);
        char err[256];
        if (vxt_fuzz_decode_once(bytes, size, err, sizeof err) != 0 && strncmp(de->d_name, "oom-001", 7) == 0)
            assert_non_null(strstr(err, "the header (Rows x Columns) says"));
        free(bytes);
        n++;
    }
    closedir(d);
    assert_true(n >= 1);
}

/* Declared lengths are checked before GDCM allocates them: a 4 GiB value in a small file, a sequence item longer
 * than its sequence, pixel data fragments past the end. */
static void test_declared_lengths(void **state)
{
    (void)state;
    unsigned char f[200];
    memset(f, 0, sizeof f);
    memcpy(f + 128, "DICM", 4);
    /* (0002,0010) UI "1.2.840.10008.1.2.1" (explicit little endian), then (0010,0010) PN of 0xFFFFFFF0 bytes as an
     * UN element (a long VR) */
    unsigned char *q = f + 132;
    const char ts[] = "1.2.840.10008.1.2.1";
    q[0] = 0x02, q[4] = 'U', q[5] = 'L', q[6] = 4, q[8] = 28; /* (0002,0000) UL: the 28 bytes that follow */
    q += 12;
    q[0] = 0x02, q[2] = 0x10, q[4] = 'U', q[5] = 'I', q[6] = 20;
    memcpy(q + 8, ts, 19);
    q += 28;
    q[0] = 0x10, q[2] = 0x10, q[4] = 'U', q[5] = 'N';
    q[8] = 0xf0, q[9] = 0xff, q[10] = 0xff, q[11] = 0xff;
    q += 12;
    char err[256];
    assert_int_equal(vxt__dcm_check_lengths(f, (size_t)(q - f) + 16, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "(0010,0010)"));
    assert_non_null(strstr(err, "longer than its container"));
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_dicom_read_memory(f, (size_t)(q - f) + 16, NULL, &img), VXT_ERR_FORMAT, "(0010,0010)");
    assert_null(img);
    /* the same element with a length that fits: the walk passes */
    q[-4] = 4, q[-3] = 0, q[-2] = 0, q[-1] = 0;
    assert_int_equal(vxt__dcm_check_lengths(f, (size_t)(q - f) + 4, NULL, err, sizeof err), 0);
    /* a sequence of undefined length whose item claims more than the file holds */
    unsigned char g[220];
    memcpy(g, f, 172); /* preamble, magic and the meta group */
    unsigned char *r = g + 172;
    r[0] = 0x08, r[1] = 0x00, r[2] = 0x15, r[3] = 0x11, r[4] = 'S', r[5] = 'Q', r[6] = 0, r[7] = 0;
    r[8] = r[9] = r[10] = r[11] = 0xff; /* undefined length */
    r[12] = 0xfe, r[13] = 0xff, r[14] = 0x00, r[15] = 0xe0; /* item */
    r[16] = 0x00, r[17] = 0x00, r[18] = 0x10, r[19] = 0x00; /* 1 MiB */
    assert_int_equal(vxt__dcm_check_lengths(g, 192, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "(FFFE,E000)"));
    /* a meta group whose length (0002,0000) disagrees with its elements */
    f[132 + 8] = 30;
    assert_int_equal(vxt__dcm_check_lengths(f, 200, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "(0002,0000)"));
    /* bytes that do not start like DICOM */
    assert_int_equal(vxt__dcm_sniff((const unsigned char *)"hello, world", 12), 0);
    assert_int_equal(vxt__dcm_sniff(f, sizeof f), 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_series_read_as_written),
        cmocka_unit_test(test_transfer_syntaxes),
        cmocka_unit_test(test_codec_pairs),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_irregular_series),
        cmocka_unit_test(test_choosing_a_series),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_other_ways_in),
        cmocka_unit_test(test_same_as_dcm2niix),
        cmocka_unit_test(test_pydicom_files),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_decode_regressions),
        cmocka_unit_test(test_declared_lengths),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
