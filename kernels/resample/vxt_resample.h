/*
 * vxt_resample.h - per-voxel arithmetic of resampling, shared by kernels/resample/resample.cl,
 * kernels/resample/resample_affine.cl and their CPU twins (kernels/resample/resample_cpu.c,
 * kernels/resample/resample_affine_cpu.c). Compiles as C99 and OpenCL C 1.2 after vxt_arith.h and vxt_convert.h.
 *
 * Separable resampling (to a shape, a scale factor or a spacing). Per output axis the host computes once, in
 * a table, the two source indices and weights of every output index (torch's or scipy's formula, see
 * runtime/preproc/resample.c); both backends read the same tables. An output voxel is then, in torch's order of
 * operations (upsample_trilinear3d on the CPU: innermost axis first, each product rounded):
 *
 *   row(z, y)    = x linear ? lerp(v(z, y, x0), v(z, y, x1), wx0, wx1) : v(z, y, x0)
 *   plane(z)     = y linear ? lerp(row(z, y0), row(z, y1), wy0, wy1)    : row(z, y0)
 *   out          = z linear ? lerp(plane(z0), plane(z1), wz0, wz1)     : plane(z0)
 *   lerp(a, b, w0, w1) = a*w0 + b*w1
 *
 * A source index of -1 marks a neighbour outside the volume (constant boundary): v() is the fill value there.
 * An axis whose indices are both -1 puts the whole sample outside: the output is the fill value exactly.
 * The CPU backend evaluates the same expressions with rows and planes cached (each is computed once per
 * output row/plane instead of once per voxel), which gives the same bits because it is the same arithmetic.
 *
 * Affine resampling: the source coordinate of output voxel (z, y, x) along axis a is
 * ((m[a][0]*z + m[a][1]*y) + m[a][2]*x) + m[a][3] in float32, each step rounded; then trilinear (the same lerp
 * tree) or nearest (floor(c + 0.5)) with edge clamp or constant fill.
 */
#ifndef VXT_RESAMPLE_H
#define VXT_RESAMPLE_H

#define VXT_AXIS_LINEAR 0
#define VXT_AXIS_NEAREST 1

VXT_VOXEL float vxt_floor(float x)
{
#ifdef VXT_CL
    return floor(x);
#else
    return __builtin_floorf(x);
#endif
}

/* a*w0 + b*w1: two products and a sum, each rounded and flushed (torch: t0 * w0 + t1 * w1). */
VXT_VOXEL float vxt_lerp2(float a, float b, float w0, float w1)
{
    float p = vxt_ftz(a * w0);
    float q = vxt_ftz(b * w1);
    return vxt_ftz(p + q);
}

/* ---- separable ------------------------------------------------------------------------------------------ */

/* Per output voxel, the table entries of its three axes. */
typedef struct vxt_sep_idx {
    vxt_i64 z0, z1, y0, y1, x0, x1; /* source indices (-1: outside); nearest axes have i1 == i0 */
    float wz0, wz1, wy0, wy1, wx0, wx1;
    vxt_i32 modes; /* bit 0: x nearest, bit 1: y nearest, bit 2: z nearest */
} vxt_sep_idx;

#define VXT_DEFINE_SEP_SAMPLE(S, T, LOAD, DT)                                                                          \
    VXT_VOXEL float vxt_sep_v_##S(const VXT_GLOBAL T *in, vxt_i64 z, vxt_i64 y, vxt_i64 x, vxt_i64 sz, vxt_i64 sy,     \
                                  float fill)                                                                          \
    {                                                                                                                  \
        return (z < 0 || y < 0 || x < 0) ? fill : LOAD(in[z * sz + y * sy + x]);                                       \
    }                                                                                                                  \
    VXT_VOXEL float vxt_sep_row_##S(const VXT_GLOBAL T *in, vxt_i64 z, vxt_i64 y, vxt_i64 sz, vxt_i64 sy,              \
                                    const vxt_sep_idx *t, float fill)                                                  \
    {                                                                                                                  \
        float a = vxt_sep_v_##S(in, z, y, t->x0, sz, sy, fill);                                                        \
        if (t->modes & 1)                                                                                              \
            return a;                                                                                                  \
        float b = vxt_sep_v_##S(in, z, y, t->x1, sz, sy, fill);                                                        \
        return vxt_lerp2(a, b, t->wx0, t->wx1);                                                                        \
    }                                                                                                                  \
    VXT_VOXEL float vxt_sep_plane_##S(const VXT_GLOBAL T *in, vxt_i64 z, vxt_i64 sz, vxt_i64 sy, const vxt_sep_idx *t, \
                                      float fill)                                                                      \
    {                                                                                                                  \
        float a = vxt_sep_row_##S(in, z, t->y0, sz, sy, t, fill);                                                      \
        if (t->modes & 2)                                                                                              \
            return a;                                                                                                  \
        float b = vxt_sep_row_##S(in, z, t->y1, sz, sy, t, fill);                                                      \
        return vxt_lerp2(a, b, t->wy0, t->wy1);                                                                        \
    }                                                                                                                  \
    /* in points at source plane zoff (a slab of the volume); table z indices are absolute */                          \
    VXT_VOXEL float vxt_sep_sample_##S(const VXT_GLOBAL T *in, vxt_i64 zoff, vxt_i64 sz, vxt_i64 sy,                   \
                                       const vxt_sep_idx *t, float fill)                                               \
    {                                                                                                                  \
        if ((t->z0 < 0 && t->z1 < 0) || (t->y0 < 0 && t->y1 < 0) || (t->x0 < 0 && t->x1 < 0))                          \
            return fill;                                                                                               \
        float a = vxt_sep_plane_##S(in, t->z0 < 0 ? -1 : t->z0 - zoff, sz, sy, t, fill);                               \
        if (t->modes & 4)                                                                                              \
            return a;                                                                                                  \
        float b = vxt_sep_plane_##S(in, t->z1 < 0 ? -1 : t->z1 - zoff, sz, sy, t, fill);                               \
        return vxt_lerp2(a, b, t->wz0, t->wz1);                                                                        \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_DEFINE_SEP_SAMPLE)

