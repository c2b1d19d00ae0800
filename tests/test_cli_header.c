/* test_cli_header.c - `voxtile header`: for every format (.nii, .nii.gz, .hdr/.img, .npy) the format-neutral lines
 * (file, format, shape (z, y, x), stored dtype, spacing, scaling, description, affine, orientation), for NIfTI the
 * header's own fields, each compared with what the library reads from the same file; --stats against sums
 * computed here exactly (integers, and floats on a 1/1024 grid so that their sum is exact too), NaN and
 * infinities counted apart; the JSON of a .npy file has no NIfTI keys; broken, truncated and missing files exit 4
 * with one line; usage errors exit 2; --histogram against numpy.histogram's rule counted here (default and given
 * ranges and bins, scaled, 4D and uint32 files, NaN and infinities, one value), and its bad values. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

#define CH2 VXT_TEST_DATA_DIR "/mricron_ch2.nii.gz"
#define NDATA VXT_TEST_DATA_DIR "/nifti"

/* The NIfTI-only keys of the JSON. */
static const char *const nifti_keys[] = {"nifti_version", "byte_order", "single_file", "dim", "datatype",
                                         "datatype_name", "bitpix", "vox_offset", "pixdim", "xyzt_units",
                                         "intent_code", "qform_code", "quatern", "qform", "sform_code", "sform",
                                         "extensions", "slice_code", "aux_file"};
/* The lines every format has, in their order, and the NIfTI lines (between "description" and the affine). */
static const char *const common_lines[] = {"file", "format", "shape", "stored dtype", "spacing", "scaling",
                                           "description"};
static const char *const nifti_lines[] = {"nifti", "dim", "datatype", "vox_offset", "pixdim", "units", "display",
                                          "intent", "slices", "toffset", "aux_file", "qform_code", "quaternion",
                                          "qform", "sform_code", "sform", "extensions"};

/* The text after `label` (and its padding) on the line of cli_out that starts with it, or NULL; *at is where the
 * line starts (to check the order of the lines). */
static const char *line(const char *label, const char **at)
{
    static char value[1024];
    size_t n = strlen(label);
    for (const char *p = cli_out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, label, n) != 0 || (p[n] != ' ' && p[n] != '\n'))
            continue;
        const char *v = p + n;
        while (*v == ' ')
            v++;
        size_t len = strcspn(v, "\n");
        snprintf(value, sizeof value, "%.*s", (int)len, v);
        if (at)
            *at = p;
        return value;
    }
    return NULL;
}

static const char *need_line(const char *label)
{
    const char *v = line(label, NULL);
    if (!v)
        fail_msg("no '%s' line in:\n%s", label, cli_out);
    return v;
}

/* The labels appear in this order (each once at the start of a line). */
static void assert_line_order(const char *const *labels, size_t n, const char **after)
{
    for (size_t i = 0; i < n; i++) {
        const char *at = NULL;
        if (!line(labels[i], &at))
            fail_msg("no '%s' line in:\n%s", labels[i], cli_out);
        if (*after && at <= *after)
            fail_msg("'%s' is out of order in:\n%s", labels[i], cli_out);
        *after = at;
    }
}

/* The image as the library reads it (header only). */
static vxt_image *header_of(const char *path)
{
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.flags = VXT_READ_HEADER_ONLY;
    vxt_image *img = NULL;
    assert_ok(vxt_image_read_path(path, &ro, &img));
    return img;
}

/* cJSON prints a double with 17 significant digits only when 15 do not come back within DBL_EPSILON (a relative
 * test), so a printed number may be one unit in the last place from the value: allowed here, nothing more. */
static int same_printed(double got, double want)
{
    double m = fabs(got) > fabs(want) ? fabs(got) : fabs(want);
    return got == want || fabs(got - want) <= 2 * DBL_EPSILON * m;
}

static void assert_numbers(const cJSON *a, const double *want, int n, const char *key)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        fail_msg("'%s' is not an array of %d numbers", key, n);
    for (int i = 0; i < n; i++)
        if (!cJSON_IsNumber(cJSON_GetArrayItem(a, i)) || !same_printed(cJSON_GetArrayItem(a, i)->valuedouble, want[i]))
            fail_msg("%s[%d] is %.17g, the library reads %.17g", key, i, cJSON_GetArrayItem(a, i)->valuedouble,
                     want[i]);
}

