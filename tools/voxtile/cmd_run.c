/* cmd_run.c - `voxtile run IN -o OUT`: the library's pipeline (vxt_pipeline) on an image, with a plan from plan
 * files, an nnU-Net folder and flags; writes the labels (and probabilities, a picture) and says what happened. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

enum { O_OUT = 1, O_PROB, O_PICTURE, O_JSON, O_QUIET, O_MAX_MEMORY };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "outputs"},
    {"output", 'o', "OUT", O_OUT, "the labels (.nii, .nii.gz or .npy), on the input's grid with its geometry"},
    {"probabilities", 0, "FILE", O_PROB, "also the class values after activation, C x the input's grid, float32"},
    {"picture", 0, "FILE.png", O_PICTURE, "mid-slices of the input with the labels drawn over them"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON (stage seconds, tiles, backend, peak memory, label voxels)"},
    {"quiet", 0, NULL, O_QUIET, "no progress bar (drawn only when stderr is a terminal) and no summary"},
    {NULL, 0, NULL, 0, "memory"},
    {"max-memory", 0, "SIZE", O_MAX_MEMORY,
     "the most the run may hold (8G, 512M, ...; none: no ceiling). Default: what the machine can give now, "
     "MemAvailable or a cgroup's limit less its usage. The run's estimate (from the header and the plan; the "
     "network runtime's own memory comes on top) is checked before the voxels are read, and reading stops there"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_plan_flags, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "run", "run IN -o OUT [--plan PLAN.json | --nnunet DIR [--configuration NAME]] [flags]",
    "Reads the image (NIfTI, .npy, or a DICOM series: a folder or file), then the plan's pipeline: orient,\n"
    "rescale to its intensity units, resample to the model's spacing, normalize, run the model over overlapping\n"
    "tiles, blend them, activate, return to the input's grid and make labels (docs/PIPELINE.md). Per-axis values\n"
    "are Z,Y,X (for a NIfTI file k,j,i).",
    groups, 1};

typedef struct run_args {
    const char *out, *probabilities, *picture, *max_memory;
    int json, quiet;
    cli_exec exec;
    cli_dicom dicom;
    cli_plan_args plan;
} run_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    run_args *a = (run_args *)user;
    int rc = cli_shared_flag("run", &a->exec, &a->plan, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    switch (f->id) {
    case O_OUT: a->out = v; break;
    case O_PROB: a->probabilities = v; break;
    case O_PICTURE: a->picture = v; break;
    case O_JSON: a->json = 1; break;
    case O_MAX_MEMORY: a->max_memory = v; break;
    default: a->quiet = 1; break;
    }
    return 0;
}

/* ---- progress bar (stderr, a terminal only) and interruption ---------------------------------------------- */

typedef struct bar {
    double t0;
    int stage;
    int draw;
} bar;

static int on_progress(void *user, vxt_stage stage, uint64_t done, uint64_t total)
{
    bar *b = (bar *)user;
    if (!b->draw)
        return cli_interrupted(); /* Ctrl-C: the run stops at its next batch or stage */
    double t = cli_seconds();
    if ((int)stage != b->stage) {
        b->stage = (int)stage;
        b->t0 = t;
    }
    if (stage != VXT_STAGE_SLIDING_WINDOW || total == 0) {
        fprintf(stderr, "\r\033[K%-15s done\n", vxt_stage_name(stage));
        return cli_interrupted();
    }
    double el = t - b->t0, rate = el > 0 ? (double)done / el : 0, eta = rate > 0 ? (double)(total - done) / rate : 0;
    int fill = (int)(30.0 * (double)done / (double)total);
    char line[31];
    for (int i = 0; i < 30; i++)
        line[i] = i < fill ? '#' : '.';
    line[30] = '\0';
    fprintf(stderr, "\r\033[K%-15s [%s] %llu/%llu tiles, %.1f tiles/s, ETA %.0f s", vxt_stage_name(stage), line,
            (unsigned long long)done, (unsigned long long)total, rate, eta);
    if (done == total)
        fprintf(stderr, "\n");
    fflush(stderr);
    return cli_interrupted();
}

/* ---- the report ------------------------------------------------------------------------------------------ */

typedef struct report {
    const char *in;
    const run_args *a;
    const vxt_image *img, *labels;
    const vxt_pipeline *pipe;
    const vxt_run_result *res;
    vxt_context_info ci;
    char origin[512];
    double t_read, t_write, total;
    const vxt_memory_estimate *est;
    uint64_t ceiling, budget, held_before; /* the ceiling; what the run may take; what the process held before */
    const char *ceiling_source;
} report;

