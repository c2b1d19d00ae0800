/* dicom_jpeg_lossless.c - JPEG lossless (ITU-T T.81 annex H, process 14: SOF3, Huffman coding, predictors 1-7,
 * point transform), one component: the JPEG Lossless transfer syntaxes of DICOM (1.2.840.10008.1.2.4.57 and .70).
 *
 * Written for voxtile because the packaged decoders are unfit: Debian 12's libjpeg-turbo (2.1) has no lossless
 * mode, and GDCM's bundled IJG asserts (aborting the process) on some corrupt headers and leaks on corrupt streams.
 * This one reads the markers (SOI, DHT, SOF3, DRI, SOS, RSTn, EOI; APPn, COM and DNL-free others skipped), checks
 * every length against the stream, and decodes the entropy-coded samples through a 9-bit lookup table, falling
 * back to the canonical code walk for longer codes. Any inconsistency (a code absent from the table, data ending
 * before the last sample, a restart marker missing, a size that is not the header's) is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

#define LOOK 9 /* bits resolved by one table lookup */

typedef struct huff {
    int present;
    uint8_t len[1 << LOOK]; /* code length of the code starting with these LOOK bits (0: longer, or none) */
    uint8_t sym[1 << LOOK];
    int32_t maxcode[18]; /* largest code of each length (-1: none) */
    int32_t valptr[17];  /* index in vals of the first code of each length */
    int32_t mincode[17];
    uint8_t vals[256];
} huff;

typedef struct dec {
    const unsigned char *s, *end;
    char *err;
    size_t errlen;
    huff h[4];
    int have_sof;
    int P, X, Y, comp_id;
    unsigned restart; /* restart interval in samples (0: none) */
} dec;

/* Bits of the entropy-coded segment, most significant first, 0xFF00 unstuffed; at a marker (or the end of the
 * stream), zeros are fed and counted, so that reading past the data is detected. */
typedef struct bits {
    const unsigned char *p, *end;
    uint64_t acc; /* left-aligned */
    int n;        /* valid bits in acc */
    int stopped;  /* reached a marker or the end */
    int fed;      /* zero bytes fed after stopping */
} bits;

static int fail(dec *d, const char *what)
{
    snprintf(d->err, d->errlen, "JPEG lossless stream: %s", what);
    return -1;
}

static void fill(bits *b)
{
    while (b->n <= 56) {
        unsigned c = 0;
        if (!b->stopped) {
            if (b->p < b->end && *b->p != 0xFF) {
                c = *b->p++;
            } else if (b->p + 1 < b->end && b->p[1] == 0x00) {
                c = 0xFF;
                b->p += 2;
            } else {
                b->stopped = 1; /* a marker (left in place), or the end */
            }
        }
        if (b->stopped)
            b->fed++;
        b->acc |= (uint64_t)c << (56 - b->n);
        b->n += 8;
    }
}

/* Whether bits consumed so far came from the zeros fed after the data (the stream ended early). */
static int overran(const bits *b)
{
    return b->fed * 8 > b->n;
}

static int build(dec *d, huff *h, const unsigned char counts[16], const unsigned char *vals, int nvals)
{
    memset(h, 0, sizeof *h);
    memcpy(h->vals, vals, (size_t)nvals);
    int32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; l++) {
        h->valptr[l] = k;
        h->mincode[l] = code;
        for (int i = 0; i < counts[l - 1]; i++, k++, code++) {
            if (code >= (1 << l)) /* more codes than the length can hold */
                return fail(d, "a Huffman table (DHT) has more codes than its lengths allow");
            if (l <= LOOK) {
                const int shift = LOOK - l;
                for (int j = 0; j < 1 << shift; j++) {
                    h->len[(code << shift) | j] = (uint8_t)l;
                    h->sym[(code << shift) | j] = vals[k];
                }
            }
        }
        h->maxcode[l] = counts[l - 1] ? code - 1 : -1;
        code <<= 1;
    }
    h->maxcode[17] = INT32_MAX;
    h->present = 1;
    return 0;
}

