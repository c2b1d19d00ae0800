/* importance.c - importance maps (per-voxel tile weights), computed once on the host in double and rounded
 * exactly as the tools they reproduce round them. Both backends read the resulting float table. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vxt_arith.h"

/* NumPy's pairwise summation of doubles (numpy/core/src/umath/loops_utils.h), so that sums of kernel taps have
 * NumPy's exact bits. */
static double numpy_pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + (size_t)j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

/* torch's float32 exp on the CPU, bit for bit: SLEEF's xexpf (sleefsimdsp.c; ULP bound 1), which ATen's
 * Vectorized<float>::exp calls for every element of a tensor (Sleef_expf8_u10 on AVX2, Sleef_expf16_u10 on
 * AVX-512, Sleef_expf4_u10 on ARM64; all with fused multiply-adds). fmaf is exact by C99, in hardware or in
 * software. Checked against torch 1.13 (AVX2) on 431 810 arguments, MONAI's gaussian ones for R = 1..299 and
 * five sigma scales and 200 000 random ones in (-100, 0]: no difference; a correctly rounded exp differs on 8%. */
static float torch_expf(float d)
{
    float t = d * 1.442695040888963407359924681001892137426645954152985934135449406931f; /* 1/ln 2 */
    int32_t q = (int32_t)rintf(t); /* round half to even, as cvtps2dq */
    float s = fmaf((float)q, -0.693145751953125f, d);
    s = fmaf((float)q, -1.428606765330187045e-06f, s);
    float u = 0.000198527617612853646278381f;
    u = fmaf(u, s, 0.00139304355252534151077271f);
    u = fmaf(u, s, 0.00833336077630519866943359f);
    u = fmaf(u, s, 0.0416664853692054748535156f);
    u = fmaf(u, s, 0.166666671633720397949219f);
    u = fmaf(u, s, 0.5f);
    u = 1.0f + fmaf(s * s, u, s);
    /* ldexp in two steps, u * 2^(q>>1) * 2^(q - (q>>1)), as vldexp2 */
    int32_t h = q >> 1;
    uint32_t b1 = (uint32_t)(h + 127) << 23, b2 = (uint32_t)(q - h + 127) << 23;
    float f1, f2;
    memcpy(&f1, &b1, sizeof f1);
    memcpy(&f2, &b2, sizeof f2);
    u = u * f1 * f2;
    if (d < -104.0f)
        u = 0.0f;
    if (100.0f < d)
        u = INFINITY;
    return u;
}

/* MONAI: w(i) = exp(x^2 / (-2 sigma^2)) in float32 with x = i - (R-1)/2 (float32), the division by the
 * Python-float divisor done in float32 (torch casts the scalar), exp as torch computes it on the CPU. The
 * arguments lie in [-1/(8 sigma_scale^2), 0] (-8 at the default 0.125); below -87 the results are subnormal
 * or 0, as torch's (the table is built on the caller's thread, in the host's default floating-point mode). */
static void monai_gauss_axis(int64_t R, double sigma_scale, float *w)
{
    double sigma = (double)R * sigma_scale;
    float divisor = (float)(-2.0 * sigma * sigma);
    float start = -(float)(R - 1) / 2.0f;
    for (int64_t i = 0; i < R; i++) {
        float x = start + (float)i;
        float q = (x * x) / divisor;
        w[i] = torch_expf(q);
    }
}

/* scipy.ndimage._gaussian_kernel1d(sigma, 0, radius), evaluated at offset k from the centre (0 outside the
 * radius), as gaussian_filter of a delta produces it. */
static int nnunet_kernel(int64_t R, double *k_out, int64_t *centre)
{
    if (R == 1) { /* a 2D tile (depth 1): nnU-Net filters a 2D array, i.e. a factor of exactly 1 */
        k_out[0] = 1.0;
        *centre = 0;
        return 0;
    }
    double sigma = (double)R * (1.0 / 8.0);
    int64_t radius = (int64_t)(4.0 * sigma + 0.5);
    size_t n = (size_t)(2 * radius + 1);
    double *phi = malloc(n * sizeof *phi);
    if (!phi)
        return -1;
    double sigma2 = sigma * sigma;
    double coef = -0.5 / sigma2;
    for (int64_t x = -radius; x <= radius; x++)
        phi[x + radius] = exp(coef * (double)(x * x));
    double sum = numpy_pairwise_sum(phi, n);
    int64_t c = R / 2;
    for (int64_t i = 0; i < R; i++) {
        int64_t off = i - c;
        k_out[i] = (off < -radius || off > radius) ? 0.0 : phi[off + radius] / sum;
    }
    *centre = c;
    free(phi);
    return 0;
}

/* torch.hann_window(R + 2, periodic=False)[1:-1] in float32: 0.5 - 0.5*cos(n * 2*pi/(N-1)), N = R + 2. */
static void hann_axis(int64_t R, float *w)
{
    int64_t N = R + 2;
    float step = (float)(3.14159265358979323846 * 2.0 / (double)(N - 1));
    for (int64_t i = 0; i < R; i++) {
        float t = (float)(i + 1) * step;
        float c = (float)cos((double)t);
        w[i] = c * -0.5f + 0.5f;
    }
}

