/* stitch_session.c - pull/push sessions: batches are handed out with their inputs, outputs come back in any
 * order, and calls are accumulated strictly in order (held back until their predecessors arrived). With an
 * output sink, slabs are finalized and delivered as soon as no remaining tile touches them; with output
 * volumes, everything is finalized once at the end, so a failed run leaves them untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"

enum { RUNNING = 0, FINISHED = 1, FAILED = 2 };

struct vxt_session {
    vxt__stitch *s;
    int state;
    vxt_status error;
    uint64_t next_call;    /* next call to hand out */
    uint64_t next_consume; /* next call to accumulate */
    uint64_t released;     /* calls below this no longer need their input slot (vxt__session_release) */
    int nslots;
    float **inputs;        /* per slot: count x Cin x ROI (context workspace) */
    size_t *input_bytes;   /* the workspace size of each */
    void **held;           /* per slot: an output that arrived early */
    int *submitted;
    vxt_tile *tiles;       /* per slot: B tiles */
    float *slab_values;    /* sink mode */
    void *slab_labels;
    int64_t slab_z;
    vxt__extract ahead;    /* vxt__session_cut_ahead: call ahead_k's tiles, being cut or cut */
    int ahead_state;       /* 0 none, 1 being cut (join pending), 2 cut */
    uint64_t ahead_k;
};

void vxt__session_cut_join(vxt_session *ss)
{
    if (ss->ahead_state == 1) {
        vxt__stitch_extract_join(&ss->ahead);
        ss->ahead_state = 2;
    }
}

/* Input slot of the next call is free: no call handed out and not yet released or accumulated uses it. */
static int next_slot_free(const vxt_session *ss)
{
    uint64_t busy_from = ss->next_consume > ss->released ? ss->next_consume : ss->released;
    return ss->next_call - busy_from < (uint64_t)ss->nslots;
}

void vxt__session_cut_ahead(vxt_session *ss)
{
    vxt__stitch *s = ss->s;
    if (ss->state != RUNNING || ss->ahead_state != 0 || s->Cin == 0 || ss->next_call >= s->ncalls)
        return;
    /* the next call's slot is not the current call's (two slots at least) and no other call uses it */
    if (ss->nslots < 2 || !next_slot_free(ss))
        return;
    uint64_t k = ss->next_call;
    vxt__call c;
    vxt__stitch_call(s, k, &c);
    vxt__stitch_extract_start(s, &c, ss->inputs[k % (uint64_t)ss->nslots], &ss->ahead);
    ss->ahead_k = k;
    ss->ahead_state = 1;
}

static vxt_status fail(vxt_session *ss, vxt_status st)
{
    vxt__session_cut_join(ss);
    ss->state = FAILED;
    ss->error = st;
    return st;
}

static size_t input_slot_bytes(const vxt__stitch *s)
{
    return (size_t)s->B * s->tile_in_elems * sizeof(float);
}

size_t vxt__session_input_bytes(const vxt__stitch *s)
{
    return s->Cin > 0 ? (size_t)s->nslots * vxt__ws_round(input_slot_bytes(s)) : 0;
}

/* Slabs of at most 64 MiB of values, or 16 MiB of labels alone. */
int64_t vxt__session_slab_z(const vxt__stitch *s)
{
    if (!s->sink_mode)
        return 0;
    const size_t plane = (size_t)s->S[1] * (size_t)s->S[2];
    const size_t per = plane * ((s->output.want_values ? (size_t)s->C * sizeof(float) : 0) +
                                (s->output.want_labels ? vxt_dtype_size(s->opt.label_dtype) : 0));
    const size_t budget = s->output.want_values ? (size_t)64 << 20 : (size_t)16 << 20;
    int64_t z = per ? (int64_t)(budget / per) : s->S[0];
    if (z < 1)
        z = 1;
    return z > s->S[0] ? s->S[0] : z;
}

