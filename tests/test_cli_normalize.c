/* test_cli_normalize.c - `voxtile normalize` end to end (--normalization NAME and its parameters, the flags of
 * voxtile run): every scheme against a C reference written here from
 * the documented formulas (float32 operations in numpy's order; statistics in long double; percentiles from a
 * sorted copy with numpy's linear method), the input's scaling applied first, every channel of a 4D image on its
 * own, the input's geometry kept bit for bit (qform only, sform only, neither, NIfTI-2), the OpenCL device writing
 * the CPU's bytes, and bad input; the steps around the scheme (--replace, --clip, --zero-center in their order
 * against float32 done here, --window-level against vxt_window_level_u8) and their bad values and combinations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

#define NDATA VXT_TEST_DATA_DIR "/nifti"

/* The input as float32 in physical units: x * slope + inter in float32 (the rescale stage). */
static float *physical(const char *path, size_t *n, int64_t *channels)
{
    vxt_image *img = cli_read_image(path);
    vxt_volume v;
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_volume(img, &v));
    assert_ok(vxt_image_get_info(img, &info));
    float slope = 1.0f, inter = 0.0f;
    if (isfinite(info.scl_slope) && info.scl_slope != 0) {
        slope = (float)info.scl_slope;
        inter = (float)info.scl_inter;
    }
    *n = (size_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]);
    *channels = v.channels;
    float *x = malloc(*n * sizeof(float));
    for (size_t i = 0; i < *n; i++) {
        float r = v.dtype == VXT_DTYPE_I16   ? (float)((const int16_t *)v.data)[i]
                  : v.dtype == VXT_DTYPE_U16 ? (float)((const uint16_t *)v.data)[i]
                  : v.dtype == VXT_DTYPE_U8  ? (float)((const uint8_t *)v.data)[i]
                  : v.dtype == VXT_DTYPE_I8  ? (float)((const int8_t *)v.data)[i]
                                             : ((const float *)v.data)[i];
        float p = r * slope;
        x[i] = p + inter;
    }
    vxt_image_destroy(img);
    return x;
}

