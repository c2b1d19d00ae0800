/* arith_c99_check.c - compiled as strict C99 with -Werror: the shared arithmetic header is valid C99. */
#include "vxt_arith.h"

float vxt_arith_c99_check(float x);
float vxt_arith_c99_check(float x)
{
    return vxt_exp(x) + vxt_round_half(x) + vxt_weighted_add(x, x, 0.5f) + vxt_div(x, 3.0f);
}
