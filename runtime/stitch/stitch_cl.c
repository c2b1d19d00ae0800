/* stitch_cl.c - the stitching engine on an OpenCL device. The device holds the accumulator ring (one buffer
 * per ensemble member), the importance table, the covering-tile tables, and per-slot output buffers; the host
 * uploads each call's outputs and enqueues mirroring and accumulation kernels on the in-order queue (so
 * accumulation follows plan order), and reads back finished slabs. NaN/Inf checks run in the kernels; their
 * results are read back asynchronously and looked at before a slot is reused or a slab leaves.
 *
 * On a device that does not share host memory (a discrete GPU; ctx->stitch_upload), the outputs go up on a second
 * in-order queue, from pinned host buffers where vxt_stitch's predictor wrote them, without blocking the kernel
 * queue: a barrier makes call k's kernels wait for call k's upload only, and consume returns once the upload is
 * done, so call k+1's upload runs while call k accumulates (docs/STITCHING.md, "On a discrete GPU"). */
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_stitch.h"

typedef struct cl_state {
    cl_kernel k_mirror, k_acc, k_norm, k_act;
    cl_kernel k_fill; /* vxt_k_fill_u32: the NaN flags (vxt__cl_fill_u32) */
    int rows; /* row-wise kernels (devices made of CPU cores): vxt_k_stitch_accumulate_rows / normalize_rows */
    cl_kernel k_norm_rows;
    /* row-wise devices without mirroring: the tiles of a call with the same z start in one launch (one pass over
     * the accumulator rows, vxt_k_stitch_accumulate_group_rows); gt holds per slot and item {item_offset, ys, xs,
     * iy, x_split}, written from gt_host (per slot, so a write in flight is never overwritten: a slot is reused
     * only after its previous call's kernels finished) */
    cl_kernel k_acc_group;
    cl_mem gt;
    cl_long *gt_host;
    size_t cap;       /* tiles per slot in the NaN flags and the tile table: B, or VXT__GROUP_MAX_TILES when
                         vxt_stitch may hand over groups of calls (s->can_group) */
    cl_mem *acc;      /* M buffers */
    void **acc_host;  /* on devices sharing host memory: the workspace memory they wrap (reused across runs) */
    size_t *acc_host_bytes;
    cl_mem *out;      /* nslots: call outputs */
    cl_mem *in;       /* nslots: call inputs (device predictor form), else NULL */
    cl_mem mirror, weights, starts[3], cover_first, cover_count;
    cl_mem bad;       /* nslots x B uints */
    cl_mem slab_vals, slab_labels;
    cl_mem regions;   /* the label rule's region labels (C ints; one dummy int for the other rules) */
    int64_t slab_z;   /* slices per finalization chunk */
    uint32_t *bad_host;
    cl_event *bad_evt;
    vxt__call *slot_call;
    int *slot_busy;
    size_t out_bytes;
    /* the upload path (vxt__stitch_cl_uploads): its queue, s->staged pinned host buffers (CL_MEM_ALLOC_HOST_PTR,
     * mapped for the stitch's lifetime at pin_host), and the calls that went up that way */
    cl_command_queue upq;
    cl_mem *pin;
    void **pin_host;
    int npin;
    _Atomic uint64_t async_uploads; /* the worker counts, tests read while a session runs */
} cl_state;

static cl_state *st_of(vxt__stitch *s)
{
    return (cl_state *)s->backend;
}

static vxt_status make_kernel(vxt__stitch *s, const char *name, cl_kernel *k)
{
    return vxt__kernel_create(s->ctx, VXT__PROG_STITCH, name, k);
}

/* PoCL runs work-items of a work-group as loops it vectorizes only when their bodies do not branch; the row-wise
 * kernels loop over x themselves. GPUs want one work-item per voxel. Both give the same bits. */
static int row_kernels(const vxt__stitch *s)
{
    const vxt_context *ctx = s->ctx;
    return s->mode != VXT_ACC_F64 && (ctx->stitch_kernels == 1 || (ctx->stitch_kernels == 0 && ctx->device_is_cpu));
}

int vxt__stitch_cl_uploads(const vxt_context *ctx)
{
    return ctx->backend == VXT_BACKEND_OPENCL &&
           (ctx->stitch_upload == 1 || (ctx->stitch_upload == 0 && !ctx->host_unified));
}

/* Pinned staging for the buffers the driver fills (vxt_stitch's), not for the device form's or sessions' calls. */
int vxt__stitch_cl_stages(const vxt__stitch *s)
{
    return vxt__stitch_cl_uploads(s->ctx) && s->staged > 0 && !(s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR);
}

size_t vxt__stitch_cl_pinned_bytes(const vxt__stitch *s)
{
    return vxt__stitch_cl_stages(s) ? (size_t)s->staged * (size_t)s->B * s->tile_out_elems * s->tile_es : 0;
}

/* Groups of calls come as host memory the device reads in place (no upload into the B-tile slot buffers). */
int vxt__stitch_cl_can_group(const vxt__stitch *s)
{
    return row_kernels(s) && s->F == 1 && s->M == 1 && s->ctx->host_unified && s->B < (int)VXT__GROUP_MAX_TILES &&
           !vxt__stitch_cl_uploads(s->ctx);
}

