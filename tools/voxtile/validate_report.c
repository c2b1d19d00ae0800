/* validate_report.c - what `voxtile validate` writes: the JSON report, the summary on stdout, the pictures. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "validate.h"

static const char *const side_names[2] = {"a", "b"};

/* 0 identical, 1 within the tolerance, 2 mismatch (a stage compared and found different, or a stage on one side
 * only, or outputs of different shapes). */
static int stage_verdict(const val_stage *st, const char *only)
{
    if (only && strcmp(only, st->name) != 0)
        return 0; /* not compared on purpose */
    if (st->in_a != st->in_b || st->layout_differs)
        return 2;
    if (!st->compared)
        return 0;
    if (st->r.differing_values == 0)
        return 0;
    return st->r.within ? 1 : 2;
}

int val_verdict(const val_state *s)
{
    int v = 0;
    for (int i = 0; i < s->nstages; i++) {
        int sv = stage_verdict(&s->stage[i], s->only_stage);
        v = sv > v ? sv : v;
    }
    return v;
}

static const char *verdict_name(int v)
{
    return v == 0 ? "identical" : v == 1 ? "within tolerance" : "mismatch";
}

static cJSON *zyx(const int64_t vol[3])
{
    const double v[3] = {(double)vol[0], (double)vol[1], (double)vol[2]};
    return cJSON_CreateDoubleArray(v, 3);
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddNumberToObject(o, key, (double)v);
}

static cJSON *labels_json(const cmp_labels *l)
{
    cJSON *j = cJSON_CreateObject();
    add_u64(j, "differing_voxels", l->differing);
    cJSON *d = cJSON_AddArrayToObject(j, "dice");
    for (size_t i = 0; i < l->nlabels; i++) {
        cJSON *x = cJSON_CreateObject();
        add_u64(x, "label", l->label[i].label);
        add_u64(x, "a_voxels", l->label[i].a);
        add_u64(x, "b_voxels", l->label[i].b);
        add_u64(x, "both", l->label[i].both);
        cJSON_AddNumberToObject(x, "dice", l->label[i].dice);
        cJSON_AddItemToArray(d, x);
    }
    cJSON *sw = cJSON_AddArrayToObject(j, "swaps");
    for (size_t i = 0; i < l->nswaps && i < 20; i++) {
        cJSON *x = cJSON_CreateObject();
        add_u64(x, "a", l->swap[i].a);
        add_u64(x, "b", l->swap[i].b);
        add_u64(x, "voxels", l->swap[i].voxels);
        cJSON_AddItemToArray(sw, x);
    }
    add_u64(j, "distinct_swaps", l->nswaps);
    return j;
}

static cJSON *stage_json(const val_state *s, const val_stage *st)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "stage", st->name);
    cJSON_AddBoolToObject(j, "in_a", st->in_a);
    cJSON_AddBoolToObject(j, "in_b", st->in_b);
    cJSON_AddItemToObject(j, "shape", zyx(st->shape));
    cJSON_AddNumberToObject(j, "channels", (double)st->channels);
    cJSON_AddStringToObject(j, "dtype", vxt_dtype_name(st->dtype));
    if (st->in_a)
        cJSON_AddNumberToObject(j, "a_seconds", st->a_seconds);
    if (st->in_b)
        cJSON_AddNumberToObject(j, "b_seconds", st->b_seconds);
    cJSON_AddBoolToObject(j, "compared", st->compared);
    int verdict = stage_verdict(st, s->only_stage);
    cJSON_AddStringToObject(j, "result", !st->compared && verdict == 0 ? "not compared" : verdict_name(verdict));
    if (st->layout_differs)
        cJSON_AddStringToObject(j, "note", st->why);
    else if (st->in_a != st->in_b)
        cJSON_AddStringToObject(j, "note", st->in_a ? "only side a has this stage" : "only side b has this stage");
    if (!st->compared)
        return j;
    const cmp_result *r = &st->r;
    cJSON_AddBoolToObject(j, "identical", r->differing_values == 0);
    add_u64(j, "values", r->values);
    add_u64(j, "differing_values", r->differing_values);
    add_u64(j, "differing_voxels", r->differing_voxels);
    add_u64(j, "beyond_tolerance", r->beyond);
    if (st->dtype == VXT_DTYPE_F32)
        add_u64(j, "nan_mismatch", r->nan_mismatch);
    if (isfinite(r->max_abs))
        cJSON_AddNumberToObject(j, "max_abs_diff", r->max_abs);
    else
        cJSON_AddNullToObject(j, "max_abs_diff"); /* an infinity or a NaN against a number */
    if (r->max_ulp != UINT64_MAX)
        add_u64(j, "max_ulp_diff", r->max_ulp);
    else
        cJSON_AddNullToObject(j, "max_ulp_diff");
    if (r->first >= 0) {
        int64_t vox = st->shape[0] * st->shape[1] * st->shape[2], c = r->first / vox, v = r->first % vox;
        int64_t z = v / (st->shape[1] * st->shape[2]), y = v / st->shape[2] % st->shape[1], x = v % st->shape[2];
        cJSON *f = cJSON_AddObjectToObject(j, "first_difference");
        cJSON_AddNumberToObject(f, "channel", (double)c);
        const int64_t at[3] = {z, y, x};
        cJSON_AddItemToObject(f, "voxel", zyx(at));
        cJSON_AddNumberToObject(f, "a", r->first_a);
        cJSON_AddNumberToObject(f, "b", r->first_b);
    }
    if (st->have_labels)
        cJSON_AddItemToObject(j, "labels", labels_json(&st->labels));
    if (st->picture[0])
        cJSON_AddStringToObject(j, "picture", st->picture);
    return j;
}

