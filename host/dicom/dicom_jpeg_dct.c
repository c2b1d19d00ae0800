/* dicom_jpeg_dct.c - JPEG baseline and extended, 8-bit (DCT processes: SOF0, 1, 2, 9, 10; transfer syntaxes
 * 1.2.840.10008.1.2.4.50 and .51), one component, through libjpeg-turbo (Debian libjpeg62-turbo-dev).
 *
 * libjpeg reports errors through error_exit (here: the message kept, then a longjmp back) and corrupt data through
 * warnings it would otherwise print and decode past with gray fill; here every warning fails the frame, nothing is
 * printed, and the decompressor is destroyed on every path. 12-bit extended JPEG is refused with a reason: Debian
 * 12's libjpeg-turbo (2.1) is built for 8-bit samples only. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

#ifdef VXT_HAVE_LIBJPEG
#include <jpeglib.h>
#include <jerror.h>

typedef struct errmgr {
    struct jpeg_error_mgr pub;
    jmp_buf back;
    int warned;
    char msg[JMSG_LENGTH_MAX];
} errmgr;

static void on_exit_(j_common_ptr c)
{
    errmgr *e = (errmgr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->back, 1);
}

static void on_emit(j_common_ptr c, int level)
{
    errmgr *e = (errmgr *)c->err;
    /* warnings that mean lost or damaged samples fail the frame; header oddities IJG decodes past (a sequential
     * scan declaring Se != 63, an unknown JFIF version) do not */
    const int code = c->err->msg_code;
    const int damaged = code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF || code == JWRN_MUST_RESYNC ||
                        code == JWRN_HUFF_BAD_CODE || code == JWRN_BOGUS_PROGRESSION ||
                        code == JWRN_ARITH_BAD_CODE;
    if (level < 0 && damaged && !e->warned) {
        e->warned = 1;
        c->err->format_message(c, e->msg);
    }
}

static void on_output(j_common_ptr c)
{
    (void)c;
}

int vxt__dcm_jpeg_dct_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                             size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    errmgr e;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&e, 0, sizeof e);
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_exit_;
    e.pub.emit_message = on_emit;
    e.pub.output_message = on_output;
    JSAMPLE *volatile row = NULL;
    volatile int created = 0;
    if (setjmp(e.back)) {
        snprintf(err, errlen, "JPEG stream: %s (libjpeg)", e.msg);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    if (n > (unsigned long)-1) {
        snprintf(err, errlen, "JPEG stream: too large");
        goto fail;
    }
    jpeg_mem_src(&cinfo, s, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components != 1) {
        snprintf(err, errlen, "JPEG stream: %d components (only grayscale is read)", cinfo.num_components);
        goto fail;
    }
    if ((int64_t)cinfo.image_height != f->rows || (int64_t)cinfo.image_width != f->cols) {
        snprintf(err, errlen, "JPEG stream: the frame is %u x %u, the header (Rows x Columns) says %lld x %lld",
                 cinfo.image_height, cinfo.image_width, (long long)f->rows, (long long)f->cols);
        goto fail;
    }
    cinfo.out_color_space = JCS_GRAYSCALE;
    cinfo.dct_method = JDCT_ISLOW; /* IJG's accurate integer IDCT, as GDCM's IJG uses */
    jpeg_start_decompress(&cinfo);
    row = malloc(cinfo.output_width);
    if (!row) {
        snprintf(err, errlen, "JPEG stream: out of memory");
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1)
            break;
        for (size_t x = 0; x < cinfo.output_width; x++)
            vxt__dcm_put(dst, f->bytes, y * cinfo.output_width + x, row[x]);
    }
    if (cinfo.output_scanline != cinfo.output_height) {
        snprintf(err, errlen, "JPEG stream: ends before its last row");
        goto fail;
    }
    jpeg_finish_decompress(&cinfo);
    if (e.warned) {
        snprintf(err, errlen, "JPEG stream: %s (libjpeg; corrupt data)", e.msg);
        goto fail;
    }
    free(row);
    jpeg_destroy_decompress(&cinfo);
    return 0;
fail:
    free(row);
    if (created)
        jpeg_destroy_decompress(&cinfo);
    return -1;
}

const char *vxt__dcm_libjpeg_version(void)
{
#if defined(LIBJPEG_TURBO_VERSION)
#define VXT__STR2(x) #x
#define VXT__STR(x) VXT__STR2(x)
    return "libjpeg-turbo " VXT__STR(LIBJPEG_TURBO_VERSION);
#else
    return "libjpeg";
#endif
}
#else
int vxt__dcm_jpeg_dct_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                             size_t errlen)
{
    (void)s, (void)n, (void)f, (void)dst;
    snprintf(err, errlen, "JPEG (lossy): voxtile was built without libjpeg (Debian: apt-get install "
             "libjpeg62-turbo-dev)");
    return -1;
}

const char *vxt__dcm_libjpeg_version(void)
{
    return NULL;
}
#endif
