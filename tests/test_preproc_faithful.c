/* test_preproc_faithful.c - the preprocessing operations against the tools users compare with: numpy (intensity
 * transforms, statistics, percentiles, histograms), torch (trilinear and nearest interpolation) and scipy (zoom,
 * affine_transform). Expected arrays were generated once by tools/make_preproc_testdata.py and are read from
 * tests/data/preproc/ (no Python at test time). Each check states its tolerance and why; the measured maximum errors
 * are printed. Run on the CPU backend (group cpu) and on the OpenCL device (group opencl). */
#include "preproc_testutil.h"

#define MAX_KV 48

typedef struct tcase {
    char line[4096];
    const char *name;
    const char *key[MAX_KV], *val[MAX_KV];
    int n;
} tcase;

static tcase cases[128];
static int ncases;

static void load_manifest(void)
{
    if (ncases)
        return;
    FILE *f = fopen(vxt_test_relocate(VXT_TEST_DATA_DIR "/preproc/manifest.txt"), "r");
    if (!f)
        fail_msg("cannot open %s", VXT_TEST_DATA_DIR "/preproc/manifest.txt");
    char line[4096];
    while (fgets(line, sizeof line, f) && ncases < 128) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        tcase *c = &cases[ncases++];
        memcpy(c->line, line, sizeof line);
        c->line[strcspn(c->line, "\n")] = '\0';
        char *save = NULL;
        c->name = strtok_r(c->line, " ", &save);
        char *tok;
        while ((tok = strtok_r(NULL, " ", &save)) && c->n < MAX_KV) {
            char *eq = strchr(tok, '=');
            assert_non_null(eq);
            *eq = '\0';
            c->key[c->n] = tok;
            c->val[c->n++] = eq + 1;
        }
    }
    fclose(f);
    assert_true(ncases > 40);
}

static const tcase *find(const char *name)
{
    for (int i = 0; i < ncases; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    fail_msg("no case '%s' in the manifest", name);
    return NULL;
}

static const char *get(const tcase *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->key[i], key) == 0)
            return c->val[i];
    return NULL;
}

static double getd(const tcase *c, const char *key)
{
    const char *v = get(c, key);
    if (!v)
        fail_msg("%s: no key %s", c->name, key);
    return strtod(v, NULL);
}

static size_t getlist(const tcase *c, const char *key, double *out, size_t max)
{
    const char *v = get(c, key);
    if (!v)
        fail_msg("%s: no key %s", c->name, key);
    size_t n = 0;
    while (*v && n < max) {
        char *end;
        out[n++] = strtod(v, &end);
        v = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* The array stored under `key`: raw little-endian file, dtype and shape (3 dims, or 4 with channels first). */
static vxt_volume load_array(const tcase *c, const char *key)
{
    char k[64], path[512];
    snprintf(k, sizeof k, "%s_dtype", key);
    vxt_dtype dt;
    assert_ok(vxt_dtype_parse(get(c, k), &dt));
    snprintf(k, sizeof k, "%s_shape", key);
    double sh[4];
    size_t nd = getlist(c, k, sh, 4);
    vxt_volume v = nd == 4   ? pt_alloc(dt, (int64_t)sh[0], (int64_t)sh[1], (int64_t)sh[2], (int64_t)sh[3])
                   : nd == 3 ? pt_alloc(dt, 1, (int64_t)sh[0], (int64_t)sh[1], (int64_t)sh[2])
                             : pt_alloc(dt, 1, 1, 1, (int64_t)sh[0]);
    snprintf(path, sizeof path, "%s/preproc/%s", vxt_test_data_dir(), get(c, key));
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t got = fread(v.data, 1, pt_bytes(&v), f);
    fclose(f);
    if (got != pt_bytes(&v))
        fail_msg("%s: %zu of %zu bytes", path, got, pt_bytes(&v));
    return v;
}

static vxt_context *group_ctx(void **state)
{
    return (vxt_context *)*state;
}

static int setup_cpu(void **state)
{
    load_manifest();
    *state = pt_cpu(2);
    return 0;
}

static int setup_cl(void **state)
{
    load_manifest();
    *state = pt_cl();
    return 0;
}

static int teardown(void **state)
{
    vxt_context_destroy((vxt_context *)*state);
    return 0;
}

/* Largest difference in units of the float32 spacing at max(|expected|, floor). */
static double max_ulps(const float *got, const float *want, size_t n, double floor_mag)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double m = fmax(fabs((double)want[i]), floor_mag);
        float mf = (float)m;
        double ulp = (double)nextafterf(mf, INFINITY) - (double)mf;
        double e = fabs((double)got[i] - (double)want[i]) / ulp;
        worst = e > worst ? e : worst;
    }
    return worst;
}

