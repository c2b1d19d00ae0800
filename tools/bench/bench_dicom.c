/* bench_dicom.c - reading a DICOM series into an image: vxt_image_read_path() on a folder (headers scanned, slices
 * sorted, pixel data decoded, rescale applied as asked), timed over several runs, with this machine's memory copy
 * bandwidth measured in the same run (the bound: every stored byte is read from the page cache, decoded and written
 * once). tools/bench/bench_dicom.py makes the series and times dcm2niix and pydicom + numpy beside it.
 * Usage: vxt_bench_dicom DIR [--runs N] [--scaling raw|auto|float32] [--threads N] [--bandwidth] [--json]
 * (--threads: vxt_read_options.threads, files decoded at once, 0 = the CPUs available; --bandwidth: measure the
 * memory copy bandwidth too, before the runs). Results: docs/PERFORMANCE.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "voxtile.h"

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int runs = 5, json = 0, bandwidth = 0, threads = 0;
    vxt_scaling scaling = VXT_SCALING_RAW;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scaling") && i + 1 < argc) {
            if (vxt_scaling_parse(argv[++i], &scaling) != VXT_OK) {
                fprintf(stderr, "%s\n", vxt_last_error());
                return 2;
            }
        } else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--bandwidth"))
            bandwidth = 1;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: %s DIR [--runs N] [--scaling raw|auto|float32] [--threads N] [--bandwidth] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (!dir || runs < 1) {
        fprintf(stderr, "usage: %s DIR [--runs N] [--scaling raw|auto|float32] [--threads N] [--bandwidth] [--json]\n", argv[0]);
        return 2;
    }
    vxt_membw bw = {0};
    if (bandwidth)
        vxt_bench_membw(1, (size_t)64 << 20, 5, &bw);
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = scaling;
    o.threads = threads;
    double *t = malloc((size_t)runs * sizeof *t);
    vxt_image_info in = {.struct_size = sizeof in};
    for (int r = 0; r < runs; r++) {
        vxt_image *img = NULL;
        double t0 = vxt_bench_now();
        if (vxt_image_read_path(dir, &o, &img) != VXT_OK) {
            fprintf(stderr, "%s\n", vxt_last_error());
            return 1;
        }
        t[r] = vxt_bench_now() - t0;
        vxt_image_get_info(img, &in);
        vxt_image_destroy(img);
    }
    const double med = vxt_bench_median(t, runs);
    const double bytes = (double)(in.shape[0] * in.shape[1] * in.shape[2]) * (double)vxt_dtype_size(in.dtype);
    if (json)
        printf("{\"dir\":\"%s\",\"shape\":[%lld,%lld,%lld],\"dtype\":\"%s\",\"runs\":%d,\"median_s\":%.4f,"
               "\"first_s\":%.4f,\"copy_gbs\":%.2f,\"bytes\":%.0f}\n",
               dir, (long long)in.shape[0], (long long)in.shape[1], (long long)in.shape[2], vxt_dtype_name(in.dtype),
               runs, med, t[0], bw.copy_gbs, bytes);
    else
        printf("%s: %lld x %lld x %lld %s, median %.3f s over %d runs (first %.3f s): %.2f GB/s of voxels; memory "
               "copy (1 thread) %.1f GB/s\n",
               dir, (long long)in.shape[0], (long long)in.shape[1], (long long)in.shape[2], vxt_dtype_name(in.dtype),
               med, runs, t[0], bytes / med * 1e-9, bw.copy_gbs);
    free(t);
    return 0;
}
