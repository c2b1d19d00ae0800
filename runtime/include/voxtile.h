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

#ifdef __cplusplus
}
#endif

#endif /* VOXTILE_H */
