/* test_stats.c - statistics, exact percentiles, histograms and the data-dependent normalizations built on them:
 * naive references (sorting, long double sums, numpy's histogram rule), thread-count invariance, edge cases and
 * bad input (cpu); identical results on the OpenCL device, in slabs and with both histogram kernels (opencl). */
#include "preproc_testutil.h"

static const vxt_select sels[] = {VXT_SELECT_ALL, VXT_SELECT_NONZERO, VXT_SELECT_MASK};
static const char *const sel_names[] = {"all", "nonzero", "mask"};

/* A volume of type t with a few NaNs in float types (excluded by the statistics). */
static vxt_volume make_input(vxt_dtype t, int64_t nz, int64_t ny, int64_t nx, uint64_t seed)
{
    vxt_volume v = pt_alloc(t, 1, nz, ny, nx);
    pt_fill(&v, seed, 0);
    if (t == VXT_DTYPE_F32 || t == VXT_DTYPE_F64)
        for (size_t i = 5; i < pt_elems(&v); i += 997)
            pt_set(&v, i, NAN);
    return v;
}

static int selected(const vxt_volume *in, const vxt_volume *mask, vxt_select sel, size_t i, float *v)
{
    *v = vxt__pp_load(in, i);
    if (sel == VXT_SELECT_NONZERO && !(*v != 0.0f))
        return 0;
    if (sel == VXT_SELECT_MASK && ((const unsigned char *)mask->data)[i] == 0)
        return 0;
    return 1;
}

/* ---- references ------------------------------------------------------------------------------------------------ */

