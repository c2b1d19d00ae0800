/* test_arith.c - the shared per-voxel arithmetic (kernels/vxt_arith.h): accuracy against double-precision
 * references on the CPU, and identical bits on the OpenCL device for a million random inputs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef _Float16 vxt_f16; /* the compiler's binary16, as an oracle */

#include "internal.h"
#include "vxt_arith.h"
#include "vxt_test.h"

static double ulp_diff(float got, double exact)
{
    /* distance in units of the float spacing at the exact value */
    float ef = (float)exact;
    if (ef == 0.0f)
        return got == 0.0f ? 0.0 : INFINITY;
    double spacing = (double)nextafterf(fabsf(ef), INFINITY) - (double)fabsf(ef);
    return fabs((double)got - exact) / spacing;
}

static void test_exp_accuracy(void **state)
{
    (void)state;
    double worst = 0.0;
    float worst_x = 0.0f;
    size_t count = 0;
    /* every 97th float in [-87.33, 88.72]: about 22 million values over the whole exponent range */
    for (uint32_t u = 0; u < 0x80000000u; u += 97u) {
        for (int sgn = 0; sgn < 2; sgn++) {
            float x = vxt_u2f(u | (sgn ? 0x80000000u : 0u));
            if (!(x > -87.33654f && x < 88.72283f))
                continue;
            double e = exp((double)x);
            if (e < (double)FLT_MIN)
                continue; /* flushed by policy */
            double d = ulp_diff(vxt_exp(x), e);
            count++;
            if (d > worst) {
                worst = d;
                worst_x = x;
            }
        }
    }
    print_message("vxt_exp: %zu values, max error %.3f ulp at x = %.9g\n", count, worst, (double)worst_x);
    assert_true(count > 10000000);
    assert_true(worst <= 2.0);
}

static void test_exp_special_values(void **state)
{
    (void)state;
    assert_true(vxt_exp(0.0f) == 1.0f);
    assert_true(vxt_exp(-0.0f) == 1.0f);
    assert_true(isinf(vxt_exp(89.0f)) && vxt_exp(89.0f) > 0.0f);
    assert_true(isinf(vxt_exp(INFINITY)));
    assert_true(vxt_exp(-INFINITY) == 0.0f);
    assert_true(vxt_exp(-88.0f) == 0.0f); /* would be subnormal: flushed */
    assert_true(isnan(vxt_exp(NAN)));
    float big = vxt_exp(88.72283f); /* n = 128 branch */
    assert_true(isfinite(big) && big > 3.4e38f);
    assert_true(ulp_diff(big, exp((double)88.72283f)) <= 2.0);
    /* never a subnormal anywhere near the lower edge */
    for (float x = -87.5f; x < -86.0f; x = nextafterf(x, 0.0f) + 1e-4f) {
        float e = vxt_exp(x);
        assert_true(e == 0.0f || e >= FLT_MIN);
    }
}

/* The plain form of vxt_exp: early returns for the special cases. vxt_exp computes the same without branches (so
 * that host loops vectorize); this is the form it must equal, bit for bit. */
