/* cmd_stitch.c - `voxtile stitch`: stitch tile outputs another program produced (an .npy of shape
 * (N, C, *ROI) in plan order) into the whole volume, written as .npy (C, *shape) float32 or labels. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void help(void)
{
    printf("usage: voxtile stitch TILES.npy -o OUT.npy --shape Z,Y,X --roi Z,Y,X [options]\n"
           "TILES.npy holds (N, C, *ROI) float32 or float16 tile outputs in plan order (C order, last axis fastest;\n"
           "shape and ROI in the array's axis order). Writes (C, *shape) float32, or the labels with --argmax.\n"
           CLI_PLAN_HELP
           "  --importance gaussian|gaussian-nnunet|hann|constant   (default gaussian)\n"
           "  --sigma-scale S[,S,S]   gaussian sigma as a fraction of the ROI (default 0.125)\n"
           "  --accumulate float32|float16|float64   arithmetic (float32: MONAI; float16: nnU-Net)\n"
           "  --activation none|softmax|sigmoid      (default none)\n"
           "  --argmax                write labels (argmax over channels, ties to the lowest) instead of values\n"
           "  --label-dtype uint8|uint16             (default uint8)\n"
           "  --batch N               tiles read per step (default 4)\n"
           "  --backend auto|opencl|cpu  --device INDEX|NAME  --threads N\n"
           "  --json                  print a summary as JSON\n");
}

typedef struct sink_ctx {
    vxt_npy_writer *w;
    int argmax;
    int64_t shape[3];
    vxt_status st;
    char error[1024]; /* the writer's message (the run's own message then only says "sink returned 1") */
} sink_ctx;

static int sink(void *user, const vxt_slab *s)
{
    sink_ctx *k = (sink_ctx *)user;
    uint64_t plane = (uint64_t)(k->shape[1] * k->shape[2]), vol = (uint64_t)k->shape[0] * plane;
    uint64_t n = (uint64_t)(s->z1 - s->z0) * plane;
    if (k->argmax)
        k->st = vxt_npy_writer_write(k->w, (uint64_t)s->z0 * plane, n, s->labels);
    else
        for (int64_t c = 0; c < s->channels && k->st == VXT_OK; c++)
            k->st = vxt_npy_writer_write(k->w, (uint64_t)c * vol + (uint64_t)s->z0 * plane, n, s->values + (uint64_t)c * n);
    if (k->st != VXT_OK)
        snprintf(k->error, sizeof k->error, "%s", vxt_last_error());
    return k->st != VXT_OK;
}

