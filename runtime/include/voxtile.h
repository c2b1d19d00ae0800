/*
 * voxtile.h - the public interface of libvoxtile.
 *
 * voxtile is a C runtime for sliding-window inference on 3D medical volumes: volume I/O, preprocessing,
 * tiling, Gaussian-weighted stitching and post-processing, on OpenCL devices and on a CPU backend that
 * produces the same bits.
 *
 * Conventions (they hold for every function below):
 *   - Every function that can fail returns a vxt_status; VXT_OK is 0. On failure, a message describing the
 *     problem (the offending parameter and value, an OpenCL build log, ...) is available from
 *     vxt_last_error() in the calling thread and, for calls on a context, from vxt_context_last_error().
 *   - Objects are opaque handles created by a *_create function and released by the matching *_destroy
 *     function; destroy functions accept NULL. Output handles are set to NULL when creation fails.
 *   - Options structs start with `struct_size`; initialise them with their *_init function so that a newer
 *     library can add fields without breaking callers compiled against an older header.
 *   - The library keeps no global mutable state, never prints and never exits. The only static storage is
 *     the per-thread buffer behind vxt_last_error().
 *   - A context may be used from several threads at once. Calls on one context are serialised only where
 *     they share a resource (the OpenCL queue, the CPU thread pool).
 *   - Volumes are C-order arrays with the last axis fastest: index (z, y, x) of a (nz, ny, nx) volume is at
 *     z*ny*nx + y*nx + x. Sizes are 64-bit.
 */
#ifndef VOXTILE_H
#define VOXTILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VXT_BUILDING_LIBRARY) && defined(__GNUC__)
#define VXT_API __attribute__((visibility("default")))
#else
#define VXT_API
#endif

/* OpenCL handle types, declared here exactly as <CL/cl.h> declares them, so that this header does not need
 * the OpenCL headers and callers that use them get type-checked handles. */
struct _cl_platform_id;
struct _cl_device_id;
struct _cl_context;
struct _cl_command_queue;
struct _cl_mem;

/* ===================================================================================================== */
/* Version                                                                                                */
/* ===================================================================================================== */

#define VXT_VERSION_MAJOR 0
#define VXT_VERSION_MINOR 1
#define VXT_VERSION_PATCH 0
/** Version as one number: major*10000 + minor*100 + patch. */
#define VXT_VERSION_NUMBER (VXT_VERSION_MAJOR * 10000 + VXT_VERSION_MINOR * 100 + VXT_VERSION_PATCH)
#define VXT_VERSION_STRING "0.1.0"

/** The version of the library actually loaded, as VXT_VERSION_NUMBER computes it. Compare with
 *  VXT_VERSION_NUMBER to detect a header/library mismatch. */
VXT_API unsigned vxt_version_number(void);

/** The version of the library actually loaded, as "major.minor.patch". Static storage; never NULL. */
VXT_API const char *vxt_version_string(void);

/* ===================================================================================================== */
/* Status codes and error messages                                                                        */
/* ===================================================================================================== */

/* X-macro table: name, value, description. Values are stable across releases. */
#define VXT_STATUS_MAP(X)                                                                                    \
    X(VXT_OK, 0, "success")                                                                                  \
    X(VXT_ERR_NULL, 1, "a required pointer or handle is NULL")                                              \
    X(VXT_ERR_INVALID_ARGUMENT, 2, "an argument is out of range or inconsistent")                           \
    X(VXT_ERR_STRUCT_SIZE, 3, "an options or info struct has a size this library does not know")           \
    X(VXT_ERR_OUT_OF_MEMORY, 4, "out of memory")                                                            \
    X(VXT_ERR_OVERFLOW, 5, "a size computation overflows")                                                  \
    X(VXT_ERR_UNSUPPORTED, 6, "not supported")                                                              \
    X(VXT_ERR_NO_PLATFORM, 7, "no OpenCL platform is available")                                            \
    X(VXT_ERR_NO_DEVICE, 8, "no OpenCL device matches the selection")                                       \
    X(VXT_ERR_OPENCL, 9, "an OpenCL call failed")                                                           \
    X(VXT_ERR_BUILD, 10, "an OpenCL program failed to build")                                               \
    X(VXT_ERR_PROBE_MISMATCH, 11, "the device's results differ from the CPU path (determinism probe)")      \
    X(VXT_ERR_IO, 12, "a file could not be read or written")                                                \
    X(VXT_ERR_FORMAT, 13, "malformed or corrupt input data")                                                \
    X(VXT_ERR_TRUNCATED, 14, "input data ends early")                                                       \
    X(VXT_ERR_SHAPE_MISMATCH, 15, "shapes, counts or types do not match")                                  \
    X(VXT_ERR_NONFINITE, 16, "a NaN or infinite value where finite values are required")                   \
    X(VXT_ERR_PREDICTOR, 17, "the predictor reported a failure")                                            \
    X(VXT_ERR_CANCELLED, 18, "cancelled by the caller")                                                     \
    X(VXT_ERR_STATE, 19, "the call is not valid in the object's current state")                             \
    X(VXT_ERR_THREAD, 20, "a thread could not be created or synchronised")                                  \
    X(VXT_ERR_INTERNAL, 21, "internal error (a bug in voxtile)")

/** Status returned by every fallible call. */
typedef enum vxt_status {
#define VXT_STATUS_ENUM_(name, value, text) name = value,
    VXT_STATUS_MAP(VXT_STATUS_ENUM_)
#undef VXT_STATUS_ENUM_
    VXT_STATUS_COUNT_ /* not a status: one past the largest value */
} vxt_status;

