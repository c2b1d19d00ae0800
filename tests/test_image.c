/* test_image.c - the format-neutral image API: vxt_image_read_path() (the format chosen from the file's content:
 * NIfTI .nii, .nii.gz, .hdr/.img pairs, NumPy .npy arrays of 2, 3 and 4 dimensions), its options (volume,
 * scaling, header-only reads, max_bytes) and errors; vxt_image_write_path() (the format chosen from the name:
 * .npy, .nii, .nii.gz; atomic: a failed write leaves an existing file untouched); vxt_image_get_info() of images
 * read from NIfTI and created in memory; vxt_nifti_get_info() of created images; vxt_format_name/_parse. Files
 * are written to a fresh directory under /tmp, removed after each test. */
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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vxt-test-image-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ntu_rmtree(tmpdir);
    struct stat sb;
    return stat(tmpdir, &sb) == 0 ? -1 : 0; /* everything is gone */
}

/* tmpdir/name into out. */
static void tpath(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", tmpdir, name);
    assert_true(n > 0 && (size_t)n < size);
}

static vxt_image *read_path(const char *path, vxt_scaling scaling, int64_t volume, unsigned flags)
{
    return ntu_read(path, scaling, volume, flags, 0);
}

static vxt_image_info get_info(const vxt_image *img)
{
    vxt_image_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    assert_ok(vxt_image_get_info(img, &info));
    return info;
}

static vxt_geometry get_geometry(const vxt_image *img)
{
    vxt_geometry g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    assert_ok(vxt_image_get_geometry(img, &g));
    return g;
}

/* The spacing, affine and orientation of the info are the geometry's. */
static void assert_info_matches_geometry(const vxt_image_info *info, const vxt_geometry *g)
{
    assert_memory_equal(info->spacing, g->spacing, sizeof info->spacing);
    assert_memory_equal(info->affine, g->affine, sizeof info->affine);
    assert_string_equal(info->orientation, g->orientation);
}

/* nibabel's fallback affine for a grid of shape (nk, nj, ni) with 1 mm voxels: diag(-1, 1, 1), centred. */
static void fallback_affine(const int64_t shape[3], double m[4][4])
{
    memset(m, 0, 16 * sizeof(double));
    m[0][0] = -1.0;
    m[1][1] = 1.0;
    m[2][2] = 1.0;
    m[3][3] = 1.0;
    m[0][3] = ((double)shape[2] - 1.0) / 2.0;
    m[1][3] = -((double)shape[1] - 1.0) / 2.0;
    m[2][3] = -((double)shape[0] - 1.0) / 2.0;
}

/* What vxt_image_read_path() documents for .npy images: the stored fields of vxt_geometry_init() (1 mm voxels,
 * both codes 0), hence nibabel's fallback affine for the grid, "LAS", spacing 1. */
static void assert_npy_geometry(const vxt_image *img, const int64_t shape[3])
{
    vxt_geometry g = get_geometry(img), id;
    vxt_geometry_init(&id);
    assert_int_equal(g.qform_code, 0);
    assert_int_equal(g.sform_code, 0);
    assert_memory_equal(g.quatern, id.quatern, sizeof g.quatern);
    assert_memory_equal(g.qoffset, id.qoffset, sizeof g.qoffset);
    assert_memory_equal(g.pixdim, id.pixdim, sizeof g.pixdim);
    assert_memory_equal(g.srow, id.srow, sizeof g.srow);
    assert_int_equal(g.xyzt_units, id.xyzt_units);
    assert_int_equal(g.affine_source, VXT_AFFINE_FALLBACK);
    double want[4][4];
    fallback_affine(shape, want);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            if (g.affine[r][c] != want[r][c])
                fail_msg("affine[%d][%d] = %g, expected %g", r, c, g.affine[r][c], want[r][c]);
    for (int a = 0; a < 3; a++)
        assert_true(g.spacing[a] == 1.0);
    assert_string_equal(g.orientation, "LAS");
    vxt_image_info info = get_info(img);
    assert_info_matches_geometry(&info, &g);
}

static size_t count3(const int64_t shape[3])
{
    return (size_t)(shape[0] * shape[1] * shape[2]);
}

/* ---- NIfTI through vxt_image_read_path ---------------------------------------------------------------------- */

