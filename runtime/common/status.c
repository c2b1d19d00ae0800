/* status.c - status codes, their strings, and the error-message buffers (per thread and per context). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The only static storage in the library: one message buffer per thread. */
static _Thread_local char vxt__tls_error[4096];

const char *vxt_last_error(void)
{
    return vxt__tls_error;
}

const char *vxt_context_last_error(const vxt_context *ctx)
{
    if (ctx == NULL)
        return "(null context)";
    return ctx->err;
}

vxt_status vxt__failv(const vxt_context *ctx, vxt_status status, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    vsnprintf(vxt__tls_error, sizeof vxt__tls_error, fmt, ap);
    if (ctx != NULL && ctx->err != NULL) {
        /* The buffer is logically mutable state of a const handle, like its mutex. */
        vxt_context *mctx = (vxt_context *)(uintptr_t)ctx;
        pthread_mutex_lock(&mctx->err_lock);
        vsnprintf(mctx->err, VXT__CTX_ERR_SIZE, fmt, ap2);
        pthread_mutex_unlock(&mctx->err_lock);
    }
    va_end(ap2);
    return status;
}

vxt_status vxt__fail(const vxt_context *ctx, vxt_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vxt__failv(ctx, status, fmt, ap);
    va_end(ap);
    return status;
}

vxt_status vxt__check_struct_size(const vxt_context *ctx, const char *func, const char *type, const void *s,
                                  size_t given, size_t min_size, size_t ours)
{
    if (given < min_size)
        return vxt__fail(ctx, VXT_ERR_STRUCT_SIZE,
                         "%s: %s.struct_size is %zu, smaller than any known layout (%zu); initialise the struct "
                         "with its _init function",
                         func, type, given, min_size);
    if (given > ours) {
        const unsigned char *p = (const unsigned char *)s;
        for (size_t i = ours; i < given; i++)
            if (p[i] != 0)
                return vxt__fail(ctx, VXT_ERR_STRUCT_SIZE,
                                 "%s: %s.struct_size is %zu but this library (%s) knows %zu bytes and the extra "
                                 "fields are not at their defaults; link a newer libvoxtile",
                                 func, type, given, VXT_VERSION_STRING, ours);
    }
    return VXT_OK;
}

vxt_status vxt__check_out_struct(const vxt_context *ctx, const char *func, const char *type, size_t given,
                                 size_t min_size)
{
    if (given < min_size)
        return vxt__fail(ctx, VXT_ERR_STRUCT_SIZE,
                         "%s: %s.struct_size is %zu, smaller than any known layout (%zu); set it to sizeof(%s)",
                         func, type, given, min_size, type);
    return VXT_OK;
}

void vxt__copy_out_struct(void *dst, const void *src, size_t given, size_t ours)
{
    size_t n = given < ours ? given : ours;
    memcpy(dst, src, n);
    memcpy(dst, &n, sizeof n); /* struct_size is the first member of every such struct */
}
