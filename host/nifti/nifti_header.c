/* nifti_header.c - NIfTI-1 (348 bytes) and NIfTI-2 (540 bytes) headers: decoding from either byte order,
 * validation of every field the reader relies on, and encoding in the host's byte order.
 *
 * Field offsets are those of nifti1.h and nifti2.h. Fields are read byte by byte in the file's byte order,
 * so nothing here depends on the host's alignment or byte order, and nothing is read beyond `n`. */
#include <math.h>
#include <string.h>

#include "nifti_internal.h"

/* ---- datatypes --------------------------------------------------------------------------------------- */

static const struct {
    int code;
    const char *name;
    vxt_dtype dtype; /* VXT_DTYPE_INVALID: a NIfTI type that voxtile does not read */
    int bits;
} datatypes[] = {
    {VXT__DT_BINARY, "binary", VXT_DTYPE_INVALID, 1},
    {VXT__DT_UINT8, "uint8", VXT_DTYPE_U8, 8},
    {VXT__DT_INT16, "int16", VXT_DTYPE_I16, 16},
    {VXT__DT_INT32, "int32", VXT_DTYPE_I32, 32},
    {VXT__DT_FLOAT32, "float32", VXT_DTYPE_F32, 32},
    {VXT__DT_COMPLEX64, "complex64", VXT_DTYPE_INVALID, 64},
    {VXT__DT_FLOAT64, "float64", VXT_DTYPE_F64, 64},
    {VXT__DT_RGB24, "RGB24", VXT_DTYPE_INVALID, 24},
    {VXT__DT_INT8, "int8", VXT_DTYPE_I8, 8},
    {VXT__DT_UINT16, "uint16", VXT_DTYPE_U16, 16},
    {VXT__DT_UINT32, "uint32", VXT_DTYPE_U32, 32},
    {VXT__DT_INT64, "int64", VXT_DTYPE_I64, 64},
    {VXT__DT_UINT64, "uint64", VXT_DTYPE_U64, 64},
    {VXT__DT_FLOAT128, "float128", VXT_DTYPE_INVALID, 128},
    {VXT__DT_COMPLEX128, "complex128", VXT_DTYPE_INVALID, 128},
    {VXT__DT_COMPLEX256, "complex256", VXT_DTYPE_INVALID, 256},
    {VXT__DT_RGBA32, "RGBA32", VXT_DTYPE_INVALID, 32},
};
#define N_DATATYPES (sizeof datatypes / sizeof datatypes[0])

static int datatype_index(int code)
{
    for (size_t i = 0; i < N_DATATYPES; i++)
        if (datatypes[i].code == code)
            return (int)i;
    return -1;
}

vxt_dtype vxt__nifti_dtype(int datatype)
{
    int i = datatype_index(datatype);
    return i < 0 ? VXT_DTYPE_INVALID : datatypes[i].dtype;
}

int vxt__nifti_datatype(vxt_dtype dtype)
{
    if (dtype == VXT_DTYPE_INVALID)
        return 0;
    for (size_t i = 0; i < N_DATATYPES; i++)
        if (datatypes[i].dtype == dtype)
            return datatypes[i].code;
    return 0;
}

size_t vxt__nifti_hdr_size(int version)
{
    return version == 2 ? VXT__NIFTI2_HDR : VXT__NIFTI1_HDR;
}

/* ---- byte-order-explicit field access ------------------------------------------------------------------ */

static uint64_t rd_uint(const unsigned char *p, int bytes, int big)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[big ? i : bytes - 1 - i];
    return v;
}

static int64_t rd_i16(const unsigned char *p, int big)
{
    return (int16_t)(uint16_t)rd_uint(p, 2, big);
}

static int64_t rd_i32(const unsigned char *p, int big)
{
    return (int32_t)(uint32_t)rd_uint(p, 4, big);
}

static int64_t rd_i64(const unsigned char *p, int big)
{
    return (int64_t)rd_uint(p, 8, big);
}

