/* test_smooth.c - Gaussian smoothing (vxt_gaussian_smooth) and smoothing before downsampling (vxt_resample's
 * anti_alias). cpu: a double-precision reference written here, the weights themselves, the documented semantics,
 * thread counts, in place, the caller's floating-point environment, every bad input; anti_alias against smoothing
 * then resampling. Both groups: against scipy.ndimage.gaussian_filter and skimage.transform.resize(anti_aliasing=
 * True), whose outputs tools/make_smooth_testdata.py wrote to tests/data/smooth/ (no Python at test time). opencl:
 * the device gives the CPU's bits for every input type, boundary, sigma set and slab size, and with anti_alias.
 * Tolerances are stated where they are checked; the measured errors are printed. */
#include <cjson/cJSON.h>
#include <fenv.h>
#include <stddef.h>
#include <xmmintrin.h>

#include "preproc_testutil.h"

static const vxt_boundary bnds[] = {VXT_BOUNDARY_GRID_MIRROR, VXT_BOUNDARY_MIRROR, VXT_BOUNDARY_CLAMP,
                                    VXT_BOUNDARY_CONSTANT};
#define NBNDS (sizeof bnds / sizeof bnds[0])

/* sigma sets (z, y, x) in voxels: anisotropic; an axis left alone; kernels reaching beyond short axes (12, 16, 20
 * voxels on axes of 5 to 13); a sigma whose kernel is the centre alone (reach int(0.4 + 0.5) = 0) */
static const double sigmas[][3] = {{1.0, 0.7, 1.5}, {0.0, 1.2, 2.0}, {3.0, 4.0, 5.0}, {0.8, 0.1, 1.1}};
#define NSIGMAS (sizeof sigmas / sizeof sigmas[0])

static vxt_smooth_options opts_of(const double s[3], vxt_boundary b, double fill)
{
    vxt_smooth_options o;
    vxt_smooth_options_init(&o);
    memcpy(o.sigma, s, sizeof o.sigma);
    o.boundary = b;
    o.fill_value = fill;
    return o;
}

/* Smooth into a fresh poisoned float32 output. */
static vxt_volume smooth(vxt_context *ctx, const vxt_volume *in, const vxt_smooth_options *o)
{
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, in->channels, in->shape[0], in->shape[1], in->shape[2]);
    vxt_status st = vxt_gaussian_smooth(ctx, in, &out, o);
    if (st != VXT_OK)
        fail_msg("smooth %s sigma %g,%g,%g %s: %s: %s", vxt_dtype_name(in->dtype), o->sigma[0], o->sigma[1],
                 o->sigma[2], vxt_boundary_name(o->boundary), vxt_status_name(st), vxt_last_error());
    return out;
}

static float max_abs_f32(const float *v, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
    return m;
}

/* ---- the reference, in double --------------------------------------------------------------------------------- */

/* The sample i of a line of n under boundary b, by bouncing off the edges until inside (scipy's line extension), not
 * by the periodic formula the library uses; -1: constant. */
static int64_t ref_index(int64_t i, int64_t n, vxt_boundary b)
{
    if (b == VXT_BOUNDARY_CONSTANT)
        return i < 0 || i >= n ? -1 : i;
    if (b == VXT_BOUNDARY_CLAMP)
        return i < 0 ? 0 : (i >= n ? n - 1 : i);
    if (b == VXT_BOUNDARY_MIRROR && n == 1)
        return 0;
    while (i < 0 || i >= n) {
        if (i < 0)
            i = b == VXT_BOUNDARY_MIRROR ? -i : -i - 1;
        else
            i = b == VXT_BOUNDARY_MIRROR ? 2 * (n - 1) - i : 2 * n - 1 - i;
    }
    return i;
}

/* scipy's 1D kernel in double: exp(-0.5 x^2 / s^2) / sum, x = -r .. r (w[r + x]). */
static double *ref_kernel(double s, double truncate, int64_t *r)
{
    *r = (int64_t)(truncate * s + 0.5);
    double *w = malloc((size_t)(2 * *r + 1) * sizeof *w), sum = 0.0;
    for (int64_t x = -*r; x <= *r; x++)
        sum += w[*r + x] = exp(-0.5 / (s * s) * (double)(x * x));
    for (int64_t x = -*r; x <= *r; x++)
        w[*r + x] /= sum;
    return w;
}