size_t vxt__session_slab_bytes(const vxt__stitch *s)
{
    return (size_t)vxt__session_slab_z(s) * (size_t)s->S[1] * (size_t)s->S[2] *
           ((s->output.want_values ? (size_t)s->C * sizeof(float) : 0) +
            (s->output.want_labels ? vxt_dtype_size(s->opt.label_dtype) : 0));
}

vxt_status vxt__session_open(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                             const vxt_volume *input, const vxt_stitch_output *output, int nslots, int staged,
                             vxt_session **out)
{
    vxt_session *ss = calloc(1, sizeof *ss);
    if (!ss)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_session_create: out of memory");
    vxt_status st = vxt__stitch_create(ctx, plan, opts, input, output, nslots, staged, &ss->s);
    if (st != VXT_OK) {
        free(ss);
        return st;
    }
    vxt__stitch *s = ss->s;
    ss->nslots = nslots;
    ss->inputs = calloc((size_t)nslots, sizeof(float *));
    ss->input_bytes = calloc((size_t)nslots, sizeof(size_t));
    ss->held = calloc((size_t)nslots, sizeof(void *));
    ss->submitted = calloc((size_t)nslots, sizeof(int));
    ss->tiles = calloc((size_t)nslots * (size_t)s->B, sizeof(vxt_tile));
    if (!ss->inputs || !ss->input_bytes || !ss->held || !ss->submitted || !ss->tiles) {
        vxt_session_destroy(ss);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_session_create: out of memory");
    }
    for (int i = 0; i < nslots && s->Cin > 0; i++) {
        ss->inputs[i] = vxt__ws_alloc(ctx, input_slot_bytes(s), &ss->input_bytes[i]);
        if (!ss->inputs[i]) {
            vxt_session_destroy(ss);
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_session_create: out of memory for tile inputs");
        }
    }
    if (s->sink_mode) {
        ss->slab_z = vxt__session_slab_z(s);
        size_t vox = (size_t)ss->slab_z * (size_t)s->S[1] * (size_t)s->S[2];
        /* only what the slabs carry (labels only: no C x slab of values) */
        if (s->output.want_values)
            ss->slab_values = malloc(vox * (size_t)s->C * sizeof(float));
        if (s->output.want_labels)
            ss->slab_labels = malloc(vox * vxt_dtype_size(s->opt.label_dtype));
        if ((s->output.want_values && !ss->slab_values) || (s->output.want_labels && !ss->slab_labels)) {
            vxt_session_destroy(ss);
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_session_create: out of memory for output slabs");
        }
    }
    *out = ss;
    return VXT_OK;
}

