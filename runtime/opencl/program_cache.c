/* program_cache.c - on-disk cache of compiled OpenCL program binaries.
 *
 * One file per (library version, program source hash, build options, device, driver, platform):
 *   dir/vxt-<fnv1a64(key) in hex>.clbin
 * holding: "VXTPRG01", u32 key length, key, u64 binary length, u32 CRC-32 of key and binary, binary.
 * A file whose key, size or CRC does not match, or that holds anything after the binary, is ignored (and replaced
 * after the next build); the binary's length is checked against the file's size before anything is allocated. Files are
 * written to a unique temporary name in the same directory, flushed, and renamed into place, so readers
 * never see a partial entry and concurrent writers do not corrupt each other. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

#define MAGIC "VXTPRG01"
#define MAX_BINARY ((uint64_t)1 << 30)
#define HEADER_BYTES ((uint64_t)8 + 4 + 8 + 4) /* magic, key length, binary length, CRC (and the key) */

static void entry_path(const char *dir, const char *key, char *path, size_t size)
{
    uint64_t h = vxt__fnv1a64(key, strlen(key), VXT__FNV_INIT);
    snprintf(path, size, "%s/vxt-%016llx.clbin", dir, (unsigned long long)h);
}

static uint32_t crc_of(const char *key, uint32_t key_len, const unsigned char *bin, uint64_t bin_len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)key, key_len);
    /* crc32 takes uInt lengths: feed the binary in pieces */
    while (bin_len > 0) {
        uInt piece = bin_len > 0x40000000u ? 0x40000000u : (uInt)bin_len;
        c = crc32(c, bin, piece);
        bin += piece;
        bin_len -= piece;
    }
    return (uint32_t)c;
}

void vxt__disk_cache_load(const char *dir, const char *key, unsigned char **binary, size_t *size, char *note,
                          size_t note_size)
{
    *binary = NULL;
    *size = 0;
    char path[4096];
    entry_path(dir, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* a miss */
    char magic[8];
    uint32_t key_len = 0, crc = 0;
    uint64_t bin_len = 0;
    char *stored_key = NULL;
    unsigned char *bin = NULL;
    const char *problem = NULL;
    char sizes[160];
    struct stat sb;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0)
        problem = "bad magic";
    else if (fread(&key_len, sizeof key_len, 1, f) != 1 || key_len != strlen(key))
        problem = "key length differs";
    else if (!(stored_key = malloc((size_t)key_len + 1)))
        problem = "out of memory";
    else if (fread(stored_key, 1, key_len, f) != key_len || memcmp(stored_key, key, key_len) != 0)
        problem = "key differs (hash collision or stale entry)";
    else if (fread(&bin_len, sizeof bin_len, 1, f) != 1 || bin_len == 0 || bin_len > MAX_BINARY)
        problem = "bad binary length";
    else if (fread(&crc, sizeof crc, 1, f) != 1)
        problem = "truncated";
    /* the length the entry states is the file's: a forged length allocates nothing (found by fuzz_program_cache: a
     * 231-byte file made the loader allocate 128 MiB), and bytes after the binary are not ignored */
    else if (fstat(fileno(f), &sb) != 0)
        problem = "cannot stat the file";
    else if ((uint64_t)sb.st_size != HEADER_BYTES + key_len + bin_len) {
        const long long held = (long long)sb.st_size - (long long)(HEADER_BYTES + key_len);
        snprintf(sizes, sizeof sizes, "%s: the entry states a binary of %llu bytes, the file holds %lld",
                 held < (long long)bin_len ? "truncated" : "bytes after the binary", (unsigned long long)bin_len, held);
        problem = sizes;
    } else if (!(bin = malloc((size_t)bin_len)))
        problem = "out of memory";
    else if (fread(bin, 1, (size_t)bin_len, f) != bin_len)
        problem = "truncated";
    else if (crc_of(key, key_len, bin, bin_len) != crc)
        problem = "checksum mismatch";
    fclose(f);
    free(stored_key);
    if (problem) {
        free(bin);
        snprintf(note, note_size, "ignored cache entry %s: %s", path, problem);
        return;
    }
    *binary = bin;
    *size = (size_t)bin_len;
}

void vxt__disk_cache_store(const char *dir, const char *key, const unsigned char *binary, size_t size,
                           char *note, size_t note_size)
{
    char path[4096], tmp[4096];
    entry_path(dir, key, path, sizeof path);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp) {
        snprintf(note, note_size, "cache path too long");
        return;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(note, note_size, "cannot create %s: %s", tmp, strerror(errno));
        return;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        snprintf(note, note_size, "cannot open %s: %s", tmp, strerror(errno));
        return;
    }
    uint32_t key_len = (uint32_t)strlen(key);
    uint64_t bin_len = size;
    uint32_t crc = crc_of(key, key_len, binary, bin_len);
    int ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(&key_len, sizeof key_len, 1, f) == 1 &&
             fwrite(key, 1, key_len, f) == key_len && fwrite(&bin_len, sizeof bin_len, 1, f) == 1 &&
             fwrite(&crc, sizeof crc, 1, f) == 1 && fwrite(binary, 1, size, f) == size;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        unlink(tmp);
        snprintf(note, note_size, "cannot write cache entry %s: %s", tmp, strerror(saved));
        return;
    }
    chmod(tmp, 0644);
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        snprintf(note, note_size, "cannot rename cache entry to %s: %s", path, strerror(saved));
    }
}
