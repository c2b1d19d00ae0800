/* test_nifti_bad.c - every kind of bad input the reader must refuse with a clear status and a message that
 * names the field: truncated headers and data, corrupt and truncated gzip streams, wrong sizeof_hdr, unknown
 * magic, bad or absurd dims, vox_offset and extension sizes out of bounds, bitpix not matching the datatype,
 * unsupported datatypes, non-finite geometry and scaling in use, files that are not files. Each case is
 * tried from memory, from a file and gzip-compressed where that makes sense; ASan/UBSan and LeakSanitizer
 * check that nothing is read past a buffer and nothing leaks. Also the regression inputs found by fuzzing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nifti_test_util.h"
#include "vxt_test.h"

static char tmpdir[4096];

static int setup(void **state)
{
    (void)state;
    ntu_tmpdir(tmpdir, sizeof tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ntu_rmtree(tmpdir);
    return 0;
}

#define MEM 1
#define FILE_ 2
#define GZ 4
#define GZFILE 8
#define ALL (MEM | FILE_ | GZ | GZFILE)

/* Read `b` in the forms asked for; each must fail with `want` and a message containing `needle` (and the
 * source's name). */
static void expect_forms(const unsigned char *b, size_t n, int forms, vxt_status want, const char *needle,
                         const char *gz_needle)
{
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    if (forms & MEM) {
        assert_status_msg(vxt_nifti_read_memory(b, n, NULL, &img), want, needle);
        assert_non_null(strstr(vxt_last_error(), "memory"));
        assert_null(img);
    }
    char path[4200];
    if (forms & FILE_) {
        snprintf(path, sizeof path, "%s/bad.nii", tmpdir);
        ntu_spit(path, b, n);
        img = (vxt_image *)(uintptr_t)1;
        assert_status_msg(vxt_nifti_read_file(path, NULL, &img), want, needle);
        assert_non_null(strstr(vxt_last_error(), "bad.nii"));
        assert_null(img);
    }
    if (forms & (GZ | GZFILE)) {
        size_t zn = 0;
        unsigned char *z = ntu_gzip(b, n, &zn);
        const char *gn = gz_needle ? gz_needle : needle;
        if (forms & GZ) {
            img = (vxt_image *)(uintptr_t)1;
            assert_status_msg(vxt_nifti_read_memory(z, zn, NULL, &img), want, gn);
            assert_null(img);
        }
        if (forms & GZFILE) {
            snprintf(path, sizeof path, "%s/bad.nii.gz", tmpdir);
            ntu_spit(path, z, zn);
            img = (vxt_image *)(uintptr_t)1;
            assert_status_msg(vxt_nifti_read_file(path, NULL, &img), want, gn);
            assert_null(img);
            /* header-only and single-volume reads stream the file instead */
            vxt_read_options o;
            vxt_read_options_init(&o);
            o.volume = 0;
            if (want != VXT_ERR_INVALID_ARGUMENT)
                assert_status_msg(vxt_nifti_read_file(path, &o, &img), want, gn);
        }
        free(z);
    }
}

static void expect(const unsigned char *b, size_t n, vxt_status want, const char *needle)
{
    expect_forms(b, n, ALL, want, needle, NULL);
}

static unsigned char *good1(size_t *n)
{
    return ntu_make_nii1(5, 4, 3, n);
}

static void test_truncated_header(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    expect_forms(b, 0, MEM | FILE_, VXT_ERR_TRUNCATED, "header is cut off: 0 bytes", NULL);
    static const size_t cuts[] = {3, 4, 100, 347};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect(b, cuts[i], VXT_ERR_TRUNCATED, "header is cut off");
    free(b);
    unsigned char *b2 = ntu_make_nii2(5, 4, 3, &n);
    expect(b2, 400, VXT_ERR_TRUNCATED, "a NIfTI-2 header has 540");
    free(b2);
}