/* A NIfTI file read by path: the reference's voxels and affine, and the same image as vxt_nifti_read_file's. */
static void check_nifti_by_path(const char *path_in, const char *ref_file, int compressed, int single_file)
{
    char path[4300]; /* path_in may be ntu_data()'s buffer, which ntu_entry() reuses */
    snprintf(path, sizeof path, "%s", path_in);
    const cJSON *e = ntu_entry(ref_file);
    assert_non_null(e);
    vxt_image *img = read_path(path, VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
    vxt_image_info info = get_info(img);
    assert_int_equal(info.format, VXT_FORMAT_NIFTI);
    assert_string_equal(info.source, path);
    assert_int_equal(info.compressed, compressed);
    assert_int_equal(info.has_data, 1);
    assert_int_equal(ntu_nifti_info(img).single_file, single_file);
    double shape[4];
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int nd = cJSON_GetArraySize(sh);
    assert_true(nd >= 3 && nd <= 4);
    ntu_matrix(e, "shape", shape, nd, 1);
    assert_int_equal(info.shape[2], (int64_t)shape[0]);
    assert_int_equal(info.shape[1], (int64_t)shape[1]);
    assert_int_equal(info.shape[0], (int64_t)shape[2]);
    assert_int_equal(info.channels, nd > 3 ? (int64_t)shape[3] : 1);
    vxt_dtype want_dtype;
    assert_ok(vxt_dtype_parse(cJSON_GetObjectItemCaseSensitive(e, "raw_dtype")->valuestring, &want_dtype));
    assert_int_equal(info.dtype, want_dtype);
    assert_string_equal(info.description, cJSON_GetObjectItemCaseSensitive(e, "descrip")->valuestring);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(ntu_crc_raw(&v), (uint32_t)ntu_num(e, "raw_crc32"));
    double affine[16];
    ntu_matrix(e, "affine", affine, 4, 4);
    vxt_geometry g = get_geometry(img);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            assert_true(fabs(g.affine[r][c] - affine[4 * r + c]) <= 1e-6 * (1.0 + fabs(affine[4 * r + c])));
    assert_string_equal(g.orientation, cJSON_GetObjectItemCaseSensitive(e, "axcodes")->valuestring);
    assert_info_matches_geometry(&info, &g);

    /* the same image as the NIfTI reader's own */
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *direct = NULL;
    assert_ok(vxt_nifti_read_file(path, &o, &direct));
    vxt_geometry gd = get_geometry(direct);
    assert_memory_equal(&g, &gd, sizeof g);
    vxt_volume dv;
    assert_ok(vxt_image_volume(direct, &dv));
    size_t bytes = 0;
    assert_ok(vxt_volume_bytes(&v, &bytes));
    assert_memory_equal(v.data, dv.data, bytes);
    vxt_image_destroy(direct);
    vxt_image_destroy(img);
}

static void test_read_path_nifti(void **state)
{
    (void)state;
    check_nifti_by_path(ntu_data("le_int16_scaled.nii"), "le_int16_scaled.nii", 0, 1);
    check_nifti_by_path(ntu_data("permuted_int16.nii.gz"), "permuted_int16.nii.gz", 1, 1);
    check_nifti_by_path(ntu_data("4d_uint16.nii.gz"), "4d_uint16.nii.gz", 1, 1);
    /* a pair: named by its .hdr and by its .img (whose bytes are voxels: the name says it is a pair's) */
    check_nifti_by_path(ntu_data("pair_int8.hdr"), "pair_int8.hdr", 0, 0);
    check_nifti_by_path(ntu_data("pair_int8.img"), "pair_int8.hdr", 0, 0);

    /* the content decides, not the name: a .nii.gz and a pair under other names */
    size_t n = 0, hn = 0, in = 0;
    unsigned char *gz = ntu_slurp(ntu_data("permuted_int16.nii.gz"), &n);
    assert_non_null(gz);
    char p[4300], q[4300];
    tpath(p, sizeof p, "no_extension");
    ntu_spit(p, gz, n);
    check_nifti_by_path(p, "permuted_int16.nii.gz", 1, 1);
    free(gz);
    unsigned char *h = ntu_slurp(ntu_data("pair_int8.hdr"), &hn);
    unsigned char *d = ntu_slurp(ntu_data("pair_int8.img"), &in);
    assert_non_null(h);
    assert_non_null(d);
    tpath(p, sizeof p, "Pair.HDR");
    tpath(q, sizeof q, "Pair.IMG");
    ntu_spit(p, h, hn);
    ntu_spit(q, d, in);
    check_nifti_by_path(p, "pair_int8.hdr", 0, 0);
    check_nifti_by_path(q, "pair_int8.hdr", 0, 0);
    /* a compressed pair */
    size_t zn = 0;
    unsigned char *z = ntu_gzip(d, in, &zn);
    tpath(p, sizeof p, "gz.hdr");
    tpath(q, sizeof q, "gz.img.gz");
    ntu_spit(p, h, hn);
    ntu_spit(q, z, zn);
    check_nifti_by_path(p, "pair_int8.hdr", 1, 0);
    free(z);
    free(h);
    free(d);

    /* scaling options reach the NIfTI reader: AUTO gives the scaled float32 values */
    const cJSON *e = ntu_entry("le_int16_scaled.nii");
    vxt_image *img = read_path(ntu_data("le_int16_scaled.nii"), VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_int_equal(ntu_crc_raw(&v), (uint32_t)ntu_num(e, "scaled_crc32"));
    vxt_image_info info = get_info(img);
    assert_int_equal(info.scaled, 1);
    assert_int_equal(info.stored_dtype, VXT_DTYPE_I16);
    vxt_image_destroy(img);
    /* and so does the volume */
    img = read_path(ntu_data("4d_uint16.nii.gz"), VXT_SCALING_RAW, 2, 0);
    info = get_info(img);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.volumes, 3);
    assert_int_equal(info.volume_index, 2);
    vxt_image_destroy(img);
}

/* ---- .npy through vxt_image_read_path ----------------------------------------------------------------------- */

static void fill_i16(int16_t *p, size_t n, int salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (int16_t)((int)(i * 37 % 65536) - 32768 + salt);
}

static void test_read_path_npy_2d_3d(void **state)
{
    (void)state;
    char p[4300];
    /* 2D (y, x): one slice */
    {
        int64_t np_shape[2] = {5, 7};
        float vals[35];
        vxt_rng r = {7};
        for (int i = 0; i < 35; i++)
            vals[i] = vxt_rng_uniform(&r, -100.0f, 100.0f);
        vals[3] = -0.0f;
        tpath(p, sizeof p, "slice.npy");
        assert_ok(vxt_npy_write(p, VXT_DTYPE_F32, 2, np_shape, vals));
        vxt_image *img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
        vxt_image_info info = get_info(img);
        assert_int_equal(info.format, VXT_FORMAT_NPY);
        assert_string_equal(info.source, p);
        assert_int_equal(info.compressed, 0);
        assert_int_equal(info.dtype, VXT_DTYPE_F32);
        assert_int_equal(info.stored_dtype, VXT_DTYPE_F32);
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.shape[0], 1);
        assert_int_equal(info.shape[1], 5);
        assert_int_equal(info.shape[2], 7);
        assert_int_equal(info.has_data, 1);
        assert_int_equal(info.volumes, 1);
        assert_int_equal(info.volume_index, VXT_READ_ALL_VOLUMES);
        assert_int_equal(info.scaled, 0);
        assert_true(info.scl_slope == 0.0 || !isfinite(info.scl_slope)); /* no stored scaling */
        assert_string_equal(info.description, "");
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        assert_int_equal(v.dtype, VXT_DTYPE_F32);
        assert_int_equal(v.channels, 1);
        assert_memory_equal(v.shape, info.shape, sizeof v.shape);
        assert_memory_equal(v.data, vals, sizeof vals); /* bit for bit, -0.0 included */
        assert_true(((uintptr_t)v.data % 16) == 0);
        int64_t shape[3] = {1, 5, 7};
        assert_npy_geometry(img, shape);
        /* no stored scaling: FLOAT32 of float32 values gives them unchanged */
        vxt_image *f = read_path(p, VXT_SCALING_FLOAT32, VXT_READ_ALL_VOLUMES, 0);
        vxt_volume fv;
        assert_ok(vxt_image_volume(f, &fv));
        assert_memory_equal(fv.data, vals, sizeof vals);
        vxt_image_destroy(f);
        vxt_image_destroy(img);
    }
    /* 3D (z, y, x), every integer type and float64: the values and dtype as written */
    static const vxt_dtype dtypes[] = {VXT_DTYPE_U8,  VXT_DTYPE_I8,  VXT_DTYPE_U16, VXT_DTYPE_I16,
                                       VXT_DTYPE_U32, VXT_DTYPE_I32, VXT_DTYPE_U64, VXT_DTYPE_I64,
                                       VXT_DTYPE_F32, VXT_DTYPE_F64};
    int64_t shape[3] = {3, 4, 5};
    const size_t n = count3(shape);
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
        const size_t es = vxt_dtype_size(dtypes[t]);
        unsigned char *data = malloc(n * es);
        assert_non_null(data);
        vxt_rng r = {100 + t};
        for (size_t i = 0; i < n * es; i++)
            data[i] = (unsigned char)vxt_rng_u32(&r);
        if (dtypes[t] == VXT_DTYPE_F32 || dtypes[t] == VXT_DTYPE_F64) /* no NaN payload games: plain values */
            for (size_t i = 0; i < n; i++) {
                if (dtypes[t] == VXT_DTYPE_F32) {
                    float x = (float)i * 0.25f - 3.0f;
                    memcpy(data + i * 4, &x, 4);
                } else {
                    double x = (double)i * 0.1 - 2.0;
                    memcpy(data + i * 8, &x, 8);
                }
            }
        char name[64];
        snprintf(name, sizeof name, "vol_%s.npy", vxt_dtype_name(dtypes[t]));
        tpath(p, sizeof p, name);
        assert_ok(vxt_npy_write(p, dtypes[t], 3, shape, data));
        vxt_image *img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
        vxt_image_info info = get_info(img);
        assert_int_equal(info.format, VXT_FORMAT_NPY);
        assert_string_equal(info.source, p);
        assert_int_equal(info.dtype, dtypes[t]);
        assert_int_equal(info.stored_dtype, dtypes[t]);
        assert_int_equal(info.channels, 1);
        assert_memory_equal(info.shape, shape, sizeof shape);
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        assert_int_equal(v.dtype, dtypes[t]);
        assert_memory_equal(v.data, data, n * es);
        assert_npy_geometry(img, shape);
        /* RAW is the same as AUTO for .npy (no stored scaling) */
        vxt_image *raw = read_path(p, VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
        vxt_volume rv;
        assert_ok(vxt_image_volume(raw, &rv));
        assert_int_equal(rv.dtype, dtypes[t]);
        assert_memory_equal(rv.data, data, n * es);
        vxt_image_destroy(raw);
        /* a volume of a 3D array: only 0 */
        vxt_image *one = read_path(p, VXT_SCALING_AUTO, 0, 0);
        vxt_volume ov;
        assert_ok(vxt_image_volume(one, &ov));
        assert_memory_equal(ov.data, data, n * es);
        vxt_image_destroy(one);
        vxt_image_destroy(img);
        free(data);
    }
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.volume = 1;
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "volume = 1");
    assert_null(img);
}

