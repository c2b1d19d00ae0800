/* cli.h - shared pieces of the voxtile command-line tool: exit codes, messages, option helpers. */
#ifndef VXT_CLI_H
#define VXT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "voxtile.h"

/* Exit codes, distinct per kind of problem (docs/CLI.md lists them). */
enum {
    VXT_EXIT_OK = 0,
    VXT_EXIT_FAILURE = 1,    /* a library call failed for another reason */
    VXT_EXIT_USAGE = 2,      /* unknown command or flag, missing or malformed argument */
    VXT_EXIT_NO_BACKEND = 3, /* no usable backend/device for what was asked */
    VXT_EXIT_INPUT = 4,      /* input file missing, unreadable or malformed */
    VXT_EXIT_OUTPUT = 5,     /* output cannot be written */
    VXT_EXIT_PLAN = 6,       /* plan missing fields or contradictory */
    VXT_EXIT_PLUGIN = 7,     /* predictor plugin cannot be loaded or failed */
    VXT_EXIT_MISMATCH = 8,   /* validation found differences */
    VXT_EXIT_CANCELLED = 9
};

/* Print "voxtile <cmd>: <message>" on stderr (one line). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "voxtile <cmd>: <what>: <vxt_last_error()>" and map the status to an exit code. */
int cli_fail_status(const char *cmd, const char *what, vxt_status st);

/* Parse integers/doubles strictly (whole string, range); return 0 on failure. */
/* The execution flags every command takes. `--backend auto|opencl|cpu` (checked, the name kept for
 * cli_context) and `--threads N` in [0, 1024]: 0, or VXT_EXIT_USAGE after a one-line message. */
int cli_backend_flag(const char *cmd, const char *value);
int cli_threads_flag(const char *cmd, const char *value, long *threads);
int cli_parse_int(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out);

/* Per-axis lists: "z,y,x", "y,x" (2D: z = zdefault) or one value for every axis. 0 on malformed input. */
int cli_parse_axes_i64(const char *s, int64_t out[3], int64_t zdefault, int *n_given);
int cli_parse_axes_f64(const char *s, double out[3], double zdefault, int *n_given);

typedef struct cli_enum {
    const char *name;
    int value;
} cli_enum;
extern const cli_enum cli_grids[], cli_pads[], cli_importances[], cli_accumulates[], cli_activations[],
    cli_label_dtypes[];
int cli_parse_enum(const char *s, const cli_enum *table, int *out);
void cli_enum_names(const cli_enum *table, char *buf, size_t n);
/* Parse an enum option, printing "flag: unknown value ... (expected one of ...)" on failure (returns 0). */
int cli_enum_option(const char *cmd, const char *flag, const char *value, const cli_enum *table, int *out);

/* A context from --backend/--device (index or name substring)/--threads; returns an exit code. */
int cli_context(const char *cmd, const char *backend, const char *device, long threads, vxt_context **out);

/* Tile-plan options (long-option codes shared by the commands that plan tiles). */
enum {
    CLI_OPT_SHAPE = 1000,
    CLI_OPT_ROI,
    CLI_OPT_GRID,
    CLI_OPT_OVERLAP,
    CLI_OPT_STEP,
    CLI_OPT_OVERLAP_VOXELS,
    CLI_OPT_PAD,
    CLI_OPT_PAD_VALUE
};
#define CLI_PLAN_LONGOPTS                                                                                            \
    {"shape", required_argument, NULL, CLI_OPT_SHAPE}, {"roi", required_argument, NULL, CLI_OPT_ROI},               \
        {"grid", required_argument, NULL, CLI_OPT_GRID}, {"overlap", required_argument, NULL, CLI_OPT_OVERLAP},     \
        {"step", required_argument, NULL, CLI_OPT_STEP},                                                             \
        {"overlap-voxels", required_argument, NULL, CLI_OPT_OVERLAP_VOXELS},                                        \
        {"pad", required_argument, NULL, CLI_OPT_PAD}, {"pad-value", required_argument, NULL, CLI_OPT_PAD_VALUE}