/* The format-neutral JSON keys against the library's view of the file. */
static void assert_common_json(const cJSON *j, const char *path)
{
    vxt_image *img = header_of(path);
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_image_get_info(img, &info));
    assert_ok(vxt_image_get_geometry(img, &g));
    assert_string_equal(cli_json_string(j, "file"), path);
    assert_string_equal(cli_json_string(j, "format"), vxt_format_name(info.format));
    assert_int_equal(cJSON_IsTrue(cli_json(j, "compressed")), info.compressed != 0);
    const double shape[3] = {(double)info.shape[0], (double)info.shape[1], (double)info.shape[2]};
    assert_numbers(cli_json(j, "shape"), shape, 3, "shape");
    assert_numbers(cli_json(j, "spacing"), info.spacing, 3, "spacing");
    assert_true(cli_json_number(j, "channels") == (double)info.channels);
    assert_true(cli_json_number(j, "volumes") == (double)info.volumes);
    assert_string_equal(cli_json_string(j, "stored_dtype"), vxt_dtype_name(info.stored_dtype));
    assert_string_equal(cli_json_string(j, "description"), info.description);
    assert_string_equal(cli_json_string(j, "orientation"), g.orientation);
    assert_string_equal(cli_json_string(j, "affine_source"), vxt_affine_source_name(g.affine_source));
    for (int r = 0; r < 4; r++)
        assert_numbers(cJSON_GetArrayItem(cli_json(j, "affine"), r), g.affine[r], 4, "affine");
    vxt_image_destroy(img);
}

static void test_ch2_text(void **state)
{
    (void)state;
    assert_int_equal(cli("header " CH2), 0);
    assert_string_equal(cli_err, "");
    const char *after = NULL;
    assert_line_order(common_lines, sizeof common_lines / sizeof common_lines[0], &after);
    assert_line_order(nifti_lines, sizeof nifti_lines / sizeof nifti_lines[0], &after);
    static const char *const last[] = {"affine (sform)", "orientation"};
    assert_line_order(last, 2, &after);
    assert_string_equal(need_line("file"), CH2);
    assert_string_equal(need_line("format"), "nifti, gzip-compressed");
    assert_string_equal(need_line("shape"), "181 x 217 x 181 (z, y, x), 1 channel of 1 volume");
    assert_string_equal(need_line("stored dtype"), "uint8");
    assert_non_null(strstr(need_line("spacing"), "1 x 1 x 1 mm (z, y, x"));
    assert_string_equal(need_line("description"), "\"spm - algebra\"");
    assert_string_equal(need_line("nifti"), "NIfTI-1, single file, little-endian");
    assert_string_equal(need_line("dim"), "3 181 217 181 1 1 1 1");
    assert_string_equal(need_line("datatype"), "uint8 (2), bitpix 8");
    assert_string_equal(need_line("vox_offset"), "352");
    assert_string_equal(need_line("qform_code"), "0 (unknown): not used");
    assert_string_equal(need_line("sform_code"), "4 (mni)");
    assert_string_equal(need_line("extensions"), "0");
    assert_string_equal(need_line("orientation"), "RAS");
    /* the affine in use: the sform, four rows */
    const char *aff = strstr(cli_out, "affine (sform)");
    double m[4][4];
    assert_int_equal(sscanf(aff, "affine (sform) %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf",
                            &m[0][0], &m[0][1], &m[0][2], &m[0][3], &m[1][0], &m[1][1], &m[1][2], &m[1][3],
                            &m[2][0], &m[2][1], &m[2][2], &m[2][3], &m[3][0], &m[3][1], &m[3][2], &m[3][3]),
                     16);
    static const double want[4][4] = {{1, 0, 0, -90}, {0, 1, 0, -125}, {0, 0, 1, -71}, {0, 0, 0, 1}};
    assert_memory_equal(m, want, sizeof m);
    /* no statistics without --stats */
    assert_null(line("count", NULL));
    assert_null(line("sum", NULL));
}

