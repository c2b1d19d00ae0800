/* exact_sum.h - exact sums for `voxtile header --stats`.
 *
 * Floating-point values are added into a fixed-point superaccumulator: integers in units of 2^-1074 (the
 * smallest double), wide enough for any sum of up to 2^40 finite doubles, so the result is the exact
 * mathematical sum of the values, independent of their order. Integer values are summed in __int128 (exact
 * for up to 2^63 values of 64 bits). Either sum prints as an exact decimal. */
#ifndef VXT_EXACT_SUM_H
#define VXT_EXACT_SUM_H

#include <stddef.h>
#include <stdint.h>

/* GCC and Clang's 128-bit integers (__extension__: not ISO C, on purpose). */
__extension__ typedef __int128 vxt_int128;
__extension__ typedef unsigned __int128 vxt_uint128;

/* 2098 bits of range (2^-1074 .. 2^1024) plus 2^40 values of headroom plus a sign: 70 digits of 32 bits. */
#define VXT_XSUM_DIGITS 70

typedef struct vxt_xsum {
    int64_t d[VXT_XSUM_DIGITS]; /* value = sum of d[i] * 2^(32 i - 1074); digits carry lazily */
    uint32_t pending;           /* additions since the last carry propagation */
} vxt_xsum;

void vxt_xsum_init(vxt_xsum *s);
/* Add a finite double (the caller skips NaN and infinities). */
void vxt_xsum_add(vxt_xsum *s, double x);
/* The sum rounded to the nearest long double (for the mean). */
long double vxt_xsum_value(const vxt_xsum *s);
/* The exact sum as a decimal ("-12.5", "0", "3.0517578125e-05" is never used: plain digits). Returns the
 * length written (without NUL), or 0 when `size` is too small. */
size_t vxt_xsum_format(const vxt_xsum *s, char *out, size_t size);

/* Exact decimal of a 128-bit integer. */
void vxt_int128_format(vxt_int128 v, char *out, size_t size);

#endif
