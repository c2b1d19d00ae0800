/* triton_network.c - the network as a model of the same server: each batch of tiles the pipeline hands its runner
 * becomes an inference request to that model, made in process the way Triton's business logic scripting makes
 * them (TRITONSERVER_InferenceRequestNew ... TRITONSERVER_ServerInferAsync), and the runner waits for the answer.
 * The network can then run on any backend of the server (ONNX Runtime, TensorRT, PyTorch, Python). The pipeline
 * hands over batches of the plan's batch_size tiles; when the network model batches (max_batch_size > 0, read from
 * the server), a larger batch goes as several requests of up to max_batch_size tiles, sent at once, so that the
 * server can spread them over the network's instances or batch them with other requests (dynamic batching).
 *
 * The request: input network_input, FP32 [tiles, channels, z, y, x] (the tiles' bytes lent, not copied); output
 * network_output, FP32 [tiles, classes, z, y, x]. A failure of the network model (an error response, a missing
 * model, a wrong shape) fails the batch, and so the run, with the model's message; a cancelled outer request
 * cancels the inner one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "triton_internal.h"

/* One request to the network model: a part of a batch, up to the model's max_batch_size tiles. */
typedef struct call {
    struct net *n;
    TRITONSERVER_InferenceRequest *req;
    int64_t first, count; /* its tiles in the batch */
    int final, released;
    TRITONSERVER_InferenceResponse *response;
} call;

typedef struct net {
    vxt_triton_instance *inst;
    int member;
    pthread_mutex_t lock; /* guards the calls' final, released and response */
    pthread_cond_t cond;
    int64_t max_batch;    /* the network model's max_batch_size, once read (-1: not yet) */
} net;

static TRITONSERVER_Error *alloc_fn(TRITONSERVER_ResponseAllocator *allocator, const char *tensor_name,
                                    size_t byte_size, TRITONSERVER_MemoryType memory_type, int64_t memory_type_id,
                                    void *userp, void **buffer, void **buffer_userp,
                                    TRITONSERVER_MemoryType *actual_memory_type, int64_t *actual_memory_type_id)
{
    (void)allocator, (void)memory_type, (void)memory_type_id, (void)userp;
    *buffer_userp = NULL;
    *actual_memory_type = TRITONSERVER_MEMORY_CPU;
    *actual_memory_type_id = 0;
    *buffer = malloc(byte_size ? byte_size : 1);
    if (!*buffer)
        return vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: out of memory for output '%s' (%zu bytes)",
                                tensor_name, byte_size);
    return NULL;
}

static TRITONSERVER_Error *release_fn(TRITONSERVER_ResponseAllocator *allocator, void *buffer, void *buffer_userp,
                                      size_t byte_size, TRITONSERVER_MemoryType memory_type, int64_t memory_type_id)
{
    (void)allocator, (void)buffer_userp, (void)byte_size, (void)memory_type, (void)memory_type_id;
    free(buffer);
    return NULL;
}

TRITONSERVER_Error *vxt_triton_network_allocator(TRITONSERVER_ResponseAllocator **out)
{
    return TRITONSERVER_ResponseAllocatorNew(out, alloc_fn, release_fn, NULL);
}

static void on_release(TRITONSERVER_InferenceRequest *request, const uint32_t flags, void *userp)
{
    (void)request;
    call *c = userp;
    if (!(flags & TRITONSERVER_REQUEST_RELEASE_ALL))
        return;
    pthread_mutex_lock(&c->n->lock);
    c->released = 1;
    pthread_cond_broadcast(&c->n->cond);
    pthread_mutex_unlock(&c->n->lock);
}

static void on_response(TRITONSERVER_InferenceResponse *response, const uint32_t flags, void *userp)
{
    call *c = userp;
    pthread_mutex_lock(&c->n->lock);
    if (response) {
        if (c->response) /* one response is expected; a second (a decoupled model) is dropped */
            TRITONSERVER_InferenceResponseDelete(response);
        else
            c->response = response;
    }
    if (flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        c->final = 1;
    pthread_cond_broadcast(&c->n->cond);
    pthread_mutex_unlock(&c->n->lock);
}

/* inst->failure: why the batch failed (the error e, deleted here, or `what`); returns 1 (the runner's failure). The
 * first failure of a batch is kept. */
static int failed(net *n, TRITONSERVER_Error *e, const char *what)
{
    vxt_triton_instance *inst = n->inst;
    if (!inst->failure[0])
        snprintf(inst->failure, sizeof inst->failure, "network model '%.200s': %.290s", inst->m->network[n->member],
                 e ? TRITONSERVER_ErrorMessage(e) : what);
    if (e)
        TRITONSERVER_ErrorDelete(e);
    return 1;
}

/* The network model's max_batch_size, from the server (read once it answers; 0 when the model does not batch or
 * its configuration cannot be read now: the whole batch then goes as one request, and a missing model fails it
 * with the server's own message). */
static int64_t max_batch(net *n)
{
    if (n->max_batch >= 0)
        return n->max_batch;
    const vxt_triton_model *m = n->inst->m;
    TRITONSERVER_Message *msg = NULL;
    TRITONSERVER_Error *e = TRITONSERVER_ServerModelConfig(m->server, m->network[n->member], m->network_version, 1,
                                                           &msg);
    if (e) {
        TRITONSERVER_ErrorDelete(e);
        return 0;
    }
    const char *json = NULL;
    size_t len = 0;
    int64_t mbs = -1;
    if (!(e = TRITONSERVER_MessageSerializeToJson(msg, &json, &len))) {
        vxt_triton_json_lock();
        cJSON *cfg = cJSON_ParseWithLength(json, len);
        vxt_triton_json_unlock();
        const cJSON *v = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "max_batch_size") : NULL;
        mbs = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9 ? (int64_t)v->valuedouble
              : cfg && !v                                                  ? 0
                                                                           : -1;
        cJSON_Delete(cfg);
    } else {
        TRITONSERVER_ErrorDelete(e);
    }
    TRITONSERVER_MessageDelete(msg);
    if (mbs < 0)
        return 0;
    n->max_batch = mbs;
    if (mbs > 0)
        vxt_triton_log(TRITONSERVER_LOG_INFO, __LINE__,
                       "voxtile: instance '%s': network model '%s' takes up to %lld tiles a request", n->inst->name,
                       m->network[n->member], (long long)mbs);
    return mbs;
}

