/* dicom_gdcm.h - the C face of GDCM (dicom_gdcm.cpp): what voxtile needs from one DICOM file, as plain C data.
 * GDCM is a C++ library; everything C++ stays behind these functions (they catch every exception, and GDCM's own
 * messages to std::cerr are switched off once per process). The series logic (grouping, sorting, geometry,
 * values) is C, in dicom_series.c. Not installed. */
#ifndef VXT_DICOM_GDCM_H
#define VXT_DICOM_GDCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One plane's position and values: a single-frame file's, or one frame's of a multi-frame (enhanced) file. */
typedef struct vxt__dcm_frame {
    int has_ipp, has_iop, has_spacing, has_rescale;
    double ipp[3];       /* ImagePositionPatient (0020,0032), mm, LPS */
    double iop[6];       /* ImageOrientationPatient (0020,0037): row direction, then column direction */
    double spacing[2];   /* PixelSpacing (0028,0030): between rows, between columns (mm) */
    double slope, inter; /* RescaleSlope (0028,1053), RescaleIntercept (0028,1052); 1, 0 when absent */
    int64_t frame;       /* index of the frame in its file (0 for single-frame files) */
} vxt__dcm_frame;

/* What the header of one file says (strings NUL-terminated, empty when absent). */
typedef struct vxt__dcm_file {
    char ts_uid[65];      /* TransferSyntaxUID (0002,0010) */
    char sop_class[65];   /* SOPClassUID (0008,0016) */
    char sop_uid[65];     /* SOPInstanceUID (0008,0018) */
    char series_uid[65];  /* SeriesInstanceUID (0020,000E) */
    char modality[17];    /* Modality (0008,0060) */
    char description[65]; /* SeriesDescription (0008,103E) */
    char photometric[17]; /* PhotometricInterpretation (0028,0004) */
    int64_t series_number, instance_number; /* (0020,0011), (0020,0013); INT64_MIN when absent */
    int has_image;        /* Rows and Columns are present: an image, not a report or a directory */
    /* PixelData (7FE0,0010): present, compressed fragments (undefined length), a native value's bytes. Set by the
     * caller from its own walk of the file (dicom_check.c), not by vxt__dcm_scan. */
    int has_pixels;
    int encapsulated;
    uint64_t pixel_bytes;
    int64_t rows, cols, frames;  /* (0028,0010), (0028,0011), NumberOfFrames (0028,0008) (1 when absent) */
    int bits_allocated, bits_stored, high_bit, pixel_rep, samples; /* (0028,0100..0103), (0028,0002) */
    int has_padding;       /* PixelPaddingValue (0028,0120) */
    double padding;        /* its value, as stored */
    int has_padding_limit; /* PixelPaddingRangeLimit (0028,0121): padding is every value from padding to it */
    double padding_limit;
    int has_tilt;          /* GantryDetectorTilt (0018,1120) */
    double tilt;           /* degrees */
    double thickness;      /* SliceThickness (0018,0050), 0 when absent */
    int enhanced;          /* per-frame functional groups (5200,9230) give each frame's position */
    vxt__dcm_frame *frame; /* `frames` entries (malloc'd; vxt__dcm_file_free) */
} vxt__dcm_file;

/* Results of the functions below. */
enum {
    VXT__DCM_OK = 0,
    VXT__DCM_NOT_DICOM = 1, /* not a DICOM file (dicom_check.c's sniff) */
    VXT__DCM_ERROR = 2      /* a DICOM file that cannot be read: `err` says why */
};

/* Read the header of a file, without the pixel data. On VXT__DCM_ERROR, err holds a one-line reason (errlen
 * bytes). */
int vxt__dcm_scan(const char *path, vxt__dcm_file *out, char *err, size_t errlen);

/* 1 when built with GDCM (dicom_gdcm.cpp), 0 otherwise (dicom_nogdcm.c). */
int vxt__dcm_available(void);

/* The version of GDCM in use ("3.0.21"); NULL without GDCM. */
const char *vxt__dcm_gdcm_version(void);

void vxt__dcm_file_free(vxt__dcm_file *f);

#ifdef __cplusplus
}
#endif

#endif /* VXT_DICOM_GDCM_H */
