/* bench_runner.c - what voxtile costs around a real network: `voxtile run` on a scan with a plan, against the
 * plan's runner alone predicting the same tiles. Results and method: docs/PERFORMANCE.md ("Around a real
 * network").
 *
 *   vxt_bench_runner --input SCAN --plan PLAN.json [--plan ...] [--set JSON] [--repeat N] [--voxtile PATH] [--json]
 *
 * 1. A capture run, in this process: the plan's pipeline with its runner wrapped in a callback that keeps a copy
 *    of every batch it is handed (the tiles as voxtile cut them: inputs, tile boxes, member, mirroring) before
 *    passing it on. Its labels are kept.
 * 2. N rounds, each timing both sides, in alternating order (this machine's speed drifts by +-30%):
 *      voxtile  `voxtile run SCAN -o OUT --plan RESOLVED.json`, a child process, wall time from spawn to exit
 *               (reading, preprocessing, the runner, blending, writing: what a user waits for), and its peak RSS;
 *      runner   the runner alone, made from the same specification and configuration, predicting the captured
 *               batches one after the other into one output buffer: also a child process (this program again,
 *               --runner-child), timed from spawn to exit less the time it spends reading the captured batches
 *               from a file, so that both sides pay the same process start, library loading and model
 *               compilation.
 *    The overhead is voxtile - runner: all voxtile does around the network, including what it cannot overlap.
 * 3. The child's labels must equal the capture run's, byte for byte (the same plan, the same bits).
 *
 * The bound of this measurement is the network itself: voxtile's ideal is the runner's time. Plans with one model
 * only (an ensemble's members would be timed together). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "voxtile.h"

extern char **environ;

#ifndef VXT_BENCH_VOXTILE
#define VXT_BENCH_VOXTILE "voxtile"
#endif

typedef struct captured {
    vxt_batch b;       /* as handed over; input points into `input`, tiles into `tiles`, output NULL */
    float *input;
    vxt_tile *tiles;
} captured;

typedef struct capture {
    vxt_runner *real;
    captured *batches;
    int n, cap;
    size_t max_out_bytes;
    double predict_seconds; /* inside the real runner during the capture run */
    int failed;
} capture;

static int capture_predict(void *user, const vxt_batch *b)
{
    capture *c = (capture *)user;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        captured *nb = realloc(c->batches, (size_t)cap * sizeof *nb);
        if (!nb)
            return c->failed = 1;
        c->batches = nb;
        c->cap = cap;
    }
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    const size_t in_n = (size_t)b->count * (size_t)b->in_channels * roi;
    const size_t out_bytes = (size_t)b->count * (size_t)b->out_channels * roi * vxt_dtype_size(b->output_dtype);
    captured *k = &c->batches[c->n];
    k->input = malloc(in_n * sizeof(float));
    k->tiles = malloc((size_t)b->count * sizeof(vxt_tile));
    if (!k->input || !k->tiles) {
        free(k->input);
        free(k->tiles);
        return c->failed = 1;
    }
    memcpy(k->input, b->input, in_n * sizeof(float));
    memcpy(k->tiles, b->tiles, (size_t)b->count * sizeof(vxt_tile));
    k->b = *b;
    k->b.input = k->input;
    k->b.tiles = k->tiles;
    k->b.output = NULL;
    c->n++;
    if (out_bytes > c->max_out_bytes)
        c->max_out_bytes = out_bytes;
    double t0 = vxt_bench_now();
    vxt_status st = vxt_runner_predict(c->real, b);
    c->predict_seconds += vxt_bench_now() - t0;
    if (st != VXT_OK) {
        fprintf(stderr, "vxt_bench_runner: %s\n", vxt_last_error());
        return c->failed = 2;
    }
    return 0;
}

static void die(const char *what)
{
    fprintf(stderr, "vxt_bench_runner: %s: %s\n", what, vxt_last_error());
    exit(1);
}

/* `voxtile run` as a child process: wall seconds, peak RSS in MiB; exits on failure. */
static double run_voxtile(const char *voxtile, const char *input, const char *out, const char *plan, double *rss_mib)
{
    char *argv[] = {(char *)voxtile, "run", (char *)input, "-o", (char *)out, "--plan", (char *)plan, "--quiet", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
    pid_t pid;
    double t0 = vxt_bench_now();
    int rc = posix_spawn(&pid, voxtile, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "vxt_bench_runner: cannot start %s: %s\n", voxtile, strerror(rc));
        exit(1);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        fprintf(stderr, "vxt_bench_runner: wait4: %s\n", strerror(errno));
        exit(1);
    }
    double s = vxt_bench_now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vxt_bench_runner: voxtile run failed (status %d)\n", status);
        exit(1);
    }
    *rss_mib = (double)ru.ru_maxrss / 1024.0;
    return s;
}

