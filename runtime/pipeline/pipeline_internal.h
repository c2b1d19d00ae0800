/* pipeline_internal.h - state shared by the pipeline's sources:
 *   pipeline.c         handles, the run from start to result: checks, stage records, progress, cancellation
 *   pipeline_input.c   the input side: orient, rescale, resample, normalize (to the model's grid, float32)
 *   pipeline_estimate.c  a run's memory, estimated from the header and the plan before it runs; the ceiling
 *   pipeline_output.c  the sliding window and everything after it, slab by slab: the way back to the input's
 *                      grid, labels, restoring the input's axes, delivery to images or the caller's sink
 * Not installed. */
#ifndef VXT_PIPELINE_INTERNAL_H
#define VXT_PIPELINE_INTERNAL_H

#include <stdatomic.h>

#include "internal.h"
#include "plan.h"

#define VXT__PIPE_MAX_RUNNERS VXT__PLAN_MAX_MEMBERS

struct vxt_pipeline {
    vxt_context *ctx;
    vxt_plan plan;
    vxt_runner *runners[VXT__PIPE_MAX_RUNNERS];
    vxt_runner_info rinfo[VXT__PIPE_MAX_RUNNERS];
    int nrunners;
    int owns_runners;
    int64_t classes; /* 0: as many as the input has channels (identity) */
    vxt_dtype tile_dtype;
    atomic_int state; /* PIPE_IDLE, PIPE_RUNNING, PIPE_CANCEL */
    vxt_context *cpu; /* made at the first fallback to the CPU (a VXT_BACKEND_AUTO context's device failed) */
};

enum { VXT__PIPE_IDLE = 0, VXT__PIPE_RUNNING = 1, VXT__PIPE_CANCEL = 2 };

/* One run. Grids: the input's (volume order, `in_shape`); the oriented one (the input's voxels in the model's
 * orientation and axis order: oriented axis n = input axis perm[n], reversed when flip[n]); the model's (the
 * oriented grid resampled to the model's spacing). */
typedef struct vxt__run {
    vxt_pipeline *p;
    vxt_context *ctx;
    const vxt_plan *plan;
    vxt_run_options opt;
    vxt_run_result *res;
    const vxt_image *image;
    vxt_image_info info;
    int64_t cin, classes;
    int oriented;
    int perm[3], flip[3];
    int64_t in_shape[3], or_shape[3], model_shape[3];
    double or_spacing[3], model_spacing[3];
    int resampled;
    /* the model's input (float32, cin x model grid), made by the input side */
    float *model_input;
    /* stages: when the current one began, and the time the streaming stages spent inside the sliding window */
    double t_stage;
    double inner_seconds;
    int cancelled;  /* stopped by vxt_pipeline_cancel, a callback or the observer */
    int failed_stage; /* the stage a failure came from (vxt__run_fail), -1 before any */
    int show;       /* VXT_RUN_SHOW_OUTPUTS */
    int no_fallback; /* the failure is the runner's or the caller's, not the device's */
} vxt__run;

/* Whether stage work that failed with `st` on r->ctx is retried on the CPU backend: the caller let the context
 * choose (VXT_BACKEND_AUTO), it chose an OpenCL device, and the device ran out of resources or a buffer exceeded
 * its allocation limit (VXT_ERR_OUT_OF_MEMORY, VXT_ERR_UNSUPPORTED). The CPU backend gives the same bits. */
int vxt__run_can_fall_back(const vxt__run *r, vxt_status st);

/* The CPU context to retry `stage` on (made once per pipeline, with the context's threads), the stage and the
 * device's message recorded in the result; NULL when it cannot be made (message set). */
vxt_context *vxt__run_fall_back(vxt__run *r, vxt_stage stage);

/* Monotonic seconds. */
double vxt__now(void);

/* A stage has finished: record its time (run time since r->t_stage when seconds < 0), show its output, report
 * progress. VXT_ERR_CANCELLED (r->cancelled set) when the observer or progress stops the run or the pipeline was
 * cancelled. output may be NULL. */
vxt_status vxt__run_stage_done(vxt__run *r, vxt_stage stage, double seconds, const vxt_volume *output);

/* 1 when the run must stop (vxt_pipeline_cancel()); sets r->cancelled. */
int vxt__run_cancelled(vxt__run *r);

/* A failure in a stage: the library's message prefixed with the stage's name, the same status. */
vxt_status vxt__run_fail(vxt__run *r, vxt_stage stage, vxt_status st);

/* Check a run's options and image (its voxels only when need_voxels) into r: outputs, flags, channels, classes. */
vxt_status vxt__check_run(const vxt_pipeline *p, const vxt_image *image, const vxt_run_options *opts, vxt__run *r,
                          int need_voxels);

/* pipeline_input.c: the grids of a run (orientation, model grid) and the resampling to the model's grid, from the
 * image's header and the plan alone. */
vxt_status vxt__run_grids(vxt__run *r, vxt_resample_options *ro);

/* pipeline_estimate.c: r's memory estimate (vxt_pipeline_estimate) against r->opt.max_memory: VXT_ERR_MEMORY_LIMIT
 * naming the estimate's largest parts and what would lower it, before anything large is allocated. */
vxt_status vxt__run_check_memory(vxt__run *r);

/* pipeline_input.c: orient, rescale, normalize and resample the image into r->model_input (cin x model grid,
 * float32); fills the grids of r. */
vxt_status vxt__run_input(vxt__run *r);

/* pipeline_output.c: the sliding window over r->model_input (freed as soon as it is no longer needed) and the
 * outputs of the run. */
vxt_status vxt__run_output(vxt__run *r);

#endif /* VXT_PIPELINE_INTERNAL_H */
