/* dicom_affine.c - where a series' voxels are: the affine in RAS, in dcm2niix's voxel order, and the gantry-tilt
 * correction (dcm2niix's "_Tilt" output). docs/DICOM.md derives both.
 *
 * Voxel (i, j, k) of the image is column i of row R-1-j of the k-th slice sorted along n = r x c (r, c: the row
 * and column directions of ImageOrientationPatient, LPS). With D = diag(-1, -1, 1) (LPS to RAS), dX and dY the
 * spacing between columns and between rows (PixelSpacing[1], [0]), P0 the first slice's ImagePositionPatient and
 * s the mean step from the first slice to the last:
 *
 *     affine = D . [ dX r | -dY c | s | P0 + (R-1) dY c ]
 *
 * which is dcm2niix's sform (it takes s = dz n with dz from the first two slices; the two agree for an evenly
 * spaced, unsheared series). A gantry tilt makes s leave the normal along c: s = a n + b c. Corrected, each slice
 * k moves along j by k b / dY rows (a whole number of rows more is added to hold them), and the affine becomes the
 * orthogonal one with s = a n, as dcm2niix's _Tilt file; for a tilt of the other sign every slice moves by the
 * whole span more, and the origin moves with them (dcm2niix moves it along the wrong axis there). */
#include <math.h>
#include <string.h>

#include "dicom_internal.h"

/* Rows (along +j, i.e. -c) each slice moves by to undo the shear: -b / dY, b the step's part along c. */
static double rows_per_slice(const vxt__dcm_group *G)
{
    double b = 0.0;
    for (int k = 0; k < 3; k++)
        b += G->step[k] * G->c[k];
    return -b / G->spacing[1];
}

/* Extra rows of a corrected tilt. */
static int64_t extra_rows(const vxt__dcm_group *G)
{
    if (!G->correct)
        return 0;
    const double t = fabs(rows_per_slice(G)) * (double)(G->nplanes - 1);
    return (int64_t)ceil(t - 1e-9);
}

void vxt__dcm_out_shape(const vxt__dcm_group *G, int64_t shape[3])
{
    shape[0] = (int64_t)G->nplanes;
    shape[1] = G->rows + extra_rows(G);
    shape[2] = G->cols;
}

void vxt__dcm_affine(vxt__dcm_group *G)
{
    const double dX = G->spacing[2], dY = G->spacing[1];
    const int64_t R = G->rows;
    double col[4][3];
    double s[3];
    memcpy(s, G->step, sizeof s);
    double o[3];
    for (int k = 0; k < 3; k++)
        o[k] = G->origin[k] + (double)(R - 1) * dY * G->c[k];
    if (G->correct) {
        /* the corrected grid: the step's part along c leaves it; when the slices would move towards -j, every
         * slice moves by the whole span more (so that none leaves the grid), and the origin moves along +c by
         * those rows: voxel j of the output is voxel j - span of a grid starting there */
        double along = 0.0;
        for (int k = 0; k < 3; k++)
            along += s[k] * G->normal[k];
        for (int k = 0; k < 3; k++)
            s[k] = along * G->normal[k];
        const double q = rows_per_slice(G);
        if (q < 0) {
            const double shift = -q * (double)(G->nplanes - 1); /* the rows slice 0 moved by */
            for (int k = 0; k < 3; k++)
                o[k] += shift * dY * G->c[k];
        }
    }
    for (int k = 0; k < 3; k++) {
        col[0][k] = dX * G->r[k];
        col[1][k] = -dY * G->c[k];
        col[2][k] = s[k];
        col[3][k] = o[k];
    }
    static const double D[3] = {-1.0, -1.0, 1.0};
    memset(G->affine, 0, sizeof G->affine);
    for (int row = 0; row < 3; row++)
        for (int cc = 0; cc < 4; cc++)
            G->affine[row][cc] = D[row] * col[cc][row];
    G->affine[3][3] = 1.0;
    G->affine_ok = 1;
    vxt_affine_orientation(&G->affine[0][0], G->orientation);
}

/* Slice k of a tilted series moved along j: output row r takes input row r - off, linearly between the two rows
 * around it and rounded to a whole value, as dcm2niix does in float32 (nearest where either row holds the padding
 * value); rows outside the input take `fill`. in: rows x cols, out: out_rows x cols. */
void vxt__dcm_untilt_plane(const vxt__dcm_group *G, int64_t k, const int32_t *in, int32_t *out, int64_t out_rows,
                           int32_t fill, int has_pad, int32_t pad)
{
    const double q = rows_per_slice(G);
    const int64_t R = G->rows, C = G->cols;
    const double first = q < 0 ? -q * (double)(G->nplanes - 1) : 0.0;
    const float off = (float)(q * (double)k + first);
    const float frac_hi = ceilf(off) - off, frac_lo = 1.0f - frac_hi;
    for (int64_t r = 0; r < out_rows; r++) {
        int32_t *o = out + (size_t)r * (size_t)C;
        const float ri = (float)r - off;
        if (!(ri >= 0.0f && ri < (float)R)) {
            for (int64_t x = 0; x < C; x++)
                o[x] = fill;
            continue;
        }
        int64_t lo = (int64_t)floorf(ri), hi = lo + 1 < R ? lo + 1 : lo;
        const int32_t *a = in + (size_t)lo * (size_t)C, *b = in + (size_t)hi * (size_t)C;
        for (int64_t x = 0; x < C; x++) {
            if (has_pad && (a[x] == pad || b[x] == pad))
                o[x] = frac_hi >= 0.5f ? b[x] : a[x];
            else
                o[x] = (int32_t)lroundf((float)a[x] * frac_lo + (float)b[x] * frac_hi);
        }
    }
}
