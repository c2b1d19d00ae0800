/* context.c - context creation: option checks, backend and device selection, adoption of a host
 * application's OpenCL objects, the determinism probe, and teardown. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "internal.h"

#define MAX_THREADS 1024

void vxt_context_options_init(vxt_context_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->backend = VXT_BACKEND_AUTO;
    opts->platform_index = -1;
    opts->device_index = -1;
    opts->workspace_cache_bytes = (size_t)4 << 30;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 1;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* ---- OpenCL device setup --------------------------------------------------------------------------- */

static void release_cl(vxt_context *ctx)
{
    for (int i = 0; i < VXT__PROG_COUNT; i++) {
        if (ctx->programs[i])
            clReleaseProgram(ctx->programs[i]);
        ctx->programs[i] = NULL;
    }
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    if (ctx->device && ctx->adopted)
        clReleaseDevice(ctx->device);
    ctx->queue = NULL;
    ctx->cl = NULL;
    ctx->device = NULL;
    ctx->platform = NULL;
    ctx->adopted = 0;
}

/* Configure ctx for (platform, device): capabilities, build options, OpenCL context and queue (unless
 * adopted, then ctx->cl/queue are already set and retained), probe. On failure everything OpenCL is
 * released again and the message says why. */
static vxt_status open_device(vxt_context *ctx, cl_platform_id platform, cl_device_id device, unsigned flags)
{
    vxt_device_info di;
    memset(&di, 0, sizeof di);
    di.struct_size = sizeof di;
    vxt__cl_describe_device(ctx, platform, device, &di);
    ctx->platform = platform;
    ctx->device = device;
    ctx->max_alloc = di.max_alloc_bytes;
    ctx->device_is_cpu = di.is_cpu;
    ctx->host_unified = di.host_unified_memory;
    /* work-group shape (see vxt__cl_launch): 64 x 1 measured best on PoCL for 2D/3D launches and suits GPUs; the
     * VXT_WG_X/Y environment variables override it for tuning experiments and for the tests that prove results
     * do not depend on it */
    ctx->wg[0] = 64;
    ctx->wg[1] = 1;
    while (ctx->wg[0] * ctx->wg[1] > di.max_work_group_size && ctx->wg[1] > 1)
        ctx->wg[1] /= 2;
    while (ctx->wg[0] * ctx->wg[1] > di.max_work_group_size && ctx->wg[0] > 1)
        ctx->wg[0] /= 2;
    /* 1D (pointwise) launches: on CPU devices (PoCL) a work-group is a loop the compiler vectorizes, and each
     * one has a fixed cost; 1024 items per group made the CT window 1.3x as fast as 64 (docs/PERFORMANCE.md) */
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof ctx->wg_item_max, ctx->wg_item_max,
                        NULL) != CL_SUCCESS)
        ctx->wg_item_max[0] = ctx->wg_item_max[1] = ctx->wg_item_max[2] = 0;
    ctx->wg1d = ctx->wg[0];
    if (di.is_cpu) {
        ctx->wg1d = 1024;
        while (ctx->wg1d > di.max_work_group_size && ctx->wg1d > 1)
            ctx->wg1d /= 2;
    }
    {
        const char *ex = getenv("VXT_WG_X"), *ey = getenv("VXT_WG_Y");
        if (ex && atoi(ex) > 0)
            ctx->wg[0] = ctx->wg1d = (size_t)atoi(ex);
        if (ey && atoi(ey) > 0)
            ctx->wg[1] = (size_t)atoi(ey);
    }
    vxt__strlcpy(ctx->info.device_name, di.name, sizeof ctx->info.device_name);
    vxt__strlcpy(ctx->info.platform_name, di.platform_name, sizeof ctx->info.platform_name);
    vxt__strlcpy(ctx->info.driver_version, di.driver_version, sizeof ctx->info.driver_version);
    snprintf(ctx->device_key, sizeof ctx->device_key, "device %s|vendor %s|version %s|driver %s|platform %s",
             di.name, di.vendor, di.device_version, di.driver_version, di.platform_version);

    vxt_status st = VXT_OK;
    cl_bool avail = CL_FALSE, compiler = CL_FALSE;
    clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
    clGetDeviceInfo(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    if (!avail) {
        st = vxt__fail(ctx, VXT_ERR_NO_DEVICE, "device '%s' is not available", di.name);
        goto fail;
    }
    if (!compiler) {
        st = vxt__fail(ctx, VXT_ERR_NO_DEVICE, "device '%s' has no OpenCL C compiler", di.name);
        goto fail;
    }
    if (di.fp32_config & VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT) {
        ctx->div_mode = 0;
        snprintf(ctx->build_options, sizeof ctx->build_options,
                 "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DVXT_DIV_MODE=0");
    } else if (di.fp64) {
        ctx->div_mode = 1;
        snprintf(ctx->build_options, sizeof ctx->build_options, "-cl-std=CL1.2 -DVXT_DIV_MODE=1");
    } else {
        st = vxt__fail(ctx, VXT_ERR_NO_DEVICE,
                       "device '%s' has neither correctly rounded fp32 divide/sqrt nor fp64: its divisions could "
                       "not match the CPU path",
                       di.name);
        goto fail;
    }
    if (di.fp64) /* float64 accumulation kernels are compiled only where fp64 exists */
        vxt__strlcatf(ctx->build_options, sizeof ctx->build_options, " -DVXT_FP64=1");
    ctx->info.div_mode = ctx->div_mode;

    cl_int err = CL_SUCCESS;
    if (!ctx->cl) {
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
        ctx->cl = clCreateContext(props, 1, &device, NULL, NULL, &err);
        if (err != CL_SUCCESS) {
            ctx->cl = NULL;
            st = vxt__fail(ctx, VXT_ERR_OPENCL, "clCreateContext for '%s' failed: %s (%d)", di.name,
                           vxt__cl_error_name(err), err);
            goto fail;
        }
    }
    if (!ctx->queue) {
        ctx->queue = clCreateCommandQueue(ctx->cl, device, 0, &err);
        if (err != CL_SUCCESS) {
            ctx->queue = NULL;
            st = vxt__fail(ctx, VXT_ERR_OPENCL, "clCreateCommandQueue for '%s' failed: %s (%d)", di.name,
                           vxt__cl_error_name(err), err);
            goto fail;
        }
    }
    ctx->backend = VXT_BACKEND_OPENCL; /* needed by the program cache during the probe */
    st = vxt__probe_run(ctx, &ctx->info.probe);
    if (st != VXT_OK)
        goto fail;
    if (!ctx->info.probe.passed && !(flags & VXT_CONTEXT_ALLOW_PROBE_MISMATCH)) {
        st = vxt__fail(ctx, VXT_ERR_PROBE_MISMATCH,
                       "device '%s' refused: determinism probe found %u of %u values differing from the CPU path "
                       "(%s); set VXT_CONTEXT_ALLOW_PROBE_MISMATCH to use it anyway",
                       di.name, ctx->info.probe.mismatches, ctx->info.probe.checks, ctx->info.probe.detail);
        goto fail;
    }
    return VXT_OK;

fail:
    ctx->backend = VXT_BACKEND_CPU;
    release_cl(ctx);
    return st;
}