/** A short, static, human-readable description of a status ("out of memory"). Unknown values give
 *  "unknown status". Never NULL. */
VXT_API const char *vxt_status_string(vxt_status status);

/** The symbolic name of a status ("VXT_ERR_OUT_OF_MEMORY"). Unknown values give "VXT_ERR_UNKNOWN". */
VXT_API const char *vxt_status_name(vxt_status status);

/** The message of the most recent failure of a voxtile call made by the calling thread, with details (the
 *  offending parameter and its value, the OpenCL error name, ...). Empty string when no call in this thread
 *  has failed. Successful calls do not clear it. The pointer is valid until the next voxtile call in this
 *  thread. Never NULL. Messages longer than 4 KiB are truncated here; vxt_context_last_error() keeps up to
 *  64 KiB (OpenCL build logs). */
VXT_API const char *vxt_last_error(void);

/* ===================================================================================================== */
/* Contexts and backends                                                                                  */
/* ===================================================================================================== */

/** Which backend a context uses. */
typedef enum vxt_backend {
    VXT_BACKEND_AUTO = 0,   /**< OpenCL when a device works and passes the probe, else the CPU backend. */
    VXT_BACKEND_OPENCL = 1, /**< An OpenCL device; fails if none is usable. */
    VXT_BACKEND_CPU = 2     /**< The multi-threaded CPU backend (always available). */
} vxt_backend;

/** "auto", "opencl", "cpu"; "unknown" for other values. Never NULL. */
VXT_API const char *vxt_backend_name(vxt_backend backend);

/** Parse "auto", "opencl" or "cpu" (case-insensitive). VXT_ERR_INVALID_ARGUMENT for anything else. */
VXT_API vxt_status vxt_backend_parse(const char *name, vxt_backend *out);

/** Context flag: accept an OpenCL device whose determinism probe disagrees with the CPU path (the
 *  disagreement is still reported in vxt_context_info.probe). Without it such a device is refused. */
#define VXT_CONTEXT_ALLOW_PROBE_MISMATCH 0x1u

/** Options for vxt_context_create(). Initialise with vxt_context_options_init(). */
typedef struct vxt_context_options {
    size_t struct_size;  /**< sizeof(vxt_context_options), set by vxt_context_options_init(). */
    vxt_backend backend; /**< Default VXT_BACKEND_AUTO. */
    /** OpenCL platform index (as listed by vxt_opencl_device_info / `voxtile info`); -1 (default) = any. */
    int platform_index;
    /** OpenCL device index: within the platform when platform_index >= 0, otherwise the global index over
     *  all platforms in enumeration order; -1 (default) = the first device that passes the probe. */
    int device_index;
    /** Case-insensitive substring that the device name must contain; NULL (default) = any. The string is
     *  only read during vxt_context_create(). */
    const char *device_name;
    /** Adopt the host application's OpenCL objects instead of creating our own. When cl_context is set,
     *  cl_device must be a device of it; cl_queue is optional (an in-order queue on that device; voxtile
     *  creates one when NULL). The objects are retained and released again by vxt_context_destroy(). The
     *  selection fields above are ignored then. Default NULL. */
    struct _cl_context *cl_context;
    struct _cl_device_id *cl_device;
    struct _cl_command_queue *cl_queue;
    /** Threads of the CPU backend (and of host-side work of the OpenCL backend); 0 (default) = all cores
     *  available to the process. At most 1024. */
    int cpu_threads;
    /** Directory for the on-disk cache of compiled OpenCL programs; NULL (default) = no disk cache. The
     *  directory must exist. Entries are keyed by library version, kernel source hash, build options,
     *  device, driver and platform version, and are written atomically (temporary file + rename). */
    const char *program_cache_dir;
    unsigned flags; /**< VXT_CONTEXT_* flags; default 0. */
} vxt_context_options;

/** Fill *opts with the defaults documented above and set struct_size. */
VXT_API void vxt_context_options_init(vxt_context_options *opts);

/** Result of the determinism probe run at context creation for an OpenCL device. */
typedef struct vxt_probe_report {
    int ran;             /**< 1 when a probe ran (OpenCL backend), 0 for the CPU backend. */
    int passed;          /**< 1 when every check gave the same bits on the device and the CPU path. */
    unsigned checks;     /**< Number of values compared. */
    unsigned mismatches; /**< Number of values that differed. */
    double seconds;      /**< Time spent (program build included). */
    char detail[512];    /**< One line per failing check group, or "all N values identical". */
} vxt_probe_report;

/** What a context ended up with. Set struct_size = sizeof(vxt_context_info) before the call. */
typedef struct vxt_context_info {
    size_t struct_size;
    vxt_backend backend;  /**< VXT_BACKEND_OPENCL or VXT_BACKEND_CPU, never AUTO. */
    int cpu_threads;      /**< Threads of the CPU thread pool. */
    int platform_index;   /**< -1 for the CPU backend or an adopted context. */
    int device_index;     /**< Index within the platform; -1 for the CPU backend or an adopted context. */
    int adopted;          /**< 1 when the OpenCL objects were supplied by the caller. */
    char device_name[256];     /**< OpenCL device name, or "cpu (N threads)". */
    char platform_name[256];   /**< OpenCL platform name, empty for the CPU backend. */
    char driver_version[128];  /**< OpenCL driver version, empty for the CPU backend. */
    char selection[1024];      /**< Why this backend and device were chosen, and what was rejected. */
    vxt_probe_report probe;    /**< The determinism probe of the chosen device. */
    int div_mode;              /**< 0: native correctly rounded fp32 divide/sqrt; 1: via fp64 (see docs). */
    unsigned programs_built;   /**< OpenCL programs compiled from source so far. */
    unsigned programs_from_disk; /**< OpenCL programs loaded from the on-disk cache so far. */
    char cache_note[256];      /**< Last on-disk cache problem (non-fatal), empty when none. */
} vxt_context_info;

