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
    /** Large host buffers released by a run (accumulators, staging) are kept, up to this many bytes, for the next
     *  run to reuse: fresh memory costs a page fault per page on first touch. Default 1 GiB; 0 keeps none.
     *  vxt_context_trim() releases them at any time. */
    size_t workspace_cache_bytes;
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

/** Give back the host buffers the context keeps for reuse between runs (see workspace_cache_bytes). */
VXT_API vxt_status vxt_context_trim(vxt_context *ctx);

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

/* ---- tile plans ------------------------------------------------------------------------------------ */

/** How tile start positions are chosen along each axis (docs/STITCHING.md gives the formulas). Every policy
 *  covers every voxel; tiles are visited with axis 0 (z) outermost and the last axis fastest. */
typedef enum vxt_grid {
    /** MONAI sliding_window_inference: interval (int)(roi*(1-overlap)) (at least 1; roi when roi == size),
     *  starts d*interval, the last one moved to size-roi (never duplicated). */
    VXT_GRID_MONAI = 0,
    /** nnU-Net v2: n = ceil((size-roi)/(roi*step)) + 1 tiles, starts round_half_even(i*(size-roi)/(n-1)). */
    VXT_GRID_NNUNET = 1,
    /** TorchIO GridSampler: overlap in voxels, step roi-overlap, a last tile flush with the end. */
    VXT_GRID_VOXELS = 2
} vxt_grid;

/** What fills a tile where the volume is smaller than the ROI (the volume is padded by d = roi - size on
 *  that axis: d/2 low, d - d/2 high, and the result is cropped back). */
typedef enum vxt_pad {
    VXT_PAD_CONSTANT = 0,  /**< pad_value */
    VXT_PAD_REPLICATE = 1, /**< nearest edge voxel */
    VXT_PAD_REFLECT = 2,   /**< mirror without repeating the edge (torch "reflect"), repeated as needed */
    VXT_PAD_DISABLED = 3   /**< a ROI larger than the volume is an error */
} vxt_pad;

/** Options of vxt_plan_create(). Initialise with vxt_plan_options_init(). Per-axis arrays: z, y, x. */
typedef struct vxt_plan_options {
    size_t struct_size;
    int64_t shape[3];          /**< volume size (required, each >= 1; 2D image: shape[0] = 1) */
    int64_t roi[3];            /**< tile size (required, each >= 1; 2D: roi[0] = 1) */
    vxt_grid grid;             /**< default VXT_GRID_MONAI */
    double overlap[3];         /**< VXT_GRID_MONAI: fraction in [0, 1); default 0.25 */
    double step[3];            /**< VXT_GRID_NNUNET: step as a fraction of the ROI, in (0, 1]; default 0.5 */
    int64_t overlap_voxels[3]; /**< VXT_GRID_VOXELS: overlap in voxels, in [0, roi); default 0 */
    vxt_pad pad;               /**< default VXT_PAD_CONSTANT */
    float pad_value;           /**< default 0 */
} vxt_plan_options;

/** Fill *opts with the defaults above (shape and roi zero: they must be set). */
VXT_API void vxt_plan_options_init(vxt_plan_options *opts);

/** A tile plan: which tiles cover a volume, in which order. Immutable once created; may be shared by threads
 *  and by several sessions. Needs no context: planning is pure host arithmetic (64-bit). */
typedef struct vxt_plan vxt_plan;

/** Plan the tiles for opts. Errors: VXT_ERR_NULL, VXT_ERR_STRUCT_SIZE, VXT_ERR_INVALID_ARGUMENT (shape or ROI
 *  < 1, overlap outside [0, 1) or NaN, step outside (0, 1], overlap_voxels outside [0, roi), ROI larger than
 *  the volume with VXT_PAD_DISABLED, unknown grid or pad), VXT_ERR_OVERFLOW (the tile count or the padded
 *  volume does not fit 64 bits), VXT_ERR_OUT_OF_MEMORY. */
VXT_API vxt_status vxt_plan_create(const vxt_plan_options *opts, vxt_plan **out);

/** Release a plan. NULL is ignored. A plan must outlive the sessions that use it. */
VXT_API void vxt_plan_destroy(vxt_plan *plan);

/** Summary of a plan. Set struct_size = sizeof(vxt_plan_info). */
typedef struct vxt_plan_info {
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
} vxt_plan_info;

