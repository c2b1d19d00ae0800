/* dicom_internal.h - the DICOM reader's pieces, shared by:
 *   host/dicom/dicom_gdcm.cpp    the extern "C" layer over GDCM (one file's header)
 *   host/dicom/dicom_codec.h     the transfer syntaxes and the decoders of compressed pixel data (dicom_decode.c...)
 *   host/dicom/dicom_check.c     element lengths checked before GDCM allocates them
 *   host/dicom/dicom_series.c    files found, grouped into series, sorted and checked; the scan's API
 *   host/dicom/dicom_affine.c    the affine (LPS to RAS, dcm2niix's voxel order) and the gantry-tilt correction
 *   host/dicom/dicom_read.c      a series' pixel data read or decoded (files in parallel), rescaled and placed
 *   host/dicom/dicom_api.c       reading: a scan's series, a path, files, memory
 *   host/dicom/dicom_nogdcm.c    the GDCM layer's functions in a build without GDCM
 * Not installed. */
#ifndef VXT_DICOM_INTERNAL_H
#define VXT_DICOM_INTERNAL_H

#include "dicom_codec.h"
#include "dicom_gdcm.h"
#include "image_internal.h"

#define VXT__DCM_MAX_DEPTH 64     /* folders nested deeper are refused (and links looping back are not followed) */
#define VXT__DCM_MAX_TS 8         /* transfer syntaxes listed per series */
#define VXT__DCM_IOP_TOL 1e-4     /* ImageOrientationPatient components equal within this: one orientation */
#define VXT__DCM_DUP_TOL 1e-3     /* positions along the normal this close (mm): one position (duplicates) */
#define VXT__DCM_STEP_TOL_MM 0.01 /* slice steps may differ by this much (mm) ... */
#define VXT__DCM_STEP_TOL_REL 0.01 /* ... or by this fraction of the mean step, whichever is larger */
#define VXT__DCM_TILT_TOL 1e-3    /* step off the normal / step along it above this: sheared (gantry tilt) */
#define VXT__DCM_MAX_THREADS 16   /* files decoded at once, at most (vxt_read_options.threads) */

/* What the top-level PixelData (7FE0,0010) element says, found by the walk. */
typedef struct vxt__dcm_pixels {
    int present, encapsulated;
    uint64_t bytes;  /* a native value's length */
    uint64_t offset; /* where its value starts in the file */
    int big;         /* the dataset is big endian */
} vxt__dcm_pixels;

/* One file found. */
typedef struct vxt__dcm_entry {
    char *path;       /* in messages */
    char *io;         /* read at (== path, but for bytes from memory: /proc/self/fd/N) */
    vxt__dcm_pixels px; /* the pixel data element, as dicom_check.c found it */
    vxt__dcm_file h;
    int skip;         /* not DICOM, not an image, or unreadable */
    char error[256];  /* why it is unreadable */
} vxt__dcm_entry;

/* One plane of a series: a file's (or one frame of a multi-frame file). */
typedef struct vxt__dcm_plane {
    size_t file;
    int64_t frame;
    int64_t instance; /* InstanceNumber: only to order duplicates */
    double key;       /* position along the slice normal (mm) */
} vxt__dcm_plane;

/* One series (a volume): planes of one SeriesInstanceUID, size and orientation (or one multi-frame file). */
typedef struct vxt__dcm_group {
    size_t first_file;
    vxt__dcm_plane *planes;
    size_t nplanes, pcap;
    int64_t rows, cols;
    int has_iop;
    double iop[6];
    /* described */
    char uid[65], description[65], modality[17];
    int64_t number;
    int part, parts;
    char ts[VXT__DCM_MAX_TS][65];
    int nts;
    /* analysed (dicom_series.c) */
    double r[3], c[3], step[3]; /* row and column directions (LPS), the step between slices (LPS mm) */
    double origin[3];           /* ImagePositionPatient of the first sorted slice (LPS mm) */
    double normal[3];           /* r x c */
    double spacing[3];          /* volume order: slices (along the normal), rows, columns */
    int tilted;                 /* sheared: the step leaves the normal */
    int correct;                /* tilted, and the correction asked for (VXT_DICOM_CORRECT_TILT) */
    double tilt_deg;
    int rescale_varies;
    /* the affine (dicom_affine.c) */
    int affine_ok;
    double affine[4][4]; /* RAS, dcm2niix's voxel order */
    char orientation[4];
    /* readable or not */
    vxt_status status;  /* VXT_OK, or why not */
    unsigned allow;     /* the dicom flag that would allow it (0: none) */
    char problem[512];
    char notes[512];
} vxt__dcm_group;

