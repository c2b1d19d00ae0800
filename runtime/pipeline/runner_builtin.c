/* runner_builtin.c - the built-in runners, for demonstrations and for checking a pipeline:
 *
 *   identity            output channel c = input channel c (as many channels as the input has)
 *   bands:E1,E2,...     a demonstration "intensity-class model", not a trained network: K = (number of edges
 *                       + 1) classes; class k covers intensities [E_k, E_{k+1}); its logit is minus `sharpness`
 *                       (configuration "sharpness=S", default 8) times the distance of the voxel's value to that
 *                       band (0 inside) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static int identity_predict(void *user, const vxt_batch *b)
{
    (void)user;
    size_t n = (size_t)b->count * (size_t)b->in_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    memcpy(b->output, b->input, n * sizeof(float));
    return 0;
}

vxt_status vxt__runner_identity(vxt_runner *r, const char *arg, const char *config)
{
    if (arg[0] || config[0])
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: runner 'identity' takes no argument "
                         "and no configuration (got '%s%s%s')", arg, arg[0] && config[0] ? "', '" : "", config);
    vxt__strlcpy(r->info.name, "identity", sizeof r->info.name);
    r->info.in_channels = 0;
    r->info.out_channels = 0; /* the input's */
    r->predict = identity_predict;
    return VXT_OK;
}

#define BANDS_MAX_EDGES 255 /* up to 256 classes: as many as uint8 labels hold */

typedef struct bands_model {
    int n;                        /* classes */
    float edges[BANDS_MAX_EDGES]; /* n - 1 increasing edges */
    float sharpness;
} bands_model;

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

static void bands_release(vxt_runner *r)
{
    free(r->user);
}

vxt_status vxt__runner_bands(vxt_runner *r, const char *arg, const char *config)
{
    bands_model *b = calloc(1, sizeof *b);
    if (!b)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_runner_create: out of memory");
    r->user = b;
    r->release = bands_release;
    const char *p = arg[0] ? arg : "0.5";
    int n = 0;
    while (*p) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || n >= BANDS_MAX_EDGES || (n > 0 && (float)v <= b->edges[n - 1]) ||
            (*end != ',' && *end != '\0') || (*end == ',' && end[1] == '\0'))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: runner '%s': expected increasing "
                             "band edges separated by commas (at most %d), as in bands:0.1,0.4,0.9", r->spec,
                             BANDS_MAX_EDGES);
        b->edges[n++] = (float)v;
        p = *end == ',' ? end + 1 : end;
    }
    b->n = n + 1;
    b->sharpness = 8.0f;
    if (config[0]) {
        double s = 0;
        int used = 0;
        if (sscanf(config, "sharpness=%lf%n", &s, &used) != 1 || config[used] != '\0' || !(s > 0) || !isfinite(s))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: runner '%s': configuration '%s' "
                             "(expected sharpness=S, S > 0)", r->spec, config);
        b->sharpness = (float)s;
    }
    snprintf(r->info.name, sizeof r->info.name, "bands (%d intensity classes; a demonstration, not a trained model)",
             b->n);
    r->info.in_channels = 1;
    r->info.out_channels = b->n;
    r->predict = bands_predict;
    return VXT_OK;
}
