/* test_exact_sum.c - the exact sums behind `voxtile header --stats` (tools/voxtile/exact_sum.c): cancellation
 * across the whole double range, subnormals, order independence, exact decimal output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exact_sum.h"
#include "vxt_test.h"

static const char *sum_of(const double *v, size_t n)
{
    static char out[1400];
    vxt_xsum s;
    vxt_xsum_init(&s);
    for (size_t i = 0; i < n; i++)
        vxt_xsum_add(&s, v[i]);
    assert_true(vxt_xsum_format(&s, out, sizeof out) > 0);
    return out;
}

static void test_small_cases(void **state)
{
    (void)state;
    assert_string_equal(sum_of(NULL, 0), "0");
    double a[] = {1e308, 1e308, 1.0, -1e308, -1e308};
    assert_string_equal(sum_of(a, 5), "1");
    double b[] = {-0.5};
    assert_string_equal(sum_of(b, 1), "-0.5");
    double c[] = {(double)0.1f, (double)0.2f}; /* float32 values, exactly */
    assert_string_equal(sum_of(c, 2), "0.300000004470348358154296875");
    double d[] = {ldexp(1, 1023), ldexp(1, 1023)};
    assert_string_equal(sum_of(d, 2), "179769313486231590772930519078902473361797697894230657273430081157732675805500963132708477"
                                      "322407536021120113879871393357658789768814416622492847430639474124377767893424865485276302"
                                      "219601246094119453082952085005768838150682342462881473913110540827237163350510684586298239"
                                      "947245938479716304835356329624224137216");
    double e[] = {ldexp(1, -1074)}; /* the smallest subnormal: 1074 fraction digits, the last one 5 */
    const char *s = sum_of(e, 1);
    assert_int_equal(strlen(s), 2 + 1074);
    assert_memory_equal(s, "0.", 2);
    for (int i = 0; i < 323; i++)
        assert_int_equal(s[2 + i], '0');
    assert_memory_equal(s + 325, "4940656458412465441765687928682213723650598026143247644", 55);
    assert_int_equal(s[strlen(s) - 1], '5');
    double f[] = {ldexp(1, -1074), -ldexp(1, -1074), -3.25, NAN, INFINITY}; /* non-finite values are skipped */
    assert_string_equal(sum_of(f, 5), "-3.25");
    vxt_xsum x;
    vxt_xsum_init(&x);
    vxt_xsum_add(&x, 1e300);
    vxt_xsum_add(&x, 3.0);
    vxt_xsum_add(&x, -1e300);
    assert_true(vxt_xsum_value(&x) == 3.0L);
    char small[4];
    assert_int_equal(vxt_xsum_format(&x, small, 1), 0);
}

static void test_order_independent(void **state)
{
    (void)state;
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    vxt_rng r = {2024};
    long double approx = 0;
    for (int i = 0; i < N; i++) {
        double m = (double)vxt_rng_uniform(&r, -1, 1);
        int ex = (int)(vxt_rng_u32(&r) % 120) - 60;
        v[i] = ldexp(m, ex);
        approx += v[i];
    }
    char first[1400];
    snprintf(first, sizeof first, "%s", sum_of(v, N));
    for (int i = N - 1; i > 0; i--) { /* shuffle */
        int j = (int)(vxt_rng_u32(&r) % (uint32_t)(i + 1));
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    assert_string_equal(sum_of(v, N), first);
    assert_true(fabsl(strtold(first, NULL) - approx) <= 1e-9L * (1 + fabsl(approx)));
    free(v);
}

static void test_int128(void **state)
{
    (void)state;
    char out[64];
    vxt_int128_format(0, out, sizeof out);
    assert_string_equal(out, "0");
    vxt_int128_format(-42, out, sizeof out);
    assert_string_equal(out, "-42");
    vxt_int128 min = -(vxt_int128)(((vxt_uint128)1 << 127) - 1) - 1;
    vxt_int128_format(min, out, sizeof out);
    assert_string_equal(out, "-170141183460469231731687303715884105728");
    vxt_int128 big = (vxt_int128)UINT64_MAX * 1000;
    vxt_int128_format(big, out, sizeof out);
    assert_string_equal(out, "18446744073709551615000");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_small_cases),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_int128),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
