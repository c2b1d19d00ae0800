/*
 * vxt_stitch.h - per-voxel arithmetic of sliding-window stitching, shared by kernels/stitch/stitch.cl and its CPU
 * twin (kernels/stitch/stitch_cpu.c). Include after vxt_arith.h.
 *
 * Accumulation modes (vxt_accumulate in voxtile.h):
 *   VXT_ACC_F32  MONAI: out += p*w, sum += w in float32, result out/sum.
 *   VXT_ACC_F16  nnU-Net: every result rounded to float16 after being computed in float32 (as torch does).
 *   VXT_ACC_F64  double accumulators, rounded once at the end (needs fp64; see vxt_stitch_f64_* below).
 * `f16_tile` says whether the predictor's outputs are float16: the product p*w is then rounded to float16 (the
 * tools multiply the predictor's tensor in place, in its own dtype).
 */
#ifndef VXT_STITCH_H
#define VXT_STITCH_H

#define VXT_ACC_F32 0
#define VXT_ACC_F16 1
#define VXT_ACC_F64 2

#define VXT_PAD_MODE_CONSTANT 0
#define VXT_PAD_MODE_REPLICATE 1
#define VXT_PAD_MODE_REFLECT 2

/* A predictor output value as the engine reads it: float32 values are flushed (denormal policy), float16
 * values are exact in float32 (their subnormals are normal floats). */
VXT_INLINE float vxt_tile_f32(float v)
{
    return vxt_ftz(v);
}

VXT_INLINE float vxt_tile_f16(vxt_u16 h)
{
    return vxt_half_to_float(h);
}

/* Mirroring: running sum of the identity and the flipped-back predictions, in the tile's dtype. */
VXT_INLINE float vxt_mirror_add(float acc, float p, int f16_tile)
{
    float s = acc + p;
    return f16_tile ? vxt_round_half(s) : vxt_ftz(s);
}

VXT_INLINE float vxt_mirror_mean(float acc, float n, int f16_tile)
{
    float q = vxt_div(acc, n);
    return f16_tile ? vxt_round_half(q) : q;
}

/* p*w as the reference tools form it (in the predictor's dtype). */
VXT_INLINE float vxt_stitch_product(float p, float w, int f16_tile)
{
    float pw = vxt_ftz(p * w);
    return f16_tile ? vxt_round_half(pw) : pw;
}

/* acc += pw; also used for the weight sum (pw = w). */
VXT_INLINE float vxt_stitch_add(float acc, float pw, int mode)
{
    float s = acc + pw;
    return mode == VXT_ACC_F16 ? vxt_round_half(s) : vxt_ftz(s);
}

/* out / sum. */
VXT_INLINE float vxt_stitch_normalize(float acc, float sum, int mode)
{
    float q = vxt_div(acc, sum);
    return mode == VXT_ACC_F16 ? vxt_round_half(q) : q;
}

/* Ensembles: members' normalized results summed in member order, then divided by their number. */
VXT_INLINE float vxt_ensemble_add(float e, float v, int mode)
{
    return vxt_stitch_add(e, v, mode);
}

VXT_INLINE float vxt_ensemble_mean(float e, float members, int mode)
{
    return vxt_stitch_normalize(e, members, mode);
}

/* Softmax in three passes over the channels, in order: m = the largest value (the first one, then each larger
 * one), s = the sum of exp(v - m), then each value exp(v - m) / s. The steps are separate so that a caller that
 * recomputes its values in each pass (the ensemble of probabilities) does exactly this arithmetic. */
VXT_INLINE float vxt_softmax_max_step(float m, float v)
{
    return v > m ? v : m;
}

/* exp(v - m): the term of value v (computed once per pass below; a caller may keep it between the passes). */
VXT_INLINE float vxt_softmax_exp(float v, float m)
{
    return vxt_exp(vxt_ftz(v - m));
}

VXT_INLINE float vxt_softmax_add(float s, float e)
{
    return vxt_ftz(s + e);
}

VXT_INLINE float vxt_softmax_sum_step(float s, float v, float m)
{
    return vxt_softmax_add(s, vxt_softmax_exp(v, m));
}

VXT_INLINE float vxt_softmax_value(float v, float m, float s)
{
    return vxt_div(vxt_softmax_exp(v, m), s);
}

/* Softmax over C channels stored `stride` apart, in place: exp(v - max) / sum, channels in order. */
VXT_INLINE void vxt_softmax_strided(VXT_GLOBAL float *v, vxt_i64 stride, int channels)
{
    float m = v[0];
    for (int c = 1; c < channels; c++)
        m = vxt_softmax_max_step(m, v[c * stride]);
    float s = 0.0f;
    for (int c = 0; c < channels; c++)
        s = vxt_softmax_sum_step(s, v[c * stride], m);
    for (int c = 0; c < channels; c++)
        v[c * stride] = vxt_softmax_value(v[c * stride], m, s);
}

VXT_INLINE void vxt_sigmoid_strided(VXT_GLOBAL float *v, vxt_i64 stride, int channels)
{
    for (int c = 0; c < channels; c++)
        v[c * stride] = vxt_sigmoid(v[c * stride]);
}

/* Map a padded coordinate to a volume coordinate under a padding mode; -1 means "use the pad value". */
VXT_INLINE vxt_i64 vxt_pad_index(vxt_i64 p, vxt_i64 pad_lo, vxt_i64 size, int mode)
{
    vxt_i64 v = p - pad_lo;
    if (v >= 0 && v < size)
        return v;
    if (mode == VXT_PAD_MODE_CONSTANT)
        return -1;
    if (mode == VXT_PAD_MODE_REPLICATE || size == 1)
        return v < 0 ? 0 : size - 1;
    /* reflect without repeating the edge, period 2*(size-1) */
    vxt_i64 period = 2 * (size - 1);
    vxt_i64 r = v % period;
    if (r < 0)
        r += period;
    return r < size ? r : period - r;
}

/* Float64 accumulation: exact products, sums in double, one rounding at the end. */
#if !defined(VXT_CL) || defined(VXT_FP64)
VXT_INLINE double vxt_stitch_add_f64(double acc, float p, float w)
{
    return acc + (double)p * (double)w;
}

VXT_INLINE float vxt_stitch_normalize_f64(double acc, double sum)
{
    return vxt_ftz((float)(acc / sum));
}
#endif

#endif /* VXT_STITCH_H */
