/* stitch_extract.c - cut the inputs of a call out of the volume on the host: count tiles x input channels x
 * ROI, padded where a tile reaches beyond the volume (constant, replicate, reflect) and mirrored per the call's
 * flip mask. Pure copies, no arithmetic: both backends hand the predictor the same bytes. Rows without padding
 * or flipping along x are memcpy'd; planes are spread over the thread pool. */
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_stitch.h"

static void extract_planes(void *arg, size_t begin, size_t end, int slot)
{
    const vxt__extract *j = (const vxt__extract *)arg;
    const vxt__stitch *s = j->s;
    (void)slot;
    const int64_t R0 = s->R[0], R1 = s->R[1], R2 = s->R[2];
    const int64_t S0 = s->S[0], S1 = s->S[1], S2 = s->S[2];
    const float *vol = (const float *)s->input.data;
    const float padv = s->pi.pad_value;
    const unsigned flip = j->c.flip;
    for (size_t plane = begin; plane < end; plane++) {
        /* plane = (item * Cin + ch) * R0 + z */
        int64_t z = (int64_t)(plane % (size_t)R0);
        int64_t ich = (int64_t)(plane / (size_t)R0);
        int64_t ch = ich % s->Cin, item = ich / s->Cin;
        vxt_tile t;
        vxt__tiling_tile(s->plan, j->c.first_tile + (uint64_t)item, &t);
        int64_t zsrc = (flip & 1u) ? R0 - 1 - z : z;
        int64_t vz = vxt_pad_index(t.start[0] + zsrc, s->lo[0], S0, j->pad_mode);
        float *out = j->dst + plane * (size_t)(R1 * R2);
        /* x range of the tile inside the volume, in volume coordinates */
        int64_t vx0 = t.start[2] - s->lo[2];
        int inside_x = vx0 >= 0 && vx0 + R2 <= S2 && !(flip & 4u);
        for (int64_t y = 0; y < R1; y++, out += R2) {
            int64_t ysrc = (flip & 2u) ? R1 - 1 - y : y;
            int64_t vy = vxt_pad_index(t.start[1] + ysrc, s->lo[1], S1, j->pad_mode);
            if (vz < 0 || vy < 0) {
                for (int64_t x = 0; x < R2; x++)
                    out[x] = padv;
                continue;
            }
            const float *row = vol + ((size_t)(ch * S0 + vz) * (size_t)S1 + (size_t)vy) * (size_t)S2;
            if (inside_x) {
                memcpy(out, row + vx0, (size_t)R2 * sizeof(float));
                continue;
            }
            for (int64_t x = 0; x < R2; x++) {
                int64_t xsrc = (flip & 4u) ? R2 - 1 - x : x;
                int64_t vx = vxt_pad_index(t.start[2] + xsrc, s->lo[2], S2, j->pad_mode);
                out[x] = vx < 0 ? padv : row[vx];
            }
        }
    }
}

static void prepare(vxt__extract *x, const vxt__stitch *s, const vxt__call *c, float *dst)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    x->c = *c;
    x->dst = dst;
    x->pad_mode = s->pi.pad == VXT_PAD_REPLICATE ? VXT_PAD_MODE_REPLICATE
                  : s->pi.pad == VXT_PAD_REFLECT ? VXT_PAD_MODE_REFLECT
                                                 : VXT_PAD_MODE_CONSTANT;
}

static size_t planes_of(const vxt__stitch *s, const vxt__call *c)
{
    return (size_t)c->count * (size_t)s->Cin * (size_t)s->R[0];
}

void vxt__stitch_extract(const vxt__stitch *s, const vxt__call *c, float *dst)
{
    vxt__extract x;
    prepare(&x, s, c, dst);
    vxt__pool_for(s->ctx->pool, planes_of(s, c), 4, extract_planes, &x);
}

void vxt__stitch_extract_start(const vxt__stitch *s, const vxt__call *c, float *dst, vxt__extract *x)
{
    prepare(x, s, c, dst);
    vxt__pool_start(s->ctx->pool, &x->job, planes_of(s, c), 4, extract_planes, x);
}

void vxt__stitch_extract_join(vxt__extract *x)
{
    vxt__pool_join(&x->job);
}
