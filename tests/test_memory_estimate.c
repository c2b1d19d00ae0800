/* test_memory_estimate.c - a run's memory, estimated before it runs (vxt_pipeline_estimate, vxt_stitch_estimate),
 * and the ceiling that refuses a run above it (vxt_run_options.max_memory):
 *   - the estimate is within 15% of the peak resident memory a child process measures on several cases (labels
 *     only, probabilities, resampled and oriented, crop blending, mirroring with batches, a sink);
 *   - a header-only image gives the same estimate as its voxels;
 *   - a run above the ceiling fails with VXT_ERR_MEMORY_LIMIT, naming the estimate and what would lower it,
 *     before it allocates anything large (the child's peak barely moves); at the estimate itself it runs;
 *   - hostile sizes (a header claiming 1024^3, a ROI of 1200 on a 32^3 image) are estimated without overflow,
 *     and refused by a ceiling at once;
 *   - argument errors of both entry points. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vxt_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define VXT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VXT_TEST_ASAN 1
#endif
#endif

static vxt_plan *plan_from(const char *json)
{
    vxt_plan *p = NULL;
    assert_ok(vxt_plan_create(&p));
    assert_ok(vxt_plan_load_json(p, json, strlen(json), "test"));
    return p;
}

/* A CT-like int16 image of random values with spacing (z, y, x) and axis directions `orient`. */
static vxt_image *make_image(const int64_t shape[3], const double spacing[3], const char *orient, uint64_t seed)
{
    return vxt_test_image(VXT_DTYPE_I16, 1, shape, spacing, orient, seed);
}

/* "bands:" with `classes` classes (a CT-like classifier: class c where the value passes the c-th edge). */
static void bands_model(char *buf, size_t n, int classes)
{
    snprintf(buf, n, "bands:");
    for (int e = 0; e < classes - 1; e++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%d", e ? "," : "", -950 + 2900 * e / (classes - 1));
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            kb = atol(line + k + 1);
            break;
        }
    if (f)
        fclose(f);
    return kb;
}

/* The kernel updates a process's peak resident size (VmHWM) only when memory is unmapped or the process ends,
 * not on page faults: a peak that no unmap follows is never recorded. This thread unmaps a page every
 * millisecond, so that VmHWM is the true peak within a millisecond. */
typedef struct sampler {
    pthread_t thread;
    atomic_int stop;
} sampler;

static void *sample_main(void *arg)
{
    sampler *s = (sampler *)arg;
    while (!atomic_load(&s->stop)) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED)
            munmap(p, 4096);
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    return NULL;
}

/* Reset this process's peak resident size (VmHWM) to its current one (Linux 4.0+). */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

typedef struct measured {
    double estimate, peak; /* bytes: vxt_pipeline_estimate's peak_bytes; the resident growth from before the image */
    int status;            /* vxt_pipeline_run's */
    char message[512];
} measured;

static int sink_count(void *user, const vxt_slab *s)
{
    (void)s;
    (*(int *)user)++;
    return 0;
}

/* In a child process: a context and pipeline for `json`; then (peak reset) the image of `shape`, the estimate and
 * one run with `opts`. The growth of the resident memory from before the image to the run's peak comes back. */
