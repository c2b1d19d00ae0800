/* runner.c - runners: made from a specification ("identity", "bands:E1,...", "plugin:PATH") or a callback,
 * described, and asked for predictions one at a time (a mutex per runner, so that pipelines sharing a runner
 * take turns). */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

vxt_status vxt__runner_alloc(const char *spec, vxt_runner **out)
{
    vxt_runner *r = calloc(1, sizeof *r);
    if (!r)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_runner_create: out of memory");
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return vxt__fail(NULL, VXT_ERR_THREAD, "vxt_runner_create: cannot create a mutex");
    }
    r->info.struct_size = sizeof r->info;
    r->info.output_dtype = VXT_DTYPE_F32;
    vxt__strlcpy(r->spec, spec, sizeof r->spec);
    *out = r;
    return VXT_OK;
}

void vxt_runner_destroy(vxt_runner *runner)
{
    if (!runner)
        return;
    if (runner->release)
        runner->release(runner);
    pthread_mutex_destroy(&runner->lock);
    free(runner);
}

vxt_status vxt_runner_create(const char *spec, const char *config, vxt_runner **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, spec);
    if (!config)
        config = "";
    /* "kind" or "kind:argument" */
    char kind[32];
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (klen == 0 || klen >= sizeof kind) {
        char shown[80];
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: '%s' is not a runner specification "
                         "(KIND or KIND:ARGUMENT; kinds: identity, bands, plugin, onnx, torchscript)",
                         vxt__printable(spec, strlen(spec), 60, shown, sizeof shown));
    }
    memcpy(kind, spec, klen);
    kind[klen] = '\0';
    vxt_runner_kind k;
    vxt_status st = vxt_runner_kind_parse(kind, &k);
    if (st != VXT_OK || k == VXT_RUNNER_CALLBACK) {
        char shown[80], kshown[80];
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: unknown runner kind '%s' in '%s' "
                         "(expected identity, bands:E1,E2,..., plugin:PATH, onnx:PATH or torchscript:PATH)",
                         vxt__printable(kind, klen, 32, kshown, sizeof kshown),
                         vxt__printable(spec, strlen(spec), 60, shown, sizeof shown));
    }
    const char *arg = colon ? colon + 1 : "";
    vxt_runner *r = NULL;
    if ((st = vxt__runner_alloc(spec, &r)) != VXT_OK)
        return st;
    r->info.kind = k;
    switch (k) {
    case VXT_RUNNER_IDENTITY:
        st = vxt__runner_identity(r, arg, config);
        break;
    case VXT_RUNNER_BANDS:
        st = vxt__runner_bands(r, arg, config);
        break;
    case VXT_RUNNER_PLUGIN:
        st = vxt__runner_plugin(r, arg, config);
        break;
    default:
        st = vxt__runner_module(r, k, arg, config);
        break;
    }
    if (st != VXT_OK) {
        vxt_runner_destroy(r);
        return st;
    }
    *out = r;
    return VXT_OK;
}

/* What a runner description may say. */
static vxt_status check_info(const char *func, const vxt_runner_info *i)
{
    if (i->in_channels < 0 || i->out_channels < 0)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: channels %lld in, %lld out (must be >= 0)", func,
                         (long long)i->in_channels, (long long)i->out_channels);
    if (i->output_dtype != VXT_DTYPE_F32 && i->output_dtype != VXT_DTYPE_F16)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: output_dtype %s (float32 or float16)", func,
                         vxt_dtype_name(i->output_dtype));
    for (int a = 0; a < 3; a++)
        if (i->roi[a] < 0)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: roi[%d] = %lld (>= 0; 0 = any)", func, a,
                             (long long)i->roi[a]);
    if (i->preferred_batch < 0)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: preferred_batch %d (>= 0)", func, i->preferred_batch);
    return VXT_OK;
}

