/* vxt_clshim.c - an OpenCL interposer for the tests, loaded with LD_PRELOAD in front of the ICD loader. It forwards
 * every OpenCL call voxtile and its tests make to the real implementation (dlsym(RTLD_NEXT)), and can do two things
 * on the way, chosen by environment variables:
 *
 *   VXT_CLSHIM_SERIALIZE=1     one lock around every call. Oclgrind's runtime is not thread-safe (its issue #28:
 *                              concurrent calls crash it), while OpenCL 1.2 requires every call but clSetKernelArg to
 *                              be; voxtile calls OpenCL from several threads (its accumulation thread, shared
 *                              contexts). With the lock, Oclgrind sees one call at a time. Blocking calls may hold
 *                              the lock: nothing voxtile waits for needs another thread's call (no user events).
 *
 *   VXT_CLSHIM_HOST_COPIES=1   buffers created with CL_MEM_USE_HOST_PTR get a device copy of their own, as a discrete
 *                              or caching device may keep: the host memory is copied in at creation, copied to the
 *                              host on clEnqueueMapBuffer (unless the map invalidates) and back on the unmap of a
 *                              writing map, and at no other time. A host write to such memory that is not made
 *                              through a mapping (or a write command) is then invisible to the kernels, and a device
 *                              write is invisible to the host until a mapping: what the OpenCL specification allows
 *                              (5.2.1, CL_MEM_USE_HOST_PTR; 5.4.2, mapping). PoCL, which shares host memory, forgives
 *                              it; the tests run under this shim on PoCL do not.
 *
 * Test-only code: it is never part of the library. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_serialize, g_copies;

static void read_settings(void)
{
    const char *s = getenv("VXT_CLSHIM_SERIALIZE"), *c = getenv("VXT_CLSHIM_HOST_COPIES");
    g_copies = c && *c && strcmp(c, "0") != 0;
    g_serialize = (s && *s && strcmp(s, "0") != 0) || g_copies; /* the copy tables need the lock too */
}

static void settings(void)
{
    pthread_once(&g_once, read_settings);
}

/* What the shim does in this process, for the test harness (tests/vxt_test.c) to check that a run meant to be under
 * it is: bit 0 serializing, bit 1 device copies. A preload that failed leaves the symbol undefined (ld.so only warns). */
__attribute__((visibility("default"))) int vxt_clshim_mode(void);
int vxt_clshim_mode(void)
{
    settings();
    return (g_serialize ? 1 : 0) | (g_copies ? 2 : 0);
}

static void *real_fn(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "vxt_clshim: %s not found behind the shim\n", name);
        abort();
    }
    return f;
}

#define LOCK()                                                                                                       \
    do {                                                                                                             \
        settings();                                                                                                  \
        if (g_serialize)                                                                                             \
            pthread_mutex_lock(&g_lock);                                                                             \
    } while (0)
#define UNLOCK()                                                                                                     \
    do {                                                                                                             \
        if (g_serialize)                                                                                             \
            pthread_mutex_unlock(&g_lock);                                                                           \
    } while (0)