static void ref_stats(const vxt_volume *in, const vxt_volume *mask, vxt_select sel, vxt_stats *s)
{
    long double sum = 0.0L;
    uint64_t n = 0, nan = 0;
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < pt_elems(in); i++) {
        float v;
        if (!selected(in, mask, sel, i, &v))
            continue;
        if (isnan(v)) {
            nan++;
            continue;
        }
        n++;
        sum += (long double)v;
        mn = (double)v < mn ? (double)v : mn;
        mx = (double)v > mx ? (double)v : mx;
    }
    long double mean = n ? sum / (long double)n : 0.0L, ss = 0.0L;
    for (size_t i = 0; i < pt_elems(in); i++) {
        float v;
        if (selected(in, mask, sel, i, &v) && !isnan(v))
            ss += ((long double)v - mean) * ((long double)v - mean);
    }
    s->count = n;
    s->nan_count = nan;
    s->min = mn;
    s->max = mx;
    s->mean = (double)mean;
    s->std = n ? (double)sqrtl(ss / (long double)n) : NAN;
    s->sum = (double)sum;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(x[sel], q) ('linear'), from a sorted copy; diff in float32 for float data (numpy's _lerp). */
static void ref_percentiles(const vxt_volume *in, const vxt_volume *mask, vxt_select sel, const double *q, size_t nq,
                            double *out)
{
    double *v = malloc(pt_elems(in) * sizeof *v);
    assert_non_null(v);
    size_t n = 0;
    for (size_t i = 0; i < pt_elems(in); i++) {
        float f;
        if (selected(in, mask, sel, i, &f) && !isnan(f)) {
            if (in->dtype == VXT_DTYPE_I32) { /* keys are exact for int32 */
                int32_t x;
                memcpy(&x, (const char *)in->data + 4 * i, 4);
                v[n++] = (double)x;
            } else {
                v[n++] = f == 0.0f ? 0.0 : (double)f;
            }
        }
    }
    qsort(v, n, sizeof *v, cmp_double);
    const int flt = in->dtype == VXT_DTYPE_F32 || in->dtype == VXT_DTYPE_F64;
    for (size_t k = 0; k < nq; k++) {
        double virt = (double)(n - 1) * (q[k] / 100.0);
        size_t i0, i1;
        double prev;
        if (virt >= (double)(n - 1)) {
            i0 = i1 = n - 1;
            prev = -1.0;
        } else {
            prev = floor(virt);
            i0 = (size_t)prev;
            i1 = i0 + 1;
        }
        double g = virt - prev, a = v[i0], b = v[i1];
        double diff = flt ? (double)((float)b - (float)a) : b - a;
        out[k] = g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
    }
    free(v);
}

/* numpy.histogram's edges (linspace, in double; float32 for float32 data) and its rule. */
static void ref_histogram(const vxt_volume *in, const vxt_volume *mask, vxt_select sel, double lo, double hi, size_t nb,
                          uint64_t *counts)
{
    double *e = malloc((nb + 1) * sizeof *e);
    assert_non_null(e);
    const double step = (hi - lo) / (double)nb;
    for (size_t i = 0; i <= nb; i++) {
        e[i] = i == nb ? hi : (double)i * step + lo;
        if (in->dtype == VXT_DTYPE_F32)
            e[i] = (double)(float)e[i];
    }
    memset(counts, 0, nb * sizeof *counts);
    for (size_t i = 0; i < pt_elems(in); i++) {
        float f;
        if (!selected(in, mask, sel, i, &f) || isnan(f))
            continue;
        double v = (double)f;
        if (v < e[0] || v > e[nb])
            continue;
        size_t b = 0;
        while (b + 1 < nb && v >= e[b + 1])
            b++;
        counts[b]++;
    }
    free(e);
}

/* ---- cpu ------------------------------------------------------------------------------------------------------- */

static void test_stats_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = make_input(pt_types[t], 17, 41, 59, 10 + t); /* 41123 voxels: 3 blocks */
        vxt_volume mask = pt_mask(&in, t, 30);
        for (size_t s = 0; s < 3; s++) {
            vxt_stats got = {.struct_size = sizeof got}, ref;
            assert_ok(vxt_statistics(ctx, &in, sels[s], s == 2 ? &mask : NULL, &got));
            ref_stats(&in, &mask, sels[s], &ref);
            assert_int_equal(got.count, ref.count);
            assert_int_equal(got.nan_count, ref.nan_count);
            assert_true(got.min == ref.min && got.max == ref.max);
            double em = fabs(got.mean - ref.mean) / (fabs(ref.mean) + ref.std);
            double es = fabs(got.std - ref.std) / ref.std;
            double esum = fabs(got.sum - ref.sum) / (fabs(ref.sum) + 1.0);
            if (t <= 3) { /* 8/16-bit data: exact integer sums */
                assert_true(got.sum == ref.sum);
                assert_true(em <= 1e-15 && es <= 1e-14);
            } else {
                assert_true(em <= 1e-13 && es <= 1e-12 && esum <= 1e-12);
            }
        }
        pt_free(&in);
        pt_free(&mask);
    }
    vxt_context_destroy(ctx);
}