/* The whole smoothing of one channel in double, passes z, y, x (skipping sigma 0). */
static void ref_smooth(double *v, const int64_t shape[3], const double s[3], double truncate, vxt_boundary b,
                       double fill)
{
    const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
    const int64_t stride[3] = {shape[1] * shape[2], shape[2], 1};
    double *t = malloc(n * sizeof *t);
    for (int a = 0; a < 3; a++) {
        if (s[a] == 0.0)
            continue;
        int64_t r;
        double *w = ref_kernel(s[a], truncate, &r);
        for (size_t i = 0; i < n; i++) {
            const int64_t p = ((int64_t)i / stride[a]) % shape[a], base = (int64_t)i - p * stride[a];
            double acc = 0.0;
            for (int64_t k = -r; k <= r; k++) {
                const int64_t m = ref_index(p + k, shape[a], b);
                acc += w[r + k] * (m < 0 ? fill : v[base + m * stride[a]]);
            }
            t[i] = acc;
        }
        memcpy(v, t, n * sizeof *t);
        free(w);
    }
    free(t);
}

/* Against the double reference: per voxel, |out - ref| <= 1e-6 * max |input| of its channel. Each pass rounds 3r + 1
 * times, each by half an ulp of a partial sum at most the largest value, but the errors do not add up in the worst
 * way: the measured worst, printed, is 1.1e-7. */
static void test_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    static const vxt_dtype types[] = {VXT_DTYPE_U8, VXT_DTYPE_I16, VXT_DTYPE_I32, VXT_DTYPE_F32, VXT_DTYPE_F64};
    double worst_all = 0.0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        vxt_volume in = pt_alloc(types[t], 2, 6, 9, 13);
        pt_fill(&in, 40 + t, 0);
        const size_t sp = (size_t)(6 * 9 * 13);
        for (size_t b = 0; b < NBNDS; b++)
            for (size_t k = 0; k < NSIGMAS; k++) {
                const double truncate = k == 1 ? 2.5 : 4.0;
                vxt_smooth_options o = opts_of(sigmas[k], bnds[b], -37.25);
                o.truncate = truncate;
                vxt_volume out = smooth(ctx, &in, &o);
                const float *y = (const float *)out.data;
                double *ref = malloc(sp * sizeof *ref);
                for (int64_t c = 0; c < 2; c++) {
                    double mx = 0.0;
                    for (size_t i = 0; i < sp; i++) {
                        ref[i] = (double)vxt__pp_load(&in, (size_t)c * sp + i);
                        mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
                    }
                    ref_smooth(ref, in.shape, sigmas[k], truncate, bnds[b], (double)(float)-37.25);
                    double worst = 0.0;
                    for (size_t i = 0; i < sp; i++)
                        worst = fmax(worst, fabs((double)y[(size_t)c * sp + i] - ref[i]) / mx);
                    if (!(worst <= 1e-6))
                        fail_msg("%s %s sigma %g,%g,%g channel %lld: error %.3g of max |input|",
                                 vxt_dtype_name(types[t]), vxt_boundary_name(bnds[b]), sigmas[k][0], sigmas[k][1],
                                 sigmas[k][2], (long long)c, worst);
                    worst_all = fmax(worst_all, worst);
                }
                free(ref);
                pt_free(&out);
            }
        pt_free(&in);
    }
    print_message("largest error against the double reference: %.3g of max |input|\n", worst_all);
    vxt_context_destroy(ctx);
}

/* An impulse gives the weights back exactly: out[c + j] = 0 + (0 + 1) * w[j] = w[j] with w[j] the float32 rounding
 * of scipy's double kernel (computed here from its formula), symmetric, and the centre 1 * w[0]. */
static void test_weights(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    static const double s[] = {0.5, 1.0, 2.3, 7.0};
    for (size_t k = 0; k < sizeof s / sizeof s[0]; k++) {
        int64_t r;
        double *w = ref_kernel(s[k], 4.0, &r);
        const int64_t n = 2 * r + 9, c = r + 4;
        vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, 1, 1, n);
        float *x = (float *)in.data;
        for (int64_t i = 0; i < n; i++)
            x[i] = i == c ? 1.0f : 0.0f;
        const double sg[3] = {0.0, 0.0, s[k]};
        vxt_smooth_options o = opts_of(sg, VXT_BOUNDARY_CONSTANT, 0.0);
        vxt_volume out = smooth(ctx, &in, &o);
        const float *y = (const float *)out.data;
        for (int64_t i = 0; i < n; i++) {
            const int64_t j = i - c;
            const float want = j < -r || j > r ? 0.0f : (float)w[r + j];
            if (memcmp(&y[i], &want, 4) != 0)
                fail_msg("sigma %g: tap %lld is %.9g, scipy's weight %.9g", s[k], (long long)j, (double)y[i],
                         (double)want);
        }
        free(w);
        pt_free(&in);
        pt_free(&out);
    }
    vxt_context_destroy(ctx);
}

