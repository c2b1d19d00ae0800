/* triton_backend.c - libtriton_voxtile.so, a Triton Inference Server backend that runs voxtile's whole
 * sliding-window pipeline (docs/TRITON.md): the entry points Triton calls, each model's configuration, each
 * instance's context, runners and pipeline. A model with `backend: "voxtile"` names its plan and its network in
 * config.pbtxt parameters:
 *
 *   plan            the plan file (JSON, docs/PLAN.md), relative to the model's folder; or
 *   nnunet_folder   an nnU-Net model folder (with nnunet_configuration, default 3d_fullres), relative likewise
 *   plan_json       JSON laid over the plan (e.g. {"batch_size": 4})
 *   model           the network as a runner specification, replacing the plan's (onnx:PATH, torchscript:PATH:
 *                   relative paths from the model's folder); model_config, its configuration string
 *   network_model   instead: the network as models of this server, one per plan member (comma-separated), called in
 *                   process; network_input, network_output name their tensors (default "INPUT", "OUTPUT")
 *   backend         auto, cpu or opencl (default cpu); threads: the CPU threads of each instance (default 0: all)
 *
 * Every entry point returns an error rather than aborting; nothing is printed but through the server's log. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triton_internal.h"

TRITONSERVER_Error *vxt_triton_error(TRITONSERVER_Error_Code code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return TRITONSERVER_ErrorNew(code, msg);
}

static pthread_mutex_t json_lock = PTHREAD_MUTEX_INITIALIZER; /* the backend's one static lock */

void vxt_triton_json_lock(void)
{
    pthread_mutex_lock(&json_lock);
}

void vxt_triton_json_unlock(void)
{
    pthread_mutex_unlock(&json_lock);
}

void vxt_triton_log(TRITONSERVER_LogLevel level, int line, const char *fmt, ...)
{
    if (!TRITONSERVER_LogIsEnabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    TRITONSERVER_Error *e = TRITONSERVER_LogMessage(level, __FILE__, line, msg);
    if (e)
        TRITONSERVER_ErrorDelete(e);
}

/* A voxtile failure as a Triton error, with voxtile's message. */
static TRITONSERVER_Error *from_vxt(vxt_status st, const char *what)
{
    return vxt_triton_error(st == VXT_ERR_OUT_OF_MEMORY ? TRITONSERVER_ERROR_UNAVAILABLE
                            : st == VXT_ERR_INVALID_ARGUMENT || st == VXT_ERR_IO || st == VXT_ERR_FORMAT
                                ? TRITONSERVER_ERROR_INVALID_ARG
                                : TRITONSERVER_ERROR_INTERNAL,
                            "voxtile: %s: %s", what, vxt_last_error());
}

/* ---- the backend ------------------------------------------------------------------------------------------- */

TRITONSERVER_Error *TRITONBACKEND_Initialize(TRITONBACKEND_Backend *backend)
{
    (void)backend;
    uint32_t major = 0, minor = 0;
    TRITONSERVER_Error *e = TRITONBACKEND_ApiVersion(&major, &minor);
    if (e)
        return e;
    if (major != VXT_TRITON_BACKEND_API_MAJOR || minor < VXT_TRITON_BACKEND_API_MINOR)
        return vxt_triton_error(TRITONSERVER_ERROR_UNSUPPORTED, "voxtile: the server's backend API is %u.%u; this "
                                "backend needs %u.%u or a later minor version", major, minor,
                                VXT_TRITON_BACKEND_API_MAJOR, VXT_TRITON_BACKEND_API_MINOR);
    if ((e = TRITONSERVER_ApiVersion(&major, &minor)))
        return e;
    if (major != VXT_TRITON_SERVER_API_MAJOR || minor < VXT_TRITON_SERVER_API_MINOR)
        return vxt_triton_error(TRITONSERVER_ERROR_UNSUPPORTED, "voxtile: the server's API is %u.%u; this backend "
                                "needs %u.%u or a later minor version", major, minor, VXT_TRITON_SERVER_API_MAJOR,
                                VXT_TRITON_SERVER_API_MINOR);
    vxt_triton_log(TRITONSERVER_LOG_INFO, __LINE__, "voxtile %s backend (backend API %u.%u)", vxt_version_string(),
                   VXT_TRITON_BACKEND_API_MAJOR, VXT_TRITON_BACKEND_API_MINOR);
    return NULL;
}

TRITONSERVER_Error *TRITONBACKEND_Finalize(TRITONBACKEND_Backend *backend)
{
    (void)backend;
    return NULL;
}

/* ---- models: the configuration ----------------------------------------------------------------------------- */

/* parameters { key: "K" value: { string_value: "V" } }: V, or NULL */
static const char *param(const cJSON *cfg, const char *key)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "parameters"), key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "string_value");
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A path of a parameter, from the model's folder when relative. */
static TRITONSERVER_Error *model_path(const vxt_triton_model *m, const char *key, const char *rel, char *out,
                                      size_t n)
{
    int k = rel[0] == '/' ? snprintf(out, n, "%s", rel) : snprintf(out, n, "%s/%s", m->dir, rel);
    if (k < 0 || (size_t)k >= n)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': parameter %s: the path is too "
                                "long", m->name, key);
    return NULL;
}

