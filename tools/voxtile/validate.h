/* validate.h - `voxtile validate`: the same pipeline on two backends (or two configurations), every stage's
 * output compared bit for bit (cmd_validate.c runs it; validate_report.c writes the JSON report, the text
 * summary and the pictures). */
#ifndef VXT_VALIDATE_H
#define VXT_VALIDATE_H

#include <cjson/cJSON.h>

#include "cli.h"
#include "compare.h"

#define VAL_MAX_STAGES (2 * VXT_STAGE_COUNT_)
#define VAL_MAX_FILES 32

/* One side: a backend with its device and threads. */
typedef struct val_side {
    char spec[300];      /* as given (or the default), for messages */
    vxt_backend backend; /* OPENCL or CPU */
    char device[256];    /* OpenCL device index or name substring; "" = the first that passes the probe */
    long threads;        /* 0 = all cores */
    uint64_t max_buffer; /* --max-device-buffer; 0 = the device's limit */
    vxt_context *ctx;
    double setup_seconds; /* context creation (OpenCL: program build and determinism probe) */
    double seconds;       /* the pipeline's stages */
    vxt_context_info info;
    vxt_run_result res; /* the labels, for the pictures */
    int have_res;
} val_side;

/* One stage as both sides saw it, and how they compare. */
typedef struct val_stage {
    char name[32];
    int in_a, in_b;
    double a_seconds, b_seconds;
    vxt_volume copy; /* side a's output, kept until side b's is compared (data malloc'd) */
    int compared;    /* 1 when both outputs were compared */
    int layout_differs;
    char why[256];   /* when they could not be compared */
    vxt_dtype dtype;
    int64_t channels, shape[3]; /* z, y, x */
    cmp_result r;
    int have_labels;
    cmp_labels labels;
    char picture[64]; /* the stage's difference picture, when written */
} val_stage;

typedef struct val_state {
    val_side side[2];
    int current; /* the side running: 0 (a) or 1 (b) */
    const char *only_stage;
    int stopped; /* the run was stopped after only_stage on purpose */
    val_stage stage[VAL_MAX_STAGES];
    int nstages;
    cmp_tolerance tol;
    const char *pictures; /* directory or NULL */
    unsigned char *diff_in; /* voxels of the input's grid where any stage on that grid differs */
    int64_t in_shape[3];
    double in_spacing[3];
    char written[VAL_MAX_FILES][4096]; /* files written so far, into `set` */
    int nwritten;
    vxt_output_set *set; /* the report and pictures: in place together at the end, or not at all */
    int max_memory_given; /* --max-memory: `ceiling` (0: none); else what the machine can give */
    uint64_t ceiling;
    int failed; /* an observer failed: err holds the message, rc the exit code */
    int rc;
    char err[1024];
} val_state;

/* The verdict over every stage: 0 identical, 1 within the tolerance, 2 mismatch. */
int val_verdict(const val_state *s);

/* The whole report (docs/CLI.md "voxtile validate"). plan_a/plan_b: the plans as JSON text (plan_b NULL when
 * both sides ran the same plan). */
cJSON *val_report(const val_state *s, const char *input, const vxt_image *img, const char *plan_a,
                  const char *plan_b, const char *report_path);

/* The human-readable summary, on f. */
void val_print_summary(FILE *f, const val_state *s, const char *input, const vxt_image *img);

/* Write text to path atomically (a temporary file beside it, renamed). 0 or an exit code, message in err. */
/* A text file (with a final newline) into the set; an exit status, with the reason in err. */
int val_write_text(vxt_output_set *set, const char *path, const char *text, char *err, size_t errn);

/* The stage's difference picture into s->pictures (records it in s->written and st->picture); 0 or an exit
 * code with s->err set. mask: the stage's differing voxels. */
int val_stage_picture(val_state *s, val_stage *st, const vxt_volume *a_out, const unsigned char *mask);

/* input.png, a_labels.png, b_labels.png, difference.png; 0 or an exit code with s->err set. */
int val_final_pictures(val_state *s, vxt_context *ctx, const vxt_image *img);

#endif
