/* dicom_check.c - a DICOM file's element lengths checked before GDCM reads it. GDCM allocates each value at the
 * length its element declares before it reads the bytes: a file of a few KiB that declares a 4 GiB value makes it
 * allocate 4 GiB (found by tests/fuzz/fuzz_dicom_read.c). A server cannot let a file do that, so every element is
 * walked first, in the file's encoding (the meta group explicit VR little endian, then the transfer syntax's: implicit
 * or explicit VR, either byte order), and each declared length must fit in what is left of its container: the file,
 * a sequence or item of defined length. Sequences and items are walked into (in implicit VR, a value that starts
 * with an item tag is taken for a sequence); the fragments of encapsulated pixel data are skipped by their lengths. Only the lengths are checked: the values are GDCM's to
 * read. A deflated dataset (1.2.840.10008.1.2.1.99) cannot be walked and is refused. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "dicom_internal.h"

#define UNDEFINED 0xffffffffu
#define MAX_NEST 64 /* sequences in items in sequences...: deeper is refused */

typedef struct walker {
    const unsigned char *p;
    size_t n;
    int big;      /* big endian */
    int implicit; /* implicit VR */
    char *err;
    size_t errlen;
    vxt__dcm_pixels *px; /* what the top-level pixel data element says */
    int frames;          /* NumberOfFrames (0028,0008) was seen */
    int j2k;             /* the transfer syntax is JPEG 2000 */
    unsigned rows, cols, samples, bits; /* (0028,0010), (0028,0011), (0028,0002), (0028,0100) as read (0: absent) */
} walker;

static unsigned u16(const walker *w, size_t at)
{
    const unsigned char *b = w->p + at;
    return w->big ? (unsigned)b[0] << 8 | b[1] : (unsigned)b[1] << 8 | b[0];
}

