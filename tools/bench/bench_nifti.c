/* bench_nifti.c - NIfTI reading (and writing) throughput: voxtile against `gzip -dc` on the same file in the
 * same run, zlib's and libdeflate's whole-buffer decompression alone, and the machine's memory bandwidth
 * for plain .nii files. Method and results: docs/PERFORMANCE.md ("NIfTI reading").
 *
 *   vxt_bench_nifti [--file F.nii.gz] [--reps N] [--dir D] [--json]
 *
 * Without --file it writes a CT-like phantom (512 x 512 x 300 int16, slope 1, intercept -1024: a body of
 * soft tissue with a bone ring in air, plus Gaussian-like noise -- never constant) as D/vxt_bench_ct.nii.gz
 * (gzip level 6, what `gzip` and most NIfTI writers use) and D/vxt_bench_ct.nii, D defaulting to $TMPDIR or
 * /tmp. Files are read from the page cache (the first, untimed read puts them there): what is measured is
 * decompression, conversion and memory, not the disk. Every figure is the median of N runs (default 7);
 * "first" is the first timed run, whose fresh allocations pay their page faults like a one-shot tool does. */
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "bench_util.h"
#include "voxtile.h"

#define MAX_REPS 64

typedef struct result {
    const char *name;
    double first, median, min;
    double bytes; /* decompressed (voxel + header) bytes handled, for throughput */
} result;

static int reps = 7;

static void die(const char *what)
{
    fprintf(stderr, "vxt_bench_nifti: %s: %s\n", what, vxt_last_error()[0] ? vxt_last_error() : strerror(errno));
    exit(1);
}

static void summarize(result *r, const double *t, int n)
{
    r->first = t[0];
    r->median = vxt_bench_median(t, n);
    r->min = t[0];
    for (int i = 1; i < n; i++)
        if (t[i] < r->min)
            r->min = t[i];
}

/* ---- the phantom ------------------------------------------------------------------------------------------ */

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void make_phantom(const char *gz_path, const char *nii_path)
{
    const int64_t shape[3] = {300, 512, 512}; /* k, j, i */
    vxt_image *img = NULL;
    if (vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img) != VXT_OK)
        die("create");
    vxt_volume v;
    vxt_image_volume(img, &v);
    int16_t *p = (int16_t *)v.data;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int64_t k = 0; k < shape[0]; k++)
        for (int64_t j = 0; j < shape[1]; j++)
            for (int64_t i = 0; i < shape[2]; i++) {
                double x = ((double)i - 256) / 200, y = ((double)j - 266) / 150, z = ((double)k - 150) / 170;
                double r2 = x * x + y * y, hu = -1000;
                if (r2 + z * z * 0.2 < 1.0) {
                    hu = 40 + 20 * sin((double)k * 0.05) * cos(x * 3); /* soft tissue */
                    if (r2 > 0.8)
                        hu = 700; /* a bone ring */
                    if ((x - 0.3) * (x - 0.3) + y * y < 0.05)
                        hu = -800; /* a lung-like hole */
                }
                uint64_t rnd = xs(&seed); /* noise: sum of four uniforms, sd about 18 HU */
                double noise = (double)((rnd & 0xffff) + ((rnd >> 16) & 0xffff) + ((rnd >> 32) & 0xffff) +
                                        (rnd >> 48)) / 65536.0 - 2.0;
                p[(k * shape[1] + j) * shape[2] + i] = (int16_t)lrint(hu + 1024 + noise * 31);
            }
    double srow[16] = {-0.7, 0, 0, 179, 0, -0.7, 0, 179, 0, 0, 1.25, -180, 0, 0, 0, 1};
    vxt_geometry g = {.struct_size = sizeof g};
    if (vxt_geometry_from_affine(srow, VXT_NIFTI_XFORM_SCANNER_ANAT, &g) != VXT_OK ||
        vxt_image_set_geometry(img, &g) != VXT_OK || vxt_image_set_scaling(img, 1.0, -1024.0) != VXT_OK)
        die("geometry");
    vxt_image_set_description(img, "voxtile benchmark CT phantom");
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    o.compression_level = 6;
    if (vxt_nifti_write_file(img, gz_path, &o) != VXT_OK || vxt_nifti_write_file(img, nii_path, &o) != VXT_OK)
        die("write phantom");
    vxt_image_destroy(img);
}

/* ---- measurements ------------------------------------------------------------------------------------------ */

