/* geometry.c - NIfTI geometry: the qform (quaternion) and sform decoded per the NIfTI spec, the choice of
 * the affine in use (as nibabel makes it), orientation codes, and the geometry of transformed and resampled
 * grids.
 *
 * All matrices are 4x4 in NIfTI terms: m[row][col], mapping the column vector (i, j, k, 1) to (x, y, z, 1)
 * in world millimetres (RAS+). */
#include <math.h>
#include <string.h>

#include "nifti_internal.h"

/* ---- small linear algebra ------------------------------------------------------------------------------ */

static double det3(double a[3][3])
{
    return a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
           a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
}

/* Inverse transpose of a 3x3 matrix; 0 when singular. */
static int inv_transpose3(double a[3][3], double out[3][3])
{
    double d = det3(a);
    if (d == 0 || !isfinite(d))
        return 0;
    /* cofactor matrix / det = inverse transpose */
    out[0][0] = (a[1][1] * a[2][2] - a[1][2] * a[2][1]) / d;
    out[0][1] = -(a[1][0] * a[2][2] - a[1][2] * a[2][0]) / d;
    out[0][2] = (a[1][0] * a[2][1] - a[1][1] * a[2][0]) / d;
    out[1][0] = -(a[0][1] * a[2][2] - a[0][2] * a[2][1]) / d;
    out[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / d;
    out[1][2] = -(a[0][0] * a[2][1] - a[0][1] * a[2][0]) / d;
    out[2][0] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / d;
    out[2][1] = -(a[0][0] * a[1][2] - a[0][2] * a[1][0]) / d;
    out[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / d;
    return 1;
}

/* Orthogonal polar factor of a non-singular 3x3 matrix (the closest orthogonal matrix in the Frobenius norm,
 * what nibabel gets from an SVD as P @ Qs): Newton's iteration X <- (X + X^-T) / 2. 0 when singular. */
static int polar3(double a[3][3], double out[3][3])
{
    double x[3][3], y[3][3];
    memcpy(x, a, sizeof x);
    for (int it = 0; it < 100; it++) {
        if (!inv_transpose3(x, y))
            return 0;
        double change = 0;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                double v = 0.5 * (x[r][c] + y[r][c]);
                change += fabs(v - x[r][c]);
                x[r][c] = v;
            }
        if (change < 1e-15)
            break;
    }
    memcpy(out, x, sizeof x);
    return 1;
}

static void mat44_mul(double a[4][4], double b[4][4], double out[4][4])
{
    double r[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += a[i][k] * b[k][j];
            r[i][j] = s;
        }
    memcpy(out, r, sizeof r);
}

/* ---- qform ------------------------------------------------------------------------------------------------ */

/* A voxel size as the affine uses it: nibabel fixes pixdim[1..3] on load (0 -> 1, negative -> absolute). */
static double voxel_size(double p)
{
    if (!isfinite(p) || p == 0)
        return 1.0;
    return fabs(p);
}

void vxt__quatern_to_mat44(const double quatern[3], const double qoffset[3], const double pixdim[4], double m[4][4])
{
    double b = quatern[0], c = quatern[1], d = quatern[2];
    double a = 1.0 - (b * b + c * c + d * d);
    /* a = 0 is a 180 degree rotation. nifti_clib takes a = 0 (after normalising (b, c, d)) already when
     * a^2 < 1e-7, which moves rotations within 0.04 degrees of 180 by up to 6e-4; like nibabel we do so only
     * when b^2 + c^2 + d^2 >= 1, where there is no other choice. */
    if (a <= 0.0) {
        double n = sqrt(b * b + c * c + d * d);
        if (n > 0) {
            b /= n;
            c /= n;
            d /= n;
        }
        a = 0.0;
    } else {
        a = sqrt(a);
    }
    double xd = voxel_size(pixdim[1]), yd = voxel_size(pixdim[2]), zd = voxel_size(pixdim[3]);
    if (pixdim[0] < 0)
        zd = -zd; /* qfac: left-handed */
    m[0][0] = (a * a + b * b - c * c - d * d) * xd;
    m[0][1] = 2.0 * (b * c - a * d) * yd;
    m[0][2] = 2.0 * (b * d + a * c) * zd;
    m[1][0] = 2.0 * (b * c + a * d) * xd;
    m[1][1] = (a * a + c * c - b * b - d * d) * yd;
    m[1][2] = 2.0 * (c * d - a * b) * zd;
    m[2][0] = 2.0 * (b * d - a * c) * xd;
    m[2][1] = 2.0 * (c * d + a * b) * yd;
    m[2][2] = (a * a + d * d - c * c - b * b) * zd;
    m[0][3] = qoffset[0];
    m[1][3] = qoffset[1];
    m[2][3] = qoffset[2];
    m[3][0] = m[3][1] = m[3][2] = 0.0;
    m[3][3] = 1.0;
}

int vxt__mat44_to_quatern(double m[4][4], double quatern[3], double qoffset[3], double pixdim[4])
{
    double r[3][3];
    double zoom[3];
    for (int c = 0; c < 3; c++) {
        zoom[c] = sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
        if (!(zoom[c] > 0) || !isfinite(zoom[c]))
            return 0;
        for (int row = 0; row < 3; row++)
            r[row][c] = m[row][c] / zoom[c];
    }
    double p[3][3];
    if (!polar3(r, p))
        return 0;
    double qfac = 1.0;
    if (det3(p) <= 0) {
        qfac = -1.0;
        for (int row = 0; row < 3; row++)
            p[row][2] = -p[row][2];
    }
    double r11 = p[0][0], r12 = p[0][1], r13 = p[0][2];
    double r21 = p[1][0], r22 = p[1][1], r23 = p[1][2];
    double r31 = p[2][0], r32 = p[2][1], r33 = p[2][2];
    double a = r11 + r22 + r33 + 1.0, b, c, d;
    if (a > 0.5) { /* simplest case (nifti_mat44_to_quatern) */
        a = 0.5 * sqrt(a);
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        double xd = 1.0 + r11 - (r22 + r33), yd = 1.0 + r22 - (r11 + r33), zd = 1.0 + r33 - (r11 + r22);
        if (xd > 1.0) {
            b = 0.5 * sqrt(xd);
            c = 0.25 * (r12 + r21) / b;
            d = 0.25 * (r13 + r31) / b;
            a = 0.25 * (r32 - r23) / b;
        } else if (yd > 1.0) {
            c = 0.5 * sqrt(yd);
            b = 0.25 * (r12 + r21) / c;
            d = 0.25 * (r23 + r32) / c;
            a = 0.25 * (r13 - r31) / c;
        } else {
            d = 0.5 * sqrt(zd);
            b = 0.25 * (r13 + r31) / d;
            c = 0.25 * (r23 + r32) / d;
            a = 0.25 * (r21 - r12) / d;
        }
        if (a < 0.0) {
            b = -b;
            c = -c;
            d = -d;
        }
    }
    quatern[0] = b;
    quatern[1] = c;
    quatern[2] = d;
    for (int i = 0; i < 3; i++)
        qoffset[i] = m[i][3];
    pixdim[0] = qfac;
    for (int i = 0; i < 3; i++)
        pixdim[i + 1] = zoom[i];
    return 1;
}

/* ---- orientation --------------------------------------------------------------------------------------- */

void vxt__io_orientation(double affine[4][4], int axis[3], int sign[3])
{
    double rs[3][3], r[3][3];
    for (int c = 0; c < 3; c++) {
        double z = sqrt(affine[0][c] * affine[0][c] + affine[1][c] * affine[1][c] + affine[2][c] * affine[2][c]);
        if (!(z > 0) || !isfinite(z))
            z = 1.0; /* a zero column stays zero */
        for (int row = 0; row < 3; row++)
            rs[row][c] = affine[row][c] / z;
    }
    /* nibabel: the closest shearless matrix (polar decomposition); a singular one is used as it is */
    if (!polar3(rs, r))
        memcpy(r, rs, sizeof r);
    for (int in = 0; in < 3; in++) {
        int best = -1;
        double bestv = 0;
        for (int row = 0; row < 3; row++) {
            double v = fabs(r[row][in]);
            if (isfinite(v) && v > 1e-8 && v > bestv) { /* np.allclose(col, 0) uses atol 1e-8 */
                bestv = v;
                best = row;
            }
        }
        axis[in] = best;
        sign[in] = 1;
        if (best < 0)
            continue;
        sign[in] = r[best][in] < 0 ? -1 : 1;
        for (int c = 0; c < 3; c++)
            r[best][c] = 0; /* each world axis is used once */
    }
}

static void orientation_code(double affine[4][4], char code[4])
{
    static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
    int axis[3], sign[3];
    vxt__io_orientation(affine, axis, sign);
    for (int i = 0; i < 3; i++)
        code[i] = axis[i] < 0 ? '?' : (sign[i] > 0 ? pos[axis[i]] : neg[axis[i]]);
    code[3] = '\0';
}

vxt_status vxt_affine_orientation(const double *affine, char code[4])
{
    VXT_CHECK_NULL(NULL, affine);
    VXT_CHECK_NULL(NULL, code);
    double m[4][4];
    memcpy(m, affine, sizeof m);
    orientation_code(m, code);
    return VXT_OK;
}

/* ---- derived fields ------------------------------------------------------------------------------------ */

static int code_in_use(int code)
{
    return code >= 1 && code <= 5; /* nibabel sets codes outside 0..5 to 0 when it loads a header */
}

/* nibabel's fallback (AnalyzeHeader.get_base_affine): voxel sizes on the diagonal, x flipped, the volume's
 * centre at the origin; dimensions beyond dim[0] count as 1 voxel of size 1. */
static void fallback_affine(const double pixdim[8], const int64_t dim[8], double m[4][4])
{
    memset(m, 0, 16 * sizeof(double));
    int nd = (int)dim[0];
    for (int a = 0; a < 3; a++) {
        double z = a + 1 <= nd ? voxel_size(pixdim[a + 1]) : 1.0;
        double n = a + 1 <= nd ? (double)dim[a + 1] : 1.0;
        if (a == 0)
            z = -z;
        m[a][a] = z;
        m[a][3] = -((n - 1.0) / 2.0) * z;
    }
    m[3][3] = 1.0;
}

void vxt__geometry_derive(vxt_geometry *g, const int64_t dim[8])
{
    vxt__quatern_to_mat44(g->quatern, g->qoffset, g->pixdim, g->qform);
    memset(g->sform, 0, sizeof g->sform);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            g->sform[r][c] = g->srow[r][c];
    g->sform[3][3] = 1.0;
    if (code_in_use(g->sform_code)) {
        memcpy(g->affine, g->sform, sizeof g->affine);
        g->affine_source = VXT_AFFINE_SFORM;
    } else if (code_in_use(g->qform_code)) {
        memcpy(g->affine, g->qform, sizeof g->affine);
        g->affine_source = VXT_AFFINE_QFORM;
    } else {
        fallback_affine(g->pixdim, dim, g->affine);
        g->affine_source = VXT_AFFINE_FALLBACK;
    }
    for (int c = 0; c < 3; c++)
        g->spacing[2 - c] = sqrt(g->affine[0][c] * g->affine[0][c] + g->affine[1][c] * g->affine[1][c] +
                                 g->affine[2][c] * g->affine[2][c]);
    orientation_code(g->affine, g->orientation);
}

void vxt__geometry_from_hdr(const vxt__nifti_hdr *h, vxt_geometry *g)
{
    memset(g, 0, sizeof *g);
    g->struct_size = sizeof *g;
    g->qform_code = h->qform_code;
    g->sform_code = h->sform_code;
    memcpy(g->quatern, h->quatern, sizeof g->quatern);
    memcpy(g->qoffset, h->qoffset, sizeof g->qoffset);
    memcpy(g->pixdim, h->pixdim, sizeof g->pixdim);
    memcpy(g->srow, h->srow, sizeof g->srow);
    g->xyzt_units = h->xyzt_units;
    vxt__geometry_derive(g, h->dim);
}

void vxt__geometry_to_hdr(const vxt_geometry *g, vxt__nifti_hdr *h)
{
    h->qform_code = g->qform_code;
    h->sform_code = g->sform_code;
    memcpy(h->quatern, g->quatern, sizeof h->quatern);
    memcpy(h->qoffset, g->qoffset, sizeof h->qoffset);
    memcpy(h->pixdim, g->pixdim, sizeof h->pixdim);
    memcpy(h->srow, g->srow, sizeof h->srow);
    h->xyzt_units = g->xyzt_units;
}

vxt_status vxt__geometry_check(const char *who, const vxt_geometry *g)
{
    if (g->qform_code < 0 || g->qform_code > 5)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: qform_code = %d (must be 0..5)", who, g->qform_code);
    if (g->sform_code < 0 || g->sform_code > 5)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: sform_code = %d (must be 0..5)", who, g->sform_code);
    static const char *qn[3] = {"quatern_b", "quatern_c", "quatern_d"};
    static const char *on[3] = {"qoffset_x", "qoffset_y", "qoffset_z"};
    static const char *rn[3] = {"srow_x", "srow_y", "srow_z"};
    for (int i = 0; i < 3; i++) {
        if (!isfinite(g->quatern[i]))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s = %g (must be finite)", who, qn[i], g->quatern[i]);
        if (!isfinite(g->qoffset[i]))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s = %g (must be finite)", who, on[i], g->qoffset[i]);
        for (int c = 0; c < 4; c++)
            if (!isfinite(g->srow[i][c]))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s[%d] = %g (must be finite)", who, rn[i], c,
                                 g->srow[i][c]);
    }
    for (int i = 0; i < 8; i++)
        if (!isfinite(g->pixdim[i]))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: pixdim[%d] = %g (must be finite)", who, i,
                             g->pixdim[i]);
    if (g->xyzt_units < 0 || g->xyzt_units > 255)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: xyzt_units = %d (must be 0..255)", who, g->xyzt_units);
    return VXT_OK;
}

