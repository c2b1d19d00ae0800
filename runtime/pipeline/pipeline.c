/* pipeline.c - pipelines: a context, a plan and its runners; a run from an image to its outputs, with stage
 * records for the observer, progress, and cancellation from any thread (docs/PIPELINE.md). The stages
 * themselves are in pipeline_input.c and pipeline_output.c. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline_internal.h"

double vxt__now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- handles ---------------------------------------------------------------------------------------------- */

/* The runners must agree with each other and fit the plan. */
static vxt_status check_runners(vxt_pipeline *p)
{
    const vxt_runner_info *a = &p->rinfo[0];
    for (int m = 0; m < p->nrunners; m++) {
        const vxt_runner_info *b = &p->rinfo[m];
        if (b->out_channels != a->out_channels || b->output_dtype != a->output_dtype ||
            b->in_channels != a->in_channels)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_create: ensemble members disagree: '%s' "
                             "takes %lld channels and gives %lld of %s, '%s' %lld and %lld of %s", a->name,
                             (long long)a->in_channels, (long long)a->out_channels, vxt_dtype_name(a->output_dtype),
                             b->name, (long long)b->in_channels, (long long)b->out_channels,
                             vxt_dtype_name(b->output_dtype));
        for (int ax = 0; ax < 3; ax++)
            if (b->roi[ax] && b->roi[ax] != p->plan.roi[ax])
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_create: model '%s' needs tiles of "
                                 "%lldx%lldx%lld; the plan's ROI is %lldx%lldx%lld", b->name, (long long)b->roi[0],
                                 (long long)b->roi[1], (long long)b->roi[2], (long long)p->plan.roi[0],
                                 (long long)p->plan.roi[1], (long long)p->plan.roi[2]);
    }
    p->classes = a->out_channels;
    p->tile_dtype = a->output_dtype;
    if (p->classes) { /* the stitching settings need the classes: check them now, not at the first run */
        vxt_tiling_options t;
        vxt_stitch_options s;
        const int64_t shape[3] = {1, 1, 1};
        return vxt_plan_stitch_settings(&p->plan, shape, p->classes, &t, &s);
    }
    return VXT_OK;
}

vxt_status vxt_pipeline_create(vxt_context *ctx, const vxt_plan *plan, vxt_runner *const *runners, int nrunners,
                               vxt_pipeline **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(NULL, plan);
    if (runners && nrunners != plan->members && !(plan->members == 0 && nrunners >= 1))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_create: %d runners for a plan of %d members",
                         nrunners, plan->members);
    if (runners && (nrunners < 1 || nrunners > VXT__PIPE_MAX_RUNNERS))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_create: nrunners = %d (1 to %d)", nrunners,
                         VXT__PIPE_MAX_RUNNERS);
    vxt_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_pipeline_create: out of memory");
    atomic_init(&p->state, VXT__PIPE_IDLE);
    p->ctx = ctx;
    vxt_status st = vxt__plan_copy(&p->plan, plan);
    if (st != VXT_OK) {
        free(p);
        return st;
    }
    if (runners) { /* the plan's members are the caller's runners */
        p->plan.members = nrunners;
        for (int m = 0; m < nrunners && st == VXT_OK; m++)
            st = runners[m] ? VXT_OK
                            : vxt__fail(NULL, VXT_ERR_NULL, "vxt_pipeline_create: runners[%d] is NULL", m);
    }
    if (st == VXT_OK)
        st = vxt_plan_check(&p->plan);
    if (st == VXT_OK && !runners)
        p->owns_runners = 1;
    for (int m = 0; st == VXT_OK && m < p->plan.members; m++) {
        if (runners)
            p->runners[m] = runners[m];
        else
            st = vxt_runner_create(p->plan.member[m].model, p->plan.member[m].config, &p->runners[m]);
        if (st == VXT_OK) {
            p->nrunners = m + 1;
            p->rinfo[m].struct_size = sizeof p->rinfo[m];
            st = vxt_runner_get_info(p->runners[m], &p->rinfo[m]);
        }
    }
    if (st == VXT_OK)
        st = check_runners(p);
    if (st != VXT_OK) {
        vxt_pipeline_destroy(p);
        return st;
    }
    *out = p;
    return VXT_OK;
}