/* What the header promises, bit for bit. */
static void test_semantics(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 3, 5, 8, 11);
    pt_fill(&in, 7, 0);
    const size_t n = pt_elems(&in), sp = n / 3;
    /* sigma 0 everywhere, or kernels of one tap: a conversion to float32 */
    vxt_volume conv = pt_alloc(VXT_DTYPE_F32, 3, 5, 8, 11);
    vxt_intensity_options io;
    vxt_intensity_options_init(&io);
    assert_ok(vxt_intensity_transform(ctx, &in, NULL, &conv, &io));
    static const double zero[3] = {0, 0, 0}, tiny[3] = {0.1, 0.05, 1e-300};
    vxt_smooth_options o = opts_of(zero, VXT_BOUNDARY_GRID_MIRROR, 0.0);
    vxt_volume a = smooth(ctx, &in, &o);
    assert_int_equal(pt_diff(a.data, conv.data, n, 4, "sigma 0"), 0);
    pt_free(&a);
    o = opts_of(tiny, VXT_BOUNDARY_CONSTANT, 5.0);
    a = smooth(ctx, &in, &o);
    assert_int_equal(pt_diff(a.data, conv.data, n, 4, "one tap"), 0);
    pt_free(&a);
    /* each channel as if alone */
    static const double s3[3] = {1.3, 0.9, 2.2};
    o = opts_of(s3, VXT_BOUNDARY_MIRROR, 0.0);
    vxt_volume all = smooth(ctx, &in, &o);
    for (int64_t c = 0; c < 3; c++) {
        vxt_volume one = in;
        one.channels = 1;
        one.data = (int16_t *)in.data + (size_t)c * sp;
        vxt_volume b = smooth(ctx, &one, &o);
        assert_int_equal(pt_diff(b.data, (float *)all.data + (size_t)c * sp, sp, 4, "channel alone"), 0);
        pt_free(&b);
    }
    /* sigma 0 along z: each plane smoothed as a volume of its own */
    static const double s0[3] = {0.0, 1.7, 0.6};
    o = opts_of(s0, VXT_BOUNDARY_CLAMP, 0.0);
    vxt_volume planes = smooth(ctx, &in, &o);
    const size_t pl = (size_t)(8 * 11);
    for (size_t z = 0; z < 15; z++) { /* 3 channels x 5 planes */
        vxt_volume one = {(int16_t *)in.data + z * pl, VXT_DTYPE_I16, 1, {1, 8, 11}};
        vxt_volume b = smooth(ctx, &one, &o);
        assert_int_equal(pt_diff(b.data, (float *)planes.data + z * pl, pl, 4, "plane alone"), 0);
        pt_free(&b);
    }
    /* sigma in mm: sigma / spacing voxels (exact quotients here) */
    static const double mm[3] = {3.0, 2.0, 1.5}, spacing[3] = {2.0, 0.5, 1.5}, vox[3] = {1.5, 4.0, 1.0};
    o = opts_of(mm, VXT_BOUNDARY_GRID_MIRROR, 0.0);
    o.sigma_in_mm = 1;
    memcpy(o.spacing, spacing, sizeof spacing);
    a = smooth(ctx, &in, &o);
    o = opts_of(vox, VXT_BOUNDARY_GRID_MIRROR, 0.0);
    vxt_volume b = smooth(ctx, &in, &o);
    assert_int_equal(pt_diff(a.data, b.data, n, 4, "sigma in mm"), 0);
    pt_free(&a);
    pt_free(&b);
    /* a constant volume stays constant within the rounding of the weights (they sum to 1 in double) */
    vxt_volume k = pt_alloc(VXT_DTYPE_F32, 1, 4, 6, 5);
    for (size_t i = 0; i < pt_elems(&k); i++)
        ((float *)k.data)[i] = 100.0f;
    for (size_t bi = 0; bi < NBNDS; bi++) {
        o = opts_of(sigmas[2], bnds[bi], 100.0);
        a = smooth(ctx, &k, &o);
        for (size_t i = 0; i < pt_elems(&k); i++)
            assert_true(fabs((double)((float *)a.data)[i] - 100.0) <= 100.0 * 2e-6);
        pt_free(&a);
    }
    pt_free(&k);
    pt_free(&in);
    pt_free(&conv);
    pt_free(&all);
    pt_free(&planes);
    vxt_context_destroy(ctx);
}

