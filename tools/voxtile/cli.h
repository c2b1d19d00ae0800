/* cli.h - what the commands of the voxtile tool share (docs/CLI.md): exit statuses, messages, the one option
 * parser with its flag tables, the shared flag groups (execution, plan), images and reports.
 *
 *   cli_args.c    the option parser and the help text, from flag tables
 *   cli_exec.c    --backend, --device, --threads: the context
 *   cli_plan.c    --plan, --nnunet, --configuration and every plan field's flag: the plan
 *   cli_dicom.c   --series, --keep-irregular, --drop-duplicates, --tilt: how a DICOM input is read
 *   cli_image.c   reading inputs, writing outputs, output checks, JSON of images
 *   cli_memory.c  --max-memory sizes, what the machine can give (MemAvailable, cgroups), resident memory
 *   cli_exit.h    the exit-status table
 *   main.c        the commands, messages and exit statuses
 */
#ifndef VXT_CLI_H
#define VXT_CLI_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "voxtile.h"

#include "cli_exit.h"

/* A size in bytes: "8G", "512M", "1.5GiB", "1000000"; "none" is 0 (no ceiling). 0 when malformed. */
int cli_parse_size(const char *s, uint64_t *out);
/* "1.4 GiB", "312 MiB". */
const char *cli_size_text(char *buf, size_t n, uint64_t bytes);
/* What this machine can give now: MemAvailable, or a cgroup's limit less its usage where lower (root: "" for
 * this system; a folder standing for "/" in tests). 0 when neither can be read; else *source names which. */
int cli_memory_available(const char *root, uint64_t *bytes, char *source, size_t n);
/* This process's resident memory now, in bytes (0 when /proc is not there). */
uint64_t cli_resident_bytes(void);

/* "voxtile <cmd>: <message>" on stderr, one line. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "voxtile <cmd>: <what>: <the library's message>" and the exit status for `st` (cli_exit_of). */
int cli_fail(const char *cmd, const char *what, vxt_status st);

/* cli_fail for reading an input (4) or writing an output (5), except out of memory (10), internal (1) or
 * cancelled (9). */
int cli_input_fail(const char *cmd, const char *what, vxt_status st);
int cli_output_fail(const char *cmd, const char *what, vxt_status st);

/* cli_fail for vxt_pipeline_create: a model that cannot be loaded or initialised exits VXT_EXIT_MODEL. */
int cli_model_fail(const char *cmd, const char *what, vxt_status st);

/* cli_fail for vxt_pipeline_run, by the stage that failed (vxt_run_result.failed_stage): the input's voxels that
 * orient or rescale cannot take are a bad input (4), a cancellation 9. */
int cli_run_fail(const char *cmd, const char *what, vxt_status st, int failed_stage);

/* SIGINT and SIGTERM set a flag that cli_interrupted() reports (a second signal ends the process). */
void cli_catch_interrupts(void);
int cli_interrupted(void);
/* Before a run that loads plugins ("plugin:PATH", comma-separated when several): a crash (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT) is reported on stderr in one line naming them, then the process dies of the signal. */
void cli_report_crashes(const char *cmd, const char *plugins);
/* The plan's plugin members ("plugin:PATH", ", "-separated) into buf; empty when none. */
void cli_plan_plugins(const vxt_plan *plan, char *buf, size_t n);

/* The exit status of a failed library call (one table for every command). */
int cli_exit_of(vxt_status st);

/* Strict numbers: the whole string, in range. 0 on failure. */
int cli_parse_int(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out);
/* 1 to `most` comma-separated finite numbers ("-1000,400"): how many, into out; 0 when malformed or more. */
int cli_parse_numbers(const char *s, double *out, int most);

/* Monotonic seconds. */
double cli_seconds(void);

/* ---- flags (cli_args.c) -------------------------------------------------------------------------------- */

/* One flag: --name (and -s when short_name), with a value when `value` names it (as the help shows it). `id`
 * says what it is: a command's own (1 .. 99) or a shared group's (CLI_EXEC_*, CLI_PLAN_*, CLI_DICOM_*). A table
 * ends with a NULL name; a row with a NULL name and a `help` starts a section of the help. */
typedef struct cli_flag {
    const char *name;
    char short_name;
    const char *value;
    int id;
    const char *help;
} cli_flag;