static void test_percentiles_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    double q[40];
    vxt_rng r = {5};
    const double fixed[] = {0.0, 100.0, 50.0, 0.5, 99.5, 25.0, 75.0, 1e-9, 99.999999};
    for (size_t i = 0; i < 40; i++)
        q[i] = i < 9 ? fixed[i] : 100.0 * vxt_rng_uniform(&r, 0.0f, 1.0f);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = make_input(pt_types[t], 9, 23, 31, 20 + t);
        vxt_volume mask = pt_mask(&in, t, 20);
        for (size_t s = 0; s < 3; s++) {
            double got[40], ref[40];
            assert_ok(vxt_percentiles(ctx, &in, sels[s], s == 2 ? &mask : NULL, q, 40, got));
            ref_percentiles(&in, &mask, sels[s], q, 40, ref);
            for (size_t k = 0; k < 40; k++)
                if (memcmp(&got[k], &ref[k], sizeof(double)) != 0)
                    fail_msg("%s %s q=%.17g: %.17g, expected %.17g", vxt_dtype_name(pt_types[t]), sel_names[s], q[k],
                             got[k], ref[k]);
        }
        pt_free(&in);
        pt_free(&mask);
    }
    /* ties, a single voxel, negative zeros and a constant volume */
    float v[5] = {-0.0f, 0.0f, 3.0f, 3.0f, -7.0f};
    vxt_volume in = {v, VXT_DTYPE_F32, 1, {1, 1, 5}};
    double qq[3] = {0.0, 37.5, 100.0}, out[3];
    assert_ok(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qq, 3, out));
    assert_true(out[0] == -7.0 && out[1] == 0.0 && out[2] == 3.0);
    in.shape[2] = 1;
    assert_ok(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qq, 3, out));
    assert_true(out[0] == 0.0 && out[2] == 0.0);
    /* numpy's two interpolation formulas (gamma < 0.5 from below, >= 0.5 from above) with a float32 difference:
     * values from numpy 1.24 */
    float tie[3] = {0.1f, 1e8f, 3.0f};
    vxt_volume tv = {tie, VXT_DTYPE_F32, 1, {1, 1, 2}};
    double q50 = 50.0, q25 = 25.0, pr;
    assert_ok(vxt_percentiles(ctx, &tv, VXT_SELECT_ALL, NULL, &q50, 1, &pr));
    assert_true(pr == 50000000.0);
    tv.shape[2] = 3;
    assert_ok(vxt_percentiles(ctx, &tv, VXT_SELECT_ALL, NULL, &q25, 1, &pr));
    assert_true(pr == 1.5499999523162842);
    /* numpy subtracts int16 values in int16 and wraps ([-30000, 30000] at 50 gives 32768); voxtile is exact */
    int16_t wide[2] = {-30000, 30000};
    vxt_volume wv = {wide, VXT_DTYPE_I16, 1, {1, 1, 2}};
    assert_ok(vxt_percentiles(ctx, &wv, VXT_SELECT_ALL, NULL, &q50, 1, &pr));
    assert_true(pr == 0.0);
    vxt_context_destroy(ctx);
}

static void test_histogram_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    const struct {
        double lo, hi;
        size_t nb;
    } cases[] = {{-1024.0, 3071.0, 50}, {-0.1, 0.3, 7}, {0.0, 256.0, 256}, {-999.75, 1000.5, 1000}, {1.0, 2.0, 1}};
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = make_input(pt_types[t], 7, 19, 29, 30 + t);
        vxt_volume mask = pt_mask(&in, t, 60);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (size_t s = 0; s < 3; s++) {
                uint64_t got[1000], ref[1000];
                assert_ok(vxt_histogram(ctx, &in, sels[s], s == 2 ? &mask : NULL, cases[c].lo, cases[c].hi, cases[c].nb,
                                        got));
                ref_histogram(&in, &mask, sels[s], cases[c].lo, cases[c].hi, cases[c].nb, ref);
                assert_memory_equal(got, ref, cases[c].nb * sizeof *got);
            }
        pt_free(&in);
        pt_free(&mask);
    }
    /* values exactly on edges go to the bin above; the last edge is in the last bin */
    int16_t e[6] = {0, 10, 20, 30, 40, 41};
    vxt_volume in = {e, VXT_DTYPE_I16, 1, {1, 1, 6}};
    uint64_t h[4];
    assert_ok(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 0.0, 40.0, 4, h));
    assert_true(h[0] == 1 && h[1] == 1 && h[2] == 1 && h[3] == 2);
    vxt_context_destroy(ctx);
}

