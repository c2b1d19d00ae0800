/* image.c - the vxt_image handle: creation (optionally with a reference image's geometry), views, the
 * format-neutral metadata (vxt_image_info) and the geometry. NIfTI's own fields are in host/nifti/nifti_fields.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

vxt_status vxt__image_alloc(const char *who, vxt_image **out)
{
    vxt_image *img = calloc(1, sizeof *img);
    if (img == NULL || !(img->source = strdup(""))) {
        free(img);
        *out = NULL;
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    }
    img->volume_index = VXT_READ_ALL_VOLUMES;
    img->volumes = 1;
    img->channels = 1;
    img->shape[0] = img->shape[1] = img->shape[2] = 1;
    img->format = VXT_FORMAT_NONE;
    img->scl_slope = 1.0;
    vxt__nifti_hdr_default(&img->nifti, VXT_DTYPE_U8, 1, img->shape);
    vxt_geometry_init(&img->geom);
    *out = img;
    return VXT_OK;
}

vxt_status vxt__image_set_source(vxt_image *img, const char *source)
{
    char *s = strdup(source);
    if (!s)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "out of memory");
    free(img->source);
    img->source = s;
    return VXT_OK;
}

void vxt__image_derive_geometry(vxt_image *img)
{
    const int64_t dim[8] = {img->channels > 1 ? 4 : 3, img->shape[2], img->shape[1], img->shape[0],
                            img->channels, 1, 1, 1};
    vxt__geometry_derive(&img->geom, dim);
}

void vxt__image_nifti_header(const vxt_image *img, vxt__nifti_hdr *h)
{
    *h = img->nifti;
    vxt__geometry_to_hdr(&img->geom, h);
    vxt__strlcpy(h->descrip, img->description, sizeof h->descrip); /* all 80 bytes: NIfTI needs no NUL */
    h->scl_slope = img->scaled ? 1.0 : img->scl_slope; /* scaled voxels already hold the values */
    h->scl_inter = img->scaled ? 0.0 : img->scl_inter;
}

void vxt_image_destroy(vxt_image *img)
{
    if (img == NULL)
        return;
    for (size_t i = 0; i < img->n_ext; i++)
        free(img->ext[i].data);
    free(img->ext);
    free(img->block);
    free(img->source);
    free(img->notes);
    free(img);
}

vxt_status vxt_image_volume(const vxt_image *img, vxt_volume *view)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, view);
    if (img->data == NULL)
        return vxt__fail(NULL, VXT_ERR_STATE, "%s: the image was read with VXT_READ_HEADER_ONLY and has no voxels",
                         __func__);
    view->data = img->data;
    view->dtype = img->dtype;
    view->channels = img->channels;
    memcpy(view->shape, img->shape, sizeof view->shape);
    return VXT_OK;
}

vxt_status vxt_image_get_info(const vxt_image *img, vxt_image_info *info)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_image_info", info->struct_size, sizeof *info);
    if (st != VXT_OK)
        return st;
    vxt_image_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.format = img->format;
    r.source = img->source;
    r.compressed = img->compressed;
    r.stored_dtype = img->stored_dtype;
    r.dtype = img->dtype;
    r.channels = img->channels;
    memcpy(r.shape, img->shape, sizeof r.shape);
    r.has_data = img->data != NULL;
    r.volumes = img->volumes;
    r.volume_index = img->volume_index;
    memcpy(r.spacing, img->geom.spacing, sizeof r.spacing);
    memcpy(r.affine, img->geom.affine, sizeof r.affine);
    memcpy(r.orientation, img->geom.orientation, sizeof r.orientation);
    r.scl_slope = img->scl_slope;
    r.scl_inter = img->scl_inter;
    r.scaled = img->scaled;
    vxt__strlcpy(r.description, img->description, sizeof r.description);
    r.notes = img->notes ? img->notes : "";
    r.has_padding = img->has_padding;
    r.padding_value = img->padding_value;
    vxt__copy_out_struct(info, &r, info->struct_size, sizeof r);
    return VXT_OK;
}

vxt_status vxt_image_get_geometry(const vxt_image *img, vxt_geometry *geom)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, geom);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_geometry", geom->struct_size, sizeof *geom);
    if (st != VXT_OK)
        return st;
    vxt__copy_out_struct(geom, &img->geom, geom->struct_size, sizeof img->geom);
    return VXT_OK;
}

