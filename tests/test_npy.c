/* test_npy.c - the .npy reader and writer: files written by NumPy (every supported dtype, both byte orders,
 * format versions 1 and 2, 0-d and empty arrays), corrupt and unsupported files, round trips, and the
 * writer's all-or-nothing behaviour. Test files: tools/make_npy_testdata.py. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vxt_arith.h"
#include "vxt_test.h"

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/npy/%s.npy", VXT_TEST_DATA_DIR, name);
}

static double expected(uint64_t i, vxt_dtype dt)
{
    double v = (double)((int64_t)((i * 7) % 23) - 11);
    if (dt == VXT_DTYPE_F16 || dt == VXT_DTYPE_F32 || dt == VXT_DTYPE_F64)
        v += 0.25;
    if (dt == VXT_DTYPE_U8 || dt == VXT_DTYPE_U16)
        v += 11;
    return v;
}

static double element(const void *data, uint64_t i, vxt_dtype dt)
{
    switch (dt) {
    case VXT_DTYPE_F32: return ((const float *)data)[i];
    case VXT_DTYPE_F64: return ((const double *)data)[i];
    case VXT_DTYPE_F16: return vxt_half_to_float(((const uint16_t *)data)[i]);
    case VXT_DTYPE_U8: return ((const uint8_t *)data)[i];
    case VXT_DTYPE_I16: return ((const int16_t *)data)[i];
    case VXT_DTYPE_U16: return ((const uint16_t *)data)[i];
    case VXT_DTYPE_I64: return (double)((const int64_t *)data)[i];
    default: return -999;
    }
}

static void test_reads_numpy_files(void **state)
{
    (void)state;
    struct {
        const char *name;
        vxt_dtype dt;
        int ndim;
        int64_t shape[3];
        int be;
    } cases[] = {
        {"f4_3x4x5", VXT_DTYPE_F32, 3, {3, 4, 5}, 0}, {"f2_2x3", VXT_DTYPE_F16, 2, {2, 3}, 0},
        {"f8_7", VXT_DTYPE_F64, 1, {7}, 0},           {"u1_4x4", VXT_DTYPE_U8, 2, {4, 4}, 0},
        {"i2_be_3x3", VXT_DTYPE_I16, 2, {3, 3}, 1},   {"f4_be_2x2x2", VXT_DTYPE_F32, 3, {2, 2, 2}, 1},
        {"u2_10", VXT_DTYPE_U16, 1, {10}, 0},         {"i8_scalar", VXT_DTYPE_I64, 0, {0}, 0},
        {"f4_empty", VXT_DTYPE_F32, 2, {0, 5}, 0},    {"f4_v2_2x3", VXT_DTYPE_F32, 2, {2, 3}, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char p[512];
        path_of(p, sizeof p, cases[k].name);
        vxt_npy_info info = {.struct_size = sizeof info};
        assert_ok(vxt_npy_read_info(p, &info));
        assert_int_equal(info.dtype, cases[k].dt);
        assert_int_equal(info.ndim, cases[k].ndim);
        assert_int_equal(info.big_endian, cases[k].be);
        uint64_t count = 1;
        for (int a = 0; a < info.ndim; a++) {
            assert_int_equal(info.shape[a], cases[k].shape[a]);
            count *= (uint64_t)cases[k].shape[a];
        }
        assert_int_equal(info.count, count);
        assert_int_equal(info.version, strstr(cases[k].name, "v2") ? 2 : 1);
        void *data = malloc(count * 8 + 8);
        assert_ok(vxt_npy_read(p, &info, 0, count, data));
        for (uint64_t i = 0; i < count; i++)
            if (element(data, i, info.dtype) != expected(i, info.dtype))
                fail_msg("%s[%llu] = %g, expected %g", cases[k].name, (unsigned long long)i,
                         element(data, i, info.dtype), expected(i, info.dtype));
        /* a ranged read */
        if (count > 4) {
            assert_ok(vxt_npy_read(p, &info, 2, 3, data));
            for (uint64_t i = 0; i < 3; i++)
                assert_true(element(data, i, info.dtype) == expected(i + 2, info.dtype));
            assert_status_msg(vxt_npy_read(p, &info, count - 1, 2, data), VXT_ERR_INVALID_ARGUMENT, "beyond");
        }
        free(data);
    }
}