void vxt_pipeline_destroy(vxt_pipeline *pipeline)
{
    if (!pipeline)
        return;
    vxt_context_destroy(pipeline->cpu);
    if (pipeline->owns_runners)
        for (int m = 0; m < pipeline->nrunners; m++)
            vxt_runner_destroy(pipeline->runners[m]);
    vxt__plan_clear(&pipeline->plan);
    free(pipeline);
}

vxt_status vxt_pipeline_get_info(const vxt_pipeline *pipeline, vxt_pipeline_info *info)
{
    VXT_CHECK_NULL(NULL, pipeline);
    VXT_CHECK_NULL(NULL, info);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_pipeline_info", info->struct_size, sizeof *info);
    if (st != VXT_OK)
        return st;
    vxt_pipeline_info r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.members = pipeline->nrunners;
    r.classes = pipeline->classes;
    r.tile_dtype = pipeline->tile_dtype;
    r.backend = pipeline->ctx->backend;
    vxt__copy_out_struct(info, &r, info->struct_size, sizeof r);
    return VXT_OK;
}

const vxt_runner *vxt_pipeline_runner(const vxt_pipeline *pipeline, int index)
{
    if (!pipeline || index < 0 || index >= pipeline->nrunners)
        return NULL;
    return pipeline->runners[index];
}

vxt_status vxt_pipeline_cancel(vxt_pipeline *pipeline)
{
    VXT_CHECK_NULL(NULL, pipeline);
    int running = VXT__PIPE_RUNNING;
    atomic_compare_exchange_strong(&pipeline->state, &running, VXT__PIPE_CANCEL);
    return VXT_OK;
}

/* ---- runs --------------------------------------------------------------------------------------------------- */

void vxt_run_options_init(vxt_run_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->outputs = VXT_OUTPUT_LABELS;
}

void vxt_run_result_clear(vxt_run_result *result)
{
    if (!result)
        return;
    size_t size = result->struct_size;
    if (size < sizeof *result) /* not a result this library filled */
        return;
    vxt_image_destroy(result->labels);
    vxt_image_destroy(result->probabilities);
    memset(result, 0, sizeof *result);
    result->struct_size = size;
}

int vxt__run_cancelled(vxt__run *r)
{
    if (atomic_load(&r->p->state) == VXT__PIPE_CANCEL)
        r->cancelled = 1;
    return r->cancelled;
}

vxt_status vxt__run_fail(vxt__run *r, vxt_stage stage, vxt_status st)
{
    r->failed_stage = (int)stage;
    char msg[4096];
    vxt__strlcpy(msg, vxt_last_error(), sizeof msg);
    return vxt__fail(r->ctx, st, "%s: %s", vxt_stage_name(stage), msg);
}

int vxt__run_can_fall_back(const vxt__run *r, vxt_status st)
{
    return (st == VXT_ERR_OUT_OF_MEMORY || st == VXT_ERR_UNSUPPORTED) && !r->no_fallback &&
           r->ctx->backend == VXT_BACKEND_OPENCL && r->ctx->requested == VXT_BACKEND_AUTO;
}

