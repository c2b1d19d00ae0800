/* image.c - the vxt_image handle: creation (optionally with a reference image's geometry), views, metadata,
 * geometry and header extensions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nifti_internal.h"

vxt_status vxt__image_alloc(const char *who, vxt_image **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    (*out)->volume_index = VXT_NIFTI_ALL_VOLUMES;
    (*out)->volumes = 1;
    return VXT_OK;
}

void vxt__image_sync_geometry(vxt_image *img)
{
    vxt__geometry_from_hdr(&img->hdr, &img->geom);
}

void vxt_image_destroy(vxt_image *img)
{
    if (img == NULL)
        return;
    for (size_t i = 0; i < img->n_ext; i++)
        free(img->ext[i].data);
    free(img->ext);
    free(img->block);
    free(img);
}

vxt_status vxt_image_volume(const vxt_image *img, vxt_volume *view)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, view);
    if (img->data == NULL)
        return vxt__fail(NULL, VXT_ERR_STATE, "%s: the image was read with VXT_NIFTI_HEADER_ONLY and has no voxels",
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
    const vxt__nifti_hdr *h = &img->hdr;
    vxt_image_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.nifti_version = h->version;
    r.big_endian = h->big_endian;
    r.compressed = img->compressed;
    r.single_file = h->single_file;
    r.datatype = h->datatype;
    r.bitpix = h->bitpix;
    r.stored_dtype = vxt__nifti_dtype(h->datatype);
    r.dtype = img->dtype;
    r.scaled = img->scaled;
    memcpy(r.dim, h->dim, sizeof r.dim);
    r.channels = img->channels;
    memcpy(r.shape, img->shape, sizeof r.shape);
    r.volumes = img->volumes;
    r.volume_index = img->volume_index;
    r.has_data = img->data != NULL;
    r.vox_offset = h->vox_offset;
    r.scl_slope = h->scl_slope;
    r.scl_inter = h->scl_inter;
    r.cal_min = h->cal_min;
    r.cal_max = h->cal_max;
    r.intent_code = h->intent_code;
    memcpy(r.intent_p, h->intent_p, sizeof r.intent_p);
    vxt__strlcpy(r.intent_name, h->intent_name, sizeof r.intent_name);
    vxt__strlcpy(r.descrip, h->descrip, sizeof r.descrip);
    vxt__strlcpy(r.aux_file, h->aux_file, sizeof r.aux_file);
    r.dim_info = h->dim_info;
    r.slice_code = h->slice_code;
    r.slice_start = h->slice_start;
    r.slice_end = h->slice_end;
    r.slice_duration = h->slice_duration;
    r.toffset = h->toffset;
    r.extension_count = img->n_ext;
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
    vxt__geometry_to_hdr(geom, &img->hdr);
    vxt__image_sync_geometry(img);
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
    if (vxt__nifti_datatype(dtype) == 0)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: dtype %s has no NIfTI datatype", __func__,
                         vxt_dtype_name(dtype));
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
    img->dtype = dtype;
    img->channels = channels;
    memcpy(img->shape, shape, sizeof img->shape);
    img->volumes = channels;
    vxt__nifti_hdr_default(&img->hdr, dtype, channels, shape);
    if (reference != NULL) {
        const vxt__nifti_hdr *r = &reference->hdr;
        vxt__nifti_hdr *h = &img->hdr;
        h->version = r->version;
        h->qform_code = r->qform_code;
        h->sform_code = r->sform_code;
        memcpy(h->quatern, r->quatern, sizeof h->quatern);
        memcpy(h->qoffset, r->qoffset, sizeof h->qoffset);
        memcpy(h->srow, r->srow, sizeof h->srow);
        for (int i = 0; i <= 3; i++)
            h->pixdim[i] = r->pixdim[i];
        h->xyzt_units = r->xyzt_units & 0x07;
    }
    vxt__image_sync_geometry(img);
    *out = img;
    return VXT_OK;
}

vxt_status vxt_image_set_description(vxt_image *img, const char *text)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, text);
    vxt__strlcpy(img->hdr.descrip, text, 80);
    return VXT_OK;
}

vxt_status vxt_image_set_intent(vxt_image *img, int code, const char *name, const double params[3])
{
    VXT_CHECK_NULL(NULL, img);
    if (code < INT16_MIN || code > INT16_MAX)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: code = %d (must fit a NIfTI-1 intent_code, "
                         "-32768..32767)", __func__, code);
    double p[3] = {0, 0, 0};
    if (params != NULL) {
        for (int i = 0; i < 3; i++) {
            if (!isfinite(params[i]))
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: params[%d] = %g (must be finite)", __func__, i,
                                 params[i]);
            p[i] = params[i];
        }
    }
    img->hdr.intent_code = code;
    vxt__strlcpy(img->hdr.intent_name, name ? name : "", 16);
    memcpy(img->hdr.intent_p, p, sizeof p);
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
    img->hdr.scl_slope = slope;
    img->hdr.scl_inter = inter;
    return VXT_OK;
}

/* ---- extensions ---------------------------------------------------------------------------------------- */

#define VXT__EXT_MAX ((size_t)INT32_MAX - 32)

vxt_status vxt__image_add_ext(const char *who, vxt_image *img, int ecode, const void *data, size_t size)
{
    if (size > VXT__EXT_MAX)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: extension of %zu bytes (at most %zu fit esize)", who,
                         size, VXT__EXT_MAX);
    vxt__ext *grown = realloc(img->ext, (img->n_ext + 1) * sizeof *grown);
    if (grown == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    img->ext = grown;
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for an extension of %zu bytes", who, size);
    if (size)
        memcpy(copy, data, size);
    img->ext[img->n_ext].ecode = ecode;
    img->ext[img->n_ext].size = size;
    img->ext[img->n_ext].data = copy;
    img->n_ext++;
    return VXT_OK;
}

size_t vxt_image_extension_count(const vxt_image *img)
{
    return img ? img->n_ext : 0;
}

vxt_status vxt_image_get_extension(const vxt_image *img, size_t index, int *ecode, const void **data, size_t *size)
{
    VXT_CHECK_NULL(NULL, img);
    if (index >= img->n_ext)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: index = %zu (the image has %zu extensions)", __func__,
                         index, img->n_ext);
    if (ecode)
        *ecode = img->ext[index].ecode;
    if (data)
        *data = img->ext[index].data;
    if (size)
        *size = img->ext[index].size;
    return VXT_OK;
}

vxt_status vxt_image_add_extension(vxt_image *img, int ecode, const void *data, size_t size)
{
    VXT_CHECK_NULL(NULL, img);
    if (size > 0)
        VXT_CHECK_NULL(NULL, data);
    return vxt__image_add_ext(__func__, img, ecode, data, size);
}