/* The same lerp tree for a voxel whose source indices are all inside the volume (no -1; the host checks the
 * tables), with the per-axis modes as arguments that kernels pass as constants (zn, yn, xn: 1 nearest): the
 * inlined body then has no branches, which CPU devices need to vectorize across work-items. Equal to
 * vxt_sep_sample_* for such voxels: the same operations in the same order. */
#define VXT_DEFINE_SEP_VALID(S, T, LOAD, DT)                                                                           \
    VXT_VOXEL float vxt_sep_row_valid_##S(const VXT_GLOBAL T *r, const vxt_sep_idx *t, int xn)                         \
    {                                                                                                                  \
        float a = LOAD(r[t->x0]);                                                                                      \
        return xn ? a : vxt_lerp2(a, LOAD(r[t->x1]), t->wx0, t->wx1);                                                  \
    }                                                                                                                  \
    VXT_VOXEL float vxt_sep_plane_valid_##S(const VXT_GLOBAL T *p, vxt_i64 sy, const vxt_sep_idx *t, int yn, int xn)   \
    {                                                                                                                  \
        float a = vxt_sep_row_valid_##S(p + t->y0 * sy, t, xn);                                                        \
        return yn ? a : vxt_lerp2(a, vxt_sep_row_valid_##S(p + t->y1 * sy, t, xn), t->wy0, t->wy1);                    \
    }                                                                                                                  \
    VXT_VOXEL float vxt_sep_sample_valid_##S(const VXT_GLOBAL T *in, vxt_i64 zoff, vxt_i64 sz, vxt_i64 sy,             \
                                             const vxt_sep_idx *t, int zn, int yn, int xn)                             \
    {                                                                                                                  \
        float a = vxt_sep_plane_valid_##S(in + (t->z0 - zoff) * sz, sy, t, yn, xn);                                    \
        return zn ? a                                                                                                  \
                  : vxt_lerp2(a, vxt_sep_plane_valid_##S(in + (t->z1 - zoff) * sz, sy, t, yn, xn), t->wz0, t->wz1);    \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_DEFINE_SEP_VALID)

/* ---- affine --------------------------------------------------------------------------------------------- */

/* Source coordinate along one axis: ((m0*z + m1*y) + m2*x) + m3. */
VXT_VOXEL float vxt_affine_coord(float m0, float m1, float m2, float m3, vxt_i64 z, vxt_i64 y, vxt_i64 x)
{
    float a = vxt_ftz(m0 * (float)z);
    float b = vxt_ftz(m1 * (float)y);
    float ab = vxt_ftz(a + b);
    float c = vxt_ftz(m2 * (float)x);
    float abc = vxt_ftz(ab + c);
    return vxt_ftz(abc + m3);
}

/* Linear interpolation along one axis of size n at coordinate c: neighbours i0, i1 (-1: outside, fill) and
 * weights w0 = 1 - t, w1 = t. Returns 0 when the sample lies outside (constant boundary): all its neighbours
 * along this axis are outside. Edge clamp clamps c to [0, n-1] (NaN to 0). */
VXT_VOXEL int vxt_affine_axis_linear(float c, vxt_i64 n, int clamp, vxt_i64 *i0, vxt_i64 *i1, float *w0, float *w1)
{
    if (clamp) {
        float hi = (float)(n - 1);
        c = c >= 0.0f ? c : 0.0f;
        c = c <= hi ? c : hi;
    } else if (!(c > -1.0f && c < (float)n)) {
        return 0;
    }
    float f = vxt_floor(c);
    vxt_i64 k = (vxt_i64)f;
    float t = c - f; /* exact */
    *i0 = k;
    *i1 = k + 1;
    if (clamp) {
        *i1 = *i1 > n - 1 ? n - 1 : *i1;
    } else {
        *i0 = k < 0 ? -1 : k;
        *i1 = k + 1 >= n ? -1 : k + 1;
    }
    *w1 = t;
    *w0 = vxt_ftz(1.0f - t);
    return 1;
}

/* Nearest neighbour along one axis: floor(c + 0.5) (round half up). Returns 0 when outside (constant). */
VXT_VOXEL int vxt_affine_axis_nearest(float c, vxt_i64 n, int clamp, vxt_i64 *i0)
{
    if (clamp) {
        float hi = (float)(n - 1);
        c = c >= 0.0f ? c : 0.0f;
        c = c <= hi ? c : hi;
    } else if (!(c > -2.0f && c < (float)n + 1.0f)) {
        return 0;
    }
    vxt_i64 k = (vxt_i64)vxt_floor(vxt_ftz(c + 0.5f));
    if (k < 0 || k >= n)
        return 0;
    *i0 = k;
    return 1;
}

/* in points at source plane zoff of a volume of nz x ny x nx (the planes [zoff, zoff + zcount) are present);
 * (cz, cy, cx) is the source coordinate. */
#define VXT_DEFINE_AFFINE_SAMPLE(S, T, LOAD, DT)                                                                       \
    VXT_VOXEL float vxt_aff_v_##S(const VXT_GLOBAL T *in, vxt_i64 z, vxt_i64 y, vxt_i64 x, vxt_i64 zoff,               \
                                  vxt_i64 zcount, vxt_i64 ny, vxt_i64 nx, float fill)                                  \
    {                                                                                                                  \
        if (z < 0 || y < 0 || x < 0)                                                                                   \
            return fill;                                                                                               \
        vxt_i64 zl = vxt_clamp_i64(z - zoff, 0, zcount - 1); /* the host uploads a slab with margin */                 \
        return LOAD(in[(zl * ny + y) * nx + x]);                                                                       \
    }                                                                                                                  \
    VXT_VOXEL float vxt_affine_sample_##S(const VXT_GLOBAL T *in, vxt_i64 nz, vxt_i64 ny, vxt_i64 nx, vxt_i64 zoff,    \
                                          vxt_i64 zcount, float cz, float cy, float cx, int linear, int clamp,         \
                                          float fill)                                                                  \
    {                                                                                                                  \
        if (!linear) {                                                                                                 \
            vxt_i64 iz = 0, iy = 0, ix = 0;                                                                            \
            if (!vxt_affine_axis_nearest(cz, nz, clamp, &iz) || !vxt_affine_axis_nearest(cy, ny, clamp, &iy) ||        \
                !vxt_affine_axis_nearest(cx, nx, clamp, &ix))                                                          \
                return fill;                                                                                           \
            return vxt_aff_v_##S(in, iz, iy, ix, zoff, zcount, ny, nx, fill);                                          \
        }                                                                                                              \
        vxt_i64 z0 = 0, z1 = 0, y0 = 0, y1 = 0, x0 = 0, x1 = 0;                                                        \
        float wz0 = 0.0f, wz1 = 0.0f, wy0 = 0.0f, wy1 = 0.0f, wx0 = 0.0f, wx1 = 0.0f;                                  \
        if (!vxt_affine_axis_linear(cz, nz, clamp, &z0, &z1, &wz0, &wz1) ||                                            \
            !vxt_affine_axis_linear(cy, ny, clamp, &y0, &y1, &wy0, &wy1) ||                                            \
            !vxt_affine_axis_linear(cx, nx, clamp, &x0, &x1, &wx0, &wx1))                                              \
            return fill;                                                                                               \
        float a00 = vxt_lerp2(vxt_aff_v_##S(in, z0, y0, x0, zoff, zcount, ny, nx, fill),                               \
                              vxt_aff_v_##S(in, z0, y0, x1, zoff, zcount, ny, nx, fill), wx0, wx1);                    \
        float a01 = vxt_lerp2(vxt_aff_v_##S(in, z0, y1, x0, zoff, zcount, ny, nx, fill),                               \
                              vxt_aff_v_##S(in, z0, y1, x1, zoff, zcount, ny, nx, fill), wx0, wx1);                    \
        float a10 = vxt_lerp2(vxt_aff_v_##S(in, z1, y0, x0, zoff, zcount, ny, nx, fill),                               \
                              vxt_aff_v_##S(in, z1, y0, x1, zoff, zcount, ny, nx, fill), wx0, wx1);                    \
        float a11 = vxt_lerp2(vxt_aff_v_##S(in, z1, y1, x0, zoff, zcount, ny, nx, fill),                               \
                              vxt_aff_v_##S(in, z1, y1, x1, zoff, zcount, ny, nx, fill), wx0, wx1);                    \
        float a0 = vxt_lerp2(a00, a01, wy0, wy1);                                                                      \
        float a1 = vxt_lerp2(a10, a11, wy0, wy1);                                                                      \
        return vxt_lerp2(a0, a1, wz0, wz1);                                                                            \
    }
VXT_FOR_EACH_INPUT_TYPE(VXT_DEFINE_AFFINE_SAMPLE)

#endif /* VXT_RESAMPLE_H */
