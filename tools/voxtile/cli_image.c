/* cli_image.c - helpers of the commands that write NIfTI images (cli_image.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_image.h"

int cli_parse_xyz(const char *s, double vol[3])
{
    double v[3];
    int n = 0;
    if (!cli_parse_axes_f64(s, v, 0.0, &n) || n == 2)
        return 0;
    /* cli_parse_axes_f64 keeps the written order: v = (X, Y, Z) = (i, j, k) */
    vol[0] = v[2];
    vol[1] = v[1];
    vol[2] = v[0];
    return 1;
}

int cli_write_image(const char *cmd, const vxt_image *img, const char *path, int nifti_version)
{
    vxt_nifti_write_options wo;
    vxt_nifti_write_options_init(&wo);
    wo.nifti_version = nifti_version;
    if (vxt_image_write_file(img, path, &wo) != VXT_OK) {
        cli_error(cmd, "%s", vxt_last_error());
        return VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

static cJSON *numbers(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

void cli_json_image(cJSON *obj, const vxt_image *img)
{
    vxt_volume v;
    vxt_geometry g;
    vxt_geometry_init(&g);
    if (vxt_image_volume(img, &v) != VXT_OK || vxt_image_get_geometry(img, &g) != VXT_OK)
        return;
    double shape[3] = {(double)v.shape[2], (double)v.shape[1], (double)v.shape[0]};
    double spacing[3] = {g.spacing[2], g.spacing[1], g.spacing[0]};
    cJSON_AddItemToObject(obj, "shape", numbers(shape, 3));
    cJSON_AddItemToObject(obj, "spacing", numbers(spacing, 3));
    cJSON_AddNumberToObject(obj, "channels", (double)v.channels);
    cJSON_AddStringToObject(obj, "dtype", vxt_dtype_name(v.dtype));
    cJSON_AddStringToObject(obj, "orientation", g.orientation);
    cJSON *aff = cJSON_AddArrayToObject(obj, "affine");
    for (int r = 0; r < 4; r++)
        cJSON_AddItemToArray(aff, numbers(g.affine[r], 4));
}

void cli_json_context(cJSON *obj, const vxt_context *ctx)
{
    vxt_context_info ci = {.struct_size = sizeof ci};
    if (vxt_context_get_info(ctx, &ci) != VXT_OK)
        return;
    cJSON_AddStringToObject(obj, "backend", vxt_backend_name(ci.backend));
    cJSON_AddStringToObject(obj, "device", ci.device_name);
}

int cli_print_json(cJSON *obj)
{
    char *text = cJSON_Print(obj);
    int ok = text && printf("%s\n", text) > 0 && fflush(stdout) == 0;
    free(text);
    cJSON_Delete(obj);
    return ok ? VXT_EXIT_OK : VXT_EXIT_OUTPUT;
}

double cli_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