static uint32_t u32(const walker *w, size_t at)
{
    const unsigned char *b = w->p + at;
    return w->big ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Whether two bytes are one of the VRs of PS3.5 table 6.2-1. */
static int known_vr(const unsigned char *vr)
{
    static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                      "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                      "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
    for (size_t i = 0; i < sizeof vrs / sizeof vrs[0]; i++)
        if (vr[0] == (unsigned char)vrs[i][0] && vr[1] == (unsigned char)vrs[i][1])
            return 1;
    return 0;
}

/* Whether an explicit VR has the long form (2 reserved bytes, a 4-byte length): every VR but the short ones of
 * PS3.5 table 7.1-2. An unknown VR counts as long, as GDCM reads it (and as PS3.5 says VRs added later will be). */
static int long_vr(const unsigned char *vr)
{
    static const char *const short_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                            "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (size_t i = 0; i < sizeof short_vrs / sizeof short_vrs[0]; i++)
        if (vr[0] == (unsigned char)short_vrs[i][0] && vr[1] == (unsigned char)short_vrs[i][1])
            return 0;
    return 1;
}

/* Attributes GDCM reads through gdcm::Attribute<>, whose asserts (compiled in Debian's GDCM) abort the process on
 * a VR the standard does not give the tag, or a binary value of another length (a fuzzed file gave BitsStored the VR
 * SS: tests/fuzz/regressions-dicom/crash-002). Such a file is refused before GDCM sees it. vrs: the VRs allowed,
 * "|"-separated; bytes: the exact length of a binary value (0: any). */
typedef struct attr_rule {
    uint32_t tag;
    const char *vrs;
    uint32_t bytes;
} attr_rule;

static const attr_rule rules[] = {
    {0x00280002u, "US", 2}, /* SamplesPerPixel */
    {0x00280006u, "US", 2}, /* PlanarConfiguration */
    {0x00280010u, "US", 2}, /* Rows */
    {0x00280011u, "US", 2}, /* Columns */
    {0x00280100u, "US", 2}, /* BitsAllocated */
    {0x00280101u, "US", 2}, /* BitsStored */
    {0x00280102u, "US", 2}, /* HighBit */
    {0x00280103u, "US", 2}, /* PixelRepresentation */
    {0x00280120u, "US|SS", 2}, /* PixelPaddingValue */
    {0x00280121u, "US|SS", 2}, /* PixelPaddingRangeLimit */
    {0x00280008u, "IS", 0}, /* NumberOfFrames */
    {0x00280004u, "CS", 0}, /* PhotometricInterpretation */
    {0x00280030u, "DS", 0}, /* PixelSpacing */
    {0x00280034u, "IS", 0}, /* PixelAspectRatio */
    {0x00281050u, "DS", 0}, /* WindowCenter */
    {0x00281051u, "DS", 0}, /* WindowWidth */
    {0x00281052u, "DS", 0}, /* RescaleIntercept */
    {0x00281053u, "DS", 0}, /* RescaleSlope */
    {0x00200032u, "DS", 0}, /* ImagePositionPatient */
    {0x00200037u, "DS", 0}, /* ImageOrientationPatient */
    {0x00200013u, "IS", 0}, /* InstanceNumber */
    {0x00180050u, "DS", 0}, /* SliceThickness */
    {0x00180088u, "DS", 0}, /* SpacingBetweenSlices */
    {0x00181164u, "DS", 0}, /* ImagerPixelSpacing */
    {0x00181120u, "DS", 0}, /* GantryDetectorTilt */
    {0x00020010u, "UI", 0}, /* TransferSyntaxUID */
    {0x00080016u, "UI", 0}, /* SOPClassUID */
    {0x00080060u, "CS", 0}, /* Modality */
};

/* 0, or -1 with the reason: the tag's VR (explicit; NULL when implicit) or its value's length breaks the rule. */
static int check_attr(walker *w, uint32_t tag, const unsigned char *vr, uint32_t vl)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].tag != tag)
            continue;
        if (vr) {
            int ok = 0;
            int ok_un = vr[0] == 'U' && vr[1] == 'N'; /* unknown to the writer: GDCM reads it by its dictionary */
            for (const char *v = rules[i].vrs; v[0]; v += v[2] == '|' ? 3 : 2) {
                ok |= vr[0] == (unsigned char)v[0] && vr[1] == (unsigned char)v[1];
                if (!v[2])
                    break;
            }
            if (!ok && !ok_un) {
                snprintf(w->err, w->errlen, "corrupt: element (%04X,%04X) has the VR %c%c, not %s", tag >> 16,
                         tag & 0xffffu, vr[0] >= 0x20 && vr[0] < 0x7f ? vr[0] : '?',
                         vr[1] >= 0x20 && vr[1] < 0x7f ? vr[1] : '?', rules[i].vrs);
                return -1;
            }
        }
        if (rules[i].bytes && vl != rules[i].bytes && vl != 0) {
            snprintf(w->err, w->errlen, "corrupt: element (%04X,%04X) holds %u bytes, not %u", tag >> 16,
                     tag & 0xffffu, vl, rules[i].bytes);
            return -1;
        }
        return 0;
    }
    return 0;
}

static int bad(walker *w, uint32_t tag, size_t at, const char *what, uint64_t a, uint64_t b)
{
    if (tag == 0x7fe00010u)
        snprintf(w->err, w->errlen, "truncated: the pixel data (7FE0,0010) declares %llu bytes, %llu are left",
                 (unsigned long long)a, (unsigned long long)b);
    else
        snprintf(w->err, w->errlen, "corrupt: element (%04X,%04X) at byte %zu %s (%llu; %llu left)", tag >> 16,
                 tag & 0xffffu, at, what, (unsigned long long)a, (unsigned long long)b);
    return -1;
}

/* A JPEG 2000 fragment that starts a codestream (SOC, then SIZ: FF4F FF51) must describe the image the header
 * describes, so that a folder's scan already says such a file is unreadable (the decoder, dicom_j2k.c, checks the
 * same again; GDCM's codec, used before, wrote past its buffer on tests/fuzz/regressions-dicom/crash-007). The image
 * size (Xsiz - XOsiz, Ysiz - YOsiz), the components (Csiz) and their depth (Ssiz) are checked against Columns, Rows,
 * SamplesPerPixel and BitsAllocated. */