static double max_abs(const vxt_volume *v)
{
    double m = 0.0;
    for (size_t i = 0; i < pt_elems(v); i++)
        m = fmax(m, fabs((double)vxt__pp_load(v, i)));
    return m;
}

/* ---- numpy: intensity transforms, exact ---------------------------------------------------------------------- */

typedef vxt_status (*pw_fn)(vxt_context *, const tcase *, const vxt_volume *, vxt_volume *);

static vxt_status pw_window(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_window(x, in, out, getd(c, "lo"), getd(c, "hi"));
}
static vxt_status pw_wl(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_window_level_u8(x, in, out, getd(c, "center"), getd(c, "width"));
}
static vxt_status pw_rescale(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_rescale(x, in, out, getd(c, "slope"), getd(c, "intercept"));
}
static vxt_status pw_clip(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_clip(x, in, out, getd(c, "lo"), getd(c, "hi"));
}
static vxt_status pw_replace(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_replace_value(x, in, out, getd(c, "value"), getd(c, "replacement"));
}
static vxt_status pw_ctnorm(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    return vxt_ct_normalize(x, in, out, getd(c, "lo"), getd(c, "hi"), getd(c, "mean"), getd(c, "std"));
}
static vxt_status pw_minmax(vxt_context *x, const tcase *c, const vxt_volume *in, vxt_volume *out)
{
    (void)c;
    return vxt_minmax_normalize(x, in, VXT_SELECT_ALL, NULL, out, NULL);
}

/* numpy evaluates these in float32 with the scalars rounded to float32, one rounding per operation, as voxtile
 * does: the results must be identical (tolerance 0). */
static void test_numpy_intensity_exact(void **state)
{
    vxt_context *ctx = group_ctx(state);
    static const struct {
        const char *name;
        pw_fn fn;
    } list[] = {{"window", pw_window},   {"window_level", pw_wl},     {"rescale_u8", pw_rescale}, {"clip_f32", pw_clip},
                {"replace", pw_replace}, {"ct_normalize", pw_ctnorm}, {"minmax_ct", pw_minmax}};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        const tcase *c = find(list[i].name);
        vxt_volume in = load_array(c, "input"), want = load_array(c, "expect");
        vxt_volume out = pt_alloc(want.dtype, 1, want.shape[0], want.shape[1], want.shape[2]);
        assert_ok(list[i].fn(ctx, c, &in, &out));
        size_t bad = pt_diff(out.data, want.data, pt_elems(&out), vxt_dtype_size(out.dtype), c->name);
        print_message("numpy %-14s %zu voxels, %zu differ\n", c->name, pt_elems(&out), bad);
        assert_int_equal(bad, 0);
        pt_free(&in);
        pt_free(&want);
        pt_free(&out);
    }
}

/* z-score with numpy's float64 statistics: mean and std agree to 1e-12 (voxtile's are exact sums for 16-bit
 * data, numpy's pairwise float64 sums), so the float32 mean and divisor round to the same floats and the voxels
 * are identical; 1 ulp is allowed for a statistic that lands within 1e-12 of a float32 rounding boundary. */
