/* npy.c - NumPy .npy files: a strict header parser (format versions 1-3), ranged reads with byte-order
 * conversion, and a writer that only ever shows complete files (io/staged_file.c: temporary file, fsync, rename).
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "image_internal.h" /* vxt__npy_read_header */

#define MAX_HEADER (1u << 20)

static const struct {
    char kind;
    int size;
    vxt_dtype dtype;
} npy_types[] = {
    {'u', 1, VXT_DTYPE_U8},  {'i', 1, VXT_DTYPE_I8},  {'u', 2, VXT_DTYPE_U16}, {'i', 2, VXT_DTYPE_I16},
    {'u', 4, VXT_DTYPE_U32}, {'i', 4, VXT_DTYPE_I32}, {'u', 8, VXT_DTYPE_U64}, {'i', 8, VXT_DTYPE_I64},
    {'f', 2, VXT_DTYPE_F16}, {'f', 4, VXT_DTYPE_F32}, {'f', 8, VXT_DTYPE_F64},
};

/* Skip Python whitespace (space, tab, newline, carriage return) from p; returns the first other byte, or end. */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* What the header text holds at p, for error messages: 'text' (quoted, as vxt__printable() shows it), or "the end of
 * the header" at the end. */
static const char *excerpt(const char *p, const char *end, char *buf, size_t n)
{
    if (p >= end)
        snprintf(buf, n, "the end of the header");
    else
        snprintf(buf, n, "'%s'", vxt__printable(p, (size_t)(end - p), 16, (char[80]){0}, 80));
    return buf;
}

/* The end of the Python string literal that starts at p (a ' or " quote): a pointer to its closing quote, or NULL
 * when it is not closed on its line. Escapes are not interpreted (no valid key or dtype has one). */
static const char *string_end(const char *p, const char *end)
{
    for (const char *q = p + 1; q < end && *q != '\n'; q++)
        if (*q == *p)
            return q;
    return NULL;
}

/* Check the 'descr' string d[0 .. n) and set info->dtype and info->big_endian. */
static vxt_status parse_descr(const char *path, const char *d, size_t n, vxt_npy_info *info)
{
    char ex[96];
    int ok = n >= 3 && n <= 8;
    long esize = 0;
    for (size_t i = 2; ok && i < n; i++) {
        ok = d[i] >= '0' && d[i] <= '9';
        esize = esize * 10 + (d[i] - '0');
    }
    if (!ok)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: malformed 'descr' '%s' in the .npy header", path,
                         vxt__printable(d, n, 16, ex, sizeof ex));
    char order = d[0], kind = d[1];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unknown byte order '%s' in 'descr'", path,
                         vxt__printable(d, 1, 16, ex, sizeof ex));
    info->dtype = VXT_DTYPE_INVALID;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].kind == kind && npy_types[i].size == esize)
            info->dtype = npy_types[i].dtype;
    if (info->dtype == VXT_DTYPE_INVALID)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: dtype '%s' is not supported (unsigned/signed integers, float16, "
                         "float32, float64)", path, vxt__printable(d, n, 16, ex, sizeof ex));
    info->big_endian = order == '>' && esize > 1;
    return VXT_OK;
}

/* Parse the 'shape' value at *pp -- a Python tuple of non-negative integers: (), (n,), (n, m), (n, m,) ... (the
 * Python 2 'L' suffix allowed) -- into info->ndim, shape and count; *pp is left after the ')'. */
