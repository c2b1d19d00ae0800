/*
 * nifti_internal.h - declarations shared by the NIfTI I/O and geometry sources in host/. Not installed.
 *
 * The layers, bottom up:
 *   gzip_stream.c   gzip decompression as a stream (zlib; multi-member; from memory or a file descriptor),
 *                   whole-buffer decompression (libdeflate), gzip compression as a stream (zlib)
 *   nifti_source.c  a sequential byte source over memory, a file, or either of them gzip-compressed
 *   nifti_header.c  NIfTI-1/NIfTI-2 header decoding, validation and encoding
 *   nifti_convert.c byte swapping and the float32 scaling of voxel values, in place
 *   geometry.c      qform/sform decoding, affine selection, orientation, resampled-grid geometry
 *   nifti_read.c    reading (files, pairs, memory), nifti_write.c writing (atomic files, memory)
 *   reorient.c      reorientation by axis permutation and flips
 */
#ifndef VXT_NIFTI_INTERNAL_H
#define VXT_NIFTI_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

/* ---- NIfTI constants -------------------------------------------------------------------------------- */

enum {
    VXT__DT_BINARY = 1,
    VXT__DT_UINT8 = 2,
    VXT__DT_INT16 = 4,
    VXT__DT_INT32 = 8,
    VXT__DT_FLOAT32 = 16,
    VXT__DT_COMPLEX64 = 32,
    VXT__DT_FLOAT64 = 64,
    VXT__DT_RGB24 = 128,
    VXT__DT_INT8 = 256,
    VXT__DT_UINT16 = 512,
    VXT__DT_UINT32 = 768,
    VXT__DT_INT64 = 1024,
    VXT__DT_UINT64 = 1280,
    VXT__DT_FLOAT128 = 1536,
    VXT__DT_COMPLEX128 = 1792,
    VXT__DT_COMPLEX256 = 2048,
    VXT__DT_RGBA32 = 2304
};

#define VXT__NIFTI1_HDR 348
#define VXT__NIFTI2_HDR 540
#define VXT__NIFTI_MAX_HDR 540
/* The largest possible expansion of a deflate stream (a run of one byte costs about 1/1032 of a byte). */
#define VXT__DEFLATE_MAX_RATIO 1032u

/* ---- decoded header ---------------------------------------------------------------------------------- */

/* A NIfTI header with every field widened to int64/double (NIfTI-1 values convert exactly). Strings are
 * NUL-terminated copies of the fixed-size fields. */
typedef struct vxt__nifti_hdr {
    int version;     /* 1 or 2 */
    int big_endian;  /* the file's byte order */
    int single_file; /* magic n+1 / n+2 */
    int64_t dim[8];
    double intent_p[3];
    int intent_code;
    int datatype;
    int bitpix;
    int64_t slice_start, slice_end;
    double pixdim[8];
    double vox_offset_raw; /* as stored */
    int64_t vox_offset;    /* as used (NIfTI-1's float truncated) */
    double scl_slope, scl_inter, cal_max, cal_min, slice_duration, toffset;
    int slice_code, xyzt_units, dim_info;
    char descrip[81], aux_file[25], intent_name[17];
    int qform_code, sform_code;
    double quatern[3], qoffset[3];
    double srow[3][4];
    unsigned char extender[4]; /* the 4 bytes after the header; extender[0] != 0: extensions follow */
} vxt__nifti_hdr;

/* Facts derived from a validated header. */
typedef struct vxt__nifti_layout {
    vxt_dtype dtype;
    size_t elem;          /* bytes per stored value */
    uint64_t vol_voxels;  /* dim[1]*dim[2]*dim[3] (1 for missing dimensions) */
    uint64_t volumes;     /* product of dim[4..dim[0]] */
    uint64_t data_bytes;  /* all volumes */
    uint64_t end;         /* vox_offset + data_bytes */
} vxt__nifti_layout;

