/*
 * voxtile_plugin.h - the model plugin ABI of voxtile: what a shared library must export so that voxtile (the
 * `voxtile` tool, or a program using the library's runners) can load it as a model ("plugin:PATH.so").
 *
 * A plugin includes only this header and does not link libvoxtile. It holds the types a plugin sees: element
 * types, tiles, batches and the plugin's self-description. voxtile.h includes it, so library users see the same
 * types. docs/PLUGINS.md describes the contract; tools/plugins/example_model.c is a working example.
 *
 * A plugin exports four C functions:
 *
 *   int   vxt_plugin_abi_version(void);
 *             returns VXT_PLUGIN_ABI_VERSION (the version the plugin was built against)
 *   void *vxt_plugin_create(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
 *             parse `config` (a string from the command line or the plan; may be ""), fill desc, return the
 *             model's state, or NULL with a one-line message in error
 *   int   vxt_plugin_predict(void *model, const vxt_batch *batch);
 *             fill batch->output from batch->input (host form); 0 on success, non-zero to stop the run
 *   void  vxt_plugin_destroy(void *model);
 *
 * vxt_plugin_predict is called from one thread at a time.
 */
#ifndef VOXTILE_PLUGIN_H
#define VOXTILE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI this header describes. */
#define VXT_PLUGIN_ABI_VERSION 1

/* OpenCL buffer handles, declared exactly as <CL/cl.h> declares them (this header does not need OpenCL). */
struct _cl_mem;

/** X-macro table of element types: constant, value (stable), NumPy's name. vxt_dtype_name() and
 *  vxt_dtype_parse() (voxtile.h) use these names. */
#define VXT_DTYPE_MAP(X)                                                                                       \
    X(VXT_DTYPE_INVALID, 0, "invalid")                                                                         \
    X(VXT_DTYPE_U8, 1, "uint8")                                                                                \
    X(VXT_DTYPE_I8, 2, "int8")                                                                                 \
    X(VXT_DTYPE_U16, 3, "uint16")                                                                              \
    X(VXT_DTYPE_I16, 4, "int16")                                                                               \
    X(VXT_DTYPE_U32, 5, "uint32")                                                                              \
    X(VXT_DTYPE_I32, 6, "int32")                                                                               \
    X(VXT_DTYPE_U64, 7, "uint64")                                                                              \
    X(VXT_DTYPE_I64, 8, "int64")                                                                               \
    X(VXT_DTYPE_F16, 9, "float16") /* IEEE binary16, stored as uint16_t bits */                                \
    X(VXT_DTYPE_F32, 10, "float32")                                                                            \
    X(VXT_DTYPE_F64, 11, "float64")

/** Element types of volumes. */
typedef enum vxt_dtype {
#define VXT_DTYPE_ENUM_(name, value, text) name = value,
    VXT_DTYPE_MAP(VXT_DTYPE_ENUM_)
#undef VXT_DTYPE_ENUM_
    VXT_DTYPE_COUNT_ /* not a type: one past the largest value */
} vxt_dtype;

/** One tile of a tiling: its box in padded coordinates is [start, start + roi) per axis (z, y, x). */
typedef struct vxt_tile {
    uint64_t index;        /**< position in tiling order */
    int64_t start[3];      /**< in padded coordinates; subtract pad_lo for volume coordinates (may be < 0) */
    int64_t grid_index[3]; /**< index of the start along each axis */
} vxt_tile;

/** A group of tiles handed to the model: `count` tiles of the tiling starting at `first_tile`, all for the same
 *  ensemble member and the same mirroring. The predictor fills `output` (host form) or `output_cl` (device form)
 *  and returns 0, or returns non-zero to stop the run (VXT_ERR_PREDICTOR, with that value in the message). */
typedef struct vxt_batch {
    uint64_t id;            /**< sequence number of this batch (0, 1, ...) */
    uint64_t first_tile;    /**< tiling index of the first tile */
    int count;              /**< tiles in the batch (<= batch_size; fewer at the end) */
    int member;             /**< ensemble member, 0 .. members-1 */
    unsigned flip;          /**< mirroring applied to the inputs: bit a set = spatial axis a (0 = z) flipped.
                                 The predictor answers for the flipped input; voxtile flips the output back. */
    int64_t in_channels;    /**< channels of the input volume */
    int64_t out_channels;   /**< channels the predictor must produce */
    int64_t roi[3];         /**< tile size, z, y, x */
    vxt_dtype output_dtype; /**< VXT_DTYPE_F32 or VXT_DTYPE_F16 (the stitching options' tile_dtype) */
    const vxt_tile *tiles;  /**< the `count` tiles (boxes in padded coordinates), valid as long as `input` */
    /** Host form: count x in_channels x roi float32, C order (last axis fastest). NULL in the device form. */
    const float *input;
    /** Host form: count x out_channels x roi elements of output_dtype, to be filled. NULL in the device form. */
    void *output;
    /** Device form (OpenCL contexts, with VXT_STITCH_DEVICE_PREDICTOR): the same arrays as buffers on the
     *  context's device. Enqueue work on the context's queue (vxt_context_cl_handles) or finish it before
     *  returning. NULL in the host form. */
    struct _cl_mem *input_cl;
    struct _cl_mem *output_cl;
} vxt_batch;

/** What a plugin's model takes and produces (filled by vxt_plugin_create; struct_size is set by the caller). */
typedef struct vxt_plugin_desc {
    size_t struct_size;
    char name[128];         /**< for messages and reports */
    int64_t in_channels;    /**< input channels it needs; 0 = any */
    int64_t out_channels;   /**< channels it produces (>= 1) */
    vxt_dtype output_dtype; /**< VXT_DTYPE_F32 or VXT_DTYPE_F16 */
    int64_t roi[3];         /**< the tile size it needs (z, y, x); zeros = any */
} vxt_plugin_desc;

typedef int (*vxt_plugin_abi_version_fn)(void);
typedef void *(*vxt_plugin_create_fn)(const char *config, vxt_plugin_desc *desc, char *error, size_t error_size);
typedef int (*vxt_plugin_predict_fn)(void *model, const vxt_batch *batch);
typedef void (*vxt_plugin_destroy_fn)(void *model);

#ifdef __cplusplus
}
#endif

#endif /* VOXTILE_PLUGIN_H */
