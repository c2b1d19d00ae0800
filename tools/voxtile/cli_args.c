/* cli_args.c - the one option parser of the voxtile tool and the help text, both from the commands' flag tables
 * (cli.h). Every command parses its flags here, so that the shared groups (execution, plan) are parsed once and
 * spelled the same everywhere. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The flag of `spec` called `name` (long) or `c` (short, when name is NULL). */
static const cli_flag *find_flag(const cli_command_spec *spec, const char *name, size_t len, char c)
{
    for (const cli_flag *const *g = spec->groups; *g; g++)
        for (const cli_flag *f = *g; f->name || f->help; f++) {
            if (!f->name)
                continue;
            if (name ? strlen(f->name) == len && strncmp(f->name, name, len) == 0 : f->short_name == c && c)
                return f;
        }
    return NULL;
}

int cli_parse(const cli_command_spec *spec, int argc, char **argv, cli_flag_fn fn, void *user,
              const char **positional, int *npositional)
{
    *npositional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        const cli_flag *f = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cli_help(spec);
            return -1;
        }
        if (!strcmp(arg, "--")) { /* everything after is positional */
            while (++i < argc) {
                if (*npositional >= spec->max_positional) {
                    cli_error(spec->name, "unexpected argument '%s'", argv[i]);
                    return VXT_EXIT_USAGE;
                }
                positional[(*npositional)++] = argv[i];
            }
            break;
        }
        if (arg[0] == '-' && arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            f = find_flag(spec, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2), 0);
            value = eq ? eq + 1 : NULL;
            if (f && eq && !f->value) {
                cli_error(spec->name, "--%s takes no value (got '%s')", f->name, arg);
                return VXT_EXIT_USAGE;
            }
        } else if (arg[0] == '-' && arg[1] && arg[1] != '-') {
            f = find_flag(spec, NULL, 0, arg[1]);
            value = f && f->value && arg[2] ? arg + 2 : NULL;
            if (f && !f->value && arg[2])
                f = NULL;
        } else {
            if (*npositional >= spec->max_positional) {
                cli_error(spec->name, "unexpected argument '%s'", arg);
                return VXT_EXIT_USAGE;
            }
            positional[(*npositional)++] = arg;
            continue;
        }
        if (!f) {
            cli_error(spec->name, "unknown option '%s' (see voxtile %s --help)", arg, spec->name);
            return VXT_EXIT_USAGE;
        }
        if (f->value && !value) {
            /* the next argument, unless it is a flag itself ("-1000" is a value; "--report" is not) */
            if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] == '-' && argv[i + 1][2])) {
                cli_error(spec->name, "--%s needs a value (%s)%s%s", f->name, f->value, i + 1 < argc ? "; got " : "",
                          i + 1 < argc ? argv[i + 1] : "");
                return VXT_EXIT_USAGE;
            }
            value = argv[++i];
        }
        int rc = fn(user, f, value);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_parse_only(const cli_command *c, int argc, char **argv)
{
    const char *positional[8] = {NULL};
    int npositional = 0;
    vxt_plan *plan = NULL;
    if (c->spec->max_positional > 8) {
        cli_error(c->spec->name, "internal error: more positional arguments than cli_parse_only holds");
        return VXT_EXIT_INTERNAL;
    }
    void *args = calloc(1, c->args_size);
    if (!args) {
        cli_error(c->spec->name, "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    int rc = c->parse(args, argc, argv, positional, &npositional, &plan);
    if (rc == 0 && c->check)
        rc = c->check(args, plan, positional, npositional);
    vxt_plan_destroy(plan);
    free(args);
    return rc == -1 ? VXT_EXIT_OK : rc;
}

/* ---- help ------------------------------------------------------------------------------------------------ */

#define VXT_CLI_ADAPT(type, fn)                                                                                  \
    static const char *fn##_of(int v)                                                                            \
    {                                                                                                            \
        return fn((type)v);                                                                                      \
    }
VXT_CLI_ADAPT(vxt_backend, vxt_backend_name)
VXT_CLI_ADAPT(vxt_grid, vxt_grid_name)
VXT_CLI_ADAPT(vxt_pad, vxt_pad_name)
VXT_CLI_ADAPT(vxt_importance, vxt_importance_name)
VXT_CLI_ADAPT(vxt_accumulate, vxt_accumulate_name)
VXT_CLI_ADAPT(vxt_activation, vxt_activation_name)
VXT_CLI_ADAPT(vxt_ensemble, vxt_ensemble_name)
VXT_CLI_ADAPT(vxt_label_rule, vxt_label_rule_name)
VXT_CLI_ADAPT(vxt_norm, vxt_norm_name)
VXT_CLI_ADAPT(vxt_anisotropy, vxt_anisotropy_name)
VXT_CLI_ADAPT(vxt_resample_back, vxt_resample_back_name)
VXT_CLI_ADAPT(vxt_interp, vxt_interp_name)
VXT_CLI_ADAPT(vxt_grid_align, vxt_grid_align_name)
VXT_CLI_ADAPT(vxt_stage, vxt_stage_name)
VXT_CLI_ADAPT(vxt_runner_kind, vxt_runner_kind_name)
VXT_CLI_ADAPT(vxt_scaling, vxt_scaling_name)

/* The enums whose names a help text may list: "{grid}". */
static const struct {
    const char *key;
    const char *(*name)(int);
    int first, count, skip; /* names [first, count) but skip (-1: none) */
} enums[] = {
    {"backend", vxt_backend_name_of, 0, VXT_BACKEND_COUNT_, -1},
    {"grid", vxt_grid_name_of, 0, VXT_GRID_COUNT_, -1},
    {"pad", vxt_pad_name_of, 0, VXT_PAD_COUNT_, -1},
    /* "user" maps do not come from a plan */
    {"importance", vxt_importance_name_of, 0, VXT_IMPORTANCE_COUNT_, VXT_IMPORTANCE_USER},
    {"accumulate", vxt_accumulate_name_of, 0, VXT_ACCUMULATE_COUNT_, -1},
    {"activation", vxt_activation_name_of, 0, VXT_ACTIVATION_COUNT_, -1},
    {"ensemble", vxt_ensemble_name_of, 0, VXT_ENSEMBLE_COUNT_, -1},
    {"label_rule", vxt_label_rule_name_of, 0, VXT_LABEL_RULE_COUNT_, -1},
    {"norm", vxt_norm_name_of, 0, VXT_NORM_COUNT_, -1},
    {"anisotropy", vxt_anisotropy_name_of, 0, VXT_ANISOTROPY_COUNT_, -1},
    {"resample_back", vxt_resample_back_name_of, 0, VXT_RESAMPLE_BACK_COUNT_, -1},
    {"interp", vxt_interp_name_of, 0, VXT_INTERP_COUNT_, -1},
    {"align", vxt_grid_align_name_of, 0, VXT_GRID_ALIGN_COUNT_, -1},
    {"stage", vxt_stage_name_of, 0, VXT_STAGE_COUNT_, -1},
    {"runner", vxt_runner_kind_name_of, 1, VXT_RUNNER_KIND_COUNT_, -1}, /* "callback" is not a specification */
    {"scaling", vxt_scaling_name_of, 0, VXT_SCALING_COUNT_, -1},
};

/* A flag's help with "{enum}" and "{default}" expanded. */
static void expand(const cli_flag *f, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (const char *p = f->help; *p && k + 1 < n;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            out[k++] = *p++;
            out[k] = '\0';
            continue;
        }
        char key[32] = "";
        size_t len = (size_t)(close - p - 1);
        if (len < sizeof key)
            memcpy(key, p + 1, len), key[len] = '\0';
        if (!strcmp(key, "default")) {
            char d[96];
            cli_plan_default(f, d, sizeof d);
            k += (size_t)snprintf(out + k, n - k, "%s", d);
        }
        for (size_t e = 0; e < sizeof enums / sizeof enums[0]; e++)
            if (!strcmp(key, enums[e].key))
                for (int v = enums[e].first; v < enums[e].count && k + 1 < n; v++)
                    if (v != enums[e].skip)
                        k += (size_t)snprintf(out + k, n - k, "%s%s", v > enums[e].first ? "|" : "", enums[e].name(v));
        k = k < n ? k : n - 1;
        p = close + 1;
    }
}

void cli_help(const cli_command_spec *spec)
{
    printf("usage: voxtile %s\n%s\n", spec->usage, spec->description);
    for (const cli_flag *const *g = spec->groups; *g; g++)
        for (const cli_flag *f = *g; f->name || f->help; f++) {
            char text[512];
            if (!f->name) { /* a section */
                printf("%s:\n", f->help);
                continue;
            }
            if (!f->help[0])
                continue;
            expand(f, text, sizeof text);
            char left[96], shorty[8] = "    ";
            if (f->short_name)
                snprintf(shorty, sizeof shorty, "-%c, ", f->short_name);
            snprintf(left, sizeof left, "%s--%s%s%s", shorty, f->name, f->value ? " " : "", f->value ? f->value : "");
            if (strlen(left) < 30)
                printf("  %-30s %s\n", left, text);
            else
                printf("  %s\n  %-30s %s\n", left, "", text);
        }
    /* one table for every command (cli_exit.h; docs/CLI.md, "Exit status") */
    printf("exit status:");
#define VXT_EXIT_HELP_(name, value, word, text) printf("%s %d %s", value ? "," : "", value, word);
    VXT_EXIT_MAP(VXT_EXIT_HELP_)
#undef VXT_EXIT_HELP_
    printf(" (docs/CLI.md)\n");
}
