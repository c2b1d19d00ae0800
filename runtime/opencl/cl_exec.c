/* cl_exec.c - small helpers for running kernels: buffers checked against the device's allocation limit,
 * reads/writes/launches with OpenCL errors turned into statuses and messages. */
#include "internal.h"

vxt_status vxt__cl_check(const vxt_context *ctx, cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return VXT_OK;
    vxt_status st = (err == CL_OUT_OF_RESOURCES || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                     err == CL_OUT_OF_HOST_MEMORY)
                        ? VXT_ERR_OUT_OF_MEMORY
                        : VXT_ERR_OPENCL;
    return vxt__fail(ctx, st, "%s: %s (%d) on '%s'", what, vxt__cl_error_name(err), err, ctx->info.device_name);
}

vxt_status vxt__cl_buffer(const vxt_context *ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what,
                          cl_mem *out)
{
    *out = NULL;
    if (bytes == 0)
        bytes = 4; /* OpenCL refuses empty buffers; a tiny one keeps kernel signatures uniform */
    if (ctx->max_alloc && bytes > ctx->max_alloc)
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED,
                         "%s: %zu bytes exceed the device's largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes "
                         "on '%s')",
                         what, bytes, (unsigned long long)ctx->max_alloc, ctx->info.device_name);
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl, flags, bytes, host, &err);
    if (err != CL_SUCCESS)
        return vxt__cl_check(ctx, err, what);
    *out = m;
    return VXT_OK;
}

vxt_status vxt__cl_write(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, const void *src,
                         const char *what)
{
    if (bytes == 0)
        return VXT_OK;
    return vxt__cl_check(ctx, clEnqueueWriteBuffer(ctx->queue, m, CL_TRUE, offset, bytes, src, 0, NULL, NULL), what);
}

vxt_status vxt__cl_read(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, void *dst, const char *what)
{
    if (bytes == 0)
        return VXT_OK;
    return vxt__cl_check(ctx, clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, offset, bytes, dst, 0, NULL, NULL), what);
}

vxt_status vxt__cl_fill_u32(const vxt_context *ctx, cl_kernel fill, cl_mem m, size_t off, size_t n, cl_uint v,
                            const char *what)
{
    cl_long o = (cl_long)off, nn = (cl_long)n;
    cl_int err = VXT_CL_ARG(fill, 0, m);
    if (err == CL_SUCCESS)
        err = VXT_CL_ARG(fill, 1, o);
    if (err == CL_SUCCESS)
        err = VXT_CL_ARG(fill, 2, nn);
    if (err == CL_SUCCESS)
        err = VXT_CL_ARG(fill, 3, v);
    if (err != CL_SUCCESS)
        return vxt__cl_check(ctx, err, what);
    return vxt__cl_launch(ctx, fill, 1, &n, what);
}

vxt_status vxt__cl_launch(const vxt_context *ctx, cl_kernel k, cl_uint dims, const size_t *items, const char *name)
{
    size_t global[3] = {1, 1, 1}, local[3] = {1, 1, 1};
    /* Work-group shape ctx->wg (64 x 1 by default; 1D launches ctx->wg1d). Kernels bound-check, so the global size
     * is rounded up. The shape never changes a result: every work-item computes its outputs from its own inputs in
     * a fixed order (the kernel tests also run with a 7 x 3 shape to show it). */
    for (cl_uint d = 0; d < dims; d++) {
        if (items[d] == 0)
            return VXT_OK;
        local[d] = dims == 1 ? ctx->wg1d : d < 2 ? ctx->wg[d] : 1;
        while (local[d] > 1 && local[d] / 2 >= items[d]) /* no more than twice the items */
            local[d] /= 2;
    }
    /* within what the device allows for this kernel (registers, private memory) and per dimension */
    size_t kmax = 0;
    if (clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL) != CL_SUCCESS)
        kmax = 0;
    for (cl_uint d = 0; d < dims; d++)
        while (ctx->wg_item_max[d] > 0 && local[d] > ctx->wg_item_max[d])
            local[d] /= 2;
    while (kmax > 0 && local[0] * local[1] * local[2] > kmax) {
        cl_uint big = local[1] > local[0] ? 1u : 0u;
        local[big] = local[big] > 1 ? local[big] / 2 : 1;
        if (local[0] == 1 && local[1] == 1)
            break;
    }
    for (cl_uint d = 0; d < dims; d++)
        global[d] = (items[d] + local[d] - 1) / local[d] * local[d];
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, global, local, 0, NULL, NULL);
    return vxt__cl_check(ctx, err, name);
}

vxt_status vxt__cl_finish(const vxt_context *ctx, const char *what)
{
    return vxt__cl_check(ctx, clFinish(ctx->queue), what);
}
