/* nifti_test_util.c - see nifti_test_util.h. */
#include "nifti_test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vxt_test.h"

const char *ntu_data(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/nifti/%s", vxt_test_data_dir(), name);
    return buf;
}

vxt_nifti_info ntu_nifti_info(const vxt_image *img)
{
    vxt_nifti_info ni;
    memset(&ni, 0, sizeof ni);
    ni.struct_size = sizeof ni;
    assert_int_equal(vxt_nifti_get_info(img, &ni), VXT_OK);
    return ni;
}

unsigned char *ntu_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(vxt_test_relocate(path), "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (b == NULL || got != (size_t)n) {
        free(b);
        return NULL;
    }
    *size = (size_t)n;
    return b;
}

void ntu_spit(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

unsigned char *ntu_gzip(const void *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong cap = deflateBound(&z, (uLong)size) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

const cJSON *ntu_reference(void)
{
    static cJSON *ref;
    if (ref == NULL) {
        size_t n = 0;
        unsigned char *text = ntu_slurp(ntu_data("reference.json"), &n);
        if (text == NULL)
            fail_msg("cannot read %s", ntu_data("reference.json"));
        ref = cJSON_ParseWithLength((const char *)text, n);
        free(text);
        if (ref == NULL)
            fail_msg("reference.json does not parse");
    }
    return ref;
}

const cJSON *ntu_entry(const char *file)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    const cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "file");
        if (cJSON_IsString(f) && strcmp(f->valuestring, file) == 0)
            return e;
    }
    return NULL;
}

int ntu_has_num(const cJSON *obj, const char *key)
{
    return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, key));
}

double ntu_num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? 1.0 : 0.0;
    if (!cJSON_IsNumber(v))
        fail_msg("reference.json: '%s' is not a number", key);
    return v->valuedouble;
}

void ntu_matrix(const cJSON *obj, const char *key, double *out, int n, int m)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsArray(rows));
    assert_int_equal(cJSON_GetArraySize(rows), n);
    for (int r = 0; r < n; r++) {
        const cJSON *row = cJSON_GetArrayItem(rows, r);
        if (m == 1) {
            out[r] = row->valuedouble;
            continue;
        }
        assert_int_equal(cJSON_GetArraySize(row), m);
        for (int c = 0; c < m; c++)
            out[r * m + c] = cJSON_GetArrayItem(row, c)->valuedouble;
    }
}

size_t ntu_count(const vxt_volume *v)
{
    return (size_t)(v->channels * v->shape[0] * v->shape[1] * v->shape[2]);
}

static double value_at(const vxt_volume *v, size_t i)
{
    const unsigned char *p = (const unsigned char *)v->data;
    switch (v->dtype) {
#define CASE(D, T)                                                                                           \
    case D: {                                                                                                \
        T x;                                                                                                 \
        memcpy(&x, p + i * sizeof x, sizeof x);                                                              \
        return (double)x;                                                                                    \
    }
        CASE(VXT_DTYPE_U8, uint8_t)
        CASE(VXT_DTYPE_I8, int8_t)
        CASE(VXT_DTYPE_U16, uint16_t)
        CASE(VXT_DTYPE_I16, int16_t)
        CASE(VXT_DTYPE_U32, uint32_t)
        CASE(VXT_DTYPE_I32, int32_t)
        CASE(VXT_DTYPE_U64, uint64_t)
        CASE(VXT_DTYPE_I64, int64_t)
        CASE(VXT_DTYPE_F32, float)
        CASE(VXT_DTYPE_F64, double)
#undef CASE
    default:
        fail_msg("unexpected dtype %d", (int)v->dtype);
    }
    return 0;
}

/* float32 of a value exactly as numpy's astype(float32) does it (one rounding from the stored type). */
static float value_f32(const vxt_volume *v, size_t i)
{
    const unsigned char *p = (const unsigned char *)v->data;
    switch (v->dtype) {
    case VXT_DTYPE_U64: {
        uint64_t x;
        memcpy(&x, p + 8 * i, 8);
        return (float)x;
    }
    case VXT_DTYPE_I64: {
        int64_t x;
        memcpy(&x, p + 8 * i, 8);
        return (float)x;
    }
    default:
        return (float)value_at(v, i);
    }
}

uint32_t ntu_crc_f32(const vxt_volume *v)
{
    size_t n = ntu_count(v);
    uLong crc = crc32(0L, Z_NULL, 0);
    float buf[1024];
    for (size_t i = 0; i < n;) {
        size_t m = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < m; j++)
            buf[j] = value_f32(v, i + j);
        crc = crc32(crc, (const Bytef *)buf, (uInt)(m * sizeof(float)));
        i += m;
    }
    return (uint32_t)crc;
}