/* Distance of two floats as ordered integers (0 for equal bits; NaN: far). */
static size_t ulp_distance(float x, float y)
{
    int32_t a, b;
    memcpy(&a, &x, 4);
    memcpy(&b, &y, 4);
    if (isnan(x) || isnan(y))
        return a == b ? 0 : (size_t)1 << 40;
    int64_t oa = a < 0 ? -(int64_t)(a & 0x7fffffff) : a, ob = b < 0 ? -(int64_t)(b & 0x7fffffff) : b;
    return (size_t)(oa > ob ? oa - ob : ob - oa);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(x, q), linear method, float32 data (b - a in float32, the lerp in double). */
static double percentile(const float *sorted, size_t n, double q)
{
    double virt = (double)(n - 1) * (q / 100.0), prev = floor(virt), gamma = virt - prev;
    size_t i = (size_t)prev, j = i + 1 < n ? i + 1 : i;
    double diff = (double)(sorted[j] - sorted[i]); /* b - a in float32, as numpy subtracts float32 values */
    return gamma >= 0.5 ? (double)sorted[j] - diff * (1.0 - gamma) : (double)sorted[i] + diff * gamma;
}

/* The expected output of one channel (n values) for a scheme; returns the largest ULP distance allowed. */
static int reference(const char *scheme, const float *x, size_t n, float *y)
{
    if (!strcmp(scheme, "window")) {
        float lo = -1000.0f, w = 2000.0f;
        for (size_t i = 0; i < n; i++) {
            float d = x[i] - lo, v = d / w;
            y[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        return 0;
    }
    if (!strcmp(scheme, "ct")) {
        float lo = -841.0f, hi = 1104.0f, mean = 61.24f, sd = 212.4f;
        for (size_t i = 0; i < n; i++) {
            float v = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
            v = v - mean;
            y[i] = v / sd;
        }
        return 0;
    }
    if (!strcmp(scheme, "minmax")) {
        float mn = x[0], mx = x[0];
        for (size_t i = 0; i < n; i++) {
            mn = x[i] < mn ? x[i] : mn;
            mx = x[i] > mx ? x[i] : mx;
        }
        double range = (double)mx - (double)mn;
        float div = (float)(range > 1e-8 ? range : 1e-8);
        for (size_t i = 0; i < n; i++) {
            float d = x[i] - mn;
            y[i] = d / div;
        }
        return 0;
    }
    if (!strcmp(scheme, "percentile")) {
        float *s = malloc(n * sizeof(float));
        memcpy(s, x, n * sizeof(float));
        qsort(s, n, sizeof(float), cmp_float);
        float lo = (float)percentile(s, n, 1.0), hi = (float)percentile(s, n, 99.0);
        free(s);
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        return 0;
    }
    /* zscore, zscore-nonzero: mean and population std in long double over the selection */
    int nonzero = !strcmp(scheme, "zscore-nonzero");
    long double s1 = 0, s2 = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!nonzero || x[i] != 0.0f) {
            s1 += x[i];
            m++;
        }
    long double mean = s1 / (long double)m;
    for (size_t i = 0; i < n; i++)
        if (!nonzero || x[i] != 0.0f)
            s2 += ((long double)x[i] - mean) * ((long double)x[i] - mean);
    double sd = (double)sqrtl(s2 / (long double)m);
    float fm = (float)mean, div = (float)(sd > 1e-8 ? sd : 1e-8);
    for (size_t i = 0; i < n; i++) {
        float d = x[i] - fm;
        y[i] = nonzero && x[i] == 0.0f ? x[i] : d / div;
    }
    return 1; /* the statistics may round to a neighbouring float32 */
}

static const struct {
    const char *scheme, *args;
} schemes[] = {
    {"window", "--normalization window --lo -1000 --hi 1000"},
    {"ct", "--normalization ct --lo -841 --hi 1104 --mean 61.24 --std 212.4"},
    {"minmax", "--normalization minmax"},
    {"percentile", "--normalization percentile --percentiles 1,99"},
    {"zscore", "--normalization zscore"},
    {"zscore-nonzero", "--normalization zscore-nonzero"},
};

static void check_against_reference(const char *in_arg, const char *backend, const char *tag)
{
    char in_path[1024]; /* cli_path's buffers are reused */
    snprintf(in_path, sizeof in_path, "%s", in_arg);
    size_t n;
    int64_t channels;
    float *x = physical(in_path, &n, &channels);
    size_t per = n / (size_t)channels;
    float *want = malloc(n * sizeof(float));
    vxt_image *in = cli_read_image(in_path);
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++) {
        char name[128];
        snprintf(name, sizeof name, "%s_%s_%s.nii.gz", tag, schemes[s].scheme, backend);
        int rc = cli("normalize '%s' -o '%s' %s --backend %s --json", in_path, cli_path(name), schemes[s].args, backend);
        if (rc != 0)
            fail_msg("%s %s: exit %d: %s", tag, schemes[s].scheme, rc, cli_err);
        cJSON *j = cli_out_json();
        assert_string_equal(cli_json_string(cli_json(j, "normalization"), "scheme"), schemes[s].scheme);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_channel")), (int)channels);
        int ulps = 0;
        for (int64_t c = 0; c < channels; c++)
            ulps = reference(schemes[s].scheme, x + (size_t)c * per, per, want + (size_t)c * per);
        vxt_image *out = cli_read_image(cli_path(name));
        vxt_volume v;
        assert_ok(vxt_image_volume(out, &v));
        assert_int_equal(v.dtype, VXT_DTYPE_F32);
        assert_int_equal(v.channels, channels);
        const float *got = v.data;
        size_t bad = 0, worst = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d = ulp_distance(got[i], want[i]);
            if (d > (size_t)ulps) {
                if (bad++ < 3)
                    print_message("%s %s: voxel %zu is %.9g, reference %.9g\n", tag, schemes[s].scheme, i,
                                  (double)got[i], (double)want[i]);
            }
            worst = d > worst ? d : worst;
        }
        if (bad)
            fail_msg("%s %s: %zu voxels differ from the reference (largest %zu ulps)", tag, schemes[s].scheme, bad,
                     worst);
        /* the input's geometry, exactly */
        cli_assert_same_geometry(in, out);
        vxt_image_info oi = {.struct_size = sizeof oi};
        assert_ok(vxt_image_get_info(out, &oi));
        assert_int_equal(cli_nifti_info(in).nifti_version, cli_nifti_info(out).nifti_version);
        assert_true(oi.scl_slope == 1.0 && oi.scl_inter == 0.0);
        vxt_image_destroy(out);
        cJSON_Delete(j);
    }
    vxt_image_destroy(in);
    free(want);
    free(x);
}

static void test_schemes_cpu(void **state)
{
    (void)state;
    /* a CT phantom; zeros outside the field of view for zscore-nonzero; and a scaled file (slope 0.7, inter -1024) */
    cli_phantom("ct.nii.gz", NULL, "--shape 24,40,48 --spacing 6,4,4 --fill 0 --seed 5");
    check_against_reference(cli_path("ct.nii.gz"), "cpu", "ct");
    check_against_reference(NDATA "/le_int16_scaled.nii", "cpu", "scaled");
    /* 4D: every channel on its own */
    check_against_reference(NDATA "/4d_uint16.nii.gz", "cpu", "4d");
    /* geometry kept whatever the forms: qform only, sform only, neither; NIfTI-2 stays NIfTI-2 */
    static const char *const files[] = {"qform_only.nii", "sform_only.nii", "neither.nii", "nifti2_float32.nii"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char in[512];
        snprintf(in, sizeof in, NDATA "/%s", files[i]);
        assert_int_equal(cli("normalize %s -o %s --normalization minmax", in, cli_path("g.nii")), 0);
        vxt_image *a = cli_read_image(in), *b = cli_read_image(cli_path("g.nii"));
        cli_assert_same_geometry(a, b);
        assert_int_equal(cli_nifti_info(a).nifti_version, cli_nifti_info(b).nifti_version);
        vxt_image_destroy(a);
        vxt_image_destroy(b);
    }
}