/* Finalization chunks: at most 64 MiB of values (and never above the allocation limit). */
static int64_t slab_depth(const vxt__stitch *s)
{
    size_t slice = (size_t)s->C * (size_t)s->S[1] * (size_t)s->S[2] * sizeof(float);
    size_t cap = (size_t)64 << 20;
    if (s->ctx->max_alloc && cap > s->ctx->max_alloc)
        cap = (size_t)s->ctx->max_alloc;
    int64_t z = (int64_t)(cap / slice);
    if (z < 1)
        z = 1;
    return z > s->S[0] ? s->S[0] : z;
}

static size_t cl_footprint(const vxt__stitch *s, size_t *device)
{
    const vxt_context *ctx = s->ctx;
    const size_t es = s->mode == VXT_ACC_F64 ? sizeof(double) : sizeof(float);
    const size_t acc = (size_t)s->C * (size_t)s->D * (size_t)s->P[1] * (size_t)s->P[2] * es;
    const size_t cap = vxt__stitch_cl_can_group(s) ? VXT__GROUP_MAX_TILES : (size_t)s->B;
    const size_t plane = (size_t)s->S[1] * (size_t)s->S[2], z = (size_t)slab_depth(s);
    size_t dev = (size_t)s->nslots * (size_t)s->B * s->tile_out_elems * s->tile_es +
                 (size_t)s->nslots * cap * sizeof(cl_uint) + z * plane * ((size_t)s->C * sizeof(float) + 2u) +
                 s->roi_vox * sizeof(float) + 2u * (size_t)(s->P[0] + s->P[1] + s->P[2]) * sizeof(int);
    if (s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR)
        dev += (size_t)s->nslots * (size_t)s->B * s->tile_in_elems * sizeof(float);
    if (s->F > 1)
        dev += (size_t)s->B * s->tile_out_elems * sizeof(float);
    size_t host = (size_t)s->nslots * cap * (sizeof(uint32_t) + (row_kernels(s) && s->F == 1 ? 5u * sizeof(cl_long) : 0));
    /* pinned staging: host memory (vxt_stitch's output buffers, which it then does not allocate itself) */
    host += vxt__stitch_cl_pinned_bytes(s);
    /* the accumulator: reused workspace memory wrapped where the device shares host memory, else the device's */
    if (ctx->host_unified && acc <= ctx->max_alloc)
        host += (size_t)s->M * vxt__ws_round(acc);
    else
        dev += (size_t)s->M * acc;
    *device = dev;
    return host;
}

/* The upload queue, on the context's OpenCL context and device (an application's adopted one too), and the
 * pinned staging buffers: allocated by the driver (CL_MEM_ALLOC_HOST_PTR), which is how NVIDIA's OpenCL gives
 * page-locked memory (about twice the host-to-device rate of pageable memory), mapped once. */
static vxt_status upload_init(vxt__stitch *s)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    cl_int err = CL_SUCCESS;
    c->upq = clCreateCommandQueue(ctx->cl, ctx->device, 0, &err);
    if (err != CL_SUCCESS) {
        c->upq = NULL;
        return vxt__cl_check(ctx, err, "vxt_stitch: creating the upload queue");
    }
    if (!vxt__stitch_cl_stages(s))
        return VXT_OK;
    c->pin = calloc((size_t)s->staged, sizeof(cl_mem));
    c->pin_host = calloc((size_t)s->staged, sizeof(void *));
    if (!c->pin || !c->pin_host)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    for (int i = 0; i < s->staged; i++) {
        vxt_status st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, c->out_bytes, NULL,
                                       "pinned tile outputs", &c->pin[i]);
        if (st != VXT_OK)
            return st;
        c->pin_host[i] = clEnqueueMapBuffer(c->upq, c->pin[i], CL_TRUE, CL_MAP_WRITE, 0, c->out_bytes, 0, NULL, NULL,
                                            &err);
        if (err != CL_SUCCESS) {
            c->pin_host[i] = NULL;
            return vxt__cl_check(ctx, err, "vxt_stitch: mapping pinned tile outputs");
        }
        c->npin = i + 1;
    }
    return VXT_OK;
}