static cJSON *side_json(const val_side *sd)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "spec", sd->spec);
    cJSON_AddStringToObject(j, "backend", vxt_backend_name(sd->info.backend));
    cJSON_AddStringToObject(j, "device", sd->info.device_name);
    if (sd->info.backend == VXT_BACKEND_OPENCL) {
        cJSON_AddStringToObject(j, "platform", sd->info.platform_name);
        cJSON_AddStringToObject(j, "driver", sd->info.driver_version);
        cJSON_AddStringToObject(j, "probe", sd->info.probe.detail);
    }
    cJSON_AddNumberToObject(j, "threads", sd->info.cpu_threads);
    cJSON_AddNumberToObject(j, "context_seconds", sd->setup_seconds);
    cJSON_AddNumberToObject(j, "pipeline_seconds", sd->seconds);
    return j;
}

/* The last stage that compared label maps: the final labels. */
static const val_stage *final_labels(const val_state *s)
{
    const val_stage *l = NULL;
    for (int i = 0; i < s->nstages; i++)
        if (s->stage[i].have_labels)
            l = &s->stage[i];
    return l;
}

cJSON *val_report(const val_state *s, const char *input, const vxt_image *img, const char *plan_a, const char *plan_b,
                  const char *report_path)
{
    vxt_volume raw;
    vxt_image_volume(img, &raw);
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "voxtile_validate", 1);
    cJSON_AddStringToObject(j, "input", input);
    cJSON_AddItemToObject(j, "input_shape", zyx(raw.shape));
    cJSON_AddNumberToObject(j, "input_channels", (double)raw.channels);
    int v = val_verdict(s);
    cJSON_AddStringToObject(j, "result", verdict_name(v));
    cJSON_AddBoolToObject(j, "identical", v == 0);
    if (s->only_stage)
        cJSON_AddStringToObject(j, "stage", s->only_stage);
    cJSON *t = cJSON_AddObjectToObject(j, "tolerance");
    if (s->tol.have_ulp)
        add_u64(t, "max_ulp", s->tol.max_ulp);
    else
        cJSON_AddNullToObject(t, "max_ulp");
    if (s->tol.have_abs)
        cJSON_AddNumberToObject(t, "max_abs", s->tol.max_abs);
    else
        cJSON_AddNullToObject(t, "max_abs");
    add_u64(t, "max_label_diff", s->tol.max_label_voxels);
    cJSON *sides = cJSON_AddObjectToObject(j, "sides");
    for (int k = 0; k < 2; k++)
        cJSON_AddItemToObject(sides, side_names[k], side_json(&s->side[k]));
    cJSON *pa = plan_a ? cJSON_Parse(plan_a) : NULL;
    if (pa)
        cJSON_AddItemToObject(j, "plan", pa);
    cJSON *pb = plan_b ? cJSON_Parse(plan_b) : NULL;
    if (pb)
        cJSON_AddItemToObject(j, "plan_b", pb);
    cJSON *stages = cJSON_AddArrayToObject(j, "stages");
    for (int i = 0; i < s->nstages; i++)
        cJSON_AddItemToArray(stages, stage_json(s, &s->stage[i]));
    const val_stage *fl = final_labels(s);
    if (fl) {
        cJSON *l = labels_json(&fl->labels);
        cJSON_AddStringToObject(l, "stage", fl->name);
        cJSON_AddItemToObject(j, "labels", l);
    }
    if (s->pictures) {
        cJSON *p = cJSON_AddArrayToObject(j, "pictures");
        for (int i = 0; i < s->nwritten; i++)
            cJSON_AddItemToArray(p, cJSON_CreateString(s->written[i]));
    }
    if (report_path)
        cJSON_AddStringToObject(j, "report", report_path);
    return j;
}

/* ---- summary ------------------------------------------------------------------------------------------- */