static void test_truncated_data(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    expect(b, n - 1, VXT_ERR_TRUNCATED, "ends early");
    expect(b, 352, VXT_ERR_TRUNCATED, "ends early");
    expect_forms(b, 350, ALL, VXT_ERR_FORMAT, "vox_offset = 352 lies beyond the end", NULL);
    /* a gzip stream cut short: in the voxels, in the header, in the trailer */
    size_t zn = 0;
    unsigned char *z = ntu_gzip(b, n, &zn);
    vxt_image *img = NULL;
    assert_status_msg(vxt_nifti_read_memory(z, zn - 4, NULL, &img), VXT_ERR_TRUNCATED, "gzip stream ends early");
    assert_status_msg(vxt_nifti_read_memory(z, zn / 2, NULL, &img), VXT_ERR_TRUNCATED, "gzip stream ends early");
    assert_status_msg(vxt_nifti_read_memory(z, 12, NULL, &img), VXT_ERR_TRUNCATED, "gzip stream ends early");
    assert_status_msg(vxt_nifti_read_memory(z, 2, NULL, &img), VXT_ERR_TRUNCATED, "");
    char path[4200];
    snprintf(path, sizeof path, "%s/cut.nii.gz", tmpdir);
    ntu_spit(path, z, zn - 5);
    assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_TRUNCATED, "gzip stream ends early");
    assert_non_null(strstr(vxt_last_error(), "cut.nii.gz"));
    free(z);
    free(b);
}

static void test_corrupt_gzip(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    size_t zn = 0;
    unsigned char *z = ntu_gzip(b, n, &zn);
    vxt_image *img = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/corrupt.nii.gz", tmpdir);
    /* the CRC-32 and the length in the trailer, then the deflate data itself */
    for (size_t at = zn - 8; at < zn; at += 4) {
        unsigned char *c = malloc(zn);
        memcpy(c, z, zn);
        c[at] ^= 0x55;
        assert_status_msg(vxt_nifti_read_memory(c, zn, NULL, &img), VXT_ERR_FORMAT, "corrupt gzip stream");
        assert_non_null(strstr(vxt_last_error(), at == zn - 8 ? "incorrect data check" : "incorrect length check"));
        ntu_spit(path, c, zn);
        assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_FORMAT, "corrupt gzip stream");
        free(c);
    }
    int format_errors = 0;
    for (size_t at = 10; at < zn - 8; at += 7) {
        unsigned char *c = malloc(zn);
        memcpy(c, z, zn);
        c[at] ^= 0xA5;
        vxt_status st = vxt_nifti_read_memory(c, zn, NULL, &img);
        /* flipped bits in deflate data give bad codes, a CRC mismatch, a short stream or, when they land in
         * the header, a bad header -- never success with wrong data and never a crash */
        assert_int_not_equal(st, VXT_OK);
        format_errors += st == VXT_ERR_FORMAT;
        assert_true(strlen(vxt_last_error()) > 0);
        free(c);
    }
    assert_true(format_errors > 0);
    /* the gzip header itself: a bad method byte */
    unsigned char *c = malloc(zn);
    memcpy(c, z, zn);
    c[2] = 7;
    assert_status_msg(vxt_nifti_read_memory(c, zn, NULL, &img), VXT_ERR_FORMAT, "corrupt gzip stream");
    free(c);
    free(z);
    free(b);
}

static void test_sizeof_hdr_and_magic(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    ntu_put_i32(b, 0, 349);
    expect(b, n, VXT_ERR_FORMAT, "sizeof_hdr = 349");
    ntu_put_i32(b, 0, 0x5c010000); /* 348 in big-endian: the rest stays little-endian, so dim[0] is wrong */
    expect(b, n, VXT_ERR_FORMAT, "dim[0] = 768");
    ntu_put_i32(b, 0, 348);
    memcpy(b + 344, "n+3", 4);
    expect(b, n, VXT_ERR_FORMAT, "magic \"n+3\"");
    memcpy(b + 344, "ab\x01\xff", 4);
    expect(b, n, VXT_ERR_FORMAT, "magic \"ab\\x01\\xff\"");
    memcpy(b + 344, "n+1x", 4);
    expect(b, n, VXT_ERR_FORMAT, "is not \"n+1\" or \"ni1\"");
    memset(b + 344, 0, 4);
    expect(b, n, VXT_ERR_UNSUPPORTED, "ANALYZE 7.5");
    free(b);

    unsigned char *b2 = ntu_make_nii2(5, 4, 3, &n);
    memcpy(b2 + 4, "n+1", 4);
    expect(b2, n, VXT_ERR_FORMAT, "is not \"n+2\" or \"ni2\"");
    memcpy(b2 + 4, "n+2\0\n\n\032\n", 8);
    expect(b2, n, VXT_ERR_FORMAT, "magic bytes 4..7");
    memcpy(b2 + 4, "n+2\0\0\0\0\0", 8); /* zeros are accepted, as nibabel accepts them */
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(b2, n, NULL, &img));
    vxt_image_destroy(img);
    free(b2);
}