/* Voxels per label (uint8 or uint16 labels): counts[0 .. *n-1]; NULL when out of memory. */
static uint64_t *label_counts(const vxt_image *labels, int *n)
{
    vxt_volume v;
    vxt_image_volume(labels, &v);
    size_t nv = (size_t)(v.shape[0] * v.shape[1] * v.shape[2]);
    int wide = v.dtype == VXT_DTYPE_U16;
    uint64_t *c = calloc(wide ? 65536 : 256, sizeof *c);
    int top = 0;
    for (size_t i = 0; c && i < nv; i++) {
        unsigned l = wide ? ((const uint16_t *)v.data)[i] : ((const uint8_t *)v.data)[i];
        c[l]++;
        top = (int)l >= top ? (int)l + 1 : top;
    }
    *n = top;
    return c;
}

static double peak_memory_mib(void);

static void print_text(const report *r, const uint64_t *counts, int n)
{
    vxt_runner_info ri = {.struct_size = sizeof ri};
    vxt_runner_get_info(vxt_pipeline_runner(r->pipe, 0), &ri);
    vxt_image_info ii = {.struct_size = sizeof ii};
    vxt_image_get_info(r->img, &ii);
    char s1[64], s2[64];
    printf("voxtile run: %s (%s voxels, z y x) -> %s\n", r->in, cli_shape_text(s1, sizeof s1, ii.shape), r->a->out);
    if (ii.format == VXT_FORMAT_DICOM)
        printf("  DICOM series \"%s\": spacing %.6g x %.6g x %.6g mm (z, y, x), orientation %s%s%s\n", ii.description,
               ii.spacing[0], ii.spacing[1], ii.spacing[2], ii.orientation, ii.notes[0] ? "; " : "", ii.notes);
    printf("  %s on %s; model %s%s; %lld class%s; %llu tile%s over the model's grid of %s voxels\n",
           vxt_backend_name(r->ci.backend), r->ci.device_name, ri.name,
           vxt_pipeline_runner(r->pipe, 1) ? " (+ensemble)" : "", (long long)r->res->classes,
           r->res->classes == 1 ? "" : "es", (unsigned long long)r->res->tiles, r->res->tiles == 1 ? "" : "s",
           cli_shape_text(s2, sizeof s2, r->res->model_shape));
    const double nv = (double)(ii.shape[0] * ii.shape[1] * ii.shape[2]);
    printf("  labels:");
    for (int l = 0; counts && l < n; l++)
        if (counts[l])
            printf(" %d: %.1f%%", l, 100.0 * (double)counts[l] / nv);
    printf("\n  seconds: read %.3f", r->t_read);
    for (int s = 0; s < VXT_STAGE_COUNT_; s++)
        if (r->res->stages & (1u << s))
            printf(", %s %.3f", vxt_stage_name((vxt_stage)s), r->res->stage_seconds[s]);
    printf(", write %.3f; total %.3f\n", r->t_write, r->total);
    if (r->res->cpu_fallback) {
        printf("  on the CPU backend instead of the device (the same bits) for:");
        for (int s = 0; s < VXT_STAGE_COUNT_; s++)
            if (r->res->cpu_fallback & (1u << s))
                printf(" %s", vxt_stage_name((vxt_stage)s));
        printf("; the device: %s\n", r->res->fallback_reason);
    }
    char e1[32], e2[32], e3[32];
    printf("  memory: the run estimated at %s, %s held before it (libraries, the model)",
           cli_size_text(e1, sizeof e1, r->est->peak_bytes), cli_size_text(e3, sizeof e3, r->held_before));
    if (r->ceiling)
        printf(", under a ceiling of %s (%s)", cli_size_text(e2, sizeof e2, r->ceiling), r->ceiling_source);
    printf("; measured peak %.0f MiB\n", peak_memory_mib());
    if (r->a->probabilities)
        printf("  probabilities: %s\n", r->a->probabilities);
    if (r->a->picture)
        printf("  picture: %s\n", r->a->picture);
}


/* This process's peak resident memory in MiB: VmHWM, the high-water mark of its address space, which exec starts
 * afresh. (getrusage's ru_maxrss is not: it survives exec, so a voxtile started by a large process, a Python
 * benchmark holding torch say, would report its parent's peak.) ru_maxrss where /proc is not there. */
