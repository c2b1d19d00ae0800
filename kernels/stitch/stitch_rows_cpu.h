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

#endif /* VXT_STITCH_ROWS_CPU_H */
