/*
 * runner_onnx.c - the onnx runner module: ONNX files through OpenVINO's C API (runner_module.h, docs/RUNNERS.md).
 *
 * A model is an OpenVINO core of its own (no global state here), the model as read, and a small cache of models
 * compiled for one input shape each. Its input must be (N, C, D, H, W) with a static C, its output
 * (N, C', D, H, W); N and the spatial dimensions may be dynamic. A batch of tiles is fed as it is (the host
 * arrays are wrapped as tensors, not copied) to the model compiled for the batch's shape: the dynamic dimensions
 * become the batch's count and tile size, so a sliding window (one tile size, full batches and maybe one shorter
 * last batch) compiles at most twice. A model with a static N takes the tiles N at a time (a short last group is
 * padded with zeros). Inference is in float32 (INFERENCE_PRECISION_HINT f32): OpenVINO's default on CPUs with
 * bf16 units is bf16, which changes labels.
 *
 * Never prints, never exits; every failure is one line that starts with the model file's name.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openvino/c/openvino.h>

#include "runner_module.h"

#define VXT_MODULE_EXPORT __attribute__((visibility("default")))

/* Compiled models kept per runner: one per input shape, least recently used replaced. A sliding window needs
 * two (full batches, the last one); each holds its own working memory, so keep few. */
#define ONNX_CACHE 2

typedef struct compiled {
    int64_t shape[5];            /* the input shape it was compiled for; shape[0] == 0: an empty slot */
    ov_compiled_model_t *cm;
    ov_infer_request_t *req;
    int out_static;              /* its output shape is known: the batch's output is then its output tensor */
    uint64_t used;               /* last use, for replacement */
} compiled;

typedef struct onnx_model {
    ov_core_t *core;
    ov_model_t *model;
    char file[96];               /* the file's name, for messages */
    char device[64];             /* OpenVINO device ("CPU") */
    char threads[16];            /* INFERENCE_NUM_THREADS, "" for OpenVINO's default */
    int64_t in_dims[5], out_dims[5]; /* as the file declares them; -1 = dynamic */
    compiled cache[ONNX_CACHE];
    uint64_t clock;
    float *pad_in, *pad_out;     /* a static N's short last group, padded */
    size_t pad_in_n, pad_out_n;
} onnx_model;

/* ---- messages ------------------------------------------------------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void say(char *error, size_t n, const char *file, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(char *error, size_t n, const char *file, const char *fmt, ...)
{
    if (!error || !n)
        return;
    int k = snprintf(error, n, "%s: ", file);
    if (k < 0 || (size_t)k >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error + k, n - (size_t)k, fmt, ap);
    va_end(ap);
}

/* OpenVINO's message for its last failure, on one line: its exceptions carry the source file and line of the
 * check that failed, and often several lines; those are dropped, the rest joined with spaces. The text lives in
 * one process-wide string (ov_get_last_err_msg), so a failure on another thread at the same moment may show
 * that one's text; without any text, OpenVINO's name of the status. */
static void ov_say(char *error, size_t n, const char *file, const char *what, ov_status_e st)
{
    char text[640] = "";
    const char *msg = ov_get_last_err_msg();
    if (msg) {
        size_t k = 0;
        const char *p = msg;
        while (*p && k + 1 < sizeof text) {
            /* skip "Exception from src/...:123:" and "Check '...' failed at src/...:456:" locations */
            if (!strncmp(p, "Exception from ", 15) || !strncmp(p, " at src/", 8) || !strncmp(p, "at src/", 7)) {
                const char *eol = strchr(p, '\n');
                const char *colon = NULL;
                for (const char *q = p; *q && (!eol || q < eol); q++)
                    if (q[0] == ':' && isdigit((unsigned char)q[1])) {
                        colon = q + 1;
                        while (isdigit((unsigned char)*colon))
                            colon++;
                        if (*colon == ':')
                            colon++;
                        break;
                    }
                if (colon) {
                    p = colon;
                    continue;
                }
            }
            char c = *p++;
            if (c == '\n' || c == '\r' || c == '\t')
                c = ' ';
            if (c == ' ' && (k == 0 || text[k - 1] == ' '))
                continue;
            if ((unsigned char)c < 0x20 || (unsigned char)c == 0x7f)
                c = '?';
            text[k++] = c;
        }
        while (k > 0 && text[k - 1] == ' ')
            k--;
        text[k] = '\0';
        ov_free(msg);
    }
    const char *name = ov_get_error_info(st);
    say(error, n, file, "%s: OpenVINO: %s", what, text[0] ? text : (name ? name : "failed"));
}