/* Decode and validate a header from the first `n` bytes of a file (n may be less than 540: a NIfTI-1 header
 * needs 348). `who` prefixes messages ("vxt_image_read_file: 'a.nii'"). Checks sizeof_hdr (and so the byte
 * order), magic, dim, datatype, bitpix, vox_offset and the size products. */
vxt_status vxt__nifti_decode(const unsigned char *buf, size_t n, const char *who, vxt__nifti_hdr *h,
                             vxt__nifti_layout *layout);

/* Encode a header in the host's byte order (348 or 540 bytes, per h->version) followed by the 4-byte
 * extender; returns the number of bytes written to out (352 or 544). Values must already fit. */
size_t vxt__nifti_encode(const vxt__nifti_hdr *h, unsigned char out[VXT__NIFTI_MAX_HDR + 4]);

/* Header size (348/540) for a version. */
size_t vxt__nifti_hdr_size(int version);
/* Bytes an extension with `content` bytes takes in the file: 8 bytes of esize/ecode, padded to 16. */
static inline size_t vxt__nifti_ext_disk_size(size_t content)
{
    return (8 + content + 15) / 16 * 16;
}

/* NIfTI datatype <-> vxt_dtype (VXT_DTYPE_INVALID / 0 when there is none). */
vxt_dtype vxt__nifti_dtype(int datatype);
int vxt__nifti_datatype(vxt_dtype dtype);

/* A fresh header: NIfTI-1, single file, dims from channels/shape, identity geometry, slope 1, inter 0. */
void vxt__nifti_hdr_default(vxt__nifti_hdr *h, vxt_dtype dtype, int64_t channels, const int64_t shape[3]);

/* ---- gzip ------------------------------------------------------------------------------------------- */

/* A gzip stream being decompressed, from memory or from a file descriptor. Concatenated members are read as
 * one stream (as gzip -d does); bytes after a member that do not start another member end the stream and
 * are ignored (gzip's "trailing garbage"). */
typedef struct vxt__gz vxt__gz;

vxt_status vxt__gz_open_mem(const char *who, const void *data, size_t size, vxt__gz **out);
vxt_status vxt__gz_open_fd(const char *who, int fd, uint64_t offset, uint64_t size, vxt__gz **out);
/* Read up to n bytes; *got < n only at the end of the stream. Corrupt data: VXT_ERR_FORMAT; a stream that
 * ends inside a member: VXT_ERR_TRUNCATED. */
vxt_status vxt__gz_read(vxt__gz *gz, void *dst, size_t n, size_t *got);
/* Decompress (and discard) the rest of the stream so that every member's CRC-32 and length are checked; but no
 * more than max_tail bytes of it (VXT_ERR_FORMAT naming `who`): decompression stops soon after what a header
 * declared, so that a small file cannot make the reader inflate gigabytes it does not keep. */
vxt_status vxt__gz_finish(vxt__gz *gz, uint64_t max_tail, const char *who);
/* What the NIfTI reader lets a stream hold after the voxels its header declares. */
#define VXT__GZ_MAX_TAIL ((uint64_t)1 << 20)
void vxt__gz_close(vxt__gz *gz);
/* 1 when p starts with the gzip magic bytes. */
int vxt__gz_magic(const void *p, size_t n);

/* Whole-buffer decompression with libdeflate: decompresses the members of in[0..in_size) one after another
 * into out[0..cap) until `want` bytes are there or no member follows. *got = bytes produced. Returns 1 on
 * success, 0 when a member is corrupt, truncated or does not fit in `cap`: the caller then reads the stream
 * with zlib, which says which (no message is set here). */
int vxt__gunzip_whole(const void *in, size_t in_size, void *out, size_t cap, size_t want, size_t *got);

/* A single-member gzip stream of `head` (as stored blocks) followed by `body` compressed by libdeflate at
 * `level` (0..12), in a new malloc'd buffer. The body is not copied; libdeflate runs over it whole. */