static void test_read_path_npy_4d(void **state)
{
    (void)state;
    char p[4300];
    int64_t np_shape[4] = {4, 3, 5, 6};
    const int64_t shape[3] = {3, 5, 6};
    const size_t vox = count3(shape), n = vox * 4;
    int16_t *data = malloc(n * sizeof *data);
    assert_non_null(data);
    fill_i16(data, n, 11);
    data[0] = INT16_MIN;
    data[1] = INT16_MAX;
    data[2] = -1;
    tpath(p, sizeof p, "channels.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 4, np_shape, data));

    /* all channels */
    vxt_image *img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_image_info info = get_info(img);
    assert_int_equal(info.format, VXT_FORMAT_NPY);
    assert_int_equal(info.channels, 4);
    assert_memory_equal(info.shape, shape, sizeof shape);
    assert_int_equal(info.volumes, 4);
    assert_int_equal(info.volume_index, VXT_READ_ALL_VOLUMES);
    assert_int_equal(info.dtype, VXT_DTYPE_I16);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.channels, 4);
    assert_memory_equal(v.data, data, n * 2);
    assert_npy_geometry(img, shape);
    vxt_image_destroy(img);

    /* `volume` picks one channel */
    for (int64_t c = 0; c < 4; c++) {
        img = read_path(p, VXT_SCALING_RAW, c, 0);
        info = get_info(img);
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.volumes, 4);
        assert_int_equal(info.volume_index, c);
        assert_memory_equal(info.shape, shape, sizeof shape);
        assert_ok(vxt_image_volume(img, &v));
        assert_int_equal(v.channels, 1);
        assert_memory_equal(v.data, data + (size_t)c * vox, vox * 2);
        assert_npy_geometry(img, shape);
        vxt_image_destroy(img);
    }
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.volume = 4;
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "4 channels");
    assert_null(img);

    /* FLOAT32: int16 values converted exactly, all channels and one */
    img = read_path(p, VXT_SCALING_FLOAT32, VXT_READ_ALL_VOLUMES, 0);
    info = get_info(img);
    assert_int_equal(info.dtype, VXT_DTYPE_F32);
    assert_int_equal(info.stored_dtype, VXT_DTYPE_I16);
    assert_int_equal(info.scaled, 0); /* converted, not scaled: .npy has no scaling */
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    assert_int_equal(v.channels, 4);
    for (size_t i = 0; i < n; i++)
        if (((const float *)v.data)[i] != (float)data[i])
            fail_msg("element %zu: %g, expected %d", i, (double)((const float *)v.data)[i], data[i]);
    vxt_image_destroy(img);
    img = read_path(p, VXT_SCALING_FLOAT32, 3, 0);
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    for (size_t i = 0; i < vox; i++)
        assert_true(((const float *)v.data)[i] == (float)data[3 * vox + i]);
    vxt_image_destroy(img);

    /* header only: everything but the voxels */
    img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, VXT_READ_HEADER_ONLY);
    info = get_info(img);
    assert_int_equal(info.has_data, 0);
    assert_int_equal(info.format, VXT_FORMAT_NPY);
    assert_int_equal(info.channels, 4);
    assert_memory_equal(info.shape, shape, sizeof shape);
    assert_int_equal(info.dtype, VXT_DTYPE_I16);
    assert_status_msg(vxt_image_volume(img, &v), VXT_ERR_STATE, "HEADER_ONLY");
    assert_npy_geometry(img, shape);
    /* and it has nothing to write */
    char q[4300];
    tpath(q, sizeof q, "from_header_only.npy");
    assert_status_msg(vxt_image_write_path(img, q, NULL), VXT_ERR_STATE, "HEADER_ONLY");
    assert_int_equal(access(q, F_OK), -1);
    vxt_image_destroy(img);

    /* max_bytes: the voxels held (after conversion) must fit */
    vxt_read_options_init(&o);
    o.max_bytes = n * 2;
    assert_ok(vxt_image_read_path(p, &o, &img)); /* exactly enough */
    vxt_image_destroy(img);
    o.max_bytes = n * 2 - 1;
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, &o, &img), VXT_ERR_OUT_OF_MEMORY, "max_bytes");
    assert_null(img);
    o.volume = 1; /* one channel fits */
    assert_ok(vxt_image_read_path(p, &o, &img));
    assert_ok(vxt_image_volume(img, &v));
    assert_memory_equal(v.data, data + vox, vox * 2);
    vxt_image_destroy(img);
    o.volume = VXT_READ_ALL_VOLUMES;
    o.scaling = VXT_SCALING_FLOAT32; /* float32 needs twice the bytes */
    o.max_bytes = n * 2;
    assert_status_msg(vxt_image_read_path(p, &o, &img), VXT_ERR_OUT_OF_MEMORY, "max_bytes");
    o.max_bytes = n * 4;
    assert_ok(vxt_image_read_path(p, &o, &img));
    vxt_image_destroy(img);
    free(data);
}