/** An execution context: the chosen backend, its device or thread pool, compiled programs. */
typedef struct vxt_context vxt_context;

/**
 * Create a context. opts may be NULL for defaults (auto backend, all cores, no disk cache).
 *
 * With VXT_BACKEND_AUTO the OpenCL devices are tried in order (filtered by platform_index, device_index and
 * device_name); the first one whose program builds and whose determinism probe passes is used. When there is
 * no platform or no usable device, the CPU backend is used and vxt_context_info.selection says why.
 * VXT_BACKEND_OPENCL fails instead of falling back (VXT_ERR_NO_PLATFORM, VXT_ERR_NO_DEVICE, VXT_ERR_BUILD,
 * VXT_ERR_PROBE_MISMATCH). Errors: VXT_ERR_NULL (out), VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (unknown
 * backend, index out of range, thread count, missing cache directory), VXT_ERR_OUT_OF_MEMORY, VXT_ERR_THREAD.
 */
VXT_API vxt_status vxt_context_create(const vxt_context_options *opts, vxt_context **out);

/** Release a context and everything it owns (waits for its queued OpenCL work). NULL is ignored. */
VXT_API void vxt_context_destroy(vxt_context *ctx);

/** Describe the context: backend, device, selection reason, probe. info->struct_size must be set. */
VXT_API vxt_status vxt_context_get_info(const vxt_context *ctx, vxt_context_info *info);

/** The message of the most recent failure of a call on this context (from any thread), up to 64 KiB, e.g.
 *  a full OpenCL build log. Empty when none. Never NULL; "(null context)" for NULL. When several threads
 *  share a context, prefer vxt_last_error(), which is per thread. */
VXT_API const char *vxt_context_last_error(const vxt_context *ctx);

/** The OpenCL objects of an OpenCL context (borrowed: do not release them). Any output pointer may be NULL.
 *  VXT_ERR_STATE for a CPU context. */
VXT_API vxt_status vxt_context_cl_handles(const vxt_context *ctx, struct _cl_context **cl_context,
                                          struct _cl_device_id **cl_device,
                                          struct _cl_command_queue **cl_queue);

/* ===================================================================================================== */
/* OpenCL device enumeration (no context needed)                                                          */
/* ===================================================================================================== */

/** Floating-point capability bits of vxt_device_info.fp32_config (a subset of CL_DEVICE_SINGLE_FP_CONFIG). */
#define VXT_FP_DENORM 0x1u                 /**< denormals supported (not flushed) */
#define VXT_FP_INF_NAN 0x2u                /**< IEEE infinities and NaNs */
#define VXT_FP_ROUND_TO_NEAREST 0x4u       /**< round to nearest even */
#define VXT_FP_FMA 0x8u                    /**< fused multiply-add in hardware */
#define VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT 0x10u /**< -cl-fp32-correctly-rounded-divide-sqrt available */

/** One OpenCL device as enumerated on this machine. Set struct_size = sizeof(vxt_device_info). */
typedef struct vxt_device_info {
    size_t struct_size;
    int platform_index;
    int device_index;        /**< within the platform */
    int global_index;        /**< over all platforms, in enumeration order */
    char platform_name[256];
    char platform_version[256];
    char name[256];
    char vendor[256];
    char driver_version[128];
    char device_version[128];
    char opencl_c_version[128];
    int is_gpu;              /**< CL_DEVICE_TYPE_GPU */
    int is_cpu;              /**< CL_DEVICE_TYPE_CPU */
    unsigned compute_units;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes; /**< CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer */
    uint64_t local_mem_bytes;
    size_t max_work_group_size;
    unsigned fp32_config;    /**< VXT_FP_* bits */
    int fp64;                /**< double precision supported */
    int host_unified_memory; /**< device shares host memory */
} vxt_device_info;

/** Number of OpenCL devices over all platforms. 0 (and VXT_OK) when there is no platform or no device. */
VXT_API vxt_status vxt_opencl_device_count(size_t *count);

/** Describe device number `global_index` (0 .. count-1). VXT_ERR_INVALID_ARGUMENT when out of range. */
VXT_API vxt_status vxt_opencl_device_info(size_t global_index, vxt_device_info *info);

/* ===================================================================================================== */
/* Element types and volume views                                                                         */
/* ===================================================================================================== */

/** Element types of volumes. Values are stable. */
typedef enum vxt_dtype {
    VXT_DTYPE_INVALID = 0,
    VXT_DTYPE_U8 = 1,
    VXT_DTYPE_I8 = 2,
    VXT_DTYPE_U16 = 3,
    VXT_DTYPE_I16 = 4,
    VXT_DTYPE_U32 = 5,
    VXT_DTYPE_I32 = 6,
    VXT_DTYPE_U64 = 7,
    VXT_DTYPE_I64 = 8,
    VXT_DTYPE_F16 = 9, /**< IEEE binary16, stored as uint16_t bits */
    VXT_DTYPE_F32 = 10,
    VXT_DTYPE_F64 = 11
} vxt_dtype;

