/*
 * runner_module.h - the ABI between libvoxtile and its runner modules: the runners that need a large third-party
 * runtime (ONNX files through OpenVINO, TorchScript files through libtorch) are shared objects of their own,
 * libvoxtile_<kind>.so in a directory "voxtile-runners" (next to libvoxtile, or to the program that links it
 * statically, or the installed one), loaded with dlopen(RTLD_NOW | RTLD_LOCAL) when a runner of that kind is made.
 * So the library itself links none of them: a server that never runs an ONNX file never loads OpenVINO, and a
 * server that brings its own libtorch (Triton's PyTorch backend) does not get a second one in its global symbol
 * space. A module missing from a build is a clear "not in this build" error.
 *
 * Not installed (modules are built with the library); the plugin ABI (voxtile_plugin.h) stays the public way in.
 *
 * A module exports, with C linkage:
 *
 *   int   vxt_module_abi_version(void);            VXT_MODULE_ABI_VERSION
 *   void  vxt_module_describe(char *text, size_t size);
 *            what it runs on, one line ("OpenVINO 2025.4.0, CPU")
 *   void *vxt_module_create(const char *model, const char *config, vxt_plugin_desc *desc, char *error,
 *                           size_t error_size);
 *            load the model file `model` with the runner's configuration `config` ("" when none; the module's own
 *            "key=value,..." settings); fill desc (name, channels, output dtype, a fixed tile size or zeros); NULL
 *            with a one-line message in error on failure (that message names the model and the problem)
 *   int   vxt_module_predict(void *model, const vxt_batch *batch, char *error, size_t error_size);
 *            fill batch->output (host form) from batch->input; non-zero with a one-line message on failure
 *   void  vxt_module_destroy(void *model);
 *
 * vxt_module_predict is called from one thread at a time per model (the runner's lock).
 */
#ifndef VXT_RUNNER_MODULE_H
#define VXT_RUNNER_MODULE_H

#include <stddef.h>

#include "voxtile_plugin.h"

#define VXT_MODULE_ABI_VERSION 1

/* The directory name, beside libvoxtile (or the program), where modules are looked for. */
#define VXT_MODULE_DIR_NAME "voxtile-runners"

typedef int (*vxt_module_abi_version_fn)(void);
typedef void (*vxt_module_describe_fn)(char *text, size_t size);
typedef void *(*vxt_module_create_fn)(const char *model, const char *config, vxt_plugin_desc *desc, char *error,
                                      size_t error_size);
typedef int (*vxt_module_predict_fn)(void *model, const vxt_batch *batch, char *error, size_t error_size);
typedef void (*vxt_module_destroy_fn)(void *model);

#endif /* VXT_RUNNER_MODULE_H */
