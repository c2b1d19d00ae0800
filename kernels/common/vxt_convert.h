/*
 * vxt_convert.h - element types of input volumes, their conversion to float32, and order-preserving integer
 * keys (for exact percentiles). Shared by the OpenCL kernels and the CPU backend; compiles as C99 and as
 * OpenCL C 1.2 after vxt_arith.h.
 *
 * Supported input types: uint8, int8, uint16, int16, int32, float32, float64. Values are converted to float32
 * where they are loaded, inside the kernels and CPU loops (no full-volume float copy):
 *   - 8- and 16-bit integers convert exactly;
 *   - int32 converts with round-to-nearest-even (exact for |x| <= 2^24), like numpy's astype(float32);
 *   - float32 is flushed (vxt_ftz, docs/DETERMINISM.md);
 *   - float64 is rounded to nearest even by integer operations only (vxt_f64bits_to_f32), so that a device
 *     without fp64 converts exactly like the host, then flushed.
 * A float64 volume is read as its bit patterns on the device (ulong) and as double on the host.
 */
#ifndef VXT_CONVERT_H
#define VXT_CONVERT_H

/* Per-voxel functions are always inlined on the host (GCC otherwise keeps some out of line in the many per-type
 * loop instantiations, and an out-of-line call stops a loop from vectorizing). */
#if defined(VXT_CL)
#define VXT_VOXEL static inline
#elif defined(__GNUC__)
#define VXT_VOXEL static inline __attribute__((always_inline))
#else
#define VXT_VOXEL static inline
#endif

#ifdef VXT_CL
typedef uchar vxt_u8;
typedef char vxt_i8;
typedef short vxt_i16;
typedef ulong vxt_f64_storage; /* float64 elements are read as their bits on the device */
#else
typedef uint8_t vxt_u8;
typedef int8_t vxt_i8;
typedef int16_t vxt_i16;
typedef double vxt_f64_storage;
#endif

/* Element-type codes (the values of the public vxt_dtype enum). */
#define VXT_DT_U8 1
#define VXT_DT_I8 2
#define VXT_DT_U16 3
#define VXT_DT_I16 4
#define VXT_DT_I32 6
#define VXT_DT_F32 10
#define VXT_DT_F64 11

/* Round the double with bit pattern b to the nearest float (ties to even), integer operations only. Results
 * below FLT_MIN are computed exactly as subnormals (a value just below FLT_MIN can round up to FLT_MIN) and
 * then flushed by the caller. NaN becomes a quiet NaN with the top payload bits. */
VXT_VOXEL float vxt_f64bits_to_f32(vxt_u64 b)
{
    vxt_u32 sign = (vxt_u32)(b >> 32) & 0x80000000u;
    vxt_u64 a = b & 0x7fffffffffffffffull;
    if (a >= 0x7ff0000000000000ull) {
        if (a == 0x7ff0000000000000ull)
            return vxt_u2f(sign | 0x7f800000u);
        return vxt_u2f(sign | 0x7fc00000u | ((vxt_u32)(a >> 29) & 0x003fffffu));
    }
    vxt_i32 e = (vxt_i32)(a >> 52);
    vxt_u64 m = a & 0x000fffffffffffffull;
    vxt_i32 fe = e - 1023 + 127;
    if (fe >= 255)
        return vxt_u2f(sign | 0x7f800000u);
    if (fe >= 1) {
        vxt_u32 r = ((vxt_u32)fe << 23) | (vxt_u32)(m >> 29);
        vxt_u32 rest = (vxt_u32)(m & 0x1fffffffull);
        if (rest > 0x10000000u || (rest == 0x10000000u && (r & 1u)))
            r += 1u; /* a carry into the exponent is correct, up to infinity */
        return vxt_u2f(sign | r);
    }
    if (e == 0)
        return vxt_u2f(sign); /* double subnormal or zero: far below the float range */
    /* float subnormal range: value = M * 2^(e - 1075), result k * 2^-149 with k = M >> (926 - e) rounded */
    vxt_u64 mm = m | 0x0010000000000000ull;
    vxt_i32 shift = 926 - e; /* >= 30 here */
    if (shift > 53)
        return vxt_u2f(sign);
    vxt_u64 k = mm >> shift;
    /* the bits shifted out, moved to the top (shift is 30..53, so they fit): above half when above 2^63. (The mask
       (1 << shift) - 1 compiled to 128-bit integers, which Oclgrind cannot interpret: docs/DETERMINISM.md.) */
    vxt_u64 rest = mm << (vxt_u32)(64 - shift);
    if (rest > 0x8000000000000000ull || (rest == 0x8000000000000000ull && (k & 1ull)))
        k += 1ull;
    return vxt_u2f(sign | (vxt_u32)k);
}

