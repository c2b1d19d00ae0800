/* fuzz_program_cache.c - libFuzzer target for the loader of the on-disk cache of compiled OpenCL programs
 * (vxt__disk_cache_load, runtime/opencl/program_cache.c).
 *
 * An input is the whole content of a cache entry: it is written as the entry of a fixed key (a key as
 * runtime/opencl/program.c makes them) into a folder of this process (under /dev/shm when it is writable) and
 * loaded with that key. Whatever the bytes:
 *   - an entry that is refused leaves a note of one line of printable ASCII, and no binary;
 *   - an entry that loads is exactly what vxt__disk_cache_store writes for that key and binary (stored again, the
 *     same bytes): the loader takes nothing that the writer would not have written -- no other length, no trailing
 *     bytes, no other checksum -- and gives the binary that is in the file.
 * A broken invariant aborts (libFuzzer reports it like a crash); over-reads and leaks are the sanitizers', and
 * run-fuzz.sh caps one allocation at 64 MiB for this target: an entry of a few KiB must not make the loader allocate
 * the length it states before that length is checked against the file's size. Seeds:
 * tests/fuzz/corpus/fuzz_program_cache, entries written by vxt__disk_cache_store for this key (fuzz_program_cache.h):
 * VXT_FUZZ_CACHE_SEEDS=DIR writes them again (after a change of the format) into DIR and exits;
 * tests/test_program_cache.c loads them and replays the inputs kept in tests/fuzz/regressions-cache. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_program_cache.h"
#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY FUZZ_CACHE_KEY

static char dir[256], again[256], entry[600];

static void check(int cond, const char *what, const char *note)
{
    if (!cond) {
        fprintf(stderr, "fuzz_program_cache: invariant broken: %s (note: %s)\n", what, note);
        abort();
    }
}

static void make_dir(char *d, size_t n, const char *name)
{
    snprintf(d, n, "%s/%s.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
    check(mkdtemp(d) != NULL, "mkdtemp", "");
}

/* The one file in d (its path into path); the folder is left empty. */
static void only_file(const char *d, char *path, size_t n)
{
    DIR *dd = opendir(d);
    struct dirent *e;
    int count = 0;
    while (dd && (e = readdir(dd)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, n, "%s/%s", d, e->d_name);
            count++;
        }
    if (dd)
        closedir(dd);
    check(count == 1, "the cache folder holds one entry", "");
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    check(f != NULL, "reading back a stored entry", path);
    unsigned char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            check(buf != NULL, "out of memory", "");
        }
        size_t r = fread(buf + *n, 1, cap - *n, f);
        if (r == 0)
            break;
        *n += r;
    }
    fclose(f);
    return buf;
}

/* The folders go when the fuzzer ends. */
static void remove_dirs(void)
{
    unlink(entry);
    rmdir(dir);
    rmdir(again);
}

/* VXT_FUZZ_CACHE_SEEDS=DIR: write the seeds into DIR (entry-SIZE-KIND: zeros, a pattern, ELF-like bytes) with
 * vxt__disk_cache_store, and exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *out = getenv("VXT_FUZZ_CACHE_SEEDS");
    if (!out)
        return 0;
    static const struct {
        size_t n;
        char kind;
    } seeds[] = {{1, 'z'}, {16, 'p'}, {64, 'e'}, {200, 'p'}, {1024, 'e'}};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        unsigned char bin[1024];
        char note[512] = "", d[256], from[600], to[600];
        for (size_t i = 0; i < seeds[s].n; i++)
            bin[i] = (unsigned char)(seeds[s].kind == 'z' ? 0 : seeds[s].kind == 'e' ? "\x7f" "ELF"[i % 4]
                                                                                    : (i * 131 + 7) & 0xff);
        make_dir(d, sizeof d, "vxt-fuzz-cache-seed");
        vxt__disk_cache_store(d, KEY, bin, seeds[s].n, note, sizeof note);
        check(note[0] == '\0', "storing a seed", note);
        only_file(d, from, sizeof from);
        snprintf(to, sizeof to, "%s/entry-%zu-%c", out, seeds[s].n, seeds[s].kind);
        size_t n = 0;
        unsigned char *entry_bytes = read_all(from, &n);
        FILE *f = fopen(to, "wb");
        check(f && fwrite(entry_bytes, 1, n, f) == n && fclose(f) == 0, "writing a seed into VXT_FUZZ_CACHE_SEEDS", to);
        free(entry_bytes);
        unlink(from);
        rmdir(d);
    }
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char note[512] = "";
    if (!dir[0]) { /* the entry's name: the one file the writer makes for KEY */
        make_dir(dir, sizeof dir, "vxt-fuzz-cache");
        make_dir(again, sizeof again, "vxt-fuzz-cache-again");
        const unsigned char one = 1;
        vxt__disk_cache_store(dir, KEY, &one, 1, note, sizeof note);
        check(note[0] == '\0', "storing an entry", note);
        only_file(dir, entry, sizeof entry);
        atexit(remove_dirs);
    }
    FILE *f = fopen(entry, "wb");
    check(f && fwrite(data, 1, size, f) == size && fclose(f) == 0, "writing the input as the entry", entry);

    unsigned char *bin = NULL;
    size_t n = 0;
    vxt__disk_cache_load(dir, KEY, &bin, &n, note, sizeof note);
    if (!bin) {
        check(n == 0, "a refused entry with a size", note);
        check(note[0] != '\0', "an entry refused without a note", note);
        for (const char *p = note; *p; p++)
            check(*p >= 0x20 && *p < 0x7f, "a note that is not one line of printable ASCII", note);
        return 0;
    }
    check(note[0] == '\0', "an entry loaded with a note", note);
    check(n > 0 && n <= size, "a binary larger than the entry", note);
    check(memcmp(bin, data + size - n, n) == 0, "a binary that is not the entry's last bytes", note);
    /* what loads is what the writer writes */
    char path[600];
    vxt__disk_cache_store(again, KEY, bin, n, note, sizeof note);
    check(note[0] == '\0', "storing the loaded binary again", note);
    only_file(again, path, sizeof path);
    size_t m = 0;
    unsigned char *stored = read_all(path, &m);
    check(m == size && memcmp(stored, data, size) == 0, "an entry that loads but is not what the writer writes",
          "");
    unlink(path);
    free(stored);
    free(bin);
    return 0;
}
