/* predictors.c - the models `voxtile run` can use: built-in demonstration predictors and plugins loaded with
 * dlopen through the ABI in voxtile.h ("predictor plugins").
 *
 *   identity            output channel c = input channel c (C = input channels)
 *   bands:E1,E2,...     a demonstration "intensity-class model", not a trained network: K = (number of edges
 *                       + 1) classes; class k covers normalized intensities [E_k, E_{k+1}); its logit is minus
 *                       `sharpness` times the distance of the voxel's value to that band (0 inside)
 *   plugin:PATH         a shared library exporting vxt_plugin_{abi_version,create,predict,destroy}
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct bands_model {
    int n;           /* classes */
    float edges[63]; /* n - 1 edges */
    float sharpness;
} bands_model;

static int identity_predict(void *user, const vxt_batch *b)
{
    (void)user;
    size_t n = (size_t)b->count * (size_t)b->in_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    if (b->output_dtype == VXT_DTYPE_F32)
        memcpy(b->output, b->input, n * sizeof(float));
    else
        return 1;
    return 0;
}

static int bands_predict(void *user, const vxt_batch *b)
{
    const bands_model *m = (const bands_model *)user;
    size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (int i = 0; i < b->count; i++) {
        const float *in = b->input + (size_t)i * (size_t)b->in_channels * roi;
        float *out = (float *)b->output + (size_t)i * (size_t)m->n * roi;
        for (int k = 0; k < m->n; k++) {
            float lo = k == 0 ? -INFINITY : m->edges[k - 1], hi = k == m->n - 1 ? INFINITY : m->edges[k];
            float *o = out + (size_t)k * roi;
            for (size_t v = 0; v < roi; v++) {
                float x = in[v];
                float d = x < lo ? lo - x : (x > hi ? x - hi : 0.0f);
                o[v] = -m->sharpness * d;
            }
        }
    }
    return 0;
}

void cli_model_close(cli_model *m)
{
    if (!m)
        return;
    if (m->destroy && m->state)
        m->destroy(m->state);
    else if (!m->dl)
        free(m->state);
    if (m->dl)
        dlclose(m->dl);
    memset(m, 0, sizeof *m);
}

int cli_model_open(const char *spec, const char *config, int64_t in_channels, cli_model *m, char *err, size_t errn)
{
    memset(m, 0, sizeof *m);
    m->dtype = VXT_DTYPE_F32;
    if (!strcmp(spec, "identity")) {
        snprintf(m->name, sizeof m->name, "identity");
        m->in_channels = in_channels;
        m->out_channels = in_channels;
        m->predict = identity_predict;
        return 0;
    }
    if (!strncmp(spec, "bands:", 6) || !strcmp(spec, "bands")) {
        bands_model *b = calloc(1, sizeof *b);
        if (!b) {
            snprintf(err, errn, "out of memory");
            return VXT_EXIT_FAILURE;
        }
        const char *p = spec[5] == ':' ? spec + 6 : "0.5";
        int n = 0;
        while (*p) {
            char *end = NULL;
            double v = strtod(p, &end);
            if (end == p || n >= 63 || (n > 0 && v <= b->edges[n - 1])) {
                snprintf(err, errn, "model 'bands:%s': expected increasing band edges separated by commas (at most 63)",
                         spec + 6);
                free(b);
                return VXT_EXIT_USAGE;
            }
            b->edges[n++] = (float)v;
            p = *end == ',' ? end + 1 : end;
        }
        b->n = n + 1;
        b->sharpness = 8.0f;
        if (config && *config) {
            double s = 0;
            if (sscanf(config, "sharpness=%lf", &s) != 1 || !(s > 0)) {
                snprintf(err, errn, "model 'bands': config '%s' (expected sharpness=S, S > 0)", config);
                free(b);
                return VXT_EXIT_USAGE;
            }
            b->sharpness = (float)s;
        }
        snprintf(m->name, sizeof m->name, "bands (%d intensity classes; a demonstration, not a trained model)", b->n);
        m->in_channels = 1;
        m->out_channels = b->n;
        m->state = b;
        m->predict = bands_predict;
        return 0;
    }
    if (!strncmp(spec, "plugin:", 7)) {
        const char *path = spec + 7;
        m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m->dl) {
            snprintf(err, errn, "cannot load plugin '%s': %s", path, dlerror());
            return VXT_EXIT_PLUGIN;
        }
        vxt_plugin_abi_version_fn ver = (vxt_plugin_abi_version_fn)(uintptr_t)dlsym(m->dl, "vxt_plugin_abi_version");
        vxt_plugin_create_fn create = (vxt_plugin_create_fn)(uintptr_t)dlsym(m->dl, "vxt_plugin_create");
        m->predict = (vxt_predict_fn)(uintptr_t)dlsym(m->dl, "vxt_plugin_predict");
        m->destroy = (vxt_plugin_destroy_fn)(uintptr_t)dlsym(m->dl, "vxt_plugin_destroy");
        const char *missing = !ver ? "vxt_plugin_abi_version" : !create ? "vxt_plugin_create"
                              : !m->predict ? "vxt_plugin_predict" : !m->destroy ? "vxt_plugin_destroy" : NULL;
        if (missing) {
            snprintf(err, errn, "plugin '%s' does not export %s", path, missing);
            cli_model_close(m);
            return VXT_EXIT_PLUGIN;
        }
        if (ver() != VXT_PLUGIN_ABI_VERSION) {
            snprintf(err, errn, "plugin '%s' uses plugin ABI %d; this voxtile speaks %d", path, ver(),
                     VXT_PLUGIN_ABI_VERSION);
            cli_model_close(m);
            return VXT_EXIT_PLUGIN;
        }
        vxt_plugin_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.output_dtype = VXT_DTYPE_F32;
        char perr[512] = "";
        m->state = create(config ? config : "", &d, perr, sizeof perr);
        if (!m->state) {
            snprintf(err, errn, "plugin '%s' failed to initialise: %s", path, perr[0] ? perr : "(no message)");
            cli_model_close(m);
            return VXT_EXIT_PLUGIN;
        }
        if (d.out_channels < 1 || (d.output_dtype != VXT_DTYPE_F32 && d.output_dtype != VXT_DTYPE_F16)) {
            snprintf(err, errn, "plugin '%s' describes itself with %lld output channels of %s", path,
                     (long long)d.out_channels, vxt_dtype_name(d.output_dtype));
            cli_model_close(m);
            return VXT_EXIT_PLUGIN;
        }
        d.name[sizeof d.name - 1] = '\0';
        snprintf(m->name, sizeof m->name, "%s", d.name[0] ? d.name : path);
        m->in_channels = d.in_channels;
        m->out_channels = d.out_channels;
        m->dtype = d.output_dtype;
        memcpy(m->roi, d.roi, sizeof m->roi);
        return 0;
    }
    snprintf(err, errn, "unknown model '%s' (expected identity, bands:E1,E2,... or plugin:PATH)", spec);
    return VXT_EXIT_USAGE;
}