static void test_ch2_json(void **state)
{
    (void)state;
    assert_int_equal(cli("header --json " CH2), 0);
    cJSON *j = cli_out_json();
    assert_common_json(j, CH2);
    assert_string_equal(cli_json_string(j, "format"), "nifti");
    assert_true(cJSON_IsTrue(cli_json(j, "compressed")));
    static const double shape[3] = {181, 217, 181}, dim[8] = {3, 181, 217, 181, 1, 1, 1, 1};
    assert_numbers(cli_json(j, "shape"), shape, 3, "shape");
    assert_numbers(cli_json(j, "dim"), dim, 8, "dim");
    assert_string_equal(cli_json_string(j, "description"), "spm - algebra");
    /* the NIfTI fields against the library's */
    vxt_image *img = header_of(CH2);
    vxt_nifti_info ni = cli_nifti_info(img);
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_image_get_geometry(img, &g));
    assert_true(cli_json_number(j, "nifti_version") == ni.nifti_version);
    assert_true(cli_json_number(j, "datatype") == ni.datatype);
    assert_true(cli_json_number(j, "bitpix") == ni.bitpix);
    assert_true(cli_json_number(j, "vox_offset") == (double)ni.vox_offset);
    assert_true(cli_json_number(j, "qform_code") == g.qform_code);
    assert_true(cli_json_number(j, "sform_code") == 4 && g.sform_code == 4);
    assert_string_equal(cli_json_string(j, "sform_name"), "mni");
    assert_string_equal(cli_json_string(j, "byte_order"), "little-endian");
    assert_true(cJSON_IsTrue(cli_json(j, "single_file")));
    for (int r = 0; r < 4; r++) {
        assert_numbers(cJSON_GetArrayItem(cli_json(j, "sform"), r), g.sform[r], 4, "sform");
        assert_numbers(cJSON_GetArrayItem(cli_json(j, "qform"), r), g.qform[r], 4, "qform");
    }
    assert_numbers(cli_json(j, "pixdim"), g.pixdim, 8, "pixdim");
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "extensions")), 0);
    assert_null(cJSON_GetObjectItem(j, "stats"));
    vxt_image_destroy(img);
    cJSON_Delete(j);
    /* extensions: each one's code and size as the library holds them; a .hdr/.img pair */
    assert_int_equal(cli("header --json " NDATA "/ext_float64.nii"), 0);
    j = cli_out_json();
    img = header_of(NDATA "/ext_float64.nii");
    const cJSON *ext = cli_json(j, "extensions");
    assert_int_equal(cJSON_GetArraySize(ext), (int)vxt_nifti_extension_count(img));
    assert_true(cJSON_GetArraySize(ext) == 2);
    for (int i = 0; i < 2; i++) {
        int code = 0;
        size_t size = 0;
        assert_ok(vxt_nifti_get_extension(img, (size_t)i, &code, NULL, &size));
        assert_true(cli_json_number(cJSON_GetArrayItem(ext, i), "ecode") == code);
        assert_true(cli_json_number(cJSON_GetArrayItem(ext, i), "esize") == (double)(size + 8));
    }
    vxt_image_destroy(img);
    cJSON_Delete(j);
    assert_int_equal(cli("header --json " NDATA "/pair_int8.hdr"), 0);
    j = cli_out_json();
    assert_common_json(j, NDATA "/pair_int8.hdr");
    assert_false(cJSON_IsTrue(cli_json(j, "single_file")));
    assert_string_equal(cli_json_string(j, "stored_dtype"), "int8");
    cJSON_Delete(j);
}

/* ---- --stats ------------------------------------------------------------------------------------------- */