static void test_dims(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    ntu_put_i16(b, 44, -5);
    expect(b, n, VXT_ERR_FORMAT, "dim[2] = -5");
    ntu_put_i16(b, 44, 0);
    expect(b, n, VXT_ERR_FORMAT, "dim[2] = 0");
    ntu_put_i16(b, 44, 4);
    for (int d0 = -1; d0 <= 8; d0 += 9) {
        ntu_put_i16(b, 40, (int16_t)d0);
        char msg[32];
        snprintf(msg, sizeof msg, "dim[0] = %d", d0);
        expect(b, n, VXT_ERR_FORMAT, msg);
    }
    ntu_put_i16(b, 40, 0);
    expect(b, n, VXT_ERR_FORMAT, "dim[0] = 0");
    /* 4D with a negative fourth dimension */
    ntu_put_i16(b, 40, 4);
    ntu_put_i16(b, 48, -1);
    expect(b, n, VXT_ERR_FORMAT, "dim[4] = -1");
    /* NIfTI-1 at its largest: 32767^7 voxels overflow 64 bits */
    for (int i = 0; i < 8; i++)
        ntu_put_i16(b, 40 + 2 * (size_t)i, i == 0 ? 7 : 32767);
    expect(b, n, VXT_ERR_OVERFLOW, "overflows 64-bit sizes");
    /* 32767^3 int16 voxels do not overflow, but the file cannot hold them: refused before allocating */
    ntu_put_i16(b, 40, 3);
    expect_forms(b, n, MEM | FILE_, VXT_ERR_TRUNCATED, "ends early", NULL);
    expect_forms(b, n, GZ | GZFILE, VXT_ERR_TRUNCATED, "more than a gzip stream", NULL);
    free(b);

    unsigned char *b2 = ntu_make_nii2(5, 4, 3, &n);
    ntu_put_i64(b2, 16 + 8 * 1, (int64_t)1 << 40);
    ntu_put_i64(b2, 16 + 8 * 2, (int64_t)1 << 40);
    expect(b2, n, VXT_ERR_OVERFLOW, "dim[1..3] = 1099511627776 x 1099511627776 x 3");
    ntu_put_i64(b2, 16 + 8 * 1, INT64_MAX);
    ntu_put_i64(b2, 16 + 8 * 2, 1);
    expect(b2, n, VXT_ERR_OVERFLOW, "overflows");
    ntu_put_i64(b2, 16 + 8 * 1, -7);
    expect(b2, n, VXT_ERR_FORMAT, "dim[1] = -7");
    /* bytes fit int64 but vox_offset + bytes does not */
    ntu_put_i64(b2, 16 + 8 * 1, (int64_t)1 << 61);
    ntu_put_i64(b2, 16 + 8 * 2, 1);
    ntu_put_i64(b2, 16 + 8 * 3, 1);
    ntu_put_i64(b2, 168, INT64_MAX / 2 + 10);
    expect(b2, n, VXT_ERR_OVERFLOW, "vox_offset");
    free(b2);
}