/* A runner specification "kind:PATH" with a relative PATH made absolute (from the model's folder). */
static TRITONSERVER_Error *absolute_spec(const vxt_triton_model *m, const char *spec, char *out, size_t n)
{
    const char *colon = strchr(spec, ':');
    if (colon && (!strncmp(spec, "onnx:", 5) || !strncmp(spec, "torchscript:", 12) || !strncmp(spec, "plugin:", 7)) &&
        colon[1] != '/') {
        char path[4096];
        TRITONSERVER_Error *e = model_path(m, "model", colon + 1, path, sizeof path);
        if (e)
            return e;
        int k = snprintf(out, n, "%.*s:%s", (int)(colon - spec), spec, path);
        if (k < 0 || (size_t)k >= n)
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': the model path is too long",
                                    m->name);
        return NULL;
    }
    snprintf(out, n, "%s", spec);
    return NULL;
}

static TRITONSERVER_Error *load_plan(vxt_triton_model *m, const cJSON *cfg)
{
    const char *plan = param(cfg, "plan"), *nn = param(cfg, "nnunet_folder");
    char path[4096];
    TRITONSERVER_Error *e = NULL;
    if (!!plan == !!nn)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': give the parameter 'plan' (a "
                                "plan file) or 'nnunet_folder' (an nnU-Net model folder), one of them", m->name);
    if (vxt_plan_create(&m->plan) != VXT_OK)
        return from_vxt(VXT_ERR_OUT_OF_MEMORY, "plan");
    if ((e = model_path(m, plan ? "plan" : "nnunet_folder", plan ? plan : nn, path, sizeof path)))
        return e;
    const char *configuration = param(cfg, "nnunet_configuration");
    vxt_status st = plan ? vxt_plan_load_file(m->plan, path)
                         : vxt_plan_load_nnunet(m->plan, path, configuration ? configuration : "3d_fullres");
    if (st != VXT_OK)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': %s", m->name, vxt_last_error());
    const char *overlay = param(cfg, "plan_json");
    if (overlay && vxt_plan_load_json(m->plan, overlay, strlen(overlay), "config.pbtxt parameter plan_json") != VXT_OK)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': %s", m->name, vxt_last_error());
    /* the network: a runner specification replacing the plan's, or the plan's with relative paths made absolute
     * from the model's folder */
    const char *model = param(cfg, "model"), *model_config = param(cfg, "model_config");
    vxt_plan_info pi = {.struct_size = sizeof pi};
    vxt_plan_get_info(m->plan, &pi);
    if (model || pi.members > 0) {
        cJSON *doc = cJSON_CreateObject(), *members = cJSON_AddArrayToObject(doc, "members");
        const int n = model ? 1 : pi.members;
        for (int i = 0; i < n && !e; i++) {
            const char *config = NULL;
            const char *spec = model ? model : vxt_plan_member(m->plan, i, &config);
            char abs_spec[4200];
            if ((e = absolute_spec(m, spec, abs_spec, sizeof abs_spec)))
                break;
            cJSON *one = cJSON_CreateObject();
            cJSON_AddStringToObject(one, "model", abs_spec);
            const char *c = model ? model_config : config;
            if (c && c[0])
                cJSON_AddStringToObject(one, "config", c);
            cJSON_AddItemToArray(members, one);
        }
        char *text = e ? NULL : cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (!e && (!text || vxt_plan_load_json(m->plan, text, strlen(text), "the model's folder") != VXT_OK))
            e = vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': %s", m->name,
                                 text ? vxt_last_error() : "out of memory");
        free(text);
        if (e)
            return e;
    }
    if (vxt_plan_check(m->plan) != VXT_OK)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': %s", m->name, vxt_last_error());
    vxt_plan_get_info(m->plan, &pi);
    m->members = pi.members;
    m->label_dtype = pi.label_dtype;
    return NULL;
}