static void test_threads(void **state)
{
    (void)state;
    vxt_context *c1 = pt_cpu(1), *c5 = pt_cpu(5);
    double q[4] = {0.5, 99.5, 50.0, 10.0};
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = make_input(pt_types[t], 11, 61, 67, 40 + t);
        vxt_volume mask = pt_mask(&in, t, 45);
        for (size_t s = 0; s < 3; s++) {
            const vxt_volume *m = s == 2 ? &mask : NULL;
            vxt_stats a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
            assert_ok(vxt_statistics(c1, &in, sels[s], m, &a));
            assert_ok(vxt_statistics(c5, &in, sels[s], m, &b));
            assert_memory_equal(&a, &b, sizeof a);
            double pa[4], pb[4];
            assert_ok(vxt_percentiles(c1, &in, sels[s], m, q, 4, pa));
            assert_ok(vxt_percentiles(c5, &in, sels[s], m, q, 4, pb));
            assert_memory_equal(pa, pb, sizeof pa);
        }
        pt_free(&in);
        pt_free(&mask);
    }
    vxt_context_destroy(c1);
    vxt_context_destroy(c5);
}

static void test_normalizations(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    vxt_volume in = make_input(VXT_DTYPE_I16, 9, 21, 33, 50);
    vxt_volume keep = pt_copy(&in);
    vxt_volume mask = pt_mask(&in, 3, 50);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 9, 21, 33);
    for (size_t s = 0; s < 3; s++) {
        const vxt_volume *m = s == 2 ? &mask : NULL;
        vxt_stats st = {.struct_size = sizeof st};
        assert_ok(vxt_zscore(ctx, &in, sels[s], m, &out, &st));
        const float mean = (float)st.mean, sd = (float)st.std;
        for (size_t i = 0; i < pt_elems(&in); i++) {
            float v;
            float want = selected(&in, &mask, sels[s], i, &v) ? (v - mean) / sd : v;
            assert_memory_equal(&want, &((float *)out.data)[i], 4);
        }
        assert_ok(vxt_minmax_normalize(ctx, &in, sels[s], m, &out, &st));
        for (size_t i = 0; i < pt_elems(&in); i++) {
            float v;
            float want =
                selected(&in, &mask, sels[s], i, &v) ? (v - (float)st.min) / ((float)st.max - (float)st.min) : v;
            assert_memory_equal(&want, &((float *)out.data)[i], 4);
        }
        double b[2];
        assert_ok(vxt_percentile_clip(ctx, &in, sels[s], m, 0.5, 99.5, &out, b));
        double pq[2] = {0.5, 99.5}, pv[2];
        assert_ok(vxt_percentiles(ctx, &in, sels[s], m, pq, 2, pv));
        assert_true(b[0] == pv[0] && b[1] == pv[1]);
        for (size_t i = 0; i < pt_elems(&in); i++) {
            float v = vxt__pp_load(&in, i);
            float want = v < (float)b[0] ? (float)b[0] : (v > (float)b[1] ? (float)b[1] : v);
            assert_memory_equal(&want, &((float *)out.data)[i], 4);
        }
    }
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    /* in place on float32 */
    vxt_volume f = make_input(VXT_DTYPE_F32, 5, 13, 17, 51);
    vxt_volume f2 = pt_copy(&f);
    vxt_volume o2 = pt_alloc(VXT_DTYPE_F32, 1, 5, 13, 17);
    assert_ok(vxt_zscore(ctx, &f, VXT_SELECT_NONZERO, NULL, &o2, NULL));
    assert_ok(vxt_zscore(ctx, &f2, VXT_SELECT_NONZERO, NULL, &f2, NULL));
    assert_int_equal(pt_diff(o2.data, f2.data, pt_elems(&f), 4, "zscore in place"), 0);
    /* constant volume: std 0 -> divisor 1e-8; min-max range 0 -> 1e-8 */
    int16_t cst[8] = {5, 5, 5, 5, 5, 5, 5, 5};
    float co[8];
    vxt_volume cin = {cst, VXT_DTYPE_I16, 1, {2, 2, 2}}, cout = {co, VXT_DTYPE_F32, 1, {2, 2, 2}};
    assert_ok(vxt_zscore(ctx, &cin, VXT_SELECT_ALL, NULL, &cout, NULL));
    assert_true(co[0] == 0.0f);
    assert_ok(vxt_minmax_normalize(ctx, &cin, VXT_SELECT_ALL, NULL, &cout, NULL));
    assert_true(co[7] == 0.0f);
    pt_free(&in);
    pt_free(&keep);
    pt_free(&mask);
    pt_free(&out);
    pt_free(&f);
    pt_free(&f2);
    pt_free(&o2);
    vxt_context_destroy(ctx);
}