static void shape_text(const int64_t *d, int rank, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < rank && k < n; i++) {
        int w = d[i] < 0 ? snprintf(out + k, n - k, "%s?", i ? "x" : "")
                         : snprintf(out + k, n - k, "%s%lld", i ? "x" : "", (long long)d[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* ---- the model's ports --------------------------------------------------------------------------------- */

/* The dimensions of a port as declared: rank (-1 when dynamic) and each dimension (-1 when dynamic). */
static ov_status_e port_dims(const ov_output_const_port_t *port, int *rank, int64_t dims[5], ov_element_type_e *type)
{
    ov_partial_shape_t ps;
    ov_status_e st = ov_port_get_partial_shape(port, &ps);
    if (st != OK)
        return st;
    if (ov_rank_is_dynamic(ps.rank)) {
        *rank = -1;
    } else {
        *rank = (int)ps.rank.min;
        for (int i = 0; i < *rank && i < 5; i++)
            dims[i] = ov_dimension_is_dynamic(ps.dims[i]) ? -1 : ps.dims[i].min;
    }
    ov_partial_shape_free(&ps);
    return ov_port_get_element_type(port, type);
}

static const char *element_name(ov_element_type_e t)
{
    switch (t) {
    case F32: return "float32";
    case F16: return "float16";
    case BF16: return "bfloat16";
    case F64: return "float64";
    case I8: return "int8";
    case U8: return "uint8";
    case I16: return "int16";
    case U16: return "uint16";
    case I32: return "int32";
    case I64: return "int64";
    case BOOLEAN: return "bool";
    default: return "another element type";
    }
}

/* ---- configuration ------------------------------------------------------------------------------------- */

/* "key=value,...": threads=N (0: OpenVINO's default, every core), device=NAME. */
static int parse_config(onnx_model *m, const char *config, char *error, size_t n)
{
    snprintf(m->device, sizeof m->device, "CPU");
    m->threads[0] = '\0';
    const char *p = config ? config : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char key[32] = "", value[64] = "";
        if (len == 0 || !eq || (size_t)(eq - p) >= sizeof key || len - (size_t)(eq - p) - 1 >= sizeof value) {
            say(error, n, m->file, "configuration '%.*s' is not key=value (the onnx runner takes threads=N, "
                "device=NAME)", (int)(len > 60 ? 60 : len), p);
            return 0;
        }
        memcpy(key, p, (size_t)(eq - p));
        memcpy(value, eq + 1, len - (size_t)(eq - p) - 1);
        if (!strcmp(key, "threads")) {
            char *stop = NULL;
            errno = 0;
            long t = strtol(value, &stop, 10);
            if (!value[0] || *stop || errno || t < 0 || t > 4096) {
                say(error, n, m->file, "threads=%s: expected a thread count from 0 (OpenVINO's default: every "
                    "core) to 4096", value);
                return 0;
            }
            if (t > 0)
                snprintf(m->threads, sizeof m->threads, "%ld", t);
            else
                m->threads[0] = '\0';
        } else if (!strcmp(key, "device")) {
            int ok = value[0] != '\0';
            for (const char *c = value; *c; c++)
                ok &= isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == ':' || *c == '-';
            if (!ok) {
                say(error, n, m->file, "device=%s: expected an OpenVINO device name (CPU, GPU, GPU.1, ...)", value);
                return 0;
            }
            snprintf(m->device, sizeof m->device, "%s", value);
        } else {
            say(error, n, m->file, "unknown configuration key '%s' (the onnx runner takes threads=N, device=NAME)",
                key);
            return 0;
        }
        p = end ? end + 1 : p + len;
        if (end && !*p) {
            say(error, n, m->file, "configuration '%s' ends with a comma", config);
            return 0;
        }
    }
    if (m->threads[0] && strncmp(m->device, "CPU", 3) != 0) {
        say(error, n, m->file, "threads=%s applies to the CPU device only (device=%s)", m->threads, m->device);
        return 0;
    }
    return 1;
}

static compiled *compiled_for(onnx_model *m, const int64_t shape[5], char *error, size_t n);

/* ---- module ABI ---------------------------------------------------------------------------------------- */

VXT_MODULE_EXPORT int vxt_module_abi_version(void);
VXT_MODULE_EXPORT void vxt_module_describe(char *text, size_t size);
VXT_MODULE_EXPORT void *vxt_module_create(const char *model, const char *config, vxt_plugin_desc *desc, char *error,
                                          size_t error_size);
VXT_MODULE_EXPORT int vxt_module_predict(void *model, const vxt_batch *batch, char *error, size_t error_size);
VXT_MODULE_EXPORT void vxt_module_destroy(void *model);

int vxt_module_abi_version(void)
{
    return VXT_MODULE_ABI_VERSION;
}

/* "2025.4.0" out of the build number "2025.4.0-20398-8fdad55727d-releases/2025/4" */
static void openvino_version(char *out, size_t n, char *build, size_t bn)
{
    ov_version_t v;
    snprintf(out, n, "(unknown version)");
    if (build && bn)
        build[0] = '\0';
    if (ov_get_openvino_version(&v) != OK)
        return;
    if (v.buildNumber) {
        size_t len = strcspn(v.buildNumber, "-");
        snprintf(out, n, "%.*s", (int)(len > 40 ? 40 : len), v.buildNumber);
        if (build && bn)
            snprintf(build, bn, "%s", v.buildNumber);
    }
    ov_version_free(&v);
}

void vxt_module_describe(char *text, size_t size)
{
    char ver[48], build[128];
    openvino_version(ver, sizeof ver, build, sizeof build);
    if (text && size)
        snprintf(text, size, "OpenVINO %s (build %s), CPU (device=NAME for another), float32", ver, build);
}

void vxt_module_destroy(void *model)
{
    onnx_model *m = (onnx_model *)model;
    if (!m)
        return;
    for (int i = 0; i < ONNX_CACHE; i++) {
        if (m->cache[i].req)
            ov_infer_request_free(m->cache[i].req);
        if (m->cache[i].cm)
            ov_compiled_model_free(m->cache[i].cm);
    }
    if (m->model)
        ov_model_free(m->model);
    if (m->core)
        ov_core_free(m->core);
    free(m->pad_in);
    free(m->pad_out);
    free(m);
}

/* An ONNX file is a protobuf ModelProto; exporters write its fields in order, ir_version (field 1, a varint:
 * byte 0x08) first. Anything else is not read (OpenVINO would also take its IR, TensorFlow or PaddlePaddle). */
static int looks_onnx(const char *path, char *error, size_t n, const char *file)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        say(error, n, file, "cannot open the model file '%.300s': %s", path, strerror(errno));
        return 0;
    }
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        say(error, n, file, "cannot read the model file '%.300s': %s", path, strerror(err));
        return 0;
    }
    if (got < 2 || head[0] != 0x08 || head[1] == 0 || head[1] > 20) {
        char shown[20];
        size_t k = 0;
        for (size_t i = 0; i < got && k + 1 < sizeof shown; i++)
            shown[k++] = head[i] >= 0x20 && head[i] < 0x7f ? (char)head[i] : '.';
        shown[k] = '\0';
        say(error, n, file, "not an ONNX file (an ONNX model starts with its ir_version, byte 0x08; this one starts "
            "with '%s'%s)", shown, got ? "" : ", it is empty");
        return 0;
    }
    return 1;
}