/** Bytes per element of `dtype`; 0 for an unknown value. */
VXT_API size_t vxt_dtype_size(vxt_dtype dtype);

/** NumPy's name of `dtype` ("uint8", "int16", "float32", ...); "invalid" for an unknown value. */
VXT_API const char *vxt_dtype_name(vxt_dtype dtype);

/** Parse a NumPy dtype name ("uint8", "int16", "float32", "float16", ...; case-insensitive).
 *  VXT_ERR_INVALID_ARGUMENT for anything else. */
VXT_API vxt_status vxt_dtype_parse(const char *name, vxt_dtype *out);

/**
 * A view of a contiguous volume in caller memory (voxtile never frees it). Layout is C order with the last
 * axis fastest: channel c, voxel (z, y, x) is element ((c*nz + z)*ny + y)*nx + x. Per-axis quantities
 * throughout the API (shape, spacing, ROI, overlap) are listed in this order: slowest axis first. A 2D image
 * is a volume with shape[0] = 1. For NIfTI images shape = (dim[3], dim[2], dim[1]), i.e. (k, j, i).
 */
typedef struct vxt_volume {
    void *data;
    vxt_dtype dtype;
    int64_t channels; /**< >= 1 */
    int64_t shape[3]; /**< nz, ny, nx; each >= 1 */
} vxt_volume;

/** Check a view (non-NULL data, known dtype, positive sizes) and compute its size in bytes without
 *  overflow. VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (names the field and value) or VXT_ERR_OVERFLOW. */
VXT_API vxt_status vxt_volume_bytes(const vxt_volume *volume, size_t *bytes);

/* ===================================================================================================== */
/* Tiling and stitching                                                                                   */
/* ===================================================================================================== */

/* ===================================================================================================== */
/* Preprocessing: intensity transforms, statistics, resampling, patches                                   */
/* ===================================================================================================== */

/* ===================================================================================================== */
/* NIfTI I/O and geometry                                                                                 */
/* ===================================================================================================== */

/*
 * A vxt_image owns the voxels of a NIfTI image together with the metadata of its header: geometry (qform,
 * sform, voxel sizes, units), scaling, description, intent, and the header extensions (kept, so that a
 * rewritten file carries them). Images are read from NIfTI-1 and NIfTI-2 files (.nii, .nii.gz, .hdr/.img
 * pairs, either byte order) or from memory, and written as .nii or .nii.gz to a path or to memory. No
 * function here needs a context, and none keeps state between calls: distinct images may be used from
 * distinct threads freely; one image may be read from several threads at once. docs/NIFTI.md has the rules.
 *
 * Two axis orders meet here; every per-axis array says which one it uses:
 *   - NIfTI order (i, j, k): the header's own arrays (dim[], pixdim[]), the affine, which maps the column
 *     vector (i, j, k, 1) to world coordinates in mm (RAS+: x grows to the subject's Right, y to Anterior,
 *     z to Superior, as NIfTI and nibabel define it), and the orientation code ("LPS": axis i points Left).
 *   - volume order (slowest axis first), as everywhere else in this API: vxt_volume.shape is
 *     (dim[3], dim[2], dim[1]) = (nk, nj, ni), and so are spacing and the shapes of the resampling helpers.
 *     The voxel bytes of an image are exactly NIfTI's on-disk voxel order (i fastest), byte-swapped to the
 *     host's order.
 */

/** Where the affine in use comes from, chosen as nibabel does: the sform when sform_code > 0, else the
 *  qform when qform_code > 0, else the pixdim-based fallback. Codes outside 0..5 count as 0, as in nibabel. */
typedef enum vxt_affine_source {
    VXT_AFFINE_FALLBACK = 0, /**< neither code is set: nibabel's fallback, diag(-pixdim[1], pixdim[2],
                                  pixdim[3]) centred on the volume (see docs/NIFTI.md) */
    VXT_AFFINE_SFORM = 1,    /**< srow_x, srow_y, srow_z */
    VXT_AFFINE_QFORM = 2     /**< quaternion, qoffset, pixdim[1..3] and qfac, decoded per the NIfTI spec */
} vxt_affine_source;

/** "sform", "qform" or "fallback"; "unknown" for other values. Never NULL. */
VXT_API const char *vxt_affine_source_name(vxt_affine_source source);

/** NIfTI xform codes (qform_code, sform_code). */
#define VXT_NIFTI_XFORM_UNKNOWN 0
#define VXT_NIFTI_XFORM_SCANNER_ANAT 1
#define VXT_NIFTI_XFORM_ALIGNED_ANAT 2
#define VXT_NIFTI_XFORM_TALAIRACH 3
#define VXT_NIFTI_XFORM_MNI_152 4
#define VXT_NIFTI_XFORM_TEMPLATE_OTHER 5

/** Name of an xform code: "unknown", "scanner", "aligned", "talairach", "mni", "template"; "invalid" for
 *  other values. Never NULL. */
VXT_API const char *vxt_nifti_xform_name(int code);

/** NIfTI units (xyzt_units = spatial | temporal). */
#define VXT_NIFTI_UNITS_UNKNOWN 0
#define VXT_NIFTI_UNITS_METER 1
#define VXT_NIFTI_UNITS_MM 2
#define VXT_NIFTI_UNITS_MICRON 3
#define VXT_NIFTI_UNITS_SEC 8
#define VXT_NIFTI_UNITS_MSEC 16
#define VXT_NIFTI_UNITS_USEC 24
#define VXT_NIFTI_UNITS_HZ 32
#define VXT_NIFTI_UNITS_PPM 40
#define VXT_NIFTI_UNITS_RADS 48

