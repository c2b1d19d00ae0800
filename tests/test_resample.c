/* test_resample.c - separable and affine resampling: shape helpers, nnU-Net's modes, a double-precision
 * reference, exact cases (identity, flips, permutations, labels), thread-count invariance, channels, bad input
 * (cpu); identical bits on the OpenCL device, including slabs (opencl). */
#include <stddef.h>

#include "preproc_testutil.h"

/* ---- shapes and modes -------------------------------------------------------------------------------------- */

static void test_shapes(void **state)
{
    (void)state;
    int64_t in[3] = {256, 512, 512}, out[3];
    double sp[3] = {2.5, 0.78, 0.78}, one[3] = {1.0, 1.0, 1.0};
    assert_ok(vxt_resample_shape_spacing(in, sp, one, out));
    assert_true(out[0] == 640 && out[1] == 399 && out[2] == 399);
    /* round half to even, as numpy: 2.5 -> 2, 3.5 -> 4, 0.5 -> error (0) */
    int64_t s5[3] = {5, 7, 3};
    double a[3] = {1.0, 1.0, 1.0}, b[3] = {2.0, 2.0, 2.0};
    assert_ok(vxt_resample_shape_spacing(s5, a, b, out));
    assert_true(out[0] == 2 && out[1] == 4 && out[2] == 2);
    int64_t s1[3] = {1, 1, 1};
    assert_status_msg(vxt_resample_shape_spacing(s1, a, b, out), VXT_ERR_INVALID_ARGUMENT, "rounds to 0");
    double bad[3] = {1.0, 0.0, 1.0};
    assert_status_msg(vxt_resample_shape_spacing(in, bad, one, out), VXT_ERR_INVALID_ARGUMENT, "in_spacing[1] is 0");
    bad[1] = -1.0;
    assert_status_msg(vxt_resample_shape_spacing(in, bad, one, out), VXT_ERR_INVALID_ARGUMENT, "in_spacing[1] is -1");
    bad[1] = NAN;
    assert_status_msg(vxt_resample_shape_spacing(in, one, bad, out), VXT_ERR_INVALID_ARGUMENT, "out_spacing[1] is nan");
    bad[1] = 1e-300;
    assert_status_msg(vxt_resample_shape_spacing(in, one, bad, out), VXT_ERR_OVERFLOW, "int64");
    int64_t zero[3] = {0, 4, 4};
    assert_status_msg(vxt_resample_shape_spacing(zero, one, one, out), VXT_ERR_INVALID_ARGUMENT, "in_shape[0] is 0");
    assert_status_msg(vxt_resample_shape_spacing(NULL, one, one, out), VXT_ERR_NULL, "in_shape");
    /* torch: floor(size * scale) */
    double sc[3] = {0.5, 1.6, 1.3};
    int64_t t[3] = {13, 17, 19};
    assert_ok(vxt_resample_shape_scale(t, sc, out));
    assert_true(out[0] == 6 && out[1] == 27 && out[2] == 24);
    sc[0] = 0.01;
    assert_status_msg(vxt_resample_shape_scale(t, sc, out), VXT_ERR_INVALID_ARGUMENT, "below 1 voxel");
    sc[0] = -1.0;
    assert_status_msg(vxt_resample_shape_scale(t, sc, out), VXT_ERR_INVALID_ARGUMENT, "scale[0] is -1");
}

static void test_nnunet_modes(void **state)
{
    (void)state;
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    double ct[3] = {2.5, 0.78, 0.78}, iso[3] = {1.0, 1.0, 1.0};
    assert_ok(vxt_resample_options_nnunet(ct, iso, 0, &o)); /* anisotropy 3.2 > 3: z nearest */
    assert_true(o.interp[0] == VXT_INTERP_NEAREST && o.interp[1] == VXT_INTERP_LINEAR &&
                o.interp[2] == VXT_INTERP_LINEAR);
    double mild[3] = {2.0, 0.78, 0.78};
    assert_ok(vxt_resample_options_nnunet(mild, iso, 0, &o)); /* 2.56: all linear */
    assert_true(o.interp[0] == VXT_INTERP_LINEAR && o.interp[1] == VXT_INTERP_LINEAR);
    double target[3] = {0.7, 3.0, 0.7};
    assert_ok(vxt_resample_options_nnunet(iso, target, 0, &o)); /* the target spacing decides: y nearest */
    assert_true(o.interp[1] == VXT_INTERP_NEAREST && o.interp[0] == VXT_INTERP_LINEAR);
    double two[3] = {4.0, 4.0, 1.0};
    assert_ok(vxt_resample_options_nnunet(two, iso, 0, &o)); /* two coarse axes: no separate axis */
    assert_true(o.interp[0] == VXT_INTERP_LINEAR && o.interp[1] == VXT_INTERP_LINEAR);
    assert_ok(vxt_resample_options_nnunet(ct, iso, 1, &o));
    assert_true(o.interp[0] == VXT_INTERP_NEAREST && o.interp[1] == VXT_INTERP_NEAREST &&
                o.interp[2] == VXT_INTERP_NEAREST);
    double z[3] = {0.0, 1.0, 1.0};
    assert_status_msg(vxt_resample_options_nnunet(z, iso, 0, &o), VXT_ERR_INVALID_ARGUMENT, "axis 0");
    o.struct_size = 3;
    assert_status_msg(vxt_resample_options_nnunet(ct, iso, 0, &o), VXT_ERR_STRUCT_SIZE, "struct_size");
}

