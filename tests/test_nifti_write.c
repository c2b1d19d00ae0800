/* test_nifti_write.c - writing: read -> write -> read gives the same header fields, geometry, extensions and
 * voxels for every reference file, in every output form (.nii, .nii.gz, memory, compressed memory); images
 * created with a reference image's geometry (uint8/uint16 labels, float32 probabilities as channels); NIfTI-1
 * vs NIfTI-2; atomic writes (a failure in the middle of a write leaves no partial file and keeps the old
 * one); unwritable paths; the metadata setters and their bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "nifti_internal.h"
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

static vxt_image *read_raw(const char *path)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(path, &o, &img));
    return img;
}

static vxt_image *read_raw_mem(const void *b, size_t n)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(b, n, &o, &img));
    return img;
}

/* The same metadata, geometry, extensions and voxels. */
static void assert_same_image(const vxt_image *a, const vxt_image *b, const char *what)
{
    vxt_image_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
    assert_ok(vxt_image_get_info(a, &ia));
    assert_ok(vxt_image_get_info(b, &ib));
    vxt_nifti_info xa = ntu_nifti_info(a), xb = ntu_nifti_info(b);
#define SAME_IN(x, y, f)                                                                                     \
    if (memcmp(&x.f, &y.f, sizeof x.f) != 0)                                                                 \
        fail_msg("%s: %s differs after the round trip", what, #f);
#define SAME(f) SAME_IN(ia, ib, f)
#define SAME_NIFTI(f) SAME_IN(xa, xb, f)
    SAME_NIFTI(nifti_version)
    SAME_NIFTI(datatype)
    SAME_NIFTI(bitpix)
    SAME(stored_dtype)
    SAME(dtype)
    SAME_NIFTI(dim)
    SAME(channels)
    SAME(shape)
    SAME(volumes)
    SAME(scl_slope)
    SAME(scl_inter)
    SAME_NIFTI(cal_min)
    SAME_NIFTI(cal_max)
    SAME_NIFTI(intent_code)
    SAME_NIFTI(intent_p)
    SAME_NIFTI(intent_name)
    SAME(description)
    SAME_NIFTI(aux_file)
    SAME_NIFTI(dim_info)
    SAME_NIFTI(slice_code)
    SAME_NIFTI(slice_start)
    SAME_NIFTI(slice_end)
    SAME_NIFTI(slice_duration)
    SAME_NIFTI(toffset)
    SAME_NIFTI(extension_count)
#undef SAME_NIFTI
#undef SAME
#undef SAME_IN
    vxt_geometry ga = {.struct_size = sizeof ga}, gb = {.struct_size = sizeof gb};
    assert_ok(vxt_image_get_geometry(a, &ga));
    assert_ok(vxt_image_get_geometry(b, &gb));
    /* every field, stored and derived, bit for bit */
    if (memcmp(&ga, &gb, sizeof ga) != 0)
        fail_msg("%s: the geometry differs after the round trip", what);
    for (size_t i = 0; i < xa.extension_count; i++) {
        int ca, cb;
        const void *da, *db;
        size_t sa, sb;
        assert_ok(vxt_nifti_get_extension(a, i, &ca, &da, &sa));
        assert_ok(vxt_nifti_get_extension(b, i, &cb, &db, &sb));
        assert_int_equal(ca, cb);
        assert_int_equal(sa, sb);
        assert_memory_equal(da, db, sa);
    }
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    size_t na, nb;
    assert_ok(vxt_volume_bytes(&va, &na));
    assert_ok(vxt_volume_bytes(&vb, &nb));
    assert_int_equal(na, nb);
    if (memcmp(va.data, vb.data, na) != 0)
        fail_msg("%s: the voxels differ after the round trip", what);
}

static void test_round_trip_reference_files(void **state)
{
    (void)state;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, files)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
        char src[4096], what[4300], out[4300];
        snprintf(src, sizeof src, "%s", ntu_data(file));
        vxt_image *img = read_raw(src);
        for (int form = 0; form < 4; form++) {
            vxt_nifti_write_options o;
            vxt_nifti_write_options_init(&o);
            vxt_image *back = NULL;
            snprintf(what, sizeof what, "%s (form %d)", file, form);
            if (form < 2) {
                o.gzip = form;
                void *buf = NULL;
                size_t size = 0;
                assert_ok(vxt_nifti_write_memory(img, &o, &buf, &size));
                assert_int_equal(form == 1, size >= 2 && ((unsigned char *)buf)[0] == 0x1f);
                back = read_raw_mem(buf, size);
                vxt_buffer_free(buf);
            } else {
                snprintf(out, sizeof out, "%s/rt%s", tmpdir, form == 2 ? ".nii" : ".nii.gz");
                assert_ok(vxt_nifti_write_file(img, out, &o));
                back = read_raw(out);
                vxt_image_info info = {.struct_size = sizeof info};
                assert_ok(vxt_image_get_info(back, &info));
                assert_int_equal(info.compressed, form == 3);
                assert_int_equal(ntu_nifti_info(back).single_file, 1);
            }
            assert_same_image(img, back, what);
            vxt_image_destroy(back);
        }
        vxt_image_destroy(img);
        n++;
    }
    assert_int_equal(ntu_dir_entries(tmpdir), 2); /* rt.nii and rt.nii.gz: no temporary file left */
    assert_true(n >= 25);
}