vxt_context *vxt__run_fall_back(vxt__run *r, vxt_stage stage)
{
    char why[sizeof r->res->fallback_reason];
    vxt__strlcpy(why, vxt_last_error(), sizeof why);
    if (!r->p->cpu) {
        vxt_context_options o;
        vxt_context_options_init(&o);
        o.backend = VXT_BACKEND_CPU;
        o.cpu_threads = r->ctx->threads;
        if (vxt_context_create(&o, &r->p->cpu) != VXT_OK) {
            r->failed_stage = (int)stage;
            return NULL;
        }
    }
    if (!r->res->cpu_fallback) { /* the stage's name, unless the message starts with it */
        const char *name = vxt_stage_name(stage);
        r->res->fallback_reason[0] = '\0';
        if (strncmp(why, name, strlen(name)) != 0)
            vxt__strlcatf(r->res->fallback_reason, sizeof r->res->fallback_reason, "%s: ", name);
        vxt__strlcatf(r->res->fallback_reason, sizeof r->res->fallback_reason, "%s", why);
    }
    r->res->cpu_fallback |= 1u << stage;
    r->failed_stage = -1;
    return r->p->cpu;
}

vxt_status vxt__run_stage_done(vxt__run *r, vxt_stage stage, double seconds, const vxt_volume *output)
{
    double now = vxt__now();
    if (seconds < 0)
        seconds = now - r->t_stage;
    r->t_stage = now;
    r->res->stages |= 1u << stage;
    r->res->stage_seconds[stage] += seconds;
    if (r->opt.observer) {
        vxt_stage_report rep = {stage, seconds, r->show ? output : NULL};
        if (r->opt.observer(r->opt.observer_user, &rep) != 0)
            r->cancelled = 1;
    }
    if (!r->cancelled && stage != VXT_STAGE_SLIDING_WINDOW && r->opt.progress &&
        r->opt.progress(r->opt.progress_user, stage, 1, 1) != 0)
        r->cancelled = 1;
    if (r->cancelled || vxt__run_cancelled(r))
        return vxt__fail(r->ctx, VXT_ERR_CANCELLED, "the run was cancelled after stage %s", vxt_stage_name(stage));
    return VXT_OK;
}

vxt_status vxt__check_run(const vxt_pipeline *p, const vxt_image *image, const vxt_run_options *opts, vxt__run *r,
                          int need_voxels)
{
    vxt_status st = VXT_OK;
    vxt_run_options_init(&r->opt);
    if (opts) { /* the layout before max_memory is accepted (its default: no ceiling) */
        st = vxt__check_struct_size(NULL, "vxt_pipeline_run", "vxt_run_options", opts, opts->struct_size,
                                    offsetof(vxt_run_options, max_memory), sizeof(vxt_run_options));
        if (st == VXT_OK && opts->struct_size != offsetof(vxt_run_options, max_memory) &&
            opts->struct_size < sizeof r->opt) /* between the two layouts: one no header declared */
            st = vxt__fail(NULL, VXT_ERR_STRUCT_SIZE, "vxt_pipeline_run: vxt_run_options.struct_size is %zu: neither "
                           "this library's layout (%zu) nor the earlier one (%zu); initialise the struct with "
                           "vxt_run_options_init", opts->struct_size, sizeof r->opt, offsetof(vxt_run_options, max_memory));
        if (st != VXT_OK)
            return st;
        memcpy(&r->opt, opts, opts->struct_size < sizeof r->opt ? opts->struct_size : sizeof r->opt);
        r->opt.struct_size = sizeof r->opt;
    }
    if (r->opt.outputs == 0 || (r->opt.outputs & ~(VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES)))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_run: opts.outputs 0x%x (VXT_OUTPUT_LABELS "
                         "and/or VXT_OUTPUT_PROBABILITIES)", r->opt.outputs);
    if (r->opt.flags & ~VXT_RUN_SHOW_OUTPUTS)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_run: unknown flags 0x%x",
                         r->opt.flags & ~VXT_RUN_SHOW_OUTPUTS);
    r->show = (r->opt.flags & VXT_RUN_SHOW_OUTPUTS) != 0;
    r->info.struct_size = sizeof r->info;
    if ((st = vxt_image_get_info(image, &r->info)) != VXT_OK)
        return st;
    if (need_voxels && !r->info.has_data)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_run: the image has no voxels (read with "
                         "VXT_READ_HEADER_ONLY)");
    r->cin = r->info.channels;
    if (p->rinfo[0].in_channels && p->rinfo[0].in_channels != r->cin)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_pipeline_run: model '%s' takes %lld input channels; the "
                         "image has %lld", p->rinfo[0].name, (long long)p->rinfo[0].in_channels, (long long)r->cin);
    r->classes = p->classes ? p->classes : r->cin;
    if (!p->classes) { /* identity-like runners: the classes are known only now */
        vxt_tiling_options t;
        vxt_stitch_options s;
        const int64_t shape[3] = {1, 1, 1};
        st = vxt_plan_stitch_settings(&p->plan, shape, r->classes, &t, &s);
    }
    return st;
}