/* The answer to a call: its output tensor checked and copied into its tiles of b->output. */
static int take_output(net *n, const call *c, const vxt_batch *b)
{
    TRITONSERVER_Error *e = TRITONSERVER_InferenceResponseError(c->response);
    if (e) /* owned by the response: copied, not deleted */
        return failed(n, NULL, TRITONSERVER_ErrorMessage(e));
    uint32_t count = 0;
    if ((e = TRITONSERVER_InferenceResponseOutputCount(c->response, &count)))
        return failed(n, e, NULL);
    const char *want = n->inst->m->network_output;
    const size_t es = b->output_dtype == VXT_DTYPE_F16 ? 2u : 4u;
    const size_t tile = (size_t)b->out_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]) * es;
    for (uint32_t i = 0; i < count; i++) {
        const char *name = NULL;
        TRITONSERVER_DataType t;
        const int64_t *shape = NULL;
        uint64_t dims = 0;
        const void *base = NULL;
        size_t bytes = 0;
        TRITONSERVER_MemoryType mt;
        int64_t mid;
        void *userp;
        if ((e = TRITONSERVER_InferenceResponseOutput(c->response, i, &name, &t, &shape, &dims, &base, &bytes, &mt,
                                                      &mid, &userp)))
            return failed(n, e, NULL);
        if (strcmp(name, want))
            continue;
        const int64_t expect[5] = {c->count, b->out_channels, b->roi[0], b->roi[1], b->roi[2]};
        int ok = t == (b->output_dtype == VXT_DTYPE_F16 ? TRITONSERVER_TYPE_FP16 : TRITONSERVER_TYPE_FP32) &&
                 dims == 5 && mt != TRITONSERVER_MEMORY_GPU;
        for (int d = 0; ok && d < 5; d++)
            ok = shape[d] == expect[d];
        const size_t need = (size_t)c->count * tile;
        if (!ok || bytes != need) {
            char what[256];
            snprintf(what, sizeof what, "output '%s' is not %s [%lld, %lld, %lld, %lld, %lld] in host memory", want,
                     b->output_dtype == VXT_DTYPE_F16 ? "FP16" : "FP32", (long long)expect[0], (long long)expect[1],
                     (long long)expect[2], (long long)expect[3], (long long)expect[4]);
            return failed(n, NULL, what);
        }
        memcpy((unsigned char *)b->output + (size_t)c->first * tile, base, need);
        return 0;
    }
    char what[200];
    snprintf(what, sizeof what, "the response has no output '%.120s'", want);
    return failed(n, NULL, what);
}

/* Make and send the request of one call (its tiles' input bytes lent). 0, or 1 with the failure recorded (the request
 * then not sent, and deleted). */
static int send_call(net *n, call *c, const vxt_batch *b)
{
    const vxt_triton_model *m = n->inst->m;
    TRITONSERVER_InferenceRequest *req = NULL;
    TRITONSERVER_Error *e = TRITONSERVER_InferenceRequestNew(&req, m->server, m->network[n->member], m->network_version);
    if (e)
        return failed(n, e, NULL);
    const int64_t shape[5] = {c->count, b->in_channels, b->roi[0], b->roi[1], b->roi[2]};
    const size_t tile = (size_t)b->in_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]) * 4u;
    e = TRITONSERVER_InferenceRequestAddInput(req, m->network_input, TRITONSERVER_TYPE_FP32, shape, 5);
    if (!e)
        e = TRITONSERVER_InferenceRequestAppendInputData(req, m->network_input,
                                                         (const unsigned char *)b->input + (size_t)c->first * tile,
                                                         (size_t)c->count * tile, TRITONSERVER_MEMORY_CPU, 0);
    if (!e)
        e = TRITONSERVER_InferenceRequestAddRequestedOutput(req, m->network_output);
    if (!e)
        e = TRITONSERVER_InferenceRequestSetReleaseCallback(req, on_release, c);
    if (!e)
        e = TRITONSERVER_InferenceRequestSetResponseCallback(req, m->allocator, NULL, on_response, c);
    if (!e)
        e = TRITONSERVER_ServerInferAsync(m->server, req, NULL);
    if (e) { /* not handed over: still ours */
        TRITONSERVER_InferenceRequestDelete(req);
        return failed(n, e, NULL);
    }
    c->req = req;
    return 0;
}

