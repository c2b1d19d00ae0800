/* stats.cl - the moments reduction behind vxt_statistics (vxt_moments.h): one work-group of 64 lanes per
 * block of VXT_MOM_BLOCK elements, lanes combined in lane order, one record per block (combined on the host in
 * block order). Needs cl_khr_fp64. Prepended at build time: vxt_arith.h, vxt_convert.h, vxt_intensity.h,
 * vxt_moments.h (the includes below are for the stand-alone syntax check only).
 *
 * One kernel per input type, selection (a all, n non-zero, m mask) and block kind (f full blocks without bound
 * checks; t the last, partial block), so that the lanes' loop body is straight-line code (CPU devices vectorize
 * it only without control flow). Group g writes record rec0 + g, the block starting at element (rec0 + g) *
 * VXT_MOM_BLOCK of this slab; rs: s1, s2 per record; rf: min, max; ru: count, NaN count. */
#ifndef VXT_MOMENTS_H
#include "vxt_convert.h"
#include "vxt_intensity.h"
#include "vxt_moments.h"
#endif

#define VXT_MOM_KERNEL(NAME, S, T, LOAD, SEL_EXPR, GUARD)                                                    \
    __kernel __attribute__((reqd_work_group_size(VXT_MOM_LANES, 1, 1))) void vxt_mom_##NAME##_##S(           \
        __global const T *in, __global const uchar *mask, long n, double shift, __global double *rs,          \
        __global float *rf, __global uint *ru, long rec0)                                                    \
    {                                                                                                        \
        __local double l1[VXT_MOM_LANES], l2[VXT_MOM_LANES];                                                 \
        __local float lmn[VXT_MOM_LANES], lmx[VXT_MOM_LANES];                                                \
        __local uint lc[VXT_MOM_LANES], lnan[VXT_MOM_LANES];                                                 \
        int lane = (int)get_local_id(0);                                                                     \
        long blk = rec0 + (long)get_group_id(0);                                                             \
        double s1 = 0.0, s2 = 0.0;                                                                           \
        float mn = vxt_u2f(0x7f800000u), mx = vxt_u2f(0xff800000u);                                          \
        uint c = 0u, cn = 0u;                                                                                \
        long i = blk * VXT_MOM_BLOCK + lane;                                                                 \
        (void)mask;                                                                                          \
        (void)n;                                                                                             \
        for (int k = 0; k < VXT_MOM_STEPS; k++, i += VXT_MOM_LANES) {                                        \
            if (GUARD) {                                                                                     \
                float v = LOAD(in[i]);                                                                       \
                vxt_mom_step(&s1, &s2, &mn, &mx, &c, &cn, v, (SEL_EXPR), shift);                             \
            }                                                                                                \
        }                                                                                                    \
        l1[lane] = s1;                                                                                       \
        l2[lane] = s2;                                                                                       \
        lmn[lane] = mn;                                                                                      \
        lmx[lane] = mx;                                                                                      \
        lc[lane] = c;                                                                                        \
        lnan[lane] = cn;                                                                                     \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                        \
        if (lane == 0) {                                                                                     \
            vxt_mom a, b;                                                                                    \
            a.s1 = l1[0];                                                                                    \
            a.s2 = l2[0];                                                                                    \
            a.mn = lmn[0];                                                                                   \
            a.mx = lmx[0];                                                                                   \
            a.n = lc[0];                                                                                     \
            a.nan = lnan[0];                                                                                 \
            for (int l = 1; l < VXT_MOM_LANES; l++) {                                                        \
                b.s1 = l1[l];                                                                                \
                b.s2 = l2[l];                                                                                \
                b.mn = lmn[l];                                                                               \
                b.mx = lmx[l];                                                                               \
                b.n = lc[l];                                                                                 \
                b.nan = lnan[l];                                                                             \
                vxt_mom_merge(&a, &b);                                                                       \
            }                                                                                                \
            rs[2 * blk] = a.s1;                                                                              \
            rs[2 * blk + 1] = a.s2;                                                                          \
            rf[2 * blk] = a.mn;                                                                              \
            rf[2 * blk + 1] = a.mx;                                                                          \
            ru[2 * blk] = a.n;                                                                               \
            ru[2 * blk + 1] = a.nan;                                                                         \
        }                                                                                                    \
    }

#define VXT_MOMENTS_KERNELS(S, T, LOAD, DT)                                                                  \
    VXT_MOM_KERNEL(af, S, T, LOAD, 1, 1)                                                                     \
    VXT_MOM_KERNEL(nf, S, T, LOAD, v != 0.0f, 1)                                                             \
    VXT_MOM_KERNEL(mf, S, T, LOAD, mask[i] != 0, 1)                                                          \
    VXT_MOM_KERNEL(at, S, T, LOAD, 1, i < n)                                                                 \
    VXT_MOM_KERNEL(nt, S, T, LOAD, v != 0.0f, i < n)                                                         \
    VXT_MOM_KERNEL(mt, S, T, LOAD, mask[i] != 0, i < n)
VXT_FOR_EACH_INPUT_TYPE(VXT_MOMENTS_KERNELS)
