/* reorient.c - reorientation to a target orientation code by permuting and flipping voxel axes: exact
 * (voxels are moved, never interpolated), with the geometry updated so that every voxel keeps its world
 * position. */
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

/* World axis (0 = x, 1 = y, 2 = z) and direction of an orientation letter; -1 for other letters. */
static int letter_axis(char c, int *sign)
{
    static const char pos[] = "RAS", neg[] = "LPI";
    for (int a = 0; a < 3; a++) {
        if (c == pos[a] || c == pos[a] + ('a' - 'A')) {
            *sign = 1;
            return a;
        }
        if (c == neg[a] || c == neg[a] + ('a' - 'A')) {
            *sign = -1;
            return a;
        }
    }
    return -1;
}

vxt_status vxt_image_reorient(const vxt_image *img, const char *target, vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, img);
    if (target == NULL)
        target = "RAS";
    int want_axis[3], want_sign[3], seen = 0;
    if (strlen(target) != 3)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: target \"%s\" is not three orientation letters (e.g. "
                         "\"RAS\", \"LPS\")", __func__, target);
    for (int b = 0; b < 3; b++) {
        want_axis[b] = letter_axis(target[b], &want_sign[b]);
        if (want_axis[b] < 0 || (seen & (1 << want_axis[b])))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: target \"%s\" must name each of R/L, A/P and S/I "
                             "once", __func__, target);
        seen |= 1 << want_axis[b];
    }
    if (img->data == NULL)
        return vxt__fail(NULL, VXT_ERR_STATE, "%s: the image was read with VXT_READ_HEADER_ONLY and has no voxels",
                         __func__);
    vxt_geometry g = img->geom;
    int axis[3], sign[3];
    vxt__io_orientation(g.affine, axis, sign);
    for (int a = 0; a < 3; a++)
        if (axis[a] < 0)
            return vxt__fail(NULL, VXT_ERR_STATE, "%s: voxel axis %c has no orientation (its affine column is 0: "
                             "orientation \"%s\")", __func__, "ijk"[a], g.orientation);
    /* new axis b takes old axis perm[b] (the one that follows the wanted world axis) */
    int perm[3], flip[3];
    for (int b = 0; b < 3; b++) {
        for (int a = 0; a < 3; a++)
            if (axis[a] == want_axis[b])
                perm[b] = a;
        flip[b] = sign[perm[b]] != want_sign[b];
    }

    vxt_image *r;
    vxt_status st = vxt__image_alloc(__func__, &r);
    if (st != VXT_OK)
        return st;
    r->block = vxt__alloc_big(img->bytes, 0);
    if (r->block == NULL) {
        vxt_image_destroy(r);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", __func__, img->bytes);
    }
    for (size_t i = 0; i < img->n_ext; i++)
        if ((st = vxt__image_add_ext(__func__, r, img->ext[i].ecode, img->ext[i].data, img->ext[i].size)) != VXT_OK) {
            vxt_image_destroy(r);
            return st;
        }
    r->data = r->block;
    r->bytes = img->bytes;
    r->dtype = img->dtype;
    r->channels = img->channels;
    r->scaled = img->scaled;
    r->compressed = img->compressed;
    r->volumes = img->volumes;
    r->volume_index = img->volume_index;
    r->stored_dtype = img->stored_dtype;
    r->format = img->format;
    r->scl_slope = img->scl_slope;
    r->scl_inter = img->scl_inter;
    memcpy(r->description, img->description, sizeof r->description);
    r->nifti = img->nifti;
    if ((st = vxt__image_set_source(r, img->source)) != VXT_OK) {
        vxt_image_destroy(r);
        return st;
    }

    int64_t old_n[3] = {img->shape[2], img->shape[1], img->shape[0]}; /* NIfTI order */
    int vperm[3], vflip[3]; /* the same permutation in volume order (axis n of a volume is NIfTI axis 2 - n) */
    for (int n = 0; n < 3; n++) {
        vperm[n] = 2 - perm[2 - n];
        vflip[n] = flip[2 - n];
    }
    vxt__volume_move(img->data, r->data, vxt_dtype_size(img->dtype), img->channels, img->shape, vperm, vflip, 0,
                     old_n[perm[2]], 1);

    /* geometry: world(new v) = world(old T v) */
    double t[4][4] = {{0}};
    double pix[3];
    t[3][3] = 1.0;
    for (int b = 0; b < 3; b++) {
        int a = perm[b];
        t[a][b] = flip[b] ? -1.0 : 1.0;
        t[a][3] = flip[b] ? (double)(old_n[a] - 1) : 0.0;
        pix[b] = img->geom.pixdim[a + 1];
    }
    vxt__geometry_transform(&g, t, pix);
    for (int b = 0; b < 3; b++)
        r->nifti.dim[b + 1] = old_n[perm[b]];
    r->shape[0] = r->nifti.dim[3];
    r->shape[1] = r->nifti.dim[2];
    r->shape[2] = r->nifti.dim[1];
    /* dim_info: freq, phase and slice dimensions (2 bits each, 1-based, 0 = unset) follow their axes */
    int di = 0;
    for (int f = 0; f < 3; f++) {
        int d = (img->nifti.dim_info >> (2 * f)) & 3;
        int nd = 0;
        if (d >= 1 && d <= 3)
            for (int b = 0; b < 3; b++)
                if (perm[b] == d - 1)
                    nd = b + 1;
        di |= nd << (2 * f);
    }
    r->nifti.dim_info = di | (img->nifti.dim_info & 0xC0);
    r->geom = g;
    vxt__image_derive_geometry(r);
    *out = r;
    return VXT_OK;
}
