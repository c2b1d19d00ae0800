/* runner_module.c - runners whose kind lives in a module of its own (runner_module.h): "onnx:PATH" and
 * "torchscript:PATH". The module is found in a directory "voxtile-runners" next to the object that holds this code
 * (libvoxtile.so, or a program linked with the static library), else in the installed one, and loaded with
 * RTLD_LOCAL; its self-description becomes the runner's. vxt_runner_available() says whether a kind's module is
 * there and what it runs on. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "runner_module.h"

#ifndef VXT_MODULE_INSTALL_DIR
#define VXT_MODULE_INSTALL_DIR "" /* set by the build: the installed modules' directory */
#endif
#ifndef VXT_MODULE_BUILD_DIR
#define VXT_MODULE_BUILD_DIR "" /* set by the build: where the build tree puts them (tests, tools run in place) */
#endif

typedef struct module {
    void *dl;
    vxt_module_describe_fn describe;
    vxt_module_create_fn create;
    vxt_module_predict_fn predict;
    vxt_module_destroy_fn destroy;
} module;

/* Only the kinds that live in modules have a file name. */
static const char *module_file(vxt_runner_kind kind)
{
    switch (kind) {
    case VXT_RUNNER_ONNX:
        return "libvoxtile_onnx.so";
    case VXT_RUNNER_TORCHSCRIPT:
        return "libvoxtile_torchscript.so";
    default:
        return NULL;
    }
}

/* The candidate paths of a module: beside the object holding this function, the installed directory, the build
 * tree's. */
static int module_path(int which, const char *file, char *path, size_t n)
{
    if (which == 0) {
        Dl_info info;
        if (!dladdr((void *)(uintptr_t)module_path, &info) || !info.dli_fname)
            return 0;
        const char *slash = strrchr(info.dli_fname, '/');
        int dir = slash ? (int)(slash - info.dli_fname) : 1;
        snprintf(path, n, "%.*s/%s/%s", dir, slash ? info.dli_fname : ".", VXT_MODULE_DIR_NAME, file);
        return 1;
    }
    const char *dir = which == 1 ? VXT_MODULE_INSTALL_DIR : which == 2 ? VXT_MODULE_BUILD_DIR : "";
    if (!dir[0])
        return 0;
    snprintf(path, n, "%s/%s", dir, file);
    return 1;
}

/* Load the module of `kind` into m; on failure a message into why (nothing loaded). */
static int load_module(vxt_runner_kind kind, module *m, char *why, size_t whyn)
{
    memset(m, 0, sizeof *m);
    const char *file = module_file(kind);
    char path[4200], dirs[2048] = "", broken[1024] = "";
    for (int w = 0; file && w < 3 && !m->dl; w++) {
        if (!module_path(w, file, path, sizeof path))
            continue;
        if (access(path, F_OK) != 0) { /* not there: say where it was looked for (each place once) */
            char dir[4200];
            snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
            if (!strstr(dirs, dir))
                vxt__strlcatf(dirs, sizeof dirs, "%s%s", dirs[0] ? ", " : "", dir);
            continue;
        }
        m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m->dl && !broken[0]) { /* there, but it cannot be loaded (its runtime is missing): the loader's reason */
            const char *e = dlerror();
            vxt__strlcpy(broken, e ? e : path, sizeof broken);
        }
    }
    if (!m->dl && broken[0]) {
        snprintf(why, whyn, "runner '%s' cannot be loaded: %s", vxt_runner_kind_name(kind), broken);
        return 0;
    }
    if (!m->dl) {
        snprintf(why, whyn, "runner '%s' is not in this build (no %s in %s; it is built when its runtime, %s, is "
                 "found: tools/install-deps.sh installs it; docs/RUNNERS.md)", vxt_runner_kind_name(kind),
                 file ? file : "module", dirs[0] ? dirs : "any module directory",
                 kind == VXT_RUNNER_TORCHSCRIPT ? "libtorch" : "OpenVINO");
        return 0;
    }
    vxt_module_abi_version_fn ver = (vxt_module_abi_version_fn)(uintptr_t)dlsym(m->dl, "vxt_module_abi_version");
    m->describe = (vxt_module_describe_fn)(uintptr_t)dlsym(m->dl, "vxt_module_describe");
    m->create = (vxt_module_create_fn)(uintptr_t)dlsym(m->dl, "vxt_module_create");
    m->predict = (vxt_module_predict_fn)(uintptr_t)dlsym(m->dl, "vxt_module_predict");
    m->destroy = (vxt_module_destroy_fn)(uintptr_t)dlsym(m->dl, "vxt_module_destroy");
    if (!ver || !m->describe || !m->create || !m->predict || !m->destroy || ver() != VXT_MODULE_ABI_VERSION) {
        snprintf(why, whyn, "runner '%s': its module %s is not one of this voxtile (module ABI %d expected)",
                 vxt_runner_kind_name(kind), file, VXT_MODULE_ABI_VERSION);
        dlclose(m->dl);
        m->dl = NULL;
        return 0;
    }
    return 1;
}