static vxt_status cl_init(vxt__stitch *s)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = calloc(1, sizeof *c);
    if (!c)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
    s->backend = c;
    if (s->tile_out_elems >= 0xffffffffu)
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED, "vxt_stitch: a tile of %zu output values is too large for the "
                         "device path (limit 2^32)", s->tile_out_elems);
    c->acc = calloc((size_t)s->M, sizeof(cl_mem));
    c->acc_host = calloc((size_t)s->M, sizeof(void *));
    c->acc_host_bytes = calloc((size_t)s->M, sizeof(size_t));
    c->out = calloc((size_t)s->nslots, sizeof(cl_mem));
    c->in = calloc((size_t)s->nslots, sizeof(cl_mem));
    int f64 = s->mode == VXT_ACC_F64;
    c->rows = row_kernels(s);
    s->can_group = vxt__stitch_cl_can_group(s);
    c->cap = s->can_group ? VXT__GROUP_MAX_TILES : (size_t)s->B;
    c->bad_host = malloc((size_t)s->nslots * c->cap * sizeof(uint32_t));
    c->bad_evt = calloc((size_t)s->nslots, sizeof(cl_event));
    c->slot_call = calloc((size_t)s->nslots, sizeof(vxt__call));
    c->slot_busy = calloc((size_t)s->nslots, sizeof(int));
    if (!c->acc || !c->acc_host || !c->acc_host_bytes || !c->out || !c->in || !c->bad_host || !c->bad_evt ||
        !c->slot_call || !c->slot_busy)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");

    vxt_status st;
    if (c->rows && s->M == 1 && (st = make_kernel(s, "vxt_k_stitch_normalize_rows", &c->k_norm_rows)) != VXT_OK)
        return st;
    if (c->rows && s->F == 1) {
        size_t gt_n = (size_t)s->nslots * c->cap * 5u;
        if (!(c->gt_host = malloc(gt_n * sizeof(cl_long))))
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory");
        if ((st = make_kernel(s, "vxt_k_stitch_accumulate_group_rows", &c->k_acc_group)) != VXT_OK ||
            (st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY, gt_n * sizeof(cl_long), NULL, "tile table", &c->gt)) != VXT_OK)
            return st;
    }
    if ((st = make_kernel(s, "vxt_k_stitch_mirror", &c->k_mirror)) != VXT_OK ||
        (st = make_kernel(s, f64 ? "vxt_k_stitch_accumulate_f64"
                                 : c->rows ? "vxt_k_stitch_accumulate_rows" : "vxt_k_stitch_accumulate",
                          &c->k_acc)) != VXT_OK ||
        (st = make_kernel(s, f64 ? "vxt_k_stitch_normalize_f64" : "vxt_k_stitch_normalize", &c->k_norm)) != VXT_OK ||
        (st = make_kernel(s, "vxt_k_stitch_activate", &c->k_act)) != VXT_OK ||
        (st = make_kernel(s, "vxt_k_fill_u32", &c->k_fill)) != VXT_OK)
        return st;

    size_t es = f64 ? sizeof(double) : sizeof(float);
    size_t acc_bytes = (size_t)s->C * (size_t)s->D * (size_t)s->P[1] * (size_t)s->P[2] * es;
    for (int m = 0; m < s->M; m++) {
        /* Where the device shares host memory, wrap reused workspace memory: a fresh buffer would page-fault all
         * of its pages in every run (docs/PERFORMANCE.md). The accumulator is never cleared (first-tile writes). */
        if (ctx->host_unified && acc_bytes <= ctx->max_alloc &&
            (c->acc_host[m] = vxt__ws_alloc(ctx, acc_bytes, &c->acc_host_bytes[m])) != NULL) {
            if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, acc_bytes, c->acc_host[m],
                                     "stitch accumulator", &c->acc[m])) != VXT_OK)
                return st;
            continue;
        }
        if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, acc_bytes, NULL, "stitch accumulator", &c->acc[m])) != VXT_OK)
            return st;
    }
    c->out_bytes = (size_t)s->B * s->tile_out_elems * s->tile_es;
    int device_form = (s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR) != 0;
    if (vxt__stitch_cl_uploads(ctx) && !device_form && (st = upload_init(s)) != VXT_OK) /* device form: no uploads */
        return st;
    for (int i = 0; i < s->nslots; i++) {
        if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, c->out_bytes, NULL, "tile outputs", &c->out[i])) != VXT_OK)
            return st;
        if (device_form &&
            (st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, (size_t)s->B * s->tile_in_elems * sizeof(float), NULL,
                                 "tile inputs", &c->in[i])) != VXT_OK)
            return st;
    }
    if (s->F > 1 &&
        (st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, (size_t)s->B * s->tile_out_elems * sizeof(float), NULL,
                             "mirroring sums", &c->mirror)) != VXT_OK)
        return st;
    if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, s->roi_vox * sizeof(float), s->weights,
                             "importance map", &c->weights)) != VXT_OK)
        return st;
    for (int a = 0; a < 3; a++)
        if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)s->nstarts[a] * sizeof(cl_long),
                                 (void *)(uintptr_t)s->starts[a], "tile starts", &c->starts[a])) != VXT_OK)
            return st;
    size_t ncov = (size_t)(s->P[0] + s->P[1] + s->P[2]) * sizeof(int);
    if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, ncov, s->cover_first, "cover table",
                             &c->cover_first)) != VXT_OK ||
        (st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, ncov, s->cover_count, "cover table",
                             &c->cover_count)) != VXT_OK)
        return st;
    if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, (size_t)s->nslots * c->cap * sizeof(cl_uint), NULL,
                             "NaN flags", &c->bad)) != VXT_OK)
        return st;

    size_t slice = (size_t)s->C * (size_t)s->S[1] * (size_t)s->S[2] * sizeof(float);
    c->slab_z = slab_depth(s);
    size_t device = 0;
    s->held_bytes = cl_footprint(s, &device);
    if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE, slice * (size_t)c->slab_z, NULL, "output slab", &c->slab_vals)) !=
            VXT_OK ||
        (st = vxt__cl_buffer(ctx, CL_MEM_READ_WRITE,
                             (size_t)c->slab_z * (size_t)s->S[1] * (size_t)s->S[2] * sizeof(cl_ushort), NULL,
                             "output labels", &c->slab_labels)) != VXT_OK)
        return st;
    cl_int dummy = 0;
    return vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                          s->regions ? (size_t)s->C * sizeof(cl_int) : sizeof dummy,
                          s->regions ? (void *)s->regions : (void *)&dummy, "region labels", &c->regions);
}

