/* example_model.c - an example predictor plugin for `voxtile run` (docs/PLUGINS.md). It is a demonstration of
 * the plugin ABI, not a trained model: a 3x3x3 box mean of the input channel followed by a soft threshold,
 * giving 2 class logits (below / above the threshold). Because the box mean looks at neighbours, its tiles
 * disagree at their borders, which is what the Gaussian blending of the stitching engine is for.
 *
 * config: "threshold=T,scale=S" (defaults 0 and 1): logit1 = (mean - T) / S, logit0 = -logit1.
 *
 * Build: cc -shared -fPIC -I runtime/include example_model.c -o libvxt_example_model.so */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtile_plugin.h"

typedef struct model {
    float threshold, scale;
} model;

int vxt_plugin_abi_version(void);
void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
int vxt_plugin_predict(void *state, const vxt_batch *batch);
void vxt_plugin_destroy(void *state);

int vxt_plugin_abi_version(void)
{
    return VXT_PLUGIN_ABI_VERSION;
}

void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size)
{
    model m = {0.0f, 1.0f};
    const char *p = config ? config : "";
    while (*p) {
        char key[32];
        double v;
        int n = 0;
        if (sscanf(p, "%31[a-z]=%lf%n", key, &v, &n) != 2) {
            snprintf(error, error_size, "example_model: cannot parse config at '%s' (expected threshold=T,scale=S)", p);
            return NULL;
        }
        if (!strcmp(key, "threshold"))
            m.threshold = (float)v;
        else if (!strcmp(key, "scale") && v > 0)
            m.scale = (float)v;
        else {
            snprintf(error, error_size, "example_model: unknown or invalid setting '%s=%g'", key, v);
            return NULL;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    model *s = malloc(sizeof *s);
    if (!s) {
        snprintf(error, error_size, "example_model: out of memory");
        return NULL;
    }
    *s = m;
    snprintf(desc->name, sizeof desc->name, "example_model (3x3x3 mean, threshold %g, scale %g)", (double)m.threshold,
             (double)m.scale);
    desc->in_channels = 1;
    desc->out_channels = 2;
    desc->output_dtype = VXT_DTYPE_F32;
    desc->roi[0] = desc->roi[1] = desc->roi[2] = 0;
    return s;
}

int vxt_plugin_predict(void *state, const vxt_batch *b)
{
    const model *m = (const model *)state;
    if (!b->input || !b->output || b->out_channels != 2 || b->output_dtype != VXT_DTYPE_F32)
        return 1;
    const int64_t R0 = b->roi[0], R1 = b->roi[1], R2 = b->roi[2];
    const size_t roi = (size_t)(R0 * R1 * R2);
    for (int i = 0; i < b->count; i++) {
        const float *in = b->input + (size_t)i * (size_t)b->in_channels * roi;
        float *out = (float *)b->output + (size_t)i * 2 * roi;
        for (int64_t z = 0; z < R0; z++)
            for (int64_t y = 0; y < R1; y++)
                for (int64_t x = 0; x < R2; x++) {
                    float sum = 0.0f;
                    int n = 0;
                    for (int64_t dz = -1; dz <= 1; dz++)
                        for (int64_t dy = -1; dy <= 1; dy++)
                            for (int64_t dx = -1; dx <= 1; dx++) {
                                int64_t zz = z + dz, yy = y + dy, xx = x + dx;
                                if (zz < 0 || zz >= R0 || yy < 0 || yy >= R1 || xx < 0 || xx >= R2)
                                    continue;
                                sum += in[(size_t)((zz * R1 + yy) * R2 + xx)];
                                n++;
                            }
                    float logit = (sum / (float)n - m->threshold) / m->scale;
                    size_t v = (size_t)((z * R1 + y) * R2 + x);
                    out[v] = -logit;
                    out[roi + v] = logit;
                }
    }
    return 0;
}

void vxt_plugin_destroy(void *state)
{
    free(state);
}