struct vxt_dicom_scan {
    const char *func;     /* the public function that made it (messages) */
    vxt_read_options o;   /* checked (dicom_series cleared) */
    char *source;         /* the path scanned, "N files" or "memory" */
    int folder;
    vxt__dcm_entry *files;
    size_t nfiles, cap;
    size_t skipped;       /* not DICOM */
    size_t other;         /* DICOM, not images */
    vxt__dcm_entry *bad;  /* the first DICOM file that cannot be read */
    vxt__dcm_group *groups;
    size_t ngroups, gcap;
};

/* dicom_series.c */
vxt_status vxt__dicom_scan_path(const char *func, const char *path, const vxt_read_options *opts,
                                vxt_dicom_scan **out);
/* A scan of one file's bytes: written to an unnamed in-memory file (*fd, to close after the scan is destroyed). */
vxt_status vxt__dicom_scan_memory(const void *data, size_t size, const vxt_read_options *opts, vxt_dicom_scan **out,
                                  int *fd);
vxt_status vxt__dicom_choose(const vxt_dicom_scan *s, const char *series, const char *func, size_t *index);
const char *vxt__dcm_mix_kind(const vxt_dicom_scan *s, size_t g0);

/* dicom_affine.c: G->affine (RAS) and G->orientation from G->r, c, step, spacing and the first plane's position;
 * with a gantry tilt being corrected, the affine of the corrected (orthogonal) grid. */
void vxt__dcm_affine(vxt__dcm_group *G);
/* The image's shape (volume order) for the group: slices, rows, columns; taller where a tilt is corrected. */
void vxt__dcm_out_shape(const vxt__dcm_group *G, int64_t shape[3]);
/* Slice k of a tilted series (stored values, rows already reversed), `in` (rows x cols), moved onto the corrected
 * grid into `out` (out_rows x cols); rows outside take `fill`; has_pad/pad: the padding value, never blended. */
void vxt__dcm_untilt_plane(const vxt__dcm_group *G, int64_t k, const int32_t *in, int32_t *out, int64_t out_rows,
                           int32_t fill, int has_pad, int32_t pad);

/* dicom_check.c: whether bytes start like DICOM (the "DICM" preamble, or a first element of group 0002 or 0008);
 * every element's declared length checked against its container before GDCM reads the file (0, or -1 with err);
 * a file: 1 when it does not start like DICOM, else as the check (a file that cannot be mapped: 0, GDCM says why). */
int vxt__dcm_sniff(const unsigned char *p, size_t n);
int vxt__dcm_check_lengths(const unsigned char *p, size_t n, vxt__dcm_pixels *px, char *err, size_t errlen);
int vxt__dcm_check_file(const char *path, vxt__dcm_pixels *px, char *err, size_t errlen);

/* dicom_api.c: vxt_image_read_path() on a folder or a DICOM file (`o` checked). */
vxt_status vxt__dicom_read_path(const char *path, const vxt_read_options *o, vxt_image **out);

/* dicom_read.c: read group g of the scan (checked readable) into an image. */
vxt_status vxt__dicom_read_group(const vxt_dicom_scan *s, size_t g, const vxt_read_options *o, const char *func,
                                 vxt_image **out);

#endif /* VXT_DICOM_INTERNAL_H */
