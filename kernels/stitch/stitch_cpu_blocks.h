/* stitch_cpu_blocks.h - the CPU backend's accumulator: pending blocks instead of a ring of whole planes.
 *
 * The accumulator is cut into blocks of one padded row (pz, py) and VXT__BLOCK_W voxels of x, each holding M x C x W
 * sums (member, channel, x). Tiles are a product grid in plan order (z start, y start, x start), so the tiles that
 * cover a block are a box of grid indices: the first in plan order is (first z, first y, first x) over the block's
 * voxels, the last is (last z, last y, last x). A block is taken from a pool just before its first tile is
 * accumulated and is finalized (weight sums, normalization, members, activation, labels: into the finished-output
 * store) and given back right after its last tile: what is held is what is still pending, not C x a slab of planes.
 * For one tile, the blocks it opens and the blocks it closes are each a box (per axis, the coordinates whose
 * first, or last, covering start is the tile's), so both are cheap to enumerate.
 *
 * The pool's size is the most blocks ever pending, computed exactly from the plan (vxt__blocks_plan), for windows of
 * tiles opened together before any is closed: a call's tiles with one z start (at most the most tiles one consume
 * can carry) with one member; a whole batch with ensembles (member 0 opens, the last member closes). Blocks are
 * reused last-in first-out, so a run touches no more pages than its peak, and the pool is a context workspace
 * buffer, kept for the next run. With output volumes that take values, blocks are not closed early (a store of
 * C floats a voxel would double the values for nothing): they are all finalized at the end, straight into the
 * caller's volumes. Each voxel still sees its tiles in plan order, as with the ring: the same bits.
 * Host only. */
#ifndef VXT_STITCH_CPU_BLOCKS_H
#define VXT_STITCH_CPU_BLOCKS_H

#include "stitch_internal.h"

/* x voxels per block (a block's channel row is 256 bytes of float32); deferred plans take whole rows */
#define VXT__BLOCK_W 64

typedef struct vxt__blocks_plan {
    int defer;             /* output volumes with values: every block stays until the end, which finalizes straight
                              into the caller's volumes (no store, no copy: as the whole-depth ring did) */
    int64_t W;             /* x voxels per block: VXT__BLOCK_W, or the padded row rounded up to it when deferred
                              (nothing closes early: whole rows accumulate and finalize as fast as the ring did) */
    int64_t nxb;           /* blocks per padded row: ceil(P2 / W) */
    int64_t depth;         /* ring depth, in padded z, of the block table: pending blocks span fewer planes */
    int64_t final_depth;   /* planes of the finished-output store: S0 for output volumes, else what a consume can
                              finish before its planes are delivered */
    uint64_t window;       /* most tiles opened before any is closed */
    size_t block_elems;    /* M x C x W */
    size_t block_bytes;
    uint64_t peak_blocks;  /* most blocks pending at once */
    /* per axis a and start index i: coordinates (blocks, on x) whose first covering start is i, [open_lo, open_hi),
       and whose last is i, [close_lo, close_hi); nstarts[a] entries each */
    int64_t *open_lo[3], *open_hi[3], *close_lo[3], *close_hi[3];
} vxt__blocks_plan;

/* Plan the blocks of a case (no large allocation: only per-start tables and temporary cell lists). Returns 0, or
 * -1 when out of memory or when a size overflows (the plan is then freed). `consume_tiles`: the most tiles one
 * consume carries (vxt__stitch_consume_tiles_max). */
int vxt__blocks_plan_make(const vxt__stitch *s, uint64_t consume_tiles, vxt__blocks_plan *bp);
void vxt__blocks_plan_free(vxt__blocks_plan *bp);

/* Bytes the accumulator of a plan holds: the pool, the block table, the free list and the finished-output store. */
size_t vxt__blocks_bytes(const vxt__stitch *s, const vxt__blocks_plan *bp);

#endif
