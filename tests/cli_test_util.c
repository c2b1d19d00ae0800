/* cli_test_util.c - shared helpers of the end-to-end tests of the voxtile tool (cli_test_util.h). */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_test_util.h"

char cli_tmp[256];
char cli_out[1 << 17], cli_err[1 << 16];

static void read_all(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

const char *cli_tool(void)
{
    const char *v = getenv("VXT_CLI_PATH");
    return v && v[0] ? v : VXT_CLI_PATH;
}

static int run(const char *env, const char *args)
{
    static char cmd[16384], renv[4096], rargs[8192];
    /* the test files the command names where the data and build tree are now (vxt_test_relocate) */
    snprintf(cmd, sizeof cmd, "%s%s'%s' %s >'%s/.stdout' 2>'%s/.stderr'",
             env ? vxt_test_relocate_all(env, renv, sizeof renv) : "", env ? " " : "", cli_tool(),
             vxt_test_relocate_all(args, rargs, sizeof rargs), cli_tmp, cli_tmp);
    int rc = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/.stdout", cli_tmp);
    read_all(p, cli_out, sizeof cli_out);
    snprintf(p, sizeof p, "%s/.stderr", cli_tmp);
    read_all(p, cli_err, sizeof cli_err);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int cli(const char *fmt, ...)
{
    static char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run(NULL, args);
}

int cli_env(const char *env, const char *fmt, ...)
{
    static char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run(env, args);
}

void cli_assert_one_line_error(const char *needle)
{
    size_t n = strlen(cli_err);
    if (n == 0 || cli_err[n - 1] != '\n' || strchr(cli_err, '\n') != cli_err + n - 1)
        fail_msg("stderr is not one line: '%s'", cli_err);
    if (strncmp(cli_err, "voxtile ", 8) != 0)
        fail_msg("stderr does not start with 'voxtile <command>: ': '%s'", cli_err);
    if (needle && !strstr(cli_err, vxt_test_relocate_all(needle, (char[4096]){0}, 4096)))
        fail_msg("stderr '%s' does not mention '%s'", cli_err, needle);
}

int cli_setup(void **state)
{
    (void)state;
    snprintf(cli_tmp, sizeof cli_tmp, "/tmp/vxt-cli-XXXXXX");
    return mkdtemp(cli_tmp) ? 0 : -1;
}

int cli_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cli_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int cli_files(void)
{
    int n = 0;
    DIR *d = opendir(cli_tmp);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".stdout") &&
            strcmp(e->d_name, ".stderr"))
            n++;
    closedir(d);
    return n;
}

const char *cli_path(const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", cli_tmp, name);
    return buf[k];
}

void cli_write_text(const char *name, const char *text)
{
    static char relocated[1 << 16];
    FILE *f = fopen(cli_path(name), "wb");
    assert_non_null(f);
    assert_int_equal(fputs(vxt_test_relocate_all(text, relocated, sizeof relocated), f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

vxt_image *cli_read_image(const char *path)
{
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(vxt_test_relocate(path), &ro, &img));
    return img;
}

void cli_phantom(const char *ct, const char *labels, const char *args)
{
    int rc;
    if (labels)
        rc = cli("phantom -o '%s' --label-map '%s' %s", cli_path(ct), cli_path(labels), args);
    else
        rc = cli("phantom -o '%s' %s", cli_path(ct), args);
    if (rc != 0)
        fail_msg("voxtile phantom %s: exit %d: %s", args, rc, cli_err);
}

void cli_assert_same_geometry(const vxt_image *a, const vxt_image *b)
{
    vxt_geometry ga, gb;
    vxt_geometry_init(&ga);
    vxt_geometry_init(&gb);
    assert_ok(vxt_image_get_geometry(a, &ga));
    assert_ok(vxt_image_get_geometry(b, &gb));
    assert_int_equal(ga.qform_code, gb.qform_code);
    assert_int_equal(ga.sform_code, gb.sform_code);
    assert_memory_equal(ga.quatern, gb.quatern, sizeof ga.quatern);
    assert_memory_equal(ga.qoffset, gb.qoffset, sizeof ga.qoffset);
    assert_memory_equal(ga.pixdim, gb.pixdim, 4 * sizeof ga.pixdim[0]);
    assert_memory_equal(ga.srow, gb.srow, sizeof ga.srow);
    assert_int_equal(ga.xyzt_units & 7, gb.xyzt_units & 7);
    assert_memory_equal(ga.affine, gb.affine, sizeof ga.affine);
    assert_string_equal(ga.orientation, gb.orientation);
}

void *cli_load_npy(const char *path, vxt_npy_info *info)
{
    path = vxt_test_relocate(path);
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    assert_ok(vxt_npy_read_info(path, info));
    void *d = malloc((size_t)info->count * vxt_dtype_size(info->dtype) + 8);
    assert_non_null(d);
    assert_ok(vxt_npy_read(path, info, 0, info->count, d));
    return d;
}

vxt_nifti_info cli_nifti_info(const vxt_image *img)
{
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    assert_ok(vxt_nifti_get_info(img, &ni));
    return ni;
}

int cli_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = vxt_test_read_file(a, &na), *y = vxt_test_read_file(b, &nb);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

const cJSON *cli_json(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("JSON member '%s' is missing", key);
    return v;
}

double cli_json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cli_json(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("JSON member '%s' is not a number", key);
    return v->valuedouble;
}

const char *cli_json_string(const cJSON *o, const char *key)
{
    const cJSON *v = cli_json(o, key);
    if (!cJSON_IsString(v))
        fail_msg("JSON member '%s' is not a string", key);
    return v->valuestring;
}

cJSON *cli_out_json(void)
{
    cJSON *j = cJSON_Parse(cli_out);
    if (!j)
        fail_msg("stdout is not JSON: '%.2000s'", cli_out);
    return j;
}