/* The same bits with 1 and 4 threads, in place, and whatever rounding mode and FTZ/DAZ the caller set. */
static void test_threads_inplace_env(void **state)
{
    (void)state;
    vxt_context *c1 = pt_cpu(1), *c4 = pt_cpu(4);
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 2, 9, 37, 41); /* rows over several ranges of the pool */
    pt_fill(&in, 3, 1);                                    /* NaN, Inf, -0 and subnormals among the values */
    for (size_t bi = 0; bi < NBNDS; bi++)
        for (size_t k = 0; k < NSIGMAS; k++) {
            vxt_smooth_options o = opts_of(sigmas[k], bnds[bi], 2.5);
            vxt_volume a = smooth(c1, &in, &o), b = smooth(c4, &in, &o);
            assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, "1 vs 4 threads"), 0);
            vxt_volume io = pt_copy(&in);
            assert_ok(vxt_gaussian_smooth(c4, &io, &io, &o));
            assert_int_equal(pt_diff(a.data, io.data, pt_elems(&a), 4, "in place"), 0);
            pt_free(&io);
            if (k == 0) {
                vxt_volume e = pt_alloc(VXT_DTYPE_F32, 2, 9, 37, 41);
                fenv_t saved;
                fegetenv(&saved);
                fesetround(FE_UPWARD);
                _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ and DAZ */
                vxt_status st = vxt_gaussian_smooth(c4, &in, &e, &o);
                int still_upward = fegetround() == FE_UPWARD;
                fesetenv(&saved);
                assert_int_equal(st, VXT_OK);
                assert_true(still_upward);
                assert_int_equal(pt_diff(a.data, e.data, pt_elems(&a), 4, "FP environment"), 0);
                pt_free(&e);
            }
            pt_free(&a);
            pt_free(&b);
        }
    pt_free(&in);
    vxt_context_destroy(c1);
    vxt_context_destroy(c4);
}