static double peak_memory_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb >= 0)
        return (double)kb / 1024.0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static int print_json(const report *r, const uint64_t *counts, int n)
{
    const double peak_mib = peak_memory_mib();
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "input", r->in);
    cJSON_AddStringToObject(j, "output", r->a->out);
    vxt_image_info ii = {.struct_size = sizeof ii};
    vxt_image_get_info(r->img, &ii);
    if (ii.format == VXT_FORMAT_DICOM) { /* the series read: its description, grid and orientation, what was tolerated */
        cJSON *sj = cJSON_AddObjectToObject(j, "series");
        cJSON_AddStringToObject(sj, "description", ii.description);
        cJSON_AddItemToObject(sj, "spacing", cJSON_CreateDoubleArray(ii.spacing, 3));
        cJSON_AddStringToObject(sj, "orientation", ii.orientation);
        cJSON_AddStringToObject(sj, "notes", ii.notes);
    }
    if (r->a->probabilities)
        cJSON_AddStringToObject(j, "probabilities", r->a->probabilities);
    cJSON_AddStringToObject(j, "backend", vxt_backend_name(r->ci.backend));
    cJSON_AddStringToObject(j, "device", r->ci.device_name);
    cJSON_AddStringToObject(j, "plan", r->origin);
    cJSON *ms = cJSON_AddArrayToObject(j, "models");
    for (int m = 0; vxt_pipeline_runner(r->pipe, m); m++) {
        vxt_runner_info ri = {.struct_size = sizeof ri};
        vxt_runner_get_info(vxt_pipeline_runner(r->pipe, m), &ri);
        cJSON_AddItemToArray(ms, cJSON_CreateString(ri.name));
    }
    const double grid[3] = {(double)r->res->model_shape[0], (double)r->res->model_shape[1],
                            (double)r->res->model_shape[2]};
    cJSON_AddItemToObject(j, "model_grid", cJSON_CreateDoubleArray(grid, 3));
    cJSON_AddNumberToObject(j, "classes", (double)r->res->classes);
    cJSON_AddNumberToObject(j, "tiles", (double)r->res->tiles);
    cJSON_AddNumberToObject(j, "tile_predictions", (double)r->res->tile_predictions);
    cJSON *lc = cJSON_AddArrayToObject(j, "label_voxels"); /* voxels per label 0, 1, ... */
    for (int l = 0; counts && l < n; l++)
        cJSON_AddItemToArray(lc, cJSON_CreateNumber((double)counts[l]));
    cJSON *stg = cJSON_AddArrayToObject(j, "stages");
    cJSON *s0 = cJSON_CreateObject();
    cJSON_AddStringToObject(s0, "stage", "read");
    cJSON_AddNumberToObject(s0, "seconds", r->t_read);
    cJSON_AddItemToArray(stg, s0);
    for (int s = 0; s < VXT_STAGE_COUNT_; s++) {
        if (!(r->res->stages & (1u << s)))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "stage", vxt_stage_name((vxt_stage)s));
        cJSON_AddNumberToObject(o, "seconds", r->res->stage_seconds[s]);
        cJSON_AddItemToArray(stg, o);
    }
    cJSON *sw = cJSON_CreateObject();
    cJSON_AddStringToObject(sw, "stage", "write");
    cJSON_AddNumberToObject(sw, "seconds", r->t_write);
    cJSON_AddItemToArray(stg, sw);
    cJSON_AddNumberToObject(j, "seconds", r->total);
    /* the stages that ran on the CPU backend instead of the device (auto only), and why */
    cJSON *fb = cJSON_AddArrayToObject(j, "cpu_fallback");
    for (int s = 0; s < VXT_STAGE_COUNT_; s++)
        if (r->res->cpu_fallback & (1u << s))
            cJSON_AddItemToArray(fb, cJSON_CreateString(vxt_stage_name((vxt_stage)s)));
    if (r->res->cpu_fallback)
        cJSON_AddStringToObject(j, "fallback_reason", r->res->fallback_reason);
    cJSON_AddNumberToObject(j, "peak_memory_mib", peak_mib);
    cJSON *mem = cJSON_AddObjectToObject(j, "memory");
    cJSON_AddNumberToObject(mem, "estimate_bytes", (double)r->est->peak_bytes);
    cJSON_AddStringToObject(mem, "estimate_peak_stage", vxt_stage_name((vxt_stage)r->est->peak_stage));
    cJSON_AddNumberToObject(mem, "held_before_bytes", (double)r->held_before);
    cJSON_AddNumberToObject(mem, "ceiling_bytes", (double)r->ceiling); /* 0: none */
    cJSON_AddStringToObject(mem, "ceiling_source", r->ceiling_source);
    return cli_print_json(j);
}