static void test_round_trip_scaled(void **state)
{
    (void)state;
    vxt_read_options o;
    vxt_read_options_init(&o);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(ntu_data("le_int16_scaled.nii"), &o, &img)); /* AUTO: float32 */
    void *buf = NULL;
    size_t size = 0;
    assert_ok(vxt_nifti_write_memory(img, NULL, &buf, &size));
    vxt_image *back = read_raw_mem(buf, size);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(back, &info));
    assert_int_equal(ntu_nifti_info(back).datatype, 16);
    assert_true(info.scl_slope == 1.0 && info.scl_inter == 0.0); /* the scaling is in the values now */
    vxt_volume a, b;
    assert_ok(vxt_image_volume(img, &a));
    assert_ok(vxt_image_volume(back, &b));
    assert_memory_equal(a.data, b.data, ntu_count(&a) * 4);
    assert_status_msg(vxt_image_set_scaling(img, 2.0, 0.0), VXT_ERR_INVALID_ARGUMENT, "already scaled");
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    vxt_image_destroy(img);
}

static void fill_pattern(vxt_image *img)
{
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    size_t n = ntu_count(&v);
    unsigned char *p = (unsigned char *)v.data;
    for (size_t i = 0; i < n; i++) {
        switch (v.dtype) {
        case VXT_DTYPE_U8:
            p[i] = (unsigned char)(i % 7);
            break;
        case VXT_DTYPE_U16: {
            uint16_t x = (uint16_t)(i % 40001);
            memcpy(p + 2 * i, &x, 2);
            break;
        }
        case VXT_DTYPE_F32: {
            float x = (float)(i % 1000) / 999.0f;
            memcpy(p + 4 * i, &x, 4);
            break;
        }
        default:
            fail_msg("unexpected dtype");
        }
    }
}

