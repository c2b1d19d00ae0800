/* nifti_convert.c - byte swapping and float32 conversion of voxel values, in place.
 *
 * The float32 conversion follows nibabel's read scaling, in float32: out = (float)raw, then out = out * slope
 * unless slope is 1, then out = out + inter unless inter is 0 (nibabel skips those operations, which matters
 * for -0.0). One rounding per operation; the build's -ffp-contract=off keeps the compiler from fusing them.
 *
 * Conversions work in place on a buffer of n * max(elem, 4) bytes whose first n * elem bytes hold the stored
 * values: wider results are produced from the end backwards, narrower ones from the start forwards, so no
 * value is overwritten before it is read. Each block goes through a small buffer on the stack, which keeps
 * the inner loop free of aliasing and lets the compiler vectorise it. */
#include <string.h>

#include "nifti_internal.h"
#include "vxt_arith.h" /* vxt_half_to_float: the same conversion as the kernels' */

#define BLOCK 2048

void vxt__swap_bytes(void *data, size_t n, size_t elem)
{
    unsigned char *p = (unsigned char *)data;
    switch (elem) {
    case 2:
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            v = __builtin_bswap16(v);
            memcpy(p + 2 * i, &v, 2);
        }
        break;
    case 4:
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, p + 4 * i, 4);
            v = __builtin_bswap32(v);
            memcpy(p + 4 * i, &v, 4);
        }
        break;
    case 8:
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, p + 8 * i, 8);
            v = __builtin_bswap64(v);
            memcpy(p + 8 * i, &v, 8);
        }
        break;
    default:
        break;
    }
}

/* One block: m values of type T from src into float dst (distinct buffers). */
#define DEFINE_BLOCK(name, T)                                                                                \
    static void name(float *restrict dst, const T *restrict src, size_t m, int mul, int add, float slope,      \
                     float inter)                                                                            \
    {                                                                                                        \
        if (mul && add) {                                                                                    \
            for (size_t i = 0; i < m; i++) {                                                                 \
                float v = (float)src[i];                                                             \
                v = v * slope;                                                                               \
                dst[i] = v + inter;                                                                          \
            }                                                                                                \
        } else if (mul) {                                                                                    \
            for (size_t i = 0; i < m; i++) {                                                                 \
                float v = (float)src[i];                                                                     \
                dst[i] = v * slope;                                                                          \
            }                                                                                                \
        } else if (add) {                                                                                    \
            for (size_t i = 0; i < m; i++) {                                                                 \
                float v = (float)src[i];                                                                     \
                dst[i] = v + inter;                                                                          \
            }                                                                                                \
        } else {                                                                                             \
            for (size_t i = 0; i < m; i++)                                                                   \
                dst[i] = (float)src[i];                                                                      \
        }                                                                                                    \
    }

DEFINE_BLOCK(block_u8, uint8_t)
DEFINE_BLOCK(block_i8, int8_t)
DEFINE_BLOCK(block_u16, uint16_t)
DEFINE_BLOCK(block_i16, int16_t)
DEFINE_BLOCK(block_u32, uint32_t)
DEFINE_BLOCK(block_i32, int32_t)
DEFINE_BLOCK(block_u64, uint64_t)
DEFINE_BLOCK(block_i64, int64_t)
DEFINE_BLOCK(block_f32, float)
DEFINE_BLOCK(block_f64, double)

/* Convert block [i0, i0 + m): copy the stored values out, convert into place. */
static void convert_block(unsigned char *p, size_t i0, size_t m, vxt_dtype from, size_t elem, int mul, int add,
                          float slope, float inter)
{
    uint64_t tmp[BLOCK]; /* aligned for any stored type */
    memcpy(tmp, p + i0 * elem, m * elem);
    float out[BLOCK];
    switch (from) {
    case VXT_DTYPE_U8:
        block_u8(out, (const uint8_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_I8:
        block_i8(out, (const int8_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_U16:
        block_u16(out, (const uint16_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_I16:
        block_i16(out, (const int16_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_U32:
        block_u32(out, (const uint32_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_I32:
        block_i32(out, (const int32_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_U64:
        block_u64(out, (const uint64_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_I64:
        block_i64(out, (const int64_t *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_F16: {
        float wide[BLOCK];
        const uint16_t *half = (const uint16_t *)tmp;
        for (size_t i = 0; i < m; i++)
            wide[i] = vxt_half_to_float(half[i]);
        block_f32(out, wide, m, mul, add, slope, inter);
        break;
    }
    case VXT_DTYPE_F32:
        block_f32(out, (const float *)tmp, m, mul, add, slope, inter);
        break;
    case VXT_DTYPE_F64:
        block_f64(out, (const double *)tmp, m, mul, add, slope, inter);
        break;
    default:
        return;
    }
    memcpy(p + i0 * sizeof(float), out, m * sizeof(float));
}

void vxt__to_float32(void *data, size_t n, vxt_dtype from, int apply, float slope, float inter)
{
    unsigned char *p = (unsigned char *)data;
    size_t elem = vxt_dtype_size(from);
    int mul = apply && slope != 1.0f;
    int add = apply && inter != 0.0f;
    if (elem == 0 || (from == VXT_DTYPE_F32 && !mul && !add))
        return;
    if (elem <= sizeof(float)) {
        /* results at least as wide: from the end backwards */
        size_t end = n;
        while (end > 0) {
            size_t m = end < BLOCK ? end : BLOCK;
            convert_block(p, end - m, m, from, elem, mul, add, slope, inter);
            end -= m;
        }
    } else {
        for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
            size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
            convert_block(p, i0, m, from, elem, mul, add, slope, inter);
        }
    }
}