/** Name of the spatial (xyzt_units & 7) or temporal (xyzt_units & 56) part of a units code: "unknown", "m",
 *  "mm", "um", "s", "ms", "us", "Hz", "ppm", "rad/s"; "invalid" for other values. Never NULL. */
VXT_API const char *vxt_nifti_units_name(int units);

/** NIfTI datatype code -> name: "uint8", "int16", ..., "complex64", "RGB24", ...; "invalid" for codes that
 *  are not NIfTI datatypes. Never NULL. */
VXT_API const char *vxt_nifti_datatype_name(int datatype);

/**
 * The geometry of an image: where its voxels are in the world. Initialise with vxt_geometry_init() (or get
 * it from vxt_image_get_geometry()). The "stored" fields are what a NIfTI header holds and what
 * vxt_image_set_geometry() takes; the "derived" fields are computed from them by the library and ignored on
 * input.
 */
typedef struct vxt_geometry {
    size_t struct_size; /**< sizeof(vxt_geometry), set by vxt_geometry_init() */
    /* ---- stored ---- */
    int qform_code;     /**< VXT_NIFTI_XFORM_*; 0: the qform is not used */
    int sform_code;     /**< VXT_NIFTI_XFORM_*; 0: the sform is not used */
    double quatern[3];  /**< quatern_b, quatern_c, quatern_d */
    double qoffset[3];  /**< qoffset_x, qoffset_y, qoffset_z (mm) */
    /** NIfTI order: pixdim[0] = qfac (its sign selects a left-handed qform), pixdim[1..3] = voxel sizes
     *  along i, j, k, pixdim[4] = time step, pixdim[5..7] others. */
    double pixdim[8];
    double srow[3][4];  /**< srow_x, srow_y, srow_z: the sform's rows */
    int xyzt_units;     /**< VXT_NIFTI_UNITS_* spatial | temporal; the affine is never rescaled for units */
    /* ---- derived ---- */
    double qform[4][4];  /**< the qform's matrix, decoded per the NIfTI spec whatever qform_code is */
    double sform[4][4];  /**< srow as a 4x4 matrix */
    double affine[4][4]; /**< the affine in use: maps (i, j, k, 1) to world mm (RAS+) */
    vxt_affine_source affine_source; /**< which matrix `affine` is */
    double spacing[3];   /**< voxel sizes in volume order (k, j, i): lengths of affine columns 2, 1, 0 */
    /** Axis codes of the affine in use in NIfTI order (i, j, k), e.g. "RAS" or "LPS"; nibabel's aff2axcodes
     *  (the closest orthogonal matrix's largest component per axis). '?' for an axis whose column is 0. */
    char orientation[4];
} vxt_geometry;

/** Identity geometry: both codes 0, quaternion 0, pixdim all 1 (qfac 1), srow = identity, units 0; derived
 *  fields computed for a 1 x 1 x 1 grid (affine_source VXT_AFFINE_FALLBACK). Sets struct_size. NULL is
 *  ignored. */
VXT_API void vxt_geometry_init(vxt_geometry *geom);

/**
 * Geometry with `affine` (16 doubles, row-major: affine[4 * row + col], e.g. &geom.affine[0][0]) as both its
 * sform and its qform, each with `code` (1..5), as nibabel's set_sform(affine, code) and
 * set_qform(affine, code) do: the qform keeps the affine's translation, its column lengths become
 * pixdim[1..3], the sign of its determinant becomes qfac, and its rotation is the closest orthogonal matrix
 * to the normalised columns (shears cannot be represented by a qform and are dropped there; the sform keeps
 * them). pixdim[4..7] = 1, xyzt_units = mm. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE (out->struct_size
 * must be set), VXT_ERR_INVALID_ARGUMENT (code out of range, a non-finite element, last row not
 * (0, 0, 0, 1), a zero column or a singular matrix).
 */
VXT_API vxt_status vxt_geometry_from_affine(const double *affine, int code, vxt_geometry *out);

/** Axis codes of any affine (16 doubles, row-major), as vxt_geometry.orientation: code[0..2] for i, j, k,
 *  code[3] = '\0'. Errors: VXT_ERR_NULL. */
VXT_API vxt_status vxt_affine_orientation(const double *affine, char code[4]);

/** How a resampled grid sits on the original one (docs/NIFTI.md "Resampled grids"). The values are those of
 *  the preprocessing resampler's half-pixel and corner grids, so one setting can drive both. */
typedef enum vxt_grid_align {
    /** Same field of view, outer voxel edges aligned (torch align_corners=False, scipy zoom(grid_mode=True),
     *  nnU-Net): new voxel n is centred at old voxel coordinate (n + 0.5) * in/out - 0.5. */
    VXT_ALIGN_HALF_PIXEL = 0,
    /** First and last voxel centres aligned (torch align_corners=True, scipy zoom's default): new voxel n
     *  is at old coordinate n * (in - 1)/(out - 1); an axis of 1 output voxel keeps voxel 0's centre and
     *  takes the scale in/out; an axis of 1 input voxel cannot be spread over more (refused). */
    VXT_ALIGN_CORNERS = 1
} vxt_grid_align;

