/* dicom_codec.h - the transfer syntaxes voxtile reads, and the decoders of encapsulated (compressed) pixel data.
 *
 * GDCM reads the headers (dicom_gdcm.cpp); it decodes no pixel data. Its codecs abort the process on some corrupt
 * JPEG headers (its bundled IJG asserts), leak on corrupt JPEG, JPEG-LS and JPEG 2000 streams, and let IJG and
 * OpenJPEG print to stderr (docs/DICOM.md, "Decoders"). Compressed frames go instead to:
 *   dicom_jpeg_lossless.c  JPEG lossless, process 14 (SOF3, predictors 1-7): voxtile's own decoder (ITU-T T.81
 *                          annex H), as Debian 12's libjpeg-turbo 2.1 has no lossless mode
 *   dicom_jpeg_dct.c       JPEG baseline and extended, 8-bit (SOF0/1/2/9/10): libjpeg-turbo
 *   dicom_jpeg12.c         JPEG extended, 12-bit (SOF1/2): the IJG library GDCM ships for 12-bit samples, in C
 *   dicom_ijg_decode.h     the decode loop over IJG's API those two share (a template: their headers differ)
 *   dicom_jpegls.c         JPEG-LS, lossless and near-lossless: CharLS
 *   dicom_j2k.c            JPEG 2000, lossless and lossy: OpenJPEG
 *   dicom_rle.c            RLE Lossless (PS3.5 annex G): voxtile's own
 *   dicom_decode.c         a file's fragments split into frames (offset table, or markers), each frame decoded
 * Each decoder checks the stream's size, components and precision against the header, never prints, returns an
 * error on any corruption (a stream that ends early, a bad table, a warning from the library) and frees what it
 * allocated on every path. Not installed. */
#ifndef VXT_DICOM_CODEC_H
#define VXT_DICOM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a transfer syntax's pixel data is read. */
#define VXT__DCM_CODEC_LIST(X)                                                                                      \
    X(NATIVE, "native")                                                                                             \
    X(JPEG, "JPEG")                                                                                                 \
    X(JPEGLS, "JPEG-LS")                                                                                            \
    X(J2K, "JPEG 2000")                                                                                             \
    X(RLE, "RLE")                                                                                                   \
    X(NONE, "none")

typedef enum vxt__dcm_codec {
#define VXT__X(id, name) VXT__DCM_CODEC_##id,
    VXT__DCM_CODEC_LIST(VXT__X)
#undef VXT__X
} vxt__dcm_codec;

/* The transfer syntaxes voxtile knows by name: UID, name (PS3.6 table A-1), codec (NONE: refused). */
#define VXT__DCM_TS_LIST(X)                                                                                         \
    X("1.2.840.10008.1.2", "Implicit VR Little Endian", NATIVE)                                                     \
    X("1.2.840.10008.1.2.1", "Explicit VR Little Endian", NATIVE)                                                   \
    X("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", NONE)                                         \
    X("1.2.840.10008.1.2.2", "Explicit VR Big Endian", NATIVE)                                                      \
    X("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", JPEG)                                                  \
    X("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", JPEG)                                              \
    X("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", JPEG)                               \
    X("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection "  \
      "Value 1])", JPEG)                                                                                            \
    X("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", JPEGLS)                                       \
    X("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", JPEGLS)                          \
    X("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", J2K)                                 \
    X("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", J2K)                                                 \
    X("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", NONE)         \
    X("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", NONE)                         \
    X("1.2.840.10008.1.2.4.94", "JPIP Referenced", NONE)                                                            \
    X("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", NONE)                                                    \
    X("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", NONE)                                           \
    X("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", NONE)                                           \
    X("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", NONE)                                 \
    X("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", NONE)                   \
    X("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", NONE)                    \
    X("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", NONE)                    \
    X("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", NONE)                          \
    X("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", NONE)                                       \
    X("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", NONE)                                    \
    X("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", NONE)                                                          \
    X("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", NONE)                                                \
    X("1.2.840.10008.1.2.4.112", "JPEG XL", NONE)                                                                   \
    X("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", NONE)               \
    X("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",   \
      NONE)                                                                                                         \
    X("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", NONE)                               \
    X("1.2.840.10008.1.2.5", "RLE Lossless", RLE)