/* ---- double reference of the separable linear resampling ---------------------------------------------------- */

static double src_coord(int64_t o, int64_t nin, int64_t nout, vxt_grid_align g)
{
    if (g == VXT_ALIGN_CORNERS)
        return nout > 1 ? (double)o * (double)(nin - 1) / (double)(nout - 1) : 0.0;
    if (nin == nout)
        return (double)o;
    double s = ((double)o + 0.5) * (double)nin / (double)nout - 0.5;
    return s < 0.0 ? 0.0 : s;
}

static void test_linear_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    const int64_t outs[3][3] = {{17, 23, 29}, {4, 6, 5}, {9, 30, 8}};
    for (size_t t = 0; t < PT_NTYPES; t++)
        for (int g = 0; g < 2; g++)
            for (size_t k = 0; k < 3; k++) {
                vxt_volume in = pt_alloc(pt_types[t], 1, 9, 13, 11);
                pt_fill(&in, 7 + t, 0);
                vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, outs[k][0], outs[k][1], outs[k][2]);
                vxt_resample_options o;
                vxt_resample_options_init(&o);
                o.align = (vxt_grid_align)g;
                assert_ok(vxt_resample(ctx, &in, &out, &o));
                double vmax = 0.0, worst = 0.0;
                for (size_t i = 0; i < pt_elems(&in); i++)
                    vmax = fmax(vmax, fabs((double)vxt__pp_load(&in, i)));
                for (int64_t z = 0; z < outs[k][0]; z++)
                    for (int64_t y = 0; y < outs[k][1]; y++)
                        for (int64_t x = 0; x < outs[k][2]; x++) {
                            double c[3] = {src_coord(z, 9, outs[k][0], o.align), src_coord(y, 13, outs[k][1], o.align),
                                           src_coord(x, 11, outs[k][2], o.align)};
                            const int64_t n[3] = {9, 13, 11};
                            int64_t i0[3], i1[3];
                            double w[3];
                            for (int a = 0; a < 3; a++) {
                                i0[a] = (int64_t)floor(c[a]);
                                i0[a] = i0[a] > n[a] - 1 ? n[a] - 1 : i0[a];
                                i1[a] = i0[a] + 1 < n[a] ? i0[a] + 1 : n[a] - 1;
                                w[a] = c[a] - (double)i0[a];
                            }
                            double v = 0.0;
                            for (int d = 0; d < 8; d++) {
                                int64_t zz = d & 4 ? i1[0] : i0[0], yy = d & 2 ? i1[1] : i0[1],
                                        xx = d & 1 ? i1[2] : i0[2];
                                double ww =
                                    (d & 4 ? w[0] : 1 - w[0]) * (d & 2 ? w[1] : 1 - w[1]) * (d & 1 ? w[2] : 1 - w[2]);
                                v += ww * (double)vxt__pp_load(&in, (size_t)((zz * 13 + yy) * 11 + xx));
                            }
                            double got = (double)((float *)out.data)[(z * outs[k][1] + y) * outs[k][2] + x];
                            worst = fmax(worst, fabs(got - v) / vmax);
                        }
                /* float32 source coordinates (torch's) and float32 weights and blends: a few 1e-7 of the range */
                if (worst > 2e-6)
                    fail_msg("%s grid %d case %zu: relative error %.3g", vxt_dtype_name(pt_types[t]), g, k, worst);
                pt_free(&in);
                pt_free(&out);
            }
    vxt_context_destroy(ctx);
}

/* ---- exact cases ---------------------------------------------------------------------------------------------- */

