/* file_io.c - whole reads and writes on file descriptors, restarting after signals and short transfers. */
#include <errno.h>
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
