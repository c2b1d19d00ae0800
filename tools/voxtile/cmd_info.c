/* cmd_info.c - `voxtile info`: version, backends, every OpenCL device with what matters for voxtile, and
 * each device's determinism probe. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct device_report {
    vxt_device_info info;
    vxt_status status;       /* of creating a context on it */
    char error[1024];        /* why it is unusable */
    vxt_probe_report probe;
} device_report;

static void print_help(void)
{
    printf("usage: voxtile info [--json] [--backend auto|opencl|cpu] [--threads N]\n"
           "Lists the library version, the CPU backend, every OpenCL platform and device (compute units, memory,\n"
           "fp32 capabilities, fp64) and runs the determinism probe on each device.\n"
           "  --json          machine-readable output\n"
           "  --backend B     also report which device backend B selects; exit 3 if it cannot be used\n"
           "  --threads N     CPU threads (default: all cores)\n"
           "Exit status: 0 when the requested backend (default: any) works, 3 when none does.\n");
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

static double gib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

int cmd_info(int argc, char **argv)
{
    int json = 0;
    long threads = 0;
    vxt_backend requested = VXT_BACKEND_AUTO;
    int backend_given = 0;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"backend", required_argument, NULL, 'b'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'b':
            if (vxt_backend_parse(optarg, &requested) != VXT_OK) {
                cli_error("info", "%s", vxt_last_error());
                return VXT_EXIT_USAGE;
            }
            backend_given = 1;
            break;
        case 't':
            if (cli_threads_flag("info", optarg, &threads))
                return VXT_EXIT_USAGE;
            break;
        case 'h':
            print_help();
            return VXT_EXIT_OK;
        default:
            cli_error("info", "unknown option '%s' (see voxtile info --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("info", "unexpected argument '%s'", argv[optind]);
        return VXT_EXIT_USAGE;
    }

    /* CPU backend */
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_CPU;
    o.cpu_threads = (int)threads;
    vxt_context *cpu = NULL;
    vxt_status cpu_st = vxt_context_create(&o, &cpu);
    char cpu_error[1024] = "";
    int cpu_threads = 0;
    if (cpu_st == VXT_OK) {
        vxt_context_info ci = {.struct_size = sizeof ci};
        vxt_context_get_info(cpu, &ci);
        cpu_threads = ci.cpu_threads;
        vxt_context_destroy(cpu);
    } else {
        snprintf(cpu_error, sizeof cpu_error, "%s", vxt_last_error());
    }

    /* OpenCL devices, each probed */
    size_t ndev = 0;
    vxt_opencl_device_count(&ndev);
    device_report *devs = calloc(ndev ? ndev : 1, sizeof *devs);
    if (!devs) {
        cli_error("info", "out of memory");
        return VXT_EXIT_FAILURE;
    }
    int usable_opencl = 0;
    for (size_t i = 0; i < ndev; i++) {
        device_report *d = &devs[i];
        d->info.struct_size = sizeof d->info;
        if (vxt_opencl_device_info(i, &d->info) != VXT_OK) {
            d->status = VXT_ERR_OPENCL;
            snprintf(d->error, sizeof d->error, "%s", vxt_last_error());
            continue;
        }
        vxt_context_options_init(&o);
        o.backend = VXT_BACKEND_OPENCL;
        o.platform_index = d->info.platform_index;
        o.device_index = d->info.device_index;
        o.cpu_threads = (int)threads;
        o.flags = VXT_CONTEXT_ALLOW_PROBE_MISMATCH; /* report the probe even when it fails */
        vxt_context *ctx = NULL;
        d->status = vxt_context_create(&o, &ctx);
        if (d->status == VXT_OK) {
            vxt_context_info ci = {.struct_size = sizeof ci};
            vxt_context_get_info(ctx, &ci);
            d->probe = ci.probe;
            if (!ci.probe.passed) {
                d->status = VXT_ERR_PROBE_MISMATCH;
                snprintf(d->error, sizeof d->error, "determinism probe failed: %s", ci.probe.detail);
            } else {
                usable_opencl++;
            }
            vxt_context_destroy(ctx);
        } else {
            snprintf(d->error, sizeof d->error, "%s", vxt_last_error());
        }
    }

    /* What the requested (default: auto) backend selects */
    vxt_context_options_init(&o);
    o.backend = requested;
    o.cpu_threads = (int)threads;
    vxt_context *sel = NULL;
    vxt_status sel_st = vxt_context_create(&o, &sel);
    vxt_context_info si = {.struct_size = sizeof si};
    char sel_error[1024] = "";
    if (sel_st == VXT_OK) {
        vxt_context_get_info(sel, &si);
        vxt_context_destroy(sel);
    } else {
        snprintf(sel_error, sizeof sel_error, "%s", vxt_last_error());
    }

    int works = backend_given ? sel_st == VXT_OK : (cpu_st == VXT_OK || usable_opencl > 0);

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "version", vxt_version_string());
        cJSON_AddNumberToObject(root, "version_number", vxt_version_number());
        cJSON *cpuj = cJSON_AddObjectToObject(root, "cpu");
        cJSON_AddBoolToObject(cpuj, "available", cpu_st == VXT_OK);
        cJSON_AddNumberToObject(cpuj, "threads", cpu_threads);
        if (cpu_st != VXT_OK)
            cJSON_AddStringToObject(cpuj, "error", cpu_error);
        cJSON *arr = cJSON_AddArrayToObject(root, "opencl_devices");
        for (size_t i = 0; i < ndev; i++) {
            device_report *d = &devs[i];
            cJSON *dj = cJSON_CreateObject();
            cJSON_AddNumberToObject(dj, "global_index", (double)i);
            cJSON_AddNumberToObject(dj, "platform_index", d->info.platform_index);
            cJSON_AddNumberToObject(dj, "device_index", d->info.device_index);
            cJSON_AddStringToObject(dj, "platform", d->info.platform_name);
            cJSON_AddStringToObject(dj, "platform_version", d->info.platform_version);
            cJSON_AddStringToObject(dj, "name", d->info.name);
            cJSON_AddStringToObject(dj, "vendor", d->info.vendor);
            cJSON_AddStringToObject(dj, "driver_version", d->info.driver_version);
            cJSON_AddStringToObject(dj, "opencl_c_version", d->info.opencl_c_version);
            cJSON_AddStringToObject(dj, "type", d->info.is_gpu ? "gpu" : d->info.is_cpu ? "cpu" : "other");
            cJSON_AddNumberToObject(dj, "compute_units", d->info.compute_units);
            cJSON_AddNumberToObject(dj, "global_mem_bytes", (double)d->info.global_mem_bytes);
            cJSON_AddNumberToObject(dj, "max_alloc_bytes", (double)d->info.max_alloc_bytes);
            cJSON_AddNumberToObject(dj, "local_mem_bytes", (double)d->info.local_mem_bytes);
            cJSON *fp = cJSON_AddObjectToObject(dj, "fp32");
            cJSON_AddBoolToObject(fp, "denormals", (d->info.fp32_config & VXT_FP_DENORM) != 0);
            cJSON_AddBoolToObject(fp, "inf_nan", (d->info.fp32_config & VXT_FP_INF_NAN) != 0);
            cJSON_AddBoolToObject(fp, "round_to_nearest", (d->info.fp32_config & VXT_FP_ROUND_TO_NEAREST) != 0);
            cJSON_AddBoolToObject(fp, "fma", (d->info.fp32_config & VXT_FP_FMA) != 0);
            cJSON_AddBoolToObject(fp, "correctly_rounded_divide_sqrt",
                                  (d->info.fp32_config & VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT) != 0);
            cJSON_AddBoolToObject(dj, "fp64", d->info.fp64);
            cJSON_AddBoolToObject(dj, "host_unified_memory", d->info.host_unified_memory);
            cJSON *pj = cJSON_AddObjectToObject(dj, "probe");
            cJSON_AddBoolToObject(pj, "ran", d->probe.ran);
            cJSON_AddBoolToObject(pj, "passed", d->probe.passed);
            cJSON_AddNumberToObject(pj, "checks", d->probe.checks);
            cJSON_AddNumberToObject(pj, "mismatches", d->probe.mismatches);
            cJSON_AddNumberToObject(pj, "seconds", d->probe.seconds);
            cJSON_AddStringToObject(pj, "detail", d->probe.detail);
            cJSON_AddBoolToObject(dj, "usable", d->status == VXT_OK);
            if (d->status != VXT_OK) {
                cJSON_AddStringToObject(dj, "status", vxt_status_name(d->status));
                cJSON_AddStringToObject(dj, "error", d->error);
            }
            cJSON_AddItemToArray(arr, dj);
        }
        cJSON *sj = cJSON_AddObjectToObject(root, "selection");
        cJSON_AddStringToObject(sj, "requested", vxt_backend_name(requested));
        cJSON_AddBoolToObject(sj, "ok", sel_st == VXT_OK);
        if (sel_st == VXT_OK) {
            cJSON_AddStringToObject(sj, "backend", vxt_backend_name(si.backend));
            cJSON_AddStringToObject(sj, "device", si.device_name);
            cJSON_AddStringToObject(sj, "reason", si.selection);
        } else {
            cJSON_AddStringToObject(sj, "status", vxt_status_name(sel_st));
            cJSON_AddStringToObject(sj, "error", sel_error);
        }
        char *text = cJSON_Print(root);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("voxtile %s\n\n", vxt_version_string());
        if (cpu_st == VXT_OK)
            printf("CPU backend: available, %d thread%s\n", cpu_threads, cpu_threads == 1 ? "" : "s");
        else
            printf("CPU backend: unavailable: %s\n", cpu_error);
        printf("OpenCL: %zu device%s\n", ndev, ndev == 1 ? "" : "s");
        int last_platform = -1;
        for (size_t i = 0; i < ndev; i++) {
            device_report *d = &devs[i];
            if (d->info.platform_index != last_platform) {
                printf("\nplatform %d: %s (%s)\n", d->info.platform_index, d->info.platform_name,
                       d->info.platform_version);
                last_platform = d->info.platform_index;
            }
            printf("  device %d (global %zu): %s\n", d->info.device_index, i, d->info.name);
            printf("    type %s, vendor %s, driver %s, %s\n", d->info.is_gpu ? "GPU" : d->info.is_cpu ? "CPU" : "other",
                   d->info.vendor, d->info.driver_version, d->info.opencl_c_version);
            printf("    compute units %u, global memory %.2f GiB, max allocation %.2f GiB, local memory %.0f KiB\n",
                   d->info.compute_units, gib(d->info.global_mem_bytes), gib(d->info.max_alloc_bytes),
                   (double)d->info.local_mem_bytes / 1024.0);
            printf("    fp32: denormals %s, correctly rounded divide/sqrt %s, fma %s, inf/nan %s; fp64 %s\n",
                   yes_no(d->info.fp32_config & VXT_FP_DENORM),
                   yes_no(d->info.fp32_config & VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT),
                   yes_no(d->info.fp32_config & VXT_FP_FMA), yes_no(d->info.fp32_config & VXT_FP_INF_NAN),
                   yes_no(d->info.fp64));
            if (d->probe.ran)
                printf("    probe: %s (%u values, %u differ, %.2f s): %s\n", d->probe.passed ? "PASSED" : "FAILED",
                       d->probe.checks, d->probe.mismatches, d->probe.seconds, d->probe.detail);
            if (d->status != VXT_OK)
                printf("    unusable: %s\n", d->error);
        }
        printf("\nselection (%s): ", vxt_backend_name(requested));
        if (sel_st == VXT_OK)
            printf("%s on %s\n  %s\n", vxt_backend_name(si.backend), si.device_name, si.selection);
        else
            printf("FAILED: %s\n", sel_error);
    }
    free(devs);
    if (!works) {
        cli_error("info", "%s", backend_given ? "the requested backend is not usable" : "no backend works");
        return VXT_EXIT_NO_BACKEND;
    }
    return VXT_EXIT_OK;
}
