/* stitch_internal.h - state shared by the stitching engine's files:
 *   stitch_setup.c    options, tables (weights, covering tiles), call enumeration, ring depth
 *   stitch_extract.c  tile inputs cut from the volume on the host (padding, mirroring)
 *   stitch_cpu.c      accumulation and finalization on the CPU backend (kernels/stitch/: the kernels' CPU twin)
 *   stitch_cl.c       the same on an OpenCL device
 *   stitch_crop.c     crop blending (VXT_IMPORTANCE_CROP) on either backend: tile cores straight to the output
 *   stitch_session.c  sessions: batches out, outputs in (any order), plan-order accumulation, slabs out
 *   stitch_run.c      vxt_stitch(): a session driven with a callback, with double buffering
 *
 * Work is enumerated as "calls": call k covers tile batch b = k / (M*F), member m = (k / F) % M and mirroring
 * f = k % F, where M is the member count and F the number of mirrorings (identity first). Calls are accumulated
 * strictly in k order. */
#ifndef VXT_STITCH_INTERNAL_H
#define VXT_STITCH_INTERNAL_H

#include "internal.h"

#define VXT__MAX_FLIPS 8

/* vxt_stitch's grouping (stitch_run.c): at most this many tiles in one consume */
#define VXT__GROUP_MAX_TILES 256u

typedef struct vxt__call {
    uint64_t k;
    uint64_t batch;      /* tile batch index */
    uint64_t first_tile; /* plan index */
    int count;           /* tiles */
    int member;
    int flip_index; /* 0 .. F-1 */
    unsigned flip;  /* axis mask */
} vxt__call;

typedef struct vxt__stitch vxt__stitch;

/* Backend operations. Buffers of calls live in "slots" (0 .. nslots-1), so that several calls can be in
 * flight. */
typedef struct vxt__stitch_ops {
    vxt_status (*init)(vxt__stitch *s);
    void (*destroy)(vxt__stitch *s);
    /* Accumulator ring slots are never cleared: the first tile covering a voxel (in plan order) starts its sum
     * with 0 + p*w, which is what adding to a zeroed buffer gives, so a slot can be reused as it is. */
    /* Accumulate call c whose output is in host memory `out` (count x C x ROI of the tile dtype), or, for the
     * device form (out == NULL), in the slot's device output buffer. May run asynchronously: errors of the
     * predictor's values (NaN/Inf) may be reported by a later call of consume/finalize/sync. */
    vxt_status (*consume)(vxt__stitch *s, const vxt__call *c, int slot, const void *out);
    /* Final values of volume slices [z0, z1) into host memory: values (C planes of (z1-z0) x S1 x S2 floats,
     * `cstride` elements apart; may be NULL) and labels ((z1-z0) x S1 x S2 of label_dtype; may be NULL).
     * Synchronous. */
    vxt_status (*finalize)(vxt__stitch *s, int64_t z0, int64_t z1, float *values, size_t cstride, void *labels);
    /* Wait for everything queued; report deferred errors. */
    vxt_status (*sync)(vxt__stitch *s);
    /* The host bytes init allocates for this case (and, in *device, the device's), from the sizes alone: init
     * sets held_bytes from it, and vxt__stitch_estimate reports it before anything is allocated. */
    size_t (*footprint)(const vxt__stitch *s, size_t *device);
} vxt__stitch_ops;

struct vxt__stitch {
    vxt_context *ctx;
    const vxt_tiling *plan;
    vxt_tiling_info pi;
    vxt_stitch_options opt;
    vxt_volume input;
    vxt_stitch_output output;
    vxt_volume out_values, out_labels; /* copies of the caller's views (buffer mode) */
    int sink_mode;
    /* the backend accumulates calls of up to VXT__GROUP_MAX_TILES consecutive tiles in host memory in one consume
     * (set by its init): the CPU backend, and row-wise OpenCL devices sharing host memory without mirroring */
    int can_group;