/* The device is there: the CPU plugin loads; another device is one OpenVINO lists here ("GPU" also matches
 * "GPU.0"); composite devices (AUTO, HETERO:..., MULTI:..., BATCH:...) are left to OpenVINO. */
static int device_ok(onnx_model *m, char *error, size_t n)
{
    ov_status_e st;
    const char *d = m->device;
    if (strchr(d, ':') || !strcmp(d, "AUTO") || !strcmp(d, "MULTI") || !strcmp(d, "HETERO") || !strcmp(d, "BATCH"))
        return 1;
    if (!strcmp(d, "CPU")) {
        ov_core_version_list_t versions = {0};
        if ((st = ov_core_get_versions_by_device_name(m->core, d, &versions)) != OK) {
            ov_say(error, n, m->file, "the CPU device", st);
            return 0;
        }
        ov_core_versions_free(&versions);
        return 1;
    }
    ov_available_devices_t devs = {0};
    if ((st = ov_core_get_available_devices(m->core, &devs)) != OK) {
        ov_say(error, n, m->file, "devices", st);
        return 0;
    }
    char list[256] = "";
    int found = 0;
    size_t dl = strlen(d), k = 0;
    for (size_t i = 0; i < devs.size; i++) {
        const char *name = devs.devices[i];
        found |= !strcmp(name, d) || (!strncmp(name, d, dl) && name[dl] == '.');
        int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", name);
        if (w > 0 && (size_t)w < sizeof list - k)
            k += (size_t)w;
    }
    ov_available_devices_free(&devs);
    if (!found)
        say(error, n, m->file, "device=%s: OpenVINO has no such device here (it has: %s)", d, list[0] ? list : "none");
    return found;
}