/* IEEE binary16 bits to float (test-side reference). */
static float half_to_float(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 1024), e - 25);
    return s ? -v : v;
}

static void test_read_path_npy_float16(void **state)
{
    (void)state;
    char p[4300];
    int64_t shape[3] = {2, 3, 4};
    uint16_t h[24] = {0x0000, 0x8000, 0x3C00, 0xC100, 0x3800, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555, 0xFBFF, 0x4248};
    for (int i = 12; i < 24; i++)
        h[i] = (uint16_t)(0x3C00 + 37 * i);
    tpath(p, sizeof p, "half.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_F16, 3, shape, h));
    /* AUTO keeps float16 */
    vxt_image *img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F16);
    assert_memory_equal(v.data, h, sizeof h);
    vxt_image_destroy(img);
    /* FLOAT32 converts them exactly (every float16 is a float32) */
    img = read_path(p, VXT_SCALING_FLOAT32, VXT_READ_ALL_VOLUMES, 0);
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_F32);
    for (int i = 0; i < 24; i++) {
        float want = half_to_float(h[i]), got = ((const float *)v.data)[i];
        if (memcmp(&got, &want, 4) != 0)
            fail_msg("float16 0x%04x read as float32: %a, expected %a", h[i], (double)got, (double)want);
    }
    vxt_image_destroy(img);
}

/* VXT_READ_HEADER_ONLY: "the data is neither read nor checked", as for NIfTI (test_nifti_read's test_header_only):
 * a .npy file cut inside its data still gives its header. */
static void test_read_path_npy_header_only_skips_data(void **state)
{
    (void)state;
    char p[4300];
    int64_t shape[3] = {2, 4, 8};
    int16_t vals[64];
    fill_i16(vals, 64, 0);
    tpath(p, sizeof p, "cut.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 3, shape, vals));
    size_t n = 0;
    unsigned char *b = ntu_slurp(p, &n);
    assert_non_null(b);
    ntu_spit(p, b, n - 10);
    free(b);
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_TRUNCATED, "truncated");
    assert_null(img);
    img = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, VXT_READ_HEADER_ONLY);
    vxt_image_info info = get_info(img);
    assert_int_equal(info.has_data, 0);
    assert_int_equal(info.format, VXT_FORMAT_NPY);
    assert_memory_equal(info.shape, shape, sizeof shape);
    assert_int_equal(info.dtype, VXT_DTYPE_I16);
    vxt_image_destroy(img);
}

/* ---- errors of vxt_image_read_path ------------------------------------------------------------------------ */

static void test_read_path_errors(void **state)
{
    (void)state;
    char p[4300];
    vxt_image *img = (vxt_image *)(uintptr_t)1;

    /* random bytes */
    unsigned char junk[1000];
    vxt_rng r = {4242};
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)vxt_rng_u32(&r);
    memcpy(junk, "JUNK", 4); /* neither gzip, nor a NIfTI sizeof_hdr, nor the .npy magic */
    tpath(p, sizeof p, "random.bin");
    ntu_spit(p, junk, sizeof junk);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_FORMAT, p);
    assert_null(img);
    assert_non_null(strstr(vxt_last_error(), "not a NIfTI, .npy or DICOM file"));
    /* ... also under a NIfTI or .npy name */
    tpath(p, sizeof p, "random.nii");
    ntu_spit(p, junk, sizeof junk);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_FORMAT, p);
    tpath(p, sizeof p, "random.npy");
    ntu_spit(p, junk, sizeof junk);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_FORMAT, p);
    /* an empty file and a tiny one */
    tpath(p, sizeof p, "empty.nii");
    ntu_spit(p, "", 0);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_FORMAT, p);
    tpath(p, sizeof p, "tiny");
    ntu_spit(p, "ab", 2);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_FORMAT, p);
    assert_null(img);

    /* a missing file, a directory */
    tpath(p, sizeof p, "missing.nii.gz");
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_IO, p);
    assert_null(img);
    /* a folder is read as a DICOM series: this one holds none (without GDCM: no DICOM at all, said so) */
    if (vxt_dicom_gdcm_version())
        assert_status_msg(vxt_image_read_path(tmpdir, NULL, &img), VXT_ERR_FORMAT, "holds no DICOM image");
    else
        assert_status_msg(vxt_image_read_path(tmpdir, NULL, &img), VXT_ERR_UNSUPPORTED, "built without GDCM");

    /* .npy arrays that are not images: 1 and 5 dimensions, an empty array */
    int64_t s1[1] = {10};
    int16_t vals[64] = {0};
    tpath(p, sizeof p, "line.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 1, s1, vals));
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_UNSUPPORTED, "1 dimension");
    assert_null(img);
    int64_t s5[5] = {2, 2, 2, 2, 2};
    tpath(p, sizeof p, "five.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 5, s5, vals));
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_UNSUPPORTED, "5 dimensions");
    int64_t s0[3] = {2, 0, 3};
    tpath(p, sizeof p, "empty.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 3, s0, vals));
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_UNSUPPORTED, "empty");
    assert_null(img);
    /* a truncated .npy: its reader's error */
    int64_t s3[3] = {2, 4, 8};
    tpath(p, sizeof p, "cut.npy");
    assert_ok(vxt_npy_write(p, VXT_DTYPE_I16, 3, s3, vals));
    size_t n = 0;
    unsigned char *b = ntu_slurp(p, &n);
    assert_non_null(b);
    ntu_spit(p, b, n - 10);
    free(b);
    assert_status_msg(vxt_image_read_path(p, NULL, &img), VXT_ERR_TRUNCATED, "truncated");
    assert_null(img);

    /* NULL arguments */
    const char *good = ntu_data("type_int16.nii");
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(NULL, NULL, &img), VXT_ERR_NULL, "path");
    assert_null(img);
    assert_status_msg(vxt_image_read_path(good, NULL, NULL), VXT_ERR_NULL, "out");

    /* options */
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.struct_size = 8;
    img = (vxt_image *)(uintptr_t)1;
    assert_status_msg(vxt_image_read_path(good, &o, &img), VXT_ERR_STRUCT_SIZE, "struct_size is 8");
    assert_null(img);
    o.struct_size = 0;
    assert_status_msg(vxt_image_read_path(good, &o, &img), VXT_ERR_STRUCT_SIZE, "");
    vxt_read_options_init(&o);
    o.scaling = (vxt_scaling)7;
    assert_status_msg(vxt_image_read_path(good, &o, &img), VXT_ERR_INVALID_ARGUMENT, "scaling = 7");
    vxt_read_options_init(&o);
    o.volume = -2;
    assert_status_msg(vxt_image_read_path(good, &o, &img), VXT_ERR_INVALID_ARGUMENT, "volume = -2");
    vxt_read_options_init(&o);
    o.flags = 0x80;
    assert_status_msg(vxt_image_read_path(good, &o, &img), VXT_ERR_INVALID_ARGUMENT, "flags = 0x80");
    /* the options are checked before the file is looked at */
    tpath(p, sizeof p, "missing.npy");
    assert_status_msg(vxt_image_read_path(p, &o, &img), VXT_ERR_INVALID_ARGUMENT, "flags = 0x80");
    assert_null(img);
    /* defaults with NULL options */
    assert_ok(vxt_image_read_path(good, NULL, &img));
    assert_int_equal(get_info(img).format, VXT_FORMAT_NIFTI);
    vxt_image_destroy(img);
}

