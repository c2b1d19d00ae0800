/* cmd_info.c - `voxtile info`: version, backends, every OpenCL device with what matters for voxtile, each
 * device's determinism probe, and what a backend choice (default auto) selects and why. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct device_report {
    vxt_device_info info;
    vxt_status status;       /* of creating a context on it */
    char error[1024];        /* why it is unusable */
    vxt_probe_report probe;
} device_report;

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

static double gib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0 * 1024.0);
}

/* Everything the command reports. */
typedef struct info_report {
    vxt_status cpu_st;
    char cpu_error[1024];
    int cpu_threads;
    size_t ndev;
    device_report *devs;
    int usable_opencl;
    vxt_backend requested;
    vxt_status sel_st;
    vxt_context_info sel;
    char sel_error[1024];
} info_report;

static void probe_cpu(info_report *r, const cli_exec *e)
{
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_CPU;
    o.cpu_threads = (int)e->threads;
    vxt_context *ctx = NULL;
    r->cpu_st = vxt_context_create(&o, &ctx);
    if (r->cpu_st == VXT_OK) {
        vxt_context_info ci = {.struct_size = sizeof ci};
        vxt_context_get_info(ctx, &ci);
        r->cpu_threads = ci.cpu_threads;
        vxt_context_destroy(ctx);
    } else {
        snprintf(r->cpu_error, sizeof r->cpu_error, "%s", vxt_last_error());
    }
}

/* Every OpenCL device, each with a context of its own and its probe (reported even when it fails). */
static void probe_devices(info_report *r, const cli_exec *e)
{
    for (size_t i = 0; i < r->ndev; i++) {
        device_report *d = &r->devs[i];
        d->info.struct_size = sizeof d->info;
        if (vxt_opencl_device_info(i, &d->info) != VXT_OK) {
            d->status = VXT_ERR_OPENCL;
            snprintf(d->error, sizeof d->error, "%s", vxt_last_error());
            continue;
        }
        vxt_context_options o;
        vxt_context_options_init(&o);
        o.backend = VXT_BACKEND_OPENCL;
        o.platform_index = d->info.platform_index;
        o.device_index = d->info.device_index;
        o.cpu_threads = (int)e->threads;
        o.flags = VXT_CONTEXT_ALLOW_PROBE_MISMATCH;
        vxt_context *ctx = NULL;
        d->status = vxt_context_create(&o, &ctx);
        if (d->status != VXT_OK) {
            snprintf(d->error, sizeof d->error, "%s", vxt_last_error());
            continue;
        }
        vxt_context_info ci = {.struct_size = sizeof ci};
        vxt_context_get_info(ctx, &ci);
        d->probe = ci.probe;
        if (!ci.probe.passed) {
            d->status = VXT_ERR_PROBE_MISMATCH;
            snprintf(d->error, sizeof d->error, "determinism probe failed: %s", ci.probe.detail);
        } else {
            r->usable_opencl++;
        }
        vxt_context_destroy(ctx);
    }
}

/* What the execution flags (default: auto) select, with the library's reasons. */
static void probe_selection(info_report *r, const cli_exec *e)
{
    vxt_context *ctx = NULL;
    r->requested = e->backend;
    r->sel.struct_size = sizeof r->sel;
    vxt_context_options o;
    cli_context_options(e, &o);
    r->sel_st = vxt_context_create(&o, &ctx);
    if (r->sel_st == VXT_OK) {
        vxt_context_get_info(ctx, &r->sel);
        vxt_context_destroy(ctx);
    } else {
        snprintf(r->sel_error, sizeof r->sel_error, "%s", vxt_last_error());
    }
}

static cJSON *json_device(size_t i, const device_report *d)
{
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
    return dj;
}

static int print_json(const info_report *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", vxt_version_string());
    cJSON_AddNumberToObject(root, "version_number", vxt_version_number());
    cJSON *cpuj = cJSON_AddObjectToObject(root, "cpu");
    cJSON_AddBoolToObject(cpuj, "available", r->cpu_st == VXT_OK);
    cJSON_AddNumberToObject(cpuj, "threads", r->cpu_threads);
    if (r->cpu_st != VXT_OK)
        cJSON_AddStringToObject(cpuj, "error", r->cpu_error);
    cJSON *arr = cJSON_AddArrayToObject(root, "opencl_devices");
    for (size_t i = 0; i < r->ndev; i++)
        cJSON_AddItemToArray(arr, json_device(i, &r->devs[i]));
    cJSON *rj = cJSON_AddArrayToObject(root, "runners");
    for (int k = 1; k < VXT_RUNNER_KIND_COUNT_; k++) { /* 0, callback, is not a specification */
        char detail[512];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", vxt_runner_kind_name((vxt_runner_kind)k));
        cJSON_AddBoolToObject(e, "available", vxt_runner_available((vxt_runner_kind)k, detail, sizeof detail));
        cJSON_AddStringToObject(e, "detail", detail);
        cJSON_AddItemToArray(rj, e);
    }
    cJSON *sj = cJSON_AddObjectToObject(root, "selection");
    cJSON_AddStringToObject(sj, "requested", vxt_backend_name(r->requested));
    cJSON_AddBoolToObject(sj, "ok", r->sel_st == VXT_OK);
    if (r->sel_st == VXT_OK) {
        cJSON_AddStringToObject(sj, "backend", vxt_backend_name(r->sel.backend));
        cJSON_AddStringToObject(sj, "device", r->sel.device_name);
        cJSON_AddStringToObject(sj, "reason", r->sel.selection);
    } else {
        cJSON_AddStringToObject(sj, "status", vxt_status_name(r->sel_st));
        cJSON_AddStringToObject(sj, "error", r->sel_error);
    }
    return cli_print_json(root);
}