static void test_stats_exact(void **state)
{
    (void)state;
    /* ch2: uint8, summed here in 64-bit integers */
    vxt_image *img = cli_read_image(CH2);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_U8);
    const size_t n = (size_t)(v.shape[0] * v.shape[1] * v.shape[2]);
    const uint8_t *p = v.data;
    uint64_t sum = 0;
    int lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        sum += p[i];
        lo = p[i] < lo ? p[i] : lo;
        hi = p[i] > hi ? p[i] : hi;
    }
    long double mean = (long double)sum / (long double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += ((long double)p[i] - mean) * ((long double)p[i] - mean);
    double sd = (double)sqrtl(ss / (long double)n);
    vxt_image_destroy(img);
    assert_int_equal(n, 7109137);
    assert_int_equal(sum, 317151210);
    assert_int_equal(cli("header --stats " CH2), 0);
    assert_string_equal(need_line("count"), "7109137");
    assert_string_equal(need_line("sum"), "317151210");
    assert_string_equal(need_line("values"), "uint8");
    assert_true(fabs(strtod(need_line("mean"), NULL) - 44.61177355282364) < 1e-13);
    assert_int_equal(cli("header --stats --json " CH2), 0);
    cJSON *j = cli_out_json();
    assert_common_json(j, CH2);
    const cJSON *s = cli_json(j, "stats");
    assert_true(cli_json_number(s, "count") == (double)n);
    assert_true(cli_json_number(s, "nonfinite") == 0);
    assert_true(cli_json_number(s, "min") == lo && cli_json_number(s, "max") == hi);
    assert_string_equal(cli_json_string(s, "sum_exact"), "317151210");
    assert_true(fabs(cli_json_number(s, "mean") - (double)mean) <= 1e-15 * (double)mean);
    assert_true(fabs(cli_json_number(s, "std") - sd) <= 1e-12 * sd);
    assert_false(cJSON_IsTrue(cli_json(s, "scaled")));
    cJSON_Delete(j);
    /* scaled int16 (slope 0.7, inter -1024): the float32 values the file means (nibabel: -194013.400146484375) */
    img = NULL;
    assert_ok(vxt_image_read_path(NDATA "/le_int16_scaled.nii", NULL, &img)); /* AUTO: scaled to float32 */
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    const size_t m = (size_t)(v.shape[0] * v.shape[1] * v.shape[2]);
    long double fsum = 0; /* 210 float32 values of magnitude < 2^11: exact in a 64-bit mantissa */
    float fmin = INFINITY, fmax = -INFINITY;
    for (size_t i = 0; i < m; i++) {
        float x = ((const float *)v.data)[i];
        fsum += x;
        fmin = x < fmin ? x : fmin;
        fmax = x > fmax ? x : fmax;
    }
    vxt_image_destroy(img);
    assert_int_equal(cli("header --stats --json " NDATA "/le_int16_scaled.nii"), 0);
    j = cli_out_json();
    s = cli_json(j, "stats");
    assert_true(cJSON_IsTrue(cli_json(s, "scaled")));
    assert_string_equal(cli_json_string(s, "dtype"), "float32");
    assert_string_equal(cli_json_string(s, "sum_exact"), "-194013.400146484375");
    if (sizeof(long double) > sizeof(double)) /* the sum computed here is exact only with a wider mantissa */
        assert_true(fsum == -194013.400146484375L);
    assert_true(cli_json_number(s, "count") == (double)m);
    assert_true(cli_json_number(s, "min") == fmin && cli_json_number(s, "max") == fmax);
    cJSON_Delete(j);
    assert_int_equal(cli("header --stats " NDATA "/le_int16_scaled.nii"), 0);
    assert_string_equal(need_line("values"), "float32 (scaling applied)");
    assert_string_equal(need_line("sum"), "-194013.400146484375");
    assert_string_equal(need_line("scaling"), "slope 0.699999988, inter -1024 (applied)");
}

/* The exact decimal of k / 1024. */
static void k1024_text(int64_t k, char *buf, size_t n)
{
    uint64_t a = (uint64_t)(k < 0 ? -k : k), whole = a / 1024, frac = (a % 1024) * 9765625; /* 10^10 / 2^10 */
    char f[16];
    snprintf(f, sizeof f, "%010llu", (unsigned long long)frac);
    for (size_t i = strlen(f); i > 0 && f[i - 1] == '0'; i--)
        f[i - 1] = '\0';
    snprintf(buf, n, "%s%llu%s%s", k < 0 ? "-" : "", (unsigned long long)whole, f[0] ? "." : "", f);
}

