/* vxt_test.h - shared helpers for the cmocka test executables.
 *
 * Every test executable has two groups, run as separate CTest entries: `<name>.cpu` (no OpenCL needed) and
 * `<name>.opencl`. The OpenCL group exits 77 (reported by CTest as skipped) when the machine has no OpenCL
 * platform, unless VXT_REQUIRE_OPENCL=1 (set by CI), in which case it fails. */
#ifndef VXT_TEST_H
#define VXT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the above */
#include <cmocka.h>

#include "voxtile.h"

#define VXT_TEST_SKIP 77

/* Run the group named by argv[1] ("cpu", "opencl" or another name listed in groups). */
typedef struct vxt_test_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t count;
    int needs_opencl;
} vxt_test_group;

int vxt_test_main(int argc, char **argv, const vxt_test_group *groups, size_t ngroups);

#define VXT_GROUP(name, tests, needs_opencl) {name, tests, sizeof(tests) / sizeof((tests)[0]), needs_opencl}

/* An image of random, non-zero values of `dtype` (int16: -1000..2000; float32: -1..2) with an affine of `spacing`
 * (z, y, x) and axis directions `orient` ("RAS", "LPS", ...), origin away from zero (asserts success). */
vxt_image *vxt_test_image(vxt_dtype dtype, int64_t channels, const int64_t shape[3], const double spacing[3],
                          const char *orient, uint64_t seed);

/* 1 when VXT_TEST_SMALL=1, which tools/oclgrind-tests.sh sets: Oclgrind interprets every work-item, about a
 * thousand times slower than PoCL, so suites that loop over many cases run a fixed subset there, chosen to cover
 * every kernel variant (each suite says which). */
int vxt_test_small(void);

/* Whether device variant `v` of `n` runs combination `i` of a suite's loops: always, except under vxt_test_small(),
 * where the variants take turns (i % n == v), so that each still runs a share of the cases and every case runs on
 * one variant when i counts the cases. */
int vxt_test_small_turn(size_t i, size_t v, size_t n);

/* Create a context on `backend` (asserts success). */
vxt_context *vxt_test_context(vxt_backend backend, int threads);

/* Assert that `call` returns `expected` and that the thread's error message contains `needle`. */
#define assert_status_msg(call, expected, needle)                                                            \
    do {                                                                                                     \
        vxt_status st_ = (call);                                                                             \
        if (st_ != (expected))                                                                               \
            fail_msg("%s returned %s (%s), expected %s", #call, vxt_status_name(st_), vxt_last_error(),      \
                     vxt_status_name(expected));                                                             \
        if ((needle) != NULL && strstr(vxt_last_error(), (needle)) == NULL)                                  \
            fail_msg("%s: message '%s' does not mention '%s'", #call, vxt_last_error(), (const char *)(needle)); \
    } while (0)

#define assert_ok(call)                                                                                      \
    do {                                                                                                     \
        vxt_status st_ = (call);                                                                             \
        if (st_ != VXT_OK)                                                                                   \
            fail_msg("%s returned %s: %s", #call, vxt_status_name(st_), vxt_last_error());                  \
    } while (0)

/* Deterministic random numbers for test inputs. */
typedef struct vxt_rng {
    uint64_t s;
} vxt_rng;
uint32_t vxt_rng_u32(vxt_rng *r);
float vxt_rng_uniform(vxt_rng *r, float lo, float hi);

/* Fill with a poison bit pattern (a signalling-NaN-like value no computation produces). */
void vxt_poison(void *p, size_t bytes);

/* Number of elements whose bits differ; reports the first few through print_message. */
size_t vxt_count_bit_diffs(const float *a, const float *b, size_t n, const char *what);

/* Where the tests find their data and the build tree. The environment variables of the same names, when set and not
 * empty, replace the paths compiled in (a relocated copy of the tests, as tools/device-bundle.sh makes one for a
 * machine where the repository lies elsewhere); otherwise the compiled-in VXT_TEST_DATA_DIR and VXT_BINARY_DIR. */
const char *vxt_test_data_dir(void);
const char *vxt_test_binary_dir(void);
/* `path` with a leading compiled-in VXT_TEST_DATA_DIR or VXT_BINARY_DIR replaced by vxt_test_data_dir() or
 * vxt_test_binary_dir() (for the paths the tests spell as string literals); any other path unchanged. The result
 * lives in one of 16 rotating buffers (or is `path` itself). */
const char *vxt_test_relocate(const char *path);
/* Every occurrence of the two compiled-in prefixes in `text` replaced as vxt_test_relocate does, into out (a command
 * line or a message that names test files); returns out. */
char *vxt_test_relocate_all(const char *text, char *out, size_t size);

/* Read a whole file (relative paths are under vxt_test_data_dir(); absolute ones relocated by vxt_test_relocate);
 * asserts success; free() the result.
 * A NUL is appended (not counted in *size). */
void *vxt_test_read_file(const char *path, size_t *size);

/* Parse a JSON file under vxt_test_data_dir() (asserts success); cJSON_Delete() the result. */
struct cJSON;
struct cJSON *vxt_test_load_json(const char *relpath);

/* Integers of a JSON array (asserts it is one with at most max items); returns the count. */
int vxt_test_json_i64s(const struct cJSON *array, int64_t *out, int max);

#endif
