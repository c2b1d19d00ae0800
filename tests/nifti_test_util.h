/* nifti_test_util.h - helpers shared by the NIfTI tests: test data paths, tests/data/nifti/reference.json
 * (what nibabel reports, written by tools/make_nifti_testdata.py), checksums of volumes, temporary
 * directories, and building headers to corrupt. */
#ifndef VXT_NIFTI_TEST_UTIL_H
#define VXT_NIFTI_TEST_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

/* Path of a file under tests/data/nifti/ ("../mricron_ch2.nii.gz" reaches tests/data/). Returns a buffer
 * that is overwritten by the next call. */
const char *ntu_data(const char *name);

/* The whole reference.json (parsed once per process; never freed before exit). */
const cJSON *ntu_reference(void);
/* The entry of one file in reference.json, or NULL. */
const cJSON *ntu_entry(const char *file);
double ntu_num(const cJSON *obj, const char *key);
int ntu_has_num(const cJSON *obj, const char *key);
/* obj[key] as an n x m matrix of numbers (row-major). */
void ntu_matrix(const cJSON *obj, const char *key, double *out, int n, int m);

/* The image's NIfTI header fields (vxt_nifti_get_info; asserts success). */
vxt_nifti_info ntu_nifti_info(const vxt_image *img);

/* Read a whole file (malloc'd; NULL on failure). */
unsigned char *ntu_slurp(const char *path, size_t *size);
/* Write bytes to a file (asserts success). */
void ntu_spit(const char *path, const void *data, size_t size);
/* gzip-compress bytes (malloc'd). */
unsigned char *ntu_gzip(const void *data, size_t size, size_t *out_size);

/* CRC-32 of a volume's values converted to float32, little-endian, in memory order; and of its raw bytes. */
uint32_t ntu_crc_f32(const vxt_volume *v);
uint32_t ntu_crc_raw(const vxt_volume *v);
/* Min, max and mean of a volume's values (in double). */
void ntu_stats(const vxt_volume *v, double *min, double *max, double *mean);
/* Element count of a view. */
size_t ntu_count(const vxt_volume *v);

/* A fresh empty directory under the build tree; its path is copied to out. */
void ntu_tmpdir(char *out, size_t size);
/* Remove a directory tree created by ntu_tmpdir (best effort). */
void ntu_rmtree(const char *path);
/* Number of entries in a directory (not counting . and ..). */
int ntu_dir_entries(const char *path);

/* A valid little-endian NIfTI-1 single file in memory: header + `ext` extension bytes (esize/ecode
 * included) + voxels; dims (ni, nj, nk), datatype int16, values i*3-7. malloc'd. */
unsigned char *ntu_make_nii1(int ni, int nj, int nk, size_t *size);
/* The same as NIfTI-2. */
unsigned char *ntu_make_nii2(int ni, int nj, int nk, size_t *size);

/* Read `path` with these read options (asserts success): any format (vxt_image_read_path) or, with nifti_only,
 * vxt_nifti_read_file. */
vxt_image *ntu_read(const char *path, vxt_scaling scaling, int64_t volume, unsigned flags, int nifti_only);

/* Store little-endian values at byte offsets of a buffer. */
void ntu_put_i16(unsigned char *b, size_t off, int16_t v);
void ntu_put_i32(unsigned char *b, size_t off, int32_t v);
void ntu_put_i64(unsigned char *b, size_t off, int64_t v);
void ntu_put_f32(unsigned char *b, size_t off, float v);
void ntu_put_f64(unsigned char *b, size_t off, double v);

#endif
