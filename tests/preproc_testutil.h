/* preproc_testutil.h - helpers of the preprocessing tests: random volumes of every input type (never trivial:
 * CT-like integers, floats with NaN/Inf/-0/subnormals), poisoned outputs, bitwise comparisons, contexts. */
#ifndef VXT_PREPROC_TESTUTIL_H
#define VXT_PREPROC_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "vxt_test.h"

#define PT_UNUSED __attribute__((unused))

static const vxt_dtype pt_types[] = {VXT_DTYPE_U8,  VXT_DTYPE_I8,  VXT_DTYPE_U16, VXT_DTYPE_I16,
                                     VXT_DTYPE_I32, VXT_DTYPE_F32, VXT_DTYPE_F64};
#define PT_NTYPES (sizeof pt_types / sizeof pt_types[0])

/* Under vxt_test_small() (Oclgrind, which interprets every work-item): the input types a device test keeps -
 * uint8 (the narrowest loads), int16 (CT), float32 and float64 (kernels of its own). Every type otherwise. */
PT_UNUSED static int pt_small_type(vxt_dtype t)
{
    return !vxt_test_small() || t == VXT_DTYPE_U8 || t == VXT_DTYPE_I16 || t == VXT_DTYPE_F32 || t == VXT_DTYPE_F64;
}

PT_UNUSED static size_t pt_elems(const vxt_volume *v)
{
    return (size_t)v->channels * (size_t)v->shape[0] * (size_t)v->shape[1] * (size_t)v->shape[2];
}

PT_UNUSED static size_t pt_bytes(const vxt_volume *v)
{
    return pt_elems(v) * vxt_dtype_size(v->dtype);
}

PT_UNUSED static vxt_volume pt_alloc(vxt_dtype t, int64_t c, int64_t nz, int64_t ny, int64_t nx)
{
    vxt_volume v = {NULL, t, c, {nz, ny, nx}};
    v.data = malloc(pt_bytes(&v) + 8);
    assert_non_null(v.data);
    vxt_poison(v.data, pt_bytes(&v));
    return v;
}

PT_UNUSED static void pt_free(vxt_volume *v)
{
    free(v->data);
    v->data = NULL;
}

PT_UNUSED static vxt_volume pt_copy(const vxt_volume *v)
{
    vxt_volume c = *v;
    c.data = malloc(pt_bytes(v) + 8);
    assert_non_null(c.data);
    memcpy(c.data, v->data, pt_bytes(v));
    return c;
}

/* Store double d into element i of v (converted like a C cast; for testing). */
PT_UNUSED static void pt_set(vxt_volume *v, size_t i, double d)
{
    unsigned char *p = (unsigned char *)v->data;
    switch (v->dtype) {
    case VXT_DTYPE_U8: {
        uint8_t x = (uint8_t)d;
        memcpy(p + i, &x, 1);
        break;
    }
    case VXT_DTYPE_I8: {
        int8_t x = (int8_t)d;
        memcpy(p + i, &x, 1);
        break;
    }
    case VXT_DTYPE_U16: {
        uint16_t x = (uint16_t)d;
        memcpy(p + 2 * i, &x, 2);
        break;
    }
    case VXT_DTYPE_I16: {
        int16_t x = (int16_t)d;
        memcpy(p + 2 * i, &x, 2);
        break;
    }
    case VXT_DTYPE_I32: {
        int32_t x = (int32_t)d;
        memcpy(p + 4 * i, &x, 4);
        break;
    }
    case VXT_DTYPE_F32: {
        float x = (float)d;
        memcpy(p + 4 * i, &x, 4);
        break;
    }
    case VXT_DTYPE_F64:
        memcpy(p + 8 * i, &d, 8);
        break;
    default:
        break;
    }
}

/* Random non-trivial data of v's type: CT-like integers (air, tissue, bone, padding, some zeros), floats with
 * a sprinkle of special values unless specials == 0. */
PT_UNUSED static void pt_fill(vxt_volume *v, uint64_t seed, int specials)
{
    vxt_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    const size_t n = pt_elems(v);
    for (size_t i = 0; i < n; i++) {
        double u = (double)vxt_rng_u32(&r) / 4294967296.0;
        uint32_t k = vxt_rng_u32(&r) % 100;
        double d;
        switch (v->dtype) {
        case VXT_DTYPE_U8:
            d = k < 10 ? 0 : floor(u * 256);
            break;
        case VXT_DTYPE_I8:
            d = k < 10 ? 0 : floor(u * 256) - 128;
            break;
        case VXT_DTYPE_U16:
            d = k < 5 ? 0 : (k < 8 ? 65535 : floor(u * 4096));
            break;
        case VXT_DTYPE_I16:
            d = k < 30 ? -1000 + floor(u * 40)
                       : (k < 35 ? -2000 : (k < 40 ? 0 : (k < 50 ? 300 + floor(u * 1500) : floor(u * 120) - 20)));
            break;
        case VXT_DTYPE_I32:
            d = k < 5 ? 0 : (k < 50 ? floor(u * 4000) - 1000 : floor(u * 4.0e9) - 2.0e9);
            break;
        default:
            d = k < 8 ? 0.0 : (u - 0.5) * 2000.0 + (double)(vxt_rng_u32(&r) & 0xffff) * 1e-6;
            if (specials && k == 8) {
                static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 1e-40, -1e-41, 1e-300, 3.5e38, 1e300};
                d = sp[vxt_rng_u32(&r) % (sizeof sp / sizeof sp[0])];
                if (v->dtype == VXT_DTYPE_F32 && fabs(d) > 3.5e38 && isfinite(d))
                    d = 3.0e38;
            }
            break;
        }
        pt_set(v, i, d);
    }
}

/* Number of elements whose bytes differ (element size es); prints the first few. */
PT_UNUSED static size_t pt_diff(const void *a, const void *b, size_t n, size_t es, const char *what)
{
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(pa + i * es, pb + i * es, es) != 0) {
            if (bad < 4) {
                if (es == 4) {
                    float fa, fb;
                    memcpy(&fa, pa + i * es, 4);
                    memcpy(&fb, pb + i * es, 4);
                    print_message("%s: element %zu differs: %.9g vs %.9g\n", what, i, (double)fa, (double)fb);
                } else {
                    print_message("%s: element %zu differs\n", what, i);
                }
            }
            bad++;
        }
    }
    return bad;
}

PT_UNUSED static vxt_context *pt_cpu(int threads)
{
    return vxt_test_context(VXT_BACKEND_CPU, threads);
}

PT_UNUSED static vxt_context *pt_cl(void)
{
    return vxt_test_context(VXT_BACKEND_OPENCL, 0);
}

/* A mask of v's spatial shape with about `percent` % of voxels set. */
PT_UNUSED static vxt_volume pt_mask(const vxt_volume *v, uint64_t seed, unsigned percent)
{
    vxt_volume m = pt_alloc(VXT_DTYPE_U8, 1, v->shape[0], v->shape[1], v->shape[2]);
    vxt_rng r = {seed + 77};
    unsigned char *p = (unsigned char *)m.data;
    for (size_t i = 0; i < pt_elems(&m); i++)
        p[i] = (vxt_rng_u32(&r) % 100) < percent ? (unsigned char)(1 + vxt_rng_u32(&r) % 200) : 0;
    return m;
}

#endif