uint32_t ntu_crc_raw(const vxt_volume *v)
{
    size_t bytes = 0;
    assert_int_equal(vxt_volume_bytes(v, &bytes), VXT_OK);
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)v->data, (uInt)bytes);
}

void ntu_stats(const vxt_volume *v, double *min, double *max, double *mean)
{
    size_t n = ntu_count(v);
    long double s = 0;
    *min = INFINITY;
    *max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = value_at(v, i);
        if (x < *min)
            *min = x;
        if (x > *max)
            *max = x;
        s += x;
    }
    *mean = (double)(s / (long double)n);
}

void ntu_tmpdir(char *out, size_t size)
{
    snprintf(out, size, "%s/tests/nifti-tmp-XXXXXX", vxt_test_binary_dir());
    assert_non_null(mkdtemp(out));
}

void ntu_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            ntu_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

int ntu_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

void ntu_put_i16(unsigned char *b, size_t off, int16_t v)
{
    memcpy(b + off, &v, 2);
}
void ntu_put_i32(unsigned char *b, size_t off, int32_t v)
{
    memcpy(b + off, &v, 4);
}
void ntu_put_i64(unsigned char *b, size_t off, int64_t v)
{
    memcpy(b + off, &v, 8);
}
void ntu_put_f32(unsigned char *b, size_t off, float v)
{
    memcpy(b + off, &v, 4);
}
void ntu_put_f64(unsigned char *b, size_t off, double v)
{
    memcpy(b + off, &v, 8);
}

static void fill_voxels(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int16_t v = (int16_t)((int)(i * 3) - 7);
        memcpy(p + 2 * i, &v, 2);
    }
}

unsigned char *ntu_make_nii1(int ni, int nj, int nk, size_t *size)
{
    size_t n = (size_t)ni * (size_t)nj * (size_t)nk;
    *size = 352 + 2 * n;
    unsigned char *b = calloc(1, *size);
    assert_non_null(b);
    ntu_put_i32(b, 0, 348);
    b[38] = 'r';
    int16_t dim[8] = {3, (int16_t)ni, (int16_t)nj, (int16_t)nk, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        ntu_put_i16(b, 40 + 2 * (size_t)i, dim[i]);
    ntu_put_i16(b, 70, 4);  /* int16 */
    ntu_put_i16(b, 72, 16); /* bitpix */
    float pix[8] = {1, 1.5f, 2.0f, 2.5f, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        ntu_put_f32(b, 76 + 4 * (size_t)i, pix[i]);
    ntu_put_f32(b, 108, 352);
    ntu_put_f32(b, 112, 1);
    b[123] = 2; /* mm */
    memcpy(b + 148, "voxtile test", 12);
    ntu_put_i16(b, 252, 0);
    ntu_put_i16(b, 254, 1);
    float srow[3][4] = {{1.5f, 0, 0, -10}, {0, 2.0f, 0, -20}, {0, 0, 2.5f, -30}};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            ntu_put_f32(b, 280 + 16 * (size_t)r + 4 * (size_t)c, srow[r][c]);
    memcpy(b + 344, "n+1", 4);
    fill_voxels(b + 352, n);
    return b;
}

unsigned char *ntu_make_nii2(int ni, int nj, int nk, size_t *size)
{
    size_t n = (size_t)ni * (size_t)nj * (size_t)nk;
    *size = 544 + 2 * n;
    unsigned char *b = calloc(1, *size);
    assert_non_null(b);
    ntu_put_i32(b, 0, 540);
    memcpy(b + 4, "n+2\0\r\n\032\n", 8);
    ntu_put_i16(b, 12, 4);
    ntu_put_i16(b, 14, 16);
    int64_t dim[8] = {3, ni, nj, nk, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        ntu_put_i64(b, 16 + 8 * (size_t)i, dim[i]);
    double pix[8] = {1, 1.5, 2.0, 2.5, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        ntu_put_f64(b, 104 + 8 * (size_t)i, pix[i]);
    ntu_put_i64(b, 168, 544);
    ntu_put_f64(b, 176, 1);
    ntu_put_i32(b, 348, 1); /* sform_code */
    double srow[3][4] = {{1.5, 0, 0, -10}, {0, 2.0, 0, -20}, {0, 0, 2.5, -30}};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            ntu_put_f64(b, 400 + 32 * (size_t)r + 8 * (size_t)c, srow[r][c]);
    ntu_put_i32(b, 500, 2);
    fill_voxels(b + 544, n);
    return b;
}

vxt_image *ntu_read(const char *path, vxt_scaling scaling, int64_t volume, unsigned flags, int nifti_only)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = scaling;
    o.volume = volume;
    o.flags = flags;
    vxt_image *img = NULL;
    assert_ok(nifti_only ? vxt_nifti_read_file(path, &o, &img) : vxt_image_read_path(path, &o, &img));
    assert_non_null(img);
    return img;
}