static void test_numpy_zscore(void **state)
{
    vxt_context *ctx = group_ctx(state);
    const char *names[] = {"zscore_ct_all", "zscore_ct_nonzero", "zscore_ct_mask", "zscore_f32_all",
                           "zscore_f32_nonzero"};
    for (size_t i = 0; i < 5; i++) {
        const tcase *c = find(names[i]);
        vxt_volume in = load_array(c, "input"), want = load_array(c, "expect");
        vxt_volume mask = {0};
        const char *sel = get(c, "select");
        vxt_select s = strcmp(sel, "all") == 0 ? VXT_SELECT_ALL
                                               : (strcmp(sel, "nonzero") == 0 ? VXT_SELECT_NONZERO : VXT_SELECT_MASK);
        if (s == VXT_SELECT_MASK)
            mask = load_array(c, "mask");
        vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, in.shape[0], in.shape[1], in.shape[2]);
        vxt_stats st = {.struct_size = sizeof st};
        assert_ok(vxt_zscore(ctx, &in, s, s == VXT_SELECT_MASK ? &mask : NULL, &out, &st));
        double em = fabs(st.mean - getd(c, "mean")) / getd(c, "std"), es = fabs(st.std / getd(c, "std") - 1.0);
        double u = max_ulps((const float *)out.data, (const float *)want.data, pt_elems(&out), 0.0);
        print_message("numpy %-18s mean err %.2g std, std rel err %.2g, voxels max %.1f ulp\n", c->name, em, es, u);
        assert_true(em <= 1e-12 && es <= 1e-12);
        assert_true(st.count == (uint64_t)getd(c, "count") && st.min == getd(c, "min") && st.max == getd(c, "max"));
        assert_true(u <= 1.0);
        pt_free(&in);
        pt_free(&want);
        pt_free(&out);
        if (mask.data)
            pt_free(&mask);
    }
}

/* Percentiles: the same order statistics and numpy's interpolation formula in double: identical (tolerance 0). */
static void test_numpy_percentiles(void **state)
{
    vxt_context *ctx = group_ctx(state);
    const char *names[] = {"percentile_ct",         "percentile_u8",      "percentile_f32",        "percentile_i32",
                           "percentile_ct_nonzero", "percentile_ct_mask", "percentile_f32_nonzero"};
    for (size_t i = 0; i < 7; i++) {
        const tcase *c = find(names[i]);
        vxt_volume in = load_array(c, "input"), mask = {0};
        vxt_select s = strstr(c->name, "nonzero") ? VXT_SELECT_NONZERO
                                                  : (strstr(c->name, "mask") ? VXT_SELECT_MASK : VXT_SELECT_ALL);
        if (s == VXT_SELECT_MASK)
            mask = load_array(c, "mask");
        double q[16], want[16], got[16];
        size_t nq = getlist(c, "q", q, 16);
        assert_int_equal(getlist(c, "expect", want, 16), nq);
        assert_ok(vxt_percentiles(ctx, &in, s, s == VXT_SELECT_MASK ? &mask : NULL, q, nq, got));
        for (size_t k = 0; k < nq; k++)
            if (got[k] != want[k])
                fail_msg("%s q=%g: %.17g, numpy %.17g", c->name, q[k], got[k], want[k]);
        print_message("numpy %-22s %zu percentiles identical\n", c->name, nq);
        pt_free(&in);
        if (mask.data)
            pt_free(&mask);
    }
    const tcase *c = find("percentile_clip_ct");
    vxt_volume in = load_array(c, "input"), want = load_array(c, "expect");
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, in.shape[0], in.shape[1], in.shape[2]);
    double b[2], wb[2];
    getlist(c, "bounds", wb, 2);
    assert_ok(vxt_percentile_clip(ctx, &in, VXT_SELECT_NONZERO, NULL, getd(c, "p_lo"), getd(c, "p_hi"), &out, b));
    assert_true(b[0] == wb[0] && b[1] == wb[1]);
    assert_int_equal(pt_diff(out.data, want.data, pt_elems(&out), 4, c->name), 0);
    pt_free(&in);
    pt_free(&want);
    pt_free(&out);
}

/* np.histogram: integer counts, identical. */
static void test_numpy_histograms(void **state)
{
    vxt_context *ctx = group_ctx(state);
    const char *names[] = {"histogram_ct", "histogram_f32", "histogram_u8", "histogram_ct_mask"};
    for (size_t i = 0; i < 4; i++) {
        const tcase *c = find(names[i]);
        vxt_volume in = load_array(c, "input"), want = load_array(c, "expect"), mask = {0};
        if (strstr(c->name, "mask"))
            mask = load_array(c, "mask");
        size_t nb = (size_t)getd(c, "nbins");
        uint64_t got[256];
        assert_ok(vxt_histogram(ctx, &in, mask.data ? VXT_SELECT_MASK : VXT_SELECT_ALL, mask.data ? &mask : NULL,
                                getd(c, "lo"), getd(c, "hi"), nb, got));
        assert_memory_equal(got, want.data, nb * sizeof(uint64_t));
        pt_free(&in);
        pt_free(&want);
        if (mask.data)
            pt_free(&mask);
    }
}