static vxt_status adopt(vxt_context *ctx, const vxt_context_options *o)
{
    if (!o->cl_device)
        return vxt__fail(ctx, VXT_ERR_NULL, "vxt_context_create: cl_context given but cl_device is NULL");
    cl_context clctx = o->cl_context;
    cl_device_id dev = o->cl_device;
    cl_uint ndev = 0;
    cl_int err = clGetContextInfo(clctx, CL_CONTEXT_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err != CL_SUCCESS || ndev == 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: adopted cl_context is not valid (%s)",
                         vxt__cl_error_name(err));
    cl_device_id *devs = calloc(ndev, sizeof *devs);
    if (!devs)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "out of memory");
    err = clGetContextInfo(clctx, CL_CONTEXT_DEVICES, ndev * sizeof *devs, devs, NULL);
    int found = 0;
    for (cl_uint i = 0; err == CL_SUCCESS && i < ndev; i++)
        found |= devs[i] == dev;
    free(devs);
    if (!found)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                         "vxt_context_create: adopted cl_device is not a device of the adopted cl_context");
    if (o->cl_queue) {
        cl_context qctx = NULL;
        cl_device_id qdev = NULL;
        cl_command_queue_properties qprops = 0;
        err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
        if (err == CL_SUCCESS)
            err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
        if (err == CL_SUCCESS)
            err = clGetCommandQueueInfo(o->cl_queue, CL_QUEUE_PROPERTIES, sizeof qprops, &qprops, NULL);
        if (err != CL_SUCCESS)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: adopted cl_queue is not valid (%s)",
                             vxt__cl_error_name(err));
        if (qctx != clctx || qdev != dev)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "vxt_context_create: adopted cl_queue belongs to another context or device");
        if (qprops & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT,
                             "vxt_context_create: adopted cl_queue is out-of-order; voxtile needs an in-order queue "
                             "(accumulation order is part of the result)");
    }
    cl_platform_id plat = NULL;
    clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL);
    clRetainContext(clctx);
    clRetainDevice(dev);
    ctx->cl = clctx;
    ctx->adopted = 1;
    if (o->cl_queue) {
        clRetainCommandQueue(o->cl_queue);
        ctx->queue = o->cl_queue;
    }
    ctx->info.adopted = 1;
    vxt_status st = open_device(ctx, plat, dev, o->flags);
    if (st != VXT_OK)
        return st;
    ctx->adopted = 1; /* open_device keeps it on success */
    snprintf(ctx->info.selection, sizeof ctx->info.selection,
             "opencl: adopted the application's cl_context on '%s'; probe: %s", ctx->info.device_name,
             ctx->info.probe.detail);
    return VXT_OK;
}