static void test_bad_input(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 5, 6, 7);
    pt_fill(&in, 5, 0);
    vxt_volume keep = pt_copy(&in), out = pt_alloc(VXT_DTYPE_F32, 1, 5, 6, 7);
    static const double s[3] = {1.0, 1.0, 1.0};
    vxt_smooth_options o = opts_of(s, VXT_BOUNDARY_GRID_MIRROR, 0.0), b;
    assert_status_msg(vxt_gaussian_smooth(NULL, &in, &out, &o), VXT_ERR_NULL, "ctx");
    assert_status_msg(vxt_gaussian_smooth(ctx, NULL, &out, &o), VXT_ERR_NULL, "in");
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, NULL, &o), VXT_ERR_NULL, "out");
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, &out, NULL), VXT_ERR_NULL, "'opts' is NULL");
    b = o;
    b.struct_size = 8;
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, &out, &b), VXT_ERR_STRUCT_SIZE, "struct_size");
    static const struct {
        int field; /* 0 sigma, 1 spacing (mm), 2 truncate, 3 boundary, 4 fill */
        double v;
        const char *needle;
    } bad[] = {
        {0, -1.0, "opts.sigma[1] (y) is -1 (must be >= 0 and finite)"},
        {0, NAN, "opts.sigma[1] (y) is nan"},
        {0, INFINITY, "opts.sigma[1] (y) is inf"},
        {0, 1e6, "reaches 4000000 voxels (at most 2^20)"},
        {0, 1e300, "(at most 2^20)"},
        {1, 0.0, "opts.spacing[1] (y) is 0 (must be > 0 and finite with sigma_in_mm)"},
        {1, -2.0, "opts.spacing[1] (y) is -2"},
        {1, 1e-310, "voxels"},
        {2, 0.0, "opts.truncate is 0 (must be > 0 and finite)"},
        {2, -4.0, "opts.truncate is -4"},
        {2, NAN, "opts.truncate is nan"},
        {3, 4, "opts.boundary is 4, not a vxt_boundary"},
        {3, -1, "opts.boundary is -1, not a vxt_boundary"},
        {4, NAN, "opts.fill_value is nan (must be finite)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = o;
        if (bad[i].field == 0) {
            b.sigma[1] = bad[i].v;
        } else if (bad[i].field == 1) {
            b.sigma_in_mm = 1;
            b.spacing[0] = b.spacing[2] = 1.0;
            b.spacing[1] = bad[i].v;
        } else if (bad[i].field == 2) {
            b.truncate = bad[i].v;
        } else if (bad[i].field == 3) {
            b.boundary = (vxt_boundary)(int)bad[i].v;
        } else {
            b.fill_value = bad[i].v;
        }
        assert_status_msg(vxt_gaussian_smooth(ctx, &in, &out, &b), VXT_ERR_INVALID_ARGUMENT, bad[i].needle);
    }
    /* views */
    vxt_volume v = in;
    v.data = NULL;
    assert_status_msg(vxt_gaussian_smooth(ctx, &v, &out, &o), VXT_ERR_NULL, "in.data");
    v = in;
    v.shape[0] = INT64_MAX / 2;
    v.shape[1] = INT64_MAX / 2;
    assert_status_msg(vxt_gaussian_smooth(ctx, &v, &out, &o), VXT_ERR_OVERFLOW, "overflows");
    v = in;
    v.dtype = VXT_DTYPE_U32;
    assert_status_msg(vxt_gaussian_smooth(ctx, &v, &out, &o), VXT_ERR_UNSUPPORTED, "uint32");
    vxt_volume u8 = pt_alloc(VXT_DTYPE_U8, 1, 5, 6, 7);
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, &u8, &o), VXT_ERR_INVALID_ARGUMENT, "out.dtype is uint8");
    v = out;
    v.shape[2] = 6;
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, &v, &o), VXT_ERR_SHAPE_MISMATCH, "shape");
    v = out;
    v.channels = 2;
    assert_status_msg(vxt_gaussian_smooth(ctx, &in, &v, &o), VXT_ERR_SHAPE_MISMATCH, "channels");
    /* in place only for float32 with the same pointer */
    vxt_volume f = pt_alloc(VXT_DTYPE_F32, 1, 5, 6, 7);
    pt_fill(&f, 9, 0);
    vxt_volume shifted = f, fin = f;
    shifted.data = (float *)f.data + 3;
    shifted.shape[2] = fin.shape[2] = 6;
    assert_status_msg(vxt_gaussian_smooth(ctx, &fin, &shifted, &o), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    vxt_volume as_i32 = {f.data, VXT_DTYPE_I32, 1, {5, 6, 7}};
    assert_status_msg(vxt_gaussian_smooth(ctx, &as_i32, &f, &o), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    /* the boundary names: one vocabulary, the new modes included; scipy's ambiguous 'reflect' is not one of them */
    for (size_t i = 0; i < NBNDS; i++) {
        vxt_boundary back = VXT_BOUNDARY_COUNT_;
        assert_ok(vxt_boundary_parse(vxt_boundary_name(bnds[i]), &back));
        assert_int_equal(back, bnds[i]);
    }
    assert_string_equal(vxt_boundary_name(VXT_BOUNDARY_GRID_MIRROR), "grid-mirror");
    vxt_boundary bb;
    assert_status_msg(vxt_boundary_parse("reflect", &bb), VXT_ERR_INVALID_ARGUMENT,
                      "unknown boundary 'reflect' (expected one of: clamp, constant, mirror, grid-mirror)");
    /* vxt_antialias_sigma */
    const int64_t is[3] = {12, 17, 19}, os[3] = {5, 17, 38}, zero[3] = {5, 0, 3};
    double sg[3] = {-1, -1, -1};
    assert_ok(vxt_antialias_sigma(is, os, sg));
    assert_true(sg[0] == (12.0 / 5.0 - 1.0) / 2.0 && sg[1] == 0.0 && sg[2] == 0.0);
    assert_status_msg(vxt_antialias_sigma(NULL, os, sg), VXT_ERR_NULL, "in_shape");
    assert_status_msg(vxt_antialias_sigma(is, os, NULL), VXT_ERR_NULL, "sigma");
    assert_status_msg(vxt_antialias_sigma(is, zero, sg), VXT_ERR_INVALID_ARGUMENT, "axis 1 (y): shapes 17 -> 0");
    assert_true(sg[0] == (12.0 / 5.0 - 1.0) / 2.0); /* untouched on failure */
    pt_free(&in);
    pt_free(&keep);
    pt_free(&out);
    pt_free(&u8);
    pt_free(&f);
    vxt_context_destroy(ctx);
}

/* ---- vxt_resample with anti_alias -------------------------------------------------------------------------------- */

/* The smoothing (skimage's sigma, the resampling's boundary) then the resampling: the same bits as the two calls. */
static void check_antialias(vxt_context *ctx, const vxt_volume *in, const int64_t oshape[3],
                            const vxt_resample_options *ro, const double given[3])
{
    vxt_volume got = pt_alloc(VXT_DTYPE_F32, in->channels, oshape[0], oshape[1], oshape[2]);
    vxt_volume want = pt_alloc(VXT_DTYPE_F32, in->channels, oshape[0], oshape[1], oshape[2]);
    vxt_resample_options o = *ro;
    o.anti_alias = 1;
    memcpy(o.anti_alias_sigma, given, sizeof o.anti_alias_sigma);
    assert_ok(vxt_resample(ctx, in, &got, &o));
    double sg[3];
    assert_ok(vxt_antialias_sigma(in->shape, oshape, sg));
    for (int a = 0; a < 3; a++)
        sg[a] = given[a] > 0 ? given[a] : sg[a];
    vxt_smooth_options so = opts_of(sg, ro->boundary, ro->fill_value);
    vxt_volume sm = smooth(ctx, in, &so);
    assert_ok(vxt_resample(ctx, &sm, &want, ro));
    assert_int_equal(pt_diff(got.data, want.data, pt_elems(&got), 4, "anti_alias"), 0);
    pt_free(&got);
    pt_free(&want);
    pt_free(&sm);
}

static void test_antialias(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 2, 13, 17, 19);
    pt_fill(&in, 21, 0);
    vxt_resample_options ro;
    vxt_resample_options_init(&ro);
    static const double none[3] = {0, 0, 0}, given[3] = {0.0, 1.5, 0.25};
    const int64_t down[3] = {5, 8, 11}, mixed[3] = {6, 20, 9}, up[3] = {15, 17, 30};
    check_antialias(ctx, &in, down, &ro, none);
    check_antialias(ctx, &in, mixed, &ro, none);
    check_antialias(ctx, &in, mixed, &ro, given);
    ro.boundary = VXT_BOUNDARY_CONSTANT;
    ro.fill_value = -1000.0;
    check_antialias(ctx, &in, down, &ro, none);
    ro.boundary = VXT_BOUNDARY_CLAMP;
    ro.fill_value = 0.0;
    ro.align = VXT_ALIGN_CORNERS;
    ro.interp[0] = VXT_INTERP_NEAREST;
    check_antialias(ctx, &in, down, &ro, none);
    vxt_resample_options_init(&ro);
    /* nothing downsampled: the plain resampling */
    vxt_volume a = pt_alloc(VXT_DTYPE_F32, 2, up[0], up[1], up[2]), b = pt_alloc(VXT_DTYPE_F32, 2, up[0], up[1], up[2]);
    assert_ok(vxt_resample(ctx, &in, &a, &ro));
    ro.anti_alias = 1;
    assert_ok(vxt_resample(ctx, &in, &b, &ro));
    assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, "upsampling"), 0);
    /* a caller built before the anti_alias fields: struct_size ends before them, the defaults (off) apply */
    vxt_volume c = pt_alloc(VXT_DTYPE_F32, 2, down[0], down[1], down[2]),
               d = pt_alloc(VXT_DTYPE_F32, 2, down[0], down[1], down[2]);
    vxt_resample_options_init(&ro);
    assert_ok(vxt_resample(ctx, &in, &c, &ro));
    ro.struct_size = offsetof(vxt_resample_options, anti_alias);
    ro.anti_alias = 1; /* beyond the caller's struct: never read */
    assert_ok(vxt_resample(ctx, &in, &d, &ro));
    assert_int_equal(pt_diff(c.data, d.data, pt_elems(&c), 4, "older struct"), 0);
    /* refused */
    vxt_resample_options_init(&ro);
    ro.anti_alias = 1;
    ro.anti_alias_sigma[2] = -0.5;
    assert_status_msg(vxt_resample(ctx, &in, &c, &ro), VXT_ERR_INVALID_ARGUMENT,
                      "opts.anti_alias_sigma[2] (x) is -0.5 (must be >= 0 and finite)");
    ro.anti_alias_sigma[2] = NAN;
    assert_status_msg(vxt_resample(ctx, &in, &c, &ro), VXT_ERR_INVALID_ARGUMENT, "opts.anti_alias_sigma[2] (x) is nan");
    ro.anti_alias_sigma[2] = 0.0;
    ro.out_z_total = 10;
    ro.out_z_offset = 2;
    assert_status_msg(vxt_resample(ctx, &in, &c, &ro), VXT_ERR_INVALID_ARGUMENT, "opts.anti_alias with a slab");
    vxt_resample_options_init(&ro);
    ro.anti_alias = 1;
    for (int k = 0; k < 3; k++)
        ro.interp[k] = VXT_INTERP_NEAREST;
    vxt_volume lab = pt_alloc(VXT_DTYPE_I16, 2, down[0], down[1], down[2]);
    assert_status_msg(vxt_resample(ctx, &in, &lab, &ro), VXT_ERR_INVALID_ARGUMENT,
                      "opts.anti_alias needs a float32 output (out.dtype is int16)");
    pt_free(&in);
    pt_free(&a);
    pt_free(&b);
    pt_free(&c);
    pt_free(&d);
    pt_free(&lab);
    vxt_context_destroy(ctx);
}

