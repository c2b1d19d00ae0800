/* cli_test_util.h - shared helpers of the end-to-end tests of the voxtile tool (tests/test_cli_*.c): run the
 * binary, capture its exit status and output, look at what it left in a temporary directory, read images. */
#ifndef VXT_CLI_TEST_UTIL_H
#define VXT_CLI_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vxt_test.h"

/* A fresh temporary directory per test (cli_setup / cli_teardown as cmocka setup and teardown). */
extern char cli_tmp[256];
int cli_setup(void **state);
int cli_teardown(void **state);

/* stdout and stderr of the last cli() call. */
extern char cli_out[1 << 17], cli_err[1 << 16];

/* The voxtile tool the tests run: $VXT_CLI_PATH when set and not empty (a relocated copy of the tests, e.g. a script
 * that starts the tool through a bundled dynamic loader: tools/device-bundle.sh), else the build's VXT_CLI_PATH. */
const char *cli_tool(void);

/* Run `voxtile <args>` (a printf format; the result is passed to the shell, with the test files it names relocated
 * by vxt_test_relocate_all, as is cli_env's assignment); returns its exit status. */
int cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same with an environment assignment before it ("VAR=value"). */
int cli_env(const char *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Assert that stderr is exactly one line and contains `needle`. */
void cli_assert_one_line_error(const char *needle);

/* Number of entries in cli_tmp other than the captured stdout/stderr (hidden files count too: a temporary file
 * left behind is a partial output). */
int cli_files(void);

/* "<cli_tmp>/<name>" in a static buffer (one of eight, reused in turn: copy it to keep it). */
const char *cli_path(const char *name);

/* Write text to a file under cli_tmp. */
void cli_write_text(const char *name, const char *text);

/* Read a NIfTI image (asserts success); raw stored values. */
vxt_image *cli_read_image(const char *path);

/* Write a phantom (voxtile phantom, --label-map) with these arguments (Z,Y,X) into cli_tmp/<ct> (and
 * cli_tmp/<labels> unless NULL). */
void cli_phantom(const char *ct, const char *labels, const char *args);

/* Read a whole .npy file (asserts success); free() the result. */
void *cli_load_npy(const char *path, vxt_npy_info *info);

/* The NIfTI header fields of an image read from a NIfTI file (asserts success). */
vxt_nifti_info cli_nifti_info(const vxt_image *img);

/* 1 when the two files hold the same bytes. */
int cli_same_file(const char *a, const char *b);

/* The object member `key` of o, asserting it exists (and, for the typed forms, its type). */
const cJSON *cli_json(const cJSON *o, const char *key);
double cli_json_number(const cJSON *o, const char *key);
const char *cli_json_string(const cJSON *o, const char *key);

/* Parse cli_out as JSON (fails the test with the text when it is not). cJSON_Delete() the result. */
cJSON *cli_out_json(void);

/* Assert two images have the same geometry (codes, quaternion, offsets, pixdim, srow: bit for bit). */
void cli_assert_same_geometry(const vxt_image *a, const vxt_image *b);

#endif