/* A command's flags: its own table and the shared groups it takes, the usage line(s) and a description. */
typedef struct cli_command_spec {
    const char *name;
    const char *usage;       /* after "usage: voxtile " */
    const char *description; /* paragraphs for --help */
    const cli_flag *const *groups; /* NULL-terminated */
    int max_positional;
} cli_command_spec;

/* A flag seen on the command line: handled by whoever owns its id. Return 0, or an exit status (message
 * printed). */
typedef int (*cli_flag_fn)(void *user, const cli_flag *flag, const char *value);

/* Parse argv[1..]: each flag (--name VALUE, --name=VALUE, -s VALUE, -sVALUE) goes to fn; other arguments are
 * positional (at most spec->max_positional, into positional[]). --help prints the help and returns -1. Returns
 * 0 or an exit status (message printed). */
int cli_parse(const cli_command_spec *spec, int argc, char **argv, cli_flag_fn fn, void *user,
              const char **positional, int *npositional);

/* Print the help of a command (usage, description, every flag by section). In a flag's help, "{NAME}" becomes the
 * names of the library's enum NAME ("{grid}": "monai, nnunet, voxels") and "{default}" the plan's default for the
 * field (cli_plan_default): one vocabulary and one set of defaults, both the library's. */
void cli_help(const cli_command_spec *spec);

/* ---- execution: --backend, --device, --threads (cli_exec.c) ---------------------------------------------- */

enum { CLI_EXEC_BACKEND = 100, CLI_EXEC_DEVICE, CLI_EXEC_THREADS, CLI_EXEC_MAX_BUFFER };
extern const cli_flag cli_exec_flags[];

typedef struct cli_exec {
    vxt_backend backend;
    const char *device; /* OpenCL device index or name substring; NULL = any */
    long threads;       /* 0 = all cores */
    uint64_t max_buffer; /* --max-device-buffer; 0 = the device's limit */
} cli_exec;

void cli_exec_init(cli_exec *e);
/* Handle one of cli_exec_flags; -2 when the id is not one. */
int cli_exec_flag(const char *cmd, cli_exec *e, const cli_flag *f, const char *value);
/* The context these flags ask for; an exit status (message printed). */
int cli_context(const char *cmd, const cli_exec *e, vxt_context **out);
/* The context options these flags ask for (--device: a global index, or else a part of the name). */
void cli_context_options(const cli_exec *e, vxt_context_options *o);

/* ---- DICOM input: --series, --keep-irregular, --drop-duplicates, --tilt (cli_dicom.c) ---------------------- */

enum { CLI_DICOM_SERIES = 300, CLI_DICOM_KEEP_IRREGULAR, CLI_DICOM_DROP_DUPLICATES, CLI_DICOM_TILT };
/* The flags every command that reads an image takes (section "DICOM input"); other formats ignore them. */
extern const cli_flag cli_dicom_flags[];

/* What they ask for. All zeros (the commands' arguments are zeroed) is the default: the only series there is, and
 * gaps, duplicate slices and gantry tilt refused. */
typedef struct cli_dicom {
    const char *series; /* --series: a SeriesInstanceUID or a number of voxtile header's list; NULL: the only one */
    unsigned flags;     /* VXT_DICOM_* */
    int threads;        /* files decoded at once (vxt_read_options.threads): the command's --threads, 0 = all cores */
} cli_dicom;

/* Handle one of cli_dicom_flags; -2 when the id is not one. */
int cli_dicom_flag(const char *cmd, cli_dicom *d, const cli_flag *f, const char *value);
/* Set ro's dicom_series and dicom_flags from d (NULL: the defaults). */
void cli_dicom_options(const cli_dicom *d, vxt_read_options *ro);

/* ---- plans: sources and every plan field's flag (cli_plan.c) ------------------------------------------------- */

enum { CLI_PLAN_FIRST = 200, CLI_PLAN_FILE = 200, CLI_PLAN_NNUNET, CLI_PLAN_CONFIGURATION, CLI_PLAN_PRINT,
       CLI_PLAN_MODEL_CONFIG, CLI_PLAN_MEMBER, CLI_PLAN_ALLOW_PLUGIN, CLI_PLAN_FIELD = 220, CLI_PLAN_LAST = 299 };
