/* triton_request.c - one request to a voxtile model: its inputs checked and made an image, the pipeline run, the
 * labels (and the probabilities when asked for) sent back. Every request gets exactly one response, an error one
 * when anything fails, and is released; a failing request never touches the next one.
 *
 *   inputs   VOLUME         UINT8, INT16 or FP32, [Z, Y, X] or [C, Z, Y, X] (C: the network's input channels)
 *            SPACING        optional, FP32 or FP64 [3]: voxel sizes in mm, in the volume's order (z, y, x)
 *            AFFINE         optional, FP32 or FP64 [4, 4]: voxel (x, y, z) = (i, j, k) to RAS mm, as NIfTI's sform
 *                           (without either: 1 mm voxels, the identity's RAS axes)
 *   outputs  LABELS         UINT8 or UINT16 (the plan's label dtype), [Z, Y, X]
 *            PROBABILITIES  FP32 [K, Z, Y, X] (K classes), only when the request asks for it
 *   request parameters: "mirroring" (bool: false turns the plan's test-time mirroring off), "plan" (a JSON object
 *            of the fields a request may change: overlap, step, overlap_voxels, mirror_axes, importance,
 *            sigma_scale, accumulate, batch_size). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "triton_internal.h"

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#define BAD(...) vxt_triton_error(TRITONSERVER_ERROR_INVALID_ARG, __VA_ARGS__)

/* The fields of a plan a request may set: they change how tiles are placed, weighted and batched, not what the
 * network sees (its orientation, spacing, normalization, tile size and model stay the model's). */
static const char *const request_plan_fields[] = {"overlap",   "step",       "overlap_voxels", "mirror_axes",
                                                  "importance", "sigma_scale", "accumulate",     "batch_size"};

/* The request's parameters as a plan overlay (NULL: none). */
static TRITONSERVER_Error *request_overlay(TRITONBACKEND_Request *request, char **overlay)
{
    *overlay = NULL;
    uint32_t n = 0;
    TRITONSERVER_Error *e = TRITONBACKEND_RequestParameterCount(request, &n);
    if (e)
        return e;
    cJSON *doc = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const char *key = NULL;
        TRITONSERVER_ParameterType type;
        const void *value = NULL;
        if ((e = TRITONBACKEND_RequestParameter(request, i, &key, &type, &value)))
            break;
        if (!strcmp(key, "mirroring")) {
            if (type != TRITONSERVER_PARAMETER_BOOL) {
                e = BAD("voxtile: request parameter '%s' must be a bool", key);
                break;
            }
            if (!*(const bool *)value) {
                if (!doc && !(doc = cJSON_CreateObject()))
                    break;
                cJSON_DeleteItemFromObject(doc, "mirror_axes");
                cJSON_AddItemToObject(doc, "mirror_axes", cJSON_CreateArray());
            }
        } else if (!strcmp(key, "plan")) {
            if (type != TRITONSERVER_PARAMETER_STRING) {
                e = BAD("voxtile: request parameter '%s' must be a string (a JSON object)", key);
                break;
            }
            vxt_triton_json_lock();
            cJSON *p = cJSON_Parse((const char *)value);
            vxt_triton_json_unlock();
            if (!cJSON_IsObject(p)) {
                cJSON_Delete(p);
                e = BAD("voxtile: request parameter '%s' is not a JSON object", key);
                break;
            }
            for (cJSON *f = p->child; f && !e; f = f->next) {
                int ok = 0;
                for (size_t k = 0; k < sizeof request_plan_fields / sizeof request_plan_fields[0]; k++)
                    ok |= !strcmp(f->string, request_plan_fields[k]);
                if (!ok)
                    e = BAD("voxtile: request parameter 'plan': field '%s' may not be set by a request (overlap, "
                            "step, overlap_voxels, mirror_axes, importance, sigma_scale, accumulate, batch_size)",
                            f->string);
            }
            if (!e) {
                if (!doc && !(doc = cJSON_CreateObject())) {
                    cJSON_Delete(p);
                    break;
                }
                while (p->child) {
                    cJSON *f = cJSON_DetachItemViaPointer(p, p->child);
                    cJSON_DeleteItemFromObject(doc, f->string);
                    cJSON_AddItemToObject(doc, f->string, f);
                }
            }
            cJSON_Delete(p);
            if (e)
                break;
        } else if (strcmp(key, "triton_enable_empty_final_response") && strncmp(key, "triton_", 7)) {
            e = BAD("voxtile: unknown request parameter '%s' (mirroring, plan)", key);
            break;
        }
    }
    if (!e && doc && !(*overlay = cJSON_PrintUnformatted(doc)))
        e = vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: out of memory");
    cJSON_Delete(doc);
    return e;
}