VXT_API vxt_status vxt_plan_get_info(const vxt_plan *plan, vxt_plan_info *info);

/** One tile: its box in padded coordinates is [start, start + roi) per axis. */
typedef struct vxt_tile {
    uint64_t index;     /**< position in plan order */
    int64_t start[3];   /**< in padded coordinates; subtract pad_lo for volume coordinates (may be < 0) */
    int64_t grid_index[3]; /**< index of the start along each axis */
} vxt_tile;

/** Tile number `index` (0 .. tile_count-1) in plan order. VXT_ERR_INVALID_ARGUMENT when out of range. */
VXT_API vxt_status vxt_plan_get_tile(const vxt_plan *plan, uint64_t index, vxt_tile *tile);

/** The sorted start positions (padded coordinates) along `axis` (0..2); *starts stays owned by the plan. */
VXT_API vxt_status vxt_plan_axis_starts(const vxt_plan *plan, int axis, const int64_t **starts, int64_t *count);

/* ---- importance maps ------------------------------------------------------------------------------- */

/** Per-voxel weights of a tile's prediction (docs/STITCHING.md). Tables are computed once on the host in
 *  double and rounded; both backends read the same table. */
typedef enum vxt_importance {
    VXT_IMPORTANCE_CONSTANT = 0,       /**< all ones (MONAI "constant") */
    /** MONAI "gaussian": w_a(i) = exp(x^2 / (-2 sigma_a^2)), x = i - (roi_a-1)/2, sigma_a = sigma_scale_a *
     *  roi_a, in float32 with torch's CPU exp (SLEEF's expf, reproduced bit for bit); W = (w_0*w_1)*w_2 in
     *  float32; W = max(W, max(min W, 1e-3)). Identical to MONAI's map computed by torch on a CPU. */
    VXT_IMPORTANCE_GAUSSIAN = 1,
    /** nnU-Net v2 compute_gaussian: scipy Gaussian kernels (sigma = roi/8, truncate 4) centred at roi/2,
     *  product in double, scaled to a peak of 10, rounded to float32 then float16, zeros replaced by the
     *  smallest non-zero value. */
    VXT_IMPORTANCE_GAUSSIAN_NNUNET = 2,
    VXT_IMPORTANCE_HANN = 3,           /**< TorchIO "hann": sin^2(pi n/(roi+1)), n = 1..roi, product */
    VXT_IMPORTANCE_USER = 4            /**< vxt_stitch_options.user_map (roi-shaped, all > 0 and finite) */
} vxt_importance;

/** Compute the importance map of `importance` for a ROI into `out` (roi[0]*roi[1]*roi[2] floats, z-major).
 *  sigma_scale (3 values, NULL = 0.125 each) is used by VXT_IMPORTANCE_GAUSSIAN only. VXT_IMPORTANCE_USER is
 *  not accepted here. The engine uses exactly these values. */
VXT_API vxt_status vxt_importance_map(vxt_importance importance, const int64_t roi[3], const double *sigma_scale,
                                      float *out);

/* ---- stitching ------------------------------------------------------------------------------------- */

/** The arithmetic of accumulation and normalization. */
typedef enum vxt_accumulate {
    /** MONAI's: out += p*w and the weight sum in float32, in plan order, then out / sum (product in the tile's
     *  dtype, as MONAI multiplies the predictor's tensor in place). */
    VXT_ACCUMULATE_FLOAT32 = 0,
    /** nnU-Net's: L = f16(L + f16(p*g)), N = f16(N + g), result f16(L / N), where f16() rounds to float16 and
     *  each operation is done in float32 first (as torch does). Mirroring and ensembling also round to float16
     *  when tiles are float16. */
    VXT_ACCUMULATE_FLOAT16 = 1,
    /** Products and sums in double, one rounding at the end: an identity predictor gives the input back
     *  exactly with any weights that are constant per voxel. Needs fp64 on an OpenCL device. */
    VXT_ACCUMULATE_FLOAT64 = 2
} vxt_accumulate;

/** Applied to the normalized (and ensemble-averaged) values before they are written. */
typedef enum vxt_activation {
    VXT_ACTIVATION_NONE = 0,    /**< logits as stitched */
    VXT_ACTIVATION_SOFTMAX = 1, /**< over channels: exp(v - max) / sum, with the shared vxt_exp */
    VXT_ACTIVATION_SIGMOID = 2  /**< per channel */
} vxt_activation;

