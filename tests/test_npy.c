/* test_npy.c - the .npy reader and writer: files written by NumPy (every supported dtype, both byte orders,
 * format versions 1 and 2, 0-d and empty arrays), corrupt and unsupported files, the header dictionary's strict
 * syntax (as numpy.lib.format.read_array_header), fuzzing regressions, round trips, and the writer's
 * all-or-nothing behaviour. Test files: tools/make_npy_testdata.py. */
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
    snprintf(buf, n, "%s/npy/%s.npy", vxt_test_data_dir(), name);
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

/* Write an .npy file (format 1.0) whose header is the `hl` bytes at `header`, followed by `data_bytes` zero bytes. */
static void write_npy_raw(const char *path, const char *header, size_t hl, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    assert_int_equal(fwrite(pre, 1, sizeof pre, f), sizeof pre);
    assert_int_equal(fwrite(header, 1, hl, f), hl);
    for (size_t i = 0; i < data_bytes; i++)
        assert_int_equal(fputc(0, f), 0);
    assert_int_equal(fclose(f), 0);
}

/* The header must be a Python dict literal with exactly 'descr', 'fortran_order' and 'shape', each once, values of
 * the right types, a closing '}' and nothing but whitespace after it (numpy.lib.format.read_array_header). */
static void test_header_dict_is_strict(void **state)
{
    (void)state;
    char dir[] = "/tmp/vxt-npy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof p, "%s/h.npy", dir);
    static const struct {
        const char *header;
        const char *msg;
    } bad[] = {
        /* keys: unknown, duplicate, missing (also a key's text inside another value does not count) */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}\n", "unknown key 'extra'"},
        {"{'descr': '<f4', 'fortran_order': False, 'note': \"'shape': (2,)\"}\n", "unknown key 'note'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}\n", "duplicate key 'shape'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", "duplicate key 'descr'"},
        {"{'descr': '<f4', 'shape': (2,)}\n", "no 'fortran_order' key"},
        {"{'fortran_order': False, 'shape': (2,)}\n", "no 'descr' key"},
        {"{'descr': '<f4', 'fortran_order': False}\n", "no 'shape' key"},
        {"{}\n", "no 'descr' key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 3: 4}\n",
         "expected a quoted key in the .npy header dictionary, found '3: 4}"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,),,}\n",
         "expected a quoted key in the .npy header dictionary, found ',}"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}\n", "expected ':' after the key 'descr'"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}\n", "expected ',' or '}' after the value of 'descr'"},
        /* the dictionary itself: not one, not closed, text after it */
        {"['descr', '<f4']\n", "not a dictionary"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,),      \n", "no closing '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n", "no closing '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n", "unexpected text 'x\\n' after the closing '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}}\n", "unexpected text '}\\n' after the closing '}'"},
        /* value types */
        {"{'descr': 3, 'fortran_order': False, 'shape': (2,)}\n", "'descr' in the .npy header is not a string"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n",
         "'fortran_order' in the .npy header is not True or False"},
        {"{'descr': '<f4', 'fortran_order': 'False', 'shape': (2,)}\n", "is not True or False (found ''False'"},
        {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}\n", "is not True or False (found 'Falsey"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}\n", "'shape' in the .npy header is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': '(2,)'}\n", "'shape' in the .npy header is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}\n", "'shape' (2) in the .npy header is an integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}\n", "malformed 'shape' entry '-2,)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}\n", "expected ',' or ')', found '.0,)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}\n", "malformed 'shape' entry ',)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,, 2)}\n", "malformed 'shape' entry ', 2)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}\n", "leading zero"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}\n", "expected ',' or ')', found '}"},
        {"{'descr': '<f 4', 'fortran_order': False, 'shape': (2,)}\n", "malformed 'descr' '<f 4'"},
        /* bytes that are not printable ASCII are shown escaped, keeping the message on one line */
        {"{'descr': '<f\r\x01', 'fortran_order': False, 'shape': (2,)}\n", "malformed 'descr' '<f\\r\\x01'"},
        {"{'descr': '\xff" "f4', 'fortran_order': False, 'shape': (2,)}\n", "unknown byte order '\\xff'"},
        {"{'descr': '<\xe9" "4', 'fortran_order': False, 'shape': (2,)}\n", "dtype '<\\xe94' is not supported"},
        {"{'d\tscr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", "unknown key 'd\\tscr'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_npy_raw(p, bad[k].header, strlen(bad[k].header), 8);
        vxt_npy_info info = {.struct_size = sizeof info};
        vxt_status st = vxt_npy_read_info(p, &info);
        const char *e = vxt_last_error();
        if (st != VXT_ERR_FORMAT || !strstr(e, bad[k].msg) || strncmp(e, p, strlen(p)) != 0 || strchr(e, '\n'))
            fail_msg("header %zu %s: %s (%s), expected VXT_ERR_FORMAT: '%s: ...%s...' on one line", k, bad[k].header,
                     vxt_status_name(st), e, p, bad[k].msg);
    }
    /* a NUL byte (not whitespace) after the dictionary, shown escaped */
    static const char nul[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n\0 ";
    write_npy_raw(p, nul, sizeof nul - 1, 8);
    vxt_npy_info ni = {.struct_size = sizeof ni};
    assert_status_msg(vxt_npy_read_info(p, &ni), VXT_ERR_FORMAT, "unexpected text '\\x00 ' after the closing '}'");

    /* what NumPy accepts: keys in any order, either quote, whitespace and newlines between tokens, trailing commas,
     * 1-tuples, 0-d, Python 2 longs, no final newline; the data must still be read */
    static const struct {
        const char *header;
        int ndim;
        int64_t shape[3];
    } good[] = {
        {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n", 2, {2, 3}},
        {"{'fortran_order': False, 'shape': (2, 3), 'descr': '<f4', }\n", 2, {2, 3}},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}\n", 1, {6}},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3,), }          \n", 3, {1, 2, 3}},
        {"{'descr':'<f4','fortran_order':False,'shape':( 6 , )}\n", 1, {6}},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}\n", 0, {0}},
        {" {\n 'descr' : '<f4' ,\n\t'fortran_order' : False ,\n 'shape' : (\n2L,\n3L\n)\n}\r\n", 2, {2, 3}},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 6), }    ", 2, {0, 6}},
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        uint64_t count = 1;
        for (int a = 0; a < good[k].ndim; a++)
            count *= (uint64_t)good[k].shape[a];
        write_npy_raw(p, good[k].header, strlen(good[k].header), (size_t)count * 4);
        vxt_npy_info info = {.struct_size = sizeof info};
        vxt_status st = vxt_npy_read_info(p, &info);
        if (st != VXT_OK)
            fail_msg("header %zu %s: %s (%s), expected it to be read", k, good[k].header, vxt_status_name(st),
                     vxt_last_error());
        assert_int_equal(info.dtype, VXT_DTYPE_F32);
        assert_int_equal(info.ndim, good[k].ndim);
        for (int a = 0; a < good[k].ndim; a++)
            assert_int_equal(info.shape[a], good[k].shape[a]);
        assert_int_equal(info.count, count);
        assert_int_equal(info.data_offset, 10 + strlen(good[k].header));
        float v[6] = {1, 1, 1, 1, 1, 1};
        assert_ok(vxt_npy_read(p, &info, 0, count, v));
        for (uint64_t i = 0; i < count; i++)
            assert_true(v[i] == 0.0f);
    }
    unlink(p);
    rmdir(dir);
}