static void test_exact_cases(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 2, 6, 7, 9);
    pt_fill(&in, 3, 0);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 2, 6, 7, 9);
    /* same shape: identity on both grids */
    for (int g = 0; g < 2; g++) {
        vxt_resample_options o;
        vxt_resample_options_init(&o);
        o.align = (vxt_grid_align)g;
        assert_ok(vxt_resample(ctx, &in, &out, &o));
        assert_memory_equal(in.data, out.data, pt_bytes(&in));
    }
    /* identity affine, linear and nearest */
    double id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    vxt_affine_options ao;
    vxt_affine_options_init(&ao);
    assert_ok(vxt_resample_affine(ctx, &in, &out, id, &ao));
    assert_memory_equal(in.data, out.data, pt_bytes(&in));
    ao.interp = VXT_INTERP_NEAREST;
    assert_ok(vxt_resample_affine(ctx, &in, &out, id, &ao));
    assert_memory_equal(in.data, out.data, pt_bytes(&in));
    /* a flip of x and a shift of y by 2 with constant fill */
    double fl[16] = {1, 0, 0, 0, 0, 1, 0, 2, 0, 0, -1, 8, 0, 0, 0, 1};
    ao.interp = VXT_INTERP_LINEAR;
    ao.fill_value = -5.0;
    assert_ok(vxt_resample_affine(ctx, &in, &out, fl, &ao));
    const float *a = (const float *)in.data, *b = (const float *)out.data;
    for (int64_t c = 0; c < 2; c++)
        for (int64_t z = 0; z < 6; z++)
            for (int64_t y = 0; y < 7; y++)
                for (int64_t x = 0; x < 9; x++) {
                    float want = y + 2 < 7 ? a[((c * 6 + z) * 7 + y + 2) * 9 + (8 - x)] : -5.0f;
                    assert_true(b[((c * 6 + z) * 7 + y) * 9 + x] == want);
                }
    /* labels: nearest, same dtype, values never interpolated; equal to the float path */
    vxt_volume lab = pt_alloc(VXT_DTYPE_U8, 1, 5, 6, 7);
    for (size_t i = 0; i < pt_elems(&lab); i++)
        ((uint8_t *)lab.data)[i] = (uint8_t)(i % 5);
    vxt_volume lo = pt_alloc(VXT_DTYPE_U8, 1, 11, 4, 13), lf = pt_alloc(VXT_DTYPE_F32, 1, 11, 4, 13);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST;
    assert_ok(vxt_resample(ctx, &lab, &lo, &o));
    assert_ok(vxt_resample(ctx, &lab, &lf, &o));
    for (size_t i = 0; i < pt_elems(&lo); i++)
        assert_true((float)((uint8_t *)lo.data)[i] == ((float *)lf.data)[i]);
    /* torch nearest-exact indices: 5 -> 11 gives floor((i + 0.5) * 5/11) */
    for (int64_t x = 0; x < 13; x++) {
        int64_t k = (int64_t)floorf((float)(((double)x + 0.5) * (double)(7.0f / 13.0f)));
        assert_int_equal(((uint8_t *)lo.data)[x], ((uint8_t *)lab.data)[k]);
    }
    /* constant boundary: upsampling edges blend the fill value; fully outside samples are the fill value */
    vxt_volume one = pt_alloc(VXT_DTYPE_F32, 1, 1, 1, 2);
    ((float *)one.data)[0] = 10.0f;
    ((float *)one.data)[1] = 20.0f;
    vxt_volume four = pt_alloc(VXT_DTYPE_F32, 1, 1, 1, 4);
    vxt_resample_options_init(&o);
    o.boundary = VXT_BOUNDARY_CONSTANT;
    o.fill_value = 2.0;
    assert_ok(vxt_resample(ctx, &one, &four, &o));
    const float *f4 = (const float *)four.data;
    /* src = (x + 0.5)/2 - 0.5: -0.25, 0.25, 0.75, 1.25 */
    assert_true(f4[0] == 0.25f * 2.0f + 0.75f * 10.0f && f4[1] == 0.75f * 10.0f + 0.25f * 20.0f);
    assert_true(f4[3] == 0.75f * 20.0f + 0.25f * 2.0f);
    double far[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 100, 0, 0, 0, 1};
    vxt_affine_options_init(&ao);
    ao.fill_value = 0.1;
    assert_ok(vxt_resample_affine(ctx, &one, &four, far, &ao));
    assert_true(f4[0] == 0.1f && f4[3] == 0.1f);
    /* channels are resampled independently: channel 1 alone gives the same bits */
    vxt_volume up = pt_alloc(VXT_DTYPE_F32, 2, 9, 11, 13);
    vxt_resample_options_init(&o);
    assert_ok(vxt_resample(ctx, &in, &up, &o));
    vxt_volume c1 = in, u1 = up;
    c1.channels = u1.channels = 1;
    c1.data = (float *)in.data + 6 * 7 * 9;
    vxt_volume u1b = pt_alloc(VXT_DTYPE_F32, 1, 9, 11, 13);
    assert_ok(vxt_resample(ctx, &c1, &u1b, &o));
    assert_memory_equal(u1b.data, (float *)up.data + 9 * 11 * 13, pt_bytes(&u1b));
    pt_free(&in);
    pt_free(&out);
    pt_free(&lab);
    pt_free(&lo);
    pt_free(&lf);
    pt_free(&one);
    pt_free(&four);
    pt_free(&up);
    pt_free(&u1b);
    vxt_context_destroy(ctx);
}