void *vxt_module_create(const char *path, const char *config, vxt_plugin_desc *desc, char *error, size_t error_size)
{
    if (error && error_size)
        error[0] = '\0';
    if (!path || !path[0] || !desc) {
        say(error, error_size, "onnx", "no model file given (onnx:PATH)");
        return NULL;
    }
    onnx_model *m = calloc(1, sizeof *m);
    if (!m) {
        say(error, error_size, base_name(path), "out of memory");
        return NULL;
    }
    snprintf(m->file, sizeof m->file, "%s", base_name(path));
    if (!parse_config(m, config, error, error_size) || !looks_onnx(path, error, error_size, m->file))
        goto fail;

    ov_status_e st;
    if ((st = ov_core_create(&m->core)) != OK) {
        ov_say(error, error_size, m->file, "cannot start OpenVINO", st);
        goto fail;
    }
    if (!device_ok(m, error, error_size))
        goto fail;
    if ((st = ov_core_read_model(m->core, path, NULL, &m->model)) != OK) {
        ov_say(error, error_size, m->file, "cannot read the model", st);
        goto fail;
    }

    /* one input (N, C, D, H, W) with a static C, one output (N, C', D, H, W) */
    size_t nin = 0, nout = 0;
    if ((st = ov_model_inputs_size(m->model, &nin)) != OK || (st = ov_model_outputs_size(m->model, &nout)) != OK) {
        ov_say(error, error_size, m->file, "model", st);
        goto fail;
    }
    if (nin != 1 || nout != 1) {
        say(error, error_size, m->file, "the model has %zu inputs and %zu outputs; the onnx runner takes one input "
            "(N, C, D, H, W) and one output (N, C, D, H, W)", nin, nout);
        goto fail;
    }
    for (int which = 0; which < 2; which++) {
        ov_output_const_port_t *port = NULL;
        st = which == 0 ? ov_model_const_input(m->model, &port) : ov_model_const_output(m->model, &port);
        int rank = 0;
        int64_t *dims = which == 0 ? m->in_dims : m->out_dims;
        ov_element_type_e type = UNDEFINED;
        if (st == OK)
            st = port_dims(port, &rank, dims, &type);
        if (port)
            ov_output_const_port_free(port);
        const char *what = which == 0 ? "input" : "output";
        if (st != OK) {
            ov_say(error, error_size, m->file, what, st);
            goto fail;
        }
        if (rank != 5) {
            char shape[96] = "of dynamic rank";
            if (rank >= 0 && rank < 5) { /* only five dimensions are kept: the shape when it fits */
                char s[80];
                shape_text(dims, rank, s, sizeof s);
                snprintf(shape, sizeof shape, "of rank %d (%s)", rank, rank ? s : "a scalar");
            } else if (rank > 5) {
                snprintf(shape, sizeof shape, "of rank %d", rank);
            }
            say(error, error_size, m->file, "its %s is %s; the onnx runner needs rank 5: (N, C, D, H, W)", what,
                shape);
            goto fail;
        }
        if (dims[1] < 1) {
            say(error, error_size, m->file, "its %s's channel count (dimension 1) is dynamic; the onnx runner needs "
                "it fixed", what);
            goto fail;
        }
        if (type != F32) {
            say(error, error_size, m->file, "its %s is %s; the onnx runner takes float32 inputs and outputs", what,
                element_name(type));
            goto fail;
        }
    }

    char ver[48];
    openvino_version(ver, sizeof ver, NULL, 0);
    memset(desc->name, 0, sizeof desc->name);
    snprintf(desc->name, sizeof desc->name, "%.60s (OpenVINO %.16s, %.24s, f32)", m->file, ver, m->device);
    desc->in_channels = m->in_dims[1];
    desc->out_channels = m->out_dims[1];
    desc->output_dtype = VXT_DTYPE_F32;
    int fixed = m->in_dims[2] > 0 && m->in_dims[3] > 0 && m->in_dims[4] > 0;
    for (int a = 0; a < 3; a++)
        desc->roi[a] = fixed ? m->in_dims[2 + a] : 0;
    if (fixed && m->in_dims[0] > 0 && !compiled_for(m, m->in_dims, error, error_size))
        goto fail; /* a model of one shape is compiled now: its problems show here, not at the first batch */
    return m;
fail:
    vxt_module_destroy(m);
    return NULL;
}

