/*
 * vxt_arith.h - per-voxel arithmetic shared by the OpenCL kernels and the CPU backend.
 *
 * This header compiles both as C99/C11 (host, CPU backend) and as OpenCL C 1.2 (kernels). Every value
 * that the two backends must agree on bit for bit is computed by a function defined here, once. Rules
 * (see docs/DETERMINISM.md):
 *   - no contraction: `#pragma OPENCL FP_CONTRACT OFF` here, `-ffp-contract=off` on the host;
 *   - no library transcendental function: exp is a polynomial defined below, Gaussian weights come from
 *     host tables;
 *   - division and square root go through vxt_div()/vxt_sqrt(), which are correctly rounded on both sides
 *     (`-cl-fp32-correctly-rounded-divide-sqrt`, or double arithmetic where a device lacks it);
 *   - denormal policy: flush to zero, explicitly, on both sides. Every float that enters compared arithmetic
 *     from user memory, and every result that can leave the normal range, goes through vxt_ftz(), which
 *     maps |x| < FLT_MIN to a zero of the same sign with integer operations only. A GPU that flushes in
 *     hardware and a CPU that does not therefore produce the same bits.
 *   - statement order is evaluation order; nothing here may be reassociated.
 */
#ifndef VXT_ARITH_H
#define VXT_ARITH_H

#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)
#pragma OPENCL FP_CONTRACT OFF
#define VXT_CL 1
#define VXT_INLINE static inline
#define VXT_GLOBAL __global
typedef uint vxt_u32;
typedef int vxt_i32;
typedef long vxt_i64;
typedef ulong vxt_u64;
typedef ushort vxt_u16;
#if (defined(VXT_DIV_MODE) && VXT_DIV_MODE == 1) || defined(VXT_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#else /* host C */
#include <stdint.h>
#include <string.h>
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#define VXT_INLINE static inline
#define VXT_GLOBAL
typedef uint32_t vxt_u32;
typedef int32_t vxt_i32;
typedef int64_t vxt_i64;
typedef uint64_t vxt_u64;
typedef uint16_t vxt_u16;
#endif

/* ---- bit casts ------------------------------------------------------------------------------------ */

