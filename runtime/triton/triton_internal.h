/* triton_internal.h - the pieces of libtriton_voxtile.so (docs/TRITON.md):
 *   runtime/triton/triton_api.h       Triton's C API, the subset the backend calls, in voxtile's words
 *   runtime/triton/triton_backend.c   the entry points: the backend, models (their configuration) and instances
 *   runtime/triton/triton_request.c   one request: the volume in, the pipeline run, labels and probabilities out
 *   runtime/triton/triton_network.c   the network as another model of the same server: tiles sent in process
 * Not installed. */
#ifndef VXT_TRITON_INTERNAL_H
#define VXT_TRITON_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "triton_api.h"
#include "voxtile.h"

#define VXT_TRITON_MAX_MEMBERS 16

/* A model with `backend: "voxtile"`: what its config.pbtxt parameters say, read once. */
typedef struct vxt_triton_model {
    TRITONBACKEND_Model *model;
    char name[256];
    char dir[4096];      /* its folder in the repository: relative paths in the parameters start here */
    vxt_plan *plan;      /* checked; the members' runner specifications made absolute */
    int members;
    vxt_dtype label_dtype;
    /* the network: the plan's runners (built in), or models of this server, one per plan member */
    int use_server_models;
    char network[VXT_TRITON_MAX_MEMBERS][256];
    char network_input[128], network_output[128];
    int64_t network_version;
    int64_t classes;     /* what the network models produce (parameter network_classes, or the plan's class names) */
    TRITONSERVER_Server *server;
    TRITONSERVER_ResponseAllocator *allocator;
    /* the context of each instance */
    vxt_backend backend;
    int cpu_threads;
} vxt_triton_model;

/* One instance (instance_group count): its own context, runners and pipeline; instances share nothing but the
 * device. */
typedef struct vxt_triton_instance {
    vxt_triton_model *m;
    char name[256];
    vxt_context *ctx;
    vxt_runner *runners[VXT_TRITON_MAX_MEMBERS];
    struct net *nets[VXT_TRITON_MAX_MEMBERS]; /* server models: each runner's state (triton_network.c) */
    int nrunners;
    vxt_pipeline *pipeline; /* with the model's plan */
    TRITONBACKEND_Request *current; /* the request being run (cancellation checks, messages) */
    char failure[512];             /* why the network failed in the last run (server models), for the response */
} vxt_triton_instance;

/* triton_backend.c: an error of the given code with a formatted one-line message. */
TRITONSERVER_Error *vxt_triton_error(TRITONSERVER_Error_Code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cJSON's parser writes every parse's error position into a global of its own, so two parses at once race. Every
 * parse the backend makes, and every call into libvoxtile that parses JSON (plan loading), takes this lock: model
 * loads and requests of several instances run at once. (libvoxtile's own parses take turns under its own lock,
 * nested inside this one.) */
void vxt_triton_json_lock(void);
void vxt_triton_json_unlock(void);

/* Log a line through the server's log (level INFO, WARN, ERROR). */
void vxt_triton_log(TRITONSERVER_LogLevel level, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* triton_request.c: run one request and answer it (the response is sent, the request released, whatever
 * happens). */
void vxt_triton_execute_one(vxt_triton_instance *inst, TRITONBACKEND_ModelInstance *instance,
                            TRITONBACKEND_Request *request);

/* triton_network.c: a runner for plan member `member` that sends each batch of tiles to the server model
 * m->network[member] and waits for its answer (its state in inst->nets[member]); released with
 * vxt_triton_network_release. The allocator of the answers' outputs is made once per model. */
TRITONSERVER_Error *vxt_triton_network_allocator(TRITONSERVER_ResponseAllocator **out);
vxt_status vxt_triton_network_runner(vxt_triton_instance *inst, int member, vxt_runner **out);
void vxt_triton_network_release(vxt_triton_instance *inst, int member);

#endif /* VXT_TRITON_INTERNAL_H */
