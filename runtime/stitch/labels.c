/* labels.c - vxt_argmax(): labels from per-channel values, with the engine's tie rule. */
#include "internal.h"
#include "vxt_arith.h"
#include "vxt_stitch.h"

typedef struct argmax_job {
    const float *v;
    void *l;
    size_t n;
    int C, u16;
} argmax_job;

static void argmax_range(void *arg, size_t begin, size_t end, int slot)
{
    const argmax_job *j = (const argmax_job *)arg;
    (void)slot;
    for (size_t i = begin; i < end; i++) {
        int best = vxt_argmax_strided(j->v + i, (vxt_i64)j->n, j->C);
        if (j->u16)
            ((uint16_t *)j->l)[i] = (uint16_t)best;
        else
            ((uint8_t *)j->l)[i] = (uint8_t)best;
    }
}

vxt_status vxt_argmax(vxt_context *ctx, const vxt_volume *values, vxt_volume *labels)
{
    VXT_CHECK_NULL(NULL, ctx);
    vxt_status st = vxt__volume_check(ctx, __func__, "values", values, NULL);
    if (st == VXT_OK)
        st = vxt__volume_check(ctx, __func__, "labels", labels, NULL);
    if (st != VXT_OK)
        return st;
    if (values->dtype != VXT_DTYPE_F32)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_argmax: values must be float32, not %s",
                         vxt_dtype_name(values->dtype));
    if (labels->dtype != VXT_DTYPE_U8 && labels->dtype != VXT_DTYPE_U16)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_argmax: labels must be uint8 or uint16, not %s",
                         vxt_dtype_name(labels->dtype));
    if (labels->channels != 1 || labels->shape[0] != values->shape[0] || labels->shape[1] != values->shape[1] ||
        labels->shape[2] != values->shape[2])
        return vxt__fail(ctx, VXT_ERR_SHAPE_MISMATCH, "vxt_argmax: labels must be 1 x %lldx%lldx%lld",
                         (long long)values->shape[0], (long long)values->shape[1], (long long)values->shape[2]);
    if (labels->dtype == VXT_DTYPE_U8 && values->channels > 256)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_argmax: %lld channels do not fit uint8 labels",
                         (long long)values->channels);
    if (values->channels > 65536)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_argmax: %lld channels do not fit uint16 labels",
                         (long long)values->channels);
    argmax_job j = {(const float *)values->data, labels->data,
                    (size_t)values->shape[0] * (size_t)values->shape[1] * (size_t)values->shape[2],
                    (int)values->channels, labels->dtype == VXT_DTYPE_U16};
    vxt__pool_for(ctx->pool, j.n, 65536, argmax_range, &j);
    return VXT_OK;
}