void vxt__geometry_transform(vxt_geometry *g, double t[4][4], const double *new_pixdim)
{
    if (!code_in_use(g->sform_code) && !code_in_use(g->qform_code)) {
        /* only the fallback located the voxels: keep that placement explicitly, as nibabel stores an affine
         * without a code (sform, code 2 "aligned") */
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                g->srow[r][c] = g->affine[r][c];
        g->sform_code = VXT_NIFTI_XFORM_ALIGNED_ANAT;
    }
    double s[4][4];
    memcpy(s, g->sform, sizeof s);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            s[r][c] = g->srow[r][c];
    s[3][0] = s[3][1] = s[3][2] = 0.0;
    s[3][3] = 1.0;
    mat44_mul(s, t, s);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            g->srow[r][c] = s[r][c];
    if (code_in_use(g->qform_code)) {
        double q[4][4], pix[4];
        vxt__quatern_to_mat44(g->quatern, g->qoffset, g->pixdim, q);
        mat44_mul(q, t, q);
        if (vxt__mat44_to_quatern(q, g->quatern, g->qoffset, pix))
            g->pixdim[0] = pix[0];
    }
    if (new_pixdim)
        for (int i = 0; i < 3; i++)
            g->pixdim[i + 1] = new_pixdim[i];
}