/* One difference: its category through the table, then its extra bits (T.81 H.1.2.2, F.1.2.1.1). */
static inline int diff(bits *b, const huff *h, int32_t *out)
{
    if (b->n < 32)
        fill(b);
    int len = h->len[b->acc >> (64 - LOOK)], s;
    if (len) {
        s = h->sym[b->acc >> (64 - LOOK)];
    } else {
        for (len = LOOK + 1; len <= 16; len++) {
            const int32_t code = (int32_t)(b->acc >> (64 - len));
            if (h->maxcode[len] >= 0 && code <= h->maxcode[len] && code >= h->mincode[len])
                break;
        }
        if (len > 16)
            return -1;
        s = h->vals[h->valptr[len] + (int32_t)(b->acc >> (64 - len)) - h->mincode[len]];
    }
    b->acc <<= len;
    b->n -= len;
    if (s == 0) {
        *out = 0;
    } else if (s < 16) {
        const int32_t v = (int32_t)(b->acc >> (64 - s));
        b->acc <<= s;
        b->n -= s;
        *out = v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
    } else if (s == 16) {
        *out = 32768;
    } else {
        return -1;
    }
    return 0;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static int read_dht(dec *d, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (n < 17)
            return fail(d, "a Huffman table (DHT) is cut short");
        const int tc = p[0] >> 4, th = p[0] & 15;
        int total = 0;
        for (int i = 0; i < 16; i++)
            total += p[1 + i];
        if (tc != 0 || th > 3)
            return fail(d, "a Huffman table (DHT) is not a lossless (class 0, 0-3) table");
        if (total > 256 || (size_t)total > n - 17)
            return fail(d, "a Huffman table (DHT) declares more values than it holds");
        if (build(d, &d->h[th], p + 1, p + 17, total) != 0)
            return -1;
        p += 17 + total;
        n -= 17 + (size_t)total;
    }
    return 0;
}

static int read_sof(dec *d, const unsigned char *p, size_t n, const vxt__dcm_fmt *f)
{
    if (d->have_sof)
        return fail(d, "more than one frame header (SOF)");
    if (n < 6)
        return fail(d, "the frame header (SOF3) is cut short");
    d->P = p[0];
    d->Y = (int)be16(p + 1);
    d->X = (int)be16(p + 3);
    const int nf = p[5];
    if (nf != 1)
        return fail(d, "the frame has more than one component (only grayscale is read)");
    if (n < 6 + 3 * (size_t)nf)
        return fail(d, "the frame header (SOF3) is cut short");
    d->comp_id = p[6];
    if (d->P < 2 || d->P > 16)
        return fail(d, "the sample precision is outside 2-16 bits");
    char why[160];
    if (d->Y != f->rows || d->X != f->cols) {
        snprintf(why, sizeof why, "the frame is %d x %d, the header (Rows x Columns) says %lld x %lld", d->Y, d->X,
                 (long long)f->rows, (long long)f->cols);
        return fail(d, why);
    }
    if (d->P > 8 * f->bytes) {
        snprintf(why, sizeof why, "%d-bit samples do not fit BitsAllocated %d", d->P, 8 * f->bytes);
        return fail(d, why);
    }
    d->have_sof = 1;
    return 0;
}

