/* file_io.c - whole reads and writes on file descriptors, restarting after signals and short transfers; large
 * buffers. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nifti_internal.h"

/* Larger transfers are split: Linux moves at most 0x7ffff000 bytes per call. */
#define VXT__IO_PIECE ((size_t)1 << 30)

int64_t vxt__read_full(int fd, void *buf, size_t n)
{
    unsigned char *p = (unsigned char *)buf;
    size_t done = 0;
    while (done < n) {
        size_t piece = n - done < VXT__IO_PIECE ? n - done : VXT__IO_PIECE;
        ssize_t r = read(fd, p + done, piece);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (int64_t)done;
}

int64_t vxt__pread_full(int fd, void *buf, size_t n, uint64_t offset)
{
    unsigned char *p = (unsigned char *)buf;
    size_t done = 0;
    while (done < n) {
        size_t piece = n - done < VXT__IO_PIECE ? n - done : VXT__IO_PIECE;
        if (offset + done > (uint64_t)INT64_MAX) {
            errno = EOVERFLOW;
            return -1;
        }
        ssize_t r = pread(fd, p + done, piece, (off_t)(offset + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (int64_t)done;
}

int vxt__write_full(int fd, const void *buf, size_t n)
{
    const unsigned char *p = (const unsigned char *)buf;
    while (n > 0) {
        size_t piece = n < VXT__IO_PIECE ? n : VXT__IO_PIECE;
        ssize_t r = write(fd, p, piece);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Freshly allocated memory is slow to touch the first time (a page fault per 4 KiB page: 157 MB of voxels
 * cost about 80 ms on our machines). Large buffers are therefore marked for transparent huge pages where the
 * kernel offers them ("madvise" mode), which makes the first touch about four times faster
 * (docs/PERFORMANCE.md). Only a hint: without huge pages nothing changes. The memory is ordinary malloc memory
 * and is released with free(). */
#define VXT__BIG (4u << 20)

void *vxt__alloc_big(size_t n, int zero)
{
    void *p = zero ? calloc(1, n ? n : 1) : malloc(n ? n : 1);
#ifdef MADV_HUGEPAGE
    if (p != NULL && n >= VXT__BIG) {
        const uintptr_t page = 4096;
        uintptr_t begin = ((uintptr_t)p + page - 1) & ~(page - 1), end = ((uintptr_t)p + n) & ~(page - 1);
        if (end > begin)
            (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
    }
#endif
    return p;
}