vxt_status vxt__gzip_pack(const char *who, int level, const void *head, size_t head_size, const void *body,
                          size_t body_size, unsigned char **out, size_t *out_size);

/* gzip compression as a stream to a file descriptor or to a growing memory buffer (zlib; the fallback when
 * the memory for vxt__gzip_pack's output cannot be had). */
typedef struct vxt__gzw vxt__gzw;
/* fd >= 0: compressed bytes go to the file as they come; fd < 0: to memory (`expected` input bytes size the
 * first buffer). */
vxt_status vxt__gzw_open(const char *who, int level, int fd, uint64_t expected, vxt__gzw **out);
vxt_status vxt__gzw_write(vxt__gzw *w, const void *data, size_t n);
/* Finish the stream. For memory output, *data and *size receive the buffer (malloc'd). */
vxt_status vxt__gzw_close(vxt__gzw *w, void **data, size_t *size);
void vxt__gzw_abort(vxt__gzw *w);

/* ---- byte sources ------------------------------------------------------------------------------------ */

/* A sequential byte source: memory, a file descriptor, or either through gzip. */
typedef struct vxt__src {
    const char *who;
    int kind; /* VXT__SRC_MEM, VXT__SRC_FD, VXT__SRC_GZ */
    const unsigned char *mem;
    size_t mem_size;
    int fd;
    uint64_t fd_size;
    vxt__gz *gz;
    uint64_t pos;     /* bytes consumed so far (of the decompressed stream for gzip) */
    int compressed;
} vxt__src;

enum { VXT__SRC_MEM = 1, VXT__SRC_FD = 2, VXT__SRC_GZ = 3 };

/* Memory source; gzip when the bytes start with the gzip magic. */
vxt_status vxt__src_mem(vxt__src *s, const char *who, const void *data, size_t size);
/* File source (fd owned by the caller); gzip when the file starts with the gzip magic. */
vxt_status vxt__src_fd(vxt__src *s, const char *who, int fd, uint64_t size);
/* Read up to n bytes (*got < n only at the end). */
vxt_status vxt__src_read(vxt__src *s, void *dst, size_t n, size_t *got);
/* Skip n bytes; *skipped < n only at the end. */
vxt_status vxt__src_skip(vxt__src *s, uint64_t n, uint64_t *skipped);
/* Known total size of the (uncompressed) stream, or UINT64_MAX when it is compressed. */
uint64_t vxt__src_size(const vxt__src *s);
void vxt__src_close(vxt__src *s);

/* ---- voxel conversion (nifti_convert.c) --------------------------------------------------------------- */

/* Reverse the bytes of n elements of `elem` bytes (1, 2, 4 or 8) in place. */
void vxt__swap_bytes(void *data, size_t n, size_t elem);

/* Convert n stored values of `from` (host byte order) at p into float32 at p, in place (the buffer must
 * hold n * max(elem, 4) bytes): out = (float)raw; when apply, out = out * slope (skipped when slope is 1),
 * then out = out + inter (skipped when inter is 0), each in float32. */
void vxt__to_float32(void *p, size_t n, vxt_dtype from, int apply, float slope, float inter);

/* ---- geometry (geometry.c) ---------------------------------------------------------------------------- */

/* Fill the derived fields of *g from its stored fields and the image's dims (NIfTI order, for the
 * fallback affine). */
void vxt__geometry_derive(vxt_geometry *g, const int64_t dim[8]);
/* Copy the stored geometry fields between a header and a geometry struct. */
void vxt__geometry_from_hdr(const vxt__nifti_hdr *h, vxt_geometry *g);
void vxt__geometry_to_hdr(const vxt_geometry *g, vxt__nifti_hdr *h);
/* The qform matrix of quaternion/offsets/pixdim per the NIfTI spec (nifti_quatern_to_mat44). */
void vxt__quatern_to_mat44(const double quatern[3], const double qoffset[3], const double pixdim[4],
                           double m[4][4]);