/* The scan: predictor Ss, point transform Al, table Td; samples into dst. */
static int scan(dec *d, const unsigned char *p, size_t n, const unsigned char *data, const vxt__dcm_fmt *f,
                void *dst, const unsigned char **after)
{
    if (!d->have_sof)
        return fail(d, "a scan (SOS) before the frame header (SOF3)");
    if (n < 1 || n < 1 + 2 * (size_t)p[0] + 3)
        return fail(d, "the scan header (SOS) is cut short");
    if (p[0] != 1 || p[1] != d->comp_id)
        return fail(d, "the scan is not of the frame's one component");
    const int td = p[2] >> 4, ss = p[3], se = p[4], ah = p[5] >> 4, al = p[5] & 15;
    if (td > 3 || !d->h[td].present)
        return fail(d, "the scan uses a Huffman table that was not defined");
    if (ss < 1 || ss > 7 || se != 0 || ah != 0)
        return fail(d, "the scan's predictor (Ss) is not 1-7");
    if (al >= d->P)
        return fail(d, "the point transform (Al) is not below the precision");
    const huff *h = &d->h[td];
    const int64_t X = d->X, Y = d->Y;
    if (d->restart && d->restart % (uint64_t)X != 0)
        return fail(d, "the restart interval is not a whole number of rows");
    const int64_t rows_per_interval = d->restart ? (int64_t)d->restart / X : Y;
    const int32_t first = 1 << (d->P - al - 1);
    const int bytes = f->bytes;
    bits b = {data, d->end, 0, 0, 0, 0};
    /* previous row and current row of the reduced-precision values */
    uint16_t *prev = (uint16_t *)dst, *cur;
    uint16_t *rowbuf[2] = {NULL, NULL};
    /* predict from decoded samples kept in 16-bit rows: dst directly when it is 16-bit, else two rows of scratch */
    uint16_t scratch[2][1024];
    uint16_t *heap = NULL;
    if (bytes != 2) {
        if (X <= 1024) {
            rowbuf[0] = scratch[0];
            rowbuf[1] = scratch[1];
        } else {
            heap = malloc((size_t)X * 2 * sizeof *heap);
            if (!heap)
                return fail(d, "out of memory");
            rowbuf[0] = heap;
            rowbuf[1] = heap + X;
        }
    }
    int64_t in_interval = 0; /* rows decoded since the last restart */
    unsigned next_rst = 0;
    for (int64_t y = 0; y < Y; y++) {
        if (d->restart && y > 0 && y % rows_per_interval == 0) {
            /* a restart marker: byte-aligned, RST0..7 in turn; prediction starts over */
            if (overran(&b)) {
                free(heap);
                return fail(d, "the entropy-coded data ends before the last sample");
            }
            const unsigned char *q = b.p; /* bytes before the marker beyond the padding bits: skipped */
            while (q + 1 < b.end && !(q[0] == 0xFF && q[1] != 0x00))
                q++;
            if (!(q + 1 < b.end && q[1] == 0xD0 + next_rst)) {
                free(heap);
                return fail(d, "a restart marker (RSTn) is missing or out of order");
            }
            b.p = q + 2;
            b.acc = 0;
            b.n = 0;
            b.stopped = 0;
            b.fed = 0;
            next_rst = (next_rst + 1) & 7;
            in_interval = 0;
        }
        cur = bytes == 2 ? (uint16_t *)dst + y * X : rowbuf[y & 1];
        if (bytes == 2)
            prev = y ? (uint16_t *)dst + (y - 1) * X : NULL;
        else
            prev = y ? rowbuf[(y - 1) & 1] : NULL;
        int32_t dv;
        if (diff(&b, h, &dv) != 0)
            goto bad_code;
        /* first sample of a row: 2^(P-Pt-1) on the first row of an interval, else the sample above */
        int32_t pred = in_interval == 0 ? first : prev[0];
        cur[0] = (uint16_t)(pred + dv);
        if (in_interval == 0) {
            for (int64_t x = 1; x < X; x++) {
                if (diff(&b, h, &dv) != 0)
                    goto bad_code;
                cur[x] = (uint16_t)(cur[x - 1] + dv);
            }
        } else {
            for (int64_t x = 1; x < X; x++) {
                if (diff(&b, h, &dv) != 0)
                    goto bad_code;
                const int32_t ra = cur[x - 1], rb = prev[x], rc = prev[x - 1];
                switch (ss) {
                case 1: pred = ra; break;
                case 2: pred = rb; break;
                case 3: pred = rc; break;
                case 4: pred = ra + rb - rc; break;
                case 5: pred = ra + ((rb - rc) >> 1); break;
                case 6: pred = rb + ((ra - rc) >> 1); break;
                default: pred = (ra + rb) >> 1; break;
                }
                cur[x] = (uint16_t)(pred + dv);
            }
        }
        if (bytes != 2)
            for (int64_t x = 0; x < X; x++)
                vxt__dcm_put(dst, bytes, (size_t)(y * X + x), (uint32_t)cur[x] << al);
        in_interval++;
    }
    free(heap);
    if (overran(&b))
        return fail(d, "the entropy-coded data ends before the last sample");
    if (bytes == 2 && al)
        for (size_t i = 0; i < (size_t)(X * Y); i++)
            ((uint16_t *)dst)[i] = (uint16_t)(((uint16_t *)dst)[i] << al);
    /* the rest of the segment (fill bits) is skipped up to the next marker */
    const unsigned char *q = b.p;
    while (q + 1 < d->end && !(q[0] == 0xFF && q[1] != 0x00 && !(q[1] >= 0xD0 && q[1] <= 0xD7)))
        q++;
    *after = q;
    return 0;
bad_code:
    free(heap);
    if (overran(&b))
        return fail(d, "the entropy-coded data ends before the last sample");
    return fail(d, "a Huffman code is not in the scan's table (corrupt data)");
}