/* ---- predictions --------------------------------------------------------------------------------------- */

/* The model compiled for input shape `shape` (from the cache, or compiled now); NULL with a message. */
static compiled *compiled_for(onnx_model *m, const int64_t shape[5], char *error, size_t n)
{
    compiled *slot = NULL;
    for (int i = 0; i < ONNX_CACHE; i++)
        if (m->cache[i].shape[0] && !memcmp(m->cache[i].shape, shape, sizeof m->cache[i].shape)) {
            m->cache[i].used = ++m->clock;
            return &m->cache[i];
        }
    for (int i = 0; i < ONNX_CACHE; i++) /* an empty slot, else the least recently used */
        if (!slot || !m->cache[i].shape[0] || (slot->shape[0] && m->cache[i].used < slot->used))
            slot = &m->cache[i];
    if (slot->req)
        ov_infer_request_free(slot->req);
    if (slot->cm)
        ov_compiled_model_free(slot->cm);
    memset(slot, 0, sizeof *slot);

    char s[96];
    shape_text(shape, 5, s, sizeof s);
    ov_status_e st = OK;
    int dynamic = 0;
    for (int i = 0; i < 5; i++)
        dynamic |= m->in_dims[i] < 0;
    if (dynamic) { /* the dynamic dimensions become the batch's (the model keeps the last shape it was given) */
        ov_partial_shape_t ps;
        if ((st = ov_partial_shape_create_static(5, shape, &ps)) == OK) {
            st = ov_model_reshape_single_input(m->model, ps);
            ov_partial_shape_free(&ps);
        }
        if (st != OK) {
            char what[128];
            snprintf(what, sizeof what, "cannot take an input of %s", s);
            ov_say(error, n, m->file, what, st);
            return NULL;
        }
    }
    if (m->threads[0])
        st = ov_core_compile_model(m->core, m->model, m->device, 6, &slot->cm, ov_property_key_hint_inference_precision,
                                   "f32", ov_property_key_hint_performance_mode, "LATENCY",
                                   ov_property_key_inference_num_threads, m->threads);
    else
        st = ov_core_compile_model(m->core, m->model, m->device, 4, &slot->cm, ov_property_key_hint_inference_precision,
                                   "f32", ov_property_key_hint_performance_mode, "LATENCY");
    if (st != OK) {
        slot->cm = NULL;
        ov_say(error, n, m->file, "cannot compile it", st);
        return NULL;
    }
    if ((st = ov_compiled_model_create_infer_request(slot->cm, &slot->req)) != OK) {
        slot->req = NULL;
        ov_say(error, n, m->file, "cannot make an inference request", st);
        ov_compiled_model_free(slot->cm);
        slot->cm = NULL;
        return NULL;
    }
    /* the output's shape, when the input's fixes it: checked here, before any inference */
    ov_output_const_port_t *port = NULL;
    int rank = 0;
    int64_t out[5] = {0};
    ov_element_type_e type = UNDEFINED;
    if ((st = ov_compiled_model_output(slot->cm, &port)) == OK)
        st = port_dims(port, &rank, out, &type);
    if (port)
        ov_output_const_port_free(port);
    if (st != OK) {
        ov_say(error, n, m->file, "output", st);
        ov_infer_request_free(slot->req);
        ov_compiled_model_free(slot->cm);
        memset(slot, 0, sizeof *slot);
        return NULL;
    }
    slot->out_static = rank == 5 && out[0] >= 0 && out[1] >= 0 && out[2] >= 0 && out[3] >= 0 && out[4] >= 0;
    if (slot->out_static && (out[0] != shape[0] || out[1] != m->out_dims[1] || out[2] != shape[2] ||
                             out[3] != shape[3] || out[4] != shape[4])) {
        char o[96];
        shape_text(out, 5, o, sizeof o);
        say(error, n, m->file, "for an input of %s it gives an output of %s; a tile's must be %lldx%lldx%lldx%lldx%lld "
            "(the input's count and spatial shape)", s, o, (long long)shape[0], (long long)m->out_dims[1],
            (long long)shape[2], (long long)shape[3], (long long)shape[4]);
        ov_infer_request_free(slot->req);
        ov_compiled_model_free(slot->cm);
        memset(slot, 0, sizeof *slot);
        return NULL;
    }
    memcpy(slot->shape, shape, sizeof slot->shape);
    slot->used = ++m->clock;
    return slot;
}