static int check_siz(walker *w, size_t at, uint32_t len)
{
    const unsigned char *b = w->p + at;
    if (len < 4 || b[0] != 0xff || b[1] != 0x4f || b[2] != 0xff || b[3] != 0x51)
        return 0; /* not the start of a codestream (the offset table, or a later fragment of a frame) */
    vxt__dcm_j2k_siz z;
    if (vxt__dcm_j2k_read_siz(b, len, &z) != 0) {
        snprintf(w->err, w->errlen, "corrupt: a JPEG 2000 codestream in the pixel data (7FE0,0010) is cut short");
        return -1;
    }
    const unsigned samples = w->samples ? w->samples : 1u;
    if (z.width != w->cols || z.height != w->rows || z.components != samples || z.components == 0) {
        snprintf(w->err, w->errlen, "corrupt: a JPEG 2000 codestream of %llu x %llu pixels and %u components in the "
                 "pixel data (7FE0,0010) for Columns x Rows (0028,0011/0010) = %u x %u, SamplesPerPixel %u",
                 (unsigned long long)z.width, (unsigned long long)z.height, z.components, w->cols, w->rows, samples);
        return -1;
    }
    if (z.max_bits > (w->bits ? w->bits : 16u) || z.subsampled) {
        snprintf(w->err, w->errlen, "corrupt: a JPEG 2000 codestream of %u-bit samples%s in the pixel data "
                 "(7FE0,0010) for BitsAllocated (0028,0100) = %u", z.max_bits, z.subsampled ? ", subsampled" : "",
                 w->bits);
        return -1;
    }
    return 0;
}

/* Walk elements from *pos to end (a container's end, or the file's); stop at a sequence delimiter when `in_seq`, at
 * an item delimiter when `in_item`. Returns 1 when stopped at that delimiter, 0 at `end` (or, for the meta group, at
 * another group), -1 with the reason in w->err. */