/* ---- vxt_image_write_path -------------------------------------------------------------------------------- */

static void test_write_path_npy(void **state)
{
    (void)state;
    char p[4300];
    /* one channel: (z, y, x) */
    int64_t shape[3] = {3, 4, 5};
    const size_t n = count3(shape);
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    fill_i16((int16_t *)v.data, n, 3);
    tpath(p, sizeof p, "one.npy");
    assert_ok(vxt_image_write_path(img, p, NULL));
    vxt_npy_info ni = {.struct_size = sizeof ni};
    assert_ok(vxt_npy_read_info(p, &ni));
    assert_int_equal(ni.ndim, 3);
    assert_int_equal(ni.shape[0], 3);
    assert_int_equal(ni.shape[1], 4);
    assert_int_equal(ni.shape[2], 5);
    assert_int_equal(ni.dtype, VXT_DTYPE_I16);
    assert_int_equal(ni.count, n);
    int16_t *back = malloc(n * 2);
    assert_non_null(back);
    assert_ok(vxt_npy_read(p, &ni, 0, n, back));
    assert_memory_equal(back, v.data, n * 2);
    free(back);
    /* read back as an image: the same voxels */
    vxt_image *rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_volume rv;
    assert_ok(vxt_image_volume(rb, &rv));
    assert_int_equal(rv.dtype, VXT_DTYPE_I16);
    assert_memory_equal(rv.shape, shape, sizeof shape);
    assert_memory_equal(rv.data, v.data, n * 2);
    vxt_image_destroy(rb);
    vxt_image_destroy(img);

    /* several channels: (c, z, y, x); float32; an upper case name */
    assert_ok(vxt_image_create(VXT_DTYPE_F32, 3, shape, NULL, &img));
    assert_ok(vxt_image_volume(img, &v));
    vxt_rng r = {77};
    for (size_t i = 0; i < 3 * n; i++)
        ((float *)v.data)[i] = vxt_rng_uniform(&r, -1.0f, 1.0f);
    tpath(p, sizeof p, "PROBS.NPY");
    assert_ok(vxt_image_write_path(img, p, NULL));
    memset(&ni, 0, sizeof ni);
    ni.struct_size = sizeof ni;
    assert_ok(vxt_npy_read_info(p, &ni));
    assert_int_equal(ni.ndim, 4);
    assert_int_equal(ni.shape[0], 3);
    assert_int_equal(ni.shape[1], 3);
    assert_int_equal(ni.shape[2], 4);
    assert_int_equal(ni.shape[3], 5);
    assert_int_equal(ni.dtype, VXT_DTYPE_F32);
    float *fb = malloc(3 * n * sizeof *fb);
    assert_non_null(fb);
    assert_ok(vxt_npy_read(p, &ni, 0, 3 * n, fb));
    assert_memory_equal(fb, v.data, 3 * n * 4);
    free(fb);
    vxt_image_destroy(img);

    /* float16 images: .npy takes them */
    assert_ok(vxt_image_create(VXT_DTYPE_F16, 1, shape, NULL, &img));
    assert_ok(vxt_image_volume(img, &v));
    for (size_t i = 0; i < n; i++)
        ((uint16_t *)v.data)[i] = (uint16_t)(0x3C00 + i);
    tpath(p, sizeof p, "half.npy");
    assert_ok(vxt_image_write_path(img, p, NULL));
    rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    assert_ok(vxt_image_volume(rb, &rv));
    assert_int_equal(rv.dtype, VXT_DTYPE_F16);
    assert_memory_equal(rv.data, v.data, n * 2);
    vxt_image_destroy(rb);
    vxt_image_destroy(img);

    /* an image read from NIfTI, written as .npy: its voxels in (z, y, x) order (NIfTI's i fastest) */
    img = read_path(ntu_data("4d_uint16.nii.gz"), VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
    assert_ok(vxt_image_volume(img, &v));
    tpath(p, sizeof p, "from_nifti.npy");
    assert_ok(vxt_image_write_path(img, p, NULL));
    rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    assert_ok(vxt_image_volume(rb, &rv));
    assert_int_equal(rv.dtype, v.dtype);
    assert_int_equal(rv.channels, v.channels);
    assert_memory_equal(rv.shape, v.shape, sizeof v.shape);
    size_t bytes = 0;
    assert_ok(vxt_volume_bytes(&v, &bytes));
    assert_memory_equal(rv.data, v.data, bytes);
    vxt_image_destroy(rb);
    vxt_image_destroy(img);
    assert_int_equal(ntu_dir_entries(tmpdir), 4); /* no temporary file left */
}

static void test_write_path_nifti(void **state)
{
    (void)state;
    char p[4300];
    int64_t shape[3] = {4, 5, 6};
    const size_t n = count3(shape);
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_F32, 2, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    vxt_rng r = {5};
    for (size_t i = 0; i < 2 * n; i++)
        ((float *)v.data)[i] = vxt_rng_uniform(&r, -5.0f, 5.0f);
    /* an oblique-free, anisotropic affine whose entries float32 holds exactly */
    double a[16] = {0, 0, 2.5, -40.25, -0.75, 0, 0, 12.5, 0, 1.5, 0, -7, 0, 0, 0, 1};
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_geometry_from_affine(a, VXT_NIFTI_XFORM_SCANNER_ANAT, &g));
    assert_ok(vxt_image_set_geometry(img, &g));
    assert_ok(vxt_image_set_description(img, "written by test_image"));
    vxt_geometry want = get_geometry(img);
    static const char *names[] = {"out.nii.gz", "OUT2.NII.GZ", "plain.nii"};
    for (size_t t = 0; t < 3; t++) {
        tpath(p, sizeof p, names[t]);
        assert_ok(vxt_image_write_path(img, p, NULL));
        size_t fn = 0;
        unsigned char *b = ntu_slurp(p, &fn);
        assert_non_null(b);
        assert_int_equal(b[0] == 0x1f && b[1] == 0x8b, t < 2); /* gzip by the name */
        free(b);
        vxt_image *rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
        vxt_image_info info = get_info(rb);
        assert_int_equal(info.format, VXT_FORMAT_NIFTI);
        assert_string_equal(info.source, p);
        assert_int_equal(info.compressed, t < 2);
        assert_int_equal(info.channels, 2);
        assert_memory_equal(info.shape, shape, sizeof shape);
        assert_int_equal(info.dtype, VXT_DTYPE_F32);
        assert_string_equal(info.description, "written by test_image");
        vxt_volume rv;
        assert_ok(vxt_image_volume(rb, &rv));
        assert_memory_equal(rv.data, v.data, 2 * n * 4);
        vxt_geometry gb = get_geometry(rb);
        assert_memory_equal(gb.affine, want.affine, sizeof gb.affine);
        for (int row = 0; row < 4; row++)
            for (int c = 0; c < 4; c++)
                assert_true(gb.affine[row][c] == a[4 * row + c]);
        assert_string_equal(gb.orientation, want.orientation);
        assert_string_equal(gb.orientation, "PSR");
        assert_memory_equal(gb.spacing, want.spacing, sizeof gb.spacing);
        assert_true(gb.spacing[0] == 2.5 && gb.spacing[1] == 1.5 && gb.spacing[2] == 0.75);
        assert_int_equal(gb.sform_code, VXT_NIFTI_XFORM_SCANNER_ANAT);
        vxt_image_destroy(rb);
    }
    /* the NIfTI options reach the writer */
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    o.nifti_version = 2;
    tpath(p, sizeof p, "v2.nii");
    assert_ok(vxt_image_write_path(img, p, &o));
    vxt_image *rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    assert_int_equal(ntu_nifti_info(rb).nifti_version, 2);
    assert_int_equal(ntu_nifti_info(rb).vox_offset, 544);
    vxt_image_destroy(rb);
    o.compression_level = 11;
    tpath(p, sizeof p, "bad_level.nii.gz");
    assert_status_msg(vxt_image_write_path(img, p, &o), VXT_ERR_INVALID_ARGUMENT, "compression_level = 11");
    assert_int_equal(access(p, F_OK), -1);
    vxt_image_destroy(img);
    assert_int_equal(ntu_dir_entries(tmpdir), 4);
}

