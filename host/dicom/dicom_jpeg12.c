/* dicom_jpeg12.c - 12-bit lossy JPEG (DCT processes 2 and 4, extended: transfer syntax 1.2.840.10008.1.2.4.51, as
 * old CT archives hold it), one component, through the IJG library GDCM ships built for 12-bit samples
 * (libgdcmjpeg12, Debian libgdcm-dev: a C library with its own symbol prefix, beside libjpeg-turbo without
 * conflict). GDCM's C++ codec over it is not used (it leaks and asserts on corrupt streams). The decode loop, its
 * error manager and what fails a frame: dicom_ijg_decode.h. Debian 12's libjpeg-turbo (2.1) decodes 8-bit samples
 * only. */
#include <stdio.h>

#include "dicom_codec.h"

#ifdef VXT_HAVE_JPEG12
#include <gdcmjpeg/12/jpeglib.h>
#include <gdcmjpeg/12/jerror.h>

#define VXT__IJG_NAME "IJG"
#define VXT__IJG_DAMAGED(code)                                                                                      \
    ((code) == JWRN_HIT_MARKER || (code) == JWRN_JPEG_EOF || (code) == JWRN_MUST_RESYNC ||                          \
     (code) == JWRN_HUFF_BAD_CODE || (code) == JWRN_BOGUS_PROGRESSION)
#include "dicom_ijg_decode.h"

/* The whole frame is in memory: IJG 6b has no memory source, so a minimal one. Past the end, an EOI marker is fed
 * with a warning (JWRN_JPEG_EOF: the frame fails). */
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

static void memory_source(j_decompress_ptr cinfo, struct jpeg_source_mgr *src, const unsigned char *s, size_t n)
{
    src->next_input_byte = s;
    src->bytes_in_buffer = n;
    src->init_source = src_init;
    src->fill_input_buffer = src_fill;
    src->skip_input_data = src_skip;
    src->resync_to_restart = jpeg_resync_to_restart;
    src->term_source = src_term;
    cinfo->src = src;
}

int vxt__dcm_jpeg12_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen)
{
    return ijg_decode(s, n, f, dst, err, errlen, memory_source);
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
