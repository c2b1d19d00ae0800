/* vxt_test.c - the test harness shared by all test executables. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include "vxt_test.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t vxt_rng_u32(vxt_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

float vxt_rng_uniform(vxt_rng *r, float lo, float hi)
{
    double u = (double)vxt_rng_u32(r) / 4294967296.0;
    return (float)(lo + (hi - lo) * u);
}

void vxt_poison(void *p, size_t bytes)
{
    unsigned char *c = (unsigned char *)p;
    static const unsigned char pat[4] = {0xA5, 0x5A, 0xBF, 0xFF}; /* 0xFFBF5AA5: a NaN with a payload */
    for (size_t i = 0; i < bytes; i++)
        c[i] = pat[i % 4];
}

size_t vxt_count_bit_diffs(const float *a, const float *b, size_t n, const char *what)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (bad < 5) {
                uint32_t ua, ub;
                memcpy(&ua, &a[i], 4);
                memcpy(&ub, &b[i], 4);
                print_message("%s: element %zu differs: %.9g (0x%08x) vs %.9g (0x%08x)\n", what, i, (double)a[i], ua,
                              (double)b[i], ub);
            }
            bad++;
        }
    }
    return bad;
}

vxt_context *vxt_test_context(vxt_backend backend, int threads)
{
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = backend;
    o.cpu_threads = threads;
    vxt_context *ctx = NULL;
    vxt_status st = vxt_context_create(&o, &ctx);
    if (st != VXT_OK)
        fail_msg("vxt_context_create(%s) failed: %s: %s", vxt_backend_name(backend), vxt_status_name(st),
                 vxt_last_error());
    return ctx;
}

static int opencl_present(void)
{
    size_t n = 0;
    return vxt_opencl_device_count(&n) == VXT_OK && n > 0;
}

/* A run meant to be under the OpenCL test shim (tests/clshim: VXT_CLSHIM_SERIALIZE=1 for Oclgrind,
 * VXT_CLSHIM_HOST_COPIES=1 for the *.opencl_host_copies tests) is under it: a preload that failed only makes ld.so
 * print a warning, and the tests would then pass without what they check. 1 when as asked. */