/* A batch of tiles: one request, or, when the network model batches (max_batch_size > 0) and the batch is larger,
 * one request per max_batch_size tiles, all sent at once (the server may run them on several instances, or batch
 * them with others). Waits for every answer and release; a cancellation of the outer request cancels them. */
static int predict(void *user, const vxt_batch *b)
{
    net *n = user;
    vxt_triton_instance *inst = n->inst;
    if (b->count <= 0) /* nothing to ask (the pipeline never hands an empty batch) */
        return 0;
    const int64_t mbs = max_batch(n), per = mbs > 0 && mbs < b->count ? mbs : b->count;
    const int64_t ncalls = (b->count + per - 1) / per;
    call one, *calls = ncalls == 1 ? &one : calloc((size_t)ncalls, sizeof *calls);
    if (!calls)
        return failed(n, NULL, "out of memory");
    int rc = 0;
    int64_t sent = 0;
    for (int64_t k = 0; k < ncalls; k++) {
        calls[k] = (call){.n = n, .first = k * per, .count = k * per + per <= b->count ? per : b->count - k * per};
        if (send_call(n, &calls[k], b) != 0) {
            rc = 1;
            break;
        }
        sent++;
    }
    /* wait for the answers and the releases (the input bytes are lent until then); cancel what was sent when the
     * outer request is cancelled (checked at every wake-up, at least every 100 ms) or a part could not be sent */
    int cancelled = 0;
    pthread_mutex_lock(&n->lock);
    for (;;) {
        if (!cancelled) {
            bool c = false;
            if (!rc && inst->current) {
                TRITONSERVER_Error *ce = TRITONBACKEND_RequestIsCancelled(inst->current, &c);
                if (ce)
                    TRITONSERVER_ErrorDelete(ce);
            }
            if (c || rc) {
                cancelled = 1;
                pthread_mutex_unlock(&n->lock); /* the server may answer from within a cancel */
                for (int64_t k = 0; k < sent; k++) {
                    TRITONSERVER_Error *ce = TRITONSERVER_InferenceRequestCancel(calls[k].req);
                    if (ce)
                        TRITONSERVER_ErrorDelete(ce);
                }
                pthread_mutex_lock(&n->lock);
            }
        }
        int64_t open = 0;
        for (int64_t k = 0; k < sent; k++)
            open += !(calls[k].final && calls[k].released);
        if (!open)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&n->cond, &n->lock, &until);
    }
    pthread_mutex_unlock(&n->lock);
    for (int64_t k = 0; k < sent; k++) {
        if (!rc) {
            if (!calls[k].response)
                rc = failed(n, NULL, cancelled ? "cancelled" : "no response");
            else
                rc = take_output(n, &calls[k], b);
        }
        if (calls[k].response)
            TRITONSERVER_InferenceResponseDelete(calls[k].response);
        TRITONSERVER_InferenceRequestDelete(calls[k].req);
    }
    if (calls != &one)
        free(calls);
    return rc;
}

vxt_status vxt_triton_network_runner(vxt_triton_instance *inst, int member, vxt_runner **out)
{
    net *n = calloc(1, sizeof *n);
    if (!n)
        return VXT_ERR_OUT_OF_MEMORY;
    n->inst = inst;
    n->member = member;
    n->max_batch = -1;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    vxt_plan_info pi = {.struct_size = sizeof pi};
    vxt_plan_get_info(inst->m->plan, &pi);
    vxt_runner_info ri = {.struct_size = sizeof ri};
    snprintf(ri.name, sizeof ri.name, "triton:%.150s", inst->m->network[member]);
    ri.in_channels = 0;
    ri.out_channels = inst->m->classes;
    ri.output_dtype = VXT_DTYPE_F32;
    memcpy(ri.roi, pi.roi, sizeof ri.roi);
    ri.preferred_batch = 0;
    vxt_status st = vxt_runner_create_callback(&ri, predict, n, out);
    if (st != VXT_OK) {
        pthread_mutex_destroy(&n->lock);
        pthread_cond_destroy(&n->cond);
        free(n);
        return st;
    }
    inst->nets[member] = n;
    return VXT_OK;
}

void vxt_triton_network_release(vxt_triton_instance *inst, int member)
{
    vxt_runner_destroy(inst->runners[member]);
    net *n = inst->nets[member];
    if (n) {
        pthread_mutex_destroy(&n->lock);
        pthread_cond_destroy(&n->cond);
        free(n);
    }
    inst->nets[member] = NULL;
}
