/* cli_image.h - helpers of the commands that write NIfTI images (resample, normalize, phantom): per-axis
 * arguments in NIfTI order, writing with the exit codes of cli.h, and the JSON that describes an image. */
#ifndef VXT_CLI_IMAGE_H
#define VXT_CLI_IMAGE_H

#include <cjson/cJSON.h>

#include "cli.h"

/* "X,Y,Z" in NIfTI order (i, j, k) or one value for all three, into volume order (k, j, i) = (z, y, x), the
 * order of every per-axis array of the library. 0 on malformed input (two values are refused: they would be
 * ambiguous between "X,Y" and the library's "y,x"). */
int cli_parse_xyz(const char *s, double vol[3]);

/* Write img to path (.nii or .nii.gz; a temporary file renamed into place by the library) as NIfTI-1 or -2
 * (nifti_version 1 or 2; 0: the image's own, see vxt_image_info.nifti_version). Returns 0, or
 * VXT_EXIT_OUTPUT after printing "voxtile <cmd>: <the library's message>". */
int cli_write_image(const char *cmd, const vxt_image *img, const char *path, int nifti_version);

/* Add "shape" and "spacing" (NIfTI order: X, Y, Z), "channels", "dtype", "orientation" and "affine" (the
 * affine in use, 4 rows) of img to obj. */
void cli_json_image(cJSON *obj, const vxt_image *img);

/* Add the backend and device of ctx to obj. */
void cli_json_context(cJSON *obj, const vxt_context *ctx);

/* Print obj on stdout (formatted) and delete it. Returns 0 or VXT_EXIT_OUTPUT. */
int cli_print_json(cJSON *obj);

/* Monotonic seconds. */
double cli_seconds(void);

#endif
