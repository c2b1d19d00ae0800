/*
 * vxt_cubic.h - per-voxel arithmetic of cubic B-spline resampling (order 3), shared by
 * kernels/resample/resample_cubic.cl and its CPU twin kernels/resample/resample_cubic_cpu.c. Compiles as C99 and
 * OpenCL C 1.2 after vxt_arith.h and vxt_convert.h. docs/PREPROCESSING.md, "Cubic B-spline".
 *
 * It is scipy.ndimage's algorithm (spline_filter, then zoom_shift / map_coordinates with order 3) in float32:
 *
 * 1. Prefilter. Along each cubic axis in turn (z, then y, then x, as spline_filter does), every line of n > 1
 *    samples becomes B-spline coefficients: each value times the gain 6 = (1 - p)(1 - 1/p), p = sqrt(3) - 2; a
 *    causal pass c[i] += p c[i-1] from an initial c[0]; an anticausal pass c[i] = p (c[i+1] - c[i]) from an
 *    initial c[n-1]. The initial values extend the line beyond its ends: whole-sample symmetric ("mirror":
 *    d c b | a b c d | c b a, Unser's formula) or half-sample symmetric ("reflect", scipy's grid-mirror). Lines of
 *    one sample are left as they are (scipy does the same). The initial sums run over the whole line in scipy; here
 *    they stop after VXT_BS_HORIZON terms, where p^k is below 1e-27 of the first term: nothing a float32 sum could
 *    hold.
 * 2. Sampling. The host computes, per output index of each axis, up to four source indices (-1: outside, the
 *    fill value) and weights (scipy's get_spline_interpolation_weights in double, rounded to float32); a
 *    nearest axis has one tap, a linear one two (the tables of vxt_resample.h). An output voxel is
 *
 *      row(z, y)   = sum over x taps  wx[t] * c(z, y, x[t])
 *      plane(z)    = sum over y taps  wy[t] * row(z, y[t])
 *      out         = sum over z taps  wz[t] * plane(z[t])
 *
 *    each sum from the first tap to the last, each product and each sum rounded (vxt_tap_sum); one tap is the
 *    value itself. The CPU twin caches rows and planes; the kernel computes them per voxel: the same arithmetic.
 * 3. Optionally the result is clipped to [lo, hi] (skimage resize's clip to the input's range).
 *
 * Every statement is evaluation order; nothing may be reassociated (vxt_arith.h).
 */
#ifndef VXT_CUBIC_H
#define VXT_CUBIC_H

/* The pole sqrt(3) - 2 rounded to float32, and the prefilter's gain (1 - p)(1 - 1/p) = 6 (exact). */
#define VXT_BS_POLE (-0.267949192431122706472553658494127633f)
#define VXT_BS_GAIN 6.0f
/* Terms of the initial sums: |p|^48 < 3e-28. */
#define VXT_BS_HORIZON 48

/* How many lines one call of vxt_bs_filter_lines filters side by side (their arithmetic is independent: a lane
 * count changes nothing but speed). A work-item filters one line. */
#ifdef VXT_CL
#define VXT_BS_LANES 1
#else
#define VXT_BS_LANES 64
#endif

/* p^m, by repeated multiplication; 0 beyond the horizon (where it underflows float32's precision of any sum). */
VXT_VOXEL float vxt_bs_pow(vxt_i64 m)
{
    if (m > VXT_BS_HORIZON)
        return 0.0f;
    float r = 1.0f;
    for (vxt_i64 k = 0; k < m; k++)
        r = vxt_ftz(r * VXT_BS_POLE);
    return r;
}

/* acc + zi * (a + zk * b), each step rounded: one term of the initial sums. */
VXT_VOXEL float vxt_bs_term(float acc, float zi, float a, float zk, float b)
{
    float t = vxt_ftz(zk * b);
    t = vxt_ftz(a + t);
    t = vxt_ftz(zi * t);
    return vxt_ftz(acc + t);
}

/*
 * Prefilter `lanes` lines of n samples in place: element i of lane l is c[i * s + l * ls]. reflect: 1 for the
 * half-sample symmetric extension (scipy 'reflect' = 'grid-mirror', and 'nearest' on its padded lines), 0 for the
 * whole-sample one (scipy 'mirror', and 'grid-constant' on its padded lines). lanes <= VXT_BS_LANES.
 */