/* The captured batches in a file, for the child: the number of batches, the largest output, then per batch its
 * vxt_batch (pointers meaningless), its tiles and its input. The same program on the same machine reads it. */
static void save_capture(const capture *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(&c->n, sizeof c->n, 1, f) == 1 && fwrite(&c->max_out_bytes, sizeof c->max_out_bytes, 1, f) == 1;
    for (int i = 0; ok && i < c->n; i++) {
        const vxt_batch *b = &c->batches[i].b;
        const size_t in_n = (size_t)b->count * (size_t)b->in_channels * (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
        ok = fwrite(b, sizeof *b, 1, f) == 1 && fwrite(c->batches[i].tiles, sizeof(vxt_tile), (size_t)b->count, f) ==
                                                     (size_t)b->count &&
             fwrite(c->batches[i].input, sizeof(float), in_n, f) == in_n;
    }
    if (!f || !ok || fclose(f) != 0) {
        fprintf(stderr, "vxt_bench_runner: cannot write %s\n", path);
        exit(1);
    }
}

static void load_capture(capture *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    int ok = f && fread(&c->n, sizeof c->n, 1, f) == 1 && fread(&c->max_out_bytes, sizeof c->max_out_bytes, 1, f) == 1 &&
             c->n > 0 && c->n < (1 << 20) && (c->batches = calloc((size_t)c->n, sizeof *c->batches)) != NULL;
    for (int i = 0; ok && i < c->n; i++) {
        captured *k = &c->batches[i];
        ok = fread(&k->b, sizeof k->b, 1, f) == 1 && k->b.count > 0 && k->b.count < (1 << 16);
        const size_t in_n = ok ? (size_t)k->b.count * (size_t)k->b.in_channels *
                                     (size_t)(k->b.roi[0] * k->b.roi[1] * k->b.roi[2])
                               : 0;
        ok = ok && (k->tiles = malloc((size_t)k->b.count * sizeof(vxt_tile))) != NULL &&
             (k->input = malloc(in_n * sizeof(float))) != NULL &&
             fread(k->tiles, sizeof(vxt_tile), (size_t)k->b.count, f) == (size_t)k->b.count &&
             fread(k->input, sizeof(float), in_n, f) == in_n;
        k->b.tiles = k->tiles;
        k->b.input = k->input;
        k->b.output = NULL;
    }
    if (!f || !ok) {
        fprintf(stderr, "vxt_bench_runner: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* The child's side: read the batches (timed apart), then the runner's creation and every prediction; prints the
 * seconds spent reading. */
static int runner_child(const char *spec, const char *config, const char *path)
{
    double t0 = vxt_bench_now();
    capture c;
    load_capture(&c, path);
    void *outbuf = malloc(c.max_out_bytes);
    if (!outbuf)
        return 1;
    const double loading = vxt_bench_now() - t0;
    vxt_runner *r = NULL;
    if (vxt_runner_create(spec, config && *config ? config : NULL, &r) != VXT_OK)
        die("vxt_runner_create");
    for (int i = 0; i < c.n; i++) {
        vxt_batch b = c.batches[i].b;
        b.output = outbuf;
        if (vxt_runner_predict(r, &b) != VXT_OK)
            die("vxt_runner_predict");
    }
    vxt_runner_destroy(r);
    printf("%.6f\n", loading);
    return 0;
}

/* The runner alone on the captured batches, as a child process: wall seconds from spawn to exit, less its reading of
 * the batches. */
static double run_runner(const char *self, const char *spec, const char *config, const char *capture_path,
                         const char *dir)
{
    char out_path[80];
    snprintf(out_path, sizeof out_path, "%s/child.txt", dir);
    char *argv[] = {(char *)self, "--runner-child", (char *)spec, (char *)(config ? config : ""), (char *)capture_path,
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    double t0 = vxt_bench_now();
    int rc = posix_spawn(&pid, self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "vxt_bench_runner: cannot start %s: %s\n", self, strerror(rc));
        exit(1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vxt_bench_runner: the runner child failed (status %d)\n", status);
        exit(1);
    }
    const double s = vxt_bench_now() - t0;
    double loading = -1;
    FILE *f = fopen(out_path, "r");
    if (!f || fscanf(f, "%lf", &loading) != 1 || loading < 0) {
        fprintf(stderr, "vxt_bench_runner: the runner child did not report\n");
        exit(1);
    }
    fclose(f);
    unlink(out_path);
    return s - loading;
}

static double minimum(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--runner-child"))
        return runner_child(argv[2], argv[3], argv[4]);
    const char *input = NULL, *voxtile = VXT_BENCH_VOXTILE, *plans[8], *sets[8];
    int nplans = 0, nsets = 0, repeat = 3, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc)
            input = argv[++i];
        else if (!strcmp(argv[i], "--plan") && i + 1 < argc && nplans < 8)
            plans[nplans++] = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 8)
            sets[nsets++] = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--voxtile") && i + 1 < argc)
            voxtile = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: vxt_bench_runner --input SCAN --plan PLAN.json [--plan ...] [--set JSON] "
                            "[--repeat N] [--voxtile PATH] [--json]\n");
            return 2;
        }
    }
    if (!input || nplans == 0 || repeat < 1 || repeat > 100) {
        fprintf(stderr, "vxt_bench_runner: --input and --plan are required (--repeat 1..100)\n");
        return 2;
    }

    /* the plan, resolved once and written for the child: both sides run the same plan */
    vxt_plan *plan = NULL;
    if (vxt_plan_create(&plan) != VXT_OK)
        die("vxt_plan_create");
    for (int i = 0; i < nplans; i++)
        if (vxt_plan_load_file(plan, plans[i]) != VXT_OK)
            die(plans[i]);
    for (int i = 0; i < nsets; i++)
        if (vxt_plan_load_json(plan, sets[i], strlen(sets[i]), "--set") != VXT_OK)
            die("--set");
    if (vxt_plan_check(plan) != VXT_OK)
        die("the plan");
    vxt_plan_info pinfo = {.struct_size = sizeof pinfo};
    vxt_plan_get_info(plan, &pinfo);
    if (pinfo.members != 1) {
        fprintf(stderr, "vxt_bench_runner: the plan has %d models (one only)\n", pinfo.members);
        return 2;
    }
    const char *config = NULL, *spec = vxt_plan_member(plan, 0, &config);
    char dir[] = "/tmp/vxt_bench_runner.XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "vxt_bench_runner: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char plan_path[64], out_path[64], capture_path[64];
    snprintf(plan_path, sizeof plan_path, "%s/plan.json", dir);
    snprintf(out_path, sizeof out_path, "%s/labels.nii.gz", dir);
    snprintf(capture_path, sizeof capture_path, "%s/batches.bin", dir);
    char *text = NULL;
    if (vxt_plan_to_json(plan, &text) != VXT_OK)
        die("vxt_plan_to_json");
    FILE *f = fopen(plan_path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "vxt_bench_runner: cannot write %s\n", plan_path);
        return 1;
    }
    vxt_buffer_free(text);

    /* 1. the capture run */
    capture cap;
    memset(&cap, 0, sizeof cap);
    if (vxt_runner_create(spec, config, &cap.real) != VXT_OK)
        die(spec);
    vxt_runner_info ri = {.struct_size = sizeof ri};
    vxt_runner_get_info(cap.real, &ri);
    vxt_runner *wrapped = NULL;
    if (vxt_runner_create_callback(&ri, capture_predict, &cap, &wrapped) != VXT_OK)
        die("vxt_runner_create_callback");
    vxt_context *ctx = NULL;
    if (vxt_context_create(NULL, &ctx) != VXT_OK)
        die("vxt_context_create");
    vxt_pipeline *pl = NULL;
    if (vxt_pipeline_create(ctx, plan, &wrapped, 1, &pl) != VXT_OK)
        die("vxt_pipeline_create");
    vxt_image *img = NULL;
    if (vxt_image_read_path(input, NULL, &img) != VXT_OK)
        die(input);
    vxt_run_result res = {.struct_size = sizeof res};
    double t0 = vxt_bench_now();
    if (vxt_pipeline_run(pl, img, NULL, &res) != VXT_OK || cap.failed)
        die("the capture run");
    const double capture_seconds = vxt_bench_now() - t0;
    vxt_volume lv;
    vxt_image_volume(res.labels, &lv);
    const size_t lbytes = (size_t)(lv.shape[0] * lv.shape[1] * lv.shape[2]) * vxt_dtype_size(lv.dtype);
    save_capture(&cap, capture_path);
    uint64_t tiles = res.tiles;
    /* this program, for the runner's child */
    char self[4096];
    const ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sn <= 0) {
        fprintf(stderr, "vxt_bench_runner: cannot find this program (/proc/self/exe)\n");
        return 1;
    }
    self[sn] = '\0';

    /* 2. alternating rounds */
    double *tv = calloc((size_t)repeat, sizeof(double)), *tr = calloc((size_t)repeat, sizeof(double));
    double rss = 0;
    for (int r = 0; r < repeat; r++) {
        double m = 0;
        if (r % 2 == 0) {
            tv[r] = run_voxtile(voxtile, input, out_path, plan_path, &m);
            tr[r] = run_runner(self, spec, config, capture_path, dir);
        } else {
            tr[r] = run_runner(self, spec, config, capture_path, dir);
            tv[r] = run_voxtile(voxtile, input, out_path, plan_path, &m);
        }
        rss = m > rss ? m : rss;
        if (!json)
            fprintf(stderr, "round %d: voxtile run %.2f s, runner alone %.2f s\n", r + 1, tv[r], tr[r]);
    }

    /* 3. the child's labels are the capture run's */
    vxt_image *child = NULL;
    if (vxt_image_read_path(out_path, NULL, &child) != VXT_OK)
        die(out_path);
    vxt_volume cv;
    vxt_image_volume(child, &cv);
    const int same = cv.dtype == lv.dtype && !memcmp(cv.shape, lv.shape, sizeof cv.shape) &&
                     !memcmp(cv.data, lv.data, lbytes);

    const double vmed = vxt_bench_median(tv, repeat), rmed = vxt_bench_median(tr, repeat);
    const double vmin = minimum(tv, repeat), rmin = minimum(tr, repeat);
    if (json) {
        printf("{\"input\": \"%s\", \"model\": \"%s\", \"tiles\": %llu, \"batches\": %d, \"repeat\": %d, "
               "\"voxtile_run_s\": {\"min\": %.3f, \"median\": %.3f}, \"runner_alone_s\": {\"min\": %.3f, "
               "\"median\": %.3f}, \"overhead_median\": %.4f, \"overhead_min\": %.4f, \"voxtile_peak_rss_mib\": %.0f, "
               "\"capture_run_s\": %.3f, \"capture_predict_s\": %.3f, \"labels_identical\": %s}\n",
               input, spec, (unsigned long long)tiles, cap.n, repeat, vmin, vmed, rmin, rmed, (vmed - rmed) / rmed,
               (vmin - rmin) / rmin, rss, capture_seconds, cap.predict_seconds, same ? "true" : "false");
    } else {
        printf("%s with %s: %llu tiles in %d batches, %d rounds\n", input, spec, (unsigned long long)tiles, cap.n,
               repeat);
        printf("  voxtile run   min %.2f s, median %.2f s (peak RSS %.0f MiB)\n", vmin, vmed, rss);
        printf("  runner alone  min %.2f s, median %.2f s\n", rmin, rmed);
        printf("  overhead      %.1f%% of the runner's time (medians), %.1f%% (minima)\n", 100 * (vmed - rmed) / rmed,
               100 * (vmin - rmin) / rmin);
        printf("  in this process: the pipeline's run %.2f s, inside the runner %.2f s (voxtile %.1f%% more)\n",
               capture_seconds, cap.predict_seconds, 100 * (capture_seconds - cap.predict_seconds) / cap.predict_seconds);
        printf("  labels of the child == the capture run's: %s\n", same ? "yes" : "NO");
    }
    /* clean up */
    unlink(out_path);
    unlink(plan_path);
    unlink(capture_path);
    rmdir(dir);
    vxt_image_destroy(child);
    vxt_run_result_clear(&res);
    vxt_image_destroy(img);
    vxt_pipeline_destroy(pl);
    vxt_runner_destroy(wrapped);
    vxt_runner_destroy(cap.real);
    vxt_context_destroy(ctx);
    vxt_plan_destroy(plan);
    for (int i = 0; i < cap.n; i++) {
        free(cap.batches[i].input);
        free(cap.batches[i].tiles);
    }
    free(cap.batches);
    free(tv);
    free(tr);
    return same ? 0 : 3;
}