static vxt_status parse_shape(const char *path, const char **pp, const char *end, vxt_npy_info *info)
{
    char ex[96];
    const char *s = *pp;
    if (s >= end || *s != '(')
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: 'shape' in the .npy header is not a tuple (found %s)", path,
                         excerpt(s, end, ex, sizeof ex));
    s = skip_ws(s + 1, end);
    info->ndim = 0;
    uint64_t count = 1;
    if (s < end && *s == ')') { /* () : a 0-d array */
        *pp = s + 1;
        info->count = 1;
        return VXT_OK;
    }
    for (;;) {
        if (s >= end)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unterminated 'shape' tuple in the .npy header", path);
        if (*s < '0' || *s > '9')
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: malformed 'shape' entry %s in the .npy header (expected a "
                             "non-negative integer)", path, excerpt(s, end, ex, sizeof ex));
        if (info->ndim == 8)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: more than 8 dimensions in the .npy 'shape'", path);
        if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: malformed 'shape' entry %s in the .npy header (leading "
                             "zero)", path, excerpt(s, end, ex, sizeof ex));
        uint64_t v = 0;
        while (s < end && *s >= '0' && *s <= '9') {
            if (v > (UINT64_MAX - 9) / 10)
                return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: shape entry too large", path);
            v = v * 10 + (uint64_t)(*s - '0');
            s++;
        }
        if (s < end && *s == 'L') /* Python 2 long */
            s++;
        if (v > (uint64_t)INT64_MAX)
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: shape entry too large", path);
        info->shape[info->ndim++] = (int64_t)v;
        if (__builtin_mul_overflow(count, v, &count))
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: the shape's element count overflows", path);
        s = skip_ws(s, end);
        if (s < end && *s == ',') {
            s = skip_ws(s + 1, end);
            if (s < end && *s == ')')
                break; /* (n,) or a trailing comma */
            continue;
        }
        if (s < end && *s == ')') {
            if (info->ndim == 1)
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: 'shape' (%lld) in the .npy header is an integer, not a "
                                 "tuple (a 1-d shape is written (%lld,))", path, (long long)v, (long long)v);
            break;
        }
        if (s >= end)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unterminated 'shape' tuple in the .npy header", path);
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: malformed 'shape' tuple in the .npy header: expected ',' or ')', "
                         "found %s", path, excerpt(s, end, ex, sizeof ex));
    }
    *pp = s + 1;
    info->count = count;
    return VXT_OK;
}

/* Parse the header text h[0 .. len) as numpy.lib.format.read_array_header does: a Python dict literal with exactly
 * the keys 'descr' (a dtype string), 'fortran_order' (True or False) and 'shape' (a tuple of non-negative
 * integers), in any order, each once, an optional trailing comma, and nothing but whitespace after the '}'. Only
 * C-ordered arrays of the dtypes in npy_types are accepted. Fills info's dtype, big_endian, ndim, shape and count. */
static vxt_status parse_header(const char *path, const char *h, size_t len, vxt_npy_info *info)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    const char *end = h + len;
    const char *p = skip_ws(h, end);
    char ex[96];
    if (p >= end || *p != '{')
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: .npy header is not a dictionary (starts with %s)", path,
                         excerpt(p, end, ex, sizeof ex));
    int seen[3] = {0, 0, 0}, fortran = 0;
    const char *descr = NULL;
    size_t descr_len = 0;
    vxt_status st;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: the .npy header dictionary has no closing '}'", path);
        if (*p == '}')
            break; /* {} or a trailing comma */
        if (*p != '\'' && *p != '"')
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: expected a quoted key in the .npy header dictionary, found %s",
                             path, excerpt(p, end, ex, sizeof ex));
        const char *ke = string_end(p, end);
        if (!ke)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unterminated string %s in the .npy header", path,
                             excerpt(p, end, ex, sizeof ex));
        size_t kl = (size_t)(ke - p - 1);
        int k = 0;
        while (k < 3 && !(strlen(keys[k]) == kl && memcmp(keys[k], p + 1, kl) == 0))
            k++;
        if (k == 3)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unknown key %s in the .npy header (expected exactly 'descr', "
                             "'fortran_order' and 'shape')",
                             path, vxt__printable(p, (size_t)(ke + 1 - p), 16, ex, sizeof ex));
        if (seen[k])
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: duplicate key '%s' in the .npy header", path, keys[k]);
        seen[k] = 1;
        p = skip_ws(ke + 1, end);
        if (p >= end || *p != ':')
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: expected ':' after the key '%s' in the .npy header, found %s",
                             path, keys[k], excerpt(p, end, ex, sizeof ex));
        p = skip_ws(p + 1, end);
        if (k == 0) {
            if (p < end && *p == '[')
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: 'descr' in the .npy header is a list: structured dtypes "
                                 "are not supported", path);
            if (p >= end || (*p != '\'' && *p != '"'))
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: 'descr' in the .npy header is not a string (found %s)",
                                 path, excerpt(p, end, ex, sizeof ex));
            const char *de = string_end(p, end);
            if (!de)
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unterminated string %s in the .npy header", path,
                                 excerpt(p, end, ex, sizeof ex));
            descr = p + 1;
            descr_len = (size_t)(de - p - 1);
            p = de + 1;
        } else if (k == 1) {
            const char *w = p;
            while (w < end && ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9') ||
                               *w == '_'))
                w++;
            if (w - p == 4 && memcmp(p, "True", 4) == 0)
                fortran = 1;
            else if (!(w - p == 5 && memcmp(p, "False", 5) == 0))
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: 'fortran_order' in the .npy header is not True or False "
                                 "(found %s)", path, excerpt(p, end, ex, sizeof ex));
            p = w;
        } else if ((st = parse_shape(path, &p, end, info)) != VXT_OK) {
            return st;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            break;
        if (p >= end)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: the .npy header dictionary has no closing '}'", path);
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: expected ',' or '}' after the value of '%s' in the .npy header, "
                         "found %s", path, keys[k], excerpt(p, end, ex, sizeof ex));
    }
    const char *rest = skip_ws(p + 1, end);
    if (rest < end)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: unexpected text %s after the closing '}' of the .npy header", path,
                         excerpt(rest, end, ex, sizeof ex));
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: .npy header has no '%s' key", path, keys[k]);
    if ((st = parse_descr(path, descr, descr_len, info)) != VXT_OK)
        return st;
    if (fortran)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: Fortran-ordered arrays are not supported; save a C-ordered "
                         "array (numpy.ascontiguousarray)", path);
    return VXT_OK;
}

