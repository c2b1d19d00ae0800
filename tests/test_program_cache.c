/* test_program_cache.c - the on-disk cache of compiled OpenCL programs: store/load, keys, corruption,
 * atomic writes; and contexts that load their programs from it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_program_cache.h"
#include "internal.h"
#include "vxt_test.h"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/vxt-cache-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* The single entry file in dir (asserts there is exactly one and no temporary files remain). */
static void only_entry(const char *dir, char *path, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_null(strstr(e->d_name, ".tmp"));
        snprintf(path, size, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);
}

static void test_store_and_load(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char note[256] = "";
    unsigned char bin[1000];
    for (int i = 0; i < 1000; i++)
        bin[i] = (unsigned char)(i * 7);
    vxt__disk_cache_store(dir, "key-A", bin, sizeof bin, note, sizeof note);
    assert_string_equal(note, "");
    unsigned char *got = NULL;
    size_t size = 0;
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_non_null(got);
    assert_int_equal(size, sizeof bin);
    assert_memory_equal(got, bin, sizeof bin);
    free(got);
    /* another key: a miss, silently */
    vxt__disk_cache_load(dir, "key-B", &got, &size, note, sizeof note);
    assert_null(got);
    assert_string_equal(note, "");

    char path[4096];
    only_entry(dir, path, sizeof path);
    /* flip one byte of the binary: checksum mismatch, ignored with a note */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -10, SEEK_END);
    fputc(0x55 ^ bin[990], f);
    fclose(f);
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_null(got);
    assert_non_null(strstr(note, "checksum"));
    /* truncate it */
    assert_int_equal(truncate(path, 30), 0);
    note[0] = '\0';
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_null(got);
    assert_true(strstr(note, "truncated") || strstr(note, "bad binary length"));
    /* garbage */
    f = fopen(path, "wb");
    fputs("not a cache file at all", f);
    fclose(f);
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_null(got);
    assert_non_null(strstr(note, "bad magic"));
    /* a store replaces it atomically */
    note[0] = '\0';
    vxt__disk_cache_store(dir, "key-A", bin, sizeof bin, note, sizeof note);
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_non_null(got);
    free(got);
    only_entry(dir, path, sizeof path);
    remove_dir(dir);
    free(dir);
}

/* An entry whose stated length is not the file's: bytes after the binary, or a length far beyond the file (refused
 * before anything is allocated for it). */
static void test_lengths(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), note[256] = "", path[4096];
    unsigned char bin[100] = {1, 2, 3}, *got = NULL;
    size_t size = 0;
    vxt__disk_cache_store(dir, "key-A", bin, sizeof bin, note, sizeof note);
    assert_string_equal(note, "");
    only_entry(dir, path, sizeof path);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputc(0, f);
    fclose(f);
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_null(got);
    assert_int_equal(size, 0);
    assert_non_null(strstr(note, "bytes after the binary: the entry states a binary of 100 bytes, the file holds 101"));
    /* the binary's length (after "VXTPRG01", the key's length and the key) says 256 MiB */
    f = fopen(path, "r+b");
    assert_non_null(f);
    const uint64_t forged = (uint64_t)1 << 28;
    assert_int_equal(fseek(f, 8 + 4 + 5, SEEK_SET), 0);
    assert_int_equal(fwrite(&forged, sizeof forged, 1, f), 1);
    fclose(f);
    vxt__disk_cache_load(dir, "key-A", &got, &size, note, sizeof note);
    assert_null(got);
    assert_non_null(strstr(note, "truncated: the entry states a binary of 268435456 bytes, the file holds 101"));
    remove_dir(dir);
    free(dir);
}

/* The fuzz target's seeds (entries vxt__disk_cache_store wrote for its key) still load, and the inputs it found
 * (tests/fuzz/regressions-cache/crash-NNN) are refused with a note of one printable line. */