/**
 * Geometry of a grid resampled from `in_shape` to `out_shape` (volume order: k, j, i) over the same field
 * of view: each affine column is scaled by the old-to-new voxel size ratio and the origin moves to the new
 * first voxel's centre under `align`. Both the sform and the qform are transformed (the quaternion is
 * kept, pixdim[1..3] and qoffset change), so codes keep their meaning; a geometry with both codes 0 gets its
 * transformed fallback affine as an sform with code 2 ("aligned"), as nibabel stores an uncoded affine.
 * Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (a shape entry < 1, unknown align,
 * VXT_ALIGN_CORNERS spreading an axis of 1 voxel, a non-finite stored field).
 */
VXT_API vxt_status vxt_geometry_resize(const vxt_geometry *in, const int64_t in_shape[3], const int64_t out_shape[3],
                                       vxt_grid_align align, vxt_geometry *out);

/**
 * Geometry of a grid with voxel sizes `spacing` (volume order: k, j, i; mm, > 0) that keeps the first
 * voxel's centre and the axis directions, as SimpleITK/ITK resampling to a new spacing does (the caller
 * chooses the new shape, e.g. nnU-Net's round(old_spacing / new_spacing * old_shape)). `in_shape` (volume
 * order) is the grid of `in` (it places the fallback affine). Both forms are transformed as in
 * vxt_geometry_resize() and pixdim[1..3] become `spacing`. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE,
 * VXT_ERR_INVALID_ARGUMENT (spacing not finite and > 0, a shape entry < 1, an affine column of length 0).
 */
VXT_API vxt_status vxt_geometry_respace(const vxt_geometry *in, const int64_t in_shape[3], const double spacing[3],
                                        vxt_geometry *out);

/** An image: voxels plus NIfTI metadata. */
typedef struct vxt_image vxt_image;

/** What vxt_image_read_* hands back as voxel values. */
typedef enum vxt_nifti_scaling {
    /** float32 when the header's scaling applies (scl_slope finite and non-zero) and is not the identity
     *  (slope 1, intercept 0), else the stored type. The values are then always the ones the file means
     *  (e.g. Hounsfield units), in the narrowest type that holds them, as nibabel's dataobj gives them. */
    VXT_NIFTI_SCALING_AUTO = 0,
    /** The stored values in the stored type; scl_slope/scl_inter are only reported (and rewritten). */
    VXT_NIFTI_SCALING_RAW = 1,
    /** Always float32: (float)raw * (float)scl_slope, then + (float)scl_inter, each rounded to float32 (a
     *  multiply by 1 and an add of 0 are skipped, as nibabel skips them), when the scaling applies;
     *  (float)raw otherwise. Equal to nibabel's float32 scaling for 8- and 16-bit types. */
    VXT_NIFTI_SCALING_FLOAT32 = 2
} vxt_nifti_scaling;

/** vxt_nifti_read_options.volume: read every volume of a 4D (or higher) file, as the channels of the
 *  image: channel c is volume c (dimensions 4..7 flattened, dim[4] fastest). */
#define VXT_NIFTI_ALL_VOLUMES (-1)

/** vxt_nifti_read_options.flags: read and check the header and the extensions only; the image has no
 *  voxels (vxt_image_volume() fails with VXT_ERR_STATE) and the data is neither read nor checked. */
#define VXT_NIFTI_HEADER_ONLY 0x1u

/** Options for vxt_image_read_file() and vxt_image_read_memory(). Initialise with
 *  vxt_nifti_read_options_init(). */
typedef struct vxt_nifti_read_options {
    size_t struct_size;        /**< set by vxt_nifti_read_options_init() */
    vxt_nifti_scaling scaling; /**< default VXT_NIFTI_SCALING_AUTO */
    /** Which 3D volume of a file with more than 3 dimensions to read (0-based, over dimensions 4..7
     *  flattened with dim[4] fastest), or VXT_NIFTI_ALL_VOLUMES (default) for all of them as channels. */
    int64_t volume;
    /** Refuse images whose voxel data plus extensions need more than this many bytes in memory (with
     *  VXT_ERR_OUT_OF_MEMORY, before allocating); 0 (default) = no limit. For servers that read untrusted
     *  files. A compressed file is read whole for faster decompression only when its bytes fit the limit
     *  too (and its size is plausible for its header); otherwise it is streamed. */
    uint64_t max_bytes;
    unsigned flags; /**< VXT_NIFTI_* read flags; default 0 */
} vxt_nifti_read_options;

/** Fill *opts with the defaults documented above and set struct_size. */
VXT_API void vxt_nifti_read_options_init(vxt_nifti_read_options *opts);

/**
 * Read a NIfTI image from a file. Accepted: single files (.nii, magic "n+1"/"n+2"), compressed or not (gzip
 * is recognised by its magic bytes, whatever the name), and pairs (magic "ni1"/"ni2"): `path` names the
 * .hdr (or .hdr.gz) and the data is read from the .img (or .img.gz) beside it; naming the .img reads its
 * .hdr. opts may be NULL for defaults. On success *out owns the voxels (16-byte aligned) and the metadata.
 *
 * Errors (the message names the file and the offending field and value): VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE,
 * VXT_ERR_INVALID_ARGUMENT (options: unknown scaling or flags, volume < -1 or beyond the file's volumes),
 * VXT_ERR_IO (cannot open or read), VXT_ERR_TRUNCATED (header, extensions or data end early),
 * VXT_ERR_FORMAT (sizeof_hdr, magic, dim, bitpix, vox_offset (also 0 in a single file, where the tools
 * disagree), extension sizes, scl_inter, corrupt gzip stream, non-finite geometry in use), VXT_ERR_UNSUPPORTED (RGB, complex, binary and float128 datatypes;
 * ANALYZE 7.5), VXT_ERR_OVERFLOW (dims whose size product overflows), VXT_ERR_OUT_OF_MEMORY (also above
 * max_bytes). *out is NULL on failure.
 */