int cmd_stitch(int argc, char **argv)
{
    enum { O_IMP = 1, O_SIGMA, O_ACC, O_ACT, O_ARGMAX, O_LDT, O_BATCH, O_BACKEND, O_DEVICE, O_THREADS, O_JSON };
    static const struct option longopts[] = {CLI_PLAN_LONGOPTS,
                                             {"output", required_argument, NULL, 'o'},
                                             {"importance", required_argument, NULL, O_IMP},
                                             {"sigma-scale", required_argument, NULL, O_SIGMA},
                                             {"accumulate", required_argument, NULL, O_ACC},
                                             {"activation", required_argument, NULL, O_ACT},
                                             {"argmax", no_argument, NULL, O_ARGMAX},
                                             {"label-dtype", required_argument, NULL, O_LDT},
                                             {"batch", required_argument, NULL, O_BATCH},
                                             {"backend", required_argument, NULL, O_BACKEND},
                                             {"device", required_argument, NULL, O_DEVICE},
                                             {"threads", required_argument, NULL, O_THREADS},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_plan_args pa;
    memset(&pa, 0, sizeof pa);
    const char *out_path = NULL, *backend = NULL, *device = NULL;
    long threads = 0, batch = 4;
    int json = 0, argmax = 0, v;
    vxt_stitch_options so;
    vxt_stitch_options_init(&so);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (cli_plan_arg(&pa, c, optarg))
            continue;
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_IMP:
            if (!cli_enum_option("stitch", "--importance", optarg, cli_importances, &v))
                return VXT_EXIT_USAGE;
            so.importance = (vxt_importance)v;
            break;
        case O_SIGMA:
            if (!cli_parse_axes_f64(optarg, so.sigma_scale, 0.125, NULL)) {
                cli_error("stitch", "--sigma-scale: expected one or three numbers, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        case O_ACC:
            if (!cli_enum_option("stitch", "--accumulate", optarg, cli_accumulates, &v))
                return VXT_EXIT_USAGE;
            so.accumulate = (vxt_accumulate)v;
            break;
        case O_ACT:
            if (!cli_enum_option("stitch", "--activation", optarg, cli_activations, &v))
                return VXT_EXIT_USAGE;
            so.activation = (vxt_activation)v;
            break;
        case O_ARGMAX: argmax = 1; break;
        case O_LDT:
            if (!cli_enum_option("stitch", "--label-dtype", optarg, cli_label_dtypes, &v))
                return VXT_EXIT_USAGE;
            so.label_dtype = (vxt_dtype)v;
            break;
        case O_BATCH:
            if (!cli_parse_int(optarg, 1, 4096, &batch)) {
                cli_error("stitch", "--batch: expected an integer in [1, 4096], got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        case O_BACKEND:
            if (cli_backend_flag("stitch", optarg))
                return VXT_EXIT_USAGE;
            backend = optarg;
            break;
        case O_DEVICE: device = optarg; break;
        case O_THREADS:
            if (cli_threads_flag("stitch", optarg, &threads))
                return VXT_EXIT_USAGE;
            break;
        case O_JSON: json = 1; break;
        case 'h': help(); return VXT_EXIT_OK;
        default:
            cli_error("stitch", "unknown or incomplete option '%s' (see voxtile stitch --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("stitch", optind >= argc ? "missing TILES.npy" : "unexpected argument '%s'", argv[argc - 1]);
        return VXT_EXIT_USAGE;
    }
    const char *in_path = argv[optind];
    if (!out_path) {
        cli_error("stitch", "missing -o OUT.npy");
        return VXT_EXIT_USAGE;
    }
    vxt_plan *plan = NULL;
    int dims = 3;
    int rc = cli_build_plan("stitch", &pa, &plan, &dims);
    if (rc != VXT_EXIT_OK)
        return rc;
    vxt_plan_info pi = {.struct_size = sizeof pi};
    vxt_plan_get_info(plan, &pi);

    /* the tile file must match the plan */
    vxt_npy_info ni = {.struct_size = sizeof ni};
    vxt_status st = vxt_npy_read_info(in_path, &ni);
    if (st != VXT_OK) {
        cli_error("stitch", "%s", vxt_last_error());
        vxt_plan_destroy(plan);
        return VXT_EXIT_INPUT;
    }
    char expect[200];
    snprintf(expect, sizeof expect, "(%llu, C%s%lld, %lld%s%lld)", (unsigned long long)pi.tile_count,
             dims == 3 ? ", " : "", dims == 3 ? (long long)pi.roi[0] : 0LL, (long long)pi.roi[1],
             ", ", (long long)pi.roi[2]);
    if (dims == 2)
        snprintf(expect, sizeof expect, "(%llu, C, %lld, %lld)", (unsigned long long)pi.tile_count,
                 (long long)pi.roi[1], (long long)pi.roi[2]);
    int ok = ni.ndim == 2 + dims && ni.shape[0] == (int64_t)pi.tile_count && ni.shape[1] >= 1;
    for (int a = 0; ok && a < dims; a++)
        ok = ni.shape[2 + a] == pi.roi[3 - dims + a];
    if (!ok || (ni.dtype != VXT_DTYPE_F32 && ni.dtype != VXT_DTYPE_F16)) {
        char got[200] = "(";
        for (int a = 0; a < ni.ndim; a++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", a ? ", " : "", (long long)ni.shape[a]);
        snprintf(got + strlen(got), sizeof got - strlen(got), ")");
        cli_error("stitch", "%s: array %s of %s does not match the plan: expected %s of float32 or float16, C >= 1",
                  in_path, got, vxt_dtype_name(ni.dtype), expect);
        vxt_plan_destroy(plan);
        return VXT_EXIT_INPUT;
    }
    so.out_channels = ni.shape[1];
    so.tile_dtype = ni.dtype;
    so.batch_size = (int)batch;

    vxt_context *ctx = NULL;
    if ((rc = cli_context("stitch", backend, device, threads, &ctx)) != VXT_EXIT_OK) {
        vxt_plan_destroy(plan);
        return rc;
    }
    /* output: values (C, *shape) float32 or labels (*shape) */
    int64_t oshape[4];
    int ond = 0;
    if (!argmax)
        oshape[ond++] = so.out_channels;
    for (int a = 3 - dims; a < 3; a++)
        oshape[ond++] = pi.shape[a];
    sink_ctx sk = {NULL, argmax, {pi.shape[0], pi.shape[1], pi.shape[2]}, VXT_OK, ""};
    st = vxt_npy_writer_open(out_path, argmax ? so.label_dtype : VXT_DTYPE_F32, ond, oshape, &sk.w);
    if (st != VXT_OK) {
        cli_error("stitch", "%s", vxt_last_error());
        vxt_context_destroy(ctx);
        vxt_plan_destroy(plan);
        return VXT_EXIT_OUTPUT;
    }
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    out.sink = sink;
    out.sink_user = &sk;
    out.want_values = !argmax;
    out.want_labels = argmax;
    vxt_session *ss = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = vxt_session_create(ctx, plan, &so, NULL, &out, &ss);
    size_t tile_elems = (size_t)(ni.count / (uint64_t)ni.shape[0]);
    void *buf = st == VXT_OK ? malloc((size_t)batch * tile_elems * vxt_dtype_size(ni.dtype)) : NULL;
    if (st == VXT_OK && !buf)
        st = VXT_ERR_OUT_OF_MEMORY;
    int done = 0;
    rc = VXT_EXIT_OK;
    while (st == VXT_OK) {
        vxt_batch b;
        if ((st = vxt_session_next_batch(ss, &b, &done)) != VXT_OK || done)
            break;
        if ((st = vxt_npy_read(in_path, &ni, b.first_tile * tile_elems, (uint64_t)b.count * tile_elems, buf)) != VXT_OK) {
            rc = VXT_EXIT_INPUT;
            break;
        }
        st = vxt_session_submit(ss, b.id, buf);
    }
    if (st == VXT_OK)
        st = vxt_session_finish(ss);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != VXT_OK) {
        if (sk.st != VXT_OK) { /* the output could not be written */
            cli_error("stitch", "%s", sk.error);
            rc = VXT_EXIT_OUTPUT;
        } else if (rc == VXT_EXIT_INPUT) { /* the tile file could not be read */
            cli_error("stitch", "%s", vxt_last_error());
        } else {
            rc = cli_fail_status("stitch", "stitching failed", st);
            if (st == VXT_ERR_NONFINITE)
                rc = VXT_EXIT_INPUT;
        }
        vxt_npy_writer_abort(sk.w); /* no partial output */
    } else if (vxt_npy_writer_commit(sk.w) != VXT_OK) {
        cli_error("stitch", "%s", vxt_last_error());
        rc = VXT_EXIT_OUTPUT;
    }
    if (rc == VXT_EXIT_OK && json) {
        vxt_context_info ci = {.struct_size = sizeof ci};
        vxt_context_get_info(ctx, &ci);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "output", out_path);
        cJSON_AddNumberToObject(j, "tiles", (double)pi.tile_count);
        cJSON_AddNumberToObject(j, "channels", (double)so.out_channels);
        cJSON_AddStringToObject(j, "backend", vxt_backend_name(ci.backend));
        cJSON_AddStringToObject(j, "device", ci.device_name);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        char *text = cJSON_PrintUnformatted(j);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    }
    free(buf);
    vxt_session_destroy(ss);
    vxt_context_destroy(ctx);
    vxt_plan_destroy(plan);
    return rc;
}