/* Quaternion, qfac and voxel sizes of the rotation-and-zoom part of m (nifti_mat44_to_quatern with a polar
 * decomposition): quatern[3], qoffset[3], pixdim[0..3]. Returns 0 when m has a zero column or is singular. */
int vxt__mat44_to_quatern(double m[4][4], double quatern[3], double qoffset[3], double pixdim[4]);
/* Which world axis (0..2) and direction (+1/-1) each voxel axis i, j, k follows (nibabel's io_orientation);
 * axis -1 when a column is zero. */
void vxt__io_orientation(double affine[4][4], int axis[3], int sign[3]);
/* Validate the stored fields of a geometry (`who` prefixes messages). */
vxt_status vxt__geometry_check(const char *who, const vxt_geometry *g);
/* Apply a voxel transform to the stored geometry: world(new voxel v) = world(old voxel T v), with T an
 * affine map of voxel coordinates given as a 4x4 matrix (NIfTI order). Rotation-and-zoom of the qform is
 * recomputed from the transformed matrix; new_pixdim gives the exact new pixdim[1..3] when not NULL. */
void vxt__geometry_transform(vxt_geometry *g, double t[4][4], const double *new_pixdim);

/* ---- files ------------------------------------------------------------------------------------------- */

/* read() until n bytes or end of file, restarting on EINTR; -1 on error (errno set). */
int64_t vxt__read_full(int fd, void *buf, size_t n);
/* pread() until n bytes or end of file; -1 on error. */
int64_t vxt__pread_full(int fd, void *buf, size_t n, uint64_t offset);
/* write() all n bytes, restarting on EINTR and partial writes; 0 on success, -1 on error. */
int vxt__write_full(int fd, const void *buf, size_t n);
/* malloc (or calloc when `zero`) for large buffers: marked for transparent huge pages (a hint; free() it). */
void *vxt__alloc_big(size_t n, int zero);

/* ---- staged files (io/staged_file.c): every output is written to a temporary and moved into place -------- */

typedef struct vxt__staged {
    int fd;        /* write the bytes here */
    char *path;    /* the target */
    char *tmp;     /* the named temporary, or NULL for an unnamed one (O_TMPFILE) */
    int finished;  /* flushed to disk */
    int committed; /* in place */
} vxt__staged;

/* Open a temporary file for `path` in its directory (after sweeping away temporaries of dead processes there).
 * `who` prefixes messages. */
vxt_status vxt__staged_open(const char *who, const char *path, vxt__staged *s);
/* Flush the written bytes to disk. */
vxt_status vxt__staged_finish(const char *who, vxt__staged *s);
/* Move the finished file over its target (one rename) and sync the directory. */
vxt_status vxt__staged_commit(const char *who, vxt__staged *s);
/* The commit in its three steps, for sets of files (output_set.c): every file named first (a temporary name; the
 * targets untouched), then every rename back to back (the only moment a kill can leave some targets new and others
 * old: microseconds), then the directories synced. A failed place removes its temporary. */
vxt_status vxt__staged_name(const char *who, vxt__staged *s);
vxt_status vxt__staged_place(const char *who, vxt__staged *s);
void vxt__staged_sync_dir(const vxt__staged *s);
/* Give up: the temporary goes, the target is untouched. */
void vxt__staged_abort(vxt__staged *s);
/* Release after a commit (or abort when not committed). */
void vxt__staged_release(vxt__staged *s);
/* Remove temporaries of this naming pattern left by processes that are gone, in path's directory. */
void vxt__staged_sweep(const char *path);
/* An image as a NIfTI file (.nii or .nii.gz by path) into a staged file for path: written and flushed, not yet in
 * place (nifti/nifti_write.c). `func` names the caller in messages. */
vxt_status vxt__nifti_stage(const char *func, const vxt_image *img, const char *path, const vxt_nifti_write_options *opts,
                            vxt__staged *out);

#endif /* VXT_NIFTI_INTERNAL_H */
