/* test_intensity.c - pointwise intensity transforms: a double-precision reference, thread-count invariance,
 * in place, every bad input (cpu); identical bits on the OpenCL device for every input type, selection and slab
 * size (opencl). */
#include <fenv.h>
#include <xmmintrin.h>

#include "preproc_testutil.h"

/* ---- the operations under test, as one signature ------------------------------------------------------------ */

typedef vxt_status (*op_fn)(vxt_context *, const vxt_volume *, const vxt_volume *, vxt_volume *);

static vxt_status op_window(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_window(c, in, out, -160.0, 240.0);
}
static vxt_status op_wl(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_window_level_u8(c, in, out, 40.0, 400.0);
}
static vxt_status op_rescale(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_rescale(c, in, out, 1.37, -1024.3);
}
static vxt_status op_replace_nan(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_replace_value(c, in, out, NAN, -7.0);
}
static vxt_status op_replace(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_replace_value(c, in, out, 0.0, 12.5);
}
static vxt_status op_clip(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_clip(c, in, out, -100.25, 1000.5);
}
static vxt_status op_center(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_zero_center(c, in, out, 33.3);
}
static vxt_status op_ctnorm(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    return vxt_ct_normalize(c, in, out, -958.0, 1500.5, 42.3, 250.7);
}
static void full_opts(vxt_intensity_options *o, vxt_select sel)
{
    vxt_intensity_options_init(o);
    o->flags =
        VXT_INTENSITY_RESCALE | VXT_INTENSITY_REPLACE | VXT_INTENSITY_CLIP | VXT_INTENSITY_SHIFT | VXT_INTENSITY_CLIP2;
    o->slope = 0.75;
    o->intercept = -1024.0;
    o->replace_value = -2000.0;
    o->replace_with = -1000.0;
    o->clip_lo = -1100.0;
    o->clip_hi = 3000.0;
    o->subtract = 40.0;
    o->divide = 350.0;
    o->clip2_lo = -3.0;
    o->clip2_hi = 7.5;
    o->select = sel;
}
static vxt_status op_full(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    vxt_intensity_options o;
    full_opts(&o, VXT_SELECT_ALL);
    return vxt_intensity_transform(c, in, NULL, out, &o);
}
static vxt_status op_full_nonzero(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    (void)m;
    vxt_intensity_options o;
    full_opts(&o, VXT_SELECT_NONZERO);
    return vxt_intensity_transform(c, in, NULL, out, &o);
}
static vxt_status op_full_mask(vxt_context *c, const vxt_volume *in, const vxt_volume *m, vxt_volume *out)
{
    vxt_intensity_options o;
    full_opts(&o, VXT_SELECT_MASK);
    return vxt_intensity_transform(c, in, m, out, &o);
}

typedef struct op_case {
    const char *name;
    op_fn fn;
    int u8_out;
} op_case;

static const op_case ops[] = {
    {"window", op_window, 0},
    {"window_level_u8", op_wl, 1},
    {"rescale", op_rescale, 0},
    {"replace NaN", op_replace_nan, 0},
    {"replace 0", op_replace, 0},
    {"clip", op_clip, 0},
    {"zero_center", op_center, 0},
    {"ct_normalize", op_ctnorm, 0},
    {"transform", op_full, 0},
    {"transform nonzero", op_full_nonzero, 0},
    {"transform mask", op_full_mask, 0},
};
#define NOPS (sizeof ops / sizeof ops[0])

/* Run op on ctx into a fresh poisoned output. */
static vxt_volume run_op(vxt_context *ctx, const op_case *op, const vxt_volume *in, const vxt_volume *mask)
{
    vxt_volume out =
        pt_alloc(op->u8_out ? VXT_DTYPE_U8 : VXT_DTYPE_F32, in->channels, in->shape[0], in->shape[1], in->shape[2]);
    vxt_status st = op->fn(ctx, in, mask, &out);
    if (st != VXT_OK)
        fail_msg("%s on %s: %s: %s", op->name, vxt_dtype_name(in->dtype), vxt_status_name(st), vxt_last_error());
    return out;
}

/* ---- cpu: reference, threads, in place ----------------------------------------------------------------------- */

