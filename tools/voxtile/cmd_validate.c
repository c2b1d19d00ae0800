/* cmd_validate.c - `voxtile validate IN [plan flags]`: the library's pipeline on two sides -- by default the OpenCL
 * device and the CPU backend -- with every stage's whole output shown to an observer (VXT_RUN_SHOW_OUTPUTS) and
 * compared bit for bit.
 *
 * Side a runs first; its observer keeps a copy of each stage's output. Side b runs next; its observer compares
 * each stage's output with side a's copy as soon as it exists and frees the copy, so at most one run's
 * intermediate volumes are held. --stage NAME compares that stage only and stops both runs after it. Both sides
 * also make the class values on the input's grid (as `voxtile run --probabilities`), so that they are compared
 * too. Exit status 0 when every compared stage is identical (or within a tolerance given explicitly),
 * VXT_EXIT_MISMATCH (8) otherwise. The report, the summary and the pictures: validate_report.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate.h"

enum { O_A = 1, O_B, O_BPLAN, O_STAGE, O_ULP, O_ABS, O_LABEL, O_REPORT, O_JSON, O_PICTURES, O_RUN_ONLY, O_MAX_MEMORY };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "sides (SIDE: cpu[,threads=N] | opencl[,device=INDEX|NAME][,threads=N])"},
    {"a", 0, "SIDE", O_A, "side a (default opencl: the first OpenCL device that passes the probe)"},
    {"b", 0, "SIDE", O_B, "side b (default cpu)"},
    {"b-plan", 0, "OVERLAY.json", O_BPLAN, "side b's plan: side a's with this plan file's fields laid over it"},
    {NULL, 0, NULL, 0, "what to compare"},
    {"stage", 0, "NAME", O_STAGE, "compare this stage only ({stage}) and stop both runs after it"},
    {NULL, 0, NULL, 0, "tolerances (default: none; identical bits are required)"},
    {"max-ulp", 0, "N", O_ULP, "float values at most N units in the last place apart pass"},
    {"max-abs", 0, "X", O_ABS, "float values at most X apart pass (with --max-ulp: either suffices)"},
    {"max-label-diff", 0, "N", O_LABEL, "label maps with at most N differing voxels pass"},
    {NULL, 0, NULL, 0, "outputs"},
    {"report", 0, "FILE.json", O_REPORT, "the full report as JSON"},
    {"json", 0, NULL, O_JSON, "print the report on stdout instead of the summary"},
    {"pictures", 0, "DIR", O_PICTURES, "PNG mid-slices (created if missing): input, each side's labels, differences"},
    {NULL, 0, NULL, 0, "memory"},
    {"max-memory", 0, "SIZE", O_MAX_MEMORY,
     "the most the comparison may hold (8G, 512M, ...; none). Default: what the machine can give now. Each side's "
     "run and side a's copies of every stage's output are estimated before the side runs; above the ceiling it "
     "stops (exit 10)"},
    /* voxtile run's outputs, refused with an explanation (not in the help) */
    {"output", 'o', "OUT", O_RUN_ONLY, ""},
    {"probabilities", 0, "FILE", O_RUN_ONLY, ""},
    {"picture", 0, "FILE", O_RUN_ONLY, ""},
    {"quiet", 0, NULL, O_RUN_ONLY, ""},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_plan_flags, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "validate", "validate IN [--plan PLAN.json | --nnunet DIR] [plan flags] [--a SIDE] [--b SIDE] [options]",
    "Runs voxtile run's pipeline on two sides and compares every stage's output bit for bit: differing values and\n"
    "voxels, largest absolute and ULP differences, Dice per label of the label maps, each side's timings. The plan\n"
    "comes from the same files and flags as voxtile run. --device and --threads fill in each side that does not\n"
    "name a device or threads itself. It succeeds when the sides are identical (or within the tolerances).",
    groups, 1};