static void test_vox_offset(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    ntu_put_f32(b, 108, 10000.0f);
    expect_forms(b, n, MEM | FILE_, VXT_ERR_FORMAT, "vox_offset = 10000 lies beyond the end of the file (472 bytes)",
                 NULL);
    expect_forms(b, n, GZ | GZFILE, VXT_ERR_FORMAT, "vox_offset = 10000 lies beyond the end of the decompressed "
                 "stream (472 bytes)", NULL);
    ntu_put_f32(b, 108, 100.0f);
    expect(b, n, VXT_ERR_FORMAT, "vox_offset = 100 lies inside the header");
    ntu_put_f32(b, 108, -16.0f);
    expect(b, n, VXT_ERR_FORMAT, "vox_offset = -16");
    ntu_put_f32(b, 108, NAN);
    expect(b, n, VXT_ERR_FORMAT, "vox_offset = nan");
    ntu_put_f32(b, 108, INFINITY);
    expect(b, n, VXT_ERR_FORMAT, "vox_offset = inf");
    ntu_put_f32(b, 108, 1e30f);
    expect(b, n, VXT_ERR_OVERFLOW, "vox_offset");
    free(b);
    unsigned char *b2 = ntu_make_nii2(5, 4, 3, &n);
    ntu_put_i64(b2, 168, -1);
    expect(b2, n, VXT_ERR_FORMAT, "vox_offset = -1");
    ntu_put_i64(b2, 168, 540);
    expect(b2, n, VXT_ERR_FORMAT, "lies inside the header (a single-file NIfTI-2 has its voxels at byte 544");
    free(b2);
}

static void test_datatype_and_bitpix(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    ntu_put_i16(b, 72, 8);
    expect(b, n, VXT_ERR_FORMAT, "bitpix = 8 does not match datatype 4 (int16, 16 bits)");
    static const struct {
        int code, bits;
        const char *name;
    } unsupported[] = {{128, 24, "RGB24"},      {2304, 32, "RGBA32"},      {32, 64, "complex64"},
                       {1792, 128, "complex128"}, {2048, 256, "complex256"}, {1536, 128, "float128"},
                       {1, 1, "binary"}};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        ntu_put_i16(b, 70, (int16_t)unsupported[i].code);
        ntu_put_i16(b, 72, (int16_t)unsupported[i].bits);
        char msg[64];
        snprintf(msg, sizeof msg, "datatype = %d (%s) is not supported", unsupported[i].code, unsupported[i].name);
        expect(b, n, VXT_ERR_UNSUPPORTED, msg);
    }
    ntu_put_i16(b, 70, 3);
    expect(b, n, VXT_ERR_FORMAT, "datatype = 3 is not a NIfTI datatype");
    ntu_put_i16(b, 70, -4);
    expect(b, n, VXT_ERR_FORMAT, "datatype = -4");
    free(b);
}

static void test_extensions(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    /* room for extensions: move the voxels to 352 + 64 */
    size_t m = n + 64;
    unsigned char *e = calloc(1, m);
    memcpy(e, b, 352);
    memcpy(e + 416, b + 352, n - 352);
    ntu_put_f32(e, 108, 416.0f);
    e[348] = 1;
    ntu_put_i32(e, 352, 32);
    ntu_put_i32(e, 356, 6);
    memcpy(e + 360, "hello", 5);
    ntu_put_i32(e, 384, 32);
    ntu_put_i32(e, 388, 4);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(e, m, NULL, &img));
    assert_int_equal(vxt_nifti_extension_count(img), 2);
    vxt_image_destroy(img);
    ntu_put_i32(e, 384, 48); /* runs past vox_offset */
    expect(e, m, VXT_ERR_FORMAT, "extension 1 at byte 384: esize = 48 runs past vox_offset = 416");
    ntu_put_i32(e, 384, 4);
    expect(e, m, VXT_ERR_FORMAT, "extension 1 at byte 384: esize = 4");
    ntu_put_i32(e, 384, -32);
    expect(e, m, VXT_ERR_FORMAT, "esize = -32");
    ntu_put_i32(e, 384, 0);
    expect(e, m, VXT_ERR_FORMAT, "esize = 0");
    ntu_put_i32(e, 352, 0x7fffffff);
    expect(e, m, VXT_ERR_FORMAT, "extension 0 at byte 352: esize = 2147483647 runs past");
    /* an esize that is not a multiple of 16 is read as it is (nibabel warns and does the same) */
    ntu_put_i32(e, 352, 20);
    ntu_put_i32(e, 372, 44);
    ntu_put_i32(e, 376, 6);
    assert_ok(vxt_nifti_read_memory(e, m, NULL, &img));
    size_t sz = 0;
    assert_ok(vxt_nifti_get_extension(img, 0, NULL, NULL, &sz));
    assert_int_equal(sz, 12);
    vxt_image_destroy(img);
    /* extensions in a .hdr run to its end: a cut one is refused */
    unsigned char h[348 + 4 + 24];
    memcpy(h, b, 348);
    memcpy(h + 344, "ni1", 4);
    ntu_put_f32(h, 108, 0.0f);
    memset(h + 348, 0, sizeof h - 348);
    h[348] = 1;
    ntu_put_i32(h, 352, 32);
    char path[4200];
    snprintf(path, sizeof path, "%s/ext.hdr", tmpdir);
    ntu_spit(path, h, sizeof h);
    snprintf(path, sizeof path, "%s/ext.img", tmpdir);
    ntu_spit(path, b + 352, n - 352);
    snprintf(path, sizeof path, "%s/ext.hdr", tmpdir);
    assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_TRUNCATED, "extension 0 at byte 352: esize = 32");
    /* the extension limit counts against max_bytes */
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.max_bytes = 100;
    ntu_put_i32(e, 352, 32);
    ntu_put_i32(e, 384, 32);
    /* 48 bytes of extensions + 120 of voxels > 100 */
    assert_status_msg(vxt_nifti_read_memory(e, m, &o, &img), VXT_ERR_OUT_OF_MEMORY, "(48 already used)");
    o.max_bytes = 168;
    assert_ok(vxt_nifti_read_memory(e, m, &o, &img));
    vxt_image_destroy(img);
    free(e);
    free(b);
}