static int shim_as_asked(void)
{
    const char *ser = getenv("VXT_CLSHIM_SERIALIZE"), *cop = getenv("VXT_CLSHIM_HOST_COPIES");
    const int want = (ser && strcmp(ser, "1") == 0 ? 1 : 0) | (cop && strcmp(cop, "1") == 0 ? 2 : 0);
    if (!want)
        return 1;
    int (*mode)(void) = NULL;
    *(void **)&mode = dlsym(RTLD_DEFAULT, "vxt_clshim_mode");
    if (!mode || (mode() & want) != want) {
        fprintf(stderr, "FAIL: VXT_CLSHIM_%s=1 but the OpenCL test shim is not %s (LD_PRELOAD=%s)\n",
                want & 2 ? "HOST_COPIES" : "SERIALIZE", mode ? "doing it" : "loaded",
                getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
        return 0;
    }
    return 1;
}

int vxt_test_main(int argc, char **argv, const vxt_test_group *groups, size_t ngroups)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <group>   groups:", argv[0]);
        for (size_t i = 0; i < ngroups; i++)
            fprintf(stderr, " %s", groups[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    for (size_t i = 0; i < ngroups; i++) {
        if (strcmp(argv[1], groups[i].name) != 0)
            continue;
        if (groups[i].needs_opencl && !opencl_present()) {
            const char *req = getenv("VXT_REQUIRE_OPENCL");
            if (req && strcmp(req, "1") == 0) {
                fprintf(stderr, "FAIL: VXT_REQUIRE_OPENCL=1 but no OpenCL platform/device is present\n");
                return 1;
            }
            printf("SKIPPED: no OpenCL platform on this machine\n");
            return VXT_TEST_SKIP;
        }
        if (!shim_as_asked())
            return 1;
        /* VXT_TEST_FILTER=PATTERN runs only the tests whose names match (cmocka's wildcards: * and ?); a pattern
         * that matches none is an error, not a pass (a renamed test must not drop out of a list unnoticed) */
        const char *filter = getenv("VXT_TEST_FILTER");
        if (filter && filter[0]) {
            size_t matched = 0;
            for (size_t t = 0; t < groups[i].count; t++)
                matched += fnmatch(filter, groups[i].tests[t].name, FNM_NOESCAPE) == 0;
            if (matched == 0) {
                fprintf(stderr, "FAIL: VXT_TEST_FILTER=%s matches no test of group %s\n", filter, groups[i].name);
                return 1;
            }
            cmocka_set_test_filter(filter);
        }
        return _cmocka_run_group_tests(groups[i].name, groups[i].tests, groups[i].count, NULL, NULL);
    }
    fprintf(stderr, "unknown group '%s'\n", argv[1]);
    return 2;
}

static const char *env_or(const char *name, const char *compiled)
{
    const char *v = getenv(name);
    return v && v[0] ? v : compiled;
}

const char *vxt_test_data_dir(void)
{
    return env_or("VXT_TEST_DATA_DIR", VXT_TEST_DATA_DIR);
}

const char *vxt_test_binary_dir(void)
{
    return env_or("VXT_BINARY_DIR", VXT_BINARY_DIR);
}

/* The compiled-in prefix `from` at `s`, followed by the end or a '/': its length, else 0. */
static size_t prefix_at(const char *s, const char *from)
{
    size_t n = strlen(from);
    return strncmp(s, from, n) == 0 && (s[n] == '\0' || s[n] == '/') ? n : 0;
}

char *vxt_test_relocate_all(const char *text, char *out, size_t size)
{
    const char *from[2] = {VXT_TEST_DATA_DIR, VXT_BINARY_DIR};
    const char *to[2] = {vxt_test_data_dir(), vxt_test_binary_dir()};
    size_t o = 0;
    for (const char *s = text; *s;) {
        size_t n = 0;
        int k = 0;
        for (; k < 2 && !n; k++)
            if (strcmp(from[k], to[k]) != 0)
                n = prefix_at(s, from[k]);
        const char *piece = n ? to[k - 1] : s;
        size_t len = n ? strlen(piece) : 1;
        if (o + len >= size)
            fail_msg("vxt_test_relocate_all: '%s' does not fit in %zu bytes", text, size);
        memcpy(out + o, piece, len);
        o += len;
        s += n ? n : 1;
    }
    out[o] = '\0';
    return out;
}

const char *vxt_test_relocate(const char *path)
{
    static char buf[16][4096];
    static int k;
    if (prefix_at(path, VXT_TEST_DATA_DIR) == 0 && prefix_at(path, VXT_BINARY_DIR) == 0)
        return path;
    k = (k + 1) % 16;
    return vxt_test_relocate_all(path, buf[k], sizeof buf[k]);
}

void *vxt_test_read_file(const char *path, size_t *size)
{
    char full[4096];
    if (path[0] == '/')
        snprintf(full, sizeof full, "%s", vxt_test_relocate(path));
    else
        snprintf(full, sizeof full, "%s/%s", vxt_test_data_dir(), path);
    FILE *f = fopen(full, "rb");
    if (!f)
        fail_msg("cannot open test data %s", full);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("short read of %s", full);
    fclose(f);
    buf[n] = '\0';
    if (size)
        *size = (size_t)n;
    return buf;
}

struct cJSON *vxt_test_load_json(const char *relpath)
{
    char *text = vxt_test_read_file(relpath, NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s is not valid JSON", relpath);
    return j;
}

int vxt_test_json_i64s(const struct cJSON *array, int64_t *out, int max)
{
    assert_true(cJSON_IsArray(array));
    int n = cJSON_GetArraySize(array);
    assert_true(n <= max);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(array, i);
        assert_true(cJSON_IsNumber(v));
        out[i] = (int64_t)v->valuedouble;
    }
    return n;
}

/* An image of random, non-zero values of `dtype` (int16: -1000..2000; float32: -1..2) with an affine of
 * `spacing` (z, y, x) and axis directions `orient` ("RAS", "LPS", ...), origin away from zero. */
vxt_image *vxt_test_image(vxt_dtype dtype, int64_t channels, const int64_t shape[3], const double spacing[3],
                             const char *orient, uint64_t seed)
{
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(dtype, channels, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    size_t n = (size_t)(channels * shape[0] * shape[1] * shape[2]);
    vxt_rng r = {seed};
    for (size_t i = 0; i < n; i++) {
        if (dtype == VXT_DTYPE_I16)
            ((int16_t *)v.data)[i] = (int16_t)(-1000 + (int)(vxt_rng_u32(&r) % 3001));
        else
            ((float *)v.data)[i] = vxt_rng_uniform(&r, -1.0f, 2.0f);
    }
    /* NIfTI axis b (i, j, k) has spacing[2 - b] and points along world axis of orient[b] */
    double aff[16] = {0};
    for (int b = 0; b < 3; b++) {
        const char *pos = strchr("RAS", orient[b]), *neg = strchr("LPI", orient[b]);
        int world = pos ? (int)(pos - "RAS") : (int)(neg - "LPI");
        aff[4 * world + b] = (pos ? 1.0 : -1.0) * spacing[2 - b];
        aff[4 * b + 3] = 10.0 * (b + 1);
    }
    aff[15] = 1.0;
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_geometry_from_affine(aff, 1, &g));
    assert_ok(vxt_image_set_geometry(img, &g));
    return img;
}

int vxt_test_small(void)
{
    const char *v = getenv("VXT_TEST_SMALL");
    return v != NULL && strcmp(v, "1") == 0;
}

int vxt_test_small_turn(size_t i, size_t v, size_t n)
{
    return !vxt_test_small() || i % n == v;
}