static void test_json(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 16,24,32 --spacing 8,5,4 --seed 2");
    assert_int_equal(cli("normalize %s -o %s --normalization percentile --backend cpu --json", cli_path("ct.nii.gz"),
                         cli_path("p.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), "cpu");
    const cJSON *norm = cli_json(j, "normalization");
    assert_string_equal(cli_json_string(norm, "scheme"), "percentile");
    const cJSON *pc = cli_json(norm, "percentiles"); /* the plan's default */
    assert_true(cJSON_GetArrayItem(pc, 0)->valuedouble == 0.5 && cJSON_GetArrayItem(pc, 1)->valuedouble == 99.5);
    const cJSON *ch = cJSON_GetArrayItem(cli_json(j, "per_channel"), 0);
    double lo = cli_json_number(ch, "lo"), hi = cli_json_number(ch, "hi");
    assert_true(lo < -900 && hi > 600); /* air and bone */
    /* shape and spacing z, y, x, as given to phantom */
    static const double shape[3] = {16, 24, 32}, spacing[3] = {8, 5, 4};
    for (int a = 0; a < 3; a++) {
        assert_true(cJSON_GetArrayItem(cli_json(j, "shape"), a)->valuedouble == shape[a]);
        assert_true(fabs(cJSON_GetArrayItem(cli_json(j, "spacing"), a)->valuedouble - spacing[a]) < 1e-6);
    }
    assert_non_null(cJSON_GetObjectItem(cli_json(j, "seconds"), "total"));
    cJSON_Delete(j);
    /* the scheme from a plan file; a flag replaces its bound */
    cli_write_text("w.json", "{\"normalization\": {\"scheme\": \"window\", \"lo\": -500, \"hi\": 500}}\n");
    assert_int_equal(cli("normalize %s -o %s --plan %s --backend cpu", cli_path("ct.nii.gz"), cli_path("a.nii.gz"),
                         cli_path("w.json")),
                     0);
    assert_int_equal(cli("normalize %s -o %s --normalization window --lo -500 --hi 500 --backend cpu",
                         cli_path("ct.nii.gz"), cli_path("b.nii.gz")),
                     0);
    assert_true(cli_same_file(cli_path("a.nii.gz"), cli_path("b.nii.gz")));
    assert_int_equal(cli("normalize %s -o %s --plan %s --hi 0 --backend cpu --json", cli_path("ct.nii.gz"),
                         cli_path("c.nii.gz"), cli_path("w.json")),
                     0);
    j = cli_out_json();
    assert_true(cli_json_number(cli_json(j, "normalization"), "hi") == 0);
    assert_true(cli_json_number(cli_json(j, "normalization"), "lo") == -500);
    cJSON_Delete(j);
    assert_false(cli_same_file(cli_path("a.nii.gz"), cli_path("c.nii.gz")));
    /* .npy output: the NIfTI output's values */
    assert_int_equal(cli("normalize %s -o %s --normalization window --lo -500 --hi 500 --backend cpu",
                         cli_path("ct.nii.gz"), cli_path("b.npy")),
                     0);
    vxt_image *img = cli_read_image(cli_path("b.nii.gz"));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    vxt_npy_info ni;
    float *arr = cli_load_npy(cli_path("b.npy"), &ni);
    assert_int_equal(ni.dtype, VXT_DTYPE_F32);
    assert_int_equal(ni.count, 16 * 24 * 32);
    assert_memory_equal(arr, v.data, sizeof(float) * 16 * 24 * 32);
    free(arr);
    vxt_image_destroy(img);
}

static void test_opencl_writes_the_cpu_bytes(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 24,40,48 --spacing 6,4,4 --fill 0 --seed 5");
    check_against_reference(cli_path("ct.nii.gz"), "opencl", "ct");
    check_against_reference(cli_path("ct.nii.gz"), "cpu", "ct");
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++) {
        char a[128], b[128], pa[1024];
        snprintf(a, sizeof a, "ct_%s_opencl.nii.gz", schemes[s].scheme);
        snprintf(b, sizeof b, "ct_%s_cpu.nii.gz", schemes[s].scheme);
        snprintf(pa, sizeof pa, "%s", cli_path(a));
        size_t na = 0, nb = 0;
        char *x = vxt_test_read_file(pa, &na), *y = vxt_test_read_file(cli_path(b), &nb);
        if (na != nb || memcmp(x, y, na) != 0)
            fail_msg("%s: the OpenCL device and the CPU wrote different files", schemes[s].scheme);
        free(x);
        free(y);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,16,16 --spacing 8,8,8");
    char in[1024], o[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    snprintf(o, sizeof o, "%s", cli_path("o.nii.gz"));
    cli_write_text("text.nii", "not a NIfTI file\n");
    cli_write_text("file", "a regular file\n");
    const int64_t shape[3] = {2, 3, 4};
    vxt_image *u32 = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U32, 1, shape, NULL, &u32));
    assert_ok(vxt_nifti_write_file(u32, cli_path("u32.nii"), NULL));
    vxt_image_destroy(u32);
    int before = cli_files();
    static const struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        /* usage */
        {"", "missing --normalization", 2},
        {"--normalization percentile --percentiles 1", "--percentiles: expected LO,HI", 2},
        {"--normalization minmax --lo abc", "--lo: expected a number", 2},
        {"--normalization minmax --bogus", "unknown option '--bogus'", 2},
        {"--normalization", "--normalization needs a value", 2},
        {"--scheme minmax", "unknown option '--scheme'", 2},            /* the old spelling */
        {"--normalization minmax --roi 8", "unknown option '--roi'", 2}, /* not a normalization flag */
        {"--normalization minmax --model identity", "unknown option '--model'", 2},
        /* parameters that contradict the scheme or each other: the plan (as in voxtile run) */
        {"--normalization window --lo -1000", "scheme \"window\" needs \"lo\" and \"hi\"", 6},
        {"--normalization window --lo 10 --hi 10", "$.normalization.hi: must be greater than lo", 6},
        {"--normalization zscore --mean 3", "scheme \"zscore\" takes no lo/hi/mean/std", 6},
        {"--normalization minmax --percentiles 1,99",
         "$.normalization.percentiles: applies to scheme \"percentile\"", 6},
        {"--normalization ct --lo 0 --hi 1 --mean 0", "scheme \"ct\" needs \"lo\", \"hi\", \"mean\" and \"std\"", 6},
        {"--normalization ct --lo 2 --hi 1 --mean 0 --std 1", "$.normalization.hi: must be greater than lo", 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("normalize %s -o %s %s", in, o, cases[i].args);
        if (rc != cases[i].rc)
            fail_msg("'%s': exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
    }
    assert_int_equal(cli("normalize -o %s --normalization minmax", o), 2);
    cli_assert_one_line_error("missing the input image");
    assert_int_equal(cli("normalize %s --normalization minmax", in), 2);
    cli_assert_one_line_error("missing -o");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", in, cli_path("o.png")), 2);
    cli_assert_one_line_error(".nii, .nii.gz or .npy");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", cli_path("none.nii"), o), 4);
    cli_assert_one_line_error("none.nii");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", cli_path("text.nii"), o), 4);
    cli_assert_one_line_error("text.nii");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", cli_path("u32.nii"), o), 4);
    cli_assert_one_line_error("uint32");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax --plan %s", in, o, cli_path("none.json")), 4);
    cli_assert_one_line_error("none.json");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", in, cli_path("no/dir/o.nii.gz")), 5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", in, cli_path("file/o.nii.gz")), 5);
    cli_assert_one_line_error("is not a directory");
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", cli_path("d.nii.gz"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli("normalize %s -o %s --normalization minmax", in, cli_path("d.nii.gz")), 5);
    cli_assert_one_line_error("d.nii.gz");
    assert_int_equal(cli_files(), before + 1);
    /* the help names every scheme */
    assert_int_equal(cli("normalize --help"), 0);
    assert_non_null(strstr(cli_out, "none|window|ct|zscore|zscore-nonzero|minmax|percentile"));
}

/* ---- the steps around the scheme: --replace, --clip, --zero-center, --window-level -------------------------- */

/* The output's voxels (asserting its type and count). */
static vxt_image *output_of(const char *name, vxt_dtype dtype, size_t n, vxt_volume *v)
{
    vxt_image *img = cli_read_image(cli_path(name));
    assert_ok(vxt_image_volume(img, v));
    assert_int_equal(v->dtype, dtype);
    assert_int_equal((size_t)(v->channels * v->shape[0] * v->shape[1] * v->shape[2]), n);
    return img;
}

/* Replace, clip, a scheme and zero-centring together, in their documented order, against float32 done here: the
 * classic lung-CT recipe (padding to air, clip, window to [0, 1], minus the dataset mean 0.25). */
static void test_steps_in_order(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 12,20,24 --spacing 6,4,4 --seed 3"); /* -2000 outside the field of view */
    size_t n;
    int64_t channels;
    float *x = physical(cli_path("ct.nii.gz"), &n, &channels);
    float *want = malloc(n * sizeof(float));
    size_t padding = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] == -2000.0f ? -1024.0f : x[i]; /* --replace -2000=-1024 */
        padding += x[i] == -2000.0f;
        v = v < -1100.0f ? -1100.0f : v > 500.0f ? 500.0f : v; /* --clip -1100,500 */
        float d = v - -1000.0f, q = d / 1400.0f;                /* window: lo -1000, hi 400 */
        v = q < 0.0f ? 0.0f : q > 1.0f ? 1.0f : q;
        want[i] = v - 0.25f;                                    /* --zero-center 0.25 */
    }
    assert_true(padding > 100);
    int rc = cli("normalize %s -o %s --zero-center 0.25 --normalization window --lo -1000 --hi 400 --clip -1100,500 "
                 "--replace -2000=-1024 --backend cpu --json",
                 cli_path("ct.nii.gz"), cli_path("o.nii.gz"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    vxt_volume v;
    vxt_image *out = output_of("o.nii.gz", VXT_DTYPE_F32, n, &v);
    assert_int_equal(vxt_count_bit_diffs(v.data, want, n, "replace, clip, window, zero-center"), 0);
    vxt_image *in = cli_read_image(cli_path("ct.nii.gz"));
    cli_assert_same_geometry(in, out);
    /* the summary names every step */
    cJSON *j = cli_out_json();
    const cJSON *rep = cli_json(cli_json(j, "normalization"), "replace");
    assert_true(cli_json_number(rep, "value") == -2000 && cli_json_number(rep, "with") == -1024);
    assert_true(cJSON_GetArrayItem(cli_json(j, "clip"), 0)->valuedouble == -1100);
    assert_true(cJSON_GetArrayItem(cli_json(j, "clip"), 1)->valuedouble == 500);
    assert_true(cli_json_number(j, "zero_center") == 0.25);
    assert_null(cJSON_GetObjectItem(j, "window_level"));
    assert_null(cJSON_GetObjectItem(j, "padding_value"));
    cJSON_Delete(j);
    /* the same from a plan file (the flag is the plan's field), and with --print-plan's plan read back */
    cli_write_text("r.json", "{\"normalization\": {\"scheme\": \"window\", \"lo\": -1000, \"hi\": 400, "
                             "\"replace\": {\"value\": -2000, \"with\": -1024}}}\n");
    assert_int_equal(cli("normalize %s -o %s --plan %s --clip -1100,500 --zero-center 0.25 --backend cpu",
                         cli_path("ct.nii.gz"), cli_path("p.nii.gz"), cli_path("r.json")),
                     0);
    assert_true(cli_same_file(cli_path("o.nii.gz"), cli_path("p.nii.gz")));
    assert_int_equal(cli("normalize %s -o %s --normalization window --lo -1000 --hi 400 --replace -2000=-1024 "
                         "--print-plan",
                         cli_path("ct.nii.gz"), cli_path("q.nii.gz")),
                     0);
    cli_write_text("printed.json", cli_out);
    assert_int_equal(cli("normalize %s -o %s --plan %s --clip -1100,500 --zero-center 0.25 --backend cpu",
                         cli_path("ct.nii.gz"), cli_path("q.nii.gz"), cli_path("printed.json")),
                     0);
    assert_true(cli_same_file(cli_path("o.nii.gz"), cli_path("q.nii.gz")));
    /* "none" takes a plan file's replacement away: then -2000 is clipped to -1100, not replaced */
    assert_int_equal(cli("normalize %s -o %s --plan %s --replace none --backend cpu", cli_path("ct.nii.gz"),
                         cli_path("n.nii.gz"), cli_path("r.json")),
                     0);
    vxt_image *none = output_of("n.nii.gz", VXT_DTYPE_F32, n, &v);
    for (size_t i = 0; i < n; i++)
        if (x[i] == -2000.0f)
            assert_true(((const float *)v.data)[i] == 0.0f); /* -2000 below the window: 0, not (-1024 + 1000)/1400 */
    /* a NIfTI file has no padding value: "padding" replaces nothing, and the summary says so */
    assert_int_equal(cli("normalize %s -o %s --replace padding=-1024 --backend cpu --json", cli_path("ct.nii.gz"),
                         cli_path("pad.nii.gz")),
                     0);
    j = cli_out_json();
    assert_true(cJSON_IsNull(cli_json(j, "padding_value")));
    assert_string_equal(cli_json_string(cli_json(cli_json(j, "normalization"), "replace"), "value"), "padding");
    cJSON_Delete(j);
    vxt_image *pad = output_of("pad.nii.gz", VXT_DTYPE_F32, n, &v);
    assert_memory_equal(v.data, x, n * sizeof(float)); /* the rescaled values, nothing replaced */
    vxt_image_destroy(pad);
    vxt_image_destroy(none);
    vxt_image_destroy(in);
    vxt_image_destroy(out);
    free(want);
    free(x);
}

/* --window-level: the library's vxt_window_level_u8 on the rescaled values, uint8, the geometry kept; a scaled file. */
static void check_window_level(const char *in_arg, double center, double width, const char *extra)
{
    char in_path[1024];
    snprintf(in_path, sizeof in_path, "%s", in_arg);
    int rc = cli("normalize '%s' -o %s --window-level %.17g,%.17g %s --backend cpu", in_path, cli_path("wl.nii.gz"),
                 center, width, extra);
    if (rc != 0)
        fail_msg("--window-level %g,%g: exit %d: %s", center, width, rc, cli_err);
    vxt_image *in = cli_read_image(in_path);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(in, &info));
    vxt_volume raw;
    assert_ok(vxt_image_volume(in, &raw));
    const size_t n = (size_t)(raw.channels * raw.shape[0] * raw.shape[1] * raw.shape[2]);
    float *f = malloc(n * sizeof(float));
    uint8_t *want = malloc(n);
    vxt_volume fv = {f, VXT_DTYPE_F32, raw.channels, {raw.shape[0], raw.shape[1], raw.shape[2]}};
    vxt_volume uv = {want, VXT_DTYPE_U8, raw.channels, {raw.shape[0], raw.shape[1], raw.shape[2]}};
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 1);
    const int scaled = isfinite(info.scl_slope) && info.scl_slope != 0;
    assert_ok(vxt_rescale(ctx, &raw, &fv, scaled ? info.scl_slope : 1.0, scaled ? info.scl_inter : 0.0));
    assert_ok(vxt_window_level_u8(ctx, &fv, &uv, center, width));
    vxt_context_destroy(ctx);
    vxt_volume v;
    vxt_image *out = output_of("wl.nii.gz", VXT_DTYPE_U8, n, &v);
    assert_memory_equal(v.data, want, n);
    /* and the classic formula in double: at most one grey level from it (float32 arithmetic), both ends reached */
    int lo_seen = 0, hi_seen = 0;
    const double a = center - width / 2, b = center + width / 2;
    for (size_t i = 0; i < n; i++) {
        double c = f[i] < a ? a : f[i] > b ? b : f[i], g = floor((c - a) / (b - a) * 255.0);
        assert_true(fabs(g - (double)want[i]) <= 1.0);
        lo_seen |= want[i] == 0;
        hi_seen |= want[i] == 255;
    }
    assert_true(lo_seen && hi_seen);
    cli_assert_same_geometry(in, out);
    vxt_image_destroy(out);
    vxt_image_destroy(in);
    free(f);
    free(want);
}