static void test_scaling_and_geometry_in_use(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    ntu_put_f32(b, 112, 2.0f);
    ntu_put_f32(b, 116, NAN);
    expect(b, n, VXT_ERR_FORMAT, "scl_inter = nan with scl_slope = 2");
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW; /* the stored values are still readable */
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    vxt_image_destroy(img);
    ntu_put_f32(b, 116, 0.0f);
    /* the sform is in use (code 1): a non-finite entry makes the affine meaningless */
    ntu_put_f32(b, 280 + 12, INFINITY);
    expect(b, n, VXT_ERR_FORMAT, "srow_x[3] = inf with sform_code = 1");
    ntu_put_i16(b, 254, 0); /* sform unused: its garbage does not matter */
    assert_ok(vxt_nifti_read_memory(b, n, NULL, &img));
    vxt_image_destroy(img);
    ntu_put_i16(b, 252, 1); /* qform in use */
    ntu_put_f32(b, 260, NAN);
    expect(b, n, VXT_ERR_FORMAT, "quatern_c = nan with qform_code = 1");
    ntu_put_f32(b, 260, 0.0f);
    ntu_put_f32(b, 272, -INFINITY);
    expect(b, n, VXT_ERR_FORMAT, "qoffset_y = -inf");
    ntu_put_f32(b, 272, 0.0f);
    ntu_put_f32(b, 84, NAN);
    expect(b, n, VXT_ERR_FORMAT, "pixdim[2] = nan: the qform uses it");
    ntu_put_i16(b, 252, 0);
    expect(b, n, VXT_ERR_FORMAT, "pixdim[2] = nan: the fallback affine uses it");
    free(b);
}

