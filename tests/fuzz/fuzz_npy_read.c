/* fuzz_npy_read.c - libFuzzer target for the .npy reader (host/npy.c).
 *
 * The reader takes a path, so each input is written to a temporary file (mkstemp, unlinked after the input)
 * and read with vxt_npy_read_info. A failure must come with a message that names the file, on one line in
 * printable ASCII. Whatever parses is then read as a caller would -- whole, and a range that must match the
 * whole read -- and written back with the writer and read again: the second read must give the same type, shape
 * and elements (a mismatch aborts, so libFuzzer reports it like a crash). Temporary files go to /dev/shm when it
 * is writable (the writer fsyncs), else to $TMPDIR or /tmp. Build and run with tests/fuzz/run-fuzz.sh; seeds:
 * tests/data/npy, tests/fuzz/corpus/fuzz_npy_read (inputs the fuzzer found), and the inputs that once failed,
 * tests/fuzz/regressions-npy (replayed by tests/test_npy.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voxtile.h"

#define LIMIT (4u << 20) /* largest array (bytes) read and written back */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_npy_read: invariant broken: %s (%s)\n", what, vxt_last_error());
        abort();
    }
}

/* Remove the temporary directory at exit (the files in it are removed after each input). */
static void remove_dir(void)
{
    if (dir[0])
        rmdir(dir);
}

/* Create the temporary directory once: /dev/shm when writable, else $TMPDIR or /tmp. */
static void make_dir(void)
{
    const char *bases[3] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (int i = 0; i < 3 && !dir[0]; i++) {
        if (!bases[i] || !bases[i][0] || access(bases[i], W_OK) != 0)
            continue;
        snprintf(dir, sizeof dir, "%s/vxt-fuzz-npy-XXXXXX", bases[i]);
        if (!mkdtemp(dir))
            dir[0] = '\0';
    }
    check(dir[0] != '\0', "a temporary directory");
    atexit(remove_dir);
}

/* Check that a failed call left a message that names the file, on one line in printable ASCII. */
static void check_message(const char *path)
{
    const char *e = vxt_last_error();
    check(e[0] != '\0', "a failure without a message");
    for (const char *c = e; *c; c++)
        check(*c >= 0x20 && *c < 0x7f, "a message on one line, in printable ASCII");
    check(strncmp(e, path, strlen(path)) == 0 || strstr(e, "out of memory") != NULL, "the message names the file");
}

/* Read the array the way a caller does, write it back and read it again. */
static void exercise(const char *path, const vxt_npy_info *info)
{
    size_t es = vxt_dtype_size(info->dtype);
    check(es > 0 && info->ndim >= 0 && info->ndim <= 8, "a valid dtype and ndim");
    uint64_t count = 1;
    for (int a = 0; a < info->ndim; a++) {
        check(info->shape[a] >= 0, "shape entries >= 0");
        count *= (uint64_t)info->shape[a];
    }
    check(count == info->count, "count is the shape's product");
    if (count * es > LIMIT)
        return;
    size_t bytes = (size_t)(count * es);
    unsigned char *all = malloc(bytes + 1), *part = malloc(bytes + 1), *back = malloc(bytes + 1);
    check(all && part && back, "memory");
    check(vxt_npy_read(path, info, 0, count, all) == VXT_OK, "read the whole array");
    if (count > 2) {
        uint64_t first = count / 3, n = count - first - 1;
        check(vxt_npy_read(path, info, first, n, part) == VXT_OK, "read a range");
        check(memcmp(part, all + first * es, (size_t)(n * es)) == 0, "the range matches the whole read");
    }
    check(vxt_npy_read(path, info, count, 1, part) == VXT_ERR_INVALID_ARGUMENT, "a read beyond the end fails");

    char rt[300];
    snprintf(rt, sizeof rt, "%s/back.npy", dir);
    vxt_status st = vxt_npy_write(rt, info->dtype, info->ndim, info->shape, all);
    if (st == VXT_ERR_OUT_OF_MEMORY) {
        free(all);
        free(part);
        free(back);
        return;
    }
    check(st == VXT_OK, "write it back");
    vxt_npy_info bi = {.struct_size = sizeof bi};
    check(vxt_npy_read_info(rt, &bi) == VXT_OK, "read back what was written");
    check(bi.dtype == info->dtype && bi.ndim == info->ndim && bi.count == info->count && !bi.big_endian &&
              bi.version == 1 && bi.data_offset % 64 == 0,
          "the same header");
    for (int a = 0; a < info->ndim; a++)
        check(bi.shape[a] == info->shape[a], "the same shape");
    check(vxt_npy_read(rt, &bi, 0, count, back) == VXT_OK, "read back the data");
    check(memcmp(back, all, bytes) == 0, "the same elements");
    unlink(rt);
    free(all);
    free(part);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        make_dir();
    char path[300];
    snprintf(path, sizeof path, "%s/in-XXXXXX", dir);
    int fd = mkstemp(path);
    check(fd >= 0, "a temporary file");
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        check(n > 0, "write the input");
        done += (size_t)n;
    }
    close(fd);

    vxt_npy_info info = {.struct_size = sizeof info};
    vxt_status st = vxt_npy_read_info(path, &info);
    if (st == VXT_OK)
        exercise(path, &info);
    else
        check_message(path);
    unlink(path);
    return 0;
}
