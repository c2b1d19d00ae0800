/* workspace.c - large host buffers (accumulators, staging) for the engine. Fresh memory costs a page fault per
 * page on first touch, which here is slower than the arithmetic that follows; so buffers are mapped with
 * transparent huge pages advised, and released buffers are kept by the context (up to a budget) for the next
 * run to reuse. vxt_context_trim() gives them back. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HUGE_MIN ((size_t)8 << 20)

static void *map_fresh(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_MIN)
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

size_t vxt__ws_round(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    size_t g = bytes >= HUGE_MIN ? ((size_t)2 << 20) : 4096;
    return (bytes + g - 1) / g * g;
}

void *vxt__ws_alloc(vxt_context *ctx, size_t bytes, size_t *actual)
{
    bytes = vxt__ws_round(bytes);
    pthread_mutex_lock(&ctx->ws_lock);
    int best = -1;
    for (int i = 0; i < VXT__WS_SLOTS; i++)
        if (ctx->ws[i].ptr && ctx->ws[i].bytes >= bytes && ctx->ws[i].bytes <= 2 * bytes &&
            (best < 0 || ctx->ws[i].bytes < ctx->ws[best].bytes))
            best = i;
    void *p = NULL;
    if (best >= 0) {
        p = ctx->ws[best].ptr;
        ctx->ws_cached -= ctx->ws[best].bytes;
        ctx->ws[best].ptr = NULL;
        bytes = ctx->ws[best].bytes;
    }
    pthread_mutex_unlock(&ctx->ws_lock);
    if (!p)
        p = map_fresh(bytes);
    *actual = p ? bytes : 0;
    return p;
}

void vxt__ws_free(vxt_context *ctx, void *p, size_t bytes)
{
    if (!p)
        return;
    pthread_mutex_lock(&ctx->ws_lock);
    int slot = -1;
    if (ctx->ws_cached + bytes <= ctx->ws_budget)
        for (int i = 0; i < VXT__WS_SLOTS; i++)
            if (!ctx->ws[i].ptr) {
                slot = i;
                break;
            }
    if (slot >= 0) {
        ctx->ws[slot].ptr = p;
        ctx->ws[slot].bytes = bytes;
        ctx->ws_cached += bytes;
        p = NULL;
    }
    pthread_mutex_unlock(&ctx->ws_lock);
    if (p)
        munmap(p, bytes);
}

void vxt__ws_release_all(vxt_context *ctx)
{
    pthread_mutex_lock(&ctx->ws_lock);
    for (int i = 0; i < VXT__WS_SLOTS; i++) {
        if (ctx->ws[i].ptr)
            munmap(ctx->ws[i].ptr, ctx->ws[i].bytes);
        ctx->ws[i].ptr = NULL;
    }
    ctx->ws_cached = 0;
    pthread_mutex_unlock(&ctx->ws_lock);
}

vxt_status vxt_context_trim(vxt_context *ctx)
{
    VXT_CHECK_NULL(NULL, ctx);
    vxt__ws_release_all(ctx);
    return VXT_OK;
}