typedef struct candidate {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index, device_index, global_index;
} candidate;

/* Choose and open a device per the options; on failure with AUTO the caller falls back to the CPU. *hard is
 * set when the failure is a caller error that must not be hidden by a fallback (index out of range, ...). */
static vxt_status select_device(vxt_context *ctx, const vxt_context_options *o, int *hard)
{
    *hard = 0;
    cl_platform_id *plats = NULL;
    cl_uint np = 0;
    cl_int why = CL_SUCCESS;
    vxt_status st = vxt__cl_platforms(ctx, &plats, &np, &why);
    if (st != VXT_OK)
        return st;
    if (np == 0) {
        return vxt__fail(ctx, VXT_ERR_NO_PLATFORM, "no OpenCL platform (clGetPlatformIDs: %s); install an OpenCL "
                         "driver (e.g. pocl-opencl-icd) or use the CPU backend",
                         vxt__cl_error_name(why));
    }
    if (o->platform_index >= (int)np) {
        free(plats);
        *hard = 1;
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "platform_index %d out of range (%u OpenCL platform%s)",
                         o->platform_index, np, np == 1 ? "" : "s");
    }
    candidate *cands = NULL;
    size_t ncand = 0, total = 0, in_platform = 0, passed_over = 0;
    char names[512] = "", cpu_devices[300] = "";
    /* auto passes over OpenCL CPU devices (PoCL) unless the options name a device: the CPU backend computes the
     * same bits on the same cores, faster and in less memory */
    const int skip_cpu = o->backend == VXT_BACKEND_AUTO && o->device_index < 0 && !o->device_name;
    for (cl_uint i = 0; i < np; i++) {
        cl_device_id *devs = NULL;
        cl_uint nd = 0;
        st = vxt__cl_devices(ctx, plats[i], &devs, &nd);
        if (st != VXT_OK)
            break;
        candidate *grown = realloc(cands, (ncand + nd + 1) * sizeof *cands);
        if (!grown) {
            free(devs);
            st = vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        cands = grown;
        for (cl_uint j = 0; j < nd; j++, total++) {
            char name[256] = "";
            clGetDeviceInfo(devs[j], CL_DEVICE_NAME, sizeof name, name, NULL);
            name[sizeof name - 1] = '\0';
            vxt__strlcatf(names, sizeof names, "%s'%s'", total ? ", " : "", name);
            if (o->platform_index >= 0 && (int)i != o->platform_index)
                continue;
            if (o->platform_index >= 0)
                in_platform++;
            int idx = o->platform_index >= 0 ? (int)j : (int)total;
            if (o->device_index >= 0 && idx != o->device_index)
                continue;
            if (o->device_name && !contains_nocase(name, o->device_name))
                continue;
            cl_device_type type = 0;
            if (skip_cpu && clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
                (type & CL_DEVICE_TYPE_CPU) && !(type & CL_DEVICE_TYPE_GPU)) { /* as cl_util.c's is_cpu */
                vxt__strlcatf(cpu_devices, sizeof cpu_devices, "%s'%s'", passed_over++ ? ", " : "", name);
                continue;
            }
            cands[ncand++] = (candidate){plats[i], devs[j], (int)i, (int)j, (int)total};
        }
        free(devs);
    }
    free(plats);
    if (st != VXT_OK) {
        free(cands);
        return st;
    }
    if (ncand == 0) {
        free(cands);
        *hard = 1;
        size_t range = o->platform_index >= 0 ? in_platform : total;
        if (o->device_index >= 0 && (size_t)o->device_index >= range)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "device_index %d out of range (%zu device%s%s)",
                             o->device_index, range, range == 1 ? "" : "s",
                             o->platform_index >= 0 ? " on that platform" : " over all platforms");
        if (o->device_name)
            return vxt__fail(ctx, VXT_ERR_NO_DEVICE, "no OpenCL device name contains '%s' (devices: %s)", o->device_name,
                             names[0] ? names : "none");
        *hard = 0;
        if (passed_over)
            return vxt__fail(ctx, VXT_ERR_NO_DEVICE, "the only OpenCL device%s %s %s of type CPU (%s), and the CPU "
                             "backend computes the same bits on the same cores faster and in less memory (backend "
                             "opencl, or a device named by index or name, uses %s)", passed_over == 1 ? "" : "s",
                             passed_over == 1 ? "is" : "are", passed_over == 1 ? "a device" : "devices", cpu_devices,
                             passed_over == 1 ? "it" : "them");
        return vxt__fail(ctx, VXT_ERR_NO_DEVICE, "no OpenCL device on the selected platform");
    }
    char rejected[700] = "";
    for (size_t c = 0; c < ncand; c++) {
        st = open_device(ctx, cands[c].platform, cands[c].device, o->flags);
        if (st == VXT_OK) {
            ctx->info.platform_index = cands[c].platform_index;
            ctx->info.device_index = cands[c].device_index;
            ctx->info.selection[0] = '\0'; /* may truncate a long rejection list: that is fine */
            vxt__strlcatf(ctx->info.selection, sizeof ctx->info.selection,
                     "%s: OpenCL platform %d device %d '%s'; probe: %s%s%s%s%s", vxt_backend_name(o->backend),
                     cands[c].platform_index, cands[c].device_index, ctx->info.device_name, ctx->info.probe.detail,
                     rejected[0] ? "; rejected before it: " : "", rejected,
                     passed_over ? "; passed over (OpenCL CPU devices; the CPU backend is faster): " : "",
                     cpu_devices);
            free(cands);
            return VXT_OK;
        }
        vxt__strlcatf(rejected, sizeof rejected, "%s[%d.%d] %s", rejected[0] ? "; " : "", cands[c].platform_index,
                      cands[c].device_index, vxt_last_error());
    }
    free(cands);
    /* Keep the last device's status, with every rejection in the message. */
    return vxt__fail(ctx, st, "no usable OpenCL device: %s", rejected);
}

