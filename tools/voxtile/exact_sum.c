/* exact_sum.c - see exact_sum.h. */
#include "exact_sum.h"

#include <math.h>
#include <string.h>

#define BIAS 1074 /* value = integer * 2^-BIAS */

void vxt_xsum_init(vxt_xsum *s)
{
    memset(s, 0, sizeof *s);
}

/* Propagate carries: every digit except the top one back into [0, 2^32). */
static void normalize(vxt_xsum *s)
{
    int64_t carry = 0;
    for (int i = 0; i < VXT_XSUM_DIGITS; i++) {
        int64_t v = s->d[i] + carry;
        if (i == VXT_XSUM_DIGITS - 1) {
            s->d[i] = v;
            break;
        }
        carry = v >> 32; /* arithmetic shift: floor division for negative values */
        s->d[i] = v - carry * ((int64_t)1 << 32);
    }
    s->pending = 0;
}

void vxt_xsum_add(vxt_xsum *s, double x)
{
    if (x == 0 || !isfinite(x))
        return;
    int e = 0;
    double m = frexp(fabs(x), &e); /* |x| = m * 2^e, m in [0.5, 1) */
    /* integer mantissa: |x| = mant * 2^(e - 53); subnormals have fewer bits but the same formula */
    uint64_t mant = (uint64_t)ldexp(m, 53);
    int shift = e - 53 + BIAS; /* bit position of mant's lowest bit */
    if (shift < 0) {           /* subnormal: mant has trailing zeros below 2^-1074 */
        mant >>= -shift;
        shift = 0;
    }
    int digit = shift / 32, bit = shift % 32;
    /* mant << bit spans at most 85 bits: three 32-bit pieces */
    vxt_uint128 v = (vxt_uint128)mant << bit;
    int64_t sign = x < 0 ? -1 : 1;
    for (int k = 0; k < 3 && digit + k < VXT_XSUM_DIGITS; k++) {
        s->d[digit + k] += sign * (int64_t)(uint32_t)(v & 0xffffffffu);
        v >>= 32;
    }
    /* each digit grows by less than 2^32 per addition: carry before 2^31 additions could overflow */
    if (++s->pending >= (1u << 30))
        normalize(s);
}

long double vxt_xsum_value(const vxt_xsum *s)
{
    vxt_xsum t = *s;
    normalize(&t);
    long double v = 0;
    for (int i = VXT_XSUM_DIGITS - 1; i >= 0; i--)
        v += ldexpl((long double)t.d[i], 32 * i - BIAS);
    return v;
}

size_t vxt_xsum_format(const vxt_xsum *s, char *out, size_t size)
{
    vxt_xsum t = *s;
    normalize(&t);
    /* after normalize the top digit is 0 or -1 (the sum stays far below 2^(32 * 69)): the digits are the
     * two's complement of the sum; negate it for the magnitude */
    int negative = t.d[VXT_XSUM_DIGITS - 1] < 0;
    uint32_t mag[VXT_XSUM_DIGITS];
    for (int i = 0; i < VXT_XSUM_DIGITS; i++)
        mag[i] = (uint32_t)t.d[i];
    if (negative) {
        uint64_t carry = 1;
        for (int i = 0; i < VXT_XSUM_DIGITS; i++) {
            uint64_t v = (uint64_t)(uint32_t)~mag[i] + carry;
            mag[i] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    /* integer part: bits >= BIAS; fraction: bits < BIAS */
    uint32_t ip[VXT_XSUM_DIGITS], fp[VXT_XSUM_DIGITS];
    memset(ip, 0, sizeof ip);
    memset(fp, 0, sizeof fp);
    for (int b = 0; b < 32 * VXT_XSUM_DIGITS; b++) {
        uint32_t bitv = (mag[b / 32] >> (b % 32)) & 1u;
        if (!bitv)
            continue;
        if (b >= BIAS)
            ip[(b - BIAS) / 32] |= 1u << ((b - BIAS) % 32);
        else
            fp[b / 32] |= 1u << (b % 32);
    }
    char digits[1200];
    size_t nd = 0;
    /* integer part: repeated division by 10 (little-endian digits, most significant last) */
    int top = VXT_XSUM_DIGITS - 1;
    while (top >= 0 && ip[top] == 0)
        top--;
    if (top < 0)
        digits[nd++] = '0';
    while (top >= 0) {
        uint64_t rem = 0;
        for (int i = top; i >= 0; i--) {
            uint64_t cur = (rem << 32) | ip[i];
            ip[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
        while (top >= 0 && ip[top] == 0)
            top--;
    }
    char frac[1200];
    size_t nf = 0;
    /* fraction: multiply by 10, the carry out of bit BIAS is the next digit */
    int nonzero = 0;
    for (int i = 0; i < VXT_XSUM_DIGITS; i++)
        nonzero |= fp[i] != 0;
    while (nonzero && nf < sizeof frac) {
        uint64_t carry = 0;
        nonzero = 0;
        for (int i = 0; i < VXT_XSUM_DIGITS; i++) {
            uint64_t cur = (uint64_t)fp[i] * 10 + carry;
            fp[i] = (uint32_t)cur;
            carry = cur >> 32;
        }
        /* BIAS = 1074 = 33 * 32 + 18: the digit is the bits at and above BIAS */
        uint32_t d = fp[BIAS / 32] >> (BIAS % 32);
        d |= (uint32_t)(fp[BIAS / 32 + 1] << (32 - BIAS % 32));
        fp[BIAS / 32] &= (1u << (BIAS % 32)) - 1;
        for (int i = BIAS / 32 + 1; i < VXT_XSUM_DIGITS; i++)
            fp[i] = 0;
        frac[nf++] = (char)('0' + d);
        for (int i = 0; i <= BIAS / 32; i++)
            nonzero |= fp[i] != 0;
    }
    size_t need = (size_t)negative + nd + (nf ? 1 + nf : 0) + 1;
    if (need > size)
        return 0;
    size_t k = 0;
    if (negative && (nd > 1 || digits[0] != '0' || nf))
        out[k++] = '-';
    while (nd > 0)
        out[k++] = digits[--nd];
    if (nf) {
        out[k++] = '.';
        memcpy(out + k, frac, nf);
        k += nf;
    }
    out[k] = '\0';
    return k;
}

void vxt_int128_format(vxt_int128 v, char *out, size_t size)
{
    char tmp[48];
    size_t n = 0;
    int negative = v < 0;
    vxt_uint128 u = negative ? (vxt_uint128)0 - (vxt_uint128)v : (vxt_uint128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u > 0);
    size_t k = 0;
    if (negative && k + 1 < size)
        out[k++] = '-';
    while (n > 0 && k + 1 < size)
        out[k++] = tmp[--n];
    out[k] = '\0';
}
