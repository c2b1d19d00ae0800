/*
 * internal.h - declarations shared by the library's source files. Not installed.
 *
 * Internal functions with external linkage carry the prefix `vxt__` (two underscores); the shared library
 * exports only the public `vxt_` API (visibility + version script).
 */
#ifndef VXT_INTERNAL_H
#define VXT_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

#if defined(__GNUC__)
#define VXT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VXT_PRINTF(f, a)
#endif

/* The CPU backend's hot voxel loops are compiled twice, for AVX2 and for the baseline ISA, and the variant is
 * chosen once at load time (GCC function multiversioning, x86-64 Linux). Both variants do the same IEEE
 * operations in the same order (no FMA: -ffp-contract=off, no reassociation), so they give the same bits: only
 * the vector width differs. -DVXT_NO_CLONES turns it off. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && !defined(VXT_NO_CLONES)
#define VXT_CPU_HOT __attribute__((target_clones("avx2", "default")))
#else
#define VXT_CPU_HOT
#endif

/* ---- errors (error.c) ------------------------------------------------------------------------------ */

/* Record a failure: formats the message into the calling thread's buffer and, when ctx is not NULL, into
 * the context's buffer. Returns `status` so that callers can `return vxt__fail(...)`. */
vxt_status vxt__fail(const vxt_context *ctx, vxt_status status, const char *fmt, ...) VXT_PRINTF(3, 4);
vxt_status vxt__failv(const vxt_context *ctx, vxt_status status, const char *fmt, va_list ap);