static void test_limits(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = good1(&n);
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.max_bytes = 119; /* 120 bytes of int16 voxels */
    vxt_image *img = NULL;
    assert_status_msg(vxt_nifti_read_memory(b, n, &o, &img), VXT_ERR_OUT_OF_MEMORY, "max_bytes = 119");
    o.scaling = VXT_SCALING_FLOAT32;
    o.max_bytes = 200; /* float32: 240 bytes */
    assert_status_msg(vxt_nifti_read_memory(b, n, &o, &img), VXT_ERR_OUT_OF_MEMORY, "need 240 bytes");
    o.max_bytes = 240;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    vxt_image_destroy(img);
    /* a decompression bomb: a tiny gzip stream whose header claims 2 GB of voxels */
    ntu_put_i16(b, 42, 32767);
    ntu_put_i16(b, 44, 32767);
    ntu_put_i16(b, 46, 1);
    size_t zn = 0;
    unsigned char *z = ntu_gzip(b, n, &zn);
    assert_status_msg(vxt_nifti_read_memory(z, zn, NULL, &img), VXT_ERR_TRUNCATED, "deflate expands at most 1032:1");
    free(z);
    free(b);

    /* the other bomb: a header that declares little, in a stream that goes on for far more (64 MiB of zeros after
     * 120 bytes of voxels: 64 KiB compressed). Decompression stops soon after what the header declared; a little
     * padding after the voxels is still read. */
    b = good1(&n);
    const size_t tails[2] = {(size_t)64 << 20, (size_t)512 << 10};
    for (int t = 0; t < 2; t++) {
        unsigned char *big = calloc(1, n + tails[t]);
        assert_non_null(big);
        memcpy(big, b, n);
        z = ntu_gzip(big, n + tails[t], &zn);
        free(big);
        assert_true(zn < n + tails[t] / 100);
        char path[4200];
        snprintf(path, sizeof path, "%s/tail.nii.gz", tmpdir);
        ntu_spit(path, z, zn);
        img = NULL;
        if (t == 0) {
            assert_status_msg(vxt_nifti_read_memory(z, zn, NULL, &img), VXT_ERR_FORMAT, "goes on for more than 1048576 bytes");
            assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_FORMAT, "tail.nii.gz");
            assert_null(img);
        } else {
            assert_ok(vxt_nifti_read_file(path, NULL, &img));
            vxt_image_destroy(img);
        }
        free(z);
    }
    free(b);
}

static void test_not_files(void **state)
{
    (void)state;
    vxt_image *img = NULL;
    assert_status_msg(vxt_nifti_read_file("/nonexistent/voxtile.nii", NULL, &img), VXT_ERR_IO,
                      "'/nonexistent/voxtile.nii': cannot open: No such file or directory");
    assert_status_msg(vxt_nifti_read_file(tmpdir, NULL, &img), VXT_ERR_IO, "is a directory");
    char path[4200];
    assert_status_msg(vxt_nifti_read_file("/dev/null", NULL, &img), VXT_ERR_IO, "not a regular file");
    snprintf(path, sizeof path, "%s/empty.nii", tmpdir);
    ntu_spit(path, "", 0);
    assert_status_msg(vxt_nifti_read_file(path, NULL, &img), VXT_ERR_TRUNCATED, "0 bytes");
    assert_null(img);
}

/* Inputs found by fuzzing (tests/fuzz/): each must keep failing cleanly (or reading correctly). */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/../fuzz/regressions", vxt_test_data_dir());
    for (int i = 0; i < 1000; i++) {
        char f[4300];
        snprintf(f, sizeof f, "%s/crash-%03d", path, i);
        size_t n = 0;
        unsigned char *b = ntu_slurp(f, &n);
        if (b == NULL)
            break;
        vxt_image *img = NULL;
        vxt_status st = vxt_nifti_read_memory(b, n, NULL, &img);
        if (st != VXT_OK)
            assert_true(strlen(vxt_last_error()) > 0);
        void *out = NULL;
        size_t out_size = 0;
        if (st == VXT_OK && vxt_nifti_write_memory(img, NULL, &out, &out_size) == VXT_OK) {
            /* what was read is written and read back the same (the fuzzer's invariants that broke before) */
            vxt_image *back = NULL;
            assert_ok(vxt_nifti_read_memory(out, out_size, NULL, &back));
            vxt_image_info a = {.struct_size = sizeof a}, c = {.struct_size = sizeof c};
            assert_ok(vxt_image_get_info(img, &a));
            assert_ok(vxt_image_get_info(back, &c));
            assert_string_equal(a.description, c.description);
            assert_memory_equal(a.shape, c.shape, sizeof a.shape);
            vxt_image_destroy(back);
            vxt_buffer_free(out);
        }
        vxt_image_destroy(img);
        free(b);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_truncated_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizeof_hdr_and_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vox_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datatype_and_bitpix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaling_and_geometry_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_files, setup, teardown),
        cmocka_unit_test(test_fuzz_regressions),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
