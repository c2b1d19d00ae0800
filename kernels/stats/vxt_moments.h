/*
 * vxt_moments.h - the deterministic reduction behind vxt_statistics (count, NaN count, min, max, sum and sum
 * of squares), shared by kernels/stats/stats.cl and its CPU twin (kernels/stats/stats_cpu.c). Needs double precision:
 * only the stats program includes it, on devices with cl_khr_fp64 (others reduce on the host thread pool,
 * with this same code).
 *
 * Fixed structure, independent of thread count and work-group size: the volume is cut into blocks of
 * VXT_MOM_BLOCK consecutive elements; inside a block, lane l (0..63) accumulates elements l, l+64, l+128, ...
 * in that order; the 64 lanes of a block are combined in lane order into one block record; block records are
 * combined in block order on the host. Sums are of d = (double)v - shift, where the shift is a value close
 * to the mean chosen on the host before the pass, so that the variance S2/n - (S1/n)^2 does not cancel. For
 * 8- and 16-bit inputs the shift is an integer and every lane and block sum is an exact integer in double.
 */
#ifndef VXT_MOMENTS_H
#define VXT_MOMENTS_H

#ifdef VXT_CL
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define VXT_MOM_LANES 64
#define VXT_MOM_STEPS 256
#define VXT_MOM_BLOCK (VXT_MOM_LANES * VXT_MOM_STEPS)

/* One lane's accumulator (also the block record). */
typedef struct vxt_mom {
    double s1, s2;  /* sum of d and of d*d over the selected, non-NaN values */
    float mn, mx;   /* min and max of those values (+inf / -inf when none) */
    vxt_u32 n, nan; /* selected non-NaN values, selected NaNs */
} vxt_mom;

VXT_VOXEL void vxt_mom_init(vxt_mom *a)
{
    a->s1 = 0.0;
    a->s2 = 0.0;
    a->mn = vxt_u2f(0x7f800000u);
    a->mx = vxt_u2f(0xff800000u);
    a->n = 0u;
    a->nan = 0u;
}

/* Add one loaded value v whose selection flag is sel to the lane accumulator given by its fields (kept as
 * separate variables so that the CPU backend can hold 64 lanes in arrays and vectorize across them).
 * Branch-free where it matters: an unselected value adds +0 (which changes no sum) and leaves min and max
 * alone. */
VXT_VOXEL void vxt_mom_step(double *s1, double *s2, float *mn, float *mx, vxt_u32 *n, vxt_u32 *nan, float v, int sel,
                            double shift)
{
    int isnan_v = vxt_isnan(v);
    int take = (sel != 0) & !isnan_v; /* bitwise: no short-circuit branches */
    double d0 = (double)v - shift;    /* computed unconditionally: a select, not a branch, follows */
    double d = take ? d0 : 0.0;
    double dd = d * d;
    *s1 = *s1 + d;
    *s2 = *s2 + dd;
    *mn = (take & (v < *mn)) ? v : *mn;
    *mx = (take & (v > *mx)) ? v : *mx;
    *n += (vxt_u32)take;
    *nan += (vxt_u32)((sel != 0) & isnan_v);
}

/* a += b (lane or block combination; the order of calls is the fixed order above). */
VXT_VOXEL void vxt_mom_merge(vxt_mom *a, const vxt_mom *b)
{
    a->s1 = a->s1 + b->s1;
    a->s2 = a->s2 + b->s2;
    a->mn = b->mn < a->mn ? b->mn : a->mn;
    a->mx = b->mx > a->mx ? b->mx : a->mx;
    a->n += b->n;
    a->nan += b->nan;
}

#endif /* VXT_MOMENTS_H */
