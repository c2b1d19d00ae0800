/* cmd_stitch.c - `voxtile stitch TILES.npy --shape Z,Y,X --roi Z,Y,X`: stitch tile outputs another program produced
 * (an .npy of shape (N, C, *ROI) in tiling order) into the volume with the plan's stitching (a session fed from
 * the file): the labels (-o) and/or the class values (--probabilities), each written as .npy (streamed, slab by
 * slab) or as NIfTI (with --like's geometry). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum { O_OUT = 1, O_PROB, O_SHAPE, O_LIKE, O_JSON };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "inputs and outputs"},
    {"shape", 0, "Z,Y,X|Y,X|N", O_SHAPE, "the volume's shape (Y,X: a 2D image; TILES.npy is then (N, C, H, W))"},
    {"output", 'o', "OUT", O_OUT, "the labels by the plan's label rule (.npy, .nii or .nii.gz)"},
    {"probabilities", 0, "FILE", O_PROB, "the class values after activation, (C, *shape) float32"},
    {"like", 0, "IMAGE", O_LIKE, "NIfTI outputs take this image's geometry (its shape must be --shape)"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_stitch_flags, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "stitch", "stitch TILES.npy --shape Z,Y,X --roi Z,Y,X (-o LABELS | --probabilities VALUES) [flags]",
    "TILES.npy holds (N, C, *ROI) float32 or float16 tile outputs in tiling order (C order, last axis fastest).\n"
    "They are blended with the plan's importance map and arithmetic (MONAI's or nnU-Net's, docs/STITCHING.md),\n"
    "activated and labelled. At least one of -o and --probabilities.",
    groups, 1};

typedef struct stitch_args {
    const char *out, *prob, *like;
    int64_t shape[3];
    int dims, json;
    cli_exec exec;
    cli_dicom dicom; /* --like's */
    cli_plan_args plan;
} stitch_args;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    stitch_args *a = (stitch_args *)user;
    int rc = cli_shared_flag("stitch", &a->exec, &a->plan, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    switch (f->id) {
    case O_OUT: a->out = v; return 0;
    case O_PROB: a->prob = v; return 0;
    case O_LIKE: a->like = v; return 0;
    case O_JSON: a->json = 1; return 0;
    default: return cli_shape_flag("stitch", v, a->shape, &a->dims);
    }
}

/* ---- outputs: an .npy streamed slab by slab, or an image written at the end ------------------------------ */

typedef struct output {
    const char *path;
    vxt_npy_writer *npy;
    vxt_image *img;
    size_t es;
} output;

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcasecmp(path + n - 4, ".npy");
}

/* channels 0: labels (no channel axis). */
static vxt_status open_output(output *o, const char *path, vxt_dtype dtype, int64_t channels, const int64_t shape[3],
                              int dims, const vxt_image *like)
{
    o->path = path;
    o->es = vxt_dtype_size(dtype);
    if (!is_npy(path)) {
        vxt_status st = vxt_image_create(dtype, channels ? channels : 1, shape, like, &o->img);
        if (st == VXT_OK) /* as voxtile run writes them: NIfTI intent "labels", or the values' description */
            st = channels ? vxt_image_set_description(o->img, "voxtile probabilities")
                          : vxt_nifti_set_intent(o->img, 1002, "labels", NULL);
        if (st == VXT_OK && !channels)
            st = vxt_image_set_description(o->img, "voxtile segmentation");
        return st;
    }
    int64_t s[4];
    int nd = 0;
    if (channels)
        s[nd++] = channels;
    for (int a = 3 - dims; a < 3; a++)
        s[nd++] = shape[a];
    return vxt_npy_writer_open(path, dtype, nd, s, &o->npy);
}