typedef struct val_args {
    const char *a, *b, *b_plan, *stage, *report, *pictures;
    const char *max_ulp, *max_abs, *max_label, *max_memory;
    uint64_t ceiling; /* --max-memory; 0: none (with max_memory set) or the machine's (without) */
    int json;
    cli_exec exec;
    int device_given, threads_given;
    cli_dicom dicom;
    cli_plan_args plan;
} val_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    val_args *a = (val_args *)user;
    if (f->id == CLI_EXEC_BACKEND) {
        cli_error("validate", "--backend is a voxtile run option; validate's sides are --a and --b");
        return VXT_EXIT_USAGE;
    }
    if (f->id == O_RUN_ONLY) {
        char shorty[8] = "";
        if (f->short_name)
            snprintf(shorty, sizeof shorty, " (-%c)", f->short_name);
        cli_error("validate", "--%s%s is a voxtile run option; validate writes a report (--report, --json) and "
                  "pictures (--pictures)", f->name, shorty);
        return VXT_EXIT_USAGE;
    }
    a->device_given |= f->id == CLI_EXEC_DEVICE;
    a->threads_given |= f->id == CLI_EXEC_THREADS;
    int rc = cli_shared_flag("validate", &a->exec, &a->plan, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    const char **slot[] = {NULL, &a->a, &a->b, &a->b_plan, &a->stage, &a->max_ulp, &a->max_abs, &a->max_label,
                           &a->report, NULL, &a->pictures, NULL, &a->max_memory};
    if (f->id == O_JSON)
        a->json = 1;
    else
        *slot[f->id] = v;
    if (f->id == O_MAX_MEMORY && !cli_parse_size(v, &a->ceiling)) {
        cli_error("validate", "--max-memory '%s': a size such as 8G, 512M or 1.5GiB, or none", v);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* "cpu[,threads=N]" or "opencl[,device=INDEX|NAME][,threads=N]". */
static int parse_side(const char *flag, const char *text, val_side *sd)
{
    char buf[300];
    snprintf(sd->spec, sizeof sd->spec, "%s", text);
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    int have_threads = 0, have_device = 0;
    if (!tok || (strcasecmp(tok, "cpu") && strcasecmp(tok, "opencl"))) {
        cli_error("validate", "%s %s: expected cpu[,threads=N] or opencl[,device=INDEX|NAME][,threads=N]", flag, text);
        return VXT_EXIT_USAGE;
    }
    sd->backend = strcasecmp(tok, "cpu") ? VXT_BACKEND_OPENCL : VXT_BACKEND_CPU;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
        if (!strncmp(tok, "threads=", 8) && !have_threads) {
            if (!cli_parse_int(tok + 8, 0, 1024, &sd->threads)) {
                cli_error("validate", "%s %s: threads must be an integer in [0, 1024]", flag, text);
                return VXT_EXIT_USAGE;
            }
            have_threads = 1;
        } else if (!strncmp(tok, "device=", 7) && tok[7] && !have_device && sd->backend == VXT_BACKEND_OPENCL) {
            snprintf(sd->device, sizeof sd->device, "%s", tok + 7);
            have_device = 1;
        } else {
            cli_error("validate", "%s %s: '%s' is not a setting of a %s side (%s)", flag, text, tok,
                      sd->backend == VXT_BACKEND_CPU ? "cpu" : "opencl",
                      sd->backend == VXT_BACKEND_CPU ? "threads=N" : "device=INDEX|NAME, threads=N");
            return VXT_EXIT_USAGE;
        }
    }
    return (have_threads ? 1 : 0) | (have_device ? 2 : 0) | 0x100; /* 0x100: parsed */
}

static int parse_tolerances(const val_args *va, cmp_tolerance *tol)
{
    memset(tol, 0, sizeof *tol);
    if (va->max_ulp) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(va->max_ulp, &end, 10);
        if (!*va->max_ulp || *end || errno || va->max_ulp[0] == '-') {
            cli_error("validate", "--max-ulp: expected a non-negative integer, got '%s'", va->max_ulp);
            return VXT_EXIT_USAGE;
        }
        tol->have_ulp = 1;
        tol->max_ulp = v;
    }
    if (va->max_abs) {
        if (!cli_parse_double(va->max_abs, &tol->max_abs) || tol->max_abs < 0) {
            cli_error("validate", "--max-abs: expected a number >= 0, got '%s'", va->max_abs);
            return VXT_EXIT_USAGE;
        }
        tol->have_abs = 1;
    }
    if (va->max_label) {
        long v;
        if (!cli_parse_int(va->max_label, 0, 0x7fffffffL, &v)) {
            cli_error("validate", "--max-label-diff: expected a number of voxels >= 0, got '%s'", va->max_label);
            return VXT_EXIT_USAGE;
        }
        tol->max_label_voxels = (uint64_t)v;
    }
    return 0;
}

