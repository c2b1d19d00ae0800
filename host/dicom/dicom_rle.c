/* dicom_rle.c - RLE Lossless (DICOM PS3.5 annex G; transfer syntax 1.2.840.10008.1.2.5), one sample per pixel.
 *
 * A frame is a 64-byte header (the number of segments, then 15 offsets, little endian) and one PackBits segment per
 * byte of a sample, most significant byte first: 1 segment for 8-bit samples, 2 for 16-bit, 4 for 32-bit. Each
 * segment must decode to exactly rows x cols bytes (a segment may carry one padding byte beyond that); a segment
 * that stops short, offsets that overlap or leave the frame, or a segment count that is not the sample's bytes are
 * errors. Written for voxtile: annex G is a page long, and GDCM's decoder is the only packaged one. */
#include <stdio.h>
#include <string.h>

#include "dicom_codec.h"

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One PackBits segment (s, n) into `count` bytes at stride `stride` in dst. Returns the bytes produced: fewer than
 * count when the segment stops short, count + 1 when a run would go beyond the frame. */
static size_t unpack(const unsigned char *s, size_t n, unsigned char *dst, size_t stride, size_t count)
{
    size_t i = 0, o = 0;
    while (i < n && o < count) {
        const int c = (signed char)s[i++];
        if (c >= 0) { /* c + 1 literal bytes */
            size_t k = (size_t)c + 1;
            if (k > count - o)
                return count + 1; /* more than the frame holds */
            if (k > n - i)
                return o; /* the segment ends inside the run */
            for (size_t j = 0; j < k; j++)
                dst[(o + j) * stride] = s[i + j];
            i += k;
            o += k;
        } else if (c != -128) { /* the next byte, 1 - c times */
            size_t k = (size_t)(1 - c);
            if (i >= n)
                return o;
            if (k > count - o)
                return count + 1;
            for (size_t j = 0; j < k; j++)
                dst[(o + j) * stride] = s[i];
            i++;
            o += k;
        }
    }
    return o;
}

int vxt__dcm_rle_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err, size_t errlen)
{
    if (n < 64) {
        snprintf(err, errlen, "RLE frame: %zu bytes, shorter than its 64-byte header", n);
        return -1;
    }
    const uint32_t segs = le32(s);
    if (segs != (uint32_t)f->bytes) {
        snprintf(err, errlen, "RLE frame: %u segments for %d-byte samples (one per byte of a sample, one sample per "
                 "pixel)", segs, f->bytes);
        return -1;
    }
    const size_t count = (size_t)f->rows * (size_t)f->cols;
    for (uint32_t k = 0; k < segs; k++) {
        const uint32_t off = le32(s + 4 + 4 * k);
        const uint32_t next = k + 1 < segs ? le32(s + 8 + 4 * k) : (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
        if (off < 64 || off > n || next < off || next > n) {
            snprintf(err, errlen, "RLE frame: segment %u's offsets (%u to %u) are outside the frame's %zu bytes",
                     k + 1, off, next, n);
            return -1;
        }
        /* segment k holds byte (bytes-1-k) of each little-endian sample: the most significant first */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        unsigned char *base = (unsigned char *)dst + k;
#else
        unsigned char *base = (unsigned char *)dst + (f->bytes - 1 - (int)k);
#endif
        const size_t got = unpack(s + off, next - off, base, (size_t)f->bytes, count);
        if (got != count) {
            snprintf(err, errlen, "RLE frame: segment %u decodes to %s %zu bytes (Rows x Columns)", k + 1,
                     got < count ? "fewer than" : "more than", count);
            return -1;
        }
    }
    return 0;
}