int vxt_runner_available(vxt_runner_kind kind, char *detail, size_t detail_size)
{
    char text[512] = "";
    int ok = 1;
    switch (kind) {
    case VXT_RUNNER_CALLBACK:
    case VXT_RUNNER_IDENTITY:
    case VXT_RUNNER_BANDS:
        snprintf(text, sizeof text, "built in");
        break;
    case VXT_RUNNER_PLUGIN:
        snprintf(text, sizeof text, "built in (shared libraries with the plugin ABI %d)", VXT_PLUGIN_ABI_VERSION);
        break;
    default: {
        module m;
        if (!module_file(kind)) {
            snprintf(text, sizeof text, "unknown runner kind %d", (int)kind);
            ok = 0;
        } else if ((ok = load_module(kind, &m, text, sizeof text)) != 0) {
            m.describe(text, sizeof text);
            text[sizeof text - 1] = '\0';
            dlclose(m.dl);
        }
        break;
    }
    }
    if (detail && detail_size)
        vxt__strlcpy(detail, text, detail_size);
    return ok;
}

/* ---- a module's model as a runner ----------------------------------------------------------------------- */

typedef struct module_runner {
    module m;
    void *model;
    vxt_runner *r;
} module_runner;

static int module_predict(void *user, const vxt_batch *b)
{
    module_runner *mr = (module_runner *)user;
    mr->r->error[0] = '\0';
    int rc = mr->m.predict(mr->model, b, mr->r->error, sizeof mr->r->error);
    mr->r->error[sizeof mr->r->error - 1] = '\0';
    return rc;
}

static void module_release(vxt_runner *r)
{
    module_runner *mr = (module_runner *)r->user;
    if (!mr)
        return;
    if (mr->model)
        mr->m.destroy(mr->model);
    if (mr->m.dl)
        dlclose(mr->m.dl);
    free(mr);
    r->user = NULL;
}

vxt_status vxt__runner_module(vxt_runner *r, vxt_runner_kind kind, const char *arg, const char *config)
{
    const char *kname = vxt_runner_kind_name(kind);
    if (!arg[0])
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_runner_create: '%s:' needs the model file's path "
                         "(%s:PATH)", kname, kname);
    module_runner *mr = calloc(1, sizeof *mr);
    if (!mr)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_runner_create: out of memory");
    mr->r = r;
    r->user = mr;
    r->release = module_release;
    char why[2600];
    if (!load_module(kind, &mr->m, why, sizeof why))
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "vxt_runner_create: %s", why);
    vxt_plugin_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.output_dtype = VXT_DTYPE_F32;
    char err[1024] = "";
    mr->model = mr->m.create(arg, config, &d, err, sizeof err);
    err[sizeof err - 1] = '\0';
    if (!mr->model) /* the module's message names the model and the problem */
        return vxt__fail(NULL, VXT_ERR_PREDICTOR, "vxt_runner_create: %s", err[0] ? err : "(no message)");
    if (d.out_channels < 1 || d.in_channels < 0 || (d.output_dtype != VXT_DTYPE_F32 && d.output_dtype != VXT_DTYPE_F16) ||
        d.roi[0] < 0 || d.roi[1] < 0 || d.roi[2] < 0)
        return vxt__fail(NULL, VXT_ERR_INTERNAL, "vxt_runner_create: the %s module describes '%s' with %lld input and "
                         "%lld output channels of %s", kname, arg, (long long)d.in_channels, (long long)d.out_channels,
                         vxt_dtype_name(d.output_dtype));
    d.name[sizeof d.name - 1] = '\0';
    snprintf(r->info.name, sizeof r->info.name, "%s", d.name[0] ? d.name : arg);
    r->info.in_channels = d.in_channels;
    r->info.out_channels = d.out_channels;
    r->info.output_dtype = d.output_dtype;
    memcpy(r->info.roi, d.roi, sizeof r->info.roi);
    r->predict = module_predict;
    return VXT_OK;
}