vxt_status vxt_session_create(vxt_context *ctx, const vxt_tiling *plan, const vxt_stitch_options *opts,
                              const vxt_volume *input, const vxt_stitch_output *output, vxt_session **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(ctx, plan);
    VXT_CHECK_NULL(ctx, opts);
    VXT_CHECK_NULL(ctx, output);
    if (opts->struct_size < sizeof(vxt_stitch_options))
        return vxt__fail(ctx, VXT_ERR_STRUCT_SIZE, "vxt_session_create: vxt_stitch_options.struct_size is %zu, smaller "
                         "than any known layout (%zu); initialise it with vxt_stitch_options_init",
                         opts->struct_size, sizeof(vxt_stitch_options));
    int n = opts->max_outstanding;
    if (n < 1 || n > 1024)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_session_create: max_outstanding is %d (must be in [1, "
                         "1024])", n);
    return vxt__session_open(ctx, plan, opts, input, output, n, 0, out);
}

void vxt_session_destroy(vxt_session *ss)
{
    if (!ss)
        return;
    vxt__session_cut_join(ss);
    for (int i = 0; ss->inputs && i < ss->nslots; i++)
        vxt__ws_free(ss->s->ctx, ss->inputs[i], ss->input_bytes[i]);
    for (int i = 0; ss->held && i < ss->nslots; i++)
        free(ss->held[i]);
    free(ss->inputs);
    free(ss->input_bytes);
    free(ss->held);
    free(ss->submitted);
    free(ss->tiles);
    free(ss->slab_values);
    free(ss->slab_labels);
    vxt__stitch_destroy(ss->s);
    free(ss);
}

/* Deliver finished slabs of padded z up to new_pz to the sink; their ring slots become free. */
static vxt_status advance_final(vxt_session *ss, int64_t new_pz)
{
    vxt__stitch *s = ss->s;
    if (new_pz <= s->finalized_pz)
        return VXT_OK;
    int64_t z0 = s->finalized_pz - s->lo[0], z1 = new_pz - s->lo[0];
    if (z0 < 0)
        z0 = 0;
    if (z1 > s->S[0])
        z1 = s->S[0];
    for (int64_t a = z0; a < z1; a += ss->slab_z) {
        int64_t b = a + ss->slab_z < z1 ? a + ss->slab_z : z1;
        size_t plane = (size_t)(b - a) * (size_t)s->S[1] * (size_t)s->S[2];
        vxt_status st = s->ops->finalize(s, a, b, s->output.want_values ? ss->slab_values : NULL, plane,
                                         s->output.want_labels ? ss->slab_labels : NULL);
        if (st != VXT_OK)
            return st;
        vxt_slab slab;
        memset(&slab, 0, sizeof slab);
        slab.z0 = a;
        slab.z1 = b;
        slab.channels = s->C;
        memcpy(slab.shape, s->S, sizeof slab.shape);
        slab.values = s->output.want_values ? ss->slab_values : NULL;
        slab.labels = s->output.want_labels ? ss->slab_labels : NULL;
        slab.label_dtype = s->opt.label_dtype;
        int rc = s->output.sink(s->output.sink_user, &slab);
        if (rc != 0)
            return vxt__fail(s->ctx, VXT_ERR_IO, "output sink returned %d for slices [%lld, %lld)", rc, (long long)a,
                             (long long)b);
    }
    s->finalized_pz = new_pz;
    return VXT_OK;
}

/* Accumulating call k is split in two so that vxt_stitch() can run the first half on a worker thread: begin is
 * the backend's accumulation (touches only the backend state and the output buffer of k's slot); end updates
 * the session, delivers finished slabs and reports progress (user callbacks: the caller's thread). */
vxt_status vxt__session_consume_begin(vxt_session *ss, uint64_t k, const void *out)
{
    vxt__stitch *s = ss->s;
    vxt__call c;
    vxt__stitch_call(s, k, &c);
    return s->ops->consume(s, &c, (int)(k % (uint64_t)ss->nslots), out);
}

vxt_status vxt__session_consume_end(vxt_session *ss, uint64_t k)
{
    vxt__stitch *s = ss->s;
    vxt__call c;
    vxt__stitch_call(s, k, &c);
    vxt_status st = VXT_OK;
    ss->next_consume = k + 1;
    s->consumed_calls++;
    s->consumed_tiles += (uint64_t)c.count;
    if (s->sink_mode) {
        int64_t fz = vxt__stitch_final_pz_after(s, k);
        if (fz > s->finalized_pz && (st = advance_final(ss, fz)) != VXT_OK)
            return st;
    }
    if (s->opt.progress && s->opt.progress(s->opt.progress_user, s->consumed_tiles, s->total_tiles) != 0)
        return vxt__fail(s->ctx, VXT_ERR_CANCELLED, "cancelled by the progress callback after %llu of %llu tiles",
                         (unsigned long long)s->consumed_tiles, (unsigned long long)s->total_tiles);
    return VXT_OK;
}

vxt__stitch *vxt__session_stitch(vxt_session *ss)
{
    return ss->s;
}

void vxt__session_release(vxt_session *ss, uint64_t k)
{
    if (k + 1 > ss->released)
        ss->released = k + 1;
}

vxt_status vxt__session_consume_group(vxt_session *ss, uint64_t k0, uint64_t n, const void *out)
{
    vxt__stitch *s = ss->s;
    vxt__call c, last;
    vxt__stitch_call(s, k0, &c);
    vxt__stitch_call(s, k0 + n - 1, &last);
    /* one call of every tile from the first call's to the last's (M*F == 1: calls are batches, tiles in order) */
    c.count = (int)(last.first_tile + (uint64_t)last.count - c.first_tile);
    vxt_status st = s->ops->consume(s, &c, (int)(k0 % (uint64_t)ss->nslots), out);
    for (uint64_t k = k0; st == VXT_OK && k < k0 + n; k++)
        st = vxt__session_consume_end(ss, k);
    return st;
}

vxt_status vxt__session_fail(vxt_session *ss, vxt_status st)
{
    return fail(ss, st);
}

static vxt_status consume(vxt_session *ss, uint64_t k, const void *out)
{
    vxt_status st = vxt__session_consume_begin(ss, k, out);
    return st != VXT_OK ? st : vxt__session_consume_end(ss, k);
}

vxt_status vxt_session_next_batch(vxt_session *ss, vxt_batch *batch, int *done)
{
    VXT_CHECK_NULL(NULL, ss);
    vxt__stitch *s = ss->s;
    VXT_CHECK_NULL(s->ctx, batch);
    VXT_CHECK_NULL(s->ctx, done);
    memset(batch, 0, sizeof *batch);
    *done = 0;
    if (ss->state != RUNNING)
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_next_batch: the session has %s",
                         ss->state == FINISHED ? "finished" : "failed; destroy it");
    if (ss->next_call == s->ncalls) {
        *done = 1;
        return VXT_OK;
    }
    if (!next_slot_free(ss))
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_next_batch: %d batches are out and not yet accumulated "
                         "(max_outstanding); submit batch %llu first",
                         ss->nslots, (unsigned long long)ss->next_consume);
    uint64_t k = ss->next_call;
    int slot = (int)(k % (uint64_t)ss->nslots);
    vxt__call c;
    vxt__stitch_call(s, k, &c);
    vxt__session_cut_join(ss);
    const int cut = ss->ahead_state == 2 && ss->ahead_k == k; /* cut while the predictor ran */
    ss->ahead_state = 0;
    if (!cut && s->Cin > 0)
        vxt__stitch_extract(s, &c, ss->inputs[slot]);
    vxt_tile *tiles = ss->tiles + (size_t)slot * (size_t)s->B;
    for (int i = 0; i < c.count; i++)
        vxt__tiling_tile(s->plan, c.first_tile + (uint64_t)i, &tiles[i]);
    batch->id = k;
    batch->first_tile = c.first_tile;
    batch->count = c.count;
    batch->member = c.member;
    batch->flip = c.flip;
    batch->in_channels = s->Cin;
    batch->out_channels = s->C;
    memcpy(batch->roi, s->R, sizeof batch->roi);
    batch->output_dtype = s->opt.tile_dtype;
    batch->tiles = tiles;
    if (s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR) {
        cl_mem in = vxt__stitch_cl_input(s, slot);
        vxt_status st = vxt__cl_write(s->ctx, in, 0, (size_t)c.count * s->tile_in_elems * sizeof(float),
                                      ss->inputs[slot], "uploading tile inputs");
        if (st != VXT_OK)
            return fail(ss, st);
        batch->input_cl = in;
        batch->output_cl = vxt__stitch_cl_output(s, slot);
    } else {
        batch->input = ss->inputs[slot];
    }
    ss->submitted[slot] = 0;
    ss->next_call = k + 1;
    return VXT_OK;
}