static double rd_f32(const unsigned char *p, int big)
{
    uint32_t u = (uint32_t)rd_uint(p, 4, big);
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

static double rd_f64(const unsigned char *p, int big)
{
    uint64_t u = rd_uint(p, 8, big);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Host byte order writes (the writer always writes the host's order, as nibabel does). */
static void wr_bytes(unsigned char *p, const void *v, size_t n)
{
    memcpy(p, v, n);
}
static void wr_i16(unsigned char *p, int64_t v)
{
    int16_t x = (int16_t)v;
    wr_bytes(p, &x, 2);
}
static void wr_i32(unsigned char *p, int64_t v)
{
    int32_t x = (int32_t)v;
    wr_bytes(p, &x, 4);
}
static void wr_i64(unsigned char *p, int64_t v)
{
    wr_bytes(p, &v, 8);
}
static void wr_f32(unsigned char *p, double v)
{
    float x = (float)v;
    wr_bytes(p, &x, 4);
}
static void wr_f64(unsigned char *p, double v)
{
    wr_bytes(p, &v, 8);
}

/* Copy a fixed-size, possibly unterminated string field up to its first NUL. */
static void rd_str(char *dst, const unsigned char *src, size_t field)
{
    size_t n = 0;
    while (n < field && src[n] != 0)
        n++;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Printable form of a magic field for messages (trailing NULs dropped). */
static void show_bytes(char *out, size_t out_size, const unsigned char *p, size_t n)
{
    out[0] = '\0';
    while (n > 0 && p[n - 1] == 0)
        n--;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            vxt__strlcatf(out, out_size, "%c", p[i]);
        else
            vxt__strlcatf(out, out_size, "\\x%02x", p[i]);
    }
}

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* ---- decoding ------------------------------------------------------------------------------------------ */

static void decode_v1(const unsigned char *b, int big, vxt__nifti_hdr *h)
{
    h->dim_info = b[39];
    for (int i = 0; i < 8; i++)
        h->dim[i] = rd_i16(b + 40 + 2 * i, big);
    for (int i = 0; i < 3; i++)
        h->intent_p[i] = rd_f32(b + 56 + 4 * i, big);
    h->intent_code = (int)rd_i16(b + 68, big);
    h->datatype = (int)rd_i16(b + 70, big);
    h->bitpix = (int)rd_i16(b + 72, big);
    h->slice_start = rd_i16(b + 74, big);
    for (int i = 0; i < 8; i++)
        h->pixdim[i] = rd_f32(b + 76 + 4 * i, big);
    h->vox_offset_raw = rd_f32(b + 108, big);
    h->scl_slope = rd_f32(b + 112, big);
    h->scl_inter = rd_f32(b + 116, big);
    h->slice_end = rd_i16(b + 120, big);
    h->slice_code = b[122];
    h->xyzt_units = b[123];
    h->cal_max = rd_f32(b + 124, big);
    h->cal_min = rd_f32(b + 128, big);
    h->slice_duration = rd_f32(b + 132, big);
    h->toffset = rd_f32(b + 136, big);
    rd_str(h->descrip, b + 148, 80);
    rd_str(h->aux_file, b + 228, 24);
    h->qform_code = (int)rd_i16(b + 252, big);
    h->sform_code = (int)rd_i16(b + 254, big);
    for (int i = 0; i < 3; i++) {
        h->quatern[i] = rd_f32(b + 256 + 4 * i, big);
        h->qoffset[i] = rd_f32(b + 268 + 4 * i, big);
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            h->srow[r][c] = rd_f32(b + 280 + 16 * r + 4 * c, big);
    rd_str(h->intent_name, b + 328, 16);
}

static void decode_v2(const unsigned char *b, int big, vxt__nifti_hdr *h)
{
    h->datatype = (int)rd_i16(b + 12, big);
    h->bitpix = (int)rd_i16(b + 14, big);
    for (int i = 0; i < 8; i++)
        h->dim[i] = rd_i64(b + 16 + 8 * i, big);
    for (int i = 0; i < 3; i++)
        h->intent_p[i] = rd_f64(b + 80 + 8 * i, big);
    for (int i = 0; i < 8; i++)
        h->pixdim[i] = rd_f64(b + 104 + 8 * i, big);
    int64_t vox = rd_i64(b + 168, big);
    h->vox_offset_raw = (double)vox;
    h->vox_offset = vox;
    h->scl_slope = rd_f64(b + 176, big);
    h->scl_inter = rd_f64(b + 184, big);
    h->cal_max = rd_f64(b + 192, big);
    h->cal_min = rd_f64(b + 200, big);
    h->slice_duration = rd_f64(b + 208, big);
    h->toffset = rd_f64(b + 216, big);
    h->slice_start = rd_i64(b + 224, big);
    h->slice_end = rd_i64(b + 232, big);
    rd_str(h->descrip, b + 240, 80);
    rd_str(h->aux_file, b + 320, 24);
    h->qform_code = (int)rd_i32(b + 344, big);
    h->sform_code = (int)rd_i32(b + 348, big);
    for (int i = 0; i < 3; i++) {
        h->quatern[i] = rd_f64(b + 352 + 8 * i, big);
        h->qoffset[i] = rd_f64(b + 376 + 8 * i, big);
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            h->srow[r][c] = rd_f64(b + 400 + 32 * r + 8 * c, big);
    h->slice_code = (int)rd_i32(b + 496, big);
    h->xyzt_units = (int)rd_i32(b + 500, big);
    h->intent_code = (int)rd_i32(b + 504, big);
    rd_str(h->intent_name, b + 508, 16);
    h->dim_info = b[524];
}

vxt_status vxt__nifti_decode(const unsigned char *buf, size_t n, const char *who, vxt__nifti_hdr *h,
                             vxt__nifti_layout *layout)
{
    memset(h, 0, sizeof *h);
    memset(layout, 0, sizeof *layout);
    if (n < 4)
        return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the header is cut off: %zu bytes, a NIfTI header has at "
                         "least %d", who, n, VXT__NIFTI1_HDR);

    /* sizeof_hdr gives both the version and the byte order */
    int64_t le = (int32_t)(uint32_t)rd_uint(buf, 4, 0), be = (int32_t)(uint32_t)rd_uint(buf, 4, 1);
    if (le == VXT__NIFTI1_HDR || be == VXT__NIFTI1_HDR) {
        h->version = 1;
        h->big_endian = be == VXT__NIFTI1_HDR;
    } else if (le == VXT__NIFTI2_HDR || be == VXT__NIFTI2_HDR) {
        h->version = 2;
        h->big_endian = be == VXT__NIFTI2_HDR;
    } else {
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: sizeof_hdr = %lld (bytes %02x %02x %02x %02x) is neither 348 "
                         "(NIfTI-1) nor 540 (NIfTI-2) in either byte order: not a NIfTI file", who, (long long)le,
                         buf[0], buf[1], buf[2], buf[3]);
    }
    size_t hsize = vxt__nifti_hdr_size(h->version);
    if (n < hsize)
        return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the header is cut off: %zu bytes, a NIfTI-%d header has %zu",
                         who, n, h->version, hsize);
    int big = h->big_endian;
    char shown[64];

    /* magic */
    if (h->version == 1) {
        const unsigned char *m = buf + 344;
        if ((m[0] == 'n' && (m[1] == '+' || m[1] == 'i') && m[2] == '1' && m[3] == 0)) {
            h->single_file = m[1] == '+';
        } else if (!m[0] && !m[1] && !m[2] && !m[3]) {
            return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: magic is empty: an ANALYZE 7.5 header, not NIfTI-1 "
                             "(ANALYZE has no defined orientation and is not supported)", who);
        } else {
            show_bytes(shown, sizeof shown, m, 4);
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: magic \"%s\" is not \"n+1\" or \"ni1\" (NIfTI-1)", who, shown);
        }
    } else {
        const unsigned char *m = buf + 4;
        if (!(m[0] == 'n' && (m[1] == '+' || m[1] == 'i') && m[2] == '2' && m[3] == 0)) {
            show_bytes(shown, sizeof shown, m, 4);
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: magic \"%s\" is not \"n+2\" or \"ni2\" (NIfTI-2)", who, shown);
        }
        h->single_file = m[1] == '+';
        static const unsigned char eol[4] = {'\r', '\n', 0x1a, '\n'};
        if (memcmp(m + 4, eol, 4) != 0 && (m[4] | m[5] | m[6] | m[7]) != 0) {
            show_bytes(shown, sizeof shown, m + 4, 4);
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: magic bytes 4..7 are \"%s\", not \"\\r\\n\\x1a\\n\": the file was "
                             "altered (a text-mode transfer?)", who, shown);
        }
    }

    if (h->version == 1)
        decode_v1(buf, big, h);
    else
        decode_v2(buf, big, h);
    if (n >= hsize + 4)
        memcpy(h->extender, buf + hsize, 4);

    /* dimensions */
    if (h->dim[0] < 1 || h->dim[0] > 7)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: dim[0] = %lld (the number of dimensions must be 1..7)", who,
                         (long long)h->dim[0]);
    int nd = (int)h->dim[0];
    for (int i = 1; i <= nd; i++)
        if (h->dim[i] < 1)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: dim[%d] = %lld (must be >= 1; dim[0] = %d)", who, i,
                             (long long)h->dim[i], nd);
    for (int i = nd + 1; i < 8; i++)
        h->dim[i] = 1; /* ignored, whatever they hold */

    /* datatype and bitpix */
    int di = datatype_index(h->datatype);
    if (di < 0)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: datatype = %d is not a NIfTI datatype", who, h->datatype);
    if (datatypes[di].dtype == VXT_DTYPE_INVALID)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: datatype = %d (%s) is not supported: voxtile reads scalar "
                         "integer and floating-point images (uint8 .. uint64, float32, float64)", who, h->datatype,
                         datatypes[di].name);
    if (h->bitpix != datatypes[di].bits)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: bitpix = %d does not match datatype %d (%s, %d bits)", who,
                         h->bitpix, h->datatype, datatypes[di].name, datatypes[di].bits);
    layout->dtype = datatypes[di].dtype;
    layout->elem = (size_t)datatypes[di].bits / 8;

    /* sizes: every product checked; everything must fit int64 (file offsets) and size_t (memory) */
    uint64_t vol = 1, vols = 1;
    for (int i = 1; i <= 3; i++)
        if (__builtin_mul_overflow(vol, (uint64_t)h->dim[i], &vol))
            goto overflow;
    for (int i = 4; i <= nd; i++)
        if (__builtin_mul_overflow(vols, (uint64_t)h->dim[i], &vols))
            goto overflow;
    uint64_t voxels, bytes;
    if (__builtin_mul_overflow(vol, vols, &voxels) || __builtin_mul_overflow(voxels, (uint64_t)layout->elem, &bytes) ||
        bytes > (uint64_t)INT64_MAX || bytes > (uint64_t)SIZE_MAX)
        goto overflow;
    layout->vol_voxels = vol;
    layout->volumes = vols;
    layout->data_bytes = bytes;

    /* vox_offset */
    if (h->version == 1) {
        double v = h->vox_offset_raw;
        if (!isfinite(v) || v < 0)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = %g (must be a finite byte offset >= 0)", who, v);
        if (v >= 9.2e18)
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: vox_offset = %g overflows 64-bit file offsets", who, v);
        h->vox_offset = (int64_t)v; /* truncated, as nibabel and nifti_clib do */
    } else if (h->vox_offset < 0) {
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = %lld (must be >= 0)", who,
                         (long long)h->vox_offset);
    }
    if (h->single_file) {
        int64_t min = (int64_t)hsize + 4;
        if (h->vox_offset == 0) /* the tools disagree on what this means: refuse rather than guess */
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = 0 in a single-file NIfTI-%d: where the voxels "
                             "start is undefined (the spec requires >= %lld; nifti_clib reads from byte %zu, nibabel "
                             "from byte 0)", who, h->version, (long long)min, hsize);
        if (h->vox_offset < min)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = %lld lies inside the header (a single-file "
                             "NIfTI-%d has its voxels at byte %lld or later)", who, (long long)h->vox_offset,
                             h->version, (long long)min);
    }
    if (__builtin_add_overflow((uint64_t)h->vox_offset, bytes, &layout->end) || layout->end > (uint64_t)INT64_MAX)
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: vox_offset %lld + %llu data bytes overflows 64-bit file "
                         "offsets", who, (long long)h->vox_offset, (unsigned long long)bytes);
    return VXT_OK;