static void test_empty_selection_and_bad_input(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    int16_t zeros[12] = {0};
    vxt_volume z = {zeros, VXT_DTYPE_I16, 1, {1, 3, 4}};
    vxt_stats s = {.struct_size = sizeof s};
    assert_ok(vxt_statistics(ctx, &z, VXT_SELECT_NONZERO, NULL, &s));
    assert_true(s.count == 0 && isnan(s.mean) && isnan(s.std) && isnan(s.min));
    double q = 50.0, v;
    assert_status_msg(vxt_percentiles(ctx, &z, VXT_SELECT_NONZERO, NULL, &q, 1, &v), VXT_ERR_INVALID_ARGUMENT,
                      "no voxel");
    float fo[12];
    vxt_volume zo = {fo, VXT_DTYPE_F32, 1, {1, 3, 4}};
    assert_status_msg(vxt_zscore(ctx, &z, VXT_SELECT_NONZERO, NULL, &zo, NULL), VXT_ERR_INVALID_ARGUMENT, "no voxel");
    assert_status_msg(vxt_minmax_normalize(ctx, &z, VXT_SELECT_NONZERO, NULL, &zo, NULL), VXT_ERR_INVALID_ARGUMENT,
                      "no voxel");
    assert_status_msg(vxt_percentile_clip(ctx, &z, VXT_SELECT_NONZERO, NULL, 1, 99, &zo, NULL),
                      VXT_ERR_INVALID_ARGUMENT, "no voxel");
    /* NaN only */
    float nans[4] = {NAN, NAN, NAN, NAN};
    vxt_volume nv = {nans, VXT_DTYPE_F32, 1, {1, 1, 4}};
    assert_ok(vxt_statistics(ctx, &nv, VXT_SELECT_ALL, NULL, &s));
    assert_true(s.count == 0 && s.nan_count == 4);
    /* percentile arguments */
    vxt_volume in = make_input(VXT_DTYPE_I16, 3, 4, 5, 1);
    vxt_volume keep = pt_copy(&in);
    double qs[2] = {-1.0, 50.0}, vs[2];
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qs, 2, vs), VXT_ERR_INVALID_ARGUMENT,
                      "q[0] is -1");
    qs[0] = 100.5;
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qs, 2, vs), VXT_ERR_INVALID_ARGUMENT, "q[0]");
    qs[0] = NAN;
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qs, 2, vs), VXT_ERR_INVALID_ARGUMENT,
                      "q[0] is nan");
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qs, 0, vs), VXT_ERR_INVALID_ARGUMENT, "nq is 0");
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, NULL, 1, vs), VXT_ERR_NULL, "q");
    assert_status_msg(vxt_percentiles(ctx, &in, VXT_SELECT_ALL, NULL, qs, 1, NULL), VXT_ERR_NULL, "values");
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 3, 4, 5);
    assert_status_msg(vxt_percentile_clip(ctx, &in, VXT_SELECT_ALL, NULL, 60, 40, &out, NULL), VXT_ERR_INVALID_ARGUMENT,
                      "p_lo (60) > p_hi (40)");
    assert_status_msg(vxt_percentile_clip(ctx, &in, VXT_SELECT_ALL, NULL, -1, 40, &out, NULL), VXT_ERR_INVALID_ARGUMENT,
                      "p_lo is -1");
    assert_status_msg(vxt_percentile_clip(ctx, &in, VXT_SELECT_ALL, NULL, 1, 140, &out, NULL), VXT_ERR_INVALID_ARGUMENT,
                      "p_hi is 140");
    /* histogram arguments */
    uint64_t h[4];
    assert_status_msg(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 1, 1, 4, h), VXT_ERR_INVALID_ARGUMENT, "range");
    assert_status_msg(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 0, INFINITY, 4, h), VXT_ERR_INVALID_ARGUMENT,
                      "range");
    assert_status_msg(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 0, 1, 0, h), VXT_ERR_INVALID_ARGUMENT,
                      "nbins is 0");
    assert_status_msg(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 0, 1, (size_t)1 << 21, h), VXT_ERR_INVALID_ARGUMENT,
                      "nbins");
    assert_status_msg(vxt_histogram(ctx, &in, VXT_SELECT_ALL, NULL, 0, 1, 4, NULL), VXT_ERR_NULL, "counts");
    /* statistics arguments */
    assert_status_msg(vxt_statistics(ctx, &in, VXT_SELECT_ALL, NULL, NULL), VXT_ERR_NULL, "out");
    vxt_stats small = {.struct_size = 8};
    assert_status_msg(vxt_statistics(ctx, &in, VXT_SELECT_ALL, NULL, &small), VXT_ERR_STRUCT_SIZE, "struct_size");
    assert_status_msg(vxt_statistics(NULL, &in, VXT_SELECT_ALL, NULL, &s), VXT_ERR_NULL, "ctx");
    vxt_volume two = in;
    two.channels = 2;
    assert_status_msg(vxt_statistics(ctx, &two, VXT_SELECT_ALL, NULL, &s), VXT_ERR_UNSUPPORTED, "channels");
    vxt_volume mask = pt_mask(&in, 1, 50);
    mask.shape[2] = 4;
    assert_status_msg(vxt_statistics(ctx, &in, VXT_SELECT_MASK, &mask, &s), VXT_ERR_SHAPE_MISMATCH, "mask shape");
    mask.shape[2] = 5;
    assert_status_msg(vxt_statistics(ctx, &in, VXT_SELECT_NONZERO, &mask, &s), VXT_ERR_INVALID_ARGUMENT, "mask");
    assert_status_msg(vxt_zscore(ctx, &in, VXT_SELECT_ALL, NULL, &out, &small), VXT_ERR_STRUCT_SIZE, "struct_size");
    vxt_volume o16 = in;
    assert_status_msg(vxt_zscore(ctx, &in, VXT_SELECT_ALL, NULL, &o16, NULL), VXT_ERR_INVALID_ARGUMENT, "out.dtype");
    /* infinite values make the z-score undefined */
    float infv[3] = {1.0f, INFINITY, 2.0f};
    vxt_volume iv = {infv, VXT_DTYPE_F32, 1, {1, 1, 3}};
    float io[3];
    vxt_volume ivo = {io, VXT_DTYPE_F32, 1, {1, 1, 3}};
    assert_status_msg(vxt_zscore(ctx, &iv, VXT_SELECT_ALL, NULL, &ivo, NULL), VXT_ERR_NONFINITE, "infinite");
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    pt_free(&in);
    pt_free(&keep);
    pt_free(&out);
    pt_free(&mask);
    vxt_context_destroy(ctx);
}

