/* dicom_j2k.c - JPEG 2000 (ISO 15444-1), lossless and lossy (transfer syntaxes 1.2.840.10008.1.2.4.90 and .91), one
 * component, through OpenJPEG (Debian libopenjp2-7-dev) from memory. OpenJPEG's messages go to handlers here (its
 * error message becomes the reason; nothing is printed), strict mode refuses a truncated codestream instead of
 * returning a partial image, and the codec, stream and image are destroyed on every path. A raw codestream (what
 * DICOM stores) and a JP2 file (what some writers store) are both read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

/* The SIZ marker of a codestream that starts with SOC, SIZ (ISO 15444-1 A.5.1). Needs no OpenJPEG: dicom_check.c
 * uses it too. */
static uint32_t siz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int vxt__dcm_j2k_read_siz(const unsigned char *c, size_t n, vxt__dcm_j2k_siz *out)
{
    memset(out, 0, sizeof *out);
    if (n < 4 + 2 + 36 + 2 || c[0] != 0xFF || c[1] != 0x4F || c[2] != 0xFF || c[3] != 0x51)
        return -1;
    const unsigned char *z = c + 6; /* after SOC, SIZ, Lsiz: Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2) */
    const uint64_t xsiz = siz_be32(z + 2), ysiz = siz_be32(z + 6), xo = siz_be32(z + 10), yo = siz_be32(z + 14);
    const uint64_t xt = siz_be32(z + 18), yt = siz_be32(z + 22), xto = siz_be32(z + 26), yto = siz_be32(z + 30);
    out->components = (unsigned)z[34] << 8 | z[35];
    if (n < 4 + 2 + 36 + 2 + 3 * (size_t)out->components)
        return -1;
    out->width = xsiz > xo ? xsiz - xo : 0;
    out->height = ysiz > yo ? ysiz - yo : 0;
    for (unsigned k = 0; k < out->components; k++) {
        const unsigned bits = (z[36 + 3 * k] & 0x7fu) + 1u;
        out->max_bits = bits > out->max_bits ? bits : out->max_bits;
        out->subsampled |= z[37 + 3 * k] != 1 || z[38 + 3 * k] != 1;
    }
    /* tiles: 0 when the grid does not cover the image (T.800 A.5.1: XTOsiz <= XOsiz < XTOsiz + XTsiz) */
    if (xt && yt && xto <= xo && yto <= yo && xto + xt > xo && yto + yt > yo && xsiz > xo && ysiz > yo)
        out->tiles = ((xsiz - xto + xt - 1) / xt) * ((ysiz - yto + yt - 1) / yt);
    return 0;
}

#ifdef VXT_HAVE_OPENJPEG
#include <openjpeg.h>

typedef struct mem {
    const unsigned char *p;
    size_t n, at;
    char msg[200]; /* OpenJPEG's first error */
} mem;

static OPJ_SIZE_T rd(void *buf, OPJ_SIZE_T want, void *u)
{
    mem *m = u;
    if (m->at >= m->n)
        return (OPJ_SIZE_T)-1;
    const size_t k = want < m->n - m->at ? want : m->n - m->at;
    memcpy(buf, m->p + m->at, k);
    m->at += k;
    return k;
}

static OPJ_OFF_T skip(OPJ_OFF_T k, void *u)
{
    mem *m = u;
    if (k < 0) {
        if ((size_t)-k > m->at)
            return -1;
        m->at -= (size_t)-k;
        return k;
    }
    const size_t room = m->n - m->at, kk = (size_t)k < room ? (size_t)k : room;
    m->at += kk;
    return (OPJ_OFF_T)kk;
}

static OPJ_BOOL seek(OPJ_OFF_T at, void *u)
{
    mem *m = u;
    if (at < 0 || (size_t)at > m->n)
        return OPJ_FALSE;
    m->at = (size_t)at;
    return OPJ_TRUE;
}