/* ---- scipy and skimage ------------------------------------------------------------------------------------------- */

static vxt_volume load_raw(const cJSON *c, const char *key, const char *dtype_key, const char *shape_key)
{
    vxt_dtype dt = VXT_DTYPE_F32;
    if (dtype_key)
        assert_ok(vxt_dtype_parse(cJSON_GetObjectItem(c, dtype_key)->valuestring, &dt));
    int64_t sh[4] = {1, 1, 1, 1};
    const int nd = vxt_test_json_i64s(cJSON_GetObjectItem(c, shape_key), sh, 4);
    vxt_volume v = nd == 4 ? pt_alloc(dt, sh[0], sh[1], sh[2], sh[3]) : pt_alloc(dt, 1, sh[0], sh[1], sh[2]);
    char path[512];
    snprintf(path, sizeof path, "smooth/%s", cJSON_GetObjectItem(c, key)->valuestring);
    size_t n = 0;
    void *bytes = vxt_test_read_file(path, &n);
    assert_int_equal(n, pt_bytes(&v));
    memcpy(v.data, bytes, n);
    free(bytes);
    return v;
}

static void json_3(const cJSON *c, const char *key, double out[3])
{
    const cJSON *a = cJSON_GetObjectItem(c, key);
    assert_int_equal(cJSON_GetArraySize(a), 3);
    for (int i = 0; i < 3; i++)
        out[i] = cJSON_GetArrayItem(a, i)->valuedouble;
}