/* Slab [z0, z1) of C planes (labels: C = 1) into the output. */
static vxt_status put(output *o, const int64_t shape[3], int64_t z0, int64_t z1, int64_t C, const void *data)
{
    const uint64_t plane = (uint64_t)(shape[1] * shape[2]), vol = (uint64_t)shape[0] * plane,
                   n = (uint64_t)(z1 - z0) * plane;
    vxt_volume v;
    if (o->img)
        vxt_image_volume(o->img, &v);
    vxt_status st = VXT_OK;
    for (int64_t c = 0; c < C && st == VXT_OK; c++) {
        const void *src = (const char *)data + (size_t)((uint64_t)c * n) * o->es;
        uint64_t at = (uint64_t)c * vol + (uint64_t)z0 * plane;
        if (o->npy)
            st = vxt_npy_writer_write(o->npy, at, n, src);
        else
            memcpy((char *)v.data + (size_t)at * o->es, src, (size_t)n * o->es);
    }
    return st;
}

/* The output into the run's set of files (committed together: never the labels alone). */
static vxt_status add_to(vxt_output_set *set, output *o)
{
    if (o->npy) {
        vxt_npy_writer *w = o->npy;
        o->npy = NULL;
        return vxt_output_set_add_npy_writer(set, w);
    }
    return o->img ? vxt_output_set_add_image(set, o->img, o->path, NULL) : VXT_OK;
}

static void close_output(output *o)
{
    vxt_npy_writer_abort(o->npy);
    vxt_image_destroy(o->img);
}

typedef struct sink_ctx {
    output labels, values;
    vxt_status st;
    char error[1024]; /* the writer's message (the run's own only says "sink returned 1") */
} sink_ctx;

static int sink(void *user, const vxt_slab *s)
{
    sink_ctx *k = (sink_ctx *)user;
    if (s->labels)
        k->st = put(&k->labels, s->shape, s->z0, s->z1, 1, s->labels);
    if (k->st == VXT_OK && s->values)
        k->st = put(&k->values, s->shape, s->z0, s->z1, s->channels, s->values);
    if (k->st != VXT_OK)
        snprintf(k->error, sizeof k->error, "%s", vxt_last_error());
    return k->st != VXT_OK;
}

/* ---- the command ----------------------------------------------------------------------------------------- */

