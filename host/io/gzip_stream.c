/* gzip_stream.c - gzip decompression as a stream (zlib) and as a whole buffer (libdeflate), and gzip
 * compression as a stream (zlib). Nothing here reads past the buffers it is given: input is fed to zlib in
 * bounded pieces, and output never goes beyond the caller's count. */
#include <errno.h>
#include <libdeflate.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nifti_internal.h"

#define VXT__GZ_CHUNK (256u * 1024u)   /* file reads feeding inflate */
#define VXT__GZ_FEED (1u << 30)        /* most bytes handed to zlib at once (avail_in is 32-bit) */

struct vxt__gz {
    const char *who;
    z_stream z;
    int z_ready;
    /* memory input */
    const unsigned char *mem;
    size_t mem_size;
    /* file input */
    int fd;
    uint64_t fd_pos, fd_end;
    unsigned char *buf;
    int eof;       /* the stream has ended (after a complete member) */
    uint64_t out_total;
    unsigned members;
};

int vxt__gz_magic(const void *p, size_t n)
{
    const unsigned char *c = (const unsigned char *)p;
    return n >= 2 && c[0] == 0x1f && c[1] == 0x8b;
}

static vxt_status gz_init(vxt__gz *gz)
{
    memset(&gz->z, 0, sizeof gz->z);
    int rc = inflateInit2(&gz->z, 16 + MAX_WBITS); /* gzip wrapper only */
    if (rc != Z_OK)
        return vxt__fail(NULL, rc == Z_MEM_ERROR ? VXT_ERR_OUT_OF_MEMORY : VXT_ERR_INTERNAL,
                         "%s: cannot initialise zlib's inflate (%d)", gz->who, rc);
    gz->z_ready = 1;
    gz->members = 1;
    return VXT_OK;
}