static vxt_status read_exact(const char *path, int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *b = (unsigned char *)buf;
    while (n > 0) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return vxt__fail(NULL, VXT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        }
        if (r == 0)
            return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: file ends early (at byte %llu)", path,
                             (unsigned long long)off);
        b += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return VXT_OK;
}

/* The header of `path`; with `check_size`, the file must hold exactly the array's bytes after it. */
static vxt_status read_info(const char *path, vxt_npy_info *out, int check_size)
{
    VXT_CHECK_NULL(NULL, path);
    VXT_CHECK_NULL(NULL, out);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_npy_info", out->struct_size, sizeof(vxt_npy_info));
    if (st != VXT_OK)
        return st;
    size_t given = out->struct_size;
    vxt_npy_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: not a regular file", path);
    }
    unsigned char pre[12];
    char *header = NULL;
    if (sb.st_size < 10) {
        close(fd);
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: too short for an .npy file (%lld bytes)", path,
                         (long long)sb.st_size);
    }
    st = read_exact(path, fd, pre, 10, 0);
    if (st == VXT_OK && memcmp(pre, "\x93NUMPY", 6) != 0)
        st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: not an .npy file (bad magic)", path);
    uint64_t hlen = 0, hstart = 0;
    if (st == VXT_OK) {
        info.version = pre[6];
        if (pre[6] == 1) {
            hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8);
            hstart = 10;
        } else if (pre[6] == 2 || pre[6] == 3) {
            st = read_exact(path, fd, pre + 10, 2, 10);
            hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8) | ((uint64_t)pre[10] << 16) | ((uint64_t)pre[11] << 24);
            hstart = 12;
        } else {
            st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: .npy format version %d.%d is not supported", path, pre[6], pre[7]);
        }
    }
    if (st == VXT_OK && (hlen == 0 || hlen > MAX_HEADER))
        st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: .npy header length %llu is not plausible", path,
                       (unsigned long long)hlen);
    if (st == VXT_OK && hstart + hlen > (uint64_t)sb.st_size)
        st = vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: file ends inside the .npy header", path);
    if (st == VXT_OK && !(header = malloc((size_t)hlen + 1)))
        st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == VXT_OK)
        st = read_exact(path, fd, header, (size_t)hlen, hstart);
    close(fd);
    if (st == VXT_OK) {
        header[hlen] = '\0';
        st = parse_header(path, header, (size_t)hlen, &info);
    }
    free(header);
    if (st != VXT_OK)
        return st;
    info.data_offset = hstart + hlen;
    uint64_t bytes;
    if (__builtin_mul_overflow(info.count, (uint64_t)vxt_dtype_size(info.dtype), &bytes))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: data size overflows", path);
    uint64_t have = (uint64_t)sb.st_size - info.data_offset;
    if (check_size && have < bytes)
        return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: data is truncated: %llu bytes for %llu elements of %s (%llu "
                         "bytes expected)", path, (unsigned long long)have, (unsigned long long)info.count,
                         vxt_dtype_name(info.dtype), (unsigned long long)bytes);
    if (check_size && have > bytes)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: %llu bytes after the array's data", path,
                         (unsigned long long)(have - bytes));
    vxt__copy_out_struct(out, &info, given, sizeof info);
    return VXT_OK;
}

vxt_status vxt_npy_read_info(const char *path, vxt_npy_info *out)
{
    return read_info(path, out, 1);
}

vxt_status vxt__npy_read_header(const char *path, vxt_npy_info *out)
{
    return read_info(path, out, 0);
}