static void test_npy(void **state)
{
    (void)state;
    /* (2, 5, 6, 7) float32: two channels of random values on a 1/1024 grid, one NaN and one infinity */
    static const int64_t shape4[4] = {2, 5, 6, 7};
    const size_t n = 2 * 5 * 6 * 7;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    vxt_rng rng = {77};
    int64_t ksum = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)(vxt_rng_u32(&rng) % 2000001) - 1000000; /* |k / 1024| < 977 */
        if (i == 17)
            k |= 1; /* an odd numerator: the sum has a fraction */
        x[i] = (float)k / 1024.0f;
        if (i == 40 || i == 311) {
            x[i] = i == 40 ? NAN : INFINITY;
            continue;
        }
        ksum += k;
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_ok(vxt_npy_write(cli_path("f.npy"), VXT_DTYPE_F32, 4, shape4, x));
    char want_sum[64];
    k1024_text(ksum, want_sum, sizeof want_sum);
    assert_int_equal(cli("header --json --stats %s", cli_path("f.npy")), 0);
    cJSON *j = cli_out_json();
    assert_common_json(j, cli_path("f.npy"));
    assert_string_equal(cli_json_string(j, "format"), "npy");
    static const double shape[3] = {5, 6, 7}, ones[3] = {1, 1, 1};
    assert_numbers(cli_json(j, "shape"), shape, 3, "shape");
    assert_numbers(cli_json(j, "spacing"), ones, 3, "spacing");
    assert_true(cli_json_number(j, "channels") == 2 && cli_json_number(j, "volumes") == 2);
    assert_string_equal(cli_json_string(j, "stored_dtype"), "float32");
    for (size_t k = 0; k < sizeof nifti_keys / sizeof nifti_keys[0]; k++)
        if (cJSON_GetObjectItem(j, nifti_keys[k]))
            fail_msg("a .npy file's JSON has the NIfTI key '%s'", nifti_keys[k]);
    const cJSON *s = cli_json(j, "stats");
    assert_string_equal(cli_json_string(s, "sum_exact"), want_sum);
    assert_true(cli_json_number(s, "count") == (double)(n - 2));
    assert_true(cli_json_number(s, "nonfinite") == 2);
    assert_true(cli_json_number(s, "min") == lo && cli_json_number(s, "max") == hi);
    assert_true(fabs(cli_json_number(s, "mean") - (double)ksum / 1024.0 / (double)(n - 2)) < 1e-12);
    cJSON_Delete(j);
    /* text: the format-neutral lines and no NIfTI line */
    assert_int_equal(cli("header --stats %s", cli_path("f.npy")), 0);
    const char *after = NULL;
    assert_line_order(common_lines, sizeof common_lines / sizeof common_lines[0], &after);
    assert_string_equal(need_line("format"), "npy");
    assert_string_equal(need_line("shape"), "5 x 6 x 7 (z, y, x), 2 channels of 2 volumes");
    for (size_t k = 0; k < sizeof nifti_lines / sizeof nifti_lines[0]; k++)
        if (line(nifti_lines[k], NULL))
            fail_msg("a .npy file's header has the NIfTI line '%s':\n%s", nifti_lines[k], cli_out);
    assert_non_null(line("orientation", NULL));
    char counted[64];
    snprintf(counted, sizeof counted, "%zu (+ 2 NaN/Inf left out)", n - 2);
    assert_string_equal(need_line("count"), counted);
    assert_string_equal(need_line("sum"), want_sum);
    free(x);
    /* (4, 3, 9) int16: the integer sum */
    static const int64_t shape3[3] = {4, 3, 9};
    int16_t y[108];
    int64_t isum = 0;
    for (size_t i = 0; i < 108; i++) {
        y[i] = (int16_t)((int32_t)(vxt_rng_u32(&rng) % 65536) - 32768);
        isum += y[i];
    }
    assert_ok(vxt_npy_write(cli_path("i.npy"), VXT_DTYPE_I16, 3, shape3, y));
    assert_int_equal(cli("header --json --stats %s", cli_path("i.npy")), 0);
    j = cli_out_json();
    assert_common_json(j, cli_path("i.npy"));
    char isum_text[32];
    snprintf(isum_text, sizeof isum_text, "%lld", (long long)isum);
    assert_string_equal(cli_json_string(cli_json(j, "stats"), "sum_exact"), isum_text);
    assert_true(cli_json_number(j, "channels") == 1);
    assert_string_equal(cli_json_string(j, "stored_dtype"), "int16");
    assert_null(cJSON_GetObjectItem(j, "dim"));
    cJSON_Delete(j);
}

/* ---- broken files and usage -------------------------------------------------------------------------------- */

static void copy_prefix(const char *from, const char *to_name, size_t bytes)
{
    size_t n = 0;
    char *d = vxt_test_read_file(from, &n);
    assert_true(bytes <= n);
    FILE *f = fopen(cli_path(to_name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, bytes, f), bytes);
    assert_int_equal(fclose(f), 0);
    free(d);
}

