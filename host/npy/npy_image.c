/* npy_image.c - NumPy .npy arrays as images: (y, x), (z, y, x) or (channels, z, y, x) arrays read with an
 * identity geometry (an .npy file says nothing about where its voxels are), and images written as (z, y, x) or
 * (channels, z, y, x) arrays of their dtype. The .npy reader and writer themselves are npy.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

vxt_status vxt__npy_read_image(const char *path, const vxt_read_options *o, vxt_image **out)
{
    static const char func[] = "vxt_image_read_path";
    vxt_npy_info ni = {.struct_size = sizeof ni};
    vxt_status st = (o->flags & VXT_READ_HEADER_ONLY) ? vxt__npy_read_header(path, &ni)
                                                       : vxt_npy_read_info(path, &ni);
    if (st != VXT_OK)
        return st;
    if (ni.ndim < 2 || ni.ndim > 4)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: '%s' is an array of %d dimension%s; images are (y, x), (z, y, "
                         "x) or (channels, z, y, x)", func, path, ni.ndim, ni.ndim == 1 ? "" : "s");
    const int64_t channels = ni.ndim == 4 ? ni.shape[0] : 1;
    const int64_t shape[3] = {ni.ndim == 2 ? 1 : ni.shape[ni.ndim - 3], ni.shape[ni.ndim - 2], ni.shape[ni.ndim - 1]};
    if (o->volume != VXT_READ_ALL_VOLUMES && o->volume >= channels)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: volume = %lld, but '%s' has %lld channel%s", func,
                         (long long)o->volume, path, (long long)channels, channels == 1 ? "" : "s");
    for (int a = 0; a < 3; a++)
        if (shape[a] < 1 || channels < 1)
            return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: '%s' is an empty array", func, path);
    const int64_t keep = o->volume == VXT_READ_ALL_VOLUMES ? channels : 1;
    const int to_float = o->scaling == VXT_SCALING_FLOAT32 && ni.dtype != VXT_DTYPE_F32;
    const size_t es = vxt_dtype_size(ni.dtype), held = to_float && es < 4 ? 4 : es;
    const uint64_t n = (uint64_t)keep * (uint64_t)(shape[0] * shape[1] * shape[2]);
    if (o->max_bytes && n * held > o->max_bytes)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: '%s' needs %llu bytes, more than max_bytes = %llu", func,
                         path, (unsigned long long)(n * held), (unsigned long long)o->max_bytes);
    vxt_image *img;
    if ((st = vxt__image_alloc(func, &img)) != VXT_OK)
        return st;
    img->format = VXT_FORMAT_NPY;
    img->stored_dtype = ni.dtype;
    img->dtype = to_float ? VXT_DTYPE_F32 : ni.dtype;
    img->channels = keep;
    memcpy(img->shape, shape, sizeof img->shape);
    img->volumes = channels;
    img->volume_index = o->volume;
    img->scl_slope = 0.0; /* no stored scaling */
    vxt__nifti_hdr_default(&img->nifti, img->dtype, keep, shape);
    vxt__image_derive_geometry(img);
    st = vxt__image_set_source(img, path);
    if (st == VXT_OK && !(o->flags & VXT_READ_HEADER_ONLY)) {
        img->bytes = (size_t)n * vxt_dtype_size(img->dtype);
        img->block = vxt__alloc_big((size_t)n * held, 0);
        st = img->block ? VXT_OK
                        : vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu bytes of voxels", func,
                                    (unsigned long long)(n * held));
        uint64_t first = o->volume == VXT_READ_ALL_VOLUMES ? 0 : (uint64_t)o->volume * n;
        if (st == VXT_OK)
            st = vxt_npy_read(path, &ni, first, n, img->block);
        if (st == VXT_OK && to_float)
            vxt__to_float32(img->block, (size_t)n, ni.dtype, 0, 1.0f, 0.0f);
        img->data = img->block;
    }
    if (st != VXT_OK) {
        vxt_image_destroy(img);
        return st;
    }
    *out = img;
    return VXT_OK;
}

vxt_status vxt__npy_stage_image(const vxt_image *img, const char *path, vxt__staged *out)
{
    if (img->data == NULL)
        return vxt__fail(NULL, VXT_ERR_STATE, "vxt_image_write_path: the image was read with VXT_READ_HEADER_ONLY and "
                         "has no voxels to write");
    const int64_t shape[4] = {img->channels, img->shape[0], img->shape[1], img->shape[2]};
    const int one = img->channels == 1;
    /* an .npy file holds values without a scaling: stored values whose scaling was not applied are written as the
     * values they mean, float32 (the reader's VXT_SCALING_FLOAT32 arithmetic) */
    const int applies = !img->scaled && isfinite(img->scl_slope) && img->scl_slope != 0.0 &&
                        (img->scl_slope != 1.0 || img->scl_inter != 0.0);
    if (!applies)
        return vxt__npy_stage(path, img->dtype, one ? 3 : 4, one ? shape + 1 : shape, img->data, out);
    const size_t n = img->bytes / vxt_dtype_size(img->dtype), es = vxt_dtype_size(img->dtype);
    void *values = vxt__alloc_big(n * (es > 4 ? es : 4), 0);
    if (!values)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_image_write_path: out of memory for %zu MiB of scaled values",
                         (n * 4) >> 20);
    memcpy(values, img->data, img->bytes);
    vxt__to_float32(values, n, img->dtype, 1, (float)img->scl_slope,
                    isfinite(img->scl_inter) ? (float)img->scl_inter : 0.0f);
    vxt_status st = vxt__npy_stage(path, VXT_DTYPE_F32, one ? 3 : 4, one ? shape + 1 : shape, values, out);
    free(values);
    return st;
}

vxt_status vxt__npy_write_image(const vxt_image *img, const char *path)
{
    vxt__staged f;
    vxt_status st = vxt__npy_stage_image(img, path, &f);
    if (st != VXT_OK)
        return st;
    st = vxt__staged_commit(path, &f);
    vxt__staged_release(&f);
    return st;
}