/* ---- the command ----------------------------------------------------------------------------------------- */

/* Write what the run made as one set: every file is complete on disk before any target is replaced, and a failure
 * (or a kill) before that leaves every target as it was (vxt_output_set). */
static int write_outputs(const run_args *a, vxt_context *ctx, const vxt_image *img, const vxt_run_result *res)
{
    vxt_output_set *set = NULL;
    if (vxt_output_set_create(&set) != VXT_OK) {
        cli_error("run", "%s", vxt_last_error());
        return VXT_EXIT_INTERNAL;
    }
    int rc = VXT_EXIT_OK;
    vxt_nifti_write_options wo;
    vxt_nifti_write_options_init(&wo);
    if (vxt_output_set_add_image(set, res->labels, a->out, &wo) != VXT_OK ||
        (a->probabilities && vxt_output_set_add_image(set, res->probabilities, a->probabilities, &wo) != VXT_OK)) {
        cli_error("run", "%s", vxt_last_error());
        rc = VXT_EXIT_OUTPUT;
    }
    if (!rc && a->picture)
        rc = cli_picture_labels("run", ctx, img, res->labels, a->picture, "voxtile run", set);
    if (!rc && vxt_output_set_commit(set) != VXT_OK) {
        cli_error("run", "%s", vxt_last_error());
        rc = VXT_EXIT_OUTPUT;
    }
    vxt_output_set_destroy(set);
    return rc;
}

static int check_args(const run_args *a, int npos)
{
    int rc = 0;
    if (npos != 1) {
        cli_error("run", "missing the input image");
        return VXT_EXIT_USAGE;
    }
    if (!a->out) {
        cli_error("run", "missing -o OUT");
        return VXT_EXIT_USAGE;
    }
    if ((rc = cli_check_output("run", "-o", a->out, "image")) ||
        (a->probabilities && (rc = cli_check_output("run", "--probabilities", a->probabilities, "image"))) ||
        (a->picture && (rc = cli_check_output("run", "--picture", a->picture, NULL))))
        return rc;
    const char *names[3] = {"-o", "--probabilities", "--picture"}, *paths[3] = {a->out, a->probabilities, a->picture};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (paths[i] && paths[j] && cli_same_file(paths[i], paths[j])) {
                cli_error("run", "%s and %s name the same file '%s'", names[i], names[j], paths[i]);
                return VXT_EXIT_USAGE;
            }
    return 0;
}