/* ---- public API ------------------------------------------------------------------------------------ */

vxt_status vxt_context_create(const vxt_context_options *opts, vxt_context **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    vxt_context_options o;
    vxt_context_options_init(&o);
    if (opts) {
        vxt_status st = vxt__check_struct_size(NULL, __func__, "vxt_context_options", opts, opts->struct_size,
                                               offsetof(vxt_context_options, device_max_alloc),
                                               sizeof(vxt_context_options));
        if (st == VXT_OK && opts->struct_size != offsetof(vxt_context_options, device_max_alloc) &&
            opts->struct_size < sizeof o) /* between the two layouts: one no header declared */
            st = vxt__fail(NULL, VXT_ERR_STRUCT_SIZE, "%s: vxt_context_options.struct_size is %zu: neither this "
                           "library's layout (%zu) nor the earlier one (%zu); initialise the struct with its _init "
                           "function", __func__, opts->struct_size, sizeof o,
                           offsetof(vxt_context_options, device_max_alloc));
        if (st != VXT_OK)
            return st;
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    if (o.backend != VXT_BACKEND_AUTO && o.backend != VXT_BACKEND_OPENCL && o.backend != VXT_BACKEND_CPU)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: unknown backend %d", (int)o.backend);
    if (o.cpu_threads < 0 || o.cpu_threads > MAX_THREADS)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: cpu_threads %d out of range [0, %d]",
                         o.cpu_threads, MAX_THREADS);
    if (o.platform_index < -1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: platform_index %d (use -1 for any)",
                         o.platform_index);
    if (o.device_index < -1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: device_index %d (use -1 for any)",
                         o.device_index);
    if (o.flags & ~VXT_CONTEXT_ALLOW_PROBE_MISMATCH)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_context_create: unknown flags 0x%x",
                         o.flags & ~VXT_CONTEXT_ALLOW_PROBE_MISMATCH);
    if (o.cl_context && o.backend == VXT_BACKEND_CPU)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT,
                         "vxt_context_create: cl_context given with the CPU backend");
    if (!o.cl_context && (o.cl_device || o.cl_queue))
        return vxt__fail(NULL, VXT_ERR_NULL, "vxt_context_create: cl_device/cl_queue given without cl_context");
    if (o.program_cache_dir) {
        struct stat sb;
        if (stat(o.program_cache_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT,
                             "vxt_context_create: program_cache_dir '%s' is not an existing directory",
                             o.program_cache_dir);
    }

    vxt_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_context_create: out of memory");
    ctx->err = calloc(1, VXT__CTX_ERR_SIZE);
    if (!ctx->err) {
        free(ctx);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_context_create: out of memory");
    }
    pthread_mutex_init(&ctx->err_lock, NULL);
    pthread_mutex_init(&ctx->prog_lock, NULL);
    pthread_mutex_init(&ctx->ws_lock, NULL);
    atomic_init(&ctx->stitch_async_uploads, 0);
    ctx->ws_budget = o.workspace_cache_bytes;
    ctx->backend = VXT_BACKEND_CPU;
    ctx->info.struct_size = sizeof ctx->info;
    ctx->info.platform_index = -1;
    ctx->info.device_index = -1;
    if (o.program_cache_dir && !(ctx->cache_dir = strdup(o.program_cache_dir))) {
        vxt_context_destroy(ctx);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_context_create: out of memory");
    }
    ctx->threads = o.cpu_threads ? o.cpu_threads : vxt__available_cpus();
    ctx->info.cpu_threads = ctx->threads;
    vxt_status st = vxt__pool_create(ctx->threads, &ctx->pool);
    if (st != VXT_OK) {
        vxt_context_destroy(ctx);
        return st;
    }

    if (o.backend != VXT_BACKEND_CPU) {
        int hard = 0;
        st = o.cl_context ? adopt(ctx, &o) : select_device(ctx, &o, &hard);
        if (st != VXT_OK && (o.backend == VXT_BACKEND_OPENCL || hard)) {
            /* keep the message: destroy does not touch the thread-local buffer */
            vxt_context_destroy(ctx);
            return st;
        }
        if (st != VXT_OK) { /* AUTO: fall back to the CPU backend and say why */
            snprintf(ctx->info.selection, sizeof ctx->info.selection, "auto: CPU backend with %d thread%s, because %s",
                     ctx->threads, ctx->threads == 1 ? "" : "s", vxt_last_error());
            memset(&ctx->info.probe, 0, sizeof ctx->info.probe);
            ctx->info.platform_index = ctx->info.device_index = -1;
            ctx->info.adopted = 0;
            ctx->info.platform_name[0] = ctx->info.driver_version[0] = '\0';
            ctx->err[0] = '\0';
        }
    } else {
        snprintf(ctx->info.selection, sizeof ctx->info.selection, "cpu: requested; %d thread%s", ctx->threads,
                 ctx->threads == 1 ? "" : "s");
    }
    ctx->requested = o.backend;
    if (ctx->backend == VXT_BACKEND_OPENCL && o.device_max_alloc && o.device_max_alloc < ctx->max_alloc)
        ctx->max_alloc = o.device_max_alloc;
    if (ctx->backend == VXT_BACKEND_CPU) {
        snprintf(ctx->info.device_name, sizeof ctx->info.device_name, "cpu (%d thread%s)", ctx->threads,
                 ctx->threads == 1 ? "" : "s");
        snprintf(ctx->info.probe.detail, sizeof ctx->info.probe.detail, "not run (CPU backend)");
    }
    ctx->info.backend = ctx->backend;
    *out = ctx;
    return VXT_OK;
}