static void cl_destroy(vxt__stitch *s)
{
    cl_state *c = st_of(s);
    if (s->ctx->queue)
        clFinish(s->ctx->queue);
    if (c->upq) {
        for (int i = 0; i < c->npin; i++)
            clEnqueueUnmapMemObject(c->upq, c->pin[i], c->pin_host[i], 0, NULL, NULL);
        clFinish(c->upq);
        for (int i = 0; c->pin && i < s->staged; i++)
            if (c->pin[i])
                clReleaseMemObject(c->pin[i]);
        clReleaseCommandQueue(c->upq);
        atomic_fetch_add(&s->ctx->stitch_async_uploads, atomic_load(&c->async_uploads));
    }
    free(c->pin);
    free(c->pin_host);
    cl_kernel ks[] = {c->k_mirror, c->k_acc, c->k_norm, c->k_act, c->k_norm_rows, c->k_acc_group, c->k_fill};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        if (ks[i])
            clReleaseKernel(ks[i]);
    for (int m = 0; c->acc && m < s->M; m++) {
        if (c->acc[m])
            clReleaseMemObject(c->acc[m]);
        if (c->acc_host && c->acc_host[m])
            vxt__ws_free(s->ctx, c->acc_host[m], c->acc_host_bytes[m]);
    }
    free(c->acc_host);
    free(c->acc_host_bytes);
    for (int i = 0; i < s->nslots; i++) {
        if (c->out && c->out[i])
            clReleaseMemObject(c->out[i]);
        if (c->in && c->in[i])
            clReleaseMemObject(c->in[i]);
        if (c->bad_evt && c->bad_evt[i])
            clReleaseEvent(c->bad_evt[i]);
    }
    cl_mem ms[] = {c->mirror, c->weights, c->starts[0], c->starts[1], c->starts[2], c->cover_first, c->cover_count,
                   c->bad, c->slab_vals, c->slab_labels, c->gt, c->regions};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    free(c->acc);
    free(c->out);
    free(c->in);
    free(c->bad_host);
    free(c->gt_host);
    free(c->bad_evt);
    free(c->slot_call);
    free(c->slot_busy);
    free(c);
    s->backend = NULL;
}

/* Look at the NaN flags of the call that last used `slot` (waits for them). `host_out`, when not NULL, holds
 * the call's outputs (zero-copy path): the offending value is read there instead of from the device buffer. */
static vxt_status check_slot_from(vxt__stitch *s, int slot, const void *host_out)
{
    cl_state *c = st_of(s);
    if (!c->slot_busy[slot])
        return VXT_OK;
    c->slot_busy[slot] = 0;
    cl_int err = clWaitForEvents(1, &c->bad_evt[slot]);
    clReleaseEvent(c->bad_evt[slot]);
    c->bad_evt[slot] = NULL;
    if (err != CL_SUCCESS)
        return vxt__cl_check(s->ctx, err, "stitching on the device");
    if (s->opt.flags & VXT_STITCH_CHECK_FINITE_OFF)
        return VXT_OK;
    const vxt__call *call = &c->slot_call[slot];
    for (int item = 0; item < call->count; item++) {
        uint32_t b = c->bad_host[(size_t)slot * c->cap + (size_t)item];
        if (b != 0xffffffffu) {
            /* fetch the offending value to say whether it is NaN or infinite */
            float v = 0.0f;
            size_t off = ((size_t)item * s->tile_out_elems + b) * s->tile_es;
            if (host_out && s->tile_es == 4) {
                memcpy(&v, (const unsigned char *)host_out + off, 4);
            } else if (host_out) {
                cl_ushort h;
                memcpy(&h, (const unsigned char *)host_out + off, 2);
                v = vxt_half_to_float(h);
            } else if (s->tile_es == 4) {
                clEnqueueReadBuffer(s->ctx->queue, c->out[slot], CL_TRUE, off, 4, &v, 0, NULL, NULL);
            } else {
                cl_ushort h = 0;
                clEnqueueReadBuffer(s->ctx->queue, c->out[slot], CL_TRUE, off, 2, &h, 0, NULL, NULL);
                v = (h & 0x3ffu) ? 0.0f / 0.0f : 1.0f / 0.0f;
            }
            return vxt__stitch_nonfinite(s, call, item, b, v);
        }
    }
    return VXT_OK;
}

static vxt_status check_slot(vxt__stitch *s, int slot)
{
    return check_slot_from(s, slot, NULL);
}