#define CLI_PLAN_HELP                                                                                                \
    "  --shape Z,Y,X | H,W     volume size (array axis order; H,W: a 2D image)\n"                                     \
    "  --roi Z,Y,X | H,W       tile size\n"                                                                          \
    "  --grid monai|nnunet|voxels   tile placement (default monai)\n"                                               \
    "  --overlap F[,F,F]       monai: overlap fraction in [0, 1) (default 0.25)\n"                                   \
    "  --step F[,F,F]          nnunet: step as a fraction of the ROI in (0, 1] (default 0.5)\n"                     \
    "  --overlap-voxels N[,N,N]  voxels: overlap in voxels (default 0)\n"                                           \
    "  --pad constant|replicate|reflect|none   where the volume is smaller than the ROI (default constant)\n"       \
    "  --pad-value V           constant padding value (default 0)\n"

typedef struct cli_plan_args {
    const char *shape, *roi, *grid, *overlap, *step, *overlap_voxels, *pad, *pad_value;
} cli_plan_args;
/* Store a plan option; returns 0 when `opt` is not one. */
int cli_plan_arg(cli_plan_args *a, int opt, const char *value);
/* Build the plan; *spatial_dims = 2 or 3 (as --shape was given). Returns an exit code. */
int cli_build_plan(const char *cmd, const cli_plan_args *a, vxt_plan **plan, int *spatial_dims);

/* Models (predictors.c): "identity", "bands:E1,E2,..." or "plugin:PATH". */
typedef struct cli_model {
    char name[160];
    int64_t in_channels, out_channels; /* in_channels 0 = any */
    vxt_dtype dtype;
    int64_t roi[3]; /* required tile size, zeros = any */
    vxt_predict_fn predict;
    void *state;
    void *dl;
    vxt_plugin_destroy_fn destroy;
} cli_model;
/* Returns 0 or an exit code with a message in err. */
int cli_model_open(const char *spec, const char *config, int64_t in_channels, cli_model *m, char *err, size_t errn);
void cli_model_close(cli_model *m);

/* Pictures (picture.c): three mid-slices of a (z, y, x) volume with physical proportions. Any layer may be
 * NULL: image (float32 grey levels, 1st..99th percentile), labels (drawn in colour over it, 0 transparent),
 * diff (non-zero voxels drawn red). */
typedef struct picture_layers {
    int64_t shape[3];
    double spacing[3];
    const float *image;
    const void *labels;
    int label_u16;
    const unsigned char *diff;
    const char *title;
} picture_layers;
int picture_write(const char *path, const picture_layers *p, char *err, size_t errn);
/* The same with diff projected through the volume: red where any voxel along the view's axis is set. */
int picture_write_projected(const char *path, const picture_layers *p, char *err, size_t errn);

/* `voxtile run` and `voxtile validate` share their options (cmd_run.c). */
struct run_plan;
typedef struct cli_run_args {
    const char *out, *probabilities, *picture, *model_config, *backend, *device;
    long threads;
    int json, quiet, print_plan;
    int first_arg; /* argv index of the first positional argument */
} cli_run_args;
/* Parse plan files and flags into *plan; returns 0, -1 after --help, or an exit code (message printed). */
int cli_run_options(const char *cmd, int argc, char **argv, struct run_plan *plan, cli_run_args *ra);
int cli_open_models(const char *cmd, const struct run_plan *plan, int64_t in_channels, cli_model *models);
int cli_read_input(const char *cmd, const char *path, vxt_image **img);
/* The directory of path must exist and be writable; want_ext "nifti" also checks .nii/.nii.gz. */
int cli_check_output(const char *cmd, const char *flag, const char *path, const char *want_ext);

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_info(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_stitch(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_header(int argc, char **argv);
int cmd_phantom(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_resample(int argc, char **argv);
int cmd_normalize(int argc, char **argv);

#endif