/* ---- option sets used for the bitwise comparisons ------------------------------------------------------------ */

typedef struct rs_case {
    const char *name;
    vxt_interp interp[3];
    vxt_grid_align grid;
    vxt_boundary bnd;
    double scale[3];
    int64_t shape[3];
    int raw;
} rs_case;

static const rs_case rs_cases[] = {
    {"trilinear up", {0, 0, 0}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {14, 21, 26}, 0},
    {"trilinear down", {0, 0, 0}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {4, 6, 7}, 0},
    {"trilinear constant", {0, 0, 0}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CONSTANT, {0, 0, 0}, {15, 5, 30}, 0},
    {"corner", {0, 0, 0}, VXT_ALIGN_CORNERS, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {12, 20, 8}, 0},
    {"scale factors", {0, 0, 0}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {1.6, 0.5, 1.3}, {14, 5, 16}, 0},
    {"anisotropic", {1, 0, 0}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {19, 10, 17}, 0},
    {"nearest", {1, 1, 1}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {16, 9, 25}, 0},
    {"nearest floor", {2, 2, 2}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {18, 26, 10}, 0},
    {"nearest corner", {1, 1, 1}, VXT_ALIGN_CORNERS, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {16, 9, 25}, 0},
    {"labels", {1, 1, 1}, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, {0, 0, 0}, {16, 9, 25}, 1},
};
#define NRS (sizeof rs_cases / sizeof rs_cases[0])

static vxt_volume run_rs(vxt_context *ctx, const rs_case *c, const vxt_volume *in)
{
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    for (int a = 0; a < 3; a++) {
        o.interp[a] = c->interp[a];
        o.scale[a] = c->scale[a];
    }
    o.align = c->grid;
    o.boundary = c->bnd;
    o.fill_value = c->raw ? 3.0 : -3.0;
    vxt_volume out = pt_alloc(c->raw ? in->dtype : VXT_DTYPE_F32, in->channels, c->shape[0], c->shape[1], c->shape[2]);
    vxt_status st = vxt_resample(ctx, in, &out, &o);
    if (st != VXT_OK)
        fail_msg("%s: %s", c->name, vxt_last_error());
    return out;
}

/* Output planes [z0, z0 + n) of run_rs's output, through opts.out_z_offset / out_z_total; with `in_window`, from
 * only the input planes they read (vxt_resample_z_sources), copied into a slab of their own (opts.in_z_*). */
static vxt_volume run_rs_window(vxt_context *ctx, const rs_case *c, const vxt_volume *in, int64_t z0, int64_t n,
                                int in_window)
{
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    for (int a = 0; a < 3; a++) {
        o.interp[a] = c->interp[a];
        o.scale[a] = c->scale[a];
    }
    o.align = c->grid;
    o.boundary = c->bnd;
    o.fill_value = c->raw ? 3.0 : -3.0;
    o.out_z_offset = z0;
    o.out_z_total = c->shape[0];
    vxt_volume src = *in, slab = {0};
    if (in_window) {
        int64_t lo = -1, hi = -1;
        assert_ok(vxt_resample_z_sources(&o, in->shape[0], c->shape[0], z0, z0 + n, &lo, &hi));
        assert_true(0 <= lo && lo <= hi && hi <= in->shape[0]);
        if (hi == lo) /* constant boundary: no input plane is read; a slab still needs one */
            hi = lo < in->shape[0] ? lo + 1 : lo, lo = hi - 1;
        slab = pt_alloc(in->dtype, in->channels, hi - lo, in->shape[1], in->shape[2]);
        const size_t plane = (size_t)(in->shape[1] * in->shape[2]) * vxt_dtype_size(in->dtype);
        for (int64_t ch = 0; ch < in->channels; ch++)
            memcpy((char *)slab.data + (size_t)(ch * (hi - lo)) * plane,
                   (const char *)in->data + (size_t)(ch * in->shape[0] + lo) * plane, (size_t)(hi - lo) * plane);
        o.in_z_offset = lo;
        o.in_z_total = in->shape[0];
        src = slab;
    }
    vxt_volume out = pt_alloc(c->raw ? in->dtype : VXT_DTYPE_F32, in->channels, n, c->shape[1], c->shape[2]);
    vxt_status st = vxt_resample(ctx, &src, &out, &o);
    if (st != VXT_OK)
        fail_msg("%s, planes %lld + %lld: %s", c->name, (long long)z0, (long long)n, vxt_last_error());
    if (in_window)
        pt_free(&slab);
    return out;
}

