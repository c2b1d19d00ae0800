/* fuzz_dicom_decode.h - one input of the fuzz target fuzz_dicom_decode.c, as the target and tests/test_dicom.c
 * (which replays tests/fuzz/regressions-dicom-decode) both run it.
 *
 * Input: byte 0 picks the decoder (JPEG family by its SOF marker, JPEG-LS, JPEG 2000, RLE, or the splitter of
 * encapsulated pixel data with the JPEG family); byte 1 the sample format (bits 0-1: 1, 2 or 4 bytes; bit 2: signed;
 * bits 4-7: frames - 1, for the splitter); bytes 2 and 3 rows and columns (1-256); the rest is the stream. Returns
 * -1 when the input is too short to say, else the decoder's result (0, or -1 with a message in err) after checking
 * the invariants (abort() when one breaks): a failure has a message of one printable line; a success wrote every
 * sample (two decodes into differently poisoned outputs agree). */
#ifndef VXT_FUZZ_DICOM_DECODE_H
#define VXT_FUZZ_DICOM_DECODE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom_codec.h"

static void vxt_fuzz_decode_check(int cond, const char *what, const char *err)
{
    if (!cond) {
        fprintf(stderr, "fuzz_dicom_decode: invariant broken: %s (%s)\n", what, err);
        abort();
    }
}

static int vxt_fuzz_decode_run(const uint8_t *s, size_t n, int which, const vxt__dcm_fmt *f, int64_t frames,
                               unsigned char *dst, size_t bytes, char *err, size_t errlen)
{
    switch (which) {
    case 0:
        return vxt__dcm_jpeg_decode(s, n, f, dst, err, errlen);
    case 1:
        return vxt__dcm_jpegls_decode(s, n, f, dst, err, errlen);
    case 2:
        return vxt__dcm_j2k_decode(s, n, f, dst, err, errlen);
    case 3:
        return vxt__dcm_rle_decode(s, n, f, dst, err, errlen);
    default:
        return vxt__dcm_decode_encapsulated(s, n, VXT__DCM_CODEC_JPEG, frames, f, dst, bytes, err, errlen);
    }
}

static int vxt_fuzz_decode_once(const uint8_t *data, size_t size, char *err, size_t errlen)
{
    if (size < 4)
        return -1;
    const int which = data[0] % 5;
    static const int sizes[4] = {1, 2, 4, 2};
    vxt__dcm_fmt f = {(int64_t)data[2] + 1, (int64_t)data[3] + 1, sizes[data[1] & 3], 0, (data[1] >> 2) & 1};
    f.bits = 8 * f.bytes;
    const int64_t frames = which == 4 ? (data[1] >> 4) + 1 : 1;
    const size_t bytes = (size_t)f.rows * (size_t)f.cols * (size_t)f.bytes * (size_t)frames;
    unsigned char *a = malloc(bytes), *b = malloc(bytes);
    vxt_fuzz_decode_check(a && b, "memory", "");
    memset(a, 0x5a, bytes);
    memset(b, 0xa5, bytes);
    char eb[256] = "";
    err[0] = '\0';
    const int ra = vxt_fuzz_decode_run(data + 4, size - 4, which, &f, frames, a, bytes, err, errlen);
    if (ra != 0) {
        vxt_fuzz_decode_check(ra == -1 && err[0], "a failure without a message", err);
        for (const char *p = err; *p; p++)
            vxt_fuzz_decode_check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                                  "a message that is not one printable line", err);
    } else {
        const int rb = vxt_fuzz_decode_run(data + 4, size - 4, which, &f, frames, b, bytes, eb, sizeof eb);
        vxt_fuzz_decode_check(rb == 0, "the same stream decoded once, refused the second time", eb);
        vxt_fuzz_decode_check(memcmp(a, b, bytes) == 0, "samples left unwritten (they kept the poison)", "");
    }
    free(a);
    free(b);
    return ra;
}

#endif /* VXT_FUZZ_DICOM_DECODE_H */