/* ---- opencl ---------------------------------------------------------------------------------------------------- */

static void compare_backends(vxt_context *a, vxt_context *b, const vxt_volume *in, const vxt_volume *mask,
                             const char *what)
{
    double q[6] = {0.0, 0.5, 33.3, 50.0, 99.5, 100.0};
    for (size_t s = 0; s < 3; s++) {
        const vxt_volume *m = s == 2 ? mask : NULL;
        vxt_stats sa = {.struct_size = sizeof sa}, sb = {.struct_size = sizeof sb};
        assert_ok(vxt_statistics(a, in, sels[s], m, &sa));
        assert_ok(vxt_statistics(b, in, sels[s], m, &sb));
        if (memcmp(&sa, &sb, sizeof sa) != 0)
            fail_msg("%s %s: statistics differ: mean %.17g/%.17g std %.17g/%.17g", what, sel_names[s], sa.mean, sb.mean,
                     sa.std, sb.std);
        double pa[6], pb[6];
        assert_ok(vxt_percentiles(a, in, sels[s], m, q, 6, pa));
        assert_ok(vxt_percentiles(b, in, sels[s], m, q, 6, pb));
        assert_memory_equal(pa, pb, sizeof pa);
        uint64_t ha[300], hb[300];
        assert_ok(vxt_histogram(a, in, sels[s], m, -1500.0, 2500.0, 300, ha));
        assert_ok(vxt_histogram(b, in, sels[s], m, -1500.0, 2500.0, 300, hb));
        assert_memory_equal(ha, hb, sizeof ha);
        vxt_volume oa = pt_alloc(VXT_DTYPE_F32, 1, in->shape[0], in->shape[1], in->shape[2]);
        vxt_volume ob = pt_alloc(VXT_DTYPE_F32, 1, in->shape[0], in->shape[1], in->shape[2]);
        assert_ok(vxt_zscore(a, in, sels[s], m, &oa, NULL));
        assert_ok(vxt_zscore(b, in, sels[s], m, &ob, NULL));
        assert_int_equal(pt_diff(oa.data, ob.data, pt_elems(&oa), 4, "zscore"), 0);
        assert_ok(vxt_minmax_normalize(a, in, sels[s], m, &oa, NULL));
        assert_ok(vxt_minmax_normalize(b, in, sels[s], m, &ob, NULL));
        assert_int_equal(pt_diff(oa.data, ob.data, pt_elems(&oa), 4, "minmax"), 0);
        assert_ok(vxt_percentile_clip(a, in, sels[s], m, 0.5, 99.5, &oa, NULL));
        assert_ok(vxt_percentile_clip(b, in, sels[s], m, 0.5, 99.5, &ob, NULL));
        assert_int_equal(pt_diff(oa.data, ob.data, pt_elems(&oa), 4, "percentile clip"), 0);
        pt_free(&oa);
        pt_free(&ob);
    }
}

