/* cli_image.c - inputs and outputs of the commands: images read in any format, output paths checked before any
 * work, images written by their name's format, the JSON that describes an image, and run's picture. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_read_image(const char *cmd, const char *path, vxt_scaling scaling, const cli_dicom *dicom, vxt_image **img)
{
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = scaling;
    return cli_read_image_with(cmd, path, &ro, dicom, img);
}

int cli_read_image_with(const char *cmd, const char *path, const vxt_read_options *ro, const cli_dicom *dicom,
                        vxt_image **img)
{
    vxt_read_options o = *ro;
    cli_dicom_options(dicom, &o);
    vxt_status st = vxt_image_read_path(path, &o, img);
    if (st != VXT_OK) {
        cli_error(cmd, "%s", vxt_last_error());
        return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_INPUT;
    }
    return VXT_EXIT_OK;
}

static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n > k && strcasecmp(path + n - k, suffix) == 0;
}

int cli_same_file(const char *a, const char *b)
{
    if (!strcmp(a, b))
        return 1;
    /* the same directory (resolved) and name */
    char da[4096], db[4096], ra[4096], rb[4096];
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    const char *na = sa ? sa + 1 : a, *nb = sb ? sb + 1 : b;
    if (strcmp(na, nb) != 0)
        return 0;
    snprintf(da, sizeof da, "%.*s", sa ? (int)(sa - a) + (sa == a) : 1, sa ? a : ".");
    snprintf(db, sizeof db, "%.*s", sb ? (int)(sb - b) + (sb == b) : 1, sb ? b : ".");
    return realpath(da, ra) && realpath(db, rb) && !strcmp(ra, rb);
}

