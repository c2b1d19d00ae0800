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
 *     z*ny*nx + y*nx + x. Sizes are 64-bit. Every per-axis quantity (shape, spacing, ROI, overlap, ...) is listed
 *     in this order, slowest axis first: (z, y, x). For a NIfTI image that is (k, j, i).
 *   - Every enum has an X-macro table (VXT_<ENUM>_MAP) with its constants, values and names, and a pair
 *     vxt_<enum>_name() / vxt_<enum>_parse() that converts between values and those names. The names are the
 *     ones plan files and the `voxtile` tool use (docs/PLAN.md): one vocabulary everywhere.
 *
 * Audiences: this header is for programs that use the library. Model plugins include only voxtile_plugin.h
 * (included here too: element types, tiles, batches).
 */
#ifndef VOXTILE_H
#define VOXTILE_H

#include <stddef.h>
#include <stdint.h>

#include "voxtile_plugin.h"

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

/* ===================================================================================================== */
/* Version                                                                                                */
/* ===================================================================================================== */

#define VXT_VERSION_MAJOR 0
#define VXT_VERSION_MINOR 2
#define VXT_VERSION_PATCH 0
/** Version as one number: major*10000 + minor*100 + patch. */
#define VXT_VERSION_NUMBER (VXT_VERSION_MAJOR * 10000 + VXT_VERSION_MINOR * 100 + VXT_VERSION_PATCH)
#define VXT_VERSION_STRING "0.2.0"

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
    X(VXT_ERR_INTERNAL, 21, "internal error (a bug in voxtile)")                                             \
    X(VXT_ERR_MEMORY_LIMIT, 22, "the work needs more memory than the limit it was given")

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

/** Parse a status name ("VXT_ERR_IO", case-insensitive). VXT_ERR_INVALID_ARGUMENT for anything else. */
VXT_API vxt_status vxt_status_parse(const char *name, vxt_status *out);

/** The message of the most recent failure of a voxtile call made by the calling thread, with details (the
 *  offending parameter and its value, the OpenCL error name, ...). Empty string when no call in this thread
 *  has failed. Successful calls do not clear it. The pointer is valid until the next voxtile call in this
 *  thread. Never NULL. Messages longer than 4 KiB are truncated here; vxt_context_last_error() keeps up to
 *  64 KiB (OpenCL build logs). */
VXT_API const char *vxt_last_error(void);

/* ===================================================================================================== */
/* Contexts and backends                                                                                  */
/* ===================================================================================================== */

/** X-macro table of backends (constant, value, name). */
#define VXT_BACKEND_MAP(X)                                                                                     \
    /* the fastest correct backend: an OpenCL GPU or accelerator that passes the determinism probe, else the  \
     * CPU backend. OpenCL devices made of the host's own cores (PoCL) are not chosen: the CPU backend gives   \
     * the same bits faster, in less memory. Naming a device (device_index, device_name) makes it eligible. */ \
    X(VXT_BACKEND_AUTO, 0, "auto")                                                                             \
    X(VXT_BACKEND_OPENCL, 1, "opencl") /* an OpenCL device, CPU devices included; fails if none is usable */   \
    X(VXT_BACKEND_CPU, 2, "cpu")       /* the multi-threaded CPU backend (always available) */

/** Which backend a context uses. */
typedef enum vxt_backend {
#define VXT_ENUM_MEMBER_(name, value, text) name = value,
    VXT_BACKEND_MAP(VXT_ENUM_MEMBER_) VXT_BACKEND_COUNT_
} vxt_backend;

/** The name of a backend ("auto", "opencl", "cpu"); "unknown" for other values. Never NULL. */
VXT_API const char *vxt_backend_name(vxt_backend backend);