VXT_API vxt_status vxt_image_read_file(const char *path, const vxt_nifti_read_options *opts, vxt_image **out);

/**
 * Read a single-file NIfTI image (.nii bytes, or .nii.gz bytes recognised by the gzip magic) from memory.
 * `data` is only read during the call (the image copies what it keeps). Pairs (magic "ni1"/"ni2") are
 * refused with VXT_ERR_UNSUPPORTED. Other errors as vxt_image_read_file(), with "memory" for the file name.
 */
VXT_API vxt_status vxt_image_read_memory(const void *data, size_t size, const vxt_nifti_read_options *opts,
                                         vxt_image **out);

/**
 * Create an image of `channels` x `shape` (volume order: nk, nj, ni) voxels of `dtype`, filled with zeros.
 * With `reference` NULL, its geometry is vxt_geometry_init()'s (set it with vxt_image_set_geometry());
 * otherwise it takes the reference's geometry: both the qform and the sform with their codes, pixdim[0..3]
 * and the spatial units; and its NIfTI version (so that a NIfTI-2 reference's double-precision geometry is
 * kept). Nothing else is copied (no description, intent, scaling or extensions). The reference's shape must
 * equal `shape` (derive a new geometry with vxt_geometry_resize() for another grid). channels > 1 is written
 * as a 4D file with dim[4] = channels. scl_slope = 1, scl_inter = 0. Errors: VXT_ERR_NULL (out),
 * VXT_ERR_INVALID_ARGUMENT (unknown dtype, channels or a shape entry < 1), VXT_ERR_UNSUPPORTED (float16 has
 * no NIfTI datatype), VXT_ERR_SHAPE_MISMATCH (shape differs from the reference's), VXT_ERR_OVERFLOW,
 * VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_image_create(vxt_dtype dtype, int64_t channels, const int64_t shape[3],
                                    const vxt_image *reference, vxt_image **out);

/** Release an image and its voxels. NULL is ignored. Views from vxt_image_volume() die with it. */
VXT_API void vxt_image_destroy(vxt_image *img);

/** A view of the image's voxels (owned by the image, writable, valid until vxt_image_destroy()). Errors:
 *  VXT_ERR_NULL, VXT_ERR_STATE (read with VXT_NIFTI_HEADER_ONLY). */
VXT_API vxt_status vxt_image_volume(const vxt_image *img, vxt_volume *view);

/** What an image holds besides its voxels and geometry. Set struct_size = sizeof(vxt_image_info) before
 *  calling vxt_image_get_info(). NIfTI-1 values are widened exactly (int16 -> int64, float -> double). */
typedef struct vxt_image_info {
    size_t struct_size;
    int nifti_version;      /**< 1 or 2: the file's, or the one vxt_image_write_*() writes by default */
    int big_endian;         /**< 1 when the file was big-endian (0 for created images) */
    int compressed;         /**< 1 when the file (or its data file) was gzip-compressed */
    int single_file;        /**< 1 for magic "n+1"/"n+2", 0 for a .hdr/.img pair */
    int datatype;           /**< NIfTI datatype code of the stored values */
    int bitpix;             /**< bits per stored value */
    vxt_dtype stored_dtype; /**< element type of the stored values */
    vxt_dtype dtype;        /**< element type of the voxels the image holds (float32 when scaled) */
    int scaled;             /**< 1 when scl_slope/scl_inter were applied while reading */
    /** NIfTI order: dim[0] = number of dimensions, dim[1..dim[0]] = sizes as in the file (dim[4..] = 1 and
     *  dim[0] <= 3 when one volume was selected); entries beyond dim[0] are 1. */
    int64_t dim[8];
    int64_t channels;       /**< = vxt_volume.channels */
    int64_t shape[3];       /**< = vxt_volume.shape (volume order) */
    int64_t volumes;        /**< 3D volumes in the file: product of dim[4..dim[0]] */
    int64_t volume_index;   /**< the volume read, or VXT_NIFTI_ALL_VOLUMES */
    int has_data;           /**< 0 when read with VXT_NIFTI_HEADER_ONLY */
    int64_t vox_offset;     /**< byte offset of the voxels in the (data) file, as used */
    double scl_slope, scl_inter; /**< as stored (1 and 0 for created images) */
    double cal_min, cal_max;
    int intent_code;
    double intent_p[3];
    char intent_name[17];
    char descrip[81];       /**< the description, up to its first NUL */
    char aux_file[25];
    int dim_info;           /**< freq_dim | phase_dim << 2 | slice_dim << 4 */
    int slice_code;
    int64_t slice_start, slice_end;
    double slice_duration, toffset;
    size_t extension_count; /**< header extensions kept (see vxt_image_get_extension()) */
} vxt_image_info;

/** Describe an image. info->struct_size must be set. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_image_get_info(const vxt_image *img, vxt_image_info *info);

/** The image's geometry (stored and derived fields). geom->struct_size must be set. Errors: VXT_ERR_NULL,
 *  VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_image_get_geometry(const vxt_image *img, vxt_geometry *geom);

/**
 * Replace the image's geometry with the stored fields of *geom (the derived ones are recomputed). As when
 * reading, a quaternion whose b^2 + c^2 + d^2 exceeds 1 is normalised (NIfTI spec) and voxel sizes
 * pixdim[1..3] of 0 or below count as 1 or their absolute value (nibabel). Errors: VXT_ERR_NULL,
 * VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (a code outside 0..5, a non-finite value, xyzt_units outside
 * 0..255); the image is unchanged on error.
 */