/* --max-memory, checked before anything else. An exit status (message printed). */
static int parse_ceiling(const run_args *a, uint64_t *ceiling)
{
    *ceiling = 0;
    if (a->max_memory && !cli_parse_size(a->max_memory, ceiling)) {
        cli_error("run", "--max-memory '%s': a size such as 8G, 512M or 1.5GiB, or none", a->max_memory);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* What the run itself may take, once the model is loaded: --max-memory less what the process holds already, or
 * what the machine can give now (which already leaves out what this process holds). */
static void run_budget(const run_args *a, report *r, char *source, size_t n)
{
    r->held_before = cli_resident_bytes();
    if (a->max_memory) {
        snprintf(source, n, "%s", r->ceiling ? "--max-memory" : "none");
        r->budget = r->ceiling == 0 ? 0 : r->ceiling > r->held_before ? r->ceiling - r->held_before : 1;
        return;
    }
    if (!cli_memory_available("", &r->ceiling, source, n)) {
        snprintf(source, n, "none: neither MemAvailable nor a cgroup limit could be read");
        r->ceiling = 0;
    }
    r->budget = r->ceiling;
}

/* Before the voxels are read: the run's estimate from the image's header against the ceiling. */
static int check_memory(const char *in, const cli_dicom *dicom, vxt_pipeline *pipe, const vxt_run_options *ro,
                        const char *source, uint64_t held, vxt_memory_estimate *est)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.flags = VXT_READ_HEADER_ONLY;
    vxt_image *hdr = NULL;
    int rc = cli_read_image_with("run", in, &o, dicom, &hdr);
    if (rc)
        return rc;
    vxt_status st = vxt_pipeline_estimate(pipe, hdr, ro, est);
    vxt_image_destroy(hdr);
    if (st == VXT_ERR_MEMORY_LIMIT) {
        char h[32];
        cli_error("run", "%s: %s (the ceiling: %s, less %s this process holds already: libraries and the model; "
                  "--max-memory sets it)", in, vxt_last_error(), source, cli_size_text(h, sizeof h, held));
        return VXT_EXIT_MEMORY;
    }
    return st == VXT_OK ? 0 : cli_run_fail("run", in, st, -1);
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    run_args *a = (run_args *)args;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, &a->plan, 1, plan);
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    vxt_plan *plan = NULL;
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, &plan);
    a.dicom.threads = (int)a.exec.threads; /* --threads: DICOM files decoded at once too */
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    vxt_image *img = NULL;
    vxt_context *ctx = NULL;
    vxt_pipeline *pipe = NULL;
    vxt_run_result res = {.struct_size = sizeof res};
    report r = {pos[0], &a, NULL, NULL, NULL, &res, {.struct_size = sizeof r.ci}, "", 0, 0, 0, NULL, 0, 0, 0, ""};
    double t0 = cli_seconds();
    vxt_status st;
    char source[2300] = "";
    vxt_memory_estimate est = {.struct_size = sizeof est};
    if ((rc = check_args(&a, npos)) || (rc = parse_ceiling(&a, &r.ceiling)))
        goto done;
    r.est = &est;
    r.ceiling_source = source;
    if ((rc = cli_context("run", &a.exec, &ctx)))
        goto done;
    char plugins[1024];
    cli_plan_plugins(plan, plugins, sizeof plugins);
    cli_report_crashes("run", plugins);
    if ((st = vxt_pipeline_create(ctx, plan, NULL, 0, &pipe)) != VXT_OK) {
        rc = cli_model_fail("run", "model", st);
        goto done;
    }
    vxt_run_options ro;
    vxt_run_options_init(&ro);
    ro.outputs = VXT_OUTPUT_LABELS | (a.probabilities ? VXT_OUTPUT_PROBABILITIES : 0u);
    run_budget(&a, &r, source, sizeof source);
    ro.max_memory = r.budget;
    if ((rc = check_memory(pos[0], &a.dicom, pipe, &ro, source, r.held_before, &est)))
        goto done;
    /* the voxels, decompressed no further than the ceiling allows */
    vxt_read_options rdo;
    vxt_read_options_init(&rdo);
    rdo.scaling = VXT_SCALING_RAW;
    rdo.max_bytes = r.budget;
    const double tr = cli_seconds();
    if ((rc = cli_read_image_with("run", pos[0], &rdo, &a.dicom, &img)))
        goto done;
    r.t_read = cli_seconds() - tr;
    bar b = {cli_seconds(), -1, isatty(2) && !a.quiet && !a.json};
    ro.progress = on_progress;
    ro.progress_user = &b;
    cli_catch_interrupts();
    if ((st = vxt_pipeline_run(pipe, img, &ro, &res)) != VXT_OK) {
        rc = cli_run_fail("run", pos[0], st, res.failed_stage);
        goto done;
    }
    if (cli_interrupted()) { /* after the last check of the run: still nothing written */
        cli_error("run", "interrupted");
        rc = VXT_EXIT_CANCELLED;
        goto done;
    }
    double tw = cli_seconds();
    if ((rc = write_outputs(&a, ctx, img, &res)))
        goto done;
    r.t_write = cli_seconds() - tw;
    r.total = cli_seconds() - t0;
    r.img = img;
    r.pipe = pipe;
    vxt_context_get_info(ctx, &r.ci);
    vxt_plan_info pi = {.struct_size = sizeof pi};
    vxt_plan_get_info(plan, &pi);
    snprintf(r.origin, sizeof r.origin, "%s", pi.origin);
    int n = 0;
    uint64_t *counts = label_counts(res.labels, &n);
    if (a.json)
        rc = print_json(&r, counts, n);
    else if (!a.quiet)
        print_text(&r, counts, n);
    free(counts);
done:
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(pipe);
    vxt_context_destroy(ctx);
    vxt_image_destroy(img);
    vxt_plan_destroy(plan);
    return rc;
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    (void)plan, (void)pos;
    uint64_t ceiling = 0;
    int rc = check_args((const run_args *)args, npos);
    return rc ? rc : parse_ceiling((const run_args *)args, &ceiling);
}

const cli_command cmd_run_parsing = {&spec, sizeof(run_args), parse, check};