/* The tile file must match the tiling: (N, C, *ROI) of float32 or float16. */
static int check_tiles(const char *path, const vxt_npy_info *ni, const vxt_tiling_info *ti, int dims)
{
    int ok = ni->ndim == 2 + dims && ni->shape[0] == (int64_t)ti->tile_count && ni->shape[1] >= 1 &&
             (ni->dtype == VXT_DTYPE_F32 || ni->dtype == VXT_DTYPE_F16);
    for (int a = 0; ok && a < dims; a++)
        ok = ni->shape[2 + a] == ti->roi[3 - dims + a];
    if (ok)
        return 0;
    char got[200] = "(", want[200];
    for (int a = 0; a < ni->ndim; a++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", a ? ", " : "", (long long)ni->shape[a]);
    snprintf(want, sizeof want, "(%llu, C, %s%lld, %lld, %lld)", (unsigned long long)ti->tile_count,
             dims == 3 ? "" : "", (long long)ti->roi[0], (long long)ti->roi[1], (long long)ti->roi[2]);
    if (dims == 2)
        snprintf(want, sizeof want, "(%llu, C, %lld, %lld)", (unsigned long long)ti->tile_count,
                 (long long)ti->roi[1], (long long)ti->roi[2]);
    cli_error("stitch", "%s: array %s) of %s does not match the tiling: expected %s of float32 or float16, C >= 1",
              path, got, vxt_dtype_name(ni->dtype), want);
    return VXT_EXIT_INPUT;
}

/* Feed the session from the tile file; the failure's exit status, with its message printed. */
static int feed(vxt_session *ss, const char *path, const vxt_npy_info *ni, const vxt_stitch_options *so,
                sink_ctx *sk)
{
    size_t tile_elems = (size_t)(ni->count / (uint64_t)ni->shape[0]);
    void *buf = malloc((size_t)so->batch_size * tile_elems * vxt_dtype_size(ni->dtype));
    vxt_status st = buf ? VXT_OK : VXT_ERR_OUT_OF_MEMORY;
    int done = 0, input_failed = 0;
    while (st == VXT_OK) {
        vxt_batch b;
        if ((st = vxt_session_next_batch(ss, &b, &done)) != VXT_OK || done)
            break;
        st = vxt_npy_read(path, ni, b.first_tile * tile_elems, (uint64_t)b.count * tile_elems, buf);
        input_failed = st != VXT_OK;
        if (st == VXT_OK)
            st = vxt_session_submit(ss, b.id, buf);
    }
    if (st == VXT_OK)
        st = vxt_session_finish(ss);
    free(buf);
    if (st == VXT_OK)
        return 0;
    if (sk->st != VXT_OK) { /* an output could not be written */
        cli_error("stitch", "%s", sk->error);
        return VXT_EXIT_OUTPUT;
    }
    int rc = cli_fail("stitch", input_failed ? path : "stitching failed", st);
    return input_failed || st == VXT_ERR_NONFINITE ? VXT_EXIT_INPUT : rc;
}

/* The outputs (and --like's image); an exit status. */
static int open_outputs(const stitch_args *a, const vxt_stitch_options *so, sink_ctx *sk)
{
    vxt_image *like = NULL;
    int rc = 0;
    if (a->like && (rc = cli_read_image("stitch", a->like, VXT_SCALING_RAW, &a->dicom, &like)))
        return rc;
    vxt_image_info li = {.struct_size = sizeof li};
    if (like && vxt_image_get_info(like, &li) == VXT_OK && memcmp(li.shape, a->shape, sizeof li.shape) != 0) {
        char s1[64], s2[64];
        cli_error("stitch", "--like %s: its shape %s is not --shape %s", a->like, cli_shape_text(s1, 64, li.shape),
                  cli_shape_text(s2, 64, a->shape));
        vxt_image_destroy(like);
        return VXT_EXIT_USAGE;
    }
    vxt_status st = VXT_OK;
    if (a->out)
        st = open_output(&sk->labels, a->out, so->label_dtype, 0, a->shape, a->dims, like);
    if (st == VXT_OK && a->prob)
        st = open_output(&sk->values, a->prob, VXT_DTYPE_F32, so->out_channels, a->shape, a->dims, like);
    vxt_image_destroy(like);
    return st != VXT_OK ? cli_output_fail("stitch", "output", st)
                        : 0;
}

static int check_args(const stitch_args *a, int npos)
{
    int rc = 0;
    if (npos != 1 || !a->dims || (!a->out && !a->prob)) {
        cli_error("stitch", npos != 1 ? "missing TILES.npy" : !a->dims ? "missing --shape Z,Y,X"
                                                             : "missing -o LABELS or --probabilities VALUES");
        return VXT_EXIT_USAGE;
    }
    if ((a->out && (rc = cli_check_output("stitch", "-o", a->out, "image"))) ||
        (a->prob && (rc = cli_check_output("stitch", "--probabilities", a->prob, "image"))))
        return rc;
    if (a->out && a->prob && cli_same_file(a->out, a->prob)) {
        cli_error("stitch", "-o and --probabilities name the same file '%s'", a->out);
        return VXT_EXIT_USAGE;
    }
    if (a->like && (!a->out || is_npy(a->out)) && (!a->prob || is_npy(a->prob))) {
        cli_error("stitch", "--like gives NIfTI outputs their geometry; no output here is NIfTI");
        return VXT_EXIT_USAGE;
    }
    return 0;
}

static int summary(const stitch_args *a, vxt_context *ctx, const vxt_tiling_info *ti, int64_t C, double seconds)
{
    cJSON *j = cJSON_CreateObject();
    if (a->out)
        cJSON_AddStringToObject(j, "output", a->out);
    if (a->prob)
        cJSON_AddStringToObject(j, "probabilities", a->prob);
    cJSON_AddNumberToObject(j, "tiles", (double)ti->tile_count);
    cJSON_AddNumberToObject(j, "channels", (double)C);
    cli_json_context(j, ctx);
    cJSON_AddNumberToObject(j, "seconds", seconds);
    return cli_print_json(j);
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    stitch_args *a = (stitch_args *)args;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, &a->plan, 0, plan);
}