#define ARG(i, v)                                                                                                    \
    do {                                                                                                             \
        if (err == CL_SUCCESS)                                                                                       \
            err = VXT_CL_ARG(k, i, v);                                                                               \
    } while (0)

/* The tiles of a call (no mirroring, row-wise device), those with one z start at a time, one launch each:
 * vxt_k_stitch_accumulate_group_rows. Table row slot*B + item describes the item, and is its NaN flag's index. */
static vxt_status accumulate_groups(vxt__stitch *s, const vxt__call *call, int slot, cl_mem src_buf)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    cl_long *gt = c->gt_host + (size_t)slot * c->cap * 5u;
    vxt_tile t0;
    for (int item = 0; item < call->count; item++) {
        vxt_tile t;
        vxt__tiling_tile(s->plan, call->first_tile + (uint64_t)item, &t);
        cl_long x_split = t.grid_index[2] > 0 ? s->starts[2][t.grid_index[2] - 1] + s->R[2] - t.start[2] : 0;
        cl_long *g = gt + 5 * item;
        g[0] = (cl_long)((size_t)item * s->tile_out_elems);
        g[1] = t.start[1];
        g[2] = t.start[2];
        g[3] = t.grid_index[1];
        g[4] = x_split < 0 ? 0 : x_split;
    }
    size_t gt_off = (size_t)slot * c->cap * 5u * sizeof(cl_long);
    cl_int err = clEnqueueWriteBuffer(ctx->queue, c->gt, CL_FALSE, gt_off,
                                      (size_t)call->count * 5u * sizeof(cl_long), gt, 0, NULL, NULL);
    cl_kernel k = c->k_acc_group;
    cl_int kind = s->f16_tile ? 1 : 0, f16 = s->f16_tile, mode = s->mode, C = (cl_int)s->C;
    cl_long R0 = s->R[0], R1 = s->R[1], R2 = s->R[2], D = s->D, P1 = s->P[1], P2 = s->P[2], P0 = s->P[0];
    for (int item = 0; item < call->count && err == CL_SUCCESS;) {
        vxt__tiling_tile(s->plan, call->first_tile + (uint64_t)item, &t0);
        int n = 1;
        cl_long ylo = gt[5 * item + 1], yhi = ylo;
        for (; item + n < call->count; n++) {
            vxt_tile t;
            vxt__tiling_tile(s->plan, call->first_tile + (uint64_t)(item + n), &t);
            if (t.grid_index[0] != t0.grid_index[0])
                break;
            ylo = t.start[1] < ylo ? t.start[1] : ylo;
            yhi = t.start[1] > yhi ? t.start[1] : yhi;
        }
        cl_long zs = t0.start[0], yspan = yhi + R1 - ylo;
        cl_int iz = (cl_int)t0.grid_index[0], first = slot * (cl_int)c->cap + item, cn = n;
        int i = 0;
        ARG(i++, c->acc[call->member]);
        ARG(i++, src_buf);
        ARG(i++, kind);
        ARG(i++, c->weights);
        ARG(i++, R0);
        ARG(i++, R1);
        ARG(i++, R2);
        ARG(i++, zs);
        ARG(i++, D);
        ARG(i++, P1);
        ARG(i++, P2);
        ARG(i++, mode);
        ARG(i++, f16);
        ARG(i++, c->bad);
        ARG(i++, c->cover_first);
        ARG(i++, P0);
        ARG(i++, iz);
        ARG(i++, C);
        ARG(i++, c->gt);
        ARG(i++, first);
        ARG(i++, cn);
        ARG(i++, ylo);
        ARG(i++, yspan);
        if (err != CL_SUCCESS)
            break;
        size_t rows[2] = {(size_t)yspan, (size_t)R0};
        vxt_status st = vxt__cl_launch(ctx, k, 2, rows, "vxt_k_stitch_accumulate_group_rows");
        if (st != VXT_OK)
            return st;
        item += n;
    }
    return vxt__cl_check(ctx, err, "setting stitch kernel arguments");
}

/* Enqueue call's work on the kernel queue, reading its outputs from src_buf: clear its NaN flags, the mirroring
 * and accumulation kernels, and the flags' read-back (bad_evt[slot]). On failure, commands already enqueued may
 * still reference src_buf: the caller finishes the queue before it frees anything they read. */
