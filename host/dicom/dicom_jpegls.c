/* dicom_jpegls.c - JPEG-LS (ISO 14495-1), lossless and near-lossless (transfer syntaxes 1.2.840.10008.1.2.4.80 and
 * .81), one component, through CharLS's C API (Debian libcharls-dev). CharLS reports every error as a code and
 * never prints; the decoder is destroyed on every path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

#ifdef VXT_HAVE_CHARLS
#include <charls/charls.h>

int vxt__dcm_jpegls_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen)
{
    charls_jpegls_decoder *d = charls_jpegls_decoder_create();
    if (!d) {
        snprintf(err, errlen, "JPEG-LS stream: out of memory");
        return -1;
    }
    int r = -1;
    void *tmp = NULL;
    unsigned char *ended = NULL;
    charls_frame_info fi;
    /* CharLS 2.4 slows to a crawl reading past the end of a stream that has no end-of-image marker (a corrupt 2.7 KB
     * frame took 6 s: tests/fuzz/regressions-dicom/slow-001); such a stream is given one. A complete stream ends with
     * EOI (then at most a padding byte), and is decoded as it is. */
    size_t t = n;
    while (t > 0 && s[t - 1] == 0x00 && n - t < 2)
        t--;
    if (t < 2 || s[t - 2] != 0xFF || s[t - 1] != 0xD9) {
        if (!(ended = malloc(n + 2))) {
            snprintf(err, errlen, "JPEG-LS stream: out of memory");
            charls_jpegls_decoder_destroy(d);
            return -1;
        }
        memcpy(ended, s, n);
        ended[n] = 0xFF;
        ended[n + 1] = 0xD9;
        s = ended;
        n += 2;
    }
    charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(d, s, n);
    if (e == CHARLS_JPEGLS_ERRC_SUCCESS)
        e = charls_jpegls_decoder_read_header(d);
    if (e == CHARLS_JPEGLS_ERRC_SUCCESS)
        e = charls_jpegls_decoder_get_frame_info(d, &fi);
    if (e != CHARLS_JPEGLS_ERRC_SUCCESS) {
        snprintf(err, errlen, "JPEG-LS stream: %s (CharLS)", charls_get_error_message(e));
        goto out;
    }
    if (fi.component_count != 1) {
        snprintf(err, errlen, "JPEG-LS stream: %d components (only grayscale is read)", fi.component_count);
        goto out;
    }
    if ((int64_t)fi.height != f->rows || (int64_t)fi.width != f->cols) {
        snprintf(err, errlen, "JPEG-LS stream: the frame is %u x %u, the header (Rows x Columns) says %lld x %lld",
                 fi.height, fi.width, (long long)f->rows, (long long)f->cols);
        goto out;
    }
    if (fi.bits_per_sample < 2 || fi.bits_per_sample > 16 || fi.bits_per_sample > 8 * f->bytes) {
        snprintf(err, errlen, "JPEG-LS stream: %d-bit samples do not fit BitsAllocated %d", fi.bits_per_sample,
                 8 * f->bytes);
        goto out;
    }
    /* CharLS writes 1 byte per sample up to 8 bits, 2 (host order) above */
    const int cb = fi.bits_per_sample > 8 ? 2 : 1;
    const size_t count = (size_t)f->rows * (size_t)f->cols, need = count * (size_t)cb;
    size_t size = 0;
    e = charls_jpegls_decoder_get_destination_size(d, 0, &size);
    if (e != CHARLS_JPEGLS_ERRC_SUCCESS || size != need) {
        snprintf(err, errlen, "JPEG-LS stream: decodes to %zu bytes, not %zu", size, need);
        goto out;
    }
    void *out = dst;
    if (cb != f->bytes && !(out = tmp = malloc(need))) {
        snprintf(err, errlen, "JPEG-LS stream: out of memory");
        goto out;
    }
    e = charls_jpegls_decoder_decode_to_buffer(d, out, need, 0);
    if (e != CHARLS_JPEGLS_ERRC_SUCCESS) {
        snprintf(err, errlen, "JPEG-LS stream: %s (CharLS)", charls_get_error_message(e));
        goto out;
    }
    if (tmp)
        for (size_t i = 0; i < count; i++)
            vxt__dcm_put(dst, f->bytes, i, cb == 1 ? ((const uint8_t *)tmp)[i] : ((const uint16_t *)tmp)[i]);
    r = 0;
out:
    free(tmp);
    free(ended);
    charls_jpegls_decoder_destroy(d);
    return r;
}

const char *vxt__dcm_charls_version(void)
{
    return charls_get_version_string();
}
#else
int vxt__dcm_jpegls_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen)
{
    (void)s, (void)n, (void)f, (void)dst;
    snprintf(err, errlen, "JPEG-LS: voxtile was built without CharLS (Debian: apt-get install libcharls-dev)");
    return -1;
}

const char *vxt__dcm_charls_version(void)
{
    return NULL;
}
#endif
