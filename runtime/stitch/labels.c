/* labels.c - vxt_labels(): labels from per-channel values by a label rule, on the context's backend
 * (kernels/labels/labels.cl, or its CPU twin labels_cpu.c), with the checks the stitching engine shares. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "labels_cpu.h"
#include "preproc.h"
#include "vxt_labels.h"

vxt_status vxt__check_label_rule(const vxt_context *ctx, const char *func, vxt_label_rule rule, double threshold,
                                 const int32_t *region_labels, int64_t channels, vxt_dtype label_dtype)
{
    if ((unsigned)rule >= VXT_LABEL_RULE_COUNT_)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: unknown label rule %d", func, (int)rule);
    if (!isfinite(threshold) || fabs(threshold) > 3.0e38)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: label threshold %g (must be a finite float32)", func,
                         threshold);
    const int64_t most = label_dtype == VXT_DTYPE_U8 ? 255 : 65535;
    if (rule == VXT_LABELS_REGIONS) {
        if (!region_labels)
            return vxt__fail(ctx, VXT_ERR_NULL, "%s: label rule \"regions\" needs region_labels (one per channel)",
                             func);
        for (int64_t c = 0; c < channels; c++)
            if (region_labels[c] < 0 || region_labels[c] > most)
                return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: region_labels[%lld] = %d does not fit %s labels",
                                 func, (long long)c, (int)region_labels[c], vxt_dtype_name(label_dtype));
    }
    const int64_t top = rule == VXT_LABELS_ARGMAX ? channels - 1 : rule == VXT_LABELS_THRESHOLD ? channels : 0;
    if (top > most)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %lld channels give labels up to %lld with rule \"%s\", "
                         "which do not fit %s labels; use uint16", func, (long long)channels, (long long)top,
                         vxt_label_rule_name(rule), vxt_dtype_name(label_dtype));
    return VXT_OK;
}

/* The device: the values in chunks of voxels (each chunk's C segments staged contiguously when the whole does not
 * fit one buffer), one work-item per voxel. */
static vxt_status cl_labels(vxt_context *ctx, const vxt__labels_job *j)
{
    cl_kernel k = NULL;
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_LABELS, "vxt_k_labels", &k);
    if (st != VXT_OK)
        return st;
    const size_t es = j->u16 ? 2 : 1, C = (size_t)j->C;
    size_t chunk = vxt__pp_chunk_limit(ctx) / (C * sizeof(float) + es);
    chunk = chunk < 1 ? 1 : chunk > j->n ? j->n : chunk;
    float *stage = chunk < j->n ? malloc(C * chunk * sizeof(float)) : NULL;
    if (chunk < j->n && !stage) {
        clReleaseKernel(k);
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_labels: out of memory for %zu MiB of staging",
                         (C * chunk * sizeof(float)) >> 20);
    }
    static const int none = 0;
    vxt__pp_buf regions = {0};
    st = vxt__pp_buf_in(ctx, j->region_labels ? (const void *)j->region_labels : (const void *)&none,
                        j->region_labels ? C * sizeof(int) : sizeof(int), "vxt_labels: region labels", &regions);
    for (size_t a = 0; a < j->n && st == VXT_OK; a += chunk) {
        const size_t m = j->n - a < chunk ? j->n - a : chunk;
        const float *src = j->values;
        if (stage) {
            for (size_t c = 0; c < C; c++)
                memcpy(stage + c * m, j->values + c * j->n + a, m * sizeof(float));
            src = stage;
        }
        vxt__pp_buf bin = {0}, bout = {0};
        st = vxt__pp_buf_in(ctx, src, C * m * sizeof(float), "vxt_labels: values", &bin);
        if (st == VXT_OK)
            st = vxt__pp_buf_out(ctx, (unsigned char *)j->labels + a * es, m * es, "vxt_labels: labels", &bout);
        if (st == VXT_OK) {
            cl_long n = (cl_long)m;
            cl_int cc = j->C, rule = j->rule, u16 = j->u16;
            cl_float t = j->threshold;
            cl_int err = VXT_CL_ARG(k, 0, bin.mem);
            err |= VXT_CL_ARG(k, 1, n);
            err |= VXT_CL_ARG(k, 2, cc);
            err |= VXT_CL_ARG(k, 3, rule);
            err |= VXT_CL_ARG(k, 4, t);
            err |= VXT_CL_ARG(k, 5, regions.mem);
            err |= VXT_CL_ARG(k, 6, bout.mem);
            err |= VXT_CL_ARG(k, 7, u16);
            st = vxt__cl_check(ctx, err, "vxt_labels: clSetKernelArg");
        }
        if (st == VXT_OK)
            st = vxt__pp_launch(ctx, k, 1, &m, NULL, "vxt_k_labels");
        if (st == VXT_OK)
            st = vxt__pp_buf_finish(ctx, &bout, "vxt_labels: labels");
        vxt__pp_buf_release(&bin);
        vxt__pp_buf_release(&bout);
    }
    vxt__pp_buf_release(&regions);
    free(stage);
    clReleaseKernel(k);
    return st;
}

