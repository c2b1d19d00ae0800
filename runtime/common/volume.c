/* volume.c - element sizes, volume views, and moving voxels between axis orders. (Names: common/names.c.) */
#include <string.h>
#include <strings.h>

#include "internal.h"

size_t vxt_dtype_size(vxt_dtype dtype)
{
    switch (dtype) {
    case VXT_DTYPE_U8:
    case VXT_DTYPE_I8:
        return 1;
    case VXT_DTYPE_U16:
    case VXT_DTYPE_I16:
    case VXT_DTYPE_F16:
        return 2;
    case VXT_DTYPE_U32:
    case VXT_DTYPE_I32:
    case VXT_DTYPE_F32:
        return 4;
    case VXT_DTYPE_U64:
    case VXT_DTYPE_I64:
    case VXT_DTYPE_F64:
        return 8;
    default:
        return 0;
    }
}

vxt_status vxt__volume_check(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                             size_t *bytes)
{
    if (v == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: %s is NULL", func, what);
    if (v->data == NULL)
        return vxt__fail(ctx, VXT_ERR_NULL, "%s: %s.data is NULL", func, what);
    size_t es = vxt_dtype_size(v->dtype);
    if (es == 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s.dtype %d is not a known type", func, what,
                         (int)v->dtype);
    if (v->channels < 1)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s.channels is %lld (must be >= 1)", func, what,
                         (long long)v->channels);
    static const char *axis[3] = {"z", "y", "x"};
    for (int a = 0; a < 3; a++)
        if (v->shape[a] < 1)
            return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: %s.shape[%d] (%s) is %lld (must be >= 1)", func,
                             what, a, axis[a], (long long)v->shape[a]);
    size_t n = es;
    if (!vxt__mul_size(n, (size_t)v->channels, &n) || !vxt__mul_size(n, (size_t)v->shape[0], &n) ||
        !vxt__mul_size(n, (size_t)v->shape[1], &n) || !vxt__mul_size(n, (size_t)v->shape[2], &n) ||
        n > (size_t)INT64_MAX)
        return vxt__fail(ctx, VXT_ERR_OVERFLOW, "%s: %s of %lld x %lld x %lld x %lld %s elements overflows size_t",
                         func, what, (long long)v->channels, (long long)v->shape[0], (long long)v->shape[1],
                         (long long)v->shape[2], vxt_dtype_name(v->dtype));
    if (bytes)
        *bytes = n;
    return VXT_OK;
}

vxt_status vxt_volume_bytes(const vxt_volume *volume, size_t *bytes)
{
    VXT_CHECK_NULL(NULL, bytes);
    return vxt__volume_check(NULL, __func__, "volume", volume, bytes);
}

/* One element of `elem` bytes between a and b, typed where the size allows (a call to memcpy per element costs
 * more than the copy). */
static inline void move_elem(unsigned char *a, unsigned char *b, size_t elem, int to_b)
{
    unsigned char *dst = to_b ? b : a;
    const unsigned char *src = to_b ? a : b;
    switch (elem) {
    case 1: *dst = *src; break;
    case 2: { uint16_t v; memcpy(&v, src, 2); memcpy(dst, &v, 2); } break;
    case 4: { uint32_t v; memcpy(&v, src, 4); memcpy(dst, &v, 4); } break;
    case 8: { uint64_t v; memcpy(&v, src, 8); memcpy(dst, &v, 8); } break;
    default: memcpy(dst, src, elem);
    }
}

/* The inner row of vxt__volume_move: n elements, a's index advancing by `step` per element of b. */
static void move_row(unsigned char *a, int64_t step, unsigned char *b, size_t elem, int64_t n, int to_b)
{
    if (step == 1) {
        if (to_b)
            memcpy(b, a, (size_t)n * elem);
        else
            memcpy(a, b, (size_t)n * elem);
        return;
    }
    const int64_t s = step * (int64_t)elem;
    for (int64_t i = 0; i < n; i++, a += s, b += elem)
        move_elem(a, b, elem, to_b);
}

/* Rows of b whose elements are far apart in a (a transposition: b's fastest axis is not a's) go block by block:
 * VXT__MOVE_BLOCK rows of b at once, along the axis of b that is a's fastest, so that each step along b's rows
 * reads (or writes) one contiguous run of a instead of touching a new cache line per element. */
#define VXT__MOVE_BLOCK 32

typedef struct move_job {
    unsigned char *a, *b;
    size_t elem;
    int64_t channels, z0, z1;
    int64_t b_n[3], step[3], start, a_vol, b_plane;
    int k; /* the axis of b (0 or 1) along which a is contiguous, when b's rows are not; else -1 */
    int to_b;
} move_job;