static vxt_status enqueue_call(vxt__stitch *s, const vxt__call *call, int slot, cl_mem src_buf)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    size_t bad_off = (size_t)slot * c->cap * sizeof(cl_uint);
    vxt_status st = vxt__cl_fill_u32(ctx, c->k_fill, c->bad, (size_t)slot * c->cap, (size_t)call->count,
                                     0xffffffffu, "clearing NaN flags");
    if (st != VXT_OK)
        return st;
    cl_int err = CL_SUCCESS;

    cl_long R0 = s->R[0], R1 = s->R[1], R2 = s->R[2], D = s->D, P1 = s->P[1], P2 = s->P[2];
    cl_int kind = s->f16_tile ? 1 : 0, f16 = s->f16_tile, mode = s->mode;
    cl_float nflips = (cl_float)s->F;
    size_t items[3] = {(size_t)R2, (size_t)R1, (size_t)R0};
    cl_int C = (cl_int)s->C;
    int last = call->flip_index == s->F - 1;
    if (c->k_acc_group && (st = accumulate_groups(s, call, slot, src_buf)) != VXT_OK)
        return st;
    for (int item = 0; !c->k_acc_group && item < call->count && err == CL_SUCCESS; item++) {
        cl_long item_off = (cl_long)((size_t)item * s->tile_out_elems);
        cl_int bad_index = slot * (cl_int)c->cap + item;
        if (s->F > 1) {
            cl_kernel k = c->k_mirror;
            cl_uint flip = call->flip;
            cl_int first = call->flip_index == 0;
            ARG(0, c->mirror);
            ARG(1, src_buf);
            ARG(2, kind);
            ARG(3, item_off);
            ARG(4, R0);
            ARG(5, R1);
            ARG(6, R2);
            ARG(7, flip);
            ARG(8, first);
            ARG(9, f16);
            ARG(10, c->bad);
            ARG(11, bad_index);
            ARG(12, C);
            if (err != CL_SUCCESS)
                break;
            if ((st = vxt__cl_launch(ctx, k, 3, items, "vxt_k_stitch_mirror")) != VXT_OK)
                return st;
        }
        if (!last)
            continue;
        vxt_tile t;
        vxt__tiling_tile(s->plan, call->first_tile + (uint64_t)item, &t);
        cl_long zs = t.start[0], ys = t.start[1], xs = t.start[2];
        cl_int src_kind = s->F > 1 ? 2 : kind;
        cl_kernel k = c->k_acc;
        int i = 0;
        ARG(i++, c->acc[call->member]);
        if (s->F > 1)
            ARG(i++, c->mirror);
        else
            ARG(i++, src_buf);
        ARG(i++, src_kind);
        ARG(i++, item_off);
        ARG(i++, nflips);
        ARG(i++, c->weights);
        ARG(i++, R0);
        ARG(i++, R1);
        ARG(i++, R2);
        ARG(i++, zs);
        ARG(i++, ys);
        ARG(i++, xs);
        ARG(i++, D);
        ARG(i++, P1);
        ARG(i++, P2);
        if (s->mode != VXT_ACC_F64)
            ARG(i++, mode);
        ARG(i++, f16);
        ARG(i++, c->bad);
        ARG(i++, bad_index);
        cl_long P0 = s->P[0];
        cl_int iz = (cl_int)t.grid_index[0], iy = (cl_int)t.grid_index[1], ix = (cl_int)t.grid_index[2];
        ARG(i++, c->cover_first);
        ARG(i++, P0);
        ARG(i++, iz);
        ARG(i++, iy);
        if (c->rows) {
            /* where this tile's x range stops continuing the previous x tile's sums */
            cl_long x_split = t.grid_index[2] > 0 ? s->starts[2][t.grid_index[2] - 1] + s->R[2] - t.start[2] : 0;
            if (x_split < 0)
                x_split = 0;
            ARG(i++, C);
            ARG(i++, x_split);
            if (err != CL_SUCCESS)
                break;
            size_t rows[2] = {(size_t)R1, (size_t)R0};
            if ((st = vxt__cl_launch(ctx, k, 2, rows, "vxt_k_stitch_accumulate_rows")) != VXT_OK)
                return st;
            continue;
        }
        ARG(i++, ix);
        ARG(i++, C);
        if (err != CL_SUCCESS)
            break;
        if ((st = vxt__cl_launch(ctx, k, 3, items, "vxt_k_stitch_accumulate")) != VXT_OK)
            return st;
    }
    if (err != CL_SUCCESS)
        return vxt__cl_check(ctx, err, "setting stitch kernel arguments");
    err = clEnqueueReadBuffer(ctx->queue, c->bad, CL_FALSE, bad_off, (size_t)call->count * sizeof(cl_uint),
                              c->bad_host + (size_t)slot * c->cap, 0, NULL, &c->bad_evt[slot]);
    if (err != CL_SUCCESS) {
        c->bad_evt[slot] = NULL;
        return vxt__cl_check(ctx, err, "reading NaN flags");
    }
    return VXT_OK;
}

/* The upload path: the outputs go up on the upload queue without blocking (from pinned memory when `out` is one of
 * vxt_stitch's staging buffers, from the caller's memory otherwise), the kernel queue waits for that upload alone
 * (a barrier), both queues are flushed, and only the upload is waited for: `out` may be refilled when this
 * returns, while the device goes on accumulating. check_slot before the call made sure that the slot's buffer is
 * no longer read by the kernels of the call that used it last. */
