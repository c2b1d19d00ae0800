/* bench_cl_bandwidth.c - an OpenCL device's transfer bandwidths, the bounds a discrete GPU's stitching time is compared
 * to (docs/DEVICE-CHECK.md): host to device and device to host from ordinary (pageable, malloc) memory and from pinned
 * memory (a CL_MEM_ALLOC_HOST_PTR buffer, mapped: what NVIDIA's driver backs with page-locked memory), and device
 * memory to device memory (clEnqueueCopyBuffer). Each figure is the median of --reps timed transfers of --mib MiB of
 * random non-zero float32 data after one untimed transfer; the device-to-device copy is checked bit for bit after.
 *
 * Usage: vxt_bench_cl_bandwidth [--platform P --device D] [--mib N] [--reps N]. Without --platform/--device: the first
 * GPU of all platforms, else the first device. Prints one JSON object: GB/s are 1e9 bytes per second of transferred
 * bytes; d2d_copy_gbs counts each byte copied once, d2d_traffic_gbs twice (read and written, the way the stitching
 * benchmark's byte counts count memory traffic). Exit status 0 when every transfer succeeded, 1 otherwise. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

typedef struct vxt__bw_ctx {
    cl_context ctx;
    cl_command_queue q;
    cl_mem dev_a, dev_b;
    size_t bytes;
    int reps;
} vxt__bw_ctx;

static int vxt__bw_check(cl_int err, const char *what)
{
    if (err != CL_SUCCESS) {
        fprintf(stderr, "vxt_bench_cl_bandwidth: %s failed: OpenCL error %d\n", what, (int)err);
        return 1;
    }
    return 0;
}

/* What one timed transfer does; kind: 0 write host->dev_a, 1 read dev_a->host, 2 copy dev_a->dev_b. */
static cl_int vxt__bw_once(const vxt__bw_ctx *c, int kind, void *host)
{
    cl_int err;
    if (kind == 0)
        err = clEnqueueWriteBuffer(c->q, c->dev_a, CL_TRUE, 0, c->bytes, host, 0, NULL, NULL);
    else if (kind == 1)
        err = clEnqueueReadBuffer(c->q, c->dev_a, CL_TRUE, 0, c->bytes, host, 0, NULL, NULL);
    else
        err = clEnqueueCopyBuffer(c->q, c->dev_a, c->dev_b, 0, 0, c->bytes, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(c->q);
    return err;
}

/* GB/s of the median of c->reps timed transfers (one untimed first); negative on an OpenCL error. */
static double vxt__bw_measure(const vxt__bw_ctx *c, int kind, void *host, const char *what)
{
    double *t = malloc((size_t)c->reps * sizeof(double));
    if (!t || vxt__bw_check(vxt__bw_once(c, kind, host), what)) {
        free(t);
        return -1.0;
    }
    for (int r = 0; r < c->reps; r++) {
        double t0 = vxt_bench_now();
        if (vxt__bw_check(vxt__bw_once(c, kind, host), what)) {
            free(t);
            return -1.0;
        }
        t[r] = vxt_bench_now() - t0;
    }
    double med = vxt_bench_median(t, c->reps);
    free(t);
    return (double)c->bytes / med * 1e-9;
}

/* The device: --platform/--device when given, else the first GPU, else the first device. */
static int vxt__bw_pick(int want_p, int want_d, cl_platform_id *pp, cl_device_id *dp)
{
    cl_platform_id plats[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS || np == 0) {
        fprintf(stderr, "vxt_bench_cl_bandwidth: no OpenCL platform\n");
        return 1;
    }
    if (np > 16) /* the count is the total; the first 16 were written */
        np = 16;
    int found = 0;
    for (int pass = 0; pass < 2 && !found; pass++)
        for (cl_uint p = 0; p < np && !found; p++) {
            cl_device_id devs[16];
            cl_uint nd = 0;
            if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
                continue;
            if (nd > 16)
                nd = 16;
            for (cl_uint d = 0; d < nd && !found; d++) {
                cl_device_type type = 0;
                clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
                int match = want_p >= 0 ? (int)p == want_p && (int)d == want_d
                                        : pass == 1 || (type & CL_DEVICE_TYPE_GPU) != 0;
                if (match) {
                    *pp = plats[p];
                    *dp = devs[d];
                    found = 1;
                }
            }
        }
    if (!found)
        fprintf(stderr, "vxt_bench_cl_bandwidth: no such OpenCL device\n");
    return !found;
}

/* A JSON string's characters: the printable ASCII of s other than quote and backslash. */
static void vxt__bw_json_text(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 32 || (unsigned char)*s > 126)
            *s = ' ';
}