static void test_write_path_errors(void **state)
{
    (void)state;
    char p[4300];
    int64_t shape[3] = {2, 3, 4};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &img));

    /* names with no known extension: refused, nothing created */
    static const char *bad[] = {"out.txt", "out.nii.bz2", "out", "out.npz", "out.hdr", "out.img", "out.gz",
                                "nii", "out.nii.", "out.npy.gz"};
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        tpath(p, sizeof p, bad[t]);
        assert_status_msg(vxt_image_write_path(img, p, NULL), VXT_ERR_INVALID_ARGUMENT, p);
        assert_non_null(strstr(vxt_last_error(), ".nii, .nii.gz, .npy"));
    }
    assert_int_equal(ntu_dir_entries(tmpdir), 0);

    assert_status_msg(vxt_image_write_path(NULL, "x.npy", NULL), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_image_write_path(img, NULL, NULL), VXT_ERR_NULL, "path");
    /* a directory that does not exist */
    assert_status_msg(vxt_image_write_path(img, "/nonexistent-voxtile-dir/out.npy", NULL), VXT_ERR_IO, "");
    assert_status_msg(vxt_image_write_path(img, "/nonexistent-voxtile-dir/out.nii", NULL), VXT_ERR_IO,
                      "/nonexistent-voxtile-dir/out.nii");
    vxt_image_destroy(img);

    /* a failed write over an existing file leaves it byte for byte as it was */
    static const char previous[] = "previous contents, not an image \x00\x01\x02\xff";
    assert_ok(vxt_image_create(VXT_DTYPE_F16, 1, shape, NULL, &img));
    static const char *names[] = {"half.nii", "half.nii.gz"};
    for (size_t t = 0; t < 2; t++) {
        tpath(p, sizeof p, names[t]);
        ntu_spit(p, previous, sizeof previous);
        assert_status_msg(vxt_image_write_path(img, p, NULL), VXT_ERR_UNSUPPORTED, "float16");
        size_t n = 0;
        unsigned char *b = ntu_slurp(p, &n);
        assert_non_null(b);
        assert_int_equal(n, sizeof previous);
        assert_memory_equal(b, previous, sizeof previous);
        free(b);
        assert_int_equal(ntu_dir_entries(tmpdir), (int)t + 1); /* no temporary file left */
    }
    /* ... and into memory too */
    void *buf = (void *)(uintptr_t)1;
    size_t size = 5;
    assert_status_msg(vxt_nifti_write_memory(img, NULL, &buf, &size), VXT_ERR_UNSUPPORTED, "float16");
    assert_null(buf);
    assert_int_equal(size, 0);
    vxt_image_destroy(img);
    /* a header-only image over an existing .npy and .nii */
    img = read_path(ntu_data("type_int16.nii"), VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, VXT_READ_HEADER_ONLY);
    static const char *names2[] = {"keep.npy", "keep.nii"};
    for (size_t t = 0; t < 2; t++) {
        tpath(p, sizeof p, names2[t]);
        ntu_spit(p, previous, sizeof previous);
        assert_status_msg(vxt_image_write_path(img, p, NULL), VXT_ERR_STATE, "");
        size_t n = 0;
        unsigned char *b = ntu_slurp(p, &n);
        assert_non_null(b);
        assert_int_equal(n, sizeof previous);
        assert_memory_equal(b, previous, sizeof previous);
        free(b);
    }
    assert_int_equal(ntu_dir_entries(tmpdir), 4);
    vxt_image_destroy(img);
    /* a successful write replaces the existing file */
    img = read_path(ntu_data("type_int16.nii"), VXT_SCALING_RAW, VXT_READ_ALL_VOLUMES, 0);
    tpath(p, sizeof p, "keep.npy");
    assert_ok(vxt_image_write_path(img, p, NULL));
    vxt_image *rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_volume a, b;
    assert_ok(vxt_image_volume(img, &a));
    assert_ok(vxt_image_volume(rb, &b));
    assert_int_equal(b.dtype, VXT_DTYPE_I16);
    assert_memory_equal(a.data, b.data, ntu_count(&a) * 2);
    vxt_image_destroy(rb);
    vxt_image_destroy(img);
    assert_int_equal(ntu_dir_entries(tmpdir), 4);
}