static void test_create_with_reference(void **state)
{
    (void)state;
    vxt_image *ref = NULL;
    assert_ok(vxt_nifti_read_file(ntu_data("../mricron_ch2.nii.gz"), NULL, &ref));
    vxt_volume rv;
    assert_ok(vxt_image_volume(ref, &rv));
    vxt_geometry rg = {.struct_size = sizeof rg};
    assert_ok(vxt_image_get_geometry(ref, &rg));
    static const struct {
        vxt_dtype dtype;
        int64_t channels;
        const char *name;
    } outs[] = {{VXT_DTYPE_U8, 1, "labels_u8.nii.gz"},
                {VXT_DTYPE_U16, 1, "labels_u16.nii.gz"},
                {VXT_DTYPE_F32, 3, "probabilities.nii.gz"}};
    for (size_t t = 0; t < sizeof outs / sizeof outs[0]; t++) {
        vxt_image *img = NULL;
        assert_ok(vxt_image_create(outs[t].dtype, outs[t].channels, rv.shape, ref, &img));
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        for (size_t i = 0; i < ntu_count(&v) * vxt_dtype_size(v.dtype); i++)
            assert_int_equal(((unsigned char *)v.data)[i], 0); /* created zeroed */
        fill_pattern(img);
        assert_ok(vxt_image_set_description(img, "voxtile segmentation"));
        if (outs[t].dtype != VXT_DTYPE_F32)
            assert_ok(vxt_nifti_set_intent(img, 1002, "Label", NULL));
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", tmpdir, outs[t].name);
        assert_ok(vxt_nifti_write_file(img, path, NULL));
        vxt_image *back = read_raw(path);
        assert_same_image(img, back, outs[t].name);
        /* the reference's geometry, both forms, as stored */
        vxt_geometry g = {.struct_size = sizeof g};
        assert_ok(vxt_image_get_geometry(back, &g));
        assert_int_equal(g.qform_code, rg.qform_code);
        assert_int_equal(g.sform_code, rg.sform_code);
        assert_memory_equal(g.quatern, rg.quatern, sizeof g.quatern);
        assert_memory_equal(g.qoffset, rg.qoffset, sizeof g.qoffset);
        assert_memory_equal(g.srow, rg.srow, sizeof g.srow);
        assert_memory_equal(g.pixdim, rg.pixdim, 4 * sizeof(double));
        assert_memory_equal(g.affine, rg.affine, sizeof g.affine);
        assert_string_equal(g.orientation, "RAS");
        vxt_image_info info = {.struct_size = sizeof info};
        assert_ok(vxt_image_get_info(back, &info));
        vxt_nifti_info ni = ntu_nifti_info(back);
        assert_int_equal(ni.dim[0], outs[t].channels > 1 ? 4 : 3);
        assert_int_equal(ni.dim[4], outs[t].channels);
        assert_int_equal(info.channels, outs[t].channels);
        assert_string_equal(info.description, "voxtile segmentation");
        assert_int_equal(ni.intent_code, outs[t].dtype != VXT_DTYPE_F32 ? 1002 : 0);
        assert_int_equal(ni.nifti_version, 1);
        vxt_image_destroy(back);
        vxt_image_destroy(img);
    }
    /* wrong arguments */
    vxt_image *img = (vxt_image *)(uintptr_t)1;
    int64_t other[3] = {rv.shape[0], rv.shape[1], rv.shape[2] - 1};
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 1, other, ref, &img), VXT_ERR_SHAPE_MISMATCH,
                      "shape (181, 217, 180) differs from the reference image's (181, 217, 181)");
    assert_null(img);
    /* float16 images exist in memory (network outputs), but NIfTI has no float16 datatype */
    assert_int_equal(vxt_image_create(VXT_DTYPE_F16, 1, rv.shape, ref, &img), VXT_OK);
    void *bytes = (void *)(uintptr_t)1;
    size_t nbytes = 7;
    assert_status_msg(vxt_nifti_write_memory(img, NULL, &bytes, &nbytes), VXT_ERR_UNSUPPORTED, "float16");
    assert_null(bytes);
    assert_int_equal(nbytes, 0);
    vxt_image_destroy(img);
    assert_status_msg(vxt_image_create((vxt_dtype)99, 1, rv.shape, ref, &img), VXT_ERR_INVALID_ARGUMENT, "dtype 99");
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 0, rv.shape, ref, &img), VXT_ERR_INVALID_ARGUMENT,
                      "channels = 0");
    int64_t bad[3] = {4, -1, 4};
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 1, bad, NULL, &img), VXT_ERR_INVALID_ARGUMENT,
                      "shape[1] (j) = -1");
    int64_t huge[3] = {INT64_MAX / 2, 4, 4};
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 1, huge, NULL, &img), VXT_ERR_OVERFLOW, "overflow");
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 1, NULL, NULL, &img), VXT_ERR_NULL, "shape");
    assert_status_msg(vxt_image_create(VXT_DTYPE_U8, 1, rv.shape, NULL, NULL), VXT_ERR_NULL, "out");
    vxt_image_destroy(ref);

    /* a NIfTI-2 reference keeps its double-precision geometry: the created image is NIfTI-2 too */
    vxt_image *ref2 = read_raw(ntu_data("nifti2_float32.nii"));
    vxt_image_info i2 = {.struct_size = sizeof i2};
    assert_ok(vxt_image_get_info(ref2, &i2));
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, i2.shape, ref2, &img));
    void *buf = NULL;
    size_t size = 0;
    assert_ok(vxt_nifti_write_memory(img, NULL, &buf, &size));
    vxt_image *back = read_raw_mem(buf, size);
    vxt_image_info bi = {.struct_size = sizeof bi};
    assert_ok(vxt_image_get_info(back, &bi));
    assert_int_equal(ntu_nifti_info(back).nifti_version, 2);
    vxt_geometry g2 = {.struct_size = sizeof g2}, gb = {.struct_size = sizeof gb};
    assert_ok(vxt_image_get_geometry(ref2, &g2));
    assert_ok(vxt_image_get_geometry(back, &gb));
    assert_memory_equal(g2.affine, gb.affine, sizeof g2.affine);
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    vxt_image_destroy(img);
    vxt_image_destroy(ref2);
}