void vxt_context_destroy(vxt_context *ctx)
{
    if (!ctx)
        return;
    release_cl(ctx);
    vxt__ws_release_all(ctx);
    pthread_mutex_destroy(&ctx->ws_lock);
    vxt__pool_destroy(ctx->pool);
    free(ctx->cache_dir);
    pthread_mutex_destroy(&ctx->prog_lock);
    pthread_mutex_destroy(&ctx->err_lock);
    free(ctx->err);
    free(ctx);
}

vxt_status vxt_context_get_info(const vxt_context *ctx, vxt_context_info *info)
{
    VXT_CHECK_NULL(NULL, ctx);
    VXT_CHECK_NULL(ctx, info);
    vxt_status st = vxt__check_out_struct(ctx, __func__, "vxt_context_info", info->struct_size,
                                          sizeof(vxt_context_info));
    if (st != VXT_OK)
        return st;
    vxt_context *mctx = (vxt_context *)(uintptr_t)ctx;
    vxt_context_info copy;
    pthread_mutex_lock(&mctx->prog_lock); /* counters and cache note change while programs build */
    copy = ctx->info;
    pthread_mutex_unlock(&mctx->prog_lock);
    copy.struct_size = sizeof copy;
    vxt__copy_out_struct(info, &copy, info->struct_size, sizeof copy);
    return VXT_OK;
}

vxt_status vxt_context_cl_handles(const vxt_context *ctx, struct _cl_context **cl_context,
                                  struct _cl_device_id **cl_device, struct _cl_command_queue **cl_queue)
{
    VXT_CHECK_NULL(NULL, ctx);
    if (ctx->backend != VXT_BACKEND_OPENCL)
        return vxt__fail(ctx, VXT_ERR_STATE, "vxt_context_cl_handles: the context uses the CPU backend");
    if (cl_context)
        *cl_context = ctx->cl;
    if (cl_device)
        *cl_device = ctx->device;
    if (cl_queue)
        *cl_queue = ctx->queue;
    return VXT_OK;
}
