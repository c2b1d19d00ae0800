/*
 * opencl_internal.h - OpenCL helpers: enumeration and description of devices, checked buffers, transfers and
 * launches, embedded programs with their on-disk cache, and the determinism probe. Not installed.
 */
#ifndef VXT_OPENCL_INTERNAL_H
#define VXT_OPENCL_INTERNAL_H

#include "backend.h"

/* ---- OpenCL helpers (opencl/cl_util.c) ----------------------------------------------------------- */

const char *vxt__cl_error_name(cl_int err);

/* Enumerate platforms: *platforms is malloc'd (free it), *n may be 0. Returns VXT_OK also when the ICD
 * loader reports no platform (then *n = 0 and *why describes the loader's answer). */
vxt_status vxt__cl_platforms(const vxt_context *ctx, cl_platform_id **platforms, cl_uint *n, cl_int *why);

/* Devices of a platform (all types). *devices is malloc'd. */
vxt_status vxt__cl_devices(const vxt_context *ctx, cl_platform_id platform, cl_device_id **devices,
                           cl_uint *n);

/* Fill a vxt_device_info (struct_size must already be set). */
vxt_status vxt__cl_describe_device(const vxt_context *ctx, cl_platform_id platform, cl_device_id device,
                                   vxt_device_info *info);

/* ---- OpenCL execution (opencl/cl_exec.c) --------------------------------------------------------- */

/* CL error -> status (VXT_ERR_OUT_OF_MEMORY for allocation failures, else VXT_ERR_OPENCL) with a message
 * "<what>: CL_ERROR_NAME (code) on '<device>'". VXT_OK for CL_SUCCESS. */
vxt_status vxt__cl_check(const vxt_context *ctx, cl_int err, const char *what);

/* clCreateBuffer, refusing sizes above CL_DEVICE_MAX_MEM_ALLOC_SIZE with VXT_ERR_UNSUPPORTED. */
vxt_status vxt__cl_buffer(const vxt_context *ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what,
                          cl_mem *out);

/* Blocking transfers. */
vxt_status vxt__cl_write(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, const void *src,
                         const char *what);
vxt_status vxt__cl_read(const vxt_context *ctx, cl_mem m, size_t offset, size_t bytes, void *dst, const char *what);

/* Enqueue n 32-bit values v from element `off` of m with `fill`, a vxt_k_fill_u32 kernel of the caller's program
 * (kernels/common/fill.cl): clEnqueueFillBuffer's work, as a kernel, whose stores Oclgrind tracks (its fill is not
 * marked initialized). Not blocking. */
vxt_status vxt__cl_fill_u32(const vxt_context *ctx, cl_kernel fill, cl_mem m, size_t off, size_t n, cl_uint v,
                            const char *what);

/* Enqueue `k` over items[0..dims) work-items (dimension 0 fastest), work-groups of ctx->wg (64 x 1), global
 * rounded up: kernels must bound-check. Nothing is enqueued when any items[d] is 0. */
vxt_status vxt__cl_launch(const vxt_context *ctx, cl_kernel k, cl_uint dims, const size_t *items, const char *name);
vxt_status vxt__cl_finish(const vxt_context *ctx, const char *what);

/* Set kernel argument i to the value v (an lvalue); evaluates to the cl_int result. */
#define VXT_CL_ARG(k, i, v) clSetKernelArg((k), (cl_uint)(i), sizeof(v), &(v))

/* ---- programs (opencl/program.c, opencl/program_cache.c) ----------------------------------------- */


/* The embedded sources of a program, in order, and its name (for messages and cache keys). */
const char *vxt__prog_name(vxt__prog id);
size_t vxt__prog_sources(vxt__prog id, const char **sources, size_t max);

/* The built program of `id` for ctx's device (built or loaded on first use, then cached; borrowed). */
vxt_status vxt__program_get(vxt_context *ctx, vxt__prog id, cl_program *out);

/* A new kernel object for `name` in program `id` (the caller releases it). Kernel objects are created per
 * use so that concurrent callers never share argument state. */
vxt_status vxt__kernel_create(vxt_context *ctx, vxt__prog id, const char *name, cl_kernel *out);

/* Build options used for every program on this context's device. */
const char *vxt__build_options(const vxt_context *ctx);

/* On-disk program binaries. load: *binary = NULL (and VXT_OK) on a miss or an invalid entry (a note is
 * left in *note). store: atomic (temporary file + rename); failures are reported through *note only. */
void vxt__disk_cache_load(const char *dir, const char *key, unsigned char **binary, size_t *size, char *note,
                          size_t note_size);
void vxt__disk_cache_store(const char *dir, const char *key, const unsigned char *binary, size_t size,
                           char *note, size_t note_size);


/* ---- determinism probe (opencl/probe.c) ---------------------------------------------------------- */

/* Run the probe on ctx's OpenCL device and the CPU path; fills *report. Returns VXT_OK when it could run
 * (even if values differ: report->passed says), an error when the device failed to run it. */
vxt_status vxt__probe_run(vxt_context *ctx, vxt_probe_report *report);

#endif /* VXT_OPENCL_INTERNAL_H */
