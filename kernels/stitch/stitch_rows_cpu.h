/* stitch_rows_cpu.h - the activation of a row of voxels on the CPU: the twin of vxt_softmax_strided() and
 * vxt_sigmoid_strided() (vxt_stitch.h) for the host's finalization loops (stitch_cpu.c, and crop blending in
 * runtime/stitch/stitch_crop.c). Per voxel the same shared steps in the same order, so the same bits; but channel
 * after channel over the whole row, so that the compiler vectorizes across voxels, and each term exp(v - m)
 * computed once (vxt_softmax_strided() computes it in the sum and again in the quotient: the same value twice).
 * Include after internal.h (VXT_CPU_HOT), vxt_arith.h and vxt_stitch.h. Host only. */
#ifndef VXT_STITCH_ROWS_CPU_H
#define VXT_STITCH_ROWS_CPU_H

/* Softmax of n voxels whose C values are `stride` apart (channel c of voxel x at v[c * stride + x]), in place.
 * m and sum: n floats each of scratch. */
VXT_CPU_HOT static inline void vxt__softmax_row(float *restrict v, size_t stride, int64_t n, int C, float *restrict m,
                                                float *restrict sum)
{
    for (int64_t x = 0; x < n; x++) {
        m[x] = v[x];
        sum[x] = 0.0f;
    }
    for (int c = 1; c < C; c++) {
        const float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++)
            m[x] = vxt_softmax_max_step(m[x], vc[x]);
    }
    for (int c = 0; c < C; c++) {
        float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++) {
            const float e = vxt_softmax_exp(vc[x], m[x]);
            vc[x] = e;
            sum[x] = vxt_softmax_add(sum[x], e);
        }
    }
    for (int c = 0; c < C; c++) {
        float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++)
            vc[x] = vxt_div(vc[x], sum[x]);
    }
}

VXT_CPU_HOT static inline void vxt__sigmoid_row(float *restrict v, size_t stride, int64_t n, int C)
{
    for (int c = 0; c < C; c++) {
        float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++)
            vc[x] = vxt_sigmoid(vc[x]);
    }
}

/* The activation `act` (VXT_ACTIVATION_*) of a row, in place; scratch: 2n floats (softmax). */
static inline void vxt__activate_row(float *v, size_t stride, int64_t n, int C, vxt_activation act, float *scratch)
{
    if (act == VXT_ACTIVATION_SOFTMAX)
        vxt__softmax_row(v, stride, n, C, scratch, scratch + n);
    else if (act == VXT_ACTIVATION_SIGMOID)
        vxt__sigmoid_row(v, stride, n, C);
}

/* The largest exp(x) for x <= VXT__NEAR_TIE is below 1 - 2^-21 (checked for every float: at most 1 - 2^-19),
 * and exp(x) <= 1 for every x <= 0 (every float in [-88, 0]; below -87.34 it is 0). */
#define VXT__NEAR_TIE (-0x1p-19f)

/* Labels under softmax then argmax (ties to the lowest channel), without the softmax where it cannot change the
 * label. The label is the first channel k holding the largest value m: every other channel's term exp(v - m) is
 * at most 1 = exp(0), and a channel before k, whose value is below m, gets a probability strictly below k's when
 * v - m <= VXT__NEAR_TIE (its term is then below 1 - 2^-21, and two correctly rounded quotients by the same sum
 * that far apart stay apart). A voxel with a channel before k nearer than that to m (a near tie), or a non-finite
 * value, takes the whole way: vxt_softmax_strided and vxt_label_strided on a copy, as everywhere else. The labels
 * are therefore the full computation's, bit for bit (tests/test_crop.c and test_stitch.c compare them), at the cost
 * of a few comparisons per value instead of an exp and a division. v: C values `stride` apart per voxel; scratch:
 * 3n floats; one: C floats for a near tie. Returns whether a value was not finite. */
VXT_CPU_HOT static inline int vxt__softmax_argmax_row(const float *restrict v, size_t stride, int64_t n, int C,
                                                      float *restrict scratch, float *restrict one, void *labels,
                                                      int u16)
{
    int nonfinite = 0; /* returned: a value of the row was NaN or infinite (the caller's NaN check, for free) */
    float *restrict m = scratch;
    int32_t *restrict k = (int32_t *)(void *)(scratch + n);
    uint8_t *restrict slow = (uint8_t *)(void *)(scratch + 2 * n);
    for (int64_t x = 0; x < n; x++) {
        m[x] = v[x];
        slow[x] = (uint8_t)!vxt_isfinite(v[x]);
        k[x] = 0;
    }
    for (int c = 1; c < C; c++) {
        const float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++) {
            m[x] = vxt_softmax_max_step(m[x], vc[x]);
            slow[x] |= (uint8_t)!vxt_isfinite(vc[x]);
        }
    }
    for (int c = C - 1; c > 0; c--) { /* the first channel holding the largest value */
        const float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++)
            k[x] = vc[x] == m[x] ? c : k[x];
    }
    for (int64_t x = 0; x < n; x++)
        k[x] = v[x] == m[x] ? 0 : k[x];
    for (int c = 0; c + 1 < C; c++) { /* near ties before k */
        const float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++)
            slow[x] |= (uint8_t)((c < k[x]) & (vxt_ftz(vc[x] - m[x]) > VXT__NEAR_TIE));
    }
    for (int64_t x = 0; x < n; x++) {
        int label = k[x];
        if (slow[x]) {
            for (int c = 0; c < C; c++)
                nonfinite |= !vxt_isfinite(v[(size_t)c * stride + (size_t)x]);
            for (int c = 0; c < C; c++)
                one[c] = v[(size_t)c * stride + (size_t)x];
            vxt_softmax_strided(one, 1, C);
            label = vxt_argmax_strided(one, 1, C);
        }
        if (u16)
            ((uint16_t *)labels)[x] = (uint16_t)label;
        else
            ((uint8_t *)labels)[x] = (uint8_t)label;
    }
    return nonfinite;
}

/* vxt_argmax_strided() (kernels/labels/vxt_labels.h) of n voxels whose C values are `stride` apart, channel after
 * channel over the row so that it vectorizes: the same comparisons in the same order per voxel (a NaN is replaced by
 * the next number, ties keep the lowest channel), so the same labels. b and k: n floats and n int32 of scratch. */
VXT_CPU_HOT static inline void vxt__argmax_row(const float *restrict v, size_t stride, int64_t n, int C,
                                               float *restrict b, int32_t *restrict k, void *labels, int u16)
{
    for (int64_t x = 0; x < n; x++) {
        b[x] = v[x];
        k[x] = 0;
    }
    for (int c = 1; c < C; c++) {
        const float *vc = v + (size_t)c * stride;
        for (int64_t x = 0; x < n; x++) {
            const float y = vc[x], cur = b[x];
            const int take = (y > cur) | ((cur != cur) & (y == y));
            b[x] = take ? y : cur;
            k[x] = take ? c : k[x];
        }
    }
    if (u16)
        for (int64_t x = 0; x < n; x++)
            ((uint16_t *)labels)[x] = (uint16_t)k[x];
    else
        for (int64_t x = 0; x < n; x++)
            ((uint8_t *)labels)[x] = (uint8_t)k[x];
}

#endif /* VXT_STITCH_ROWS_CPU_H */