/* Infer `count` tiles (the compiled model's N) from `in` into `out` (count x C' x roi floats). */
static int infer(onnx_model *m, compiled *c, const float *in, float *out, char *error, size_t n)
{
    const int64_t *shape = c->shape;
    int64_t in_dims[5], out_dims[5];
    memcpy(in_dims, shape, sizeof in_dims);
    memcpy(out_dims, shape, sizeof out_dims);
    out_dims[1] = m->out_dims[1];
    ov_shape_t in_shape = {5, in_dims}, out_shape = {5, out_dims};
    ov_tensor_t *tin = NULL, *tout = NULL;
    int ok = 0;
    /* OpenVINO only reads an input tensor: the const goes for the wrapper's sake */
    void *in_ptr = (void *)(uintptr_t)in;
    ov_status_e st = ov_tensor_create_from_host_ptr(F32, in_shape, in_ptr, &tin);
    if (st == OK)
        st = ov_infer_request_set_input_tensor(c->req, tin);
    if (st != OK) {
        ov_say(error, n, m->file, "input", st);
        goto done;
    }
    if (c->out_static) { /* OpenVINO writes into the batch's output */
        st = ov_tensor_create_from_host_ptr(F32, out_shape, out, &tout);
        if (st == OK)
            st = ov_infer_request_set_output_tensor(c->req, tout);
        if (st != OK) {
            ov_say(error, n, m->file, "output", st);
            goto done;
        }
    }
    if ((st = ov_infer_request_infer(c->req)) != OK) {
        ov_say(error, n, m->file, "inference", st);
        goto done;
    }
    if (!c->out_static) { /* an output shape known only now: check it, copy it */
        ov_shape_t got = {0, NULL};
        void *data = NULL;
        if ((st = ov_infer_request_get_output_tensor(c->req, &tout)) != OK ||
            (st = ov_tensor_get_shape(tout, &got)) != OK || (st = ov_tensor_data(tout, &data)) != OK) {
            if (got.dims)
                ov_shape_free(&got);
            ov_say(error, n, m->file, "output", st);
            goto done;
        }
        int same = got.rank == 5 && !memcmp(got.dims, out_dims, sizeof out_dims);
        if (!same) {
            char g[96], w[96], s[96];
            shape_text(got.dims, (int)(got.rank > 5 ? 5 : got.rank), g, sizeof g);
            shape_text(out_dims, 5, w, sizeof w);
            shape_text(shape, 5, s, sizeof s);
            say(error, n, m->file, "for an input of %s it gave an output of %s%s; a tile's must be %s", s, g,
                got.rank > 5 ? "x..." : "", w);
            ov_shape_free(&got);
            goto done;
        }
        ov_shape_free(&got);
        size_t count = 1;
        for (int i = 0; i < 5; i++)
            count *= (size_t)out_dims[i];
        memcpy(out, data, count * sizeof(float));
    }
    ok = 1;
done:
    if (tin)
        ov_tensor_free(tin);
    if (tout)
        ov_tensor_free(tout);
    return ok;
}