static measured child_run(const char *json, const int64_t shape[3], const double spacing[3], const char *orient,
                          unsigned outputs, int sink, uint64_t max_memory)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        /* Transparent huge pages off: with them, khugepaged may at any moment fill a sparsely touched region (a
         * thread's stack, a heap arena) to a whole 2 MiB page, so that resident memory varied here by up to 70 MiB
         * between identical runs. Without them it counts the pages that were touched, which is what the estimate
         * is about. */
        prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
        measured m;
        memset(&m, 0, sizeof m);
        m.status = -1;
        vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
        /* The CPU backend groups the outputs of fast predictor calls (up to 128 MiB) and closes a group early after
         * a slow call, so that a loaded machine fills less of the group buffer: the estimate counts all of it (an
         * upper bound), and here every call counts as fast, so that the measure does not depend on the load. */
        ctx->stitch_group_slow_s = -1;
        vxt_plan *plan = plan_from(json);
        vxt_pipeline *p = NULL;
        int slabs = 0;
        if (vxt_pipeline_create(ctx, plan, NULL, 0, &p) == VXT_OK && reset_peak()) {
            const long before = status_kib("VmRSS");
            vxt_image *img = make_image(shape, spacing, orient, 11);
            vxt_run_options o;
            vxt_run_options_init(&o);
            o.outputs = outputs;
            o.max_memory = max_memory;
            if (sink) {
                o.sink = sink_count;
                o.sink_user = &slabs;
            }
            vxt_memory_estimate e = {.struct_size = sizeof e};
            vxt_run_result res = {.struct_size = sizeof res};
            sampler smp;
            atomic_init(&smp.stop, 0);
            /* above the ceiling, the estimate is filled in and the run's own refusal returned */
            vxt_status est_st = vxt_pipeline_estimate(p, img, &o, &e);
            if ((est_st == VXT_OK || (max_memory && est_st == VXT_ERR_MEMORY_LIMIT)) &&
                pthread_create(&smp.thread, NULL, sample_main, &smp) == 0) {
                m.estimate = (double)e.peak_bytes;
                m.status = (int)vxt_pipeline_run(p, img, &o, &res);
                snprintf(m.message, sizeof m.message, "%s", m.status ? vxt_last_error() : "");
                atomic_store(&smp.stop, 1);
                pthread_join(smp.thread, NULL);
                m.peak = (double)(status_kib("VmHWM") - before) * 1024.0;
            }
            vxt_run_result_clear(&res);
            vxt_image_destroy(img);
        }
        ssize_t w = write(fds[1], &m, sizeof m);
        _exit(w == (ssize_t)sizeof m ? 0 : 1);
    }
    close(fds[1]);
    measured m;
    assert_int_equal(read(fds[0], &m, sizeof m), (ssize_t)sizeof m);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return m;
}