vxt_status vxt_image_set_geometry(vxt_image *img, const vxt_geometry *geom)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, geom);
    vxt_status st =
        vxt__check_struct_size(NULL, __func__, "vxt_geometry", geom, geom->struct_size, sizeof *geom, sizeof *geom);
    if (st != VXT_OK)
        return st;
    if ((st = vxt__geometry_check(__func__, geom)) != VXT_OK)
        return st;
    img->geom = *geom; /* the stored fields; the derived ones are recomputed (normalising as when reading) */
    img->geom.struct_size = sizeof img->geom;
    vxt__image_derive_geometry(img);
    return VXT_OK;
}

vxt_status vxt_image_create(vxt_dtype dtype, int64_t channels, const int64_t shape[3], const vxt_image *reference,
                            vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, shape);
    size_t es = vxt_dtype_size(dtype);
    if (es == 0)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: dtype %d is not a known type", __func__, (int)dtype);
    if (channels < 1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: channels = %lld (must be >= 1)", __func__,
                         (long long)channels);
    static const char *axis[3] = {"k", "j", "i"};
    for (int a = 0; a < 3; a++)
        if (shape[a] < 1)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: shape[%d] (%s) = %lld (must be >= 1)", __func__, a,
                             axis[a], (long long)shape[a]);
    size_t bytes = es;
    if (!vxt__mul_size(bytes, (size_t)channels, &bytes) || !vxt__mul_size(bytes, (size_t)shape[0], &bytes) ||
        !vxt__mul_size(bytes, (size_t)shape[1], &bytes) || !vxt__mul_size(bytes, (size_t)shape[2], &bytes) ||
        bytes > (size_t)INT64_MAX)
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: %lld x %lld x %lld x %lld %s voxels overflow 64-bit sizes",
                         __func__, (long long)channels, (long long)shape[0], (long long)shape[1],
                         (long long)shape[2], vxt_dtype_name(dtype));
    if (reference != NULL && memcmp(reference->shape, shape, sizeof reference->shape) != 0)
        return vxt__fail(NULL, VXT_ERR_SHAPE_MISMATCH, "%s: shape (%lld, %lld, %lld) differs from the reference "
                         "image's (%lld, %lld, %lld); derive the geometry of another grid with vxt_geometry_resize()",
                         __func__, (long long)shape[0], (long long)shape[1], (long long)shape[2],
                         (long long)reference->shape[0], (long long)reference->shape[1],
                         (long long)reference->shape[2]);
    vxt_image *img;
    vxt_status st = vxt__image_alloc(__func__, &img);
    if (st != VXT_OK)
        return st;
    img->block = vxt__alloc_big(bytes, 1);
    if (img->block == NULL) {
        vxt_image_destroy(img);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes of voxels", __func__, bytes);
    }
    img->data = img->block;
    img->bytes = bytes;
    img->dtype = img->stored_dtype = dtype;
    img->channels = channels;
    memcpy(img->shape, shape, sizeof img->shape);
    img->volumes = channels;
    vxt__nifti_hdr_default(&img->nifti, dtype, channels, shape);
    vxt__geometry_from_hdr(&img->nifti, &img->geom);
    if (reference != NULL) { /* both forms with their codes, pixdim[0..3], the spatial units; NIfTI-2 stays 2 */
        const vxt_geometry *r = &reference->geom;
        vxt_geometry *g = &img->geom;
        img->nifti.version = reference->nifti.version;
        g->qform_code = r->qform_code;
        g->sform_code = r->sform_code;
        memcpy(g->quatern, r->quatern, sizeof g->quatern);
        memcpy(g->qoffset, r->qoffset, sizeof g->qoffset);
        memcpy(g->srow, r->srow, sizeof g->srow);
        for (int i = 0; i <= 3; i++)
            g->pixdim[i] = r->pixdim[i];
        g->xyzt_units = r->xyzt_units & 0x07;
    }
    vxt__image_derive_geometry(img);
    *out = img;
    return VXT_OK;
}

vxt_status vxt_image_set_description(vxt_image *img, const char *text)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, text);
    vxt__strlcpy(img->description, text, sizeof img->description);
    return VXT_OK;
}

vxt_status vxt_image_set_scaling(vxt_image *img, double slope, double inter)
{
    VXT_CHECK_NULL(NULL, img);
    if (!isfinite(slope) || !isfinite(inter))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: slope = %g, inter = %g (both must be finite)", __func__,
                         slope, inter);
    if (img->scaled)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: the voxels were already scaled while reading; a "
                         "scaling written with them would apply twice", __func__);
    img->scl_slope = slope;
    img->scl_inter = inter;
    return VXT_OK;
}