static void test_versions(void **state)
{
    (void)state;
    int64_t shape[3] = {1, 2, 40000};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &img));
    fill_pattern(img);
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    void *buf = NULL;
    size_t size = 0;
    assert_ok(vxt_nifti_write_memory(img, &o, &buf, &size)); /* auto: does not fit NIfTI-1 */
    vxt_image *back = read_raw_mem(buf, size);
    vxt_nifti_info info = ntu_nifti_info(back);
    assert_int_equal(info.nifti_version, 2);
    assert_int_equal(info.dim[1], 40000);
    assert_int_equal(info.vox_offset, 544);
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    o.nifti_version = 1;
    assert_status_msg(vxt_nifti_write_memory(img, &o, &buf, &size), VXT_ERR_INVALID_ARGUMENT,
                      "dim[1] = 40000 (NIfTI-1 holds at most 32767)");
    assert_null(buf);
    assert_int_equal(size, 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/wide.nii", tmpdir);
    assert_status_msg(vxt_nifti_write_file(img, path, &o), VXT_ERR_INVALID_ARGUMENT, "dim[1] = 40000");
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(ntu_dir_entries(tmpdir), 0);
    vxt_image_destroy(img);

    /* a NIfTI-2 file written as NIfTI-1 on request, and a NIfTI-1 one as NIfTI-2 */
    img = read_raw(ntu_data("nifti2_float32.nii"));
    o.nifti_version = 1;
    assert_ok(vxt_nifti_write_memory(img, &o, &buf, &size));
    back = read_raw_mem(buf, size);
    info = ntu_nifti_info(back);
    assert_int_equal(info.nifti_version, 1);
    assert_int_equal(info.vox_offset, 352);
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    vxt_image_destroy(img);
    img = read_raw(ntu_data("ext_float64.nii"));
    o.nifti_version = 2;
    assert_ok(vxt_nifti_write_memory(img, &o, &buf, &size));
    back = read_raw_mem(buf, size);
    info = ntu_nifti_info(back);
    assert_int_equal(info.nifti_version, 2);
    assert_int_equal(info.extension_count, 2);
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    vxt_image_destroy(img);
}

static void test_replace_existing_atomically(void **state)
{
    (void)state;
    char path[4300];
    snprintf(path, sizeof path, "%s/out.nii", tmpdir);
    ntu_spit(path, "old contents", 12);
    vxt_image *img = read_raw(ntu_data("type_int16.nii"));
    assert_ok(vxt_nifti_write_file(img, path, NULL));
    vxt_image *back = read_raw(path);
    assert_same_image(img, back, "replaced file");
    vxt_image_destroy(back);
    assert_int_equal(ntu_dir_entries(tmpdir), 1);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    mode_t mask = umask(022);
    umask(mask);
    assert_int_equal(sb.st_mode & 0777, 0666 & ~mask); /* an ordinary new file, not a 0600 temporary */
    vxt_image_destroy(img);
}

/* In a child process whose file size limit is 4 KiB, a write of a larger image fails half way: the call must
 * report it, remove its temporary file and leave the previous file as it was. */