static void test_estimate_matches_peak(void **state)
{
    (void)state;
#ifdef VXT_TEST_ASAN
    skip(); /* AddressSanitizer's quarantine and shadow memory make resident sizes meaningless */
#else
    char model[256];
    bands_model(model, sizeof model, 8);
    char gauss[512], crop[512], resampled[512], mirrored[512];
    snprintf(gauss, sizeof gauss, "{\"model\": \"%s\", \"roi\": [64, 64, 64], \"overlap\": 0.5}", model);
    snprintf(crop, sizeof crop, "{\"model\": \"%s\", \"roi\": [64, 64, 64], \"overlap\": 0.25, \"importance\": \"crop\"}",
             model);
    snprintf(resampled, sizeof resampled,
             "{\"model\": \"%s\", \"roi\": [48, 64, 64], \"overlap\": 0.5, \"target_spacing\": [1.5, 0.8, 0.8], "
             "\"orientation\": \"RAS\"}", model);
    snprintf(mirrored, sizeof mirrored,
             "{\"model\": \"%s\", \"roi\": [32, 64, 64], \"overlap\": 0.5, \"batch_size\": 4, \"mirror_axes\": [0, 2]}",
             model);
    const int64_t shape[3] = {160, 192, 192}, small[3] = {96, 160, 160};
    const double iso[3] = {1.0, 1.0, 1.0}, thick[3] = {2.0, 1.0, 1.0};
    struct {
        const char *what, *json;
        const int64_t *shape;
        const double *spacing;
        const char *orient;
        unsigned outputs;
        int sink;
    } cases[] = {
        {"labels only, Gaussian", gauss, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0},
        {"labels and probabilities", gauss, shape, iso, "RAS", VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, 0},
        {"resampled and oriented, probabilities", resampled, small, thick, "LPS",
         VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, 0},
        {"crop blending, labels only", crop, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0},
        {"mirroring, batches of 4", mirrored, small, iso, "RAS", VXT_OUTPUT_LABELS, 0},
        {"a sink, labels and probabilities", gauss, shape, iso, "RAS", VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        measured m = child_run(cases[i].json, cases[i].shape, cases[i].spacing, cases[i].orient, cases[i].outputs,
                               cases[i].sink, 0);
        const double ratio = m.estimate / m.peak;
        print_message("%-40s estimate %7.1f MiB, measured %7.1f MiB (%.3f)\n", cases[i].what, m.estimate / 1048576.0,
                      m.peak / 1048576.0, ratio);
        if (m.status != VXT_OK)
            fail_msg("%s: the run failed: %s", cases[i].what, m.message);
        if (ratio < 0.85 || ratio > 1.15)
            fail_msg("%s: estimate %.1f MiB, measured peak %.1f MiB: off by more than 15%%", cases[i].what,
                     m.estimate / 1048576.0, m.peak / 1048576.0);
    }
#endif
}

/* Labels only, 8 classes and 104 (the FreeSurfer network's count): what grows with the classes may only be what
 * every design must hold per class, the sums still pending between two z rows of tiles (Gaussian: the planes two
 * tiles share, plus a row of blocks) and the tile buffers; not a slab of planes per class, as the ring of whole
 * planes held, and not classes x volume. In crop blending, only the tile buffers. Measured in a child process. */
static void test_labels_peak_and_classes(void **state)
{
    (void)state;
#ifdef VXT_TEST_ASAN
    skip();
#else
    const int64_t shape[3] = {64, 256, 256};
    const double iso[3] = {1.0, 1.0, 1.0};
    const double plane = 256.0 * 256.0, roi_vox = 32.0 * 64.0 * 64.0;
    for (int crop = 0; crop < 2; crop++) {
        double peak[2] = {0, 0}, est[2] = {0, 0};
        const int classes[2] = {8, 104};
        for (int k = 0; k < 2; k++) {
            char model[1024], json[1400];
            bands_model(model, sizeof model, classes[k]);
            snprintf(json, sizeof json, "{\"model\": \"%s\", \"roi\": [32, 64, 64], \"overlap\": 0.25%s}", model,
                     crop ? ", \"importance\": \"crop\"" : "");
            measured m = child_run(json, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0, 0);
            if (m.status != VXT_OK)
                fail_msg("%d classes: the run failed: %s", classes[k], m.message);
            peak[k] = m.peak;
            est[k] = m.estimate;
        }
        const double grown = peak[1] - peak[0], per_class = grown / 96.0;
        /* per class: Gaussian, the 8 planes two z rows share and a quarter ROI of blocks beyond, 4 bytes each; the
         * ring held R0 + stride = 56 planes per class. Both: two tiles' outputs per class. */
        const double inherent = (crop ? 0.0 : 4.0 * (8.0 + 16.0) * plane) + 2.0 * 4.0 * roi_vox;
        const double ring = 4.0 * 56.0 * plane;
        char tail[96] = "";
        if (!crop)
            snprintf(tail, sizeof tail, "; a ring of whole planes: %.2f", (ring + inherent) / 1048576.0);
        print_message("%s, labels only: peak %.1f MiB at 8 classes, %.1f MiB at 104 (estimates %.1f, %.1f): %.2f MiB a "
                      "class (what must grow: at most %.2f MiB a class%s)\n", crop ? "crop" : "Gaussian",
                      peak[0] / 1048576.0, peak[1] / 1048576.0, est[0] / 1048576.0, est[1] / 1048576.0,
                      per_class / 1048576.0, inherent / 1048576.0, tail);
        if (per_class > inherent)
            fail_msg("%s: the labels-only peak grows by %.2f MiB a class, more than the %.2f MiB a class that the "
                     "pending sums and tile buffers need", crop ? "crop" : "Gaussian", per_class / 1048576.0,
                     inherent / 1048576.0);
        for (int k = 0; k < 2; k++)
            if (est[k] / peak[k] < 0.85 || est[k] / peak[k] > 1.15)
                fail_msg("%d classes: estimate %.1f MiB, measured %.1f MiB", classes[k], est[k] / 1048576.0,
                         peak[k] / 1048576.0);
    }
#endif
}

static void test_ceiling(void **state)
{
    (void)state;
    char model[256], json[512];
    bands_model(model, sizeof model, 8);
    snprintf(json, sizeof json, "{\"model\": \"%s\", \"roi\": [64, 64, 64], \"overlap\": 0.5}", model);
    const int64_t shape[3] = {128, 160, 160};
    const double iso[3] = {1.0, 1.0, 1.0};
    /* the estimate alone, then a ceiling one byte below it and one at it */
    measured free_run = child_run(json, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0, 0);
    assert_int_equal(free_run.status, VXT_OK);
    const uint64_t est = (uint64_t)free_run.estimate;
    measured below = child_run(json, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0, est - 1);
    assert_int_equal(below.status, VXT_ERR_MEMORY_LIMIT);
    print_message("refused: %s\n", below.message);
    const char *needles[] = {"estimated", "limit", "sliding_window", "crop blending", "smaller ROI or batch"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (!strstr(below.message, needles[i]))
            fail_msg("the refusal '%s' does not mention '%s'", below.message, needles[i]);
    assert_null(strchr(below.message, '\n'));
#ifndef VXT_TEST_ASAN
    /* nothing large was allocated: the child grew by its image and little else */
    const double image = (double)(shape[0] * shape[1] * shape[2]) * 2.0;
    if (below.peak > image + 16.0 * 1048576.0)
        fail_msg("refused run grew by %.1f MiB (image %.1f MiB)", below.peak / 1048576.0, image / 1048576.0);
#endif
    measured at = child_run(json, shape, iso, "RAS", VXT_OUTPUT_LABELS, 0, est);
    assert_int_equal(at.status, VXT_OK);
    /* probabilities asked for: the message offers labels only too */
    measured probs = child_run(json, shape, iso, "RAS", VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES, 0, est);
    assert_int_equal(probs.status, VXT_ERR_MEMORY_LIMIT);
    assert_non_null(strstr(probs.message, "labels only"));
}

static void test_header_only_and_hostile_sizes(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_plan *plan = plan_from("{\"model\": \"bands:0,500\", \"roi\": [32, 32, 32], \"overlap\": 0.5}");
    vxt_pipeline *p = NULL;
    assert_ok(vxt_pipeline_create(ctx, plan, NULL, 0, &p));
    /* an image written and read back header-only estimates as its voxels do */
    const int64_t shape[3] = {40, 48, 56};
    const double iso[3] = {1.0, 1.0, 1.0};
    vxt_image *img = make_image(shape, iso, "RAS", 5);
    char path[] = "/tmp/vxt_estimate_XXXXXX.nii";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    assert_ok(vxt_image_write_path(img, path, NULL));
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.flags = VXT_READ_HEADER_ONLY;
    vxt_image *hdr = NULL;
    assert_ok(vxt_image_read_path(path, &ro, &hdr));
    unlink(path);
    vxt_memory_estimate a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    assert_ok(vxt_pipeline_estimate(p, img, NULL, &a));
    assert_ok(vxt_pipeline_estimate(p, hdr, NULL, &b));
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.peak_bytes > a.input_bytes + a.window_bytes);
    assert_int_equal(a.input_bytes, (uint64_t)(40 * 48 * 56 * 2));
    assert_int_equal(a.output_bytes, (uint64_t)(40 * 48 * 56)); /* uint8 labels */
    /* a header-only image cannot run, but can be estimated */
    vxt_run_result res = {.struct_size = sizeof res};
    assert_status_msg(vxt_pipeline_run(p, hdr, NULL, &res), VXT_ERR_INVALID_ARGUMENT, "no voxels");

    /* hostile headers: 1024^3 int16, and a ROI of 1200 on a 32^3 image: estimated, no overflow, refused */
    const int64_t one[3] = {1, 1, 1};
    vxt_image *dot = make_image(one, iso, "RAS", 1);
    memcpy(path + strlen(path) - 10, "XXXXXX", 6);
    fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    assert_ok(vxt_image_write_path(dot, path, NULL));
    vxt_image_destroy(dot);
    fd = open(path, O_WRONLY);
    const int16_t dims[3] = {1024, 1024, 1024}; /* dim[1..3] of the NIfTI-1 header, at byte 42 */
    assert_int_equal(pwrite(fd, dims, sizeof dims, 42), (ssize_t)sizeof dims);
    close(fd);
    vxt_image *big = NULL;
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_read_path(path, &ro, &big));
    unlink(path);
    assert_ok(vxt_image_get_info(big, &info));
    assert_false(info.has_data);
    assert_ok(vxt_pipeline_estimate(p, big, NULL, &a));
    assert_int_equal(a.input_bytes, (uint64_t)1 << 31);
    assert_true(a.peak_bytes > ((uint64_t)6 << 30)); /* its float copy, labels, ... */
    vxt_plan *roi = plan_from("{\"model\": \"bands:0,500\", \"roi\": [1200, 1200, 1200]}");
    vxt_pipeline *pr = NULL;
    assert_ok(vxt_pipeline_create(ctx, roi, NULL, 0, &pr));
    const int64_t tiny[3] = {32, 32, 32};
    vxt_image *t = make_image(tiny, iso, "RAS", 3);
    assert_ok(vxt_pipeline_estimate(pr, t, NULL, &a));
    print_message("ROI 1200 on 32^3: estimate %.1f GiB (sliding window %.1f GiB)\n", (double)a.peak_bytes / 1073741824.0,
                  (double)a.stage_bytes[VXT_STAGE_SLIDING_WINDOW] / 1073741824.0);
    assert_int_equal(a.peak_stage, VXT_STAGE_SLIDING_WINDOW);
    assert_true(a.peak_bytes > ((uint64_t)20 << 30)); /* 3 classes x 1200^3 x 4 of accumulator, 1200^3 x 4 tiles */
    vxt_run_options o;
    vxt_run_options_init(&o);
    o.max_memory = (uint64_t)8 << 30;
    assert_status_msg(vxt_pipeline_run(pr, t, &o, &res), VXT_ERR_MEMORY_LIMIT, "above the limit of 8.0 GiB");
    assert_int_equal(res.failed_stage, -1);

    /* argument errors */
    assert_status_msg(vxt_pipeline_estimate(NULL, t, NULL, &a), VXT_ERR_NULL, "");
    assert_status_msg(vxt_pipeline_estimate(p, NULL, NULL, &a), VXT_ERR_NULL, "");
    assert_status_msg(vxt_pipeline_estimate(p, t, NULL, NULL), VXT_ERR_NULL, "");
    vxt_memory_estimate bad = {.struct_size = 3};
    assert_status_msg(vxt_pipeline_estimate(p, t, NULL, &bad), VXT_ERR_STRUCT_SIZE, "");
    vxt_run_options_init(&o);
    o.outputs = 0;
    assert_status_msg(vxt_pipeline_estimate(p, t, &o, &a), VXT_ERR_INVALID_ARGUMENT, "outputs");
    struct {
        vxt_run_options o;
        unsigned char future[8];
    } newer;
    memset(&newer, 0, sizeof newer);
    vxt_run_options_init(&newer.o);
    newer.o.struct_size = sizeof newer;
    newer.future[0] = 1; /* a newer caller's field, not at its default */
    assert_status_msg(vxt_pipeline_estimate(p, t, &newer.o, &a), VXT_ERR_STRUCT_SIZE, "newer libvoxtile");
    vxt_run_options_init(&o);
    o.struct_size = offsetof(vxt_run_options, max_memory) + 4;
    assert_status_msg(vxt_pipeline_estimate(p, t, &o, &a), VXT_ERR_STRUCT_SIZE, "neither");
    o.struct_size = offsetof(vxt_run_options, max_memory); /* the earlier layout: no ceiling */
    assert_ok(vxt_pipeline_estimate(p, t, &o, &a));

    vxt_pipeline_destroy(pr);
    vxt_plan_destroy(roi);
    vxt_image_destroy(t);
    vxt_image_destroy(big);
    vxt_image_destroy(hdr);
    vxt_image_destroy(img);
    vxt_pipeline_destroy(p);
    vxt_plan_destroy(plan);
    vxt_context_destroy(ctx);
}

