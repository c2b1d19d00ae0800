/* pipeline.h - the whole job of `voxtile run` as stages over library calls, observable stage by stage (what
 * `voxtile validate` compares): rescale to stored units, resample to the model's spacing, normalize, sliding
 * window, resample back, labels. */
#ifndef VXT_PIPELINE_H
#define VXT_PIPELINE_H

#include "cli.h"
#include "run_plan.h"

#define PIPELINE_MAX_STAGES 8

/* Called after each stage with its output (valid during the call). Return non-zero to stop. */
typedef int (*pipeline_observer)(void *user, const char *stage, const vxt_volume *out, double seconds);

/* Progress: stage name, tiles done and total (0, 0 for stages without tiles). */
typedef void (*pipeline_progress)(void *user, const char *stage, uint64_t done, uint64_t total);

typedef struct pipeline_result {
    vxt_image *labels;        /* the segmentation on the input's grid, with its geometry */
    vxt_image *probabilities; /* when asked: C x input grid, float32 */
    int nstages;
    const char *stage_name[PIPELINE_MAX_STAGES];
    double stage_seconds[PIPELINE_MAX_STAGES];
    uint64_t tiles;
    int64_t model_shape[3];
    int64_t channels;
} pipeline_result;

typedef struct pipeline_args {
    vxt_context *ctx;
    const run_plan *plan;
    cli_model *models; /* plan->members of them */
    const vxt_image *input;
    int want_probabilities;
    pipeline_observer observe;
    pipeline_progress progress;
    void *user;
} pipeline_args;

/* Run it; 0 or an exit code with a one-line message in err. On success res owns the output images
 * (pipeline_result_free). */
int pipeline_run(const pipeline_args *a, pipeline_result *res, char *err, size_t errn);
void pipeline_result_free(pipeline_result *res);

#endif