static void test_failure_leaves_no_partial_file(void **state)
{
    (void)state;
    static const char *names[] = {"big.nii", "big.nii.gz"};
    for (int t = 0; t < 2; t++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[t]);
        ntu_spit(path, "previous", 8);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {4096, 4096};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(10);
            int64_t shape[3] = {8, 64, 64};
            vxt_image *img = NULL;
            if (vxt_image_create(VXT_DTYPE_F32, 1, shape, NULL, &img) != VXT_OK)
                _exit(11);
            vxt_volume v;
            vxt_image_volume(img, &v);
            vxt_rng r = {99};
            for (size_t i = 0; i < ntu_count(&v); i++)
                ((float *)v.data)[i] = vxt_rng_uniform(&r, -1, 1); /* incompressible */
            vxt_status st = vxt_nifti_write_file(img, path, NULL);
            vxt_image_destroy(img);
            if (st != VXT_ERR_IO)
                _exit(12);
            if (strstr(vxt_last_error(), names[t]) == NULL || strstr(vxt_last_error(), "File too large") == NULL)
                _exit(13);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        size_t n = 0;
        unsigned char *b = ntu_slurp(path, &n);
        assert_non_null(b);
        assert_int_equal(n, 8);
        assert_memory_equal(b, "previous", 8);
        free(b);
        assert_int_equal(ntu_dir_entries(tmpdir), t + 1); /* the old files only */
    }
}

static void test_unwritable(void **state)
{
    (void)state;
    vxt_image *img = read_raw(ntu_data("type_uint8.nii"));
    assert_status_msg(vxt_nifti_write_file(img, "/nonexistent-voxtile-dir/out.nii", NULL), VXT_ERR_IO,
                      "'/nonexistent-voxtile-dir/out.nii': cannot create a temporary file beside it: No such file");
    assert_status_msg(vxt_nifti_write_file(img, "/proc/voxtile-out.nii", NULL), VXT_ERR_IO,
                      "cannot create a temporary file");
    char path[4300];
    snprintf(path, sizeof path, "%s/adir.nii", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_status_msg(vxt_nifti_write_file(img, path, NULL), VXT_ERR_IO, "is a directory");
    snprintf(path, sizeof path, "%s/out.img", tmpdir);
    assert_status_msg(vxt_nifti_write_file(img, path, NULL), VXT_ERR_INVALID_ARGUMENT, "must end in .nii or .nii.gz");
    assert_int_equal(ntu_dir_entries(tmpdir), 1);
    /* case-insensitive extensions; a name without a directory part is written in the current directory */
    snprintf(path, sizeof path, "%s/UPPER.NII.GZ", tmpdir);
    assert_ok(vxt_nifti_write_file(img, path, NULL));
    vxt_image *back = read_raw(path);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(back, &info));
    assert_int_equal(info.compressed, 1);
    vxt_image_destroy(back);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmpdir), 0);
    assert_ok(vxt_nifti_write_file(img, "here.nii", NULL));
    assert_int_equal(chdir(cwd), 0);
    snprintf(path, sizeof path, "%s/here.nii", tmpdir);
    assert_int_equal(access(path, F_OK), 0);
    vxt_image_destroy(img);
}

static void test_write_arguments(void **state)
{
    (void)state;
    vxt_image *img = read_raw(ntu_data("type_uint8.nii"));
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    assert_int_equal(o.compression_level, 6);
    vxt_nifti_write_options_init(NULL);
    void *buf = (void *)(uintptr_t)1;
    size_t size = 7;
    o.nifti_version = 3;
    assert_status_msg(vxt_nifti_write_memory(img, &o, &buf, &size), VXT_ERR_INVALID_ARGUMENT, "nifti_version = 3");
    assert_null(buf);
    assert_int_equal(size, 0);
    vxt_nifti_write_options_init(&o);
    o.compression_level = 10;
    assert_status_msg(vxt_nifti_write_memory(img, &o, &buf, &size), VXT_ERR_INVALID_ARGUMENT,
                      "compression_level = 10");
    vxt_nifti_write_options_init(&o);
    o.gzip = 2;
    assert_status_msg(vxt_nifti_write_memory(img, &o, &buf, &size), VXT_ERR_INVALID_ARGUMENT, "gzip = 2");
    o.struct_size = 3;
    assert_status_msg(vxt_nifti_write_memory(img, &o, &buf, &size), VXT_ERR_STRUCT_SIZE, "struct_size is 3");
    assert_status_msg(vxt_nifti_write_file(img, "x.nii", &o), VXT_ERR_STRUCT_SIZE, "struct_size is 3");
    assert_status_msg(vxt_nifti_write_memory(NULL, NULL, &buf, &size), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_nifti_write_memory(img, NULL, NULL, &size), VXT_ERR_NULL, "data");
    assert_status_msg(vxt_nifti_write_memory(img, NULL, &buf, NULL), VXT_ERR_NULL, "size");
    assert_status_msg(vxt_nifti_write_file(NULL, "x.nii", NULL), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_nifti_write_file(img, NULL, NULL), VXT_ERR_NULL, "path");
    vxt_buffer_free(NULL);

    /* every compression level gives a readable stream; level 0 stores */
    size_t sizes[10];
    for (int level = 0; level <= 9; level++) {
        vxt_nifti_write_options_init(&o);
        o.gzip = 1;
        o.compression_level = level;
        assert_ok(vxt_nifti_write_memory(img, &o, &buf, &size));
        vxt_image *back = read_raw_mem(buf, size);
        assert_same_image(img, back, "compression level");
        vxt_image_destroy(back);
        vxt_buffer_free(buf);
        sizes[level] = size;
    }
    assert_true(sizes[0] > 352 + 24 && sizes[0] > sizes[9]);
    vxt_image_destroy(img);
}