static void test_broken_files(void **state)
{
    (void)state;
    static const int64_t shape[3] = {3, 4, 5};
    float vals[60];
    vxt_rng rng = {5};
    for (int i = 0; i < 60; i++)
        vals[i] = vxt_rng_uniform(&rng, -100, 100);
    assert_ok(vxt_npy_write(cli_path("ok.npy"), VXT_DTYPE_F32, 3, shape, vals));
    copy_prefix(CH2, "cut.nii.gz", 200);                              /* the gzip stream ends in the header */
    copy_prefix(NDATA "/le_int16_scaled.nii", "cut_header.nii", 300); /* 300 of the 348 header bytes */
    copy_prefix(NDATA "/le_int16_scaled.nii", "cut_data.nii", 600);   /* 248 of the 420 voxel bytes */
    copy_prefix(cli_path("ok.npy"), "cut_header.npy", 60);
    copy_prefix(cli_path("ok.npy"), "cut_data.npy", 200);
    cli_write_text("text.nii", "this is a text file, not an image, but long enough to be read as a header? no\n");
    /* a NIfTI header whose magic is wrong */
    size_t len = 0;
    char *bytes = vxt_test_read_file(NDATA "/le_int16_scaled.nii", &len);
    memcpy(bytes + 344, "nX1", 4);
    FILE *f = fopen(cli_path("magic.nii"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    static const struct {
        const char *name, *flags, *needle;
    } cases[] = {
        {"cut.nii.gz", "", "cut.nii.gz"},
        {"cut.nii.gz", "--stats --json", "cut.nii.gz"},
        {"cut_header.nii", "", "the header is cut off"},
        {"cut_data.nii", "--stats", "ends early"},
        {"cut_data.nii", "--stats --json", "ends early"},
        {"cut_header.npy", "", "cut_header.npy"},
        {"cut_data.npy", "--stats", "truncated"},
        {"text.nii", "", "not a NIfTI, .npy or DICOM file"},
        {"magic.nii", "--json", "magic.nii"},
        {"missing.nii", "", "missing.nii"},
        {"missing.npy", "--stats", "missing.npy"},
        {"", "", NULL}, /* the directory itself: a folder is read as a DICOM series (needle below) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("header %s '%s'", cases[i].flags, cli_path(cases[i].name));
        if (rc != 4)
            fail_msg("header %s %s: exit %d, expected 4: %s", cases[i].flags, cases[i].name, rc, cli_err);
        /* the folder holds no DICOM image; a build without GDCM says it reads no DICOM at all */
        cli_assert_one_line_error(cases[i].needle       ? cases[i].needle
                                  : vxt_dicom_gdcm_version() ? "holds no DICOM image"
                                                             : "built without GDCM");
        if (cli_out[0])
            fail_msg("header %s %s failed but printed: %s", cases[i].flags, cases[i].name, cli_out);
    }
    assert_int_equal(cli("header /nonexistent/x.nii"), 4);
    cli_assert_one_line_error("/nonexistent/x.nii");
}

/* ---- --histogram ------------------------------------------------------------------------------------------ */

/* numpy.histogram's counts of n values (as float32; float32 edges when f32), done here the slow way: edges
 * i * ((hi - lo) / bins) + lo, the last hi; a value in [edge[i], edge[i + 1]) goes to bin i, hi to the last. */
static void direct_counts(const float *x, size_t n, double lo, double hi, size_t bins, int f32, uint64_t *counts,
                          uint64_t *nan)
{
    double *e = malloc((bins + 1) * sizeof *e);
    for (size_t i = 0; i <= bins; i++) {
        e[i] = i == bins ? hi : (double)i * ((hi - lo) / (double)bins) + lo;
        e[i] = f32 ? (double)(float)e[i] : e[i];
    }
    memset(counts, 0, bins * sizeof *counts);
    *nan = 0;
    for (size_t k = 0; k < n; k++) {
        const double v = x[k];
        if (isnan(v)) {
            ++*nan;
            continue;
        }
        if (v < e[0] || v > e[bins])
            continue;
        size_t b = 0;
        while (b + 1 < bins && v >= e[b + 1])
            b++;
        counts[b]++;
    }
    free(e);
}

/* The histogram of the JSON report against direct_counts; returns the sum of the counts. */
static uint64_t check_histogram(const cJSON *h, const float *x, size_t n, size_t bins, double lo, double hi, int f32,
                                uint64_t total)
{
    uint64_t *want = malloc(bins * sizeof *want), nan = 0, sum = 0;
    direct_counts(x, n, lo, hi, bins, f32, want, &nan);
    assert_true(cli_json_number(h, "bins") == (double)bins);
    assert_true(cJSON_GetArrayItem(cli_json(h, "range"), 0)->valuedouble == lo);
    assert_true(cJSON_GetArrayItem(cli_json(h, "range"), 1)->valuedouble == hi);
    const cJSON *counts = cli_json(h, "counts"), *edges = cli_json(h, "edges");
    assert_int_equal(cJSON_GetArraySize(counts), (int)bins);
    assert_int_equal(cJSON_GetArraySize(edges), (int)bins + 1);
    for (size_t b = 0; b < bins; b++) {
        const double got = cJSON_GetArrayItem(counts, (int)b)->valuedouble;
        if (got != (double)want[b])
            fail_msg("bin %zu of %zu over [%g, %g]: %.0f, counted here %llu", b, bins, lo, hi, got,
                     (unsigned long long)want[b]);
        sum += want[b];
    }
    assert_true(cJSON_GetArrayItem(edges, 0)->valuedouble == (f32 ? (double)(float)lo : lo));
    assert_true(cJSON_GetArrayItem(edges, (int)bins)->valuedouble == (f32 ? (double)(float)hi : hi));
    assert_true(cli_json_number(h, "counted") == (double)sum);
    assert_true(cli_json_number(h, "nan") == (double)nan);
    assert_true(cli_json_number(h, "outside") == (double)(total - sum - nan));
    free(want);
    return sum;
}

/* The values of a file as the command reads them (AUTO scaling), as float32. */
static float *values_of(const char *path, size_t *n)
{
    vxt_image *img = NULL;
    assert_ok(vxt_image_read_path(path, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    *n = (size_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]);
    float *x = malloc(*n * sizeof(float));
    for (size_t i = 0; i < *n; i++)
        x[i] = v.dtype == VXT_DTYPE_U8    ? (float)((const uint8_t *)v.data)[i]
               : v.dtype == VXT_DTYPE_U16 ? (float)((const uint16_t *)v.data)[i]
               : v.dtype == VXT_DTYPE_I16 ? (float)((const int16_t *)v.data)[i]
               : v.dtype == VXT_DTYPE_U32 ? (float)((const uint32_t *)v.data)[i]
                                          : ((const float *)v.data)[i];
    vxt_image_destroy(img);
    return x;
}

static void test_histogram(void **state)
{
    (void)state;
    /* ch2 (uint8): numpy's default 10 bins over [min, max]; the counts sum to the voxel count (np.histogram of the
     * same voxels: 3416956 587538 884984 1211211 766969 129662 75306 27569 7849 1093) */
    size_t n = 0;
    float *x = values_of(CH2, &n);
    assert_int_equal(cli("header --histogram --json " CH2), 0);
    cJSON *j = cli_out_json();
    assert_common_json(j, CH2);
    assert_int_equal(check_histogram(cli_json(j, "histogram"), x, n, 10, 0, 254, 0, n), n);
    assert_true(cJSON_GetArrayItem(cli_json(cli_json(j, "histogram"), "counts"), 0)->valuedouble == 3416956);
    assert_true(cJSON_GetArrayItem(cli_json(cli_json(j, "histogram"), "counts"), 9)->valuedouble == 1093);
    assert_null(cJSON_GetObjectItem(j, "stats"));
    cJSON_Delete(j);
    /* --bins, --range: values outside are not counted; the text lists each bin, the last closed */
    assert_int_equal(cli("header --histogram --bins 7 --range 30.5,200 --json " CH2), 0);
    j = cli_out_json();
    uint64_t in = check_histogram(cli_json(j, "histogram"), x, n, 7, 30.5, 200, 0, n);
    assert_true(in > 0 && in < n);
    cJSON_Delete(j);
    assert_int_equal(cli("header --histogram --bins 7 --range 30.5,200 --stats " CH2), 0);
    char want[256];
    snprintf(want, sizeof want, "7 bins over [30.5, 200]: %llu counted, %llu outside the range, 0 NaN",
             (unsigned long long)in, (unsigned long long)(n - in));
    assert_string_equal(need_line("histogram"), want);
    assert_non_null(strstr(cli_out, "\n  [30.5, 54.7142857)"));
    assert_non_null(strstr(cli_out, "\n  [175.785714, 200]"));
    assert_string_equal(need_line("count"), "7109137"); /* --stats too */
    free(x);
    /* scaled int16: the float32 values the file means, float32 edges (numpy's bin type follows the data) */
    x = values_of(NDATA "/le_int16_scaled.nii", &n);
    float lo = x[0], hi = x[0];
    for (size_t i = 0; i < n; i++)
        lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
    assert_int_equal(cli("header --histogram --bins 13 --json " NDATA "/le_int16_scaled.nii"), 0);
    j = cli_out_json();
    assert_int_equal(check_histogram(cli_json(j, "histogram"), x, n, 13, lo, hi, 1, n), n);
    cJSON_Delete(j);
    free(x);
    /* 4D: every channel in one histogram; uint32 values binned as float32 */
    static const char *const files[] = {NDATA "/4d_uint16.nii.gz", NDATA "/type_uint32.nii"};
    for (int f = 0; f < 2; f++) {
        x = values_of(files[f], &n);
        lo = hi = x[0];
        for (size_t i = 0; i < n; i++)
            lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
        assert_int_equal(cli("header --histogram --bins 5 --json %s", files[f]), 0);
        j = cli_out_json();
        assert_int_equal(check_histogram(cli_json(j, "histogram"), x, n, 5, lo, hi, f == 1, n), n);
        cJSON_Delete(j);
        free(x);
    }
}

/* NaN is never counted, infinities only fall outside a range; an infinite default range asks for --range (2); one
 * value: numpy's [v - 0.5, v + 0.5]. */
static void test_histogram_special_values(void **state)
{
    (void)state;
    const int64_t shape[3] = {2, 3, 4};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_F32, 1, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    float *f = v.data;
    for (int i = 0; i < 24; i++)
        f[i] = (float)i * 0.25f - 2.0f;
    f[3] = NAN;
    f[7] = NAN;
    assert_ok(vxt_nifti_write_file(img, cli_path("nan.nii"), NULL));
    assert_int_equal(cli("header --histogram --bins 4 --json %s", cli_path("nan.nii")), 0);
    cJSON *j = cli_out_json();
    assert_int_equal(check_histogram(cli_json(j, "histogram"), f, 24, 4, -2.0, 3.75, 1, 24), 22);
    cJSON_Delete(j);
    f[5] = INFINITY;
    assert_ok(vxt_nifti_write_file(img, cli_path("inf.nii"), NULL));
    assert_int_equal(cli("header --histogram %s", cli_path("inf.nii")), 2);
    cli_assert_one_line_error("give --range LO,HI");
    assert_string_equal(cli_out, "");
    assert_int_equal(cli("header --histogram --range -1,1 --bins 2 --json %s", cli_path("inf.nii")), 0);
    j = cli_out_json();
    assert_int_equal(check_histogram(cli_json(j, "histogram"), f, 24, 2, -1, 1, 1, 24), 7);
    assert_true(cli_json_number(cli_json(j, "histogram"), "outside") == 15); /* the infinity among them */
    cJSON_Delete(j);
    for (int i = 0; i < 24; i++)
        f[i] = 7.0f;
    assert_ok(vxt_nifti_write_file(img, cli_path("one.nii"), NULL));
    assert_int_equal(cli("header --histogram --bins 3 --json %s", cli_path("one.nii")), 0);
    j = cli_out_json();
    assert_int_equal(check_histogram(cli_json(j, "histogram"), f, 24, 3, 6.5, 7.5, 1, 24), 24);
    cJSON_Delete(j);
    vxt_image_destroy(img);
}

static void test_histogram_usage(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        {"--histogram --bins 0 " CH2, "--bins: expected a whole number from 1 to 1048576, got '0'", 2},
        {"--histogram --bins 1048577 " CH2, "--bins: expected a whole number", 2},
        {"--histogram --bins 2.5 " CH2, "--bins: expected a whole number", 2},
        {"--histogram --bins " CH2, "--bins: expected a whole number", 2}, /* the file taken for the value */
        {"--histogram --range 5 " CH2, "--range: expected LO,HI, two numbers with LO < HI, got '5'", 2},
        {"--histogram --range 5,5 " CH2, "--range: expected LO,HI", 2},
        {"--histogram --range 1,nan " CH2, "--range: expected LO,HI", 2},
        {"--histogram --range a,b " CH2, "--range: expected LO,HI", 2},
        {"--bins 4 " CH2, "--bins shapes the histogram: give --histogram", 2},
        {"--range 0,1 " CH2, "--range shapes the histogram: give --histogram", 2},
        {"--histogram /nonexistent/x.nii", "/nonexistent/x.nii", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("header %s", cases[i].args);
        if (rc != cases[i].rc)
            fail_msg("header %s: exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
    }
    cli_write_text("text.nii", "not an image\n");
    assert_int_equal(cli("header --histogram %s", cli_path("text.nii")), 4);
    cli_assert_one_line_error("text.nii");
}

static void test_usage(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"", "missing input file"},
        {"--json", "missing input file"},
        {CH2 " " CH2, "unexpected argument"},
        {"--bogus " CH2, "unknown option '--bogus'"},
        {"--json=yes " CH2, "--json takes no value"},
        {"--roi 8 " CH2, "unknown option '--roi'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("header %s", cases[i].args);
        if (rc != 2)
            fail_msg("header %s: exit %d, expected 2: %s", cases[i].args, rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
    }
    assert_int_equal(cli("header --help"), 0);
    assert_non_null(strstr(cli_out, "usage: voxtile header IN"));
    assert_non_null(strstr(cli_out, ".npy"));
    assert_non_null(strstr(cli_out, "--stats"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_ch2_text, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_ch2_json, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_stats_exact, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_npy, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_broken_files, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_usage, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_histogram, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_histogram_special_values, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_histogram_usage, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
