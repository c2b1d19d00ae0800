/* runner_plugin.c - runners from shared libraries that export the plugin ABI of voxtile_plugin.h, loaded with
 * dlopen (RTLD_NOW | RTLD_LOCAL: every symbol resolved at load, none leaking into the process). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

/* The runner's predict gets r->user; a plugin's predict wants its model: the adapter carries both. */
typedef struct plugin_call {
    vxt_plugin_predict_fn predict;
    vxt_plugin_destroy_fn destroy;
    void *model;
} plugin_call;

static int plugin_call_predict(void *user, const vxt_batch *b)
{
    const plugin_call *c = (const plugin_call *)user;
    return c->predict(c->model, b);
}

static void plugin_release(vxt_runner *r)
{
    plugin_call *c = (plugin_call *)r->user;
    if (c && c->model && c->destroy)
        c->destroy(c->model);
    free(c);
    r->user = NULL;
    if (r->dl)
        dlclose(r->dl);
    r->dl = NULL;
}

vxt_status vxt__runner_plugin(vxt_runner *r, const char *arg, const char *config)
{
    if (!arg[0])
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: 'plugin:' needs the library's path "
                         "(plugin:PATH.so)");
    if (!strchr(arg, '/')) /* dlopen would search the library path for a bare name: a file is named by its path */
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: 'plugin:%s' names no path; a plugin is a "
                         "file named by its path (plugin:./%s for one in the working directory), never looked up in "
                         "the library search path", arg, arg);
    r->release = plugin_release;
    r->dl = dlopen(arg, RTLD_NOW | RTLD_LOCAL);
    if (!r->dl) {
        const char *why = dlerror();
        return vxt__fail(NULL, VXT_ERR_IO, "vxt_runner_create: cannot load plugin '%s': %s", arg,
                         why ? why : "(no reason given)");
    }
    vxt_plugin_abi_version_fn ver = (vxt_plugin_abi_version_fn)(uintptr_t)dlsym(r->dl, "vxt_plugin_abi_version");
    vxt_plugin_create_fn create = (vxt_plugin_create_fn)(uintptr_t)dlsym(r->dl, "vxt_plugin_create");
    plugin_call *call = calloc(1, sizeof *call);
    if (!call)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_runner_create: out of memory");
    r->user = call; /* freed by plugin_release */
    call->predict = (vxt_plugin_predict_fn)(uintptr_t)dlsym(r->dl, "vxt_plugin_predict");
    call->destroy = (vxt_plugin_destroy_fn)(uintptr_t)dlsym(r->dl, "vxt_plugin_destroy");
    const char *missing = !ver ? "vxt_plugin_abi_version" : !create ? "vxt_plugin_create"
                          : !call->predict ? "vxt_plugin_predict" : !call->destroy ? "vxt_plugin_destroy" : NULL;
    if (missing)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "vxt_runner_create: plugin '%s' does not export %s", arg, missing);
    if (ver() != VXT_PLUGIN_ABI_VERSION)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "vxt_runner_create: plugin '%s' uses plugin ABI %d; this voxtile "
                         "speaks %d", arg, ver(), VXT_PLUGIN_ABI_VERSION);
    vxt_plugin_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.output_dtype = VXT_DTYPE_F32;
    char perr[512] = "";
    void *model = create(config, &d, perr, sizeof perr);
    if (!model) {
        perr[sizeof perr - 1] = '\0';
        return vxt__fail(NULL, VXT_ERR_PREDICTOR, "vxt_runner_create: plugin '%s' failed to initialise: %s", arg,
                         perr[0] ? perr : "(no message)");
    }
    call->model = model;
    if (d.out_channels < 1 || d.in_channels < 0 || (d.output_dtype != VXT_DTYPE_F32 && d.output_dtype != VXT_DTYPE_F16) ||
        d.roi[0] < 0 || d.roi[1] < 0 || d.roi[2] < 0)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "vxt_runner_create: plugin '%s' describes itself with %lld input "
                         "and %lld output channels of %s, tiles %lldx%lldx%lld", arg, (long long)d.in_channels,
                         (long long)d.out_channels, vxt_dtype_name(d.output_dtype), (long long)d.roi[0],
                         (long long)d.roi[1], (long long)d.roi[2]);
    d.name[sizeof d.name - 1] = '\0';
    snprintf(r->info.name, sizeof r->info.name, "%s", d.name[0] ? d.name : arg);
    r->info.in_channels = d.in_channels;
    r->info.out_channels = d.out_channels;
    r->info.output_dtype = d.output_dtype;
    memcpy(r->info.roi, d.roi, sizeof r->info.roi);
    r->predict = plugin_call_predict;
    return VXT_OK;
}