static double time_gzip(const char *path)
{
    double t0 = vxt_bench_now();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execlp("gzip", "gzip", "-dc", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double t = vxt_bench_now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("gzip -dc failed");
    return t;
}

static result bench_gzip(const char *path, double bytes)
{
    double t[MAX_REPS];
    for (int i = 0; i < reps; i++)
        t[i] = time_gzip(path);
    result r = {"gzip -dc > /dev/null", 0, 0, 0, bytes};
    summarize(&r, t, reps);
    return r;
}

/* max_bytes > 0 limits the reader's memory; set to the voxels' size it leaves no room for the compressed file,
 * which makes the reader stream it through zlib. */
static result bench_read(const char *name, const char *path, vxt_scaling scaling, uint64_t max_bytes,
                         double bytes)
{
    double t[MAX_REPS];
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = scaling;
    o.max_bytes = max_bytes;
    for (int i = 0; i < reps; i++) {
        vxt_image *img = NULL;
        double t0 = vxt_bench_now();
        if (vxt_nifti_read_file(path, &o, &img) != VXT_OK)
            die(name);
        t[i] = vxt_bench_now() - t0;
        vxt_image_destroy(img);
    }
    result r = {name, 0, 0, 0, bytes};
    summarize(&r, t, reps);
    return r;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size);
    if (!b || fread(b, 1, *size, f) != *size)
        die("read");
    fclose(f);
    return b;
}

static result bench_read_memory(const unsigned char *gz, size_t gz_size, double bytes)
{
    double t[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        vxt_image *img = NULL;
        double t0 = vxt_bench_now();
        if (vxt_nifti_read_memory(gz, gz_size, NULL, &img) != VXT_OK)
            die("read_memory");
        t[i] = vxt_bench_now() - t0;
        vxt_image_destroy(img);
    }
    result r = {"voxtile read_memory (.nii.gz bytes)", 0, 0, 0, bytes};
    summarize(&r, t, reps);
    return r;
}

/* Decompression alone, into a buffer allocated (and touched) once. */
static result bench_zlib(const unsigned char *gz, size_t gz_size, unsigned char *out, size_t out_size)
{
    double t[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        double t0 = vxt_bench_now();
        inflateInit2(&z, 16 + MAX_WBITS);
        z.next_in = (Bytef *)(uintptr_t)gz;
        z.avail_in = (uInt)gz_size;
        z.next_out = out;
        z.avail_out = (uInt)out_size;
        int rc = inflate(&z, Z_FINISH);
        inflateEnd(&z);
        t[i] = vxt_bench_now() - t0;
        if (rc != Z_STREAM_END)
            die("zlib inflate");
    }
    result r = {"zlib inflate, whole buffer (no I/O, no allocation)", 0, 0, 0, (double)out_size};
    summarize(&r, t, reps);
    return r;
}

static result bench_libdeflate(const unsigned char *gz, size_t gz_size, unsigned char *out, size_t out_size)
{
    double t[MAX_REPS];
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    for (int i = 0; i < reps; i++) {
        size_t got = 0;
        double t0 = vxt_bench_now();
        enum libdeflate_result rc = libdeflate_gzip_decompress(d, gz, gz_size, out, out_size, &got);
        t[i] = vxt_bench_now() - t0;
        if (rc != LIBDEFLATE_SUCCESS)
            die("libdeflate");
    }
    libdeflate_free_decompressor(d);
    result r = {"libdeflate, whole buffer (no I/O, no allocation)", 0, 0, 0, (double)out_size};
    summarize(&r, t, reps);
    return r;
}

static result bench_write(const char *name, const vxt_image *img, const char *path, int level, double bytes)
{
    double t[MAX_REPS];
    vxt_nifti_write_options o;
    vxt_nifti_write_options_init(&o);
    o.compression_level = level;
    int n = reps < 3 ? reps : 3; /* writes are slow; three runs */
    for (int i = 0; i < n; i++) {
        double t0 = vxt_bench_now();
        if (vxt_nifti_write_file(img, path, &o) != VXT_OK)
            die(name);
        t[i] = vxt_bench_now() - t0;
    }
    result r = {name, 0, 0, 0, bytes};
    summarize(&r, t, n);
    return r;
}