vxt_status vxt__gz_open_mem(const char *who, const void *data, size_t size, vxt__gz **out)
{
    *out = NULL;
    vxt__gz *gz = calloc(1, sizeof *gz);
    if (gz == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    gz->who = who;
    gz->fd = -1;
    gz->mem = (const unsigned char *)data;
    gz->mem_size = size;
    vxt_status st = gz_init(gz);
    if (st != VXT_OK) {
        free(gz);
        return st;
    }
    *out = gz;
    return VXT_OK;
}

vxt_status vxt__gz_open_fd(const char *who, int fd, uint64_t offset, uint64_t size, vxt__gz **out)
{
    *out = NULL;
    vxt__gz *gz = calloc(1, sizeof *gz);
    unsigned char *buf = malloc(VXT__GZ_CHUNK);
    if (gz == NULL || buf == NULL) {
        free(gz);
        free(buf);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    }
    gz->who = who;
    gz->fd = fd;
    gz->fd_pos = offset;
    gz->fd_end = size;
    gz->buf = buf;
    vxt_status st = gz_init(gz);
    if (st != VXT_OK) {
        free(buf);
        free(gz);
        return st;
    }
    *out = gz;
    return VXT_OK;
}

/* Make at least `need` (1 or 2) input bytes available to zlib when the input has them. Returns the number
 * available afterwards, or -1 on a read error (message set). */
static int64_t gz_refill(vxt__gz *gz, size_t need)
{
    if (gz->z.avail_in >= need)
        return gz->z.avail_in;
    if (gz->fd < 0) {
        /* memory: hand over the next piece, keeping what zlib has not consumed */
        size_t consumed = (size_t)(gz->z.next_in ? (size_t)(gz->z.next_in - gz->mem) : 0);
        size_t rest = gz->mem_size - consumed;
        size_t feed = rest < VXT__GZ_FEED ? rest : VXT__GZ_FEED;
        gz->z.next_in = (Bytef *)(uintptr_t)(gz->mem + consumed);
        gz->z.avail_in = (uInt)feed;
        return (int64_t)feed;
    }
    /* file: keep the unconsumed tail, then read more behind it */
    size_t keep = gz->z.avail_in;
    if (keep && gz->z.next_in != gz->buf)
        memmove(gz->buf, gz->z.next_in, keep);
    uint64_t left = gz->fd_end > gz->fd_pos ? gz->fd_end - gz->fd_pos : 0;
    size_t want = VXT__GZ_CHUNK - keep;
    if (want > left)
        want = (size_t)left;
    int64_t r = want ? vxt__pread_full(gz->fd, gz->buf + keep, want, gz->fd_pos) : 0;
    if (r < 0) {
        vxt__fail(NULL, VXT_ERR_IO, "%s: read error at byte %llu: %s", gz->who, (unsigned long long)gz->fd_pos,
                  strerror(errno));
        return -1;
    }
    gz->fd_pos += (uint64_t)r;
    if ((size_t)r < want) /* the file shrank under us: treat as its end */
        gz->fd_end = gz->fd_pos;
    gz->z.next_in = gz->buf;
    gz->z.avail_in = (uInt)(keep + (size_t)r);
    return gz->z.avail_in;
}

/* After a member's end: start the next member if one follows, else end the stream. */
static vxt_status gz_next_member(vxt__gz *gz)
{
    int64_t avail = gz_refill(gz, 2);
    if (avail < 0)
        return VXT_ERR_IO;
    if (!vxt__gz_magic(gz->z.next_in, (size_t)avail)) {
        gz->eof = 1; /* no more input, or trailing bytes that are not gzip: ignored, as gzip -d does */
        return VXT_OK;
    }
    int rc = inflateReset(&gz->z);
    if (rc != Z_OK)
        return vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: inflateReset failed (%d)", gz->who, rc);
    gz->members++;
    return VXT_OK;
}

vxt_status vxt__gz_read(vxt__gz *gz, void *dst, size_t n, size_t *got)
{
    unsigned char *out = (unsigned char *)dst;
    size_t done = 0;
    *got = 0;
    while (done < n && !gz->eof) {
        if (gz->z.avail_in == 0) {
            int64_t avail = gz_refill(gz, 1);
            if (avail < 0)
                return VXT_ERR_IO;
            if (avail == 0)
                return vxt__fail(NULL, VXT_ERR_TRUNCATED,
                                 "%s: the gzip stream ends early: member %u is cut off after %llu decompressed bytes",
                                 gz->who, gz->members, (unsigned long long)(gz->out_total + done));
        }
        size_t room = n - done;
        if (room > VXT__GZ_FEED)
            room = VXT__GZ_FEED;
        gz->z.next_out = out + done;
        gz->z.avail_out = (uInt)room;
        int rc = inflate(&gz->z, Z_NO_FLUSH);
        size_t produced = room - gz->z.avail_out;
        done += produced;
        if (rc == Z_STREAM_END) {
            vxt_status st = gz_next_member(gz);
            if (st != VXT_OK) {
                gz->out_total += done;
                *got = done;
                return st;
            }
        } else if (rc == Z_OK || (rc == Z_BUF_ERROR && gz->z.avail_in == 0)) {
            continue; /* more input needed: refilled at the top of the loop */
        } else {
            gz->out_total += done;
            *got = done;
            if (rc == Z_MEM_ERROR)
                return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: zlib is out of memory", gz->who);
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: corrupt gzip stream in member %u after %llu decompressed "
                             "bytes: %s", gz->who, gz->members, (unsigned long long)gz->out_total,
                             gz->z.msg ? gz->z.msg : "invalid data");
        }
    }
    gz->out_total += done;
    *got = done;
    return VXT_OK;
}

vxt_status vxt__gz_finish(vxt__gz *gz, uint64_t max_tail, const char *who)
{
    unsigned char scratch[16384];
    uint64_t tail = 0;
    while (!gz->eof) {
        size_t got = 0;
        vxt_status st = vxt__gz_read(gz, scratch, sizeof scratch, &got);
        if (st != VXT_OK)
            return st;
        if ((tail += got) > max_tail)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: the gzip stream goes on for more than %llu bytes after the "
                             "data its header declares (a wrong header, or a decompression bomb): refused",
                             who, (unsigned long long)max_tail);
    }
    return VXT_OK;
}

void vxt__gz_close(vxt__gz *gz)
{
    if (gz == NULL)
        return;
    if (gz->z_ready)
        inflateEnd(&gz->z);
    free(gz->buf);
    free(gz);
}

