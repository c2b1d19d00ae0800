/* preproc_check.c - argument checks and small helpers shared by the preprocessing functions. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "preproc.h"

vxt_status vxt__pp_check_ctx(const vxt_context *ctx, const char *func)
{
    if (ctx == NULL)
        return vxt__fail(NULL, VXT_ERR_NULL, "%s: argument 'ctx' is NULL", func);
    return VXT_OK;
}

int vxt__pp_input_type(vxt_dtype t)
{
    return t == VXT_DTYPE_U8 || t == VXT_DTYPE_I8 || t == VXT_DTYPE_U16 || t == VXT_DTYPE_I16 || t == VXT_DTYPE_I32 ||
           t == VXT_DTYPE_F32 || t == VXT_DTYPE_F64;
}

const char *vxt__pp_suffix(vxt_dtype t)
{
    switch (t) {
    case VXT_DTYPE_U8:
        return "u8";
    case VXT_DTYPE_I8:
        return "i8";
    case VXT_DTYPE_U16:
        return "u16";
    case VXT_DTYPE_I16:
        return "i16";
    case VXT_DTYPE_I32:
        return "i32";
    case VXT_DTYPE_F32:
        return "f32";
    case VXT_DTYPE_F64:
        return "f64";
    default:
        return "?";
    }
}

void vxt__pp_kernel_name(char *buf, size_t size, const char *base, vxt_dtype t)
{
    snprintf(buf, size, "vxt_%s_%s", base, vxt__pp_suffix(t));
}

vxt_status vxt__pp_check_input(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                               size_t *bytes)
{
    vxt_status st = vxt__volume_check(ctx, func, what, v, bytes);
    if (st != VXT_OK)
        return st;
    if (!vxt__pp_input_type(v->dtype))
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED,
                         "%s: %s.dtype %s is not supported (uint8, int8, uint16, int16, int32, float32, float64)", func,
                         what, vxt_dtype_name(v->dtype));
    return VXT_OK;
}

vxt_status vxt__pp_check_output(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                                vxt_dtype want, const vxt_volume *like, size_t *bytes)
{
    vxt_status st = vxt__volume_check(ctx, func, what, v, bytes);
    if (st != VXT_OK)
        return st;
    if (want != VXT_DTYPE_INVALID && v->dtype != want)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s.dtype is %s, expected %s", func, what,
                         vxt_dtype_name(v->dtype), vxt_dtype_name(want));
    if (like) {
        if (v->channels != like->channels)
            return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: %s has %lld channels, the input %lld", func, what,
                             (long long)v->channels, (long long)like->channels);
        for (int a = 0; a < 3; a++)
            if (v->shape[a] != like->shape[a])
                return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH,
                                 "%s: %s shape %lld x %lld x %lld differs from the input's %lld x %lld x %lld", func,
                                 what, (long long)v->shape[0], (long long)v->shape[1], (long long)v->shape[2],
                                 (long long)like->shape[0], (long long)like->shape[1], (long long)like->shape[2]);
    }
    return VXT_OK;
}

vxt_status vxt__pp_check_select(const vxt_context *ctx, const char *func, vxt_select sel, const vxt_volume *mask,
                                const vxt_volume *in)
{
    if (sel != VXT_SELECT_ALL && sel != VXT_SELECT_NONZERO && sel != VXT_SELECT_MASK)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: select %d is not a vxt_select value", func, (int)sel);
    if (sel != VXT_SELECT_MASK) {
        if (mask != NULL)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "%s: a mask was given but select is not VXT_SELECT_MASK (pass NULL)", func);
        return VXT_OK;
    }
    if (mask == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: select is VXT_SELECT_MASK but argument 'mask' is NULL", func);
    vxt_status st = vxt__volume_check(ctx, func, "mask", mask, NULL);
    if (st != VXT_OK)
        return st;
    if (mask->dtype != VXT_DTYPE_U8 && mask->dtype != VXT_DTYPE_I8)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: mask.dtype is %s (expected uint8 or int8)", func,
                         vxt_dtype_name(mask->dtype));
    if (mask->channels != 1)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: mask has %lld channels (expected 1)", func,
                         (long long)mask->channels);
    for (int a = 0; a < 3; a++)
        if (mask->shape[a] != in->shape[a])
            return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH,
                             "%s: mask shape %lld x %lld x %lld differs from the input's %lld x %lld x %lld", func,
                             (long long)mask->shape[0], (long long)mask->shape[1], (long long)mask->shape[2],
                             (long long)in->shape[0], (long long)in->shape[1], (long long)in->shape[2]);
    return VXT_OK;
}

vxt_status vxt__pp_check_overlap(const vxt_context *ctx, const char *func, const vxt_volume *in, size_t in_bytes,
                                 const vxt_volume *out, size_t out_bytes, int inplace_ok)
{
    uintptr_t a0 = (uintptr_t)in->data, a1 = a0 + in_bytes;
    uintptr_t b0 = (uintptr_t)out->data, b1 = b0 + out_bytes;
    if (a0 >= b1 || b0 >= a1)
        return VXT_OK;
    if (inplace_ok && a0 == b0 && in_bytes == out_bytes)
        return VXT_OK;
    return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                     "%s: the output memory overlaps the input (in place is only allowed %s)", func,
                     inplace_ok ? "with the same data pointer and element size" : "nowhere for this function");
}

vxt_status vxt__pp_check_single_channel(const vxt_context *ctx, const char *func, const vxt_volume *in)
{
    if (in->channels != 1)
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED,
                         "%s: in.channels is %lld; statistics work on one channel: pass a view of each channel "
                         "(data + c * nz*ny*nx elements, channels = 1)",
                         func, (long long)in->channels);
    return VXT_OK;
}

vxt_status vxt__pp_check_finite(const vxt_context *ctx, const char *func, const char *name, double v)
{
    if (!isfinite(v))
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s is %g (must be finite)", func, name, v);
    return VXT_OK;
}

float vxt__pp_f32(double d)
{
    return vxt_ftz((float)d);
}

float vxt__pp_load(const vxt_volume *v, size_t i)
{
    const unsigned char *p = (const unsigned char *)v->data;
    switch (v->dtype) {
    case VXT_DTYPE_U8:
        return vxt_cvt_u8(p[i]);
    case VXT_DTYPE_I8: {
        int8_t x;
        memcpy(&x, p + i, 1);
        return vxt_cvt_i8(x);
    }
    case VXT_DTYPE_U16: {
        uint16_t x;
        memcpy(&x, p + 2 * i, 2);
        return vxt_cvt_u16(x);
    }
    case VXT_DTYPE_I16: {
        int16_t x;
        memcpy(&x, p + 2 * i, 2);
        return vxt_cvt_i16(x);
    }
    case VXT_DTYPE_I32: {
        int32_t x;
        memcpy(&x, p + 4 * i, 4);
        return vxt_cvt_i32(x);
    }
    case VXT_DTYPE_F32: {
        float x;
        memcpy(&x, p + 4 * i, 4);
        return vxt_cvt_f32(x);
    }
    case VXT_DTYPE_F64: {
        double x;
        memcpy(&x, p + 8 * i, 8);
        return vxt_cvt_f64(x);
    }
    default:
        return 0.0f;
    }
}