static TRITONSERVER_Error *read_config(vxt_triton_model *m, const cJSON *cfg)
{
    vxt_triton_json_lock();
    TRITONSERVER_Error *e = load_plan(m, cfg);
    vxt_triton_json_unlock();
    if (e)
        return e;
    const char *net = param(cfg, "network_model");
    if (net) {
        if (param(cfg, "model"))
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': give 'model' (a runner in "
                                    "this process) or 'network_model' (models of the server), not both", m->name);
        int n = 0;
        for (const char *p = net; *p && n <= VXT_TRITON_MAX_MEMBERS;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (n < VXT_TRITON_MAX_MEMBERS) {
                if (len == 0 || len >= sizeof m->network[0])
                    return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': network_model "
                                            "'%s': an empty or too long name", m->name, net);
                memcpy(m->network[n], p, len);
                m->network[n][len] = '\0';
            }
            n++;
            p = comma ? comma + 1 : p + len;
        }
        if (n != m->members)
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': network_model names %d "
                                    "model(s); the plan has %d member(s)", m->name, n, m->members);
        if (!strcmp(m->network[0], m->name))
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': network_model names the "
                                    "model itself", m->name);
        m->use_server_models = 1;
        snprintf(m->network_input, sizeof m->network_input, "%s",
                 param(cfg, "network_input") ? param(cfg, "network_input") : "INPUT");
        snprintf(m->network_output, sizeof m->network_output, "%s",
                 param(cfg, "network_output") ? param(cfg, "network_output") : "OUTPUT");
        m->network_version = -1;
        const char *classes = param(cfg, "network_classes");
        vxt_plan_info pi = {.struct_size = sizeof pi};
        vxt_plan_get_info(m->plan, &pi);
        m->classes = classes ? strtoll(classes, NULL, 10) : pi.class_names;
        if (m->classes < 1 || m->classes > 65535)
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': how many classes the "
                                    "network models produce is not known: give the parameter network_classes (or "
                                    "class_names in the plan)", m->name);
        if ((e = TRITONBACKEND_ModelServer(m->model, &m->server)))
            return e;
        if ((e = vxt_triton_network_allocator(&m->allocator)))
            return e;
    }
    const char *b = param(cfg, "backend");
    m->backend = VXT_BACKEND_CPU;
    if (b && vxt_backend_parse(b, &m->backend) != VXT_OK)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': backend '%s': %s", m->name, b,
                                vxt_last_error());
    const char *t = param(cfg, "threads");
    if (t) {
        char *end;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (errno || *end || v < 0 || v > 1024)
            return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': threads '%s' (0-1024)",
                                    m->name, t);
        m->cpu_threads = (int)v;
    }
    /* max_batch_size must be 0: a request is one volume, and the pipeline batches its tiles itself */
    const cJSON *mbs = cJSON_GetObjectItemCaseSensitive(cfg, "max_batch_size");
    if (cJSON_IsNumber(mbs) && mbs->valuedouble != 0)
        return vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, "voxtile: model '%s': max_batch_size must be 0 (one "
                                "request is one volume; its tiles are batched by the plan's batch_size)", m->name);
    return NULL;
}

static void model_free(vxt_triton_model *m)
{
    if (!m)
        return;
    vxt_plan_destroy(m->plan);
    if (m->allocator)
        TRITONSERVER_ResponseAllocatorDelete(m->allocator);
    free(m);
}