static double ulp_of(double x)
{
    float f = (float)fabs(x);
    if (f < 1.17549435e-38f)
        return 1.4e-45;
    return (double)nextafterf(f, INFINITY) - (double)f;
}

/* The transform computed in double from the documented formula. Each float32 step rounds once (half an ulp of
 * its result); those errors pass through the later steps (divided by `divide`), so the bound per voxel is the sum
 * of the step ulps scaled accordingly (cancellation in x*slope + intercept - subtract makes a relative bound
 * meaningless). */
static void test_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 1, 9, 13, 17);
        pt_fill(&in, 3 + t, 0);
        vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 9, 13, 17);
        vxt_intensity_options o;
        full_opts(&o, VXT_SELECT_ALL);
        assert_ok(vxt_intensity_transform(ctx, &in, NULL, &out, &o));
        const float *y = (const float *)out.data;
        double worst = 0.0;
        for (size_t i = 0; i < pt_elems(&in); i++) {
            double x = (double)vxt__pp_load(&in, i);
            double a = x * 0.75, b = a - 1024.0;
            double v = x == -2000.0 ? -1000.0 : b;
            v = v < -1100.0 ? -1100.0 : (v > 3000.0 ? 3000.0 : v);
            double c = v - 40.0;
            v = c / 350.0;
            v = v < -3.0 ? -3.0 : (v > 7.5 ? 7.5 : v);
            double tol = 0.5 * (ulp_of(a) + ulp_of(b) + ulp_of(c)) / 350.0 + 0.5 * ulp_of(v);
            double err = fabs((double)y[i] - v) / tol;
            worst = err > worst ? err : worst;
        }
        print_message("%s: transform error %.2f of the rounding bound\n", vxt_dtype_name(pt_types[t]), worst);
        assert_true(worst <= 1.0);
        pt_free(&in);
        pt_free(&out);
    }
    /* window/level: truncation of the double value, except within 1e-3 of an integer (float rounding may go
     * either way there) */
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 5, 31, 37);
    pt_fill(&in, 11, 0);
    vxt_volume out = pt_alloc(VXT_DTYPE_U8, 1, 5, 31, 37);
    assert_ok(vxt_window_level_u8(ctx, &in, &out, 40.0, 400.0));
    const uint8_t *y = (const uint8_t *)out.data;
    for (size_t i = 0; i < pt_elems(&in); i++) {
        double x = (double)vxt__pp_load(&in, i);
        double v = ((x < -160.0 ? -160.0 : (x > 240.0 ? 240.0 : x)) + 160.0) / 400.0 * 255.0;
        double fl = floor(v);
        if (v - fl < 1e-3 || fl + 1.0 - v < 1e-3)
            assert_true(fabs((double)y[i] - v) <= 1.0);
        else
            assert_int_equal(y[i], (int)fl);
    }
    pt_free(&in);
    pt_free(&out);
    vxt_context_destroy(ctx);
}

static void test_threads_and_inplace(void **state)
{
    (void)state;
    vxt_context *c1 = pt_cpu(1), *c4 = pt_cpu(4);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 7, 45, 301); /* > one range of the pool per channel */
        pt_fill(&in, 100 + t, 1);
        vxt_volume mask = pt_mask(&in, t, 40);
        for (size_t k = 0; k < NOPS; k++) {
            vxt_volume a = run_op(c1, &ops[k], &in, &mask), b = run_op(c4, &ops[k], &in, &mask);
            assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), ops[k].name), 0);
            if (pt_types[t] == VXT_DTYPE_F32 && !ops[k].u8_out) { /* in place gives the same bits */
                vxt_volume io = pt_copy(&in);
                assert_ok(ops[k].fn(c4, &io, &mask, &io));
                assert_int_equal(pt_diff(a.data, io.data, pt_elems(&a), 4, "in place"), 0);
                pt_free(&io);
            }
            pt_free(&a);
            pt_free(&b);
        }
        pt_free(&in);
        pt_free(&mask);
    }
    vxt_context_destroy(c1);
    vxt_context_destroy(c4);
}