/* --pictures DIR: an existing writable directory, or one we can create (*created = 1 then). */
static int prepare_pictures(const char *dir, int *created)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            cli_error("validate", "--pictures %s: not a directory", dir);
            return VXT_EXIT_OUTPUT;
        }
        if (access(dir, W_OK) != 0) {
            cli_error("validate", "--pictures %s: directory is not writable", dir);
            return VXT_EXIT_OUTPUT;
        }
        return 0;
    }
    if (mkdir(dir, 0777) != 0) {
        cli_error("validate", "--pictures %s: cannot create the directory: %s", dir, strerror(errno));
        return VXT_EXIT_OUTPUT;
    }
    *created = 1;
    return 0;
}

/* ---- sides ---------------------------------------------------------------------------------------------- */

static int make_context(val_side *sd, const char *name)
{
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = sd->backend;
    if (sd->device[0]) {
        long idx;
        if (cli_parse_int(sd->device, 0, 1000, &idx))
            o.device_index = (int)idx;
        else
            o.device_name = sd->device;
    }
    o.cpu_threads = (int)sd->threads;
    o.device_max_alloc = sd->max_buffer;
    double t0 = cli_seconds();
    vxt_status st = vxt_context_create(&o, &sd->ctx);
    sd->setup_seconds = cli_seconds() - t0;
    if (st == VXT_ERR_NO_PLATFORM) {
        cli_error("validate",
                  "side %s (%s): no OpenCL platform on this machine: only the CPU backend is available; to compare "
                  "two CPU configurations, give e.g. --a cpu,threads=1 --b cpu",
                  name, sd->spec);
        return VXT_EXIT_DEVICE;
    }
    if (st != VXT_OK) {
        char what[400];
        snprintf(what, sizeof what, "side %s (%s)", name, sd->spec);
        int rc = cli_fail("validate", what, st);
        /* a device that is not there (an index out of range) is no usable device, as in every command */
        return st == VXT_ERR_INVALID_ARGUMENT ? VXT_EXIT_DEVICE : rc;
    }
    sd->info.struct_size = sizeof sd->info;
    vxt_context_get_info(sd->ctx, &sd->info);
    return 0;
}

/* ---- the observer --------------------------------------------------------------------------------------- */

static val_stage *stage_named(val_state *s, const char *name)
{
    for (int i = 0; i < s->nstages; i++)
        if (!strcmp(s->stage[i].name, name))
            return &s->stage[i];
    if (s->nstages == VAL_MAX_STAGES)
        return NULL;
    val_stage *st = &s->stage[s->nstages++];
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", name);
    return st;
}

static int fail(val_state *s, int rc, const char *stage, const char *msg)
{
    snprintf(s->err, sizeof s->err, "%s: %s", stage, msg);
    s->failed = 1;
    s->rc = rc;
    return 1;
}