/* ---- public helpers -------------------------------------------------------------------------------------- */

static const int64_t unit_dims[8] = {3, 1, 1, 1, 1, 1, 1, 1};

void vxt_geometry_init(vxt_geometry *geom)
{
    if (geom == NULL)
        return;
    memset(geom, 0, sizeof *geom);
    geom->struct_size = sizeof *geom;
    for (int i = 0; i < 8; i++)
        geom->pixdim[i] = 1.0;
    for (int r = 0; r < 3; r++)
        geom->srow[r][r] = 1.0;
    vxt__geometry_derive(geom, unit_dims);
}

/* Geometries are in/out value structs: inputs are checked like options, outputs like info structs. */
static vxt_status check_in(const char *func, const vxt_geometry *g)
{
    return vxt__check_struct_size(NULL, func, "vxt_geometry", g, g->struct_size, sizeof *g, sizeof *g);
}

static vxt_status check_out(const char *func, const vxt_geometry *g)
{
    return vxt__check_out_struct(NULL, func, "vxt_geometry", g->struct_size, sizeof *g);
}

vxt_status vxt_geometry_from_affine(const double *affine_rows, int code, vxt_geometry *out)
{
    VXT_CHECK_NULL(NULL, affine_rows);
    VXT_CHECK_NULL(NULL, out);
    double affine[4][4];
    memcpy(affine, affine_rows, sizeof affine);
    vxt_status st = check_out(__func__, out);
    if (st != VXT_OK)
        return st;
    if (code < 1 || code > 5)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: code = %d (must be an xform code 1..5)", __func__, code);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            if (!isfinite(affine[r][c]))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: affine[%d][%d] = %g (must be finite)", __func__,
                                 r, c, affine[r][c]);
    if (affine[3][0] != 0 || affine[3][1] != 0 || affine[3][2] != 0 || affine[3][3] != 1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: the last row is (%g, %g, %g, %g), not (0, 0, 0, 1)",
                         __func__, affine[3][0], affine[3][1], affine[3][2], affine[3][3]);
    vxt_geometry g;
    vxt_geometry_init(&g);
    double pix[4];
    if (!vxt__mat44_to_quatern(affine, g.quatern, g.qoffset, pix))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: the affine's 3x3 part is singular (a zero column or "
                         "linearly dependent columns)", __func__);
    for (int i = 0; i < 4; i++)
        g.pixdim[i] = pix[i];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            g.srow[r][c] = affine[r][c];
    g.qform_code = code;
    g.sform_code = code;
    g.xyzt_units = VXT_NIFTI_UNITS_MM;
    vxt__geometry_derive(&g, unit_dims);
    vxt__copy_out_struct(out, &g, out->struct_size, sizeof g);
    return VXT_OK;
}