static void grid_text(char *buf, size_t n, const int64_t shape[3], int64_t channels)
{
    if (channels > 1)
        snprintf(buf, n, "%lldx%lldx%lld x%lld", (long long)shape[0], (long long)shape[1], (long long)shape[2],
                 (long long)channels);
    else
        snprintf(buf, n, "%lldx%lldx%lld", (long long)shape[0], (long long)shape[1], (long long)shape[2]);
}

void val_print_summary(FILE *f, const val_state *s, const char *input, const vxt_image *img)
{
    vxt_volume raw;
    vxt_image_volume(img, &raw);
    char g[64];
    grid_text(g, sizeof g, raw.shape, raw.channels);
    fprintf(f, "voxtile validate: %s (%s %s)%s%s\n", input, g, vxt_dtype_name(raw.dtype),
            s->only_stage ? ", stage " : "", s->only_stage ? s->only_stage : "");
    for (int k = 0; k < 2; k++) {
        const val_side *sd = &s->side[k];
        fprintf(f, "  %s: %-28s %s on %s (context %.2f s, pipeline %.2f s)\n", side_names[k], sd->spec,
                vxt_backend_name(sd->info.backend), sd->info.device_name, sd->setup_seconds, sd->seconds);
    }
    fprintf(f, "%-15s %-20s %12s %12s %12s %12s %10s %8s %8s\n", "stage", "grid (z,y,x)", "values", "differing",
            "voxels", "max |diff|", "max ulp", "a s", "b s");
    for (int i = 0; i < s->nstages; i++) {
        const val_stage *st = &s->stage[i];
        grid_text(g, sizeof g, st->shape, st->channels);
        if (!st->compared) {
            const char *why = st->layout_differs ? "outputs differ in shape or type"
                              : st->in_a != st->in_b ? (st->in_a ? "only on side a" : "only on side b")
                                                     : "not compared";
            fprintf(f, "%-15s %-20s %s\n", st->name, g, why);
            continue;
        }
        const cmp_result *r = &st->r;
        char mu[32];
        if (r->max_ulp == UINT64_MAX)
            snprintf(mu, sizeof mu, "NaN");
        else
            snprintf(mu, sizeof mu, "%llu", (unsigned long long)r->max_ulp);
        fprintf(f, "%-15s %-20s %12llu %12llu %12llu %12.4g %10s %8.3f %8.3f%s\n", st->name, g,
                (unsigned long long)r->values, (unsigned long long)r->differing_values,
                (unsigned long long)r->differing_voxels, r->max_abs, mu, st->a_seconds, st->b_seconds,
                r->differing_values == 0 ? "" : r->within ? "  (within tolerance)" : "  MISMATCH");
    }
    const val_stage *fl = final_labels(s);
    if (fl) {
        const cmp_labels *l = &fl->labels;
        if (strcmp(fl->name, "labels") != 0)
            fprintf(f, "labels (stage %s): ", fl->name);
        else
            fprintf(f, "labels: ");
        fprintf(f, "%llu differing voxels; Dice", (unsigned long long)l->differing);
        for (size_t i = 0; i < l->nlabels; i++)
            fprintf(f, "%s %u: %.6f", i ? "," : "", l->label[i].label, l->label[i].dice);
        fprintf(f, "\n");
        for (size_t i = 0; i < l->nswaps && i < 5; i++)
            fprintf(f, "  label %u on side a is %u on side b in %llu voxels\n", l->swap[i].a, l->swap[i].b,
                    (unsigned long long)l->swap[i].voxels);
    }
    int v = val_verdict(s), compared = 0;
    for (int i = 0; i < s->nstages; i++)
        compared += s->stage[i].compared;
    if (v == 0)
        fprintf(f, "result: IDENTICAL: %d stage%s compared, every value bit for bit\n", compared,
                compared == 1 ? "" : "s");
    else if (v == 1)
        fprintf(f, "result: WITHIN TOLERANCE: %d stage%s compared; differences within the given tolerances\n",
                compared, compared == 1 ? "" : "s");
    else
        fprintf(f, "result: MISMATCH\n");
    if (s->pictures)
        fprintf(f, "pictures: %s\n", s->pictures);
}

/* ---- files --------------------------------------------------------------------------------------------- */

static int text_to_fd(void *user, int fd)
{
    const char *text = (const char *)user;
    const size_t n = strlen(text);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 1;
        done += (size_t)w;
    }
    return write(fd, "\n", 1) == 1 ? 0 : 1;
}