/* Every plan flag (sources, --print-plan, and one flag per plan field: docs/PLAN.md). */
extern const cli_flag cli_plan_flags[];
/* The plan's tiling and stitching flags only (stitch: no model, no preprocessing), and its tiling flags (tiles). */
extern const cli_flag cli_stitch_flags[];
extern const cli_flag cli_tiling_flags[];
/* The plan's normalization flags only (normalize). */
extern const cli_flag cli_norm_flags[];

typedef struct cli_plan_args {
    const char *files[8];
    int nfiles;
    const char *nnunet_dir, *configuration, *model_config;
    int configuration_given;
    const char *members[16];
    int nmembers;
    const char *allowed[8]; /* --allow-plugin: plugin libraries a plan file may name */
    int nallowed;
    const char *field[64]; /* the last value of each plan field flag, by its index in the field table */
    int print_plan;
} cli_plan_args;

void cli_plan_args_init(cli_plan_args *a);
/* Handle one plan flag; -2 when the id is not one. */
int cli_plan_flag(const char *cmd, cli_plan_args *a, const cli_flag *f, const char *value);
/* A flag of the shared groups: execution (when e), DICOM input (when d) or plan (when p); -2 when it is none of
 * theirs. */
int cli_shared_flag(const char *cmd, cli_exec *e, cli_plan_args *p, cli_dicom *d, const cli_flag *f,
                    const char *value);
/* A command's start: the shared groups' defaults (e, p: NULL when the command has no such group), cli_parse, then
 * (p not NULL) cli_plan_ready. 0: go on; -1: done (--help or --print-plan printed: exit 0); else an exit status
 * (message printed). */
int cli_start(const cli_command_spec *spec, int argc, char **argv, cli_flag_fn fn, void *user, const char **positional,
              int *npositional, cli_exec *e, cli_plan_args *p, int need_model, vxt_plan **plan);
/* The plan: defaults, then the nnU-Net folder, the plan files in order, then the flags (in the order of the plan's
 * fields: a mode before its parameters), checked (with `need_model`: vxt_plan_check). An exit status. */
int cli_plan_build(const char *cmd, const cli_plan_args *a, int need_model, vxt_plan **out);
/* cli_plan_build(), and with --print-plan: print the plan (unchecked) and return -1 (the command is done). */
int cli_plan_ready(const char *cmd, const cli_plan_args *a, int need_model, vxt_plan **out);
/* 1 when the plan field flag --`flag` was given. */
int cli_plan_given(const cli_plan_args *a, const char *flag);
/* The plan as a cJSON tree (NULL when out of memory). */
cJSON *cli_plan_json(const vxt_plan *plan);
/* Print the plan as JSON on stdout. An exit status. */
int cli_plan_print(const char *cmd, const vxt_plan *plan);
/* The default of the plan field behind a plan flag, as its JSON text ("0.5", "\"monai\""), into buf; "" when the
 * flag has none. */
void cli_plan_default(const cli_flag *flag, char *buf, size_t n);

/* ---- images and outputs (cli_image.c) ------------------------------------------------------------------- */

/* Read an image in any format (vxt_image_read_path: a file, or a DICOM folder), the values as `scaling` says, a
 * DICOM input as the DICOM flags `dicom` say (NULL: the defaults). An exit status (message printed): 4, or 10 out
 * of memory. */
int cli_read_image(const char *cmd, const char *path, vxt_scaling scaling, const cli_dicom *dicom, vxt_image **img);
/* The same with any read options (their dicom_series and dicom_flags replaced by those of `dicom`). */
int cli_read_image_with(const char *cmd, const char *path, const vxt_read_options *ro, const cli_dicom *dicom,
                        vxt_image **img);
/* The directory of path must exist and be writable; `exts` ("nifti", "image" (NIfTI or .npy), NULL: any) checks
 * the name. Checked before any work. An exit status. */