static void on_error(const char *msg, void *u)
{
    mem *m = u;
    if (!m->msg[0]) {
        snprintf(m->msg, sizeof m->msg, "%s", msg);
        size_t k = strlen(m->msg);
        while (k && (m->msg[k - 1] == '\n' || m->msg[k - 1] == ' ')) /* one line */
            m->msg[--k] = 0;
    }
}

static void on_other(const char *msg, void *u)
{
    (void)msg, (void)u;
}

/* The codestream inside a JP2 file: the contents of its top-level 'jp2c' box (NULL when there is none). */
static const unsigned char *jp2_codestream(const unsigned char *s, size_t n, size_t *len)
{
    size_t at = 0;
    while (n - at >= 8) {
        uint64_t box = siz_be32(s + at), head = 8;
        if (box == 1) { /* the length in 8 more bytes */
            if (n - at < 16)
                return NULL;
            box = (uint64_t)siz_be32(s + at + 8) << 32 | siz_be32(s + at + 12);
            head = 16;
        } else if (box == 0) { /* to the end */
            box = n - at;
        }
        if (box < head || box > n - at)
            return NULL;
        if (!memcmp(s + at + 4, "jp2c", 4)) {
            *len = (size_t)(box - head);
            return s + at + head;
        }
        at += (size_t)box;
    }
    return NULL;
}

/* The codestream's SIZ marker, read before OpenJPEG sees it: the image must be the header's (rows x cols, one
 * component, not subsampled), and its tiles must not be absurdly many. OpenJPEG allocates a few KiB per tile while
 * reading the main header, so a 100-byte stream declaring a 4-million-pixel-wide image in 64 x 64 tiles made it
 * allocate 355 MB (tests/fuzz/regressions-dicom-decode/oom-001). Tiles must hold 1024 samples on average (no DICOM
 * writer tiles a slice finer than 32 x 32). */
static int check_siz(const unsigned char *c, size_t n, const vxt__dcm_fmt *f, char *err, size_t errlen)
{
    vxt__dcm_j2k_siz z;
    if (vxt__dcm_j2k_read_siz(c, n, &z) != 0) {
        snprintf(err, errlen, "JPEG 2000 stream: no complete SIZ marker right after its start (SOC)");
        return -1;
    }
    if ((int64_t)z.width != f->cols || (int64_t)z.height != f->rows) {
        snprintf(err, errlen, "JPEG 2000 stream: the image is %llu x %llu, the header (Rows x Columns) says %lld x "
                 "%lld", (unsigned long long)z.height, (unsigned long long)z.width, (long long)f->rows,
                 (long long)f->cols);
        return -1;
    }
    if (z.components != 1 || z.subsampled) {
        snprintf(err, errlen, "JPEG 2000 stream: %u components%s (one grayscale component is read)", z.components,
                 z.subsampled ? ", subsampled" : "");
        return -1;
    }
    const uint64_t samples = (uint64_t)f->rows * (uint64_t)f->cols;
    if (z.tiles == 0 || z.tiles > 65535 || z.tiles > 1 + samples / 1024) {
        snprintf(err, errlen, "JPEG 2000 stream: %llu tiles for a %lld x %lld image (the grid must cover it, with at "
                 "most one tile per 1024 samples)", (unsigned long long)z.tiles, (long long)f->rows,
                 (long long)f->cols);
        return -1;
    }
    return 0;
}