int vxt__gunzip_whole(const void *in, size_t in_size, void *out, size_t cap, size_t want, size_t *got)
{
    *got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (d == NULL)
        return 0;
    const unsigned char *ip = (const unsigned char *)in;
    unsigned char *op = (unsigned char *)out;
    size_t ipos = 0, opos = 0;
    int ok = 1;
    while (opos < want && vxt__gz_magic(ip + ipos, in_size - ipos)) {
        size_t used = 0, produced = 0;
        enum libdeflate_result r =
            libdeflate_gzip_decompress_ex(d, ip + ipos, in_size - ipos, op + opos, cap - opos, &used, &produced);
        if (r != LIBDEFLATE_SUCCESS) {
            ok = 0; /* corrupt, truncated, or larger than cap: the streaming path says which */
            break;
        }
        ipos += used;
        opos += produced;
    }
    libdeflate_free_decompressor(d);
    *got = opos;
    return ok;
}

/* ---- compression --------------------------------------------------------------------------------- */

struct vxt__gzw {
    const char *who;
    z_stream z;
    int fd; /* < 0: memory */
    unsigned char *buf;
    size_t cap;
};

static vxt_status gzw_flush(vxt__gzw *w)
{
    size_t have = w->cap - w->z.avail_out;
    if (w->fd >= 0) {
        if (have && vxt__write_full(w->fd, w->buf, have) != 0)
            return vxt__fail(NULL, VXT_ERR_IO, "%s: write failed: %s", w->who, strerror(errno));
        w->z.next_out = w->buf;
        w->z.avail_out = (uInt)w->cap;
        return VXT_OK;
    }
    if (w->z.avail_out > 0)
        return VXT_OK;
    /* memory: grow */
    size_t ncap;
    if (!vxt__mul_size(w->cap, 2, &ncap))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: compressed output overflows size_t", w->who);
    if (ncap - have > VXT__GZ_FEED)
        ncap = have + VXT__GZ_FEED;
    unsigned char *nb = realloc(w->buf, ncap);
    if (nb == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes of compressed output", w->who,
                         ncap);
    w->buf = nb;
    w->cap = ncap;
    w->z.next_out = nb + have;
    w->z.avail_out = (uInt)(ncap - have);
    return VXT_OK;
}

vxt_status vxt__gzw_open(const char *who, int level, int fd, uint64_t expected, vxt__gzw **out)
{
    *out = NULL;
    vxt__gzw *w = calloc(1, sizeof *w);
    if (w == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    w->who = who;
    w->fd = fd;
    int rc = deflateInit2(&w->z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        free(w);
        return vxt__fail(NULL, rc == Z_MEM_ERROR ? VXT_ERR_OUT_OF_MEMORY : VXT_ERR_INVALID_ARGUMENT,
                         "%s: cannot initialise zlib's deflate at level %d (%d)", who, level, rc);
    }
    if (fd >= 0) {
        w->cap = 1u << 20;
    } else {
        /* room for the whole result when it fits one piece; grown by doubling otherwise */
        uLong bound = expected < VXT__GZ_FEED ? deflateBound(&w->z, (uLong)expected) : VXT__GZ_FEED;
        w->cap = bound + 64 < (1u << 16) ? (1u << 16) : (size_t)bound + 64;
    }
    w->buf = malloc(w->cap);
    if (w->buf == NULL) {
        size_t cap = w->cap;
        deflateEnd(&w->z);
        free(w);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes of compressed output", who,
                         cap);
    }
    w->z.next_out = w->buf;
    w->z.avail_out = (uInt)w->cap;
    *out = w;
    return VXT_OK;
}

vxt_status vxt__gzw_write(vxt__gzw *w, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    while (n > 0) {
        size_t piece = n < VXT__GZ_FEED ? n : VXT__GZ_FEED;
        w->z.next_in = (Bytef *)(uintptr_t)p;
        w->z.avail_in = (uInt)piece;
        while (w->z.avail_in > 0) {
            if (w->z.avail_out == 0) {
                vxt_status st = gzw_flush(w);
                if (st != VXT_OK)
                    return st;
            }
            int rc = deflate(&w->z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                return vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: deflate failed (%d)", w->who, rc);
        }
        p += piece;
        n -= piece;
    }
    return VXT_OK;
}

vxt_status vxt__gzw_close(vxt__gzw *w, void **data, size_t *size)
{
    vxt_status st = VXT_OK;
    for (;;) {
        if (w->z.avail_out == 0 && (st = gzw_flush(w)) != VXT_OK)
            break;
        int rc = deflate(&w->z, Z_FINISH);
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: deflate failed (%d)", w->who, rc);
            break;
        }
        if (w->z.avail_out != 0 && rc == Z_BUF_ERROR) {
            st = vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: deflate made no progress", w->who);
            break;
        }
    }
    if (st == VXT_OK && w->fd >= 0)
        st = gzw_flush(w);
    if (st != VXT_OK) {
        vxt__gzw_abort(w);
        return st;
    }
    if (w->fd < 0) {
        size_t have = w->cap - w->z.avail_out;
        unsigned char *buf = w->buf;
        w->buf = NULL;
        unsigned char *shrunk = realloc(buf, have ? have : 1);
        if (shrunk != NULL)
            buf = shrunk; /* else the larger buffer is still valid */
        *data = buf;
        *size = have;
    }
    deflateEnd(&w->z);
    free(w->buf);
    free(w);
    return VXT_OK;
}

