/* test_nifti_read.c - reading NIfTI files against what nibabel reports for them (tests/data/nifti/
 * reference.json, written by tools/make_nifti_testdata.py): header fields, the qform, the sform, the affine
 * in use and its orientation, extensions, and the voxels (CRC-32 of the stored and of the float32 scaled
 * values); the real volume mricron_ch2.nii.gz; scaling modes; volume selection; header-only reads; pairs;
 * multi-member gzip; memory and file forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nifti_test_util.h"
#include "vxt_test.h"

static vxt_image *read_opts(const char *path, vxt_scaling scaling, int64_t volume, unsigned flags)
{
    return ntu_read(path, scaling, volume, flags, 1);
}

static void close_to(double got, double want, const char *what, const char *file)
{
    if (!(fabs(got - want) <= 1e-6 * (fabs(want) > 1 ? fabs(want) : 1.0)))
        fail_msg("%s: %s = %.17g, nibabel says %.17g", file, what, got, want);
}

static void check_matrix(double got[4][4], const cJSON *e, const char *key, const char *file)
{
    double want[16];
    ntu_matrix(e, key, want, 4, 4);
    char what[64];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            snprintf(what, sizeof what, "%s[%d][%d]", key, r, c);
            close_to(got[r][c], want[4 * r + c], what, file);
        }
}

static void check_stats(const vxt_volume *v, const cJSON *e, const char *key, const char *file)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, key);
    double mn, mx, mean;
    ntu_stats(v, &mn, &mx, &mean);
    char what[64];
    snprintf(what, sizeof what, "%s.min", key);
    close_to(mn, ntu_num(s, "min"), what, file);
    snprintf(what, sizeof what, "%s.max", key);
    close_to(mx, ntu_num(s, "max"), what, file);
    snprintf(what, sizeof what, "%s.mean", key);
    close_to(mean, ntu_num(s, "mean"), what, file);
}

/* Everything reference.json says about one file, read through `img` (RAW) and again as float32. */
static void check_against_reference(const cJSON *e, vxt_image *img, vxt_image *f32)
{
    const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(img, &g));
    vxt_nifti_info ni = ntu_nifti_info(img);

    assert_int_equal(ni.nifti_version, (int)ntu_num(e, "nifti_version"));
    assert_int_equal(ni.big_endian, (int)ntu_num(e, "big_endian"));
    double dim[8];
    ntu_matrix(e, "dim", dim, 8, 1);
    assert_int_equal(ni.dim[0], (int64_t)dim[0]);
    for (int i = 1; i <= (int)dim[0]; i++)
        assert_int_equal(ni.dim[i], (int64_t)dim[i]);
    for (int i = (int)dim[0] + 1; i < 8; i++)
        assert_int_equal(ni.dim[i], 1);
    assert_int_equal(ni.datatype, (int)ntu_num(e, "datatype"));
    assert_int_equal(ni.bitpix, (int)ntu_num(e, "bitpix"));
    if (ni.single_file)
        assert_int_equal(ni.vox_offset, (int64_t)ntu_num(e, "vox_offset"));
    if (ntu_has_num(e, "scl_slope"))
        close_to(info.scl_slope, ntu_num(e, "scl_slope"), "scl_slope", file);
    else
        assert_false(isfinite(info.scl_slope));
    if (ntu_has_num(e, "scl_inter"))
        close_to(info.scl_inter, ntu_num(e, "scl_inter"), "scl_inter", file);
    assert_string_equal(info.description, cJSON_GetObjectItemCaseSensitive(e, "descrip")->valuestring);
    assert_int_equal(g.xyzt_units, (int)ntu_num(e, "xyzt_units"));
    double pixdim[8];
    ntu_matrix(e, "pixdim", pixdim, 8, 1);
    for (int i = 0; i < 8; i++)
        close_to(g.pixdim[i], pixdim[i], "pixdim", file);

    /* geometry: both forms decoded, the affine nibabel chooses, its orientation */
    assert_int_equal(g.qform_code, (int)ntu_num(e, "qform_code"));
    assert_int_equal(g.sform_code, (int)ntu_num(e, "sform_code"));
    check_matrix(g.qform, e, "qform", file);
    check_matrix(g.sform, e, "sform", file);
    check_matrix(g.affine, e, "affine", file);
    vxt_affine_source want_src = g.sform_code > 0 ? VXT_AFFINE_SFORM
                                 : g.qform_code > 0 ? VXT_AFFINE_QFORM
                                                    : VXT_AFFINE_FALLBACK;
    assert_int_equal(g.affine_source, want_src);
    assert_string_equal(g.orientation, cJSON_GetObjectItemCaseSensitive(e, "axcodes")->valuestring);
    for (int c = 0; c < 3; c++) {
        double len = sqrt(g.affine[0][c] * g.affine[0][c] + g.affine[1][c] * g.affine[1][c] +
                          g.affine[2][c] * g.affine[2][c]);
        close_to(g.spacing[2 - c], len, "spacing", file);
    }

    /* extensions */
    const cJSON *exts = cJSON_GetObjectItemCaseSensitive(e, "extensions");
    assert_int_equal(vxt_nifti_extension_count(img), (size_t)cJSON_GetArraySize(exts));
    assert_int_equal(ni.extension_count, (size_t)cJSON_GetArraySize(exts));
    for (int i = 0; i < cJSON_GetArraySize(exts); i++) {
        const cJSON *x = cJSON_GetArrayItem(exts, i);
        int code = 0;
        const void *data = NULL;
        size_t size = 0;
        assert_ok(vxt_nifti_get_extension(img, (size_t)i, &code, &data, &size));
        assert_int_equal(code, (int)ntu_num(x, "code"));
        /* nibabel strips the zero padding; voxtile keeps the esize - 8 bytes as stored */
        size_t want = (size_t)ntu_num(x, "size");
        assert_true(size >= want && size - want < 16);
        for (size_t k = want; k < size; k++)
            assert_int_equal(((const unsigned char *)data)[k], 0);
        assert_int_equal(crc32(0, data, (unsigned)want), (uint32_t)ntu_num(x, "crc32"));
    }

    /* voxels: stored values, then float32 scaled values */
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    double shape[8];
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int nd = cJSON_GetArraySize(sh);
    ntu_matrix(e, "shape", shape, nd, 1);
    assert_int_equal(v.shape[2], (int64_t)shape[0]);
    assert_int_equal(v.shape[1], nd > 1 ? (int64_t)shape[1] : 1);
    assert_int_equal(v.shape[0], nd > 2 ? (int64_t)shape[2] : 1);
    assert_int_equal(v.channels, nd > 3 ? (int64_t)shape[3] : 1);
    vxt_dtype want_dtype;
    assert_ok(vxt_dtype_parse(cJSON_GetObjectItemCaseSensitive(e, "raw_dtype")->valuestring, &want_dtype));
    assert_int_equal(v.dtype, want_dtype);
    assert_int_equal(info.stored_dtype, want_dtype);
    if (ntu_crc_raw(&v) != (uint32_t)ntu_num(e, "raw_crc32"))
        fail_msg("%s: CRC-32 of the stored values differs from nibabel's", file);
    check_stats(&v, e, "raw", file);

    vxt_volume fv;
    assert_ok(vxt_image_volume(f32, &fv));
    assert_int_equal(fv.dtype, VXT_DTYPE_F32);
    if (ntu_crc_raw(&fv) != (uint32_t)ntu_num(e, "scaled_crc32"))
        fail_msg("%s: CRC-32 of the float32 scaled values differs from the reference", file);
    check_stats(&fv, e, "scaled", file);
    vxt_image_info finfo = {.struct_size = sizeof finfo};
    assert_ok(vxt_image_get_info(f32, &finfo));
    assert_int_equal(finfo.scaled, (int)ntu_num(e, "scaling_applies"));
}

