/* fuzz_program_cache.h - the key whose cache entry the program-cache fuzz target (fuzz_program_cache.c) writes and
 * loads: a key as runtime/opencl/program.c makes them. The seeds (tests/fuzz/corpus/fuzz_program_cache) are entries
 * that vxt__disk_cache_store wrote for it, and tests/test_program_cache.c loads them with it: change both together. */
#ifndef VXT_FUZZ_PROGRAM_CACHE_H
#define VXT_FUZZ_PROGRAM_CACHE_H

#define FUZZ_CACHE_KEY                                                                                           \
    "voxtile 0.2.0|program stitch|source 3f0c5a1e9b7d2468|options -cl-std=CL1.2 -cl-fp32-correctly-rounded-"     \
    "divide-sqrt -DVXT_DIV_MODE=0|Portable Computing Language|cpu-haswell-AMD EPYC|OpenCL C 1.2 PoCL|PoCL 3.1"

#endif