void vxt__gzw_abort(vxt__gzw *w)
{
    if (w == NULL)
        return;
    deflateEnd(&w->z);
    free(w->buf);
    free(w);
}

/* ---- whole-buffer compression -------------------------------------------------------------------- */

vxt_status vxt__gzip_pack(const char *who, int level, const void *head, size_t head_size, const void *body,
                          size_t body_size, unsigned char **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (c == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: cannot allocate a libdeflate compressor", who);
    /* gzip header, the head as stored blocks (5 bytes each, at most 65535 bytes of data), the deflated body
     * (libdeflate's bound), the trailer */
    size_t blocks = head_size / 65535 + 1, cap = 10;
    size_t bound = libdeflate_deflate_compress_bound(c, body_size);
    if (!vxt__add_size(cap, head_size, &cap) || !vxt__add_size(cap, 5 * blocks, &cap) ||
        !vxt__add_size(cap, bound, &cap) || !vxt__add_size(cap, 8, &cap)) {
        libdeflate_free_compressor(c);
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: compressed size overflows size_t", who);
    }
    unsigned char *b = malloc(cap); /* pages never written are never touched: compressible data costs little */
    if (b == NULL) {
        libdeflate_free_compressor(c);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes of compressed output", who,
                         cap);
    }
    static const unsigned char gzip_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}; /* deflate, no mtime, unix */
    memcpy(b, gzip_header, 10);
    size_t pos = 10;
    /* stored, non-final blocks: BFINAL = 0, BTYPE = 00, padded to a byte, LEN, NLEN, data. They end on a byte
     * boundary, where the body's deflate stream (which never refers back into them) can begin. */
    const unsigned char *hp = (const unsigned char *)head;
    size_t left = head_size;
    do {
        size_t len = left < 65535 ? left : 65535;
        b[pos++] = 0;
        b[pos++] = (unsigned char)(len & 0xff);
        b[pos++] = (unsigned char)(len >> 8);
        b[pos++] = (unsigned char)(~len & 0xff);
        b[pos++] = (unsigned char)((~len >> 8) & 0xff);
        if (len)
            memcpy(b + pos, hp, len);
        pos += len;
        hp += len;
        left -= len;
    } while (left > 0);
    size_t n = libdeflate_deflate_compress(c, body, body_size, b + pos, cap - pos - 8);
    libdeflate_free_compressor(c);
    if (n == 0) { /* cannot happen with the bound above */
        free(b);
        return vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: libdeflate's output exceeded its own bound", who);
    }
    pos += n;
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *parts[2] = {(const unsigned char *)head, (const unsigned char *)body};
    size_t sizes[2] = {head_size, body_size};
    for (int k = 0; k < 2; k++)
        for (size_t off = 0; off < sizes[k];) {
            size_t piece = sizes[k] - off < VXT__GZ_FEED ? sizes[k] - off : VXT__GZ_FEED;
            crc = crc32(crc, parts[k] + off, (uInt)piece);
            off += piece;
        }
    uint64_t total = (uint64_t)head_size + (uint64_t)body_size;
    for (int i = 0; i < 4; i++)
        b[pos++] = (unsigned char)((crc >> (8 * i)) & 0xff);
    for (int i = 0; i < 4; i++)
        b[pos++] = (unsigned char)((total >> (8 * i)) & 0xff); /* ISIZE: the length modulo 2^32 */
    unsigned char *shrunk = realloc(b, pos);
    if (shrunk != NULL)
        b = shrunk; /* else the larger buffer is still valid */
    *out = b;
    *out_size = pos;
    return VXT_OK;
}