/* Every window of every case gives the bits of the whole output's planes (each channel), on ctx: from the whole
 * input, and from only the input planes the window reads. */
static size_t check_windows(vxt_context *ref, vxt_context *ctx, const vxt_volume *in, const char *who)
{
    size_t checked = 0;
    for (size_t k = 0; k < NRS; k++) {
        const rs_case *c = &rs_cases[k];
        vxt_volume full = run_rs(ref, c, in);
        const int64_t D = c->shape[0], plane = c->shape[1] * c->shape[2];
        const int64_t win[5][2] = {{0, 1}, {D - 1, 1}, {1, D - 2}, {D / 2, D - D / 2}, {0, D}};
        for (int w = 0; w < 10; w++) {
            if (!vxt_test_small_turn(k + (size_t)w, 0, 3)) /* vxt_test_small(): a third of the windows, all kinds */
                continue;
            const int64_t *wz = win[w % 5];
            vxt_volume part = run_rs_window(ctx, c, in, wz[0], wz[1], w >= 5);
            const size_t es = vxt_dtype_size(part.dtype);
            for (int64_t ch = 0; ch < in->channels; ch++) {
                char what[160];
                snprintf(what, sizeof what, "%s %s %s window %lld+%lld%s channel %lld", who, c->name,
                         vxt_dtype_name(in->dtype), (long long)wz[0], (long long)wz[1],
                         w >= 5 ? " from its input planes" : "", (long long)ch);
                const char *a = (const char *)full.data + (size_t)((ch * D + wz[0]) * plane) * es;
                const char *b = (const char *)part.data + (size_t)(ch * wz[1] * plane) * es;
                assert_int_equal(pt_diff(a, b, (size_t)(wz[1] * plane), es, what), 0);
                checked += (size_t)(wz[1] * plane);
            }
            pt_free(&part);
        }
        pt_free(&full);
    }
    return checked;
}

static void test_windows(void **state)
{
    (void)state;
    vxt_context *c1 = pt_cpu(1), *c3 = pt_cpu(3);
    size_t checked = 0;
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 9, 13, 15);
        pt_fill(&in, 70 + t, 1);
        checked += check_windows(c1, c1, &in, "cpu");
        checked += check_windows(c1, c3, &in, "cpu 3 threads");
        pt_free(&in);
    }
    print_message("%zu voxels of output slabs identical to the whole resampling's\n", checked);
    /* a caller built before the window fields existed: the shorter struct is accepted, the window is off */
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, 6, 7, 8);
    pt_fill(&in, 5, 0);
    vxt_volume a = pt_alloc(VXT_DTYPE_F32, 1, 9, 5, 11), b = pt_alloc(VXT_DTYPE_F32, 1, 9, 5, 11);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    assert_ok(vxt_resample(c1, &in, &a, &o));
    o.struct_size = offsetof(vxt_resample_options, out_z_offset);
    o.out_z_total = 1000; /* beyond the caller's struct: never read */
    assert_ok(vxt_resample(c1, &in, &b, &o));
    assert_memory_equal(a.data, b.data, pt_bytes(&a));
    assert_ok(vxt_resample_options_nnunet((double[3]){3, 1, 1}, (double[3]){1, 1, 1}, 0, &o));
    /* bad windows */
    vxt_resample_options_init(&o);
    o.out_z_total = 8; /* out is 9 deep */
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "out_z_total 8");
    o.out_z_total = 12;
    o.out_z_offset = 4;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "out_z_offset 4");
    o.out_z_offset = -1;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "out_z_offset -1");
    o.out_z_offset = 0;
    o.out_z_total = -9;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "out_z_total -9");
    o.out_z_total = INT64_MAX;
    o.out_z_offset = INT64_MAX - 3;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "do not fit");
    /* input windows: the planes an output reads must be in the slab */
    vxt_resample_options_init(&o);
    int64_t lo = -1, hi = -1;
    assert_ok(vxt_resample_z_sources(&o, 12, 9, 0, 9, &lo, &hi));
    assert_true(lo == 0 && hi == 12);
    assert_ok(vxt_resample_z_sources(&o, 12, 9, 4, 5, &lo, &hi));
    assert_true(lo >= 4 && hi <= 8 && hi - lo == 2); /* one output plane of a downsampling reads two */
    o.in_z_total = 12; /* in (6 planes) as planes [4, 10) of 12: output plane 0 reads planes 0..1 */
    o.in_z_offset = 4;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT,
                      "output plane 0 reads input plane 0, outside the input slab [4, 10)");
    o.in_z_offset = 7; /* beyond the total */
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "in_z");
    o.in_z_offset = -1;
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "in_z");
    o.in_z_offset = 0;
    o.in_z_total = 5; /* shorter than the slab */
    assert_status_msg(vxt_resample(c1, &in, &a, &o), VXT_ERR_INVALID_ARGUMENT, "in_z_total 5");
    vxt_resample_options_init(&o);
    assert_status_msg(vxt_resample_z_sources(&o, 0, 9, 0, 1, &lo, &hi), VXT_ERR_INVALID_ARGUMENT, "depth");
    assert_status_msg(vxt_resample_z_sources(&o, 12, 9, 3, 10, &lo, &hi), VXT_ERR_INVALID_ARGUMENT, "[3, 10)");
    assert_status_msg(vxt_resample_z_sources(&o, 12, 9, 5, 4, &lo, &hi), VXT_ERR_INVALID_ARGUMENT, "[5, 4)");
    assert_status_msg(vxt_resample_z_sources(&o, 12, 9, 0, 1, NULL, &hi), VXT_ERR_NULL, "src_z0");
    pt_free(&in);
    pt_free(&a);
    pt_free(&b);
    vxt_context_destroy(c1);
    vxt_context_destroy(c3);
}

