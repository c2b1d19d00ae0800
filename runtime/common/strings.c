/* strings.c - bounded strings: copies and appends that always terminate, and text shown in messages on one line. */
#include <stdio.h>
#include <string.h>

#include "common.h"

void vxt__strlcpy(char *dst, const char *src, size_t dst_size)
{
    if (dst_size == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= dst_size)
        n = dst_size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void vxt__strlcatf(char *dst, size_t dst_size, const char *fmt, ...)
{
    size_t len = strnlen(dst, dst_size);
    if (len + 1 >= dst_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, dst_size - len, fmt, ap);
    va_end(ap);
}

const char *vxt__printable(const char *p, size_t len, size_t max_chars, char *buf, size_t n)
{
    const char *e = p + len;
    size_t k = 0, shown = 0;
    for (; p < e && shown < max_chars && k + 8 < n; p++, shown++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n' || c == '\t' || c == '\r') {
            buf[k++] = '\\';
            buf[k++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else if (c < 0x20 || c >= 0x7f) {
            k += (size_t)snprintf(buf + k, n - k, "\\x%02x", c);
        } else {
            buf[k++] = (char)c;
        }
    }
    if (p < e && k + 4 <= n)
        for (int i = 0; i < 3; i++)
            buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}