TRITONSERVER_Error *TRITONBACKEND_ModelInitialize(TRITONBACKEND_Model *model)
{
    vxt_triton_model *m = calloc(1, sizeof *m);
    if (!m)
        return vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: out of memory");
    m->model = model;
    const char *name = NULL, *dir = NULL;
    TRITONBACKEND_ArtifactType type;
    TRITONSERVER_Message *msg = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ModelName(model, &name);
    if (!e)
        e = TRITONBACKEND_ModelRepository(model, &type, &dir);
    if (!e) {
        snprintf(m->name, sizeof m->name, "%s", name);
        snprintf(m->dir, sizeof m->dir, "%s", dir);
        e = TRITONBACKEND_ModelConfig(model, 1, &msg);
    }
    if (!e) {
        const char *json = NULL;
        size_t n = 0;
        e = TRITONSERVER_MessageSerializeToJson(msg, &json, &n);
        vxt_triton_json_lock();
        cJSON *cfg = e ? NULL : cJSON_ParseWithLength(json, n);
        vxt_triton_json_unlock();
        if (!e && !cfg)
            e = vxt_triton_error(TRITONSERVER_ERROR_INTERNAL, "voxtile: model '%s': its configuration is not JSON",
                                 m->name);
        if (!e)
            e = read_config(m, cfg);
        cJSON_Delete(cfg);
        TRITONSERVER_MessageDelete(msg);
    }
    if (!e)
        e = TRITONBACKEND_ModelSetState(model, m);
    if (e) {
        model_free(m);
        return e;
    }
    vxt_triton_log(TRITONSERVER_LOG_INFO, __LINE__, "voxtile: model '%s': %d member(s), the network %s", m->name,
                   m->members, m->use_server_models ? "as models of this server" : "in process (the plan's runners)");
    return NULL;
}

TRITONSERVER_Error *TRITONBACKEND_ModelFinalize(TRITONBACKEND_Model *model)
{
    void *state = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ModelState(model, &state);
    if (e)
        return e;
    model_free(state);
    return NULL;
}

/* ---- instances ----------------------------------------------------------------------------------------------- */

static void instance_free(vxt_triton_instance *inst)
{
    if (!inst)
        return;
    vxt_pipeline_destroy(inst->pipeline);
    for (int i = 0; i < inst->nrunners; i++) {
        if (inst->m->use_server_models)
            vxt_triton_network_release(inst, i);
        else
            vxt_runner_destroy(inst->runners[i]);
    }
    vxt_context_destroy(inst->ctx);
    free(inst);
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceInitialize(TRITONBACKEND_ModelInstance *instance)
{
    TRITONBACKEND_Model *model = NULL;
    void *state = NULL;
    const char *name = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceModel(instance, &model);
    if (!e)
        e = TRITONBACKEND_ModelState(model, &state);
    if (!e)
        e = TRITONBACKEND_ModelInstanceName(instance, &name);
    if (e)
        return e;
    vxt_triton_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: out of memory");
    inst->m = state;
    snprintf(inst->name, sizeof inst->name, "%s", name);
    vxt_context_options co;
    vxt_context_options_init(&co);
    co.backend = inst->m->backend;
    co.cpu_threads = inst->m->cpu_threads;
    vxt_status st = vxt_context_create(&co, &inst->ctx);
    /* the runners: made here, once per instance, and lent to the pipeline */
    for (int i = 0; st == VXT_OK && i < inst->m->members; i++) {
        if (inst->m->use_server_models) {
            st = vxt_triton_network_runner(inst, i, &inst->runners[i]);
        } else {
            const char *config = NULL;
            const char *spec = vxt_plan_member(inst->m->plan, i, &config);
            st = vxt_runner_create(spec, config, &inst->runners[i]);
        }
        if (st == VXT_OK)
            inst->nrunners++;
    }
    if (st == VXT_OK)
        st = vxt_pipeline_create(inst->ctx, inst->m->plan, inst->runners, inst->nrunners, &inst->pipeline);
    if (st != VXT_OK) {
        e = from_vxt(st, inst->name);
        instance_free(inst);
        return e;
    }
    if ((e = TRITONBACKEND_ModelInstanceSetState(instance, inst))) {
        instance_free(inst);
        return e;
    }
    vxt_triton_log(TRITONSERVER_LOG_INFO, __LINE__, "voxtile: instance '%s' ready (%s backend)", inst->name,
                   vxt_backend_name(inst->m->backend));
    return NULL;
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceFinalize(TRITONBACKEND_ModelInstance *instance)
{
    void *state = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceState(instance, &state);
    if (e)
        return e;
    instance_free(state);
    return NULL;
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceExecute(TRITONBACKEND_ModelInstance *instance,
                                                       TRITONBACKEND_Request **requests, const uint32_t request_count)
{
    void *state = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceState(instance, &state);
    if (e)
        return e;
    vxt_triton_instance *inst = state;
    /* each request is a volume of its own, answered and released by execute_one whatever happens */
    for (uint32_t r = 0; r < request_count; r++)
        vxt_triton_execute_one(inst, instance, requests[r]);
    return NULL;
}