/* An input's properties and its bytes (the buffers joined when there are several: into *joined, to free). */
static TRITONSERVER_Error *input_bytes(TRITONBACKEND_Request *request, const char *name, int required,
                                       TRITONSERVER_DataType *type, int64_t shape[4], uint32_t *dims,
                                       const void **data, uint64_t *size, void **joined)
{
    TRITONBACKEND_Input *in = NULL;
    *joined = NULL;
    *data = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_RequestInput(request, name, &in);
    if (e) {
        TRITONSERVER_ErrorDelete(e);
        return required ? BAD("voxtile: input '%s' is missing", name) : NULL;
    }
    const int64_t *s = NULL;
    uint32_t nb = 0;
    if ((e = TRITONBACKEND_InputProperties(in, NULL, type, &s, dims, size, &nb)))
        return e;
    if (*dims > 4)
        return BAD("voxtile: input '%s' has %lld dimensions", name, (long long)*dims);
    for (uint32_t d = 0; d < *dims; d++)
        shape[d] = s[d];
    if (nb == 1) {
        uint64_t got = 0;
        TRITONSERVER_MemoryType mt = TRITONSERVER_MEMORY_CPU;
        int64_t mid = 0;
        if ((e = TRITONBACKEND_InputBuffer(in, 0, data, &got, &mt, &mid)))
            return e;
        if (mt == TRITONSERVER_MEMORY_GPU)
            return vxt_triton_error(TRITONSERVER_ERROR_UNSUPPORTED, "voxtile: input '%s' is in GPU memory", name);
        return NULL;
    }
    unsigned char *j = malloc(*size ? *size : 1);
    if (!j)
        return vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: out of memory for input '%s'", name);
    uint64_t at = 0;
    for (uint32_t b = 0; b < nb; b++) {
        const void *p = NULL;
        uint64_t got = 0;
        TRITONSERVER_MemoryType mt = TRITONSERVER_MEMORY_CPU;
        int64_t mid = 0;
        if ((e = TRITONBACKEND_InputBuffer(in, b, &p, &got, &mt, &mid)) || got > *size - at) {
            free(j);
            return e ? e : BAD("voxtile: input '%s': buffers larger than its %lld bytes", name, (long long)*size);
        }
        memcpy(j + at, p, got);
        at += got;
    }
    *joined = j;
    *data = j;
    return NULL;
}

/* SPACING or AFFINE as doubles (n of them) */
static TRITONSERVER_Error *doubles(const char *name, TRITONSERVER_DataType type, const int64_t *shape, uint32_t dims,
                                   const void *data, uint64_t size, int n, double *out)
{
    int64_t count = 1;
    for (uint32_t d = 0; d < dims; d++)
        count *= shape[d];
    if (count != n || (type != TRITONSERVER_TYPE_FP32 && type != TRITONSERVER_TYPE_FP64) ||
        size != (uint64_t)n * (type == TRITONSERVER_TYPE_FP32 ? 4u : 8u))
        return BAD("voxtile: input '%s' must hold %lld FP32 or FP64 values", name, (long long)n);
    for (int i = 0; i < n; i++) {
        if (type == TRITONSERVER_TYPE_FP32) {
            float f;
            memcpy(&f, (const unsigned char *)data + 4 * i, 4);
            out[i] = f;
        } else {
            memcpy(&out[i], (const unsigned char *)data + 8 * i, 8);
        }
    }
    return NULL;
}

