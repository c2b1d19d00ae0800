/* dicom_ijg_decode.h - the decode loop over IJG's libjpeg API, shared by the two lossy JPEG decoders that use it:
 * dicom_jpeg_dct.c (libjpeg-turbo, 8-bit samples) and dicom_jpeg12.c (the IJG library GDCM ships built for 12-bit
 * samples). The two libraries have headers and symbols of their own, so this is a template, not a function: each
 * file includes its library's jpeglib.h and jerror.h, defines
 *   VXT__IJG_NAME          the messages' name of the library ("libjpeg", "IJG")
 *   VXT__IJG_DAMAGED(code) whether a warning code means lost or damaged samples (the frame then fails; warnings
 *                          about header oddities IJG decodes past, a sequential scan declaring Se != 63 or an
 *                          unknown JFIF version, do not)
 * and includes this file once, then calls ijg_decode with a function that gives the decompressor its source.
 *
 * IJG reports errors through error_exit (here: the message kept, then a longjmp back), and corrupt data through
 * warnings it would otherwise print and decode past with gray fill; nothing is printed, and the decompressor is
 * destroyed on every path. Not installed. */
#ifndef VXT_DICOM_IJG_DECODE_H
#define VXT_DICOM_IJG_DECODE_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

typedef struct ijg_errmgr {
    struct jpeg_error_mgr pub;
    jmp_buf back;
    int warned;
    char msg[JMSG_LENGTH_MAX];
} ijg_errmgr;

static void ijg_on_exit(j_common_ptr c)
{
    ijg_errmgr *e = (ijg_errmgr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->back, 1);
}

static void ijg_on_emit(j_common_ptr c, int level)
{
    ijg_errmgr *e = (ijg_errmgr *)c->err;
    if (level < 0 && VXT__IJG_DAMAGED(c->err->msg_code) && !e->warned) {
        e->warned = 1;
        c->err->format_message(c, e->msg);
    }
}

static void ijg_on_output(j_common_ptr c)
{
    (void)c;
}

/* One frame (s, n) into dst (f: rows x cols samples of f->bytes); set_source gives cinfo its source. 0, or -1 with
 * a one-line reason in err. */
static int ijg_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err, size_t errlen,
                      void (*set_source)(j_decompress_ptr, struct jpeg_source_mgr *, const unsigned char *, size_t))
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_source_mgr src;
    ijg_errmgr e;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&src, 0, sizeof src);
    memset(&e, 0, sizeof e);
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = ijg_on_exit;
    e.pub.emit_message = ijg_on_emit;
    e.pub.output_message = ijg_on_output;
    JSAMPLE *volatile row = NULL;
    volatile int created = 0;
    if (setjmp(e.back)) {
        snprintf(err, errlen, "JPEG stream: %s (%s)", e.msg, VXT__IJG_NAME);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    set_source(&cinfo, &src, s, n);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components != 1) {
        snprintf(err, errlen, "JPEG stream: %d components (only grayscale is read)", cinfo.num_components);
        goto fail;
    }
    if ((int64_t)cinfo.image_height != f->rows || (int64_t)cinfo.image_width != f->cols) {
        snprintf(err, errlen, "JPEG stream: the frame is %u x %u, the header (Rows x Columns) says %lld x %lld",
                 (unsigned)cinfo.image_height, (unsigned)cinfo.image_width, (long long)f->rows, (long long)f->cols);
        goto fail;
    }
    if (8 * f->bytes < cinfo.data_precision) {
        snprintf(err, errlen, "JPEG stream: %d-bit samples do not fit BitsAllocated %d", cinfo.data_precision,
                 8 * f->bytes);
        goto fail;
    }
    cinfo.out_color_space = JCS_GRAYSCALE;
    cinfo.dct_method = JDCT_ISLOW; /* IJG's accurate integer IDCT, as GDCM's decoding uses */
    jpeg_start_decompress(&cinfo);
    row = malloc(cinfo.output_width * sizeof *row);
    if (!row) {
        snprintf(err, errlen, "JPEG stream: out of memory");
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1)
            break;
        for (size_t x = 0; x < cinfo.output_width; x++) /* 8-bit samples are unsigned char, 12-bit ones short */
            vxt__dcm_put(dst, f->bytes, y * cinfo.output_width + x, (uint32_t)(uint16_t)row[x]);
    }
    if (cinfo.output_scanline != cinfo.output_height) {
        snprintf(err, errlen, "JPEG stream: ends before its last row");
        goto fail;
    }
    jpeg_finish_decompress(&cinfo);
    if (e.warned) {
        snprintf(err, errlen, "JPEG stream: %s (%s; corrupt data)", e.msg, VXT__IJG_NAME);
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

#endif /* VXT_DICOM_IJG_DECODE_H */