overflow:
    return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: dim[1..%d] = %lld x %lld x %lld x %lld x %lld x %lld x %lld %s "
                     "values: the size overflows 64-bit sizes", who, nd, (long long)h->dim[1], (long long)h->dim[2],
                     (long long)h->dim[3], (long long)h->dim[4], (long long)h->dim[5], (long long)h->dim[6],
                     (long long)h->dim[7], datatypes[di].name);
}

/* ---- encoding ------------------------------------------------------------------------------------------ */

size_t vxt__nifti_encode(const vxt__nifti_hdr *h, unsigned char out[VXT__NIFTI_MAX_HDR + 4])
{
    memset(out, 0, VXT__NIFTI_MAX_HDR + 4);
    unsigned char *b = out;
    size_t hsize = vxt__nifti_hdr_size(h->version);
    if (h->version == 1) {
        wr_i32(b + 0, VXT__NIFTI1_HDR);
        b[38] = 'r'; /* "regular", as every NIfTI writer sets it */
        b[39] = (unsigned char)h->dim_info;
        for (int i = 0; i < 8; i++)
            wr_i16(b + 40 + 2 * i, h->dim[i]);
        for (int i = 0; i < 3; i++)
            wr_f32(b + 56 + 4 * i, h->intent_p[i]);
        wr_i16(b + 68, h->intent_code);
        wr_i16(b + 70, h->datatype);
        wr_i16(b + 72, h->bitpix);
        wr_i16(b + 74, h->slice_start);
        for (int i = 0; i < 8; i++)
            wr_f32(b + 76 + 4 * i, h->pixdim[i]);
        wr_f32(b + 108, (double)h->vox_offset);
        wr_f32(b + 112, h->scl_slope);
        wr_f32(b + 116, h->scl_inter);
        wr_i16(b + 120, h->slice_end);
        b[122] = (unsigned char)h->slice_code;
        b[123] = (unsigned char)h->xyzt_units;
        wr_f32(b + 124, h->cal_max);
        wr_f32(b + 128, h->cal_min);
        wr_f32(b + 132, h->slice_duration);
        wr_f32(b + 136, h->toffset);
        memcpy(b + 148, h->descrip, strnlen(h->descrip, 80));
        memcpy(b + 228, h->aux_file, strnlen(h->aux_file, 24));
        wr_i16(b + 252, h->qform_code);
        wr_i16(b + 254, h->sform_code);
        for (int i = 0; i < 3; i++) {
            wr_f32(b + 256 + 4 * i, h->quatern[i]);
            wr_f32(b + 268 + 4 * i, h->qoffset[i]);
        }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                wr_f32(b + 280 + 16 * r + 4 * c, h->srow[r][c]);
        memcpy(b + 328, h->intent_name, strnlen(h->intent_name, 16));
        memcpy(b + 344, h->single_file ? "n+1" : "ni1", 4);
    } else {
        wr_i32(b + 0, VXT__NIFTI2_HDR);
        memcpy(b + 4, h->single_file ? "n+2\0\r\n\032\n" : "ni2\0\r\n\032\n", 8);
        wr_i16(b + 12, h->datatype);
        wr_i16(b + 14, h->bitpix);
        for (int i = 0; i < 8; i++)
            wr_i64(b + 16 + 8 * i, h->dim[i]);
        for (int i = 0; i < 3; i++)
            wr_f64(b + 80 + 8 * i, h->intent_p[i]);
        for (int i = 0; i < 8; i++)
            wr_f64(b + 104 + 8 * i, h->pixdim[i]);
        wr_i64(b + 168, h->vox_offset);
        wr_f64(b + 176, h->scl_slope);
        wr_f64(b + 184, h->scl_inter);
        wr_f64(b + 192, h->cal_max);
        wr_f64(b + 200, h->cal_min);
        wr_f64(b + 208, h->slice_duration);
        wr_f64(b + 216, h->toffset);
        wr_i64(b + 224, h->slice_start);
        wr_i64(b + 232, h->slice_end);
        memcpy(b + 240, h->descrip, strnlen(h->descrip, 80));
        memcpy(b + 320, h->aux_file, strnlen(h->aux_file, 24));
        wr_i32(b + 344, h->qform_code);
        wr_i32(b + 348, h->sform_code);
        for (int i = 0; i < 3; i++) {
            wr_f64(b + 352 + 8 * i, h->quatern[i]);
            wr_f64(b + 376 + 8 * i, h->qoffset[i]);
        }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                wr_f64(b + 400 + 32 * r + 8 * c, h->srow[r][c]);
        wr_i32(b + 496, h->slice_code);
        wr_i32(b + 500, h->xyzt_units);
        wr_i32(b + 504, h->intent_code);
        memcpy(b + 508, h->intent_name, strnlen(h->intent_name, 16));
        b[524] = (unsigned char)h->dim_info;
    }
    memcpy(b + hsize, h->extender, 4);
    return hsize + 4;
}

void vxt__nifti_hdr_default(vxt__nifti_hdr *h, vxt_dtype dtype, int64_t channels, const int64_t shape[3])
{
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->big_endian = host_is_big_endian();
    h->single_file = 1;
    h->dim[0] = channels > 1 ? 4 : 3;
    h->dim[1] = shape[2];
    h->dim[2] = shape[1];
    h->dim[3] = shape[0];
    h->dim[4] = channels;
    for (int i = 5; i < 8; i++)
        h->dim[i] = 1;
    h->datatype = vxt__nifti_datatype(dtype);
    h->bitpix = (int)(vxt_dtype_size(dtype) * 8);
    for (int i = 0; i < 8; i++)
        h->pixdim[i] = 1.0;
    h->scl_slope = 1.0;
    h->scl_inter = 0.0;
    for (int r = 0; r < 3; r++)
        h->srow[r][r] = 1.0;
}