vxt_status vxt_pipeline_run(vxt_pipeline *pipeline, const vxt_image *image, const vxt_run_options *opts,
                            vxt_run_result *result)
{
    VXT_CHECK_NULL(NULL, pipeline);
    VXT_CHECK_NULL(NULL, image);
    VXT_CHECK_NULL(NULL, result);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_run_result", result->struct_size, sizeof *result);
    if (st != VXT_OK)
        return st;
    int idle = VXT__PIPE_IDLE;
    if (!atomic_compare_exchange_strong(&pipeline->state, &idle, VXT__PIPE_RUNNING))
        return vxt__fail(NULL, VXT_ERR_STATE, "vxt_pipeline_run: a run is already in progress on this pipeline (make "
                         "one pipeline per worker thread)");
    vxt_run_result res;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    vxt__run r;
    memset(&r, 0, sizeof r);
    r.p = pipeline;
    r.ctx = pipeline->ctx;
    r.plan = &pipeline->plan;
    r.res = &res;
    r.image = image;
    r.failed_stage = -1;
    double t0 = vxt__now();
    r.t_stage = t0;
    st = vxt__check_run(pipeline, image, opts, &r, 1);
    if (st == VXT_OK && r.opt.max_memory)
        st = vxt__run_check_memory(&r);
    if (st == VXT_OK)
        st = vxt__run_input(&r);
    if (st == VXT_OK)
        st = vxt__run_output(&r);
    if (vxt__run_can_fall_back(&r, st)) { /* the sliding window and what runs in it, again on the CPU */
        vxt_context *cpu = vxt__run_fall_back(&r, r.failed_stage >= 0 ? (vxt_stage)r.failed_stage
                                                                        : VXT_STAGE_SLIDING_WINDOW);
        vxt_image_destroy(res.labels); /* what the failed attempt made */
        vxt_image_destroy(res.probabilities);
        res.labels = res.probabilities = NULL;
        st = cpu ? VXT_OK : VXT_ERR_OUT_OF_MEMORY;
        if (cpu) {
            r.ctx = cpu;
            r.inner_seconds = 0.0; /* the failed attempt's time inside the window is not this one's */
            st = vxt__run_output(&r);
            r.ctx = pipeline->ctx;
            const unsigned out_stages = (1u << VXT_STAGE_SLIDING_WINDOW) | (1u << VXT_STAGE_RESAMPLE_BACK) |
                                        (1u << VXT_STAGE_LABELS) | (1u << VXT_STAGE_RESTORE);
            res.cpu_fallback |= res.stages & out_stages;
        }
    }
    free(r.model_input);
    if (st == VXT_OK && vxt__run_cancelled(&r))
        st = vxt__fail(r.ctx, VXT_ERR_CANCELLED, "the run was cancelled");
    atomic_store(&pipeline->state, VXT__PIPE_IDLE);
    if (st != VXT_OK) {
        vxt_run_result_clear(&res);
        res.failed_stage = r.cancelled ? -1 : r.failed_stage;
        vxt__copy_out_struct(result, &res, result->struct_size, sizeof res);
        return st;
    }
    res.classes = r.classes;
    memcpy(res.model_shape, r.model_shape, sizeof res.model_shape);
    res.seconds = vxt__now() - t0;
    vxt__copy_out_struct(result, &res, result->struct_size, sizeof res);
    return VXT_OK;
}
