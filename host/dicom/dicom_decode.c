/* dicom_decode.c - encapsulated pixel data: the transfer-syntax table, the fragments of a file split into frames,
 * and each frame handed to its decoder (dicom_codec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

typedef struct ts_row {
    const char *uid, *name;
    vxt__dcm_codec codec;
} ts_row;

static const ts_row ts_table[] = {
#define VXT__X(uid, name, codec) {uid, name, VXT__DCM_CODEC_##codec},
    VXT__DCM_TS_LIST(VXT__X)
#undef VXT__X
};

static const ts_row *ts_find(const char *uid)
{
    if (!uid || !uid[0])
        return NULL;
    for (size_t i = 0; i < sizeof ts_table / sizeof ts_table[0]; i++)
        if (!strcmp(ts_table[i].uid, uid))
            return &ts_table[i];
    return NULL;
}

vxt__dcm_codec vxt__dcm_ts_codec(const char *ts_uid)
{
    const ts_row *t = ts_find(ts_uid);
    return t ? t->codec : VXT__DCM_CODEC_NONE;
}

const char *vxt__dcm_ts_name(const char *ts_uid)
{
    const ts_row *t = ts_find(ts_uid);
    return t ? t->name : ts_uid && ts_uid[0] ? ts_uid : "(none)";
}

static int built_in(vxt__dcm_codec c)
{
    switch (c) {
    case VXT__DCM_CODEC_NATIVE:
    case VXT__DCM_CODEC_RLE:
        return 1;
    case VXT__DCM_CODEC_JPEG: /* lossless always; the DCT processes need libjpeg (checked per frame) */
        return 1;
    case VXT__DCM_CODEC_JPEGLS:
        return vxt__dcm_charls_version() != NULL;
    case VXT__DCM_CODEC_J2K:
        return vxt__dcm_openjpeg_version() != NULL;
    default:
        return 0;
    }
}

int vxt__dcm_ts_supported(const char *ts_uid)
{
    return built_in(vxt__dcm_ts_codec(ts_uid));
}

const char *vxt__dcm_ts_why_not(const char *ts_uid)
{
    const ts_row *t = ts_find(ts_uid);
    if (!t)
        return "not a transfer syntax voxtile knows";
    switch (t->codec) {
    case VXT__DCM_CODEC_JPEGLS:
        return "voxtile was built without CharLS (JPEG-LS)";
    case VXT__DCM_CODEC_J2K:
        return "voxtile was built without OpenJPEG (JPEG 2000)";
    default:
        if (!strcmp(t->uid, "1.2.840.10008.1.2.1.99"))
            return "its elements are compressed, so voxtile cannot check their lengths before parsing them";
        return "not a codec voxtile has";
    }
}

const char *vxt__dcm_codec_versions(void)
{
    return "JPEG lossless and RLE (voxtile)"
#ifdef VXT_HAVE_CHARLS
           ", JPEG-LS (CharLS)"
#endif
#ifdef VXT_HAVE_OPENJPEG
           ", JPEG 2000 (OpenJPEG)"
#endif
#ifdef VXT_HAVE_LIBJPEG
           ", JPEG 8-bit (libjpeg-turbo)"
#endif
#ifdef VXT_HAVE_JPEG12
           ", JPEG 12-bit (GDCM's IJG)"
#endif
        ;
}

/* The JPEG family: lossless (SOF3) to voxtile's decoder, the DCT processes to libjpeg, by the frame's first SOF
 * marker (not by the transfer syntax, which writers get wrong). */