static const double affines[3][16] = {
    {0.9, 0.1, 0.0, 0.5, -0.2, 1.1, 0.3, -1.0, 0.0, 0.25, 0.8, 2.0, 0, 0, 0, 1}, /* rotation-ish, zoom, shift */
    {0, 0, 1, 0, 0, -1, 0, 10, 1, 0, 0, 0, 0, 0, 0, 1},                          /* permutation and flip */
    {0.5, 0, 0, -1.5, 0, 0.7, 0, 0.2, 0, 0, 1.3, -0.4, 0, 0, 0, 1},              /* zoom and shift */
};

static vxt_volume run_aff(vxt_context *ctx, int k, int linear, int clamp, int raw, const vxt_volume *in)
{
    vxt_affine_options o;
    vxt_affine_options_init(&o);
    o.interp = linear ? VXT_INTERP_LINEAR : VXT_INTERP_NEAREST;
    o.boundary = clamp ? VXT_BOUNDARY_CLAMP : VXT_BOUNDARY_CONSTANT;
    o.fill_value = 4.0;
    vxt_volume out = pt_alloc(raw ? in->dtype : VXT_DTYPE_F32, in->channels, 12, 11, 13);
    vxt_status st = vxt_resample_affine(ctx, in, &out, affines[k], &o);
    if (st != VXT_OK)
        fail_msg("affine %d: %s", k, vxt_last_error());
    return out;
}

static void test_threads(void **state)
{
    (void)state;
    vxt_context *c1 = pt_cpu(1), *c4 = pt_cpu(4);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 9, 13, 15);
        pt_fill(&in, 30 + t, 1);
        for (size_t k = 0; k < NRS; k++) {
            vxt_volume a = run_rs(c1, &rs_cases[k], &in), b = run_rs(c4, &rs_cases[k], &in);
            assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), rs_cases[k].name), 0);
            pt_free(&a);
            pt_free(&b);
        }
        pt_free(&in);
    }
    vxt_context_destroy(c1);
    vxt_context_destroy(c4);
}