vxt_status vxt_session_submit(vxt_session *ss, uint64_t id, const void *outputs)
{
    VXT_CHECK_NULL(NULL, ss);
    vxt__stitch *s = ss->s;
    if (ss->state != RUNNING)
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_submit: the session has %s",
                         ss->state == FINISHED ? "finished" : "failed; destroy it");
    int device = (s->opt.flags & VXT_STITCH_DEVICE_PREDICTOR) != 0;
    if (!device && !outputs)
        return vxt__fail(s->ctx, VXT_ERR_NULL, "vxt_session_submit: outputs is NULL (host form)");
    if (device && outputs)
        return vxt__fail(s->ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_session_submit: device form: outputs must be NULL "
                         "(the output is in the batch's output_cl)");
    int slot = (int)(id % (uint64_t)ss->nslots);
    if (id >= ss->next_call || id < ss->next_consume || ss->submitted[slot])
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_submit: batch %llu is not out (handed out: %llu .. %llu)",
                         (unsigned long long)id, (unsigned long long)ss->next_consume,
                         (unsigned long long)(ss->next_call ? ss->next_call - 1 : 0));
    vxt__call c;
    vxt__stitch_call(s, id, &c);
    if (id != ss->next_consume) { /* early: keep it until its predecessors are in */
        if (!device) {
            size_t bytes = (size_t)c.count * s->tile_out_elems * s->tile_es;
            if (!ss->held[slot] && !(ss->held[slot] = malloc((size_t)s->B * s->tile_out_elems * s->tile_es)))
                return fail(ss, vxt__fail(s->ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_session_submit: out of memory"));
            memcpy(ss->held[slot], outputs, bytes);
        }
        ss->submitted[slot] = 1;
        return VXT_OK;
    }
    vxt_status st = consume(ss, id, outputs);
    if (st != VXT_OK)
        return fail(ss, st);
    while (ss->next_consume < ss->next_call) {
        uint64_t k = ss->next_consume;
        int sl = (int)(k % (uint64_t)ss->nslots);
        if (!ss->submitted[sl])
            break;
        ss->submitted[sl] = 0;
        st = consume(ss, k, device ? NULL : ss->held[sl]);
        if (st != VXT_OK)
            return fail(ss, st);
    }
    return VXT_OK;
}

vxt_status vxt_session_finish(vxt_session *ss)
{
    VXT_CHECK_NULL(NULL, ss);
    vxt__stitch *s = ss->s;
    if (ss->state != RUNNING)
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_finish: the session has %s",
                         ss->state == FINISHED ? "already finished" : "failed; destroy it");
    if (ss->next_consume != s->ncalls)
        return vxt__fail(s->ctx, VXT_ERR_STATE, "vxt_session_finish: %llu of %llu batches accumulated; submit the rest "
                         "first", (unsigned long long)ss->next_consume, (unsigned long long)s->ncalls);
    vxt_status st = s->ops->sync(s);
    if (st == VXT_OK && s->sink_mode)
        st = advance_final(ss, s->P[0]);
    if (st == VXT_OK && !s->sink_mode) {
        size_t vol = (size_t)s->S[0] * (size_t)s->S[1] * (size_t)s->S[2];
        st = s->ops->finalize(s, 0, s->S[0], s->output.want_values ? (float *)s->out_values.data : NULL, vol,
                              s->output.want_labels ? s->out_labels.data : NULL);
        if (st != VXT_OK) { /* only a device error gets here: the slabs read back before it are in place */
            char why[512];
            snprintf(why, sizeof why, "%s", vxt_last_error());
            st = vxt__fail(s->ctx, st, "%s; the output volumes may be partly written", why);
        }
    }
    if (st != VXT_OK)
        return fail(ss, st);
    ss->state = FINISHED;
    return VXT_OK;
}

vxt_status vxt_session_progress(const vxt_session *ss, uint64_t *handed_out, uint64_t *accumulated, uint64_t *total)
{
    VXT_CHECK_NULL(NULL, ss);
    if (handed_out)
        *handed_out = ss->next_call;
    if (accumulated)
        *accumulated = ss->next_consume;
    if (total)
        *total = ss->s->ncalls;
    return VXT_OK;
}