static vxt_status check_shape(const char *func, const char *what, const int64_t shape[3], int64_t dim[8])
{
    static const char *axis[3] = {"k", "j", "i"};
    for (int a = 0; a < 3; a++)
        if (shape[a] < 1)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s[%d] (%s) = %lld (must be >= 1)", func, what, a,
                             axis[a], (long long)shape[a]);
    dim[0] = 3;
    dim[1] = shape[2];
    dim[2] = shape[1];
    dim[3] = shape[0];
    for (int i = 4; i < 8; i++)
        dim[i] = 1;
    return VXT_OK;
}

/* Copy the stored fields, re-derive for `dim`, check. */
static vxt_status prepare(const char *func, const vxt_geometry *in, const int64_t dim[8], vxt_geometry *g)
{
    vxt_geometry_init(g);
    g->qform_code = in->qform_code;
    g->sform_code = in->sform_code;
    memcpy(g->quatern, in->quatern, sizeof g->quatern);
    memcpy(g->qoffset, in->qoffset, sizeof g->qoffset);
    memcpy(g->pixdim, in->pixdim, sizeof g->pixdim);
    memcpy(g->srow, in->srow, sizeof g->srow);
    g->xyzt_units = in->xyzt_units;
    vxt_status st = vxt__geometry_check(func, g);
    if (st != VXT_OK)
        return st;
    vxt__geometry_derive(g, dim);
    return VXT_OK;
}