int cmd_stitch(int argc, char **argv)
{
    stitch_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    vxt_plan *plan = NULL;
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, &plan);
    a.dicom.threads = (int)a.exec.threads; /* --threads: DICOM files decoded at once too */
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    vxt_tiling *tiling = NULL;
    vxt_context *ctx = NULL;
    vxt_session *ss = NULL;
    sink_ctx sk;
    memset(&sk, 0, sizeof sk);
    vxt_npy_info ni = {.struct_size = sizeof ni};
    vxt_tiling_info ti = {.struct_size = sizeof ti};
    vxt_tiling_options to;
    vxt_stitch_options so;
    vxt_status st;
    if ((rc = check_args(&a, npos)))
        goto done;
    if ((st = vxt_npy_read_info(pos[0], &ni)) != VXT_OK) { /* the message names the file */
        rc = cli_input_fail("stitch", "TILES.npy", st);
        goto done;
    }
    /* the file's C (when it has one; check_tiles then refuses a file that does not fit) */
    const int64_t C = ni.ndim >= 2 && ni.shape[1] >= 1 ? ni.shape[1] : 1;
    if ((st = vxt_plan_stitch_settings(plan, a.shape, C, &to, &so)) == VXT_OK && (so.members > 1 || so.mirror_axes)) {
        cli_error("stitch", "the plan has %s, but a tile file holds one output per tile (ensembles and mirroring "
                  "need one per member and mirroring): run the model with voxtile run", so.members > 1 ?
                  "ensemble members" : "mirror_axes");
        rc = VXT_EXIT_PLAN;
        goto done;
    }
    if (st != VXT_OK ||
        (st = vxt_tiling_create(&to, &tiling)) != VXT_OK) {
        rc = cli_fail("stitch", "invalid plan", st);
        goto done;
    }
    vxt_tiling_get_info(tiling, &ti);
    if ((rc = check_tiles(pos[0], &ni, &ti, a.dims)) || (rc = cli_context("stitch", &a.exec, &ctx)))
        goto done;
    so.tile_dtype = ni.dtype;
    if ((rc = open_outputs(&a, &so, &sk)))
        goto done;
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.sink_user = &sk;
    out.want_labels = a.out != NULL;
    out.want_values = a.prob != NULL;
    double t0 = cli_seconds();
    if ((st = vxt_session_create(ctx, tiling, &so, NULL, &out, &ss)) != VXT_OK) {
        rc = cli_fail("stitch", "stitching failed", st);
        goto done;
    }
    if ((rc = feed(ss, pos[0], &ni, &so, &sk)))
        goto done;
    vxt_output_set *set = NULL;
    if ((st = vxt_output_set_create(&set)) == VXT_OK && (st = add_to(set, &sk.labels)) == VXT_OK &&
        (st = add_to(set, &sk.values)) == VXT_OK)
        st = vxt_output_set_commit(set);
    vxt_output_set_destroy(set); /* not committed: the targets stay as they were */
    if (st != VXT_OK) {
        rc = cli_output_fail("stitch", "output", st);
        goto done;
    }
    if (a.json)
        rc = summary(&a, ctx, &ti, so.out_channels, cli_seconds() - t0);
done:
    vxt_session_destroy(ss);
    close_output(&sk.labels);
    close_output(&sk.values);
    vxt_context_destroy(ctx);
    vxt_tiling_destroy(tiling);
    vxt_plan_destroy(plan);
    return rc;
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    (void)plan, (void)pos;
    return check_args((const stitch_args *)args, npos);
}

const cli_command cmd_stitch_parsing = {&spec, sizeof(stitch_args), parse, check};