vxt_status vxt_runner_create_callback(const vxt_runner_info *info, vxt_predict_fn predict, void *user,
                                      vxt_runner **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, info);
    VXT_CHECK_NULL(NULL, predict);
    vxt_status st = vxt__check_struct_size(NULL, __func__, "vxt_runner_info", info, info->struct_size,
                                           sizeof(vxt_runner_info), sizeof(vxt_runner_info));
    if (st != VXT_OK || (st = check_info(__func__, info)) != VXT_OK)
        return st;
    vxt_runner *r = NULL;
    if ((st = vxt__runner_alloc(info->name[0] ? info->name : "callback", &r)) != VXT_OK)
        return st;
    r->info = *info;
    r->info.struct_size = sizeof r->info;
    r->info.kind = VXT_RUNNER_CALLBACK;
    r->info.name[sizeof r->info.name - 1] = '\0';
    if (!r->info.name[0])
        vxt__strlcpy(r->info.name, "callback", sizeof r->info.name);
    r->predict = predict;
    r->user = user;
    *out = r;
    return VXT_OK;
}

vxt_status vxt_runner_get_info(const vxt_runner *runner, vxt_runner_info *info)
{
    VXT_CHECK_NULL(NULL, runner);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_runner_info", info->struct_size, sizeof *info);
    if (st != VXT_OK)
        return st;
    vxt__copy_out_struct(info, &runner->info, info->struct_size, sizeof runner->info);
    return VXT_OK;
}

vxt_status vxt_runner_predict(vxt_runner *runner, const vxt_batch *batch)
{
    VXT_CHECK_NULL(NULL, runner);
    VXT_CHECK_NULL(NULL, batch);
    const vxt_runner_info *i = &runner->info;
    if (!batch->input || !batch->output)
        return vxt__fail(NULL, VXT_ERR_NULL, "vxt_runner_predict: runner '%s': the batch has no host %s", i->name,
                         batch->input ? "output" : "input");
    if (batch->count < 1 || batch->in_channels < 1 || batch->out_channels < 1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_predict: runner '%s': a batch of %d tiles, %lld "
                         "input and %lld output channels", i->name, batch->count, (long long)batch->in_channels,
                         (long long)batch->out_channels);
    if ((i->in_channels && batch->in_channels != i->in_channels) ||
        batch->out_channels != (i->out_channels ? i->out_channels : batch->in_channels) ||
        batch->output_dtype != i->output_dtype)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_predict: runner '%s' takes %lld channels and "
                         "gives %lld of %s; the batch has %lld in, %lld of %s out", i->name,
                         (long long)i->in_channels, (long long)i->out_channels, vxt_dtype_name(i->output_dtype),
                         (long long)batch->in_channels, (long long)batch->out_channels,
                         vxt_dtype_name(batch->output_dtype));
    for (int a = 0; a < 3; a++)
        if (i->roi[a] && batch->roi[a] != i->roi[a])
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_predict: runner '%s' needs tiles of "
                             "%lldx%lldx%lld; the batch's are %lldx%lldx%lld", i->name, (long long)i->roi[0],
                             (long long)i->roi[1], (long long)i->roi[2], (long long)batch->roi[0],
                             (long long)batch->roi[1], (long long)batch->roi[2]);
    char why[sizeof runner->error];
    pthread_mutex_lock(&runner->lock);
    int rc = runner->predict(runner->user, batch);
    vxt__strlcpy(why, runner->error, sizeof why); /* a module's own message, read under the lock */
    pthread_mutex_unlock(&runner->lock);
    if (rc != 0)
        return vxt__fail(NULL, VXT_ERR_PREDICTOR, "runner '%s' failed (%s%s%d) on batch %llu (tiles %llu..%llu, member "
                         "%d, mirroring 0x%x)", i->name, why[0] ? why : "", why[0] ? "; it returned " : "it returned ",
                         rc, (unsigned long long)batch->id, (unsigned long long)batch->first_tile,
                         (unsigned long long)(batch->first_tile + (uint64_t)batch->count - 1), batch->member,
                         batch->flip);
    return VXT_OK;
}