int vxt__dcm_jpeg_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                         size_t errlen)
{
    if (n < 4 || s[0] != 0xFF || s[1] != 0xD8) {
        snprintf(err, errlen, "JPEG stream: no start of image (SOI) marker");
        return -1;
    }
    size_t i = 2;
    while (i + 4 <= n) {
        if (s[i] != 0xFF) {
            snprintf(err, errlen, "JPEG stream: a marker is missing before the frame header");
            return -1;
        }
        const unsigned m = s[i + 1];
        if (m == 0xFF) {
            i++;
            continue;
        }
        if (m == 0xC3)
            return vxt__dcm_jpeg_lossless_decode(s, n, f, dst, err, errlen);
        if (m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC9 || m == 0xCA) {
            const int precision = i + 4 < n ? s[i + 4] : 0; /* the frame header's first byte */
            if (precision == 12)
                return vxt__dcm_jpeg12_decode(s, n, f, dst, err, errlen);
            if (precision == 8)
                return vxt__dcm_jpeg_dct_decode(s, n, f, dst, err, errlen);
            snprintf(err, errlen, "JPEG stream: a lossy (DCT) frame of %d-bit samples is not standard JPEG (8 or 12 "
                     "bits; GDCM writes 16-bit ones from 16-bit data)", precision);
            return -1;
        }
        if ((m >= 0xC5 && m <= 0xC7) || m == 0xCB || (m >= 0xCD && m <= 0xCF)) {
            snprintf(err, errlen, "JPEG stream: process SOF%u (%s) is not supported", m - 0xC0,
                     m == 0xCB ? "lossless, arithmetic coding" : "hierarchical");
            return -1;
        }
        if (m == 0xD8 || m == 0xD9 || m == 0xDA || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            break;
        const size_t len = (size_t)s[i + 2] << 8 | s[i + 3];
        if (len < 2 || len > n - i - 2)
            break;
        i += 2 + len;
    }
    snprintf(err, errlen, "JPEG stream: no frame header (SOF) before the scan");
    return -1;
}

vxt__dcm_decoder vxt__dcm_codec_decoder(vxt__dcm_codec c)
{
    switch (c) {
    case VXT__DCM_CODEC_JPEG:
        return vxt__dcm_jpeg_decode;
    case VXT__DCM_CODEC_JPEGLS:
        return vxt__dcm_jpegls_decode;
    case VXT__DCM_CODEC_J2K:
        return vxt__dcm_j2k_decode;
    case VXT__DCM_CODEC_RLE:
        return vxt__dcm_rle_decode;
    default:
        return NULL;
    }
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct frag {
    size_t at, n;   /* the fragment's bytes: s + at, n */
    size_t item;    /* its item tag's offset from the first fragment's (what the offset table counts) */
} frag;

/* Whether fragment g starts a frame of this codec by its first bytes. */
static int starts_frame(const unsigned char *s, const frag *g, vxt__dcm_codec c)
{
    const unsigned char *p = s + g->at;
    if (g->n < 4)
        return 0;
    if (c == VXT__DCM_CODEC_JPEG || c == VXT__DCM_CODEC_JPEGLS)
        return p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF;
    if (c == VXT__DCM_CODEC_J2K)
        return (p[0] == 0xFF && p[1] == 0x4F && p[2] == 0xFF && p[3] == 0x51) ||
               (g->n >= 8 && !memcmp(p, "\0\0\0\x0cjP  ", 8));
    return 0;
}

int vxt__dcm_decode_encapsulated(const unsigned char *s, size_t n, vxt__dcm_codec codec, int64_t frames,
                                 const vxt__dcm_fmt *f, void *dst, size_t dst_bytes, char *err, size_t errlen)
{
    const vxt__dcm_decoder dec = vxt__dcm_codec_decoder(codec);
    const size_t frame_bytes = (size_t)f->rows * (size_t)f->cols * (size_t)f->bytes;
    if (!dec) {
        snprintf(err, errlen, "pixel data (7FE0,0010): no decoder for this transfer syntax");
        return -1;
    }
    if (frames < 1 || frame_bytes == 0 || dst_bytes / frame_bytes != (size_t)frames || dst_bytes % frame_bytes) {
        snprintf(err, errlen, "pixel data (7FE0,0010): %lld frames do not fill %zu bytes", (long long)frames,
                 dst_bytes);
        return -1;
    }
    /* the items: the basic offset table, then the fragments, then the sequence delimiter */
    size_t at = 0, nfr = 0, cap = 0, first_item = 0;
    frag *fr = NULL;
    uint32_t bot_n = 0;
    const unsigned char *bot = NULL;
    int r = -1, item = 0;
    unsigned char *joined = NULL;
    for (;; item++) {
        if (n - at < 8) {
            snprintf(err, errlen, "pixel data (7FE0,0010): ends inside its fragments (no sequence delimiter)");
            goto out;
        }
        const uint32_t tag = (uint32_t)(s[at] | s[at + 1] << 8) << 16 | (uint32_t)(s[at + 2] | s[at + 3] << 8);
        const uint32_t len = le32(s + at + 4);
        if (tag == 0xFFFEE0DDu)
            break;
        if (tag != 0xFFFEE000u || len > n - at - 8) {
            snprintf(err, errlen, "pixel data (7FE0,0010): item %d is not a fragment within the file", item + 1);
            goto out;
        }
        if (item == 0) {
            bot = s + at + 8;
            bot_n = len;
            first_item = at + 8 + len;
        } else {
            if (nfr == cap) {
                cap = cap ? 2 * cap : 16;
                frag *nf = realloc(fr, cap * sizeof *fr);
                if (!nf) {
                    snprintf(err, errlen, "pixel data (7FE0,0010): out of memory");
                    goto out;
                }
                fr = nf;
            }
            fr[nfr++] = (frag){at + 8, len, at - first_item};
        }
        at += 8 + (size_t)len;
    }
    if (nfr == 0) {
        snprintf(err, errlen, "pixel data (7FE0,0010): no fragments");
        goto out;
    }
    /* frame k: fragments [start[k], start[k+1]) */
    size_t *start = calloc((size_t)frames + 1, sizeof *start);
    if (!start) {
        snprintf(err, errlen, "pixel data (7FE0,0010): out of memory");
        goto out;
    }
    start[frames] = nfr;
    int found = 0;
    if (frames == 1) {
        found = 1;
    } else if (bot_n == 4u * (uint64_t)frames) { /* the basic offset table: each frame's first item */
        size_t g = 0;
        found = 1;
        for (int64_t k = 0; k < frames && found; k++) {
            const uint32_t off = le32(bot + 4 * k);
            while (g < nfr && fr[g].item < off)
                g++;
            if (g == nfr || fr[g].item != off || (k > 0 && g <= start[k - 1]))
                found = 0;
            start[k] = g;
        }
    }
    if (!found && nfr == (size_t)frames) { /* one fragment per frame */
        for (int64_t k = 0; k < frames; k++)
            start[k] = (size_t)k;
        found = 1;
    }
    if (!found) { /* frames begin where a fragment begins like a frame (JPEG family, JPEG 2000) */
        int64_t k = 0;
        for (size_t g = 0; g < nfr; g++)
            if (starts_frame(s, &fr[g], codec)) {
                if (k == frames || (k == 0 && g != 0)) {
                    k = -1;
                    break;
                }
                start[k++] = g;
            }
        found = k == frames;
    }
    if (!found) {
        snprintf(err, errlen, "pixel data (7FE0,0010): %zu fragments cannot be split into %lld frames (NumberOfFrames "
                 "(0028,0008)): no usable offset table, and not one fragment per frame", nfr, (long long)frames);
        free(start);
        goto out;
    }
    for (int64_t k = 0; k < frames; k++) {
        const unsigned char *src;
        size_t len = 0;
        if (start[k + 1] - start[k] == 1) {
            src = s + fr[start[k]].at;
            len = fr[start[k]].n;
        } else { /* several fragments: joined */
            for (size_t g = start[k]; g < start[k + 1]; g++)
                len += fr[g].n;
            free(joined);
            joined = malloc(len ? len : 1);
            if (!joined) {
                snprintf(err, errlen, "pixel data (7FE0,0010): out of memory");
                free(start);
                goto out;
            }
            size_t o = 0;
            for (size_t g = start[k]; g < start[k + 1]; g++) {
                memcpy(joined + o, s + fr[g].at, fr[g].n);
                o += fr[g].n;
            }
            src = joined;
        }
        char why[256];
        if (dec(src, len, f, (unsigned char *)dst + (size_t)k * frame_bytes, why, sizeof why) != 0) {
            if (frames > 1)
                snprintf(err, errlen, "pixel data (7FE0,0010) frame %lld: %s", (long long)k + 1, why);
            else
                snprintf(err, errlen, "pixel data (7FE0,0010): %s", why);
            free(start);
            goto out;
        }
    }
    free(start);
    r = 0;
out:
    free(joined);
    free(fr);
    return r;
}