static vxt_status labels_impl(vxt_context *ctx, const vxt_volume *values, vxt_label_rule rule, double threshold,
                              const int32_t *region_labels, vxt_volume *labels)
{
    static const char *const f = "vxt_labels";
    VXT_CHECK_NULL(NULL, ctx);
    vxt_status st = vxt__volume_check(ctx, f, "values", values, NULL);
    if (st == VXT_OK)
        st = vxt__volume_check(ctx, f, "labels", labels, NULL);
    if (st != VXT_OK)
        return st;
    if (values->dtype != VXT_DTYPE_F32)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: values must be float32, not %s", f,
                         vxt_dtype_name(values->dtype));
    if (labels->dtype != VXT_DTYPE_U8 && labels->dtype != VXT_DTYPE_U16)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: labels must be uint8 or uint16, not %s", f,
                         vxt_dtype_name(labels->dtype));
    if (labels->channels != 1 || memcmp(labels->shape, values->shape, sizeof labels->shape) != 0)
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "%s: labels must be 1 x %lldx%lldx%lld", f,
                         (long long)values->shape[0], (long long)values->shape[1], (long long)values->shape[2]);
    if (values->channels > 65535)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %lld channels (at most 65535)", f,
                         (long long)values->channels);
    if (rule == VXT_LABELS_REGIONS && !region_labels)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: label rule \"regions\" needs region_labels (one per channel)", f);
    if ((st = vxt__check_label_rule(ctx, f, rule, threshold, region_labels, values->channels, labels->dtype)) != VXT_OK)
        return st;
    int *regions = NULL; /* the kernels' int; the API's int32_t */
    if (rule == VXT_LABELS_REGIONS) {
        if (!(regions = malloc((size_t)values->channels * sizeof *regions)))
            return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", f);
        for (int64_t c = 0; c < values->channels; c++)
            regions[c] = (int)region_labels[c];
    }
    vxt__labels_job j = {(const float *)values->data, labels->data,
                         (size_t)values->shape[0] * (size_t)values->shape[1] * (size_t)values->shape[2],
                         (int)values->channels, (int)rule, labels->dtype == VXT_DTYPE_U16, (float)threshold, regions};
    if (ctx->backend == VXT_BACKEND_OPENCL)
        st = cl_labels(ctx, &j);
    else
        vxt__pool_for(ctx->pool, j.n, 65536, vxt__labels_cpu_task, &j);
    free(regions);
    return st;
}

VXT__FPENV_ENTRY(vxt_labels, labels_impl,
                 (vxt_context *ctx, const vxt_volume *values, vxt_label_rule rule, double threshold,
                  const int32_t *region_labels, vxt_volume *labels),
                 (ctx, values, rule, threshold, region_labels, labels))