static void test_bad_input(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 5, 6, 7);
    pt_fill(&in, 2, 0);
    vxt_volume keep = pt_copy(&in);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 8, 8, 8);
    vxt_volume o8 = pt_alloc(VXT_DTYPE_U8, 1, 8, 8, 8);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    assert_status_msg(vxt_resample(NULL, &in, &out, &o), VXT_ERR_NULL, "ctx");
    assert_status_msg(vxt_resample(ctx, NULL, &out, &o), VXT_ERR_NULL, "in");
    assert_status_msg(vxt_resample(ctx, &in, NULL, &o), VXT_ERR_NULL, "out");
    vxt_volume b = out;
    b.shape[0] = 0;
    assert_status_msg(vxt_resample(ctx, &in, &b, &o), VXT_ERR_INVALID_ARGUMENT, "out.shape[0]");
    b = out;
    b.channels = 3;
    assert_status_msg(vxt_resample(ctx, &in, &b, &o), VXT_ERR_SHAPE_MISMATCH, "channels");
    assert_status_msg(vxt_resample(ctx, &in, &o8, &o), VXT_ERR_INVALID_ARGUMENT, "out.dtype is uint8");
    o.interp[1] = (vxt_interp)9;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "interp[1]");
    vxt_resample_options_init(&o);
    o.align = (vxt_grid_align)3;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "grid");
    vxt_resample_options_init(&o);
    o.boundary = (vxt_boundary)9;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "not a vxt_boundary");
    o.boundary = VXT_BOUNDARY_GRID_MIRROR; /* a mirror boundary with linear axes */
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "needs every axis cubic or nearest");
    vxt_resample_options_init(&o);
    o.scale[2] = -2.0;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "scale[2]");
    o.scale[2] = NAN;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "scale[2]");
    vxt_resample_options_init(&o);
    o.fill_value = INFINITY;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "fill_value");
    vxt_resample_options_init(&o);
    o.struct_size = 2;
    assert_status_msg(vxt_resample(ctx, &in, &out, &o), VXT_ERR_STRUCT_SIZE, "struct_size");
    /* labels: fill must be a value of the type */
    vxt_resample_options_init(&o);
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST;
    o.fill_value = 0.5;
    vxt_volume l16 = pt_alloc(VXT_DTYPE_I16, 1, 8, 8, 8);
    assert_status_msg(vxt_resample(ctx, &in, &l16, &o), VXT_ERR_INVALID_ARGUMENT, "not a int16 value");
    o.fill_value = 40000;
    assert_status_msg(vxt_resample(ctx, &in, &l16, &o), VXT_ERR_INVALID_ARGUMENT, "40000");
    /* overlap */
    vxt_volume alias = {in.data, VXT_DTYPE_F32, 1, {1, 1, 4}};
    vxt_resample_options_init(&o);
    assert_status_msg(vxt_resample(ctx, &in, &alias, &o), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    /* affine */
    double m[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, NULL, NULL), VXT_ERR_NULL, "matrix");
    m[15] = 2.0;
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, m, NULL), VXT_ERR_INVALID_ARGUMENT, "last row");
    m[15] = 1.0;
    m[5] = 0.0; /* singular */
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, m, NULL), VXT_ERR_INVALID_ARGUMENT, "singular");
    m[5] = 1.0;
    m[4] = 1.0;
    m[0] = 1.0;
    m[1] = 1.0; /* rows 0 and 1 equal: singular */
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, m, NULL), VXT_ERR_INVALID_ARGUMENT, "singular");
    double n2[16] = {1, 0, 0, NAN, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, n2, NULL), VXT_ERR_INVALID_ARGUMENT, "matrix[3] is nan");
    n2[3] = 1e300;
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, n2, NULL), VXT_ERR_INVALID_ARGUMENT, "float32");
    n2[3] = 0.0;
    vxt_affine_options ao;
    vxt_affine_options_init(&ao);
    ao.interp = VXT_INTERP_NEAREST_FLOOR;
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, n2, &ao), VXT_ERR_INVALID_ARGUMENT, "interp");
    vxt_affine_options_init(&ao);
    ao.struct_size = 1;
    assert_status_msg(vxt_resample_affine(ctx, &in, &out, n2, &ao), VXT_ERR_STRUCT_SIZE, "struct_size");
    vxt_affine_options_init(&ao);
    assert_status_msg(vxt_resample_affine(ctx, &in, &l16, n2, &ao), VXT_ERR_INVALID_ARGUMENT, "nearest");
    vxt_volume u32 = in;
    u32.dtype = VXT_DTYPE_U32;
    assert_status_msg(vxt_resample_affine(ctx, &u32, &out, n2, &ao), VXT_ERR_UNSUPPORTED, "uint32");
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    pt_free(&in);
    pt_free(&keep);
    pt_free(&out);
    pt_free(&o8);
    pt_free(&l16);
    vxt_context_destroy(ctx);
}

/* ---- opencl ----------------------------------------------------------------------------------------------------- */

/* Under vxt_test_small() (Oclgrind): the types of pt_small_type, and the three device variants taking
 * turns over the cases (each case on one variant per type, each variant on a third of the cases), the windows of
 * check_windows likewise. */
