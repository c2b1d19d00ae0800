/* image_internal.h - the vxt_image handle, shared by the sources that make and read images:
 *   host/image/image.c        creation, views, the format-neutral metadata, geometry
 *   host/image/image_io.c     reading and writing by path, whatever the format
 *   host/nifti/nifti_read.c, nifti_write.c, nifti_fields.c   NIfTI files and the NIfTI header fields
 *   host/npy/npy_image.c      .npy arrays as images
 *   host/dicom/dicom_read.c   DICOM series as images
 *   host/geometry/reorient.c  reorientation
 * Not installed. */
#ifndef VXT_IMAGE_INTERNAL_H
#define VXT_IMAGE_INTERNAL_H

#include "nifti_internal.h"

typedef struct vxt__ext {
    int ecode;
    size_t size; /* bytes of content (esize - 8) */
    unsigned char *data;
} vxt__ext;

struct vxt_image {
    void *block;              /* the allocation (freed on destroy) */
    void *data;               /* first voxel (inside block), NULL when there are no voxels */
    size_t bytes;             /* voxel bytes */
    vxt_dtype dtype;          /* of the voxels held */
    vxt_dtype stored_dtype;   /* of the values in the source */
    int64_t channels;
    int64_t shape[3];         /* volume order */
    int64_t volumes;          /* in the source */
    int64_t volume_index;     /* read, or VXT_READ_ALL_VOLUMES */
    vxt_format format;        /* where it came from */
    char *source;             /* its path, "memory" or "" */
    int compressed;
    int scaled;               /* the scaling was applied while reading */
    double scl_slope, scl_inter; /* the intensity scaling, as stored */
    char description[81];
    char *notes;              /* what the reader tolerated or changed (malloc'd), or NULL */
    int has_padding;          /* DICOM pixel padding: the voxels outside the field of view hold padding_value */
    double padding_value;
    vxt_geometry geom;        /* stored and derived fields */
    /* NIfTI: the header fields beyond the ones above (version, byte order, dims of the file, intent, slice timing,
     * calibration, aux file: as read, or a fresh header's for other images), and the extensions */
    vxt__nifti_hdr nifti;
    vxt__ext *ext;
    size_t n_ext;
};

/* A new image with no voxels yet: format NONE, source "", one volume, no scaling, identity geometry for a
 * 1 x 1 x 1 grid, a fresh NIfTI-1 header. */
vxt_status vxt__image_alloc(const char *who, vxt_image **out);
/* Set the image's source (copied); VXT_ERR_OUT_OF_MEMORY. */
vxt_status vxt__image_set_source(vxt_image *img, const char *source);
/* Recompute the derived geometry fields for the image's shape (NIfTI order dims from img->shape). */
void vxt__image_derive_geometry(vxt_image *img);
vxt_status vxt__image_add_ext(const char *who, vxt_image *img, int ecode, const void *data, size_t size);
/* The NIfTI header that writing `img` starts from: its NIfTI fields with the image's geometry, description
 * and scaling. */
void vxt__image_nifti_header(const vxt_image *img, vxt__nifti_hdr *h);

/* The readers' options, checked and completed with the defaults (image_io.c). */
vxt_status vxt__read_options_check(const char *func, const vxt_read_options *opts, vxt_read_options *o);

/* .npy arrays as images (host/npy/npy_image.c): `o` already checked. */
/* vxt_npy_read_info() without the check that the file holds exactly the array's bytes (header-only reads). */
vxt_status vxt__npy_read_header(const char *path, vxt_npy_info *out);
vxt_status vxt__npy_read_image(const char *path, const vxt_read_options *o, vxt_image **out);
vxt_status vxt__npy_write_image(const vxt_image *img, const char *path);

/* DICOM (host/dicom/dicom_api.c): a folder, or a DICOM file, read as vxt_image_read_path() reads it; `o` checked. */
vxt_status vxt__dicom_read_path(const char *path, const vxt_read_options *o, vxt_image **out);

/* ---- staging (host/npy): .npy files written and flushed, not yet in place ---------------------------------- */
struct vxt_npy_writer;
vxt_status vxt__npy_writer_finish(struct vxt_npy_writer *w, vxt__staged *out);
/* The path a writer was opened for. */
const char *vxt__npy_writer_path(const struct vxt_npy_writer *w);
vxt_status vxt__npy_stage(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape, const void *data,
                          vxt__staged *out);
vxt_status vxt__npy_stage_image(const vxt_image *img, const char *path, vxt__staged *out);

#endif /* VXT_IMAGE_INTERNAL_H */
