/* triton_network.c - the network as a model of the same server: each batch of tiles the pipeline hands its runner
 * becomes an inference request to that model, made in process the way Triton's business logic scripting makes
 * them (TRITONSERVER_InferenceRequestNew ... TRITONSERVER_ServerInferAsync), and the runner waits for the answer.
 * The network can then run on any backend of the server (ONNX Runtime, TensorRT, PyTorch, Python), with the tiles
 * batched up to the plan's batch_size (which must not exceed the network model's max_batch_size).
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

#include "triton_internal.h"

typedef struct net {
    vxt_triton_instance *inst;
    int member;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int final, released;
    TRITONSERVER_InferenceResponse *response;
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
    net *n = userp;
    if (!(flags & TRITONSERVER_REQUEST_RELEASE_ALL))
        return;
    pthread_mutex_lock(&n->lock);
    n->released = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

static void on_response(TRITONSERVER_InferenceResponse *response, const uint32_t flags, void *userp)
{
    net *n = userp;
    pthread_mutex_lock(&n->lock);
    if (response) {
        if (n->response) /* one response is expected; a second (a decoupled model) is dropped */
            TRITONSERVER_InferenceResponseDelete(response);
        else
            n->response = response;
    }
    if (flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        n->final = 1;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

/* inst->failure: why the batch failed (the error e, deleted here, or `what`); returns 1 (the runner's failure). */
static int failed(net *n, TRITONSERVER_Error *e, const char *what)
{
    vxt_triton_instance *inst = n->inst;
    snprintf(inst->failure, sizeof inst->failure, "network model '%.200s': %.290s", inst->m->network[n->member],
             e ? TRITONSERVER_ErrorMessage(e) : what);
    if (e)
        TRITONSERVER_ErrorDelete(e);
    return 1;
}

/* The answer to batch b: the output tensor checked and copied into b->output. */
static int take_output(net *n, const vxt_batch *b)
{
    TRITONSERVER_Error *e = TRITONSERVER_InferenceResponseError(n->response);
    if (e) /* owned by the response: copied, not deleted */
        return failed(n, NULL, TRITONSERVER_ErrorMessage(e));
    uint32_t count = 0;
    if ((e = TRITONSERVER_InferenceResponseOutputCount(n->response, &count)))
        return failed(n, e, NULL);
    const char *want = n->inst->m->network_output;
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
        if ((e = TRITONSERVER_InferenceResponseOutput(n->response, i, &name, &t, &shape, &dims, &base, &bytes, &mt,
                                                      &mid, &userp)))
            return failed(n, e, NULL);
        if (strcmp(name, want))
            continue;
        const int64_t expect[5] = {b->count, b->out_channels, b->roi[0], b->roi[1], b->roi[2]};
        int ok = t == (b->output_dtype == VXT_DTYPE_F16 ? TRITONSERVER_TYPE_FP16 : TRITONSERVER_TYPE_FP32) &&
                 dims == 5 && mt != TRITONSERVER_MEMORY_GPU;
        for (int d = 0; ok && d < 5; d++)
            ok = shape[d] == expect[d];
        const size_t need = (size_t)b->count * (size_t)b->out_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]) *
                            (b->output_dtype == VXT_DTYPE_F16 ? 2u : 4u);
        if (!ok || bytes != need) {
            char what[256];
            snprintf(what, sizeof what, "output '%s' is not %s [%lld, %lld, %lld, %lld, %lld] in host memory", want,
                     b->output_dtype == VXT_DTYPE_F16 ? "FP16" : "FP32", (long long)expect[0], (long long)expect[1],
                     (long long)expect[2], (long long)expect[3], (long long)expect[4]);
            return failed(n, NULL, what);
        }
        memcpy(b->output, base, need);
        return 0;
    }
    char what[200];
    snprintf(what, sizeof what, "the response has no output '%.120s'", want);
    return failed(n, NULL, what);
}

static int predict(void *user, const vxt_batch *b)
{
    net *n = user;
    vxt_triton_instance *inst = n->inst;
    const vxt_triton_model *m = inst->m;
    TRITONSERVER_InferenceRequest *req = NULL;
    TRITONSERVER_Error *e = TRITONSERVER_InferenceRequestNew(&req, m->server, m->network[n->member], m->network_version);
    if (e)
        return failed(n, e, NULL);
    const int64_t shape[5] = {b->count, b->in_channels, b->roi[0], b->roi[1], b->roi[2]};
    const size_t bytes = (size_t)b->count * (size_t)b->in_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]) * 4u;
    n->final = n->released = 0;
    n->response = NULL;
    if (!e)
        e = TRITONSERVER_InferenceRequestAddInput(req, m->network_input, TRITONSERVER_TYPE_FP32, shape, 5);
    if (!e)
        e = TRITONSERVER_InferenceRequestAppendInputData(req, m->network_input, b->input, bytes,
                                                         TRITONSERVER_MEMORY_CPU, 0);
    if (!e)
        e = TRITONSERVER_InferenceRequestAddRequestedOutput(req, m->network_output);
    if (!e)
        e = TRITONSERVER_InferenceRequestSetReleaseCallback(req, on_release, n);
    if (!e)
        e = TRITONSERVER_InferenceRequestSetResponseCallback(req, m->allocator, NULL, on_response, n);
    if (!e)
        e = TRITONSERVER_ServerInferAsync(m->server, req, NULL);
    if (e) { /* not handed over: still ours */
        TRITONSERVER_InferenceRequestDelete(req);
        return failed(n, e, NULL);
    }
    /* wait for the answer and the release; pass a cancellation of the outer request on */
    int cancelled = 0;
    pthread_mutex_lock(&n->lock);
    while (!(n->final && n->released)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        int r = pthread_cond_timedwait(&n->cond, &n->lock, &until);
        if (r == ETIMEDOUT && !cancelled && inst->current) {
            bool c = false;
            TRITONSERVER_Error *ce = TRITONBACKEND_RequestIsCancelled(inst->current, &c);
            if (ce)
                TRITONSERVER_ErrorDelete(ce);
            if (c) {
                cancelled = 1;
                ce = TRITONSERVER_InferenceRequestCancel(req);
                if (ce)
                    TRITONSERVER_ErrorDelete(ce);
            }
        }
    }
    pthread_mutex_unlock(&n->lock);
    int rc;
    if (!n->response)
        rc = failed(n, NULL, cancelled ? "cancelled" : "no response");
    else
        rc = take_output(n, b);
    if (n->response)
        TRITONSERVER_InferenceResponseDelete(n->response);
    n->response = NULL;
    TRITONSERVER_InferenceRequestDelete(req);
    return rc;
}

vxt_status vxt_triton_network_runner(vxt_triton_instance *inst, int member, vxt_runner **out)
{
    net *n = calloc(1, sizeof *n);
    if (!n)
        return VXT_ERR_OUT_OF_MEMORY;
    n->inst = inst;
    n->member = member;
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