/* Semantics that a reader of the header relies on. */
static void test_semantics(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    float src[8] = {-2000.0f, 0.0f, -0.0f, NAN, 5.0f, 1e-40f, INFINITY, -3.0f};
    vxt_volume in = {src, VXT_DTYPE_F32, 1, {1, 1, 8}};
    float dst[8];
    vxt_volume out = {dst, VXT_DTYPE_F32, 1, {1, 1, 8}};
    /* a plain conversion keeps -0, NaN, Inf and flushes the subnormal */
    vxt_intensity_options o;
    vxt_intensity_options_init(&o);
    assert_ok(vxt_intensity_transform(ctx, &in, NULL, &out, &o));
    assert_true(signbit(dst[2]) && dst[2] == 0.0f);
    assert_true(isnan(dst[3]) && isinf(dst[6]) && dst[5] == 0.0f && dst[0] == -2000.0f);
    /* clip keeps NaN */
    assert_ok(vxt_clip(ctx, &in, &out, -1.0, 1.0));
    assert_true(isnan(dst[3]) && dst[0] == -1.0f && dst[6] == 1.0f && dst[4] == 1.0f);
    /* replace NaN */
    assert_ok(vxt_replace_value(ctx, &in, &out, NAN, 0.0));
    assert_true(dst[3] == 0.0f && dst[4] == 5.0f);
    /* replacement in rescaled units, compared on the stored value */
    vxt_intensity_options_init(&o);
    o.flags = VXT_INTENSITY_RESCALE | VXT_INTENSITY_REPLACE;
    o.slope = 2.0;
    o.intercept = 10.0;
    o.replace_value = -2000.0;
    o.replace_with = -1024.0;
    assert_ok(vxt_intensity_transform(ctx, &in, NULL, &out, &o));
    assert_true(dst[0] == -1024.0f && dst[4] == 20.0f && dst[7] == 4.0f);
    /* window maps to [0, 1] */
    assert_ok(vxt_window(ctx, &in, &out, -10.0, 10.0));
    assert_true(dst[0] == 0.0f && dst[4] == 0.75f && dst[6] == 1.0f && dst[1] == 0.5f);
    /* selection: outside voxels converted unchanged */
    vxt_intensity_options_init(&o);
    o.flags = VXT_INTENSITY_SHIFT;
    o.subtract = 1.0;
    o.select = VXT_SELECT_NONZERO;
    assert_ok(vxt_intensity_transform(ctx, &in, NULL, &out, &o));
    assert_true(dst[1] == 0.0f && dst[4] == 4.0f && dst[0] == -2001.0f && isnan(dst[3]));
    uint8_t u8[8];
    vxt_volume o8 = {u8, VXT_DTYPE_U8, 1, {1, 1, 8}};
    assert_ok(vxt_window_level_u8(ctx, &in, &o8, 0.0, 10.0));
    assert_int_equal(u8[0], 0);
    assert_int_equal(u8[3], 0); /* NaN -> 0 */
    assert_int_equal(u8[4], 255);
    assert_int_equal(u8[6], 255);
    assert_int_equal(u8[7], 51); /* (-3 + 5) / 10 * 255 = 51 */
    vxt_context_destroy(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 5, 6, 7);
    pt_fill(&in, 5, 0);
    vxt_volume keep = pt_copy(&in);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 5, 6, 7);
    vxt_volume out8 = pt_alloc(VXT_DTYPE_U8, 1, 5, 6, 7);

    assert_status_msg(vxt_window(NULL, &in, &out, 0, 1), VXT_ERR_NULL, "ctx");
    assert_status_msg(vxt_window(ctx, NULL, &out, 0, 1), VXT_ERR_NULL, "in");
    assert_status_msg(vxt_window(ctx, &in, NULL, 0, 1), VXT_ERR_NULL, "out");
    vxt_volume bad = in;
    bad.data = NULL;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_NULL, "in.data");
    bad = in;
    bad.shape[1] = 0;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_INVALID_ARGUMENT, "shape[1]");
    bad = in;
    bad.shape[0] = INT64_MAX / 2;
    bad.shape[1] = INT64_MAX / 2;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_OVERFLOW, "overflows");
    bad = in;
    bad.dtype = VXT_DTYPE_U32;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_UNSUPPORTED, "uint32");
    bad.dtype = VXT_DTYPE_F16;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_UNSUPPORTED, "float16");
    bad.dtype = (vxt_dtype)99;
    assert_status_msg(vxt_window(ctx, &bad, &out, 0, 1), VXT_ERR_INVALID_ARGUMENT, "dtype 99");
    assert_status_msg(vxt_window(ctx, &in, &out8, 0, 1), VXT_ERR_INVALID_ARGUMENT, "out.dtype is uint8");
    assert_status_msg(vxt_window_level_u8(ctx, &in, &out, 0, 1), VXT_ERR_INVALID_ARGUMENT, "expected uint8");
    bad = out;
    bad.shape[2] = 8;
    assert_status_msg(vxt_window(ctx, &in, &bad, 0, 1), VXT_ERR_SHAPE_MISMATCH, "shape");
    bad = out;
    bad.channels = 2;
    assert_status_msg(vxt_window(ctx, &in, &bad, 0, 1), VXT_ERR_SHAPE_MISMATCH, "channels");
    /* parameters */
    assert_status_msg(vxt_window(ctx, &in, &out, 10, 10), VXT_ERR_INVALID_ARGUMENT, "lo (10) must be < hi (10)");
    assert_status_msg(vxt_window(ctx, &in, &out, 20, 10), VXT_ERR_INVALID_ARGUMENT, "lo");
    assert_status_msg(vxt_window(ctx, &in, &out, NAN, 10), VXT_ERR_INVALID_ARGUMENT, "lo is nan");
    assert_status_msg(vxt_window(ctx, &in, &out, 0, INFINITY), VXT_ERR_INVALID_ARGUMENT, "hi is inf");
    assert_status_msg(vxt_window(ctx, &in, &out, 0, 1e300), VXT_ERR_INVALID_ARGUMENT, "float32 range");
    assert_status_msg(vxt_window_level_u8(ctx, &in, &out8, 40, 0), VXT_ERR_INVALID_ARGUMENT, "width is 0");
    assert_status_msg(vxt_window_level_u8(ctx, &in, &out8, 40, -5), VXT_ERR_INVALID_ARGUMENT, "width is -5");
    assert_status_msg(vxt_window_level_u8(ctx, &in, &out8, NAN, 5), VXT_ERR_INVALID_ARGUMENT, "center is nan");
    assert_status_msg(vxt_clip(ctx, &in, &out, 3, 2), VXT_ERR_INVALID_ARGUMENT, "lo (3) > hi (2)");
    assert_status_msg(vxt_clip(ctx, &in, &out, NAN, 2), VXT_ERR_INVALID_ARGUMENT, "lo is nan");
    assert_status_msg(vxt_rescale(ctx, &in, &out, 0.0, 1), VXT_ERR_INVALID_ARGUMENT, "slope is 0");
    assert_status_msg(vxt_rescale(ctx, &in, &out, 1.0, NAN), VXT_ERR_INVALID_ARGUMENT, "intercept is nan");
    assert_status_msg(vxt_ct_normalize(ctx, &in, &out, 0, 1, 0, -1), VXT_ERR_INVALID_ARGUMENT, "std is -1");
    assert_status_msg(vxt_ct_normalize(ctx, &in, &out, 0, INFINITY, 0, 1), VXT_ERR_INVALID_ARGUMENT, "hi is inf");
    assert_status_msg(vxt_zero_center(ctx, &in, &out, INFINITY), VXT_ERR_INVALID_ARGUMENT, "mean is inf");
    /* options struct */
    vxt_intensity_options o;
    vxt_intensity_options_init(&o);
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, NULL), VXT_ERR_NULL, "opts");
    o.struct_size = 4;
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_STRUCT_SIZE, "struct_size");
    vxt_intensity_options_init(&o);
    o.flags = 0x100;
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_INVALID_ARGUMENT, "unknown flags");
    vxt_intensity_options_init(&o);
    o.flags = VXT_INTENSITY_SHIFT;
    o.divide = 0.0;
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_INVALID_ARGUMENT, "divide is 0");
    o.divide = 1e-50; /* zero as float32 */
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_INVALID_ARGUMENT, "zero as float32");
    /* selection and masks */
    vxt_intensity_options_init(&o);
    o.select = (vxt_select)5;
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_INVALID_ARGUMENT, "select 5");
    o.select = VXT_SELECT_MASK;
    assert_status_msg(vxt_intensity_transform(ctx, &in, NULL, &out, &o), VXT_ERR_NULL, "mask");
    vxt_volume mask = pt_mask(&in, 1, 50);
    o.select = VXT_SELECT_ALL;
    assert_status_msg(vxt_intensity_transform(ctx, &in, &mask, &out, &o), VXT_ERR_INVALID_ARGUMENT,
                      "not VXT_SELECT_MASK");
    o.select = VXT_SELECT_MASK;
    vxt_volume m2 = mask;
    m2.shape[0] = 4;
    assert_status_msg(vxt_intensity_transform(ctx, &in, &m2, &out, &o), VXT_ERR_SHAPE_MISMATCH, "mask shape");
    m2 = mask;
    m2.dtype = VXT_DTYPE_I16;
    assert_status_msg(vxt_intensity_transform(ctx, &in, &m2, &out, &o), VXT_ERR_INVALID_ARGUMENT, "mask.dtype");
    m2 = mask;
    m2.channels = 2;
    assert_status_msg(vxt_intensity_transform(ctx, &in, &m2, &out, &o), VXT_ERR_SHAPE_MISMATCH, "mask has 2 channels");
    /* overlap: in place only with the same pointer and element size */
    vxt_volume f = pt_alloc(VXT_DTYPE_F32, 1, 5, 6, 7);
    pt_fill(&f, 9, 0);
    vxt_volume shifted = f;
    shifted.data = (float *)f.data + 3;
    shifted.shape[2] = 6;
    vxt_volume fin = f;
    fin.shape[2] = 6;
    assert_status_msg(vxt_clip(ctx, &fin, &shifted, 0, 1), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    vxt_volume as16 = {f.data, VXT_DTYPE_I16, 1, {5, 6, 7}};
    assert_status_msg(vxt_clip(ctx, &as16, &f, 0, 1), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    vxt_context_last_error(ctx);
    /* nothing was modified */
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    pt_free(&in);
    pt_free(&keep);
    pt_free(&out);
    pt_free(&out8);
    pt_free(&mask);
    pt_free(&f);
    vxt_context_destroy(ctx);
}

/* The caller's floating-point environment (rounding mode, flush-to-zero) changes nothing. */
static void run_env_sensitive(vxt_context *ctx, const vxt_volume *in, vxt_volume *outs)
{
    assert_ok(vxt_window(ctx, in, &outs[0], -160.3, 240.7));
    assert_ok(vxt_ct_normalize(ctx, in, &outs[1], -958.1, 1500.3, 42.3, 250.7));
    assert_ok(vxt_zscore(ctx, in, VXT_SELECT_NONZERO, NULL, &outs[2], NULL));
    assert_ok(vxt_percentile_clip(ctx, in, VXT_SELECT_ALL, NULL, 0.7, 99.1, &outs[3], NULL));
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.scale[0] = 1.3;
    o.scale[1] = 0.7;
    o.scale[2] = 1.1;
    assert_ok(vxt_resample(ctx, in, &outs[4], &o));
    const double m[16] = {0.9, 0.1, 0.0, 0.5, -0.2, 1.1, 0.3, -1.0, 0.0, 0.25, 0.8, 2.0, 0, 0, 0, 1};
    assert_ok(vxt_resample_affine(ctx, in, &outs[5], m, NULL));
}

static void test_fp_environment(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, 9, 23, 17);
    pt_fill(&in, 77, 0);
    vxt_volume a[6], b[6];
    for (int k = 0; k < 6; k++) {
        int64_t z = k == 4 ? 11 : 9, y = k == 4 ? 16 : 23, x = k == 4 ? 18 : 17;
        a[k] = pt_alloc(VXT_DTYPE_F32, 1, z, y, x);
        b[k] = pt_alloc(VXT_DTYPE_F32, 1, z, y, x);
    }
    run_env_sensitive(ctx, &in, a);
    fenv_t saved;
    fegetenv(&saved);
    fesetround(FE_UPWARD);
    _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ and DAZ, as a library built with -ffast-math would leave them */
    run_env_sensitive(ctx, &in, b);
    int still_upward = fegetround() == FE_UPWARD;
    fesetenv(&saved);
    assert_true(still_upward); /* and the caller's environment is restored */
    for (int k = 0; k < 6; k++) {
        assert_int_equal(pt_diff(a[k].data, b[k].data, pt_elems(&a[k]), 4, "FP environment"), 0);
        pt_free(&a[k]);
        pt_free(&b[k]);
    }
    pt_free(&in);
    vxt_context_destroy(ctx);
}