    /* sizes */
    int64_t C, Cin;
    int64_t R[3], P[3], S[3], lo[3];
    size_t roi_vox;         /* R0*R1*R2 */
    size_t tile_out_elems;  /* C * roi_vox */
    size_t tile_in_elems;   /* Cin * roi_vox */
    size_t tile_es;         /* bytes per output element */
    int mode;               /* VXT_ACC_* */
    int f16_tile;
    int M, F;
    int prob_ensemble;  /* members activated before they are averaged (VXT_ENSEMBLE_PROBABILITIES, M > 1, an
                           activation) */
    float threshold;    /* the label threshold, rounded to float32 once */
    int *regions;       /* VXT_LABELS_REGIONS: C labels (a copy of the options'), else NULL */
    unsigned flips[VXT__MAX_FLIPS];
    uint64_t T, B, nbatches, ncalls;
    int64_t tiles_per_row; /* tiles with the same z start */

    /* tables */
    float *weights; /* roi_vox; half-rounded in float16 mode */
    const int64_t *starts[3];
    int64_t nstarts[3];
    int *cover_first, *cover_count; /* P0+P1+P2 each: first covering start and how many, per padded coord */

    /* accumulator ring along padded z */
    int64_t D;
    int64_t finalized_pz; /* padded z below which everything is final (or never was part of the volume) */

    /* progress */
    uint64_t consumed_calls, consumed_tiles, total_tiles;

    /* bytes of the host buffers the backend's init allocated (rings, accumulators, means, tables, scratch); what
       tests bound to show that memory does not grow with channels x volume */
    size_t held_bytes;
    /* CPU backend: the pending blocks its pool was planned for, and the most it ever held (tests) */
    uint64_t blocks_planned, blocks_seen;

    int nslots;
    /* host output buffers the driver fills and hands to consume: vxt_stitch's (1 in line, 2 when accumulation
     * overlaps the predictor), 0 for sessions (their callers bring their own memory). The OpenCL backend offers
     * them as pinned staging buffers when it uploads on its own queue (vxt__stitch_cl_pinned). */
    int staged;
    const vxt__stitch_ops *ops;
    void *backend; /* backend state */
};

/* stitch_setup.c */
vxt_status vxt__stitch_create(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                              const vxt_volume *input, const vxt_stitch_output *output, int nslots, int staged,
                              vxt__stitch **out);
void vxt__stitch_destroy(vxt__stitch *s);

/* What vxt_stitch (a session of `nslots` slots driven by vxt_stitch's loop) holds for a case, by part, in the
 * allocations' own sizes (workspace buffers rounded as vxt__ws_alloc rounds them). */
typedef struct vxt__stitch_bytes {
    size_t engine;       /* tables and the backend's state: the accumulator ring (or crop's rings), sums, scratch */
    size_t device;       /* the OpenCL device's buffers (accumulator, tile outputs, slabs); 0 on the CPU */
    size_t tile_inputs;  /* the session's input slots */
    size_t tile_outputs; /* vxt_stitch's output buffers (or its grouped outputs) */
    size_t slab;         /* one finished slab, in sink mode */
    int64_t slab_depth;  /* its planes (at most) */
    int64_t slab_max[2]; /* the most planes of the slabs handed out first, third, ... and second, fourth, ... */
} vxt__stitch_bytes;
/* The sizes of a case without allocating it: the same checks as vxt__stitch_create (an input of `cin` channels;
 * output's volumes are not looked at, only which outputs are wanted). */
vxt_status vxt__stitch_estimate(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                                int64_t cin, const vxt_stitch_output *output, int nslots, vxt__stitch_bytes *b);
/* stitch_session.c: the sizes its open allocates (slab depth: planes of a sink's slab, 0 without a sink) */
size_t vxt__session_input_bytes(const vxt__stitch *s);
int64_t vxt__session_slab_z(const vxt__stitch *s);
size_t vxt__session_slab_bytes(const vxt__stitch *s);
/* stitch_cl.c: whether the OpenCL backend accumulates groups of calls for this case (its init's can_group). */
int vxt__stitch_cl_can_group(const vxt__stitch *s);
/* stitch_cl.c: whether the OpenCL backend uploads tile outputs on a queue of its own (ctx->stitch_upload), and
 * whether it offers this case's s->staged output buffers as pinned host memory (then it holds them: footprint). */
int vxt__stitch_cl_uploads(const vxt_context *ctx);
int vxt__stitch_cl_stages(const vxt__stitch *s);
/* The bytes of those pinned buffers (0 when it offers none); part of its footprint. */
size_t vxt__stitch_cl_pinned_bytes(const vxt__stitch *s);
/* Pinned output buffer i (< s->staged) of at least `bytes`, mapped for the stitch's lifetime; NULL when the
 * backend offers none (another backend, the upload path off, the device form). */