static vxt_status consume_uploaded(vxt__stitch *s, const vxt__call *call, int slot, const void *out)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    size_t out_bytes = (size_t)call->count * s->tile_out_elems * s->tile_es;
    cl_event up = NULL;
    cl_int err = clEnqueueWriteBuffer(c->upq, c->out[slot], CL_FALSE, 0, out_bytes, out, 0, NULL, &up);
    if (err != CL_SUCCESS)
        return vxt__cl_check(ctx, err, "uploading tile outputs");
    vxt_status st = VXT_OK;
    err = clEnqueueBarrierWithWaitList(ctx->queue, 1, &up, NULL);
    if (err != CL_SUCCESS)
        st = vxt__cl_check(ctx, err, "ordering accumulation after the upload");
    if (st == VXT_OK)
        st = enqueue_call(s, call, slot, c->out[slot]);
    if (st == VXT_OK) {
        cl_int fu = clFlush(c->upq), fk = clFlush(ctx->queue);
        err = fu != CL_SUCCESS ? fu : fk;
        if (err == CL_SUCCESS)
            err = clWaitForEvents(1, &up);
        if (err != CL_SUCCESS)
            st = vxt__cl_check(ctx, err, "uploading tile outputs");
    }
    if (st != VXT_OK) {
        /* nothing enqueued may still read `out` (the caller's, perhaps freed next) or the slot's buffers */
        clFinish(c->upq);
        clFinish(ctx->queue);
        clReleaseEvent(up);
        if (c->bad_evt[slot]) {
            clReleaseEvent(c->bad_evt[slot]);
            c->bad_evt[slot] = NULL;
        }
        return st;
    }
    clReleaseEvent(up);
    atomic_fetch_add(&c->async_uploads, 1);
    c->slot_call[slot] = *call;
    c->slot_busy[slot] = 1;
    return VXT_OK;
}

static vxt_status cl_consume(vxt__stitch *s, const vxt__call *call, int slot, const void *out)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    vxt_status st = check_slot(s, slot);
    if (st != VXT_OK)
        return st;
    if (out && c->upq)
        return consume_uploaded(s, call, slot, out);
    cl_mem src_buf = c->out[slot], wrapped = NULL;
    size_t out_bytes = (size_t)call->count * s->tile_out_elems * s->tile_es;
    if (out && ctx->host_unified) {
        /* the device reads the outputs where they are; the queue is finished before returning, so the caller
         * may reuse its buffer at once (and nothing overlaps anyway: the device is this machine's memory) */
        if ((st = vxt__cl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, out_bytes, (void *)(uintptr_t)out,
                                 "tile outputs", &wrapped)) != VXT_OK)
            return st;
        src_buf = wrapped;
    } else if (out && (st = vxt__cl_write(ctx, c->out[slot], 0, out_bytes, out, "uploading tile outputs")) != VXT_OK) {
        return st;
    }
    st = enqueue_call(s, call, slot, src_buf);
    if (wrapped) {
        cl_int err = clFinish(ctx->queue);
        clReleaseMemObject(wrapped);
        if (st == VXT_OK && err != CL_SUCCESS) {
            clReleaseEvent(c->bad_evt[slot]);
            c->bad_evt[slot] = NULL;
            st = vxt__cl_check(ctx, err, "reading NaN flags");
        }
        if (st != VXT_OK)
            return st;
        /* the flags are in: check them now, while `out` is still the caller's data */
        c->slot_call[slot] = *call;
        c->slot_busy[slot] = 1;
        return check_slot_from(s, slot, out);
    }
    if (st != VXT_OK)
        return st;
    c->slot_call[slot] = *call;
    c->slot_busy[slot] = 1;
    return VXT_OK;
}

static vxt_status cl_sync(vxt__stitch *s)
{
    vxt_status st = vxt__cl_finish(s->ctx, "stitching on the device");
    if (st != VXT_OK)
        return st;
    for (int i = 0; i < s->nslots; i++) {
        vxt_status sl = check_slot(s, i);
        if (sl != VXT_OK)
            return sl;
    }
    return VXT_OK;
}

/* The arguments vxt_k_stitch_normalize and vxt_k_stitch_normalize_rows share (0 .. 22): the accumulator, the
 * slab, the tables and the geometry of slab planes [za, za + nz). *next: the first argument after them. */
static cl_int norm_args(cl_kernel k, const cl_state *c, cl_mem acc, const vxt__stitch *s, cl_long za, cl_long nz,
                        int *next)
{
    cl_long R0 = s->R[0], R1 = s->R[1], R2 = s->R[2], P0 = s->P[0], P1 = s->P[1], P2 = s->P[2], D = s->D;
    cl_long S1 = s->S[1], S2 = s->S[2], lo0 = s->lo[0], lo1 = s->lo[1], lo2 = s->lo[2];
    cl_int C = (cl_int)s->C;
    cl_int err = CL_SUCCESS;
    int i = 0;
    ARG(i++, acc);
    ARG(i++, c->slab_vals);
    ARG(i++, c->weights);
    ARG(i++, c->starts[0]);
    ARG(i++, c->starts[1]);
    ARG(i++, c->starts[2]);
    ARG(i++, c->cover_first);
    ARG(i++, c->cover_count);
    ARG(i++, R0);
    ARG(i++, R1);
    ARG(i++, R2);
    ARG(i++, P0);
    ARG(i++, P1);
    ARG(i++, P2);
    ARG(i++, D);
    ARG(i++, S1);
    ARG(i++, S2);
    ARG(i++, za);
    ARG(i++, nz);
    ARG(i++, lo0);
    ARG(i++, lo1);
    ARG(i++, lo2);
    ARG(i++, C);
    *next = i;
    return err;
}