/* Inputs found by fuzzing (tests/fuzz/fuzz_npy_read.c), kept as tests/fuzz/regressions-npy/crash-NNN: each must
 * keep failing cleanly, with a message naming the file, or reading correctly. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/../fuzz/regressions-npy/crash-%03d", vxt_test_data_dir(), i);
        if (access(p, R_OK) != 0)
            break;
        vxt_npy_info info = {.struct_size = sizeof info};
        vxt_status st = vxt_npy_read_info(p, &info);
        if (st != VXT_OK) {
            assert_non_null(strstr(vxt_last_error(), p));
            continue;
        }
        void *data = malloc(info.count * vxt_dtype_size(info.dtype) + 1);
        assert_non_null(data);
        assert_ok(vxt_npy_read(p, &info, 0, info.count, data));
        free(data);
    }
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
    /* the old out.npy, and the temporary file only where the file system has no unnamed ones (O_TMPFILE) */
    assert_true(files_in(dir) == 1 || files_in(dir) == 2);
    assert_status_msg(vxt_npy_writer_commit(w), VXT_ERR_STATE, "8 of 16 elements written");
    assert_int_equal(files_in(dir), 1);
    assert_ok(vxt_npy_read_info(p, &info)); /* the previous file is intact */
    assert_int_equal(info.ndim, 0);
    assert_ok(vxt_npy_writer_open(p, VXT_DTYPE_F32, 2, shape, &w));
    vxt_npy_writer_abort(w);
    assert_int_equal(files_in(dir), 1);
    vxt_npy_writer_abort(NULL);

    /* overlapping writes are refused (a hole could otherwise hide behind the element count); out-of-order
     * writes that fill gaps commit */
    assert_ok(vxt_npy_writer_open(p, VXT_DTYPE_F32, 2, shape, &w));
    float all[16];
    for (int i = 0; i < 16; i++)
        all[i] = (float)i + 0.5f;
    assert_ok(vxt_npy_writer_write(w, 8, 4, all + 8));
    assert_ok(vxt_npy_writer_write(w, 0, 2, all));
    assert_status_msg(vxt_npy_writer_write(w, 6, 4, row), VXT_ERR_INVALID_ARGUMENT,
                      "elements [6, 10) overlap elements [8, 12) already written");
    assert_status_msg(vxt_npy_writer_write(w, 1, 2, row), VXT_ERR_INVALID_ARGUMENT, "overlap elements [0, 2)");
    assert_ok(vxt_npy_writer_write(w, 12, 0, row)); /* nothing */
    assert_ok(vxt_npy_writer_write(w, 4, 4, all + 4));
    assert_ok(vxt_npy_writer_write(w, 14, 2, all + 14));
    assert_ok(vxt_npy_writer_write(w, 2, 2, all + 2));   /* joins [0, 2) and [4, 12) */
    assert_ok(vxt_npy_writer_write(w, 12, 2, all + 12)); /* joins [0, 12) and [14, 16) */
    assert_status_msg(vxt_npy_writer_write(w, 15, 1, row), VXT_ERR_INVALID_ARGUMENT, "overlap elements [0, 16)");
    assert_ok(vxt_npy_writer_commit(w));
    float back[16];
    assert_ok(vxt_npy_read_info(p, &info));
    assert_ok(vxt_npy_read(p, &info, 0, 16, back));
    assert_memory_equal(back, all, sizeof all);

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
        cmocka_unit_test(test_header_dict_is_strict),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_write_round_trip_and_atomicity),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