static void test_metadata_setters(void **state)
{
    (void)state;
    int64_t shape[3] = {2, 3, 4};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img));
    char longtext[200];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    assert_ok(vxt_image_set_description(img, longtext));
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_int_equal(strlen(info.description), 80); /* the whole NIfTI field, which needs no NUL */
    void *dbuf = NULL;
    size_t dsize = 0;
    assert_ok(vxt_nifti_write_memory(img, NULL, &dbuf, &dsize));
    vxt_image *dback = NULL;
    assert_ok(vxt_nifti_read_memory(dbuf, dsize, NULL, &dback));
    vxt_image_info bi = {.struct_size = sizeof bi};
    assert_ok(vxt_image_get_info(dback, &bi));
    assert_string_equal(bi.description, info.description); /* all 80 bytes written and read back */
    vxt_image_destroy(dback);
    vxt_buffer_free(dbuf);
    assert_status_msg(vxt_image_set_description(img, NULL), VXT_ERR_NULL, "text");
    assert_status_msg(vxt_image_set_description(NULL, "x"), VXT_ERR_NULL, "img");
    double p[3] = {1, 2, 3};
    assert_ok(vxt_nifti_set_intent(img, 1002, "a very long intent name", p));
    vxt_nifti_info ni = ntu_nifti_info(img);
    assert_string_equal(ni.intent_name, "a very long int");
    assert_true(ni.intent_p[2] == 3.0);
    assert_status_msg(vxt_nifti_set_intent(img, 40000, NULL, NULL), VXT_ERR_INVALID_ARGUMENT, "code = 40000");
    p[1] = NAN;
    assert_status_msg(vxt_nifti_set_intent(img, 2, NULL, p), VXT_ERR_INVALID_ARGUMENT, "params[1] = nan");
    assert_ok(vxt_image_set_scaling(img, 0.5, -10));
    assert_status_msg(vxt_image_set_scaling(img, INFINITY, 0), VXT_ERR_INVALID_ARGUMENT, "slope = inf");
    assert_status_msg(vxt_image_set_scaling(NULL, 1, 0), VXT_ERR_NULL, "img");

    /* extensions: any size, written padded to 16 bytes, read back with the padding */
    assert_ok(vxt_nifti_add_extension(img, 6, "seven!!", 7));
    assert_ok(vxt_nifti_add_extension(img, 40, NULL, 0));
    assert_status_msg(vxt_nifti_add_extension(img, 6, NULL, 5), VXT_ERR_NULL, "data");
    assert_status_msg(vxt_nifti_add_extension(NULL, 6, "x", 1), VXT_ERR_NULL, "img");
    assert_int_equal(vxt_nifti_extension_count(img), 2);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    ((int16_t *)v.data)[5] = -321;
    void *buf = NULL;
    size_t size = 0;
    assert_ok(vxt_nifti_write_memory(img, NULL, &buf, &size));
    assert_int_equal(size, 352 + 16 + 16 + 24 * 2);
    vxt_image *back = read_raw_mem(buf, size);
    assert_ok(vxt_image_get_info(back, &info));
    assert_true(info.scl_slope == 0.5 && info.scl_inter == -10);
    assert_int_equal(ntu_nifti_info(back).intent_code, 1002);
    int code = 0;
    const void *data = NULL;
    size_t sz = 0;
    assert_ok(vxt_nifti_get_extension(back, 0, &code, &data, &sz));
    assert_int_equal(code, 6);
    assert_int_equal(sz, 8);
    assert_memory_equal(data, "seven!!\0", 8);
    assert_ok(vxt_nifti_get_extension(back, 1, &code, NULL, &sz));
    assert_int_equal(code, 40);
    assert_int_equal(sz, 8);
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    vxt_image *scaled = NULL;
    assert_ok(vxt_nifti_read_memory(buf, size, &ro, &scaled));
    vxt_volume sv;
    assert_ok(vxt_image_volume(scaled, &sv));
    assert_true(((const float *)sv.data)[5] == -321 * 0.5f - 10);
    vxt_image_destroy(scaled);
    vxt_buffer_free(buf);
    vxt_image_destroy(back);
    vxt_image_destroy(img);
}