/* A forwarding function: the real one is looked up once, the call made under the lock when serializing. */
#define FWD(ret, name, params, args)                                                                                 \
    CL_API_ENTRY ret CL_API_CALL name params                                                                        \
    {                                                                                                                \
        static ret(CL_API_CALL * shim_real_) params;                                                                \
        LOCK();                                                                                                      \
        if (!shim_real_)                                                                                             \
            *(void **)&shim_real_ = real_fn(#name);                                                                  \
        ret shim_ret_ = shim_real_ args;                                                                             \
        UNLOCK();                                                                                                    \
        return shim_ret_;                                                                                            \
    }


/* ---- buffers with a device copy of their own (VXT_CLSHIM_HOST_COPIES) --------------------------------------- */

typedef struct shadow {
    cl_mem mem;
    unsigned char *host;
    size_t bytes;
    unsigned refs; /* the application's references (create, retains, releases): the implementation's own retains
                      for commands in flight are not counted, so a released handle the implementation reuses for a
                      new buffer is never taken for the old one */
} shadow;

typedef struct mapping {
    cl_mem mem;
    void *host, *dev; /* what the caller got (its memory), what the implementation mapped */
    size_t bytes;
    cl_map_flags flags;
} mapping;

static shadow *g_shadows;
static size_t g_nshadows, g_capshadows;
static mapping *g_maps;
static size_t g_nmaps, g_capmaps;

static shadow *find_shadow(cl_mem m)
{
    for (size_t i = 0; i < g_nshadows; i++)
        if (g_shadows[i].mem == m)
            return &g_shadows[i];
    return NULL;
}

static int grow(void **p, size_t *cap, size_t n, size_t es)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? 2 * *cap : 64;
    void *q = realloc(*p, c * es);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

CL_API_ENTRY cl_mem CL_API_CALL clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host_ptr,
                                               cl_int *errcode_ret)
{
    static cl_mem(CL_API_CALL * real)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    LOCK();
    if (!real)
        *(void **)&real = real_fn("clCreateBuffer");
    cl_mem m;
    if (g_copies && (flags & CL_MEM_USE_HOST_PTR) && host_ptr) {
        /* a device copy, holding the host memory's content at creation (as USE_HOST_PTR defines it) */
        m = real(context, (flags & ~(cl_mem_flags)CL_MEM_USE_HOST_PTR) | CL_MEM_COPY_HOST_PTR, size, host_ptr,
                 errcode_ret);
        shadow *stale = m ? find_shadow(m) : NULL;
        if (stale) /* see below */
            *stale = g_shadows[--g_nshadows];
        if (m && grow((void **)&g_shadows, &g_capshadows, g_nshadows, sizeof *g_shadows))
            g_shadows[g_nshadows++] = (shadow){m, host_ptr, size, 1u};
    } else {
        m = real(context, flags, size, host_ptr, errcode_ret);
        /* a handle the application released while it still had a shadow (a leak of its own), now reused */
        shadow *stale = g_copies && m ? find_shadow(m) : NULL;
        if (stale)
            *stale = g_shadows[--g_nshadows];
    }
    UNLOCK();
    return m;
}

CL_API_ENTRY cl_int CL_API_CALL clReleaseMemObject(cl_mem memobj)
{
    static cl_int(CL_API_CALL * real)(cl_mem);
    LOCK();
    if (!real)
        *(void **)&real = real_fn("clReleaseMemObject");
    shadow *s = g_copies ? find_shadow(memobj) : NULL;
    if (s && --s->refs == 0) {
        /* the application's last reference: forget it and its mappings (the handle may be reused) */
        *s = g_shadows[--g_nshadows];
        for (size_t i = 0; i < g_nmaps;)
            if (g_maps[i].mem == memobj)
                g_maps[i] = g_maps[--g_nmaps];
            else
                i++;
    }
    cl_int r = real(memobj);
    UNLOCK();
    return r;
}

CL_API_ENTRY cl_int CL_API_CALL clRetainMemObject(cl_mem memobj)
{
    static cl_int(CL_API_CALL * real)(cl_mem);
    LOCK();
    if (!real)
        *(void **)&real = real_fn("clRetainMemObject");
    shadow *s = g_copies ? find_shadow(memobj) : NULL;
    cl_int r = real(memobj);
    if (s && r == CL_SUCCESS)
        s->refs++;
    UNLOCK();
    return r;
}