/** Parse a backend name (case-insensitive). VXT_ERR_INVALID_ARGUMENT for anything else, with a message that
 *  lists the names. */
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
    /** Large host buffers released by a run (accumulators, staging) are kept, up to this many bytes, for the next
     *  run to reuse: fresh memory costs a page fault per page on first touch, which on this project's 2-core VM is
     *  slower than the arithmetic that follows. Default 4 GiB (the accumulator of a 1024 x 1024 x 512 volume with 8
     *  classes and ROI 128 is 2.1 GiB); 0 keeps none.
     *  vxt_context_trim() releases them at any time. */
    size_t workspace_cache_bytes;
    /* added in 0.3.0 (callers built with the earlier layout get the default) */
    /** The largest OpenCL buffer voxtile makes, below the device's own limit (CL_DEVICE_MAX_MEM_ALLOC_SIZE): to
     *  leave a shared GPU's memory to others. 0 (default): the device's limit. A stage that needs more fails
     *  (VXT_BACKEND_OPENCL) or runs on the CPU instead (VXT_BACKEND_AUTO; see vxt_pipeline_run). */
    uint64_t device_max_alloc;
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
 * With VXT_BACKEND_AUTO the OpenCL GPUs and accelerators are tried in order (filtered by platform_index,
 * device_index and device_name); the first one whose program builds and whose determinism probe passes is used.
 * OpenCL devices of type CPU (PoCL: the host's own cores) are passed over unless device_index or device_name
 * names them, because the CPU backend computes the same bits faster and in less memory. When no device is
 * chosen, the CPU backend is used; vxt_context_info.selection says why, device by device.
 * VXT_BACKEND_OPENCL fails instead of falling back (VXT_ERR_NO_PLATFORM, VXT_ERR_NO_DEVICE, VXT_ERR_BUILD,
 * VXT_ERR_PROBE_MISMATCH). Errors: VXT_ERR_NULL (out), VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (unknown
 * backend, index out of range, thread count, missing cache directory), VXT_ERR_OUT_OF_MEMORY, VXT_ERR_THREAD.
 */
VXT_API vxt_status vxt_context_create(const vxt_context_options *opts, vxt_context **out);

/** Release a context and everything it owns (waits for its queued OpenCL work). NULL is ignored. */
VXT_API void vxt_context_destroy(vxt_context *ctx);

/** Give back the host buffers the context keeps for reuse between runs (see workspace_cache_bytes). */
VXT_API vxt_status vxt_context_trim(vxt_context *ctx);

/** Describe the context: backend, device, selection reason, probe. info->struct_size must be set. */
VXT_API vxt_status vxt_context_get_info(const vxt_context *ctx, vxt_context_info *info);

/** The message of the most recent failure of a call on this context (from any thread), up to 64 KiB, e.g.
 *  a full OpenCL build log. Empty when none. Never NULL; "(null context)" for NULL. The buffer is rewritten in
 *  place by the next failing call on the context: while other threads may be using the context, reading it is a
 *  data race (ThreadSanitizer reports it), so read it only when no other thread uses the context (after joining
 *  them), and otherwise use vxt_last_error(), which is per thread. */
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

/* vxt_dtype (VXT_DTYPE_MAP) is declared in voxtile_plugin.h, which models share. */

/** Bytes per element of `dtype`; 0 for an unknown value. */
VXT_API size_t vxt_dtype_size(vxt_dtype dtype);

/** NumPy's name of `dtype` ("uint8", "int16", "float32", ...); "unknown" for an unknown value. */
VXT_API const char *vxt_dtype_name(vxt_dtype dtype);

/** Parse a NumPy dtype name ("uint8", "int16", "float32", "float16", ...; case-insensitive; "invalid" is not
 *  accepted). VXT_ERR_INVALID_ARGUMENT for anything else. */
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

/* ---- tilings ---------------------------------------------------------------------------------------- */

/** X-macro table of tile placements: how tile start positions are chosen along each axis (docs/STITCHING.md
 *  gives the formulas). Every placement covers every voxel; tiles are visited with axis 0 (z) outermost and the
 *  last axis fastest. */
#define VXT_GRID_MAP(X)                                                                                        \
    /* MONAI sliding_window_inference: interval (int)(roi*(1-overlap)) (at least 1; roi when roi == size),     \
     * starts d*interval, the last one moved to size-roi (never duplicated) */                                 \
    X(VXT_GRID_MONAI, 0, "monai")                                                                              \
    /* nnU-Net v2: n = ceil((size-roi)/(roi*step)) + 1 tiles, starts round_half_even(i*(size-roi)/(n-1)) */    \
    X(VXT_GRID_NNUNET, 1, "nnunet")                                                                            \
    /* TorchIO GridSampler: overlap in voxels, step roi-overlap, a last tile flush with the end */             \
    X(VXT_GRID_VOXELS, 2, "voxels")

/** Tile placement. */
typedef enum vxt_grid { VXT_GRID_MAP(VXT_ENUM_MEMBER_) VXT_GRID_COUNT_ } vxt_grid;

/** The name of a tile placement ("monai", "nnunet", "voxels"); "unknown" for other values. */
VXT_API const char *vxt_grid_name(vxt_grid grid);

/** Parse a tile placement name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_grid_parse(const char *name, vxt_grid *out);

/** What fills a tile where the volume is smaller than the ROI (the volume is padded by d = roi - size on
 *  that axis: d/2 low, d - d/2 high, and the result is cropped back). */
#define VXT_PAD_MAP(X)                                                                                         \
    X(VXT_PAD_CONSTANT, 0, "constant")   /* pad_value */                                                       \
    X(VXT_PAD_REPLICATE, 1, "replicate") /* nearest edge voxel */                                              \
    X(VXT_PAD_REFLECT, 2, "reflect")     /* mirror without repeating the edge (torch "reflect"), repeated */   \
    X(VXT_PAD_DISABLED, 3, "none")       /* a ROI larger than the volume is an error */

typedef enum vxt_pad { VXT_PAD_MAP(VXT_ENUM_MEMBER_) VXT_PAD_COUNT_ } vxt_pad;

/** The name of a padding mode ("constant", "replicate", "reflect", "none"); "unknown" for other values. */
VXT_API const char *vxt_pad_name(vxt_pad pad);

/** Parse a padding mode name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_pad_parse(const char *name, vxt_pad *out);

/** Options of vxt_tiling_create(). Initialise with vxt_tiling_options_init(). Per-axis arrays: z, y, x. */
typedef struct vxt_tiling_options {
    size_t struct_size;
    int64_t shape[3];          /**< volume size (required, each >= 1; 2D image: shape[0] = 1) */
    int64_t roi[3];            /**< tile size (required, each >= 1; 2D: roi[0] = 1) */
    vxt_grid grid;             /**< default VXT_GRID_MONAI */
    double overlap[3];         /**< VXT_GRID_MONAI: fraction in [0, 1); default 0.5 */
    double step[3];            /**< VXT_GRID_NNUNET: step as a fraction of the ROI, in (0, 1]; default 0.5 */
    int64_t overlap_voxels[3]; /**< VXT_GRID_VOXELS: overlap in voxels, in [0, roi); default 0 */
    vxt_pad pad;               /**< default VXT_PAD_CONSTANT */
    float pad_value;           /**< default 0 */
} vxt_tiling_options;

/** Fill *opts with the defaults above (shape and roi zero: they must be set). The defaults are those of plans
 *  (vxt_plan_create) and of every command of the `voxtile` tool. */
VXT_API void vxt_tiling_options_init(vxt_tiling_options *opts);

/** A tiling: which tiles cover a volume, in which order. Immutable once created; may be shared by threads and
 *  by several sessions. Needs no context: tiling is pure host arithmetic (64-bit). */
typedef struct vxt_tiling vxt_tiling;

/** Place the tiles for opts. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (shape or ROI
 *  < 1, overlap outside [0, 1) or NaN, step outside (0, 1], overlap_voxels outside [0, roi), ROI larger than
 *  the volume with VXT_PAD_DISABLED, unknown grid or pad), VXT_ERR_OVERFLOW (the tile count or the padded
 *  volume does not fit 64 bits), VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_tiling_create(const vxt_tiling_options *opts, vxt_tiling **out);

/** Release a tiling. NULL is ignored. A tiling must outlive the sessions that use it. */
VXT_API void vxt_tiling_destroy(vxt_tiling *tiling);

/** Summary of a tiling. Set struct_size = sizeof(vxt_tiling_info). */
typedef struct vxt_tiling_info {
    size_t struct_size;
    int64_t shape[3];        /**< the volume */
    int64_t roi[3];
    int64_t padded_shape[3]; /**< max(shape, roi) per axis: the grid tiles are placed on */
    int64_t pad_lo[3];       /**< padding before the volume on each axis (padded = volume + pad_lo) */
    int64_t pad_hi[3];
    int64_t tiles_per_axis[3];
    uint64_t tile_count;     /**< product of tiles_per_axis */
    vxt_grid grid;
    vxt_pad pad;
    float pad_value;
} vxt_tiling_info;

/** Describe a tiling. info->struct_size must be set. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_tiling_get_info(const vxt_tiling *tiling, vxt_tiling_info *info);

/* vxt_tile (one tile and its box) is declared in voxtile_plugin.h. */

/** Tile number `index` (0 .. tile_count-1) in tiling order. VXT_ERR_INVALID_ARGUMENT when out of range. */
VXT_API vxt_status vxt_tiling_get_tile(const vxt_tiling *tiling, uint64_t index, vxt_tile *tile);

/** The sorted start positions (padded coordinates) along `axis` (0..2); *starts stays owned by the tiling. */
VXT_API vxt_status vxt_tiling_axis_starts(const vxt_tiling *tiling, int axis, const int64_t **starts,
                                          int64_t *count);

/* ---- importance maps ------------------------------------------------------------------------------- */

/** X-macro table of importance maps: per-voxel weights of a tile's prediction (docs/STITCHING.md). Tables are
 *  computed once on the host in double and rounded; both backends read the same table. */
#define VXT_IMPORTANCE_MAP(X)                                                                                  \
    X(VXT_IMPORTANCE_CONSTANT, 0, "constant") /* all ones (MONAI "constant") */                               \
    /* MONAI "gaussian": w_a(i) = exp(x^2 / (-2 sigma_a^2)), x = i - (roi_a-1)/2, sigma_a = sigma_scale_a *     \
     * roi_a, in float32 with torch's CPU exp (SLEEF's expf, reproduced bit for bit); W = (w_0*w_1)*w_2 in     \
     * float32; W = max(W, max(min W, 1e-3)). Identical to MONAI's map computed by torch on a CPU. */          \
    X(VXT_IMPORTANCE_GAUSSIAN, 1, "gaussian")                                                                  \
    /* nnU-Net v2 compute_gaussian: scipy Gaussian kernels (sigma = roi/8, truncate 4) centred at roi/2,       \
     * product in double, scaled to a peak of 10, rounded to float32 then float16, zeros replaced by the       \
     * smallest non-zero value */                                                                              \
    X(VXT_IMPORTANCE_GAUSSIAN_NNUNET, 2, "gaussian-nnunet")                                                    \
    X(VXT_IMPORTANCE_HANN, 3, "hann") /* TorchIO "hann": sin^2(pi n/(roi+1)), n = 1..roi, product */           \
    X(VXT_IMPORTANCE_USER, 4, "user") /* vxt_stitch_options.user_map (roi-shaped, all > 0 and finite) */       \
    /* no weights: each voxel takes the value of the tile in which it lies deepest (per axis, the covering tile \
     * whose nearer border is farthest; ties: the earlier tile), TorchIO's overlap_mode "crop" for any tile     \
     * placement. With a halo of half a network's receptive field (plan field receptive_field), tiled inference \
     * is whole-volume inference. Nothing is accumulated: memory is the tile outputs and the output slabs. Host  \
     * outputs only (not VXT_STITCH_DEVICE_PREDICTOR); accumulate chooses the arithmetic of mirroring and        \
     * ensemble means. docs/STITCHING.md, "Crop blending". */                                                         \
    X(VXT_IMPORTANCE_CROP, 5, "crop")

typedef enum vxt_importance { VXT_IMPORTANCE_MAP(VXT_ENUM_MEMBER_) VXT_IMPORTANCE_COUNT_ } vxt_importance;

/** The name of an importance map ("constant", "gaussian", "gaussian-nnunet", "hann", "user", "crop"); "unknown"
 *  otherwise. */
VXT_API const char *vxt_importance_name(vxt_importance importance);

/** Parse an importance map name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_importance_parse(const char *name, vxt_importance *out);

/** Compute the importance map of `importance` for a ROI into `out` (roi[0]*roi[1]*roi[2] floats, z-major).
 *  sigma_scale (3 values, NULL = 0.125 each) is used by VXT_IMPORTANCE_GAUSSIAN only. VXT_IMPORTANCE_USER is
 *  not accepted here. The engine uses exactly these values. */
VXT_API vxt_status vxt_importance_map(vxt_importance importance, const int64_t roi[3], const double *sigma_scale,
                                      float *out);

/* ---- stitching ------------------------------------------------------------------------------------- */

/** X-macro table of accumulation arithmetics (of accumulation and normalization). */
#define VXT_ACCUMULATE_MAP(X)                                                                                  \
    /* MONAI's: out += p*w and the weight sum in float32, in tiling order, then out / sum (product in the      \
     * tile's dtype, as MONAI multiplies the predictor's tensor in place) */                                   \
    X(VXT_ACCUMULATE_FLOAT32, 0, "float32")                                                                    \
    /* nnU-Net's: L = f16(L + f16(p*g)), N = f16(N + g), result f16(L / N), where f16() rounds to float16 and  \
     * each operation is done in float32 first (as torch does). Mirroring and ensembling also round to         \
     * float16 when tiles are float16. */                                                                      \
    X(VXT_ACCUMULATE_FLOAT16, 1, "float16")                                                                    \
    /* products and sums in double, one rounding at the end: an identity predictor gives the input back        \
     * exactly with any weights that are constant per voxel. Needs fp64 on an OpenCL device. */                \
    X(VXT_ACCUMULATE_FLOAT64, 2, "float64")

typedef enum vxt_accumulate { VXT_ACCUMULATE_MAP(VXT_ENUM_MEMBER_) VXT_ACCUMULATE_COUNT_ } vxt_accumulate;

/** The name of an accumulation ("float32", "float16", "float64"); "unknown" otherwise. */
VXT_API const char *vxt_accumulate_name(vxt_accumulate accumulate);

/** Parse an accumulation name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_accumulate_parse(const char *name, vxt_accumulate *out);

/** X-macro table of activations, applied to the normalized values before they are written and labelled. */
#define VXT_ACTIVATION_MAP(X)                                                                                  \
    X(VXT_ACTIVATION_NONE, 0, "none")       /* logits as stitched */                                          \
    X(VXT_ACTIVATION_SOFTMAX, 1, "softmax") /* over channels: exp(v - max) / sum, with the shared vxt_exp */   \
    X(VXT_ACTIVATION_SIGMOID, 2, "sigmoid") /* per channel (multi-label and region models) */

typedef enum vxt_activation { VXT_ACTIVATION_MAP(VXT_ENUM_MEMBER_) VXT_ACTIVATION_COUNT_ } vxt_activation;

/** The name of an activation ("none", "softmax", "sigmoid"); "unknown" otherwise. */
VXT_API const char *vxt_activation_name(vxt_activation activation);

/** Parse an activation name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_activation_parse(const char *name, vxt_activation *out);

/** X-macro table of ensemble averages: where the members of an ensemble are averaged. */
#define VXT_ENSEMBLE_MAP(X)                                                                                    \
    /* the members' normalized values (logits) are averaged in member order, then activated (nnU-Net's folds) \
     */                                                                                                        \
    X(VXT_ENSEMBLE_LOGITS, 0, "logits")                                                                        \
    /* each member's values are activated, then the probabilities are averaged in member order (softmax       \
     * ensembling, nnUNetv2_ensemble) */                                                                       \
    X(VXT_ENSEMBLE_PROBABILITIES, 1, "probabilities")

typedef enum vxt_ensemble { VXT_ENSEMBLE_MAP(VXT_ENUM_MEMBER_) VXT_ENSEMBLE_COUNT_ } vxt_ensemble;

/** The name of an ensemble average ("logits", "probabilities"); "unknown" otherwise. */
VXT_API const char *vxt_ensemble_name(vxt_ensemble ensemble);

/** Parse an ensemble average name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_ensemble_parse(const char *name, vxt_ensemble *out);

/** X-macro table of label rules: how a voxel's label is made from its C activated values v[0..C-1]. No
 *  arithmetic: comparisons only, so every backend gives the same labels. A NaN is never the largest and never
 *  exceeds a threshold. */
#define VXT_LABEL_RULE_MAP(X)                                                                                  \
    /* the channel with the largest value (ties to the lowest channel; all NaN: 0). Labels 0 .. C-1 */         \
    X(VXT_LABELS_ARGMAX, 0, "argmax")                                                                          \
    /* multi-label (sigmoid) models: 0 where no value exceeds the threshold, else 1 + the channel with the     \
     * largest value among those that do (ties to the lowest). Labels 0 .. C; one channel gives a 0/1 mask */  \
    X(VXT_LABELS_THRESHOLD, 1, "threshold")                                                                    \
    /* nnU-Net's region-based models (regions_class_order): 0, then for each channel c in order, region_labels \
     * [c] where v[c] exceeds the threshold (later channels win) */                                            \
    X(VXT_LABELS_REGIONS, 2, "regions")

typedef enum vxt_label_rule { VXT_LABEL_RULE_MAP(VXT_ENUM_MEMBER_) VXT_LABEL_RULE_COUNT_ } vxt_label_rule;

/** The name of a label rule ("argmax", "threshold", "regions"); "unknown" otherwise. */
VXT_API const char *vxt_label_rule_name(vxt_label_rule rule);

/** Parse a label rule name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_label_rule_parse(const char *name, vxt_label_rule *out);

/* vxt_batch (a group of tiles handed to the model) is declared in voxtile_plugin.h. */

/** A model: fill batch->output (or output_cl) for batch->input. `user` is the pointer given with it. */
typedef int (*vxt_predict_fn)(void *user, const vxt_batch *batch);

/** Progress: called after each accumulated batch with tiles done and total (tiles x members x mirrorings
 *  count as one tile each); return non-zero to cancel (VXT_ERR_CANCELLED). On the CPU backend (and OpenCL
 *  devices made of the host's cores, such as PoCL), vxt_stitch with a fast predictor (calls under 20 ms) and
 *  small batches accumulates consecutive batches of one row of tiles together (docs/STITCHING.md, "Grouping"):
 *  their progress calls then come together after the group, so a cancellation takes effect up to one group (at
 *  most 128 MiB of tile outputs) later. */
typedef int (*vxt_progress_fn)(void *user, uint64_t done, uint64_t total);

/** A finished slab of an output, handed to an output sink: voxels z0 <= z < z1 of the (unpadded) volume,
 *  final values; pointers are valid only during the call. */
typedef struct vxt_slab {
    int64_t z0, z1;
    int64_t channels;      /**< of `values` */
    int64_t shape[3];      /**< of the whole output volume */
    const float *values;   /**< channels x (z1-z0) x ny x nx, or NULL when not requested */
    const void *labels;    /**< (z1-z0) x ny x nx of label_dtype, or NULL when not requested */
    vxt_dtype label_dtype;
} vxt_slab;

/** Output sink: receives slabs in increasing z as soon as they are final. Return non-zero to stop the run
 *  (VXT_ERR_IO). If the run fails later, slabs already delivered are not valid results. */
typedef int (*vxt_sink_fn)(void *user, const vxt_slab *slab);

/** Flags of vxt_stitch_options. */
#define VXT_STITCH_DEVICE_PREDICTOR 0x1u /**< the predictor uses input_cl/output_cl (OpenCL contexts only) */
#define VXT_STITCH_CHECK_FINITE_OFF 0x2u /**< skip the NaN/Inf check of predictor outputs */

/** Options of a stitching run or session. Initialise with vxt_stitch_options_init(). */
typedef struct vxt_stitch_options {
    size_t struct_size;
    int64_t out_channels;       /**< channels the model produces (required, >= 1) */
    vxt_dtype tile_dtype;       /**< predictor output type: VXT_DTYPE_F32 (default) or VXT_DTYPE_F16 */
    vxt_importance importance;  /**< default VXT_IMPORTANCE_GAUSSIAN */
    double sigma_scale[3];      /**< VXT_IMPORTANCE_GAUSSIAN; default 0.125 each */
    const float *user_map;      /**< VXT_IMPORTANCE_USER: roi-shaped weights, all finite and > 0 */
    vxt_accumulate accumulate;  /**< default VXT_ACCUMULATE_FLOAT32 */
    int batch_size;             /**< tiles per predictor call, >= 1; default 1 */
    unsigned mirror_axes;       /**< test-time mirroring: bit a = axis a may be flipped; 0 (default) = none.
                                     Every non-empty subset of these axes is predicted, in nnU-Net's order
                                     ((0),(1),(2),(0,1),(0,2),(1,2),(0,1,2) restricted to the set), and the
                                     identity plus these are averaged. */
    int members;                /**< ensemble members averaged in member order; default 1 */
    vxt_activation activation;  /**< default VXT_ACTIVATION_NONE (the logits, as MONAI's sliding window) */
    vxt_dtype label_dtype;      /**< labels: VXT_DTYPE_U8 (default) or VXT_DTYPE_U16 */
    vxt_progress_fn progress;   /**< optional */
    void *progress_user;
    int max_outstanding;        /**< sessions: batches handed out and not yet submitted; default 4 */
    unsigned flags;             /**< VXT_STITCH_* */
    /* fields added in 0.2.0 (callers built with the 0.1 layout get the defaults) */
    vxt_ensemble ensemble;      /**< where members are averaged; default VXT_ENSEMBLE_LOGITS */
    vxt_label_rule label_rule;  /**< how labels are made; default VXT_LABELS_ARGMAX */
    double label_threshold;     /**< VXT_LABELS_THRESHOLD, VXT_LABELS_REGIONS: a value counts when it is greater
                                     than this, rounded to float32 once; finite; default 0.5 */
    /** VXT_LABELS_REGIONS: out_channels labels, the label of each channel's region, each in [0, 65535] (in
     *  [0, 255] for uint8 labels). Read during creation (sessions) or the call (vxt_stitch). */
    const int32_t *region_labels;
} vxt_stitch_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_stitch_options_init(vxt_stitch_options *opts);

/** Where the result goes. Either volumes (written only at the end, once every tile is accumulated: a failed,
 *  cancelled or destroyed run leaves them untouched; only a device error while the results are read back can
 *  leave them partly written, and its message says so) or a sink (slab by slab while the run goes on, so peak
 *  memory grows with the ROI depth, not the volume: see "Memory" at vxt_stitch). */
typedef struct vxt_stitch_output {
    size_t struct_size;
    /** Float32 results, out_channels x shape (after activation): NULL if not wanted. */
    vxt_volume *values;
    /** Labels of the activated values by the label rule, 1 x shape of label_dtype: NULL if not wanted. */
    vxt_volume *labels;
    /** Instead of values/labels volumes: a sink; with want_values/want_labels saying what its slabs carry. */
    vxt_sink_fn sink;
    void *sink_user;
    int want_values;
    int want_labels;
} vxt_stitch_output;

/** Fill *out with no outputs and set struct_size. */
VXT_API void vxt_stitch_output_init(vxt_stitch_output *out);

/**
 * Run the whole sliding window: cut tiles of `input` (float32, in_channels x shape of the tiling) per `tiling`,
 * hand them to `predict` in batches, accumulate the outputs with the importance map in tiling order, normalize,
 * average mirrorings and members, apply the activation, make labels, and write `output`. OpenCL and CPU
 * backends give identical bits. Tile extraction and accumulation of neighbouring batches overlap with the
 * predictor.
 *
 * Memory (bytes, besides input and outputs; P is the padded shape, R the ROI, s0 the z step between tile starts):
 *  - CPU backend: only the sums still pending, in blocks of 64 voxels of a row (M members x C channels x 64 floats,
 *    doubles for float64), each taken just before its first tile and finalized and given back right after its last:
 *    at most about (R0 - s0) x P1 x P2 voxels' worth (the planes two z rows of tiles share) and a tile's worth more,
 *    the exact count planned from the tile grid; plus finished planes waiting to be handed out: F x S1 x S2 labels
 *    (label_dtype) and, only when values are wanted, F x C x S1 x S2 floats, where F = S0 with output volumes (they
 *    are written once the run has succeeded) and with a sink the planes a batch finishes before its end (one z step
 *    to R0);
 *  - OpenCL backend: M x C x D x P1 x P2 accumulator floats on the device, D = P0 with output volumes, or with a
 *    sink D = min(P0, R0 + the largest z distance between the starts of a batch's first and last tile rows);
 *  - both: 2 x batch_size x Cin x ROI floats of tile inputs and batch_size x C x ROI of tile outputs (twice that
 *    where accumulation overlaps the predictor: OpenCL GPUs), and with grouping (CPU, groups of 4 tiles or more)
 *    up to 128 MiB of tile outputs; with a sink one slab of at most 64 MiB of values, or 16 MiB of labels alone.
 * Crop blending (VXT_IMPORTANCE_CROP) accumulates nothing on either backend: D planes of labels (and C x D planes
 * of values only when values are wanted), and with mirroring or ensembles batch_size x C x ROI floats of running
 * means. Labels only, through a sink, therefore never hold C x volume, nor C x a slab of planes on the CPU.
 * vxt_stitch_estimate() gives these bytes for a case before it runs; docs/STITCHING.md has the table.
 *
 * Errors: argument errors (NULL, struct sizes, out_channels < 1, unsupported tile dtype, batch_size < 1,
 * members < 1, mirror axes beyond the volume's, input or output shapes that do not match the tiling, a user map
 * with a value <= 0 or not finite, region labels missing or out of range for the label dtype),
 * VXT_ERR_PREDICTOR, VXT_ERR_NONFINITE (NaN/Inf in a predictor's output: the message names the tile, member,
 * mirroring, channel and voxel), VXT_ERR_CANCELLED, VXT_ERR_IO (sink), VXT_ERR_UNSUPPORTED (float64
 * accumulation on a device without fp64; buffers beyond the device's limits), VXT_ERR_OUT_OF_MEMORY,
 * VXT_ERR_OPENCL.
 */
VXT_API vxt_status vxt_stitch(vxt_context *ctx, const vxt_tiling *tiling, const vxt_stitch_options *opts,
                              const vxt_volume *input, vxt_predict_fn predict, void *predict_user,
                              const vxt_stitch_output *output);

/** What a piece of work will hold in memory, estimated before it runs from the sizes alone, by the formulas the
 *  code allocates with. Set struct_size first. Byte counts are of the library's own buffers: the runner's
 *  (network runtime's) working memory is not included, nor the program's own. */
typedef struct vxt_memory_estimate {
    size_t struct_size;
    uint64_t peak_bytes;   /**< host memory at the peak: the input, the outputs made so far and the largest stage's
                                buffers (device buffers included where the device shares host memory) */
    int peak_stage;        /**< the vxt_stage of the peak (vxt_pipeline_estimate); -1 for vxt_stitch_estimate */
    uint64_t input_bytes;  /**< the input image's (or volume's) voxels, held by the caller */
    uint64_t output_bytes; /**< the outputs: labels, probabilities (0 where a sink takes slabs instead) */
    uint64_t window_bytes; /**< the sliding window's working set: accumulator ring (or crop's), tables, tile
                                inputs and outputs, one finished slab */
    uint64_t device_bytes; /**< OpenCL device buffers at the sliding window's peak (0 on the CPU backend) */
    /** Held during each stage besides the input and outputs (0 for stages that will not run). */
    uint64_t stage_bytes[8];
    /** The whole outputs of every stage together, as VXT_RUN_SHOW_OUTPUTS shows them to an observer: what a caller
     *  that keeps a copy of each (a comparison such as `voxtile validate`) holds besides the run. */
    uint64_t shown_bytes;
} vxt_memory_estimate;

/**
 * Estimate what vxt_stitch(ctx, tiling, opts, input, ...) with `output` would hold, before running it and
 * without allocating its buffers: `input_channels` stands for the input volume (its bytes are input_bytes), and
 * only which outputs are wanted is read from `output` (volumes or a sink). window_bytes is the engine's working
 * set (the terms of "Memory" at vxt_stitch, as allocated); peak_bytes adds the input and, with output volumes,
 * the outputs. Errors: those of vxt_stitch's argument checks, VXT_ERR_STRUCT_SIZE for `est`.
 */
VXT_API vxt_status vxt_stitch_estimate(vxt_context *ctx, const vxt_tiling *tiling, const vxt_stitch_options *opts,
                                       int64_t input_channels, const vxt_stitch_output *output,
                                       vxt_memory_estimate *est);

/**
 * Labels from per-channel values by a label rule, as the engine makes them: values float32, C x shape; labels
 * uint8 or uint16, 1 x shape (uint8 needs every possible label <= 255: C <= 256 for argmax, C <= 255 for
 * threshold, region labels <= 255). `threshold` (rounded to float32) is used by VXT_LABELS_THRESHOLD and
 * VXT_LABELS_REGIONS; `region_labels` (C entries) by VXT_LABELS_REGIONS only (else NULL). Runs on the context's
 * backend (kernels/labels/labels.cl or its CPU twin): the same labels everywhere. Errors: VXT_ERR_NULL,
 * VXT_ERR_INVALID_ARGUMENT (rule, threshold not finite, region labels out of range, label dtype too narrow),
 * VXT_ERR_SHAPE_MISMATCH, VXT_ERR_OUT_OF_MEMORY, VXT_ERR_OPENCL.
 */
VXT_API vxt_status vxt_labels(vxt_context *ctx, const vxt_volume *values, vxt_label_rule rule, double threshold,
                              const int32_t *region_labels, vxt_volume *labels);

/* ---- pull/push sessions ---------------------------------------------------------------------------- */

/** A stitching session for servers with their own (asynchronous) inference engines: ask for batches of tile
 *  inputs, submit their outputs in any order, finish. Outputs are accumulated in tiling order whatever the
 *  submission order, so the result equals vxt_stitch()'s bit for bit. A session is used by one thread at a
 *  time. */
typedef struct vxt_session vxt_session;

/** Start a session (arguments as vxt_stitch(); `input` and `output` must stay valid until it is destroyed).
 *  `input` may be NULL when the caller already has the tiles' outputs (precomputed tiles): batches then carry
 *  no input. */
VXT_API vxt_status vxt_session_create(vxt_context *ctx, const vxt_tiling *tiling, const vxt_stitch_options *opts,
                                      const vxt_volume *input, const vxt_stitch_output *output,
                                      vxt_session **out);

/** Hand out the next batch: fills *batch (input valid until the batch is submitted; `output` is NULL: the
 *  caller submits its own buffer). Sets *done = 1 (and leaves *batch empty) when every batch has been handed
 *  out. VXT_ERR_STATE when max_outstanding batches are already out, or after an error. */
VXT_API vxt_status vxt_session_next_batch(vxt_session *session, vxt_batch *batch, int *done);

/** Submit the output of batch `id`: count x out_channels x roi of tile_dtype, read before the call returns.
 *  In the device form pass NULL: the output is in the batch's output_cl. Batches may arrive in any order;
 *  each is accumulated as soon as every earlier batch has been. VXT_ERR_STATE for an unknown or already
 *  submitted id; VXT_ERR_NONFINITE as in vxt_stitch(). After any error the session only accepts destroy. */
VXT_API vxt_status vxt_session_submit(vxt_session *session, uint64_t id, const void *outputs);

/** After every batch has been submitted: normalize and write the output. VXT_ERR_STATE if batches are
 *  missing. */
VXT_API vxt_status vxt_session_finish(vxt_session *session);

/** Progress of a session: batches handed out, accumulated, and total. */
VXT_API vxt_status vxt_session_progress(const vxt_session *session, uint64_t *handed_out, uint64_t *accumulated,
                                        uint64_t *total);

/** Release a session (at any point; an unfinished session's output is left untouched, its sink sees nothing
 *  more). NULL is ignored. */
VXT_API void vxt_session_destroy(vxt_session *session);


/* The model plugin ABI (what a plugin library exports) is in voxtile_plugin.h; vxt_runner_create("plugin:PATH")
 * loads such a library. */

/* ---- NumPy .npy files ------------------------------------------------------------------------------- */

/** What an .npy file's header says. Set struct_size = sizeof(vxt_npy_info). */
typedef struct vxt_npy_info {
    size_t struct_size;
    vxt_dtype dtype;
    int big_endian;        /**< data stored big-endian (converted to native order when read) */
    int ndim;              /**< 0 .. 8 */
    int64_t shape[8];
    uint64_t count;        /**< number of elements */
    uint64_t data_offset;  /**< bytes before the data */
    int version;           /**< format version 1, 2 or 3 */
} vxt_npy_info;

/** Read and validate the header of an .npy file (magic, version, header dictionary, dtype, C order, shape,
 *  file size = header + data exactly). Errors: VXT_ERR_IO (cannot open/read), VXT_ERR_FORMAT (not .npy,
 *  malformed header, unsupported dtype such as bool/object/structured, Fortran order), VXT_ERR_TRUNCATED
 *  (file shorter than its data), VXT_ERR_OVERFLOW (shape product). */
VXT_API vxt_status vxt_npy_read_info(const char *path, vxt_npy_info *info);

/** Read elements [first, first + count) of the file described by `info` into dst, in native byte order. */
VXT_API vxt_status vxt_npy_read(const char *path, const vxt_npy_info *info, uint64_t first, uint64_t count,
                                void *dst);

/** An .npy file being written: data goes to a temporary file next to the target, which is renamed into place
 *  only by vxt_npy_writer_commit(); vxt_npy_writer_abort() (or an error) removes it. */
typedef struct vxt_npy_writer vxt_npy_writer;

/** Start writing `path` with a little-endian C-order array of dtype and shape (ndim 0 .. 8). */
VXT_API vxt_status vxt_npy_writer_open(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape,
                                       vxt_npy_writer **out);

/** Write `count` elements (native order) at element offset `first`. Any order; every element must be written
 *  once before commit: a write overlapping earlier ones is refused (VXT_ERR_INVALID_ARGUMENT) before anything
 *  is written, and commit refuses while any element is missing. */
VXT_API vxt_status vxt_npy_writer_write(vxt_npy_writer *w, uint64_t first, uint64_t count, const void *data);

/** Flush, check that every element was written, fsync, rename into place, and free the writer. */
VXT_API vxt_status vxt_npy_writer_commit(vxt_npy_writer *w);

/** Remove the temporary file and free the writer (NULL is ignored). */
VXT_API void vxt_npy_writer_abort(vxt_npy_writer *w);

/** Write a whole array at once (open, write, commit). */
VXT_API vxt_status vxt_npy_write(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape,
                                 const void *data);

/* ===================================================================================================== */
/* Preprocessing: intensity transforms, statistics, resampling, patches                                   */
/* ===================================================================================================== */

/*
 * Conventions of this section (they hold for every function below):
 *   - Functions run on the context's backend: kernels on its OpenCL device, or loops on its CPU thread pool.
 *     Both give the same bits (docs/DETERMINISM.md), at any thread count and work-group size.
 *   - Inputs are vxt_volume views in host memory of type uint8, int8, uint16, int16, int32, float32 or
 *     float64 (other types: VXT_ERR_UNSUPPORTED). They are converted to float32 where they are read, inside
 *     the kernels and loops: 8/16-bit integers exactly, int32 and float64 rounded to nearest even, float32 as
 *     is; values below FLT_MIN in magnitude are read as zero (the denormal policy). Float outputs are float32.
 *   - Outputs are caller-allocated views; every output voxel is written. The input is never modified, except
 *     by an in-place call: passing the same view (same data pointer) as input and output where the function
 *     says so. An output that overlaps the input in any other way is refused (VXT_ERR_INVALID_ARGUMENT).
 *   - Statistics and data-dependent normalizations work on single-channel volumes (channels == 1); for a
 *     multi-channel volume, call them once per channel with a view of that channel. Pointwise transforms with
 *     given parameters accept any number of channels.
 *   - On an OpenCL device, volumes larger than the device's largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) are
 *     processed in slabs; a case that cannot be split (one output slice needs more input than one buffer
 *     holds) is refused with VXT_ERR_UNSUPPORTED. All sizes and indices are 64-bit.
 *   - Errors: VXT_ERR_NULL (a NULL context, view, data pointer or output), VXT_ERR_INVALID_ARGUMENT (the
 *     message names the parameter and its value), VXT_ERR_SHAPE_MISMATCH (mask or output shape),
 *     VXT_ERR_STRUCT_SIZE, VXT_ERR_OVERFLOW, VXT_ERR_UNSUPPORTED, VXT_ERR_OUT_OF_MEMORY, VXT_ERR_OPENCL. On
 *     failure nothing is leaked and the input is unchanged; the output may have been partly written.
 * The methods, formulas and the tolerances against numpy, scipy and torch: docs/PREPROCESSING.md.
 */

/** X-macro table of voxel selections: which voxels a statistic or a data-dependent normalization uses. */
#define VXT_SELECT_MAP(X)                                                                                      \
    X(VXT_SELECT_ALL, 0, "all")         /* every voxel */                                                      \
    /* voxels whose value (as read, float32) is not zero; NaN counts as non-zero */                            \
    X(VXT_SELECT_NONZERO, 1, "nonzero")                                                                        \
    X(VXT_SELECT_MASK, 2, "mask") /* voxels where a uint8 or int8 mask of the same z, y, x shape is not zero */

typedef enum vxt_select { VXT_SELECT_MAP(VXT_ENUM_MEMBER_) VXT_SELECT_COUNT_ } vxt_select;

/** The name of a selection ("all", "nonzero", "mask"); "unknown" otherwise. */
VXT_API const char *vxt_select_name(vxt_select select);

/** Parse a selection name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_select_parse(const char *name, vxt_select *out);

/* ---- intensity transforms ------------------------------------------------------------------------------ */

/** Steps of vxt_intensity_transform() (flags of vxt_intensity_options). */
#define VXT_INTENSITY_RESCALE 0x1u /**< v = v*slope + intercept */
#define VXT_INTENSITY_REPLACE 0x2u /**< voxels whose stored value is replace_value become replace_with */
#define VXT_INTENSITY_CLIP 0x4u    /**< v = min(max(v, clip_lo), clip_hi) */
#define VXT_INTENSITY_SHIFT 0x8u   /**< v = (v - subtract) / divide */
#define VXT_INTENSITY_CLIP2 0x10u  /**< v = min(max(v, clip2_lo), clip2_hi) */

/**
 * A pointwise transform: the steps enabled in `flags`, always in this order, each in float32 with one
 * rounding per operation (the order numpy evaluates `x.astype(float32) * slope + intercept` etc. in):
 *
 *     x = the stored value, read as float32
 *     v = x * slope + intercept                                 (RESCALE)
 *     v = replace_with   where x == replace_value               (REPLACE; replace_value NaN matches NaN)
 *     v = min(max(v, clip_lo), clip_hi)                          (CLIP; NaN stays NaN)
 *     v = (v - subtract) / divide                                (SHIFT)
 *     v = min(max(v, clip2_lo), clip2_hi)                        (CLIP2)
 *
 * The comparison with replace_value is on the stored value (DICOM pixel padding value), the replacement is
 * in rescaled units (e.g. -2000 stored becomes -1024 HU) and goes through the later steps. Parameters are
 * given in double and rounded to float32 once. Initialise with vxt_intensity_options_init() (no steps).
 */
typedef struct vxt_intensity_options {
    size_t struct_size; /**< sizeof(vxt_intensity_options), set by vxt_intensity_options_init(). */
    unsigned flags;     /**< VXT_INTENSITY_* steps; 0 (default): a plain conversion to float32. */
    double slope, intercept;           /**< RESCALE; defaults 1, 0. slope must be finite and non-zero. */
    double replace_value, replace_with; /**< REPLACE; defaults 0, 0. */
    double clip_lo, clip_hi;            /**< CLIP; lo <= hi, not NaN (infinities allowed). */
    double subtract, divide;            /**< SHIFT; defaults 0, 1; divide finite and non-zero. */
    double clip2_lo, clip2_hi;          /**< CLIP2; like CLIP. */
    /** Apply the steps only to the voxels this selects (VXT_SELECT_NONZERO or VXT_SELECT_MASK with the mask
     *  argument); the others are converted to float32 unchanged. Default VXT_SELECT_ALL. */
    vxt_select select;
} vxt_intensity_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_intensity_options_init(vxt_intensity_options *opts);

/**
 * Apply the pointwise transform described by opts to every voxel (and channel) of `in`, writing float32 to
 * `out` (same channels and shape). `mask` is used only with select == VXT_SELECT_MASK (then required: uint8
 * or int8, 1 channel, the shape of `in`; it applies to every channel) and must be NULL otherwise. In place:
 * out->data may equal in->data when `in` is float32.
 */
VXT_API vxt_status vxt_intensity_transform(vxt_context *ctx, const vxt_volume *in, const vxt_volume *mask,
                                           vxt_volume *out, const vxt_intensity_options *opts);

/** Rescale stored values to physical units (DICOM/NIfTI slope and intercept, e.g. to Hounsfield units):
 *  out = in*slope + intercept in float32 (numpy: x.astype(float32) * slope + intercept). In place for float32. */
VXT_API vxt_status vxt_rescale(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double slope,
                               double intercept);

/** Replace a padding value: out = (in == value) ? replacement : in, float32 (value NaN replaces NaNs, like
 *  numpy.nan_to_num for NaN). In place for float32. */
VXT_API vxt_status vxt_replace_value(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double value,
                                     double replacement);

/** Clip to [lo, hi] (lo <= hi; NaN stays NaN): out = min(max(in, lo), hi) (numpy.clip), float32. In place
 *  for float32. */
VXT_API vxt_status vxt_clip(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi);

/** CT window to [0, 1]: out = clip((in - lo) / (hi - lo), 0, 1) in float32, with lo, hi and hi - lo rounded
 *  to float32 (numpy: np.clip((x.astype(float32) - lo) / (hi - lo), 0, 1)). Requires lo < hi, finite. In place
 *  for float32. */
VXT_API vxt_status vxt_window(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi);

/** Window/level to 8-bit display values, the classic formula: lo = center - width/2, hi = center + width/2
 *  (double), out = uint8(trunc((clip(in, lo, hi) - lo) / (hi - lo) * 255)) in float32 (numpy:
 *  ((np.clip(x, lo, hi) - lo) / (hi - lo) * 255).astype(np.uint8)). `out` must be uint8; width > 0 and
 *  finite. In place for uint8 input. (DICOM's VOI LUT function uses width - 1 and a half-voxel offset instead;
 *  see docs/PREPROCESSING.md.) */
VXT_API vxt_status vxt_window_level_u8(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double center,
                                       double width);

/** Zero-centring: out = in - mean, float32. In place for float32. */
VXT_API vxt_status vxt_zero_center(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double mean);

/** nnU-Net's CTNormalization with the dataset statistics of its plans.json (percentile_00_5, percentile_99_5,
 *  mean, std): out = (clip(in, lo, hi) - mean) / max(std, 1e-8), in float32 exactly as nnU-Net computes it
 *  (np.clip, then -= mean, then /= max(std, 1e-8)). lo <= hi, all finite, std >= 0. In place for float32. */
VXT_API vxt_status vxt_ct_normalize(vxt_context *ctx, const vxt_volume *in, vxt_volume *out, double lo, double hi,
                                    double mean, double std);

/* ---- statistics ---------------------------------------------------------------------------------------- */

/** Statistics of the selected voxels of a single-channel volume. Set struct_size = sizeof(vxt_stats). */
typedef struct vxt_stats {
    size_t struct_size;
    uint64_t count;     /**< selected voxels that are not NaN: every other field is over these */
    uint64_t nan_count; /**< selected NaN voxels (excluded, as numpy's nan-functions do) */
    double min, max;    /**< NaN when count == 0 */
    double mean;        /**< sum / count; NaN when count == 0 */
    double std;         /**< population standard deviation (numpy's std, ddof = 0); NaN when count == 0 */
    double sum;
} vxt_stats;

/**
 * Count, min, max, mean, population std and sum of the selected voxels (values as read in float32; NaNs
 * excluded and counted). 8- and 16-bit data: exact, from a histogram of the values and 128-bit integer sums.
 * Other types: fixed blocks and lanes combined in a fixed order, sums in double of the values minus a shift
 * near the mean (docs/PREPROCESSING.md). The same bits on every backend and thread count. `mask` only with
 * VXT_SELECT_MASK. count == 0 is not an error (the fields are NaN). out->struct_size must be set.
 */
VXT_API vxt_status vxt_statistics(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                                  vxt_stats *out);

/**
 * Exact percentiles of the selected voxels, numpy's default method: for q in [0, 100], with the n selected
 * values sorted, i = (n - 1) * (q / 100), the result interpolates linearly between the values of rank
 * floor(i) and floor(i) + 1 exactly as numpy.percentile(..., method='linear') does. The order statistics are
 * exact: found by histograms of order-preserving keys (one pass for 8- and 16-bit data, two passes - a radix
 * select - for int32 and floats), never approximated. NaNs are excluded (numpy.nanpercentile). Writes
 * values[0 .. nq). Errors: q outside [0, 100] or NaN, nq == 0, no selected voxel (VXT_ERR_INVALID_ARGUMENT).
 */
VXT_API vxt_status vxt_percentiles(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                                   const double *q, size_t nq, double *values);

/**
 * numpy.histogram(x[selected], bins=nbins, range=(lo, hi)): nbins equal bins between lo and hi (lo < hi,
 * finite), numpy's bin edges and its rule (a value on an edge goes to the bin above; the last bin includes hi;
 * values outside [lo, hi] and NaNs are not counted). Writes counts[0 .. nbins); nbins in [1, 2^20].
 */
VXT_API vxt_status vxt_histogram(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                                 double lo, double hi, size_t nbins, uint64_t *counts);

/* ---- data-dependent normalizations ------------------------------------------------------------------- */

/**
 * Z-score: with mean and population std of the selected voxels (vxt_statistics), selected voxels become
 * (in - mean) / max(std, 1e-8) in float32 (mean and the divisor rounded to float32 once, as numpy does
 * with float64 statistics); voxels outside the selection are converted unchanged. nnU-Net's
 * ZScoreNormalization is VXT_SELECT_ALL, or VXT_SELECT_MASK with its non-zero mask when use_mask_for_norm.
 * Single channel. stats may be NULL (else it receives the statistics used; struct_size set). In place for
 * float32. Errors as vxt_statistics; no selected voxel: VXT_ERR_INVALID_ARGUMENT.
 */
VXT_API vxt_status vxt_zscore(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                              vxt_volume *out, vxt_stats *stats);

/**
 * Min-max rescale to [0, 1]: selected voxels become (in - min) / max(max - min, 1e-8) over the selected
 * voxels, float32 (nnU-Net's RescaleTo01Normalization for VXT_SELECT_ALL); others converted unchanged. Single
 * channel; stats may be NULL. In place for float32.
 */
VXT_API vxt_status vxt_minmax_normalize(vxt_context *ctx, const vxt_volume *in, vxt_select select,
                                        const vxt_volume *mask, vxt_volume *out, vxt_stats *stats);

/**
 * Percentile clip: lo, hi = the exact percentiles p_lo, p_hi (0 <= p_lo <= p_hi <= 100) of the selected
 * voxels (vxt_percentiles), then out = clip(in, lo, hi) over every voxel, float32 (numpy: np.clip(x, *np.
 * percentile(x[sel], [p_lo, p_hi])) with the bounds rounded to float32). bounds may be NULL, else receives
 * {lo, hi} as double. Single channel. In place for float32.
 */
VXT_API vxt_status vxt_percentile_clip(vxt_context *ctx, const vxt_volume *in, vxt_select select,
                                       const vxt_volume *mask, double p_lo, double p_hi, vxt_volume *out,
                                       double bounds[2]);

/* ---- resampling ----------------------------------------------------------------------------------------- */

/** X-macro table of interpolations along an axis. */
#define VXT_INTERP_MAP(X)                                                                                      \
    X(VXT_INTERP_LINEAR, 0, "linear") /* linear (trilinear over the three axes) */                             \
    /* nearest centre: half-pixel grid floor((i + 0.5) * in/out) (torch 'nearest-exact', nnU-Net's             \
     * anisotropic axis); corner grid floor(i * (in-1)/(out-1) + 0.5) (scipy order 0) */                       \
    X(VXT_INTERP_NEAREST, 1, "nearest")                                                                        \
    X(VXT_INTERP_NEAREST_FLOOR, 2, "nearest-floor") /* torch mode='nearest' (legacy): floor(i * in/out) */   \
    /* cubic B-spline (order 3): the axis is prefiltered into B-spline coefficients, then sampled with four   \
     * taps, as scipy.ndimage.zoom / map_coordinates(order=3) and skimage resize(order=3) do (float32;        \
     * docs/PREPROCESSING.md, "Cubic B-spline") */                                                             \
    X(VXT_INTERP_CUBIC, 3, "cubic")

typedef enum vxt_interp { VXT_INTERP_MAP(VXT_ENUM_MEMBER_) VXT_INTERP_COUNT_ } vxt_interp;

/** The name of an interpolation ("linear", "nearest", "nearest-floor", "cubic"); "unknown" otherwise. */
VXT_API const char *vxt_interp_name(vxt_interp interp);

/** Parse an interpolation name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_interp_parse(const char *name, vxt_interp *out);

/** How a resized grid sits on the original one: used by the resampler (vxt_resample_options.align) and by the
 *  geometry of resized images (vxt_geometry_resize), so that one setting drives both (docs/NIFTI.md "Resampled
 *  grids", docs/PREPROCESSING.md). */
#define VXT_GRID_ALIGN_MAP(X)                                                                                  \
    /* same field of view, outer voxel edges aligned: src = (dst + 0.5) * in/out - 0.5 (torch                  \
     * align_corners=False, skimage, scipy zoom(grid_mode=True), nnU-Net); the resampler computes it in        \
     * float32 exactly as torch does */                                                                        \
    X(VXT_ALIGN_HALF_PIXEL, 0, "half-pixel")                                                                   \
    /* first and last voxel centres aligned: src = dst * (in-1)/(out-1) (torch align_corners=True, scipy       \
     * zoom's default); the resampler computes it in double as scipy does. For geometry, an axis of 1 output   \
     * voxel keeps voxel 0's centre and takes the scale in/out; an axis of 1 input voxel cannot be spread */   \
    X(VXT_ALIGN_CORNERS, 1, "corner")

typedef enum vxt_grid_align { VXT_GRID_ALIGN_MAP(VXT_ENUM_MEMBER_) VXT_GRID_ALIGN_COUNT_ } vxt_grid_align;

/** The name of a grid alignment ("half-pixel", "corner"); "unknown" otherwise. */
VXT_API const char *vxt_grid_align_name(vxt_grid_align align);

/** Parse a grid alignment name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_grid_align_parse(const char *name, vxt_grid_align *out);

/** X-macro table of boundaries: what samples outside the volume see. */
#define VXT_BOUNDARY_MAP(X)                                                                                    \
    X(VXT_BOUNDARY_CLAMP, 0, "clamp") /* the nearest edge voxel (torch; scipy mode='nearest') */               \
    /* fill_value (scipy mode='grid-constant'): neighbours outside the volume contribute fill_value; a sample  \
     * with all neighbours outside is fill_value */                                                            \
    X(VXT_BOUNDARY_CONSTANT, 1, "constant")                                                                    \
    /* whole-sample symmetric, the edge voxel not repeated: d c b | a b c d | c b a (scipy mode='mirror';      \
     * numpy.pad and torch 'reflect'), repeated for reaches beyond the axis; an axis of 1 voxel repeats it.    \
     * Cubic interpolation (with nearest axes, whose samples are always inside) and Gaussian smoothing */      \
    X(VXT_BOUNDARY_MIRROR, 2, "mirror")                                                                        \
    /* half-sample symmetric, the edge voxel repeated: c b a | a b c d | d c b (scipy mode='grid-mirror', its  \
     * synonym 'reflect' and gaussian_filter's default; numpy.pad 'symmetric'), repeated likewise. Cubic       \
     * interpolation and Gaussian smoothing, as above */                                                       \
    X(VXT_BOUNDARY_GRID_MIRROR, 3, "grid-mirror")

typedef enum vxt_boundary { VXT_BOUNDARY_MAP(VXT_ENUM_MEMBER_) VXT_BOUNDARY_COUNT_ } vxt_boundary;

/** The name of a boundary ("clamp", "constant", "mirror", "grid-mirror"); "unknown" otherwise. */
VXT_API const char *vxt_boundary_name(vxt_boundary boundary);

/** Parse a boundary name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_boundary_parse(const char *name, vxt_boundary *out);

/** X-macro table of output clipping (vxt_resample_options.clip). */
#define VXT_RESAMPLE_CLIP_MAP(X)                                                                               \
    X(VXT_CLIP_NONE, 0, "none")                                                                                \
    /* each output voxel clipped to the range [min, max] of the input values it was resampled from, as         \
     * skimage's resize(clip=True) does (cubic overshoots at edges): the channel's whole volume; or, when one  \
     * axis is nearest and the other two are cubic (nnU-Net's separate-z resampling, which resizes each slice  \
     * on its own), the input slice along the nearest axis. NaN inputs are ignored for the range */            \
    X(VXT_CLIP_INPUT_RANGE, 1, "input-range")

typedef enum vxt_resample_clip { VXT_RESAMPLE_CLIP_MAP(VXT_ENUM_MEMBER_) VXT_RESAMPLE_CLIP_COUNT_ } vxt_resample_clip;

/** The name of a clipping ("none", "input-range"); "unknown" otherwise. */
VXT_API const char *vxt_resample_clip_name(vxt_resample_clip clip);

/** Parse a clipping name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_resample_clip_parse(const char *name, vxt_resample_clip *out);

/** Options of vxt_resample(). Initialise with vxt_resample_options_init(). */
typedef struct vxt_resample_options {
    size_t struct_size;
    vxt_interp interp[3];  /**< per axis (z, y, x); default LINEAR. Linear on some axes and nearest on another
                                is nnU-Net's anisotropic resampling (vxt_resample_options_nnunet). */
    vxt_grid_align align;  /**< default VXT_ALIGN_HALF_PIXEL */
    vxt_boundary boundary; /**< default VXT_BOUNDARY_CLAMP */
    double fill_value;     /**< for VXT_BOUNDARY_CONSTANT; default 0 */
    /** Per axis, half-pixel grid only: > 0 gives torch's scale_factor semantics (the sampling ratio is 1/scale,
     *  not in/out, as torch.nn.functional.interpolate(scale_factor=s) without recompute_scale_factor); the
     *  output shape is still that of `out` (vxt_resample_shape_scale computes torch's). 0 (default): ratio from
     *  the shapes. The corner grid always uses (in-1)/(out-1), as torch does with align_corners=True. */
    double scale[3];
    /** A slab of the output (fields added in 0.1.0; callers built with the earlier layout get the defaults):
     *  `out` holds output planes [out_z_offset, out_z_offset + out.shape[0]) of an output that is out_z_total
     *  planes deep (its other axes are out's). Each voxel gets exactly the bits the whole resampling gives it, so
     *  an output can be produced slab by slab in little memory (e.g. probabilities resampled back and reduced to
     *  labels). out_z_total 0 (default): out is the whole output; else 0 <= out_z_offset and out_z_offset +
     *  out.shape[0] <= out_z_total. */
    int64_t out_z_offset;
    int64_t out_z_total;
    /** A slab of the input (fields added in 0.2.0): `in` holds input planes [in_z_offset, in_z_offset +
     *  in.shape[0]) of an input that is in_z_total planes deep (its other axes are in's). The tables are those
     *  of the whole input, so each output voxel gets the bits the whole resampling gives it, provided every
     *  input plane it reads is in the slab (vxt_resample_z_sources() says which; others are refused with
     *  VXT_ERR_INVALID_ARGUMENT). With out_z_* this resamples a volume slab by slab without holding either
     *  side whole. in_z_total 0 (default): in is the whole input. Cubic interpolation along z needs whole
     *  volumes (its prefilter runs along whole lines): with a cubic axis, in_z_total and out_z_total must be 0. */
    int64_t in_z_offset;
    int64_t in_z_total;
    /** Smoothing before downsampling (fields added after 0.2.0: callers built without them get the defaults), as
     *  skimage.transform.resize(anti_aliasing=True) does: non-zero, and the input is first smoothed by a Gaussian
     *  (vxt_gaussian_smooth, truncate 4) into a float32 copy of one channel at a time, which is then resampled (a
     *  clip takes the range of the input, not of its smoothed copy, as skimage's does). The boundary of the
     *  smoothing follows the resampling's: clamp is scipy's 'nearest' (skimage mode='edge'), constant is
     *  'constant' with fill_value, mirror and grid-mirror are themselves. `out` must be float32. Refused with the slab fields
     *  (in_z_total or out_z_total not 0: a slab has no neighbours to smooth with) with VXT_ERR_INVALID_ARGUMENT.
     *  Default 0: no smoothing. */
    int anti_alias;
    /** Per axis (z, y, x), in voxels of the input: > 0 is used as given (skimage's anti_aliasing_sigma), 0 takes
     *  skimage's default from the shapes, max(0, (in/out - 1) / 2) (vxt_antialias_sigma): 0 on an axis that is
     *  not downsampled, which is then not smoothed. Finite and >= 0; default 0. */
    double anti_alias_sigma[3];
    /** Output clipping (field added after 0.2.0: callers built with an earlier layout get the default);
     *  default VXT_CLIP_NONE. With VXT_CLIP_INPUT_RANGE the output is float32. */
    vxt_resample_clip clip;
} vxt_resample_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_resample_options_init(vxt_resample_options *opts);

/**
 * Resample `in` to the shape of `out` (channels equal; each channel resampled the same way, with the same
 * tables): separable, per axis linear, nearest or cubic, on the chosen grid and boundary. Linear output is float32:
 * torch's source indices and weights, its order of operations (upsample_trilinear3d), each product rounded;
 * half-pixel results are within two float32 ulps of the largest input value of torch's (docs/PREPROCESSING.md).
 * Cubic axes (output float32) follow scipy.ndimage.zoom(order=3): half-pixel is grid_mode=True, corner is
 * grid_mode=False; boundary clamp is scipy's 'nearest', constant 'grid-constant', mirror 'mirror', grid-mirror
 * 'grid-mirror'; results are within the tolerance docs/PREPROCESSING.md states of scipy's float64 ones. Cubic axes
 * take no opts.scale and no z slabs; mirror and grid-mirror need every axis cubic or nearest.
 * When every axis is nearest (label volumes), `out` may also have the input's dtype: values are copied, never
 * interpolated. opts may be NULL (defaults: trilinear, half-pixel, clamp). `out` must not overlap `in`. Rows
 * (in.shape[2]) of at most 2^31 - 1 voxels.
 */
VXT_API vxt_status vxt_resample(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                const vxt_resample_options *opts);

/** The input planes [*src_z0, *src_z1) that output planes [out_z0, out_z1) of a resampling from in_depth to
 *  out_depth planes read under opts (NULL: defaults): with an input slab that holds them
 *  (vxt_resample_options.in_z_*), those output planes can be computed. Planes outside the input (constant
 *  boundary) are not counted; an output range that reads no input plane gives an empty range. Errors:
 *  VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (depths < 1, a range outside [0, out_depth]). */
VXT_API vxt_status vxt_resample_z_sources(const vxt_resample_options *opts, int64_t in_depth, int64_t out_depth,
                                          int64_t out_z0, int64_t out_z1, int64_t *src_z0, int64_t *src_z1);

/** Output shape for a new spacing, as nnU-Net computes it: out[a] = round_half_even(in_spacing[a] /
 *  out_spacing[a] * in_shape[a]) in double. Spacings must be finite and > 0; a result of 0 or one that does not
 *  fit int64 is an error (VXT_ERR_INVALID_ARGUMENT, VXT_ERR_OVERFLOW). */
VXT_API vxt_status vxt_resample_shape_spacing(const int64_t in_shape[3], const double in_spacing[3],
                                              const double out_spacing[3], int64_t out_shape[3]);

/** Output shape for scale factors, as torch computes it: out[a] = floor(in_shape[a] * scale[a]) in double.
 *  scale finite and > 0; a result of 0 is an error. */
VXT_API vxt_status vxt_resample_shape_scale(const int64_t in_shape[3], const double scale[3], int64_t out_shape[3]);

/**
 * Options for nnU-Net's resampling between two spacings: when max/min spacing exceeds 3 (of the current
 * spacing, else of the target spacing) and exactly one axis has the largest spacing, that axis is nearest
 * (floor((i + 0.5) * in/out)) and the others linear; otherwise all linear. Label volumes (is_label != 0):
 * nearest on every axis. Half-pixel grid, edge clamp. *opts must have been initialised.
 */
VXT_API vxt_status vxt_resample_options_nnunet(const double in_spacing[3], const double out_spacing[3],
                                               int is_label, vxt_resample_options *opts);

/**
 * Options for nnU-Net's image resampling with its spline order (resample_data_or_seg with is_seg False; nnU-Net's
 * plans give the order in resampling_fn_data_kwargs, 3 by default). order 3: cubic on every axis, skimage
 * resize's clip to the input's range (VXT_CLIP_INPUT_RANGE), edge boundary (skimage mode 'edge' = clamp); when
 * one axis has the largest spacing as vxt_resample_options_nnunet decides, that axis nearest (nnU-Net's order_z 0)
 * and the other two cubic, each input slice along it resized on its own (the clip per slice). order 1:
 * vxt_resample_options_nnunet(in_spacing, out_spacing, 0, opts). Half-pixel grid. *opts must have been initialised.
 * Errors: as vxt_resample_options_nnunet, and VXT_ERR_INVALID_ARGUMENT for an order other than 1 or 3.
 */
VXT_API vxt_status vxt_resample_options_nnunet_order(const double in_spacing[3], const double out_spacing[3],
                                                     int order, vxt_resample_options *opts);

/** Options of vxt_resample_affine(). Initialise with vxt_affine_options_init(). */
typedef struct vxt_affine_options {
    size_t struct_size;
    vxt_interp interp;     /**< VXT_INTERP_LINEAR (default) or VXT_INTERP_NEAREST (round half up) */
    vxt_boundary boundary; /**< default VXT_BOUNDARY_CONSTANT */
    double fill_value;     /**< default 0 */
} vxt_affine_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_affine_options_init(vxt_affine_options *opts);

/**
 * General affine resampling: output voxel (z, y, x) samples the input at (z', y', x', 1) = M (z, y, x, 1),
 * M a 4x4 row-major matrix mapping output voxel indices to input voxel indices (scipy.ndimage.affine_transform
 * with matrix M[0:3, 0:3] and offset M[0:3, 3]). Flips, axis permutations, rotations, zoom and shift in one
 * pass; interpolation by hand on buffers (no image samplers). Coordinates in float32 (docs/PREPROCESSING.md).
 * `out` float32, or the input's dtype with VXT_INTERP_NEAREST (labels). Channels equal. Errors: M not finite,
 * last row not (0, 0, 0, 1), or M[0:3, 0:3] singular (|det| <= 1e-12 * product of its row norms):
 * VXT_ERR_INVALID_ARGUMENT. opts may be NULL (trilinear, constant 0).
 */
VXT_API vxt_status vxt_resample_affine(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                       const double matrix[16], const vxt_affine_options *opts);

/* ---- smoothing ------------------------------------------------------------------------------------------ */

/** Options of vxt_gaussian_smooth(). Initialise with vxt_smooth_options_init(). */
typedef struct vxt_smooth_options {
    size_t struct_size;
    /** Standard deviation per axis (z, y, x), in voxels, or in millimetres when sigma_in_mm. Finite and >= 0; 0
     *  leaves that axis untouched (no pass along it). Default 0, 0, 0: a conversion to float32. */
    double sigma[3];
    int sigma_in_mm;    /**< non-zero: sigma is in mm, divided by `spacing` per axis. Default 0 (voxels). */
    double spacing[3];  /**< voxel size in mm (z, y, x), used only with sigma_in_mm: finite and > 0. */
    double truncate;    /**< the kernel reaches int(truncate * sigma + 0.5) voxels (scipy); default 4; > 0 */
    vxt_boundary boundary; /**< values beyond the edge; default VXT_BOUNDARY_GRID_MIRROR (scipy's 'reflect') */
    double fill_value;  /**< with VXT_BOUNDARY_CONSTANT (scipy's cval); finite; default 0 */
} vxt_smooth_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_smooth_options_init(vxt_smooth_options *opts);

/**
 * Gaussian smoothing, scipy.ndimage.gaussian_filter's: separable, one pass per axis whose sigma s (in voxels) is
 * not 0, in the order z, y, x, each pass writing float32. A pass replaces each line v[0 .. n) along its axis by
 *
 *     out[p] = w[0] v[p] + sum_{j = r .. 1} (v[p - j] + v[p + j]) w[j]
 *
 * with r = int(truncate * s + 0.5) and w[j] = exp(-0.5 j^2 / s^2) normalised so that the 2r + 1 taps sum to 1,
 * computed in double on the host and rounded to float32. The sum runs in that order (the outermost taps first),
 * one float32 rounding per operation, so that both backends give the same bits at any thread count; scipy sums in
 * double. Samples beyond the edge come from opts->boundary: VXT_BOUNDARY_GRID_MIRROR (scipy 'reflect', the
 * default), VXT_BOUNDARY_MIRROR ('mirror'), VXT_BOUNDARY_CLAMP ('nearest'), VXT_BOUNDARY_CONSTANT ('constant',
 * fill_value); the mirrors repeat when the kernel reaches beyond the axis, as scipy's do. Against scipy (float32
 * output) the results agree within 1e-6 of the largest output magnitude (docs/PREPROCESSING.md).
 *
 * Any input type (read as float32, vxt_convert.h) and number of channels (each smoothed on its own); `out` is
 * float32 with the input's channels and shape. In place: out->data may equal in->data when `in` is float32.
 * Temporary memory: one float32 channel. Errors: VXT_ERR_NULL (opts too), VXT_ERR_INVALID_ARGUMENT (a sigma
 * negative or not finite, a spacing not > 0, truncate not > 0, a kernel longer than 2^21 + 1 taps, an unknown
 * boundary, fill_value not finite), VXT_ERR_STRUCT_SIZE, VXT_ERR_OUT_OF_MEMORY; on an OpenCL device
 * VXT_ERR_UNSUPPORTED when the planes one z pass reads do not fit the device's largest buffer.
 */
VXT_API vxt_status vxt_gaussian_smooth(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                       const vxt_smooth_options *opts);

/** skimage.transform.resize's default sigma for smoothing before a resize from in_shape to out_shape:
 *  sigma[a] = max(0, (in_shape[a] / out_shape[a] - 1) / 2), in voxels of the input (0 on an axis that is not
 *  downsampled). Shapes >= 1 (VXT_ERR_INVALID_ARGUMENT otherwise). */
VXT_API vxt_status vxt_antialias_sigma(const int64_t in_shape[3], const int64_t out_shape[3], double sigma[3]);

/* ---- patches -------------------------------------------------------------------------------------------- */

/**
 * Extract the box starting at voxel start[3] (z, y, x; may be negative or beyond the volume) with the shape
 * of `out`, all channels: voxels outside the volume get fill_value. `out` is float32, or has the input's
 * dtype (a plain copy; fill_value must then be exactly representable in it). Channels equal.
 */
VXT_API vxt_status vxt_extract_box(vxt_context *ctx, const vxt_volume *in, const int64_t start[3],
                                   double fill_value, vxt_volume *out);

/**
 * Tri-planar (2.5D) patches: for each of the n voxel positions centers[3*i .. 3*i+2] (z, y, x), the axial
 * (z fixed: rows y, columns x), sagittal (x fixed: rows z, columns y) and coronal (y fixed: rows z, columns
 * x) patches of (2*half[0]+1) rows and (2*half[1]+1) columns centred on it, each channel, float32, voxels
 * outside the volume fill_value. Layout: out[((i*3 + plane)*channels + c)*rows*cols + r*cols + col], plane 0
 * axial, 1 sagittal, 2 coronal. out_count must be at least n*3*channels*rows*cols (VXT_ERR_SHAPE_MISMATCH).
 * Positions may lie outside the volume. half[] in [0, 2^20].
 */
VXT_API vxt_status vxt_extract_triplanar(vxt_context *ctx, const vxt_volume *in, const int64_t *centers, size_t n,
                                         const int64_t half[2], double fill_value, float *out, size_t out_count);

/* ===================================================================================================== */
/* Images: voxels with their geometry, from any format                                                   */
/* ===================================================================================================== */

/*
 * A vxt_image owns voxels together with what every format says about them: element type, shape, channels,
 * where the voxels are in the world (the geometry: affine, spacing, orientation), the intensity scaling of the
 * stored values, a description, and where the image came from. Format specifics stay behind their readers and
 * writers: NIfTI's header fields and extensions are reached through vxt_nifti_get_info() and the other
 * vxt_nifti_* functions below. vxt_image_read_path() and vxt_image_write_path() choose the format (NIfTI-1/2,
 * .npy) from the file, so a new format plugs in without changing their callers. No function here needs a
 * context, and none keeps state between calls: distinct images may be used from distinct threads freely; one
 * image may be read from several threads at once. docs/NIFTI.md has the rules.
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

/** X-macro table of image formats. */
#define VXT_FORMAT_MAP(X)                                                                                      \
    X(VXT_FORMAT_NONE, 0, "none")   /* an image created in memory (vxt_image_create) */                        \
    X(VXT_FORMAT_NIFTI, 1, "nifti") /* NIfTI-1 or NIfTI-2: .nii, .nii.gz, .hdr/.img pairs (docs/NIFTI.md) */  \
    X(VXT_FORMAT_NPY, 2, "npy")     /* NumPy .npy: (y, x), (z, y, x) or (channels, z, y, x), no geometry */ \
    X(VXT_FORMAT_DICOM, 3, "dicom") /* a DICOM series (a folder, files, or one multi-frame file; docs/DICOM.md) */

typedef enum vxt_format { VXT_FORMAT_MAP(VXT_ENUM_MEMBER_) VXT_FORMAT_COUNT_ } vxt_format;

/** The name of a format ("none", "nifti", "npy"); "unknown" otherwise. */
VXT_API const char *vxt_format_name(vxt_format format);

/** Parse a format name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_format_parse(const char *name, vxt_format *out);

/** X-macro table of affine sources: where the affine in use comes from, chosen as nibabel does: the sform when
 *  sform_code > 0, else the qform when qform_code > 0, else the pixdim-based fallback. Codes outside 0..5 count
 *  as 0, as in nibabel. */
#define VXT_AFFINE_SOURCE_MAP(X)                                                                               \
    /* neither code is set: nibabel's fallback, diag(-pixdim[1], pixdim[2], pixdim[3]) centred on the volume   \
     * (see docs/NIFTI.md) */                                                                                  \
    X(VXT_AFFINE_FALLBACK, 0, "fallback")                                                                      \
    X(VXT_AFFINE_SFORM, 1, "sform") /* srow_x, srow_y, srow_z */                                               \
    X(VXT_AFFINE_QFORM, 2, "qform") /* quaternion, qoffset, pixdim[1..3] and qfac, per the NIfTI spec */

typedef enum vxt_affine_source {
    VXT_AFFINE_SOURCE_MAP(VXT_ENUM_MEMBER_) VXT_AFFINE_SOURCE_COUNT_
} vxt_affine_source;

/** "sform", "qform" or "fallback"; "unknown" for other values. Never NULL. */
VXT_API const char *vxt_affine_source_name(vxt_affine_source source);

/** Parse an affine source name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_affine_source_parse(const char *name, vxt_affine_source *out);

/** X-macro table of NIfTI xform codes (qform_code, sform_code): what world space an affine maps to. */
#define VXT_NIFTI_XFORM_MAP(X)                                                                                 \
    X(VXT_NIFTI_XFORM_UNKNOWN, 0, "unknown")                                                                   \
    X(VXT_NIFTI_XFORM_SCANNER_ANAT, 1, "scanner")                                                              \
    X(VXT_NIFTI_XFORM_ALIGNED_ANAT, 2, "aligned")                                                              \
    X(VXT_NIFTI_XFORM_TALAIRACH, 3, "talairach")                                                               \
    X(VXT_NIFTI_XFORM_MNI_152, 4, "mni")                                                                       \
    X(VXT_NIFTI_XFORM_TEMPLATE_OTHER, 5, "template")

typedef enum vxt_nifti_xform { VXT_NIFTI_XFORM_MAP(VXT_ENUM_MEMBER_) VXT_NIFTI_XFORM_COUNT_ } vxt_nifti_xform;

/** The name of an xform code ("unknown", "scanner", "aligned", "talairach", "mni", "template"); "invalid"
 *  for other values. Never NULL. */
VXT_API const char *vxt_nifti_xform_name(int code);

/** Parse an xform code name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_nifti_xform_parse(const char *name, vxt_nifti_xform *out);

/** X-macro table of NIfTI units (xyzt_units = spatial | temporal). */
#define VXT_NIFTI_UNITS_MAP(X)                                                                                 \
    X(VXT_NIFTI_UNITS_UNKNOWN, 0, "unknown")                                                                   \
    X(VXT_NIFTI_UNITS_METER, 1, "m")                                                                           \
    X(VXT_NIFTI_UNITS_MM, 2, "mm")                                                                             \
    X(VXT_NIFTI_UNITS_MICRON, 3, "um")                                                                         \
    X(VXT_NIFTI_UNITS_SEC, 8, "s")                                                                             \
    X(VXT_NIFTI_UNITS_MSEC, 16, "ms")                                                                          \
    X(VXT_NIFTI_UNITS_USEC, 24, "us")                                                                          \
    X(VXT_NIFTI_UNITS_HZ, 32, "Hz")                                                                            \
    X(VXT_NIFTI_UNITS_PPM, 40, "ppm")                                                                          \
    X(VXT_NIFTI_UNITS_RADS, 48, "rad/s")

typedef enum vxt_nifti_units { VXT_NIFTI_UNITS_MAP(VXT_ENUM_MEMBER_) VXT_NIFTI_UNITS_END_ } vxt_nifti_units;

/** Name of the spatial (xyzt_units & 7) or temporal (xyzt_units & 56) part of a units code: "unknown", "m",
 *  "mm", "um", "s", "ms", "us", "Hz", "ppm", "rad/s"; "invalid" for other values. Never NULL. */
VXT_API const char *vxt_nifti_units_name(int units);

/** Parse a units name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_nifti_units_parse(const char *name, vxt_nifti_units *out);

/** X-macro table of NIfTI datatype codes (the header's `datatype`) with their names. */
#define VXT_NIFTI_DATATYPE_MAP(X)                                                                              \
    X(VXT_NIFTI_DT_BINARY, 1, "binary")                                                                        \
    X(VXT_NIFTI_DT_UINT8, 2, "uint8")                                                                          \
    X(VXT_NIFTI_DT_INT16, 4, "int16")                                                                          \
    X(VXT_NIFTI_DT_INT32, 8, "int32")                                                                          \
    X(VXT_NIFTI_DT_FLOAT32, 16, "float32")                                                                     \
    X(VXT_NIFTI_DT_COMPLEX64, 32, "complex64")                                                                 \
    X(VXT_NIFTI_DT_FLOAT64, 64, "float64")                                                                     \
    X(VXT_NIFTI_DT_RGB24, 128, "RGB24")                                                                        \
    X(VXT_NIFTI_DT_INT8, 256, "int8")                                                                          \
    X(VXT_NIFTI_DT_UINT16, 512, "uint16")                                                                      \
    X(VXT_NIFTI_DT_UINT32, 768, "uint32")                                                                      \
    X(VXT_NIFTI_DT_INT64, 1024, "int64")                                                                       \
    X(VXT_NIFTI_DT_UINT64, 1280, "uint64")                                                                     \
    X(VXT_NIFTI_DT_FLOAT128, 1536, "float128")                                                                 \
    X(VXT_NIFTI_DT_COMPLEX128, 1792, "complex128")                                                             \
    X(VXT_NIFTI_DT_COMPLEX256, 2048, "complex256")                                                             \
    X(VXT_NIFTI_DT_RGBA32, 2304, "RGBA32")

typedef enum vxt_nifti_datatype {
    VXT_NIFTI_DATATYPE_MAP(VXT_ENUM_MEMBER_) VXT_NIFTI_DATATYPE_END_
} vxt_nifti_datatype;

/** NIfTI datatype code -> name: "uint8", "int16", ..., "complex64", "RGB24", ...; "invalid" for codes that
 *  are not NIfTI datatypes. Never NULL. */
VXT_API const char *vxt_nifti_datatype_name(int datatype);

/** Parse a NIfTI datatype name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_nifti_datatype_parse(const char *name, vxt_nifti_datatype *out);

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

/** An image: voxels, geometry and metadata. */
typedef struct vxt_image vxt_image;

/* Options of the NIfTI writer (declared with the NIfTI functions below). */
struct vxt_nifti_write_options;

/** X-macro table of scalings: what reading hands back as voxel values. */
#define VXT_SCALING_MAP(X)                                                                                     \
    /* float32 when the stored scaling applies (slope finite and non-zero) and is not the identity (slope 1,   \
     * intercept 0), else the stored type: the values the file means (e.g. Hounsfield units), in the narrowest \
     * type that holds them, as nibabel's dataobj gives them */                                                \
    X(VXT_SCALING_AUTO, 0, "auto")                                                                             \
    /* the stored values in the stored type; the scaling is only reported (and rewritten) */                   \
    X(VXT_SCALING_RAW, 1, "raw")                                                                               \
    /* always float32: (float)raw * (float)slope, then + (float)inter, each rounded to float32 (a multiply by 1 \
     * and an add of 0 are skipped, as nibabel skips them), when the scaling applies; (float)raw otherwise.     \
     * Equal to nibabel's float32 scaling for 8- and 16-bit types */                                           \
    X(VXT_SCALING_FLOAT32, 2, "float32")

typedef enum vxt_scaling { VXT_SCALING_MAP(VXT_ENUM_MEMBER_) VXT_SCALING_COUNT_ } vxt_scaling;

/** The name of a scaling ("auto", "raw", "float32"); "unknown" otherwise. */
VXT_API const char *vxt_scaling_name(vxt_scaling scaling);

/** Parse a scaling name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_scaling_parse(const char *name, vxt_scaling *out);

/** vxt_read_options.volume: read every volume of a 4D (or higher) file, as the channels of the image: channel c
 *  is volume c (NIfTI: dimensions 4..7 flattened, dim[4] fastest). */
#define VXT_READ_ALL_VOLUMES (-1)

/** vxt_read_options.flags: read and check the header (and NIfTI extensions) only; the image has no voxels
 *  (vxt_image_volume() fails with VXT_ERR_STATE) and the data is neither read nor checked. */
#define VXT_READ_HEADER_ONLY 0x1u

/** Options of every reader (vxt_image_read_path, vxt_nifti_read_file, vxt_nifti_read_memory). Initialise with
 *  vxt_read_options_init(). */
typedef struct vxt_read_options {
    size_t struct_size;  /**< set by vxt_read_options_init() */
    vxt_scaling scaling; /**< default VXT_SCALING_AUTO */
    /** Which 3D volume of a file with more than 3 dimensions to read (0-based), or VXT_READ_ALL_VOLUMES
     *  (default) for all of them as channels. */
    int64_t volume;
    /** Refuse images whose voxel data (plus NIfTI extensions) need more than this many bytes in memory (with
     *  VXT_ERR_OUT_OF_MEMORY, before allocating); 0 (default) = no limit. For servers that read untrusted
     *  files. A compressed file is read whole for faster decompression only when its bytes fit the limit too
     *  (and its size is plausible for its header); otherwise it is streamed. */
    uint64_t max_bytes;
    unsigned flags; /**< VXT_READ_* flags; default 0 */
    /** DICOM: the series to read from a folder or a set of files holding several: its SeriesInstanceUID, or its
     *  number in vxt_dicom_scan_get()'s list (1-based, e.g. "2"; `voxtile header` prints it). NULL or "" (default):
     *  the only one there is (several: VXT_ERR_INVALID_ARGUMENT, the message lists them). The string is only read
     *  during the call. */
    const char *dicom_series;
    unsigned dicom_flags; /**< VXT_DICOM_* flags; default 0: refuse gaps, duplicates and gantry tilt */
    /** DICOM: how many files of a series are read and decoded at once (each thread takes the next slice; the image
     *  and any error are the same whatever the count). 0 (default) = the CPUs available to the process, at most
     *  16; 1 = in the calling thread only. At most 1024. */
    int threads;
} vxt_read_options;

/** vxt_read_options.dicom_flags: keep a series whose slices are unevenly spaced or have a gap (a missing slice):
 *  the slices are stacked as they are and placed evenly from the first to the last (as dcm2niix writes them);
 *  vxt_image_info.notes says by how much the spacing varied. Without it such a series is refused. */
#define VXT_DICOM_KEEP_IRREGULAR 0x1u
/** vxt_read_options.dicom_flags: keep one slice of each position where several files share it (the one with the
 *  lowest InstanceNumber, then the first found), instead of refusing the series. */
#define VXT_DICOM_DROP_DUPLICATES 0x2u
/** vxt_read_options.dicom_flags: correct a gantry tilt (slices sheared along their planes) by resampling each slice
 *  onto an orthogonal grid, as dcm2niix does (docs/DICOM.md), instead of refusing the series. */
#define VXT_DICOM_CORRECT_TILT 0x4u

/** Fill *opts with the defaults documented above and set struct_size. */
VXT_API void vxt_read_options_init(vxt_read_options *opts);

/**
 * Read an image from a file in any supported format, recognised by its content (and, for NIfTI pairs, its
 * name): NIfTI (a gzip stream or the NIfTI magic; .hdr/.img pairs), NumPy .npy (its magic). opts may be NULL
 * for defaults. The format's own reader does the work (vxt_nifti_read_file, the .npy reader), with its errors;
 * a file in no known format is VXT_ERR_FORMAT ("not a NIfTI or .npy file"). *out is NULL on failure.
 *
 * .npy arrays of 2 (y, x), 3 (z, y, x) or 4 (channels, z, y, x) dimensions are read as images with an identity
 * geometry (1 mm voxels, no orientation information: sform and qform codes 0); scaling does not apply (no
 * stored scaling); `volume` picks one channel of a 4D array.
 */
VXT_API vxt_status vxt_image_read_path(const char *path, const vxt_read_options *opts, vxt_image **out);

/**
 * Write an image to a file in the format its name says: ".nii" or ".nii.gz" (NIfTI, with `nifti` options, NULL
 * for defaults; see vxt_nifti_write_file), ".npy" (a C-order array of shape (z, y, x) for one channel, (channels,
 * z, y, x) otherwise, in the image's dtype, native byte order; the geometry is not kept, and since an array has no
 * scaling, stored values whose scaling applies and was not applied are written as the values they mean, float32,
 * as VXT_SCALING_FLOAT32 reads them). Names are compared
 * case-insensitively. The file is written to a temporary file beside `path`, flushed and renamed over it: on any
 * failure nothing is left and an existing file at `path` is untouched. Errors: those of the format's writer,
 * and VXT_ERR_INVALID_ARGUMENT for a name with no known extension.
 */
VXT_API vxt_status vxt_image_write_path(const vxt_image *img, const char *path,
                                        const struct vxt_nifti_write_options *nifti);

/**
 * A set of output files that appear together: the files of one result (labels, probabilities, a picture).
 * Each vxt_output_set_add_*() writes one whole file to a temporary in its target's directory and flushes it to
 * disk; no target changes until vxt_output_set_commit() moves them all into place, each by one rename, after
 * every one of them is complete. A failure before the commit (an add that fails, a full disk, a process killed)
 * leaves every target as it was: vxt_output_set_destroy() of a set not committed removes its temporaries, and a
 * killed process leaves none behind (unnamed temporaries, O_TMPFILE; where a file system has none, named ones,
 * ".<name>.vxt-<pid>-<hex>.tmp", which the next write in that directory removes once their process is gone).
 * The commit names every file first and then renames them back to back, flushing the directories only after
 * the last: only a failure of a rename there (rare: the files are complete, the directory writable) or a kill in
 * the microseconds between two renames can leave some targets new and others old; the commit's message then names
 * the ones in place. vxt_image_write_path()
 * is a set of one. A set is used by one thread at a time.
 */
typedef struct vxt_output_set vxt_output_set;

/** Create an empty set. Errors: VXT_ERR_NULL, VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_output_set_create(vxt_output_set **out);

/** Write an image into the set: NIfTI (.nii, .nii.gz; `nifti` options, NULL for the defaults) or .npy by the
 *  path's extension. Errors: VXT_ERR_NULL; VXT_ERR_INVALID_ARGUMENT (no known extension, a path the set holds
 *  already); VXT_ERR_STATE (committed already); VXT_ERR_IO (the temporary cannot be made or written; nothing
 *  is left behind); as vxt_nifti_write_file. */
VXT_API vxt_status vxt_output_set_add_image(vxt_output_set *set, const vxt_image *img, const char *path,
                                           const struct vxt_nifti_write_options *nifti);

/** Writes a file's bytes to `fd` (a new, empty file open for writing; do not close it). 0 on success; anything
 *  else is a failure (errno, when set, is reported). */
typedef int (*vxt_output_write_fn)(void *user, int fd);

/** Write a file of the caller's (a picture, a report) into the set: `write` is called once, now, with the
 *  temporary's descriptor. Errors: as vxt_output_set_add_image; VXT_ERR_IO when `write` fails. */
VXT_API vxt_status vxt_output_set_add_file(vxt_output_set *set, const char *path, vxt_output_write_fn write,
                                          void *user);

/** Put a streamed .npy file (vxt_npy_writer, every element written) into the set, for the commit to move into place
 *  with the others instead of vxt_npy_writer_commit(). The writer is taken in every case (released; on failure its
 *  temporary is removed). Errors: VXT_ERR_NULL; VXT_ERR_STATE (elements not written, or the set committed already);
 *  VXT_ERR_INVALID_ARGUMENT (its path is in the set already); VXT_ERR_IO (it cannot be flushed to disk). */
VXT_API vxt_status vxt_output_set_add_npy_writer(vxt_output_set *set, vxt_npy_writer *w);

/** Move every file of the set into place (one rename each, then the directories are synced). Errors:
 *  VXT_ERR_NULL; VXT_ERR_STATE (committed already); VXT_ERR_IO (a rename failed: the message names the files in
 *  place already). A set with no files commits nothing. */
VXT_API vxt_status vxt_output_set_commit(vxt_output_set *set);

/** Release a set; the temporaries of one not committed are removed and the targets stay as they were. NULL is
 *  ignored. */
VXT_API void vxt_output_set_destroy(vxt_output_set *set);

/**
 * Create an image of `channels` x `shape` (volume order: nk, nj, ni) voxels of `dtype`, filled with zeros.
 * With `reference` NULL, its geometry is vxt_geometry_init()'s (set it with vxt_image_set_geometry());
 * otherwise it takes the reference's geometry: both the qform and the sform with their codes, pixdim[0..3]
 * and the spatial units; and, for a NIfTI reference, its NIfTI version (so that a NIfTI-2 reference's
 * double-precision geometry is kept). Nothing else is copied (no description, intent, scaling or extensions).
 * The reference's shape must equal `shape` (derive a new geometry with vxt_geometry_resize() for another grid).
 * Its format is VXT_FORMAT_NONE. scaling: slope 1, intercept 0. Errors: VXT_ERR_NULL (out),
 * VXT_ERR_INVALID_ARGUMENT (unknown dtype, channels or a shape entry < 1), VXT_ERR_SHAPE_MISMATCH (shape differs
 * from the reference's), VXT_ERR_OVERFLOW, VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_image_create(vxt_dtype dtype, int64_t channels, const int64_t shape[3],
                                    const vxt_image *reference, vxt_image **out);

/** Release an image and its voxels. NULL is ignored. Views from vxt_image_volume() die with it. */
VXT_API void vxt_image_destroy(vxt_image *img);

/** A view of the image's voxels (owned by the image, writable, valid until vxt_image_destroy()). Errors:
 *  VXT_ERR_NULL, VXT_ERR_STATE (read with VXT_READ_HEADER_ONLY). */
VXT_API vxt_status vxt_image_volume(const vxt_image *img, vxt_volume *view);

/** What any image says about itself, whatever its format. Set struct_size = sizeof(vxt_image_info) before
 *  calling vxt_image_get_info(). */
typedef struct vxt_image_info {
    size_t struct_size;
    vxt_format format;      /**< the format it was read from; VXT_FORMAT_NONE for images created in memory */
    const char *source;     /**< the path it was read from, "memory", or "" (created); valid while it lives */
    int compressed;         /**< 1 when the file (or its data file) was gzip-compressed */
    vxt_dtype stored_dtype; /**< element type of the stored values */
    vxt_dtype dtype;        /**< element type of the voxels the image holds (float32 when scaled) */
    int64_t channels;       /**< = vxt_volume.channels */
    int64_t shape[3];       /**< = vxt_volume.shape (volume order) */
    int has_data;           /**< 0 when read with VXT_READ_HEADER_ONLY */
    int64_t volumes;        /**< 3D volumes in the source (4D NIfTI: product of dim[4..]; 4D .npy: channels) */
    int64_t volume_index;   /**< the volume read, or VXT_READ_ALL_VOLUMES */
    double spacing[3];      /**< voxel sizes in mm, volume order (= vxt_geometry.spacing) */
    double affine[4][4];    /**< the affine in use (= vxt_geometry.affine): (i, j, k, 1) to world mm, RAS+ */
    char orientation[4];    /**< axis codes of i, j, k (= vxt_geometry.orientation), e.g. "RAS" */
    /** The intensity scaling of the stored values: value = stored * slope + intercept (NIfTI scl_slope and
     *  scl_inter); a slope of 0 or not finite means none. As stored (1 and 0 for created images). */
    double scl_slope, scl_inter;
    int scaled;             /**< 1 when that scaling was applied while reading */
    char description[81];   /**< free text (NIfTI descrip; DICOM: SeriesDescription), up to its first NUL */
    /** What the reader tolerated or changed, for a user to see ("gantry tilt of 15 degrees corrected"...); "" when
     *  nothing. Valid while the image lives. */
    const char *notes;
    /** DICOM PixelPaddingValue (0028,0120) (and PixelPaddingRangeLimit (0028,0121)): the voxels outside the scanned
     *  field of view all hold padding_value, in the units of the voxels the image holds (stored or rescaled), so
     *  that a later step can replace it (vxt_replace_value). has_padding 0: none. */
    int has_padding;
    double padding_value;
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

/** Set the description: at most 80 bytes are kept (the NIfTI field; written without a NUL when full). Errors:
 *  VXT_ERR_NULL. */
VXT_API vxt_status vxt_image_set_description(vxt_image *img, const char *text);

/** Set the intensity scaling written with the voxels (the voxels themselves are not changed). slope 0 means
 *  "no scaling". Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (non-finite values, or a scaling on an image
 *  whose voxels were already scaled while reading). */
VXT_API vxt_status vxt_image_set_scaling(vxt_image *img, double slope, double inter);

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

/* ===================================================================================================== */
/* DICOM: series found in folders and files, listed and read (through GDCM)                               */
/* ===================================================================================================== */

/*
 * A DICOM series is many files (one per slice), or one multi-frame (enhanced) file. vxt_image_read_path() reads a
 * folder (searched recursively) or a DICOM file like any image; the functions below list what a folder holds
 * first, and read one series of it. Slices are grouped by SeriesInstanceUID, then by size and orientation (a
 * series whose slices differ there is inconsistent: its parts are listed apart and each must be chosen by its
 * number); sorted along the slice normal (ImagePositionPatient . (row x column direction)), never by file name or
 * InstanceNumber; checked for even spacing, duplicates and gantry tilt (refused unless vxt_read_options.
 * dicom_flags says otherwise); rescaled (RescaleSlope/Intercept) and placed in RAS as dcm2niix places them.
 * docs/DICOM.md has the rules, what is refused and why. Built without GDCM, every DICOM call fails with
 * VXT_ERR_UNSUPPORTED. No state is shared between calls: distinct scans may be used from distinct threads.
 */

/** What vxt_dicom_scan_get() says of one series (one volume). Set struct_size = sizeof(vxt_dicom_series). */
typedef struct vxt_dicom_series {
    size_t struct_size;
    int64_t index;          /**< its number in the list, from 1 (what vxt_read_options.dicom_series takes) */
    char uid[65];           /**< SeriesInstanceUID (0020,000E) */
    int part, parts;        /**< of a SeriesInstanceUID split by size or orientation: part of parts (else 1 of 1) */
    int64_t number;         /**< SeriesNumber (0020,0011); INT64_MIN when absent */
    char description[65];   /**< SeriesDescription (0008,103E) */
    char modality[17];      /**< Modality (0008,0060) */
    int64_t files;          /**< files holding its slices */
    int enhanced;           /**< one multi-frame file whose frames are the slices */
    int64_t shape[3];       /**< slices, rows, columns (volume order) */
    double spacing[3];      /**< between slices (along the normal), rows, columns (mm) */
    double affine[4][4];    /**< voxel (i, j, k, 1) to RAS mm, as read (zeros when it cannot be read) */
    char orientation[4];    /**< axis codes of i, j, k ("LPS", "LAS"...); "???" when it cannot be read */
    double tilt_degrees;    /**< gantry tilt (shear of the slices along their planes); 0 when none */
    char transfer_syntaxes[256]; /**< the transfer syntaxes of its files by name (GDCM's), "; "-separated */
    int readable;           /**< 1 when vxt_dicom_scan_read() would read it with the scan's options */
    char problem[512];      /**< why it cannot be read (the error it would give), "" when readable */
    char notes[512];        /**< what reading it tolerates or changes ("1 duplicate slice dropped"), or "" */
} vxt_dicom_series;

/** A folder's or a set of files' DICOM series: the headers read, the slices grouped and checked. */
typedef struct vxt_dicom_scan vxt_dicom_scan;

/**
 * Scan `path`: a folder (every regular file under it, links followed, each folder once) or a single file. Only
 * headers are read (not pixel data). Files that are not DICOM, and DICOM objects that are not images (reports,
 * DICOMDIR), are skipped in a folder (counted by vxt_dicom_scan_skipped()); given as `path` itself a file that is
 * not DICOM is VXT_ERR_FORMAT. opts (may be NULL) gives dicom_flags (what counts as readable) and max_bytes. Every
 * element's declared length is checked against what holds it before GDCM reads the file (GDCM allocates a value at
 * its declared length). A DICOM file that cannot be parsed, or declares a length it does not hold, makes every
 * series of the scan unreadable (it could belong to any of them); the problem names it. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (options), VXT_ERR_IO
 * (path cannot be read), VXT_ERR_FORMAT (no DICOM image at all, or `path` not DICOM), VXT_ERR_OUT_OF_MEMORY,
 * VXT_ERR_UNSUPPORTED (built without GDCM). *out is NULL on failure; release with vxt_dicom_scan_destroy().
 */
VXT_API vxt_status vxt_dicom_scan_path(const char *path, const vxt_read_options *opts, vxt_dicom_scan **out);

/** Scan `count` files (each must be DICOM: VXT_ERR_FORMAT otherwise), as vxt_dicom_scan_path(). Errors: also
 *  VXT_ERR_INVALID_ARGUMENT (count 0) and VXT_ERR_NULL (a NULL path). */
VXT_API vxt_status vxt_dicom_scan_files(const char *const *paths, size_t count, const vxt_read_options *opts,
                                        vxt_dicom_scan **out);

/** The number of series found (volumes: a series split by size or orientation counts once per part); 0 for NULL. */
VXT_API int64_t vxt_dicom_scan_count(const vxt_dicom_scan *scan);

/** Files skipped by the scan: not DICOM, or DICOM without an image; 0 for NULL. */
VXT_API int64_t vxt_dicom_scan_skipped(const vxt_dicom_scan *scan);

/** Describe series `index` (1 .. vxt_dicom_scan_count()), in order of SeriesNumber, then UID. Errors:
 *  VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (index out of range). */
VXT_API vxt_status vxt_dicom_scan_get(const vxt_dicom_scan *scan, int64_t index, vxt_dicom_series *out);

/**
 * Read one series of a scan as an image: `series` is its SeriesInstanceUID or its number ("2"), or NULL for the
 * only one. opts (may be NULL; its dicom_series is ignored here) gives scaling, flags (VXT_READ_HEADER_ONLY),
 * max_bytes and dicom_flags, which must be the scan's (VXT_ERR_INVALID_ARGUMENT otherwise: scan again with the
 * flags to read with). The voxels are DICOM's in
 * NIfTI order as dcm2niix writes them (docs/DICOM.md): i along the columns, j along the rows reversed, k along the
 * slice normal; values are the stored ones (BitsStored, PixelRepresentation) with the series' RescaleSlope/
 * Intercept as the image's scaling, applied as vxt_read_options.scaling says (as for NIfTI); when the rescale
 * differs between slices, each slice's own is applied and the image is float32 whatever the scaling option.
 * Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (no such series, several and none chosen),
 * VXT_ERR_FORMAT (inconsistent series, bad geometry or spacing, a gap or duplicate refused, corrupt pixel data),
 * VXT_ERR_UNSUPPORTED (transfer syntax, color, gantry tilt refused), VXT_ERR_TRUNCATED, VXT_ERR_IO,
 * VXT_ERR_OVERFLOW, VXT_ERR_OUT_OF_MEMORY (also above max_bytes). Each message names the file and the tag.
 */
VXT_API vxt_status vxt_dicom_scan_read(const vxt_dicom_scan *scan, const char *series, const vxt_read_options *opts,
                                       vxt_image **out);

/** Release a scan. NULL is ignored. */
VXT_API void vxt_dicom_scan_destroy(vxt_dicom_scan *scan);

/** Read a series from `count` files (vxt_dicom_scan_files() then vxt_dicom_scan_read() with opts->dicom_series). */
VXT_API vxt_status vxt_dicom_read_files(const char *const *paths, size_t count, const vxt_read_options *opts,
                                        vxt_image **out);

/** Read one DICOM file from memory (a single- or multi-frame image; `data` is only read during the call), as
 *  vxt_dicom_scan_read() would read it from a file; "memory" names it in messages. */
VXT_API vxt_status vxt_dicom_read_memory(const void *data, size_t size, const vxt_read_options *opts,
                                         vxt_image **out);

/** The GDCM version voxtile was built with ("3.0.21"), or NULL when built without GDCM. */
VXT_API const char *vxt_dicom_gdcm_version(void);

/* ===================================================================================================== */
/* NIfTI: the format's own reader, writer and header fields                                               */
/* ===================================================================================================== */

/**
 * Read a NIfTI image from a file. Accepted: single files (.nii, magic "n+1"/"n+2"), compressed or not (gzip
 * is recognised by its magic bytes, whatever the name), and pairs (magic "ni1"/"ni2"): `path` names the
 * .hdr (or .hdr.gz) and the data is read from the .img (or .img.gz) beside it; naming the .img reads its
 * .hdr. opts may be NULL for defaults. On success *out owns the voxels (16-byte aligned) and the metadata,
 * the header extensions included (so that a rewritten file carries them).
 *
 * Errors (the message names the file and the offending field and value): VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE,
 * VXT_ERR_INVALID_ARGUMENT (options: unknown scaling or flags, volume < -1 or beyond the file's volumes),
 * VXT_ERR_IO (cannot open or read), VXT_ERR_TRUNCATED (header, extensions or data end early),
 * VXT_ERR_FORMAT (sizeof_hdr, magic, dim, bitpix, vox_offset (also 0 in a single file, where the tools
 * disagree), extension sizes, scl_inter, corrupt gzip stream, non-finite geometry in use), VXT_ERR_UNSUPPORTED
 * (RGB, complex, binary and float128 datatypes; ANALYZE 7.5), VXT_ERR_OVERFLOW (dims whose size product
 * overflows), VXT_ERR_OUT_OF_MEMORY (also above max_bytes). *out is NULL on failure.
 */
VXT_API vxt_status vxt_nifti_read_file(const char *path, const vxt_read_options *opts, vxt_image **out);

/**
 * Read a single-file NIfTI image (.nii bytes, or .nii.gz bytes recognised by the gzip magic) from memory.
 * `data` is only read during the call (the image copies what it keeps). Pairs (magic "ni1"/"ni2") are
 * refused with VXT_ERR_UNSUPPORTED. Other errors as vxt_nifti_read_file(), with "memory" for the file name.
 */
VXT_API vxt_status vxt_nifti_read_memory(const void *data, size_t size, const vxt_read_options *opts,
                                         vxt_image **out);

/** Options for vxt_nifti_write_file() and vxt_nifti_write_memory(). Initialise with
 *  vxt_nifti_write_options_init(). */
typedef struct vxt_nifti_write_options {
    size_t struct_size;
    /** 1 or 2 to force NIfTI-1 or NIfTI-2; 0 (default): the image's version (vxt_nifti_info.nifti_version),
     *  or NIfTI-2 when a value does not fit a NIfTI-1 header (a dim above 32767). */
    int nifti_version;
    /** gzip compression level 1 (fastest) .. 9 (smallest), or 0 for stored blocks; default 6. */
    int compression_level;
    /** vxt_nifti_write_memory() only: 1 for .nii.gz bytes, 0 (default) for .nii bytes. Paths are compressed
     *  by their extension instead. */
    int gzip;
} vxt_nifti_write_options;

/** Fill *opts with the defaults documented above and set struct_size. */
VXT_API void vxt_nifti_write_options_init(vxt_nifti_write_options *opts);

/**
 * Write the image as a single-file NIfTI: .nii, or gzip-compressed when `path` ends in ".nii.gz"
 * (case-insensitive); other names are refused. The header carries the image's metadata, geometry and NIfTI
 * fields (vxt_nifti_info: intent, slice timing, ...) and its extensions; values are written in the host's byte
 * order with vox_offset 352 (NIfTI-1) or 544 (NIfTI-2) plus the extensions. The file is written to a new
 * temporary file in the same directory, flushed to disk and renamed over `path`: on any failure no partial
 * output remains and an existing file at `path` is untouched. opts may be NULL for defaults. Errors:
 * VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (extension, options, a value that does not fit a
 * forced NIfTI-1 header), VXT_ERR_UNSUPPORTED (float16 voxels: NIfTI has no such datatype), VXT_ERR_STATE (no
 * voxels), VXT_ERR_IO (the directory is not writable, the disk is full: the message has the path and the
 * system's reason), VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_nifti_write_file(const vxt_image *img, const char *path, const vxt_nifti_write_options *opts);

/**
 * Write the image as .nii (or, with opts->gzip, .nii.gz) bytes into a new buffer: *data (release it with
 * vxt_buffer_free()) and *size. Errors as vxt_nifti_write_file(), without VXT_ERR_IO; *data is NULL and
 * *size 0 on failure.
 */
VXT_API vxt_status vxt_nifti_write_memory(const vxt_image *img, const vxt_nifti_write_options *opts, void **data,
                                          size_t *size);

/** The NIfTI header fields of an image, beyond what vxt_image_info and vxt_geometry hold: for an image read
 *  from NIfTI, its file's; for any other image, what a NIfTI writer would write. NIfTI-1 values are widened
 *  exactly (int16 -> int64, float -> double). Set struct_size = sizeof(vxt_nifti_info) before the call. */
typedef struct vxt_nifti_info {
    size_t struct_size;
    int nifti_version;  /**< 1 or 2: the file's, or the one vxt_nifti_write_*() writes by default */
    int big_endian;     /**< 1 when the file was big-endian (0 otherwise) */
    int single_file;    /**< 1 for magic "n+1"/"n+2" (and images not read from NIfTI), 0 for a .hdr/.img pair */
    int datatype;       /**< NIfTI datatype code of the stored values (vxt_nifti_datatype) */
    int bitpix;         /**< bits per stored value */
    /** NIfTI order: dim[0] = number of dimensions, dim[1..dim[0]] = sizes as in the file (dim[4..] = 1 and
     *  dim[0] <= 3 when one volume was selected); entries beyond dim[0] are 1. */
    int64_t dim[8];
    int64_t vox_offset; /**< byte offset of the voxels in the (data) file, as used */
    double cal_min, cal_max;
    int intent_code;
    double intent_p[3];
    char intent_name[17];
    char aux_file[25];
    int dim_info;       /**< freq_dim | phase_dim << 2 | slice_dim << 4 */
    int slice_code;
    int64_t slice_start, slice_end;
    double slice_duration, toffset;
    size_t extension_count; /**< header extensions kept (see vxt_nifti_get_extension()) */
} vxt_nifti_info;

/** The image's NIfTI header fields. info->struct_size must be set. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_nifti_get_info(const vxt_image *img, vxt_nifti_info *info);

/** Set the NIfTI intent: a code (e.g. 1002 for labels), its name (at most 15 bytes kept; NULL for none) and
 *  parameters (NULL for zeros). Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (code outside -32768..32767,
 *  non-finite parameters). */
VXT_API vxt_status vxt_nifti_set_intent(vxt_image *img, int code, const char *name, const double params[3]);

/** Number of NIfTI header extensions the image carries. 0 for NULL. */
VXT_API size_t vxt_nifti_extension_count(const vxt_image *img);

/** Extension `index` (0-based, in file order): its NIfTI ecode and its content (the esize - 8 bytes after
 *  esize and ecode, zero padding included; borrowed, valid until the image is destroyed). Any output
 *  pointer may be NULL. Errors: VXT_ERR_NULL (img), VXT_ERR_INVALID_ARGUMENT (index out of range). */
VXT_API vxt_status vxt_nifti_get_extension(const vxt_image *img, size_t index, int *ecode, const void **data,
                                           size_t *size);

/** Append a NIfTI header extension (copied; written padded with zeros to a multiple of 16 bytes). Errors:
 *  VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (size over 2^31 - 32), VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_nifti_add_extension(vxt_image *img, int ecode, const void *data, size_t size);

/** Release a buffer that voxtile allocated for the caller (vxt_nifti_write_memory(), vxt_plan_to_json()). NULL
 *  is ignored. */
VXT_API void vxt_buffer_free(void *data);

/* ===================================================================================================== */
/* Models: runners                                                                                        */
/* ===================================================================================================== */

/*
 * A runner predicts tiles: the sliding window hands it each batch of tiles. Runners are made from a
 * specification, "KIND" or "KIND:ARGUMENT", and a configuration string: the text plans use for their models.
 *   identity            the output is the input (as many channels as the input has): for checking a pipeline
 *   bands:E1,E2,...     a demonstration, not a trained network: K = (number of edges + 1) classes, class k
 *                       covers intensities [E_k, E_{k+1}), its logit is minus `sharpness` (config
 *                       "sharpness=S", default 8) times the distance of the voxel's value to that band
 *   plugin:PATH         a shared library exporting the plugin ABI (voxtile_plugin.h), loaded with dlopen; the
 *                       configuration string goes to its vxt_plugin_create
 * or from a callback (vxt_runner_create_callback): a server's own inference engine. A runner's predictions are
 * serialised by the runner itself, so one runner may serve several pipelines running at once (they take
 * turns); its callback or plugin is never called from two threads at the same time.
 *
 * Trust: "plugin:PATH" loads and runs native code from the library at PATH (a path: a name without '/' is refused,
 * never looked up in the library search path), in the calling process, with its privileges; nothing checks what it
 * does. The library loads what it is given: a program that takes plans or runner specifications from other people
 * (a downloaded model folder, a request) decides whether it accepts "plugin:" there. `voxtile` does: a plugin named
 * by a plan file runs only with --allow-plugin for that file (docs/DESIGN.md, "Trust"). "onnx:" and "torchscript:"
 * files are data for their runtimes, not native code.
 */

/** X-macro table of runner kinds: the prefix of a runner specification. */
#define VXT_RUNNER_KIND_MAP(X)                                                                                 \
    X(VXT_RUNNER_CALLBACK, 0, "callback") /* vxt_runner_create_callback (not a specification) */               \
    X(VXT_RUNNER_IDENTITY, 1, "identity")                                                                      \
    X(VXT_RUNNER_BANDS, 2, "bands")                                                                            \
    X(VXT_RUNNER_PLUGIN, 3, "plugin")                                                                          \
    X(VXT_RUNNER_ONNX, 4, "onnx")               /* ONNX files through OpenVINO (a module; optional at build) */ \
    X(VXT_RUNNER_TORCHSCRIPT, 5, "torchscript") /* TorchScript files through libtorch (a module; optional) */

typedef enum vxt_runner_kind { VXT_RUNNER_KIND_MAP(VXT_ENUM_MEMBER_) VXT_RUNNER_KIND_COUNT_ } vxt_runner_kind;

/** The name of a runner kind ("callback", "identity", "bands", "plugin", "onnx", "torchscript"); "unknown"
 *  otherwise. */
VXT_API const char *vxt_runner_kind_name(vxt_runner_kind kind);

/** Parse a runner kind name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_runner_kind_parse(const char *name, vxt_runner_kind *out);

/**
 * Whether runners of `kind` can be made here: 1 or 0, and one line into `detail` (may be NULL; detail_size bytes
 * at most, NUL included): what it runs on ("OpenVINO 2025.4.0, CPU"), or why it cannot ("runner 'onnx' is not in
 * this build (...)"). "onnx" and "torchscript" are modules of their own (libvoxtile_onnx.so,
 * libvoxtile_torchscript.so in a directory "voxtile-runners" next to the library or the program, or the installed
 * one), built when their runtime was found at configure time; the others are always there.
 */
VXT_API int vxt_runner_available(vxt_runner_kind kind, char *detail, size_t detail_size);

/** A model that predicts tiles. */
typedef struct vxt_runner vxt_runner;

/** What a runner takes and produces. Set struct_size = sizeof(vxt_runner_info) before vxt_runner_get_info();
 *  vxt_runner_create_callback() reads one the caller filled. */
typedef struct vxt_runner_info {
    size_t struct_size;
    vxt_runner_kind kind;   /**< filled by the library */
    char name[160];         /**< for messages and reports */
    int64_t in_channels;    /**< input channels it needs; 0 = any */
    int64_t out_channels;   /**< channels it produces; 0 = as many as its input has (identity) */
    vxt_dtype output_dtype; /**< VXT_DTYPE_F32 or VXT_DTYPE_F16 */
    int64_t roi[3];         /**< the tile size it needs (z, y, x); zeros = any */
    int preferred_batch;    /**< tiles per call it works best with; 0 = no preference */
} vxt_runner_info;

/**
 * Make a runner from a specification and a configuration string (NULL or "" for none). Errors: VXT_ERR_NULL,
 * VXT_ERR_INVALID_ARGUMENT (an unknown kind, the message lists the kinds; a malformed specification or
 * configuration), VXT_ERR_IO (plugin: the library cannot be loaded), VXT_ERR_UNSUPPORTED (plugin: a missing
 * symbol, another plugin ABI version), VXT_ERR_PREDICTOR (plugin: its create failed; the message has the
 * plugin's own), VXT_ERR_OUT_OF_MEMORY. Each message names the specification.
 */
VXT_API vxt_status vxt_runner_create(const char *spec, const char *config, vxt_runner **out);

/**
 * A runner that calls `predict(user, batch)` (host form: fill batch->output from batch->input). `info` says
 * what it takes and produces (struct_size, name, channels, output dtype, roi, preferred batch; kind is ignored);
 * `user` is borrowed and must outlive the runner. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE,
 * VXT_ERR_INVALID_ARGUMENT (out_channels < 0, output dtype not float32/float16, negative sizes).
 */
VXT_API vxt_status vxt_runner_create_callback(const vxt_runner_info *info, vxt_predict_fn predict, void *user,
                                              vxt_runner **out);

/** Describe a runner. info->struct_size must be set. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_runner_get_info(const vxt_runner *runner, vxt_runner_info *info);

/** Predict a batch (host form): fill batch->output. Serialised per runner. Errors: VXT_ERR_NULL,
 *  VXT_ERR_INVALID_ARGUMENT (a batch that does not fit the runner: channels, tile size, output dtype),
 *  VXT_ERR_PREDICTOR (the model reported a failure; the message names the runner and the value it returned). */
VXT_API vxt_status vxt_runner_predict(vxt_runner *runner, const vxt_batch *batch);

/** Release a runner (unloads a plugin). NULL is ignored. It must not be in use. */
VXT_API void vxt_runner_destroy(vxt_runner *runner);

/* ===================================================================================================== */
/* Plans                                                                                                  */
/* ===================================================================================================== */

/*
 * A plan says everything between a scan and its segmentation; docs/PLAN.md has every field, its default and its
 * range. The model(s) (runner specifications), the orientation and axis order the model wants, its voxel
 * spacing and how to resample to it, the normalization, the tiling and stitching, the activation, how labels
 * are made and how results return to the input's grid.
 *
 * A plan starts from the defaults; JSON documents (plan files, or fragments such as "{\"batch_size\": 4}") and
 * nnU-Net model folders are then laid over it, in any order, each replacing the fields it names. Loading is
 * strict: an unknown field, or a value of the wrong type or out of range, is an error whose message names the
 * origin and the JSON path ("plan.json: $.normalization.scheme: unknown normalization 'zscor' (expected one of:
 * ...)"), and the plan is left unchanged. Pipelines copy the plan they are made from.
 */

/** X-macro table of normalization schemes (docs/PLAN.md gives the formulas, docs/PREPROCESSING.md the
 *  arithmetic). */
#define VXT_NORM_MAP(X)                                                                                        \
    X(VXT_NORM_NONE, 0, "none")                     /* nnU-Net NoNormalization */                              \
    X(VXT_NORM_WINDOW, 1, "window")                 /* clip((x - lo) / (hi - lo), 0, 1) */                     \
    X(VXT_NORM_CT, 2, "ct")                         /* nnU-Net CTNormalization: (clip(x, lo, hi) - mean)/std */ \
    X(VXT_NORM_ZSCORE, 3, "zscore")                 /* (x - mean) / max(std, 1e-8) over every voxel */         \
    X(VXT_NORM_ZSCORE_NONZERO, 4, "zscore-nonzero") /* the same over non-zero voxels; zeros stay */            \
    X(VXT_NORM_MINMAX, 5, "minmax")                 /* (x - min) / max(max - min, 1e-8) */                     \
    X(VXT_NORM_PERCENTILE, 6, "percentile")         /* clip to the image's [lo, hi] percentiles */

typedef enum vxt_norm { VXT_NORM_MAP(VXT_ENUM_MEMBER_) VXT_NORM_COUNT_ } vxt_norm;

/** The name of a normalization scheme ("none", "window", "ct", ...); "unknown" otherwise. */
VXT_API const char *vxt_norm_name(vxt_norm norm);

/** Parse a normalization scheme name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names)
 *  otherwise. */
VXT_API vxt_status vxt_norm_parse(const char *name, vxt_norm *out);

/** X-macro table of the ways back to the input's grid (plan field output.resample_back). */
#define VXT_RESAMPLE_BACK_MAP(X)                                                                               \
    /* the class values are resampled linearly, then labelled (nnU-Net's export) */                            \
    X(VXT_BACK_PROBABILITIES, 0, "probabilities")                                                              \
    /* the labels are resampled with nearest neighbours (never interpolated) */                                \
    X(VXT_BACK_LABELS, 1, "labels")

typedef enum vxt_resample_back { VXT_RESAMPLE_BACK_MAP(VXT_ENUM_MEMBER_) VXT_RESAMPLE_BACK_COUNT_ } vxt_resample_back;

/** The name of a way back ("probabilities", "labels"); "unknown" otherwise. */
VXT_API const char *vxt_resample_back_name(vxt_resample_back back);

/** Parse a way back (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_resample_back_parse(const char *name, vxt_resample_back *out);

/** X-macro table of resampling modes to and from the model's spacing (plan field anisotropic_resampling). */
#define VXT_ANISOTROPY_MAP(X)                                                                                  \
    X(VXT_ANISOTROPY_OFF, 0, "off") /* trilinear on every axis */                                              \
    /* nnU-Net's: nearest along the one coarse axis when the largest spacing exceeds 3 x the smallest */       \
    X(VXT_ANISOTROPY_NNUNET, 1, "nnunet")

typedef enum vxt_anisotropy { VXT_ANISOTROPY_MAP(VXT_ENUM_MEMBER_) VXT_ANISOTROPY_COUNT_ } vxt_anisotropy;

/** The name of a resampling mode ("off", "nnunet"); "unknown" otherwise. */
VXT_API const char *vxt_anisotropy_name(vxt_anisotropy mode);

/** Parse a resampling mode (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_anisotropy_parse(const char *name, vxt_anisotropy *out);

/** A plan. */
typedef struct vxt_plan vxt_plan;

/** A plan with every field at its default (docs/PLAN.md): no model and no ROI yet (vxt_plan_check() asks for
 *  them). Errors: VXT_ERR_NULL, VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_plan_create(vxt_plan **out);

/** A copy of a plan. Errors: VXT_ERR_NULL, VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_plan_clone(const vxt_plan *plan, vxt_plan **out);

/** Release a plan. NULL is ignored. */
VXT_API void vxt_plan_destroy(vxt_plan *plan);

/**
 * Lay a JSON document (a plan file's text, or any part of one) over the plan: the fields it names replace the
 * plan's, the others stay. `size` bytes of `json` (no NUL needed); `origin` names it in messages (a file name,
 * "--overlap", ...; NULL: "plan"). All or nothing: on any error the plan is unchanged. Errors: VXT_ERR_NULL,
 * VXT_ERR_FORMAT (not JSON: the message has the line), VXT_ERR_INVALID_ARGUMENT (an unknown field, a wrong type,
 * a value out of range, an unsupported schema version: the message has the JSON path), VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_plan_load_json(vxt_plan *plan, const char *json, size_t size, const char *origin);

/** vxt_plan_load_json() with a file's contents (at most 16 MiB); the file's path is the origin. Errors as there,
 *  and VXT_ERR_IO (cannot open or read). */
VXT_API vxt_status vxt_plan_load_file(vxt_plan *plan, const char *path);

/**
 * Lay an nnU-Net v2 model folder over the plan: `dir` holds plans.json and dataset.json; `configuration` names
 * one of plans.json's configurations (e.g. "3d_fullres", following inherits_from). Sets the model's tile size,
 * spacing, axis order (transpose_forward), normalization (single-channel: CTNormalization with the dataset's
 * foreground statistics, ZScoreNormalization with or without use_mask_for_norm, RescaleTo01Normalization,
 * NoNormalization), and nnU-Net's inference settings: nnunet tile placement with step 0.5, its Gaussian,
 * float16 accumulation, mirroring on every axis, anisotropic resampling, normalization before resampling,
 * probabilities resampled back; softmax and argmax, or for region-based datasets (regions_class_order) sigmoid
 * and nnU-Net's region labels. dataset.json's labels give the class names. The network itself is not in the
 * folder: give the model separately. All or nothing. Errors: VXT_ERR_NULL, VXT_ERR_IO, VXT_ERR_FORMAT,
 * VXT_ERR_INVALID_ARGUMENT (a missing configuration: the message lists those there are; a missing or malformed
 * field), VXT_ERR_UNSUPPORTED (more than one input channel, an unknown normalization scheme).
 */
VXT_API vxt_status vxt_plan_load_nnunet(vxt_plan *plan, const char *dir, const char *configuration);

/** Check the whole plan: a model and a ROI given, no contradiction (a field that its mode does not use, such as
 *  "step" with the monai tile placement; window without lo and hi; ...). VXT_ERR_INVALID_ARGUMENT with the JSON
 *  path of the problem. */
VXT_API vxt_status vxt_plan_check(const vxt_plan *plan);

/** The plan as JSON in the schema vxt_plan_load_json() reads (every field, resolved), in a new NUL-terminated
 *  buffer: release it with vxt_buffer_free(). Errors: VXT_ERR_NULL, VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_plan_to_json(const vxt_plan *plan, char **json);

/** What callers most often need from a plan (the rest: vxt_plan_to_json). Set struct_size first. */
typedef struct vxt_plan_info {
    size_t struct_size;
    int members;            /**< models given (0 before one is) */
    int64_t roi[3];         /**< the tile size, z, y, x (model order); zeros when not given */
    vxt_dtype label_dtype;  /**< VXT_DTYPE_U8 or VXT_DTYPE_U16 */
    int class_names;        /**< names given (vxt_plan_class_name) */
    /** Where the plan's fields came from, in order ("defaults; plan tools/plans/demo_mri.json; --overlap"). */
    char origin[512];
} vxt_plan_info;

/** Describe a plan. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_plan_get_info(const vxt_plan *plan, vxt_plan_info *info);

/** Member `index`'s runner specification and configuration string (borrowed; valid until the plan changes or is
 *  destroyed); NULL when out of range. *config may be NULL (not wanted). */
VXT_API const char *vxt_plan_member(const vxt_plan *plan, int index, const char **config);

/** Class `index`'s name (borrowed, as above); NULL when out of range. */
VXT_API const char *vxt_plan_class_name(const vxt_plan *plan, int index);

/**
 * Normalize one channel with the plan's scheme (its "normalization" fields), in place: `channel` is float32, 1
 * channel (a view of one channel of a multi-channel volume). The pipeline's normalize stage is this call per
 * channel. stats (may be NULL; struct_size set) receives the statistics the data-dependent schemes used (zscore:
 * count, mean, std; minmax: min, max), bounds (may be NULL) the percentile scheme's clip bounds. Errors as the
 * preprocessing functions', and VXT_ERR_INVALID_ARGUMENT for a plan whose normalization is incomplete (the
 * message has the JSON path).
 */
VXT_API vxt_status vxt_plan_normalize(vxt_context *ctx, const vxt_plan *plan, vxt_volume *channel, vxt_stats *stats,
                                      double bounds[2]);

/**
 * The rescale stage of a pipeline on its own: the voxels `in` of `image` (its vxt_image_volume(), or a copy of them
 * in another axis order) to intensity units with the image's scaling (scl_slope, scl_inter; none when reading
 * applied it), float32 into `out` (the same channels and shape; `out` may be `in` for float32 voxels), then the
 * plan's normalization.replace (docs/PLAN.md): voxels equal to its value (in intensity units, compared in float32
 * after the rescale) become its "with"; with "padding", voxels equal to the padding value the image's reader
 * reports (vxt_image_info.padding_value, compared before the rescale) do, and an image without one is only
 * rescaled. Errors as vxt_rescale()'s and vxt_intensity_transform()'s; VXT_ERR_NULL for a NULL plan or image.
 */
VXT_API vxt_status vxt_plan_rescale(vxt_context *ctx, const vxt_plan *plan, const vxt_image *image,
                                    const vxt_volume *in, vxt_volume *out);

/**
 * The tiling and stitching a plan gives for a model grid of `shape` (z, y, x) and `classes` channels, for callers
 * that drive vxt_stitch() or a session themselves (a server with its own inference engine) with a plan's settings:
 * fills *tiling (shape, roi, placement and its overlap or step, padding; an axis of one-voxel tiles has no overlap)
 * and *stitch (out_channels = classes, importance, accumulation, batch size, mirroring, members, ensemble,
 * activation, label rule, threshold, region labels (pointing into the plan: it must outlive their use), label
 * dtype; tile dtype, progress and flags at their defaults). The plan's model is not needed. Errors: VXT_ERR_NULL,
 * VXT_ERR_INVALID_ARGUMENT (no ROI, contradictions as in vxt_plan_check(), classes < 1, region labels that are
 * not one per channel).
 */
VXT_API vxt_status vxt_plan_stitch_settings(const vxt_plan *plan, const int64_t shape[3], int64_t classes,
                                            vxt_tiling_options *tiling, vxt_stitch_options *stitch);

/* ===================================================================================================== */
/* Pipelines: the whole job, from an image to its labels                                                 */
/* ===================================================================================================== */

/*
 * A pipeline runs a plan's whole sequence on images from any source (docs/PIPELINE.md):
 *
 *   orient          the plan's orientation and axis order (exact: axes permuted and flipped; only when set)
 *   rescale         stored values to intensity units (the image's scaling), float32
 *   resample        to the model's spacing (trilinear, or nnU-Net's anisotropic variant; only when needed)
 *   normalize       the plan's scheme, per channel (before resample when the plan says so)
 *   sliding_window  tiles, the runner(s), importance-weighted stitching, mirroring, ensembles, activation
 *   resample_back   the class values (or the labels) back to the input's grid (only when resampled)
 *   labels          labels by the plan's rule
 *   restore         the outputs taken back to the input's orientation and axis order (only when oriented)
 *
 * Outputs come on the input's grid with its geometry, as images (labels, probabilities) or slab by slab through
 * a sink. CPU and OpenCL contexts give identical bits for every stage. A pipeline runs one image at a time; to
 * serve requests in parallel, make one pipeline per worker on a shared context: concurrent pipelines give the
 * same bits as sequential runs.
 */

/** X-macro table of pipeline stages, in pipeline order. */
#define VXT_STAGE_MAP(X)                                                                                       \
    X(VXT_STAGE_ORIENT, 0, "orient")                                                                           \
    X(VXT_STAGE_RESCALE, 1, "rescale")                                                                         \
    X(VXT_STAGE_RESAMPLE, 2, "resample")                                                                       \
    X(VXT_STAGE_NORMALIZE, 3, "normalize")                                                                     \
    X(VXT_STAGE_SLIDING_WINDOW, 4, "sliding_window")                                                           \
    X(VXT_STAGE_RESAMPLE_BACK, 5, "resample_back")                                                             \
    X(VXT_STAGE_LABELS, 6, "labels")                                                                           \
    X(VXT_STAGE_RESTORE, 7, "restore")

typedef enum vxt_stage { VXT_STAGE_MAP(VXT_ENUM_MEMBER_) VXT_STAGE_COUNT_ } vxt_stage;

/** The name of a stage ("orient", "rescale", ..., "restore"); "unknown" otherwise. */
VXT_API const char *vxt_stage_name(vxt_stage stage);

/** Parse a stage name (case-insensitive); VXT_ERR_INVALID_ARGUMENT (listing the names) otherwise. */
VXT_API vxt_status vxt_stage_parse(const char *name, vxt_stage *out);

/** A pipeline: a context, a plan and its runners. */
typedef struct vxt_pipeline vxt_pipeline;

/**
 * Make a pipeline for `plan` (copied; it must pass vxt_plan_check()) on `ctx` (borrowed: it must outlive the
 * pipeline). `runners`: NULL to make the plan's members from their specifications (owned by the pipeline), or
 * `nrunners` runners, one per plan member (borrowed; the plan's specifications are then not used and may be
 * absent). The runners must agree on their output channels and dtype, and their input channels and tile sizes
 * must fit the plan. Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT (the plan does not check; runners that
 * disagree or do not fit; nrunners not the plan's members), the errors of vxt_runner_create(),
 * VXT_ERR_OUT_OF_MEMORY.
 */
VXT_API vxt_status vxt_pipeline_create(vxt_context *ctx, const vxt_plan *plan, vxt_runner *const *runners,
                                       int nrunners, vxt_pipeline **out);

/** Release a pipeline and the runners it made. NULL is ignored. No run may be in progress. */
VXT_API void vxt_pipeline_destroy(vxt_pipeline *pipeline);

/** What a pipeline will do. Set struct_size first. */
typedef struct vxt_pipeline_info {
    size_t struct_size;
    int members;            /**< runners (ensemble members) */
    int64_t classes;        /**< channels the runners produce; 0 when that is the input's (identity) */
    vxt_dtype tile_dtype;   /**< the runners' output dtype */
    vxt_backend backend;    /**< the context's backend */
} vxt_pipeline_info;

/** Describe a pipeline. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE. */
VXT_API vxt_status vxt_pipeline_get_info(const vxt_pipeline *pipeline, vxt_pipeline_info *info);

/** Runner `index` of the pipeline (borrowed), NULL when out of range: for its vxt_runner_get_info(). */
VXT_API const vxt_runner *vxt_pipeline_runner(const vxt_pipeline *pipeline, int index);

/** A stage that has finished, shown to the observer. */
typedef struct vxt_stage_report {
    vxt_stage stage;
    double seconds;           /**< wall time of the stage (slab-wise stages: the sum over slabs) */
    /** The stage's whole output, valid during the call: only with VXT_RUN_SHOW_OUTPUTS, else NULL. Grids:
     *  orient .. sliding_window are on the model's grid (in its orientation and axis order), resample_back and
     *  labels on the input's grid in the model's orientation, restore on the input's grid as given. */
    const vxt_volume *output;
} vxt_stage_report;

/** Observer: called after each stage that runs. Return non-zero to stop the run (VXT_ERR_CANCELLED). */
typedef int (*vxt_observer_fn)(void *user, const vxt_stage_report *report);

/** Progress: called during the sliding window after each accumulated batch, with tile predictions done and
 *  their total (tiles x members x mirrorings), and once at the end of every other stage with done = total = 1.
 *  Return non-zero to stop the run (VXT_ERR_CANCELLED). */
typedef int (*vxt_run_progress_fn)(void *user, vxt_stage stage, uint64_t done, uint64_t total);

/** vxt_run_options.outputs */
#define VXT_OUTPUT_LABELS 0x1u        /**< the labels (label dtype of the plan), 1 x the input's shape */
#define VXT_OUTPUT_PROBABILITIES 0x2u /**< the class values after activation, float32, C x the input's shape */

/** vxt_run_options.flags: show every stage's whole output to the observer (for comparisons such as `voxtile
 *  validate`). Intermediate volumes are then made whole, so memory is no longer bounded as documented at
 *  vxt_pipeline_run(). */
#define VXT_RUN_SHOW_OUTPUTS 0x1u

/** Options of one run. Initialise with vxt_run_options_init(). */
typedef struct vxt_run_options {
    size_t struct_size;
    unsigned outputs;  /**< VXT_OUTPUT_* (default VXT_OUTPUT_LABELS); at least one */
    /** Instead of images in the result: slabs on the input's grid, in increasing z, each as soon as it is final
     *  (carrying what `outputs` asks for; labels of the plan's label dtype). When the plan orients or transposes
     *  the image, outputs are final only when the last model slab has been restored to the input's axes: the
     *  slabs come then, in increasing z. */
    vxt_sink_fn sink;
    void *sink_user;
    vxt_observer_fn observer; /**< optional */
    void *observer_user;
    vxt_run_progress_fn progress; /**< optional */
    void *progress_user;
    unsigned flags; /**< VXT_RUN_* */
    /* added in 0.3.0 (callers built with the earlier layout get the default) */
    /** A ceiling in bytes for the run's estimate (vxt_pipeline_estimate's peak_bytes): a run above it fails with
     *  VXT_ERR_MEMORY_LIMIT before anything large is allocated. 0 (default): no ceiling. */
    uint64_t max_memory;
} vxt_run_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_run_options_init(vxt_run_options *opts);

/** What a run produced. Set struct_size = sizeof(vxt_run_result) before the run; release the images with
 *  vxt_run_result_clear(). */
typedef struct vxt_run_result {
    size_t struct_size;
    vxt_image *labels;        /**< with VXT_OUTPUT_LABELS and no sink: the input's grid and geometry, intent
                                   "labels" (NIfTI 1002); owned by the caller */
    vxt_image *probabilities; /**< with VXT_OUTPUT_PROBABILITIES and no sink; owned by the caller */
    int64_t classes;          /**< channels of the class values */
    int64_t model_shape[3];   /**< the model's grid (z, y, x in the model's axis order) */
    uint64_t tiles;           /**< tiles over the model's grid */
    uint64_t tile_predictions; /**< tiles x members x mirrorings: what the runners were asked for */
    unsigned stages;          /**< bit s set: stage s ran */
    double stage_seconds[VXT_STAGE_COUNT_]; /**< per stage (0 for stages that did not run) */
    double seconds;           /**< the whole run */
    /** Stages that ran on the CPU backend instead of the context's OpenCL device (bit s: stage s), because the
     *  device ran out of resources or a buffer exceeded its allocation limit: only on contexts created with
     *  VXT_BACKEND_AUTO (the bits are the same; VXT_BACKEND_OPENCL fails instead). 0 otherwise. */
    unsigned cpu_fallback;
    /** Why, when cpu_fallback is set: the device's message for the first stage that fell back. */
    char fallback_reason[512];
    /** After a failed run, the only field set: the vxt_stage that failed (so that a server can tell a bad input,
     *  failing in orient or rescale, from a failing model, in sliding_window), or -1 when the run failed before
     *  any stage (options, the image) or was cancelled. */
    int failed_stage;
} vxt_run_result;

/** Destroy the result's images and clear it (struct_size kept). NULL is ignored. */
VXT_API void vxt_run_result_clear(vxt_run_result *result);

/**
 * Run the pipeline on `image` (any format; its voxels as read, any dtype the preprocessing reads; its channels
 * are the model's input channels). On success `result` has what `opts` asked for (opts NULL: the labels image).
 * On failure no images are returned (those already made are released; result->failed_stage says which stage
 * failed) and a sink may have received slabs that are not valid results.
 *
 * Memory. With V the input's voxels, Vm the model grid's, Cin the input channels, C the classes, b the bytes of
 * the stored type, L the label dtype's bytes, the pipeline holds at most, besides the input image:
 *
 *   orient (when the plan orients)   Cin x V x (b + 4)                (the reoriented copy, then its float32)
 *   rescale .. normalize              Cin x (V + Vm) x 4               (before, and after, resampling)
 *   sliding_window                    Cin x Vm x 4 + W + S + X
 *   outputs                           V x L (labels), C x V x 4 (probabilities, only when asked for)
 *
 * W is the sliding window's working set with a sink (vxt_stitch, "Memory"): M members x C x D x P1 x P2 x 4 of
 * accumulator ring (D: the ROI's depth and the z span of a batch; crop blending: D x P1 x P2 labels instead, and C
 * planes of values only when they are wanted), 2 x batch x Cin x ROI x 4 of tile inputs and batch x C x ROI x 4
 * of tile outputs (two of them where accumulation overlaps the model: OpenCL GPUs), on the CPU up to 128 MiB of
 * grouped tile outputs; the runner's own working memory comes on top. S is one finished slab of the engine,
 * C x D x Ym x Xm x 4. X is what the way back keeps: with output.resample_back "probabilities", a
 * double-buffered window of model planes, 2 x C x (D + d) x Ym x Xm x 4 (d: the model planes one output plane
 * reads, 2 for trilinear), and a chunk of output planes, about 64 MiB; with "labels", Vm x L; without
 * resampling, nothing. Every term but
 * the float copies of the input and the outputs is a number of planes: a labels-only run never holds C x V or C
 * x Vm, and doubling the depth of a volume adds only its float copies and labels (tests/test_pipeline.c measures
 * this). With VXT_RUN_SHOW_OUTPUTS every stage's output is whole instead (up to C x Vm x 4 + 2 x C x V x 4).
 *
 * With opts->max_memory set, a run whose estimate (vxt_pipeline_estimate) is above it fails at once with
 * VXT_ERR_MEMORY_LIMIT (result->failed_stage -1), before anything large is allocated.
 *
 * Cancellation: vxt_pipeline_cancel() from any thread, a progress callback or the observer returning non-zero:
 * the run stops at the next batch, slab or stage boundary with VXT_ERR_CANCELLED.
 *
 * Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (options; an image without voxels or whose
 * channels do not fit the runners), VXT_ERR_MEMORY_LIMIT (opts->max_memory), VXT_ERR_STATE (a run is already in progress on this pipeline), the errors of
 * the stages (the message names the stage: "sliding_window: ..."), VXT_ERR_CANCELLED.
 */
VXT_API vxt_status vxt_pipeline_run(vxt_pipeline *pipeline, const vxt_image *image, const vxt_run_options *opts,
                                    vxt_run_result *result);

/**
 * Estimate the memory of vxt_pipeline_run(pipeline, image, opts, ...) before running it: the terms of "Memory"
 * above, from the image's header and the plan, by the formulas the run allocates with. `image` may be read with
 * VXT_READ_HEADER_ONLY, so that a server or the tool can refuse a request before reading its voxels. peak_bytes
 * counts the image's voxels (input_bytes), the outputs and the largest stage (peak_stage, stage_bytes); the
 * runners' own working memory (a network runtime's) comes on top and is not known to the library. With
 * opts->max_memory set and the estimate above it, *est is filled and VXT_ERR_MEMORY_LIMIT returned with the message
 * the run would fail with (the estimate, its largest parts, and what would lower it). Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (opts; an image whose channels do not fit the
 * runners or that cannot be oriented as the plan asks), VXT_ERR_OVERFLOW, the tiling's and stitching's argument
 * errors.
 */
VXT_API vxt_status vxt_pipeline_estimate(const vxt_pipeline *pipeline, const vxt_image *image,
                                         const vxt_run_options *opts, vxt_memory_estimate *est);

/** Stop the run in progress on `pipeline` (from any thread): it returns VXT_ERR_CANCELLED at its next check.
 *  When no run is in progress, nothing happens (a later run is not affected). Errors: VXT_ERR_NULL. */
VXT_API vxt_status vxt_pipeline_cancel(vxt_pipeline *pipeline);

#ifdef __cplusplus
}
#endif

#endif /* VOXTILE_H */