/* The codec of a transfer syntax (NONE for one voxtile does not know, or refuses). */
vxt__dcm_codec vxt__dcm_ts_codec(const char *ts_uid);
/* Whether voxtile decodes the transfer syntax: known, and its codec built in (CharLS, OpenJPEG, libjpeg). */
int vxt__dcm_ts_supported(const char *ts_uid);
/* Its name ("JPEG Lossless, Non-Hierarchical, First-Order Prediction ..."); the UID itself when unknown; "(none)". */
const char *vxt__dcm_ts_name(const char *ts_uid);
/* Why a known transfer syntax is not decoded ("voxtile was built without CharLS", "not a codec voxtile has"). */
const char *vxt__dcm_ts_why_not(const char *ts_uid);

/* What a decoded frame must be: rows x cols samples of bytes (1, 2 or 4) each, in the host's byte order, holding
 * the stored value (unsigned, or two's complement when `is_signed`); `bits`: BitsStored (the decoder refuses a
 * stream of more bits than fit in `bytes`). */
typedef struct vxt__dcm_fmt {
    int64_t rows, cols;
    int bytes, bits, is_signed;
} vxt__dcm_fmt;

/* Store value v (its low 8 x bytes bits) as sample i of a frame. */
static inline void vxt__dcm_put(void *dst, int bytes, size_t i, uint32_t v)
{
    if (bytes == 1)
        ((uint8_t *)dst)[i] = (uint8_t)v;
    else if (bytes == 2)
        ((uint16_t *)dst)[i] = (uint16_t)v;
    else
        ((uint32_t *)dst)[i] = v;
}

/* Decoders: one frame's compressed bytes (s, n) into dst (rows x cols x bytes). 0, or -1 with a one-line reason in
 * err (errlen bytes). */
int vxt__dcm_jpeg_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                         size_t errlen);
int vxt__dcm_jpeg_lossless_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                                  size_t errlen);
int vxt__dcm_jpeg_dct_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                             size_t errlen);
int vxt__dcm_jpeg12_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen);
int vxt__dcm_jpegls_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                           size_t errlen);
int vxt__dcm_j2k_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                        size_t errlen);
int vxt__dcm_rle_decode(const unsigned char *s, size_t n, const vxt__dcm_fmt *f, void *dst, char *err,
                        size_t errlen);
/* A JPEG 2000 codestream's SIZ marker (the codestream starting with SOC, SIZ): the image's size, its components,
 * their largest depth, whether any is subsampled, and the tiles (0 when the tile grid does not cover the image).
 * 0, or -1 when the marker is not there or cut short. */
typedef struct vxt__dcm_j2k_siz {
    uint64_t width, height, tiles;
    unsigned components, max_bits;
    int subsampled;
} vxt__dcm_j2k_siz;
int vxt__dcm_j2k_read_siz(const unsigned char *c, size_t n, vxt__dcm_j2k_siz *out);

/* The codec's decoder (NULL for NATIVE and NONE, or one not built in). */
typedef int (*vxt__dcm_decoder)(const unsigned char *, size_t, const vxt__dcm_fmt *, void *, char *, size_t);
vxt__dcm_decoder vxt__dcm_codec_decoder(vxt__dcm_codec c);

/* The encapsulated pixel data of a file, from its value's first byte (s, n: the bytes from there to the end of the
 * file): `frames` frames of f, each decoded by `codec` into dst (frames x rows x cols x bytes; dst_bytes exactly).
 * Frames are found through the basic offset table when it has one entry per frame, else one fragment per frame,
 * else (JPEG family) by the start-of-image marker each frame begins with. 0, or -1 with err naming the frame. */
int vxt__dcm_decode_encapsulated(const unsigned char *s, size_t n, vxt__dcm_codec codec, int64_t frames,
                                 const vxt__dcm_fmt *f, void *dst, size_t dst_bytes, char *err, size_t errlen);

/* The versions of the decoding libraries built in ("CharLS 2.4.1, OpenJPEG 2.5.0, libjpeg-turbo (libjpeg 62)");
 * a static string. */
const char *vxt__dcm_codec_versions(void);
/* Each library's own version string; NULL when not built in. */
const char *vxt__dcm_charls_version(void);
const char *vxt__dcm_openjpeg_version(void);
const char *vxt__dcm_libjpeg_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VXT_DICOM_CODEC_H */
