/* nifti_source.c - a sequential byte source over memory or a file, either of them possibly gzip-compressed,
 * so that header, extension and voxel parsing is written once. Every read is bounded by the source's size. */
#include <errno.h>
#include <string.h>

#include "nifti_internal.h"

vxt_status vxt__src_mem(vxt__src *s, const char *who, const void *data, size_t size)
{
    memset(s, 0, sizeof *s);
    s->who = who;
    s->fd = -1;
    s->mem = (const unsigned char *)data;
    s->mem_size = size;
    if (vxt__gz_magic(data, size)) {
        s->kind = VXT__SRC_GZ;
        s->compressed = 1;
        return vxt__gz_open_mem(who, data, size, &s->gz);
    }
    s->kind = VXT__SRC_MEM;
    return VXT_OK;
}

vxt_status vxt__src_fd(vxt__src *s, const char *who, int fd, uint64_t size)
{
    memset(s, 0, sizeof *s);
    s->who = who;
    s->fd = fd;
    s->fd_size = size;
    unsigned char magic[2];
    int64_t r = vxt__pread_full(fd, magic, sizeof magic, 0);
    if (r < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot read: %s", who, strerror(errno));
    if (vxt__gz_magic(magic, (size_t)r)) {
        s->kind = VXT__SRC_GZ;
        s->compressed = 1;
        return vxt__gz_open_fd(who, fd, 0, size, &s->gz);
    }
    s->kind = VXT__SRC_FD;
    return VXT_OK;
}

vxt_status vxt__src_read(vxt__src *s, void *dst, size_t n, size_t *got)
{
    *got = 0;
    if (s->kind == VXT__SRC_GZ) {
        vxt_status st = vxt__gz_read(s->gz, dst, n, got);
        s->pos += *got;
        return st;
    }
    uint64_t size = s->kind == VXT__SRC_MEM ? s->mem_size : s->fd_size;
    uint64_t left = size > s->pos ? size - s->pos : 0;
    size_t take = (uint64_t)n < left ? n : (size_t)left;
    if (take == 0)
        return VXT_OK;
    if (s->kind == VXT__SRC_MEM) {
        memcpy(dst, s->mem + s->pos, take);
        *got = take;
    } else {
        int64_t r = vxt__pread_full(s->fd, dst, take, s->pos);
        if (r < 0)
            return vxt__fail(NULL, VXT_ERR_IO, "%s: read error at byte %llu: %s", s->who,
                             (unsigned long long)s->pos, strerror(errno));
        *got = (size_t)r;
    }
    s->pos += *got;
    return VXT_OK;
}

vxt_status vxt__src_skip(vxt__src *s, uint64_t n, uint64_t *skipped)
{
    *skipped = 0;
    if (s->kind != VXT__SRC_GZ) {
        uint64_t size = s->kind == VXT__SRC_MEM ? s->mem_size : s->fd_size;
        uint64_t left = size > s->pos ? size - s->pos : 0;
        *skipped = n < left ? n : left;
        s->pos += *skipped;
        return VXT_OK;
    }
    unsigned char scratch[16384];
    while (*skipped < n) {
        uint64_t want = n - *skipped;
        size_t piece = want < sizeof scratch ? (size_t)want : sizeof scratch;
        size_t got = 0;
        vxt_status st = vxt__src_read(s, scratch, piece, &got);
        *skipped += got;
        if (st != VXT_OK)
            return st;
        if (got < piece)
            break;
    }
    return VXT_OK;
}

uint64_t vxt__src_size(const vxt__src *s)
{
    switch (s->kind) {
    case VXT__SRC_MEM:
        return s->mem_size;
    case VXT__SRC_FD:
        return s->fd_size;
    default:
        return UINT64_MAX;
    }
}

void vxt__src_close(vxt__src *s)
{
    vxt__gz_close(s->gz);
    s->gz = NULL;
}
