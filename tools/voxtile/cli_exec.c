/* cli_exec.c - the execution flags every computing command takes (--backend, --device, --threads) and the
 * context they ask for. */
#include <string.h>

#include "cli.h"

const cli_flag cli_exec_flags[] = {
    {NULL, 0, NULL, 0, "execution"},
    {"backend", 0, "NAME", CLI_EXEC_BACKEND,
     "{backend} (default auto: an OpenCL GPU or accelerator that passes the determinism probe, else the CPU "
     "backend; voxtile info says which and why)"},
    {"device", 0, "INDEX|NAME", CLI_EXEC_DEVICE, "an OpenCL device: its global index or a part of its name"},
    {"threads", 0, "N", CLI_EXEC_THREADS, "CPU threads, 0 = all cores (default 0)"},
    {"max-device-buffer", 0, "SIZE", CLI_EXEC_MAX_BUFFER,
     "the largest OpenCL buffer to make (8G, 512M, ...), below the device's own limit: to leave a shared GPU's "
     "memory to others. What needs more runs on the CPU under auto (run: the same bits, and the summary says "
     "so) or fails under --backend opencl"},
    {NULL, 0, NULL, 0, NULL},
};

void cli_exec_init(cli_exec *e)
{
    memset(e, 0, sizeof *e);
    e->backend = VXT_BACKEND_AUTO;
}

int cli_exec_flag(const char *cmd, cli_exec *e, const cli_flag *f, const char *value)
{
    switch (f->id) {
    case CLI_EXEC_BACKEND:
        if (vxt_backend_parse(value, &e->backend) != VXT_OK) {
            cli_error(cmd, "--backend: %s", vxt_last_error());
            return VXT_EXIT_USAGE;
        }
        return 0;
    case CLI_EXEC_DEVICE:
        e->device = value;
        return 0;
    case CLI_EXEC_THREADS:
        if (!cli_parse_int(value, 0, 1024, &e->threads)) {
            cli_error(cmd, "--threads: expected an integer in [0, 1024], got '%s'", value);
            return VXT_EXIT_USAGE;
        }
        return 0;
    case CLI_EXEC_MAX_BUFFER:
        if (!cli_parse_size(value, &e->max_buffer) || e->max_buffer == 0) {
            cli_error(cmd, "--max-device-buffer '%s': a size such as 2G or 256M", value);
            return VXT_EXIT_USAGE;
        }
        return 0;
    default:
        return -2;
    }
}

void cli_context_options(const cli_exec *e, vxt_context_options *o)
{
    vxt_context_options_init(o);
    o->backend = e->backend;
    if (e->device) {
        long idx;
        if (cli_parse_int(e->device, 0, 1000, &idx))
            o->device_index = (int)idx;
        else
            o->device_name = e->device;
    }
    o->cpu_threads = (int)e->threads;
    o->device_max_alloc = e->max_buffer;
}

int cli_context(const char *cmd, const cli_exec *e, vxt_context **out)
{
    if (e->device && e->backend == VXT_BACKEND_CPU) {
        cli_error(cmd, "--device names an OpenCL device; --backend cpu uses none");
        return VXT_EXIT_USAGE;
    }
    vxt_context_options o;
    cli_context_options(e, &o);
    vxt_status st = vxt_context_create(&o, out);
    if (st == VXT_OK)
        return VXT_EXIT_OK;
    int rc = cli_fail(cmd, "cannot create a context", st);
    /* a device that is not there (an index out of range) is no usable device, as a name that matches none */
    return st == VXT_ERR_INVALID_ARGUMENT ? VXT_EXIT_DEVICE : rc;
}