VXT_API vxt_status vxt_image_set_geometry(vxt_image *img, const vxt_geometry *geom);

/** Set the description (descrip): at most 79 bytes are kept. Errors: VXT_ERR_NULL. */
VXT_API vxt_status vxt_image_set_description(vxt_image *img, const char *text);

/** Set the intent: a NIfTI intent code (e.g. 1002 for labels), its name (at most 15 bytes kept; NULL for
 *  none) and parameters (NULL for zeros). Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (code outside
 *  -32768..32767, non-finite parameters). */
VXT_API vxt_status vxt_image_set_intent(vxt_image *img, int code, const char *name, const double params[3]);

/** Set the scl_slope and scl_inter written with the voxels (the voxels themselves are not changed). slope 0
 *  means "no scaling". Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (non-finite values, or a scaling on
 *  an image whose voxels were already scaled while reading). */
VXT_API vxt_status vxt_image_set_scaling(vxt_image *img, double slope, double inter);

/** Number of header extensions the image carries. 0 for NULL. */
VXT_API size_t vxt_image_extension_count(const vxt_image *img);

/** Extension `index` (0-based, in file order): its NIfTI ecode and its content (the esize - 8 bytes after
 *  esize and ecode, zero padding included; borrowed, valid until the image is destroyed). Any output
 *  pointer may be NULL. Errors: VXT_ERR_NULL (img), VXT_ERR_INVALID_ARGUMENT (index out of range). */
VXT_API vxt_status vxt_image_get_extension(const vxt_image *img, size_t index, int *ecode, const void **data,
                                           size_t *size);

/** Append a header extension (copied; written padded with zeros to a multiple of 16 bytes). Errors:
 *  VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (size over 2^31 - 32), VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_image_add_extension(vxt_image *img, int ecode, const void *data, size_t size);

/**
 * Reorient an image to `target` axis codes ("RAS" when NULL; any three distinct letters, one of R/L, one of
 * A/P, one of S/I, e.g. "LPS") by permuting and flipping voxel axes: exact, no interpolation. The target
 * describes NIfTI order (i, j, k). The new image's affine maps its voxels to the same world points as
 * before: the voxel permutation is applied to both the sform and the qform (codes kept; when both codes are
 * 0 the new affine is stored as an sform with code 2, "aligned", as nibabel does), and to dim_info and
 * pixdim[1..3]. Axes are matched to world axes by vxt_geometry.orientation, so an oblique affine stays
 * oblique; rotations that are not axis permutations need resampling (out of this API's scope). Channels
 * are reoriented alike. Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (target not a valid code),
 * VXT_ERR_STATE (no voxels, or an axis whose orientation is undetermined), VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_image_reorient(const vxt_image *img, const char *target, vxt_image **out);

/** Options for vxt_image_write_file() and vxt_image_write_memory(). Initialise with
 *  vxt_nifti_write_options_init(). */
typedef struct vxt_nifti_write_options {
    size_t struct_size;
    /** 1 or 2 to force NIfTI-1 or NIfTI-2; 0 (default): the image's version (vxt_image_info.nifti_version),
     *  or NIfTI-2 when a value does not fit a NIfTI-1 header (a dim above 32767). */
    int nifti_version;
    /** gzip compression level 1 (fastest) .. 9 (smallest), or 0 for stored blocks; default 6. */
    int compression_level;
    /** vxt_image_write_memory() only: 1 for .nii.gz bytes, 0 (default) for .nii bytes. Paths are compressed
     *  by their extension instead. */
    int gzip;
} vxt_nifti_write_options;

/** Fill *opts with the defaults documented above and set struct_size. */
VXT_API void vxt_nifti_write_options_init(vxt_nifti_write_options *opts);

/**
 * Write the image as a single-file NIfTI: .nii, or gzip-compressed when `path` ends in ".nii.gz"
 * (case-insensitive); other names are refused. The header carries the image's metadata and geometry and its
 * extensions; values are written in the host's byte order with vox_offset 352 (NIfTI-1) or 544 (NIfTI-2)
 * plus the extensions. The file is written to a new temporary file in the same directory, flushed to disk
 * and renamed over `path`: on any failure no partial output remains and an existing file at `path` is
 * untouched. opts may be NULL for defaults. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE,
 * VXT_ERR_INVALID_ARGUMENT (extension, options, a value that does not fit a forced NIfTI-1 header),
 * VXT_ERR_STATE (no voxels), VXT_ERR_IO (the directory is not writable, the disk is full: the message has
 * the path and the system's reason), VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_image_write_file(const vxt_image *img, const char *path, const vxt_nifti_write_options *opts);

/**
 * Write the image as .nii (or, with opts->gzip, .nii.gz) bytes into a new buffer: *data (release it with
 * vxt_buffer_free()) and *size. Errors as vxt_image_write_file(), without VXT_ERR_IO; *data is NULL and
 * *size 0 on failure.
 */
VXT_API vxt_status vxt_image_write_memory(const vxt_image *img, const vxt_nifti_write_options *opts, void **data,
                                          size_t *size);

/** Release a buffer that voxtile allocated for the caller (vxt_image_write_memory()). NULL is ignored. */
VXT_API void vxt_buffer_free(void *data);

#ifdef __cplusplus
}
#endif

#endif /* VOXTILE_H */
