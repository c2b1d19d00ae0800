/* cmd_convert.c - `voxtile convert IN -o OUT`: an image read in any format -- a DICOM folder or file (one series,
 * chosen and checked by the DICOM flags), NIfTI, .npy -- and written by OUT's name (.nii, .nii.gz, .npy) with its
 * geometry. By default the stored values are kept and the rescale travels in scl_slope/scl_inter, as dcm2niix
 * writes DICOM; --scaling auto or float32 writes the values they mean. The library writes a temporary file and
 * renames it into place: a failure leaves OUT as it was. */
#include <math.h>
#include <string.h>

#include "cli.h"

enum { O_OUT = 1, O_SCALING, O_JSON, O_QUIET };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "output"},
    {"output", 'o', "OUT", O_OUT, "the image (.nii, .nii.gz or .npy, by its name)"},
    {"scaling", 0, "NAME", O_SCALING,
     "the values written, {scaling} (default raw: the stored values, with the rescale (RescaleSlope/Intercept) as "
     "scl_slope/scl_inter, as dcm2niix writes them; auto: the values they mean, in the narrowest type that holds "
     "them; float32: those as float32). An .npy file holds no scaling: raw values are written rescaled, float32"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON instead of the line"},
    {"quiet", 0, NULL, O_QUIET, "print nothing on success"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "convert", "convert IN -o OUT [--scaling raw|auto|float32] [--series UID|NUMBER] [DICOM flags] [--json]",
    "Reads an image -- a DICOM folder or file (one series: --series chooses among several, voxtile header lists\n"
    "them), NIfTI or .npy -- and writes it by OUT's name (.nii, .nii.gz, .npy) with its geometry (DICOM: RAS, as\n"
    "dcm2niix places it). Prints one line: the series' description, shape, spacing, orientation, what the reader\n"
    "tolerated or changed, and OUT. OUT is replaced only once it is complete; a failure leaves it as it was.",
    groups, 1};

typedef struct convert_args {
    const char *out;
    vxt_scaling scaling;
    int json, quiet;
    cli_dicom dicom;
} convert_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    convert_args *a = (convert_args *)user;
    int rc = cli_shared_flag("convert", NULL, NULL, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    switch (f->id) {
    case O_OUT: a->out = v; return 0;
    case O_JSON: a->json = 1; return 0;
    case O_QUIET: a->quiet = 1; return 0;
    default:
        if (vxt_scaling_parse(v, &a->scaling) != VXT_OK) {
            cli_error("convert", "--scaling: %s", vxt_last_error());
            return VXT_EXIT_USAGE;
        }
        return 0;
    }
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    convert_args *a = (convert_args *)args;
    (void)plan;
    a->scaling = VXT_SCALING_RAW;
    return cli_parse(&spec, argc, argv, on_flag, a, pos, npos);
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    const convert_args *a = (const convert_args *)args;
    (void)plan, (void)pos;
    if (npos != 1 || !a->out) {
        cli_error("convert", npos != 1 ? "missing the input image (a DICOM folder or file, NIfTI, .npy)"
                                       : "missing -o OUT");
        return VXT_EXIT_USAGE;
    }
    return cli_check_output("convert", "-o", a->out, "image");
}

static void print_line(const char *in, const char *out, const vxt_image *img)
{
    vxt_image_info i = {.struct_size = sizeof i};
    vxt_image_get_info(img, &i);
    char shape[96];
    printf("voxtile convert: %s", in);
    if (i.format == VXT_FORMAT_DICOM || i.description[0])
        printf(" \"%s\"", i.description);
    printf(": %s (z, y, x)%s, %.6g x %.6g x %.6g mm, %s, %s", cli_shape_text(shape, sizeof shape, i.shape),
           i.channels > 1 ? " x channels" : "", i.spacing[0], i.spacing[1], i.spacing[2], i.orientation,
           vxt_dtype_name(i.dtype));
    if (!i.scaled && isfinite(i.scl_slope) && i.scl_slope != 0 && (i.scl_slope != 1 || i.scl_inter != 0))
        printf(" (scl_slope %.9g, scl_inter %.9g)", i.scl_slope, i.scl_inter);
    if (i.notes && i.notes[0])
        printf("; %s", i.notes);
    if (i.has_padding)
        printf("; padding value %.9g", i.padding_value);
    printf(" -> %s\n", out);
}

int cmd_convert(int argc, char **argv)
{
    convert_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(&a, NULL, pos, npos)))
        return rc;
    vxt_image *img = NULL;
    const double t0 = cli_seconds();
    if ((rc = cli_read_image("convert", pos[0], a.scaling, &a.dicom, &img)))
        return rc;
    const double t1 = cli_seconds();
    if ((rc = cli_write_image("convert", img, a.out, 0)) == 0) {
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "input", pos[0]);
            cJSON_AddStringToObject(j, "output", a.out);
            cJSON_AddStringToObject(j, "scaling", vxt_scaling_name(a.scaling));
            cli_json_source(j, img);
            cli_json_image(j, img);
            vxt_image_info i = {.struct_size = sizeof i};
            vxt_image_get_info(img, &i);
            cJSON_AddBoolToObject(j, "scaled", i.scaled); /* the values written: rescaled, or stored with ... */
            if (isfinite(i.scl_slope) && isfinite(i.scl_inter)) { /* ... the rescale written beside them */
                cJSON_AddNumberToObject(j, "scl_slope", i.scl_slope);
                cJSON_AddNumberToObject(j, "scl_inter", i.scl_inter);
            }
            cJSON *s = cJSON_AddObjectToObject(j, "seconds");
            cJSON_AddNumberToObject(s, "read", t1 - t0);
            cJSON_AddNumberToObject(s, "write", cli_seconds() - t1);
            rc = cli_print_json(j);
        } else if (!a.quiet) {
            print_line(pos[0], a.out, img);
        }
    }
    vxt_image_destroy(img);
    return rc;
}

const cli_command cmd_convert_parsing = {&spec, sizeof(convert_args), parse, check};