static int walk(walker *w, size_t *pos, size_t end, int in_seq, int in_item, int depth, uint32_t stop_group)
{
    if (depth > MAX_NEST) {
        snprintf(w->err, w->errlen, "corrupt: sequences nested deeper than %d levels", MAX_NEST);
        return -1;
    }
    while (*pos < end) {
        const size_t at = *pos;
        if (end - at < 8)
            return bad(w, 0, at, "is cut short", 8, end - at);
        const uint32_t tag = (uint32_t)u16(w, at) << 16 | u16(w, at + 2);
        if (stop_group && (tag >> 16) != stop_group)
            return 0; /* the meta group ends where another group starts */
        size_t hdr = 8;
        uint32_t vl;
        int sq = 0;
        if ((tag >> 16) == 0xfffe) { /* item, item delimiter, sequence delimiter: no VR in any encoding */
            vl = u32(w, at + 4);
            if (tag == 0xfffee0ddu || tag == 0xfffee00du) {
                if (vl != 0) /* GDCM reads a delimiter's length as a value to allocate */
                    return bad(w, tag, at, "is a delimiter with a length", vl, end - at);
                *pos = at + 8;
                if ((tag == 0xfffee0ddu && in_seq) || (tag == 0xfffee00du && in_item))
                    return 1; /* the container's own delimiter */
                continue; /* a stray delimiter: GDCM copes, and it declares no length */
            }
            if (tag != 0xfffee000u)
                return bad(w, tag, at, "is not an item tag", tag, end - at);
            if (!in_seq)
                return bad(w, tag, at, "is an item outside a sequence", 0, end - at);
            *pos = at + 8;
            if (vl == UNDEFINED) {
                const int r = walk(w, pos, end, 0, 1, depth + 1, 0);
                if (r < 0)
                    return -1;
                if (r == 0 && end != w->n) /* GDCM asserts reading such an item (regressions-dicom/crash-011) */
                    return bad(w, tag, at, "is an item of undefined length without its delimiter inside a sequence "
                               "of defined length", vl, end - at);
            } else {
                if (vl > end - *pos)
                    return bad(w, tag, at, "declares an item longer than its container", vl, end - *pos);
                size_t inner = *pos;
                if (walk(w, &inner, *pos + vl, 0, 0, depth + 1, 0) < 0)
                    return -1;
                *pos += vl;
            }
            continue;
        }
        if (w->implicit) {
            vl = u32(w, at + 4);
        } else {
            const unsigned char *vr = w->p + at + 4;
            /* GDCM guesses at an unknown VR (it rereads the element as implicit) and asserts on what follows: a
             * VR outside the standard's list is refused (tests/fuzz/regressions-dicom/crash-004) */
            if (!known_vr(vr))
                return bad(w, tag, at, "has no valid VR", (uint64_t)vr[0] << 8 | vr[1], end - at);
            sq = vr[0] == 'S' && vr[1] == 'Q';
            if (long_vr(vr)) {
                if (end - at < 12)
                    return bad(w, tag, at, "is cut short", 12, end - at);
                vl = u32(w, at + 8);
                hdr = 12;
            } else {
                vl = u16(w, at + 6);
            }
        }
        *pos = at + hdr;
        if (check_attr(w, tag, w->implicit ? NULL : w->p + at + 4, vl) != 0)
            return -1;
        if (depth == 0 && tag == 0x00280008u)
            w->frames = 1;
        if (depth == 0 && vl == 2 && *pos + 2 <= end &&
            (tag == 0x00280010u || tag == 0x00280011u || tag == 0x00280002u || tag == 0x00280100u)) {
            const unsigned v = u16(w, *pos);
            if (tag == 0x00280010u)
                w->rows = v;
            else if (tag == 0x00280011u)
                w->cols = v;
            else if (tag == 0x00280002u)
                w->samples = v;
            else
                w->bits = v;
        }
        if (depth == 0 && tag == 0x00280009u && !w->frames) {
            /* GDCM reads NumberOfFrames whenever FrameIncrementPointer is there, and asserts when it is not (an RT
             * dose file of pydicom's test files made gdcminfo abort) */
            snprintf(w->err, w->errlen, "corrupt: FrameIncrementPointer (0028,0009) without NumberOfFrames "
                     "(0028,0008)");
            return -1;
        }
        if (tag == 0x7fe00010u && depth == 0 && w->px) {
            w->px->present = 1;
            w->px->encapsulated = vl == UNDEFINED;
            w->px->bytes = vl == UNDEFINED ? 0 : vl;
            w->px->offset = *pos; /* the value's first byte */
            w->px->big = w->big;
        }
        if (vl == UNDEFINED && !w->implicit && !sq && tag != 0x7fe00010u &&
            !(w->p[at + 4] == 'U' && w->p[at + 5] == 'N'))
            return bad(w, tag, at, "has an undefined length but is no sequence", vl, end - at);
        if (vl == UNDEFINED) {
            /* a sequence (or an implicit-VR element GDCM will read as one, or UN), or encapsulated pixel data */
            if (tag == 0x7fe00010u) {
                for (;;) { /* fragments: items of bytes, then the sequence delimiter */
                    if (end - *pos < 8)
                        return bad(w, tag, *pos, "ends inside the encapsulated pixel data", 8, end - *pos);
                    const uint32_t t = (uint32_t)u16(w, *pos) << 16 | u16(w, *pos + 2);
                    const uint32_t fl = u32(w, *pos + 4);
                    *pos += 8;
                    if (t == 0xfffee0ddu) {
                        if (fl != 0) /* GDCM allocates it as a fragment (tests/fuzz/regressions-dicom/oom-003) */
                            return bad(w, t, *pos - 8, "is a delimiter with a length", fl, end - *pos);
                        break;
                    }
                    if (t != 0xfffee000u)
                        return bad(w, t, *pos - 8, "is not a fragment of the pixel data", t, end - *pos);
                    if (fl > end - *pos)
                        return bad(w, t, *pos - 8, "declares a pixel data fragment longer than the file", fl,
                                   end - *pos);
                    if (w->j2k && check_siz(w, *pos, fl) != 0)
                        return -1;
                    *pos += fl;
                }
                continue;
            }
            /* the items of a UN of undefined length are implicit VR little endian (PS3.5 6.2.2) */
            const int un = !w->implicit && w->p[at + 4] == 'U' && w->p[at + 5] == 'N';
            const int was_implicit = w->implicit, was_big = w->big;
            if (un)
                w->implicit = 1, w->big = 0;
            int r = walk(w, pos, end, 1, 0, depth + 1, 0);
            w->implicit = was_implicit, w->big = was_big;
            if (r < 0)
                return -1;
            if (r == 0 && end != w->n)
                return bad(w, tag, at, "is a sequence of undefined length without its delimiter inside a container "
                           "of defined length", vl, end - at);
            continue;
        }
        if (vl > end - *pos)
            return bad(w, tag, at, "declares a value longer than its container", vl, end - *pos);
        /* implicit VR does not say which values are sequences: one whose value starts with an item tag is one, as
         * GDCM's dictionary will read it */
        if (w->implicit && vl >= 8 && u16(w, *pos) == 0xfffe && u16(w, *pos + 2) == 0xe000)
            sq = 1;
        if (sq) { /* a sequence of defined length: its items too */
            size_t inner = *pos;
            if (walk(w, &inner, *pos + vl, 1, 0, depth + 1, 0) < 0)
                return -1;
        }
        *pos += vl;
    }
    /* the end without a delimiter: the end of a container of defined length, or of the file (a container of undefined
     * length the data ends in: GDCM reads what is there; the callers refuse one that ends inside a defined length) */
    return 0;
}

