/* program.c - OpenCL programs: embedded sources, deterministic build options, per-context cache, and the
 * on-disk binary cache (program_cache.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vxt_kernel_sources.h" /* generated at build time from kernels/ */

/* The most source strings one program is made of (headers and kernel files). */
#define VXT__PROG_MAX_SOURCES 8

typedef struct prog_def {
    const char *name;
    const char *sources[VXT__PROG_MAX_SOURCES + 1]; /* NULL-terminated */
} prog_def;

static const prog_def vxt__progs[VXT__PROG_COUNT] = {
    [VXT__PROG_PROBE] = {"probe", {vxt__src_vxt_arith_h, vxt__src_probe_cl, NULL}},
    [VXT__PROG_STITCH] = {"stitch", {vxt__src_vxt_arith_h, vxt__src_vxt_labels_h, vxt__src_vxt_stitch_h,
                                     vxt__src_stitch_cl, vxt__src_fill_cl, NULL}},
    [VXT__PROG_INTENSITY] = {"intensity", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_vxt_intensity_h,
                                           vxt__src_intensity_cl, NULL}},
    [VXT__PROG_STATS] = {"stats", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_vxt_intensity_h,
                                   vxt__src_vxt_moments_h, vxt__src_stats_cl, NULL}},
    [VXT__PROG_HISTOGRAM] = {"histogram", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_vxt_intensity_h,
                                           vxt__src_vxt_histogram_h, vxt__src_histogram_cl, vxt__src_fill_cl, NULL}},
    [VXT__PROG_RESAMPLE] = {"resample", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_vxt_resample_h,
                                         vxt__src_vxt_cubic_h, vxt__src_resample_cl, vxt__src_resample_affine_cl,
                                         vxt__src_resample_cubic_cl, NULL}},
    [VXT__PROG_PATCHES] = {"patches", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_patches_cl, NULL}},
    [VXT__PROG_LABELS] = {"labels", {vxt__src_vxt_arith_h, vxt__src_vxt_labels_h, vxt__src_labels_cl, NULL}},
    [VXT__PROG_SMOOTH] = {"smooth", {vxt__src_vxt_arith_h, vxt__src_vxt_convert_h, vxt__src_vxt_smooth_h,
                                     vxt__src_smooth_cl, NULL}},
};

const char *vxt__prog_name(vxt__prog id)
{
    return (unsigned)id < VXT__PROG_COUNT ? vxt__progs[id].name : "?";
}

size_t vxt__prog_sources(vxt__prog id, const char **sources, size_t max)
{
    size_t n = 0;
    if ((unsigned)id >= VXT__PROG_COUNT)
        return 0;
    while (n < VXT__PROG_MAX_SOURCES && vxt__progs[id].sources[n] != NULL) {
        if (n < max)
            sources[n] = vxt__progs[id].sources[n];
        n++;
    }
    return n;
}

const char *vxt__build_options(const vxt_context *ctx)
{
    return ctx->build_options;
}

uint64_t vxt__fnv1a64(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The cache key names everything the binary depends on. */
static void cache_key(const vxt_context *ctx, vxt__prog id, char *key, size_t size)
{
    const char *src[VXT__PROG_MAX_SOURCES];
    size_t ns = vxt__prog_sources(id, src, VXT__PROG_MAX_SOURCES);
    uint64_t h = VXT__FNV_INIT;
    for (size_t i = 0; i < ns; i++)
        h = vxt__fnv1a64(src[i], strlen(src[i]) + 1, h);
    snprintf(key, size, "voxtile %s|program %s|source %016llx|options %s|%s", VXT_VERSION_STRING,
             vxt__prog_name(id), (unsigned long long)h, ctx->build_options, ctx->device_key);
}

static vxt_status build_log_failure(vxt_context *ctx, vxt__prog id, cl_program prog, cl_int err)
{
    size_t len = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS && len) {
        log = malloc(len + 1);
        if (log && clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS)
            log[len] = '\0';
        else if (log)
            log[0] = '\0';
    }
    vxt_status st = vxt__fail(ctx, VXT_ERR_BUILD, "OpenCL program '%s' failed to build on '%s': %s (%d); options "
                              "'%s'; build log:\n%s",
                              vxt__prog_name(id), ctx->info.device_name, vxt__cl_error_name(err), err,
                              ctx->build_options, log ? log : "(no log)");
    free(log);
    return st;
}