static void print_device(size_t i, const device_report *d)
{
    printf("  device %d (global %zu): %s\n", d->info.device_index, i, d->info.name);
    printf("    type %s, vendor %s, driver %s, %s\n", d->info.is_gpu ? "GPU" : d->info.is_cpu ? "CPU" : "other",
           d->info.vendor, d->info.driver_version, d->info.opencl_c_version);
    printf("    compute units %u, global memory %.2f GiB, max allocation %.2f GiB, local memory %.0f KiB\n",
           d->info.compute_units, gib(d->info.global_mem_bytes), gib(d->info.max_alloc_bytes),
           (double)d->info.local_mem_bytes / 1024.0);
    printf("    fp32: denormals %s, correctly rounded divide/sqrt %s, fma %s, inf/nan %s; fp64 %s\n",
           yes_no(d->info.fp32_config & VXT_FP_DENORM), yes_no(d->info.fp32_config & VXT_FP_CORRECTLY_ROUNDED_DIV_SQRT),
           yes_no(d->info.fp32_config & VXT_FP_FMA), yes_no(d->info.fp32_config & VXT_FP_INF_NAN),
           yes_no(d->info.fp64));
    if (d->probe.ran)
        printf("    probe: %s (%u values, %u differ, %.2f s): %s\n", d->probe.passed ? "PASSED" : "FAILED",
               d->probe.checks, d->probe.mismatches, d->probe.seconds, d->probe.detail);
    if (d->status != VXT_OK)
        printf("    unusable: %s\n", d->error);
}

static int print_text(const info_report *r)
{
    printf("voxtile %s\n\n", vxt_version_string());
    if (r->cpu_st == VXT_OK)
        printf("CPU backend: available, %d thread%s\n", r->cpu_threads, r->cpu_threads == 1 ? "" : "s");
    else
        printf("CPU backend: unavailable: %s\n", r->cpu_error);
    printf("OpenCL: %zu device%s\n", r->ndev, r->ndev == 1 ? "" : "s");
    int last_platform = -1;
    for (size_t i = 0; i < r->ndev; i++) {
        const device_report *d = &r->devs[i];
        if (d->info.platform_index != last_platform) {
            printf("\nplatform %d: %s (%s)\n", d->info.platform_index, d->info.platform_name,
                   d->info.platform_version);
            last_platform = d->info.platform_index;
        }
        print_device(i, d);
    }
    printf("\nrunners (model specifications KIND:ARGUMENT):\n");
    for (int k = 1; k < VXT_RUNNER_KIND_COUNT_; k++) {
        char detail[512];
        int ok = vxt_runner_available((vxt_runner_kind)k, detail, sizeof detail);
        printf("  %-12s %s%s\n", vxt_runner_kind_name((vxt_runner_kind)k), ok ? "" : "unavailable: ", detail);
    }
    printf("\nselection (%s): ", vxt_backend_name(r->requested));
    if (r->sel_st == VXT_OK)
        printf("%s on %s\n  %s\n", vxt_backend_name(r->sel.backend), r->sel.device_name, r->sel.selection);
    else
        printf("FAILED: %s\n", r->sel_error);
    return VXT_EXIT_OK;
}

enum { O_JSON = 1 };
static const cli_flag own[] = {
    {"json", 0, NULL, O_JSON, "machine-readable output"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_exec_flags, NULL};
static const cli_command_spec spec = {
    "info", "info [--json] [--backend NAME] [--device INDEX|NAME] [--threads N]",
    "Lists the library version, the CPU backend, every OpenCL platform and device (compute units, memory, fp32\n"
    "capabilities, fp64), runs the determinism probe on each device, and says what the execution flags (default:\n"
    "--backend auto) select and why. It succeeds when the selection works (with --backend or --device) or some\n"
    "backend works.",
    groups, 0};

typedef struct info_args {
    int json, exec_given;
    cli_exec exec;
} info_args;

static int on_flag(void *user, const cli_flag *f, const char *value)
{
    info_args *a = (info_args *)user;
    if (f->id == O_JSON) {
        a->json = 1;
        return 0;
    }
    a->exec_given |= f->id != CLI_EXEC_THREADS;
    return cli_exec_flag("info", &a->exec, f, value);
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    info_args *a = (info_args *)args;
    (void)plan;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, NULL, 0, NULL);
}

int cmd_info(int argc, char **argv)
{
    info_args a = {0};
    int n = 0, rc = parse(&a, argc, argv, NULL, &n, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    info_report r;
    memset(&r, 0, sizeof r);
    probe_cpu(&r, &a.exec);
    vxt_opencl_device_count(&r.ndev);
    r.devs = calloc(r.ndev ? r.ndev : 1, sizeof *r.devs);
    if (!r.devs) {
        cli_error("info", "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    probe_devices(&r, &a.exec);
    probe_selection(&r, &a.exec);
    rc = a.json ? print_json(&r) : print_text(&r);
    free(r.devs);
    int works = a.exec_given ? r.sel_st == VXT_OK : (r.cpu_st == VXT_OK || r.usable_opencl > 0);
    if (rc == VXT_EXIT_OK && !works) {
        cli_error("info", "%s", a.exec_given ? "the requested backend is not usable" : "no backend works");
        return VXT_EXIT_DEVICE;
    }
    return rc;
}

const cli_command cmd_info_parsing = {&spec, sizeof(info_args), parse, NULL};