/* The .nii.gz output is one gzip member that zlib inflates to exactly the .nii output, also when the
 * header part spans several stored blocks (a large extension). */
static void test_gzip_output_is_one_member(void **state)
{
    (void)state;
    vxt_image *img = read_raw(ntu_data("le_int16_scaled.nii"));
    unsigned char *big = malloc(100000);
    for (int i = 0; i < 100000; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 8));
    assert_ok(vxt_nifti_add_extension(img, 6, big, 100000));
    free(big);
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    void *plain = NULL, *gz = NULL;
    size_t plain_size = 0, gz_size = 0;
    assert_ok(vxt_nifti_write_memory(img, &o, &plain, &plain_size));
    for (int level = 0; level <= 9; level += 3) {
        o.gzip = 1;
        o.compression_level = level;
        assert_ok(vxt_nifti_write_memory(img, &o, &gz, &gz_size));
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        unsigned char *out = malloc(plain_size + 16);
        z.next_in = gz;
        z.avail_in = (uInt)gz_size;
        z.next_out = out;
        z.avail_out = (uInt)(plain_size + 16);
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END); /* CRC-32 and length checked by zlib */
        assert_int_equal(z.avail_in, 0);                          /* nothing after the one member */
        assert_int_equal(z.total_out, plain_size);
        assert_memory_equal(out, plain, plain_size);
        inflateEnd(&z);
        free(out);
        vxt_buffer_free(gz);
    }
    vxt_buffer_free(plain);
    vxt_image_destroy(img);
}

/* The zlib streaming compressor (used when libdeflate's whole-buffer output cannot be allocated). */
static void test_zlib_stream_writer(void **state)
{
    (void)state;
    vxt_image *img = read_raw(ntu_data("ext_float64.nii"));
    void *plain = NULL;
    size_t plain_size = 0;
    assert_ok(vxt_nifti_write_memory(img, NULL, &plain, &plain_size));
    for (int to_file = 0; to_file < 2; to_file++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/stream.nii.gz", tmpdir);
        int fd = -1;
        if (to_file) {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            assert_true(fd >= 0);
        }
        vxt__gzw *w = NULL;
        assert_ok(vxt__gzw_open("test", 6, fd, 16, &w)); /* a small first buffer: it must grow */
        for (size_t off = 0; off < plain_size; off += 100)
            assert_ok(vxt__gzw_write(w, (unsigned char *)plain + off, plain_size - off < 100 ? plain_size - off : 100));
        void *gz = NULL;
        size_t gz_size = 0;
        assert_ok(vxt__gzw_close(w, &gz, &gz_size));
        vxt_image *back = NULL;
        if (to_file) {
            assert_int_equal(close(fd), 0);
            back = read_raw(path);
        } else {
            back = read_raw_mem(gz, gz_size);
            free(gz);
        }
        assert_same_image(img, back, "zlib stream writer");
        vxt_image_destroy(back);
    }
    vxt__gzw_abort(NULL);
    vxt_buffer_free(plain);
    vxt_image_destroy(img);
}

/* vxt_output_set: nothing changes before the commit; misuse is refused with a status. */
static int write_hello(void *user, int fd)
{
    (void)user;
    return write(fd, "hello", 5) == 5 ? 0 : 1;
}

static int write_fails(void *user, int fd)
{
    (void)user;
    (void)fd;
    errno = ENOSPC;
    return 3;
}