/* ---- opencl: identical bits ------------------------------------------------------------------------------------ */

static void test_device_bits(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_slabs = pt_cl();
    cl_slabs->pp_chunk_bytes = 4000;     /* many slabs, not aligned to anything */
    cl_slabs->pp_variant = VXT__PP_COPY; /* and copies in and out, as on a discrete GPU */
    const int64_t shapes[2][4] = {{1, 7, 11, 13}, {2, 5, 19, 23}};
    size_t checked = 0;
    for (size_t s = 0; s < 2; s++)
        for (size_t t = 0; t < PT_NTYPES; t++) {
            vxt_volume in = pt_alloc(pt_types[t], shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]);
            pt_fill(&in, 1000 * s + t, 1);
            vxt_volume keep = pt_copy(&in);
            vxt_volume mask = pt_mask(&in, t, 50);
            for (size_t k = 0; k < NOPS; k++) {
                vxt_volume a = run_op(cpu, &ops[k], &in, &mask), b = run_op(cl, &ops[k], &in, &mask),
                           c = run_op(cl_slabs, &ops[k], &in, &mask);
                char what[96];
                snprintf(what, sizeof what, "%s %s", ops[k].name, vxt_dtype_name(in.dtype));
                assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), what), 0);
                assert_int_equal(pt_diff(a.data, c.data, pt_elems(&a), vxt_dtype_size(a.dtype), what), 0);
                if (pt_types[t] == VXT_DTYPE_F32 && !ops[k].u8_out) { /* in place on the device */
                    vxt_volume io = pt_copy(&in);
                    assert_ok(ops[k].fn(cl_slabs, &io, &mask, &io));
                    assert_int_equal(pt_diff(a.data, io.data, pt_elems(&a), 4, "device in place"), 0);
                    pt_free(&io);
                }
                checked += pt_elems(&a);
                pt_free(&a);
                pt_free(&b);
                pt_free(&c);
            }
            assert_memory_equal(in.data, keep.data, pt_bytes(&in));
            pt_free(&in);
            pt_free(&keep);
            pt_free(&mask);
        }
    print_message("%zu output voxels identical on the device, the CPU path and in slabs\n", checked);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_slabs);
}

