/* broken_model.c - predictor plugins that fail in one way each, for the tests of `voxtile run` and
 * `voxtile validate` (test_cli_run.c). Built several times with one of these defined:
 *
 *   BROKEN_NO_PREDICT    does not export vxt_plugin_predict
 *   BROKEN_WRONG_ABI     reports plugin ABI 99
 *   BROKEN_INIT_FAILS    vxt_plugin_create fails with a message
 *   BROKEN_PREDICT_FAILS vxt_plugin_predict returns 5 on its third batch
 *   BROKEN_NAN_OUTPUT    writes a NaN into the second tile's output
 *   BROKEN_BAD_DESC      describes itself with 0 output channels
 *   BROKEN_SIGINT        raises SIGINT during its first batch (as Ctrl-C would), then works on
 *   BROKEN_SEGV          dies of SIGSEGV in its second batch (a crashing plugin)
 *
 * Otherwise it is a working two-class model: logit1 = input - 0.5, logit0 = -logit1. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtile_plugin.h"

int vxt_plugin_abi_version(void);
void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
int vxt_plugin_predict(void *state, const vxt_batch *batch);
void vxt_plugin_destroy(void *state);

typedef struct model {
    int batches;
} model;

int vxt_plugin_abi_version(void)
{
#ifdef BROKEN_WRONG_ABI
    return 99;
#else
    return VXT_PLUGIN_ABI_VERSION;
#endif
}

void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size)
{
    (void)config;
#ifdef BROKEN_INIT_FAILS
    snprintf(error, error_size, "broken_model: cannot open the weights file 'missing.onnx'");
    (void)desc;
    return NULL;
#else
    model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(error, error_size, "broken_model: out of memory");
        return NULL;
    }
    snprintf(desc->name, sizeof desc->name, "broken_model");
    desc->in_channels = 1;
#ifdef BROKEN_BAD_DESC
    desc->out_channels = 0;
#else
    desc->out_channels = 2;
#endif
    desc->output_dtype = VXT_DTYPE_F32;
    return m;
#endif
}

#ifndef BROKEN_NO_PREDICT
int vxt_plugin_predict(void *state, const vxt_batch *b)
{
    model *m = (model *)state;
    m->batches++;
#ifdef BROKEN_SIGINT
    if (m->batches == 1)
        raise(SIGINT);
#endif
#ifdef BROKEN_PREDICT_FAILS
    if (m->batches == 3)
        return 5;
#endif
#ifdef BROKEN_SEGV
    if (m->batches == 2) /* what a bad pointer ends in (raised: the sanitizer builds would stop at the store first) */
        raise(SIGSEGV);
#endif
    size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (int i = 0; i < b->count; i++) {
        const float *in = b->input + (size_t)i * (size_t)b->in_channels * roi;
        float *out = (float *)b->output + (size_t)i * 2 * roi;
        for (size_t v = 0; v < roi; v++) {
            out[roi + v] = in[v] - 0.5f;
            out[v] = 0.5f - in[v];
        }
#ifdef BROKEN_NAN_OUTPUT
        if (b->first_tile + (uint64_t)i == 1)
            out[roi + roi / 2] = NAN;
#endif
    }
    return 0;
}
#endif

void vxt_plugin_destroy(void *state)
{
    free(state);
}