static float exp_plain(float x)
{
    if (vxt_isnan(x))
        return x;
    if (x > 88.72283905f)
        return vxt_u2f(0x7f800000u);
    if (x < -87.33654475f)
        return 0.0f;
    float n = vxt_round_small(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * z + r;
    y = y + 1.0f;
    int ni = (int)n;
    if (ni > 127) {
        y = y * 2.0f;
        ni = ni - 1;
    }
    return vxt_ftz(y * vxt_u2f((vxt_u32)(ni + 127) << 23));
}

static void test_exp_branch_free_form(void **state)
{
    (void)state;
    /* every 61st bit pattern (70 million: every exponent, NaN payloads, infinities), then every float within 2^16
     * ulps of the three edges (overflow, underflow, where n reaches 128, near 88.376), through an array loop (the
     * form the compiler vectorizes) */
    enum { N = 1 << 16 };
    static float in[N], out[N];
    size_t checked = 0;
    uint64_t u = 0;
    const float edges[3] = {88.72283905f, -87.33654475f, 88.3762655f};
    for (int phase = 0; phase < 4; phase++) {
        uint64_t lo = 0, hi = 0x100000000ull, step = 61;
        if (phase > 0) {
            lo = vxt_f2u(edges[phase - 1]) - N / 2;
            hi = lo + N;
            step = 1;
        }
        for (u = lo; u < hi;) {
            int n = 0;
            for (; n < N && u < hi; n++, u += step)
                in[n] = vxt_u2f((uint32_t)u);
            for (int i = 0; i < n; i++)
                out[i] = vxt_exp(in[i]);
            for (int i = 0; i < n; i++)
                if (vxt_f2u(out[i]) != vxt_f2u(exp_plain(in[i])))
                    fail_msg("vxt_exp(%a) = %a, the plain form gives %a", (double)in[i], (double)out[i],
                             (double)exp_plain(in[i]));
            checked += (size_t)n;
        }
    }
    print_message("vxt_exp == its plain form on %zu inputs\n", checked);
    assert_true(checked > 70000000);
}

static void test_sigmoid_accuracy(void **state)
{
    (void)state;
    vxt_rng r = {7};
    double worst = 0.0;
    for (int i = 0; i < 1000000; i++) {
        float x = vxt_rng_uniform(&r, -80.0f, 80.0f);
        double s = 1.0 / (1.0 + exp(-(double)x));
        double d = ulp_diff(vxt_sigmoid(x), s);
        if (d > worst)
            worst = d;
    }
    print_message("vxt_sigmoid: max error %.3f ulp\n", worst);
    assert_true(worst <= 3.0);
    assert_true(vxt_sigmoid(0.0f) == 0.5f);
    assert_true(vxt_sigmoid(200.0f) == 1.0f);
    assert_true(vxt_sigmoid(-200.0f) == 0.0f);
}

static void test_ftz(void **state)
{
    (void)state;
    assert_true(vxt_f2u(vxt_ftz(1e-40f)) == 0x00000000u);
    assert_true(vxt_f2u(vxt_ftz(-1e-40f)) == 0x80000000u);
    assert_true(vxt_ftz(FLT_MIN) == FLT_MIN);
    assert_true(vxt_ftz(-FLT_MIN) == -FLT_MIN);
    assert_true(vxt_ftz(1.5f) == 1.5f);
    assert_true(isinf(vxt_ftz(INFINITY)));
    assert_true(isnan(vxt_ftz(NAN)));
    /* accumulation of a subnormal product flushes it */
    assert_true(vxt_weighted_add(0.0f, 1e-30f, 1e-10f) == 0.0f);
    assert_true(vxt_mul_add(1e-20f, 1e-20f, 0.0f) == 0.0f);
}

static void test_division_correctly_rounded(void **state)
{
    (void)state;
    vxt_rng r = {11};
    for (int i = 0; i < 1000000; i++) {
        float a = vxt_rng_uniform(&r, -1e6f, 1e6f), b = vxt_rng_uniform(&r, 0.001f, 1000.0f);
        float q = vxt_div(a, b);
        float ref = (float)((double)a / (double)b); /* correctly rounded (53 >= 2*24+2) */
        assert_memory_equal(&q, &ref, sizeof q);
    }
}

static void test_half_conversions(void **state)
{
    (void)state;
    /* every half value converts exactly to float and back */
    for (uint32_t h = 0; h < 65536u; h++) {
        vxt_f16 hv;
        uint16_t hb = (uint16_t)h;
        memcpy(&hv, &hb, 2);
        float ref = (float)hv;
        float got = vxt_half_to_float((vxt_u16)h);
        if (isnan(ref)) {
            assert_true(isnan(got));
            continue;
        }
        assert_memory_equal(&got, &ref, sizeof got);
        assert_int_equal(vxt_float_to_half(got), h);
    }
    /* float -> half rounding against the compiler's _Float16 conversion (round to nearest even) */
    vxt_rng r = {13};
    for (int i = 0; i < 4000000; i++) {
        uint32_t u = vxt_rng_u32(&r);
        if (i % 2) /* concentrate on the half range, ties included */
            u = (u & 0x80000000u) | ((98u + (u >> 8) % 50u) << 23) | (vxt_rng_u32(&r) & 0x7fffffu);
        if (i % 8 == 1)
            u = (u & ~0x1fffu) | 0x1000u; /* exact tie for normal halves */
        float f = vxt_u2f(u);
        if (isnan(f))
            continue;
        vxt_f16 hv = (vxt_f16)f;
        uint16_t ref;
        memcpy(&ref, &hv, 2);
        uint16_t got = vxt_float_to_half(f);
        if (got != ref)
            fail_msg("float_to_half(%.9g = 0x%08x) = 0x%04x, expected 0x%04x", (double)f, u, got, ref);
    }
    assert_int_equal(vxt_float_to_half(65520.0f), 0x7c00); /* rounds to infinity */
    assert_int_equal(vxt_float_to_half(65519.0f), 0x7bff);
    assert_true(vxt_round_half(5.960464477539063e-08f) == 5.960464477539063e-08f); /* 2^-24 */
    assert_true(vxt_round_half(2.9e-08f) == 0.0f);                                   /* below half of 2^-24 */
}

static void test_trilinear_reference(void **state)
{
    (void)state;
    enum { NZ = 4, NY = 5, NX = 6 };
    float v[NZ * NY * NX];
    vxt_rng r = {17};
    for (int i = 0; i < NZ * NY * NX; i++)
        v[i] = vxt_rng_uniform(&r, -100.0f, 100.0f);
    for (int i = 0; i < 20000; i++) {
        float z = vxt_rng_uniform(&r, 0.0f, (float)(NZ - 1)), y = vxt_rng_uniform(&r, 0.0f, (float)(NY - 1)),
              x = vxt_rng_uniform(&r, 0.0f, (float)(NX - 1));
        int iz = (int)z, iy = (int)y, ix = (int)x;
        double tz = (double)z - iz, ty = (double)y - iy, tx = (double)x - ix;
        double ref = 0.0;
        for (int dz = 0; dz < 2; dz++)
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int jz = iz + dz < NZ ? iz + dz : NZ - 1, jy = iy + dy < NY ? iy + dy : NY - 1,
                        jx = ix + dx < NX ? ix + dx : NX - 1;
                    double w = (dz ? tz : 1 - tz) * (dy ? ty : 1 - ty) * (dx ? tx : 1 - tx);
                    ref += w * v[(jz * NY + jy) * NX + jx];
                }
        float got = vxt_sample_trilinear_f32(v, NZ, NY, NX, z, y, x);
        /* float blend of values up to 100 in magnitude: absolute error within a few float ulps of 100 */
        assert_true(fabs((double)got - ref) <= 4e-5);
    }
    /* exact at grid points, clamped outside */
    assert_true(vxt_sample_trilinear_f32(v, NZ, NY, NX, 2.0f, 3.0f, 4.0f) == v[(2 * NY + 3) * NX + 4]);
    assert_true(vxt_sample_trilinear_f32(v, NZ, NY, NX, -5.0f, -5.0f, -5.0f) == v[0]);
    assert_true(vxt_sample_trilinear_f32(v, NZ, NY, NX, 50.0f, 50.0f, 50.0f) == v[NZ * NY * NX - 1]);
}