static void move_setup(move_job *j, void *a, void *b, size_t elem, int64_t channels, const int64_t a_shape[3],
                       const int perm[3], const int flip[3], int64_t z0, int64_t z1, int to_b)
{
    const int64_t a_stride[3] = {a_shape[1] * a_shape[2], a_shape[2], 1};
    j->a = (unsigned char *)a;
    j->b = (unsigned char *)b;
    j->elem = elem;
    j->channels = channels;
    j->z0 = z0;
    j->z1 = z1;
    j->to_b = to_b;
    j->start = 0;
    for (int n = 0; n < 3; n++) {
        j->b_n[n] = a_shape[perm[n]];
        j->step[n] = flip[n] ? -a_stride[perm[n]] : a_stride[perm[n]];
        if (flip[n])
            j->start += (a_shape[perm[n]] - 1) * a_stride[perm[n]];
    }
    j->a_vol = a_shape[0] * a_shape[1] * a_shape[2];
    j->b_plane = j->b_n[1] * j->b_n[2];
    j->k = -1;
    const int64_t *st = j->step;
    if (st[2] != 1 && st[2] != -1 && j->b_n[2] > 1)
        j->k = (st[1] == 1 || st[1] == -1) && j->b_n[1] > 1 ? 1 : (st[0] == 1 || st[0] == -1) && z1 - z0 > 1 ? 0 : -1;
}

/* b's planes [p0, p1) (within [z0, z1)) of every channel. */
static void move_planes(const move_job *j, int64_t p0, int64_t p1)
{
    const size_t elem = j->elem;
    const int64_t *b_n = j->b_n, *step = j->step, z0 = j->z0;
    for (int64_t c = 0; c < j->channels; c++) {
        unsigned char *ac = j->a + (size_t)(c * j->a_vol) * elem;
        unsigned char *bc = j->b + (size_t)(c * (j->z1 - z0) * j->b_plane) * elem;
        if (j->k < 0) {
            for (int64_t n0 = p0; n0 < p1; n0++)
                for (int64_t n1 = 0; n1 < b_n[1]; n1++) {
                    int64_t o = j->start + n0 * step[0] + n1 * step[1];
                    unsigned char *brow = bc + (size_t)(((n0 - z0) * b_n[1] + n1) * b_n[2]) * elem;
                    move_row(ac + o * (int64_t)elem, step[2], brow, elem, b_n[2], j->to_b);
                }
            continue;
        }
        /* blocks of VXT__MOVE_BLOCK along axis k of b, all of axis 2 for each */
        const int k = j->k, other = 1 - k;
        const int64_t lo[2] = {p0, 0}, hi[2] = {p1, b_n[1]};
        for (int64_t no = lo[other]; no < hi[other]; no++)
            for (int64_t kb = lo[k]; kb < hi[k]; kb += VXT__MOVE_BLOCK) {
                const int64_t ke = kb + VXT__MOVE_BLOCK < hi[k] ? kb + VXT__MOVE_BLOCK : hi[k];
                for (int64_t n2 = 0; n2 < b_n[2]; n2++)
                    for (int64_t nk = kb; nk < ke; nk++) {
                        const int64_t n0 = k == 0 ? nk : no, n1 = k == 0 ? no : nk;
                        const int64_t o = j->start + n0 * step[0] + n1 * step[1] + n2 * step[2];
                        unsigned char *be = bc + (size_t)((((n0 - z0) * b_n[1] + n1) * b_n[2]) + n2) * elem;
                        move_elem(ac + o * (int64_t)elem, be, elem, j->to_b);
                    }
            }
    }
}

void vxt__volume_move(void *a, void *b, size_t elem, int64_t channels, const int64_t a_shape[3], const int perm[3],
                      const int flip[3], int64_t z0, int64_t z1, int to_b)
{
    move_job j;
    move_setup(&j, a, b, elem, channels, a_shape, perm, flip, z0, z1, to_b);
    move_planes(&j, z0, z1);
}

static void move_task(void *arg, size_t begin, size_t end, int slot)
{
    (void)slot;
    const move_job *j = (const move_job *)arg;
    move_planes(j, j->z0 + (int64_t)begin, j->z0 + (int64_t)end);
}

void vxt__volume_move_pool(vxt__pool *pool, void *a, void *b, size_t elem, int64_t channels, const int64_t a_shape[3],
                           const int perm[3], const int flip[3], int64_t z0, int64_t z1, int to_b)
{
    move_job j;
    move_setup(&j, a, b, elem, channels, a_shape, perm, flip, z0, z1, to_b);
    /* planes of b split among the threads; with blocks along b's axis 0, ranges of whole blocks */
    const size_t grain = j.k == 0 ? VXT__MOVE_BLOCK : 1;
    if (pool && z1 - z0 > 1)
        vxt__pool_for(pool, (size_t)(z1 - z0), grain, move_task, &j);
    else
        move_planes(&j, z0, z1);
}
