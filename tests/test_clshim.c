/* test_clshim.c - the test shim's device copies (tests/clshim/vxt_clshim.c, VXT_CLSHIM_HOST_COPIES) enforce what the
 * OpenCL specification says of CL_MEM_USE_HOST_PTR buffers: host writes reach the kernels only through a mapping or
 * a write command, and kernel writes reach the host only through a mapping. This is the proof that the
 * `*.opencl_host_copies` tests (voxtile's OpenCL tests under the shim) would fail if voxtile wrote host memory behind
 * a buffer without the required command: here such a write is made on purpose and the device must not see it.
 * Run under the shim only (CTest sets LD_PRELOAD); without it the group skips. */
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>

#include "vxt_test.h"

enum { N = 4096 };

static const char *SRC = "__kernel void twice(__global const float *a, __global float *b) {\n"
                         "    size_t i = get_global_id(0); b[i] = 2.0f * a[i];\n"
                         "}\n";

typedef struct cl_env {
    cl_context ctx;
    cl_command_queue q;
    cl_kernel k;
    cl_program p;
} cl_env;

static void env_open(cl_env *e)
{
    cl_platform_id pl;
    cl_device_id d;
    cl_int err;
    assert_int_equal(clGetPlatformIDs(1, &pl, NULL), CL_SUCCESS);
    assert_int_equal(clGetDeviceIDs(pl, CL_DEVICE_TYPE_ALL, 1, &d, NULL), CL_SUCCESS);
    e->ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    e->q = clCreateCommandQueue(e->ctx, d, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    e->p = clCreateProgramWithSource(e->ctx, 1, &SRC, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clBuildProgram(e->p, 1, &d, "", NULL, NULL), CL_SUCCESS);
    e->k = clCreateKernel(e->p, "twice", &err);
    assert_int_equal(err, CL_SUCCESS);
}

static void env_close(cl_env *e)
{
    clReleaseKernel(e->k);
    clReleaseProgram(e->p);
    clReleaseCommandQueue(e->q);
    clReleaseContext(e->ctx);
}

static void run_twice(cl_env *e, cl_mem a, cl_mem b)
{
    size_t n = N;
    assert_int_equal(clSetKernelArg(e->k, 0, sizeof a, &a), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(e->k, 1, sizeof b, &b), CL_SUCCESS);
    assert_int_equal(clEnqueueNDRangeKernel(e->q, e->k, 1, NULL, &n, NULL, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clFinish(e->q), CL_SUCCESS);
}

static void fill(float *v, uint64_t seed)
{
    vxt_rng r = {seed};
    for (size_t i = 0; i < N; i++)
        v[i] = vxt_rng_uniform(&r, 1.0f, 2.0f);
}

static int shimmed(void)
{
    const char *c = getenv("VXT_CLSHIM_HOST_COPIES");
    return c && strcmp(c, "1") == 0 && getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "clshim");
}

/* A host write after the buffer's creation, with no mapping: the kernel reads the content at creation. With it
 * made through a mapping, the kernel reads the new values. */
static void test_host_writes_need_a_mapping(void **state)
{
    (void)state;
    if (!shimmed())
        skip();
    cl_env e;
    env_open(&e);
    float *host = malloc(N * sizeof(float)), *old = malloc(N * sizeof(float)), *got = malloc(N * sizeof(float));
    assert_non_null(host);
    assert_non_null(old);
    assert_non_null(got);
    fill(host, 1);
    memcpy(old, host, N * sizeof(float));
    cl_int err;
    cl_mem a = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, N * sizeof(float), host, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem b = clCreateBuffer(e.ctx, CL_MEM_WRITE_ONLY, N * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);

    fill(host, 2); /* the violation: no mapping, no write command */
    run_twice(&e, a, b);
    assert_int_equal(clEnqueueReadBuffer(e.q, b, CL_TRUE, 0, N * sizeof(float), got, 0, NULL, NULL), CL_SUCCESS);
    for (size_t i = 0; i < N; i++)
        assert_true(got[i] == 2.0f * old[i]); /* the device never saw the write */

    /* the same write through a mapping is seen */
    float *m = clEnqueueMapBuffer(e.q, a, CL_TRUE, CL_MAP_WRITE, 0, N * sizeof(float), 0, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_ptr_equal(m, host); /* USE_HOST_PTR maps to the host memory */
    fill(m, 3);
    assert_int_equal(clEnqueueUnmapMemObject(e.q, a, m, 0, NULL, NULL), CL_SUCCESS);
    run_twice(&e, a, b);
    assert_int_equal(clEnqueueReadBuffer(e.q, b, CL_TRUE, 0, N * sizeof(float), got, 0, NULL, NULL), CL_SUCCESS);
    for (size_t i = 0; i < N; i++)
        assert_true(got[i] == 2.0f * host[i]);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    free(host);
    free(old);
    free(got);
    env_close(&e);
}

/* A kernel's writes into a USE_HOST_PTR buffer reach the host memory only through a mapping. */
static void test_device_writes_need_a_mapping(void **state)
{
    (void)state;
    if (!shimmed())
        skip();
    cl_env e;
    env_open(&e);
    float *src = malloc(N * sizeof(float)), *host = malloc(N * sizeof(float)), *before = malloc(N * sizeof(float));
    assert_non_null(src);
    assert_non_null(host);
    assert_non_null(before);
    fill(src, 4);
    fill(host, 5);
    memcpy(before, host, N * sizeof(float));
    cl_int err;
    cl_mem a = clCreateBuffer(e.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, N * sizeof(float), src, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem b = clCreateBuffer(e.ctx, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR, N * sizeof(float), host, &err);
    assert_int_equal(err, CL_SUCCESS);
    run_twice(&e, a, b);
    assert_memory_equal(host, before, N * sizeof(float)); /* not yet visible */
    float *m = clEnqueueMapBuffer(e.q, b, CL_TRUE, CL_MAP_READ, 0, N * sizeof(float), 0, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_ptr_equal(m, host);
    for (size_t i = 0; i < N; i++)
        assert_true(host[i] == 2.0f * src[i]);
    assert_int_equal(clEnqueueUnmapMemObject(e.q, b, m, 0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    free(src);
    free(host);
    free(before);
    env_close(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_host_writes_need_a_mapping),
        cmocka_unit_test(test_device_writes_need_a_mapping),
    };
    const vxt_test_group groups[] = {VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 1);
}