static void compare_stage(val_state *s, val_stage *st, const vxt_volume *b)
{
    vxt_volume *a = &st->copy;
    if (a->dtype != b->dtype || a->channels != b->channels || memcmp(a->shape, b->shape, sizeof a->shape) != 0) {
        st->layout_differs = 1;
        snprintf(st->why, sizeof st->why, "a is %lld x %lldx%lldx%lld (z,y,x) %s, b is %lld x %lldx%lldx%lld %s",
                 (long long)a->channels, (long long)a->shape[0], (long long)a->shape[1], (long long)a->shape[2],
                 vxt_dtype_name(a->dtype), (long long)b->channels, (long long)b->shape[0], (long long)b->shape[1],
                 (long long)b->shape[2], vxt_dtype_name(b->dtype));
        return;
    }
    size_t vox = (size_t)(a->shape[0] * a->shape[1] * a->shape[2]);
    unsigned char *mask = NULL;
    if (s->pictures && !(mask = calloc(vox, 1))) {
        fail(s, VXT_EXIT_INTERNAL, st->name, "out of memory for the difference map");
        return;
    }
    char why[256];
    if (cmp_volumes(a, b, &s->tol, mask, &st->r, why, sizeof why) != 0) {
        free(mask);
        fail(s, VXT_EXIT_INTERNAL, st->name, why);
        return;
    }
    st->compared = 1;
    if ((a->dtype == VXT_DTYPE_U8 || a->dtype == VXT_DTYPE_U16) && a->channels == 1) {
        if (cmp_label_maps(a, b, &st->labels, why, sizeof why) != 0) {
            free(mask);
            fail(s, VXT_EXIT_INTERNAL, st->name, why);
            return;
        }
        st->have_labels = 1;
    }
    if (mask && st->r.differing_voxels) {
        if (s->diff_in && memcmp(a->shape, s->in_shape, sizeof a->shape) == 0)
            for (size_t v = 0; v < vox; v++)
                s->diff_in[v] |= mask[v];
        int rc = val_stage_picture(s, st, a, mask);
        if (rc) {
            s->failed = 1;
            s->rc = rc;
        }
    }
    free(mask);
}

static int observe(void *user, const vxt_stage_report *rep)
{
    val_state *s = (val_state *)user;
    val_side *sd = &s->side[s->current];
    const char *name = vxt_stage_name(rep->stage);
    const vxt_volume *out = rep->output;
    const double seconds = rep->seconds;
    sd->seconds += seconds;
    if (!out)
        return 0; /* a stage without a whole output (none is made without VXT_RUN_SHOW_OUTPUTS) */
    val_stage *st = stage_named(s, name);
    if (!st)
        return fail(s, VXT_EXIT_INTERNAL, name, "too many stages");
    const int wanted = !s->only_stage || !strcmp(s->only_stage, name);
    if (s->current == 0) {
        st->in_a = 1;
        st->a_seconds = seconds;
        st->dtype = out->dtype;
        st->channels = out->channels;
        memcpy(st->shape, out->shape, sizeof st->shape);
        if (wanted) {
            size_t bytes = 0;
            if (vxt_volume_bytes(out, &bytes) != VXT_OK || !(st->copy.data = malloc(bytes)))
                return fail(s, VXT_EXIT_INTERNAL, name, "out of memory for side a's copy of the stage's output");
            memcpy(st->copy.data, out->data, bytes);
            st->copy.dtype = out->dtype;
            st->copy.channels = out->channels;
            memcpy(st->copy.shape, out->shape, sizeof st->copy.shape);
        }
    } else {
        st->in_b = 1;
        st->b_seconds = seconds;
        if (!st->in_a) {
            st->dtype = out->dtype;
            st->channels = out->channels;
            memcpy(st->shape, out->shape, sizeof st->shape);
        }
        if (st->copy.data) {
            compare_stage(s, st, out);
            free(st->copy.data);
            st->copy.data = NULL;
        }
    }
    if (s->failed)
        return 1;
    if (s->only_stage && wanted && rep->stage < VXT_STAGE_LABELS) {
        s->stopped = 1; /* nothing after this stage is compared: stop the run (the last stages give the pictures) */
        return 1;
    }
    return 0;
}


/* Ctrl-C: the side's run stops at its next batch or stage (exit VXT_EXIT_CANCELLED). */
static int interrupted(void *user, vxt_stage stage, uint64_t done, uint64_t total)
{
    (void)user, (void)stage, (void)done, (void)total;
    return cli_interrupted();
}

/* Before a side runs: its run (every stage's output whole) and, for side a, its copies of them, against the ceiling:
 * --max-memory less what the process holds (the image, side a's copies, the libraries), or what the machine can give
 * now. An exit status (10, message printed). */