int val_write_text(vxt_output_set *set, const char *path, const char *text, char *err, size_t errn)
{
    vxt_status st = vxt_output_set_add_file(set, path, text_to_fd, (void *)(uintptr_t)text);
    if (st != VXT_OK) {
        snprintf(err, errn, "%s", vxt_last_error());
        return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

static int picture(val_state *s, const char *name, const picture_layers *pl)
{
    if (s->nwritten == VAL_MAX_FILES) {
        snprintf(s->err, sizeof s->err, "too many pictures");
        return VXT_EXIT_INTERNAL;
    }
    char *path = s->written[s->nwritten];
    snprintf(path, sizeof s->written[0], "%s/%s", s->pictures, name);
    char err[512];
    /* projected: a few differing voxels would rarely lie on the mid-slices */
    int rc = picture_write_projected(path, pl, s->set, err, sizeof err);
    if (rc) {
        snprintf(s->err, sizeof s->err, "%s", err);
        return rc;
    }
    s->nwritten++;
    return 0;
}

int val_stage_picture(val_state *s, val_stage *st, const vxt_volume *a_out, const unsigned char *mask)
{
    picture_layers pl;
    memset(&pl, 0, sizeof pl);
    memcpy(pl.shape, a_out->shape, sizeof pl.shape);
    for (int k = 0; k < 3; k++) /* the stage's grid spans the input's field of view */
        pl.spacing[k] = s->in_spacing[k] * (double)s->in_shape[k] / (double)a_out->shape[k];
    float *grey = NULL; /* label maps are drawn as grey levels, so that red stands out from every label colour */
    if (a_out->dtype == VXT_DTYPE_F32) {
        pl.image = (const float *)a_out->data; /* channel 0 */
    } else {
        size_t vox = (size_t)(a_out->shape[0] * a_out->shape[1] * a_out->shape[2]);
        if (!(grey = malloc(vox * sizeof(float)))) {
            snprintf(s->err, sizeof s->err, "out of memory");
            return VXT_EXIT_INTERNAL;
        }
        for (size_t i = 0; i < vox; i++)
            grey[i] = a_out->dtype == VXT_DTYPE_U16 ? (float)((const uint16_t *)a_out->data)[i]
                      : a_out->dtype == VXT_DTYPE_U8 ? (float)((const uint8_t *)a_out->data)[i] : 0.0f;
        pl.image = grey;
    }
    pl.diff = mask;
    char title[128], name[64];
    snprintf(title, sizeof title, "voxtile validate: %s: differing voxels in red, projected through the volume",
             st->name);
    snprintf(name, sizeof name, "diff_%s.png", st->name);
    pl.title = title;
    int rc = picture(s, name, &pl);
    free(grey);
    if (!rc)
        snprintf(st->picture, sizeof st->picture, "%s", name);
    return rc;
}

int val_final_pictures(val_state *s, vxt_context *ctx, const vxt_image *img)
{
    vxt_volume raw;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_volume(img, &raw);
    vxt_image_get_info(img, &info);
    size_t vox = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
    float *grey = malloc(vox * sizeof(float));
    if (!grey) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return VXT_EXIT_INTERNAL;
    }
    vxt_volume ch0 = raw, gv = {grey, VXT_DTYPE_F32, 1, {raw.shape[0], raw.shape[1], raw.shape[2]}};
    ch0.channels = 1;
    double slope = 1.0, inter = 0.0; /* physical units, as the rescale stage computes them */
    if (isfinite(info.scl_slope) && info.scl_slope != 0.0) {
        slope = info.scl_slope;
        inter = isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    }
    if (vxt_rescale(ctx, &ch0, &gv, slope, inter) != VXT_OK) {
        snprintf(s->err, sizeof s->err, "%s", vxt_last_error());
        free(grey);
        return VXT_EXIT_INTERNAL;
    }
    picture_layers pl;
    memset(&pl, 0, sizeof pl);
    memcpy(pl.shape, raw.shape, sizeof pl.shape);
    memcpy(pl.spacing, s->in_spacing, sizeof pl.spacing);
    pl.image = grey;
    pl.title = "voxtile validate: input";
    int rc = picture(s, "input.png", &pl);
    static const char *const names[2] = {"a_labels.png", "b_labels.png"};
    static const char *const titles[2] = {"voxtile validate: side a labels", "voxtile validate: side b labels"};
    for (int k = 0; k < 2 && !rc; k++) {
        if (!s->side[k].have_res)
            continue; /* stopped before the labels (--stage) */
        vxt_volume lv;
        vxt_image_volume(s->side[k].res.labels, &lv);
        pl.labels = lv.data;
        pl.label_u16 = lv.dtype == VXT_DTYPE_U16;
        pl.title = titles[k];
        rc = picture(s, names[k], &pl);
    }
    if (!rc) {
        pl.labels = NULL;
        pl.diff = s->diff_in;
        pl.title = "voxtile validate: voxels of the input's grid where a stage differs, red, projected through the "
                   "volume";
        rc = picture(s, "difference.png", &pl);
    }
    free(grey);
    return rc;
}
