/* cmd_validate.c - `voxtile validate IN [plan flags]`: run the pipeline of `voxtile run` on two sides -- by
 * default the OpenCL device and the CPU backend -- and compare every stage's output bit for bit.
 *
 * Side a runs first; its observer keeps a copy of each stage's output. Side b runs next; its observer compares
 * each stage's output with side a's copy as soon as it exists and frees the copy, so at most one run's
 * intermediate volumes are held. --stage NAME stops both runs after that stage and compares only it. Both sides
 * also compute the per-class values on the input's grid (as `voxtile run --probabilities`), so that they are
 * compared too. Exit status 0 when every compared stage is identical (or within a tolerance given explicitly),
 * VXT_EXIT_MISMATCH (8) otherwise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_image.h"
#include "run_plan.h"
#include "validate.h"

static void help(void)
{
    printf("usage: voxtile validate IN.nii[.gz] [--plan PLAN.json | --nnunet DIR --configuration NAME] [plan flags]\n"
           "                        [--a SIDE] [--b SIDE] [--b-plan OVERLAY.json] [--stage NAME] [tolerances]\n"
           "                        [--report FILE.json] [--json] [--pictures DIR]\n"
           "Run voxtile run's pipeline on two sides and compare every stage's output bit for bit: differing values\n"
           "and voxels, largest absolute and ULP differences, Dice per label of the label maps, each side's\n"
           "timings. The plan comes from the same files and flags as voxtile run (voxtile run --help); both sides\n"
           "also compute the per-class values on the input's grid, which are compared too.\n"
           "sides:\n"
           "  --a SIDE                 default opencl (the first OpenCL device that passes the probe)\n"
           "  --b SIDE                 default cpu\n"
           "                           SIDE: cpu[,threads=N] | opencl[,device=INDEX|NAME][,threads=N]\n"
           "  --device INDEX|NAME      the OpenCL device of a side that names none\n"
           "  --threads N              the threads of a side that names none (0: all cores)\n"
           "  --b-plan OVERLAY.json    side b's plan: side a's with the fields of this plan file replaced (e.g.\n"
           "                           {\"accumulate\": \"float16\"}), to measure what a setting changes\n"
           "what to compare:\n"
           "  --stage NAME             run both sides up to this stage only and compare it: rescale, resample,\n"
           "                           normalize, sliding_window, resample_back, labels\n"
           "tolerances (default: none; identical bits are required):\n"
           "  --max-ulp N              float values at most N units in the last place apart pass\n"
           "  --max-abs X              float values at most X apart pass (with --max-ulp: either suffices)\n"
           "  --max-label-diff N       label maps with at most N differing voxels pass\n"
           "outputs:\n"
           "  --report FILE.json       the full report as JSON\n"
           "  --json                   print the report on stdout instead of the summary\n"
           "  --pictures DIR           PNG mid-slices (created if missing): input.png, a_labels.png, b_labels.png,\n"
           "                           difference.png (differing voxels of the input's grid in red), and\n"
           "                           diff_<stage>.png for each stage that differs\n"
           "  --print-plan             print the resolved plan (both, with --b-plan) and exit\n"
           "Exit status: 0 identical (or within the tolerances), 8 mismatch; 2 usage, 3 a side's backend is not\n"
           "available, 4 bad input, 5 an output cannot be written, 6 plan, 7 plugin.\n");
}

/* ---- options ------------------------------------------------------------------------------------------ */

typedef struct val_args {
    const char *a, *b, *b_plan, *stage, *report, *pictures;
    const char *max_ulp, *max_abs, *max_label;
} val_args;

static const char *const stage_names[] = {"rescale", "resample", "normalize", "sliding_window", "resample_back",
                                          "labels", NULL};

/* Take validate's own options out of argv (into va) and leave the others, for cli_run_options. Returns 0, -1
 * after --help, or an exit code. */
