/* stitch_run.c - vxt_stitch(): a session driven by a predictor callback, double-buffered. While the predictor
 * works on batch k, the device (OpenCL backend) still accumulates batch k-1, and batch k+1's inputs are cut
 * right after batch k is submitted, overlapping its accumulation. */
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"

vxt_status vxt_stitch(vxt_context *ctx, const vxt_plan *plan, const vxt_stitch_options *opts, const vxt_volume *input,
                      vxt_predict_fn predict, void *predict_user, const vxt_stitch_output *output)
{
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(ctx, plan);
    VXT_CHECK_NULL(ctx, opts);
    VXT_CHECK_NULL(ctx, input);
    VXT_CHECK_NULL(ctx, predict);
    VXT_CHECK_NULL(ctx, output);
    vxt_session *ss = NULL;
    const int nslots = 2;
    vxt_status st = vxt__session_open(ctx, plan, opts, input, output, nslots, &ss);
    if (st != VXT_OK)
        return st;
    int device = (opts->flags & VXT_STITCH_DEVICE_PREDICTOR) != 0;
    size_t out_bytes = 0;
    void *outbuf[2] = {NULL, NULL};
    if (!device) {
        out_bytes = (size_t)opts->batch_size * (size_t)opts->out_channels * vxt_dtype_size(opts->tile_dtype);
        const vxt_plan_info *pi = vxt__plan_info(plan);
        out_bytes *= (size_t)pi->roi[0] * (size_t)pi->roi[1] * (size_t)pi->roi[2];
        for (int i = 0; i < 2; i++)
            if (!(outbuf[i] = malloc(out_bytes))) {
                free(outbuf[0]);
                vxt_session_destroy(ss);
                return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "vxt_stitch: out of memory for tile outputs");
            }
    }
    vxt_batch batch;
    int done = 0;
    st = vxt_session_next_batch(ss, &batch, &done);
    while (st == VXT_OK && !done) {
        int slot = (int)(batch.id % 2u);
        if (!device)
            batch.output = outbuf[slot];
        int rc = predict(predict_user, &batch);
        if (rc != 0) {
            st = vxt__fail(ctx, VXT_ERR_PREDICTOR, "vxt_stitch: the predictor returned %d for batch %llu (tiles %llu .. "
                           "%llu, member %d, mirroring 0x%x)",
                           rc, (unsigned long long)batch.id, (unsigned long long)batch.first_tile,
                           (unsigned long long)(batch.first_tile + (uint64_t)batch.count - 1), batch.member, batch.flip);
            break;
        }
        st = vxt_session_submit(ss, batch.id, device ? NULL : outbuf[slot]);
        if (st == VXT_OK)
            st = vxt_session_next_batch(ss, &batch, &done);
    }
    if (st == VXT_OK)
        st = vxt_session_finish(ss);
    /* keep the message of the failure: destroy does not touch it */
    vxt_session_destroy(ss);
    free(outbuf[0]);
    free(outbuf[1]);
    return st;
}
