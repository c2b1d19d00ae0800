/*
 * common.h - the library's small common base: failure messages and status checks, struct-size checks, sizes
 * without overflow, bounded strings, volume views, hashing, and the floating-point environment of CPU work.
 * Everything in the library includes it; it does not pull in OpenCL (host/ I/O code includes only this). Not
 * installed.
 *
 * Internal functions with external linkage carry the prefix `vxt__` (two underscores); the shared library
 * exports only the public `vxt_` API (visibility + version script).
 */
#ifndef VXT_COMMON_H
#define VXT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtile.h"

#if defined(__GNUC__)
#define VXT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VXT_PRINTF(f, a)
#endif

/* The CPU backend's hot voxel loops are compiled twice, for AVX2 and for the baseline ISA, and the variant is
 * chosen once at load time (GCC function multiversioning, x86-64 Linux). Both variants do the same IEEE
 * operations in the same order (no FMA: -ffp-contract=off, no reassociation), so they give the same bits: only
 * the vector width differs. -DVXT_NO_CLONES turns it off. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && !defined(VXT_NO_CLONES)
#define VXT_CPU_HOT __attribute__((target_clones("avx2", "default")))
#else
#define VXT_CPU_HOT
#endif

/* ---- errors (common/status.c) -------------------------------------------------------------------- */

/* Record a failure: formats the message into the calling thread's buffer and, when ctx is not NULL, into
 * the context's buffer. Returns `status` so that callers can `return vxt__fail(...)`. */
vxt_status vxt__fail(const vxt_context *ctx, vxt_status status, const char *fmt, ...) VXT_PRINTF(3, 4);
vxt_status vxt__failv(const vxt_context *ctx, vxt_status status, const char *fmt, va_list ap) VXT_PRINTF(3, 0);

/* Checks used at the top of public functions. */
#define VXT_CHECK_NULL(ctx, ptr)                                                                              \
    do {                                                                                                     \
        if ((ptr) == NULL)                                                                                   \
            return vxt__fail((ctx), VXT_ERR_NULL, "%s: argument '%s' is NULL", __func__, #ptr);              \
    } while (0)

/* Validate a caller-filled struct's size: at least `min_size` (the first released layout) and, when larger
 * than `ours`, the extra bytes must be zero (fields of a newer header left at their defaults). */
vxt_status vxt__check_struct_size(const vxt_context *ctx, const char *func, const char *type,
                                  const void *s, size_t given, size_t min_size, size_t ours);

/* Output structs (info structs filled by the library): the caller's struct_size must be at least min_size;
 * copy_out copies min(given, ours) bytes and stores the copied size in the caller's struct_size. */
vxt_status vxt__check_out_struct(const vxt_context *ctx, const char *func, const char *type, size_t given,
                                 size_t min_size);
void vxt__copy_out_struct(void *dst, const void *src, size_t given, size_t ours);

/* ---- sizes and strings (common/strings.c) ---------------------------------------------------------- */

/* *out = a*b; returns 0 on overflow of size_t. */
static inline int vxt__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int vxt__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Bounded string copy that always terminates (dst_size > 0). */
void vxt__strlcpy(char *dst, const char *src, size_t dst_size);

/* Append formatted text to a bounded buffer (always terminated; truncates). */
void vxt__strlcatf(char *dst, size_t dst_size, const char *fmt, ...) VXT_PRINTF(3, 4);

/* Text p[0 .. len) for a message, on one line, into buf (n bytes): at most max_chars characters (then "..."), a
 * newline, tab or carriage return as \n, \t, \r, any other byte that is not printable ASCII as \xNN. Returns buf. */
const char *vxt__printable(const char *p, size_t len, size_t max_chars, char *buf, size_t n);

/* ---- volumes (common/volume.c) ------------------------------------------------------------------- */

/* Move voxels between a volume `a` in its own axis order (channels x a_shape, volume order) and the same voxels in
 * another order, `b`: b's axis n is a's axis perm[n], reversed when flip[n] (b's shape is a_shape permuted). Only
 * b's planes [z0, z1) along its axis 0 take part, and `b` holds just those (channel c at c * (z1 - z0) planes):
 * to_b != 0 fills that slab of b from a (gather); to_b == 0 writes it back into its places in a (scatter). Exact
 * copies of `elem`-byte elements. */
void vxt__volume_move(void *a, void *b, size_t elem, int64_t channels, const int64_t a_shape[3], const int perm[3],
                      const int flip[3], int64_t z0, int64_t z1, int to_b);

/* Validate a volume view argument (`what` names it in messages) and compute its byte size. */
vxt_status vxt__volume_check(const vxt_context *ctx, const char *func, const char *what, const vxt_volume *v,
                             size_t *bytes);

/* ---- hashing ------------------------------------------------------------------------------------- */

/* 64-bit FNV-1a, for cache keys. */
uint64_t vxt__fnv1a64(const void *data, size_t n, uint64_t h);
#define VXT__FNV_INIT 0xcbf29ce484222325ull

/* ---- CPUs (common/cpus.c) ------------------------------------------------------------------------ */

/* Number of CPUs this process may run on (its affinity mask, else the online CPUs; at least 1). */
int vxt__available_cpus(void);

/* ---- floating-point environment (common/fpenv.c) ------------------------------------------------- */

/* The CPU path must not depend on the caller's floating-point environment (a library built with
 * -ffast-math may have switched on flush-to-zero in this thread). Work runs between enter and leave, in
 * the default environment: round to nearest, no FTZ/DAZ. */
typedef struct vxt__fpenv {
    unsigned char saved[64];
} vxt__fpenv;
void vxt__fpenv_enter(vxt__fpenv *saved);
void vxt__fpenv_leave(const vxt__fpenv *saved);

/* A public entry point that runs `impl` in the default floating-point environment (see vxt__fpenv_enter):
 * VXT__FPENV_ENTRY(vxt_f, f_impl, (vxt_context *ctx, double x), (ctx, x)) defines vxt_f. The function is
 * declared (and exported) by voxtile.h. */
#define VXT__FPENV_ENTRY(name, impl, params, args)                                                                     \
    vxt_status name params                                                                                             \
    {                                                                                                                  \
        vxt__fpenv env_;                                                                                               \
        vxt__fpenv_enter(&env_);                                                                                       \
        vxt_status st_ = impl args;                                                                                    \
        vxt__fpenv_leave(&env_);                                                                                       \
        return st_;                                                                                                    \
    }

#endif /* VXT_COMMON_H */
