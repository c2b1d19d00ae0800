/* preproc_cl.c - OpenCL staging of host volumes for the preprocessing kernels: zero-copy buffers on devices
 * that share host memory, copies otherwise; slab limits; launches with an explicit local size. */
#include "preproc.h"

size_t vxt__pp_chunk_limit(const vxt_context *ctx)
{
    size_t lim = ctx->max_alloc ? (size_t)ctx->max_alloc : ((size_t)1 << 30);
    if (ctx->pp_chunk_bytes && ctx->pp_chunk_bytes < lim)
        lim = ctx->pp_chunk_bytes;
    return lim;
}

static int device_unified(const vxt_context *ctx)
{
    cl_bool unified = CL_FALSE;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) != CL_SUCCESS)
        return 0;
    return unified == CL_TRUE;
}

int vxt__pp_device_has_fp64(const vxt_context *ctx)
{
    cl_device_fp_config cfg = 0;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof cfg, &cfg, NULL) != CL_SUCCESS)
        return 0;
    return cfg != 0;
}

int vxt__pp_device_is_cpu(const vxt_context *ctx)
{
    return ctx->device_is_cpu; /* CPU and not GPU (runtime/opencl/cl_util.c) */
}

static vxt_status make_buf(vxt_context *ctx, void *host, size_t bytes, cl_mem_flags access, int upload,
                           const char *what, vxt__pp_buf *b)
{
    b->mem = NULL;
    b->host = host;
    b->bytes = bytes;
    b->zero_copy = host != NULL && bytes > 0 && !(ctx->pp_variant & VXT__PP_COPY) && device_unified(ctx);
    if (b->zero_copy)
        return vxt__cl_buffer(ctx, access | CL_MEM_USE_HOST_PTR, bytes, host, what, &b->mem);
    vxt_status st = vxt__cl_buffer(ctx, access, bytes, NULL, what, &b->mem);
    if (st == VXT_OK && upload && host != NULL)
        st = vxt__cl_write(ctx, b->mem, 0, bytes, host, what);
    if (st != VXT_OK)
        vxt__pp_buf_release(b);
    return st;
}

vxt_status vxt__pp_buf_in(vxt_context *ctx, const void *host, size_t bytes, const char *what, vxt__pp_buf *b)
{
    /* CL_MEM_USE_HOST_PTR needs a non-const pointer; a read-only buffer is never written through it */
    return make_buf(ctx, (void *)(uintptr_t)host, bytes, CL_MEM_READ_ONLY, 1, what, b);
}

vxt_status vxt__pp_buf_out(vxt_context *ctx, void *host, size_t bytes, const char *what, vxt__pp_buf *b)
{
    return make_buf(ctx, host, bytes, CL_MEM_WRITE_ONLY, 0, what, b);
}

vxt_status vxt__pp_buf_inout(vxt_context *ctx, void *host, size_t bytes, const char *what, vxt__pp_buf *b)
{
    return make_buf(ctx, host, bytes, CL_MEM_READ_WRITE, 1, what, b);
}

vxt_status vxt__pp_buf_scratch(vxt_context *ctx, size_t bytes, const char *what, vxt__pp_buf *b)
{
    return make_buf(ctx, NULL, bytes, CL_MEM_READ_WRITE, 0, what, b);
}

vxt_status vxt__pp_buf_finish(vxt_context *ctx, vxt__pp_buf *b, const char *what)
{
    if (b->mem == NULL || b->host == NULL || b->bytes == 0)
        return VXT_OK;
    if (!b->zero_copy)
        return vxt__cl_read(ctx, b->mem, 0, b->bytes, b->host, what);
    /* A mapping makes the kernels' writes visible in the host memory behind the buffer. */
    cl_int err = CL_SUCCESS;
    void *p = clEnqueueMapBuffer(ctx->queue, b->mem, CL_TRUE, CL_MAP_READ, 0, b->bytes, 0, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return vxt__cl_check(ctx, err, what);
    err = clEnqueueUnmapMemObject(ctx->queue, b->mem, p, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(ctx->queue);
    return vxt__cl_check(ctx, err, what);
}

void vxt__pp_buf_release(vxt__pp_buf *b)
{
    if (b->mem)
        clReleaseMemObject(b->mem);
    b->mem = NULL;
}

vxt_status vxt__pp_next_slab(vxt_context *ctx, const char *f, size_t limit, size_t in_plane, size_t out_plane,
                             int64_t zo, int64_t nzo, vxt__pp_zrange_fn range, const void *user, int64_t *n,
                             int64_t *lo, int64_t *hi)
{
    int64_t m = (int64_t)(limit / out_plane);
    m = m < 1 ? 1 : (m > nzo - zo ? nzo - zo : m);
    for (;;) {
        range(user, zo, m, lo, hi);
        if ((size_t)(*hi - *lo + 1) * in_plane <= limit || m == 1)
            break;
        m /= 2;
    }
    *n = m;
    if ((size_t)(*hi - *lo + 1) * in_plane > limit || out_plane > limit)
        return vxt__fail(ctx, VXT_ERR_UNSUPPORTED,
                         "%s: one output plane needs %lld input planes of %zu bytes (output plane %zu bytes), more "
                         "than the device's largest buffer (%zu bytes)",
                         f, (long long)(*hi - *lo + 1), in_plane, out_plane, limit);
    return VXT_OK;
}

vxt_status vxt__pp_launch(vxt_context *ctx, cl_kernel k, cl_uint dims, const size_t *items, const size_t *local,
                          const char *name)
{
    if (local == NULL)
        return vxt__cl_launch(ctx, k, dims, items, name);
    size_t global[3] = {1, 1, 1};
    for (cl_uint d = 0; d < dims; d++) {
        if (items[d] == 0)
            return VXT_OK;
        global[d] = (items[d] + local[d] - 1) / local[d] * local[d];
    }
    return vxt__cl_check(ctx, clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, global, local, 0, NULL, NULL), name);
}

vxt_status vxt__pp_set_args(vxt_context *ctx, cl_kernel k, const void *const *vals, const size_t *sizes, int n,
                            const char *what)
{
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < n && err == CL_SUCCESS; i++)
        err = clSetKernelArg(k, (cl_uint)i, sizes[i], vals[i]);
    return vxt__cl_check(ctx, err, what);
}
