/* cli_util.c - option parsing shared by the subcommands: per-axis lists, enum names, backend selection. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

int cli_backend_flag(const char *cmd, const char *value)
{
    vxt_backend bk;
    if (vxt_backend_parse(value, &bk) != VXT_OK) {
        cli_error(cmd, "--backend: %s", vxt_last_error());
        return VXT_EXIT_USAGE;
    }
    return 0;
}

int cli_threads_flag(const char *cmd, const char *value, long *threads)
{
    if (!cli_parse_int(value, 0, 1024, threads)) {
        cli_error(cmd, "--threads: expected an integer in [0, 1024], got '%s'", value);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* "a,b,c" (z,y,x), "b,c" (y,x of a 2D image: z gets `zdefault`) or "a" (every axis). */
static int parse_list(const char *s, double out[3], double zdefault, int *n_given)
{
    double v[3];
    int n = 0;
    const char *p = s;
    if (!s || !*s)
        return 0;
    while (*p) {
        if (n == 3)
            return 0;
        char *end = NULL;
        errno = 0;
        v[n] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[n]))
            return 0;
        n++;
        if (*end == ',')
            p = end + 1;
        else if (*end == '\0')
            p = end;
        else
            return 0;
        if (*end == ',' && !*p)
            return 0;
    }
    if (n == 1)
        out[0] = out[1] = out[2] = v[0];
    else if (n == 2) {
        out[0] = zdefault;
        out[1] = v[0];
        out[2] = v[1];
    } else {
        out[0] = v[0];
        out[1] = v[1];
        out[2] = v[2];
    }
    if (n_given)
        *n_given = n;
    return 1;
}

int cli_parse_axes_f64(const char *s, double out[3], double zdefault, int *n_given)
{
    return parse_list(s, out, zdefault, n_given);
}

int cli_parse_axes_i64(const char *s, int64_t out[3], int64_t zdefault, int *n_given)
{
    double v[3];
    if (!parse_list(s, v, (double)zdefault, n_given))
        return 0;
    for (int a = 0; a < 3; a++) {
        if (v[a] != floor(v[a]) || fabs(v[a]) > 9.0e15)
            return 0;
        out[a] = (int64_t)v[a];
    }
    return 1;
}

int cli_parse_enum(const char *s, const cli_enum *table, int *out)
{
    for (const cli_enum *e = table; e->name; e++)
        if (strcasecmp(s, e->name) == 0) {
            *out = e->value;
            return 1;
        }
    return 0;
}

void cli_enum_names(const cli_enum *table, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t len = 0;
    for (const cli_enum *e = table; e->name; e++) {
        int w = snprintf(buf + len, n - len, "%s%s", e == table ? "" : ", ", e->name);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

const cli_enum cli_grids[] = {{"monai", VXT_GRID_MONAI}, {"nnunet", VXT_GRID_NNUNET}, {"voxels", VXT_GRID_VOXELS},
                              {NULL, 0}};
const cli_enum cli_pads[] = {{"constant", VXT_PAD_CONSTANT}, {"replicate", VXT_PAD_REPLICATE},
                             {"reflect", VXT_PAD_REFLECT}, {"none", VXT_PAD_DISABLED}, {NULL, 0}};
const cli_enum cli_importances[] = {{"gaussian", VXT_IMPORTANCE_GAUSSIAN},
                                    {"gaussian-nnunet", VXT_IMPORTANCE_GAUSSIAN_NNUNET},
                                    {"hann", VXT_IMPORTANCE_HANN},
                                    {"constant", VXT_IMPORTANCE_CONSTANT},
                                    {NULL, 0}};
const cli_enum cli_accumulates[] = {{"float32", VXT_ACCUMULATE_FLOAT32}, {"float16", VXT_ACCUMULATE_FLOAT16},
                                    {"float64", VXT_ACCUMULATE_FLOAT64}, {NULL, 0}};
const cli_enum cli_activations[] = {{"none", VXT_ACTIVATION_NONE}, {"softmax", VXT_ACTIVATION_SOFTMAX},
                                    {"sigmoid", VXT_ACTIVATION_SIGMOID}, {NULL, 0}};
const cli_enum cli_label_dtypes[] = {{"uint8", VXT_DTYPE_U8}, {"uint16", VXT_DTYPE_U16}, {NULL, 0}};

int cli_enum_option(const char *cmd, const char *flag, const char *value, const cli_enum *table, int *out)
{
    if (cli_parse_enum(value, table, out))
        return 1;
    char names[256];
    cli_enum_names(table, names, sizeof names);
    cli_error(cmd, "%s: unknown value '%s' (expected one of: %s)", flag, value, names);
    return 0;
}

int cli_context(const char *cmd, const char *backend, const char *device, long threads, vxt_context **out)
{
    vxt_context_options o;
    vxt_context_options_init(&o);
    if (backend && vxt_backend_parse(backend, &o.backend) != VXT_OK) {
        cli_error(cmd, "--backend: %s", vxt_last_error());
        return VXT_EXIT_USAGE;
    }
    if (device) {
        long idx;
        if (cli_parse_int(device, 0, 1000, &idx))
            o.device_index = (int)idx;
        else
            o.device_name = device;
    }
    o.cpu_threads = (int)threads;
    vxt_status st = vxt_context_create(&o, out);
    if (st != VXT_OK)
        return cli_fail_status(cmd, "cannot create a context", st);
    return VXT_EXIT_OK;
}