/* ---- vxt_image_get_info / vxt_nifti_get_info ------------------------------------------------------------ */

static void test_info_of_nifti_image(void **state)
{
    (void)state;
    static const char *files[] = {"le_int16_scaled.nii", "permuted_int16.nii.gz", "qform_only.nii", "neither.nii",
                                  "nifti2_float32.nii"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        const cJSON *e = ntu_entry(files[f]);
        assert_non_null(e);
        char path[4096];
        snprintf(path, sizeof path, "%s", ntu_data(files[f]));
        vxt_image *img = NULL;
        assert_ok(vxt_nifti_read_file(path, NULL, &img));
        vxt_image_info info = get_info(img);
        vxt_geometry g = get_geometry(img);
        assert_int_equal(info.format, VXT_FORMAT_NIFTI);
        assert_string_equal(info.source, path);
        assert_info_matches_geometry(&info, &g);
        assert_string_equal(info.orientation, cJSON_GetObjectItemCaseSensitive(e, "axcodes")->valuestring);
        assert_string_equal(info.description, cJSON_GetObjectItemCaseSensitive(e, "descrip")->valuestring);
        assert_int_equal(info.compressed, strstr(files[f], ".gz") != NULL);
        assert_int_equal(info.has_data, 1);
        vxt_nifti_info ni = ntu_nifti_info(img);
        assert_int_equal(ni.nifti_version, (int)ntu_num(e, "nifti_version"));
        assert_int_equal(ni.datatype, (int)ntu_num(e, "datatype"));
        vxt_image_destroy(img);
    }
    /* read from memory: the source says so */
    size_t n = 0;
    unsigned char *b = ntu_slurp(ntu_data("type_int16.nii"), &n);
    assert_non_null(b);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(b, n, NULL, &img));
    vxt_image_info info = get_info(img);
    assert_int_equal(info.format, VXT_FORMAT_NIFTI);
    assert_string_equal(info.source, "memory");
    vxt_image_destroy(img);
    free(b);

    /* struct sizes: a smaller struct gets its prefix, a wrong one is refused */
    assert_ok(vxt_nifti_read_file(ntu_data("type_int16.nii"), NULL, &img));
    vxt_image_info small;
    memset(&small, 0, sizeof small);
    small.struct_size = 3;
    assert_status_msg(vxt_image_get_info(img, &small), VXT_ERR_STRUCT_SIZE, "struct_size is 3");
    vxt_nifti_info ni;
    memset(&ni, 0, sizeof ni);
    ni.struct_size = 2;
    assert_status_msg(vxt_nifti_get_info(img, &ni), VXT_ERR_STRUCT_SIZE, "struct_size is 2");
    ni.struct_size = sizeof ni;
    assert_status_msg(vxt_nifti_get_info(NULL, &ni), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_nifti_get_info(img, NULL), VXT_ERR_NULL, "info");
    vxt_image_destroy(img);
}