/* ---- torch and scipy: resampling ------------------------------------------------------------------------------ */

static void run_resample_case(vxt_context *ctx, const char *name, const vxt_resample_options *o, double tol_ulps,
                              double tol_rel, const char *why)
{
    const tcase *c = find(name);
    vxt_volume in = load_array(c, "input"), want = load_array(c, "expect");
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, want.channels, want.shape[0], want.shape[1], want.shape[2]);
    assert_ok(vxt_resample(ctx, &in, &out, o));
    const double mag = max_abs(&in);
    double u = max_ulps((const float *)out.data, (const float *)want.data, pt_elems(&out), 0.0);
    double r = 0.0;
    size_t differ = 0;
    for (size_t i = 0; i < pt_elems(&out); i++) {
        double d = fabs((double)((float *)out.data)[i] - (double)((float *)want.data)[i]);
        r = fmax(r, d / mag);
        differ += d != 0.0;
    }
    const float mf = (float)mag;
    const double ulp_max = (double)nextafterf(mf, INFINITY) - (double)mf;
    print_message("%-32s %6zu voxels, %5zu differ, max |diff| %.2g of max|input| = %.2f ulp of max|input| (%s)\n", name,
                  pt_elems(&out), differ, r, r * mag / ulp_max, why);
    if (!(u <= tol_ulps || r <= tol_rel))
        fail_msg("%s: %.2f ulp / %.3g relative exceeds the tolerance (%g ulp or %g)", name, u, r, tol_ulps, tol_rel);
    pt_free(&in);
    pt_free(&want);
    pt_free(&out);
}

/* torch.nn.functional.interpolate(trilinear, align_corners=False): voxtile builds torch's source indices and weights
 * exactly (index in double from the float32 ratio, weights rounded to float32: UpSample.h) and blends in torch's
 * order, x innermost, each product and sum rounded. Debian's torch is compiled with FMA contraction in its AVX2
 * kernels: it evaluates t0*w0 + t1*w1 as fma(t0, w0, t1*w1), one rounding fewer per lerp (checked on 1D cases:
 * with that fma the emulation matches torch bit for bit). voxtile does not fuse (docs/DETERMINISM.md), so results
 * differ by at most a rounding per lerp: tolerance 2 float32 ulps of the largest input value (2^-22 of max|input|).
 * A per-voxel ulp measure is meaningless here: a result near 0 from cancelling neighbours has tiny ulps. */
static void test_torch_trilinear(void **state)
{
    vxt_context *ctx = group_ctx(state);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    const char *why = "torch fuses its lerps";
    const double tol = 2.384185791015625e-07; /* 2^-22 */
    run_resample_case(ctx, "torch_trilinear_up", &o, 0.0, tol, why);
    run_resample_case(ctx, "torch_trilinear_down", &o, 0.0, tol, why);
    run_resample_case(ctx, "torch_trilinear_mixed", &o, 0.0, tol, why);
    run_resample_case(ctx, "torch_trilinear_f32", &o, 0.0, tol, why);
    run_resample_case(ctx, "torch_trilinear_logits", &o, 0.0, tol, why);
    double sc[3];
    getlist(find("torch_trilinear_scale"), "scale", sc, 3);
    for (int a = 0; a < 3; a++)
        o.scale[a] = sc[a];
    run_resample_case(ctx, "torch_trilinear_scale", &o, 0.0, tol, why);
    /* nearest: indices only, identical */
    vxt_resample_options_init(&o);
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST;
    run_resample_case(ctx, "torch_nearest", &o, 0.0, 0.0, "exact");
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST_FLOOR;
    run_resample_case(ctx, "torch_nearest_floor", &o, 0.0, 0.0, "exact");
    /* nnU-Net's anisotropic variant: torch bilinear in-plane, nearest-exact along z */
    vxt_resample_options_init(&o);
    o.interp[0] = VXT_INTERP_NEAREST;
    run_resample_case(ctx, "nnunet_aniso", &o, 0.0, tol, why);
}

/* scipy.ndimage.zoom computes coordinates, weights and the blend in double and rounds once; voxtile's weights
 * are that double weight rounded to float32 and its blend is in float32 (7 roundings): a few float32 ulps of the
 * input's magnitude (tolerance 4e-7 of max|input|, about 3.4 ulp at the largest value). Order 0 is exact. */
