/* runner.h - the runner handle shared by the runner sources:
 *   runner.c          creation from a specification, description, serialised predictions, callbacks
 *   runner_builtin.c  the built-in demonstration runners: identity, bands
 *   runner_plugin.c   shared libraries with the plugin ABI (voxtile_plugin.h)
 *   runner_module.c   the kinds that live in modules of their own: onnx, torchscript (runner_module.h)
 * Not installed. */
#ifndef VXT_RUNNER_H
#define VXT_RUNNER_H

#include <pthread.h>

#include "common.h"

struct vxt_runner {
    vxt_runner_info info;
    char spec[256];          /* as given, for messages (truncated) */
    vxt_predict_fn predict;  /* host form */
    void *user;              /* what predict gets: a built-in's state, a plugin's adapter, a callback's user */
    void (*release)(struct vxt_runner *r); /* kind-specific cleanup of user and dl (NULL: nothing) */
    void *dl;                /* plugins: the library */
    char error[512];         /* modules: the message of their last failed prediction ("" when none) */
    pthread_mutex_t lock;    /* one prediction at a time */
};

/* A runner with its lock initialised and everything else zero (info.struct_size set). */
vxt_status vxt__runner_alloc(const char *spec, vxt_runner **out);

/* Kinds: fill r (info, predict, user, release) from the specification's argument (after "kind:"; ""
 * when there is none) and the configuration; messages name `spec`. */
vxt_status vxt__runner_identity(vxt_runner *r, const char *arg, const char *config);
vxt_status vxt__runner_bands(vxt_runner *r, const char *arg, const char *config);
vxt_status vxt__runner_plugin(vxt_runner *r, const char *arg, const char *config);
vxt_status vxt__runner_module(vxt_runner *r, vxt_runner_kind kind, const char *arg, const char *config);

#endif /* VXT_RUNNER_H */
