/* cl_util.c - OpenCL error names, platform and device enumeration, device description. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

const char *vxt__cl_error_name(cl_int err)
{
    switch (err) {
#define E(x)                                                                                                 \
    case x:                                                                                                  \
        return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
        E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
        E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
        E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
        E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
        E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
        E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
        E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
        E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case CL_PLATFORM_NOT_FOUND_KHR:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

vxt_status vxt__cl_platforms(const vxt_context *ctx, cl_platform_id **platforms, cl_uint *n, cl_int *why)
{
    *platforms = NULL;
    *n = 0;
    cl_uint count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &count);
    if (why)
        *why = err;
    if (err != CL_SUCCESS || count == 0)
        return VXT_OK; /* no ICD, no platform: not an error for enumeration */
    cl_platform_id *p = calloc(count, sizeof *p);
    if (!p)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "out of memory listing OpenCL platforms");
    err = clGetPlatformIDs(count, p, NULL);
    if (err != CL_SUCCESS) {
        free(p);
        if (why)
            *why = err;
        return VXT_OK;
    }
    *platforms = p;
    *n = count;
    return VXT_OK;
}

vxt_status vxt__cl_devices(const vxt_context *ctx, cl_platform_id platform, cl_device_id **devices, cl_uint *n)
{
    *devices = NULL;
    *n = 0;
    cl_uint count = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &count);
    if (err == CL_DEVICE_NOT_FOUND || count == 0)
        return VXT_OK;
    if (err != CL_SUCCESS)
        return vxt__fail(ctx, VXT_ERR_OPENCL, "clGetDeviceIDs failed: %s (%d)", vxt__cl_error_name(err), err);
    cl_device_id *d = calloc(count, sizeof *d);
    if (!d)
        return vxt__fail(ctx, VXT_ERR_OUT_OF_MEMORY, "out of memory listing OpenCL devices");
    err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, d, NULL);
    if (err != CL_SUCCESS) {
        free(d);
        return vxt__fail(ctx, VXT_ERR_OPENCL, "clGetDeviceIDs failed: %s (%d)", vxt__cl_error_name(err), err);
    }
    *devices = d;
    *n = count;
    return VXT_OK;
}

static void platform_string(cl_platform_id p, cl_platform_info what, char *dst, size_t size)
{
    dst[0] = '\0';
    size_t got = 0;
    if (clGetPlatformInfo(p, what, size, dst, &got) != CL_SUCCESS)
        dst[0] = '\0';
    dst[size - 1] = '\0';
}

static void device_string(cl_device_id d, cl_device_info what, char *dst, size_t size)
{
    dst[0] = '\0';
    /* Ask for the size first: a value longer than dst makes clGetDeviceInfo fail. */
    size_t need = 0;
    if (clGetDeviceInfo(d, what, 0, NULL, &need) != CL_SUCCESS || need == 0)
        return;
    char *tmp = malloc(need + 1);
    if (!tmp)
        return;
    if (clGetDeviceInfo(d, what, need, tmp, NULL) == CL_SUCCESS) {
        tmp[need] = '\0';
        /* trim trailing spaces (some drivers pad names) */
        size_t len = strlen(tmp);
        while (len > 0 && tmp[len - 1] == ' ')
            tmp[--len] = '\0';
        vxt__strlcpy(dst, tmp, size);
    }
    free(tmp);
}

vxt_status vxt__cl_describe_device(const vxt_context *ctx, cl_platform_id platform, cl_device_id device,
                                   vxt_device_info *info)
{
    (void)ctx;
    platform_string(platform, CL_PLATFORM_NAME, info->platform_name, sizeof info->platform_name);
    platform_string(platform, CL_PLATFORM_VERSION, info->platform_version, sizeof info->platform_version);
    device_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_string(device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    device_string(device, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    device_string(device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version, sizeof info->opencl_c_version);

    cl_device_type type = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    /* A device reporting itself as a GPU as well is treated as one: Oclgrind, the strict OpenCL interpreter the
     * tests run on (docs/DETERMINISM.md), reports every type bit, and without unified host memory; voxtile then
     * takes there the paths it takes on a discrete GPU (per-voxel kernels, atomic histograms, the upload queue). */
    info->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0 && (type & CL_DEVICE_TYPE_GPU) == 0;

    cl_uint cu = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    info->compute_units = cu;
    cl_ulong v = 0;
    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
    info->global_mem_bytes = v;
    v = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
    info->max_alloc_bytes = v;
    v = 0;
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
    info->local_mem_bytes = v;
    size_t wg = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    info->max_work_group_size = wg;

    cl_device_fp_config fp = 0;
    clGetDeviceInfo(device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    unsigned bits = 0;
    if (fp & CL_FP_DENORM)
        bits |= VXT_FP_DENORM;
    if (fp & CL_FP_INF_NAN)
        bits |= VXT_FP_INF_NAN;
    if (fp & CL_FP_ROUND_TO_NEAREST)
        bits |= VXT_FP_ROUND_TO_NEAREST;
    if (fp & CL_FP_FMA)
        bits |= VXT_FP_FMA;
    if (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)
        bits |= VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT;
    info->fp32_config = bits;

    cl_device_fp_config fp64 = 0;
    clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
    info->fp64 = fp64 != 0;

    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    info->host_unified_memory = unified == CL_TRUE;
    return VXT_OK;
}

/* ---- public enumeration ---------------------------------------------------------------------------- */

vxt_status vxt_opencl_device_count(size_t *count)
{
    VXT_CHECK_NULL(NULL, count);
    *count = 0;
    cl_platform_id *plats = NULL;
    cl_uint np = 0;
    vxt_status st = vxt__cl_platforms(NULL, &plats, &np, NULL);
    if (st != VXT_OK)
        return st;
    size_t total = 0;
    for (cl_uint i = 0; i < np; i++) {
        cl_device_id *devs = NULL;
        cl_uint nd = 0;
        st = vxt__cl_devices(NULL, plats[i], &devs, &nd);
        free(devs);
        if (st != VXT_OK) {
            free(plats);
            return st;
        }
        total += nd;
    }
    free(plats);
    *count = total;
    return VXT_OK;
}

vxt_status vxt_opencl_device_info(size_t global_index, vxt_device_info *out)
{
    VXT_CHECK_NULL(NULL, out);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_device_info", out->struct_size,
                                          sizeof(vxt_device_info));
    if (st != VXT_OK)
        return st;
    size_t given = out->struct_size;
    vxt_device_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;

    cl_platform_id *plats = NULL;
    cl_uint np = 0;
    st = vxt__cl_platforms(NULL, &plats, &np, NULL);
    if (st != VXT_OK)
        return st;
    size_t seen = 0;
    for (cl_uint i = 0; i < np; i++) {
        cl_device_id *devs = NULL;
        cl_uint nd = 0;
        st = vxt__cl_devices(NULL, plats[i], &devs, &nd);
        if (st != VXT_OK) {
            free(plats);
            return st;
        }
        if (global_index < seen + nd) {
            cl_uint j = (cl_uint)(global_index - seen);
            info.platform_index = (int)i;
            info.device_index = (int)j;
            info.global_index = (int)global_index;
            st = vxt__cl_describe_device(NULL, plats[i], devs[j], &info);
            free(devs);
            free(plats);
            if (st == VXT_OK)
                vxt__copy_out_struct(out, &info, given, sizeof info);
            return st;
        }
        seen += nd;
        free(devs);
    }
    free(plats);
    return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT,
                     "vxt_opencl_device_info: device index %zu out of range (%zu OpenCL device%s)", global_index,
                     seen, seen == 1 ? "" : "s");
}