int vxt__dcm_jpeg_lossless_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                                  size_t errlen)
{
    dec *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "JPEG lossless stream: out of memory");
        return -1;
    }
    d->s = s;
    d->end = s + n;
    d->err = err;
    d->errlen = errlen;
    int r = -1, scanned = 0;
    const unsigned char *p = s;
    if (n < 2 || p[0] != 0xFF || p[1] != 0xD8) {
        fail(d, "no start of image (SOI) marker");
        goto out;
    }
    p += 2;
    for (;;) {
        /* next marker (fill bytes 0xFF allowed before it); a stream that ends after its scan without EOI is read,
         * as IJG does */
        if (scanned && (d->end - p < 2 || p[0] != 0xFF)) {
            r = 0;
            break;
        }
        if (d->end - p < 2 || p[0] != 0xFF) {
            fail(d, "a marker is missing, or the stream ends before its scan");
            goto out;
        }
        while (p + 1 < d->end && p[1] == 0xFF)
            p++;
        if (d->end - p < 2) {
            fail(d, "the stream ends inside a marker");
            goto out;
        }
        const unsigned m = p[1];
        p += 2;
        if (m == 0xD9) { /* EOI */
            if (!scanned) {
                fail(d, "the image ends before its scan");
                goto out;
            }
            r = 0;
            break;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            fail(d, "a restart marker outside the scan");
            goto out;
        }
        if (d->end - p < 2 || be16(p) < 2 || (size_t)(d->end - p) < be16(p)) {
            fail(d, "a marker segment is longer than the stream");
            goto out;
        }
        const size_t len = be16(p) - 2u;
        const unsigned char *v = p + 2;
        p = v + len;
        if (m == 0xC4) {
            if (read_dht(d, v, len) != 0)
                goto out;
        } else if (m == 0xC3) {
            if (read_sof(d, v, len, f) != 0)
                goto out;
        } else if (m == 0xDD) {
            if (len < 2) {
                fail(d, "the restart interval (DRI) is cut short");
                goto out;
            }
            d->restart = be16(v);
        } else if (m == 0xDA) {
            if (scanned) {
                fail(d, "more than one scan (only one grayscale scan is read)");
                goto out;
            }
            if (scan(d, v, len, p, f, dst, &p) != 0)
                goto out;
            scanned = 1;
        } else if ((m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xDC || m == 0xDE ||
                   m == 0xDF) {
            char why[96];
            snprintf(why, sizeof why, "marker 0x%02X (not part of lossless process 14) is not supported", m);
            fail(d, why);
            goto out;
        } /* APPn, COM, DQT, DAC and the like: skipped */
    }
out:
    free(d);
    return r;
}