void *vxt__stitch_cl_pinned(vxt__stitch *s, int i, size_t bytes);
/* Calls whose tile outputs this stitch uploaded on the upload queue (tests). */
uint64_t vxt__stitch_cl_async_uploads(const vxt__stitch *s);
/* stitch_run.c: the host output buffers vxt_stitch fills for these options (s->staged of its stitch). */
int vxt__stitch_run_staged(const vxt_context *ctx, const vxt_stitch_options *opts);
/* stitch_run.c: the tile output buffers vxt_stitch allocates for a case (host predictor). */
size_t vxt__stitch_run_output_bytes(const vxt_context *ctx, const vxt__stitch *s);
/* stitch_run.c: the most tiles one backend consume can carry (a call's batch, or vxt_stitch's group of calls). */
uint64_t vxt__stitch_consume_tiles_max(const vxt_context *ctx, const vxt__stitch *s);
void vxt__stitch_call(const vxt__stitch *s, uint64_t k, vxt__call *c);
/* Padded z below which no tile after call k touches (the z start of the next tile batch, P0 after the last). */
int64_t vxt__stitch_final_pz_after(const vxt__stitch *s, uint64_t k);

/* stitch_session.c: a session with `nslots` batch slots (vxt_stitch uses 2). */
vxt_status vxt__session_open(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                             const vxt_volume *input, const vxt_stitch_output *output, int nslots, int staged,
                             vxt_session **out);

vxt_status vxt__session_consume_begin(vxt_session *ss, uint64_t k, const void *out);
vxt_status vxt__session_consume_end(vxt_session *ss, uint64_t k);
vxt_status vxt__session_fail(vxt_session *ss, vxt_status st);
/* The engine behind a session. */
vxt__stitch *vxt__session_stitch(vxt_session *ss);
/* The input slot of call k may be reused (its predictor has returned) although k is not accumulated yet. */
void vxt__session_release(vxt_session *ss, uint64_t k);
/* vxt_stitch: start cutting the next call's tiles in the background (the pool's workers) while the caller runs
 * the predictor on the current one, when the next call's input slot is free; vxt__session_cut_join completes
 * it (the caller's thread joins in) and must come before anything else uses the pool. vxt_session_next_batch
 * then hands out the tiles already cut. */
void vxt__session_cut_ahead(vxt_session *ss);
void vxt__session_cut_join(vxt_session *ss);
/* Accumulate calls k0 .. k0+n-1 in one backend call whose outputs are consecutive in `out` (CPU backend, one
 * member, no mirroring: the calls are consecutive tile batches), then do each call's bookkeeping. */
vxt_status vxt__session_consume_group(vxt_session *ss, uint64_t k0, uint64_t n, const void *out);

/* stitch_extract.c: the inputs of call c (count x Cin x ROI float32) into dst, with padding and mirroring. */
void vxt__stitch_extract(const vxt__stitch *s, const vxt__call *c, float *dst);
/* The same in the background (vxt__pool_start): the pool's workers cut while the caller goes on; the join
 * completes it on the calling thread. `x` holds the job until the join. */
typedef struct vxt__extract {
    const vxt__stitch *s;
    vxt__call c;
    float *dst;
    int pad_mode;
    vxt__pool_job job;
} vxt__extract;
void vxt__stitch_extract_start(const vxt__stitch *s, const vxt__call *c, float *dst, vxt__extract *x);
void vxt__stitch_extract_join(vxt__extract *x);

/* Describe a non-finite predictor value at flat index `i` of item `item` of call c. */
vxt_status vxt__stitch_nonfinite(const vxt__stitch *s, const vxt__call *c, int item, size_t i, float value);

/* stitch_cl.c: device buffers of a slot for the device predictor form. */
cl_mem vxt__stitch_cl_input(vxt__stitch *s, int slot);
cl_mem vxt__stitch_cl_output(vxt__stitch *s, int slot);

extern const vxt__stitch_ops vxt__stitch_cpu_ops;
extern const vxt__stitch_ops vxt__stitch_cl_ops;
extern const vxt__stitch_ops vxt__stitch_crop_ops;

#endif