static void test_device_identical(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_atomic = pt_cl(), *cl_slabs = pt_cl();
    cl_atomic->pp_variant = VXT__PP_HIST_ATOMIC | VXT__PP_NO_FP64; /* and float statistics as without fp64 */
    cl_slabs->pp_chunk_bytes = 3 * 16384 * 2; /* slabs of a few blocks (moments) and of odd sizes (histograms) */
    cl_slabs->pp_variant = VXT__PP_HIST_PRIVATE | VXT__PP_COPY; /* copies in and out, as on a discrete GPU */
    for (size_t t = 0; t < PT_NTYPES; t++) {
        /* vxt_test_small() (Oclgrind): uint8 (8-bit counts), int16 and float32 (the two key shifts of the histograms) */
        if (vxt_test_small() && pt_types[t] != VXT_DTYPE_U8 && pt_types[t] != VXT_DTYPE_I16 &&
            pt_types[t] != VXT_DTYPE_F32)
            continue;
        vxt_volume in = make_input(pt_types[t], 13, 47, 71, 60 + t); /* 43381 voxels: 3 blocks */
        vxt_volume keep = pt_copy(&in);
        vxt_volume mask = pt_mask(&in, t, 40);
        char what[64];
        snprintf(what, sizeof what, "%s", vxt_dtype_name(pt_types[t]));
        compare_backends(cpu, cl, &in, &mask, what);
        compare_backends(cpu, cl_atomic, &in, &mask, what);
        compare_backends(cpu, cl_slabs, &in, &mask, what);
        assert_memory_equal(in.data, keep.data, pt_bytes(&in));
        pt_free(&in);
        pt_free(&keep);
        pt_free(&mask);
    }
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_atomic);
    vxt_context_destroy(cl_slabs);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_stats_reference),     cmocka_unit_test(test_percentiles_reference),
        cmocka_unit_test(test_histogram_reference), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_normalizations),      cmocka_unit_test(test_empty_selection_and_bad_input),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_identical),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