VXT_INLINE vxt_u32 vxt_f2u(float f)
{
#ifdef VXT_CL
    return as_uint(f);
#else
    vxt_u32 u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

VXT_INLINE float vxt_u2f(vxt_u32 u)
{
#ifdef VXT_CL
    return as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* ---- denormal policy -------------------------------------------------------------------------------- */

/* Flush a subnormal float to a zero of the same sign. Integer operations only, so the result does not
 * depend on the device's or the host thread's denormal mode. */
VXT_INLINE float vxt_ftz(float x)
{
    vxt_u32 u = vxt_f2u(x);
    u &= (u & 0x7f800000u) == 0u ? 0x80000000u : 0xffffffffu; /* a select, not a branch: loops vectorize */
    return vxt_u2f(u);
}

VXT_INLINE int vxt_isnan(float x)
{
    return (vxt_f2u(x) & 0x7fffffffu) > 0x7f800000u;
}

/* Finite: not NaN and not +-Inf. */
VXT_INLINE int vxt_isfinite(float x)
{
    return (vxt_f2u(x) & 0x7f800000u) != 0x7f800000u;
}

/* ---- basic operations with the policy applied ------------------------------------------------------ */

/* a*b + c with two roundings (never fused), result flushed. */
VXT_INLINE float vxt_mul_add(float a, float b, float c)
{
    float p = vxt_ftz(a * b);
    return vxt_ftz(p + c);
}

/* Correctly rounded a/b. VXT_DIV_MODE 1 (set by the runtime for devices without correctly rounded
 * single-precision division but with fp64) divides in double: for IEEE division, rounding the double
 * quotient to float gives the correctly rounded float quotient (53 >= 2*24+2). */
VXT_INLINE float vxt_div(float a, float b)
{
#if defined(VXT_CL) && defined(VXT_DIV_MODE) && VXT_DIV_MODE == 1
    return vxt_ftz((float)((double)a / (double)b));
#else
    return vxt_ftz(a / b);
#endif
}

VXT_INLINE float vxt_sqrt(float a)
{
#if defined(VXT_CL) && defined(VXT_DIV_MODE) && VXT_DIV_MODE == 1
    return (float)sqrt((double)a);
#elif defined(VXT_CL)
    return sqrt(a);
#else
    return __builtin_sqrtf(a); /* IEEE correctly rounded (sqrtss); no errno handling wanted */
#endif
}

/* Round to nearest integer, ties to even, for |x| < 2^22, without a library call. */
VXT_INLINE float vxt_round_small(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float t = x + magic;
    return t - magic;
}

/* ---- exp ------------------------------------------------------------------------------------------ */

/* exp(x) for float, identical on every conforming device and on the host. Cephes-style: n = round(x /
 * ln 2), r = x - n*ln2 (two-constant Cody-Waite), degree-6 polynomial, scaling by building 2^n from its
 * bits. Accuracy: within 2 ulp of the exact value over the normal range (tests/test_arith.c checks it
 * against double exp). Results below FLT_MIN flush to +0; above FLT_MAX give +Inf; NaN propagates. */
/* a where m is all ones, b where it is zero: a select by integer operations, which compilers neither turn into
 * branches nor refuse to vectorize (floating-point selects may be, under -ftrapping-math). */
VXT_INLINE float vxt_select_bits(float a, float b, vxt_u32 m)
{
    return vxt_u2f((vxt_f2u(a) & m) | (vxt_f2u(b) & ~m));
}

VXT_INLINE float vxt_exp(float x)
{
    /* Without branches, so that a loop of exps vectorizes on the host: the special cases are selected at the end,
     * and meanwhile the polynomial runs on 0 in their place (no out-of-range conversion to int). For every other x
     * the arithmetic is the one of the plain form (early returns for the special cases), so every result is the
     * same (checked for all 2^32 inputs when this form was written). */
    const int nan = vxt_isnan(x), over = x > 88.72283905f, under = x < -87.33654475f;
    const vxt_u32 keep = (nan | over | under) ? 0u : 0xffffffffu;
    const float xs = vxt_u2f(vxt_f2u(x) & keep);
    float n = vxt_round_small(xs * 1.44269504088896341f);
    float r = xs - n * 0.693359375f;
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
    const vxt_u32 top = ni > 127 ? 0xffffffffu : 0u; /* 2^128 is not a float: 2 * 2^127 */
    y = vxt_select_bits(y * 2.0f, y, top);
    ni = ni - (int)(top & 1u);
    float scale = vxt_u2f((vxt_u32)(ni + 127) << 23);
    float e = vxt_ftz(y * scale);
    e = vxt_u2f(vxt_f2u(e) & (under ? 0u : 0xffffffffu));
    e = vxt_select_bits(vxt_u2f(0x7f800000u), e, over ? 0xffffffffu : 0u);
    return vxt_select_bits(x, e, nan ? 0xffffffffu : 0u);
}

/* Logistic sigmoid 1 / (1 + exp(-x)). */
VXT_INLINE float vxt_sigmoid(float x)
{
    return vxt_div(1.0f, 1.0f + vxt_exp(-x));
}

/* ---- float16 (IEEE binary16) conversions, integer-only, round to nearest even ---------------------- */

VXT_INLINE float vxt_half_to_float(vxt_u16 h)
{
    vxt_u32 sign = ((vxt_u32)h & 0x8000u) << 16;
    /* The exponent is tested in place (h & 0x7c00), not shifted down to 5 bits: LLVM turns tests of a 5-bit field
       into a switch on an i5, which Oclgrind 21.10 compares without truncating (the sign bit then picks a branch). */
    vxt_u32 exp_bits = (vxt_u32)h & 0x7c00u;
    vxt_u32 man = (vxt_u32)h & 0x3ffu;
    if (exp_bits == 0x7c00u)
        return vxt_u2f(sign | 0x7f800000u | (man << 13));
    if (exp_bits == 0u) {
        if (man == 0u)
            return vxt_u2f(sign);
        /* subnormal half: value man * 2^-24, a normal float, as (1 + man/1024) * 2^-14 - 2^-14: both operands
           normal, the difference exact (Sterbenz), so no rounding mode or denormal setting can change it. No loop:
           a loop normalizing man bit by bit compiles to llvm.ctlz, which Oclgrind cannot interpret. */
        return vxt_u2f(sign | vxt_f2u(vxt_u2f((113u << 23) | (man << 13)) - vxt_u2f(113u << 23)));
    }
    return vxt_u2f(sign | (((exp_bits >> 10) + 112u) << 23) | (man << 13));
}

VXT_INLINE vxt_u16 vxt_float_to_half(float f)
{
    vxt_u32 u = vxt_f2u(f);
    vxt_u32 sign = (u >> 16) & 0x8000u;
    vxt_u32 a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) /* Inf or NaN (quiet, payload kept where it fits) */
        return (vxt_u16)(sign | 0x7c00u | (a > 0x7f800000u ? (0x200u | ((a >> 13) & 0x3ffu)) : 0u));
    if (a >= 0x477ff000u) /* rounds to >= 65520: overflow */
        return (vxt_u16)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* normal half */
        vxt_u32 mant = a & 0x7fffffu;
        vxt_u32 e = (a >> 23) - 112u;
        vxt_u32 h = (e << 10) | (mant >> 13);
        vxt_u32 rest = mant & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
            h += 1u;
        return (vxt_u16)(sign | h);
    }
    if (a < 0x33000000u) /* below half of the smallest subnormal: +-0 */
        return (vxt_u16)sign;
    { /* subnormal half */
        vxt_u32 e = a >> 23;
        vxt_u32 mant = (a & 0x7fffffu) | 0x800000u;
        vxt_u32 shift = 126u - e; /* 14..24 */
        vxt_u32 h = mant >> shift;
        vxt_u32 rest = mant & ((1u << shift) - 1u);
        vxt_u32 halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (h & 1u)))
            h += 1u;
        return (vxt_u16)(sign | h);
    }
}