static void test_info_of_created_image(void **state)
{
    (void)state;
    int64_t shape[3] = {4, 5, 6}; /* nk, nj, ni */
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img));
    vxt_image_info info = get_info(img);
    vxt_geometry g = get_geometry(img);
    assert_int_equal(info.format, VXT_FORMAT_NONE);
    assert_non_null(info.source);
    assert_string_equal(info.source, "");
    assert_int_equal(info.compressed, 0);
    assert_int_equal(info.dtype, VXT_DTYPE_I16);
    assert_int_equal(info.stored_dtype, VXT_DTYPE_I16);
    assert_int_equal(info.channels, 1);
    assert_memory_equal(info.shape, shape, sizeof shape);
    assert_int_equal(info.has_data, 1);
    assert_true(info.scl_slope == 1.0 && info.scl_inter == 0.0);
    assert_int_equal(info.scaled, 0);
    assert_string_equal(info.description, "");
    assert_info_matches_geometry(&info, &g);
    assert_npy_geometry(img, shape); /* vxt_geometry_init()'s: the fallback for the grid */

    /* the NIfTI fields a writer would write */
    vxt_nifti_info ni = ntu_nifti_info(img);
    assert_int_equal(ni.nifti_version, 1);
    assert_int_equal(ni.single_file, 1);
    assert_int_equal(ni.datatype, VXT_NIFTI_DT_INT16);
    assert_int_equal(ni.bitpix, 16);
    assert_int_equal(ni.dim[0], 3);
    assert_int_equal(ni.dim[1], 6); /* ni */
    assert_int_equal(ni.dim[2], 5); /* nj */
    assert_int_equal(ni.dim[3], 4); /* nk */
    for (int i = 4; i < 8; i++)
        assert_int_equal(ni.dim[i], 1);
    assert_int_equal(ni.intent_code, 0);
    assert_string_equal(ni.intent_name, "");
    assert_string_equal(ni.aux_file, "");
    assert_int_equal(ni.extension_count, 0);

    /* the intent */
    double params[3] = {0.5, -2, 1e10};
    assert_ok(vxt_nifti_set_intent(img, 1002, "Label", params));
    ni = ntu_nifti_info(img);
    assert_int_equal(ni.intent_code, 1002);
    assert_string_equal(ni.intent_name, "Label");
    assert_true(ni.intent_p[0] == 0.5 && ni.intent_p[1] == -2 && ni.intent_p[2] == 1e10);
    assert_ok(vxt_nifti_set_intent(img, -5, NULL, NULL));
    ni = ntu_nifti_info(img);
    assert_int_equal(ni.intent_code, -5);
    assert_string_equal(ni.intent_name, "");
    assert_true(ni.intent_p[0] == 0 && ni.intent_p[1] == 0 && ni.intent_p[2] == 0);
    assert_ok(vxt_nifti_set_intent(img, 1002, "0123456789abcdefXYZ", NULL)); /* 15 bytes kept */
    ni = ntu_nifti_info(img);
    assert_string_equal(ni.intent_name, "0123456789abcde");
    /* a failed call changes nothing */
    params[2] = INFINITY;
    assert_status_msg(vxt_nifti_set_intent(img, 3, "x", params), VXT_ERR_INVALID_ARGUMENT, "params[2]");
    assert_status_msg(vxt_nifti_set_intent(img, 32768, NULL, NULL), VXT_ERR_INVALID_ARGUMENT, "code = 32768");
    ni = ntu_nifti_info(img);
    assert_int_equal(ni.intent_code, 1002);
    assert_string_equal(ni.intent_name, "0123456789abcde");
    /* an extension is counted */
    assert_ok(vxt_nifti_add_extension(img, 6, "hello", 5));
    assert_int_equal(ntu_nifti_info(img).extension_count, 1);
    /* the intent and the description go through a NIfTI round trip */
    assert_ok(vxt_image_set_description(img, "created"));
    assert_string_equal(get_info(img).description, "created");
    char p[4300];
    tpath(p, sizeof p, "created.nii.gz");
    assert_ok(vxt_image_write_path(img, p, NULL));
    vxt_image *rb = read_path(p, VXT_SCALING_AUTO, VXT_READ_ALL_VOLUMES, 0);
    vxt_nifti_info rn = ntu_nifti_info(rb);
    assert_int_equal(rn.intent_code, 1002);
    assert_string_equal(rn.intent_name, "0123456789abcde");
    assert_int_equal(rn.extension_count, 1);
    assert_memory_equal(rn.dim, ni.dim, sizeof rn.dim);
    assert_string_equal(get_info(rb).description, "created");
    vxt_image_destroy(rb);
    vxt_image_destroy(img);

    /* channels: a 4D header */
    assert_ok(vxt_image_create(VXT_DTYPE_F32, 3, shape, NULL, &img));
    info = get_info(img);
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.volumes, 3);
    ni = ntu_nifti_info(img);
    assert_int_equal(ni.nifti_version, 1);
    assert_int_equal(ni.datatype, VXT_NIFTI_DT_FLOAT32);
    assert_int_equal(ni.bitpix, 32);
    assert_int_equal(ni.dim[0], 4);
    assert_int_equal(ni.dim[1], 6);
    assert_int_equal(ni.dim[2], 5);
    assert_int_equal(ni.dim[3], 4);
    assert_int_equal(ni.dim[4], 3);
    for (int i = 5; i < 8; i++)
        assert_int_equal(ni.dim[i], 1);
    vxt_image_destroy(img);

    /* float16 images can be created (and written as .npy, not as NIfTI: test_write_path_errors) */
    assert_ok(vxt_image_create(VXT_DTYPE_F16, 2, shape, NULL, &img));
    info = get_info(img);
    assert_int_equal(info.dtype, VXT_DTYPE_F16);
    assert_int_equal(info.channels, 2);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    for (size_t i = 0; i < 2 * count3(shape); i++)
        assert_int_equal(((const uint16_t *)v.data)[i], 0);
    vxt_image_destroy(img);
}

/* ---- format names ---------------------------------------------------------------------------------------- */

static void test_format_names(void **state)
{
    (void)state;
    static const char *want[] = {"none", "nifti", "npy", "dicom"};
    assert_int_equal(VXT_FORMAT_COUNT_, sizeof want / sizeof want[0]);
    for (int f = 0; f < VXT_FORMAT_COUNT_; f++) {
        const char *name = vxt_format_name((vxt_format)f);
        assert_non_null(name);
        assert_string_equal(name, want[f]);
        vxt_format back = (vxt_format)-1;
        assert_ok(vxt_format_parse(name, &back));
        assert_int_equal(back, f);
        /* case-insensitive */
        char upper[32];
        size_t k = 0;
        for (; name[k] && k + 1 < sizeof upper; k++)
            upper[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
        upper[k] = '\0';
        back = (vxt_format)-1;
        assert_ok(vxt_format_parse(upper, &back));
        assert_int_equal(back, f);
    }
    assert_string_equal(vxt_format_name(VXT_FORMAT_COUNT_), "unknown");
    assert_string_equal(vxt_format_name((vxt_format)-1), "unknown");
    vxt_format out = VXT_FORMAT_NPY;
    assert_status_msg(vxt_format_parse("dicomx", &out), VXT_ERR_INVALID_ARGUMENT, "none, nifti, npy, dicom");
    assert_non_null(strstr(vxt_last_error(), "dicomx"));
    assert_int_equal(out, VXT_FORMAT_NPY); /* untouched */
    assert_status_msg(vxt_format_parse("", &out), VXT_ERR_INVALID_ARGUMENT, "none, nifti, npy, dicom");
    assert_status_msg(vxt_format_parse("unknown", &out), VXT_ERR_INVALID_ARGUMENT, "none, nifti, npy, dicom");
    assert_status_msg(vxt_format_parse("nifti ", &out), VXT_ERR_INVALID_ARGUMENT, "none, nifti, npy");
    assert_status_msg(vxt_format_parse(NULL, &out), VXT_ERR_NULL, "");
    assert_status_msg(vxt_format_parse("npy", NULL), VXT_ERR_NULL, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_read_path_nifti, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_path_npy_2d_3d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_path_npy_4d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_path_npy_float16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_path_npy_header_only_skips_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_path_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_path_npy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_path_nifti, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_path_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_of_nifti_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_of_created_image, setup, teardown),
        cmocka_unit_test(test_format_names), /* no files */
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