/* ---- OpenCL: a million values through the probe kernels, compared bit for bit ----------------------- */

#define BIG (1u << 20)

static void run_device(vxt_context *ctx, const char *kernel, float **ins, int nin, float **outs, int nout, size_t n)
{
    cl_kernel k = NULL;
    assert_ok(vxt__kernel_create(ctx, VXT__PROG_PROBE, kernel, &k));
    cl_mem mem[8];
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < nin + nout; i++) {
        mem[i] = clCreateBuffer(ctx->cl, i < nin ? CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR : CL_MEM_READ_WRITE,
                                n * sizeof(float), i < nin ? ins[i] : NULL, &err);
        assert_int_equal(err, CL_SUCCESS);
        if (i >= nin) /* poison the device outputs */
            assert_int_equal(clEnqueueWriteBuffer(ctx->queue, mem[i], CL_TRUE, 0, n * sizeof(float), outs[i - nin], 0,
                                                  NULL, NULL),
                             CL_SUCCESS);
        assert_int_equal(clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &mem[i]), CL_SUCCESS);
    }
    size_t global = n;
    assert_int_equal(clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
    for (int i = 0; i < nout; i++)
        assert_int_equal(clEnqueueReadBuffer(ctx->queue, mem[nin + i], CL_TRUE, 0, n * sizeof(float), outs[i], 0, NULL,
                                             NULL),
                         CL_SUCCESS);
    for (int i = 0; i < nin + nout; i++)
        clReleaseMemObject(mem[i]);
    clReleaseKernel(k);
}

static float *poisoned(size_t n)
{
    float *p = malloc(n * sizeof(float));
    assert_non_null(p);
    vxt_poison(p, n * sizeof(float));
    return p;
}