static vxt_status cl_finalize(vxt__stitch *s, int64_t z0, int64_t z1, float *values, size_t cstride, void *labels)
{
    vxt_context *ctx = s->ctx;
    cl_state *c = st_of(s);
    vxt_status st = cl_sync(s);
    if (st != VXT_OK)
        return st;
    for (int64_t a = z0; a < z1; a += c->slab_z) {
        int64_t b = a + c->slab_z < z1 ? a + c->slab_z : z1;
        cl_long S1 = s->S[1], S2 = s->S[2], za = a, nz = b - a;
        cl_int C = (cl_int)s->C, members = s->M, mode = s->mode;
        cl_int prob = s->prob_ensemble ? (cl_int)s->opt.activation : 0; /* members activated one by one */
        size_t items[3] = {(size_t)S2, (size_t)S1, (size_t)nz};
        cl_int err = CL_SUCCESS;
        if (c->k_norm_rows) { /* one member, row-wise */
            cl_kernel k = c->k_norm_rows;
            cl_long ns2 = s->nstarts[2];
            int i = 0;
            err = norm_args(k, c, c->acc[0], s, za, nz, &i);
            ARG(i++, ns2);
            ARG(i++, mode);
            if (err != CL_SUCCESS)
                return vxt__cl_check(ctx, err, "setting normalize arguments");
            size_t rows[2] = {(size_t)S1, (size_t)nz};
            if ((st = vxt__cl_launch(ctx, k, 2, rows, "vxt_k_stitch_normalize_rows")) != VXT_OK)
                return st;
        }
        for (cl_int m = 0; m < members && !c->k_norm_rows; m++) {
            cl_kernel k = c->k_norm;
            int i = 0;
            err = norm_args(k, c, c->acc[m], s, za, nz, &i);
            ARG(i++, m);
            ARG(i++, members);
            if (s->mode != VXT_ACC_F64)
                ARG(i++, mode);
            ARG(i++, prob);
            if (err != CL_SUCCESS)
                return vxt__cl_check(ctx, err, "setting normalize arguments");
            if ((st = vxt__cl_launch(ctx, k, 3, items, "vxt_k_stitch_normalize")) != VXT_OK)
                return st;
        }
        cl_long n = nz * S1 * S2;
        cl_int act = prob ? 0 : (cl_int)s->opt.activation, want_labels = labels != NULL,
               u16 = s->opt.label_dtype == VXT_DTYPE_U16, rule = (cl_int)s->opt.label_rule;
        cl_float threshold = s->threshold;
        if (act != 0 || want_labels) {
            cl_kernel k = c->k_act;
            ARG(0, c->slab_vals);
            ARG(1, n);
            ARG(2, C);
            ARG(3, act);
            ARG(4, c->slab_labels);
            ARG(5, want_labels);
            ARG(6, u16);
            ARG(7, rule);
            ARG(8, threshold);
            ARG(9, c->regions);
            if (err != CL_SUCCESS)
                return vxt__cl_check(ctx, err, "setting activate arguments");
            size_t one[1] = {(size_t)n};
            if ((st = vxt__cl_launch(ctx, k, 1, one, "vxt_k_stitch_activate")) != VXT_OK)
                return st;
        }
        size_t plane = (size_t)n * sizeof(float);
        if (values)
            for (int ch = 0; ch < C; ch++)
                if ((st = vxt__cl_read(ctx, c->slab_vals, (size_t)ch * plane, plane,
                                       values + (size_t)ch * cstride + (size_t)(a - z0) * (size_t)(S1 * S2),
                                       "reading results")) != VXT_OK)
                    return st;
        if (labels) {
            size_t es = u16 ? 2 : 1;
            if ((st = vxt__cl_read(ctx, c->slab_labels, 0, (size_t)n * es,
                                   (unsigned char *)labels + (size_t)(a - z0) * (size_t)(S1 * S2) * es,
                                   "reading labels")) != VXT_OK)
                return st;
        }
    }
    return VXT_OK;
}

const vxt__stitch_ops vxt__stitch_cl_ops = {cl_init, cl_destroy, cl_consume, cl_finalize, cl_sync, cl_footprint};

/* Device form: the input buffer of a slot, for the predictor. */
cl_mem vxt__stitch_cl_input(vxt__stitch *s, int slot)
{
    return st_of(s)->in[slot];
}

cl_mem vxt__stitch_cl_output(vxt__stitch *s, int slot)
{
    return st_of(s)->out[slot];
}

void *vxt__stitch_cl_pinned(vxt__stitch *s, int i, size_t bytes)
{
    if (s->ops != &vxt__stitch_cl_ops || !s->backend)
        return NULL;
    const cl_state *c = st_of(s);
    return i < c->npin && bytes <= c->out_bytes ? c->pin_host[i] : NULL;
}

uint64_t vxt__stitch_cl_async_uploads(const vxt__stitch *s)
{
    return s->ops == &vxt__stitch_cl_ops && s->backend ? atomic_load(&((cl_state *)s->backend)->async_uploads) : 0;
}