/* ---- loads: element -> float32 ------------------------------------------------------------------------ */

VXT_VOXEL float vxt_cvt_u8(vxt_u8 x)
{
    return (float)x;
}
VXT_VOXEL float vxt_cvt_i8(vxt_i8 x)
{
    return (float)x;
}
VXT_VOXEL float vxt_cvt_u16(vxt_u16 x)
{
    return (float)x;
}
VXT_VOXEL float vxt_cvt_i16(vxt_i16 x)
{
    return (float)x;
}
VXT_VOXEL float vxt_cvt_i32(vxt_i32 x)
{
    return (float)x;
}
VXT_VOXEL float vxt_cvt_f32(float x)
{
    return vxt_ftz(x);
}
#ifdef VXT_CL
VXT_VOXEL float vxt_cvt_f64(vxt_f64_storage bits)
{
    return vxt_ftz(vxt_f64bits_to_f32(bits));
}
#else
VXT_VOXEL float vxt_cvt_f64(double d)
{
    vxt_u64 bits;
    memcpy(&bits, &d, sizeof bits);
    return vxt_ftz(vxt_f64bits_to_f32(bits));
}
#endif

/* X-macro over the supported input types: X(suffix, element type, load function, dtype code). Kernels and
 * CPU loops are instantiated once per type from it; the type is dispatched outside the loops. */
#define VXT_FOR_EACH_INPUT_TYPE(X)                                                                                     \
    X(u8, vxt_u8, vxt_cvt_u8, VXT_DT_U8)                                                                               \
    X(i8, vxt_i8, vxt_cvt_i8, VXT_DT_I8)                                                                               \
    X(u16, vxt_u16, vxt_cvt_u16, VXT_DT_U16)                                                                           \
    X(i16, vxt_i16, vxt_cvt_i16, VXT_DT_I16)                                                                           \
    X(i32, vxt_i32, vxt_cvt_i32, VXT_DT_I32)                                                                           \
    X(f32, float, vxt_cvt_f32, VXT_DT_F32)                                                                             \
    X(f64, vxt_f64_storage, vxt_cvt_f64, VXT_DT_F64)

/* ---- order-preserving keys ---------------------------------------------------------------------------- */

/* Each loaded value maps to an unsigned key whose integer order is the numeric order of the values: 8 bits
 * for 8-bit types, 16 bits for 16-bit types, 32 bits for int32 and for float32/float64 (as converted to
 * float32). For floats, -0 and +0 share the key of +0 (they compare equal), and NaN has no key (callers
 * exclude it). Keys are computed from the stored element, so integer keys are exact even where the float
 * conversion is not (int32 beyond 2^24). */
VXT_VOXEL vxt_u32 vxt_key_u8(vxt_u8 x)
{
    return (vxt_u32)x;
}
VXT_VOXEL vxt_u32 vxt_key_i8(vxt_i8 x)
{
    return ((vxt_u32)(vxt_i32)x + 0x80u) & 0xffu;
}
VXT_VOXEL vxt_u32 vxt_key_u16(vxt_u16 x)
{
    return (vxt_u32)x;
}
VXT_VOXEL vxt_u32 vxt_key_i16(vxt_i16 x)
{
    return ((vxt_u32)(vxt_i32)x + 0x8000u) & 0xffffu;
}
VXT_VOXEL vxt_u32 vxt_key_i32(vxt_i32 x)
{
    return (vxt_u32)x ^ 0x80000000u;
}

/* Key of a float (already loaded and flushed; not NaN). */
VXT_VOXEL vxt_u32 vxt_key_float(float v)
{
    vxt_u32 u = vxt_f2u(v);
    if (u == 0x80000000u)
        u = 0u;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
VXT_VOXEL vxt_u32 vxt_key_f32(float x)
{
    return vxt_key_float(vxt_cvt_f32(x));
}
VXT_VOXEL vxt_u32 vxt_key_f64(vxt_f64_storage x)
{
    return vxt_key_float(vxt_cvt_f64(x));
}

/* Inverse of vxt_key_float. */
VXT_VOXEL float vxt_key_to_float(vxt_u32 k)
{
    return vxt_u2f((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

#endif /* VXT_CONVERT_H */