/* vxt_stitch_estimate: the engine's working set as it allocates it; argument errors. */
static void test_stitch_estimate(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_tiling_options to;
    vxt_tiling_options_init(&to);
    const int64_t shape[3] = {100, 120, 140}, roi[3] = {32, 48, 48};
    memcpy(to.shape, shape, sizeof to.shape);
    memcpy(to.roi, roi, sizeof to.roi);
    to.overlap[0] = to.overlap[1] = to.overlap[2] = 0.5;
    vxt_tiling *t = NULL;
    assert_ok(vxt_tiling_create(&to, &t));
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    so.out_channels = 5;
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink_count;
    out.want_labels = 1;
    vxt_memory_estimate e = {.struct_size = sizeof e}, e2 = {.struct_size = sizeof e2};
    assert_ok(vxt_stitch_estimate(ctx, t, &so, 1, &out, &e));
    assert_int_equal(e.peak_stage, -1);
    assert_int_equal(e.output_bytes, 0);
    assert_int_equal(e.input_bytes, (uint64_t)(100 * 120 * 140 * 4));
    /* the pending sums alone: at least 5 classes x the planes two z rows of tiles share (32 - 16) x the plane x 4 */
    assert_true(e.window_bytes > (uint64_t)5 * 16 * 120 * 140 * 4);

    /* volumes instead of a sink: the whole depth, and the outputs */
    vxt_stitch_output vol;
    vxt_stitch_output_init(&vol);
    vxt_volume labels = {(void *)1, VXT_DTYPE_U8, 1, {100, 120, 140}};
    vol.labels = &labels;
    assert_ok(vxt_stitch_estimate(ctx, t, &so, 1, &vol, &e2));
    assert_int_equal(e2.output_bytes, (uint64_t)(100 * 120 * 140));
    /* output volumes: the labels of the whole depth are kept until the end (so that a failed run leaves the
     * caller's volume untouched), one byte a voxel, instead of some planes; still no classes x volume */
    assert_true(e2.window_bytes < e.window_bytes + (uint64_t)100 * 120 * 140);
    assert_int_equal(e2.peak_bytes, e2.input_bytes + e2.output_bytes + e2.window_bytes);
    /* more channels, more memory */
    so.out_channels = 10;
    assert_ok(vxt_stitch_estimate(ctx, t, &so, 1, &out, &e2));
    assert_true(e2.window_bytes > e.window_bytes);
    /* errors */
    assert_status_msg(vxt_stitch_estimate(NULL, t, &so, 1, &out, &e), VXT_ERR_NULL, "");
    assert_status_msg(vxt_stitch_estimate(ctx, NULL, &so, 1, &out, &e), VXT_ERR_NULL, "");
    assert_status_msg(vxt_stitch_estimate(ctx, t, &so, 0, &out, &e), VXT_ERR_INVALID_ARGUMENT, "input_channels");
    assert_status_msg(vxt_stitch_estimate(ctx, t, &so, 1, &out, NULL), VXT_ERR_NULL, "");
    so.out_channels = 0;
    assert_status_msg(vxt_stitch_estimate(ctx, t, &so, 1, &out, &e), VXT_ERR_INVALID_ARGUMENT, "");
    vxt_tiling_destroy(t);
    /* labels of planes of 2^40 voxels, tiles overlapping by half along z: the sums two z rows share are more blocks
     * than the CPU accumulator indexes (2^31): refused as an overflow by the estimate, as by a run */
    const int64_t huge[3] = {16, (int64_t)1 << 20, (int64_t)1 << 20}, hroi[3] = {8, 64, 64};
    memcpy(to.shape, huge, sizeof to.shape);
    memcpy(to.roi, hroi, sizeof to.roi);
    to.overlap[0] = 0.5;
    to.overlap[1] = to.overlap[2] = 0.0;
    assert_ok(vxt_tiling_create(&to, &t));
    so.out_channels = 2;
    vxt_stitch_output vals;
    vxt_stitch_output_init(&vals);
    vals.sink = sink_count;
    vals.want_labels = 1;
    assert_status_msg(vxt_stitch_estimate(ctx, t, &so, 1, &vals, &e), VXT_ERR_OVERFLOW, "overflow");
    vxt_tiling_destroy(t);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_estimate_matches_peak),
        cmocka_unit_test(test_labels_peak_and_classes),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_header_only_and_hostile_sizes),
        cmocka_unit_test(test_stitch_estimate),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