/* The request's volume as an image. */
static TRITONSERVER_Error *request_image(TRITONBACKEND_Request *request, vxt_image **out)
{
    TRITONSERVER_DataType type;
    int64_t shape[4] = {0};
    uint32_t dims = 0;
    const void *data;
    uint64_t size = 0;
    void *joined = NULL;
    TRITONSERVER_Error *e = input_bytes(request, "VOLUME", 1, &type, shape, &dims, &data, &size, &joined);
    if (e)
        return e;
    vxt_dtype dt = type == TRITONSERVER_TYPE_UINT8   ? VXT_DTYPE_U8
                   : type == TRITONSERVER_TYPE_INT16 ? VXT_DTYPE_I16
                   : type == TRITONSERVER_TYPE_FP32  ? VXT_DTYPE_F32
                                                     : (vxt_dtype)-1;
    if ((int)dt < 0)
        e = BAD("voxtile: input '%s' must be UINT8, INT16 or FP32 (datatype %lld)", "VOLUME", (long long)type);
    else if (dims != 3 && dims != 4)
        e = BAD("voxtile: input '%s' must be [Z, Y, X] or [C, Z, Y, X], not %lld-D", "VOLUME", (long long)dims);
    int64_t ch = dims == 4 ? shape[0] : 1, s3[3] = {0, 0, 0};
    uint64_t need = 0;
    if (!e) {
        for (int k = 0; k < 3; k++)
            s3[k] = shape[dims - 3 + k];
        need = vxt_dtype_size(dt);
        int over = ch < 1;
        for (int k = 0; k < 3 && !over; k++)
            over = s3[k] < 1 || __builtin_mul_overflow(need, (uint64_t)s3[k], &need);
        if (over || __builtin_mul_overflow(need, (uint64_t)ch, &need))
            e = BAD("voxtile: input '%s': a shape entry below 1, or a size that overflows", "VOLUME");
        else if (need != size)
            e = BAD("voxtile: input '%s' holds a number of bytes its shape and datatype do not give (%lld)",
                    "VOLUME", (long long)size);
    }
    /* geometry */
    double spacing[3], aff[16];
    int has_spacing = 0, has_affine = 0;
    for (int which = 0; which < 2 && !e; which++) {
        TRITONSERVER_DataType t;
        int64_t sh[4];
        uint32_t nd = 0;
        const void *d;
        uint64_t sz = 0;
        void *j = NULL;
        const char *name = which ? "AFFINE" : "SPACING";
        e = input_bytes(request, name, 0, &t, sh, &nd, &d, &sz, &j);
        if (!e && d) {
            e = doubles(name, t, sh, nd, d, sz, which ? 16 : 3, which ? aff : spacing);
            *(which ? &has_affine : &has_spacing) = 1;
        }
        free(j);
    }
    if (!e && has_affine && has_spacing)
        e = BAD("voxtile: give SPACING or AFFINE, not both (the affine holds the spacing)");
    vxt_image *img = NULL;
    if (!e && vxt_image_create(dt, ch, s3, NULL, &img) != VXT_OK)
        e = vxt_triton_error(TRITONSERVER_ERROR_UNAVAILABLE, "voxtile: %s", vxt_last_error());
    if (!e) {
        vxt_volume v;
        vxt_image_volume(img, &v);
        memcpy(v.data, data, (size_t)need);
        if (has_spacing) {
            for (int i = 0; i < 16; i++)
                aff[i] = i % 5 == 0;
            aff[0] = spacing[2], aff[5] = spacing[1], aff[10] = spacing[0];
        }
        if (has_spacing || has_affine) {
            vxt_geometry g;
            vxt_geometry_init(&g);
            if (vxt_geometry_from_affine(aff, 1, &g) != VXT_OK || vxt_image_set_geometry(img, &g) != VXT_OK)
                e = BAD("voxtile: input '%s': %s", has_affine ? "AFFINE" : "SPACING", vxt_last_error());
        }
    }
    free(joined);
    if (e) {
        vxt_image_destroy(img);
        return e;
    }
    *out = img;
    return NULL;
}

/* Cancellation: the pipeline asks after each batch of tiles and each stage. Where it was is kept, for the log line
 * that says how far a cancelled request got. */
typedef struct progress {
    TRITONBACKEND_Request *request;
    vxt_stage stage;
    uint64_t done, total;
} progress;

static int still_wanted(void *user, vxt_stage stage, uint64_t done, uint64_t total)
{
    progress *p = user;
    p->stage = stage, p->done = done, p->total = total;
    bool cancelled = false;
    TRITONSERVER_Error *e = TRITONBACKEND_RequestIsCancelled(p->request, &cancelled);
    if (e)
        TRITONSERVER_ErrorDelete(e);
    return cancelled ? 1 : 0;
}