CL_API_ENTRY void *CL_API_CALL clEnqueueMapBuffer(cl_command_queue q, cl_mem buffer, cl_bool blocking,
                                                  cl_map_flags flags, size_t offset, size_t size, cl_uint nwait,
                                                  const cl_event *wait, cl_event *event, cl_int *errcode_ret)
{
    static void *(CL_API_CALL * real)(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t, size_t, cl_uint,
                                      const cl_event *, cl_event *, cl_int *);
    LOCK();
    if (!real)
        *(void **)&real = real_fn("clEnqueueMapBuffer");
    shadow *s = g_copies ? find_shadow(buffer) : NULL;
    void *p;
    if (!s) {
        p = real(q, buffer, blocking, flags, offset, size, nwait, wait, event, errcode_ret);
    } else {
        cl_int err = CL_SUCCESS;
        p = NULL;
        if (!grow((void **)&g_maps, &g_capmaps, g_nmaps, sizeof *g_maps)) { /* room first: nothing mapped on failure */
            err = CL_OUT_OF_HOST_MEMORY;
        } else {
            void *dev = real(q, buffer, CL_TRUE, flags, offset, size, nwait, wait, event, &err);
            if (err == CL_SUCCESS) {
                if (!(flags & CL_MAP_WRITE_INVALIDATE_REGION))
                    memcpy(s->host + offset, dev, size); /* the device's content becomes visible in the host memory */
                p = s->host + offset;
                g_maps[g_nmaps++] = (mapping){buffer, p, dev, size, flags};
            }
        }
        if (errcode_ret)
            *errcode_ret = err;
    }
    UNLOCK();
    return p;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueUnmapMemObject(cl_command_queue q, cl_mem memobj, void *mapped, cl_uint nwait,
                                                        const cl_event *wait, cl_event *event)
{
    static cl_int(CL_API_CALL * real)(cl_command_queue, cl_mem, void *, cl_uint, const cl_event *, cl_event *);
    LOCK();
    if (!real)
        *(void **)&real = real_fn("clEnqueueUnmapMemObject");
    cl_int r;
    size_t i = 0;
    while (g_copies && i < g_nmaps && !(g_maps[i].mem == memobj && g_maps[i].host == mapped))
        i++;
    if (g_copies && i < g_nmaps) {
        mapping m = g_maps[i];
        g_maps[i] = g_maps[--g_nmaps];
        if (m.flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))
            memcpy(m.dev, m.host, m.bytes); /* the host's writes through the mapping reach the device copy */
        r = real(q, memobj, m.dev, nwait, wait, event);
    } else {
        r = real(q, memobj, mapped, nwait, wait, event);
    }
    UNLOCK();
    return r;
}

/* ---- everything else: forwarded ------------------------------------------------------------------------------ */

FWD(cl_int, clGetPlatformIDs, (cl_uint n, cl_platform_id *p, cl_uint *np), (n, p, np))
FWD(cl_int, clGetPlatformInfo, (cl_platform_id p, cl_platform_info i, size_t s, void *v, size_t *r), (p, i, s, v, r))
FWD(cl_int, clGetDeviceIDs, (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *nd),
    (p, t, n, d, nd))
FWD(cl_int, clGetDeviceInfo, (cl_device_id d, cl_device_info i, size_t s, void *v, size_t *r), (d, i, s, v, r))
FWD(cl_int, clRetainDevice, (cl_device_id d), (d))
FWD(cl_int, clReleaseDevice, (cl_device_id d), (d))
FWD(cl_context, clCreateContext,
    (const cl_context_properties *p, cl_uint n, const cl_device_id *d,
     void(CL_CALLBACK *f)(const char *, const void *, size_t, void *), void *u, cl_int *e),
    (p, n, d, f, u, e))
FWD(cl_int, clRetainContext, (cl_context c), (c))
FWD(cl_int, clReleaseContext, (cl_context c), (c))
FWD(cl_int, clGetContextInfo, (cl_context c, cl_context_info i, size_t s, void *v, size_t *r), (c, i, s, v, r))
FWD(cl_command_queue, clCreateCommandQueue, (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *e),
    (c, d, p, e))
FWD(cl_int, clRetainCommandQueue, (cl_command_queue q), (q))
FWD(cl_int, clReleaseCommandQueue, (cl_command_queue q), (q))
FWD(cl_int, clGetCommandQueueInfo, (cl_command_queue q, cl_command_queue_info i, size_t s, void *v, size_t *r),
    (q, i, s, v, r))
FWD(cl_int, clGetMemObjectInfo, (cl_mem m, cl_mem_info i, size_t s, void *v, size_t *r), (m, i, s, v, r))
FWD(cl_program, clCreateProgramWithSource, (cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *e),
    (c, n, s, l, e))