int vxt__dcm_j2k_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                        size_t errlen)
{
    static const unsigned char jp2_sig[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10};
    OPJ_CODEC_FORMAT fmt;
    const unsigned char *cs = s;
    size_t cn = n;
    if (n >= 4 && s[0] == 0xFF && s[1] == 0x4F && s[2] == 0xFF && s[3] == 0x51) {
        fmt = OPJ_CODEC_J2K;
    } else if (n >= 12 && !memcmp(s, jp2_sig, 12)) {
        fmt = OPJ_CODEC_JP2;
        if (!(cs = jp2_codestream(s, n, &cn))) {
            snprintf(err, errlen, "JPEG 2000 stream: a JP2 file without a codestream box (jp2c)");
            return -1;
        }
    } else {
        snprintf(err, errlen, "JPEG 2000 stream: neither a codestream (SOC, SIZ) nor a JP2 file");
        return -1;
    }
    if (check_siz(cs, cn, f, err, errlen) != 0)
        return -1;
    mem m = {s, n, 0, {0}};
    opj_codec_t *c = opj_create_decompress(fmt);
    opj_stream_t *st = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_image_t *im = NULL;
    int r = -1;
    if (!c || !st) {
        snprintf(err, errlen, "JPEG 2000 stream: out of memory");
        goto out;
    }
    opj_set_error_handler(c, on_error, &m);
    opj_set_warning_handler(c, on_other, &m);
    opj_set_info_handler(c, on_other, &m);
    opj_stream_set_user_data(st, &m, NULL);
    opj_stream_set_user_data_length(st, (OPJ_UINT64)n);
    opj_stream_set_read_function(st, rd);
    opj_stream_set_skip_function(st, skip);
    opj_stream_set_seek_function(st, seek);
    opj_dparameters_t prm;
    opj_set_default_decoder_parameters(&prm);
    if (!opj_setup_decoder(c, &prm) || !opj_decoder_set_strict_mode(c, OPJ_TRUE) ||
        !opj_codec_set_threads(c, 1) || !opj_read_header(st, c, &im)) {
        snprintf(err, errlen, "JPEG 2000 stream: %s (OpenJPEG)", m.msg[0] ? m.msg : "the header cannot be read");
        goto out;
    }
    if (im->numcomps != 1) {
        snprintf(err, errlen, "JPEG 2000 stream: %u components (only grayscale is read)", im->numcomps);
        goto out;
    }
    const opj_image_comp_t *k0 = &im->comps[0];
    if ((int64_t)(im->y1 - im->y0) != f->rows || (int64_t)(im->x1 - im->x0) != f->cols || k0->dx != 1 ||
        k0->dy != 1) {
        snprintf(err, errlen, "JPEG 2000 stream: the image is %u x %u (subsampling %u, %u), the header (Rows x "
                 "Columns) says %lld x %lld", im->y1 - im->y0, im->x1 - im->x0, k0->dy, k0->dx, (long long)f->rows,
                 (long long)f->cols);
        goto out;
    }
    if (k0->prec < 1 || k0->prec > (OPJ_UINT32)(8 * f->bytes) || k0->prec > 31) {
        snprintf(err, errlen, "JPEG 2000 stream: %u-bit samples do not fit BitsAllocated %d", k0->prec, 8 * f->bytes);
        goto out;
    }
    if (!opj_decode(c, st, im) || !opj_end_decompress(c, st)) {
        snprintf(err, errlen, "JPEG 2000 stream: %s (OpenJPEG)", m.msg[0] ? m.msg : "cannot be decoded (truncated or "
                 "corrupt)");
        goto out;
    }
    const opj_image_comp_t *k = &im->comps[0];
    if (!k->data || (int64_t)k->h != f->rows || (int64_t)k->w != f->cols) {
        snprintf(err, errlen, "JPEG 2000 stream: decoded to %u x %u samples, not %lld x %lld", k->h, k->w,
                 (long long)f->rows, (long long)f->cols);
        goto out;
    }
    const size_t count = (size_t)f->rows * (size_t)f->cols;
    for (size_t i = 0; i < count; i++) /* signed values as two's complement: the stored bits */
        vxt__dcm_put(dst, f->bytes, i, (uint32_t)k->data[i]);
    r = 0;
out:
    if (im)
        opj_image_destroy(im);
    if (st)
        opj_stream_destroy(st);
    if (c)
        opj_destroy_codec(c);
    return r;
}

const char *vxt__dcm_openjpeg_version(void)
{
    return opj_version();
}
#else
int vxt__dcm_j2k_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                        size_t errlen)
{
    (void)s, (void)n, (void)f, (void)dst;
    snprintf(err, errlen, "JPEG 2000: voxtile was built without OpenJPEG (Debian: apt-get install "
             "libopenjp2-7-dev)");
    return -1;
}

const char *vxt__dcm_openjpeg_version(void)
{
    return NULL;
}
#endif