/* Checks used at the top of public functions. */
#define VXT_CHECK_NULL(ctx, ptr)                                                                              \
    do {                                                                                                     \
        if ((ptr) == NULL)                                                                                   \
            return vxt__fail((ctx), VXT_ERR_NULL, "%s: argument '%s' is NULL", __func__, #ptr);              \
    } while (0)

/* Validate a caller-filled struct's size: at least `min_size` (the first released layout) and, when larger
 * than `ours`, the extra bytes must be zero (fields of a newer header left at their defaults). */
vxt_status vxt__check_struct_size(const vxt_context *ctx, const char *func, const char *type,
                                  const void *s, size_t given, size_t min_size, size_t ours);

/* Output structs (info structs filled by the library): the caller's struct_size must be at least min_size;
 * copy_out copies min(given, ours) bytes and stores the copied size in the caller's struct_size. */
vxt_status vxt__check_out_struct(const vxt_context *ctx, const char *func, const char *type, size_t given,
                                 size_t min_size);
void vxt__copy_out_struct(void *dst, const void *src, size_t given, size_t ours);

/* ---- sizes ----------------------------------------------------------------------------------------- */

/* *out = a*b; returns 0 on overflow of size_t. */
static inline int vxt__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int vxt__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Bounded string copy that always terminates (dst_size > 0). */
void vxt__strlcpy(char *dst, const char *src, size_t dst_size);

/* Append formatted text to a bounded buffer (always terminated; truncates). */
void vxt__strlcatf(char *dst, size_t dst_size, const char *fmt, ...) VXT_PRINTF(3, 4);

/* ---- volumes (volume.c) ----------------------------------------------------------------------------- */

/* Validate a volume view argument (`what` names it in messages) and compute its byte size. */
vxt_status vxt__volume_check(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                             size_t *bytes);

/* ---- tiling (plan.c, importance.c) --------------------------------------------------------------- */

/* Tile `index` (< tile_count, unchecked). */
void vxt__plan_tile(const vxt_plan *plan, uint64_t index, vxt_tile *tile);
const vxt_plan_info *vxt__plan_info(const vxt_plan *plan);

/* The importance table of `kind` for `roi` into out (roi product floats); `user` for VXT_IMPORTANCE_USER
 * (checked: finite, normal, > 0). */
vxt_status vxt__importance_table(const vxt_context *ctx, vxt_importance kind, const int64_t roi[3],
                                 const double sigma_scale[3], const float *user, float *out);

/* ---- floating-point environment (fpenv.c) ---------------------------------------------------------- */

/* The CPU path must not depend on the caller's floating-point environment (a library built with
 * -ffast-math may have switched on flush-to-zero in this thread). Work runs between enter and leave, in
 * the default environment: round to nearest, no FTZ/DAZ. */
typedef struct vxt__fpenv {
    unsigned char saved[64];
} vxt__fpenv;
void vxt__fpenv_enter(vxt__fpenv *saved);
void vxt__fpenv_leave(const vxt__fpenv *saved);

/* ---- CPU thread pool (threadpool.c) ---------------------------------------------------------------- */

typedef struct vxt__pool vxt__pool;

/* Work function: process items [begin, end). `slot` is in [0, threads) and unique among concurrently
 * running calls of one job (for per-thread scratch). Results must not depend on which slot ran a range. */
typedef void (*vxt__task_fn)(void *arg, size_t begin, size_t end, int slot);

/* threads >= 1; threads - 1 worker threads are started (the caller works too). */
vxt_status vxt__pool_create(int threads, vxt__pool **out);
void vxt__pool_destroy(vxt__pool *pool);
int vxt__pool_threads(const vxt__pool *pool);

/* Split [0, n) into ranges of `grain` items (the last one shorter) and run fn on each, in parallel. The
 * ranges are the same whatever the thread count, so per-range partial results combined in range order are
 * deterministic. Runs in the default floating-point environment. When the pool is busy with another job
 * (another thread using the same context), the job runs on the calling thread alone. */
void vxt__pool_for(vxt__pool *pool, size_t n, size_t grain, vxt__task_fn fn, void *arg);

/* A job started in the background: the pool's workers take its ranges while the calling thread does something
 * else (vxt_stitch cuts the next batch's tiles while the predictor runs), then vxt__pool_join has the caller
 * take the remaining ranges and waits for the workers. The same thread starts and joins, and joins before it
 * uses the pool again (a vxt__pool_for in between finds the pool busy and runs alone). With no workers, or the
 * pool busy, nothing starts and the join runs the whole job. Ranges as in vxt__pool_for. */
typedef struct vxt__pool_job {
    vxt__pool *pool;
    int started; /* the workers have it; the job lock is held until the join */
    size_t n, grain;
    vxt__task_fn fn;
    void *arg;
} vxt__pool_job;
void vxt__pool_start(vxt__pool *pool, vxt__pool_job *job, size_t n, size_t grain, vxt__task_fn fn, void *arg);
void vxt__pool_join(vxt__pool_job *job);

/* Number of CPUs this process may run on. */
int vxt__available_cpus(void);

/* ---- OpenCL helpers (cl_util.c) -------------------------------------------------------------------- */

const char *vxt__cl_error_name(cl_int err);

/* Enumerate platforms: *platforms is malloc'd (free it), *n may be 0. Returns VXT_OK also when the ICD
 * loader reports no platform (then *n = 0 and *why describes the loader's answer). */
vxt_status vxt__cl_platforms(const vxt_context *ctx, cl_platform_id **platforms, cl_uint *n, cl_int *why);

/* Devices of a platform (all types). *devices is malloc'd. */
vxt_status vxt__cl_devices(const vxt_context *ctx, cl_platform_id platform, cl_device_id **devices,
                           cl_uint *n);

/* Fill a vxt_device_info (struct_size must already be set). */
vxt_status vxt__cl_describe_device(const vxt_context *ctx, cl_platform_id platform, cl_device_id device,
                                   vxt_device_info *info);

/* ---- OpenCL execution (cl_exec.c) ---------------------------------------------------------------- */

/* CL error -> status (VXT_ERR_OUT_OF_MEMORY for allocation failures, else VXT_ERR_OPENCL) with a message
 * "<what>: CL_ERROR_NAME (code) on '<device>'". VXT_OK for CL_SUCCESS. */
vxt_status vxt__cl_check(const vxt_context *ctx, cl_int err, const char *what);

/* clCreateBuffer, refusing sizes above CL_DEVICE_MAX_MEM_ALLOC_SIZE with VXT_ERR_UNSUPPORTED. */
vxt_status vxt__cl_buffer(const vxt_context *ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what,
                          cl_mem *out);

/* Blocking transfers. */
vxt_status vxt__cl_write(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, const void *src,
                         const char *what);
vxt_status vxt__cl_read(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, void *dst, const char *what);

/* Enqueue `k` over items[0..dims) work-items (dimension 0 fastest), work-groups of ctx->wg (64 x 1), global
 * rounded up: kernels must bound-check. Nothing is enqueued when any items[d] is 0. */
vxt_status vxt__cl_launch(const vxt_context *ctx, cl_kernel k, cl_uint dims, const size_t *items, const char *name);
vxt_status vxt__cl_finish(const vxt_context *ctx, const char *what);

/* Set kernel argument i to the value v (an lvalue); evaluates to the cl_int result. */
#define VXT_CL_ARG(k, i, v) clSetKernelArg((k), (cl_uint)(i), sizeof(v), &(v))

/* ---- programs (program.c, program_cache.c) --------------------------------------------------------- */

/* OpenCL programs: each one is the shared arithmetic header plus one or more kernel files. */
typedef enum vxt__prog {
    VXT__PROG_PROBE = 0,
    VXT__PROG_STITCH,
    VXT__PROG_INTENSITY, /* preprocessing: pointwise intensity transforms */
    VXT__PROG_STATS,     /* preprocessing: moments in double (built only on devices with fp64) */
    VXT__PROG_HISTOGRAM, /* preprocessing: key and uniform histograms (percentiles, histogram) */
    VXT__PROG_RESAMPLE,  /* preprocessing: separable and affine resampling */
    VXT__PROG_PATCHES,   /* preprocessing: box and tri-planar patch extraction */
    VXT__PROG_COUNT
} vxt__prog;

/* The embedded sources of a program, in order, and its name (for messages and cache keys). */
const char *vxt__prog_name(vxt__prog id);
size_t vxt__prog_sources(vxt__prog id, const char **sources, size_t max);

/* The built program of `id` for ctx's device (built or loaded on first use, then cached; borrowed). */
vxt_status vxt__program_get(vxt_context *ctx, vxt__prog id, cl_program *out);

/* A new kernel object for `name` in program `id` (the caller releases it). Kernel objects are created per
 * use so that concurrent callers never share argument state. */
vxt_status vxt__kernel_create(vxt_context *ctx, vxt__prog id, const char *name, cl_kernel *out);

/* Build options used for every program on this context's device. */
const char *vxt__build_options(const vxt_context *ctx);

/* On-disk program binaries. load: *binary = NULL (and VXT_OK) on a miss or an invalid entry (a note is
 * left in *note). store: atomic (temporary file + rename); failures are reported through *note only. */
void vxt__disk_cache_load(const char *dir, const char *key, unsigned char **binary, size_t *size, char *note,
                          size_t note_size);
void vxt__disk_cache_store(const char *dir, const char *key, const unsigned char *binary, size_t size,
                           char *note, size_t note_size);

/* 64-bit FNV-1a, for cache keys. */
uint64_t vxt__fnv1a64(const void *data, size_t n, uint64_t h);
#define VXT__FNV_INIT 0xcbf29ce484222325ull

/* ---- determinism probe (probe.c) ------------------------------------------------------------------- */

/* Run the probe on ctx's OpenCL device and the CPU path; fills *report. Returns VXT_OK when it could run
 * (even if values differ: report->passed says), an error when the device failed to run it. */
vxt_status vxt__probe_run(vxt_context *ctx, vxt_probe_report *report);

/* ---- workspace (workspace.c) ------------------------------------------------------------------------ */

/* Large, page-aligned host buffers, reused across runs through the context (see workspace.c). The contents of
 * a returned buffer are undefined. *actual receives the size to pass back to vxt__ws_free. NULL when out of
 * memory. */
void *vxt__ws_alloc(vxt_context *ctx, size_t bytes, size_t *actual);
void vxt__ws_free(vxt_context *ctx, void *p, size_t actual);
void vxt__ws_release_all(vxt_context *ctx);

#define VXT__WS_SLOTS 8

/* ---- the context ----------------------------------------------------------------------------------- */

#define VXT__CTX_ERR_SIZE 65536

struct vxt_context {
    vxt_backend backend; /* OPENCL or CPU */
    int threads;
    vxt__pool *pool;

    /* OpenCL (NULL for the CPU backend) */
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    int adopted;
    int div_mode;
    uint64_t max_alloc;
    size_t wg[2]; /* work-group shape of vxt__cl_launch (x, y) */
    size_t wg1d; /* work-group size of 1D launches (pointwise kernels): 1024 on CPU devices, else wg[0] */
    size_t wg_item_max[3]; /* CL_DEVICE_MAX_WORK_ITEM_SIZES (0: unknown) */
    int device_is_cpu;   /* the OpenCL device shares the host's cores (PoCL) */
    int host_unified;    /* the OpenCL device shares host memory: buffers can wrap host memory without copies */
    /* vxt_stitch overlap of accumulation with the predictor: 0 automatic (only when accumulation runs on other
     * hardware than the host's cores), 1 always, 2 never. Tests set it to exercise both paths. */
    int stitch_overlap;
    /* stitching kernels: 0 automatic (row-wise on CPU devices, per voxel elsewhere), 1 row-wise, 2 per voxel.
     * Tests set it so that PoCL runs the GPU kernels too. */
    int stitch_kernels;
    /* vxt_stitch on the CPU backend: 0 automatic (accumulate consecutive small batches of one z row together,
     * docs/STITCHING.md "Grouping"), 2 never. Tests set it to compare both. */
    int stitch_group;
    /* a group ends after a predictor call slower than this many seconds (0: the default, 20 ms; < 0: never, for
     * tests that need grouping to engage whatever the machine's speed) */
    double stitch_group_slow_s;
    /* the group buffer's size (0: the default, 128 MiB); tests make it small to exercise group boundaries */
    size_t stitch_group_bytes;
    char build_options[256];
    char device_key[2048]; /* device/driver/platform identity for cache keys */

    char *cache_dir; /* NULL: no disk cache */
    pthread_mutex_t prog_lock;
    cl_program programs[VXT__PROG_COUNT];

    vxt_context_info info;

    pthread_mutex_t ws_lock;
    struct {
        void *ptr;
        size_t bytes;
    } ws[VXT__WS_SLOTS];
    size_t ws_cached, ws_budget;
    /* preprocessing test knobs (0: automatic): slab size limit in bytes; kernel variants (VXT__PP_* bits) */
    size_t pp_chunk_bytes;
    unsigned pp_variant;

    pthread_mutex_t err_lock;
    char *err; /* VXT__CTX_ERR_SIZE bytes */
};

#endif /* VXT_INTERNAL_H */