static void test_window_level(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 12,20,24 --spacing 6,4,4 --seed 4");
    check_window_level(cli_path("ct.nii.gz"), 40, 400, "");         /* a soft-tissue window */
    check_window_level(cli_path("ct.nii.gz"), -600, 1500, "");      /* a lung window */
    check_window_level(NDATA "/le_int16_scaled.nii", -300, 1500.5, ""); /* scaled: the values the file means */
    check_window_level(cli_path("ct.nii.gz"), 40, 400, "--normalization none --clip -500,500");
    /* .npy: the same bytes */
    assert_int_equal(cli("normalize %s -o %s --window-level 40,400 --backend cpu", cli_path("ct.nii.gz"),
                         cli_path("wl.npy")),
                     0);
    vxt_npy_info ni;
    uint8_t *arr = cli_load_npy(cli_path("wl.npy"), &ni);
    assert_int_equal(ni.dtype, VXT_DTYPE_U8);
    assert_int_equal(cli("normalize %s -o %s --window-level 40,400 --backend cpu --json", cli_path("ct.nii.gz"),
                         cli_path("wl.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "dtype"), "uint8");
    assert_true(cli_json_number(cli_json(j, "window_level"), "center") == 40);
    assert_true(cli_json_number(cli_json(j, "window_level"), "width") == 400);
    cJSON_Delete(j);
    vxt_image *img = cli_read_image(cli_path("wl.nii.gz"));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(ni.count, 12 * 20 * 24);
    assert_memory_equal(arr, v.data, 12 * 20 * 24);
    vxt_image_destroy(img);
    free(arr);
}

/* The steps' bad values and combinations: usage errors (2), one line, nothing written. */
static void test_steps_bad_input(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,16,16 --spacing 8,8,8");
    cli_write_text("win.json", "{\"normalization\": {\"scheme\": \"window\", \"lo\": 0, \"hi\": 1}}\n");
    char in[1024], plan[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    snprintf(plan, sizeof plan, "%s", cli_path("win.json"));
    int before = cli_files();
    static const struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        {"--clip 5,1", "--clip: expected LO,HI, two numbers with LO <= HI, got '5,1'", 2},
        {"--clip 1", "--clip: expected LO,HI", 2},
        {"--clip 1,2,3", "--clip: expected LO,HI", 2},
        {"--clip a,b", "--clip: expected LO,HI", 2},
        {"--clip 1,", "--clip: expected LO,HI", 2},
        {"--clip nan,1", "--clip: expected LO,HI", 2},
        {"--clip", "--clip needs a value", 2},
        {"--zero-center abc", "--zero-center: expected a number", 2},
        {"--zero-center inf", "--zero-center: expected a number", 2},
        {"--window-level 40", "--window-level: expected CENTER,WIDTH", 2},
        {"--window-level 40,0", "WIDTH > 0, got '40,0'", 2},
        {"--window-level 40,-400", "WIDTH > 0", 2},
        {"--window-level 40,400 --normalization zscore", "it does not follow --normalization zscore", 2},
        {"--window-level 40,400 --zero-center 3", "it does not follow --zero-center", 2},
        {"--replace -2000", "--replace: expected V=W", 2},
        {"--replace =-1024", "--replace: expected V=W", 2},
        {"--replace -2000=", "--replace: expected V=W", 2},
        {"--replace padding=air", "--replace: expected V=W", 2},
        {"--replace pad=0", "--replace: expected V=W", 2},
        {"--replace 1e31=0", "$.normalization.replace.value: 1e+31 is out of range", 2},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("normalize %s -o %s %s", in, cli_path("o.nii.gz"), cases[i].args);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
        if (rc != cases[i].rc)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  normalize ... %s: exit %d", cases[i].args, rc);
    }
    /* a plan file's scheme does not take --window-level either; the input is not read before these are checked */
    assert_int_equal(cli("normalize %s -o %s --plan %s --window-level 40,400", in, cli_path("o.nii.gz"), plan), 2);
    cli_assert_one_line_error("it does not follow --normalization window");
    assert_int_equal(cli("normalize %s -o %s --clip 1,0", cli_path("none.nii.gz"), cli_path("o.nii.gz")), 2);
    cli_assert_one_line_error("--clip");
    assert_int_equal(cli("normalize %s -o %s --window-level 1,1", cli_path("none.nii.gz"), cli_path("o.nii.gz")), 4);
    cli_assert_one_line_error("none.nii.gz");
    assert_int_equal(cli_files(), before);
    if (bad[0])
        fail_msg("wrong exit statuses:%s", bad);
}

/* A bad value of one flag (a scheme that does not exist, the old names of window and ct, percentiles out of order,
 * a negative standard deviation): a malformed argument, exit 2. Every case is checked before the test fails. */
static void test_flag_values_are_usage_errors(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,16,16 --spacing 8,8,8");
    char in[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"--normalization zscor", "unknown normalization 'zscor' (expected one of: none, window, ct, zscore, "
                                  "zscore-nonzero, minmax, percentile)"},
        {"--normalization ct-window --lo 0 --hi 1", "unknown normalization 'ct-window'"},
        {"--normalization nnunet-ct --lo 0 --hi 1 --mean 0 --std 1", "unknown normalization 'nnunet-ct'"},
        /* values each fine alone that contradict each other: the plan's problem (exit 6), as in voxtile run */
        {"--normalization percentile --percentiles 99,1", "$.normalization.percentiles"},
        {"--normalization ct --lo 0 --hi 1 --mean 0 --std -1", "$.normalization.std: -1"},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("normalize %s -o %s %s", in, cli_path("o.nii.gz"), cases[i].args);
        cli_assert_one_line_error(cases[i].needle);
        if (rc != (i < 3 ? 2 : 6))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  normalize ... %s: exit %d", cases[i].args, rc);
    }
    assert_int_equal(cli_files(), 1);
    if (bad[0])
        fail_msg("malformed flag values must exit 2 (usage), as --lo abc does, contradictions 6:%s", bad);
}

/* The flags are checked before the input is read: a contradiction is reported as such (exit 6), even when the
 * input does not exist, as voxtile run reports it (there, the plan is checked before anything is read). */
static void test_flags_checked_before_the_input_is_read(void **state)
{
    (void)state;
    int rc = cli("run %s -o %s --model identity --roi 8 --normalization window --lo 0", cli_path("none.nii.gz"),
                 cli_path("o.nii.gz"));
    assert_int_equal(rc, 6); /* run: the plan first */
    cli_assert_one_line_error("scheme \"window\" needs \"lo\" and \"hi\"");
    rc = cli("normalize %s -o %s --normalization window --lo 0", cli_path("none.nii.gz"), cli_path("o.nii.gz"));
    if (rc != 6)
        fail_msg("normalize with an incomplete window and a missing input: exit %d (%s); expected 6, the flags' "
                 "problem, found before reading anything",
                 rc, cli_err);
    cli_assert_one_line_error("scheme \"window\" needs \"lo\" and \"hi\"");
    assert_int_equal(cli_files(), 0);
}

/* ---- --smooth ------------------------------------------------------------------------------------------------ */

/* The library's smoothing of the image in its intensity units, every channel: what --smooth must write. */
static float *smoothed(const char *path, const double sigma[3], int mm, size_t *n)
{
    int64_t channels;
    float *x = physical(path, n, &channels);
    vxt_image *img = cli_read_image(path);
    vxt_volume v;
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_volume(img, &v));
    assert_ok(vxt_image_get_info(img, &info));
    vxt_volume xv = {x, VXT_DTYPE_F32, channels, {v.shape[0], v.shape[1], v.shape[2]}};
    vxt_smooth_options o;
    vxt_smooth_options_init(&o);
    memcpy(o.sigma, sigma, sizeof o.sigma);
    o.sigma_in_mm = mm;
    memcpy(o.spacing, info.spacing, sizeof o.spacing);
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    assert_ok(vxt_gaussian_smooth(ctx, &xv, &xv, &o));
    vxt_context_destroy(ctx);
    vxt_image_destroy(img);
    return x;
}

/* The voxels of a float32 output equal `want` bit for bit. */
static void assert_voxels(const char *path, const float *want, size_t n, const char *what)
{
    vxt_image *out = cli_read_image(path);
    vxt_volume v;
    assert_ok(vxt_image_volume(out, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_int_equal((size_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]), n);
    if (memcmp(v.data, want, n * sizeof(float)) != 0)
        fail_msg("%s: the output differs from the library's smoothing", what);
    vxt_image_destroy(out);
}

/* --smooth alone (--normalization none), in voxels and in mm, before a scheme, on a 4D image; the report. */
static void test_smooth(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,16,20 --spacing 4,2,1 --seed 3");
    char in[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    size_t n = 0;
    static const double vox[3] = {1.0, 2.0, 0.5}, four[3] = {4.0, 4.0, 4.0}, one5[3] = {1.5, 1.5, 1.5};
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 1,2,0.5 --backend cpu --json", in,
                         cli_path("s.nii.gz")),
                     0);
    cJSON *j = cli_out_json();
    const cJSON *sm = cli_json(j, "smooth");
    for (int a = 0; a < 3; a++)
        assert_true(cJSON_GetArrayItem(cli_json(sm, "sigma"), a)->valuedouble == vox[a]);
    assert_string_equal(cli_json_string(sm, "unit"), "voxels");
    cJSON_Delete(j);
    float *want = smoothed(in, vox, 0, &n);
    assert_voxels(cli_path("s.nii.gz"), want, n, "--smooth 1,2,0.5");
    free(want);
    /* millimetres: 4mm at spacing 4, 2, 1 is 1, 2, 4 voxels */
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 4mm", in, cli_path("mm.nii.gz")), 0);
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 1,2,4", in, cli_path("vox.nii.gz")), 0);
    assert_true(cli_same_file(cli_path("mm.nii.gz"), cli_path("vox.nii.gz")));
    want = smoothed(in, four, 1, &n);
    assert_voxels(cli_path("mm.nii.gz"), want, n, "--smooth 4mm");
    free(want);
    /* before the scheme: the window of the smoothed values (the float32 formula of reference()) */
    assert_int_equal(cli("normalize %s -o %s --normalization window --lo -1000 --hi 1000 --smooth 1.5 --backend cpu",
                         in, cli_path("w.nii.gz")),
                     0);
    float *x = smoothed(in, one5, 0, &n);
    want = malloc(n * sizeof(float));
    reference("window", x, n, want);
    assert_voxels(cli_path("w.nii.gz"), want, n, "--smooth 1.5 --normalization window");
    free(x);
    free(want);
    /* 4D: every channel smoothed on its own */
    static const double inplane[3] = {0.0, 1.0, 1.0};
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 0,1,1", NDATA "/4d_uint16.nii.gz",
                         cli_path("4d.nii.gz")),
                     0);
    want = smoothed(NDATA "/4d_uint16.nii.gz", inplane, 0, &n);
    assert_voxels(cli_path("4d.nii.gz"), want, n, "4D --smooth 0,1,1");
    free(want);
}