int cli_check_output(const char *cmd, const char *flag, const char *path, const char *exts)
{
    const int nifti = has_suffix(path, ".nii") || has_suffix(path, ".nii.gz"), npy = has_suffix(path, ".npy");
    if (exts && !strcmp(exts, "nifti") && !nifti) {
        cli_error(cmd, "%s %s: the name must end in .nii or .nii.gz", flag, path);
        return VXT_EXIT_USAGE;
    }
    if (exts && !strcmp(exts, "image") && !nifti && !npy) {
        cli_error(cmd, "%s %s: the name must end in .nii, .nii.gz or .npy", flag, path);
        return VXT_EXIT_USAGE;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        cli_error(cmd, "%s %s: directory '%s' does not exist", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    if (!S_ISDIR(sb.st_mode)) {
        cli_error(cmd, "%s %s: '%s' is not a directory", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    if (access(dir, W_OK) != 0) {
        cli_error(cmd, "%s %s: directory '%s' is not writable", flag, path, dir);
        return VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

int cli_write_image(const char *cmd, const vxt_image *img, const char *path, int nifti_version)
{
    vxt_nifti_write_options wo;
    vxt_nifti_write_options_init(&wo);
    wo.nifti_version = nifti_version;
    vxt_status st = vxt_image_write_path(img, path, &wo);
    if (st != VXT_OK) {
        cli_error(cmd, "%s", vxt_last_error());
        return VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

static cJSON *numbers(const double *v, int n)
{
    return cJSON_CreateDoubleArray(v, n);
}

void cli_json_image(cJSON *obj, const vxt_image *img)
{
    vxt_image_info i = {.struct_size = sizeof i};
    if (vxt_image_get_info(img, &i) != VXT_OK)
        return;
    const double shape[3] = {(double)i.shape[0], (double)i.shape[1], (double)i.shape[2]};
    cJSON_AddItemToObject(obj, "shape", numbers(shape, 3));
    cJSON_AddItemToObject(obj, "spacing", numbers(i.spacing, 3));
    cJSON_AddNumberToObject(obj, "channels", (double)i.channels);
    cJSON_AddStringToObject(obj, "dtype", vxt_dtype_name(i.dtype));
    cJSON_AddStringToObject(obj, "orientation", i.orientation);
    cJSON *aff = cJSON_AddArrayToObject(obj, "affine");
    for (int r = 0; r < 4; r++)
        cJSON_AddItemToArray(aff, numbers(i.affine[r], 4));
}

void cli_json_source(cJSON *obj, const vxt_image *img)
{
    vxt_image_info i = {.struct_size = sizeof i};
    if (vxt_image_get_info(img, &i) != VXT_OK)
        return;
    cJSON_AddStringToObject(obj, "format", vxt_format_name(i.format));
    cJSON_AddStringToObject(obj, "description", i.description);
    cJSON_AddStringToObject(obj, "notes", i.notes ? i.notes : "");
    if (i.has_padding)
        cJSON_AddNumberToObject(obj, "padding_value", i.padding_value);
    else
        cJSON_AddNullToObject(obj, "padding_value");
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
    cJSON_free(text);
    cJSON_Delete(obj);
    return ok ? VXT_EXIT_OK : VXT_EXIT_OUTPUT;
}

const char *cli_shape_text(char *buf, size_t n, const int64_t shape[3])
{
    snprintf(buf, n, "%lld x %lld x %lld", (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    return buf;
}

int cli_parse_zyx(const char *s, double out[3], int *n_given)
{
    double v[3];
    int n = 0;
    const char *p = s;
    if (!s || !*s)
        return 0;
    for (;;) {
        char *end = NULL;
        if (n == 3)
            return 0;
        errno = 0;
        v[n] = strtod(p, &end);
        if (end == p || errno || v[n] != v[n] || v[n] > 1e300 || v[n] < -1e300)
            return 0;
        n++;
        if (*end == '\0')
            break;
        if (*end != ',' || !end[1])
            return 0;
        p = end + 1;
    }
    if (n == 2)
        return 0; /* Z,Y,X or one value for every axis */
    for (int a = 0; a < 3; a++)
        out[a] = n == 1 ? v[0] : v[a];
    if (n_given)
        *n_given = n;
    return 1;
}

double cli_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cli_picture_labels(const char *cmd, vxt_context *ctx, const vxt_image *img, const vxt_image *labels,
                       const char *path, const char *title, vxt_output_set *set)
{
    /* Shown in RAS voxel order (exact: axes permuted and flipped), so that the three views are axial, coronal and
     * sagittal in the same display orientation whatever the scan's own (a conformed LIA T1 as a RAS one); an image
     * whose orientation is undetermined is shown as stored. */
    vxt_image *ras = NULL, *ras_labels = NULL;
    if (vxt_image_reorient(img, "RAS", &ras) == VXT_OK && vxt_image_reorient(labels, "RAS", &ras_labels) == VXT_OK) {
        img = ras;
        labels = ras_labels;
    }
    vxt_volume raw, lv;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_volume(img, &raw);
    vxt_image_volume(labels, &lv);
    vxt_image_get_info(img, &info);
    const size_t vox = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
    float *grey = malloc(vox * sizeof(float));
    vxt_volume ch0 = raw, gv = {grey, VXT_DTYPE_F32, 1, {raw.shape[0], raw.shape[1], raw.shape[2]}};
    ch0.channels = 1;
    if (!grey) {
        cli_error(cmd, "--picture: out of memory");
        return VXT_EXIT_INTERNAL;
    }
    vxt_status st = vxt_rescale(ctx, &ch0, &gv, 1.0, 0.0);
    int rc = VXT_EXIT_OK;
    if (st != VXT_OK) {
        rc = cli_fail(cmd, "--picture", st);
    } else {
        char err[512];
        picture_layers pl = {{raw.shape[0], raw.shape[1], raw.shape[2]},
                             {info.spacing[0], info.spacing[1], info.spacing[2]},
                             grey, lv.data, lv.dtype == VXT_DTYPE_U16, NULL, title};
        if (picture_write(path, &pl, set, err, sizeof err)) {
            cli_error(cmd, "--picture: %s", err);
            rc = VXT_EXIT_OUTPUT;
        }
    }
    free(grey);
    vxt_image_destroy(ras);
    vxt_image_destroy(ras_labels);
    return rc;
}
