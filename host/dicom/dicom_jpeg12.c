/* dicom_jpeg12.c - 12-bit lossy JPEG (DCT processes 2 and 4, extended: transfer syntax 1.2.840.10008.1.2.4.51, as
 * old CT archives hold it), one component, through the IJG library GDCM ships built for 12-bit samples
 * (libgdcmjpeg12, Debian libgdcm-dev: a C library with its own symbol prefix, beside libjpeg-turbo without
 * conflict). GDCM's C++ codec over it is not used (it leaks and asserts on corrupt streams); here IJG's errors
 * longjmp back with their message, its warnings (corrupt data) fail the frame, nothing is printed, and the
 * decompressor is destroyed on every path. Debian 12's libjpeg-turbo (2.1) decodes 8-bit samples only. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

#ifdef VXT_HAVE_JPEG12
#include <gdcmjpeg/12/jpeglib.h>
#include <gdcmjpeg/12/jerror.h>

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
                        code == JWRN_HUFF_BAD_CODE || code == JWRN_BOGUS_PROGRESSION;
    if (level < 0 && damaged && !e->warned) {
        e->warned = 1;
        c->err->format_message(c, e->msg);
    }
}

static void on_output(j_common_ptr c)
{
    (void)c;
}

/* The whole frame is in memory: IJG 6b has no memory source, so a minimal one. Past the end, an EOI marker is fed
 * (and IJG warns: a warning fails the frame). */
static void src_init(j_decompress_ptr c)
{
    (void)c;
}

static boolean src_fill(j_decompress_ptr c)
{
    static const JOCTET eoi[2] = {0xFF, 0xD9};
    WARNMS(c, JWRN_JPEG_EOF);
    c->src->next_input_byte = eoi;
    c->src->bytes_in_buffer = 2;
    return TRUE;
}

static void src_skip(j_decompress_ptr c, long k)
{
    if (k <= 0)
        return;
    if ((size_t)k > c->src->bytes_in_buffer) {
        c->src->next_input_byte += c->src->bytes_in_buffer;
        c->src->bytes_in_buffer = 0;
        (void)src_fill(c);
        return;
    }
    c->src->next_input_byte += k;
    c->src->bytes_in_buffer -= (size_t)k;
}

static void src_term(j_decompress_ptr c)
{
    (void)c;
}

int vxt__dcm_jpeg12_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_source_mgr src;
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
        snprintf(err, errlen, "JPEG stream (12-bit): %s (IJG)", e.msg);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    src.next_input_byte = s;
    src.bytes_in_buffer = n;
    src.init_source = src_init;
    src.fill_input_buffer = src_fill;
    src.skip_input_data = src_skip;
    src.resync_to_restart = jpeg_resync_to_restart;
    src.term_source = src_term;
    cinfo.src = &src;
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components != 1) {
        snprintf(err, errlen, "JPEG stream (12-bit): %d components (only grayscale is read)", cinfo.num_components);
        goto fail;
    }
    if ((int64_t)cinfo.image_height != f->rows || (int64_t)cinfo.image_width != f->cols) {
        snprintf(err, errlen, "JPEG stream (12-bit): the frame is %u x %u, the header (Rows x Columns) says %lld x "
                 "%lld", cinfo.image_height, cinfo.image_width, (long long)f->rows, (long long)f->cols);
        goto fail;
    }
    if (f->bytes < 2) {
        snprintf(err, errlen, "JPEG stream (12-bit): 12-bit samples do not fit BitsAllocated 8");
        goto fail;
    }
    cinfo.out_color_space = JCS_GRAYSCALE;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    row = malloc(cinfo.output_width * sizeof *row);
    if (!row) {
        snprintf(err, errlen, "JPEG stream (12-bit): out of memory");
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1)
            break;
        for (size_t x = 0; x < cinfo.output_width; x++)
            vxt__dcm_put(dst, f->bytes, y * cinfo.output_width + x, (uint32_t)(uint16_t)row[x]);
    }
    if (cinfo.output_scanline != cinfo.output_height) {
        snprintf(err, errlen, "JPEG stream (12-bit): ends before its last row");
        goto fail;
    }
    jpeg_finish_decompress(&cinfo);
    if (e.warned) {
        snprintf(err, errlen, "JPEG stream (12-bit): %s (IJG; corrupt data)", e.msg);
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
#else
int vxt__dcm_jpeg12_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen)
{
    (void)s, (void)n, (void)f, (void)dst;
    snprintf(err, errlen, "JPEG stream: 12-bit lossy JPEG needs GDCM's libgdcmjpeg12, which this voxtile was built "
             "without");
    return -1;
}
#endif