static void test_reference_files(void **state)
{
    (void)state;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    int checked = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
        char path[4096];
        snprintf(path, sizeof path, "%s", ntu_data(file));
        vxt_image *img = read_opts(path, VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
        vxt_image *f32 = read_opts(path, VXT_SCALING_FLOAT32, VXT_READ_ALL_VOLUMES, 0);
        check_against_reference(e, img, f32);

        /* AUTO: float32 exactly when a non-identity scaling applies */
        vxt_image *aut = read_opts(path, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
        vxt_volume av, rv;
        assert_ok(vxt_image_volume(aut, &av));
        assert_ok(vxt_image_volume(img, &rv));
        int scales = (int)ntu_num(e, "scaling_applies") &&
                     !(ntu_num(e, "scl_slope") == 1.0 && ntu_num(e, "scl_inter") == 0.0);
        assert_int_equal(av.dtype, scales ? VXT_DTYPE_F32 : rv.dtype);

        /* the memory form gives the same image (single files) */
        vxt_image_info info = {.struct_size = sizeof info};
        assert_ok(vxt_image_get_info(img, &info));
        if (ntu_nifti_info(img).single_file) {
            size_t n = 0;
            unsigned char *bytes = ntu_slurp(path, &n);
            assert_non_null(bytes);
            vxt_read_options o;
            vxt_read_options_init(&o);
            o.scaling = VXT_SCALING_RAW;
            vxt_image *mem = NULL;
            assert_ok(vxt_nifti_read_memory(bytes, n, &o, &mem));
            vxt_volume mv;
            assert_ok(vxt_image_volume(mem, &mv));
            assert_int_equal(ntu_crc_raw(&mv), ntu_crc_raw(&rv));
            vxt_image *memf = NULL;
            o.scaling = VXT_SCALING_FLOAT32;
            assert_ok(vxt_nifti_read_memory(bytes, n, &o, &memf));
            check_against_reference(e, mem, memf);
            vxt_image_destroy(memf);
            vxt_image_destroy(mem);
            free(bytes);
        }
        vxt_image_destroy(aut);
        vxt_image_destroy(f32);
        vxt_image_destroy(img);
        checked++;
    }
    assert_true(checked >= 25);
}

static void test_real_volume(void **state)
{
    (void)state;
    /* mricron_ch2: sform code 4 (MNI) is used; qform code 0 with quatern_b = 1 is ignored */
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(ntu_data("../mricron_ch2.nii.gz"), NULL, &img));
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(img, &g));
    assert_int_equal(g.sform_code, VXT_NIFTI_XFORM_MNI_152);
    assert_int_equal(g.qform_code, 0);
    assert_true(g.quatern[0] == 1.0); /* the garbage is there ... */
    assert_int_equal(g.affine_source, VXT_AFFINE_SFORM); /* ... and ignored */
    assert_string_equal(g.orientation, "RAS");
    double want[4][4] = {{1, 0, 0, -90}, {0, 1, 0, -125}, {0, 0, 1, -71}, {0, 0, 0, 1}};
    assert_memory_equal(g.affine, want, sizeof want);
    assert_true(g.spacing[0] == 1.0 && g.spacing[1] == 1.0 && g.spacing[2] == 1.0);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_U8); /* slope 1, intercept 0: AUTO keeps uint8 */
    assert_int_equal(v.shape[0], 181);
    assert_int_equal(v.shape[1], 217);
    assert_int_equal(v.shape[2], 181);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_string_equal(info.description, "spm - algebra");
    assert_int_equal(info.compressed, 1);
    assert_int_equal(info.scaled, 0);
    vxt_image_destroy(img);
}