static void test_output_set(void **state)
{
    (void)state;
    const int64_t shape[3] = {3, 4, 5};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &img));
    char a[4200], b[4200], c[4200];
    snprintf(a, sizeof a, "%s/a.nii.gz", tmpdir);
    snprintf(b, sizeof b, "%s/b.npy", tmpdir);
    snprintf(c, sizeof c, "%s/c.txt", tmpdir);
    FILE *f = fopen(a, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    vxt_output_set *set = NULL;
    assert_int_equal(vxt_output_set_create(NULL), VXT_ERR_NULL);
    assert_ok(vxt_output_set_create(&set));
    assert_int_equal(vxt_output_set_add_image(NULL, img, a, NULL), VXT_ERR_NULL);
    assert_int_equal(vxt_output_set_add_image(set, NULL, a, NULL), VXT_ERR_NULL);
    assert_int_equal(vxt_output_set_add_file(set, c, NULL, NULL), VXT_ERR_NULL);
    assert_ok(vxt_output_set_add_image(set, img, a, NULL));
    assert_ok(vxt_output_set_add_image(set, img, b, NULL));
    assert_status_msg(vxt_output_set_add_image(set, img, a, NULL), VXT_ERR_INVALID_ARGUMENT, "in the set already");
    assert_status_msg(vxt_output_set_add_file(set, c, write_fails, NULL), VXT_ERR_IO, "returned 3: No space left");
    assert_status_msg(vxt_output_set_add_image(set, img, c, NULL), VXT_ERR_INVALID_ARGUMENT, "no extension");
    /* nothing is in place yet: a still holds "old", b and c do not exist, and no temporary shows */
    assert_int_equal(ntu_dir_entries(tmpdir), 1);
    vxt_output_set_destroy(set); /* not committed: everything stays as it was */
    assert_int_equal(ntu_dir_entries(tmpdir), 1);
    vxt_image *back = NULL;
    assert_int_not_equal(vxt_image_read_path(a, NULL, &back), VXT_OK); /* still the 3-byte text */

    assert_ok(vxt_output_set_create(&set));
    assert_ok(vxt_output_set_add_image(set, img, a, NULL));
    assert_ok(vxt_output_set_add_image(set, img, b, NULL));
    assert_ok(vxt_output_set_add_file(set, c, write_hello, NULL));
    assert_ok(vxt_output_set_commit(set));
    assert_status_msg(vxt_output_set_commit(set), VXT_ERR_STATE, "committed already");
    assert_status_msg(vxt_output_set_add_file(set, c, write_hello, NULL), VXT_ERR_STATE, "committed already");
    vxt_output_set_destroy(set);
    vxt_output_set_destroy(NULL);
    assert_int_equal(ntu_dir_entries(tmpdir), 3);
    assert_ok(vxt_image_read_path(a, NULL, &back));
    vxt_image_destroy(back);
    assert_ok(vxt_image_read_path(b, NULL, &back));
    vxt_image_destroy(back);
    vxt_image_destroy(img);
}

/* A named temporary of a process that is gone is swept by the next write in its directory; one of a live process,
 * or a file that only looks like one, is not. */
static void test_stale_temporaries_are_swept(void **state)
{
    (void)state;
    char dead[4200], live[4200], other[4200], out[4200];
    /* a process id that is not running: a child that has exited and been reaped */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    snprintf(dead, sizeof dead, "%s/.x.nii.vxt-%ld-0123456789abcdef.tmp", tmpdir, (long)pid);
    snprintf(live, sizeof live, "%s/.x.nii.vxt-%ld-0123456789abcdef.tmp", tmpdir, (long)getppid());
    snprintf(other, sizeof other, "%s/.x.nii.vxt-%ld-notahexnumber000.tmp", tmpdir, (long)pid);
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(i == 0 ? dead : i == 1 ? live : other, "w");
        assert_non_null(f);
        fclose(f);
    }
    const int64_t shape[3] = {2, 2, 2};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &img));
    snprintf(out, sizeof out, "%s/y.nii", tmpdir);
    assert_ok(vxt_image_write_path(img, out, NULL));
    vxt_image_destroy(img);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_reference_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_scaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_with_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temporaries_are_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_existing_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_leaves_no_partial_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_setters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_output_is_one_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zlib_stream_writer, setup, teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
