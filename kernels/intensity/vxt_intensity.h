/*
 * vxt_intensity.h - the pointwise intensity transform, shared by kernels/intensity/intensity.cl and its CPU twin
 * (kernels/intensity/intensity_cpu.c). Compiles as C99 and as OpenCL C 1.2 after vxt_arith.h and vxt_convert.h.
 *
 * Every intensity operation of the public API (rescale, padding replacement, clip, CT window, window/level,
 * zero-centring, z-score, min-max, percentile clip, nnU-Net CT normalization) is this one fixed sequence of
 * float32 steps, each rounded once, with neutral parameters for the steps an operation does not use:
 *
 *   x   = the loaded element (vxt_convert.h)
 *   hit = the replace step is on and x equals the replaced value (or x is NaN when NaN is replaced)
 *   v   = x * slope + intercept            rescale          (neutral: slope 1, intercept -0)
 *   v   = hit ? replacement : v            replace          (the replacement is in rescaled units)
 *   v   = min(max(v, lo1), hi1)            clip             (neutral: -inf, +inf; NaN stays NaN)
 *   v   = (v - sub) / div                  shift and scale  (neutral: +0, 1)
 *   v   = min(max(v, lo2), hi2)            second clip      (neutral: -inf, +inf)
 *
 * The neutral values leave every float unchanged bit for bit (x + -0 == x, x - +0 == x, x / 1 == x,
 * comparisons with infinities), so an operation that skips a step and one that runs it neutrally give the
 * same bits. Products, sums and quotients are flushed (vxt_ftz) as docs/DETERMINISM.md requires.
 */
#ifndef VXT_INTENSITY_H
#define VXT_INTENSITY_H

#define VXT_IPAR_REPLACE 1     /* replace step on, matching x == rv */
#define VXT_IPAR_REPLACE_NAN 2 /* replace step on, matching NaN */
#define VXT_IPAR_FULL 4        /* rescale or replace in use: vxt_intensity_apply; else vxt_intensity_basic */

typedef struct vxt_ipar {
    float slope, inter; /* rescale */
    float rv, rw;       /* replaced value (stored units), replacement (rescaled units) */
    float lo1, hi1;     /* first clip */
    float sub, div;     /* shift and scale */
    float lo2, hi2;     /* second clip */
    float oscale;       /* uint8 output: scale before truncation (255 for window/level) */
    vxt_i32 flags;      /* VXT_IPAR_* */
} vxt_ipar;

/* The clamp used by every clip: NaN propagates (numpy's clip does the same). */
VXT_VOXEL float vxt_clamp_nan(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return v;
}

/* The whole sequence. Branch-free (bitwise & and | on the conditions), so that loops over voxels vectorize. */
VXT_VOXEL float vxt_intensity_apply(const vxt_ipar *p, float x)
{
    int hit = (((p->flags & VXT_IPAR_REPLACE) != 0) & (x == p->rv)) |
              (((p->flags & VXT_IPAR_REPLACE_NAN) != 0) & vxt_isnan(x));
    float v = vxt_ftz(x * p->slope);
    v = vxt_ftz(v + p->inter);
    v = hit ? p->rw : v;
    v = vxt_clamp_nan(v, p->lo1, p->hi1);
    v = vxt_ftz(v - p->sub);
    v = vxt_div(v, p->div);
    v = vxt_clamp_nan(v, p->lo2, p->hi2);
    return v;
}

/* The same sequence without the rescale and replace steps, for transforms that do not use them (their neutral
 * parameters would not change a bit: x * 1 + -0 == x): clip, shift and scale, second clip. */
VXT_VOXEL float vxt_intensity_basic(const vxt_ipar *p, float x)
{
    float v = vxt_clamp_nan(x, p->lo1, p->hi1);
    v = vxt_ftz(v - p->sub);
    v = vxt_div(v, p->div);
    v = vxt_clamp_nan(v, p->lo2, p->hi2);
    return v;
}

/* uint8 output (window/level): v * oscale, truncated toward zero like numpy's astype(uint8) of values in
 * [0, 255]; below 0 (and NaN) gives 0, above 255 gives 255. */
VXT_VOXEL vxt_u8 vxt_to_u8(float v, float oscale)
{
    float s = vxt_ftz(v * oscale);
    s = s > 0.0f ? s : 0.0f; /* NaN too */
    s = s < 255.0f ? s : 255.0f;
    return (vxt_u8)(vxt_i32)s;
}

/* Selection of voxels: 0 all, 1 non-zero (x != 0; NaN counts as non-zero), 2 mask != 0. */
#define VXT_SEL_ALL 0
#define VXT_SEL_NONZERO 1
#define VXT_SEL_MASK 2

VXT_VOXEL int vxt_selected(int sel, float x, vxt_u8 m)
{
    return sel == VXT_SEL_ALL ? 1 : (sel == VXT_SEL_NONZERO ? (x != 0.0f) : (m != 0));
}

#endif /* VXT_INTENSITY_H */