static void test_rejects_bad_files(void **state)
{
    (void)state;
    struct {
        const char *name;
        vxt_status st;
        const char *msg;
    } cases[] = {
        {"bad_fortran", VXT_ERR_FORMAT, "Fortran"},
        {"bad_bool", VXT_ERR_FORMAT, "'|b1' is not supported"},
        {"bad_structured", VXT_ERR_FORMAT, "structured"},
        {"bad_complex", VXT_ERR_FORMAT, "'<c8' is not supported"},
        {"bad_truncated_data", VXT_ERR_TRUNCATED, "truncated"},
        {"bad_truncated_header", VXT_ERR_TRUNCATED, "inside the .npy header"},
        {"bad_trailing", VXT_ERR_FORMAT, "3 bytes after"},
        {"bad_magic", VXT_ERR_FORMAT, "bad magic"},
        {"bad_version", VXT_ERR_FORMAT, "version 9"},
        {"bad_header_len", VXT_ERR_TRUNCATED, "inside the .npy header"},
        {"bad_shape", VXT_ERR_FORMAT, "shape"},
        {"bad_overflow", VXT_ERR_OVERFLOW, "overflows"},
        {"does_not_exist", VXT_ERR_IO, "cannot open"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char p[512];
        path_of(p, sizeof p, cases[k].name);
        vxt_npy_info info = {.struct_size = sizeof info};
        vxt_status st = vxt_npy_read_info(p, &info);
        if (st != cases[k].st || !strstr(vxt_last_error(), cases[k].msg))
            fail_msg("%s: %s (%s), expected %s mentioning '%s'", cases[k].name, vxt_status_name(st), vxt_last_error(),
                     vxt_status_name(cases[k].st), cases[k].msg);
    }
    vxt_npy_info info = {.struct_size = sizeof info};
    assert_status_msg(vxt_npy_read_info(VXT_TEST_DATA_DIR, &info), VXT_ERR_IO, "not a regular file");
    assert_status_msg(vxt_npy_read_info(NULL, &info), VXT_ERR_NULL, "path");
    info.struct_size = 1;
    assert_status_msg(vxt_npy_read_info("x", &info), VXT_ERR_STRUCT_SIZE, "vxt_npy_info");
}

static int files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_write_round_trip_and_atomicity(void **state)
{
    (void)state;
    char dir[] = "/tmp/vxt-npy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof p, "%s/out.npy", dir);
    vxt_dtype types[] = {VXT_DTYPE_F32, VXT_DTYPE_F16, VXT_DTYPE_U8, VXT_DTYPE_U16, VXT_DTYPE_I16, VXT_DTYPE_F64};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        int64_t shape[4] = {2, 3, 5, 7};
        size_t es = vxt_dtype_size(types[t]);
        unsigned char *data = malloc(210 * es), *back = malloc(210 * es);
        vxt_rng r = {t + 1};
        for (size_t i = 0; i < 210 * es; i++)
            data[i] = (unsigned char)vxt_rng_u32(&r);
        if (types[t] == VXT_DTYPE_F16 || types[t] == VXT_DTYPE_F32 || types[t] == VXT_DTYPE_F64)
            for (size_t i = 0; i < 210; i++) { /* keep floats finite */
                if (types[t] == VXT_DTYPE_F32)
                    ((float *)data)[i] = (float)i * 0.5f - 3.0f;
                else if (types[t] == VXT_DTYPE_F64)
                    ((double *)data)[i] = (double)i * 0.25;
                else
                    ((uint16_t *)data)[i] = vxt_float_to_half((float)i);
            }
        assert_ok(vxt_npy_write(p, types[t], 4, shape, data));
        vxt_npy_info info = {.struct_size = sizeof info};
        assert_ok(vxt_npy_read_info(p, &info));
        assert_int_equal(info.dtype, types[t]);
        assert_int_equal(info.ndim, 4);
        assert_int_equal(info.data_offset % 64, 0); /* header padded as NumPy does */
        assert_ok(vxt_npy_read(p, &info, 0, 210, back));
        assert_memory_equal(back, data, 210 * es);
        free(data);
        free(back);
    }
    /* scalar and 1-d */
    float one = 3.5f;
    assert_ok(vxt_npy_write(p, VXT_DTYPE_F32, 0, NULL, &one));
    vxt_npy_info info = {.struct_size = sizeof info};
    assert_ok(vxt_npy_read_info(p, &info));
    assert_int_equal(info.ndim, 0);
    assert_int_equal(info.count, 1);

    /* an incomplete writer is never committed, and abort leaves nothing behind */
    int64_t shape[2] = {4, 4};
    vxt_npy_writer *w = NULL;
    assert_ok(vxt_npy_writer_open(p, VXT_DTYPE_F32, 2, shape, &w));
    float row[4] = {1, 2, 3, 4};
    assert_ok(vxt_npy_writer_write(w, 12, 4, row));
    assert_ok(vxt_npy_writer_write(w, 0, 4, row));
    assert_status_msg(vxt_npy_writer_write(w, 14, 4, row), VXT_ERR_INVALID_ARGUMENT, "beyond");
    assert_int_equal(files_in(dir), 2); /* the old out.npy and the temporary file */
    assert_status_msg(vxt_npy_writer_commit(w), VXT_ERR_STATE, "8 of 16 elements written");
    assert_int_equal(files_in(dir), 1);
    assert_ok(vxt_npy_read_info(p, &info)); /* the previous file is intact */
    assert_int_equal(info.ndim, 0);
    assert_ok(vxt_npy_writer_open(p, VXT_DTYPE_F32, 2, shape, &w));
    vxt_npy_writer_abort(w);
    assert_int_equal(files_in(dir), 1);
    vxt_npy_writer_abort(NULL);

    /* bad arguments and unwritable places */
    assert_status_msg(vxt_npy_writer_open("/nonexistent-dir/x.npy", VXT_DTYPE_F32, 2, shape, &w), VXT_ERR_IO,
                      "cannot create");
    assert_null(w);
    assert_status_msg(vxt_npy_writer_open(p, VXT_DTYPE_INVALID, 2, shape, &w), VXT_ERR_INVALID_ARGUMENT, "dtype");
    assert_status_msg(vxt_npy_writer_open(p, VXT_DTYPE_F32, 9, shape, &w), VXT_ERR_INVALID_ARGUMENT, "ndim 9");
    int64_t neg[2] = {3, -1};
    assert_status_msg(vxt_npy_writer_open(p, VXT_DTYPE_F32, 2, neg, &w), VXT_ERR_INVALID_ARGUMENT, "shape[1] is -1");
    int64_t huge[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 1 << 20};
    assert_status_msg(vxt_npy_writer_open(p, VXT_DTYPE_F32, 3, huge, &w), VXT_ERR_OVERFLOW, "overflows");
    assert_status_msg(vxt_npy_write(p, VXT_DTYPE_F32, 2, shape, NULL), VXT_ERR_NULL, "data");
    assert_int_equal(files_in(dir), 1);
    unlink(p);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_reads_numpy_files),
        cmocka_unit_test(test_rejects_bad_files),
        cmocka_unit_test(test_write_round_trip_and_atomicity),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