/* Which outputs the request asks for (LABELS when it names none). */
static TRITONSERVER_Error *wanted_outputs(TRITONBACKEND_Request *request, unsigned *outputs)
{
    uint32_t n = 0;
    TRITONSERVER_Error *e = TRITONBACKEND_RequestOutputCount(request, &n);
    if (e)
        return e;
    *outputs = n ? 0u : VXT_OUTPUT_LABELS;
    for (uint32_t i = 0; i < n; i++) {
        const char *name = NULL;
        if ((e = TRITONBACKEND_RequestOutputName(request, i, &name)))
            return e;
        if (!strcmp(name, "LABELS"))
            *outputs |= VXT_OUTPUT_LABELS;
        else if (!strcmp(name, "PROBABILITIES"))
            *outputs |= VXT_OUTPUT_PROBABILITIES;
        else
            return BAD("voxtile: unknown output '%s' (LABELS, PROBABILITIES)", name);
    }
    return NULL;
}

/* One output of the response, from an image. */
static TRITONSERVER_Error *send_output(TRITONBACKEND_Response *response, const char *name, const vxt_image *img)
{
    vxt_volume v;
    if (vxt_image_volume(img, &v) != VXT_OK)
        return vxt_triton_error(TRITONSERVER_ERROR_INTERNAL, "voxtile: %s", vxt_last_error());
    const int with_c = !strcmp(name, "PROBABILITIES");
    int64_t shape[4] = {v.channels, v.shape[0], v.shape[1], v.shape[2]};
    TRITONSERVER_DataType t = v.dtype == VXT_DTYPE_U8    ? TRITONSERVER_TYPE_UINT8
                              : v.dtype == VXT_DTYPE_U16 ? TRITONSERVER_TYPE_UINT16
                                                         : TRITONSERVER_TYPE_FP32;
    size_t bytes = 0;
    vxt_volume_bytes(&v, &bytes);
    TRITONBACKEND_Output *out = NULL;
    void *buf = NULL;
    TRITONSERVER_MemoryType mt = TRITONSERVER_MEMORY_CPU;
    int64_t mid = 0;
    TRITONSERVER_Error *e = TRITONBACKEND_ResponseOutput(response, &out, name, t, with_c ? shape : shape + 1,
                                                         with_c ? 4u : 3u);
    if (!e)
        e = TRITONBACKEND_OutputBuffer(out, &buf, bytes, &mt, &mid);
    if (!e && mt == TRITONSERVER_MEMORY_GPU)
        e = vxt_triton_error(TRITONSERVER_ERROR_UNSUPPORTED, "voxtile: output '%s' placed in GPU memory", name);
    if (!e)
        memcpy(buf, v.data, bytes);
    return e;
}