/* zlib's deflate over the whole buffer, for comparison with the writer (one run: it is slow). */
static result bench_zlib_deflate(const unsigned char *in, size_t n, int level)
{
    uLong cap = compressBound((uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (!out)
        die("out of memory");
    z_stream z;
    memset(&z, 0, sizeof z);
    double t0 = vxt_bench_now();
    deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    double t = vxt_bench_now() - t0;
    free(out);
    if (rc != Z_STREAM_END)
        die("zlib deflate");
    result r = {"zlib deflate level 6, whole buffer (1 run)", t, t, t, (double)n};
    return r;
}

/* nibabel (what most users read NIfTI with), when Debian's python3-nibabel is there: the median of `reps`
 * loads timed inside Python (interpreter start-up excluded). 0 when it cannot run. */
static int bench_nibabel(const char *path, int float32, result *r)
{
    static const char *script =
        "import sys, time\n"
        "import numpy as np, nibabel as nib\n"
        "path, reps, f32 = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1'\n"
        "ts = []\n"
        "for _ in range(reps):\n"
        "    t = time.perf_counter()\n"
        "    img = nib.load(path)\n"
        "    a = img.get_fdata(dtype=np.float32) if f32 else np.asanyarray(img.dataobj.get_unscaled())\n"
        "    ts.append(time.perf_counter() - t)\n"
        "    del a, img\n"
        "print(ts[0], sorted(ts)[len(ts) // 2], min(ts))\n";
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"%s\" '%s' %d %d 2>/dev/null", script, path, reps, float32);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    double first = 0, median = 0, min = 0;
    int ok = fscanf(p, "%lf %lf %lf", &first, &median, &min) == 3;
    if (pclose(p) != 0 || !ok)
        return 0;
    r->first = first;
    r->median = median;
    r->min = min;
    return 1;
}

static void machine(char *out, size_t size)
{
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        fclose(f);
    }
    struct utsname u;
    uname(&u);
    snprintf(out, size, "%s, %ld CPUs online, Linux %s", model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

int main(int argc, char **argv)
{
    const char *file = NULL, *dir = getenv("TMPDIR");
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: vxt_bench_nifti [--file F.nii.gz] [--reps N] [--dir D] [--json]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS)
        reps = 7;
    if (dir == NULL || !*dir)
        dir = "/tmp";
    char gz_path[4096], nii_path[4096], out_path[4096];
    snprintf(out_path, sizeof out_path, "%s/vxt_bench_out.nii.gz", dir);
    if (file) {
        snprintf(gz_path, sizeof gz_path, "%s", file);
        nii_path[0] = '\0';
    } else {
        snprintf(gz_path, sizeof gz_path, "%s/vxt_bench_ct.nii.gz", dir);
        snprintf(nii_path, sizeof nii_path, "%s/vxt_bench_ct.nii", dir);
        struct stat sb;
        if (stat(gz_path, &sb) != 0 || stat(nii_path, &sb) != 0) {
            fprintf(stderr, "writing the phantom to %s and %s ...\n", gz_path, nii_path);
            make_phantom(gz_path, nii_path);
        }
    }

    /* the file, its size, and one untimed read to put it in the page cache */
    size_t gz_size = 0;
    unsigned char *gz = slurp(gz_path, &gz_size);
    vxt_image *img = NULL;
    if (vxt_nifti_read_file(gz_path, NULL, &img) != VXT_OK)
        die("read");
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_get_info(img, &info);
    vxt_nifti_info ni = {.struct_size = sizeof ni};
    vxt_nifti_get_info(img, &ni);
    vxt_volume v;
    vxt_image_volume(img, &v);
    size_t vox_bytes = 0;
    vxt_volume_bytes(&v, &vox_bytes);
    size_t stored = (size_t)(ni.bitpix / 8) * (size_t)(ni.dim[1] * ni.dim[2] * ni.dim[3] * info.volumes);
    double raw_bytes = (double)stored + (double)ni.vox_offset;
    unsigned char *out = malloc((size_t)raw_bytes);
    memset(out, 1, (size_t)raw_bytes);
    (void)time_gzip(gz_path);

    vxt_membw bw;
    vxt_bench_membw(1, (size_t)32 << 20, 3, &bw);

    result r[20];
    int n = 0;
    r[n++] = bench_gzip(gz_path, raw_bytes);
    r[n++] = bench_zlib(gz, gz_size, out, (size_t)raw_bytes);
    r[n++] = bench_libdeflate(gz, gz_size, out, (size_t)raw_bytes);
    free(out); /* the reads below allocate their own buffers, as a caller's would */
    out = NULL;
    vxt_image_destroy(img);
    img = NULL;
    r[n++] = bench_read("voxtile read_file (libdeflate, stored int16)", gz_path, VXT_SCALING_RAW, 0,
                        raw_bytes);
    r[n++] = bench_read("voxtile read_file (zlib streaming, stored int16)", gz_path, VXT_SCALING_RAW,
                        (uint64_t)stored, raw_bytes);
    r[n++] = bench_read("voxtile read_file (libdeflate, float32 HU)", gz_path, VXT_SCALING_AUTO, 0,
                        raw_bytes);
    r[n++] = bench_read_memory(gz, gz_size, raw_bytes);
    result nb = {"nibabel 5 load + dataobj (stored int16)", 0, 0, 0, raw_bytes};
    if (bench_nibabel(gz_path, 0, &nb))
        r[n++] = nb;
    result nbf = {"nibabel 5 load + get_fdata(float32)", 0, 0, 0, raw_bytes};
    if (bench_nibabel(gz_path, 1, &nbf))
        r[n++] = nbf;
    if (nii_path[0]) {
        r[n++] = bench_read("voxtile read_file (.nii, stored int16)", nii_path, VXT_SCALING_RAW, 0,
                            raw_bytes);
        r[n++] = bench_read("voxtile read_file (.nii, float32 HU)", nii_path, VXT_SCALING_AUTO, 0,
                            raw_bytes);
    }
    vxt_image *raw = NULL;
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    if (vxt_nifti_read_file(gz_path, &ro, &raw) != VXT_OK)
        die("read");
    r[n++] = bench_write("voxtile write_file (.nii.gz, level 6)", raw, out_path, 6, raw_bytes);
    r[n++] = bench_write("voxtile write_file (.nii.gz, level 1)", raw, out_path, 1, raw_bytes);
    unlink(out_path);
    if (nii_path[0]) {
        size_t nii_size = 0;
        unsigned char *nii = slurp(nii_path, &nii_size);
        r[n++] = bench_zlib_deflate(nii, nii_size, 6);
        free(nii);
    }

    char mach[512];
    machine(mach, sizeof mach);
    if (json) {
        printf("{\n  \"machine\": \"%s\",\n  \"zlib\": \"%s\",\n  \"libdeflate\": \"%s\",\n", mach, zlibVersion(),
               LIBDEFLATE_VERSION_STRING);
        printf("  \"file\": \"%s\",\n  \"compressed_bytes\": %zu,\n  \"decompressed_bytes\": %.0f,\n", gz_path,
               gz_size, raw_bytes);
        printf("  \"memory_bandwidth_copy_gbs_1_thread\": %.2f,\n  \"reps\": %d,\n  \"results\": [\n", bw.copy_gbs, reps);
        for (int i = 0; i < n; i++)
            printf("    {\"name\": \"%s\", \"median_s\": %.4f, \"min_s\": %.4f, \"first_s\": %.4f, "
                   "\"mb_per_s\": %.1f}%s\n",
                   r[i].name, r[i].median, r[i].min, r[i].first, r[i].bytes / r[i].median / 1e6, i + 1 < n ? "," : "");
        printf("  ]\n}\n");
    } else {
        printf("machine      %s\nlibraries    zlib %s, libdeflate %s\n", mach, zlibVersion(), LIBDEFLATE_VERSION_STRING);
        printf("file         %s: %lld x %lld x %lld %s, %zu bytes compressed, %.0f decompressed (ratio %.2f)\n", gz_path,
               (long long)ni.dim[1], (long long)ni.dim[2], (long long)ni.dim[3],
               vxt_nifti_datatype_name(ni.datatype), gz_size, raw_bytes, raw_bytes / (double)gz_size);
        printf("memory       copy %.1f GB/s (1 thread, same run)\n", bw.copy_gbs);
        printf("runs         median of %d (writes: of %d); MB/s = uncompressed bytes / median time\n\n", reps,
               reps < 3 ? reps : 3);
        printf("%-52s %9s %9s %9s %9s\n", "", "median s", "min s", "first s", "MB/s");
        for (int i = 0; i < n; i++)
            printf("%-52s %9.3f %9.3f %9.3f %9.0f\n", r[i].name, r[i].median, r[i].min, r[i].first,
                   r[i].bytes / r[i].median / 1e6);
    }
    vxt_image_destroy(raw);
    free(gz);
    return 0;
}