static void swap_bytes(void *data, uint64_t count, size_t es)
{
    unsigned char *p = (unsigned char *)data;
    for (uint64_t i = 0; i < count; i++, p += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

vxt_status vxt_npy_read(const char *path, const vxt_npy_info *info, uint64_t first, uint64_t count, void *dst)
{
    VXT_CHECK_NULL(NULL, path);
    VXT_CHECK_NULL(NULL, info);
    VXT_CHECK_NULL(NULL, dst);
    size_t es = vxt_dtype_size(info->dtype);
    if (es == 0)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_read: info has no valid dtype");
    if (first > info->count || count > info->count - first)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_read: elements [%llu, %llu) beyond the array's %llu",
                         (unsigned long long)first, (unsigned long long)(first + count),
                         (unsigned long long)info->count);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    vxt_status st = read_exact(path, fd, dst, (size_t)(count * es), info->data_offset + first * es);
    close(fd);
    if (st == VXT_OK && info->big_endian)
        swap_bytes(dst, count, es);
    return st;
}

/* ---- writing ----------------------------------------------------------------------------------------------- */

struct vxt_npy_writer {
    int fd;        /* f.fd */
    char *path;
    vxt__staged f; /* the file being written (io/staged_file.c) */
    size_t es;
    uint64_t count, written, data_offset;
    /* the element ranges written so far: disjoint [start, end) pairs in increasing order, touching ones merged
     * (in-order writes keep one), so that an overlapping write is refused and commit knows every element is in */
    uint64_t (*iv)[2];
    size_t niv, cap;
};

/* VXT_ERR_INVALID_ARGUMENT if [a, b) overlaps a range already written; else, with `record`, record it. */
static vxt_status writer_mark(vxt_npy_writer *w, uint64_t a, uint64_t b, int record)
{
    size_t lo = 0, hi = w->niv; /* k: the first range that starts at or after a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->iv[mid][0] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo;
    if ((k > 0 && w->iv[k - 1][1] > a) || (k < w->niv && w->iv[k][0] < b)) {
        const uint64_t *o = k > 0 && w->iv[k - 1][1] > a ? w->iv[k - 1] : w->iv[k];
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_writer_write: elements [%llu, %llu) overlap "
                         "elements [%llu, %llu) already written", (unsigned long long)a, (unsigned long long)b,
                         (unsigned long long)o[0], (unsigned long long)o[1]);
    }
    if (!record)
        return VXT_OK;
    int left = k > 0 && w->iv[k - 1][1] == a, right = k < w->niv && w->iv[k][0] == b;
    if (left && right) { /* fills a gap: join the two neighbours */
        w->iv[k - 1][1] = w->iv[k][1];
        memmove(w->iv + k, w->iv + k + 1, (w->niv - k - 1) * sizeof w->iv[0]);
        w->niv--;
    } else if (left) {
        w->iv[k - 1][1] = b;
    } else if (right) {
        w->iv[k][0] = a;
    } else {
        if (w->niv == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 8;
            void *n = realloc(w->iv, cap * sizeof w->iv[0]);
            if (!n)
                return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_npy_writer_write: out of memory");
            w->iv = (uint64_t(*)[2])n;
            w->cap = cap;
        }
        memmove(w->iv + k + 1, w->iv + k, (w->niv - k) * sizeof w->iv[0]);
        w->iv[k][0] = a;
        w->iv[k][1] = b;
        w->niv++;
    }
    return VXT_OK;
}

vxt_status vxt_npy_writer_open(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape,
                               vxt_npy_writer **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, path);
    if (ndim < 0 || ndim > 8)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_writer_open: ndim %d (must be 0 .. 8)", ndim);
    if (ndim > 0 && !shape)
        return vxt__fail(NULL, VXT_ERR_NULL, "vxt_npy_writer_open: shape is NULL");
    char descr[8] = "";
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == dtype)
            snprintf(descr, sizeof descr, "%c%c%d", npy_types[i].size == 1 ? '|' : '<', npy_types[i].kind,
                     npy_types[i].size);
    if (!descr[0])
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_writer_open: dtype %d is not supported", (int)dtype);
    char shape_s[256] = "(";
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_writer_open: shape[%d] is %lld", i,
                             (long long)shape[i]);
        if (__builtin_mul_overflow(count, (uint64_t)shape[i], &count))
            return vxt__fail(NULL, VXT_ERR_OVERFLOW, "vxt_npy_writer_open: the element count overflows");
        vxt__strlcatf(shape_s, sizeof shape_s, "%lld%s", (long long)shape[i], ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    }
    vxt__strlcatf(shape_s, sizeof shape_s, ")");
    char dict[400];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape_s);
    size_t total = 10 + (size_t)dl + 1; /* magic+version+len, dict, newline */
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)dl + pad + 1;
    unsigned char head[512];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)dl);
    memset(head + 10 + dl, ' ', pad);
    head[10 + (size_t)dl + pad] = '\n';

    vxt_npy_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "out of memory");
    w->fd = -1;
    w->f.fd = -1;
    w->path = strdup(path);
    if (!w->path) {
        vxt_npy_writer_abort(w);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "out of memory");
    }
    vxt_status st = vxt__staged_open(path, path, &w->f);
    if (st != VXT_OK) {
        vxt_npy_writer_abort(w);
        return st;
    }
    w->fd = w->f.fd;
    w->es = vxt_dtype_size(dtype);
    w->count = count;
    w->data_offset = 10 + hlen;
    ssize_t n = pwrite(w->fd, head, (size_t)w->data_offset, 0);
    if (n != (ssize_t)w->data_offset) {
        int e = errno;
        vxt_npy_writer_abort(w);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    *out = w;
    return VXT_OK;
}