static int check_memory(const val_state *s, int which, vxt_pipeline *pipe, const vxt_image *img,
                        const vxt_run_options *ro)
{
    vxt_memory_estimate e = {.struct_size = sizeof e};
    if (vxt_pipeline_estimate(pipe, img, ro, &e) != VXT_OK)
        return 0; /* the run itself reports what is wrong */
    uint64_t budget = 0;
    char source[2300] = "--max-memory";
    if (s->max_memory_given) {
        if (s->ceiling == 0)
            return 0;
        const uint64_t held = cli_resident_bytes();
        budget = s->ceiling > held ? s->ceiling - held : 0;
    } else if (!cli_memory_available("", &budget, source, sizeof source)) {
        return 0;
    }
    const uint64_t run = e.peak_bytes - e.input_bytes, copies = which == 0 ? e.shown_bytes : 0;
    if (run + copies <= budget)
        return 0;
    char a[32], b[32], c[32];
    cli_error("validate", "side %s needs an estimated %s (its run %s with every stage's output whole%s%s), more than "
              "the %s this process may still take (%s); --stage STAGE compares one stage and stops there, a smaller "
              "ROI or batch size lowers it", which ? "b" : "a", cli_size_text(a, sizeof a, run + copies),
              cli_size_text(b, sizeof b, run), copies ? ", side a's copies of them " : "",
              copies ? cli_size_text(c, sizeof c, copies) : "", cli_size_text((char[32]){0}, 32, budget), source);
    return VXT_EXIT_MEMORY;
}