int vxt_module_predict(void *model, const vxt_batch *batch, char *error, size_t error_size)
{
    onnx_model *m = (onnx_model *)model;
    if (error && error_size)
        error[0] = '\0';
    if (!m || !batch || !batch->input || !batch->output) {
        say(error, error_size, m ? m->file : "onnx", "no batch, or a batch without host arrays");
        return 1;
    }
    if (batch->output_dtype != VXT_DTYPE_F32 || batch->in_channels != m->in_dims[1] ||
        batch->out_channels != m->out_dims[1] || batch->count < 1) {
        say(error, error_size, m->file, "a batch of %d tiles with %lld input and %lld output channels (dtype %d); the "
            "model takes %lld and gives %lld of float32", batch->count, (long long)batch->in_channels,
            (long long)batch->out_channels, (int)batch->output_dtype, (long long)m->in_dims[1],
            (long long)m->out_dims[1]);
        return 1;
    }
    for (int a = 0; a < 3; a++)
        if (m->in_dims[2 + a] >= 0 && m->in_dims[2 + a] != batch->roi[a]) {
            char d[96];
            shape_text(m->in_dims + 2, 3, d, sizeof d);
            say(error, error_size, m->file, "its input's spatial shape is %s; the tiles are %lldx%lldx%lld", d,
                (long long)batch->roi[0], (long long)batch->roi[1], (long long)batch->roi[2]);
            return 1;
        }
    size_t roi = (size_t)batch->roi[0] * (size_t)batch->roi[1] * (size_t)batch->roi[2];
    size_t in_tile = (size_t)m->in_dims[1] * roi, out_tile = (size_t)m->out_dims[1] * roi;
    /* a static N takes the tiles N at a time; else all of them at once */
    int group = m->in_dims[0] > 0 ? (int)(m->in_dims[0] < INT_MAX ? m->in_dims[0] : INT_MAX) : batch->count;
    int64_t shape[5] = {group, m->in_dims[1], batch->roi[0], batch->roi[1], batch->roi[2]};
    compiled *c = compiled_for(m, shape, error, error_size);
    if (!c)
        return 1;
    float *out = (float *)batch->output;
    for (int t = 0; t < batch->count; t += group) {
        int k = batch->count - t < group ? batch->count - t : group;
        if (k == group) {
            if (!infer(m, c, batch->input + (size_t)t * in_tile, out + (size_t)t * out_tile, error, error_size))
                return 1;
            continue;
        }
        /* a short last group: padded with zero tiles, whose outputs are dropped */
        size_t need_in = (size_t)group * in_tile, need_out = (size_t)group * out_tile;
        if (m->pad_in_n < need_in || m->pad_out_n < need_out) {
            free(m->pad_in);
            free(m->pad_out);
            m->pad_in = malloc(need_in * sizeof(float));
            m->pad_out = malloc(need_out * sizeof(float));
            m->pad_in_n = m->pad_in ? need_in : 0;
            m->pad_out_n = m->pad_out ? need_out : 0;
            if (!m->pad_in || !m->pad_out) {
                say(error, error_size, m->file, "out of memory for a padded group of %d tiles", group);
                return 1;
            }
        }
        memcpy(m->pad_in, batch->input + (size_t)t * in_tile, (size_t)k * in_tile * sizeof(float));
        memset(m->pad_in + (size_t)k * in_tile, 0, (size_t)(group - k) * in_tile * sizeof(float));
        if (!infer(m, c, m->pad_in, m->pad_out, error, error_size))
            return 1;
        memcpy(out + (size_t)t * out_tile, m->pad_out, (size_t)k * out_tile * sizeof(float));
    }
    return 0;
}