vxt_status vxt_geometry_resize(const vxt_geometry *in, const int64_t in_shape[3], const int64_t out_shape[3],
                               vxt_grid_align align, vxt_geometry *out)
{
    VXT_CHECK_NULL(NULL, in);
    VXT_CHECK_NULL(NULL, in_shape);
    VXT_CHECK_NULL(NULL, out_shape);
    VXT_CHECK_NULL(NULL, out);
    vxt_status st;
    if ((st = check_in(__func__, in)) != VXT_OK || (st = check_out(__func__, out)) != VXT_OK)
        return st;
    if (align != VXT_ALIGN_HALF_PIXEL && align != VXT_ALIGN_CORNERS)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: align = %d (must be VXT_ALIGN_HALF_PIXEL or "
                         "VXT_ALIGN_CORNERS)", __func__, (int)align);
    int64_t din[8], dout[8];
    if ((st = check_shape(__func__, "in_shape", in_shape, din)) != VXT_OK ||
        (st = check_shape(__func__, "out_shape", out_shape, dout)) != VXT_OK)
        return st;
    vxt_geometry g;
    if ((st = prepare(__func__, in, din, &g)) != VXT_OK)
        return st;
    double t[4][4] = {{0}};
    double pix[3];
    t[3][3] = 1.0;
    for (int a = 0; a < 3; a++) { /* NIfTI axis a is volume axis 2 - a */
        double n_in = (double)in_shape[2 - a], n_out = (double)out_shape[2 - a];
        double s, off;
        if (align == VXT_ALIGN_HALF_PIXEL || n_out == 1) {
            s = n_in / n_out;
            off = align == VXT_ALIGN_HALF_PIXEL ? 0.5 * s - 0.5 : 0.0;
        } else {
            if (n_in == 1)
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: VXT_ALIGN_CORNERS cannot spread axis %d (%c) of "
                                 "1 voxel over %lld voxels: they would all sit on one point", __func__, 2 - a,
                                 "ijk"[a], (long long)out_shape[2 - a]);
            s = (n_in - 1.0) / (n_out - 1.0);
            off = 0.0;
        }
        t[a][a] = s;
        t[a][3] = off;
        pix[a] = voxel_size(g.pixdim[a + 1]) * s;
    }
    vxt__geometry_transform(&g, t, pix);
    vxt__geometry_derive(&g, dout);
    vxt__copy_out_struct(out, &g, out->struct_size, sizeof g);
    return VXT_OK;
}