static void test_fuzz_inputs(void **state)
{
    (void)state;
    static const char *const seeds[] = {"entry-1-z", "entry-16-p", "entry-64-e", "entry-200-p", "entry-1024-e"};
    char *dir = make_tmpdir(), note[512], path[4096], entry[4096];
    unsigned char one = 1, *got = NULL;
    size_t size = 0;
    note[0] = '\0';
    vxt__disk_cache_store(dir, FUZZ_CACHE_KEY, &one, 1, note, sizeof note);
    only_entry(dir, entry, sizeof entry);
    int regressions = 0;
    snprintf(path, sizeof path, "%s/../fuzz/regressions-cache/README.md", vxt_test_data_dir());
    assert_int_equal(access(path, R_OK), 0); /* the directory is where we look */
    for (int i = 0;; i++) {
        const int seed = i < (int)(sizeof seeds / sizeof seeds[0]);
        if (seed)
            snprintf(path, sizeof path, "%s/../fuzz/corpus/fuzz_program_cache/%s", vxt_test_data_dir(), seeds[i]);
        else
            snprintf(path, sizeof path, "%s/../fuzz/regressions-cache/crash-%03d", vxt_test_data_dir(), regressions++);
        FILE *in = fopen(path, "rb");
        if (!in && !seed)
            break;
        assert_non_null(in);
        static unsigned char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        FILE *out = fopen(entry, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(out);
        note[0] = '\0';
        vxt__disk_cache_load(dir, FUZZ_CACHE_KEY, &got, &size, note, sizeof note);
        if (seed) {
            assert_non_null(got);
            assert_string_equal(note, "");
            assert_memory_equal(got, buf + n - size, size);
        } else {
            assert_null(got);
            assert_non_null(strstr(note, "ignored cache entry"));
            for (const char *p = note; *p; p++)
                assert_true(*p >= 0x20 && *p < 0x7f);
        }
        free(got);
        got = NULL;
    }
    remove_dir(dir);
    free(dir);
}

static void test_store_into_missing_dir(void **state)
{
    (void)state;
    char note[256] = "";
    unsigned char bin[4] = {1, 2, 3, 4};
    vxt__disk_cache_store("/nonexistent-dir-for-vxt", "k", bin, 4, note, sizeof note);
    assert_non_null(strstr(note, "cannot create"));
}

static void test_fnv(void **state)
{
    (void)state;
    /* published FNV-1a 64 test vectors */
    assert_true(vxt__fnv1a64("", 0, VXT__FNV_INIT) == 0xcbf29ce484222325ull);
    assert_true(vxt__fnv1a64("a", 1, VXT__FNV_INIT) == 0xaf63dc4c8601ec8cull);
    assert_true(vxt__fnv1a64("foobar", 6, VXT__FNV_INIT) == 0x85944171f73967e8ull);
}

static void test_context_uses_disk_cache(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_OPENCL;
    o.program_cache_dir = dir;
    vxt_context *ctx = NULL;
    vxt_context_info info = {.struct_size = sizeof info};

    assert_ok(vxt_context_create(&o, &ctx)); /* builds the probe program and stores it */
    assert_ok(vxt_context_get_info(ctx, &info));
    assert_int_equal(info.programs_built, 1);
    assert_int_equal(info.programs_from_disk, 0);
    assert_string_equal(info.cache_note, "");
    vxt_context_destroy(ctx);
    char path[4096];
    only_entry(dir, path, sizeof path);

    assert_ok(vxt_context_create(&o, &ctx)); /* loads it */
    assert_ok(vxt_context_get_info(ctx, &info));
    assert_int_equal(info.programs_built, 0);
    assert_int_equal(info.programs_from_disk, 1);
    assert_true(info.probe.passed); /* the cached binary gives the same bits */
    vxt_context_destroy(ctx);

    /* a corrupted entry is ignored, rebuilt and rewritten */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    fputs("garbage", f);
    fclose(f);
    assert_ok(vxt_context_create(&o, &ctx));
    assert_ok(vxt_context_get_info(ctx, &info));
    assert_int_equal(info.programs_built, 1);
    assert_int_equal(info.programs_from_disk, 0);
    assert_non_null(strstr(info.cache_note, "ignored cache entry"));
    vxt_context_destroy(ctx);
    assert_ok(vxt_context_create(&o, &ctx));
    assert_ok(vxt_context_get_info(ctx, &info));
    assert_int_equal(info.programs_from_disk, 1);
    vxt_context_destroy(ctx);

    /* different build options (another device or division mode) give another key: a second entry */
    assert_ok(vxt_context_create(&o, &ctx));
    pthread_mutex_lock(&ctx->prog_lock);
    clReleaseProgram(ctx->programs[VXT__PROG_PROBE]);
    ctx->programs[VXT__PROG_PROBE] = NULL;
    snprintf(ctx->build_options, sizeof ctx->build_options, "-cl-std=CL1.2 -DVXT_DIV_MODE=1");
    pthread_mutex_unlock(&ctx->prog_lock);
    cl_program prog = NULL;
    assert_ok(vxt__program_get(ctx, VXT__PROG_PROBE, &prog));
    assert_non_null(prog);
    vxt_context_destroy(ctx);
    int entries = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 2);

    remove_dir(dir);
    free(dir);
}

static void test_build_failure_reports_log(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    pthread_mutex_lock(&ctx->prog_lock);
    clReleaseProgram(ctx->programs[VXT__PROG_PROBE]);
    ctx->programs[VXT__PROG_PROBE] = NULL;
    /* defining the include guard hides the shared header: the kernels call undeclared functions */
    snprintf(ctx->build_options, sizeof ctx->build_options, "-cl-std=CL1.2 -DVXT_DIV_MODE=0 -DVXT_ARITH_H=1");
    pthread_mutex_unlock(&ctx->prog_lock);
    cl_program prog = NULL;
    assert_status_msg(vxt__program_get(ctx, VXT__PROG_PROBE, &prog), VXT_ERR_BUILD, "build log");
    assert_non_null(strstr(vxt_context_last_error(ctx), "vxt_mul_add"));
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_store_and_load),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fuzz_inputs),
        cmocka_unit_test(test_store_into_missing_dir),
        cmocka_unit_test(test_fnv),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_context_uses_disk_cache),
        cmocka_unit_test(test_build_failure_reports_log),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
