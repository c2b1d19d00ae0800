/*
 * vxt_smooth.h - per-voxel arithmetic of Gaussian smoothing, shared by kernels/smooth/smooth.cl and its CPU twin
 * (kernels/smooth/smooth_cpu.c). Compiles as C99 and OpenCL C 1.2 after vxt_arith.h and vxt_convert.h.
 *
 * Smoothing is separable (runtime/preproc/smooth.c runs one pass per axis, z, y, x). A pass replaces each line
 * v[0 .. n) along its axis by, for every p,
 *
 *   acc = v(p) * w[0]                                          vxt_smooth_first
 *   acc = acc + (v(p - j) + v(p + j)) * w[j]   j = r, ..., 1   vxt_smooth_step
 *   out = acc, or one quiet NaN where acc is NaN                 vxt_smooth_store
 *
 * each sum and product rounded to float32 and flushed: scipy's correlate1d order for symmetric weights (outermost
 * taps first), which scipy evaluates in double. The host computes two tables that both backends read: the weights
 * w[0 .. r] (the Gaussian normalised in double, rounded to float32) and, for the positions i = -r .. n + r - 1 of
 * the line, the index v(i) reads through the boundary, idx[i + r] (-1: the fill value). The kernel evaluates the
 * steps per output voxel; the CPU twin evaluates the same steps a row at a time (every output voxel of the row
 * takes step j before any takes step j - 1), which gives the same bits because each voxel sees the same operations
 * in the same order.
 */
#ifndef VXT_SMOOTH_H
#define VXT_SMOOTH_H

/* The centre tap: v(p) * w[0]. */
VXT_VOXEL float vxt_smooth_first(float c, float w0)
{
    return vxt_ftz(c * w0);
}

/* One symmetric pair of taps: acc + (a + b) * w, a = v(p - j), b = v(p + j). */
VXT_VOXEL float vxt_smooth_step(float acc, float a, float b, float w)
{
    float s = vxt_ftz(a + b);
    float t = vxt_ftz(s * w);
    return vxt_ftz(acc + t);
}

/* What a pass stores: acc, or the quiet NaN 0x7fc00000 when acc is NaN. Whether a voxel is NaN does not depend on
 * the order of the operands, but which NaN an addition of two NaNs returns does (x86 returns its first operand, and
 * compilers swap the operands of a commutative operation freely): the NaN is made one, so the bits agree too. */
VXT_VOXEL float vxt_smooth_store(float acc)
{
    return vxt_select_bits(vxt_u2f(0x7fc00000u), acc, vxt_isnan(acc) ? 0xffffffffu : 0u);
}

#endif /* VXT_SMOOTH_H */