VXT_VOXEL void vxt_bs_filter_lines(VXT_GLOBAL float *c, vxt_i64 s, vxt_i64 n, vxt_i64 ls, int lanes, int reflect)
{
    if (n < 2)
        return;
    const float z = VXT_BS_POLE, g = VXT_BS_GAIN;
    float acc[VXT_BS_LANES];
    /* the causal pass's initial value, from the samples times the gain (each product rounded: the gain is applied
     * where a value is read, here and in the causal pass, so that the line is swept once) */
    float c0[VXT_BS_LANES];
    /* reflect: sum = c[0] + p^n c[n-1] + sum_{i=1..n-1} p^i (c[i] + p^n c[n-1-i]);  c[0] += sum p / (1 - p^2n)
     * mirror:  sum = c[0] + p^(n-1) c[n-1] + sum_{i=1..n-2} p^i (c[i] + p^(n-1) c[n-1-i]);  c[0] = sum / (1 - p^2(n-1)) */
    const float zk = vxt_bs_pow(reflect ? n : n - 1);
    const vxt_i64 last = reflect ? n - 1 : n - 2;
    const vxt_i64 m = last < VXT_BS_HORIZON ? last : VXT_BS_HORIZON;
    for (int l = 0; l < lanes; l++) {
        c0[l] = vxt_ftz(g * c[l * ls]);
        acc[l] = vxt_ftz(c0[l] + vxt_ftz(zk * vxt_ftz(g * c[(n - 1) * s + l * ls])));
    }
    float zi = z;
    for (vxt_i64 i = 1; i <= m; i++) {
        for (int l = 0; l < lanes; l++)
            acc[l] = vxt_bs_term(acc[l], zi, vxt_ftz(g * c[i * s + l * ls]), zk, vxt_ftz(g * c[(n - 1 - i) * s + l * ls]));
        zi = vxt_ftz(zi * z);
    }
    const float den = vxt_ftz(1.0f - vxt_ftz(zk * zk));
    for (int l = 0; l < lanes; l++)
        c[l * ls] = reflect ? vxt_ftz(c0[l] + vxt_div(vxt_ftz(acc[l] * z), den)) : vxt_div(acc[l], den);
    /* the causal pass: c[i] = g x[i] + p c[i-1] */
    for (vxt_i64 i = 1; i < n; i++)
        for (int l = 0; l < lanes; l++)
            c[i * s + l * ls] = vxt_ftz(vxt_ftz(g * c[i * s + l * ls]) + vxt_ftz(z * c[(i - 1) * s + l * ls]));
    /* the anticausal pass's initial value */
    const vxt_i64 e = (n - 1) * s;
    if (reflect) {
        const float k = vxt_div(z, vxt_ftz(z - 1.0f)); /* c[n-1] *= p / (p - 1) */
        for (int l = 0; l < lanes; l++)
            c[e + l * ls] = vxt_ftz(c[e + l * ls] * k);
    } else {
        const float den_a = vxt_ftz(vxt_ftz(z * z) - 1.0f); /* c[n-1] = (p c[n-2] + c[n-1]) p / (p^2 - 1) */
        for (int l = 0; l < lanes; l++) {
            float t = vxt_ftz(z * c[e - s + l * ls]);
            t = vxt_ftz(t + c[e + l * ls]);
            t = vxt_ftz(t * z);
            c[e + l * ls] = vxt_div(t, den_a);
        }
    }
    for (vxt_i64 i = n - 2; i >= 0; i--)
        for (int l = 0; l < lanes; l++)
            c[i * s + l * ls] = vxt_ftz(z * vxt_ftz(c[(i + 1) * s + l * ls] - c[i * s + l * ls]));
}

/* sum_t w[t] * a[t] over n taps (1, 2 or 4), from the first: one tap is a0 itself (nearest); two are
 * vxt_lerp2's a0 w0 + a1 w1. */
VXT_VOXEL float vxt_tap_sum(int n, float w0, float a0, float w1, float a1, float w2, float a2, float w3, float a3)
{
    if (n == 1)
        return a0;
    float s = vxt_ftz(vxt_ftz(a0 * w0) + vxt_ftz(a1 * w1));
    if (n == 2)
        return s;
    s = vxt_ftz(s + vxt_ftz(a2 * w2));
    return vxt_ftz(s + vxt_ftz(a3 * w3));
}

/* What an output voxel stores: v, or the quiet NaN 0x7fc00000 when v is NaN. Whether a voxel is NaN does not depend on
 * the backend, but which NaN does: IEEE leaves the sign and payload of a NaN result to the implementation, and an
 * optimizing compiler may swap the operands of a sum (GCC -O2 gave -nan where PoCL gave nan). */
VXT_VOXEL float vxt_bs_store(float v)
{
    return vxt_isnan(v) ? vxt_u2f(0x7fc00000u) : v;
}

/* v clipped to [lo, hi]; NaN stays NaN (numpy's clip). */
VXT_VOXEL float vxt_clip_range(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* The coefficient buffer from the input: element (z, y, x) of the buffer (dims bz, by, bx, padded by pz, py, px
 * on each side) is the input at (z - pz, y - py, x - px), clamped to the input's edges (edge = 1: scipy's 'nearest'
 * pre-padding, np.pad mode 'edge') or the fill value outside it (edge = 0: 'grid-constant', np.pad 'constant'). */
#define VXT_DEFINE_BS_PAD(S, T, LOAD, DT)                                                                              \
    VXT_VOXEL float vxt_bs_padded_##S(const VXT_GLOBAL T *in, vxt_i64 nz, vxt_i64 ny, vxt_i64 nx, vxt_i64 z, vxt_i64 y,  \
                                   vxt_i64 x, int edge, float fill)                                                    \
    {                                                                                                                  \
        if (!edge && (z < 0 || y < 0 || x < 0 || z >= nz || y >= ny || x >= nx))                                       \
            return fill;                                                                                               \
        z = z < 0 ? 0 : (z >= nz ? nz - 1 : z);                                                                        \
        y = y < 0 ? 0 : (y >= ny ? ny - 1 : y);                                                                        \
        x = x < 0 ? 0 : (x >= nx ? nx - 1 : x);                                                                        \
        return LOAD(in[(z * ny + y) * nx + x]);                                                                        \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_DEFINE_BS_PAD)

#endif /* VXT_CUBIC_H */