/* Build from source, or from a disk-cached binary when one matches. Called with prog_lock held. */
static vxt_status build_program(vxt_context *ctx, vxt__prog id, cl_program *out)
{
    cl_int err = CL_SUCCESS;
    char key[4096];
    cache_key(ctx, id, key, sizeof key);

    if (ctx->cache_dir) {
        unsigned char *bin = NULL;
        size_t bin_size = 0;
        vxt__disk_cache_load(ctx->cache_dir, key, &bin, &bin_size, ctx->info.cache_note,
                             sizeof ctx->info.cache_note);
        if (bin) {
            const unsigned char *bins[1] = {bin};
            cl_int bin_status = CL_SUCCESS;
            cl_program prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &bin_size, bins, &bin_status, &err);
            free(bin);
            if (err == CL_SUCCESS && bin_status == CL_SUCCESS) {
                err = clBuildProgram(prog, 1, &ctx->device, ctx->build_options, NULL, NULL);
                if (err == CL_SUCCESS) {
                    ctx->info.programs_from_disk++;
                    *out = prog;
                    return VXT_OK;
                }
            }
            if (prog)
                clReleaseProgram(prog);
            snprintf(ctx->info.cache_note, sizeof ctx->info.cache_note,
                     "cached binary for program '%s' rejected by the driver (%s); rebuilt from source",
                     vxt__prog_name(id), vxt__cl_error_name(err != CL_SUCCESS ? err : bin_status));
        }
    }

    const char *src[VXT__PROG_MAX_SOURCES];
    size_t ns = vxt__prog_sources(id, src, VXT__PROG_MAX_SOURCES);
    cl_program prog = clCreateProgramWithSource(ctx->cl, (cl_uint)ns, src, NULL, &err);
    if (err != CL_SUCCESS)
        return vxt__fail(ctx, VXT_ERR_OPENCL, "clCreateProgramWithSource('%s') failed: %s (%d)", vxt__prog_name(id),
                         vxt__cl_error_name(err), err);
    err = clBuildProgram(prog, 1, &ctx->device, ctx->build_options, NULL, NULL);
    if (err != CL_SUCCESS) {
        vxt_status st = build_log_failure(ctx, id, prog, err);
        clReleaseProgram(prog);
        return st;
    }
    ctx->info.programs_built++;

    if (ctx->cache_dir) {
        size_t bin_size = 0;
        err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL);
        if (err == CL_SUCCESS && bin_size > 0) {
            unsigned char *bin = malloc(bin_size);
            if (bin) {
                unsigned char *bins[1] = {bin};
                if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
                    vxt__disk_cache_store(ctx->cache_dir, key, bin, bin_size, ctx->info.cache_note,
                                          sizeof ctx->info.cache_note);
                free(bin);
            }
        }
    }
    *out = prog;
    return VXT_OK;
}

vxt_status vxt__program_get(vxt_context *ctx, vxt__prog id, cl_program *out)
{
    *out = NULL;
    if (ctx->backend != VXT_BACKEND_OPENCL || ctx->cl == NULL)
        return vxt__fail(ctx, VXT_ERR_STATE, "OpenCL program requested on a context without an OpenCL device");
    if ((unsigned)id >= VXT__PROG_COUNT)
        return vxt__fail(ctx, VXT_ERR_INTERNAL, "unknown program id %d", (int)id);
    vxt_status st = VXT_OK;
    pthread_mutex_lock(&ctx->prog_lock);
    if (ctx->programs[id] == NULL)
        st = build_program(ctx, id, &ctx->programs[id]);
    *out = ctx->programs[id];
    pthread_mutex_unlock(&ctx->prog_lock);
    return st;
}

vxt_status vxt__kernel_create(vxt_context *ctx, vxt__prog id, const char *name, cl_kernel *out)
{
    *out = NULL;
    cl_program prog = NULL;
    vxt_status st = vxt__program_get(ctx, id, &prog);
    if (st != VXT_OK)
        return st;
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS)
        return vxt__fail(ctx, VXT_ERR_OPENCL, "clCreateKernel('%s') failed: %s (%d)", name, vxt__cl_error_name(err),
                         err);
    *out = k;
    return VXT_OK;
}