static int split_args(int argc, char **argv, val_args *va, int *fargc, char **fargv)
{
    static const struct {
        const char *name;
        size_t off;
    } own[] = {{"a", offsetof(val_args, a)},
               {"b", offsetof(val_args, b)},
               {"b-plan", offsetof(val_args, b_plan)},
               {"stage", offsetof(val_args, stage)},
               {"report", offsetof(val_args, report)},
               {"pictures", offsetof(val_args, pictures)},
               {"max-ulp", offsetof(val_args, max_ulp)},
               {"max-abs", offsetof(val_args, max_abs)},
               {"max-label-diff", offsetof(val_args, max_label)}};
    int n = 0;
    fargv[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--")) {
            while (i < argc)
                fargv[n++] = argv[i++];
            break;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            help();
            return -1;
        }
        static const char *const run_only[] = {"-o", "--output", "--probabilities", "--picture", "--backend"};
        for (size_t k = 0; k < sizeof run_only / sizeof run_only[0]; k++) {
            size_t len = strlen(run_only[k]);
            if (!strncmp(arg, run_only[k], len) && (arg[len] == '\0' || arg[len] == '=' || k == 0)) {
                cli_error("validate", "%s is a voxtile run option; validate writes --report and --pictures, and "
                          "its sides are --a and --b", run_only[k]);
                return VXT_EXIT_USAGE;
            }
        }
        int taken = 0;
        if (arg[0] == '-' && arg[1] == '-')
            for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
                size_t len = strlen(own[k].name);
                if (strncmp(arg + 2, own[k].name, len) != 0 || (arg[2 + len] != '\0' && arg[2 + len] != '='))
                    continue;
                const char *value = arg[2 + len] == '=' ? arg + 3 + len : NULL;
                if (!value && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                    value = argv[++i];
                if (!value) {
                    cli_error("validate", "%s needs a value (see voxtile validate --help)", arg);
                    return VXT_EXIT_USAGE;
                }
                *(const char **)((char *)va + own[k].off) = value;
                taken = 1;
                break;
            }
        if (!taken)
            fargv[n++] = argv[i];
    }
    fargv[n] = NULL;
    *fargc = n;
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
    double t0 = cli_seconds();
    vxt_status st = vxt_context_create(&o, &sd->ctx);
    sd->setup_seconds = cli_seconds() - t0;
    if (st == VXT_ERR_NO_PLATFORM) {
        cli_error("validate",
                  "side %s (%s): no OpenCL platform on this machine: only the CPU backend is available; to compare "
                  "two CPU configurations, give e.g. --a cpu,threads=1 --b cpu",
                  name, sd->spec);
        return VXT_EXIT_NO_BACKEND;
    }
    if (st != VXT_OK) {
        char what[400];
        snprintf(what, sizeof what, "side %s (%s)", name, sd->spec);
        return cli_fail_status("validate", what, st);
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
        fail(s, VXT_EXIT_FAILURE, st->name, "out of memory for the difference map");
        return;
    }
    char why[256];
    if (cmp_volumes(a, b, &s->tol, mask, &st->r, why, sizeof why) != 0) {
        free(mask);
        fail(s, VXT_EXIT_FAILURE, st->name, why);
        return;
    }
    st->compared = 1;
    if ((a->dtype == VXT_DTYPE_U8 || a->dtype == VXT_DTYPE_U16) && a->channels == 1) {
        if (cmp_label_maps(a, b, &st->labels, why, sizeof why) != 0) {
            free(mask);
            fail(s, VXT_EXIT_FAILURE, st->name, why);
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

static int observe(void *user, const char *name, const vxt_volume *out, double seconds)
{
    val_state *s = (val_state *)user;
    val_side *sd = &s->side[s->current];
    sd->seconds += seconds;
    val_stage *st = stage_named(s, name);
    if (!st)
        return fail(s, VXT_EXIT_FAILURE, name, "too many stages");
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
                return fail(s, VXT_EXIT_FAILURE, name, "out of memory for side a's copy of the stage's output");
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
    if (s->only_stage && wanted && strcmp(name, "labels") != 0) {
        s->stopped = 1; /* nothing after this stage is compared: do not compute it */
        return 1;
    }
    return 0;
}

static int run_side(val_state *s, int which, const run_plan *plan, const vxt_image *img)
{
    static const char *names[2] = {"a", "b"};
    val_side *sd = &s->side[which];
    vxt_volume raw;
    vxt_image_volume(img, &raw);
    cli_model models[RUN_MAX_MEMBERS];
    memset(models, 0, sizeof models);
    int rc = cli_open_models("validate", plan, raw.channels, models);
    if (rc)
        return rc;
    s->current = which;
    s->stopped = 0;
    pipeline_args pa = {sd->ctx, plan, models, img, 1, observe, NULL, s};
    char err[2048];
    rc = pipeline_run(&pa, &sd->res, err, sizeof err);
    if (rc == 0) {
        sd->have_res = 1;
        vxt_image_destroy(sd->res.probabilities); /* compared stage by stage already; only the labels are drawn */
        sd->res.probabilities = NULL;
    } else if (s->failed) {
        cli_error("validate", "side %s: %s", names[which], s->err);
        rc = s->rc;
    } else if (s->stopped) {
        rc = 0;
    } else {
        cli_error("validate", "side %s (%s): %s", names[which], sd->spec, err);
    }
    for (int m = 0; m < plan->members; m++)
        cli_model_close(&models[m]);
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
        if (s->side[k].have_res)
            pipeline_result_free(&s->side[k].res);
        vxt_context_destroy(s->side[k].ctx);
    }
    free(s->diff_in);
}

int cmd_validate(int argc, char **argv)
{
    val_args va;
    memset(&va, 0, sizeof va);
    char **fargv = calloc((size_t)argc + 1, sizeof *fargv);
    if (!fargv) {
        cli_error("validate", "out of memory");
        return VXT_EXIT_FAILURE;
    }
    int fargc = 0;
    int rc = split_args(argc, argv, &va, &fargc, fargv);
    if (rc) {
        free(fargv);
        return rc < 0 ? VXT_EXIT_OK : rc;
    }
    /* validate's own options first: a usage error is reported before the plan is looked at */
    cmp_tolerance tol;
    val_side sides[2];
    int side_got[2];
    memset(sides, 0, sizeof sides);
    const char *specs[2] = {va.a ? va.a : "opencl", va.b ? va.b : "cpu"};
    rc = parse_tolerances(&va, &tol);
    for (int k = 0; k < 2 && !rc; k++)
        if (!((side_got[k] = parse_side(k ? "--b" : "--a", specs[k], &sides[k])) & 0x100))
            rc = side_got[k];
    if (!rc && va.stage) {
        int known = 0;
        for (int i = 0; stage_names[i]; i++)
            known |= !strcmp(stage_names[i], va.stage);
        if (!known) {
            cli_error("validate", "--stage: unknown stage '%s' (expected one of: rescale, resample, normalize, "
                      "sliding_window, resample_back, labels)", va.stage);
            rc = VXT_EXIT_USAGE;
        }
    }
    if (rc) {
        free(fargv);
        return rc;
    }
    run_plan plan, plan_b;
    run_plan_defaults(&plan);
    cli_run_args ra;
    memset(&ra, 0, sizeof ra);
    rc = cli_run_options("validate", fargc, fargv, &plan, &ra);
    const int first_arg = ra.first_arg;
    char *input_arg = rc == 0 && first_arg < fargc ? fargv[first_arg] : NULL;
    const int npos = rc == 0 ? fargc - first_arg : 0;
    const char *extra = npos > 1 ? fargv[first_arg + 1] : NULL;
    free(fargv);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    plan_b = plan;
    char err[1024];
    if (va.b_plan) {
        if ((rc = run_plan_load(&plan_b, va.b_plan, err, sizeof err)) != 0 ||
            (rc = run_plan_check(&plan_b, err, sizeof err)) != 0) {
            cli_error("validate", "--b-plan: %s", err);
            return rc;
        }
    }
    char *plan_a_text = run_plan_to_json(&plan), *plan_b_text = va.b_plan ? run_plan_to_json(&plan_b) : NULL;
    if (ra.print_plan) {
        if (plan_b_text)
            printf("{\n\"a\": %s,\n\"b\": %s\n}\n", plan_a_text, plan_b_text);
        else
            printf("%s\n", plan_a_text);
        free(plan_a_text);
        free(plan_b_text);
        return VXT_EXIT_OK;
    }
    val_state *s = calloc(1, sizeof *s);
    vxt_image *img = NULL;
    int created_dir = 0;
    if (!s) {
        cli_error("validate", "out of memory");
        rc = VXT_EXIT_FAILURE;
        goto done;
    }
    if (npos != 1) {
        cli_error("validate", npos == 0 ? "missing the input image" : "unexpected argument '%s'", extra);
        rc = VXT_EXIT_USAGE;
        goto done;
    }
    s->tol = tol;
    s->only_stage = va.stage;
    /* the sides: --device and --threads fill in what a side does not name */
    for (int k = 0; k < 2; k++) {
        s->side[k] = sides[k];
        if (!(side_got[k] & 1))
            s->side[k].threads = ra.threads;
        if (!(side_got[k] & 2) && ra.device && s->side[k].backend == VXT_BACKEND_OPENCL)
            snprintf(s->side[k].device, sizeof s->side[k].device, "%s", ra.device);
    }
    if (va.report && (rc = cli_check_output("validate", "--report", va.report, NULL)))
        goto done;
    if (va.pictures && (rc = prepare_pictures(va.pictures, &created_dir)))
        goto done;
    s->pictures = va.pictures;
    const char *in_path = input_arg;
    if ((rc = cli_read_input("validate", in_path, &img)))
        goto done;
    vxt_volume raw;
    vxt_geometry g;
    vxt_geometry_init(&g);
    vxt_image_volume(img, &raw);
    vxt_image_get_geometry(img, &g);
    memcpy(s->in_shape, raw.shape, sizeof s->in_shape);
    memcpy(s->in_spacing, g.spacing, sizeof s->in_spacing);
    if (s->pictures && !(s->diff_in = calloc((size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]), 1))) {
        cli_error("validate", "out of memory for the difference map");
        rc = VXT_EXIT_FAILURE;
        goto done;
    }
    if ((rc = make_context(&s->side[0], "a")) || (rc = make_context(&s->side[1], "b")))
        goto done;
    if ((rc = run_side(s, 0, &plan, img)) || (rc = run_side(s, 1, &plan_b, img)))
        goto done;
    if (s->only_stage) {
        int seen = 0;
        for (int i = 0; i < s->nstages; i++)
            seen |= !strcmp(s->stage[i].name, s->only_stage) && (s->stage[i].in_a || s->stage[i].in_b);
        if (!seen) {
            char list[256] = "";
            for (int i = 0; i < s->nstages; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", s->stage[i].name);
            cli_error("validate", "--stage %s: this plan has no such stage on this input (its stages: %s)",
                      s->only_stage, list);
            rc = VXT_EXIT_PLAN;
            goto done;
        }
    }
    if (s->pictures && (rc = val_final_pictures(s, s->side[1].ctx, img))) {
        cli_error("validate", "--pictures: %s", s->err);
        goto done;
    }
    cJSON *report = val_report(s, in_path, img, plan_a_text, plan_b_text, va.report);
    char *text = report ? cJSON_Print(report) : NULL;
    cJSON_Delete(report);
    if (!text) {
        cli_error("validate", "out of memory for the report");
        rc = VXT_EXIT_FAILURE;
        goto done;
    }
    if (va.report) {
        if ((rc = val_write_text(va.report, text, err, sizeof err))) {
            cli_error("validate", "--report %s: %s", va.report, err);
            free(text);
            goto done;
        }
        snprintf(s->written[s->nwritten++], sizeof s->written[0], "%s", va.report);
    }
    if (ra.json)
        printf("%s\n", text);
    else
        val_print_summary(stdout, s, in_path, img);
    free(text);
    rc = val_verdict(s) == 2 ? VXT_EXIT_MISMATCH : VXT_EXIT_OK;
done:
    if (s && rc != VXT_EXIT_OK && rc != VXT_EXIT_MISMATCH)
        for (int i = 0; i < s->nwritten; i++)
            remove(s->written[i]); /* never a partial result */
    if (created_dir && rc != VXT_EXIT_OK && rc != VXT_EXIT_MISMATCH)
        rmdir(va.pictures);
    if (s)
        free_state(s);
    free(s);
    vxt_image_destroy(img);
    free(plan_a_text);
    free(plan_b_text);
    return rc;
}
