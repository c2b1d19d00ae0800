/* dicom_jpeg_dct.c - JPEG baseline and extended, 8-bit (DCT processes: SOF0, 1, 2, 9, 10; transfer syntaxes
 * 1.2.840.10008.1.2.4.50 and .51), one component, through libjpeg-turbo (Debian libjpeg62-turbo-dev), from memory.
 * The decode loop, its error manager and what fails a frame: dicom_ijg_decode.h. 12-bit frames go to
 * dicom_jpeg12.c: Debian 12's libjpeg-turbo (2.1) is built for 8-bit samples only. */
#include <stdio.h>

#include "dicom_codec.h"

#ifdef VXT_HAVE_LIBJPEG
#include <jpeglib.h>
#include <jerror.h>

#define VXT__IJG_NAME "libjpeg"
#define VXT__IJG_DAMAGED(code)                                                                                      \
    ((code) == JWRN_HIT_MARKER || (code) == JWRN_JPEG_EOF || (code) == JWRN_MUST_RESYNC ||                          \
     (code) == JWRN_HUFF_BAD_CODE || (code) == JWRN_BOGUS_PROGRESSION || (code) == JWRN_ARITH_BAD_CODE)
#include "dicom_ijg_decode.h"

static void memory_source(j_decompress_ptr cinfo, struct jpeg_source_mgr *unused, const unsigned char *s, size_t n)
{
    (void)unused;
    jpeg_mem_src(cinfo, s, (unsigned long)n);
}

int vxt__dcm_jpeg_dct_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                             size_t errlen)
{
    if (n > (unsigned long)-1) {
        snprintf(err, errlen, "JPEG stream: too large");
        return -1;
    }
    return ijg_decode(s, n, f, dst, err, errlen, memory_source);
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
