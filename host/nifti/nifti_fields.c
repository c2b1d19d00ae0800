/* nifti_fields.c - NIfTI's own header fields of an image (vxt_nifti_info): what the format says beyond the
 * format-neutral image, the intent, and the header extensions (kept, so that a rewritten file carries them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

vxt_status vxt_nifti_get_info(const vxt_image *img, vxt_nifti_info *info)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_nifti_info", info->struct_size, sizeof *info);
    if (st != VXT_OK)
        return st;
    const vxt__nifti_hdr *h = &img->nifti;
    vxt_nifti_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.nifti_version = h->version;
    r.big_endian = h->big_endian;
    r.single_file = h->single_file;
    r.datatype = h->datatype;
    r.bitpix = h->bitpix;
    memcpy(r.dim, h->dim, sizeof r.dim);
    r.vox_offset = h->vox_offset;
    if (img->format != VXT_FORMAT_NIFTI) { /* where vxt_nifti_write_*() would put the voxels */
        size_t ext = 0;
        for (size_t i = 0; i < img->n_ext; i++)
            ext += vxt__nifti_ext_disk_size(img->ext[i].size);
        r.vox_offset = (int64_t)(vxt__nifti_hdr_size(h->version) + 4 + ext);
    }
    r.cal_min = h->cal_min;
    r.cal_max = h->cal_max;
    r.intent_code = h->intent_code;
    memcpy(r.intent_p, h->intent_p, sizeof r.intent_p);
    vxt__strlcpy(r.intent_name, h->intent_name, sizeof r.intent_name);
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

vxt_status vxt_nifti_set_intent(vxt_image *img, int code, const char *name, const double params[3])
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
    img->nifti.intent_code = code;
    vxt__strlcpy(img->nifti.intent_name, name ? name : "", 16);
    memcpy(img->nifti.intent_p, p, sizeof p);
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

size_t vxt_nifti_extension_count(const vxt_image *img)
{
    return img ? img->n_ext : 0;
}

vxt_status vxt_nifti_get_extension(const vxt_image *img, size_t index, int *ecode, const void **data, size_t *size)
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

vxt_status vxt_nifti_add_extension(vxt_image *img, int ecode, const void *data, size_t size)
{
    VXT_CHECK_NULL(NULL, img);
    if (size > 0)
        VXT_CHECK_NULL(NULL, data);
    return vxt__image_add_ext(__func__, img, ecode, data, size);
}