vxt_status vxt_npy_writer_write(vxt_npy_writer *w, uint64_t first, uint64_t count, const void *data)
{
    VXT_CHECK_NULL(NULL, w);
    VXT_CHECK_NULL(NULL, data);
    if (first > w->count || count > w->count - first)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "vxt_npy_writer_write: elements [%llu, %llu) beyond the "
                         "array's %llu", (unsigned long long)first, (unsigned long long)(first + count),
                         (unsigned long long)w->count);
    if (count == 0)
        return VXT_OK;
    vxt_status st = writer_mark(w, first, first + count, 0); /* refused before anything is written */
    if (st != VXT_OK)
        return st;
    const unsigned char *p = (const unsigned char *)data;
    uint64_t off = w->data_offset + first * w->es;
    size_t left = (size_t)(count * w->es);
    while (left > 0) {
        ssize_t n = pwrite(w->fd, p, left, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return vxt__fail(NULL, VXT_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
        }
        p += n;
        left -= (size_t)n;
        off += (uint64_t)n;
    }
    if ((st = writer_mark(w, first, first + count, 1)) != VXT_OK)
        return st;
    w->written += count;
    return VXT_OK;
}

/* Every element written, the file flushed: its staged file, moved out of w (which is released). */
vxt_status vxt__npy_writer_finish(vxt_npy_writer *w, vxt__staged *out)
{
    vxt_status st = VXT_OK;
    if (w->written != w->count)
        st = vxt__fail(NULL, VXT_ERR_STATE, "%s: %llu of %llu elements written; not committed", w->path,
                       (unsigned long long)w->written, (unsigned long long)w->count);
    else
        st = vxt__staged_finish(w->path, &w->f);
    if (st == VXT_OK) {
        *out = w->f;
        w->f.fd = -1;
        w->f.tmp = NULL;
        w->f.path = NULL;
    }
    vxt_npy_writer_abort(w);
    return st;
}

const char *vxt__npy_writer_path(const vxt_npy_writer *w)
{
    return w->path;
}

vxt_status vxt_npy_writer_commit(vxt_npy_writer *w)
{
    VXT_CHECK_NULL(NULL, w);
    char *path = strdup(w->path);
    vxt__staged f;
    vxt_status st = vxt__npy_writer_finish(w, &f);
    if (st == VXT_OK) {
        st = vxt__staged_commit(path ? path : "vxt_npy_writer_commit", &f);
        vxt__staged_release(&f);
    }
    free(path);
    return st;
}

void vxt_npy_writer_abort(vxt_npy_writer *w)
{
    if (!w)
        return;
    vxt__staged_abort(&w->f);
    free(w->iv);
    free(w->path);
    free(w);
}

/* An array into a staged file for path: written and flushed, not yet in place. */
vxt_status vxt__npy_stage(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape, const void *data,
                          vxt__staged *out)
{
    vxt_npy_writer *w = NULL;
    vxt_status st = vxt_npy_writer_open(path, dtype, ndim, shape, &w);
    if (st != VXT_OK)
        return st;
    if (w->count && !data) {
        vxt_npy_writer_abort(w);
        return vxt__fail(NULL, VXT_ERR_NULL, "vxt_npy_write: data is NULL");
    }
    if (w->count && (st = vxt_npy_writer_write(w, 0, w->count, data)) != VXT_OK) {
        vxt_npy_writer_abort(w);
        return st;
    }
    return vxt__npy_writer_finish(w, out);
}

vxt_status vxt_npy_write(const char *path, vxt_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    VXT_CHECK_NULL(NULL, path);
    vxt__staged f;
    vxt_status st = vxt__npy_stage(path, dtype, ndim, shape, data, &f);
    if (st != VXT_OK)
        return st;
    st = vxt__staged_commit(path, &f);
    vxt__staged_release(&f);
    return st;
}