FWD(cl_program, clCreateProgramWithBinary,
    (cl_context c, cl_uint n, const cl_device_id *d, const size_t *l, const unsigned char **b, cl_int *st,
     cl_int *e),
    (c, n, d, l, b, st, e))
FWD(cl_int, clRetainProgram, (cl_program p), (p))
FWD(cl_int, clReleaseProgram, (cl_program p), (p))
FWD(cl_int, clBuildProgram,
    (cl_program p, cl_uint n, const cl_device_id *d, const char *o, void(CL_CALLBACK *f)(cl_program, void *),
     void *u),
    (p, n, d, o, f, u))
FWD(cl_int, clGetProgramInfo, (cl_program p, cl_program_info i, size_t s, void *v, size_t *r), (p, i, s, v, r))
FWD(cl_int, clGetProgramBuildInfo, (cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void *v, size_t *r),
    (p, d, i, s, v, r))
FWD(cl_kernel, clCreateKernel, (cl_program p, const char *n, cl_int *e), (p, n, e))
FWD(cl_int, clRetainKernel, (cl_kernel k), (k))
FWD(cl_int, clReleaseKernel, (cl_kernel k), (k))
FWD(cl_int, clSetKernelArg, (cl_kernel k, cl_uint i, size_t s, const void *v), (k, i, s, v))
FWD(cl_int, clGetKernelInfo, (cl_kernel k, cl_kernel_info i, size_t s, void *v, size_t *r), (k, i, s, v, r))
FWD(cl_int, clGetKernelWorkGroupInfo, (cl_kernel k, cl_device_id d, cl_kernel_work_group_info i, size_t s, void *v, size_t *r),
    (k, d, i, s, v, r))
FWD(cl_int, clWaitForEvents, (cl_uint n, const cl_event *e), (n, e))
FWD(cl_int, clGetEventInfo, (cl_event e, cl_event_info i, size_t s, void *v, size_t *r), (e, i, s, v, r))
FWD(cl_int, clGetEventProfilingInfo, (cl_event e, cl_profiling_info i, size_t s, void *v, size_t *r), (e, i, s, v, r))
FWD(cl_int, clRetainEvent, (cl_event e), (e))
FWD(cl_int, clReleaseEvent, (cl_event e), (e))
FWD(cl_int, clFlush, (cl_command_queue q), (q))
FWD(cl_int, clFinish, (cl_command_queue q), (q))
FWD(cl_int, clEnqueueReadBuffer,
    (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void *p, cl_uint n, const cl_event *w, cl_event *e),
    (q, m, b, o, s, p, n, w, e))
FWD(cl_int, clEnqueueWriteBuffer,
    (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void *p, cl_uint n, const cl_event *w,
     cl_event *e),
    (q, m, b, o, s, p, n, w, e))
FWD(cl_int, clEnqueueCopyBuffer,
    (cl_command_queue q, cl_mem a, cl_mem b, size_t oa, size_t ob, size_t s, cl_uint n, const cl_event *w, cl_event *e),
    (q, a, b, oa, ob, s, n, w, e))
FWD(cl_int, clEnqueueFillBuffer,
    (cl_command_queue q, cl_mem m, const void *p, size_t ps, size_t o, size_t s, cl_uint n, const cl_event *w,
     cl_event *e),
    (q, m, p, ps, o, s, n, w, e))
FWD(cl_int, clEnqueueNDRangeKernel,
    (cl_command_queue q, cl_kernel k, cl_uint d, const size_t *go, const size_t *gs, const size_t *ls, cl_uint n,
     const cl_event *w, cl_event *e),
    (q, k, d, go, gs, ls, n, w, e))
FWD(cl_int, clEnqueueMarkerWithWaitList, (cl_command_queue q, cl_uint n, const cl_event *w, cl_event *e), (q, n, w, e))
FWD(cl_int, clEnqueueBarrierWithWaitList, (cl_command_queue q, cl_uint n, const cl_event *w, cl_event *e), (q, n, w, e))
