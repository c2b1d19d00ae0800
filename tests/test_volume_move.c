/* test_volume_move.c - vxt__volume_move, the axis permutation and flipping behind reorientation, the pipeline's
 * model axis order (a plan's transpose) and the way back: against an element-by-element reference, for all six
 * axis orders, the eight flips, element sizes 1, 2, 3, 4 and 8 bytes, two channels, slabs of b (the way back
 * moves slab by slab), both directions (gather into b, scatter back into a). The shape is not a multiple of the
 * transposition's block (32) on any axis, and every element's bytes are distinct, so a misplaced element or a
 * torn copy shows. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vxt_test.h"

/* b's element (c, n0, n1, n2), the slab [z0, z1) of b: the element of a it comes from, computed directly */
static size_t a_index(const int64_t s[3], const int perm[3], const int flip[3], int64_t c, const int64_t n[3])
{
    int64_t ai[3];
    for (int k = 0; k < 3; k++)
        ai[perm[k]] = flip[k] ? s[perm[k]] - 1 - n[k] : n[k];
    return (size_t)(((c * s[0] + ai[0]) * s[1] + ai[1]) * s[2] + ai[2]);
}

static void test_every_order(void **state)
{
    (void)state;
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const size_t elems[5] = {1, 2, 3, 4, 8};
    const int64_t s[3] = {35, 41, 67}, C = 2, vol = s[0] * s[1] * s[2];
    for (int e = 0; e < 5; e++) {
        const size_t elem = elems[e], bytes = (size_t)(C * vol) * elem;
        unsigned char *a = malloc(bytes), *b = malloc(bytes), *back = malloc(bytes);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(back);
        for (size_t i = 0; i < bytes; i++)
            a[i] = (unsigned char)(i * 2654435761u >> 13) ^ (unsigned char)i;
        for (int p = 0; p < 6; p++)
            for (int f = 0; f < 8; f++) {
                const int flip[3] = {f & 1, (f >> 1) & 1, (f >> 2) & 1};
                const int *perm = perms[p];
                const int64_t bn[3] = {s[perm[0]], s[perm[1]], s[perm[2]]};
                /* slabs of b: the whole, then [3, 20) */
                const int64_t slabs[2][2] = {{0, bn[0]}, {3, 20}};
                for (int sl = 0; sl < 2; sl++) {
                    const int64_t z0 = slabs[sl][0], z1 = slabs[sl][1];
                    memset(b, 0xA5, bytes);
                    vxt__volume_move(a, b, elem, C, s, perm, flip, z0, z1, 1);
                    size_t bi = 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t n0 = z0; n0 < z1; n0++)
                            for (int64_t n1 = 0; n1 < bn[1]; n1++)
                                for (int64_t n2 = 0; n2 < bn[2]; n2++, bi++) {
                                    const int64_t n[3] = {n0, n1, n2};
                                    const size_t ai = a_index(s, perm, flip, c, n);
                                    if (memcmp(b + bi * elem, a + ai * elem, elem) != 0)
                                        fail_msg("gather: elem %zu, perm %d%d%d, flip %d, slab [%lld, %lld): b[%zu] is "
                                                 "not a[%zu]", elem, perm[0], perm[1], perm[2], f, (long long)z0,
                                                 (long long)z1, bi, ai);
                                }
                    /* and back: scatter the slab into a copy whose slab elements were overwritten */
                    memcpy(back, a, bytes);
                    bi = 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t n0 = z0; n0 < z1; n0++)
                            for (int64_t n1 = 0; n1 < bn[1]; n1++)
                                for (int64_t n2 = 0; n2 < bn[2]; n2++, bi++) {
                                    const int64_t n[3] = {n0, n1, n2};
                                    memset(back + a_index(s, perm, flip, c, n) * elem, 0x5A, elem);
                                }
                    vxt__volume_move(back, b, elem, C, s, perm, flip, z0, z1, 0);
                    if (memcmp(back, a, bytes) != 0)
                        fail_msg("scatter: elem %zu, perm %d%d%d, flip %d, slab [%lld, %lld): a is not restored", elem,
                                 perm[0], perm[1], perm[2], f, (long long)z0, (long long)z1);
                }
            }
        free(a);
        free(b);
        free(back);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_every_order),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