/** A group of tiles handed to the model: `count` tiles of the plan starting at `first_tile`, all for the same
 *  ensemble member and the same mirroring. The predictor fills `output` (host form) or `output_cl`
 *  (device form) and returns 0, or returns non-zero to stop the run (VXT_ERR_PREDICTOR, with that value in
 *  the message). */
typedef struct vxt_batch {
    uint64_t id;            /**< sequence number of this batch (0, 1, ...) */
    uint64_t first_tile;    /**< plan index of the first tile */
    int count;              /**< tiles in the batch (<= batch_size; fewer at the end) */
    int member;             /**< ensemble member, 0 .. members-1 */
    unsigned flip;          /**< mirroring applied to the inputs: bit a set = spatial axis a (0 = z) flipped.
                                 The predictor answers for the flipped input; voxtile flips the output back. */
    int64_t in_channels;    /**< channels of the input volume */
    int64_t out_channels;   /**< channels the predictor must produce */
    int64_t roi[3];
    vxt_dtype output_dtype; /**< VXT_DTYPE_F32 or VXT_DTYPE_F16 (stitch options' tile_dtype) */
    const vxt_tile *tiles;  /**< the `count` tiles (boxes in padded coordinates), valid as long as `input` */
    /** Host form: count x in_channels x roi float32, C order. NULL in the device form. */
    const float *input;
    /** Host form: count x out_channels x roi elements of output_dtype, to be filled. NULL in the device form. */
    void *output;
    /** Device form (OpenCL contexts, with VXT_STITCH_DEVICE_PREDICTOR): the same arrays as buffers on the
     *  context's device. Enqueue work on the context's queue (vxt_context_cl_handles) or finish it before
     *  returning. NULL in the host form. */
    struct _cl_mem *input_cl;
    struct _cl_mem *output_cl;
} vxt_batch;

/** A model: fill batch->output (or output_cl) for batch->input. `user` is the pointer given with it. */
typedef int (*vxt_predict_fn)(void *user, const vxt_batch *batch);

/** Progress: called after each accumulated batch with tiles done and total (tiles x members x mirrorings
 *  count as one tile each); return non-zero to cancel (VXT_ERR_CANCELLED). On the CPU backend (and OpenCL devices
 *  made of the host's cores, such as PoCL), vxt_stitch with a fast predictor (calls under 20 ms) and small batches
 *  accumulates consecutive batches of one row of tiles together (docs/STITCHING.md, "Grouping"): their progress calls then come together after the group, so a
 *  cancellation takes effect up to one group (at most 128 MiB of tile outputs) later. */
typedef int (*vxt_progress_fn)(void *user, uint64_t done, uint64_t total);

/** A finished slab of the output, handed to an output sink: voxels z0 <= z < z1 of the (unpadded) volume,
 *  final values; pointers are valid only during the call. */
typedef struct vxt_slab {
    int64_t z0, z1;
    int64_t channels;      /**< of `values` */
    int64_t shape[3];      /**< of the whole output volume */
    const float *values;   /**< channels x (z1-z0) x ny x nx, or NULL when not requested */
    const void *labels;    /**< (z1-z0) x ny x nx of label_dtype, or NULL when not requested */
    vxt_dtype label_dtype;
} vxt_slab;

/** Output sink: receives slabs in increasing z as soon as no remaining tile touches them. Return non-zero
 *  to stop the run (VXT_ERR_IO). If the run fails later, slabs already delivered are not valid results. */
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
    vxt_activation activation;  /**< default VXT_ACTIVATION_NONE */
    vxt_dtype label_dtype;      /**< labels: VXT_DTYPE_U8 (default) or VXT_DTYPE_U16 */
    vxt_progress_fn progress;   /**< optional */
    void *progress_user;
    int max_outstanding;        /**< sessions: batches handed out and not yet submitted; default 4 */
    unsigned flags;             /**< VXT_STITCH_* */
} vxt_stitch_options;

VXT_API void vxt_stitch_options_init(vxt_stitch_options *opts);

/** Where the result goes. Either volumes (written only at the end, once every tile is accumulated: a failed,
 *  cancelled or destroyed run leaves them untouched; only a device error while the results are read back can
 *  leave them partly written, and its message says so) or
 *  a sink (slab by slab while the run goes on, so peak memory grows with the ROI depth, not the volume). */