int cli_check_output(const char *cmd, const char *flag, const char *path, const char *exts);
/* 1 when two output paths name the same file (the same resolved directory and name). */
int cli_same_file(const char *a, const char *b);
/* Write an image by its name's format (vxt_image_write_path); NIfTI version 0: the image's own. An exit status. */
int cli_write_image(const char *cmd, const vxt_image *img, const char *path, int nifti_version);
/* Add "shape", "spacing" (z, y, x), "channels", "dtype", "orientation", "affine" of img to obj. */
void cli_json_image(cJSON *obj, const vxt_image *img);
/* Add "format", "description", "notes" and "padding_value" (DICOM pixel padding; null when none) of img to obj. */
void cli_json_source(cJSON *obj, const vxt_image *img);
/* Add "backend" and "device" of ctx to obj. */
void cli_json_context(cJSON *obj, const vxt_context *ctx);
/* Print obj on stdout (formatted) and delete it. An exit status. */
int cli_print_json(cJSON *obj);
/* "Z x Y x X" of a shape, in a buffer. */
const char *cli_shape_text(char *buf, size_t n, const int64_t shape[3]);
/* Per-axis values "Z,Y,X" or one value for every axis (into z, y, x): 0 on malformed input; *n_given = 1 or 3. */
int cli_parse_zyx(const char *s, double out[3], int *n_given);

/* ---- pictures (picture.c) ------------------------------------------------------------------------------ */

/* Three mid-slices of a (z, y, x) volume with physical proportions. Any layer may be NULL: image (float32 grey
 * levels, 1st..99th percentile), labels (drawn in colour over it, 0 transparent), diff (non-zero voxels red). */
typedef struct picture_layers {
    int64_t shape[3];
    double spacing[3];
    const float *image;
    const void *labels;
    int label_u16;
    const unsigned char *diff;
    const char *title;
} picture_layers;
int picture_write(const char *path, const picture_layers *p, vxt_output_set *set, char *err, size_t errn);
/* The same with diff projected through the volume: red where any voxel along the view's axis is set. */
int picture_write_projected(const char *path, const picture_layers *p, vxt_output_set *set, char *err, size_t errn);
/* The picture of `run`: the image (channel 0) with its labels drawn over it, into `set` (NULL: on its own). An exit
 * status. */
int cli_picture_labels(const char *cmd, vxt_context *ctx, const vxt_image *img, const vxt_image *labels,
                       const char *path, const char *title, vxt_output_set *set);

/* ---- commands ------------------------------------------------------------------------------------------- */

int cmd_info(int argc, char **argv);
int cmd_header(int argc, char **argv);
int cmd_tiles(int argc, char **argv);
/* --shape Z,Y,X, Y,X (a 2D image: z = 1) or N (N,N,N) of whole numbers >= 1; *dims = 3 or 2. An exit status. */
int cli_shape_flag(const char *cmd, const char *value, int64_t shape[3], int *dims);
int cmd_stitch(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_resample(int argc, char **argv);
int cmd_normalize(int argc, char **argv);
int cmd_phantom(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_patches(int argc, char **argv);

/* ---- a command's parsing on its own (tests/fuzz/fuzz_cli_args.c) -------------------------------------------- */

/* What a command does with its arguments before its work, so that it can be run without the work: `parse` sets the
 * defaults of the command's arguments (a struct of args_size bytes, zeroed by the caller), parses argv and, for a
 * command that takes a plan, builds it (*plan, else left NULL), as the command itself does; `check` (NULL: none)
 * runs the command's checks of those arguments that write nothing and load no code (they may read files and look
 * at directories). Each returns 0 (the command goes on), -1 (--help or --print-plan printed: done) or an exit
 * status with its message printed. */
typedef struct cli_command {
    const cli_command_spec *spec;
    size_t args_size;
    int (*parse)(void *args, int argc, char **argv, const char **positional, int *npositional, vxt_plan **plan);
    int (*check)(const void *args, const vxt_plan *plan, const char *const *positional, int npositional);
} cli_command;

extern const cli_command cmd_info_parsing, cmd_header_parsing, cmd_tiles_parsing, cmd_stitch_parsing,
    cmd_run_parsing, cmd_validate_parsing, cmd_resample_parsing, cmd_normalize_parsing, cmd_phantom_parsing,
    cmd_bench_parsing, cmd_convert_parsing, cmd_patches_parsing;

/* `parse` then `check` of c on argv, and nothing else: the exit status of the command if it stopped there (0 when
 * it would go on to its work; --help and --print-plan print and give 0). */
int cli_parse_only(const cli_command *c, int argc, char **argv);

#endif