/* float64 inputs are rounded by integer operations on the device: the same as the host's cast, on any bits. */
static void test_device_f64_conversion(void **state)
{
    (void)state;
    vxt_context *cl = pt_cl();
    const size_t n = 1 << 18;
    vxt_volume in = pt_alloc(VXT_DTYPE_F64, 1, 1, 1, (int64_t)n);
    double *d = (double *)in.data;
    vxt_rng r = {99};
    for (size_t i = 0; i < n; i++) {
        uint64_t b = ((uint64_t)vxt_rng_u32(&r) << 32) | vxt_rng_u32(&r);
        if (i % 4 == 1) /* near the float range: exponents around float's */
            b = (b & 0x800fffffffffffffull) | ((uint64_t)(1023 - 150 + vxt_rng_u32(&r) % 300) << 52);
        if (i % 4 == 2) /* exact ties between floats */
            b = (b & ~0x1fffffffull) | 0x10000000ull;
        memcpy(&d[i], &b, 8);
    }
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 1, 1, (int64_t)n);
    vxt_intensity_options o;
    vxt_intensity_options_init(&o);
    assert_ok(vxt_intensity_transform(cl, &in, NULL, &out, &o));
    const float *y = (const float *)out.data;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float ref = vxt_ftz((float)d[i]);
        if (isnan(ref) ? !isnan(y[i]) : memcmp(&ref, &y[i], 4) != 0)
            bad++;
    }
    assert_int_equal(bad, 0);
    pt_free(&in);
    pt_free(&out);
    vxt_context_destroy(cl);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_reference), cmocka_unit_test(test_threads_and_inplace), cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_fp_environment),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_bits),
        cmocka_unit_test(test_device_f64_conversion),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