/* Every case of tests/data/smooth/manifest.json on ctx. The error of a voxel is measured against the largest
 * magnitude of the expected output: scipy sums each pass in double and stores float32, voxtile rounds each operation
 * to float32, so they differ by some ulps of the values summed (gaussian: <= 1e-6 of max |expected|, measured about
 * a fifth of that); skimage's resize smooths then interpolates in scipy's double coordinates, voxtile in torch's
 * float32 ratio (resize: <= 2e-6). */
static void check_references(vxt_context *ctx)
{
    cJSON *m = vxt_test_load_json("smooth/manifest.json");
    const cJSON *cases = cJSON_GetObjectItem(m, "cases"), *c;
    int count = 0;
    double worst_g = 0.0, worst_r = 0.0;
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        const int resize = !strcmp(cJSON_GetObjectItem(c, "op")->valuestring, "resize");
        vxt_volume in = load_raw(c, "input", "input_dtype", "input_shape");
        vxt_volume want = load_raw(c, "expect", NULL, "expect_shape");
        vxt_volume got = pt_alloc(VXT_DTYPE_F32, want.channels, want.shape[0], want.shape[1], want.shape[2]);
        double sigma[3];
        json_3(c, "sigma", sigma);
        if (resize) { /* skimage: order 1 (half-pixel linear), mode 'edge' (clamp), its default sigma */
            double sg[3];
            assert_ok(vxt_antialias_sigma(in.shape, want.shape, sg));
            for (int a = 0; a < 3; a++)
                assert_true(fabs(sg[a] - sigma[a]) <= 1e-15);
            vxt_resample_options o;
            vxt_resample_options_init(&o);
            o.anti_alias = 1;
            assert_ok(vxt_resample(ctx, &in, &got, &o));
        } else {
            vxt_smooth_options o = opts_of(sigma, VXT_BOUNDARY_CLAMP, cJSON_GetObjectItem(c, "fill")->valuedouble);
            assert_ok(vxt_boundary_parse(cJSON_GetObjectItem(c, "boundary")->valuestring, &o.boundary));
            o.truncate = cJSON_GetObjectItem(c, "truncate")->valuedouble;
            assert_ok(vxt_gaussian_smooth(ctx, &in, &got, &o));
        }
        const size_t n = pt_elems(&want);
        const float *g = (const float *)got.data, *w = (const float *)want.data;
        const double mx = (double)max_abs_f32(w, n);
        double worst = 0.0;
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs((double)g[i] - (double)w[i]) / mx);
        const double tol = resize ? 2e-6 : 1e-6;
        if (!(worst <= tol))
            fail_msg("%s: error %.3g of max |expected| (tolerance %g)", name, worst, tol);
        if (resize)
            worst_r = fmax(worst_r, worst);
        else
            worst_g = fmax(worst_g, worst);
        count++;
        pt_free(&in);
        pt_free(&want);
        pt_free(&got);
    }
    assert_true(count >= 17);
    print_message("%d cases: largest error %.3g (gaussian_filter), %.3g (resize) of max |expected|\n", count, worst_g,
                  worst_r);
    cJSON_Delete(m);
}

static void test_scipy_skimage_cpu(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    check_references(ctx);
    vxt_context_destroy(ctx);
}

static void test_scipy_skimage_device(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cl();
    check_references(ctx);
    vxt_context_destroy(ctx);
}

/* ---- opencl: identical bits ----------------------------------------------------------------------------------- */