/* Round a float to the nearest float16 value, returned as a float. */
VXT_INLINE float vxt_round_half(float f)
{
    return vxt_half_to_float(vxt_float_to_half(f));
}

/* ---- interpolation --------------------------------------------------------------------------------- */

/* Trilinear blend of the 8 corners c[z][y][x] with fractions (tz, ty, tx) in [0, 1], in the order torch's
 * CPU upsample_trilinear3d uses: w0 = 1 - t, w1 = t, innermost along x. */
VXT_INLINE float vxt_trilerp(float c000, float c001, float c010, float c011, float c100, float c101,
                             float c110, float c111, float tz, float ty, float tx)
{
    float z0 = 1.0f - tz, y0 = 1.0f - ty, x0 = 1.0f - tx;
    float a0 = x0 * c000 + tx * c001;
    float a1 = x0 * c010 + tx * c011;
    float b0 = x0 * c100 + tx * c101;
    float b1 = x0 * c110 + tx * c111;
    float a = y0 * a0 + ty * a1;
    float b = y0 * b0 + ty * b1;
    return vxt_ftz(z0 * a + tz * b);
}

VXT_INLINE vxt_i64 vxt_clamp_i64(vxt_i64 v, vxt_i64 lo, vxt_i64 hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Sample a float volume (nz, ny, nx; x fastest) at voxel coordinates (z, y, x) with edge clamping. */
VXT_INLINE float vxt_sample_trilinear_f32(const VXT_GLOBAL float *v, vxt_i64 nz, vxt_i64 ny, vxt_i64 nx,
                                          float z, float y, float x)
{
    z = z < 0.0f ? 0.0f : z;
    y = y < 0.0f ? 0.0f : y;
    x = x < 0.0f ? 0.0f : x;
    vxt_i64 iz = (vxt_i64)z, iy = (vxt_i64)y, ix = (vxt_i64)x;
    iz = vxt_clamp_i64(iz, 0, nz - 1);
    iy = vxt_clamp_i64(iy, 0, ny - 1);
    ix = vxt_clamp_i64(ix, 0, nx - 1);
    float tz = z - (float)iz, ty = y - (float)iy, tx = x - (float)ix;
    tz = tz > 1.0f ? 1.0f : tz;
    ty = ty > 1.0f ? 1.0f : ty;
    tx = tx > 1.0f ? 1.0f : tx;
    vxt_i64 jz = iz + (iz < nz - 1 ? 1 : 0), jy = iy + (iy < ny - 1 ? 1 : 0), jx = ix + (ix < nx - 1 ? 1 : 0);
    vxt_i64 sy = nx, sz = nx * ny;
    return vxt_trilerp(vxt_ftz(v[iz * sz + iy * sy + ix]), vxt_ftz(v[iz * sz + iy * sy + jx]),
                       vxt_ftz(v[iz * sz + jy * sy + ix]), vxt_ftz(v[iz * sz + jy * sy + jx]),
                       vxt_ftz(v[jz * sz + iy * sy + ix]), vxt_ftz(v[jz * sz + iy * sy + jx]),
                       vxt_ftz(v[jz * sz + jy * sy + ix]), vxt_ftz(v[jz * sz + jy * sy + jx]), tz, ty, tx);
}

/* ---- weighted accumulation ------------------------------------------------------------------------- */

/* One step of Gaussian-weighted stitching: acc += p * w (product rounded to float, then the sum). */
VXT_INLINE float vxt_weighted_add(float acc, float p, float w)
{
    float pw = vxt_ftz(vxt_ftz(p) * w);
    return vxt_ftz(acc + pw);
}

#endif /* VXT_ARITH_H */