static void test_scaling_arithmetic(void **state)
{
    (void)state;
    /* float32: (float)raw * slope, then + inter, each rounded; the add of 0 is skipped (keeps -0.0) */
    size_t n = 0;
    unsigned char *b = ntu_make_nii1(4, 3, 2, &n);
    unsigned char *big = calloc(1, 352 + 24 * 4);
    memcpy(big, b, 352);
    ntu_put_i16(big, 70, 16); /* float32 data */
    ntu_put_i16(big, 72, 32);
    float vals[24];
    vxt_rng r = {12345};
    for (int i = 0; i < 24; i++)
        vals[i] = vxt_rng_uniform(&r, -1000.0f, 1000.0f);
    vals[0] = -0.0f;
    vals[1] = 1e-30f;
    memcpy(big + 352, vals, sizeof vals);
    const float slope = 0.3f, inter = -17.125f;
    ntu_put_f32(big, 112, slope);
    ntu_put_f32(big, 116, inter);
    vxt_read_options o;
    vxt_read_options_init(&o);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(big, 352 + sizeof vals, &o, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    const float *f = (const float *)v.data;
    for (int i = 0; i < 24; i++) {
        volatile float want = vals[i] * slope;
        want = want + inter;
        assert_memory_equal(&f[i], (const void *)&want, 4);
    }
    vxt_image_destroy(img);

    ntu_put_f32(big, 116, 0.0f); /* intercept 0: no add, -0.0 * 0.3 stays -0.0 */
    assert_ok(vxt_nifti_read_memory(big, 352 + sizeof vals, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_true(signbit(((const float *)v.data)[0]));
    vxt_image_destroy(img);

    /* slope 0 or NaN: no scaling (AUTO keeps the stored type, FLOAT32 converts only) */
    ntu_put_f32(b, 112, 0.0f);
    ntu_put_f32(b, 116, 100.0f);
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_I16);
    vxt_image_destroy(img);
    ntu_put_f32(b, 112, NAN);
    o.scaling = VXT_SCALING_FLOAT32;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_true(((const float *)v.data)[0] == -7.0f && ((const float *)v.data)[3] == 2.0f);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_int_equal(info.scaled, 0);
    assert_int_equal(info.stored_dtype, VXT_DTYPE_I16);
    vxt_image_destroy(img);

    /* int16 scaled in AUTO: float32 */
    ntu_put_f32(b, 112, 2.0f);
    ntu_put_f32(b, 116, -1024.0f);
    o.scaling = VXT_SCALING_AUTO;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_true(((const float *)v.data)[1] == (-4.0f * 2.0f) - 1024.0f);
    vxt_image_destroy(img);
    free(big);
    free(b);
}

static void test_volume_selection(void **state)
{
    (void)state;
    const char *path = ntu_data("4d_uint16.nii.gz");
    vxt_image *all = read_opts(path, VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
    vxt_volume av;
    assert_ok(vxt_image_volume(all, &av));
    assert_int_equal(av.channels, 3);
    size_t vol_bytes = (size_t)(av.shape[0] * av.shape[1] * av.shape[2]) * 2;
    size_t n = 0;
    unsigned char *bytes = ntu_slurp(path, &n);
    for (int64_t k = 0; k < 3; k++) {
        vxt_image *one = read_opts(path, VXT_SCALING_RAW, k, 0);
        vxt_volume ov;
        assert_ok(vxt_image_volume(one, &ov));
        assert_int_equal(ov.channels, 1);
        assert_memory_equal(ov.data, (const unsigned char *)av.data + (size_t)k * vol_bytes, vol_bytes);
        vxt_image_info info = {.struct_size = sizeof info};
        assert_ok(vxt_image_get_info(one, &info));
        vxt_nifti_info ni = ntu_nifti_info(one);
        assert_int_equal(ni.dim[0], 3);
        assert_int_equal(ni.dim[4], 1);
        assert_int_equal(info.volumes, 3);
        assert_int_equal(info.volume_index, k);
        vxt_image_destroy(one);
        /* memory form */
        vxt_read_options o;
        vxt_read_options_init(&o);
        o.volume = k;
        assert_ok(vxt_nifti_read_memory(bytes, n, &o, &one));
        assert_ok(vxt_image_volume(one, &ov));
        assert_memory_equal(ov.data, (const unsigned char *)av.data + (size_t)k * vol_bytes, vol_bytes);
        vxt_image_destroy(one);
    }
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.volume = 3;
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_nifti_read_file(path, &o, &img), VXT_ERR_INVALID_ARGUMENT, "volume = 3");
    assert_null(img);
    assert_status_msg(vxt_nifti_read_memory(bytes, n, &o, &img), VXT_ERR_INVALID_ARGUMENT, "3 volumes");
    /* a 3D file has one volume */
    o.volume = 0;
    assert_ok(vxt_nifti_read_file(ntu_data("type_int16.nii"), &o, &img));
    vxt_image_destroy(img);
    o.volume = 1;
    assert_status_msg(vxt_nifti_read_file(ntu_data("type_int16.nii"), &o, &img), VXT_ERR_INVALID_ARGUMENT,
                      "1 volume ");
    free(bytes);
    vxt_image_destroy(all);
}

static void test_header_only(void **state)
{
    (void)state;
    vxt_image *img = read_opts(ntu_data("../mricron_ch2.nii.gz"), VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES,
                               VXT_READ_HEADER_ONLY);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_int_equal(info.has_data, 0);
    assert_int_equal(ntu_nifti_info(img).dim[1], 181);
    assert_int_equal(info.dtype, VXT_DTYPE_U8);
    vxt_volume v;
    assert_status_msg(vxt_image_volume(img, &v), VXT_ERR_STATE, "HEADER_ONLY");
    vxt_image *r = NULL;
    assert_status_msg(vxt_image_reorient(img, "LPS", &r), VXT_ERR_STATE, "HEADER_ONLY");
    void *buf = NULL;
    size_t sz = 0;
    assert_status_msg(vxt_nifti_write_memory(img, NULL, &buf, &sz), VXT_ERR_STATE, "no voxels");
    vxt_image_destroy(img);

    /* the data is not read: a file cut inside its voxels still gives its header */
    size_t n = 0;
    unsigned char *bytes = ntu_slurp(ntu_data("../mricron_ch2.nii.gz"), &n);
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.flags = VXT_READ_HEADER_ONLY;
    assert_ok(vxt_nifti_read_memory(bytes, n / 4, &o, &img));
    vxt_image_destroy(img);
    o.flags = 0;
    assert_status_msg(vxt_nifti_read_memory(bytes, n / 4, &o, &img), VXT_ERR_TRUNCATED, "ends early");
    free(bytes);
}

static void test_pairs(void **state)
{
    (void)state;
    const cJSON *e = ntu_entry("pair_int8.hdr");
    assert_non_null(e);
    char dir[4096], p[4200], q[4200];
    ntu_tmpdir(dir, sizeof dir);
    size_t hn = 0, in = 0;
    unsigned char *h = ntu_slurp(ntu_data("pair_int8.hdr"), &hn);
    unsigned char *d = ntu_slurp(ntu_data("pair_int8.img"), &in);
    /* named by its .img; upper case names; compressed .hdr.gz/.img.gz; mixed */
    static const char *names[][2] = {{"a.hdr", "a.img"},          {"B.HDR", "B.IMG"}, {"c.hdr.gz", "c.img.gz"},
                                     {"d.hdr", "d.img.gz"},       {"e.hdr.gz", "e.img"}};
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[t][0]);
        snprintf(q, sizeof q, "%s/%s", dir, names[t][1]);
        size_t zn;
        unsigned char *z;
        if (strstr(names[t][0], ".gz")) {
            z = ntu_gzip(h, hn, &zn);
            ntu_spit(p, z, zn);
            free(z);
        } else {
            ntu_spit(p, h, hn);
        }
        if (strstr(names[t][1], ".gz")) {
            z = ntu_gzip(d, in, &zn);
            ntu_spit(q, z, zn);
            free(z);
        } else {
            ntu_spit(q, d, in);
        }
        for (int which = 0; which < 2; which++) {
            vxt_image *img = read_opts(which ? q : p, VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
            vxt_volume v;
            assert_ok(vxt_image_volume(img, &v));
            assert_int_equal(ntu_crc_raw(&v), (uint32_t)ntu_num(e, "raw_crc32"));
            vxt_image_info info = {.struct_size = sizeof info};
            assert_ok(vxt_image_get_info(img, &info));
            assert_int_equal(ntu_nifti_info(img).single_file, 0);
            assert_int_equal(info.compressed, strstr(names[t][1], ".gz") != NULL);
            vxt_image_destroy(img);
        }
    }
    /* the data file is missing */
    snprintf(p, sizeof p, "%s/lonely.hdr", dir);
    ntu_spit(p, h, hn);
    vxt_image *img = NULL;
    assert_status_msg(vxt_nifti_read_file(p, NULL, &img), VXT_ERR_IO, "lonely.img");
    /* a pair header under another name */
    snprintf(p, sizeof p, "%s/pair.nii", dir);
    ntu_spit(p, h, hn);
    assert_status_msg(vxt_nifti_read_file(p, NULL, &img), VXT_ERR_FORMAT, "separate .img");
    /* header-only reads of a pair need no data file */
    snprintf(p, sizeof p, "%s/lonely.hdr", dir);
    vxt_image *ho = read_opts(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, VXT_READ_HEADER_ONLY);
    vxt_image_destroy(ho);
    /* a pair cannot come from one buffer */
    assert_status_msg(vxt_nifti_read_memory(h, hn, NULL, &img), VXT_ERR_UNSUPPORTED, ".hdr/.img pair");
    free(h);
    free(d);
    ntu_rmtree(dir);
}

static void test_layout_details(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *b = ntu_make_nii1(5, 4, 3, &n);
    vxt_image *img = NULL, *ref = NULL;
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &ref));
    vxt_volume rv, v;
    assert_ok(vxt_image_volume(ref, &rv));
    assert_true(((const int16_t *)rv.data)[0] == -7 && ((const int16_t *)rv.data)[59] == 170);

    /* dims beyond dim[0] are ignored, even 0 or negative */
    ntu_put_i16(b, 40 + 2 * 4, 0);
    ntu_put_i16(b, 40 + 2 * 5, -3);
    ntu_put_i16(b, 40 + 2 * 7, 32767);
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.channels, 1);
    assert_memory_equal(v.data, rv.data, 120);
    vxt_image_destroy(img);

    /* vox_offset 0 in a single file: nifti_clib reads from 348, nibabel from 0; refused (test_nifti_oracle) */
    ntu_put_f32(b, 108, 0.0f);
    assert_status_msg(vxt_nifti_read_memory(b, n, &o, &img), VXT_ERR_FORMAT, "vox_offset = 0 in a single-file");
    ntu_put_f32(b, 108, 352.0f);

    /* an unaligned vox_offset with a gap (and no extensions: extender 0), plain and compressed */
    unsigned char *g = calloc(1, n + 9);
    memcpy(g, b, 352);
    memcpy(g + 361, b + 352, n - 352);
    ntu_put_f32(g, 108, 361.0f);
    g[352] = 0;
    g[355] = 0x7f; /* garbage in the gap, after a zero extender */
    assert_ok(vxt_nifti_read_memory(g, n + 9, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_memory_equal(v.data, rv.data, 120);
    assert_int_equal(vxt_nifti_extension_count(img), 0);
    vxt_image_destroy(img);
    size_t zn = 0;
    unsigned char *z = ntu_gzip(g, n + 9, &zn);
    o.scaling = VXT_SCALING_FLOAT32;
    assert_ok(vxt_nifti_read_memory(z, zn, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_true(((uintptr_t)v.data % 16) == 0);
    for (int i = 0; i < 60; i++)
        assert_true(((const float *)v.data)[i] == (float)((const int16_t *)rv.data)[i]);
    vxt_image_destroy(img);
    free(z);
    free(g);

    /* bytes after the voxels (and after the gzip stream) are ignored */
    unsigned char *t = calloc(1, n + 100);
    memcpy(t, b, n);
    o.scaling = VXT_SCALING_RAW;
    assert_ok(vxt_nifti_read_memory(t, n + 100, &o, &img));
    vxt_image_destroy(img);
    z = ntu_gzip(t, n + 100, &zn);
    unsigned char *zt = calloc(1, zn + 7);
    memcpy(zt, z, zn);
    memcpy(zt + zn, "garbage", 7);
    assert_ok(vxt_nifti_read_memory(zt, zn + 7, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_memory_equal(v.data, rv.data, 120);
    vxt_image_destroy(img);
    /* a compressed file much larger than its header announces is streamed, not read whole */
    char dir[4096], path[4200];
    ntu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/junk.nii.gz", dir);
    size_t big = zn + (3u << 20);
    unsigned char *zj = calloc(1, big);
    memcpy(zj, z, zn);
    ntu_spit(path, zj, big);
    assert_ok(vxt_nifti_read_file(path, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_memory_equal(v.data, rv.data, 120);
    vxt_image_destroy(img);
    /* and so is one whose whole-file buffer would exceed max_bytes (the voxels alone fit) */
    snprintf(path, sizeof path, "%s/plain.nii.gz", dir);
    ntu_spit(path, z, zn);
    o.max_bytes = 120;
    assert_ok(vxt_nifti_read_file(path, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_memory_equal(v.data, rv.data, 120);
    vxt_image_destroy(img);
    ntu_rmtree(dir);
    free(zj);
    free(zt);
    free(z);
    free(t);
    vxt_image_destroy(ref);
    free(b);
}

static void test_nifti2_built_here(void **state)
{
    (void)state;
    /* NIfTI-2 from raw bytes, then the same header byte-swapped to big-endian */
    size_t n = 0;
    unsigned char *b = ntu_make_nii2(5, 4, 3, &n);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(b, n, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_true(((const int16_t *)v.data)[2] == -1);
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(img, &g));
    assert_true(g.affine[0][0] == 1.5 && g.affine[2][3] == -30);
    vxt_image_destroy(img);
    free(b);
}

static void test_options(void **state)
{
    (void)state;
    vxt_read_options o;
    vxt_read_options_init(&o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.scaling, VXT_SCALING_AUTO);
    assert_int_equal(o.volume, VXT_READ_ALL_VOLUMES);
    vxt_read_options_init(NULL);
    const char *p = ntu_data("type_int16.nii");
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    o.struct_size = 8;
    assert_status_msg(vxt_nifti_read_file(p, &o, &img), VXT_ERR_STRUCT_SIZE, "struct_size is 8");
    assert_null(img);
    vxt_read_options_init(&o);
    o.scaling = (vxt_scaling)9;
    assert_status_msg(vxt_nifti_read_file(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "scaling = 9");
    vxt_read_options_init(&o);
    o.volume = -2;
    assert_status_msg(vxt_nifti_read_file(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "volume = -2");
    vxt_read_options_init(&o);
    o.flags = 0x10;
    assert_status_msg(vxt_nifti_read_file(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "flags = 0x10");
    /* a larger struct from a newer header is accepted when its extra bytes are zero */
    struct {
        vxt_read_options o;
        uint64_t future;
    } big;
    memset(&big, 0, sizeof big);
    vxt_read_options_init(&big.o);
    big.o.struct_size = sizeof big;
    assert_ok(vxt_nifti_read_file(p, &big.o, &img));
    vxt_image_destroy(img);
    big.future = 1;
    assert_status_msg(vxt_nifti_read_file(p, &big.o, &img), VXT_ERR_STRUCT_SIZE, "newer");

    assert_status_msg(vxt_nifti_read_file(NULL, NULL, &img), VXT_ERR_NULL, "path");
    assert_status_msg(vxt_nifti_read_file(p, NULL, NULL), VXT_ERR_NULL, "out");
    assert_status_msg(vxt_nifti_read_memory(NULL, 10, NULL, &img), VXT_ERR_NULL, "data");
    assert_status_msg(vxt_nifti_read_memory(p, 10, NULL, NULL), VXT_ERR_NULL, "out");

    /* info and geometry struct sizes */
    assert_ok(vxt_nifti_read_file(p, NULL, &img));
    vxt_image_info info = {.struct_size = 4};
    assert_status_msg(vxt_image_get_info(img, &info), VXT_ERR_STRUCT_SIZE, "struct_size is 4");
    assert_status_msg(vxt_image_get_info(NULL, &info), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_image_get_info(img, NULL), VXT_ERR_NULL, "info");
    vxt_geometry g = {.struct_size = 0};
    assert_status_msg(vxt_image_get_geometry(img, &g), VXT_ERR_STRUCT_SIZE, "struct_size is 0");
    vxt_volume v;
    assert_status_msg(vxt_image_volume(NULL, &v), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_image_volume(img, NULL), VXT_ERR_NULL, "view");
    assert_int_equal(vxt_nifti_extension_count(NULL), 0);
    assert_status_msg(vxt_nifti_get_extension(img, 0, NULL, NULL, NULL), VXT_ERR_INVALID_ARGUMENT, "index = 0");
    assert_status_msg(vxt_nifti_get_extension(NULL, 0, NULL, NULL, NULL), VXT_ERR_NULL, "img");
    g.struct_size = sizeof g;
    assert_status_msg(vxt_image_get_geometry(NULL, &g), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_image_get_geometry(img, NULL), VXT_ERR_NULL, "geom");
    assert_status_msg(vxt_nifti_set_intent(NULL, 0, NULL, NULL), VXT_ERR_NULL, "img");
    vxt_geometry r = {.struct_size = sizeof r};
    int64_t shape[3] = {2, 3, 4};
    double sp[3] = {1, 1, 1};
    assert_status_msg(vxt_geometry_respace(NULL, shape, sp, &r), VXT_ERR_NULL, "in");
    assert_status_msg(vxt_geometry_respace(&g, shape, NULL, &r), VXT_ERR_NULL, "spacing");
    assert_status_msg(vxt_geometry_respace(&g, shape, sp, NULL), VXT_ERR_NULL, "out");
    vxt_image_destroy(img);
    vxt_image_destroy(NULL);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(vxt_affine_source_name(VXT_AFFINE_SFORM), "sform");
    assert_string_equal(vxt_affine_source_name(VXT_AFFINE_QFORM), "qform");
    assert_string_equal(vxt_affine_source_name(VXT_AFFINE_FALLBACK), "fallback");
    assert_string_equal(vxt_affine_source_name((vxt_affine_source)7), "unknown");
    assert_string_equal(vxt_nifti_xform_name(4), "mni");
    assert_string_equal(vxt_nifti_xform_name(6), "invalid");
    assert_string_equal(vxt_nifti_units_name(VXT_NIFTI_UNITS_MM), "mm");
    assert_string_equal(vxt_nifti_units_name(VXT_NIFTI_UNITS_MSEC), "ms");
    assert_string_equal(vxt_nifti_units_name(3 | 8), "invalid");
    assert_string_equal(vxt_nifti_datatype_name(4), "int16");
    assert_string_equal(vxt_nifti_datatype_name(128), "RGB24");
    assert_string_equal(vxt_nifti_datatype_name(3), "invalid");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_reference_files),
        cmocka_unit_test(test_real_volume),
        cmocka_unit_test(test_scaling_arithmetic),
        cmocka_unit_test(test_volume_selection),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_layout_details),
        cmocka_unit_test(test_nifti2_built_here),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_names),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