static void test_scipy_zoom(void **state)
{
    vxt_context *ctx = group_ctx(state);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.align = VXT_ALIGN_CORNERS;
    run_resample_case(ctx, "scipy_zoom1_up", &o, 0.0, 4e-7, "scipy: double arithmetic");
    run_resample_case(ctx, "scipy_zoom1_down", &o, 0.0, 4e-7, "scipy: double arithmetic");
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST;
    run_resample_case(ctx, "scipy_zoom0_up", &o, 0.0, 0.0, "exact");
    run_resample_case(ctx, "scipy_zoom0_down", &o, 0.0, 0.0, "exact");
    /* half-pixel grid with scipy's grid-constant mode: voxtile's half-pixel coordinates follow torch in float32
     * (scipy: double), which moves a sample by up to ~1e-6 voxel: tolerance 2e-6 of max|input| */
    vxt_resample_options_init(&o);
    o.boundary = VXT_BOUNDARY_CONSTANT;
    o.fill_value = getd(find("scipy_zoom1_halfpixel_constant"), "fill");
    run_resample_case(ctx, "scipy_zoom1_halfpixel_constant", &o, 0.0, 2e-6, "float32 vs double coordinates");
}

/* scipy.ndimage.affine_transform: coordinates in double; voxtile's are float32 ((m0*z + m1*y) + m2*x) + m3, off by
 * up to a few 1e-6 voxel for these sizes, times the local gradient (up to ~3000 HU/voxel here): tolerance 2e-5 of
 * max|input| for linear. Nearest: a coordinate within float32 rounding of a half-integer may round the other way:
 * at most 0.5% of voxels may differ. Integer coordinates (permutation, flip): exact. */
static void test_scipy_affine(void **state)
{
    vxt_context *ctx = group_ctx(state);
    const char *names[] = {"scipy_affine_linear_clamp", "scipy_affine_linear_constant", "scipy_affine_nearest_clamp",
                           "affine_permute_flip"};
    for (size_t i = 0; i < 4; i++) {
        const tcase *c = find(names[i]);
        vxt_volume in = load_array(c, "input"), want = load_array(c, "expect");
        vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, want.shape[0], want.shape[1], want.shape[2]);
        double m[16];
        assert_int_equal(getlist(c, "matrix", m, 16), 16);
        vxt_affine_options o;
        vxt_affine_options_init(&o);
        o.interp = strstr(c->name, "nearest") ? VXT_INTERP_NEAREST : VXT_INTERP_LINEAR;
        o.boundary = strstr(c->name, "constant") ? VXT_BOUNDARY_CONSTANT : VXT_BOUNDARY_CLAMP;
        if (get(c, "fill"))
            o.fill_value = getd(c, "fill");
        assert_ok(vxt_resample_affine(ctx, &in, &out, m, &o));
        const double mag = max_abs(&in);
        double r = 0.0;
        size_t differ = 0;
        for (size_t k = 0; k < pt_elems(&out); k++) {
            double d = fabs((double)((float *)out.data)[k] - (double)((float *)want.data)[k]);
            r = fmax(r, d / mag);
            differ += d != 0.0;
        }
        print_message("%-32s %6zu voxels, %5zu differ, max |diff| %.2g of max|input|\n", c->name, pt_elems(&out),
                      differ, r);
        if (i == 3)
            assert_int_equal(differ, 0);
        else if (i == 2)
            assert_true(differ * 200 <= pt_elems(&out));
        else
            assert_true(r <= 2e-5);
        pt_free(&in);
        pt_free(&want);
        pt_free(&out);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests_cpu[] = {
        cmocka_unit_test_setup_teardown(test_numpy_intensity_exact, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_zscore, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_percentiles, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_histograms, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_torch_trilinear, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_scipy_zoom, setup_cpu, teardown),
        cmocka_unit_test_setup_teardown(test_scipy_affine, setup_cpu, teardown),
    };
    const struct CMUnitTest tests_cl[] = {
        cmocka_unit_test_setup_teardown(test_numpy_intensity_exact, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_zscore, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_percentiles, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_histograms, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_torch_trilinear, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_scipy_zoom, setup_cl, teardown),
        cmocka_unit_test_setup_teardown(test_scipy_affine, setup_cl, teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", tests_cpu, 0), VXT_GROUP("opencl", tests_cl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