static int run_side(val_state *s, int which, const vxt_plan *plan, const vxt_image *img)
{
    static const char *names[2] = {"a", "b"};
    val_side *sd = &s->side[which];
    vxt_pipeline *pipe = NULL;
    vxt_status st = vxt_pipeline_create(sd->ctx, plan, NULL, 0, &pipe);
    if (st != VXT_OK) {
        char what[64];
        snprintf(what, sizeof what, "side %s: model", names[which]);
        return cli_model_fail("validate", what, st);
    }
    s->current = which;
    s->stopped = 0;
    vxt_run_options ro;
    vxt_run_options_init(&ro);
    ro.outputs = VXT_OUTPUT_LABELS | VXT_OUTPUT_PROBABILITIES;
    ro.observer = observe;
    ro.observer_user = s;
    ro.progress = interrupted;
    ro.flags = VXT_RUN_SHOW_OUTPUTS;
    int rc = check_memory(s, which, pipe, img, &ro);
    if (rc) {
        vxt_pipeline_destroy(pipe);
        return rc;
    }
    sd->res.struct_size = sizeof sd->res;
    st = vxt_pipeline_run(pipe, img, &ro, &sd->res);
    if (st == VXT_OK) {
        sd->have_res = 1;
        vxt_image_destroy(sd->res.probabilities); /* compared stage by stage already; only the labels are drawn */
        sd->res.probabilities = NULL;
    } else if (s->failed) {
        cli_error("validate", "side %s: %s", names[which], s->err);
        rc = s->rc;
    } else if (!s->stopped) {
        char what[400];
        snprintf(what, sizeof what, "side %s (%s)", names[which], sd->spec);
        rc = cli_run_fail("validate", what, st, sd->res.failed_stage);
    }
    vxt_pipeline_destroy(pipe);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------------------------- */

static void free_state(val_state *s)
{
    for (int i = 0; i < s->nstages; i++) {
        free(s->stage[i].copy.data);
        cmp_labels_free(&s->stage[i].labels);
    }
    for (int k = 0; k < 2; k++) {
        vxt_run_result_clear(&s->side[k].res);
        vxt_context_destroy(s->side[k].ctx);
    }
    free(s->diff_in);
}

/* validate's own options, before the plan is looked at: tolerances, sides, --stage. */
static int own_options(const val_args *va, val_state *s)
{
    const char *specs[2] = {va->a ? va->a : "opencl", va->b ? va->b : "cpu"};
    int rc = parse_tolerances(va, &s->tol);
    for (int k = 0; k < 2 && !rc; k++) {
        int got = parse_side(k ? "--b" : "--a", specs[k], &s->side[k]);
        if (!(got & 0x100))
            return got;
        if (!(got & 1)) /* --device and --threads fill in what a side does not name */
            s->side[k].threads = va->exec.threads;
        if (!(got & 2) && va->exec.device && s->side[k].backend == VXT_BACKEND_OPENCL)
            snprintf(s->side[k].device, sizeof s->side[k].device, "%s", va->exec.device);
        s->side[k].max_buffer = va->exec.max_buffer;
    }
    vxt_stage stage;
    if (!rc && va->stage && vxt_stage_parse(va->stage, &stage) != VXT_OK) {
        cli_error("validate", "--stage: %s", vxt_last_error());
        rc = VXT_EXIT_USAGE;
    }
    s->only_stage = va->stage;
    s->max_memory_given = va->max_memory != NULL;
    s->ceiling = va->ceiling;
    return rc;
}

/* The two plans (side b's with --b-plan laid over side a's), and --print-plan. */
static int plans(const val_args *va, vxt_plan **a, vxt_plan **b)
{
    int rc = cli_plan_build("validate", &va->plan, !va->plan.print_plan, a);
    if (rc)
        return rc;
    vxt_status st = vxt_plan_clone(*a, b);
    if (st == VXT_OK && va->b_plan && (st = vxt_plan_load_file(*b, va->b_plan)) == VXT_OK && !va->plan.print_plan)
        st = vxt_plan_check(*b);
    if (st != VXT_OK)
        return cli_fail("validate", "--b-plan", st);
    if (va->plan.print_plan) {
        printf("{\n\"a\": ");
        rc = cli_plan_print("validate", *a);
        if (!rc && va->b_plan) {
            printf(",\n\"b\": ");
            rc = cli_plan_print("validate", *b);
        }
        printf("}\n");
        return rc ? rc : -1;
    }
    return 0;
}

/* What validate checks before it writes or loads anything: its own options, the two plans (--print-plan prints
 * them: -1), the input named, the report's directory. */
static int prepare(const val_args *va, val_state *s, int npos, vxt_plan **pa, vxt_plan **pb)
{
    int rc;
    if ((rc = own_options(va, s)) || (rc = plans(va, pa, pb)))
        return rc;
    if (npos != 1) {
        cli_error("validate", "missing the input image");
        return VXT_EXIT_USAGE;
    }
    return va->report ? cli_check_output("validate", "--report", va->report, NULL) : 0;
}

/* Report, summary, verdict; files written are recorded in s->written. */
static int finish(val_state *s, const val_args *va, const char *in, const vxt_image *img, const vxt_plan *pa,
                  const vxt_plan *pb)
{
    char *ta = NULL, *tb = NULL, err[1024];
    vxt_plan_to_json(pa, &ta);
    if (va->b_plan)
        vxt_plan_to_json(pb, &tb);
    cJSON *report = val_report(s, in, img, ta, tb, va->report);
    vxt_buffer_free(ta);
    vxt_buffer_free(tb);
    char *text = report ? cJSON_Print(report) : NULL;
    cJSON_Delete(report);
    if (!text) {
        cli_error("validate", "out of memory for the report");
        return VXT_EXIT_INTERNAL;
    }
    int rc = 0;
    if (va->report && (rc = val_write_text(s->set, va->report, text, err, sizeof err)) != 0)
        cli_error("validate", "--report %s: %s", va->report, err);
    else if (va->report)
        snprintf(s->written[s->nwritten++], sizeof s->written[0], "%s", va->report);
    if (!rc && va->json)
        printf("%s\n", text);
    else if (!rc)
        val_print_summary(stdout, s, in, img);
    cJSON_free(text);
    return rc ? rc : val_verdict(s) == 2 ? VXT_EXIT_MISMATCH : VXT_EXIT_OK;
}

/* A --stage this plan has no such stage for is a plan error, not a silent pass. */
static int check_stage_seen(const val_state *s)
{
    for (int i = 0; i < s->nstages; i++)
        if (!strcmp(s->stage[i].name, s->only_stage) && (s->stage[i].in_a || s->stage[i].in_b))
            return 0;
    char list[256] = "";
    for (int i = 0; i < s->nstages; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", s->stage[i].name);
    cli_error("validate", "--stage %s: this plan has no such stage on this input (its stages: %s)", s->only_stage,
              list);
    return VXT_EXIT_PLAN;
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    val_args *va = (val_args *)args;
    (void)plan; /* the plans (side b's too) are made by plans() */
    cli_plan_args_init(&va->plan);
    return cli_start(&spec, argc, argv, on_flag, va, pos, npos, &va->exec, NULL, 0, NULL);
}

int cmd_validate(int argc, char **argv)
{
    val_args va;
    memset(&va, 0, sizeof va);
    const char *pos[1];
    cli_catch_interrupts();
    int npos = 0, created = 0, rc = parse(&va, argc, argv, pos, &npos, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    val_state *s = calloc(1, sizeof *s);
    vxt_plan *pa = NULL, *pb = NULL;
    vxt_image *img = NULL;
    if (!s) {
        cli_error("validate", "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    if ((rc = prepare(&va, s, npos, &pa, &pb)))
        goto done;
    {
        char plugins[1024], pbs[1024];
        cli_plan_plugins(pa, plugins, sizeof plugins);
        cli_plan_plugins(pb, pbs, sizeof pbs);
        if (pbs[0] && strcmp(pbs, plugins) != 0 && strlen(plugins) + strlen(pbs) + 3 < sizeof plugins) {
            if (plugins[0])
                strcat(plugins, ", ");
            strcat(plugins, pbs);
        }
        cli_report_crashes("validate", plugins);
    }
    va.dicom.threads = (int)va.exec.threads; /* --threads: DICOM files decoded at once too */
    if ((va.pictures && (rc = prepare_pictures(va.pictures, &created))) ||
        (rc = cli_read_image("validate", pos[0], VXT_SCALING_RAW, &va.dicom, &img)))
        goto done;
    s->pictures = va.pictures;
    if (vxt_output_set_create(&s->set) != VXT_OK) {
        cli_error("validate", "%s", vxt_last_error());
        rc = VXT_EXIT_MEMORY;
        goto done;
    }
    vxt_volume raw;
    vxt_image_info ii = {.struct_size = sizeof ii};
    vxt_image_volume(img, &raw);
    vxt_image_get_info(img, &ii);
    memcpy(s->in_shape, raw.shape, sizeof s->in_shape);
    memcpy(s->in_spacing, ii.spacing, sizeof s->in_spacing);
    if (s->pictures && !(s->diff_in = calloc((size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]), 1))) {
        cli_error("validate", "out of memory for the difference map");
        rc = VXT_EXIT_INTERNAL;
        goto done;
    }
    if ((rc = make_context(&s->side[0], "a")) || (rc = make_context(&s->side[1], "b")) ||
        (rc = run_side(s, 0, pa, img)) || (rc = run_side(s, 1, pb, img)) ||
        (s->only_stage && (rc = check_stage_seen(s))))
        goto done;
    if (s->pictures && (rc = val_final_pictures(s, s->side[1].ctx, img))) {
        cli_error("validate", "--pictures: %s", s->err);
        goto done;
    }
    rc = finish(s, &va, pos[0], img, pa, pb);
done:
    /* the report and the pictures appear together, and only for a finished comparison; otherwise the files that
     * were there stay as they were (the set's temporaries go) */
    if ((rc == VXT_EXIT_OK || rc == VXT_EXIT_MISMATCH) && s->set && vxt_output_set_commit(s->set) != VXT_OK) {
        cli_error("validate", "%s", vxt_last_error());
        rc = VXT_EXIT_OUTPUT;
    }
    vxt_output_set_destroy(s->set);
    if (created && rc != VXT_EXIT_OK && rc != VXT_EXIT_MISMATCH)
        rmdir(va.pictures);
    free_state(s);
    free(s);
    vxt_image_destroy(img);
    vxt_plan_destroy(pa);
    vxt_plan_destroy(pb);
    return rc == -1 ? VXT_EXIT_OK : rc;
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    (void)plan, (void)pos;
    val_state *s = calloc(1, sizeof *s);
    vxt_plan *pa = NULL, *pb = NULL;
    if (!s) {
        cli_error("validate", "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    int rc = prepare((const val_args *)args, s, npos, &pa, &pb);
    free_state(s);
    free(s);
    vxt_plan_destroy(pa);
    vxt_plan_destroy(pb);
    return rc;
}

const cli_command cmd_validate_parsing = {&spec, sizeof(val_args), parse, check};