/* The file meta group from `meta` (its first element): walked, then checked as GDCM can read it without its
 * asserts: (0002,0000) UL first, saying the length of the rest of the group; no sequence and no undefined length in
 * it (tests/fuzz/regressions-dicom/crash-006). *pos: past the group. The transfer syntax (0002,0010) into ts. */
static int check_meta(walker *w, size_t meta, size_t *pos, char ts[65])
{
    const unsigned char *p = w->p;
    *pos = meta;
    ts[0] = '\0';
    if (walk(w, pos, w->n, 0, 0, 0, 0x0002) < 0)
        return -1;
    if (*pos - meta < 12 || u16(w, meta) != 0x0002 || u16(w, meta + 2) != 0x0000 || p[meta + 4] != 'U' ||
        p[meta + 5] != 'L' || u16(w, meta + 6) != 4) {
        snprintf(w->err, w->errlen, "corrupt: the file meta information does not start with its group length "
                 "(0002,0000) UL");
        return -1;
    }
    if ((uint64_t)u32(w, meta + 8) != (uint64_t)(*pos - meta - 12)) {
        snprintf(w->err, w->errlen, "corrupt: the file meta group length (0002,0000) says %u bytes, the group holds %zu",
                 u32(w, meta + 8), *pos - meta - 12);
        return -1;
    }
    for (size_t at = meta; at + 8 <= *pos;) {
        const uint32_t tag = (uint32_t)u16(w, at) << 16 | u16(w, at + 2);
        size_t hdr = long_vr(p + at + 4) ? 12 : 8;
        uint32_t vl = hdr == 12 ? u32(w, at + 8) : u16(w, at + 6);
        if ((p[at + 4] == 'S' && p[at + 5] == 'Q') || vl == UNDEFINED) {
            snprintf(w->err, w->errlen, "corrupt: a sequence or an undefined length in the file meta information");
            return -1;
        }
        if (tag == 0x00020010u) { /* the transfer syntax decides the encoding of the rest */
            size_t k = vl < 64 ? vl : 64;
            memcpy(ts, p + at + hdr, k);
            ts[k] = '\0';
            for (size_t i = k; i > 0 && (ts[i - 1] == ' ' || ts[i - 1] == '\0'); i--)
                ts[i - 1] = '\0';
        }
        at += hdr + vl;
    }
    return 0;
}