static void test_device_bits(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_slabs = pt_cl();
    cl_slabs->pp_chunk_bytes = 8000;     /* slabs of a few planes, not aligned to anything */
    cl_slabs->pp_variant = VXT__PP_COPY; /* copies in and out, as on a discrete GPU */
    /* odd shapes: a deep one that slabs split, channels, an axis of one voxel */
    static const int64_t shapes[][4] = {{1, 23, 9, 10}, {2, 5, 7, 13}, {1, 6, 1, 17}};
    size_t checked = 0;
    /* vxt_test_small() (Oclgrind): the types of pt_small_type; the whole-volume and slab variants take turns over
     * the boundaries and sigmas (vxt_test_small_turn) */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t t = 0; t < PT_NTYPES; t++) {
            if (!pt_small_type(pt_types[t]))
                continue;
            vxt_volume in = pt_alloc(pt_types[t], shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]);
            pt_fill(&in, 100 * s + t, 1);
            vxt_volume keep = pt_copy(&in);
            for (size_t bi = 0; bi < NBNDS; bi++)
                for (size_t k = 0; k < NSIGMAS; k++) {
                    const size_t turn = s + t + bi * NSIGMAS + k;
                    vxt_smooth_options o = opts_of(sigmas[k], bnds[bi], -3.75);
                    vxt_volume a = smooth(cpu, &in, &o);
                    char what[128];
                    snprintf(what, sizeof what, "%s %s sigma %g,%g,%g", vxt_dtype_name(in.dtype),
                             vxt_boundary_name(bnds[bi]), sigmas[k][0], sigmas[k][1], sigmas[k][2]);
                    if (vxt_test_small_turn(turn, 0, 2)) {
                        vxt_volume b = smooth(cl, &in, &o);
                        assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, what), 0);
                        checked += pt_elems(&a);
                        pt_free(&b);
                        if (in.dtype == VXT_DTYPE_F32) { /* in place on the device */
                            vxt_volume io = pt_copy(&in);
                            assert_ok(vxt_gaussian_smooth(cl, &io, &io, &o));
                            assert_int_equal(pt_diff(a.data, io.data, pt_elems(&a), 4, "device in place"), 0);
                            pt_free(&io);
                        }
                    }
                    /* slabs: the z pass needs the 2r + 1 planes of one output plane in a buffer */
                    const size_t plane = (size_t)(shapes[s][2] * shapes[s][3]) * vxt_dtype_size(in.dtype);
                    const int64_t rz = sigmas[k][0] > 0 ? (int64_t)(4.0 * sigmas[k][0] + 0.5) : 0;
                    if ((size_t)(2 * rz + 1 < shapes[s][1] ? 2 * rz + 1 : shapes[s][1]) * plane <= 8000 &&
                        vxt_test_small_turn(turn, 1, 2)) {
                        vxt_volume c = smooth(cl_slabs, &in, &o);
                        assert_int_equal(pt_diff(a.data, c.data, pt_elems(&a), 4, what), 0);
                        checked += pt_elems(&a);
                        pt_free(&c);
                    }
                    pt_free(&a);
                }
            assert_memory_equal(in.data, keep.data, pt_bytes(&in));
            pt_free(&in);
            pt_free(&keep);
        }
    print_message("%zu output voxels compared: the device's and its slabs' identical to the CPU path's\n", checked);
    /* a z pass whose planes do not fit one buffer: refused, with the sizes */
    vxt_volume in = pt_alloc(VXT_DTYPE_F64, 1, 30, 9, 10), out = pt_alloc(VXT_DTYPE_F32, 1, 30, 9, 10);
    pt_fill(&in, 5, 0);
    static const double long_z[3] = {2.0, 0.0, 0.0};
    vxt_smooth_options o = opts_of(long_z, VXT_BOUNDARY_GRID_MIRROR, 0.0);
    assert_status_msg(
        vxt_gaussian_smooth(cl_slabs, &in, &out, &o), VXT_ERR_UNSUPPORTED,
        "input planes of 720 bytes (output plane 360 bytes), more than the device's largest buffer (8000 bytes)");
    pt_free(&in);
    pt_free(&out);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_slabs);
}

static void test_device_antialias(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(2), *cl = pt_cl();
    vxt_volume in = pt_alloc(VXT_DTYPE_U16, 2, 13, 17, 19);
    pt_fill(&in, 8, 0);
    vxt_volume a = pt_alloc(VXT_DTYPE_F32, 2, 5, 20, 9), b = pt_alloc(VXT_DTYPE_F32, 2, 5, 20, 9);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.anti_alias = 1;
    for (int bnd = 0; bnd < 2; bnd++) {
        o.boundary = bnd ? VXT_BOUNDARY_CONSTANT : VXT_BOUNDARY_CLAMP;
        o.fill_value = bnd ? 7.0 : 0.0;
        assert_ok(vxt_resample(cpu, &in, &a, &o));
        assert_ok(vxt_resample(cl, &in, &b, &o));
        assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, "device anti_alias"), 0);
    }
    pt_free(&in);
    pt_free(&a);
    pt_free(&b);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_reference),           cmocka_unit_test(test_weights),   cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_threads_inplace_env), cmocka_unit_test(test_bad_input), cmocka_unit_test(test_antialias),
        cmocka_unit_test(test_scipy_skimage_cpu),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_bits),
        cmocka_unit_test(test_device_antialias),
        cmocka_unit_test(test_scipy_skimage_device),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