static void test_device_bits(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_slabs = pt_cl(), *cl_voxel = pt_cl();
    cl_voxel->pp_variant = VXT__PP_RESAMPLE_VOXEL; /* one work-item per voxel instead of three passes */
    /* slab limits below: per-channel slabs of a few planes, input slabs too; copies in and out, as on a
     * discrete GPU */
    cl_slabs->pp_variant = VXT__PP_COPY;
    vxt_context *const dev[3] = {cl, cl_slabs, cl_voxel};
    const char *const dev_name[3] = {"opencl", "opencl slabs", "opencl per voxel"};
    const int64_t channels = 2;
    size_t checked = 0;
    for (size_t t = 0; t < PT_NTYPES; t++) {
        if (!pt_small_type(pt_types[t]))
            continue;
        vxt_volume in = pt_alloc(pt_types[t], channels, 9, 13, 15);
        pt_fill(&in, 50 + t, 1);
        vxt_volume keep = pt_copy(&in);
        /* three input planes and two of the largest output planes */
        cl_slabs->pp_chunk_bytes = 3 * 13 * 15 * vxt_dtype_size(in.dtype) + 2 * 26 * 21 * 4;
        for (size_t k = 0; k < NRS; k++) {
            vxt_volume a = run_rs(cpu, &rs_cases[k], &in);
            for (size_t v = 0; v < 3; v++) {
                if (!vxt_test_small_turn(t + k, v, 3))
                    continue;
                vxt_volume b = run_rs(dev[v], &rs_cases[k], &in);
                char what[128];
                snprintf(what, sizeof what, "%s %s %s", dev_name[v], rs_cases[k].name, vxt_dtype_name(in.dtype));
                assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), what), 0);
                checked += pt_elems(&a);
                pt_free(&b);
            }
            pt_free(&a);
        }
        /* affine slabs: one channel's input fits a buffer, the output is cut into plane slabs (an affine slab may
         * need every input plane: a permutation maps output z to input x) */
        cl_slabs->pp_chunk_bytes = pt_bytes(&in) / (size_t)channels;
        for (int k = 0; k < 3; k++)
            for (int mode = 0; mode < 5; mode++) { /* linear/nearest x clamp/constant, and raw nearest */
                int linear = mode < 2, clamp = mode % 2, raw = mode == 4;
                vxt_volume a = run_aff(cpu, k, linear, clamp, raw, &in);
                for (size_t v = 0; v < 2; v++) {
                    if (!vxt_test_small_turn(t + (size_t)(k * 5 + mode), v, 2))
                        continue;
                    vxt_volume b = run_aff(dev[v], k, linear, clamp, raw, &in);
                    char what[128];
                    snprintf(what, sizeof what, "%s affine %d mode %d %s", dev_name[v], k, mode,
                             vxt_dtype_name(in.dtype));
                    assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), what), 0);
                    checked += pt_elems(&a);
                    pt_free(&b);
                }
                pt_free(&a);
            }
        assert_memory_equal(in.data, keep.data, pt_bytes(&in));
        pt_free(&in);
        pt_free(&keep);
    }
    print_message("%zu resampled voxels identical on the device, the CPU path and in slabs\n", checked);
    /* output windows (opts.out_z_offset): the device's slab of the output has the CPU's bits of the whole */
    checked = 0;
    for (size_t t = 0; t < PT_NTYPES; t++) {
        if (!pt_small_type(pt_types[t]))
            continue;
        vxt_volume in = pt_alloc(pt_types[t], channels, 9, 13, 15);
        pt_fill(&in, 90 + t, 1);
        cl_slabs->pp_chunk_bytes = 3 * 13 * 15 * vxt_dtype_size(in.dtype) + 2 * 26 * 21 * 4;
        for (size_t v = 0; v < 3; v++)
            if (vxt_test_small_turn(t, v, 3))
                checked += check_windows(cpu, dev[v], &in, dev_name[v]);
        pt_free(&in);
    }
    print_message("%zu voxels of output windows identical on the device\n", checked);
    /* a slab that cannot be split: one output plane needs more input than a buffer holds */
    vxt_volume big = pt_alloc(VXT_DTYPE_F32, 1, 4, 40, 40);
    pt_fill(&big, 1, 0);
    vxt_volume bo = pt_alloc(VXT_DTYPE_F32, 1, 2, 40, 40);
    cl_slabs->pp_chunk_bytes = 40 * 40 * 4 + 16; /* one input plane; a downsampled plane needs two */
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    assert_status_msg(vxt_resample(cl_slabs, &big, &bo, &o), VXT_ERR_UNSUPPORTED, "largest buffer");
    pt_free(&big);
    pt_free(&bo);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_slabs);
    vxt_context_destroy(cl_voxel);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_shapes),           cmocka_unit_test(test_nnunet_modes),
        cmocka_unit_test(test_linear_reference), cmocka_unit_test(test_exact_cases),
        cmocka_unit_test(test_threads),          cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_windows),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_bits),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