/* Bad values of --smooth: a malformed argument, exit 2, one line, nothing written. */
static void test_smooth_bad_values(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,16,16 --spacing 8,8,8");
    cli_phantom("fine.nii.gz", NULL, "--shape 4,8,8 --spacing 0.002,0.002,0.002");
    char in[1024];
    snprintf(in, sizeof in, "%s", cli_path("ct.nii.gz"));
    int before = cli_files();
    static const char *const bad[] = {"-1", "abc", "1,2", "2000", "1e400", "mm", "1,2,3,4mm", "nan", "1.5 mm",
                                      "-0.5,1,1mm", "1,,2", "2cm", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cli("normalize %s -o %s --normalization none --smooth '%s'", in, cli_path("o.nii.gz"), bad[i]);
        if (rc != 2)
            fail_msg("--smooth '%s': exit %d, expected 2: %s", bad[i], rc, cli_err);
        cli_assert_one_line_error("--smooth: expected SIGMA or Z,Y,X in voxels, or in mm with a trailing mm, each in "
                                  "[0, 1000]");
    }
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth", in, cli_path("o.nii.gz")), 2);
    cli_assert_one_line_error("--smooth needs a value");
    /* --smooth is one of the steps that need no scheme: alone, it is --normalization none with it */
    assert_int_equal(cli("normalize %s -o %s --smooth 1", in, cli_path("alone.nii.gz")), 0);
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 1", in, cli_path("none.nii.gz")), 0);
    assert_true(cli_same_file(cli_path("alone.nii.gz"), cli_path("none.nii.gz")));
    before += 2;
    /* 1000 mm at 0.002 mm voxels: a kernel of 2 million voxels, beyond the library's 2^20 */
    assert_int_equal(cli("normalize %s -o %s --normalization none --smooth 1000mm", cli_path("fine.nii.gz"),
                         cli_path("o.nii.gz")),
                     2);
    cli_assert_one_line_error("--smooth: vxt_gaussian_smooth: sigma 500000 voxels along z");
    assert_int_equal(cli_files(), before);
}

static void test_smooth_opencl_writes_the_cpu_bytes(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 9,20,24 --spacing 4,2,1.5 --seed 8");
    for (int b = 0; b < 2; b++)
        assert_int_equal(cli("normalize %s -o %s --normalization zscore --smooth 3mm --backend %s",
                             cli_path("ct.nii.gz"), cli_path(b ? "cl.nii.gz" : "cpu.nii.gz"), b ? "opencl" : "cpu"),
                         0);
    assert_true(cli_same_file(cli_path("cl.nii.gz"), cli_path("cpu.nii.gz")));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_schemes_cpu, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_json, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_steps_in_order, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_window_level, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_steps_bad_input, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flag_values_are_usage_errors, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flags_checked_before_the_input_is_read, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_smooth, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_smooth_bad_values, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_opencl_writes_the_cpu_bytes, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_smooth_opencl_writes_the_cpu_bytes, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
