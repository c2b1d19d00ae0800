/*
 * backend.h - the execution context: its CPU thread pool, its reusable host buffers (workspace), and the
 * context structure itself (backend, OpenCL objects, tuning knobs, program cache, error buffer). Not installed.
 */
#ifndef VXT_BACKEND_H
#define VXT_BACKEND_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>

#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

/* ---- CPU thread pool (backend/threadpool.c) ------------------------------------------------------ */

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

/* vxt__volume_move (common.h) with b's planes spread over the pool's threads (common/volume.c); the same bytes. */
void vxt__volume_move_pool(vxt__pool *pool, void *a, void *b, size_t elem, int64_t channels, const int64_t a_shape[3],
                           const int perm[3], const int flip[3], int64_t z0, int64_t z1, int to_b);

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

/* ---- workspace (backend/workspace.c) ------------------------------------------------------------- */

/* Large, page-aligned host buffers, reused across runs through the context (see workspace.c). The contents of
 * a returned buffer are undefined. *actual receives the size to pass back to vxt__ws_free. NULL when out of
 * memory. */
void *vxt__ws_alloc(vxt_context *ctx, size_t bytes, size_t *actual);
/* The size vxt__ws_alloc gives for a request of `bytes` (whole pages; 2 MiB pages from 8 MiB on). */
size_t vxt__ws_round(size_t bytes);
void vxt__ws_free(vxt_context *ctx, void *p, size_t actual);
void vxt__ws_release_all(vxt_context *ctx);

#define VXT__WS_SLOTS 8

/* ---- OpenCL programs (opencl/program.c) ---------------------------------------------------------- */

/* OpenCL programs: each one is the shared arithmetic header plus one or more kernel files. */
typedef enum vxt__prog {
    VXT__PROG_PROBE = 0,
    VXT__PROG_STITCH,
    VXT__PROG_INTENSITY, /* preprocessing: pointwise intensity transforms */
    VXT__PROG_STATS,     /* preprocessing: moments in double (built only on devices with fp64) */
    VXT__PROG_HISTOGRAM, /* preprocessing: key and uniform histograms (percentiles, histogram) */
    VXT__PROG_RESAMPLE,  /* preprocessing: separable and affine resampling */
    VXT__PROG_PATCHES,   /* preprocessing: box and tri-planar patch extraction */
    VXT__PROG_LABELS,    /* labels from class values by a label rule */
    VXT__PROG_SMOOTH,    /* preprocessing: Gaussian smoothing, one pass per axis */
    VXT__PROG_COUNT
} vxt__prog;

/* ---- the context --------------------------------------------------------------------------------- */

#define VXT__CTX_ERR_SIZE 65536

struct vxt_context {
    vxt_backend backend; /* OPENCL or CPU */
    vxt_backend requested; /* what the caller asked for: AUTO lets a pipeline stage fall back to the CPU */
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
    /* stitching tile outputs on the OpenCL device: 0 automatic (on when the device does not share host memory:
     * !host_unified, a discrete GPU), 1 always, 2 never. On: a second in-order queue uploads a call's outputs
     * (from pinned host buffers that vxt_stitch's predictor fills) while the previous call accumulates
     * (docs/STITCHING.md "On a discrete GPU"). Tests set it so that PoCL runs this path too. */
    int stitch_upload;
    /* calls whose tile outputs took that path, summed over the stitches this context ran (tests read it) */
    _Atomic uint64_t stitch_async_uploads;
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

#endif /* VXT_BACKEND_H */