void vxt_triton_execute_one(vxt_triton_instance *inst, TRITONBACKEND_ModelInstance *instance,
                            TRITONBACKEND_Request *request)
{
    const uint64_t t0 = now_ns();
    TRITONBACKEND_Response *response = NULL;
    TRITONSERVER_Error *e = TRITONBACKEND_ResponseNew(&response, request);
    if (e) { /* nothing can be sent: the request is released, and the server reports the failure */
        vxt_triton_log(TRITONSERVER_LOG_ERROR, __LINE__, "voxtile: %s", TRITONSERVER_ErrorMessage(e));
        TRITONSERVER_ErrorDelete(e);
        TRITONBACKEND_RequestRelease(request, TRITONSERVER_REQUEST_RELEASE_ALL);
        return;
    }
    vxt_image *img = NULL;
    char *overlay = NULL;
    unsigned outputs = 0;
    vxt_pipeline *temporary = NULL;
    vxt_run_result res = {.struct_size = sizeof res};
    uint64_t t1 = 0, t2 = 0;
    e = wanted_outputs(request, &outputs);
    if (!e)
        e = request_overlay(request, &overlay);
    if (!e)
        e = request_image(request, &img);
    vxt_pipeline *pipe = inst->pipeline;
    if (!e && overlay) { /* the request changes the plan: a pipeline of its own, on the instance's runners */
        vxt_plan *plan = NULL;
        vxt_status st = vxt_plan_clone(inst->m->plan, &plan);
        if (st == VXT_OK) {
            vxt_triton_json_lock();
            st = vxt_plan_load_json(plan, overlay, strlen(overlay), "the request's parameters");
            vxt_triton_json_unlock();
        }
        if (st == VXT_OK)
            st = vxt_plan_check(plan);
        if (st == VXT_OK)
            st = vxt_pipeline_create(inst->ctx, plan, inst->runners, inst->nrunners, &temporary);
        vxt_plan_destroy(plan);
        if (st != VXT_OK)
            e = vxt_triton_error(st == VXT_ERR_OUT_OF_MEMORY ? TRITONSERVER_ERROR_UNAVAILABLE
                                                             : TRITONSERVER_ERROR_INVALID_ARG,
                                 "voxtile: request parameters: %s", vxt_last_error());
        pipe = temporary;
    }
    if (!e) {
        vxt_run_options ro;
        vxt_run_options_init(&ro);
        ro.outputs = outputs;
        progress where = {.request = request, .stage = VXT_STAGE_COUNT_};
        ro.progress = still_wanted;
        ro.progress_user = &where;
        inst->current = request;
        inst->failure[0] = '\0';
        t1 = now_ns();
        vxt_status st = vxt_pipeline_run(pipe, img, &ro, &res);
        t2 = now_ns();
        inst->current = NULL;
        if (st == VXT_ERR_CANCELLED) {
            /* the client cancelled, gave up (a deadline) or disconnected (gRPC tells the server; HTTP does not) */
            e = vxt_triton_error(TRITONSERVER_ERROR_CANCELLED, "voxtile: the request was cancelled");
            vxt_triton_log(TRITONSERVER_LOG_INFO, __LINE__,
                           "voxtile: instance '%s': a request was cancelled by its client after %.3f s (%s; the "
                           "last progress: %s %llu of %llu)", inst->name, (double)(t2 - t1) * 1e-9,
                           vxt_last_error(), where.stage < VXT_STAGE_COUNT_ ? vxt_stage_name(where.stage) : "none",
                           (unsigned long long)where.done, (unsigned long long)where.total);
        } else if (st != VXT_OK) {
            /* a bad input fails before the sliding window; a failing network in it */
            const int input = res.failed_stage >= 0 && res.failed_stage < (int)VXT_STAGE_SLIDING_WINDOW;
            e = vxt_triton_error(st == VXT_ERR_OUT_OF_MEMORY || st == VXT_ERR_MEMORY_LIMIT
                                     ? TRITONSERVER_ERROR_UNAVAILABLE
                                 : input || st == VXT_ERR_INVALID_ARGUMENT ? TRITONSERVER_ERROR_INVALID_ARG
                                                                           : TRITONSERVER_ERROR_INTERNAL,
                                 "voxtile: %s%s%s", vxt_last_error(), inst->failure[0] ? " (" : "",
                                 inst->failure[0] ? inst->failure : "");
        }
    }
    if (!e && (outputs & VXT_OUTPUT_LABELS))
        e = send_output(response, "LABELS", res.labels);
    if (!e && (outputs & VXT_OUTPUT_PROBABILITIES))
        e = send_output(response, "PROBABILITIES", res.probabilities);
    const uint64_t t3 = now_ns();
    TRITONSERVER_Error *se = TRITONBACKEND_ResponseSend(response, TRITONSERVER_RESPONSE_COMPLETE_FINAL, e);
    if (se) {
        vxt_triton_log(TRITONSERVER_LOG_ERROR, __LINE__, "voxtile: sending the response: %s",
                       TRITONSERVER_ErrorMessage(se));
        TRITONSERVER_ErrorDelete(se);
    }
    TRITONSERVER_Error *re = TRITONBACKEND_ModelInstanceReportStatistics(instance, request, e == NULL, t0,
                                                                         t1 ? t1 : t0, t2 ? t2 : t0, t3);
    if (re)
        TRITONSERVER_ErrorDelete(re);
    if (e)
        TRITONSERVER_ErrorDelete(e);
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(temporary);
    vxt_image_destroy(img);
    free(overlay);
    TRITONBACKEND_RequestRelease(request, TRITONSERVER_REQUEST_RELEASE_ALL);
}