static void test_device_exp_div_bits(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    float *x = malloc(BIG * sizeof(float)), *d = malloc(BIG * sizeof(float));
    assert_non_null(x);
    assert_non_null(d);
    vxt_rng r = {23};
    for (size_t i = 0; i < BIG; i++) {
        x[i] = (i % 3 == 0) ? vxt_u2f(vxt_rng_u32(&r)) /* any bit pattern: NaN, Inf, subnormal, huge */
                            : vxt_rng_uniform(&r, -104.0f, 104.0f);
        d[i] = vxt_rng_uniform(&r, 1e-3f, 1e3f) * ((i & 1) ? -1.0f : 1.0f);
    }
    float *outs[3] = {poisoned(BIG), poisoned(BIG), poisoned(BIG)};
    float *ins[2] = {x, d};
    run_device(ctx, "vxt_probe_exp_div", ins, 2, outs, 3, BIG);
    float *ce = malloc(BIG * sizeof(float)), *cs = malloc(BIG * sizeof(float)), *cq = malloc(BIG * sizeof(float));
    assert_non_null(ce);
    assert_non_null(cs);
    assert_non_null(cq);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    for (size_t i = 0; i < BIG; i++) {
        ce[i] = vxt_exp(x[i]);
        cs[i] = vxt_sigmoid(x[i]);
        cq[i] = vxt_div(x[i], d[i]);
    }
    vxt__fpenv_leave(&env);
    assert_int_equal(vxt_count_bit_diffs(outs[0], ce, BIG, "exp"), 0);
    assert_int_equal(vxt_count_bit_diffs(outs[1], cs, BIG, "sigmoid"), 0);
    assert_int_equal(vxt_count_bit_diffs(outs[2], cq, BIG, "division"), 0);
    for (int i = 0; i < 3; i++)
        free(outs[i]);
    free(ce);
    free(cs);
    free(cq);
    free(x);
    free(d);
    vxt_context_destroy(ctx);
}

static void test_device_half_ftz_muladd_bits(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    float *x = malloc(BIG * sizeof(float)), *b = malloc(BIG * sizeof(float)), *c = malloc(BIG * sizeof(float));
    assert_non_null(x);
    assert_non_null(b);
    assert_non_null(c);
    vxt_rng r = {29};
    for (size_t i = 0; i < BIG; i++) {
        x[i] = vxt_u2f(vxt_rng_u32(&r) & 0xbfffffffu);
        b[i] = vxt_rng_uniform(&r, -8.0f, 8.0f);
        c[i] = (i & 1) ? -x[i] * b[i] : vxt_rng_uniform(&r, -1.0f, 1.0f);
    }
    float *outs[2] = {poisoned(BIG), poisoned(BIG)};
    float *ins1[1] = {x};
    run_device(ctx, "vxt_probe_half_ftz", ins1, 1, outs, 2, BIG);
    float *ma = poisoned(BIG);
    float *ins3[3] = {x, b, c};
    run_device(ctx, "vxt_probe_mul_add", ins3, 3, &ma, 1, BIG);
    size_t bad_h = 0, bad_f = 0, bad_m = 0;
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    for (size_t i = 0; i < BIG; i++) {
        float h = vxt_round_half(x[i]);
        float xi = vxt_ftz(x[i]);
        float f = vxt_mul_add(xi, 1.0e20f, xi);
        float m = vxt_mul_add(x[i], b[i], c[i]);
        bad_h += memcmp(&h, &outs[0][i], 4) != 0;
        bad_f += memcmp(&f, &outs[1][i], 4) != 0;
        bad_m += memcmp(&m, &ma[i], 4) != 0;
    }
    vxt__fpenv_leave(&env);
    assert_int_equal(bad_h, 0);
    assert_int_equal(bad_f, 0);
    assert_int_equal(bad_m, 0);
    free(outs[0]);
    free(outs[1]);
    free(ma);
    free(x);
    free(b);
    free(c);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_exp_accuracy),         cmocka_unit_test(test_exp_special_values),
        cmocka_unit_test(test_exp_branch_free_form),
        cmocka_unit_test(test_sigmoid_accuracy),     cmocka_unit_test(test_ftz),
        cmocka_unit_test(test_division_correctly_rounded), cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_trilinear_reference),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_exp_div_bits),
        cmocka_unit_test(test_device_half_ftz_muladd_bits),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