vxt_status vxt__importance_table(const vxt_context *ctx, vxt_importance kind, const int64_t roi[3],
                                 const double sigma_scale[3], const float *user, float *out)
{
    size_t n = (size_t)roi[0] * (size_t)roi[1] * (size_t)roi[2];
    size_t plane = (size_t)roi[1] * (size_t)roi[2];
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    vxt_status st = VXT_OK;
    switch (kind) {
    case VXT_IMPORTANCE_CONSTANT:
    case VXT_IMPORTANCE_CROP: /* crop blending uses no weights (the engine's tables want some) */
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f;
        break;
    case VXT_IMPORTANCE_USER:
        for (size_t i = 0; i < n; i++) {
            float v = user[i];
            if (!(v > 0.0f) || !isfinite(v) || v < FLT_MIN) {
                st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "user importance map: value %g at index %zu (z %zu, y %zu, "
                               "x %zu) is not a finite normal number > 0",
                               (double)v, i, i / plane, (i % plane) / (size_t)roi[2], i % (size_t)roi[2]);
                break;
            }
            out[i] = v;
        }
        break;
    case VXT_IMPORTANCE_GAUSSIAN:
    case VXT_IMPORTANCE_HANN: {
        float *w[3] = {NULL, NULL, NULL};
        for (int a = 0; a < 3; a++) {
            w[a] = malloc((size_t)roi[a] * sizeof(float));
            if (!w[a]) {
                st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "importance map: out of memory");
                break;
            }
            if (kind == VXT_IMPORTANCE_GAUSSIAN)
                monai_gauss_axis(roi[a], sigma_scale ? sigma_scale[a] : 0.125, w[a]);
            else
                hann_axis(roi[a], w[a]);
        }
        if (st == VXT_OK) {
            float mn = INFINITY;
            size_t i = 0;
            for (int64_t z = 0; z < roi[0]; z++)
                for (int64_t y = 0; y < roi[1]; y++) {
                    float zy = w[0][z] * w[1][y];
                    for (int64_t x = 0; x < roi[2]; x++, i++) {
                        out[i] = zy * w[2][x];
                        if (out[i] < mn)
                            mn = out[i];
                    }
                }
            if (kind == VXT_IMPORTANCE_GAUSSIAN) {
                /* min_non_zero = max(min(W), 1e-3); clamp(min=min_non_zero) in float32 */
                float floor_v = (float)fmax((double)mn, 1e-3);
                for (i = 0; i < n; i++)
                    if (out[i] < floor_v)
                        out[i] = floor_v;
            }
        }
        for (int a = 0; a < 3; a++)
            free(w[a]);
        break;
    }
    case VXT_IMPORTANCE_GAUSSIAN_NNUNET: {
        double *k[3] = {NULL, NULL, NULL};
        int64_t c[3];
        for (int a = 0; a < 3 && st == VXT_OK; a++) {
            k[a] = malloc((size_t)roi[a] * sizeof(double));
            if (!k[a] || nnunet_kernel(roi[a], k[a], &c[a]) != 0)
                st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "importance map: out of memory");
        }
        if (st == VXT_OK) {
            /* gaussian_filter of a delta: ((k0 * k1) * k2) in double; peak at the centre */
            double peak = (k[0][c[0]] * k[1][c[1]]) * k[2][c[2]];
            double scale = peak / 10.0;
            size_t i = 0;
            float min_nonzero = INFINITY;
            for (int64_t z = 0; z < roi[0]; z++)
                for (int64_t y = 0; y < roi[1]; y++) {
                    double zy = k[0][z] * k[1][y];
                    for (int64_t x = 0; x < roi[2]; x++, i++) {
                        double g = (zy * k[2][x]) / scale;
                        /* torch: double -> float32 -> float16 */
                        float h = vxt_round_half((float)g);
                        out[i] = h;
                        if (h != 0.0f && h < min_nonzero)
                            min_nonzero = h;
                    }
                }
            for (i = 0; i < n; i++)
                if (out[i] == 0.0f)
                    out[i] = min_nonzero;
        }
        for (int a = 0; a < 3; a++)
            free(k[a]);
        break;
    }
    default:
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "unknown importance map %d", (int)kind);
        break;
    }
    vxt__fpenv_leave(&env);
    return st;
}

vxt_status vxt_importance_map(vxt_importance importance, const int64_t roi[3], const double *sigma_scale, float *out)
{
    VXT_CHECK_NULL(NULL, roi);
    VXT_CHECK_NULL(NULL, out);
    if (importance == VXT_IMPORTANCE_USER || importance == VXT_IMPORTANCE_CROP)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_importance_map: '%s' has no table to compute (%s)",
                         vxt_importance_name(importance),
                         importance == VXT_IMPORTANCE_USER ? "the caller's map is the table"
                                                           : "no weights: each voxel takes one tile's value");
    if ((unsigned)importance >= VXT_IMPORTANCE_COUNT_)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_importance_map: unknown importance map %d",
                         (int)importance);
    for (int a = 0; a < 3; a++)
        if (roi[a] < 1 || roi[a] > (1 << 20))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_importance_map: roi[%d] is %lld (must be in [1, "
                             "2^20])", a, (long long)roi[a]);
    if (sigma_scale)
        for (int a = 0; a < 3; a++)
            if (!(sigma_scale[a] > 0.0) || !isfinite(sigma_scale[a]))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_importance_map: sigma_scale[%d] is %g (must be "
                                 "finite and > 0)", a, sigma_scale[a]);
    size_t n;
    if (!vxt__mul_size((size_t)roi[0], (size_t)roi[1], &n) || !vxt__mul_size(n, (size_t)roi[2], &n) ||
        n > ((size_t)1 << 34))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "vxt_importance_map: ROI too large");
    return vxt__importance_table(NULL, importance, roi, sigma_scale, NULL, out);
}