int vxt__dcm_check_lengths(const unsigned char *p, size_t n, vxt__dcm_pixels *px, char *err, size_t errlen)
{
    walker w = {.p = p, .n = n, .err = err, .errlen = errlen, .px = px};
    if (px)
        memset(px, 0, sizeof *px);
    size_t pos = 0;
    int deflated = 0;
    const int preamble = n >= 132 && memcmp(p + 128, "DICM", 4) == 0;
    if (preamble || (n >= 8 && p[0] == 0x02 && p[1] == 0x00)) {
        /* a meta group: after the preamble, or first in a file without one (which GDCM reads through its
         * "compatibility" path, whose asserts a meta group in implicit VR reached: regressions-dicom/crash-009) */
        if (!preamble && !known_vr(p + 4)) {
            snprintf(err, errlen, "corrupt: the file meta information (group 0002) is not in explicit VR");
            return -1;
        }
        char ts[65];
        if (check_meta(&w, preamble ? 132 : 0, &pos, ts) != 0)
            return -1;
        if (n - pos < 8) { /* GDCM asserts reading past a meta group the file ends with (regressions-dicom/crash-010) */
            snprintf(err, errlen, "corrupt: the file ends after its meta information (group 0002), with no dataset");
            return -1;
        }
        w.j2k = !strncmp(ts, "1.2.840.10008.1.2.4.9", 21) && ts[21] >= '0' && ts[21] <= '3' && !ts[22];
        w.implicit = !strcmp(ts, "1.2.840.10008.1.2");
        w.big = !strcmp(ts, "1.2.840.10008.1.2.2");
        deflated = !strcmp(ts, "1.2.840.10008.1.2.1.99");
        if (!ts[0] && pos + 8 <= n) /* no transfer syntax: as GDCM, guess by the first element's VR bytes */
            w.implicit = !known_vr(p + pos + 4);
    } else if (n >= 8) {
        /* no preamble: explicit VR when bytes 4-5 look like a VR, big endian when the group reads 0x0800 */
        w.big = p[0] == 0x00 && p[1] == 0x08;
        w.implicit = !(p[4] >= 'A' && p[4] <= 'Z' && p[5] >= 'A' && p[5] <= 'Z');
    }
    if (deflated) { /* its dataset is compressed: the walk cannot see the lengths GDCM would allocate */
        snprintf(err, errlen, "transfer syntax (0002,0010) 1.2.840.10008.1.2.1.99 (Deflated Explicit VR Little Endian) "
                 "is not read: its elements cannot be checked before GDCM allocates them");
        return -1;
    }
    return walk(&w, &pos, n, 0, 0, 0, 0) < 0 ? -1 : 0;
}

int vxt__dcm_sniff(const unsigned char *p, size_t n)
{
    if (n >= 132 && memcmp(p + 128, "DICM", 4) == 0)
        return 1;
    /* no preamble (older files): the first element in group 0002 or 0008, little or big endian */
    return n >= 8 && ((p[0] == 0x02 && p[1] == 0x00) || (p[0] == 0x08 && p[1] == 0x00) ||
                      (p[0] == 0x00 && (p[1] == 0x08 || p[1] == 0x02)));
}

int vxt__dcm_check_file(const char *path, vxt__dcm_pixels *px, char *err, size_t errlen)
{
    if (px)
        memset(px, 0, sizeof *px);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* GDCM says why it cannot open it */
    struct stat sb;
    const int stated = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    if (!stated || sb.st_size < 8) {
        close(fd);
        return stated ? 1 : 0; /* too short to be DICOM (an empty file); else GDCM says why it cannot read it */
    }
    /* mapped: the walk touches the pages of the headers, not those of the pixel data it skips */
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 0;
    int r = vxt__dcm_sniff((const unsigned char *)m, (size_t)sb.st_size)
                ? vxt__dcm_check_lengths((const unsigned char *)m, (size_t)sb.st_size, px, err, errlen)
                : 1;
    munmap(m, (size_t)sb.st_size);
    return r;
}