vxt_status vxt_geometry_respace(const vxt_geometry *in, const int64_t in_shape[3], const double spacing[3],
                                vxt_geometry *out)
{
    VXT_CHECK_NULL(NULL, in);
    VXT_CHECK_NULL(NULL, in_shape);
    VXT_CHECK_NULL(NULL, spacing);
    VXT_CHECK_NULL(NULL, out);
    vxt_status st;
    if ((st = check_in(__func__, in)) != VXT_OK || (st = check_out(__func__, out)) != VXT_OK)
        return st;
    int64_t din[8];
    if ((st = check_shape(__func__, "in_shape", in_shape, din)) != VXT_OK)
        return st;
    for (int a = 0; a < 3; a++)
        if (!isfinite(spacing[a]) || !(spacing[a] > 0))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: spacing[%d] = %g (must be finite and > 0)", __func__,
                             a, spacing[a]);
    vxt_geometry g;
    if ((st = prepare(__func__, in, din, &g)) != VXT_OK)
        return st;
    double t[4][4] = {{0}};
    double pix[3];
    t[3][3] = 1.0;
    for (int a = 0; a < 3; a++) {
        double len = g.spacing[2 - a];
        if (!(len > 0))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: column %d of the affine in use has length 0: axis "
                             "%c has no spacing to change", __func__, a, "ijk"[a]);
        t[a][a] = spacing[2 - a] / len;
        pix[a] = spacing[2 - a];
    }
    vxt__geometry_transform(&g, t, pix);
    vxt__geometry_derive(&g, din);
    vxt__copy_out_struct(out, &g, out->struct_size, sizeof g);
    return VXT_OK;
}
