/* bench_membw.c - this machine's memory bandwidth (the bound every other benchmark is compared to). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    vxt_membw bw;
    if (vxt_bench_membw(threads, (size_t)64 << 20, 5, &bw) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("threads %d, arrays of %zu MiB: copy %.1f GB/s, triad %.1f GB/s, read %.1f GB/s, read-modify-write "
           "%.1f GB/s\n",
           bw.threads, bw.bytes_per_array >> 20, bw.copy_gbs, bw.triad_gbs, bw.read_gbs, bw.rmw_gbs);
    return 0;
}