typedef struct vxt_stitch_output {
    size_t struct_size;
    /** Float32 results, out_channels x shape (after activation): NULL if not wanted. */
    vxt_volume *values;
    /** Labels: argmax over channels of the activated values (ties to the lowest index), 1 x shape of
     *  label_dtype: NULL if not wanted. */
    vxt_volume *labels;
    /** Instead of values/labels volumes: a sink; with want_values/want_labels saying what its slabs carry. */
    vxt_sink_fn sink;
    void *sink_user;
    int want_values;
    int want_labels;
} vxt_stitch_output;

VXT_API void vxt_stitch_output_init(vxt_stitch_output *out);

/**
 * Run the whole sliding window: cut tiles of `input` (float32, in_channels x shape of the plan) per `plan`,
 * hand them to `predict` in batches, accumulate the outputs with the importance map in plan order, normalize,
 * average mirrorings and members, apply the activation, and write `output`. OpenCL and CPU backends give
 * identical bits. Tile extraction and accumulation of neighbouring batches overlap with the predictor.
 * Errors: argument errors (NULL, struct sizes, out_channels < 1, unsupported tile dtype, batch_size < 1,
 * members < 1, mirror axes beyond the volume's, input or output shapes that do not match the plan, a user map
 * with a value <= 0 or not finite), VXT_ERR_PREDICTOR, VXT_ERR_NONFINITE (NaN/Inf in a predictor's output:
 * the message names the tile, member, mirroring, channel and voxel), VXT_ERR_CANCELLED, VXT_ERR_IO (sink),
 * VXT_ERR_UNSUPPORTED (float64 accumulation on a device without fp64; buffers beyond the device's limits),
 * VXT_ERR_OUT_OF_MEMORY, VXT_ERR_OPENCL.
 */
VXT_API vxt_status vxt_stitch(vxt_context *ctx, const vxt_plan *plan, const vxt_stitch_options *opts,
                              const vxt_volume *input, vxt_predict_fn predict, void *predict_user,
                              const vxt_stitch_output *output);

/** Labels from per-channel values: labels[v] = the channel with the largest value at v (ties to the lowest
 *  channel; a NaN never wins against a number), as the engine computes them. values: float32, C x shape;
 *  labels: uint8 (C <= 256) or uint16, 1 x shape. Runs on the CPU thread pool (no arithmetic, so every backend
 *  would give the same). Errors: VXT_ERR_NULL, VXT_ERR_INVALID_ARGUMENT, VXT_ERR_SHAPE_MISMATCH. */
VXT_API vxt_status vxt_argmax(vxt_context *ctx, const vxt_volume *values, vxt_volume *labels);

/* ---- pull/push sessions ---------------------------------------------------------------------------- */

/** A stitching session for servers with their own (asynchronous) inference engines: ask for batches of tile
 *  inputs, submit their outputs in any order, finish. Outputs are accumulated in plan order whatever the
 *  submission order, so the result equals vxt_stitch()'s bit for bit. A session is used by one thread at a
 *  time. */
typedef struct vxt_session vxt_session;

/** Start a session (arguments as vxt_stitch(); `input` and `output` must stay valid until it is destroyed).
 *  `input` may be NULL when the caller already has the tiles' outputs (precomputed tiles): batches then carry
 *  no input. */
