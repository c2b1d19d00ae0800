/* fuzz_nifti_read.c - libFuzzer target for the NIfTI reader, in its memory and file forms.
 *
 * Each input is read from memory with every scaling mode, as one selected volume and header-only, gzip-
 * compressed by the harness (so that fuzzed headers and data reach the gzip paths), and from a file (a memfd,
 * named through /proc/self/fd). Whatever parses is then used the way the pipeline uses it
 * -- view, info, geometry, reorientation, writing -- and written back and read again: the second read must
 * give the same voxels and header fields (a mismatch aborts, so libFuzzer reports it like a crash).
 * Build and run with tests/fuzz/run-fuzz.sh; crashes become files under tests/fuzz/regressions/, which
 * tests/test_nifti_bad.c reads on every test run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "voxtile.h"

#define LIMIT (64u << 20) /* max_bytes: stay far below libFuzzer's RSS limit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_nifti_read: invariant broken: %s (%s)\n", what, vxt_last_error());
        abort();
    }
}

static int same(double a, double b)
{
    return a == b || (a != a && b != b);
}

/* Use an image as a caller would, and check that writing it and reading it back changes nothing. */
static void exercise(vxt_image *img)
{
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    vxt_geometry g = {.struct_size = sizeof g};
    check(vxt_image_get_info(img, &info) == VXT_OK, "get_info");
    check(vxt_nifti_get_info(img, &ni) == VXT_OK, "nifti_get_info");
    check(vxt_image_get_geometry(img, &g) == VXT_OK, "get_geometry");
    for (size_t i = 0; i < ni.extension_count; i++) {
        const void *p = NULL;
        size_t n = 0;
        check(vxt_nifti_get_extension(img, i, NULL, &p, &n) == VXT_OK, "get_extension");
        if (n)
            check(((const volatile unsigned char *)p)[n - 1] == ((const unsigned char *)p)[n - 1], "extension");
    }
    vxt_volume v;
    if (vxt_image_volume(img, &v) != VXT_OK)
        return; /* header only */
    size_t bytes = 0;
    check(vxt_volume_bytes(&v, &bytes) == VXT_OK, "volume_bytes");
    if (bytes > 0)
        check(((volatile unsigned char *)v.data)[bytes - 1] == ((unsigned char *)v.data)[bytes - 1], "voxels");

    vxt_image *r = NULL;
    if (vxt_image_reorient(img, "LPS", &r) == VXT_OK)
        vxt_image_destroy(r);

    vxt_nifti_write_options wo;
    vxt_nifti_write_options_init(&wo);
    wo.gzip = (int)(bytes & 1);
    wo.compression_level = 1;
    void *out = NULL;
    size_t out_size = 0;
    vxt_status st = vxt_nifti_write_memory(img, &wo, &out, &out_size);
    if (st == VXT_ERR_OUT_OF_MEMORY)
        return;
    check(st == VXT_OK, "write_memory");
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    vxt_image *back = NULL;
    st = vxt_nifti_read_memory(out, out_size, &ro, &back);
    check(st == VXT_OK, "read back what was written");
    vxt_volume bv;
    check(vxt_image_volume(back, &bv) == VXT_OK, "view of the read-back image");
    check(bv.dtype == v.dtype && bv.channels == v.channels && !memcmp(bv.shape, v.shape, sizeof v.shape),
          "same type and shape");
    check(memcmp(bv.data, v.data, bytes) == 0, "same voxels");
    vxt_image_info bi = {.struct_size = sizeof bi};
    vxt_nifti_info bni = {.struct_size = sizeof bni};
    vxt_geometry bg = {.struct_size = sizeof bg};
    check(vxt_image_get_info(back, &bi) == VXT_OK && vxt_image_get_geometry(back, &bg) == VXT_OK &&
          vxt_nifti_get_info(back, &bni) == VXT_OK, "info back");
    check(bni.extension_count == ni.extension_count, "same extensions");
    check(memcmp(bni.dim, ni.dim, sizeof ni.dim) == 0, "same dims");
    check(bg.qform_code == g.qform_code && bg.sform_code == g.sform_code, "same codes");
    /* NIfTI-1 fields are floats, NIfTI-2 doubles: both convert exactly (NaN payloads may be quietened) */
    for (int i = 0; i < 3; i++) {
        check(same(bg.quatern[i], g.quatern[i]) && same(bg.qoffset[i], g.qoffset[i]), "same quaternion");
        for (int c = 0; c < 4; c++)
            check(same(bg.srow[i][c], g.srow[i][c]), "same sform rows");
    }
    for (int i = 0; i < 8; i++)
        check(same(bg.pixdim[i], g.pixdim[i]), "same pixdim");
    if (!info.scaled)
        check(same(bi.scl_slope, info.scl_slope) && same(bi.scl_inter, info.scl_inter), "same scaling");
    check(strcmp(bi.description, info.description) == 0, "same description");
    vxt_image_destroy(back);
    vxt_buffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const vxt_scaling modes[3] = {VXT_SCALING_AUTO, VXT_SCALING_RAW,
                                               VXT_SCALING_FLOAT32};
    vxt_read_options o;
    vxt_image *img = NULL;
    for (int m = 0; m < 3; m++) {
        vxt_read_options_init(&o);
        o.max_bytes = LIMIT;
        o.scaling = modes[m];
        if (vxt_nifti_read_memory(data, size, &o, &img) == VXT_OK) {
            exercise(img);
            vxt_image_destroy(img);
        } else {
            check(vxt_last_error()[0] != '\0', "a failure without a message");
        }
    }
    vxt_read_options_init(&o);
    o.max_bytes = LIMIT;
    o.volume = 1;
    if (vxt_nifti_read_memory(data, size, &o, &img) == VXT_OK) {
        exercise(img);
        vxt_image_destroy(img);
    }
    o.volume = VXT_READ_ALL_VOLUMES;
    o.flags = VXT_READ_HEADER_ONLY;
    if (vxt_nifti_read_memory(data, size, &o, &img) == VXT_OK) {
        exercise(img);
        vxt_image_destroy(img);
    }

    /* the same bytes gzip-compressed by us: valid streams, so the fuzzed header and data reach both gzip
     * paths (libdeflate for whole reads, zlib streaming for one volume) instead of stopping at a CRC */
    if (size <= 8192) {
        uLongf zn = compressBound((uLong)size) + 32;
        unsigned char *z = malloc(zn);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (z && deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
            zs.next_in = (Bytef *)(uintptr_t)data;
            zs.avail_in = (uInt)size;
            zs.next_out = z;
            zs.avail_out = (uInt)zn;
            int rc = deflate(&zs, Z_FINISH);
            size_t zsize = zn - zs.avail_out;
            deflateEnd(&zs);
            for (int pass = 0; rc == Z_STREAM_END && pass < 2; pass++) {
                vxt_read_options_init(&o);
                o.max_bytes = LIMIT;
                o.volume = pass ? 0 : VXT_READ_ALL_VOLUMES;
                if (vxt_nifti_read_memory(z, zsize, &o, &img) == VXT_OK) {
                    exercise(img);
                    vxt_image_destroy(img);
                }
            }
        }
        free(z);
    }

    /* the file form: the same bytes as a file (whole-file and streaming paths) */
    int fd = memfd_create("fuzz.nii", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size == 0 || write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        for (int pass = 0; pass < 2; pass++) {
            vxt_read_options_init(&o);
            o.max_bytes = LIMIT;
            o.volume = pass ? 0 : VXT_READ_ALL_VOLUMES; /* pass 1 streams a compressed file */
            if (vxt_nifti_read_file(path, &o, &img) == VXT_OK) {
                exercise(img);
                vxt_image_destroy(img);
            }
        }
    }
    close(fd);
    return 0;
}