int main(int argc, char **argv)
{
    int want_p = -1, want_d = -1, mib = 256, reps = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--platform") && i + 1 < argc)
            want_p = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            want_d = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--platform P --device D] [--mib N] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (mib < 1 || mib > 65536 || reps < 1 || reps > 1000 || (want_p >= 0) != (want_d >= 0)) {
        fprintf(stderr, "--mib: 1 to 65536; --reps: 1 to 1000; --platform and --device together\n");
        return 2;
    }
    cl_platform_id plat;
    cl_device_id dev;
    if (vxt__bw_pick(want_p, want_d, &plat, &dev))
        return 1;
    char name[256] = "", platform[256] = "", driver[256] = "";
    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
    clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    vxt__bw_json_text(name);
    vxt__bw_json_text(platform);
    vxt__bw_json_text(driver);

    vxt__bw_ctx c = {0};
    c.bytes = (size_t)mib << 20;
    c.reps = reps;
    cl_int err;
    c.ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (vxt__bw_check(err, "clCreateContext"))
        return 1;
    c.q = clCreateCommandQueue(c.ctx, dev, 0, &err);
    if (vxt__bw_check(err, "clCreateCommandQueue"))
        return 1;
    c.dev_a = clCreateBuffer(c.ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
    if (vxt__bw_check(err, "clCreateBuffer (device)"))
        return 1;
    c.dev_b = clCreateBuffer(c.ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
    if (vxt__bw_check(err, "clCreateBuffer (device)"))
        return 1;
    cl_mem pinned = clCreateBuffer(c.ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, c.bytes, NULL, &err);
    if (vxt__bw_check(err, "clCreateBuffer (CL_MEM_ALLOC_HOST_PTR)"))
        return 1;
    float *pin = clEnqueueMapBuffer(c.q, pinned, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, c.bytes, 0, NULL, NULL, &err);
    if (vxt__bw_check(err, "clEnqueueMapBuffer"))
        return 1;
    const size_t n = c.bytes / sizeof(float);
    float *page = malloc(c.bytes), *back = malloc(c.bytes);
    if (!page || !back) {
        fprintf(stderr, "vxt_bench_cl_bandwidth: out of memory\n");
        return 1;
    }
    vxt_bench_fill_uniform(page, n, 1.0f, 2.0f, 42); /* random, never zero: no transfer can be skipped */
    vxt_bench_fill_uniform(pin, n, 1.0f, 2.0f, 43);
    memset(back, 0, c.bytes);

    double h2d_page = vxt__bw_measure(&c, 0, page, "host to device (pageable)");
    double d2h_page = vxt__bw_measure(&c, 1, back, "device to host (pageable)");
    int verified = h2d_page > 0 && d2h_page > 0 && memcmp(page, back, c.bytes) == 0;
    double h2d_pin = vxt__bw_measure(&c, 0, pin, "host to device (pinned)");
    double d2h_pin = vxt__bw_measure(&c, 1, pin, "device to host (pinned)");
    /* dev_a holds pin's data now: the copy's result must be those bits */
    double d2d = vxt__bw_measure(&c, 2, NULL, "device to device (clEnqueueCopyBuffer)");
    if (d2d > 0) {
        verified = verified &&
                   clEnqueueReadBuffer(c.q, c.dev_b, CL_TRUE, 0, c.bytes, back, 0, NULL, NULL) == CL_SUCCESS &&
                   memcmp(pin, back, c.bytes) == 0;
    }
    const int ok = h2d_page > 0 && d2h_page > 0 && h2d_pin > 0 && d2h_pin > 0 && d2d > 0 && verified;
    printf("{\"device\":\"%s\",\"platform\":\"%s\",\"driver\":\"%s\",\"host_unified_memory\":%s,\"bytes\":%zu,"
           "\"reps\":%d,\"h2d_pageable_gbs\":%.3f,\"d2h_pageable_gbs\":%.3f,\"h2d_pinned_gbs\":%.3f,"
           "\"d2h_pinned_gbs\":%.3f,\"d2d_copy_gbs\":%.3f,\"d2d_traffic_gbs\":%.3f,\"verified\":%s,\"ok\":%s}\n",
           name, platform, driver, unified ? "true" : "false", c.bytes, reps, h2d_page, d2h_page, h2d_pin, d2h_pin,
           d2d, d2d > 0 ? 2.0 * d2d : d2d, verified ? "true" : "false", ok ? "true" : "false");

    clEnqueueUnmapMemObject(c.q, pinned, pin, 0, NULL, NULL);
    clFinish(c.q);
    clReleaseMemObject(pinned);
    clReleaseMemObject(c.dev_a);
    clReleaseMemObject(c.dev_b);
    clReleaseCommandQueue(c.q);
    clReleaseContext(c.ctx);
    free(page);
    free(back);
    return ok ? 0 : 1;
}