VXT_API vxt_status vxt_session_create(vxt_context *ctx, const vxt_plan *plan, const vxt_stitch_options *opts,
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


/* ---- predictor plugins ------------------------------------------------------------------------------ */

/*
 * A model for `voxtile run` can be a shared library (dlopen) exporting four C functions. A plugin includes this
 * header for the types and macros; it does not link libvoxtile. See docs/PLUGINS.md and
 * tools/plugins/example_model.c.
 *
 *   int   vxt_plugin_abi_version(void);                       returns VXT_PLUGIN_ABI_VERSION
 *   void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
 *             parse `config` (a string from the command line or the plan; may be ""), fill desc, return the
 *             model's state, or NULL with a message in error
 *   int   vxt_plugin_predict(void *model, const vxt_batch *batch);
 *             fill batch->output from batch->input (host form); 0 on success, non-zero to stop the run
 *   void  vxt_plugin_destroy(void *model);
 *
 * vxt_plugin_predict is called from one thread at a time.
 */
#define VXT_PLUGIN_ABI_VERSION 1

/** What a plugin's model takes and produces (filled by vxt_plugin_create; struct_size is set by the caller). */
typedef struct vxt_plugin_desc {
    size_t struct_size;
    char name[128];          /**< for messages and reports */
    int64_t in_channels;     /**< input channels it needs; 0 = any */
    int64_t out_channels;    /**< channels it produces (>= 1) */
    vxt_dtype output_dtype;  /**< VXT_DTYPE_F32 or VXT_DTYPE_F16 */
    int64_t roi[3];          /**< the tile size it needs; zeros = any */
} vxt_plugin_desc;

typedef int (*vxt_plugin_abi_version_fn)(void);
typedef void *(*vxt_plugin_create_fn)(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
typedef int (*vxt_plugin_predict_fn)(void *model, const vxt_batch *batch);
typedef void (*vxt_plugin_destroy_fn)(void *model);

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

/** Which voxels a statistic or a data-dependent normalization uses. */
typedef enum vxt_select {
    VXT_SELECT_ALL = 0,     /**< every voxel */
    VXT_SELECT_NONZERO = 1, /**< voxels whose value (as read, float32) is not zero; NaN counts as non-zero */
    VXT_SELECT_MASK = 2     /**< voxels where a uint8 or int8 mask of the same z, y, x shape is not zero */
} vxt_select;

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

/** Interpolation along an axis. */
typedef enum vxt_interp {
    VXT_INTERP_LINEAR = 0,        /**< linear (trilinear over the three axes) */
    VXT_INTERP_NEAREST = 1,       /**< nearest centre: half-pixel grid floor((i + 0.5) * in/out) (torch
                                       'nearest-exact', nnU-Net's anisotropic axis); corner grid
                                       floor(i * (in-1)/(out-1) + 0.5) (scipy order 0) */
    VXT_INTERP_NEAREST_FLOOR = 2  /**< torch mode='nearest' (legacy): floor(i * in/out) */
} vxt_interp;

/** How a resized grid sits on the original one: used by the resampler (vxt_resample_options.align) and by the
 *  geometry of resized images (vxt_geometry_resize), so that one setting drives both (docs/NIFTI.md "Resampled
 *  grids", docs/PREPROCESSING.md). */
typedef enum vxt_grid_align {
    /** Same field of view, outer voxel edges aligned: src = (dst + 0.5) * in/out - 0.5 (torch
     *  align_corners=False, skimage, scipy zoom(grid_mode=True), nnU-Net); the resampler computes it in float32
     *  exactly as torch does. */
    VXT_ALIGN_HALF_PIXEL = 0,
    /** First and last voxel centres aligned: src = dst * (in-1)/(out-1) (torch align_corners=True, scipy zoom's
     *  default); the resampler computes it in double as scipy does. For geometry, an axis of 1 output voxel
     *  keeps voxel 0's centre and takes the scale in/out; an axis of 1 input voxel cannot be spread (refused). */
    VXT_ALIGN_CORNERS = 1
} vxt_grid_align;

/** What samples outside the volume see. */
typedef enum vxt_boundary {
    VXT_BOUNDARY_CLAMP = 0,   /**< the nearest edge voxel (torch; scipy mode='nearest') */
    VXT_BOUNDARY_CONSTANT = 1 /**< fill_value (scipy mode='grid-constant'): neighbours outside the volume
                                   contribute fill_value; a sample with all neighbours outside is fill_value */
} vxt_boundary;

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
} vxt_resample_options;

/** Fill *opts with the defaults above and set struct_size. */
VXT_API void vxt_resample_options_init(vxt_resample_options *opts);

/**
 * Resample `in` to the shape of `out` (channels equal; each channel resampled the same way, with the same
 * tables): separable, per axis linear or nearest, on the chosen grid and boundary. Linear output is float32:
 * torch's source indices and weights, its order of operations (upsample_trilinear3d), each product rounded;
 * half-pixel results are within two float32 ulps of the largest input value of torch's (docs/PREPROCESSING.md).
 * When every axis is nearest (label volumes), `out` may also have the input's dtype: values are copied, never
 * interpolated. opts may be NULL (defaults: trilinear, half-pixel, clamp). `out` must not overlap `in`. Rows
 * (in.shape[2]) of at most 2^31 - 1 voxels.
 */
VXT_API vxt_status vxt_resample(vxt_context *ctx, const vxt_volume *in, vxt_volume *out,
                                const vxt_resample_options *opts);

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
